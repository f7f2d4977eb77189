// The map's fast paths against the general ones they stand for, on random
// sequences: the table-page count read from the op's shape against the
// walk that decides every entry, and the change with its covered runs and
// one-pass fresh tables against the walk that decides and writes entry by
// entry (same tables, same writes, barriers and invalidations, in order).
#include <catch2/catch.hpp>

#include <random>

#include "fixture.h"
#include "model.h"

using namespace passage;
using namespace passage::stage2;
using namespace passage::stage2::test;

namespace {

const Attrs kPick[] = {kRam, kRamRo, kMmio, kBar, kEcam};

// A random op near block and table edges, with output addresses congruent
// to a block or not; sizes from a page to two first-level blocks.
Op random_op(std::mt19937_64& rng, const Geometry& geo, Encoding enc)
{
    auto pick = [&](u64 n) { return std::uniform_int_distribution<u64>(0, n - 1)(rng); };
    const u64 limit = geo.ipa_limit();
    const u64 hot[] = {0, GiB - 2 * MiB, GiB, 3 * GiB - 4 * MiB, limit / 2, limit - 2 * GiB, limit - 4 * MiB};
    Op op;
    const u64 k = pick(10);
    op.kind = k < 5 ? OpKind::Map : k < 7 ? OpKind::Unmap : OpKind::Protect;
    u64 size = 0;
    switch (pick(5)) {
    case 0: size = (1 + pick(16)) * kPageSize; break;
    case 1: size = (1 + pick(4)) * 2 * MiB; break;
    case 2: size = 2 * MiB + (pick(2) ? kPageSize : 0); break;
    case 3: size = (1 + pick(2)) * GiB; break;
    default: size = (1 + pick(1024)) * kPageSize; break;
    }
    op.start = hot[pick(7)] + (pick(2) ? pick(1024) * kPageSize : pick(4) * 2 * MiB);
    if (op.start >= limit) op.start = limit - kPageSize;
    if (size > limit - op.start) size = limit - op.start;
    const u64 pa = pick(8) * GiB + (pick(3) != 0 ? op.start % GiB : pick(1 << 18) * kPageSize);
    if (op.kind == OpKind::Map && !is_aligned(pa - op.start, 2 * MiB) && size > 8 * MiB) size = 8 * MiB;
    op.end = op.start + size;
    op.delta = pa - op.start;
    op.attr_bits = encode_attrs(kPick[pick(5)], enc).value();
    return op;
}

// The change entry by entry: every entry decided by decide_entry() and
// written by the visitor's set(), a split's fresh table filled with copies
// of the block and walked like any other (no covered runs, no one-pass
// fill of a fresh table of pages).
struct EachEntry {
    ChangeVisitor<FakeEnv>& v;
    Step leaf(const EntryRef& e, PhysAddr& child)
    {
        if (decide_entry(v.op, e.desc, e.ipa, e.level).action != Action::Split) return v.leaf(e, child);
        child = v.reserve.take();
        u64* t = v.env.table(child);
        for (usize i = 0; i < kEntriesPerTable; ++i) t[i] = split_piece(e.desc, e.level, i);
        return Step::Descend;
    }
    Step table_pre(const EntryRef& e) { return v.table_pre(e); }
    void table_post(const EntryRef& e, PhysAddr child, bool fresh) { v.table_post(e, child, fresh); }
};

void apply_each_entry(Fixture& f, const Op& op)
{
    Reserve<FakeEnv> reserve(f.env);
    REQUIRE(reserve.fill(f.pt.pages_needed_by_walk(op)));
    ChangeVisitor<FakeEnv> change{f.env, reserve, op};
    EachEntry each{change};
    walk_table(f.env, f.pt.root(), f.geo.start_level, 0, f.geo.root_entries, op.start, op.end, true, each);
    if (change.published) f.env.dsb_ish();
}

Status apply_fast(Fixture& f, const Op& op)
{
    const u64 size = op.end - op.start;
    switch (op.kind) {
    case OpKind::Map: {
        // Attributes back from the bits: map() takes intent.
        const Result<Leaf> leaf = decode_leaf(make_leaf_desc(PhysAddr(0), kLeafLevel, op.attr_bits), kLeafLevel,
                                              f.pt.encoding());
        REQUIRE(leaf.ok());
        return f.pt.map(IpaAddr(op.start), PhysAddr(op.start + op.delta), size, leaf->attrs);
    }
    case OpKind::Unmap: return f.pt.unmap(IpaAddr(op.start), size);
    case OpKind::Protect: {
        const Result<Leaf> leaf = decode_leaf(make_leaf_desc(PhysAddr(0), kLeafLevel, op.attr_bits), kLeafLevel,
                                              f.pt.encoding());
        REQUIRE(leaf.ok());
        return f.pt.protect(IpaAddr(op.start), size, leaf->attrs);
    }
    }
    return Error::InvalidArgument;
}

}  // namespace

TEST_CASE("the table-page count from the op's shape equals the count of every entry", "[stage2][fast]")
{
    for (unsigned bits : {32u, 40u, 48u}) {
        for (u64 seed = 1; seed <= 6; ++seed) {
            Fixture f(bits);
            std::mt19937_64 rng(seed * 7919 + bits);
            for (int step = 0; step < 250; ++step) {
                const Op op = random_op(rng, f.geo, f.pt.encoding());
                INFO("bits " << bits << " seed " << seed << " step " << step << " kind " << int(op.kind) << " start "
                             << std::hex << op.start << " end " << op.end << " delta " << op.delta);
                REQUIRE(f.pt.pages_needed(op) == f.pt.pages_needed_by_walk(op));
                REQUIRE(apply_fast(f, op).ok());
            }
        }
    }
}

TEST_CASE("split costs from the op's shape equal the costs of every child", "[stage2][fast]")
{
    std::mt19937_64 rng(42);
    const Geometry geo = geometry_for(48);
    for (int n = 0; n < 20000; ++n) {
        const Op op = random_op(rng, geo, kNoFwb);
        const unsigned level = static_cast<unsigned>(rng() % 3);  // a split at 0, 1 or 2
        const u64 ipa = op.start & ~(level_span(level) - 1);
        const u64 block = rng() % 2 == 0 ? 0 : make_leaf_desc(PhysAddr((ipa + (rng() % 4) * GiB) % (u64{1} << 47)), level, op.attr_bits);
        const u64 desc = level == 0 ? 0 : block;  // no blocks at level 0
        INFO("level " << level << " kind " << int(op.kind) << std::hex << " start " << op.start << " end " << op.end
                      << " delta " << op.delta << " desc " << desc);
        REQUIRE(split_cost(op, desc, ipa, level) == split_cost_each(op, desc, ipa, level));
    }
}

TEST_CASE("covered runs and one-pass fresh tables write what the entry-by-entry walk writes", "[stage2][fast]")
{
    for (unsigned bits : {32u, 40u, 48u}) {
        for (u64 seed = 1; seed <= 4; ++seed) {
            Fixture fast(bits);
            Fixture each(bits);
            fast.env.recording = each.env.recording = true;
            std::mt19937_64 rng(seed * 104729 + bits);
            for (int step = 0; step < 200; ++step) {
                const Op op = random_op(rng, fast.geo, fast.pt.encoding());
                INFO("bits " << bits << " seed " << seed << " step " << step << " kind " << int(op.kind) << std::hex
                             << " start " << op.start << " end " << op.end << " delta " << op.delta);
                fast.env.events.clear();
                each.env.events.clear();
                REQUIRE(apply_fast(fast, op).ok());
                apply_each_entry(each, op);
                REQUIRE(to_string(fast.env.events) == to_string(each.env.events));
                REQUIRE(engine_runs(fast.pt) == engine_runs(each.pt));
                REQUIRE(fast.env.pages_in_use() == each.env.pages_in_use());
                REQUIRE(fast.env.violations().empty());
            }
        }
    }
}
