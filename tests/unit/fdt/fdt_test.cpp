// The one set of rules both readers of a device tree follow: cell counts up
// to 4, values of at most 2 cells, status as Linux reads it, cut paths
// named by their node.
#include <catch2/catch.hpp>

#include <libfdt.h>

#include <cstring>
#include <string>
#include <vector>

#include "passage/fdt/cells.h"
#include "passage/fdt/node.h"

using namespace passage;

namespace {

// A tree built node by node: begin(name) ... end(), properties in between.
class TreeBuilder {
public:
    TreeBuilder() : buf_(8192 / 8)
    {
        REQUIRE(fdt_create(data(), 8192) == 0);
        REQUIRE(fdt_finish_reservemap(data()) == 0);
        begin("");
    }
    TreeBuilder& begin(const char* name)
    {
        REQUIRE(fdt_begin_node(data(), name) == 0);
        return *this;
    }
    TreeBuilder& end()
    {
        REQUIRE(fdt_end_node(data()) == 0);
        return *this;
    }
    TreeBuilder& cell(const char* name, u32 v)
    {
        REQUIRE(fdt_property_u32(data(), name, v) == 0);
        return *this;
    }
    TreeBuilder& bytes(const char* name, const void* p, int len)
    {
        REQUIRE(fdt_property(data(), name, p, len) == 0);
        return *this;
    }
    TreeBuilder& string(const char* name, const char* s)
    {
        REQUIRE(fdt_property_string(data(), name, s) == 0);
        return *this;
    }
    const void* finish()
    {
        end();
        REQUIRE(fdt_finish(data()) == 0);
        return data();
    }

private:
    void* data() { return buf_.data(); }
    std::vector<u64> buf_;
};

int node(const void* fdt, const char* path)
{
    int n = fdt_path_offset(fdt, path);
    REQUIRE(n >= 0);
    return n;
}

}  // namespace

// A PCI bus has 3 address cells and must read as such; 5 is no tree's.
TEST_CASE("fdt: cell counts up to 4 are read and larger ones are malformed")
{
    TreeBuilder t;
    t.begin("pci").cell("#address-cells", 3).cell("#size-cells", 2).end();
    t.begin("wide").cell("#address-cells", 4).end();
    t.begin("bad").cell("#address-cells", 5).end();
    const u8 two[8] = {0, 0, 0, 0, 0, 0, 0, 2};
    t.begin("long").bytes("#size-cells", two, 8).end();
    const void* fdt = t.finish();
    CHECK(*fdt::address_cells(fdt, 0) == 2);
    CHECK(*fdt::size_cells(fdt, 0) == 1);
    CHECK(*fdt::address_cells(fdt, node(fdt, "/pci")) == 3);
    CHECK(*fdt::size_cells(fdt, node(fdt, "/pci")) == 2);
    CHECK(*fdt::address_cells(fdt, node(fdt, "/wide")) == 4);
    auto bad = fdt::address_cells(fdt, node(fdt, "/bad"));
    REQUIRE(!bad);
    CHECK(bad.error() == Error::BadDeviceTree);
    CHECK(bad.error_addr() == u64(node(fdt, "/bad")));
    CHECK(!fdt::size_cells(fdt, node(fdt, "/long")));
}

// A reg entry is read as two numbers, so a 3-cell parent is refused, not
// truncated.
TEST_CASE("fdt: reg under a parent whose cells are wider than 64 bits is unsupported")
{
    TreeBuilder t;
    t.begin("bus").cell("#address-cells", 3).cell("#size-cells", 1);
    const u8 reg[16] = {0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0x10, 0};
    t.begin("dev").bytes("reg", reg, sizeof reg).end();
    t.end();
    const void* fdt = t.finish();
    auto r = fdt::reg_count(fdt, node(fdt, "/bus"), node(fdt, "/bus/dev"));
    REQUIRE(!r);
    CHECK(r.error() == Error::Unsupported);
}

TEST_CASE("fdt: reg entries read with one and two cells")
{
    TreeBuilder t;
    t.cell("#address-cells", 2).cell("#size-cells", 1);
    const u8 reg[24] = {0, 0, 0, 1, 0, 0, 0x20, 0, 0, 0, 0x10, 0, 0, 0, 0, 0, 0x09, 0, 0, 0, 0, 0, 0, 0x40};
    t.begin("dev").bytes("reg", reg, sizeof reg).end();
    const void* fdt = t.finish();
    int dev = node(fdt, "/dev");
    REQUIRE(*fdt::reg_count(fdt, 0, dev) == 2);
    auto first = fdt::reg_entry(fdt, 0, dev, 0);
    REQUIRE(first);
    CHECK(first->base == 0x100002000ull);
    CHECK(first->size == 0x1000);
    auto second = fdt::reg_entry(fdt, 0, dev, 1);
    REQUIRE(second);
    CHECK(second->base == 0x09000000);
    CHECK(second->size == 0x40);
    CHECK(fdt::reg_entry(fdt, 0, dev, 2).error() == Error::NotFound);
}

TEST_CASE("fdt: write_cells refuses what does not fit and read_cells reads it back")
{
    u8 cells[8] = {};
    CHECK(fdt::write_cells(cells, 2, 0x123456789abcdef0ull));
    CHECK(fdt::read_cells(cells, 2) == 0x123456789abcdef0ull);
    CHECK(fdt::write_cells(cells, 1, 0xffffffffull));
    CHECK(fdt::read_cells(cells, 1) == 0xffffffffull);
    CHECK(!fdt::write_cells(cells, 1, 0x100000000ull));
    CHECK(!fdt::write_cells(cells, 3, 1));
    CHECK(!fdt::write_cells(cells, 0, 0));
    CHECK(fdt::read_cells(cells, 0) == 0);
}

// Linux (__of_device_is_available) takes an empty status for disabled; both
// readers must agree with the guest kernel about which nodes exist.
TEST_CASE("fdt: status absent or okay or ok is enabled and an empty one is not")
{
    TreeBuilder t;
    t.begin("none").end();
    t.begin("okay").string("status", "okay").end();
    t.begin("ok").string("status", "ok").end();
    t.begin("disabled").string("status", "disabled").end();
    t.begin("okay-ish").string("status", "okayish").end();
    t.begin("empty").bytes("status", nullptr, 0).end();
    const void* fdt = t.finish();
    CHECK(fdt::node_enabled(fdt, node(fdt, "/none")));
    CHECK(fdt::node_enabled(fdt, node(fdt, "/okay")));
    CHECK(fdt::node_enabled(fdt, node(fdt, "/ok")));
    CHECK_FALSE(fdt::node_enabled(fdt, node(fdt, "/disabled")));
    CHECK_FALSE(fdt::node_enabled(fdt, node(fdt, "/okay-ish")));
    CHECK_FALSE(fdt::node_enabled(fdt, node(fdt, "/empty")));
}

TEST_CASE("fdt: compatible lists are matched whole or by prefix")
{
    TreeBuilder t;
    const char list[] = "multiboot,kernel\0multiboot,module";
    t.begin("module").bytes("compatible", list, sizeof list).end();
    const char cut[] = {'a', 'r', 'm'};
    t.begin("cut").bytes("compatible", cut, sizeof cut).end();
    const void* fdt = t.finish();
    int m = node(fdt, "/module");
    CHECK(fdt::compatible(fdt, m, "multiboot,module"));
    CHECK_FALSE(fdt::compatible(fdt, m, "multiboot"));
    CHECK(fdt::compatible_with_prefix(fdt, m, "multiboot,"));
    CHECK_FALSE(fdt::compatible_with_prefix(fdt, m, "passage,"));
    CHECK(std::string(fdt::first_compatible(fdt, m, "none")) == "multiboot,kernel");
    CHECK(std::string(fdt::first_compatible(fdt, node(fdt, "/cut"), "none")) == "none");
    CHECK_FALSE(fdt::compatible_with_prefix(fdt, node(fdt, "/cut"), "army"));
}

// A path longer than the buffer keeps the node's own name, marked as cut,
// so a message still says which node.
TEST_CASE("fdt: a path too long for the buffer names the node")
{
    TreeBuilder t;
    t.begin("soc@0").begin("bus@10000000").begin("uart@10001000").end().end().end();
    const void* fdt = t.finish();
    int uart = node(fdt, "/soc@0/bus@10000000/uart@10001000");
    char path[64];
    fdt::node_path(fdt, uart, path, sizeof path);
    CHECK(std::string(path) == "/soc@0/bus@10000000/uart@10001000");
    char small[20];
    fdt::node_path(fdt, uart, small, sizeof small);
    CHECK(std::string(small) == ".../uart@10001000");
}

// Read once, asked several times: the same answers as fdt::compatible.
TEST_CASE("fdt: a compatible list read once answers as compatible does")
{
    TreeBuilder t;
    const char list[] = "arm,gic-400\0arm,cortex-a15-gic";
    t.begin("gic").bytes("compatible", list, sizeof list).end();
    const char cut[] = {'a', 'r', 'm'};
    t.begin("cut").bytes("compatible", cut, sizeof cut).end();
    t.begin("none").end();
    const void* fdt = t.finish();
    for (const char* path : {"/gic", "/cut", "/none"}) {
        int n = node(fdt, path);
        fdt::CompatibleList c(fdt, n);
        for (const char* want : {"arm,gic-400", "arm,cortex-a15-gic", "arm", "arm,gic", ""})
            CHECK(c.has(want) == fdt::compatible(fdt, n, want));
    }
    CHECK(fdt::CompatibleList(fdt, node(fdt, "/gic")).has("arm,cortex-a15-gic"));
    CHECK(fdt::CompatibleList(fdt, node(fdt, "/none")).data() == nullptr);
}
