// Fuzzer 4: a hostile guest's config accesses (any size, any offset, BARs,
// windows, Command, capabilities, the ECAM and trapped pages) over the fake
// ECAM's standard topology with two functions hidden. After every access:
//   - the hardware's BARs, ROM address, bus numbers and windows are as
//     passage's enumeration left them (and, at the end of the input, a
//     hidden function's whole config space is as passage left it);
//   - stage 2 maps nothing over RAM, passage, the ECAM or the I/O window,
//     nothing twice, and every page it maps lands in the physical BAR of a
//     visible function, at the page a move can give (same offset).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <new>
#include <vector>

#include "fuzz_input.h"
#include "pci/vconfig_fakes.h"
#include "passage/log.h"
#include "passage/pci/enumerate.h"

using namespace passage;
using namespace passage::pci;
using namespace passage::pci::test;

using passage::fuzzing::Input;

namespace {

constexpr u64 kHyp = 0x40200000, kHypSize = 4 * MiB;  // passage, inside the rig's RAM

[[noreturn]] void violated(const char* what, u64 a, u64 b)
{
    std::fprintf(stderr, "vconfig fuzz: %s (0x%llx, 0x%llx)\n", what, (unsigned long long)a, (unsigned long long)b);
    std::abort();
}

void quiet(const char*, usize) {}

// The registers passage owns on the hardware: BARs, ROM (without its
// enable bit), bus numbers and windows (dwords 0x10-0x3b).
std::vector<u32> owned(FakeEcam& ecam, Bdf b)
{
    std::vector<u32> out;
    FakeFunction& f = *ecam.route(b);
    for (u16 reg = 0x10; reg < 0x3c; reg += 4) out.push_back(f.peek32(reg) & (reg == 0x30 || reg == 0x38 ? ~1u : ~0u));
    return out;
}

std::vector<u8> whole(FakeEcam& ecam, Bdf b)
{
    std::vector<u8> out(4096);
    FakeFunction& f = *ecam.route(b);
    for (u16 r = 0; r < 4096; ++r) out[r] = f.peek8(r);
    return out;
}

// The topology, enumerated once; each input starts from its saved state.
struct World {
    FakeEcam ecam;
    PciHostBridge host = qemu_virt_host();
    PciDeviceTable<32> table;
    Dispositions disp;
    std::vector<std::array<u8, 4096>> enumerated;
    std::map<u32, std::vector<u32>> owned_at_start;

    World()
    {
        set_log_sink(quiet);
        standard_topology(ecam);
        if (!enumerate(host, ecam, table)) violated("enumerate", 0, 0);
        DispositionOptions options;
        Diagnostic diag;
        if (!parse_bdf_list("00:06.0,02:00.1", options.deny, DeviceLists::kMax, options.deny_count, diag))  // passage.deny
            violated("options", 0, 0);
        disp.decide(table, options);
        enumerated = ecam.save();
        for (const PciFunction& f : table.functions())
            owned_at_start[u32(f.bdf.bus) << 8 | f.bdf.dev << 3 | f.bdf.fn] = owned(ecam, f.bdf);
    }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const u8* data, usize size)
{
    static World w;
    w.ecam.restore(w.enumerated);
    FakeEcam& ecam = w.ecam;
    const PciHostBridge& host = w.host;
    DeviceTable& table = w.table;
    const Dispositions& disp = w.disp;
    const std::map<u32, std::vector<u32>>& before = w.owned_at_start;
    PageRecorder rec;
    FakePhys phys;
    PciHostBridge hosts[1] = {host};
    alignas(VirtualConfig) static unsigned char storage[sizeof(VirtualConfig)];
    auto* v = new (storage) VirtualConfig(table, disp, ecam, hosts, rec, phys);
    const MemRange forbidden[] = {{kRamBase, kRamSize}, {kHyp, kHypSize}, {host.ecam_base, host.ecam_size}, {0x3eff0000, 64 * KiB}};
    v->set_forbidden(forbidden);
    for (usize i = 0; i < table.size(); ++i) {
        if (!disp.visible(i)) continue;
        for (const PciBar& b : table[i].bars)
            if (b.present() && b.assigned() && b.kind != BarKind::Io)
                (void)rec.map(IpaAddr(align_down(b.cpu_addr, kPageSize)), PhysAddr(align_down(b.cpu_addr, kPageSize)),
                              align_up(b.size, kPageSize), stage2::Attrs{stage2::MemType::NormalNC, stage2::Access::RW, false});
    }
    if (!v->start()) violated("start", 0, 0);
    std::map<u32, std::vector<u8>> hidden;
    for (usize i = 0; i < table.size(); ++i)
        if (!disp.visible(i)) hidden[u32(i)] = whole(ecam, table[i].bdf);

    Input in{data, size};
    for (unsigned step = 0; in.n > 0 && step < 256; ++step) {
        u8 op = in.take<u8>();
        u8 fn = in.take<u8>();
        u16 reg = in.take<u16>() & 0xfff;
        u8 width = in.take<u8>();
        u32 value = in.take<u32>();
        const PciFunction& f = table[fn % table.size()];
        unsigned sizes[] = {1, 2, 4, 8, 3};
        unsigned sz = sizes[width % 5];
        switch (op % 6) {
        case 0: v->write(f.segment, f.bdf, reg, sz, value); break;
        case 1: {
            u32 want = sz == 8 ? 0 : v->read(f.segment, f.bdf, reg, sz);
            // The trap path's lock-free read answers as read() does, or not at all.
            u64 ecam_ipa = host.ecam_base + (u64(f.bdf.bus - host.bus_start) << 20) + (u64(f.bdf.dev) << 15) +
                           (u64(f.bdf.fn) << 12) + reg;
            u64 got = 0;
            if (f.segment == host.segment && v->read_plain(ecam_ipa, sz, got) && (sz == 8 || got != want))
                violated("read_plain differs from read", u64(reg) << 8 | sz, step);
            // Its inline word path (the page last found) answers as read() does, or not at all.
            u32 word = 0;
            if (f.segment == host.segment && sz == 4 && v->read_hinted_word(ecam_ipa, word) && word != want)
                violated("read_hinted_word differs from read", reg, step);
            break;
        }
        case 2: v->write(f.segment, f.bdf, u16(0x10 + 4 * (reg % 11)), 4, value); break;  // BARs, windows, ROM
        case 3: v->mmio_write(host.ecam_base + (u64(value) & 0xfffffff), sz, u64(value) * 0x100000001ull); break;
        case 4: {
            u64 ipa = (op & 0x40) ? 0x3eff0000 + (value & 0xffff) : 0x10000000 + (value & 0x3fffffff);
            u64 got = 0;
            if (op & 0x80) (void)v->forward_write(ipa, sz, value);
            else (void)v->forward_read(ipa, sz, got);
            break;
        }
        default: v->write(f.segment, f.bdf, u16(0x04), 2, value & 7); break;
        }
        for (const PciFunction& g : table.functions())
            if (owned(ecam, g.bdf) != before.at(u32(g.bdf.bus) << 8 | g.bdf.dev << 3 | g.bdf.fn))
                violated("a physical BAR, bus number or window changed", g.bdf.bus << 8 | g.bdf.dev << 3 | g.bdf.fn, step);
        if (rec.double_map) violated("a page was mapped twice", 0, step);
        for (const auto& [ipa, page] : rec.pages) {
            for (const MemRange& m : forbidden)
                if (ranges_overlap(ipa, kPageSize, m.base, m.size)) violated("stage 2 maps a forbidden page", ipa, page.pa);
            bool ok = false;
            for (usize i = 0; i < table.size() && !ok; ++i) {
                if (!disp.visible(i)) continue;
                for (const PciBar& b : table[i].bars)
                    ok = ok || (b.present() && b.assigned() && b.kind != BarKind::Io &&
                                page.pa >= align_down(b.cpu_addr, kPageSize) && page.pa < align_up(b.cpu_addr + b.size, kPageSize));
            }
            if (!ok) violated("stage 2 maps a page outside every visible BAR", ipa, page.pa);
        }
    }
    for (const auto& [i, bytes] : hidden)  // once, at the end: 4 KiB each
        if (whole(ecam, table[i].bdf) != bytes) violated("a hidden function changed", i, 0);
    v->~VirtualConfig();
    return 0;
}
