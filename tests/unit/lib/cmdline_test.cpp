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

TEST_CASE("cmdline: an option that takes one of a few words")
{
    const char* const on_off[] = {"off", "on"};
    char bad[8] = "";
    CHECK(cmdline_word("passage.vpci=off", "vpci", on_off, 1, bad, sizeof bad) == 0);
    CHECK(cmdline_word("passage.vpci=on", "vpci", on_off, 0, bad, sizeof bad) == 1);
    CHECK(cmdline_word("passage.vpci", "vpci", on_off, 0, bad, sizeof bad) == 1);  // bare: on
    CHECK(cmdline_word("console=ttyAMA0", "vpci", on_off, 1, bad, sizeof bad) == 1);  // absent: the default
    CHECK(cmdline_word(nullptr, "vpci", on_off, 1, bad, sizeof bad) == 1);
    CHECK(cmdline_word("passage.vpci=of", "vpci", on_off, 1, bad, sizeof bad) == -1);  // no prefix matching
    CHECK(std::string(bad) == "of");
    CHECK(cmdline_word("passage.vpci=offf", "vpci", on_off, 1, bad, sizeof bad) == -1);
    CHECK(cmdline_word("passage.vpci=", "vpci", on_off, 1, bad, sizeof bad) == -1);
    CHECK(std::string(bad).empty());
    CHECK(cmdline_word("passage.vpci=a-very-long-value", "vpci", on_off, 1, bad, sizeof bad) == -1);
    CHECK(std::string(bad) == "a-very-");  // cut to the buffer
    const char* const selftest[] = {"off", "on", "fault"};
    CHECK(cmdline_word("passage.selftest=fault", "selftest", selftest, 1, bad, sizeof bad) == 2);
}
