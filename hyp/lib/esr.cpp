#include "passage/esr.h"

#include "passage/format.h"

namespace passage::esr {

const char* class_name(u32 ec)
{
    switch (ec) {
    case kEcUnknown: return "unknown reason (undefined instruction)";
    case kEcWfx: return "WFI/WFE";
    case kEcFpAccess: return "FP/SIMD access trapped";
    case kEcIllegalState: return "illegal execution state";
    case kEcSvc64: return "SVC (AArch64)";
    case kEcHvc64: return "HVC (AArch64)";
    case kEcSmc64: return "SMC (AArch64)";
    case kEcSysReg: return "MSR/MRS/system instruction trapped";
    case kEcInstAbortLower: return "instruction abort from a lower EL";
    case kEcInstAbortSame: return "instruction abort (same EL)";
    case kEcPcAlign: return "PC alignment fault";
    case kEcDataAbortLower: return "data abort from a lower EL";
    case kEcDataAbortSame: return "data abort (same EL)";
    case kEcSpAlign: return "SP alignment fault";
    case kEcSError: return "SError";
    case kEcBrk: return "BRK instruction";
    default: return "other exception class";
    }
}

const char* fault_status_name(u32 fsc)
{
    switch (fsc & 0x3c) {
    case 0x00: return "address size fault";
    case 0x04: return "translation fault";
    case 0x08: return "access flag fault";
    case 0x0c: return "permission fault";
    default: break;
    }
    switch (fsc) {
    case 0x10: return "synchronous external abort";
    case 0x21: return "alignment fault";
    case 0x30: return "TLB conflict abort";
    default: return "other fault";
    }
}

void describe(u64 esr, char* buf, usize size)
{
    u32 ec = u32(EC::get(esr));
    bool abort = ec == kEcDataAbortLower || ec == kEcDataAbortSame || ec == kEcInstAbortLower || ec == kEcInstAbortSame;
    if (!abort) {
        format(buf, size, "EC 0x%02x %s, ISS 0x%07llx", ec, class_name(ec), static_cast<unsigned long long>(ISS::get(esr)));
        return;
    }
    u32 fsc = u32(xFSC::get(esr));
    bool has_level = fsc < 0x10;
    bool data = ec == kEcDataAbortLower || ec == kEcDataAbortSame;
    char level[12] = "";
    if (has_level) format(level, sizeof level, " level %u", fsc & 3);
    if (!data) {
        format(buf, size, "EC 0x%02x %s: %s%s (FSC 0x%02x)", ec, class_name(ec), fault_status_name(fsc), level, fsc);
        return;
    }
    format(buf, size, "EC 0x%02x %s: %s%s (DFSC 0x%02x), %s, ISV %u SAS %u SRT %u%s%s", ec, class_name(ec),
           fault_status_name(fsc), level, fsc, WnR::get(esr) ? "write" : "read", unsigned(ISV::get(esr)),
           unsigned(SAS::get(esr)), unsigned(SRT::get(esr)), CM::get(esr) ? " CM" : "", S1PTW::get(esr) ? " S1PTW" : "");
}

}  // namespace passage::esr
