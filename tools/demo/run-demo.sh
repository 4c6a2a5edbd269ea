#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The demo, run inside the test VM by `make demo-sim`: a simulated guest
# drives a virtio-blk device that the unchanged demo backend serves through
# virtbe, once with an edge-triggered and once with a level-triggered
# interrupt; then Debian's unmodified qemu-storage-daemon serves the same
# guest through the vhost-user bridge.
set -e
echo "=== virtbe demo: $(uname -r), hypervisor backends: $(ls /sys/module | grep virtbe | tr '\n' ' ')"
/tools/sim-guest/build/vbe-demo --backend /tools/vbe-blk/vbe-blk
echo
echo "=== the same with a level-triggered interrupt (EOI and resample)"
/tools/sim-guest/build/vbe-demo --backend /tools/vbe-blk/vbe-blk --level | grep -E '^(demo|guest: [a-zA-Z]+.*(ok|FAILED)$)'
echo
echo "=== the same guest served by Debian's qemu-storage-daemon, unmodified, through virtbe-vhost-user"
if [ -x /bin/qemu-storage-daemon ]; then
	/tools/sim-guest/build/vbe-demo --qsd /bin/qemu-storage-daemon \
		--bridge /tools/vhost-user/virtbe-vhost-user
else
	echo "demo: no /bin/qemu-storage-daemon (package qemu-system-common): skipped"
fi
