#include "passage/mm/el2_layout.h"

#include "passage/format.h"
#include "passage/range_cut.h"

namespace passage::mm {
namespace {

using ull = unsigned long long;

Failure map_failed(Diagnostic& diag, Status s, const char* what, u64 base, u64 size)
{
    return fail(diag, s.error(), s.error_addr(), "EL2 map: %s at 0x%llx (+0x%llx): %s%s", what, (ull)base, (ull)size,
                error_name(s.error()), s.error() == Error::NoMemory ? " (out of EL2 table pages)" : "");
}

Status map_mmio(El2PageTable& t, const MemRange& r, El2Attr attr, const char* what, Diagnostic& diag)
{
    if (r.size == 0) return {};
    u64 base = align_down(r.base, kPageSize);
    u64 size = align_up(r.base + r.size, kPageSize) - base;
    if (auto s = t.map(base, size, attr); !s) return map_failed(diag, s, what, r.base, r.size);
    return {};
}

}  // namespace

Status build_el2_map(El2PageTable& t, const BootInfo& b, const Platform& p, Diagnostic& diag)
{
    if (auto s = t.map(b.image_base, b.text_end - b.image_base, El2Attr::Code); !s)
        return map_failed(diag, s, "image code", b.image_base, b.text_end - b.image_base);
    if (auto s = t.map(b.text_end, b.rodata_end - b.text_end, El2Attr::ReadOnly); !s)
        return map_failed(diag, s, "image rodata", b.text_end, b.rodata_end - b.text_end);
    if (auto s = t.map(b.rodata_end, b.image_end - b.rodata_end, El2Attr::ReadWrite); !s)
        return map_failed(diag, s, "image data", b.rodata_end, b.image_end - b.rodata_end);

    // RAM around the image is RW XN. No-map reserved memory is left out,
    // rounded out to whole pages: not even a speculative read may reach it.
    MemRange holes[Platform::kMaxReserved + 1];
    usize nholes = 0;
    holes[nholes++] = {b.image_base, b.image_end - b.image_base};
    for (usize i = 0; i < p.no_map_count; ++i) {
        u64 lo = align_down(p.no_map[i].base, kPageSize);
        holes[nholes++] = {lo, align_up(p.no_map[i].end(), kPageSize) - lo};
    }
    for (usize i = 0; i < p.memory_count; ++i) {
        auto s = for_each_piece(p.memory[i], {holes, nholes}, [&](u64 lo, u64 hi) -> Status {
            lo = align_up(lo, kPageSize);
            hi = align_down(hi, kPageSize);
            if (hi <= lo) return {};
            if (auto m = t.map(lo, hi - lo, El2Attr::ReadWrite); !m) return map_failed(diag, m, "RAM", lo, hi - lo);
            return {};
        });
        if (!s) return s;
    }

    if (auto s = map_mmio(t, {p.uart.base, p.uart.size}, El2Attr::Device, "console", diag); !s) return s;
    const Gic& g = p.gic;
    if (auto s = map_mmio(t, g.dist, El2Attr::Device, "GIC distributor", diag); !s) return s;
    for (usize i = 0; i < g.redist_count; ++i)
        if (auto s = map_mmio(t, g.redist[i], El2Attr::Device, "GIC redistributors", diag); !s) return s;
    for (usize i = 0; i < g.its_count; ++i)
        if (auto s = map_mmio(t, g.its[i], El2Attr::Device, "GIC ITS", diag); !s) return s;
    if (g.version == GicVersion::V2)
        if (auto s = map_mmio(t, g.cpu_if, El2Attr::Device, "GIC CPU interface", diag); !s) return s;
    for (usize i = 0; i < p.smmu_count; ++i)
        if (auto s = map_mmio(t, p.smmus[i].reg, El2Attr::Device, "SMMUv3", diag); !s) return s;
    for (usize i = 0; i < p.bridge_count; ++i) {
        const PciHostBridge& hb = p.bridges[i];
        if (auto s = map_mmio(t, {hb.ecam_base, hb.ecam_size}, El2Attr::DeviceStrict, "ECAM", diag); !s) return s;
        // The windows: passage forwards the guest's accesses to trapped
        // BARs (sub-page ones, I/O ports) to the physical BARs there.
        for (usize w = 0; w < hb.window_count && w < PciHostBridge::kMaxWindows; ++w)
            if (auto s = map_mmio(t, {hb.windows[w].cpu_addr, hb.windows[w].size}, El2Attr::Device, "PCI window", diag); !s)
                return s;
    }
    return {};
}

}  // namespace passage::mm
