// passage and the SMMUv3s (issue 13): take-over at boot, the stream table
// pointing every assigned function's StreamIDs at the guest's stage 2,
// invalidation after stage-2 changes, and the event queue drained into
// the log. The portable driver is drivers/iommu; this is its EL2 wiring.
#pragma once

#include "passage/guest/guest.h"
#include "passage/pci/device_table.h"
#include "passage/pci/disposition.h"
#include "passage/platform.h"

namespace passage {

// First thing at boot, before PCI enumeration: every SMMUv3's global
// bypass set to abort and its features read. Says in the log what each
// can do.
// enabled false (passage.smmu=off) leaves every SMMU as firmware left it
// (for measurements and for proving the DMA checks can fail);
// force_two_level (passage.smmu_2level) takes the two-level stream-table
// path on a machine small enough for a linear one.
void smmu_takeover(const Platform& p, bool enabled, bool force_two_level);

// True when an SMMU with stage 2 was taken over: it will walk the guest's
// stage-2 table too.
bool smmu_will_walk();

// True when every SMMU that translates for the guest has IDR3.FWB (or
// there is none): only then may the CPU use FWB encodings in the shared table.
bool smmu_allows_fwb();

// Once the guest's stage 2 exists: tables, queues, and a stage-2 STE for
// every StreamID (aliases included) of a function the guest owns; the rest
// abort. Then SMMUEN. An SMMU that cannot is left aborting, and the log
// says what that means.
void smmu_start(const Platform& p, const pci::DeviceTable& table, const pci::Dispositions& disp,
                const SmmuContext& guest);

// True when an SMMU that may walk the guest's stage 2 does not snoop the
// CPU's caches (no dma-coherent): table writes must then be cleaned to the
// point of coherency, from before its STEs go live.
bool smmu_needs_clean(const Platform& p);

// The DMA groups the dispositions hide together (functions below switch
// ports without ACS isolation), from each function's ACS capability read
// through its ECAM; sets options.dma_group.
void smmu_dma_groups(const Platform& p, const pci::DeviceTable& table, pci::DispositionOptions& options);

// For passage.dma_selftest=on: every hidden QEMU edu (1234:11e8) is made, by
// passage itself, to copy a page of passage's into its buffer and back out
// over another page of passage's; its StreamID aborts, so the target must
// stay as it was. One log line per device, PASS or FAIL.
void smmu_dma_selftest(const Platform& p, const pci::DeviceTable& table, const pci::Dispositions& disp);

// SMMU invalidation after a change to the stage 2 of the guest with this
// VMID, then CMD_SYNC (bounded): one IPA (leaf = false when a table was
// removed), or the whole VMID.
void smmu_invalidate_ipa(u16 vmid, u64 ipa, bool leaf);
void smmu_invalidate_all(u16 vmid);

// True once smmu_start turned an SMMU on: only then has smmu_poll work.
bool smmu_enabled();

// Drains every event queue into the log (rate limited); cheap when no
// SMMU is on. Called on each trap into passage.
void smmu_poll();

// The end-of-guest line: faults seen, not logged, lost.
void smmu_report_end();

}  // namespace passage
