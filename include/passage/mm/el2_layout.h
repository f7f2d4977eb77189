// What passage maps at EL2: its image (code RX, rodata R, data RW), the
// platform's RAM but for the image and the no-map reserved regions, and the
// MMIO it drives itself (console, GIC, ECAM, PCI windows). Portable, so host
// tests can build the map for any device tree.
#pragma once

#include "passage/boot_info.h"
#include "passage/diagnostic.h"
#include "passage/mm/el2_map.h"
#include "passage/platform.h"

namespace passage::mm {

// Table pages passage reserves for the map (640 KiB). 1 GiB and 2 MiB
// blocks keep RAM of any size and PCI windows of hundreds of GiB to a few
// tables (64 GiB + 1 TiB take 14); what costs tables is every range edge off
// a 2 MiB boundary, up to an L2 and an L3 table each, and discovery caps
// their number (Platform's limits). The unit tests build the most ranges
// discovery accepts, every edge in a 1 GiB region of its own: 160 pages.
// Beyond that the boot stops naming the region it could not map.
constexpr usize kEl2TablePages = 160;

// Builds the map into t; on failure diag names the region and address.
Status build_el2_map(El2PageTable& t, const BootInfo& b, const Platform& p, Diagnostic& diag);

}  // namespace passage::mm
