#!/usr/bin/env bash
# Edits QEMU virt's device tree ($1) into a board that starts cpu@1 through
# a spin table (its mailbox in RAM nobody reserved) and has a secure
# carve-out marked no-map (issue 14 d and k). QEMU's own PSCI still starts
# cpu@1 for anyone who asks; passage must refuse it all the same.
set -euo pipefail
dtb=$1
fdtput -t s "$dtb" /cpus/cpu@1 enable-method spin-table
fdtput -t x "$dtb" /cpus/cpu@1 cpu-release-addr 0 0x7e000ff8
fdtput -c "$dtb" /reserved-memory
fdtput -t x "$dtb" /reserved-memory '#address-cells' 2
fdtput -t x "$dtb" /reserved-memory '#size-cells' 2
fdtput "$dtb" /reserved-memory ranges
fdtput -c "$dtb" /reserved-memory/secure@7f000000
fdtput -t x "$dtb" /reserved-memory/secure@7f000000 reg 0 0x7f000000 0 0x10000
fdtput "$dtb" /reserved-memory/secure@7f000000 no-map
