// Stage-2 engine benchmarks. Google Benchmark times each case; main()
// then prints the figures as `name: value` lines on stdout (the tables go
// to stderr):
//   stage2_map_1g_4k_ns_per_page      map 1 GiB as 262,144 4 KiB pages
//   stage2_memset_ns_per_page         memset of the same 2 MiB of descriptors
//   stage2_map_1g_4k_vs_memset        the ratio (the physical floor is 1)
//   stage2_map_512g_blocks_ns_per_block, _ns_per_page   512 GiB of 1 GiB blocks
//   stage2_protect_random_ns          one attribute change of a random page (with BBM)
//   stage2_lookup_random_ns           one lookup of a random IPA
//   stage2_tables_used / _minimum / stage2_tables_vs_minimum (1.00 when optimal)
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "passage/stage2/page_table.h"

using namespace passage;
using namespace passage::stage2;

namespace {

// Tables from a host arena; barriers and TLBIs cost nothing here (the
// engine's own work is what is measured).
class BenchEnv {
public:
    explicit BenchEnv(usize pages) : pages_(pages)
    {
        mem_ = static_cast<u8*>(std::aligned_alloc(64 * KiB, pages * kPageSize));
        std::memset(mem_, 0, pages * kPageSize);
        reset();
    }
    ~BenchEnv() { std::free(mem_); }

    void reset()
    {
        free_.clear();
        for (usize i = pages_; i-- > 16;) free_.push_back(i);
        root_used_ = false;
        root_pages_ = 0;
    }

    Result<PhysAddr> alloc_pages(usize count)
    {
        if (count > 1) {  // the first 16 pages (64 KiB aligned) hold the first level
            if (root_used_) return Error::NoMemory;
            root_used_ = true;
            root_pages_ = count;
            return PhysAddr(base());
        }
        if (free_.empty()) return Error::NoMemory;
        usize i = free_.back();
        free_.pop_back();
        return PhysAddr(base() + i * kPageSize);
    }
    void free_pages(PhysAddr pa, usize count)
    {
        if (count > 1 || pa.value == base()) {
            root_used_ = false;
            root_pages_ = 0;
            return;
        }
        free_.push_back((pa.value - base()) / kPageSize);
    }
    u64* table(PhysAddr pa) { return reinterpret_cast<u64*>(pa.value); }
    void write_entry(u64* slot, u64 value) { *reinterpret_cast<volatile u64*>(slot) = value; }
    void dsb_ish() { benchmark::ClobberMemory(); }
    void isb() {}
    void tlbi_ipas2e1is(IpaAddr) {}
    void tlbi_vmalle1is() {}
    void tlbi_vmalls12e1is() {}
    void iommu_inval_ipa(IpaAddr) {}
    void iommu_inval_all() {}
    usize in_use() const { return pages_ - 16 - free_.size() + root_pages_; }

private:
    u64 base() const { return reinterpret_cast<u64>(mem_); }
    usize pages_;
    u8* mem_;
    std::vector<usize> free_;
    bool root_used_ = false;
    usize root_pages_ = 0;
};

static_assert(Stage2Env<BenchEnv>);

constexpr Attrs kRam{MemType::NormalWB, Access::RW, true};
constexpr Attrs kRamRo{MemType::NormalWB, Access::RO, false};
constexpr u64 kPages1G = GiB / kPageSize;
// IPA 1 GiB -> PA 4 GiB + 4 KiB: never block-congruent, so all 4 KiB pages.
constexpr u64 kIpa = 1 * GiB;
constexpr u64 kPa = 4 * GiB + kPageSize;

Geometry geometry(unsigned bits) { return make_geometry(CpuFeatures{0b0101, true, false}, bits).value(); }

// Table pages figures, filled by the benchmarks.
struct TableFigure {
    usize used = 0;
    usize minimum = 0;
};
std::map<std::string, TableFigure> g_tables;

// Whether the 1 GiB page mapping holds exactly kIpa + i pages -> kPa + i
// pages, each a 4 KiB leaf: the optimised build the figures come from is
// the one whose code is checked (the unit tests run unoptimised).
bool maps_every_page(const PageTable<BenchEnv>& pt)
{
    u64 next = 0;
    bool ok = true;
    pt.for_each_leaf([&](const EntryRef& e) {
        ok = ok && e.level == kLeafLevel && e.ipa == kIpa + next * kPageSize &&
             desc_output(e.desc).value == kPa + next * kPageSize;
        ++next;
    });
    return ok && next == kPages1G;
}

void BM_map_1g_4k(benchmark::State& state)
{
    BenchEnv env(1024);
    const Geometry geo = geometry(40);
    const char* error = nullptr;
    bool checked = false;
    for (auto _ : state) {
        state.PauseTiming();
        env.reset();
        auto pt = PageTable<BenchEnv>::create(env, geo, kNoFwb).value();
        state.ResumeTiming();
        Status s = pt.map(IpaAddr(kIpa), PhysAddr(kPa), GiB, kRam);
        benchmark::DoNotOptimize(s);
        state.PauseTiming();
        if (!s) error = "map failed";
        if (!checked) {
            checked = true;
            if (!maps_every_page(pt)) error = "map wrote a wrong entry";
        }
        // Minimum: the first level, one level-2 table, 512 level-3 tables.
        g_tables["map_1g_4k"] = {pt.table_pages(), geo.concat + 1 + 512};
        if (env.in_use() != pt.table_pages()) error = "table pages leaked";
        pt.destroy();
        state.ResumeTiming();
    }
    if (error != nullptr) state.SkipWithError(error);
}
BENCHMARK(BM_map_1g_4k)->Unit(benchmark::kMicrosecond);

// The physical floor: writing the same 2 MiB of descriptors with memset.
void BM_memset_descriptors(benchmark::State& state)
{
    const usize bytes = kPages1G * sizeof(u64);
    u8* buf = static_cast<u8*>(std::aligned_alloc(64 * KiB, bytes));
    std::memset(buf, 0, bytes);
    for (auto _ : state) {
        std::memset(buf, 0x5b, bytes);
        benchmark::DoNotOptimize(buf);
        benchmark::ClobberMemory();
    }
    std::free(buf);
}
BENCHMARK(BM_memset_descriptors)->Unit(benchmark::kMicrosecond);

void BM_map_512g_blocks(benchmark::State& state)
{
    BenchEnv env(64);
    const Geometry geo = geometry(48);
    const char* error = nullptr;
    for (auto _ : state) {
        state.PauseTiming();
        env.reset();
        auto pt = PageTable<BenchEnv>::create(env, geo, kNoFwb).value();
        state.ResumeTiming();
        Status s = pt.map(IpaAddr(0), PhysAddr(0), 512 * GiB, kRam);
        benchmark::DoNotOptimize(s);
        state.PauseTiming();
        if (!s) error = "map failed";
        g_tables["map_512g_blocks"] = {pt.table_pages(), geo.concat + 1};  // level 0 + one level 1
        pt.destroy();
        state.ResumeTiming();
    }
    if (error != nullptr) state.SkipWithError(error);
}
BENCHMARK(BM_map_512g_blocks)->Unit(benchmark::kMicrosecond);

// 10,000 attribute changes of random pages of the 1 GiB page mapping; each
// is a full break-before-make of a live page.
void BM_protect_random(benchmark::State& state)
{
    BenchEnv env(1024);
    const Geometry geo = geometry(40);
    auto pt = PageTable<BenchEnv>::create(env, geo, kNoFwb).value();
    if (!pt.map(IpaAddr(kIpa), PhysAddr(kPa), GiB, kRam)) state.SkipWithError("map failed");
    std::mt19937_64 rng(42);
    std::vector<u64> pages(10'000);
    for (u64& p : pages) p = kIpa + (rng() % kPages1G) * kPageSize;
    bool ro = true;
    for (auto _ : state) {
        for (u64 ipa : pages) {
            Status s = pt.protect(IpaAddr(ipa), kPageSize, ro ? kRamRo : kRam);
            benchmark::DoNotOptimize(s);
        }
        ro = !ro;
    }
    g_tables["protect_random"] = {pt.table_pages(), geo.concat + 1 + 512};
    pt.destroy();
    state.SetItemsProcessed(state.iterations() * pages.size());
}
BENCHMARK(BM_protect_random)->Unit(benchmark::kMicrosecond);

void BM_lookup_random(benchmark::State& state)
{
    BenchEnv env(1024);
    auto pt = PageTable<BenchEnv>::create(env, geometry(40), kNoFwb).value();
    if (!pt.map(IpaAddr(kIpa), PhysAddr(kPa), GiB, kRam)) state.SkipWithError("map failed");
    std::mt19937_64 rng(7);
    std::vector<u64> ipas(4096);
    for (u64& a : ipas) a = kIpa + rng() % GiB;
    for (auto _ : state) {
        for (u64 ipa : ipas) {
            Result<Translation> t = pt.lookup(IpaAddr(ipa));
            benchmark::DoNotOptimize(t);
        }
    }
    pt.destroy();
    state.SetItemsProcessed(state.iterations() * ipas.size());
}
BENCHMARK(BM_lookup_random)->Unit(benchmark::kMicrosecond);

// Keeps each benchmark's time per iteration, in nanoseconds.
class Collector : public benchmark::ConsoleReporter {
public:
    void ReportRuns(const std::vector<Run>& runs) override
    {
        for (const Run& r : runs) {
            if (r.error_occurred) failed = true;
            else ns[r.benchmark_name()] = r.GetAdjustedRealTime() * multiplier(r.time_unit);
        }
        ConsoleReporter::ReportRuns(runs);
    }
    static double multiplier(benchmark::TimeUnit u)
    {
        switch (u) {
        case benchmark::kSecond: return 1e9;
        case benchmark::kMillisecond: return 1e6;
        case benchmark::kMicrosecond: return 1e3;
        default: return 1;
        }
    }
    std::map<std::string, double> ns;
    bool failed = false;
};

void figure(const char* name, double value, const char* fmt = "%.2f")
{
    std::printf("%s: ", name);
    std::printf(fmt, value);
    std::printf("\n");
}

}  // namespace

int main(int argc, char** argv)
{
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    Collector collector;
    collector.SetOutputStream(&std::cerr);
    collector.SetErrorStream(&std::cerr);
    benchmark::RunSpecifiedBenchmarks(&collector);
    benchmark::Shutdown();

    auto& ns = collector.ns;
    if (ns.count("BM_map_1g_4k") && ns.count("BM_memset_descriptors")) {
        const double map = ns["BM_map_1g_4k"] / kPages1G;
        const double floor = ns["BM_memset_descriptors"] / kPages1G;
        figure("stage2_map_1g_4k_ns_per_page", map);
        figure("stage2_memset_ns_per_page", floor, "%.3f");
        figure("stage2_map_1g_4k_vs_memset", map / floor);
    }
    if (ns.count("BM_map_512g_blocks")) {
        figure("stage2_map_512g_blocks_ns_per_block", ns["BM_map_512g_blocks"] / 512);
        figure("stage2_map_512g_blocks_ns_per_page", ns["BM_map_512g_blocks"] / (512 * kPages1G), "%.6f");
    }
    if (ns.count("BM_protect_random")) figure("stage2_protect_random_ns", ns["BM_protect_random"] / 10'000);
    if (ns.count("BM_lookup_random")) figure("stage2_lookup_random_ns", ns["BM_lookup_random"] / 4096);
    if (!g_tables.empty()) {
        usize used = 0, minimum = 0;
        for (const auto& [name, t] : g_tables) {
            std::printf("stage2_tables_%s_used: %zu\n", name.c_str(), t.used);
            std::printf("stage2_tables_%s_minimum: %zu\n", name.c_str(), t.minimum);
            used += t.used;
            minimum += t.minimum;
        }
        figure("stage2_tables_used", static_cast<double>(used), "%.0f");
        figure("stage2_tables_minimum", static_cast<double>(minimum), "%.0f");
        figure("stage2_tables_vs_minimum", static_cast<double>(used) / static_cast<double>(minimum));
    }
    return collector.failed ? 1 : 0;
}
