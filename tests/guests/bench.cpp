#include "bench.h"

#include "console.h"
#include "pci.h"
#include "psci.h"

// bench.S and head.S.
extern "C" {
guest::u32 bench_loop_nop(guest::u64 iterations, guest::u64 x0);
guest::u32 bench_loop_hvc(guest::u64 iterations, guest::u64 x0);
guest::u32 bench_loop_smc(guest::u64 iterations, guest::u64 x0);
guest::u32 bench_loop_load(guest::u64 iterations, guest::u64 x0);
guest::u32 bench_loop_brk(guest::u64 iterations, guest::u64 x0);
guest::u32 bench_loop_bar_move(guest::u64 iterations, guest::u64 bar_reg, guest::u64 addr_a, guest::u64 addr_b);
extern char bench_vectors[], guest_vectors[];
}

namespace guest::bench {

namespace {

using Loop = u32 (*)(u64, u64);

constexpr u64 kCalls = 1000;
// Rounds run before each measured loop. passage logs its first 8 injected
// aborts; the warm-up takes those, so the figures are the steady state.
constexpr u64 kWarmup = 16;

// SMCCC fast call, SMC32, owner 6 (standard hypervisor service), function 0:
// nothing passage knows, so it answers NOT_SUPPORTED at once.
constexpr u64 kUnknownFid = 0x86000000;

// PMU (Arm ARM D13, PMUv3).
constexpr u64 kEventInstRetired = 0x08;
constexpr u64 kEvtyperNsh = u64{1} << 27;  // count at EL2 too (P = U = NSK = 0 count EL1 and EL0)
constexpr u64 kPmcrE = 1;                  // enable
constexpr u64 kPmcrP = 2;                  // zero the event counters

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n'; }

// "87" or "87.4": per round, from a difference over kCalls rounds.
void figure(const char* name, i64 diff)
{
    const char* sign = diff < 0 ? "-" : "";
    u64 d = static_cast<u64>(diff < 0 ? -diff : diff);
    if (d % kCalls == 0) {
        print("guest-bench: %s: %s%lu", name, sign, d / kCalls);
    } else if (u64 tenths = (d * 10 + kCalls / 2) / kCalls; tenths % 10 == 0) {
        print("guest-bench: %s: %s%lu", name, sign, tenths / 10);
    } else {
        print("guest-bench: %s: %s%lu.%lu", name, sign, tenths / 10, tenths % 10);
    }
}

i64 diff(u32 a, u32 b) { return static_cast<i64>(a) - static_cast<i64>(b); }

// The counter's movement over kCalls rounds, after a warm-up.
u32 measure(Loop loop, u64 x0)
{
    (void)loop(kWarmup, x0);
    return loop(kCalls, x0);
}

// Event counter 0 counts INST_RETIRED at EL0, EL1 and EL2. False (and why)
// when the PMU or the event is missing.
bool setup_pmu(const char*& why)
{
    u64 pmuver = (read_id_aa64dfr0_el1() >> 8) & 0xf;
    if (pmuver == 0 || pmuver == 0xf) {
        why = "no PMUv3 (ID_AA64DFR0_EL1.PMUVer)";
        return false;
    }
    if (((read_pmcr_el0() >> 11) & 0x1f) == 0) {
        why = "no event counter (PMCR_EL0.N = 0: is MDCR_EL2.HPMN 0?)";
        return false;
    }
    if (((read_pmceid0_el0() >> kEventInstRetired) & 1) == 0) {
        why = "INST_RETIRED not implemented (PMCEID0_EL0 bit 8): QEMU counts it only with -icount shift=0";
        return false;
    }
    write_pmcntenclr_el0(1);
    write_pmevtyper0_el0(kEventInstRetired | kEvtyperNsh);
    write_pmcntenset_el0(1);
    write_pmcr_el0(read_pmcr_el0() | kPmcrE | kPmcrP);
    isb();
    return true;
}

i64 hvc(u64 fid)
{
    register u64 x0 asm("x0") = fid;
    asm volatile("hvc #0" : "+r"(x0) : : "memory", "x1", "x2", "x3", "x4", "x5", "x6", "x7", "x8", "x9", "x10",
                 "x11", "x12", "x13", "x14", "x15", "x16", "x17");
    return static_cast<int32_t>(x0);
}

// The first gap between the memory ranges: passage's own region, which
// stage 2 leaves unmapped (as check_abort_in_hypervisor finds it).
u64 find_gap(const GuestPlatform& p)
{
    for (unsigned i = 0; i + 1 < p.mem_count; ++i)
        if (p.mem[i].end() < p.mem[i + 1].base) return p.mem[i].end();
    return 0;
}

void boot_figure(u64 count_at_entry)
{
    u64 freq = read_cntfrq_el0();
    if (freq == 0) {
        print("guest-bench: FAIL boot_to_guest_insns: CNTFRQ_EL0 is 0");
        return;
    }
    // Under -icount shift=0 virtual time advances 1 ns per instruction, and
    // the counter is that time at CNTFRQ_EL0 (CNTVOFF_EL2 = 0 under passage).
    u64 insns = count_at_entry * u64{1000000000} / freq;
    print("guest-bench: boot_to_guest_insns: %lu", insns);
    print("guest-bench:   CNTVCT_EL0 at the first guest instruction: %lu ticks at %lu Hz (%lu instructions a tick)",
          count_at_entry, freq, u64{1000000000} / freq);
}

// Virtual config space: one trapped config read (the vendor ID of the first
// function), and one BAR move (pci-testdev's BAR0 between its place and a
// free one, decoding on, so stage 2 unmaps and maps each time).
void vpci_figures(Context& ctx, u32 nop)
{
    const GuestPlatform& p = ctx.plat;
    if (!p.ecam) {
        print("guest-bench: FAIL vpci_cfg_read_insns: no ECAM in the device tree");
        return;
    }
    pci::Ecam ecam(p.ecam_base, p.bus_first, p.bus_last);
    u64 id_reg = ecam.address(p.bus_first, 0, 0, 0);
    print("guest-bench:   config read: ldr of 0x%lx (%02x:00.0 vendor/device 0x%x) each round", id_reg, p.bus_first,
          mmio_read32(id_reg));
    figure("vpci_cfg_read_insns", diff(measure(bench_loop_load, id_reg), nop));

    ctx.pci = pci::scan(ecam);
    pci::Function* f = nullptr;
    for (unsigned i = 0; i < ctx.pci.count && !f; ++i)
        if (ctx.pci.fns[i].vendor == 0x1b36 && ctx.pci.fns[i].device == 0x0005) f = &ctx.pci.fns[i];
    const PciWindow* w = f && f->bars[0].present && !f->bars[0].is64 ? pci::mem32_window(p, f->bars[0].addr) : nullptr;
    if (!w) {
        print("guest-bench: FAIL vpci_bar_move_insns: no pci-testdev with BAR0 in a mem32 window");
        return;
    }
    static pci::BarMap others;
    pci::size_bars(ecam, ctx.pci, f, 0, others);
    u64 size = pci::bar_size(ecam, *f, 0), old = f->bars[0].addr;
    u64 spare = pci::free_place(w->pci_base, w->size, size, old, others);
    if (!spare) {
        print("guest-bench: FAIL vpci_bar_move_insns: no free 0x%lx bytes in the window 0x%lx", size, w->pci_base);
        return;
    }
    pci::enable_memory(ecam, *f);
    u64 reg = ecam.address(f->bus, f->dev, f->fn, 0x10);
    (void)bench_loop_bar_move(kWarmup, reg, spare, old);
    u32 moves = bench_loop_bar_move(kCalls / 2, reg, spare, old);  // kCalls moves
    u64 now = pci::read_bar(ecam, *f, 0);
    print("guest-bench:   BAR move: %02x:%02x.%u BAR0 0x%lx <-> 0x%lx (0x%lx bytes), two moves a round; back at 0x%lx",
          f->bus, f->dev, f->fn, old, spare, size, now);
    if (now != old) {
        print("guest-bench: FAIL vpci_bar_move_insns: BAR0 reads 0x%lx after the loop, expected 0x%lx", now, old);
        return;
    }
    figure("vpci_bar_move_insns", diff(moves, nop / 2));
}

}  // namespace

bool requested(const char* bootargs)
{
    static constexpr char kWord[] = "passage-bench";
    constexpr unsigned kLen = sizeof kWord - 1;
    for (const char* s = bootargs; *s;) {
        while (is_space(*s)) ++s;
        const char* w = s;
        while (*s && !is_space(*s)) ++s;
        if (static_cast<unsigned>(s - w) == kLen && __builtin_memcmp(w, kWord, kLen) == 0) return true;
    }
    return false;
}

void run(Context& ctx, u64 count_at_entry)
{
    const GuestPlatform& p = ctx.plat;
    print("guest-bench: bench mode (bootargs \"%s\"): %lu rounds of each call, minus the same loop with a NOP",
          p.bootargs, kCalls);
    boot_figure(count_at_entry);

    const char* why = "";
    if (!setup_pmu(why)) {
        print("guest-bench: FAIL pmu: %s", why);
        psci::system_off();
    }

    u32 nop = measure(bench_loop_nop, 0);
    if (nop < 4 * kCalls) {
        print("guest-bench: FAIL pmu: INST_RETIRED moved %u over %lu rounds of 4 instructions", nop, kCalls);
        psci::system_off();
    }
    print("guest-bench:   NOP loop: %u instructions for %lu rounds", nop, kCalls);

    i64 ret = hvc(kUnknownFid);
    print("guest-bench:   HVC #0 with x0 = 0x%lx answers %ld (%s)", kUnknownFid, ret, psci::error_text(ret));
    figure("hvc_roundtrip_insns", diff(measure(bench_loop_hvc, kUnknownFid), nop));

    Loop psci_loop = p.conduit == Conduit::Hvc ? bench_loop_hvc : bench_loop_smc;
    u32 version = psci::version();
    print("guest-bench:   PSCI_VERSION through %s answers 0x%x", p.conduit == Conduit::Hvc ? "HVC" : "SMC", version);
    figure("psci_version_insns", diff(measure(psci_loop, psci::kVersion), nop));
    // PSCI_FEATURES(PSCI_FEATURES) (bench.S leaves x1 = x0): SUCCESS, from
    // handle_psci; the cost of a call passage answers in C++.
    figure("psci_features_insns", diff(measure(psci_loop, psci::kFeatures), nop));

    u64 gap = find_gap(p);
    if (gap == 0) {
        print("guest-bench: FAIL s2_abort_inject_insns: no gap between the memory ranges (no hypervisor?)");
    } else {
        // The MMU is off: the load is Device-nGnRnE at stage 1, and stage 2
        // has nothing there, so passage injects a synchronous external abort
        // which bench_vectors' handler skips.
        write_vbar_el1(reinterpret_cast<u64>(bench_vectors));
        isb();
        u32 load = measure(bench_loop_load, gap);
        u32 brk = measure(bench_loop_brk, 0);
        write_vbar_el1(reinterpret_cast<u64>(guest_vectors));
        isb();
        print("guest-bench:   load of 0x%lx (the gap) each round; the guest's handler skips it in 6 instructions", gap);
        figure("s2_abort_inject_insns", diff(load, nop));
        // A BRK taken at EL1 into the same handler: the guest's share.
        figure("s2_abort_guest_handler_insns", diff(brk, nop));
        figure("s2_abort_passage_insns", diff(load, brk));
    }

    vpci_figures(ctx, nop);

    print("guest-bench: done; powering off");
    psci::system_off();
}

}  // namespace guest::bench
