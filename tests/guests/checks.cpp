#include "checks.h"

#include "console.h"
#include "exceptions.h"
#include "mmu.h"
#include "psci.h"
#include "secondary.h"
#include "testdev.h"

namespace guest {

namespace {

constexpr u64 kPage = 4096;
constexpr u64 page_down(u64 a) { return a & ~(kPage - 1); }
constexpr u64 page_up(u64 a) { return (a + kPage - 1) & ~(kPage - 1); }

// Where the Device-nGnRE alias of the ivshmem BAR lives: a VA far from the
// identity map (which covers physical addresses below 2^48 only where
// something is mapped).
constexpr u64 kDeviceAliasVa = 0x7f0000000000ull;
constexpr u64 kIvshmemWindow = 64 * 1024;  // how much of BAR2 the checks map

const pci::Function* find_function(const Context& ctx, u16 vendor, u16 device)
{
    for (unsigned i = 0; i < ctx.pci.count; ++i)
        if (ctx.pci.fns[i].vendor == vendor && ctx.pci.fns[i].device == device) return &ctx.pci.fns[i];
    return nullptr;
}

// PAR_EL1.ATTR of a VA after AT S1E1R, or -1 on a translation fault.
int s1_attr(u64 va)
{
    u64 par = mmu::translate(va);
    return par & 1 ? -1 : static_cast<int>(par >> 56);
}

u64 pattern(u64 i, u64 seed) { return (i * 0x9e3779b97f4a7c15ull) ^ seed; }

// Writes n words through `to`, reads them back through `from`.
bool cross_check(u64 to, u64 from, unsigned n, u64 seed, unsigned& bad, u64& got, u64& want)
{
    for (unsigned i = 0; i < n; ++i) mmio_write64(to + 8 * i, pattern(i, seed));
    dsb_sy();
    for (unsigned i = 0; i < n; ++i) {
        u64 v = mmio_read64(from + 8 * i);
        if (v != pattern(i, seed)) {
            bad = i;
            got = v;
            want = pattern(i, seed);
            return false;
        }
    }
    return true;
}

}  // namespace

void check_el1(Context&)
{
    u64 el = (read_currentel() >> 2) & 3;
    if (el == 1) pass("el1");
    else fail("el1", "running at EL%lu", el);
}

void check_dtb(Context& ctx)
{
    const GuestPlatform& p = ctx.plat;
    const char* name = "dtb";
    if (p.fdt_error) return fail(name, "bad header at 0x%lx: %s", reinterpret_cast<u64>(p.fdt), fdt_error_text(p.fdt_error));
    char sz[24];
    for (unsigned i = 0; i < p.mem_count; ++i)
        info("memory 0x%lx-0x%lx (%s)", p.mem[i].base, p.mem[i].end() - 1, size_text(p.mem[i].size, sz));
    info("console pl011 0x%lx", p.uart);
    if (p.psci) info("psci method %s", p.psci_method);
    if (p.ecam)
        info("ecam 0x%lx (%s) buses %02x-%02x%s", p.ecam_base, size_text(p.ecam_size, sz), p.bus_first, p.bus_last,
             p.probe_only ? ", linux,pci-probe-only" : "");
    for (unsigned i = 0; i < p.window_count; ++i) {
        const PciWindow& w = p.windows[i];
        static constexpr const char* kSpace[] = {"?", "io", "mem32", "mem64"};
        info("  %s%s cpu 0x%lx pci 0x%lx (%s)", kSpace[w.space], w.prefetchable ? " pref" : "", w.cpu_base, w.pci_base,
             size_text(w.size, sz));
    }
    info("cpus %u", p.cpu_count);

    if (!p.mem_count) return fail(name, "no memory node");
    if (!p.psci) return fail(name, "no /psci node");
    if (p.conduit != Conduit::Smc) {
        if (!(ctx.standalone && p.conduit == Conduit::Hvc)) return fail(name, "psci method \"%s\", expected smc", p.psci_method);
        info("standalone: QEMU's own PSCI answers HVC; passage's guest DTB says smc");
    }
    if (!p.ecam) return fail(name, "no pci-host-ecam-generic node");
    pass(name);
}

void check_psci_version(Context&)
{
    u32 v = psci::version();
    info("psci version %u.%u (0x%x)", v >> 16, v & 0xffff, v);
    if (static_cast<int32_t>(v) < 0) return fail("psci-version", "PSCI_VERSION returned %d", static_cast<int32_t>(v));
    if (v < 0x10000) return fail("psci-version", "version 0x%x is below 1.0", v);
    pass("psci-version");
}

bool setup_mmu(Context& ctx)
{
    const GuestPlatform& p = ctx.plat;
    bool image_in_ram = false;
    for (unsigned i = 0; i < p.mem_count; ++i) {
        u64 base = page_up(p.mem[i].base), end = page_down(p.mem[i].end());
        if (end > base && !mmu::map(base, base, end - base, mmu::Mem::NormalWB)) {
            fail("mmu", "cannot map RAM 0x%lx-0x%lx", base, end - 1);
            return false;
        }
        if (image_start() >= base && image_end() <= end) image_in_ram = true;
    }
    if (!image_in_ram) {
        fail("mmu", "the guest image 0x%lx-0x%lx is not in any memory range", image_start(), image_end() - 1);
        return false;
    }
    if (!mmu::map(page_down(p.uart), page_down(p.uart), kPage, mmu::Mem::DeviceNGnRE) ||
        (p.ecam && !mmu::map(p.ecam_base, p.ecam_base, p.ecam_size, mmu::Mem::DeviceNGnRnE))) {
        fail("mmu", "cannot map the console or the ECAM");
        return false;
    }
    mmu::enable();
    info("stage 1 on: RAM %s, console %s, ECAM %s; %u table pages", mmu::mem_name(mmu::Mem::NormalWB),
         mmu::mem_name(mmu::Mem::DeviceNGnRE), mmu::mem_name(mmu::Mem::DeviceNGnRnE), mmu::tables_used());
    return true;
}

void check_pci_scan(Context& ctx)
{
    const GuestPlatform& p = ctx.plat;
    if (!p.ecam) return fail("pci-scan", "no ECAM in the device tree");
    pci::Ecam ecam(p.ecam_base, p.bus_first, p.bus_last);
    ctx.pci = pci::scan(ecam);
    ctx.pci_scanned = true;
    if (ctx.standalone) {
        unsigned n = pci::assign_bars_standalone(ecam, p, ctx.pci);
        info("standalone: no hypervisor assigned the BARs; assigned %u myself", n);
    }
    for (unsigned i = 0; i < ctx.pci.count; ++i) {
        const pci::Function& f = ctx.pci.fns[i];
        char line[200];
        unsigned len = 0;
        for (unsigned b = 0; b < 6; ++b) {
            const pci::Bar& bar = f.bars[b];
            if (!bar.present || len >= sizeof line - 60) continue;
            char part[60];
            format_into(part, sizeof part, " bar%u 0x%lx%s%s", b, bar.addr, bar.is64 ? " 64-bit" : "",
                        bar.prefetchable ? " pref" : "");
            for (const char* c = part; *c; ++c) line[len++] = *c;
        }
        line[len] = '\0';
        info("%02x:%02x.%u %04x:%04x%s%s", f.bus, f.dev, f.fn, f.vendor, f.device, f.header_type == 1 ? " bridge" : "",
             line);
    }
    if (ctx.pci.truncated) info("more than %u functions: the rest not listed", pci::Scan::kMax);
    if (!ctx.pci.count) return fail("pci-scan", "no function on bus %02x (ECAM 0x%lx)", p.bus_first, p.ecam_base);
    info("%u functions", ctx.pci.count);
    pass("pci-scan");
}

void check_config_ldp(Context& ctx)
{
    const char* name = "config-ldp";
    const GuestPlatform& p = ctx.plat;
    if (!p.ecam) return fail(name, "no ECAM in the device tree");
    // A load pair of 00:00.0's first 8 bytes. Trapped, it cannot be
    // emulated (ESR_EL2.ISV = 0): the hypervisor must inject an external
    // abort, not hang. Mapped directly (passage.vpci=off, standalone), it
    // reads what two single loads read.
    u64 addr = p.ecam_base;
    u32 lo = 0, hi = 0;
    expect_abort();
    u64 pc;
    asm volatile("adr %0, 1f\n"
                 "1: ldp %w1, %w2, [%3]"
                 : "=&r"(pc), "+r"(lo), "+r"(hi)
                 : "r"(addr)
                 : "memory");
    AbortRecord r = take_abort_record();
    if (!r.taken) {
        u32 want_lo = mmio_read32(addr), want_hi = mmio_read32(addr + 4);
        if (lo != want_lo || hi != want_hi)
            return fail(name, "ldp of 0x%lx read 0x%x 0x%x, single loads read 0x%x 0x%x", addr, lo, hi, want_lo, want_hi);
        info("ldp of 0x%lx read 0x%x 0x%x: config space is mapped directly", addr, lo, hi);
        return pass(name);
    }
    info("ldp of 0x%lx: abort, ESR 0x%lx (EC 0x%x, FSC 0x%x) FAR 0x%lx", addr, r.esr, esr_ec(r.esr), esr_fsc(r.esr), r.far);
    if (r.vector != kVectorCurrentSpxSync || esr_ec(r.esr) != kEcDataAbortSameEl || esr_fsc(r.esr) != kFscSyncExternal)
        return fail(name, "expected a synchronous external abort (EC 0x25, FSC 0x10) at VBAR_EL1+0x200");
    if (r.far != addr || r.elr != pc) return fail(name, "FAR 0x%lx ELR 0x%lx, expected 0x%lx and 0x%lx", r.far, r.elr, addr, pc);
    pass(name);
}

void check_ivshmem(Context& ctx)
{
    const pci::Function* f = ctx.pci_scanned ? find_function(ctx, 0x1af4, 0x1110) : nullptr;
    if (!f) {
        skip("ivshmem-nc", "no ivshmem-plain (1af4:1110) attached");
        skip("ivshmem-device", "no ivshmem-plain (1af4:1110) attached");
        return;
    }
    const pci::Bar& bar = f->bars[2];
    if (!bar.present || !bar.is64) {
        fail("ivshmem-nc", "%02x:%02x.%u BAR2 is not an assigned 64-bit memory BAR", f->bus, f->dev, f->fn);
        fail("ivshmem-device", "%02x:%02x.%u BAR2 is not an assigned 64-bit memory BAR", f->bus, f->dev, f->fn);
        return;
    }
    const GuestPlatform& p = ctx.plat;
    pci::enable_memory(pci::Ecam(p.ecam_base, p.bus_first, p.bus_last), *f);
    u64 pa = pci::cpu_address(p, bar.addr);
    u64 nc = pa;                 // identity alias, Normal-NC (write-combining)
    u64 dev = kDeviceAliasVa;    // second alias, Device-nGnRE
    if (!mmu::map(nc, pa, kIvshmemWindow, mmu::Mem::NormalNC) ||
        !mmu::map(dev, pa, kIvshmemWindow, mmu::Mem::DeviceNGnRE)) {
        fail("ivshmem-nc", "cannot map BAR2 0x%lx", pa);
        fail("ivshmem-device", "cannot map BAR2 0x%lx", pa);
        return;
    }
    info("ivshmem %02x:%02x.%u BAR2 0x%lx: va 0x%lx Normal-NC (attr 0x%x), va 0x%lx Device-nGnRE (attr 0x%x)", f->bus,
         f->dev, f->fn, pa, nc, s1_attr(nc), dev, s1_attr(dev));

    // 4 KiB each way, in different halves of the window.
    constexpr unsigned kWords = 512;
    unsigned bad;
    u64 got, want;
    if (cross_check(nc, dev, kWords, 0x4e43'0000'0000'0001ull, bad, got, want)) pass("ivshmem-nc");
    else fail("ivshmem-nc", "wrote through Normal-NC, word %u reads 0x%lx through Device, expected 0x%lx", bad, got, want);
    u64 half = kIvshmemWindow / 2;
    if (cross_check(dev + half, nc + half, kWords, 0x4456'0000'0000'0002ull, bad, got, want)) pass("ivshmem-device");
    else fail("ivshmem-device", "wrote through Device, word %u reads 0x%lx through Normal-NC, expected 0x%lx", bad, got, want);
}

void check_pci_testdev(Context& ctx)
{
    const char* name = "pci-testdev";
    const pci::Function* f = ctx.pci_scanned ? find_function(ctx, 0x1b36, 0x0005) : nullptr;
    if (!f) return skip(name, "no pci-testdev (1b36:0005) attached");
    const pci::Bar& bar = f->bars[0];
    if (!bar.present) return fail(name, "%02x:%02x.%u BAR0 is not an assigned memory BAR", f->bus, f->dev, f->fn);
    const GuestPlatform& p = ctx.plat;
    pci::enable_memory(pci::Ecam(p.ecam_base, p.bus_first, p.bus_last), *f);
    u64 base = pci::cpu_address(p, bar.addr);
    if (!mmu::map(base, base, kPage, mmu::Mem::DeviceNGnRE)) return fail(name, "cannot map BAR0 0x%lx", base);
    testdev::Run r = testdev::run(base);
    if (!r.ok)
        return fail(name, "BAR0 0x%lx: %s (width %u, offset 0x%x, count %u -> %u after %u writes)", base, r.error, r.width,
                    r.offset, r.before, r.after, r.writes);
    info("pci-testdev %02x:%02x.%u BAR0 0x%lx: test 0 \"%s\", %u writes of 0x%x at +0x%x: count %u -> %u", f->bus,
         f->dev, f->fn, base, r.test, r.writes, r.data, r.offset, r.before, r.after);
    pass(name);
}

void check_abort_in_hypervisor(Context& ctx)
{
    const char* name = "abort-in-hypervisor";
    const GuestPlatform& p = ctx.plat;
    u64 hole = 0, hole_end = 0;
    for (unsigned i = 0; i + 1 < p.mem_count && !hole; ++i)
        if (p.mem[i].end() < p.mem[i + 1].base) hole = p.mem[i].end(), hole_end = p.mem[i + 1].base;
    if (!hole)
        return fail(name, "no gap between the %u memory range(s): cannot find the hypervisor's region", p.mem_count);
    info("gap 0x%lx-0x%lx (the hypervisor's region): reading 0x%lx", hole, hole_end - 1, hole);

    // Stage 1 maps the page (Device, so nothing is read speculatively); it is
    // stage 2 that must refuse it.
    if (!mmu::map(page_down(hole), page_down(hole), kPage, mmu::Mem::DeviceNGnRnE))
        return fail(name, "cannot map 0x%lx at stage 1", hole);
    Probe probe = probe_read32(hole);
    const u64 pc = probe.pc;
    const AbortRecord& r = probe.abort;
    if (!r.taken) return fail(name, "read of 0x%lx returned 0x%x: the hypervisor's memory is readable", hole, probe.value);
    info("abort at VBAR_EL1+0x%x: ESR 0x%lx (EC 0x%x, FSC 0x%x) FAR 0x%lx ELR 0x%lx", r.vector * 0x80, r.esr,
         esr_ec(r.esr), esr_fsc(r.esr), r.far, r.elr);
    if (r.vector != kVectorCurrentSpxSync)
        return fail(name, "abort taken at VBAR_EL1+0x%x, expected +0x200", r.vector * 0x80);
    if (esr_ec(r.esr) != kEcDataAbortSameEl) return fail(name, "EC 0x%x, expected 0x25", esr_ec(r.esr));
    if (esr_fsc(r.esr) != kFscSyncExternal) return fail(name, "FSC 0x%x, expected 0x10", esr_fsc(r.esr));
    if (r.far != hole) return fail(name, "FAR 0x%lx, expected 0x%lx", r.far, hole);
    if (r.elr != pc) return fail(name, "ELR 0x%lx, expected the load at 0x%lx", r.elr, pc);
    pass(name);
}

void check_cpu_on(Context& ctx)
{
    const char* name = "cpu-on";
    const GuestPlatform& p = ctx.plat;
    u64 me = my_mpidr();
    u64 target = ~0ull;
    for (unsigned i = 0; i < p.cpu_count && target == ~0ull; ++i)
        if (p.cpus[i] != me) target = p.cpus[i];
    if (target == ~0ull) return skip(name, "only one CPU in /cpus (mine, 0x%lx)", me);

    // The secondary starts with its MMU off: it reads memory (the PSCI
    // conduit, its stack) and writes the mailbox without the caches. Put
    // everything it reads in memory, and the zeroed mailbox too.
    constexpr u64 kContext = 0x5ec0'0d00'c0de'0001ull;
    volatile Mailbox* box = &g_mailbox;
    box->mpidr = 0;
    box->context = 0;
    box->cpu_off_returned = 0;
    box->cpu_off_result = 0;
    dcache_clean_poc(image_start(), image_end() - image_start());

    u64 entry = reinterpret_cast<u64>(secondary_entry);
    info("CPU_ON 0x%lx at 0x%lx, context 0x%lx", target, entry, kContext);
    i64 ret = psci::cpu_on(target, entry, kContext);
    if (ret != 0) return fail(name, "CPU_ON(0x%lx) returned %ld (%s)", target, ret, psci::error_text(ret));

    u64 mb = reinterpret_cast<u64>(&g_mailbox);
    u64 deadline = deadline_after_ms(2000);
    u64 seen = 0;
    while (!expired(deadline)) {
        dcache_clean_inval_poc(mb, sizeof(Mailbox));  // drop our copy: read what the secondary wrote to memory
        if ((seen = box->context) != 0) break;
    }
    if (seen != kContext) {
        if (!seen) return fail(name, "the secondary 0x%lx did not check in within 2 s", target);
        return fail(name, "the secondary received context 0x%lx, expected 0x%lx", seen, kContext);
    }
    info("secondary 0x%lx checked in with context 0x%lx", box->mpidr, seen);

    deadline = deadline_after_ms(2000);
    i64 state;
    do {
        state = psci::affinity_info(target);
    } while (state != psci::kAffinityOff && state >= 0 && !expired(deadline));
    dcache_clean_inval_poc(mb, sizeof(Mailbox));
    if (box->cpu_off_returned)
        return fail(name, "CPU_OFF returned %ld (%s) on the secondary", static_cast<i64>(box->cpu_off_result),
                    psci::error_text(static_cast<i64>(box->cpu_off_result)));
    if (state != psci::kAffinityOff)
        return fail(name, "AFFINITY_INFO(0x%lx) is %ld after CPU_OFF, expected 1 (OFF) within 2 s", target, state);
    info("AFFINITY_INFO(0x%lx) = 1 (OFF)", target);
    if (box->mpidr != target) return fail(name, "the secondary reports MPIDR 0x%lx, expected 0x%lx", box->mpidr, target);
    pass(name);
}

}  // namespace guest
