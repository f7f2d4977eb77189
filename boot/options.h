// Every passage.* boot option, read once from /chosen/bootargs into plain
// data; the rest of passage is handed what it needs from BootOptions and
// never sees the command line. A value that is not one of an option's words
// stops the boot with a message naming the option: a typo must not silently
// boot with the default. Options passage does not know are left alone.
#pragma once

#include "passage/diagnostic.h"
#include "passage/log.h"
#include "passage/pci/disposition.h"
#include "passage/result.h"

namespace passage {

// passage.selftest: off (skip the memory-type self-test), on (the default),
// fault (also take a deliberate EL2 data abort, to see the report).
enum class Selftest { Off, On, Fault };

// passage.probe_only: whether the guest DTB says linux,pci-probe-only.
// Default (not given): only where config space is direct.
enum class ProbeOnly { Off, On, Default };

struct BootOptions {
    LogLevel log_level = LogLevel::Info;  // passage.loglevel=error|warn|info|debug
    Selftest selftest = Selftest::On;     // passage.selftest=off|on|fault
    bool guest = true;                    // passage.guest=off: stop after the summary
    // passage.vpci: the user-facing name of virtual config space (vconfig);
    // off maps the ECAM into the guest directly.
    bool vconfig = true;
    ProbeOnly probe_only = ProbeOnly::Default;  // passage.probe_only=on|off
    bool smmu = true;                           // passage.smmu=off: SMMUs left as firmware set them
    bool smmu_2level = false;                   // passage.smmu_2level=on: two-level stream table
    bool dma_selftest = false;                  // passage.dma_selftest=on
    pci::DeviceLists devices;                   // passage.assign, passage.deny, passage.device_mmio
};

// Fills out from cmdline (nullptr: no bootargs, every default). Stops at
// the first bad option, its message in diag.
Status parse_boot_options(const char* cmdline, BootOptions& out, Diagnostic& diag);

}  // namespace passage
