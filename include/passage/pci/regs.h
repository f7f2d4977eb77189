// PCI configuration-space registers, named as in the PCI Local Bus
// Specification 3.0 (section 6), the PCI-to-PCI Bridge Architecture
// Specification 1.2 (chapter 3) and the PCI Express Base Specification
// (section 7). Offsets are bytes into a function's 4 KiB configuration space.
#pragma once

#include "passage/bits.h"
#include "passage/types.h"

namespace passage::pci {

// Common header (PCI 3.0, 6.1)
constexpr u16 kVendorId = 0x00;
constexpr u16 kDeviceId = 0x02;
constexpr u16 kCommand = 0x04;
constexpr u16 kStatus = 0x06;
constexpr u16 kRevisionClass = 0x08;  // revision in [7:0], class code in [31:8]
constexpr u16 kHeaderType = 0x0e;
constexpr u16 kCapabilityPtr = 0x34;
constexpr u16 kInterruptLine = 0x3c;

// Type 0 header
constexpr u16 kBar0 = 0x10;
constexpr u16 kType0BarCount = 6;
constexpr u16 kType0Rom = 0x30;

// Type 1 header (PCI-to-PCI bridge 1.2, 3.2)
constexpr u16 kType1BarCount = 2;
constexpr u16 kPrimaryBus = 0x18;
constexpr u16 kSecondaryBus = 0x19;
constexpr u16 kSubordinateBus = 0x1a;
constexpr u16 kIoBase = 0x1c;        // 8 bits: [7:4] = address[15:12], [3:0] = 0 (16-bit) or 1 (32-bit)
constexpr u16 kIoLimit = 0x1d;
constexpr u16 kMemBase = 0x20;       // 16 bits: [15:4] = address[31:20]
constexpr u16 kMemLimit = 0x22;
constexpr u16 kPrefBase = 0x24;      // 16 bits: [15:4] = address[31:20], [3:0] = 0 (32-bit) or 1 (64-bit)
constexpr u16 kPrefLimit = 0x26;
constexpr u16 kPrefBaseUpper = 0x28;  // address[63:32]
constexpr u16 kPrefLimitUpper = 0x2c;
constexpr u16 kIoBaseUpper = 0x30;   // address[31:16]
constexpr u16 kIoLimitUpper = 0x32;
constexpr u16 kType1Rom = 0x38;
constexpr u16 kBridgeControl = 0x3e;

// Command register bits
using CmdIo = Bit<0>;
using CmdMem = Bit<1>;
using CmdBusMaster = Bit<2>;
using CmdIntxDisable = Bit<10>;

// Status register bits
using StatusCapList = Bit<4>;

// Header type register
using HeaderLayout = Field<6, 0>;  // 0 = endpoint, 1 = PCI-to-PCI bridge, 2 = CardBus
using HeaderMultiFunction = Bit<7>;
constexpr u8 kHeaderEndpoint = 0;
constexpr u8 kHeaderBridge = 1;
constexpr u8 kHeaderCardBus = 2;

// Base address registers (PCI 3.0, 6.2.5.1)
using BarIsIo = Bit<0>;
using BarMemType = Field<2, 1>;  // 0b00 32-bit, 0b10 64-bit
using BarPrefetchable = Bit<3>;
constexpr u32 kBarMemAddrMask = 0xfffffff0;
constexpr u32 kBarIoAddrMask = 0xfffffffc;
constexpr u32 kBarMemType32 = 0b00;
constexpr u32 kBarMemType1M = 0b01;  // legacy "below 1 MiB", treated as 32-bit
constexpr u32 kBarMemType64 = 0b10;
using RomEnable = Bit<0>;
constexpr u32 kRomAddrMask = 0xfffff800;

// Bridge window granularity (PCI-to-PCI bridge 1.2, 3.2.5.6 to 3.2.5.10)
constexpr u64 kBridgeIoGranule = 4 * KiB;
constexpr u64 kBridgeMemGranule = 1 * MiB;
using BridgeWindow32Bit = Field<3, 0>;  // low nibble of I/O and prefetchable base: 1 = 32/64-bit

// Capability IDs (PCI Code and ID Assignment)
constexpr u8 kCapPm = 0x01;
constexpr u8 kCapMsi = 0x05;
constexpr u8 kCapPcie = 0x10;
constexpr u8 kCapMsix = 0x11;
constexpr u8 kCapEa = 0x14;  // Enhanced Allocation
constexpr u16 kCapListStart = 0x40;  // capabilities live in [0x40, 0xff]
constexpr unsigned kMaxCapabilities = 48;  // (0x100 - 0x40) / 4 entries at most

// MSI capability: message control at +2
using MsiCtl64Bit = Bit<7>;
using MsiCtlMultiCap = Field<3, 1>;
// MSI-X capability: message control at +2, table at +4, PBA at +8
using MsixCtlTableSize = Field<10, 0>;  // N - 1
using MsixBir = Field<2, 0>;
constexpr u32 kMsixOffsetMask = 0xfffffff8;
// PCI Express capability: capabilities register at +2 (PCIe 7.5.3.2)
using PcieCapVersion = Field<3, 0>;
using PcieCapPortType = Field<7, 4>;

// PCI Express capability registers, offsets from the capability (PCIe 7.5.3)
constexpr u16 kPcieLinkControl = 0x10;
constexpr u16 kPcieSlotCaps = 0x14;
constexpr u16 kPcieSlotControl = 0x18;
using LinkControlDisable = Bit<4>;
using SlotCapsHotPlugSurprise = Bit<5>;
using SlotCapsHotPlugCapable = Bit<6>;
using SlotControlPowerOff = Bit<10>;
// Bridge control (0x3e) as a bit of the dword at 0x3c
using BridgeControlSecondaryReset = Bit<22>;  // bit 6 of 0x3e
// Power management capability: PMCSR at +4
constexpr u16 kPmControl = 0x04;
using PmControlPowerState = Field<1, 0>;

// Enhanced Allocation capability (PCI EA ECN 2014; PCIe 6.0, 7.8.5): Num
// Entries at +2, for a type 1 function a dword of fixed bus numbers at +4,
// then the entries. An entry is a header dword, Base, MaxOffset, then the
// upper halves of Base and of MaxOffset when their bit 1 says 64-bit.
constexpr u16 kEaNumEntries = 0x02;
constexpr u16 kEaFirstEntry = 0x04;
constexpr u16 kEaFirstEntryBridge = 0x08;
using EaNumEntries = Field<5, 0>;
using EaFixedSecondary = Field<7, 0>;
using EaFixedSubordinate = Field<15, 8>;
using EaEntrySize = Field<2, 0>;         // dwords after the header
using EaBei = Field<7, 4>;               // BAR Equivalent Indicator
using EaPrimaryProps = Field<15, 8>;
using EaSecondaryProps = Field<23, 16>;
using EaWritable = Bit<30>;
using EaEnable = Bit<31>;
using EaField64 = Bit<1>;                // in Base and MaxOffset: an upper dword follows
constexpr u32 kEaFieldMask = 0xfffffffc;
constexpr u8 kEaBeiBar5 = 5;
constexpr u8 kEaBeiRom = 8;
constexpr u8 kEaPropMem = 0x00;
constexpr u8 kEaPropMemPref = 0x01;
constexpr u8 kEaPropIo = 0x02;
constexpr u8 kEaPropBridgeIo = 0x07;     // the last property Linux uses
constexpr u8 kEaPropMemUnavailable = 0xfd;  // 0xfd-0xff: unavailable; 0x08-0xfc reserved

// Extended capabilities (PCIe 7.6): header [15:0] ID, [19:16] version, [31:20] next.
constexpr u16 kExtCapStart = 0x100;
constexpr u16 kExtCapAcs = 0x0d;
constexpr u16 kExtCapRebar = 0x15;
constexpr u16 kExtCapDpc = 0x1d;
constexpr u16 kExtCapVfRebar = 0x24;
constexpr u16 kAcsControl = 0x04;  // the dword holding ACS capability and control
constexpr u16 kDpcControl = 0x04;  // the dword holding DPC capability and control
// DPC Trigger Enable [1:0] and DPC Software Trigger [6] of the control
// register (PCIe 7.9.14.3), in the upper half of that dword.
constexpr u32 kDpcTriggerBits = (0x3u | 0x40u) << 16;

// Class codes for bridges
constexpr u32 kClassBridgePci = 0x0604;

}  // namespace passage::pci
