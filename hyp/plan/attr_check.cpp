#include "passage/plan/attr_check.h"

namespace passage::plan {

using stage2::MemType;

u8 mair_attr(MemType t)
{
    switch (t) {
    case MemType::DeviceNGnRnE: return kAttrDeviceNGnRnE;
    case MemType::DeviceNGnRE: return kAttrDeviceNGnRE;
    case MemType::NormalNC: return kAttrNormalNC;
    case MemType::NormalWB: return kAttrNormalWB;
    }
    return kAttrDeviceNGnRnE;
}

namespace {

bool is_device(MemType t) { return t == MemType::DeviceNGnRE || t == MemType::DeviceNGnRnE; }

// Without FWB the more restrictive wins: Device over Normal, the stricter
// Device kind, NC over WB.
MemType stricter(MemType a, MemType b)
{
    auto rank = [](MemType t) {
        switch (t) {
        case MemType::DeviceNGnRnE: return 0;
        case MemType::DeviceNGnRE: return 1;
        case MemType::NormalNC: return 2;
        case MemType::NormalWB: return 3;
        }
        return 0;
    };
    return rank(a) <= rank(b) ? a : b;
}

}  // namespace

u8 expected_combined(MemType s1, MemType s2, stage2::Encoding enc)
{
    if (!enc.fwb) return mair_attr(stricter(s1, s2));
    // FWB: a Device stage 2 forces that Device type; Normal-NC (0b101) lets
    // a Device stage 1 stand and makes anything Normal non-cacheable; guest
    // RAM is forced write-back (0b110) or the stage-1 type (0b111).
    if (is_device(s2)) return mair_attr(s2);
    if (s2 == MemType::NormalNC) return is_device(s1) ? mair_attr(s1) : kAttrNormalNC;
    if (enc.ram == stage2::FwbRam::ForceWriteBack) return kAttrNormalWB;
    return mair_attr(s1);
}

usize pick_samples(const GuestPlan& plan, const GuestRegion** out, usize max)
{
    // The first region of each (class, stage-2 type) pair: every kind of
    // mapping the plan makes is checked once.
    bool seen[8][4] = {};
    usize n = 0;
    for (usize i = 0; i < plan.count && n < max; ++i) {
        auto c = static_cast<usize>(plan.regions[i].cls);
        auto t = static_cast<usize>(plan.regions[i].attrs.type);
        if (c >= 8 || t >= 4 || seen[c][t]) continue;
        seen[c][t] = true;
        out[n++] = &plan.regions[i];
    }
    return n;
}

}  // namespace passage::plan
