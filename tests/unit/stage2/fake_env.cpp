#include "fake_env.h"

#include <cstdio>

namespace passage::stage2::test {

namespace {
constexpr u64 kPoison = 0xdeadbeefdeadbeef;  // an invalid descriptor (bit 0 = 1 but junk)
}

std::string to_string(const Event& e)
{
    char buf[128];
    switch (e.kind) {
    case Event::Write:
        std::snprintf(buf, sizeof buf, "write [%#llx] %#llx -> %#llx", (unsigned long long)e.addr,
                      (unsigned long long)e.old, (unsigned long long)e.value);
        return buf;
    case Event::DsbIsh: return "dsb ish";
    case Event::Isb: return "isb";
    case Event::TlbiIpa:
        std::snprintf(buf, sizeof buf, "tlbi ipas2e1is %#llx", (unsigned long long)e.addr);
        return buf;
    case Event::TlbiVmalle1: return "tlbi vmalle1is";
    case Event::TlbiVmalls12: return "tlbi vmalls12e1is";
    case Event::IommuIpa:
        std::snprintf(buf, sizeof buf, "iommu tlbi_s2_ipa %#llx; cmd_sync", (unsigned long long)e.addr);
        return buf;
    case Event::IommuAll: return "iommu tlbi_s12_vmall; cmd_sync";
    case Event::Free:
        std::snprintf(buf, sizeof buf, "free %#llx", (unsigned long long)e.addr);
        return buf;
    }
    return "?";
}

std::string to_string(const std::vector<Event>& events)
{
    std::string s;
    for (const Event& e : events) s += to_string(e) + "\n";
    return s;
}

FakeEnv::FakeEnv(usize pages) : pages_(pages), used_(pages, false)
{
    mem_ = static_cast<u8*>(std::aligned_alloc(64 * KiB, pages * kPageSize));
    std::memset(mem_, 0xa5, pages * kPageSize);
}

FakeEnv::~FakeEnv() { std::free(mem_); }

Result<PhysAddr> FakeEnv::alloc_pages(usize count)
{
    if (allocs_left_ == 0) return Error::NoMemory;
    if (allocs_left_ != ~usize{0}) --allocs_left_;
    for (usize n = 0; n < pages_; n += count) {
        usize at = (hint_ + n) % pages_;
        at -= at % count;
        if (at + count > pages_) continue;
        bool free = true;
        for (usize i = 0; i < count && free; ++i) free = !used_[at + i];
        if (!free) continue;
        for (usize i = 0; i < count; ++i) used_[at + i] = true;
        in_use_ += count;
        hint_ = at + count;
        return PhysAddr(kArenaBase + at * kPageSize);
    }
    return Error::NoMemory;
}

void FakeEnv::free_pages(PhysAddr pa, usize count)
{
    if (!is_table_page(pa.value)) {
        violation("free of a page that is not a table: " + to_string(Event{Event::Free, pa.value}));
        return;
    }
    if (unlinked_tables_.count(pa.value) != 0) violation("table freed before the VMID was invalidated");
    if (!expect_.empty()) violation("free inside a break-before-make sequence");
    usize at = (pa.value - kArenaBase) / kPageSize;
    for (usize i = 0; i < count; ++i) {
        used_[at + i] = false;
        u64* t = table(pa + i * kPageSize);
        for (usize j = 0; j < kEntriesPerTable; ++j) t[j] = kPoison;
    }
    in_use_ -= count;
    if (recording) events.push_back({Event::Free, pa.value});
}

bool FakeEnv::is_table_page(u64 pa) const
{
    if (pa < kArenaBase || pa >= kArenaBase + pages_ * kPageSize || pa % kPageSize != 0) return false;
    return used_[(pa - kArenaBase) / kPageSize];
}

u64* FakeEnv::table(PhysAddr pa)
{
    return reinterpret_cast<u64*>(mem_ + (pa.value - kArenaBase));
}

PhysAddr FakeEnv::phys_of(const u64* slot) const
{
    return PhysAddr(kArenaBase + static_cast<u64>(reinterpret_cast<const u8*>(slot) - mem_));
}

void FakeEnv::violation(const std::string& what) { violations_.push_back(what); }

void FakeEnv::write_entry(u64* slot, u64 value)
{
    const u64 old = *slot;
    const Event e{Event::Write, phys_of(slot).value, old, value};
    if (!is_table_page(align_down(e.addr, kPageSize))) violation("entry written into a page that is not a table: " + to_string(e));
    if (!expect_.empty()) violation("entry written inside a break-before-make sequence: " + to_string(e));
    expect_.clear();
    if (is_valid(old) && is_valid(value) && old != value)
        violation("valid-to-valid write: " + to_string(e));
    if (is_valid(old) && !is_valid(value)) {
        // Tell a table from a page by where it points.
        const bool table = (old & 3) == 3 && is_table_page(desc_output(old).value);
        if (table) {
            unlinked_tables_.insert(desc_output(old).value);
            expect_ = {Event::IommuAll, Event::Isb, Event::DsbIsh, Event::TlbiVmalls12, Event::DsbIsh};
        } else {
            expect_ = {Event::IommuIpa, Event::Isb, Event::DsbIsh, Event::TlbiVmalle1, Event::DsbIsh, Event::TlbiIpa,
                       Event::DsbIsh};
        }
    }
    *slot = value;
    if (recording) events.push_back(e);
}

void FakeEnv::event(const Event& e)
{
    if (!expect_.empty()) {
        if (expect_.back() != e.kind) {
            violation("break-before-make out of order at " + to_string(e));
            expect_.clear();
        } else {
            expect_.pop_back();
        }
    }
    if (e.kind == Event::TlbiVmalls12) unlinked_tables_.clear();
    if (recording) events.push_back(e);
}

}  // namespace passage::stage2::test
