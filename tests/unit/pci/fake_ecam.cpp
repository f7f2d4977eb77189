#include "fake_ecam.h"

#include <cstdio>
#include <cstdlib>

namespace passage::pci::test {

namespace {
constexpr u16 kBarsEnd = 0x28;  // BAR0-5 of a type 0 header

[[noreturn]] void misuse(const char* what)
{
    std::fprintf(stderr, "fake ECAM misused: %s\n", what);
    std::abort();
}
}  // namespace

FakeFunction::FakeFunction(FakeEcam& ecam) : ecam_(ecam)
{
    ids(0x1234, 0x0001);
    class_code(0xff0000);
    wmask_[0x04] = 0x07;  // I/O, memory, bus master
    wmask_[0x05] = 0x05;  // SERR#, INTx disable
    wmask_[0x3c] = 0xff;  // interrupt line
}

FakeFunction& FakeFunction::ids(u16 vendor, u16 device)
{
    cfg_[0] = u8(vendor), cfg_[1] = u8(vendor >> 8);
    cfg_[2] = u8(device), cfg_[3] = u8(device >> 8);
    return *this;
}

FakeFunction& FakeFunction::class_code(u32 code)
{
    cfg_[0x09] = u8(code), cfg_[0x0a] = u8(code >> 8), cfg_[0x0b] = u8(code >> 16);
    return *this;
}

FakeFunction& FakeFunction::multifunction(bool on)
{
    cfg_[0x0e] = u8(on ? cfg_[0x0e] | 0x80 : cfg_[0x0e] & 0x7f);
    return *this;
}

FakeFunction& FakeFunction::alias_functions()
{
    alias_fn_ = true;
    return *this;
}

FakeFunction& FakeFunction::alias_devices()
{
    alias_dev_ = true;
    return *this;
}

FakeFunction& FakeFunction::header_type(u8 layout)
{
    cfg_[0x0e] = u8((cfg_[0x0e] & 0x80) | (layout & 0x7f));
    return *this;
}

void FakeFunction::set32(u16 reg, u32 value, u32 writable)
{
    for (unsigned i = 0; i < 4; ++i) {
        cfg_[reg + i] = u8(value >> (8 * i));
        wmask_[reg + i] = u8(writable >> (8 * i));
    }
}

FakeFunction& FakeFunction::bar32(unsigned index, u64 size, bool prefetchable)
{
    set32(u16(0x10 + 4 * index), prefetchable ? 0x8 : 0x0, u32(~(size - 1)) & 0xfffffff0u);
    return *this;
}

FakeFunction& FakeFunction::bar64(unsigned index, u64 size, bool prefetchable)
{
    u64 mask = ~(size - 1);
    set32(u16(0x10 + 4 * index), 0x4 | (prefetchable ? 0x8 : 0x0), u32(mask) & 0xfffffff0u);
    set32(u16(0x14 + 4 * index), 0, u32(mask >> 32));
    return *this;
}

FakeFunction& FakeFunction::bar_io(unsigned index, u64 size, bool decode16)
{
    u32 mask = u32(~(size - 1)) & 0xfffffffcu;
    if (decode16) mask &= 0xffff;
    set32(u16(0x10 + 4 * index), 0x1, mask);
    return *this;
}

FakeFunction& FakeFunction::bar_raw(unsigned index, u32 value, u32 writable)
{
    set32(u16(0x10 + 4 * index), value, writable);
    return *this;
}

FakeFunction& FakeFunction::rom(u64 size)
{
    set32(bridge_ ? 0x38 : 0x30, 0, (u32(~(size - 1)) & 0xfffff800u) | 1);
    return *this;
}

u8 FakeFunction::add_cap(u8 id, u8 length)
{
    u8 off = next_cap_;
    if (off == 0 || unsigned(off) + length > 0x100) misuse("capability space full");
    cfg_[off] = id;
    cfg_[off + 1] = 0;
    if (last_cap_ != 0) cfg_[last_cap_ + 1] = off;
    else cfg_[0x34] = off;
    cfg_[0x06] |= 0x10;
    last_cap_ = off;
    unsigned next = (unsigned(off) + length + 3) & ~3u;
    next_cap_ = next >= 0x100 ? 0 : u8(next);
    return off;
}

FakeFunction& FakeFunction::pm()
{
    u8 off = add_cap(0x01, 8);
    cfg_[off + 2] = 0x03;
    return *this;
}

FakeFunction& FakeFunction::msi(bool is64, unsigned multi_log2)
{
    u8 off = add_cap(0x05, 0x18);
    cfg_[off + 2] = u8((is64 ? 0x80 : 0) | (multi_log2 & 7) << 1);
    return *this;
}

FakeFunction& FakeFunction::msix(u16 vectors, u8 table_bar, u32 table_offset, u8 pba_bar, u32 pba_offset)
{
    u8 off = add_cap(0x11, 12);
    u16 ctl = u16(vectors - 1);
    cfg_[off + 2] = u8(ctl), cfg_[off + 3] = u8(ctl >> 8);
    set32(u16(off + 4), table_offset | table_bar, 0);
    set32(u16(off + 8), pba_offset | pba_bar, 0);
    return *this;
}

FakeFunction& FakeFunction::ea(std::initializer_list<EaEntry> entries, u8 fixed_secondary, u8 fixed_subordinate)
{
    std::vector<u32> dw;
    if (bridge_) dw.push_back(u32(fixed_secondary) | u32(fixed_subordinate) << 8);
    for (const EaEntry& e : entries) {
        u64 max = e.size - 1;
        bool base_hi = e.wide || (e.base >> 32) != 0;
        bool max_hi = e.wide || (max >> 32) != 0;
        unsigned es = 2 + base_hi + max_hi;
        dw.push_back((u32(int(es) + e.size_error) & 7) | u32(e.bei) << 4 | u32(e.primary) << 8 | u32(e.secondary) << 16 |
                     (e.enabled ? 1u << 31 : 0));
        dw.push_back(u32(e.base & 0xfffffffc) | (base_hi ? 2 : 0));
        dw.push_back(u32(max & 0xfffffffc) | (max_hi ? 2 : 0));
        if (base_hi) dw.push_back(u32(e.base >> 32));
        if (max_hi) dw.push_back(u32(max >> 32));
    }
    u8 off = add_cap(0x14, u8(4 + 4 * dw.size()));
    cfg_[off + 2] = u8(entries.size());
    for (usize i = 0; i < dw.size(); ++i) set32(u16(off + 4 + 4 * i), dw[i], 0);
    return *this;
}

FakeFunction& FakeFunction::pcie(PortType type)
{
    u8 off = add_cap(0x10, 0x3c);
    cfg_[off + 2] = u8(0x02 | u8(type) << 4);
    return *this;
}

FakeFunction& FakeFunction::ext_cap(u16 offset, u16 id, u16 next)
{
    set32(offset, u32(id) | 1u << 16 | u32(next) << 20, 0);
    return *this;
}

FakeFunction& FakeFunction::writable(u16 reg, u32 mask)
{
    for (unsigned i = 0; i < 4; ++i) wmask_[reg + i] = u8(mask >> (8 * i));
    return *this;
}

FakeFunction& FakeFunction::cap_raw(u8 offset, u8 id, u8 next)
{
    cfg_[offset] = id;
    cfg_[offset + 1] = next;
    cfg_[0x06] |= 0x10;
    return *this;
}

FakeFunction& FakeFunction::cap_pointer(u8 offset)
{
    cfg_[0x34] = offset;
    cfg_[0x06] |= 0x10;
    return *this;
}

FakeFunction& FakeFunction::bridge(bool io_window, bool pref_window, bool pref64)
{
    bridge_ = true;
    header_type(1);
    class_code(0x060400);
    for (u16 r = 0x10; r < 0x40; ++r) cfg_[r] = wmask_[r] = 0;
    wmask_[0x3c] = 0xff;
    wmask_[0x18] = wmask_[0x19] = wmask_[0x1a] = 0xff;
    if (io_window) {
        cfg_[0x1c] = cfg_[0x1d] = 0x01;  // 32-bit I/O addressing
        wmask_[0x1c] = wmask_[0x1d] = 0xf0;
        for (u16 r = 0x30; r < 0x34; ++r) wmask_[r] = 0xff;
    }
    set32(0x20, 0, 0xfff0fff0u);
    if (pref_window) {
        set32(0x24, pref64 ? 0x00010001u : 0, 0xfff0fff0u);
        if (pref64) {
            set32(0x28, 0, 0xffffffffu);
            set32(0x2c, 0, 0xffffffffu);
        }
    }
    wmask_[0x3e] = 0xff;
    wmask_[0x3f] = 0x0f;
    if (!below_) below_ = std::make_unique<FakeBus>();
    return *this;
}

FakeFunction& FakeFunction::pcie_bridge(PortType type)
{
    switch (type) {
    case PortType::RootPort: ids(0x1b36, 0x000c); break;
    case PortType::SwitchUpstream: ids(0x104c, 0x8232); break;
    case PortType::SwitchDownstream: ids(0x104c, 0x8233); break;
    default: ids(0x1b36, 0x0001); break;
    }
    bridge();
    pcie(type);
    return *this;
}

FakeFunction& FakeFunction::child(u8 dev, u8 fn)
{
    if (!bridge_) misuse("child() of a function that is not a bridge");
    auto& slot = below_->fns[u8(dev << 3 | fn)];
    slot = std::make_unique<FakeFunction>(ecam_);
    ecam_.routes_dirty_ = true;
    return *slot;
}

FakeFunction& FakeFunction::poke32(u16 reg, u32 value)
{
    for (unsigned i = 0; i < 4; ++i) cfg_[reg + i] = u8(value >> (8 * i));
    if (bridge_ && reg <= 0x1b && reg + 4 > 0x18) ecam_.routes_dirty_ = true;
    return *this;
}

u32 FakeFunction::peek32(u16 reg) const
{
    return u32(cfg_[reg]) | u32(cfg_[reg + 1]) << 8 | u32(cfg_[reg + 2]) << 16 | u32(cfg_[reg + 3]) << 24;
}

u16 FakeFunction::peek16(u16 reg) const { return u16(cfg_[reg] | cfg_[reg + 1] << 8); }

u32 FakeFunction::read(u16 reg, unsigned width) const
{
    u32 v = 0;
    for (unsigned i = 0; i < width; ++i) v |= u32(cfg_[reg + i]) << (8 * i);
    return v;
}

void FakeFunction::write(u16 reg, unsigned width, u32 value)
{
    for (unsigned i = 0; i < width; ++i) {
        u8 b = u8(value >> (8 * i));
        u8 m = wmask_[reg + i];
        cfg_[reg + i] = u8((cfg_[reg + i] & ~m) | (b & m));
    }
    if (bridge_ && reg <= 0x1b && reg + width > 0x18) ecam_.routes_dirty_ = true;
}

FakeFunction* FakeBus::find(u8 dev, u8 fn) const
{
    auto it = fns.find(u8(dev << 3 | fn));
    if (it != fns.end()) return it->second.get();
    if (fn != 0) {
        FakeFunction* f0 = find(dev, 0);
        if (f0 != nullptr && f0->alias_fn_) return f0;
    }
    if (dev != 0) {
        auto d0 = fns.find(u8(fn));
        if (d0 != fns.end() && d0->second->alias_dev_) return d0->second.get();
        if (fn != 0) {
            auto z = fns.find(0);
            if (z != fns.end() && z->second->alias_dev_ && z->second->alias_fn_) return z->second.get();
        }
    }
    return nullptr;
}

FakeFunction& FakeEcam::add(u8 dev, u8 fn)
{
    auto& slot = root_.fns[u8(dev << 3 | fn)];
    slot = std::make_unique<FakeFunction>(*this);
    routes_dirty_ = true;
    return *slot;
}

// Which bus each bus number reaches: a bridge forwards [secondary,
// subordinate] (PCI-to-PCI bridge 1.2, 3.2.5.3); two siblings claiming the
// same number make it unreachable.
void FakeEcam::claim(FakeBus& bus, unsigned lo, unsigned hi)
{
    std::array<u8, 256> claims{};
    for (auto& [devfn, fn] : bus.fns) {
        (void)devfn;
        if (!fn->bridge_) continue;
        unsigned sec = fn->cfg_[0x19], sub = fn->cfg_[0x1a];
        if (sec == 0 || sec > sub || sec < lo || sec > hi) continue;  // unreachable
        if (sub > hi) sub = hi;
        for (unsigned b = sec; b <= sub; ++b) {
            if (claims[b]++ != 0) ambiguous_[b] = true;
        }
        if (routes_[sec] == nullptr) routes_[sec] = fn->below_.get();
        if (sec < sub) claim(*fn->below_, sec + 1, sub);
    }
}

void FakeEcam::rebuild_routes()
{
    routes_.fill(nullptr);
    ambiguous_.fill(false);
    routes_[root_bus_] = &root_;
    claim(root_, unsigned(root_bus_) + 1, 255);
    routes_dirty_ = false;
}

FakeFunction* FakeEcam::route(Bdf bdf)
{
    if (routes_dirty_) rebuild_routes();
    if (ambiguous_[bdf.bus]) {
        ++routing_conflicts;
        return nullptr;
    }
    FakeBus* bus = routes_[bdf.bus];
    return bus == nullptr ? nullptr : bus->find(bdf.dev, bdf.fn);
}

u32 FakeEcam::access(Bdf f, u16 reg, unsigned width, bool write, u32 value)
{
    ++accesses;
    u32 ones = width == 4 ? 0xffffffffu : (1u << (8 * width)) - 1;
    if (reg % width != 0 || reg + width > 4096 || f.dev > 31 || f.fn > 7) {
        ++misaligned;
        return ones;
    }
    FakeFunction* fn = route(f);
    if (fn == nullptr) return ones;
    if (!write) return fn->read(reg, width);
    bool bar = reg >= 0x10 && reg < (fn->bridge_ ? 0x18 : kBarsEnd);
    bool rom = reg == (fn->bridge_ ? 0x38 : 0x30);
    if (reg < 0x40) ++fn->header_writes_[reg / 4];
    if ((bar || rom) && width == 4 && (value | 0x7ff) == 0xffffffffu && (fn->cfg_[0x04] & 0x03) != 0) {
        ++sized_while_decoding;
    }
    fn->write(reg, width, value);
    return 0;
}

// Depth first: a function, then its secondary bus.
void FakeEcam::walk(const FakeBus& bus, const std::function<void(FakeFunction&)>& visit)
{
    for (const auto& [key, f] : bus.fns) {
        visit(*f);
        if (f->below_) walk(*f->below_, visit);
    }
}

std::vector<std::array<u8, 4096>> FakeEcam::save() const
{
    std::vector<std::array<u8, 4096>> out;
    walk(root_, [&](FakeFunction& f) { out.push_back(f.cfg_); });
    return out;
}

void FakeEcam::restore(const std::vector<std::array<u8, 4096>>& state)
{
    usize i = 0;
    walk(root_, [&](FakeFunction& f) {
        if (i < state.size()) f.cfg_ = state[i++];
    });
    routes_dirty_ = true;
}

PciHostBridge qemu_virt_host(bool highmem)
{
    PciHostBridge h;
    h.ecam_base = highmem ? 0x4010000000 : 0x3f000000;
    h.ecam_size = highmem ? 256 * MiB : 16 * MiB;
    h.bus_start = 0;
    h.bus_end = highmem ? 0xff : 0x0f;
    h.windows[0] = {PciSpace::Io, false, 0x3eff0000, 0x0, 64 * KiB};
    h.windows[1] = {PciSpace::Mem32, false, 0x10000000, 0x10000000, 0x2eff0000};
    h.window_count = 2;
    if (highmem) h.windows[h.window_count++] = {PciSpace::Mem64, false, 0x8000000000, 0x8000000000, 512 * GiB};
    return h;
}

}  // namespace passage::pci::test
