// Platform discovery: reads the flattened device tree through its index
// (fdt::TreeIndex, built once by the check) and fills a Platform. Bad input
// is refused with a message naming the node and what is wrong; nothing
// here trusts the blob.
//
// Each function that takes the blob itself (`const void* fdt`) indexes it
// first, every call: for tests, fuzzers and one-off questions. A boot
// checks and indexes once and asks the index.
#pragma once

#include "passage/diagnostic.h"
#include "passage/fdt/index.h"
#include "passage/platform.h"
#include "passage/result.h"

namespace passage {

// Checks the blob's header and structure against at most max_size bytes.
Status check_device_tree(const void* fdt, usize max_size, Diagnostic& diag);

// The same checks of the header, then the index built, which checks the
// structure as the above does (fdt::TreeIndex::build) in the same pass.
Status check_device_tree(const void* fdt, usize max_size, fdt::TreeIndex& index, Diagnostic& diag);

// Finds only the console, so a boot can start printing before the rest: the
// node /chosen/stdout-path names (an alias or a path, ":115200n8" ignored),
// else the first arm,pl011. It fails only when there is no console node or
// its registers cannot be read; a console of a kind passage has no driver for
// comes back with kind None and `problem` saying so (a silent boot).
Status discover_console(const fdt::TreeIndex& tree, Uart& uart, Diagnostic& diag);
Status discover_console(const void* fdt, Uart& uart, Diagnostic& diag);

// Finds the PSCI conduit (needed to power off even when the rest fails).
PsciMethod discover_psci_method(const fdt::TreeIndex& tree);
PsciMethod discover_psci_method(const void* fdt);

// What full discovery insists on. A boot needs memory; a board check
// (passage-inspect) reports what the bootloader has still to fill in and
// goes on. Neither needs a console: without one a boot is silent.
enum class DiscoveryMode { Boot, Inspect };

// What discover_console answered for a tree, so that full discovery of the
// same tree need not look again (the boot finds its console first, before
// there is a log).
struct ConsoleAnswer {
    Status status;
    Uart uart;
    Diagnostic diag;  // the message, when status failed
};

// Full discovery. The blob must have passed check_device_tree. Warnings about
// things passage can live without go to the log. `console`, if given, is
// discover_console's answer for this same, unchanged tree.
Status discover_platform(const fdt::TreeIndex& tree, Platform& out, Diagnostic& diag, DiscoveryMode mode = DiscoveryMode::Boot,
                         const ConsoleAnswer* console = nullptr);
Status discover_platform(const void* fdt, Platform& out, Diagnostic& diag, DiscoveryMode mode = DiscoveryMode::Boot,
                         const ConsoleAnswer* console = nullptr);

// The platform summary printed at boot and by passage-inspect.
void print_platform_summary(const Platform& p);

// What passage needs of a board (docs/boards.md) and whether this platform
// has it, one line each: passage-inspect's verdict after the summary.
void print_board_needs(const Platform& p);

// passage-inspect's whole path over a blob of `size` bytes: the checks,
// discovery in Inspect mode, then the summary and the needs, to the log. Fails only on a blob that is
// not a usable device tree.
Status inspect_device_tree(const void* fdt, usize size, Platform& out, Diagnostic& diag);

}  // namespace passage
