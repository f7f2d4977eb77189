# PCI layouts of the Linux guest test (sourced by linux-test.sh). Each is the
# QEMU virt machine's pcie.0 root bus with devices placed as real boards
# place them: behind root ports, switches and bridges.
#
#   layout_devices NAME    sets the arrays `devices` (QEMU arguments) and the
#                          string `expect` (the device kinds init.sh checks,
#                          comma-separated; empty for flat: init.sh's
#                          default, today's three devices)
#
# Uses $disk (virtio-blk's image), $nvme (the NVMe namespace's image) and
# $ivshmem_mib. Device kinds (init.sh's passage.expect):
#   blk      virtio-blk-pci          the disk: md5, write marker, MSI-X
#   net      virtio-net-pci          link up, MSI-X
#   e1000e   e1000e                  link up, MSI-X
#   e1000    e1000 (conventional)    link up (INTx)
#   nvme     nvme                    the namespace's first MiB, MSI-X
#   xhci     qemu-xhci               bound to xhci_hcd, a USB bus
#   display  bochs-display           bound to bochs-drm
#   ivshmem  ivshmem-plain           its register BAR and its shared-memory BAR
layout_names="flat rootports switch pcibridge multifunction deep"

layout_devices() {
    local blk=(-drive "if=none,id=d0,file=$disk,format=raw")
    local nv=(-drive "if=none,id=nv0,file=$nvme,format=raw")
    local shm=(-object "memory-backend-ram,id=shm0,size=${ivshmem_mib}M")
    local nets=(-netdev user,id=n0,restrict=on -netdev user,id=n1,restrict=on)
    local all=blk,net,e1000e,nvme,xhci,display,ivshmem
    case $1 in
    flat)
        # Today's test, unchanged: everything on bus 0, init.sh's defaults.
        devices=(-device virtio-blk-pci,drive=d0 -drive "if=none,id=d0,file=$disk,format=raw"
                 -device e1000e,netdev=n0 -netdev user,id=n0,restrict=on
                 -device virtio-net-pci,netdev=n1 -netdev user,id=n1,restrict=on)
        expect= ;;
    rootports)
        # One root port per device, as on most SoCs; rp8 stays empty.
        devices=("${blk[@]}" "${nv[@]}" "${shm[@]}" "${nets[@]}")
        local i=1 dev
        for dev in virtio-blk-pci,drive=d0 virtio-net-pci,netdev=n0 e1000e,netdev=n1 \
                   nvme,drive=nv0,serial=passage-nvme qemu-xhci bochs-display ivshmem-plain,memdev=shm0; do
            devices+=(-device "pcie-root-port,id=rp$i,chassis=$i,slot=$i,addr=$(printf 0x%x $((i + 1))).0"
                      -device "$dev,bus=rp$i")
            i=$((i + 1))
        done
        devices+=(-device "pcie-root-port,id=rp$i,chassis=$i,slot=$i,addr=$(printf 0x%x $((i + 1))).0")
        expect=$all ;;
    switch)
        # A root port, a switch (upstream port, six downstream ports: five
        # with devices, one empty), the display and ivshmem on bus 0.
        devices=("${blk[@]}" "${nv[@]}" "${shm[@]}" "${nets[@]}"
                 -device pcie-root-port,id=rp1,chassis=1,slot=1,addr=0x2.0
                 -device x3130-upstream,id=up1,bus=rp1)
        local i=1 dev
        for dev in virtio-blk-pci,drive=d0 virtio-net-pci,netdev=n0 e1000e,netdev=n1 \
                   nvme,drive=nv0,serial=passage-nvme qemu-xhci; do
            devices+=(-device "xio3130-downstream,id=dp$i,bus=up1,chassis=$((10 + i)),slot=$i"
                      -device "$dev,bus=dp$i")
            i=$((i + 1))
        done
        devices+=(-device "xio3130-downstream,id=dp$i,bus=up1,chassis=$((10 + i)),slot=$i"
                  -device bochs-display,addr=0x3.0 -device ivshmem-plain,memdev=shm0,addr=0x4.0)
        expect=$all ;;
    pcibridge)
        # A PCIe-to-PCI bridge behind a root port with conventional devices:
        # e1000 (INTx only), virtio-net in legacy mode (an I/O BAR),
        # transitional virtio-blk, ivshmem, the display. NVMe behind a root
        # port of its own, xHCI on bus 0.
        devices=("${blk[@]}" "${nv[@]}" "${shm[@]}" "${nets[@]}"
                 -device pcie-root-port,id=rp1,chassis=1,slot=1,addr=0x2.0
                 -device pcie-pci-bridge,id=br1,bus=rp1
                 -device e1000,netdev=n0,bus=br1,addr=0x1.0
                 -device virtio-net-pci,netdev=n1,disable-modern=on,bus=br1,addr=0x2.0
                 -device virtio-blk-pci,drive=d0,bus=br1,addr=0x3.0
                 -device ivshmem-plain,memdev=shm0,bus=br1,addr=0x4.0
                 -device bochs-display,bus=br1,addr=0x5.0
                 -device pcie-root-port,id=rp2,chassis=2,slot=2,addr=0x3.0
                 -device nvme,drive=nv0,serial=passage-nvme,bus=rp2
                 -device qemu-xhci,addr=0x4.0)
        expect=blk,net,e1000,nvme,xhci,display,ivshmem ;;
    multifunction)
        # Multi-function devices on bus 0 (slot 3: blk, net, e1000e) and
        # behind a root port (NVMe, xHCI, ivshmem as functions of slot 0);
        # the root ports are functions of one slot themselves (4.0, 4.1).
        devices=("${blk[@]}" "${nv[@]}" "${shm[@]}" "${nets[@]}"
                 -device virtio-blk-pci,drive=d0,addr=0x3.0,multifunction=on
                 -device virtio-net-pci,netdev=n0,addr=0x3.1
                 -device e1000e,netdev=n1,addr=0x3.2
                 -device pcie-root-port,id=rp1,chassis=1,slot=1,addr=0x4.0,multifunction=on
                 -device pcie-root-port,id=rp2,chassis=2,slot=2,addr=0x4.1
                 -device nvme,drive=nv0,serial=passage-nvme,bus=rp1,addr=0x0.0,multifunction=on
                 -device qemu-xhci,bus=rp1,addr=0x0.1
                 -device ivshmem-plain,memdev=shm0,bus=rp1,addr=0x0.2
                 -device bochs-display,bus=rp2)
        expect=$all ;;
    deep)
        # Two switches deep (root port, switch, downstream port, switch,
        # downstream ports with NVMe and the disk), and a PCIe-to-PCI bridge
        # with a PCI-to-PCI bridge behind it (the display, ivshmem).
        devices=("${blk[@]}" "${nv[@]}" "${shm[@]}" "${nets[@]}"
                 -device pcie-root-port,id=rp1,chassis=1,slot=1,addr=0x2.0
                 -device x3130-upstream,id=up1,bus=rp1
                 -device xio3130-downstream,id=dp1,bus=up1,chassis=11,slot=1
                 -device x3130-upstream,id=up2,bus=dp1
                 -device xio3130-downstream,id=dp21,bus=up2,chassis=21,slot=1
                 -device nvme,drive=nv0,serial=passage-nvme,bus=dp21
                 -device xio3130-downstream,id=dp22,bus=up2,chassis=22,slot=2
                 -device virtio-blk-pci,drive=d0,bus=dp22
                 -device xio3130-downstream,id=dp2,bus=up1,chassis=12,slot=2
                 -device e1000e,netdev=n0,bus=dp2
                 -device xio3130-downstream,id=dp3,bus=up1,chassis=13,slot=3
                 -device qemu-xhci,bus=dp3
                 -device pcie-root-port,id=rp2,chassis=2,slot=2,addr=0x3.0
                 -device pcie-pci-bridge,id=br1,bus=rp2
                 -device pci-bridge,id=br2,bus=br1,chassis_nr=3,addr=0x1.0
                 -device bochs-display,bus=br2,addr=0x1.0
                 -device ivshmem-plain,memdev=shm0,bus=br2,addr=0x2.0
                 -device virtio-net-pci,netdev=n1,bus=br1,addr=0x2.0)
        expect=$all ;;
    *)
        return 1 ;;
    esac
}
