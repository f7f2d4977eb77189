// A structure block token by token (include/passage/fdt/writer.h).
#include "passage/fdt/writer.h"

#include <libfdt.h>

namespace passage::fdt {

namespace {

void put32(u8* p, u32 v)
{
    p[0] = static_cast<u8>(v >> 24);
    p[1] = static_cast<u8>(v >> 16);
    p[2] = static_cast<u8>(v >> 8);
    p[3] = static_cast<u8>(v);
}

u32 get32(const u8* p) { return (u32(p[0]) << 24) | (u32(p[1]) << 16) | (u32(p[2]) << 8) | u32(p[3]); }

// Copies n bytes and zeroes the padding up to the next 4-byte boundary.
void put_padded(u8* p, const void* src, u32 n)
{
    if (n != 0) __builtin_memcpy(p, src, n);
    for (u32 i = n; i % 4 != 0; ++i) p[i] = 0;
}

}  // namespace

StructWriter::StructWriter(u8* base, usize capacity) : base_(base), capacity_(capacity) {}

bool StructWriter::room(u64 bytes)
{
    if (full_) return false;
    if (bytes <= capacity_ - size_) return true;
    full_ = true;
    full_what_ = context_;
    return false;
}

u32 StructWriter::put_begin_node(u32 at, const char* name, u32 name_len)
{
    put32(base_ + at, FDT_BEGIN_NODE);
    if (name_len != 0) __builtin_memcpy(base_ + at + 4, name, name_len);
    // The terminator and the padding after it.
    for (u32 i = name_len; i == name_len || i % 4 != 0; ++i) base_[at + 4 + i] = 0;
    return begin_node_bytes(name_len);
}

u32 StructWriter::put_prop(u32 at, u32 nameoff, const void* value, u32 len)
{
    put32(base_ + at, FDT_PROP);
    put32(base_ + at + 4, len);
    put32(base_ + at + 8, nameoff);
    put_padded(base_ + at + 12, value, len);
    return prop_bytes(len);
}

u32 StructWriter::put_end_node(u32 at)
{
    put32(base_ + at, FDT_END_NODE);
    return 4;
}

void StructWriter::begin_node(const char* name, u32 name_len)
{
    if (!room(begin_node_bytes(name_len))) return;
    size_ += put_begin_node(size_, name, name_len);
}

void StructWriter::prop(u32 nameoff, const void* value, u32 len)
{
    if (!room(prop_bytes(len))) return;
    size_ += put_prop(size_, nameoff, value, len);
}

void StructWriter::end_node()
{
    if (!room(4)) return;
    size_ += put_end_node(size_);
}

void StructWriter::end()
{
    if (!room(4)) return;
    put32(base_ + size_, FDT_END);
    size_ += 4;
}

void StructWriter::copy(const void* tokens, u32 bytes)
{
    if (!room(bytes)) return;
    __builtin_memcpy(base_ + size_, tokens, bytes);
    size_ += bytes;
}

bool StructWriter::open(u32 at, u32 bytes)
{
    if (!room(bytes)) return false;
    __builtin_memmove(base_ + at + bytes, base_ + at, size_ - at);
    size_ += bytes;
    return true;
}

void StructWriter::cut(u32 at, u32 bytes)
{
    if (full_) return;
    __builtin_memmove(base_ + at, base_ + at + bytes, size_ - at - bytes);
    size_ -= bytes;
}

void StructWriter::truncate(u32 at)
{
    if (!full_) size_ = at;
}

bool StructWriter::replace_prop(u32 at, const void* value, u32 len)
{
    if (full_) return false;
    const u32 nameoff = get32(base_ + at + 8);
    const u32 old_bytes = prop_bytes(get32(base_ + at + 4));
    const u32 new_bytes = prop_bytes(len);
    if (new_bytes > old_bytes) {
        if (!open(at + old_bytes, new_bytes - old_bytes)) return false;
    } else if (new_bytes < old_bytes) {
        cut(at + new_bytes, old_bytes - new_bytes);
    }
    put_prop(at, nameoff, value, len);
    return true;
}

}  // namespace passage::fdt
