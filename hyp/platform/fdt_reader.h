// Small, checked readers over libfdt: cells, reg entries and address
// translation through parent `ranges`. Every read is bounds-checked against
// the property length; failures come back as values.
#pragma once

#include "passage/platform.h"
#include "passage/result.h"

namespace passage::fdt {

// Reads `count` (1 or 2) big-endian cells at cells[0..count) as one value.
u64 read_cells(const void* cells, int count);

// The #address-cells / #size-cells a node's children use (defaults 2 and 1
// per the devicetree spec); an error if the property is malformed.
Result<int> address_cells(const void* fdt, int node);
Result<int> size_cells(const void* fdt, int node);

// Number of (address, size) entries in the `reg` of `node`, a child of
// `parent`, or an error if the length does not match the parent's cell sizes.
// The caller names the parent: libfdt finds one only by walking the tree from
// its start (fdt_parent_offset), and discovery, which asks about every node
// while it iterates a parent's children, already has it.
Result<int> reg_count(const void* fdt, int parent, int node);

// The index-th `reg` entry of `node`, a child of `parent`, translated to a
// CPU physical address through every ancestor's `ranges`.
Result<MemRange> reg_entry(const void* fdt, int parent, int node, int index);

// Translates an address in the bus of `bus_node`'s children up to the root.
Result<u64> translate_to_cpu(const void* fdt, int bus_node, u64 addr);

// True if the node's `status` is absent, "okay" or "ok".
bool node_enabled(const void* fdt, int node);

// Copies a NUL-terminated string into a fixed buffer, truncating.
void copy_string(char* dst, usize size, const char* src);

// The node's full path, for messages: ".../name" if it is longer than the
// buffer, "?" if it cannot be had at all.
void node_path(const void* fdt, int node, char* buf, usize size);

}  // namespace passage::fdt
