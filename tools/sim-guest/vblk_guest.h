/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A virtio-blk *driver* for a guest of the virtbe simulator: it plays the
 * frontend guest, with its RAM in a memfd and its register accesses made
 * through VIRTBE_SIM_ACCESS, driving real split virtqueues that a backend
 * (tools/vbe-blk, or a vhost-user daemon behind tools/vhost-user's bridge)
 * serves through /dev/virtbe.
 *
 * Two ways to issue requests:
 *  - vblk_guest_request(): one request on queue 0, submitted and waited for;
 *  - vblk_guest_submit() / vblk_guest_kick() / vblk_guest_poll(): several
 *    requests in flight on each of several queues, each in its own slot
 *    (header, status byte and a data buffer of VBLK_SLOT_DATA bytes).
 */
#ifndef VBLK_GUEST_H
#define VBLK_GUEST_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define VBLK_MAX_QUEUES	4
#define VBLK_MAX_SLOTS	32		/* requests in flight per queue */
#define VBLK_SLOT_DATA	0x10000		/* data bytes per slot */
#define VBLK_QSIZE_MAX	256

/**
 * struct vblk_vq - the driver's state of one virtqueue
 * @avail_idx: next avail index
 * @kicked: avail index at the last kick (VIRTIO_RING_F_EVENT_IDX)
 * @last_used: last used index seen
 * @nr_slots: slots usable on this queue (three descriptors each)
 * @busy: slots submitted and not yet returned by vblk_guest_poll()
 * @done: slots the device has completed, not yet returned
 * @used_len: the used length of each completed slot
 */
struct vblk_vq {
	uint16_t avail_idx;
	uint16_t kicked;
	uint16_t last_used;
	unsigned int nr_slots;
	uint32_t busy;
	uint32_t done;
	uint32_t used_len[VBLK_MAX_SLOTS];
};

/**
 * struct vblk_guest - one virtio-blk device of a simulated guest (a guest
 *	may have several, see vblk_guest_add_device())
 * @simctl: /dev/virtbe_sim
 * @sg: the sim guest fd
 * @memfd: the guest's RAM
 * @ram: the device's RAM (all of the guest's, or the part given to
 *	vblk_guest_add_device()), mapped here
 * @ram_size: its size
 * @ram_gpa: guest-physical address of @ram (0 but for added devices)
 * @vcpu: the vCPU the device's register accesses come from
 * @guest_id: the id a backend attaches with
 * @base: guest-physical address of the device's registers
 * @irq: the device's interrupt line
 * @level: the line is level-triggered (EOI after each interrupt)
 * @irqfd: eventfd signalled when the guest gets the interrupt
 * @qsize: virtqueue size: at most this (16 after create; a caller may
 *	raise it up to VBLK_QSIZE_MAX before probing), at most the device's
 *	QueueNumMax; set to the size used by vblk_guest_probe()
 * @max_queues: queues to set up at most (VBLK_MAX_QUEUES after create)
 * @nr_queues: queues set up by vblk_guest_probe() (more than one only when
 *	the device offers VIRTIO_BLK_F_MQ)
 * @event_idx: negotiate VIRTIO_RING_F_EVENT_IDX when the device offers it,
 *	as Linux's drivers do (set before probing; off after create): kicks
 *	and interrupts are then suppressed as the other side asks
 * @features: the features negotiated
 * @vq: per-queue state
 * @capacity: disk size in 512-byte sectors
 * @needs_reset: the device set DEVICE_NEEDS_RESET (seen at a config
 *	interrupt); cleared by vblk_guest_probe()
 * @backend: pid of the backend process, or 0
 * @verbose: print each step
 * @nr_irqs: interrupts taken
 * @nr_config_irqs: of which configuration-change interrupts
 * @nr_kicks: QueueNotify writes
 */
struct vblk_guest {
	int simctl;
	int sg;
	int memfd;
	uint8_t *ram;
	uint64_t ram_size;
	uint64_t ram_gpa;
	uint32_t vcpu;
	uint64_t guest_id;
	uint64_t base;
	uint32_t irq;
	bool level;
	int irqfd;
	uint16_t qsize;
	unsigned int max_queues;
	unsigned int nr_queues;
	bool event_idx;
	uint64_t features;
	struct vblk_vq vq[VBLK_MAX_QUEUES];
	uint64_t capacity;
	bool needs_reset;
	pid_t backend;
	bool verbose;
	unsigned long nr_irqs;
	unsigned long nr_config_irqs;
	unsigned long nr_kicks;
};

/**
 * struct vblk_done - one completed request, as vblk_guest_poll() reports it
 * @queue: the queue it was submitted on
 * @tag: what vblk_guest_submit() returned for it
 * @status: its status byte (VIRTIO_BLK_S_*)
 * @len: the used length the device reported
 */
struct vblk_done {
	unsigned int queue;
	int tag;
	int status;
	uint32_t len;
};

int vblk_guest_create(struct vblk_guest *vg, uint64_t ram_size,
		      uint64_t base, uint32_t irq, bool level);
int vblk_guest_create_vcpus(struct vblk_guest *vg, uint64_t ram_size,
			    uint64_t base, uint32_t irq, bool level,
			    uint32_t nr_vcpus);
int vblk_guest_add_device(struct vblk_guest *vg,
			  const struct vblk_guest *parent, uint64_t ram_gpa,
			  uint64_t ram_size, uint64_t base, uint32_t irq,
			  bool level, uint32_t vcpu);
int vblk_guest_spawn(struct vblk_guest *vg, const char *backend,
		     const char *file, bool verbose);
int vblk_guest_spawn_argv(struct vblk_guest *vg, char *const argv[]);
int vblk_guest_probe(struct vblk_guest *vg, int timeout_ms);
int vblk_guest_request(struct vblk_guest *vg, uint32_t type, uint64_t sector,
		       void *buf, uint32_t len);
int vblk_guest_submit(struct vblk_guest *vg, unsigned int queue,
		      uint32_t type, uint64_t sector, const void *buf,
		      uint32_t len);
int vblk_guest_kick(struct vblk_guest *vg, unsigned int queue);
int vblk_guest_poll(struct vblk_guest *vg, struct vblk_done *done,
		    unsigned int max, int timeout_ms);
int vblk_guest_wait_irq(struct vblk_guest *vg, int timeout_ms);
void *vblk_guest_data(struct vblk_guest *vg, unsigned int queue, int tag);
unsigned int vblk_guest_inflight(const struct vblk_guest *vg,
				 unsigned int queue);
int vblk_guest_stop_backend(struct vblk_guest *vg);
void vblk_guest_destroy(struct vblk_guest *vg);
int vblk_mmio_read(struct vblk_guest *vg, uint32_t off, uint32_t len,
		   uint64_t *val);
int vblk_mmio_write(struct vblk_guest *vg, uint32_t off, uint32_t len,
		    uint64_t val);

#endif /* VBLK_GUEST_H */
