// Plain MMIO devices for the guest: every enabled node with a reg at the
// root or under a simple-bus that no other part of discovery handles.
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
bool handled_elsewhere(const fdt::TreeIndex& t, int node, const fdt::CompatibleList& compat)
{
    return string_property_is(t, node, fdt::Name::DeviceType, "memory") || compat.has("pci-host-ecam-generic") ||
           gic_version(compat) != GicVersion::None || compat.has("arm,smmu-v3");
}

}  // namespace

void collect_mmio(const fdt::TreeIndex& t, int bus, Platform& p, int depth)
{
    for (int node = t.first_child(bus); node >= 0; node = t.next_sibling(node)) {
        if (!t.enabled(node)) continue;
        fdt::CompatibleList compat_list(t, node);
        if (handled_elsewhere(t, node, compat_list)) continue;
        if (depth < 4 && compat_list.has("simple-bus")) {
            collect_mmio(t, node, p, depth + 1);
            continue;
        }
        const char* compat = compat_list.data();
        if (compat == nullptr || compat_list.size() <= 0) continue;
        auto count = fdt::reg_count(t, node);
        if (!count) continue;
        for (int i = 0; i < *count; ++i) {
            auto r = fdt::reg_entry(t, node, i);
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
