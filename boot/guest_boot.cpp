#include "guest_boot.h"

#include <libfdt.h>

#include "el2_guest.h"
#include "gic_tables.h"
#include "guest.h"
#include "machine.h"
#include "options.h"
#include "selftest.h"
#include "smmu.h"
#include "sysreg.h"
#include "vconfig.h"
#include "passage/guest/guest_dtb.h"
#include "passage/guest/layout.h"
#include "passage/guest/modules.h"
#include "passage/log.h"
#include "passage/panic.h"
#include "passage/pci/enumerate.h"
#include "passage/plan/address_plan.h"
#include "passage/plan/guest_cpus.h"
#include "passage/plan/ram_encoding.h"
#include "passage/plan/stage2_build.h"
#include "passage/size_str.h"
#include "passage/stage2/page_table.h"

// The default test guest (tests/guests), linked into the image by guest_blob.S.
extern "C" const unsigned char test_guest_elf_start[], test_guest_elf_end[];

namespace passage {
namespace {

using ull = unsigned long long;

constexpr u16 kGuestVmid = 1;
constexpr u64 kSelftestScratch = 128 * KiB;

constinit pci::PciDeviceTable<> g_pci;

// The guest's stage-2 table pages (El2Stage2Env: not zeroed, not in the
// file), 64 KiB aligned for a concatenated first level.
alignas(16 * kPageSize) __attribute__((section(".pool.stage2"))) El2Stage2Pool g_stage2_pool;

// The one guest, and what the arch layer sees of it. Static: the boot
// CPU's stack is reused for traps once the guest runs; constinit: the
// table pool's allocator bitmap must start zeroed.
constinit El2Guest g_guest{kGuestVmid, g_stage2_pool};
constinit arch::GuestContext g_guest_arch;

void enumerate_pci(const Platform& p)
{
    for (usize i = 0; i < p.bridge_count; ++i) {
        const PciHostBridge& hb = p.bridges[i];
        pci::EcamAccess ecam(VirtAddr(hb.ecam_base), hb.ecam_size, hb.bus_start, hb.bus_end);
        auto stats = pci::enumerate(hb, ecam, g_pci);
        if (!stats) {
            log_error("PCI host bridge %s: cannot enumerate: %s", hb.path, error_name(stats.error()));
            continue;
        }
        log_info("PCI %04x: %zu functions, %zu bridges, buses %02x-%02x, %zu BARs assigned, %zu left disabled",
                 hb.segment, stats->functions, stats->bridges, stats->first_bus, stats->last_bus, stats->bars_assigned,
                 stats->bars_failed);
    }
    pci::print_device_table(g_pci);
    if (g_pci.size() > 0)
        log_info("PCI: every memory BAR was given a 4 KiB page of its own at least (stage 2 maps whole pages)");
}

// Each function's fate for this guest, once, for the plan, the config
// space, the SMMUs and the log.
void decide_dispositions(const Platform& p, const BootOptions& boot, bool fwb, El2Guest& guest)
{
    pci::DispositionOptions options;
    static_cast<pci::DeviceLists&>(options) = boot.devices;
    options.fwb = fwb;
    options.can_hide = vconfig_wanted(p, boot.vconfig);
    Diagnostic d;
    if (!boot.vconfig && !pci::check_direct_config(options, d)) panic("%s", d.text);
    smmu_dma_groups(p, g_pci, options);
    guest.dispositions.decide(g_pci, options);
}

void* identity(void*, u64 phys, u64) { return reinterpret_cast<void*>(phys); }
// Guest RAM is Normal in the EL2 map and the MMU is on: DC ZVA may clear it.
void zero_guest_ram(void*, u8* p, usize n) { arch::zero_normal_memory(reinterpret_cast<u64>(p), n); }

// What the trap path (arch/aarch64/trap.cpp) hands on, the guest as the
// context.
void poll_smmus(void*) { smmu_poll(); }
void report_end(void* guest)
{
    vconfig_report(*static_cast<El2Guest*>(guest));
    smmu_report_end();
}

vcpu::TrapHandlers trap_handlers(const Platform& p, El2Guest& guest)
{
    vcpu::TrapHandlers h;
    h.context = &guest;
    h.data_abort[0] = vconfig_handle_abort;
    h.word_read[0] = vconfig_read_word;
    h.data_abort[1] = gic_tables_handle_abort;
    // The ECAMs first (the hot ones), and no range of one handler overlaps
    // the other's: the order of the look-up is the only cost.
    vconfig_routes(p, guest, h.routes, 0);
    gic_tables_routes(h.routes, 1);
    h.explain_abort = vconfig_explain_abort;
    h.poll = smmu_enabled() ? poll_smmus : nullptr;  // a trap without an SMMU on pays nothing
    h.report_end = report_end;
    return h;
}

// The SMMUs walk the guest's stage 2 too: its changes reach their TLBs.
void smmu_inval_ipa(void* guest, u64 ipa, bool leaf)
{
    smmu_invalidate_ipa(static_cast<El2Guest*>(guest)->vmid(), ipa, leaf);
}
void smmu_inval_all(void* guest) { smmu_invalidate_all(static_cast<El2Guest*>(guest)->vmid()); }

// Zeroes the parts of [r.base, r.end()) that lie in guest RAM and cleans
// them to the point of coherency: the guest starts with its caches off.
void clear_in_guest_ram(const El2Guest& guest, const MemRange& r)
{
    for (usize i = 0; i < guest.plan.ram_count; ++i) {
        const MemRange& ram = guest.plan.ram[i];
        u64 lo = r.base > ram.base ? r.base : ram.base;
        u64 hi = r.end() < ram.end() ? r.end() : ram.end();
        if (lo >= hi) continue;
        // DC ZVA a block at a time (guest RAM is Normal at EL2 and the MMU
        // is on): word stores were 0.1 M instructions of the boot for the
        // scratch and the host tree.
        arch::zero_normal_memory(lo, hi - lo);
        arch::dcache_clean_poc(lo, hi - lo);
    }
}

// What the guest is made of and where it may go, before anything is placed.
struct GuestRequest {
    LinuxImage linux_image;
    ElfImage elf;
    LayoutRequest req;
    GuestPayload payload;
    MemRange keep[Platform::kMaxReserved + Platform::kMaxSpinRelease + 1];
    const char* what = "";
};

constinit GuestRequest g_request;

struct LoadedGuest {
    GuestLayout layout;
};

void prepare(const void* fdt, const Platform& p, const BootModules& mods, const El2Guest& guest, GuestRequest& g)
{
    Diagnostic d;
    LinuxImage& linux_image = g.linux_image;
    ElfImage& elf = g.elf;
    LayoutRequest& req = g.req;
    req.ram = {guest.plan.ram, guest.plan.ram_count};
    GuestPayload& payload = g.payload;
    const char*& what = g.what;
    if (mods.has_kernel) {
        payload.image = reinterpret_cast<const u8*>(mods.kernel.base);
        payload.image_size = mods.kernel.size;
        req.image_source = mods.kernel;
        what = "boot module";
    } else {
        payload.image = test_guest_elf_start;
        payload.image_size = usize(test_guest_elf_end - test_guest_elf_start);
        what = "built-in test guest";
    }
    if (looks_like_elf(payload.image, payload.image_size)) {
        if (!parse_elf(payload.image, payload.image_size, elf, d)) panic("%s: %s", what, d.text);
        req.elf = &elf;
    } else {
        if (!parse_linux_image(payload.image, payload.image_size, linux_image, d)) panic("%s: %s", what, d.text);
        if (linux_image.old_kernel) log_warn("%s: image_size is 0 (a kernel before 3.17): assuming text_offset 0x80000", what);
        req.linux_image = &linux_image;
    }
    if (mods.has_initrd) {
        req.has_initrd = true;
        req.initrd_source = mods.initrd;
        payload.initrd = reinterpret_cast<const u8*>(mods.initrd.base);
        payload.initrd_size = mods.initrd.size;
    }
    MemRange* keep = g.keep;
    usize nkeep = 0;
    keep[nkeep++] = {arch::g_machine.boot.dtb, fdt_totalsize(fdt)};
    for (usize i = 0; i < p.reserved_count; ++i) keep[nkeep++] = p.reserved[i];
    for (usize i = 0; i < p.spin_release_count; ++i) keep[nkeep++] = p.spin_release[i];  // unmapped: never load there
    req.keep = {keep, nkeep};
}

LoadedGuest load(const void* fdt, const Platform& p, const BootModules& mods, const El2Guest& guest, const GuestRequest& r,
                 ProbeOnly asked)
{
    Diagnostic d;
    const LayoutRequest& req = r.req;
    const char* what = r.what;
    LoadedGuest g;
    if (!plan_guest_layout(req, g.layout, d)) panic("%s", d.text);
    if (!load_guest(req, g.layout, r.payload, PhysAccess{identity, nullptr, zero_guest_ram}, d)) panic("%s", d.text);

    GuestDtbConfig cfg;
    cfg.ram = {guest.plan.ram, guest.plan.ram_count};
    cfg.cpus = guest.cpu_plan.list();
    cfg.unmapped = {p.spin_release, p.spin_release_count};
    cfg.bootargs = mods.has_kernel ? mods.bootargs : nullptr;
    cfg.has_initrd = g.layout.has_initrd;
    cfg.initrd_start = g.layout.initrd_base;
    cfg.initrd_end = g.layout.initrd_base + g.layout.initrd_size;
    // linux,pci-probe-only keeps Linux from reassigning BARs. Direct config
    // space needs it (stage 2 cannot follow a move); with virtual config
    // space passage follows moves, so it is left out unless asked for.
    cfg.pci_probe_only = !vconfig_enabled(guest) || asked == ProbeOnly::On;
    if (!vconfig_enabled(guest) && asked == ProbeOnly::Off)
        log_warn("guest: passage.probe_only=off ignored: config space is direct, stage 2 cannot follow BAR moves");
    if (cfg.pci_probe_only) log_info("guest: linux,pci-probe-only: the guest keeps the BARs passage assigned");
    else log_info("guest: no linux,pci-probe-only: the guest may move BARs; passage follows");
    auto size = build_guest_dtb(fdt, reinterpret_cast<void*>(g.layout.dtb_base), g.layout.dtb_size, cfg, d);
    if (!size) panic("guest device tree: %s", d.text);

    log_info("guest: %s, %s at 0x%llx (%s), entry 0x%llx%s", what, req.elf ? "ELF" : "Linux Image",
             (ull)g.layout.kernel_base, SizeStr(align_up(g.layout.kernel_size, kPageSize)).c_str(), (ull)g.layout.entry,
             g.layout.kernel_in_place ? ", where it was loaded" : "");
    if (g.layout.has_initrd)
        log_info("guest: initrd at 0x%llx (%llu bytes)%s", (ull)g.layout.initrd_base, (ull)g.layout.initrd_size,
                 g.layout.initrd_in_place ? ", where it was loaded" : "");
    log_info("guest: device tree at 0x%llx (%zu bytes)%s%s", (ull)g.layout.dtb_base, *size,
             cfg.bootargs ? ", bootargs: " : "", cfg.bootargs ? cfg.bootargs : "");

    // The guest starts with its MMU and caches off: everything written for it
    // must be in memory, not only in the caches.
    arch::dcache_clean_poc(g.layout.kernel_base, g.layout.kernel_size);
    if (g.layout.has_initrd) arch::dcache_clean_poc(g.layout.initrd_base, g.layout.initrd_size);
    arch::dcache_clean_poc(g.layout.dtb_base, *size);
    arch::icache_inval_all_is();
    return g;
}

}  // namespace

void boot_guest(const fdt::TreeIndex& tree, const Platform& p, const BootOptions& options)
{
    const void* fdt = tree.blob();
    smmu_takeover(p, options.smmu, options.smmu_2level);  // DMA aborts from here on, until the stream table says otherwise
    enumerate_pci(p);

    BootModules mods;
    Diagnostic d;
    if (!discover_boot_modules(tree, mods, d)) panic("boot modules: %s", d.text);

    El2Guest& guest = g_guest;
    plan::GuestCpus chosen;
    if (!plan::choose_guest_cpus(p, arch::read_mpidr_el1(), chosen, d)) panic("%s", d.text);
    plan::print_guest_cpus(p, chosen);
    guest.set_cpus(chosen);

    arch::CpuFeaturesEl2 features = arch::read_cpu_features();
    // One table for CPU and SMMU: FWB encodings only if every SMMU reads them.
    if (features.fwb && !smmu_allows_fwb()) log_info("stage 2: FWB left off: an SMMU translating for the guest has no FWB");
    stage2::Encoding enc = plan::choose_ram_encoding(p, features.fwb && smmu_allows_fwb());
    decide_dispositions(p, options, enc.fwb, guest);
    MemRange hyp{arch::g_machine.boot.image_base, arch::g_machine.boot.image_end - arch::g_machine.boot.image_base};
    if (!plan::build_plan(p, g_pci, guest.dispositions, hyp, guest.plan, d)) panic("guest plan: %s", d.text);
    gic_tables_prepare(p, guest.plan);
    (void)vconfig_prepare(p, guest, hyp, options.vconfig);
    plan::print_plan(guest.plan);
    for (usize i = 0; i < p.no_map_count; ++i)
        log_info("guest: no-map reserved memory 0x%llx-0x%llx: not mapped in stage 2 nor at EL2; the guest DTB keeps it reserved",
                 (ull)p.no_map[i].base, (ull)(p.no_map[i].end() - 1));

    auto cpu = stage2::CpuFeatures::from_id_regs(arch::read_id_aa64mmfr0_el1(), arch::read_id_aa64mmfr1_el1(),
                                                 arch::read_id_aa64mmfr2_el1());
    // QEMU 10.0's SMMU model mishandles concatenated first-level tables:
    // where an SMMU walks the table too, one root table (one level more).
    auto geo = stage2::make_geometry(cpu, plan::ipa_bits_for(guest.plan), smmu_will_walk());
    if (!geo) panic("stage 2: no geometry for a %u-bit IPA space: %s", plan::ipa_bits_for(guest.plan), error_name(geo.error()));
    if (auto created = guest.create_table(*geo, enc); !created)
        panic("stage 2: no first-level table: %s", error_name(created.error()));
    GuestTable* table = &guest.table();
    if (!plan::map_plan(*table, guest.plan, d)) panic("%s", d.text);
    log_info("stage 2: %u-bit IPA, start level %u, %u concatenated, %zu table pages, VTCR_EL2 0x%llx", geo->ipa_bits,
             geo->start_level, geo->concat, table->table_pages(), (ull)table->vtcr());
    vconfig_start(p, g_pci, guest);
    if (smmu_needs_clean(p)) guest.env().clean_for_dma();
    smmu_start(p, g_pci, guest.dispositions, guest.smmu_context());
    // From here on the SMMUs walk the table with the CPU; before, none was on.
    if (smmu_enabled()) guest.env().set_iommu({&guest, smmu_inval_ipa, smmu_inval_all});
    if (options.dma_selftest) smmu_dma_selftest(p, g_pci, guest.dispositions);
    table->dump("of the guest");

    arch::GuestContext& ctx = g_guest_arch;
    ctx.hw = arch::make_guest_hw(features, p.gic.version, table->vtcr(), table->vttbr(guest.vmid()), enc);
    ctx.cpus = &guest.cpus;
    ctx.cpus_lock = &guest.cpus_lock;
    ctx.ram = {guest.plan.ram, guest.plan.ram_count};
    ctx.handlers = trap_handlers(p, guest);
    const usize boot_cpu = guest.cpu_plan.boot;
    arch::configure_el2_for_guest(ctx.hw);

    GuestRequest& request = g_request;
    prepare(fdt, p, mods, guest, request);
    if (options.selftest != Selftest::Off) {
        // Its scratch is free by the layout's rules (clear of the host DTB,
        // reserved memory and the boot modules) and cleared afterwards.
        MemRange scratch;
        if (!find_free_ram(request.req, kSelftestScratch, kPageSize, scratch, d)) panic("self-test: %s", d.text);
        log_info("self-test: scratch at 0x%llx-0x%llx, free guest RAM, cleared after", (ull)scratch.base,
                 (ull)(scratch.end() - 1));
        if (!arch::run_attr_selftest(guest.plan, enc, scratch)) panic("self-test: memory types are not as planned");
        clear_in_guest_ram(guest, scratch);
    }

    LoadedGuest g = load(fdt, p, mods, guest, request, options.probe_only);
    // libfdt never runs after this (docs/design.md): the host's tree, with
    // passage's command line and the GIC's hypervisor frames, is wiped from
    // guest RAM before the guest's first instruction.
    const MemRange host_dtb{arch::g_machine.boot.dtb, fdt_totalsize(fdt)};
    clear_in_guest_ram(guest, host_dtb);
    log_info("guest: host device tree at 0x%llx (%llu bytes) wiped from guest RAM",
             (ull)host_dtb.base, (ull)host_dtb.size);
    // From here on libfdt (which uses FP/SIMD) must not run: the guest owns those registers.
    log_info("passage: entering the guest at 0x%llx on cpu%zu at EL1, x0 = 0x%llx", (ull)g.layout.entry, boot_cpu,
             (ull)g.layout.dtb_base);
    log_raw("\n");
    arch::run_guest(ctx, boot_cpu, g.layout.entry, g.layout.dtb_base);
}

}  // namespace passage
