// The stage-2 engine's environment at EL2 (target only): tables from a
// static pool, identity phys-to-virt (EL2 runs identity-mapped or with the
// MMU off), real barriers and TLB maintenance. The TLBIs act on the VMID
// in VTTBR_EL2, so load_stage2() must have installed this guest's VMID
// before a live table is changed.
#pragma once

#include "passage/stage2/env.h"
#include "sysreg.h"

namespace passage::arch {

// The IOMMUs that walk the same table (the composition root says which):
// their TLBs must forget a changed entry too.
struct IommuInvalidate {
    void* context = nullptr;
    void (*ipa)(void* context, u64 ipa, bool leaf) = nullptr;
    void (*all)(void* context) = nullptr;
};

template <usize Pages>
class El2Stage2Env {
public:
    static_assert(Pages >= 16 && Pages % 16 == 0, "the pool holds a 16-page first level");

    // The table pages: aligned to 64 KiB (a 16-page concatenated first
    // level), and not zeroed: the engine initialises every table it takes
    // (Stage2Env's contract), so the pool can live outside the image file
    // and outside BSS (a .pool section), costing neither a loader's copy
    // nor a clear, nor cache maintenance before the MMU is on.
    using Pool = u64[Pages][512];
    constexpr explicit El2Stage2Env(Pool& pool) : pool_(pool) {}

    Result<PhysAddr> alloc_pages(usize count)
    {
        if (count == 0 || count > 16 || (count & (count - 1)) != 0) return Failure{Error::InvalidArgument, count};
        for (usize n = 0; n < Pages; n += count) {
            usize at = (next_ + n) % Pages;
            at -= at % count;
            bool free = true;
            for (usize i = 0; i < count && free; ++i) free = !used(at + i);
            if (!free) continue;
            for (usize i = 0; i < count; ++i) set_used(at + i, true);
            next_ = at + count;
            return PhysAddr(reinterpret_cast<u64>(&pool_[at][0]));
        }
        return Failure{Error::NoMemory, count};
    }

    void free_pages(PhysAddr pa, usize count)
    {
        const usize at = static_cast<usize>((pa.value - reinterpret_cast<u64>(&pool_[0][0])) / kPageSize);
        for (usize i = 0; i < count; ++i) set_used(at + i, false);
    }

    u64* table(PhysAddr pa) { return reinterpret_cast<u64*>(pa.value); }

    // STLR: single-copy atomic, and ordered after the stores that filled a
    // new table, so the walker never sees a link to an incomplete table.
    void write_entry(u64* slot, u64 value)
    {
        // A table being linked must be in memory before the link is.
        if (clean_for_dma_ && (value & 3) == 3 && is_pool(value & 0x0000'ffff'ffff'f000))
            dcache_clean_poc(value & 0x0000'ffff'ffff'f000, kPageSize);
        __atomic_store_n(slot, value, __ATOMIC_RELEASE);
        if (clean_for_dma_) dcache_clean_poc(reinterpret_cast<u64>(slot), sizeof *slot);
    }

    // An SMMU that does not snoop the CPU's caches walks this table: from
    // now on every entry goes to the point of coherency as it is written,
    // and what is already there goes now.
    void clean_for_dma()
    {
        clean_for_dma_ = true;
        dcache_clean_poc(reinterpret_cast<u64>(&pool_[0][0]), sizeof pool_);
    }

    void dsb_ish() { asm volatile("dsb ish" ::: "memory"); }
    void isb() { asm volatile("isb" ::: "memory"); }
    // Xt[35:0] = IPA[47:12]; TTL (bits 47:44) left 0, "any level".
    void tlbi_ipas2e1is(IpaAddr ipa) { asm volatile("tlbi ipas2e1is, %0" ::"r"(ipa.value >> 12) : "memory"); }
    void tlbi_vmalle1is() { asm volatile("tlbi vmalle1is" ::: "memory"); }
    void tlbi_vmalls12e1is() { asm volatile("tlbi vmalls12e1is" ::: "memory"); }
    // Before the table is live: the IOMMUs sharing it (none by default).
    void set_iommu(const IommuInvalidate& iommu) { iommu_ = iommu; }
    void iommu_inval_ipa(IpaAddr ipa)
    {
        if (iommu_.ipa != nullptr) iommu_.ipa(iommu_.context, ipa.value, true);
    }
    void iommu_inval_all()
    {
        if (iommu_.all != nullptr) iommu_.all(iommu_.context);
    }

    usize pages_in_use() const
    {
        usize n = 0;
        for (usize i = 0; i < Pages; ++i) n += used(i) ? 1 : 0;
        return n;
    }

private:
    bool is_pool(u64 pa) const
    {
        return pa >= reinterpret_cast<u64>(&pool_[0][0]) && pa < reinterpret_cast<u64>(&pool_[0][0]) + sizeof pool_;
    }
    bool used(usize i) const { return (used_[i / 64] >> (i % 64)) & 1; }
    void set_used(usize i, bool v)
    {
        const u64 bit = u64{1} << (i % 64);
        used_[i / 64] = v ? (used_[i / 64] | bit) : (used_[i / 64] & ~bit);
    }

    Pool& pool_;
    u64 used_[(Pages + 63) / 64] = {};
    usize next_ = 0;
    bool clean_for_dma_ = false;
    IommuInvalidate iommu_;
};

// Installs a stage-2 translation: VTCR_EL2 and VTTBR_EL2 (with the VMID),
// then forgets everything cached for the VMID, as the Arm ARM requires
// after either register changes and before the first guest entry.
inline void load_stage2(u64 vtcr, u64 vttbr)
{
    asm volatile("msr vtcr_el2, %0" ::"r"(vtcr) : "memory");
    asm volatile("msr vttbr_el2, %0" ::"r"(vttbr) : "memory");
    asm volatile("isb" ::: "memory");
    asm volatile("tlbi vmalls12e1is" ::: "memory");
    asm volatile("dsb ish" ::: "memory");
    asm volatile("isb" ::: "memory");
}

static_assert(stage2::Stage2Env<El2Stage2Env<64>>);

}  // namespace passage::arch
