// ELF64 test guests: small executables built here, then broken one field
// at a time. Every failure has its own message.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "passage/guest/elf.h"

using namespace passage;

namespace {

void put_le(std::vector<u8>& b, usize off, u64 v, int bytes)
{
    for (int i = 0; i < bytes; ++i) b[off + i] = static_cast<u8>(v >> (8 * i));
}

struct Phdr {
    u32 type = 1;  // PT_LOAD
    u64 offset = 0, vaddr = 0, paddr = 0, filesz = 0, memsz = 0;
};

// An ELF64 AArch64 executable: the header, the program headers right after
// it, then `payload` bytes of file.
struct ElfFile {
    u64 entry = 0x40080000;
    u16 type = 2, machine = 183;
    u8 cls = 2, data = 1;
    u16 phentsize = 56;
    std::vector<Phdr> phdrs;
    usize payload = 0x3000;

    std::vector<u8> bytes() const
    {
        usize phoff = 64;
        std::vector<u8> b(phoff + phdrs.size() * 56 + payload, 0);
        b[0] = 0x7f, b[1] = 'E', b[2] = 'L', b[3] = 'F';
        b[4] = cls, b[5] = data, b[6] = 1;
        put_le(b, 16, type, 2);
        put_le(b, 18, machine, 2);
        put_le(b, 20, 1, 4);
        put_le(b, 24, entry, 8);
        put_le(b, 32, phoff, 8);
        put_le(b, 52, 64, 2);
        put_le(b, 54, phentsize, 2);
        put_le(b, 56, phdrs.size(), 2);
        for (usize i = 0; i < phdrs.size(); ++i) {
            usize o = phoff + i * 56;
            put_le(b, o, phdrs[i].type, 4);
            put_le(b, o + 4, 5, 4);  // R+X
            put_le(b, o + 8, phdrs[i].offset, 8);
            put_le(b, o + 16, phdrs[i].vaddr, 8);
            put_le(b, o + 24, phdrs[i].paddr, 8);
            put_le(b, o + 32, phdrs[i].filesz, 8);
            put_le(b, o + 40, phdrs[i].memsz, 8);
            put_le(b, o + 48, 0x1000, 8);
        }
        return b;
    }
};

// Code at 0x40080000, data + BSS at 0x40090000, and a PT_NOTE that is skipped.
ElfFile good_elf()
{
    ElfFile f;
    f.phdrs.push_back({1, 0x1000, 0x40080000, 0x40080000, 0x800, 0x800});
    f.phdrs.push_back({4, 0x1800, 0, 0, 0x20, 0x20});
    f.phdrs.push_back({1, 0x2000, 0x40090000, 0x40090000, 0x400, 0x4000});
    return f;
}

struct Parsed {
    ElfImage elf;
    Diagnostic diag;
    bool ok;
    std::string msg() const { return diag.text; }
};

Parsed parse(const std::vector<u8>& b)
{
    Parsed p{};
    p.ok = parse_elf(b.data(), b.size(), p.elf, p.diag).ok();
    return p;
}

bool has(const Parsed& p, const std::string& s)
{
    INFO("message: " << p.msg());
    return p.msg().find(s) != std::string::npos;
}

}  // namespace

TEST_CASE("ELF: a good executable gives its PT_LOAD segments and entry")
{
    auto p = parse(good_elf().bytes());
    REQUIRE(p.ok);
    REQUIRE(p.elf.segment_count == 2);
    CHECK(p.elf.segments[0].paddr == 0x40080000);
    CHECK(p.elf.segments[0].offset == 0x1000);
    CHECK(p.elf.segments[0].filesz == 0x800);
    CHECK(p.elf.segments[1].paddr == 0x40090000);
    CHECK(p.elf.segments[1].filesz == 0x400);
    CHECK(p.elf.segments[1].memsz == 0x4000);
    CHECK(p.elf.entry == 0x40080000);
    CHECK(p.elf.entry_phys == 0x40080000);
    CHECK(looks_like_elf(good_elf().bytes().data(), 64));
}

// Linked high, loaded low: the entry is translated to its physical address.
TEST_CASE("ELF: the entry point is translated from vaddr to paddr")
{
    ElfFile f;
    f.entry = 0xffff000000000100;
    f.phdrs.push_back({1, 0x1000, 0xffff000000000000, 0x40000000, 0x1000, 0x1000});
    auto p = parse(f.bytes());
    REQUIRE(p.ok);
    CHECK(p.elf.entry_phys == 0x40000100);
}

TEST_CASE("ELF: truncated files are refused")
{
    auto full = good_elf().bytes();
    usize size = GENERATE(0, 4, 63);
    std::vector<u8> b(full.begin(), full.begin() + size);
    auto p = parse(b);
    REQUIRE_FALSE(p.ok);
    CHECK(has(p, "is smaller than the ELF64 header (64 bytes)"));
}

// Cut right after the header: the program headers lie past the end.
TEST_CASE("ELF: program headers past the end of the file")
{
    auto full = good_elf().bytes();
    std::vector<u8> b(full.begin(), full.begin() + 64 + 56);
    auto p = parse(b);
    REQUIRE_FALSE(p.ok);
    CHECK(has(p, "program headers at offset 0x40 (3 x 56 bytes) run past the end of the file (120 bytes)"));
}

TEST_CASE("ELF: header fields that are not ours are refused each with its message")
{
    ElfFile f = good_elf();
    std::string want;
    SECTION("magic")
    {
        auto b = f.bytes();
        b[1] = 'X';
        auto p = parse(b);
        REQUIRE_FALSE(p.ok);
        CHECK(has(p, "no ELF magic"));
        return;
    }
    SECTION("32-bit") { f.cls = 1, want = "class 1 is not ELFCLASS64"; }
    SECTION("big-endian") { f.data = 2, want = "data encoding 2 is not little-endian"; }
    SECTION("x86-64") { f.machine = 62, want = "machine 62 is not EM_AARCH64 (183)"; }
    SECTION("relocatable") { f.type = 1, want = "type 1 is not ET_EXEC (2)"; }
    SECTION("position independent") { f.type = 3, want = "position-independent (ET_DYN) guests are not supported"; }
    SECTION("program header size") { f.phentsize = 32, want = "program header size 32, expected 56"; }
    SECTION("no program headers") { f.phdrs.clear(), want = "no program headers"; }
    SECTION("no PT_LOAD") { f.phdrs = {{4, 0x1000, 0, 0, 0x10, 0x10}}, want = "no PT_LOAD segment"; }
    auto p = parse(f.bytes());
    REQUIRE_FALSE(p.ok);
    CHECK(has(p, want));
}

TEST_CASE("ELF: a segment past the end of the file is refused")
{
    ElfFile f = good_elf();
    // The file is 0x30e8 bytes: 0x10e9 is one past its end.
    u64 filesz = GENERATE(as<u64>{}, 0x10e9, 0x10000, ~u64{0});
    f.phdrs[2].filesz = filesz;
    f.phdrs[2].memsz = ~u64{0};
    auto p = parse(f.bytes());
    REQUIRE_FALSE(p.ok);
    CHECK(has(p, "segment 2: file bytes 0x2000+"));
    CHECK(has(p, "run past the end of the file"));
}

TEST_CASE("ELF: a segment ending exactly at the end of the file is fine")
{
    ElfFile f = good_elf();
    f.phdrs[2].filesz = 0x10e8;
    auto p = parse(f.bytes());
    REQUIRE(p.ok);
    CHECK(p.elf.segments[1].filesz == 0x10e8);
}

TEST_CASE("ELF: an offset beyond the file is refused even with filesz 0 past it")
{
    ElfFile f = good_elf();
    f.phdrs[0].offset = ~u64{0};
    f.phdrs[0].filesz = 1;
    auto p = parse(f.bytes());
    REQUIRE_FALSE(p.ok);
    CHECK(has(p, "run past the end of the file"));
}

TEST_CASE("ELF: p_filesz larger than p_memsz is refused")
{
    ElfFile f = good_elf();
    f.phdrs[0].memsz = 0x10;
    auto p = parse(f.bytes());
    REQUIRE_FALSE(p.ok);
    CHECK(has(p, "has p_filesz 0x800 larger than p_memsz 0x10"));
}

TEST_CASE("ELF: too many PT_LOAD segments are refused")
{
    ElfFile f;
    for (u64 i = 0; i < ElfImage::kMaxSegments + 1; ++i)
        f.phdrs.push_back({1, 0x1000, 0x40080000 + i * 0x1000, 0x40080000 + i * 0x1000, 0x100, 0x100});
    auto p = parse(f.bytes());
    REQUIRE_FALSE(p.ok);
    CHECK(has(p, "more than 8 PT_LOAD segments"));

    f.phdrs.pop_back();  // exactly the limit is fine
    CHECK(parse(f.bytes()).ok);
}

TEST_CASE("ELF: overlapping segments are refused")
{
    ElfFile f = good_elf();
    f.phdrs[2].paddr = 0x40080400;
    auto p = parse(f.bytes());
    REQUIRE_FALSE(p.ok);
    CHECK(has(p, "segment 2 (paddr 0x40080400 size 0x4000) overlaps the one at paddr 0x40080000 size 0x800"));
}

TEST_CASE("ELF: a segment wrapping past 2^64 is refused")
{
    ElfFile f = good_elf();
    f.phdrs[2].paddr = 0xfffffffffffff000;
    auto p = parse(f.bytes());
    REQUIRE_FALSE(p.ok);
    CHECK(has(p, "wraps past the top of the address space"));
}

TEST_CASE("ELF: an entry point outside every segment is refused")
{
    ElfFile f = good_elf();
    f.entry = 0x50000000;
    auto p = parse(f.bytes());
    REQUIRE_FALSE(p.ok);
    CHECK(has(p, "entry point 0x50000000 lies in no PT_LOAD segment"));
}

// Segments with memsz 0 occupy nothing and are dropped.
TEST_CASE("ELF: empty PT_LOAD segments are skipped")
{
    ElfFile f = good_elf();
    f.phdrs.push_back({1, 0x1000, 0x50000000, 0x50000000, 0, 0});
    auto p = parse(f.bytes());
    REQUIRE(p.ok);
    CHECK(p.elf.segment_count == 2);
}
