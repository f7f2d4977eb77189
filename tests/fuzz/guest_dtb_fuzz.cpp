// Fuzzer 2: the guest's device tree, built from a host tree that passed
// discovery. The input is a DTB, and the bytes past its totalsize say how
// to build (all optional, zero when absent):
//   u8  flags    bit 0 initrd, bit 1 linux,pci-probe-only, bit 2 bootargs,
//                bit 3 guest RAM from the input (else the host's memory)
//   u16 room     output buffer size (0: the whole kBufSize)
//   u8  count    guest RAM ranges (flag 3), mod kMaxLayoutRanges + 2
//   u64 base, u64 size   per range
//   u64 initrd_start, u64 initrd_end
//   the rest     bootargs (up to a NUL)
// What must hold: build_guest_dtb writes only inside its buffer (ASan, and
// guard bytes after it for libfdt, which is not instrumented), a success is
// a tree fdt_check_full accepts with exactly the memory, /chosen and
// probe-only edits asked for, and a failure is a message.
#include <libfdt.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "fuzz_input.h"
#include "passage/discover.h"
#include "passage/guest/guest_dtb.h"
#include "passage/guest/layout.h"
#include "passage/log.h"

using namespace passage;

using passage::fuzzing::Input;

namespace {

constexpr usize kBufSize = 64 * KiB;
constexpr usize kGuard = 256;
constexpr u8 kGuardByte = 0xa5;

void quiet(const char*, usize) {}

[[noreturn]] void violated(const char* what, u64 a, u64 b)
{
    std::fprintf(stderr, "guest_dtb fuzz: %s (0x%llx, 0x%llx)\n", what, (unsigned long long)a, (unsigned long long)b);
    std::abort();
}

// True if one of the node's compatible strings starts with prefix.
bool compatible_with(const void* fdt, int node, const char* prefix)
{
    int len = 0;
    const char* c = static_cast<const char*>(fdt_getprop(fdt, node, "compatible", &len));
    for (int i = 0; c != nullptr && i < len; i += int(strnlen(c + i, usize(len - i))) + 1)
        if (usize(len - i) >= std::strlen(prefix) && std::memcmp(c + i, prefix, std::strlen(prefix)) == 0) return true;
    return false;
}

bool has_prop(const void* fdt, int node, const char* name) { return fdt_getprop(fdt, node, name, nullptr) != nullptr; }

// The output against the config: one memory node, /chosen as asked, no
// passage node anywhere and no module node in /chosen.
void check_output(const void* out, usize size, const GuestDtbConfig& cfg)
{
    if (int err = fdt_check_full(out, size); err != 0) violated("the guest DTB fails fdt_check_full", u64(-err), size);
    int memories = 0;
    for (int node = fdt_next_node(out, -1, nullptr); node >= 0; node = fdt_next_node(out, node, nullptr)) {
        int len = 0;
        const char* type = static_cast<const char*>(fdt_getprop(out, node, "device_type", &len));
        if (type != nullptr && len == 7 && std::memcmp(type, "memory", 7) == 0) ++memories;
        if (compatible_with(out, node, "passage,")) violated("a passage node is left", u64(node), 0);
    }
    if (memories != 1) violated("not exactly one memory node", u64(memories), 0);
    int chosen = fdt_path_offset(out, "/chosen");
    if (chosen < 0) violated("no /chosen", u64(-chosen), 0);
    for (int node = fdt_first_subnode(out, chosen); node >= 0; node = fdt_next_subnode(out, node))
        if (compatible_with(out, node, "multiboot,")) violated("a module node is left in /chosen", u64(node), 0);
    int len = 0;
    const char* args = static_cast<const char*>(fdt_getprop(out, chosen, "bootargs", &len));
    if ((args != nullptr) != (cfg.bootargs != nullptr)) violated("bootargs present when not asked, or missing", len, 0);
    if (args != nullptr && (len != int(std::strlen(cfg.bootargs)) + 1 || std::memcmp(args, cfg.bootargs, usize(len)) != 0))
        violated("bootargs differ", u64(len), 0);
    if (has_prop(out, chosen, "linux,initrd-start") != cfg.has_initrd ||
        has_prop(out, chosen, "linux,initrd-end") != cfg.has_initrd)
        violated("initrd properties not as asked", cfg.has_initrd, 0);
    if (has_prop(out, chosen, "linux,pci-probe-only") != cfg.pci_probe_only) violated("probe-only not as asked", cfg.pci_probe_only, 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const u8* data, usize size)
{
    set_log_sink(quiet);
    Diagnostic diag;
    if (!check_device_tree(data, size, diag)) return 0;
    static Platform platform;
    if (!discover_platform(data, platform, diag, DiscoveryMode::Boot)) return 0;

    const usize tree = fdt_totalsize(data);
    Input in{data + tree, size - tree};
    const u8 flags = in.take<u8>();
    const u16 room = in.take<u16>();
    MemRange ram[kMaxLayoutRanges + 1];
    GuestDtbConfig cfg;
    if (flags & 8) {
        usize count = in.take<u8>() % (kMaxLayoutRanges + 2);
        for (usize i = 0; i < count; ++i) ram[i] = {in.take<u64>(), in.take<u64>()};
        cfg.ram = {ram, count};
    } else {
        cfg.ram = {platform.memory, platform.memory_count};
    }
    cfg.has_initrd = flags & 1;
    cfg.initrd_start = in.take<u64>();
    cfg.initrd_end = in.take<u64>();
    cfg.pci_probe_only = flags & 2;
    std::string bootargs(reinterpret_cast<const char*>(in.p), strnlen(reinterpret_cast<const char*>(in.p), in.n));
    if (flags & 4) cfg.bootargs = bootargs.c_str();

    // The buffer is reused: only its guard needs setting each time.
    alignas(8) static u8 buffer[kBufSize + kGuard];
    const usize out_size = room == 0 ? kBufSize : room % kBufSize;
    std::memset(buffer + out_size, kGuardByte, kGuard);
    auto built = build_guest_dtb(data, buffer, out_size, cfg, diag);
    for (usize i = 0; i < kGuard; ++i)
        if (buffer[out_size + i] != kGuardByte) violated("build_guest_dtb wrote past its buffer", out_size, i);
    if (!built) {
        if (diag.text[0] == '\0') violated("a failure without a message", u64(built.error()), 0);
        return 0;
    }
    if (*built > out_size) violated("the packed size exceeds the buffer", *built, out_size);
    check_output(buffer, *built, cfg);
    return 0;
}
