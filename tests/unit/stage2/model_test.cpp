// The reference model: random map/unmap/protect sequences over several
// seeds and geometries; after every step the engine's map equals the
// model's page for page, no table page leaks, the table count is the
// minimum for the mapping, and every break-before-make was in order.
#include <catch2/catch.hpp>

#include <map>
#include <random>

#include "fixture.h"
#include "model.h"

using namespace passage;
using namespace passage::stage2;
using namespace passage::stage2::test;

namespace {

const Attrs kChoices[] = {
    {MemType::NormalWB, Access::RW, true},  {MemType::NormalWB, Access::RO, false},
    {MemType::NormalWB, Access::None, true}, {MemType::NormalNC, Access::RW, false},
    {MemType::DeviceNGnRE, Access::RW, false}, {MemType::DeviceNGnRnE, Access::WO, false},
};

struct Request {
    OpKind kind;
    u64 ipa;
    u64 pa;
    u64 size;
    Attrs attrs;
};

// Random requests that hit blocks, pages, overlaps and the top of the IPA
// space: a few hot spots, sizes from a page to a few GiB, output addresses
// either block-congruent or not.
class Generator {
public:
    Generator(u64 seed, const Geometry& geo) : rng_(seed), limit_(geo.ipa_limit()) {}

    Request next()
    {
        Request s;
        const unsigned k = pick(10);
        s.kind = k < 5 ? OpKind::Map : k < 7 ? OpKind::Unmap : OpKind::Protect;
        const u64 hot[] = {0, 1 * GiB, 3 * GiB - 4 * MiB, limit_ / 2, limit_ - 2 * GiB, limit_ - 4 * MiB};
        const u64 base = hot[pick(6)];
        switch (pick(5)) {
        case 0: s.size = (1 + pick(16)) * kPageSize; break;
        case 1: s.size = (1 + pick(4)) * 2 * MiB; break;
        case 2: s.size = 2 * MiB + (pick(3) == 0 ? kPageSize : 0) * (pick(2) ? 1 : -1); break;
        case 3: s.size = (1 + pick(2)) * GiB; break;
        default: s.size = (1 + pick(1024)) * kPageSize; break;
        }
        const u64 off = pick(2) ? pick(1024) * kPageSize : pick(4) * 2 * MiB;
        s.ipa = base + off;
        if (s.ipa >= limit_) s.ipa = limit_ - kPageSize;
        if (s.size > limit_ - s.ipa) s.size = limit_ - s.ipa;
        // Output: congruent to the IPA modulo 1 GiB (blocks possible) or not.
        const u64 pa_base = pick(8) * GiB;
        s.pa = pa_base + (pick(3) != 0 ? s.ipa % GiB : pick(1 << 18) * kPageSize);
        // Keep 4 KiB pages bounded: large non-congruent maps are shrunk.
        if (s.kind == OpKind::Map && !is_aligned(s.pa - s.ipa, 2 * MiB) && s.size > 8 * MiB)
            s.size = 8 * MiB;
        s.attrs = kChoices[pick(6)];
        return s;
    }
    unsigned pick(unsigned n) { return std::uniform_int_distribution<unsigned>(0, n - 1)(rng_); }
    u64 pick64(u64 n) { return std::uniform_int_distribution<u64>(0, n - 1)(rng_); }

private:
    std::mt19937_64 rng_;
    u64 limit_;
};

Status apply(PageTable<FakeEnv>& pt, const Request& s)
{
    switch (s.kind) {
    case OpKind::Map: return pt.map(IpaAddr(s.ipa), PhysAddr(s.pa), s.size, s.attrs);
    case OpKind::Unmap: return pt.unmap(IpaAddr(s.ipa), s.size);
    case OpKind::Protect: return pt.protect(IpaAddr(s.ipa), s.size, s.attrs);
    }
    return Error::InvalidArgument;
}

void apply(Model& m, const Request& s)
{
    switch (s.kind) {
    case OpKind::Map: m.map(s.ipa, s.pa, s.size, s.attrs); break;
    case OpKind::Unmap: m.unmap(s.ipa, s.size); break;
    case OpKind::Protect: m.protect(s.ipa, s.size, s.attrs); break;
    }
}

std::string describe(const Request& s)
{
    char buf[160];
    std::snprintf(buf, sizeof buf, "%s ipa %#llx pa %#llx size %#llx type %d access %d exec %d",
                  s.kind == OpKind::Map ? "map" : s.kind == OpKind::Unmap ? "unmap" : "protect",
                  (unsigned long long)s.ipa, (unsigned long long)s.pa, (unsigned long long)s.size,
                  (int)s.attrs.type, (int)s.attrs.access, (int)s.attrs.exec);
    return buf;
}

std::string describe(const std::vector<Run>& runs)
{
    std::string out;
    for (const Run& r : runs) {
        char buf[128];
        std::snprintf(buf, sizeof buf, "  %#llx+%#llx -> %#llx type %d access %d exec %d\n",
                      (unsigned long long)r.ipa, (unsigned long long)r.size, (unsigned long long)r.pa,
                      (int)r.attrs.type, (int)r.attrs.access, (int)r.attrs.exec);
        out += buf;
    }
    return out;
}

// Everything the engine and the model must agree on after a step.
void check_against(Fixture& f, const Model& m, Generator& gen)
{
    const std::vector<Run> want = m.runs();
    const std::vector<Run> got = engine_runs(f.pt);
    if (got != want) {
        INFO("engine:\n" << describe(got) << "model:\n" << describe(want));
        REQUIRE(got == want);
    }
    // Lookups: the edges of every run and random addresses.
    for (usize i = 0; i < want.size() && i < 64; ++i) {
        const Run& r = want[i];
        for (u64 ipa : {r.ipa, r.ipa + r.size - kPageSize, r.ipa + (r.size / 2 & ~(kPageSize - 1))}) {
            Result<Translation> t = f.pt.lookup(IpaAddr(ipa + 0x123));
            REQUIRE(t.ok());
            CHECK(t->pa.value == r.pa + (ipa - r.ipa) + 0x123);
            CHECK(t->attrs == r.attrs);
        }
    }
    for (int i = 0; i < 32; ++i) {
        const u64 ipa = gen.pick64(f.geo.ipa_limit());
        std::optional<Run> r = m.find(ipa);
        Result<Translation> t = f.pt.lookup(IpaAddr(ipa));
        REQUIRE(t.ok() == r.has_value());
        if (r) CHECK(t->pa.value == r->pa + (ipa - r->ipa));
    }
    const usize pages = f.pt.table_pages();
    REQUIRE(pages == f.pt.table_pages_by_walk());  // the kept count against the walk
    REQUIRE(pages == f.env.pages_in_use());  // nothing leaked
    REQUIRE(pages == m.min_table_pages(f.geo));
    REQUIRE(f.env.violations().empty());
}

}  // namespace

TEST_CASE("random sequences match the reference model", "[stage2][model]")
{
    // Several seeds over geometries with each start level (and concatenation).
    const unsigned bits = GENERATE(32u, 36u, 40u, 48u);
    const u64 seed = GENERATE(1u, 2u, 3u);
    const Encoding enc = seed == 2 ? kFwbGuestChoice : kNoFwb;
    CAPTURE(bits, seed);
    Fixture f(bits, enc, 16384);
    Model m;
    Generator gen(seed * 7919 + bits, f.geo);
    for (int i = 0; i < 400; ++i) {
        const Request s = gen.next();
        INFO("step " << i << ": " << describe(s));
        REQUIRE(apply(f.pt, s).ok());
        apply(m, s);
        check_against(f, m, gen);
    }
}

namespace {

// Every reachable table, by address, for "unchanged" comparisons.
std::map<u64, std::vector<u64>> snapshot(Fixture& f)
{
    std::map<u64, std::vector<u64>> out;
    std::vector<std::pair<PhysAddr, unsigned>> todo;
    for (usize p = 0; p < f.geo.concat; ++p) todo.push_back({f.pt.root() + p * kPageSize, f.geo.start_level});
    while (!todo.empty()) {
        auto [pa, level] = todo.back();
        todo.pop_back();
        const u64* t = f.env.table(pa);
        out[pa.value] = std::vector<u64>(t, t + 512);
        for (usize i = 0; i < 512; ++i)
            if (is_table(t[i], level)) todo.push_back({desc_output(t[i]), level + 1});
    }
    return out;
}

}  // namespace

TEST_CASE("running out of table pages mid-operation changes nothing", "[stage2][model]")
{
    // For each step of a random sequence, fail the k-th allocation for every
    // k until the step succeeds: every failure leaves the tables as they were.
    const u64 seed = GENERATE(11u, 12u);
    Fixture f(40, kNoFwb, 16384);
    Model m;
    Generator gen(seed, f.geo);
    for (int i = 0; i < 60; ++i) {
        const Request s = gen.next();
        INFO("step " << i << ": " << describe(s));
        const auto before = snapshot(f);
        const usize in_use = f.env.pages_in_use();
        for (usize k = 0;; ++k) {
            f.env.fail_after(k);
            f.env.recording = true;
            f.env.events.clear();
            Status st = apply(f.pt, s);
            f.env.recording = false;
            f.env.fail_after(~usize{0});
            if (st.ok()) break;
            REQUIRE(st.error() == Error::NoMemory);
            CHECK(st.error_addr() == s.ipa);
            // Not one entry written, not one barrier: only the partial
            // reservation handed back.
            for (const Event& e : f.env.events) REQUIRE(e.kind == Event::Free);
            REQUIRE(f.env.pages_in_use() == in_use);
            REQUIRE(snapshot(f) == before);
        }
        apply(m, s);
        check_against(f, m, gen);
    }
}

TEST_CASE("a pool too small for a request leaves the map intact", "[stage2][model]")
{
    // A real exhaustion (not injected): 64 table pages cannot hold 1 GiB of
    // 4 KiB pages; the earlier mapping survives untouched.
    Fixture f(40, kNoFwb, 64);
    REQUIRE(f.pt.map(IpaAddr(0x4000'0000), PhysAddr(0x4000'0000), 1 * GiB, kRam).ok());
    const auto before = snapshot(f);
    Status s = f.pt.map(IpaAddr(0x8000'0000), PhysAddr(0x1'0000'1000), 1 * GiB, kRam);
    CHECK(s.error() == Error::NoMemory);
    CHECK(s.error_addr() == 0x8000'0000);
    CHECK(snapshot(f) == before);
    CHECK(f.env.pages_in_use() == 2);
}
