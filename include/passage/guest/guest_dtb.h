// The device tree the guest boots with: the host's, edited, written in one
// pass over it (hyp/guest/guest_dtb.cpp).
//
// - Every device_type = "memory" node goes; one /memory@<base> lists guest
//   RAM in the root's #address-cells/#size-cells. The /memreserve/ block and
//   /reserved-memory stay.
// - /chosen: bootargs set (or removed), linux,initrd-start/-end set (or any
//   stale ones removed), stdout-path kept, the multiboot module nodes gone;
//   linux,pci-probe-only = <1> when asked, also on every
//   pci-host-ecam-generic node (Linux 6.11+ reads it there first).
// - What belongs to passage goes: a GICv2's GICH and GICV reg entries, a
//   GICv3's GICC/GICH/GICV entries after the redistributor regions, and any
//   node compatible with "passage,*". /psci stays as it is.
// - The SMMUv3 is passage's: every arm,smmu-v3 node goes, and every
//   iommu-map, iommu-map-mask and iommus property with it (msi-map stays).
// - A host tree with a property name twice in a node: the edits above
//   leave no second bootargs, initrd or probe-only in /chosen, nor any
//   iommu reference, behind.
#pragma once

#include <span>

#include "passage/diagnostic.h"
#include "passage/platform.h"
#include "passage/result.h"

namespace passage {

struct GuestDtbConfig {
    std::span<const MemRange> ram;  // guest RAM (at most kMaxLayoutRanges ranges)
    const char* bootargs = nullptr; // nullptr: no bootargs property
    bool has_initrd = false;
    u64 initrd_start = 0;
    u64 initrd_end = 0;             // exclusive, as Linux reads it
    bool pci_probe_only = false;
    // The guest's CPUs by MPIDR; every other /cpus cpu node is removed (and
    // /cpus/cpu-map with it, whose phandles would dangle). Empty: all stay.
    std::span<const u64> cpus;
    // Ranges of guest RAM stage 2 leaves unmapped that the host tree may not
    // reserve (spin-table mailbox pages): each gets a /memreserve/ entry so
    // the guest never allocates a page that would abort.
    std::span<const MemRange> unmapped;
};

// Builds the guest DTB from host_fdt (which must have passed
// check_device_tree) into out[0, out_size), 8-byte aligned and not
// overlapping host_fdt. Returns the packed size: header, reservation map,
// structure and strings blocks back to back, as fdt_pack leaves a tree.
// Nothing is written past out[out_size). libfdt runs here (the header
// checks): call it before the first guest entry only.
Result<usize> build_guest_dtb(const void* host_fdt, void* out, usize out_size, const GuestDtbConfig& cfg,
                              Diagnostic& diag);

}  // namespace passage
