// Plain MMIO devices for the guest: every enabled node with a reg at the
// root or under a simple-bus that no other part of discovery handles.
#include <libfdt.h>

#include "discover_steps.h"
#include "passage/fdt/cells.h"
#include "passage/fdt/node.h"
#include "passage/log.h"
#include "passage/text.h"

namespace passage::discovery {

using fdt::compatible;
using fdt::string_property_is;

namespace {

// Nodes whose registers passage handles itself; every other enabled node
// with a reg at the root (or under a simple-bus) is plain MMIO for the guest.
bool handled_elsewhere(const void* fdt, int node)
{
    return string_property_is(fdt, node, "device_type", "memory") || compatible(fdt, node, "pci-host-ecam-generic") ||
           gic_version(fdt, node) != GicVersion::None || compatible(fdt, node, "arm,smmu-v3");
}

}  // namespace

void collect_mmio(const void* fdt, int bus, Platform& p, int depth)
{
    for (int node = fdt_first_subnode(fdt, bus); node >= 0; node = fdt_next_subnode(fdt, node)) {
        if (!fdt::node_enabled(fdt, node) || handled_elsewhere(fdt, node)) continue;
        if (depth < 4 && compatible(fdt, node, "simple-bus")) {
            collect_mmio(fdt, node, p, depth + 1);
            continue;
        }
        int clen = 0;
        const char* compat = static_cast<const char*>(fdt_getprop(fdt, node, "compatible", &clen));
        if (compat == nullptr || clen <= 0) continue;
        auto count = fdt::reg_count(fdt, bus, node);
        if (!count) continue;
        for (int i = 0; i < *count; ++i) {
            auto r = fdt::reg_entry(fdt, bus, node, i);
            if (!r || r->size == 0) continue;
            if (p.mmio_count == Platform::kMaxMmio) {
                if (p.mmio_unused++ == 0)
                    log_warn("more than %zu MMIO regions; %s at 0x%llx and the rest are not given to the guest",
                             Platform::kMaxMmio, compat, (unsigned long long)r->base);
                continue;
            }
            MmioDevice& d = p.mmio[p.mmio_count++];
            d.reg = *r;
            copy_string(d.compatible, sizeof d.compatible, compat);
        }
    }
}

}  // namespace passage::discovery
