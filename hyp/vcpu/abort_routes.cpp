// Stage-2 abort routing by IPA. See passage/vcpu/abort_routes.h.
#include "passage/vcpu/abort_routes.h"

namespace passage::vcpu {

bool AbortRoutes::add(u64 base, u64 size, u8 owner)
{
    if (count_ == kMax || size == 0 || owner == kNone || base + size - 1 < base) return false;
    routes_[count_++] = {base, size, owner};
    rebuild();
    return true;
}

bool AbortRoutes::extend_last(u64 base, u64 size, u8 owner, u64 gap)
{
    if (count_ == 0 || size == 0 || base + size - 1 < base) return false;
    Route& r = routes_[count_ - 1];
    u64 end = r.base + r.size;
    if (r.owner != owner || base < end || base - end > gap) return false;
    r.size = base + size - r.base;
    rebuild();
    return true;
}

void AbortRoutes::rebuild()
{
    // Every start and end (an end at the top of the address space wraps to
    // 0, which is always a cut anyway), sorted by insertion: a few dozen.
    u64 cuts[kMaxSegments];
    usize n = 0;
    auto insert = [&](u64 v) {
        usize i = n;
        while (i > 0 && cuts[i - 1] > v) {
            cuts[i] = cuts[i - 1];
            --i;
        }
        if (i > 0 && cuts[i - 1] == v) {  // already there: undo the shift
            for (usize j = i; j < n; ++j) cuts[j] = cuts[j + 1];
            return;
        }
        cuts[i] = v;
        ++n;
    };
    insert(0);
    for (usize i = 0; i < count_; ++i) {
        insert(routes_[i].base);
        insert(routes_[i].base + routes_[i].size);
    }
    for (u64& word : busy_) word = 0;
    for (usize i = 0; i < count_; ++i) {
        const u64 first = routes_[i].base >> kGranuleShift;
        const u64 last = (routes_[i].base + routes_[i].size - 1) >> kGranuleShift;  // add() refused wrapping ranges
        if (first >= kGranules) continue;
        const u64 end = last < kGranules ? last + 1 : kGranules;  // granules [first, end), a word at a time
        for (u64 g = first; g < end; g = (g | 63) + 1) {
            const u64 upto = end < (g | 63) + 1 ? end : (g | 63) + 1;
            const u64 bits = upto - g;
            busy_[g / 64] |= (bits == 64 ? ~u64{0} : (u64{1} << bits) - 1) << (g % 64);
        }
    }
    segment_count_ = 0;
    for (usize c = 0; c < n; ++c) {
        u8 owner = kNone;
        for (usize i = 0; i < count_ && owner == kNone; ++i)
            if (cuts[c] - routes_[i].base < routes_[i].size) owner = routes_[i].owner;
        if (segment_count_ > 0 && owners_[segment_count_ - 1] == owner) continue;
        starts_[segment_count_] = cuts[c];
        owners_[segment_count_++] = owner;
    }
}

}  // namespace passage::vcpu
