// Which registered handler owns a stage-2 data abort, decided from its IPA
// alone before any handler is called: the GIC's table frames, the ECAMs,
// the PCI windows are all fixed ranges once the guest runs. An abort outside
// every range (a load from a hole in the guest's address space) goes
// straight to injection; one inside costs one call, to its owner.
// vpci_cfg_read_insns and s2_abort_passage_insns in docs/performance.md.
#pragma once

#include "passage/types.h"

namespace passage::vcpu {

class AbortRoutes {
public:
    // Room for the ECAM and every window of each host bridge (4 x (1 + 8))
    // and the GIC's trapped frames even if none merge into a run (8 CPUs x 2
    // + 4 ITS): a platform passage accepts never runs out.
    static constexpr usize kMax = 64;
    static constexpr u8 kNone = 0xff;

    // Gives [base, base + size) to handler `owner` (< kNone). An address in
    // two ranges belongs to the one added first. False when the table is
    // full, size is 0 or the range wraps: nothing added.
    bool add(u64 base, u64 size, u8 owner);

    // Grows the last range added so it also covers [base, base + size), if
    // that is `owner`'s and starts at most `gap` bytes after its end: the
    // GIC's frames come every 128 or 256 KiB. False when it did not.
    bool extend_last(u64 base, u64 size, u8 owner, u64 gap);

    // The owner of ipa, or kNone.
    u8 owner_of(u64 ipa) const
    {
        for (usize i = 0; i < count_; ++i)
            if (ipa - routes_[i].base < routes_[i].size) return routes_[i].owner;
        return kNone;
    }

    usize size() const { return count_; }

private:
    struct Route {
        u64 base = 0;
        u64 size = 0;
        u8 owner = kNone;
    };
    Route routes_[kMax] = {};
    usize count_ = 0;
};

}  // namespace passage::vcpu
