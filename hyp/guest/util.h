// Small helpers shared by the guest loader's sources (private).
#pragma once

#include "passage/diagnostic.h"
#include "passage/format.h"
#include "passage/platform.h"
#include "passage/result.h"

namespace passage::guest {

// Byte-wise little-endian reads: the file may sit at any alignment and the
// target builds with -mstrict-align.
inline u64 read_le(const u8* p, int bytes)
{
    u64 v = 0;
    for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | p[i];
    return v;
}
inline u16 le16(const u8* p) { return static_cast<u16>(read_le(p, 2)); }
inline u32 le32(const u8* p) { return static_cast<u32>(read_le(p, 4)); }
inline u64 le64(const u8* p) { return read_le(p, 8); }

// True if [off, off + len) lies inside a buffer of `size` bytes, without
// overflowing.
constexpr bool within(u64 off, u64 len, u64 size) { return off <= size && len <= size - off; }

// The last byte of a non-empty range, which cannot overflow where end() can.
constexpr u64 last_byte(const MemRange& r) { return r.base + (r.size - 1); }

// True if r is non-empty and its last byte does not wrap past 2^64.
constexpr bool well_formed(const MemRange& r) { return r.size != 0 && r.base <= ~u64{0} - (r.size - 1); }

// True if inner lies entirely inside outer (both well formed).
constexpr bool contains(const MemRange& outer, const MemRange& inner)
{
    return inner.base >= outer.base && last_byte(inner) <= last_byte(outer);
}

}  // namespace passage::guest
