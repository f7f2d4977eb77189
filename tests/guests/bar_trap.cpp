// The trapped-BAR checks: what the guest places where stage 2 cannot map
// it page for page still reaches the device, through the hypervisor.
//   bar-subpage: ivshmem's 256-byte BAR0 moved to offset 0x100 of a page
//     (Linux aligns small BARs only to their size); its IntrMask register,
//     written there, reads back there and at the BAR's page-aligned home.
//   bar-io: virtio-blk's legacy I/O BAR moved to another port; its device
//     status register answers at the new port, the old one reads all-ones.
#include "checks.h"
#include "console.h"
#include "mmu.h"

namespace guest {

namespace {

constexpr u64 kPage = 4096;
constexpr unsigned kCommand = 0x04;
constexpr u32 kCmdIo = 1;

constexpr u64 page_of(u64 a) { return a & ~(kPage - 1); }

const pci::Function* find(const Context& ctx, u16 vendor, u16 device)
{
    for (unsigned i = 0; ctx.pci_scanned && i < ctx.pci.count; ++i)
        if (ctx.pci.fns[i].vendor == vendor && ctx.pci.fns[i].device == device) return &ctx.pci.fns[i];
    return nullptr;
}

bool moves_apply(const Context& ctx, const char* name)
{
    if (ctx.standalone) {
        skip(name, "no hypervisor: nothing traps");
        return false;
    }
    if (ctx.plat.probe_only) {
        skip(name, "linux,pci-probe-only: the BARs stay where the hypervisor put them");
        return false;
    }
    return true;
}

}  // namespace

void check_bar_subpage(Context& ctx)
{
    const char* name = "bar-subpage";
    if (!moves_apply(ctx, name)) return;
    const pci::Function* f = find(ctx, 0x1af4, 0x1110);
    if (!f) return skip(name, "no ivshmem-plain (1af4:1110) attached");
    const GuestPlatform& p = ctx.plat;
    pci::Ecam ecam(p.ecam_base, p.bus_first, p.bus_last);
    u64 home = pci::read_bar(ecam, *f, 0);
    u64 size = pci::bar_size(ecam, *f, 0);
    u64 wbase = 0, wsize = 0;
    if (size >= kPage || !pci::routed_window(ecam, ctx.pci, p, *f, home, wbase, wsize))
        return fail(name, "BAR0 0x%lx (0x%lx bytes) is not a sub-page BAR in a window", home, size);
    static pci::BarMap others;
    pci::size_bars(ecam, ctx.pci, nullptr, 0, others);
    u64 page = pci::free_place(wbase, wsize, kPage, home, others);
    if (!page) return fail(name, "no free page in the window 0x%lx", wbase);
    u64 there = page + 0x100;  // aligned to its size only, as Linux places it
    pci::disable_memory(ecam, *f);
    pci::write_bar(ecam, *f, 0, there);
    pci::enable_memory(ecam, *f);
    u64 cpu = pci::cpu_address(p, there), home_cpu = pci::cpu_address(p, home);
    (void)mmu::map(pci::cpu_address(p, page), pci::cpu_address(p, page), kPage, mmu::Mem::DeviceNGnRE);
    (void)mmu::map(page_of(home_cpu), page_of(home_cpu), kPage, mmu::Mem::DeviceNGnRE);  // may be mapped already
    constexpr u32 kMask = 0x5a5a5a5a;
    mmio_write32(cpu + 0x0, kMask);  // IntrMask
    u32 back = mmio_read32(cpu + 0x0);
    pci::disable_memory(ecam, *f);
    pci::write_bar(ecam, *f, 0, home);
    pci::enable_memory(ecam, *f);
    u32 at_home = mmio_read32(home_cpu + 0x0);
    mmio_write32(home_cpu + 0x0, 0);
    if (back != kMask) return fail(name, "IntrMask at 0x%lx reads 0x%x after writing 0x%x", cpu, back, kMask);
    if (at_home != kMask) return fail(name, "back home at 0x%lx IntrMask reads 0x%x, not 0x%x", home_cpu, at_home, kMask);
    info("ivshmem %02x:%02x.%u BAR0 (%lu bytes) at 0x%lx: IntrMask written and read back through the trap; "
         "at home 0x%lx it holds the same",
         f->bus, f->dev, f->fn, size, cpu, home_cpu);
    pass(name);
}

void check_bar_io(Context& ctx)
{
    const char* name = "bar-io";
    if (!moves_apply(ctx, name)) return;
    const pci::Function* f = find(ctx, 0x1af4, 0x1001);
    if (!f) return skip(name, "no transitional virtio-blk (1af4:1001) attached");
    const GuestPlatform& p = ctx.plat;
    const PciWindow* io = nullptr;
    for (unsigned i = 0; i < p.window_count; ++i)
        if (p.windows[i].space == PciWindow::Io) io = &p.windows[i];
    if (!io) return fail(name, "the host bridge has no I/O window");
    pci::Ecam ecam(p.ecam_base, p.bus_first, p.bus_last);
    u32 bar = ecam.read32(f->bus, f->dev, f->fn, 0x10);
    if ((bar & 1) == 0) return fail(name, "BAR0 0x%x is not an I/O BAR", bar);
    u32 cmd = ecam.read32(f->bus, f->dev, f->fn, kCommand);
    ecam.write32(f->bus, f->dev, f->fn, kCommand, (cmd & 0xffff) | kCmdIo);
    u32 old_port = bar & ~3u;
    u32 new_port = io->size >= 0x10000 ? 0xf000 : u32(io->size - 0x1000);
    ecam.write32(f->bus, f->dev, f->fn, 0x10, new_port);
    u64 win = io->cpu_base - io->pci_base;
    (void)mmu::map(page_of(win + new_port), page_of(win + new_port), kPage, mmu::Mem::DeviceNGnRE);
    (void)mmu::map(page_of(win + old_port), page_of(win + old_port), kPage, mmu::Mem::DeviceNGnRE);
    constexpr unsigned kStatus = 0x12;  // legacy virtio header: device status
    mmio_write8(win + new_port + kStatus, 1);  // ACKNOWLEDGE
    u8 status = mmio_read8(win + new_port + kStatus);
    u8 old = mmio_read8(win + old_port + kStatus);
    mmio_write8(win + new_port + kStatus, 0);  // reset
    ecam.write32(f->bus, f->dev, f->fn, 0x10, old_port);
    ecam.write32(f->bus, f->dev, f->fn, kCommand, cmd & 0xffff);
    if (status != 1) return fail(name, "device status at port 0x%x reads 0x%x after writing 1", new_port, status);
    if (old != 0xff) return fail(name, "the old port 0x%x still answers (0x%x)", old_port, old);
    info("virtio-blk %02x:%02x.%u I/O BAR0 moved 0x%x -> 0x%x: status register answers there, the old port reads 0xff",
         f->bus, f->dev, f->fn, old_port, new_port);
    pass(name);
}

}  // namespace guest
