// Boot modules in /chosen (the Xen on Arm binding). See passage/guest/modules.h.
#include "passage/guest/modules.h"

#include "passage/fdt/cells.h"
#include "passage/fdt/index.h"
#include "passage/fdt/node.h"
#include "passage/log.h"
#include "passage/text.h"
#include "util.h"

namespace passage {


namespace {

unsigned long long ull(u64 v) { return v; }

// A node's path, built the first time a message needs it: a boot that
// goes well prints none of them.
class LazyPath {
public:
    LazyPath(const fdt::TreeIndex& t, int node) : t_(t), node_(node) {}
    const char* get()
    {
        if (!built_) fdt::node_path(t_, node_, buf_, sizeof buf_);
        built_ = true;
        return buf_;
    }

private:
    const fdt::TreeIndex& t_;
    int node_;
    bool built_ = false;
    char buf_[96] = {};
};

Status read_module_reg(const fdt::TreeIndex& t, int node, int ac, int sc, LazyPath& path, MemRange& out, Diagnostic& diag)
{
    int len = 0;
    const u8* reg = static_cast<const u8*>(t.prop(node, fdt::Name::Reg, &len));
    if (reg == nullptr) return fail(diag, Error::BadDeviceTree, 0, "boot module %s: no reg property", path.get());
    int entry = (ac + sc) * 4;
    if (len != entry)
        return fail(diag, Error::BadDeviceTree, static_cast<u64>(len),
                    "boot module %s: reg is %d bytes, expected one entry of /chosen's #address-cells %d + #size-cells %d "
                    "(%d bytes)",
                    path.get(), len, ac, sc, entry);
    out.base = fdt::read_cells(reg, ac);
    out.size = fdt::read_cells(reg + ac * 4, sc);
    if (out.size == 0) return fail(diag, Error::BadDeviceTree, out.base, "boot module %s: size 0 at 0x%llx", path.get(), ull(out.base));
    if (!guest::well_formed(out))
        return fail(diag, Error::BadDeviceTree, out.base, "boot module %s: 0x%llx size 0x%llx wraps past 2^64", path.get(),
                    ull(out.base), ull(out.size));
    return {};
}

}  // namespace

Status discover_boot_modules(const fdt::TreeIndex& t, BootModules& out, Diagnostic& diag)
{
    out = BootModules{};
    int chosen = t.path("/chosen");
    if (chosen < 0) return {};  // no /chosen: no modules

    int kernel_node = -1, initrd_node = -1;  // their paths only for messages
    int ac = -2, sc = -2;  // read when the first module needs them
    for (int node = t.first_child(chosen); node >= 0; node = t.next_sibling(node)) {
        if (!fdt::compatible_with_prefix(t, node, "multiboot,")) continue;
        LazyPath path(t, node);
        if (!t.enabled(node)) {
            log_info("boot module %s is disabled: ignored", path.get());
            continue;
        }
        bool kernel = t.is_compatible(node, "multiboot,kernel");
        bool ramdisk = t.is_compatible(node, "multiboot,ramdisk");
        if (kernel && ramdisk)
            return fail(diag, Error::BadDeviceTree, 0, "boot module %s: compatible with both multiboot,kernel and multiboot,ramdisk",
                        path.get());
        if (!kernel && !ramdisk) {
            log_warn("boot module %s is neither multiboot,kernel nor multiboot,ramdisk: ignored", path.get());
            continue;
        }
        if (ac == -2) {
            auto chosen_ac = fdt::address_cells(t, chosen);
            auto chosen_sc = fdt::size_cells(t, chosen);
            ac = chosen_ac ? *chosen_ac : -1;
            sc = chosen_sc ? *chosen_sc : -1;
            if (ac < 1 || ac > fdt::kMaxValueCells || sc < 1 || sc > fdt::kMaxValueCells)
                return fail(diag, Error::BadDeviceTree, 0,
                            "boot modules: /chosen #address-cells or #size-cells is malformed (each must be 1 or 2)");
        }
        MemRange reg;
        if (Status s = read_module_reg(t, node, ac, sc, path, reg, diag); !s) return s;

        if (ramdisk) {
            if (out.has_initrd)
                return fail(diag, Error::Exists, reg.base, "boot modules: two multiboot,ramdisk modules, %s and %s",
                            LazyPath(t, initrd_node).get(), path.get());
            out.has_initrd = true;
            out.initrd = reg;
            initrd_node = node;
            continue;
        }
        if (out.has_kernel)
            return fail(diag, Error::Exists, reg.base, "boot modules: two multiboot,kernel modules, %s and %s",
                        LazyPath(t, kernel_node).get(), path.get());
        out.has_kernel = true;
        out.kernel = reg;
        kernel_node = node;
        int len = 0;
        const char* args = static_cast<const char*>(t.prop(node, fdt::Name::Bootargs, &len));
        if (args != nullptr) {
            if (len < 1 || args[len - 1] != '\0')
                return fail(diag, Error::BadDeviceTree, 0, "boot module %s: bootargs is not a NUL-terminated string", path.get());
            out.bootargs = args;
        }
    }
    if (out.has_initrd && !out.has_kernel)
        return fail(diag, Error::BadDeviceTree, out.initrd.base,
                    "boot modules: %s is a multiboot,ramdisk but there is no multiboot,kernel module",
                    LazyPath(t, initrd_node).get());
    if (out.has_initrd && ranges_overlap(out.kernel.base, out.kernel.size, out.initrd.base, out.initrd.size))
        return fail(diag, Error::Overlap, out.initrd.base,
                    "boot modules: the kernel at 0x%llx size 0x%llx and the ramdisk at 0x%llx size 0x%llx overlap",
                    ull(out.kernel.base), ull(out.kernel.size), ull(out.initrd.base), ull(out.initrd.size));
    return {};
}

}  // namespace passage
