// Passes 2 and 3 of enumeration: bridge windows sized bottom-up from what
// sits behind them, then every resource placed top-down in the host
// bridge's windows.
#include "enumerator.h"
#include "passage/log.h"
#include "passage/size_str.h"

namespace passage::pci::enumeration {

bool Enumerator::bridge_has(i32 parent, Pool pool) const
{
    return parent == kNoParent || table_[usize(parent)].windows[usize(pool)].implemented;
}

// The pool of `parent` an item is drawn from. On the root bus the pools only
// sort items; the host bridge's windows are chosen in window_rank(). Behind
// a bridge with a 64-bit prefetchable window only 64-bit prefetchable items
// go there, so that one 32-bit BAR does not pull the window below 4 GiB;
// 32-bit prefetchable ones go to the memory window (as Linux does).
Pool Enumerator::pool_of(i32 parent, const Item& item) const
{
    bool io = item.window != nullptr ? item.window == &item.owner->windows[usize(WindowKind::Io)]
                                     : item.bar->kind == BarKind::Io;
    if (io) return Pool::Io;
    if (!item.pref || !bridge_has(parent, Pool::Pref)) return Pool::Mem;
    if (parent == kNoParent) return Pool::Pref;
    bool pref64 = table_[usize(parent)].windows[usize(Pool::Pref)].decodes64;
    return pref64 && !item.wants64 ? Pool::Mem : Pool::Pref;
}

// Visits every placeable item on the bus below `parent` (kNoParent: the
// root bus): BARs that sized, and child bridges' windows that are needed.
template <typename Visit>
void Enumerator::for_each_item(i32 parent, Visit&& visit)
{
    i32 child = parent == kNoParent ? root_first_ : table_[usize(parent)].first_child;
    for (; child >= 0; child = table_[usize(child)].next_sibling) {
        PciFunction& f = table_[usize(child)];
        for (PciBar& bar : f.bars) {
            if (!bar.present() || bar.status == BarStatus::Invalid) continue;
            Item item;
            item.owner = &f;
            item.bar = &bar;
            // A memory BAR gets at least a page of its own: stage 2 maps BARs
            // exactly, page by page, so no two devices may share one.
            u64 room = bar.kind == BarKind::Io || bar.size >= kMinMemBarRoom ? bar.size : kMinMemBarRoom;
            item.size = room;
            item.align = room;
            item.pref = bar.prefetchable && !bar.is_rom();
            item.is_64bit_bar = bar.kind == BarKind::Mem64;
            item.wants64 = item.is_64bit_bar && item.pref;
            visit(item);
        }
        if (!f.is_bridge) continue;
        for (usize k = 0; k < kWindowKinds; ++k) {
            BridgeWindow& w = f.windows[k];
            if (w.size == 0) continue;
            Item item;
            item.owner = &f;
            item.window = &w;
            item.size = w.size;
            item.align = w.align;
            item.pref = k == usize(WindowKind::Pref);
            item.wants64 = item.pref && w.is64;
            visit(item);
        }
    }
}

// Lays out the items of one pool of `parent` from `base`, largest alignment
// first (sizes of BARs are their alignments, so this wastes nothing between
// BARs), and returns the end. With commit, items get their addresses
// (cpu = pci + offset) and are marked assigned.
u64 Enumerator::layout(i32 parent, Pool pool, u64 base, i64 offset, bool commit)
{
    u64 aligns = 0;
    for_each_item(parent, [&](const Item& it) {
        if (it.status() == BarStatus::Unused && pool_of(parent, it) == pool) aligns |= it.align;
    });
    u64 cursor = base;
    for (unsigned bit = 64; bit-- > 0;) {
        u64 align = u64{1} << bit;
        if ((aligns & align) == 0) continue;
        for_each_item(parent, [&](const Item& it) {
            if (it.align != align || it.status() != BarStatus::Unused) return;
            if (pool_of(parent, it) != pool) return;
            cursor = align_up(cursor, align);
            if (commit) it.assign(cursor, cursor + u64(offset));
            cursor += it.size;
        });
    }
    return cursor;
}

// A bridge's windows from its children (PCI-to-PCI bridge 1.2, 3.2.5: I/O in
// 4 KiB and memory in 1 MiB steps). Items that cannot live behind this
// bridge at all are failed here, before they make its window useless.
void Enumerator::size_windows(PciFunction& bridge, i32 index)
{
    u64 low_max = largest_window(false, true);
    bool pref64 = bridge.windows[usize(Pool::Pref)].decodes64;
    for_each_item(index, [&](const Item& it) {
        if (it.status() != BarStatus::Unused) return;
        Pool pool = pool_of(index, it);
        if (!bridge.windows[usize(pool)].implemented) {
            fail_item(it, BarStatus::NoBridgeWindow, "the bridge above has no such window");
            return;
        }
        bool below4g = pool == Pool::Mem || (pool == Pool::Pref && !(pref64 && it.wants64));
        if (below4g && it.size > low_max) {
            fail_item(it, BarStatus::TooLarge, "does not fit any window below 4 GiB");
        }
    });

    for (usize k = 0; k < kWindowKinds; ++k) {
        Pool pool = Pool(k);
        BridgeWindow& w = bridge.windows[k];
        if (!w.implemented) continue;
        u64 granule = pool == Pool::Io ? kBridgeIoGranule : kBridgeMemGranule;
        u64 align = granule;
        bool all64 = true;
        bool any = false;
        for_each_item(index, [&](const Item& it) {
            if (it.status() != BarStatus::Unused || pool_of(index, it) != pool) return;
            any = true;
            if (it.align > align) align = it.align;
            if (!it.wants64) all64 = false;
        });
        if (!any) continue;
        w.align = align;
        w.size = align_up(layout(index, pool, 0, 0, false), granule);
        if (pool == Pool::Pref) w.is64 = w.decodes64 && all64;
    }
}

// How much an item wants a host window: 0 not at all, 1 best ... 4 last.
// 64-bit prefetchable resources go above 4 GiB when the host offers a window
// there; everything else stays below; non-prefetchable never goes into a
// prefetchable window.
int Enumerator::window_rank(const Item& item, Pool pool, const PciWindow& w) const
{
    if (w.size == 0) return 0;
    bool io = w.space == PciSpace::Io;
    if (pool == Pool::Io) return io ? 1 : 0;
    if (io) return 0;
    bool low = w.pci_addr + w.size <= k4GiB;
    if (pool == Pool::Mem) {
        if (w.prefetchable) return 0;
        if (low) return 1;
        return item.is_64bit_bar ? 2 : 0;  // a root-bus 64-bit BAR may go high
    }
    if (item.wants64 && !low) return w.prefetchable ? 1 : 2;
    if (!low) return 0;
    return w.prefetchable ? 3 : 4;
}

// The root bus: every item into a host window, largest alignment first.
void Enumerator::place_root()
{
    constexpr usize kMax = PciHostBridge::kMaxWindows;
    usize count = host_.window_count < kMax ? host_.window_count : kMax;
    u64 cursor[kMax] = {};
    for (usize i = 0; i < count; ++i) {
        const PciWindow& w = host_.windows[i];
        u64 start = w.pci_addr;
        // Never hand out address 0 (nor the legacy I/O ports below 0x1000).
        if (w.space == PciSpace::Io && start < kMinIoAddress) start = kMinIoAddress;
        if (w.space != PciSpace::Io && start == 0) start = kBridgeMemGranule;
        // Nothing goes over a BAR the hardware fixed: begin past the last one.
        u64 fixed_end = fixed_end_in(w);
        if (fixed_end > start) start = fixed_end;
        cursor[i] = start;
    }

    u64 aligns = 0;
    for_each_item(kNoParent, [&](const Item& it) {
        if (it.status() == BarStatus::Unused) aligns |= it.align;
    });
    for (unsigned bit = 64; bit-- > 0;) {
        u64 align = u64{1} << bit;
        if ((aligns & align) == 0) continue;
        for_each_item(kNoParent, [&](const Item& it) {
            if (it.align != align || it.status() != BarStatus::Unused) return;
            Pool pool = pool_of(kNoParent, it);
            bool fits_some = false;
            for (int rank = 1; rank <= 4; ++rank) {
                for (usize i = 0; i < count; ++i) {
                    const PciWindow& w = host_.windows[i];
                    if (window_rank(it, pool, w) != rank) continue;
                    if (it.size <= w.size) fits_some = true;
                    u64 base = align_up(cursor[i], align);
                    u64 end = w.pci_addr + w.size;
                    if (base < cursor[i] || base > end || end - base < it.size) continue;
                    cursor[i] = base + it.size;
                    it.assign(base, base + (w.cpu_addr - w.pci_addr));
                    return;
                }
            }
            if (fits_some) fail_item(it, BarStatus::NoSpace, "does not fit: windows exhausted");
            else fail_item(it, BarStatus::TooLarge, "does not fit any window");
        });
    }
}

// Splits a placed bridge window among the items behind it; the items of a
// window that was not placed fail with it.
void Enumerator::place_children(PciFunction& bridge, i32 index)
{
    for (usize k = 0; k < kWindowKinds; ++k) {
        Pool pool = Pool(k);
        BridgeWindow& w = bridge.windows[k];
        if (w.size == 0) continue;
        if (w.assigned()) {
            layout(index, pool, w.pci_base, i64(w.cpu_base - w.pci_base), true);
            continue;
        }
        for_each_item(index, [&](const Item& it) {
            if (it.status() == BarStatus::Unused && pool_of(index, it) == pool) {
                fail_item(it, BarStatus::ParentFailed, "not placed: the bridge window above failed");
            }
        });
    }
}

void Enumerator::fail_item(const Item& item, BarStatus why, const char* detail)
{
    if (item.bar != nullptr) {
        item.bar->status = why;
        warn_bar(*item.owner, *item.bar, detail);
        return;
    }
    item.window->status = why;
    problem();
    log_warn("PCI %s: %s window (%s) %s; nothing behind it gets this space",
             BdfStr(item.owner->segment, item.owner->bdf).c_str(),
             window_name(WindowKind(item.window - item.owner->windows)),
             SizeStr(item.window->size, Bytes::Decimal).c_str(), detail);
}

}  // namespace passage::pci::enumeration
