// SPDX-License-Identifier: GPL-2.0
/*
 * A virtio-blk driver running as a guest of the virtbe simulator.
 */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
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
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>

#include "vblk_guest.h"

/* Guest-physical layout inside RAM. */
#define VQ_DESC		0x10000ULL
#define VQ_AVAIL	0x11000ULL
#define VQ_USED		0x12000ULL
#define REQ_HDR		0x20000ULL
#define REQ_STATUS	0x21000ULL
#define REQ_DATA	0x100000ULL
#define QSIZE		16
#define IRQ_TIMEOUT_MS	10000

#define log(vg, ...) do { if ((vg)->verbose) printf("guest: " __VA_ARGS__); } while (0)

static int sim_access(struct vblk_guest *vg, bool write, uint32_t off,
		      uint32_t len, uint64_t *val)
{
	struct virtbe_sim_access a = {
		.size = sizeof(a),
		.flags = write ? VIRTBE_SIM_ACCESS_WRITE : 0,
		.vcpu = 0, .len = len, .addr = vg->base + off,
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
	struct virtbe_sim_create c = { .size = sizeof(c), .nr_vcpus = 1 };
	struct virtbe_sim_ram r = { .size = sizeof(r), .len = ram_size };
	struct virtbe_sim_bind_irq b = {
		.size = sizeof(b), .irq = irq,
		.type = level ? VIRTBE_IRQ_LEVEL : VIRTBE_IRQ_EDGE,
	};

	memset(vg, 0, sizeof(*vg));
	vg->base = base;
	vg->irq = irq;
	vg->level = level;
	vg->ram_size = ram_size;
	vg->qsize = QSIZE;
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
	vg->irqfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vg->irqfd < 0)
		return -errno;
	b.fd = vg->irqfd;
	if (ioctl(vg->sg, VIRTBE_SIM_BIND_IRQ, &b) < 0)
		return -errno;
	return 0;
}

/**
 * vblk_guest_spawn() - start a backend process serving this guest
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
	pid_t pid;

	snprintf(id, sizeof(id), "%llu", (unsigned long long)vg->guest_id);
	snprintf(base, sizeof(base), "0x%llx", (unsigned long long)vg->base);
	snprintf(irq, sizeof(irq), "%u", vg->irq);
	snprintf(mem, sizeof(mem), "0:0x%llx",
		 (unsigned long long)vg->ram_size);
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (!pid) {
		const char *argv[] = {
			backend, "--hyp", "sim", "--guest", id, "--base", base,
			"--irq", irq, "--irq-type", vg->level ? "level" : "edge",
			"--file", file, "--mem", mem,
			verbose ? "--verbose" : NULL, NULL,
		};

		execv(backend, (char **)argv);
		perror("exec backend");
		_exit(127);
	}
	vg->backend = pid;
	return 0;
}

/* Wait for the device's interrupt, then read and acknowledge its cause. */
static int wait_irq(struct vblk_guest *vg, uint32_t *isr)
{
	struct pollfd p = { .fd = vg->irqfd, .events = POLLIN };
	uint64_t cnt;

	if (poll(&p, 1, IRQ_TIMEOUT_MS) != 1)
		return -ETIMEDOUT;
	if (read(vg->irqfd, &cnt, sizeof(cnt)) != sizeof(cnt))
		return -errno;
	vg->nr_irqs++;
	*isr = rd32(vg, VIRTIO_MMIO_INTERRUPT_STATUS);
	if (*isr)
		wr32(vg, VIRTIO_MMIO_INTERRUPT_ACK, *isr);
	if (vg->level) {
		struct virtbe_sim_irq_state st = {
			.size = sizeof(st), .flags = VIRTBE_SIM_IRQ_EOI,
			.type = VIRTBE_IRQ_LEVEL, .irq = vg->irq,
		};

		if (ioctl(vg->sg, VIRTBE_SIM_IRQ_STATE, &st) < 0)
			return -errno;
	}
	return 0;
}

/**
 * vblk_guest_probe() - the virtio-mmio initialisation sequence
 * @vg: the guest, with a backend started
 * @timeout_ms: how long to wait for the device to appear
 *
 * Return: 0, -ENODEV if no virtio-blk device answered, or -errno.
 */
int vblk_guest_probe(struct vblk_guest *vg, int timeout_ms)
{
	uint64_t feat, cap_lo, cap_hi;
	uint32_t status;
	int waited = 0;

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

	/* Reset: the device forgets the queue, and so do we. */
	wr32(vg, VIRTIO_MMIO_STATUS, 0);
	vg->avail_idx = 0;
	vg->last_used = 0;
	wr32(vg, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	wr32(vg, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE |
	     VIRTIO_CONFIG_S_DRIVER);
	wr32(vg, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	feat = (uint64_t)rd32(vg, VIRTIO_MMIO_DEVICE_FEATURES) << 32;
	wr32(vg, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	feat |= rd32(vg, VIRTIO_MMIO_DEVICE_FEATURES);
	if (!(feat & (1ULL << VIRTIO_F_VERSION_1)))
		return -ENODEV;
	feat &= (1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_BLK_F_FLUSH);
	wr32(vg, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr32(vg, VIRTIO_MMIO_DRIVER_FEATURES, feat >> 32);
	wr32(vg, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr32(vg, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)feat);
	status = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
		 VIRTIO_CONFIG_S_FEATURES_OK;
	wr32(vg, VIRTIO_MMIO_STATUS, status);
	if (!(rd32(vg, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_FEATURES_OK))
		return -EPROTO;
	log(vg, "negotiated features 0x%llx\n", (unsigned long long)feat);

	wr32(vg, VIRTIO_MMIO_QUEUE_SEL, 0);
	if (rd32(vg, VIRTIO_MMIO_QUEUE_NUM_MAX) < vg->qsize ||
	    rd32(vg, VIRTIO_MMIO_QUEUE_READY))
		return -EPROTO;
	memset(vg->ram + VQ_DESC, 0, 0x3000);
	wr32(vg, VIRTIO_MMIO_QUEUE_NUM, vg->qsize);
	wr32(vg, VIRTIO_MMIO_QUEUE_DESC_LOW, VQ_DESC);
	wr32(vg, VIRTIO_MMIO_QUEUE_DESC_HIGH, 0);
	wr32(vg, VIRTIO_MMIO_QUEUE_AVAIL_LOW, VQ_AVAIL);
	wr32(vg, VIRTIO_MMIO_QUEUE_AVAIL_HIGH, 0);
	wr32(vg, VIRTIO_MMIO_QUEUE_USED_LOW, VQ_USED);
	wr32(vg, VIRTIO_MMIO_QUEUE_USED_HIGH, 0);
	wr32(vg, VIRTIO_MMIO_QUEUE_READY, 1);
	wr32(vg, VIRTIO_MMIO_STATUS, status | VIRTIO_CONFIG_S_DRIVER_OK);

	vblk_mmio_read(vg, VIRTIO_MMIO_CONFIG, 4, &cap_lo);
	vblk_mmio_read(vg, VIRTIO_MMIO_CONFIG + 4, 4, &cap_hi);
	vg->capacity = (cap_hi << 32) | (uint32_t)cap_lo;
	log(vg, "queue 0 ready (%u entries), capacity %llu sectors\n",
	    vg->qsize, (unsigned long long)vg->capacity);
	return 0;
}

static void set_desc(struct vblk_guest *vg, unsigned int i, uint64_t addr,
		     uint32_t len, uint16_t flags, uint16_t next)
{
	struct vring_desc *d = (struct vring_desc *)(vg->ram + VQ_DESC) + i;

	d->addr = addr;
	d->len = len;
	d->flags = flags;
	d->next = next;
}

/**
 * vblk_guest_request() - one virtio-blk request, waited for
 * @vg: the probed guest
 * @type: VIRTIO_BLK_T_*
 * @sector: first sector
 * @buf: data to write, or where to read into (may be NULL for FLUSH)
 * @len: data length, at most 1 MiB
 *
 * Return: the request's status byte (VIRTIO_BLK_S_*), or -errno.
 */
int vblk_guest_request(struct vblk_guest *vg, uint32_t type, uint64_t sector,
		       void *buf, uint32_t len)
{
	struct virtio_blk_outhdr *hdr = (void *)(vg->ram + REQ_HDR);
	struct vring_avail *avail = (void *)(vg->ram + VQ_AVAIL);
	struct vring_used *used = (void *)(vg->ram + VQ_USED);
	bool in = type == VIRTIO_BLK_T_IN || type == VIRTIO_BLK_T_GET_ID;
	unsigned int n = 0;
	uint32_t isr;
	int ret;

	if (len > 0x100000)
		return -EINVAL;
	hdr->type = type;
	hdr->ioprio = 0;
	hdr->sector = sector;
	vg->ram[REQ_STATUS] = 0xff;
	if (!in && len)
		memcpy(vg->ram + REQ_DATA, buf, len);

	set_desc(vg, n, REQ_HDR, sizeof(*hdr), VRING_DESC_F_NEXT, n + 1);
	n++;
	if (len) {
		set_desc(vg, n, REQ_DATA, len,
			 VRING_DESC_F_NEXT | (in ? VRING_DESC_F_WRITE : 0),
			 n + 1);
		n++;
	}
	set_desc(vg, n, REQ_STATUS, 1, VRING_DESC_F_WRITE, 0);

	avail->ring[vg->avail_idx % vg->qsize] = 0;
	__atomic_store_n(&avail->idx, ++vg->avail_idx, __ATOMIC_RELEASE);
	vg->nr_kicks++;
	ret = wr32(vg, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	if (ret)
		return ret;

	while (__atomic_load_n(&used->idx, __ATOMIC_ACQUIRE) == vg->last_used) {
		ret = wait_irq(vg, &isr);
		if (ret)
			return ret;
	}
	vg->last_used++;
	if (in && len)
		memcpy(buf, vg->ram + REQ_DATA, len);
	return vg->ram[REQ_STATUS];
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
}
