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
    passage::Platform platform;
    if (auto st = passage::inspect_device_tree(aligned.data(), blob.size(), platform, diag); !st) {
        std::fprintf(stderr, "passage-inspect: %s: %s\n", argv[1], diag.text);
        return 1;
    }
    return 0;
}
