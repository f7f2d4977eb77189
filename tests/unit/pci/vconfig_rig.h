// The virtual config space tests' rig: a fake ECAM with endpoints, root
// ports, multi-function devices and sub-page BARs, enumerated for real; a
// stage-2 recorder page by page; a fake physical bus for trapped accesses;
// and a reference router that checks stage 2 against what a PCI fabric
// would decode with the guest's registers.
#pragma once

#include <catch2/catch.hpp>

#include <functional>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "fake_ecam.h"
#include "vconfig_fakes.h"
#include "passage/pci/disposition.h"
#include "passage/pci/enumerate.h"
#include "passage/pci/vconfig.h"

namespace passage::pci::test {

struct Rig {
    FakeEcam ecam;
    PciHostBridge host = qemu_virt_host();
    PciDeviceTable<64> table;
    Dispositions disp;
    PageRecorder rec;
    FakePhys phys;
    std::array<PciHostBridge, 1> hosts{};
    VirtualConfig* v = nullptr;
    std::map<u32, std::vector<u32>> physical;  // per function: its BAR, bus and window registers at the start
    alignas(VirtualConfig) unsigned char storage[sizeof(VirtualConfig)];

    // The standard topology below, or what `build` puts on the fake ECAM;
    // `deny` hides functions as passage.deny's list does.
    explicit Rig(const char* deny = "", void (*edit_host)(PciHostBridge&) = nullptr,
                 const std::function<void(FakeEcam&)>& build = {});
    explicit Rig(void (*edit_host)(PciHostBridge&)) : Rig("", edit_host) {}
    explicit Rig(const std::function<void(FakeEcam&)>& build) : Rig("", nullptr, build) {}
    ~Rig();
    Rig(const Rig&) = delete;
    Rig& operator=(const Rig&) = delete;

    usize index(Bdf b) const;
    const PciFunction& fn(Bdf b) const { return table[index(b)]; }
    FakeFunction& hw(Bdf b) { return *ecam.route(b); }
    u32 rd(Bdf b, u16 reg, unsigned size = 4) { return v->read(0, b, reg, size); }
    void wr(Bdf b, u16 reg, u32 value, unsigned size = 4) { v->write(0, b, reg, size, value); }

    // The hardware's BARs, ROM, bus numbers and windows (0x10-0x3b).
    std::vector<u32> physical_regs(Bdf b);
    // None of them changed since the start (the ROM enable bit aside).
    void check_physical_unchanged();
    // Stage 2 against a reference PCI fabric decoding the guest's registers.
    void check_router();
    // One write a hostile or clumsy guest might make to a BAR, ROM BAR,
    // bridge window or Command (sizing, sub-page places, window steps, RAM,
    // another BAR, anything), of a byte or word too when sub_dword; the
    // register is returned in the message for INFO.
    std::string random_write(std::mt19937& rng, bool sub_dword);
};

}  // namespace passage::pci::test
