#include "fdt_util.h"

#include <libfdt.h>

namespace passage::guest {

u64 read_cells(const u8* p, int cells)
{
    u64 v = 0;
    for (int i = 0; i < cells * 4; ++i) v = (v << 8) | p[i];
    return v;
}

bool write_cells(u8* p, int cells, u64 v)
{
    if (cells < 1 || cells > 2 || (cells == 1 && v > 0xffffffffu)) return false;
    for (int i = cells * 4 - 1; i >= 0; --i) {
        p[i] = static_cast<u8>(v);
        v >>= 8;
    }
    return true;
}

namespace {

int cells_property(const void* fdt, int node, const char* name, int fallback)
{
    int len = 0;
    const void* p = fdt_getprop(fdt, node, name, &len);
    if (p == nullptr) return fallback;
    if (len != 4) return -1;
    u64 v = read_cells(static_cast<const u8*>(p), 1);
    return v > 2 ? -1 : static_cast<int>(v);
}

bool starts_with(const char* s, const char* end, const char* prefix)
{
    for (; *prefix != '\0'; ++s, ++prefix)
        if (s >= end || *s != *prefix) return false;
    return true;
}

}  // namespace

int address_cells(const void* fdt, int node) { return cells_property(fdt, node, "#address-cells", 2); }
int size_cells(const void* fdt, int node) { return cells_property(fdt, node, "#size-cells", 1); }

bool compatible_with_prefix(const void* fdt, int node, const char* prefix)
{
    int len = 0;
    const char* s = static_cast<const char*>(fdt_getprop(fdt, node, "compatible", &len));
    if (s == nullptr || len <= 0) return false;
    const char* end = s + len;
    while (s < end) {
        if (starts_with(s, end, prefix)) return true;
        while (s < end && *s != '\0') ++s;
        ++s;  // past the NUL
    }
    return false;
}

bool node_enabled(const void* fdt, int node)
{
    int len = 0;
    const char* s = static_cast<const char*>(fdt_getprop(fdt, node, "status", &len));
    if (s == nullptr) return true;
    auto is = [&](const char* want, int want_len) {
        if (len < want_len) return false;
        for (int i = 0; i < want_len; ++i)
            if (s[i] != want[i]) return false;
        return true;
    };
    return is("okay", 5) || is("ok", 3);
}

void node_path(const void* fdt, int node, char* buf, int size)
{
    if (fdt_get_path(fdt, node, buf, size) != 0 && size >= 2) {
        buf[0] = '?';
        buf[1] = '\0';
    }
}

}  // namespace passage::guest
