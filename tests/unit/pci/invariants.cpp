#include "invariants.h"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "passage/pci/enumerate.h"

namespace passage::pci::test {
namespace {

constexpr u64 k4G = u64{1} << 32;

struct Range {
    bool io;
    u64 base;  // PCI address
    u64 size;
    std::string what;
};

std::string name(const PciFunction& f)
{
    char buf[16];
    format_bdf(buf, sizeof buf, f.segment, f.bdf);
    return buf;
}

std::string bar_name(const PciFunction& f, const PciBar& b)
{
    return name(f) + (b.is_rom() ? " ROM" : " BAR" + std::to_string(b.index));
}

bool inside(u64 base, u64 size, u64 wbase, u64 wsize)
{
    return size != 0 && base >= wbase && base - wbase <= wsize && size <= wsize - (base - wbase);
}

// The host window holding [pci, pci + size) with the matching translation.
const PciWindow* host_window(const PciHostBridge& host, bool io, u64 pci, u64 size, u64 cpu)
{
    for (usize i = 0; i < host.window_count; ++i) {
        const PciWindow& w = host.windows[i];
        if ((w.space == PciSpace::Io) != io) continue;
        if (!inside(pci, size, w.pci_addr, w.size)) continue;
        if (cpu - pci != w.cpu_addr - w.pci_addr) continue;
        return &w;
    }
    return nullptr;
}

void check_no_overlap(const std::vector<Range>& ranges)
{
    for (usize i = 0; i < ranges.size(); ++i) {
        for (usize j = i + 1; j < ranges.size(); ++j) {
            if (ranges[i].io != ranges[j].io) continue;
            INFO(ranges[i].what << " and " << ranges[j].what);
            CHECK_FALSE(ranges_overlap(ranges[i].base, ranges[i].size, ranges[j].base, ranges[j].size));
        }
    }
}

// The window of `parent` a BAR of its child must sit in.
const BridgeWindow& window_for(const PciFunction& parent, const PciBar& b)
{
    if (b.kind == BarKind::Io) return parent.window(WindowKind::Io);
    const BridgeWindow& pref = parent.window(WindowKind::Pref);
    if (b.prefetchable && !b.is_rom() && pref.implemented && (!pref.decodes64 || b.kind == BarKind::Mem64)) {
        return pref;
    }
    return parent.window(WindowKind::Mem);
}

}  // namespace

void check_invariants(const PciHostBridge& host, const DeviceTable& table, FakeEcam* hw)
{
    std::vector<Range> leaves;  // every assigned BAR, globally
    auto fns = table.functions();

    for (usize i = 0; i < fns.size(); ++i) {
        const PciFunction& f = fns[i];
        INFO("function " << name(f));

        // Bus numbers: a function sits on its bridge's secondary bus.
        if (f.parent == kNoParent) {
            CHECK(f.bdf.bus == host.bus_start);
        } else {
            REQUIRE(f.parent >= 0);
            REQUIRE(usize(f.parent) < i);
            const PciFunction& p = fns[usize(f.parent)];
            REQUIRE(p.is_bridge);
            REQUIRE(p.bus_assigned);
            CHECK(f.bdf.bus == p.secondary);
        }
        if (f.is_bridge && f.bus_assigned) {
            CHECK(f.secondary > f.bdf.bus);
            CHECK(f.secondary <= f.subordinate);
            CHECK(f.secondary > host.bus_start);
            CHECK(f.subordinate <= host.bus_end);
            if (f.parent != kNoParent) {
                const PciFunction& p = fns[usize(f.parent)];
                CHECK(f.secondary > p.secondary);
                CHECK(f.subordinate <= p.subordinate);
            }
        }

        for (const PciBar& b : f.bars) {
            if (!b.assigned()) continue;
            INFO(bar_name(f, b) << " at 0x" << std::hex << b.pci_addr << " size 0x" << b.size);
            bool io = b.kind == BarKind::Io;
            CHECK(b.size != 0);
            if (!b.fixed) {  // Enhanced Allocation gives any size at any address
                CHECK((b.size & (b.size - 1)) == 0);
                CHECK(is_aligned(b.pci_addr, b.size));  // natural alignment
            }
            CHECK(b.pci_addr != 0);
            if (b.kind == BarKind::Mem32 || b.is_rom()) CHECK(b.pci_addr + b.size <= k4G);
            const PciWindow* w = host_window(host, io, b.pci_addr, b.size, b.cpu_addr);
            CHECK(w != nullptr);
            if (w != nullptr && !b.prefetchable) CHECK_FALSE(w->prefetchable);
            if (f.parent != kNoParent) {
                const PciFunction& p = fns[usize(f.parent)];
                const BridgeWindow& bw = window_for(p, b);
                REQUIRE(bw.assigned());
                CHECK(inside(b.pci_addr, b.size, bw.pci_base, bw.size));
                if (!b.prefetchable) CHECK(b.pci_addr + b.size <= k4G);  // mem window is 32-bit
            }
            leaves.push_back({io, b.pci_addr, b.size, bar_name(f, b)});
        }

        if (!f.is_bridge) continue;
        // Bridge windows: granular, nested in the window (or host window)
        // above, and covering every child.
        std::vector<Range> level;
        for (usize k = 0; k < kWindowKinds; ++k) {
            const BridgeWindow& w = f.windows[k];
            if (!w.assigned()) continue;
            WindowKind kind = WindowKind(k);
            bool io = kind == WindowKind::Io;
            INFO("window " << k << " at 0x" << std::hex << w.pci_base << " size 0x" << w.size);
            u64 granule = io ? 4 * KiB : 1 * MiB;
            CHECK(is_aligned(w.pci_base, granule));
            CHECK(is_aligned(w.size, granule));
            if (kind == WindowKind::Mem) CHECK(w.pci_limit() < k4G);
            if (kind == WindowKind::Io) CHECK(w.pci_limit() <= 0xffffffffu);
            if (kind == WindowKind::Pref && !w.is64) CHECK(w.pci_limit() < k4G);
            CHECK(host_window(host, io, w.pci_base, w.size, w.cpu_base) != nullptr);
            if (f.parent != kNoParent) {
                const PciFunction& p = fns[usize(f.parent)];
                const BridgeWindow* pw = &p.window(kind);
                const BridgeWindow& pp = p.window(WindowKind::Pref);
                if (kind == WindowKind::Pref && (!pp.implemented || (pp.decodes64 && !w.is64))) {
                    pw = &p.window(WindowKind::Mem);
                }
                REQUIRE(pw->assigned());
                CHECK(inside(w.pci_base, w.size, pw->pci_base, pw->size));
            }
        }
        // Children's resources and windows do not overlap each other.
        for (i32 c = f.first_child; c >= 0; c = fns[usize(c)].next_sibling) {
            const PciFunction& ch = fns[usize(c)];
            for (const PciBar& b : ch.bars) {
                if (b.assigned()) level.push_back({b.kind == BarKind::Io, b.pci_addr, b.size, bar_name(ch, b)});
            }
            if (!ch.is_bridge) continue;
            for (usize k = 0; k < kWindowKinds; ++k) {
                const BridgeWindow& w = ch.windows[k];
                if (w.assigned()) level.push_back({k == 0, w.pci_base, w.size, name(ch) + " window"});
            }
            if (ch.bus_assigned) {
                // Sibling bus ranges are disjoint.
                for (i32 d = ch.next_sibling; d >= 0; d = fns[usize(d)].next_sibling) {
                    const PciFunction& o = fns[usize(d)];
                    if (!o.is_bridge || !o.bus_assigned) continue;
                    CHECK((ch.subordinate < o.secondary || o.subordinate < ch.secondary));
                }
            }
        }
        check_no_overlap(level);
    }
    check_no_overlap(leaves);

    if (hw == nullptr) return;
    CHECK(hw->sized_while_decoding == 0);
    CHECK(hw->routing_conflicts == 0);
    CHECK(hw->misaligned == 0);
    // The hardware holds what the table says.
    for (const PciFunction& f : fns) {
        INFO("hardware of " << name(f));
        FakeFunction* hwf = hw->route(f.bdf);
        REQUIRE(hwf != nullptr);
        u16 cmd = hwf->peek16(0x04);
        CHECK(((cmd & 0x2) != 0) == f.mem_enabled);
        CHECK(((cmd & 0x1) != 0) == f.io_enabled);
        for (const PciBar& b : f.bars) {
            if (!b.assigned()) continue;
            u16 reg = b.is_rom() ? (f.is_bridge ? 0x38 : 0x30) : u16(0x10 + 4 * b.index);
            if (b.fixed) {  // Enhanced Allocation: hardwired to 0, never written
                CHECK(hwf->peek32(reg) == 0);
                CHECK(hwf->writes_to(reg) == 0);
                continue;
            }
            u64 v = hwf->peek32(reg) & (b.kind == BarKind::Io ? 0xfffffffcu : b.is_rom() ? 0xfffff800u : 0xfffffff0u);
            if (b.kind == BarKind::Mem64) v |= u64(hwf->peek32(u16(reg + 4))) << 32;
            CHECK(v == b.pci_addr);
            if (b.is_rom()) CHECK((hwf->peek32(reg) & 1) == 0);
        }
        if (!f.is_bridge) continue;
        if (f.bus_assigned) {
            CHECK(hwf->peek8(0x18) == f.bdf.bus);
            CHECK(hwf->peek8(0x19) == f.secondary);
            CHECK(hwf->peek8(0x1a) == f.subordinate);
        }
        const BridgeWindow& mem = f.window(WindowKind::Mem);
        u64 mbase = u64(hwf->peek16(0x20) & 0xfff0) << 16, mlim = u64(hwf->peek16(0x22) & 0xfff0) << 16 | 0xfffff;
        if (mem.assigned()) {
            CHECK(mbase == mem.pci_base);
            CHECK(mlim == mem.pci_limit());
        } else {
            CHECK(mbase > mlim);
        }
        const BridgeWindow& pref = f.window(WindowKind::Pref);
        if (pref.implemented) {
            u64 pbase = u64(hwf->peek16(0x24) & 0xfff0) << 16 | u64(hwf->peek32(0x28)) << 32;
            u64 plim = (u64(hwf->peek16(0x26) & 0xfff0) << 16 | 0xfffff) | u64(hwf->peek32(0x2c)) << 32;
            if (pref.assigned()) {
                CHECK(pbase == pref.pci_base);
                CHECK(plim == pref.pci_limit());
            } else {
                CHECK(pbase > plim);
            }
        }
        const BridgeWindow& io = f.window(WindowKind::Io);
        if (io.implemented) {
            u64 ibase = u64(hwf->peek8(0x1c) & 0xf0) << 8 | u64(hwf->peek16(0x30)) << 16;
            u64 ilim = (u64(hwf->peek8(0x1d) & 0xf0) << 8 | 0xfff) | u64(hwf->peek16(0x32)) << 16;
            if (io.assigned()) {
                CHECK(ibase == io.pci_base);
                CHECK(ilim == io.pci_limit());
            } else {
                CHECK(ibase > ilim);
            }
        }
    }
}

}  // namespace passage::pci::test
