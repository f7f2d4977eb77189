// Boot options are found by exact name, never by prefix.
#include <catch2/catch.hpp>

#include <string>

#include "passage/cmdline.h"

using namespace passage;

TEST_CASE("cmdline: finds passage.* options by exact name")
{
    char buf[32];
    const char* cmd = "console=ttyAMA0 passage.selftest=fault passage.loglevel=debug passage.quiet";
    REQUIRE(cmdline_option(cmd, "selftest", buf, sizeof buf));
    CHECK(std::string(buf) == "fault");
    REQUIRE(cmdline_option(cmd, "loglevel", buf, sizeof buf));
    CHECK(std::string(buf) == "debug");
    REQUIRE(cmdline_option(cmd, "quiet", buf, sizeof buf));
    CHECK(std::string(buf) == "1");
    CHECK_FALSE(cmdline_option(cmd, "self", buf, sizeof buf));
    CHECK_FALSE(cmdline_option(cmd, "console", buf, sizeof buf));
    CHECK_FALSE(cmdline_option(nullptr, "x", buf, sizeof buf));
}

TEST_CASE("cmdline: a value longer than the buffer is refused")
{
    char buf[4];
    CHECK_FALSE(cmdline_option("passage.x=toolong", "x", buf, sizeof buf));
    CHECK(cmdline_option("passage.x=abc", "x", buf, sizeof buf));
}
