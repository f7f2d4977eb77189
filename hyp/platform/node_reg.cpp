// A node's reg entries for discovery, with a message naming the node when
// one cannot be read.
#include "discover_steps.h"
#include "passage/fdt/cells.h"
#include "passage/fdt/node.h"

namespace passage::discovery {

using fdt::node_path;

Status reg_or_fail(const fdt::TreeIndex& t, int node, int index, MemRange& out, Diagnostic& diag, const char* what)
{
    auto r = fdt::reg_entry(t, node, index);
    if (!r) {
        char path[96];
        node_path(t, node, path, sizeof path);
        const int parent = t.parent(node);
        // The root has no parent: libfdt found no cells there, so the defaults.
        auto ac = parent >= 0 ? fdt::address_cells(t, parent) : Result<int>(2);
        auto sc = parent >= 0 ? fdt::size_cells(t, parent) : Result<int>(1);
        int len = 0;
        bool has_reg = t.prop(node, fdt::Name::Reg, &len) != nullptr;
        if (r.error() == Error::BadDeviceTree && has_reg && ac && sc)
            return fail(diag, Error::BadDeviceTree, 0,
                        "%s %s: reg is %d bytes, not a whole number of entries of #address-cells %d + #size-cells %d",
                        what, path, len, *ac, *sc);
        if (r.error() == Error::NotFound && !has_reg) return fail(diag, Error::BadDeviceTree, 0, "%s %s: no reg property", what, path);
        return fail(diag, Error::BadDeviceTree, r.error_addr(), "%s %s: reg entry %d: %s", what, path, index,
                    r.error() == Error::NotFound ? "missing, or not reachable through the parents' ranges"
                                                 : error_name(r.error()));
    }
    out = *r;
    return {};
}

}  // namespace passage::discovery
