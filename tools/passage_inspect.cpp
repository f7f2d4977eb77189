// passage-inspect: reads a DTB file and prints the platform summary passage
// would print at boot, so a board's device tree can be checked on the host,
// then what passage needs of a board and whether this tree has it. A bad
// blob gets a clear message and a non-zero exit, never a crash; a readable
// tree of a board passage cannot run on exits 0 and says why.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "passage/discover.h"
#include "passage/log.h"

namespace {

void to_stdout(const char* text, std::size_t len) { std::fwrite(text, 1, len, stdout); }

// One line per requirement of docs/boards.md: "yes" or "no" and why.
void print_needs(const passage::Platform& p)
{
    using passage::PsciMethod;
    std::printf("needs:\n");
    if (p.uart.pl011) std::printf("  console    yes: pl011 %s\n", p.uart.path);
    else std::printf("  console    no: %s (passage drives only a PL011)\n", p.uart.problem);
    if (p.psci != PsciMethod::None) std::printf("  psci       yes: %s\n", p.psci == PsciMethod::Smc ? "smc" : "hvc");
    else std::printf("  psci       no: no PSCI node with method smc or hvc (firmware may add one at boot)\n");
    std::printf("  gic        yes: GICv%d\n", p.gic.version == passage::GicVersion::V3 ? 3 : 2);
    std::size_t enabled_other = 0;
    for (std::size_t i = 0; i < p.other_bridge_count; ++i) enabled_other += p.other_bridges[i].enabled ? 1 : 0;
    std::printf("  pci        %zu pci-host-ecam-generic host bridge(s) passage drives; %zu other (%zu enabled) it does not\n",
                p.bridge_count, p.other_bridge_count, enabled_other);
}

int usage()
{
    std::fprintf(stderr, "usage: passage-inspect <file.dtb>\n");
    return 2;
}

}  // namespace

int main(int argc, char** argv)
{
    if (argc != 2 || std::strcmp(argv[1], "--help") == 0) return usage();
    std::FILE* f = std::fopen(argv[1], "rb");
    if (f == nullptr) {
        std::fprintf(stderr, "passage-inspect: cannot open %s: %s\n", argv[1], std::strerror(errno));
        return 1;
    }
    std::vector<unsigned char> blob;
    unsigned char buf[65536];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) blob.insert(blob.end(), buf, buf + n);
    std::fclose(f);
    // libfdt wants 8-byte alignment; a std::vector<u64> copy guarantees it.
    std::vector<unsigned long long> aligned((blob.size() + 7) / 8 + 1, 0);
    if (!blob.empty()) std::memcpy(aligned.data(), blob.data(), blob.size());

    passage::set_log_sink(to_stdout);
    passage::Diagnostic diag;
    if (auto s = passage::check_device_tree(aligned.data(), blob.size(), diag); !s) {
        std::fprintf(stderr, "passage-inspect: %s: %s\n", argv[1], diag.text);
        return 1;
    }
    passage::Platform platform;
    if (auto s = passage::discover_platform(aligned.data(), platform, diag, passage::ConsoleCheck::Report); !s) {
        std::fprintf(stderr, "passage-inspect: %s: %s\n", argv[1], diag.text);
        return 1;
    }
    passage::print_platform_summary(platform);
    print_needs(platform);
    return 0;
}
