// The freestanding formatter against the cases the boot log relies on.
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstring>
#include <string>

#include "passage/format.h"

using namespace passage;

namespace {
template <typename... A>
std::string fmt(const char* f, A... a)
{
    char buf[128];
    format(buf, sizeof buf, f, a...);
    return buf;
}
}  // namespace

TEST_CASE("format: integers in every base and width")
{
    CHECK(fmt("%d", -42) == "-42");
    CHECK(fmt("%u", 42u) == "42");
    CHECK(fmt("%x", 0xbeefu) == "beef");
    CHECK(fmt("%X", 0xbeefu) == "BEEF");
    CHECK(fmt("%08x", 0x1234u) == "00001234");
    CHECK(fmt("%5d|", 7) == "    7|");
    CHECK(fmt("%-5d|", 7) == "7    |");
    CHECK(fmt("%lx", 0x4010000000ul) == "4010000000");
    CHECK(fmt("%llu", 18446744073709551615ull) == "18446744073709551615");
    CHECK(fmt("%zu", std::size_t{12}) == "12");
    CHECK(fmt("%ld", -9223372036854775807l - 1) == "-9223372036854775808");
}

TEST_CASE("format: strings and chars and pointers and percent")
{
    CHECK(fmt("%s!", "hi") == "hi!");
    CHECK(fmt("%-4s|", "ab") == "ab  |");
    CHECK(fmt("%4s|", "ab") == "  ab|");
    CHECK(fmt("%.2s", "abcdef") == "ab");
    CHECK(fmt("%s", static_cast<const char*>(nullptr)) == "(null)");
    CHECK(fmt("%c%c", 'o', 'k') == "ok");
    CHECK(fmt("%p", reinterpret_cast<void*>(0x40200000)) == "0x40200000");
    CHECK(fmt("100%%") == "100%");
}

TEST_CASE("format: truncates but reports the full length")
{
    char buf[5];
    CHECK(format(buf, sizeof buf, "%s", "abcdefgh") == 8);
    CHECK(std::string(buf) == "abcd");
    CHECK(format(nullptr, 0, "%d", 12345) == 5);
}

// Plain text, padding and plain strings are stored as runs: at every buffer size the
// stored prefix, the NUL and the reported length must be snprintf's.
TEST_CASE("format: every truncation point of runs and padding is snprintf's")
{
    const char* f = "ab %-6s|%5u|%08x and %c%%, %.3s end %s.";
    char want[128];
    const int full = std::snprintf(want, sizeof want, f, "xy", 42u, 0xbeefu, 'q', "abcdef", "plain");
    REQUIRE(full > 0);
    for (usize size = 1; size <= usize(full) + 2; ++size) {
        char got[128];
        char model[128];
        std::memset(got, '#', sizeof got);
        std::snprintf(model, size, f, "xy", 42u, 0xbeefu, 'q', "abcdef", "plain");
        INFO("size " << size);
        CHECK(format(got, size, f, "xy", 42u, 0xbeefu, 'q', "abcdef", "plain") == usize(full));
        CHECK(std::string(got) == std::string(model));
        CHECK(got[size] == '#');  // nothing past the buffer
    }
}
