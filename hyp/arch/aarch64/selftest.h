// The boot self-test: proves with AT S12E1R that the hardware combines the
// guest's stage-1 types with passage's stage-2 types as the policy intends.
#pragma once

#include "passage/plan/address_plan.h"

namespace passage::arch {

// Needs HCR_EL2.VM and the guest's VTTBR/VTCR installed on this CPU, and
// `scratch` (64 KiB or more, page aligned) inside guest RAM: it writes
// stage-1 tables into the first pages and zeroes them again (the rest it
// leaves alone). Returns false, after printing why, on any mismatch.
bool run_attr_selftest(const plan::GuestPlan& plan, stage2::Encoding enc, MemRange scratch);

}  // namespace passage::arch
