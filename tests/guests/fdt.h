// What the guest learns from its device tree. libfdt runs only here, once,
// before any check; everything later reads this plain description.
#pragma once

#include "arch.h"

namespace guest {

enum class Conduit { None, Smc, Hvc };

struct MemRange {
    u64 base;
    u64 size;
    u64 end() const { return base + size; }
};

// One entry of the host bridge's `ranges`: a CPU window onto PCI space.
struct PciWindow {
    enum Space : u8 { Io = 1, Mem32 = 2, Mem64 = 3 };
    Space space;
    bool prefetchable;
    u64 pci_base;
    u64 cpu_base;
    u64 size;
};

struct GuestPlatform {
    const void* fdt = nullptr;
    int fdt_error = 0;  // libfdt's code when the blob is unreadable

    static constexpr unsigned kMaxMem = 8;
    MemRange mem[kMaxMem];
    unsigned mem_count = 0;  // sorted by base

    // Memory the guest must leave alone: /memreserve/ entries and
    // /reserved-memory regions; no_map marks those with no-map.
    static constexpr unsigned kMaxReserved = 16;
    MemRange reserved[kMaxReserved];
    bool reserved_no_map[kMaxReserved];
    unsigned reserved_count = 0;

    u64 uart = 0;            // PL011 from /chosen/stdout-path
    const char* bootargs = "";  // /chosen/bootargs (passage passes a boot module's)

    bool psci = false;
    Conduit conduit = Conduit::None;
    const char* psci_method = "";

    bool ecam = false;
    u64 ecam_base = 0;
    u64 ecam_size = 0;
    u32 bus_first = 0;
    u32 bus_last = 0;
    bool probe_only = false;  // linux,pci-probe-only on the bridge or /chosen
    static constexpr unsigned kMaxWindows = 4;
    PciWindow windows[kMaxWindows];
    unsigned window_count = 0;

    // What passage must have removed: an arm,smmu-v3 node, and iommu-map /
    // iommus properties anywhere (counted).
    bool smmu_node = false;
    unsigned iommu_refs = 0;

    static constexpr unsigned kMaxCpus = 8;
    u64 cpus[kMaxCpus];  // MPIDR affinity of each /cpus/cpu node
    unsigned cpu_count = 0;
};

// Reads the DTB at `fdt`. Never fails: what is missing stays empty/false,
// and an unreadable blob leaves fdt_error set.
GuestPlatform discover(const void* fdt);

// libfdt's name for an error code.
const char* fdt_error_text(int err);

}  // namespace guest
