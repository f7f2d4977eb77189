// Errors are values: Result<T> holds either a T or an Error and the address
// that caused it. No exceptions, no errno.
#pragma once

#include <type_traits>
#include <utility>

#include "passage/types.h"

namespace passage {

enum class Error : u8 {
    InvalidArgument,
    Misaligned,
    OutOfRange,
    NoMemory,
    Overlap,
    NotFound,
    BadDeviceTree,
    BadImage,
    Unsupported,
    Exists,
};

constexpr const char* error_name(Error e)
{
    switch (e) {
    case Error::InvalidArgument: return "invalid argument";
    case Error::Misaligned: return "misaligned";
    case Error::OutOfRange: return "out of range";
    case Error::NoMemory: return "out of memory";
    case Error::Overlap: return "overlap";
    case Error::NotFound: return "not found";
    case Error::BadDeviceTree: return "bad device tree";
    case Error::BadImage: return "bad image";
    case Error::Unsupported: return "unsupported";
    case Error::Exists: return "already exists";
    }
    return "unknown error";
}

struct Failure {
    Error code;
    u64 addr = 0;  // the address (or other value) that failed, 0 if none
};

template <typename T>
class [[nodiscard]] Result {
public:
    constexpr Result(T value) : ok_(true), value_(std::move(value)) {}
    constexpr Result(Failure f) : ok_(false), failure_(f) {}
    constexpr Result(Error e) : ok_(false), failure_{e, 0} {}

    constexpr bool ok() const { return ok_; }
    constexpr explicit operator bool() const { return ok_; }
    constexpr const T& value() const { return value_; }
    constexpr T& value() { return value_; }
    constexpr const T& operator*() const { return value_; }
    constexpr const T* operator->() const { return &value_; }
    constexpr Error error() const { return failure_.code; }
    constexpr u64 error_addr() const { return failure_.addr; }
    constexpr Failure failure() const { return failure_; }

private:
    bool ok_;
    T value_{};
    Failure failure_{Error::InvalidArgument, 0};
};

// Result<void>: success or a Failure.
template <>
class [[nodiscard]] Result<void> {
public:
    constexpr Result() : ok_(true) {}
    constexpr Result(Failure f) : ok_(false), failure_(f) {}
    constexpr Result(Error e) : ok_(false), failure_{e, 0} {}

    constexpr bool ok() const { return ok_; }
    constexpr explicit operator bool() const { return ok_; }
    constexpr Error error() const { return failure_.code; }
    constexpr u64 error_addr() const { return failure_.addr; }
    constexpr Failure failure() const { return failure_; }

private:
    bool ok_;
    Failure failure_{Error::InvalidArgument, 0};
};

using Status = Result<void>;

}  // namespace passage
