// Stage-2 geometry from the hardware: IPA size, start level, concatenated
// first-level tables and the VTCR_EL2 value, for the 4 KiB granule.
//
// Arm ARM D8.2 (translation table walk, concatenated tables) and the
// VTCR_EL2 / ID_AA64MMFR{0,1,2}_EL1 register descriptions.
#pragma once

#include "passage/bits.h"
#include "passage/result.h"
#include "passage/tcr_fields.h"
#include "passage/types.h"

namespace passage::stage2 {

// ID register fields used here.
using MmfrPARange = Field<3, 0>;   // ID_AA64MMFR0_EL1.PARange
using MmfrVMIDBits = Field<7, 4>;  // ID_AA64MMFR1_EL1.VMIDBits: 0b0010 = 16 bits
using MmfrFWB = Field<43, 40>;     // ID_AA64MMFR2_EL1.FWB: 0b0001 = FEAT_S2FWB

// VTCR_EL2 fields of its own; the rest it shares with TCR_EL2 (tcr::).
using VtcrSL0 = Field<7, 6>;
using VtcrVS = Bit<19>;
using VtcrRes1 = Bit<31>;

// VTTBR_EL2 fields.
using VttbrBaddr = Field<47, 1>;
using VttbrVmid = Field<63, 48>;

constexpr unsigned kMinIpaBits = 32;
constexpr unsigned kMaxIpaBits = 48;  // no 52-bit (LPA/LPA2) support
constexpr unsigned kMaxConcat = 16;

// What the CPU offers, decoded from its ID registers.
struct CpuFeatures {
    u8 pa_range = 0;     // raw PARange
    bool vmid16 = false; // 16-bit VMIDs
    bool s2fwb = false;  // FEAT_S2FWB

    static CpuFeatures from_id_regs(u64 mmfr0, u64 mmfr1, u64 mmfr2);
};

// PA size in bits for a raw PARange value, clamped to 48 (PS supports up
// to 0b101 without LPA); 0 for a reserved value.
unsigned pa_range_bits(u8 pa_range);

struct Geometry {
    unsigned ipa_bits = 0;     // guest IPA space is [0, 2^ipa_bits)
    unsigned pa_bits = 0;      // output addresses must lie below 2^pa_bits
    unsigned start_level = 0;  // 0, 1 or 2
    unsigned concat = 1;       // concatenated first-level tables (1 to 16)
    usize root_entries = 0;    // entries in the (concatenated) first-level table
    u64 vtcr = 0;              // the VTCR_EL2 value

    constexpr u64 ipa_limit() const { return u64{1} << ipa_bits; }
    constexpr u64 pa_limit() const { return u64{1} << pa_bits; }
    // Bytes of the first-level table; it must be aligned to this.
    constexpr u64 root_bytes() const { return u64{concat} * kPageSize; }
};

// Chooses the IPA size as min(requested, PA size) for requested in 32..48,
// and the shortest walk the architecture allows for it (up to 16
// concatenated first-level tables). With `single_root`, the shortest walk
// whose first level is one table, where the CPU allows it (a level-0 start
// needs a PA size of 44 bits or more): for a second walker of the same
// table that mishandles concatenation (QEMU 10.0's SMMUv3 model reads every
// first-level entry from the first of the concatenated tables).
Result<Geometry> make_geometry(const CpuFeatures& cpu, unsigned requested_ipa_bits, bool single_root = false);

// VTTBR_EL2 for a first-level table and a VMID.
constexpr u64 make_vttbr(PhysAddr root, u16 vmid)
{
    return (root.value & VttbrBaddr::kMask) | VttbrVmid::make(vmid);
}

}  // namespace passage::stage2
