// The platform as discovered from the device tree: plain data, filled by
// discover_platform() (hyp/platform) and consumed by everything after it.
#pragma once

#include "passage/result.h"
#include "passage/types.h"

namespace passage {

struct MemRange {
    u64 base = 0;
    u64 size = 0;
    constexpr u64 end() const { return base + size; }
};

enum class PsciMethod : u8 { None, Smc, Hvc };

// One window of a PCI host bridge, decoded from an entry of `ranges`.
enum class PciSpace : u8 { Io, Mem32, Mem64 };

struct PciWindow {
    PciSpace space = PciSpace::Mem32;
    bool prefetchable = false;
    u64 cpu_addr = 0;  // where the CPU sees it (translated through parent ranges)
    u64 pci_addr = 0;  // the address on the PCI bus
    u64 size = 0;
};

// One entry of a host bridge's `iommu-map`: requester IDs rid_base ..
// rid_base + length - 1 (after `iommu-map-mask`) reach IOMMU `smmu` as
// StreamIDs sid_base onwards. smmu is an index into Platform::smmus, or
// kNotSmmuV3 when the phandle names an IOMMU passage does not drive.
struct IommuMapEntry {
    static constexpr u8 kNotSmmuV3 = 0xff;
    u32 rid_base = 0;
    u32 sid_base = 0;
    u32 length = 0;
    u8 smmu = kNotSmmuV3;
};

struct PciHostBridge {
    static constexpr usize kMaxWindows = 8;
    static constexpr usize kMaxIommuMap = 8;
    u64 ecam_base = 0;   // CPU physical address of the ECAM
    u64 ecam_size = 0;
    u8 bus_start = 0;
    u8 bus_end = 0;
    u16 segment = 0;     // linux,pci-domain, else the bridge's index
    bool dma_coherent = false;
    PciWindow windows[kMaxWindows];
    usize window_count = 0;
    IommuMapEntry iommu_map[kMaxIommuMap];
    usize iommu_map_count = 0;
    u32 iommu_map_mask = 0xffff;  // iommu-map-mask, applied to a RID before the lookup
    char path[64] = {};  // device-tree node path, for messages
};

// An Arm SMMUv3 (compatible "arm,smmu-v3"). dma-coherent decides whether its
// table walks and queue accesses snoop the CPU's caches (it overrides
// IDR0.COHACC, as in Linux and Xen).
struct SmmuV3 {
    MemRange reg;
    bool dma_coherent = false;
    u32 phandle = 0;
    char path[64] = {};
};

enum class GicVersion : u8 { None, V2, V3 };

struct Gic {
    static constexpr usize kMaxRedist = 4;
    static constexpr usize kMaxIts = 4;
    GicVersion version = GicVersion::None;
    MemRange dist;
    // GICv3
    MemRange redist[kMaxRedist];
    usize redist_count = 0;
    MemRange its[kMaxIts];
    usize its_count = 0;
    // GICv2 (and the GICv3 legacy CPU interface, if described)
    MemRange cpu_if;  // GICC
    MemRange hyp_if;  // GICH: never given to a guest
    MemRange vcpu_if; // GICV: never given to a guest
    MemRange v2m[kMaxIts];
    usize v2m_count = 0;
};

struct Timer {
    bool present = false;
    // PPI numbers (INTID = PPI + 16) for secure, non-secure, virtual, hypervisor.
    u32 ppi[4] = {};
};

struct Uart {
    u64 base = 0;
    u64 size = 0;
    bool pl011 = false;
    char path[64] = {};
    char problem[96] = {};  // why there is no usable console (discovery told not to insist)
};

// A PCI host bridge passage does not drive (not pci-host-ecam-generic),
// kept so a board check can say so.
struct OtherPciBridge {
    char path[64] = {};
    char compatible[40] = {};
    bool enabled = false;
};

// A device the guest keeps as plain MMIO (RTC, GPIO, fw-cfg, virtio-mmio ...).
struct MmioDevice {
    MemRange reg;
    char compatible[32] = {};
};

struct Platform {
    static constexpr usize kMaxMemory = 8;
    static constexpr usize kMaxReserved = 16;
    static constexpr usize kMaxCpus = 8;
    static constexpr usize kMaxBridges = 4;
    static constexpr usize kMaxMmio = 64;
    static constexpr usize kMaxOtherBridges = 8;
    static constexpr usize kMaxSmmus = 4;

    char model[64] = {};
    MemRange memory[kMaxMemory];
    usize memory_count = 0;
    MemRange reserved[kMaxReserved];  // /memreserve/ and /reserved-memory
    usize reserved_count = 0;
    u64 cpu_mpidr[kMaxCpus] = {};
    usize cpu_count = 0;
    usize cpus_ignored = 0;           // CPUs past kMaxCpus, not used
    PsciMethod psci = PsciMethod::None;
    char psci_compatible[24] = {};
    Uart uart;
    Gic gic;
    Timer timer;
    PciHostBridge bridges[kMaxBridges];
    usize bridge_count = 0;
    OtherPciBridge other_bridges[kMaxOtherBridges];  // host bridges passage does not drive
    usize other_bridge_count = 0;
    MmioDevice mmio[kMaxMmio];
    usize mmio_count = 0;
    SmmuV3 smmus[kMaxSmmus];
    usize smmu_count = 0;
};

// Where a requester ID on `bridge` goes: the SMMU (index into
// Platform::smmus) and the StreamID it arrives with.
struct StreamRoute {
    u8 smmu = IommuMapEntry::kNotSmmuV3;
    u32 stream_id = 0;
};

// The route of `rid` through the bridge's iommu-map (mask applied first);
// NotFound when the map does not cover it (or the bridge has none).
Result<StreamRoute> stream_route(const PciHostBridge& bridge, u16 rid);

}  // namespace passage
