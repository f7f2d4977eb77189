#include "passage/pci/bdf_str.h"

#include "passage/format.h"

namespace passage::pci {

void format_bdf(char* buf, usize size, u16 segment, Bdf bdf)
{
    format(buf, size, "%04x:%02x:%02x.%x", unsigned(segment), unsigned(bdf.bus), unsigned(bdf.dev), unsigned(bdf.fn));
}

}  // namespace passage::pci
