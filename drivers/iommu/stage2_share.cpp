#include "passage/iommu/stage2_share.h"

#include "passage/format.h"

namespace passage::iommu {
namespace {

// Appends ", text" (or "text" first) within size.
void append(char* out, usize size, usize& at, const char* text)
{
    if (at >= size) return;
    at += format(out + at, size - at, "%s%s", at == 0 ? "" : ", ", text);
}

}  // namespace

bool can_share_stage2(const SmmuFeatures& f, const SharedStage2& s2, char* why, usize size)
{
    if (size > 0) why[0] = '\0';
    usize at = 0;
    char text[96];
    const unsigned oas = reg::oas_bits(f.oas);
    if (s2.ipa_bits > oas) {
        format(text, sizeof text, "the %u-bit stage 2 does not fit its %u-bit input", s2.ipa_bits, oas);
        append(why, size, at, text);
    }
    if (s2.fwb && !f.fwb) append(why, size, at, "the stage 2 uses FWB and it has no IDR3.FWB");
    if (s2.vmid > 0xff && !f.vmid16) {
        format(text, sizeof text, "VMID %u needs 16-bit VMIDs and it has no IDR0.VMID16", s2.vmid);
        append(why, size, at, text);
    }
    return at == 0;
}

void describe_global_errors(u32 bits, char* out, usize size)
{
    // SMMU_GERROR, IHI 0070 6.3.16: bit 1 is reserved.
    static constexpr const char* kNames[] = {"CMDQ_ERR",         nullptr,           "EVENTQ_ABT_ERR",
                                             "PRIQ_ABT_ERR",     "MSI_CMDQ_ABT_ERR", "MSI_EVENTQ_ABT_ERR",
                                             "MSI_PRIQ_ABT_ERR", "MSI_GERROR_ABT_ERR", "SFM_ERR"};
    if (size > 0) out[0] = '\0';
    usize at = 0;
    u32 unknown = bits;
    for (u32 b = sizeof kNames / sizeof kNames[0]; b-- > 0;) {  // SFM_ERR, the gravest, first
        if (kNames[b] == nullptr || ((bits >> b) & 1) == 0) continue;
        append(out, size, at, kNames[b]);
        unknown &= ~(u32{1} << b);
    }
    if (unknown != 0) {
        char text[32];
        format(text, sizeof text, "bits 0x%x", unknown);
        append(out, size, at, text);
    }
}

}  // namespace passage::iommu
