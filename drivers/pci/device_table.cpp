#include "passage/pci/device_table.h"

namespace passage::pci {

const char* bar_kind_name(BarKind k)
{
    switch (k) {
    case BarKind::None: return "none";
    case BarKind::Io: return "io";
    case BarKind::Mem32: return "mem32";
    case BarKind::Mem64: return "mem64";
    }
    return "?";
}

const char* bar_status_name(BarStatus s)
{
    switch (s) {
    case BarStatus::Unused: return "unused";
    case BarStatus::Assigned: return "assigned";
    case BarStatus::TooLarge: return "too large for any window";
    case BarStatus::NoSpace: return "window exhausted";
    case BarStatus::ParentFailed: return "bridge window above not placed";
    case BarStatus::NoBridgeWindow: return "bridge above forwards no such space";
    case BarStatus::Invalid: return "invalid BAR";
    case BarStatus::OutsideWindow: return "fixed outside every host-bridge window";
    }
    return "?";
}

const char* port_type_name(PortType t)
{
    switch (t) {
    case PortType::Endpoint: return "endpoint";
    case PortType::LegacyEndpoint: return "legacy endpoint";
    case PortType::RootPort: return "root port";
    case PortType::SwitchUpstream: return "switch upstream port";
    case PortType::SwitchDownstream: return "switch downstream port";
    case PortType::PcieToPciBridge: return "PCIe-to-PCI bridge";
    case PortType::PciToPcieBridge: return "PCI-to-PCIe bridge";
    case PortType::RcIntegratedEndpoint: return "integrated endpoint";
    case PortType::RcEventCollector: return "event collector";
    case PortType::NotPcie: return "conventional PCI";
    }
    return "unknown port type";
}

const PciFunction* DeviceTable::find(u16 segment, Bdf bdf) const
{
    for (usize i = 0; i < count_; ++i) {
        if (storage_[i].segment == segment && storage_[i].bdf == bdf) return &storage_[i];
    }
    return nullptr;
}

i32 DeviceTable::append()
{
    if (count_ >= capacity_) return -1;
    storage_[count_] = PciFunction{};
    return i32(count_++);
}

}  // namespace passage::pci
