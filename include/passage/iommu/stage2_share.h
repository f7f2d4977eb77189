// Whether an SMMU can walk the guest's stage-2 table as the CPU built it,
// and the words for its global errors. Decided here, portable, so the
// rules are host-tested; boot/ only logs what these say.
#pragma once

#include "passage/iommu/smmuv3_driver.h"

namespace passage::iommu {

// What the CPU's stage 2 asks of an SMMU that shares it.
struct SharedStage2 {
    unsigned ipa_bits = 0;  // the guest's IPA size (64 - VTCR_EL2.T0SZ)
    bool fwb = false;       // the table uses FEAT_S2FWB encodings
    u16 vmid = 0;           // the guest's VMID, as VTTBR_EL2 holds it
};

// True when every STE this SMMU would get for the guest is legal and
// walks the table as the CPU does: the IPA fits its output size, FWB
// encodings only with IDR3.FWB, and a VMID above 255 only with
// IDR0.VMID16 (IHI 0070: S2VMID[15:8] != 0 is ILLEGAL without it).
// Otherwise `why` names each reason.
bool can_share_stage2(const SmmuFeatures& f, const SharedStage2& s2, char* why, usize size);

// GERROR bits by name ("SFM_ERR, CMDQ_ERR"), unknown bits in hex.
void describe_global_errors(u32 bits, char* out, usize size);

}  // namespace passage::iommu
