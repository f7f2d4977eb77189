// The device table at boot, in the spirit of `lspci`: one line per function,
// then one indented line per BAR, ROM and bridge window.
//
// PCI 0000:00:01.0 1af4:1000 [0200] ethernet  endpoint  mem+io  msix 3@BAR1+0x0
//     BAR0 io          0x3eff1000 (pci 0x1000)  size 32 bytes
//     BAR4 mem64 pref  0x8000000000  size 16 KiB
#include "passage/format.h"
#include "passage/log.h"
#include "passage/pci/enumerate.h"
#include "passage/size_str.h"

namespace passage::pci {

const char* class_name(u32 class_code)
{
    u16 cs = u16(class_code >> 8);
    switch (cs) {
    case 0x0000: return "unclassified";
    case 0x0100: return "SCSI storage";
    case 0x0101: return "IDE";
    case 0x0106: return "SATA";
    case 0x0108: return "NVMe";
    case 0x0200: return "ethernet";
    case 0x0300: return "VGA";
    case 0x0600: return "host bridge";
    case 0x0604: return "PCI bridge";
    case 0x0c03: return "USB";
    default: break;
    }
    switch (cs >> 8) {
    case 0x01: return "mass storage";
    case 0x02: return "network";
    case 0x03: return "display";
    case 0x04: return "multimedia";
    case 0x05: return "memory";
    case 0x06: return "bridge";
    case 0x07: return "communication";
    case 0x08: return "system peripheral";
    case 0x09: return "input";
    case 0x0c: return "serial bus";
    case 0x0d: return "wireless";
    case 0x12: return "accelerator";
    case 0xff: return "vendor specific";
    default: return "other";
    }
}

namespace {

void print_bar(const PciBar& bar)
{
    char label[8];
    if (bar.is_rom()) format(label, sizeof label, "ROM");
    else format(label, sizeof label, "BAR%u", unsigned(bar.index));
    char kind[16];
    format(kind, sizeof kind, "%s%s", bar_kind_name(bar.kind), bar.prefetchable ? " pref" : "");
    SizeStr size(bar.size, Bytes::Decimal);
    if (!bar.assigned()) {
        log_raw("    %-4s %-10s not assigned (%s)  size %s\n", label, kind, bar_status_name(bar.status),
                size.c_str());
        return;
    }
    char pci[32] = "";
    if (bar.pci_addr != bar.cpu_addr) format(pci, sizeof pci, " (pci 0x%llx)", static_cast<unsigned long long>(bar.pci_addr));
    log_raw("    %-4s %-10s 0x%llx%s  size %s%s\n", label, kind, static_cast<unsigned long long>(bar.cpu_addr),
            pci, size.c_str(), bar.fixed ? "  fixed (Enhanced Allocation)" : "");
}

void print_window(WindowKind k, const BridgeWindow& w)
{
    static constexpr const char* kNames[] = {"io", "mem", "pref"};
    const char* name = kNames[usize(k)];
    if (!w.implemented) return;
    if (w.size == 0) {
        log_raw("    %-4s window closed\n", name);
        return;
    }
    SizeStr size(w.size, Bytes::Decimal);
    if (!w.assigned()) {
        log_raw("    %-4s window not assigned (%s)  size %s\n", name, bar_status_name(w.status), size.c_str());
        return;
    }
    char pci[48] = "";
    if (w.pci_base != w.cpu_base) {
        format(pci, sizeof pci, " (pci 0x%llx-0x%llx)", static_cast<unsigned long long>(w.pci_base),
               static_cast<unsigned long long>(w.pci_limit()));
    }
    log_raw("    %-4s window 0x%llx-0x%llx%s  size %s%s\n", name, static_cast<unsigned long long>(w.cpu_base),
            static_cast<unsigned long long>(w.cpu_base + w.size - 1), pci, size.c_str(),
            w.is64 ? " 64-bit" : "");
}

}  // namespace

void print_device_table(const DeviceTable& table)
{
    for (const PciFunction& f : table.functions()) {
        const BdfStr bdf(f);
        char extra[96];
        usize n = 0;
        if (f.port_type != PortType::NotPcie || f.is_bridge) {
            n += format(extra + n, sizeof extra - n, "  %s", port_type_name(f.port_type));
        }
        if (f.is_bridge && n < sizeof extra) {
            if (f.bus_assigned) {
                n += format(extra + n, sizeof extra - n, "  bus %02x-%02x", unsigned(f.secondary),
                            unsigned(f.subordinate));
            } else {
                n += format(extra + n, sizeof extra - n, "  no bus");
            }
        }
        if (n < sizeof extra) {
            const char* dec = f.mem_enabled && f.io_enabled ? "mem+io"
                              : f.mem_enabled               ? "mem"
                              : f.io_enabled                ? "io"
                                                            : "off";
            format(extra + n, sizeof extra - n, "  %s", dec);
        }
        log_raw("PCI %s %04x:%04x [%04x] %s%s\n", bdf.c_str(), unsigned(f.vendor), unsigned(f.device),
                unsigned(f.class_subclass()), class_name(f.class_code), extra);

        const Capabilities& c = f.caps;
        if (c.pm != 0 || c.msi != 0 || c.msix != 0 || c.pcie != 0 || c.list_truncated) {
            char caps[160];
            usize m = 0;
            if (c.pcie != 0) m += format(caps + m, sizeof caps - m, " pcie@%02x v%u", unsigned(c.pcie), unsigned(c.pcie_version));
            if (c.pm != 0 && m < sizeof caps) m += format(caps + m, sizeof caps - m, " pm@%02x", unsigned(c.pm));
            if (c.msi != 0 && m < sizeof caps) {
                m += format(caps + m, sizeof caps - m, " msi@%02x %u%s", unsigned(c.msi), unsigned(c.msi_vectors),
                            c.msi_64bit ? " 64-bit" : "");
            }
            if (c.msix != 0 && m < sizeof caps) {
                m += format(caps + m, sizeof caps - m, " msix@%02x %u table BAR%u+0x%x pba BAR%u+0x%x",
                            unsigned(c.msix), unsigned(c.msix_table_size), unsigned(c.msix_table_bar),
                            unsigned(c.msix_table_offset), unsigned(c.msix_pba_bar), unsigned(c.msix_pba_offset));
            }
            if (c.list_truncated && m < sizeof caps) format(caps + m, sizeof caps - m, " (list truncated)");
            log_raw("    caps%s\n", caps);
        }
        for (const PciBar& bar : f.bars) {
            if (bar.present()) print_bar(bar);
        }
        if (f.is_bridge) {
            for (usize k = 0; k < kWindowKinds; ++k) print_window(WindowKind(k), f.windows[k]);
        }
    }
    if (table.dropped() != 0) {
        log_raw("PCI: %zu more functions not recorded (table holds %zu)\n", table.dropped(), table.capacity());
    }
}

}  // namespace passage::pci
