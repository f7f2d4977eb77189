#include "fake_smmu.h"

#include <cstdlib>
#include <cstring>

namespace passage::iommu::test {

namespace r = reg;

FakeSmmu::FakeSmmu()
{
    // As QEMU 10's: both stages, AArch64 tables, coherent, VMID16, two-level
    // stream tables; 16-bit StreamIDs, 2^19 events and commands; 44-bit OAS, 4K.
    idr[0] = u32(r::Idr0S1P::make(1) | r::Idr0S2P::make(1) | r::Idr0Ttf::make(2) | r::Idr0Cohacc::make(1) |
                 r::Idr0Vmid16::make(1) | r::Idr0StLevel::make(1));
    idr[1] = u32(r::Idr1SidSize::make(16) | r::Idr1EventqS::make(19) | r::Idr1CmdqS::make(19));
    idr[3] = 0;
    idr[5] = u32(r::Idr5Oas::make(4) | r::Idr5Gran4K::make(1));
}

u32 FakeSmmu::reg(u32 offset) const
{
    auto it = regs_.find(offset);
    return it == regs_.end() ? 0 : u32(it->second);
}

u32 FakeSmmu::read32(u32 offset)
{
    switch (offset) {
    case r::kIdr0: return idr[0];
    case r::kIdr1: return idr[1];
    case r::kIdr3: return idr[3];
    case r::kIdr5: return idr[5];
    }
    return reg(offset);
}

void FakeSmmu::write32(u32 offset, u32 value)
{
    writes.push_back({offset, value});
    // QEMU aliases page 0's 0xa8/0xac onto the event queue registers; the
    // architecture does not, so the model refuses them.
    if (offset == 0xa8 || offset == 0xac) page0_alias_written = true;
    switch (offset) {
    case r::kGbpa:
        regs_[offset] = gbpa_stuck ? value : (value & ~u32(r::GbpaUpdate::kMask));
        return;
    case r::kCr0:
        regs_[offset] = value;
        if (!cr0_stuck) regs_[r::kCr0Ack] = value;
        return;
    case r::kCmdqProd:
        regs_[offset] = value;
        process_commands();
        return;
    case r::kIrqCtrl:
        regs_[offset] = value;
        if (!irq_ctrl_stuck) regs_[r::kIrqCtrlAck] = value;
        return;
    case r::kEventqCons:
        if (((reg(offset) ^ value) & ~u32(r::QueueOverflow::kMask)) != 0 && !released_) ++unordered_cons_writes;
        regs_[offset] = value;
        if (flood) {
            ++floods;
            (void)raise_fault(u8(r::evt::kFTranslation), 0x20, 0x4020'0000, false);
        }
        return;
    case r::kGerrorN:
        regs_[offset] = value;
        if (((reg(r::kGerror) ^ value) & r::GerrorCmdqErr::kMask) == 0 && halted_) {
            halted_ = false;
            regs_[r::kCmdqCons] = reg(r::kCmdqCons) & ~u32(r::CmdqConsErr::kMask);
            process_commands();
        }
        return;
    }
    regs_[offset] = value;
}

void FakeSmmu::write64(u32 offset, u64 value)
{
    writes.push_back({offset, value});
    regs_[offset] = value;
}

void FakeSmmu::publish(const void* p, usize size) { published.push_back({p, size}); }

void FakeSmmu::process_commands()
{
    if (halted_ || (reg(r::kCr0) & r::Cr0CmdqEn::kMask) == 0) return;
    const u64 base = regs_[r::kCmdqBase];
    const u32 log2 = u32(r::QueueBaseLog2Size::get(base));
    auto* q = reinterpret_cast<u64*>(base & r::QueueBaseAddr::kMask);
    QueuePtr prod = QueuePtr::from_reg(log2, reg(r::kCmdqProd));
    QueuePtr cons = QueuePtr::from_reg(log2, reg(r::kCmdqCons));
    while (!queue_empty(prod, cons)) {
        Command c{{q[2 * cons.index()], q[2 * cons.index() + 1]}};
        switch (c.opcode()) {
        case r::cmd::kSync:
            if (sync_stuck) return;
            break;
        case r::cmd::kCfgiSte:
        case r::cmd::kCfgiSteRange:
        case r::cmd::kTlbiS12Vmall:
        case r::cmd::kTlbiS2Ipa:
        case r::cmd::kTlbiNsnhAll: break;
        default:
            halted_ = true;
            regs_[r::kCmdqCons] = cons.value | u32(r::CmdqConsErr::make(r::kCerrorIll));
            regs_[r::kGerror] = reg(r::kGerror) ^ u32(r::GerrorCmdqErr::kMask);
            return;
        }
        executed.push_back(c);
        cons = cons.next();
        regs_[r::kCmdqCons] = cons.value;
    }
}

bool FakeSmmu::raise_fault(u8 type, u32 sid, u64 addr, bool read)
{
    const u64 base = regs_[r::kEventqBase];
    const u32 log2 = u32(r::QueueBaseLog2Size::get(base));
    auto* q = reinterpret_cast<u64*>(base & r::QueueBaseAddr::kMask);
    const u32 raw_prod = reg(r::kEventqProd);
    QueuePtr prod = QueuePtr::from_reg(log2, raw_prod);
    QueuePtr cons = QueuePtr::from_reg(log2, reg(r::kEventqCons));
    const u32 ovf = raw_prod & u32(r::QueueOverflow::kMask);
    if (queue_full(prod, cons)) {
        // Lost: OVFLG toggles only when it is not already pending.
        if ((reg(r::kEventqCons) & r::QueueOverflow::kMask) == ovf) regs_[r::kEventqProd] = raw_prod ^ u32(r::QueueOverflow::kMask);
        return false;
    }
    u64* rec = q + 4 * prod.index();
    rec[0] = r::evt::Type::make(type) | r::evt::Sid::make(sid);
    rec[1] = r::evt::RnW::make(read ? 1 : 0) | r::evt::S2::make(1);
    rec[2] = addr;
    rec[3] = addr & r::evt::Ipa::kMask;
    regs_[r::kEventqProd] = prod.next().value | ovf;
    return true;
}

Aligned::Aligned(usize bytes) : p(std::aligned_alloc(bytes < 64 ? 64 : bytes, bytes < 64 ? 64 : bytes))
{
    std::memset(p, 0xa5, bytes);  // garbage: the driver must initialise what it uses
}
Aligned::~Aligned() { std::free(p); }

}  // namespace passage::iommu::test
