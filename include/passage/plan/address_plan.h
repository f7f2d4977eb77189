// The guest address-space plan: from the discovered platform and the PCI
// device table, every region the guest may touch, with its memory type and
// access (the policy table of docs/design.md). Plain data: the stage-2 build
// maps exactly this, the guest DTB lists its RAM, the boot log prints it.
#pragma once

#include "passage/discover.h"
#include "passage/pci/device_table.h"
#include "passage/stage2/descriptor.h"

namespace passage::plan {

enum class RegionClass : u8 { Ram, PciBar, Ecam, Gic, Mmio, PciIo };

const char* region_class_name(RegionClass c);

struct GuestRegion {
    u64 ipa = 0;
    u64 pa = 0;
    u64 size = 0;
    stage2::Attrs attrs;
    RegionClass cls = RegionClass::Mmio;
    char what[40] = {};  // "0000:00:03.0 BAR2", "arm,pl011", "GICv3 ITS" ...

    constexpr u64 end() const { return ipa + size; }
};

// A device the platform knows cannot take Normal-NC at stage 2.
struct DeviceQuirk {
    u16 vendor;
    u16 device;
    const char* reason;
};

// The built-in list (drivers/pci knows no such device on QEMU virt; boards add theirs here).
extern const DeviceQuirk kBuiltinQuirks[];
extern const usize kBuiltinQuirkCount;

struct DeviceRef {
    u16 segment = 0;
    pci::Bdf bdf;
};

struct Policy {
    static constexpr usize kMaxDeviceMmio = 16;
    DeviceRef device_mmio[kMaxDeviceMmio];  // from passage.device_mmio=
    usize device_mmio_count = 0;
    const DeviceQuirk* quirks = kBuiltinQuirks;
    usize quirk_count = kBuiltinQuirkCount;
    bool fwb = false;  // the CPU has FEAT_S2FWB: a kept device is forced Device, not only capped
};

// Parses "0000:00:03.0,00:04.0" (segment optional) into policy.device_mmio.
Status parse_device_list(const char* text, Policy& policy, Diagnostic& diag);

struct GuestPlan {
    static constexpr usize kMaxRegions = 160;
    static constexpr usize kMaxRam = 16;
    GuestRegion regions[kMaxRegions];
    usize count = 0;
    MemRange ram[kMaxRam];  // guest RAM, for the guest DTB's memory node
    usize ram_count = 0;
    usize devices_kept_device = 0;
};

// Builds the plan. `hyp` is everything passage occupies (image, stacks,
// pools). Overlapping regions with different attributes, or any region
// touching `hyp`, are refused with a message naming both.
Status build_plan(const Platform& p, const pci::DeviceTable& pci, MemRange hyp, const Policy& policy, GuestPlan& out,
                  Diagnostic& diag);

// The plan as a table in the boot log.
void print_plan(const GuestPlan& plan);

}  // namespace passage::plan
