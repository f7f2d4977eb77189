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
// guard bytes after it), a success is a tree fdt_check_full accepts with
// exactly the memory, /chosen and probe-only edits asked for, and a failure
// is a message. And it says what the step-by-step libfdt build it replaced
// says (guest/reference_guest_dtb.cpp): the same tree, node by node and
// property by property, or the same failure; only where the old build ran
// out of room in a tight buffer may the one pass succeed. Not compared: a
// tree with a property after a child node (property_after_a_child).
#include <libfdt.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "fuzz_input.h"
#include "guest/reference_guest_dtb.h"
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

// True if a node's name holds a '/': libfdt's fdt_get_path, which the old
// build's messages used, then drops only the part after it when it climbs
// back, and names later nodes wrongly; the one pass names them by their
// ancestors.
bool slash_in_a_name(const void* fdt)
{
    int depth = 0;
    for (int n = 0; n >= 0 && depth >= 0; n = fdt_next_node(fdt, n, &depth)) {
        int len = 0;
        const char* name = fdt_get_name(fdt, n, &len);
        if (name != nullptr && len > 0 && std::memchr(name, '/', usize(len)) != nullptr) return true;
    }
    return false;
}

// A property of the old build's tree the one pass leaves out: the old build
// deleted or set only the first property of a name, so a second one
// outlived the edit. Every iommu-map, iommu-map-mask and iommus, and in
// /chosen every bootargs, linux,initrd-start and linux,initrd-end the
// config removes and the second of each it sets, and a second
// linux,pci-probe-only.
bool kept_by_the_old_build_only(const void* fdt, int node, int prop, const GuestDtbConfig& cfg, const char* (&seen)[4],
                                int& seen_count)
{
    const char* name = nullptr;
    if (fdt_getprop_by_offset(fdt, prop, &name, nullptr) == nullptr) return false;
    for (const char* n : {"iommu-map", "iommu-map-mask", "iommus"})
        if (std::strcmp(name, n) == 0) return true;
    if (node != fdt_path_offset(fdt, "/chosen")) return false;
    const bool removed[] = {cfg.bootargs == nullptr, !cfg.has_initrd, !cfg.has_initrd, false};
    const char* names[] = {"bootargs", "linux,initrd-start", "linux,initrd-end", "linux,pci-probe-only"};
    for (int k = 0; k < 4; ++k) {
        if (std::strcmp(name, names[k]) != 0) continue;
        if (removed[k]) return true;
        for (int i = 0; i < seen_count; ++i)
            if (std::strcmp(seen[i], names[k]) == 0) return true;
        seen[seen_count++] = names[k];
        return false;
    }
    return false;
}

// True if a property follows a child node: libfdt (and Linux) never see
// it, until every node between it and its node's properties is deleted.
// The old build deleted nodes step by step, so such a property joined its
// node's at one step or another and counted in the steps after; the one
// pass copies it as it is. Trees like this are not compared.
bool property_after_a_child(const void* fdt)
{
    int next = 0;
    bool after_end = false;
    for (;;) {
        const int at = next;
        const u32 tag = fdt_next_tag(fdt, at, &next);
        if (next < 0 || tag == FDT_END) return false;
        if (tag == FDT_PROP && after_end) return true;
        if (tag == FDT_END_NODE) after_end = true;
        else if (tag == FDT_BEGIN_NODE) after_end = false;
    }
}

// The two trees say the same: boot CPU, reservations, and every node in
// order with its depth, name and properties in order.
void check_same_tree(const void* a, const void* b, const GuestDtbConfig& cfg)
{
    if (fdt_boot_cpuid_phys(a) != fdt_boot_cpuid_phys(b)) violated("boot_cpuid_phys differs", 0, 0);
    if (fdt_num_mem_rsv(a) != fdt_num_mem_rsv(b)) violated("reservation count differs", u64(fdt_num_mem_rsv(a)), u64(fdt_num_mem_rsv(b)));
    for (int i = 0; i < fdt_num_mem_rsv(a); ++i) {
        uint64_t aa = 0, as = 0, ba = 0, bs = 0;
        fdt_get_mem_rsv(a, i, &aa, &as);
        fdt_get_mem_rsv(b, i, &ba, &bs);
        if (aa != ba || as != bs) violated("a reservation differs", u64(i), aa);
    }
    int da = 0, db = 0;
    for (int na = 0, nb = 0;;) {
        if ((na < 0) != (nb < 0)) violated("one tree has more nodes", u64(na), u64(nb));
        if (na < 0) return;
        int la = 0, lb = 0;
        const char* an = fdt_get_name(a, na, &la);
        const char* bn = fdt_get_name(b, nb, &lb);
        if (da != db || an == nullptr || bn == nullptr || la != lb || std::memcmp(an, bn, usize(la)) != 0)
            violated("a node differs", u64(na), u64(nb));
        int pa = fdt_first_property_offset(a, na), pb = fdt_first_property_offset(b, nb);
        const char* seen[4] = {};
        int seen_count = 0;
        auto skip = [&] {
            while (pa >= 0 && kept_by_the_old_build_only(a, na, pa, cfg, seen, seen_count)) pa = fdt_next_property_offset(a, pa);
        };
        for (skip(); pa >= 0 && pb >= 0; pa = fdt_next_property_offset(a, pa), pb = fdt_next_property_offset(b, pb), skip()) {
            const char *pan = nullptr, *pbn = nullptr;
            int al = 0, bl = 0;
            const void* av = fdt_getprop_by_offset(a, pa, &pan, &al);
            const void* bv = fdt_getprop_by_offset(b, pb, &pbn, &bl);
            if (av == nullptr || bv == nullptr || std::strcmp(pan, pbn) != 0 || al != bl || std::memcmp(av, bv, usize(al)) != 0)
                violated("a property differs", u64(pa), u64(pb));
        }
        if ((pa < 0) != (pb < 0)) violated("a node has more properties", u64(na), u64(nb));
        na = fdt_next_node(a, na, &da);
        nb = fdt_next_node(b, nb, &db);
        if (da < 0) na = -1;  // past the root's end
        if (db < 0) nb = -1;
    }
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
    alignas(8) static u8 reference[kBufSize];
    Diagnostic ref_diag;
    auto want = build_guest_dtb_reference(data, reference, out_size, cfg, ref_diag);
    const bool ref_out_of_room = !want && std::strstr(ref_diag.text, "out of room") != nullptr;
    const bool ref_edit_limit = !want && std::strstr(ref_diag.text, "too many") != nullptr;
    const bool compare = !property_after_a_child(data);
    if (!built) {
        if (diag.text[0] == '\0') violated("a failure without a message", u64(built.error()), 0);
        // The one pass keeps a stack of open nodes: deeper trees are refused.
        if (compare && want && std::strstr(diag.text, "nests deeper than") == nullptr)
            violated("the one pass fails where the libfdt build succeeds", u64(built.error()), 0);
        if (want) return 0;
        if (compare && !ref_out_of_room && !ref_edit_limit &&
            (built.error() != want.error() || built.error_addr() != want.error_addr() ||
             (std::strcmp(diag.text, ref_diag.text) != 0 && !slash_in_a_name(data)))) {
            std::fprintf(stderr, "one pass: %s\nlibfdt:   %s\n", diag.text, ref_diag.text);
            violated("a different failure", u64(built.error()), u64(want.error()));
        }
        return 0;
    }
    if (compare && !want && !ref_out_of_room && !ref_edit_limit) {
        std::fprintf(stderr, "libfdt: %s\n", ref_diag.text);
        violated("the one pass succeeds where the libfdt build fails", 0, u64(want.error()));
    }
    if (compare && want) check_same_tree(reference, buffer, cfg);
    if (*built > out_size) violated("the packed size exceeds the buffer", *built, out_size);
    check_output(buffer, *built, cfg);
    return 0;
}
