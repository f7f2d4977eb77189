// GIC table addresses. See passage/vcpu/gic_tables.h.
#include "passage/vcpu/gic_tables.h"

#include "passage/bits.h"

namespace passage::vcpu {
namespace {

// Each register's fields under its name, as the GICv3 spec writes them
// (GITS_BASER.Page_Size is Baser::PageSize).
struct Propbaser {  // GICR_PROPBASER
    using IdBits = Field<4, 0>;
    using Pa = Field<51, 12>;
};
struct Pendbaser {  // GICR_PENDBASER
    using Pa = Field<51, 16>;
};
struct Cbaser {  // GITS_CBASER
    using Size = Field<7, 0>;  // 4 KiB pages - 1
    using Pa = Field<51, 12>;
    using Valid = Bit<63>;
};
struct Baser {  // GITS_BASER<n>
    using Size = Field<7, 0>;  // pages - 1
    using PageSize = Field<9, 8>;  // 4K, 16K, 64K
    using Pa = Field<47, 12>;  // with 64 KiB pages, [15:12] hold PA[51:48]
    using Type = Field<58, 56>;
    using Indirect = Bit<62>;
    using Valid = Bit<63>;
};

}  // namespace

GicTableReg gicr_table_reg(u32 offset, u32& reg_offset)
{
    reg_offset = offset & ~u32{7};
    switch (reg_offset) {
    case 0x70: return GicTableReg::PropBaser;
    case 0x78: return GicTableReg::PendBaser;
    case 0x00: return (offset & 7) < 4 ? GicTableReg::RdCtlr : GicTableReg::None;  // GICR_CTLR is 32-bit; +4 is GICR_IIDR
    }
    return GicTableReg::None;
}

GicTableReg gits_table_reg(u32 offset, u32& reg_offset)
{
    reg_offset = offset & ~u32{7};
    if (reg_offset == 0x80) return GicTableReg::ItsCbaser;
    if (reg_offset >= 0x100 && reg_offset < 0x140) return GicTableReg::ItsBaser;
    if (reg_offset == 0x00 && (offset & 7) < 4) return GicTableReg::ItsCtlr;
    return GicTableReg::None;
}

TableRange table_range(GicTableReg reg, u64 value, unsigned id_bits)
{
    switch (reg) {
    case GicTableReg::PropBaser: {
        // One byte per LPI, INTIDs 8192 up to 2^(IDbits + 1) - 1; fewer
        // than 14 bits leave no LPIs.
        unsigned bits = unsigned(Propbaser::IdBits::get(value)) + 1;
        if (bits > id_bits) bits = id_bits;
        if (bits < 14) return {};
        return {Propbaser::Pa::get(value) << 12, (u64{1} << bits) - 8192};
    }
    case GicTableReg::PendBaser:
        // One bit per INTID, 0 up to 2^id_bits - 1 (the first 1 KiB is
        // the SGI/PPI/SPI part, which the GIC may still read).
        return {Pendbaser::Pa::get(value) << 16, id_bits >= 14 ? (u64{1} << id_bits) / 8 : 0};
    case GicTableReg::ItsCbaser:
        if (!Cbaser::Valid::get(value)) return {};
        return {Cbaser::Pa::get(value) << 12, (Cbaser::Size::get(value) + 1) * 4 * KiB};
    case GicTableReg::ItsBaser: {
        if (!Baser::Valid::get(value) || Baser::Type::get(value) == 0) return {};
        const u64 page = Baser::PageSize::get(value) == 0 ? 4 * KiB : Baser::PageSize::get(value) == 1 ? 16 * KiB : 64 * KiB;
        u64 base = Baser::Pa::get(value) << 12;
        if (page == 64 * KiB) base = (base & ~u64{0xffff}) | (((value >> 12) & 0xf) << 48);
        else base &= ~(page - 1);
        return {base, (Baser::Size::get(value) + 1) * page};
    }
    default: return {};
    }
}

u64 its_baser_flat(u64 value) { return Baser::Indirect::set(value, 0); }

bool inside_ram(const TableRange& r, std::span<const MemRange> ram)
{
    if (r.size == 0) return true;
    if (r.base + r.size < r.base) return false;
    for (const MemRange& m : ram)
        if (r.base >= m.base && r.base + r.size <= m.end()) return true;
    return false;
}

}  // namespace passage::vcpu
