// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * The virtio-mmio model, fed with virtbe_request records directly (and,
 * for attach/dispatch, through the fake kernel of fakehv.c).
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>

#include "fakehv.h"
#include "harness.h"
#include "internal.h"
#include "vring_drv.h"

#define BASE 0x10000000ULL
#define SIZE 0x200ULL
#define G 0x40000000ULL
#define RAM_SIZE (1U << 20)

#define F_V1 (1ULL << VIRTIO_F_VERSION_1)
#define S_ACK VIRTIO_CONFIG_S_ACKNOWLEDGE
#define S_DRV VIRTIO_CONFIG_S_DRIVER
#define S_FOK VIRTIO_CONFIG_S_FEATURES_OK
#define S_DOK VIRTIO_CONFIG_S_DRIVER_OK

/* What the device author's callbacks saw. */
struct rec {
	char log[512];
	int refuse;		/* features_ok result */
	uint64_t features;
	struct vbe_vq *vq[4];
	int notify[4];
	int cfg_write_ret;
	uint32_t cfg_off, cfg_len;
	uint64_t cfg_val;
	int cfg_writes;
};

static struct rec rec;

static void logf_(const char *s)
{
	strncat(rec.log, s, sizeof(rec.log) - strlen(rec.log) - 1);
}

static int cb_features_ok(struct vbe_dev *dev, uint64_t f)
{
	(void)dev;
	rec.features = f;
	logf_("F");
	return rec.refuse;
}

static void cb_driver_ok(struct vbe_dev *dev)
{
	(void)dev;
	logf_("D");
}

static void cb_reset(struct vbe_dev *dev)
{
	(void)dev;
	logf_("X");
}

static void cb_queue_ready(struct vbe_dev *dev, unsigned int q,
			   struct vbe_vq *vq)
{
	char s[8];

	(void)dev;
	snprintf(s, sizeof(s), "Q%u%c", q, vq ? '+' : '-');
	logf_(s);
	rec.vq[q] = vq;
}

static void cb_queue_notify(struct vbe_dev *dev, unsigned int q)
{
	(void)dev;
	rec.notify[q]++;
}

static int cb_config_write(struct vbe_dev *dev, uint32_t off, uint32_t len,
			   uint64_t val)
{
	(void)dev;
	rec.cfg_writes++;
	rec.cfg_off = off;
	rec.cfg_len = len;
	rec.cfg_val = val;
	return rec.cfg_write_ret;
}

static const struct vbe_dev_ops ops = {
	.features_ok = cb_features_ok,
	.driver_ok = cb_driver_ok,
	.reset = cb_reset,
	.queue_ready = cb_queue_ready,
	.queue_notify = cb_queue_notify,
	.config_write = cb_config_write,
};

static uint64_t mmio_access(struct vbe_dev *d, uint64_t off, uint32_t len,
		       bool write, uint64_t val)
{
	struct virtbe_request r = {
		.size = sizeof(r),
		.flags = write ? VIRTBE_REQ_WRITE : 0,
		.len = len,
		.addr = BASE + off,
		.data = write ? val : 0,
	};
	uint64_t out = 0xdeadbeef;

	REQUIRE_EQ(vbe_dev_handle_request(d, &r, &out), 0);
	if (write)
		CHECK_EQ(out, 0);
	return out;
}

static uint64_t rd(struct vbe_dev *d, uint64_t off, uint32_t len)
{
	return mmio_access(d, off, len, false, 0);
}

static void wr(struct vbe_dev *d, uint64_t off, uint32_t len, uint64_t v)
{
	mmio_access(d, off, len, true, v);
}

static uint32_t rd32(struct vbe_dev *d, uint64_t off)
{
	return (uint32_t)rd(d, off, 4);
}

static void wr32(struct vbe_dev *d, uint64_t off, uint32_t v)
{
	wr(d, off, 4, v);
}

static const uint8_t cfg[16] = {
	0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
	0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x00,
};

static struct vbe_dev *new_dev(uint64_t features)
{
	struct vbe_dev *d;

	memset(&rec, 0, sizeof(rec));
	REQUIRE_EQ(vbe_dev_new(BASE, SIZE, VIRTIO_ID_BLOCK, 2, 16, &d), 0);
	REQUIRE_EQ(vbe_dev_set_ops(d, &ops, &rec), 0);
	REQUIRE_EQ(vbe_dev_set_vendor_id(d, 0x1af4), 0);
	REQUIRE_EQ(vbe_dev_set_features(d, features), 0);
	REQUIRE_EQ(vbe_dev_set_config(d, cfg, sizeof(cfg)), 0);
	return d;
}

static void set_driver_features(struct vbe_dev *d, uint64_t f)
{
	wr32(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr32(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)f);
	wr32(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr32(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(f >> 32));
}

/* The Linux driver's sequence up to FEATURES_OK; returns Status. */
static uint32_t negotiate(struct vbe_dev *d, uint64_t f)
{
	wr32(d, VIRTIO_MMIO_STATUS, 0);
	wr32(d, VIRTIO_MMIO_STATUS, S_ACK);
	wr32(d, VIRTIO_MMIO_STATUS, S_ACK | S_DRV);
	set_driver_features(d, f);
	wr32(d, VIRTIO_MMIO_STATUS, S_ACK | S_DRV | S_FOK);
	return rd32(d, VIRTIO_MMIO_STATUS);
}

static void queue_regs(struct vbe_dev *d, unsigned int q, uint32_t num,
		       uint64_t desc, uint64_t avail, uint64_t used)
{
	wr32(d, VIRTIO_MMIO_QUEUE_SEL, q);
	wr32(d, VIRTIO_MMIO_QUEUE_NUM, num);
	wr32(d, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)desc);
	wr32(d, VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(desc >> 32));
	wr32(d, VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)avail);
	wr32(d, VIRTIO_MMIO_QUEUE_AVAIL_HIGH, (uint32_t)(avail >> 32));
	wr32(d, VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)used);
	wr32(d, VIRTIO_MMIO_QUEUE_USED_HIGH, (uint32_t)(used >> 32));
}

struct ram {
	uint8_t *p;
	struct vbe_memtab *mt;
	struct drv v[2];
};

static void ram_init(struct ram *r, struct vbe_dev *d)
{
	r->p = aligned_alloc(4096, RAM_SIZE);
	REQUIRE(r->p);
	memset(r->p, 0, RAM_SIZE);
	REQUIRE_EQ(vbe_memtab_new(&r->mt), 0);
	REQUIRE_EQ(vbe_memtab_add(r->mt, G, RAM_SIZE, r->p, 0), 0);
	drv_init(&r->v[0], r->p, G, 0, 16);
	drv_init(&r->v[1], r->p, G, 0x10000, 8);
	if (d)
		REQUIRE_EQ(vbe_dev_set_memtab(d, r->mt), 0);
}

static void setup_queue(struct vbe_dev *d, struct ram *r, unsigned int q)
{
	queue_regs(d, q, r->v[q].num, r->v[q].desc, r->v[q].avail,
		   r->v[q].used);
	wr32(d, VIRTIO_MMIO_QUEUE_READY, 1);
}

static uint64_t eventfd_count(int fd)
{
	uint64_t v = 0;

	if (read(fd, &v, sizeof(v)) != sizeof(v))
		return 0;
	return v;
}

TEST(mmio_identity_registers)
{
	struct vbe_dev *d = new_dev(0);

	CHECK_EQ(rd32(d, VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
	CHECK_EQ(rd32(d, VIRTIO_MMIO_VERSION), 2);
	CHECK_EQ(rd32(d, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_BLOCK);
	CHECK_EQ(rd32(d, VIRTIO_MMIO_VENDOR_ID), 0x1af4);
	CHECK_EQ(rd32(d, VIRTIO_MMIO_CONFIG_GENERATION), 0);
	CHECK_EQ(rd32(d, VIRTIO_MMIO_STATUS), 0);
	CHECK_EQ(rd32(d, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	/* queue 0 and 1 exist, 2 does not */
	CHECK_EQ(rd32(d, VIRTIO_MMIO_QUEUE_NUM_MAX), 16);
	CHECK_EQ(rd32(d, VIRTIO_MMIO_QUEUE_READY), 0);
	wr32(d, VIRTIO_MMIO_QUEUE_SEL, 1);
	CHECK_EQ(rd32(d, VIRTIO_MMIO_QUEUE_NUM_MAX), 16);
	wr32(d, VIRTIO_MMIO_QUEUE_SEL, 2);
	CHECK_EQ(rd32(d, VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
	CHECK_EQ(rd32(d, VIRTIO_MMIO_QUEUE_READY), 0);
	/* no shared memory regions: length -1 */
	wr32(d, VIRTIO_MMIO_SHM_SEL, 0);
	CHECK_EQ(rd32(d, VIRTIO_MMIO_SHM_LEN_LOW), 0xffffffff);
	CHECK_EQ(rd32(d, VIRTIO_MMIO_SHM_LEN_HIGH), 0xffffffff);
	CHECK_EQ(rd32(d, VIRTIO_MMIO_SHM_BASE_LOW), 0xffffffff);
	CHECK_EQ(rd32(d, VIRTIO_MMIO_SHM_BASE_HIGH), 0xffffffff);
	CHECK_EQ(vbe_dev_invalid_accesses(d), 0);
	vbe_dev_free(d);
}

TEST(mmio_device_features_select)
{
	uint64_t f = (1ULL << 9) | (1ULL << 2) | (1ULL << VIRTIO_RING_F_EVENT_IDX);
	struct vbe_dev *d = new_dev(f);

	wr32(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	CHECK_EQ(rd32(d, VIRTIO_MMIO_DEVICE_FEATURES), (uint32_t)f);
	wr32(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	/* VERSION_1 (bit 32) is always offered */
	CHECK_EQ(rd32(d, VIRTIO_MMIO_DEVICE_FEATURES), 1);
	wr32(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 2);
	CHECK_EQ(rd32(d, VIRTIO_MMIO_DEVICE_FEATURES), 0);
	wr32(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0xffffffff);
	CHECK_EQ(rd32(d, VIRTIO_MMIO_DEVICE_FEATURES), 0);
	CHECK_EQ(vbe_dev_invalid_accesses(d), 0);
	vbe_dev_free(d);
}

TEST(mmio_invalid_accesses)
{
	static const uint32_t write_only[] = {
		VIRTIO_MMIO_DEVICE_FEATURES_SEL, VIRTIO_MMIO_DRIVER_FEATURES,
		VIRTIO_MMIO_DRIVER_FEATURES_SEL, VIRTIO_MMIO_QUEUE_SEL,
		VIRTIO_MMIO_QUEUE_NUM, VIRTIO_MMIO_QUEUE_NOTIFY,
		VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_QUEUE_DESC_LOW,
		VIRTIO_MMIO_QUEUE_DESC_HIGH, VIRTIO_MMIO_QUEUE_AVAIL_LOW,
		VIRTIO_MMIO_QUEUE_AVAIL_HIGH, VIRTIO_MMIO_QUEUE_USED_LOW,
		VIRTIO_MMIO_QUEUE_USED_HIGH, VIRTIO_MMIO_SHM_SEL,
		/* legacy (version 1) registers do not exist in version 2 */
		VIRTIO_MMIO_GUEST_PAGE_SIZE, VIRTIO_MMIO_QUEUE_ALIGN,
		VIRTIO_MMIO_QUEUE_PFN, 0x018, 0x0c0, 0x0f8,
	};
	static const uint32_t read_only[] = {
		VIRTIO_MMIO_MAGIC_VALUE, VIRTIO_MMIO_VERSION,
		VIRTIO_MMIO_DEVICE_ID, VIRTIO_MMIO_VENDOR_ID,
		VIRTIO_MMIO_DEVICE_FEATURES, VIRTIO_MMIO_QUEUE_NUM_MAX,
		VIRTIO_MMIO_INTERRUPT_STATUS, VIRTIO_MMIO_SHM_LEN_LOW,
		VIRTIO_MMIO_SHM_LEN_HIGH, VIRTIO_MMIO_SHM_BASE_LOW,
		VIRTIO_MMIO_SHM_BASE_HIGH, VIRTIO_MMIO_CONFIG_GENERATION,
		VIRTIO_MMIO_GUEST_PAGE_SIZE, 0x0c0,
	};
	struct vbe_dev *d = new_dev(0);
	uint64_t n = 0;
	unsigned int i;

	for (i = 0; i < VBE_ARRAY_SIZE(write_only); i++) {
		CHECK_EQ(rd32(d, write_only[i]), 0);
		CHECK_EQ(vbe_dev_invalid_accesses(d), ++n);
	}
	for (i = 0; i < VBE_ARRAY_SIZE(read_only); i++) {
		wr32(d, read_only[i], 0x12345678);
		CHECK_EQ(vbe_dev_invalid_accesses(d), ++n);
	}
	CHECK_EQ(rd32(d, VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
	CHECK_EQ(rd32(d, VIRTIO_MMIO_VERSION), 2);

	/* control registers: 32-bit aligned accesses only */
	CHECK_EQ(rd(d, VIRTIO_MMIO_MAGIC_VALUE, 1), 0);
	CHECK_EQ(rd(d, VIRTIO_MMIO_MAGIC_VALUE, 2), 0);
	CHECK_EQ(rd(d, VIRTIO_MMIO_MAGIC_VALUE, 8), 0);
	CHECK_EQ(rd(d, VIRTIO_MMIO_MAGIC_VALUE + 1, 4), 0);
	CHECK_EQ(rd(d, VIRTIO_MMIO_MAGIC_VALUE + 2, 2), 0);
	wr(d, VIRTIO_MMIO_STATUS, 1, S_ACK);
	wr(d, VIRTIO_MMIO_STATUS, 8, S_ACK);
	/* odd sizes */
	CHECK_EQ(rd(d, VIRTIO_MMIO_MAGIC_VALUE, 3), 0);
	CHECK_EQ(rd(d, VIRTIO_MMIO_MAGIC_VALUE, 0), 0);
	CHECK_EQ(rd(d, VIRTIO_MMIO_MAGIC_VALUE, 16), 0);
	n += 10;
	CHECK_EQ(vbe_dev_invalid_accesses(d), n);
	CHECK_EQ(rd32(d, VIRTIO_MMIO_STATUS), 0);
	vbe_dev_free(d);
}

TEST(mmio_out_of_range)
{
	struct vbe_dev *d = new_dev(0);
	struct virtbe_request r = {
		.size = sizeof(r), .len = 4, .addr = BASE - 4,
	};
	uint64_t v;

	CHECK_EQ(vbe_dev_handle_request(d, &r, &v), -ERANGE);
	r.addr = BASE + SIZE;
	CHECK_EQ(vbe_dev_handle_request(d, &r, &v), -ERANGE);
	r.addr = 0;
	CHECK_EQ(vbe_dev_handle_request(d, &r, &v), -ERANGE);
	r.addr = BASE;
	r.flags = VIRTBE_REQ_PIO;
	CHECK_EQ(vbe_dev_handle_request(d, &r, &v), -EINVAL);
	/* the last 4 bytes are inside; 8 bytes from there are not */
	r.flags = 0;
	r.addr = BASE + SIZE - 4;
	CHECK_EQ(vbe_dev_handle_request(d, &r, &v), 0);
	r.addr = BASE + SIZE - 4;
	r.len = 8;
	CHECK_EQ(vbe_dev_handle_request(d, &r, &v), 0);
	CHECK_EQ(v, 0);
	/* a device at the very top of the address space */
	vbe_dev_free(d);
	REQUIRE_EQ(vbe_dev_new(UINT64_MAX - 0x1ff, 0x200, 1, 1, 4, &d), 0);
	r.addr = UINT64_MAX - 3;
	r.len = 4;
	CHECK_EQ(vbe_dev_handle_request(d, &r, &v), 0);
	r.addr = UINT64_MAX - 0x1ff;
	CHECK_EQ(vbe_dev_handle_request(d, &r, &v), 0);
	CHECK_EQ(v, 0x74726976);
	vbe_dev_free(d);
	CHECK_EQ(vbe_dev_new(UINT64_MAX - 0x1fe, 0x200, 1, 1, 4, &d), -EINVAL);
}

TEST(mmio_new_and_setters_validation)
{
	struct vbe_dev *d;
	uint8_t big[0x101] = { 0 };

	CHECK_EQ(vbe_dev_new(BASE, 0xff, 1, 1, 4, &d), -EINVAL);
	CHECK_EQ(vbe_dev_new(BASE, 1ULL << 33, 1, 1, 4, &d), -EINVAL);
	CHECK_EQ(vbe_dev_new(BASE, SIZE, 0, 1, 4, &d), -EINVAL);
	CHECK_EQ(vbe_dev_new(BASE, SIZE, 1, 0, 4, &d), -EINVAL);
	CHECK_EQ(vbe_dev_new(BASE, SIZE, 1, 1025, 4, &d), -EINVAL);
	CHECK_EQ(vbe_dev_new(BASE, SIZE, 1, 1, 0, &d), -EINVAL);
	CHECK_EQ(vbe_dev_new(BASE, SIZE, 1, 1, 6, &d), -EINVAL);
	CHECK_EQ(vbe_dev_new(BASE, SIZE, 1, 1, 65536, &d), -EINVAL);
	REQUIRE_EQ(vbe_dev_new(BASE, SIZE, 1, 1, 32768, &d), 0);
	CHECK_EQ(vbe_dev_set_features(d, 1ULL << VIRTIO_F_RING_PACKED),
		 -EINVAL);
	CHECK_EQ(vbe_dev_set_features(d, 1ULL << 38), -EINVAL);
	CHECK_EQ(vbe_dev_set_config(d, big, 0x101), -EINVAL);
	CHECK_EQ(vbe_dev_set_config(d, big, 0x100), 0);
	CHECK_EQ(vbe_dev_set_config(d, NULL, 0), 0);
	CHECK_EQ(vbe_dev_call_fd(d), -ENOENT);
	CHECK_EQ(vbe_dev_resample_fd(d), -ENOENT);
	CHECK(vbe_dev_kick_fd(d, 0) >= 0);
	CHECK_EQ(vbe_dev_kick_fd(d, 1), -EINVAL);
	CHECK_EQ(vbe_dev_handle_kick(d, 1), -EINVAL);
	CHECK_EQ(vbe_dev_handle_resample(d), -ENOENT);
	CHECK(vbe_dev_vq(d, 0) == NULL);
	CHECK(vbe_dev_vq(d, 7) == NULL);
	CHECK(vbe_dev_opaque(d) == NULL);
	vbe_dev_free(d);
	vbe_dev_free(NULL);
}

TEST(mmio_feature_negotiation)
{
	uint64_t f = (1ULL << 9) | (1ULL << VIRTIO_RING_F_EVENT_IDX);
	struct vbe_dev *d = new_dev(f);

	CHECK_EQ(negotiate(d, F_V1 | (1ULL << 9)), S_ACK | S_DRV | S_FOK);
	CHECK_EQ(vbe_dev_driver_features(d), F_V1 | (1ULL << 9));
	CHECK_EQ(rec.features, F_V1 | (1ULL << 9));
	CHECK(!strcmp(rec.log, "XF"));
	/* driver features cannot change after FEATURES_OK */
	set_driver_features(d, F_V1);
	CHECK_EQ(vbe_dev_driver_features(d), F_V1 | (1ULL << 9));
	CHECK_EQ(vbe_dev_invalid_accesses(d), 2);
	wr32(d, VIRTIO_MMIO_STATUS, S_ACK | S_DRV | S_FOK | S_DOK);
	CHECK_EQ(rd32(d, VIRTIO_MMIO_STATUS), S_ACK | S_DRV | S_FOK | S_DOK);
	CHECK(!strcmp(rec.log, "XFD"));
	vbe_dev_free(d);
}

TEST(mmio_features_ok_refused)
{
	struct vbe_dev *d = new_dev(1ULL << 9);

	/* a feature the device does not offer */
	CHECK_EQ(negotiate(d, F_V1 | (1ULL << 10)), S_ACK | S_DRV);
	CHECK_EQ(vbe_dev_driver_features(d), 0);
	/* a transport feature the device does not offer */
	CHECK_EQ(negotiate(d, F_V1 | (1ULL << VIRTIO_F_RING_PACKED)),
		 S_ACK | S_DRV);
	/* no VERSION_1 (a legacy driver) */
	CHECK_EQ(negotiate(d, 1ULL << 9), S_ACK | S_DRV);
	/* a bit above 63, through DriverFeaturesSel 2 */
	wr32(d, VIRTIO_MMIO_STATUS, 0);
	set_driver_features(d, F_V1);
	wr32(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 2);
	wr32(d, VIRTIO_MMIO_DRIVER_FEATURES, 1);
	wr32(d, VIRTIO_MMIO_STATUS, S_ACK | S_DRV | S_FOK);
	CHECK_EQ(rd32(d, VIRTIO_MMIO_STATUS), S_ACK | S_DRV);
	/* the device author refuses */
	rec.refuse = -EINVAL;
	CHECK_EQ(negotiate(d, F_V1 | (1ULL << 9)), S_ACK | S_DRV);
	CHECK_EQ(rec.features, F_V1 | (1ULL << 9));
	/* ... and then accepts a smaller set */
	rec.refuse = 0;
	CHECK_EQ(negotiate(d, F_V1), S_ACK | S_DRV | S_FOK);
	CHECK_EQ(vbe_dev_driver_features(d), F_V1);
	/* DRIVER_OK without FEATURES_OK is refused */
	wr32(d, VIRTIO_MMIO_STATUS, 0);
	wr32(d, VIRTIO_MMIO_STATUS, S_ACK | S_DRV | S_DOK);
	CHECK_EQ(rd32(d, VIRTIO_MMIO_STATUS), S_ACK | S_DRV);
	CHECK(!strchr(rec.log, 'D'));
	vbe_dev_free(d);
}

TEST(mmio_status_rules)
{
	struct vbe_dev *d = new_dev(0);
	uint64_t n;

	CHECK_EQ(negotiate(d, F_V1), S_ACK | S_DRV | S_FOK);
	n = vbe_dev_invalid_accesses(d);
	/* clearing bits other than by reset is ignored */
	wr32(d, VIRTIO_MMIO_STATUS, S_ACK);
	CHECK_EQ(rd32(d, VIRTIO_MMIO_STATUS), S_ACK | S_DRV | S_FOK);
	CHECK_EQ(vbe_dev_invalid_accesses(d), n + 1);
	/* the driver cannot set DEVICE_NEEDS_RESET */
	wr32(d, VIRTIO_MMIO_STATUS,
	     S_ACK | S_DRV | S_FOK | VIRTIO_CONFIG_S_NEEDS_RESET);
	CHECK_EQ(rd32(d, VIRTIO_MMIO_STATUS), S_ACK | S_DRV | S_FOK);
	CHECK_EQ(vbe_dev_invalid_accesses(d), n + 2);
	/* FAILED is the driver's to set */
	wr32(d, VIRTIO_MMIO_STATUS,
	     S_ACK | S_DRV | S_FOK | VIRTIO_CONFIG_S_FAILED);
	CHECK_EQ(vbe_dev_status(d),
		 S_ACK | S_DRV | S_FOK | VIRTIO_CONFIG_S_FAILED);
	wr32(d, VIRTIO_MMIO_STATUS, 0);
	CHECK_EQ(rd32(d, VIRTIO_MMIO_STATUS), 0);
	vbe_dev_free(d);
}

TEST(mmio_reset)
{
	struct vbe_dev *d = new_dev(0);
	struct ram r;

	ram_init(&r, d);
	REQUIRE_EQ(vbe_dev_set_irq(d, VIRTBE_IRQ_EDGE, 5, 0, 0), 0);
	CHECK_EQ(negotiate(d, F_V1), S_ACK | S_DRV | S_FOK);
	setup_queue(d, &r, 0);
	setup_queue(d, &r, 1);
	wr32(d, VIRTIO_MMIO_STATUS, S_ACK | S_DRV | S_FOK | S_DOK);
	vbe_dev_notify_used(d);
	wr32(d, VIRTIO_MMIO_QUEUE_SEL, 1);
	wr32(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	rec.log[0] = 0;

	wr32(d, VIRTIO_MMIO_STATUS, 0);
	/* queues are stopped before the reset callback */
	CHECK(!strcmp(rec.log, "Q0-Q1-X"));
	CHECK(!rec.vq[0] && !rec.vq[1]);
	CHECK(!vbe_dev_vq(d, 0) && !vbe_dev_vq(d, 1));
	CHECK_EQ(rd32(d, VIRTIO_MMIO_STATUS), 0);
	CHECK_EQ(rd32(d, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	CHECK_EQ(vbe_dev_driver_features(d), 0);
	/* selectors back to 0 */
	CHECK_EQ(rd32(d, VIRTIO_MMIO_DEVICE_FEATURES), 0);
	CHECK_EQ(rd32(d, VIRTIO_MMIO_QUEUE_READY), 0);
	CHECK_EQ(rd32(d, VIRTIO_MMIO_QUEUE_NUM_MAX), 16);
	/* a reset of a reset device calls reset again, nothing else */
	rec.log[0] = 0;
	wr32(d, VIRTIO_MMIO_STATUS, 0);
	CHECK(!strcmp(rec.log, "X"));
	vbe_dev_free(d);
}

TEST(mmio_queue_setup)
{
	struct vbe_dev *d = new_dev(0);
	struct ram r;
	uint32_t id, len;
	struct iovec iov[4];
	struct vbe_vq_elem elem;
	uint64_t n;

	ram_init(&r, d);
	CHECK_EQ(negotiate(d, F_V1), S_ACK | S_DRV | S_FOK);
	rec.log[0] = 0;
	setup_queue(d, &r, 1);
	CHECK(!strcmp(rec.log, "Q1+"));
	CHECK(rec.vq[1] != NULL);
	CHECK(vbe_dev_vq(d, 1) == rec.vq[1]);
	/* the rings' addresses, for a device that hands them on */
	{
		struct vbe_queue_addr qa;

		REQUIRE_EQ(vbe_dev_queue_addr(d, 1, &qa), 0);
		CHECK_EQ(qa.num, r.v[1].num);
		CHECK_EQ(qa.desc, r.v[1].desc);
		CHECK_EQ(qa.avail, r.v[1].avail);
		CHECK_EQ(qa.used, r.v[1].used);
		CHECK_EQ(vbe_dev_queue_addr(d, 0, &qa), -ENOENT);
		CHECK_EQ(vbe_dev_queue_addr(d, 1000, &qa), -EINVAL);
	}
	CHECK_EQ(rd32(d, VIRTIO_MMIO_QUEUE_READY), 1);
	wr32(d, VIRTIO_MMIO_QUEUE_SEL, 0);
	CHECK_EQ(rd32(d, VIRTIO_MMIO_QUEUE_READY), 0);
	CHECK_EQ(vbe_dev_invalid_accesses(d), 0);

	/* the queue works on the rings the driver gave */
	drv_desc(&r.v[1], 0, G + 0x80000, 64, VRING_DESC_F_WRITE, 0);
	drv_publish(&r.v[1], 0);
	REQUIRE_EQ(vbe_vq_pop(rec.vq[1], iov, 4, &elem), 1);
	CHECK(iov[0].iov_base == r.p + 0x80000);
	CHECK_EQ(vbe_vq_push(rec.vq[1], elem.head, 64), 0);
	REQUIRE_EQ(drv_get_used(&r.v[1], &id, &len), 1);
	CHECK_EQ(len, 64);

	/* queue registers are frozen while the queue is ready */
	n = vbe_dev_invalid_accesses(d);
	queue_regs(d, 1, 4, G, G, G);
	CHECK_EQ(vbe_dev_invalid_accesses(d), n + 7);
	/* writing 1 again changes nothing */
	wr32(d, VIRTIO_MMIO_QUEUE_READY, 1);
	CHECK(!strcmp(rec.log, "Q1+"));
	/* values other than 0 and 1 are invalid */
	wr32(d, VIRTIO_MMIO_QUEUE_READY, 2);
	CHECK_EQ(vbe_dev_invalid_accesses(d), n + 8);
	CHECK_EQ(rd32(d, VIRTIO_MMIO_QUEUE_READY), 1);

	wr32(d, VIRTIO_MMIO_QUEUE_READY, 0);
	CHECK(!strcmp(rec.log, "Q1+Q1-"));
	CHECK_EQ(rd32(d, VIRTIO_MMIO_QUEUE_READY), 0);
	CHECK(vbe_dev_vq(d, 1) == NULL);
	{
		struct vbe_queue_addr qa;

		CHECK_EQ(vbe_dev_queue_addr(d, 1, &qa), -ENOENT);
	}
	/* and it can be set up again */
	setup_queue(d, &r, 1);
	CHECK(!strcmp(rec.log, "Q1+Q1-Q1+"));
	CHECK(!(rd32(d, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET));
	vbe_dev_free(d);
}

TEST(mmio_queue_bad_setup)
{
	static const struct {
		uint32_t num;
		uint64_t desc, avail, used;
	} bad[] = {
		{ 0, G, G + 0x1000, G + 0x2000 },	/* no size */
		{ 12, G, G + 0x1000, G + 0x2000 },	/* not a power of 2 */
		{ 32, G, G + 0x1000, G + 0x2000 },	/* above QueueNumMax */
		{ 16, G - 0x1000, G + 0x1000, G + 0x2000 }, /* outside RAM */
		{ 16, G, G + RAM_SIZE - 8, G + 0x2000 },
		{ 16, G, G + 0x1000, G + RAM_SIZE },
		{ 16, G + 8, G + 0x1000, G + 0x2000 },	/* misaligned */
		{ 16, G, G + 0x1000, 0xfffffffffffffff0ULL }, /* wraps */
	};
	struct vbe_dev *d;
	struct ram r;
	unsigned int i;
	int call;

	for (i = 0; i < VBE_ARRAY_SIZE(bad); i++) {
		d = new_dev(0);
		ram_init(&r, d);
		REQUIRE_EQ(vbe_dev_set_irq(d, VIRTBE_IRQ_EDGE, 5, 0, 0), 0);
		call = vbe_dev_call_fd(d);
		CHECK_EQ(negotiate(d, F_V1), S_ACK | S_DRV | S_FOK);
		wr32(d, VIRTIO_MMIO_STATUS, S_ACK | S_DRV | S_FOK | S_DOK);
		queue_regs(d, 0, bad[i].num, bad[i].desc, bad[i].avail,
			   bad[i].used);
		wr32(d, VIRTIO_MMIO_QUEUE_READY, 1);
		CHECK_EQ(rd32(d, VIRTIO_MMIO_QUEUE_READY), 0);
		CHECK(rd32(d, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
		CHECK(rec.vq[0] == NULL);
		/* the driver is told through a config change interrupt */
		CHECK_EQ(rd32(d, VIRTIO_MMIO_INTERRUPT_STATUS),
			 VIRTIO_MMIO_INT_CONFIG);
		CHECK_EQ(eventfd_count(call), 1);
		/* a reset clears it */
		wr32(d, VIRTIO_MMIO_STATUS, 0);
		CHECK_EQ(rd32(d, VIRTIO_MMIO_STATUS), 0);
		vbe_dev_free(d);
		vbe_memtab_free(r.mt);
		free(r.p);
	}

	/* QueueReady before FEATURES_OK is ignored, not fatal */
	d = new_dev(0);
	ram_init(&r, d);
	wr32(d, VIRTIO_MMIO_STATUS, S_ACK | S_DRV);
	setup_queue(d, &r, 0);
	CHECK_EQ(rd32(d, VIRTIO_MMIO_QUEUE_READY), 0);
	CHECK_EQ(rd32(d, VIRTIO_MMIO_STATUS), S_ACK | S_DRV);
	/* a queue that does not exist */
	negotiate(d, F_V1);
	wr32(d, VIRTIO_MMIO_QUEUE_SEL, 2);
	wr32(d, VIRTIO_MMIO_QUEUE_NUM, 16);
	wr32(d, VIRTIO_MMIO_QUEUE_READY, 1);
	CHECK_EQ(rd32(d, VIRTIO_MMIO_QUEUE_READY), 0);
	CHECK_EQ(rd32(d, VIRTIO_MMIO_STATUS), S_ACK | S_DRV | S_FOK);
	CHECK_EQ(vbe_dev_invalid_accesses(d), 3);
	/* no memory table at all */
	vbe_dev_free(d);
	d = new_dev(0);
	negotiate(d, F_V1);
	queue_regs(d, 0, 16, G, G + 0x1000, G + 0x2000);
	wr32(d, VIRTIO_MMIO_QUEUE_READY, 1);
	CHECK(rd32(d, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
	vbe_dev_free(d);
}

TEST(mmio_queue_notify_through_channel)
{
	struct vbe_dev *d = new_dev(0);
	struct ram r;

	ram_init(&r, d);
	negotiate(d, F_V1);
	/* not ready: nothing to notify */
	wr32(d, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	CHECK_EQ(rec.notify[0], 0);
	setup_queue(d, &r, 0);
	wr32(d, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	wr32(d, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	CHECK_EQ(rec.notify[0], 2);
	CHECK_EQ(rec.notify[1], 0);
	wr32(d, VIRTIO_MMIO_QUEUE_NOTIFY, 2);
	CHECK_EQ(vbe_dev_invalid_accesses(d), 1);
	vbe_dev_free(d);
}

TEST(mmio_kick_fd)
{
	struct vbe_dev *d = new_dev(0);
	uint64_t one = 1;
	struct ram r;

	ram_init(&r, d);
	negotiate(d, F_V1);
	CHECK_EQ(vbe_dev_handle_kick(d, 0), 0);
	/* a kick for a queue that is not ready is drained and dropped */
	CHECK_EQ(write(vbe_dev_kick_fd(d, 0), &one, 8), 8);
	CHECK_EQ(vbe_dev_handle_kick(d, 0), 0);
	CHECK_EQ(rec.notify[0], 0);
	setup_queue(d, &r, 0);
	CHECK_EQ(write(vbe_dev_kick_fd(d, 0), &one, 8), 8);
	CHECK_EQ(write(vbe_dev_kick_fd(d, 0), &one, 8), 8);
	CHECK_EQ(vbe_dev_handle_kick(d, 0), 1);
	CHECK_EQ(rec.notify[0], 1);
	CHECK_EQ(vbe_dev_handle_kick(d, 0), 0);
	CHECK_EQ(rec.notify[0], 1);
	vbe_dev_free(d);
}

TEST(mmio_config_space)
{
	struct vbe_dev *d = new_dev(0);
	uint8_t b[4];
	uint64_t n;

	CHECK_EQ(rd(d, 0x100, 1), 0x11);
	CHECK_EQ(rd(d, 0x101, 1), 0x22);
	CHECK_EQ(rd(d, 0x102, 2), 0x4433);
	CHECK_EQ(rd(d, 0x104, 4), 0x88776655);
	CHECK_EQ(rd(d, 0x10c, 4), 0x00ffeedd);
	CHECK_EQ(vbe_dev_invalid_accesses(d), 0);
	/* 64-bit, misaligned, beyond the config buffer */
	CHECK_EQ(rd(d, 0x100, 8), 0);
	CHECK_EQ(rd(d, 0x101, 2), 0);
	CHECK_EQ(rd(d, 0x102, 4), 0);
	CHECK_EQ(rd(d, 0x110, 1), 0);
	CHECK_EQ(rd(d, 0x1fc, 4), 0);
	CHECK_EQ(vbe_dev_invalid_accesses(d), 5);

	/* the author accepts writes: they are stored */
	wr(d, 0x104, 2, 0xabcd);
	CHECK_EQ(rec.cfg_writes, 1);
	CHECK_EQ(rec.cfg_off, 4);
	CHECK_EQ(rec.cfg_len, 2);
	CHECK_EQ(rec.cfg_val, 0xabcd);
	CHECK_EQ(rd(d, 0x104, 4), 0x8877abcd);
	CHECK_EQ(vbe_dev_config_get(d, 4, b, 4), 0);
	CHECK_EQ(b[0], 0xcd);
	CHECK_EQ(b[3], 0x88);
	/* ... or refuses them */
	rec.cfg_write_ret = -EPERM;
	n = vbe_dev_invalid_accesses(d);
	wr(d, 0x104, 1, 0x00);
	CHECK_EQ(rd(d, 0x104, 1), 0xcd);
	CHECK_EQ(vbe_dev_invalid_accesses(d), n + 1);
	/* driver writes do not change the generation */
	CHECK_EQ(rd32(d, VIRTIO_MMIO_CONFIG_GENERATION), 0);
	CHECK_EQ(vbe_dev_config_get(d, 14, b, 4), -EINVAL);
	CHECK_EQ(vbe_dev_config_update(d, 14, b, 4), -EINVAL);
	CHECK_EQ(vbe_dev_config_update(d, UINT32_MAX, b, 4), -EINVAL);
	vbe_dev_free(d);

	/* without a config_write callback writes are ignored */
	REQUIRE_EQ(vbe_dev_new(BASE, SIZE, 1, 1, 4, &d), 0);
	REQUIRE_EQ(vbe_dev_set_config(d, cfg, sizeof(cfg)), 0);
	wr(d, 0x100, 4, 0);
	CHECK_EQ(rd(d, 0x100, 4), 0x44332211);
	CHECK_EQ(vbe_dev_invalid_accesses(d), 1);
	vbe_dev_free(d);
}

static int cb_config_read(struct vbe_dev *dev, uint32_t off, uint32_t len,
			  uint64_t *val)
{
	(void)dev;
	if (off >= 8)
		return -EINVAL;
	*val = 0x0102030405060708ULL >> (8 * off);
	*val &= len == 4 ? 0xffffffff : len == 2 ? 0xffff : 0xff;
	return 0;
}

TEST(mmio_config_read_callback)
{
	const struct vbe_dev_ops o = { .config_read = cb_config_read };
	struct vbe_dev *d;

	REQUIRE_EQ(vbe_dev_new(BASE, SIZE, 1, 1, 4, &d), 0);
	REQUIRE_EQ(vbe_dev_set_ops(d, &o, NULL), 0);
	CHECK_EQ(rd(d, 0x100, 4), 0x05060708);
	CHECK_EQ(rd(d, 0x104, 4), 0x01020304);
	CHECK_EQ(rd(d, 0x101, 1), 0x07);
	CHECK_EQ(rd(d, 0x108, 4), 0);
	/* the callback's own changes are announced with config_changed */
	CHECK_EQ(vbe_dev_config_changed(d), 0);
	CHECK_EQ(rd32(d, VIRTIO_MMIO_CONFIG_GENERATION), 1);
	vbe_dev_free(d);
}

TEST(mmio_config_update_generation)
{
	struct vbe_dev *d = new_dev(0);
	const uint8_t nb[2] = { 0x01, 0x02 };
	int call;

	REQUIRE_EQ(vbe_dev_set_irq(d, VIRTBE_IRQ_EDGE, 5, 0, 0), 0);
	call = vbe_dev_call_fd(d);
	/* before DRIVER_OK: new generation, no interrupt */
	CHECK_EQ(vbe_dev_config_update(d, 2, nb, 2), 0);
	CHECK_EQ(rd32(d, VIRTIO_MMIO_CONFIG_GENERATION), 1);
	CHECK_EQ(rd(d, 0x102, 2), 0x0201);
	CHECK_EQ(rd32(d, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	CHECK_EQ(eventfd_count(call), 0);
	negotiate(d, F_V1);
	wr32(d, VIRTIO_MMIO_STATUS, S_ACK | S_DRV | S_FOK | S_DOK);
	/* after: bit 1 set before the call fd is signalled */
	CHECK_EQ(vbe_dev_config_update(d, 0, nb, 1), 0);
	CHECK_EQ(rd32(d, VIRTIO_MMIO_CONFIG_GENERATION), 2);
	CHECK_EQ(eventfd_count(call), 1);
	CHECK_EQ(rd32(d, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_CONFIG);
	CHECK_EQ(vbe_dev_config_changed(d), 0);
	CHECK_EQ(rd32(d, VIRTIO_MMIO_CONFIG_GENERATION), 3);
	CHECK_EQ(eventfd_count(call), 1);
	/* a reset does not go back to an old generation */
	wr32(d, VIRTIO_MMIO_STATUS, 0);
	CHECK_EQ(rd32(d, VIRTIO_MMIO_CONFIG_GENERATION), 3);
	vbe_dev_free(d);
}

TEST(mmio_interrupt_status_ack)
{
	struct vbe_dev *d = new_dev(0);
	int call;

	/* no interrupt configured: the bit is set, -ENOENT */
	CHECK_EQ(vbe_dev_notify_used(d), -ENOENT);
	CHECK_EQ(rd32(d, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_VRING);
	wr32(d, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
	REQUIRE_EQ(vbe_dev_set_irq(d, VIRTBE_IRQ_EDGE, 5, 0, 0), 0);
	CHECK_EQ(vbe_dev_set_irq(d, VIRTBE_IRQ_EDGE, 5, 0, 0), -EBUSY);
	call = vbe_dev_call_fd(d);
	CHECK(call >= 0);

	CHECK_EQ(vbe_dev_notify_used(d), 0);
	CHECK_EQ(vbe_dev_interrupt_status(d), 1);
	CHECK_EQ(vbe_dev_notify_config(d), 0);
	CHECK_EQ(rd32(d, VIRTIO_MMIO_INTERRUPT_STATUS), 3);
	CHECK_EQ(eventfd_count(call), 2);
	/* ACK clears exactly the acknowledged bits */
	wr32(d, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_CONFIG);
	CHECK_EQ(rd32(d, VIRTIO_MMIO_INTERRUPT_STATUS), 1);
	wr32(d, VIRTIO_MMIO_INTERRUPT_ACK, 0);
	CHECK_EQ(rd32(d, VIRTIO_MMIO_INTERRUPT_STATUS), 1);
	wr32(d, VIRTIO_MMIO_INTERRUPT_ACK, 0xffffffff);
	CHECK_EQ(rd32(d, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	/* an edge interrupt has no resample fd */
	CHECK_EQ(vbe_dev_handle_resample(d), -ENOENT);
	vbe_dev_free(d);
}

TEST(mmio_needs_reset)
{
	struct vbe_dev *d = new_dev(0);
	int call;

	REQUIRE_EQ(vbe_dev_set_irq(d, VIRTBE_IRQ_EDGE, 5, 0, 0), 0);
	call = vbe_dev_call_fd(d);
	/* before DRIVER_OK: the bit, but no interrupt */
	vbe_dev_set_needs_reset(d);
	CHECK_EQ(rd32(d, VIRTIO_MMIO_STATUS), VIRTIO_CONFIG_S_NEEDS_RESET);
	CHECK_EQ(eventfd_count(call), 0);
	wr32(d, VIRTIO_MMIO_STATUS, 0);
	negotiate(d, F_V1);
	wr32(d, VIRTIO_MMIO_STATUS, S_ACK | S_DRV | S_FOK | S_DOK);
	vbe_dev_set_needs_reset(d);
	vbe_dev_set_needs_reset(d);
	CHECK_EQ(rd32(d, VIRTIO_MMIO_STATUS),
		 S_ACK | S_DRV | S_FOK | S_DOK | VIRTIO_CONFIG_S_NEEDS_RESET);
	CHECK_EQ(rd32(d, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_CONFIG);
	CHECK_EQ(eventfd_count(call), 1);
	/* the driver writing its status back keeps the bit */
	wr32(d, VIRTIO_MMIO_STATUS, S_ACK | S_DRV | S_FOK | S_DOK);
	CHECK(rd32(d, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
	vbe_dev_free(d);
}

TEST(mmio_set_irq_validation)
{
	struct vbe_dev *d;

	REQUIRE_EQ(vbe_dev_new(BASE, SIZE, 1, 1, 4, &d), 0);
	CHECK_EQ(vbe_dev_set_irq(d, 0, 5, 0, 0), -EINVAL);
	CHECK_EQ(vbe_dev_set_irq(d, 5, 5, 0, 0), -EINVAL);
	CHECK_EQ(vbe_dev_set_irq(d, VIRTBE_IRQ_EDGE, 5, 0xfee00000, 0),
		 -EINVAL);
	CHECK_EQ(vbe_dev_set_irq(d, VIRTBE_IRQ_LEVEL, 5, 0, 1), -EINVAL);
	CHECK_EQ(vbe_dev_set_irq(d, VIRTBE_IRQ_MSI, 5, 0xfee00000, 1), -EINVAL);
	CHECK_EQ(vbe_dev_call_fd(d), -ENOENT);
	CHECK_EQ(vbe_dev_set_irq(d, VIRTBE_IRQ_MSI, 0, 0xfee00000, 0x41), 0);
	CHECK(vbe_dev_call_fd(d) >= 0);
	CHECK_EQ(vbe_dev_resample_fd(d), -ENOENT);
	vbe_dev_free(d);
}

TEST(mmio_level_resample)
{
	struct vbe_dev *d = new_dev(0);
	uint64_t one = 1;
	int call, rs;

	REQUIRE_EQ(vbe_dev_set_irq(d, VIRTBE_IRQ_LEVEL, 7, 0, 0), 0);
	call = vbe_dev_call_fd(d);
	rs = vbe_dev_resample_fd(d);
	REQUIRE(rs >= 0);
	CHECK_EQ(vbe_dev_handle_resample(d), 0);	/* nothing pending */
	vbe_dev_notify_used(d);
	CHECK_EQ(eventfd_count(call), 1);
	/* EOI while the status is still set: asserted again */
	CHECK_EQ(write(rs, &one, 8), 8);
	CHECK_EQ(vbe_dev_handle_resample(d), 1);
	CHECK_EQ(eventfd_count(call), 1);
	CHECK_EQ(eventfd_count(rs), 0);
	/* EOI after the ACK: stays low */
	wr32(d, VIRTIO_MMIO_INTERRUPT_ACK, 1);
	CHECK_EQ(write(rs, &one, 8), 8);
	CHECK_EQ(vbe_dev_handle_resample(d), 0);
	CHECK_EQ(eventfd_count(call), 0);
	vbe_dev_free(d);
}

/*
 * InterruptStatus against interrupts, under races.  A device thread raises
 * used-buffer and config interrupts; the guest (this thread) spins on the
 * call eventfd and, on each signal, reads InterruptStatus, acks what it
 * read and then "processes" the bits, as Linux's vm_interrupt() does.
 * Every notify is an episode: the device publishes a sequence number for
 * the bit and notifies; before the next episode of the same bit it waits
 * until the guest has processed that bit after that number, while episodes
 * of the other bit overlap the guest's ACKs.  A bit set after (instead
 * of before) the eventfd write, or an ACK that is not an atomic AND, leaves
 * an episode without an interrupt the guest can see: it times out.
 *
 * With @level, the irqfd behaves as a level line: signals that arrive while
 * the line is asserted (from the guest's wakeup to its EOI) are absorbed,
 * and only vbe_dev_handle_resample() (run by a third thread on the
 * resample eventfd) can bring a late bit to the guest's attention.
 */
struct race {
	struct vbe_dev *dev;
	unsigned int n;
	unsigned int seq[2];	/* per bit: the current episode's number */
	unsigned int seen[2];	/* per bit: the latest number the guest saw */
	bool stop;
	bool failed;
	unsigned int failed_at;
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Wait until the guest saw episode @i of @bit; false after 5 s. */
static bool wait_seen(struct race *r, unsigned int bit, unsigned int i)
{
	uint64_t deadline = now_ms() + 5000;

	while (__atomic_load_n(&r->seen[bit], __ATOMIC_SEQ_CST) < i) {
		sched_yield();
		if (now_ms() > deadline) {
			r->failed_at = i;
			__atomic_store_n(&r->failed, true, __ATOMIC_SEQ_CST);
			return false;
		}
	}
	return true;
}

static void *notifier(void *arg)
{
	struct race *r = arg;
	uint64_t end = now_ms() + 1500;
	unsigned int i, bit, prev[2] = { 0, 0 };

	/*
	 * At most n episodes, at most 1.5 s.  One episode per bit may be
	 * outstanding, so a notify of one bit overlaps the guest's ACK and
	 * processing of the other.
	 */
	for (i = 1; i <= r->n && now_ms() < end; i++) {
		bit = (i % 3) == 0;	/* 2/3 used buffer, 1/3 config */
		if (!wait_seen(r, bit, prev[bit]))
			goto out;
		__atomic_store_n(&r->seq[bit], i, __ATOMIC_SEQ_CST);
		if (bit)
			vbe_dev_notify_config(r->dev);
		else
			vbe_dev_notify_used(r->dev);
		prev[bit] = i;
	}
	if (wait_seen(r, 0, prev[0]))
		wait_seen(r, 1, prev[1]);
out:
	r->n = i - 1;
	__atomic_store_n(&r->stop, true, __ATOMIC_SEQ_CST);
	return NULL;
}

static void *resampler(void *arg)
{
	struct race *r = arg;
	struct pollfd p = { .fd = vbe_dev_resample_fd(r->dev),
			    .events = POLLIN };

	while (!__atomic_load_n(&r->stop, __ATOMIC_SEQ_CST)) {
		if (poll(&p, 1, 100) == 1)
			vbe_dev_handle_resample(r->dev);
	}
	return NULL;
}

static void isr_race(bool level)
{
	struct race r = { .n = 100000 };
	pthread_t tn, tr;
	unsigned int wakeups = 0, b;
	uint32_t isr;
	uint64_t one = 1;
	int call;

	REQUIRE_EQ(vbe_dev_new(BASE, SIZE, 1, 1, 4, &r.dev), 0);
	REQUIRE_EQ(vbe_dev_set_irq(r.dev, level ? VIRTBE_IRQ_LEVEL :
				   VIRTBE_IRQ_EDGE, 5, 0, 0), 0);
	call = vbe_dev_call_fd(r.dev);
	if (level)
		REQUIRE_EQ(pthread_create(&tr, NULL, resampler, &r), 0);
	REQUIRE_EQ(pthread_create(&tn, NULL, notifier, &r), 0);

	while (!__atomic_load_n(&r.stop, __ATOMIC_SEQ_CST)) {
		if (!eventfd_count(call)) {	/* non-blocking: spin */
			sched_yield();
			continue;
		}
		wakeups++;
		while ((isr = rd32(r.dev, VIRTIO_MMIO_INTERRUPT_STATUS))) {
			wr32(r.dev, VIRTIO_MMIO_INTERRUPT_ACK, isr);
			/* process after the ACK, as drivers do */
			for (b = 0; b < 2; b++)
				if (isr & (1U << b))
					__atomic_store_n(&r.seen[b],
						__atomic_load_n(&r.seq[b],
							__ATOMIC_SEQ_CST),
						__ATOMIC_SEQ_CST);
		}
		if (level) {
			/* still asserted: these signals are absorbed */
			eventfd_count(call);
			/* EOI: the line is lowered, the kernel resamples */
			if (write(vbe_dev_resample_fd(r.dev), &one, 8) != 8)
				harness_fail(__FILE__, __LINE__, "resample");
		}
	}
	pthread_join(tn, NULL);
	if (level)
		pthread_join(tr, NULL);
	if (r.failed)
		harness_fail(__FILE__, __LINE__,
			     "interrupt lost in episode %u: isr %u",
			     r.failed_at, vbe_dev_interrupt_status(r.dev));
	printf("# %u episodes, %u wakeups\n", r.n, wakeups);
	vbe_dev_free(r.dev);
}

TEST(mmio_isr_race_edge)
{
	isr_race(false);
}

TEST(mmio_isr_race_level)
{
	isr_race(true);
}

/* With a guest, through the fake kernel. */

static struct vbe_guest *attach_guest(struct vbe_ctl **ctl)
{
	struct vbe_guest *g;

	vbe__ctl_path = "/dev/null";
	REQUIRE_EQ(vbe_ctl_open(ctl), 0);
	REQUIRE_EQ(vbe_guest_attach(*ctl, VIRTBE_HYP_SIM, 1, 0, &g), 0);
	return g;
}

/* One vCPU access through the request channel and vbe_guest_process(). */
static uint64_t guest_access(struct vbe_guest *g, uint64_t addr, uint32_t len,
			     bool write, uint64_t data)
{
	struct virtbe_completion c;
	uint64_t id, val = 0;
	int ret;

	ret = fake_access(0, addr, len, write, data, &id, &val);
	REQUIRE(ret >= 0);
	if (ret == FAKE_ACCESS_KERNEL)
		return val;	/* InterruptStatus/ACK, kept by the kernel */
	if (ret == 1)
		return 0;	/* consumed by an ioeventfd */
	REQUIRE_EQ(vbe_guest_process(g), 1);
	REQUIRE_EQ(fake_recv_completion(&c, 1000), 0);
	CHECK_EQ(c.id, id);
	CHECK_EQ(c.size, sizeof(c));
	CHECK_EQ(c.flags, 0);
	return c.data;
}

static const struct fake_irqfd *irqfd_of(int fd)
{
	unsigned int i;

	for (i = 0; i < fake.nirq; i++)
		if (fake.irq[i].fd == fd)
			return &fake.irq[i];
	return NULL;
}

/* A fresh guest of the fake kernel; @old: without VIRTBE_F_VIRTIO_MMIO_ISR. */
static struct vbe_guest *fresh_guest(struct vbe_ctl **ctl, bool old)
{
	fake_reset();
	if (fake.guest_fd >= 0) {
		close(fake.peer_fd);
		fake.guest_fd = -1;
	}
	fake.no_vmmio_isr = old;
	return attach_guest(ctl);
}

TEST(mmio_attach_claims_range_and_irqfd)
{
	static const uint32_t types[] = {
		VIRTBE_IRQ_EDGE, VIRTBE_IRQ_LEVEL, VIRTBE_IRQ_EVTCHN,
		VIRTBE_IRQ_MSI,
	};
	const struct fake_irqfd *e, *c;
	struct vbe_ctl *ctl;
	struct vbe_guest *g;
	struct vbe_dev *d;
	unsigned int i, old;

	/* old 0: the kernel keeps InterruptStatus; old 1: an older kernel */
	for (old = 0; old < 2; old++) {
		for (i = 0; i < VBE_ARRAY_SIZE(types); i++) {
			g = fresh_guest(&ctl, old);
			d = new_dev(0);
			REQUIRE_EQ(vbe_dev_set_irq(d, types[i],
				   types[i] == VIRTBE_IRQ_MSI ? 0 : 33,
				   types[i] == VIRTBE_IRQ_MSI ? 0xfee00000 : 0,
				   types[i] == VIRTBE_IRQ_MSI ? 7 : 0), 0);
			CHECK(!vbe_dev_kernel_isr(d));
			CHECK_EQ(vbe_dev_config_call_fd(d), -ENOENT);
			REQUIRE_EQ(vbe_dev_attach(d, g), 0);
			CHECK_EQ(vbe_dev_attach(d, g), -EBUSY);
			CHECK_EQ(vbe_dev_set_features(d, 0), -EBUSY);
			CHECK_EQ(vbe_dev_set_config(d, cfg, 4), -EBUSY);
			CHECK_EQ(fake.nranges, 1);
			CHECK_EQ(fake.ranges[0].addr, BASE);
			CHECK_EQ(fake.ranges[0].len, SIZE);
			REQUIRE_EQ(fake.nirq, old ? 1 : 2);
			CHECK_EQ(vbe_dev_kernel_isr(d), !old);
			e = irqfd_of(vbe_dev_call_fd(d));
			REQUIRE(e);
			CHECK_EQ(e->type, types[i]);
			if (types[i] == VIRTBE_IRQ_LEVEL)
				CHECK_EQ(e->resamplefd, vbe_dev_resample_fd(d));
			else
				CHECK_EQ((int)e->resamplefd, -1);
			if (types[i] == VIRTBE_IRQ_MSI) {
				CHECK_EQ(e->msi_addr, 0xfee00000);
				CHECK_EQ(e->msi_data, 7);
			} else {
				CHECK_EQ(e->irq, 33);
			}
			if (old) {
				CHECK_EQ(e->flags, 0);
				CHECK_EQ(e->isr_bits, 0);
				CHECK_EQ(e->vmmio_base, 0);
				CHECK_EQ(vbe_dev_config_call_fd(d), -ENOENT);
			} else {
				CHECK_EQ(e->flags, VIRTBE_IRQFD_VIRTIO_MMIO);
				CHECK_EQ(e->isr_bits, VIRTBE_VIRTIO_ISR_USED);
				CHECK_EQ(e->vmmio_base, BASE);
				/* the config call fd: same interrupt */
				REQUIRE(vbe_dev_config_call_fd(d) >= 0);
				c = irqfd_of(vbe_dev_config_call_fd(d));
				REQUIRE(c && c != e);
				CHECK_EQ(c->flags, VIRTBE_IRQFD_VIRTIO_MMIO);
				CHECK_EQ(c->isr_bits, VIRTBE_VIRTIO_ISR_CONFIG);
				CHECK_EQ(c->vmmio_base, BASE);
				CHECK_EQ(c->type, e->type);
				CHECK_EQ(c->irq, e->irq);
				CHECK_EQ(c->msi_addr, e->msi_addr);
				CHECK_EQ(c->msi_data, e->msi_data);
				CHECK_EQ(c->resamplefd, e->resamplefd);
				CHECK_EQ(fake.nvmmio, 1);
			}
			vbe_dev_detach(d);
			CHECK_EQ(fake.nranges, 0);
			CHECK_EQ(fake.nirq, 0);
			CHECK_EQ(fake.nvmmio, 0);
			CHECK(!vbe_dev_kernel_isr(d));
			CHECK_EQ(vbe_dev_config_call_fd(d), -ENOENT);
			vbe_dev_detach(d);	/* twice is harmless */
			vbe_dev_free(d);
			vbe_guest_close(g);
			vbe_ctl_close(ctl);
		}
	}
}

TEST(mmio_set_irq_after_attach)
{
	struct vbe_ctl *ctl;
	struct vbe_guest *g = attach_guest(&ctl);
	struct vbe_dev *d = new_dev(0);

	REQUIRE_EQ(vbe_dev_attach(d, g), 0);
	CHECK_EQ(fake.nirq, 0);
	REQUIRE_EQ(vbe_dev_set_irq(d, VIRTBE_IRQ_EVTCHN, 9, 0, 0), 0);
	CHECK_EQ(fake.nirq, 2);
	CHECK_EQ(fake.irq[0].irq, 9);
	CHECK_EQ(fake.irq[1].irq, 9);
	CHECK(vbe_dev_kernel_isr(d));
	vbe_dev_free(d);	/* detaches */
	CHECK_EQ(fake.nirq, 0);
	CHECK_EQ(fake.nranges, 0);
	vbe_guest_close(g);
	vbe_ctl_close(ctl);
}

/* The guest's InterruptStatus read and ACK, answered by the fake kernel. */
static uint32_t kisr(uint64_t base)
{
	uint64_t v = 0xdeadbeef;

	REQUIRE_EQ(fake_access(0, base + VIRTIO_MMIO_INTERRUPT_STATUS, 4,
			       false, 0, NULL, &v), FAKE_ACCESS_KERNEL);
	return (uint32_t)v;
}

static void kack(uint64_t base, uint32_t bits)
{
	REQUIRE_EQ(fake_access(0, base + VIRTIO_MMIO_INTERRUPT_ACK, 4, true,
			       bits, NULL, NULL), FAKE_ACCESS_KERNEL);
}

static void signal_fd(int fd)
{
	uint64_t one = 1;

	REQUIRE_EQ(write(fd, &one, sizeof(one)), sizeof(one));
}

/* A vhost-user daemon (another process) writes the call fds directly. */
TEST(mmio_kernel_isr_direct_writes)
{
	struct vbe_ctl *ctl;
	struct vbe_guest *g = attach_guest(&ctl);
	struct vbe_dev *d = new_dev(0);
	uint64_t requests;
	int call, cfgcall, st;
	pid_t pid;

	REQUIRE_EQ(vbe_dev_set_irq(d, VIRTBE_IRQ_EDGE, 5, 0, 0), 0);
	REQUIRE_EQ(vbe_dev_attach(d, g), 0);
	REQUIRE(vbe_dev_kernel_isr(d));
	call = vbe_dev_call_fd(d);
	cfgcall = vbe_dev_config_call_fd(d);
	REQUIRE(call >= 0 && cfgcall >= 0 && call != cfgcall);
	requests = fake.stats.out_requests;

	CHECK_EQ(kisr(BASE), 0);
	CHECK_EQ(fake_irq_wait(VIRTBE_IRQ_EDGE, 5, 0), -ETIMEDOUT);
	pid = fork();
	REQUIRE(pid >= 0);
	if (!pid) {
		uint64_t one = 1;

		_exit(write(call, &one, 8) == 8 ? 0 : 1);
	}
	REQUIRE_EQ(waitpid(pid, &st, 0), pid);
	CHECK_EQ(st, 0);
	CHECK_EQ(fake_irq_wait(VIRTBE_IRQ_EDGE, 5, 1000), 1);
	CHECK_EQ(kisr(BASE), VIRTIO_MMIO_INT_VRING);
	signal_fd(cfgcall);
	CHECK_EQ(fake_irq_wait(VIRTBE_IRQ_EDGE, 5, 1000), 1);
	CHECK_EQ(kisr(BASE), VIRTIO_MMIO_INT_VRING | VIRTIO_MMIO_INT_CONFIG);
	/* ACK clears exactly the acknowledged bits */
	kack(BASE, VIRTIO_MMIO_INT_VRING);
	CHECK_EQ(kisr(BASE), VIRTIO_MMIO_INT_CONFIG);
	kack(BASE, 0);
	CHECK_EQ(kisr(BASE), VIRTIO_MMIO_INT_CONFIG);
	kack(BASE, 0xffffffff);
	CHECK_EQ(kisr(BASE), 0);
	/* none of this reached the library */
	CHECK_EQ(fake.stats.out_requests, requests);
	CHECK_EQ(vbe_guest_process(g), 0);
	CHECK_EQ(vbe_dev_interrupt_status(d), 0);
	CHECK_EQ(vbe_dev_invalid_accesses(d), 0);
	vbe_dev_free(d);
	vbe_guest_close(g);
	vbe_ctl_close(ctl);
}

TEST(mmio_kernel_isr_notify)
{
	struct vbe_ctl *ctl;
	struct vbe_guest *g = attach_guest(&ctl);
	struct vbe_dev *d = new_dev(0);
	const uint8_t nb = 0x5a;
	uint32_t gen;

	REQUIRE_EQ(vbe_dev_set_irq(d, VIRTBE_IRQ_EDGE, 5, 0, 0), 0);
	REQUIRE_EQ(vbe_dev_attach(d, g), 0);
	REQUIRE(vbe_dev_kernel_isr(d));
	negotiate(d, F_V1);
	wr32(d, VIRTIO_MMIO_STATUS, S_ACK | S_DRV | S_FOK | S_DOK);
	gen = (uint32_t)guest_access(g, BASE + VIRTIO_MMIO_CONFIG_GENERATION,
				     4, false, 0);

	CHECK_EQ(vbe_dev_notify_used(d), 0);
	CHECK_EQ(fake_irq_wait(VIRTBE_IRQ_EDGE, 5, 1000), 1);
	CHECK_EQ(kisr(BASE), VIRTIO_MMIO_INT_VRING);
	CHECK_EQ(vbe_dev_interrupt_status(d), 0);	/* not ours to keep */
	kack(BASE, VIRTIO_MMIO_INT_VRING);
	/* a config change: new generation, then the config call fd */
	CHECK_EQ(vbe_dev_notify_config(d), 0);
	CHECK_EQ(guest_access(g, BASE + VIRTIO_MMIO_CONFIG_GENERATION, 4,
			      false, 0), gen + 1);
	CHECK_EQ(fake_irq_wait(VIRTBE_IRQ_EDGE, 5, 1000), 1);
	CHECK_EQ(kisr(BASE), VIRTIO_MMIO_INT_CONFIG);
	kack(BASE, VIRTIO_MMIO_INT_CONFIG);
	/* an update of the buffer: one new generation, the config bit */
	CHECK_EQ(vbe_dev_config_update(d, 0, &nb, 1), 0);
	CHECK_EQ(guest_access(g, BASE + VIRTIO_MMIO_CONFIG_GENERATION, 4,
			      false, 0), gen + 2);
	CHECK_EQ(guest_access(g, BASE + VIRTIO_MMIO_CONFIG, 1, false, 0),
		 0x5a);
	CHECK_EQ(fake_irq_wait(VIRTBE_IRQ_EDGE, 5, 1000), 1);
	CHECK_EQ(kisr(BASE), VIRTIO_MMIO_INT_CONFIG);
	kack(BASE, VIRTIO_MMIO_INT_CONFIG);
	CHECK_EQ(vbe_dev_config_changed(d), 0);
	CHECK_EQ(rd32(d, VIRTIO_MMIO_CONFIG_GENERATION), gen + 3);
	CHECK_EQ(kisr(BASE), VIRTIO_MMIO_INT_CONFIG);
	kack(BASE, VIRTIO_MMIO_INT_CONFIG);
	/* DEVICE_NEEDS_RESET: the config bit, no new generation */
	vbe_dev_set_needs_reset(d);
	CHECK_EQ(kisr(BASE), VIRTIO_MMIO_INT_CONFIG);
	CHECK_EQ(rd32(d, VIRTIO_MMIO_CONFIG_GENERATION), gen + 3);
	CHECK_EQ(fake_irq_wait(VIRTBE_IRQ_EDGE, 5, 1000), 2);
	CHECK_EQ(vbe_dev_interrupt_status(d), 0);
	vbe_dev_free(d);
	vbe_guest_close(g);
	vbe_ctl_close(ctl);
}

TEST(mmio_kernel_isr_level_resample)
{
	struct vbe_ctl *ctl;
	struct vbe_guest *g = attach_guest(&ctl);
	struct vbe_dev *d = new_dev(0);
	struct pollfd p;

	REQUIRE_EQ(vbe_dev_set_irq(d, VIRTBE_IRQ_LEVEL, 7, 0, 0), 0);
	REQUIRE_EQ(vbe_dev_attach(d, g), 0);
	REQUIRE(vbe_dev_kernel_isr(d));
	p = (struct pollfd){ .fd = vbe_dev_resample_fd(d), .events = POLLIN };
	CHECK_EQ(vbe_dev_notify_used(d), 0);
	CHECK_EQ(fake_irq_wait(VIRTBE_IRQ_LEVEL, 7, 1000), 1);
	/* EOI without the ACK: the kernel raises the line again */
	fake_eoi(VIRTBE_IRQ_LEVEL, 7);
	CHECK_EQ(fake_irq_wait(VIRTBE_IRQ_LEVEL, 7, 1000), 1);
	CHECK_EQ(poll(&p, 1, 0), 1);
	/* the library only drains the resample fd */
	CHECK_EQ(vbe_dev_handle_resample(d), 0);
	CHECK_EQ(poll(&p, 1, 0), 0);
	CHECK_EQ(fake_irq_wait(VIRTBE_IRQ_LEVEL, 7, 50), -ETIMEDOUT);
	/* ACK, then EOI: the line stays low */
	kack(BASE, VIRTIO_MMIO_INT_VRING);
	fake_eoi(VIRTBE_IRQ_LEVEL, 7);
	CHECK_EQ(vbe_dev_handle_resample(d), 0);
	CHECK_EQ(poll(&p, 1, 0), 0);
	CHECK_EQ(fake_irq_wait(VIRTBE_IRQ_LEVEL, 7, 50), -ETIMEDOUT);
	/* a config change on a level line */
	CHECK_EQ(vbe_dev_notify_config(d), 0);
	CHECK_EQ(fake_irq_wait(VIRTBE_IRQ_LEVEL, 7, 1000), 1);
	CHECK_EQ(kisr(BASE), VIRTIO_MMIO_INT_CONFIG);
	vbe_dev_free(d);
	vbe_guest_close(g);
	vbe_ctl_close(ctl);
}

static int irqfd_ioctls;

static int hook_count_irqfd(int fd, unsigned long cmd, void *arg)
{
	(void)fd;
	(void)arg;
	if (cmd == VIRTBE_IRQFD)
		irqfd_ioctls++;
	return FAKE_PASS;
}

TEST(mmio_kernel_isr_cleared_by_reset)
{
	struct vbe_ctl *ctl;
	struct vbe_guest *g = attach_guest(&ctl);
	struct vbe_dev *d = new_dev(0);
	int call, cfgcall;

	REQUIRE_EQ(vbe_dev_set_irq(d, VIRTBE_IRQ_EDGE, 5, 0, 0), 0);
	REQUIRE_EQ(vbe_dev_attach(d, g), 0);
	call = vbe_dev_call_fd(d);
	cfgcall = vbe_dev_config_call_fd(d);
	negotiate(d, F_V1);
	wr32(d, VIRTIO_MMIO_STATUS, S_ACK | S_DRV | S_FOK | S_DOK);
	vbe_dev_notify_used(d);
	vbe_dev_notify_config(d);
	CHECK_EQ(kisr(BASE), VIRTIO_MMIO_INT_VRING | VIRTIO_MMIO_INT_CONFIG);
	/*
	 * the driver resets the device through the request channel: the
	 * kernel clears its copy, the library touches no irqfd
	 */
	irqfd_ioctls = 0;
	fake.hook = hook_count_irqfd;
	guest_access(g, BASE + VIRTIO_MMIO_STATUS, 4, true, 0);
	fake.hook = NULL;
	CHECK_EQ(irqfd_ioctls, 0);
	CHECK_EQ(vbe_dev_status(d), 0);
	CHECK_EQ(kisr(BASE), 0);
	/* still kept by the kernel, with the same fds */
	CHECK(vbe_dev_kernel_isr(d));
	CHECK_EQ(fake.nirq, 2);
	CHECK_EQ(vbe_dev_call_fd(d), call);
	CHECK_EQ(vbe_dev_config_call_fd(d), cfgcall);
	CHECK(irqfd_of(call) && irqfd_of(cfgcall));
	signal_fd(cfgcall);
	CHECK_EQ(kisr(BASE), VIRTIO_MMIO_INT_CONFIG);
	vbe_dev_free(d);
	vbe_guest_close(g);
	vbe_ctl_close(ctl);
}

static int irqfd_assigns;

/* Fail the second irqfd assignment: the config call fd's. */
static int hook_fail_second_irqfd(int fd, unsigned long cmd, void *arg)
{
	const struct virtbe_irqfd *a = arg;

	(void)fd;
	if (cmd == VIRTBE_IRQFD && !(a->flags & VIRTBE_IRQFD_DEASSIGN) &&
	    ++irqfd_assigns == 2)
		return -ENOSPC;
	return FAKE_PASS;
}

TEST(mmio_kernel_isr_assign_failures_unwind)
{
	struct vbe_ctl *ctl;
	struct vbe_guest *g = attach_guest(&ctl);
	struct vbe_dev *d = new_dev(0);

	REQUIRE_EQ(vbe_dev_set_irq(d, VIRTBE_IRQ_LEVEL, 5, 0, 0), 0);
	fake.hook = hook_fail_second_irqfd;
	CHECK_EQ(vbe_dev_attach(d, g), -ENOSPC);
	CHECK(g->devs == NULL);
	CHECK_EQ(fake.nirq, 0);
	CHECK_EQ(fake.nvmmio, 0);
	CHECK_EQ(fake.nranges, 0);
	CHECK(!vbe_dev_kernel_isr(d));
	fake.hook = NULL;
	REQUIRE_EQ(vbe_dev_attach(d, g), 0);
	CHECK(vbe_dev_kernel_isr(d));
	vbe_dev_free(d);

	/* vbe_dev_set_irq() on an attached device */
	d = new_dev(0);
	REQUIRE_EQ(vbe_dev_attach(d, g), 0);
	irqfd_assigns = 0;
	fake.hook = hook_fail_second_irqfd;
	CHECK_EQ(vbe_dev_set_irq(d, VIRTBE_IRQ_EDGE, 5, 0, 0), -ENOSPC);
	CHECK_EQ(fake.nirq, 0);
	CHECK_EQ(vbe_dev_call_fd(d), -ENOENT);
	CHECK(!vbe_dev_kernel_isr(d));
	fake.hook = NULL;
	CHECK_EQ(vbe_dev_set_irq(d, VIRTBE_IRQ_EDGE, 5, 0, 0), 0);
	CHECK(vbe_dev_kernel_isr(d));
	vbe_dev_free(d);
	vbe_guest_close(g);
	vbe_ctl_close(ctl);
}

/* An older kernel: the library keeps InterruptStatus, as it always did. */
TEST(mmio_kernel_isr_fallback_old_kernel)
{
	struct vbe_ctl *ctl;
	struct vbe_guest *g = fresh_guest(&ctl, true);
	struct vbe_dev *d = new_dev(0);
	uint32_t gen;
	int call;

	REQUIRE_EQ(vbe_dev_set_irq(d, VIRTBE_IRQ_EDGE, 5, 0, 0), 0);
	REQUIRE_EQ(vbe_dev_attach(d, g), 0);
	CHECK(!vbe_dev_kernel_isr(d));
	CHECK_EQ(vbe_dev_config_call_fd(d), -ENOENT);
	CHECK_EQ(fake.nirq, 1);
	CHECK_EQ(fake.nvmmio, 0);
	call = vbe_dev_call_fd(d);
	gen = rd32(d, VIRTIO_MMIO_CONFIG_GENERATION);
	CHECK_EQ(vbe_dev_notify_used(d), 0);
	CHECK_EQ(vbe_dev_notify_config(d), 0);
	CHECK_EQ(rd32(d, VIRTIO_MMIO_CONFIG_GENERATION), gen + 1);
	CHECK_EQ(eventfd_count(call), 2);
	CHECK_EQ(vbe_dev_interrupt_status(d), 3);
	/* the registers come through the request channel */
	CHECK_EQ(guest_access(g, BASE + VIRTIO_MMIO_INTERRUPT_STATUS, 4,
			      false, 0), 3);
	guest_access(g, BASE + VIRTIO_MMIO_INTERRUPT_ACK, 4, true, 1);
	CHECK_EQ(guest_access(g, BASE + VIRTIO_MMIO_INTERRUPT_STATUS, 4,
			      false, 0), 2);
	CHECK_EQ(vbe_dev_interrupt_status(d), 2);
	vbe_dev_free(d);
	vbe_guest_close(g);
	vbe_ctl_close(ctl);
}

/* A register block the kernel cannot name (not 256-byte aligned). */
TEST(mmio_kernel_isr_needs_aligned_base)
{
	struct vbe_ctl *ctl;
	struct vbe_guest *g = attach_guest(&ctl);
	struct vbe_dev *d;

	REQUIRE_EQ(vbe_dev_new(BASE + 0x80, SIZE, 1, 1, 4, &d), 0);
	REQUIRE_EQ(vbe_dev_set_irq(d, VIRTBE_IRQ_EDGE, 5, 0, 0), 0);
	REQUIRE_EQ(vbe_dev_attach(d, g), 0);
	CHECK(!vbe_dev_kernel_isr(d));
	CHECK_EQ(fake.nirq, 1);
	CHECK_EQ(fake.irq[0].flags, 0);
	vbe_dev_notify_used(d);
	CHECK_EQ(guest_access(g, BASE + 0x80 + VIRTIO_MMIO_INTERRUPT_STATUS,
			      4, false, 0), 1);
	vbe_dev_free(d);
	vbe_guest_close(g);
	vbe_ctl_close(ctl);
}

/* Bits the library held are handed to the kernel when it takes over. */
TEST(mmio_kernel_isr_takes_over_pending_bits)
{
	struct vbe_ctl *ctl;
	struct vbe_guest *g = attach_guest(&ctl);
	struct vbe_dev *d = new_dev(0);

	REQUIRE_EQ(vbe_dev_attach(d, g), 0);
	CHECK_EQ(vbe_dev_notify_used(d), -ENOENT);	/* no interrupt yet */
	CHECK_EQ(guest_access(g, BASE + VIRTIO_MMIO_INTERRUPT_STATUS, 4,
			      false, 0), 1);
	REQUIRE_EQ(vbe_dev_set_irq(d, VIRTBE_IRQ_EDGE, 5, 0, 0), 0);
	REQUIRE(vbe_dev_kernel_isr(d));
	CHECK_EQ(vbe_dev_interrupt_status(d), 0);
	CHECK_EQ(kisr(BASE), VIRTIO_MMIO_INT_VRING);
	CHECK_EQ(fake_irq_wait(VIRTBE_IRQ_EDGE, 5, 1000), 1);
	/* detached: the library keeps it again */
	vbe_dev_detach(d);
	CHECK(!vbe_dev_kernel_isr(d));
	CHECK_EQ(fake_vmmio_isr(BASE), -1);
	vbe_dev_notify_used(d);
	CHECK_EQ(vbe_dev_interrupt_status(d), 1);
	vbe_dev_free(d);
	vbe_guest_close(g);
	vbe_ctl_close(ctl);
}

TEST(mmio_kernel_isr_info_once_per_guest)
{
	struct vbe_ctl *ctl;
	struct vbe_guest *g = attach_guest(&ctl);
	struct vbe_dev *d1 = new_dev(0), *d2;
	unsigned int n = fake_count(VIRTBE_GET_INFO);

	REQUIRE_EQ(vbe_dev_new(BASE + 0x1000, SIZE, VIRTIO_ID_NET, 1, 4, &d2),
		   0);
	REQUIRE_EQ(vbe_dev_set_irq(d1, VIRTBE_IRQ_EDGE, 5, 0, 0), 0);
	REQUIRE_EQ(vbe_dev_set_irq(d2, VIRTBE_IRQ_EDGE, 6, 0, 0), 0);
	REQUIRE_EQ(vbe_dev_attach(d1, g), 0);
	REQUIRE_EQ(vbe_dev_attach(d2, g), 0);
	vbe_dev_detach(d1);
	REQUIRE_EQ(vbe_dev_attach(d1, g), 0);
	CHECK_EQ(fake_count(VIRTBE_GET_INFO), n + 1);
	CHECK_EQ(fake_last(VIRTBE_GET_INFO)->fd, vbe_guest_fd(g));
	CHECK(vbe_dev_kernel_isr(d1) && vbe_dev_kernel_isr(d2));
	CHECK_EQ(fake.nvmmio, 2);
	/* each device its own InterruptStatus */
	vbe_dev_notify_used(d2);
	CHECK_EQ(kisr(BASE), 0);
	CHECK_EQ(kisr(BASE + 0x1000), VIRTIO_MMIO_INT_VRING);
	vbe_dev_free(d1);
	vbe_dev_free(d2);
	vbe_guest_close(g);
	vbe_ctl_close(ctl);
}

static int hook_fail_claim(int fd, unsigned long cmd, void *arg)
{
	(void)fd;
	(void)arg;
	return cmd == VIRTBE_CLAIM_RANGE ? -EEXIST : FAKE_PASS;
}

static int hook_fail_irqfd(int fd, unsigned long cmd, void *arg)
{
	(void)fd;
	(void)arg;
	return cmd == VIRTBE_IRQFD ? -EOPNOTSUPP : FAKE_PASS;
}

TEST(mmio_attach_failures_unwind)
{
	struct vbe_ctl *ctl;
	struct vbe_guest *g = attach_guest(&ctl);
	struct vbe_dev *d = new_dev(0), *d2;

	REQUIRE_EQ(vbe_dev_set_irq(d, VIRTBE_IRQ_LEVEL, 5, 0, 0), 0);
	fake.hook = hook_fail_claim;
	CHECK_EQ(vbe_dev_attach(d, g), -EEXIST);
	CHECK(g->devs == NULL);
	fake.hook = hook_fail_irqfd;
	CHECK_EQ(vbe_dev_attach(d, g), -EOPNOTSUPP);
	CHECK(g->devs == NULL);
	CHECK_EQ(fake.nranges, 0);	/* released again */
	fake.hook = NULL;
	CHECK_EQ(vbe_dev_attach(d, g), 0);

	/* a second device overlapping the first */
	REQUIRE_EQ(vbe_dev_new(BASE + SIZE - 4, SIZE, 1, 1, 4, &d2), 0);
	CHECK_EQ(vbe_dev_attach(d2, g), -EEXIST);
	CHECK_EQ(fake.nranges, 1);
	vbe_dev_free(d2);
	vbe_dev_free(d);
	vbe_guest_close(g);
	vbe_ctl_close(ctl);
}

TEST(mmio_ioeventfd_follows_queue_ready)
{
	struct vbe_ctl *ctl;
	struct vbe_guest *g = attach_guest(&ctl);
	struct vbe_dev *d = new_dev(0);
	struct ram r;

	ram_init(&r, d);
	REQUIRE_EQ(vbe_dev_attach(d, g), 0);
	negotiate(d, F_V1);
	CHECK_EQ(fake.nioev, 0);
	setup_queue(d, &r, 1);
	REQUIRE_EQ(fake.nioev, 1);
	CHECK_EQ(fake.ioev[0].addr, BASE + VIRTIO_MMIO_QUEUE_NOTIFY);
	CHECK_EQ(fake.ioev[0].len, 4);
	CHECK_EQ(fake.ioev[0].flags, VIRTBE_IOEVENTFD_DATAMATCH);
	CHECK_EQ(fake.ioev[0].datamatch, 1);
	CHECK_EQ(fake.ioev[0].fd, vbe_dev_kick_fd(d, 1));
	setup_queue(d, &r, 0);
	CHECK_EQ(fake.nioev, 2);
	/* QueueReady = 0 removes it */
	wr32(d, VIRTIO_MMIO_QUEUE_SEL, 1);
	wr32(d, VIRTIO_MMIO_QUEUE_READY, 0);
	REQUIRE_EQ(fake.nioev, 1);
	CHECK_EQ(fake.ioev[0].datamatch, 0);
	/* so does a reset */
	setup_queue(d, &r, 1);
	CHECK_EQ(fake.nioev, 2);
	wr32(d, VIRTIO_MMIO_STATUS, 0);
	CHECK_EQ(fake.nioev, 0);
	/* and a detach */
	negotiate(d, F_V1);
	setup_queue(d, &r, 0);
	CHECK_EQ(fake.nioev, 1);
	vbe_dev_detach(d);
	CHECK_EQ(fake.nioev, 0);
	CHECK_EQ(fake.nranges, 0);
	vbe_dev_free(d);
	vbe_guest_close(g);
	vbe_ctl_close(ctl);
}

static int hook_fail_ioeventfd(int fd, unsigned long cmd, void *arg)
{
	(void)fd;
	(void)arg;
	return cmd == VIRTBE_IOEVENTFD ? -ENOSPC : FAKE_PASS;
}

TEST(mmio_kicks_never_lost)
{
	struct vbe_ctl *ctl;
	struct vbe_guest *g = attach_guest(&ctl);
	struct vbe_dev *d = new_dev(0);
	struct ram r;

	ram_init(&r, d);
	REQUIRE_EQ(vbe_dev_attach(d, g), 0);
	guest_access(g, BASE + VIRTIO_MMIO_STATUS, 4, true, 0);
	negotiate(d, F_V1);

	/* the ioeventfd cannot be assigned: kicks use the channel */
	fake.hook = hook_fail_ioeventfd;
	queue_regs(d, 0, 16, r.v[0].desc, r.v[0].avail, r.v[0].used);
	guest_access(g, BASE + VIRTIO_MMIO_QUEUE_READY, 4, true, 1);
	CHECK_EQ(fake.nioev, 0);
	CHECK_EQ(guest_access(g, BASE + VIRTIO_MMIO_QUEUE_READY, 4, false, 0),
		 1);
	guest_access(g, BASE + VIRTIO_MMIO_QUEUE_NOTIFY, 4, true, 0);
	CHECK_EQ(rec.notify[0], 1);

	/* with the ioeventfd, kicks come through the kick fd */
	fake.hook = NULL;
	wr32(d, VIRTIO_MMIO_QUEUE_SEL, 1);
	queue_regs(d, 1, 8, r.v[1].desc, r.v[1].avail, r.v[1].used);
	guest_access(g, BASE + VIRTIO_MMIO_QUEUE_READY, 4, true, 1);
	CHECK_EQ(fake.nioev, 1);
	CHECK_EQ(fake_access_send(0, BASE + VIRTIO_MMIO_QUEUE_NOTIFY, 4, true,
				  1, NULL), 1);
	CHECK_EQ(rec.notify[1], 0);
	CHECK_EQ(vbe_dev_handle_kick(d, 1), 1);
	CHECK_EQ(rec.notify[1], 1);
	/* a kick queued before the assignment (read in the same batch) */
	CHECK_EQ(fake_access_send(0, BASE + VIRTIO_MMIO_QUEUE_NOTIFY, 4, true,
				  0, NULL), 0);
	CHECK_EQ(vbe_guest_process(g), 1);
	CHECK_EQ(rec.notify[0], 2);
	vbe_dev_free(d);
	vbe_guest_close(g);
	vbe_ctl_close(ctl);
}

TEST(mmio_guest_process_dispatch)
{
	struct vbe_ctl *ctl;
	struct vbe_guest *g = attach_guest(&ctl);
	struct vbe_dev *d1 = new_dev(0), *d2;
	struct virtbe_completion c;
	unsigned int i;
	uint64_t id;

	REQUIRE_EQ(vbe_dev_new(BASE + 0x1000, SIZE, VIRTIO_ID_NET, 1, 4, &d2),
		   0);
	REQUIRE_EQ(vbe_dev_attach(d1, g), 0);
	REQUIRE_EQ(vbe_dev_attach(d2, g), 0);
	CHECK_EQ(fake.nranges, 2);

	CHECK_EQ(guest_access(g, BASE + VIRTIO_MMIO_DEVICE_ID, 4, false, 0),
		 VIRTIO_ID_BLOCK);
	CHECK_EQ(guest_access(g, BASE + 0x1000 + VIRTIO_MMIO_DEVICE_ID, 4,
			      false, 0), VIRTIO_ID_NET);
	CHECK_EQ(guest_access(g, BASE + 0x100, 1, false, 0), 0x11);
	/* nothing there: reads all-ones (truncated to the access size) */
	CHECK_EQ(guest_access(g, BASE + 0x800, 4, false, 0), 0xffffffff);
	CHECK_EQ(guest_access(g, BASE + 0x800, 2, false, 0), 0xffff);
	CHECK_EQ(guest_access(g, BASE + 0x800, 8, false, 0), UINT64_MAX);
	CHECK_EQ(guest_access(g, BASE + 0x800, 4, true, 5), 0);
	CHECK_EQ(g->unmatched, 4);
	/* writes are completed too */
	guest_access(g, BASE + VIRTIO_MMIO_STATUS, 4, true, S_ACK);
	CHECK_EQ(vbe_dev_status(d1), S_ACK);
	CHECK_EQ(vbe_dev_status(d2), 0);

	/* a burst larger than one batch, answered in order */
	for (i = 0; i < 100; i++)
		REQUIRE_EQ(fake_access_send(i % 2, BASE + 0x1000 +
					    VIRTIO_MMIO_MAGIC_VALUE, 4, false,
					    0, NULL), 0);
	CHECK_EQ(vbe_guest_process(g), 100);
	CHECK_EQ(vbe_guest_process(g), 0);
	for (i = 0; i < 100; i++) {
		REQUIRE_EQ(fake_recv_completion(&c, 1000), 0);
		CHECK_EQ(c.data, 0x74726976);
	}
	/* more than the budget: the rest waits for the next call */
	{
		static struct virtbe_request burst[300];

		for (i = 0; i < 300; i++)
			burst[i] = (struct virtbe_request){
				.size = sizeof(burst[i]), .len = 4,
				.addr = BASE, .id = 1000 + i };
		id = burst[299].id;
		REQUIRE_EQ(write(fake.peer_fd, burst, sizeof(burst)),
			   sizeof(burst));
	}
	CHECK_EQ(vbe_guest_process(g), 256);
	CHECK_EQ(vbe_guest_process(g), 44);
	for (i = 0; i < 300; i++)
		REQUIRE_EQ(fake_recv_completion(&c, 1000), 0);
	CHECK_EQ(c.id, id);

	/* the guest goes away */
	fake_hangup();
	CHECK_EQ(vbe_guest_process(g), -ENODEV);
	vbe_dev_free(d1);
	vbe_dev_free(d2);
	vbe_guest_close(g);
	vbe_ctl_close(ctl);
}

TEST(mmio_guest_close_orphans_devices)
{
	struct vbe_ctl *ctl;
	struct vbe_guest *g = attach_guest(&ctl);
	struct vbe_dev *d = new_dev(0);
	unsigned int calls;
	struct ram r;

	ram_init(&r, d);
	REQUIRE_EQ(vbe_dev_set_irq(d, VIRTBE_IRQ_EDGE, 5, 0, 0), 0);
	REQUIRE_EQ(vbe_dev_attach(d, g), 0);
	negotiate(d, F_V1);
	setup_queue(d, &r, 0);
	rec.log[0] = 0;
	calls = fake.ncalls;
	vbe_guest_close(g);
	/* no ioctl on a closing fd, but the device was reset */
	CHECK_EQ(fake.ncalls, calls);
	CHECK(!strcmp(rec.log, "Q0-X"));
	CHECK_EQ(vbe_dev_status(d), 0);
	/* and can be attached to another guest */
	fake.guest_fd = -1;
	fake_reset();
	REQUIRE_EQ(vbe_guest_attach(ctl, VIRTBE_HYP_SIM, 2, 0, &g), 0);
	CHECK_EQ(vbe_dev_attach(d, g), 0);
	vbe_dev_free(d);
	vbe_guest_close(g);
	vbe_ctl_close(ctl);
}
