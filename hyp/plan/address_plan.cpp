#include "passage/plan/address_plan.h"

#include "passage/format.h"
#include "passage/log.h"
#include "passage/pci/enumerate.h"
#include "passage/range_cut.h"
#include "passage/size_str.h"
#include "passage/text.h"

namespace passage::plan {

namespace {

using ull = unsigned long long;
using stage2::Access;
using stage2::Attrs;
using stage2::MemType;

constexpr Attrs kRam{MemType::NormalWB, Access::RW, true};
constexpr Attrs kBar{MemType::NormalNC, Access::RW, false};
constexpr Attrs kRom{MemType::NormalNC, Access::RO, false};
constexpr Attrs kDevice{MemType::DeviceNGnRE, Access::RW, false};
constexpr Attrs kEcam{MemType::DeviceNGnRnE, Access::RW, false};

class Builder {
public:
    Builder(GuestPlan& plan, MemRange hyp, Diagnostic& diag) : plan_(plan), hyp_(hyp), diag_(diag) {}

    // Adds [base, base + size) rounded out to pages.
    Status add(u64 base, u64 size, Attrs attrs, RegionClass cls, const char* what)
    {
        if (size == 0) return {};
        u64 lo = align_down(base, kPageSize);
        u64 hi = align_up(base + size, kPageSize);
        if (ranges_overlap(lo, hi - lo, hyp_.base, hyp_.size))
            return fail(diag_, Error::Overlap, lo, "%s at 0x%llx-0x%llx touches the hypervisor at 0x%llx-0x%llx", what,
                        (ull)lo, (ull)(hi - 1), (ull)hyp_.base, (ull)(hyp_.end() - 1));
        if (plan_.count == GuestPlan::kMaxRegions)
            return fail(diag_, Error::NoMemory, lo, "more than %zu guest regions; %s at 0x%llx does not fit",
                        GuestPlan::kMaxRegions, what, (ull)lo);
        GuestRegion& r = plan_.regions[plan_.count++];
        r.ipa = lo;
        r.pa = lo;  // identity: devices DMA to guest addresses without an IOMMU
        r.size = hi - lo;
        r.attrs = attrs;
        r.cls = cls;
        copy_string(r.what, sizeof r.what, what);
        return {};
    }

    // Sorts by address; merges overlapping or touching regions of the same
    // class and attributes (virtio-mmio transports share pages); refuses any
    // other overlap, naming both.
    Status finish()
    {
        // Insertion sort, stable; a region out of place is lifted once and
        // the ones before it move up by one (swapping it down step by step
        // copied each region three times a step: 60 k instructions).
        GuestRegion* r = plan_.regions;
        for (usize i = 1; i < plan_.count; ++i) {
            if (!(r[i].ipa < r[i - 1].ipa)) continue;
            const GuestRegion t = r[i];
            usize j = i;
            for (; j > 0 && t.ipa < r[j - 1].ipa; --j) r[j] = r[j - 1];
            r[j] = t;
        }
        usize out = 0;
        for (usize i = 0; i < plan_.count; ++i) {
            if (out > 0) {
                GuestRegion& prev = r[out - 1];
                bool same = prev.attrs == r[i].attrs && prev.cls == r[i].cls;
                if (r[i].ipa < prev.end() && !same)
                    return fail(diag_, Error::Overlap, r[i].ipa,
                                "%s at 0x%llx-0x%llx overlaps %s at 0x%llx-0x%llx with other attributes", r[i].what,
                                (ull)r[i].ipa, (ull)(r[i].end() - 1), prev.what, (ull)prev.ipa, (ull)(prev.end() - 1));
                // Device regions merge when they touch; BARs only when they
                // share a page (one mapping serves both); RAM ranges stay apart.
                bool touch_merges = r[i].cls != RegionClass::Ram && r[i].cls != RegionClass::PciBar;
                if (same && (r[i].ipa < prev.end() || (touch_merges && r[i].ipa == prev.end()))) {
                    if (r[i].end() > prev.end()) prev.size = r[i].end() - prev.ipa;
                    continue;
                }
            }
            r[out++] = r[i];
        }
        plan_.count = out;
        return {};
    }

private:
    GuestPlan& plan_;
    MemRange hyp_;
    Diagnostic& diag_;
};

Status add_ram(Builder& b, GuestPlan& plan, const Platform& p, MemRange hyp, Diagnostic& diag)
{
    auto add_one = [&](u64 lo, u64 hi) -> Status {
        lo = align_up(lo, kPageSize);
        hi = align_down(hi, kPageSize);
        if (hi <= lo) return {};
        if (plan.ram_count == GuestPlan::kMaxRam)
            return fail(diag, Error::NoMemory, lo, "more than %zu guest RAM ranges", GuestPlan::kMaxRam);
        plan.ram[plan.ram_count++] = {lo, hi - lo};
        // Stage 2 leaves no-map reserved memory out (the guest DTB still
        // lists it as RAM, reserved): a guest access there aborts.
        // Nor the spin-table release mailboxes' pages: a write there would
        // start a CPU at EL2 outside passage.
        MemRange holes[Platform::kMaxReserved + Platform::kMaxSpinRelease];
        usize n = 0;
        for (usize i = 0; i < p.no_map_count; ++i) {
            u64 h = align_down(p.no_map[i].base, kPageSize);
            holes[n++] = {h, align_up(p.no_map[i].end(), kPageSize) - h};
        }
        for (usize i = 0; i < p.spin_release_count; ++i) holes[n++] = p.spin_release[i];
        return for_each_piece(MemRange{lo, hi - lo}, {holes, n},
                              [&](u64 a, u64 z) { return b.add(a, z - a, kRam, RegionClass::Ram, "RAM"); });
    };
    for (usize i = 0; i < p.memory_count; ++i) {
        const MemRange& m = p.memory[i];
        if (!ranges_overlap(m.base, m.size, hyp.base, hyp.size)) {
            if (auto s = add_one(m.base, m.end()); !s) return s;
            continue;
        }
        // The hypervisor's region is cut out; the guest DTB will not list it.
        if (m.base < hyp.base)
            if (auto s = add_one(m.base, hyp.base); !s) return s;
        if (hyp.end() < m.end())
            if (auto s = add_one(hyp.end(), m.end()); !s) return s;
    }
    if (plan.ram_count == 0) return fail(diag, Error::NoMemory, hyp.base, "no RAM is left for the guest");
    return {};
}

Status add_gic(Builder& b, const Gic& g)
{
    if (auto s = b.add(g.dist.base, g.dist.size, kDevice, RegionClass::Gic, "GIC distributor"); !s) return s;
    if (g.version == GicVersion::V3) {
        for (usize i = 0; i < g.redist_count; ++i)
            if (auto s = b.add(g.redist[i].base, g.redist[i].size, kDevice, RegionClass::Gic, "GICv3 redistributors"); !s)
                return s;
        for (usize i = 0; i < g.its_count; ++i)
            if (auto s = b.add(g.its[i].base, g.its[i].size, kDevice, RegionClass::Gic, "GICv3 ITS"); !s) return s;
        return {};
    }
    // GICv2: the CPU interface whole (Linux uses GICC_DIR at +0x1000) and the
    // GICv2m frames; never GICH or GICV, which are the hypervisor's.
    if (auto s = b.add(g.cpu_if.base, g.cpu_if.size, kDevice, RegionClass::Gic, "GICv2 CPU interface"); !s) return s;
    for (usize i = 0; i < g.v2m_count; ++i)
        if (auto s = b.add(g.v2m[i].base, g.v2m[i].size, kDevice, RegionClass::Gic, "GICv2m frame"); !s) return s;
    return {};
}

Status add_pci(Builder& b, GuestPlan& plan, const Platform& p, const pci::DeviceTable& table,
               const pci::Dispositions& disp)
{
    for (usize i = 0; i < p.bridge_count; ++i) {
        const PciHostBridge& hb = p.bridges[i];
        if (auto s = b.add(hb.ecam_base, hb.ecam_size, kEcam, RegionClass::Ecam, "ECAM"); !s) return s;
        for (usize w = 0; w < hb.window_count; ++w)
            if (hb.windows[w].space == PciSpace::Io)
                if (auto s = b.add(hb.windows[w].cpu_addr, hb.windows[w].size, kDevice, RegionClass::PciIo, "PCI I/O window");
                    !s)
                    return s;
    }
    for (usize i = 0; i < table.size(); ++i) {
        const pci::PciFunction& f = table[i];
        if (!disp.visible(i)) continue;
        const pci::BdfStr bdf(f);
        bool keep = disp.of(i) == pci::Disposition::KeptDevice;
        bool any_bar = false;
        for (const pci::PciBar& bar : f.bars) {
            if (!bar.present() || bar.kind == pci::BarKind::Io) continue;
            if (!bar.assigned()) {
                log_warn("%s %s%u (%s) has no address (%s): the device stays visible to the guest; hiding it needs "
                         "virtual config space",
                         bdf.c_str(), bar.is_rom() ? "ROM" : "BAR", bar.is_rom() ? 0u : unsigned(bar.index),
                         SizeStr(bar.size).c_str(), pci::bar_status_name(bar.status));
                continue;
            }
            any_bar = true;
            char what[40];
            if (bar.is_rom()) format(what, sizeof what, "%s ROM", bdf.c_str());
            else format(what, sizeof what, "%s BAR%u", bdf.c_str(), unsigned(bar.index));
            Attrs attrs = keep ? kDevice : bar.is_rom() ? kRom : kBar;
            if (keep && bar.is_rom()) attrs.access = Access::RO;
            if (auto s = b.add(bar.cpu_addr, bar.size, attrs, RegionClass::PciBar, what); !s) return s;
        }
        if (keep && any_bar) {
            ++plan.devices_kept_device;
            log_info("%s %04x:%04x: BARs kept Device-nGnRE (%s)", bdf.c_str(), f.vendor, f.device, disp.reason(i));
        }
    }
    return {};
}

}  // namespace

const char* region_class_name(RegionClass c)
{
    switch (c) {
    case RegionClass::Ram: return "ram";
    case RegionClass::PciBar: return "pci-bar";
    case RegionClass::Ecam: return "ecam";
    case RegionClass::Gic: return "gic";
    case RegionClass::Mmio: return "mmio";
    case RegionClass::PciIo: return "pci-io";
    }
    return "?";
}

Status build_plan(const Platform& p, const pci::DeviceTable& pci, const pci::Dispositions& disp, MemRange hyp,
                  GuestPlan& out, Diagnostic& diag)
{
    out = GuestPlan{};
    Builder b(out, hyp, diag);
    if (auto s = add_ram(b, out, p, hyp, diag); !s) return s;
    if (auto s = add_gic(b, p.gic); !s) return s;
    for (usize i = 0; i < p.mmio_count; ++i)
        if (auto s = b.add(p.mmio[i].reg.base, p.mmio[i].reg.size, kDevice, RegionClass::Mmio, p.mmio[i].compatible); !s)
            return s;
    if (auto s = add_pci(b, out, p, pci, disp); !s) return s;
    if (auto s = b.finish(); !s) return s;
    // The stage-2 input size covers every host bridge window from the
    // start: the guest may place its BARs anywhere in them.
    for (usize i = 0; i < out.count; ++i)
        if (out.regions[i].end() > out.ipa_top) out.ipa_top = out.regions[i].end();
    for (usize i = 0; i < p.bridge_count; ++i) {
        const PciHostBridge& hb = p.bridges[i];
        if (hb.ecam_base + hb.ecam_size > out.ipa_top) out.ipa_top = hb.ecam_base + hb.ecam_size;
        for (usize w = 0; w < hb.window_count && w < PciHostBridge::kMaxWindows; ++w)
            if (hb.windows[w].cpu_addr + hb.windows[w].size > out.ipa_top)
                out.ipa_top = hb.windows[w].cpu_addr + hb.windows[w].size;
    }
    return {};
}

Status carve_out(GuestPlan& plan, MemRange r, Diagnostic& diag)
{
    if (r.size == 0 || !is_aligned(r.base, kPageSize) || !is_aligned(r.size, kPageSize))
        return fail(diag, Error::Misaligned, r.base, "carving 0x%llx (+0x%llx) out of the plan: not whole pages", (ull)r.base,
                    (ull)r.size);
    for (usize i = 0; i < plan.count; ++i) {
        GuestRegion& g = plan.regions[i];
        if (r.base < g.ipa || r.end() > g.end()) continue;
        const bool before = r.base > g.ipa, after = r.end() < g.end();
        if (before && after) {
            if (plan.count == GuestPlan::kMaxRegions)
                return fail(diag, Error::NoMemory, r.base, "more than %zu guest regions carving 0x%llx out of %s",
                            GuestPlan::kMaxRegions, (ull)r.base, g.what);
            for (usize k = plan.count; k > i + 1; --k) plan.regions[k] = plan.regions[k - 1];
            ++plan.count;
            GuestRegion& tail = plan.regions[i + 1];
            tail = g;
            tail.ipa = r.end();
            tail.pa = g.pa + (r.end() - g.ipa);
            tail.size = g.end() - r.end();
            g.size = r.base - g.ipa;
        } else if (before) {
            g.size = r.base - g.ipa;
        } else if (after) {
            g.pa += r.end() - g.ipa;
            g.size = g.end() - r.end();
            g.ipa = r.end();
        } else {
            for (usize k = i; k + 1 < plan.count; ++k) plan.regions[k] = plan.regions[k + 1];
            --plan.count;
        }
        return {};
    }
    return fail(diag, Error::NotFound, r.base, "carving 0x%llx (+0x%llx) out of the plan: no one region holds it", (ull)r.base,
                (ull)r.size);
}

usize bar_forbidden_ranges(const Platform& p, MemRange hyp, const GuestPlan& plan, std::span<MemRange> out)
{
    usize n = 0;
    auto add = [&](MemRange r) {
        if (r.size != 0 && n < out.size()) out[n++] = r;
    };
    // Passage itself and all of RAM, whatever the guest is given of it: the
    // host bridge windows come from the device tree, and a wrong one must
    // not let a BAR land on memory.
    add(hyp);
    for (usize i = 0; i < p.memory_count; ++i) add(p.memory[i]);
    for (usize i = 0; i < plan.count; ++i) {
        const GuestRegion& r = plan.regions[i];
        if (r.cls != RegionClass::PciBar) add({r.pa, r.size});
    }
    return n;
}

void print_plan(const GuestPlan& plan)
{
    log_info("guest stage-2 plan: %zu regions (IPA = PA)", plan.count);
    log_info("  %-18s %-18s %-14s %-14s %-3s %-2s %-8s %s", "IPA", "end", "size", "type", "acc", "x", "class", "what");
    for (usize i = 0; i < plan.count; ++i) {
        const GuestRegion& r = plan.regions[i];
        log_info("  0x%-16llx 0x%-16llx %-14s %-14s %-3s %-2s %-8s %s", (ull)r.ipa, (ull)(r.end() - 1),
                 SizeStr(r.size).c_str(), stage2::mem_type_name(r.attrs.type), stage2::access_name(r.attrs.access),
                 r.attrs.exec ? "x" : "-", region_class_name(r.cls), r.what);
    }
}

}  // namespace passage::plan
