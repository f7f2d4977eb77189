// Virtual configuration space: the guest's ECAM is not mapped; every config
// access traps and lands here. The model is KVM/VFIO's: what the guest
// programs is the guest's address space, not the hardware's.
//
//   - The physical BARs, ROM BARs, bridge windows and bus numbers stay where
//     passage's enumeration put them while the guest runs (they are written
//     again only to restore them after a reset). The physical ROM enable bit
//     follows the guest's ROM mapping.
//   - Guest writes to BARs, ROM BARs and bridge windows land in virtual
//     registers with the hardware's semantics (size masks, read-only bits,
//     64-bit halves in any order, window capability bits, ROM enable).
//     Nothing is refused.
//   - Stage 2 shows the guest what a real fabric would route with its values:
//     a BAR is mapped (IPA = the CPU address its guest value stands for, PA =
//     its fixed physical address) exactly when its function decodes, every
//     bridge above decodes and has it inside a virtual window, and it lies
//     inside a host bridge window; a ROM also needs its enable bit. A BAR
//     that overlaps RAM, passage or another non-PCI region, or another BAR
//     already mapped, is left unmapped until the conflict goes away.
//   - A BAR whose guest address has another offset in its page than the
//     physical one, or that shares a page with another BAR, is not mapped but
//     trapped: each access is forwarded to the physical BAR (slow path). I/O
//     BARs are always trapped: the host bridge's I/O window is not mapped and
//     the guest's port numbers are virtual too.
//   - Hidden functions read all-ones and ignore writes. Capabilities the model
//     cannot follow (Resizable BAR, SR-IOV, ATS, PRI, PASID) are unlinked;
//     ACS control reads as passage set it; hot-plug is not offered; a port
//     with hidden functions behind it ignores secondary bus reset, link
//     disable, slot power-off, D3 and DPC triggers.
//
// At EL2, after enumerate(), Dispositions::decide() and build_plan() (whose
// stage 2 maps every visible BAR where enumeration put it):
//
//   static pci::VirtualConfig vcfg(table, disp, ecams, hosts, mover, io);
//   vcfg.set_forbidden(ranges);
//   vcfg.start();                        // stage 2 as the guest's fabric routes now
//   ... in the trap path (boot/vconfig.cpp), under one lock:
//   if (auto h = vcfg.find_ecam(ipa); h.claimed) v = vcfg.read_at(h, size);        // config space
//   else if (vcfg.claims_forwarded(ipa)) vcfg.forward_read(ipa, size, v);         // trapped BARs, I/O ports
#pragma once

#include <span>

#include "passage/lazy_array.h"
#include "passage/pci/config.h"
#include "passage/pci/device_table.h"
#include "passage/pci/disposition.h"
#include "passage/platform.h"
#include "passage/result.h"
#include "passage/stage2/descriptor.h"

namespace passage::pci {

// What passage does with the guest's stage 2 when a BAR's mapping changes.
// On the target: PageTable::unmap/map (break-before-make inside); in tests:
// a recorder. Ranges are whole pages.
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

// Accesses to physical BARs, for the trapped ones: on the target, loads and
// stores to passage's own Device mapping of the host bridge windows.
class PhysIo {
public:
    virtual u64 read(PhysAddr pa, unsigned size) = 0;
    virtual void write(PhysAddr pa, unsigned size, u64 value) = 0;

protected:
    PhysIo() = default;
    ~PhysIo() = default;
    PhysIo(const PhysIo&) = default;
    PhysIo& operator=(const PhysIo&) = default;
};

// How stage 2 shows one BAR to the guest now.
enum class BarRoute : u8 {
    Off,       // not decoded by the guest's fabric (or sizing, or outside every window)
    Conflict,  // decoded, but over RAM, passage, a device region or another mapped BAR: not mapped
    Direct,    // mapped: guest page -> physical page
    Trapped,   // decoded, not mapped: each access is forwarded (sub-page BARs, I/O BARs)
};

class VirtualConfig {
public:
    static constexpr usize kMaxFunctions = Dispositions::kMax;
    static constexpr usize kMaxHosts = Platform::kMaxBridges;
    static constexpr usize kMaxForbidden = 200;
    static constexpr usize kSlots = kMaxFunctions * PciFunction::kBars;
    static constexpr usize kMaxExtCaps = 32;

    // Reads the hardware's registers as enumerate() left them: the guest's
    // view starts equal to the physical one, and stage 2 is taken to map
    // every memory BAR and ROM of a visible function where it is (the plan).
    // hw[k] reaches the config space of hosts[k] (at most kMaxHosts).
    VirtualConfig(DeviceTable& table, const Dispositions& disp, std::span<ConfigAccess* const> hw,
                  std::span<const PciHostBridge> hosts, Stage2Mover& mover, PhysIo& io);
    // Every host bridge through the same accessor (one host bridge, or a
    // fake that serves them all).
    VirtualConfig(DeviceTable& table, const Dispositions& disp, ConfigAccess& hw, std::span<const PciHostBridge> hosts,
                  Stage2Mover& mover, PhysIo& io);

    VirtualConfig(const VirtualConfig&) = delete;
    VirtualConfig& operator=(const VirtualConfig&) = delete;

    // What no BAR may be mapped over (copied; at most kMaxForbidden).
    void set_forbidden(std::span<const MemRange> ranges);

    // Turns off decoding and bus mastering of hidden functions, then brings
    // stage 2 to what the guest's fabric routes (unmapping what the plan
    // mapped but the guest must not reach). Fails only when stage 2 cannot
    // be changed.
    Status start();

    // Config accesses by function: size 1, 2 or 4 at a naturally aligned
    // reg below 4096; anything else reads all-ones and writes nothing.
    u32 read(u16 segment, Bdf bdf, u16 reg, unsigned size);
    void write(u16 segment, Bdf bdf, u16 reg, unsigned size, u32 value);

    // Whether ipa falls inside one host bridge's ECAM.
    bool claims(u64 ipa) const;
    // Config accesses by ECAM address; an 8-byte access is two 4-byte ones.
    // An address outside every ECAM reads all-ones.
    u64 mmio_read(u64 ipa, unsigned size);
    void mmio_write(u64 ipa, unsigned size, u64 value);
    // Both in one look-up: false (nothing done) when ipa is outside every
    // ECAM; a read's result in value.
    bool ecam_access(u64 ipa, unsigned size, bool write, u64& value);

    // For the trap path, the look-up apart from the access: it reads only
    // what never changes, so it needs no lock.
    struct EcamHit {
        bool claimed = false;  // inside an ECAM
        bool ok = false;       // ... and on one of its buses
        u16 segment = 0;
        Bdf bdf;
        u16 reg = 0;
    };
    EcamHit find_ecam(u64 ipa) const { return locate(hosts_, ipa); }
    u64 read_at(const EcamHit& h, unsigned size);  // h.ok; else all-ones
    void write_at(const EcamHit& h, unsigned size, u64 value);
    // The trap path's config read before any lock: true when ipa names a
    // register of a visible function that passes to the hardware as it is
    // (value: what the guest reads, as read(), read_at() and mmio_read()
    // would give); false when it needs read_at() under the lock. It reads
    // only what never changes once the guest runs, and the ECAM page last
    // found (one word, so other CPUs may race on it harmlessly).
    bool read_plain(u64 ipa, unsigned size, u64& value) const;
    // read_plain(ipa, 4, value) inline, for the trap path's plain 32-bit
    // load, when ipa is in the ECAM page read_plain found last (a driver
    // reads one function's registers in a row) and loads go straight to
    // the ECAM. False means "ask read_plain", not "not plain"; it calls
    // nothing, so a caller's fast path needs no stack frame.
    bool read_hinted_word(u64 ipa, u32& value) const;

    // Whether ipa falls in a page passage forwards: a trapped BAR's page or
    // a host bridge's I/O window.
    bool claims_forwarded(u64 ipa) const;
    // A quick test before taking any lock: false means claims_forwarded()
    // is false (nothing trapped but the I/O window, and ipa is not there).
    bool may_forward(u64 ipa) const { return __atomic_load_n(&mem_trapped_count_, __ATOMIC_RELAXED) > 0 || in_io_window(ipa); }
    // Whether ipa is in a host bridge's memory window (CPU side), where the
    // guest's BARs live and stage 2 changes under it.
    bool in_memory_window(u64 ipa) const;
    // Forwards one access to the physical BAR it hits; where none, reads
    // all-ones and drops writes (false: nothing was hit).
    bool forward_read(u64 ipa, unsigned size, u64& value);
    bool forward_write(u64 ipa, unsigned size, u64 value);

    // The guest's view of one BAR (index 0-5, or PciBar::kRomIndex).
    BarRoute route(usize index, unsigned bar) const { return slot(index, bar).route; }
    bool mapped(usize index, unsigned bar) const { return route(index, bar) == BarRoute::Direct; }
    // For an abort at ipa: whether it hits a BAR left unmapped by a
    // conflict, with a line naming the BAR and what it overlaps.
    bool conflict_at(u64 ipa, char* buf, usize size) const;
    // Number of BARs left unmapped by a conflict now.
    usize conflicts_now() const;

    // Counters (the benchmark's and the tests' figures).
    u64 moves = 0;       // BARs mapped at a new guest address
    u64 forwarded = 0;   // trapped accesses forwarded to a physical BAR
    u64 map_failures = 0;

private:
    struct Slot {
        u64 size = 0;       // the BAR's (fixed while the guest runs)
        u64 phys = 0;       // its physical CPU address
        bool io = false;
        u64 cpu = 0;        // guest CPU address, valid when decoded
        bool decoded = false;
        BarRoute route = BarRoute::Off;
        u64 active_cpu = 0;  // the guest address route (Direct/Trapped) stands for
        u16 blocker = 0xffff;  // Conflict: the slot it overlaps, or kForbidden + range index
        // scratch for one update: 0 not in it, 1 to decide, 2 decided
        BarRoute next = BarRoute::Off;
        u8 phase = 0;
        bool shares = false;  // a page with a standing BAR, as seen while deciding
    };
    struct ExtCapView {
        u16 offset = 0;
        u32 header = 0;   // what the guest reads there
        u16 hide_end = 0;  // non-zero: the capability is hidden up to this offset
    };
    // A bridge's window registers.
    struct WindowRegs {
        u16 io_base_limit = 0;     // 0x1c-0x1d
        u32 io_upper = 0;          // 0x30
        u32 mem = 0;               // 0x20
        u32 pref = 0;              // 0x24
        u32 pref_upper = 0;        // 0x28
        u32 pref_limit_upper = 0;  // 0x2c
    };
    struct FnState {
        u32 bar_reg[6] = {};  // virtual BAR registers (64-bit BARs take two)
        u32 rom_reg = 0;
        bool mem_on = false;  // Command as the guest wrote it
        bool io_on = false;
        WindowRegs win;       // bridges: the guest's window registers
        WindowRegs phys_win;  // ... and the hardware's, fixed
        u8 io_cap = 0;   // read-only low bits as the hardware reports them
        u8 pref_cap = 0;
        // The decoded windows (base > limit: closed)
        u64 win_base[kWindowKinds] = {};
        u64 win_limit[kWindowKinds] = {};
        bool hidden_below = false;  // a bridge with a hidden function behind it
        ConfigAccess* acc = nullptr;  // the hardware's config space of this function
        std::uintptr_t direct = 0;    // ... and where loads reach it directly (0: through acc)
        u64 special = 0;           // header dwords (bit n: offset 4n) that do not simply pass
        u16 acs = 0;               // ACS capability offset, 0 if none
        u16 acs_ctrl = 0;          // what ACS control reads
        u16 dpc = 0;               // Downstream Port Containment capability offset, 0 if none
        ExtCapView ext[kMaxExtCaps] = {};
        u8 ext_count = 0;
        bool ext_overflow = false;  // more than kMaxExtCaps: extended space is read-only
    };
    static constexpr u16 kForbidden = 0x8000;
    static constexpr u16 kNoBlocker = 0xffff;

    static EcamHit locate(std::span<const PciHostBridge> hosts, u64 ipa);

    void read_hardware();
    void mark_special(usize i);
    static bool plain(const FnState& s, u16 reg);
    void read_ext_caps(usize i);
    i32 index_of(u16 segment, Bdf bdf) const;
    static u32 bdf_key(u16 segment, Bdf bdf)
    {
        return u32(segment) << 16 | u32(bdf.bus) << 8 | u32(bdf.dev & 0x1f) << 3 | u32(bdf.fn & 7);
    }
    static usize bdf_hash(u32 key) { return usize((key * 0x9e3779b1u) >> 16) & (kBdfSlots - 1); }
    void index_functions();
    const PciHostBridge* host_of(const PciFunction& f) const;
    ConfigAccess& hw(const PciFunction& f) const;
    bool visible(usize i) const { return i < count_ && disp_.visible(i); }
    bool is_descendant(usize child, usize ancestor) const;
    Slot& slot(usize i, unsigned b) { return slots_[i * PciFunction::kBars + b]; }
    const Slot& slot(usize i, unsigned b) const { return slots_[i * PciFunction::kBars + b]; }

    // Registers (vconfig_regs.cpp)
    bool is_bar_reg(const PciFunction& f, u16 dword) const;
    u16 rom_reg_offset(const PciFunction& f) const { return f.is_bridge ? u16(0x38) : u16(0x30); }
    bool is_window_reg(const PciFunction& f, u16 dword) const;
    u32 virtual_dword(usize i, u16 dword);
    bool is_virtual_cap(usize i, u16 dword) const;
    u32 capability_read(usize i, u16 dword, u32 value) const;
    u32 capability_write_mask(usize i, u16 dword) const;
    void write_virtual(usize i, u16 dword, u32 value, u32 byte_mask);
    void command_written(usize i, u16 command);
    void decode_windows(usize i);
    void reprogram(usize i);

    // Routing (vconfig_route.cpp)
    bool decode(usize i, unsigned b, u64& cpu) const;
    bool window_holds(usize bridge, bool io, u64 addr, u64 size) const;
    void update_function(usize i);
    void update_subtree(usize bridge);
    void update();
    bool overlaps_forbidden(u64 base, u64 size, u16& which) const;
    bool page_shared(usize s) const;
    bool in_io_window(u64 ipa) const;
    bool standing(usize t, u64& base, u64& size) const;
    const Slot* trapped_at(u64 ipa, unsigned size) const;
    Status apply(usize s);
    void set_rom_enable(usize i, bool on);
    bool active_range(usize s, u64& base, u64& size) const;

    DeviceTable& table_;
    const Dispositions& disp_;
    usize count_ = 0;
    // index_of's map: open addressing on segment:BDF, built once.
    static constexpr usize kBdfSlots = 2 * kMaxFunctions;
    static_assert((kBdfSlots & (kBdfSlots - 1)) == 0, "a power of two");
    struct BdfSlot {
        u32 key = 0;    // segment << 16 | bus << 8 | dev << 3 | fn
        u16 index = 0;  // the function's index + 1 (0: empty)
    };
    // read_plain's last hit: the ECAM page | its function's index + 1 (0: none).
    static_assert(kMaxFunctions < 0xfff, "the index fits below the page");
    mutable u64 page_hint_ = 0;
    ConfigAccess* hw_[kMaxHosts] = {};
    std::span<const PciHostBridge> hosts_;
    Stage2Mover& mover_;
    PhysIo& io_;
    LazyArray<FnState, kMaxFunctions> state_;  // [0, count_) constructed by read_hardware
    LazyArray<Slot, kSlots> slots_;            // [0, count_ * kBars) likewise
    BdfSlot by_bdf_[kBdfSlots] = {};  // after the trap path's hint and functions: their offsets stay small
    u16 work_[kSlots] = {};
    usize work_count_ = 0;
    u16 live_[kSlots] = {};  // the slots that can decode: BARs with an address of visible functions
    usize live_count_ = 0;
    usize conflict_count_ = 0;
    usize mem_trapped_count_ = 0;  // trapped memory BARs (I/O ones are found through the window)
    MemRange forbidden_[kMaxForbidden];
    usize forbidden_count_ = 0;
    usize trapped_count_ = 0;
    MemRange io_windows_[kMaxHosts * PciHostBridge::kMaxWindows];  // the host bridges' I/O windows (CPU side)
    usize io_window_count_ = 0;
    MemRange mem_windows_[kMaxHosts * PciHostBridge::kMaxWindows];  // ... and memory windows
    usize mem_window_count_ = 0;
};

inline bool VirtualConfig::read_hinted_word(u64 ipa, u32& value) const
{
    const u64 hint = __atomic_load_n(&page_hint_, __ATOMIC_RELAXED);
    const u32 reg = u32(ipa) & 0xfff;
    if (hint != 0 && ((hint ^ ipa) >> 12) == 0 && (reg & 3) == 0) {
        const FnState& s = state_[(hint & 0xfff) - 1];
        const std::uintptr_t direct = s.direct;
        const bool passes = reg < 0x100 ? (s.special >> (reg >> 2) & 1) == 0 : s.ext_count == 0;  // plain()
        if (direct != 0 && passes) {
            value = *reinterpret_cast<volatile const u32*>(direct + reg);
            return true;
        }
    }
    return false;
}

}  // namespace passage::pci
