// ram-clean: nothing of the host's device tree or of passage is readable in
// guest RAM at the guest's first instruction (issue 14, item f). Runs before
// any other check writes outside the guest's own image.
#include <libfdt.h>

#include "checks.h"
#include "console.h"

extern "C" char __image_start[], __image_end[];

namespace guest {

namespace {

constexpr u64 kOnes = 0x0101010101010101ull;
constexpr u64 kHighs = 0x8080808080808080ull;
// The FDT magic 0xd00dfeed as a little-endian load of its big-endian bytes.
constexpr u32 kFdtMagicLe = 0xedfe0dd0u;

// The needles, each byte stored plus one, so the guest's own image (which
// is skipped anyway) and its ELF file (which a boot module leaves in guest
// RAM) never hold them in the clear.
struct Needle {
    char text[32];
    unsigned len;
};

Needle decode(const char* shifted)
{
    Needle n{};
    while (shifted[n.len] != '\0' && n.len + 1 < sizeof n.text) {
        n.text[n.len] = char(shifted[n.len] - 1);
        ++n.len;
    }
    return n;
}

struct Skip {
    u64 base;
    u64 end;
};

bool skipped(u64 a, const Skip* skips, unsigned n)
{
    for (unsigned i = 0; i < n; ++i)
        if (a >= skips[i].base && a < skips[i].end) return true;
    return false;
}

// True when `n` starts at byte address a (reads past `end` are not made).
bool matches_at(u64 a, u64 end, const Needle& n)
{
    if (end - a < n.len) return false;
    const volatile char* p = reinterpret_cast<const volatile char*>(a);
    for (unsigned i = 0; i < n.len; ++i)
        if (p[i] != n.text[i]) return false;
    return true;
}

u32 be32_at(u64 a)
{
    const volatile u8* p = reinterpret_cast<const volatile u8*>(a);
    return u32(p[0]) << 24 | u32(p[1]) << 16 | u32(p[2]) << 8 | u32(p[3]);
}

// The magic starts a plausible FDT header (version 16 or 17, a size of at
// least a header): a 0xd00dfeed constant in a program's code or data (the
// guest's own ELF file, left in RAM as a boot module, has one) is no tree.
bool fdt_header_at(u64 a, u64 end)
{
    if (end - a < 40) return false;
    u32 version = be32_at(a + 20), size = be32_at(a + 4);
    return (version == 16 || version == 17) && size >= 40;
}

struct Found {
    u64 addr = 0;
    const char* what = nullptr;
};

// Scans [base, end) 8 bytes at a time: a device tree at each 4-byte
// aligned offset, and each needle wherever a word holds its first byte.
Found scan(u64 base, u64 end, const Needle* needles, unsigned count, const Skip* skips, unsigned nskips)
{
    const u64 first = u64(u8(needles[0].text[0])) * kOnes;  // every needle starts with the same byte
    for (u64 a = base; a + 8 <= end; a += 8) {
        u64 w = *reinterpret_cast<const volatile u64*>(a);
        if (w == 0) continue;
        bool magic = u32(w) == kFdtMagicLe || u32(w >> 32) == kFdtMagicLe;
        u64 x = w ^ first;
        bool has_first = ((x - kOnes) & ~x & kHighs) != 0;
        if (!magic && !has_first) continue;
        if (skipped(a, skips, nskips)) continue;
        if (u32(w) == kFdtMagicLe && fdt_header_at(a, end)) return {a, "a device tree (magic 0xd00dfeed)"};
        if (u32(w >> 32) == kFdtMagicLe && fdt_header_at(a + 4, end)) return {a + 4, "a device tree (magic 0xd00dfeed)"};
        if (!has_first) continue;
        for (u64 b = a; b < a + 8; ++b)
            for (unsigned i = 0; i < count; ++i)
                if (matches_at(b, end, needles[i])) return {b, needles[i].text};
    }
    return {};
}

}  // namespace

void check_ram_clean(Context& ctx)
{
    const char* name = "ram-clean";
    const GuestPlatform& p = ctx.plat;
    if (ctx.standalone) return skip(name, "no hypervisor");
    if (p.fdt_error || p.mem_count == 0) return fail(name, "no readable device tree or no memory node");
    // "passage." (passage's options in the host's bootargs) and a text of
    // passage's own log.
    const Needle needles[] = {decode("qbttbhf/"), decode("qbttbhf;!foufsjoh")};
    const u64 fdt = reinterpret_cast<u64>(p.fdt);
    const Skip skips[] = {
        {reinterpret_cast<u64>(__image_start), reinterpret_cast<u64>(__image_end)},
        {fdt, fdt + fdt_totalsize(p.fdt)},
    };
    u64 scanned = 0;
    for (unsigned i = 0; i < p.mem_count; ++i) {
        Found f = scan(p.mem[i].base, p.mem[i].end(), needles, sizeof needles / sizeof needles[0], skips, 2);
        if (f.what != nullptr) return fail(name, "%s at 0x%lx in guest RAM", f.what, f.addr);
        scanned += p.mem[i].size;
    }
    char sz[24];
    info("scanned %s of guest RAM: no device tree but the guest's own, no passage text", size_text(scanned, sz));
    pass(name);
}

}  // namespace guest
