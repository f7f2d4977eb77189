// The GICv3's table-address registers, trapped (issue 13): the GIC reads
// and writes memory at addresses the guest programs, and no SMMU stands in
// its way. The redistributors' RD_base frames and the ITS control frames
// are left out of the guest's stage 2; every access to them is forwarded,
// except a table address (GICR_PROPBASER/PENDBASER, GITS_CBASER/BASER<n>)
// that would make the GIC touch anything but guest RAM, and an enable
// (GICR_CTLR.EnableLPIs, GITS_CTLR.Enabled) while one is set so. The hot
// SGI/PPI frames and GITS_TRANSLATER stay mapped.
#pragma once

#include "el2_guest.h"
#include "passage/plan/address_plan.h"
#include "passage/vcpu/trap_frame.h"
#include "passage/vcpu/trap_handlers.h"

namespace passage {

// Finds the frames (reading GICR_TYPER) and takes them out of the plan.
// GICv3 only; nothing on a GICv2.
void gic_tables_prepare(const Platform& p, plan::GuestPlan& plan);

// A stage-2 data abort: Resume when it hit one of those frames and was
// handled (forwarded, or refused and logged); NotMine otherwise.
// The context is the El2Guest: its RAM is where the tables may go.
vcpu::AbortOutcome gic_tables_handle_abort(void* guest, TrapFrame& f, const vcpu::MmioDecode& abort);

// Gives the trapped frames' IPAs to handler `owner` (after
// gic_tables_prepare); panics when the table is full.
void gic_tables_routes(vcpu::AbortRoutes& routes, u8 owner);

}  // namespace passage
