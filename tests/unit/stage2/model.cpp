#include "model.h"

namespace passage::stage2::test {

std::vector<Run> Model::carve(u64 ipa, u64 size)
{
    const u64 end = ipa + size;
    std::vector<Run> out;
    auto it = runs_.lower_bound(ipa);
    if (it != runs_.begin()) {
        auto prev = std::prev(it);
        if (prev->second.ipa + prev->second.size > ipa) it = prev;
    }
    while (it != runs_.end() && it->second.ipa < end) {
        Run r = it->second;
        it = runs_.erase(it);
        const u64 rend = r.ipa + r.size;
        if (r.ipa < ipa) runs_[r.ipa] = Run{r.ipa, r.pa, ipa - r.ipa, r.attrs};
        if (rend > end) runs_[end] = Run{end, r.pa + (end - r.ipa), rend - end, r.attrs};
        const u64 s = r.ipa > ipa ? r.ipa : ipa;
        const u64 e = rend < end ? rend : end;
        out.push_back(Run{s, r.pa + (s - r.ipa), e - s, r.attrs});
    }
    return out;
}

void Model::insert(Run r)
{
    auto next = runs_.lower_bound(r.ipa);
    if (next != runs_.end()) {
        const Run& n = next->second;
        if (r.ipa + r.size == n.ipa && r.pa + r.size == n.pa && r.attrs == n.attrs) {
            r.size += n.size;
            next = runs_.erase(next);
        }
    }
    if (next != runs_.begin()) {
        auto prev = std::prev(next);
        Run& p = prev->second;
        if (p.ipa + p.size == r.ipa && p.pa + p.size == r.pa && p.attrs == r.attrs) {
            p.size += r.size;
            return;
        }
    }
    runs_[r.ipa] = r;
}

void Model::map(u64 ipa, u64 pa, u64 size, Attrs a)
{
    carve(ipa, size);
    insert(Run{ipa, pa, size, a});
}

void Model::unmap(u64 ipa, u64 size) { carve(ipa, size); }

void Model::protect(u64 ipa, u64 size, Attrs a)
{
    for (Run r : carve(ipa, size)) {
        r.attrs = a;
        insert(r);
    }
    // Pieces left at the carve edges may now continue their neighbours.
    std::vector<Run> all = runs();
    runs_.clear();
    for (const Run& r : all) insert(r);
}

std::optional<Run> Model::find(u64 ipa) const
{
    auto it = runs_.upper_bound(ipa);
    if (it == runs_.begin()) return std::nullopt;
    --it;
    if (it->second.ipa + it->second.size <= ipa) return std::nullopt;
    return it->second;
}

std::vector<Run> Model::runs() const
{
    std::vector<Run> out;
    for (const auto& [k, r] : runs_) out.push_back(r);
    return out;
}

bool Model::empty_in(u64 base, u64 end) const
{
    auto it = runs_.lower_bound(base);
    if (it != runs_.end() && it->second.ipa < end) return false;
    if (it == runs_.begin()) return true;
    --it;
    return it->second.ipa + it->second.size <= base;
}

bool Model::one_block(u64 base, unsigned level) const
{
    if (!block_allowed(level)) return false;
    std::optional<Run> r = find(base);
    const u64 span = level_span(level);
    return r && r->ipa + r->size >= base + span && is_aligned(r->pa + (base - r->ipa), span);
}

usize Model::need(u64 base, unsigned level) const
{
    const u64 span = level_span(level);
    if (level == kLeafLevel || empty_in(base, base + span) || one_block(base, level)) return 0;
    usize n = 1;
    const u64 cspan = level_span(level + 1);
    for (u64 c = base; c < base + span; c += cspan) {
        if (empty_in(c, base + span)) break;
        auto it = runs_.lower_bound(c);
        if (empty_in(c, c + cspan) && it != runs_.end()) {
            c = align_down(it->second.ipa, cspan) - cspan;  // jump to the next run
            continue;
        }
        n += need(c, level + 1);
    }
    return n;
}

usize Model::min_table_pages(const Geometry& geo) const
{
    usize n = geo.concat;
    const u64 span = level_span(geo.start_level);
    for (u64 c = 0; c < geo.ipa_limit(); c += span) {
        if (empty_in(c, geo.ipa_limit())) break;
        auto it = runs_.lower_bound(c);
        if (empty_in(c, c + span) && it != runs_.end()) {
            c = align_down(it->second.ipa, span) - span;
            continue;
        }
        n += need(c, geo.start_level);
    }
    return n;
}

}  // namespace passage::stage2::test
