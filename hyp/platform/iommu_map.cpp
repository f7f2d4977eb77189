// SMMUv3 nodes and the host bridges' iommu-map (Documentation/devicetree/
// bindings/pci/pci-iommu.txt): each entry is (rid-base, iommu phandle,
// iommu-specifier of #iommu-cells cells, length); a RID masked by
// iommu-map-mask that falls in [rid-base, rid-base + length) becomes the
// StreamID specifier + (rid - rid-base).
#include "iommu_map.h"

#include "passage/fdt/cells.h"
#include "passage/fdt/node.h"
#include "passage/format.h"
#include "passage/log.h"
#include "passage/text.h"

namespace passage {
namespace {

using ull = unsigned long long;

// Registers pages 0 and 1 (the event queue's PROD/CONS live in page 1).
constexpr u64 kSmmuMinRegSize = 0x20000;

u8 smmu_by_phandle(const Platform& p, u32 phandle)
{
    for (usize i = 0; i < p.smmu_count; ++i)
        if (p.smmus[i].phandle == phandle) return u8(i);
    return IommuMapEntry::kNotSmmuV3;
}

}  // namespace

Status discover_smmus(const fdt::TreeIndex& t, Platform& p, Diagnostic& diag)
{
    for (int node = t.next_compatible(fdt::TreeIndex::kNone, "arm,smmu-v3"); node >= 0;
         node = t.next_compatible(node, "arm,smmu-v3")) {
        if (!t.enabled(node)) continue;
        char path[64];
        fdt::node_path(t, node, path, sizeof path);
        if (p.smmu_count == Platform::kMaxSmmus)
            return fail(diag, Error::BadDeviceTree, 0, "SMMUv3 %s: more than %zu SMMUs; passage cannot confine the DMA behind it", path,
                        Platform::kMaxSmmus);
        SmmuV3& s = p.smmus[p.smmu_count];
        s = SmmuV3{};
        copy_string(s.path, sizeof s.path, path);
        auto r = fdt::reg_entry(t, node, 0);
        if (!r) return fail(diag, Error::BadDeviceTree, r.error_addr(), "SMMUv3 %s: reg is missing or malformed (%s)", path, error_name(r.error()));
        if (r->size < kSmmuMinRegSize || !is_aligned(r->base, 0x10000))
            return fail(diag, Error::BadDeviceTree, r->base, "SMMUv3 %s: reg 0x%llx size 0x%llx is not 64 KiB aligned or smaller than its two register pages",
                        path, ull(r->base), ull(r->size));
        s.reg = *r;
        s.dma_coherent = t.has(node, fdt::Name::DmaCoherent);
        s.phandle = t.phandle(node);
        ++p.smmu_count;
    }
    return {};
}

Status discover_iommu_map(const fdt::TreeIndex& t, int node, const Platform& p, PciHostBridge& b, Diagnostic& diag)
{
    b.iommu_map_count = 0;
    b.iommu_map_mask = 0xffff;
    int len = 0;
    if (const void* m = t.prop(node, fdt::Name::IommuMapMask, &len); m != nullptr) {
        if (len != 4) return fail(diag, Error::BadDeviceTree, 0, "PCI host bridge %s: iommu-map-mask must be one cell", b.path);
        b.iommu_map_mask = u32(fdt::read_cells(m, 1));
    }
    const auto* map = static_cast<const u8*>(t.prop(node, fdt::Name::IommuMap, &len));
    if (map == nullptr) return {};
    if (len <= 0 || len % 4 != 0) return fail(diag, Error::BadDeviceTree, 0, "PCI host bridge %s: iommu-map is %d bytes, not whole cells", b.path, len);
    for (int off = 0; off < len;) {
        if (len - off < 16)
            return fail(diag, Error::BadDeviceTree, u64(off), "PCI host bridge %s: iommu-map entry at byte %d is truncated", b.path, off);
        u32 rid = u32(fdt::read_cells(map + off, 1));
        u32 phandle = u32(fdt::read_cells(map + off + 4, 1));
        int target = t.by_phandle(phandle);
        if (target < 0) return fail(diag, Error::BadDeviceTree, phandle, "PCI host bridge %s: iommu-map names phandle 0x%x, which is no node", b.path, phandle);
        int cells_len = 0;
        const void* c = t.prop(target, fdt::Name::IommuCells, &cells_len);
        u64 cells = c != nullptr && cells_len == 4 ? fdt::read_cells(c, 1) : 99;
        if (cells > 2)
            return fail(diag, Error::BadDeviceTree, phandle, "PCI host bridge %s: iommu-map names an IOMMU without a usable #iommu-cells", b.path);
        int entry = int(4 * (3 + cells));
        if (len - off < entry)
            return fail(diag, Error::BadDeviceTree, u64(off), "PCI host bridge %s: iommu-map entry at byte %d is truncated", b.path, off);
        u32 sid = cells >= 1 ? u32(fdt::read_cells(map + off + 8, 1)) : 0;
        u32 length = u32(fdt::read_cells(map + off + 8 + 4 * cells, 1));
        off += entry;
        if (length == 0 || rid > 0xffff || length > 0x10000 - rid)
            return fail(diag, Error::BadDeviceTree, rid, "PCI host bridge %s: iommu-map entry for RID 0x%x length 0x%x leaves the 16-bit RID space",
                        b.path, rid, length);
        if (u64(sid) + length > (u64{1} << 32))
            return fail(diag, Error::BadDeviceTree, sid, "PCI host bridge %s: iommu-map StreamIDs 0x%x + 0x%x wrap", b.path, sid, length);
        for (usize i = 0; i < b.iommu_map_count; ++i) {
            const IommuMapEntry& o = b.iommu_map[i];
            if (ranges_overlap(rid, length, o.rid_base, o.length))
                return fail(diag, Error::BadDeviceTree, rid, "PCI host bridge %s: iommu-map entries for RIDs 0x%x-0x%x and 0x%x-0x%x overlap", b.path,
                            rid, rid + length - 1, o.rid_base, o.rid_base + o.length - 1);
        }
        if (b.iommu_map_count == PciHostBridge::kMaxIommuMap)
            return fail(diag, Error::BadDeviceTree, rid, "PCI host bridge %s: more than %zu iommu-map entries", b.path, PciHostBridge::kMaxIommuMap);
        IommuMapEntry& e = b.iommu_map[b.iommu_map_count++];
        e.rid_base = rid;
        e.sid_base = sid;
        e.length = length;
        e.smmu = smmu_by_phandle(p, phandle);
        if (e.smmu == IommuMapEntry::kNotSmmuV3) {
            char path[64];
            fdt::node_path(t, target, path, sizeof path);
            log_warn("PCI host bridge %s: RIDs 0x%x-0x%x go to IOMMU %s, which is not an enabled arm,smmu-v3: passage does not "
                     "confine their DMA", b.path, rid, rid + length - 1, path);
        }
    }
    return {};
}

Result<StreamRoute> stream_route(const PciHostBridge& bridge, u16 rid)
{
    u32 masked = rid & bridge.iommu_map_mask;
    for (usize i = 0; i < bridge.iommu_map_count; ++i) {
        const IommuMapEntry& e = bridge.iommu_map[i];
        if (masked >= e.rid_base && masked - e.rid_base < e.length) return StreamRoute{e.smmu, e.sid_base + (masked - e.rid_base)};
    }
    return Failure{Error::NotFound, rid};
}

}  // namespace passage
