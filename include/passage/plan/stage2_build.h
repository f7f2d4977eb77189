// Maps every region of a guest plan into a stage-2 page table.
#pragma once

#include "passage/diagnostic.h"
#include "passage/plan/address_plan.h"
#include "passage/stage2/page_table.h"

namespace passage::plan {

template <typename Table>
Status map_plan(Table& table, const GuestPlan& plan, Diagnostic& diag)
{
    for (usize i = 0; i < plan.count; ++i) {
        const GuestRegion& r = plan.regions[i];
        Status s = table.map(IpaAddr(r.ipa), PhysAddr(r.pa), r.size, r.attrs);
        if (!s)
            return fail(diag, s.error(), s.error_addr(), "stage 2: cannot map %s at 0x%llx (+0x%llx): %s at 0x%llx", r.what,
                        static_cast<unsigned long long>(r.ipa), static_cast<unsigned long long>(r.size), error_name(s.error()),
                        static_cast<unsigned long long>(s.error_addr()));
    }
    return {};
}

// The smallest IPA size (at least 32 bits) that covers every region and
// every host bridge window.
inline unsigned ipa_bits_for(const GuestPlan& plan)
{
    u64 top = plan.ipa_top;
    for (usize i = 0; i < plan.count; ++i)
        if (plan.regions[i].end() > top) top = plan.regions[i].end();
    unsigned bits = 32;
    while (bits < 48 && (u64{1} << bits) < top) ++bits;
    return bits;
}

}  // namespace passage::plan
