// The guest's HVC/SMC calls that vectors.S answers before saving the guest's
// registers: the table it looks a function ID up in, built (at compile time)
// from psci.h's kPsciCalls, the same list handle_psci answers from. An ID
// is a constant call (answered from the table), one of handle_psci's ranges
// (saved and passed to C++), or neither: NOT_SUPPORTED, as handle_psci says
// of every ID it does not list. fast_call_answer() is the lookup vectors.S
// does, step for step; the host tests hold it against handle_psci for every
// ID of the SMCCC ranges.
#pragma once

#include "passage/vcpu/psci.h"

namespace passage::vcpu {

// IDs first .. first + count - 1: answer `answer` (sign-extended), or, if
// needs_cpp, go to handle_psci. Layout read by vectors.S (asm_defs.h).
struct FastCallEntry {
    u32 first;
    u32 count;
    i32 answer;
    u32 needs_cpp;
};

struct FastCallTable {
    static constexpr usize kMaxEntries = 24;
    // Per bits 31:24 of the ID (fast/yielding, 32/64-bit, owner): 1 + the
    // index of the first entry with that top byte, or 0 when there is none
    // (then the ID is refused at once).
    u8 start[256] = {};
    // Sorted by `first`, no range crossing a top byte, ended by an entry
    // that stops every search: {0xffffffff, 1, NOT_SUPPORTED}.
    FastCallEntry entry[kMaxEntries] = {};
};

// Needs-C++ IDs this close together share an entry (fewer entries, shorter
// searches; the IDs between them are refused by handle_psci instead).
inline constexpr u32 kFastCallMergeGap = 16;

// Not constexpr: reaching it while the table is built at compile time is a
// compile error naming the reason.
inline void fast_call_table_invalid(const char*) { __builtin_trap(); }

constexpr FastCallTable build_fast_call_table()
{
    constexpr usize n = sizeof kPsciCalls / sizeof kPsciCalls[0];
    PsciCall calls[n] = {};
    for (usize i = 0; i < n; ++i) {  // insertion sort by ID
        usize j = i;
        for (; j > 0 && calls[j - 1].fid > kPsciCalls[i].fid; --j) calls[j] = calls[j - 1];
        calls[j] = kPsciCalls[i];
    }
    FastCallTable t;
    usize count = 0;
    auto add = [&](FastCallEntry e) {
        if (count + 1 >= FastCallTable::kMaxEntries) fast_call_table_invalid("fast_calls.h: kMaxEntries too small");
        t.entry[count++] = e;
    };
    for (usize i = 0; i < n; ++i) {
        const PsciCall& c = calls[i];
        if ((c.fid & kSmcccSveHint) != 0) fast_call_table_invalid("fast_calls.h: a function ID with the SVE hint bit");
        if (i > 0 && calls[i - 1].fid == c.fid) fast_call_table_invalid("fast_calls.h: a function listed twice");
        FastCallEntry* last = count > 0 ? &t.entry[count - 1] : nullptr;
        if (!c.constant && last != nullptr && last->needs_cpp != 0 && (last->first >> 24) == (c.fid >> 24) &&
            c.fid - (last->first + last->count - 1) <= kFastCallMergeGap) {
            last->count = c.fid - last->first + 1;
            continue;
        }
        if (c.constant && (c.answer < -0x80000000ll || c.answer > 0x7fffffffll)) fast_call_table_invalid("fast_calls.h: answer too wide");
        add({c.fid, 1, c.constant ? i32(c.answer) : i32(psci_ret::kNotSupported), c.constant ? 0u : 1u});
    }
    t.entry[count] = {0xffffffffu, 1, i32(psci_ret::kNotSupported), 0};
    for (usize i = count; i-- > 0;) t.start[t.entry[i].first >> 24] = u8(i + 1);
    return t;
}

struct FastCallAnswer {
    bool needs_cpp;
    i64 x0;  // when !needs_cpp: the guest's x0 (x1-x3 are left as they are)
};

// What vectors.S decides for a call with this x0 (its upper half and the
// SVE hint are not part of the function).
constexpr FastCallAnswer fast_call_answer(const FastCallTable& t, u64 x0)
{
    const u32 fid = smccc_function(x0);
    usize i = t.start[fid >> 24];
    if (i == 0) return {false, psci_ret::kNotSupported};
    for (const FastCallEntry* e = &t.entry[i - 1];; ++e) {
        if (fid < e->first) return {false, psci_ret::kNotSupported};
        if (fid - e->first < e->count) return {e->needs_cpp != 0, e->answer};
    }
}

}  // namespace passage::vcpu
