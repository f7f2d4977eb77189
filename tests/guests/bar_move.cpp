// The bar-move check: the guest moves pci-testdev's BAR0 as an OS that
// assigns its own BARs would, and the hypervisor must follow (stage 2 maps
// the new address, not the old one). Placed over another device's BAR or
// RAM, the BAR reads back as written but is not mapped there.
#include "checks.h"
#include "console.h"
#include "exceptions.h"
#include "mmu.h"
#include "testdev.h"

namespace guest {

namespace {

constexpr u64 kPage = 4096;

// Whether a read of `va` takes a synchronous external abort.
bool read_aborts(u64 va) { return probe_read32(va).abort.taken; }

}  // namespace

void check_bar_move(Context& ctx)
{
    const char* name = "bar-move";
    const GuestPlatform& p = ctx.plat;
    if (ctx.standalone) return skip(name, "no hypervisor: nothing would follow or refuse a move");
    if (p.probe_only) return skip(name, "linux,pci-probe-only: the BARs stay where the hypervisor put them");
    pci::Function* f = nullptr;
    for (unsigned i = 0; ctx.pci_scanned && i < ctx.pci.count && !f; ++i)
        if (ctx.pci.fns[i].vendor == 0x1b36 && ctx.pci.fns[i].device == 0x0005) f = &ctx.pci.fns[i];
    if (!f) return skip(name, "no pci-testdev (1b36:0005) attached");
    pci::Bar& bar = f->bars[0];
    pci::Ecam ecam(p.ecam_base, p.bus_first, p.bus_last);
    u64 wbase = 0, wsize = 0;  // where a real fabric still routes it: the window above it
    if (!bar.present || bar.is64 || !pci::routed_window(ecam, ctx.pci, p, *f, bar.addr, wbase, wsize))
        return fail(name, "%02x:%02x.%u BAR0 0x%lx is not a 32-bit BAR in a window", f->bus, f->dev, f->fn, bar.addr);

    // Every other memory BAR, sized through config space; one in the same
    // window to collide with.
    static pci::BarMap others;
    pci::size_bars(ecam, ctx.pci, f, 0, others);
    const pci::PlacedBar* victim = nullptr;
    for (unsigned k = 0; k < others.count && !victim; ++k)
        if (others.bars[k].fn != f && pci::mem32_window(p, others.bars[k].addr)) victim = &others.bars[k];
    u64 size = pci::bar_size(ecam, *f, 0);
    if (size < kPage || (size & (size - 1)))
        return fail(name, "BAR0 sizes as 0x%lx: not a power of two of at least a page", size);
    if (!victim) return fail(name, "no other function's 32-bit BAR: nothing to collide with");
    u64 old = bar.addr;
    u64 target = pci::free_place(wbase, wsize, size, old, others);
    if (!target) return fail(name, "no free 0x%lx bytes in the window 0x%lx", size, wbase);
    info("BAR0 0x%lx (0x%lx bytes); window 0x%lx-0x%lx; %u other BARs", old, size, wbase, wbase + wsize - 1, others.count);

    // Stage 2 follows memory decoding: with Command.MEM off the BAR is not
    // mapped. (The pci-testdev check mapped the page at stage 1.)
    u64 old_cpu = pci::cpu_address(p, old);
    (void)mmu::map(old_cpu, old_cpu, kPage, mmu::Mem::DeviceNGnRE);
    pci::disable_memory(ecam, *f);
    if (!read_aborts(old_cpu)) {
        pci::enable_memory(ecam, *f);
        return fail(name, "memory decoding is off, but BAR0 at 0x%lx still reads", old_cpu);
    }
    info("decoding off: BAR0 at 0x%lx aborts", old_cpu);
    // The BAR register is the guest's: whatever it writes reads back, and
    // the hardware never moves. Over another device's BAR (which keeps its
    // mapping) or over RAM (which stays RAM), stage 2 does not map it.
    u64 victim_cpu = pci::cpu_address(p, victim->addr);
    (void)mmu::map(victim_cpu, victim_cpu, kPage, mmu::Mem::DeviceNGnRE);
    volatile u32* ram = reinterpret_cast<volatile u32*>(p.mem[0].base);
    u32 ram_before = *ram;
    struct Overlap {
        char what[40];
        u64 addr;
    } overlaps[2] = {{{}, victim->addr}, {"RAM", p.mem[0].base}};
    format_into(overlaps[0].what, sizeof overlaps[0].what, "%02x:%02x.%u BAR%u", victim->fn->bus, victim->fn->dev,
                victim->fn->fn, victim->bar);
    for (const Overlap& o : overlaps) {
        pci::write_bar(ecam, *f, 0, o.addr);
        u64 now = pci::read_bar(ecam, *f, 0);
        pci::enable_memory(ecam, *f);
        bool victim_reads = !read_aborts(victim_cpu);
        u32 ram_now = *ram;
        pci::disable_memory(ecam, *f);
        if (now != o.addr) {
            pci::write_bar(ecam, *f, 0, old);
            pci::enable_memory(ecam, *f);
            return fail(name, "BAR0 written with %s's 0x%lx reads 0x%lx", o.what, o.addr, now);
        }
        if (!victim_reads || ram_now != ram_before) {
            pci::write_bar(ecam, *f, 0, old);
            pci::enable_memory(ecam, *f);
            return fail(name, "BAR0 over %s at 0x%lx: %s", o.what, o.addr,
                        !victim_reads ? "the other BAR stopped answering" : "RAM changed under it");
        }
        info("BAR0 over %s at 0x%lx: reads back as written, not mapped over it", o.what, o.addr);
    }

    pci::write_bar(ecam, *f, 0, target);
    u64 now = pci::read_bar(ecam, *f, 0);
    pci::enable_memory(ecam, *f);
    if (now != target)
        return fail(name, "moving BAR0 to the free 0x%lx was refused: it reads 0x%lx", target, now);
    bar.addr = target;
    u64 cpu = pci::cpu_address(p, target);
    if (!mmu::map(cpu, cpu, kPage, mmu::Mem::DeviceNGnRE)) return fail(name, "cannot map 0x%lx at stage 1", cpu);
    testdev::Run run = testdev::run(cpu);
    if (!run.ok)
        return fail(name, "BAR0 moved to 0x%lx, but the device does not answer there: %s (count %u -> %u)", cpu, run.error,
                    run.before, run.after);
    info("BAR0 moved to 0x%lx: test 0 \"%s\" counts %u -> %u", cpu, run.test, run.before, run.after);
    // Decoding is on again: stage 2 must map the new place only.
    if (!read_aborts(old_cpu)) return fail(name, "the old address 0x%lx still reads after the move", old_cpu);
    info("the old address 0x%lx aborts", old_cpu);
    // Behind a bridge, a place outside the bridge's window is one no fabric
    // routes to: stage 2 must not map it either.
    const PciWindow* host = pci::mem32_window(p, target);
    if (f->bus != p.bus_first && host) {
        u64 outside = pci::free_place(host->pci_base, host->size, size, target, others);
        if (outside >= wbase && outside < wbase + wsize) outside = 0;
        if (outside) {
            u64 out_cpu = pci::cpu_address(p, outside);
            (void)mmu::map(out_cpu, out_cpu, kPage, mmu::Mem::DeviceNGnRE);
            pci::write_bar(ecam, *f, 0, outside);
            bool aborts = read_aborts(out_cpu);
            pci::write_bar(ecam, *f, 0, target);
            if (!aborts) return fail(name, "BAR0 at 0x%lx, outside its bridge's window, still reads", out_cpu);
            info("BAR0 at 0x%lx, outside its bridge's window 0x%lx-0x%lx: aborts", out_cpu, wbase, wbase + wsize - 1);
        }
    }
    pass(name);
}

}  // namespace guest
