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

bool active(BarRoute r) { return r == BarRoute::Direct || r == BarRoute::Trapped; }

// The pages [base, base + size) touches.
u64 page_lo(u64 base) { return align_down(base, kPageSize); }
u64 page_span(u64 base, u64 size) { return align_up(base + size, kPageSize) - page_lo(base); }

bool pages_overlap(u64 a, u64 asize, u64 b, u64 bsize)
{
    return ranges_overlap(page_lo(a), page_span(a, asize), page_lo(b), page_span(b, bsize));
}

}  // namespace

const char* bar_route_name(BarRoute r)
{
    switch (r) {
    case BarRoute::Off: return "off";
    case BarRoute::Conflict: return "conflict";
    case BarRoute::Direct: return "direct";
    case BarRoute::Trapped: return "trapped";
    }
    return "?";
}

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
        slot(i, b).phase = 1;
        work_[work_count_++] = u16(i * kB + b);
    }
    update();
}

void VirtualConfig::update_subtree(usize bridge)
{
    work_count_ = 0;
    for (usize i = 0; i < count_; ++i) {
        if (i != bridge && !is_descendant(i, bridge)) continue;
        for (unsigned b = 0; b < kB; ++b) {
            slot(i, b).phase = 1;
            work_[work_count_++] = u16(i * kB + b);
        }
    }
    update();
}

bool VirtualConfig::active_range(usize s, u64& base, u64& size) const
{
    const Slot& x = slots_[s];
    if (!active(x.route)) return false;
    base = x.active_cpu;
    size = table_[s / kB].bars[s % kB].size;
    return true;
}

bool VirtualConfig::overlaps_forbidden(u64 base, u64 size, u16& which) const
{
    for (usize k = 0; k < forbidden_count_; ++k)
        if (ranges_overlap(base, size, forbidden_[k].base, forbidden_[k].size)) {
            which = u16(k);
            return true;
        }
    return false;
}

// Whether another BAR, decided or standing, shares a page with slot s's
// next place.
bool VirtualConfig::page_shared(usize s) const
{
    const Slot& x = slots_[s];
    u64 size = table_[s / kB].bars[s % kB].size;
    for (usize t = 0; t < count_ * kB; ++t) {
        if (t == s) continue;
        const Slot& y = slots_[t];
        u64 yb = 0, ys = 0;
        if (y.phase == 2) {
            if (!active(y.next)) continue;
            yb = y.cpu;
            ys = table_[t / kB].bars[t % kB].size;
        } else if (!active_range(t, yb, ys)) {
            continue;
        }
        if (pages_overlap(x.cpu, size, yb, ys)) return true;
    }
    return false;
}

void VirtualConfig::update()
{
    const usize nslots = count_ * kB;
    auto push = [&](usize s) {
        slots_[s].phase = 1;
        work_[work_count_++] = u16(s);
    };
    auto size_of = [&](usize s) { return table_[s / kB].bars[s % kB].size; };

    // The changed slots, decoded again.
    const usize changed = work_count_;
    for (usize k = 0; k < changed; ++k) {
        usize s = work_[k];
        Slot& x = slots_[s];
        x.decoded = decode(s / kB, unsigned(s % kB), x.cpu);
    }
    // Conflicts that may clear now, then every mapped slot sharing a page
    // with the old or new place of one of those.
    for (usize s = 0; s < nslots; ++s)
        if (slots_[s].route == BarRoute::Conflict && slots_[s].phase == 0) push(s);
    const usize seeds = work_count_;
    for (usize s = 0; s < nslots; ++s) {
        u64 yb = 0, ys = 0;
        if (slots_[s].phase != 0 || !active_range(s, yb, ys)) continue;
        for (usize k = 0; k < seeds; ++k) {
            usize t = work_[k];
            u64 ob = 0, os = 0;
            bool hit = active_range(t, ob, os) && pages_overlap(yb, ys, ob, os);
            hit = hit || (slots_[t].decoded && pages_overlap(yb, ys, slots_[t].cpu, size_of(t)));
            if (hit) {
                push(s);
                break;
            }
        }
    }

    // Who is decoded without a conflict: standing BARs first, then the
    // changed ones, then those that waited.
    auto decide = [&](usize s) {
        Slot& x = slots_[s];
        x.next = BarRoute::Off;
        x.blocker = kNoBlocker;
        if (x.decoded) {
            const PciBar& bar = table_[s / kB].bars[s % kB];
            u64 size = bar.size;
            u16 which = 0;
            if (bar.kind != BarKind::Io && overlaps_forbidden(page_lo(x.cpu), page_span(x.cpu, size), which)) {
                x.next = BarRoute::Conflict;
                x.blocker = u16(kForbidden | which);
            }
            for (usize t = 0; t < nslots && x.next == BarRoute::Off; ++t) {
                if (t == s) continue;
                const Slot& y = slots_[t];
                u64 yb = 0, ys = 0;
                if (y.phase == 1) continue;  // not decided yet: it yields
                if (y.phase == 2) {
                    if (!active(y.next)) continue;
                    yb = y.cpu;
                    ys = size_of(t);
                } else if (!active_range(t, yb, ys)) {
                    continue;
                }
                if (ranges_overlap(x.cpu, size, yb, ys)) {
                    x.next = BarRoute::Conflict;
                    x.blocker = u16(t);
                }
            }
            if (x.next == BarRoute::Off) x.next = BarRoute::Direct;  // for now: decoded and free
        }
        x.phase = 2;
    };
    for (usize k = seeds; k < work_count_; ++k) decide(work_[k]);
    for (usize k = 0; k < seeds; ++k) decide(work_[k]);

    // Mapped or trapped.
    for (usize k = 0; k < work_count_; ++k) {
        usize s = work_[k];
        Slot& x = slots_[s];
        if (x.next != BarRoute::Direct) continue;
        const PciBar& bar = table_[s / kB].bars[s % kB];
        if (bar.kind == BarKind::Io || ((x.cpu ^ bar.cpu_addr) & (kPageSize - 1)) != 0 || page_shared(s))
            x.next = BarRoute::Trapped;
    }

    // Stage 2: every unmap before any map, so that a page handed from one
    // BAR to another is never mapped twice.
    for (usize k = 0; k < work_count_; ++k) {
        usize s = work_[k];
        const Slot& x = slots_[s];
        bool keep = x.route == BarRoute::Direct && x.next == BarRoute::Direct && x.cpu == x.active_cpu;
        if (x.route != BarRoute::Direct || keep) continue;
        u64 size = size_of(s);
        if (Status st = mover_.unmap(IpaAddr(page_lo(x.active_cpu)), page_span(x.active_cpu, size)); !st) {
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
        const PciBar& bar = table_[i].bars[b];
        bool keep = x.route == BarRoute::Direct && x.next == BarRoute::Direct && x.cpu == x.active_cpu;
        if (x.next == BarRoute::Direct && !keep) {
            stage2::Attrs a;
            a.type = disp_.of(i) == Disposition::KeptDevice ? stage2::MemType::DeviceNGnRE : stage2::MemType::NormalNC;
            a.access = bar.is_rom() ? stage2::Access::RO : stage2::Access::RW;
            a.exec = false;
            Status st = mover_.map(IpaAddr(page_lo(x.cpu)), PhysAddr(page_lo(bar.cpu_addr)), page_span(x.cpu, bar.size), a);
            if (!st) {
                ++map_failures;
                log_error("PCI %s: stage-2 map of 0x%llx failed: %s", BarLabel(table_[i], b).c_str(), (ull)x.cpu,
                          error_name(st.error()));
                x.next = BarRoute::Off;
            }
        }
        bool was = active(x.route), now = active(x.next);
        if (now && was && x.cpu != x.active_cpu) ++moves;
        if (now && !was) ++moves;
        if (x.route == BarRoute::Trapped) --trapped_count_;
        if (x.next == BarRoute::Trapped) ++trapped_count_;
        bool new_conflict = x.next == BarRoute::Conflict && x.route != BarRoute::Conflict;
        if (bar.is_rom() && was != now) set_rom_enable(i, now);
        x.route = x.next;
        if (new_conflict && log_level() >= LogLevel::Debug) {  // often transient: the guest is mid-way
            char why[128];
            if (conflict_at(x.cpu, why, sizeof why)) log_debug("PCI %s", why);
        }
        if (now) x.active_cpu = x.cpu;
        x.phase = 0;
    }
    work_count_ = 0;
}

// The physical ROM decodes only while the guest's ROM is mapped: a ROM may
// share its decoder with another BAR.
void VirtualConfig::set_rom_enable(usize i, bool on)
{
    const PciFunction& f = table_[i];
    hw(f).write32(f.bdf, rom_reg_offset(f), u32(f.rom().pci_addr) | (on ? RomEnable::kMask : 0));
}

// ---------------------------------------------------------------------------
// trapped BARs

bool VirtualConfig::claims_forwarded(u64 ipa) const
{
    for (const PciHostBridge& h : hosts_) {
        usize nw = h.window_count < PciHostBridge::kMaxWindows ? h.window_count : PciHostBridge::kMaxWindows;
        for (usize k = 0; k < nw; ++k) {
            const PciWindow& w = h.windows[k];
            if (w.space == PciSpace::Io && ipa >= w.cpu_addr && ipa - w.cpu_addr < w.size) return true;
        }
    }
    if (trapped_count_ == 0) return false;
    for (usize s = 0; s < count_ * kB; ++s) {
        const Slot& x = slots_[s];
        if (x.route != BarRoute::Trapped) continue;
        u64 lo = page_lo(x.cpu);
        if (ipa >= lo && ipa - lo < page_span(x.cpu, table_[s / kB].bars[s % kB].size)) return true;
    }
    return false;
}

bool VirtualConfig::forward_read(u64 ipa, unsigned size, u64& value)
{
    for (usize s = 0; trapped_count_ > 0 && s < count_ * kB; ++s) {
        const Slot& x = slots_[s];
        const PciBar& bar = table_[s / kB].bars[s % kB];
        if (x.route != BarRoute::Trapped || ipa < x.cpu || ipa - x.cpu > bar.size || bar.size - (ipa - x.cpu) < size)
            continue;
        value = io_.read(PhysAddr(bar.cpu_addr + (ipa - x.cpu)), size);
        ++forwarded;
        return true;
    }
    value = size >= 8 ? ~u64{0} : (u64{1} << (8 * size)) - 1;  // nothing decodes there
    return false;
}

bool VirtualConfig::forward_write(u64 ipa, unsigned size, u64 value)
{
    for (usize s = 0; trapped_count_ > 0 && s < count_ * kB; ++s) {
        const Slot& x = slots_[s];
        const PciBar& bar = table_[s / kB].bars[s % kB];
        if (x.route != BarRoute::Trapped || ipa < x.cpu || ipa - x.cpu > bar.size || bar.size - (ipa - x.cpu) < size)
            continue;
        if (!bar.is_rom()) io_.write(PhysAddr(bar.cpu_addr + (ipa - x.cpu)), size, value);
        ++forwarded;
        return true;
    }
    return false;  // dropped
}

// ---------------------------------------------------------------------------
// conflicts

bool VirtualConfig::conflict_at(u64 ipa, char* buf, usize size) const
{
    for (usize s = 0; s < count_ * kB; ++s) {
        const Slot& x = slots_[s];
        const PciBar& bar = table_[s / kB].bars[s % kB];
        if (x.route != BarRoute::Conflict || ipa < page_lo(x.cpu) || ipa - page_lo(x.cpu) >= page_span(x.cpu, bar.size))
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

usize VirtualConfig::conflicts_now() const
{
    usize n = 0;
    for (usize s = 0; s < count_ * kB; ++s) n += slots_[s].route == BarRoute::Conflict;
    return n;
}

}  // namespace passage::pci
