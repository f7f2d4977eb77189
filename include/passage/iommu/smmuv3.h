// SMMUv3 structures as values: stream table entries, commands, queue
// pointers and event records. Pure functions, no hardware: the driver
// (smmuv3_driver.h) writes what these build.
#pragma once

#include "passage/iommu/smmuv3_regs.h"

namespace passage::iommu {

// One stream table entry: eight little-endian dwords.
struct Ste {
    u64 dw[8] = {};
    constexpr bool operator==(const Ste&) const = default;
};

// Valid, Config = abort: the SMMU terminates every transaction of the
// stream silently (no event): hidden functions and unused StreamIDs.
constexpr Ste abort_ste()
{
    Ste s;
    s.dw[0] = reg::ste::V::make(1) | reg::ste::Config::make(reg::ste::kConfigAbort);
    return s;
}

// What a stage-2 STE is built from: the CPU's own stage-2 registers (one
// table for CPU and SMMU) and what the SMMU and the platform say.
struct Stage2Params {
    u64 vtcr = 0;           // VTCR_EL2 as the CPU runs the guest
    u64 vttbr = 0;          // VTTBR_EL2: table base and VMID
    unsigned oas = 0;       // this SMMU's IDR5.OAS field
    bool coherent = true;   // the SMMU node's dma-coherent
    bool fwb = false;       // the CPU runs with HCR_EL2.FWB (then this SMMU must have IDR3.FWB)
    bool vmid16 = false;    // VTCR_EL2.VS: the VMID is VTTBR[63:48], else [55:48]
};

// The VMID the CPU tags this stage 2 with (VTTBR_EL2.VMID, 16 bits when
// VTCR_EL2.VS): the STE and every SMMU TLB invalidation must use the same.
constexpr u16 vttbr_vmid(u64 vttbr, bool vmid16)
{
    return u16(vmid16 ? Field<63, 48>::get(vttbr) : Field<55, 48>::get(vttbr));
}

// Config = stage 2 only. S2T0SZ, S2SL0, S2TG, S2IR0, S2OR0, S2SH0 are the
// VTCR_EL2 fields (same encodings); S2PS = min(VTCR_EL2.PS, IDR5.OAS);
// S2AA64 = 1; S2R = 1 so translation faults are recorded; stall, AF fault
// disable, hardware A/D updates and ATS stay off. Without dma-coherent the
// walks are non-cacheable. SHCFG = incoming: the device's own shareability.
constexpr Ste stage2_ste(const Stage2Params& p)
{
    namespace s = reg::ste;
    const u64 t0sz = Field<5, 0>::get(p.vtcr);
    const u64 sl0 = Field<7, 6>::get(p.vtcr);
    const u64 irgn = Field<9, 8>::get(p.vtcr);
    const u64 orgn = Field<11, 10>::get(p.vtcr);
    const u64 sh = Field<13, 12>::get(p.vtcr);
    const u64 tg = Field<15, 14>::get(p.vtcr);
    const u64 ps = Field<18, 16>::get(p.vtcr);
    const u64 vmid = vttbr_vmid(p.vttbr, p.vmid16);
    Ste e;
    e.dw[0] = s::V::make(1) | s::Config::make(s::kConfigS2);
    e.dw[1] = s::ShCfg::make(1) | s::S2Fwb::make(p.fwb ? 1 : 0);
    e.dw[2] = s::S2Vmid::make(vmid) | s::S2T0sz::make(t0sz) | s::S2Sl0::make(sl0) |
              s::S2Ir0::make(p.coherent ? irgn : 0) | s::S2Or0::make(p.coherent ? orgn : 0) |
              s::S2Sh0::make(p.coherent ? sh : 0b10) | s::S2Tg::make(tg) | s::S2Ps::make(ps < p.oas ? ps : p.oas) |
              s::S2Aa64::make(1) | s::S2R::make(1);
    e.dw[3] = p.vttbr & s::S2Ttb::kMask & Field<47, 1>::kMask;
    return e;
}

// One command: two dwords.
struct Command {
    u64 dw[2] = {};
    constexpr bool operator==(const Command&) const = default;
    constexpr u64 opcode() const { return reg::cmd::Opcode::get(dw[0]); }
};

// Forget the cached STE of one StreamID (Leaf = 1: only the STE itself).
constexpr Command cmd_cfgi_ste(u32 sid)
{
    return {{reg::cmd::Opcode::make(reg::cmd::kCfgiSte) | reg::cmd::Sid::make(sid), reg::cmd::Leaf::make(1)}};
}
// The STEs of 2^(range_log2) StreamIDs from `sid` (aligned to the range).
constexpr Command cmd_cfgi_ste_range(u32 sid, u32 range_log2)
{
    return {{reg::cmd::Opcode::make(reg::cmd::kCfgiSteRange) | reg::cmd::Sid::make(sid), reg::cmd::Range::make(range_log2 - 1)}};
}
// CFGI_ALL: CFGI_STE_RANGE with Range = 31, every StreamID.
constexpr Command cmd_cfgi_all() { return {{reg::cmd::Opcode::make(reg::cmd::kCfgiSteRange), reg::cmd::Range::make(31)}}; }
// Every TLB entry of a VMID, stage 1 and 2.
constexpr Command cmd_tlbi_s12_vmall(u16 vmid)
{
    return {{reg::cmd::Opcode::make(reg::cmd::kTlbiS12Vmall) | reg::cmd::Vmid::make(vmid), 0}};
}
// Stage-2 entries for one IPA page; leaf = false when a table went away
// (walk caches too). TG = 0: not a range invalidation.
constexpr Command cmd_tlbi_s2_ipa(u16 vmid, u64 ipa, bool leaf)
{
    return {{reg::cmd::Opcode::make(reg::cmd::kTlbiS2Ipa) | reg::cmd::Vmid::make(vmid),
             reg::cmd::Ipa::make(ipa >> 12) | reg::cmd::Leaf::make(leaf ? 1 : 0)}};
}
// Every non-secure, non-hypervisor TLB entry (start of day).
constexpr Command cmd_tlbi_nsnh_all() { return {{reg::cmd::Opcode::make(reg::cmd::kTlbiNsnhAll), 0}}; }
// Completion barrier: CONS passes it once everything before it is done.
// CS = 0: no interrupt and no MSI, passage polls CMDQ_CONS.
constexpr Command cmd_sync() { return {{reg::cmd::Opcode::make(reg::cmd::kSync), 0}}; }

// A queue's PROD or CONS value: index in [log2size-1:0], the wrap bit at
// [log2size]. Full when the indexes match and the wrap bits differ; empty
// when both match.
struct QueuePtr {
    u32 log2 = 0;
    u32 value = 0;

    constexpr u32 index() const { return value & ((u32{1} << log2) - 1); }
    constexpr u32 wrap() const { return (value >> log2) & 1; }
    constexpr QueuePtr next() const { return {log2, (value + 1) & ((u32{2} << log2) - 1)}; }
    // The pointer bits of a register value (dropping ERR, OVFLG and the like).
    static constexpr QueuePtr from_reg(u32 log2, u32 reg) { return {log2, reg & ((u32{2} << log2) - 1)}; }
};
constexpr bool queue_empty(QueuePtr prod, QueuePtr cons) { return prod.value == cons.value; }
constexpr bool queue_full(QueuePtr prod, QueuePtr cons)
{
    return prod.index() == cons.index() && prod.wrap() != cons.wrap();
}
// Entries between cons and prod.
constexpr u32 queue_used(QueuePtr prod, QueuePtr cons)
{
    return prod.wrap() == cons.wrap() ? prod.index() - cons.index() : (u32{1} << prod.log2) - cons.index() + prod.index();
}

// One decoded event record.
struct Event {
    u8 type = 0;
    u32 sid = 0;
    bool ssv = false;
    u32 ssid = 0;
    bool read = false;     // RnW: the faulting access was a read
    bool stage2 = false;   // the fault was at stage 2 (translation-class faults only)
    u64 input_addr = 0;    // the address the device used
    u64 ipa = 0;           // F_TRANSLATION, F_ADDR_SIZE, F_ACCESS, F_PERMISSION: the IPA; else 0
    bool has_addr = false; // the record carries an address and a direction
};

Event decode_event(const u64 (&rec)[4]);
// "F_TRANSLATION", "C_BAD_STE", ... or "event 0x%x" for others (into buf).
const char* event_name(u8 type);

}  // namespace passage::iommu
