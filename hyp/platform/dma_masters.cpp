// Which devices master DMA and whether the tree says they are coherent:
// what a board without an SMMU risks by passing them through.
#include "discover_steps.h"
#include "passage/fdt/node.h"

namespace passage::discovery {

using fdt::compatible;
using fdt::node_path;
using fdt::string_property_is;

namespace {

// The DMA properties asked of every node (the index knows which it has).
constexpr fdt::Name kDmaProps[] = {fdt::Name::Iommus, fdt::Name::DmaCells, fdt::Name::DmaCoherent, fdt::Name::DmaNoncoherent};

// of_dma_is_coherent: the nearest statement on the node or an ancestor,
// given the parent's answer (-1: nothing said yet, which means not).
int dma_statement(const fdt::TreeIndex& t, int node, int parent)
{
    if (t.has(node, fdt::Name::DmaNoncoherent)) return 0;
    if (t.has(node, fdt::Name::DmaCoherent)) return 1;
    return parent;
}

// True if `word` occurs in s[0, len) at `at`.
bool occurs_at(const char* s, int len, int at, const char* word)
{
    int j = 0;
    while (word[j] != '\0' && at + j < len && s[at + j] == word[j]) ++j;
    return word[j] == '\0';
}

// The families whose controllers master DMA, and the words that name their
// PHYs or power helpers instead.
constexpr const char* kFamilies[] = {"sdhci", "mmc", "mshc", "usb", "xhci", "ehci", "ohci", "dwc2", "dwc3",
                                     "ahci", "sata", "gmac", "dwmac", "ethernet", "stmmac", "virtio,mmio", "fw-cfg"};
constexpr const char* kNot[] = {"phy", "pwrseq", "xceiv", "connector", "regulator", "vbus"};

// Both lists' words by first byte: words[start[b], start[b + 1]) start
// with byte b; an index below kNotCount is a kNot word.
constexpr u32 kNotCount = sizeof kNot / sizeof kNot[0];
constexpr u32 kWords = kNotCount + sizeof kFamilies / sizeof kFamilies[0];
struct WordsByFirstByte {
    u8 start[257] = {};
    u8 words[kWords] = {};
    static constexpr const char* word(u32 i) { return i < kNotCount ? kNot[i] : kFamilies[i - kNotCount]; }
    constexpr WordsByFirstByte()
    {
        for (u32 i = 0; i < kWords; ++i) ++start[u8(word(i)[0]) + 1];
        for (u32 b = 1; b <= 256; ++b) start[b] = u8(start[b] + start[b - 1]);
        u8 next[256] = {};
        for (u32 i = 0; i < kWords; ++i) {
            const u8 b = u8(word(i)[0]);
            words[start[b] + next[b]++] = u8(i);
        }
    }
};
constexpr WordsByFirstByte kByFirst;

// One entry of a compatible list names a DMA-capable controller: a family
// word occurs in it and no PHY or helper word does. One pass over the
// entry, each position tried against the words starting with its byte.
bool dma_capable_compatible(const char* c, int len)
{
    bool family = false;
    for (int at = 0; at < len; ++at) {
        const u8 b = u8(c[at]);
        for (u32 k = kByFirst.start[b]; k < kByFirst.start[b + 1]; ++k) {
            const u32 w = kByFirst.words[k];
            if (!occurs_at(c, len, at, WordsByFirstByte::word(w))) continue;
            if (w < kNotCount) return false;
            family = true;
        }
    }
    return family;
}

bool dma_master(const fdt::TreeIndex& t, int node)
{
    // A bus stating its children's coherency is not a master itself.
    if (compatible(t, node, "simple-bus")) return false;
    for (fdt::Name prop : kDmaProps)
        if (t.has(node, prop)) return true;
    if (is_host_bridge(t, node)) return true;
    if (string_property_is(t, node, fdt::Name::DeviceType, "network")) return true;
    int len = 0;
    const char* c = t.compatible(node, &len);
    for (int at = 0; c != nullptr && at < len;) {
        int n = 0;
        while (at + n < len && c[at + n] != '\0') ++n;
        if (dma_capable_compatible(c + at, n)) return true;
        at += n + 1;
    }
    return false;
}

}  // namespace

// One walk in tree order, with each depth's inherited coherency and
// status: a node's parent is the last node seen one level up.
void discover_dma(const fdt::TreeIndex& t, Platform& p)
{
    constexpr int kMaxDepth = 32;
    int coherent[kMaxDepth];
    bool enabled[kMaxDepth];
    coherent[0] = dma_statement(t, 0, -1);
    enabled[0] = true;
    DmaMasters& d = p.dma;
    for (int node = 1; node < t.count(); ++node) {
        const int depth = t.depth(node);
        if (depth >= kMaxDepth) continue;  // deeper than any real tree: not looked at
        enabled[depth] = enabled[depth - 1] && t.enabled(node);
        coherent[depth] = dma_statement(t, node, coherent[depth - 1]);
        if (!enabled[depth] || !dma_master(t, node)) continue;
        ++d.count;
        if (coherent[depth] == 1) continue;
        if (d.noncoherent++ == 0) node_path(t, node, d.first_noncoherent, sizeof d.first_noncoherent);
    }
}

}  // namespace passage::discovery
