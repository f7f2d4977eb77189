// What a device-tree node says about itself: status, compatible strings,
// string properties and its path for messages. Nothing here trusts the
// blob: every string is checked against its property's length.
#pragma once

#include <libfdt.h>

#include "passage/fdt/index.h"
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

// A node's compatible list, read once for several questions: each
// fdt::compatible call looks the property up again, which costs a walk of
// the node's properties. has(c) answers exactly what compatible(fdt, node, c)
// would.
class CompatibleList {
public:
    CompatibleList(const void* fdt, int node)
        : list_(static_cast<const char*>(fdt_getprop(fdt, node, "compatible", &len_)))
    {
    }
    CompatibleList(const TreeIndex& t, int node) : list_(t.compatible(node, &len_)), first_(t.compatible_first_bytes(node)) {}
    bool has(const char* compat) const
    {
        return list_ != nullptr && may_contain(first_, compat) && stringlist_contains(list_, len_, compat);
    }
    // The property as fdt_getprop gave it: null (then size() is the error) or its bytes.
    const char* data() const { return list_; }
    int size() const { return len_; }

private:
    int len_ = 0;
    const char* list_;
    u64 first_ = ~u64(0);  // first_bytes of the list; all set: not known
};

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

// The same questions of a node of a tree index (node: an index in it),
// with the same answers; status and compatible were read when it was built.
inline bool node_enabled(const TreeIndex& t, int node) { return t.enabled(node); }
inline bool compatible(const TreeIndex& t, int node, const char* compat) { return t.is_compatible(node, compat); }
bool compatible_with_prefix(const TreeIndex& t, int node, const char* prefix);
const char* first_compatible(const TreeIndex& t, int node, const char* fallback);
bool string_property_is(const TreeIndex& t, int node, Name name, const char* value);
inline void node_path(const TreeIndex& t, int node, char* buf, usize size) { t.path_of(node, buf, size); }

}  // namespace passage::fdt
