// The one stage-2 walker. Map, unmap, protect, lookup, counting, freeing
// and the dump are visitors of it.
//
// The walker visits every entry that overlaps [start, end), in address
// order. A visitor sees one read-only EntryRef and answers:
//   leaf(e, child)  for an entry that is not a table (invalid, block,
//                   page): Continue, Stop, or Descend into `child`, a table
//                   the visitor prepared and has not linked yet;
//   table_pre(e)    for a table entry: Continue (descend) or Skip;
//   table_post(e, child, fresh) after the walk below a table entry (fresh:
//                   `child` came from leaf()'s Descend and is not linked).
// Tables reached through a live (hardware-visible) table are live; fresh
// tables are not, so writes into them need no break-before-make.
#pragma once

#include <concepts>

#include "passage/stage2/descriptor.h"
#include "passage/stage2/env.h"

namespace passage::stage2 {

struct EntryRef {
    u64* slot;
    u64 desc;        // the entry when visited
    u64 ipa;         // the first address it maps
    unsigned level;
    bool live;       // the hardware walker can reach it
    constexpr u64 size() const { return level_span(level); }
};

enum class Step : u8 { Continue, Skip, Descend, Stop };

template <typename V>
concept Visitor = requires(V& v, const EntryRef& e, PhysAddr& out, PhysAddr child, bool fresh) {
    { v.leaf(e, out) } -> std::same_as<Step>;
    { v.table_pre(e) } -> std::same_as<Step>;
    { v.table_post(e, child, fresh) } -> std::same_as<void>;
};

// A visitor with `static constexpr bool kIgnoresInvalid = true` does
// nothing for an invalid entry (leaf() would only return Continue): the
// walker passes over invalid entries without calling it. Most entries of
// a sparse table are invalid, and a whole-table walk (counting tables,
// the dump) spent most of its time on them.
template <typename V>
concept IgnoresInvalid = requires { requires V::kIgnoresInvalid; };

// A visitor with `usize run(u64* t, usize i, usize last, u64 ipa,
// unsigned level, bool live)` may take a run of entries from t[i] (mapping
// `ipa`) to at most t[last] in one go, without the walker's per-entry
// steps; it returns how many it took (0: visit t[i] as usual).
template <typename V>
concept RunVisitor = requires(V& v, u64* t, usize i, u64 ipa, unsigned level, bool live) {
    { v.run(t, i, i, ipa, level, live) } -> std::same_as<usize>;
};

// Walks `entries` entries of the table at `table` (level `level`, mapping
// from `base`) that overlap [start, end). Returns false if a visitor stopped.
template <Stage2Env Env, Visitor V>
bool walk_table(Env& env, PhysAddr table, unsigned level, u64 base, usize entries, u64 start,
                u64 end, bool live, V& v)
{
    const unsigned shift = level_shift(level);
    const u64 span = u64{1} << shift;
    usize first = static_cast<usize>((start - base) >> shift);
    usize last = static_cast<usize>((end - 1 - base) >> shift);
    if (last >= entries) last = entries - 1;
    u64* t = env.table(table);
    for (usize i = first; i <= last; ++i) {
        if constexpr (IgnoresInvalid<V>) {
            static_assert(DescValid::kMask == 1);
            while (i + 4 <= last && ((t[i] | t[i + 1] | t[i + 2] | t[i + 3]) & 1) == 0) i += 4;
            while (i < last && !is_valid(t[i])) ++i;
            if (!is_valid(t[i])) break;  // i == last: nothing valid left
        }
        const u64 ipa = base + i * span;
        if constexpr (RunVisitor<V>) {
            const usize n = v.run(t, i, last, ipa, level, live);
            if (n != 0) {
                i += n - 1;
                continue;
            }
        }
        const EntryRef e{&t[i], t[i], ipa, level, live};
        const u64 s = start > ipa ? start : ipa;
        const u64 en = end < ipa + span ? end : ipa + span;
        if (is_table(e.desc, level)) {
            Step step = v.table_pre(e);
            if (step == Step::Stop) return false;
            if (step == Step::Skip) continue;
            PhysAddr child = desc_output(e.desc);
            if (!walk_table(env, child, level + 1, ipa, kEntriesPerTable, s, en, live, v)) return false;
            v.table_post(e, child, false);
        } else {
            PhysAddr child;
            Step step = v.leaf(e, child);
            if (step == Step::Stop) return false;
            if (step != Step::Descend) continue;
            if (!walk_table(env, child, level + 1, ipa, kEntriesPerTable, s, en, false, v)) return false;
            v.table_post(e, child, true);
        }
    }
    return true;
}

}  // namespace passage::stage2
