// Portable: built into the image and into tests/unit/boot.
#include "options.h"

#include "passage/cmdline.h"
#include "passage/format.h"

namespace passage {
namespace {

// The index of passage.<name>'s value in `words`, or `absent` when it is
// not given; false (diag says why) for any other value.
bool word(const char* cmdline, const char* name, std::span<const char* const> words, int absent, const char* expected,
          int& out, Diagnostic& diag)
{
    char bad[32];
    out = cmdline_word(cmdline, name, words, absent, bad, sizeof bad);
    if (out >= 0) return true;
    format(diag.text, sizeof diag.text, "boot option passage.%s=%s: expected %s", name, bad, expected);
    return false;
}

bool on_off(const char* cmdline, const char* name, bool& out, Diagnostic& diag)
{
    static constexpr const char* kOffOn[] = {"off", "on"};
    int w = 0;
    if (!word(cmdline, name, kOffOn, out ? 1 : 0, "on or off", w, diag)) return false;
    out = w == 1;
    return true;
}

// passage.<name>=BDF,BDF into refs; absent leaves count at 0.
bool device_list(const char* cmdline, const char* name, pci::DeviceRef* refs, usize& count, Diagnostic& diag,
                 bool* given = nullptr)
{
    char buf[256];
    count = 0;
    if (!cmdline_option(cmdline, name, buf, sizeof buf)) return true;
    if (given != nullptr) *given = true;
    Diagnostic inner;
    if (pci::parse_bdf_list(buf, refs, pci::DeviceLists::kMax, count, inner)) return true;
    format(diag.text, sizeof diag.text, "passage.%s: %s", name, inner.text);
    return false;
}

}  // namespace

Status parse_boot_options(const char* cmdline, BootOptions& out, Diagnostic& diag)
{
    out = BootOptions{};
    static constexpr const char* kLevels[] = {"error", "warn", "info", "debug"};  // LogLevel's order
    static constexpr const char* kSelftest[] = {"off", "on", "fault"};           // Selftest's order
    static constexpr const char* kProbeOnly[] = {"off", "on"};                   // ProbeOnly's order
    int level = 0, selftest = 0, probe_only = 0;
    pci::DeviceLists& d = out.devices;
    bool ok = word(cmdline, "loglevel", kLevels, int(out.log_level), "error, warn, info or debug", level, diag) &&
              word(cmdline, "selftest", kSelftest, int(out.selftest), "on, off or fault", selftest, diag) &&
              on_off(cmdline, "guest", out.guest, diag) && on_off(cmdline, "smmu_2level", out.smmu_2level, diag) &&
              on_off(cmdline, "smmu", out.smmu, diag) && on_off(cmdline, "vpci", out.vconfig, diag) &&
              device_list(cmdline, "assign", d.assign, d.assign_count, diag, &d.assign_given) &&
              device_list(cmdline, "deny", d.deny, d.deny_count, diag) &&
              device_list(cmdline, "device_mmio", d.device_mmio, d.device_mmio_count, diag) &&
              word(cmdline, "probe_only", kProbeOnly, int(out.probe_only), "on or off", probe_only, diag) &&
              on_off(cmdline, "dma_selftest", out.dma_selftest, diag);
    if (!ok) return Failure{Error::InvalidArgument, 0};
    out.log_level = LogLevel(level);
    out.selftest = Selftest(selftest);
    out.probe_only = ProbeOnly(probe_only);
    return {};
}

}  // namespace passage
