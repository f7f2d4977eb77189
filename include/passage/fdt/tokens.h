// One reader of a flattened tree's structure block, token by token, for the
// walks that must each cost one pass: building the tree index, copying the
// guest's tree, checking a blob. It trusts nothing but the header
// (fdt_check_header): every name is found terminated and every value inside
// the block, with 64-bit arithmetic, so a malformed blob stops the walk with
// a reason and an offset instead of a read past the block.
#pragma once

#include "passage/types.h"

namespace passage::fdt {

enum class TokenKind : u8 { BeginNode, Prop, EndNode, End };

struct Token {
    TokenKind kind = TokenKind::End;
    u32 offset = 0;            // from the structure block's start: libfdt's node or property offset
    const char* name = "";     // BeginNode: the node's name; Prop: the property's name
    u32 name_len = 0;          // BeginNode: strlen(name)
    u32 nameoff = 0;           // Prop: the name's offset in the strings block
    const u8* value = nullptr; // Prop: the value's bytes
    u32 len = 0;               // Prop: the value's length
};

class TokenReader {
public:
    // The blob's header must have passed fdt_check_header. Reads from
    // `offset` in the structure block (0: the root's BEGIN_NODE).
    explicit TokenReader(const void* fdt, u32 offset = 0);

    // The next token, NOPs skipped. False when the block is malformed where
    // it reads: problem() says how, problem_offset() where (from the
    // structure block's start). The End token comes back once; after it,
    // next() is false with no problem.
    bool next(Token& t);

    const char* problem() const { return problem_; }
    u32 problem_offset() const { return problem_at_; }
    // Where next() reads, from the structure block's start.
    u32 offset() const { return static_cast<u32>(off_); }

private:
    bool stop(const char* why, u64 at);

    const u8* block_;
    u64 size_;
    const char* strings_;
    u32 strings_size_;
    bool strings_terminated_;  // the strings block ends in a NUL: every name inside it is terminated
    u64 off_;
    bool done_ = false;
    const char* problem_ = nullptr;
    u32 problem_at_ = 0;
};

}  // namespace passage::fdt
