// Fuzzer 5: the syndrome of a trapped data access. Every input is one
// ESR_EL2/HPFAR_EL2/FAR_EL2, a device value and a TrapFrame. Checks:
//   - esr::describe() writes a NUL-terminated line inside the buffer it is
//     given (of any size, 0 included) and not one byte past it;
//   - decode_mmio() accepts exactly the ISV = 1 data aborts from a lower EL
//     without CM, S1PTW or FnV (from AArch32, SPSR.M[4] = 1, also only SRT
//     0-14 and no doubleword), and its access is the syndrome's fields: a
//     size of 1 << SAS, the register SRT (0-31), WnR, SSE only for loads, SF
//     (never from AArch32);
//   - read_source() is the register masked to the size (0 for x31);
//   - complete_load() changes only x[SRT], to the value extended as the
//     Arm ARM's LDR/LDRS* would (SSE sign-, else zero-extension, to 32 bits
//     with the upper half clear when SF = 0); x31 leaves the frame untouched;
//   - advance() moves ELR by 4 when IL = 1, by 2 when IL = 0, nothing else
//     from AArch64; from AArch32 it also keeps ELR to 32 bits and moves the
//     IT state on (ITAdvance, written out here from the Arm ARM).
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "fuzz_input.h"
#include "passage/esr.h"
#include "passage/vcpu/mmio_access.h"

using namespace passage;
using namespace passage::vcpu;

using passage::fuzzing::Input;

namespace {

[[noreturn]] void violated(const char* what, u64 esr, u64 a = 0, u64 b = 0)
{
    std::fprintf(stderr, "esr fuzz: %s (esr 0x%llx, 0x%llx, 0x%llx)\n", what, (unsigned long long)esr,
                 (unsigned long long)a, (unsigned long long)b);
    std::abort();
}

// The syndrome bits, written out here from the Arm ARM (D17.2.40) rather
// than taken from esr.h, so a wrong field there cannot agree with itself.
constexpr u64 bits(u64 v, unsigned hi, unsigned lo) { return v >> lo & ((u64{1} << (hi - lo + 1)) - 1); }

// What a load leaves in its register (Arm ARM C6: LDRB/LDRH/LDR, LDRSB/
// LDRSH/LDRSW, Wt or Xt).
u64 loaded(u64 value, unsigned size, bool sse, bool sf)
{
    const unsigned shift = 64 - 8 * size;
    u64 v = value << shift;  // the size's bytes at the top
    v = sse ? u64(i64(v) >> shift) : v >> shift;
    return sf ? v : v & 0xffffffffu;
}

void check_describe(u64 esr, usize size)
{
    char buf[256];
    std::memset(buf, 0x5a, sizeof buf);
    esr::describe(esr, buf, size);
    for (usize i = size; i < sizeof buf; ++i)
        if (buf[i] != 0x5a) violated("describe wrote past its buffer", esr, size, i);
    if (size == 0) return;
    if (std::memchr(buf, '\0', size) == nullptr) violated("describe left the line unterminated", esr, size);
    char want[16];
    std::snprintf(want, sizeof want, "EC 0x%02x ", unsigned(bits(esr, 31, 26)));
    if (size > sizeof want && std::strncmp(buf, want, std::strlen(want)) != 0)
        violated("describe does not start with the class", esr, size);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const u8* data, usize size)
{
    Input in{data, size};
    const u8 shape = in.take<u8>();
    u64 esr = in.take<u64>();
    // Mostly the one class decode_mmio accepts, so the deeper checks run.
    if ((shape & 3) != 0) esr = (esr & ~(u64{0x3f} << 26)) | u64{esr::kEcDataAbortLower} << 26;
    if ((shape & 4) != 0) esr = (esr | u64{1} << 24) & ~(u64{1} << 8 | u64{1} << 7 | u64{1} << 10);
    const u64 hpfar = in.take<u64>();
    const u64 far = in.take<u64>();
    const u64 value = in.take<u64>();
    TrapFrame frame{};
    for (u64& x : frame.x) x = in.take<u64>();
    frame.sp = in.take<u64>();
    frame.elr = in.take<u64>();
    frame.spsr = in.take<u64>();
    frame.esr = esr;
    frame.far = far;
    frame.hpfar = hpfar;
    frame.pad = in.take<u64>();

    check_describe(esr, shape >> 3 < 24 ? shape >> 3 : 160);

    const MmioDecode d = decode_mmio(esr, hpfar, far, frame.spsr);
    const bool ec_ok = bits(esr, 31, 26) == 0x24;
    const bool a32 = bits(frame.spsr, 4, 4) != 0;
    const bool a32_ok = !a32 || (bits(esr, 20, 16) <= 14 && bits(esr, 23, 22) != 3);
    const bool accept = ec_ok && bits(esr, 24, 24) == 1 && bits(esr, 8, 8) == 0 && bits(esr, 7, 7) == 0 &&
                        bits(esr, 10, 10) == 0 && a32_ok;
    if (d.ok() != accept) violated("decode_mmio accepted the wrong syndromes", esr, u64(d.error));
    // The inline test of the usual case and the full checks agree on everything.
    const MmioDecode full = decode_mmio_checked(esr, hpfar, far, frame.spsr);
    const MmioAccess &x = d.access, &y = full.access;
    if (d.error != full.error || x.ipa != y.ipa || (d.ok() && (x.size != y.size || x.write != y.write || x.reg != y.reg ||
                                                                x.sign_extend != y.sign_extend || x.dest64 != y.dest64)))
        violated("decode_mmio's inline path differs from decode_mmio_checked", esr, u64(d.error));
    if (!ec_ok && d.error != MmioDecodeError::NotDataAbort) violated("another class is not NotDataAbort", esr);
    if (!d.ok()) {
        if (mmio_decode_error_name(d.error)[0] == '\0') violated("an unnamed decode error", esr, u64(d.error));
        return 0;
    }
    const MmioAccess& a = d.access;
    const unsigned want_size = 1u << bits(esr, 23, 22);
    const bool write = bits(esr, 6, 6) != 0;
    if (a.size != want_size) violated("size is not 1 << SAS", esr, a.size);
    if (a.reg > 31 || a.reg != bits(esr, 20, 16)) violated("register is not SRT", esr, a.reg);
    if (a.write != write) violated("direction is not WnR", esr);
    if (a.sign_extend != (!write && bits(esr, 21, 21) != 0)) violated("sign extension is not SSE of a load", esr);
    if (a.dest64 != (!a32 && bits(esr, 15, 15) != 0)) violated("register width is not SF (0 from AArch32)", esr);
    if (a.ipa != (bits(hpfar, 43, 4) << 12 | (far & 0xfff))) violated("IPA is not HPFAR.FIPA | FAR[11:0]", esr, a.ipa);

    if (a.write) {
        const u64 want = a.reg == 31 ? 0 : loaded(frame.x[a.reg], a.size, false, true);
        const u64 got = read_source(frame, a);
        if (got != want) violated("a store's value is not the register masked to its size", esr, got, want);
    } else {
        TrapFrame after = frame;
        complete_load(after, a, value);
        TrapFrame want = frame;
        if (a.reg != 31) want.x[a.reg] = loaded(value, a.size, a.sign_extend, a.dest64);
        if (std::memcmp(&after, &want, sizeof want) != 0) {
            for (unsigned i = 0; i < 31; ++i)
                if (after.x[i] != want.x[i]) violated("a load left the wrong register state", esr, i, after.x[i]);
            violated("a load changed the frame outside x0-x30", esr, after.sp, after.pad);
        }
    }
    TrapFrame stepped = frame;
    advance(stepped);
    TrapFrame want = frame;
    want.elr = frame.elr + (bits(esr, 25, 25) != 0 ? 4 : 2);
    if (a32) {
        want.elr &= 0xffffffffu;
        u64 it = bits(frame.spsr, 15, 10) << 2 | bits(frame.spsr, 26, 25);
        it = bits(it, 2, 0) == 0 ? 0 : (it & 0xe0) | (it << 1 & 0x1f);
        want.spsr = (frame.spsr & ~(u64{0x3f} << 10 | u64{3} << 25)) | (it >> 2) << 10 | (it & 3) << 25;
    }
    if (std::memcmp(&stepped, &want, sizeof want) != 0) violated("ELR did not step over the instruction", esr, stepped.elr);
    return 0;
}
