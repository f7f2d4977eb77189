// The end of pass 3: placed resources written to the hardware and
// decoding turned on.
#include "enumerator.h"

namespace passage::pci::enumeration {

// Bridge windows as placed, closed (base above limit) when unused.
void Enumerator::program_windows(PciFunction& f)
{
    const BridgeWindow& io = f.windows[usize(WindowKind::Io)];
    const BridgeWindow& mem = f.windows[usize(WindowKind::Mem)];
    const BridgeWindow& pref = f.windows[usize(WindowKind::Pref)];
    if (io.implemented) {
        cfg_.write32(f.bdf, kIoBaseUpper, 0);
        if (io.assigned()) {
            u64 lim = io.pci_limit();
            cfg_.write16(f.bdf, kIoBase, u16((io.pci_base >> 8 & 0xf0) | (lim & 0xf000)));
            cfg_.write32(f.bdf, kIoBaseUpper, u32(io.pci_base >> 16 & 0xffff) | u32(lim >> 16) << 16);
        } else {
            cfg_.write16(f.bdf, kIoBase, 0x00f0);
        }
    }
    if (mem.assigned()) {
        u64 lim = mem.pci_limit();
        cfg_.write32(f.bdf, kMemBase, u32(mem.pci_base >> 16 & 0xfff0) | u32(lim & 0xfff00000));
    } else {
        cfg_.write32(f.bdf, kMemBase, 0x0000fff0);
    }
    if (pref.implemented) {
        if (pref.assigned()) {
            u64 lim = pref.pci_limit();
            cfg_.write32(f.bdf, kPrefBase, u32(pref.pci_base >> 16 & 0xfff0) | u32(lim & 0xfff00000));
            if (pref.decodes64) {
                cfg_.write32(f.bdf, kPrefBaseUpper, u32(pref.pci_base >> 32));
                cfg_.write32(f.bdf, kPrefLimitUpper, u32(lim >> 32));
            }
        } else {
            cfg_.write32(f.bdf, kPrefBase, 0x0000fff0);
            if (pref.decodes64) {
                cfg_.write32(f.bdf, kPrefBaseUpper, 0);
                cfg_.write32(f.bdf, kPrefLimitUpper, 0);
            }
        }
    }
}

// BARs, ROM and windows written, then decoding turned on for each space in
// which everything the function has was placed. Bridges also get bus
// mastering so that DMA and MSIs from below are forwarded; endpoints are
// left to their drivers.
void Enumerator::program(PciFunction& f)
{
    bool mem_ok = true, mem_any = false, io_ok = true, io_any = false;
    u16 count = f.header_type == kHeaderEndpoint ? kType0BarCount
                : f.is_bridge                     ? kType1BarCount
                                                  : 0;
    for (u16 i = 0; i < count; ++i) {
        const PciBar& bar = f.bars[i];
        if (bar.kind == BarKind::None) continue;
        if (bar.fixed) {  // decodes where the hardware put it: nothing to write
            (bar.kind == BarKind::Io ? io_any : mem_any) |= bar.assigned();
            if (!bar.assigned()) (bar.kind == BarKind::Io ? io_ok : mem_ok) = false;
            continue;
        }
        u16 reg = u16(kBar0 + 4 * i);
        u64 value = bar.assigned() ? bar.pci_addr : 0;
        cfg_.write32(f.bdf, reg, u32(value));
        if (bar.kind == BarKind::Mem64 && i + 1 < count) cfg_.write32(f.bdf, u16(reg + 4), u32(value >> 32));
        bool& ok = bar.kind == BarKind::Io ? io_ok : mem_ok;
        bool& any = bar.kind == BarKind::Io ? io_any : mem_any;
        if (bar.assigned()) any = true;
        else ok = false;
    }
    const PciBar& rom = f.rom();
    if (rom.present() && rom.fixed) {
        if (rom.assigned()) mem_any = true;
    } else if (rom.present()) {
        u16 reg = f.is_bridge ? kType1Rom : kType0Rom;
        // The ROM's own enable bit stays clear: whoever reads it sets it.
        cfg_.write32(f.bdf, reg, rom.assigned() ? u32(rom.pci_addr) : 0);
        if (rom.assigned()) mem_any = true;
    }
    if (f.header_type != kHeaderEndpoint && !f.is_bridge) return;
    f.mem_enabled = mem_ok && mem_any;
    f.io_enabled = io_ok && io_any;
    if (f.is_bridge) {
        // A bridge forwards its windows under the same enables as its own
        // BARs; a failed BAR of its own must not cut off what is below.
        program_windows(f);
        const BridgeWindow* w = f.windows;
        if (w[usize(WindowKind::Mem)].assigned() || w[usize(WindowKind::Pref)].assigned()) f.mem_enabled = true;
        if (w[usize(WindowKind::Io)].assigned()) f.io_enabled = true;
    }
    u16 cmd = cfg_.read16(f.bdf, kCommand);
    cmd = u16(cmd & ~(CmdIo::kMask | CmdMem::kMask | CmdBusMaster::kMask));
    if (f.mem_enabled) cmd = u16(cmd | CmdMem::kMask);
    if (f.io_enabled) cmd = u16(cmd | CmdIo::kMask);
    if (f.is_bridge) cmd = u16(cmd | CmdBusMaster::kMask);
    cfg_.write16(f.bdf, kCommand, cmd);
}

}  // namespace passage::pci::enumeration
