#include "fdt.h"

extern "C" {
#include <libfdt.h>
}

namespace guest {

namespace {

// A big-endian cell array value read `cells` cells at a time.
u64 read_cells(const fdt32_t* p, int cells)
{
    u64 v = 0;
    for (int i = 0; i < cells; ++i) v = (v << 32) | fdt32_to_cpu(p[i]);
    return v;
}

int cells_of(const void* fdt, int node, const char* name, int fallback)
{
    int len;
    auto* p = static_cast<const fdt32_t*>(fdt_getprop(fdt, node, name, &len));
    return p && len == 4 ? static_cast<int>(fdt32_to_cpu(*p)) : fallback;
}

// #address-cells / #size-cells that apply to `node`'s reg: its parent's.
void reg_cells(const void* fdt, int node, int& ac, int& sc)
{
    int parent = fdt_parent_offset(fdt, node);
    ac = cells_of(fdt, parent, "#address-cells", 2);
    sc = cells_of(fdt, parent, "#size-cells", 1);
}

// The first reg entry of `node`.
bool first_reg(const void* fdt, int node, u64& base, u64& size)
{
    int ac, sc, len;
    reg_cells(fdt, node, ac, sc);
    auto* p = static_cast<const fdt32_t*>(fdt_getprop(fdt, node, "reg", &len));
    if (!p || len < (ac + sc) * 4) return false;
    base = read_cells(p, ac);
    size = read_cells(p + ac, sc);
    return true;
}

bool u32_prop_nonzero(const void* fdt, int node, const char* name)
{
    int len;
    auto* p = static_cast<const fdt32_t*>(fdt_getprop(fdt, node, name, &len));
    return p && len == 4 && fdt32_to_cpu(*p) != 0;
}

void add_memory(GuestPlatform& plat, u64 base, u64 size)
{
    if (!size || plat.mem_count == GuestPlatform::kMaxMem) return;
    unsigned i = plat.mem_count++;
    while (i > 0 && plat.mem[i - 1].base > base) {
        plat.mem[i] = plat.mem[i - 1];
        --i;
    }
    plat.mem[i] = {base, size};
}

void find_memory(const void* fdt, GuestPlatform& plat)
{
    for (int node = fdt_node_offset_by_prop_value(fdt, -1, "device_type", "memory", 7); node >= 0;
         node = fdt_node_offset_by_prop_value(fdt, node, "device_type", "memory", 7)) {
        int ac, sc, len;
        reg_cells(fdt, node, ac, sc);
        auto* p = static_cast<const fdt32_t*>(fdt_getprop(fdt, node, "reg", &len));
        if (!p) continue;
        for (int n = len / ((ac + sc) * 4); n > 0; --n, p += ac + sc)
            add_memory(plat, read_cells(p, ac), read_cells(p + ac, sc));
    }
}

void add_reserved(GuestPlatform& plat, u64 base, u64 size, bool no_map)
{
    if (!size || plat.reserved_count == GuestPlatform::kMaxReserved) return;
    plat.reserved_no_map[plat.reserved_count] = no_map;
    plat.reserved[plat.reserved_count++] = {base, size};
}

void find_reserved(const void* fdt, GuestPlatform& plat)
{
    for (int i = 0, n = fdt_num_mem_rsv(fdt); i < n; ++i) {
        uint64_t base = 0, size = 0;
        if (fdt_get_mem_rsv(fdt, i, &base, &size) == 0) add_reserved(plat, base, size, false);
    }
    int rm = fdt_path_offset(fdt, "/reserved-memory");
    for (int node = rm < 0 ? -1 : fdt_first_subnode(fdt, rm); node >= 0; node = fdt_next_subnode(fdt, node)) {
        u64 base = 0, size = 0;
        if (first_reg(fdt, node, base, size))
            add_reserved(plat, base, size, fdt_getprop(fdt, node, "no-map", nullptr) != nullptr);
    }
}

void find_console(const void* fdt, GuestPlatform& plat)
{
    int chosen = fdt_path_offset(fdt, "/chosen");
    if (chosen < 0) return;
    int len;
    auto* path = static_cast<const char*>(fdt_getprop(fdt, chosen, "stdout-path", &len));
    if (!path || len <= 0) return;
    int n = 0;  // the path ends at ':' (options follow) or at the NUL
    while (n < len && path[n] && path[n] != ':') ++n;
    int node = fdt_path_offset_namelen(fdt, path, n);
    u64 size;
    if (node >= 0 && fdt_node_check_compatible(fdt, node, "arm,pl011") == 0) first_reg(fdt, node, plat.uart, size);
}

void find_bootargs(const void* fdt, GuestPlatform& plat)
{
    int chosen = fdt_path_offset(fdt, "/chosen");
    if (chosen < 0) return;
    int len;
    auto* args = static_cast<const char*>(fdt_getprop(fdt, chosen, "bootargs", &len));
    if (args && len > 0 && args[len - 1] == '\0') plat.bootargs = args;
}

void find_psci(const void* fdt, GuestPlatform& plat)
{
    int node = fdt_path_offset(fdt, "/psci");
    if (node < 0) return;
    plat.psci = true;
    auto* method = static_cast<const char*>(fdt_getprop(fdt, node, "method", nullptr));
    if (!method) return;
    plat.psci_method = method;
    if (__builtin_strcmp(method, "smc") == 0) plat.conduit = Conduit::Smc;
    else if (__builtin_strcmp(method, "hvc") == 0) plat.conduit = Conduit::Hvc;
}

void find_pci(const void* fdt, GuestPlatform& plat)
{
    int node = fdt_node_offset_by_compatible(fdt, -1, "pci-host-ecam-generic");
    if (node < 0 || !first_reg(fdt, node, plat.ecam_base, plat.ecam_size)) return;
    plat.ecam = true;
    plat.bus_first = 0;
    plat.bus_last = static_cast<u32>((plat.ecam_size >> 20) - 1);
    int len;
    auto* range = static_cast<const fdt32_t*>(fdt_getprop(fdt, node, "bus-range", &len));
    if (range && len == 8) {
        plat.bus_first = fdt32_to_cpu(range[0]);
        plat.bus_last = fdt32_to_cpu(range[1]);
    }
    int chosen = fdt_path_offset(fdt, "/chosen");
    plat.probe_only = u32_prop_nonzero(fdt, node, "linux,pci-probe-only") ||
                      (chosen >= 0 && u32_prop_nonzero(fdt, chosen, "linux,pci-probe-only"));

    // ranges: (phys.hi phys.mid phys.lo) (parent address) (size). phys.hi
    // bits 25:24 are the space, bit 30 prefetchable (PCI bus binding).
    int ac = cells_of(fdt, node, "#address-cells", 3);
    int sc = cells_of(fdt, node, "#size-cells", 2);
    int pac, psc;
    reg_cells(fdt, node, pac, psc);
    auto* p = static_cast<const fdt32_t*>(fdt_getprop(fdt, node, "ranges", &len));
    if (!p || ac != 3) return;
    int entry = ac + pac + sc;
    for (int n = len / (entry * 4); n > 0 && plat.window_count < GuestPlatform::kMaxWindows; --n, p += entry) {
        u32 hi = fdt32_to_cpu(p[0]);
        PciWindow w;
        w.space = static_cast<PciWindow::Space>((hi >> 24) & 3);
        w.prefetchable = hi & (1u << 30);
        w.pci_base = read_cells(p + 1, 2);
        w.cpu_base = read_cells(p + 3, pac);
        w.size = read_cells(p + 3 + pac, sc);
        if (w.space != 0) plat.windows[plat.window_count++] = w;
    }
}

void find_cpus(const void* fdt, GuestPlatform& plat)
{
    int cpus = fdt_path_offset(fdt, "/cpus");
    if (cpus < 0) return;
    int ac = cells_of(fdt, cpus, "#address-cells", 1);
    int node;
    fdt_for_each_subnode(node, fdt, cpus)
    {
        auto* type = static_cast<const char*>(fdt_getprop(fdt, node, "device_type", nullptr));
        int len;
        auto* reg = static_cast<const fdt32_t*>(fdt_getprop(fdt, node, "reg", &len));
        if (!type || __builtin_strcmp(type, "cpu") != 0 || !reg || len < ac * 4) continue;
        if (plat.cpu_count < GuestPlatform::kMaxCpus) plat.cpus[plat.cpu_count++] = read_cells(reg, ac);
    }
}

}  // namespace

void find_iommu(const void* fdt, GuestPlatform& plat)
{
    plat.smmu_node = fdt_node_offset_by_compatible(fdt, -1, "arm,smmu-v3") >= 0;
    static const char* const kRefs[] = {"iommu-map", "iommu-map-mask", "iommus"};
    int depth = 0;
    for (int node = fdt_next_node(fdt, -1, &depth); node >= 0; node = fdt_next_node(fdt, node, &depth))
        for (const char* name : kRefs)
            if (fdt_getprop(fdt, node, name, nullptr)) ++plat.iommu_refs;
}

GuestPlatform discover(const void* fdt)
{
    GuestPlatform plat;
    plat.fdt = fdt;
    plat.fdt_error = fdt_check_header(fdt);
    if (plat.fdt_error) return plat;
    find_console(fdt, plat);
    find_bootargs(fdt, plat);
    find_memory(fdt, plat);
    find_reserved(fdt, plat);
    find_psci(fdt, plat);
    find_pci(fdt, plat);
    find_cpus(fdt, plat);
    find_iommu(fdt, plat);
    return plat;
}

const char* fdt_error_text(int err) { return fdt_strerror(err); }

}  // namespace guest
