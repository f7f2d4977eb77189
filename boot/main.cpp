// passage_main: the boot sequence (docs/design.md, "The data flow"), from the device tree to the guest.
// Each step is a call into the portable core; this file only sequences them.
#include "console.h"
#include "guest.h"
#include "guest_boot.h"
#include "machine.h"
#include "mmu.h"
#include "options.h"
#include "passage/discover.h"
#include "passage/fdt/index.h"
#include "passage/log.h"
#include "passage/panic.h"
#include "passage/size_str.h"
#include "passage/text.h"
#include "psci.h"
#include "sysreg.h"
#include "sysreg_fields.h"

extern "C" {
extern char __image_start[], __image_end[], __text_end[], __rodata_end[];
// Set when passage stops before it has a console: read it with gdb.
char passage_early_error[192];
}

namespace passage {
namespace {

using ull = unsigned long long;

constexpr usize kMaxDtbSize = 2 * MiB;  // booting.rst: the DTB must not exceed 2 MiB

Platform g_platform;
BootOptions g_options;
// The host tree's index, built once by the check and read by every step
// after it. Kept out of BSS (~290 KiB the BSS clear would zero for nothing):
// the build writes every entry it uses. It is built with the MMU off and
// read with it on, so the linker script puts it in the early pool, which
// enable_el2_mmu cleans from the caches.
__attribute__((section(".pool.fdt_index"))) fdt::TreeIndex g_tree;

void note_early(const char* text)
{
    copy_string(passage_early_error, sizeof passage_early_error, text);
}

[[noreturn]] void early_fatal(const char* text)
{
    note_early(text);
    arch::system_off(arch::g_machine.psci);
}

const char* bootargs(const fdt::TreeIndex& t)
{
    int chosen = t.path("/chosen");
    if (chosen < 0) return nullptr;
    int len = 0;
    const char* s = static_cast<const char*>(t.prop(chosen, fdt::Name::Bootargs, &len));
    return s != nullptr && len > 0 && s[len - 1] == '\0' ? s : nullptr;
}

// passage.selftest=fault: take a deliberate data abort, to prove the report.
void run_selftest(Selftest selftest)
{
    if (selftest == Selftest::Fault) {
        log_info("selftest: reading unmapped address 0x%llx", (ull)(u64{1} << 47));
        (void)*reinterpret_cast<volatile u64*>(u64{1} << 47);
    }
}

}  // namespace
}  // namespace passage

using namespace passage;

extern "C" [[noreturn]] void passage_main(u64 dtb, u64 image_base, u64 entry_el)
{
    BootInfo& b = arch::g_machine.boot;
    b.dtb = dtb;
    b.image_base = image_base;
    b.image_end = reinterpret_cast<u64>(__image_end);
    b.text_end = reinterpret_cast<u64>(__text_end);
    b.rodata_end = reinterpret_cast<u64>(__rodata_end);
    b.entry_el = static_cast<u32>(entry_el);
    // Until the device tree says otherwise: SMC from EL2, HVC from EL1.
    arch::g_machine.psci = entry_el == 2 ? PsciMethod::Smc : PsciMethod::Hvc;
    if (entry_el == 2) arch::write_hcr_el2(arch::hcr::RW::kMask);  // E2H = 0: the EL2 regime passage is written for

    const void* fdt = reinterpret_cast<const void*>(dtb);
    Diagnostic diag;
    if (!check_device_tree(fdt, kMaxDtbSize, g_tree, diag)) early_fatal(diag.text);
    if (PsciMethod m = discover_psci_method(g_tree); m != PsciMethod::None) arch::g_machine.psci = m;
    // No console passage can drive (or none at all) is a silent boot: the
    // guest still runs. passage_early_error keeps the reason for gdb.
    // Kept for discover_platform, which would otherwise look again.
    ConsoleAnswer console;
    console.status = discover_console(g_tree, console.uart, console.diag);
    const Uart& uart = console.uart;
    if (!console.status) note_early(console.diag.text);
    else if (!uart.usable()) note_early(uart.problem);
    else console_init(uart);

    log_raw("\n");
    log_info("passage %s: arm64 hypervisor", PASSAGE_VERSION);
    log_info("  entered at EL%u, image 0x%llx-0x%llx (%s), device tree at 0x%llx", b.entry_el, (ull)b.image_base,
             (ull)(b.image_end - 1), SizeStr(b.image_end - b.image_base).c_str(), (ull)dtb);
    if (entry_el != 2) {
        log_error("passage must be entered at EL2, but was entered at EL%u.", b.entry_el);
        log_error("Under QEMU, use -machine virt,virtualization=on; on a board, hand over at EL2.");
        log_info("passage: powering off");
        arch::system_off(arch::g_machine.psci);
    }
    // A VHE-only CPU: ID_AA64MMFR4_EL1.E2H0 negative, or HCR_EL2.E2H still
    // 1 after head.S cleared it (CPUs older than that field). TCR_EL2,
    // CPTR_EL2 and CNTHCTL_EL2 there have layouts passage's nVHE EL2 does
    // not use.
    if (arch::hcr::E2H::get(arch::read_hcr_el2()) != 0 || vcpu::e2h_is_res1(arch::read_id_aa64mmfr4_el1())) {
        log_error("this CPU has HCR_EL2.E2H fixed at 1 (VHE only, ID_AA64MMFR4_EL1 0x%llx); passage runs its EL2",
                  (ull)arch::read_id_aa64mmfr4_el1());
        log_error("with E2H = 0 and cannot run here.");
        log_info("passage: powering off");
        arch::system_off(arch::g_machine.psci);
    }
    if (!parse_boot_options(bootargs(g_tree), g_options, diag)) panic("%s", diag.text);
    set_log_level(g_options.log_level);

    if (!discover_platform(g_tree, g_platform, diag, DiscoveryMode::Boot, &console)) panic("device tree: %s", diag.text);
    print_platform_summary(g_platform);

    auto mmu = arch::enable_el2_mmu(b, g_platform);
    if (!mmu) panic("EL2 MMU: cannot map 0x%llx: %s", (ull)mmu.error_addr(), error_name(mmu.error()));
    log_info("EL2 MMU on: identity map in %zu table pages, %u-bit PA", *mmu, arch::pa_bits());

    run_selftest(g_options.selftest);

    if (!g_options.guest) {  // passage.guest=off: stop after the summary
        log_info("passage: done; powering off");
        arch::system_off(arch::g_machine.psci);
    }
    boot_guest(g_tree, g_platform, g_options);
}
