// What the hardware must report for a guest access, combining the guest's
// stage-1 memory type with passage's stage-2 one (Arm ARM D8.5.5 and, with
// FEAT_S2FWB, D8.5.6), in PAR_EL1.ATTR's MAIR encoding. The boot self-test
// compares AT S12E1R results against this.
#pragma once

#include "passage/plan/address_plan.h"

namespace passage::plan {

// MAIR-format attribute bytes.
constexpr u8 kAttrDeviceNGnRnE = 0x00;
constexpr u8 kAttrDeviceNGnRE = 0x04;
constexpr u8 kAttrNormalNC = 0x44;
constexpr u8 kAttrNormalWB = 0xff;

// The three stage-1 types the self-test maps each sample with.
constexpr stage2::MemType kStage1Types[3] = {stage2::MemType::DeviceNGnRE, stage2::MemType::NormalNC,
                                             stage2::MemType::NormalWB};

u8 mair_attr(stage2::MemType t);

// The combined attribute for stage 1 `s1` over stage 2 `s2` under `enc`.
u8 expected_combined(stage2::MemType s1, stage2::MemType s2, stage2::Encoding enc);

// One region for each (class, stage-2 type) pair present in the plan, for
// the self-test, which checks its first page. Returns how many.
usize pick_samples(const GuestPlan& plan, const GuestRegion** out, usize max);

}  // namespace passage::plan
