// The structure block token by token (include/passage/fdt/tokens.h).
#include "passage/fdt/tokens.h"

#include <libfdt.h>

namespace passage::fdt {

namespace {

// One big-endian cell, inline: three of these a property, and
// read_cells' general loop cost as much as the rest of next().
u32 cell(const u8* p) { return (u32(p[0]) << 24) | (u32(p[1]) << 16) | (u32(p[2]) << 8) | u32(p[3]); }

}  // namespace

TokenReader::TokenReader(const void* fdt, u32 offset)
{
    const u8* base = static_cast<const u8*>(fdt);
    const u64 start = fdt_off_dt_struct(fdt);
    const u64 total = fdt_totalsize(fdt);
    // Version 16 has no size_dt_struct: the block may run to the blob's end.
    u64 size = fdt_version(fdt) >= 17 ? u64(fdt_size_dt_struct(fdt)) : (total > start ? total - start : 0);
    if (start > total || size > total - start) size = 0;
    block_ = base + start;
    size_ = size;
    u64 strings = fdt_off_dt_strings(fdt);
    u64 strings_size = fdt_version(fdt) >= 17 ? u64(fdt_size_dt_strings(fdt)) : (total > strings ? total - strings : 0);
    if (strings > total || strings_size > total - strings) strings_size = 0;
    strings_ = reinterpret_cast<const char*>(base + strings);
    strings_size_ = static_cast<u32>(strings_size);
    strings_terminated_ = strings_size_ > 0 && strings_[strings_size_ - 1] == '\0';
    off_ = offset;
    if (start % 4 != 0 || offset % 4 != 0) stop("misaligned", offset);
}

bool TokenReader::stop(const char* why, u64 at)
{
    if (problem_ == nullptr) {
        problem_ = why;
        problem_at_ = static_cast<u32>(at);
    }
    done_ = true;
    return false;
}

bool TokenReader::next(Token& t)
{
    if (done_) return false;
    for (;;) {
        const u64 at = off_;
        if (size_ < 4 || at > size_ - 4) return stop("the structure block has no end tag", at);
        const u32 tag = cell(block_ + at);
        u64 off = at + 4;
        t.offset = static_cast<u32>(at);
        switch (tag) {
        case FDT_NOP: off_ = off; continue;
        case FDT_BEGIN_NODE: {
            const char* name = reinterpret_cast<const char*>(block_ + off);
            u64 n = 0;
            while (off + n < size_ && name[n] != '\0') ++n;
            if (off + n == size_) return stop("a node name is not terminated", at);
            t.kind = TokenKind::BeginNode;
            t.name = name;
            t.name_len = static_cast<u32>(n);
            off_ = align_up(off + n + 1, 4);
            return true;
        }
        case FDT_PROP: {
            if (size_ - off < 8) return stop("a property is truncated", at);
            const u64 len = cell(block_ + off);
            const u32 nameoff = cell(block_ + off + 4);
            off += 8;
            if (len > size_ - off) return stop("a property's value runs past the structure block", at);
            if (nameoff >= strings_size_) return stop("a property's name lies outside the strings block", at);
            const char* name = strings_ + nameoff;
            if (!strings_terminated_) {
                u32 n = nameoff;
                while (n < strings_size_ && strings_[n] != '\0') ++n;
                if (n == strings_size_) return stop("a property's name is not terminated", at);
            }
            t.kind = TokenKind::Prop;
            t.name = name;
            t.nameoff = nameoff;
            t.value = block_ + off;
            t.len = static_cast<u32>(len);
            off_ = align_up(off + len, 4);
            return true;
        }
        case FDT_END_NODE:
            t.kind = TokenKind::EndNode;
            off_ = off;
            return true;
        case FDT_END:
            t.kind = TokenKind::End;
            off_ = off;
            done_ = true;
            return true;
        default: return stop("an unknown tag", at);
        }
    }
}

}  // namespace passage::fdt
