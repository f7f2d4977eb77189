// The tree index (include/passage/fdt/index.h): one TokenReader pass that
// checks the structure and records every node; the questions after it read
// the table, and only a property's value is looked for in the blob, among
// that node's properties, by the name's offset in the strings block.
#include "passage/fdt/index.h"

#include <libfdt.h>

#include "passage/fdt/cells.h"
#include "passage/fdt/tokens.h"
#include "passage/text.h"

namespace passage::fdt {

namespace {

constexpr const char* kNames[u32(Name::Count)] = {
    "compatible", "reg", "status", "phandle", "linux,phandle", "#address-cells", "#size-cells", "device_type",
    "ranges", "model", "method", "enable-method", "cpu-release-addr", "interrupts", "interrupt-parent",
    "stdout-path", "linux,stdout-path", "reg-shift", "reg-io-width", "reg-offset", "clock-frequency", "big-endian",
    "#redistributor-regions", "bus-range", "linux,pci-domain", "dma-coherent", "dma-noncoherent", "iommus",
    "#dma-cells", "iommu-map", "iommu-map-mask", "#iommu-cells", "no-map", "bootargs",
};
static_assert(u32(Name::Count) <= 64, "a node's names are one 64-bit mask");

u32 be32(const u8* p) { return read_be32(p); }

// The Names by first byte: those starting with byte b are
// names[start[b], start[b + 1]), so a name is compared with a few at most.
struct ByFirstByte {
    u8 start[257] = {};
    u8 names[u32(Name::Count)] = {};
    constexpr ByFirstByte()
    {
        for (u32 i = 0; i < u32(Name::Count); ++i) ++start[u8(kNames[i][0]) + 1];
        for (u32 b = 1; b <= 256; ++b) start[b] = u8(start[b] + start[b - 1]);
        u8 next[256] = {};
        for (u32 i = 0; i < u32(Name::Count); ++i) {
            const u8 b = u8(kNames[i][0]);
            names[start[b] + next[b]++] = u8(i);
        }
    }
};
constexpr ByFirstByte kByFirst;

// The Name a property name stands for, or Count.
Name classify(const char* s)
{
    const u8 b = u8(s[0]);
    for (u32 k = kByFirst.start[b]; k < kByFirst.start[b + 1]; ++k)
        if (string_equal(kNames[kByFirst.names[k]], s)) return Name(kByFirst.names[k]);
    return Name::Count;
}

// True if the value's first string (of `len` bytes in all) is `want`.
bool first_string_is(const u8* s, u32 len, const char* want)
{
    for (u32 i = 0; i < len; ++i) {
        if (char(s[i]) != want[i]) return false;
        if (want[i] == '\0') return true;
    }
    return false;
}

// libfdt's fdt_nodename_eq_: `name` (len bytes) names the node if equal, or
// if it has no unit address and the node's name is name@unit.
bool node_name_is(const char* node_name, int node_len, const char* name, int len)
{
    if (node_len < len) return false;
    bool at = false;
    for (int i = 0; i < len; ++i) {
        if (node_name[i] != name[i]) return false;
        at = at || name[i] == '@';
    }
    return node_name[len] == '\0' || (!at && node_name[len] == '@');
}

}  // namespace

const char* name_string(Name n) { return u32(n) < u32(Name::Count) ? kNames[u32(n)] : "?"; }

u64 first_bytes(const char* list, int len)
{
    u64 bits = 0;
    for (int at = 0; at < len;) {
        bits |= u64(1) << (u8(list[at]) & 63);
        while (at < len && list[at] != '\0') ++at;
        ++at;
    }
    return bits;
}

bool stringlist_contains(const char* list, int len, const char* s)
{
    for (;;) {
        int k = 0;
        while (k < len && s[k] != '\0' && list[k] == s[k]) ++k;
        // s ends inside the list or at its end: libfdt compares the NUL too.
        if (s[k] == '\0' && list[k] == '\0') return true;
        while (k < len && list[k] != '\0') ++k;  // to this entry's NUL
        if (k >= len) return false;
        list += k + 1;
        len -= k + 1;
    }
}

Name TreeIndex::resolve(u32 nameoff)
{
    const u32 key = nameoff + 1;
    u32 h = (nameoff * 2654435761u) >> 24;
    Slot* free = nullptr;
    for (u32 i = 0; i < kSlots; ++i) {
        Slot& s = slots_[(h + i) % kSlots];
        if (s.key == key) return Name(s.name);
        if (s.key == 0) {
            free = &s;
            break;
        }
    }
    // First sight of this offset: compare the name once. A full table (more
    // distinct names than any tree has) only costs the comparison again.
    const Name n = classify(strings_ + nameoff);
    if (free != nullptr && slots_used_ < kSlots * 3 / 4) {
        free->key = key;
        free->name = u8(n);
        ++slots_used_;
    }
    if (n != Name::Count) {
        const u32 i = u32(n);
        if (!seen_[i]) {
            seen_[i] = true;
            nameoff_[i] = nameoff;
        } else if (nameoff_[i] != nameoff) {
            dup_[i] = true;  // the strings block holds it twice: compare strings for it
        }
    }
    return n;
}

bool TreeIndex::is_name(u32 nameoff, Name n) const
{
    const u32 i = u32(n);
    return nameoff == nameoff_[i] || (dup_[i] && string_equal(strings_ + nameoff, kNames[i]));
}

Status TreeIndex::refuse(Diagnostic& diag, const char* why, u32 at)
{
    count_ = 0;
    return fail(diag, Error::BadDeviceTree, at, "device tree: %s (structure offset 0x%x)", why, at);
}

Status TreeIndex::build(const void* fdt, Diagnostic& diag)
{
    fdt_ = fdt;
    block_ = static_cast<const u8*>(fdt) + fdt_off_dt_struct(fdt);
    strings_ = static_cast<const char*>(fdt) + fdt_off_dt_strings(fdt);
    count_ = 0;
    slots_used_ = 0;
    for (u32 i = 0; i < u32(Name::Count); ++i) {
        nameoff_[i] = 0;
        dup_[i] = seen_[i] = false;
    }
    for (Slot& s : slots_) s = Slot{};

    TokenReader tokens(fdt);
    Token t;
    u64 depth = 0;
    u64 total = 0;             // nodes, counted past the capacity too
    int cur = kNone;           // the innermost open node
    int open = kNone;          // the node whose properties are being read
    bool recording = true;     // false once the tree is refused or full
    bool ended = false;
    bool unbalanced = false;   // what fdt_check_full calls FDT_ERR_BADSTRUCTURE
    bool root_closed = false;  // then only the end tag may follow
    const char* odd = nullptr; // what fdt_check_full lets through and the index does not
    u32 odd_at = 0;
    auto close_props = [&](u32 at) {
        if (open == kNone) return;
        Node& d = nodes_[open];
        d.props_end = at;
        if (d.names & (u64(1) << u32(Name::Phandle) | u64(1) << u32(Name::LinuxPhandle))) {
            int len = 0;
            const void* p = prop(open, Name::Phandle, &len);
            if (p == nullptr || len != 4) p = prop(open, Name::LinuxPhandle, &len);
            d.phandle = p != nullptr && len == 4 ? be32(static_cast<const u8*>(p)) : 0;
        }
        open = kNone;
    };
    // Reads to the end tag even past a refusal, so that a malformed token
    // further on is what the message names, as the checks before it did.
    while (tokens.next(t)) {
        if (t.kind == TokenKind::End) {
            if (depth != 0) unbalanced = true;
            if (total == 0 && odd == nullptr) {
                odd = "no root node";
                odd_at = t.offset;
            }
            ended = true;
            break;
        }
        if (unbalanced) continue;
        // fdt_check_full: nothing but the end tag after the root, and the
        // root's name empty.
        if (root_closed || (t.kind == TokenKind::BeginNode && depth == 0 && t.name_len != 0)) {
            unbalanced = true;
            continue;
        }
        switch (t.kind) {
        case TokenKind::BeginNode:
            if (depth == 0 && odd == nullptr && t.offset != 0) {
                odd = "the structure block does not open with the root node";
                odd_at = t.offset;
            }
            ++depth;
            ++total;
            recording = recording && odd == nullptr && total <= kMaxNodes;
            if (!recording) break;
            close_props(t.offset);
            {
                Node& d = nodes_[count_];
                d = Node{};
                d.offset = t.offset;
                d.props = tokens.offset();
                d.parent = cur;
                d.depth = u16(depth - 1);
                d.name_len = t.name_len;
                cur = open = int(count_++);
            }
            break;
        case TokenKind::Prop:
            if (depth == 0) {
                if (odd == nullptr) {
                    odd = "a property outside every node";
                    odd_at = t.offset;
                }
                break;
            }
            // A property after a child node: libfdt's lookups never see it.
            if (!recording || open == kNone) break;
            if (Name n = resolve(t.nameoff); n != Name::Count) {
                Node& d = nodes_[open];
                const u64 bit = u64(1) << u32(n);
                if (d.names & bit) break;  // only the first of a name counts
                d.names |= bit;
                if (n == Name::Compatible) {
                    d.compat = u32(t.value - block_);
                    d.compat_len = t.len;
                    d.compat_first = first_bytes(reinterpret_cast<const char*>(t.value), int(t.len));
                } else if (n == Name::Reg) {
                    d.reg = u32(t.value - block_);
                    d.reg_len = t.len;
                } else if (n == Name::AddressCells || n == Name::SizeCells) {
                    const u32 v = t.len == 4 ? be32(t.value) : kCellsMalformed;
                    (n == Name::AddressCells ? d.address_cells : d.size_cells) = u8(v < kCellsMalformed ? v : kCellsMalformed);
                } else if (n == Name::Status) {
                    d.enabled = first_string_is(t.value, t.len, "okay") || first_string_is(t.value, t.len, "ok");
                }
            }
            break;
        case TokenKind::EndNode:
            if (depth == 0) {
                unbalanced = true;
                break;
            }
            --depth;
            root_closed = depth == 0;
            if (!recording) break;
            close_props(t.offset);
            nodes_[cur].end = count_;
            cur = nodes_[cur].parent;
            break;
        case TokenKind::End: break;
        }
    }
    if (!ended) return refuse(diag, tokens.problem(), tokens.problem_offset());
    // fdt_check_full's own complaints, in its words and order.
    if (int n = fdt_num_mem_rsv(fdt); n < 0) {
        count_ = 0;
        return fail(diag, Error::BadDeviceTree, 0, "device tree structure invalid: %s", fdt_strerror(n));
    }
    if (unbalanced) {
        count_ = 0;
        return fail(diag, Error::BadDeviceTree, 0, "device tree structure invalid: %s", fdt_strerror(-FDT_ERR_BADSTRUCTURE));
    }
    if (odd != nullptr) return refuse(diag, odd, odd_at);
    if (total > kMaxNodes) {
        count_ = 0;
        return fail(diag, Error::Unsupported, total, "device tree has %llu nodes, more than the %u passage can index",
                    (unsigned long long)total, kMaxNodes);
    }
    return {};
}

int TreeIndex::node_at(int offset) const
{
    u32 lo = 0, hi = count_;
    while (lo < hi) {
        u32 mid = (lo + hi) / 2;
        if (int(nodes_[mid].offset) < offset) lo = mid + 1;
        else hi = mid;
    }
    return lo < count_ && int(nodes_[lo].offset) == offset ? int(lo) : kNone;
}

int TreeIndex::first_child(int node) const
{
    const u32 c = u32(node) + 1;
    return c < count_ && nodes_[c].parent == node ? int(c) : kNone;
}

int TreeIndex::next_sibling(int node) const
{
    const u32 e = nodes_[node].end;
    return e < count_ && nodes_[e].parent == nodes_[node].parent ? int(e) : kNone;
}

const char* TreeIndex::name(int node, int* len) const
{
    if (len != nullptr) *len = int(nodes_[node].name_len);
    return reinterpret_cast<const char*>(block_ + nodes_[node].offset + 4);
}

const void* TreeIndex::prop(int node, Name n, int* len) const
{
    if (!has(node, n)) {
        if (len != nullptr) *len = -FDT_ERR_NOTFOUND;
        return nullptr;
    }
    const Node& d = nodes_[node];
    if (n == Name::Reg) {  // kept: asked of nearly every node
        if (len != nullptr) *len = int(d.reg_len);
        return block_ + d.reg;
    }
    if (n == Name::Compatible) return compatible(node, len);
    return find_prop(node, len, [&](u32 nameoff) { return is_name(nameoff, n); });
}

const void* TreeIndex::prop(int node, const char* name, int name_len, int* len) const
{
    return find_prop(node, len, [&](u32 nameoff) {
        const char* s = strings_ + nameoff;
        int k = 0;
        while (k < name_len && s[k] == name[k]) ++k;
        return k == name_len && s[k] == '\0';
    });
}

template <class Match>
const void* TreeIndex::find_prop(int node, int* len, Match match) const
{
    const Node& d = nodes_[node];
    // The build read every token here: properties and NOPs, each inside the block.
    for (u32 off = d.props; off < d.props_end;) {
        const u8* p = block_ + off;
        if (be32(p) != FDT_PROP) {
            off += 4;
            continue;
        }
        const u32 plen = be32(p + 4);
        if (match(be32(p + 8))) {
            if (len != nullptr) *len = int(plen);
            return p + 12;
        }
        off += 12 + u32(align_up(plen, 4));
    }
    if (len != nullptr) *len = -FDT_ERR_NOTFOUND;
    return nullptr;
}

const char* TreeIndex::compatible(int node, int* len) const
{
    if (!has(node, Name::Compatible)) {
        if (len != nullptr) *len = -FDT_ERR_NOTFOUND;
        return nullptr;
    }
    if (len != nullptr) *len = int(nodes_[node].compat_len);
    return reinterpret_cast<const char*>(block_ + nodes_[node].compat);
}

bool TreeIndex::is_compatible(int node, const char* compat) const
{
    int len = 0;
    const char* list = compatible(node, &len);
    return list != nullptr && may_contain(nodes_[node].compat_first, compat) && stringlist_contains(list, len, compat);
}

int TreeIndex::next_compatible(int from, const char* compat) const
{
    for (u32 i = from < 0 ? 0 : u32(from) + 1; i < count_; ++i)
        if (is_compatible(int(i), compat)) return int(i);
    return kNone;
}

int TreeIndex::by_phandle(u32 phandle) const
{
    if (phandle == 0 || phandle == 0xffffffffu) return kNone;
    for (u32 i = 0; i < count_; ++i)
        if (nodes_[i].phandle == phandle) return int(i);
    return kNone;
}

int TreeIndex::subnode(int node, const char* name, int len) const
{
    for (int c = first_child(node); c != kNone; c = next_sibling(c))
        if (node_name_is(this->name(c), int(nodes_[c].name_len), name, len)) return c;
    return kNone;
}

int TreeIndex::path(const char* path, int len) const
{
    if (count_ == 0) return kNone;
    const char* end = path + len;
    const char* p = path;
    int node = 0;
    if (len == 0 || *path != '/') {
        // An alias: its value is a full path (one that names another alias
        // is not followed: libfdt 1.6.1 would recurse without end).
        const char* q = p;
        while (q < end && *q != '/') ++q;
        const int aliases = this->path("/aliases", 8);
        if (aliases == kNone) return kNone;
        int vlen = 0;
        const char* target = static_cast<const char*>(prop(aliases, p, int(q - p), &vlen));
        if (target == nullptr || target[0] != '/') return kNone;
        int tlen = 0;
        while (target[tlen] != '\0') ++tlen;  // stops at the latest at the end tag
        node = this->path(target, tlen);
        if (node == kNone) return kNone;
        p = q;
    }
    while (p < end) {
        while (*p == '/') {
            ++p;
            if (p == end) return node;
        }
        const char* q = p;
        while (q < end && *q != '/') ++q;
        node = subnode(node, p, int(q - p));
        if (node == kNone) return kNone;
        p = q;
    }
    return node;
}

int TreeIndex::path(const char* p) const
{
    int len = 0;
    while (p[len] != '\0') ++len;
    return path(p, len);
}

void TreeIndex::path_of(int node, char* buf, usize size) const
{
    if (size == 0) return;
    // fdt_get_path's rule: the whole path and its NUL, or nothing.
    u64 len = 1;
    for (int n = node; n > 0; n = nodes_[n].parent) len += nodes_[n].name_len + 1;
    if (node > 0) --len;  // "/a/b": no slash after the last name
    if (size >= 2 && len + 1 <= size) {
        buf[len] = '\0';
        u64 at = len;
        for (int n = node; n > 0; n = nodes_[n].parent) {
            at -= nodes_[n].name_len;
            const char* s = name(n);
            for (u32 i = 0; i < nodes_[n].name_len; ++i) buf[at + i] = s[i];
            buf[--at] = '/';
        }
        buf[0] = '/';
        return;
    }
    // Longer than the buffer: keep the node's own name, marked as cut.
    copy_string(buf, size, ".../");
    usize at = 0;
    while (buf[at] != '\0') ++at;
    const char* s = name(node);
    usize i = 0;
    for (; at + 1 < size && i < nodes_[node].name_len; ++i) buf[at++] = s[i];
    buf[at] = '\0';
}

}  // namespace passage::fdt
