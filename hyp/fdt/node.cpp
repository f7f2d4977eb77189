#include "passage/fdt/node.h"

#include <libfdt.h>

#include "passage/text.h"

namespace passage::fdt {

namespace {

// True if the string at s (which ends before `end`) starts with prefix.
bool starts_with(const char* s, const char* end, const char* prefix)
{
    for (; *prefix != '\0'; ++s, ++prefix)
        if (s >= end || *s != *prefix) return false;
    return true;
}

// True if the property's first string (of `len` bytes in all) is `want`.
bool first_string_is(const char* s, int len, const char* want)
{
    for (int i = 0; i < len; ++i) {
        if (s[i] != want[i]) return false;
        if (want[i] == '\0') return true;
    }
    return false;
}

}  // namespace

bool node_enabled(const void* fdt, int node)
{
    int len = 0;
    const char* s = static_cast<const char*>(fdt_getprop(fdt, node, "status", &len));
    if (s == nullptr) return true;
    return first_string_is(s, len, "okay") || first_string_is(s, len, "ok");
}

namespace {

bool list_has_prefix(const char* s, int len, const char* prefix)
{
    if (s == nullptr || len <= 0) return false;
    const char* end = s + len;
    while (s < end) {
        if (starts_with(s, end, prefix)) return true;
        while (s < end && *s != '\0') ++s;
        ++s;  // past the NUL
    }
    return false;
}

const char* first_of(const char* c, int len, const char* fallback)
{
    return c != nullptr && len > 0 && c[len - 1] == '\0' ? c : fallback;
}

bool string_is(const char* s, int len, const char* value)
{
    return s != nullptr && len > 0 && s[len - 1] == '\0' && string_equal(s, value);
}

}  // namespace

bool compatible_with_prefix(const void* fdt, int node, const char* prefix)
{
    int len = 0;
    const char* s = static_cast<const char*>(fdt_getprop(fdt, node, "compatible", &len));
    return list_has_prefix(s, len, prefix);
}

bool compatible_with_prefix(const TreeIndex& t, int node, const char* prefix)
{
    int len = 0;
    const char* s = t.compatible(node, &len);
    return list_has_prefix(s, len, prefix);
}

const char* first_compatible(const void* fdt, int node, const char* fallback)
{
    int len = 0;
    const char* c = static_cast<const char*>(fdt_getprop(fdt, node, "compatible", &len));
    return first_of(c, len, fallback);
}

const char* first_compatible(const TreeIndex& t, int node, const char* fallback)
{
    int len = 0;
    const char* c = t.compatible(node, &len);
    return first_of(c, len, fallback);
}

bool string_property_is(const void* fdt, int node, const char* name, const char* value)
{
    int len = 0;
    const char* s = static_cast<const char*>(fdt_getprop(fdt, node, name, &len));
    return string_is(s, len, value);
}

bool string_property_is(const TreeIndex& t, int node, Name name, const char* value)
{
    int len = 0;
    const char* s = static_cast<const char*>(t.prop(node, name, &len));
    return string_is(s, len, value);
}

void node_path(const void* fdt, int node, char* buf, usize size)
{
    if (size == 0) return;
    int err = fdt_get_path(fdt, node, buf, static_cast<int>(size));
    if (err == 0) return;
    // Longer than the buffer: keep the node's own name, marked as cut.
    int len = 0;
    const char* name = fdt_get_name(fdt, node, &len);
    if (err != -FDT_ERR_NOSPACE || name == nullptr || len < 0) {
        copy_string(buf, size, "?");
        return;
    }
    copy_string(buf, size, ".../");
    usize at = 0;
    while (buf[at] != '\0') ++at;
    copy_string(buf + at, size - at, name);
}

}  // namespace passage::fdt
