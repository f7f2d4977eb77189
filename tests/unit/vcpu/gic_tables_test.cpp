// GIC table addresses the guest programs: which register an access is, the
// memory a value makes the GIC touch, and whether that is all guest RAM.
#include <catch2/catch.hpp>

#include "passage/vcpu/gic_tables.h"

using namespace passage;
using namespace passage::vcpu;

namespace {
// QEMU virt with passage at 0x40200000-0x405fffff.
const MemRange kRam[] = {{0x40000000, 0x200000}, {0x40600000, 0x3fa00000}};
}  // namespace

TEST_CASE("gic tables: registers of the redistributor and ITS control frames")
{
    u32 at = 0;
    CHECK(gicr_table_reg(0x70, at) == GicTableReg::PropBaser);
    CHECK(gicr_table_reg(0x74, at) == GicTableReg::PropBaser);  // the upper half of a 32-bit pair
    CHECK(at == 0x70);
    CHECK(gicr_table_reg(0x78, at) == GicTableReg::PendBaser);
    CHECK(gicr_table_reg(0x00, at) == GicTableReg::RdCtlr);
    CHECK(gicr_table_reg(0x04, at) == GicTableReg::None);  // GICR_IIDR
    CHECK(gicr_table_reg(0x08, at) == GicTableReg::None);  // GICR_TYPER
    CHECK(gits_table_reg(0x80, at) == GicTableReg::ItsCbaser);
    CHECK(gits_table_reg(0x138, at) == GicTableReg::ItsBaser);
    CHECK(gits_table_reg(0x13c, at) == GicTableReg::ItsBaser);
    CHECK(at == 0x138);
    CHECK(gits_table_reg(0x140, at) == GicTableReg::None);
    CHECK(gits_table_reg(0x88, at) == GicTableReg::None);  // GITS_CWRITER
    CHECK(gits_table_reg(0x00, at) == GicTableReg::ItsCtlr);
}

TEST_CASE("gic tables: the memory each value makes the GIC access")
{
    // PROPBASER with IDbits 15 (16 bits): 64 KiB - 8 KiB of LPI bytes.
    TableRange r = table_range(GicTableReg::PropBaser, 0x4100'0000 | 0x38f | 15, 16);
    CHECK(r.base == 0x4100'0000);
    CHECK(r.size == 0x10000 - 0x2000);
    // A guest asking for more ID bits than the GIC has gets the GIC's.
    CHECK(table_range(GicTableReg::PropBaser, 0x4100'0000 | 31, 16).size == 0xe000);
    CHECK(table_range(GicTableReg::PropBaser, 0x4100'0000 | 12, 16).size == 0);  // no LPIs
    // PENDBASER: 64 KiB aligned, one bit per INTID.
    r = table_range(GicTableReg::PendBaser, (u64{1} << 62) | 0x4103'0000, 16);
    CHECK(r.base == 0x4103'0000);
    CHECK(r.size == 8 * KiB);
    // CBASER: Valid, Size 3 -> 16 KiB.
    r = table_range(GicTableReg::ItsCbaser, (u64{1} << 63) | 0x4104'0000 | 3, 16);
    CHECK(r.base == 0x4104'0000);
    CHECK(r.size == 16 * KiB);
    CHECK(table_range(GicTableReg::ItsCbaser, 0x4020'0000 | 3, 16).size == 0);  // not Valid: no access
    // BASER: Valid, Type 1 (devices), 64 KiB pages, 2 pages.
    r = table_range(GicTableReg::ItsBaser, (u64{1} << 63) | (u64{1} << 56) | (2 << 8) | 0x4110'0000 | 1, 16);
    CHECK(r.base == 0x4110'0000);
    CHECK(r.size == 128 * KiB);
    // Type 0: unimplemented, nothing.
    CHECK(table_range(GicTableReg::ItsBaser, (u64{1} << 63) | 0x4110'0000, 16).size == 0);
    CHECK(its_baser_flat((u64{1} << 63) | (u64{1} << 62) | 0x1000) == ((u64{1} << 63) | 0x1000));
}

TEST_CASE("gic tables: only guest RAM passes")
{
    CHECK(inside_ram({0x4100'0000, 0x10000}, kRam));
    CHECK(inside_ram({0, 0}, kRam));  // nothing touched
    // passage's own region, straddling into it, and beyond RAM.
    CHECK_FALSE(inside_ram({0x4020'0000, 0x10000}, kRam));
    CHECK_FALSE(inside_ram({0x401f'0000, 0x20000}, kRam));
    CHECK_FALSE(inside_ram({0x7fff'0000, 0x20000}, kRam));
    CHECK_FALSE(inside_ram({0x0900'0000, 0x1000}, kRam));  // a device
    CHECK_FALSE(inside_ram({~u64{0} - 0xfff, 0x2000}, kRam));  // wraps
    // PENDBASER at passage: refused.
    CHECK_FALSE(inside_ram(table_range(GicTableReg::PendBaser, 0x4020'0000, 16), kRam));
}
