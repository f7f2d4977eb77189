// The arm64 Image header: headers laid out as booting.rst gives them, good
// and broken.
#include <catch2/catch.hpp>

#include <cstring>
#include <string>
#include <vector>

#include "passage/guest/image.h"

using namespace passage;

namespace {

void put_le(std::vector<u8>& b, usize off, u64 v, int bytes)
{
    for (int i = 0; i < bytes; ++i) b[off + i] = static_cast<u8>(v >> (8 * i));
}

// A file of file_size bytes with an Image header (code0 a branch, as a real
// kernel has).
std::vector<u8> make_image(u64 text_offset, u64 image_size, u64 flags, usize file_size = 4096)
{
    std::vector<u8> b(file_size, 0);
    put_le(b, 0, 0x14000010, 4);  // b +0x40
    put_le(b, 8, text_offset, 8);
    put_le(b, 16, image_size, 8);
    put_le(b, 24, flags, 8);
    put_le(b, 56, 0x644d5241, 4);
    put_le(b, 60, 0x40, 4);
    return b;
}

struct Parsed {
    LinuxImage img;
    Diagnostic diag;
    bool ok;
};

Parsed parse(const std::vector<u8>& b)
{
    Parsed p{};
    p.ok = parse_linux_image(b.data(), b.size(), p.img, p.diag).ok();
    return p;
}

}  // namespace

// A modern header: every field comes through.
TEST_CASE("Image: a good header is read field by field")
{
    auto b = make_image(0, 0x2a00000, 0b1010);  // LE, 4K pages, place anywhere
    auto p = parse(b);
    REQUIRE(p.ok);
    CHECK(p.img.text_offset == 0);
    CHECK(p.img.image_size == 0x2a00000);
    CHECK(p.img.copy_size == b.size());
    CHECK_FALSE(p.img.old_kernel);
    CHECK(p.img.page_size == KernelPageSize::K4);
    CHECK(p.img.place_anywhere);
    CHECK(looks_like_linux_image(b.data(), b.size()));
}

// flags bits 1-2 are the page size, bit 3 the placement.
TEST_CASE("Image: page size and placement flags")
{
    auto [bits, size] = GENERATE(table<u64, KernelPageSize>({{0, KernelPageSize::Unspecified},
                                                              {1, KernelPageSize::K4},
                                                              {2, KernelPageSize::K16},
                                                              {3, KernelPageSize::K64}}));
    auto p = parse(make_image(0x80000, 0x100000, bits << 1));
    REQUIRE(p.ok);
    CHECK(p.img.page_size == size);
    CHECK_FALSE(p.img.place_anywhere);
    CHECK(p.img.text_offset == 0x80000);
    CHECK(std::string(kernel_page_size_name(size)).size() > 0);
}

// Reserved flag bits are ignored, not refused: a newer kernel may set them.
TEST_CASE("Image: reserved flag bits are ignored")
{
    auto p = parse(make_image(0, 0x100000, 0xf0u | 0b1000));
    REQUIRE(p.ok);
    CHECK(p.img.place_anywhere);
}

// image_size 0 is a kernel older than 3.17: text_offset 0x80000, size from the file.
TEST_CASE("Image: image_size 0 means an old kernel")
{
    auto b = make_image(0x12345, 0, 0b1111, 8192);
    auto p = parse(b);
    REQUIRE(p.ok);
    CHECK(p.img.old_kernel);
    CHECK(p.img.text_offset == 0x80000);
    CHECK(p.img.image_size == 8192);
    CHECK(p.img.copy_size == 8192);
    CHECK_FALSE(p.img.place_anywhere);  // flags are not defined on such kernels
}

// Bytes appended past image_size (a signature) are not copied.
TEST_CASE("Image: only image_size bytes of a longer file are copied")
{
    auto p = parse(make_image(0, 0x800, 0, 0x1000));
    REQUIRE(p.ok);
    CHECK(p.img.image_size == 0x800);
    CHECK(p.img.copy_size == 0x800);
}

TEST_CASE("Image: bad magic is refused naming the value and offset")
{
    auto b = make_image(0, 0x100000, 0);
    b[59] = 0x65;  // 0x654d5241
    auto p = parse(b);
    REQUIRE_FALSE(p.ok);
    CHECK(std::string(p.diag.text) ==
          "guest Image: bad magic 0x654d5241 at offset 56 (not an arm64 Image; expected 0x644d5241)");
    CHECK_FALSE(looks_like_linux_image(b.data(), b.size()));
}

TEST_CASE("Image: big-endian kernels are refused")
{
    auto p = parse(make_image(0, 0x100000, 0b1011));
    REQUIRE_FALSE(p.ok);
    CHECK(std::string(p.diag.text) == "guest Image: big-endian kernels are not supported");
}

// Truncated files, down to nothing: never a read past the end (ASan watches).
TEST_CASE("Image: a file smaller than the header is refused")
{
    usize size = GENERATE(0, 1, 56, 63);
    auto full = make_image(0, 0x100000, 0, 64);
    std::vector<u8> b(full.begin(), full.begin() + size);
    LinuxImage img;
    Diagnostic diag;
    REQUIRE_FALSE(parse_linux_image(size ? b.data() : nullptr, size, img, diag).ok());
    CHECK(std::string(diag.text) ==
          "guest Image: file of " + std::to_string(size) + " bytes is smaller than its header (64 bytes)");
    CHECK_FALSE(looks_like_linux_image(b.data(), size));
}

TEST_CASE("Image: a header of exactly 64 bytes parses")
{
    auto p = parse(make_image(0, 0x100000, 0, 64));
    REQUIRE(p.ok);
    CHECK(p.img.copy_size == 64);
}

TEST_CASE("Image: implausible sizes are refused")
{
    auto p = parse(make_image(0, 32, 0));
    REQUIRE_FALSE(p.ok);
    CHECK(std::string(p.diag.text).find("image_size 32 is smaller than the header") != std::string::npos);
    auto q = parse(make_image(0x100000000ull, 0x100000, 0));
    REQUIRE_FALSE(q.ok);
    CHECK(std::string(q.diag.text).find("implausible header") != std::string::npos);
}
