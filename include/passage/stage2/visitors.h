// The visitors behind the page-table operations. Each is small; the
// decisions live in entry_action.h, the bits in descriptor.h, the TLB
// maintenance in bbm.h.
#pragma once

#include "passage/stage2/bbm.h"
#include "passage/stage2/entry_action.h"
#include "passage/stage2/reserve.h"
#include "passage/stage2/walker.h"

namespace passage::stage2 {

// The reference count of the table pages `op` may need (an upper bound: a
// fresh table that folds back into a block is counted too), deciding every
// entry in the op's range. PageTable::pages_needed() counts the same
// reading only the entries that can need a page; the host tests and the
// stage2 fuzzer check the two agree.
struct CountVisitor {
    const Op& op;
    usize pages = 0;

    Step leaf(const EntryRef& e, PhysAddr&)
    {
        if (decide_entry(op, e.desc, e.ipa, e.level).action == Action::Split)
            pages += split_cost_each(op, e.desc, e.ipa, e.level);
        return Step::Continue;
    }
    Step table_pre(const EntryRef& e)
    {
        return decide_entry(op, e.desc, e.ipa, e.level).action == Action::ReplaceTable ? Step::Skip
                                                                                 : Step::Continue;
    }
    void table_post(const EntryRef&, PhysAddr, bool) {}
};

// Frees every table below a detached (no longer reachable) table.
template <Stage2Env Env>
struct FreeVisitor {
    Env& env;
    usize freed = 0;
    Step leaf(const EntryRef&, PhysAddr&) { return Step::Continue; }
    Step table_pre(const EntryRef&) { return Step::Continue; }
    void table_post(const EntryRef&, PhysAddr child, bool)
    {
        env.free_pages(child, 1);
        ++freed;
    }
};

// Frees a detached table and every table below it; returns how many.
template <Stage2Env Env>
usize free_subtree(Env& env, PhysAddr table, unsigned level, u64 base)
{
    FreeVisitor<Env> v{env};
    walk_table(env, table, level, base, kEntriesPerTable, base, base + level_span(level - 1), false, v);
    env.free_pages(table, 1);
    return v.freed + 1;
}

// Whether an entry of t[lo, hi) is valid: four at a time, since an empty
// table after an unmap is scanned whole.
inline bool any_valid(const u64* t, usize lo, usize hi)
{
    static_assert(DescValid::kMask == 1);
    usize i = lo;
    for (; i + 4 <= hi; i += 4)
        if (((t[i] | t[i + 1] | t[i + 2] | t[i + 3]) & 1) != 0) return true;
    for (; i < hi; ++i)
        if (is_valid(t[i])) return true;
    return false;
}

// Writes the 512 pages of a fresh level-3 table that continue each other
// from `first`: this loop is the whole cost of mapping memory as pages.
// Two entries a step, so the stores pair up (STP at EL2, 16-byte stores
// on the host) with one add between them. (A four-value form of this loop
// is miscompiled by GCC 12.2 at -O3 on x86-64, storing the first pair
// twice; bench_stage2 checks every entry the optimised build wrote.)
inline void fill_run(u64* t, u64 first)
{
    for (usize i = 0; i < kEntriesPerTable; i += 2) {
        t[i] = first;
        t[i + 1] = first + kPageSize;
        first += 2 * kPageSize;
    }
}

// Empties a fresh table, four entries a step.
inline void zero_table(u64* t)
{
    for (usize i = 0; i < kEntriesPerTable; i += 4) {
        t[i] = 0;
        t[i + 1] = 0;
        t[i + 2] = 0;
        t[i + 3] = 0;
    }
}

// What the table `t` (at `table`, mapping from `base`) below an entry at
// `parent_level` can become after `op`: nothing (all invalid), one block
// (512 leaves continuing each other with the same attributes, aligned for a
// block at the parent level), or itself. A table the walk left settled can
// only empty after an unmap, and then only outside the op's range is there
// anything to find; it can only fold after a map or protect. Each test
// could scan 512 entries, and a BAR move settles several tables.
inline u64 settle_table(const u64* t, PhysAddr table, unsigned parent_level, u64 base, const Op& op)
{
    const unsigned level = parent_level + 1;
    if (op.kind == OpKind::Unmap) {
        const u64 span = level_span(level);
        const usize lo = op.start > base ? usize((op.start - base) / span) : 0;
        const usize hi = op.end - base < level_span(parent_level) ? usize((op.end - base + span - 1) / span)
                                                                  : kEntriesPerTable;
        // After the op's range first, then before it, then the range itself
        // (unmapped by op, unless it stopped short).
        if (any_valid(t, hi, kEntriesPerTable) || any_valid(t, 0, lo) || any_valid(t, lo, hi))
            return make_table_desc(table);
        return 0;
    }
    const u64 first = t[0];
    if (is_valid(first) && block_allowed(parent_level) && is_leaf(first, level) &&
        is_aligned(desc_output(first).value, level_span(parent_level))) {
        const u64 step = level_span(level);
        usize j = 1;
        while (j < kEntriesPerTable && t[j] == first + j * step) ++j;
        if (j == kEntriesPerTable)
            return make_leaf_desc(desc_output(first), parent_level, first & kLeafAttrMask);
    }
    return make_table_desc(table);
}

// Commit: applies `op`, taking fresh tables from the reserve.
template <Stage2Env Env>
struct ChangeVisitor {
    Env& env;
    Reserve<Env>& reserve;
    const Op& op;
    bool published = false;  // a live entry went from invalid to valid (a make included)
    usize taken = 0;         // table pages taken from the reserve
    usize freed = 0;         // table pages handed back (folded, emptied, replaced)
    // Entries changed so far, by level; and the count at the child's level
    // when the walk went below a table entry of each level.
    u64 writes[kLeafLevel + 1] = {};
    u64 writes_before[kLeafLevel + 1] = {};

    // Every entry write. Live valid entries go through break-before-make;
    // live invalid ones need only the store; unlinked tables plain stores.
    void set(const EntryRef& e, u64 desc)
    {
        if (desc == e.desc) return;
        ++writes[e.level];
        if (!e.live) {
            *e.slot = desc;
        } else if (!is_valid(e.desc)) {
            env.write_entry(e.slot, desc);
            published = true;
        } else {
            break_entry(env, e.slot, IpaAddr(e.ipa),
                        is_table(e.desc, e.level) ? Removes::Table : Removes::Leaf);
            if (is_valid(desc)) {
                make_entry(env, e.slot, desc);
                published = true;  // BBM's last step: DSB so the new entry is visible
            }
        }
    }

    // A run of entries the op covers whole, from t[i] (mapping `ipa`) to
    // at most t[last]: each gets covered_leaf() with no decision, up to the
    // first table (left to the walk) or entry the op does not cover whole.
    // Returns how many it did; none where a map cannot put a leaf here.
    usize run(u64* t, usize i, usize last, u64 ipa, unsigned level, bool live)
    {
        const u64 span = level_span(level);
        if (ipa < op.start || ipa + span > op.end) return 0;
        if (op.kind == OpKind::Map && !map_leaf_fits(op, ipa, level)) return 0;
        const u64 whole = (op.end - ipa) >> level_shift(level);  // entries covered whole from t[i]
        const usize end = whole < last + 1 - i ? i + static_cast<usize>(whole) : last + 1;
        usize j = i;
        if (op.kind == OpKind::Map) {
            // map() checked pa + size against the PA limit (at most 2^48):
            // the output address never carries out of its field here.
            u64 want = make_leaf_desc(PhysAddr(ipa + op.delta), level, op.attr_bits);
            for (; j < end; ++j, ipa += span, want += span) {
                const u64 old = t[j];
                if (is_table(old, level)) break;
                if (want != old) put(&t[j], old, ipa, level, live, want);
            }
        } else {
            for (; j < end; ++j, ipa += span) {
                const u64 old = t[j];
                if (is_table(old, level)) break;
                const u64 desc = covered_leaf(op, old, ipa, level);
                if (desc != old) put(&t[j], old, ipa, level, live, desc);
            }
        }
        return j - i;
    }

    // set() for a run's entry, its common cases inline: a store into an
    // unlinked table, or into a live invalid entry.
    void put(u64* slot, u64 old, u64 ipa, unsigned level, bool live, u64 desc)
    {
        if (!live) {
            ++writes[level];
            *slot = desc;
        } else if (!is_valid(old)) {
            ++writes[level];
            env.write_entry(slot, desc);
            published = true;
        } else {
            set(EntryRef{slot, old, ipa, level, live}, desc);
        }
    }

    Step leaf(const EntryRef& e, PhysAddr& child)
    {
        const Decision d = decide_entry(op, e.desc, e.ipa, e.level);
        if (d.action == Action::SetLeaf) set(e, d.desc);
        if (d.action != Action::Split) return Step::Continue;
        child = reserve.take();
        ++taken;
        u64* t = env.table(child);
        if (e.level + 1 == kLeafLevel) {
            // A fresh table of pages is written in one pass, each entry
            // once, then settled and linked as after a descent.
            fill_pages(e, t);
            table_post(e, child, true);
            return Step::Continue;
        }
        if (!is_valid(e.desc)) {
            zero_table(t);
        } else {
            for (usize i = 0; i < kEntriesPerTable; ++i) t[i] = split_piece(e.desc, e.level, i);
        }
        return Step::Descend;
    }

    // The same decisions the walk would take at level 3, on an unlinked table.
    void fill_pages(const EntryRef& e, u64* t)
    {
        if (op.kind == OpKind::Map && op.start <= e.ipa && e.ipa + e.size() <= op.end) {
            fill_run(t, make_leaf_desc(PhysAddr(e.ipa + op.delta), kLeafLevel, op.attr_bits));
            return;
        }
        // Every page of the op's part gets covered_leaf(); the rest stays
        // the split block's (or empty).
        const u64 lo = op.start > e.ipa ? op.start : e.ipa;
        const u64 hi = op.end < e.ipa + e.size() ? op.end : e.ipa + e.size();
        const usize i_lo = static_cast<usize>((lo - e.ipa) / kPageSize);
        const usize i_hi = static_cast<usize>((hi - e.ipa) / kPageSize);
        if (!is_valid(e.desc)) {
            // Nothing to split: empty but for the op's own pages, which
            // are all a map can set here (an unmap or protect of nothing
            // never splits).
            zero_table(t);
        } else {
            for (usize i = 0; i < kEntriesPerTable; ++i) t[i] = split_piece(e.desc, e.level, i);
        }
        for (usize i = i_lo; i < i_hi; ++i) t[i] = covered_leaf(op, t[i], e.ipa + i * kPageSize, kLeafLevel);
    }

    Step table_pre(const EntryRef& e)
    {
        const Decision d = decide_entry(op, e.desc, e.ipa, e.level);
        if (e.level < kLeafLevel) writes_before[e.level] = writes[e.level + 1];
        if (d.action != Action::ReplaceTable) return Step::Continue;
        set(e, d.desc);  // removes a table: the whole VMID is invalidated first
        freed += free_subtree(env, desc_output(e.desc), e.level + 1, e.ipa);
        return Step::Skip;
    }

    void table_post(const EntryRef& e, PhysAddr child, bool fresh)
    {
        // A linked table none of whose own entries changed is as settled as
        // before (changes further down that did not reach it do not count).
        if (!fresh && writes[e.level + 1] == writes_before[e.level]) return;
        const u64 next = settle_table(env.table(child), child, e.level, e.ipa, op);
        if (is_table(next, e.level)) {
            if (fresh) set(e, next);  // links it (break-before-make over a block)
            return;
        }
        set(e, next);  // a table (linked or not) gives way to a block or nothing
        env.free_pages(child, 1);
        ++freed;
    }
};

// Lookup: the leaf (or invalid entry) that maps one address.
struct FindVisitor {
    u64 desc = 0;
    u64 base = 0;
    unsigned level = 0;
    Step leaf(const EntryRef& e, PhysAddr&)
    {
        desc = e.desc;
        base = e.ipa;
        level = e.level;
        return Step::Continue;
    }
    Step table_pre(const EntryRef&) { return Step::Continue; }
    void table_post(const EntryRef&, PhysAddr, bool) {}
};

// Counts the tables below the first level (a level-3 table holds none).
struct TableCountVisitor {
    static constexpr bool kIgnoresInvalid = true;
    usize tables = 0;
    // Leaves count for nothing: a run of them is passed over in one go.
    usize run(u64* t, usize i, usize last, u64, unsigned level, bool)
    {
        usize j = i;
        while (j <= last && !is_table(t[j], level)) ++j;
        return j - i;
    }
    Step leaf(const EntryRef&, PhysAddr&) { return Step::Continue; }
    Step table_pre(const EntryRef& e)
    {
        ++tables;
        return e.level + 1 == kLeafLevel ? Step::Skip : Step::Continue;
    }
    void table_post(const EntryRef&, PhysAddr, bool) {}
};

// Calls fn(const EntryRef&) for every valid leaf, in address order, and
// counts the tables it passes through (the dump's last line).
template <typename Fn>
struct LeafVisitor {
    static constexpr bool kIgnoresInvalid = true;
    Fn& fn;
    usize tables = 0;
    Step leaf(const EntryRef& e, PhysAddr&)
    {
        if (is_valid(e.desc)) fn(e);
        return Step::Continue;
    }
    Step table_pre(const EntryRef&)
    {
        ++tables;
        return Step::Continue;
    }
    void table_post(const EntryRef&, PhysAddr, bool) {}
};

// The dump's walk: runs of leaves that continue each other bit for bit go
// to `Printer::add_run` whole (most leaves of a dump are such).
template <typename Printer>
struct RunLeafVisitor {
    static constexpr bool kIgnoresInvalid = true;
    Printer& printer;
    usize run(u64* t, usize i, usize last, u64 ipa, unsigned level, bool)
    {
        const u64 first = t[i];
        if (is_table(first, level)) return 0;
        const u64 span = level_span(level);
        usize j = i + 1;
        const u64 room = (kOutputAddrMask | (kPageSize - 1)) - (first & kOutputAddrMask);  // to the field's top
        if ((last - i) * span <= room) {
            // No address of the run can carry: leaf_following() is a plain add.
            for (u64 next = first + span; j <= last && t[j] == next; ++j) next += span;
        } else {
            for (u64 next = leaf_following(first, span); j <= last && t[j] == next; ++j)
                next = leaf_following(next, span);
        }
        printer.add_run(first, ipa, level, j - i);
        return j - i;
    }
    Step leaf(const EntryRef&, PhysAddr&) { return Step::Continue; }  // run() takes every leaf
    Step table_pre(const EntryRef&) { return Step::Continue; }
    void table_post(const EntryRef&, PhysAddr, bool) {}
};

}  // namespace passage::stage2
