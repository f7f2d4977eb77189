// What a device-tree node says about itself: status, compatible strings,
// string properties and its path for messages. Nothing here trusts the
// blob: every string is checked against its property's length.
#pragma once

#include <libfdt.h>

#include "passage/types.h"

namespace passage::fdt {

// True if the node's `status` is absent, "okay" or "ok" (Linux's
// __of_device_is_available: an empty status is not available).
bool node_enabled(const void* fdt, int node);

// True if one of the node's compatible strings is exactly `compat`. Inline:
// discovery asks it of every node many times over.
inline bool compatible(const void* fdt, int node, const char* compat)
{
    return fdt_node_check_compatible(fdt, node, compat) == 0;
}

// True if one of the node's compatible strings starts with `prefix`.
bool compatible_with_prefix(const void* fdt, int node, const char* prefix);

// The node's first compatible string, or `fallback` when it has none or it
// is not NUL-terminated.
const char* first_compatible(const void* fdt, int node, const char* fallback);

// True if the string property `name` of the node is exactly `value`.
bool string_property_is(const void* fdt, int node, const char* name, const char* value);

// The node's full path, for messages: ".../name" if it is longer than the
// buffer, "?" if it cannot be had at all.
void node_path(const void* fdt, int node, char* buf, usize size);

}  // namespace passage::fdt
