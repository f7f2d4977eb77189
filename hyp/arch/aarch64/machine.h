// What passage knows of the machine it was entered on: where the image sits
// (head.S) and the PSCI conduit (to power off from anywhere, even before the
// device tree is read). Written by passage_main, read everywhere after.
#pragma once

#include "passage/boot_info.h"
#include "passage/platform.h"

namespace passage::arch {

struct Machine {
    BootInfo boot;
    PsciMethod psci = PsciMethod::None;
};

extern Machine g_machine;

}  // namespace passage::arch
