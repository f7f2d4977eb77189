// PCIe enumeration and resource assignment for one host bridge.
//
// passage is the platform's PCI firmware: enumerate() numbers the buses
// depth-first, sizes every BAR with decoding off, places them in the host
// bridge's windows, programs the bridges' windows, turns decoding on and
// records everything in a DeviceTable. It never stops at a broken device:
// whatever does not fit gets a warning naming the function, the BAR and the
// size, and is left disabled.
//
// At EL2, with the ECAM mapped Device-nGnRnE at the same virtual address:
//
//   pci::EcamAccess ecam(VirtAddr(hb.ecam_base), hb.ecam_size, hb.bus_start, hb.bus_end);
//   static pci::PciDeviceTable<> table;
//   auto stats = pci::enumerate(hb, ecam, table);
//   pci::print_device_table(table);
#pragma once

#include "passage/pci/bdf_str.h"  // format_bdf, for whoever prints the table
#include "passage/pci/config.h"
#include "passage/pci/device_table.h"
#include "passage/platform.h"
#include "passage/result.h"

namespace passage::pci {

// Nested bridges followed at most; PCIe hierarchies are far shallower.
constexpr unsigned kMaxBridgeDepth = 32;
// The lowest PCI I/O address handed out (arm64 Linux's PCIBIOS_MIN_IO): some
// drivers take a BAR of 0 as "not assigned".
constexpr u64 kMinIoAddress = 0x1000;
// The least room a memory BAR is given: one 4 KiB page, so that the guest's
// stage-2 mapping of one device's BAR never covers another's registers.
constexpr u64 kMinMemBarRoom = 0x1000;

struct EnumStats {
    usize functions = 0;      // recorded in the table by this call
    usize bridges = 0;
    u8 first_bus = 0;
    u8 last_bus = 0;          // highest bus number given out
    usize bars_assigned = 0;  // BARs and ROMs with an address
    usize bars_failed = 0;    // BARs and ROMs left disabled
    usize problems = 0;       // warnings printed
};

// Enumerates the hierarchy below `host` through `cfg`, appending its
// functions to `table` (call once per host bridge; entries carry the
// segment). Fails only when `host` itself is unusable; problems with devices
// are reported, counted in EnumStats::problems and enumeration goes on.
Result<EnumStats> enumerate(const PciHostBridge& host, ConfigAccess& cfg, DeviceTable& table);

// Prints the table through log_raw, one line per function and one indented
// line per BAR, ROM and bridge window.
void print_device_table(const DeviceTable& table);

// A short name for a class code: "ethernet", "PCI bridge", "mass storage" ...
const char* class_name(u32 class_code);

}  // namespace passage::pci
