#!/bin/sh
# The demo, run inside the test VM by `make demo`: a simulated guest drives a
# virtio-blk device that the unchanged demo backend serves through virtbe,
# once with an edge-triggered and once with a level-triggered interrupt.
set -e
echo "=== virtbe demo: $(uname -r), hypervisor backends: $(ls /sys/module | grep virtbe | tr '\n' ' ')"
/tools/sim-guest/build/vbe-demo --backend /tools/vbe-blk/vbe-blk
echo
echo "=== the same with a level-triggered interrupt (EOI and resample)"
/tools/sim-guest/build/vbe-demo --backend /tools/vbe-blk/vbe-blk --level | grep -E '^(demo|guest: [a-zA-Z]+.*(ok|FAILED)$)'
