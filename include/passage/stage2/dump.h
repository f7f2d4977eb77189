// The stage-2 map as text: one line per run of leaves that continue each
// other (IPA and PA contiguous, same level, same attributes), through
// log_info(). The boot log and the tests use it.
#pragma once

#include "passage/stage2/descriptor.h"
#include "passage/stage2/geometry.h"

namespace passage::stage2 {

struct MapRange {
    IpaAddr ipa;
    PhysAddr pa;
    u64 size = 0;
    unsigned level = 0;
    Attrs attrs;
};

class RangePrinter {
public:
    RangePrinter(const char* title, const Geometry& geo, Encoding enc);
    // Adds the next valid leaf (in IPA order).
    void add(u64 desc, u64 ipa, unsigned level);
    // Adds `count` leaves from `desc` (at `ipa`), each continuing the one
    // before bit for bit (leaf_following()): as many add() calls.
    void add_run(u64 desc, u64 ipa, unsigned level, usize count);
    // Prints what is pending and the totals.
    void finish(usize table_pages);

private:
    void flush();

    Encoding enc_;
    MapRange cur_{};
    u64 next_desc_ = 0;  // the raw descriptor that would continue cur_
    bool pending_ = false;
    usize ranges_ = 0;
    u64 mapped_ = 0;
};

// One line for a range, without the newline: the dump's format.
usize format_range(char* buf, usize size, const MapRange& r);

}  // namespace passage::stage2
