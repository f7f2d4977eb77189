// The secondary CPU of the cpu-on check and what it leaves for the primary.
#pragma once

#include "arch.h"

namespace guest {

// Written by the secondary with its MMU (and so its caches) off: straight
// to memory. Alone in a 2 KiB block (the largest cache writeback granule,
// CTR_EL0.CWG) so no line the primary writes back can cover it; the primary
// cleans it once before CPU_ON and invalidates it before every read.
struct alignas(2048) Mailbox {
    u64 mpidr;            // the secondary's MPIDR affinity
    u64 context;          // the context id it received in x0, written last
    u64 cpu_off_returned; // 1 if CPU_OFF came back (it must not)
    u64 cpu_off_result;
    // The bbm-race job (context kRaceContext): read race_addr until
    // race_stop, counting reads and values other than race_value.
    u64 race_addr;
    u64 race_value;
    u64 race_stop;   // written by the primary
    u64 race_reads;  // updated now and then while it runs
    u64 race_bad;
    u64 race_done;   // written last, before CPU_OFF
};

// The context id that gives the secondary the bbm-race job instead of
// checking in and turning itself off.
constexpr u64 kRaceContext = 0x5ec0'0d00'bb00'0001ull;

extern Mailbox g_mailbox;

// head.S: where CPU_ON starts the secondary.
extern "C" char secondary_entry[];

}  // namespace guest
