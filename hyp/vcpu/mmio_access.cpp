#include "passage/vcpu/mmio_access.h"

#include "passage/bits.h"
#include "passage/esr.h"
#include "passage/vcpu/aarch32.h"

namespace passage::vcpu {
namespace {

using FnV = Bit<10>;            // ESR data abort ISS: FAR not valid

constexpr u64 kAarch32LastUserReg = 14;  // R14_usr is X14; X15 and up are other modes' banked registers

static_assert(mmio_size_mask(2) == 0xffff);
static_assert(mmio_size_mask(8) == ~u64{0});

}  // namespace

const char* mmio_decode_error_name(MmioDecodeError e)
{
    switch (e) {
    case MmioDecodeError::None: return "ok";
    case MmioDecodeError::NotDataAbort: return "not a data abort from the guest";
    case MmioDecodeError::NoSyndrome: return "no instruction syndrome (ISV = 0: load/store pair, writeback or SIMD)";
    case MmioDecodeError::CacheMaintenance: return "cache maintenance or AT instruction (CM = 1)";
    case MmioDecodeError::Stage1Walk: return "stage-1 table walk (S1PTW = 1)";
    case MmioDecodeError::FarNotValid: return "no fault address (FnV = 1)";
    case MmioDecodeError::Aarch32Register: return "AArch32 syndrome names no User-mode register R0-R14 of 32 bits";
    }
    return "?";
}


MmioDecode decode_mmio_checked(u64 esr, u64 hpfar, u64 far, u64 spsr)
{
    MmioDecode d;
    d.access.ipa = fault_ipa(hpfar, far);  // for the caller's routing and messages, even when not ok
    if (esr::EC::get(esr) != esr::kEcDataAbortLower) {
        d.error = MmioDecodeError::NotDataAbort;
        return d;
    }
    // CM and S1PTW first: such an abort is never a device access, whatever ISV says.
    if (esr::S1PTW::get(esr) != 0) {
        d.error = MmioDecodeError::Stage1Walk;
        return d;
    }
    if (esr::CM::get(esr) != 0) {
        d.error = MmioDecodeError::CacheMaintenance;
        return d;
    }
    if (esr::ISV::get(esr) == 0) {
        d.error = MmioDecodeError::NoSyndrome;
        return d;
    }
    if (FnV::get(esr) != 0) {
        d.error = MmioDecodeError::FarNotValid;
        return d;
    }
    if (from_aarch32(spsr) && (esr::SRT::get(esr) > kAarch32LastUserReg || esr::SAS::get(esr) == 3)) {
        d.error = MmioDecodeError::Aarch32Register;
        return d;
    }
    MmioAccess& a = d.access;
    a.size = u8(1u << esr::SAS::get(esr));
    a.write = esr::WnR::get(esr) != 0;
    a.reg = u8(esr::SRT::get(esr));
    a.sign_extend = !a.write && esr::SSE::get(esr) != 0;
    a.dest64 = !from_aarch32(spsr) && esr::SF::get(esr) != 0;
    return d;
}

}  // namespace passage::vcpu
