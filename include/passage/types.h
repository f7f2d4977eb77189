// Fixed-width integers and distinct address types.
//
// A physical address, a guest intermediate physical address (IPA) and a
// virtual address are different things; mixing them is a bug, so each is its
// own type and conversions are explicit.
#pragma once

#include <cstddef>
#include <compare>
#include <cstdint>

namespace passage {

using u8 = std::uint8_t;
using u16 = std::uint16_t;
using u32 = std::uint32_t;
using u64 = std::uint64_t;
using i32 = std::int32_t;
using i64 = std::int64_t;
using usize = std::size_t;

template <typename Tag>
struct Address {
    u64 value = 0;

    constexpr Address() = default;
    constexpr explicit Address(u64 v) : value(v) {}

    constexpr Address operator+(u64 off) const { return Address(value + off); }
    constexpr Address operator-(u64 off) const { return Address(value - off); }
    constexpr u64 operator-(Address other) const { return value - other.value; }
    constexpr auto operator<=>(const Address&) const = default;
};

struct PhysTag {};
struct IpaTag {};
struct VirtTag {};

using PhysAddr = Address<PhysTag>;
using IpaAddr = Address<IpaTag>;
using VirtAddr = Address<VirtTag>;

constexpr u64 KiB = 1024;
constexpr u64 MiB = 1024 * KiB;
constexpr u64 GiB = 1024 * MiB;

constexpr u64 kPageSize = 4 * KiB;

constexpr bool is_aligned(u64 v, u64 align) { return (v & (align - 1)) == 0; }
constexpr u64 align_down(u64 v, u64 align) { return v & ~(align - 1); }
constexpr u64 align_up(u64 v, u64 align) { return (v + align - 1) & ~(align - 1); }

// [base, base + size) ranges that may end exactly at 2^64.
constexpr bool ranges_overlap(u64 a, u64 asize, u64 b, u64 bsize)
{
    if (asize == 0 || bsize == 0) return false;
    return a <= b + (bsize - 1) && b <= a + (asize - 1);
}

}  // namespace passage
