#include "passage/fdt/cells.h"

#include <libfdt.h>

#include "passage/fdt/index.h"

namespace passage::fdt {

u64 read_cells(const void* cells, int count)
{
    const auto* b = static_cast<const u8*>(cells);
    u64 v = 0;
    for (int i = 0; i < count * 4; ++i) v = (v << 8) | b[i];
    return v;
}

bool write_cells(void* cells, int count, u64 v)
{
    if (count < 1 || count > kMaxValueCells || (count == 1 && v > 0xffffffffu)) return false;
    auto* b = static_cast<u8*>(cells);
    for (int i = count * 4 - 1; i >= 0; --i) {
        b[i] = static_cast<u8>(v);
        v >>= 8;
    }
    return true;
}

namespace {

// The two ways of asking a tree: libfdt on the blob (the guest loader, the
// tests) and the tree index (discovery). Every rule below is written once,
// over either.
struct BlobTree {
    const void* fdt;
    // One cell: -1 absent, -2 not 4 bytes, else the value (at most INT_MAX).
    int cell(int node, Name, const char* name) const
    {
        int len = 0;
        const void* p = fdt_getprop(fdt, node, name, &len);
        if (p == nullptr) return -1;
        if (len != 4) return -2;
        const u32 v = read_be32(p);
        return v > 0x7fffffff ? 0x7fffffff : int(v);
    }
    const void* prop(int node, Name, const char* name, int* len) const { return fdt_getprop(fdt, node, name, len); }
    int parent(int node) const { return fdt_parent_offset(fdt, node); }
    u64 where(int node) const { return static_cast<u64>(node); }
};

struct IndexTree {
    const TreeIndex& t;
    int cell(int node, Name n, const char*) const { return node >= 0 ? t.cells(node, n) : -1; }
    const void* prop(int node, Name n, const char*, int* len) const
    {
        if (node >= 0) return t.prop(node, n, len);
        if (len != nullptr) *len = -FDT_ERR_BADOFFSET;  // as libfdt answers for no node
        return nullptr;
    }
    int parent(int node) const { return t.parent(node); }
    u64 where(int node) const { return static_cast<u64>(t.offset(node)); }
};

template <class Tree>
Result<int> cells_property(const Tree& tree, int node, Name n, const char* name, int fallback)
{
    const int v = tree.cell(node, n, name);
    if (v == -1) return fallback;
    if (v < 0 || v > kMaxCells) return Failure{Error::BadDeviceTree, tree.where(node)};
    return v;
}

template <class Tree>
Result<int> address_cells_of(const Tree& tree, int node)
{
    return cells_property(tree, node, Name::AddressCells, "#address-cells", 2);
}

template <class Tree>
Result<int> size_cells_of(const Tree& tree, int node)
{
    return cells_property(tree, node, Name::SizeCells, "#size-cells", 1);
}

// One step up: addr is in the address space of `bus`'s children; returns it in
// the address space of bus's parent's children.
template <class Tree>
Result<u64> translate_one(const Tree& tree, int bus, u64 addr)
{
    int len = 0;
    const void* ranges = tree.prop(bus, Name::Ranges, "ranges", &len);
    if (ranges == nullptr) return Failure{Error::NotFound, addr};  // not mapped to the parent
    if (len == 0) return addr;                                       // identity
    int parent = tree.parent(bus);
    if (parent < 0) return Failure{Error::BadDeviceTree, addr};
    auto child_ac = address_cells_of(tree, bus);
    auto child_sc = size_cells_of(tree, bus);
    auto parent_ac = address_cells_of(tree, parent);
    if (!child_ac || !child_sc || !parent_ac) return Failure{Error::BadDeviceTree, addr};
    int ca = *child_ac, cs = *child_sc, pa = *parent_ac;
    if (ca > kMaxValueCells || cs > kMaxValueCells || pa > kMaxValueCells) return Failure{Error::Unsupported, addr};
    int entry = (ca + pa + cs) * 4;
    if (entry == 0 || len % entry != 0) return Failure{Error::BadDeviceTree, addr};
    const auto* p = static_cast<const u8*>(ranges);
    for (int off = 0; off < len; off += entry) {
        u64 child = read_cells(p + off, ca);
        u64 parent_addr = read_cells(p + off + ca * 4, pa);
        u64 size = read_cells(p + off + (ca + pa) * 4, cs);
        if (addr >= child && addr - child < size) return parent_addr + (addr - child);
    }
    return Failure{Error::NotFound, addr};
}

template <class Tree>
Result<u64> translate_up(const Tree& tree, int bus_node, u64 addr)
{
    // Bounded: a tree deeper than this is refused rather than walked forever.
    for (int depth = 0; depth < 32; ++depth) {
        if (bus_node == 0) return addr;  // the root's children are CPU addresses
        auto up = translate_one(tree, bus_node, addr);
        if (!up) return up.failure();
        addr = *up;
        bus_node = tree.parent(bus_node);
        if (bus_node < 0) return Failure{Error::BadDeviceTree, addr};
    }
    return Failure{Error::BadDeviceTree, addr};
}

// A node's reg as its parent's cells cut it: what reg_count and reg_entry
// both need, read once (each lookup is a walk of a node's properties).
struct RegView {
    int ac = 0, sc = 0, count = 0;
    const u8* p = nullptr;
};

template <class Tree>
Result<RegView> reg_view(const Tree& tree, int parent, int node)
{
    if (parent < 0) return Failure{Error::BadDeviceTree, 0};
    auto ac = address_cells_of(tree, parent);
    auto sc = size_cells_of(tree, parent);
    if (!ac || !sc) return Failure{Error::BadDeviceTree, 0};
    if (*ac == 0 || *ac > kMaxValueCells || *sc > kMaxValueCells) return Failure{Error::Unsupported, 0};
    RegView v{*ac, *sc, 0, nullptr};
    int len = 0;
    v.p = static_cast<const u8*>(tree.prop(node, Name::Reg, "reg", &len));
    if (v.p == nullptr) return v;
    int entry = (v.ac + v.sc) * 4;
    if (len % entry != 0) return Failure{Error::BadDeviceTree, static_cast<u64>(len)};
    v.count = len / entry;
    return v;
}

template <class Tree>
Result<MemRange> reg_at(const Tree& tree, int parent, int node, int index)
{
    auto v = reg_view(tree, parent, node);
    if (!v) return v.failure();
    if (index < 0 || index >= v->count) return Failure{Error::NotFound, static_cast<u64>(index)};
    const u8* p = v->p + index * (v->ac + v->sc) * 4;
    MemRange r{read_cells(p, v->ac), read_cells(p + v->ac * 4, v->sc)};
    auto cpu = translate_up(tree, parent, r.base);
    if (!cpu) return cpu.failure();
    r.base = *cpu;
    return r;
}

template <class Tree>
Result<int> reg_entries(const Tree& tree, int parent, int node)
{
    auto v = reg_view(tree, parent, node);
    if (!v) return v.failure();
    return v->count;
}

}  // namespace

Result<int> address_cells(const void* fdt, int node) { return address_cells_of(BlobTree{fdt}, node); }
Result<int> size_cells(const void* fdt, int node) { return size_cells_of(BlobTree{fdt}, node); }
Result<int> reg_count(const void* fdt, int parent, int node) { return reg_entries(BlobTree{fdt}, parent, node); }
Result<MemRange> reg_entry(const void* fdt, int parent, int node, int index) { return reg_at(BlobTree{fdt}, parent, node, index); }
Result<u64> translate_to_cpu(const void* fdt, int bus_node, u64 addr) { return translate_up(BlobTree{fdt}, bus_node, addr); }

Result<int> address_cells(const TreeIndex& t, int node) { return address_cells_of(IndexTree{t}, node); }
Result<int> size_cells(const TreeIndex& t, int node) { return size_cells_of(IndexTree{t}, node); }
Result<int> reg_count(const TreeIndex& t, int node) { return reg_entries(IndexTree{t}, t.parent(node), node); }
Result<MemRange> reg_entry(const TreeIndex& t, int node, int index) { return reg_at(IndexTree{t}, t.parent(node), node, index); }
Result<u64> translate_to_cpu(const TreeIndex& t, int bus_node, u64 addr) { return translate_up(IndexTree{t}, bus_node, addr); }

}  // namespace passage::fdt
