// The checks, in the order the guest runs them. Each prints exactly one
// "guest: PASS|FAIL|SKIP <name>" line (ivshmem prints two), after any
// indented "guest:   ..." detail lines.
#pragma once

#include "fdt.h"
#include "pci.h"

namespace guest {

struct Context {
    GuestPlatform plat;
    bool standalone;  // x0 was 0: QEMU loaded us, no hypervisor underneath
    pci::Scan pci;
    bool pci_scanned;
};

void check_el1(Context& ctx);
void check_dtb(Context& ctx);
void check_ram_clean(Context& ctx);  // before anything writes outside the image
void check_no_map(Context& ctx);     // no-map reserved memory aborts
void check_psci_version(Context& ctx);
void check_calls(Context& ctx);  // HVC/SMC answers and the registers they keep
bool setup_mmu(Context& ctx);  // prints FAIL mmu on failure only
void check_pci_scan(Context& ctx);
void check_config_ldp(Context& ctx);  // an undecodable config access
void check_ivshmem(Context& ctx);  // ivshmem-nc and ivshmem-device
void check_pci_testdev(Context& ctx);
void check_dma(Context& ctx);          // edu DMA under the SMMU: dma-copy, dma-read-blocked, dma-write-blocked
void check_dma_bar(Context& ctx);      // edu DMA into ivshmem BAR2 before and after the guest moves it
void check_smmu_hidden(Context& ctx);
void check_gic_tables(Context& ctx);   // GICR_PENDBASER / GITS_CBASER aimed at passage are not taken  // no SMMU in the DTB; its registers abort
void check_bar_move(Context& ctx);  // after pci-testdev: moves its BAR0
void check_bar_subpage(Context& ctx);  // ivshmem's BAR0 off its page offset: trapped
void check_bar_io(Context& ctx);       // virtio-blk's I/O BAR at another port: forwarded
void check_bar_chaos(Context& ctx);    // random writes to every BAR, window and Command, then restored
void check_bbm_race(Context& ctx);     // a BAR read on cpu1 while stage 2 splits and folds around it
void check_abort_in_hypervisor(Context& ctx);
void check_loads(Context& ctx);  // a trapped load into each of x0-x28: that register only changes
void check_flood(Context& ctx);  // thousands of unknown calls and refused reads: right answers, a quiet log
void check_mops(Context& ctx);  // a MOPS exception restarted by the hypervisor
void check_cpu_on(Context& ctx);

}  // namespace guest
