// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * libFuzzer harness: libvirtbe's virtio-mmio model against a driver that
 * makes any sequence of accesses, with the device raising interrupts in
 * between.  The input is a list of 12-byte steps: one byte of kind (a
 * read or a write of 1, 2, 4 or 8 bytes, a used-buffer or a config
 * interrupt raised by the device, or a config change), a 16-bit offset in
 * the window (or a little past it) and a 64-bit value; the rest of the
 * input fills the guest's 64 KiB of RAM, where the driver's rings are.
 * Checked after every step: the identity registers read what they are,
 * InterruptStatus only holds causes the device raised and the driver has
 * not acknowledged, a read value fits its access length, Status only holds
 * bits the driver wrote (and DEVICE_NEEDS_RESET), and every chain a kick
 * pops lies inside the RAM.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>

#include <virtbe/virtbe.h>

#include "fuzz.h"

#define BASE 0xfe000000ULL
#define SIZE 0x200ULL
#define RAM_GPA 0x40000000ULL
#define RAM_SIZE 0x10000U
#define NQ 2
#define STEP 11
#define MAX_STEPS 512

static uint8_t ram[RAM_SIZE] __attribute__((aligned(4096)));

static struct {
	struct vbe_vq *vq[NQ];
	uint32_t raised;		/* InterruptStatus bits raised, not acked */
	uint32_t written;		/* Status bits the driver wrote since reset */
} st;

static void queue_ready(struct vbe_dev *dev, unsigned int q, struct vbe_vq *vq)
{
	(void)dev;
	CHECK(q < NQ);
	st.vq[q] = vq;
}

static void queue_notify(struct vbe_dev *dev, unsigned int q)
{
	struct iovec iov[8];
	struct vbe_vq_elem e;
	unsigned int i, n = 0;

	CHECK(q < NQ);
	if (!st.vq[q])
		return;
	while (n++ < 64 && vbe_vq_pop(st.vq[q], iov, 8, &e) == 1) {
		CHECK(e.out_num + e.in_num <= 8);
		for (i = 0; i < e.out_num + e.in_num; i++)
			CHECK(!iov[i].iov_len ||
			      inside(iov[i].iov_base, iov[i].iov_len, ram,
				     RAM_SIZE));
		CHECK(!vbe_vq_push(st.vq[q], e.head, 0));
		if (vbe_vq_need_notify(st.vq[q]) &&
		    vbe_dev_notify_used(dev) != -EINVAL)
			st.raised |= VIRTIO_MMIO_INT_VRING;
	}
}

static void reset(struct vbe_dev *dev)
{
	(void)dev;
	st.raised = 0;
}

static const struct vbe_dev_ops ops = {
	.queue_ready = queue_ready,
	.queue_notify = queue_notify,
	.reset = reset,
};

static uint64_t le(const uint8_t *p, unsigned int n)
{
	uint64_t v = 0;

	while (n--)
		v = v << 8 | p[n];
	return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t cfg[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	struct vbe_memtab *mt;
	struct vbe_dev *dev;
	size_t steps = size / STEP, i;
	uint32_t status, nr;
	uint64_t out;

	if (steps > MAX_STEPS)
		steps = MAX_STEPS;
	memset(&st, 0, sizeof(st));
	memset(ram, 0, sizeof(ram));
	if (size > steps * STEP)
		memcpy(ram, data + steps * STEP,
		       size - steps * STEP < RAM_SIZE ? size - steps * STEP : RAM_SIZE);
	CHECK(!vbe_memtab_new(&mt));
	CHECK(!vbe_memtab_add(mt, RAM_GPA, RAM_SIZE, ram, 0));
	CHECK(!vbe_dev_new(BASE, SIZE, VIRTIO_ID_BLOCK, NQ, 16, &dev));
	CHECK(!vbe_dev_set_ops(dev, &ops, NULL));
	CHECK(!vbe_dev_set_features(dev, 1ULL << VIRTIO_RING_F_EVENT_IDX));
	CHECK(!vbe_dev_set_config(dev, cfg, sizeof(cfg)));
	CHECK(!vbe_dev_set_memtab(dev, mt));

	for (i = 0; i < steps; i++) {
		const uint8_t *s = data + i * STEP;
		unsigned int kind = s[0] % 12, len = 1U << (s[0] % 4);
		uint64_t off = le(s + 1, 2) % (SIZE + 16);
		uint64_t val = le(s + 3, 8);
		struct virtbe_request req = {
			.size = sizeof(req), .len = len, .addr = BASE + off,
			.id = i + 1,
		};
		int ret;

		if (kind == 8) {
			if (vbe_dev_notify_used(dev) != -EINVAL)
				st.raised |= VIRTIO_MMIO_INT_VRING;
			continue;
		}
		if (kind == 9) {
			if (vbe_dev_notify_config(dev) != -EINVAL)
				st.raised |= VIRTIO_MMIO_INT_CONFIG;
			continue;
		}
		if (kind == 10) {
			uint8_t b = (uint8_t)val;
			uint32_t before = vbe_dev_status(dev);

			vbe_dev_config_update(dev, (uint32_t)(off % 8), &b, 1);
			if (before & VIRTIO_CONFIG_S_DRIVER_OK)
				st.raised |= VIRTIO_MMIO_INT_CONFIG;
			continue;
		}
		if (kind == 11) {
			if (vbe_dev_status(dev) & VIRTIO_CONFIG_S_DRIVER_OK) {
				vbe_dev_set_needs_reset(dev);
				st.written |= VIRTIO_CONFIG_S_NEEDS_RESET;
				st.raised |= VIRTIO_MMIO_INT_CONFIG;
			}
			continue;
		}
		if (kind >= 4) {	/* a write */
			req.flags = VIRTBE_REQ_WRITE;
			req.data = len == 8 ? val : val & ((1ULL << (8 * len)) - 1);
		}
		out = 0xdeadbeef;
		nr = vbe_dev_status(dev) & VIRTIO_CONFIG_S_NEEDS_RESET;
		ret = vbe_dev_handle_request(dev, &req, &out);
		/* a driver's bad Status write makes the device need a reset,
		 * which raises the config interrupt */
		if (!nr && (vbe_dev_status(dev) & VIRTIO_CONFIG_S_NEEDS_RESET))
			st.raised |= VIRTIO_MMIO_INT_CONFIG;
		if (off + len > SIZE) {
			CHECK(ret == -ERANGE || ret == 0);
			continue;
		}
		CHECK(ret == 0);
		if (req.flags & VIRTBE_REQ_WRITE) {
			CHECK(out == 0);
			if (len == 4 && off == VIRTIO_MMIO_INTERRUPT_ACK)
				st.raised &= ~(uint32_t)req.data;
			if (len == 4 && off == VIRTIO_MMIO_STATUS) {
				if (!req.data)
					st.written = st.raised = 0;
				else
					st.written |= (uint32_t)req.data;
			}
			continue;
		}
		CHECK(len == 8 || out < 1ULL << (8 * len));
		if (len != 4)
			continue;
		switch (off) {
		case VIRTIO_MMIO_MAGIC_VALUE:
			CHECK(out == 0x74726976);
			break;
		case VIRTIO_MMIO_VERSION:
			CHECK(out == 2);
			break;
		case VIRTIO_MMIO_DEVICE_ID:
			CHECK(out == VIRTIO_ID_BLOCK);
			break;
		case VIRTIO_MMIO_INTERRUPT_STATUS:
			CHECK(!(out & ~(uint64_t)st.raised));
			break;
		case VIRTIO_MMIO_STATUS:
			/* the device may set NEEDS_RESET itself (a bad write) */
			status = (uint32_t)out;
			CHECK(!(status & ~(st.written |
					   VIRTIO_CONFIG_S_NEEDS_RESET)));
			break;
		}
	}
	vbe_dev_free(dev);
	vbe_memtab_free(mt);
	return 0;
}
