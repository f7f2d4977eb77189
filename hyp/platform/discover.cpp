// Platform discovery from the device tree, step by step (each step in its
// own file, declared in discover_steps.h). See passage/discover.h.
#include "passage/discover.h"

#include "discover_steps.h"
#include "iommu_map.h"
#include "passage/fdt/cells.h"
#include "passage/log.h"
#include "passage/text.h"

namespace passage {

using namespace discovery;

Status discover_platform(const fdt::TreeIndex& t, Platform& p, Diagnostic& diag, DiscoveryMode mode, const ConsoleAnswer* console)
{
    p = Platform{};
    int len = 0;
    if (const char* model = static_cast<const char*>(t.prop(0, fdt::Name::Model, &len)); model != nullptr && len > 0)
        copy_string(p.model, sizeof p.model, model);
    else if (const char* c = t.compatible(0, &len); c != nullptr && len > 0)
        copy_string(p.model, sizeof p.model, c);
    else copy_string(p.model, sizeof p.model, "(unnamed)");

    auto ac = fdt::address_cells(t, 0);
    auto sc = fdt::size_cells(t, 0);
    if (!ac || !sc || *ac < 1 || *ac > fdt::kMaxValueCells || *sc > fdt::kMaxValueCells)
        return fail(diag, Error::BadDeviceTree, 0, "root node: #address-cells/#size-cells must be 1 or 2");

    if (auto s = discover_memory(t, p, diag, mode); !s) return s;
    if (auto s = discover_reserved(t, p, diag); !s) return s;
    if (auto s = discover_cpus(t, p, diag); !s) return s;
    p.psci = discover_psci_method(t);
    if (int node = find_psci(t); node >= 0) {
        const char* c = t.compatible(node, &len);
        copy_string(p.psci_compatible, sizeof p.psci_compatible, c != nullptr && len > 0 ? c : "?");
    }
    if (p.psci == PsciMethod::None) log_warn("no PSCI node with method smc or hvc: passage cannot start CPUs or power off");
    // No console, or one passage cannot drive, makes a silent boot, not a
    // failed one; a malformed console node is a malformed tree, for a boot.
    Status console_status;
    if (console != nullptr) {
        p.uart = console->uart;
        console_status = console->status;
        if (!console_status) diag = console->diag;
    } else {
        console_status = discover_console(t, p.uart, diag);
    }
    if (const Status& s = console_status; !s) {
        if (mode == DiscoveryMode::Boot && s.error() != Error::NotFound) return s;
        copy_string(p.uart.problem, sizeof p.uart.problem, diag.text);
        diag = Diagnostic{};
    }
    if (!p.uart.usable()) log_warn("no usable console: %s", p.uart.problem);
    if (auto s = discover_gic(t, p, diag); !s) return s;
    discover_timer(t, p);
    if (auto s = discover_smmus(t, p, diag); !s) return s;
    if (auto s = discover_pci(t, p, diag); !s) return s;
    collect_mmio(t, 0, p, 0);
    discover_dma(t, p);
    return {};
}

}  // namespace passage
