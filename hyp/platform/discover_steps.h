// The steps of discover_platform (discover.cpp), each in the file named
// beside it; private to hyp/platform. Each fills its part of the Platform
// and fails with a message naming the node it could not read. Nodes are
// indices in the tree's fdt::TreeIndex.
#pragma once

#include "passage/discover.h"
#include "passage/fdt/index.h"
#include "passage/fdt/node.h"

namespace passage::discovery {

// node_reg.cpp: the index-th reg entry of `node` translated to a CPU
// address; a malformed one fails naming `what` and the node.
Status reg_or_fail(const fdt::TreeIndex& t, int node, int index, MemRange& out, Diagnostic& diag, const char* what);

// memory.cpp
Status discover_memory(const fdt::TreeIndex& t, Platform& p, Diagnostic& diag, DiscoveryMode mode);
Status discover_reserved(const fdt::TreeIndex& t, Platform& p, Diagnostic& diag);

// cpus.cpp
Status discover_cpus(const fdt::TreeIndex& t, Platform& p, Diagnostic& diag);
int find_psci(const fdt::TreeIndex& t);  // the PSCI node, or -1
void discover_timer(const fdt::TreeIndex& t, Platform& p);

// gic.cpp: the GIC version `node` is, and the compatible that says so.
GicVersion gic_version(const fdt::TreeIndex& t, int node, const char** which = nullptr);
GicVersion gic_version(const fdt::CompatibleList& compat, const char** which = nullptr);
Status discover_gic(const fdt::TreeIndex& t, Platform& p, Diagnostic& diag);

// pci_hosts.cpp: a host bridge is a device_type = "pci" node whose parent
// is not a PCI bus.
bool is_host_bridge(const fdt::TreeIndex& t, int node);
Status discover_pci(const fdt::TreeIndex& t, Platform& p, Diagnostic& diag);

// mmio.cpp: the MMIO devices under `bus` (depth: simple-bus nesting).
void collect_mmio(const fdt::TreeIndex& t, int bus, Platform& p, int depth);

// dma_masters.cpp
void discover_dma(const fdt::TreeIndex& t, Platform& p);

}  // namespace passage::discovery
