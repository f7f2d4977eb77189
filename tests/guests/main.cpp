// The passage test guest: reports what it sees, one line per check, then
// powers off with PSCI SYSTEM_OFF.
#include "bench.h"
#include "checks.h"
#include "console.h"
#include "psci.h"

namespace guest {

namespace {

// QEMU -kernel with an ELF enters with x0 = 0 and puts the DTB at the start
// of RAM (0x40000000 on virt) when the ELF leaves room there. Only used when
// x0 is 0, i.e. when no hypervisor loaded us.
constexpr u64 kQemuElfDtb = 0x40000000;

Context g_ctx;

}  // namespace

// For gdb when the guest stops before it has a console.
extern "C" {
const char* guest_early_error = nullptr;
}

extern "C" [[noreturn]] void guest_main(u64 dtb, u64 count_at_entry)
{
    Context& ctx = g_ctx;
    ctx.standalone = dtb == 0;
    ctx.plat = discover(reinterpret_cast<const void*>(ctx.standalone ? kQemuElfDtb : dtb));
    if (ctx.plat.conduit != Conduit::None) psci::set_conduit(ctx.plat.conduit);
    if (!ctx.plat.uart) {
        guest_early_error = ctx.plat.fdt_error ? "unreadable device tree" : "no PL011 at /chosen/stdout-path";
        psci::system_off();
    }
    console_init(ctx.plat.uart);

    print("guest: passage test guest, dtb 0x%lx%s", reinterpret_cast<u64>(ctx.plat.fdt),
          ctx.standalone ? " (x0 = 0: standalone, QEMU's DTB at the start of RAM)" : "");
    if (bench::requested(ctx.plat.bootargs)) bench::run(ctx, count_at_entry);  // instead of the checks

    check_el1(ctx);
    check_dtb(ctx);
    check_ram_clean(ctx);
    check_no_map(ctx);
    check_psci_version(ctx);
    check_calls(ctx);
    if (setup_mmu(ctx)) {
        check_pci_scan(ctx);
        check_config_ldp(ctx);
        check_ivshmem(ctx);
        check_pci_testdev(ctx);
        check_dma(ctx);
        check_dma_bar(ctx);
        check_smmu_hidden(ctx);
        check_gic_tables(ctx);
        check_bar_move(ctx);
        check_bar_subpage(ctx);
        check_bar_io(ctx);
        check_bar_chaos(ctx);
        check_bbm_race(ctx);
        check_abort_in_hypervisor(ctx);
        check_loads(ctx);
        check_flood(ctx);
        check_mops(ctx);
    } else {
        static constexpr const char* kNeedMmu[] = {"pci-scan", "config-ldp", "ivshmem-nc", "ivshmem-device", "pci-testdev",
                                                   "bar-move", "abort-in-hypervisor", "loads"};
        for (const char* name : kNeedMmu) fail(name, "no stage-1 MMU (see the mmu line)");
    }
    check_cpu_on(ctx);

    print("guest: done: %u passed, %u failed", passed_count(), failed_count());
    psci::system_off();
}

}  // namespace guest

// libfdt is built with the stack protector.
extern "C" {
unsigned long __stack_chk_guard = 0x5a17c0de2b4f9e61ul;
[[noreturn]] void __stack_chk_fail()
{
    guest::print("guest: FAIL stack protector: stack smashed; powering off");
    guest::psci::system_off();
}
}
