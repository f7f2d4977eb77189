// The environment the stage-2 engine runs in, injected as a template
// parameter: table memory, entry stores, barriers and TLB maintenance.
// At EL2 it is the real thing (hyp/arch/aarch64/stage2_env.h); in host
// tests it is an arena and a recorder.
#pragma once

#include <concepts>

#include "passage/result.h"
#include "passage/types.h"

namespace passage::stage2 {

template <typename E>
concept Stage2Env = requires(E& env, PhysAddr pa, IpaAddr ipa, usize pages, u64* slot, u64 value) {
    // `pages` contiguous 4 KiB pages (1, or a power of two up to 16 for a
    // concatenated first-level table) aligned to their total size. Contents
    // are unspecified; the engine initialises every table it takes.
    { env.alloc_pages(pages) } -> std::same_as<Result<PhysAddr>>;
    { env.free_pages(pa, pages) } -> std::same_as<void>;
    // Where the engine reads and writes a table page.
    { env.table(pa) } -> std::same_as<u64*>;
    // One single-copy-atomic store to an entry the walker may see; ordered
    // after the engine's earlier plain stores (release) so a new table is
    // complete before it is linked.
    { env.write_entry(slot, value) } -> std::same_as<void>;
    { env.dsb_ish() } -> std::same_as<void>;
    { env.isb() } -> std::same_as<void>;
    { env.tlbi_ipas2e1is(ipa) } -> std::same_as<void>;  // stage-2 entries for one IPA, this VMID
    { env.tlbi_vmalle1is() } -> std::same_as<void>;     // stage-1 (and combined) entries, this VMID
    { env.tlbi_vmalls12e1is() } -> std::same_as<void>;  // everything of this VMID
    // The same for every DMA master that walks this table (the SMMUs):
    // invalidate, then wait for completion (TLBI_S2_IPA or TLBI_S12_VMALL,
    // then CMD_SYNC). A no-op where no IOMMU shares the table.
    { env.iommu_inval_ipa(ipa) } -> std::same_as<void>;
    { env.iommu_inval_all() } -> std::same_as<void>;
};

}  // namespace passage::stage2
