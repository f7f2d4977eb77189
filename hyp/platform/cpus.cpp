// The CPUs: /cpus, their enable methods (PSCI or a spin table), the PSCI
// node and the architected timer's interrupts.
#include "discover_steps.h"
#include "passage/fdt/cells.h"
#include "passage/fdt/node.h"
#include "passage/log.h"

namespace passage::discovery {

using fdt::node_path;
using fdt::read_cells;
using fdt::string_property_is;

namespace {

// The page of a spin-table CPU's cpu-release-addr (a 64-bit mailbox).
Status note_spin_release(const fdt::TreeIndex& t, int node, Platform& p, Diagnostic& diag)
{
    int len = 0;
    const void* prop = t.prop(node, fdt::Name::CpuReleaseAddr, &len);
    if (prop == nullptr || (len != 4 && len != 8)) {
        char path[96];
        node_path(t, node, path, sizeof path);
        return fail(diag, Error::BadDeviceTree, 0, "cpu node %s: enable-method spin-table without a cpu-release-addr of 1 or 2 cells",
                    path);
    }
    u64 page = align_down(read_cells(prop, len / 4), kPageSize);
    for (usize i = 0; i < p.spin_release_count; ++i)
        if (p.spin_release[i].base == page) return {};
    if (p.spin_release_count == Platform::kMaxSpinRelease)
        return fail(diag, Error::Unsupported, page, "/cpus: spin-table release addresses on more than %zu pages",
                    Platform::kMaxSpinRelease);
    p.spin_release[p.spin_release_count++] = {page, kPageSize};
    return {};
}

}  // namespace

Status discover_cpus(const fdt::TreeIndex& t, Platform& p, Diagnostic& diag)
{
    int cpus = t.path("/cpus");
    if (cpus < 0) return fail(diag, Error::NotFound, 0, "no /cpus node");
    auto ac = fdt::address_cells(t, cpus);
    if (!ac || *ac < 1 || *ac > 2) return fail(diag, Error::BadDeviceTree, 0, "/cpus: #address-cells must be 1 or 2");
    for (int node = t.first_child(cpus); node >= 0; node = t.next_sibling(node)) {
        if (!string_property_is(t, node, fdt::Name::DeviceType, "cpu") || !t.enabled(node)) continue;
        int len = 0;
        const void* reg = t.prop(node, fdt::Name::Reg, &len);
        if (reg == nullptr || len != *ac * 4) {
            char path[96];
            node_path(t, node, path, sizeof path);
            return fail(diag, Error::BadDeviceTree, 0, "cpu node %s: reg must be %d cell(s)", path, *ac);
        }
        CpuEnable enable = string_property_is(t, node, fdt::Name::EnableMethod, "psci")         ? CpuEnable::Psci
                           : string_property_is(t, node, fdt::Name::EnableMethod, "spin-table") ? CpuEnable::SpinTable
                                                                                       : CpuEnable::Other;
        if (enable == CpuEnable::SpinTable)
            if (auto s = note_spin_release(t, node, p, diag); !s) return s;
        if (p.cpu_count == Platform::kMaxCpus) {
            ++p.cpus_ignored;
            continue;
        }
        p.cpu_enable[p.cpu_count] = enable;
        p.cpu_mpidr[p.cpu_count++] = read_cells(reg, *ac);
    }
    if (p.cpus_ignored > 0) log_warn("%zu CPUs beyond the first %zu are not used", p.cpus_ignored, Platform::kMaxCpus);
    if (p.cpu_count == 0) return fail(diag, Error::NotFound, 0, "/cpus has no enabled cpu node");
    return {};
}

int find_psci(const fdt::TreeIndex& t)
{
    const char* compats[] = {"arm,psci-1.0", "arm,psci-0.2", "arm,psci"};
    for (const char* c : compats) {
        int node = t.next_compatible(fdt::TreeIndex::kNone, c);
        if (node >= 0) return node;
    }
    return -1;
}

void discover_timer(const fdt::TreeIndex& t, Platform& p)
{
    int node = t.next_compatible(fdt::TreeIndex::kNone, "arm,armv8-timer");
    if (node < 0) {
        log_warn("no arm,armv8-timer node: the guest gets no timer interrupts described");
        return;
    }
    int len = 0;
    const auto* irq = static_cast<const u8*>(t.prop(node, fdt::Name::Interrupts, &len));
    if (irq == nullptr || len < 4 * 12) {
        log_warn("arm,armv8-timer: interrupts property is not 4 three-cell entries");
        return;
    }
    p.timer.present = true;
    for (int i = 0; i < 4; ++i) p.timer.ppi[i] = static_cast<u32>(read_cells(irq + i * 12 + 4, 1));
}

}  // namespace passage::discovery

namespace passage {

using namespace discovery;

PsciMethod discover_psci_method(const fdt::TreeIndex& t)
{
    int node = find_psci(t);
    if (node < 0) return PsciMethod::None;
    if (string_property_is(t, node, fdt::Name::Method, "smc")) return PsciMethod::Smc;
    if (string_property_is(t, node, fdt::Name::Method, "hvc")) return PsciMethod::Hvc;
    return PsciMethod::None;
}

}  // namespace passage
