// A structure block written token by token into a bounded buffer, for
// building a tree in one pass (the guest's, from the host's): nodes and
// properties at the end, and the few edits a one-pass copy needs on what it
// has just written: a property resized or removed, a node taken back,
// bytes opened up to insert a node. Nothing is written outside
// [base, base + capacity): a write that does not fit is refused and the
// writer stays full (later writes are no-ops), so a caller can go on reading
// its input for a better reason to fail and report the room last.
#pragma once

#include "passage/types.h"

namespace passage::fdt {

class StructWriter {
public:
    static constexpr u32 kNone = 0xffffffffu;

    // base: 4-byte aligned.
    StructWriter(u8* base, usize capacity);

    // The bytes of a token.
    static u32 begin_node_bytes(u32 name_len) { return 4 + static_cast<u32>(align_up(name_len + 1, 4)); }
    static u32 prop_bytes(u32 len) { return 12 + static_cast<u32>(align_up(len, 4)); }

    void begin_node(const char* name, u32 name_len);
    void prop(u32 nameoff, const void* value, u32 len);
    void end_node();
    void end();
    // Tokens copied as they are from another structure block.
    void copy(const void* tokens, u32 bytes);

    // Replaces the property token at `at` (written by prop()) with one of
    // the same name and `len` bytes of value, moving what follows it.
    bool replace_prop(u32 at, const void* value, u32 len);
    // Removes [at, at + bytes), moving what follows back.
    void cut(u32 at, u32 bytes);
    // Opens `bytes` bytes at `at`, moving what follows forward; the caller
    // fills them with put_*. False (and full) if they do not fit.
    bool open(u32 at, u32 bytes);
    // Forgets everything from `at` on (a node taken back).
    void truncate(u32 at);

    // Token writers at a given offset inside what is written (after open()).
    u32 put_begin_node(u32 at, const char* name, u32 name_len);
    u32 put_prop(u32 at, u32 nameoff, const void* value, u32 len);
    u32 put_end_node(u32 at);

    u32 size() const { return size_; }
    const u8* data() const { return base_; }
    // A write did not fit; `what` names the first one (set by the caller
    // with set_context before writing).
    bool full() const { return full_; }
    const char* full_what() const { return full_what_; }
    void set_context(const char* what) { context_ = what; }

private:
    bool room(u64 bytes);

    u8* base_;
    u64 capacity_;
    u32 size_ = 0;
    bool full_ = false;
    const char* context_ = "";
    const char* full_what_ = "";
};

}  // namespace passage::fdt
