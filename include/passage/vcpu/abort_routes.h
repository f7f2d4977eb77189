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

    // The owner of ipa, or kNone. The first range added (the ECAM: config
    // accesses are the hot ones) is tried first; then an address in a GiB
    // of the first TiB that no range touches is nobody's at once (a load
    // from a hole in guest RAM is nowhere near the GIC's frames or the PCI
    // windows); everything else is found by halves in the segments
    // `rebuild` sorted, a few steps however many ranges there are.
    u8 owner_of(u64 ipa) const
    {
        if (ipa - routes_[0].base < routes_[0].size) return routes_[0].owner;
        if (const u64 g = ipa >> kGranuleShift; g < kGranules && (busy_[g / 64] >> (g % 64) & 1) == 0) return kNone;
        const u64* at = starts_;
        for (usize n = segment_count_; n > 1;) {
            usize half = n / 2;
            if (at[half] <= ipa) at += half;
            n -= half;
        }
        return owners_[at - starts_];
    }

    usize size() const { return count_; }

private:
    struct Route {
        u64 base = 0;
        u64 size = 0;
        u8 owner = kNone;
    };
    // Cuts the address space at every range's start and end into segments
    // of one owner each (the first range added that holds it), sorted, with
    // neighbours of the same owner merged. At boot, after each change.
    void rebuild();

    static constexpr usize kMaxSegments = 2 * kMax + 1;
    // Which GiB of the first TiB any range touches (bit g: [g GiB, g + 1 GiB)).
    static constexpr unsigned kGranuleShift = 30;
    static constexpr u64 kGranules = 1024;
    u64 busy_[kGranules / 64] = {};
    Route routes_[kMax] = {};
    usize count_ = 0;
    // Segment i is [starts_[i], starts_[i + 1]) (the last one runs to the
    // top of the address space); starts_[0] is 0.
    u64 starts_[kMaxSegments] = {};
    u8 owners_[kMaxSegments] = {kNone};
    usize segment_count_ = 1;
};

}  // namespace passage::vcpu
