// PCI host bridges: the generic ECAM ones passage drives (ECAM, bus range,
// windows, iommu-map) and the others, listed for a board check.
#include "discover_steps.h"
#include "iommu_map.h"
#include "passage/fdt/cells.h"
#include "passage/fdt/node.h"
#include "passage/log.h"
#include "passage/text.h"

namespace passage::discovery {

using fdt::compatible;
using fdt::node_path;
using fdt::read_cells;
using fdt::string_property_is;

namespace {

Status discover_pci_bridge(const fdt::TreeIndex& t, int node, Platform& p, Diagnostic& diag)
{
    if (p.bridge_count == Platform::kMaxBridges) {
        log_warn("more than %zu PCI host bridges; the rest are ignored", Platform::kMaxBridges);
        ++p.bridges_unused;
        return {};
    }
    PciHostBridge& b = p.bridges[p.bridge_count];
    b = PciHostBridge{};
    node_path(t, node, b.path, sizeof b.path);
    int parent = t.parent(node);
    MemRange ecam;
    if (auto s = reg_or_fail(t, node, 0, ecam, diag, "PCI host bridge"); !s) return s;
    b.ecam_base = ecam.base;
    b.ecam_size = ecam.size;
    b.bus_start = 0;
    b.bus_end = 255;
    int len = 0;
    if (const void* br = t.prop(node, fdt::Name::BusRange, &len); br != nullptr) {
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
    if (const void* dom = t.prop(node, fdt::Name::LinuxPciDomain, &len); dom != nullptr && len == 4)
        b.segment = u16(read_cells(dom, 1));
    else b.segment = u16(p.bridge_count);
    b.dma_coherent = t.has(node, fdt::Name::DmaCoherent);

    auto ac = fdt::address_cells(t, node);
    auto sc = fdt::size_cells(t, node);
    auto pac = parent >= 0 ? fdt::address_cells(t, parent) : Result<int>(2);
    if (!ac || !sc || !pac || *ac != 3 || *sc < 1 || *sc > 2 || *pac < 1 || *pac > 2)
        return fail(diag, Error::BadDeviceTree, 0, "PCI host bridge %s: needs #address-cells = 3 and #size-cells 1 or 2", b.path);
    const auto* ranges = static_cast<const u8*>(t.prop(node, fdt::Name::Ranges, &len));
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
        auto cpu = fdt::translate_to_cpu(t, parent, cpu_local);
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
    if (auto s = discover_iommu_map(t, node, p, b, diag); !s) return s;
    ++p.bridge_count;
    return {};
}

void note_other_bridge(const fdt::TreeIndex& t, int node, Platform& p)
{
    if (p.other_bridge_count == Platform::kMaxOtherBridges) {
        ++p.other_bridges_unlisted;
        return;
    }
    OtherPciBridge& o = p.other_bridges[p.other_bridge_count++];
    node_path(t, node, o.path, sizeof o.path);
    copy_string(o.compatible, sizeof o.compatible, fdt::first_compatible(t, node, "(no compatible)"));
    o.enabled = t.enabled(node);
}

}  // namespace

// A host bridge: a device_type = "pci" node whose parent is not a PCI bus.
bool is_host_bridge(const fdt::TreeIndex& t, int node)
{
    if (!string_property_is(t, node, fdt::Name::DeviceType, "pci")) return false;
    int parent = t.parent(node);
    return parent < 0 || !string_property_is(t, parent, fdt::Name::DeviceType, "pci");
}

Status discover_pci(const fdt::TreeIndex& t, Platform& p, Diagnostic& diag)
{
    for (int node = 0; node < t.count(); ++node) {
        if (compatible(t, node, "pci-host-ecam-generic")) {
            if (!t.enabled(node)) continue;
            if (auto s = discover_pci_bridge(t, node, p, diag); !s) return s;
        } else if (is_host_bridge(t, node)) {
            note_other_bridge(t, node, p);
        }
    }
    return {};
}

}  // namespace passage::discovery
