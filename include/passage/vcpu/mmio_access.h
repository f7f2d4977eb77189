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

#include "passage/esr.h"
#include "passage/types.h"
#include "passage/vcpu/aarch32.h"
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

// The faulting IPA of a stage-2 abort, byte-exact: HPFAR_EL2.FIPA's page and
// FAR_EL2's offset within it.
inline u64 fault_ipa(u64 hpfar, u64 far) { return (hpfar >> 4 & ((u64{1} << 40) - 1)) << 12 | (far & 0xfff); }

// Every case decode_mmio's inline test does not take (mmio_access.cpp).
MmioDecode decode_mmio_checked(u64 esr, u64 hpfar, u64 far, u64 spsr);

// Decodes ESR_EL2, HPFAR_EL2 and FAR_EL2 of a stage-2 data abort taken from
// the guest state in `spsr` (SPSR_EL2: AArch64, or AArch32 EL0). access.ipa
// is filled whatever the error (HPFAR's page; FAR's offset, which FnV = 1
// makes meaningless), so the trap path decodes once for every handler.
// Inline: every emulated access runs it (vpci_cfg_read_insns).
inline MmioDecode decode_mmio(u64 esr, u64 hpfar, u64 far, u64 spsr)
{
    // The usual abort in one test: a data abort from a lower EL with ISV = 1
    // and FnV, CM and S1PTW clear, from AArch64.
    constexpr u64 kMask = esr::EC::kMask | esr::ISV::kMask | u64{1} << 10 | esr::CM::kMask | esr::S1PTW::kMask;
    constexpr u64 kWant = esr::EC::make(esr::kEcDataAbortLower) | esr::ISV::kMask;
    if ((esr & kMask) != kWant || from_aarch32(spsr)) return decode_mmio_checked(esr, hpfar, far, spsr);
    MmioDecode d;
    MmioAccess& a = d.access;
    a.ipa = fault_ipa(hpfar, far);
    a.size = u8(1u << esr::SAS::get(esr));
    a.write = esr::WnR::get(esr) != 0;
    a.reg = u8(esr::SRT::get(esr));
    a.sign_extend = !a.write && esr::SSE::get(esr) != 0;
    a.dest64 = esr::SF::get(esr) != 0;
    return d;
}

// Bytes 0 to size - 1 set.
constexpr u64 mmio_size_mask(unsigned bytes) { return bytes >= 8 ? ~u64{0} : (u64{1} << (8 * bytes)) - 1; }

// The value a store writes, masked to its size (the zero register reads 0).
inline u64 read_source(const TrapFrame& frame, const MmioAccess& a)
{
    if (a.reg == kZeroRegister) return 0;
    return frame.x[a.reg] & mmio_size_mask(a.size);
}

// Writes a load's result into its register: sign- or zero-extended per SSE
// to 64 bits (SF = 1) or 32 bits with the upper half cleared (SF = 0). A load
// into the zero register is discarded.
inline void complete_load(TrapFrame& frame, const MmioAccess& a, u64 value)
{
    if (a.reg == kZeroRegister) return;
    unsigned bits = 8u * a.size;
    u64 v = value & mmio_size_mask(a.size);
    if (a.sign_extend && bits < 64 && (v >> (bits - 1) & 1) != 0) v |= ~mmio_size_mask(a.size);
    if (!a.dest64) v &= 0xffffffffu;
    frame.x[a.reg] = v;
}

// complete_load for a value already zero-extended from the access's size
// (at most 4 bytes, the way a config read returns it): a zero-extending
// load then writes it as it is, whatever SF says (vpci_cfg_read_insns).
inline void complete_narrow_load(TrapFrame& frame, const MmioAccess& a, u32 value)
{
    if (a.sign_extend) return complete_load(frame, a, value);
    if (a.reg != kZeroRegister) frame.x[a.reg] = value;
}

// The transfer register of the commonest emulated access, a zero-extending
// 32-bit load from AArch64 with a full syndrome (Linux's readl, a config
// read), or -1 for any other abort: the trap path answers it without
// decoding the rest (vpci_cfg_read_insns). 31 is the zero register.
inline int plain_word_load_register(u64 esr, u64 spsr)
{
    constexpr u64 kMask = esr::EC::kMask | esr::IL::kMask | esr::ISV::kMask | esr::SAS::kMask | esr::SSE::kMask |
                          u64{1} << 10 | esr::CM::kMask | esr::S1PTW::kMask | esr::WnR::kMask;
    constexpr u64 kWant = esr::EC::make(esr::kEcDataAbortLower) | esr::IL::kMask | esr::ISV::kMask | esr::SAS::make(2);
    if ((esr & kMask) != kWant || from_aarch32(spsr)) return -1;
    return int(esr::SRT::get(esr));
}

// The registers the trap path's first, cheap frame holds (vectors.S,
// guest_abort): x0-x18 and x30, the ones a C++ call may clobber, which
// must be saved anyway. x19-x29 stay in the CPU then, so a load into one of
// them takes the full path. The zero register needs no slot.
inline constexpr bool in_fast_frame(int reg) { return (reg >= 0 && reg <= 18) || reg == 30 || reg == kZeroRegister; }

// Completes the load plain_word_load_register found: what complete_load and
// advance do for it, without looking at the syndrome again.
inline void finish_word_load(TrapFrame& frame, int reg, u32 value)
{
    if (reg != kZeroRegister) frame.x[reg] = value;
    frame.elr += 4;
}

// Steps ELR past the emulated instruction: 4 bytes when ESR.IL = 1, else 2
// (a 16-bit T32 instruction). From AArch32, ELR stays a 32-bit address and
// the IT state moves on as the instruction would have moved it.
inline void advance(TrapFrame& frame)
{
    frame.elr += esr::IL::get(frame.esr) != 0 ? 4 : 2;
    if (from_aarch32(frame.spsr)) {
        frame.elr &= 0xffffffffu;
        frame.spsr = it_advance(frame.spsr);
    }
}

}  // namespace passage::vcpu
