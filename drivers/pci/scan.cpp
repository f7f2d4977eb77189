// Pass 1 of enumeration: the depth-first walk that finds every function,
// records it with decoding off and gives bridges their bus numbers.
#include "enumerator.h"
#include "passage/log.h"

namespace passage::pci::enumeration {

// Probes every function of one bus, then follows the bridges found on it.
// Probing the whole bus first lets every bridge's stale bus numbers (left by
// earlier firmware) be cleared before any config cycle is forwarded below.
void Enumerator::scan_bus(u8 bus, i32 parent, unsigned depth)
{
    // Below a root or downstream port the link holds device 0 only; other
    // device numbers may alias it (PCIe 7.3.1, Linux pci_only_one_slot).
    bool one_slot = false;
    if (parent != kNoParent) {
        PortType pt = table_[usize(parent)].port_type;
        one_slot = pt == PortType::RootPort || pt == PortType::SwitchDownstream;
    }
    usize begin = table_.size();
    i32 last_child = -1;
    for (u8 dev = 0; dev < (one_slot ? 1 : 32); ++dev) {
        bool multi = false;
        if (!probe_function(Bdf{bus, dev, 0}, parent, last_child, multi)) continue;
        // Without the multi-function bit functions 1-7 are not looked at:
        // some single-function devices answer on every function number.
        if (!multi) continue;
        for (u8 fn = 1; fn < 8; ++fn) {
            bool ignored = false;
            probe_function(Bdf{bus, dev, fn}, parent, last_child, ignored);
        }
    }
    usize end = table_.size();
    for (usize i = begin; i < end; ++i) {
        if (table_[i].is_bridge) scan_bridge(table_[i], i32(i), depth);
    }
}

// Returns whether a function answers at bdf; records it when there is room.
bool Enumerator::probe_function(Bdf bdf, i32 parent, i32& last_child, bool& multifunction)
{
    u32 id = cfg_.read32(bdf, kVendorId);
    u16 vendor = u16(id);
    if (vendor == 0xffff || vendor == 0x0000) return false;

    u8 header = cfg_.read8(bdf, kHeaderType);
    multifunction = HeaderMultiFunction::get(header) != 0;
    u8 layout = u8(HeaderLayout::get(header));

    // Decoding off (and no DMA) until everything is placed.
    u16 cmd = cfg_.read16(bdf, kCommand);
    cfg_.write16(bdf, kCommand,
                 u16(cmd & ~(CmdIo::kMask | CmdMem::kMask | CmdBusMaster::kMask)));

    i32 index = table_.append();
    if (index < 0) {
        table_.note_dropped();
        problem();
        if (!table_full_reported_) {
            log_warn("PCI %s: device table full (%zu functions); it and later functions left "
                     "disabled",
                     BdfStr(host_.segment, bdf).c_str(), table_.capacity());
            table_full_reported_ = true;
        }
        if (layout == kHeaderBridge) cfg_.write32(bdf, kPrimaryBus, cfg_.read32(bdf, kPrimaryBus) & 0xff000000u);
        return true;
    }
    PciFunction& f = table_[usize(index)];
    f.segment = host_.segment;
    f.bdf = bdf;
    f.vendor = vendor;
    f.device = u16(id >> 16);
    u32 rc = cfg_.read32(bdf, kRevisionClass);
    f.revision = u8(rc);
    f.class_code = rc >> 8;
    f.header_type = layout;
    f.multifunction = multifunction;
    f.parent = parent;
    if (last_child >= 0) table_[usize(last_child)].next_sibling = index;
    else if (parent == kNoParent) root_first_ = index;
    else table_[usize(parent)].first_child = index;
    last_child = index;
    for (u8 i = 0; i < PciFunction::kBars; ++i) f.bars[i].index = i;

    if (StatusCapList::get(cfg_.read16(bdf, kStatus)) != 0) walk_capabilities(f);
    if (f.caps.ea != 0) read_ea(f);

    switch (layout) {
    case kHeaderEndpoint:
        size_bars(f, kType0BarCount, kType0Rom);
        break;
    case kHeaderBridge:
        f.is_bridge = true;
        // Bus numbers cleared until this bridge's turn comes.
        cfg_.write32(bdf, kPrimaryBus, (cfg_.read32(bdf, kPrimaryBus) & 0xff000000u) | bdf.bus);
        probe_bridge_windows(f);
        size_bars(f, kType1BarCount, kType1Rom);
        break;
    default:
        problem();
        log_warn("PCI %s %04x:%04x: header type %u not supported; left disabled",
                 BdfStr(host_.segment, bdf).c_str(), f.vendor, f.device, unsigned(layout));
        break;
    }
    return true;
}

void Enumerator::scan_bridge(PciFunction& bridge, i32 index, unsigned depth)
{
    BdfStr name(host_.segment, bridge.bdf);
    if (depth + 1 > kMaxBridgeDepth) {
        problem();
        log_warn("PCI %s: bridges nested deeper than %u; nothing behind it enumerated",
                 name.c_str(), kMaxBridgeDepth);
        return;
    }
    if (next_bus_ > bus_end_) {
        problem();
        log_warn("PCI %s: no bus number left (bus-range %02x-%02x); nothing behind it "
                 "enumerated",
                 name.c_str(), unsigned(host_.bus_start), unsigned(bus_end_));
        return;
    }
    // Enhanced Allocation may fix the bridge's bus numbers: they are used
    // when they lie in what is still free, and the range is kept whole.
    u8 fixed_sec = 0, fixed_sub = 0;
    bool fixed = ea_fixed_buses(bridge, fixed_sec, fixed_sub);
    if (fixed && (fixed_sec < next_bus_ || fixed_sub > bus_end_)) {
        problem();
        log_warn("PCI %s: Enhanced Allocation fixes buses %02x-%02x, outside the free %02x-%02x; numbering it as usual",
                 name.c_str(), unsigned(fixed_sec), unsigned(fixed_sub), next_bus_, unsigned(bus_end_));
        fixed = false;
    }
    if (fixed) next_bus_ = fixed_sec;
    u8 secondary = u8(next_bus_++);
    // Forward everything up to the last bus while the subtree is scanned,
    // then close the range to what was found (PCI-to-PCI bridge 1.2, 3.2.5.3).
    u32 reg = cfg_.read32(bridge.bdf, kPrimaryBus) & 0xff000000u;
    cfg_.write32(bridge.bdf, kPrimaryBus,
                 reg | u32(bus_end_) << 16 | u32(secondary) << 8 | bridge.bdf.bus);
    scan_bus(secondary, index, depth + 1);
    if (fixed && next_bus_ <= fixed_sub) next_bus_ = unsigned(fixed_sub) + 1;
    u8 subordinate = u8(next_bus_ - 1);
    cfg_.write8(bridge.bdf, kSubordinateBus, subordinate);
    bridge.secondary = secondary;
    bridge.subordinate = subordinate;
    bridge.bus_assigned = true;
}

}  // namespace passage::pci::enumeration
