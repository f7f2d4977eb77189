// A range with holes cut out of it: each piece of [r.base, r.end()) that no
// hole touches, lowest first. The holes may overlap each other and need not
// be sorted; the caller rounds them (and the pieces) to its granule.
#pragma once

#include <span>

#include "passage/platform.h"

namespace passage {

// Calls piece(lo, hi) for each maximal [lo, hi) of r outside every hole;
// stops at the first piece that returns a failed Status and returns it.
template <typename Piece>
auto for_each_piece(MemRange r, std::span<const MemRange> holes, Piece piece) -> decltype(piece(u64{}, u64{}))
{
    u64 cur = r.base;
    const u64 end = r.end();
    while (cur < end) {
        // The hole reaching lowest into [cur, end).
        const MemRange* next = nullptr;
        u64 next_start = end;
        for (const MemRange& h : holes) {
            if (!ranges_overlap(h.base, h.size, cur, end - cur)) continue;
            u64 start = h.base > cur ? h.base : cur;
            if (next == nullptr || start < next_start) {
                next = &h;
                next_start = start;
            }
        }
        if (next_start > cur)
            if (auto s = piece(cur, next_start); !s) return s;
        if (next == nullptr) break;
        // A hole reaching to 2^64 ends everything.
        if (next->size > ~u64{0} - next->base) break;
        cur = next->end();
    }
    return {};
}

}  // namespace passage
