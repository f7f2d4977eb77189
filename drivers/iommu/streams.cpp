// StreamIDs of PCI functions. See passage/iommu/streams.h.
#include "passage/iommu/streams.h"

#include "passage/log.h"
#include "passage/pci/enumerate.h"

namespace passage::iommu {
namespace {

u16 rid_of(pci::Bdf b) { return u16(b.bus << 8 | (b.dev & 0x1f) << 3 | (b.fn & 7)); }

void add(u16 (&out)[kMaxDmaRids], usize& n, u16 rid)
{
    for (usize i = 0; i < n; ++i)
        if (out[i] == rid) return;
    if (n < kMaxDmaRids) out[n++] = rid;
}

const PciHostBridge* bridge_of(const Platform& p, u16 segment)
{
    for (usize i = 0; i < p.bridge_count; ++i)
        if (p.bridges[i].segment == segment) return &p.bridges[i];
    return nullptr;
}

}  // namespace

usize dma_requester_ids(const pci::DeviceTable& table, usize index, u16 (&out)[kMaxDmaRids])
{
    usize n = 0;
    if (index >= table.size()) return 0;
    add(out, n, rid_of(table[index].bdf));
    for (i32 up = table[index].parent, hops = 0; up >= 0 && usize(up) < table.size() && hops < 256;
         up = table[usize(up)].parent, ++hops) {
        const pci::PciFunction& b = table[usize(up)];
        switch (b.port_type) {
        case pci::PortType::RootPort:
        case pci::PortType::SwitchUpstream:
        case pci::PortType::SwitchDownstream: break;
        case pci::PortType::PcieToPciBridge: add(out, n, u16(b.secondary << 8)); break;
        default: add(out, n, rid_of(b.bdf)); break;  // PCI-to-PCIe, or a conventional bridge
        }
    }
    return n;
}

void acs_dma_groups(const pci::DeviceTable& table, std::span<const u16> acs_caps, std::span<u16> out)
{
    constexpr u16 kIsolation = 0x1d;  // SV, RR, CR, UF
    for (usize i = 0; i < out.size(); ++i) out[i] = 0;
    const usize n = table.size() < out.size() ? table.size() : out.size();
    for (usize i = 0; i < n; ++i) {
        // The downstream port nearest above i, then its upstream port.
        for (i32 p = table[i].parent, hops = 0; p >= 0 && usize(p) < n && hops < 256; p = table[usize(p)].parent, ++hops) {
            const pci::PciFunction& port = table[usize(p)];
            if (port.port_type != pci::PortType::SwitchDownstream) continue;
            const bool isolated = usize(p) < acs_caps.size() && (acs_caps[usize(p)] & kIsolation) == kIsolation;
            const i32 up = port.parent;
            if (!isolated && up >= 0 && usize(up) < n) out[i] = u16(up + 1);
            break;
        }
    }
}

void plan_streams(const Platform& p, const pci::DeviceTable& table, const pci::Dispositions& disp, StreamPlan& out)
{
    out = StreamPlan{};
    for (usize i = 0; i < table.size(); ++i) {
        const pci::PciFunction& f = table[i];
        const PciHostBridge* hb = bridge_of(p, f.segment);
        u16 rids[kMaxDmaRids];
        usize n = dma_requester_ids(table, i, rids);
        char bdf[16];
        pci::format_bdf(bdf, sizeof bdf, f.segment, f.bdf);
        bool confined = true;
        for (usize k = 0; k < n; ++k) {
            auto route = hb != nullptr ? stream_route(*hb, rids[k]) : Result<StreamRoute>(Error::NotFound);
            if (!route || route->smmu == IommuMapEntry::kNotSmmuV3 || route->smmu >= p.smmu_count) {
                confined = false;
                continue;
            }
            if (out.count == StreamPlan::kMax) {
                ++out.dropped;
                continue;
            }
            StreamUse& u = out.uses[out.count++];
            u.smmu = route->smmu;
            u.sid = route->stream_id;
            u.rid = rids[k];
            u.function = i;
            u.assigned = disp.visible(i);
            out.any[u.smmu] = true;
            if (u.sid > out.max_sid[u.smmu]) out.max_sid[u.smmu] = u.sid;
        }
        if (!confined && disp.visible(i)) {
            ++out.unconfined;
            log_warn("%s: no SMMUv3 translates its DMA: it can write anywhere, passage included", bdf);
        }
    }
    // A StreamID both a hidden and an assigned function use translates for
    // both: the hidden one reaches guest memory (never passage's).
    for (usize a = 0; a < out.count; ++a) {
        if (out.uses[a].assigned) continue;
        for (usize b = 0; b < out.count; ++b) {
            const StreamUse& x = out.uses[a];
            const StreamUse& y = out.uses[b];
            if (!y.assigned || x.smmu != y.smmu || x.sid != y.sid) continue;
            char hid[16], asg[16];
            pci::format_bdf(hid, sizeof hid, table[x.function].segment, table[x.function].bdf);
            pci::format_bdf(asg, sizeof asg, table[y.function].segment, table[y.function].bdf);
            log_warn("%s (hidden) shares StreamID 0x%x with %s (assigned): its DMA reaches the guest's memory", hid, x.sid, asg);
            break;
        }
    }
}

}  // namespace passage::iommu
