// What the virtual config space's tests and fuzzer stand on, apart from
// Catch2: a fake ECAM topology with endpoints, root ports, multi-function
// devices and sub-page BARs; stage 2 recorded page by page; a fake physical
// bus for trapped accesses.
#pragma once

#include <map>
#include <optional>

#include "fake_ecam.h"
#include "passage/pci/vconfig.h"

namespace passage::pci::test {

const Bdf kNic{0, 1, 0};        // BAR0 mem32 4 KiB, BAR2 mem64 pref 16 KiB, BAR4 I/O 32, ROM 256 KiB
const Bdf kDisk{0, 2, 0};       // BAR0 mem32 16 KiB; first extended capability SR-IOV
const Bdf kPort{0, 3, 0};       // root port, slot with hot-plug ...
const Bdf kBehind{1, 0, 0};     // ... BAR0 mem32 64 KiB, BAR2 mem64 pref 1 MiB; AER, SR-IOV, ACS
const Bdf kPort2{0, 4, 0};      // root port ...
const Bdf kBehind2{2, 0, 0};    // ... a two-function device, BAR0 mem32 4 KiB each
const Bdf kBehind2b{2, 0, 1};
const Bdf kSmall{0, 5, 0};      // BAR0 mem32 256 bytes
const Bdf kMulti0{0, 6, 0};     // two functions, BAR0 4 KiB each
const Bdf kMulti1{0, 6, 1};
const Bdf kFn0{0, 7, 0};        // function 0 of a device whose function 1 is a bridge ...
const Bdf kBridgeFn1{0, 7, 1};
const Bdf kBehindFn1{3, 0, 0};  // ... with BAR0 mem32 4 KiB behind it
const Bdf kSmall2{0, 8, 0};     // BAR0 mem32 256 bytes

constexpr u64 kRamBase = 0x40000000;
constexpr u64 kRamSize = 1 * GiB;

// Stage 2, page by page.
class PageRecorder final : public Stage2Mover {
public:
    struct Page {
        u64 pa;
        stage2::Attrs attrs;
    };
    Status unmap(IpaAddr ipa, u64 size) override;
    Status map(IpaAddr ipa, PhysAddr pa, u64 size, stage2::Attrs attrs) override;
    std::optional<u64> lookup(u64 ipa) const;  // the PA ipa maps to
    stage2::Attrs attrs_at(u64 ipa) const;
    usize pages_mapped_of(u64 ipa) const { return pages.count(ipa & ~u64{0xfff}); }

    std::map<u64, Page> pages;
    usize ops = 0;
    bool double_map = false;  // a map over a mapped page: a bug
};

// The physical bus behind trapped BARs.
class FakePhys final : public PhysIo {
public:
    u64 read(PhysAddr pa, unsigned) override { return values[pa.value]; }
    void write(PhysAddr pa, unsigned, u64 value) override { values[pa.value] = value; }
    std::map<u64, u64> values;
};

// The topology above on the fake ECAM.
void standard_topology(FakeEcam& ecam);

}  // namespace passage::pci::test
