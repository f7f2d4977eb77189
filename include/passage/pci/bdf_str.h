// How every message names a PCI function: "0000:00:03.0" (segment, bus,
// device, function), as Linux's lspci -D prints it.
#pragma once

#include "passage/pci/config.h"
#include "passage/pci/device_table.h"
#include "passage/types.h"

namespace passage::pci {

// "0000:00:03.0" into buf (at least 13 bytes).
void format_bdf(char* buf, usize size, u16 segment, Bdf bdf);

// The same as a value, for a message argument: BdfStr(f).c_str().
struct BdfStr {
    char text[16];
    BdfStr(u16 segment, Bdf bdf) { format_bdf(text, sizeof text, segment, bdf); }
    explicit BdfStr(const PciFunction& f) : BdfStr(f.segment, f.bdf) {}
    const char* c_str() const { return text; }
};

}  // namespace passage::pci
