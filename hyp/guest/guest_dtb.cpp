// The guest's device tree, written in one pass over the host's. See
// passage/guest/guest_dtb.h.
//
// The output is laid out as fdt_pack leaves a tree: header, reservation map,
// structure block, strings block. The walk copies the host's structure block
// token by token and takes each decision when a node's properties are all
// read (they come before its children): a node that goes is taken back, a
// node that stays gets its edits on the properties just written. No node is
// searched for, and what is written stays where it is but for a /chosen made
// for a tree without one and a cpu-map taken out (one move each), so the
// cost is about one copy of the tree.
//
// The tree and the failures are those of the step-by-step build this
// replaced (libfdt edits on a copy, in this order): 1 copy, 2 memory nodes
// out, 3 the guest's memory node in, 4 /chosen, 5 GIC reg trimmed, 6 CPUs
// past the guest's out, 7 reservations, 8 SMMU hidden, 9 passage's nodes
// out. A node a later step removes was still there for the earlier ones, so
// its GIC is still checked; when a tree has several faults the one reported
// is the one the earliest step meets first. Where they part, on trees no
// dtc writes: a property after a child node is copied where it is, unseen
// (the old build let it join its node when its deletions left no child in
// between); a node's path in a message is built from its ancestors (libfdt
// misnamed nodes after one with a '/' in its name); a second property of a
// name the build edits goes (the old build left it to outlive the edit).
//
// The result is not run through fdt_check_full here (on the bench tree it
// costs 158 k instructions, more than this whole build's 97 k): the host
// tree passed check_device_tree (TokenReader's walk and fdt_check_full), and
// the writer only frames what that tree held: nodes are written whole or
// taken back whole, so the nesting is the host's; every name offset is one
// the host's properties used or one of the names appended here; every
// length is the bytes written. The unit tests (every fixture, against the
// old build) and the guest_dtb fuzzer check every result with
// fdt_check_full.
#include "passage/guest/guest_dtb.h"

#include <libfdt.h>
#include <stdarg.h>

#include "passage/fdt/tokens.h"
#include "passage/fdt/writer.h"
#include "passage/guest/layout.h"
#include "passage/text.h"
#include "util.h"

namespace passage {

namespace {

using fdt::StructWriter;
using fdt::Token;
using fdt::TokenKind;

unsigned long long ull(u64 v) { return v; }

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

// A value read as one number is at most two cells (fdt::kMaxValueCells).
constexpr int kMaxValueCells = 2;

u32 be32(const u8* p) { return (u32(p[0]) << 24) | (u32(p[1]) << 16) | (u32(p[2]) << 8) | u32(p[3]); }

void put_be(u8* p, int bytes, u64 v)
{
    for (int i = bytes - 1; i >= 0; --i, v >>= 8) p[i] = static_cast<u8>(v);
}

u64 read_cells(const u8* p, int count)
{
    u64 v = 0;
    for (int i = 0; i < count * 4; ++i) v = (v << 8) | p[i];
    return v;
}

// False if v does not fit `count` (1 or 2) cells.
bool write_cells(u8* p, int count, u64 v)
{
    if (count == 1 && v > 0xffffffffu) return false;
    put_be(p, count * 4, v);
    return true;
}

u32 string_length(const char* s)
{
    u32 n = 0;
    while (s[n] != '\0') ++n;
    return n;
}

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

AddedNames place_names(const char* strings, u32 size, const bool (&needed)[kAddedNames])
{
    AddedNames a;
    u32 len[kAddedNames] = {};
    bool found[kAddedNames] = {};
    int missing = 0;
    for (int i = 1; i < kAddedNames; ++i) {
        len[i] = string_length(kNames[i]);
        missing += needed[i];
    }
    // Every occurrence ends at a NUL; the first to end is the first to begin.
    for (u32 e = 0; e < size && missing > 0; ++e) {
        if (strings[e] != '\0') continue;
        for (int i = 1; i < kAddedNames; ++i)
            if (needed[i] && !found[i] && len[i] <= e && strings[e - 1] == kNames[i][len[i] - 1] &&
                __builtin_memcmp(strings + e - len[i], kNames[i], len[i]) == 0) {
                found[i] = true;
                a.off[i] = e - len[i];
                --missing;
            }
    }
    for (int i = 1; i < kAddedNames; ++i)
        if (needed[i] && !found[i]) {
            a.appended[i] = true;
            a.off[i] = size + a.appended_bytes;
            a.appended_bytes += len[i] + 1;
        }
    return a;
}

// The compatible strings the build acts on, as bits.
constexpr u32 kGic400 = 1u << 0;  // the GICv2 ones first, in the order the old build trimmed them
constexpr u32 kCortexA15Gic = 1u << 1;
constexpr u32 kCortexA7Gic = 1u << 2;
constexpr u32 kGicV3 = 1u << 3;
constexpr u32 kSmmuV3 = 1u << 4;
constexpr u32 kEcam = 1u << 5;
constexpr u32 kPassagePrefix = 1u << 6;    // any string starting "passage,"
constexpr u32 kMultibootPrefix = 1u << 7;  // any string starting "multiboot,"

bool bytes_are(const char* p, const char* s, u32 n) { return __builtin_memcmp(p, s, n) == 0; }

// A compatible list read once for every question. Exact matches as libfdt's
// fdt_stringlist_contains finds them, byte for byte: it compares
// strlen(str) + 1 bytes while that many remain, so an unterminated last
// string matches when the byte after the value is a NUL. Prefixes as
// fdt::compatible_with_prefix: inside the value.
u32 compat_bits(const u8* list, u32 len)
{
    const char* p = reinterpret_cast<const char*>(list);
    u32 left = len;
    u32 bits = 0;
    while (left > 0) {
        u32 n = 0;
        while (n < left && p[n] != '\0') ++n;
        if (p[n] == '\0') {
            switch (n) {
            case 10: bits |= bytes_are(p, "arm,gic-v3", 10) ? kGicV3 : 0; break;
            case 11:
                bits |= bytes_are(p, "arm,gic-400", 11) ? kGic400 : 0;
                bits |= bytes_are(p, "arm,smmu-v3", 11) ? kSmmuV3 : 0;
                break;
            case 17: bits |= bytes_are(p, "arm,cortex-a7-gic", 17) ? kCortexA7Gic : 0; break;
            case 18: bits |= bytes_are(p, "arm,cortex-a15-gic", 18) ? kCortexA15Gic : 0; break;
            case 21: bits |= bytes_are(p, "pci-host-ecam-generic", 21) ? kEcam : 0; break;
            default: break;
            }
        }
        if (n >= 8 && bytes_are(p, "passage,", 8)) bits |= kPassagePrefix;
        if (n >= 10 && bytes_are(p, "multiboot,", 10)) bits |= kMultibootPrefix;
        if (n == left) break;  // no NUL: libfdt stops here
        p += n + 1;
        left -= n + 1;
    }
    return bits;
}

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
u64 rank(u64 step, u64 sub, u64 order) { return (step << 40) | (sub << 32) | order; }

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
        const u32 v = be32(props_.value[n]);
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

void Builder::later(u64 r, Error code, u64 addr, const char* fmt, ...)
{
    if (first_set_ && first_rank_ <= r) return;
    va_list args;
    va_start(args, fmt);
    vformat(first_diag_.text, sizeof first_diag_.text, fmt, args);
    va_end(args);
    first_set_ = true;
    first_rank_ = r;
    first_ = Failure{code, addr};
}

// fdt::node_path of the current node: its path, or ".../name" when that
// does not fit.
void Builder::path(char* buf, usize size) const
{
    usize total = depth_ == 1 ? 1 : 0;
    for (int i = 1; i < depth_; ++i) total += 1 + frames_[i].name_len;
    if (total + 1 > size) {
        copy_string(buf, size, ".../");
        usize at = 4;
        const Frame& f = frames_[depth_ - 1];
        for (u32 i = 0; i < f.name_len && at + 1 < size; ++i) buf[at++] = f.name[i];
        buf[at] = '\0';
        return;
    }
    usize at = 0;
    if (depth_ == 1) buf[at++] = '/';
    for (int i = 1; i < depth_; ++i) {
        buf[at++] = '/';
        __builtin_memcpy(buf + at, frames_[i].name, frames_[i].name_len);
        at += frames_[i].name_len;
    }
    buf[at] = '\0';
}

Status Builder::walk()
{
    fdt::TokenReader reader(host_);
    Token t;
    bool root_done = false;
    while (reader.next(t)) {
        switch (t.kind) {
        case TokenKind::BeginNode: {
            if (root_done) return malformed("a second root node", t.offset);
            if (depth_ > 0 && !top().props_done)
                if (Status s = end_of_props(); !s) return s;
            if (depth_ == kMaxDepth)
                return fail(diag_, Error::Unsupported, t.offset,
                            "guest DTB: the host device tree nests deeper than %d nodes (structure offset 0x%x)", kMaxDepth,
                            t.offset);
            const Frame* up = depth_ > 0 ? &top() : nullptr;
            Frame& f = frames_[depth_++];
            f = Frame{};
            f.name = t.name;
            f.name_len = t.name_len;
            f.host_offset = t.offset;
            flush();
            f.out_start = w_.size();
            f.emit = up == nullptr || up->emit;
            f.checked = up == nullptr || up->checked;
            f.chosen_candidate = depth_ == 2 && !chosen_found_ && named(f, "chosen");
            props_.seen = 0;
            if (f.emit) copy(t, reader.offset());
            break;
        }
        case TokenKind::Prop: {
            if (depth_ == 0) return malformed("a property outside the root node", t.offset);
            const Frame& f = top();
            // Properties after a child are copied as they are: libfdt never
            // finds them (nor does Linux), so nothing looks at them.
            Name n = kOther;
            if (__builtin_expect(bounded_names_, 0)) {
                bool outside = false;
                n = bounded_name(t, outside);
                names_outside_ |= outside && f.emit;
            } else if (!f.props_done) {
                n = name_cache_.of(t);
            }
            if (!f.props_done) {
                // The SMMU is hidden: every reference to it goes.
                if (n == kIommuMap || n == kIommuMapMask || n == kIommus) break;
                if (n != kOther && !props_.has(n)) {
                    props_.seen |= 1u << n;
                    props_.value[n] = t.value;
                    props_.len[n] = t.len;
                    props_.out[n] = w_.size() + pending();
                } else if (n >= kBootargs && n <= kProbeOnly && f.chosen_candidate) {
                    // A second /chosen property of a name the build sets or
                    // removes would outlive the edit of the first and come
                    // to light where that one was removed.
                    break;
                }
            }
            if (f.emit) copy(t, reader.offset());
            break;
        }
        case TokenKind::EndNode:
            if (depth_ == 0) return malformed("a node ends outside the root", t.offset);
            if (!top().props_done)
                if (Status s = end_of_props(); !s) return s;
            end_of_node();
            if (depth_ == 0) root_done = true;
            break;
        case TokenKind::End:
            if (!root_done || depth_ != 0) return malformed("the structure block ends inside a node", t.offset);
            flush();
            w_.set_context(kCopying);
            w_.end();
            return {};
        }
    }
    return malformed(reader.problem() ? reader.problem() : "no end tag", reader.problem_offset());
}

// A version 16 tree's names as the old build read them: fdt_open_into made
// its copy version 17, whose names libfdt reads inside size_dt_strings only
// (one that starts or ends past it is no name at all).
Name Builder::bounded_name(const Token& t, bool& outside)
{
    const u32 room = t.nameoff < strings_size_ ? strings_size_ - t.nameoff : 0;
    u32 len = 0;
    while (len < room && t.name[len] != '\0') ++len;
    if (len < room) return name_cache_.of(t);
    outside = true;
    return kOther;
}

// Takes the node back: what waits in the run is its own (its parent's went
// out when its properties ended), the rest was written from out_start on.
void Builder::drop(Frame& f)
{
    run_ = false;
    if (f.emit) w_.truncate(f.out_start);
    f.emit = false;
}

// Every decision about the current node, its properties all read.
Status Builder::end_of_props()
{
    Frame& f = top();
    Frame* up = parent();
    f.props_done = true;
    f.ac = cells(kAddressCells, 2);
    f.sc = cells(kSizeCells, 1);
    if (!f.checked) return {};  // below a memory or module node: gone before anything looked
    compat_ = props_.has(kCompatible) ? compat_bits(props_.value[kCompatible], props_.len[kCompatible]) : 0;

    // Steps 2 and 4: memory nodes and /chosen's module nodes go first.
    if (up != nullptr && type_is("memory", 7)) {
        f.checked = false;
        drop(f);
        return {};
    }
    if (up != nullptr && up->is_chosen && (compat_ & kMultibootPrefix)) {
        f.checked = false;
        drop(f);
        return {};
    }
    if (depth_ == 2) {
        if (!chosen_found_ && named(f, "chosen")) f.is_chosen = chosen_found_ = true;
        if (!cfg_.cpus.empty() && !cpus_found_ && named(f, "cpus")) {
            f.is_cpus = cpus_found_ = true;
            cpus_ac_ = f.ac;
            if (f.ac < 1 || f.ac > kMaxValueCells)
                later(rank(6, 0, 0), Error::BadDeviceTree, 0, "guest DTB: /cpus: #address-cells must be 1 or 2");
        }
        if (mem_name_len_ != 0 && f.name_len == mem_name_len_ && __builtin_memcmp(f.name, mem_name_, mem_name_len_) == 0)
            return fail(diag_, Error::Exists, mem_base_, "guest DTB: a node /%s already exists and is not a memory node", mem_name_);
    }

    const int keep = gic_keep(f, up);  // step 5

    // Step 6: CPUs the guest does not get, and cpu-map if one went.
    bool goes = false;
    if (up != nullptr && up->is_cpus && cpus_ac_ >= 1 && cpus_ac_ <= kMaxValueCells && type_is("cpu", 4)) {
        const u32 want = u32(cpus_ac_) * 4;
        if (!props_.has(kReg) || props_.len[kReg] != want) {
            goes = true;
        } else {
            const u64 mpidr = read_cells(props_.value[kReg], cpus_ac_);
            goes = true;
            for (u64 c : cfg_.cpus)
                if ((c & 0xff00ffffffull) == (mpidr & 0xff00ffffffull)) goes = false;
            cpus_removed_ |= goes;
        }
    }
    if (!goes && up != nullptr && up->is_cpus && !cpu_map_found_ && named(f, "cpu-map")) f.is_cpu_map = cpu_map_found_ = true;
    // Steps 8 and 9: the SMMU and passage's own nodes.
    if (up != nullptr && (compat_ & (kSmmuV3 | kPassagePrefix))) goes = true;
    if (goes) drop(f);
    if (!f.emit) return {};
    flush();

    // The edits, on the properties just written, in the old build's order.
    if (f.is_chosen) edit_chosen();
    if (cfg_.pci_probe_only && (compat_ & kEcam)) {
        static constexpr u8 kOne[4] = {0, 0, 0, 1};
        set_prop(kProbeOnly, kOne, 4, "linux,pci-probe-only on a host bridge");
    }
    if (keep >= 0) {
        const u32 entry = u32(up->ac + up->sc) * 4;
        set_prop(kReg, props_.value[kReg], u32(keep) * entry, "trimming a GIC's reg");
    }
    if (up == nullptr) return add_memory_node(f);
    return {};
}

// Checks the GIC's reg as the old build's trim did: the parent's cells,
// whole entries, at least `keep` of them (after a GICv2 trim when the node
// is both). Records the failure; false if there is one.
bool Builder::reg_has(const Frame* up, int keep, int trimmed, const char* what, u64 r, int& count)
{
    char where[96];
    if (up == nullptr || up->ac < 1 || up->ac > kMaxValueCells || up->sc < 0 || up->sc > kMaxValueCells) {
        path(where, sizeof where);
        later(r, Error::BadDeviceTree, 0, "guest DTB: %s %s: the parent's #address-cells/#size-cells are malformed", what, where);
        return false;
    }
    const int entry = (up->ac + up->sc) * 4;
    const bool has = props_.has(kReg);
    const int len = trimmed >= 0 ? trimmed * entry : has ? static_cast<int>(props_.len[kReg]) : -FDT_ERR_NOTFOUND;
    if (!has || len % entry != 0) {
        path(where, sizeof where);
        later(r, Error::BadDeviceTree, static_cast<u64>(len), "guest DTB: %s %s: reg is %d bytes, not whole entries of %d bytes", what,
              where, has ? len : 0, entry);
        return false;
    }
    count = len / entry;
    if (count < keep) {
        path(where, sizeof where);
        later(r, Error::BadDeviceTree, static_cast<u64>(count), "guest DTB: %s %s has %d reg entries, expected at least %d", what, where,
              count, keep);
        return false;
    }
    return true;
}

// Step 5: how many reg entries of a GIC the guest keeps, or -1 to leave reg
// as it is. GICv2 with the virtualization extensions: distributor, CPU
// interface, then GICH and GICV, which are passage's. GICv3: distributor,
// #redistributor-regions redistributor regions, then GICC, GICH, GICV.
int Builder::gic_keep(const Frame& f, const Frame* up)
{
    int v2 = -1;
    for (int i = 0; i < 3 && v2 < 0; ++i)
        if (compat_ & (kGic400 << i)) v2 = i;
    const bool v3 = compat_ & kGicV3;
    if (v2 < 0 && !v3) return -1;
    int count = 0;
    int keep = -1;
    if (v2 >= 0) {
        if (!reg_has(up, 2, -1, "GICv2", rank(5, u64(v2), f.host_offset), count)) return -1;
        if (count > 2) keep = count = 2;
    }
    if (!v3) return keep;
    u64 regions = 1;
    if (props_.has(kRedistRegions)) {
        regions = props_.len[kRedistRegions] == 4 ? be32(props_.value[kRedistRegions]) : 0;
        if (regions < 1 || regions > 31) {
            char where[96];
            path(where, sizeof where);
            later(rank(5, 3, f.host_offset), Error::BadDeviceTree, regions,
                  "guest DTB: GICv3 %s: #redistributor-regions must be one cell of 1 to 31", where);
            return -1;
        }
    }
    const int want = static_cast<int>(1 + regions);
    if (!reg_has(up, want, keep, "GICv3", rank(5, 3, f.host_offset), count)) return -1;
    return count > want ? want : keep;
}

// The recorded properties from `from` on moved by delta bytes.
void Builder::shift(u32 from, i64 delta)
{
    static constexpr Name kEdited[] = {kReg, kBootargs, kInitrdStart, kInitrdEnd, kProbeOnly};
    for (Name n : kEdited)
        if (props_.has(n) && props_.out[n] >= from) props_.out[n] = static_cast<u32>(props_.out[n] + delta);
}

// fdt_setprop on the current node: the first property of that name
// rewritten where it is, or a new one before the node's others.
void Builder::set_prop(Name n, const void* value, u32 len, const char* what)
{
    w_.set_context(what);
    if (props_.has(n)) {
        const u32 at = props_.out[n];
        const u32 before = w_.size();
        w_.replace_prop(at, value, len);
        shift(at + 1, i64(w_.size()) - i64(before));
        return;
    }
    // libfdt puts a new property first, right after the node's name.
    const Frame& f = top();
    const u32 at = f.out_start + StructWriter::begin_node_bytes(f.name_len);
    const u32 bytes = StructWriter::prop_bytes(len);
    if (!w_.open(at, bytes)) return;
    w_.put_prop(at, names_.off[n], value, len);
    shift(at, bytes);
    props_.seen |= 1u << n;
    props_.out[n] = at;
    props_.len[n] = len;
}

void Builder::delete_prop(Name n)
{
    if (!props_.has(n)) return;
    const u32 at = props_.out[n];
    const u32 bytes = StructWriter::prop_bytes(props_.len[n]);
    w_.cut(at, bytes);
    props_.seen &= ~(1u << n);
    shift(at + 1, -i64(bytes));
}

// Step 4 on an existing /chosen.
void Builder::edit_chosen()
{
    if (cfg_.bootargs != nullptr) set_prop(kBootargs, cfg_.bootargs, string_length(cfg_.bootargs) + 1, "bootargs");
    else delete_prop(kBootargs);
    if (cfg_.has_initrd) {
        u8 v[8];
        put_be(v, 8, cfg_.initrd_start);
        set_prop(kInitrdStart, v, 8, "linux,initrd-start");
        put_be(v, 8, cfg_.initrd_end);
        set_prop(kInitrdEnd, v, 8, "linux,initrd-end");
    } else {
        delete_prop(kInitrdStart);
        delete_prop(kInitrdEnd);
    }
    if (cfg_.pci_probe_only) {
        static constexpr u8 kOne[4] = {0, 0, 0, 1};
        set_prop(kProbeOnly, kOne, 4, "linux,pci-probe-only in /chosen");
    }
}

// A tree without /chosen gets one as the root's first child, before the
// memory node (both went in right after the root's properties).
void Builder::insert_chosen()
{
    static constexpr u8 kOne[4] = {0, 0, 0, 1};
    const u32 args = cfg_.bootargs != nullptr ? string_length(cfg_.bootargs) + 1 : 0;
    u32 bytes = StructWriter::begin_node_bytes(6) + 4;
    if (cfg_.bootargs != nullptr) bytes += StructWriter::prop_bytes(args);
    if (cfg_.has_initrd) bytes += 2 * StructWriter::prop_bytes(8);
    if (cfg_.pci_probe_only) bytes += StructWriter::prop_bytes(4);
    w_.set_context("/chosen");
    if (!w_.open(mem_start_, bytes)) return;
    u32 at = mem_start_;
    at += w_.put_begin_node(at, "chosen", 6);
    // Each property went in first: they read in the reverse of the edits.
    if (cfg_.pci_probe_only) at += w_.put_prop(at, names_.off[kProbeOnly], kOne, 4);
    if (cfg_.has_initrd) {
        u8 v[8];
        put_be(v, 8, cfg_.initrd_end);
        at += w_.put_prop(at, names_.off[kInitrdEnd], v, 8);
        put_be(v, 8, cfg_.initrd_start);
        at += w_.put_prop(at, names_.off[kInitrdStart], v, 8);
    }
    if (cfg_.bootargs != nullptr) at += w_.put_prop(at, names_.off[kBootargs], cfg_.bootargs, args);
    w_.put_end_node(at);
}

void Builder::end_of_node()
{
    flush();
    Frame& f = top();
    if (f.is_cpus && f.emit && cpus_removed_ && cpu_map_start_ != kNone) w_.cut(cpu_map_start_, cpu_map_end_ - cpu_map_start_);
    if (depth_ == 1 && !chosen_found_) insert_chosen();
    if (f.emit) {
        w_.set_context(kCopying);
        w_.end_node();
    }
    if (f.is_cpu_map && f.emit) {
        cpu_map_start_ = f.out_start;
        cpu_map_end_ = w_.size();
    }
    --depth_;
}

// Step 3: one memory node listing guest RAM, sorted by base and named after
// the lowest, in the root's cells.
Status Builder::add_memory_node(const Frame& root)
{
    if (root.ac < 1 || root.ac > kMaxValueCells || root.sc < 1 || root.sc > kMaxValueCells)
        return fail(diag_, Error::BadDeviceTree, 0, "guest DTB: the root's #address-cells or #size-cells is not 1 or 2");
    const int ac = root.ac, sc = root.sc;
    MemRange sorted[kMaxLayoutRanges];
    usize n = 0;
    for (const MemRange& r : cfg_.ram) {
        if (!guest::well_formed(r))
            return fail(diag_, Error::InvalidArgument, r.base, "guest DTB: guest RAM range 0x%llx size 0x%llx is empty or wraps",
                        ull(r.base), ull(r.size));
        usize i = n++;
        while (i > 0 && sorted[i - 1].base > r.base) {
            sorted[i] = sorted[i - 1];
            --i;
        }
        sorted[i] = r;
    }
    u8 reg[kMaxLayoutRanges * 16];
    const int entry = (ac + sc) * 4;
    for (usize i = 0; i < n; ++i) {
        u8* p = reg + i * entry;
        if (!write_cells(p, ac, sorted[i].base) || !write_cells(p + ac * 4, sc, sorted[i].size))
            return fail(diag_, Error::Unsupported, sorted[i].base,
                        "guest DTB: guest RAM 0x%llx size 0x%llx does not fit the root's #address-cells %d / #size-cells %d",
                        ull(sorted[i].base), ull(sorted[i].size), ac, sc);
    }
    mem_base_ = sorted[0].base;
    mem_name_len_ = static_cast<u32>(format(mem_name_, sizeof mem_name_, "memory@%llx", ull(sorted[0].base)));
    mem_start_ = w_.size();
    w_.set_context("adding the memory node");
    w_.begin_node(mem_name_, mem_name_len_);
    // reg was set last, so it comes first.
    w_.set_context("memory node reg");
    w_.prop(names_.off[kReg], reg, static_cast<u32>(n * entry));
    w_.set_context("memory node");
    w_.prop(names_.off[kDeviceType], "memory", 7);
    w_.end_node();
    return {};
}

// What fdt_open_into needs to copy the host tree: its totalsize if the
// reservation map, structure and strings blocks follow the header in that
// order without overlapping, else the four packed.
u64 copy_room(const void* fdt, u64 rsv_bytes)
{
    u64 struct_size = fdt_size_dt_struct(fdt);
    if (fdt_version(fdt) < 17) {  // no size in the header: up to the end tag
        fdt::TokenReader reader(fdt);
        Token t;
        while (reader.next(t) && t.kind != TokenKind::End) {
        }
        struct_size = reader.offset();
    }
    const u64 total = fdt_totalsize(fdt), rsv = fdt_off_mem_rsvmap(fdt), st = fdt_off_dt_struct(fdt);
    const u64 str = fdt_off_dt_strings(fdt), str_size = fdt_size_dt_strings(fdt);
    const bool misordered = rsv < kHeaderBytes || st < rsv + rsv_bytes || str < st + struct_size || total < str + str_size;
    return misordered ? kHeaderBytes + rsv_bytes + struct_size + str_size : total;
}

}  // namespace

Result<usize> build_guest_dtb(const void* host_fdt, void* out, usize out_size, const GuestDtbConfig& cfg, Diagnostic& diag)
{
    if (host_fdt == nullptr || out == nullptr)
        return fail(diag, Error::InvalidArgument, 0, "guest DTB: no host device tree or no output buffer");
    if (!is_aligned(reinterpret_cast<u64>(out), 8))
        return fail(diag, Error::Misaligned, reinterpret_cast<u64>(out), "guest DTB: output buffer %p is not 8-byte aligned", out);
    if (int err = fdt_check_header(host_fdt); err != 0)
        return fail(diag, Error::BadDeviceTree, static_cast<u64>(-err), "guest DTB: the host device tree: %s", fdt_strerror(err));
    const usize host_size = fdt_totalsize(host_fdt);
    if (ranges_overlap(reinterpret_cast<u64>(host_fdt), host_size, reinterpret_cast<u64>(out), out_size))
        return fail(diag, Error::Overlap, reinterpret_cast<u64>(out), "guest DTB: the output buffer overlaps the host device tree");
    if (out_size > kDtbBlockSize) out_size = kDtbBlockSize;  // booting.rst: at most 2 MiB
    if (fdt_version(host_fdt) < 16)
        return fail(diag, Error::BadDeviceTree, static_cast<u64>(FDT_ERR_BADVERSION), "guest DTB: copying the host device tree: %s",
                    fdt_strerror(-FDT_ERR_BADVERSION));
    const u8* host = static_cast<const u8*>(host_fdt);
    const u64 rsv_off = fdt_off_mem_rsvmap(host_fdt);
    u64 host_rsv = 0;
    while (rsv_off + (host_rsv + 1) * kRsvEntryBytes <= host_size &&
           read_cells(host + rsv_off + host_rsv * kRsvEntryBytes + 8, 2) != 0)
        ++host_rsv;
    // The room the old build's copy (fdt_open_into) asked for, kept as the
    // rule: the whole blob when its blocks are in order, else the blocks
    // packed.
    if (copy_room(host_fdt, (host_rsv + 1) * kRsvEntryBytes) > out_size)
        return fail(diag, Error::NoMemory, host_size, "guest DTB: the host device tree (%zu bytes) does not fit in %zu bytes", host_size,
                    out_size);
    if (cfg.ram.empty()) return fail(diag, Error::InvalidArgument, 0, "guest DTB: no guest RAM to describe");
    if (cfg.ram.size() > kMaxLayoutRanges)
        return fail(diag, Error::Unsupported, cfg.ram.size(), "guest DTB: %zu guest RAM ranges (at most %zu)", cfg.ram.size(),
                    kMaxLayoutRanges);

    u8* o = static_cast<u8*>(out);

    // The reservation map: the host's entries, then the unmapped ranges.
    // (An entry of size 0 ends the map, so none is written for one.)
    usize extra_rsv = 0;
    for (const MemRange& r : cfg.unmapped) extra_rsv += r.size != 0;
    const u64 struct_off = kHeaderBytes + (host_rsv + extra_rsv + 1) * kRsvEntryBytes;
    if (struct_off > out_size)
        return fail(diag, Error::NoMemory, static_cast<u64>(FDT_ERR_NOSPACE), "guest DTB: %s: out of room in the output buffer",
                    "reserving an unmapped range");
    __builtin_memcpy(o + kHeaderBytes, host + rsv_off, host_rsv * kRsvEntryBytes);
    u8* rsv = o + kHeaderBytes + host_rsv * kRsvEntryBytes;
    for (const MemRange& r : cfg.unmapped) {
        if (r.size == 0) continue;
        put_be(rsv, 8, r.base);
        put_be(rsv + 8, 8, r.size);
        rsv += kRsvEntryBytes;
    }
    __builtin_memset(rsv, 0, kRsvEntryBytes);

    // The names the build may add, found in the host's strings block or
    // appended to it.
    const u64 strings_off = fdt_off_dt_strings(host_fdt);
    u64 strings_size = fdt_size_dt_strings(host_fdt);
    if (strings_off > host_size || strings_size > host_size - strings_off) strings_size = 0;
    const char* strings = reinterpret_cast<const char*>(host + strings_off);
    bool needed[kAddedNames] = {};
    needed[kDeviceType] = needed[kReg] = true;
    needed[kBootargs] = cfg.bootargs != nullptr;
    needed[kInitrdStart] = needed[kInitrdEnd] = cfg.has_initrd;
    needed[kProbeOnly] = cfg.pci_probe_only;
    const AddedNames names = place_names(strings, static_cast<u32>(strings_size), needed);

    StructWriter w(o + struct_off, out_size - struct_off);
    Builder b(host_fdt, cfg, w, names, static_cast<u32>(strings_size), diag);
    if (cfg.has_initrd && cfg.initrd_end < cfg.initrd_start)
        b.later(rank(4, 0, 0), Error::InvalidArgument, cfg.initrd_start, "guest DTB: initrd end 0x%llx is below its start 0x%llx",
                ull(cfg.initrd_end), ull(cfg.initrd_start));
    if (Status s = b.walk(); !s) return s.failure();
    if (b.failed_later()) return b.report_first_failure();
    if (w.full())
        return fail(diag, Error::NoMemory, static_cast<u64>(FDT_ERR_NOSPACE), "guest DTB: %s: out of room in the output buffer",
                    w.full_what());

    // The strings block: the host's, then the added names.
    const u64 new_strings_off = struct_off + w.size();
    const u64 new_strings_size = strings_size + names.appended_bytes;
    if (new_strings_size > out_size - new_strings_off)
        return fail(diag, Error::NoMemory, static_cast<u64>(FDT_ERR_NOSPACE), "guest DTB: %s: out of room in the output buffer",
                    "the strings block");
    u8* s = o + new_strings_off;
    __builtin_memcpy(s, strings, strings_size);
    for (int i = 1; i < kAddedNames; ++i)
        if (names.appended[i]) __builtin_memcpy(s + names.off[i], kNames[i], string_length(kNames[i]) + 1);

    const u64 total = new_strings_off + new_strings_size;
    put_be(o + 0, 4, FDT_MAGIC);
    put_be(o + 4, 4, total);
    put_be(o + 8, 4, struct_off);
    put_be(o + 12, 4, new_strings_off);
    put_be(o + 16, 4, kHeaderBytes);
    put_be(o + 20, 4, 17);
    put_be(o + 24, 4, fdt_last_comp_version(host_fdt));
    put_be(o + 28, 4, fdt_boot_cpuid_phys(host_fdt));
    put_be(o + 32, 4, new_strings_size);
    put_be(o + 36, 4, w.size());
    // The old build's last step, fdt_check_full on its result, can only fail
    // where a version 16 host's names lie outside its strings block.
    if (b.names_outside())
        if (int err = fdt_check_full(out, total); err != 0)
            return fail(diag, err == -FDT_ERR_NOSPACE ? Error::NoMemory : Error::BadDeviceTree, static_cast<u64>(-err),
                        "guest DTB: checking the result: %s", fdt_strerror(err));
    return static_cast<usize>(total);
}

}  // namespace passage
