// Invariants every enumerated topology must hold, checked with Catch2:
// no two resources overlap, every BAR is naturally aligned and inside the
// windows above it, every bridge window covers its children, bus numbers
// nest, and what the fake hardware holds is what the table says.
#pragma once

#include "fake_ecam.h"
#include "passage/pci/device_table.h"
#include "passage/platform.h"

namespace passage::pci::test {

void check_invariants(const PciHostBridge& host, const DeviceTable& table, FakeEcam* hw = nullptr);

}  // namespace passage::pci::test
