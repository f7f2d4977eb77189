// libfdt helpers for the guest loader (private): cell sizes, big-endian
// cells, compatible prefixes, node paths.
#pragma once

#include "passage/types.h"

namespace passage::guest {

// Reads `cells` (1 or 2) big-endian cells as one value.
u64 read_cells(const u8* p, int cells);

// Writes v as `cells` (1 or 2) big-endian cells; false if it does not fit.
bool write_cells(u8* p, int cells, u64 v);

// The node's #address-cells or #size-cells (defaults 2 and 1, devicetree
// spec 2.3.5), or -1 if the property is not one cell of at most 2.
int address_cells(const void* fdt, int node);
int size_cells(const void* fdt, int node);

// True if one of the node's compatible strings starts with prefix.
bool compatible_with_prefix(const void* fdt, int node, const char* prefix);

// True if the node's status is absent or "okay"/"ok".
bool node_enabled(const void* fdt, int node);

// The node's path, or "?" when it cannot be had.
void node_path(const void* fdt, int node, char* buf, int size);

}  // namespace passage::guest
