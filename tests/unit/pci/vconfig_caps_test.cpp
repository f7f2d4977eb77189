// Extended capabilities as the guest walks them, and the standing-BAR rule
// under unrelated Command writes: cases a review of the redesign found.
#include <catch2/catch.hpp>

#include "passage/pci/regs.h"
#include "vconfig_rig.h"

using namespace passage;
using namespace passage::pci;
using namespace passage::pci::test;

// Resizable BAR is 4 + 8 bytes per BAR (PCIe 7.8.6): hiding a one-BAR
// ReBAR must not swallow the capability packed right after it.
TEST_CASE("vconfig caps: a one-entry ReBAR is hidden without the capability after it")
{
    Rig r([](FakeEcam& e) {
        e.add(1, 0).pcie(PortType::Endpoint).bar32(0, 4 * KiB)
            .ext_cap(0x100, 0x01, 0x140)  // AER
            .ext_cap(0x140, 0x15, 0x150)  // ReBAR, one BAR: 0x140-0x14b
            .ext_cap(0x150, 0x03, 0)      // Device Serial Number
            .poke32(0x144, 0x00000010).poke32(0x148, 0x00000020)
            .poke32(0x154, 0x12345678).writable(0x158, 0xffffffff);
    });
    Bdf d{0, 1, 0};
    CHECK(r.rd(d, 0x100) >> 20 == 0x150);
    CHECK((r.rd(d, 0x150) & 0xffff) == 0x0003);
    CHECK(r.rd(d, 0x154) == 0x12345678);
    CHECK(r.rd(d, 0x144) == 0);
    r.wr(d, 0x158, 0xabcd);
    CHECK(r.hw(d).peek32(0x158) == 0xabcd);
    r.wr(d, 0x148, 0xffffffff);  // a resize: dropped
    CHECK(r.hw(d).peek32(0x148) == 0x20);
}

TEST_CASE("vconfig caps: SR-IOV as the 13th capability is unlinked and not writable")
{
    Rig r([](FakeEcam& e) {
        FakeFunction& f = e.add(1, 0).pcie(PortType::Endpoint).bar32(0, 4 * KiB);
        for (u16 k = 0; k < 12; ++k) f.ext_cap(u16(0x100 + 0x10 * k), 0x0b, u16(0x100 + 0x10 * (k + 1)));
        f.ext_cap(0x1c0, 0x10, 0x200).writable(0x1c8, 0xffff);  // SR-IOV: VF Enable at +8
        f.ext_cap(0x200, 0x01, 0);                              // AER
    });
    Bdf d{0, 1, 0};
    CHECK(r.rd(d, 0x1b0) >> 20 == 0x200);
    CHECK(r.rd(d, 0x1c0) == 0);
    r.wr(d, 0x1c8, 1);
    CHECK(r.hw(d).peek32(0x1c8) == 0);
}

// Past what passage keeps, nothing of the extended space is writable: a
// capability it must hide could be there.
TEST_CASE("vconfig caps: more extended capabilities than passage keeps leave the extended space read-only")
{
    Rig r([](FakeEcam& e) {
        FakeFunction& f = e.add(1, 0).pcie(PortType::Endpoint).bar32(0, 4 * KiB);
        for (u16 k = 0; k < 40; ++k) f.ext_cap(u16(0x100 + 0x10 * k), 0x0b, k == 39 ? 0 : u16(0x100 + 0x10 * (k + 1)));
        f.writable(0x104, 0xffffffff).writable(0x384, 0xffffffff);
    });
    Bdf d{0, 1, 0};
    r.wr(d, 0x104, 0x55);
    r.wr(d, 0x384, 0x55);
    CHECK(r.hw(d).peek32(0x104) == 0);
    CHECK(r.hw(d).peek32(0x384) == 0);
    CHECK((r.rd(d, 0x100 + 0x10 * (VirtualConfig::kMaxExtCaps - 1)) >> 20) == 0);  // the chain ends at the last kept
}

// A Command write that does not change where a BAR decodes keeps a shown BAR
// shown, even when a BAR waiting in a conflict with it is decided in the
// same update.
TEST_CASE("vconfig caps: an unrelated Command bit leaves the standing BAR shown over a waiting one")
{
    Rig r([](FakeEcam& e) { e.add(1, 0).bar32(0, 4 * KiB).bar32(1, 4 * KiB).bar_io(2, 0x20); });
    Bdf d{0, 1, 0};
    usize i = r.index(d);
    const PciFunction& f = r.fn(d);
    r.wr(d, 0x04, 0x7);
    REQUIRE(r.v->route(i, 1) == BarRoute::Direct);
    r.wr(d, 0x10, u32(f.bars[1].pci_addr));  // BAR0 over BAR1
    REQUIRE(r.v->route(i, 0) == BarRoute::Conflict);
    r.wr(d, 0x04, 0x6);  // I/O off only
    CHECK(r.v->route(i, 1) == BarRoute::Direct);
    CHECK(r.v->route(i, 0) == BarRoute::Conflict);
    CHECK(r.rec.lookup(f.bars[1].cpu_addr) == f.bars[1].cpu_addr);
    r.check_router();
}

TEST_CASE("vconfig caps: a bridge Command write leaves the standing BAR below it shown")
{
    Rig r;
    usize a = r.index(kBehind2), b = r.index(kBehind2b);
    REQUIRE(r.v->route(b, 0) == BarRoute::Direct);
    r.wr(kBehind2, 0x10, u32(r.fn(kBehind2b).bars[0].pci_addr));
    REQUIRE(r.v->route(a, 0) == BarRoute::Conflict);
    u32 cmd = r.rd(kPort2, 0x04, 2);
    r.wr(kPort2, 0x04, cmd ^ 1, 2);  // I/O decoding of the port
    CHECK(r.v->route(b, 0) == BarRoute::Direct);
    CHECK(r.v->route(a, 0) == BarRoute::Conflict);
    r.check_router();
}

// Downstream Port Containment on a port with a hidden function below: the
// guest may not trigger it (it would cut the hidden function off too), but
// may set the rest of DPC control.
TEST_CASE("vconfig caps: a port with a hidden function below cannot trigger DPC")
{
    Rig r(
        "01:00.1",  // denied: the port's secondary bus is 1 here
        nullptr, [](FakeEcam& e) {
            FakeFunction& port = e.add(4, 0).pcie_bridge(PortType::RootPort);
            port.ext_cap(0x100, 0x1d, 0).writable(0x104, 0xffff0000);
            port.child(0, 0).ids(0x1b36, 0x0005).multifunction().bar32(0, 4 * KiB);
            port.child(0, 1).ids(0x1b36, 0x0005).bar32(0, 4 * KiB);
        });
    Bdf port{0, 4, 0};
    REQUIRE(std::string(r.disp.reason(r.index(Bdf{1, 0, 1}))) == "passage.deny");
    r.wr(port, 0x106, 0x0043 | 0x0008, 2);  // trigger enable, software trigger, interrupt enable
    CHECK(r.hw(port).peek32(0x104) >> 16 == 0x0008);
    Rig open("", nullptr, [](FakeEcam& e) {  // nothing hidden: the guest's to use
        e.add(4, 0).pcie_bridge(PortType::RootPort).ext_cap(0x100, 0x1d, 0).writable(0x104, 0xffff0000);
    });
    open.wr(port, 0x106, 0x0043, 2);
    CHECK(open.hw(port).peek32(0x104) >> 16 == 0x0043);
}
