// boot/options.cpp: every passage.* option, read once into BootOptions.
#include <catch2/catch.hpp>

#include <string>

#include "options.h"

using namespace passage;

namespace {

BootOptions parse_ok(const char* cmdline)
{
    BootOptions o;
    Diagnostic d;
    REQUIRE(parse_boot_options(cmdline, o, d).ok());
    return o;
}

std::string parse_error(const char* cmdline)
{
    BootOptions o;
    Diagnostic d;
    REQUIRE_FALSE(parse_boot_options(cmdline, o, d).ok());
    return d.text;
}

}  // namespace

// No bootargs and bootargs without passage.* give the same defaults.
TEST_CASE("boot options: the defaults")
{
    for (const char* cmdline : {static_cast<const char*>(nullptr), "", "console=ttyAMA0 passage.unknown=1"}) {
        BootOptions o = parse_ok(cmdline);
        CHECK(o.log_level == LogLevel::Info);
        CHECK(o.selftest == Selftest::On);
        CHECK(o.guest);
        CHECK(o.vconfig);
        CHECK(o.probe_only == ProbeOnly::Default);
        CHECK(o.smmu);
        CHECK_FALSE(o.smmu_2level);
        CHECK_FALSE(o.dma_selftest);
        CHECK(o.devices.assign_count == 0);
        CHECK_FALSE(o.devices.assign_given);
        CHECK(o.devices.deny_count == 0);
        CHECK(o.devices.device_mmio_count == 0);
    }
}

TEST_CASE("boot options: every word option away from its default")
{
    BootOptions o = parse_ok("passage.loglevel=debug passage.selftest=fault passage.guest=off passage.vpci=off "
                             "passage.probe_only=on passage.smmu=off passage.smmu_2level=on passage.dma_selftest");
    CHECK(o.log_level == LogLevel::Debug);
    CHECK(o.selftest == Selftest::Fault);
    CHECK_FALSE(o.guest);
    CHECK_FALSE(o.vconfig);
    CHECK(o.probe_only == ProbeOnly::On);
    CHECK_FALSE(o.smmu);
    CHECK(o.smmu_2level);
    CHECK(o.dma_selftest);  // bare: on
    CHECK(parse_ok("passage.loglevel=error").log_level == LogLevel::Error);
    CHECK(parse_ok("passage.loglevel=warn").log_level == LogLevel::Warn);
    CHECK(parse_ok("passage.selftest=off").selftest == Selftest::Off);
    CHECK(parse_ok("passage.probe_only=off").probe_only == ProbeOnly::Off);
}

TEST_CASE("boot options: the device lists")
{
    BootOptions o = parse_ok("passage.assign=0000:00:03.0,00:04.0 passage.deny=01:00.1 passage.device_mmio=0001:02:1f.7");
    REQUIRE(o.devices.assign_count == 2);
    CHECK(o.devices.assign_given);
    CHECK(o.devices.assign[1].bdf == pci::Bdf{0, 4, 0});
    REQUIRE(o.devices.deny_count == 1);
    CHECK(o.devices.deny[0].bdf == pci::Bdf{1, 0, 1});
    REQUIRE(o.devices.device_mmio_count == 1);
    CHECK(o.devices.device_mmio[0].segment == 1);
    CHECK(o.devices.device_mmio[0].bdf == pci::Bdf{2, 0x1f, 7});
    CHECK(parse_ok("passage.assign=").devices.assign_given);  // an empty list still means "only these"
}

// The messages the QEMU tests bad-switch-option and bad-boot-option look for.
TEST_CASE("boot options: a bad word or list stops with a message naming the option")
{
    CHECK(parse_error("passage.vpci=of") == "boot option passage.vpci=of: expected on or off");
    CHECK(parse_error("passage.loglevel=loud") == "boot option passage.loglevel=loud: expected error, warn, info or debug");
    CHECK(parse_error("passage.selftest=yes") == "boot option passage.selftest=yes: expected on, off or fault");
    CHECK(parse_error("passage.probe_only=maybe") == "boot option passage.probe_only=maybe: expected on or off");
    for (const char* name : {"guest", "smmu", "smmu_2level", "dma_selftest"})
        CHECK(parse_error(("passage." + std::string(name) + "=1x").c_str()) ==
              "boot option passage." + std::string(name) + "=1x: expected on or off");
    CHECK(parse_error("passage.device_mmio=garbage") ==
          "passage.device_mmio: device list: cannot read \"garbage\" (want 0000:00:03.0)");
    CHECK(parse_error("passage.deny=00:20.0").find("passage.deny: device list") == 0);
    CHECK(parse_error("passage.assign=00:03.8").find("passage.assign: device list") == 0);
}

// The first bad option is the one reported, whatever follows.
TEST_CASE("boot options: the first error wins")
{
    CHECK(parse_error("passage.deny=zz passage.vpci=of") == "boot option passage.vpci=of: expected on or off");
    CHECK(parse_error("passage.loglevel=x passage.vpci=of").find("passage.loglevel=x") != std::string::npos);
}

// A parse over an earlier result starts again from the defaults.
TEST_CASE("boot options: parsing again resets what the earlier line set")
{
    BootOptions o;
    Diagnostic d;
    REQUIRE(parse_boot_options("passage.deny=00:01.0 passage.vpci=off", o, d).ok());
    REQUIRE(parse_boot_options("", o, d).ok());
    CHECK(o.devices.deny_count == 0);
    CHECK(o.vconfig);
}
