// The word-at-a-time memchr, strlen, memset and copy cores against a byte model,
// at every alignment of the start, every length and every position of the
// byte looked for. The buffer is one aligned array, so the aligned words the
// scans read around the range stay inside it.
#include <catch2/catch.hpp>

#include <cstring>

#include "passage/word_scan.h"

using namespace passage;

namespace {

constexpr usize kBuf = 128;

struct Buffer {
    alignas(16) unsigned char b[kBuf];
};

const void* model_find(const unsigned char* s, unsigned char c, usize n)
{
    for (usize i = 0; i < n; ++i)
        if (s[i] == c) return s + i;
    return nullptr;
}

}  // namespace

TEST_CASE("word scan: find_byte matches a byte loop at every alignment length and position")
{
    Buffer buf;
    for (usize start = 8; start < 24; ++start)
        for (usize n = 0; n <= 40; ++n)
            for (usize at = 0; at <= n + 8 && start + at < kBuf - 16; ++at) {
                // The byte looked for at `at` (inside or just past the range)
                // and before the start, where it must not be found.
                for (usize i = 0; i < kBuf; ++i) buf.b[i] = static_cast<unsigned char>(0x41 + i % 7);
                for (usize i = start - 8; i < start; ++i) buf.b[i] = 0;
                buf.b[start + at] = 0;
                const unsigned char* s = buf.b + start;
                INFO("start " << start << " n " << n << " at " << at);
                CHECK(words::find_byte(s, 0, n) == model_find(s, 0, n));
                CHECK(words::find_byte(s, 0x42, n) == model_find(s, 0x42, n));
                CHECK(words::find_byte(s, 0xff, n) == nullptr);
            }
}

TEST_CASE("word scan: find_byte finds 0x80 and 0x01 bytes which a carry could hide")
{
    Buffer buf;
    for (usize i = 0; i < kBuf; ++i) buf.b[i] = 0x80;
    buf.b[21] = 0x01;
    buf.b[22] = 0x00;
    CHECK(words::find_byte(buf.b + 3, 0x01, 64) == buf.b + 21);
    CHECK(words::find_byte(buf.b + 3, 0x00, 64) == buf.b + 22);
    CHECK(words::find_byte(buf.b + 3, 0x80, 64) == buf.b + 3);
    CHECK(words::find_byte(buf.b + 22, 0x01, 64) == nullptr);
}

TEST_CASE("word scan: string_length matches a byte loop at every alignment and length")
{
    Buffer buf;
    for (usize start = 8; start < 24; ++start)
        for (usize len = 0; len <= 48; ++len) {
            for (usize i = 0; i < kBuf; ++i) buf.b[i] = static_cast<unsigned char>(0x80 + i % 97);
            for (usize i = start - 8; i < start; ++i) buf.b[i] = 0;  // NULs before the start do not count
            buf.b[start + len] = 0;
            INFO("start " << start << " len " << len);
            CHECK(words::string_length(reinterpret_cast<const char*>(buf.b + start)) == len);
        }
}

TEST_CASE("word scan: fill_bytes writes exactly the range at every alignment and length")
{
    Buffer buf;
    for (usize start = 0; start < 16; ++start)
        for (usize n = 0; n <= 100; ++n) {
            for (usize i = 0; i < kBuf; ++i) buf.b[i] = 0x5a;
            words::fill_bytes(buf.b + start, 0xc3, n);
            INFO("start " << start << " n " << n);
            for (usize i = 0; i < start + n + 8 && i < kBuf; ++i)
                REQUIRE(buf.b[i] == (i >= start && i < start + n ? 0xc3 : 0x5a));
        }
}

// memcpy and memmove's cores: every alignment of both ends, lengths across
// the 64- and 16-byte rounds, and overlaps in both directions by every
// distance up to past a round.
TEST_CASE("word scan: copy_forward and copy_backward match memmove at every alignment length and overlap")
{
    constexpr usize kArea = 256;
    alignas(16) unsigned char area[kArea];
    alignas(16) unsigned char model[kArea];
    auto reset = [&] {
        for (usize i = 0; i < kArea; ++i) area[i] = model[i] = static_cast<unsigned char>(i * 7 + 3);
    };
    for (usize from = 0; from < 16; ++from)
        for (usize to = 0; to < 16; ++to)
            for (usize n = 0; n <= 150; n += (n < 20 ? 1 : 13)) {
                // Apart: both directions are a plain copy.
                reset();
                words::copy_forward(area + 100 + to, area + from, n < 84 ? n : 84);
                std::memmove(model + 100 + to, model + from, n < 84 ? n : 84);
                INFO("from " << from << " to " << to << " n " << n);
                REQUIRE(std::memcmp(area, model, kArea) == 0);
                // Overlapping: destination below the source goes forward,
                // above it backward, as memmove chooses.
                reset();
                words::copy_forward(area + to, area + 16 + from, n);
                std::memmove(model + to, model + 16 + from, n);
                REQUIRE(std::memcmp(area, model, kArea) == 0);
                reset();
                words::copy_backward(area + 16 + from + to, area + from, n);
                std::memmove(model + 16 + from + to, model + from, n);
                REQUIRE(std::memcmp(area, model, kArea) == 0);
            }
}
