// The bench mode: instead of its checks, the guest measures passage's trap
// paths in instructions and prints them as `guest-bench: name: value` lines
// (bench/guest/bench_guest_trap.sh collects them for scripts/bench.sh).
// Selected by the word `passage-bench` in /chosen/bootargs, which passage
// fills only for a guest given as a boot module.
#pragma once

#include "checks.h"

namespace guest::bench {

// True when `bootargs` holds the word passage-bench.
bool requested(const char* bootargs);

// Runs every measurement, prints the figures and powers off.
// `count_at_entry` is CNTVCT_EL0 as _start read it first thing.
[[noreturn]] void run(Context& ctx, u64 count_at_entry);

}  // namespace guest::bench
