// The one-pass guest DTB against the step-by-step libfdt build it replaced
// (reference_guest_dtb.cpp): on every fixture and a set of configs, and on
// trees edited here to fail in each way, the two say the same thing, node by
// node and property by property, or fail with the same message.
#include <catch2/catch.hpp>

#include <libfdt.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "blob.h"
#include "passage/guest/guest_dtb.h"
#include "reference_guest_dtb.h"

using namespace passage;
using guest_test::Blob;
using guest_test::buffer;
using guest_test::load_dtb;

namespace {

struct Outcome {
    Blob out;
    bool ok = false;
    usize size = 0;
    Failure failure{Error::BadDeviceTree, 0};
    std::string msg;
};

constexpr u8 kGuard = 0x5a;

Outcome run(bool reference, const Blob& host, const GuestDtbConfig& cfg, usize out_size)
{
    Outcome o;
    o.out = buffer(out_size + 64);
    std::memset(o.out.bytes(), kGuard, out_size + 64);
    Diagnostic diag;
    auto r = reference ? build_guest_dtb_reference(host.data(), o.out.data(), out_size, cfg, diag)
                       : build_guest_dtb(host.data(), o.out.data(), out_size, cfg, diag);
    o.ok = r.ok();
    if (o.ok) o.size = *r;
    else o.failure = r.failure();
    o.msg = diag.text;
    if (!reference)
        for (usize i = 0; i < 64; ++i) REQUIRE(o.out.bytes()[out_size + i] == kGuard);
    return o;
}

std::string hex(const void* p, int len)
{
    static const char* d = "0123456789abcdef";
    std::string s;
    for (int i = 0; i < len; ++i) {
        u8 b = static_cast<const u8*>(p)[i];
        s += d[b >> 4];
        s += d[b & 15];
    }
    return s;
}

// A property of the old build's tree that the one pass leaves out: the old
// build deleted or set only the first property of a name, so in a node
// with that name twice the second outlived the edit (a host tree's
// malformation: the guest_dtb fuzzer's third finding). Every iommu-map,
// iommu-map-mask and iommus, and in /chosen every bootargs,
// linux,initrd-start and linux,initrd-end the config removes and the
// second of each it sets, and a second linux,pci-probe-only.
bool kept_by_the_old_build_only(const void* fdt, int node, int prop, const GuestDtbConfig& cfg, std::vector<std::string>& seen)
{
    const char* name = nullptr;
    fdt_getprop_by_offset(fdt, prop, &name, nullptr);
    std::string n = name;
    if (n == "iommu-map" || n == "iommu-map-mask" || n == "iommus") return true;
    if (node != fdt_path_offset(fdt, "/chosen")) return false;
    bool removed = false;
    if (n == "bootargs") removed = cfg.bootargs == nullptr;
    else if (n == "linux,initrd-start" || n == "linux,initrd-end") removed = !cfg.has_initrd;
    else if (n != "linux,pci-probe-only") return false;
    if (removed || std::find(seen.begin(), seen.end(), n) != seen.end()) return true;
    seen.push_back(n);
    return false;
}

// Empty if the trees say the same: header's boot CPU, reservations, then
// every node in order with its name and depth and its properties in order.
std::string difference(const void* a, const void* b, const GuestDtbConfig& cfg)
{
    if (fdt_boot_cpuid_phys(a) != fdt_boot_cpuid_phys(b)) return "boot_cpuid_phys";
    if (fdt_num_mem_rsv(a) != fdt_num_mem_rsv(b)) return "number of /memreserve/ entries";
    for (int i = 0; i < fdt_num_mem_rsv(a); ++i) {
        u64 aa = 0, as = 0, ba = 0, bs = 0;
        fdt_get_mem_rsv(a, i, &aa, &as);
        fdt_get_mem_rsv(b, i, &ba, &bs);
        if (aa != ba || as != bs) return "/memreserve/ entry " + std::to_string(i);
    }
    int da = 0, db = 0;
    int na = 0, nb = 0;
    for (;;) {
        std::string where = na >= 0 ? fdt_get_name(a, na, nullptr) : "<end>";
        if ((na < 0) != (nb < 0)) return "one tree has more nodes, at " + where;
        if (na < 0) return "";
        if (da != db) return "depth at " + where;
        if (std::string(fdt_get_name(b, nb, nullptr)) != where)
            return "node " + where + " against " + fdt_get_name(b, nb, nullptr);
        int pa = fdt_first_property_offset(a, na), pb = fdt_first_property_offset(b, nb);
        std::vector<std::string> seen;
        for (;;) {
            // The reference's later duplicates that outlive its edit: the
            // one pass drops them (see kept_by_the_old_build_only).
            while (pa >= 0 && kept_by_the_old_build_only(a, na, pa, cfg, seen)) pa = fdt_next_property_offset(a, pa);
            if ((pa < 0) != (pb < 0)) return "property count in " + where;
            if (pa < 0) break;
            const char *an = nullptr, *bn = nullptr;
            int al = 0, bl = 0;
            const void* av = fdt_getprop_by_offset(a, pa, &an, &al);
            const void* bv = fdt_getprop_by_offset(b, pb, &bn, &bl);
            if (std::string(an) != bn) return "property " + std::string(an) + " against " + bn + " in " + where;
            if (al != bl || std::memcmp(av, bv, usize(al)) != 0)
                return "value of " + std::string(an) + " in " + where + ": " + hex(av, al) + " against " + hex(bv, bl);
            pa = fdt_next_property_offset(a, pa);
            pb = fdt_next_property_offset(b, pb);
        }
        // Past the root's end, fdt_next_node gives a negative depth.
        na = fdt_next_node(a, na, &da);
        nb = fdt_next_node(b, nb, &db);
        if (da < 0) na = -1;
        if (db < 0) nb = -1;
    }
}

// Both builds on one tree and config: the same tree or the same failure.
void same(const Blob& host, const GuestDtbConfig& cfg, usize out_size = 2 * MiB, bool same_size = true)
{
    Outcome want = run(true, host, cfg, out_size);
    Outcome got = run(false, host, cfg, out_size);
    INFO("reference: " << (want.ok ? "ok" : want.msg));
    INFO("one pass: " << (got.ok ? "ok" : got.msg));
    REQUIRE(got.ok == want.ok);
    if (!want.ok) {
        CHECK(got.msg == want.msg);
        CHECK(got.failure.code == want.failure.code);
        CHECK(got.failure.addr == want.failure.addr);
        return;
    }
    REQUIRE(fdt_check_full(got.out.data(), got.size) == 0);
    CHECK(fdt_totalsize(got.out.data()) == got.size);
    CHECK(difference(want.out.data(), got.out.data(), cfg) == "");
    // Packed the same way: only the order of names in the strings block
    // could differ, and it does not.
    if (same_size) CHECK(got.size == want.size);
}

const MemRange kRam[] = {{0x100000000, 0x40000000}, {0x40000000, 0x200000}, {0x40600000, 0x3fa00000}};
const MemRange kLowRam[] = {{0x80000000, 0x1fe00000}};
const u64 kTwoCpus[] = {0x0, 0x3};
const u64 kEightCpus[] = {0x0, 0x1, 0x2, 0x3, 0x4, 0x5, 0x100, 0x101};
const u64 kOneCpu[] = {0x1};
const MemRange kUnmapped[] = {{0x7e000000, 0x1000}, {0x7f000000, 0}, {0x7d000000, 0x2000}};

std::vector<GuestDtbConfig> configs()
{
    std::vector<GuestDtbConfig> all;
    GuestDtbConfig board;
    board.ram = kRam;
    board.bootargs = "console=ttyAMA0 root=/dev/vda";
    board.has_initrd = true;
    board.initrd_start = 0x47000000;
    board.initrd_end = 0x47800000;
    board.pci_probe_only = true;
    all.push_back(board);

    GuestDtbConfig bare;
    bare.ram = kLowRam;
    all.push_back(bare);

    GuestDtbConfig cpus = board;
    cpus.cpus = kTwoCpus;
    cpus.unmapped = kUnmapped;
    cpus.bootargs = "";
    all.push_back(cpus);

    GuestDtbConfig eight;
    eight.ram = kLowRam;
    eight.cpus = kEightCpus;
    eight.has_initrd = true;
    eight.initrd_start = 0x48000000;
    eight.initrd_end = 0x48000000;
    all.push_back(eight);

    GuestDtbConfig one = board;
    one.cpus = kOneCpu;
    one.pci_probe_only = false;
    one.bootargs = nullptr;
    all.push_back(one);

    GuestDtbConfig bad_initrd = board;
    bad_initrd.initrd_end = 0x46000000;
    all.push_back(bad_initrd);
    return all;
}

std::vector<std::string> every_fixture()
{
    std::vector<std::string> names;
    for (const char* dir : {"", "guest/"})
        for (auto& e : std::filesystem::directory_iterator(std::string(PASSAGE_TEST_DATA_DIR) + "/" + dir))
            if (e.path().extension() == ".dtb") names.push_back(dir + e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
}

// A fixture edited with libfdt before the build.
Blob edited(const std::string& name, const std::function<void(void*)>& edit)
{
    Blob in = load_dtb(name);
    Blob out = buffer(fdt_totalsize(in.data()) + 8192);
    REQUIRE(fdt_open_into(in.data(), out.data(), int(out.size)) == 0);
    edit(out.data());
    REQUIRE(fdt_pack(out.data()) == 0);
    REQUIRE(fdt_check_full(out.data(), fdt_totalsize(out.data())) == 0);
    out.size = fdt_totalsize(out.data());
    return out;
}

int path(void* fdt, const char* p)
{
    int n = fdt_path_offset(fdt, p);
    REQUIRE(n >= 0);
    return n;
}

int gic3(void* fdt)
{
    int n = fdt_node_offset_by_compatible(fdt, -1, "arm,gic-v3");
    REQUIRE(n >= 0);
    return n;
}

void set_u32(void* fdt, int node, const char* name, u32 v) { REQUIRE(fdt_setprop_u32(fdt, node, name, v) == 0); }

GuestDtbConfig board_with_cpus()
{
    GuestDtbConfig cfg = configs()[0];
    cfg.cpus = kTwoCpus;
    return cfg;
}

}  // namespace

TEST_CASE("guest DTB one pass: the same tree as the libfdt build on every fixture and config")
{
    auto fixtures = every_fixture();
    REQUIRE(fixtures.size() > 20);
    auto cfgs = configs();
    for (const std::string& name : fixtures) {
        Blob host = load_dtb(name);
        for (usize i = 0; i < cfgs.size(); ++i) {
            INFO(name << " config " << i);
            same(host, cfgs[i]);
        }
    }
}

// A buffer the reference fits in fits the one pass too, and the one pass
// never writes past the buffer it is given.
TEST_CASE("guest DTB one pass: tight buffers")
{
    auto name = GENERATE(as<std::string>{}, "guest/guest-board.dtb", "qemu-virt-gicv3.dtb", "guest/guest-cells1.dtb",
                         "spin-table.dtb", "qemu-virt-smmuv3.dtb");
    INFO(name);
    Blob host = load_dtb(name);
    GuestDtbConfig cfg = configs()[2];
    if (name == "guest/guest-cells1.dtb") cfg.ram = kLowRam;
    Outcome full = run(false, host, cfg, 2 * MiB);
    REQUIRE(full.ok);
    const usize host_size = fdt_totalsize(host.data());
    const usize top = std::max(host_size, full.size) + 600;
    for (usize size = host_size - 16; size <= top; size += 4) {
        INFO("out_size " << size);
        Outcome want = run(true, host, cfg, size);
        Outcome got = run(false, host, cfg, size);
        if (want.ok) REQUIRE(got.ok);
        if (got.ok) {
            CHECK(got.size == full.size);
            CHECK(std::memcmp(got.out.data(), full.out.data(), got.size) == 0);
        } else {
            CHECK(got.failure.code == Error::NoMemory);
            CHECK((got.msg.find("out of room in the output buffer") != std::string::npos ||
                   got.msg.find("does not fit in") != std::string::npos));
        }
    }
}

TEST_CASE("guest DTB one pass: the same failures on malformed trees")
{
    GuestDtbConfig cfg = board_with_cpus();
    SECTION("a GICv3 reg of part of an entry")
    {
        same(edited("qemu-virt-gicv3.dtb", [](void* f) {
                 u8 reg[20] = {};
                 REQUIRE(fdt_setprop(f, gic3(f), "reg", reg, 20) == 0);
             }),
             cfg);
    }
    SECTION("a GICv3 without reg")
    {
        same(edited("qemu-virt-gicv3.dtb", [](void* f) { REQUIRE(fdt_delprop(f, gic3(f), "reg") == 0); }), cfg);
    }
    SECTION("a GICv3 with too few entries and #redistributor-regions out of range")
    {
        same(edited("guest/guest-board.dtb", [](void* f) { set_u32(f, gic3(f), "#redistributor-regions", 5); }), cfg);
        same(edited("guest/guest-board.dtb", [](void* f) { set_u32(f, gic3(f), "#redistributor-regions", 0); }), cfg);
        same(edited("guest/guest-board.dtb", [](void* f) {
                 REQUIRE(fdt_setprop(f, gic3(f), "#redistributor-regions", "\0\0", 2) == 0);
             }),
             cfg);
    }
    SECTION("the GIC's parent has malformed cells")
    {
        same(edited("qemu-virt-gicv2.dtb", [](void* f) { set_u32(f, 0, "#size-cells", 3); }), cfg);
        same(edited("qemu-virt-gicv2.dtb", [](void* f) { set_u32(f, 0, "#address-cells", 7); }), cfg);
    }
    SECTION("the root is a GIC")
    {
        same(edited("qemu-virt-gicv3.dtb", [](void* f) { REQUIRE(fdt_setprop_string(f, 0, "compatible", "arm,gic-400") == 0); }),
             cfg);
    }
    SECTION("a node both GICv2 and GICv3")
    {
        same(edited("guest/guest-board.dtb", [](void* f) {
                 REQUIRE(fdt_appendprop_string(f, gic3(f), "compatible", "arm,cortex-a15-gic") == 0);
             }),
             cfg);
        same(edited("qemu-virt-gicv2.dtb", [](void* f) {
                 int g = fdt_node_offset_by_compatible(f, -1, "arm,cortex-a15-gic");
                 REQUIRE(fdt_appendprop_string(f, g, "compatible", "arm,gic-v3") == 0);
             }),
             cfg);
    }
    SECTION("two faulty GICs: the old build's order decides")
    {
        auto two = [](const char* first, const char* second) {
            return edited("qemu-virt-gicv3.dtb", [=](void* f) {
                int a = fdt_add_subnode(f, 0, "gic-a@1000");
                REQUIRE(a >= 0);
                REQUIRE(fdt_setprop_string(f, a, "compatible", first) == 0);
                REQUIRE(fdt_setprop(f, a, "reg", "\0\0\0\0", 4) == 0);
                int b = fdt_add_subnode(f, 0, "gic-b@2000");
                REQUIRE(b >= 0);
                REQUIRE(fdt_setprop_string(f, b, "compatible", second) == 0);
            });
        };
        // fdt_add_subnode puts each new node first: the second comes first
        // in the tree, but a GICv2 is reported before a GICv3 and a
        // cortex-a15-gic before a cortex-a7-gic.
        same(two("arm,gic-v3", "arm,gic-400"), cfg);
        same(two("arm,gic-400", "arm,gic-v3"), cfg);
        same(two("arm,cortex-a7-gic", "arm,cortex-a15-gic"), cfg);
        same(two("arm,cortex-a15-gic", "arm,cortex-a7-gic"), cfg);
        same(two("arm,gic-400", "arm,gic-400"), cfg);
    }
    SECTION("a faulty GIC inside a node a later step removes is still refused")
    {
        for (const char* compat : {"passage,thing", "arm,smmu-v3"})
            same(edited("qemu-virt-gicv3.dtb", [=](void* f) {
                     int p = fdt_add_subnode(f, 0, "outer@0");
                     REQUIRE(fdt_setprop_string(f, p, "compatible", compat) == 0);
                     int g = fdt_add_subnode(f, p, "gic@0");
                     REQUIRE(fdt_setprop_string(f, g, "compatible", "arm,gic-400") == 0);
                 }),
                 cfg);
        same(edited("spin-table.dtb", [](void* f) {
                 int g = fdt_add_subnode(f, path(f, "/cpus/cpu@2"), "gic@0");
                 REQUIRE(fdt_setprop_string(f, g, "compatible", "arm,gic-400") == 0);
             }),
             cfg);
    }
    SECTION("a faulty GIC inside a memory node or a module node is not looked at")
    {
        same(edited("qemu-virt-gicv3.dtb", [](void* f) {
                 int m = fdt_add_subnode(f, 0, "memory@7000000000");
                 REQUIRE(fdt_setprop_string(f, m, "device_type", "memory") == 0);
                 int g = fdt_add_subnode(f, m, "gic@0");
                 REQUIRE(fdt_setprop_string(f, g, "compatible", "arm,gic-400") == 0);
             }),
             cfg);
        same(edited("guest/guest-board.dtb", [](void* f) {
                 int m = fdt_add_subnode(f, path(f, "/chosen"), "module@1");
                 REQUIRE(fdt_setprop_string(f, m, "compatible", "multiboot,module") == 0);
                 int g = fdt_add_subnode(f, m, "gic@0");
                 REQUIRE(fdt_setprop_string(f, g, "compatible", "arm,gic-v3") == 0);
             }),
             cfg);
    }
    SECTION("a root child already named as the memory node")
    {
        same(edited("guest/guest-board.dtb", [](void* f) { REQUIRE(fdt_delprop(f, path(f, "/memory@40000000"), "device_type") == 0); }), cfg);
        // Together with a bad GIC: the memory node's step came first.
        same(edited("guest/guest-board.dtb", [](void* f) {
                 REQUIRE(fdt_delprop(f, gic3(f), "reg") == 0);
                 REQUIRE(fdt_delprop(f, path(f, "/memory@40000000"), "device_type") == 0);
             }),
             cfg);
    }
    SECTION("root cells the memory node cannot use")
    {
        same(edited("qemu-virt-gicv3.dtb", [](void* f) { set_u32(f, 0, "#address-cells", 3); }), cfg);
        same(edited("qemu-virt-gicv3.dtb", [](void* f) { set_u32(f, 0, "#size-cells", 0); }), cfg);
        same(edited("qemu-virt-gicv3.dtb", [](void* f) { REQUIRE(fdt_setprop(f, 0, "#size-cells", "", 0) == 0); }), cfg);
    }
    SECTION("/cpus with #address-cells the guest's CPUs cannot be matched against")
    {
        same(edited("spin-table.dtb", [](void* f) { set_u32(f, path(f, "/cpus"), "#address-cells", 3); }), cfg);
        // A bad GIC is reported first: its step came before.
        same(edited("spin-table.dtb", [](void* f) {
                 set_u32(f, path(f, "/cpus"), "#address-cells", 0);
                 int g = fdt_add_subnode(f, 0, "gic@0");
                 REQUIRE(fdt_setprop_string(f, g, "compatible", "arm,gic-v3") == 0);
             }),
             cfg);
    }
    SECTION("guest RAM the config gets wrong")
    {
        Blob host = load_dtb("guest/guest-cells1.dtb");
        GuestDtbConfig c = cfg;
        const MemRange wraps[] = {{0x40000000, 0x1000}, {~u64{0} - 0xfff, 0x2000}};
        c.ram = wraps;
        same(host, c);
        const MemRange empty[] = {{0x40000000, 0}};
        c.ram = empty;
        same(host, c);
        const MemRange many[kMaxLayoutRanges + 1] = {};
        c.ram = many;
        same(host, c);
        c.ram = {};
        same(host, c);
    }
}

TEST_CASE("guest DTB one pass: odd trees say the same as the libfdt build")
{
    GuestDtbConfig cfg = board_with_cpus();
    SECTION("/chosen that is a memory node, and chosen@1")
    {
        same(edited("guest/guest-board.dtb", [](void* f) {
                 REQUIRE(fdt_setprop_string(f, path(f, "/chosen"), "device_type", "memory") == 0);
             }),
             cfg);
        same(edited("guest/guest-board.dtb", [](void* f) { REQUIRE(fdt_set_name(f, path(f, "/chosen"), "chosen@1") == 0); }), cfg);
        same(edited("qemu-virt-gicv3.dtb", [](void* f) {
                 REQUIRE(fdt_del_node(f, path(f, "/chosen")) == 0);
                 REQUIRE(fdt_add_subnode(f, 0, "chosen@2") >= 0);
             }),
             cfg);
    }
    SECTION("/chosen that is a bridge, an SMMU, or passage's")
    {
        for (const char* compat : {"pci-host-ecam-generic", "arm,smmu-v3", "passage,chosen"})
            same(edited("guest/guest-board.dtb", [=](void* f) {
                     REQUIRE(fdt_setprop_string(f, path(f, "/chosen"), "compatible", compat) == 0);
                 }),
                 cfg);
    }
    SECTION("edited properties with odd values and on odd nodes")
    {
        same(edited("guest/guest-board.dtb", [](void* f) {
                 int c = path(f, "/chosen");
                 REQUIRE(fdt_setprop_string(f, c, "linux,initrd-start", "x") == 0);
                 REQUIRE(fdt_setprop_u32(f, 0, "iommus", 1) == 0);
                 REQUIRE(fdt_setprop_u32(f, gic3(f), "iommu-map-mask", 1) == 0);
             }),
             cfg);
    }
    SECTION("cpu-map before the CPUs, a CPU with a malformed reg, a second cpu-map")
    {
        same(edited("spin-table.dtb", [](void* f) {
                 int cpus = path(f, "/cpus");
                 int first = fdt_add_subnode(f, cpus, "cpu-map@0");  // right after /cpus's properties
                 REQUIRE(first >= 0);
                 REQUIRE(fdt_setprop_u32(f, first, "x", 1) == 0);
                 REQUIRE(fdt_setprop(f, path(f, "/cpus/cpu@1"), "reg", "\0\0", 2) == 0);
             }),
             cfg);
        same(edited("spin-table.dtb", [](void* f) {
                 REQUIRE(fdt_setprop(f, path(f, "/cpus/cpu@1"), "reg", "\0\0", 2) == 0);
                 REQUIRE(fdt_setprop(f, path(f, "/cpus/cpu@2"), "reg", "\0\0\0\0\0\0\0\0", 8) == 0);
             }),
             cfg);
        same(edited("many-cpus.dtb", [](void* f) {
                 int cpus = path(f, "/cpus");
                 REQUIRE(fdt_add_subnode(f, cpus, "cpu-map@1") >= 0);
             }),
             cfg);
    }
    SECTION("SMMU nodes nested and passage nodes at every depth")
    {
        same(edited("qemu-virt-smmuv3.dtb", [](void* f) {
                 int a = fdt_add_subnode(f, 0, "bus@0");
                 int b = fdt_add_subnode(f, a, "iommu@1");
                 REQUIRE(fdt_setprop_string(f, b, "compatible", "arm,smmu-v3") == 0);
                 int c = fdt_add_subnode(f, a, "hv@2");
                 REQUIRE(fdt_setprop_string(f, c, "compatible", "passage,x") == 0);
                 REQUIRE(fdt_setprop_u32(f, a, "iommus", 3) == 0);
                 REQUIRE(fdt_setprop_string(f, 0, "compatible", "passage,root") == 0);
             }),
             cfg);
    }
    SECTION("a bridge that already says probe-only, and the root a bridge")
    {
        same(edited("qemu-virt-gicv3.dtb", [](void* f) {
                 int b = fdt_node_offset_by_compatible(f, -1, "pci-host-ecam-generic");
                 REQUIRE(fdt_setprop_u64(f, b, "linux,pci-probe-only", 0) == 0);
                 REQUIRE(fdt_appendprop_string(f, 0, "compatible", "pci-host-ecam-generic") == 0);
             }),
             cfg);
    }
    SECTION("long paths in messages")
    {
        same(edited("qemu-virt-gicv3.dtb", [](void* f) {
                 int n = 0;
                 for (int i = 0; i < 6; ++i) n = fdt_add_subnode(f, n, "a-rather-long-bus-name@12345678");
                 REQUIRE(n >= 0);
                 REQUIRE(fdt_setprop_string(f, n, "compatible", "arm,gic-400") == 0);
             }),
             cfg);
    }
}

namespace {

void put32(u8* p, u32 v)
{
    for (int i = 3; i >= 0; --i, v >>= 8) p[i] = u8(v);
}

// A fixture with its strings block moved before its structure block and
// `pad` bytes of slack at the end: blocks out of fdt_pack's order.
Blob misordered(const std::string& name, u32 pad)
{
    Blob in = load_dtb(name);
    const u8* b = static_cast<const u8*>(in.data());
    const u32 rsv = fdt_off_mem_rsvmap(in.data()), st = fdt_off_dt_struct(in.data()), str = fdt_off_dt_strings(in.data());
    const u32 st_size = fdt_size_dt_struct(in.data()), str_size = fdt_size_dt_strings(in.data());
    const u32 rsv_bytes = st - rsv;
    const u32 new_str = rsv + rsv_bytes, new_st = u32(align_up(new_str + str_size, 8));
    const u32 total = new_st + st_size + pad;
    Blob out = buffer(total);
    u8* o = out.bytes();
    std::memcpy(o, b, 40);
    std::memcpy(o + rsv, b + rsv, rsv_bytes);
    std::memcpy(o + new_str, b + str, str_size);
    std::memcpy(o + new_st, b + st, st_size);
    put32(o + 4, total);
    put32(o + 8, new_st);
    put32(o + 12, new_str);
    REQUIRE(fdt_check_full(out.data(), total) == 0);
    return out;
}

}  // namespace

// The old build's copy needed the whole blob when its blocks are in order
// and only the blocks otherwise: the same buffers are refused, with the
// same message.
TEST_CASE("guest DTB one pass: the room a padded or misordered host tree asks for")
{
    GuestDtbConfig cfg = configs()[1];
    Blob ordered = edited("qemu-virt-gicv3.dtb", [](void*) {});
    Blob padded = buffer(ordered.size + 4096);
    std::memcpy(padded.bytes(), ordered.bytes(), ordered.size);
    fdt_set_totalsize(padded.data(), u32(ordered.size + 4096));
    Blob odd = misordered("qemu-virt-gicv3.dtb", 4096);
    for (const Blob* host : {&padded, &odd}) {
        const usize total = fdt_totalsize(host->data());
        for (usize size : {total - 4096 - 64, total - 4096, total - 4096 + 512, total - 8, total, total + 8}) {
            INFO("totalsize " << total << " out_size " << size << (host == &odd ? " misordered" : " padded"));
            same(*host, cfg, size);
        }
    }
    // The misordered tree fits where the padded one does not.
    CHECK(run(false, odd, cfg, fdt_totalsize(odd.data()) - 8).ok);
    CHECK_FALSE(run(false, padded, cfg, fdt_totalsize(padded.data()) - 8).ok);
}

namespace {

// Gives the property `from` of a node the name of its property `to`: a
// node with a name twice, which libfdt's read-write calls cannot make.
void rename_prop(void* fdt, int node, const char* from, const char* to)
{
    int from_off = -1, to_off = -1, p = 0;
    fdt_for_each_property_offset(p, fdt, node)
    {
        const char* n = nullptr;
        fdt_getprop_by_offset(fdt, p, &n, nullptr);
        if (std::string(n) == from) from_off = p;
        if (std::string(n) == to) to_off = p;
    }
    REQUIRE(from_off >= 0);
    REQUIRE(to_off >= 0);
    auto* dst = static_cast<struct fdt_property*>(fdt_offset_ptr_w(fdt, from_off, sizeof(struct fdt_property)));
    auto* src = static_cast<const struct fdt_property*>(fdt_offset_ptr(fdt, to_off, sizeof(struct fdt_property)));
    dst->nameoff = src->nameoff;
}

// How many properties of the node at `path` are called `name`.
int count_named(const void* fdt, const char* path, const char* name)
{
    int node = fdt_path_offset(fdt, path);
    REQUIRE(node >= 0);
    int count = 0, p = 0;
    fdt_for_each_property_offset(p, fdt, node)
    {
        const char* n = nullptr;
        fdt_getprop_by_offset(fdt, p, &n, nullptr);
        count += std::string(n) == name;
    }
    return count;
}

}  // namespace

// The old build deleted or set the first property of a name only: a second
// one outlived the edit and, where the first was removed, came to light
// (the guest_dtb fuzzer's third finding). Every one goes now.
TEST_CASE("guest DTB one pass: a property named twice does not outlive its edit")
{
    Blob host = edited("guest/guest-board.dtb", [](void* f) {
        int chosen = path(f, "/chosen");
        REQUIRE(fdt_setprop_string(f, chosen, "x-args", "stale args") == 0);
        REQUIRE(fdt_setprop_u64(f, chosen, "x-start", 0x1000) == 0);
        REQUIRE(fdt_setprop_string(f, chosen, "bootargs", "host args") == 0);
        REQUIRE(fdt_setprop_u64(f, chosen, "linux,initrd-start", 0x2000) == 0);
        REQUIRE(fdt_setprop_u32(f, chosen, "linux,pci-probe-only", 0) == 0);
        REQUIRE(fdt_setprop_u32(f, chosen, "x-probe", 0) == 0);
        rename_prop(f, chosen, "x-args", "bootargs");
        rename_prop(f, chosen, "x-start", "linux,initrd-start");
        rename_prop(f, chosen, "x-probe", "linux,pci-probe-only");
        int dma = path(f, "/uart@9000000");
        REQUIRE(fdt_setprop_u32(f, dma, "iommus", 6) == 0);
        REQUIRE(fdt_setprop_u32(f, dma, "x-iommus", 7) == 0);
        rename_prop(f, dma, "x-iommus", "iommus");
    });
    REQUIRE(count_named(host.data(), "/chosen", "bootargs") == 2);
    REQUIRE(count_named(host.data(), "/uart@9000000", "iommus") == 2);
    GuestDtbConfig none = configs()[1];
    GuestDtbConfig all = configs()[0];
    for (const GuestDtbConfig* cfg : {&none, &all}) {
        same(host, *cfg, 2 * MiB, false);
        Outcome got = run(false, host, *cfg, 2 * MiB);
        REQUIRE(got.ok);
        const bool asked = cfg == &all;
        CHECK(count_named(got.out.data(), "/chosen", "bootargs") == (asked ? 1 : 0));
        CHECK(count_named(got.out.data(), "/chosen", "linux,initrd-start") == (asked ? 1 : 0));
        CHECK(count_named(got.out.data(), "/chosen", "linux,pci-probe-only") == 1);  // the host's stays when not asked
        CHECK(count_named(got.out.data(), "/uart@9000000", "iommus") == 0);
    }
}

// A version 16 tree's size_dt_strings bounds nothing for libfdt, but the
// old build's copy was version 17, whose names libfdt reads inside it: a
// name past it was no name (the guest_dtb fuzzer's fourth finding: a root
// #size-cells the old build never saw). The one pass reads such a tree the
// same way, and fails where the old build's final fdt_check_full did.
TEST_CASE("guest DTB one pass: a version 16 tree whose names run past its strings block")
{
    for (const char* name : {"qemu-virt-gicv3.dtb", "guest/guest-smmu.dtb", "spin-table.dtb"}) {
        Blob host = load_dtb(name);
        u8* b = host.bytes();
        const u32 strings = fdt_size_dt_strings(host.data());
        put32(b + 20, 16);
        put32(b + 24, 16);
        for (u32 cut : {strings, strings - 1, strings / 2, 30u, 10u, 0u}) {
            INFO(name << " size_dt_strings " << cut << " of " << strings);
            put32(b + 32, cut);
            for (const GuestDtbConfig& cfg : configs()) same(host, cfg);
        }
    }
}
