// The guest's virtual config space (vconfig; passage.vpci is its user-facing
// name) at EL2: the ECAM and the PCI I/O window are not mapped into the guest; their accesses trap and
// drivers/pci/vconfig*.cpp answers them, and stage 2 follows the BARs and
// windows the guest programs.
#pragma once

#include "el2_guest.h"
#include "passage/pci/device_table.h"
#include "passage/pci/disposition.h"
#include "passage/vcpu/trap_frame.h"
#include "passage/vcpu/trap_handlers.h"

namespace passage {

// Whether config space will be virtual: asked for (passage.vpci is not
// off) and there is a host bridge. Decided before the dispositions (hiding needs it).
bool vconfig_wanted(const Platform& p, bool asked);

// Takes the ECAM and the PCI I/O window out of the guest's plan (before stage 2 is
// built) and remembers what no BAR may be mapped over. False when config
// space is direct (then the ECAM stays mapped, Device-nGnRnE, and the log
// says why).
bool vconfig_prepare(const Platform& p, El2Guest& guest, MemRange hyp, bool asked);

// After the guest's stage 2 is built from its plan: brings stage 2 to what
// the guest's fabric routes, drops what is no longer mapped from the plan,
// prints each function's disposition.
void vconfig_start(const Platform& p, pci::DeviceTable& table, El2Guest& guest);

// Whether the guest's config space is virtual (vconfig_prepare said yes).
bool vconfig_enabled(const El2Guest& guest);

// One line for the end of the guest: config accesses emulated, BAR moves
// followed, conflicts left unmapped, trapped accesses forwarded. Nothing
// when config space is direct.
void vconfig_report(El2Guest& guest);

// From the trap path: emulates a config access inside an ECAM, or forwards
// an access to a trapped BAR or the I/O window. Resume also when stage 2
// maps the address now (another CPU changed it meanwhile: the guest runs
// the access again); InjectQuietly for an access that is ours but cannot be
// emulated (ISV = 0, ...), logged here.
// A vcpu::TrapHandlers data-abort handler: guest is the El2Guest.
vcpu::AbortOutcome vconfig_handle_abort(void* guest, TrapFrame& frame, const vcpu::MmioDecode& abort);
// The vcpu::TrapHandlers word_read: a plain config read (one that passes
// to the hardware as it is), answered before vconfig_handle_abort is asked.
bool vconfig_read_word(void* guest, u64 ipa, u32& value);

// Gives the ECAMs and the host bridges' windows to handler `owner` (after
// vconfig_start; nothing when config space is direct). Panics when the
// table is full.
void vconfig_routes(const Platform& p, const El2Guest& guest, vcpu::AbortRoutes& routes, u8 owner);

// For an abort the caller reports: whether ipa hits a BAR the guest placed
// over something else (then why holds a line naming both).
bool vconfig_explain_abort(void* guest, u64 ipa, char* why, usize size);

}  // namespace passage
