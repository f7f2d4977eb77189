// How stage 2 encodes guest RAM: under FEAT_S2FWB it is forced write-back
// only when every DMA master the device tree shows is cache-coherent
// (issue 14 n); otherwise the guest's own non-cacheable buffers must stand.
#pragma once

#include "passage/platform.h"
#include "passage/stage2/descriptor.h"

namespace passage::plan {

// The encoding for a CPU with (fwb) or without FEAT_S2FWB; says why in the log.
stage2::Encoding choose_ram_encoding(const Platform& p, bool fwb);

}  // namespace passage::plan
