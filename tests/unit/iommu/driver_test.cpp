// The SMMUv3 driver against a register model: the take-over order (GBPA
// abort first), the tables and queues it programs, STE updates with their
// invalidation, a full event queue, a command error, and waits that never
// end (reported, never a hang).
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "fake_smmu.h"

using namespace passage;
using namespace passage::iommu;
using namespace passage::iommu::test;

namespace {

// Tables and queues for one SMMU: 64 StreamIDs, 8 commands, 4 events.
struct Rig {
    FakeSmmu hw;
    Aligned strtab{64 * sizeof(Ste)};
    Aligned cmdq{8 * 16};
    Aligned evtq{4 * 32};
    SmmuDriver smmu{hw, "/smmuv3@9050000", true};
    Diagnostic diag;

    SmmuMemory memory()
    {
        return {static_cast<Ste*>(strtab.p), 6, static_cast<u64*>(cmdq.p), 3, static_cast<u64*>(evtq.p), 2};
    }
    bool bring_up()
    {
        return smmu.probe(diag).ok() && smmu.enable(memory(), diag).ok();
    }
    Ste* table() { return static_cast<Ste*>(strtab.p); }
    std::vector<u64> opcodes() const
    {
        std::vector<u64> ops;
        for (const Command& c : hw.executed) ops.push_back(c.opcode());
        return ops;
    }
};

std::string text(const Diagnostic& d) { return d.text; }

}  // namespace

TEST_CASE("smmu driver: the global bypass is set to abort before anything else")
{
    Rig r;
    REQUIRE(r.smmu.probe(r.diag));
    REQUIRE_FALSE(r.hw.writes.empty());
    CHECK(r.hw.writes[0].first == reg::kGbpa);
    CHECK(r.hw.writes[0].second == (reg::GbpaAbort::kMask | reg::GbpaUpdate::kMask));
    CHECK(r.hw.reg(reg::kGbpa) == reg::GbpaAbort::kMask);
    CHECK(r.smmu.features().stage2);
    CHECK(r.smmu.features().oas == 4);
}

TEST_CASE("smmu driver: enable programs the stream table and both queues and aborts every stream")
{
    Rig r;
    REQUIRE(r.bring_up());
    INFO(text(r.diag));
    const u64 strtab = reinterpret_cast<u64>(r.strtab.p);
    CHECK(r.hw.reg(reg::kStrtabBase) == u32(strtab | reg::StrtabBaseRa::kMask));
    CHECK(r.hw.reg(reg::kStrtabBaseCfg) == 6);  // linear, 2^6 entries
    auto base64 = [&](u32 off) {
        for (auto it = r.hw.writes.rbegin(); it != r.hw.writes.rend(); ++it)
            if (it->first == off) return it->second;
        return u64{0};
    };
    CHECK(base64(reg::kStrtabBase) == (strtab | reg::StrtabBaseRa::kMask));
    CHECK(base64(reg::kCmdqBase) == (reinterpret_cast<u64>(r.cmdq.p) | reg::QueueBaseAlloc::kMask | 3));
    CHECK(base64(reg::kEventqBase) == (reinterpret_cast<u64>(r.evtq.p) | reg::QueueBaseAlloc::kMask | 2));
    for (int i = 0; i < 64; ++i) CHECK(r.table()[i] == abort_ste());
    // Coherent: write-back, inner shareable walks and queue accesses.
    CHECK(r.hw.reg(reg::kCr1) == 0xd75);
    CHECK(r.hw.reg(reg::kCr0) == 0xd);  // SMMUEN, EVENTQEN, CMDQEN
    CHECK(r.opcodes() == std::vector<u64>{reg::cmd::kCfgiSteRange, reg::cmd::kTlbiNsnhAll, reg::cmd::kSync});
    CHECK_FALSE(r.hw.page0_alias_written);
    // The event queue pointers were reset through page 1.
    CHECK(std::count_if(r.hw.writes.begin(), r.hw.writes.end(), [](auto& w) { return w.first == reg::kEventqCons; }) >= 1);
    // SMMUEN is the last CR0 write, after the tables were published.
    u32 last_cr0 = 0;
    for (auto& w : r.hw.writes)
        if (w.first == reg::kCr0) last_cr0 = u32(w.second);
    CHECK(last_cr0 == 0xd);
}

TEST_CASE("smmu driver: without dma-coherent the walks and queues are non-cacheable")
{
    FakeSmmu hw;
    Aligned st{64 * sizeof(Ste)}, cq{8 * 16}, eq{4 * 32};
    SmmuDriver smmu{hw, "smmu", false};
    Diagnostic d;
    REQUIRE(smmu.probe(d));
    REQUIRE(smmu.enable({static_cast<Ste*>(st.p), 6, static_cast<u64*>(cq.p), 3, static_cast<u64*>(eq.p), 2}, d));
    CHECK(hw.reg(reg::kCr1) == 0x820);  // IC = OC = 0, SH = outer shareable
    // Every table and queue was published (cleaned to PoC on hardware) before use.
    auto published = [&](const void* p) {
        return std::any_of(hw.published.begin(), hw.published.end(), [&](auto& e) { return e.first == p; });
    };
    CHECK(published(st.p));
    CHECK(published(cq.p));
    CHECK(published(eq.p));
}

TEST_CASE("smmu driver: a stage-1-only SMMU is refused with a message")
{
    Rig r;
    r.hw.idr[0] &= ~u32(reg::Idr0S2P::kMask);
    REQUIRE(r.smmu.probe(r.diag));
    CHECK_FALSE(r.smmu.features().stage2);
    CHECK_FALSE(r.smmu.enable(r.memory(), r.diag));
    CHECK(text(r.diag) == "SMMUv3 /smmuv3@9050000 has no stage 2 (IDR0.S2P = 0): it cannot confine DMA to the guest");
    CHECK(r.hw.reg(reg::kGbpa) == reg::GbpaAbort::kMask);  // still aborting
    // Not used: left off, in bypass, so the devices behind it still work.
    REQUIRE(r.smmu.leave_in_bypass(r.diag));
    CHECK(r.hw.reg(reg::kGbpa) == 0);
    CHECK(r.hw.reg(reg::kCr0) == 0);
}

TEST_CASE("smmu driver: set_ste writes the entry then CFGI_STE and CMD_SYNC")
{
    Rig r;
    REQUIRE(r.bring_up());
    r.hw.executed.clear();
    const Ste s2 = stage2_ste({0x8002'3558, (u64{1} << 48) | 0x4001'0000, 4, true, false, true});
    REQUIRE(r.smmu.set_ste(0x18, s2, r.diag));
    CHECK(r.table()[0x18] == s2);
    CHECK(r.table()[0x17] == abort_ste());
    REQUIRE(r.hw.executed.size() == 2);
    CHECK(r.hw.executed[0] == cmd_cfgi_ste(0x18));
    CHECK(r.hw.executed[1] == cmd_sync());
    CHECK_FALSE(r.smmu.set_ste(64, s2, r.diag));
    CHECK(text(r.diag) == "SMMUv3 /smmuv3@9050000: StreamID 0x40 is beyond its stream table of 64 entries");
}

TEST_CASE("smmu driver: commands wrap around the queue")
{
    Rig r;
    REQUIRE(r.bring_up());
    r.hw.executed.clear();
    // 8 entries; 20 submits of two commands each go round several times.
    for (int i = 0; i < 20; ++i) {
        const Command c[] = {cmd_tlbi_s12_vmall(u16(i))};
        REQUIRE(r.smmu.submit(c, r.diag));
    }
    REQUIRE(r.hw.executed.size() == 40);
    CHECK(r.hw.executed[38] == cmd_tlbi_s12_vmall(19));
}

TEST_CASE("smmu driver: a full event queue loses records and says so and then recovers")
{
    Rig r;
    REQUIRE(r.bring_up());
    // Four entries: the fifth and sixth faults are lost.
    for (u32 i = 0; i < 6; ++i) CHECK(r.hw.raise_fault(u8(reg::evt::kFTranslation), 0x18, 0x4020'0000 + i * 0x1000, true) == (i < 4));
    std::vector<Event> seen;
    CHECK(r.smmu.pending());
    CHECK(r.smmu.drain_events([&](const Event& e) { seen.push_back(e); }) == 4);
    CHECK(r.smmu.overflows() == 1);
    CHECK_FALSE(r.smmu.pending());  // drained, and the overflow acknowledged
    REQUIRE(seen.size() == 4);
    CHECK(seen[3].input_addr == 0x4020'3000);
    CHECK(seen[0].sid == 0x18);
    CHECK(seen[0].read);
    // The overflow was acknowledged: CONS.OVACKFLG now matches PROD.OVFLG.
    CHECK((r.hw.reg(reg::kEventqCons) >> 31) == (r.hw.reg(reg::kEventqProd) >> 31));
    CHECK(r.smmu.drain_events([](const Event&) {}) == 0);
    CHECK(r.smmu.overflows() == 1);
    // Records flow again, across the wrap.
    for (u32 i = 0; i < 3; ++i) CHECK(r.hw.raise_fault(u8(reg::evt::kFPermission), 0x20, 0x9000'0000, false));
    seen.clear();
    CHECK(r.smmu.drain_events([&](const Event& e) { seen.push_back(e); }) == 3);
    CHECK(seen[2].type == reg::evt::kFPermission);
    CHECK_FALSE(seen[2].read);
}

TEST_CASE("smmu driver: a refused command is reported and skipped and the queue goes on")
{
    Rig r;
    REQUIRE(r.bring_up());
    r.hw.executed.clear();
    const Command bad[] = {Command{{0xff, 0}}};
    CHECK_FALSE(r.smmu.submit(bad, r.diag));
    CHECK(text(r.diag) == "SMMUv3 /smmuv3@9050000: command 0xff at queue index 3 refused: CERROR_ILL (illegal command)");
    // Acknowledged: GERROR and GERRORN agree again.
    CHECK(r.hw.reg(reg::kGerror) == r.hw.reg(reg::kGerrorN));
    const Command good[] = {cmd_tlbi_s12_vmall(1)};
    REQUIRE(r.smmu.submit(good, r.diag));
    CHECK(r.hw.executed.back() == cmd_sync());
    CHECK(std::find(r.hw.executed.begin(), r.hw.executed.end(), cmd_tlbi_s12_vmall(1)) != r.hw.executed.end());
}

TEST_CASE("smmu driver: a CMD_SYNC that never completes times out with a message")
{
    Rig r;
    REQUIRE(r.bring_up());
    r.hw.sync_stuck = true;
    r.hw.relaxes = 0;
    const Command c[] = {cmd_tlbi_s12_vmall(1)};
    CHECK_FALSE(r.smmu.submit(c, r.diag));
    CHECK(text(r.diag) == "SMMUv3 /smmuv3@9050000: CMD_SYNC at queue index 4 not done after 1000000 polls");
    CHECK(r.hw.relaxes == kSmmuPollBudget);
}

TEST_CASE("smmu driver: a GBPA update or a CR0 write never acknowledged is an error")
{
    Rig a;
    a.hw.gbpa_stuck = true;
    CHECK_FALSE(a.smmu.probe(a.diag));
    CHECK(text(a.diag) == "SMMUv3 /smmuv3@9050000: GBPA update not acknowledged after 1000000 polls");
    Rig b;
    b.hw.cr0_stuck = true;
    REQUIRE(b.smmu.probe(b.diag));
    b.hw.writes.clear();
    // CR0ACK stays 0: the first write (0) is acknowledged by chance, the CMDQEN one is not.
    CHECK_FALSE(b.smmu.enable(b.memory(), b.diag));
    CHECK(text(b.diag) == "SMMUv3 /smmuv3@9050000: CR0 write not acknowledged after 1000000 polls");
}

TEST_CASE("smmu driver: global errors are taken and acknowledged")
{
    Rig r;
    REQUIRE(r.bring_up());
    CHECK(r.smmu.take_global_errors() == 0);
}

// Sparse, high buses (a switch far down the tree): a level-1 table with a
// descriptor per bus, level-2 tables of 256 STEs only where STEs are set.
TEST_CASE("smmu driver: a two-level stream table gets a level-2 table per bus in use")
{
    FakeSmmu hw;
    Aligned l1{256 * 8}, pool{2 * 256 * sizeof(Ste)}, cq{8 * 16}, eq{4 * 32};
    SmmuDriver smmu{hw, "smmu", true};
    Diagnostic d;
    REQUIRE(smmu.probe(d));
    SmmuMemory mem;
    mem.l1 = static_cast<u64*>(l1.p);
    mem.l1_log2 = 8;
    mem.l2_pool = static_cast<Ste*>(pool.p);
    mem.l2_count = 2;
    mem.cmdq = static_cast<u64*>(cq.p);
    mem.cmdq_log2 = 3;
    mem.evtq = static_cast<u64*>(eq.p);
    mem.evtq_log2 = 2;
    REQUIRE(smmu.enable(mem, d));
    INFO(d.text);
    CHECK(smmu.two_level());
    CHECK(smmu.stream_count() == 0x10000);
    // FMT 1, SPLIT 8, LOG2SIZE 16.
    CHECK(hw.reg(reg::kStrtabBaseCfg) == ((1u << 16) | (8u << 6) | 16u));
    for (int i = 0; i < 256; ++i) CHECK(mem.l1[i] == 0);  // Span 0: nothing yet
    hw.executed.clear();
    const Ste s2 = stage2_ste({0x8002'3558, (u64{1} << 48) | 0x4001'0000, 4, true, false, true});
    REQUIRE(smmu.set_ste(0x1234, s2, d));
    const u64 desc = mem.l1[0x12];
    CHECK((desc & 0x1f) == 9);  // 2^(9-1) = 256 STEs
    CHECK((desc & ~u64{0x3f}) == reinterpret_cast<u64>(pool.p));
    const Ste* l2 = static_cast<const Ste*>(pool.p);
    CHECK(l2[0x34] == s2);
    CHECK(l2[0x33] == abort_ste());
    REQUIRE(hw.executed.size() == 4);
    CHECK(hw.executed[0] == cmd_cfgi_ste_range(0x1200, 8));
    CHECK(hw.executed[2] == cmd_cfgi_ste(0x1234));
    // The same bus again: no new table.
    REQUIRE(smmu.set_ste(0x1235, s2, d));
    CHECK(smmu.l2_tables_used() == 1);
    REQUIRE(smmu.set_ste(0xff00, s2, d));
    CHECK(smmu.l2_tables_used() == 2);
    // A third bus: the pool is empty, said so; nothing half-installed.
    CHECK_FALSE(smmu.set_ste(0x0800, s2, d));
    CHECK(std::string(d.text) == "SMMUv3 smmu: StreamID 0x800 needs a level-2 stream table; all 2 are in use");
    CHECK(mem.l1[0x08] == 0);
}

TEST_CASE("smmu driver: a two-level table on an SMMU without ST_LEVEL is refused")
{
    FakeSmmu hw;
    hw.idr[0] &= ~u32(reg::Idr0StLevel::kMask);
    Aligned l1{256 * 8}, pool{256 * sizeof(Ste)}, cq{8 * 16}, eq{4 * 32};
    SmmuDriver smmu{hw, "smmu", true};
    Diagnostic d;
    REQUIRE(smmu.probe(d));
    SmmuMemory mem;
    mem.l1 = static_cast<u64*>(l1.p);
    mem.l1_log2 = 8;
    mem.l2_pool = static_cast<Ste*>(pool.p);
    mem.l2_count = 1;
    mem.cmdq = static_cast<u64*>(cq.p);
    mem.cmdq_log2 = 3;
    mem.evtq = static_cast<u64*>(eq.p);
    mem.evtq_log2 = 2;
    CHECK_FALSE(smmu.enable(mem, d));
    CHECK(std::string(d.text) == "SMMUv3 smmu has no two-level stream tables (IDR0.ST_LEVEL)");
}

// A device that faults as fast as passage reads: one drain takes at most a
// queue's worth and returns; the flood goes on, passage does not hang.
TEST_CASE("smmu driver: a device flooding the event queue cannot hold the drain")
{
    Rig r;
    REQUIRE(r.bring_up());
    REQUIRE(r.hw.raise_fault(u8(reg::evt::kFTranslation), 0x20, 0x4020'0000, false));
    r.hw.flood = true;
    u32 seen = r.smmu.drain_events([](const Event&) {});
    CHECK(seen == 4);  // the queue's size
    CHECK(r.hw.floods >= 4);
    CHECK(r.smmu.drain_events([](const Event&) {}) == 4);
}

// The SMMU may write a new record into a slot as soon as CONS passes it:
// the driver's reads of the record must be ordered before that register
// write (Linux: __iomb() before the EVTQ_CONS write).
TEST_CASE("smmu driver: every event record is read before CONS hands its slot back")
{
    Rig r;
    REQUIRE(r.bring_up());
    for (u32 i = 0; i < 3; ++i) REQUIRE(r.hw.raise_fault(u8(reg::evt::kFTranslation), 0x18, 0x4020'0000 + i * 0x1000, true));
    CHECK(r.smmu.drain_events([](const Event&) {}) == 3);
    CHECK(r.hw.reg(reg::kEventqCons) == 3);
    CHECK(r.hw.unordered_cons_writes == 0);
}

// IRQ_CTRL changes are acknowledged in IRQ_CTRLACK as CR0's are in CR0ACK
// (IHI 0070, SMMU_IRQ_CTRL): a write that never lands is an error.
TEST_CASE("smmu driver: an IRQ_CTRL write never acknowledged is an error")
{
    Rig r;
    r.hw.write32(reg::kIrqCtrl, 0x5);  // firmware left interrupts on
    r.hw.irq_ctrl_stuck = true;
    REQUIRE(r.smmu.probe(r.diag));
    CHECK_FALSE(r.smmu.enable(r.memory(), r.diag));
    CHECK(text(r.diag) == "SMMUv3 /smmuv3@9050000: IRQ_CTRL write not acknowledged after 1000000 polls");
    Rig ok;
    ok.hw.write32(reg::kIrqCtrl, 0x5);
    REQUIRE(ok.bring_up());
    CHECK(ok.hw.reg(reg::kIrqCtrlAck) == 0);
}

// IDR0.STALL_MODEL = 2 (stall forced): a stage-2 STE with S2S = 0 would be
// ILLEGAL (IHI 0070 5.5), so such an SMMU is refused with a message.
TEST_CASE("smmu driver: an SMMU that forces stalls is refused with a message")
{
    Rig r;
    r.hw.idr[0] |= u32(reg::Idr0StallModel::make(2));
    REQUIRE(r.smmu.probe(r.diag));
    CHECK(r.smmu.features().stall_forced);
    CHECK_FALSE(r.smmu.enable(r.memory(), r.diag));
    CHECK(text(r.diag) ==
          "SMMUv3 /smmuv3@9050000 forces the stall fault model (IDR0.STALL_MODEL = 2), which passage does not handle");
}
