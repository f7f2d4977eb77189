// What the trap path asks of the composition root (boot/), which registers
// it: the arch layer knows nothing of config space, the GIC's table frames
// or the SMMUs, only that some stage-2 data aborts are someone's to answer,
// that something wants a look at each trap, and that something has a line
// to say when the guest ends. Each handler gets `context` back (the guest).
#pragma once

#include "passage/types.h"
#include "passage/vcpu/abort_routes.h"
#include "passage/vcpu/mmio_access.h"
#include "passage/vcpu/trap_frame.h"

namespace passage::vcpu {

// What a data-abort handler did with the abort.
enum class AbortOutcome : u8 {
    NotMine,        // not one it can answer: the guest gets an external abort
    Resume,         // answered (or stage 2 maps the address now): the guest resumes
    InjectQuietly,  // the handler's, but not emulable; it logged why: inject an external abort
};

struct TrapHandlers {
    static constexpr usize kMaxAbortHandlers = 2;

    void* context = nullptr;
    // A stage-2 data abort whose IPA `routes` gives to handler n goes to
    // data_abort[n] alone, decoded once (`abort.access.ipa` is the IPA
    // even when the syndrome cannot be decoded); one outside every route,
    // or whose handler says NotMine, gets an external abort.
    AbortOutcome (*data_abort[kMaxAbortHandlers])(void* context, TrapFrame& frame, const MmioDecode& abort) = {};
    AbortRoutes routes;
    // Optional, per handler: answers a plain 32-bit load at ipa routed to
    // handler n before data_abort[n] is asked (true, value set), or false to
    // leave it to data_abort[n]. The hot config read (vpci_cfg_read_insns).
    bool (*word_read[kMaxAbortHandlers])(void* context, u64 ipa, u32& value) = {};
    // For an abort no handler took: a reason to log instead of "outside its
    // address space" (true and `why` filled), or false.
    bool (*explain_abort)(void* context, u64 ipa, char* why, usize size) = nullptr;
    // On every trap, before it is handled (DMA faults reach the log while
    // the guest runs).
    void (*poll)(void* context) = nullptr;
    // When the guest powers off or resets: the end-of-guest lines.
    void (*report_end)(void* context) = nullptr;
};

}  // namespace passage::vcpu
