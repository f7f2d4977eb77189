// The root interrupt controller (GICv2 or GICv3), its frames and the
// interfaces a hypervisor uses.
#include "discover_steps.h"
#include "passage/fdt/cells.h"
#include "passage/fdt/node.h"
#include "passage/log.h"
#include "passage/text.h"

namespace passage::discovery {

using fdt::compatible;
using fdt::node_path;
using fdt::read_cells;

// Every compatible Linux drives as a GICv2 (irq-gic.c's IRQCHIP_DECLAREs)
// or a GICv3 (irq-gic-v3.c's).
constexpr const char* kGicV2Compatibles[] = {
    "arm,gic-400",        "arm,cortex-a15-gic", "arm,cortex-a9-gic", "arm,cortex-a7-gic",
    "arm,arm11mp-gic",    "arm,arm1176jzf-devchip-gic", "arm,pl390", "qcom,msm-8660-qgic",
    "qcom,msm-qgic2",
};
constexpr const char* kGicV3Compatibles[] = {"arm,gic-v3"};

// The GIC version `node` is, and the compatible that says so.
GicVersion gic_version(const fdt::TreeIndex& t, int node, const char** which)
{
    return gic_version(fdt::CompatibleList(t, node), which);
}

GicVersion gic_version(const fdt::CompatibleList& compat, const char** which)
{
    for (const char* c : kGicV3Compatibles)
        if (compat.has(c)) {
            if (which != nullptr) *which = c;
            return GicVersion::V3;
        }
    for (const char* c : kGicV2Compatibles)
        if (compat.has(c)) {
            if (which != nullptr) *which = c;
            return GicVersion::V2;
        }
    return GicVersion::None;
}

namespace {

int interrupt_parent(const fdt::TreeIndex& t, int node)
{
    int len = 0;
    const void* ph = t.prop(node, fdt::Name::InterruptParent, &len);
    if (ph == nullptr || len != 4) return -1;
    return t.by_phandle(u32(read_cells(ph, 1)));
}

// A node's interrupt parent as Linux finds it: its own interrupt-parent or
// the nearest ancestor's (bounded: a malformed tree is not walked forever).
int effective_interrupt_parent(const fdt::TreeIndex& t, int node)
{
    for (int depth = 0; node >= 0 && depth < 32; ++depth) {
        if (t.has(node, fdt::Name::InterruptParent)) return interrupt_parent(t, node);
        if (node == 0) break;
        node = t.parent(node);
    }
    return -1;
}

// The root interrupt controller: the root's interrupt-parent, followed
// through chained controllers (a wake-up controller in front of the GIC)
// until a GIC; else the first enabled GIC that is its own interrupt parent
// or has none (a cascaded GIC's parent is another controller); else none.
// `root_other` is the controller the chain ends at when it is not a GIC,
// for the message.
int find_root_gic(const fdt::TreeIndex& t, int& root_other)
{
    root_other = -1;
    int n = interrupt_parent(t, 0);
    for (int depth = 0; n >= 0 && depth < 8; ++depth) {
        if (gic_version(t, n) != GicVersion::None && t.enabled(n)) return n;
        int up = interrupt_parent(t, n);
        if (up < 0 || up == n) {
            root_other = n;
            break;
        }
        n = up;
    }
    int cascaded = -1;
    for (int node = 0; node < t.count(); ++node) {
        if (gic_version(t, node) == GicVersion::None || !t.enabled(node)) continue;
        int parent = effective_interrupt_parent(t, node);
        if (parent < 0 || parent == node) return node;
        if (cascaded < 0) cascaded = node;
    }
    return cascaded;
}

// The frames of one kind (ITS or GICv2m) under the GIC node: the first
// Gic::kMaxIts kept, the rest counted so the summary can say so.
Status gic_frames(const fdt::TreeIndex& t, int gic, const char* compat, const char* what, MemRange* out, usize& count, usize& unused,
                  Diagnostic& diag)
{
    for (int c = t.first_child(gic); c >= 0; c = t.next_sibling(c)) {
        if (!compatible(t, c, compat) || !t.enabled(c)) continue;
        if (count == Gic::kMaxIts) {
            ++unused;
            continue;
        }
        if (auto s = reg_or_fail(t, c, 0, out[count], diag, what); !s) return s;
        ++count;
    }
    if (unused > 0) log_warn("%s: %zu beyond the first %zu are not mapped for the guest", what, unused, Gic::kMaxIts);
    return {};
}

}  // namespace

Status discover_gic(const fdt::TreeIndex& t, Platform& p, Diagnostic& diag)
{
    Gic& g = p.gic;
    int root_other = -1;
    int node = find_root_gic(t, root_other);
    if (node < 0) {
        if (root_other >= 0) {
            char path[kPathMax];
            node_path(t, root_other, path, sizeof path);
            return fail(diag, Error::NotFound, 0, "no supported interrupt controller: the root one is %s (%s), not a GICv2 or GICv3",
                        path, fdt::first_compatible(t, root_other, "no compatible"));
        }
        return fail(diag, Error::NotFound, 0, "no supported interrupt controller (arm,gic-v3 or a GICv2)");
    }
    const char* which = "?";
    g.version = gic_version(t, node, &which);
    copy_string(g.compatible, sizeof g.compatible, which);
    if (g.version == GicVersion::V3) {
        if (auto s = reg_or_fail(t, node, 0, g.dist, diag, "GICv3"); !s) return s;
        u64 nredist = 1;
        int len = 0;
        if (const void* rr = t.prop(node, fdt::Name::RedistributorRegions, &len); rr != nullptr && len == 4)
            nredist = read_cells(rr, 1);
        if (nredist == 0 || nredist > Gic::kMaxRedist)
            return fail(diag, Error::Unsupported, nredist, "GICv3: %llu redistributor regions (at most %zu supported)",
                        (unsigned long long)nredist, Gic::kMaxRedist);
        for (u64 i = 0; i < nredist; ++i) {
            if (auto s = reg_or_fail(t, node, int(1 + i), g.redist[g.redist_count], diag, "GICv3 redistributor"); !s)
                return s;
            ++g.redist_count;
        }
        auto count = fdt::reg_count(t, node);
        int next = int(1 + nredist);
        if (count && *count > next) (void)reg_or_fail(t, node, next, g.cpu_if, diag, "GICv3 GICC");
        if (count && *count > next + 1) (void)reg_or_fail(t, node, next + 1, g.hyp_if, diag, "GICv3 GICH");
        if (count && *count > next + 2) (void)reg_or_fail(t, node, next + 2, g.vcpu_if, diag, "GICv3 GICV");
        return gic_frames(t, node, "arm,gic-v3-its", "GICv3 ITS", g.its, g.its_count, g.its_unused, diag);
    }
    if (auto s = reg_or_fail(t, node, 0, g.dist, diag, "GICv2 distributor"); !s) return s;
    if (auto s = reg_or_fail(t, node, 1, g.cpu_if, diag, "GICv2 CPU interface"); !s) return s;
    auto count = fdt::reg_count(t, node);
    if (count && *count > 2) (void)reg_or_fail(t, node, 2, g.hyp_if, diag, "GICv2 GICH");
    if (count && *count > 3) (void)reg_or_fail(t, node, 3, g.vcpu_if, diag, "GICv2 GICV");
    return gic_frames(t, node, "arm,gic-v2m-frame", "GICv2m frame", g.v2m, g.v2m_count, g.v2m_unused, diag);
}

}  // namespace passage::discovery
