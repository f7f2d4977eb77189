// Boot modules described in /chosen with the binding Xen on Arm uses
// (docs/misc/arm/device-tree/booting.txt in Xen):
//
//   chosen {
//       #address-cells = <2>; #size-cells = <2>;
//       module@42000000 {
//           compatible = "multiboot,kernel", "multiboot,module";
//           reg = <0x0 0x42000000 0x0 0x2800000>;
//           bootargs = "console=ttyAMA0";
//       };
//       module@48200000 {
//           compatible = "multiboot,ramdisk", "multiboot,module";
//           reg = <0x0 0x48200000 0x0 0x1000000>;
//       };
//   };
//
// so the boot scripts Xen users write (U-Boot `fdt set`, QEMU `-device
// loader` plus a dumped and edited DTB) work for passage too.
#pragma once

#include "passage/diagnostic.h"
#include "passage/fdt/index.h"
#include "passage/platform.h"
#include "passage/result.h"

namespace passage {

struct BootModules {
    bool has_kernel = false;
    MemRange kernel;
    // The kernel module's bootargs: a NUL-terminated string inside the host
    // DTB (which must stay where it is while this is used), or nullptr.
    const char* bootargs = nullptr;
    bool has_initrd = false;
    MemRange initrd;
};

// Finds the modules. No module nodes at all is not an error (has_kernel
// stays false: the built-in test guest runs). Two kernels, two ramdisks, a
// ramdisk without a kernel, a malformed reg or bootargs are errors with a
// message naming the node. Module kinds passage does not use (a Xen XSM
// policy, a device-tree overlay) are logged and ignored.
Status discover_boot_modules(const fdt::TreeIndex& tree, BootModules& out, Diagnostic& diag);
// The same of a blob, indexed afresh (fdt::scratch_index).
Status discover_boot_modules(const void* fdt, BootModules& out, Diagnostic& diag);

}  // namespace passage
