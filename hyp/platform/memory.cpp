// RAM and what is carved out of it: /memory nodes, the reservation block
// and /reserved-memory.
#include <libfdt.h>

#include "discover_steps.h"
#include "passage/fdt/cells.h"
#include "passage/fdt/node.h"
#include "passage/log.h"

namespace passage::discovery {

using fdt::node_path;
using fdt::string_property_is;

namespace {

void add_reserved(Platform& p, MemRange r)
{
    if (r.size == 0) return;
    if (p.reserved_count == Platform::kMaxReserved) {
        log_warn("more than %zu reserved ranges; ignoring 0x%llx", Platform::kMaxReserved, (unsigned long long)r.base);
        ++p.reserved_dropped;
        return;
    }
    p.reserved[p.reserved_count++] = r;
}

}  // namespace

// Memory: every enabled device_type = "memory" node at the root. None, or
// only empty ones, is how a tree looks before the bootloader fills it in
// (U-Boot does before booti): a board check says so and goes on, a boot
// cannot.
Status discover_memory(const fdt::TreeIndex& t, Platform& p, Diagnostic& diag, DiscoveryMode mode)
{
    for (int node = t.first_child(0); node >= 0; node = t.next_sibling(node)) {
        if (!string_property_is(t, node, fdt::Name::DeviceType, "memory") || !t.enabled(node)) continue;
        auto count = fdt::reg_count(t, node);
        if (!count) {
            char path[96];
            node_path(t, node, path, sizeof path);
            return fail(diag, Error::BadDeviceTree, 0, "memory node %s: reg does not match #address-cells/#size-cells", path);
        }
        for (int i = 0; i < *count; ++i) {
            MemRange r;
            if (auto s = reg_or_fail(t, node, i, r, diag, "memory node"); !s) return s;
            if (r.size == 0) continue;
            if (p.memory_count == Platform::kMaxMemory) {
                log_warn("more than %zu memory ranges; ignoring 0x%llx (+0x%llx)", Platform::kMaxMemory,
                         (unsigned long long)r.base, (unsigned long long)r.size);
                ++p.memory_unused;
                continue;
            }
            p.memory[p.memory_count++] = r;
        }
    }
    if (p.memory_count > 0) return {};
    if (mode == DiscoveryMode::Inspect) {
        p.memory_from_bootloader = true;
        return {};
    }
    return fail(diag, Error::NotFound, 0,
                "no memory: the device tree has no /memory node with a size (the bootloader must fill it in)");
}

Status discover_reserved(const fdt::TreeIndex& t, Platform& p, Diagnostic& diag)
{
    const void* fdt = t.blob();
    int n = fdt_num_mem_rsv(fdt);
    for (int i = 0; i < n; ++i) {
        uint64_t base = 0, size = 0;
        if (fdt_get_mem_rsv(fdt, i, &base, &size) == 0) add_reserved(p, {base, size});
    }
    int rm = t.path("/reserved-memory");
    if (rm < 0) return {};
    for (int node = t.first_child(rm); node >= 0; node = t.next_sibling(node)) {
        if (!t.enabled(node)) continue;
        auto count = fdt::reg_count(t, node);
        if (!count) return fail(diag, Error::BadDeviceTree, 0, "/reserved-memory: malformed reg in a child node");
        bool no_map = t.has(node, fdt::Name::NoMap);
        for (int i = 0; i < *count; ++i) {
            MemRange r;
            if (auto s = reg_or_fail(t, node, i, r, diag, "reserved-memory node"); !s) return s;
            add_reserved(p, r);
            if (!no_map || r.size == 0) continue;
            // Dropping one would map a carve-out: refuse rather than guess.
            if (p.no_map_count == Platform::kMaxReserved)
                return fail(diag, Error::Unsupported, r.base, "/reserved-memory: more than %zu no-map regions (0x%llx)",
                            Platform::kMaxReserved, (unsigned long long)r.base);
            p.no_map[p.no_map_count++] = r;
        }
    }
    return {};
}

}  // namespace passage::discovery
