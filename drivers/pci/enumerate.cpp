// Enumeration in three passes over one host bridge:
//   1. scan: depth-first from the bridge's first bus; every function found is
//      recorded, its decoding turned off, its BARs sized and its capability
//      list walked; bridges get bus numbers;
//   2. size: bottom-up (the table is in bus order, so backwards), each
//      bridge's windows are made just large enough for what sits behind it;
//   3. place: the root bus's resources go into the host bridge's windows,
//      then top-down each bridge's window is split among its children, and
//      everything is written to the hardware with decoding turned on.
// A resource is placed by the same routine when sizing (from 0) and when
// placing (from the window's base, aligned as much as its largest child), so
// the two agree by construction.
#include "passage/pci/enumerate.h"

#include "enumerator.h"

namespace passage::pci {
namespace enumeration {

Result<EnumStats> Enumerator::run()
{
    if (host_.bus_end < host_.bus_start) return Failure{Error::InvalidArgument, host_.bus_start};
    bus_end_ = host_.bus_end;
    if (host_.ecam_size != 0) {
        u64 buses = host_.ecam_size >> 20;
        if (buses == 0) return Failure{Error::InvalidArgument, host_.ecam_size};
        if (u64(bus_end_) - host_.bus_start + 1 > buses) bus_end_ = u8(host_.bus_start + buses - 1);
    }
    stats_.first_bus = host_.bus_start;
    next_bus_ = unsigned(host_.bus_start) + 1;

    scan_bus(host_.bus_start, kNoParent, 0);
    stats_.last_bus = u8(next_bus_ - 1);

    // Sizing bottom-up: children always sit after their bridge.
    for (usize i = table_.size(); i-- > first_;) {
        PciFunction& f = table_[i];
        if (f.is_bridge) size_windows(f, i32(i));
    }
    place_root();
    for (usize i = first_; i < table_.size(); ++i) {
        PciFunction& f = table_[i];
        if (f.is_bridge) place_children(f, i32(i));
    }
    for (usize i = first_; i < table_.size(); ++i) program(table_[i]);

    stats_.functions = table_.size() - first_;
    for (usize i = first_; i < table_.size(); ++i) {
        const PciFunction& f = table_[i];
        if (f.is_bridge) ++stats_.bridges;
        for (const PciBar& bar : f.bars) {
            if (bar.assigned()) ++stats_.bars_assigned;
            else if (bar.present()) ++stats_.bars_failed;
        }
    }
    return stats_;
}

}  // namespace enumeration

Result<EnumStats> enumerate(const PciHostBridge& host, ConfigAccess& cfg, DeviceTable& table)
{
    enumeration::Enumerator e(host, cfg, table);
    return e.run();
}

}  // namespace passage::pci
