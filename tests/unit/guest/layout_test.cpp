// Placement of the kernel, initrd and DTB in guest RAM, and the copies.
// Every plan is checked against the rules in layout.h by one invariant
// helper, and the copies are run in an arena where the modules really sit.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "blob.h"
#include "passage/guest/layout.h"

using namespace passage;
using guest_test::Arena;

namespace {

constexpr u64 kRam = 0x40000000;

LinuxImage linux_image(u64 text_offset, u64 image_size, bool anywhere = false, u64 file = 0)
{
    LinuxImage img;
    img.text_offset = text_offset;
    img.image_size = image_size;
    img.copy_size = file ? file : image_size / 2;
    img.place_anywhere = anywhere;
    return img;
}

bool overlap(u64 a, u64 as, u64 b, u64 bs) { return ranges_overlap(a, as, b, bs); }

bool inside_ram(const LayoutRequest& req, u64 base, u64 size)
{
    for (const MemRange& r : req.ram)
        if (base >= r.base && size <= r.size && base - r.base <= r.size - size) return true;
    return false;
}

// The rules every plan must keep.
void check_invariants(const LayoutRequest& req, const GuestLayout& l)
{
    INFO("kernel 0x" << std::hex << l.kernel_base << "+0x" << l.kernel_size << " initrd 0x" << l.initrd_base << "+0x"
                     << l.initrd_size << " dtb 0x" << l.dtb_base);
    if (req.linux_image != nullptr) {
        CHECK(is_aligned(l.kernel_base - req.linux_image->text_offset, 2 * MiB));
        CHECK(l.kernel_size == req.linux_image->image_size);
        CHECK(l.entry == l.kernel_base);
        CHECK(inside_ram(req, l.kernel_base, l.kernel_size));
        if (l.kernel_in_place) {
            CHECK(req.linux_image->place_anywhere);
            CHECK(l.kernel_base == req.image_source.base);
        }
    } else {
        CHECK_FALSE(l.kernel_in_place);
    }
    CHECK(is_aligned(l.dtb_base, 2 * MiB));
    CHECK(l.dtb_size == 2 * MiB);
    CHECK(inside_ram(req, l.dtb_base, 2 * MiB));
    CHECK_FALSE(overlap(l.dtb_base, 2 * MiB, l.kernel_base, l.kernel_size));
    CHECK_FALSE(overlap(l.dtb_base, 2 * MiB, req.image_source.base, req.image_source.size));
    for (const MemRange& k : req.keep) {
        CHECK_FALSE(overlap(k.base, k.size, l.kernel_base, l.kernel_size));
        CHECK_FALSE(overlap(k.base, k.size, l.dtb_base, 2 * MiB));
    }
    CHECK(l.has_initrd == req.has_initrd);
    if (l.has_initrd) {
        CHECK(l.initrd_size == req.initrd_source.size);
        CHECK(inside_ram(req, l.initrd_base, l.initrd_size));
        CHECK_FALSE(overlap(l.initrd_base, l.initrd_size, l.kernel_base, l.kernel_size));
        CHECK_FALSE(overlap(l.initrd_base, l.initrd_size, l.dtb_base, 2 * MiB));
        CHECK_FALSE(overlap(l.dtb_base, 2 * MiB, req.initrd_source.base, req.initrd_source.size));
        if (l.initrd_in_place) {
            CHECK(l.initrd_base == req.initrd_source.base);
        } else {
            // Copied first: must not land on the kernel file still to be read.
            CHECK_FALSE(overlap(l.initrd_base, l.initrd_size, req.image_source.base, req.image_source.size));
            for (const MemRange& k : req.keep) CHECK_FALSE(overlap(k.base, k.size, l.initrd_base, l.initrd_size));
        }
    }
}

struct Plan {
    GuestLayout layout;
    Diagnostic diag;
    bool ok;
    std::string msg() const { return diag.text; }
};

Plan plan(const LayoutRequest& req)
{
    Plan p{};
    p.ok = plan_guest_layout(req, p.layout, p.diag).ok();
    if (p.ok) check_invariants(req, p.layout);
    return p;
}

// Every range load_guest maps, passed on to the arena.
struct MapLog {
    PhysAccess inner;
    std::vector<MemRange> maps;
    static void* map(void* ctx, u64 phys, u64 size)
    {
        auto* self = static_cast<MapLog*>(ctx);
        self->maps.push_back({phys, size});
        return self->inner.map(self->inner.ctx, phys, size);
    }
    PhysAccess access() { return {&MapLog::map, this}; }
    bool touched(u64 base, u64 size) const
    {
        for (const MemRange& m : maps)
            if (overlap(m.base, m.size, base, size)) return true;
        return false;
    }
};

std::vector<u8> pattern(usize size, u8 seed)
{
    std::vector<u8> v(size);
    for (usize i = 0; i < size; ++i) v[i] = static_cast<u8>(seed + i * 7 + (i >> 9));
    return v;
}

}  // namespace

// Flags bit 3 clear: the lowest 2 MiB base of DRAM; the DTB in the top block.
TEST_CASE("layout: the kernel goes at the lowest 2 MiB base and the DTB in the top block")
{
    MemRange ram[] = {{kRam, 1 * GiB}};
    LinuxImage img = linux_image(0, 40 * MiB);
    LayoutRequest req;
    req.ram = ram;
    req.linux_image = &img;
    auto p = plan(req);
    REQUIRE(p.ok);
    CHECK(p.layout.kernel_base == kRam);
    CHECK(p.layout.entry == kRam);
    CHECK(p.layout.kernel_size == 40 * MiB);
    CHECK(p.layout.dtb_base == kRam + 1 * GiB - 2 * MiB);
    CHECK_FALSE(p.layout.has_initrd);
    CHECK_FALSE(p.layout.is_elf);
}

TEST_CASE("layout: text_offset is honoured above the 2 MiB base")
{
    MemRange ram[] = {{kRam, 1 * GiB}};
    LinuxImage img = linux_image(0x80000, 16 * MiB);
    LayoutRequest req;
    req.ram = ram;
    req.linux_image = &img;
    auto p = plan(req);
    REQUIRE(p.ok);
    CHECK(p.layout.kernel_base == kRam + 0x80000);
    CHECK(p.layout.entry == kRam + 0x80000);
}

// RAM that does not start on a 2 MiB boundary: the base may sit below RAM
// as long as the image itself is in it (booting.rst gives the gap no meaning).
TEST_CASE("layout: RAM not starting on a 2 MiB boundary")
{
    MemRange ram[] = {{kRam + 0x100000, 1 * GiB - 0x100000}};
    SECTION("text_offset 0: the next 2 MiB boundary")
    {
        LinuxImage img = linux_image(0, 16 * MiB);
        LayoutRequest req;
        req.ram = ram;
        req.linux_image = &img;
        auto p = plan(req);
        REQUIRE(p.ok);
        CHECK(p.layout.kernel_base == kRam + 2 * MiB);
    }
    SECTION("text_offset past the start of RAM: the base below RAM")
    {
        LinuxImage img = linux_image(0x180000, 16 * MiB);
        LayoutRequest req;
        req.ram = ram;
        req.linux_image = &img;
        auto p = plan(req);
        REQUIRE(p.ok);
        CHECK(p.layout.kernel_base == kRam + 0x180000);
    }
}

// The hypervisor sits at the base of DRAM: the lowest base above it.
TEST_CASE("layout: the lowest base that is in guest RAM across ranges")
{
    // passage at 0x40200000-0x405fffff is not guest RAM.
    MemRange ram[] = {{kRam + 6 * MiB, 1 * GiB - 6 * MiB}, {kRam, 2 * MiB}};
    LinuxImage img = linux_image(0, 40 * MiB);
    LayoutRequest req;
    req.ram = ram;
    req.linux_image = &img;
    auto p = plan(req);
    REQUIRE(p.ok);
    CHECK(p.layout.kernel_base == kRam + 6 * MiB);

    // A kernel small enough for the first 2 MiB goes there.
    LinuxImage small = linux_image(0, 1 * MiB);
    req.linux_image = &small;
    auto q = plan(req);
    REQUIRE(q.ok);
    CHECK(q.layout.kernel_base == kRam);
}

TEST_CASE("layout: a kernel too large for guest RAM")
{
    MemRange ram[] = {{kRam, 256 * MiB}, {kRam + 512 * MiB, 128 * MiB}};
    LinuxImage img = linux_image(0, 300 * MiB);
    LayoutRequest req;
    req.ram = ram;
    req.linux_image = &img;
    auto p = plan(req);
    REQUIRE_FALSE(p.ok);
    CHECK(p.msg() ==
          "guest layout: the kernel needs 314572800 bytes (image_size 0x12c00000) but the largest guest RAM range is "
          "268435456 bytes");
}

// Fits a range in size, but not once text_offset and the 2 MiB base are counted.
TEST_CASE("layout: no 2 MiB-aligned place for the kernel")
{
    MemRange ram[] = {{kRam + 1 * MiB, 8 * MiB}};
    LinuxImage img = linux_image(0, 8 * MiB);
    LayoutRequest req;
    req.ram = ram;
    req.linux_image = &img;
    auto p = plan(req);
    REQUIRE_FALSE(p.ok);
    CHECK(p.msg().find("no place for the kernel (8388608 bytes at text_offset 0x0") != std::string::npos);
}

// The host DTB (kept) sits where the kernel would go: the kernel goes above it.
TEST_CASE("layout: regions to keep are never overwritten")
{
    MemRange ram[] = {{kRam, 1 * GiB}};
    MemRange keep[] = {{kRam + 0x8000000, 1 * MiB}, {kRam + 0x3ff00000, 0x1000}};
    LinuxImage img = linux_image(0, 200 * MiB);
    LayoutRequest req;
    req.ram = ram;
    req.linux_image = &img;
    req.keep = keep;
    auto p = plan(req);
    REQUIRE(p.ok);
    CHECK(p.layout.kernel_base == kRam + 0x8000000 + 2 * MiB);
    // The top block holds a kept page, so the DTB goes one block lower.
    CHECK(p.layout.dtb_base == kRam + 1 * GiB - 4 * MiB);
}

// The DTB's block is whole inside guest RAM, even when RAM ends mid-block.
TEST_CASE("layout: the DTB gets a 2 MiB block of its own inside guest RAM")
{
    MemRange ram[] = {{kRam, 1 * GiB - 0x80000}, {kRam + 1 * GiB + 0x80000, 3 * MiB}};
    LinuxImage img = linux_image(0, 16 * MiB);
    LayoutRequest req;
    req.ram = ram;
    req.linux_image = &img;
    auto p = plan(req);
    REQUIRE(p.ok);
    // Neither 0x7fe00000 (RAM ends at 0x7ff80000) nor 0x80000000 (RAM begins at 0x80080000).
    CHECK(p.layout.dtb_base == kRam + 1 * GiB - 4 * MiB);
}

TEST_CASE("layout: no room for the DTB")
{
    MemRange ram[] = {{kRam, 4 * MiB}};
    LinuxImage img = linux_image(0, 3 * MiB);
    LayoutRequest req;
    req.ram = ram;
    req.linux_image = &img;
    auto p = plan(req);
    REQUIRE_FALSE(p.ok);
    CHECK(p.msg().find("no free 2 MiB-aligned 2 MiB block in guest RAM for the DTB") != std::string::npos);
}

TEST_CASE("layout: a DTB over 2 MiB is refused")
{
    MemRange ram[] = {{kRam, 1 * GiB}};
    LinuxImage img = linux_image(0, 3 * MiB);
    LayoutRequest req;
    req.ram = ram;
    req.linux_image = &img;
    req.dtb_size = 2 * MiB + 8;
    auto p = plan(req);
    REQUIRE_FALSE(p.ok);
    CHECK(p.msg() == "guest layout: a DTB of 2097160 bytes (booting.rst allows at most 2 MiB)");
}

// Flags bit 3: clear, the kernel takes the lowest base even where the initrd
// sits (the initrd moves first); set, the kernel goes above it and the
// initrd stays. The module is off a 2 MiB boundary, so it is copied either way.
TEST_CASE("layout: flags bit 3 and an initrd where the kernel would go")
{
    MemRange ram[] = {{kRam, 1 * GiB}};
    MemRange initrd{kRam + 0x100000, 8 * MiB};
    MemRange kernel_file{kRam + 0x10000000 + 0x1000, 20 * MiB};
    bool anywhere = GENERATE(false, true);
    LinuxImage img = linux_image(0, 40 * MiB, anywhere);
    LayoutRequest req;
    req.ram = ram;
    req.linux_image = &img;
    req.image_source = kernel_file;
    req.has_initrd = true;
    req.initrd_source = initrd;
    auto p = plan(req);
    REQUIRE(p.ok);
    if (!anywhere) {
        CHECK(p.layout.kernel_base == kRam);
        CHECK_FALSE(p.layout.initrd_in_place);
    } else {
        CHECK(p.layout.kernel_base == kRam + 10 * MiB);  // first 2 MiB base past the initrd's end
        CHECK(p.layout.initrd_in_place);
        CHECK(p.layout.initrd_base == initrd.base);
    }
}

// Where the kernel module sits in the in-place tests: guest RAM of 96 MiB, the
// host DTB kept at +50 MiB, an Image file of 7 MiB whose image_size (BSS
// included) is 12 MiB, and an initrd at +40 MiB. The lowest base (+0) is
// free, so a kernel that is copied goes there.
struct InPlace {
    static constexpr u64 kSize = 96 * MiB;
    static constexpr u64 kFile = 7 * MiB + 0x123;
    static constexpr u64 kInitrdAt = kRam + 40 * MiB;
    static constexpr u64 kInitrdSize = 5 * MiB + 0x45;
    MemRange ram[1] = {{kRam, kSize}};
    MemRange keep[1] = {{kRam + 50 * MiB, 64 * KiB}};
    LinuxImage img;
    LayoutRequest req;
    InPlace(u64 kernel_at, bool anywhere, u64 text_offset = 0, u64 image_size = 12 * MiB)
        : img(linux_image(text_offset, image_size, anywhere, kFile < image_size ? kFile : image_size))
    {
        req.ram = ram;
        req.keep = keep;
        req.linux_image = &img;
        req.image_source = {kernel_at, kFile};
        req.has_initrd = true;
        req.initrd_source = {kInitrdAt, kInitrdSize};
    }
};

// Flags bit 3 and a module on a 2 MiB boundary (plus text_offset) with its
// image_size in RAM: the kernel runs where it was loaded, and load_guest
// touches neither it nor the initrd.
TEST_CASE("layout: a kernel on a 2 MiB boundary with flags bit 3 stays where it was loaded")
{
    const u64 text_offset = GENERATE(as<u64>{}, 0, 0x80000);
    const u64 kernel_at = kRam + 8 * MiB + text_offset;
    INFO("text_offset 0x" << std::hex << text_offset);
    InPlace t(kernel_at, true, text_offset);
    auto p = plan(t.req);
    REQUIRE(p.ok);
    CHECK(p.layout.kernel_in_place);
    CHECK(p.layout.kernel_base == kernel_at);
    CHECK(p.layout.entry == kernel_at);
    CHECK(p.layout.kernel_size == 12 * MiB);
    CHECK(p.layout.initrd_in_place);

    Arena arena(kRam, InPlace::kSize, 0xee);
    auto kernel_bytes = pattern(InPlace::kFile, 1);
    std::copy(kernel_bytes.begin(), kernel_bytes.end(), arena.at(kernel_at));
    MapLog log{arena.access(), {}};
    GuestPayload payload{arena.at(kernel_at), InPlace::kFile, arena.at(InPlace::kInitrdAt), InPlace::kInitrdSize};
    Diagnostic diag;
    REQUIRE(load_guest(t.req, p.layout, payload, log.access(), diag).ok());
    CHECK(log.maps.empty());  // nothing copied
    CHECK(std::equal(kernel_bytes.begin(), kernel_bytes.end(), arena.at(kernel_at)));
}

// Not on text_offset above a 2 MiB boundary: copied to the lowest base, as
// before.
TEST_CASE("layout: a kernel module off a 2 MiB boundary is copied")
{
    struct Case {
        u64 text_offset, kernel_at;
    };
    const Case c = GENERATE(Case{0, kRam + 8 * MiB + 0x1000}, Case{0, kRam + 9 * MiB},
                            Case{0x80000, kRam + 8 * MiB},  // aligned, but text_offset is not honoured
                            Case{0x80000, kRam + 8 * MiB + 0x1000});
    INFO("text_offset 0x" << std::hex << c.text_offset << ", module at 0x" << c.kernel_at);
    InPlace t(c.kernel_at, true, c.text_offset);
    auto p = plan(t.req);
    REQUIRE(p.ok);
    CHECK_FALSE(p.layout.kernel_in_place);
    CHECK(p.layout.kernel_base == kRam + c.text_offset);

    Arena arena(kRam, InPlace::kSize, 0xee);
    auto kernel_bytes = pattern(InPlace::kFile, 1);
    std::copy(kernel_bytes.begin(), kernel_bytes.end(), arena.at(c.kernel_at));
    MapLog log{arena.access(), {}};
    GuestPayload payload{arena.at(c.kernel_at), InPlace::kFile, arena.at(InPlace::kInitrdAt), InPlace::kInitrdSize};
    Diagnostic diag;
    REQUIRE(load_guest(t.req, p.layout, payload, log.access(), diag).ok());
    CHECK(log.touched(p.layout.kernel_base, InPlace::kFile));
    CHECK(std::equal(kernel_bytes.begin(), kernel_bytes.end(), arena.at(p.layout.kernel_base)));
}

// Flags bit 3 clear: the base must be as low as possible, so even a module on
// a 2 MiB boundary is copied to the lowest base.
TEST_CASE("layout: without flags bit 3 an aligned kernel module is still copied to the lowest base")
{
    InPlace t(kRam + 8 * MiB, false);
    auto p = plan(t.req);
    REQUIRE(p.ok);
    CHECK_FALSE(p.layout.kernel_in_place);
    CHECK(p.layout.kernel_base == kRam);
}

// Aligned and bit 3 set, but image_size from the module's place does not fit
// in guest RAM (past its end, or into a hole such as passage's own memory):
// copied, or refused with the same message as before.
TEST_CASE("layout: an aligned kernel module whose image_size leaves guest RAM is copied")
{
    SECTION("past the end of RAM")
    {
        InPlace t(kRam + 88 * MiB, true);  // the file ends inside RAM, the BSS would not
        auto p = plan(t.req);
        REQUIRE(p.ok);
        CHECK_FALSE(p.layout.kernel_in_place);
        CHECK(p.layout.kernel_base == kRam);
    }
    SECTION("into a hole in guest RAM")
    {
        InPlace t(kRam + 8 * MiB, true);
        MemRange ram[] = {{kRam, 16 * MiB}, {kRam + 20 * MiB, InPlace::kSize - 20 * MiB}};
        t.req.ram = ram;
        auto p = plan(t.req);
        REQUIRE(p.ok);
        CHECK_FALSE(p.layout.kernel_in_place);
        CHECK(p.layout.kernel_base == kRam);  // over its own file: memmove
    }
    SECTION("larger than any RAM range: refused as before")
    {
        InPlace t(kRam, true, 0, 100 * MiB);
        auto p = plan(t.req);
        REQUIRE_FALSE(p.ok);
        CHECK(p.msg() ==
              "guest layout: the kernel needs 104857600 bytes (image_size 0x6400000) but the largest guest RAM "
              "range is 100663296 bytes");
    }
}

// Aligned and bit 3 set, but staying would cover something the layout must
// keep: the kernel is copied (check_invariants: clear of what it would cover).
TEST_CASE("layout: an aligned kernel module over a kept region or the initrd is copied")
{
    SECTION("its BSS would cover the host DTB")
    {
        // The host DTB at +50 MiB: past the file (to +47 MiB), inside image_size (to +52 MiB).
        InPlace t(kRam + 40 * MiB, true);
        t.req.initrd_source.base = kRam + 70 * MiB;  // out of the way
        auto p = plan(t.req);
        REQUIRE(p.ok);
        CHECK_FALSE(p.layout.kernel_in_place);
        CHECK(p.layout.kernel_base == kRam);
    }
    SECTION("its BSS would cover the initrd")
    {
        InPlace t(kRam + 30 * MiB, true);  // image_size ends at +42 MiB, the initrd starts at +40 MiB
        auto p = plan(t.req);
        REQUIRE(p.ok);
        CHECK_FALSE(p.layout.kernel_in_place);
        CHECK(p.layout.kernel_base == kRam);
        CHECK(p.layout.initrd_in_place);
    }
}

// Staying would leave no 2 MiB block for the DTB: planned as before, which
// here refuses it with the same message.
TEST_CASE("layout: a kernel module that would leave no block for the DTB is planned as before")
{
    // 16 MiB of RAM, the first two blocks kept, the module at +4 MiB with
    // image_size 12 MiB: in place it fills 4-16 MiB, leaving the DTB no
    // block. The usual lowest base is the same +4 MiB, so that fails too.
    MemRange ram[] = {{kRam, 16 * MiB}};
    MemRange keep[] = {{kRam, 4 * KiB}, {kRam + 2 * MiB, 4 * KiB}};
    LinuxImage img = linux_image(0, 12 * MiB, true, 4 * MiB);
    LayoutRequest req;
    req.ram = ram;
    req.keep = keep;
    req.linux_image = &img;
    req.image_source = {kRam + 4 * MiB, 4 * MiB};
    auto p = plan(req);
    REQUIRE_FALSE(p.ok);
    CHECK(p.msg().find("no free 2 MiB-aligned 2 MiB block in guest RAM for the DTB") != std::string::npos);
}

// An initrd that is in guest RAM and clear of the kernel stays put.
TEST_CASE("layout: the initrd stays where it is when it can")
{
    MemRange ram[] = {{kRam, 1 * GiB}};
    LinuxImage img = linux_image(0, 40 * MiB);
    LayoutRequest req;
    req.ram = ram;
    req.linux_image = &img;
    req.has_initrd = true;
    req.initrd_source = {kRam + 0x8200000, 5 * MiB + 123};
    auto p = plan(req);
    REQUIRE(p.ok);
    CHECK(p.layout.initrd_in_place);
    CHECK(p.layout.initrd_base == kRam + 0x8200000);
    CHECK(p.layout.initrd_size == 5 * MiB + 123);

    // Outside guest RAM (over the hypervisor, say): it moves.
    MemRange ram2[] = {{kRam, 128 * MiB}, {kRam + 256 * MiB, 256 * MiB}};
    req.ram = ram2;
    req.initrd_source = {kRam + 130 * MiB, 5 * MiB};
    auto q = plan(req);
    REQUIRE(q.ok);
    CHECK_FALSE(q.layout.initrd_in_place);
    CHECK(is_aligned(q.layout.initrd_base, kPageSize));
}

TEST_CASE("layout: no room for the initrd")
{
    MemRange ram[] = {{kRam, 64 * MiB}};
    LinuxImage img = linux_image(0, 40 * MiB);
    LayoutRequest req;
    req.ram = ram;
    req.linux_image = &img;
    req.has_initrd = true;
    req.initrd_source = {kRam + 0x1000000, 30 * MiB};  // overlaps any kernel place; no room to move
    auto p = plan(req);
    REQUIRE_FALSE(p.ok);
    CHECK(p.msg().find("no room for the initrd (31457280 bytes, now at 0x41000000)") != std::string::npos);
}

TEST_CASE("layout: modules that overlap each other are refused")
{
    MemRange ram[] = {{kRam, 1 * GiB}};
    LinuxImage img = linux_image(0, 40 * MiB);
    LayoutRequest req;
    req.ram = ram;
    req.linux_image = &img;
    req.image_source = {kRam + 0x2000000, 20 * MiB};
    req.has_initrd = true;
    req.initrd_source = {kRam + 0x2000000 + 19 * MiB, 4 * MiB};
    auto p = plan(req);
    REQUIRE_FALSE(p.ok);
    CHECK(p.msg() ==
          "guest layout: the initrd at 0x43300000 size 0x400000 overlaps the kernel module at 0x42000000 size 0x1400000");
}

TEST_CASE("layout: bad requests are refused")
{
    MemRange ram[] = {{kRam, 1 * GiB}};
    LinuxImage img = linux_image(0, 4 * MiB);
    LayoutRequest req;
    Plan p;
    p = plan(req);
    CHECK(p.msg() == "guest layout: give exactly one kernel (an Image or an ELF)");
    req.linux_image = &img;
    p = plan(req);
    CHECK(p.msg() == "guest layout: no guest RAM");
    MemRange wrap[] = {{0xfffffffffff00000, 2 * MiB}};
    req.ram = wrap;
    p = plan(req);
    CHECK(p.msg().find("is empty or wraps") != std::string::npos);
    req.ram = ram;
    CHECK(plan(req).ok);
}

// The copies, in memory where the modules really sit: sweep the modules'
// places over RAM, including places where the kernel lands on its own file
// or on the initrd, and check the bytes afterwards.
TEST_CASE("layout: the copies put the right bytes in place and never clobber a module")
{
    constexpr u64 kSize = 96 * MiB;
    const u64 kernel_at = GENERATE(as<u64>{}, 0, 3 * MiB + 0x1000, 10 * MiB, 20 * MiB + 0x80000, 40 * MiB, 70 * MiB);
    const u64 initrd_at = GENERATE(as<u64>{}, 0x5000, 12 * MiB + 0x3000, 33 * MiB, 60 * MiB, 88 * MiB);
    const bool anywhere = GENERATE(false, true);
    const u64 kernel_file = 7 * MiB + 0x123;
    const u64 initrd_size = 5 * MiB + 0x45;
    if (ranges_overlap(kernel_at, kernel_file, initrd_at, initrd_size)) return;
    INFO("kernel file at +0x" << std::hex << kernel_at << ", initrd at +0x" << initrd_at << ", anywhere " << anywhere);

    Arena arena(kRam, kSize, 0xee);
    auto kernel_bytes = pattern(kernel_file, 1);
    auto initrd_bytes = pattern(initrd_size, 99);
    std::copy(kernel_bytes.begin(), kernel_bytes.end(), arena.at(kRam + kernel_at));
    std::copy(initrd_bytes.begin(), initrd_bytes.end(), arena.at(kRam + initrd_at));

    MemRange ram[] = {{kRam, kSize}};
    MemRange keep[] = {{kRam + 50 * MiB, 64 * KiB}};  // the host DTB
    LinuxImage img = linux_image(0x80000, 12 * MiB, anywhere, kernel_file);
    LayoutRequest req;
    req.ram = ram;
    req.keep = keep;
    req.linux_image = &img;
    req.image_source = {kRam + kernel_at, kernel_file};
    req.has_initrd = true;
    req.initrd_source = {kRam + initrd_at, initrd_size};
    auto p = plan(req);
    REQUIRE(p.ok);

    std::vector<u8> host_dtb(arena.at(kRam + 50 * MiB), arena.at(kRam + 50 * MiB) + 64 * KiB);
    GuestPayload payload{arena.at(kRam + kernel_at), kernel_file, arena.at(kRam + initrd_at), initrd_size};
    Diagnostic diag;
    REQUIRE(load_guest(req, p.layout, payload, arena.access(), diag).ok());
    const GuestLayout& l = p.layout;
    CHECK(std::equal(kernel_bytes.begin(), kernel_bytes.end(), arena.at(l.kernel_base)));
    CHECK(std::equal(initrd_bytes.begin(), initrd_bytes.end(), arena.at(l.initrd_base)));
    CHECK(std::equal(host_dtb.begin(), host_dtb.end(), arena.at(kRam + 50 * MiB)));
}

// Two ELF segments in 16 MiB of RAM; the second has 0x3000 bytes of BSS.
struct TwoSegmentElf {
    std::vector<u8> file = pattern(0x4000, 5);
    ElfImage elf;
    MemRange ram[1] = {{kRam, 16 * MiB}};
    LayoutRequest req;
    TwoSegmentElf()
    {
        elf.entry = elf.entry_phys = kRam + 0x80000;
        elf.segments[0] = {kRam + 0x80000, kRam + 0x80000, 0x1000, 0x1000, 0x1000};
        elf.segments[1] = {kRam + 0x90000, kRam + 0x90000, 0x2000, 0x800, 0x3800};
        elf.segment_count = 2;
        req.ram = ram;
        req.elf = &elf;
    }
    TwoSegmentElf(const TwoSegmentElf&) = delete;  // req points into it
};

TEST_CASE("layout: ELF segments load at their own addresses with BSS zeroed")
{
    TwoSegmentElf t;
    const std::vector<u8>& file = t.file;
    const LayoutRequest& req = t.req;
    auto p = plan(req);
    REQUIRE(p.ok);
    CHECK(p.layout.is_elf);
    CHECK(p.layout.kernel_base == kRam + 0x80000);
    CHECK(p.layout.kernel_size == 0x13800);
    CHECK(p.layout.entry == kRam + 0x80000);
    CHECK(p.layout.dtb_base == kRam + 14 * MiB);

    Arena arena(kRam, 16 * MiB, 0xaa);
    Diagnostic diag;
    GuestPayload payload{file.data(), file.size(), nullptr, 0};
    REQUIRE(load_guest(req, p.layout, payload, arena.access(), diag).ok());
    CHECK(std::equal(file.begin() + 0x1000, file.begin() + 0x2000, arena.at(kRam + 0x80000)));
    CHECK(std::equal(file.begin() + 0x2000, file.begin() + 0x2800, arena.at(kRam + 0x90000)));
    for (u64 a = kRam + 0x90800; a < kRam + 0x93800; ++a) REQUIRE(*arena.at(a) == 0);
    CHECK(*arena.at(kRam + 0x93800) == 0xaa);  // nothing past memsz
    CHECK(*arena.at(kRam + 0x7ffff) == 0xaa);
}

// The target clears tails by cache blocks: load_guest hands each tail to
// PhysAccess::zero, exactly it, and does not memset it as well.
TEST_CASE("layout: ELF tails go to the zero function the caller gives")
{
    TwoSegmentElf t;
    const std::vector<u8>& file = t.file;
    const LayoutRequest& req = t.req;
    auto p = plan(req);
    REQUIRE(p.ok);
    Arena arena(kRam, 16 * MiB, 0xaa);
    PhysAccess access = arena.access();
    access.zero = [](void*, u8* at, usize n) { std::fill(at, at + n, u8(0x5a)); };  // marks what it was given
    GuestPayload payload{file.data(), file.size(), nullptr, 0};
    Diagnostic diag;
    REQUIRE(load_guest(req, p.layout, payload, access, diag).ok());
    for (u64 a = kRam + 0x90800; a < kRam + 0x93800; ++a) REQUIRE(*arena.at(a) == 0x5a);  // the tail, by zero()
    CHECK(*arena.at(kRam + 0x907ff) == file[0x2000 + 0x7ff]);  // the file bytes before it
    CHECK(*arena.at(kRam + 0x93800) == 0xaa);                 // nothing past memsz
}

TEST_CASE("layout: an ELF segment outside guest RAM or over kept memory is refused")
{
    ElfImage elf;
    elf.entry = elf.entry_phys = kRam + 0x80000;
    elf.segments[0] = {kRam + 0x80000, kRam + 0x80000, 0, 0x1000, 0x1000};
    elf.segments[1] = {kRam + 0x200000, kRam + 0x200000, 0, 0, 0x10000};
    elf.segment_count = 2;
    // passage sits at 0x40200000-0x403fffff: not guest RAM.
    MemRange ram[] = {{kRam, 2 * MiB}, {kRam + 4 * MiB, 60 * MiB}};
    LayoutRequest req;
    req.ram = ram;
    req.elf = &elf;
    auto p = plan(req);
    REQUIRE_FALSE(p.ok);
    CHECK(p.msg() ==
          "guest ELF: segment at 0x40200000 size 0x10000 is not inside guest RAM (outside memory, or over the "
          "hypervisor)");

    elf.segments[1].paddr = kRam + 5 * MiB;
    MemRange keep[] = {{kRam + 5 * MiB + 0x8000, 0x1000}};
    req.keep = keep;
    auto q = plan(req);
    REQUIRE_FALSE(q.ok);
    CHECK(q.msg() == "guest ELF: segment at 0x40500000 size 0x10000 overlaps 0x40508000-0x40508fff, which must be kept");

    req.keep = {};
    req.image_source = {kRam + 5 * MiB + 0x4000, 0x8000};
    auto r = plan(req);
    REQUIRE_FALSE(r.ok);
    CHECK(r.msg().find("overlaps the ELF file itself") != std::string::npos);

    req.image_source = {};
    CHECK(plan(req).ok);
}

// An ELF landing on the initrd's place: the initrd is moved first.
TEST_CASE("layout: an ELF over the initrd moves the initrd first")
{
    std::vector<u8> file = pattern(0x3000, 9);
    ElfImage elf;
    elf.entry = elf.entry_phys = kRam + 0x100000;
    elf.segments[0] = {kRam + 0x100000, kRam + 0x100000, 0x1000, 0x2000, 0x2000};
    elf.segment_count = 1;
    Arena arena(kRam, 32 * MiB, 0);
    auto initrd = pattern(0x5000, 3);
    std::copy(initrd.begin(), initrd.end(), arena.at(kRam + 0x101000));
    MemRange ram[] = {{kRam, 32 * MiB}};
    LayoutRequest req;
    req.ram = ram;
    req.elf = &elf;
    req.has_initrd = true;
    req.initrd_source = {kRam + 0x101000, initrd.size()};
    auto p = plan(req);
    REQUIRE(p.ok);
    CHECK_FALSE(p.layout.initrd_in_place);
    Diagnostic diag;
    GuestPayload payload{file.data(), file.size(), arena.at(kRam + 0x101000), initrd.size()};
    REQUIRE(load_guest(req, p.layout, payload, arena.access(), diag).ok());
    CHECK(std::equal(initrd.begin(), initrd.end(), arena.at(p.layout.initrd_base)));
    CHECK(std::equal(file.begin() + 0x1000, file.begin() + 0x3000, arena.at(kRam + 0x100000)));
}

TEST_CASE("layout: the copy refuses memory it cannot reach")
{
    MemRange ram[] = {{kRam, 64 * MiB}};
    LinuxImage img = linux_image(0, 4 * MiB, false, 0x1000);
    LayoutRequest req;
    req.ram = ram;
    req.linux_image = &img;
    auto p = plan(req);
    REQUIRE(p.ok);
    Arena arena(kRam + 32 * MiB, 32 * MiB);  // the kernel's place is not backed
    std::vector<u8> file(0x1000, 1);
    Diagnostic diag;
    GuestPayload payload{file.data(), file.size(), nullptr, 0};
    REQUIRE_FALSE(load_guest(req, p.layout, payload, arena.access(), diag).ok());
    CHECK(std::string(diag.text) == "guest load: cannot reach the kernel at 0x40000000 size 0x1000");
}

// The self-test's scratch (issue 14 e): free by the layout's own rules,
// never over the host DTB, reserved memory or a boot module still to load.
TEST_CASE("layout: scratch is taken clear of kept regions and boot modules")
{
    MemRange ram[] = {{kRam, 1 * GiB}};
    // The top 128 KiB hold a kept page, the 128 KiB under it the initrd,
    // the ones under that the kernel module.
    const u64 top = kRam + 1 * GiB;
    MemRange keep[] = {{top - 0x1000, 0x1000}};
    LayoutRequest req;
    req.ram = ram;
    req.keep = keep;
    req.has_initrd = true;
    req.initrd_source = {top - 2 * 128 * KiB, 128 * KiB};
    req.image_source = {top - 3 * 128 * KiB, 128 * KiB - 0x1000};
    MemRange s;
    Diagnostic d;
    REQUIRE(find_free_ram(req, 128 * KiB, kPageSize, s, d));
    CHECK(s.size == 128 * KiB);
    CHECK(s.end() <= req.image_source.base);
    CHECK(s.base == top - 4 * 128 * KiB);
    for (const MemRange& r : {keep[0], req.initrd_source, req.image_source})
        CHECK_FALSE(ranges_overlap(s.base, s.size, r.base, r.size));
}

TEST_CASE("layout: no room for scratch is a clear error")
{
    MemRange ram[] = {{kRam, 256 * KiB}};
    MemRange keep[] = {{kRam + 64 * KiB, 0x1000}, {kRam + 192 * KiB, 0x1000}};
    LayoutRequest req;
    req.ram = ram;
    req.keep = keep;
    MemRange s;
    Diagnostic d;
    REQUIRE_FALSE(find_free_ram(req, 128 * KiB, kPageSize, s, d));
    CHECK(std::string(d.text) == "scratch: no 131072 free bytes in guest RAM clear of the boot modules and the regions to keep");
}
