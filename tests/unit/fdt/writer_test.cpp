// fdt::StructWriter: a structure block written token by token and edited
// in place, read back through libfdt after a header is put in front.
#include <catch2/catch.hpp>

#include <libfdt.h>

#include <cstring>
#include <string>
#include <vector>

#include "passage/fdt/writer.h"

using passage::u32;
using passage::u8;
using passage::usize;
using passage::fdt::StructWriter;

namespace {

// "reg\0compatible\0x\0" as a strings block.
const char kStrings[] = "reg\0compatible\0x";
constexpr u32 kReg = 0, kCompatible = 4, kX = 15;

void put32(u8* p, u32 v)
{
    for (int i = 3; i >= 0; --i, v >>= 8) p[i] = u8(v);
}

struct Tree {
    std::vector<uint64_t> words;
    const void* fdt() const { return words.data(); }
    usize size = 0;
};

// header + empty reservation map + the block + kStrings, as fdt_pack lays
// a tree out.
Tree assemble(const StructWriter& w)
{
    const u32 st = 40 + 16, str = st + w.size(), total = str + sizeof kStrings;
    Tree t;
    t.words.assign(total / 8 + 1, 0);
    u8* b = reinterpret_cast<u8*>(t.words.data());
    put32(b, FDT_MAGIC);
    put32(b + 4, total);
    put32(b + 8, st);
    put32(b + 12, str);
    put32(b + 16, 40);
    put32(b + 20, 17);
    put32(b + 24, 16);
    put32(b + 32, sizeof kStrings);
    put32(b + 36, w.size());
    std::memcpy(b + st, w.data(), w.size());
    std::memcpy(b + str, kStrings, sizeof kStrings);
    t.size = total;
    return t;
}

std::string prop(const void* fdt, const char* path, const char* name)
{
    int node = fdt_path_offset(fdt, path);
    if (node < 0) return "<no node>";
    int len = 0;
    const char* v = static_cast<const char*>(fdt_getprop(fdt, node, name, &len));
    return v ? std::string(v, usize(len)) : "<none>";
}

// The names of a node's properties, in order.
std::string names(const void* fdt, const char* path)
{
    std::string out;
    int node = fdt_path_offset(fdt, path);
    int p = 0;
    fdt_for_each_property_offset(p, fdt, node)
    {
        const char* n = nullptr;
        fdt_getprop_by_offset(fdt, p, &n, nullptr);
        out += std::string(n) + " ";
    }
    return out;
}

}  // namespace

TEST_CASE("struct writer: a tree written token by token is one libfdt reads")
{
    alignas(8) u8 buf[512];
    std::memset(buf, 0xa5, sizeof buf);
    StructWriter w(buf, sizeof buf);
    w.begin_node("", 0);
    w.prop(kCompatible, "board\0", 6);
    w.begin_node("dev@1000", 8);
    w.prop(kReg, "\0\0\x10\0", 4);
    w.prop(kX, "", 0);
    w.end_node();
    w.end_node();
    w.end();
    REQUIRE_FALSE(w.full());
    // Every byte written, the padding zero: the same tree is the same bytes.
    for (u32 i = 0; i < w.size(); ++i) REQUIRE(buf[i] != 0xa5);
    Tree t = assemble(w);
    REQUIRE(fdt_check_full(t.fdt(), t.size) == 0);
    CHECK(prop(t.fdt(), "/", "compatible") == std::string("board\0", 6));
    CHECK(prop(t.fdt(), "/dev@1000", "reg") == std::string("\0\0\x10\0", 4));
    CHECK(names(t.fdt(), "/dev@1000") == "reg x ");
    // Name padding: a name of 3 bytes takes 4 with its NUL, of 4 takes 8.
    CHECK(StructWriter::begin_node_bytes(3) == 8);
    CHECK(StructWriter::begin_node_bytes(4) == 12);
    CHECK(StructWriter::prop_bytes(5) == 20);
}

TEST_CASE("struct writer: properties replaced and cut and inserted and a node taken back")
{
    alignas(8) u8 buf[512];
    StructWriter w(buf, sizeof buf);
    w.begin_node("", 0);
    const u32 compat = w.size();
    w.prop(kCompatible, "ab\0", 3);
    const u32 reg = w.size();
    w.prop(kReg, "\0\0\0\1\0\0\0\2", 8);
    w.prop(kX, "zz\0", 3);
    const u32 end = w.size();
    // Grows by 8 (the rest moves forward), then shrinks back.
    REQUIRE(w.replace_prop(compat, "abcdefghij\0", 11));
    CHECK(w.size() == end + 8);
    REQUIRE(w.replace_prop(compat, "q\0", 2));
    CHECK(w.size() == end);
    // reg taken out, a new property put first.
    w.cut(reg, StructWriter::prop_bytes(8));
    const u32 first = StructWriter::begin_node_bytes(0);
    REQUIRE(w.open(first, StructWriter::prop_bytes(4)));
    w.put_prop(first, kReg, "\0\0\0\7", 4);
    // A child written, then taken back.
    const u32 child = w.size();
    w.begin_node("gone", 4);
    w.prop(kX, "1\0", 2);
    w.truncate(child);
    w.end_node();
    w.end();
    Tree t = assemble(w);
    REQUIRE(fdt_check_full(t.fdt(), t.size) == 0);
    CHECK(names(t.fdt(), "/") == "reg compatible x ");
    CHECK(prop(t.fdt(), "/", "compatible") == std::string("q\0", 2));
    CHECK(prop(t.fdt(), "/", "reg") == std::string("\0\0\0\7", 4));
    CHECK(prop(t.fdt(), "/", "x") == std::string("zz\0", 3));
    CHECK(fdt_first_subnode(t.fdt(), 0) < 0);
}

// Nothing past the capacity, and the first write that did not fit is named.
TEST_CASE("struct writer: a full writer writes nothing more and says what filled it")
{
    for (usize capacity = 0; capacity <= 64; capacity += 4) {
        INFO("capacity " << capacity);
        alignas(8) u8 buf[128];
        std::memset(buf, 0xa5, sizeof buf);
        StructWriter w(buf, capacity);
        w.set_context("the node");
        w.begin_node("node", 4);
        w.set_context("the property");
        w.prop(kReg, "0123456789abcdef", 16);
        w.set_context("the end");
        w.end_node();
        w.prop(kX, "", 0);
        if (w.full()) CHECK_FALSE(w.open(0, 4));
        for (usize i = capacity; i < sizeof buf; ++i) REQUIRE(buf[i] == 0xa5);
        // 12 for the node, 28 for the property, 4 for the end, 12 for the last.
        if (capacity >= 56) {
            CHECK_FALSE(w.full());
        } else {
            CHECK(w.full());
            CHECK(std::string(w.full_what()) == (capacity < 12 ? "the node" : capacity < 40 ? "the property" : "the end"));
            CHECK(w.size() <= capacity);
        }
    }
}
