#!/usr/bin/env bash
# Boots Debian's arm64 Linux with the test initramfs (tests/linux/init.sh)
# under QEMU, with the PCI devices of a layout (tests/linux/layouts.sh; the
# default, flat: virtio-blk-pci, e1000e and virtio-net-pci on bus 0), and
# checks every result: under passage (the default) or bare (--bare, no
# passage: the baseline).
#
#   tests/linux/linux-test.sh [--bare [--el2]] [--cpu CPU] [--smp N] [--gic 2|3]
#                             [--mem SIZE] [--image passage.bin] [--passage-args ARGS]
#                             [--layout NAME] [--qemu PATH | --qemu10] [--debian12]
#                             [--timeout S] [--stall S] [--watchdog S] [--disk-mib N] [--iommu]
#                             [--kernel-extra ARGS]
#                             [--work DIR] [--log FILE] [-- extra QEMU args]
#
# --stall S stops QEMU after S seconds without console output (a hung
# guest), default 0: only --timeout. --layout: flat, rootports, switch, pcibridge, multifunction or deep (see
# layouts.sh). --qemu PATH runs that QEMU; --qemu10 QEMU 10.0 from
# bookworm-backports (scripts/qemu10.sh unpacks it when needed).
# --iommu adds QEMU's SMMUv3 (qemu-cmd.sh --iommu; QEMU 10 for stage 2) and
# makes every virtio device modern-only and behind the IOMMU
# (disable-legacy=on,iommu_platform=on; otherwise QEMU lets it bypass).
#
# It fetches the kernel and builds the initramfs when needed (fetch.sh),
# makes a disk image of random bytes in the work directory (default
# build/linux/test/<mode>-<cpu>-smp<N>-gic<G>), passes its md5, a marker and
# the CPU count on the kernel command line, runs QEMU through
# scripts/qemu-cmd.sh with a timeout, and checks that:
#   - QEMU exits by itself, with 0, before --timeout (default 300 s);
#   - every check of init.sh printed "linux-guest: PASS <name>", none FAIL,
#     and "linux-guest: done: N passed, 0 failed";
#   - the disk on the host carries the marker in its last sector and is
#     otherwise unchanged;
#   - under passage: each BAR Linux reports is the one passage's device table
#     in the boot log assigned (I/O BARs by their PCI address: Linux numbers
#     ports from the window's PCI base, which is 0 on QEMU virt) when the
#     guest has linux,pci-probe-only; passage printed its end-of-guest line
#     and no line matching $passage_trouble.
# compare-view.sh compares the guest's view of a bare run and a passage run.
# Exits 0 when all hold, 1 otherwise. passage.bin is not built here (run
# cmake --build --preset cross, or scripts/run.sh, first).
set -uo pipefail
# passage's own lines (not the kernel's, not init's) matching this mean it
# could not give the guest a BAR: an access to a BAR left unmapped by a
# conflict ("... overlaps ...: not mapped; external abort injected"), a
# stage-2 change that failed, or an access outside the guest's space. The
# end-of-guest count of conflicts left is checked on its own.
passage_trouble=': not mapped|stage-2 (un)?map of .* failed|is outside its address space'
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
mode=passage el=el1 cpu=cortex-a72 smp=2 gic=3 mem=1G image=$root/build/cross/passage.bin
fetch_args=()
passage_args= timeout=300 watchdog=120 disk_mib=8 work= log= extra=() uboot=
layout=flat qemu=${QEMU:-} qemu10= stall=0 kernel_extra=
while [[ $# -gt 0 ]]; do
    case $1 in
    --bare) mode=bare; shift ;;
    --el2) el=el2; shift ;;
    --cpu) cpu=$2; shift 2 ;;
    --smp) smp=$2; shift 2 ;;
    --gic) gic=$2; shift 2 ;;
    --mem) mem=$2; shift 2 ;;
    --image) image=$2; shift 2 ;;
    --passage-args) passage_args=$2; shift 2 ;;
    --kernel-extra) kernel_extra=$2; shift 2 ;;  # more of the guest's command line (init.sh's passage.* options)
    --uboot) uboot=$2; shift 2 ;;  # boot passage through U-Boot (qemu-cmd.sh --uboot DIR)
    --timeout) timeout=$2; shift 2 ;;
    --watchdog) watchdog=$2; shift 2 ;;
    --disk-mib) disk_mib=$2; shift 2 ;;
    --work) work=$2; shift 2 ;;
    --log) log=$2; shift 2 ;;
    --layout) layout=$2; shift 2 ;;
    --qemu) qemu=$2; shift 2 ;;
    --qemu10) qemu10=1; shift ;;
    --iommu) iommu=1; shift ;;
    --debian12) fetch_args=(--debian12); shift ;;  # Debian 12's own 6.1 kernel (fetch.sh --debian12)
    --stall) stall=$2; shift 2 ;;
    -h | --help) sed -n '2,36p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    --) shift; extra=("$@"); break ;;
    *) echo "linux-test: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done
say() { echo "linux-test: $*"; }
source "$here/layouts.sh"
case " $layout_names " in *" $layout "*) ;; *) say "unknown layout '$layout' (one of: $layout_names)"; exit 2 ;; esac
if [[ -n $qemu10 ]]; then
    qemu=$("$root/scripts/qemu10.sh") || { say "FAIL: scripts/qemu10.sh failed"; exit 1; }
fi
qemu_name=qemu-system-aarch64
[[ -n $qemu ]] && qemu_name=$qemu
qemu_version=$("$qemu_name" --version 2>/dev/null | sed -n '1s/^QEMU emulator version \([0-9.]*\).*/\1/p')

fetched=$("$here/fetch.sh" "${fetch_args[@]}") || { say "FAIL: fetch.sh failed"; exit 1; }
kernel=$(sed -n 's/^Image: //p' <<<"$fetched")
initrd=$(sed -n 's/^initramfs: //p' <<<"$fetched")
[[ -f $kernel && -f $initrd ]] || { say "FAIL: fetch.sh gave no Image/initramfs"; exit 1; }
if [[ $mode == passage && ! -f $image ]]; then
    say "FAIL: no passage image $image (cmake --preset cross && cmake --build --preset cross)"
    exit 1
fi

tag=$mode
[[ $mode == bare && $el == el2 ]] && tag=bare-el2
[[ $layout != flat ]] && tag+=-$layout
[[ -n $qemu10 ]] && tag=qemu10-$tag
[[ -n ${iommu:-} ]] && tag+=-iommu
[[ -z $work ]] && work=$root/build/linux/test/$tag-$cpu-smp$smp-gic$gic
mkdir -p "$work"
[[ -z $log ]] && log=$work/console.log
disk=$work/disk.img
dd if=/dev/urandom of="$disk" bs=1M count="$disk_mib" status=none
size=$(stat -c %s "$disk")
md5=$(md5sum "$disk" | cut -d' ' -f1)
head_md5=$(head -c $((size - 512)) "$disk" | md5sum | cut -d' ' -f1)
marker=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
# The NVMe namespace: 2 MiB of random bytes; the guest reads the first MiB.
nvme=$work/nvme.img ivshmem_mib=16
layout_devices "$layout"
if [[ -n ${iommu:-} ]]; then
    for i in "${!devices[@]}"; do
        [[ ${devices[$i]} == virtio-*-pci* ]] && devices[$i]+=",disable-legacy=on,iommu_platform=on"
    done
fi

kargs="console=ttyAMA0 earlycon panic=-1 passage.disk_md5=$md5 passage.marker=$marker"
kargs+=" passage.cpus=$smp passage.watchdog=$watchdog passage.mode=$mode${kernel_extra:+ $kernel_extra}"
if [[ -n $expect ]]; then
    kargs+=" passage.expect=$expect"
    if [[ ,$expect, == *,nvme,* ]]; then
        dd if=/dev/urandom of="$nvme" bs=1M count=2 status=none
        kargs+=" passage.nvme_md5=$(head -c 1048576 "$nvme" | md5sum | cut -d' ' -f1)"
    fi
    [[ ,$expect, == *,ivshmem,* ]] && kargs+=" passage.ivshmem_mib=$ivshmem_mib"
fi
common=(--cpu "$cpu" --smp "$smp" --gic "$gic" --mem "$mem"
        --kernel "$kernel" --initrd "$initrd" --kernel-args "$kargs")
[[ -n $qemu ]] && common+=(--qemu "$qemu")
[[ -n ${iommu:-} ]] && common+=(--iommu)
if [[ $mode == bare ]]; then
    qopts=(--bare "${common[@]}")
    [[ $el == el1 ]] && qopts+=(--el1)
else
    qopts=("$image" "${common[@]}")
    [[ -n $passage_args ]] && qopts+=(--append "$passage_args")
    [[ -n $uboot ]] && qopts+=(--uboot "$uboot")
fi
mapfile -t cmd < <("$root/scripts/qemu-cmd.sh" "${qopts[@]}" -- "${devices[@]}" "${extra[@]}")
[[ ${#cmd[@]} -gt 0 ]] || { say "FAIL: qemu-cmd.sh gave no command"; exit 1; }
say "$mode, layout $layout, QEMU ${qemu_version:-?}, $cpu, $smp CPUs, GICv$gic, $mem; disk $disk ($disk_mib MiB, md5 $md5)"
echo "+ $(printf '%q ' "${cmd[@]}")"
start=$(date +%s.%N)
if [[ $stall -gt 0 ]]; then
    # A guest that hangs prints nothing more: stop it after --stall seconds
    # of silence instead of waiting for --timeout.
    timeout -k 5 "$timeout" "${cmd[@]}" </dev/null >"$log" 2>&1 &
    qpid=$! last_size=-1 quiet=0 stalled=
    while kill -0 $qpid 2>/dev/null; do
        sleep 1
        size_now=$(stat -c %s "$log" 2>/dev/null || echo 0)
        if [[ $size_now == "$last_size" ]]; then quiet=$((quiet + 1)); else quiet=0 last_size=$size_now; fi
        if (( quiet >= stall )); then stalled=1; kill -TERM $qpid 2>/dev/null; break; fi
    done
    wait $qpid
    rc=$?
else
    timeout --foreground -k 5 "$timeout" "${cmd[@]}" </dev/null >"$log" 2>&1
    rc=$?
fi
end=$(date +%s.%N)
sed -i 's/\r$//' "$log"
wall=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
cat "$log"
echo "----"

failed=0
bad() { say "FAIL: $*"; failed=$((failed + 1)); }
ok() { say "ok: $*"; }
if [[ -n ${stalled:-} ]]; then bad "the console was silent for ${stall}s: stopped QEMU (--stall)"
elif [[ $rc -eq 124 || $rc -eq 137 ]]; then bad "QEMU did not finish within ${timeout}s"
elif [[ $rc -ne 0 ]]; then bad "QEMU exited with $rc"
else ok "QEMU exited by itself after ${wall}s"
fi

# The checks of the layout's devices (init.sh's passage.expect; flat: its
# default blk,e1000e,net).
kinds=${expect:-blk,e1000e,net}
has() { [[ ,$kinds, == *,$1,* ]]; }
checks=(modules pci-devices disk-md5 disk-write)
has e1000e && checks+=(link-e1000e)
has e1000 && checks+=(link-e1000)
has net && checks+=(link-virtio-net)
has nvme && checks+=(nvme-read)
has xhci && checks+=(xhci)
has display && checks+=(display)
has ivshmem && checks+=(ivshmem)
checks+=(msix-virtio-blk)
has e1000e && checks+=(msix-e1000e)
has net && checks+=(msix-virtio-net)
has nvme && checks+=(msix-nvme)
checks+=(cpus)
# A 32-bit Thumb access to an I/O BAR (the flat layout's virtio devices have
# one; a layout without may SKIP).
[[ $layout == flat ]] && checks+=(aarch32-mmio-it-block)
# A 32-bit process's bad access: its own SIGBUS under passage; bare QEMU
# reads all-ones there and init.sh says SKIP.
[[ $mode == bare ]] || checks+=(aarch32-bad-access)
for c in "${checks[@]}"; do
    if grep -qE "^linux-guest: PASS $c(:|$)" "$log"; then ok "guest $c"
    else
        why=$(grep -E "^linux-guest: FAIL $c:" "$log" | head -1)
        bad "guest $c: ${why:-no PASS line}"
    fi
done
while IFS= read -r line; do bad "guest: ${line#linux-guest: }"; done < <(grep -E '^linux-guest: FAIL' "$log" |
    grep -vE "^linux-guest: FAIL ($(IFS='|'; echo "${checks[*]}")):")
if grep -qE '^linux-guest: done: [0-9]+ passed, 0 failed' "$log"; then ok "$(grep -E '^linux-guest: done:' "$log")"
else bad "no 'linux-guest: done: N passed, 0 failed' line"
fi
if grep -qE 'Kernel panic|PANIC' "$log"; then bad "$(grep -m1 -E 'Kernel panic|PANIC' "$log")"; fi

# The disk, on the host: the marker in the last sector, the rest unchanged.
want="passage-linux-guest-marker $marker"
got=$(tail -c 512 "$disk" | head -n 1 | tr -c '[:print:]\n' '.')
if [[ $got == "$want" ]]; then ok "disk: the guest's marker is in the last sector"
else bad "disk: last sector starts with '${got:0:60}', expected '$want'"
fi
if [[ $(head -c $((size - 512)) "$disk" | md5sum | cut -d' ' -f1) == "$head_md5" ]]; then
    ok "disk: the rest is unchanged"
else
    bad "disk: sectors other than the last changed"
fi

# Under passage: Linux keeps (linux,pci-probe-only) the BARs passage gave.
if [[ $mode == passage ]]; then
    # passage:  "PCI 0000:00:01.0 1af4:1001 [0100] ..." then "    BAR0 io   0x3eff1000 (pci 0x1000)  size ..."
    # guest:    "linux-guest: pci 0000:00:01.0 BAR0 io 0x1000-0x107f"
    expected=$(awk '
        /^PCI [0-9a-f]+:[0-9a-f]+:[0-9a-f]+\.[0-7] / { bdf = $2; next }
        bdf != "" && /^ +(BAR[0-5]|ROM) / {
            addr = $3; if ($3 == "pref") addr = $4
            for (i = 3; i <= NF; i++) if ($i == "(pci") { addr = $(i + 1); sub(/\)$/, "", addr) }
            print bdf, $1, addr; next }
        bdf != "" && !/^    / { bdf = "" }' "$log")
    actual=$(awk '/^linux-guest: pci [0-9a-f:.]+ (BAR[0-5]|ROM) / {
        split($NF, r, "-"); print $3, $4, r[1] }' "$log")
    # Functions passage hides (virtual config space): Linux must not see them,
    # and their BARs are not expected.
    hidden=$(awk '/^  PCI [0-9a-f]+:[0-9a-f]+:[0-9a-f]+\.[0-7] [0-9a-f]+:[0-9a-f]+ +hidden:/ { print $2 }' "$log")
    for bdf in $hidden; do
        if grep -q "^linux-guest: pci $bdf " "$log"; then bad "hidden: $bdf is hidden by passage, but Linux sees it"
        else ok "hidden: $bdf is invisible to Linux"; fi
        expected=$(grep -v "^$bdf " <<<"$expected" || true)
    done
    if grep -q "PCI config space: virtual" "$log"; then
        summary=$(grep -o "PCI config space: [0-9]* guest accesses emulated.*" "$log" || true)
        if [[ -n $summary ]]; then ok "vpci: ${summary#PCI config space: }"
        else bad "vpci: no end-of-guest summary (PCI config space: N guest accesses emulated, ...)"; fi
    fi
    if [[ -n ${iommu:-} && " $passage_args " != *" passage.smmu=off "* ]]; then
        # Every device's DMA went through the SMMU, translated by the
        # guest's stage 2, and none of it faulted.
        on=$(grep -aoE "SMMUv3 [^ ]+ on: [0-9]+ StreamIDs, [1-9][0-9]* translated.*" "$log" | head -1 || true)
        if [[ -n $on ]]; then ok "smmu: $on"; else bad "smmu: no 'SMMUv3 ... on: ... translated' line"; fi
        if grep -aq "^SMMU: 0 DMA faults blocked" "$log"; then ok "smmu: 0 DMA faults"
        else bad "smmu: $(grep -a '^SMMU: ' "$log" || echo 'no end-of-guest SMMU line')"; fi
    fi
    # passage's own lines: not the kernel's ([ time ]) nor init's. The one
    # bad access init.sh's 32-bit program makes on purpose (aarch32-bad-access)
    # is expected, at the address it names.
    bad_ipa=$(sed -n 's/^linux-guest: PASS aarch32-bad-access: SIG[A-Z]* reading \(0x[0-9a-f]*\) .*/\1/p' "$log" | head -1)
    trouble=$(grep -avE '^\[ *[0-9]+\.[0-9]+\]|^linux-guest:|^linux-test:' "$log" | grep -aE "$passage_trouble" |
        grep -avF "guest read at IPA ${bad_ipa:-none} (" || true)
    if [[ -n $trouble ]]; then
        while IFS= read -r line; do bad "passage: $line"; done <<<"$(head -5 <<<"$trouble")"
    else
        ok "passage: no line matching '$passage_trouble'"
    fi
    if grep -q "no linux,pci-probe-only: the guest may move BARs" "$log"; then
        # Linux assigns BARs itself; passage follows, and at the end no BAR
        # is left unmapped by a conflict.
        left=$(sed -n 's/.* \([0-9]*\) conflicts left unmapped.*/\1/p' "$log" | tail -1)
        if [[ ${left:-x} != 0 ]]; then bad "bars: ${left:-?} of Linux's BARs left unmapped by a conflict"
        else ok "bars: Linux assigned its own BARs (no linux,pci-probe-only); all mapped"; fi
    elif [[ -z $expected ]]; then
        bad "bars: no device table (PCI ... / BARn ...) from passage in the log"
    elif [[ -z $actual ]]; then
        bad "bars: the guest printed no BARs"
    else
        n=0 before=$failed
        while read -r bdf bar addr; do
            n=$((n + 1))
            g=$(awk -v b="$bdf" -v r="$bar" '$1 == b && $2 == r { print $3 }' <<<"$actual")
            if [[ -z $g ]]; then bad "bars: $bdf $bar: passage assigned $addr, Linux shows none"
            elif (( g != addr )); then bad "bars: $bdf $bar: passage assigned $addr, Linux has $g"
            fi
        done <<<"$expected"
        while read -r bdf bar addr; do
            grep -q "^$bdf $bar " <<<"$expected" || bad "bars: $bdf $bar at $addr in Linux, not in passage's table"
        done <<<"$actual"
        [[ $failed -eq $before ]] && ok "bars: Linux kept all $n BARs of passage's device table"
    fi
else
    say "bare: Linux assigned the BARs itself; nothing to compare"
fi

init_at=$(sed -n 's/^\[ *\([0-9.]*\)\] Run \/init as init process.*/\1/p' "$log" | head -1)
end_at=$(sed -n 's/^linux-guest: uptime at the end \([0-9.]*\) s/\1/p' "$log" | head -1)
say "times: /init at ${init_at:-?} s, checks done at ${end_at:-?} s (guest clock), QEMU ran ${wall} s"
if [[ $failed -eq 0 ]]; then
    say "PASS ($mode, layout $layout, QEMU ${qemu_version:-?}, $cpu, $smp CPUs, GICv$gic)"
    exit 0
fi
say "FAIL: $failed problems ($mode, layout $layout, QEMU ${qemu_version:-?}, $cpu, $smp CPUs, GICv$gic); log: $log; its last lines:"
grep -vE '^linux-test:' "$log" | tail -n 15 | sed 's/^/    /'
exit 1
