// The guest address-space plan: from the discovered platform and the PCI
// device table, every region the guest may touch, with its memory type and
// access (the policy table of docs/design.md). Plain data: the stage-2 build
// maps exactly this, the guest DTB lists its RAM, the boot log prints it.
#pragma once

#include <span>

#include "passage/diagnostic.h"
#include "passage/platform.h"
#include "passage/pci/device_table.h"
#include "passage/pci/disposition.h"
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

struct GuestPlan {
    static constexpr usize kMaxRegions = 160;
    static constexpr usize kMaxRam = 16;
    GuestRegion regions[kMaxRegions];
    usize count = 0;
    MemRange ram[kMaxRam];  // guest RAM, for the guest DTB's memory node
    usize ram_count = 0;
    usize devices_kept_device = 0;
    u64 ipa_top = 0;  // the end of every region and of every host bridge's ECAM and windows
};

// Builds the plan. `hyp` is everything passage occupies (image, stacks,
// pools). The BARs of hidden functions are left out; those of kept devices
// are Device-nGnRE. Overlapping regions with different attributes, or any
// region touching `hyp`, are refused with a message naming both.
Status build_plan(const Platform& p, const pci::DeviceTable& pci, const pci::Dispositions& disp, MemRange hyp,
                  GuestPlan& out, Diagnostic& diag);

// Takes [r.base, r.base + r.size) (page aligned) out of the plan: frames
// passage traps instead of mapping (the GIC's table-address registers).
// It must lie inside one region, which is split around it.
Status carve_out(GuestPlan& plan, MemRange r, Diagnostic& diag);

// What no BAR may ever be mapped over, into out; returns the count:
// passage's own memory (`hyp`), every RAM range of the platform, and the
// plan's regions other than BARs (guest RAM, GIC, MMIO, ECAM, the PCI I/O
// window).
usize bar_forbidden_ranges(const Platform& p, MemRange hyp, const GuestPlan& plan, std::span<MemRange> out);

// The plan as a table in the boot log.
void print_plan(const GuestPlan& plan);

}  // namespace passage::plan
