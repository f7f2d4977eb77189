// discover_boot_modules of a blob without an index of its own: indexed
// into the scratch index first (tests, fuzzers; never the boot).
#include "passage/fdt/index.h"
#include "passage/guest/modules.h"

namespace passage {

Status discover_boot_modules(const void* fdt, BootModules& out, Diagnostic& diag)
{
    out = BootModules{};
    const fdt::TreeIndex* t = fdt::scratch_index(fdt, diag);
    if (t == nullptr) return Failure{Error::BadDeviceTree, 0};
    return discover_boot_modules(*t, out, diag);
}

}  // namespace passage
