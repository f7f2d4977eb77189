// ram-clean: nothing of the host's device tree or of passage is readable in
// guest RAM at the guest's first instruction (issue 14, item f). Runs before
// any other check writes outside the guest's own image.
#include <libfdt.h>

#include "checks.h"
#include "console.h"
#include "exceptions.h"

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

// Scans [base, end), 8-byte aligned, 8 bytes at a time: a device tree at
// each 4-byte aligned offset, and each needle wherever a word holds its
// first byte.
Found scan_words(u64 base, u64 end, const Needle* needles, unsigned count)
{
    const u64 first = u64(u8(needles[0].text[0])) * kOnes;  // every needle starts with the same byte
    for (u64 a = base; a + 8 <= end; a += 8) {
        u64 w = *reinterpret_cast<const volatile u64*>(a);
        if (w == 0) continue;
        bool magic = u32(w) == kFdtMagicLe || u32(w >> 32) == kFdtMagicLe;
        u64 x = w ^ first;
        bool has_first = ((x - kOnes) & ~x & kHighs) != 0;
        if (!magic && !has_first) continue;
        if (u32(w) == kFdtMagicLe && fdt_header_at(a, end)) return {a, "a device tree (magic 0xd00dfeed)"};
        if (u32(w >> 32) == kFdtMagicLe && fdt_header_at(a + 4, end)) return {a + 4, "a device tree (magic 0xd00dfeed)"};
        if (!has_first) continue;
        for (u64 b = a; b < a + 8; ++b)
            for (unsigned i = 0; i < count; ++i)
                if (matches_at(b, end, needles[i])) return {b, needles[i].text};
    }
    return {};
}

// Scans [base, end) but for the skipped ranges, which are never read
// (reserved memory may abort).
Found scan(u64 base, u64 end, const Needle* needles, unsigned count, const Skip* skips, unsigned nskips)
{
    u64 a = base & ~u64{7};
    while (a < end) {
        // The skipped range over a (or within its first word), else the
        // next one to start.
        u64 stop = end;
        u64 resume = 0;
        for (unsigned i = 0; i < nskips; ++i) {
            if (skips[i].end <= a) continue;
            if (skips[i].base < a + 8) resume = skips[i].end > resume ? skips[i].end : resume;
            else if (skips[i].base < stop) stop = skips[i].base;
        }
        if (resume != 0) {
            a = (resume + 7) & ~u64{7};
            continue;
        }
        stop &= ~u64{7};
        if (stop <= a) break;  // less than a word left
        if (Found f = scan_words(a, stop, needles, count); f.what != nullptr) return f;
        a = stop;
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
    // Its own image and DTB, and the memory its DTB reserves (firmware's,
    // and what stage 2 leaves unmapped: reading it would abort).
    Skip skips[2 + GuestPlatform::kMaxReserved] = {
        {reinterpret_cast<u64>(__image_start), reinterpret_cast<u64>(__image_end)},
        {fdt, fdt + fdt_totalsize(p.fdt)},
    };
    unsigned nskips = 2;
    for (unsigned i = 0; i < p.reserved_count; ++i) skips[nskips++] = {p.reserved[i].base, p.reserved[i].end()};
    u64 scanned = 0;
    for (unsigned i = 0; i < p.mem_count; ++i) {
        Found f = scan(p.mem[i].base, p.mem[i].end(), needles, sizeof needles / sizeof needles[0], skips, nskips);
        if (f.what != nullptr) return fail(name, "%s at 0x%lx in guest RAM", f.what, f.addr);
        scanned += p.mem[i].size;
    }
    char sz[24];
    info("scanned %s of guest RAM: no device tree but the guest's own, no passage text", size_text(scanned, sz));
    pass(name);
}

}  // namespace guest

namespace guest {

// no-map: reserved memory marked no-map (a secure carve-out) is out of
// stage 2: a read there is the guest's own abort, never data.
void check_no_map(Context& ctx)
{
    const char* name = "no-map";
    const GuestPlatform& p = ctx.plat;
    if (ctx.standalone) return skip(name, "no hypervisor");
    unsigned tried = 0;
    for (unsigned i = 0; i < p.reserved_count; ++i) {
        if (!p.reserved_no_map[i]) continue;
        u64 a = p.reserved[i].base;
        Probe probe = probe_read32(a);
        const u64 pc = probe.pc;
        const AbortRecord& r = probe.abort;
        if (!r.taken) return fail(name, "read of no-map 0x%lx returned 0x%x: the carve-out is mapped", a, probe.value);
        if (esr_ec(r.esr) != kEcDataAbortSameEl || r.far != a || r.elr != pc)
            return fail(name, "no-map 0x%lx: abort with ESR 0x%lx FAR 0x%lx ELR 0x%lx, expected a data abort there", a, r.esr,
                        r.far, r.elr);
        info("no-map 0x%lx-0x%lx: a read aborts (ESR 0x%lx)", a, p.reserved[i].end() - 1, r.esr);
        ++tried;
    }
    if (tried == 0) return skip(name, "no no-map reserved memory");
    pass(name);
}

}  // namespace guest
