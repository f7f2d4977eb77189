// Virtual config space over the fake ECAM after a real enumerate(): what the
// guest reads and writes, what reaches the hardware, and what stage 2 does
// (a recorder stands in for the page table).
#include <catch2/catch.hpp>

#include <array>
#include <string>
#include <vector>

#include "fake_ecam.h"
#include "passage/log.h"
#include "passage/pci/enumerate.h"
#include "passage/pci/regs.h"
#include "passage/pci/vconfig.h"

using namespace passage;
using namespace passage::pci;
using passage::pci::test::FakeEcam;
using passage::pci::test::FakeFunction;

namespace {

std::string g_log;
void capture(const char* text, usize len) { g_log.append(text, len); }

struct Op {
    bool map;
    u64 ipa;
    u64 pa;
    u64 size;
    stage2::MemType type;
    stage2::Access access;
    bool operator==(const Op&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Op& op)
{
    return os << (op.map ? "map 0x" : "unmap 0x") << std::hex << op.ipa << " size 0x" << op.size << std::dec
              << " type " << int(op.type);
}

class Recorder final : public Stage2Mover {
public:
    Status unmap(IpaAddr ipa, u64 size) override
    {
        ops.push_back({false, ipa.value, 0, size, stage2::MemType::NormalWB, stage2::Access::None});
        return {};
    }
    Status map(IpaAddr ipa, PhysAddr pa, u64 size, stage2::Attrs attrs) override
    {
        if (fail_maps > 0) {  // as the page-table engine out of table pages: nothing changes
            --fail_maps;
            return Failure{Error::NoMemory, ipa.value};
        }
        ops.push_back({true, ipa.value, pa.value, size, attrs.type, attrs.access});
        return {};
    }
    std::vector<Op> ops;
    int fail_maps = 0;
};

Op unmap_op(u64 ipa, u64 size) { return {false, ipa, 0, size, stage2::MemType::NormalWB, stage2::Access::None}; }
Op map_op(u64 ipa, u64 size, stage2::MemType t = stage2::MemType::NormalNC, stage2::Access a = stage2::Access::RW)
{
    return {true, ipa, ipa, size, t, a};
}

PciHostBridge qemu_virt()
{
    PciHostBridge h;
    h.ecam_base = 0x4010000000;
    h.ecam_size = 256 * MiB;
    h.bus_start = 0;
    h.bus_end = 0xff;
    h.windows[0] = {PciSpace::Io, false, 0x3eff0000, 0x0, 64 * KiB};
    h.windows[1] = {PciSpace::Mem32, false, 0x10000000, 0x10000000, 0x2eff0000};
    h.windows[2] = {PciSpace::Mem64, false, 0x8000000000, 0x8000000000, 512 * GiB};
    h.window_count = 3;
    return h;
}

const Bdf kNic{0, 1, 0};     // BAR0 mem32 4 KiB, BAR2 mem64 pref 16 KiB, BAR4 I/O 32, ROM 256 KiB
const Bdf kDisk{0, 2, 0};    // BAR0 mem32 16 KiB
const Bdf kPort{0, 3, 0};    // root port ...
const Bdf kBehind{1, 0, 0};  // ... with BAR0 mem32 64 KiB, BAR2 mem64 pref 1 MiB
const Bdf kPort2{0, 4, 0};   // root port ...
const Bdf kBehind2{2, 0, 0}; // ... with BAR0 mem32 4 KiB

// The topology every test starts from, enumerated for real.
struct Rig {
    FakeEcam ecam;
    PciHostBridge host = qemu_virt();
    PciDeviceTable<16> table;
    Recorder rec;
    std::array<PciHostBridge, 1> hosts{};
    VirtualConfig* v = nullptr;
    alignas(VirtualConfig) unsigned char storage[sizeof(VirtualConfig)];

    // `more` adds functions to the root bus before enumeration.
    explicit Rig(const char* cmdline = "", plan::Policy policy = {}, void (*more)(FakeEcam&) = nullptr)
    {
        ecam.add(1, 0).ids(0x1af4, 0x1000).class_code(0x020000)
            .bar32(0, 0x1000).bar64(2, 16 * KiB).bar_io(4, 0x20).rom(256 * KiB);
        ecam.add(2, 0).ids(0x1af4, 0x1001).class_code(0x010000).bar32(0, 16 * KiB);
        ecam.add(3, 0).pcie_bridge(PortType::RootPort).child(0, 0).ids(0x8086, 0x10d3)
            .bar32(0, 64 * KiB).bar64(2, 1 * MiB);
        ecam.add(4, 0).pcie_bridge(PortType::RootPort).child(0, 0).ids(0x1b36, 0x0005).bar32(0, 4 * KiB);
        if (more != nullptr) more(ecam);
        set_log_sink(capture);
        set_log_level(LogLevel::Debug);
        REQUIRE(enumerate(host, ecam, table).ok());
        hosts[0] = host;
        v = new (storage) VirtualConfig(table, ecam, hosts, rec);
        VconfigOptions opts;
        Diagnostic diag;
        REQUIRE(parse_vconfig_options(cmdline, opts, diag).ok());
        v->apply_policy(opts, policy);
        g_log.clear();
    }
    ~Rig()
    {
        v->~VirtualConfig();
        set_log_sink(nullptr);
        set_log_level(LogLevel::Info);
    }

    usize index(Bdf b) const
    {
        for (usize i = 0; i < table.size(); ++i)
            if (table[i].bdf == b) return i;
        FAIL("no such function");
        return 0;
    }
    const PciFunction& fn(Bdf b) const { return table[index(b)]; }
    FakeFunction& hw(Bdf b) { return *ecam.route(b); }
    u32 rd(Bdf b, u16 reg, unsigned size = 4) { return v->read(0, b, reg, size); }
    void wr(Bdf b, u16 reg, u32 value, unsigned size = 4) { v->write(0, b, reg, size, value); }
    std::string status(Bdf b) const
    {
        char buf[96];
        v->status_text(index(b), buf, sizeof buf);
        return buf;
    }
};

std::array<u8, 4096> snapshot(FakeFunction& f)
{
    std::array<u8, 4096> out{};
    for (u16 r = 0; r < 4096; ++r) out[r] = f.peek8(r);
    return out;
}

bool contains(const std::string& s, const std::string& what) { return s.find(what) != std::string::npos; }

}  // namespace

// Sizing: all-ones reads back the real BAR's size mask with its type bits;
// the hardware and stage 2 never see it; writing the old value back ends it.
TEST_CASE("vconfig: BAR and ROM sizing reads back the size mask, the hardware is untouched")
{
    Rig r;
    const PciFunction& nic = r.fn(kNic);
    u32 bar0 = r.rd(kNic, 0x10);
    CHECK(bar0 == u32(nic.bars[0].pci_addr));
    auto before = snapshot(r.hw(kNic));

    r.wr(kNic, 0x10, 0xffffffff);
    CHECK(r.rd(kNic, 0x10) == 0xfffff000);
    r.wr(kNic, 0x18, 0xffffffff);
    r.wr(kNic, 0x1c, 0xffffffff);
    CHECK(r.rd(kNic, 0x18) == 0xffffc00c);  // 64-bit prefetchable, 16 KiB
    CHECK(r.rd(kNic, 0x1c) == 0xffffffff);
    r.wr(kNic, 0x20, 0xffffffff);
    CHECK(r.rd(kNic, 0x20) == 0xffffffe1);  // I/O, 32 bytes
    r.wr(kNic, 0x30, 0xfffffffe);           // Linux keeps the enable bit clear
    CHECK(r.rd(kNic, 0x30) == 0xfffc0000);
    r.wr(kNic, 0x24, 0xffffffff);           // BAR5: not implemented
    CHECK(r.rd(kNic, 0x24) == 0);
    CHECK(snapshot(r.hw(kNic)) == before);
    CHECK(r.rec.ops.empty());

    r.wr(kNic, 0x10, bar0);
    r.wr(kNic, 0x18, u32(nic.bars[2].pci_addr) | 0xc);
    r.wr(kNic, 0x1c, u32(nic.bars[2].pci_addr >> 32));
    r.wr(kNic, 0x30, u32(nic.rom().pci_addr));
    CHECK(r.rd(kNic, 0x10) == bar0);
    CHECK(r.rd(kNic, 0x1c) == 0x80);
    CHECK(snapshot(r.hw(kNic)) == before);
    CHECK(r.rec.ops.empty());
    CHECK(r.v->refused == 0);
    CHECK(r.v->moves == 0);
}

// A move inside the window: the hardware gets the address, stage 2 drops
// the old pages and maps the new ones Normal-NC, in that order.
TEST_CASE("vconfig: a BAR move inside the host window unmaps the old range and maps the new")
{
    Rig r;
    u64 old = r.fn(kDisk).bars[0].cpu_addr;
    r.wr(kDisk, 0x10, 0x20000000);
    CHECK(r.hw(kDisk).peek32(0x10) == 0x20000000);
    CHECK(r.rd(kDisk, 0x10) == 0x20000000);
    CHECK(r.fn(kDisk).bars[0].cpu_addr == 0x20000000);
    REQUIRE(r.rec.ops.size() == 2);
    CHECK(r.rec.ops[0] == unmap_op(old, 16 * KiB));
    CHECK(r.rec.ops[1] == map_op(0x20000000, 16 * KiB));
    CHECK(r.v->moves == 1);
    CHECK(r.v->mapped(r.index(kDisk), 0));

    // The ROM is mapped read-only.
    r.rec.ops.clear();
    u64 rom = r.fn(kNic).rom().cpu_addr;
    r.wr(kNic, 0x30, 0x20400000);
    REQUIRE(r.rec.ops.size() == 2);
    CHECK(r.rec.ops[0] == unmap_op(rom, 256 * KiB));
    CHECK(r.rec.ops[1] == map_op(0x20400000, 256 * KiB, stage2::MemType::NormalNC, stage2::Access::RO));
    CHECK(r.hw(kNic).peek32(0x30) == 0x20400000);
}

// Refused: outside every host window, onto another device's BAR, onto a
// forbidden (RAM or device) range. Nothing changes anywhere; the guest reads
// the old address back; each refusal is one log line.
TEST_CASE("vconfig: moves outside the window, onto another BAR or onto RAM are refused")
{
    Rig r;
    std::array<MemRange, 1> forbidden{{{0x30000000, 1 * MiB}}};  // say, a platform device inside the window
    r.v->set_forbidden(forbidden);
    u32 old = r.rd(kDisk, 0x10);
    auto before = snapshot(r.hw(kDisk));
    u64 nic_bar0 = r.fn(kNic).bars[0].pci_addr;
    u64 behind = r.fn(kBehind).bars[0].pci_addr;

    const u32 targets[] = {0x40000000, 0x08000000, u32(nic_bar0), u32(behind + 0x8000), 0x30004000};
    const char* reasons[] = {"outside the host bridge's windows", "outside the host bridge's windows",
                             "overlaps 0000:00:01.0 BAR0", "overlaps 0000:01:00.0 BAR0",
                             "overlaps RAM or another device's region"};
    for (usize k = 0; k < 5; ++k) {
        CAPTURE(k);
        g_log.clear();
        r.wr(kDisk, 0x10, targets[k] & 0xffffc000);
        CHECK(r.rd(kDisk, 0x10) == old);
        CHECK(snapshot(r.hw(kDisk)) == before);
        CHECK(r.rec.ops.empty());
        CHECK(contains(g_log, "PCI 0000:00:02.0: guest moved BAR0 to"));
        CHECK(contains(g_log, reasons[k]));
    }
    CHECK(r.v->refused == 5);
    CHECK(r.v->moves == 0);
    CHECK(r.fn(kDisk).bars[0].pci_addr == old);

    // A 4 KiB BAR may not share a page with another device's either.
    r.wr(kNic, 0x10, u32(r.fn(kDisk).bars[0].pci_addr + 0x1000));
    CHECK(r.v->refused == 6);
    // An I/O BAR moves inside the I/O window, not onto address space elsewhere.
    u32 io = r.rd(kNic, 0x20);
    r.wr(kNic, 0x20, 0x20000);  // past the 64 KiB window
    CHECK(r.rd(kNic, 0x20) == io);
    r.wr(kNic, 0x20, 0x2000);
    CHECK(r.rd(kNic, 0x20) == 0x2001);
    CHECK(r.hw(kNic).peek32(0x20) == 0x2001);
    CHECK(r.fn(kNic).bars[4].cpu_addr == 0x3eff2000);
    CHECK(r.rec.ops.empty());  // I/O space is not BAR-mapped at stage 2
}

// A hidden function: all-ones at every offset and size, writes dropped.
TEST_CASE("vconfig: a denied function reads all-ones everywhere and ignores writes")
{
    Rig r("passage.deny=00:02.0");
    CHECK(r.status(kDisk) == "hidden: passage.deny");
    CHECK(r.status(kNic) == "assigned");
    auto before = snapshot(r.hw(kDisk));
    for (u16 reg = 0; reg < 0x1000; ++reg) {
        CHECK(r.rd(kDisk, reg, 1) == 0xff);
        if (reg % 2 == 0) CHECK(r.rd(kDisk, reg, 2) == 0xffff);
        if (reg % 4 == 0) CHECK(r.rd(kDisk, reg, 4) == 0xffffffff);
        r.wr(kDisk, reg, 0, 1);
        if (reg % 4 == 0) r.wr(kDisk, reg, 0x12345678, 4);
    }
    CHECK(snapshot(r.hw(kDisk)) == before);
    CHECK(r.rec.ops.empty());
    // Through the ECAM address too.
    CHECK(r.v->mmio_read(0x4010000000 + ecam_offset(0, kDisk, 0), 4) == 0xffffffff);
    // Its BAR leaves stage 2; the assigned ones stay.
    REQUIRE(r.v->hide_in_stage2().ok());
    REQUIRE(r.rec.ops.size() == 1);
    CHECK(r.rec.ops[0] == unmap_op(r.fn(kDisk).bars[0].cpu_addr, 16 * KiB));
    // An absent function reads all-ones too.
    CHECK(r.rd(Bdf{0, 9, 0}, 0) == 0xffffffff);
}

// Hiding stops the function decoding (the guest reaches the PCI I/O window
// wholesale), and its addresses become free for the guest's own BARs.
TEST_CASE("vconfig: a hidden function stops decoding and its BAR space can be reused")
{
    Rig r("passage.deny=00:01.0");
    u64 nic_bar0 = r.fn(kNic).bars[0].pci_addr;
    REQUIRE(r.v->hide_in_stage2().ok());
    CHECK((r.hw(kNic).peek32(0x04) & 0x7) == 0);  // I/O, memory and bus mastering off
    r.rec.ops.clear();
    g_log.clear();
    u32 size_ok = u32(nic_bar0) & 0xffffc000;
    r.wr(kDisk, 0x10, size_ok);  // onto the hidden NIC's old BAR0
    CHECK(r.v->refused == 0);
    CHECK(r.fn(kDisk).bars[0].pci_addr == size_ok);
    CHECK(r.v->moves == 1);
}

// A bridge that leads only to hidden functions is hidden; so is everything
// behind a denied bridge.
TEST_CASE("vconfig: hidden bridges")
{
    Rig a("passage.deny=0000:02:00.0");
    CHECK(a.status(kBehind2) == "hidden: passage.deny");
    CHECK(a.status(kPort2) == "hidden: leads only to hidden functions");
    CHECK(a.rd(kPort2, 0x18) == 0xffffffff);
    CHECK(a.status(kPort) == "assigned");

    Rig b("passage.deny=00:03.0");
    CHECK(b.status(kPort) == "hidden: passage.deny");
    CHECK(b.status(kBehind) == "hidden: behind hidden bridge 0000:00:03.0");
    CHECK(b.rd(kBehind, 0) == 0xffffffff);

    // passage.assign: only these, and the bridges leading to them.
    Rig c("passage.assign=01:00.0,00:01.0");
    CHECK(c.status(kNic) == "assigned");
    CHECK(c.status(kBehind) == "assigned");
    CHECK(c.status(kPort) == "assigned");
    CHECK(c.status(kDisk) == "hidden: not in passage.assign");
    CHECK(c.status(kBehind2) == "hidden: not in passage.assign");
    CHECK(c.status(kPort2) == "hidden: leads only to hidden functions");
}

// The quirk list hides with its reason; passage.device_mmio keeps a device
// Device-nGnRE (and its moves map Device); a BAR that did not fit hides.
TEST_CASE("vconfig: quirks, kept devices and BARs that did not fit")
{
    static const plan::DeviceQuirk quirks[] = {{0x1b36, 0x0005, "no Normal-NC aliases"}};
    plan::Policy policy;
    policy.quirks = quirks;
    policy.quirk_count = 1;
    policy.device_mmio[0] = {0, kDisk};
    policy.device_mmio_count = 1;
    policy.fwb = true;
    Rig r("", policy);
    CHECK(r.status(kBehind2) == "hidden: quirk: no Normal-NC aliases");
    CHECK(r.status(kDisk) == "kept Device-nGnRE: passage.device_mmio");
    r.wr(kDisk, 0x10, 0x20000000);
    REQUIRE(r.rec.ops.size() == 2);
    CHECK(r.rec.ops[1] == map_op(0x20000000, 16 * KiB, stage2::MemType::DeviceNGnRE));

    g_log.clear();
    r.v->print_status();
    CHECK(contains(g_log, "PCI 0000:00:02.0 1af4:1001  kept Device-nGnRE: passage.device_mmio"));
    CHECK(contains(g_log, "PCI 0000:02:00.0 1b36:0005  hidden: quirk: no Normal-NC aliases"));
    CHECK(contains(g_log, "PCI 0000:00:01.0 1af4:1000  assigned"));

    FakeEcam ecam;
    ecam.add(1, 0).bar32(0, 4 * KiB).bar64(2, 1024 * GiB);
    PciHostBridge host = qemu_virt();
    PciDeviceTable<4> table;
    set_log_sink(capture);
    REQUIRE(enumerate(host, ecam, table).ok());
    Recorder rec;
    VirtualConfig v(table, ecam, {&host, 1}, rec);
    v.apply_policy({}, plan::Policy{});
    char buf[80];
    v.status_text(0, buf, sizeof buf);
    CHECK(std::string(buf) == "hidden: BAR2 did not fit (too large for any window)");
    set_log_sink(nullptr);
}

// Every naturally aligned 8/16/32-bit read of the header agrees with the
// dword it is part of; passed-through registers agree with the hardware.
TEST_CASE("vconfig: 8, 16 and 32-bit accesses at every offset of the header")
{
    Rig r;
    for (Bdf b : {kNic, kPort}) {
        CAPTURE(int(b.dev));
        for (u16 reg = 0; reg < 0x40; ++reg) {
            u32 dword = r.rd(b, u16(reg & ~3), 4);
            unsigned sh = 8 * (reg & 3);
            CHECK(r.rd(b, reg, 1) == ((dword >> sh) & 0xff));
            if (reg % 2 == 0) CHECK(r.rd(b, reg, 2) == ((dword >> sh) & 0xffff));
        }
        for (u16 reg : {0x00, 0x04, 0x08, 0x0c, 0x2c, 0x34, 0x3c}) {
            if (r.table[r.index(b)].is_bridge && reg == 0x2c) continue;
            CHECK(r.rd(b, reg) == r.hw(b).peek32(reg));
        }
        CHECK(r.rd(b, 0x40, 2) == r.hw(b).peek16(0x40));  // capabilities pass through
    }
    // Misaligned or oversized: all-ones, nothing written.
    CHECK(r.rd(kNic, 0x11, 2) == 0xffff);
    CHECK(r.rd(kNic, 0x12, 4) == 0xffffffff);
    CHECK(r.rd(kNic, 0xffe, 4) == 0xffffffff);

    // A 16-bit write to the upper half of a 32-bit BAR moves it.
    u64 old = r.fn(kBehind).bars[0].cpu_addr;
    r.wr(kBehind, 0x12, 0x2010, 2);
    CHECK(r.hw(kBehind).peek32(0x10) == 0x20100000);
    REQUIRE(r.rec.ops.size() == 2);
    CHECK(r.rec.ops[0] == unmap_op(old, 64 * KiB));
    CHECK(r.rec.ops[1] == map_op(0x20100000, 64 * KiB));
    // Byte writes to the interrupt line pass through.
    r.wr(kNic, 0x3c, 0x2a, 1);
    CHECK(r.hw(kNic).peek8(0x3c) == 0x2a);
    // A byte write to BAR0's low byte cannot change a 4 KiB BAR's address.
    r.rec.ops.clear();
    r.wr(kNic, 0x10, 0xff, 1);
    CHECK(r.rec.ops.empty());
    CHECK(r.rd(kNic, 0x10) == u32(r.fn(kNic).bars[0].pci_addr));
}

// 64-bit BARs: the low half alone may make an address that is not allowed;
// it stays virtual until the high half completes a good one.
TEST_CASE("vconfig: a 64-bit BAR moves on the write that completes a consistent address")
{
    Rig r;
    std::array<MemRange, 1> forbidden{{{0x8020000000, 16 * KiB}}};
    r.v->set_forbidden(forbidden);
    const PciFunction& nic = r.fn(kNic);
    u64 old = nic.bars[2].cpu_addr;
    REQUIRE(old >> 32 == 0x80);
    u32 hw_lo = r.hw(kNic).peek32(0x18), hw_hi = r.hw(kNic).peek32(0x1c);

    r.wr(kNic, 0x18, 0x2000000c);  // with the old high half: 0x80_2000_0000, forbidden
    CHECK(r.rd(kNic, 0x18) == 0x2000000c);  // pending, virtual
    CHECK(r.rd(kNic, 0x1c) == 0x80);
    CHECK(r.hw(kNic).peek32(0x18) == hw_lo);
    CHECK(r.hw(kNic).peek32(0x1c) == hw_hi);
    CHECK(r.rec.ops.empty());
    CHECK(r.v->refused == 0);

    r.wr(kNic, 0x1c, 0);  // 0x2000_0000: in the 32-bit window
    CHECK(r.hw(kNic).peek32(0x18) == 0x2000000c);
    CHECK(r.hw(kNic).peek32(0x1c) == 0);
    CHECK(r.hw(kNic).peek16(kCommand) & CmdMem::kMask);  // decoding restored after the two halves
    REQUIRE(r.rec.ops.size() == 2);
    CHECK(r.rec.ops[0] == unmap_op(old, 16 * KiB));
    CHECK(r.rec.ops[1] == map_op(0x20000000, 16 * KiB));

    // A lone high half stays pending (the low half may follow); the next
    // Command write settles it: refused, and the guest reads the committed
    // address back.
    r.rec.ops.clear();
    r.wr(kNic, 0x1c, 0x1);  // 0x1_2000_0000: in no window
    CHECK(r.rd(kNic, 0x1c) == 0x1);
    CHECK(r.v->refused == 0);
    u32 cmd = r.rd(kNic, kCommand, 2);
    r.wr(kNic, kCommand, cmd, 2);
    CHECK(r.rd(kNic, 0x1c) == 0);
    CHECK(r.rd(kNic, 0x18) == 0x2000000c);
    CHECK(r.v->refused == 1);
    CHECK(r.rec.ops.empty());
    // Low then high: judged when both are written, ends where asked.
    r.wr(kNic, 0x18, 0x0010000c);
    r.wr(kNic, 0x1c, 0x90);
    CHECK(r.fn(kNic).bars[2].cpu_addr == 0x9000100000);
    CHECK(r.rec.ops.back() == map_op(0x9000100000, 16 * KiB));
    // High then low, with a bad address in between: ends where asked, no refusal.
    r.wr(kNic, 0x1c, 0xa0);  // 0xa0_0010_0000 would be fine; wait for the low half anyway
    CHECK(r.fn(kNic).bars[2].cpu_addr == 0x9000100000);
    r.wr(kNic, 0x18, 0x0020000c);
    CHECK(r.fn(kNic).bars[2].cpu_addr == 0xa000200000);
    CHECK(r.hw(kNic).peek32(0x18) == 0x0020000c);
    CHECK(r.hw(kNic).peek32(0x1c) == 0xa0);
    CHECK(r.v->refused == 1);
    // An 8-byte ECAM store writes both halves.
    r.v->mmio_write(0x4010000000 + ecam_offset(0, kNic, 0x18), 8, 0x000000a0'0000000cull);
    CHECK(r.fn(kNic).bars[2].cpu_addr == 0xa000000000);
    CHECK(r.v->mmio_read(0x4010000000 + ecam_offset(0, kNic, 0x18), 8) == 0x000000a0'0000000cull);
}

// Command.MEM goes to the hardware and stage 2 follows it.
TEST_CASE("vconfig: clearing and setting Command.MEM unmaps and remaps the BARs")
{
    Rig r;
    const PciFunction& nic = r.fn(kNic);
    u16 cmd = u16(r.rd(kNic, kCommand, 2));
    REQUIRE((cmd & CmdMem::kMask) != 0);
    r.wr(kNic, kCommand, u16(cmd & ~CmdMem::kMask) | CmdBusMaster::kMask, 2);
    CHECK((r.hw(kNic).peek16(kCommand) & CmdMem::kMask) == 0);
    CHECK((r.hw(kNic).peek16(kCommand) & CmdBusMaster::kMask) != 0);  // bus mastering passes
    std::vector<Op> off = {unmap_op(nic.bars[0].cpu_addr, 4 * KiB), unmap_op(nic.bars[2].cpu_addr, 16 * KiB),
                           unmap_op(nic.rom().cpu_addr, 256 * KiB)};
    CHECK(r.rec.ops == off);

    // Moved while decoding is off: no stage-2 change until it is back on.
    r.rec.ops.clear();
    r.wr(kNic, 0x10, 0x20000000);
    CHECK(r.rec.ops.empty());
    CHECK(r.hw(kNic).peek32(0x10) == 0x20000000);
    r.wr(kNic, kCommand, cmd, 1);  // a byte write of the low half
    std::vector<Op> on = {map_op(0x20000000, 4 * KiB), map_op(nic.bars[2].cpu_addr, 16 * KiB),
                          map_op(nic.rom().cpu_addr, 256 * KiB, stage2::MemType::NormalNC, stage2::Access::RO)};
    CHECK(r.rec.ops == on);
    // Writing the same value again changes nothing.
    r.rec.ops.clear();
    r.wr(kNic, kCommand, cmd | 0x00100000u, 4);  // with status bits (RW1C) in the upper half
    CHECK(r.rec.ops.empty());
    // hide_in_stage2 unmaps the BARs of a function whose decoding is off.
    r.wr(kDisk, kCommand, 0, 2);
    CHECK(r.rec.ops.size() == 1);
    REQUIRE(r.v->hide_in_stage2().ok());
    CHECK(r.rec.ops.size() == 1);  // already done by the Command write
}

// Bridges above assigned endpoints: bus numbers fixed; windows move only
// inside the host windows and keep covering what passage maps below.
TEST_CASE("vconfig: bridge bus numbers are fixed; windows may move but never cut off a mapped BAR")
{
    Rig r;
    auto& port = r.hw(kPort);
    u32 buses = port.peek32(0x18);
    r.wr(kPort, 0x18, 0x40050403);
    CHECK((port.peek32(0x18) & 0x00ffffff) == (buses & 0x00ffffff));
    // (0x1b, the secondary latency timer, is passed on; the fake ECAM keeps it read-only.)
    r.wr(kPort, 0x19, 0x07, 1);
    CHECK(port.peek8(0x19) == (buses >> 8 & 0xff));

    const PciFunction& ep = r.fn(kBehind);
    u64 ep_bar0 = ep.bars[0].pci_addr;
    u32 mem = port.peek32(0x20);
    // A memory window elsewhere that leaves BAR0 behind: refused.
    g_log.clear();
    r.wr(kPort, 0x20, 0x21002100);  // 0x2100_0000-0x210f_ffff
    CHECK(port.peek32(0x20) == mem);
    CHECK(r.v->refused == 1);
    CHECK(contains(g_log, "would cut off 0000:01:00.0 BAR0"));
    // Outside the host's windows: refused.
    r.wr(kPort, 0x20, 0x40104000);
    CHECK(port.peek32(0x20) == mem);
    CHECK(r.v->refused == 2);
    // Onto another device's BAR: refused.
    u32 disk = u32(r.fn(kDisk).bars[0].pci_addr);
    r.wr(kPort, 0x20, (disk >> 16 & 0xfff0) | (disk & 0xfff00000u));
    CHECK(port.peek32(0x20) == mem);
    CHECK(r.v->refused == 3);

    // Move the BAR first, then the window after it (Linux's order): accepted.
    r.wr(kBehind, 0x10, 0x21000000);
    CHECK(r.v->refused == 3);
    r.wr(kPort, 0x20, 0x21002100);
    CHECK(port.peek32(0x20) == 0x21002100);
    CHECK(r.fn(kPort).window(WindowKind::Mem).pci_base == 0x21000000);
    CHECK(r.fn(kPort).window(WindowKind::Mem).size == 1 * MiB);
    CHECK(r.rd(kPort, 0x20) == 0x21002100);
    CHECK(ep_bar0 != 0x21000000);

    // The prefetchable window in Linux's order: upper limit cleared first
    // (closed on the way: kept), then base/limit, then the upper halves.
    u64 pref_bar = r.fn(kBehind).bars[2].pci_addr;
    REQUIRE(pref_bar >= 0x8000000000);
    r.wr(kBehind, 0x18, 0x0000000c);
    r.wr(kBehind, 0x1c, 0x90);
    REQUIRE(r.fn(kBehind).bars[2].pci_addr == 0x9000000000);
    r.wr(kPort, 0x2c, 0);
    CHECK(port.peek32(0x2c) == 0x80);  // closed on the way (it would cut off BAR2): the hardware keeps it
    r.wr(kPort, 0x24, 0x00010001);
    r.wr(kPort, 0x28, 0x90);
    r.wr(kPort, 0x2c, 0x90);
    CHECK(port.peek32(0x24) == 0x00010001);
    CHECK(port.peek32(0x28) == 0x90);
    CHECK(port.peek32(0x2c) == 0x90);
    CHECK(r.fn(kPort).window(WindowKind::Pref).pci_base == 0x9000000000);

    // Through the ECAM address of the port.
    CHECK(r.v->claims(0x4010000000 + ecam_offset(0, kPort, 0x20)));
    CHECK_FALSE(r.v->claims(0x4000000000));
    CHECK(r.v->mmio_read(0x4010000000 + ecam_offset(0, kPort, 0x20), 4) == 0x21002100);
}

// Boot options.
TEST_CASE("vconfig: passage.assign and passage.deny")
{
    VconfigOptions o;
    Diagnostic d;
    REQUIRE(parse_vconfig_options("console=x passage.assign=0000:00:03.0,01:00.1 passage.deny=00:02.0", o, d).ok());
    CHECK(o.assign_given);
    REQUIRE(o.assign_count == 2);
    CHECK(o.assign[1].bdf == Bdf{1, 0, 1});
    REQUIRE(o.deny_count == 1);
    CHECK(o.deny[0].bdf == Bdf{0, 2, 0});
    REQUIRE(parse_vconfig_options("passage.loglevel=debug", o, d).ok());
    CHECK_FALSE(o.assign_given);
    CHECK(o.deny_count == 0);
    CHECK_FALSE(parse_vconfig_options("passage.deny=00:02", o, d).ok());
    CHECK(contains(d.text, "cannot read"));
}

// A two-function device at 00:05: a guest scan stops at a device whose
// function 0 is absent, and reads function 0's multi-function bit to decide
// whether to look at the others.
void add_two_function_device(FakeEcam& e)
{
    e.add(5, 0).multifunction().ids(0x8086, 0x1521).class_code(0x020000).bar32(0, 128 * KiB);
    e.add(5, 1).ids(0x8086, 0x1521).class_code(0x020000).bar32(0, 128 * KiB);
}
const Bdf kFn0{0, 5, 0}, kFn1{0, 5, 1};

TEST_CASE("vconfig: multi-function devices: function 0 hidden hides the device, a lone function 0 reads single-function")
{
    {
        Rig r("", {}, add_two_function_device);
        CHECK(r.rd(kFn0, kHeaderType, 1) == 0x80);  // both assigned: the hardware's bit
        CHECK(r.rd(kFn0, 0x0c) >> 16 == 0x80);
        CHECK(r.rd(kFn1, 0x00) == 0x15218086);
    }
    {
        Rig r("passage.deny=00:05.0", {}, add_two_function_device);
        CHECK(r.status(kFn0) == "hidden: passage.deny");
        CHECK(r.status(kFn1) == "hidden: function 0 of its device is hidden");
        CHECK(r.rd(kFn1, 0x00) == 0xffffffff);
    }
    {
        Rig r("passage.deny=00:05.1", {}, add_two_function_device);
        CHECK(r.status(kFn0) == "assigned");
        CHECK(r.rd(kFn0, kHeaderType, 1) == 0x00);  // every sibling hidden: single-function
        CHECK(r.rd(kFn0, kHeaderType & ~1u, 2) == 0x0000);
        CHECK((r.rd(kFn0, 0x0c) & 0x00ff0000u) == 0);
        CHECK(r.hw(kFn0).peek8(kHeaderType) == 0x80);  // the hardware is untouched
        CHECK(r.rd(kFn1, 0x00) == 0xffffffff);
    }
}

// Two host bridges, each with its own ECAM and windows, as on a board with
// two root complexes: every access reaches its own segment's hardware and a
// BAR may only move inside its own host bridge's windows.
TEST_CASE("vconfig: two host bridges, each with its own ECAM")
{
    FakeEcam ecam0, ecam1;
    ecam0.add(1, 0).ids(0x1af4, 0x1001).class_code(0x010000).bar32(0, 16 * KiB);
    ecam1.add(1, 0).ids(0x8086, 0x10d3).class_code(0x020000).bar32(0, 16 * KiB);
    ecam1.add(2, 0).ids(0x1b36, 0x0005).bar32(0, 4 * KiB);
    std::array<PciHostBridge, 2> hosts{qemu_virt(), qemu_virt()};
    hosts[1].segment = 1;
    hosts[1].ecam_base = 0x5010000000;
    hosts[1].windows[0] = {PciSpace::Io, false, 0x5eff0000, 0x0, 64 * KiB};
    hosts[1].windows[1] = {PciSpace::Mem32, false, 0x50000000, 0x50000000, 0x0eff0000};
    hosts[1].windows[2] = {PciSpace::Mem64, false, 0x9000000000, 0x9000000000, 64 * GiB};
    PciDeviceTable<16> table;
    set_log_sink(capture);
    REQUIRE(enumerate(hosts[0], ecam0, table).ok());
    REQUIRE(enumerate(hosts[1], ecam1, table).ok());
    Recorder rec;
    std::array<ConfigAccess*, 2> hw{&ecam0, &ecam1};
    VirtualConfig v(table, hw, hosts, rec);
    VconfigOptions opts;
    Diagnostic diag;
    REQUIRE(parse_vconfig_options("passage.deny=0001:00:02.0", opts, diag).ok());
    v.apply_policy(opts, {});

    const Bdf dev1{0, 1, 0}, dev2{0, 2, 0};
    CHECK(v.read(0, dev1, 0, 4) == 0x10011af4);
    CHECK(v.read(1, dev1, 0, 4) == 0x10d38086);
    CHECK(v.read(1, dev2, 0, 4) == 0xffffffff);  // denied on segment 1
    CHECK(v.read(2, dev1, 0, 4) == 0xffffffff);  // no such segment
    CHECK(v.mmio_read(0x4010000000 + ecam_offset(0, dev1, 0), 4) == 0x10011af4);
    CHECK(v.mmio_read(0x5010000000 + ecam_offset(0, dev1, 0), 4) == 0x10d38086);
    CHECK(v.mmio_read(0x5010000000 + ecam_offset(0, dev2, 0), 4) == 0xffffffff);

    // Segment 1's BAR into segment 0's window: refused; inside its own: moved.
    u32 before = ecam1.route(dev1)->peek32(0x10);
    REQUIRE((before & ~0xfu) >= 0x50000000);
    v.write(1, dev1, 0x10, 4, 0x20000000);
    CHECK(v.read(1, dev1, 0x10, 4) == before);
    CHECK(v.refused == 1);
    CHECK(contains(g_log, "PCI 0001:00:01.0: guest moved BAR0 to 0x20000000: refused, outside the host bridge's windows"));
    rec.ops.clear();
    v.write(1, dev1, 0x10, 4, 0x5e000000);
    CHECK(ecam1.route(dev1)->peek32(0x10) == 0x5e000000);
    CHECK(ecam0.route(dev1)->peek32(0x10) != 0x5e000000);  // segment 0's function untouched
    CHECK(v.moves == 1);
    REQUIRE(rec.ops.size() == 2);
    CHECK(rec.ops[0] == unmap_op(before & ~0xfu, 16 * KiB));
    CHECK(rec.ops[1] == map_op(0x5e000000, 16 * KiB));
    set_log_sink(nullptr);
}

// What no BAR may land on: passage, all of RAM (not only the guest's), and
// everything the plan maps that is not a BAR.
TEST_CASE("vconfig: the forbidden list holds passage, every RAM range and the plan's non-BAR regions")
{
    Platform p;
    p.memory[0] = {0x40000000, 1 * GiB};
    p.memory[1] = {0x100000000, 2 * GiB};
    p.memory_count = 2;
    MemRange hyp{0x40200000, 4 * MiB};
    plan::GuestPlan plan;
    auto region = [&](u64 pa, u64 size, plan::RegionClass cls) {
        plan::GuestRegion& r = plan.regions[plan.count++];
        r.ipa = r.pa = pa;
        r.size = size;
        r.cls = cls;
    };
    region(0x9000000, 4 * KiB, plan::RegionClass::Mmio);
    region(0x10000000, 16 * KiB, plan::RegionClass::PciBar);
    region(0x40000000, 2 * MiB, plan::RegionClass::Ram);
    region(0x4010000000, 256 * MiB, plan::RegionClass::Ecam);
    std::array<MemRange, VirtualConfig::kMaxForbidden> out{};
    usize n = collect_forbidden(p, hyp, plan, out);
    std::vector<std::pair<u64, u64>> got;
    for (usize i = 0; i < n; ++i) got.push_back({out[i].base, out[i].size});
    CHECK(got == std::vector<std::pair<u64, u64>>{{0x40200000, 4 * MiB},
                                                  {0x40000000, 1 * GiB},
                                                  {0x100000000, 2 * GiB},
                                                  {0x9000000, 4 * KiB},
                                                  {0x40000000, 2 * MiB},
                                                  {0x4010000000, 256 * MiB}});
}

// Cases from review: the sizing pattern as a real address, the ROM enable
// bit through a refused move, another bridge's window, a CardBus function.
void add_cardbus(FakeEcam& e) { e.add(5, 0).ids(0x104c, 0xac50).header_type(2); }

TEST_CASE("vconfig: a BAR placed where its address equals the sizing pattern moves there")
{
    Rig r;
    // BAR2 (16 KiB, 64-bit) at 0x80_ffffc000: the low half is the size mask,
    // so it reads as sizing until the high half (not all-ones) completes it.
    auto before = snapshot(r.hw(kNic));
    r.wr(kNic, 0x18, 0xffffc00c);
    CHECK(r.rd(kNic, 0x18) == 0xffffc00c);
    CHECK(snapshot(r.hw(kNic)) == before);
    r.wr(kNic, 0x1c, 0x80);
    CHECK(r.hw(kNic).peek32(0x18) == 0xffffc00c);
    CHECK(r.hw(kNic).peek32(0x1c) == 0x80);
    CHECK(r.fn(kNic).bars[2].pci_addr == 0x80ffffc000);
    CHECK(r.v->refused == 0);
    // The sizing of the high half, where nothing can be, stays silent.
    r.wr(kNic, 0x1c, 0xffffffff);
    CHECK(r.rd(kNic, 0x1c) == 0xffffffff);
    CHECK(r.v->refused == 0);
    r.wr(kNic, 0x1c, 0x80);
    CHECK(r.fn(kNic).bars[2].pci_addr == 0x80ffffc000);
}

TEST_CASE("vconfig: a refused ROM move keeps the guest's enable bit at the committed address")
{
    Rig r;
    u32 committed = u32(r.fn(kNic).rom().pci_addr);
    r.wr(kNic, 0x30, 0x40000001);  // RAM, enabled
    CHECK(r.v->refused == 1);
    CHECK(r.rd(kNic, 0x30) == (committed | 1));
    CHECK(r.hw(kNic).peek32(0x30) == (committed | 1));
}

TEST_CASE("vconfig: a BAR may not move into another bridge's window")
{
    Rig r;
    const BridgeWindow& w = r.fn(kPort).window(WindowKind::Mem);
    REQUIRE(w.assigned());
    u32 before = r.hw(kNic).peek32(0x10);
    u32 spot = u32(w.pci_base + w.size - 4 * KiB);  // in the window, clear of every BAR
    const PciFunction& behind = r.fn(kBehind);
    for (const PciBar& b : behind.bars)
        if (b.present()) REQUIRE((spot + 4 * KiB <= b.pci_addr || b.pci_addr + b.size <= spot));
    r.wr(kNic, 0x10, spot);
    CHECK(r.hw(kNic).peek32(0x10) == before);
    CHECK(r.v->refused == 1);
    CHECK(contains(g_log, "refused, overlaps the memory window of 0000:00:03.0"));
}

TEST_CASE("vconfig: a CardBus function is hidden")
{
    Rig r("", {}, add_cardbus);
    CHECK(r.status({0, 5, 0}) == "hidden: header type 2 not supported");
    CHECK(r.rd({0, 5, 0}, 0) == 0xffffffff);
}

// A reset (FLR, secondary bus reset) clears the hardware's BARs, windows and
// bus numbers behind passage's back; the guest's restore rewrites only what
// reads differently, and the virtual registers never do. Turning decoding
// back on puts passage's state into the hardware first.
TEST_CASE("vconfig: after a reset, turning decoding on reprograms BARs, ROM, bus numbers and windows")
{
    Rig r;
    const PciFunction& nic = r.fn(kNic);
    u32 bar0 = u32(nic.bars[0].pci_addr), bar2 = u32(nic.bars[2].pci_addr), bar2_hi = u32(nic.bars[2].pci_addr >> 32);
    u32 rom = u32(nic.rom().pci_addr);
    u32 cmd = r.rd(kNic, kCommand, 2);
    REQUIRE((cmd & CmdMem::kMask) != 0);
    // The function resets (as by FLR): registers back to 0, decoding off.
    for (u16 reg : {u16(0x10), u16(0x18), u16(0x1c), u16(0x30)}) r.ecam.write32(kNic, reg, 0);
    r.ecam.write16(kNic, kCommand, 0);
    CHECK(r.rd(kNic, 0x10) == bar0);  // the guest's view is passage's
    r.wr(kNic, kCommand, cmd, 2);      // the guest's restore
    CHECK(r.hw(kNic).peek32(0x10) == bar0);
    CHECK(r.hw(kNic).peek32(0x18) == (bar2 | 0xc));
    CHECK(r.hw(kNic).peek32(0x1c) == bar2_hi);
    CHECK((r.hw(kNic).peek32(0x30) & ~1u) == rom);
    CHECK((r.hw(kNic).peek16(kCommand) & CmdMem::kMask) != 0);

    // A root port loses its bus numbers and window: its device disappears
    // until the port is re-enabled.
    const PciFunction& port = r.fn(kPort);
    u32 window = r.hw(kPort).peek32(kMemBase);
    u16 port_cmd = u16(r.rd(kPort, kCommand, 2));
    r.ecam.write32(kPort, kPrimaryBus, 0);
    r.ecam.write32(kPort, kMemBase, 0);
    r.ecam.write16(kPort, kCommand, 0);
    CHECK(r.ecam.route(kBehind) == nullptr);
    r.wr(kPort, kCommand, port_cmd, 2);
    CHECK(r.hw(kPort).peek8(kSecondaryBus) == port.secondary);
    CHECK(r.hw(kPort).peek8(kSubordinateBus) == port.subordinate);
    CHECK(r.hw(kPort).peek32(kMemBase) == window);
    CHECK(r.ecam.route(kBehind) != nullptr);
}

// Stage 2 out of table pages: the move is refused and nothing changes, the
// old mapping included; the hardware is written only once stage 2 follows.
TEST_CASE("vconfig: a move stage 2 cannot follow is refused, the hardware and the old mapping kept")
{
    Rig r;
    u64 old = r.fn(kNic).bars[0].pci_addr;
    u32 hw_before = r.hw(kNic).peek32(0x10);
    r.rec.fail_maps = 1;
    r.wr(kNic, 0x10, 0x20000000);
    CHECK(r.hw(kNic).peek32(0x10) == hw_before);
    CHECK(r.rd(kNic, 0x10) == u32(old));
    CHECK(r.fn(kNic).bars[0].pci_addr == old);
    CHECK(r.v->refused == 1);
    CHECK(r.v->moves == 0);
    CHECK(r.v->mapped(r.index(kNic), 0));
    REQUIRE(r.rec.ops.size() == 2);
    CHECK(r.rec.ops[0] == unmap_op(old, 4 * KiB));
    CHECK(r.rec.ops[1] == map_op(old, 4 * KiB));  // back where it was
    CHECK(contains(g_log, "refused, stage 2 cannot map the new range"));
}

// Byte and word writes to a bridge's window registers compose as the
// 32-bit write would: the window is judged on every write, closed on the
// way is kept, and the final value lands.
TEST_CASE("vconfig: byte and word writes to bridge windows")
{
    Rig r;
    auto& port = r.hw(kPort);
    r.wr(kBehind, 0x10, 0x21000000);  // the BAR behind it first, as Linux does
    REQUIRE(r.fn(kBehind).bars[0].pci_addr == 0x21000000);
    u32 before = port.peek32(kMemBase);
    REQUIRE((before & 0xfff0u) < 0x2100u);  // the new base lies above the old limit on the way
    const u8 bytes[] = {0x00, 0x21, 0x00, 0x21};  // 0x21002100: 0x2100_0000-0x210f_ffff
    for (u16 k = 0; k < 4; ++k) r.wr(kPort, u16(kMemBase + k), bytes[k], 1);
    CHECK(port.peek32(kMemBase) == 0x21002100);
    CHECK(r.rd(kPort, kMemBase) == 0x21002100);
    CHECK(r.fn(kPort).window(WindowKind::Mem).pci_base == 0x21000000);
    CHECK(r.v->refused == 0);
    // Word writes, limit first then base: back to a window of two 1 MiB units.
    r.wr(kBehind, 0x10, 0x22000000);
    r.wr(kPort, u16(kMemBase + 2), 0x2210, 2);
    r.wr(kPort, kMemBase, 0x2200, 2);
    CHECK(port.peek32(kMemBase) == 0x22102200);
    CHECK(r.fn(kPort).window(WindowKind::Mem).size == 2 * MiB);
    CHECK(r.rd(kPort, u16(kMemBase + 2), 2) == 0x2210);
    CHECK(r.rd(kPort, u16(kMemBase + 1), 1) == 0x22);
}
