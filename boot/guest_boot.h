// From the platform to a running guest: PCI enumeration, the address-space
// plan, stage 2, the self-test, loading the guest and the first ERET.
#pragma once

#include "options.h"
#include "passage/platform.h"

namespace passage {

[[noreturn]] void boot_guest(const void* fdt, const Platform& platform, const BootOptions& options);

}  // namespace passage
