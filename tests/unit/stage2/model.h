// The reference model: the guest's map as coalesced runs in a std::map,
// with the same map/unmap/protect semantics as the engine, and the minimum
// table-page count a mapping needs.
#pragma once

#include <map>
#include <optional>
#include <vector>

#include "passage/stage2/dump.h"
#include "passage/stage2/geometry.h"
#include "passage/stage2/walker.h"

namespace passage::stage2::test {

struct Run {
    u64 ipa = 0;
    u64 pa = 0;
    u64 size = 0;
    Attrs attrs;
    bool operator==(const Run&) const = default;
};

class Model {
public:
    void map(u64 ipa, u64 pa, u64 size, Attrs a);
    void unmap(u64 ipa, u64 size);
    void protect(u64 ipa, u64 size, Attrs a);
    std::optional<Run> find(u64 ipa) const;  // the run holding ipa
    std::vector<Run> runs() const;
    // First-level pages plus every table the mapping cannot do without.
    usize min_table_pages(const Geometry& geo) const;

private:
    std::vector<Run> carve(u64 ipa, u64 size);  // removes and returns [ipa, ipa+size)
    void insert(Run r);                         // into a hole, coalescing
    bool empty_in(u64 base, u64 end) const;
    bool one_block(u64 base, unsigned level) const;
    usize need(u64 base, unsigned level) const;  // tables below an entry

    std::map<u64, Run> runs_;
};

// The engine's leaves, merged like the model's runs (level ignored).
template <typename PT>
std::vector<Run> engine_runs(const PT& pt)
{
    std::vector<Run> out;
    pt.for_each_leaf([&](const EntryRef& e) {
        Result<Leaf> leaf = decode_leaf(e.desc, e.level, pt.encoding());
        Run r{e.ipa, leaf ? leaf->oa.value : ~u64{0}, e.size(), leaf ? leaf->attrs : Attrs{}};
        if (!out.empty()) {
            Run& last = out.back();
            if (last.ipa + last.size == r.ipa && last.pa + last.size == r.pa && last.attrs == r.attrs) {
                last.size += r.size;
                return;
            }
        }
        out.push_back(r);
    });
    return out;
}

}  // namespace passage::stage2::test
