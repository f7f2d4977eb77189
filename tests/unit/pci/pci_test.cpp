// PCI enumeration on a fake ECAM. Every topology is also checked against
// the invariants in invariants.cpp.
#include <catch2/catch.hpp>

#include <functional>
#include <random>
#include <string>
#include <vector>

#include "fake_ecam.h"
#include "invariants.h"
#include "passage/log.h"
#include "passage/pci/enumerate.h"
#include "passage/pci/regs.h"

using namespace passage;
using namespace passage::pci;
using passage::pci::test::FakeEcam;
using passage::pci::test::FakeFunction;
using passage::pci::test::qemu_virt_host;

namespace {

std::string g_log;
void capture(const char* text, usize len) { g_log.append(text, len); }

struct Run {
    EnumStats stats;
    std::string log;
};

// Enumerates, checks every invariant and returns the stats and the log.
template <usize N>
Run run(const PciHostBridge& host, FakeEcam& ecam, PciDeviceTable<N>& table)
{
    g_log.clear();
    set_log_sink(capture);
    auto r = enumerate(host, ecam, table);
    REQUIRE(r.ok());
    passage::pci::test::check_invariants(host, table, &ecam);
    Run out{r.value(), g_log};
    set_log_sink(nullptr);
    return out;
}

std::string printed(const DeviceTable& table)
{
    g_log.clear();
    set_log_sink(capture);
    print_device_table(table);
    set_log_sink(nullptr);
    return g_log;
}

const PciFunction& at(const DeviceTable& t, u8 bus, u8 dev, u8 fn = 0)
{
    const PciFunction* f = t.find(0, Bdf{bus, dev, fn});
    REQUIRE(f != nullptr);
    return *f;
}

bool contains(const std::string& s, const std::string& what) { return s.find(what) != std::string::npos; }

}  // namespace

// An empty root bus: nothing recorded, nothing printed, no config writes.
TEST_CASE("empty bus")
{
    FakeEcam ecam;
    PciDeviceTable<16> table;
    Run r = run(qemu_virt_host(), ecam, table);
    CHECK(table.size() == 0);
    CHECK(r.stats.functions == 0);
    CHECK(r.stats.problems == 0);
    CHECK(r.stats.last_bus == 0);
    CHECK(r.log.empty());
    CHECK(ecam.accesses == 32);  // one vendor-ID read per device number
}

// One endpoint: each kind of BAR lands in its window, decoding goes on.
TEST_CASE("single endpoint with io/mem32/mem64 prefetchable BARs and a ROM")
{
    FakeEcam ecam;
    ecam.add(0, 0).ids(0x1b36, 0x0008).class_code(0x060000);
    ecam.add(1, 0).ids(0x1af4, 0x1000).class_code(0x020000)
        .bar_io(0, 0x20).bar32(1, 0x1000).bar64(4, 0x4000).rom(256 * KiB)
        .msix(3, 1, 0x0, 1, 0x800);
    PciDeviceTable<16> table;
    Run r = run(qemu_virt_host(), ecam, table);
    REQUIRE(table.size() == 2);
    CHECK(r.stats.problems == 0);
    const PciFunction& nic = at(table, 0, 1);
    CHECK(nic.vendor == 0x1af4);
    CHECK(nic.device == 0x1000);
    CHECK(nic.class_code == 0x020000);
    CHECK(nic.bars[0].kind == BarKind::Io);
    CHECK(nic.bars[0].size == 0x20);
    CHECK(nic.bars[0].pci_addr == 0x1000);        // never I/O port 0
    CHECK(nic.bars[0].cpu_addr == 0x3eff1000);    // translated through ranges
    CHECK(nic.bars[1].kind == BarKind::Mem32);
    CHECK(nic.bars[1].cpu_addr >= 0x10000000);
    CHECK(nic.bars[4].kind == BarKind::Mem64);
    CHECK(nic.bars[4].prefetchable);
    CHECK(nic.bars[4].cpu_addr == 0x8000000000);  // 64-bit prefetchable goes high
    CHECK_FALSE(nic.bars[5].present());           // upper half of BAR4
    CHECK(nic.rom().size == 256 * KiB);
    CHECK(nic.rom().assigned());
    CHECK(nic.rom().cpu_addr < 0x3eff0000);
    CHECK(nic.mem_enabled);
    CHECK(nic.io_enabled);
    CHECK(nic.caps.msix == 0x40);
    CHECK(nic.caps.msix_table_size == 3);
    CHECK(nic.caps.msix_table_bar == 1);
    CHECK(nic.caps.msix_pba_offset == 0x800);
    CHECK(ecam.route(Bdf{0, 1, 0})->peek16(kCommand) == 0x3);  // no bus master on endpoints

    std::string out = printed(table);
    CAPTURE(out);
    CHECK(contains(out, "PCI 0000:00:00.0 1b36:0008 [0600] host bridge"));
    CHECK(contains(out, "PCI 0000:00:01.0 1af4:1000 [0200] ethernet"));
    CHECK(contains(out, "    BAR0 io         0x3eff1000 (pci 0x1000)  size 32 bytes\n"));
    CHECK(contains(out, "    BAR4 mem64 pref 0x8000000000  size 16 KiB\n"));
    CHECK(contains(out, "    ROM  mem32      0x"));
    CHECK(contains(out, "msix@40 3 table BAR1+0x0 pba BAR1+0x800"));
}

// Multi-function devices are scanned on all eight functions only when the
// header says so; a device aliasing its function numbers is found once.
TEST_CASE("multi-function with and without the header bit")
{
    FakeEcam ecam;
    ecam.add(2, 0).multifunction().bar32(0, 0x1000);
    ecam.add(2, 1).bar32(0, 0x1000);
    ecam.add(2, 5).bar32(0, 0x2000);
    ecam.add(3, 0).alias_functions().bar32(0, 0x1000);  // answers on fns 1-7 too
    ecam.add(4, 0).bar32(0, 0x1000);
    ecam.add(4, 3).bar32(0, 0x1000);  // bit clear on fn 0: never looked at
    PciDeviceTable<16> table;
    Run r = run(qemu_virt_host(), ecam, table);
    CHECK(r.stats.problems == 0);
    REQUIRE(table.size() == 5);
    CHECK(at(table, 0, 2, 0).multifunction);
    CHECK(at(table, 0, 2, 5).bars[0].size == 0x2000);
    CHECK(table.find(0, Bdf{0, 3, 1}) == nullptr);
    CHECK(table.find(0, Bdf{0, 4, 3}) == nullptr);
    CHECK(at(table, 0, 3).bars[0].assigned());
}

// Root port -> bridge -> bridge -> endpoint: buses 1, 2, 3 depth-first,
// each window covering the one below.
TEST_CASE("bridge chain three deep")
{
    FakeEcam ecam;
    auto& rp = ecam.add(1, 0).pcie_bridge(PortType::RootPort);
    auto& b2 = rp.child(0, 0).bridge();
    auto& b3 = b2.child(1, 0).bridge();
    b3.child(4, 0).bar32(0, 64 * KiB).bar_io(1, 0x100).bar64(2, 8 * MiB);
    auto& other = ecam.add(2, 0).pcie_bridge(PortType::RootPort);
    other.child(0, 0).bar32(0, 4 * KiB);
    PciDeviceTable<16> table;
    Run r = run(qemu_virt_host(), ecam, table);
    CHECK(r.stats.problems == 0);
    CHECK(r.stats.last_bus == 4);
    const PciFunction& f1 = at(table, 0, 1);
    CHECK(f1.port_type == PortType::RootPort);
    CHECK(f1.secondary == 1);
    CHECK(f1.subordinate == 3);
    CHECK(at(table, 1, 0).secondary == 2);
    CHECK(at(table, 1, 0).subordinate == 3);
    CHECK(at(table, 2, 1).secondary == 3);
    CHECK(at(table, 2, 1).subordinate == 3);
    CHECK(at(table, 0, 2).secondary == 4);
    const PciFunction& ep = at(table, 3, 4);
    CHECK(ep.mem_enabled);
    CHECK(ep.io_enabled);
    CHECK(ep.bars[2].cpu_addr >= 0x8000000000);
    CHECK(f1.window(WindowKind::Pref).is64);
    CHECK(f1.window(WindowKind::Io).size == 4 * KiB);
    CHECK(ecam.route(Bdf{0, 1, 0})->peek16(kCommand) == 0x7);  // bridges master
}

// A switch: upstream port, internal bus with three downstream ports, an
// endpoint behind each. Behind a downstream port only device 0 is scanned,
// so an endpoint that ignores the device number is found once.
TEST_CASE("switch with upstream and downstream ports and endpoints")
{
    FakeEcam ecam;
    auto& rp = ecam.add(1, 0).pcie_bridge(PortType::RootPort);
    auto& usp = rp.child(0, 0).pcie_bridge(PortType::SwitchUpstream);
    for (u8 d = 0; d < 3; ++d) {
        auto& dsp = usp.child(d, 0).pcie_bridge(PortType::SwitchDownstream);
        dsp.child(0, 0).ids(0x1af4, 0x1041).class_code(0x020000).pcie(PortType::Endpoint).msi(true, 2).pm()
            .alias_devices().bar32(1, 4 * KiB).bar64(4, 16 * KiB).rom(256 * KiB);
    }
    PciDeviceTable<32> table;
    Run r = run(qemu_virt_host(), ecam, table);
    CHECK(r.stats.problems == 0);
    CHECK(table.size() == 1 + 1 + 3 + 3);
    CHECK(at(table, 1, 0).port_type == PortType::SwitchUpstream);
    CHECK(at(table, 2, 0).port_type == PortType::SwitchDownstream);
    CHECK(at(table, 2, 2).secondary == 5);
    for (u8 bus = 3; bus <= 5; ++bus) {
        const PciFunction& ep = at(table, bus, 0);
        CHECK(ep.port_type == PortType::Endpoint);
        CHECK(ep.caps.msi != 0);
        CHECK(ep.caps.msi_64bit);
        CHECK(ep.caps.msi_vectors == 4);
        CHECK(ep.caps.pm != 0);
        CHECK(ep.mem_enabled);
        CHECK(table.find(0, Bdf{bus, 1, 0}) == nullptr);
    }
    CHECK(at(table, 0, 1).subordinate == 5);
    std::string out = printed(table);
    CAPTURE(out);
    CHECK(contains(out, "PCI 0000:00:01.0 1b36:000c [0604] PCI bridge  root port  bus 01-05  mem"));
    CHECK(contains(out, "switch downstream port  bus 03-03"));
    CHECK(contains(out, "    pref window 0x8000000000-0x80002fffff  size 3 MiB 64-bit\n"));
}

// Large and 64-bit BARs: 16 GiB naturally aligned in the 64-bit window,
// also behind a root port; 64-bit non-prefetchable behind a bridge stays
// below 4 GiB (a bridge's non-prefetchable window is 32-bit).
TEST_CASE("64-bit prefetchable BARs with a 16 GiB BAR plus I/O BARs and a ROM")
{
    FakeEcam ecam;
    ecam.add(3, 0).bar64(0, 16 * GiB).bar64(2, 1 * MiB).bar_io(4, 0x1000).bar_io(5, 8, true).rom(64 * KiB);
    auto& rp = ecam.add(4, 0).pcie_bridge(PortType::RootPort);
    rp.child(0, 0).bar64(0, 16 * GiB).bar64(2, 64 * MiB, false).bar32(4, 1 * MiB, true);
    PciDeviceTable<16> table;
    Run r = run(qemu_virt_host(), ecam, table);
    CHECK(r.stats.problems == 0);
    const PciFunction& a = at(table, 0, 3);
    CHECK(a.bars[0].size == 16 * GiB);
    CHECK(a.bars[0].assigned());
    CHECK(is_aligned(a.bars[0].pci_addr, 16 * GiB));
    CHECK(a.bars[4].size == 0x1000);
    CHECK(a.bars[5].size == 8);
    CHECK(a.io_enabled);
    const PciFunction& b = at(table, 1, 0);
    CHECK(b.bars[0].cpu_addr >= 0x8000000000);
    CHECK(b.bars[2].assigned());
    CHECK(b.bars[2].pci_addr + b.bars[2].size <= 0x100000000);  // non-pref 64-bit stays low
    // A 32-bit prefetchable BAR goes to the memory window, keeping the
    // prefetchable window 64-bit.
    CHECK(b.bars[4].pci_addr < 0x100000000);
    const PciFunction& rp4 = at(table, 0, 4);
    CHECK(rp4.window(WindowKind::Pref).is64);
    CHECK(rp4.window(WindowKind::Pref).size == 16 * GiB);
    CHECK(rp4.window(WindowKind::Mem).size == 65 * MiB);
    CHECK(is_aligned(rp4.window(WindowKind::Pref).pci_base, 16 * GiB));
}

// Too large for any window: a warning naming the function, the BAR and the
// size; that device's memory decoding stays off, the rest is unaffected.
TEST_CASE("a BAR too large for its window is left disabled with a message")
{
    FakeEcam ecam;
    ecam.add(3, 0).bar32(0, 4 * KiB).bar64(2, 1024 * GiB);
    ecam.add(4, 0).bar32(0, 4 * KiB);
    auto& rp = ecam.add(5, 0).pcie_bridge(PortType::RootPort);
    rp.child(0, 0).bar64(0, 1 * GiB, false).bar32(2, 1 * MiB);  // non-pref 1 GiB must go below 4 GiB
    PciDeviceTable<16> table;
    Run r = run(qemu_virt_host(), ecam, table);
    CAPTURE(r.log);
    CHECK(contains(r.log, "WARNING: PCI 0000:00:03.0 BAR2: 1 TiB mem64 pref does not fit any window; left disabled\n"));
    CHECK(contains(r.log, "WARNING: PCI 0000:01:00.0 BAR0: 1 GiB mem64 does not fit any window below 4 GiB; left disabled\n"));
    CHECK(r.stats.problems == 2);
    const PciFunction& big = at(table, 0, 3);
    CHECK(big.bars[2].status == BarStatus::TooLarge);
    CHECK_FALSE(big.mem_enabled);
    CHECK(ecam.route(Bdf{0, 3, 0})->peek16(kCommand) == 0);
    CHECK(at(table, 0, 4).mem_enabled);
    CHECK(at(table, 1, 0).bars[2].assigned());
    CHECK_FALSE(at(table, 1, 0).mem_enabled);
    CHECK(at(table, 0, 5).mem_enabled);
    std::string out = printed(table);
    CHECK(contains(out, "    BAR2 mem64 pref not assigned (too large for any window)  size 1 TiB\n"));
}

// Without a 64-bit window (highmem=off) a 64-bit prefetchable BAR goes into
// the 32-bit window, and one larger than it is refused.
TEST_CASE("no 64-bit window: 64-bit BARs below 4 GiB")
{
    FakeEcam ecam;
    ecam.add(1, 0).bar64(0, 256 * MiB).bar64(2, 1 * GiB);
    PciDeviceTable<8> table;
    Run r = run(qemu_virt_host(false), ecam, table);
    CHECK(at(table, 0, 1).bars[0].assigned());
    CHECK(at(table, 0, 1).bars[0].pci_addr == 0x10000000);
    CHECK(at(table, 0, 1).bars[2].status == BarStatus::TooLarge);
    CHECK(contains(r.log, "PCI 0000:00:01.0 BAR2: 1 GiB mem64 pref does not fit any window; left disabled"));
}

// A capability list that loops is cut with a message; the function and the
// next device are still enumerated.
TEST_CASE("a capability list that loops")
{
    FakeEcam ecam;
    ecam.add(1, 0).pm().cap_raw(0x48, kCapMsi, 0x40).cap_raw(0x40, kCapPm, 0x48).bar32(0, 4 * KiB);
    ecam.add(2, 0).cap_pointer(0x20).bar32(0, 4 * KiB);               // points into the header
    ecam.add(3, 0).cap_pointer(0x40).cap_raw(0x40, 0x09, 0x40).bar32(0, 4 * KiB);  // points at itself
    ecam.add(4, 0).pcie(PortType::Endpoint).bar32(0, 4 * KiB);
    PciDeviceTable<8> table;
    Run r = run(qemu_virt_host(), ecam, table);
    CAPTURE(r.log);
    CHECK(contains(r.log, "PCI 0000:00:01.0 1234:0001: capability list loops at 0x40; walk stopped"));
    CHECK(contains(r.log, "PCI 0000:00:02.0 1234:0001: capability list points into the header at 0x20"));
    CHECK(contains(r.log, "PCI 0000:00:03.0 1234:0001: capability list loops at 0x40"));
    CHECK(r.stats.problems == 3);
    CHECK(at(table, 0, 1).caps.list_truncated);
    CHECK(at(table, 0, 1).caps.pm == 0x40);
    CHECK(at(table, 0, 1).caps.msi == 0x48);
    CHECK(at(table, 0, 1).mem_enabled);
    CHECK(at(table, 0, 4).port_type == PortType::Endpoint);
    CHECK_FALSE(at(table, 0, 4).caps.list_truncated);
}

// I/O windows come in 4 KiB steps out of 64 KiB (less the first 4 KiB):
// behind twenty root ports fifteen get I/O, the rest fail soft and keep
// their memory.
TEST_CASE("I/O space runs out behind many root ports")
{
    FakeEcam ecam;
    for (u8 d = 1; d <= 20; ++d) {
        ecam.add(d, 0).pcie_bridge(PortType::RootPort).child(0, 0).ids(0x1af4, 0x1000).bar_io(0, 0x20).bar32(1, 4 * KiB);
    }
    PciDeviceTable<64> table;
    Run r = run(qemu_virt_host(), ecam, table);
    usize with_io = 0, without_io = 0;
    for (u8 bus = 1; bus <= 20; ++bus) {
        const PciFunction& ep = at(table, bus, 0);
        CHECK(ep.mem_enabled);
        if (ep.io_enabled) ++with_io;
        else {
            ++without_io;
            CHECK(ep.bars[0].status == BarStatus::ParentFailed);
        }
    }
    CHECK(with_io == 15);
    CHECK(without_io == 5);
    CAPTURE(r.log);
    CHECK(contains(r.log, "io window (4 KiB) does not fit: windows exhausted"));
    CHECK(contains(r.log, "BAR0: 32 bytes io not placed: the bridge window above failed; left disabled"));
}

// More bridges than bus-range allows: the bridges past the range are
// reported and left with nothing behind them.
TEST_CASE("more buses than bus-range allows")
{
    FakeEcam ecam;
    for (u8 d = 1; d <= 4; ++d) ecam.add(d, 0).pcie_bridge(PortType::RootPort).child(0, 0).bar32(0, 4 * KiB);
    PciHostBridge host = qemu_virt_host();
    host.bus_end = 2;
    PciDeviceTable<16> table;
    Run r = run(host, ecam, table);
    CAPTURE(r.log);
    CHECK(r.stats.last_bus == 2);
    CHECK(table.size() == 6);
    CHECK(contains(r.log, "PCI 0000:00:03.0: no bus number left (bus-range 00-02); nothing behind it enumerated"));
    CHECK(contains(r.log, "PCI 0000:00:04.0: no bus number left"));
    CHECK_FALSE(at(table, 0, 3).bus_assigned);
    CHECK_FALSE(at(table, 0, 3).mem_enabled);
}

// Address translation: the BAR holds the PCI address, the table both.
TEST_CASE("CPU-to-PCI translation from ranges is applied")
{
    PciHostBridge host;
    host.bus_start = 0x10;
    host.bus_end = 0x1f;
    host.segment = 1;
    host.windows[0] = {PciSpace::Io, false, 0x7fff0000, 0x10000, 64 * KiB};
    host.windows[1] = {PciSpace::Mem32, false, 0x1'2000'0000, 0x2000'0000, 256 * MiB};
    host.windows[2] = {PciSpace::Mem64, true, 0x40'0000'0000, 0x8'0000'0000, 64 * GiB};
    host.window_count = 3;
    FakeEcam ecam(0x10);
    ecam.add(0, 0).bar_io(0, 0x100).bar32(1, 1 * MiB).bar64(2, 1 * GiB);
    ecam.add(1, 0).pcie_bridge(PortType::RootPort).child(0, 0).bar32(0, 4 * KiB).bar64(2, 2 * GiB);
    PciDeviceTable<8> table;
    Run r = run(host, ecam, table);
    CHECK(r.stats.problems == 0);
    const PciFunction* f = table.find(1, Bdf{0x10, 0, 0});
    REQUIRE(f != nullptr);
    CHECK(f->bars[0].pci_addr == 0x10000);
    CHECK(f->bars[0].cpu_addr == 0x7fff0000);
    CHECK(f->bars[1].pci_addr == 0x2000'0000);
    CHECK(f->bars[1].cpu_addr == 0x1'2000'0000);
    CHECK(f->bars[2].pci_addr >= 0x8'0000'0000);
    CHECK(f->bars[2].cpu_addr - f->bars[2].pci_addr == 0x38'0000'0000);
    const PciFunction* ep = table.find(1, Bdf{0x11, 0, 0});
    REQUIRE(ep != nullptr);
    CHECK(ep->bars[2].cpu_addr - ep->bars[2].pci_addr == 0x40'0000'0000 - 0x8'0000'0000);
    CHECK(ecam.route(Bdf{0x10, 0, 0})->peek32(0x14) == 0x2000'0000);
    std::string out = printed(table);
    CHECK(contains(out, "PCI 0001:10:00.0"));
    CHECK(contains(out, "0x7fff0000 (pci 0x10000)"));
}

// A bridge without I/O and prefetchable windows (legacy PCI-to-PCI):
// prefetchable BARs behind it go into its memory window, I/O BARs fail.
TEST_CASE("a bridge without I/O and prefetchable windows")
{
    FakeEcam ecam;
    ecam.add(1, 0).bridge(false, false).child(2, 0).bar_io(0, 0x40).bar64(2, 4 * MiB).bar32(4, 4 * KiB);
    PciDeviceTable<8> table;
    Run r = run(qemu_virt_host(), ecam, table);
    CAPTURE(r.log);
    const PciFunction& ep = at(table, 1, 2);
    CHECK(ep.bars[0].status == BarStatus::NoBridgeWindow);
    CHECK(ep.bars[2].assigned());
    CHECK(ep.bars[2].pci_addr < 0x100000000);
    CHECK(ep.mem_enabled);
    CHECK_FALSE(ep.io_enabled);
    CHECK(contains(r.log, "PCI 0000:01:02.0 BAR0: 64 bytes io the bridge above has no such window; left disabled"));
}

// Broken registers: a BAR that reads all-ones whatever is written, a 64-bit
// BAR in the last slot, an unsupported header type.
TEST_CASE("broken BARs and headers are reported and not fatal")
{
    FakeEcam ecam;
    ecam.add(1, 0).bar_raw(0, 0xffffffff, 0).bar32(1, 4 * KiB);
    ecam.add(2, 0).bar_raw(5, 0x4, 0xfffff000).bar_raw(0, 0x6, 0xfffff000);
    ecam.add(3, 0).header_type(2);
    ecam.add(4, 0).bar32(0, 4 * KiB);
    PciDeviceTable<8> table;
    Run r = run(qemu_virt_host(), ecam, table);
    CAPTURE(r.log);
    CHECK(contains(r.log, "PCI 0000:00:01.0 BAR0: reads all-ones; left disabled"));
    CHECK(contains(r.log, "PCI 0000:00:02.0 BAR0: 4 KiB mem32 has a reserved memory type; left disabled"));
    CHECK_FALSE(at(table, 0, 1).mem_enabled);
    CHECK(at(table, 0, 1).bars[1].assigned());
    CHECK(contains(r.log, "PCI 0000:00:02.0 BAR5: 4 KiB mem64 is 64-bit in the last BAR slot; left disabled"));
    CHECK(contains(r.log, "PCI 0000:00:03.0 1234:0001: header type 2 not supported; left disabled"));
    CHECK(at(table, 0, 4).mem_enabled);
    CHECK(table.size() == 4);
}

// Stale bus numbers from earlier firmware (two siblings claiming the same
// buses) are cleared before anything below is scanned.
TEST_CASE("stale bus numbers are reprogrammed")
{
    FakeEcam ecam;
    auto& a = ecam.add(1, 0).pcie_bridge(PortType::RootPort);
    auto& b = ecam.add(2, 0).pcie_bridge(PortType::RootPort);
    a.poke32(0x18, 0x00050100);
    b.poke32(0x18, 0x00030100);
    a.child(0, 0).bar32(0, 4 * KiB);
    b.child(0, 0).bar32(0, 8 * KiB);
    PciDeviceTable<8> table;
    Run r = run(qemu_virt_host(), ecam, table);
    CHECK(r.stats.problems == 0);
    CHECK(at(table, 1, 0).bars[0].size == 4 * KiB);
    CHECK(at(table, 2, 0).bars[0].size == 8 * KiB);
}

// A full table stops recording, not enumerating the rest of the hierarchy.
TEST_CASE("a full device table is reported")
{
    FakeEcam ecam;
    for (u8 d = 0; d < 6; ++d) ecam.add(d, 0).bar32(0, 4 * KiB);
    PciDeviceTable<4> table;
    Run r = run(qemu_virt_host(), ecam, table);
    CHECK(table.size() == 4);
    CHECK(table.dropped() == 2);
    CHECK(contains(r.log, "PCI 0000:00:04.0: device table full (4 functions)"));
    CHECK(ecam.route(Bdf{0, 5, 0})->peek16(kCommand) == 0);
}

// Two host bridges append to one table, each with its own segment.
TEST_CASE("two host bridges share a table")
{
    FakeEcam e0, e1;
    e0.add(1, 0).bar32(0, 4 * KiB);
    e1.add(1, 0).bar32(0, 4 * KiB);
    PciHostBridge h0 = qemu_virt_host(), h1 = qemu_virt_host();
    h1.segment = 1;
    PciDeviceTable<8> table;
    REQUIRE(enumerate(h0, e0, table).ok());
    REQUIRE(enumerate(h1, e1, table).ok());
    CHECK(table.size() == 2);
    CHECK(table.find(1, Bdf{0, 1, 0}) != nullptr);
}

TEST_CASE("an unusable host bridge is an error")
{
    FakeEcam ecam;
    PciHostBridge host = qemu_virt_host();
    host.bus_start = 5;
    host.bus_end = 4;
    PciDeviceTable<4> table;
    auto r = enumerate(host, ecam, table);
    CHECK_FALSE(r.ok());
    CHECK(r.error() == Error::InvalidArgument);
}

// The ECAM accessor over a heap buffer: the address layout, the bus range,
// and all-ones outside it or for misaligned accesses.
TEST_CASE("EcamAccess addresses and bounds")
{
    std::vector<u32> mem(2 * MiB / 4, 0);
    auto base = VirtAddr(reinterpret_cast<std::uintptr_t>(mem.data()));
    EcamAccess ecam(base, 2 * MiB, 0x20, 0x2f);  // only two buses really there
    CHECK(ecam.bus_end() == 0x21);
    ecam.write32(Bdf{0x21, 3, 5}, 0x10, 0xdeadbeef);
    CHECK(mem[(1 << 20 | 3 << 15 | 5 << 12 | 0x10) / 4] == 0xdeadbeef);
    CHECK(ecam.read16(Bdf{0x21, 3, 5}, 0x12) == 0xdead);
    CHECK(ecam.read8(Bdf{0x21, 3, 5}, 0x11) == 0xbe);
    ecam.write8(Bdf{0x20, 0, 0}, 0x3, 0x12);
    ecam.write16(Bdf{0x20, 0, 0}, 0x0, 0x3456);
    CHECK(mem[0] == 0x12003456);
    CHECK(ecam.read32(Bdf{0x22, 0, 0}, 0) == 0xffffffff);  // past the ECAM
    CHECK(ecam.read32(Bdf{0x1f, 0, 0}, 0) == 0xffffffff);  // below bus_start
    CHECK(ecam.read32(Bdf{0x20, 0, 0}, 0x2) == 0xffffffff);  // misaligned
    CHECK(ecam.read16(Bdf{0x20, 0, 0}, 0xfff) == 0xffff);
    ecam.write32(Bdf{0x22, 0, 0}, 0, 0);                     // dropped
    // Where a function's registers can be loaded directly: exactly where
    // the methods go, nothing outside the ECAM.
    CHECK(ecam.function_base(Bdf{0x21, 3, 5}) == base.value + (1 << 20 | 3 << 15 | 5 << 12));
    CHECK(*reinterpret_cast<const u32*>(ecam.function_base(Bdf{0x21, 3, 5}) + 0x10) == ecam.read32(Bdf{0x21, 3, 5}, 0x10));
    CHECK(ecam.function_base(Bdf{0x22, 0, 0}) == 0);
    CHECK(ecam.function_base(Bdf{0x1f, 0, 0}) == 0);
}

// Random hierarchies, each checked against every invariant.
TEST_CASE("random topologies keep every invariant")
{
    auto seed = GENERATE(range(1, 41));
    std::mt19937_64 rng{static_cast<u64>(seed)};
    auto pick = [&](u64 n) { return u64(rng() % n); };
    FakeEcam ecam;

    std::function<void(FakeFunction&, unsigned)> fill_endpoint = [&](FakeFunction& f, unsigned) {
        unsigned i = 0;
        while (i < 6) {
            switch (pick(6)) {
            case 0: f.bar_io(i, u64{4} << pick(7)); ++i; break;
            case 1: f.bar32(i, u64{16} << pick(20), pick(2) == 0); ++i; break;
            case 2:
                if (i < 5) { f.bar64(i, u64{4096} << pick(24), pick(3) != 0); i += 2; }
                else ++i;
                break;
            default: ++i; break;
            }
        }
        if (pick(3) == 0) f.rom(u64{2048} << pick(8));
        if (pick(2) == 0) f.msix(u16(1 + pick(64)), u8(pick(6)), 0, u8(pick(6)), 0x800);
    };
    std::function<void(FakeFunction&, unsigned, bool)> fill_bus = [&](FakeFunction& br, unsigned depth, bool one_slot) {
        unsigned devs = one_slot ? 1 : unsigned(1 + pick(4));
        for (unsigned d = 0; d < devs; ++d) {
            u8 dev = one_slot ? 0 : u8(pick(32));
            FakeFunction& f = br.child(dev, 0);
            if (depth < 4 && pick(3) == 0) {
                PortType t = pick(2) == 0 ? PortType::SwitchDownstream : PortType::PcieToPciBridge;
                f.pcie_bridge(t);
                if (pick(4) == 0) f.bar32(0, 4 * KiB);
                fill_bus(f, depth + 1, t == PortType::SwitchDownstream);
            } else {
                fill_endpoint(f, depth);
                if (pick(3) == 0) {
                    f.multifunction();
                    fill_endpoint(br.child(dev, u8(1 + pick(7))), depth);
                }
            }
        }
    };
    unsigned roots = unsigned(1 + pick(6));
    for (unsigned d = 0; d < roots; ++d) {
        FakeFunction& f = ecam.add(u8(1 + d), 0);
        if (pick(2) == 0) {
            fill_endpoint(f, 0);
        } else {
            f.pcie_bridge(PortType::RootPort);
            fill_bus(f, 1, true);
        }
    }
    PciDeviceTable<256> table;
    INFO("seed " << seed);
    Run r = run(qemu_virt_host(pick(4) != 0), ecam, table);
    CAPTURE(r.log);
    CHECK(r.stats.functions == table.size());
    CHECK(r.stats.bars_assigned + r.stats.bars_failed > 0);
}

// A chain of bridges deeper than kMaxBridgeDepth (what an ECAM that ignores
// the bus number looks like) stops with a message instead of recursing on.
TEST_CASE("bridges nested too deep stop the descent")
{
    FakeEcam ecam;
    FakeFunction* b = &ecam.add(1, 0).bridge();
    for (unsigned i = 0; i < kMaxBridgeDepth + 4; ++i) b = &b->child(0, 0).bridge();
    PciDeviceTable<64> table;
    Run r = run(qemu_virt_host(), ecam, table);
    CAPTURE(r.log);
    CHECK(r.stats.last_bus == kMaxBridgeDepth);
    CHECK(r.stats.problems == 1);
    CHECK(contains(r.log, "bridges nested deeper than 32; nothing behind it enumerated"));
}
