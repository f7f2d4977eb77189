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
        log_info("  gic        v3");
        print_range("  dist", g.dist);
        for (usize i = 0; i < g.redist_count; ++i) print_range("  redist", g.redist[i]);
        for (usize i = 0; i < g.its_count; ++i) print_range("  its", g.its[i]);
    } else {
        log_info("  gic        v2");
        print_range("  dist", g.dist);
        print_range("  cpu", g.cpu_if);
        for (usize i = 0; i < g.v2m_count; ++i) print_range("  v2m", g.v2m[i]);
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

}  // namespace

void print_platform_summary(const Platform& p)
{
    log_info("platform: %s", p.model);
    for (usize i = 0; i < p.memory_count; ++i) print_range("memory", p.memory[i]);
    for (usize i = 0; i < p.reserved_count; ++i) print_range("reserved", p.reserved[i]);
    log_info("  cpus       %zu", p.cpu_count);
    for (usize i = 0; i < p.cpu_count; ++i) log_info("    cpu%zu mpidr 0x%llx", i, (ull)p.cpu_mpidr[i]);
    const char* psci = p.psci == PsciMethod::Smc ? "smc" : p.psci == PsciMethod::Hvc ? "hvc" : "none";
    log_info("  psci       %s (%s)", psci, p.psci_compatible[0] != '\0' ? p.psci_compatible : "no node");
    if (p.uart.pl011) log_info("  console    pl011 0x%llx %s", (ull)p.uart.base, p.uart.path);
    else log_info("  console    none usable: %s", p.uart.problem);
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
    for (usize i = 0; i < p.bridge_count; ++i)
        if (!bridge_behind_smmu(p.bridges[i]))
            log_warn("  dma        %s has no SMMUv3 in its iommu-map: assigned devices behind it can DMA anywhere, "
                     "passage included", p.bridges[i].path);
    for (usize i = 0; i < p.other_bridge_count; ++i) {
        const OtherPciBridge& o = p.other_bridges[i];
        log_info("  pci        not driven: %s (%s%s): not pci-host-ecam-generic", o.path, o.compatible,
                 o.enabled ? "" : ", disabled");
    }
    log_info("  mmio       %zu other device regions", p.mmio_count);
}

void print_board_needs(const Platform& p)
{
    log_info("needs:");
    if (p.uart.pl011) log_info("  console    yes: pl011 %s", p.uart.path);
    else log_info("  console    no: %s (passage drives only a PL011)", p.uart.problem);
    if (p.psci != PsciMethod::None) log_info("  psci       yes: %s", p.psci == PsciMethod::Smc ? "smc" : "hvc");
    else log_info("  psci       no: no PSCI node with method smc or hvc (firmware may add one at boot)");
    log_info("  gic        yes: GICv%d", p.gic.version == GicVersion::V3 ? 3 : 2);
    usize enabled_other = 0;
    for (usize i = 0; i < p.other_bridge_count; ++i) enabled_other += p.other_bridges[i].enabled ? 1 : 0;
    log_info("  pci        %zu pci-host-ecam-generic host bridge(s) passage drives; %zu other (%zu enabled) it does not",
             p.bridge_count, p.other_bridge_count, enabled_other);
}

Status inspect_device_tree(const void* fdt, usize size, Platform& out, Diagnostic& diag)
{
    if (Status s = check_device_tree(fdt, size, diag); !s) return s;
    if (Status s = discover_platform(fdt, out, diag, ConsoleCheck::Report); !s) return s;
    print_platform_summary(out);
    print_board_needs(out);
    return {};
}

}  // namespace passage
