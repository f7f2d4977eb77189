#include "passage/plan/ram_encoding.h"

#include "passage/log.h"

namespace passage::plan {

stage2::Encoding choose_ram_encoding(const Platform& p, bool fwb)
{
    if (!fwb) {
        log_info("FWB: not implemented by this CPU; guest RAM as the guest maps it");
        return stage2::kNoFwb;
    }
    if (p.dma.noncoherent > 0) {
        log_info("FWB: guest RAM as the guest maps it: %zu of %zu DMA masters not dma-coherent, first %s", p.dma.noncoherent,
                 p.dma.count, p.dma.first_noncoherent);
        return stage2::kFwbGuestChoice;
    }
    log_info("FWB: guest RAM forced write-back: all %zu DMA masters are dma-coherent", p.dma.count);
    return stage2::kFwbForceWb;
}

}  // namespace passage::plan
