// The table vectors.S's call fast path looks function IDs up in, built at
// compile time from psci.h's list (fast_calls.h), read-only.
#include "asm_defs.h"
#include "passage/esr.h"
#include "passage/vcpu/fast_calls.h"

namespace passage::arch {
namespace {

using vcpu::FastCallEntry;
using vcpu::FastCallTable;
static_assert(__builtin_offsetof(FastCallTable, entry) == FAST_CALLS_ENTRIES);
static_assert(sizeof(FastCallEntry) == FAST_CALL_ENTRY_SIZE);
static_assert(__builtin_offsetof(FastCallEntry, answer) == FAST_CALL_ANSWER);
static_assert(__builtin_offsetof(FastCallEntry, needs_cpp) == FAST_CALL_ANSWER + 4);
static_assert(__builtin_offsetof(FastCallEntry, count) == 4);
static_assert(esr::kEcHvc64 == ESR_EC_HVC64 && esr::kEcSmc64 == ESR_EC_SMC64 && esr::EC::kLow == ESR_EC_SHIFT);
static_assert(u32(~vcpu::kSmcccSveHint) == SMCCC_SVE_HINT_CLEAR);

}  // namespace
}  // namespace passage::arch

extern "C" constinit const passage::vcpu::FastCallTable passage_fast_calls = passage::vcpu::build_fast_call_table();
