#!/bin/sh
# /init of the Linux guest's initramfs (busybox sh). Checks what an
# unmodified Linux sees of the passed-through PCI devices and prints one line
# per check:
#   linux-guest: PASS <name>[: detail]
#   linux-guest: FAIL <name>: why
#   linux-guest: SKIP <name>: why          (not counted)
# then "linux-guest: done: N passed, M failed" and powers off. A watchdog
# prints FAIL and powers off if the checks take longer than passage.watchdog
# seconds. Every wait is bounded; nothing is sent on any network.
#
# Command line (the test harness sets these; the kernel ignores dotted names):
#   passage.disk_md5=HEX    md5 of the whole virtio-blk disk as the host made it
#   passage.marker=TOKEN    written to the disk's last 512-byte sector
#   passage.cpus=N          CPUs expected online
#   passage.watchdog=S      seconds before the watchdog gives up (default 90)
#   passage.link_wait=S     seconds to wait for each link (default 20)
#   passage.expect=K,K...   the device kinds to check (default blk,e1000e,net):
#                           blk net e1000e e1000 nvme xhci display ivshmem
#   passage.nvme_md5=HEX    md5 of the first MiB of the NVMe namespace's image
#   passage.ivshmem_mib=N   the size of ivshmem's shared memory (its BAR2)
#   passage.mode=M          passage or bare: whether a hypervisor is under the guest
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
/bin/busybox --install -s
mount -t devtmpfs devtmpfs /dev 2>/dev/null
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp

R=/run/results
: >$R
say() { echo "linux-guest: $*"; }
pass() { say "PASS $1${2:+: $2}"; echo P >>$R; }
fail() { say "FAIL $1: $2"; echo F >>$R; }
skip() { say "SKIP $1: $2"; }
finish() {
    p=$(grep -c P $R) f=$(grep -c F $R)
    say "uptime at the end $(cut -d' ' -f1 /proc/uptime) s"
    say "done: $p passed, $f failed"
    sync
    poweroff -f
    sleep 5
    echo o >/proc/sysrq-trigger
}
arg() {
    for w in $(cat /proc/cmdline); do
        case $w in "$1="*) echo "${w#*=}"; return ;; esac
    done
    echo "$2"
}
# wait_for SECONDS COMMAND...: runs COMMAND every 0.2 s until it succeeds.
wait_for() {
    t=$(( $1 * 5 )); shift
    while [ $t -gt 0 ]; do
        "$@" && return 0
        sleep 0.2
        t=$((t - 1))
    done
    "$@"
}

say "init started, uptime $(cut -d' ' -f1 /proc/uptime) s, kernel $(uname -r)"
say "cmdline: $(cat /proc/cmdline)"
WD=$(arg passage.watchdog 90)
LINK_WAIT=$(arg passage.link_wait 20)
EXPECT=$(arg passage.expect blk,e1000e,net)
say "expected devices: $EXPECT"
expects() { case ",$EXPECT," in *",$1,"*) return 0 ;; esac; return 1; }
( sleep "$WD"; fail watchdog "the checks did not finish within ${WD}s"; finish ) &
WATCHDOG=$!

# --- modules, dependencies first (fetch.sh wrote the order) ---------------
mods_ok=1 loaded=
for m in $(cat /lib/modules/load-order); do
    if out=$(insmod /lib/modules/$m.ko 2>&1); then
        loaded="$loaded $m"
    else
        fail "module-$m" "insmod: $out"; mods_ok=0
    fi
done
[ $mods_ok = 1 ] && pass modules "${loaded# }"

# --- PCI devices: BDF, vendor:device, driver and BARs as Linux has them ---
# role of a device by vendor:device (transitional and modern virtio ids)
role() {
    case $1 in
    1af4:1001 | 1af4:1042) echo virtio-blk ;;
    1af4:1000 | 1af4:1041) echo virtio-net ;;
    8086:10d3) echo e1000e ;;
    8086:100e) echo e1000 ;;
    1b36:0010) echo nvme ;;
    1b36:000d) echo xhci ;;
    1234:1111) echo display ;;
    1af4:1110) echo ivshmem ;;
    *) echo other ;;
    esac
}
# the role of an expected kind, and the driver a device of a role must have
# (ivshmem-plain has none in Linux: "-")
role_of_kind() {
    case $1 in blk) echo virtio-blk ;; net) echo virtio-net ;; *) echo $1 ;; esac
}
driver_of() {
    case $1 in
    virtio-blk | virtio-net) echo virtio-pci ;;
    xhci) echo xhci_hcd ;;
    display) echo bochs-drm ;;
    ivshmem) echo - ;;
    *) echo $1 ;;
    esac
}
# flags from /sys/bus/pci/devices/*/resource: IO 0x100, MEM 0x200,
# PREFETCH 0x2000, MEM_64 0x100000
bar_kind() {
    fl=$(($1))
    if [ $((fl & 0x100)) -ne 0 ]; then echo io
    elif [ $((fl & 0x100000)) -ne 0 ]; then
        if [ $((fl & 0x2000)) -ne 0 ]; then echo "mem64 pref"; else echo mem64; fi
    elif [ $((fl & 0x2000)) -ne 0 ]; then echo "mem32 pref"
    else echo mem32
    fi
}
seen=" " pci_bad=
for d in /sys/bus/pci/devices/*; do
    [ -e "$d/vendor" ] || continue
    bdf=${d##*/}
    id=$(printf '%04x:%04x' $(($(cat $d/vendor))) $(($(cat $d/device))))
    drv=-
    [ -L $d/driver ] && drv=$(basename "$(readlink $d/driver)")
    r=$(role $id)
    say "pci $bdf $id class $(cat $d/class) driver $drv${r:+ ($r)}"
    i=0
    while read start end flags; do
        if [ $((start)) -ne 0 ] || [ $((end)) -ne 0 ]; then
            case $i in 6) name=ROM ;; [0-5]) name=BAR$i ;; *) name=WIN$i ;; esac
            say "pci $bdf $name $(bar_kind $flags) $(printf '0x%x-0x%x' $((start)) $((end)))"
        fi
        i=$((i + 1))
    done <$d/resource
    [ $r = other ] && continue
    seen="$seen$r=$bdf "
    want=$(driver_of $r)
    [ $drv = $want ] || pci_bad="$pci_bad $bdf ($r) has driver $drv, not $want;"
done
for k in $(echo $EXPECT | tr , ' '); do
    r=$(role_of_kind $k)
    case "$seen" in *" $r="*) ;; *) pci_bad="$pci_bad no $r device;" ;; esac
done
if [ -z "$pci_bad" ]; then pass pci-devices "$(echo $seen)"; else fail pci-devices "${pci_bad# }"; fi
bdf_of() { for w in $seen; do case $w in "$1="*) echo "${w#*=}"; return ;; esac; done; }

# --- the virtio-blk disk: its md5, then a marker in its last sector --------
disk=
has_vd() { for b in /sys/block/vd*; do [ -e "$b" ] && return 0; done; return 1; }
if wait_for 10 has_vd; then
    for b in /sys/block/vd*; do disk=${b##*/}; break; done
fi
expect_md5=$(arg passage.disk_md5)
if [ -z "$disk" ]; then
    fail disk-md5 "no virtio-blk disk in /sys/block"
    fail disk-write "no virtio-blk disk in /sys/block"
else
    sectors=$(cat /sys/block/$disk/size)
    wait_for 5 test -b /dev/$disk
    if [ -z "$expect_md5" ]; then
        skip disk-md5 "no passage.disk_md5= on the command line"
    else
        got=$(timeout 60 md5sum /dev/$disk | cut -d' ' -f1)
        if [ "$got" = "$expect_md5" ]; then
            pass disk-md5 "/dev/$disk, $sectors sectors, md5 $got"
        else
            fail disk-md5 "/dev/$disk md5 is '${got}', the host's is $expect_md5"
        fi
    fi
    # passage.disk_read_rounds=N: read the whole disk N times (caches
    # dropped each time) and say how long that took, for the benchmark
    # of DMA through the SMMU (bench/linux/bench_linux_disk.sh).
    rounds=$(arg passage.disk_read_rounds)
    if [ -n "$rounds" ]; then
        cs() { t=$(cut -d' ' -f1 /proc/uptime); echo $(( ${t%.*} * 100 + 1${t#*.} - 100 )); }
        t0=$(cs) i=0
        while [ $i -lt "$rounds" ]; do
            echo 3 >/proc/sys/vm/drop_caches
            dd if=/dev/$disk of=/dev/null bs=1M 2>/dev/null
            i=$((i + 1))
        done
        t1=$(cs)
        say "disk-read: $((rounds * sectors / 2048)) MiB in $((t1 - t0)) cs"
    fi
    token=$(arg passage.marker)
    if [ -z "$token" ]; then
        skip disk-write "no passage.marker= on the command line"
    else
        last=$((sectors - 1))
        echo "passage-linux-guest-marker $token" | dd of=/run/marker bs=512 conv=sync 2>/dev/null
        if timeout 30 dd if=/run/marker of=/dev/$disk bs=512 seek=$last count=1 conv=notrunc,fsync 2>/run/dd.err; then
            sync
            blockdev --flushbufs /dev/$disk 2>/dev/null
            echo 3 >/proc/sys/vm/drop_caches
            back=$(timeout 30 dd if=/dev/$disk bs=512 skip=$last count=1 2>/dev/null | head -n 1)
            if [ "$back" = "passage-linux-guest-marker $token" ]; then
                pass disk-write "marker in sector $last, synced and read back"
            else
                fail disk-write "read back '${back}' from sector $last"
            fi
        else
            fail disk-write "dd: $(cat /run/dd.err)"
        fi
    fi
fi

# --- links: up, with no address and IPv6 off, so nothing is ever sent ------
echo 1 >/proc/sys/net/ipv6/conf/all/disable_ipv6 2>/dev/null
echo 1 >/proc/sys/net/ipv6/conf/default/disable_ipv6 2>/dev/null
link_up() { [ "$(cat $1/carrier 2>/dev/null)" = 1 ] && [ "$(cat $1/operstate)" = up ]; }
nics=
expects e1000e && nics="$nics e1000e"
expects e1000 && nics="$nics e1000"
expects net && nics="$nics virtio_net"
for want in $nics; do
    case $want in virtio_net) name=link-virtio-net ;; *) name=link-$want ;; esac
    n=
    for c in /sys/class/net/*; do
        [ -L $c/device/driver ] || continue
        [ "$(basename "$(readlink $c/device/driver)")" = $want ] && { n=$c; break; }
    done
    if [ -z "$n" ]; then fail $name "no network interface driven by $want"; continue; fi
    ifc=${n##*/}
    echo 1 >/proc/sys/net/ipv6/conf/$ifc/disable_ipv6 2>/dev/null
    if ! out=$(ip link set dev $ifc up 2>&1); then fail $name "ip link set $ifc up: $out"; continue; fi
    if wait_for $LINK_WAIT link_up $n; then
        pass $name "$ifc up (carrier 1, operstate up, $(cat $n/address))"
    else
        fail $name "$ifc: carrier $(cat $n/carrier 2>/dev/null), operstate $(cat $n/operstate) after ${LINK_WAIT}s"
    fi
done

# --- NVMe: the namespace's first MiB is the host's ---------------------------
if expects nvme; then
    has_nvme() { [ -e /sys/block/nvme0n1 ]; }
    expect_nvme=$(arg passage.nvme_md5)
    if ! wait_for 15 has_nvme; then
        fail nvme-read "no /sys/block/nvme0n1 (nvme: $(bdf_of nvme))"
    else
        wait_for 5 test -b /dev/nvme0n1
        got=$(timeout 60 dd if=/dev/nvme0n1 bs=64k count=16 2>/dev/null | md5sum | cut -d' ' -f1)
        if [ -z "$expect_nvme" ]; then
            skip nvme-read "no passage.nvme_md5= on the command line"
        elif [ "$got" = "$expect_nvme" ]; then
            pass nvme-read "/dev/nvme0n1 ($(cat /sys/block/nvme0n1/size) sectors), first MiB md5 $got"
        else
            fail nvme-read "/dev/nvme0n1 first MiB md5 is '$got', the host's is $expect_nvme"
        fi
    fi
fi

# --- xHCI: bound to xhci_hcd, with its USB root hubs ----------------------------
if expects xhci; then
    bdf=$(bdf_of xhci)
    has_usb() { ls -d /sys/bus/pci/devices/$bdf/usb* >/dev/null 2>&1; }
    if [ -z "$bdf" ]; then fail xhci "no qemu-xhci device"
    elif [ "$(basename "$(readlink /sys/bus/pci/devices/$bdf/driver 2>/dev/null)")" != xhci_hcd ]; then
        fail xhci "$bdf is not bound to xhci_hcd"
    elif wait_for 10 has_usb; then
        pass xhci "$bdf bound to xhci_hcd, root hubs $(cd /sys/bus/pci/devices/$bdf && echo usb*)"
    else
        fail xhci "$bdf bound to xhci_hcd, but no USB bus registered"
    fi
fi

# --- the display: bound to bochs-drm, a DRM card ------------------------------
if expects display; then
    bdf=$(bdf_of display)
    has_card() { ls -d /sys/bus/pci/devices/$bdf/drm/card* >/dev/null 2>&1; }
    if [ -z "$bdf" ]; then fail display "no bochs-display device"
    elif [ "$(basename "$(readlink /sys/bus/pci/devices/$bdf/driver 2>/dev/null)")" != bochs-drm ]; then
        fail display "$bdf is not bound to bochs-drm"
    elif wait_for 10 has_card; then
        pass display "$bdf bound to bochs-drm, $(cd /sys/bus/pci/devices/$bdf/drm && echo card*)"
    else
        fail display "$bdf bound to bochs-drm, but no DRM card"
    fi
fi

# --- ivshmem: its BARs, and its shared memory written and read back -------------
# No driver: memory decoding is turned on through sysfs, and busybox devmem
# writes a pattern at the start and in the middle of BAR2 and reads it
# back.
if expects ivshmem; then
    bdf=$(bdf_of ivshmem)
    want_mib=$(arg passage.ivshmem_mib)
    if [ -z "$bdf" ]; then fail ivshmem "no ivshmem-plain device"
    else
        d=/sys/bus/pci/devices/$bdf
        i=0 bar0= bar2= bar2_start=
        while read start end flags; do
            [ $i = 0 ] && [ $((end)) -ne 0 ] && bar0=$((end - start + 1))
            [ $i = 2 ] && [ $((end)) -ne 0 ] && { bar2=$((end - start + 1)); bar2_start=$((start)); }
            i=$((i + 1))
        done <$d/resource
        if [ -z "$bar0" ] || [ -z "$bar2" ]; then
            fail ivshmem "$bdf: BAR0 ${bar0:-missing}, BAR2 ${bar2:-missing}"
        elif [ -n "$want_mib" ] && [ $bar2 -ne $((want_mib * 1048576)) ]; then
            fail ivshmem "$bdf: BAR2 is $bar2 bytes, the host gave ${want_mib} MiB"
        else
            echo 1 >$d/enable 2>/dev/null
            a=$(printf 0x%x $bar2_start) b=$(printf 0x%x $((bar2_start + bar2 / 2 + 8)))
            devmem $a 32 0x5a5a1234 2>/run/devmem.err; devmem $b 32 0xa5a54321 2>>/run/devmem.err
            ra=$(devmem $a 32 2>>/run/devmem.err) rb=$(devmem $b 32 2>>/run/devmem.err)
            if [ $((ra)) -eq $((0x5a5a1234)) ] && [ $((rb)) -eq $((0xa5a54321)) ]; then
                pass ivshmem "$bdf: BAR0 $bar0 bytes, BAR2 $((bar2 / 1048576)) MiB at $(printf 0x%x $bar2_start), written and read back"
            else
                fail ivshmem "$bdf: BAR2 at $a read back ${ra:-nothing} at $a and ${rb:-nothing} at $b $(head -c 200 /run/devmem.err)"
            fi
        fi
    fi
fi

# --- MSI-X: every vector of each device is an ITS or GICv2m MSI-X interrupt -
msix_roles=
for k in blk e1000e net nvme; do expects $k && msix_roles="$msix_roles $(role_of_kind $k)"; done
for r in $msix_roles; do
    bdf=$(bdf_of $r)
    [ -n "$bdf" ] || { fail msix-$r "no $r device"; continue; }
    d=/sys/bus/pci/devices/$bdf
    if [ ! -d $d/msi_irqs ] || [ -z "$(ls $d/msi_irqs)" ]; then
        fail msix-$r "$bdf has no MSI vectors (msi_irqs empty)"; continue
    fi
    nv=0 bad= total=0 via=
    for f in $d/msi_irqs/*; do
        v=${f##*/}
        nv=$((nv + 1))
        mode=$(cat $f)
        line=$(grep -E "^ *$v:" /proc/interrupts)
        say "irq $bdf ($r) $mode: $(echo $line)"
        [ "$mode" = msix ] || bad="$bad vector $v is $mode;"
        case "$line" in
        *ITS*MSI*) via="through the GICv3 ITS" ;;
        *GICv2m*) via="through GICv2m" ;;
        *) bad="$bad irq $v is not on the ITS or GICv2m;" ;;
        esac
        for c in $(echo "$line" | awk -v n=$(($(nproc))) '{ for (i = 2; i <= n + 1; i++) print $i }'); do
            case $c in *[!0-9]*) ;; *) total=$((total + c)) ;; esac
        done
    done
    if [ -n "$bad" ]; then
        fail msix-$r "$bdf:${bad}"
    elif { [ $r = virtio-blk ] || [ $r = nvme ]; } && [ $total -eq 0 ]; then
        fail msix-$r "$bdf: $nv MSI-X vectors, but none has fired after disk I/O"
    else
        pass msix-$r "$bdf: $nv MSI-X vectors $via, $total interrupts"
    fi
done

# --- a 32-bit process's bad access is its own fault ---------------------------
# /bin/a32-access (armhf, Thumb; fetch.sh builds it from a32-access.c) reads, through
# /dev/mem, the highest page of the PCI host bridge's 32-bit memory window
# that no BAR or bridge window uses (STRICT_DEVMEM lets it: nothing claims
# it). Under passage that page is not mapped at stage 2 (docs/design.md), so
# the read is a stage-2 abort from AArch32 EL0 that passage must give back to
# the guest as an external abort: the process dies of SIGBUS (SIGSEGV would
# do too) and the guest carries on. Bare QEMU's PCI host reads all-ones
# where nothing is assigned, with no abort: SKIP there (passage.mode=bare).
MODE=$(arg passage.mode passage)
a32_window= a32_page=
while IFS= read -r line; do
    case $line in " "*) continue ;; esac
    case "${line#*: }" in *[Pp][Cc][Ii]*) ;; *) continue ;; esac
    range=${line%% :*}
    [ $((0x${range#*-})) -lt $((0x100000000)) ] || continue
    a32_window=$range
    break
done </proc/iomem
if [ -n "$a32_window" ]; then
    ws=$((0x${a32_window%-*})) we=$((0x${a32_window#*-}))
    # the ranges inside the window (indented lines of /proc/iomem)
    sed -n 's/^  *\([0-9a-f]*\)-\([0-9a-f]*\) : .*/\1 \2/p' /proc/iomem >/run/iomem.used
    page=$(( (we + 1 - 4096) & ~4095 )) tries=64
    while [ -z "$a32_page" ] && [ $tries -gt 0 ] && [ $page -ge $ws ]; do
        used=
        while read s e; do
            [ $((0x$s)) -le $((page + 4095)) ] && [ $((0x$e)) -ge $page ] && { used=1; break; }
        done </run/iomem.used
        [ -z "$used" ] && a32_page=$page
        page=$((page - 4096)) tries=$((tries - 1))
    done
fi
if [ ! -x /bin/a32-access ]; then
    fail aarch32-bad-access "no /bin/a32-access in the initramfs"
elif [ -z "$a32_page" ]; then
    fail aarch32-bad-access "no free page in a PCI memory window below 4 GiB (window: ${a32_window:-none in /proc/iomem})"
else
    a=$(printf 0x%x $a32_page)
    /bin/a32-access bad $a >/run/a32.out 2>&1
    rc=$?
    out=$(tr '\n' ' ' </run/a32.out)
    case $rc in
    135) pass aarch32-bad-access "SIGBUS reading $a (window $a32_window); ${out% }" ;;
    139) pass aarch32-bad-access "SIGSEGV reading $a (window $a32_window); ${out% }" ;;
    0)
        if [ "$MODE" = bare ]; then
            skip aarch32-bad-access "bare QEMU reads unassigned PCI memory without an abort: ${out% }"
        else
            fail aarch32-bad-access "the read of $a returned instead of aborting: ${out% }"
        fi
        ;;
    *) fail aarch32-bad-access "exit status $rc reading $a: ${out% }" ;;
    esac
fi
# The same program reads a register of an I/O BAR through the PCI I/O window
# (under passage the window traps and passage forwards the access): a 16-bit
# Thumb load in an ITE block whose else-slot must stay skipped (passage moves
# the IT state on), then a 32-bit load into R12 (AArch32 register mapping);
# both must read the same, and not all-ones. Bare, the same reads go straight
# to QEMU. The window's CPU address comes from the host bridge's ranges
# (3 PCI address cells, 2 CPU address cells, 2 size cells; I/O: phys.hi 01).
io_cpu= io_pci=
for r in /sys/firmware/devicetree/base/pcie@*/ranges; do
    [ -e "$r" ] || continue
    hex=$(hexdump -v -e '1/1 "%02x"' "$r")
    n=0
    while [ $n -lt ${#hex} ] && [ -z "$io_cpu" ]; do
        e=$(echo "$hex" | cut -c$((n + 1))-$((n + 56)))
        case $e in 01*) io_pci=$((0x$(echo "$e" | cut -c9-24))) io_cpu=$((0x$(echo "$e" | cut -c25-40))) ;; esac
        n=$((n + 56))
    done
    break
done
# A virtio device's legacy I/O BAR (BAR0-5 only, not a bridge's window):
# offset 0 is its device features, never all-ones and safe to read.
io_bar= io_dev=
for d in /sys/bus/pci/devices/*; do
    [ -e "$d/resource" ] && [ "$(cat $d/vendor)" = 0x1af4 ] || continue
    i=0
    while read start end flags; do
        [ $i -le 5 ] && [ $((flags & 0x100)) -ne 0 ] && [ $((start)) -ne 0 ] && { io_bar=$((start)); io_dev=${d##*/}; break; }
        i=$((i + 1))
    done <$d/resource
    [ -n "$io_bar" ] && break
done
if [ ! -x /bin/a32-access ]; then
    fail aarch32-mmio-it-block "no /bin/a32-access in the initramfs"
elif [ -z "$io_cpu" ]; then
    fail aarch32-mmio-it-block "no PCI I/O window in the host bridge's ranges"
elif [ -z "$io_bar" ]; then
    skip aarch32-mmio-it-block "no virtio device with an I/O BAR"
else
    a=$(printf 0x%x $((io_cpu + io_bar - io_pci)))
    /bin/a32-access it-block $a >/run/a32.out 2>&1
    rc=$?
    out=$(tr '\n' ' ' </run/a32.out)
    v=$(echo "$out" | sed -n 's/.*it-block read \(0x[0-9a-f]*\), r12 read \(0x[0-9a-f]*\),.*/\1 \2/p')
    if [ $rc -eq 0 ] && [ -n "$v" ] && [ "${v% *}" = "${v#* }" ] && [ "${v% *}" != 0xffffffff ]; then
        pass aarch32-mmio-it-block "$io_dev I/O port $(printf 0x%x $io_bar) at $a; ${out% }"
    else
        fail aarch32-mmio-it-block "exit status $rc, $io_dev I/O port $(printf 0x%x $io_bar) at $a: ${out% }"
    fi
fi

# --- CPUs ---------------------------------------------------------------------
online=$(cat /sys/devices/system/cpu/online)
count=0
for range in $(echo $online | tr , ' '); do
    case $range in
    *-*) count=$((count + ${range#*-} - ${range%-*} + 1)) ;;
    *) count=$((count + 1)) ;;
    esac
done
expect_cpus=$(arg passage.cpus)
if [ -z "$expect_cpus" ]; then
    skip cpus "no passage.cpus= on the command line ($count online: $online)"
elif [ $count -eq $expect_cpus ]; then
    pass cpus "$count online ($online)"
else
    fail cpus "$count online ($online), expected $expect_cpus"
fi

# CPU hot-plug in a loop: PSCI CPU_OFF, AFFINITY_INFO until OFF, CPU_ON.
# Every round must take effect, and the guest's CPUs end as they began.
hotplug=/sys/devices/system/cpu/cpu1/online
if [ ! -w $hotplug ]; then
    skip cpu-hotplug "no cpu1 to take off and on"
else
    rounds=0 bad=
    while [ $rounds -lt 10 ] && [ -z "$bad" ]; do
        echo 0 >$hotplug 2>/dev/null || bad="offlining cpu1 failed in round $rounds"
        [ -z "$bad" ] && [ "$(cat $hotplug)" != 0 ] && bad="cpu1 still online after round $rounds"
        [ -z "$bad" ] && { echo 1 >$hotplug 2>/dev/null || bad="onlining cpu1 failed in round $rounds"; }
        [ -z "$bad" ] && [ "$(cat $hotplug)" != 1 ] && bad="cpu1 still offline after round $rounds"
        rounds=$((rounds + 1))
    done
    if [ -n "$bad" ]; then fail cpu-hotplug "$bad"
    elif [ "$(cat /sys/devices/system/cpu/online)" != "$online" ]; then
        fail cpu-hotplug "online CPUs $(cat /sys/devices/system/cpu/online), were $online"
    else pass cpu-hotplug "cpu1 off and on $rounds times"
    fi
fi

kill $WATCHDOG 2>/dev/null
finish
