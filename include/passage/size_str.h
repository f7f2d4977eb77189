// Human-readable sizes for logs: "64 KiB", "1 GiB", "1536 KiB"; exact, never
// rounded. A size that is not a whole number of KiB prints as bytes: in hex
// by default ("0x64 bytes", like the addresses beside it in memory maps), in
// decimal for register blocks such as PCI BARs ("32 bytes").
#pragma once

#include "passage/types.h"

namespace passage {

enum class Bytes : u8 { Hex, Decimal };

struct SizeStr {
    char text[24];
    explicit SizeStr(u64 size, Bytes bytes = Bytes::Hex);
    const char* c_str() const { return text; }
};

}  // namespace passage
