// The console: the node /chosen/stdout-path names, its kind and registers.
#include "passage/discover.h"

#include "discover_steps.h"
#include "passage/fdt/cells.h"
#include "passage/fdt/node.h"
#include "passage/format.h"
#include "passage/text.h"

namespace passage {

using fdt::compatible;
using fdt::node_path;
using fdt::read_cells;

namespace {

// The console node's kind and registers. The address is translated through
// the parents' ranges whatever the kind, so a board check can name it.
Status uart_from_node(const fdt::TreeIndex& t, int node, Uart& uart, Diagnostic& diag)
{
    node_path(t, node, uart.path, sizeof uart.path);
    copy_string(uart.compatible, sizeof uart.compatible, fdt::first_compatible(t, node, "no compatible"));
    int len = 0;
    MemRange r;
    if (auto s = discovery::reg_or_fail(t, node, 0, r, diag, "console"); !s) return s;
    uart.base = r.base;
    uart.size = r.size;
    UartKind kind = UartKind::None;
    if (compatible(t, node, "arm,pl011")) kind = UartKind::Pl011;
    else if (compatible(t, node, "arm,sbsa-uart")) kind = UartKind::Sbsa;
    else if (compatible(t, node, "ns16550a") || compatible(t, node, "ns16550") ||
             compatible(t, node, "snps,dw-apb-uart") || compatible(t, node, "fsl,ns16550"))
        kind = UartKind::Ns16550;
    if (kind == UartKind::None) {
        format(uart.problem, sizeof uart.problem, "console %s (%s) is of a kind passage has no driver for", uart.path,
                   uart.compatible);
        return {};
    }
    if (kind == UartKind::Ns16550) {
        u64 shift = 0, width = 1, offset = 0;
        if (const void* v = t.prop(node, fdt::Name::RegShift, &len); v != nullptr && len == 4) shift = read_cells(v, 1);
        if (const void* v = t.prop(node, fdt::Name::RegIoWidth, &len); v != nullptr && len == 4) width = read_cells(v, 1);
        if (const void* v = t.prop(node, fdt::Name::RegOffset, &len); v != nullptr && len == 4) offset = read_cells(v, 1);
        if (const void* v = t.prop(node, fdt::Name::ClockFrequency, &len); v != nullptr && len == 4)
            uart.clock_hz = u32(read_cells(v, 1));
        // The 16550's registers span index 0..7; all of them must lie inside reg.
        const u64 span = offset + (u64{8} << (shift > 3 ? 3 : shift));
        if (shift > 3 || (width != 1 && width != 2 && width != 4) || (width > (u64{1} << shift) && width != 1) ||
            span > r.size) {
            format(uart.problem, sizeof uart.problem,
                       "console %s: reg-shift %llu, reg-io-width %llu, reg-offset 0x%llx do not fit its 0x%llx-byte reg", uart.path,
                       (unsigned long long)shift, (unsigned long long)width, (unsigned long long)offset, (unsigned long long)r.size);
            return {};
        }
        if (t.has(node, fdt::Name::BigEndian)) {
            format(uart.problem, sizeof uart.problem, "console %s: a big-endian 16550 has no driver in passage", uart.path);
            return {};
        }
        uart.reg_shift = u8(shift);
        uart.reg_io_width = u8(width);
        uart.reg_offset = u32(offset);
    }
    uart.kind = kind;
    return {};
}

}  // namespace

Status discover_console(const fdt::TreeIndex& t, Uart& uart, Diagnostic& diag)
{
    uart = Uart{};
    int chosen = t.path("/chosen");
    int node = -1;
    int len = 0;
    const char* path = chosen >= 0 ? static_cast<const char*>(t.prop(chosen, fdt::Name::StdoutPath, &len)) : nullptr;
    if (path == nullptr && chosen >= 0) path = static_cast<const char*>(t.prop(chosen, fdt::Name::LinuxStdoutPath, &len));
    if (path != nullptr && len > 0) {
        int n = 0;
        while (n < len && path[n] != '\0' && path[n] != ':') ++n;  // "serial0:115200n8"
        node = t.path(path, n);  // an alias too
        if (node < 0) {
            char name[kPathMax];  // vformat has no "%.*s"
            copy_string(name, n + 1 < int(sizeof name) ? usize(n + 1) : sizeof name, path);
            return fail(diag, Error::NotFound, 0, "/chosen/stdout-path \"%s\" names no node", name);
        }
    } else {
        node = t.next_compatible(fdt::TreeIndex::kNone, "arm,pl011");
        if (node < 0) return fail(diag, Error::NotFound, 0, "no /chosen/stdout-path and no arm,pl011 node");
    }
    return uart_from_node(t, node, uart, diag);
}

}  // namespace passage
