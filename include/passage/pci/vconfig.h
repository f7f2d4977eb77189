// Virtual configuration space (issue 7): the guest's ECAM is not mapped;
// every config access traps and lands here.
//
//   - a hidden function reads all-ones and ignores writes (the guest sees no
//     device); a bridge that leads only to hidden functions is hidden too,
//     and so is everything behind a hidden bridge, and every function of a
//     device whose function 0 is hidden; a function 0 whose siblings are all
//     hidden reads as single-function;
//   - an assigned function's registers go to the hardware except what
//     passage owns: its BARs and expansion ROM (virtual registers: sizing
//     reads back the real size mask, an address is accepted only inside the
//     host bridge's window and clear of every other BAR and of the forbidden
//     ranges, and then stage 2 follows through the Stage2Mover), and, on a
//     bridge, the bus numbers (fixed) and the windows (accepted only inside
//     the host bridge's windows and still covering every BAR passage maps
//     behind it);
//   - Command.MEM passes to the hardware and stage 2 follows it (a BAR is
//     mapped only while its function decodes memory); bus mastering and
//     everything else passes through.
//
// The hardware keeps the last accepted (committed) values; what the guest
// wrote and passage has not accepted yet (one half of a 64-bit BAR, a window
// being reprogrammed register by register) stays virtual.
//
// At EL2, after enumerate() and build_plan():
//
//   static pci::VirtualConfig vcfg(table, ecam, {platform.bridges, platform.bridge_count}, mover);
//   pci::VconfigOptions opts;  parse_vconfig_options(bootargs, opts, diag);
//   vcfg.apply_policy(opts, plan_policy);
//   vcfg.set_forbidden({forbidden, pci::collect_forbidden(platform, hyp, plan, forbidden)});
//   vcfg.hide_in_stage2();              // unmaps BARs of hidden functions
//   vcfg.print_status();                // the boot log's device table
//   ... in the trap path, for an IPA inside an ECAM:
//   u64 v = vcfg.mmio_read(ipa, size);  vcfg.mmio_write(ipa, size, value);
#pragma once

#include <span>

#include "passage/discover.h"
#include "passage/pci/config.h"
#include "passage/pci/device_table.h"
#include "passage/plan/address_plan.h"
#include "passage/platform.h"
#include "passage/result.h"
#include "passage/stage2/descriptor.h"

namespace passage::pci {

// What passage does with the guest's stage 2 when a BAR moves or decoding
// changes. On the target: PageTable::unmap/map (break-before-make inside);
// in tests: a recorder. Ranges are whole pages, IPA = PA.
class Stage2Mover {
public:
    virtual Status unmap(IpaAddr ipa, u64 size) = 0;
    virtual Status map(IpaAddr ipa, PhysAddr pa, u64 size, stage2::Attrs attrs) = 0;

protected:
    Stage2Mover() = default;
    ~Stage2Mover() = default;  // never deleted through the interface
    Stage2Mover(const Stage2Mover&) = default;
    Stage2Mover& operator=(const Stage2Mover&) = default;
};

// What the guest gets of one function.
enum class Disposition : u8 {
    Assigned,    // passed through, BARs Normal-NC
    KeptDevice,  // passed through, BARs Device-nGnRE (passage.device_mmio)
    Hidden,      // not there for the guest
};

// Boot options: passage.assign=BDF,... (only these functions; bridges above
// them stay visible) and passage.deny=BDF,... (hidden). BDF as in
// passage.device_mmio: "0000:00:03.0" or "00:03.0".
struct VconfigOptions {
    static constexpr usize kMax = 16;
    plan::DeviceRef assign[kMax];
    usize assign_count = 0;
    bool assign_given = false;  // passage.assign present: everything else is hidden
    plan::DeviceRef deny[kMax];
    usize deny_count = 0;
};

// Reads passage.assign and passage.deny from the boot command line.
Status parse_vconfig_options(const char* cmdline, VconfigOptions& out, Diagnostic& diag);
// Parses one "BDF,BDF" list into refs (appends; count updated).
Status parse_bdf_list(const char* text, plan::DeviceRef* refs, usize max, usize& count, Diagnostic& diag);

// What no BAR may ever overlap, into out; returns the count: passage's own
// memory (`hyp`), every RAM range of the platform, and the plan's regions
// other than BARs (guest RAM, GIC, MMIO, ECAM, the PCI I/O window).
usize collect_forbidden(const Platform& p, MemRange hyp, const plan::GuestPlan& plan, std::span<MemRange> out);

class VirtualConfig {
public:
    static constexpr usize kMaxFunctions = kDefaultMaxFunctions;
    static constexpr usize kMaxForbidden = plan::GuestPlan::kMaxRegions + Platform::kMaxMemory + 1;
    static constexpr usize kMaxHosts = Platform::kMaxBridges;

    // Reads the hardware's BAR and window registers as enumerate() left
    // them. Every function starts Assigned until apply_policy().
    // hw[k] reaches the config space of hosts[k] (at most kMaxHosts).
    VirtualConfig(DeviceTable& table, std::span<ConfigAccess* const> hw, std::span<const PciHostBridge> hosts,
                  Stage2Mover& mover);
    // Every host bridge through the same accessor (one host bridge, or a
    // fake that serves them all).
    VirtualConfig(DeviceTable& table, ConfigAccess& hw, std::span<const PciHostBridge> hosts, Stage2Mover& mover);

    VirtualConfig(const VirtualConfig&) = delete;
    VirtualConfig& operator=(const VirtualConfig&) = delete;

    // Decides each function's disposition: BARs that did not fit, deny, the
    // quirk list (hidden with its reason), assign, device_mmio (kept
    // Device-nGnRE); then hides what sits behind a hidden bridge and bridges
    // that lead only to hidden functions.
    void apply_policy(const VconfigOptions& options, const plan::Policy& policy);

    // Copied (at most kMaxForbidden).
    void set_forbidden(std::span<const MemRange> ranges);

    // Unmaps the stage-2 ranges of every hidden function's BARs (the plan
    // mapped every assigned BAR) and of BARs whose function has memory
    // decoding off.
    Status hide_in_stage2();

    // Config accesses by function: size 1, 2 or 4 at a naturally aligned
    // reg below 4096; anything else reads all-ones and writes nothing.
    u32 read(u16 segment, Bdf bdf, u16 reg, unsigned size);
    void write(u16 segment, Bdf bdf, u16 reg, unsigned size, u32 value);

    // Whether ipa falls inside one host bridge's ECAM.
    bool claims(u64 ipa) const;
    // Config accesses by ECAM address (IPA = PA); an 8-byte access is two
    // 4-byte ones. An address outside every ECAM reads all-ones.
    u64 mmio_read(u64 ipa, unsigned size);
    void mmio_write(u64 ipa, unsigned size, u64 value);

    Disposition disposition(usize index) const { return state_[index].disp; }
    const char* reason(usize index) const { return state_[index].reason; }
    // "assigned", "hidden: <why>" or "kept Device-nGnRE: <why>".
    void status_text(usize index, char* buf, usize size) const;
    // One line per function: "PCI 0000:00:03.0 1af4:1041  hidden: passage.deny".
    void print_status() const;
    // Whether stage 2 maps this BAR (index 0-5, or PciBar::kRomIndex) now.
    bool mapped(usize index, unsigned bar) const { return state_[index].mapped[bar]; }

    // Counters (the benchmark's and the tests' figures).
    u64 refused = 0;  // writes refused (and logged)
    u64 moves = 0;    // BAR moves accepted

private:
    struct FnState {
        Disposition disp = Disposition::Assigned;
        char reason[56] = {};
        u32 bar_reg[6] = {};  // virtual BAR registers (64-bit BARs take two)
        u32 rom_reg = 0;
        bool mapped[PciFunction::kBars] = {};
        u8 halves[6] = {};  // 64-bit BARs: halves written since the last placement (1 low, 2 high)
        // Bridges: virtual window registers
        u16 io_base_limit = 0;  // 0x1c-0x1d
        u32 io_upper = 0;       // 0x30
        u32 mem = 0;            // 0x20
        u32 pref = 0;           // 0x24
        u32 pref_upper = 0;     // 0x28
        u32 pref_limit_upper = 0;  // 0x2c
        // The window registers as the hardware holds them (the last accepted)
        struct {
            u16 io_base_limit = 0;
            u32 io_upper = 0, mem = 0, pref = 0, pref_upper = 0, pref_limit_upper = 0;
        } committed;
        // Read-only low bits as the hardware reports them
        u8 io_cap = 0;
        u8 pref_cap = 0;
        bool mem_on = false;    // Command.MEM as the hardware holds it
        bool single_function = false;  // function 0 with every sibling hidden: multi-function bit reads 0
    };

    void read_hardware();
    i32 index_of(u16 segment, Bdf bdf) const;
    const PciHostBridge* host_of(const PciFunction& f) const;
    ConfigAccess& hw(const PciFunction& f) const;  // the accessor of f's host bridge
    bool visible(usize i) const { return i < kMaxFunctions && state_[i].disp != Disposition::Hidden; }
    void hide(usize i, const char* fmt, ...) __attribute__((format(printf, 3, 4)));
    bool is_descendant(usize child, usize ancestor) const;

    // Register classification
    bool is_bar_reg(const PciFunction& f, u16 dword) const;
    u16 rom_reg_offset(const PciFunction& f) const { return f.is_bridge ? u16(0x38) : u16(0x30); }
    bool is_window_reg(const PciFunction& f, u16 dword) const;
    u32 virtual_dword(usize i, u16 dword);
    void write_virtual(usize i, u16 dword, u32 value, u32 byte_mask);

    // BARs
    u32 bar_writable(const PciBar& bar, bool upper) const;
    u32 bar_type_bits(const PciBar& bar) const;
    const PciBar* bar_at(const PciFunction& f, unsigned slot, bool& upper) const;
    void bar_written(usize i, unsigned bar_index, bool upper);
    void place_bar(usize i, PciBar& bar, u64 pci);  // commit, or refuse and log
    void settle_pending_bars(usize i);
    void reprogram(usize i);  // the committed BARs, ROM, bus numbers and windows, into the hardware
    void rom_written(usize i);
    bool bar_place_ok(usize i, const PciBar& bar, u64 pci, u64& cpu, const char*& why);
    bool commit_bar(usize i, PciBar& bar, u64 pci, u64 cpu, const char*& why);
    void restore_virtual_bar(usize i, const PciBar& bar);
    stage2::Attrs attrs_for(usize i, const PciBar& bar) const;
    Status map_bar(usize i, unsigned bar);
    Status unmap_bar(usize i, unsigned bar);
    void decoding_changed(usize i, bool on);

    // Bridge windows
    void window_written(usize i, WindowKind kind);
    bool window_ok(usize i, WindowKind kind, u64 base, u64 limit, bool open, const char*& why);
    void program_window(usize i, WindowKind kind);
    void write_window(const PciFunction& f, const FnState& s, WindowKind kind);  // the committed registers
    bool virtual_window(usize i, WindowKind kind, u64& base, u64& limit) const;

    bool overlaps_forbidden(u64 base, u64 size) const;
    bool overlaps_foreign_window(usize i, bool io, u64 base, u64 size, const char*& why);
    void log_refused(usize i, const char* what, u64 addr, const char* why);

    DeviceTable& table_;
    ConfigAccess* hw_[kMaxHosts] = {};
    std::span<const PciHostBridge> hosts_;
    Stage2Mover& mover_;
    FnState state_[kMaxFunctions];
    MemRange forbidden_[kMaxForbidden];
    usize forbidden_count_ = 0;
    char why_[64] = {};  // the reason of the last refusal, when it names a function
};

}  // namespace passage::pci
