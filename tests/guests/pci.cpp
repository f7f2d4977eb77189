#include "pci.h"

namespace guest::pci {

namespace {

// Type 0/1 configuration header offsets (PCI Local Bus 3.0, PCI-PCI Bridge 1.2).
constexpr unsigned kIdReg = 0x00;
constexpr unsigned kCommandReg = 0x04;
constexpr unsigned kHeaderReg = 0x0c;  // header type in bits 23:16
constexpr unsigned kBar0 = 0x10;
constexpr unsigned kBusReg = 0x18;  // bridge: primary, secondary, subordinate
constexpr u32 kCommandMem = 1u << 1;

constexpr u32 kBarIo = 1u << 0;
constexpr u32 kBarType64 = 2u << 1;
constexpr u32 kBarPrefetch = 1u << 3;

void read_bars(const Ecam& ecam, Function& f)
{
    unsigned n = f.header_type == 0 ? 6 : 2;
    for (unsigned i = 0; i < n; ++i) {
        u32 lo = ecam.read32(f.bus, f.dev, f.fn, kBar0 + 4 * i);
        if (lo & kBarIo) continue;
        Bar& b = f.bars[i];
        b.is64 = (lo & (3u << 1)) == kBarType64;
        b.prefetchable = lo & kBarPrefetch;
        b.addr = lo & ~0xfull;
        if (b.is64 && i + 1 < n) b.addr |= u64(ecam.read32(f.bus, f.dev, f.fn, kBar0 + 4 * (i + 1))) << 32;
        b.present = b.addr != 0;
        if (b.is64) ++i;
    }
}

void scan_bus(const Ecam& ecam, unsigned bus, Scan& out, u32 (&visited)[8], int depth)
{
    if (bus < ecam.first_bus() || bus > ecam.last_bus() || (visited[bus / 32] & (1u << bus % 32)) || depth > 8) return;
    visited[bus / 32] |= 1u << bus % 32;
    for (unsigned dev = 0; dev < 32; ++dev) {
        for (unsigned fn = 0; fn < 8; ++fn) {
            u32 id = ecam.read32(bus, dev, fn, kIdReg);
            if ((id & 0xffff) == 0xffff) {
                if (fn == 0) break;
                continue;
            }
            u8 header = static_cast<u8>(ecam.read32(bus, dev, fn, kHeaderReg) >> 16);
            if (out.count == Scan::kMax) {
                out.truncated = true;
                return;
            }
            Function& f = out.fns[out.count++];
            f = Function{static_cast<u8>(bus), static_cast<u8>(dev), static_cast<u8>(fn),
                         static_cast<u16>(id), static_cast<u16>(id >> 16), static_cast<u8>(header & 0x7f), {}};
            read_bars(ecam, f);
            if (f.header_type == 1) {
                unsigned secondary = (ecam.read32(bus, dev, fn, kBusReg) >> 8) & 0xff;
                if (secondary > bus) scan_bus(ecam, secondary, out, visited, depth + 1);
            }
            if (fn == 0 && !(header & 0x80)) break;  // not multi-function
        }
    }
}

u64 align_up(u64 v, u64 a) { return (v + a - 1) & ~(a - 1); }

}  // namespace

u64 cpu_address(const GuestPlatform& plat, u64 pci_addr)
{
    for (unsigned i = 0; i < plat.window_count; ++i) {
        const PciWindow& w = plat.windows[i];
        if (w.space != PciWindow::Io && pci_addr >= w.pci_base && pci_addr - w.pci_base < w.size)
            return pci_addr - w.pci_base + w.cpu_base;
    }
    return pci_addr;
}

const PciWindow* mem32_window(const GuestPlatform& plat, u64 pci_addr)
{
    for (unsigned i = 0; i < plat.window_count; ++i) {
        const PciWindow& w = plat.windows[i];
        if (w.space == PciWindow::Mem32 && pci_addr >= w.pci_base && pci_addr - w.pci_base < w.size) return &w;
    }
    return nullptr;
}

Scan scan(const Ecam& ecam)
{
    Scan out;
    u32 visited[8] = {};
    scan_bus(ecam, ecam.first_bus(), out, visited, 0);
    return out;
}

void enable_memory(const Ecam& ecam, const Function& f)
{
    u32 cmd = ecam.read32(f.bus, f.dev, f.fn, kCommandReg) & 0xffff;  // status half 0: RW1C bits untouched
    if (!(cmd & kCommandMem)) ecam.write32(f.bus, f.dev, f.fn, kCommandReg, cmd | kCommandMem);
}

void disable_memory(const Ecam& ecam, const Function& f)
{
    u32 cmd = ecam.read32(f.bus, f.dev, f.fn, kCommandReg) & 0xffff;
    if (cmd & kCommandMem) ecam.write32(f.bus, f.dev, f.fn, kCommandReg, cmd & ~kCommandMem);
}

u64 read_bar(const Ecam& ecam, const Function& f, unsigned bar)
{
    unsigned reg = kBar0 + 4 * bar;
    u64 addr = ecam.read32(f.bus, f.dev, f.fn, reg) & ~0xfull;
    if (f.bars[bar].is64) addr |= u64(ecam.read32(f.bus, f.dev, f.fn, reg + 4)) << 32;
    return addr;
}

u64 bar_size(const Ecam& ecam, const Function& f, unsigned bar)
{
    unsigned reg = kBar0 + 4 * bar;
    u32 cmd = ecam.read32(f.bus, f.dev, f.fn, kCommandReg) & 0xffff;
    disable_memory(ecam, f);
    u32 lo = ecam.read32(f.bus, f.dev, f.fn, reg);
    u32 hi = f.bars[bar].is64 ? ecam.read32(f.bus, f.dev, f.fn, reg + 4) : 0;
    ecam.write32(f.bus, f.dev, f.fn, reg, ~0u);
    u64 mask = ecam.read32(f.bus, f.dev, f.fn, reg) & ~0xfull;
    if (f.bars[bar].is64) {
        ecam.write32(f.bus, f.dev, f.fn, reg + 4, ~0u);
        mask |= u64(ecam.read32(f.bus, f.dev, f.fn, reg + 4)) << 32;
        ecam.write32(f.bus, f.dev, f.fn, reg + 4, hi);
    } else {
        mask |= 0xffffffff00000000ull;
    }
    ecam.write32(f.bus, f.dev, f.fn, reg, lo);
    if (cmd & kCommandMem) ecam.write32(f.bus, f.dev, f.fn, kCommandReg, cmd);
    return mask ? ~mask + 1 : 0;
}

void write_bar(const Ecam& ecam, const Function& f, unsigned bar, u64 addr)
{
    unsigned reg = kBar0 + 4 * bar;
    ecam.write32(f.bus, f.dev, f.fn, reg, static_cast<u32>(addr));
    if (f.bars[bar].is64) ecam.write32(f.bus, f.dev, f.fn, reg + 4, static_cast<u32>(addr >> 32));
}

void size_bars(const Ecam& ecam, const Scan& found, const Function* skip, unsigned skip_bar, BarMap& out)
{
    out.count = 0;
    for (unsigned i = 0; i < found.count; ++i) {
        const Function& g = found.fns[i];
        for (unsigned b = 0; b < 6 && out.count < BarMap::kMax; ++b)
            if (g.bars[b].present && !(&g == skip && b == skip_bar))
                out.bars[out.count++] = {&g, b, g.bars[b].addr, bar_size(ecam, g, b)};
    }
}

bool routed_window(const Ecam& ecam, const Scan& found, const GuestPlatform& plat, const Function& f, u64 pci_addr,
                   u64& base, u64& size)
{
    if (f.bus != ecam.first_bus()) {
        for (unsigned i = 0; i < found.count; ++i) {
            const Function& b = found.fns[i];
            if (b.header_type != 1 || ((ecam.read32(b.bus, b.dev, b.fn, 0x18) >> 8) & 0xff) != f.bus) continue;
            u32 mem = ecam.read32(b.bus, b.dev, b.fn, 0x20);  // base [15:4], limit [31:20]: address bits 31:20
            u64 lo = u64(mem & 0xfff0) << 16, hi = u64(mem & 0xfff00000u) | 0xfffff;
            if (lo > hi) return false;
            base = lo;
            size = hi - lo + 1;
            return true;
        }
        return false;
    }
    const PciWindow* w = mem32_window(plat, pci_addr);
    if (!w) return false;
    base = w->pci_base;
    size = w->size;
    return true;
}

u64 free_place(u64 base, u64 window_size, u64 size, u64 avoid, const BarMap& taken)
{
    if (size == 0 || window_size < size) return 0;
    for (u64 a = (base + window_size - size) & ~(size - 1); a >= base; a -= size) {
        bool clear = a != avoid;
        for (unsigned k = 0; k < taken.count && clear; ++k)
            clear = a + size <= taken.bars[k].addr || taken.bars[k].addr + taken.bars[k].size <= a;
        if (clear) return a;
        if (a < size) break;
    }
    return 0;
}

unsigned assign_bars_standalone(const Ecam& ecam, const GuestPlatform& plat, Scan& found)
{
    // Bump allocators over the first mem32 and mem64 windows (PCI address =
    // CPU address on QEMU virt; the offset is applied in any case).
    const PciWindow* w32 = nullptr;
    const PciWindow* w64 = nullptr;
    for (unsigned i = 0; i < plat.window_count; ++i) {
        const PciWindow& w = plat.windows[i];
        if (w.space == PciWindow::Mem32 && !w32) w32 = &w;
        if (w.space == PciWindow::Mem64 && !w64) w64 = &w;
    }
    u64 next32 = w32 ? w32->pci_base : 0, next64 = w64 ? w64->pci_base : 0;
    unsigned assigned = 0;
    for (unsigned k = 0; k < found.count; ++k) {
        Function& f = found.fns[k];
        unsigned n = f.header_type == 0 ? 6 : 2;
        for (unsigned i = 0; i < n; ++i) {
            u32 orig = ecam.read32(f.bus, f.dev, f.fn, kBar0 + 4 * i);
            if (orig & kBarIo) continue;
            bool is64 = (orig & (3u << 1)) == kBarType64;
            f.bars[i].is64 = is64;  // what bar_size and write_bar go by
            u64 size = bar_size(ecam, f, i);
            const PciWindow* w = is64 && w64 ? w64 : w32;
            u64& next = is64 && w64 ? next64 : next32;
            if (size == 0 || !w || align_up(next, size) + size > w->pci_base + w->size) {
                if (is64) ++i;  // absent, or no room: left as it was
                continue;
            }
            u64 pci_addr = align_up(next, size);
            next = pci_addr + size;
            write_bar(ecam, f, i, pci_addr);
            ++assigned;
            if (is64) ++i;
        }
        read_bars(ecam, f);
        enable_memory(ecam, f);
    }
    return assigned;
}

}  // namespace guest::pci
