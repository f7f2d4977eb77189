// The checks a blob passes before anything walks it: header, version and
// a structure block libfdt 1.6.1 can walk without looping.
#include "passage/discover.h"

#include <libfdt.h>

#include "passage/fdt/cells.h"
#include "passage/fdt/index.h"
#include "passage/fdt/tokens.h"

namespace passage {

using fdt::read_cells;

namespace {

// Where the blocks lie: aligned, and the structure block inside the blob.
Status check_layout(const void* fdt, Diagnostic& diag)
{
    const u64 start = fdt_off_dt_struct(fdt);
    if (start % 4 != 0 || fdt_off_mem_rsvmap(fdt) % 8 != 0)
        return fail(diag, Error::BadDeviceTree, start, "device tree structure block at 0x%llx or reservation map at 0x%x misaligned",
                    (unsigned long long)start, fdt_off_mem_rsvmap(fdt));
    const u64 end = fdt_version(fdt) >= 17 ? start + fdt_size_dt_struct(fdt) : u64(fdt_totalsize(fdt));
    if (end > fdt_totalsize(fdt) || end < start)
        return fail(diag, Error::BadDeviceTree, end, "device tree structure block ends at 0x%llx, past the blob", (unsigned long long)end);
    return {};
}

// Walks the structure block once with 64-bit arithmetic before libfdt does
// (fdt::TokenReader): every tag known, every name terminated and every
// property inside the block. libfdt 1.6.1's fdt_next_tag adds a property's
// length to an int, so a length of 0xfffffff4 brings it back to the same tag
// and fdt_check_full (and every walk after it) loops forever; dtc fixed it
// after 1.6.1.
Status check_structure_block(const void* fdt, Diagnostic& diag)
{
    if (Status s = check_layout(fdt, diag); !s) return s;
    fdt::TokenReader tokens(fdt);
    fdt::Token t;
    while (tokens.next(t))
        if (t.kind == fdt::TokenKind::End) return {};
    return fail(diag, Error::BadDeviceTree, tokens.problem_offset(), "device tree: %s (structure offset 0x%x)", tokens.problem(),
                tokens.problem_offset());
}

// The header, and that the blob is all there.
Status check_header(const void* fdt, usize max_size, Diagnostic& diag)
{
    if (fdt == nullptr) return fail(diag, Error::BadDeviceTree, 0, "no device tree (x0 was 0)");
    if (max_size >= 4 && read_cells(fdt, 1) != FDT_MAGIC)
        return fail(diag, Error::BadDeviceTree, read_cells(fdt, 1), "not a device tree: magic 0x%08x, expected 0x%08x",
                    u32(read_cells(fdt, 1)), u32(FDT_MAGIC));
    if (max_size < sizeof(struct fdt_header))
        return fail(diag, Error::BadDeviceTree, max_size, "device tree truncated: %zu bytes, smaller than its header", max_size);
    int err = fdt_check_header(fdt);
    if (err != 0) {
        u32 magic = u32(read_cells(fdt, 1));
        return fail(diag, Error::BadDeviceTree, magic, "device tree header invalid (magic 0x%08x): %s", magic, fdt_strerror(err));
    }
    // Before version 16 a node's name was its full path. libfdt 1.6.1 (the
    // one passage links) dereferences NULL in fdt_check_full when such a
    // tree's first node name has no '/'; every dtc, QEMU and firmware
    // writes version 17, so older trees are refused here.
    if (fdt_version(fdt) < 16)
        return fail(diag, Error::Unsupported, fdt_version(fdt),
                    "device tree version %u is too old: passage reads versions 16 and 17", fdt_version(fdt));
    if (fdt_totalsize(fdt) > max_size)
        return fail(diag, Error::BadDeviceTree, fdt_totalsize(fdt), "device tree truncated: header says %u bytes, only %zu present",
                    fdt_totalsize(fdt), max_size);
    return {};
}

}  // namespace

Status check_device_tree(const void* fdt, usize max_size, Diagnostic& diag)
{
    if (Status s = check_header(fdt, max_size, diag); !s) return s;
    if (Status s = check_structure_block(fdt, diag); !s) return s;
    int err = fdt_check_full(fdt, fdt_totalsize(fdt));
    if (err != 0) return fail(diag, Error::BadDeviceTree, 0, "device tree structure invalid: %s", fdt_strerror(err));
    return {};
}

// One pass instead of two: the index's build reads every token as
// check_structure_block does and checks what fdt_check_full checks, with
// the same messages.
Status check_device_tree(const void* fdt, usize max_size, fdt::TreeIndex& index, Diagnostic& diag)
{
    if (Status s = check_header(fdt, max_size, diag); !s) return s;
    if (Status s = check_layout(fdt, diag); !s) return s;
    return index.build(fdt, diag);
}

}  // namespace passage
