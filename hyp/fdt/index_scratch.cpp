// The scratch index of the blob-taking entry points (include/passage/fdt/
// index.h): ~290 KiB, in a file of its own so that only what calls it (never
// the image) carries it.
#include "passage/fdt/index.h"

namespace passage::fdt {

namespace {
TreeIndex g_scratch;
}  // namespace

const TreeIndex* scratch_index(const void* fdt, Diagnostic& diag)
{
    if (!g_scratch.build(fdt, diag)) return nullptr;
    return &g_scratch;
}

}  // namespace passage::fdt
