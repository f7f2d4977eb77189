// The bar-chaos check: a hostile guest. It writes random values to every
// BAR, ROM BAR, bridge window and Command register of every function
// (all-ones, RAM, the GIC, the hypervisor's hole, other BARs, anything),
// toggles decoding in a loop, then puts every register back. The
// hypervisor must survive it with nothing lasting: the header reads back
// as before, pci-testdev still counts its writes, guest RAM is untouched,
// and (checked on the host side) no conflict is left.
#include "checks.h"
#include "console.h"
#include "mmu.h"
#include "testdev.h"

namespace guest {

namespace {

constexpr u64 kPage = 4096;
constexpr unsigned kSaved = 16;  // dwords 0x00-0x3c

u64 g_seed = 0x9e3779b97f4a7c15ull;
u32 next_random()
{
    g_seed = g_seed * 6364136223846793005ull + 1442695040888963407ull;
    return u32(g_seed >> 33);
}

// Registers a hostile guest aims at: Command, the BARs, the ROM BAR, and on
// a bridge its windows (never its bus numbers: a guest that renumbers
// buses under itself loses its own view of them, which proves nothing).
unsigned pick_register(const pci::Function& f)
{
    if (f.header_type == 1) {
        static constexpr unsigned kBridge[] = {0x04, 0x10, 0x14, 0x1c, 0x20, 0x24, 0x28, 0x2c, 0x30, 0x38};
        return kBridge[next_random() % (sizeof kBridge / sizeof kBridge[0])];
    }
    static constexpr unsigned kEndpoint[] = {0x04, 0x10, 0x14, 0x18, 0x1c, 0x20, 0x24, 0x30};
    return kEndpoint[next_random() % (sizeof kEndpoint / sizeof kEndpoint[0])];
}

}  // namespace

void check_bar_chaos(Context& ctx)
{
    const char* name = "bar-chaos";
    if (ctx.standalone) return skip(name, "no hypervisor");
    if (ctx.plat.probe_only) return skip(name, "linux,pci-probe-only: the guest keeps the hypervisor's BARs");
    if (!ctx.pci_scanned || ctx.pci.count == 0) return skip(name, "no PCI functions");
    const GuestPlatform& p = ctx.plat;
    pci::Ecam ecam(p.ecam_base, p.bus_first, p.bus_last);
    static u32 saved[pci::Scan::kMax][kSaved];
    for (unsigned i = 0; i < ctx.pci.count; ++i)
        for (unsigned d = 0; d < kSaved; ++d) {
            const pci::Function& f = ctx.pci.fns[i];
            saved[i][d] = ecam.read32(f.bus, f.dev, f.fn, 4 * d);
        }
    // A RAM page of the guest's own, to see it is never replaced.
    volatile u64* ram = reinterpret_cast<volatile u64*>(p.mem[0].base + 0x100000);
    u64 ram_word = *ram;
    u64 hole = p.mem_count > 1 ? p.mem[0].end() : p.mem[0].base;
    const u32 targets[] = {0xffffffffu, u32(p.mem[0].base), u32(hole), 0x08000000u /* GIC */, 0, 0x10000000u};
    constexpr unsigned kWrites = 600;
    for (unsigned n = 0; n < kWrites; ++n) {
        const pci::Function& f = ctx.pci.fns[next_random() % ctx.pci.count];
        unsigned reg = pick_register(f);
        u32 value = next_random();
        switch (next_random() % 4) {
        case 0: value = targets[next_random() % (sizeof targets / sizeof targets[0])]; break;
        case 1: value = saved[next_random() % ctx.pci.count][4 + next_random() % 6]; break;  // another BAR
        default: break;
        }
        if (reg == 0x04) value = (saved[&f - ctx.pci.fns][1] & ~7u) | (value & 7);  // only the decode and master bits
        ecam.write32(f.bus, f.dev, f.fn, reg, value);
        if (n % 50 == 0)
            for (unsigned k = 0; k < 8; ++k) ecam.write32(f.bus, f.dev, f.fn, 0x04, k % 2 ? saved[&f - ctx.pci.fns][1] : 0);
    }
    // Everything back, decoding last.
    for (unsigned i = 0; i < ctx.pci.count; ++i) {
        const pci::Function& f = ctx.pci.fns[i];
        ecam.write32(f.bus, f.dev, f.fn, 0x04, saved[i][1] & ~7u);
        for (unsigned d = 4; d < kSaved - 1; ++d)
            if (f.header_type == 1 ? d != 6 : true) ecam.write32(f.bus, f.dev, f.fn, 4 * d, saved[i][d]);
    }
    for (unsigned i = 0; i < ctx.pci.count; ++i) {
        const pci::Function& f = ctx.pci.fns[i];
        ecam.write32(f.bus, f.dev, f.fn, 0x04, saved[i][1] & 0xffff);
    }
    for (unsigned i = 0; i < ctx.pci.count; ++i) {
        const pci::Function& f = ctx.pci.fns[i];
        for (unsigned d = 4; d < kSaved - 1; ++d) {
            u32 now = ecam.read32(f.bus, f.dev, f.fn, 4 * d);
            if (now != saved[i][d])
                return fail(name, "%02x:%02x.%u +0x%x reads 0x%x after the restore, was 0x%x", f.bus, f.dev, f.fn, 4 * d,
                            now, saved[i][d]);
        }
    }
    if (*ram != ram_word) return fail(name, "guest RAM at 0x%lx changed", p.mem[0].base + 0x100000);
    for (unsigned i = 0; i < ctx.pci.count; ++i) {
        const pci::Function& f = ctx.pci.fns[i];
        if (f.vendor != 0x1b36 || f.device != 0x0005 || !f.bars[0].present) continue;
        u64 base = pci::cpu_address(p, pci::read_bar(ecam, f, 0));
        (void)mmu::map(base, base, kPage, mmu::Mem::DeviceNGnRE);
        testdev::Run r = testdev::run(base);
        if (!r.ok) return fail(name, "pci-testdev at 0x%lx no longer answers: %s", base, r.error);
    }
    info("%u random writes to the BARs, windows and Command of %u functions, decoding toggled %u times; all restored",
         kWrites, ctx.pci.count, kWrites / 50 * 8);
    pass(name);
}

}  // namespace guest
