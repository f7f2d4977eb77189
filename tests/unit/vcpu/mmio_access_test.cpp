// Decoding a trapped access from ESR_EL2/HPFAR_EL2/FAR_EL2 and completing it
// on the TrapFrame, as the hardware would have (Arm ARM D17.2.40).
#include <catch2/catch.hpp>

#include "passage/vcpu/mmio_access.h"

using namespace passage;
using namespace passage::vcpu;

namespace {

struct Iss {
    unsigned sas = 2;  // 0 byte, 1 half, 2 word, 3 double
    bool sse = false;
    unsigned srt = 1;
    bool sf = false;
    bool write = false;
    bool isv = true;
    bool cm = false;
    bool s1ptw = false;
    bool il = true;
    unsigned ec = 0x24;
};

u64 esr_of(const Iss& s)
{
    return u64(s.ec) << 26 | u64(s.il) << 25 | u64(s.isv) << 24 | u64(s.sas) << 22 | u64(s.sse) << 21 |
           u64(s.srt) << 16 | u64(s.sf) << 15 | u64(s.cm) << 8 | u64(s.s1ptw) << 7 | u64(s.write) << 6 |
           0x07;  // DFSC: translation fault, level 3
}

// SPSR_EL2 of a trap from the guest kernel (EL1h, AArch64).
constexpr u64 kEl1h = 0x3c5;

// HPFAR_EL2 holds IPA[55:12] in bits [43:4].
constexpr u64 hpfar_of(u64 ipa) { return (ipa >> 12) << 4; }

TrapFrame frame_with(u64 elr = 0x40801000)
{
    TrapFrame f{};
    for (unsigned i = 0; i < 31; ++i) f.x[i] = 0xdead'beef'0000'0000ull | i;
    f.elr = elr;
    return f;
}

}  // namespace

// The IPA is the HPFAR page with FAR's page offset; FAR's upper bits (a guest VA) do not matter.
TEST_CASE("mmio decode: IPA from HPFAR and FAR including above 4 GiB")
{
    MmioDecode d = decode_mmio(esr_of({}), hpfar_of(0x40'1000'8000), 0xffff'8000'1234'5010, kEl1h);
    REQUIRE(d.ok());
    CHECK(d.access.ipa == 0x40'1000'8010);
}

// Every SAS gives its size; WnR gives the direction; SRT the register.
TEST_CASE("mmio decode: every access size for loads and stores")
{
    unsigned sas = GENERATE(0u, 1u, 2u, 3u);
    bool write = GENERATE(false, true);
    Iss s;
    s.sas = sas;
    s.write = write;
    s.srt = 7;
    s.sf = sas == 3;
    MmioDecode d = decode_mmio(esr_of(s), hpfar_of(0x1000'0000), 0x4, kEl1h);
    REQUIRE(d.ok());
    CHECK(d.access.size == (1u << sas));
    CHECK(d.access.write == write);
    CHECK(d.access.reg == 7);
    CHECK(d.access.dest64 == (sas == 3));
    CHECK_FALSE(d.access.sign_extend);
}

// Loads: SSE sign-extends to 32 bits (SF = 0, upper half cleared) or 64
// bits (SF = 1); without SSE the value is zero-extended.
TEST_CASE("mmio complete_load: every SAS with each SSE/SF combination")
{
    struct Case {
        unsigned sas;
        bool sse, sf;
        u64 value;   // as the device returns it (only `size` bytes count)
        u64 expect;  // the register afterwards
    };
    const Case cases[] = {
        {0, false, false, 0xffff'ff80, 0x80},
        {0, false, true, 0x80, 0x80},
        {0, true, false, 0x80, 0xffff'ff80},
        {0, true, true, 0x80, 0xffff'ffff'ffff'ff80},
        {0, true, true, 0x7f, 0x7f},
        {1, false, false, 0x1'8001, 0x8001},
        {1, false, true, 0x8001, 0x8001},
        {1, true, false, 0x8001, 0xffff'8001},
        {1, true, true, 0x8001, 0xffff'ffff'ffff'8001},
        {1, true, true, 0x7001, 0x7001},
        {2, false, false, 0x8000'0001, 0x8000'0001},
        {2, false, true, 0xffff'ffff'8000'0001, 0x8000'0001},
        {2, true, true, 0x8000'0001, 0xffff'ffff'8000'0001},  // LDRSW
        {2, true, true, 0x7000'0001, 0x7000'0001},
        {3, false, true, 0x8123'4567'89ab'cdef, 0x8123'4567'89ab'cdef},
    };
    for (const Case& c : cases) {
        CAPTURE(c.sas, c.sse, c.sf, c.value);
        Iss s;
        s.sas = c.sas;
        s.sse = c.sse;
        s.sf = c.sf;
        s.srt = 3;
        MmioDecode d = decode_mmio(esr_of(s), hpfar_of(0x1000'0000), 0, kEl1h);
        REQUIRE(d.ok());
        CHECK(d.access.sign_extend == c.sse);
        TrapFrame f = frame_with();
        complete_load(f, d.access, c.value);
        CHECK(f.x[3] == c.expect);
        CHECK(f.x[2] == (0xdead'beef'0000'0000ull | 2));  // neighbours untouched
        CHECK(f.x[4] == (0xdead'beef'0000'0000ull | 4));
    }
}

// A store's value is the register masked to the access size.
TEST_CASE("mmio read_source: the stored value is masked to its size")
{
    TrapFrame f = frame_with();
    f.x[5] = 0x1122'3344'5566'7788;
    const struct {
        unsigned sas;
        u64 expect;
    } cases[] = {{0, 0x88}, {1, 0x7788}, {2, 0x5566'7788}, {3, 0x1122'3344'5566'7788}};
    for (auto c : cases) {
        Iss s;
        s.sas = c.sas;
        s.write = true;
        s.srt = 5;
        MmioDecode d = decode_mmio(esr_of(s), hpfar_of(0x1000'0000), 0, kEl1h);
        REQUIRE(d.ok());
        CHECK(read_source(f, d.access) == c.expect);
    }
}

// SRT = 31 is the zero register: a store writes 0 (never the saved SP or
// anything past x30), a load into it is discarded.
TEST_CASE("mmio: SRT 31 reads zero on stores and writes nothing on loads")
{
    Iss st;
    st.write = true;
    st.srt = 31;
    st.sas = 3;
    MmioDecode d = decode_mmio(esr_of(st), hpfar_of(0x1000'0000), 0, kEl1h);
    REQUIRE(d.ok());
    CHECK(d.access.reg == kZeroRegister);
    TrapFrame f = frame_with();
    f.sp = 0x1234;
    CHECK(read_source(f, d.access) == 0);

    Iss ld;
    ld.srt = 31;
    ld.sas = 2;
    MmioDecode l = decode_mmio(esr_of(ld), hpfar_of(0x1000'0000), 0, kEl1h);
    REQUIRE(l.ok());
    TrapFrame before = frame_with();
    before.sp = 0x1234;
    TrapFrame after = before;
    complete_load(after, l.access, 0xffff'ffff);
    for (unsigned i = 0; i < 31; ++i) CHECK(after.x[i] == before.x[i]);
    CHECK(after.sp == before.sp);
    CHECK(after.pad == before.pad);
}

// CM and S1PTW faults are not device accesses even with ISV = 1.
TEST_CASE("mmio decode: cache maintenance and stage-1 walks are refused")
{
    Iss cm;
    cm.cm = true;
    CHECK(decode_mmio(esr_of(cm), hpfar_of(0x1000'0000), 0, kEl1h).error == MmioDecodeError::CacheMaintenance);
    Iss walk;
    walk.s1ptw = true;
    CHECK(decode_mmio(esr_of(walk), hpfar_of(0x1000'0000), 0, kEl1h).error == MmioDecodeError::Stage1Walk);
    Iss both;
    both.cm = true;
    both.s1ptw = true;
    both.isv = false;
    CHECK_FALSE(decode_mmio(esr_of(both), hpfar_of(0x1000'0000), 0, kEl1h).ok());
}

// ISV = 0 (a load pair, a post-indexed access): cannot be emulated.
TEST_CASE("mmio decode: ISV = 0 and other exception classes are refused")
{
    Iss pair;
    pair.isv = false;
    MmioDecode d = decode_mmio(esr_of(pair), hpfar_of(0x1000'0000), 0x24, kEl1h);
    CHECK(d.error == MmioDecodeError::NoSyndrome);
    CHECK_FALSE(d.ok());
    CHECK(d.access.ipa == 0x1000'0024);  // for routing and messages all the same
    Iss same;
    same.ec = 0x25;  // from EL2 itself
    CHECK(decode_mmio(esr_of(same), hpfar_of(0x1000'0000), 0, kEl1h).error == MmioDecodeError::NotDataAbort);
    Iss inst;
    inst.ec = 0x20;
    CHECK(decode_mmio(esr_of(inst), hpfar_of(0x1000'0000), 0, kEl1h).error == MmioDecodeError::NotDataAbort);
    CHECK(decode_mmio(esr_of({}) | u64{1} << 10, hpfar_of(0x1000'0000), 0, kEl1h).error == MmioDecodeError::FarNotValid);
    for (auto e : {MmioDecodeError::None, MmioDecodeError::NoSyndrome, MmioDecodeError::Stage1Walk})
        CHECK(mmio_decode_error_name(e)[0] != '\0');
}

// ELR steps over a 32-bit instruction (IL = 1), or a 16-bit one (IL = 0).
TEST_CASE("mmio advance: 4 bytes with IL and 2 without")
{
    TrapFrame f = frame_with(0x40801000);
    f.esr = esr_of({});
    advance(f);
    CHECK(f.elr == 0x40801004);
    Iss t16;
    t16.il = false;
    f.esr = esr_of(t16);
    advance(f);
    CHECK(f.elr == 0x40801006);
}

// Syndromes written out bit by bit from the Arm ARM's ISS layout (not from
// esr_of above), and one QEMU reported: a helper that got a field wrong
// would otherwise agree with the decoder it tests.
TEST_CASE("mmio decode: literal syndromes")
{
    // ldr w1, [x0]: EC 0x24, IL, ISV, SAS 2, SRT 1, DFSC 0x05 (level 1).
    MmioDecode d = decode_mmio(0x93810005, hpfar_of(0x40'1000'0000), 0x40'1000'0000, kEl1h);
    REQUIRE(d.ok());
    CHECK(d.access.size == 4);
    CHECK_FALSE(d.access.write);
    CHECK(d.access.reg == 1);
    CHECK_FALSE(d.access.sign_extend);
    CHECK_FALSE(d.access.dest64);
    // strh wzr, [x2]: SAS 1, SRT 31, WnR, DFSC 0x06.
    d = decode_mmio(0x935f0046, hpfar_of(0x1000'0000), 0x1000'0002, kEl1h);
    REQUIRE(d.ok());
    CHECK(d.access.size == 2);
    CHECK(d.access.write);
    CHECK(d.access.reg == 31);
    CHECK(d.access.ipa == 0x1000'0002);
    // ldrsb x3, [x0]: SAS 0, SSE, SRT 3, SF, DFSC 0x07.
    d = decode_mmio(0x93238007, hpfar_of(0x1000'0000), 0x1000'0000, kEl1h);
    REQUIRE(d.ok());
    CHECK(d.access.size == 1);
    CHECK(d.access.sign_extend);
    CHECK(d.access.dest64);
    CHECK(d.access.reg == 3);
    // ldp w1, w2, [x0] of the ECAM, as QEMU reported it (tests/guests
    // config-ldp): ISV = 0.
    d = decode_mmio(0x92000005, hpfar_of(0x40'1000'0000), 0x40'1000'0000, kEl1h);
    CHECK_FALSE(d.ok());
    CHECK(d.error == MmioDecodeError::NoSyndrome);
}

namespace {

// SPSR_EL2 of a trap from AArch32 User mode (M = 0b10000), ARM or Thumb.
constexpr u64 kUsr32 = 0x10;
constexpr u64 kUsr32Thumb = kUsr32 | u64{1} << 5;

}  // namespace

// From AArch32 User mode SRT is the AArch64 view: R0-R14 are X0-X14, and a
// load writes the 32-bit register (upper half of Xn cleared, never SF).
TEST_CASE("mmio decode: AArch32 User-mode registers R0-R14 map to X0-X14")
{
    unsigned r = GENERATE(range(0u, 15u));
    bool write = GENERATE(false, true);
    Iss s;
    s.srt = r;
    s.write = write;
    s.sf = true;  // ignored from AArch32: there is no 64-bit register
    MmioDecode d = decode_mmio(esr_of(s), hpfar_of(0x1000'0000), 0x10, kUsr32);
    REQUIRE(d.ok());
    CHECK(d.access.reg == r);
    CHECK_FALSE(d.access.dest64);
    TrapFrame f = frame_with(0x8000);
    f.spsr = kUsr32;
    if (write) {
        CHECK(read_source(f, d.access) == (r | 0u));  // the register's low 32 bits
    } else {
        complete_load(f, d.access, 0x8765'4321);
        CHECK(f.x[r] == 0x8765'4321);
        if (r > 0) CHECK(f.x[r - 1] == (0xdead'beef'0000'0000ull | (r - 1)));
    }
}

// An AArch32 LDRSH r3, [r0]: sign-extended to 32 bits, not 64.
TEST_CASE("mmio decode: an AArch32 signed halfword load fills 32 bits")
{
    Iss s;
    s.sas = 1;
    s.sse = true;
    s.srt = 3;
    MmioDecode d = decode_mmio(esr_of(s), hpfar_of(0x1000'0000), 0, kUsr32);
    REQUIRE(d.ok());
    TrapFrame f = frame_with();
    complete_load(f, d.access, 0x8001);
    CHECK(f.x[3] == 0xffff'8001);
}

// SRT 15 and up name no User-mode register (X15 is SP_hyp, X16-X30 other
// modes' banked registers); there is no zero register and no 64-bit
// single-register access in AArch32. Such a syndrome must not be emulated.
TEST_CASE("mmio decode: AArch32 syndromes naming no User-mode register are refused")
{
    unsigned srt = GENERATE(15u, 16u, 30u, 31u);
    Iss s;
    s.srt = srt;
    CHECK(decode_mmio(esr_of(s), hpfar_of(0x1000'0000), 0, kUsr32).error == MmioDecodeError::Aarch32Register);
    CHECK(decode_mmio(esr_of(s), hpfar_of(0x1000'0000), 0, kEl1h).ok());  // fine from AArch64
    Iss dword;
    dword.sas = 3;
    CHECK(decode_mmio(esr_of(dword), hpfar_of(0x1000'0000), 0, kUsr32).error == MmioDecodeError::Aarch32Register);
    CHECK(mmio_decode_error_name(MmioDecodeError::Aarch32Register)[0] != '\0');
}

// A 16-bit Thumb LDR (IL = 0) steps by 2, a 32-bit one by 4; ELR stays a
// 32-bit address.
TEST_CASE("mmio advance: a 16-bit Thumb access steps 2 bytes and a 32-bit one 4")
{
    TrapFrame f = frame_with(0x0001'0ffe);
    f.spsr = kUsr32Thumb;
    Iss t16;
    t16.il = false;
    f.esr = esr_of(t16);
    advance(f);
    CHECK(f.elr == 0x0001'1000);
    f.esr = esr_of({});
    advance(f);
    CHECK(f.elr == 0x0001'1004);
    CHECK(f.spsr == kUsr32Thumb);
    f.elr = 0xffff'fffe;
    f.esr = esr_of(t16);
    advance(f);
    CHECK(f.elr == 0);
}

// Inside an IT block the emulated instruction uses up one slot of it
// (ITAdvance): IT[7:0] is firstcond:mask, and the block ends when IT[2:0] = 0.
TEST_CASE("mmio advance: an access inside a Thumb IT block moves the IT state on")
{
    auto with_it = [](u64 it) { return kUsr32Thumb | (it >> 2) << 10 | (it & 3) << 25; };
    TrapFrame f = frame_with(0x8000);
    Iss t16;
    t16.il = false;
    f.esr = esr_of(t16);
    // ITT EQ, its first instruction: IT = 0000'0100; the second then has 0000'1000.
    f.spsr = with_it(0x04);
    advance(f);
    CHECK(f.spsr == with_it(0x08));
    // The block's last instruction (IT[2:0] = 0): the block is over.
    advance(f);
    CHECK(f.spsr == kUsr32Thumb);
    // ITTE NE: 0001'1010, then 0001'0100 (NE again), then 0000'1000 (EQ: the else).
    f.spsr = with_it(0x1a);
    advance(f);
    CHECK(f.spsr == with_it(0x14));
    advance(f);
    CHECK(f.spsr == with_it(0x08));
}

// decode_mmio answers the usual abort inline and sends the rest to
// decode_mmio_checked: both must say the same for every syndrome shape.
TEST_CASE("mmio decode: the inline path and the full checks agree")
{
    const u64 spsrs[] = {kEl1h, kUsr32};
    u64 x = 0x243f6a8885a308d3ull;
    for (int n = 0; n < 20000; ++n) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        // Mostly data aborts from a lower EL, ISV set, with the other bits random.
        u64 esr = u32(x);
        if (n % 4 != 0) esr = (esr & ~(u64{0x3f} << 26)) | u64{0x24} << 26 | u64{1} << 24;
        if (n % 3 == 0) esr &= ~(u64{1} << 10 | u64{1} << 8 | u64{1} << 7);
        u64 spsr = spsrs[(x >> 40) & 1];
        MmioDecode a = decode_mmio(esr, hpfar_of(0x1234'5000), x >> 32, spsr);
        MmioDecode b = decode_mmio_checked(esr, hpfar_of(0x1234'5000), x >> 32, spsr);
        INFO("esr " << esr);
        REQUIRE(a.error == b.error);
        REQUIRE(a.access.ipa == b.access.ipa);
        if (!a.ok()) continue;
        REQUIRE(a.access.size == b.access.size);
        REQUIRE(a.access.write == b.access.write);
        REQUIRE(a.access.reg == b.access.reg);
        REQUIRE(a.access.sign_extend == b.access.sign_extend);
        REQUIRE(a.access.dest64 == b.access.dest64);
    }
}

// The config read's completion skips the masking for a value already
// zero-extended: it must write what complete_load writes in every case.
TEST_CASE("mmio complete_narrow_load writes what complete_load writes")
{
    const u32 values[] = {0, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffff, 0x80000000u, 0xffffffffu, 0x12345678};
    for (u8 size : {u8(1), u8(2), u8(4)})
        for (u8 reg : {u8(0), u8(7), u8(30), kZeroRegister})
            for (bool sign : {false, true})
                for (bool dest64 : {false, true})
                    for (u32 raw : values) {
                        u32 value = u32(raw & mmio_size_mask(size));
                        MmioAccess a;
                        a.size = size, a.reg = reg, a.sign_extend = sign, a.dest64 = dest64;
                        TrapFrame want{}, got{};
                        for (usize i = 0; i < 31; ++i) want.x[i] = got.x[i] = 0xdead0000beef0000ull + i;
                        complete_load(want, a, value);
                        complete_narrow_load(got, a, value);
                        INFO("size " << int(size) << " reg " << int(reg) << " sign " << sign << " dest64 " << dest64
                                     << " value " << value);
                        for (usize i = 0; i < 31; ++i) REQUIRE(got.x[i] == want.x[i]);
                    }
}

// The trap path's shortcut for a plain 32-bit load must take exactly the
// syndromes decode_mmio reads as one, and complete them the same way.
TEST_CASE("mmio plain_word_load_register agrees with decode_mmio")
{
    const u64 spsrs[] = {kEl1h, kUsr32};
    u64 x = 0x13198a2e03707344ull;
    usize taken = 0;
    for (int n = 0; n < 40000; ++n) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        u64 esr = u32(x);
        // Mostly data aborts from a lower EL, ISV and IL set, SAS = 2, a load.
        if (n % 4 != 0) esr = (esr & ~(u64{0x3f} << 26)) | u64{0x24} << 26 | u64{1} << 24 | u64{1} << 25;
        if (n % 2 == 0) esr = (esr & ~(u64{3} << 22 | u64{1} << 21 | u64{1} << 6)) | u64{2} << 22;
        if (n % 3 == 0) esr &= ~(u64{1} << 10 | u64{1} << 8 | u64{1} << 7);
        u64 spsr = spsrs[(x >> 40) & 1];
        MmioDecode d = decode_mmio_checked(esr, hpfar_of(0x1234'5000), x >> 32, spsr);
        bool want = d.ok() && !d.access.write && d.access.size == 4 && !d.access.sign_extend &&
                    (esr >> 25 & 1) != 0 && (spsr & 0x10) == 0;
        int reg = plain_word_load_register(esr, spsr);
        INFO("esr " << esr << " spsr " << spsr);
        REQUIRE((reg >= 0) == want);
        if (!want) continue;
        ++taken;
        REQUIRE(reg == d.access.reg);
        u32 value = u32(x >> 17);
        TrapFrame a{}, b{};
        for (usize i = 0; i < 31; ++i) a.x[i] = b.x[i] = ~u64{0} - i;
        a.esr = b.esr = esr, a.spsr = b.spsr = spsr, a.elr = b.elr = 0x4000'1000;
        complete_load(a, d.access, value);
        advance(a);
        finish_word_load(b, reg, value);
        REQUIRE(b.elr == a.elr);
        for (usize i = 0; i < 31; ++i) REQUIRE(b.x[i] == a.x[i]);
    }
    CHECK(taken > 1000);
}

// vectors.S's guest_abort saves x0-x18 and x30 before C++ runs: only loads
// into those (or the zero register) may be finished from that frame.
TEST_CASE("mmio access: the fast abort frame holds exactly the caller-saved registers")
{
    for (int reg = 0; reg <= 31; ++reg) {
        INFO("x" << reg);
        const bool saved = reg <= 18 || reg == 30;
        CHECK(vcpu::in_fast_frame(reg) == (saved || reg == 31));
    }
    CHECK_FALSE(vcpu::in_fast_frame(-1));  // not a plain load at all
}
