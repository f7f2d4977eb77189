// The SMMUv3 driver. See passage/iommu/smmuv3_driver.h.
#include "passage/iommu/smmuv3_driver.h"

#include "passage/format.h"

namespace passage::iommu {
namespace {

using ull = unsigned long long;


const char* cerror_name(u32 err)
{
    switch (err) {
    case reg::kCerrorIll: return "CERROR_ILL (illegal command)";
    case reg::kCerrorAbt: return "CERROR_ABT (abort reading the command)";
    case reg::kCerrorAtcInvSync: return "CERROR_ATC_INV_SYNC";
    }
    return "unknown command error";
}

}  // namespace

SmmuFeatures decode_features(u32 idr0, u32 idr1, u32 idr3, u32 idr5)
{
    SmmuFeatures f;
    f.stage1 = reg::Idr0S1P::get(idr0) != 0;
    f.stage2 = reg::Idr0S2P::get(idr0) != 0;
    f.aa64 = (reg::Idr0Ttf::get(idr0) & 0b10) != 0;
    f.coherent_hw = reg::Idr0Cohacc::get(idr0) != 0;
    f.vmid16 = reg::Idr0Vmid16::get(idr0) != 0;
    f.two_level = reg::Idr0StLevel::get(idr0) == 1;
    f.stall_forced = reg::Idr0StallModel::get(idr0) == 2;
    f.sid_bits = unsigned(reg::Idr1SidSize::get(idr1));
    f.cmdq_log2_max = unsigned(reg::Idr1CmdqS::get(idr1));
    f.evtq_log2_max = unsigned(reg::Idr1EventqS::get(idr1));
    f.fwb = reg::Idr3Fwb::get(idr3) != 0;
    f.oas = unsigned(reg::Idr5Oas::get(idr5));
    f.gran4k = reg::Idr5Gran4K::get(idr5) != 0;
    return f;
}

Status SmmuDriver::wait_ack(u32 offset, u32 mask, u32 value, const char* what, Diagnostic& diag)
{
    for (u32 i = 0; i < kSmmuPollBudget; ++i) {
        if ((hw_->read32(offset) & mask) == value) return {};
        hw_->relax();
    }
    return fail(diag, Error::Unsupported, offset, "SMMUv3 %s: %s not acknowledged after %u polls", name_, what,
                kSmmuPollBudget);
}

Status SmmuDriver::write_cr0(u32 value, Diagnostic& diag)
{
    hw_->write32(reg::kCr0, value);
    if (Status s = wait_ack(reg::kCr0Ack, ~u32{0}, value, "CR0 write", diag); !s) return s;
    cr0_ = value;
    return {};
}

Status SmmuDriver::probe(Diagnostic& diag)
{
    // Abort all incoming transactions before anything else, as Linux does
    // when firmware left the SMMU disabled with bypass open: until SMMUEN,
    // GBPA decides, and a guest-programmed device must not get through.
    if (Status s = wait_ack(reg::kGbpa, u32(reg::GbpaUpdate::kMask), 0, "GBPA update", diag); !s) return s;
    u32 gbpa = hw_->read32(reg::kGbpa);
    hw_->write32(reg::kGbpa, u32(reg::GbpaAbort::set(gbpa, 1) | reg::GbpaUpdate::kMask));
    if (Status s = wait_ack(reg::kGbpa, u32(reg::GbpaUpdate::kMask), 0, "GBPA update", diag); !s) return s;
    features_ = decode_features(hw_->read32(reg::kIdr0), hw_->read32(reg::kIdr1), hw_->read32(reg::kIdr3), hw_->read32(reg::kIdr5));
    cr0_ = hw_->read32(reg::kCr0);
    return {};
}

Status SmmuDriver::leave_in_bypass(Diagnostic& diag)
{
    if (Status s = write_cr0(0, diag); !s) return s;
    if (Status s = wait_ack(reg::kGbpa, u32(reg::GbpaUpdate::kMask), 0, "GBPA update", diag); !s) return s;
    const u32 gbpa = hw_->read32(reg::kGbpa);
    hw_->write32(reg::kGbpa, u32(reg::GbpaAbort::set(gbpa, 0) | reg::GbpaUpdate::kMask));
    return wait_ack(reg::kGbpa, u32(reg::GbpaUpdate::kMask), 0, "GBPA update", diag);
}

QueuePtr SmmuDriver::program_queue(QueueRegs regs, u64* entries, usize entry_dwords, u32 log2)
{
    const usize dwords = entry_dwords << log2;
    for (usize i = 0; i < dwords; ++i) entries[i] = 0;
    hw_->publish(entries, dwords * sizeof(u64));
    hw_->write64(regs.base, reg::QueueBaseAlloc::make(1) | (hw_->phys(entries) & reg::QueueBaseAddr::kMask) |
                                reg::QueueBaseLog2Size::make(log2));
    hw_->write32(regs.prod, 0);
    hw_->write32(regs.cons, 0);
    return {log2, 0};
}

Status SmmuDriver::enable(const SmmuMemory& mem, Diagnostic& diag)
{
    const SmmuFeatures& f = features_;
    if (!f.stage2)
        return fail(diag, Error::Unsupported, 0, "SMMUv3 %s has no stage 2 (IDR0.S2P = 0): it cannot confine DMA to the guest", name_);
    if (!f.aa64 || !f.gran4k)
        return fail(diag, Error::Unsupported, 0, "SMMUv3 %s cannot walk AArch64 tables with a 4 KiB granule", name_);
    // Stall forced (only allowed for SMMUs without PCI): a stage-2 STE with
    // S2S = 0 is ILLEGAL there, and passage does not resume stalled
    // transactions.
    if (f.stall_forced)
        return fail(diag, Error::Unsupported, 0,
                    "SMMUv3 %s forces the stall fault model (IDR0.STALL_MODEL = 2), which passage does not handle", name_);
    const bool two = mem.l1 != nullptr;
    const u32 sids = two ? mem.l1_log2 + SmmuMemory::kL2Log2 : mem.strtab_log2;
    if ((two ? mem.l2_pool == nullptr : mem.strtab == nullptr) || mem.cmdq == nullptr || mem.evtq == nullptr ||
        sids > f.sid_bits || mem.cmdq_log2 > f.cmdq_log2_max || mem.evtq_log2 > f.evtq_log2_max || mem.cmdq_log2 == 0 ||
        mem.evtq_log2 == 0)
        return fail(diag, Error::InvalidArgument, sids,
                    "SMMUv3 %s: tables of 2^%u STEs, 2^%u commands, 2^%u events do not fit its limits 2^%u, 2^%u, 2^%u",
                    name_, sids, mem.cmdq_log2, mem.evtq_log2, f.sid_bits, f.cmdq_log2_max, f.evtq_log2_max);
    if (two && !f.two_level)
        return fail(diag, Error::Unsupported, sids, "SMMUv3 %s has no two-level stream tables (IDR0.ST_LEVEL)", name_);
    mem_ = mem;
    l2_used_ = 0;

    // Off (GBPA aborts meanwhile), then tables and queues, then on.
    if (Status s = write_cr0(0, diag); !s) return s;
    const u32 cache = coherent_ ? 1 : 0;  // write-back, or non-cacheable without dma-coherent
    const u32 share = coherent_ ? 3 : 2;  // inner shareable, or outer for non-cacheable
    hw_->write32(reg::kCr1, u32(reg::Cr1Queue::make(cache, share) | reg::Cr1Table::make(cache, share)));
    hw_->write32(reg::kCr2, u32(reg::Cr2RecInvSid::make(1) | reg::Cr2Ptm::make(1)));
    // passage polls; no interrupt is routed to it. Acknowledged like CR0.
    hw_->write32(reg::kIrqCtrl, 0);
    if (Status s = wait_ack(reg::kIrqCtrlAck, ~u32{0}, 0, "IRQ_CTRL write", diag); !s) return s;

    if (two) {
        // Every level-1 descriptor invalid (Span 0): no STE, the SMMU
        // refuses the stream. Level-2 tables come as STEs are set.
        const usize n = usize{1} << mem.l1_log2;
        for (usize i = 0; i < n; ++i) mem.l1[i] = 0;
        hw_->publish(mem.l1, n * sizeof(u64));
        hw_->write64(reg::kStrtabBase, reg::StrtabBaseRa::make(1) | (hw_->phys(mem.l1) & reg::StrtabBaseAddr::kMask));
        hw_->write32(reg::kStrtabBaseCfg, u32(reg::StrtabCfgFmt::make(1) | reg::StrtabCfgSplit::make(SmmuMemory::kL2Log2) |
                                              reg::StrtabCfgLog2Size::make(sids)));
    } else {
        const usize entries = usize{1} << mem.strtab_log2;
        for (usize i = 0; i < entries; ++i) mem.strtab[i] = abort_ste();
        hw_->publish(mem.strtab, entries * sizeof(Ste));
        hw_->write64(reg::kStrtabBase, reg::StrtabBaseRa::make(1) | (hw_->phys(mem.strtab) & reg::StrtabBaseAddr::kMask));
        hw_->write32(reg::kStrtabBaseCfg, u32(reg::StrtabCfgFmt::make(0) | reg::StrtabCfgLog2Size::make(mem.strtab_log2)));
    }

    cmd_prod_ = program_queue({reg::kCmdqBase, reg::kCmdqProd, reg::kCmdqCons}, mem.cmdq, 2, mem.cmdq_log2);
    evt_cons_ = program_queue({reg::kEventqBase, reg::kEventqProd, reg::kEventqCons}, mem.evtq, 4, mem.evtq_log2);

    if (Status s = write_cr0(u32(reg::Cr0CmdqEn::kMask), diag); !s) return s;
    // Whatever firmware or an earlier boot left cached goes.
    const Command start[] = {cmd_cfgi_all(), cmd_tlbi_nsnh_all()};
    if (Status s = submit(start, diag); !s) return s;
    if (Status s = write_cr0(u32(reg::Cr0CmdqEn::kMask | reg::Cr0EventqEn::kMask), diag); !s) return s;
    (void)take_global_errors();
    if (Status s = write_cr0(u32(reg::Cr0CmdqEn::kMask | reg::Cr0EventqEn::kMask | reg::Cr0SmmuEn::kMask), diag); !s)
        return s;
    enabled_ = true;
    return {};
}

Result<Ste*> SmmuDriver::ste_slot(u32 sid, Diagnostic& diag)
{
    if ((mem_.strtab == nullptr && mem_.l1 == nullptr) || sid >= stream_count())
        return fail(diag, Error::OutOfRange, sid, "SMMUv3 %s: StreamID 0x%x is beyond its stream table of %u entries", name_,
                    sid, mem_.strtab == nullptr && mem_.l1 == nullptr ? 0u : stream_count());
    if (!two_level()) return &mem_.strtab[sid];
    const u32 group = sid >> SmmuMemory::kL2Log2;
    const u32 index = sid & ((u32{1} << SmmuMemory::kL2Log2) - 1);
    u64& desc = mem_.l1[group];
    if (reg::L1Span::get(desc) == 0) {
        if (l2_used_ == mem_.l2_count)
            return fail(diag, Error::NoMemory, sid, "SMMUv3 %s: StreamID 0x%x needs a level-2 stream table; all %u are in use",
                        name_, sid, mem_.l2_count);
        Ste* l2 = mem_.l2_pool + (usize{l2_used_++} << SmmuMemory::kL2Log2);
        for (usize i = 0; i < (usize{1} << SmmuMemory::kL2Log2); ++i) l2[i] = abort_ste();
        hw_->publish(l2, sizeof(Ste) << SmmuMemory::kL2Log2);
        // Span = log2(STEs) + 1; the table must be in memory before the descriptor.
        __atomic_store_n(&desc, reg::L1Span::make(SmmuMemory::kL2Log2 + 1) | (hw_->phys(l2) & reg::L1L2Ptr::kMask),
                         __ATOMIC_RELAXED);
        hw_->publish(&desc, sizeof desc);
        if (enabled_) {
            const Command c[] = {cmd_cfgi_ste_range(group << SmmuMemory::kL2Log2, SmmuMemory::kL2Log2)};
            if (Status s = submit(c, diag); !s) return s.failure();
        }
    }
    // EL2 runs identity-mapped and the host model's "physical" addresses
    // are its pointers: the descriptor's address is the table's.
    return reinterpret_cast<Ste*>(reg::L1L2Ptr::get(desc) << 6) + index;
}

Status SmmuDriver::set_ste(u32 sid, const Ste& ste, Diagnostic& diag)
{
    auto at = ste_slot(sid, diag);
    if (!at) return at.failure();
    Ste& slot = **at;
    for (usize i = 1; i < 8; ++i) __atomic_store_n(&slot.dw[i], ste.dw[i], __ATOMIC_RELAXED);
    hw_->publish(&slot, sizeof slot);
    __atomic_store_n(&slot.dw[0], ste.dw[0], __ATOMIC_RELAXED);
    hw_->publish(&slot, sizeof slot);
    if (!enabled_) return {};
    const Command c[] = {cmd_cfgi_ste(sid)};
    return submit(c, diag);
}

Status SmmuDriver::push(const Command& c, Diagnostic& diag)
{
    // Wait for room: the SMMU consumes as it goes.
    for (u32 i = 0;; ++i) {
        QueuePtr cons = QueuePtr::from_reg(mem_.cmdq_log2, hw_->read32(reg::kCmdqCons));
        if (!queue_full(cmd_prod_, cons)) break;
        if (i == kSmmuPollBudget)
            return fail(diag, Error::Unsupported, cons.value, "SMMUv3 %s: command queue stays full (CONS 0x%x)", name_, cons.value);
        hw_->relax();
    }
    u64* slot = mem_.cmdq + 2 * cmd_prod_.index();
    slot[0] = c.dw[0];
    slot[1] = c.dw[1];
    hw_->publish(slot, 16);
    cmd_prod_ = cmd_prod_.next();
    return {};
}

Status SmmuDriver::submit(std::span<const Command> cmds, Diagnostic& diag)
{
    if (mem_.cmdq == nullptr) return fail(diag, Error::InvalidArgument, 0, "SMMUv3 %s: no command queue yet", name_);
    for (const Command& c : cmds) {
        if (Status s = push(c, diag); !s) return s;
        hw_->write32(reg::kCmdqProd, cmd_prod_.value);
    }
    const QueuePtr sync_at = cmd_prod_;
    if (Status s = push(cmd_sync(), diag); !s) return s;
    hw_->write32(reg::kCmdqProd, cmd_prod_.value);
    // Done when CONS has moved past the CMD_SYNC: CONS == PROD.
    for (u32 i = 0; i < kSmmuPollBudget; ++i) {
        u32 raw = hw_->read32(reg::kCmdqCons);
        QueuePtr cons = QueuePtr::from_reg(mem_.cmdq_log2, raw);
        if (queue_empty(cmd_prod_, cons)) return {};
        u32 gerror = hw_->read32(reg::kGerror) ^ hw_->read32(reg::kGerrorN);
        if (reg::GerrorCmdqErr::get(gerror) != 0) {
            // The SMMU stopped at CONS. Replace the bad command with a
            // CMD_SYNC (harmless) and acknowledge, so the queue goes on.
            u32 err = u32(reg::CmdqConsErr::get(raw));
            u64* slot = mem_.cmdq + 2 * cons.index();
            const u64 opcode = reg::cmd::Opcode::get(slot[0]);
            const Command skip = cmd_sync();
            slot[0] = skip.dw[0];
            slot[1] = skip.dw[1];
            hw_->publish(slot, 16);
            hw_->write32(reg::kGerrorN, hw_->read32(reg::kGerrorN) ^ u32(reg::GerrorCmdqErr::kMask));
            return fail(diag, Error::InvalidArgument, opcode, "SMMUv3 %s: command 0x%02llx at queue index %u refused: %s", name_,
                        (ull)opcode, cons.index(), cerror_name(err));
        }
        hw_->relax();
    }
    return fail(diag, Error::Unsupported, sync_at.value, "SMMUv3 %s: CMD_SYNC at queue index %u not done after %u polls", name_,
                sync_at.index(), kSmmuPollBudget);
}

bool SmmuDriver::next_event(Event& e)
{
    if (mem_.evtq == nullptr) return false;
    const u32 raw = hw_->read32(reg::kEventqProd);
    const QueuePtr prod = QueuePtr::from_reg(mem_.evtq_log2, raw);
    const u32 ovflg = u32(reg::QueueOverflow::get(raw));
    const u32 ovack = u32(reg::QueueOverflow::get(hw_->read32(reg::kEventqCons)));
    if (ovflg != ovack) {
        // Records were lost while the queue was full; acknowledge the
        // overflow with the next CONS write.
        ++overflows_;
        hw_->write32(reg::kEventqCons, evt_cons_.value | u32(reg::QueueOverflow::make(ovflg)));
    }
    if (queue_empty(prod, evt_cons_)) return false;
    u64* slot = mem_.evtq + 4 * evt_cons_.index();
    hw_->fetch(slot, 32);
    const u64 rec[4] = {slot[0], slot[1], slot[2], slot[3]};
    e = decode_event(rec);
    evt_cons_ = evt_cons_.next();
    hw_->release();  // the record is read before the SMMU may reuse its slot
    hw_->write32(reg::kEventqCons, evt_cons_.value | u32(reg::QueueOverflow::make(ovflg)));
    return true;
}

u32 SmmuDriver::take_global_errors()
{
    const u32 active = (hw_->read32(reg::kGerror) ^ hw_->read32(reg::kGerrorN)) & reg::kGerrorKnown;
    if (active != 0) hw_->write32(reg::kGerrorN, hw_->read32(reg::kGerrorN) ^ active);
    return active;
}

}  // namespace passage::iommu
