// Virtual config space, routing: what a real fabric would decode with the
// guest's values, and stage 2 made to show exactly that.
//
// Each BAR (and ROM) is a slot. A write that can change what the fabric
// routes puts the slots it touches in a work list; update() decodes them
// again, adds every slot whose mapping could change with them (one sharing a
// page with an old or new place, one waiting in a conflict) and decides them
// all: BARs already mapped keep their place, a newcomer overlapping one
// waits (Conflict); a BAR alone in its pages with the same offset in its page
// as the physical BAR is mapped (Direct), any other decoded BAR is trapped
// and forwarded. Stage 2 then changes, unmaps before maps.
#include "passage/log.h"
#include "passage/pci/vconfig.h"
#include "vconfig_util.h"

namespace passage::pci {
namespace {

using ull = unsigned long long;
constexpr usize kB = PciFunction::kBars;

// Small and called in every scan: always inlined.
[[gnu::always_inline]] inline bool active(BarRoute r) { return r == BarRoute::Direct || r == BarRoute::Trapped; }

// The pages [base, base + size) touches.
[[gnu::always_inline]] inline u64 page_lo(u64 base) { return align_down(base, kPageSize); }
[[gnu::always_inline]] inline u64 page_span(u64 base, u64 size) { return align_up(base + size, kPageSize) - page_lo(base); }

// Whether two ranges touch a common page: their page-rounded ends cross.
[[gnu::always_inline]] inline bool pages_overlap(u64 a, u64 asize, u64 b, u64 bsize)
{
    return page_lo(a) < align_up(b + bsize, kPageSize) && page_lo(b) < align_up(a + asize, kPageSize);
}

}  // namespace

// Whether the guest's fabric decodes BAR b of function i, and where (CPU
// address, through the host bridge's ranges).
bool VirtualConfig::decode(usize i, unsigned b, u64& cpu) const
{
    const PciFunction& f = table_[i];
    const PciBar& bar = f.bars[b];
    if (!visible(i) || !bar.present() || !bar.assigned()) return false;
    const FnState& s = state_[i];
    bool io = bar.kind == BarKind::Io;
    if (io ? !s.io_on : !s.mem_on) return false;
    // Enhanced Allocation: decoded where the hardware fixed it whatever the
    // guest writes to the (hardwired) register, IPA = PA, outside the
    // virtual windows' routing.
    if (bar.fixed) {
        cpu = bar.cpu_addr;
        return true;
    }
    u64 addr;
    if (bar.is_rom()) {
        if ((s.rom_reg & RomEnable::kMask) == 0) return false;
        addr = s.rom_reg & bar_writable(bar, false);
    } else {
        addr = s.bar_reg[b] & bar_writable(bar, false);
        if (bar.kind == BarKind::Mem64) addr |= u64(s.bar_reg[b + 1] & bar_writable(bar, true)) << 32;
    }
    for (i32 p = f.parent; p != kNoParent; p = table_[usize(p)].parent)
        if (!window_holds(usize(p), io, addr, bar.size)) return false;
    const PciHostBridge* host = host_of(f);
    if (host == nullptr) return false;
    usize nw = host->window_count < PciHostBridge::kMaxWindows ? host->window_count : PciHostBridge::kMaxWindows;
    for (usize k = 0; k < nw; ++k) {
        const PciWindow& w = host->windows[k];
        if ((w.space == PciSpace::Io) != io || !inside(addr, bar.size, w.pci_addr, w.size)) continue;
        cpu = addr + (w.cpu_addr - w.pci_addr);
        return true;
    }
    return false;
}

// A bridge forwards [addr, addr + size) downstream: it decodes that space
// and a window holds it (memory: the memory or the prefetchable window).
bool VirtualConfig::window_holds(usize bridge, bool io, u64 addr, u64 size) const
{
    const FnState& s = state_[bridge];
    if (io ? !s.io_on : !s.mem_on) return false;
    u64 last = addr + size - 1;
    auto holds = [&](WindowKind k) {
        usize w = usize(k);
        return s.win_base[w] <= s.win_limit[w] && addr >= s.win_base[w] && last <= s.win_limit[w];
    };
    return io ? holds(WindowKind::Io) : holds(WindowKind::Mem) || holds(WindowKind::Pref);
}

void VirtualConfig::update_function(usize i)
{
    work_count_ = 0;
    for (unsigned b = 0; b < kB; ++b) {
        Slot& x = slot(i, b);
        if (x.size == 0) continue;  // nothing there: never decoded
        x.phase = 1;
        work_[work_count_++] = u16(i * kB + b);
    }
    update();
}

void VirtualConfig::update_subtree(usize bridge)
{
    work_count_ = 0;
    for (usize k = 0; k < live_count_; ++k) {
        usize s = live_[k], i = s / kB;
        if (i != bridge && !is_descendant(i, bridge)) continue;
        slots_[s].phase = 1;
        work_[work_count_++] = u16(s);
    }
    update();
}

bool VirtualConfig::active_range(usize s, u64& base, u64& size) const
{
    const Slot& x = slots_[s];
    if (!active(x.route)) return false;
    base = x.active_cpu;
    size = x.size;
    return true;
}

bool VirtualConfig::overlaps_forbidden(u64 base, u64 size, u16& which) const
{
    // The last range starting below base + size is the only candidate
    // (sorted, merged: none overlap each other).
    usize lo = 0, hi = forbidden_count_;
    while (lo < hi) {
        usize mid = (lo + hi) / 2;
        if (forbidden_[mid].base < base + size) lo = mid + 1;
        else hi = mid;
    }
    if (lo == 0 || !ranges_overlap(base, size, forbidden_[lo - 1].base, forbidden_[lo - 1].size)) return false;
    which = u16(lo - 1);
    return true;
}

// Where slot t stands for the slots deciding now: its next place once
// decided, its current one if not in the work list.
[[gnu::always_inline]] inline bool VirtualConfig::standing(usize t, u64& base, u64& size) const
{
    const Slot& y = slots_[t];
    if (y.phase == 1) return false;  // not decided yet: it yields
    if (y.phase == 2) {
        if (!active(y.next)) return false;
        base = y.cpu;
        size = y.size;
        return true;
    }
    return active_range(t, base, size);
}

// Whether another BAR, decided or standing, shares a page with slot s's
// next place.
bool VirtualConfig::page_shared(usize s) const
{
    const Slot& x = slots_[s];
    for (usize k = 0; k < live_count_; ++k) {
        usize t = live_[k];
        u64 yb = 0, ys = 0;
        if (t != s && standing(t, yb, ys) && pages_overlap(x.cpu, x.size, yb, ys)) return true;
    }
    return false;
}

void VirtualConfig::update()
{
    auto push = [&](usize s) {
        slots_[s].phase = 1;
        work_[work_count_++] = u16(s);
    };

    // The changed slots, decoded again.
    const usize changed = work_count_;
    for (usize k = 0; k < changed; ++k) {
        usize s = work_[k];
        Slot& x = slots_[s];
        x.decoded = decode(s / kB, unsigned(s % kB), x.cpu);
    }
    // Conflicts that may clear now, then every shown slot sharing a page
    // with the old or new place of one of those.
    for (usize k = 0; conflict_count_ > 0 && k < live_count_; ++k)
        if (slots_[live_[k]].route == BarRoute::Conflict && slots_[live_[k]].phase == 0) push(live_[k]);
    const usize seeds = work_count_;
    for (usize k = 0; k < live_count_; ++k) {
        usize s = live_[k];
        u64 yb = 0, ys = 0;
        if (slots_[s].phase != 0 || !active_range(s, yb, ys)) continue;
        for (usize j = 0; j < seeds; ++j) {
            const Slot& t = slots_[work_[j]];
            bool hit = active(t.route) && pages_overlap(yb, ys, t.active_cpu, t.size);
            if (hit || (t.decoded && pages_overlap(yb, ys, t.cpu, t.size))) {
                push(s);
                break;
            }
        }
    }

    // Who is decoded without a conflict: standing BARs first (those only
    // sharing a page, and changed ones still shown at the same place), then
    // the other changed ones, then those that waited.
    auto decide = [&](usize s) {
        Slot& x = slots_[s];
        x.next = BarRoute::Off;
        x.blocker = kNoBlocker;
        if (x.decoded) {
            u16 which = 0;
            if (!x.io && overlaps_forbidden(page_lo(x.cpu), page_span(x.cpu, x.size), which)) {
                x.next = BarRoute::Conflict;
                x.blocker = u16(kForbidden | which);
            }
            x.shares = false;
            for (usize k = 0; k < live_count_ && x.next == BarRoute::Off; ++k) {
                usize t = live_[k];
                u64 yb = 0, ys = 0;
                if (t == s || !standing(t, yb, ys) || !pages_overlap(x.cpu, x.size, yb, ys)) continue;
                x.shares = true;
                if (!ranges_overlap(x.cpu, x.size, yb, ys)) continue;
                x.next = BarRoute::Conflict;
                x.blocker = u16(t);
            }
            if (x.next == BarRoute::Off) x.next = BarRoute::Direct;  // for now: decoded and free
        }
        x.phase = 2;
    };
    for (usize k = seeds; k < work_count_; ++k) decide(work_[k]);
    auto stays = [&](const Slot& x) { return active(x.route) && x.decoded && x.cpu == x.active_cpu; };
    for (usize k = 0; k < changed; ++k)
        if (stays(slots_[work_[k]])) decide(work_[k]);
    for (usize k = 0; k < seeds; ++k)
        if (slots_[work_[k]].phase == 1) decide(work_[k]);

    // Mapped or trapped.
    for (usize k = 0; k < work_count_; ++k) {
        usize s = work_[k];
        Slot& x = slots_[s];
        if (x.next != BarRoute::Direct) continue;
        // Alone in the work list, what it saw while deciding is final.
        bool shared = work_count_ == 1 ? x.shares : page_shared(s);
        if (x.io || ((x.cpu ^ x.phys) & (kPageSize - 1)) != 0 || shared) x.next = BarRoute::Trapped;
    }

    // Stage 2: every unmap before any map, so that a page handed from one
    // BAR to another is never mapped twice.
    for (usize k = 0; k < work_count_; ++k) {
        usize s = work_[k];
        const Slot& x = slots_[s];
        bool keep = x.route == BarRoute::Direct && x.next == BarRoute::Direct && x.cpu == x.active_cpu;
        if (x.route != BarRoute::Direct || keep) continue;
        if (Status st = mover_.unmap(IpaAddr(page_lo(x.active_cpu)), page_span(x.active_cpu, x.size)); !st) {
            ++map_failures;
            log_error("PCI %s: stage-2 unmap of 0x%llx failed: %s", BarLabel(table_[s / kB], unsigned(s % kB)).c_str(),
                      (ull)x.active_cpu, error_name(st.error()));
        }
    }
    for (usize k = 0; k < work_count_; ++k) {
        usize s = work_[k];
        Slot& x = slots_[s];
        usize i = s / kB;
        unsigned b = unsigned(s % kB);
        bool rom = b == PciBar::kRomIndex;
        bool keep = x.route == BarRoute::Direct && x.next == BarRoute::Direct && x.cpu == x.active_cpu;
        if (x.next == BarRoute::Direct && !keep) {
            stage2::Attrs a;
            a.type = disp_.of(i) == Disposition::KeptDevice ? stage2::MemType::DeviceNGnRE : stage2::MemType::NormalNC;
            a.access = rom ? stage2::Access::RO : stage2::Access::RW;
            a.exec = false;
            Status st = mover_.map(IpaAddr(page_lo(x.cpu)), PhysAddr(page_lo(x.phys)), page_span(x.cpu, x.size), a);
            if (!st) {
                ++map_failures;
                log_error("PCI %s: stage-2 map of 0x%llx failed: %s", BarLabel(table_[i], b).c_str(), (ull)x.cpu,
                          error_name(st.error()));
                x.next = BarRoute::Off;
            }
        }
        bool was = active(x.route), now = active(x.next);
        if (now && (!was || x.cpu != x.active_cpu)) ++moves;
        if (x.route == BarRoute::Trapped) --trapped_count_, mem_trapped_count_ -= !x.io;
        if (x.next == BarRoute::Trapped) ++trapped_count_, mem_trapped_count_ += !x.io;
        if (x.route == BarRoute::Conflict) --conflict_count_;
        if (x.next == BarRoute::Conflict) ++conflict_count_;
        bool new_conflict = x.next == BarRoute::Conflict && x.route != BarRoute::Conflict;
        if (rom && was != now) set_rom_enable(i, now);
        x.route = x.next;
        if (now) x.active_cpu = x.cpu;
        x.phase = 0;
        if (new_conflict && log_level() >= LogLevel::Debug) {  // often transient: the guest is mid-way
            char why[128];
            if (conflict_at(x.cpu, why, sizeof why)) log_debug("PCI %s", why);
        }
    }
    work_count_ = 0;
}

// The physical ROM decodes only while the guest's ROM is mapped: a ROM may
// share its decoder with another BAR.
void VirtualConfig::set_rom_enable(usize i, bool on)
{
    const PciFunction& f = table_[i];
    if (f.rom().fixed) return;  // Enhanced Allocation: no ROM register to write
    hw(f).write32(f.bdf, rom_reg_offset(f), u32(f.rom().pci_addr) | (on ? RomEnable::kMask : 0));
}

// ---------------------------------------------------------------------------
// trapped BARs

bool VirtualConfig::in_io_window(u64 ipa) const
{
    for (usize k = 0; k < io_window_count_; ++k)
        if (ipa - io_windows_[k].base < io_windows_[k].size) return true;  // below base wraps: false
    return false;
}

bool VirtualConfig::in_memory_window(u64 ipa) const
{
    for (usize k = 0; k < mem_window_count_; ++k)
        if (ipa - mem_windows_[k].base < mem_windows_[k].size) return true;
    return false;
}

bool VirtualConfig::claims_forwarded(u64 ipa) const
{
    if (in_io_window(ipa)) return true;
    for (usize k = 0; mem_trapped_count_ > 0 && k < live_count_; ++k) {
        const Slot& x = slots_[live_[k]];
        u64 lo = page_lo(x.cpu);
        if (x.route == BarRoute::Trapped && ipa >= lo && ipa - lo < page_span(x.cpu, x.size)) return true;
    }
    return false;
}

// The trapped BAR [ipa, ipa + size) falls inside, or nullptr.
const VirtualConfig::Slot* VirtualConfig::trapped_at(u64 ipa, unsigned size) const
{
    for (usize k = 0; trapped_count_ > 0 && k < live_count_; ++k) {
        const Slot& x = slots_[live_[k]];
        if (x.route == BarRoute::Trapped && ipa >= x.cpu && ipa - x.cpu < x.size && x.size - (ipa - x.cpu) >= size)
            return &x;
    }
    return nullptr;
}

bool VirtualConfig::forward_read(u64 ipa, unsigned size, u64& value)
{
    const Slot* x = trapped_at(ipa, size);
    if (x == nullptr) {
        value = size >= 8 ? ~u64{0} : (u64{1} << (8 * size)) - 1;  // nothing decodes there
        return false;
    }
    value = io_.read(PhysAddr(x->phys + (ipa - x->cpu)), size);
    ++forwarded;
    return true;
}

bool VirtualConfig::forward_write(u64 ipa, unsigned size, u64 value)
{
    const Slot* x = trapped_at(ipa, size);
    if (x == nullptr) return false;  // dropped
    usize s = usize(x - slots_.data());
    if (s % kB != PciBar::kRomIndex) io_.write(PhysAddr(x->phys + (ipa - x->cpu)), size, value);
    ++forwarded;
    return true;
}

// ---------------------------------------------------------------------------
// conflicts

bool VirtualConfig::conflict_at(u64 ipa, char* buf, usize size) const
{
    for (usize k = 0; conflict_count_ > 0 && k < live_count_; ++k) {
        usize s = live_[k];
        const Slot& x = slots_[s];
        if (x.route != BarRoute::Conflict || ipa < page_lo(x.cpu) || ipa - page_lo(x.cpu) >= page_span(x.cpu, x.size))
            continue;
        BarLabel me(table_[s / kB], unsigned(s % kB));
        if (x.blocker != kNoBlocker && (x.blocker & kForbidden) != 0) {
            const MemRange& r = forbidden_[x.blocker & ~kForbidden];
            format(buf, size, "%s at 0x%llx overlaps RAM, passage or a device region at 0x%llx-0x%llx: not mapped",
                   me.c_str(), (ull)x.cpu, (ull)r.base, (ull)(r.end() - 1));
        } else if (x.blocker != kNoBlocker) {
            BarLabel other(table_[x.blocker / kB], unsigned(x.blocker % kB));
            format(buf, size, "%s at 0x%llx overlaps %s: not mapped", me.c_str(), (ull)x.cpu, other.c_str());
        } else {
            format(buf, size, "%s at 0x%llx: not mapped", me.c_str(), (ull)x.cpu);
        }
        return true;
    }
    return false;
}

usize VirtualConfig::conflicts_now() const { return conflict_count_; }

}  // namespace passage::pci
