// The host environment for stage-2 tests: an arena of table pages at a
// fake physical address, fault injection, and a recorder that also checks
// every break-before-make as it happens.
#pragma once

#include <cstdlib>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "passage/stage2/descriptor.h"
#include "passage/stage2/env.h"

namespace passage::stage2::test {

struct Event {
    enum Kind { Write, DsbIsh, Isb, TlbiIpa, TlbiVmalle1, TlbiVmalls12, IommuIpa, IommuAll, Free } kind;
    u64 addr = 0;  // Write: the slot's PA; TlbiIpa: the IPA; Free: the page
    u64 old = 0;   // Write: the entry before
    u64 value = 0; // Write: the entry after
    bool operator==(const Event&) const = default;
};

std::string to_string(const Event& e);
std::string to_string(const std::vector<Event>& events);

class FakeEnv {
public:
    // Table pages live at [kArenaBase, kArenaBase + pages * 4 KiB); keep test
    // output addresses below it so a table can be told from a leaf.
    static constexpr u64 kArenaBase = 0xC000'0000'0000;

    explicit FakeEnv(usize pages = 8192);
    ~FakeEnv();
    FakeEnv(const FakeEnv&) = delete;
    FakeEnv& operator=(const FakeEnv&) = delete;

    // --- Stage2Env ---
    Result<PhysAddr> alloc_pages(usize count);
    void free_pages(PhysAddr pa, usize count);
    u64* table(PhysAddr pa);
    void write_entry(u64* slot, u64 value);
    void dsb_ish() { event({Event::DsbIsh}); }
    void isb() { event({Event::Isb}); }
    void tlbi_ipas2e1is(IpaAddr ipa) { event({Event::TlbiIpa, ipa.value}); }
    void tlbi_vmalle1is() { event({Event::TlbiVmalle1}); }
    void tlbi_vmalls12e1is() { event({Event::TlbiVmalls12}); }
    void iommu_inval_ipa(IpaAddr ipa) { event({Event::IommuIpa, ipa.value}); }
    void iommu_inval_all() { event({Event::IommuAll}); }

    // --- for tests ---
    usize pages_in_use() const { return in_use_; }
    // The next `n` allocations succeed, the ones after fail (~0 = never fail).
    void fail_after(usize n) { allocs_left_ = n; }
    PhysAddr phys_of(const u64* slot) const;
    bool is_table_page(u64 pa) const;
    // Break-before-make violations seen so far (empty = none).
    const std::vector<std::string>& violations() const { return violations_; }

    bool recording = false;
    std::vector<Event> events;

private:
    void event(const Event& e);
    void violation(const std::string& what);

    usize pages_;
    u8* mem_;
    std::vector<bool> used_;
    usize in_use_ = 0;
    usize hint_ = 0;
    usize allocs_left_ = ~usize{0};

    // The checker: after a valid entry is broken, the exact barrier and
    // invalidation sequence must follow before anything else happens.
    std::vector<Event::Kind> expect_;
    std::set<u64> unlinked_tables_;  // removed, not yet invalidated
    std::vector<std::string> violations_;
};

static_assert(Stage2Env<FakeEnv>);

}  // namespace passage::stage2::test
