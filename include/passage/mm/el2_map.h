// passage's own EL2 stage-1 identity map (VMSAv8-64, 4 KiB granule, 48-bit
// VA, start level 0): RAM write-back, MMIO Device, code RX, data XN.
// Portable: tables live in a caller-provided pool whose addresses are the
// physical addresses (identity), so host tests can walk them.
#pragma once

#include "passage/bits.h"
#include "passage/result.h"

namespace passage::mm {

enum class El2Attr : u8 {
    Code,           // Normal WB, read-only, executable
    ReadOnly,       // Normal WB, read-only, XN
    ReadWrite,      // Normal WB, read-write, XN
    Device,         // Device-nGnRE, read-write, XN
    DeviceStrict,   // Device-nGnRnE, read-write, XN (ECAM: writes not posted)
};

// MAIR_EL2 slots the descriptors index; write this value to MAIR_EL2.
constexpr unsigned kMairNormalWB = 0;
constexpr unsigned kMairDeviceNGnRE = 1;
constexpr unsigned kMairDeviceNGnRnE = 2;
constexpr u64 kMairEl2 = (u64{0xff} << (8 * kMairNormalWB)) | (u64{0x04} << (8 * kMairDeviceNGnRE)) |
                         (u64{0x00} << (8 * kMairDeviceNGnRnE));

// Stage-1 descriptor fields (Arm ARM D8.3).
using DescType = Field<1, 0>;
using AttrIndx = Field<4, 2>;
using AP = Field<7, 6>;
using SH = Field<9, 8>;
using AF = Bit<10>;
using OutputAddr = Field<47, 12>;
using XN = Bit<54>;


constexpr u64 encode_el2(El2Attr attr)
{
    bool device = attr == El2Attr::Device || attr == El2Attr::DeviceStrict;
    u64 d = AF::make(1);
    d |= AttrIndx::make(attr == El2Attr::Device ? kMairDeviceNGnRE : attr == El2Attr::DeviceStrict ? kMairDeviceNGnRnE : kMairNormalWB);
    // AP[2] = 1 read-only; AP[1] is RES1 in the EL2 regime.
    d |= AP::make(attr == El2Attr::Code || attr == El2Attr::ReadOnly ? 0b11 : 0b01);
    d |= SH::make(device ? 0b00 : 0b11);
    if (attr != El2Attr::Code) d |= XN::make(1);
    return d;
}

static_assert(encode_el2(El2Attr::Code) == 0x7c0);
static_assert(encode_el2(El2Attr::ReadWrite) == ((u64{1} << 54) | 0x740));
static_assert(encode_el2(El2Attr::Device) == ((u64{1} << 54) | 0x444));

struct El2Lookup {
    u64 pa;
    u64 attrs;  // the descriptor's attribute bits (not the address, not the type)
    int level;
};

class El2PageTable {
public:
    // pool: page-aligned, `pages` pages of 4 KiB, identity-mapped.
    El2PageTable(u64* pool, usize pages);

    // Identity-maps [base, base + size), page aligned, with 2 MiB blocks where
    // alignment allows. Mapping over an existing entry is refused.
    Status map(u64 base, u64 size, El2Attr attr);
    Result<El2Lookup> lookup(u64 va) const;

    u64 root() const { return reinterpret_cast<u64>(pool_); }
    usize pages_used() const { return used_; }

private:
    u64* alloc_table();
    // The table that holds va's entry at level `leaf`, the tables above it
    // created on the way down.
    Result<u64*> table_at(u64 va, int leaf);

    u64* pool_;
    usize pages_;
    usize used_ = 0;
};

}  // namespace passage::mm
