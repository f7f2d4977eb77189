// SMMUv3 discovery and the host bridges' iommu-map, for discover.cpp.
#pragma once

#include "passage/diagnostic.h"
#include "passage/fdt/index.h"
#include "passage/platform.h"

namespace passage {

// Every enabled arm,smmu-v3 node, in tree order, into p.smmus.
Status discover_smmus(const fdt::TreeIndex& t, Platform& p, Diagnostic& diag);

// The iommu-map / iommu-map-mask of host bridge `node` into b (after
// discover_smmus). A malformed, overlapping or dangling map is refused with
// a message naming the bridge.
Status discover_iommu_map(const fdt::TreeIndex& t, int node, const Platform& p, PciHostBridge& b, Diagnostic& diag);

}  // namespace passage
