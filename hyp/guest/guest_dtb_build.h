// The one-pass build of the guest's device tree, in parts (guest_dtb.cpp
// drives it; the design is described there): the property names and
// compatible strings it acts on (guest_dtb_names.cpp) and the walk that
// copies the host's structure block and edits it as it goes
// (guest_dtb_walk.cpp). Private to hyp/guest.
#pragma once

#include <libfdt.h>

#include "passage/fdt/cells.h"
#include "passage/fdt/tokens.h"
#include "passage/fdt/writer.h"
#include "passage/guest/guest_dtb.h"
#include "passage/guest/layout.h"
#include "passage/text.h"
#include "util.h"

namespace passage::guest_dtb {

using fdt::StructWriter;
using fdt::Token;
using fdt::TokenKind;

inline unsigned long long ull(u64 v) { return v; }

constexpr u32 kNone = StructWriter::kNone;
constexpr int kMaxDepth = 64;
constexpr u32 kHeaderBytes = 40;  // version 17, rounded to 8 as fdt_pack places the map
constexpr u32 kRsvEntryBytes = 16;
constexpr const char* kCopying = "copying the host device tree";

// The property names the build reads or writes. The ones it may add to the
// strings block come first, in the order the old build first added them.
enum Name : u8 {
    kOther,
    kDeviceType,
    kReg,
    kBootargs,
    kInitrdStart,
    kInitrdEnd,
    kProbeOnly,
    kCompatible,
    kAddressCells,
    kSizeCells,
    kRedistRegions,
    kIommuMap,
    kIommuMapMask,
    kIommus,
    kNameCount
};
constexpr int kAddedNames = kProbeOnly + 1;
constexpr const char* kNames[kNameCount] = {"",
                                            "device_type",
                                            "reg",
                                            "bootargs",
                                            "linux,initrd-start",
                                            "linux,initrd-end",
                                            "linux,pci-probe-only",
                                            "compatible",
                                            "#address-cells",
                                            "#size-cells",
                                            "#redistributor-regions",
                                            "iommu-map",
                                            "iommu-map-mask",
                                            "iommus"};

using fdt::kMaxValueCells;  // a value read as one number: at most two cells

inline void put_be(u8* p, int bytes, u64 v)
{
    for (int i = bytes - 1; i >= 0; --i, v >>= 8) p[i] = static_cast<u8>(v);
}

inline u32 string_length(const char* s) { return static_cast<u32>(__builtin_strlen(s)); }

// Which Name a property has, remembered by its offset in the strings block:
// a tree uses a hundred names for its thousands of properties.
class NameCache {
public:
    Name of(const Token& t)
    {
        const u32 slot = (t.nameoff * 0x9e3779b1u) >> (32 - kBits);
        if (key_[slot] != t.nameoff + 1) {
            key_[slot] = t.nameoff + 1;
            kind_[slot] = classify(t.name);
        }
        return static_cast<Name>(kind_[slot]);
    }

private:
    static constexpr u32 kBits = 7;
    // Only the names starting with the same character are compared.
    static u8 classify(const char* name)
    {
        u8 first = kOther, last = kOther;
        switch (name[0]) {
        case 'd': first = last = kDeviceType; break;
        case 'r': first = last = kReg; break;
        case 'b': first = last = kBootargs; break;
        case 'l': first = kInitrdStart, last = kProbeOnly; break;
        case 'c': first = last = kCompatible; break;
        case '#': first = kAddressCells, last = kRedistRegions; break;
        case 'i': first = kIommuMap, last = kIommus; break;
        default: return kOther;
        }
        for (u8 i = first; i <= last; ++i)
            if (string_equal(name, kNames[i])) return i;
        return kOther;
    }
    u32 key_[1u << kBits] = {};  // nameoff + 1; 0: empty
    u8 kind_[1u << kBits] = {};
};

// Where the names the build may add lie in the output's strings block: in
// the host's, wherever "name\0" first occurs (libfdt reused a suffix of
// another name too), or appended after it in order.
struct AddedNames {
    u32 off[kAddedNames] = {};
    bool appended[kAddedNames] = {};
    u32 appended_bytes = 0;
};

// Where each name the build may add goes (needed[i]: it may be added).
AddedNames place_names(const char* strings, u32 size, const bool (&needed)[kAddedNames]);

// The compatible strings the build acts on, as bits.
constexpr u32 kGic400 = 1u << 0;  // the GICv2 ones first, in the order the old build trimmed them
constexpr u32 kCortexA15Gic = 1u << 1;
constexpr u32 kCortexA7Gic = 1u << 2;
constexpr u32 kGicV3 = 1u << 3;
constexpr u32 kSmmuV3 = 1u << 4;
constexpr u32 kEcam = 1u << 5;
constexpr u32 kPassagePrefix = 1u << 6;    // any string starting "passage,"
constexpr u32 kMultibootPrefix = 1u << 7;  // any string starting "multiboot,"

inline bool bytes_are(const char* p, const char* s, u32 n) { return __builtin_memcmp(p, s, n) == 0; }

// A compatible list read once for every question. Exact matches as libfdt's
// fdt_stringlist_contains finds them, byte for byte: it compares
// strlen(str) + 1 bytes while that many remain, so an unterminated last
// string matches when the byte after the value is a NUL. Prefixes as
// fdt::compatible_with_prefix: inside the value.
u32 compat_bits(const u8* list, u32 len);

// One open node of the host tree.
struct Frame {
    const char* name = "";
    u32 name_len = 0;
    u32 out_start = 0;    // its BEGIN_NODE in the output
    u32 host_offset = 0;  // in the host's structure block: the old build's visiting order
    int ac = 2, sc = 1;    // #address-cells / #size-cells for its children, -1 if malformed
    bool emit = true;     // written: neither it nor an ancestor goes
    bool checked = true;  // the old build's step 5 saw it: no memory or module node above or at it
    bool props_done = false;
    bool is_chosen = false, is_cpus = false, is_cpu_map = false;
    bool chosen_candidate = false;  // /chosen unless it is a memory node, which goes
};

// The current node's properties, the first of each name (the one libfdt's
// fdt_getprop finds).
struct Props {
    u32 seen = 0;  // bit per Name
    const u8* value[kNameCount] = {};
    u32 len[kNameCount] = {};
    u32 out[kNameCount] = {};  // the token in the output
    bool has(Name n) const { return (seen >> n) & 1; }
};

// The failure the old build reports first: by step, then by its order
// within the step.
inline u64 rank(u64 step, u64 sub, u64 order) { return (step << 40) | (sub << 32) | order; }

class Builder {
public:
    Builder(const void* host, const GuestDtbConfig& cfg, StructWriter& w, const AddedNames& names, u32 strings_size,
            Diagnostic& diag)
        : host_(host), cfg_(cfg), w_(w), names_(names), diag_(diag),
          block_(static_cast<const u8*>(host) + fdt_off_dt_struct(host)), strings_size_(strings_size),
          bounded_names_(fdt_version(host) < 17)
    {
    }

    // A version 16 host had a property name outside its size_dt_strings.
    bool names_outside() const { return names_outside_; }

    // Immediate failures (step 3's and a malformed host tree) come back
    // here; the others wait in first_failure().
    Status walk();
    void later(u64 r, Error code, u64 addr, const char* fmt, ...) __attribute__((format(printf, 5, 6)));
    bool failed_later() const { return first_set_; }
    // The earliest of them, its message into the caller's diagnostic.
    Failure report_first_failure()
    {
        diag_ = first_diag_;
        return first_;
    }

private:
    Frame& top() { return frames_[depth_ - 1]; }
    Frame* parent() { return depth_ >= 2 ? &frames_[depth_ - 2] : nullptr; }
    Status malformed(const char* why, u32 at)
    {
        return fail(diag_, Error::BadDeviceTree, at, "guest DTB: the host device tree: %s (structure offset 0x%x)", why, at);
    }

    // The run's bytes will be written at w_.size(); pending() of them wait.
    u32 pending() const { return run_ ? run_end_ - run_start_ : 0; }
    void copy(const Token& t, u32 end)
    {
        w_.set_context(kCopying);
        if (run_ && t.offset == run_end_) {
            run_end_ = end;
            return;
        }
        flush();
        run_ = true;
        run_start_ = t.offset;
        run_end_ = end;
    }
    void flush()
    {
        if (run_) w_.copy(block_ + run_start_, run_end_ - run_start_);
        run_ = false;
    }

    Name bounded_name(const Token& t, bool& outside);
    Status end_of_props();
    void end_of_node();
    void drop(Frame& f);
    int gic_keep(const Frame& f, const Frame* parent);
    bool reg_has(const Frame* parent, int keep, int count_after_trim, const char* what, u64 r, int& count);
    Status add_memory_node(const Frame& root);
    void edit_chosen();
    void insert_chosen();
    void set_prop(Name n, const void* value, u32 len, const char* what);
    void delete_prop(Name n);
    void shift(u32 from, i64 delta);
    void path(char* buf, usize size) const;

    int cells(Name n, int fallback) const
    {
        if (!props_.has(n)) return fallback;
        if (props_.len[n] != 4) return -1;
        const u32 v = fdt::read_be32(props_.value[n]);
        return v > 4 ? -1 : static_cast<int>(v);
    }
    bool type_is(const char* want, u32 len) const
    {
        return props_.has(kDeviceType) && props_.len[kDeviceType] == len && __builtin_memcmp(props_.value[kDeviceType], want, len) == 0;
    }
    // libfdt's lookup by path component: "name" or "name@...".
    template <u32 N>
    static bool named(const Frame& f, const char (&want)[N])
    {
        constexpr u32 n = N - 1;
        return f.name_len >= n && f.name[0] == want[0] && __builtin_memcmp(f.name, want, n) == 0 &&
               (f.name_len == n || f.name[n] == '@');
    }

    const void* host_;
    const GuestDtbConfig& cfg_;
    StructWriter& w_;
    const AddedNames& names_;
    Diagnostic& diag_;
    NameCache name_cache_;
    Frame frames_[kMaxDepth];
    int depth_ = 0;
    Props props_;
    u32 compat_ = 0;  // the current node's compatible bits
    // Host tokens copied as they are wait here as one run of the host's
    // structure block and go out in one copy.
    const u8* block_;
    u32 run_start_ = 0, run_end_ = 0;
    bool run_ = false;
    const u32 strings_size_;
    const bool bounded_names_;
    bool names_outside_ = false;

    char mem_name_[32] = {};
    u32 mem_name_len_ = 0;
    u64 mem_base_ = 0;
    u32 mem_start_ = kNone;  // where the memory node begins: the first child's place
    bool chosen_found_ = false;
    bool cpus_found_ = false;
    int cpus_ac_ = -1;
    bool cpus_removed_ = false;
    bool cpu_map_found_ = false;
    u32 cpu_map_start_ = kNone, cpu_map_end_ = kNone;

    bool first_set_ = false;
    u64 first_rank_ = 0;
    Failure first_{Error::BadDeviceTree, 0};
    Diagnostic first_diag_;
};

}  // namespace passage::guest_dtb
