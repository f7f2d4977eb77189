// The guest DTB, built from board-like fixtures and QEMU's own trees, then
// read back with libfdt (and with passage's own discovery) and checked.
#include <catch2/catch.hpp>

#include <libfdt.h>

#include <string>
#include <vector>

#include "blob.h"
#include "passage/discover.h"
#include "passage/guest/guest_dtb.h"
#include "passage/log.h"

namespace passage {
// For comparing reg lists in the tests.
static bool operator==(const MemRange& a, const MemRange& b) { return a.base == b.base && a.size == b.size; }
}  // namespace passage

using namespace passage;
using guest_test::Blob;
using guest_test::buffer;
using guest_test::load_dtb;

namespace {

struct Built {
    Blob out;
    usize size = 0;
    Diagnostic diag;
    bool ok = false;
    const void* fdt() const { return out.data(); }
    std::string msg() const { return diag.text; }
};

Built build(const Blob& host, const GuestDtbConfig& cfg, usize out_size = 2 * MiB)
{
    Built b;
    b.out = buffer(out_size);
    auto r = build_guest_dtb(host.data(), b.out.data(), out_size, cfg, b.diag);
    b.ok = r.ok();
    if (b.ok) {
        b.size = *r;
        REQUIRE(fdt_check_full(b.fdt(), b.size) == 0);
        REQUIRE(fdt_totalsize(b.fdt()) == b.size);
    }
    return b;
}

u64 cells(const u8* p, int n)
{
    u64 v = 0;
    for (int i = 0; i < n * 4; ++i) v = (v << 8) | p[i];
    return v;
}

// The reg of a node as (base, size) pairs, in the parent's cells.
std::vector<MemRange> reg_of(const void* fdt, int node)
{
    int parent = fdt_parent_offset(fdt, node);
    int ac = fdt_address_cells(fdt, parent), sc = fdt_size_cells(fdt, parent);
    int len = 0;
    const u8* p = static_cast<const u8*>(fdt_getprop(fdt, node, "reg", &len));
    std::vector<MemRange> out;
    if (p == nullptr) return out;
    int entry = (ac + sc) * 4;
    for (int off = 0; off + entry <= len; off += entry) out.push_back({cells(p + off, ac), cells(p + off + ac * 4, sc)});
    return out;
}

std::vector<std::string> memory_nodes(const void* fdt)
{
    std::vector<std::string> names;
    for (int n = fdt_node_offset_by_prop_value(fdt, -1, "device_type", "memory", 7); n >= 0;
         n = fdt_node_offset_by_prop_value(fdt, n, "device_type", "memory", 7))
        names.push_back(fdt_get_name(fdt, n, nullptr));
    return names;
}

std::string string_prop(const void* fdt, const char* path, const char* name)
{
    int node = fdt_path_offset(fdt, path);
    if (node < 0) return "<no node>";
    int len = 0;
    const char* s = static_cast<const char*>(fdt_getprop(fdt, node, name, &len));
    return s ? std::string(s) : "<none>";
}

bool has_prop(const void* fdt, int node, const char* name) { return fdt_getprop(fdt, node, name, nullptr) != nullptr; }

u64 u64_prop(const void* fdt, int node, const char* name)
{
    int len = 0;
    const u8* p = static_cast<const u8*>(fdt_getprop(fdt, node, name, &len));
    REQUIRE(p != nullptr);
    REQUIRE((len == 4 || len == 8));
    return cells(p, len / 4);
}


bool any_compatible_prefix(const void* fdt, const std::string& prefix)
{
    int depth = 0;
    for (int n = fdt_next_node(fdt, -1, &depth); n >= 0; n = fdt_next_node(fdt, n, &depth)) {
        int len = 0;
        const char* s = static_cast<const char*>(fdt_getprop(fdt, n, "compatible", &len));
        for (int off = 0; s && off < len; off += static_cast<int>(std::string(s + off).size()) + 1)
            if (std::string(s + off).rfind(prefix, 0) == 0) return true;
    }
    return false;
}

// Guest RAM on the board: passage at 0x40200000-0x405fffff is left out.
const MemRange kBoardRam[] = {{0x100000000, 0x40000000}, {0x40000000, 0x200000}, {0x40600000, 0x3fa00000}};

GuestDtbConfig board_config()
{
    GuestDtbConfig cfg;
    cfg.ram = kBoardRam;
    cfg.bootargs = "console=ttyAMA0 root=/dev/vda";
    cfg.has_initrd = true;
    cfg.initrd_start = 0x47000000;
    cfg.initrd_end = 0x47800000;
    cfg.pci_probe_only = true;
    return cfg;
}

}  // namespace

TEST_CASE("guest DTB: one memory node listing exactly guest RAM")
{
    auto host = load_dtb("guest/guest-board.dtb");
    auto b = build(host, board_config());
    REQUIRE(b.ok);
    CHECK(memory_nodes(b.fdt()) == std::vector<std::string>{"memory@40000000"});
    int mem = fdt_path_offset(b.fdt(), "/memory@40000000");
    REQUIRE(mem >= 0);
    auto reg = reg_of(b.fdt(), mem);
    REQUIRE(reg.size() == 3);  // sorted by base
    CHECK(reg[0] == MemRange{0x40000000, 0x200000});
    CHECK(reg[1] == MemRange{0x40600000, 0x3fa00000});
    CHECK(reg[2] == MemRange{0x100000000, 0x40000000});
    CHECK(fdt_path_offset(b.fdt(), "/memory@100000000") < 0);
}

TEST_CASE("guest DTB: /memreserve/ and /reserved-memory and /psci are kept")
{
    auto host = load_dtb("guest/guest-board.dtb");
    auto b = build(host, board_config());
    REQUIRE(b.ok);
    REQUIRE(fdt_num_mem_rsv(b.fdt()) == 1);
    u64 addr = 0, size = 0;
    REQUIRE(fdt_get_mem_rsv(b.fdt(), 0, &addr, &size) == 0);
    CHECK(addr == 0x40000000);
    CHECK(size == 0x10000);
    int fw = fdt_path_offset(b.fdt(), "/reserved-memory/firmware@7e000000");
    REQUIRE(fw >= 0);
    CHECK(has_prop(b.fdt(), fw, "no-map"));
    CHECK(string_prop(b.fdt(), "/psci", "method") == "smc");
}

TEST_CASE("guest DTB: /chosen gets the guest's bootargs and initrd and loses the modules")
{
    auto host = load_dtb("guest/guest-board.dtb");
    auto b = build(host, board_config());
    REQUIRE(b.ok);
    int chosen = fdt_path_offset(b.fdt(), "/chosen");
    REQUIRE(chosen >= 0);
    CHECK(string_prop(b.fdt(), "/chosen", "bootargs") == "console=ttyAMA0 root=/dev/vda");
    CHECK(string_prop(b.fdt(), "/chosen", "stdout-path") == "/uart@9000000");
    CHECK(u64_prop(b.fdt(), chosen, "linux,initrd-start") == 0x47000000);
    CHECK(u64_prop(b.fdt(), chosen, "linux,initrd-end") == 0x47800000);
    CHECK(fdt_first_subnode(b.fdt(), chosen) == -FDT_ERR_NOTFOUND);
    CHECK_FALSE(any_compatible_prefix(b.fdt(), "multiboot,"));
}

// No bootargs, no initrd: passage's own bootargs and the stale initrd go.
TEST_CASE("guest DTB: no bootargs and no initrd remove the host's")
{
    auto host = load_dtb("guest/guest-board.dtb");
    GuestDtbConfig cfg;
    cfg.ram = kBoardRam;
    auto b = build(host, cfg);
    REQUIRE(b.ok);
    int chosen = fdt_path_offset(b.fdt(), "/chosen");
    REQUIRE(chosen >= 0);
    CHECK_FALSE(has_prop(b.fdt(), chosen, "bootargs"));
    CHECK_FALSE(has_prop(b.fdt(), chosen, "linux,initrd-start"));
    CHECK_FALSE(has_prop(b.fdt(), chosen, "linux,initrd-end"));
    CHECK_FALSE(has_prop(b.fdt(), chosen, "linux,pci-probe-only"));
    CHECK(string_prop(b.fdt(), "/chosen", "stdout-path") == "/uart@9000000");
    int pcie = fdt_node_offset_by_compatible(b.fdt(), -1, "pci-host-ecam-generic");
    REQUIRE(pcie >= 0);
    CHECK_FALSE(has_prop(b.fdt(), pcie, "linux,pci-probe-only"));
}

// Linux 6.11+ reads it from the host bridge first, older ones from /chosen:
// a u32 <1> in both.
TEST_CASE("guest DTB: the pci-probe-only property on the host bridge and in /chosen")
{
    auto name = GENERATE(as<std::string>{}, "guest/guest-board.dtb", "qemu-virt-gicv3.dtb", "qemu-virt-gicv2.dtb",
                         "qemu-virt-nohighmem.dtb");
    INFO(name);
    auto host = load_dtb(name);
    auto cfg = board_config();
    auto b = build(host, cfg);
    REQUIRE(b.ok);
    int chosen = fdt_path_offset(b.fdt(), "/chosen");
    int len = 0;
    const u8* p = static_cast<const u8*>(fdt_getprop(b.fdt(), chosen, "linux,pci-probe-only", &len));
    REQUIRE(p != nullptr);
    CHECK(len == 4);
    CHECK(cells(p, 1) == 1);
    int bridges = 0;
    for (int n = fdt_node_offset_by_compatible(b.fdt(), -1, "pci-host-ecam-generic"); n >= 0;
         n = fdt_node_offset_by_compatible(b.fdt(), n, "pci-host-ecam-generic")) {
        ++bridges;
        p = static_cast<const u8*>(fdt_getprop(b.fdt(), n, "linux,pci-probe-only", &len));
        REQUIRE(p != nullptr);
        CHECK(len == 4);
        CHECK(cells(p, 1) == 1);
    }
    CHECK(bridges == 1);
}

TEST_CASE("guest DTB: GICv3 keeps the distributor and redistributor regions only")
{
    auto host = load_dtb("guest/guest-board.dtb");
    auto b = build(host, board_config());
    REQUIRE(b.ok);
    int gic = fdt_node_offset_by_compatible(b.fdt(), -1, "arm,gic-v3");
    REQUIRE(gic >= 0);
    auto reg = reg_of(b.fdt(), gic);
    REQUIRE(reg.size() == 3);
    CHECK(reg[0] == MemRange{0x08000000, 0x10000});
    CHECK(reg[1] == MemRange{0x080a0000, 0x100000});
    CHECK(reg[2] == MemRange{0x09000000, 0x100000});
    CHECK(has_prop(b.fdt(), gic, "interrupts"));  // the maintenance interrupt stays
}

TEST_CASE("guest DTB: QEMU's GICv3 is left whole")
{
    auto host = load_dtb("qemu-virt-gicv3.dtb");
    int host_gic = fdt_node_offset_by_compatible(host.data(), -1, "arm,gic-v3");
    auto before = reg_of(host.data(), host_gic);
    MemRange ram[] = {{0x40000000, 0x200000}, {0x40600000, 0x3fa00000}};
    GuestDtbConfig cfg;
    cfg.ram = ram;
    auto b = build(host, cfg);
    REQUIRE(b.ok);
    int gic = fdt_node_offset_by_compatible(b.fdt(), -1, "arm,gic-v3");
    CHECK(reg_of(b.fdt(), gic) == before);
    CHECK(fdt_subnode_offset(b.fdt(), gic, "its@8080000") >= 0);
}

// QEMU's GICv2 lists GICD, GICC, GICH, GICV: the guest sees the first two.
TEST_CASE("guest DTB: QEMU's GICv2 reg is trimmed to the distributor and CPU interface")
{
    auto host = load_dtb("qemu-virt-gicv2.dtb");
    int host_gic = fdt_node_offset_by_compatible(host.data(), -1, "arm,cortex-a15-gic");
    REQUIRE(host_gic >= 0);
    REQUIRE(reg_of(host.data(), host_gic).size() == 4);
    MemRange ram[] = {{0x40000000, 0x200000}, {0x40600000, 0x3fa00000}};
    GuestDtbConfig cfg;
    cfg.ram = ram;
    auto b = build(host, cfg);
    REQUIRE(b.ok);
    int gic = fdt_node_offset_by_compatible(b.fdt(), -1, "arm,cortex-a15-gic");
    REQUIRE(gic >= 0);
    auto reg = reg_of(b.fdt(), gic);
    REQUIRE(reg.size() == 2);
    CHECK(reg[0] == MemRange{0x08000000, 0x10000});
    CHECK(reg[1] == MemRange{0x08010000, 0x10000});
    CHECK(has_prop(b.fdt(), gic, "interrupts"));
    CHECK(fdt_subnode_offset(b.fdt(), gic, "v2m@8020000") >= 0);

    // passage's own discovery of the result: the same GIC without GICH/GICV.
    Platform p;
    Diagnostic diag;
    set_log_level(LogLevel::Error);
    REQUIRE(discover_platform(b.fdt(), p, diag).ok());
    CHECK(p.gic.version == GicVersion::V2);
    CHECK(p.gic.cpu_if.base == 0x08010000);
    CHECK(p.gic.hyp_if.size == 0);
    CHECK(p.gic.vcpu_if.size == 0);
    REQUIRE(p.memory_count == 2);
    CHECK(p.memory[0].base == 0x40000000);
    CHECK(p.memory[1].base == 0x40600000);
}

TEST_CASE("guest DTB: nodes with a passage vendor compatible are removed")
{
    auto host = load_dtb("guest/guest-board.dtb");
    REQUIRE(any_compatible_prefix(host.data(), "passage,"));
    auto b = build(host, board_config());
    REQUIRE(b.ok);
    CHECK_FALSE(any_compatible_prefix(b.fdt(), "passage,"));
    CHECK(fdt_path_offset(b.fdt(), "/hypervisor") < 0);
    CHECK(fdt_path_offset(b.fdt(), "/uart@9000000") >= 0);
}

// Everything else is the host's, byte for byte: spot-check with discovery.
TEST_CASE("guest DTB: the rest of the board survives")
{
    auto host = load_dtb("guest/guest-board.dtb");
    auto b = build(host, board_config());
    REQUIRE(b.ok);
    Platform p;
    Diagnostic diag;
    set_log_level(LogLevel::Error);
    bool ok = discover_platform(b.fdt(), p, diag).ok();
    INFO(diag.text);
    REQUIRE(ok);
    CHECK(p.memory_count == 3);
    CHECK(p.gic.version == GicVersion::V3);
    CHECK(p.gic.redist_count == 2);
    CHECK(p.gic.cpu_if.size == 0);
    CHECK(p.bridge_count == 1);
    CHECK(p.psci == PsciMethod::Smc);
    CHECK(std::string(p.uart.path) == "/uart@9000000");
}

// One-cell root: the memory node uses one cell; RAM above 4 GiB cannot be
// described. No /chosen at all: one is made.
TEST_CASE("guest DTB: one-cell roots with a GIC-400 and no /chosen")
{
    auto host = load_dtb("guest/guest-cells1.dtb");
    MemRange ram[] = {{0x80000000, 0x1fe00000}};
    GuestDtbConfig cfg;
    cfg.ram = ram;
    cfg.bootargs = "console=ttyAMA0";
    cfg.pci_probe_only = true;
    auto b = build(host, cfg);
    REQUIRE(b.ok);
    int mem = fdt_path_offset(b.fdt(), "/memory@80000000");
    REQUIRE(mem >= 0);
    int len = 0;
    fdt_getprop(b.fdt(), mem, "reg", &len);
    CHECK(len == 8);
    CHECK(reg_of(b.fdt(), mem) == std::vector<MemRange>{{0x80000000, 0x1fe00000}});
    CHECK(string_prop(b.fdt(), "/chosen", "bootargs") == "console=ttyAMA0");
    int gic = fdt_node_offset_by_compatible(b.fdt(), -1, "arm,gic-400");
    CHECK(reg_of(b.fdt(), gic) == std::vector<MemRange>{{0x2c001000, 0x1000}, {0x2c002000, 0x2000}});

    MemRange high[] = {{0x880000000, 0x10000000}};
    cfg.ram = high;
    auto bad = build(host, cfg);
    REQUIRE_FALSE(bad.ok);
    CHECK(bad.msg() ==
          "guest DTB: guest RAM 0x880000000 size 0x10000000 does not fit the root's #address-cells 1 / #size-cells 1");
}

TEST_CASE("guest DTB: output buffers that are too small or misaligned")
{
    auto host = load_dtb("guest/guest-board.dtb");
    usize host_size = fdt_totalsize(host.data());
    SECTION("smaller than the host tree")
    {
        auto b = build(host, board_config(), host_size - 8);
        REQUIRE_FALSE(b.ok);
        CHECK(b.msg() == "guest DTB: the host device tree (" + std::to_string(host_size) + " bytes) does not fit in " +
                             std::to_string(host_size - 8) + " bytes");
    }
    SECTION("no room for the additions")
    {
        auto cfg = board_config();
        std::string args(4096, 'x');
        cfg.bootargs = args.c_str();
        auto b = build(host, cfg, host_size);
        REQUIRE_FALSE(b.ok);
        CHECK(b.msg().find("out of room in the output buffer") != std::string::npos);
    }
    SECTION("misaligned")
    {
        auto out = buffer(64 * KiB);
        Diagnostic diag;
        auto r = build_guest_dtb(host.data(), static_cast<u8*>(out.data()) + 4, 32 * KiB, board_config(), diag);
        REQUIRE_FALSE(r.ok());
        CHECK(std::string(diag.text).find("is not 8-byte aligned") != std::string::npos);
    }
    SECTION("not a device tree")
    {
        auto junk = buffer(4096);
        auto b = build(junk, board_config());
        REQUIRE_FALSE(b.ok);
        CHECK(b.msg().find("guest DTB: the host device tree: ") == 0);
    }
}

TEST_CASE("guest DTB: no guest RAM is refused")
{
    auto host = load_dtb("guest/guest-board.dtb");
    GuestDtbConfig cfg;
    auto b = build(host, cfg);
    REQUIRE_FALSE(b.ok);
    CHECK(b.msg() == "guest DTB: no guest RAM to describe");
}

// A 2 MiB out_size is the most the guest may get (booting.rst); the result
// is packed well below it.
TEST_CASE("guest DTB: the result is packed")
{
    auto host = load_dtb("qemu-virt-gicv3.dtb");
    auto b = build(host, board_config(), 4 * MiB);
    REQUIRE(b.ok);
    CHECK(b.size < fdt_totalsize(host.data()) + 1024);
}

// Issue 14 d and l: CPUs the guest does not get (spin-table ones, those
// past passage's limit) leave its tree, and cpu-map with them.
TEST_CASE("guest DTB: only the guest's CPUs stay in /cpus")
{
    auto host = load_dtb("spin-table.dtb");
    GuestDtbConfig cfg;
    MemRange ram[] = {{0x40000000, 0x80000000}};
    cfg.ram = ram;
    const u64 cpus[] = {0x0, 0x3};
    cfg.cpus = cpus;
    auto b = build(host, cfg);
    REQUIRE(b.ok);
    CHECK(fdt_path_offset(b.fdt(), "/cpus/cpu@0") >= 0);
    CHECK(fdt_path_offset(b.fdt(), "/cpus/cpu@3") >= 0);
    CHECK(fdt_path_offset(b.fdt(), "/cpus/cpu@1") < 0);
    CHECK(fdt_path_offset(b.fdt(), "/cpus/cpu@2") < 0);
    CHECK(fdt_path_offset(b.fdt(), "/cpus/cpu-map") < 0);
}

// The spin-table mailbox page is out of stage 2: the guest must never
// allocate it, whether or not the firmware reserved it.
TEST_CASE("guest DTB: unmapped ranges get a /memreserve/ entry")
{
    auto host = load_dtb("spin-table.dtb");
    GuestDtbConfig cfg;
    MemRange ram[] = {{0x40000000, 0x80000000}};
    cfg.ram = ram;
    const MemRange unmapped[] = {{0x7e000000, 0x1000}};
    cfg.unmapped = unmapped;
    auto b = build(host, cfg);
    REQUIRE(b.ok);
    REQUIRE(fdt_num_mem_rsv(b.fdt()) == 2);  // the host's and ours
    u64 addr = 0, size = 0;
    REQUIRE(fdt_get_mem_rsv(b.fdt(), 1, &addr, &size) == 0);
    CHECK(addr == 0x7e000000);
    CHECK(size == 0x1000);
}

TEST_CASE("guest DTB: CPUs past the first eight are removed")
{
    auto host = load_dtb("many-cpus.dtb");
    GuestDtbConfig cfg;
    MemRange ram[] = {{0x40000000, 0x80000000}};
    cfg.ram = ram;
    const u64 cpus[] = {0x0, 0x1, 0x2, 0x3, 0x4, 0x5, 0x100, 0x101};
    cfg.cpus = cpus;
    auto b = build(host, cfg);
    REQUIRE(b.ok);
    int n = 0;
    int parent = fdt_path_offset(b.fdt(), "/cpus");
    for (int c = fdt_first_subnode(b.fdt(), parent); c >= 0; c = fdt_next_subnode(b.fdt(), c)) ++n;
    CHECK(n == 8);
    CHECK(fdt_path_offset(b.fdt(), "/cpus/cpu@101") >= 0);
    CHECK(fdt_path_offset(b.fdt(), "/cpus/cpu@102") < 0);
    CHECK(fdt_path_offset(b.fdt(), "/cpus/cpu@105") < 0);

    cfg.cpus = {};  // no list: the tree's CPUs stay as they are
    auto all = build(host, cfg);
    REQUIRE(all.ok);
    CHECK(fdt_path_offset(all.fdt(), "/cpus/cpu@105") >= 0);
    CHECK(fdt_path_offset(all.fdt(), "/cpus/cpu-map") >= 0);
}

// The guest never learns of the SMMU: no node, no map pointing at it, but
// MSIs still reach the ITS through msi-map.
TEST_CASE("guest DTB: the SMMUv3 node and every iommu-map and iommus go and msi-map stays")
{
    auto host = load_dtb("qemu-virt-smmuv3.dtb");
    int pcie = fdt_node_offset_by_compatible(host.data(), -1, "pci-host-ecam-generic");
    REQUIRE(pcie >= 0);
    REQUIRE(has_prop(host.data(), pcie, "iommu-map"));
    REQUIRE(fdt_node_offset_by_compatible(host.data(), -1, "arm,smmu-v3") >= 0);
    MemRange ram[] = {{0x40000000, 0x200000}, {0x40600000, 0x3fa00000}};
    GuestDtbConfig cfg;
    cfg.ram = ram;
    auto b = build(host, cfg);
    INFO(b.msg());
    REQUIRE(b.ok);
    CHECK(fdt_node_offset_by_compatible(b.fdt(), -1, "arm,smmu-v3") < 0);
    pcie = fdt_node_offset_by_compatible(b.fdt(), -1, "pci-host-ecam-generic");
    REQUIRE(pcie >= 0);
    CHECK_FALSE(has_prop(b.fdt(), pcie, "iommu-map"));
    CHECK(has_prop(b.fdt(), pcie, "msi-map"));
    int depth = 0;
    for (int n = fdt_next_node(b.fdt(), -1, &depth); n >= 0; n = fdt_next_node(b.fdt(), n, &depth)) {
        INFO(fdt_get_name(b.fdt(), n, nullptr));
        CHECK_FALSE(has_prop(b.fdt(), n, "iommu-map"));
        CHECK_FALSE(has_prop(b.fdt(), n, "iommu-map-mask"));
        CHECK_FALSE(has_prop(b.fdt(), n, "iommus"));
    }
}

TEST_CASE("guest DTB: a platform device's iommus and a bridge's iommu-map-mask go too")
{
    auto host = load_dtb("guest/guest-smmu.dtb");
    auto b = build(host, board_config());
    INFO(b.msg());
    REQUIRE(b.ok);
    CHECK(fdt_path_offset(b.fdt(), "/iommu@2b400000") < 0);
    int dma = fdt_path_offset(b.fdt(), "/dma@2c000000");
    REQUIRE(dma >= 0);
    CHECK_FALSE(has_prop(b.fdt(), dma, "iommus"));
    int pcie = fdt_path_offset(b.fdt(), "/pcie@40000000");
    REQUIRE(pcie >= 0);
    CHECK_FALSE(has_prop(b.fdt(), pcie, "iommu-map-mask"));
    CHECK_FALSE(has_prop(b.fdt(), pcie, "iommu-map"));
    CHECK(has_prop(b.fdt(), pcie, "msi-map"));
    CHECK(fdt_path_offset(b.fdt(), "/uart@9000000") >= 0);
}
