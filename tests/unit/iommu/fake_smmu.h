// A register model of an SMMUv3 for the driver tests: the registers the
// driver touches, command processing on a CMDQ_PROD write (CMD_SYNC,
// CFGI, TLBI; anything else is CERROR_ILL), GERROR/GERRORN, and an event
// queue that a test fills as a faulting device would. Driver memory is host
// memory: a "physical" address is the host pointer. Knobs make it misbehave
// (a GBPA update or CR0 write never acknowledged, a CMD_SYNC that never
// completes).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "passage/iommu/smmuv3_driver.h"

namespace passage::iommu::test {

class FakeSmmu final : public SmmuHw {
public:
    FakeSmmu();

    // --- SmmuHw ---
    u32 read32(u32 offset) override;
    void write32(u32 offset, u32 value) override;
    void write64(u32 offset, u64 value) override;
    void publish(const void* p, usize size) override;
    void fetch(const void*, usize) override { released_ = false; }
    void release() override { released_ = true; }
    u64 phys(const void* p) override { return reinterpret_cast<u64>(p); }
    void relax() override { ++relaxes; }

    // --- the device side ---
    // Writes an event record as a faulting device would; false (and the
    // overflow flag toggled) when the queue is full.
    bool raise_fault(u8 type, u32 sid, u64 addr, bool read);

    // --- knobs ---
    u32 idr[6] = {};
    bool gbpa_stuck = false;
    bool cr0_stuck = false;
    bool sync_stuck = false;
    bool irq_ctrl_stuck = false;
    bool flood = false;  // a new fault each time the driver consumes one
    u64 floods = 0;

    // --- what happened ---
    std::vector<std::pair<u32, u64>> writes;  // (offset, value), in order
    std::vector<Command> executed;            // commands the SMMU consumed
    std::vector<std::pair<const void*, usize>> published;
    u64 relaxes = 0;
    // EVENTQ_CONS moved past a record with no release() since the driver
    // fetched it: on hardware the SMMU could overwrite the slot while the
    // CPU still reads it.
    u64 unordered_cons_writes = 0;
    bool page0_alias_written = false;  // 0xa8/0xac: QEMU aliases them, hardware does not
    u32 reg(u32 offset) const;

private:
    void process_commands();

    std::map<u32, u64> regs_;
    bool halted_ = false;  // a command error until GERRORN acknowledges it
    bool released_ = true;
};

// An aligned buffer of `bytes`, for tables and queues.
struct Aligned {
    explicit Aligned(usize bytes);
    ~Aligned();
    Aligned(const Aligned&) = delete;
    Aligned& operator=(const Aligned&) = delete;
    void* p;
};

}  // namespace passage::iommu::test
