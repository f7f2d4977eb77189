// Word-at-a-time cores of memchr, strlen, memset, memcpy and memmove
// (hyp/lib/string.cpp is the C interface on the target; the host tests
// check these against a byte model at every alignment and length).
//
// Every access is an aligned 8-byte word: passage runs part of its boot
// with the MMU off, where all memory is Device and an unaligned access
// faults. A scan reads whole aligned words, so it may read a few bytes
// before the start or past the end of the bytes asked about, never past
// the aligned word that holds one of them (never into another page).
#pragma once

#include "passage/types.h"

namespace passage::words {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the lowest address is the lowest byte of a word");

using Word = u64 __attribute__((may_alias));

inline constexpr u64 kOnes = 0x0101010101010101ull;
inline constexpr u64 kHighs = 0x8080808080808080ull;

// One flag (bit 7) at the first zero byte of x; bytes above a zero byte may
// be flagged too, so only the lowest flag counts.
constexpr u64 zero_flags(u64 x) { return (x - kOnes) & ~x & kHighs; }

constexpr usize lowest_flag_byte(u64 flags) { return static_cast<usize>(__builtin_ctzll(flags)) / 8; }

// Bytes of the first word before p, made nonzero so that they never match.
inline const Word* first_word(const void* p, u64& before_mask, usize& skip)
{
    const auto a = reinterpret_cast<std::uintptr_t>(p);
    skip = a & 7;
    before_mask = skip == 0 ? 0 : ~u64{0} >> (64 - 8 * skip);
    return reinterpret_cast<const Word*>(a - skip);
}

// memchr: the first of s[0..n) equal to c, or nullptr.
inline const void* find_byte(const void* s, unsigned char c, usize n)
{
    if (n == 0) return nullptr;
    u64 before;
    usize skip;
    const Word* w = first_word(s, before, skip);
    const u64 pattern = kOnes * c;
    usize left = n + skip;  // bytes from the start of w to the end
    u64 flags = zero_flags((*w ^ pattern) | before);
    for (;;) {
        if (flags != 0) {
            usize at = lowest_flag_byte(flags);
            return at < left ? reinterpret_cast<const u8*>(w) + at : nullptr;
        }
        if (left <= 8) return nullptr;
        left -= 8;
        flags = zero_flags(*++w ^ pattern);
    }
}

// strlen.
inline usize string_length(const char* s)
{
    u64 before;
    usize skip;
    const Word* w = first_word(s, before, skip);
    const Word* start = w;
    u64 flags = zero_flags(*w | before);
    while (flags == 0) flags = zero_flags(*++w);
    return static_cast<usize>(w - start) * 8 + lowest_flag_byte(flags) - skip;
}

// memset: bytes to a word boundary, then 64 bytes a round, words, bytes.
inline void fill_bytes(void* dst, unsigned char c, usize n)
{
    auto* d = static_cast<u8*>(dst);
    while (n > 0 && (reinterpret_cast<std::uintptr_t>(d) & 7) != 0) {
        *d++ = c;
        --n;
    }
    const u64 v = kOnes * c;
    auto* w = reinterpret_cast<Word*>(d);
    for (; n >= 64; n -= 64, w += 8) {
        w[0] = v;
        w[1] = v;
        w[2] = v;
        w[3] = v;
        w[4] = v;
        w[5] = v;
        w[6] = v;
        w[7] = v;
    }
    for (; n >= 8; n -= 8) *w++ = v;
    d = reinterpret_cast<u8*>(w);
    while (n-- > 0) *d++ = c;
}

// Copies go 64 bytes a round (then 16) when source and destination share
// their alignment (guest kernels are tens of MiB), byte by byte otherwise:
// passage is built with -mstrict-align, so no unaligned wide access is
// allowed. copy_forward is right for an overlap with d below s,
// copy_backward for one with d above s (memmove picks).
inline bool co_aligned(const void* a, const void* b)
{
    return ((reinterpret_cast<std::uintptr_t>(a) ^ reinterpret_cast<std::uintptr_t>(b)) & 7) == 0;
}

inline void copy_forward(u8* d, const u8* s, usize n)
{
    if (co_aligned(d, s)) {
        while (n > 0 && (reinterpret_cast<std::uintptr_t>(d) & 7) != 0) {
            *d++ = *s++;
            --n;
        }
        auto* dw = reinterpret_cast<Word*>(d);
        const auto* sw = reinterpret_cast<const Word*>(s);
        for (; n >= 64; n -= 64, dw += 8, sw += 8) {
            u64 a = sw[0], b = sw[1], c = sw[2], e = sw[3], f = sw[4], g = sw[5], h = sw[6], i = sw[7];
            dw[0] = a;
            dw[1] = b;
            dw[2] = c;
            dw[3] = e;
            dw[4] = f;
            dw[5] = g;
            dw[6] = h;
            dw[7] = i;
        }
        for (; n >= 16; n -= 16, dw += 2, sw += 2) {
            u64 a = sw[0], b = sw[1];
            dw[0] = a;
            dw[1] = b;
        }
        d = reinterpret_cast<u8*>(dw);
        s = reinterpret_cast<const u8*>(sw);
    }
    while (n-- > 0) *d++ = *s++;
}

inline void copy_backward(u8* d, const u8* s, usize n)
{
    d += n;
    s += n;
    if (co_aligned(d, s)) {
        while (n > 0 && (reinterpret_cast<std::uintptr_t>(d) & 7) != 0) {
            *--d = *--s;
            --n;
        }
        auto* dw = reinterpret_cast<Word*>(d);
        const auto* sw = reinterpret_cast<const Word*>(s);
        for (; n >= 64; n -= 64) {
            dw -= 8;
            sw -= 8;
            u64 a = sw[7], b = sw[6], c = sw[5], e = sw[4], f = sw[3], g = sw[2], h = sw[1], i = sw[0];
            dw[7] = a;
            dw[6] = b;
            dw[5] = c;
            dw[4] = e;
            dw[3] = f;
            dw[2] = g;
            dw[1] = h;
            dw[0] = i;
        }
        for (; n >= 16; n -= 16) {
            dw -= 2;
            sw -= 2;
            u64 a = sw[0], b = sw[1];
            dw[0] = a;
            dw[1] = b;
        }
        d = reinterpret_cast<u8*>(dw);
        s = reinterpret_cast<const u8*>(sw);
    }
    while (n-- > 0) *--d = *--s;
}

}  // namespace passage::words
