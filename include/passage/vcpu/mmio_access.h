// A trapped data access, decoded from the syndrome (Arm ARM D17.2.40,
// ESR_EL2 ISS encoding for a Data Abort) and completed on the TrapFrame.
//
// In the EL2 trap path, for a stage-2 fault the emulator claims:
//
//   auto d = vcpu::decode_mmio(frame.esr, frame.hpfar, frame.far, frame.spsr);
//   if (!d.ok()) { log once; inject_external_abort(...); return; }   // ISV = 0, CM, S1PTW ...
//   if (d.access.write) emulate_write(d.access.ipa, d.access.size, vcpu::read_source(frame, d.access));
//   else vcpu::complete_load(frame, d.access, emulate_read(d.access.ipa, d.access.size));
//   vcpu::advance(frame);
//
// Only ISV = 1 syndromes describe the instruction (single-register loads and
// stores without writeback: Linux's readl/writel); load/store pair,
// post-/pre-indexed and SIMD accesses give ISV = 0 and cannot be emulated.
//
// From AArch32 (the guest's EL0 only, so User mode) SRT is the AArch64 view
// of the register (Arm ARM D1.8.1, "Mapping of the general-purpose
// registers"): R0-R14 of User mode are X0-X14, and there is no zero register.
// The register is 32 bits (SF = 0): a load writes W<SRT>.
#pragma once

#include "passage/types.h"
#include "passage/vcpu/trap_frame.h"

namespace passage::vcpu {

constexpr u8 kZeroRegister = 31;  // SRT = 31: XZR/WZR (never SP for a load/store transfer register)

struct MmioAccess {
    u64 ipa = 0;             // the faulting IPA, byte-exact (HPFAR page | FAR[11:0])
    u8 size = 0;             // bytes: 1, 2, 4 or 8
    bool write = false;      // WnR
    u8 reg = 0;              // SRT: transfer register, 31 = zero register
    bool sign_extend = false;  // SSE (loads only)
    bool dest64 = false;     // SF: the register is Xn (else Wn, upper half zeroed)
};

enum class MmioDecodeError : u8 {
    None,
    NotDataAbort,     // EC is not 0x24 (data abort from a lower EL)
    NoSyndrome,       // ISV = 0: the instruction is not described (load pair, writeback, SIMD)
    CacheMaintenance, // CM = 1: a cache maintenance or address translation instruction
    Stage1Walk,       // S1PTW = 1: the guest's own table walk faulted at stage 2
    FarNotValid,      // FnV = 1: no faulting address
    Aarch32Register,  // from AArch32, SRT is no User-mode R0-R14, or a doubleword
};

const char* mmio_decode_error_name(MmioDecodeError e);

struct MmioDecode {
    MmioDecodeError error = MmioDecodeError::None;
    MmioAccess access;
    constexpr bool ok() const { return error == MmioDecodeError::None; }
};

// Decodes ESR_EL2, HPFAR_EL2 and FAR_EL2 of a stage-2 data abort taken from
// the guest state in `spsr` (SPSR_EL2: AArch64, or AArch32 EL0). access.ipa
// is filled whatever the error (HPFAR's page; FAR's offset, which FnV = 1
// makes meaningless), so the trap path decodes once for every handler.
MmioDecode decode_mmio(u64 esr, u64 hpfar, u64 far, u64 spsr);

// The faulting IPA of a stage-2 abort, byte-exact: HPFAR_EL2.FIPA's page and
// FAR_EL2's offset within it.
u64 fault_ipa(u64 hpfar, u64 far);

// The value a store writes, masked to its size (the zero register reads 0).
u64 read_source(const TrapFrame& frame, const MmioAccess& a);

// Writes a load's result into its register: sign- or zero-extended per SSE
// to 64 bits (SF = 1) or 32 bits with the upper half cleared (SF = 0). A load
// into the zero register is discarded.
void complete_load(TrapFrame& frame, const MmioAccess& a, u64 value);

// Steps ELR past the emulated instruction: 4 bytes when ESR.IL = 1, else 2
// (a 16-bit T32 instruction). From AArch32, ELR stays a 32-bit address and
// the IT state moves on as the instruction would have moved it.
void advance(TrapFrame& frame);

}  // namespace passage::vcpu
