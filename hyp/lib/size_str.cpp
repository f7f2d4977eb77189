#include "passage/size_str.h"

#include "passage/format.h"

namespace passage {

SizeStr::SizeStr(u64 size, Bytes bytes)
{
    static constexpr const char* kUnits[] = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    unsigned u = 0;
    // Only step up while the value stays exact, so 1.5 MiB prints as 1536 KiB.
    while (u < 6 && size >= 1024 && (size % 1024) == 0) {
        size /= 1024;
        ++u;
    }
    if (u == 0 && size != 0 && bytes == Bytes::Hex) format(text, sizeof text, "0x%llx bytes", static_cast<unsigned long long>(size));
    else format(text, sizeof text, "%llu %s", static_cast<unsigned long long>(size), kUnits[u]);
}

}  // namespace passage
