// Fuzzer 1: a device tree from outside, read the way passage reads it at
// boot (check_device_tree, both the two-pass check and the boot's one
// that builds the tree index, then the PSCI conduit, the console and the whole
// platform, with the console required and with it only reported, and the
// summary) and the way passage-inspect reads a board's tree. What must hold:
// a bad blob is refused with a message, never a crash, a hang or a read
// outside the blob (ASan: the input is exactly `size` bytes), and what is
// found is within Platform's fixed tables.
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "passage/discover.h"
#include "passage/log.h"

using namespace passage;

namespace {

void quiet(const char*, usize) {}

[[noreturn]] void violated(const char* what, u64 a, u64 b)
{
    std::fprintf(stderr, "dtb fuzz: %s (%llu, %llu)\n", what, (unsigned long long)a, (unsigned long long)b);
    std::abort();
}

// A usable 16550's registers lie inside its reg, at a width the driver can do.
void check_uart(const Uart& u)
{
    if (u.kind != UartKind::Ns16550) return;
    if (u.reg_shift > 3 || (u.reg_io_width != 1 && u.reg_io_width != 2 && u.reg_io_width != 4))
        violated("16550 register layout", u.reg_shift, u.reg_io_width);
    if (u.reg_offset + (u64{8} << u.reg_shift) > u.size) violated("16550 registers past its reg", u.reg_offset, u.size);
}

void check_platform(const Platform& p)
{
    check_uart(p.uart);
    // No memory only when the bootloader is to fill it in (a board check).
    if ((p.memory_count == 0) != p.memory_from_bootloader || p.memory_count > Platform::kMaxMemory)
        violated("memory_count", p.memory_count, p.memory_from_bootloader);
    if (p.reserved_count > Platform::kMaxReserved) violated("reserved_count", p.reserved_count, 0);
    if (p.cpu_count == 0 || p.cpu_count > Platform::kMaxCpus) violated("cpu_count", p.cpu_count, 0);
    if (p.bridge_count > Platform::kMaxBridges) violated("bridge_count", p.bridge_count, 0);
    if (p.other_bridge_count > Platform::kMaxOtherBridges) violated("other_bridge_count", p.other_bridge_count, 0);
    if (p.mmio_count > Platform::kMaxMmio) violated("mmio_count", p.mmio_count, 0);
    if (p.gic.version == GicVersion::None) violated("no GIC after a successful discovery", 0, 0);
    if (p.gic.redist_count > Gic::kMaxRedist || p.gic.its_count > Gic::kMaxIts || p.gic.v2m_count > Gic::kMaxIts)
        violated("GIC tables", p.gic.redist_count, p.gic.its_count);
    for (usize i = 0; i < p.bridge_count; ++i) {
        const PciHostBridge& b = p.bridges[i];
        if (b.window_count == 0 || b.window_count > PciHostBridge::kMaxWindows) violated("window_count", i, b.window_count);
        if (b.bus_start > b.bus_end) violated("bus range", b.bus_start, b.bus_end);
        if (b.ecam_size < (u64(b.bus_end - b.bus_start) + 1) << 20) violated("ECAM smaller than its buses", b.ecam_size, b.bus_end);
    }
}

}  // namespace

// libFuzzer's buffer is a malloc'd copy of exactly `size` bytes: aligned for
// libfdt, and ASan sees a read one byte past it.
extern "C" int LLVMFuzzerTestOneInput(const u8* data, usize size)
{
    set_log_sink(quiet);
    Diagnostic diag;
    // The boot's check is one pass that also indexes the tree: it refuses
    // whatever the two-pass check refuses, in the same words.
    static fdt::TreeIndex tree;  // ~290 KiB: kept off the stack
    Diagnostic tree_diag;
    const bool indexed = check_device_tree(data, size, tree, tree_diag).ok();
    if (!check_device_tree(data, size, diag)) {
        if (indexed) violated("the index accepted a blob check_device_tree refuses", size, 0);
        if (std::strcmp(diag.text, tree_diag.text) != 0) {
            std::fprintf(stderr, "dtb fuzz: \"%s\" against \"%s\"\n", diag.text, tree_diag.text);
            violated("the index refused a blob in other words", size, 0);
        }
        return 0;
    }

    (void)discover_psci_method(data);
    Uart uart;
    if (discover_console(data, uart, diag)) check_uart(uart);

    static Platform platform;  // ~10 KiB: kept off the stack
    if (discover_platform(data, platform, diag, DiscoveryMode::Boot)) {
        check_platform(platform);
        if (platform.memory_count == 0 || platform.memory_from_bootloader) violated("a boot without memory", 0, 0);
        print_platform_summary(platform);
    }
    // passage-inspect: the checks again, discovery that reports what the
    // bootloader has still to fill in, the summary and the needs.
    if (inspect_device_tree(data, size, platform, diag)) check_platform(platform);
    return 0;
}
