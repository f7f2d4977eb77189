// The GIC is a DMA master the SMMU does not see: the redistributors read
// and write the LPI configuration and pending tables, the ITS its command
// queue and its device/collection tables, at addresses the guest programs
// (GICR_PROPBASER, GICR_PENDBASER, GITS_CBASER, GITS_BASER<n>). passage
// traps the frames that hold these registers and lets a value through only
// if every byte the GIC would then touch is guest RAM (GICv3 architecture
// specification, IHI 0069, 9.11 and 12.19). Pure decisions here; the EL2
// side (boot/gic_tables.cpp) forwards the access.
#pragma once

#include <span>

#include "passage/platform.h"

namespace passage::vcpu {

enum class GicTableReg : u8 {
    None,       // not a table address: forward as it is
    PropBaser,  // GICR_PROPBASER (RD_base + 0x70)
    PendBaser,  // GICR_PENDBASER (RD_base + 0x78)
    RdCtlr,     // GICR_CTLR (RD_base + 0x0): EnableLPIs starts the redistributor's table accesses
    ItsCbaser,  // GITS_CBASER (ITS + 0x80)
    ItsBaser,   // GITS_BASER<n> (ITS + 0x100 + 8n, n < 8)
    ItsCtlr,    // GITS_CTLR (ITS + 0x0): Enabled starts the ITS's
};

// The register an aligned access at `offset` of a redistributor's RD_base
// frame, or of an ITS control frame, falls in (its 64-bit register's
// offset in reg_offset).
GicTableReg gicr_table_reg(u32 offset, u32& reg_offset);
GicTableReg gits_table_reg(u32 offset, u32& reg_offset);

// The memory a table-address register value makes the GIC access:
// [base, base + size); size 0 when the value enables no access (an invalid
// ITS table, no LPIs). `id_bits` is the number of interrupt ID bits the
// GIC supports (GICD_TYPER.IDbits + 1): it bounds the pending table.
struct TableRange {
    u64 base = 0;
    u64 size = 0;
};
TableRange table_range(GicTableReg reg, u64 value, unsigned id_bits);

// GITS_BASER<n> with Indirect cleared: passage cannot vet the level-2
// pointers a guest would write into an indirect table's memory, so it
// offers flat tables only (Indirect is RAZ/WI where not supported, and
// Linux reads it back and falls back to a flat table).
u64 its_baser_flat(u64 value);

// True when [r.base, r.base + r.size) is empty or inside one range of `ram`.
bool inside_ram(const TableRange& r, std::span<const MemRange> ram);

}  // namespace passage::vcpu
