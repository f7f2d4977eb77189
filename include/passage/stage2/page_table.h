// A guest's stage-2 translation: map, unmap, change attributes, look up.
//
//   auto geo = make_geometry(CpuFeatures::from_id_regs(mmfr0, mmfr1, mmfr2), 40);
//   auto pt = PageTable<Env>::create(env, *geo, kNoFwb);
//   pt->map(IpaAddr(0x4000'0000), PhysAddr(0x4000'0000), 1 * GiB,
//           {MemType::NormalWB, Access::RW, true});
//   VTCR_EL2 = pt->vtcr(); VTTBR_EL2 = pt->vttbr(vmid); TLBI VMALLS12E1IS ...
//
// Every change checks its arguments, reserves the table pages it may need
// and only then touches the tables: a failed change leaves them exactly as
// they were. Blocks are used wherever alignment allows, tables that become
// one uniform block-sized run are folded back, empty tables are freed, so
// the table count is always the minimum for the mapping.
#pragma once

#include "passage/stage2/dump.h"
#include "passage/stage2/geometry.h"
#include "passage/stage2/visitors.h"

namespace passage::stage2 {

struct Translation {
    PhysAddr pa;      // the output address of the looked-up IPA itself
    Attrs attrs;
    unsigned level = 0;
    IpaAddr base;     // the first IPA of the leaf that maps it
    u64 size = 0;     // the size of that leaf
};

template <Stage2Env Env>
class PageTable {
public:
    PageTable() = default;

    static Result<PageTable> create(Env& env, const Geometry& geo, Encoding enc)
    {
        Result<PhysAddr> root = env.alloc_pages(geo.concat);
        if (!root) return Failure{Error::NoMemory, geo.root_bytes()};
        if (!is_aligned(root->value, geo.root_bytes())) {
            env.free_pages(*root, geo.concat);
            return Failure{Error::Misaligned, root->value};
        }
        for (usize p = 0; p < geo.concat; ++p) {
            u64* t = env.table(*root + p * kPageSize);
            for (usize i = 0; i < kEntriesPerTable; ++i) t[i] = 0;
        }
        PageTable pt;
        pt.env_ = &env;
        pt.geo_ = geo;
        pt.enc_ = enc;
        pt.root_ = *root;
        return pt;
    }

    // Frees every table, the first level included. The translation must
    // no longer be in use (VTTBR_EL2 switched away, VMID invalidated).
    void destroy()
    {
        if (env_ == nullptr) return;
        FreeVisitor<Env> v{*env_};
        walk_root(0, geo_.ipa_limit(), false, v);
        env_->free_pages(root_, geo_.concat);
        env_ = nullptr;
        tables_ = 0;
    }

    // Maps [ipa, ipa + size) to [pa, pa + size), replacing what was there.
    Status map(IpaAddr ipa, PhysAddr pa, u64 size, Attrs attrs)
    {
        Status ok = check_range(ipa.value, size);
        if (!ok) return ok;
        if (!is_aligned(pa.value, kPageSize)) return Failure{Error::Misaligned, pa.value};
        if (pa.value >= geo_.pa_limit() || size > geo_.pa_limit() - pa.value)
            return Failure{Error::OutOfRange, pa.value};
        Result<u64> bits = encode_attrs(attrs, enc_);
        if (!bits) return Failure{Error::InvalidArgument, ipa.value};
        return apply({OpKind::Map, ipa.value, ipa.value + size, pa.value - ipa.value, *bits});
    }

    // Unmaps [ipa, ipa + size); holes are fine.
    Status unmap(IpaAddr ipa, u64 size)
    {
        Status ok = check_range(ipa.value, size);
        if (!ok) return ok;
        return apply({OpKind::Unmap, ipa.value, ipa.value + size, 0, 0});
    }

    // Gives every mapped page of [ipa, ipa + size) the attributes `attrs`;
    // holes stay unmapped.
    Status protect(IpaAddr ipa, u64 size, Attrs attrs)
    {
        Status ok = check_range(ipa.value, size);
        if (!ok) return ok;
        Result<u64> bits = encode_attrs(attrs, enc_);
        if (!bits) return Failure{Error::InvalidArgument, ipa.value};
        return apply({OpKind::Protect, ipa.value, ipa.value + size, 0, *bits});
    }

    Result<Translation> lookup(IpaAddr ipa) const
    {
        if (ipa.value >= geo_.ipa_limit()) return Failure{Error::OutOfRange, ipa.value};
        FindVisitor v;
        walk_root(ipa.value, ipa.value + 1, true, v);
        Result<Leaf> leaf = decode_leaf(v.desc, v.level, enc_);
        if (!leaf) return Failure{Error::NotFound, ipa.value};
        return Translation{leaf->oa + (ipa.value - v.base), leaf->attrs, v.level, IpaAddr(v.base),
                           level_span(v.level)};
    }

    // Calls fn(const EntryRef&) for each valid leaf, in IPA order; returns
    // the tables below the first level (table_pages() less the first level).
    template <typename Fn>
    usize for_each_leaf(Fn&& fn) const
    {
        LeafVisitor<Fn> v{fn};
        walk_root(0, geo_.ipa_limit(), true, v);
        return v.tables;
    }

    // Table pages in use, the first level (all its concatenated pages)
    // included: kept by every change, so asking costs nothing.
    usize table_pages() const { return geo_.concat + tables_; }

    // The same counted by a walk of the whole table (tests hold the two
    // together).
    usize table_pages_by_walk() const
    {
        TableCountVisitor v;
        walk_root(0, geo_.ipa_limit(), true, v);
        return geo_.concat + v.tables;
    }

    // Table pages `op` may need: what a CountVisitor walk counts, reading
    // only the entries that can need one (apply() reserves this many).
    usize pages_needed(const Op& op) const
    {
        return pages_below(op, root_, geo_.start_level, 0, geo_.root_entries, op.start, op.end);
    }

    // The same by the reference walk that decides every entry (tests).
    usize pages_needed_by_walk(const Op& op) const
    {
        CountVisitor count{op};
        walk_root(op.start, op.end, true, count);
        return count.pages;
    }

    // The map as merged ranges, through log_info (dump.cpp does the printing).
    void dump(const char* title) const;

    PhysAddr root() const { return root_; }
    u64 vtcr() const { return geo_.vtcr; }
    u64 vttbr(u16 vmid) const { return make_vttbr(root_, vmid); }
    const Geometry& geometry() const { return geo_; }
    Encoding encoding() const { return enc_; }
    Env& env() const { return *env_; }

private:
    Status check_range(u64 ipa, u64 size) const
    {
        if (size == 0) return Failure{Error::InvalidArgument, ipa};
        if (!is_aligned(ipa, kPageSize)) return Failure{Error::Misaligned, ipa};
        if (!is_aligned(size, kPageSize)) return Failure{Error::Misaligned, size};
        if (ipa >= geo_.ipa_limit() || size > geo_.ipa_limit() - ipa)
            return Failure{Error::OutOfRange, ipa};
        return {};
    }

    template <typename V>
    bool walk_root(u64 start, u64 end, bool live, V& v) const
    {
        return walk_table(*env_, root_, geo_.start_level, 0, geo_.root_entries, start, end, live, v);
    }

    // pages_needed() below one table. Entries strictly between the first
    // and the last are covered whole: one needs pages only for a map that
    // cannot put a leaf at this level (a split, or a table to look into).
    // Unmap and protect never split a covered entry, and a map with leaves
    // that fit replaces whatever is there, so only the edges are read.
    // Level-3 tables are not looked into: nothing splits there.
    usize pages_below(const Op& op, PhysAddr table, unsigned level, u64 base, usize entries, u64 start,
                      u64 end) const
    {
        const unsigned shift = level_shift(level);
        const u64 span = u64{1} << shift;
        const usize first = static_cast<usize>((start - base) >> shift);
        usize last = static_cast<usize>((end - 1 - base) >> shift);
        if (last >= entries) last = entries - 1;
        const u64* t = env_->table(table);
        const bool middle = op.kind == OpKind::Map && !map_leaf_fits(op, base + first * span, level);
        usize pages = 0;
        for (usize i = first; i <= last; ++i) {
            if (!middle && i != first && i != last) i = last;
            const u64 ipa = base + i * span;
            const Decision d = decide_entry(op, t[i], ipa, level);
            if (d.action == Action::Split) {
                pages += split_cost(op, t[i], ipa, level);
            } else if (d.action == Action::Descend && level + 1 < kLeafLevel) {
                const u64 s = start > ipa ? start : ipa;
                const u64 e = end < ipa + span ? end : ipa + span;
                pages += pages_below(op, desc_output(t[i]), level + 1, ipa, kEntriesPerTable, s, e);
            }
        }
        return pages;
    }

    // Prepare (count and reserve every table page the change may need),
    // then commit (apply it; it cannot fail any more).
    Status apply(const Op& op)
    {
        Reserve<Env> reserve(*env_);
        if (!reserve.fill(pages_needed(op))) return Failure{Error::NoMemory, op.start};
        ChangeVisitor<Env> change{*env_, reserve, op};
        walk_root(op.start, op.end, true, change);
        tables_ = tables_ + change.taken - change.freed;
        if (change.published) env_->dsb_ish();  // new entries visible before we return
        return {};
    }

    Env* env_ = nullptr;
    Geometry geo_{};
    Encoding enc_{};
    PhysAddr root_{};
    usize tables_ = 0;  // table pages below the first level
};

template <Stage2Env Env>
void PageTable<Env>::dump(const char* title) const
{
    // The leaves in runs; the table count is kept by the changes.
    RangePrinter printer(title, geo_, enc_);
    RunLeafVisitor<RangePrinter> v{printer};
    walk_root(0, geo_.ipa_limit(), true, v);
    printer.finish(table_pages());
}

}  // namespace passage::stage2
