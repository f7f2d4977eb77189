// The guest DTB as passage built it before issue 17: libfdt edits on a copy
// of the host tree, step by step (hyp/guest/guest_dtb.cpp at 1d07f52). Kept
// only as the reference the one-pass build is compared with, node by node
// and message by message; it depends on libfdt alone. The byte filters
// (values_may_contain, names_may_contain) it used only to skip searches are
// left out: they never changed a result.
#include "reference_guest_dtb.h"

#include <libfdt.h>

#include <cstdarg>
#include <cstring>

#include "passage/format.h"
#include "passage/guest/layout.h"

namespace passage {

namespace ref {

constexpr int kMaxValueCells = 2;

u64 read_cells(const void* cells, int count)
{
    const auto* b = static_cast<const u8*>(cells);
    u64 v = 0;
    for (int i = 0; i < count * 4; ++i) v = (v << 8) | b[i];
    return v;
}

bool write_cells(void* cells, int count, u64 v)
{
    if (count < 1 || count > kMaxValueCells || (count == 1 && v > 0xffffffffu)) return false;
    auto* b = static_cast<u8*>(cells);
    for (int i = count * 4 - 1; i >= 0; --i) {
        b[i] = static_cast<u8>(v);
        v >>= 8;
    }
    return true;
}

Result<int> cells_property(const void* fdt, int node, const char* name, int fallback)
{
    int len = 0;
    const void* p = fdt_getprop(fdt, node, name, &len);
    if (p == nullptr) return fallback;
    if (len != 4) return Failure{Error::BadDeviceTree, static_cast<u64>(node)};
    u64 v = read_cells(p, 1);
    if (v > 4) return Failure{Error::BadDeviceTree, static_cast<u64>(node)};
    return static_cast<int>(v);
}

Result<int> address_cells(const void* fdt, int node) { return cells_property(fdt, node, "#address-cells", 2); }
Result<int> size_cells(const void* fdt, int node) { return cells_property(fdt, node, "#size-cells", 1); }

bool compatible_with_prefix(const void* fdt, int node, const char* prefix)
{
    int len = 0;
    const char* s = static_cast<const char*>(fdt_getprop(fdt, node, "compatible", &len));
    if (s == nullptr || len <= 0) return false;
    const char* end = s + len;
    usize n = std::strlen(prefix);
    while (s < end) {
        usize k = 0;
        while (k < n && s + k < end && s[k] == prefix[k]) ++k;
        if (k == n) return true;
        while (s < end && *s != '\0') ++s;
        ++s;
    }
    return false;
}

void node_path(const void* fdt, int node, char* buf, usize size)
{
    int err = fdt_get_path(fdt, node, buf, static_cast<int>(size));
    if (err == 0) return;
    int len = 0;
    const char* name = fdt_get_name(fdt, node, &len);
    if (err != -FDT_ERR_NOSPACE || name == nullptr || len < 0) {
        format(buf, size, "?");
        return;
    }
    format(buf, size, ".../%s", name);
}

bool values_may_contain(const void*, const char*, usize) { return true; }
bool names_may_contain(const void*, const char*, usize) { return true; }

}  // namespace ref

namespace guest_ref {
constexpr bool well_formed(const MemRange& r) { return r.size != 0 && r.base <= ~u64{0} - (r.size - 1); }
}  // namespace guest_ref




namespace {

unsigned long long ull(u64 v) { return v; }

// Every loop that deletes and searches again is bounded by this.
constexpr int kMaxEdits = 4096;

Failure fdt_fail(Diagnostic& diag, int err, const char* what)
{
    return fail(diag, err == -FDT_ERR_NOSPACE ? Error::NoMemory : Error::BadDeviceTree, static_cast<u64>(-err),
                "guest DTB: %s: %s", what,
                err == -FDT_ERR_NOSPACE ? "out of room in the output buffer" : fdt_strerror(err));
}

// Deletes every node below the root for which match(fdt, node) holds, in
// one walk: deleting a node moves what followed it to where it began, so the
// walk resumes from the node visited before it, whose offset did not move.
// (Searching from the start again after each deletion made every deletion
// cost a walk of the whole tree.)
template <typename Match>
Status delete_nodes(void* fdt, Match match, const char* what, Diagnostic& diag)
{
    int edits = 0;
    int prev = 0, prev_depth = 0;
    int depth = 0;
    for (int node = fdt_next_node(fdt, 0, &depth); node >= 0;) {
        if (!match(fdt, node)) {
            prev = node;
            prev_depth = depth;
            node = fdt_next_node(fdt, node, &depth);
            continue;
        }
        if (int err = fdt_del_node(fdt, node); err < 0) return fdt_fail(diag, err, what);
        if (++edits == kMaxEdits) return fail(diag, Error::BadDeviceTree, 0, "guest DTB: too many nodes to delete (%s)", what);
        depth = prev_depth;
        node = fdt_next_node(fdt, prev, &depth);
    }
    return {};
}

// False only if no node of the tree can be compatible with `compat`: the
// whole-tree searches below are skipped on trees that cannot match.
bool may_be_compatible(const void* fdt, const char* compat)
{
    return ref::values_may_contain(fdt, compat, __builtin_strlen(compat) + 1);
}

bool is_memory_node(const void* fdt, int node)
{
    int len = 0;
    const char* s = static_cast<const char*>(fdt_getprop(fdt, node, "device_type", &len));
    return s != nullptr && len == 7 && __builtin_memcmp(s, "memory", 7) == 0;
}

Status add_memory_node(void* fdt, const GuestDtbConfig& cfg, Diagnostic& diag)
{
    if (cfg.ram.empty()) return fail(diag, Error::InvalidArgument, 0, "guest DTB: no guest RAM to describe");
    if (cfg.ram.size() > kMaxLayoutRanges)
        return fail(diag, Error::Unsupported, cfg.ram.size(), "guest DTB: %zu guest RAM ranges (at most %zu)", cfg.ram.size(),
                    kMaxLayoutRanges);
    auto root_ac = ref::address_cells(fdt, 0);
    auto root_sc = ref::size_cells(fdt, 0);
    if (!root_ac || !root_sc || *root_ac < 1 || *root_ac > ref::kMaxValueCells || *root_sc < 1 ||
        *root_sc > ref::kMaxValueCells)
        return fail(diag, Error::BadDeviceTree, 0, "guest DTB: the root's #address-cells or #size-cells is not 1 or 2");
    const int ac = *root_ac, sc = *root_sc;

    // Sorted by base, so the node is named after the lowest.
    MemRange sorted[kMaxLayoutRanges];
    usize n = 0;
    for (const MemRange& r : cfg.ram) {
        if (!guest_ref::well_formed(r))
            return fail(diag, Error::InvalidArgument, r.base, "guest DTB: guest RAM range 0x%llx size 0x%llx is empty or wraps",
                        ull(r.base), ull(r.size));
        usize i = n++;
        while (i > 0 && sorted[i - 1].base > r.base) {
            sorted[i] = sorted[i - 1];
            --i;
        }
        sorted[i] = r;
    }
    u8 reg[kMaxLayoutRanges * 16];
    int entry = (ac + sc) * 4;
    for (usize i = 0; i < n; ++i) {
        u8* p = reg + i * entry;
        if (!ref::write_cells(p, ac, sorted[i].base) || !ref::write_cells(p + ac * 4, sc, sorted[i].size))
            return fail(diag, Error::Unsupported, sorted[i].base,
                        "guest DTB: guest RAM 0x%llx size 0x%llx does not fit the root's #address-cells %d / #size-cells %d",
                        ull(sorted[i].base), ull(sorted[i].size), ac, sc);
    }
    char name[32];
    format(name, sizeof name, "memory@%llx", ull(sorted[0].base));
    int node = fdt_add_subnode(fdt, 0, name);
    if (node == -FDT_ERR_EXISTS)
        return fail(diag, Error::Exists, sorted[0].base, "guest DTB: a node /%s already exists and is not a memory node", name);
    if (node < 0) return fdt_fail(diag, node, "adding the memory node");
    if (int err = fdt_setprop_string(fdt, node, "device_type", "memory"); err < 0) return fdt_fail(diag, err, "memory node");
    if (int err = fdt_setprop(fdt, node, "reg", reg, static_cast<int>(n) * entry); err < 0)
        return fdt_fail(diag, err, "memory node reg");
    return {};
}

int chosen_node(void* fdt)
{
    int node = fdt_path_offset(fdt, "/chosen");
    if (node == -FDT_ERR_NOTFOUND) node = fdt_add_subnode(fdt, 0, "chosen");
    return node;
}

Status delete_prop(void* fdt, int node, const char* name, Diagnostic& diag)
{
    int err = fdt_delprop(fdt, node, name);
    if (err < 0 && err != -FDT_ERR_NOTFOUND) return fdt_fail(diag, err, name);
    return {};
}

Status edit_chosen(void* fdt, const GuestDtbConfig& cfg, Diagnostic& diag)
{
    // The module nodes first: deleting moves /chosen's properties' offsets
    // but not /chosen itself, which is looked up again anyway.
    int chosen = chosen_node(fdt);
    if (chosen < 0) return fdt_fail(diag, chosen, "/chosen");
    for (int edits = 0;; ++edits) {
        if (edits == kMaxEdits) return fail(diag, Error::BadDeviceTree, 0, "guest DTB: too many module nodes in /chosen");
        int found = -1;
        for (int node = fdt_first_subnode(fdt, chosen); node >= 0; node = fdt_next_subnode(fdt, node))
            if (ref::compatible_with_prefix(fdt, node, "multiboot,")) {
                found = node;
                break;
            }
        if (found < 0) break;
        if (int err = fdt_del_node(fdt, found); err < 0) return fdt_fail(diag, err, "deleting a module node");
    }

    if (cfg.bootargs != nullptr) {
        if (int err = fdt_setprop_string(fdt, chosen, "bootargs", cfg.bootargs); err < 0) return fdt_fail(diag, err, "bootargs");
    } else if (Status s = delete_prop(fdt, chosen, "bootargs", diag); !s) {
        return s;
    }

    if (cfg.has_initrd) {
        if (cfg.initrd_end < cfg.initrd_start)
            return fail(diag, Error::InvalidArgument, cfg.initrd_start, "guest DTB: initrd end 0x%llx is below its start 0x%llx",
                        ull(cfg.initrd_end), ull(cfg.initrd_start));
        if (int err = fdt_setprop_u64(fdt, chosen, "linux,initrd-start", cfg.initrd_start); err < 0)
            return fdt_fail(diag, err, "linux,initrd-start");
        if (int err = fdt_setprop_u64(fdt, chosen, "linux,initrd-end", cfg.initrd_end); err < 0)
            return fdt_fail(diag, err, "linux,initrd-end");
    } else {
        if (Status s = delete_prop(fdt, chosen, "linux,initrd-start", diag); !s) return s;
        if (Status s = delete_prop(fdt, chosen, "linux,initrd-end", diag); !s) return s;
    }

    if (cfg.pci_probe_only) {
        if (int err = fdt_setprop_u32(fdt, chosen, "linux,pci-probe-only", 1); err < 0)
            return fdt_fail(diag, err, "linux,pci-probe-only in /chosen");
        // Setting a property moves later nodes but not this one, so the
        // search goes on from here.
        for (int node = fdt_node_offset_by_compatible(fdt, -1, "pci-host-ecam-generic"); node >= 0;
             node = fdt_node_offset_by_compatible(fdt, node, "pci-host-ecam-generic"))
            if (int err = fdt_setprop_u32(fdt, node, "linux,pci-probe-only", 1); err < 0)
                return fdt_fail(diag, err, "linux,pci-probe-only on a host bridge");
    }
    return {};
}

// Keeps the first `keep` entries of a GIC's reg.
Status trim_gic_reg(void* fdt, int node, int keep, const char* what, Diagnostic& diag)
{
    // The path only for messages: building it is a walk from the root.
    char path[96] = {};
    auto named = [&] {
        ref::node_path(fdt, node, path, sizeof path);
        return path;
    };
    int parent = fdt_parent_offset(fdt, node);
    Result<int> parent_ac = parent < 0 ? Result<int>(Error::BadDeviceTree) : ref::address_cells(fdt, parent);
    Result<int> parent_sc = parent < 0 ? Result<int>(Error::BadDeviceTree) : ref::size_cells(fdt, parent);
    // Entries are copied, not read, but `kept` below has room for two cells of each.
    if (!parent_ac || !parent_sc || *parent_ac < 1 || *parent_ac > ref::kMaxValueCells || *parent_sc > ref::kMaxValueCells)
        return fail(diag, Error::BadDeviceTree, 0, "guest DTB: %s %s: the parent's #address-cells/#size-cells are malformed",
                    what, named());
    const int ac = *parent_ac, sc = *parent_sc;
    int len = 0;
    const u8* reg = static_cast<const u8*>(fdt_getprop(fdt, node, "reg", &len));
    int entry = (ac + sc) * 4;
    if (reg == nullptr || len % entry != 0)
        return fail(diag, Error::BadDeviceTree, static_cast<u64>(len),
                    "guest DTB: %s %s: reg is %d bytes, not whole entries of %d bytes", what, named(), reg ? len : 0, entry);
    int count = len / entry;
    if (count < keep)
        return fail(diag, Error::BadDeviceTree, static_cast<u64>(count),
                    "guest DTB: %s %s has %d reg entries, expected at least %d", what, named(), count, keep);
    if (count == keep) return {};
    u8 kept[32 * 16];  // keep <= 32 entries of at most 4 cells
    usize bytes = static_cast<usize>(keep) * entry;
    __builtin_memcpy(kept, reg, bytes);
    if (int err = fdt_setprop(fdt, node, "reg", kept, static_cast<int>(bytes)); err < 0)
        return fdt_fail(diag, err, "trimming a GIC's reg");
    return {};
}

Status trim_gics(void* fdt, Diagnostic& diag)
{
    // GICv2 with the virtualization extensions: distributor, CPU interface,
    // then GICH and GICV, which are passage's.
    static constexpr const char* kGicV2[] = {"arm,gic-400", "arm,cortex-a15-gic", "arm,cortex-a7-gic"};
    for (const char* compat : kGicV2) {
        if (!may_be_compatible(fdt, compat)) continue;
        for (int node = fdt_node_offset_by_compatible(fdt, -1, compat); node >= 0;
             node = fdt_node_offset_by_compatible(fdt, node, compat))
            if (Status s = trim_gic_reg(fdt, node, 2, "GICv2", diag); !s) return s;
    }

    // GICv3: distributor, #redistributor-regions redistributor regions, then
    // GICC, GICH, GICV.
    if (!may_be_compatible(fdt, "arm,gic-v3")) return {};
    for (int node = fdt_node_offset_by_compatible(fdt, -1, "arm,gic-v3"); node >= 0;
         node = fdt_node_offset_by_compatible(fdt, node, "arm,gic-v3")) {
        int len = 0;
        const u8* p = static_cast<const u8*>(fdt_getprop(fdt, node, "#redistributor-regions", &len));
        u64 regions = 1;
        if (p != nullptr) {
            regions = len == 4 ? ref::read_cells(p, 1) : 0;
            if (regions < 1 || regions > 31) {
                char path[96];
                ref::node_path(fdt, node, path, sizeof path);
                return fail(diag, Error::BadDeviceTree, regions,
                            "guest DTB: GICv3 %s: #redistributor-regions must be one cell of 1 to 31", path);
            }
        }
        if (Status s = trim_gic_reg(fdt, node, static_cast<int>(1 + regions), "GICv3", diag); !s) return s;
    }
    return {};
}

bool is_cpu_node(const void* fdt, int node)
{
    int len = 0;
    const char* s = static_cast<const char*>(fdt_getprop(fdt, node, "device_type", &len));
    return s != nullptr && len == 4 && __builtin_memcmp(s, "cpu", 4) == 0;
}

// Removes the cpu nodes under /cpus whose reg is not one of cfg.cpus.
Status keep_only_guest_cpus(void* fdt, const GuestDtbConfig& cfg, Diagnostic& diag)
{
    if (cfg.cpus.empty()) return {};
    int cpus = fdt_path_offset(fdt, "/cpus");
    if (cpus < 0) return {};
    auto cpus_ac = ref::address_cells(fdt, cpus);
    if (!cpus_ac || *cpus_ac < 1 || *cpus_ac > ref::kMaxValueCells)
        return fail(diag, Error::BadDeviceTree, 0, "guest DTB: /cpus: #address-cells must be 1 or 2");
    const int ac = *cpus_ac;
    bool removed = false;
    auto refused = [&](const void* t, int node) {
        if (!is_cpu_node(t, node)) return false;
        int len = 0;
        const void* reg = fdt_getprop(t, node, "reg", &len);
        if (reg == nullptr || len != ac * 4) return true;
        u64 mpidr = ref::read_cells(reg, ac);
        for (u64 c : cfg.cpus)
            if ((c & 0xff00ffffffull) == (mpidr & 0xff00ffffffull)) return false;
        removed = true;
        return true;
    };
    // Only /cpus's children are looked at; deleting one moves its next
    // sibling to where it began, so the walk resumes from the last one kept.
    int kept = -1;
    for (int node = fdt_first_subnode(fdt, cpus); node >= 0;) {
        if (!refused(fdt, node)) {
            kept = node;
            node = fdt_next_subnode(fdt, node);
            continue;
        }
        if (int err = fdt_del_node(fdt, node); err < 0) return fdt_fail(diag, err, "CPUs the guest does not get");
        node = kept < 0 ? fdt_first_subnode(fdt, cpus) : fdt_next_subnode(fdt, kept);
    }
    if (!removed) return {};
    int map = fdt_path_offset(fdt, "/cpus/cpu-map");
    if (map >= 0)
        if (int err = fdt_del_node(fdt, map); err < 0) return fdt_fail(diag, err, "deleting /cpus/cpu-map");
    return {};
}

// The SMMU is passage's: its nodes go, and so does every reference that
// would send the guest looking for it (iommu-map, iommu-map-mask on host
// bridges, iommus on platform devices). msi-map stays: MSIs still go to the
// guest's ITS.
Status hide_smmus(void* fdt, Diagnostic& diag)
{
    auto is_smmu = [](const void* f, int node) { return fdt_node_check_compatible(f, node, "arm,smmu-v3") == 0; };
    if (may_be_compatible(fdt, "arm,smmu-v3"))
        if (Status s = delete_nodes(fdt, is_smmu, "SMMUv3 nodes", diag); !s) return s;
    // Only the names some property can have (deleting leaves the strings
    // block as it is, so this holds through the walk).
    static constexpr const char* kRefs[] = {"iommu-map", "iommu-map-mask", "iommus"};
    const char* present[3];
    int count = 0;
    for (const char* name : kRefs)
        if (ref::names_may_contain(fdt, name, __builtin_strlen(name) + 1)) present[count++] = name;
    if (count == 0) return {};
    int depth = 0;
    // Deleting a property moves later nodes but not this one, so the walk
    // goes on from here.
    for (int node = fdt_next_node(fdt, -1, &depth); node >= 0; node = fdt_next_node(fdt, node, &depth))
        for (int i = 0; i < count; ++i)
            if (Status s = delete_prop(fdt, node, present[i], diag); !s) return s;
    return {};
}

}  // namespace

Result<usize> build_guest_dtb_reference(const void* host_fdt, void* out, usize out_size, const GuestDtbConfig& cfg, Diagnostic& diag)
{
    if (host_fdt == nullptr || out == nullptr)
        return fail(diag, Error::InvalidArgument, 0, "guest DTB: no host device tree or no output buffer");
    if (!is_aligned(reinterpret_cast<u64>(out), 8))
        return fail(diag, Error::Misaligned, reinterpret_cast<u64>(out), "guest DTB: output buffer %p is not 8-byte aligned", out);
    if (int err = fdt_check_header(host_fdt); err != 0) return fdt_fail(diag, err, "the host device tree");
    usize host_size = fdt_totalsize(host_fdt);
    if (ranges_overlap(reinterpret_cast<u64>(host_fdt), host_size, reinterpret_cast<u64>(out), out_size))
        return fail(diag, Error::Overlap, reinterpret_cast<u64>(out), "guest DTB: the output buffer overlaps the host device tree");
    if (out_size > kDtbBlockSize) out_size = kDtbBlockSize;  // booting.rst: at most 2 MiB
    if (out_size > 0x7fffffff) out_size = 0x7fffffff;
    if (int err = fdt_open_into(host_fdt, out, static_cast<int>(out_size)); err != 0) {
        if (err == -FDT_ERR_NOSPACE)
            return fail(diag, Error::NoMemory, host_size, "guest DTB: the host device tree (%zu bytes) does not fit in %zu bytes",
                        host_size, out_size);
        return fdt_fail(diag, err, "copying the host device tree");
    }

    if (Status s = delete_nodes(out, is_memory_node, "memory nodes", diag); !s) return s.failure();
    if (Status s = add_memory_node(out, cfg, diag); !s) return s.failure();
    if (Status s = edit_chosen(out, cfg, diag); !s) return s.failure();
    if (Status s = trim_gics(out, diag); !s) return s.failure();
    if (Status s = keep_only_guest_cpus(out, cfg, diag); !s) return s.failure();
    for (const MemRange& r : cfg.unmapped)
        if (int err = fdt_add_mem_rsv(out, r.base, r.size); err < 0) return fdt_fail(diag, err, "reserving an unmapped range");
    if (Status s = hide_smmus(out, diag); !s) return s.failure();
    auto is_passage = [](const void* fdt, int node) { return ref::compatible_with_prefix(fdt, node, "passage,"); };
    if (ref::values_may_contain(out, "passage,", 8))
        if (Status s = delete_nodes(out, is_passage, "passage's own nodes", diag); !s) return s.failure();

    if (int err = fdt_pack(out); err != 0) return fdt_fail(diag, err, "packing");
    usize size = fdt_totalsize(out);
    if (int err = fdt_check_full(out, size); err != 0) return fdt_fail(diag, err, "checking the result");
    return size;
}

}  // namespace passage
