// Stage-2 abort routing by IPA. See passage/vcpu/abort_routes.h.
#include "passage/vcpu/abort_routes.h"

namespace passage::vcpu {

bool AbortRoutes::add(u64 base, u64 size, u8 owner)
{
    if (count_ == kMax || size == 0 || owner == kNone || base + size - 1 < base) return false;
    routes_[count_++] = {base, size, owner};
    return true;
}

bool AbortRoutes::extend_last(u64 base, u64 size, u8 owner, u64 gap)
{
    if (count_ == 0 || size == 0 || base + size - 1 < base) return false;
    Route& r = routes_[count_ - 1];
    u64 end = r.base + r.size;
    if (r.owner != owner || base < end || base - end > gap) return false;
    r.size = base + size - r.base;
    return true;
}

}  // namespace passage::vcpu
