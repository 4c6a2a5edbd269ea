// SPDX-License-Identifier: GPL-2.0
/*
 * A virtio-blk driver running as a guest of the virtbe simulator.
 */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/virtbe.h>
#include <linux/virtbe_sim.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>

#include "vblk_guest.h"

/*
 * Guest-physical layout inside RAM: queue q's rings at VQ_BASE + q *
 * VQ_STRIDE (descriptors, then the avail and the used ring a page apart),
 * its slots' headers and status bytes in the page REQ_BASE + q * 0x1000,
 * their data at SLOT_DATA(q, s).  vblk_guest_request()'s data (up to
 * 1 MiB) is at REQ_DATA.  Slot s owns descriptors 3s, 3s + 1 and 3s + 2.
 */
#define VQ_BASE		0x10000ULL
#define VQ_STRIDE	0x4000ULL
#define VQ_DESC(q)	(VQ_BASE + (q) * VQ_STRIDE)
#define VQ_AVAIL(q)	(VQ_DESC(q) + 0x1000)
#define VQ_USED(q)	(VQ_DESC(q) + 0x2000)
#define REQ_BASE	0x20000ULL
#define REQ_HDR(q, s)	(REQ_BASE + (q) * 0x1000ULL + (s) * 16ULL)
#define REQ_STATUS(q, s) (REQ_BASE + (q) * 0x1000ULL + 0x800 + (s))
#define REQ_DATA	0x100000ULL
#define REQ_DATA_MAX	0x100000U
#define SLOT_DATA(q, s)	(0x400000ULL + \
			 ((q) * VBLK_MAX_SLOTS + (s)) * (uint64_t)VBLK_SLOT_DATA)
#define QSIZE		16
#define IRQ_TIMEOUT_MS	10000

#define log(vg, ...) do { if ((vg)->verbose) printf("guest: " __VA_ARGS__); } while (0)

static int sim_access(struct vblk_guest *vg, bool write, uint32_t off,
		      uint32_t len, uint64_t *val)
{
	struct virtbe_sim_access a = {
		.size = sizeof(a),
		.flags = write ? VIRTBE_SIM_ACCESS_WRITE : 0,
		.vcpu = vg->vcpu, .len = len, .addr = vg->base + off,
		.data = write ? *val : 0,
	};

	if (ioctl(vg->sg, VIRTBE_SIM_ACCESS, &a) < 0)
		return -errno;
	if (!write)
		*val = a.data;
	return 0;
}

/**
 * vblk_mmio_read() - read a device register, as a trapped vCPU would
 * @vg: the guest
 * @off: register offset
 * @len: access size
 * @val: the value read
 *
 * Return: 0 or -errno.
 */
int vblk_mmio_read(struct vblk_guest *vg, uint32_t off, uint32_t len,
		   uint64_t *val)
{
	return sim_access(vg, false, off, len, val);
}

/**
 * vblk_mmio_write() - write a device register
 * @vg: the guest
 * @off: register offset
 * @len: access size
 * @val: the value
 *
 * Return: 0 or -errno.
 */
int vblk_mmio_write(struct vblk_guest *vg, uint32_t off, uint32_t len,
		    uint64_t val)
{
	return sim_access(vg, true, off, len, &val);
}

static uint32_t rd32(struct vblk_guest *vg, uint32_t off)
{
	uint64_t v = ~0ULL;

	if (vblk_mmio_read(vg, off, 4, &v))
		return ~0U;
	return (uint32_t)v;
}

static int wr32(struct vblk_guest *vg, uint32_t off, uint32_t v)
{
	return vblk_mmio_write(vg, off, 4, v);
}

/**
 * vblk_guest_create() - create a simulated guest with RAM and an interrupt
 * @vg: filled in
 * @ram_size: RAM at guest-physical 0
 * @base: where the device's registers will be
 * @irq: its interrupt line
 * @level: level-triggered line
 *
 * Return: 0 or -errno.
 */
int vblk_guest_create(struct vblk_guest *vg, uint64_t ram_size,
		      uint64_t base, uint32_t irq, bool level)
{
	return vblk_guest_create_vcpus(vg, ram_size, base, irq, level, 1);
}

/* The fields of a device that do not depend on how its guest was made. */
static void set_device(struct vblk_guest *vg, uint64_t base, uint32_t irq,
		       bool level)
{
	vg->base = base;
	vg->irq = irq;
	vg->level = level;
	vg->qsize = QSIZE;
	vg->max_queues = VBLK_MAX_QUEUES;
}

/* The device's interrupt: an eventfd the simulator signals for vg->irq. */
static int bind_irq(struct vblk_guest *vg)
{
	struct virtbe_sim_bind_irq b = {
		.size = sizeof(b), .irq = vg->irq,
		.type = vg->level ? VIRTBE_IRQ_LEVEL : VIRTBE_IRQ_EDGE,
	};

	vg->irqfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vg->irqfd < 0)
		return -errno;
	b.fd = vg->irqfd;
	return ioctl(vg->sg, VIRTBE_SIM_BIND_IRQ, &b) < 0 ? -errno : 0;
}

/**
 * vblk_guest_create_vcpus() - vblk_guest_create() with @nr_vcpus vCPUs
 * @vg: filled in
 * @ram_size: RAM at guest-physical 0
 * @base: where the device's registers will be
 * @irq: its interrupt line
 * @level: level-triggered line
 * @nr_vcpus: vCPUs of the guest; this device's accesses come from vCPU 0,
 *	those of devices added with vblk_guest_add_device() from others
 *
 * Return: 0 or -errno.
 */
int vblk_guest_create_vcpus(struct vblk_guest *vg, uint64_t ram_size,
			    uint64_t base, uint32_t irq, bool level,
			    uint32_t nr_vcpus)
{
	struct virtbe_sim_create c = {
		.size = sizeof(c), .nr_vcpus = nr_vcpus,
	};
	struct virtbe_sim_ram r = { .size = sizeof(r), .len = ram_size };

	memset(vg, 0, sizeof(*vg));
	set_device(vg, base, irq, level);
	vg->ram_size = ram_size;
	vg->simctl = open("/dev/virtbe_sim", O_RDWR | O_CLOEXEC);
	if (vg->simctl < 0)
		return -errno;
	vg->sg = ioctl(vg->simctl, VIRTBE_SIM_CREATE, &c);
	if (vg->sg < 0)
		return -errno;
	vg->guest_id = c.out_guest_id;
	vg->memfd = memfd_create("vblk-guest-ram", MFD_CLOEXEC);
	if (vg->memfd < 0 || ftruncate(vg->memfd, ram_size))
		return -errno;
	r.memfd = vg->memfd;
	if (ioctl(vg->sg, VIRTBE_SIM_ADD_RAM, &r) < 0)
		return -errno;
	vg->ram = mmap(NULL, ram_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		       vg->memfd, 0);
	if (vg->ram == MAP_FAILED)
		return -errno;
	return bind_irq(vg);
}

/**
 * vblk_guest_add_device() - another virtio-blk device of an existing guest
 * @vg: filled in: the new device, used like one from vblk_guest_create()
 * @parent: a guest made by vblk_guest_create_vcpus()
 * @ram_gpa: guest-physical start of the part of @parent's RAM that holds
 *	this device's queues and buffers (page aligned; the parent's device
 *	must not use it)
 * @ram_size: its size (at least 8 MiB for one queue)
 * @base: where the device's registers are
 * @irq: its interrupt line
 * @level: level-triggered line
 * @vcpu: the vCPU its accesses come from, one no other device uses, so
 *	that devices are driven concurrently from their own threads
 *
 * Each device has its own fds (the sim guest fd is duplicated): destroy
 * each with vblk_guest_destroy(); the guest is gone once all are.
 *
 * Return: 0 or -errno.
 */
int vblk_guest_add_device(struct vblk_guest *vg,
			  const struct vblk_guest *parent, uint64_t ram_gpa,
			  uint64_t ram_size, uint64_t base, uint32_t irq,
			  bool level, uint32_t vcpu)
{
	memset(vg, 0, sizeof(*vg));
	vg->simctl = vg->sg = vg->memfd = vg->irqfd = -1;
	if (ram_gpa + ram_size > parent->ram_size || ram_gpa % 4096)
		return -EINVAL;
	set_device(vg, base, irq, level);
	vg->vcpu = vcpu;
	vg->ram_gpa = ram_gpa;
	vg->ram_size = ram_size;
	vg->guest_id = parent->guest_id;
	vg->sg = fcntl(parent->sg, F_DUPFD_CLOEXEC, 0);
	if (vg->sg < 0)
		return -errno;
	vg->memfd = fcntl(parent->memfd, F_DUPFD_CLOEXEC, 0);
	if (vg->memfd < 0)
		return -errno;
	/* The parent's RAM is at guest-physical 0, offset 0 of the memfd. */
	vg->ram = mmap(NULL, ram_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		       vg->memfd, ram_gpa);
	if (vg->ram == MAP_FAILED)
		return -errno;
	return bind_irq(vg);
}

/**
 * vblk_guest_spawn_argv() - start any backend process serving this guest
 * @vg: the guest
 * @argv: its argument vector, NULL-terminated; argv[0] is the program's path
 *
 * The process becomes the guest's backend: vblk_guest_stop_backend() and
 * vblk_guest_destroy() SIGTERM and reap it.
 *
 * Return: 0 or -errno.
 */
int vblk_guest_spawn_argv(struct vblk_guest *vg, char *const argv[])
{
	pid_t pid;

	if (!argv || !argv[0])
		return -EINVAL;
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (!pid) {
		execv(argv[0], argv);
		perror("exec backend");
		_exit(127);
	}
	vg->backend = pid;
	return 0;
}

/**
 * vblk_guest_spawn() - start a vbe-blk backend process serving this guest
 * @vg: the guest
 * @backend: path of the vbe-blk binary
 * @file: the backing file
 * @verbose: pass --verbose
 *
 * Return: 0 or -errno.
 */
int vblk_guest_spawn(struct vblk_guest *vg, const char *backend,
		     const char *file, bool verbose)
{
	char id[32], base[32], irq[32], mem[64];
	const char *argv[] = {
		backend, "--hyp", "sim", "--guest", id, "--base", base,
		"--irq", irq, "--irq-type", vg->level ? "level" : "edge",
		"--file", file, "--mem", mem,
		verbose ? "--verbose" : NULL, NULL,
	};

	snprintf(id, sizeof(id), "%llu", (unsigned long long)vg->guest_id);
	snprintf(base, sizeof(base), "0x%llx", (unsigned long long)vg->base);
	snprintf(irq, sizeof(irq), "%u", vg->irq);
	snprintf(mem, sizeof(mem), "0x%llx:0x%llx",
		 (unsigned long long)vg->ram_gpa,
		 (unsigned long long)vg->ram_size);
	return vblk_guest_spawn_argv(vg, (char **)argv);
}

/**
 * vblk_guest_wait_irq() - take one interrupt of the device
 * @vg: the guest
 * @timeout_ms: how long to wait for it
 *
 * Reads and acknowledges InterruptStatus (and EOIs a level-triggered
 * line), as the guest's interrupt handler does.  At a configuration change
 * it reads Status: a device that needs a reset sets @vg->needs_reset.
 * Used buffers are left for vblk_guest_poll() or vblk_guest_request().
 *
 * Return: 0, -ETIMEDOUT, or -errno.
 */
int vblk_guest_wait_irq(struct vblk_guest *vg, int timeout_ms)
{
	struct pollfd p = { .fd = vg->irqfd, .events = POLLIN };
	uint32_t isr;
	uint64_t cnt;

	if (poll(&p, 1, timeout_ms) != 1)
		return -ETIMEDOUT;
	if (read(vg->irqfd, &cnt, sizeof(cnt)) != sizeof(cnt))
		return -errno;
	vg->nr_irqs++;
	isr = rd32(vg, VIRTIO_MMIO_INTERRUPT_STATUS);
	if (isr == ~0U)		/* no device (any more) */
		isr = 0;
	if (isr)
		wr32(vg, VIRTIO_MMIO_INTERRUPT_ACK, isr);
	if (vg->level) {
		struct virtbe_sim_irq_state st = {
			.size = sizeof(st), .flags = VIRTBE_SIM_IRQ_EOI,
			.type = VIRTBE_IRQ_LEVEL, .irq = vg->irq,
		};

		if (ioctl(vg->sg, VIRTBE_SIM_IRQ_STATE, &st) < 0)
			return -errno;
	}
	if (isr & VIRTIO_MMIO_INT_CONFIG) {
		uint32_t status = rd32(vg, VIRTIO_MMIO_STATUS);

		vg->nr_config_irqs++;
		if (status != ~0U && (status & VIRTIO_CONFIG_S_NEEDS_RESET)) {
			log(vg, "the device needs a reset\n");
			vg->needs_reset = true;
		}
	}
	return 0;
}

static int setup_queue(struct vblk_guest *vg, unsigned int q)
{
	struct vblk_vq *vq = &vg->vq[q];
	uint32_t max;

	wr32(vg, VIRTIO_MMIO_QUEUE_SEL, q);
	max = rd32(vg, VIRTIO_MMIO_QUEUE_NUM_MAX);
	if (max == ~0U || !max || rd32(vg, VIRTIO_MMIO_QUEUE_READY))
		return -EPROTO;
	if (!q) {
		/* Every queue gets the size queue 0 gets. */
		if (!vg->qsize || vg->qsize > VBLK_QSIZE_MAX)
			vg->qsize = VBLK_QSIZE_MAX;
		while (vg->qsize > max)
			vg->qsize >>= 1;
		if (vg->qsize < 4)
			return -EPROTO;
	} else if (max < vg->qsize) {
		return -EPROTO;
	}
	memset(vq, 0, sizeof(*vq));
	vq->nr_slots = vg->qsize / 3;
	if (vq->nr_slots > VBLK_MAX_SLOTS)
		vq->nr_slots = VBLK_MAX_SLOTS;
	memset(vg->ram + VQ_DESC(q), 0, 0x3000);
	wr32(vg, VIRTIO_MMIO_QUEUE_NUM, vg->qsize);
	wr32(vg, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)(vg->ram_gpa + VQ_DESC(q)));
	wr32(vg, VIRTIO_MMIO_QUEUE_DESC_HIGH, (vg->ram_gpa + VQ_DESC(q)) >> 32);
	wr32(vg, VIRTIO_MMIO_QUEUE_AVAIL_LOW,
	     (uint32_t)(vg->ram_gpa + VQ_AVAIL(q)));
	wr32(vg, VIRTIO_MMIO_QUEUE_AVAIL_HIGH, (vg->ram_gpa + VQ_AVAIL(q)) >> 32);
	wr32(vg, VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)(vg->ram_gpa + VQ_USED(q)));
	wr32(vg, VIRTIO_MMIO_QUEUE_USED_HIGH, (vg->ram_gpa + VQ_USED(q)) >> 32);
	wr32(vg, VIRTIO_MMIO_QUEUE_READY, 1);
	return 0;
}

/**
 * vblk_guest_probe() - the virtio-mmio initialisation sequence
 * @vg: the guest, with a backend started
 * @timeout_ms: how long to wait for the device to appear
 *
 * Resets the device (and forgets every request in flight), negotiates
 * VIRTIO_F_VERSION_1 and, when offered, VIRTIO_BLK_F_FLUSH and
 * VIRTIO_BLK_F_MQ, and sets up queues: @vg->nr_queues of them, the device's
 * num_queues with MQ, at most @vg->max_queues, each of @vg->qsize entries
 * or fewer (see struct vblk_guest).
 *
 * Return: 0, -ENODEV if no virtio-blk device answered, -EIO if the device
 * needs a reset right after DRIVER_OK, or -errno.
 */
int vblk_guest_probe(struct vblk_guest *vg, int timeout_ms)
{
	uint64_t feat, cap_lo, cap_hi, nq = 1;
	uint32_t status;
	unsigned int q;
	int waited = 0, ret;

	/* Until the backend has claimed its range, reads are all-ones. */
	while (rd32(vg, VIRTIO_MMIO_MAGIC_VALUE) != 0x74726976) {
		if (waited >= timeout_ms)
			return -ENODEV;
		usleep(10000);
		waited += 10;
	}
	if (rd32(vg, VIRTIO_MMIO_VERSION) != 2 ||
	    rd32(vg, VIRTIO_MMIO_DEVICE_ID) != VIRTIO_ID_BLOCK)
		return -ENODEV;
	log(vg, "found virtio-mmio v2 block device at 0x%llx after %d ms\n",
	    (unsigned long long)vg->base, waited);

	/* Reset: the device forgets the queues, and so do we. */
	wr32(vg, VIRTIO_MMIO_STATUS, 0);
	memset(vg->vq, 0, sizeof(vg->vq));
	vg->nr_queues = 0;
	vg->needs_reset = false;
	wr32(vg, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	wr32(vg, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE |
	     VIRTIO_CONFIG_S_DRIVER);
	wr32(vg, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	feat = (uint64_t)rd32(vg, VIRTIO_MMIO_DEVICE_FEATURES) << 32;
	wr32(vg, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	feat |= rd32(vg, VIRTIO_MMIO_DEVICE_FEATURES);
	if (!(feat & (1ULL << VIRTIO_F_VERSION_1)))
		return -ENODEV;
	log(vg, "device features 0x%llx\n", (unsigned long long)feat);
	/* Only what this driver implements. */
	feat &= (1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_BLK_F_FLUSH) |
		(1ULL << VIRTIO_BLK_F_MQ) |
		(vg->event_idx ? 1ULL << VIRTIO_RING_F_EVENT_IDX : 0);
	wr32(vg, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr32(vg, VIRTIO_MMIO_DRIVER_FEATURES, feat >> 32);
	wr32(vg, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr32(vg, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)feat);
	status = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
		 VIRTIO_CONFIG_S_FEATURES_OK;
	wr32(vg, VIRTIO_MMIO_STATUS, status);
	if (!(rd32(vg, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_FEATURES_OK))
		return -EPROTO;
	vg->features = feat;
	log(vg, "negotiated features 0x%llx\n", (unsigned long long)feat);

	if (feat & (1ULL << VIRTIO_BLK_F_MQ)) {
		ret = vblk_mmio_read(vg, VIRTIO_MMIO_CONFIG +
				     offsetof(struct virtio_blk_config,
					      num_queues), 2, &nq);
		if (ret)
			return ret;
		nq = (uint16_t)nq;
		if (!nq)
			return -EPROTO;
	}
	if (nq > vg->max_queues)
		nq = vg->max_queues ? vg->max_queues : 1;
	if (nq > VBLK_MAX_QUEUES)
		nq = VBLK_MAX_QUEUES;
	for (q = 0; q < nq; q++) {
		ret = setup_queue(vg, q);
		if (ret)
			return ret;
	}
	vg->nr_queues = nq;
	wr32(vg, VIRTIO_MMIO_STATUS, status | VIRTIO_CONFIG_S_DRIVER_OK);
	if (rd32(vg, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET) {
		vg->needs_reset = true;
		return -EIO;
	}

	vblk_mmio_read(vg, VIRTIO_MMIO_CONFIG, 4, &cap_lo);
	vblk_mmio_read(vg, VIRTIO_MMIO_CONFIG + 4, 4, &cap_hi);
	vg->capacity = (cap_hi << 32) | (uint32_t)cap_lo;
	log(vg, "%u queue(s) ready (%u entries), capacity %llu sectors\n",
	    vg->nr_queues, vg->qsize, (unsigned long long)vg->capacity);
	return 0;
}

static void set_desc(struct vblk_guest *vg, unsigned int q, unsigned int i,
		     uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	struct vring_desc *d = (struct vring_desc *)(vg->ram + VQ_DESC(q)) + i;

	d->addr = vg->ram_gpa + addr;
	d->len = len;
	d->flags = flags;
	d->next = next;
}

static bool type_in(uint32_t type)
{
	return type == VIRTIO_BLK_T_IN || type == VIRTIO_BLK_T_GET_ID;
}

/* Put a request in slot @s of queue @q and make it available. */
static void vq_post(struct vblk_guest *vg, unsigned int q, unsigned int s,
		    uint32_t type, uint64_t sector, uint64_t data, uint32_t len)
{
	struct virtio_blk_outhdr *hdr = (void *)(vg->ram + REQ_HDR(q, s));
	struct vring_avail *avail = (void *)(vg->ram + VQ_AVAIL(q));
	struct vblk_vq *vq = &vg->vq[q];
	unsigned int d = 3 * s;

	hdr->type = type;
	hdr->ioprio = 0;
	hdr->sector = sector;
	vg->ram[REQ_STATUS(q, s)] = 0xff;
	if (len) {
		set_desc(vg, q, d, REQ_HDR(q, s), sizeof(*hdr),
			 VRING_DESC_F_NEXT, d + 1);
		set_desc(vg, q, d + 1, data, len, VRING_DESC_F_NEXT |
			 (type_in(type) ? VRING_DESC_F_WRITE : 0), d + 2);
	} else {
		set_desc(vg, q, d, REQ_HDR(q, s), sizeof(*hdr),
			 VRING_DESC_F_NEXT, d + 2);
	}
	set_desc(vg, q, d + 2, REQ_STATUS(q, s), 1, VRING_DESC_F_WRITE, 0);
	vq->busy |= 1U << s;
	vq->done &= ~(1U << s);
	avail->ring[vq->avail_idx % vg->qsize] = d;
	__atomic_store_n(&avail->idx, ++vq->avail_idx, __ATOMIC_RELEASE);
}

/* Take what the device has used on queue @q; return how many. */
/* With VIRTIO_RING_F_EVENT_IDX: the avail_event the device writes ... */
static uint16_t *avail_event(struct vblk_guest *vg, unsigned int q)
{
	struct vring_used *used = (void *)(vg->ram + VQ_USED(q));

	return (uint16_t *)&used->ring[vg->qsize];
}

/* ... and the used_event the driver writes. */
static uint16_t *used_event(struct vblk_guest *vg, unsigned int q)
{
	struct vring_avail *avail = (void *)(vg->ram + VQ_AVAIL(q));

	return &avail->ring[vg->qsize];
}

/*
 * Before sleeping with VIRTIO_RING_F_EVENT_IDX: ask for an interrupt at
 * the next used entry; true if one arrived meanwhile (do not sleep).
 */
static bool arm_used_event(struct vblk_guest *vg, unsigned int q)
{
	struct vring_used *used = (void *)(vg->ram + VQ_USED(q));

	if (!(vg->features & (1ULL << VIRTIO_RING_F_EVENT_IDX)))
		return false;
	__atomic_store_n(used_event(vg, q), vg->vq[q].last_used,
			 __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return __atomic_load_n(&used->idx, __ATOMIC_ACQUIRE) !=
	       vg->vq[q].last_used;
}

static unsigned int reap(struct vblk_guest *vg, unsigned int q)
{
	struct vring_used *used = (void *)(vg->ram + VQ_USED(q));
	struct vblk_vq *vq = &vg->vq[q];
	unsigned int n = 0;

	while (__atomic_load_n(&used->idx, __ATOMIC_ACQUIRE) != vq->last_used) {
		struct vring_used_elem *e = &used->ring[vq->last_used %
							 vg->qsize];
		unsigned int s = e->id / 3;

		vq->last_used++;
		if (e->id % 3 || s >= vq->nr_slots || !(vq->busy & (1U << s))) {
			log(vg, "queue %u: bogus used id %u\n", q, e->id);
			continue;
		}
		vq->done |= 1U << s;
		vq->used_len[s] = e->len;
		n++;
	}
	return n;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ULL + ts.tv_nsec / 1000000;
}

static int free_slot(struct vblk_vq *vq)
{
	for (unsigned int s = 0; s < vq->nr_slots; s++)
		if (!(vq->busy & (1U << s)))
			return s;
	return -EBUSY;
}

/**
 * vblk_guest_request() - one virtio-blk request on queue 0, waited for
 * @vg: the probed guest
 * @type: VIRTIO_BLK_T_*
 * @sector: first sector
 * @buf: data to write, or where to read into (may be NULL for FLUSH)
 * @len: data length, at most 1 MiB
 *
 * Requests in flight through vblk_guest_submit() stay so; those that
 * complete meanwhile are kept for vblk_guest_poll().
 *
 * Return: the request's status byte (VIRTIO_BLK_S_*), -EBUSY if queue 0
 * has no free slot, -ETIMEDOUT if no interrupt came for 10 s, -EIO if the
 * device needs a reset, or -errno.
 */
int vblk_guest_request(struct vblk_guest *vg, uint32_t type, uint64_t sector,
		       void *buf, uint32_t len)
{
	struct vblk_vq *vq = &vg->vq[0];
	bool in = type_in(type);
	int s, ret;

	if (len > REQ_DATA_MAX || !vg->nr_queues)
		return -EINVAL;
	s = free_slot(vq);
	if (s < 0)
		return s;
	if (!in && len)
		memcpy(vg->ram + REQ_DATA, buf, len);
	vq_post(vg, 0, s, type, sector, REQ_DATA, len);
	ret = vblk_guest_kick(vg, 0);
	if (ret)
		return ret;

	for (;;) {
		reap(vg, 0);
		if (vq->done & (1U << s))
			break;
		if (vg->needs_reset)
			return -EIO;
		ret = vblk_guest_wait_irq(vg, IRQ_TIMEOUT_MS);
		if (ret)
			return ret;
	}
	vq->busy &= ~(1U << s);
	vq->done &= ~(1U << s);
	if (in && len)
		memcpy(buf, vg->ram + REQ_DATA, len);
	return vg->ram[REQ_STATUS(0, s)];
}

/**
 * vblk_guest_submit() - make a request available, without waiting
 * @vg: the probed guest
 * @queue: which queue, below @vg->nr_queues
 * @type: VIRTIO_BLK_T_*
 * @sector: first sector
 * @buf: data to write (copied now), or NULL to send the slot's data buffer
 *	as it is (see vblk_guest_data()); ignored for reads
 * @len: data length, at most VBLK_SLOT_DATA
 *
 * The device is not notified: call vblk_guest_kick() after one or several
 * submissions.
 *
 * Return: the request's tag (>= 0), which vblk_guest_poll() reports at its
 * completion, -EBUSY if the queue has no free slot, -ENOSPC if the guest's
 * RAM is too small for the slot's data, or -errno.
 */
int vblk_guest_submit(struct vblk_guest *vg, unsigned int queue,
		      uint32_t type, uint64_t sector, const void *buf,
		      uint32_t len)
{
	int s;

	if (queue >= vg->nr_queues || len > VBLK_SLOT_DATA)
		return -EINVAL;
	s = free_slot(&vg->vq[queue]);
	if (s < 0)
		return s;
	if (SLOT_DATA(queue, s) + VBLK_SLOT_DATA > vg->ram_size)
		return -ENOSPC;
	if (!type_in(type) && len && buf)
		memcpy(vg->ram + SLOT_DATA(queue, s), buf, len);
	vq_post(vg, queue, s, type, sector, SLOT_DATA(queue, s), len);
	return s;
}

/**
 * vblk_guest_kick() - notify the device of new requests on a queue
 * @vg: the probed guest
 * @queue: the queue
 *
 * Return: 0 or -errno.
 */
int vblk_guest_kick(struct vblk_guest *vg, unsigned int queue)
{
	struct vblk_vq *vq;
	uint16_t old, event;

	if (queue >= vg->nr_queues)
		return -EINVAL;
	vq = &vg->vq[queue];
	old = vq->kicked;
	vq->kicked = vq->avail_idx;
	if (vg->features & (1ULL << VIRTIO_RING_F_EVENT_IDX)) {
		/* the device's avail_event, after the avail index it must see */
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		event = __atomic_load_n(avail_event(vg, queue),
					__ATOMIC_RELAXED);
		if (!vring_need_event(event, vq->avail_idx, old))
			return 0;
	}
	vg->nr_kicks++;
	return wr32(vg, VIRTIO_MMIO_QUEUE_NOTIFY, queue);
}

/**
 * vblk_guest_poll() - collect completed requests
 * @vg: the probed guest
 * @done: filled with up to @max completions, of any queue
 * @max: room in @done
 * @timeout_ms: how long to wait for a first one; 0 does not wait, a
 *	negative value waits 10 s
 *
 * A completed request's slot is free again; its data (for a read) stays in
 * the slot until the next submission on that queue that takes the slot.
 *
 * Return: how many completions were stored (0 if none, or if no request
 * is in flight), -ETIMEDOUT, -EIO if the device needs a reset, or -errno.
 */
int vblk_guest_poll(struct vblk_guest *vg, struct vblk_done *done,
		    unsigned int max, int timeout_ms)
{
	uint64_t deadline = 0;
	unsigned int n, q;
	int ret;

	for (;;) {
		uint32_t busy = 0;

		n = 0;
		for (q = 0; q < vg->nr_queues; q++) {
			struct vblk_vq *vq = &vg->vq[q];

			reap(vg, q);
			for (unsigned int s = 0; s < vq->nr_slots && n < max; s++) {
				if (!(vq->done & (1U << s)))
					continue;
				done[n++] = (struct vblk_done) {
					.queue = q, .tag = s,
					.status = vg->ram[REQ_STATUS(q, s)],
					.len = vq->used_len[s],
				};
				vq->busy &= ~(1U << s);
				vq->done &= ~(1U << s);
			}
			busy |= vq->busy;
		}
		if (n || !busy || !timeout_ms)
			return n;
		if (vg->needs_reset)
			return -EIO;
		if (!deadline)
			deadline = now_ms() + (timeout_ms < 0 ? IRQ_TIMEOUT_MS :
					       timeout_ms);
		if (now_ms() >= deadline)
			return -ETIMEDOUT;
		for (q = 0, ret = 0; q < vg->nr_queues; q++)
			if (vg->vq[q].busy && arm_used_event(vg, q))
				ret = 1;
		if (ret)
			continue;	/* completed before the event was set */
		ret = vblk_guest_wait_irq(vg, (int)(deadline - now_ms()));
		if (ret)
			return ret;
	}
}

/**
 * vblk_guest_data() - a slot's data buffer, in guest RAM
 * @vg: the probed guest
 * @queue: the queue
 * @tag: the slot, as vblk_guest_submit() returned it
 *
 * Return: VBLK_SLOT_DATA bytes of guest RAM, or NULL for a bad tag.
 */
void *vblk_guest_data(struct vblk_guest *vg, unsigned int queue, int tag)
{
	if (queue >= VBLK_MAX_QUEUES || tag < 0 || tag >= VBLK_MAX_SLOTS ||
	    SLOT_DATA(queue, tag) + VBLK_SLOT_DATA > vg->ram_size)
		return NULL;
	return vg->ram + SLOT_DATA(queue, tag);
}

/**
 * vblk_guest_inflight() - requests submitted on a queue and not yet polled
 * @vg: the guest
 * @queue: the queue
 *
 * Return: their number.
 */
unsigned int vblk_guest_inflight(const struct vblk_guest *vg,
				 unsigned int queue)
{
	if (queue >= VBLK_MAX_QUEUES)
		return 0;
	return __builtin_popcount(vg->vq[queue].busy);
}

/**
 * vblk_guest_stop_backend() - SIGTERM the backend and reap it
 * @vg: the guest
 *
 * Return: the backend's exit status (0 for a clean exit), or -errno.
 */
int vblk_guest_stop_backend(struct vblk_guest *vg)
{
	int status;

	if (!vg->backend)
		return 0;
	kill(vg->backend, SIGTERM);
	if (waitpid(vg->backend, &status, 0) < 0)
		return -errno;
	vg->backend = 0;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/**
 * vblk_guest_destroy() - stop the backend and free the guest
 * @vg: the guest
 */
void vblk_guest_destroy(struct vblk_guest *vg)
{
	vblk_guest_stop_backend(vg);
	if (vg->ram && vg->ram != MAP_FAILED)
		munmap(vg->ram, vg->ram_size);
	if (vg->irqfd > 0)
		close(vg->irqfd);
	if (vg->memfd > 0)
		close(vg->memfd);
	if (vg->sg > 0)
		close(vg->sg);
	if (vg->simctl > 0)
		close(vg->simctl);
	vg->ram = NULL;
	vg->irqfd = vg->memfd = vg->sg = vg->simctl = -1;
}
