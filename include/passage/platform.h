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

// Room for a device-tree node path in messages: the longest in Debian's 6.12
// arm64 trees is under 100 characters; fdt::node_path marks a cut one.
inline constexpr usize kPathMax = 128;
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
    char path[kPathMax] = {};  // device-tree node path, for messages
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
    usize its_unused = 0;  // ITS past kMaxIts: described, not given to the guest
    usize v2m_unused = 0;  // GICv2m frames past kMaxIts, the same
    char compatible[32] = {};  // the compatible the GIC was recognised by
};

struct Timer {
    bool present = false;
    // PPI numbers (INTID = PPI + 16) for secure, non-secure, virtual, hypervisor.
    u32 ppi[4] = {};
};

// The UARTs passage drives: the PL011 family (Arm PL011, SBSA generic UART)
// and the 16550 family (ns16550a, ns16550, DesignWare APB, Freescale).
enum class UartKind : u8 { None, Pl011, Sbsa, Ns16550 };

struct Uart {
    UartKind kind = UartKind::None;  // None: no console passage can drive (a silent boot)
    u64 base = 0;                    // the registers, translated to a CPU address
    u64 size = 0;
    // 16550 family: register i is at base + reg_offset + (i << reg_shift),
    // accessed reg_io_width bytes wide (1, 2 or 4).
    u8 reg_shift = 0;
    u8 reg_io_width = 1;
    u32 reg_offset = 0;
    u32 clock_hz = 0;  // clock-frequency, if given: reported only (the firmware's divisor is kept)
    char compatible[32] = {};
    char path[kPathMax] = {};
    char problem[160] = {};  // why there is no usable console
    constexpr bool usable() const { return kind != UartKind::None; }
};

// A PCI host bridge passage does not drive (not pci-host-ecam-generic),
// kept so a board check can say so.
struct OtherPciBridge {
    char path[kPathMax] = {};
    char compatible[40] = {};
    bool enabled = false;
};

// A device the guest keeps as plain MMIO (RTC, GPIO, fw-cfg, virtio-mmio ...).
struct MmioDevice {
    MemRange reg;
    char compatible[32] = {};
};

// How a CPU is started (its /cpus node's enable-method).
enum class CpuEnable : u8 { Psci, SpinTable, Other };

// The devices that can master DMA, as far as the device tree tells: nodes
// with iommus, DMA controllers (#dma-cells), nodes that state their
// coherency, PCI host bridges and the known DMA-capable families (MMC,
// USB, SATA, Ethernet, virtio-mmio). Coherency as Linux's
// of_dma_is_coherent reads it: the nearest dma-coherent or dma-noncoherent
// on the node or an ancestor, else not coherent (arm64's default).
struct DmaMasters {
    usize count = 0;
    usize noncoherent = 0;
    char first_noncoherent[64] = {};  // path of the first one, for the log
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
    usize memory_unused = 0;          // ranges past kMaxMemory
    bool memory_from_bootloader = false;  // no /memory with a size: the bootloader fills it in
    MemRange reserved[kMaxReserved];  // /memreserve/ and /reserved-memory
    usize reserved_count = 0;
    // The /reserved-memory regions marked no-map (secure carve-outs and the
    // like): never mapped at EL2 nor in stage 2, not even speculatively
    // readable; the guest DTB still lists them as reserved.
    MemRange no_map[kMaxReserved];
    usize no_map_count = 0;
    usize reserved_dropped = 0;       // ranges past kMaxReserved (the guest is not kept out of them)
    u64 cpu_mpidr[kMaxCpus] = {};
    CpuEnable cpu_enable[kMaxCpus] = {};
    usize cpu_count = 0;
    usize cpus_ignored = 0;           // CPUs past kMaxCpus, not used
    // The pages of every spin-table CPU's cpu-release-addr, the ignored
    // ones' too: a write there would start a CPU at EL2 outside passage, so
    // the guest never reaches them.
    static constexpr usize kMaxSpinRelease = 8;
    MemRange spin_release[kMaxSpinRelease];
    usize spin_release_count = 0;
    PsciMethod psci = PsciMethod::None;
    char psci_compatible[24] = {};
    Uart uart;
    Gic gic;
    Timer timer;
    PciHostBridge bridges[kMaxBridges];
    usize bridge_count = 0;
    usize bridges_unused = 0;         // ECAM host bridges past kMaxBridges
    OtherPciBridge other_bridges[kMaxOtherBridges];  // host bridges passage does not drive
    usize other_bridge_count = 0;
    usize other_bridges_unlisted = 0; // past kMaxOtherBridges
    MmioDevice mmio[kMaxMmio];
    usize mmio_count = 0;
    DmaMasters dma;
    usize mmio_unused = 0;            // regions past kMaxMmio, not given to the guest
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
