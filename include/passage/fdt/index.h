// A flattened tree indexed in one pass of its structure block, so that
// discovery's questions (a node's parent, the node with a phandle, the
// nodes with a compatible, the node at a path, a property of a node, a
// node's path for a message) cost a look at a table instead of a walk of
// the tree from its start, which is what libfdt does for each of them.
//
// The build is also the blob's structural check: everything fdt_check_full
// refuses (tags, names and values outside their blocks, unbalanced nesting,
// an end tag inside a node, a reservation map without its terminator) is
// refused (so is a root with a name, and anything but the end tag after
// the root), and so are a structure block that does not open with the root
// node and a property outside every node. The blob must not change while
// its index is in use.
#pragma once

#include "passage/diagnostic.h"
#include "passage/result.h"
#include "passage/types.h"

namespace passage::fdt {

// The property names discovery asks for, each resolved once per tree to
// where the strings block holds it, so that a lookup compares integers.
enum class Name : u8 {
    Compatible, Reg, Status, Phandle, LinuxPhandle, AddressCells, SizeCells, DeviceType, Ranges, Model,
    Method, EnableMethod, CpuReleaseAddr, Interrupts, InterruptParent, StdoutPath, LinuxStdoutPath,
    RegShift, RegIoWidth, RegOffset, ClockFrequency, BigEndian, RedistributorRegions, BusRange, LinuxPciDomain,
    DmaCoherent, DmaNoncoherent, Iommus, DmaCells, IommuMap, IommuMapMask, IommuCells, NoMap, Bootargs,
    Count
};

// The property name a Name stands for ("#address-cells" for AddressCells).
const char* name_string(Name n);

// fdt_stringlist_contains's answer, without its strlen: whether the string
// list (len bytes) holds s. Like it, it compares s's NUL with the byte
// after an unterminated list, which lies inside the structure block (the
// end tag follows every value).
bool stringlist_contains(const char* list, int len, const char* s);

// A string list's entries' first bytes, one bit each (byte & 63): a string
// whose first byte has no bit set is in none of its entries.
u64 first_bytes(const char* list, int len);
inline bool may_contain(u64 first, const char* s) { return s[0] == '\0' || ((first >> (u8(s[0]) & 63)) & 1) != 0; }

class TreeIndex {
public:
    // Real boards' trees have up to about 2,000 nodes.
    static constexpr u32 kMaxNodes = 4096;
    static constexpr int kNone = -1;

    // Indexes the blob, whose header has passed fdt_check_header (the
    // version at least 16), in one pass. Fails with a message naming what is
    // malformed and where, or the node count when it is past kMaxNodes;
    // then the index is empty.
    Status build(const void* fdt, Diagnostic& diag);

    const void* blob() const { return fdt_; }
    // Nodes in tree order: node 0 is the root, a node's subtree follows it.
    int count() const { return int(count_); }

    // libfdt's offset of the node (its BEGIN_NODE in the structure block).
    int offset(int node) const { return int(nodes_[node].offset); }
    // The node with that libfdt offset, or kNone.
    int node_at(int offset) const;
    int parent(int node) const { return nodes_[node].parent; }
    int depth(int node) const { return nodes_[node].depth; }
    int first_child(int node) const;
    int next_sibling(int node) const;
    // The node's name ("" for the root) and its length.
    const char* name(int node, int* len = nullptr) const;

    // What fdt_getprop answers: the value of the node's first property of
    // that name and its length, or null and -FDT_ERR_NOTFOUND.
    const void* prop(int node, Name n, int* len = nullptr) const;
    bool has(int node, Name n) const { return (nodes_[node].names >> unsigned(n)) & 1; }
    // The same for any name, compared as a string: for the rare questions
    // (an alias) that Name does not list.
    const void* prop(int node, const char* name, int name_len, int* len = nullptr) const;

    // fdt_get_phandle: phandle, else linux,phandle, when one cell; else 0.
    u32 phandle(int node) const { return nodes_[node].phandle; }
    // The node's #address-cells (or #size-cells) read as one cell: -1 when
    // absent, -2 when not 4 bytes or past 253 (no tree's), else the value.
    int cells(int node, Name n) const
    {
        const u8 v = n == Name::AddressCells ? nodes_[node].address_cells : nodes_[node].size_cells;
        return v == kCellsAbsent ? -1 : v == kCellsMalformed ? -2 : int(v);
    }
    // Status absent, "okay" or "ok" (fdt::node_enabled).
    bool enabled(int node) const { return nodes_[node].enabled; }
    // The node's compatible list, as fdt_getprop gives it, and its
    // entries' first bytes (first_bytes).
    const char* compatible(int node, int* len) const;
    u64 compatible_first_bytes(int node) const { return nodes_[node].compat_first; }
    // fdt_node_check_compatible(...) == 0.
    bool is_compatible(int node, const char* compat) const;

    // fdt_node_offset_by_compatible: the first node after `from` (kNone:
    // from the start) compatible with `compat`, or kNone.
    int next_compatible(int from, const char* compat) const;
    // fdt_node_offset_by_phandle: the first node with that phandle, or kNone
    // (0 and 0xffffffff name no node).
    int by_phandle(u32 phandle) const;
    // fdt_subnode_offset_namelen: the first child called `name`, or, when
    // `name` has no unit address, the first whose name is `name@...`.
    int subnode(int node, const char* name, int len) const;
    // fdt_path_offset_namelen: a path from the root, or one starting with
    // an alias from /aliases; kNone if it names no node.
    int path(const char* path, int len) const;
    int path(const char* p) const;

    // The node's full path, for messages (fdt::node_path's rules: ".../name"
    // when it does not fit the buffer).
    void path_of(int node, char* buf, usize size) const;

private:
    // The first of the node's properties whose name offset match() accepts.
    template <class Match>
    const void* find_prop(int node, int* len, Match match) const;

    struct Node {
        u32 offset = 0;       // BEGIN_NODE, from the structure block's start
        u32 props = 0;        // the first token after the name
        u32 props_end = 0;    // the first token that is no property or NOP
        int parent = kNone;
        u32 end = 0;          // the index after its subtree
        u32 phandle = 0;
        u32 compat = 0;       // compatible's value, from the structure block's start
        u32 compat_len = 0;
        u64 compat_first = 0; // first_bytes of compatible
        u32 reg = 0;          // reg's value, likewise
        u32 reg_len = 0;
        u64 names = 0;        // bit n: the node has a property called Name n
        u16 depth = 0;
        u32 name_len = 0;
        bool enabled = true;
        u8 address_cells = kCellsAbsent;
        u8 size_cells = kCellsAbsent;
    };
    static constexpr u8 kCellsAbsent = 0xff;
    static constexpr u8 kCellsMalformed = 0xfe;
    struct Slot {
        u32 key = 0;  // nameoff + 1; 0: empty
        u8 name = u8(Name::Count);
    };
    static constexpr u32 kSlots = 256;

    Name resolve(u32 nameoff);
    bool is_name(u32 nameoff, Name n) const;
    Status refuse(Diagnostic& diag, const char* why, u32 at);

    const void* fdt_ = nullptr;
    const u8* block_ = nullptr;
    const char* strings_ = nullptr;
    u32 count_ = 0;
    u32 nameoff_[u32(Name::Count)] = {};  // where the strings block holds each Name first
    bool dup_[u32(Name::Count)] = {};     // a Name held at a second place too
    bool seen_[u32(Name::Count)] = {};
    u32 slots_used_ = 0;
    Slot slots_[kSlots] = {};
    Node nodes_[kMaxNodes] = {};
};

// An index of `fdt` in one scratch TreeIndex shared by every caller, for
// the functions that take a blob without an index (tests, fuzzers,
// passage-inspect): null, with the message, if it cannot be built. The next
// call reuses it; never in the image, whose index boot/main.cpp owns.
const TreeIndex* scratch_index(const void* fdt, Diagnostic& diag);

}  // namespace passage::fdt
