// Event records decoded. See passage/iommu/smmuv3.h.
#include "passage/iommu/smmuv3.h"

namespace passage::iommu {

Event decode_event(const u64 (&rec)[4])
{
    namespace e = reg::evt;
    Event ev;
    ev.type = u8(e::Type::get(rec[0]));
    ev.sid = u32(e::Sid::get(rec[0]));
    ev.ssv = e::Ssv::get(rec[0]) != 0;
    ev.ssid = u32(e::Ssid::get(rec[0]));
    switch (ev.type) {
    case e::kFTranslation:
    case e::kFAddrSize:
    case e::kFAccess:
    case e::kFPermission:
        // Only these four carry an IPA in dword 3 (IHI 0070, chapter 7).
        ev.ipa = rec[3] & e::Ipa::kMask;
        [[fallthrough]];
    case e::kFWalkEabt:
        // dword 3 of F_WALK_EABT is the descriptor's fetch address, a PA.
        ev.stage2 = e::S2::get(rec[1]) != 0;
        [[fallthrough]];
    case e::kFUut:
    case e::kFTranslForbidden:
        // No S2 field in these two: bit 103 is reserved.
        ev.has_addr = true;
        ev.read = e::RnW::get(rec[1]) != 0;
        ev.input_addr = rec[2];
        break;
    default: break;
    }
    return ev;
}

const char* event_name(u8 type)
{
    namespace e = reg::evt;
    switch (type) {
    case e::kFUut: return "F_UUT";
    case e::kCBadStreamId: return "C_BAD_STREAMID";
    case e::kFSteFetch: return "F_STE_FETCH";
    case e::kCBadSte: return "C_BAD_STE";
    case e::kFStreamDisabled: return "F_STREAM_DISABLED";
    case e::kFTranslForbidden: return "F_TRANSL_FORBIDDEN";
    case e::kCBadSubstreamId: return "C_BAD_SUBSTREAMID";
    case e::kFCdFetch: return "F_CD_FETCH";
    case e::kCBadCd: return "C_BAD_CD";
    case e::kFWalkEabt: return "F_WALK_EABT";
    case e::kFTranslation: return "F_TRANSLATION";
    case e::kFAddrSize: return "F_ADDR_SIZE";
    case e::kFAccess: return "F_ACCESS";
    case e::kFPermission: return "F_PERMISSION";
    case e::kFTlbConflict: return "F_TLB_CONFLICT";
    case e::kFCfgConflict: return "F_CFG_CONFLICT";
    }
    return "unknown event";
}

}  // namespace passage::iommu
