// The result of enumeration: every function found, with its identity, its
// capabilities and the resources assigned to it. Plain data in a fixed-size
// table (no heap at EL2); the stage-2 policy reads the BAR ranges from here.
#pragma once

#include <span>

#include "passage/pci/config.h"
#include "passage/types.h"

namespace passage::pci {

enum class BarKind : u8 { None, Io, Mem32, Mem64 };

// Why a resource holds no address.
enum class BarStatus : u8 {
    Unused,         // not implemented by the device (sized 0)
    Assigned,       // cpu_addr/pci_addr are valid and programmed
    TooLarge,       // larger than every window it could live in
    NoSpace,        // its window was exhausted
    ParentFailed,   // the bridge window above it could not be placed
    NoBridgeWindow, // the bridge above does not forward this kind of space
    Invalid,        // the register makes no sense (64-bit BAR in slot 5, reserved type)
    OutsideWindow,  // fixed by Enhanced Allocation outside every host-bridge window
};

const char* bar_kind_name(BarKind k);
const char* bar_status_name(BarStatus s);

// One base address register (index 0-5) or the expansion ROM (index kRomIndex).
struct PciBar {
    static constexpr u8 kRomIndex = 6;
    u8 index = 0;
    BarKind kind = BarKind::None;
    bool prefetchable = false;
    BarStatus status = BarStatus::Unused;
    u64 size = 0;
    u64 pci_addr = 0;  // what the device decodes (the BAR value)
    u64 cpu_addr = 0;  // where the CPU reaches it (through the host bridge's ranges)
    // Enhanced Allocation: the hardware fixed it (Linux's IORESOURCE_PCI_FIXED).
    // Never sized, moved or written; its size need not be a power of two.
    bool fixed = false;

    constexpr bool present() const { return kind != BarKind::None && size != 0; }
    constexpr bool assigned() const { return status == BarStatus::Assigned; }
    constexpr bool is_rom() const { return index == kRomIndex; }
};

// PCI Express capability "device/port type" (PCIe 7.5.3.2).
enum class PortType : u8 {
    Endpoint = 0x0,
    LegacyEndpoint = 0x1,
    RootPort = 0x4,
    SwitchUpstream = 0x5,
    SwitchDownstream = 0x6,
    PcieToPciBridge = 0x7,
    PciToPcieBridge = 0x8,
    RcIntegratedEndpoint = 0x9,
    RcEventCollector = 0xa,
    NotPcie = 0xff,  // no PCI Express capability
};

const char* port_type_name(PortType t);

struct Capabilities {
    u8 pm = 0;     // config offset of each capability, 0 if absent
    u8 msi = 0;
    u8 msix = 0;
    u8 pcie = 0;
    bool msi_64bit = false;
    u8 msi_vectors = 0;       // 1, 2, 4 ... 32 requestable
    u16 msix_table_size = 0;  // number of vectors
    u8 msix_table_bar = 0;
    u32 msix_table_offset = 0;
    u8 msix_pba_bar = 0;
    u32 msix_pba_offset = 0;
    u8 pcie_version = 0;
    u8 ea = 0;                    // Enhanced Allocation capability offset
    bool list_truncated = false;  // the walk hit a loop, a bad pointer or its bound
};

// A window a bridge forwards downstream.
enum class WindowKind : u8 { Io = 0, Mem = 1, Pref = 2 };
constexpr usize kWindowKinds = 3;

struct BridgeWindow {
    bool implemented = false;  // the bridge has this window at all
    bool decodes64 = false;    // prefetchable window with upper 32 bits (hardware)
    bool is64 = false;         // ... and everything behind it may go above 4 GiB
    BarStatus status = BarStatus::Unused;  // Unused: nothing behind it needs this space
    u64 size = 0;              // what the children need, rounded to the window granule
    u64 align = 0;
    u64 pci_base = 0;
    u64 cpu_base = 0;

    constexpr bool assigned() const { return status == BarStatus::Assigned && size != 0; }
    constexpr u64 pci_limit() const { return pci_base + size - 1; }
};

constexpr i32 kNoParent = -1;

struct PciFunction {
    static constexpr usize kBars = 7;  // BAR0-5 and the ROM

    u16 segment = 0;
    Bdf bdf;
    u16 vendor = 0;
    u16 device = 0;
    u32 class_code = 0;  // base class [23:16], subclass [15:8], prog-if [7:0]
    u8 revision = 0;
    u8 header_type = 0;  // layout without the multi-function bit
    bool multifunction = false;
    PortType port_type = PortType::NotPcie;
    Capabilities caps;
    PciBar bars[kBars];  // bars[PciBar::kRomIndex] is the ROM
    bool mem_enabled = false;  // memory decoding turned on
    bool io_enabled = false;   // I/O decoding turned on

    // Topology: index in the table of the bridge above, or kNoParent on the
    // root bus; first child and next sibling link the tree.
    i32 parent = kNoParent;
    i32 first_child = -1;
    i32 next_sibling = -1;

    // Type 1 headers only.
    bool is_bridge = false;
    bool bus_assigned = false;  // secondary/subordinate valid and programmed
    u8 secondary = 0;
    u8 subordinate = 0;
    BridgeWindow windows[kWindowKinds];

    constexpr u8 base_class() const { return u8(class_code >> 16); }
    constexpr u16 class_subclass() const { return u16(class_code >> 8); }
    constexpr const PciBar& rom() const { return bars[PciBar::kRomIndex]; }
    constexpr const BridgeWindow& window(WindowKind k) const { return windows[usize(k)]; }
};

// The table itself, over storage its owner provides. Use PciDeviceTable<N>.
class DeviceTable {
public:
    DeviceTable(const DeviceTable&) = delete;
    DeviceTable& operator=(const DeviceTable&) = delete;

    std::span<const PciFunction> functions() const { return {storage_, count_}; }
    std::span<PciFunction> functions() { return {storage_, count_}; }
    usize size() const { return count_; }
    usize capacity() const { return capacity_; }
    const PciFunction& operator[](usize i) const { return storage_[i]; }
    PciFunction& operator[](usize i) { return storage_[i]; }

    // The function at (segment, bdf), or nullptr.
    const PciFunction* find(u16 segment, Bdf bdf) const;

    // Functions seen but not recorded because the table was full.
    usize dropped() const { return dropped_; }

    // Appends a default function and returns its index, or -1 when full.
    i32 append();
    void note_dropped() { ++dropped_; }
    void clear() { count_ = 0; dropped_ = 0; }

protected:
    constexpr DeviceTable(PciFunction* storage, usize capacity) : storage_(storage), capacity_(capacity) {}
    constexpr ~DeviceTable() = default;

private:
    PciFunction* storage_;
    usize capacity_;
    usize count_ = 0;
    usize dropped_ = 0;
};

// 256 functions (~90 KiB) are plenty for one EL2 platform; tests and the
// benchmark instantiate other sizes.
constexpr usize kDefaultMaxFunctions = 256;

template <usize N = kDefaultMaxFunctions>
class PciDeviceTable final : public DeviceTable {
public:
    constexpr PciDeviceTable() : DeviceTable(storage_, N) {}

private:
    PciFunction storage_[N];
};

}  // namespace passage::pci
