// Discovery on the device trees QEMU really generates (dumped at test time),
// on hand-written board-like trees, and on broken blobs, which must give a
// clear error and never a crash (ASan and UBSan watch every case).
#include <catch2/catch.hpp>

#include <cstring>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "passage/discover.h"
#include "passage/log.h"
#include "support/fixture.h"

using namespace passage;
using namespace passage::test;

namespace {

std::string g_log;
void capture(const char* text, usize len) { g_log.append(text, len); }

const PciWindow* window(const PciHostBridge& b, PciSpace space)
{
    for (usize i = 0; i < b.window_count; ++i)
        if (b.windows[i].space == space) return &b.windows[i];
    return nullptr;
}

}  // namespace

TEST_CASE("discover: QEMU virt with a GICv3 ITS and a 64-bit PCI window")
{
    auto d = discover_blob(load_dtb("qemu-virt-gicv3.dtb"));
    INFO(d.diag.text);
    REQUIRE(d.ok);
    const Platform& p = d.p;
    REQUIRE(p.memory_count == 1);
    CHECK(p.memory[0].base == 0x40000000);
    CHECK(p.memory[0].size == 1 * GiB);
    CHECK(p.cpu_count == 2);
    CHECK(p.cpu_mpidr[1] == 1);
    CHECK(p.psci == PsciMethod::Smc);
    CHECK(p.uart.base == 0x09000000);
    CHECK(p.gic.version == GicVersion::V3);
    CHECK(p.gic.dist.base == 0x08000000);
    REQUIRE(p.gic.redist_count == 1);
    CHECK(p.gic.redist[0].base == 0x080a0000);
    REQUIRE(p.gic.its_count == 1);
    CHECK(p.gic.its[0].base == 0x08080000);
    CHECK(p.timer.present);
    CHECK(p.timer.ppi[3] == 10);
    REQUIRE(p.bridge_count == 1);
    const PciHostBridge& b = p.bridges[0];
    CHECK(b.ecam_base == 0x4010000000);
    CHECK(b.ecam_size == 256 * MiB);
    CHECK(b.bus_start == 0);
    CHECK(b.bus_end == 255);
    CHECK(b.dma_coherent);
    REQUIRE(window(b, PciSpace::Io));
    CHECK(window(b, PciSpace::Io)->cpu_addr == 0x3eff0000);
    CHECK(window(b, PciSpace::Io)->pci_addr == 0);
    REQUIRE(window(b, PciSpace::Mem32));
    CHECK(window(b, PciSpace::Mem32)->cpu_addr == 0x10000000);
    CHECK(window(b, PciSpace::Mem32)->size == 0x2eff0000);
    REQUIRE(window(b, PciSpace::Mem64));
    CHECK(window(b, PciSpace::Mem64)->cpu_addr == 0x8000000000);
    CHECK(window(b, PciSpace::Mem64)->size == 512 * GiB);
    CHECK(p.mmio_count > 30);  // virtio-mmio transports, flash, RTC, GPIO, fw-cfg, UART
}

TEST_CASE("discover: QEMU virt with GICv2 and a GICv2m frame")
{
    auto d = discover_blob(load_dtb("qemu-virt-gicv2.dtb"));
    INFO(d.diag.text);
    REQUIRE(d.ok);
    const Gic& g = d.p.gic;
    CHECK(g.version == GicVersion::V2);
    CHECK(g.dist.base == 0x08000000);
    CHECK(g.cpu_if.base == 0x08010000);
    CHECK(g.hyp_if.base == 0x08030000);
    CHECK(g.vcpu_if.base == 0x08040000);
    REQUIRE(g.v2m_count == 1);
    CHECK(g.v2m[0].base == 0x08020000);
    CHECK(d.p.cpu_count == 4);
}

TEST_CASE("discover: QEMU virt without highmem has a small ECAM and no 64-bit window")
{
    auto d = discover_blob(load_dtb("qemu-virt-nohighmem.dtb"));
    INFO(d.diag.text);
    REQUIRE(d.ok);
    REQUIRE(d.p.bridge_count == 1);
    const PciHostBridge& b = d.p.bridges[0];
    CHECK(b.ecam_base == 0x3f000000);
    CHECK(b.bus_end == 15);
    CHECK(window(b, PciSpace::Mem64) == nullptr);
}

TEST_CASE("discover: addresses are translated through parent ranges")
{
    auto d = discover_blob(load_dtb("board-nested.dtb"));
    INFO(d.diag.text);
    REQUIRE(d.ok);
    const Platform& p = d.p;
    CHECK(std::string(p.model) == "passage test board");
    CHECK(p.uart.base == 0x2a001000);  // soc ranges move 0x1000 to 0x2a001000
    CHECK(std::string(p.uart.path) == "/soc/serial@1000");
    REQUIRE(p.memory_count == 2);
    CHECK(p.memory[1].base == 0x880000000);
    CHECK(p.memory[1].size == 2 * GiB);
    REQUIRE(p.reserved_count == 2);
    CHECK(p.reserved[0].base == 0x80000000);  // /memreserve/
    CHECK(p.reserved[1].base == 0xfe000000);  // /reserved-memory
    CHECK(p.cpu_count == 2);                  // the disabled CPU is not counted
    CHECK(p.cpu_mpidr[1] == 0x100);
    REQUIRE(p.gic.redist_count == 2);
    CHECK(p.gic.redist[1].base == 0x2f300000);
    CHECK(p.gic.its[0].base == 0x2f020000);
    REQUIRE(p.bridge_count == 1);
    const PciHostBridge& b = p.bridges[0];
    CHECK(b.segment == 2);
    CHECK(b.bus_end == 15);
    CHECK_FALSE(b.dma_coherent);
    const PciWindow* m64 = window(b, PciSpace::Mem64);
    REQUIRE(m64);
    CHECK(m64->prefetchable);
    CHECK(m64->pci_addr == 0x100000000);
    CHECK(m64->cpu_addr == 0x900000000);  // CPU and bus addresses differ
    CHECK(window(b, PciSpace::Io)->cpu_addr == 0x50000000);
    CHECK(p.mmio_count == 2);  // UART and RTC; the disabled node is left out
}

TEST_CASE("discover: malformed trees are refused with a message naming the problem")
{
    struct Case {
        const char* file;
        const char* message;
    };
    auto c = GENERATE(Case{"no-memory.dtb", "no /memory node with a size (the bootloader must fill it in)"},
                      Case{"memory-empty.dtb", "no /memory node with a size"},
                      Case{"bad-pci-ranges.dtb", "/pcie@10000000: ranges is malformed"},
                      Case{"bad-address-cells.dtb", "not a whole number of entries of #address-cells 2 + #size-cells 2"},
                      Case{"gic-none.dtb", "the root one is /local_intc@40000000 (brcm,bcm2836-l1-intc), not a GICv2 or GICv3"});
    auto d = discover_blob(load_dtb(c.file));
    INFO(c.file << ": " << d.diag.text);
    CHECK_FALSE(d.ok);
    CHECK(std::string(d.diag.text).find(c.message) != std::string::npos);
}

TEST_CASE("discover: a truncated blob is refused at every length")
{
    Blob good = load_dtb("board-nested.dtb");
    for (usize len = 0; len < good.size; len += (len < 64 ? 1 : 37)) {
        Blob cut = good;
        cut.size = len;
        Diagnostic diag;
        INFO("length " << len);
        CHECK_FALSE(check_device_tree(cut.data(), cut.size, diag));
        CHECK(std::strlen(diag.text) > 0);
    }
}

TEST_CASE("discover: bad magic is reported with the value found")
{
    Blob b = load_dtb("board-nested.dtb");
    b.bytes()[0] = 0x12;
    Diagnostic diag;
    CHECK_FALSE(check_device_tree(b.data(), b.size, diag));
    CHECK(std::string(diag.text).find("magic 0x12") != std::string::npos);
    CHECK(std::string(diag.text).find("not a device tree") != std::string::npos);
    CHECK_FALSE(check_device_tree(nullptr, 0, diag));
}

// Found by fuzz_guest_dtb: libfdt 1.6.1's fdt_check_full dereferences NULL
// on a pre-16 tree (names were full paths) whose first node name has no '/'.
TEST_CASE("discover: a tree older than version 16 is refused before libfdt walks it")
{
    auto version = GENERATE(2u, 3u, 15u);
    Blob b = load_dtb("no-memory.dtb");
    auto put32 = [&](usize off, u32 v) {
        for (int i = 0; i < 4; ++i) b.bytes()[off + i] = u8(v >> (24 - 8 * i));
    };
    put32(20, version);  // version
    put32(24, 2);        // last_comp_version
    Diagnostic diag;
    INFO("version " << version);
    auto s = check_device_tree(b.data(), b.size, diag);
    REQUIRE_FALSE(s);
    CHECK(s.error() == Error::Unsupported);
    CHECK(std::string(diag.text).find("version " + std::to_string(version) + " is too old") != std::string::npos);
}

// Found by fuzz_guest_dtb: libfdt 1.6.1's fdt_next_tag adds a property's
// length to an int, so 0xfffffff4 lands on the same tag and fdt_check_full
// loops forever. Lengths past the structure block are refused first.
TEST_CASE("discover: a property longer than the structure block is refused before libfdt walks it")
{
    auto len = GENERATE(0xfffffff4u, 0xfffffff0u, 0x80000000u, 0x1000u);
    Blob b = load_dtb("no-memory.dtb");
    u8* p = b.bytes();
    auto get32 = [&](usize off) { return u32(p[off]) << 24 | u32(p[off + 1]) << 16 | u32(p[off + 2]) << 8 | p[off + 3]; };
    // The root node's begin tag and empty name, then its first property.
    usize prop = get32(8) + 8;
    REQUIRE(get32(prop) == 3);  // FDT_PROP
    for (int i = 0; i < 4; ++i) p[prop + 4 + i] = u8(len >> (24 - 8 * i));
    Diagnostic diag;
    INFO("len 0x" << std::hex << len);
    REQUIRE_FALSE(check_device_tree(b.data(), b.size, diag));
    CHECK(std::string(diag.text).find("past the structure block") != std::string::npos);
}

TEST_CASE("discover: random corruption never crashes")
{
    Blob good = load_dtb("qemu-virt-gicv3.dtb");
    std::mt19937 rng(1234);
    for (int round = 0; round < 300; ++round) {
        Blob b = good;
        std::uniform_int_distribution<usize> pos(40, 40 + 8192);  // the header's tail and the structure block
        for (int k = 0; k < 4; ++k) b.bytes()[pos(rng)] = static_cast<u8>(rng());
        Diagnostic diag;
        Platform p;
        if (check_device_tree(b.data(), b.size, diag)) (void)discover_platform(b.data(), p, diag);
    }
    SUCCEED("no crash in 300 corrupted blobs");
}

TEST_CASE("discover: the summary names the ECAM and its windows plus the GIC and CPUs")
{
    auto d = discover_blob(load_dtb("qemu-virt-gicv3.dtb"));
    REQUIRE(d.ok);
    g_log.clear();
    set_log_sink(capture);
    print_platform_summary(d.p);
    set_log_sink(nullptr);
    CHECK(g_log.find("ecam 0x4010000000 (256 MiB) buses 00-ff") != std::string::npos);
    CHECK(g_log.find("mem64      cpu 0x8000000000-0xffffffffff pci 0x8000000000 (512 GiB)") != std::string::npos);
    CHECK(g_log.find("its      0x8080000-0x809ffff (128 KiB)") != std::string::npos);
    CHECK(g_log.find("cpus       2") != std::string::npos);
    CHECK(g_log.find("console    pl011 0x9000000") != std::string::npos);
}

TEST_CASE("discover: enable-method and spin-table release pages")
{
    auto d = discover_blob(load_dtb("spin-table.dtb"));
    INFO(d.diag.text);
    REQUIRE(d.ok);
    REQUIRE(d.p.cpu_count == 4);
    CHECK(d.p.cpu_enable[0] == CpuEnable::Psci);
    CHECK(d.p.cpu_enable[1] == CpuEnable::SpinTable);
    CHECK(d.p.cpu_enable[2] == CpuEnable::SpinTable);
    CHECK(d.p.cpu_enable[3] == CpuEnable::Psci);
    REQUIRE(d.p.spin_release_count == 1);  // both mailboxes share a page
    CHECK(d.p.spin_release[0].base == 0x8000f000);
    CHECK(d.p.spin_release[0].size == 0x1000);
}

TEST_CASE("discover: a spin-table CPU without cpu-release-addr is refused by name")
{
    auto b = load_dtb("spin-table.dtb");
    auto probe = discover_blob(b);
    REQUIRE(probe.ok);
    // Rename the property so the node lacks it (same length keeps the blob valid).
    const char from[] = "cpu-release-addr";
    u8* bytes = b.bytes();
    bool renamed = false;
    for (usize i = 0; i + sizeof from <= b.size && !renamed; ++i)
        if (std::memcmp(bytes + i, from, sizeof from) == 0) {
            bytes[i] = 'x';
            renamed = true;
        }
    REQUIRE(renamed);
    auto d = discover_blob(b);
    REQUIRE_FALSE(d.ok);
    CHECK(std::string(d.diag.text) ==
          "cpu node /cpus/cpu@1: enable-method spin-table without a cpu-release-addr of 1 or 2 cells");
}

TEST_CASE("discover: CPUs past the first eight are counted not used")
{
    g_log.clear();
    set_log_sink(capture);
    auto d = discover_blob(load_dtb("many-cpus.dtb"));
    set_log_sink(nullptr);
    REQUIRE(d.ok);
    CHECK(d.p.cpu_count == 8);
    CHECK(d.p.cpus_ignored == 4);
    CHECK(d.p.cpu_mpidr[7] == 0x101);
    CHECK(g_log.find("4 CPUs beyond the first 8 are not used") != std::string::npos);
}

// Issue 14 n: FWB's forced write-back needs every DMA master coherent, and
// the platform devices count as much as the PCI host bridges.
TEST_CASE("discover: DMA masters and their coherency as Linux reads it")
{
    auto d = discover_blob(load_dtb("dma-masters.dtb"));
    INFO(d.diag.text);
    REQUIRE(d.ok);
    CHECK(d.p.dma.count == 4);  // mmc, usb, dma engine, pcie
    CHECK(d.p.dma.noncoherent == 2);
    CHECK(std::string(d.p.dma.first_noncoherent) == "/mmc@20000000");
    REQUIRE(d.p.bridge_count == 1);
    CHECK(d.p.bridges[0].dma_coherent);  // what FWB alone looked at before
}

TEST_CASE("discover: QEMU virt's DMA masters are all coherent")
{
    auto d = discover_blob(load_dtb("qemu-virt-gicv3.dtb"));
    REQUIRE(d.ok);
    CHECK(d.p.dma.noncoherent == 0);
    CHECK(d.p.dma.count >= 34);  // the PCIe bridge, fw-cfg, 32 virtio-mmio transports
}

// The boot finds its console first and hands the answer to full discovery,
// which must then come out exactly as if it had looked itself, and must not
// look again.
TEST_CASE("discover: the console answer found first is what full discovery uses")
{
    for (const char* name : {"qemu-virt-gicv3.dtb", "console-no-driver.dtb", "board-soc-bridges.dtb"}) {
        INFO(name);
        Blob b = load_dtb(name);
        Diagnostic check;
        REQUIRE(check_device_tree(b.data(), b.size, check));
        for (DiscoveryMode mode : {DiscoveryMode::Boot, DiscoveryMode::Inspect}) {
            ConsoleAnswer answer;
            answer.status = discover_console(b.data(), answer.uart, answer.diag);
            Platform looked, given;
            Diagnostic d1, d2;
            bool ok1 = discover_platform(b.data(), looked, d1, mode).ok();
            bool ok2 = discover_platform(b.data(), given, d2, mode, &answer).ok();
            CHECK(ok1 == ok2);
            CHECK(std::string(d1.text) == d2.text);
            CHECK(looked.uart.kind == given.uart.kind);
            CHECK(looked.uart.base == given.uart.base);
            CHECK(looked.uart.size == given.uart.size);
            CHECK(std::string(looked.uart.path) == given.uart.path);
            CHECK(std::string(looked.uart.compatible) == given.uart.compatible);
            CHECK(std::string(looked.uart.problem) == given.uart.problem);
        }
    }
    // Taken as given, not looked up again.
    Blob b = load_dtb("qemu-virt-gicv3.dtb");
    ConsoleAnswer answer;
    answer.uart.kind = UartKind::Ns16550;
    answer.uart.base = 0x1234000;
    Platform p;
    Diagnostic d;
    REQUIRE(discover_platform(b.data(), p, d, DiscoveryMode::Boot, &answer).ok());
    CHECK(p.uart.kind == UartKind::Ns16550);
    CHECK(p.uart.base == 0x1234000);
}
