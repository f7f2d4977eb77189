// The guest object at EL2: the portable Guest over the EL2 table pool and
// the ticket lock.
#pragma once

#include "passage/guest/guest.h"
#include "spinlock.h"
#include "stage2_env.h"

namespace passage {

constexpr usize kStage2Pages = 512;  // 2 MiB of stage-2 tables per guest
using El2Stage2Pool = arch::El2Stage2Env<kStage2Pages>::Pool;
using El2Guest = Guest<arch::El2Stage2Env<kStage2Pages>, arch::Spinlock>;
using GuestTable = El2Guest::Table;

}  // namespace passage
