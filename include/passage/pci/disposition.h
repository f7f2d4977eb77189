// What the guest gets of each PCI function, decided once, before the plan:
// passed through with its BARs Normal-NC, passed through with its BARs kept
// Device-nGnRE, or hidden, with the reason. The guest plan, the virtual
// config space and the boot log all read this one table.
#pragma once

#include "passage/diagnostic.h"
#include "passage/pci/device_table.h"
#include "passage/result.h"

namespace passage::pci {

enum class Disposition : u8 {
    Assigned,    // passed through, BARs Normal-NC
    KeptDevice,  // passed through, BARs Device-nGnRE (passage.device_mmio or a quirk)
    Hidden,      // not there for the guest
};

// A function named on the command line: "0000:00:03.0" or "00:03.0".
struct DeviceRef {
    u16 segment = 0;
    Bdf bdf;
};

// A device the platform knows cannot take Normal-NC at stage 2: kept
// Device-nGnRE.
struct DeviceQuirk {
    u16 vendor;
    u16 device;
    const char* reason;
};

// The built-in list (none known on the supported platforms; boards add theirs).
extern const DeviceQuirk kBuiltinQuirks[];
extern const usize kBuiltinQuirkCount;

// The functions the boot options name (boot/options.h parses them).
struct DeviceLists {
    static constexpr usize kMax = 16;
    DeviceRef assign[kMax];  // passage.assign=: only these (bridges above them stay)
    usize assign_count = 0;
    bool assign_given = false;
    DeviceRef deny[kMax];  // passage.deny=
    usize deny_count = 0;
    DeviceRef device_mmio[kMax];  // passage.device_mmio=
    usize device_mmio_count = 0;
};

struct DispositionOptions : DeviceLists {
    const DeviceQuirk* quirks = kBuiltinQuirks;
    usize quirk_count = kBuiltinQuirkCount;
    // DMA groups (issue 13), per table index, 0 = alone: functions with the
    // same non-zero id can reach each other without the SMMU (no ACS
    // between them below a switch), so they are hidden together.
    const u16* dma_group = nullptr;
    usize dma_group_count = 0;
    bool fwb = false;       // FEAT_S2FWB: a kept device is forced Device, not only capped
    bool can_hide = true;   // false with direct config space: nothing can be hidden
};

// Parses one "BDF,BDF" list into refs (appends; count updated).
Status parse_bdf_list(const char* text, DeviceRef* refs, usize max, usize& count, Diagnostic& diag);

// With direct config space (passage.vpci=off) nothing can be hidden: asking
// to deny a function or to assign only some is an error, never ignored.
Status check_direct_config(const DispositionOptions& options, Diagnostic& diag);

class Dispositions {
public:
    static constexpr usize kMax = kDefaultMaxFunctions;

    // Every function of the table gets one; hiding propagates to a fixed
    // point: behind a hidden bridge, the siblings of a hidden function 0, a
    // bridge leading only to hidden functions. Functions beyond kMax are
    // hidden. Without can_hide, what would hide a function is ignored (the
    // boot log says so) and only the memory type is decided.
    void decide(const DeviceTable& table, const DispositionOptions& options);

    Disposition of(usize index) const { return index < count_ ? entries_[index].disp : Disposition::Hidden; }
    bool visible(usize index) const { return of(index) != Disposition::Hidden; }
    const char* reason(usize index) const { return index < count_ ? entries_[index].reason : "beyond the table"; }
    // A visible function 0 whose siblings are all hidden reads as single-function.
    bool single_function(usize index) const { return index < count_ && entries_[index].single_function; }
    usize size() const { return count_; }
    usize hidden_count() const;
    usize kept_count() const;

    // "assigned", "hidden: <why>" or "kept Device-nGnRE: <why>".
    void status_text(usize index, char* buf, usize size) const;
    // One line per function: "  PCI 0000:00:03.0 1af4:1041  hidden: passage.deny".
    void print(const DeviceTable& table) const;

private:
    struct Entry {
        Disposition disp = Disposition::Assigned;
        bool single_function = false;
        char reason[56] = {};
    };
    void hide(usize i, const char* fmt, ...) __attribute__((format(printf, 3, 4)));
    bool propagate(const DeviceTable& table, const DispositionOptions& options);

    Entry entries_[kMax];
    usize count_ = 0;
};

}  // namespace passage::pci
