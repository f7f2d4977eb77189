// The platform summary: what passage found, in the order a person checks it.
#include "passage/discover.h"
#include "passage/format.h"
#include "passage/log.h"
#include "passage/size_str.h"

namespace passage {
namespace {

using ull = unsigned long long;

const char* space_name(const PciWindow& w)
{
    switch (w.space) {
    case PciSpace::Io: return "io";
    case PciSpace::Mem32: return "mem32";
    case PciSpace::Mem64: return "mem64";
    }
    return "?";
}

void print_range(const char* label, const MemRange& r)
{
    log_info("  %-10s 0x%llx-0x%llx (%s)", label, (ull)r.base, (ull)(r.base + r.size - 1), SizeStr(r.size).c_str());
}

void print_gic(const Gic& g)
{
    if (g.version == GicVersion::V3) {
        log_info("  gic        v3 (%s)", g.compatible);
        print_range("  dist", g.dist);
        for (usize i = 0; i < g.redist_count; ++i) print_range("  redist", g.redist[i]);
        for (usize i = 0; i < g.its_count; ++i) print_range("  its", g.its[i]);
        if (g.its_unused > 0) log_info("    its      %zu more not used (passage keeps %zu)", g.its_unused, Gic::kMaxIts);
    } else {
        log_info("  gic        v2 (%s)", g.compatible);
        print_range("  dist", g.dist);
        print_range("  cpu", g.cpu_if);
        for (usize i = 0; i < g.v2m_count; ++i) print_range("  v2m", g.v2m[i]);
        if (g.v2m_unused > 0) log_info("    v2m      %zu more not used (passage keeps %zu)", g.v2m_unused, Gic::kMaxIts);
        if (g.hyp_if.size != 0) print_range("  gich", g.hyp_if);
        if (g.vcpu_if.size != 0) print_range("  gicv", g.vcpu_if);
    }
}

void print_bridge(const PciHostBridge& b)
{
    log_info("  pci        %04x %s: ecam 0x%llx (%s) buses %02x-%02x%s", b.segment, b.path, (ull)b.ecam_base,
             SizeStr(b.ecam_size).c_str(), b.bus_start, b.bus_end, b.dma_coherent ? " dma-coherent" : "");
    for (usize i = 0; i < b.window_count; ++i) {
        const PciWindow& w = b.windows[i];
        log_info("    %-5s %-4s cpu 0x%llx-0x%llx pci 0x%llx (%s)", space_name(w), w.prefetchable ? "pref" : "",
                 (ull)w.cpu_addr, (ull)(w.cpu_addr + w.size - 1), (ull)w.pci_addr, SizeStr(w.size).c_str());
    }
    for (usize i = 0; i < b.iommu_map_count; ++i) {
        const IommuMapEntry& e = b.iommu_map[i];
        char to[16];
        if (e.smmu == IommuMapEntry::kNotSmmuV3) format(to, sizeof to, "other iommu");
        else format(to, sizeof to, "smmu%u", unsigned(e.smmu));
        log_info("    iommu-map rid %04x-%04x -> %s sid 0x%x (mask 0x%x)", e.rid_base, e.rid_base + e.length - 1, to, e.sid_base,
                 b.iommu_map_mask);
    }
}

// Whether the DMA of devices on this bridge can be confined: only an
// SMMUv3 in its iommu-map can (its stage-2 support is checked at boot).
bool bridge_behind_smmu(const PciHostBridge& b)
{
    for (usize i = 0; i < b.iommu_map_count; ++i)
        if (b.iommu_map[i].smmu != IommuMapEntry::kNotSmmuV3) return true;
    return false;
}

const char* uart_kind_name(UartKind k)
{
    switch (k) {
    case UartKind::Pl011: return "pl011";
    case UartKind::Sbsa: return "sbsa-uart";
    case UartKind::Ns16550: return "16550";
    case UartKind::None: break;
    }
    return "none";
}

void print_console(const Uart& u)
{
    if (!u.usable()) {
        log_info("  console    none usable: %s", u.problem);
        if (u.base != 0) log_info("    at 0x%llx (%s)", (ull)u.base, u.compatible);
        return;
    }
    if (u.kind != UartKind::Ns16550) {
        log_info("  console    %s 0x%llx %s", uart_kind_name(u.kind), (ull)u.base, u.path);
        return;
    }
    char clock[32] = "the firmware's divisor";
    if (u.clock_hz != 0) format(clock, sizeof clock, "%u Hz", u.clock_hz);
    log_info("  console    16550 0x%llx %s (%s; reg-shift %u, reg-io-width %u, reg-offset 0x%x; %s)", (ull)u.base, u.path,
             u.compatible, u.reg_shift, u.reg_io_width, u.reg_offset, clock);
}

}  // namespace

void print_platform_summary(const Platform& p)
{
    log_info("platform: %s", p.model);
    if (p.memory_from_bootloader) log_info("  memory     none in the tree: filled in by the bootloader");
    for (usize i = 0; i < p.memory_count; ++i) print_range("memory", p.memory[i]);
    if (p.memory_unused > 0) log_info("  memory     %zu more ranges not used (passage keeps %zu)", p.memory_unused, Platform::kMaxMemory);
    for (usize i = 0; i < p.reserved_count; ++i) print_range("reserved", p.reserved[i]);
    for (usize i = 0; i < p.no_map_count; ++i) print_range("no-map", p.no_map[i]);
    if (p.reserved_dropped > 0)
        log_info("  reserved   %zu more ranges not kept out of the guest (passage keeps %zu)", p.reserved_dropped,
                 Platform::kMaxReserved);
    log_info("  cpus       %zu", p.cpu_count);
    static constexpr const char* kEnable[] = {"psci", "spin-table", "other enable-method"};  // CpuEnable's order
    for (usize i = 0; i < p.cpu_count; ++i)
        log_info("    cpu%zu mpidr 0x%llx %s", i, (ull)p.cpu_mpidr[i], kEnable[unsigned(p.cpu_enable[i])]);
    if (p.cpus_ignored > 0)
        log_info("    %zu more CPUs in /cpus: beyond the %zu passage supports, removed from the guest's tree", p.cpus_ignored,
                 Platform::kMaxCpus);
    for (usize i = 0; i < p.spin_release_count; ++i) print_range("spin-table", p.spin_release[i]);
    const char* psci = p.psci == PsciMethod::Smc ? "smc" : p.psci == PsciMethod::Hvc ? "hvc" : "none";
    log_info("  psci       %s (%s)", psci, p.psci_compatible[0] != '\0' ? p.psci_compatible : "no node");
    print_console(p.uart);
    print_gic(p.gic);
    if (p.timer.present)
        log_info("  timer      PPI sec %u, nonsec %u, virt %u, hyp %u", p.timer.ppi[0], p.timer.ppi[1], p.timer.ppi[2],
                 p.timer.ppi[3]);
    if (p.bridge_count == 0) log_info("  pci        none (no pci-host-ecam-generic node)");
    for (usize i = 0; i < p.smmu_count; ++i) {
        const SmmuV3& s = p.smmus[i];
        log_info("  smmu%zu      arm,smmu-v3 0x%llx (%s) %s%s", i, (ull)s.reg.base, SizeStr(s.reg.size).c_str(), s.path,
                 s.dma_coherent ? " dma-coherent" : "");
    }
    for (usize i = 0; i < p.bridge_count; ++i) print_bridge(p.bridges[i]);
    if (p.bridges_unused > 0)
        log_info("  pci        %zu more ECAM host bridges not used (passage keeps %zu)", p.bridges_unused, Platform::kMaxBridges);
    for (usize i = 0; i < p.bridge_count; ++i)
        if (!bridge_behind_smmu(p.bridges[i]))
            log_warn("  dma        %s has no SMMUv3 in its iommu-map: assigned devices behind it can DMA anywhere, "
                     "passage included", p.bridges[i].path);
    for (usize i = 0; i < p.other_bridge_count; ++i) {
        const OtherPciBridge& o = p.other_bridges[i];
        log_info("  pci        not driven: %s (%s%s): not pci-host-ecam-generic", o.path, o.compatible,
                 o.enabled ? "" : ", disabled");
    }
    if (p.other_bridges_unlisted > 0) log_info("  pci        %zu more host bridges not listed", p.other_bridges_unlisted);
    log_info("  mmio       %zu other device regions", p.mmio_count);
    if (p.dma.noncoherent == 0) log_info("  dma        %zu masters, all dma-coherent", p.dma.count);
    else
        log_info("  dma        %zu masters, %zu not dma-coherent (first %s)", p.dma.count, p.dma.noncoherent,
                 p.dma.first_noncoherent);
    if (p.mmio_unused > 0) log_info("  mmio       %zu more regions not given to the guest (passage keeps %zu)", p.mmio_unused, Platform::kMaxMmio);
}

void print_board_needs(const Platform& p)
{
    log_info("needs:");
    if (p.memory_from_bootloader) log_info("  memory     from the bootloader: the tree has none; a boot needs /memory filled in");
    else log_info("  memory     yes: %zu range(s)", p.memory_count);
    if (p.uart.usable()) log_info("  console    yes: %s %s", uart_kind_name(p.uart.kind), p.uart.path);
    else log_info("  console    no: %s (a silent boot: the guest still runs)", p.uart.problem);
    if (p.psci != PsciMethod::None) log_info("  psci       yes: %s", p.psci == PsciMethod::Smc ? "smc" : "hvc");
    else log_info("  psci       no: no PSCI node with method smc or hvc (firmware may add one at boot)");
    log_info("  gic        yes: GICv%d", p.gic.version == GicVersion::V3 ? 3 : 2);
    usize enabled_other = 0;
    for (usize i = 0; i < p.other_bridge_count; ++i) enabled_other += p.other_bridges[i].enabled ? 1 : 0;
    log_info("  pci        %zu pci-host-ecam-generic host bridge(s) passage drives; %zu other (%zu enabled) it does not",
             p.bridge_count, p.other_bridge_count, enabled_other);
}

}  // namespace passage
