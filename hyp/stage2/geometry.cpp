#include "passage/stage2/geometry.h"

#include "passage/stage2/descriptor.h"

namespace passage::stage2 {

CpuFeatures CpuFeatures::from_id_regs(u64 mmfr0, u64 mmfr1, u64 mmfr2)
{
    CpuFeatures f;
    f.pa_range = static_cast<u8>(MmfrPARange::get(mmfr0));
    f.vmid16 = MmfrVMIDBits::get(mmfr1) == 0b0010;
    f.s2fwb = MmfrFWB::get(mmfr2) >= 0b0001;
    return f;
}

unsigned pa_range_bits(u8 pa_range)
{
    switch (pa_range) {
    case 0b0000: return 32;
    case 0b0001: return 36;
    case 0b0010: return 40;
    case 0b0011: return 42;
    case 0b0100: return 44;
    case 0b0101: return 48;
    case 0b0110: return 48;  // 52 bits, clamped: 52-bit OAs need FEAT_LPA/LPA2
    case 0b0111: return 48;  // 56 bits (FEAT_D128), clamped likewise
    default: return 0;
    }
}

namespace {

// VTCR_EL2.PS for a PA size in bits (the PARange encoding, up to 48 bits).
u64 ps_for_bits(unsigned bits)
{
    switch (bits) {
    case 32: return 0b000;
    case 36: return 0b001;
    case 40: return 0b010;
    case 42: return 0b011;
    case 44: return 0b100;
    default: return 0b101;
    }
}

// SL0 for the 4 KiB granule: 0b00 level 2, 0b01 level 1, 0b10 level 0.
u64 sl0_for_level(unsigned level) { return 2 - level; }

}  // namespace

Result<Geometry> make_geometry(const CpuFeatures& cpu, unsigned requested_ipa_bits, bool single_root)
{
    if (requested_ipa_bits < kMinIpaBits || requested_ipa_bits > kMaxIpaBits)
        return Failure{Error::InvalidArgument, requested_ipa_bits};
    unsigned pa_bits = pa_range_bits(cpu.pa_range);
    if (pa_bits == 0) return Failure{Error::Unsupported, cpu.pa_range};

    Geometry g;
    g.pa_bits = pa_bits;
    // An IPA space wider than the PA space is not supported by stage 2.
    g.ipa_bits = requested_ipa_bits < pa_bits ? requested_ipa_bits : pa_bits;

    // The shortest walk: the deepest start level whose first lookup
    // resolves at most 9 + 4 bits (one table, or up to 16 concatenated).
    // Level 0 covers up to 48 bits without concatenation.
    g.start_level = 0;
    const bool level0_allowed = pa_bits >= 44;  // SL0 = 0b10 with a 4 KiB granule
    const unsigned extra = single_root && level0_allowed ? 9 : 13;
    for (unsigned level = 2; level >= 1; --level) {
        if (g.ipa_bits <= level_shift(level) + extra) {
            g.start_level = level;
            break;
        }
    }
    unsigned root_bits = g.ipa_bits - level_shift(g.start_level);
    g.root_entries = usize{1} << root_bits;
    g.concat = root_bits > 9 ? 1u << (root_bits - 9) : 1u;

    g.vtcr = tcr::T0SZ::make(64 - g.ipa_bits) | VtcrSL0::make(sl0_for_level(g.start_level)) |
             tcr::IRGN0::make(tcr::kWriteBack) | tcr::ORGN0::make(tcr::kWriteBack) |
             tcr::SH0::make(tcr::kInnerShare) | tcr::TG0::make(tcr::kGranule4K) | tcr::PS::make(ps_for_bits(pa_bits)) |
             VtcrVS::make(cpu.vmid16 ? 1 : 0) | VtcrRes1::make(1);
    return g;
}

}  // namespace passage::stage2
