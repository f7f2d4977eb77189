// The whole loader in the order the target runs it: boot modules from the
// host DTB, parse the kernel, plan, copy, build the guest DTB in its block.
// Guest physical memory is an arena; the modules sit in it where the host
// DTB says.
#include <catch2/catch.hpp>

#include <libfdt.h>

#include <algorithm>

#include "blob.h"
#include "passage/discover.h"
#include "passage/guest/guest_dtb.h"
#include "passage/guest/image.h"
#include "passage/guest/layout.h"
#include "passage/guest/modules.h"
#include "passage/log.h"

using namespace passage;
using guest_test::Arena;
using guest_test::load_dtb;

TEST_CASE("pipeline: modules + Image + layout + copies + guest DTB together")
{
    auto host = load_dtb("guest/guest-board.dtb");
    Diagnostic diag;
    REQUIRE(check_device_tree(host.data(), host.size, diag).ok());

    // 1. Boot modules.
    BootModules mods;
    REQUIRE(discover_boot_modules(host.data(), mods, diag).ok());
    REQUIRE(mods.has_kernel);
    REQUIRE(mods.has_initrd);

    // The modules' bytes, where the DTB says they are: an Image of 42 MiB
    // whose image_size (48 MiB) covers its BSS, and an 8 MiB initrd.
    Arena arena(0x40000000, 256 * MiB, 0xee);
    u8* image = arena.at(mods.kernel.base);
    for (u64 i = 0; i < mods.kernel.size; ++i) image[i] = static_cast<u8>(i * 13 + (i >> 12));
    const u64 header[8] = {0x14000010, 0, 48 * MiB, 0b0010, 0, 0, 0, 0x644d5241};
    for (int w = 0; w < 8; ++w)
        for (int b = 0; b < 8; ++b) image[w * 8 + b] = static_cast<u8>(header[w] >> (8 * b));
    std::vector<u8> kernel_copy(image, image + mods.kernel.size);
    u8* initrd = arena.at(mods.initrd.base);
    std::fill(initrd, initrd + mods.initrd.size, 0x5a);

    // 2. Parse.
    LinuxImage img;
    REQUIRE(parse_linux_image(image, mods.kernel.size, img, diag).ok());
    CHECK(img.image_size == 48 * MiB);

    // 3. Plan: guest RAM without passage (0x40200000-0x405fffff); the host
    // DTB is kept (here a pretend copy of it at 0x4f000000).
    MemRange ram[] = {{0x40000000, 2 * MiB}, {0x40600000, 0x50000000 - 0x40600000}};
    MemRange keep[] = {{0x4f000000, fdt_totalsize(host.data())}};
    LayoutRequest req;
    req.ram = ram;
    req.keep = keep;
    req.linux_image = &img;
    req.image_source = mods.kernel;
    req.has_initrd = true;
    req.initrd_source = mods.initrd;
    GuestLayout layout;
    REQUIRE(plan_guest_layout(req, layout, diag).ok());
    CHECK(layout.kernel_base == 0x40600000);  // the lowest 2 MiB base in guest RAM
    CHECK(layout.initrd_in_place);            // clear of the kernel: left where it is
    CHECK(layout.dtb_base == 0x4fe00000);

    // 4. Copy.
    GuestPayload payload{image, mods.kernel.size, initrd, mods.initrd.size};
    REQUIRE(load_guest(req, layout, payload, arena.access(), diag).ok());
    CHECK(std::equal(kernel_copy.begin(), kernel_copy.end(), arena.at(layout.kernel_base)));

    // 5. The guest DTB, straight into its block.
    GuestDtbConfig cfg;
    cfg.ram = ram;
    cfg.bootargs = mods.bootargs;
    cfg.has_initrd = true;
    cfg.initrd_start = layout.initrd_base;
    cfg.initrd_end = layout.initrd_base + layout.initrd_size;
    cfg.pci_probe_only = true;
    void* dtb = arena.at(layout.dtb_base);
    auto size = build_guest_dtb(host.data(), dtb, layout.dtb_size, cfg, diag);
    REQUIRE(size.ok());
    CHECK(fdt_check_full(dtb, *size) == 0);

    Platform p;
    set_log_level(LogLevel::Error);
    REQUIRE(discover_platform(dtb, p, diag).ok());
    REQUIRE(p.memory_count == 2);
    CHECK(p.memory[0].base == 0x40000000);
    CHECK(p.memory[1].base == 0x40600000);
    int chosen = fdt_path_offset(dtb, "/chosen");
    CHECK(std::string(static_cast<const char*>(fdt_getprop(dtb, chosen, "bootargs", nullptr))) == "console=ttyAMA0");
    BootModules again;
    REQUIRE(discover_boot_modules(dtb, again, diag).ok());
    CHECK_FALSE(again.has_kernel);  // the guest sees no modules
}
