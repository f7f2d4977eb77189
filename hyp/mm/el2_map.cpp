#include "passage/mm/el2_map.h"

namespace passage::mm {
namespace {

constexpr u64 kTable = 0b11;
constexpr u64 kBlock = 0b01;
constexpr u64 kPage = 0b11;
constexpr u64 kVaLimit = u64{1} << 48;

constexpr unsigned shift(int level) { return 12 + 9 * unsigned(3 - level); }
constexpr usize index(u64 va, int level) { return (va >> shift(level)) & 511; }

// The level of the largest block that starts at va and fits in `left`:
// 1 (1 GiB), 2 (2 MiB) or 3 (a 4 KiB page).
constexpr int leaf_level(u64 va, u64 left)
{
    if (is_aligned(va, 1 * GiB) && left >= 1 * GiB) return 1;
    if (is_aligned(va, 2 * MiB) && left >= 2 * MiB) return 2;
    return 3;
}

}  // namespace

El2PageTable::El2PageTable(u64* pool, usize pages) : pool_(pool), pages_(pages)
{
    (void)alloc_table();  // the root
}

u64* El2PageTable::alloc_table()
{
    if (used_ == pages_) return nullptr;
    u64* t = pool_ + used_ * 512;
    for (usize i = 0; i < 512; ++i) t[i] = 0;
    ++used_;
    return t;
}

Result<u64*> El2PageTable::table_at(u64 va, int leaf)
{
    u64* table = pool_;
    for (int level = 0; level < leaf; ++level) {
        u64& e = table[index(va, level)];
        if (e == 0) {
            u64* next = alloc_table();
            if (next == nullptr) return Failure{Error::NoMemory, va};
            e = reinterpret_cast<u64>(next) | kTable;
        } else if (DescType::get(e) != kTable) {
            return Failure{Error::Overlap, va};  // already covered by a block
        }
        table = reinterpret_cast<u64*>(OutputAddr::get(e) << 12);
    }
    return table;
}

Status El2PageTable::map(u64 base, u64 size, El2Attr attr)
{
    if (!is_aligned(base, kPageSize) || !is_aligned(size, kPageSize)) return Failure{Error::Misaligned, base};
    if (size == 0 || base >= kVaLimit || size > kVaLimit - base) return Failure{Error::OutOfRange, base};
    const u64 attrs = encode_el2(attr);
    const u64 end = base + size;
    for (u64 va = base; va < end;) {
        // The largest block that fits: 1 GiB blocks keep a PCI window of
        // hundreds of GiB to a single table.
        const int leaf = leaf_level(va, end - va);
        auto table = table_at(va, leaf);
        if (!table) return table.failure();
        // The walk is done once per table: the entries that follow in it take
        // the same size of block up to the table's end or the last whole
        // block of the range (a page by page walk from the root was most of
        // the map's cost). A larger block can only start at the table's end:
        // the table spans exactly one block of the level above.
        const u64 block = u64{1} << shift(leaf);
        const u64 table_end = align_down(va, block * 512) + block * 512;
        const u64 run_end = va + align_down(end - va, block);
        const u64 stop = run_end < table_end ? run_end : table_end;
        const u64 bits = attrs | (leaf == 3 ? kPage : kBlock);
        u64* e = *table + index(va, leaf);
        for (; va < stop; va += block, ++e) {
            if (*e != 0) return Failure{Error::Overlap, va};
            *e = va | bits;
        }
    }
    return {};
}

Result<El2Lookup> El2PageTable::lookup(u64 va) const
{
    if (va >= kVaLimit) return Failure{Error::OutOfRange, va};
    const u64* table = pool_;
    for (int level = 0; level <= 3; ++level) {
        u64 e = table[index(va, level)];
        if ((e & 1) == 0) return Failure{Error::NotFound, va};
        bool leaf = level == 3 || DescType::get(e) == kBlock;
        if (leaf) {
            u64 mask = (u64{1} << shift(level)) - 1;
            u64 out = (OutputAddr::get(e) << 12) & ~mask;
            return El2Lookup{out | (va & mask), e & ~(OutputAddr::kMask | DescType::kMask), level};
        }
        table = reinterpret_cast<const u64*>(OutputAddr::get(e) << 12);
    }
    return Failure{Error::NotFound, va};
}

}  // namespace passage::mm
