// Break-before-make, in one helper pair. Every change of a live valid
// entry goes through break_entry() and then (unless the entry stays
// invalid) make_entry(). Arm ARM D8.16.1 "Using break-before-make".
#pragma once

#include "passage/stage2/env.h"

namespace passage::stage2 {

enum class Removes : bool { Leaf, Table };

// Writes the invalid entry and makes it visible and forgotten:
//   DSB ISH; TLBI IPAS2E1IS; DSB ISH; TLBI VMALLE1IS; DSB ISH; ISB;
//   SMMU TLBI_S2_IPA + CMD_SYNC
// or, when a table goes away (the walk caches may hold any entry below it),
//   DSB ISH; TLBI VMALLS12E1IS; DSB ISH; ISB; SMMU TLBI_S12_VMALL + CMD_SYNC.
// The SMMUs walk the same table (issue 13): a device must not keep using
// the old entry once the CPU no longer can, so their invalidation is part
// of the break, complete before anything new is made.
// `ipa` is the first address the old entry mapped.
template <Stage2Env Env>
void break_entry(Env& env, u64* slot, IpaAddr ipa, Removes what)
{
    env.write_entry(slot, 0);
    env.dsb_ish();
    if (what == Removes::Table) {
        env.tlbi_vmalls12e1is();
    } else {
        env.tlbi_ipas2e1is(ipa);
        env.dsb_ish();  // the stage-2 invalidation completes before the combined one
        env.tlbi_vmalle1is();
    }
    env.dsb_ish();
    env.isb();
    if (what == Removes::Table) env.iommu_inval_all();
    else env.iommu_inval_ipa(ipa);
}

// Writes the new entry into a slot that break_entry() emptied (or that was
// never valid). The DSB ISH that makes it visible is the caller's, once
// per change, before the change returns (PageTable::apply).
template <Stage2Env Env>
void make_entry(Env& env, u64* slot, u64 desc)
{
    env.write_entry(slot, desc);
}

}  // namespace passage::stage2
