// The guest's synchronous exceptions: PSCI and SMCCC through HVC or SMC, and
// aborts outside the plan, which become external aborts in the guest.
// Whatever else arrives becomes an undefined instruction. Every path is
// short and ends in resuming the guest (or powering off for it).
//
// From AArch32 EL0 (the guest's EL1 is AArch64) only stage-2 aborts are
// expected: HVC and SMC are UNDEFINED at EL0 (TSC does not apply there),
// HCR_EL2.TGE, MDCR_EL2.TDE/TDA/TPM, the TID and TW bits are clear, CPTR_EL2
// leaves FP alone and CNTHCTL_EL2 the counter. A coprocessor trap that does
// come (HSTR_EL2 left set by firmware, a trap added later) and whose
// condition fails is skipped, as the instruction would have done nothing;
// any other becomes an undefined instruction.
#include "guest.h"
#include "machine.h"
#include "passage/esr.h"
#include "passage/log.h"
#include "passage/vcpu/aarch32.h"
#include "passage/vcpu/inject.h"
#include "passage/vcpu/mmio_access.h"
#include "passage/vcpu/mops.h"
#include "psci.h"
#include "spinlock.h"
#include "sysreg.h"

namespace passage::arch {
namespace {

using ull = unsigned long long;

// Guest-triggered lines are rate limited: a guest looping on a bad access,
// a failing CPU_ON or an unknown instruction must not keep passage printing.
constinit LogBudget g_abort_log{8};
constinit LogBudget g_cpu_on_log{4};
constinit LogBudget g_unhandled_log{8};
constinit LogBudget g_mops_log{4};

void report_end(const vcpu::TrapHandlers& h)
{
    if (h.report_end != nullptr) h.report_end(h.context);
}

void apply(TrapFrame& f, const vcpu::Injection& in)
{
    write_esr_el1(in.esr_el1);
    if (in.set_far) write_far_el1(in.far_el1);
    write_elr_el1(in.elr_el1);
    write_spsr_el1(in.spsr_el1);
    f.elr = in.elr_el2;
    f.spsr = in.spsr_el2;
}

vcpu::El1State el1_state(const GuestContext& g)
{
    const vcpu::EntryFeatures& e = g.hw.entry;
    return {read_vbar_el1(), read_sctlr_el1(), e.mte, e.nmi};
}

void handle_psci_call(GuestContext& g, CallFrame& f)
{
    usize cpu = this_cpu();
    // The CPU table's lock only where it is used: every other call is
    // answered without touching shared state.
    bool table = vcpu::psci_uses_cpu_table(f.x[0]);
    if (table) g.cpus_lock->lock();
    vcpu::PsciOutcome o = vcpu::handle_psci(*g.cpus, cpu, g.ram.data(), g.ram.size(), f.x[0], f.x[1], f.x[2], f.x[3]);
    if (table) g.cpus_lock->unlock();

    switch (o.action) {
    case vcpu::PsciAction::Return: f.x[0] = static_cast<u64>(o.ret); return;
    case vcpu::PsciAction::Forward: {
        SmcccResult r = smccc_call(g_machine.psci, o.fid, o.arg1, f.x[2], f.x[3]);
        f.x[0] = r.x0;
        f.x[1] = r.x1;
        f.x[2] = r.x2;
        f.x[3] = r.x3;
        return;
    }
    case vcpu::PsciAction::CpuOn: {
        i64 r = start_cpu(g, o.cpu, o.entry, o.context);
        if (r != 0) {
            if (LogBudget::Slot slot = g_cpu_on_log.take(); slot != LogBudget::Slot::None)
                log_warn("guest CPU_ON of cpu%zu: the firmware answered %lld%s", o.cpu, (long long)r,
                         slot == LogBudget::Slot::Last ? " (further failures are not logged)" : "");
            g.cpus_lock->lock();
            vcpu::psci_cpu_on_failed(*g.cpus, o.cpu, o.prior);
            g.cpus_lock->unlock();
        }
        f.x[0] = static_cast<u64>(r);
        return;
    }
    case vcpu::PsciAction::AskFirmwareOff: {
        // Only the firmware knows when a CPU that called CPU_OFF is off.
        u64 mpidr = g.cpus->mpidr[o.cpu];
        i64 fw = static_cast<i64>(psci_call(g_machine.psci, vcpu::psci_fn::kAffinityInfo64, mpidr, 0));
        g.cpus_lock->lock();
        f.x[0] = static_cast<u64>(vcpu::psci_affinity_answer(*g.cpus, o.cpu, fw));
        g.cpus_lock->unlock();
        return;
    }
    case vcpu::PsciAction::CpuOff: {
        (void)psci_call(g_machine.psci, vcpu::psci_fn::kCpuOff);
        // Still here: the firmware refused, and the CPU is on.
        g.cpus_lock->lock();
        f.x[0] = static_cast<u64>(vcpu::psci_cpu_off_refused(*g.cpus, o.cpu));
        g.cpus_lock->unlock();
        return;
    }
    case vcpu::PsciAction::SystemOff:
        report_end(g.handlers);
        log_info("passage: the guest asked for SYSTEM_OFF; powering off");
        system_off(g_machine.psci);
    case vcpu::PsciAction::SystemReset:
        report_end(g.handlers);
        log_info("passage: the guest asked for SYSTEM_RESET");
        (void)psci_call(g_machine.psci, vcpu::psci_fn::kSystemReset);
        system_off(g_machine.psci);
    }
}

// Out of line and cold: the message needs a buffer and a call the abort
// path itself does not, and is printed only a few times (g_abort_log).
[[gnu::noinline, gnu::cold]] void log_abort(const vcpu::TrapHandlers& h, const TrapFrame& f, bool instruction,
                                            bool write, LogBudget::Slot slot)
{
    u64 ipa = vcpu::fault_ipa(f.hpfar, f.far);
    char why[128];
    if (!instruction && h.explain_abort != nullptr && h.explain_abort(h.context, ipa, why, sizeof why))
        log_warn("guest %s at IPA 0x%llx (PC 0x%llx): PCI %s; external abort injected%s", write ? "write" : "read",
                 (ull)ipa, (ull)f.elr, why, slot == LogBudget::Slot::Last ? " (further aborts are not logged)" : "");
    else
        log_warn("guest %s at IPA 0x%llx (VA 0x%llx, PC 0x%llx) is outside its address space: external abort injected%s",
                 instruction ? "instruction fetch" : write ? "write" : "read", (ull)ipa, (ull)f.far, (ull)f.elr,
                 slot == LogBudget::Slot::Last ? " (further aborts are not logged)" : "");
}

// An external abort in the guest for the abort in f: only the syndrome,
// ELR and SPSR are needed, not the guest's registers. No call: the fast
// path's common end needs no stack frame.
[[gnu::always_inline]] inline void inject_now(const GuestContext& g, TrapFrame& f, bool instruction)
{
    const bool write = !instruction && esr::WnR::get(f.esr) != 0;
    apply(f, vcpu::inject_external_abort(f.elr, f.spsr, f.far, instruction, write, read_vbar_el1(),
                                         g.hw.entry_rules(read_sctlr_el1())));
}

// An abort no handler resumed becomes an external abort in the guest, and
// one the guest did not aim at a handler's range is logged (rate limited).
void inject_abort(GuestContext& g, TrapFrame& f, bool instruction, vcpu::AbortOutcome outcome)
{
    if (outcome == vcpu::AbortOutcome::NotMine)
        if (LogBudget::Slot slot = g_abort_log.take(); slot != LogBudget::Slot::None)
            log_abort(g.handlers, f, instruction, !instruction && esr::WnR::get(f.esr) != 0, slot);
    inject_now(g, f, instruction);
}

void handle_abort(GuestContext& g, TrapFrame& f, bool instruction)
{
    using vcpu::AbortOutcome;
    const vcpu::TrapHandlers& h = g.handlers;
    AbortOutcome outcome = AbortOutcome::NotMine;
    // One range look-up picks the handler before any call; an abort outside
    // every range (a hole in the guest's address space) is injected at once.
    const u64 ipa = vcpu::fault_ipa(f.hpfar, f.far);
    if (u8 owner = h.routes.owner_of(ipa); !instruction && owner < h.kMaxAbortHandlers) {
        // The plain 32-bit load first: no decoding, one call.
        if (int reg = vcpu::plain_word_load_register(f.esr, f.spsr); reg >= 0 && h.word_read[owner] != nullptr) {
            u32 value = 0;
            if (h.word_read[owner](h.context, ipa, value)) return vcpu::finish_word_load(f, reg, value);
        }
        if (h.data_abort[owner] != nullptr)
            outcome = h.data_abort[owner](h.context, f, vcpu::decode_mmio(f.esr, f.hpfar, f.far, f.spsr));
    }
    if (outcome == AbortOutcome::Resume) return;
    inject_abort(g, f, instruction, outcome);
}

// A memory copy/set exception from the guest's EL1 (HCRX_EL2.MCE2): the
// sequence restarts at its prologue (mops.h).
void handle_mops(TrapFrame& f)
{
    u64 pc = f.elr;
    vcpu::mops_rewind(f.esr, f.x, f.elr, f.spsr);
    LogBudget::Slot slot = g_mops_log.take();
    if (slot != LogBudget::Slot::None)
        log_info("guest memory copy/set exception at PC 0x%llx: restarted at its prologue, 0x%llx%s", (ull)pc,
                 (ull)f.elr, slot == LogBudget::Slot::Last ? " (further ones are not logged)" : "");
}

}  // namespace

void handle_guest_call(CallFrame& f)
{
    GuestContext& g = current_guest();
    if (g.handlers.poll != nullptr) g.handlers.poll(g.handlers.context);
    handle_psci_call(g, f);
}

namespace {

// The fast path's calls, out of line so that its common ends need no stack
// frame: an injection that polls the SMMUs or logs, and a plain word load
// offered to its owner.
[[gnu::noinline, gnu::cold]] bool inject_with_calls(GuestContext& g, TrapFrame& f, bool instruction)
{
    if (g.handlers.poll != nullptr) g.handlers.poll(g.handlers.context);
    inject_abort(g, f, instruction, vcpu::AbortOutcome::NotMine);
    return true;
}

// An abort outside every handler's range, injected. A guest that keeps
// poking where it must not, once the log has said so, costs no call here.
[[gnu::noinline]] bool inject_fast(GuestContext& g, TrapFrame& f)
{
    const bool instruction = esr::EC::get(f.esr) == esr::kEcInstAbortLower;
    if (g.handlers.poll != nullptr || g_abort_log.open()) return inject_with_calls(g, f, instruction);
    inject_now(g, f, instruction);
    return true;
}

// A plain 32-bit load from a handler's range, into a register the fast
// frame holds, answered by the handler's word_read.
[[gnu::noinline]] bool word_read_fast(GuestContext& g, TrapFrame& f, u8 owner, u64 ipa)
{
    const vcpu::TrapHandlers& h = g.handlers;
    // An instruction abort is not a plain load: it goes on, to its full report.
    const int reg = vcpu::plain_word_load_register(f.esr, f.spsr);
    if (reg < 0 || !vcpu::in_fast_frame(reg) || h.word_read[owner] == nullptr) return false;
    if (h.poll != nullptr) h.poll(h.context);  // first: nothing of g is needed after the read
    u32 value = 0;
    if (!h.word_read[owner](h.context, ipa, value)) return false;
    vcpu::finish_word_load(f, reg, value);
    return true;
}

}  // namespace

// HVC and SMC never come here: vectors.S sends them to handle_guest_call.
void handle_guest_sync(TrapFrame& f)
{
    GuestContext& g = current_guest();
    if (g.handlers.poll != nullptr) g.handlers.poll(g.handlers.context);
    u32 ec = static_cast<u32>(esr::EC::get(f.esr));
    switch (ec) {
    case esr::kEcDataAbortLower: handle_abort(g, f, false); return;
    case esr::kEcInstAbortLower: handle_abort(g, f, true); return;
    case vcpu::kEcMops: handle_mops(f); return;
    default: {
        if (vcpu::from_aarch32(f.spsr) && vcpu::has_condition(ec) && !vcpu::condition_passed(f.esr, f.spsr)) {
            vcpu::advance(f);  // a conditional instruction that failed its condition
            return;
        }
        if (LogBudget::Slot slot = g_unhandled_log.take(); slot != LogBudget::Slot::None) {
            char what[160];
            esr::describe(f.esr, what, sizeof what);
            log_warn("guest trap not handled (%s) at PC 0x%llx: undefined instruction injected%s", what, (ull)f.elr,
                     slot == LogBudget::Slot::Last ? " (further ones are not logged)" : "");
        }
        apply(f, vcpu::inject_undefined(f.elr, f.spsr, el1_state(g)));
        return;
    }
    }
}

}  // namespace passage::arch

// vectors.S's guest_abort (extern "C": no wrapper on this path). Only
// x0-x18, x30 and the syndrome registers are in the frame (mmio_access.h,
// in_fast_frame). What needs nothing else is answered here: an abort
// outside every handler's range is injected, a plain word load a handler
// answers is finished. Anything else returns false having changed nothing
// the guest can see (the SMMUs' event queues may have been polled: that
// only reports) and takes the full path through handle_guest_sync.
extern "C" bool el2_guest_abort(passage::TrapFrame& f)
{
    using namespace passage;
    using namespace passage::arch;
    GuestContext& g = current_guest();
    const u64 ipa = vcpu::fault_ipa(f.hpfar, f.far);
    const u8 owner = g.handlers.routes.owner_of(ipa);
    if (owner >= g.handlers.kMaxAbortHandlers) return inject_fast(g, f);
    return word_read_fast(g, f, owner, ipa);
}
