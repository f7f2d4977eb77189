// fdt::TokenReader against libfdt's own walk, on every device tree the
// tests have (QEMU's and the hand-written fixtures), and on blobs broken
// in each way it must notice.
#include <catch2/catch.hpp>

#include <libfdt.h>

#include <cstring>
#include <string>

#include "passage/fdt/tokens.h"
#include "support/fixture.h"

using namespace passage;
using passage::test::Blob;
using passage::test::load_dtb;

namespace {

fdt::TokenKind kind_of(u32 tag)
{
    switch (tag) {
    case FDT_BEGIN_NODE: return fdt::TokenKind::BeginNode;
    case FDT_PROP: return fdt::TokenKind::Prop;
    case FDT_END_NODE: return fdt::TokenKind::EndNode;
    default: return fdt::TokenKind::End;
    }
}

void put32(Blob& b, usize off, u32 v)
{
    for (int i = 0; i < 4; ++i) b.bytes()[off + i] = u8(v >> (24 - 8 * i));
}

u32 get32(Blob& b, usize off)
{
    const u8* p = b.bytes() + off;
    return u32(p[0]) << 24 | u32(p[1]) << 16 | u32(p[2]) << 8 | p[3];
}

// Reads to the end; the problem, or "" if the walk ended at the end tag.
std::string walk_to_end(const Blob& b)
{
    fdt::TokenReader r(b.data());
    fdt::Token t;
    while (r.next(t))
        if (t.kind == fdt::TokenKind::End) return "";
    return r.problem() != nullptr ? r.problem() : "(no problem given)";
}

}  // namespace

TEST_CASE("fdt tokens: the same walk as libfdt on every test tree")
{
    auto name = GENERATE(as<std::string>{}, "qemu-virt-gicv3.dtb", "qemu-virt-gicv2.dtb", "qemu-virt-smmuv3.dtb",
                         "qemu-virt-nohighmem.dtb", "board-soc-bridges.dtb", "board-nested.dtb", "dma-masters.dtb",
                         "many-cpus.dtb", "smmu-board.dtb", "spin-table.dtb", "no-map.dtb", "gic-many-frames.dtb");
    INFO(name);
    Blob b = load_dtb(name);
    REQUIRE(fdt_check_full(b.data(), b.size) == 0);
    fdt::TokenReader r(b.data());
    fdt::Token t;
    int offset = 0, count = 0;
    for (;;) {
        int next = 0;
        u32 tag = fdt_next_tag(b.data(), offset, &next);
        if (tag == FDT_NOP) {
            offset = next;
            continue;
        }
        REQUIRE(r.next(t));
        ++count;
        CHECK(t.offset == u32(offset));
        REQUIRE(t.kind == kind_of(tag));
        if (tag == FDT_BEGIN_NODE) {
            int len = 0;
            const char* n = fdt_get_name(b.data(), offset, &len);
            CHECK(std::string(t.name) == n);
            CHECK(t.name_len == u32(len));
        } else if (tag == FDT_PROP) {
            int len = 0;
            const struct fdt_property* p = fdt_get_property_by_offset(b.data(), offset, &len);
            REQUIRE(p != nullptr);
            CHECK(t.len == u32(len));
            CHECK(static_cast<const void*>(t.value) == static_cast<const void*>(p->data));
            CHECK(std::string(t.name) == fdt_string(b.data(), fdt32_to_cpu(p->nameoff)));
        }
        CHECK(r.offset() == u32(next));
        if (tag == FDT_END) break;
        offset = next;
    }
    CHECK(count > 50);
    CHECK_FALSE(r.next(t));
    CHECK(r.problem() == nullptr);
}

TEST_CASE("fdt tokens: a reader started at a node reads from there")
{
    Blob b = load_dtb("qemu-virt-gicv3.dtb");
    int node = fdt_path_offset(b.data(), "/pl011@9000000");
    REQUIRE(node > 0);
    fdt::TokenReader r(b.data(), u32(node));
    fdt::Token t;
    REQUIRE(r.next(t));
    CHECK(t.kind == fdt::TokenKind::BeginNode);
    CHECK(std::string(t.name) == "pl011@9000000");
    REQUIRE(r.next(t));
    CHECK(t.kind == fdt::TokenKind::Prop);
}

TEST_CASE("fdt tokens: broken blobs stop the walk with a reason")
{
    Blob b = load_dtb("no-memory.dtb");
    const usize s = get32(b, 8);    // off_dt_struct
    const usize root = s;           // the root's BEGIN_NODE, empty name
    const usize prop = s + 8;       // its first property
    REQUIRE(get32(b, root) == FDT_BEGIN_NODE);
    REQUIRE(get32(b, prop) == FDT_PROP);
    REQUIRE(walk_to_end(b).empty());

    SECTION("a value longer than the block")
    {
        auto len = GENERATE(0xfffffff4u, 0x80000000u, 0x100000u);
        put32(b, prop + 4, len);
        CHECK(walk_to_end(b) == "a property's value runs past the structure block");
    }
    SECTION("a name outside the strings block")
    {
        put32(b, prop + 8, get32(b, 32));  // nameoff = size_dt_strings
        CHECK(walk_to_end(b) == "a property's name lies outside the strings block");
    }
    SECTION("an unknown tag")
    {
        put32(b, prop, 7);
        CHECK(walk_to_end(b) == "an unknown tag");
    }
    SECTION("no end tag")
    {
        const usize size = get32(b, 36);  // size_dt_struct
        put32(b, s + size - 4, FDT_NOP);
        CHECK(walk_to_end(b) == "the structure block has no end tag");
    }
    SECTION("a node name running to the end of the block")
    {
        const int child = fdt_first_subnode(b.data(), 0);
        REQUIRE(child > 0);
        put32(b, 36, u32(child) + 6);  // size_dt_struct: the block ends two bytes into the first child's name
        CHECK(walk_to_end(b) == "a node name is not terminated");
    }
    SECTION("an unterminated strings block still has every name checked")
    {
        const usize strings = get32(b, 12), ssize = get32(b, 32);
        std::memset(b.bytes() + strings, 'x', ssize);  // no NUL at all
        CHECK(walk_to_end(b) == "a property's name is not terminated");
    }
}
