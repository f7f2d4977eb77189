// Stage-2 descriptors: intent in, bits out, in one place.
//
// Callers say what they want (a MemType, an Access, executable or not);
// encode_leaf() turns it into MemAttr, S2AP, SH, AF and XN for the encoding
// in force (with or without FEAT_S2FWB) and refuses nonsense; decode_leaf()
// turns the bits back into intent. Nothing else in passage builds leaf bits.
//
// Arm ARM (DDI 0487), D8.3 "Translation table descriptor formats" and
// D8.5 "Stage 2 memory attributes", VMSAv8-64, 4 KiB granule, 48-bit OA.
#pragma once

#include "passage/bits.h"
#include "passage/result.h"
#include "passage/types.h"

namespace passage::stage2 {

// --- descriptor fields (D8.3.1, D8.3.2) ---
using DescValid = Bit<0>;      // 1 = valid
using DescType = Bit<1>;       // levels 0-2: 1 table, 0 block; level 3: must be 1 (page)
using MemAttr = Field<5, 2>;   // stage-2 memory type (D8.5.5 / D8.5.6 with FWB)
using S2AP = Field<7, 6>;      // 00 none, 01 read, 10 write, 11 read/write
using SH = Field<9, 8>;        // 11 inner shareable
using AF = Bit<10>;            // access flag: always 1 (no AF faults)
using OutputAddr = Field<47, 12>;
using Contiguous = Bit<52>;
using XN = Field<54, 53>;      // 00 executable, 10 never (11 = EL1 only with FEAT_XNX)
using SwBits = Field<58, 55>;  // ignored by hardware

constexpr u64 kOutputAddrMask = OutputAddr::kMask;
// Every bit of a leaf except the valid/type bits and the output address.
constexpr u64 kLeafAttrMask = ~(kOutputAddrMask | DescValid::kMask | DescType::kMask);

enum class MemType : u8 { NormalWB, NormalNC, DeviceNGnRE, DeviceNGnRnE };
enum class Access : u8 { None, RO, WO, RW };

struct Attrs {
    MemType type = MemType::NormalWB;
    Access access = Access::RW;
    bool exec = false;
    constexpr bool operator==(const Attrs&) const = default;
};

// How guest RAM (MemType::NormalWB) is encoded under FEAT_S2FWB.
enum class FwbRam : u8 {
    ForceWriteBack,  // MemAttr 0b0110: forced write-back, whatever stage 1 says (KVM's choice)
    GuestChoice,     // MemAttr 0b0111: the guest's stage-1 attribute stands
};

// The encoding in force: HCR_EL2.FWB and, when set, the guest-RAM choice.
struct Encoding {
    bool fwb = false;
    FwbRam ram = FwbRam::GuestChoice;
    constexpr bool operator==(const Encoding&) const = default;
};

constexpr Encoding kNoFwb{false, FwbRam::GuestChoice};
constexpr Encoding kFwbForceWb{true, FwbRam::ForceWriteBack};
constexpr Encoding kFwbGuestChoice{true, FwbRam::GuestChoice};

// --- MemAttr values ---
// Without FWB (D8.5.5): [3:2] = 00 Device with [1:0] the kind, else Normal
// with [3:2] outer and [1:0] inner cacheability (01 NC, 11 WB).
namespace memattr {
constexpr u64 kDeviceNGnRnE = 0b0000;
constexpr u64 kDeviceNGnRE = 0b0001;
constexpr u64 kNormalNC = 0b0101;
constexpr u64 kNormalWB = 0b1111;
// With FWB (D8.5.6): MemAttr[2] = 0 forces Device ([1:0] the kind);
// MemAttr[2] = 1 with [1:0] = 01 Normal-NC (a stage-1 Device type stays
// Device), 10 forced write-back, 11 the stage-1 attribute.
constexpr u64 kFwbDeviceNGnRnE = 0b0000;
constexpr u64 kFwbDeviceNGnRE = 0b0001;
constexpr u64 kFwbNormalNC = 0b0101;
constexpr u64 kFwbForceWB = 0b0110;
constexpr u64 kFwbAsStage1 = 0b0111;
}  // namespace memattr

constexpr u64 kXnNever = 0b10;
constexpr u64 kShInner = 0b11;

constexpr unsigned kLevels = 4;
constexpr unsigned kLeafLevel = 3;
constexpr usize kEntriesPerTable = 512;

// Bytes one entry at `level` maps: 512 GiB, 1 GiB, 2 MiB, 4 KiB.
constexpr u64 level_span(unsigned level) { return u64{1} << (12 + 9 * (kLeafLevel - level)); }
constexpr unsigned level_shift(unsigned level) { return 12 + 9 * (kLeafLevel - level); }
// Levels at which a 4 KiB-granule stage-2 block may sit (1 GiB, 2 MiB).
constexpr bool block_allowed(unsigned level) { return level == 1 || level == 2; }

constexpr bool is_valid(u64 desc) { return DescValid::get(desc) != 0; }
constexpr bool is_table(u64 desc, unsigned level)
{
    return level < kLeafLevel && is_valid(desc) && DescType::get(desc) != 0;
}
constexpr bool is_leaf(u64 desc, unsigned level) { return is_valid(desc) && !is_table(desc, level); }
constexpr PhysAddr desc_output(u64 desc) { return PhysAddr(desc & kOutputAddrMask); }

// The descriptor of the leaf that continues a run after `desc` (of `size`
// bytes): the same bits with the output address one leaf on; 0 (never a
// valid leaf) if the address would carry out of its field.
constexpr u64 leaf_following(u64 desc, u64 size)
{
    const u64 oa = (desc & kOutputAddrMask) + size;
    return (oa & ~kOutputAddrMask) != 0 ? 0 : (desc & ~kOutputAddrMask) | oa;
}

constexpr u64 make_table_desc(PhysAddr table)
{
    return (table.value & kOutputAddrMask) | DescValid::make(1) | DescType::make(1);
}

// A leaf (block at levels 1-2, page at level 3) from attribute bits taken
// from encode_leaf(); used where the walker rebuilds leaves (split, fold).
constexpr u64 make_leaf_desc(PhysAddr oa, unsigned level, u64 attr_bits)
{
    return (attr_bits & kLeafAttrMask) | (oa.value & kOutputAddrMask) | DescValid::make(1) |
           DescType::make(level == kLeafLevel ? 1 : 0);
}

constexpr Result<u64> memattr_for(MemType type, Encoding enc)
{
    switch (type) {
    case MemType::NormalWB:
        if (!enc.fwb) return memattr::kNormalWB;
        return enc.ram == FwbRam::ForceWriteBack ? memattr::kFwbForceWB : memattr::kFwbAsStage1;
    case MemType::NormalNC: return enc.fwb ? memattr::kFwbNormalNC : memattr::kNormalNC;
    case MemType::DeviceNGnRE: return enc.fwb ? memattr::kFwbDeviceNGnRE : memattr::kDeviceNGnRE;
    case MemType::DeviceNGnRnE: return enc.fwb ? memattr::kFwbDeviceNGnRnE : memattr::kDeviceNGnRnE;
    }
    return Error::InvalidArgument;
}

constexpr Result<MemType> memtype_for(u64 attr, Encoding enc)
{
    if (!enc.fwb) {
        switch (attr) {
        case memattr::kNormalWB: return MemType::NormalWB;
        case memattr::kNormalNC: return MemType::NormalNC;
        case memattr::kDeviceNGnRE: return MemType::DeviceNGnRE;
        case memattr::kDeviceNGnRnE: return MemType::DeviceNGnRnE;
        }
        return Failure{Error::Unsupported, attr};
    }
    switch (attr) {
    case memattr::kFwbForceWB:
    case memattr::kFwbAsStage1: return MemType::NormalWB;
    case memattr::kFwbNormalNC: return MemType::NormalNC;
    case memattr::kFwbDeviceNGnRE: return MemType::DeviceNGnRE;
    case memattr::kFwbDeviceNGnRnE: return MemType::DeviceNGnRnE;
    }
    return Failure{Error::Unsupported, attr};
}

// The attribute bits of a leaf (everything but valid/type and the output
// address). Refuses executable Device or Normal-NC memory: MMIO is never
// executable at stage 2.
constexpr Result<u64> encode_attrs(Attrs a, Encoding enc)
{
    if (a.exec && a.type != MemType::NormalWB) return Error::InvalidArgument;
    Result<u64> ma = memattr_for(a.type, enc);
    if (!ma) return ma.failure();
    return MemAttr::make(*ma) | S2AP::make(static_cast<u64>(a.access)) | SH::make(kShInner) |
           AF::make(1) | XN::make(a.exec ? 0 : kXnNever);
}

// The one encoder of a leaf descriptor: output address, level, intent.
constexpr Result<u64> encode_leaf(PhysAddr oa, unsigned level, Attrs a, Encoding enc)
{
    if (level > kLeafLevel || (level != kLeafLevel && !block_allowed(level)))
        return Failure{Error::InvalidArgument, level};
    if (!is_aligned(oa.value, level_span(level)) || (oa.value & ~kOutputAddrMask) != 0)
        return Failure{Error::Misaligned, oa.value};
    Result<u64> bits = encode_attrs(a, enc);
    if (!bits) return bits.failure();
    return make_leaf_desc(oa, level, *bits);
}

struct Leaf {
    PhysAddr oa;
    Attrs attrs;
    constexpr bool operator==(const Leaf&) const = default;
};

// The one decoder: a valid leaf back to output address and intent. Bits
// passage never writes (XN 01/11, unknown MemAttr, AF = 0) are refused.
constexpr Result<Leaf> decode_leaf(u64 desc, unsigned level, Encoding enc)
{
    if (!is_leaf(desc, level)) return Failure{Error::NotFound, desc};
    if (level == kLeafLevel ? DescType::get(desc) != 1 : !block_allowed(level))
        return Failure{Error::Unsupported, desc};
    Result<MemType> type = memtype_for(MemAttr::get(desc), enc);
    if (!type) return Failure{Error::Unsupported, desc};
    u64 xn = XN::get(desc);
    if ((xn != 0 && xn != kXnNever) || AF::get(desc) == 0) return Failure{Error::Unsupported, desc};
    Attrs a{*type, static_cast<Access>(S2AP::get(desc)), xn == 0};
    return Leaf{desc_output(desc), a};
}

const char* mem_type_name(MemType t);
const char* access_name(Access a);

// --- known encodings (Linux MT_S2_*, PTE_S2_*; Arm ARM D8.5) ---
static_assert(memattr::kNormalWB == 0xf && memattr::kNormalNC == 0x5 && memattr::kDeviceNGnRE == 0x1);
static_assert(memattr::kFwbForceWB == 6 && memattr::kFwbNormalNC == 5 && memattr::kFwbDeviceNGnRE == 1);
// Guest RAM, 2 MiB block, RWX: MemAttr 1111, S2AP 11, SH 11, AF.
static_assert(encode_leaf(PhysAddr(0x4000'0000), 2, {MemType::NormalWB, Access::RW, true}, kNoFwb)
                  .value() == 0x4000'07fd);
// Same page under FWB with forced write-back: MemAttr 0110.
static_assert(encode_leaf(PhysAddr(0x4000'0000), 3, {MemType::NormalWB, Access::RW, true}, kFwbForceWb)
                  .value() == 0x4000'07db);
// PL011 page, Device-nGnRE, RW, XN = 0b10 (bit 54 only).
static_assert(encode_leaf(PhysAddr(0x0900'0000), 3, {MemType::DeviceNGnRE, Access::RW, false}, kNoFwb)
                  .value() == 0x0040'0000'0900'07c7);
// PCI BAR page, Normal-NC, RW, XN: MemAttr 0101 in both encodings.
static_assert(encode_leaf(PhysAddr(0x10'0000'0000), 3, {MemType::NormalNC, Access::RW, false}, kNoFwb)
                  .value() == 0x0040'0010'0000'07d7);
// ECAM, Device-nGnRnE, RW, XN.
static_assert(encode_leaf(PhysAddr(0x40'1000'0000), 3, {MemType::DeviceNGnRnE, Access::RW, false}, kFwbGuestChoice)
                  .value() == 0x0040'0040'1000'07c3);
// Executable device or NC memory is refused.
static_assert(!encode_leaf(PhysAddr(0), 3, {MemType::DeviceNGnRE, Access::RW, true}, kNoFwb).ok());
static_assert(!encode_leaf(PhysAddr(0), 3, {MemType::NormalNC, Access::RO, true}, kFwbGuestChoice).ok());
// Blocks only at levels 1 and 2, aligned.
static_assert(!encode_leaf(PhysAddr(0), 0, {}, kNoFwb).ok());
static_assert(!encode_leaf(PhysAddr(0x1000), 2, {}, kNoFwb).ok());
static_assert(decode_leaf(0x0040'0000'0900'07c7, 3, kNoFwb).value() ==
              Leaf{PhysAddr(0x0900'0000), {MemType::DeviceNGnRE, Access::RW, false}});
static_assert(make_table_desc(PhysAddr(0x4008'1000)) == 0x4008'1003);

}  // namespace passage::stage2
