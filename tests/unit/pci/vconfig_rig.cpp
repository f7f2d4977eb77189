#include "vconfig_rig.h"

#include "passage/format.h"
#include "passage/log.h"
#include "passage/pci/regs.h"

namespace passage::pci::test {

Rig::Rig(const char* deny, void (*edit_host)(PciHostBridge&), const std::function<void(FakeEcam&)>& build)
{
    if (build) build(ecam);
    else standard_topology(ecam);
    if (edit_host != nullptr) edit_host(host);
    set_log_level(LogLevel::Warn);
    REQUIRE(enumerate(host, ecam, table).ok());
    hosts[0] = host;
    DispositionOptions options;
    Diagnostic diag;
    REQUIRE(parse_bdf_list(deny, options.deny, DeviceLists::kMax, options.deny_count, diag).ok());
    disp.decide(table, options);
    // Every port offers hot-plug and lets the guest write its control bits.
    for (const PciFunction& f : table.functions()) {
        if (!f.is_bridge || f.caps.pcie == 0) continue;
        FakeFunction& h = hw(f.bdf);
        h.poke32(u16(f.caps.pcie + 0x14), 0x60).writable(u16(f.caps.pcie + 0x10), 0xffff).writable(0x3c, 0xffff0000);
    }
    for (const PciFunction& f : table.functions()) physical[u32(f.bdf.bus) << 8 | f.bdf.dev << 3 | f.bdf.fn] = physical_regs(f.bdf);
    v = new (storage) VirtualConfig(table, disp, ecam, hosts, rec, phys);
    MemRange forbidden[] = {{kRamBase, kRamSize}, {host.ecam_base, host.ecam_size}, {0x3eff0000, 64 * KiB}};
    v->set_forbidden(forbidden);
    // What the plan maps: every memory BAR and ROM of a visible function.
    for (usize i = 0; i < table.size(); ++i) {
        if (!disp.visible(i)) continue;
        for (const PciBar& b : table[i].bars)
            if (b.present() && b.assigned() && b.kind != BarKind::Io)
                REQUIRE(rec.map(IpaAddr(align_down(b.cpu_addr, kPageSize)), PhysAddr(align_down(b.cpu_addr, kPageSize)),
                                align_up(b.size, kPageSize),
                                stage2::Attrs{stage2::MemType::NormalNC, stage2::Access::RW, false})
                            .ok());
    }
    REQUIRE(v->start().ok());
    REQUIRE_FALSE(rec.double_map);
}

Rig::~Rig()
{
    v->~VirtualConfig();
    set_log_level(LogLevel::Info);
}

usize Rig::index(Bdf b) const
{
    for (usize i = 0; i < table.size(); ++i)
        if (table[i].bdf == b) return i;
    FAIL("no such function");
    return 0;
}

std::vector<u32> Rig::physical_regs(Bdf b)
{
    std::vector<u32> out;
    FakeFunction& h = hw(b);
    for (u16 reg = 0x10; reg < 0x3c; reg += 4) out.push_back(h.peek32(reg) & (reg == 0x30 || reg == 0x38 ? ~1u : ~0u));
    return out;
}

void Rig::check_physical_unchanged()
{
    for (const PciFunction& f : table.functions()) {
        INFO("function " << unsigned(f.bdf.bus) << ":" << unsigned(f.bdf.dev) << "." << unsigned(f.bdf.fn));
        CHECK(physical_regs(f.bdf) == physical[u32(f.bdf.bus) << 8 | f.bdf.dev << 3 | f.bdf.fn]);
    }
}

std::string Rig::random_write(std::mt19937& rng, bool sub_dword)
{
    auto pick = [&](u32 n) { return u32(rng() % n); };
    const PciFunction& f = table[pick(u32(table.size()))];
    u16 reg = 0;
    u32 value = 0;
    switch (pick(4)) {
    case 0: reg = 0x04; value = pick(4) == 0 ? 0 : pick(8); break;
    case 1: reg = f.is_bridge ? u16(0x10 + 4 * pick(2)) : u16(0x10 + 4 * pick(6)); break;
    case 2: reg = f.is_bridge ? 0x38 : 0x30; break;
    default: reg = f.is_bridge ? u16(0x1c + 4 * pick(6)) : u16(0x10 + 4 * pick(6)); break;
    }
    if (reg != 0x04) {
        switch (pick(6)) {
        case 0: value = 0xffffffff; break;                                       // sizing
        case 1: value = u32(0x10000000 + pick(0x200) * 0x100) | pick(2); break;  // sub-page places, ROM enable
        case 2: value = u32(0x10000000 + pick(64) * 0x100000); break;           // window-sized steps
        case 3: value = u32(kRamBase) | pick(2); break;                          // RAM
        case 4: value = u32(table[pick(u32(table.size()))].bars[pick(7)].pci_addr) | pick(2); break;  // another BAR
        default: value = u32(rng()); break;
        }
    }
    if (f.is_bridge && reg >= 0x1c && reg <= 0x30 && pick(2) == 0)
        value = (0x1000 + pick(0x20) * 0x10) | (0x1000 + pick(0x20) * 0x10) << 16;  // plausible windows
    unsigned size = sub_dword ? 1u << pick(3) : 4;
    unsigned off = pick(4) & ~(size - 1) & (sub_dword ? 3 : 0);
    u32 part = value >> (8 * off);
    wr(f.bdf, u16(reg + off), part, size);
    char text[80];
    format(text, sizeof text, "%02x:%02x.%u +0x%x/%u = 0x%x", f.bdf.bus, f.bdf.dev, f.bdf.fn, reg + off, size, part);
    return text;
}

namespace {

struct Decoded {
    usize index;
    unsigned bar;
    bool io;
    u64 cpu;
    u64 size;
    u64 phys;
};

u64 page_lo(u64 a) { return a & ~u64{0xfff}; }
u64 page_hi(u64 a, u64 size) { return (a + size + 0xfff) & ~u64{0xfff}; }

}  // namespace

// A reference fabric, written from the specs apart from the code under
// test: it reads only what the guest reads.
void Rig::check_router()
{
    REQUIRE_FALSE(rec.double_map);
    std::vector<Decoded> decoded;
    auto window = [&](Bdf b, bool io, u64 addr, u64 size) {
        u16 cmd = u16(rd(b, 0x04));
        if ((cmd & (io ? 1 : 2)) == 0) return false;
        u64 last = addr + size - 1;
        if (last < addr) return false;  // wraps past the top
        if (io) {
            u32 r = rd(b, 0x1c, 2), up = rd(b, 0x30);
            bool io32 = (r & 0xf) == 1;
            u64 base = u64(r & 0xf0) << 8 | (io32 ? u64(up & 0xffff) << 16 : 0);
            u64 limit = u64(r >> 8 & 0xf0) << 8 | 0xfff | (io32 ? u64(up >> 16) << 16 : 0);
            return base <= limit && addr >= base && last <= limit;
        }
        u32 m = rd(b, 0x20);
        u64 mb = u64(m & 0xfff0) << 16, ml = u64(m & 0xfff00000u) | 0xfffff;
        if (mb <= ml && addr >= mb && last <= ml) return true;
        u32 p = rd(b, 0x24);
        if (p == 0) return false;
        bool p64 = (p & 0xf) == 1;
        u64 pb = u64(p & 0xfff0) << 16 | (p64 ? u64(rd(b, 0x28)) << 32 : 0);
        u64 pl = u64(p & 0xfff00000u) | 0xfffff | (p64 ? u64(rd(b, 0x2c)) << 32 : 0);
        return pb <= pl && addr >= pb && last <= pl;
    };
    for (usize i = 0; i < table.size(); ++i) {
        const PciFunction& f = table[i];
        if (!disp.visible(i)) {
            for (unsigned b = 0; b < PciFunction::kBars; ++b) CHECK(v->route(i, b) == BarRoute::Off);
            continue;
        }
        u16 cmd = u16(rd(f.bdf, 0x04));
        for (const PciBar& bar : f.bars) {
            if (!bar.present() || !bar.assigned()) continue;
            bool io = bar.kind == BarKind::Io;
            u64 addr = 0;
            bool on = (cmd & (io ? 1 : 2)) != 0;
            if (bar.is_rom()) {
                u32 r = rd(f.bdf, f.is_bridge ? 0x38 : 0x30);
                on = on && (r & 1) != 0;
                addr = r & 0xfffff800u;
            } else {
                u16 reg = u16(0x10 + 4 * bar.index);
                addr = rd(f.bdf, reg) & (io ? ~3u : ~0xfu);
                if (bar.kind == BarKind::Mem64) addr |= u64(rd(f.bdf, u16(reg + 4))) << 32;
            }
            for (i32 p = f.parent; on && p != kNoParent; p = table[usize(p)].parent)
                on = window(table[usize(p)].bdf, io, addr, bar.size);
            const PciWindow* hw_window = nullptr;
            for (usize k = 0; on && k < host.window_count; ++k) {
                const PciWindow& w = host.windows[k];
                if ((w.space == PciSpace::Io) == io && addr >= w.pci_addr && bar.size <= w.size &&
                    addr - w.pci_addr <= w.size - bar.size)
                    hw_window = &w;
            }
            INFO("function " << unsigned(f.bdf.bus) << ":" << unsigned(f.bdf.dev) << "." << unsigned(f.bdf.fn)
                             << " BAR" << unsigned(bar.index) << " at 0x" << std::hex << addr);
            if (!on || hw_window == nullptr) {
                CHECK(v->route(i, bar.index) == BarRoute::Off);
                continue;
            }
            decoded.push_back({i, bar.index, io, addr + hw_window->cpu_addr - hw_window->pci_addr, bar.size, bar.cpu_addr});
        }
    }
    const MemRange forbidden[] = {{kRamBase, kRamSize}, {host.ecam_base, host.ecam_size}, {0x3eff0000, 64 * KiB}};
    std::map<u64, const Decoded*> owner;  // mapped page -> the BAR it shows
    for (const Decoded& d : decoded) {
        INFO("function " << d.index << " BAR" << d.bar << " at 0x" << std::hex << d.cpu);
        BarRoute route = v->route(d.index, d.bar);
        bool over_forbidden = false;
        for (const MemRange& m : forbidden)
            over_forbidden |= !d.io && ranges_overlap(page_lo(d.cpu), page_hi(d.cpu, d.size) - page_lo(d.cpu), m.base, m.size);
        bool overlaps = false, shares = false;
        for (const Decoded& o : decoded) {
            if (&o == &d) continue;
            overlaps |= ranges_overlap(d.cpu, d.size, o.cpu, o.size);
            shares |= ranges_overlap(page_lo(d.cpu), page_hi(d.cpu, d.size) - page_lo(d.cpu), page_lo(o.cpu),
                                     page_hi(o.cpu, o.size) - page_lo(o.cpu));
            // Two overlapping BARs are never both shown.
            bool both = (route == BarRoute::Direct || route == BarRoute::Trapped) &&
                        (v->route(o.index, o.bar) == BarRoute::Direct || v->route(o.index, o.bar) == BarRoute::Trapped);
            if (ranges_overlap(d.cpu, d.size, o.cpu, o.size)) CHECK_FALSE(both);
        }
        if (over_forbidden) {
            CHECK(route == BarRoute::Conflict);
            continue;
        }
        if (!overlaps) {
            bool direct = !d.io && !shares && (d.cpu & 0xfff) == (d.phys & 0xfff);
            CHECK(route == (direct ? BarRoute::Direct : BarRoute::Trapped));
        }
        if (route == BarRoute::Direct)
            for (u64 a = page_lo(d.cpu); a < page_hi(d.cpu, d.size); a += kPageSize) owner[a] = &d;
    }
    // Stage 2 maps exactly the pages of the BARs shown directly, onto their
    // physical pages.
    for (const auto& [ipa, page] : rec.pages) {
        INFO("stage 2 maps 0x" << std::hex << ipa << " -> 0x" << page.pa);
        auto it = owner.find(ipa);
        REQUIRE(it != owner.end());
        CHECK(page.pa == page_lo(it->second->phys) + (ipa - page_lo(it->second->cpu)));
        for (const MemRange& m : forbidden) CHECK_FALSE(ranges_overlap(ipa, kPageSize, m.base, m.size));
    }
    CHECK(owner.size() == rec.pages.size());
}

}  // namespace passage::pci::test
