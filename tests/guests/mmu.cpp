#include "mmu.h"

namespace guest::mmu {

namespace {

// VMSAv8-64 stage-1 descriptor fields (Arm ARM D8.3).
constexpr u64 kValid = 1ull << 0;
constexpr u64 kTable = 1ull << 1;  // with kValid: table (levels 0-2) or page (level 3)
constexpr u64 kAttrIndxShift = 2;
constexpr u64 kShInner = 3ull << 8;
constexpr u64 kShOuter = 2ull << 8;
constexpr u64 kAf = 1ull << 10;
constexpr u64 kPxn = 1ull << 53;
constexpr u64 kUxn = 1ull << 54;
constexpr u64 kAddrMask = 0x0000fffffffff000ull;

// MAIR_EL1 attribute bytes for each Mem index.
constexpr u64 kMair = 0x00ull << 0     // Device-nGnRnE
                      | 0x04ull << 8   // Device-nGnRE
                      | 0x44ull << 16  // Normal, inner/outer non-cacheable
                      | 0xffull << 24; // Normal, inner/outer write-back RW-allocate

constexpr unsigned kPoolPages = 48;
alignas(4096) u64 g_pool[kPoolPages][512];
unsigned g_used = 1;  // g_pool[0] is the level-0 table
bool g_enabled;

u64* new_table()
{
    if (g_used == kPoolPages) return nullptr;
    return g_pool[g_used++];  // BSS: already zero (all entries invalid)
}

u64 leaf_bits(Mem mem)
{
    u64 bits = kAf | (u64(mem) << kAttrIndxShift) | kUxn;  // AP = 00: EL1 RW, no EL0
    if (mem == Mem::NormalWB) bits |= kShInner;
    else bits |= kShOuter | kPxn;  // nothing but RAM is executable
    return bits;
}

constexpr u64 level_shift(int level) { return 39 - 9 * level; }

bool map_level(u64* table, int level, u64& va, u64& pa, u64 end, Mem mem)
{
    u64 shift = level_shift(level);
    u64 block = u64{1} << shift;
    while (va < end) {
        u64* entry = &table[(va >> shift) & 511];
        bool aligned = ((va | pa) & (block - 1)) == 0 && end - va >= block;
        if (level == 3 || (level >= 1 && aligned)) {
            if (*entry & kValid) return false;  // already mapped: never change a live entry
            *entry = pa | leaf_bits(mem) | (level == 3 ? kTable | kValid : kValid);
            va += block;
            pa += block;
            continue;
        }
        if (!(*entry & kValid)) {
            u64* next = new_table();
            if (!next) return false;
            *entry = reinterpret_cast<u64>(next) | kTable | kValid;
        } else if (!(*entry & kTable)) {
            return false;  // a block is in the way
        }
        u64 next_end = ((va >> shift) + 1) << shift;
        if (!map_level(reinterpret_cast<u64*>(*entry & kAddrMask), level + 1, va, pa, next_end < end ? next_end : end,
                       mem))
            return false;
    }
    return true;
}

}  // namespace

const char* mem_name(Mem m)
{
    switch (m) {
    case Mem::DeviceNGnRnE: return "Device-nGnRnE";
    case Mem::DeviceNGnRE: return "Device-nGnRE";
    case Mem::NormalNC: return "Normal-NC";
    case Mem::NormalWB: return "Normal-WB";
    }
    return "?";
}

bool map(u64 va, u64 pa, u64 size, Mem mem)
{
    if (((va | pa | size) & 0xfff) || va + size > (u64{1} << 48) || va + size < va) return false;
    bool ok = map_level(g_pool[0], 0, va, pa, va + size, mem);
    // New entries only (invalid before): no TLB maintenance, just make them
    // visible to the table walker before the next access.
    dsb_ishst();
    isb();
    return ok;
}

void enable()
{
    // TCR_EL1: T0SZ = 16 (48-bit VA), walks inner/outer WB, inner shareable,
    // TG0 = 4 KiB, EPD1 (no TTBR1 walks), IPS = PARange capped at 48 bits.
    u64 parange = read_id_aa64mmfr0_el1() & 0xf;
    u64 ips = parange > 5 ? 5 : parange;
    u64 tcr = 16 | (1ull << 8) | (1ull << 10) | (3ull << 12) | (0ull << 14) | (1ull << 23) | (ips << 32);
    write_mair_el1(kMair);
    write_tcr_el1(tcr);
    write_ttbr0_el1(reinterpret_cast<u64>(g_pool[0]));
    isb();

    // Everything so far was written with the MMU (and so the caches) off,
    // straight to memory. Drop any stale lines over the image before the
    // caches start to hit, so tables, BSS and stacks read what we wrote.
    dcache_inval_poc(image_start(), image_end() - image_start());
    asm volatile("tlbi vmalle1\n dsb nsh\n isb" ::: "memory");

    constexpr u64 kM = 1ull << 0, kC = 1ull << 2, kI = 1ull << 12;
    write_sctlr_el1(read_sctlr_el1() | kM | kC | kI);
    isb();
    asm volatile("ic iallu\n dsb nsh\n isb" ::: "memory");
    g_enabled = true;
}

bool enabled() { return g_enabled; }

unsigned tables_used() { return g_used; }

u64 translate(u64 va)
{
    asm volatile("at s1e1r, %0\n isb" ::"r"(va) : "memory");
    return read_par_el1();
}

}  // namespace guest::mmu
