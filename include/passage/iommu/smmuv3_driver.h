// The SMMUv3 driver: take-over, the stream table, the command queue with
// CMD_SYNC, the event queue and global errors, over a small register and
// memory interface. At EL2 that is the real SMMU (MMIO and cache
// maintenance); in host tests a register model. Nothing here waits without
// a bound: a CMD_SYNC that never completes, an SMMU that never acknowledges
// an enable, come back as errors with a message.
#pragma once

#include <span>

#include "passage/diagnostic.h"
#include "passage/iommu/smmuv3.h"
#include "passage/result.h"

namespace passage::iommu {

class SmmuHw {
public:
    virtual u32 read32(u32 offset) = 0;
    virtual void write32(u32 offset, u32 value) = 0;
    virtual void write64(u32 offset, u64 value) = 0;
    // Makes the CPU's writes to [p, p + size) visible to the SMMU before
    // any later register write: clean to the point of coherency when the
    // SMMU does not snoop, then a barrier.
    virtual void publish(const void* p, usize size) = 0;
    // Makes the SMMU's writes (event records) visible to the CPU's reads.
    virtual void fetch(const void* p, usize size) = 0;
    // Orders every earlier CPU access to driver memory, reads included,
    // before any later register write (DMB OSH on hardware): a CONS write
    // hands the entries just read back to the SMMU, which may overwrite
    // them at once.
    virtual void release() = 0;
    // The physical address the SMMU must be given for driver memory.
    virtual u64 phys(const void* p) = 0;
    // One step of a bounded wait (a short delay on hardware).
    virtual void relax() = 0;

protected:
    SmmuHw() = default;
    ~SmmuHw() = default;
    SmmuHw(const SmmuHw&) = default;
    SmmuHw& operator=(const SmmuHw&) = default;
};

// Memory the driver owns, given by the caller: the stream table, the
// command queue (2^cmdq_log2 entries of 16 bytes) and the event queue
// (2^evtq_log2 entries of 32 bytes), each aligned to its size.
// The stream table is linear (2^strtab_log2 STEs at strtab), or, when l1
// is set (IDR0.ST_LEVEL = 1), two-level: 2^l1_log2 level-1 descriptors,
// each for 2^kL2Log2 StreamIDs (one bus with a one-to-one map), and
// l2_count level-2 tables of 2^kL2Log2 STEs at l2_pool (each aligned to
// its 16 KiB), handed out to the groups in use as STEs are set.
struct SmmuMemory {
    static constexpr u32 kL2Log2 = 8;
    Ste* strtab = nullptr;
    u32 strtab_log2 = 0;
    u64* cmdq = nullptr;
    u32 cmdq_log2 = 0;
    u64* evtq = nullptr;
    u32 evtq_log2 = 0;
    u64* l1 = nullptr;
    u32 l1_log2 = 0;
    Ste* l2_pool = nullptr;
    u32 l2_count = 0;
};

// What IDR0..5 say, decoded once.
struct SmmuFeatures {
    bool stage1 = false;
    bool stage2 = false;
    bool aa64 = false;
    bool gran4k = false;
    bool vmid16 = false;
    bool two_level = false;
    bool fwb = false;
    bool stall_forced = false;  // IDR0.STALL_MODEL = 2: an STE without S2S is ILLEGAL
    bool coherent_hw = false;  // IDR0.COHACC (the node's dma-coherent decides)
    unsigned oas = 0;          // IDR5.OAS field
    unsigned sid_bits = 0;
    unsigned cmdq_log2_max = 0;
    unsigned evtq_log2_max = 0;
};

SmmuFeatures decode_features(u32 idr0, u32 idr1, u32 idr3, u32 idr5);

// How many polls a bounded wait makes before it gives up.
constexpr u32 kSmmuPollBudget = 1'000'000;

class SmmuDriver {
public:
    constexpr SmmuDriver() = default;
    SmmuDriver(SmmuHw& hw, const char* name, bool coherent) { attach(hw, name, coherent); }
    // For a driver in static storage: which SMMU it drives.
    void attach(SmmuHw& hw, const char* name, bool coherent)
    {
        hw_ = &hw;
        name_ = name;
        coherent_ = coherent;
    }

    // Global bypass to abort first (firmware may have left it open), then
    // the features. After this, with SMMUEN = 0, every DMA is aborted.
    Status probe(Diagnostic& diag);
    const SmmuFeatures& features() const { return features_; }

    // For an SMMU passage does not use (no stage 2): SMMUEN stays 0 and the
    // global bypass is opened, so the devices behind it work, unconfined.
    Status leave_in_bypass(Diagnostic& diag);

    // Programs tables and queues and enables the SMMU, every StreamID
    // aborting. Needs stage 2 (probe says whether it is there).
    Status enable(const SmmuMemory& mem, Diagnostic& diag);

    // Installs an STE and makes the SMMU forget its cached copy (CFGI_STE,
    // CMD_SYNC). Only dword 0 decides between abort and translation, so it
    // is written last: the SMMU never sees half an entry in force.
    Status set_ste(u32 sid, const Ste& ste, Diagnostic& diag);
    u32 stream_count() const { return u32{1} << sid_log2(); }
    bool two_level() const { return mem_.l1 != nullptr; }
    u32 l2_tables_used() const { return l2_used_; }

    // Queues commands, then a CMD_SYNC, and waits (bounded) for it. A
    // command error (GERROR.CMDQ_ERR, CMDQ_CONS.ERR) is reported, the bad
    // command skipped and the error acknowledged.
    Status submit(std::span<const Command> cmds, Diagnostic& diag);

    // Reads the pending event records and hands each to `sink`; returns how
    // many. At most one queue's worth per call: a device that keeps
    // faulting cannot hold passage here (the rest waits for the next
    // call). An overflow (records lost) is counted in overflows().
    template <typename Sink>
    u32 drain_events(Sink&& sink)
    {
        u32 n = 0;
        Event e;
        while (n < (u32{1} << mem_.evtq_log2) && next_event(e)) {
            sink(e);
            ++n;
        }
        return n;
    }
    u32 overflows() const { return overflows_; }

    // Whether an event record, an overflow or a global error waits: a few register reads,
    // no state changed (for an unlocked check before taking the lock).
    bool pending()
    {
        if (mem_.evtq == nullptr) return false;
        const u32 prod = hw_->read32(reg::kEventqProd);
        return (prod & ((u32{2} << mem_.evtq_log2) - 1)) != __atomic_load_n(&evt_cons_.value, __ATOMIC_RELAXED) ||
               reg::QueueOverflow::get(prod ^ hw_->read32(reg::kEventqCons)) != 0 ||
               ((hw_->read32(reg::kGerror) ^ hw_->read32(reg::kGerrorN)) & reg::kGerrorKnown) != 0;
    }

    // Global errors now active (GERROR ^ GERRORN); acknowledges them.
    u32 take_global_errors();

    bool enabled() const { return enabled_; }
    const char* name() const { return name_; }

private:
    u32 sid_log2() const { return two_level() ? mem_.l1_log2 + SmmuMemory::kL2Log2 : mem_.strtab_log2; }
    Result<Ste*> ste_slot(u32 sid, Diagnostic& diag);
    bool next_event(Event& e);
    Status wait_ack(u32 offset, u32 mask, u32 value, const char* what, Diagnostic& diag);
    Status write_cr0(u32 value, Diagnostic& diag);
    Status push(const Command& c, Diagnostic& diag);

    SmmuHw* hw_ = nullptr;
    const char* name_ = "?";
    bool coherent_ = true;
    SmmuFeatures features_;
    SmmuMemory mem_;
    u32 cr0_ = 0;
    // A queue's base, PROD and CONS registers.
    struct QueueRegs {
        u32 base, prod, cons;
    };
    // Empties a queue of 2^log2 entries, hands it to the SMMU, both pointers 0.
    QueuePtr program_queue(QueueRegs regs, u64* entries, usize entry_dwords, u32 log2);

    QueuePtr cmd_prod_;
    QueuePtr evt_cons_;
    u32 overflows_ = 0;
    u32 l2_used_ = 0;
    bool enabled_ = false;
};

}  // namespace passage::iommu
