// Virtual config space over the fake ECAM after a real enumerate(): what the
// guest reads and writes, that the hardware's BARs and windows never move,
// and what stage 2 shows (a page-by-page recorder stands in for the table).
#include <catch2/catch.hpp>

#include <array>
#include <map>
#include <string>
#include <vector>

#include "fake_ecam.h"
#include "passage/log.h"
#include "passage/pci/enumerate.h"
#include "passage/pci/regs.h"
#include "passage/pci/vconfig.h"
#include "vconfig_rig.h"

using namespace passage;
using namespace passage::pci;
using namespace passage::pci::test;

namespace {

bool contains(const std::string& s, const std::string& what) { return s.find(what) != std::string::npos; }

}  // namespace

// Sizing: all-ones reads back the real size mask with the type bits; the
// hardware never sees it.
TEST_CASE("vconfig: BAR and ROM sizing reads back the size mask and the hardware is untouched")
{
    Rig r;
    const PciFunction& nic = r.fn(kNic);
    u32 bar0 = r.rd(kNic, 0x10);
    CHECK(bar0 == u32(nic.bars[0].pci_addr));
    r.wr(kNic, 0x04, 0);  // decoding off, as Linux sizes
    r.wr(kNic, 0x10, 0xffffffff);
    CHECK(r.rd(kNic, 0x10) == 0xfffff000);
    r.wr(kNic, 0x18, 0xffffffff);
    r.wr(kNic, 0x1c, 0xffffffff);
    CHECK(r.rd(kNic, 0x18) == 0xffffc00c);  // 64-bit prefetchable, 16 KiB
    CHECK(r.rd(kNic, 0x1c) == 0xffffffff);
    r.wr(kNic, 0x20, 0xffffffff);
    CHECK(r.rd(kNic, 0x20) == 0xffffffe1);  // I/O, 32 bytes
    r.wr(kNic, 0x30, 0xfffffffe);
    CHECK(r.rd(kNic, 0x30) == 0xfffc0000);
    r.wr(kNic, 0x24, 0xffffffff);  // BAR5: not implemented
    CHECK(r.rd(kNic, 0x24) == 0);
    r.check_physical_unchanged();
    CHECK(r.rec.pages_mapped_of(nic.bars[0].cpu_addr) == 0);
}

// A move is a virtual write and a stage-2 remap: IPA is the guest's address,
// PA the physical BAR, which never moves.
TEST_CASE("vconfig: a BAR move maps the guest's address onto the fixed physical BAR")
{
    Rig r;
    const PciBar& bar = r.fn(kDisk).bars[0];
    REQUIRE(r.v->mapped(r.index(kDisk), 0));
    r.wr(kDisk, 0x10, 0x20000000);
    CHECK(r.rd(kDisk, 0x10) == 0x20000000);
    CHECK(r.rec.lookup(0x20000000) == bar.cpu_addr);
    CHECK(r.rec.lookup(0x20003000) == bar.cpu_addr + 0x3000);
    CHECK_FALSE(r.rec.lookup(bar.cpu_addr).has_value());
    CHECK(r.rec.attrs_at(0x20000000).type == stage2::MemType::NormalNC);
    CHECK(r.v->moves == 1);
    r.check_physical_unchanged();
    r.check_router();
}

// Placed over another mapped BAR, the newcomer waits; the standing BAR keeps
// its mapping; the newcomer is mapped once the other moves away.
TEST_CASE("vconfig: a BAR over another mapped BAR waits unmapped until the other moves away")
{
    Rig r;
    const PciBar& disk = r.fn(kDisk).bars[0];
    const PciBar& nic0 = r.fn(kNic).bars[0];
    r.wr(kNic, 0x10, u32(disk.pci_addr));
    CHECK(r.v->route(r.index(kNic), 0) == BarRoute::Conflict);
    CHECK(r.rec.lookup(disk.cpu_addr) == disk.cpu_addr);  // still the disk's
    char why[128];
    REQUIRE(r.v->conflict_at(disk.cpu_addr, why, sizeof why));
    CHECK(contains(why, "0000:00:01.0 BAR0"));
    CHECK(contains(why, "overlaps 0000:00:02.0 BAR0"));
    CHECK(r.v->conflicts_now() == 1);
    r.wr(kDisk, 0x10, 0x30000000);
    CHECK(r.v->route(r.index(kNic), 0) == BarRoute::Direct);
    CHECK(r.rec.lookup(disk.cpu_addr) == nic0.cpu_addr);
    CHECK(r.rec.lookup(0x30000000) == disk.cpu_addr);
    CHECK(r.v->conflicts_now() == 0);
    r.check_router();
}

TEST_CASE("vconfig: a BAR over RAM is never mapped there and is once it leaves")
{
    Rig r;
    r.wr(kDisk, 0x10, 0x40000000);  // RAM: outside the host windows too
    CHECK(r.v->route(r.index(kDisk), 0) == BarRoute::Off);
    CHECK_FALSE(r.rec.lookup(0x40000000).has_value());
    // A host window that (wrongly) covers RAM: the forbidden list still holds.
    Rig wide(
        [](PciHostBridge& h) {
            h.windows[1].size = 0x3ff00000;  // 0x10000000-0x4fefffff
        });
    wide.wr(kDisk, 0x10, 0x40000000);
    CHECK(wide.v->route(wide.index(kDisk), 0) == BarRoute::Conflict);
    CHECK_FALSE(wide.rec.lookup(0x40000000).has_value());
    wide.wr(kDisk, 0x10, 0x20000000);
    CHECK(wide.v->route(wide.index(kDisk), 0) == BarRoute::Direct);
    wide.check_router();
}

// Linux writes a 64-bit BAR a half at a time, either half first; whatever
// lies between, the end state is mapped at the final address.
TEST_CASE("vconfig: 64-bit BAR halves in any order end mapped at the final address")
{
    bool high_first = GENERATE(false, true);
    Rig r;
    const PciBar& bar = r.fn(kNic).bars[2];
    u64 target = 0x8100000000;
    if (high_first) {
        r.wr(kNic, 0x1c, u32(target >> 32));
        r.check_router();
        r.wr(kNic, 0x18, u32(target) | 0xc);
    } else {
        r.wr(kNic, 0x18, u32(target) | 0xc);
        r.check_router();
        r.wr(kNic, 0x1c, u32(target >> 32));
    }
    CHECK(r.rec.lookup(target) == bar.cpu_addr);
    CHECK_FALSE(r.rec.lookup(bar.cpu_addr).has_value());
    r.check_physical_unchanged();
    r.check_router();
}

// Decoding: Command.MEM off unmaps, on maps again; a bridge's Command.MEM
// and windows gate everything behind it.
TEST_CASE("vconfig: stage 2 follows Command.MEM of the function and of the bridge above")
{
    Rig r;
    const PciBar& b0 = r.fn(kBehind).bars[0];
    r.wr(kBehind, 0x04, 0);
    CHECK_FALSE(r.rec.lookup(b0.cpu_addr).has_value());
    r.wr(kBehind, 0x04, CmdMem::kMask);
    CHECK(r.rec.lookup(b0.cpu_addr) == b0.cpu_addr);
    r.wr(kPort, 0x04, 0);
    CHECK_FALSE(r.rec.lookup(b0.cpu_addr).has_value());
    r.wr(kPort, 0x04, CmdMem::kMask);
    CHECK(r.rec.lookup(b0.cpu_addr) == b0.cpu_addr);
    r.check_router();
}

TEST_CASE("vconfig: a BAR outside its bridge's virtual windows is unmapped until a window covers it")
{
    Rig r;
    const PciBar& b0 = r.fn(kBehind).bars[0];
    // Linux shrinks the port's window first, then moves the BAR in.
    r.wr(kPort, 0x20, 0x21002100);  // memory window 0x21000000-0x210fffff
    CHECK_FALSE(r.rec.lookup(b0.cpu_addr).has_value());
    r.wr(kBehind, 0x10, 0x21000000);
    CHECK(r.rec.lookup(0x21000000) == b0.cpu_addr);
    // The 64-bit BAR behind it is still in the (untouched) prefetchable window.
    const PciBar& b2 = r.fn(kBehind).bars[2];
    CHECK(r.rec.lookup(b2.cpu_addr) == b2.cpu_addr);
    // Closing the prefetchable window (base above limit) drops it.
    r.wr(kPort, 0x24, 0x0000fff0);
    CHECK_FALSE(r.rec.lookup(b2.cpu_addr).has_value());
    r.check_physical_unchanged();
    r.check_router();
}

// A 256-byte BAR that Linux aligns only to its size: not page-aligned in the
// guest's view, so its page traps and each access reaches the physical BAR.
TEST_CASE("vconfig: a sub-page BAR off its physical page offset is trapped and forwarded")
{
    Rig r;
    const PciBar& small = r.fn(kSmall).bars[0];
    REQUIRE(small.size == 256);
    r.wr(kSmall, 0x10, 0x20000100);
    CHECK(r.v->route(r.index(kSmall), 0) == BarRoute::Trapped);
    CHECK_FALSE(r.rec.lookup(0x20000000).has_value());
    CHECK(r.v->claims_forwarded(0x20000104));
    CHECK(r.v->claims_forwarded(0x20000ff0));  // the rest of the page: nothing decodes, but it traps
    u64 v = 0;
    r.phys.values[small.cpu_addr + 4] = 0x1234;
    CHECK(r.v->forward_read(0x20000104, 4, v));
    CHECK(v == 0x1234);
    CHECK(r.v->forward_write(0x20000108, 4, 0xabcd));
    CHECK(r.phys.values[small.cpu_addr + 8] == 0xabcd);
    CHECK_FALSE(r.v->forward_read(0x20000300, 4, v));  // past the BAR
    CHECK(v == 0xffffffff);
    CHECK_FALSE(r.v->forward_read(0x200001fe, 4, v));  // straddles its end
    // At offset 0 and alone in its page it is mapped directly.
    r.wr(kSmall, 0x10, 0x20000000);
    CHECK(r.v->route(r.index(kSmall), 0) == BarRoute::Direct);
    CHECK(r.rec.lookup(0x20000000) == small.cpu_addr);
    CHECK_FALSE(r.v->claims_forwarded(0x20000000));
    r.check_router();
}

TEST_CASE("vconfig: two BARs sharing a guest page are both trapped and mapped once alone again")
{
    Rig r;
    const PciBar& small = r.fn(kSmall).bars[0];
    const PciBar& small2 = r.fn(kSmall2).bars[0];
    r.wr(kSmall, 0x10, 0x20000000);
    r.wr(kSmall2, 0x10, 0x20000100);
    CHECK(r.v->route(r.index(kSmall), 0) == BarRoute::Trapped);
    CHECK(r.v->route(r.index(kSmall2), 0) == BarRoute::Trapped);
    CHECK_FALSE(r.rec.lookup(0x20000000).has_value());
    u64 v = 0;
    r.phys.values[small2.cpu_addr] = 7;
    CHECK(r.v->forward_read(0x20000100, 4, v));
    CHECK(v == 7);
    r.wr(kSmall2, 0x10, 0x20001000);
    CHECK(r.v->route(r.index(kSmall), 0) == BarRoute::Direct);
    CHECK(r.v->route(r.index(kSmall2), 0) == BarRoute::Direct);
    CHECK(r.rec.lookup(0x20000000) == small.cpu_addr);
    CHECK(r.rec.lookup(0x20001000) == small2.cpu_addr);
    r.check_router();
}

// I/O BARs: the guest's port numbers are virtual too; the I/O window traps
// and each access goes to the physical port.
TEST_CASE("vconfig: I/O BAR accesses are forwarded from the guest's port to the physical one")
{
    Rig r;
    const PciBar& io = r.fn(kNic).bars[4];
    REQUIRE(io.kind == BarKind::Io);
    u64 window = r.host.windows[0].cpu_addr;
    r.wr(kNic, 0x04, CmdMem::kMask | CmdIo::kMask);
    r.wr(kNic, 0x20, 0x2000);
    CHECK(r.v->route(r.index(kNic), 4) == BarRoute::Trapped);
    CHECK(r.v->claims_forwarded(window + 0x2004));
    CHECK(r.v->claims_forwarded(window + 0x9000));  // the whole I/O window traps
    r.phys.values[io.cpu_addr + 4] = 0x55;
    u64 v = 0;
    CHECK(r.v->forward_read(window + 0x2004, 1, v));
    CHECK(v == 0x55);
    CHECK_FALSE(r.v->forward_read(window + 0x9000, 2, v));
    CHECK(v == 0xffff);
    r.wr(kNic, 0x04, CmdMem::kMask);  // I/O decoding off
    CHECK_FALSE(r.v->forward_read(window + 0x2004, 1, v));
    r.check_physical_unchanged();
}

// The ROM is mapped (read-only) only with its enable bit, and the physical
// enable bit follows.
TEST_CASE("vconfig: the ROM maps with its enable bit and the physical enable follows")
{
    Rig r;
    const PciBar& rom = r.fn(kNic).rom();
    CHECK(r.v->route(r.index(kNic), PciBar::kRomIndex) == BarRoute::Off);
    r.wr(kNic, 0x30, u32(0x20000000) | 1);
    CHECK(r.rec.lookup(0x20000000) == rom.cpu_addr);
    CHECK(r.rec.attrs_at(0x20000000).access == stage2::Access::RO);
    CHECK((r.hw(kNic).peek32(0x30) & 1) == 1);
    CHECK((r.hw(kNic).peek32(0x30) & ~1u) == u32(rom.pci_addr));
    r.wr(kNic, 0x30, 0x20000000);
    CHECK_FALSE(r.rec.lookup(0x20000000).has_value());
    CHECK((r.hw(kNic).peek32(0x30) & 1) == 0);
}

// After a reset the hardware has forgotten passage's BARs and windows; the
// guest's restore writes only virtual registers, so turning decoding on
// puts the physical ones back.
TEST_CASE("vconfig: decoding turned on after a reset restores the physical BARs and bus numbers and windows")
{
    Rig r;
    auto bars = r.physical_regs(kBehind);
    auto port = r.physical_regs(kPort);
    r.wr(kBehind, 0x04, 0);
    r.wr(kPort, 0x04, 0);
    for (u16 reg = 0x10; reg < 0x28; reg += 4) r.hw(kBehind).poke32(reg, r.hw(kBehind).peek32(reg) & 0xf);  // type bits stay
    r.hw(kPort).poke32(0x20, 0);
    r.hw(kPort).poke32(0x18, 0);
    r.wr(kPort, 0x04, CmdMem::kMask);
    r.wr(kBehind, 0x04, CmdMem::kMask);
    CHECK(r.physical_regs(kBehind) == bars);
    CHECK(r.physical_regs(kPort) == port);
}

TEST_CASE("vconfig: a hidden function reads all-ones and ignores writes and stops decoding and is never mapped")
{
    Rig r("00:02.0");
    const PciBar& disk = r.fn(kDisk).bars[0];
    CHECK(r.rd(kDisk, 0x00) == 0xffffffff);
    r.wr(kDisk, 0x10, 0x20000000);
    r.wr(kDisk, 0x04, CmdMem::kMask);
    CHECK((r.hw(kDisk).peek16(0x04) & (CmdMem::kMask | CmdBusMaster::kMask)) == 0);
    CHECK_FALSE(r.rec.lookup(disk.cpu_addr).has_value());
    CHECK_FALSE(r.rec.lookup(0x20000000).has_value());
    // Another BAR may take its addresses.
    r.wr(kNic, 0x10, u32(disk.pci_addr));
    CHECK(r.rec.lookup(disk.cpu_addr) == r.fn(kNic).bars[0].cpu_addr);
    r.check_router();
}

TEST_CASE("vconfig: hiding propagates to a fixed point: behind a hidden bridge and to a function 0's siblings and up empty bridges")
{
    Rig r("00:03.0,00:06.0");
    const Dispositions& d = r.disp;
    CHECK(std::string(d.reason(r.index(kBehind))) == "behind hidden bridge 0000:00:03.0");
    CHECK(std::string(d.reason(r.index(kMulti1))) == "function 0 of its device is hidden");
    CHECK(r.rd(kMulti1, 0) == 0xffffffff);
    Rig only("01:00.0");
    CHECK(std::string(only.disp.reason(only.index(kPort))) == "leads only to hidden functions");
    // The port of a function hidden by the function-0 rule: nothing left below it.
    Rig chain("00:07.0");
    CHECK(std::string(chain.disp.reason(chain.index(kBridgeFn1))) == "function 0 of its device is hidden");
    CHECK(std::string(chain.disp.reason(chain.index(kBehindFn1))) == "behind hidden bridge 0000:00:07.1");
}

TEST_CASE("vconfig: capabilities the model cannot follow are unlinked and ACS and hot-plug are passage's")
{
    Rig r;
    // kBehind: ext caps AER (0x100) -> SR-IOV (0x140) -> ACS (0x180); slot capabilities on the port.
    CHECK((r.rd(kBehind, 0x100) & 0xffff) == 0x0001);
    CHECK(r.rd(kBehind, 0x100) >> 20 == 0x180);  // SR-IOV skipped
    CHECK(r.rd(kBehind, 0x140) == 0);
    CHECK(r.rd(kBehind, 0x148) == 0);
    u32 sriov_ctl = r.hw(kBehind).peek32(0x148);
    r.wr(kBehind, 0x148, 0xffffffff);  // VF enable and friends: dropped
    CHECK(r.hw(kBehind).peek32(0x148) == sriov_ctl);
    u32 acs = r.hw(kBehind).peek32(0x184);
    r.wr(kBehind, 0x186, 0x1f, 2);
    CHECK(r.hw(kBehind).peek32(0x184) == acs);
    u16 pcie = r.fn(kPort).caps.pcie;
    REQUIRE(pcie != 0);
    CHECK((r.hw(kPort).peek32(u16(pcie + 0x14)) & 0x40) != 0);
    CHECK((r.rd(kPort, u16(pcie + 0x14)) & 0x60) == 0);
    // A hidden first extended capability keeps its place with ID 0.
    Rig first;
    CHECK((first.rd(kDisk, 0x100) & 0xffff) == 0);
    CHECK(first.rd(kDisk, 0x100) >> 20 == 0x140);
}

TEST_CASE("vconfig: a port with a hidden function behind it ignores secondary bus reset and link disable")
{
    Rig two("02:00.1");  // one of the two functions behind kPort2
    u32 bc = two.hw(kPort2).peek32(0x3c);
    two.wr(kPort2, 0x3e, 0x40, 2);
    CHECK(two.hw(kPort2).peek32(0x3c) == bc);
    u16 pcie = two.fn(kPort2).caps.pcie;
    u16 lc = two.hw(kPort2).peek16(u16(pcie + 0x10));
    two.wr(kPort2, u16(pcie + 0x10), 0x10, 2);
    CHECK(two.hw(kPort2).peek16(u16(pcie + 0x10)) == lc);
    two.wr(kPort2, 0x3e, 0x02, 2);  // other bits pass
    CHECK((two.hw(kPort2).peek16(0x3e) & 0x02) == 0x02);
}

TEST_CASE("vconfig: accesses by ECAM address with 8-byte ones as two and odd sizes refused")
{
    Rig r;
    u64 ecam = r.host.ecam_base;
    u64 a = ecam + (u64(kDisk.dev) << 15);
    CHECK(r.v->claims(a));
    CHECK_FALSE(r.v->claims(ecam + r.host.ecam_size));
    CHECK(r.v->mmio_read(a, 4) == r.rd(kDisk, 0));
    CHECK(r.v->mmio_read(a + 0x10, 8) == (u64(r.rd(kDisk, 0x14)) << 32 | r.rd(kDisk, 0x10)));
    CHECK(r.v->mmio_read(a + 0x12, 8) == ~u64{0});
    CHECK(r.v->read(0, kDisk, 0x11, 2) == 0xffff);
    r.v->mmio_write(a + 0x10, 8, 0x20000000);
    CHECK(r.rd(kDisk, 0x10) == 0x20000000);
}

TEST_CASE("vconfig: the lock-free config read answers plain registers as read does and no others")
{
    Rig r("00:03.0");  // kDisk's neighbour hidden
    u64 ecam = r.host.ecam_base;
    u64 disk = ecam + (u64(kDisk.dev) << 15);
    u64 v = 0;
    REQUIRE(r.v->read_plain(disk, 4, v));  // vendor/device: passes as it is
    CHECK(v == r.rd(kDisk, 0));
    REQUIRE(r.v->read_plain(disk + 2, 2, v));  // the same page again: the remembered function
    CHECK(v == r.rd(kDisk, 2, 2));
    REQUIRE(r.v->read_plain(disk + 8, 1, v));
    CHECK(v == r.rd(kDisk, 8, 1));
    CHECK_FALSE(r.v->read_plain(disk + 0x10, 4, v));  // a BAR: virtual, under the lock
    CHECK_FALSE(r.v->read_plain(disk + 0x04, 2, v));  // Command: stage 2 follows it
    CHECK_FALSE(r.v->read_plain(disk + 0x02, 4, v));  // misaligned
    CHECK_FALSE(r.v->read_plain(disk, 8, v));         // two reads, under the lock
    CHECK_FALSE(r.v->read_plain(ecam + (u64(3) << 15), 4, v));  // hidden: all-ones through read_at
    CHECK_FALSE(r.v->read_plain(ecam + (u64(31) << 15), 4, v));  // nothing there
    CHECK_FALSE(r.v->read_plain(ecam + r.host.ecam_size, 4, v));  // outside the ECAM
    REQUIRE(r.v->read_plain(disk, 4, v));  // after misses, the disk still
    CHECK(v == r.rd(kDisk, 0));
}

TEST_CASE("vconfig: the inline word read answers only in the page last found and as read_plain does")
{
    Rig r("00:03.0", nullptr, [](FakeEcam& e) {
        standard_topology(e);
        e.direct = true;  // as the real ECAM: plain registers by a load
    });
    u64 ecam = r.host.ecam_base;
    u64 disk = ecam + (u64(kDisk.dev) << 15);
    u64 nic = ecam + (u64(kNic.bus) << 20) + (u64(kNic.dev) << 15) + (u64(kNic.fn) << 12);
    u32 w = 0;
    u64 v = 0;
    CHECK_FALSE(r.v->read_hinted_word(disk, w));  // nothing found yet
    REQUIRE(r.v->read_plain(disk, 4, v));
    REQUIRE(r.v->read_hinted_word(disk, w));  // now the disk's page is remembered
    CHECK(w == r.rd(kDisk, 0));
    REQUIRE(r.v->read_hinted_word(disk + 0x2c, w));  // any plain register of it
    CHECK(w == r.rd(kDisk, 0x2c));
    CHECK_FALSE(r.v->read_hinted_word(disk + 0x10, w));  // a BAR: virtual
    CHECK_FALSE(r.v->read_hinted_word(disk + 0x04, w));  // Command
    CHECK_FALSE(r.v->read_hinted_word(disk + 0x02, w));  // misaligned
    CHECK_FALSE(r.v->read_hinted_word(nic, w));          // another page: read_plain's to find
    CHECK_FALSE(r.v->read_hinted_word(ecam + (u64(3) << 15), w));  // hidden
    REQUIRE(r.v->read_plain(nic, 4, v));
    REQUIRE(r.v->read_hinted_word(nic, w));
    CHECK(w == r.rd(kNic, 0));
    CHECK_FALSE(r.v->read_hinted_word(disk, w));  // the hint moved on
}

TEST_CASE("vconfig: without direct loads the inline word read never answers")
{
    Rig r;
    u64 disk = r.host.ecam_base + (u64(kDisk.dev) << 15);
    u32 w = 0;
    u64 v = 0;
    REQUIRE(r.v->read_plain(disk, 4, v));
    CHECK_FALSE(r.v->read_hinted_word(disk, w));  // the methods only: read_plain's path
}

TEST_CASE("vconfig: functions are found by exact segment and BDF")
{
    Rig r;
    CHECK(r.rd(kNic, 0) != 0xffffffff);
    CHECK(r.v->read(0, Bdf{kNic.bus, u8(kNic.dev + 32), kNic.fn}, 0, 4) == 0xffffffff);  // no device 33
    CHECK(r.v->read(0, Bdf{kNic.bus, kNic.dev, u8(kNic.fn + 8)}, 0, 4) == 0xffffffff);   // no function 8
    CHECK(r.v->read(1, kNic, 0, 4) == 0xffffffff);  // another segment
    CHECK(r.rd(kBehind2b, 0) != 0xffffffff);  // every function of the table, by its own key
    CHECK(r.rd(kBehindFn1, 0) != 0xffffffff);
}

// DMA isolation: ACS Source Validation, Request and Completion Redirect and
// Upstream Forwarding on wherever the capability register offers them
// (Translation Blocking and the rest left as they were), and the guest
// cannot turn them off.
TEST_CASE("vconfig: ACS isolation controls are turned on and kept")
{
    Rig r([](FakeEcam& ecam) {
        FakeFunction& port = ecam.add(3, 0).pcie_bridge(PortType::RootPort);
        port.ext_cap(0x100, 0x0d, 0).writable(0x104, 0xffff0000).poke32(0x104, 0x0000'007f);
        port.child(0, 0).ids(0x8086, 0x10d3).pcie(PortType::Endpoint).bar32(0, 64 * KiB);
        FakeFunction& plain = ecam.add(4, 0).pcie_bridge(PortType::RootPort);
        plain.ext_cap(0x100, 0x0d, 0).writable(0x104, 0xffff0000).poke32(0x104, 0x0000'0005);  // SV and RR only
    });
    const pci::Bdf port{0, 3, 0}, plain{0, 4, 0};
    CHECK(r.hw(port).peek16(0x106) == 0x1d);
    CHECK(r.hw(plain).peek16(0x106) == 0x05);
    r.wr(port, 0x106, 0x0, 2);  // the guest tries to turn them off
    CHECK(r.hw(port).peek16(0x106) == 0x1d);
}
