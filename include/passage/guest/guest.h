// One guest: what belongs to it and to no other. Its memory plan, its
// stage-2 table (and the table pages' environment), the PCI functions it
// gets and the config space it sees, what an SMMU needs to translate its
// DMA, its vCPUs and their lock.
// Nothing here is a global: boot/ creates one today, and a second guest is
// a second object. The environment and the lock are template parameters so
// that host tests build it with the stage-2 fake environment and a plain lock.
#pragma once

#include <new>

#include "passage/log.h"
#include "passage/pci/disposition.h"
#include "passage/pci/vconfig.h"
#include "passage/plan/address_plan.h"
#include "passage/plan/guest_cpus.h"
#include "passage/stage2/page_table.h"
#include "passage/vcpu/psci.h"

namespace passage {

// What an SMMU needs to translate a guest's DMA through the guest's stage 2
// (one table for CPU and SMMU).
struct SmmuContext {
    u16 vmid = 0;
    u64 vtcr = 0;
    u64 vttbr = 0;
    bool fwb = false;
};

// The guest's view of PCI config space (pci/vconfig.h) and what the trap
// path keeps beside it. The counters and the view change under the lock.
struct VconfigState {
    bool enabled = false;  // virtual, not direct: the ECAM and the I/O window trap
    pci::VirtualConfig* view = nullptr;  // set by Guest::start_vconfig
    u64 accesses = 0;
    u64 retries = 0;  // faults another CPU's stage-2 change had already answered
    LogBudget undecodable_log{8};
    usize forbidden_count = 0;
    MemRange forbidden[pci::VirtualConfig::kMaxForbidden] = {};
};

template <stage2::Stage2Env Env, class Lock>
class Guest {
public:
    using Table = stage2::PageTable<Env>;

    // env_args go to the table pages' environment (a pool size in tests).
    template <class... EnvArgs>
    constexpr explicit Guest(u16 vmid, EnvArgs&&... env_args) : vmid_(vmid), mover_(table_), env_(env_args...)
    {
    }
    Guest(const Guest&) = delete;
    Guest& operator=(const Guest&) = delete;

    u16 vmid() const { return vmid_; }

    // Memory: the plan (below), then the table built from it.
    Env& env() { return env_; }
    Status create_table(const stage2::Geometry& geo, stage2::Encoding enc)
    {
        auto created = Table::create(env_, geo, enc);
        if (!created) return created.failure();
        table_ = created.value();
        return {};
    }
    Table& table() { return table_; }
    const Table& table() const { return table_; }
    SmmuContext smmu_context() const
    {
        return {vmid_, table_.vtcr(), table_.vttbr(vmid_), table_.encoding().fwb};
    }

    // vCPUs: the physical CPUs chosen for it, and their PSCI state.
    plan::GuestCpus cpu_plan;
    vcpu::VcpuSet cpus;
    Lock cpus_lock;
    // Every chosen CPU, off until started.
    void set_cpus(const plan::GuestCpus& chosen)
    {
        cpu_plan = chosen;
        cpus.count = chosen.count;
        for (usize i = 0; i < chosen.count; ++i) {
            cpus.mpidr[i] = chosen.mpidr[i];
            cpus.state[i] = vcpu::CpuState::Off;
        }
    }

    // Virtual config space (vconfig): the view is built here, over this
    // guest's table and dispositions.
    Lock vconfig_lock;
    VconfigState vconfig;
    pci::VirtualConfig& start_vconfig(pci::DeviceTable& devices, std::span<pci::ConfigAccess* const> hw,
                                      std::span<const PciHostBridge> hosts, pci::PhysIo& io)
    {
        vconfig.view = new (vconfig_storage_) pci::VirtualConfig(devices, dispositions, hw, hosts, mover_, io);
        vconfig.view->set_forbidden({vconfig.forbidden, vconfig.forbidden_count});
        return *vconfig.view;
    }

    // Which PCI functions it gets (and how), for its plan, config space and SMMU streams.
    pci::Dispositions dispositions;

    // The guest's address space. Placed after what the trap path reads:
    // small offsets there (measured: 3 instructions per config access).
    plan::GuestPlan plan;

private:
    // Stage 2 follows the guest's BARs, break-before-make inside the table.
    class TableMover final : public pci::Stage2Mover {
    public:
        constexpr explicit TableMover(Table& t) : table_(t) {}
        Status unmap(IpaAddr ipa, u64 size) override { return table_.unmap(ipa, size); }
        Status map(IpaAddr ipa, PhysAddr pa, u64 size, stage2::Attrs attrs) override
        {
            return table_.map(ipa, pa, size, attrs);
        }

    private:
        Table& table_;
    };

    u16 vmid_;
    Table table_;
    TableMover mover_;
    alignas(pci::VirtualConfig) unsigned char vconfig_storage_[sizeof(pci::VirtualConfig)] = {};
    Env env_;
};

}  // namespace passage
