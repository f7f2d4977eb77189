// Which devices master DMA and whether the tree says they are coherent:
// what a board without an SMMU risks by passing them through.
#include <libfdt.h>

#include "discover_steps.h"
#include "passage/fdt/node.h"

namespace passage::discovery {

using fdt::compatible;
using fdt::node_path;
using fdt::string_property_is;

namespace {

// The DMA properties asked of every node, and whether the tree's strings
// block holds their names at all: a lookup of a name no property can have
// is a walk of the node's properties for nothing.
enum DmaProp { kIommus, kDmaCells, kCoherent, kNoncoherent, kDmaProps };
constexpr const char* kDmaPropNames[kDmaProps] = {"iommus", "#dma-cells", "dma-coherent", "dma-noncoherent"};

struct DmaNames {
    bool may_have[kDmaProps];
    explicit DmaNames(const void* fdt)
    {
        for (int i = 0; i < kDmaProps; ++i)
            may_have[i] = fdt::names_may_contain(fdt, kDmaPropNames[i], __builtin_strlen(kDmaPropNames[i]) + 1);
    }
    bool has(const void* fdt, int node, DmaProp prop) const
    {
        return may_have[prop] && fdt_getprop(fdt, node, kDmaPropNames[prop], nullptr) != nullptr;
    }
};

// of_dma_is_coherent: the nearest statement on the node or an ancestor,
// given the parent's answer (-1: nothing said yet, which means not).
int dma_statement(const void* fdt, int node, int parent, const DmaNames& names)
{
    if (names.has(fdt, node, kNoncoherent)) return 0;
    if (names.has(fdt, node, kCoherent)) return 1;
    return parent;
}

bool contains(const char* s, int len, const char* word)
{
    for (int i = 0; i < len; ++i) {
        int j = 0;
        while (word[j] != '\0' && i + j < len && s[i + j] == word[j]) ++j;
        if (word[j] == '\0') return true;
    }
    return false;
}

// One entry of a compatible list names a DMA-capable controller: the
// families whose controllers master DMA, not their PHYs or power helpers.
bool dma_capable_compatible(const char* c, int len)
{
    static constexpr const char* kFamilies[] = {"sdhci", "mmc", "mshc", "usb", "xhci", "ehci", "ohci", "dwc2", "dwc3",
                                                "ahci", "sata", "gmac", "dwmac", "ethernet", "stmmac", "virtio,mmio", "fw-cfg"};
    static constexpr const char* kNot[] = {"phy", "pwrseq", "xceiv", "connector", "regulator", "vbus"};
    for (const char* n : kNot)
        if (contains(c, len, n)) return false;
    for (const char* f : kFamilies)
        if (contains(c, len, f)) return true;
    return false;
}

bool dma_master(const void* fdt, int node, const DmaNames& names)
{
    // A bus stating its children's coherency is not a master itself.
    if (compatible(fdt, node, "simple-bus")) return false;
    for (int prop = 0; prop < kDmaProps; ++prop)
        if (names.has(fdt, node, static_cast<DmaProp>(prop))) return true;
    if (is_host_bridge(fdt, node)) return true;
    if (string_property_is(fdt, node, "device_type", "network")) return true;
    int len = 0;
    const char* c = static_cast<const char*>(fdt_getprop(fdt, node, "compatible", &len));
    for (int at = 0; c != nullptr && at < len;) {
        int n = 0;
        while (at + n < len && c[at + n] != '\0') ++n;
        if (dma_capable_compatible(c + at, n)) return true;
        at += n + 1;
    }
    return false;
}

}  // namespace

// One walk, with each depth's inherited coherency and status, so the cost
// stays linear in the tree (fdt_parent_offset is itself a walk).
void discover_dma(const void* fdt, Platform& p)
{
    constexpr int kMaxDepth = 32;
    int coherent[kMaxDepth];
    bool enabled[kMaxDepth];
    const DmaNames names(fdt);
    coherent[0] = dma_statement(fdt, 0, -1, names);
    enabled[0] = true;
    DmaMasters& d = p.dma;
    int depth = 0;
    for (int node = fdt_next_node(fdt, 0, &depth); node >= 0 && depth > 0; node = fdt_next_node(fdt, node, &depth)) {
        if (depth >= kMaxDepth) continue;  // deeper than any real tree: not looked at
        enabled[depth] = enabled[depth - 1] && fdt::node_enabled(fdt, node);
        coherent[depth] = dma_statement(fdt, node, coherent[depth - 1], names);
        if (!enabled[depth] || !dma_master(fdt, node, names)) continue;
        ++d.count;
        if (coherent[depth] == 1) continue;
        if (d.noncoherent++ == 0) node_path(fdt, node, d.first_noncoherent, sizeof d.first_noncoherent);
    }
}

}  // namespace passage::discovery
