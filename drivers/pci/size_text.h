// Exact human-readable sizes for PCI messages: "16 GiB", "256 KiB", "32 bytes".
#pragma once

#include "passage/format.h"
#include "passage/types.h"

namespace passage::pci {

struct SizeText {
    char text[24];
    explicit SizeText(u64 size)
    {
        static constexpr const char* kUnits[] = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
        unsigned unit = 0;
        while (unit < 6 && size >= 1024 && size % 1024 == 0) {
            size /= 1024;
            ++unit;
        }
        format(text, sizeof text, "%llu %s", static_cast<unsigned long long>(size), kUnits[unit]);
    }
    const char* c_str() const { return text; }
};

}  // namespace passage::pci
