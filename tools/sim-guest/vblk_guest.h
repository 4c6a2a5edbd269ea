/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A virtio-blk *driver* for a guest of the virtbe simulator: it plays the
 * frontend guest, with its RAM in a memfd and its register accesses made
 * through VIRTBE_SIM_ACCESS, driving a real split virtqueue that a backend
 * (tools/vbe-blk) serves through /dev/virtbe.
 */
#ifndef VBLK_GUEST_H
#define VBLK_GUEST_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/**
 * struct vblk_guest - one simulated guest with one virtio-blk device
 * @simctl: /dev/virtbe_sim
 * @sg: the sim guest fd
 * @memfd: the guest's RAM
 * @ram: the RAM, mapped here
 * @ram_size: its size
 * @guest_id: the id a backend attaches with
 * @base: guest-physical address of the device's registers
 * @irq: the device's interrupt line
 * @level: the line is level-triggered (EOI after each interrupt)
 * @irqfd: eventfd signalled when the guest gets the interrupt
 * @qsize: virtqueue size
 * @avail_idx: next avail index
 * @last_used: last used index seen
 * @capacity: disk size in 512-byte sectors
 * @backend: pid of the backend process, or 0
 * @verbose: print each step
 * @nr_irqs: interrupts taken
 * @nr_kicks: QueueNotify writes
 */
struct vblk_guest {
	int simctl;
	int sg;
	int memfd;
	uint8_t *ram;
	uint64_t ram_size;
	uint64_t guest_id;
	uint64_t base;
	uint32_t irq;
	bool level;
	int irqfd;
	uint16_t qsize;
	uint16_t avail_idx;
	uint16_t last_used;
	uint64_t capacity;
	pid_t backend;
	bool verbose;
	unsigned long nr_irqs;
	unsigned long nr_kicks;
};

int vblk_guest_create(struct vblk_guest *vg, uint64_t ram_size,
		      uint64_t base, uint32_t irq, bool level);
int vblk_guest_spawn(struct vblk_guest *vg, const char *backend,
		     const char *file, bool verbose);
int vblk_guest_probe(struct vblk_guest *vg, int timeout_ms);
int vblk_guest_request(struct vblk_guest *vg, uint32_t type, uint64_t sector,
		       void *buf, uint32_t len);
int vblk_guest_stop_backend(struct vblk_guest *vg);
void vblk_guest_destroy(struct vblk_guest *vg);
int vblk_mmio_read(struct vblk_guest *vg, uint32_t off, uint32_t len,
		   uint64_t *val);
int vblk_mmio_write(struct vblk_guest *vg, uint32_t off, uint32_t len,
		    uint64_t val);

#endif /* VBLK_GUEST_H */
