#include "vconfig_fakes.h"

namespace passage::pci::test {

Status PageRecorder::unmap(IpaAddr ipa, u64 size)
{
    ++ops;
    for (u64 a = ipa.value; a < ipa.value + size; a += kPageSize) pages.erase(a);
    return {};
}

Status PageRecorder::map(IpaAddr ipa, PhysAddr pa, u64 size, stage2::Attrs attrs)
{
    ++ops;
    for (u64 off = 0; off < size; off += kPageSize) {
        if (pages.count(ipa.value + off) != 0) double_map = true;
        pages[ipa.value + off] = {pa.value + off, attrs};
    }
    return {};
}

std::optional<u64> PageRecorder::lookup(u64 ipa) const
{
    auto it = pages.find(ipa & ~u64{0xfff});
    if (it == pages.end()) return std::nullopt;
    return it->second.pa + (ipa & 0xfff);
}

stage2::Attrs PageRecorder::attrs_at(u64 ipa) const
{
    auto it = pages.find(ipa & ~u64{0xfff});
    return it == pages.end() ? stage2::Attrs{} : it->second.attrs;
}

void standard_topology(FakeEcam& ecam)
{
    ecam.add(1, 0).ids(0x1af4, 0x1000).class_code(0x020000).bar32(0, 0x1000).bar64(2, 16 * KiB).bar_io(4, 0x20).rom(256 * KiB);
    ecam.add(2, 0).ids(0x1af4, 0x1001).class_code(0x010000).pcie(PortType::Endpoint).bar32(0, 16 * KiB)
        .ext_cap(0x100, 0x10, 0x140).ext_cap(0x140, 0x01, 0);
    FakeFunction& port = ecam.add(3, 0).pcie_bridge(PortType::RootPort);
    port.child(0, 0).ids(0x8086, 0x10d3).pcie(PortType::Endpoint).bar32(0, 64 * KiB).bar64(2, 1 * MiB)
        .ext_cap(0x100, 0x01, 0x140).ext_cap(0x140, 0x10, 0x180).ext_cap(0x180, 0x0d, 0)
        .writable(0x148, 0xffffffff).writable(0x184, 0xffff0000);
    FakeFunction& port2 = ecam.add(4, 0).pcie_bridge(PortType::RootPort);
    port2.child(0, 0).ids(0x1b36, 0x0005).multifunction().bar32(0, 4 * KiB);
    port2.child(0, 1).ids(0x1b36, 0x0005).bar32(0, 4 * KiB);
    ecam.add(5, 0).ids(0x1af4, 0x1110).class_code(0x050000).bar32(0, 256);
    ecam.add(6, 0).ids(0x1b36, 0x0001).multifunction().bar32(0, 4 * KiB);
    ecam.add(6, 1).ids(0x1b36, 0x0001).bar32(0, 4 * KiB);
    ecam.add(7, 0).ids(0x1b36, 0x0002).multifunction().bar32(0, 4 * KiB);
    ecam.add(7, 1).pcie_bridge(PortType::PcieToPciBridge).child(0, 0).ids(0x1b36, 0x0003).bar32(0, 4 * KiB);
    ecam.add(8, 0).ids(0x1af4, 0x1110).class_code(0x050000).bar32(0, 256);
}

}  // namespace passage::pci::test
