// Checked readers over libfdt for what a device tree says in cells: cell
// counts, big-endian values, reg entries and addresses translated through
// the parents' `ranges`. Used by platform discovery and by the guest loader,
// so both read a tree by the same rules:
//   - #address-cells and #size-cells are one cell of at most kMaxCells
//     (a PCI bus needs 3); anything else is a malformed tree;
//   - a value read as one number (an address, a size) is at most
//     kMaxValueCells cells: 64 bits;
//   - every failure comes back as a value naming what failed.
#pragma once

#include "passage/platform.h"
#include "passage/result.h"

namespace passage::fdt {

inline constexpr int kMaxCells = 4;
inline constexpr int kMaxValueCells = 2;

// Reads `count` (0 to kMaxValueCells) big-endian cells as one value; the
// caller has checked that count * 4 bytes are there.
u64 read_cells(const void* cells, int count);

// One big-endian cell: read_cells(p, 1), inline for the walks that read
// every token.
inline u32 read_be32(const void* p)
{
    const auto* b = static_cast<const u8*>(p);
    return u32(b[0]) << 24 | u32(b[1]) << 16 | u32(b[2]) << 8 | u32(b[3]);
}

// Writes v as `count` (1 or 2) big-endian cells; false if count is out of
// range or v does not fit.
bool write_cells(void* cells, int count, u64 v);

// The #address-cells / #size-cells a node's children use (defaults 2 and 1,
// devicetree spec 2.3.5); BadDeviceTree (addr: the node) if the property is
// not one cell of at most kMaxCells.
Result<int> address_cells(const void* fdt, int node);
Result<int> size_cells(const void* fdt, int node);

// Number of (address, size) entries in the `reg` of `node`, a child of
// `parent`, or an error if the length does not match the parent's cell sizes
// (Unsupported when they are wider than a value). The caller names the
// parent: libfdt finds one only by walking the tree from its start
// (fdt_parent_offset), and discovery, which asks about every node while it
// iterates a parent's children, already has it.
Result<int> reg_count(const void* fdt, int parent, int node);

// The index-th `reg` entry of `node`, a child of `parent`, translated to a
// CPU physical address through every ancestor's `ranges`.
Result<MemRange> reg_entry(const void* fdt, int parent, int node, int index);

// Translates an address in the bus of `bus_node`'s children up to the root.
Result<u64> translate_to_cpu(const void* fdt, int bus_node, u64 addr);

// The same over a tree index (node: an index in it), where a node's parent
// costs nothing to find: the rules and the answers are those above.
class TreeIndex;
Result<int> address_cells(const TreeIndex& t, int node);
Result<int> size_cells(const TreeIndex& t, int node);
Result<int> reg_count(const TreeIndex& t, int node);
Result<MemRange> reg_entry(const TreeIndex& t, int node, int index);
Result<u64> translate_to_cpu(const TreeIndex& t, int bus_node, u64 addr);

}  // namespace passage::fdt
