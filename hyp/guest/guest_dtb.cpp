// The guest's device tree, written in one pass over the host's. See
// passage/guest/guest_dtb.h.
//
// The output is laid out as fdt_pack leaves a tree: header, reservation map,
// structure block, strings block. The walk copies the host's structure block
// token by token and takes each decision when a node's properties are all
// read (they come before its children): a node that goes is taken back, a
// node that stays gets its edits on the properties just written. No node is
// searched for, and what is written stays where it is but for a /chosen made
// for a tree without one and a cpu-map taken out (one move each), so the
// cost is about one copy of the tree.
//
// The tree and the failures are those of the step-by-step build this
// replaced (libfdt edits on a copy, in this order): 1 copy, 2 memory nodes
// out, 3 the guest's memory node in, 4 /chosen, 5 GIC reg trimmed, 6 CPUs
// past the guest's out, 7 reservations, 8 SMMU hidden, 9 passage's nodes
// out. A node a later step removes was still there for the earlier ones, so
// its GIC is still checked; when a tree has several faults the one reported
// is the one the earliest step meets first. Where they part, on trees no
// dtc writes: a property after a child node is copied where it is, unseen
// (the old build let it join its node when its deletions left no child in
// between); a node's path in a message is built from its ancestors (libfdt
// misnamed nodes after one with a '/' in its name); a second property of a
// name the build edits goes (the old build left it to outlive the edit).
//
// The result is not run through fdt_check_full here (on the bench tree it
// costs 158 k instructions, more than this whole build's 97 k): the host
// tree passed check_device_tree (TokenReader's walk and fdt_check_full), and
// the writer only frames what that tree held: nodes are written whole or
// taken back whole, so the nesting is the host's; every name offset is one
// the host's properties used or one of the names appended here; every
// length is the bytes written. The unit tests (every fixture, against the
// old build) and the guest_dtb fuzzer check every result with
// fdt_check_full.
#include "passage/guest/guest_dtb.h"

#include <libfdt.h>

#include "guest_dtb_build.h"

namespace passage {

namespace {

using namespace guest_dtb;

// What fdt_open_into needs to copy the host tree: its totalsize if the
// reservation map, structure and strings blocks follow the header in that
// order without overlapping, else the four packed.
u64 copy_room(const void* fdt, u64 rsv_bytes)
{
    u64 struct_size = fdt_size_dt_struct(fdt);
    if (fdt_version(fdt) < 17) {  // no size in the header: up to the end tag
        fdt::TokenReader reader(fdt);
        Token t;
        while (reader.next(t) && t.kind != TokenKind::End) {
        }
        struct_size = reader.offset();
    }
    const u64 total = fdt_totalsize(fdt), rsv = fdt_off_mem_rsvmap(fdt), st = fdt_off_dt_struct(fdt);
    const u64 str = fdt_off_dt_strings(fdt), str_size = fdt_size_dt_strings(fdt);
    const bool misordered = rsv < kHeaderBytes || st < rsv + rsv_bytes || str < st + struct_size || total < str + str_size;
    return misordered ? kHeaderBytes + rsv_bytes + struct_size + str_size : total;
}

}  // namespace

Result<usize> build_guest_dtb(const void* host_fdt, void* out, usize out_size, const GuestDtbConfig& cfg, Diagnostic& diag)
{
    if (host_fdt == nullptr || out == nullptr)
        return fail(diag, Error::InvalidArgument, 0, "guest DTB: no host device tree or no output buffer");
    if (!is_aligned(reinterpret_cast<u64>(out), 8))
        return fail(diag, Error::Misaligned, reinterpret_cast<u64>(out), "guest DTB: output buffer %p is not 8-byte aligned", out);
    if (int err = fdt_check_header(host_fdt); err != 0)
        return fail(diag, Error::BadDeviceTree, static_cast<u64>(-err), "guest DTB: the host device tree: %s", fdt_strerror(err));
    const usize host_size = fdt_totalsize(host_fdt);
    if (ranges_overlap(reinterpret_cast<u64>(host_fdt), host_size, reinterpret_cast<u64>(out), out_size))
        return fail(diag, Error::Overlap, reinterpret_cast<u64>(out), "guest DTB: the output buffer overlaps the host device tree");
    if (out_size > kDtbBlockSize) out_size = kDtbBlockSize;  // booting.rst: at most 2 MiB
    if (fdt_version(host_fdt) < 16)
        return fail(diag, Error::BadDeviceTree, static_cast<u64>(FDT_ERR_BADVERSION), "guest DTB: copying the host device tree: %s",
                    fdt_strerror(-FDT_ERR_BADVERSION));
    const u8* host = static_cast<const u8*>(host_fdt);
    const u64 rsv_off = fdt_off_mem_rsvmap(host_fdt);
    u64 host_rsv = 0;
    while (rsv_off + (host_rsv + 1) * kRsvEntryBytes <= host_size &&
           fdt::read_cells(host + rsv_off + host_rsv * kRsvEntryBytes + 8, 2) != 0)
        ++host_rsv;
    // The room the old build's copy (fdt_open_into) asked for, kept as the
    // rule: the whole blob when its blocks are in order, else the blocks
    // packed.
    if (copy_room(host_fdt, (host_rsv + 1) * kRsvEntryBytes) > out_size)
        return fail(diag, Error::NoMemory, host_size, "guest DTB: the host device tree (%zu bytes) does not fit in %zu bytes", host_size,
                    out_size);
    if (cfg.ram.empty()) return fail(diag, Error::InvalidArgument, 0, "guest DTB: no guest RAM to describe");
    if (cfg.ram.size() > kMaxLayoutRanges)
        return fail(diag, Error::Unsupported, cfg.ram.size(), "guest DTB: %zu guest RAM ranges (at most %zu)", cfg.ram.size(),
                    kMaxLayoutRanges);

    u8* o = static_cast<u8*>(out);

    // The reservation map: the host's entries, then the unmapped ranges.
    // (An entry of size 0 ends the map, so none is written for one.)
    usize extra_rsv = 0;
    for (const MemRange& r : cfg.unmapped) extra_rsv += r.size != 0;
    const u64 struct_off = kHeaderBytes + (host_rsv + extra_rsv + 1) * kRsvEntryBytes;
    if (struct_off > out_size)
        return fail(diag, Error::NoMemory, static_cast<u64>(FDT_ERR_NOSPACE), "guest DTB: %s: out of room in the output buffer",
                    "reserving an unmapped range");
    __builtin_memcpy(o + kHeaderBytes, host + rsv_off, host_rsv * kRsvEntryBytes);
    u8* rsv = o + kHeaderBytes + host_rsv * kRsvEntryBytes;
    for (const MemRange& r : cfg.unmapped) {
        if (r.size == 0) continue;
        put_be(rsv, 8, r.base);
        put_be(rsv + 8, 8, r.size);
        rsv += kRsvEntryBytes;
    }
    __builtin_memset(rsv, 0, kRsvEntryBytes);

    // The names the build may add, found in the host's strings block or
    // appended to it.
    const u64 strings_off = fdt_off_dt_strings(host_fdt);
    u64 strings_size = fdt_size_dt_strings(host_fdt);
    if (strings_off > host_size || strings_size > host_size - strings_off) strings_size = 0;
    const char* strings = reinterpret_cast<const char*>(host + strings_off);
    bool needed[kAddedNames] = {};
    needed[kDeviceType] = needed[kReg] = true;
    needed[kBootargs] = cfg.bootargs != nullptr;
    needed[kInitrdStart] = needed[kInitrdEnd] = cfg.has_initrd;
    needed[kProbeOnly] = cfg.pci_probe_only;
    const AddedNames names = place_names(strings, static_cast<u32>(strings_size), needed);

    StructWriter w(o + struct_off, out_size - struct_off);
    Builder b(host_fdt, cfg, w, names, static_cast<u32>(strings_size), diag);
    if (cfg.has_initrd && cfg.initrd_end < cfg.initrd_start)
        b.later(rank(4, 0, 0), Error::InvalidArgument, cfg.initrd_start, "guest DTB: initrd end 0x%llx is below its start 0x%llx",
                ull(cfg.initrd_end), ull(cfg.initrd_start));
    if (Status s = b.walk(); !s) return s.failure();
    if (b.failed_later()) return b.report_first_failure();
    if (w.full())
        return fail(diag, Error::NoMemory, static_cast<u64>(FDT_ERR_NOSPACE), "guest DTB: %s: out of room in the output buffer",
                    w.full_what());

    // The strings block: the host's, then the added names.
    const u64 new_strings_off = struct_off + w.size();
    const u64 new_strings_size = strings_size + names.appended_bytes;
    if (new_strings_size > out_size - new_strings_off)
        return fail(diag, Error::NoMemory, static_cast<u64>(FDT_ERR_NOSPACE), "guest DTB: %s: out of room in the output buffer",
                    "the strings block");
    u8* s = o + new_strings_off;
    __builtin_memcpy(s, strings, strings_size);
    for (int i = 1; i < kAddedNames; ++i)
        if (names.appended[i]) __builtin_memcpy(s + names.off[i], kNames[i], string_length(kNames[i]) + 1);

    const u64 total = new_strings_off + new_strings_size;
    put_be(o + 0, 4, FDT_MAGIC);
    put_be(o + 4, 4, total);
    put_be(o + 8, 4, struct_off);
    put_be(o + 12, 4, new_strings_off);
    put_be(o + 16, 4, kHeaderBytes);
    put_be(o + 20, 4, 17);
    put_be(o + 24, 4, fdt_last_comp_version(host_fdt));
    put_be(o + 28, 4, fdt_boot_cpuid_phys(host_fdt));
    put_be(o + 32, 4, new_strings_size);
    put_be(o + 36, 4, w.size());
    // The old build's last step, fdt_check_full on its result, can only fail
    // where a version 16 host's names lie outside its strings block.
    if (b.names_outside())
        if (int err = fdt_check_full(out, total); err != 0)
            return fail(diag, err == -FDT_ERR_NOSPACE ? Error::NoMemory : Error::BadDeviceTree, static_cast<u64>(-err),
                        "guest DTB: checking the result: %s", fdt_strerror(err));
    return static_cast<usize>(total);
}

}  // namespace passage

