#include "passage/mm/el2_map.h"

namespace passage::mm {
namespace {

constexpr u64 kTable = 0b11;
constexpr u64 kBlock = 0b01;
constexpr u64 kPage = 0b11;
constexpr u64 kVaLimit = u64{1} << 48;

constexpr unsigned shift(int level) { return 12 + 9 * unsigned(3 - level); }
constexpr usize index(u64 va, int level) { return (va >> shift(level)) & 511; }

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

Status El2PageTable::map_one(u64 va, u64 block, u64 attrs)
{
    u64* table = pool_;
    int leaf = block == 1 * GiB ? 1 : block == 2 * MiB ? 2 : 3;
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
    u64& e = table[index(va, leaf)];
    if (e != 0) return Failure{Error::Overlap, va};
    e = va | attrs | (leaf == 3 ? kPage : kBlock);
    return {};
}

Status El2PageTable::map(u64 base, u64 size, El2Attr attr)
{
    if (!is_aligned(base, kPageSize) || !is_aligned(size, kPageSize)) return Failure{Error::Misaligned, base};
    if (size == 0 || base >= kVaLimit || size > kVaLimit - base) return Failure{Error::OutOfRange, base};
    u64 attrs = encode_el2(attr);
    for (u64 va = base; va < base + size;) {
        // The largest block that fits: 1 GiB blocks keep a PCI window of
        // hundreds of GiB to a single table.
        u64 left = base + size - va;
        u64 block = is_aligned(va, 1 * GiB) && left >= 1 * GiB  ? 1 * GiB
                    : is_aligned(va, 2 * MiB) && left >= 2 * MiB ? 2 * MiB
                                                                  : kPageSize;
        if (auto s = map_one(va, block, attrs); !s) return s;
        va += block;
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
