// The GIC's table-address registers at EL2. See gic_tables.h.
#include "gic_tables.h"

#include "passage/log.h"
#include "passage/panic.h"
#include "passage/vcpu/gic_tables.h"
#include "passage/vcpu/mmio_access.h"

namespace passage {
namespace {

using ull = unsigned long long;
using vcpu::GicTableReg;

constexpr u64 kFrame = 64 * KiB;

struct Frame {
    u64 base = 0;
    bool its = false;
};

constexpr usize kMaxFrames = Platform::kMaxCpus * 2 + Gic::kMaxIts;
constinit Frame g_frames[kMaxFrames];
constinit usize g_frame_count = 0;
unsigned g_id_bits = 16;
LogBudget g_refused_log{8};

u64 mmio_read(u64 pa, u8 size)
{
    switch (size) {
    case 1: return *reinterpret_cast<volatile u8*>(pa);
    case 2: return *reinterpret_cast<volatile u16*>(pa);
    case 4: return *reinterpret_cast<volatile u32*>(pa);
    default: return *reinterpret_cast<volatile u64*>(pa);
    }
}

void mmio_write(u64 pa, u8 size, u64 v)
{
    switch (size) {
    case 1: *reinterpret_cast<volatile u8*>(pa) = u8(v); break;
    case 2: *reinterpret_cast<volatile u16*>(pa) = u16(v); break;
    case 4: *reinterpret_cast<volatile u32*>(pa) = u32(v); break;
    default: *reinterpret_cast<volatile u64*>(pa) = v; break;
    }
}

const char* reg_name(GicTableReg r)
{
    switch (r) {
    case GicTableReg::PropBaser: return "GICR_PROPBASER";
    case GicTableReg::PendBaser: return "GICR_PENDBASER";
    case GicTableReg::ItsCbaser: return "GITS_CBASER";
    case GicTableReg::ItsBaser: return "GITS_BASER";
    case GicTableReg::RdCtlr: return "GICR_CTLR.EnableLPIs";
    case GicTableReg::ItsCtlr: return "GITS_CTLR.Enabled";
    default: return "?";
    }
}

// Whether `value` in `reg` keeps the GIC inside guest RAM; logs a refusal.
bool vet(std::span<const MemRange> ram, GicTableReg reg, u64 value, u64 where, GicTableReg why)
{
    vcpu::TableRange r = vcpu::table_range(reg, value, g_id_bits);
    if (vcpu::inside_ram(r, ram)) return true;
    if (LogBudget::Slot s = g_refused_log.take(); s != LogBudget::Slot::None)
        log_warn("guest %s at 0x%llx: %s 0x%llx would make the GIC access 0x%llx-0x%llx, outside guest RAM: write ignored%s",
                 reg_name(why), (ull)where, reg_name(reg), (ull)value, (ull)r.base, (ull)(r.base + r.size - 1),
                 s == LogBudget::Slot::Last ? " (further refusals are not logged)" : "");
    return false;
}

// The value a write leaves in a 64-bit register: a 4-byte write replaces one half.
u64 merged(u64 pa_reg, u32 offset_in_reg, u8 size, u64 value)
{
    if (size == 8) return value;
    const u64 old = mmio_read(pa_reg, 8);
    const unsigned shift = offset_in_reg * 8;
    const u64 mask = (size == 4 ? 0xffff'ffffull : size == 2 ? 0xffffull : 0xffull) << shift;
    return (old & ~mask) | ((value << shift) & mask);
}

// A write to a table register or an enable: true if it may go through
// (value possibly adjusted: an ITS table made flat).
bool allow_write(std::span<const MemRange> ram, const Frame& fr, GicTableReg reg, u32 reg_off, u32 in_reg, u8 size,
                 u64& value)
{
    const u64 pa_reg = fr.base + reg_off;
    switch (reg) {
    case GicTableReg::PropBaser:
    case GicTableReg::PendBaser:
    case GicTableReg::ItsCbaser: return vet(ram, reg, merged(pa_reg, in_reg, size, value), pa_reg, reg);
    case GicTableReg::ItsBaser: {
        // Flat tables only: Indirect (bit 62) reads back 0.
        if (size == 8) value &= ~(u64{1} << 62);
        else if (in_reg == 4 && size == 4) value &= ~(u64{1} << 30);
        return vet(ram, reg, vcpu::its_baser_flat(merged(pa_reg, in_reg, size, value)), pa_reg, reg);
    }
    case GicTableReg::RdCtlr:
        if ((value & 1) == 0) return true;  // EnableLPIs not being set
        return vet(ram, GicTableReg::PropBaser, mmio_read(fr.base + 0x70, 8), pa_reg, reg) &&
               vet(ram, GicTableReg::PendBaser, mmio_read(fr.base + 0x78, 8), pa_reg, reg);
    case GicTableReg::ItsCtlr: {
        if ((value & 1) == 0) return true;  // Enabled not being set
        bool ok = vet(ram, GicTableReg::ItsCbaser, mmio_read(fr.base + 0x80, 8), pa_reg, reg);
        for (u32 n = 0; n < 8 && ok; ++n) ok = vet(ram, GicTableReg::ItsBaser, mmio_read(fr.base + 0x100 + 8 * n, 8), pa_reg, reg);
        return ok;
    }
    default: return true;
    }
}

}  // namespace

void gic_tables_prepare(const Platform& p, plan::GuestPlan& plan)
{
    if (p.gic.version != GicVersion::V3) return;
    const u64 typer = mmio_read(p.gic.dist.base + 0x4, 4);  // GICD_TYPER.IDbits [23:19]
    g_id_bits = unsigned((typer >> 19) & 0x1f) + 1;
    Diagnostic d;
    auto add = [&](u64 base, bool its) {
        if (g_frame_count == kMaxFrames) return;
        if (!plan::carve_out(plan, {base, kFrame}, d)) {
            log_warn("GIC: %s frame at 0x%llx stays mapped: %s", its ? "ITS control" : "redistributor RD_base", (ull)base, d.text);
            return;
        }
        g_frames[g_frame_count++] = {base, its};
    };
    for (usize r = 0; r < p.gic.redist_count; ++r) {
        const MemRange& region = p.gic.redist[r];
        // Redistributors follow each other: RD_base, SGI_base (and VLPI
        // frames with GICR_TYPER.VLPIS) until GICR_TYPER.Last.
        for (u64 off = 0; off + 2 * kFrame <= region.size;) {
            const u64 gicr_typer = mmio_read(region.base + off + 0x8, 8);
            add(region.base + off, false);
            if ((gicr_typer >> 4) & 1) break;  // Last
            off += ((gicr_typer >> 1) & 1) ? 4 * kFrame : 2 * kFrame;
        }
    }
    for (usize i = 0; i < p.gic.its_count; ++i) add(p.gic.its[i].base, true);
    log_info("GIC: %zu table-address frames trapped (RD_base, ITS control): LPI and ITS tables only in guest RAM, "
             "%u interrupt ID bits", g_frame_count, g_id_bits);
}

void gic_tables_routes(vcpu::AbortRoutes& routes, u8 owner)
{
    // RD_base frames come every 128 or 256 KiB: one run for the lot (the
    // SGI frames between are mapped and never abort).
    for (usize i = 0; i < g_frame_count; ++i)
        if (!routes.extend_last(g_frames[i].base, kFrame, owner, 3 * kFrame) && !routes.add(g_frames[i].base, kFrame, owner))
            panic("GIC: no room to route the trapped frame at 0x%llx (%zu routes)", (ull)g_frames[i].base, routes.size());
}

vcpu::AbortOutcome gic_tables_handle_abort(void* context, TrapFrame& f, const vcpu::MmioDecode& d)
{
    const El2Guest& guest = *static_cast<const El2Guest*>(context);
    const u64 ipa = d.access.ipa;
    const Frame* fr = nullptr;
    for (usize i = 0; i < g_frame_count && !fr; ++i)
        if (ipa >= g_frames[i].base && ipa < g_frames[i].base + kFrame) fr = &g_frames[i];
    if (fr == nullptr) return vcpu::AbortOutcome::NotMine;
    if (!d.ok() || (d.access.ipa & (d.access.size - 1)) != 0) return vcpu::AbortOutcome::NotMine;  // an abort is injected by the caller
    const vcpu::MmioAccess& a = d.access;
    const u32 offset = u32(a.ipa - fr->base);
    u32 reg_off = 0;
    const GicTableReg reg = fr->its ? vcpu::gits_table_reg(offset, reg_off) : vcpu::gicr_table_reg(offset, reg_off);
    const u64 pa = a.ipa;  // identity: the GIC's frames are where the guest sees them
    if (a.write) {
        u64 value = vcpu::read_source(f, a);
        const std::span<const MemRange> ram{guest.plan.ram, guest.plan.ram_count};
        if (allow_write(ram, *fr, reg, reg_off, offset - reg_off, a.size, value)) mmio_write(pa, a.size, value);
    } else {
        vcpu::complete_load(f, a, mmio_read(pa, a.size));
    }
    vcpu::advance(f);
    return vcpu::AbortOutcome::Resume;
}

}  // namespace passage
