// What a change does to one entry: the single decision shared by the
// dry run that counts table pages (prepare) and by the walk that applies
// the change (commit), so the two can never disagree.
#pragma once

#include "passage/stage2/descriptor.h"

namespace passage::stage2 {

enum class OpKind : u8 { Map, Unmap, Protect };

struct Op {
    OpKind kind = OpKind::Map;
    u64 start = 0;      // [start, end), page aligned
    u64 end = 0;
    u64 delta = 0;      // Map: output address minus IPA (mod 2^64)
    u64 attr_bits = 0;  // Map, Protect: from encode_attrs()
};

enum class Action : u8 {
    Keep,          // nothing to do here
    SetLeaf,       // write `desc` (a leaf or invalid) over a leaf or invalid entry
    Split,         // build a fresh table below (copies of the block, or empty) and recurse
    Descend,       // recurse into the existing table
    ReplaceTable,  // the whole table goes: write `desc` (a block or invalid) instead
};

struct Decision {
    Action action;
    u64 desc = 0;
};

// The entries a Split of `desc` (a block at `level`, or invalid) starts with.
constexpr u64 split_piece(u64 desc, unsigned level, usize index)
{
    if (!is_valid(desc)) return 0;
    const unsigned child = level + 1;
    return make_leaf_desc(desc_output(desc) + index * level_span(child), child, desc & kLeafAttrMask);
}

constexpr Decision decide_entry(const Op& op, u64 desc, u64 ipa, unsigned level)
{
    const u64 span = level_span(level);
    const bool covered = op.start <= ipa && ipa + span <= op.end;
    const bool table = is_table(desc, level);
    switch (op.kind) {
    case OpKind::Map: {
        const u64 oa = ipa + op.delta;
        const u64 want = make_leaf_desc(PhysAddr(oa), level, op.attr_bits);
        const bool leaf_ok = level == kLeafLevel || (block_allowed(level) && is_aligned(oa, span));
        if (covered && leaf_ok) {
            if (table) return {Action::ReplaceTable, want};
            return want == desc ? Decision{Action::Keep} : Decision{Action::SetLeaf, want};
        }
        if (table) return {Action::Descend};
        // A block that already maps this part the same way needs no split.
        if (is_valid(desc) && leaf_ok && want == desc) return {Action::Keep};
        return {Action::Split};
    }
    case OpKind::Unmap:
        if (!is_valid(desc)) return {Action::Keep};
        if (covered) return {table ? Action::ReplaceTable : Action::SetLeaf, 0};
        return {table ? Action::Descend : Action::Split};
    case OpKind::Protect: {
        if (!is_valid(desc)) return {Action::Keep};
        if (table) return {Action::Descend};
        const u64 want = (desc & ~kLeafAttrMask) | (op.attr_bits & kLeafAttrMask);
        if (want == desc) return {Action::Keep};
        return covered ? Decision{Action::SetLeaf, want} : Decision{Action::Split};
    }
    }
    return {Action::Keep};
}

// Whether a map can put a leaf for `ipa` at `level` (pages always; blocks
// at levels 1 and 2 where the output address is aligned for one).
constexpr bool map_leaf_fits(const Op& op, u64 ipa, unsigned level)
{
    return level == kLeafLevel || (block_allowed(level) && is_aligned(ipa + op.delta, level_span(level)));
}

// What `op` writes over an entry it covers whole that is not a table: the
// SetLeaf or Keep of decide_entry() without the decision (for a map only
// where map_leaf_fits()). The walker's runs of covered entries use it.
constexpr u64 covered_leaf(const Op& op, u64 desc, u64 ipa, unsigned level)
{
    switch (op.kind) {
    case OpKind::Map: return make_leaf_desc(PhysAddr(ipa + op.delta), level, op.attr_bits);
    case OpKind::Unmap: return 0;
    case OpKind::Protect:
        return is_valid(desc) ? (desc & ~kLeafAttrMask) | (op.attr_bits & kLeafAttrMask) : desc;
    }
    return desc;
}

// Table pages a Split of `desc` at `level` needs for the part of `op` in
// the entry: the fresh table itself and, recursively, the fresh tables
// below it (plain arithmetic: nothing below a fresh table exists yet).
// Only the first and last child can be cut by the op's edges; the ones
// between are covered whole, so they split only for a map that cannot put
// a leaf at their level, and then all alike: one is costed for all.
constexpr usize split_cost(const Op& op, u64 desc, u64 ipa, unsigned level)
{
    const unsigned child = level + 1;
    if (child == kLeafLevel) return 1;
    const u64 span = level_span(child);
    const u64 s = op.start > ipa ? op.start : ipa;
    const u64 e = op.end < ipa + level_span(level) ? op.end : ipa + level_span(level);
    const usize lo = static_cast<usize>((s - ipa) / span);
    const usize hi = static_cast<usize>((e - 1 - ipa) / span);
    auto cost_of = [&](usize i) -> usize {
        const u64 piece = split_piece(desc, level, i);
        const u64 cipa = ipa + i * span;
        return decide_entry(op, piece, cipa, child).action == Action::Split ? split_cost(op, piece, cipa, child) : 0;
    };
    usize cost = 1 + cost_of(lo);
    if (hi != lo) cost += cost_of(hi);
    if (hi > lo + 1 && op.kind == OpKind::Map && !map_leaf_fits(op, ipa + (lo + 1) * span, child))
        cost += (hi - lo - 1) * cost_of(lo + 1);
    return cost;
}

// The same count deciding every child: the reference split_cost() is
// checked against (host tests, the stage2 fuzzer).
constexpr usize split_cost_each(const Op& op, u64 desc, u64 ipa, unsigned level)
{
    const unsigned child = level + 1;
    if (child == kLeafLevel) return 1;
    const u64 span = level_span(child);
    const u64 s = op.start > ipa ? op.start : ipa;
    const u64 e = op.end < ipa + level_span(level) ? op.end : ipa + level_span(level);
    usize cost = 1;
    for (usize i = (s - ipa) / span; ipa + i * span < e; ++i) {
        const u64 piece = split_piece(desc, level, i);
        const u64 cipa = ipa + i * span;
        if (decide_entry(op, piece, cipa, child).action == Action::Split)
            cost += split_cost_each(op, piece, cipa, child);
    }
    return cost;
}

}  // namespace passage::stage2
