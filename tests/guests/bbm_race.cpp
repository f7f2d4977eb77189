// The bbm-race check: two 1 MiB BARs side by side in one 2 MiB-aligned
// block (two ivshmem-plain devices with 1 MiB of shared memory each) are
// one stage-2 block. The secondary CPU reads the first BAR in a loop while
// the primary moves the second away and back: each move away splits the
// block and each move back folds it, with break-before-make. A read that
// lands in that window must be retried by the hypervisor, never aborted.
#include "checks.h"
#include "console.h"
#include "psci.h"
#include "secondary.h"

namespace guest {

namespace {

constexpr u64 kMiB = 1024 * 1024;
constexpr unsigned kRounds = 256;

bool is_ivshmem_1m(const pci::Ecam& ecam, const pci::Function& f)
{
    return f.vendor == 0x1af4 && f.device == 0x1110 && f.bars[2].present && f.bars[2].is64 &&
           pci::bar_size(ecam, f, 2) == kMiB;
}

// The mem64 window holding a PCI address (the test devices sit on bus 0).
const PciWindow* mem64_window(const GuestPlatform& plat, u64 pci_addr)
{
    for (unsigned i = 0; i < plat.window_count; ++i) {
        const PciWindow& w = plat.windows[i];
        if (w.space == PciWindow::Mem64 && pci_addr >= w.pci_base && pci_addr - w.pci_base < w.size) return &w;
    }
    return nullptr;
}

// Waits up to 2 s for the secondary to change a mailbox field from `from`.
u64 wait_change(volatile u64* field, u64 from)
{
    u64 mb = reinterpret_cast<u64>(&g_mailbox);
    u64 deadline = deadline_after_ms(2000);
    u64 v = from;
    while (v == from && !expired(deadline)) {
        dcache_clean_inval_poc(mb, sizeof(Mailbox));
        v = *field;
    }
    return v;
}

}  // namespace

void check_bbm_race(Context& ctx)
{
    const char* name = "bbm-race";
    const GuestPlatform& p = ctx.plat;
    if (ctx.standalone) return skip(name, "no hypervisor: no stage 2 to change");
    if (p.probe_only) return skip(name, "linux,pci-probe-only: the BARs stay where the hypervisor put them");
    pci::Ecam ecam(p.ecam_base, p.bus_first, p.bus_last);
    // A: read by the secondary; B: moved, right after A in the same 2 MiB.
    const pci::Function *a = nullptr, *b = nullptr;
    for (unsigned i = 0; ctx.pci_scanned && i < ctx.pci.count && !b; ++i) {
        const pci::Function& fa = ctx.pci.fns[i];
        if (fa.bus != p.bus_first || (fa.bars[2].addr & (2 * kMiB - 1)) != 0 || !is_ivshmem_1m(ecam, fa)) continue;
        for (unsigned j = 0; j < ctx.pci.count && !b; ++j)
            if (ctx.pci.fns[j].bars[2].addr == fa.bars[2].addr + kMiB && is_ivshmem_1m(ecam, ctx.pci.fns[j])) {
                a = &fa;
                b = &ctx.pci.fns[j];
            }
    }
    if (!b) return skip(name, "no two ivshmem-plain BAR2s of 1 MiB side by side in a 2 MiB block");
    u64 me = my_mpidr(), target = ~0ull;
    for (unsigned i = 0; i < p.cpu_count && target == ~0ull; ++i)
        if (p.cpus[i] != me) target = p.cpus[i];
    if (target == ~0ull) return skip(name, "only one CPU");
    const PciWindow* w = mem64_window(p, b->bars[2].addr);
    if (!w) return fail(name, "BAR2 0x%lx is not in a mem64 window", b->bars[2].addr);
    static pci::BarMap others;
    pci::size_bars(ecam, ctx.pci, b, 2, others);
    const u64 home = b->bars[2].addr;
    const u64 away = pci::free_place(w->pci_base, w->size, kMiB, home, others);
    if (!away) return fail(name, "no free 1 MiB in the window 0x%lx", w->pci_base);

    volatile Mailbox* box = &g_mailbox;
    volatile u64* fields[] = {&box->race_stop, &box->race_reads, &box->race_bad, &box->race_done,
                              &box->context,    &box->mpidr,      &box->cpu_off_returned};
    for (volatile u64* field : fields) *field = 0;
    box->race_addr = pci::cpu_address(p, a->bars[2].addr);
    box->race_value = 0xb10cf01d;
    dcache_clean_poc(image_start(), image_end() - image_start());
    info("cpu 0x%lx reads %02x:%02x.%u BAR2 at 0x%lx while %02x:%02x.%u BAR2 moves 0x%lx <-> 0x%lx", target, a->bus,
         a->dev, a->fn, box->race_addr, b->bus, b->dev, b->fn, home, away);
    i64 ret = psci::cpu_on(target, reinterpret_cast<u64>(secondary_entry), kRaceContext);
    if (ret != 0) return fail(name, "CPU_ON(0x%lx) returned %ld (%s)", target, ret, psci::error_text(ret));
    const u64 reads_before = wait_change(&box->race_reads, 0);
    if (reads_before == 0) return fail(name, "the secondary did not start reading within 2 s");

    for (unsigned r = 0; r < kRounds; ++r) {
        pci::write_bar(ecam, *b, 2, away);  // splits the block: A's pages stay mapped
        pci::write_bar(ecam, *b, 2, home);  // folds it back
    }
    dcache_clean_inval_poc(reinterpret_cast<u64>(&g_mailbox), sizeof(Mailbox));
    u64 reads_then = box->race_reads;
    box->race_stop = 1;
    dcache_clean_poc(reinterpret_cast<u64>(&g_mailbox), sizeof(Mailbox));
    if (wait_change(&box->race_done, 0) != 1) return fail(name, "the secondary did not stop within 2 s");
    u64 deadline = deadline_after_ms(2000);
    while (psci::affinity_info(target) != psci::kAffinityOff && !expired(deadline)) {
    }
    if (pci::read_bar(ecam, *b, 2) != home) return fail(name, "BAR2 did not return to 0x%lx", home);
    if (box->race_bad != 0) return fail(name, "%lu of %lu reads returned other data", box->race_bad, box->race_reads);
    if (reads_then == reads_before) return fail(name, "the secondary made no reads while the BAR moved: no race");
    info("%u moves away and back; %lu reads by the secondary meanwhile (%lu in all), none aborted or wrong", kRounds,
         reads_then - reads_before, box->race_reads);
    pass(name);
}

}  // namespace guest
