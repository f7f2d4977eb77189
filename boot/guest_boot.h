// From the platform to a running guest: PCI enumeration, the address-space
// plan, stage 2, the self-test, loading the guest and the first ERET.
#pragma once

#include "options.h"
#include "passage/fdt/index.h"
#include "passage/platform.h"

namespace passage {

// `tree`: the host device tree's index (boot/main.cpp built it).
[[noreturn]] void boot_guest(const fdt::TreeIndex& tree, const Platform& platform, const BootOptions& options);

}  // namespace passage
