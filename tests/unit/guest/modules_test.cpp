// Boot modules in /chosen, Xen's binding, from dtc fixtures.
#include <catch2/catch.hpp>

#include <string>

#include "blob.h"
#include "passage/discover.h"
#include "passage/guest/modules.h"

using namespace passage;
using guest_test::load_dtb;

namespace {

struct Found {
    BootModules m;
    Diagnostic diag;
    bool ok;
    std::string msg() const { return diag.text; }
};

Found find(const std::string& name)
{
    auto blob = load_dtb("guest/" + name + ".dtb");
    Found f{};
    Diagnostic check;
    REQUIRE(check_device_tree(blob.data(), blob.size, check).ok());
    f.ok = discover_boot_modules(blob.data(), f.m, f.diag).ok();
    static std::string args;
    args = f.m.bootargs ? f.m.bootargs : "";
    if (f.m.bootargs) f.m.bootargs = args.c_str();
    return f;
}

}  // namespace

TEST_CASE("modules: a kernel with bootargs and a ramdisk")
{
    auto f = find("modules");
    REQUIRE(f.ok);
    REQUIRE(f.m.has_kernel);
    CHECK(f.m.kernel.base == 0x42000000);
    CHECK(f.m.kernel.size == 0x2a00000);
    REQUIRE(f.m.bootargs != nullptr);
    CHECK(std::string(f.m.bootargs) == "console=ttyAMA0 root=/dev/vda");  // the module's, not passage's
    REQUIRE(f.m.has_initrd);
    CHECK(f.m.initrd.base == 0x47000000);
    CHECK(f.m.initrd.size == 0x800000);
}

TEST_CASE("modules: one-cell reg and no bootargs")
{
    auto f = find("modules-cells1");
    REQUIRE(f.ok);
    REQUIRE(f.m.has_kernel);
    CHECK(f.m.kernel.base == 0x44000000);
    CHECK(f.m.kernel.size == 0x10000);
    CHECK(f.m.bootargs == nullptr);
    CHECK_FALSE(f.m.has_initrd);
}

// No modules: the built-in test guest runs; not an error.
TEST_CASE("modules: none at all")
{
    auto f = find("modules-none");
    REQUIRE(f.ok);
    CHECK_FALSE(f.m.has_kernel);
    CHECK_FALSE(f.m.has_initrd);
}

TEST_CASE("modules: QEMU's own trees have none")
{
    auto blob = load_dtb("qemu-virt-gicv3.dtb");
    BootModules m;
    Diagnostic diag;
    REQUIRE(discover_boot_modules(blob.data(), m, diag).ok());
    CHECK_FALSE(m.has_kernel);
}

TEST_CASE("modules: malformed and conflicting modules are refused by name")
{
    auto [name, want] = GENERATE(table<std::string, std::string>({
        {"modules-two-kernels",
         "boot modules: two multiboot,kernel modules, /chosen/module@42000000 and /chosen/module@43000000"},
        {"modules-two-ramdisks",
         "boot modules: two multiboot,ramdisk modules, /chosen/module@43000000 and /chosen/module@44000000"},
        {"modules-bad-reg",
         "boot module /chosen/module@42000000: reg is 12 bytes, expected one entry of /chosen's #address-cells 2 + "
         "#size-cells 2 (16 bytes)"},
        {"modules-ramdisk-only",
         "boot modules: /chosen/module@43000000 is a multiboot,ramdisk but there is no multiboot,kernel module"},
        {"modules-zero-size", "boot module /chosen/module@42000000: size 0 at 0x42000000"},
    }));
    INFO(name);
    auto f = find(name);
    REQUIRE_FALSE(f.ok);
    CHECK(f.msg() == want);
}
