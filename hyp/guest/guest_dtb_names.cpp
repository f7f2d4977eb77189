// The names and compatible strings the guest tree's build acts on: where
// the names it adds go in the strings block, and a compatible list as bits.
#include "guest_dtb_build.h"

namespace passage::guest_dtb {

AddedNames place_names(const char* strings, u32 size, const bool (&needed)[kAddedNames])
{
    AddedNames a;
    u32 len[kAddedNames] = {};
    bool found[kAddedNames] = {};
    int missing = 0;
    for (int i = 1; i < kAddedNames; ++i) {
        len[i] = string_length(kNames[i]);
        missing += needed[i];
    }
    // Every occurrence ends at a NUL; the first to end is the first to begin.
    for (u32 e = 0; e < size && missing > 0; ++e) {
        if (strings[e] != '\0') continue;
        for (int i = 1; i < kAddedNames; ++i)
            if (needed[i] && !found[i] && len[i] <= e && strings[e - 1] == kNames[i][len[i] - 1] &&
                __builtin_memcmp(strings + e - len[i], kNames[i], len[i]) == 0) {
                found[i] = true;
                a.off[i] = e - len[i];
                --missing;
            }
    }
    for (int i = 1; i < kAddedNames; ++i)
        if (needed[i] && !found[i]) {
            a.appended[i] = true;
            a.off[i] = size + a.appended_bytes;
            a.appended_bytes += len[i] + 1;
        }
    return a;
}

// A compatible list read once for every question. Exact matches as libfdt's
// fdt_stringlist_contains finds them, byte for byte: it compares
// strlen(str) + 1 bytes while that many remain, so an unterminated last
// string matches when the byte after the value is a NUL. Prefixes as
// fdt::compatible_with_prefix: inside the value.
u32 compat_bits(const u8* list, u32 len)
{
    const char* p = reinterpret_cast<const char*>(list);
    u32 left = len;
    u32 bits = 0;
    while (left > 0) {
        u32 n = 0;
        while (n < left && p[n] != '\0') ++n;
        if (p[n] == '\0') {
            switch (n) {
            case 10: bits |= bytes_are(p, "arm,gic-v3", 10) ? kGicV3 : 0; break;
            case 11:
                bits |= bytes_are(p, "arm,gic-400", 11) ? kGic400 : 0;
                bits |= bytes_are(p, "arm,smmu-v3", 11) ? kSmmuV3 : 0;
                break;
            case 17: bits |= bytes_are(p, "arm,cortex-a7-gic", 17) ? kCortexA7Gic : 0; break;
            case 18: bits |= bytes_are(p, "arm,cortex-a15-gic", 18) ? kCortexA15Gic : 0; break;
            case 21: bits |= bytes_are(p, "pci-host-ecam-generic", 21) ? kEcam : 0; break;
            default: break;
            }
        }
        if (n >= 8 && bytes_are(p, "passage,", 8)) bits |= kPassagePrefix;
        if (n >= 10 && bytes_are(p, "multiboot,", 10)) bits |= kMultibootPrefix;
        if (n == left) break;  // no NUL: libfdt stops here
        p += n + 1;
        left -= n + 1;
    }
    return bits;
}

}  // namespace passage::guest_dtb
