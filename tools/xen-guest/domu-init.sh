#!/bin/busybox sh
# /init of the real-Xen lane's domU (a PVH guest running Debian's 6.1
# kernel).  Everything it reports goes to hvc0, which xenconsoled logs in
# dom0, where dom0-test.sh reads the "VBE-GUEST" lines.
#
# 1. negative control: the virtio-mmio device is registered while no
#    backend serves it: virtio_mmio must read 0xffffffff and refuse it;
# 2. it then retries the probe every second until dom0's backend answers,
#    writes a known pattern to /dev/vda, reads it back and compares;
# 3. it keeps reading /dev/vda and prints a heartbeat per vCPU, so that
#    dom0 can stop or kill its daemon mid-I/O and see that no vCPU hangs.
# With virtbe_bench=1 on its kernel command line, vbe_xen_bench.ko (the
# kick benchmark's domU half) is loaded beside them and runs when dom0
# says so.
# With virtbe_dev=dt (the arm64 lane) the device is xl's DT virtio,mmio
# node instead of vbe_xen_guest.ko's.  An access no IOREQ server claims
# makes Xen on Arm inject a data abort (an Oops if virtio_mmio took it), so
# step 1 reads MagicValue from userspace (devmem: the abort is a SIGBUS),
# and virtio_mmio is loaded only once MagicValue reads "virt".
/bin/busybox mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t tmpfs tmpfs /tmp
say() { echo "VBE-GUEST $*"; }
say "booted $(uname -r)"
load() { for m; do
	[ -f /lib/modules/$m.ko ] && { insmod /lib/modules/$m.ko || say "insmod $m failed"; }
done; }
if [ "${virtbe_dev:-}" = dt ]; then
	load virtio_ring virtio virtio_blk
	dev=$(ls -d /sys/bus/platform/devices/*.virtio 2>/dev/null | head -n1)
	base=0x${dev##*/}; base=${base%.virtio}
	v=$(devmem $base 32 2>&1); rc=$?
	if [ -z "$dev" ]; then
		say "NEGATIVE FAIL: no virtio,mmio node in the device tree"
	elif [ $rc = 135 ] || [ $rc = 137 ]; then
		# 128 + SIGBUS or SIGKILL: Linux kills a task whose access takes
		# a data abort (Xen's reads as an address size fault: SIGKILL)
		say "NEGATIVE OK: the read of MagicValue at $base aborted (signal $((rc - 128)))"
	else
		say "NEGATIVE FAIL: MagicValue at $base read '$v' (status $rc) with no backend"
	fi
	say "waiting for the backend"
	i=0
	until [ "$(devmem $base 32 2>/dev/null)" = 0x74726976 ]; do
		sleep 1
		i=$((i + 1))
		[ $i -lt 240 ] || { say "NO BACKEND"; break; }
	done
	[ $i -ge 240 ] || load virtio_mmio
	drv=
else
	load virtio_ring virtio virtio_mmio virtio_blk
	insmod /lib/modules/vbe_xen_guest.ko
	say "test module rc=$?"
fi
# the kick benchmark waits in a kernel thread until dom0 starts it
if [ "${virtbe_bench:-0}" = 1 ]; then
	insmod /lib/modules/vbe_xen_bench.ko || say "insmod vbe_xen_bench failed"
fi
if [ "${virtbe_dev:-}" != dt ]; then
	dev=/sys/bus/platform/devices/virtio-mmio.0
	drv=/sys/bus/platform/drivers/virtio-mmio
	if dmesg | grep -q 'Wrong magic value 0xffffffff'; then
		say "NEGATIVE OK: $(dmesg | grep -m1 'Wrong magic value')"
	else
		say "NEGATIVE FAIL: $(dmesg | grep -i -m3 virtio | tr '\n' '|')"
	fi
	[ -e "$dev/driver" ] && say "NEGATIVE FAIL: the driver took the device"
	say "waiting for the backend"
fi
i=0
while [ ! -b /dev/vda ]; do
	[ -z "$drv" ] || echo virtio-mmio.0 >$drv/bind 2>/dev/null
	sleep 1
	i=$((i + 1))
	[ $i -lt 240 ] || { say "NO DISK"; break; }
done
if [ -b /dev/vda ]; then
	say "disk $(cat /sys/block/vda/size) sectors after ${i}s"
	yes VIRTBE-XEN-PATTERN-0123456789 | head -c 1048576 >/tmp/pattern
	t0=$(cut -d' ' -f1 /proc/uptime)
	dd if=/tmp/pattern of=/dev/vda bs=65536 conv=fsync 2>/dev/null
	echo 3 >/proc/sys/vm/drop_caches
	dd if=/dev/vda of=/tmp/readback bs=65536 count=16 2>/dev/null
	t1=$(cut -d' ' -f1 /proc/uptime)
	if cmp -s /tmp/pattern /tmp/readback; then
		say "PATTERN OK (1 MiB written and read back, ${t0}s..${t1}s)"
		# the device's interrupt line, and how often it fired
		say "irq $(grep -E 'virtio|vbe' /proc/interrupts | tr -s ' ' | head -n1)"
	else
		say "PATTERN FAIL"
	fi
	(n=0; while :; do
		dd if=/dev/vda of=/dev/null bs=65536 count=16 2>/dev/null
		echo 3 >/proc/sys/vm/drop_caches
		n=$((n + 1))
	done) &
	say "IO LOOP"
fi
# one heartbeat per vCPU: a vCPU stuck in a trapped access stops its own
for c in $(seq 0 $(($(nproc) - 1))); do
	taskset -c $c sh -c "n=0; while :; do echo \"VBE-GUEST alive$c \$n\"; n=\$((n + 1)); sleep 1; done" &
done
while :; do sleep 3600; done
