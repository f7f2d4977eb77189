// Discovery of a blob without an index of its own (include/passage/
// discover.h): each call indexes it into the scratch index, then asks it.
// passage-inspect's whole path lives here too. The boot never calls these.
#include "passage/discover.h"

namespace passage {

Status discover_console(const void* fdt, Uart& uart, Diagnostic& diag)
{
    uart = Uart{};
    const fdt::TreeIndex* t = fdt::scratch_index(fdt, diag);
    if (t == nullptr) return Failure{Error::BadDeviceTree, 0};
    return discover_console(*t, uart, diag);
}

PsciMethod discover_psci_method(const void* fdt)
{
    Diagnostic diag;
    const fdt::TreeIndex* t = fdt::scratch_index(fdt, diag);
    return t != nullptr ? discover_psci_method(*t) : PsciMethod::None;
}

Status discover_platform(const void* fdt, Platform& out, Diagnostic& diag, DiscoveryMode mode, const ConsoleAnswer* console)
{
    out = Platform{};
    const fdt::TreeIndex* t = fdt::scratch_index(fdt, diag);
    if (t == nullptr) return Failure{Error::BadDeviceTree, 0};
    return discover_platform(*t, out, diag, mode, console);
}

Status inspect_device_tree(const void* fdt, usize size, Platform& out, Diagnostic& diag)
{
    if (Status s = check_device_tree(fdt, size, diag); !s) return s;
    const fdt::TreeIndex* t = fdt::scratch_index(fdt, diag);
    if (t == nullptr) return Failure{Error::BadDeviceTree, 0};
    if (Status s = discover_platform(*t, out, diag, DiscoveryMode::Inspect); !s) return s;
    print_platform_summary(out);
    print_board_needs(out);
    return {};
}

}  // namespace passage
