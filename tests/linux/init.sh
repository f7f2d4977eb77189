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
    *) echo other ;;
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
    case $r in
    e1000e) want=e1000e ;;
    *) want=virtio-pci ;;
    esac
    [ $drv = $want ] || pci_bad="$pci_bad $bdf ($r) has driver $drv, not $want;"
done
for r in virtio-blk e1000e virtio-net; do
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
for want in e1000e virtio_net; do
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

# --- MSI-X: every vector of each device is an ITS or GICv2m MSI-X interrupt -
for r in virtio-blk e1000e virtio-net; do
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
    elif [ $r = virtio-blk ] && [ $total -eq 0 ]; then
        fail msix-$r "$bdf: $nv MSI-X vectors, but none has fired after disk I/O"
    else
        pass msix-$r "$bdf: $nv MSI-X vectors $via, $total interrupts"
    fi
done

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

kill $WATCHDOG 2>/dev/null
finish
