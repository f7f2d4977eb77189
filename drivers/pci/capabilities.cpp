// The capability lists of a function, walked in pass 1.
#include "enumerator.h"
#include "passage/log.h"

namespace passage::pci::enumeration {
namespace {

// Records ptr as the capability of its kind unless one came before.
bool first_of_kind(u8& slot, u8 ptr)
{
    if (slot != 0) return false;
    slot = ptr;
    return true;
}

void read_msi(ConfigAccess& cfg, PciFunction& f, u8 ptr)
{
    u16 ctl = cfg.read16(f.bdf, u16(ptr + 2));
    f.caps.msi_64bit = MsiCtl64Bit::get(ctl) != 0;
    f.caps.msi_vectors = u8(1u << (MsiCtlMultiCap::get(ctl) > 5 ? 5 : MsiCtlMultiCap::get(ctl)));
}

void read_msix(ConfigAccess& cfg, PciFunction& f, u8 ptr)
{
    Capabilities& caps = f.caps;
    u16 ctl = cfg.read16(f.bdf, u16(ptr + 2));
    caps.msix_table_size = u16(MsixCtlTableSize::get(ctl) + 1);
    u32 table = cfg.read32(f.bdf, u16(ptr + 4));
    u32 pba = cfg.read32(f.bdf, u16(ptr + 8));
    caps.msix_table_bar = u8(MsixBir::get(table));
    caps.msix_table_offset = table & kMsixOffsetMask;
    caps.msix_pba_bar = u8(MsixBir::get(pba));
    caps.msix_pba_offset = pba & kMsixOffsetMask;
}

void read_pcie(ConfigAccess& cfg, PciFunction& f, u8 ptr)
{
    u16 reg = cfg.read16(f.bdf, u16(ptr + 2));
    f.caps.pcie_version = u8(PcieCapVersion::get(reg));
    f.port_type = PortType(PcieCapPortType::get(reg));
}

}  // namespace

// The capability list (PCI 3.0, 6.7), walked with a bound and a visited set
// so that a list that loops or points into the header stops the walk.
void Enumerator::walk_capabilities(PciFunction& f)
{
    Capabilities& caps = f.caps;
    u8 ptr = cfg_.read8(f.bdf, kCapabilityPtr) & 0xfc;
    u64 seen = 0;
    for (unsigned n = 0; ptr != 0; ++n) {
        const char* why = nullptr;
        if (n >= kMaxCapabilities) why = "has more entries than fit";
        else if (ptr < kCapListStart) why = "points into the header";
        else if ((seen >> ((ptr - kCapListStart) / 4) & 1) != 0) why = "loops";
        if (why != nullptr) {
            caps.list_truncated = true;
            problem();
            log_warn("PCI %s %04x:%04x: capability list %s at 0x%02x; walk stopped",
                     BdfStr(f).c_str(), f.vendor, f.device, why, unsigned(ptr));
            return;
        }
        seen |= u64{1} << ((ptr - kCapListStart) / 4);

        u16 header = cfg_.read16(f.bdf, ptr);
        if (header == 0xffff) {
            caps.list_truncated = true;
            problem();
            log_warn("PCI %s: capability at 0x%02x reads all-ones; walk stopped",
                     BdfStr(f).c_str(), unsigned(ptr));
            return;
        }
        u8 id = u8(header);
        u8 next = u8(header >> 8) & 0xfc;
        // The first capability of each kind is the one read (as Linux's
        // pci_find_capability finds it).
        switch (id) {
        case kCapPm: first_of_kind(caps.pm, ptr); break;
        case kCapEa: first_of_kind(caps.ea, ptr); break;
        case kCapMsi:
            if (first_of_kind(caps.msi, ptr)) read_msi(cfg_, f, ptr);
            break;
        case kCapMsix:
            if (first_of_kind(caps.msix, ptr)) read_msix(cfg_, f, ptr);
            break;
        case kCapPcie:
            if (first_of_kind(caps.pcie, ptr)) read_pcie(cfg_, f, ptr);
            break;
        default: break;
        }
        ptr = next;
    }
}

}  // namespace passage::pci::enumeration
