// The loads check: passage answers a guest's plain 32-bit load first from
// a frame of the caller-saved registers only (x0-x18, x30), and takes a
// load into x19-x28 through the full register save
// (hyp/arch/aarch64/vectors.S, guest_abort). Through a load into each of
// x0-x28, of a config register (emulated) and of the hypervisor's region
// (an external abort injected, the load skipped), this checks what the
// host tests can only model: the named register gets the value, or keeps
// its own when the load aborts, and no other register changes.
#include "checks.h"
#include "console.h"
#include "exceptions.h"
#include "mmu.h"
#include "pci.h"

extern "C" void raw_load(const guest::u64* in, guest::u64* out, guest::u64 addr, unsigned rt);

namespace guest {

namespace {

constexpr unsigned kRegs = 29;  // x0-x28
constexpr u64 kPage = 4096;

// One load into x<rt>; false (and a FAIL line) when x<rt> is not `expect`
// or another register changed. aborts: the load must be skipped by the
// guest's handler after an injected abort (then x<rt> keeps its value).
bool load_into(const char* name, const char* what, u64 addr, unsigned rt, u32 expect, bool aborts)
{
    u64 in[kRegs], out[kRegs];
    for (unsigned i = 0; i < kRegs; ++i) in[i] = 0xa5a5000000000000ull | (u64(i) << 32) | (0x10ad0000u + i);
    if (aborts) expect_abort();
    raw_load(in, out, addr, rt);
    if (aborts) {
        AbortRecord r = take_abort_record();
        if (!r.taken) {
            fail(name, "load of %s (0x%lx) into w%u did not abort", what, addr, rt);
            return false;
        }
    }
    const u64 want = aborts ? in[rt] : u64(expect);
    for (unsigned i = 0; i < kRegs; ++i) {
        const u64 w = i == rt ? want : in[i];
        if (out[i] != w) {
            fail(name, "load of %s into w%u: x%u came back 0x%lx, expected 0x%lx", what, rt, i, out[i], w);
            return false;
        }
    }
    return true;
}

}  // namespace

void check_loads(Context& ctx)
{
    const char* name = "loads";
    if (ctx.standalone) return skip(name, "no hypervisor to trap the loads");
    const GuestPlatform& p = ctx.plat;
    if (!p.ecam) return skip(name, "no ECAM in the device tree");
    u64 hole = 0;
    for (unsigned i = 0; i + 1 < p.mem_count && !hole; ++i)
        if (p.mem[i].end() + 2 * kPage <= p.mem[i + 1].base) hole = p.mem[i].end() + kPage;
    if (!hole) return fail(name, "no gap of two pages between the %u memory range(s)", p.mem_count);
    if (!mmu::map(hole, hole, kPage, mmu::Mem::DeviceNGnRnE)) return fail(name, "cannot map 0x%lx at stage 1", hole);

    // The first function the guest sees (00:00.0 may be hidden).
    if (!ctx.pci_scanned || ctx.pci.count == 0) return skip(name, "no PCI function to read");
    const pci::Function& f = ctx.pci.fns[0];
    pci::Ecam ecam(p.ecam_base, p.bus_first, p.bus_last);
    const u64 id_reg = ecam.address(f.bus, f.dev, f.fn, 0);
    const u32 id = *reinterpret_cast<volatile const u32*>(id_reg);
    if (id != (u32(f.device) << 16 | f.vendor))
        return fail(name, "%02x:%02x.%x's vendor/device ID reads 0x%x, the scan found 0x%x", f.bus, f.dev, f.fn, id,
                    u32(f.device) << 16 | f.vendor);
    for (unsigned rt = 0; rt < kRegs; ++rt) {
        if (!load_into(name, "a vendor/device ID", id_reg, rt, id, false)) return;
        if (!load_into(name, "the hypervisor's region", hole, rt, 0, true)) return;
    }
    info("loads into w0-w28: %02x:%02x.%x's ID 0x%x, the abort keeps the register, nothing else changes", f.bus, f.dev,
         f.fn, id);
    pass(name);
}

}  // namespace guest
