// SPDX-License-Identifier: GPL-2.0
/*
 * Bao's configuration for the Bao lane (scripts/bao-lane.sh), on QEMU's
 * virt machine (-smp 2, -m 4G; Bao's qemu-aarch64-virt platform patched
 * to 2 CPUs).  Two Linux VMs, one physical CPU each, with five remote I/O
 * devices from the frontend to the backend:
 *
 *   VM 0 "backend": Debian's arm64 6.1 kernel, virtbe.ko + virtbe_bao.ko,
 *     two vbe-blk daemons, the bridge with qemu-storage-daemon, and for
 *     the benchmark vbe-bao-bench and Bao's own iodispatcher
 *     (backend.dts.in).  RAM at 0x80000000 (512 MiB), the PL011 passed
 *     through with its interrupt (INTID 33).
 *   VM 1 "frontend": the lane's own kernel (frontend.config: a
 *     restricted DMA pool in the shared region of each virtio-blk device;
 *     the two benchmark windows through uio_pdrv_genirq), RAM at 0x10000000
 *     (256 MiB), the PL011's registers for earlycon only, no interrupt
 *     (frontend.dts.in).
 *
 *   dm id  bind key  frontend window    fe INTID      be INTID     shared region (shmem)     served by
 *   0      3         0xa003800 + 0x200  76 (SPI 44)  42 (SPI 10)  2: 0xd2000000, 2 MiB      Bao's own iodispatcher (bench)
 *   1      0         0xa003e00 + 0x200  79 (SPI 47)  40 (SPI 8)   0: 0xd0000000, 16 MiB     vbe-blk (vda)
 *   2      1         0xa003c00 + 0x200  78 (SPI 46)  41 (SPI 9)   1: 0xd1000000, 16 MiB     vbe-blk (vdb, results)
 *   3      2         0xa003a00 + 0x200  77 (SPI 45)  43 (SPI 11)  3: 0xd3000000, 16 MiB     bridge + qemu-storage-daemon (vdc)
 *   4      4         0xa003600 + 0x200  75 (SPI 43)  44 (SPI 12)  4: 0xd4000000, 2 MiB      vbe-bao-bench (bench)
 *
 * The backend VM's remio_devs[] index is the device model id its
 * hypercalls name (the "reg" of its device tree's virtbe-bao device
 * nodes).  Bao's own driver (bao-linux-drivers' iodispatcher, loaded for
 * the benchmark only) numbers its devices from 0 in the order of its
 * node's regions: its one device must be index 0.
 *
 * @BACKEND_IMAGE@ and @FRONTEND_IMAGE@ are replaced with the images'
 * absolute paths (quoted) when the lane builds Bao; the images are
 * loader.S binaries (loader, DTB, Image, initramfs).
 */
#include <config.h>

VM_IMAGE(backend_image, @BACKEND_IMAGE@)
VM_IMAGE(frontend_image, @FRONTEND_IMAGE@)

struct config config = {

    CONFIG_HEADER

    .shmemlist_size = 5,
    .shmemlist = (struct shmem[]) {
        [0] = { .size = 0x01000000, },
        [1] = { .size = 0x01000000, },
        [2] = { .size = 0x00200000, },
        [3] = { .size = 0x01000000, },
        [4] = { .size = 0x00200000, },
    },

    .vmlist_size = 2,
    .vmlist = (struct vm_config[]) {
        {   /* VM 0: the backend */
            .image = VM_IMAGE_BUILTIN(backend_image, 0x80000000),
            .entry = 0x80000000,
            .cpu_affinity = 0x1,

            .platform = {
                .cpu_num = 1,

                .region_num = 1,
                .regions = (struct vm_mem_region[]) {
                    {
                        .base = 0x80000000,
                        .size = 0x20000000,
                        .place_phys = true,
                        .phys = 0x80000000,
                    },
                },

                .remio_dev_num = 5,
                .remio_devs = (struct remio_dev[]) {
                    {
                        .bind_key = 3,
                        .type = REMIO_DEV_BACKEND,
                        .interrupt = 42,
                        .shmem = {
                            .base = 0xd2000000,
                            .size = 0x00200000,
                            .shmem_id = 2,
                        },
                    },
                    {
                        .bind_key = 0,
                        .type = REMIO_DEV_BACKEND,
                        .interrupt = 40,
                        .shmem = {
                            .base = 0xd0000000,
                            .size = 0x01000000,
                            .shmem_id = 0,
                        },
                    },
                    {
                        .bind_key = 1,
                        .type = REMIO_DEV_BACKEND,
                        .interrupt = 41,
                        .shmem = {
                            .base = 0xd1000000,
                            .size = 0x01000000,
                            .shmem_id = 1,
                        },
                    },
                    {
                        .bind_key = 2,
                        .type = REMIO_DEV_BACKEND,
                        .interrupt = 43,
                        .shmem = {
                            .base = 0xd3000000,
                            .size = 0x01000000,
                            .shmem_id = 3,
                        },
                    },
                    {
                        .bind_key = 4,
                        .type = REMIO_DEV_BACKEND,
                        .interrupt = 44,
                        .shmem = {
                            .base = 0xd4000000,
                            .size = 0x00200000,
                            .shmem_id = 4,
                        },
                    },
                },

                .dev_num = 2,
                .devs = (struct vm_dev_region[]) {
                    {   /* PL011 */
                        .pa = 0x9000000,
                        .va = 0x9000000,
                        .size = 0x10000,
                        .interrupt_num = 1,
                        .interrupts = (irqid_t[]) { 33 },
                    },
                    {   /* arch timer */
                        .interrupt_num = 1,
                        .interrupts = (irqid_t[]) { 27 },
                    },
                },

                .arch = {
                    .gic = {
                        .gicd_addr = 0x8000000,
                        .gicr_addr = 0x80A0000,
                    },
                },
            },
        },
        {   /* VM 1: the frontend */
            .image = VM_IMAGE_BUILTIN(frontend_image, 0x10000000),
            .entry = 0x10000000,
            .cpu_affinity = 0x2,

            .platform = {
                .cpu_num = 1,

                .region_num = 1,
                .regions = (struct vm_mem_region[]) {
                    {
                        .base = 0x10000000,
                        .size = 0x10000000,
                    },
                },

                .remio_dev_num = 5,
                .remio_devs = (struct remio_dev[]) {
                    /*
                     * By address, highest first: Bao finds the device of an
                     * access with in_range(), which includes base + size, so
                     * a window listed before the one just above it would
                     * take that one's first register (738e3dc).
                     */
                    {
                        .bind_key = 0,
                        .type = REMIO_DEV_FRONTEND,
                        .size = 0x200,
                        .va = 0xa003e00,
                        .interrupt = 79,
                        .shmem = {
                            .base = 0xd0000000,
                            .size = 0x01000000,
                            .shmem_id = 0,
                        },
                    },
                    {
                        .bind_key = 1,
                        .type = REMIO_DEV_FRONTEND,
                        .size = 0x200,
                        .va = 0xa003c00,
                        .interrupt = 78,
                        .shmem = {
                            .base = 0xd1000000,
                            .size = 0x01000000,
                            .shmem_id = 1,
                        },
                    },
                    {
                        .bind_key = 2,
                        .type = REMIO_DEV_FRONTEND,
                        .size = 0x200,
                        .va = 0xa003a00,
                        .interrupt = 77,
                        .shmem = {
                            .base = 0xd3000000,
                            .size = 0x01000000,
                            .shmem_id = 3,
                        },
                    },
                    {
                        .bind_key = 3,
                        .type = REMIO_DEV_FRONTEND,
                        .size = 0x200,
                        .va = 0xa003800,
                        .interrupt = 76,
                        .shmem = {
                            .base = 0xd2000000,
                            .size = 0x00200000,
                            .shmem_id = 2,
                        },
                    },
                    {
                        .bind_key = 4,
                        .type = REMIO_DEV_FRONTEND,
                        .size = 0x200,
                        .va = 0xa003600,
                        .interrupt = 75,
                        .shmem = {
                            .base = 0xd4000000,
                            .size = 0x00200000,
                            .shmem_id = 4,
                        },
                    },
                },

                .dev_num = 2,
                .devs = (struct vm_dev_region[]) {
                    {   /* PL011 registers, for earlycon: no interrupt */
                        .pa = 0x9000000,
                        .va = 0x9000000,
                        .size = 0x10000,
                        .interrupt_num = 0,
                    },
                    {   /* arch timer */
                        .interrupt_num = 1,
                        .interrupts = (irqid_t[]) { 27 },
                    },
                },

                .arch = {
                    .gic = {
                        .gicd_addr = 0x8000000,
                        .gicr_addr = 0x80A0000,
                    },
                },
            },
        },
    },
};
