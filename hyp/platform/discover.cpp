// Platform discovery from the device tree. See passage/discover.h.
#include "passage/discover.h"

#include <libfdt.h>

#include "iommu_map.h"
#include "passage/fdt/cells.h"
#include "passage/fdt/node.h"
#include "passage/format.h"
#include "passage/log.h"
#include "passage/text.h"

namespace passage {
namespace {

using fdt::compatible;
using fdt::node_path;
using fdt::read_cells;
using fdt::string_property_is;

// reg entry of `node`, a child of `parent`, with a message naming the node
// when it is malformed. Every caller passes the parent (see fdt::reg_count).
Status reg_or_fail(const void* fdt, int parent, int node, int index, MemRange& out, Diagnostic& diag, const char* what)
{
    auto r = fdt::reg_entry(fdt, parent, node, index);
    if (!r) {
        char path[96];
        node_path(fdt, node, path, sizeof path);
        auto ac = fdt::address_cells(fdt, parent);
        auto sc = fdt::size_cells(fdt, parent);
        int len = 0;
        bool has_reg = fdt_getprop(fdt, node, "reg", &len) != nullptr;
        if (r.error() == Error::BadDeviceTree && has_reg && ac && sc)
            return fail(diag, Error::BadDeviceTree, 0,
                        "%s %s: reg is %d bytes, not a whole number of entries of #address-cells %d + #size-cells %d",
                        what, path, len, *ac, *sc);
        if (r.error() == Error::NotFound && !has_reg) return fail(diag, Error::BadDeviceTree, 0, "%s %s: no reg property", what, path);
        return fail(diag, Error::BadDeviceTree, r.error_addr(), "%s %s: reg entry %d: %s", what, path, index,
                    r.error() == Error::NotFound ? "missing, or not reachable through the parents' ranges"
                                                 : error_name(r.error()));
    }
    out = *r;
    return {};
}

// Memory: every enabled device_type = "memory" node at the root. None, or
// only empty ones, is how a tree looks before the bootloader fills it in
// (U-Boot does before booti): a board check says so and goes on, a boot
// cannot.
Status discover_memory(const void* fdt, Platform& p, Diagnostic& diag, DiscoveryMode mode)
{
    for (int node = fdt_first_subnode(fdt, 0); node >= 0; node = fdt_next_subnode(fdt, node)) {
        if (!string_property_is(fdt, node, "device_type", "memory") || !fdt::node_enabled(fdt, node)) continue;
        auto count = fdt::reg_count(fdt, 0, node);
        if (!count) {
            char path[96];
            node_path(fdt, node, path, sizeof path);
            return fail(diag, Error::BadDeviceTree, 0, "memory node %s: reg does not match #address-cells/#size-cells", path);
        }
        for (int i = 0; i < *count; ++i) {
            MemRange r;
            if (auto s = reg_or_fail(fdt, 0, node, i, r, diag, "memory node"); !s) return s;
            if (r.size == 0) continue;
            if (p.memory_count == Platform::kMaxMemory) {
                log_warn("more than %zu memory ranges; ignoring 0x%llx (+0x%llx)", Platform::kMaxMemory,
                         (unsigned long long)r.base, (unsigned long long)r.size);
                ++p.memory_unused;
                continue;
            }
            p.memory[p.memory_count++] = r;
        }
    }
    if (p.memory_count > 0) return {};
    if (mode == DiscoveryMode::Inspect) {
        p.memory_from_bootloader = true;
        return {};
    }
    return fail(diag, Error::NotFound, 0,
                "no memory: the device tree has no /memory node with a size (the bootloader must fill it in)");
}

void add_reserved(Platform& p, MemRange r)
{
    if (r.size == 0) return;
    if (p.reserved_count == Platform::kMaxReserved) {
        log_warn("more than %zu reserved ranges; ignoring 0x%llx", Platform::kMaxReserved, (unsigned long long)r.base);
        ++p.reserved_dropped;
        return;
    }
    p.reserved[p.reserved_count++] = r;
}

Status discover_reserved(const void* fdt, Platform& p, Diagnostic& diag)
{
    int n = fdt_num_mem_rsv(fdt);
    for (int i = 0; i < n; ++i) {
        uint64_t base = 0, size = 0;
        if (fdt_get_mem_rsv(fdt, i, &base, &size) == 0) add_reserved(p, {base, size});
    }
    int rm = fdt_path_offset(fdt, "/reserved-memory");
    if (rm < 0) return {};
    for (int node = fdt_first_subnode(fdt, rm); node >= 0; node = fdt_next_subnode(fdt, node)) {
        if (!fdt::node_enabled(fdt, node)) continue;
        auto count = fdt::reg_count(fdt, rm, node);
        if (!count) return fail(diag, Error::BadDeviceTree, 0, "/reserved-memory: malformed reg in a child node");
        bool no_map = fdt_getprop(fdt, node, "no-map", nullptr) != nullptr;
        for (int i = 0; i < *count; ++i) {
            MemRange r;
            if (auto s = reg_or_fail(fdt, rm, node, i, r, diag, "reserved-memory node"); !s) return s;
            add_reserved(p, r);
            if (!no_map || r.size == 0) continue;
            // Dropping one would map a carve-out: refuse rather than guess.
            if (p.no_map_count == Platform::kMaxReserved)
                return fail(diag, Error::Unsupported, r.base, "/reserved-memory: more than %zu no-map regions (0x%llx)",
                            Platform::kMaxReserved, (unsigned long long)r.base);
            p.no_map[p.no_map_count++] = r;
        }
    }
    return {};
}

// The page of a spin-table CPU's cpu-release-addr (a 64-bit mailbox).
Status note_spin_release(const void* fdt, int node, Platform& p, Diagnostic& diag)
{
    int len = 0;
    const void* prop = fdt_getprop(fdt, node, "cpu-release-addr", &len);
    if (prop == nullptr || (len != 4 && len != 8)) {
        char path[96];
        node_path(fdt, node, path, sizeof path);
        return fail(diag, Error::BadDeviceTree, 0, "cpu node %s: enable-method spin-table without a cpu-release-addr of 1 or 2 cells",
                    path);
    }
    u64 page = align_down(read_cells(prop, len / 4), kPageSize);
    for (usize i = 0; i < p.spin_release_count; ++i)
        if (p.spin_release[i].base == page) return {};
    if (p.spin_release_count == Platform::kMaxSpinRelease)
        return fail(diag, Error::Unsupported, page, "/cpus: spin-table release addresses on more than %zu pages",
                    Platform::kMaxSpinRelease);
    p.spin_release[p.spin_release_count++] = {page, kPageSize};
    return {};
}

Status discover_cpus(const void* fdt, Platform& p, Diagnostic& diag)
{
    int cpus = fdt_path_offset(fdt, "/cpus");
    if (cpus < 0) return fail(diag, Error::NotFound, 0, "no /cpus node");
    auto ac = fdt::address_cells(fdt, cpus);
    if (!ac || *ac < 1 || *ac > 2) return fail(diag, Error::BadDeviceTree, 0, "/cpus: #address-cells must be 1 or 2");
    for (int node = fdt_first_subnode(fdt, cpus); node >= 0; node = fdt_next_subnode(fdt, node)) {
        if (!string_property_is(fdt, node, "device_type", "cpu") || !fdt::node_enabled(fdt, node)) continue;
        int len = 0;
        const void* reg = fdt_getprop(fdt, node, "reg", &len);
        if (reg == nullptr || len != *ac * 4) {
            char path[96];
            node_path(fdt, node, path, sizeof path);
            return fail(diag, Error::BadDeviceTree, 0, "cpu node %s: reg must be %d cell(s)", path, *ac);
        }
        CpuEnable enable = string_property_is(fdt, node, "enable-method", "psci")         ? CpuEnable::Psci
                           : string_property_is(fdt, node, "enable-method", "spin-table") ? CpuEnable::SpinTable
                                                                                       : CpuEnable::Other;
        if (enable == CpuEnable::SpinTable)
            if (auto s = note_spin_release(fdt, node, p, diag); !s) return s;
        if (p.cpu_count == Platform::kMaxCpus) {
            ++p.cpus_ignored;
            continue;
        }
        p.cpu_enable[p.cpu_count] = enable;
        p.cpu_mpidr[p.cpu_count++] = read_cells(reg, *ac);
    }
    if (p.cpus_ignored > 0) log_warn("%zu CPUs beyond the first %zu are not used", p.cpus_ignored, Platform::kMaxCpus);
    if (p.cpu_count == 0) return fail(diag, Error::NotFound, 0, "/cpus has no enabled cpu node");
    return {};
}

int find_psci(const void* fdt)
{
    const char* compats[] = {"arm,psci-1.0", "arm,psci-0.2", "arm,psci"};
    for (const char* c : compats) {
        int node = fdt_node_offset_by_compatible(fdt, -1, c);
        if (node >= 0) return node;
    }
    return -1;
}

// Every compatible Linux drives as a GICv2 (irq-gic.c's IRQCHIP_DECLAREs)
// or a GICv3 (irq-gic-v3.c's).
constexpr const char* kGicV2Compatibles[] = {
    "arm,gic-400",        "arm,cortex-a15-gic", "arm,cortex-a9-gic", "arm,cortex-a7-gic",
    "arm,arm11mp-gic",    "arm,arm1176jzf-devchip-gic", "arm,pl390", "qcom,msm-8660-qgic",
    "qcom,msm-qgic2",
};
constexpr const char* kGicV3Compatibles[] = {"arm,gic-v3"};

// The GIC version `node` is, and the compatible that says so.
GicVersion gic_version(const void* fdt, int node, const char** which = nullptr)
{
    for (const char* c : kGicV3Compatibles)
        if (compatible(fdt, node, c)) {
            if (which != nullptr) *which = c;
            return GicVersion::V3;
        }
    for (const char* c : kGicV2Compatibles)
        if (compatible(fdt, node, c)) {
            if (which != nullptr) *which = c;
            return GicVersion::V2;
        }
    return GicVersion::None;
}

int interrupt_parent(const void* fdt, int node)
{
    int len = 0;
    const void* ph = fdt_getprop(fdt, node, "interrupt-parent", &len);
    if (ph == nullptr || len != 4) return -1;
    return fdt_node_offset_by_phandle(fdt, u32(read_cells(ph, 1)));
}

// A node's interrupt parent as Linux finds it: its own interrupt-parent or
// the nearest ancestor's (bounded: a malformed tree is not walked forever).
int effective_interrupt_parent(const void* fdt, int node)
{
    for (int depth = 0; node >= 0 && depth < 32; ++depth) {
        if (fdt_getprop(fdt, node, "interrupt-parent", nullptr) != nullptr) return interrupt_parent(fdt, node);
        if (node == 0) break;
        node = fdt_parent_offset(fdt, node);
    }
    return -1;
}

// The root interrupt controller: the root's interrupt-parent, followed
// through chained controllers (a wake-up controller in front of the GIC)
// until a GIC; else the first enabled GIC that is its own interrupt parent
// or has none (a cascaded GIC's parent is another controller); else none.
// `root_other` is the controller the chain ends at when it is not a GIC,
// for the message.
int find_root_gic(const void* fdt, int& root_other)
{
    root_other = -1;
    int n = interrupt_parent(fdt, 0);
    for (int depth = 0; n >= 0 && depth < 8; ++depth) {
        if (gic_version(fdt, n) != GicVersion::None && fdt::node_enabled(fdt, n)) return n;
        int up = interrupt_parent(fdt, n);
        if (up < 0 || up == n) {
            root_other = n;
            break;
        }
        n = up;
    }
    int cascaded = -1;
    for (int node = fdt_next_node(fdt, -1, nullptr); node >= 0; node = fdt_next_node(fdt, node, nullptr)) {
        if (gic_version(fdt, node) == GicVersion::None || !fdt::node_enabled(fdt, node)) continue;
        int parent = effective_interrupt_parent(fdt, node);
        if (parent < 0 || parent == node) return node;
        if (cascaded < 0) cascaded = node;
    }
    return cascaded;
}

// The frames of one kind (ITS or GICv2m) under the GIC node: the first
// Gic::kMaxIts kept, the rest counted so the summary can say so.
Status gic_frames(const void* fdt, int gic, const char* compat, const char* what, MemRange* out, usize& count, usize& unused,
                  Diagnostic& diag)
{
    for (int c = fdt_first_subnode(fdt, gic); c >= 0; c = fdt_next_subnode(fdt, c)) {
        if (!compatible(fdt, c, compat) || !fdt::node_enabled(fdt, c)) continue;
        if (count == Gic::kMaxIts) {
            ++unused;
            continue;
        }
        if (auto s = reg_or_fail(fdt, gic, c, 0, out[count], diag, what); !s) return s;
        ++count;
    }
    if (unused > 0) log_warn("%s: %zu beyond the first %zu are not mapped for the guest", what, unused, Gic::kMaxIts);
    return {};
}

Status discover_gic(const void* fdt, Platform& p, Diagnostic& diag)
{
    Gic& g = p.gic;
    int root_other = -1;
    int node = find_root_gic(fdt, root_other);
    if (node < 0) {
        if (root_other >= 0) {
            char path[kPathMax];
            node_path(fdt, root_other, path, sizeof path);
            return fail(diag, Error::NotFound, 0, "no supported interrupt controller: the root one is %s (%s), not a GICv2 or GICv3",
                        path, fdt::first_compatible(fdt, root_other, "no compatible"));
        }
        return fail(diag, Error::NotFound, 0, "no supported interrupt controller (arm,gic-v3 or a GICv2)");
    }
    const char* which = "?";
    g.version = gic_version(fdt, node, &which);
    copy_string(g.compatible, sizeof g.compatible, which);
    int parent = fdt_parent_offset(fdt, node);
    if (g.version == GicVersion::V3) {
        if (auto s = reg_or_fail(fdt, parent, node, 0, g.dist, diag, "GICv3"); !s) return s;
        u64 nredist = 1;
        int len = 0;
        if (const void* rr = fdt_getprop(fdt, node, "#redistributor-regions", &len); rr != nullptr && len == 4)
            nredist = read_cells(rr, 1);
        if (nredist == 0 || nredist > Gic::kMaxRedist)
            return fail(diag, Error::Unsupported, nredist, "GICv3: %llu redistributor regions (at most %zu supported)",
                        (unsigned long long)nredist, Gic::kMaxRedist);
        for (u64 i = 0; i < nredist; ++i) {
            if (auto s = reg_or_fail(fdt, parent, node, int(1 + i), g.redist[g.redist_count], diag, "GICv3 redistributor"); !s)
                return s;
            ++g.redist_count;
        }
        auto count = fdt::reg_count(fdt, parent, node);
        int next = int(1 + nredist);
        if (count && *count > next) (void)reg_or_fail(fdt, parent, node, next, g.cpu_if, diag, "GICv3 GICC");
        if (count && *count > next + 1) (void)reg_or_fail(fdt, parent, node, next + 1, g.hyp_if, diag, "GICv3 GICH");
        if (count && *count > next + 2) (void)reg_or_fail(fdt, parent, node, next + 2, g.vcpu_if, diag, "GICv3 GICV");
        return gic_frames(fdt, node, "arm,gic-v3-its", "GICv3 ITS", g.its, g.its_count, g.its_unused, diag);
    }
    if (auto s = reg_or_fail(fdt, parent, node, 0, g.dist, diag, "GICv2 distributor"); !s) return s;
    if (auto s = reg_or_fail(fdt, parent, node, 1, g.cpu_if, diag, "GICv2 CPU interface"); !s) return s;
    auto count = fdt::reg_count(fdt, parent, node);
    if (count && *count > 2) (void)reg_or_fail(fdt, parent, node, 2, g.hyp_if, diag, "GICv2 GICH");
    if (count && *count > 3) (void)reg_or_fail(fdt, parent, node, 3, g.vcpu_if, diag, "GICv2 GICV");
    return gic_frames(fdt, node, "arm,gic-v2m-frame", "GICv2m frame", g.v2m, g.v2m_count, g.v2m_unused, diag);
}

void discover_timer(const void* fdt, Platform& p)
{
    int node = fdt_node_offset_by_compatible(fdt, -1, "arm,armv8-timer");
    if (node < 0) {
        log_warn("no arm,armv8-timer node: the guest gets no timer interrupts described");
        return;
    }
    int len = 0;
    const auto* irq = static_cast<const u8*>(fdt_getprop(fdt, node, "interrupts", &len));
    if (irq == nullptr || len < 4 * 12) {
        log_warn("arm,armv8-timer: interrupts property is not 4 three-cell entries");
        return;
    }
    p.timer.present = true;
    for (int i = 0; i < 4; ++i) p.timer.ppi[i] = static_cast<u32>(read_cells(irq + i * 12 + 4, 1));
}

Status discover_pci_bridge(const void* fdt, int node, Platform& p, Diagnostic& diag)
{
    if (p.bridge_count == Platform::kMaxBridges) {
        log_warn("more than %zu PCI host bridges; the rest are ignored", Platform::kMaxBridges);
        ++p.bridges_unused;
        return {};
    }
    PciHostBridge& b = p.bridges[p.bridge_count];
    b = PciHostBridge{};
    node_path(fdt, node, b.path, sizeof b.path);
    int parent = fdt_parent_offset(fdt, node);
    MemRange ecam;
    if (auto s = reg_or_fail(fdt, parent, node, 0, ecam, diag, "PCI host bridge"); !s) return s;
    b.ecam_base = ecam.base;
    b.ecam_size = ecam.size;
    b.bus_start = 0;
    b.bus_end = 255;
    int len = 0;
    if (const void* br = fdt_getprop(fdt, node, "bus-range", &len); br != nullptr) {
        if (len != 8) return fail(diag, Error::BadDeviceTree, 0, "PCI host bridge %s: bus-range must be 2 cells", b.path);
        u64 first = read_cells(br, 1), last = read_cells(static_cast<const u8*>(br) + 4, 1);
        if (first > last || last > 255)
            return fail(diag, Error::BadDeviceTree, 0, "PCI host bridge %s: bus-range %llu-%llu is invalid", b.path,
                        (unsigned long long)first, (unsigned long long)last);
        b.bus_start = u8(first);
        b.bus_end = u8(last);
    }
    u64 buses = u64(b.bus_end - b.bus_start) + 1;
    if (b.ecam_size < (buses << 20)) {
        u64 fit = b.ecam_size >> 20;
        if (fit == 0) return fail(diag, Error::BadDeviceTree, b.ecam_base, "PCI host bridge %s: ECAM smaller than one bus", b.path);
        log_warn("PCI host bridge %s: ECAM of %llu MiB covers %llu buses, not bus-range's %llu; using %llu", b.path,
                 (unsigned long long)(b.ecam_size >> 20), (unsigned long long)fit, (unsigned long long)buses,
                 (unsigned long long)fit);
        b.bus_end = u8(b.bus_start + fit - 1);
    }
    if (const void* dom = fdt_getprop(fdt, node, "linux,pci-domain", &len); dom != nullptr && len == 4)
        b.segment = u16(read_cells(dom, 1));
    else b.segment = u16(p.bridge_count);
    b.dma_coherent = fdt_getprop(fdt, node, "dma-coherent", nullptr) != nullptr;

    auto ac = fdt::address_cells(fdt, node);
    auto sc = fdt::size_cells(fdt, node);
    auto pac = fdt::address_cells(fdt, parent);
    if (!ac || !sc || !pac || *ac != 3 || *sc < 1 || *sc > 2 || *pac < 1 || *pac > 2)
        return fail(diag, Error::BadDeviceTree, 0, "PCI host bridge %s: needs #address-cells = 3 and #size-cells 1 or 2", b.path);
    const auto* ranges = static_cast<const u8*>(fdt_getprop(fdt, node, "ranges", &len));
    int entry = (3 + *pac + *sc) * 4;
    if (ranges == nullptr || len == 0 || len % entry != 0)
        return fail(diag, Error::BadDeviceTree, 0, "PCI host bridge %s: ranges is %s (%d bytes, entries of %d)", b.path,
                    ranges == nullptr ? "missing" : "malformed", len, entry);
    for (int off = 0; off < len; off += entry) {
        u32 hi = u32(read_cells(ranges + off, 1));
        u64 pci = read_cells(ranges + off + 4, 2);
        u64 cpu_local = read_cells(ranges + off + 12, *pac);
        u64 size = read_cells(ranges + off + 12 + *pac * 4, *sc);
        unsigned space = (hi >> 24) & 3;
        if (space == 0 || size == 0) continue;  // config space, or empty
        auto cpu = fdt::translate_to_cpu(fdt, parent, cpu_local);
        if (!cpu)
            return fail(diag, Error::BadDeviceTree, cpu_local, "PCI host bridge %s: window at 0x%llx is not reachable from the CPU",
                        b.path, (unsigned long long)cpu_local);
        if (b.window_count == PciHostBridge::kMaxWindows) {
            log_warn("PCI host bridge %s: more than %zu windows; ignoring the rest", b.path, PciHostBridge::kMaxWindows);
            break;
        }
        PciWindow& w = b.windows[b.window_count++];
        w.space = space == 1 ? PciSpace::Io : space == 2 ? PciSpace::Mem32 : PciSpace::Mem64;
        w.prefetchable = (hi >> 30) & 1;
        w.pci_addr = pci;
        w.cpu_addr = *cpu;
        w.size = size;
        // A "64-bit" range that sits wholly below 4 GiB on the bus still serves 32-bit BARs.
        if (w.space == PciSpace::Mem64 && pci + size <= (u64{1} << 32)) w.space = PciSpace::Mem32;
        // A "32-bit" range whose bus addresses reach past 4 GiB (Juno's prefetchable
        // window is one) cannot hold a 32-bit BAR: only 64-bit BARs go there.
        if (w.space == PciSpace::Mem32 && pci + size > (u64{1} << 32)) {
            log_warn("PCI host bridge %s: 32-bit window at pci 0x%llx reaches past 4 GiB; using it for 64-bit BARs only",
                     b.path, (unsigned long long)pci);
            w.space = PciSpace::Mem64;
        }
    }
    if (b.window_count == 0)
        return fail(diag, Error::BadDeviceTree, 0, "PCI host bridge %s: ranges has no I/O or memory window", b.path);
    if (auto s = discover_iommu_map(fdt, node, p, b, diag); !s) return s;
    ++p.bridge_count;
    return {};
}

// A host bridge: a device_type = "pci" node whose parent is not a PCI bus.
bool is_host_bridge(const void* fdt, int node)
{
    if (!string_property_is(fdt, node, "device_type", "pci")) return false;
    int parent = fdt_parent_offset(fdt, node);
    return parent < 0 || !string_property_is(fdt, parent, "device_type", "pci");
}

void note_other_bridge(const void* fdt, int node, Platform& p)
{
    if (p.other_bridge_count == Platform::kMaxOtherBridges) {
        ++p.other_bridges_unlisted;
        return;
    }
    OtherPciBridge& o = p.other_bridges[p.other_bridge_count++];
    node_path(fdt, node, o.path, sizeof o.path);
    copy_string(o.compatible, sizeof o.compatible, fdt::first_compatible(fdt, node, "(no compatible)"));
    o.enabled = fdt::node_enabled(fdt, node);
}

Status discover_pci(const void* fdt, Platform& p, Diagnostic& diag)
{
    for (int node = fdt_next_node(fdt, -1, nullptr); node >= 0; node = fdt_next_node(fdt, node, nullptr)) {
        if (compatible(fdt, node, "pci-host-ecam-generic")) {
            if (!fdt::node_enabled(fdt, node)) continue;
            if (auto s = discover_pci_bridge(fdt, node, p, diag); !s) return s;
        } else if (is_host_bridge(fdt, node)) {
            note_other_bridge(fdt, node, p);
        }
    }
    return {};
}

// Nodes whose registers passage handles itself; every other enabled node
// with a reg at the root (or under a simple-bus) is plain MMIO for the guest.
bool handled_elsewhere(const void* fdt, int node)
{
    return string_property_is(fdt, node, "device_type", "memory") || compatible(fdt, node, "pci-host-ecam-generic") ||
           gic_version(fdt, node) != GicVersion::None || compatible(fdt, node, "arm,smmu-v3");
}

void collect_mmio(const void* fdt, int bus, Platform& p, int depth)
{
    for (int node = fdt_first_subnode(fdt, bus); node >= 0; node = fdt_next_subnode(fdt, node)) {
        if (!fdt::node_enabled(fdt, node) || handled_elsewhere(fdt, node)) continue;
        if (depth < 4 && compatible(fdt, node, "simple-bus")) {
            collect_mmio(fdt, node, p, depth + 1);
            continue;
        }
        int clen = 0;
        const char* compat = static_cast<const char*>(fdt_getprop(fdt, node, "compatible", &clen));
        if (compat == nullptr || clen <= 0) continue;
        auto count = fdt::reg_count(fdt, bus, node);
        if (!count) continue;
        for (int i = 0; i < *count; ++i) {
            auto r = fdt::reg_entry(fdt, bus, node, i);
            if (!r || r->size == 0) continue;
            if (p.mmio_count == Platform::kMaxMmio) {
                if (p.mmio_unused++ == 0)
                    log_warn("more than %zu MMIO regions; %s at 0x%llx and the rest are not given to the guest",
                             Platform::kMaxMmio, compat, (unsigned long long)r->base);
                continue;
            }
            MmioDevice& d = p.mmio[p.mmio_count++];
            d.reg = *r;
            copy_string(d.compatible, sizeof d.compatible, compat);
        }
    }
}

// of_dma_is_coherent: the nearest statement on the node or an ancestor,
// given the parent's answer (-1: nothing said yet, which means not).
int dma_statement(const void* fdt, int node, int parent)
{
    if (fdt_getprop(fdt, node, "dma-noncoherent", nullptr) != nullptr) return 0;
    if (fdt_getprop(fdt, node, "dma-coherent", nullptr) != nullptr) return 1;
    return parent;
}

bool contains(const char* s, int len, const char* word)
{
    for (int i = 0; i < len; ++i) {
        int j = 0;
        while (word[j] != '\0' && i + j < len && s[i + j] == word[j]) ++j;
        if (word[j] == '\0') return true;
    }
    return false;
}

// One entry of a compatible list names a DMA-capable controller: the
// families whose controllers master DMA, not their PHYs or power helpers.
bool dma_capable_compatible(const char* c, int len)
{
    static constexpr const char* kFamilies[] = {"sdhci", "mmc", "mshc", "usb", "xhci", "ehci", "ohci", "dwc2", "dwc3",
                                                "ahci", "sata", "gmac", "dwmac", "ethernet", "stmmac", "virtio,mmio", "fw-cfg"};
    static constexpr const char* kNot[] = {"phy", "pwrseq", "xceiv", "connector", "regulator", "vbus"};
    for (const char* n : kNot)
        if (contains(c, len, n)) return false;
    for (const char* f : kFamilies)
        if (contains(c, len, f)) return true;
    return false;
}

bool dma_master(const void* fdt, int node)
{
    // A bus stating its children's coherency is not a master itself.
    if (compatible(fdt, node, "simple-bus")) return false;
    static constexpr const char* kProps[] = {"iommus", "#dma-cells", "dma-coherent", "dma-noncoherent"};
    for (const char* prop : kProps)
        if (fdt_getprop(fdt, node, prop, nullptr) != nullptr) return true;
    if (is_host_bridge(fdt, node)) return true;
    if (string_property_is(fdt, node, "device_type", "network")) return true;
    int len = 0;
    const char* c = static_cast<const char*>(fdt_getprop(fdt, node, "compatible", &len));
    for (int at = 0; c != nullptr && at < len;) {
        int n = 0;
        while (at + n < len && c[at + n] != '\0') ++n;
        if (dma_capable_compatible(c + at, n)) return true;
        at += n + 1;
    }
    return false;
}

// One walk, with each depth's inherited coherency and status, so the cost
// stays linear in the tree (fdt_parent_offset is itself a walk).
void discover_dma(const void* fdt, Platform& p)
{
    constexpr int kMaxDepth = 32;
    int coherent[kMaxDepth];
    bool enabled[kMaxDepth];
    coherent[0] = dma_statement(fdt, 0, -1);
    enabled[0] = true;
    DmaMasters& d = p.dma;
    int depth = 0;
    for (int node = fdt_next_node(fdt, 0, &depth); node >= 0 && depth > 0; node = fdt_next_node(fdt, node, &depth)) {
        if (depth >= kMaxDepth) continue;  // deeper than any real tree: not looked at
        enabled[depth] = enabled[depth - 1] && fdt::node_enabled(fdt, node);
        coherent[depth] = dma_statement(fdt, node, coherent[depth - 1]);
        if (!enabled[depth] || !dma_master(fdt, node)) continue;
        ++d.count;
        if (coherent[depth] == 1) continue;
        if (d.noncoherent++ == 0) node_path(fdt, node, d.first_noncoherent, sizeof d.first_noncoherent);
    }
}

// Walks the structure block once with 64-bit arithmetic before libfdt does:
// every tag known, every name terminated and every property inside the
// block. libfdt 1.6.1's fdt_next_tag adds a property's length to an int, so
// a length of 0xfffffff4 brings it back to the same tag and fdt_check_full
// (and every walk after it) loops forever; dtc fixed it after 1.6.1.
Status check_structure_block(const void* fdt, Diagnostic& diag)
{
    const u8* base = static_cast<const u8*>(fdt);
    const u64 start = fdt_off_dt_struct(fdt);
    if (start % 4 != 0 || fdt_off_mem_rsvmap(fdt) % 8 != 0)
        return fail(diag, Error::BadDeviceTree, start, "device tree structure block at 0x%llx or reservation map at 0x%x misaligned",
                    (unsigned long long)start, fdt_off_mem_rsvmap(fdt));
    const u64 end = fdt_version(fdt) >= 17 ? start + fdt_size_dt_struct(fdt) : u64(fdt_totalsize(fdt));
    if (end > fdt_totalsize(fdt) || end < start)
        return fail(diag, Error::BadDeviceTree, end, "device tree structure block ends at 0x%llx, past the blob", (unsigned long long)end);
    for (u64 off = start; off + 4 <= end;) {
        const u64 tag_at = off - start;
        const u32 tag = u32(read_cells(base + off, 1));
        off += 4;
        switch (tag) {
        case FDT_BEGIN_NODE:
            while (off < end && base[off] != '\0') ++off;
            if (off == end)
                return fail(diag, Error::BadDeviceTree, tag_at, "device tree: node name at structure offset 0x%llx is not terminated",
                            (unsigned long long)tag_at);
            off = align_up(off + 1, 4);
            break;
        case FDT_PROP: {
            if (end - off < 8)
                return fail(diag, Error::BadDeviceTree, tag_at, "device tree: property at structure offset 0x%llx is truncated",
                            (unsigned long long)tag_at);
            const u64 len = read_cells(base + off, 1);
            off += 8;
            if (len > end - off)
                return fail(diag, Error::BadDeviceTree, tag_at,
                            "device tree: property at structure offset 0x%llx is 0x%llx bytes long, past the structure block",
                            (unsigned long long)tag_at, (unsigned long long)len);
            off = align_up(off + len, 4);
            break;
        }
        case FDT_END_NODE:
        case FDT_NOP: break;
        case FDT_END: return {};
        default:
            return fail(diag, Error::BadDeviceTree, tag, "device tree: unknown tag 0x%x at structure offset 0x%llx", tag,
                        (unsigned long long)tag_at);
        }
    }
    return fail(diag, Error::BadDeviceTree, end, "device tree: structure block has no end tag");
}

// The console node's kind and registers. The address is translated through
// the parents' ranges whatever the kind, so a board check can name it.
Status uart_from_node(const void* fdt, int node, Uart& uart, Diagnostic& diag)
{
    node_path(fdt, node, uart.path, sizeof uart.path);
    copy_string(uart.compatible, sizeof uart.compatible, fdt::first_compatible(fdt, node, "no compatible"));
    int len = 0;
    MemRange r;
    if (auto s = reg_or_fail(fdt, fdt_parent_offset(fdt, node), node, 0, r, diag, "console"); !s) return s;
    uart.base = r.base;
    uart.size = r.size;
    UartKind kind = UartKind::None;
    if (compatible(fdt, node, "arm,pl011")) kind = UartKind::Pl011;
    else if (compatible(fdt, node, "arm,sbsa-uart")) kind = UartKind::Sbsa;
    else if (compatible(fdt, node, "ns16550a") || compatible(fdt, node, "ns16550") ||
             compatible(fdt, node, "snps,dw-apb-uart") || compatible(fdt, node, "fsl,ns16550"))
        kind = UartKind::Ns16550;
    if (kind == UartKind::None) {
        format(uart.problem, sizeof uart.problem, "console %s (%s) is of a kind passage has no driver for", uart.path,
                   uart.compatible);
        return {};
    }
    if (kind == UartKind::Ns16550) {
        u64 shift = 0, width = 1, offset = 0;
        if (const void* v = fdt_getprop(fdt, node, "reg-shift", &len); v != nullptr && len == 4) shift = read_cells(v, 1);
        if (const void* v = fdt_getprop(fdt, node, "reg-io-width", &len); v != nullptr && len == 4) width = read_cells(v, 1);
        if (const void* v = fdt_getprop(fdt, node, "reg-offset", &len); v != nullptr && len == 4) offset = read_cells(v, 1);
        if (const void* v = fdt_getprop(fdt, node, "clock-frequency", &len); v != nullptr && len == 4)
            uart.clock_hz = u32(read_cells(v, 1));
        // The 16550's registers span index 0..7; all of them must lie inside reg.
        const u64 span = offset + (u64{8} << (shift > 3 ? 3 : shift));
        if (shift > 3 || (width != 1 && width != 2 && width != 4) || (width > (u64{1} << shift) && width != 1) ||
            span > r.size) {
            format(uart.problem, sizeof uart.problem,
                       "console %s: reg-shift %llu, reg-io-width %llu, reg-offset 0x%llx do not fit its 0x%llx-byte reg", uart.path,
                       (unsigned long long)shift, (unsigned long long)width, (unsigned long long)offset, (unsigned long long)r.size);
            return {};
        }
        if (fdt_getprop(fdt, node, "big-endian", nullptr) != nullptr) {
            format(uart.problem, sizeof uart.problem, "console %s: a big-endian 16550 has no driver in passage", uart.path);
            return {};
        }
        uart.reg_shift = u8(shift);
        uart.reg_io_width = u8(width);
        uart.reg_offset = u32(offset);
    }
    uart.kind = kind;
    return {};
}

}  // namespace

Status check_device_tree(const void* fdt, usize max_size, Diagnostic& diag)
{
    if (fdt == nullptr) return fail(diag, Error::BadDeviceTree, 0, "no device tree (x0 was 0)");
    if (max_size >= 4 && read_cells(fdt, 1) != FDT_MAGIC)
        return fail(diag, Error::BadDeviceTree, read_cells(fdt, 1), "not a device tree: magic 0x%08x, expected 0x%08x",
                    u32(read_cells(fdt, 1)), u32(FDT_MAGIC));
    if (max_size < sizeof(struct fdt_header))
        return fail(diag, Error::BadDeviceTree, max_size, "device tree truncated: %zu bytes, smaller than its header", max_size);
    int err = fdt_check_header(fdt);
    if (err != 0) {
        u32 magic = u32(read_cells(fdt, 1));
        return fail(diag, Error::BadDeviceTree, magic, "device tree header invalid (magic 0x%08x): %s", magic, fdt_strerror(err));
    }
    // Before version 16 a node's name was its full path. libfdt 1.6.1 (the
    // one passage links) dereferences NULL in fdt_check_full when such a
    // tree's first node name has no '/'; every dtc, QEMU and firmware
    // writes version 17, so older trees are refused here.
    if (fdt_version(fdt) < 16)
        return fail(diag, Error::Unsupported, fdt_version(fdt),
                    "device tree version %u is too old: passage reads versions 16 and 17", fdt_version(fdt));
    if (fdt_totalsize(fdt) > max_size)
        return fail(diag, Error::BadDeviceTree, fdt_totalsize(fdt), "device tree truncated: header says %u bytes, only %zu present",
                    fdt_totalsize(fdt), max_size);
    if (Status s = check_structure_block(fdt, diag); !s) return s;
    err = fdt_check_full(fdt, fdt_totalsize(fdt));
    if (err != 0) return fail(diag, Error::BadDeviceTree, 0, "device tree structure invalid: %s", fdt_strerror(err));
    return {};
}

Status discover_console(const void* fdt, Uart& uart, Diagnostic& diag)
{
    uart = Uart{};
    int chosen = fdt_path_offset(fdt, "/chosen");
    int node = -1;
    int len = 0;
    const char* path = chosen >= 0 ? static_cast<const char*>(fdt_getprop(fdt, chosen, "stdout-path", &len)) : nullptr;
    if (path == nullptr && chosen >= 0) path = static_cast<const char*>(fdt_getprop(fdt, chosen, "linux,stdout-path", &len));
    if (path != nullptr && len > 0) {
        int n = 0;
        while (n < len && path[n] != '\0' && path[n] != ':') ++n;  // "serial0:115200n8"
        node = fdt_path_offset_namelen(fdt, path, n);  // libfdt resolves an alias itself
        if (node < 0) {
            char name[kPathMax];  // vformat has no "%.*s"
            copy_string(name, n + 1 < int(sizeof name) ? usize(n + 1) : sizeof name, path);
            return fail(diag, Error::NotFound, 0, "/chosen/stdout-path \"%s\" names no node", name);
        }
    } else {
        node = fdt_node_offset_by_compatible(fdt, -1, "arm,pl011");
        if (node < 0) return fail(diag, Error::NotFound, 0, "no /chosen/stdout-path and no arm,pl011 node");
    }
    return uart_from_node(fdt, node, uart, diag);
}

PsciMethod discover_psci_method(const void* fdt)
{
    int node = find_psci(fdt);
    if (node < 0) return PsciMethod::None;
    if (string_property_is(fdt, node, "method", "smc")) return PsciMethod::Smc;
    if (string_property_is(fdt, node, "method", "hvc")) return PsciMethod::Hvc;
    return PsciMethod::None;
}

Status discover_platform(const void* fdt, Platform& p, Diagnostic& diag, DiscoveryMode mode)
{
    p = Platform{};
    int len = 0;
    if (const char* model = static_cast<const char*>(fdt_getprop(fdt, 0, "model", &len)); model != nullptr && len > 0)
        copy_string(p.model, sizeof p.model, model);
    else if (const char* c = static_cast<const char*>(fdt_getprop(fdt, 0, "compatible", &len)); c != nullptr && len > 0)
        copy_string(p.model, sizeof p.model, c);
    else copy_string(p.model, sizeof p.model, "(unnamed)");

    auto ac = fdt::address_cells(fdt, 0);
    auto sc = fdt::size_cells(fdt, 0);
    if (!ac || !sc || *ac < 1 || *ac > 2 || *sc > 2)
        return fail(diag, Error::BadDeviceTree, 0, "root node: #address-cells/#size-cells must be 1 or 2");

    if (auto s = discover_memory(fdt, p, diag, mode); !s) return s;
    if (auto s = discover_reserved(fdt, p, diag); !s) return s;
    if (auto s = discover_cpus(fdt, p, diag); !s) return s;
    p.psci = discover_psci_method(fdt);
    if (int node = find_psci(fdt); node >= 0) {
        const char* c = static_cast<const char*>(fdt_getprop(fdt, node, "compatible", &len));
        copy_string(p.psci_compatible, sizeof p.psci_compatible, c != nullptr && len > 0 ? c : "?");
    }
    if (p.psci == PsciMethod::None) log_warn("no PSCI node with method smc or hvc: passage cannot start CPUs or power off");
    // No console, or one passage cannot drive, makes a silent boot, not a
    // failed one; a malformed console node is a malformed tree, for a boot.
    if (auto s = discover_console(fdt, p.uart, diag); !s) {
        if (mode == DiscoveryMode::Boot && s.error() != Error::NotFound) return s;
        copy_string(p.uart.problem, sizeof p.uart.problem, diag.text);
        diag = Diagnostic{};
    }
    if (!p.uart.usable()) log_warn("no usable console: %s", p.uart.problem);
    if (auto s = discover_gic(fdt, p, diag); !s) return s;
    discover_timer(fdt, p);
    if (auto s = discover_smmus(fdt, p, diag); !s) return s;
    if (auto s = discover_pci(fdt, p, diag); !s) return s;
    collect_mmio(fdt, 0, p, 0);
    discover_dma(fdt, p);
    return {};
}

}  // namespace passage
