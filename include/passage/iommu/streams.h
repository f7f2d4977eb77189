// Which StreamIDs each PCI function's DMA arrives with, and what each
// StreamID's STE must be: the link between PCI enumeration, the
// dispositions and the SMMU's stream table.
#pragma once

#include <span>

#include "passage/diagnostic.h"
#include "passage/platform.h"
#include "passage/pci/device_table.h"
#include "passage/pci/disposition.h"

namespace passage::iommu {

// The requester IDs a function's DMA may carry, as Linux's
// pci_for_each_dma_alias walks them: its own, then for each bridge above
// it a PCIe-to-PCI bridge's (secondary bus, 00.0), a PCI-to-PCIe bridge's
// own RID or a conventional PCI bridge's own RID (it takes ownership of
// the transaction); PCIe root and switch ports add none. Returns the count
// (duplicates removed, at most kMaxDmaRids).
constexpr usize kMaxDmaRids = 8;
usize dma_requester_ids(const pci::DeviceTable& table, usize index, u16 (&out)[kMaxDmaRids]);

// DMA groups from ACS (the idea of Linux's pci_device_group, simplified):
// below a switch, every downstream port whose ACS capability lacks one of
// Source Validation, Request Redirect, Completion Redirect and Upstream
// Forwarding lets the functions below it reach those below its sibling
// ports of the same kind without going upstream, so all of them form one
// group (id: the upstream port's index + 1). acs_caps[i] is function i's
// ACS capability register (0 without the capability). out[i] = 0: alone.
void acs_dma_groups(const pci::DeviceTable& table, std::span<const u16> acs_caps, std::span<u16> out);

// One StreamID in use: the SMMU and its StreamID, the function that emits
// it (index in the device table) and whether the guest owns that function.
struct StreamUse {
    u8 smmu = 0;
    u32 sid = 0;
    u16 rid = 0;
    usize function = 0;
    bool assigned = false;
};

struct StreamPlan {
    static constexpr usize kMax = 256;
    StreamUse uses[kMax];
    usize count = 0;
    usize unconfined = 0;   // visible functions with a RID no SMMUv3 translates
    usize dropped = 0;      // uses beyond kMax (their STEs stay aborting)
    u32 max_sid[Platform::kMaxSmmus] = {};
    bool any[Platform::kMaxSmmus] = {};
};

// Every function's StreamIDs through its host bridge's iommu-map. Warns
// (log) about a visible function whose DMA no SMMUv3 sees, and about a
// hidden function that shares a StreamID with an assigned one (it can then
// reach the guest's memory, never passage's).
void plan_streams(const Platform& p, const pci::DeviceTable& table, const pci::Dispositions& disp, StreamPlan& out);

}  // namespace passage::iommu
