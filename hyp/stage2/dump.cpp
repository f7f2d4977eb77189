#include "passage/stage2/dump.h"

#include "passage/format.h"
#include "passage/log.h"
#include "passage/size_str.h"

namespace passage::stage2 {

const char* mem_type_name(MemType t)
{
    switch (t) {
    case MemType::NormalWB: return "normal-wb";
    case MemType::NormalNC: return "normal-nc";
    case MemType::DeviceNGnRE: return "device-ngnre";
    case MemType::DeviceNGnRnE: return "device-ngnrne";
    }
    return "?";
}

const char* access_name(Access a)
{
    switch (a) {
    case Access::None: return "--";
    case Access::RO: return "r-";
    case Access::WO: return "-w";
    case Access::RW: return "rw";
    }
    return "?";
}

usize format_range(char* buf, usize size, const MapRange& r)
{
    SizeStr sz(r.size);
    return format(buf, size, "  ipa 0x%012llx-0x%012llx -> pa 0x%012llx %10s L%u %-13s %s%s",
                  static_cast<unsigned long long>(r.ipa.value),
                  static_cast<unsigned long long>(r.ipa.value + r.size - 1),
                  static_cast<unsigned long long>(r.pa.value), sz.c_str(), r.level,
                  mem_type_name(r.attrs.type), access_name(r.attrs.access), r.attrs.exec ? "x" : "-");
}

RangePrinter::RangePrinter(const char* title, const Geometry& geo, Encoding enc) : enc_(enc)
{
    log_info("stage-2 map %s: %u-bit IPA, %u-bit PA, start level %u, %u first-level table%s, %s",
             title, geo.ipa_bits, geo.pa_bits, geo.start_level, geo.concat,
             geo.concat == 1 ? "" : "s",
             !enc.fwb ? "no FWB"
             : enc.ram == FwbRam::ForceWriteBack ? "FWB (RAM forced write-back)"
                                                 : "FWB (RAM as guest's stage 1)");
}

void RangePrinter::add(u64 desc, u64 ipa, unsigned level)
{
    const u64 size = level_span(level);
    // The next leaf of the run, bit for bit: it decodes to the same
    // attributes and the next output address, so it joins the run without
    // being decoded (most leaves of a dump are such).
    if (pending_ && desc == next_desc_ && level == cur_.level && ipa == cur_.ipa.value + cur_.size) {
        cur_.size += size;
        mapped_ += size;
        next_desc_ = leaf_following(desc, size);
        return;
    }
    Result<Leaf> leaf = decode_leaf(desc, level, enc_);
    if (!leaf) {
        flush();
        log_info("  ipa 0x%012llx L%u undecodable descriptor 0x%016llx",
                 static_cast<unsigned long long>(ipa), level, static_cast<unsigned long long>(desc));
        return;
    }
    mapped_ += size;
    next_desc_ = leaf_following(desc, size);
    if (pending_ && cur_.level == level && cur_.attrs == leaf->attrs &&
        cur_.ipa.value + cur_.size == ipa && cur_.pa.value + cur_.size == leaf->oa.value) {
        cur_.size += size;
        return;
    }
    flush();
    cur_ = MapRange{IpaAddr(ipa), leaf->oa, size, level, leaf->attrs};
    pending_ = true;
}

void RangePrinter::add_run(u64 desc, u64 ipa, unsigned level, usize count)
{
    add(desc, ipa, level);
    const u64 size = level_span(level);
    if (count > 1 && pending_ && next_desc_ == leaf_following(desc, size) && cur_.level == level &&
        cur_.ipa.value + cur_.size == ipa + size) {
        // The rest continue the run add() left pending, bit for bit.
        const u64 more = (count - 1) * size;
        cur_.size += more;
        mapped_ += more;
        next_desc_ = leaf_following(desc + more, size);
        return;
    }
    // Undecodable: each leaf gets its own line, as add() gives it.
    for (usize k = 1; k < count; ++k) {
        desc = leaf_following(desc, size);
        add(desc, ipa + k * size, level);
    }
}

void RangePrinter::flush()
{
    if (!pending_) return;
    char line[160];
    format_range(line, sizeof line, cur_);
    log_info("%s", line);
    ++ranges_;
    pending_ = false;
}

void RangePrinter::finish(usize table_pages)
{
    flush();
    SizeStr total(mapped_);
    log_info("  %zu range%s, %s mapped, %zu table page%s", ranges_, ranges_ == 1 ? "" : "s",
             mapped_ == 0 ? "nothing" : total.c_str(), table_pages, table_pages == 1 ? "" : "s");
}

[[noreturn]] void stage2_invariant_failed(const char* what)
{
    log_error("%s", what);
    __builtin_trap();
}

}  // namespace passage::stage2
