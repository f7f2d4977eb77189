#include "selftest.h"

#include "guest.h"

#include "passage/format.h"
#include "passage/log.h"
#include "passage/size_str.h"
#include "passage/plan/attr_check.h"
#include "sysreg.h"
#include "sysreg_fields.h"

namespace passage::arch {
namespace {

using ull = unsigned long long;
using plan::GuestRegion;
using stage2::MemType;

constexpr usize kMaxSamples = 12;
constexpr u64 kAliasShift = 40;  // alias k of address A sits at VA ((k + 1) << 40) | A

// A tiny stage-1 table builder over the scratch pages (4 KiB granule, 48-bit
// VA, 2 MiB blocks): just enough to give one address three memory types.
class ScratchStage1 {
public:
    // Only the table pages taken are written, each zeroed as it is taken
    // (zeroing all of the scratch, twice, was 0.1 M instructions).
    explicit ScratchStage1(MemRange scratch) : base_(scratch.base), pages_(scratch.size / kPageSize)
    {
        take_page();  // the L0 table
    }
    u64 root() const { return base_; }

    // Zeroes the pages taken, leaving the scratch as the tables found it.
    void wipe() const { zero_pages(base_, used_); }

    bool map_block(u64 va, u64 pa, unsigned attr_index)
    {
        u64* table = reinterpret_cast<u64*>(base_);
        for (int level = 0; level < 2; ++level) {
            u64& e = table[(va >> (39 - 9 * level)) & 511];
            if (s1desc::Type::get(e) == 0) {
                if (used_ == pages_) return false;
                e = take_page() | s1desc::Type::make(s1desc::kTable);
            }
            table = reinterpret_cast<u64*>(e & s1desc::OA::kMask);
        }
        // Block: AttrIndx, AP = EL1 RW, SH inner, AF, PXN and UXN.
        table[(va >> 21) & 511] = (pa & ~(2 * MiB - 1)) | s1desc::Type::make(s1desc::kBlock) |
                                  s1desc::AttrIndx::make(attr_index) | s1desc::AP::make(0) | s1desc::SH::make(3) |
                                  s1desc::AF::kMask | s1desc::PXN::kMask | s1desc::UXN::kMask;
        return true;
    }

private:
    // Guest RAM, Normal in the EL2 map (the MMU is on): DC ZVA.
    static void zero_pages(u64 base, u64 count) { zero_normal_memory(base, count * kPageSize); }
    u64 take_page()
    {
        u64 page = base_ + used_++ * kPageSize;
        zero_pages(page, 1);
        return page;
    }

    u64 base_;
    u64 pages_;
    u64 used_ = 0;
};

u64 at_s12e1r(u64 va)
{
    asm volatile("at s12e1r, %0" ::"r"(va) : "memory");
    isb();
    return read_par_el1();
}

}  // namespace

bool run_attr_selftest(const plan::GuestPlan& gp, stage2::Encoding enc, MemRange scratch)
{
    const GuestRegion* samples[kMaxSamples];
    usize n = plan::pick_samples(gp, samples, kMaxSamples);

    u64 saved_sctlr = read_sctlr_el1(), saved_tcr = read_tcr_el1(), saved_ttbr = read_ttbr0_el1(),
        saved_mair = read_mair_el1();

    ScratchStage1 s1(scratch);
    for (usize i = 0; i < n; ++i)
        for (unsigned k = 0; k < 3; ++k)
            if (!s1.map_block((u64{k + 1} << kAliasShift) | samples[i]->ipa, samples[i]->ipa, k)) {
                log_error("self-test: scratch stage-1 pool of %s is too small", SizeStr(scratch.size).c_str());
                return false;
            }
    dsb_ish();

    // MAIR_EL1: index 0 Device-nGnRE, 1 Normal-NC, 2 Normal WB (kStage1Types order).
    write_mair_el1(u64{plan::kAttrDeviceNGnRE} | (u64{plan::kAttrNormalNC} << 8) | (u64{plan::kAttrNormalWB} << 16));
    u64 ips = id::MMFR0_PARange::get(read_id_aa64mmfr0_el1());
    if (ips > 5) ips = 5;
    write_tcr_el1(tcr::T0SZ::make(16) | tcr::IRGN0::make(tcr::kWriteBack) | tcr::ORGN0::make(tcr::kWriteBack) |
                  tcr::SH0::make(tcr::kInnerShare) | tcr::TG0::make(tcr::kGranule4K) | tcr::EL1_EPD1::kMask |
                  tcr::EL1_IPS::make(ips));
    write_ttbr0_el1(s1.root());
    isb();
    asm volatile("tlbi vmalls12e1is" ::: "memory");
    dsb_ish();
    write_sctlr_el1(kSctlrEl1MmuOff | sctlr::M::kMask | sctlr::C::kMask | sctlr::I::kMask);
    isb();

    log_info("self-test: combined memory types by AT S12E1R (%s)",
             !enc.fwb ? "no FWB"
             : enc.ram == stage2::FwbRam::ForceWriteBack ? "FWB, guest RAM forced write-back"
                                                          : "FWB, guest RAM as the guest maps it");
    log_info("  %-18s %-8s %-14s %-18s %-18s %-18s", "address", "class", "stage 2", "S1 Device-nGnRE", "S1 Normal-NC",
             "S1 Normal-WB");
    bool ok = true;
    for (usize i = 0; i < n; ++i) {
        const GuestRegion& r = *samples[i];
        char cells[3][24];
        for (unsigned k = 0; k < 3; ++k) {
            u64 par = at_s12e1r((u64{k + 1} << kAliasShift) | r.ipa);
            u8 want = plan::expected_combined(plan::kStage1Types[k], r.attrs.type, enc);
            if (par::F::get(par) != 0) {
                format(cells[k], sizeof cells[k], "fault FST 0x%02x", unsigned(par::FST::get(par)));
                ok = false;
                continue;
            }
            u8 got = u8(par::ATTR::get(par));
            u64 pa = par & par::PA::kMask;
            bool good = got == want && pa == align_down(r.pa, kPageSize);
            format(cells[k], sizeof cells[k], "0x%02x %s", got, good ? "ok" : "MISMATCH");
            if (!good) {
                ok = false;
                log_error("self-test: %s at 0x%llx: stage 1 %s gave 0x%02x at PA 0x%llx, expected 0x%02x", r.what,
                          (ull)r.ipa, stage2::mem_type_name(plan::kStage1Types[k]), got, (ull)pa, want);
            }
        }
        log_info("  0x%-16llx %-8s %-14s %-18s %-18s %-18s", (ull)r.ipa, plan::region_class_name(r.cls),
                 stage2::mem_type_name(r.attrs.type), cells[0], cells[1], cells[2]);
    }

    write_sctlr_el1(saved_sctlr);
    write_tcr_el1(saved_tcr);
    write_ttbr0_el1(saved_ttbr);
    write_mair_el1(saved_mair);
    isb();
    asm volatile("tlbi vmalls12e1is" ::: "memory");
    dsb_ish();
    isb();
    s1.wipe();
    log_info("self-test: %s", ok ? "PASS" : "FAIL");
    return ok;
}

}  // namespace passage::arch
