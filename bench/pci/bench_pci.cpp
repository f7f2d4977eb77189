// Host benchmark of PCI enumeration on a large fake topology:
//   bus 0: host bridge 00:00.0 and four root ports;
//   each root port -> switch upstream port -> internal bus with seven
//   downstream ports -> each a PCIe-to-PCI bridge -> a conventional bus of
//   8-function endpoints;
// 64 buses below the root bus, 64 bridges, 1,000 functions in all, every
// endpoint function with six 32-bit memory BARs.
// Prints `name: value` lines: the config accesses of one enumeration (exact)
// and its median wall time over several runs (fake ECAM included).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <vector>

#include "fake_ecam.h"
#include "passage/pci/enumerate.h"

using namespace passage;
using namespace passage::pci;
using passage::pci::test::FakeEcam;
using passage::pci::test::FakeFunction;
using passage::pci::test::qemu_virt_host;

namespace {

constexpr unsigned kFunctions = 1000;
constexpr unsigned kRootPorts = 4;
constexpr unsigned kDownstreamPerSwitch = 7;

void six_bars(FakeFunction& f)
{
    static constexpr u64 kSizes[6] = {16 * KiB, 4 * KiB, 64 * KiB, 4 * KiB, 8 * KiB, 32 * KiB};
    for (unsigned i = 0; i < 6; ++i) f.bar32(i, kSizes[i]);
}

std::unique_ptr<FakeEcam> build_topology()
{
    auto ecam = std::make_unique<FakeEcam>();
    ecam->add(0, 0).ids(0x1b36, 0x0008).class_code(0x060000);
    unsigned functions = 1;
    std::vector<FakeFunction*> conventional;
    for (unsigned r = 0; r < kRootPorts; ++r) {
        auto& rp = ecam->add(u8(1 + r), 0).pcie_bridge(PortType::RootPort);
        auto& usp = rp.child(0, 0).pcie_bridge(PortType::SwitchUpstream);
        functions += 2;
        for (unsigned d = 0; d < kDownstreamPerSwitch; ++d) {
            auto& dsp = usp.child(u8(d), 0).pcie_bridge(PortType::SwitchDownstream);
            conventional.push_back(&dsp.child(0, 0).pcie_bridge(PortType::PcieToPciBridge));
            functions += 2;
        }
    }
    // Endpoint functions round-robin over the conventional buses.
    std::vector<unsigned> count(conventional.size(), 0);
    for (usize i = 0; functions < kFunctions; ++i, ++functions) {
        usize bus = i % conventional.size();
        unsigned n = count[bus]++;
        u8 dev = u8(n / 8), fn = u8(n % 8);
        FakeFunction& f = conventional[bus]->child(dev, fn).ids(0x8086, 0x10d3).class_code(0x020000);
        six_bars(f);
        if (fn == 0) f.multifunction();
    }
    return ecam;
}

}  // namespace

int main()
{
    static PciDeviceTable<1024> table;
    const PciHostBridge host = qemu_virt_host();
    constexpr int kRuns = 15;
    std::vector<double> us;
    u64 accesses = 0;
    for (int run = 0; run < kRuns; ++run) {
        auto ecam = build_topology();
        CountingAccess counted(*ecam);
        table.clear();
        auto t0 = std::chrono::steady_clock::now();
        auto stats = enumerate(host, counted, table);
        auto t1 = std::chrono::steady_clock::now();
        if (!stats.ok() || table.size() != kFunctions || stats->problems != 0 || stats->bars_failed != 0 ||
            stats->last_bus != 64) {
            std::fprintf(stderr, "bench_pci: unexpected enumeration (%zu functions, last bus %u)\n",
                         table.size(), stats.ok() ? unsigned(stats->last_bus) : 0u);
            return 1;
        }
        if (run > 0 && counted.total() != accesses) {
            std::fprintf(stderr, "bench_pci: config accesses vary between runs\n");
            return 1;
        }
        accesses = counted.total();
        us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
    }
    std::sort(us.begin(), us.end());
    std::printf("pci_enum_1000fn_config_accesses: %llu\n", static_cast<unsigned long long>(accesses));
    std::printf("pci_enum_1000fn_us: %.0f\n", us[us.size() / 2]);
    return 0;
}
