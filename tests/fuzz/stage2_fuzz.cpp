// Fuzzer 7: stage-2 operation sequences (map, unmap, protect, lookup at
// IPAs near block and table boundaries, sizes from a page to a first-level
// entry, output addresses block-congruent or not, bad arguments too) on
// the page-table engine over the unit tests' fake environment, with a
// table pool small enough to run dry. After every operation:
//   - before a good request, the table pages counted from its shape
//     (PageTable::pages_needed) equal the count of the walk that decides
//     every entry;
//   - it failed exactly when its arguments were bad (then with the error
//     they call for) or, with good ones, only for want of table pages;
//   - a failed operation wrote no entry and issued no barrier (only the
//     partial reservation was handed back), and left the map as it was;
//   - the engine's map equals the reference model's (tests/unit/stage2),
//     lookups at the operation's edges and at a random IPA agree with it;
//   - the table count the engine keeps equals a walk's count;
//   - the table pages in use are the pages the tables hold (no leak) and
//     the minimum the mapping needs; every break-before-make the fake
//     environment saw was in order, and the last new entry was followed
//     by a DSB ISH; a broken leaf's TLBI IPAS2E1IS names an IPA it mapped.
// At the end, unmapping everything leaves only the first-level tables,
// and destroying the table frees every page.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <vector>

#include "fuzz_input.h"
#include "stage2/model.h"
#include "stage2_engine.h"

using namespace passage;
using namespace passage::stage2;
using namespace passage::stage2::test;

using passage::fuzzing::Input;

namespace {

[[noreturn]] void violated(const char* what, u64 a = 0, u64 b = 0)
{
    std::fprintf(stderr, "stage2 fuzz: %s (0x%llx, 0x%llx)\n", what, (unsigned long long)a, (unsigned long long)b);
    std::abort();
}

void print(const char* title, const std::vector<Run>& runs)
{
    std::fprintf(stderr, "%s:\n", title);
    for (const Run& r : runs)
        std::fprintf(stderr, "  %#llx+%#llx -> %#llx type %d access %d exec %d\n", (unsigned long long)r.ipa,
                     (unsigned long long)r.size, (unsigned long long)r.pa, int(r.attrs.type), int(r.attrs.access),
                     int(r.attrs.exec));
}

constexpr u64 kTableSpan[] = {512 * GiB, GiB, 2 * MiB, kPageSize};  // one entry, by level

struct Request {
    u8 kind;  // 0 map, 1 unmap, 2 protect, 3 lookup only
    u64 ipa, pa, size;
    Attrs attrs;
};

Request next_step(Input& in, const Geometry& geo)
{
    const u8 k = in.take<u8>();
    const u8 where = in.take<u8>();
    const u16 off = in.take<u16>();
    const u8 how_big = in.take<u8>();
    const u16 count = in.take<u16>();
    const u8 out = in.take<u8>();
    const u32 pa_pick = in.take<u32>();
    const u8 attr = in.take<u8>();
    const u64 limit = geo.ipa_limit();
    Request s;
    s.kind = k & 3;
    // Near a boundary of each level, the middle and the top of the space.
    const u64 hot[] = {0, GiB - 2 * MiB, GiB, 4 * GiB - kPageSize, 512 * GiB - 2 * MiB, limit / 2 - GiB,
                       limit / 2, limit - 2 * GiB, limit - 4 * MiB, limit - 2 * MiB + kPageSize};
    s.ipa = hot[where % 10] + u64(off) * kPageSize;
    if ((where & 0x80) != 0) s.ipa = s.ipa - u64(off % 512) * 2 * kPageSize;  // a few pages below instead
    if (s.ipa >= limit && (k & 0x40) == 0) s.ipa = (s.ipa % limit) & ~(kPageSize - 1);
    if ((k & 0xe0) == 0xe0) s.ipa += 0x800;  // misaligned, now and then
    switch (how_big % 8) {
    case 0: s.size = (1 + count % 512) * kPageSize; break;
    case 1: s.size = (1 + count % 8) * 2 * MiB; break;
    case 2: s.size = 2 * MiB + ((count & 1) ? kPageSize : 0 - kPageSize); break;
    case 3: s.size = (1 + count % 4) * GiB; break;
    case 4: s.size = (1 + u64(count)) * kPageSize; break;
    case 5: s.size = s.ipa < limit ? limit - s.ipa : kPageSize; break;  // to the top
    case 6: s.size = (count & 1) ? 0 : kPageSize + count % 4096; break;   // bad: empty or ragged
    default: s.size = kTableSpan[count % 4] * (1 + (count >> 2) % 2); break;
    }
    // Output: congruent with the IPA modulo 1 GiB or 2 MiB (blocks allowed),
    // any page, or bad (ragged, or running past the PA space). Valid ones
    // stay below the fake arena, where tables live.
    switch (out % 6) {
    case 0:
    case 1: s.pa = u64(pa_pick % 64) * GiB + s.ipa % GiB; break;
    case 2: s.pa = u64(pa_pick % 4096) * 2 * MiB + s.ipa % (2 * MiB); break;
    case 3: s.pa = u64(pa_pick) * kPageSize; break;
    case 4: s.pa = u64(pa_pick) * kPageSize + (pa_pick & 0xfff); break;
    default: s.pa = geo.pa_limit() - s.size + (1 + pa_pick % 4) * kPageSize; break;
    }
    // The engine counts the pages a change needs entry by entry before it
    // finds the pool too small: a map that cannot use 1 GiB blocks over
    // 2^46 bytes would take seconds. Such maps are kept to 64 GiB (2 MiB
    // blocks) or 64 MiB (pages), a little more than the pool can hold.
    if (s.kind == 0 && (s.pa - s.ipa) % GiB != 0 && s.size > 64 * GiB) s.size = 64 * GiB;
    if (s.kind == 0 && (s.pa - s.ipa) % (2 * MiB) != 0 && s.size > 64 * MiB) s.size = 64 * MiB;
    // Pages of the arena as output would look like tables to the fake's
    // break-before-make checker: such a request is made one past the PA space.
    if (out % 6 != 5 && s.pa + s.size > FakeEnv::kArenaBase) s.pa = geo.pa_limit();
    s.attrs = Attrs{MemType(attr & 3), Access(attr >> 2 & 3), (attr & 0x10) != 0};
    return s;
}

bool attrs_ok(Attrs a) { return !a.exec || a.type == MemType::NormalWB; }

// The error a bad request must get, or nothing if it is good.
std::optional<Error> expected_error(const Request& s, const Geometry& geo)
{
    if (s.size == 0) return Error::InvalidArgument;
    if (s.ipa % kPageSize != 0 || s.size % kPageSize != 0) return Error::Misaligned;
    if (s.ipa >= geo.ipa_limit() || s.size > geo.ipa_limit() - s.ipa) return Error::OutOfRange;
    if (s.kind == 0) {
        if (s.pa % kPageSize != 0) return Error::Misaligned;
        if (s.pa >= geo.pa_limit() || s.size > geo.pa_limit() - s.pa) return Error::OutOfRange;
    }
    if (s.kind != 1 && !attrs_ok(s.attrs)) return Error::InvalidArgument;
    return std::nullopt;
}

void check_lookup(const fuzz::Table& pt, const Model& m, const Geometry& geo, u64 ipa)
{
    Result<Translation> t = fuzz::lookup(pt, ipa);
    if (ipa >= geo.ipa_limit()) {
        if (t.ok() || t.error() != Error::OutOfRange) violated("lookup beyond the IPA space", ipa);
        return;
    }
    std::optional<Run> r = m.find(ipa);
    if (t.ok() != r.has_value()) violated("lookup disagrees with the model on whether it is mapped", ipa, t.ok());
    if (!r) return;
    if (t->pa.value != r->pa + (ipa - r->ipa) || !(t->attrs == r->attrs))
        violated("lookup disagrees with the model", ipa, t->pa.value);
    if (t->base.value > ipa || ipa - t->base.value >= t->size || t->size != level_span(t->level) ||
        t->base.value < r->ipa || t->base.value + t->size > r->ipa + r->size)
        violated("lookup's leaf does not hold the address inside the run", ipa, t->base.value);
}

void check_map(const fuzz::Table& pt, const Model& m, const FakeEnv& env, const Geometry& geo)
{
    const std::vector<Run> want = m.runs();
    const std::vector<Run> got = engine_runs(pt);
    if (got != want) {
        print("engine", got);
        print("model", want);
        violated("the engine's map is not the model's");
    }
    const usize pages = pt.table_pages();
    if (pages != fuzz::table_pages_by_walk(pt)) violated("the kept table count differs from the walk's", pages, fuzz::table_pages_by_walk(pt));
    if (pages != env.pages_in_use()) violated("table pages leaked", pages, env.pages_in_use());
    if (pages != m.min_table_pages(geo)) violated("more table pages than the mapping needs", pages, m.min_table_pages(geo));
    if (!env.violations().empty()) {
        for (const std::string& v : env.violations()) std::fprintf(stderr, "  %s\n", v.c_str());
        violated("break-before-make out of order");
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const u8* data, usize size)
{
    Input in{data, size};
    const u8 setup = in.take<u8>();
    const unsigned ipa_bits[] = {32, 36, 39, 40, 42, 44, 47, 48};
    const u8 pa_ranges[] = {0b0101, 0b0101, 0b0010, 0b0000};
    const Encoding encodings[] = {kNoFwb, kFwbGuestChoice, kFwbForceWb, kNoFwb};
    const CpuFeatures cpu{pa_ranges[setup >> 3 & 3], true, true};
    Result<Geometry> geo = make_geometry(cpu, ipa_bits[setup & 7]);
    if (!geo) return 0;
    const Encoding enc = encodings[setup >> 5 & 3];
    FakeEnv env(32 + usize(setup >> 7) * 96);  // 32 or 128 table pages
    Result<fuzz::Table> made = fuzz::create(env, *geo, enc);
    if (!made) violated("create", geo->concat);
    fuzz::Table& pt = made.value();
    Model m;
    check_map(pt, m, env, *geo);

    for (unsigned n = 0; in.n > 0 && n < 64; ++n) {
        const Request s = next_step(in, *geo);
        if (s.kind == 3) {
            check_lookup(pt, m, *geo, s.ipa + (s.pa & 0xfff));
            continue;
        }
        const std::optional<Error> want = expected_error(s, *geo);
        if (!want) {
            const u64 bits = s.kind == 1 ? 0 : encode_attrs(s.attrs, pt.encoding()).value();
            const Op op{s.kind == 0 ? OpKind::Map : s.kind == 1 ? OpKind::Unmap : OpKind::Protect, s.ipa,
                        s.ipa + s.size, s.kind == 0 ? s.pa - s.ipa : 0, bits};
            const usize shape = fuzz::pages_needed(pt, op);
            const usize each = fuzz::pages_needed_by_walk(pt, op);
            if (shape != each) violated("the shape count differs from the per-entry count", shape, each);
        }
        const usize in_use = env.pages_in_use();
        const Model before = m;
        env.events.clear();
        env.recording = true;
        Status st = s.kind == 0   ? fuzz::map(pt, s.ipa, s.pa, s.size, s.attrs)
                    : s.kind == 1 ? fuzz::unmap(pt, s.ipa, s.size)
                                  : fuzz::protect(pt, s.ipa, s.size, s.attrs);
        env.recording = false;
        if (want) {
            if (st.ok()) violated("a bad request succeeded", s.ipa, s.size);
            if (st.error() != *want) violated("a bad request got the wrong error", u64(st.error()), u64(*want));
        } else if (!st.ok()) {
            if (st.error() != Error::NoMemory || st.error_addr() != s.ipa)
                violated("a good request failed other than for table pages", u64(st.error()), st.error_addr());
        }
        // Entries made valid are published (DSB ISH) before the call returns.
        bool unpublished = false;
        for (const Event& e : env.events)
            unpublished = e.kind == Event::Write ? (unpublished || is_valid(e.value)) : unpublished && e.kind != Event::DsbIsh;
        if (unpublished) violated("a new entry is not followed by DSB ISH", s.ipa, s.size);
        // A broken leaf's TLBI names an IPA that leaf translated (before the change).
        u64 broken = 0;
        for (const Event& e : env.events) {
            if (e.kind == Event::Write && is_valid(e.old) && !is_valid(e.value) && !env.is_table_page(desc_output(e.old).value))
                broken = e.old;
            if (e.kind != Event::TlbiIpa || broken == 0) continue;
            std::optional<Run> r = before.find(e.addr);
            if (!r || r->pa + (e.addr - r->ipa) != desc_output(broken).value)
                violated("TLBI IPAS2E1IS of an IPA the broken entry did not map", e.addr, broken);
            broken = 0;
        }
        if (!st.ok()) {
            for (const Event& e : env.events)
                if (e.kind != Event::Free) violated("a failed request touched the tables", e.kind, e.addr);
            if (env.pages_in_use() != in_use) violated("a failed request kept table pages", in_use, env.pages_in_use());
        } else if (s.kind == 0) {
            m.map(s.ipa, s.pa, s.size, s.attrs);
        } else if (s.kind == 1) {
            m.unmap(s.ipa, s.size);
        } else {
            m.protect(s.ipa, s.size, s.attrs);
        }
        check_map(pt, m, env, *geo);
        for (u64 ipa : {s.ipa - kPageSize, s.ipa, s.ipa + s.size - 1, s.ipa + s.size}) check_lookup(pt, m, *geo, ipa);
    }

    Status all = fuzz::unmap(pt, 0, geo->ipa_limit());
    if (!all) violated("unmapping everything failed", u64(all.error()));
    m.unmap(0, geo->ipa_limit());
    check_map(pt, m, env, *geo);
    if (env.pages_in_use() != geo->concat) violated("tables left after unmapping everything", env.pages_in_use());
    fuzz::destroy(pt);
    if (env.pages_in_use() != 0) violated("pages left after destroy", env.pages_in_use());
    return 0;
}
