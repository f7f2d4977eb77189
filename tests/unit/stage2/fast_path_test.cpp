// The map's fast paths against the general ones they stand for, on random
// sequences: the table-page count read from the op's shape against the
// walk that decides every entry, and the change with its covered runs and
// one-pass fresh tables against the walk that decides and writes entry by
// entry (same tables, same writes, barriers and invalidations, in order).
#include <catch2/catch.hpp>

#include <random>

#include "fixture.h"
#include "model.h"
#include "passage/log.h"

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

namespace {

std::string g_text;
void capture(const char* text, usize len) { g_text.append(text, len); }

// The dump as it was before runs: every leaf through RangePrinter::add.
std::string dump_each_leaf(Fixture& f)
{
    g_text.clear();
    set_log_sink(capture);
    {
        RangePrinter printer("test", f.geo, f.pt.encoding());
        const usize tables = f.pt.for_each_leaf([&](const EntryRef& e) { printer.add(e.desc, e.ipa, e.level); });
        printer.finish(f.geo.concat + tables);
    }
    set_log_sink(nullptr);
    return g_text;
}

std::string dump_runs(Fixture& f)
{
    g_text.clear();
    set_log_sink(capture);
    f.pt.dump("test");
    set_log_sink(nullptr);
    return g_text;
}

}  // namespace

TEST_CASE("the dump by runs prints what the dump leaf by leaf prints", "[stage2][fast]")
{
    for (unsigned bits : {32u, 40u, 48u}) {
        for (u64 seed = 1; seed <= 4; ++seed) {
            Fixture f(bits);
            std::mt19937_64 rng(seed * 31337 + bits);
            for (int step = 0; step < 120; ++step) {
                REQUIRE(apply_fast(f, random_op(rng, f.geo, f.pt.encoding())).ok());
                if (step % 10 != 9) continue;
                INFO("bits " << bits << " seed " << seed << " step " << step);
                REQUIRE(dump_runs(f) == dump_each_leaf(f));
            }
        }
    }
}

TEST_CASE("the dump by runs splits undecodable leaves and output addresses that carry", "[stage2][fast]")
{
    Fixture f(40);
    // 2 MiB of pages at 0x4000'0000 (a PA not congruent to a block).
    REQUIRE(f.pt.map(IpaAddr(0x4000'0000), PhysAddr(0x1000), 2 * MiB, kBar).ok());
    const u64 l2 = f.root()[1];
    u64* pages = f.env.table(desc_output(f.below(l2)[0]));
    // Three leaves continuing each other bit for bit, with a MemAttr no
    // encoding uses: three lines, as leaf by leaf.
    const u64 bad = make_leaf_desc(PhysAddr(0x5000'0000), kLeafLevel, MemAttr::make(0b1000) | AF::make(1));
    for (usize i = 0; i < 3; ++i) pages[10 + i] = bad + i * kPageSize;
    // The last pages of the output space, then one whose address carried.
    const u64 top = make_leaf_desc(PhysAddr((u64{1} << 48) - 2 * kPageSize), kLeafLevel,
                                   encode_attrs(kBar, kNoFwb).value());
    pages[100] = top;
    pages[101] = top + kPageSize;
    pages[102] = top + 2 * kPageSize;  // the address field carried into bit 48
    pages[103] = make_leaf_desc(PhysAddr(0), kLeafLevel, encode_attrs(kBar, kNoFwb).value());
    const std::string runs = dump_runs(f);
    INFO(runs);
    CHECK(runs == dump_each_leaf(f));
    CHECK(runs.find("undecodable") != std::string::npos);
    for (usize i = 0; i < kEntriesPerTable; ++i) pages[i] = 0;  // nothing for destroy() to trip on
}
