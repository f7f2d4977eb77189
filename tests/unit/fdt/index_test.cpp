// fdt::TreeIndex against libfdt's answers to the same questions, on every
// device tree the tests have, and as a structural check: it refuses every
// broken blob fdt_check_full (or the token reader before it) refuses.
#include <catch2/catch.hpp>

#include <libfdt.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "passage/fdt/cells.h"
#include "passage/fdt/index.h"
#include "passage/fdt/node.h"
#include "passage/fdt/tokens.h"
#include "support/fixture.h"

using namespace passage;
using passage::test::Blob;
using passage::test::load_dtb;
using Index = fdt::TreeIndex;

namespace {

// ~290 KiB: on the heap, one per test.
std::unique_ptr<Index> make_index() { return std::make_unique<Index>(); }

void put32(Blob& b, usize off, u32 v)
{
    for (int i = 0; i < 4; ++i) b.bytes()[off + i] = u8(v >> (24 - 8 * i));
}

u32 get32(const Blob& b, usize off)
{
    const u8* p = reinterpret_cast<const u8*>(b.data()) + off;
    return u32(p[0]) << 24 | u32(p[1]) << 16 | u32(p[2]) << 8 | p[3];
}

// What check_device_tree asked before the index: the token reader's walk
// to the end tag, then (only then: libfdt 1.6.1 can loop on what the
// reader refuses) fdt_check_full.
bool libfdt_accepts(const Blob& b)
{
    fdt::TokenReader r(b.data());
    fdt::Token t;
    bool ended = false;
    while (r.next(t))
        if (t.kind == fdt::TokenKind::End) {
            ended = true;
            break;
        }
    return ended && fdt_check_full(b.data(), b.size) == 0;
}

std::string build(Index& ix, const Blob& b)
{
    Diagnostic d;
    return ix.build(b.data(), d) ? "" : d.text;
}

// Every tree under build/host/testdata (QEMU's four and the hand-written
// fixtures of the platform and guest tests), by name relative to it.
std::vector<std::string> all_trees()
{
    std::vector<std::string> out;
    for (const auto& e : std::filesystem::recursive_directory_iterator(PASSAGE_TEST_DATA_DIR))
        if (e.path().extension() == ".dtb")
            out.push_back(std::filesystem::relative(e.path(), PASSAGE_TEST_DATA_DIR).string());
    std::sort(out.begin(), out.end());
    return out;
}

// Every compatible string of the tree, for the by-compatible searches.
std::vector<std::string> all_compatibles(const void* fdt)
{
    std::vector<std::string> out;
    for (int n = 0; n >= 0; n = fdt_next_node(fdt, n, nullptr)) {
        int len = 0;
        const char* c = static_cast<const char*>(fdt_getprop(fdt, n, "compatible", &len));
        for (int at = 0; c != nullptr && at < len; at += int(std::strlen(c + at)) + 1) out.emplace_back(c + at);
    }
    out.emplace_back("no,such-device");
    return out;
}

}  // namespace

TEST_CASE("fdt index: the same answers as libfdt on every test tree")
{
    static const std::vector<std::string> trees = all_trees();
    REQUIRE(trees.size() >= 38);  // a missing fixture directory is a failure, not a pass
    REQUIRE(std::find(trees.begin(), trees.end(), "qemu-virt-smmuv3.dtb") != trees.end());
    REQUIRE(std::find(trees.begin(), trees.end(), "guest/modules.dtb") != trees.end());
    auto name = GENERATE(from_range(trees));
    INFO(name);
    Blob b = load_dtb(name);
    const void* fdt = b.data();
    REQUIRE(fdt_check_full(fdt, b.size) == 0);
    auto ix = make_index();
    REQUIRE(build(*ix, b).empty());
    CHECK(ix->blob() == fdt);

    int i = 0;
    for (int off = 0; off >= 0; off = fdt_next_node(fdt, off, nullptr), ++i) {
        REQUIRE(i < ix->count());
        INFO("node " << i << " at " << off);
        CHECK(ix->offset(i) == off);
        CHECK(ix->node_at(off) == i);
        int len = 0;
        CHECK(std::string(ix->name(i, &len)) == fdt_get_name(fdt, off, nullptr));
        CHECK(len == int(std::strlen(fdt_get_name(fdt, off, nullptr))));
        const int parent = fdt_parent_offset(fdt, off);
        CHECK((ix->parent(i) == Index::kNone ? -1 : ix->offset(ix->parent(i))) == (parent < 0 ? -1 : parent));
        CHECK(ix->depth(i) == fdt_node_depth(fdt, off));
        const int child = fdt_first_subnode(fdt, off);
        CHECK((ix->first_child(i) == Index::kNone ? -1 : ix->offset(ix->first_child(i))) == (child < 0 ? -1 : child));
        const int sibling = off == 0 ? -1 : fdt_next_subnode(fdt, off);
        CHECK((ix->next_sibling(i) == Index::kNone ? -1 : ix->offset(ix->next_sibling(i))) == (sibling < 0 ? -1 : sibling));

        const u32 ph = fdt_get_phandle(fdt, off);
        CHECK(ix->phandle(i) == ph);
        if (ph != 0) CHECK(ix->offset(ix->by_phandle(ph)) == fdt_node_offset_by_phandle(fdt, ph));
        CHECK(ix->enabled(i) == fdt::node_enabled(fdt, off));

        // Every Name, present or not, and every property by its own name.
        for (u32 n = 0; n < u32(fdt::Name::Count); ++n) {
            const char* pn = fdt::name_string(fdt::Name(n));
            INFO(pn);
            int want = 0, got = 0;
            const void* v = fdt_getprop(fdt, off, pn, &want);
            CHECK(ix->prop(i, fdt::Name(n), &got) == v);
            CHECK(got == want);
            CHECK(ix->has(i, fdt::Name(n)) == (v != nullptr));
        }
        int p = 0;
        fdt_for_each_property_offset(p, fdt, off)
        {
            const char* pn = nullptr;
            int want = 0, got = 0;
            const void* v = fdt_getprop_by_offset(fdt, p, &pn, &want);
            INFO(pn);
            CHECK(ix->prop(i, pn, int(std::strlen(pn)), &got) == fdt_getprop(fdt, off, pn, nullptr));
            CHECK(got == want);
            (void)v;
        }
        // Cells and reg as fdt/cells.h reads them, through either.
        for (fdt::Name n : {fdt::Name::AddressCells, fdt::Name::SizeCells}) {
            int plen = 0;
            const void* v = fdt_getprop(fdt, off, fdt::name_string(n), &plen);
            const u32 raw = v != nullptr && plen == 4 ? fdt32_ld(static_cast<const fdt32_t*>(v)) : 0;
            CHECK(ix->cells(i, n) == (v == nullptr ? -1 : plen != 4 || raw >= 0xfe ? -2 : int(raw)));
        }
        auto same = [](const auto& a, const auto& w) {
            CHECK(a.ok() == w.ok());
            if (a.ok() && w.ok()) CHECK(*a == *w);
            if (!a.ok() && !w.ok()) {
                CHECK(a.error() == w.error());
                CHECK(a.error_addr() == w.error_addr());
            }
        };
        same(fdt::address_cells(*ix, i), fdt::address_cells(fdt, off));
        same(fdt::size_cells(*ix, i), fdt::size_cells(fdt, off));
        if (parent >= 0) {
            auto count = fdt::reg_count(*ix, i);
            same(count, fdt::reg_count(fdt, parent, off));
            for (int r = 0; r < (count ? *count : 0) + 1; ++r) {
                auto a = fdt::reg_entry(*ix, i, r);
                auto w = fdt::reg_entry(fdt, parent, off, r);
                CHECK(a.ok() == w.ok());
                if (a.ok() && w.ok()) CHECK((a->base == w->base && a->size == w->size));
                if (!a.ok() && !w.ok()) CHECK(a.error() == w.error());
            }
            same(fdt::translate_to_cpu(*ix, i, 0x1000), fdt::translate_to_cpu(fdt, off, 0x1000));
        }
        int clen = 0, want_clen = 0;
        CHECK(ix->compatible(i, &clen) == fdt_getprop(fdt, off, "compatible", &want_clen));
        CHECK(clen == want_clen);

        // Paths both ways, and cut to buffers of every size.
        char want_path[256], got_path[256];
        REQUIRE(fdt_get_path(fdt, off, want_path, sizeof want_path) == 0);
        ix->path_of(i, got_path, sizeof got_path);
        CHECK(std::string(got_path) == want_path);
        CHECK(ix->path(want_path) == i);
        const usize path_len = std::strlen(want_path);
        for (usize size = 0; size < path_len + 3; ++size) {
            std::memset(want_path, 'Z', sizeof want_path);
            std::memset(got_path, 'Z', sizeof got_path);
            fdt::node_path(fdt, off, want_path, size);
            ix->path_of(i, got_path, size);
            // Past the NUL libfdt leaves what it wrote before the path did not fit.
            if (size == 0) CHECK(got_path[0] == 'Z');
            else CHECK(std::string(got_path) == want_path);
        }
    }
    CHECK(i == ix->count());
    CHECK(ix->node_at(1) == Index::kNone);

    for (const std::string& c : all_compatibles(fdt)) {
        INFO(c);
        int want = fdt_node_offset_by_compatible(fdt, -1, c.c_str());
        int got = ix->next_compatible(Index::kNone, c.c_str());
        for (;;) {
            CHECK((got == Index::kNone ? -1 : ix->offset(got)) == (want < 0 ? -1 : want));
            if (want < 0 || got == Index::kNone) break;
            CHECK(ix->is_compatible(got, c.c_str()));
            CHECK(fdt::CompatibleList(*ix, got).has(c.c_str()));
            want = fdt_node_offset_by_compatible(fdt, want, c.c_str());
            got = ix->next_compatible(got, c.c_str());
        }
    }
    // Every node against every compatible of the tree, read once or asked.
    const std::vector<std::string> compats = all_compatibles(fdt);
    for (int n = 0; n < ix->count(); ++n) {
        const fdt::CompatibleList list(*ix, n);
        for (const std::string& c : compats) {
            const bool want = fdt_node_check_compatible(fdt, ix->offset(n), c.c_str()) == 0;
            CHECK(list.has(c.c_str()) == want);
            CHECK(ix->is_compatible(n, c.c_str()) == want);
        }
    }
    for (u32 ph : {0u, 0xffffffffu, 0xfffeu}) CHECK(ix->by_phandle(ph) == Index::kNone);
}

// Every way a list can end against every string: terminated or not, empty
// entries, one string the prefix of another.
TEST_CASE("fdt index: string lists answer as fdt_stringlist_contains does")
{
    const std::string lists[] = {std::string("abc\0def\0", 8), std::string("abc\0de", 6), std::string("abc", 3),
                                 std::string("\0abc\0", 5), std::string("ab\0\0c\0", 6), std::string(),
                                 std::string("abcd\0", 5), std::string("\0", 1)};
    const char* strings[] = {"", "a", "ab", "abc", "abcd", "de", "def", "defg", "c", "d"};
    for (const std::string& l : lists)
        for (int after : {0, int('x')})
            for (const char* s : strings) {
                std::string buf = l;
                buf.push_back(char(after));  // the byte after the list, which both read
                INFO(std::string(l).size() << " bytes, then " << after << ": " << s);
                const bool want = fdt_stringlist_contains(buf.data(), int(l.size()), s) != 0;
                CHECK(fdt::stringlist_contains(buf.data(), int(l.size()), s) == want);
                // The first-byte filter never rules out what is there.
                if (want) CHECK(fdt::may_contain(fdt::first_bytes(buf.data(), int(l.size())), s));
            }
}

// Paths as fdt_path_offset takes them: aliases, unit addresses left out,
// doubled slashes, and names that are no node.
TEST_CASE("fdt index: paths and aliases resolve as libfdt resolves them")
{
    Blob b = load_dtb("qemu-virt-gicv3.dtb");
    const void* fdt = b.data();
    auto ix = make_index();
    REQUIRE(build(*ix, b).empty());
    const char* paths[] = {"/", "/chosen", "/cpus", "/cpus/cpu@0", "/cpus/cpu", "//cpus//cpu@0/", "/pl011@9000000",
                           "/pl011", "/pl011@9000001", "/nonesuch", "/chosen/x", "cpus", "", "/intc@8000000/its",
                           "/platform-bus@c000000", "/psci", "/memory"};
    for (const char* p : paths) {
        INFO(p);
        const int want = fdt_path_offset(fdt, p);
        const int got = ix->path(p);
        CHECK((got == Index::kNone ? -1 : ix->offset(got)) == (want < 0 ? -1 : want));
    }
    // An alias (QEMU's tree has none: one is added), alone and with a path after it.
    int len = 0;
    const char* stdout_path = static_cast<const char*>(fdt_getprop(fdt, fdt_path_offset(fdt, "/chosen"), "stdout-path", &len));
    REQUIRE(stdout_path != nullptr);
    std::vector<u64> words(b.size / 8 + 512);
    REQUIRE(fdt_open_into(fdt, words.data(), int(words.size() * 8)) == 0);
    int aliases = fdt_add_subnode(words.data(), 0, "aliases");
    REQUIRE(aliases >= 0);
    REQUIRE(fdt_setprop_string(words.data(), aliases, "serial0", stdout_path) == 0);
    REQUIRE(fdt_setprop_string(words.data(), aliases, "loop", "loop") == 0);
    REQUIRE(fdt_setprop_string(words.data(), aliases, "top", "/") == 0);
    Blob a;
    a.words = words;
    a.size = fdt_totalsize(words.data());
    REQUIRE(build(*ix, a).empty());
    for (const char* p : {"serial0", "serial0/", "top/cpus", "top//cpus/cpu@0", "serial1", "/aliases"}) {
        INFO(p);
        const int want = fdt_path_offset(a.data(), p);
        const int got = ix->path(p);
        CHECK((got == Index::kNone ? -1 : ix->offset(got)) == (want < 0 ? -1 : want));
    }
    // An alias naming another alias is not followed (libfdt would recurse
    // into itself without end on this one).
    CHECK(ix->path("loop") == Index::kNone);
}

// A strings block holding a name twice: both places are that name.
TEST_CASE("fdt index: a property name held twice in the strings block is found at both")
{
    std::vector<u64> buf(4096 / 8);
    void* fdt = buf.data();
    REQUIRE(fdt_create(fdt, 4096) == 0);
    REQUIRE(fdt_finish_reservemap(fdt) == 0);
    REQUIRE(fdt_begin_node(fdt, "") == 0);
    REQUIRE(fdt_begin_node(fdt, "a") == 0);
    REQUIRE(fdt_property_u32(fdt, "reg", 1) == 0);
    REQUIRE(fdt_end_node(fdt) == 0);
    REQUIRE(fdt_begin_node(fdt, "b") == 0);
    REQUIRE(fdt_property_u32(fdt, "qqq", 2) == 0);
    REQUIRE(fdt_end_node(fdt) == 0);
    REQUIRE(fdt_end_node(fdt) == 0);
    REQUIRE(fdt_finish(fdt) == 0);
    char* strings = static_cast<char*>(fdt) + fdt_off_dt_strings(fdt);
    char* q = static_cast<char*>(memmem(strings, fdt_size_dt_strings(fdt), "qqq", 4));
    REQUIRE(q != nullptr);
    std::memcpy(q, "reg", 4);
    Blob b;
    b.words = buf;
    b.size = fdt_totalsize(fdt);
    auto ix = make_index();
    REQUIRE(build(*ix, b).empty());
    for (const char* path : {"/a", "/b"}) {
        INFO(path);
        const int n = ix->path(path);
        REQUIRE(n != Index::kNone);
        int len = 0;
        CHECK(ix->prop(n, fdt::Name::Reg, &len) == fdt_getprop(b.data(), ix->offset(n), "reg", nullptr));
        CHECK(len == 4);
    }
}

// One word of a blob changed at a time, everywhere in its structure block
// and its header's offsets: whatever the checks before the index refused,
// the index refuses, and what it accepts they accepted.
TEST_CASE("fdt index: refuses every broken blob fdt_check_full refuses")
{
    auto name = GENERATE(as<std::string>{}, "no-memory.dtb", "gic-many-frames.dtb", "smmu-board.dtb");
    INFO(name);
    const Blob good = load_dtb(name);
    auto ix = make_index();
    REQUIRE(build(*ix, good).empty());
    const usize s = get32(good, 8), size = get32(good, 36);
    const u32 values[] = {0, 1, 2, 3, 4, 9, 0x7fffffff, 0xfffffff4, 0xffffffff, 0x1000, 3 + (1u << 24)};
    std::mt19937 rng(17);
    int refused = 0, tried = 0;
    for (usize at = s; at + 4 <= s + size; at += 4) {
        for (u32 v : values) {
            Blob b = good;
            put32(b, at, v);
            if (fdt_check_header(b.data()) != 0) continue;
            ++tried;
            const bool before = libfdt_accepts(b);
            const std::string why = build(*ix, b);
            INFO("word at 0x" << std::hex << at << " = 0x" << v << ": " << why);
            if (!before) CHECK_FALSE(why.empty());
            if (why.empty()) CHECK(before);
            refused += !why.empty();
        }
        // A random byte too.
        Blob b = good;
        b.bytes()[at + rng() % 4] = u8(rng());
        const bool before = libfdt_accepts(b);
        const std::string why = build(*ix, b);
        if (!before) CHECK_FALSE(why.empty());
    }
    CHECK(tried > 100);
    CHECK(refused > 50);
}

TEST_CASE("fdt index: broken nesting and reservation maps are refused in fdt_check_full's words")
{
    Blob b = load_dtb("no-memory.dtb");
    const usize s = get32(b, 8), size = get32(b, 36);
    REQUIRE(get32(b, s + size - 4) == FDT_END);
    REQUIRE(get32(b, s + size - 8) == FDT_END_NODE);
    auto ix = make_index();
    SECTION("the root left open")
    {
        put32(b, s + size - 8, FDT_NOP);
        CHECK(fdt_check_full(b.data(), b.size) != 0);
        CHECK(build(*ix, b) == "device tree structure invalid: FDT_ERR_BADSTRUCTURE");
    }
    SECTION("a node closed twice")
    {
        const int child = fdt_first_subnode(b.data(), 0);
        REQUIRE(child > 0);
        // The root's first property becomes an END_NODE: the root closes, then its children close nothing.
        put32(b, s + 8, FDT_END_NODE);
        put32(b, s + 12, FDT_NOP);
        put32(b, s + 16, FDT_NOP);
        for (usize at = s + 20; at < usize(s + child); at += 4) put32(b, at, FDT_NOP);
        CHECK(fdt_check_full(b.data(), b.size) != 0);
        CHECK(build(*ix, b) == "device tree structure invalid: FDT_ERR_BADSTRUCTURE");
    }
    SECTION("a reservation map without its terminator")
    {
        const usize rsv = get32(b, 16);
        for (usize at = rsv; at < s; at += 4) put32(b, at, 0x1000);
        CHECK(fdt_check_full(b.data(), b.size) != 0);
        CHECK(build(*ix, b) == "device tree structure invalid: FDT_ERR_TRUNCATED");
    }
    SECTION("a malformed token after broken nesting is what the message names")
    {
        const int child = fdt_first_subnode(b.data(), 0);
        REQUIRE(child > 0);
        put32(b, s + 8, FDT_END_NODE);
        put32(b, s + 12, FDT_END_NODE);  // at depth 0
        for (usize at = s + 16; at < usize(s + child); at += 4) put32(b, at, FDT_NOP);
        put32(b, s + child, 7);
        char want[96];
        std::snprintf(want, sizeof want, "device tree: an unknown tag (structure offset 0x%x)", unsigned(child));
        CHECK(build(*ix, b) == want);
    }
    CHECK(ix->count() == 0);
}

// A second root, a named root, and what fdt_check_full lets through but
// no tool writes and passage's readers would misread (they all take the
// root to be at offset 0): the index refuses each, saying what.
TEST_CASE("fdt index: a second root or a property outside every node is refused")
{
    std::vector<u64> buf(4096 / 8);
    void* fdt = buf.data();
    auto tree = [&](bool prop_first, bool second_root, const char* root_name) {
        REQUIRE(fdt_create(fdt, 4096) == 0);
        REQUIRE(fdt_finish_reservemap(fdt) == 0);
        if (prop_first) REQUIRE(fdt_property_u32(fdt, "stray", 1) == 0);
        REQUIRE(fdt_begin_node(fdt, root_name) == 0);
        REQUIRE(fdt_begin_node(fdt, "cpus") == 0);
        REQUIRE(fdt_end_node(fdt) == 0);
        REQUIRE(fdt_end_node(fdt) == 0);
        if (second_root) {
            REQUIRE(fdt_begin_node(fdt, "") == 0);
            REQUIRE(fdt_end_node(fdt) == 0);
        }
        REQUIRE(fdt_finish(fdt) == 0);
        Blob b;
        b.words = buf;
        b.size = fdt_totalsize(fdt);
        return b;
    };
    auto ix = make_index();
    Blob plain = tree(false, false, "");
    CHECK(build(*ix, plain).empty());
    CHECK(ix->count() == 2);

    Blob two = tree(false, true, "");
    CHECK(fdt_check_full(two.data(), two.size) != 0);
    CHECK(build(*ix, two) == "device tree structure invalid: FDT_ERR_BADSTRUCTURE");

    Blob named = tree(false, false, "root");
    CHECK(fdt_check_full(named.data(), named.size) != 0);
    CHECK(build(*ix, named) == "device tree structure invalid: FDT_ERR_BADSTRUCTURE");

    Blob stray = tree(true, false, "");
    CHECK(fdt_check_full(stray.data(), stray.size) == 0);
    CHECK(build(*ix, stray) == "device tree: a property outside every node (structure offset 0x0)");

    // A NOP before the root: the structure block one word longer, the
    // strings block moved up after it.
    Blob nop = plain;
    nop.words.resize(nop.words.size() + 1);
    const usize s = get32(nop, 8), ssize = get32(nop, 36), strings = get32(nop, 12), strsize = get32(nop, 32);
    REQUIRE(strings == s + ssize);
    std::memmove(nop.bytes() + strings + 4, nop.bytes() + strings, strsize);
    std::memmove(nop.bytes() + s + 4, nop.bytes() + s, ssize);
    put32(nop, s, FDT_NOP);
    put32(nop, 36, u32(ssize + 4));
    put32(nop, 12, u32(strings + 4));
    put32(nop, 4, get32(nop, 4) + 4);
    nop.size += 4;
    REQUIRE(fdt_check_header(nop.data()) == 0);
    CHECK(fdt_check_full(nop.data(), nop.size) == 0);
    CHECK(build(*ix, nop) == "device tree: the structure block does not open with the root node (structure offset 0x4)");

    // Nothing but the end tag.
    Blob empty = plain;
    put32(empty, s, FDT_END);
    CHECK(fdt_check_full(empty.data(), empty.size) == 0);
    CHECK(build(*ix, empty) == "device tree: no root node (structure offset 0x0)");
}

TEST_CASE("fdt index: a tree past the capacity is refused with its node count")
{
    auto nodes = GENERATE(Index::kMaxNodes, Index::kMaxNodes + 1);
    std::vector<u64> buf((64 + nodes * 16) * 2);
    void* fdt = buf.data();
    REQUIRE(fdt_create(fdt, int(buf.size() * 8)) == 0);
    REQUIRE(fdt_finish_reservemap(fdt) == 0);
    REQUIRE(fdt_begin_node(fdt, "") == 0);
    for (u32 i = 1; i < nodes; ++i) {
        REQUIRE(fdt_begin_node(fdt, "n") == 0);
        REQUIRE(fdt_end_node(fdt) == 0);
    }
    REQUIRE(fdt_end_node(fdt) == 0);
    REQUIRE(fdt_finish(fdt) == 0);
    Blob b;
    b.words = buf;
    b.size = fdt_totalsize(fdt);
    auto ix = make_index();
    if (nodes == Index::kMaxNodes) {
        CHECK(build(*ix, b).empty());
        CHECK(ix->count() == int(nodes));
        CHECK(ix->next_sibling(1) == 2);
        CHECK(ix->next_sibling(int(nodes) - 1) == Index::kNone);
    } else {
        CHECK(build(*ix, b) == "device tree has 4097 nodes, more than the 4096 passage can index");
        CHECK(ix->count() == 0);
    }
}
