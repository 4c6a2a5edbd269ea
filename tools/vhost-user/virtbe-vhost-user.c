// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * virtbe-vhost-user: serve a guest's virtio-mmio devices with unmodified
 * vhost-user daemons (qemu-storage-daemon, virtiofsd, vhost-device-*).
 *
 *   virtbe-vhost-user --hyp sim|xen|bao --guest ID --mem GPA:LEN [--mem ...]
 *       --device type=blk|fs|N,base=ADDR,irq=N,irq-type=edge|level|evtchn,
 *                socket=PATH[,size=LEN][,queues=N][,queue-size=N][,tag=TAG]
 *                [,access-platform=on|off]
 *                [,exec=COMMAND...]                      (repeatable)
 *   virtbe-vhost-user --dtb FILE [--guest ID]
 *
 * For each device it runs libvirtbe's virtio-mmio model and is the
 * vhost-user *frontend* of the daemon behind the device's socket: the
 * daemon's features and config space become the device's; at DRIVER_OK
 * the daemon gets the guest's memory fds (SET_MEM_TABLE), the queues'
 * ioeventfds as kick fds and the device's irqfd as call fd.  From then on
 * the data path is kernel <-> daemon: this process only sees the control
 * path (register accesses other than kicks and InterruptStatus, resets,
 * config changes, the daemon going away and coming back).
 *
 * One thread, one epoll loop: the guest fd, a signalfd (SIGTERM, SIGINT,
 * SIGCHLD, SIGUSR1: print the counters), a 100 ms timerfd for reconnections, and per device its
 * daemon's socket and backend request channel (and the resample eventfd of
 * a level interrupt).
 *
 * Copyright (C) 2026 The virtbe authors
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_ring.h>

#include <virtbe/virtbe.h>

#include "args.h"
#include "hints.h"
#include "vhu.h"

#define PROG "virtbe-vhost-user"
#define MAX_DEVS 16
#define MAX_MEM VHU_MAX_REGIONS
#define MAX_QUEUES 64
#define DEFAULT_SIZE 0x200
#define DEFAULT_QUEUE_SIZE 256
#define REPLY_TIMEOUT_MS 5000
#define TICK_MS 100
#define RETRY_MAX_MS 1000
#define RESPAWN_MS 1000

/* Bits a vhost-user daemon offers that belong to the transport, not to
 * the device: never shown to the guest. */
#define TRANSPORT_FEATURES						\
	((1ULL << 24) /* VIRTIO_F_NOTIFY_ON_EMPTY */ |			\
	 (1ULL << 26) /* VHOST_F_LOG_ALL */ |				\
	 (1ULL << VHU_F_PROTOCOL_FEATURES))
/* Transport features the virtio-mmio model or this frontend lacks. */
#define UNSUPPORTED_FEATURES						\
	((1ULL << 33) /* VIRTIO_F_ACCESS_PLATFORM: no IOTLB here */ |	\
	 (1ULL << 34) /* VIRTIO_F_RING_PACKED */ |			\
	 (1ULL << 37) /* VIRTIO_F_SR_IOV */ |				\
	 (1ULL << 38) /* VIRTIO_F_NOTIFICATION_DATA */ |		\
	 (1ULL << 40) /* VIRTIO_F_RING_RESET */)

/*
 * VIRTIO_F_ACCESS_PLATFORM, offered to the guest when configured (a guest
 * whose DMA goes through a restricted DMA pool: Bao).  Its addresses are
 * guest-physical still: the daemon, which sees them through the memory
 * table, is never told (it would ask for an IOTLB).
 */
#define ACCESS_PLATFORM (1ULL << 33)

#define WANT_PROTOCOL							\
	((1ULL << VHU_PROTOCOL_F_MQ) |					\
	 (1ULL << VHU_PROTOCOL_F_REPLY_ACK) |				\
	 (1ULL << VHU_PROTOCOL_F_BACKEND_REQ) |				\
	 (1ULL << VHU_PROTOCOL_F_CONFIG))

/* virtio-fs config space (virtio 1.2, 5.11.4) */
#define FS_TAG_LEN 36
/* where virtio-blk's config holds num_queues (with VIRTIO_BLK_F_MQ) */
#define BLK_NQ_OFF offsetof(struct virtio_blk_config, num_queues)
struct fs_config {
	uint8_t tag[FS_TAG_LEN];
	uint32_t num_request_queues;	/* le32 */
} __attribute__((packed));

/* Some bits that only a block device offers (to tell daemons apart). */
#define BLK_ONLY_FEATURES						\
	((uint64_t)1 << VIRTIO_BLK_F_SEG_MAX | (uint64_t)1 << VIRTIO_BLK_F_BLK_SIZE | \
	 (uint64_t)1 << VIRTIO_BLK_F_FLUSH)

struct vdev {
	/* configuration */
	const char *name;		/* DT node path, or "--device N" */
	uint32_t type;			/* virtio device id */
	uint64_t base, size;
	uint32_t irq_type, irq;
	uint64_t msi_addr;
	uint32_t msi_data;
	const char *socket;
	const char *exec;		/* sh -c command starting the daemon */
	unsigned int queues;		/* 0: from the daemon */
	unsigned int queue_size;
	const char *tag;		/* virtio-fs */
	bool access_platform;		/* offer VIRTIO_F_ACCESS_PLATFORM */

	/* the device, created at the first connection */
	struct vbe_dev *dev;
	uint64_t offered;		/* features offered to the guest */
	unsigned int nq;
	int relay_fd;			/* call fd when the library keeps ISR */
	uint8_t cfg[VHU_MAX_CONFIG];
	uint32_t cfg_len;

	/* the daemon */
	struct vhu *vhu;
	bool mem_sent;			/* SET_MEM_TABLE on this connection */
	bool running;			/* rings handed over (DRIVER_OK) */
	bool ring[MAX_QUEUES];		/* ring handed over */
	pid_t pid;			/* daemon started with exec, or 0 */
	uint64_t retry_at, retry_ms, respawn_at;
	bool waiting_said;
};

struct bridge {
	int hyp;
	uint64_t guest_id;
	bool have_guest;
	uint32_t timeout_ms;
	unsigned int nmem;
	uint64_t mem[MAX_MEM][2];
	struct vbe_mem *mems[MAX_MEM];
	unsigned int ndevs;
	struct vdev devs[MAX_DEVS];
	struct vbe_guest *guest;
	int ep;
	bool stopping;
};

static bool verbose;
static struct bridge br;

static void vlog(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void vlog(const char *fmt, ...)
{
	va_list ap;

	if (!verbose)
		return;
	va_start(ap, fmt);
	vfprintf(stdout, fmt, ap);
	va_end(ap);
}

static void derr(const struct vdev *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void derr(const struct vdev *d, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, PROG ": %s: ", d->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Device types */

static const struct {
	const char *name;
	uint32_t id;
} types[] = {
	{ "net", VIRTIO_ID_NET }, { "blk", VIRTIO_ID_BLOCK },
	{ "console", VIRTIO_ID_CONSOLE }, { "rng", VIRTIO_ID_RNG },
	{ "scsi", VIRTIO_ID_SCSI }, { "gpu", VIRTIO_ID_GPU },
	{ "input", VIRTIO_ID_INPUT }, { "vsock", VIRTIO_ID_VSOCK },
	{ "sound", VIRTIO_ID_SOUND }, { "fs", VIRTIO_ID_FS },
	{ "i2c", VIRTIO_ID_I2C_ADAPTER }, { "gpio", VIRTIO_ID_GPIO },
};

static int parse_type(const char *s, uint32_t *id)
{
	unsigned long v;
	unsigned int i;
	char *end;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		if (!strcmp(s, types[i].name)) {
			*id = types[i].id;
			return 0;
		}
	}
	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno || end == s || *end || !v || v > 255)
		return -EINVAL;
	*id = (uint32_t)v;
	return 0;
}

static const char *type_name(uint32_t id)
{
	static char buf[16];
	unsigned int i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (types[i].id == id)
			return types[i].name;
	snprintf(buf, sizeof(buf), "type %u", id);
	return buf;
}

/* The daemon */

static void ep_del(int fd)
{
	if (fd >= 0)
		epoll_ctl(br.ep, EPOLL_CTL_DEL, fd, NULL);
}

static int ep_add(int fd, uint64_t tag, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.u64 = tag };

	return epoll_ctl(br.ep, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

#define TAG_GUEST 0
#define TAG_SIGNAL 1
#define TAG_TIMER 2
#define TAG_DEV(kind, i) (((uint64_t)(kind) << 32) | (i))
#define KIND_SOCK 1
#define KIND_BACKEND 2
#define KIND_RESAMPLE 3
#define KIND_RELAY 4

static void retry_soon(struct vdev *d)
{
	d->retry_ms = TICK_MS;
	d->retry_at = now_ms();
}

/*
 * The daemon went away (or broke the protocol): forget the connection.  A
 * device the driver is using needs a reset; a new daemon is connected as
 * soon as its socket accepts (see resume_device() for what it serves).
 */
static void disconnect(struct vdev *d, const char *why, int ret)
{
	unsigned int q;

	if (!d->vhu)
		return;
	if (ret)
		derr(d, "daemon at %s: %s: %s; disconnected", d->socket, why,
		     strerror(-ret));
	else
		derr(d, "daemon at %s: %s; disconnected", d->socket, why);
	ep_del(vhu_fd(d->vhu));
	if (vhu_backend_fd(d->vhu) >= 0)
		ep_del(vhu_backend_fd(d->vhu));
	vhu_close(d->vhu);
	d->vhu = NULL;
	d->mem_sent = false;
	for (q = 0; q < MAX_QUEUES; q++)
		d->ring[q] = false;
	if (d->dev && (vbe_dev_status(d->dev) & VIRTIO_CONFIG_S_DRIVER_OK))
		vbe_dev_set_needs_reset(d->dev);
	d->running = false;
	d->waiting_said = false;
	retry_soon(d);
}

/*
 * Where a ring resumes with a new daemon: the used ring's index in guest
 * memory.  Requests the old daemon took but never completed are taken
 * again, as QEMU does when a vhost-user back-end crashed
 * (virtio_queue_restore_last_avail_idx()).
 */
static int used_idx(const struct vbe_queue_addr *qa, unsigned int *idx)
{
	uint16_t *p;
	int ret;

	ret = vbe_memtab_translate(vbe_guest_memtab(br.guest), qa->used + 2,
				   sizeof(*p), false, (void **)&p);
	if (ret)
		return ret;
	*idx = le16toh(__atomic_load_n(p, __ATOMIC_ACQUIRE));
	return 0;
}

/* Make the daemon look at a queue: what its kick eventfd is for. */
static int kick(struct vbe_dev *dev, unsigned int q)
{
	uint64_t one = 1;

	return write(vbe_dev_kick_fd(dev, q), &one, sizeof(one)) ==
	       sizeof(one) ? 0 : -errno;
}

static int start_ring(struct vdev *d, unsigned int q, bool resume)
{
	struct vbe_queue_addr qa;
	struct vhu_vring r;
	unsigned int base = 0;
	int ret;

	ret = vbe_dev_queue_addr(d->dev, q, &qa);
	if (!ret && resume)
		ret = used_idx(&qa, &base);
	if (ret)
		return ret;
	r = (struct vhu_vring){
		.index = q, .num = qa.num, .desc = qa.desc, .avail = qa.avail,
		.used = qa.used, .base = base,
		.kick_fd = vbe_dev_kick_fd(d->dev, q),
		.call_fd = d->relay_fd >= 0 ? d->relay_fd : vbe_dev_call_fd(d->dev),
	};
	ret = vhu_start_vring(d->vhu, &r);
	if (ret)
		return ret;
	d->ring[q] = true;
	/* what the driver made available meanwhile waits for a kick */
	if (resume) {
		ret = kick(d->dev, q);
		if (ret)
			return ret;
	}
	vlog("%s: queue %u (%u entries) handed to the daemon at avail index %u\n",
	     d->name, q, qa.num, base);
	return 0;
}

static void stop_ring(struct vdev *d, unsigned int q)
{
	unsigned int base = 0;
	int ret;

	if (!d->ring[q])
		return;
	d->ring[q] = false;
	if (!d->vhu)
		return;
	ret = vhu_stop_vring(d->vhu, q, &base);
	if (ret) {
		disconnect(d, "GET_VRING_BASE", ret);
		return;
	}
	vlog("%s: queue %u stopped at avail index %u\n", d->name, q, base);
}

/*
 * DRIVER_OK: hand the memory and every ready queue to the daemon; or
 * (@resume) a daemon that replaced a dead one takes over the rings where
 * the used rings stand.
 */
static int start_device(struct vdev *d, bool resume)
{
	struct vhu_region r[MAX_MEM];
	uint64_t f;
	unsigned int i;
	int ret;

	f = vbe_dev_driver_features(d->dev) & ~ACCESS_PLATFORM;
	if (f & ~vhu_features(d->vhu)) {
		derr(d, "the daemon at %s does not offer features 0x%" PRIx64
		     " the driver accepted (a different daemon than at the start?)",
		     d->socket, f & ~vhu_features(d->vhu));
		return -EPROTO;
	}
	f |= vhu_features(d->vhu) & (1ULL << VHU_F_PROTOCOL_FEATURES);
	ret = vhu_set_features(d->vhu, f);
	if (ret)
		return ret;
	if (!d->mem_sent) {
		for (i = 0; i < br.nmem; i++)
			r[i] = (struct vhu_region){
				.gpa = br.mem[i][0], .size = br.mem[i][1],
				.uaddr = br.mem[i][0], .offset = 0,
				.fd = vbe_mem_fd(br.mems[i]),
			};
		ret = vhu_set_mem_table(d->vhu, r, br.nmem);
		if (ret)
			return ret;
		d->mem_sent = true;
	}
	for (i = 0; i < d->nq; i++) {
		if (vbe_dev_vq(d->dev, i)) {
			ret = start_ring(d, i, resume);
			if (ret)
				return ret;
		}
	}
	d->running = true;
	vlog("%s: driver ready, features 0x%" PRIx64 ", the daemon serves\n",
	     d->name, f);
	return 0;
}

/* Device callbacks (from vbe_guest_process()) */

static int try_connect(struct vdev *d);

static int cb_features_ok(struct vbe_dev *dev, uint64_t features)
{
	struct vdev *d = vbe_dev_opaque(dev);

	/* a driver probing again after a restart need not wait for a tick */
	if (!d->vhu)
		try_connect(d);
	if (!d->vhu) {
		derr(d, "the driver negotiates while no daemon is connected to %s",
		     d->socket);
		return -ENOTCONN;
	}
	if (features & ~vhu_features(d->vhu) & ~ACCESS_PLATFORM)
		return -EINVAL;
	return 0;
}

static void cb_driver_ok(struct vbe_dev *dev)
{
	struct vdev *d = vbe_dev_opaque(dev);
	int ret;

	if (!d->vhu) {
		derr(d, "DRIVER_OK while no daemon is connected to %s", d->socket);
		vbe_dev_set_needs_reset(dev);
		return;
	}
	ret = start_device(d, false);
	if (ret) {
		disconnect(d, "starting the device", ret);
		vbe_dev_set_needs_reset(dev);
	}
}

static void cb_reset(struct vbe_dev *dev)
{
	struct vdev *d = vbe_dev_opaque(dev);

	d->running = false;
	vlog("%s: reset by the driver\n", d->name);
	if (!d->vhu && !br.stopping)
		try_connect(d);
}

static void cb_queue_ready(struct vbe_dev *dev, unsigned int q,
			   struct vbe_vq *vq)
{
	struct vdev *d = vbe_dev_opaque(dev);
	int ret;

	if (!vq) {
		stop_ring(d, q);
		return;
	}
	/* a queue enabled after DRIVER_OK joins at once */
	if (d->running && d->vhu) {
		ret = start_ring(d, q, false);
		if (ret)
			disconnect(d, "starting a queue", ret);
	}
}

static void cb_queue_notify(struct vbe_dev *dev, unsigned int q)
{
	/*
	 * A kick that came through the request channel (before the
	 * ioeventfd was assigned): pass it on where the daemon waits.
	 */
	kick(dev, q);
}

static int cb_config_write(struct vbe_dev *dev, uint32_t offset, uint32_t len,
			   uint64_t val)
{
	struct vdev *d = vbe_dev_opaque(dev);
	uint8_t buf[8];
	uint32_t i;
	int ret;

	if (!d->vhu || !vhu_has_protocol(d->vhu, VHU_PROTOCOL_F_CONFIG))
		return -EOPNOTSUPP;
	for (i = 0; i < len; i++)
		buf[i] = (uint8_t)(val >> (8 * i));	/* little-endian */
	ret = vhu_set_config(d->vhu, offset, buf, len);
	if (ret == -EIO)
		return ret;	/* the daemon refused it */
	if (ret)
		disconnect(d, "SET_CONFIG", ret);
	return ret;
}

static const struct vbe_dev_ops bridge_ops = {
	.features_ok = cb_features_ok,
	.driver_ok = cb_driver_ok,
	.reset = cb_reset,
	.queue_ready = cb_queue_ready,
	.queue_notify = cb_queue_notify,
	.config_write = cb_config_write,
};

/* Config space and queues, from the daemon or from the configuration */

static int read_config(struct vdev *d, struct vhu *v)
{
	static const uint32_t blk_sizes[] = {
		/* the daemon's struct may be older or newer than ours */
		sizeof(struct virtio_blk_config), 72, 60,
	};
	uint32_t room = (uint32_t)(d->size - VBE_DEV_MIN_SIZE);
	struct fs_config fc;
	unsigned int i;
	int ret;

	if (room > VHU_MAX_CONFIG)
		room = VHU_MAX_CONFIG;
	if (d->type == VIRTIO_ID_FS && !vhu_has_protocol(v, VHU_PROTOCOL_F_CONFIG)) {
		/* virtiofsd: the frontend supplies the config */
		if (!d->tag) {
			derr(d, "virtio-fs needs a tag (tag= or virtbe,fs-tag): the daemon at %s has no config space",
			     d->socket);
			return -EINVAL;
		}
		memset(&fc, 0, sizeof(fc));
		memcpy(fc.tag, d->tag, strnlen(d->tag, FS_TAG_LEN));
		/* num_request_queues: create_device(), once the queues are known */
		d->cfg_len = sizeof(fc) < room ? sizeof(fc) : room;
		memcpy(d->cfg, &fc, d->cfg_len);
		return 0;
	}
	if (!vhu_has_protocol(v, VHU_PROTOCOL_F_CONFIG)) {
		if (d->type == VIRTIO_ID_BLOCK) {
			derr(d, "the daemon at %s has no config space (no CONFIG protocol feature): it is not a virtio-blk daemon",
			     d->socket);
			return -EPROTO;
		}
		d->cfg_len = 0;
		return 0;
	}
	if (d->type == VIRTIO_ID_BLOCK) {
		for (i = 0; i < sizeof(blk_sizes) / sizeof(blk_sizes[0]); i++) {
			d->cfg_len = blk_sizes[i] < room ? blk_sizes[i] : room;
			ret = vhu_get_config(v, 0, d->cfg, d->cfg_len);
			if (ret != -EPROTO)
				break;
		}
	} else {
		/* other types: as much as the window holds, then less */
		for (d->cfg_len = room; ; d->cfg_len /= 2) {
			ret = vhu_get_config(v, 0, d->cfg, d->cfg_len);
			if (ret != -EPROTO || d->cfg_len < 8)
				break;
		}
	}
	if (ret)
		derr(d, "GET_CONFIG from the daemon at %s: %s", d->socket,
		     strerror(-ret));
	return ret;
}

/* How many queues the device gets: configured, else what the daemon says. */
static unsigned int pick_queues(struct vdev *d, struct vhu *v)
{
	unsigned int n = d->queues, max = vhu_queue_num(v);
	uint16_t blk_nq;

	if (!n) {
		if (d->type == VIRTIO_ID_BLOCK &&
		    (vhu_features(v) & (1ULL << VIRTIO_BLK_F_MQ))) {
			memcpy(&blk_nq, d->cfg + BLK_NQ_OFF, sizeof(blk_nq));
			n = le16toh(blk_nq);
		} else if (d->type == VIRTIO_ID_FS) {
			n = 2;	/* hiprio + one request queue */
		}
		if (!n)
			n = 1;
	}
	if (max && n > max)
		n = max;
	return n > MAX_QUEUES ? MAX_QUEUES : n;
}

/*
 * The first connection fixes what the guest sees: the device's features,
 * config space and queues.  Later connections (a restarted daemon) must
 * offer at least what the driver accepted.
 */
static int create_device(struct vdev *d, struct vhu *v)
{
	uint64_t f = vhu_features(v);
	uint16_t nq16;
	int ret;

	if (!(f & (1ULL << VIRTIO_F_VERSION_1))) {
		derr(d, "the daemon at %s does not offer VIRTIO_F_VERSION_1 (features 0x%" PRIx64 "): virtio-mmio version 2 needs it",
		     d->socket, f);
		return -EPROTO;
	}
	if (d->type == VIRTIO_ID_FS && (f & BLK_ONLY_FEATURES)) {
		derr(d, "type fs, but the daemon at %s offers virtio-blk features (0x%" PRIx64 "): is it a block daemon?",
		     d->socket, f & BLK_ONLY_FEATURES);
		return -EPROTO;
	}
	if (d->type == VIRTIO_ID_FS && d->queues == 1) {
		derr(d, "queues=1: virtio-fs needs 2 or more (hiprio + requests)");
		return -EINVAL;
	}
	ret = read_config(d, v);
	if (ret)
		return ret;
	d->nq = pick_queues(d, v);
	if (d->type == VIRTIO_ID_BLOCK && (f & (1ULL << VIRTIO_BLK_F_MQ)) &&
	    d->cfg_len >= BLK_NQ_OFF + sizeof(nq16)) {
		nq16 = htole16((uint16_t)d->nq);
		memcpy(d->cfg + BLK_NQ_OFF, &nq16, sizeof(nq16));
	}
	if (d->type == VIRTIO_ID_FS && d->cfg_len >= sizeof(struct fs_config)) {
		struct fs_config *fc = (void *)d->cfg;

		fc->num_request_queues = htole32(d->nq - 1);
	}
	d->offered = f & ~TRANSPORT_FEATURES & ~UNSUPPORTED_FEATURES;
	if (d->access_platform)
		d->offered |= ACCESS_PLATFORM;

	ret = vbe_dev_new(d->base, d->size, d->type, d->nq, d->queue_size,
			  &d->dev);
	if (ret) {
		derr(d, "device model (base 0x%" PRIx64 ", size 0x%" PRIx64 ", %u queues of %u): %s",
		     d->base, d->size, d->nq, d->queue_size, strerror(-ret));
		return ret;
	}
	ret = vbe_dev_set_ops(d->dev, &bridge_ops, d);
	if (!ret)
		ret = vbe_dev_set_features(d->dev, d->offered);
	if (!ret && d->cfg_len)
		ret = vbe_dev_set_config(d->dev, d->cfg, d->cfg_len);
	if (!ret)
		ret = vbe_dev_set_irq(d->dev, d->irq_type, d->irq, d->msi_addr,
				      d->msi_data);
	if (ret) {
		derr(d, "device setup: %s", strerror(-ret));
		return ret;
	}
	ret = vbe_dev_attach(d->dev, br.guest);
	if (ret) {
		char msg[256];

		fprintf(stderr, PROG ": %s\n",
			hint_claim(d->name, d->base, d->size, ret, msg,
				   sizeof(msg)));
		return ret;
	}
	if (!vbe_dev_kernel_isr(d->dev)) {
		/* the library keeps InterruptStatus: relay the daemon's calls */
		d->relay_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (d->relay_fd < 0)
			return -errno;
		ret = ep_add(d->relay_fd, TAG_DEV(KIND_RELAY, d - br.devs),
			     EPOLLIN);
		if (ret)
			return ret;
		derr(d, "the kernel does not keep InterruptStatus (base not 256-byte aligned, or an old virtbe): interrupts are relayed through this process");
	}
	if (d->irq_type == VIRTBE_IRQ_LEVEL) {
		ret = ep_add(vbe_dev_resample_fd(d->dev),
			     TAG_DEV(KIND_RESAMPLE, d - br.devs), EPOLLIN);
		if (ret)
			return ret;
	}
	printf(PROG ": %s: %s device at 0x%" PRIx64 ", %u queue%s, features 0x%" PRIx64 ", served by the daemon at %s\n",
	       d->name, type_name(d->type), d->base, d->nq,
	       d->nq == 1 ? "" : "s", d->offered, d->socket);
	return 0;
}

/* Undo what create_device() did, so that a later connection can redo it. */
static void destroy_device(struct vdev *d)
{
	if (d->relay_fd >= 0) {
		ep_del(d->relay_fd);
		close(d->relay_fd);
		d->relay_fd = -1;
	}
	if (d->dev && d->irq_type == VIRTBE_IRQ_LEVEL &&
	    vbe_dev_resample_fd(d->dev) >= 0)
		ep_del(vbe_dev_resample_fd(d->dev));
	vbe_dev_free(d->dev);
	d->dev = NULL;
}

/*
 * A new daemon while the driver still uses the device (it has not reset
 * it after DEVICE_NEEDS_RESET, and Linux's drivers never do): a block
 * device has no state but its rings, so the new daemon takes them over
 * and the guest's I/O goes on, requests in flight being taken again.
 * Other devices keep state in the daemon (virtio-fs: every open file) that
 * a new daemon does not have: they wait for the driver's reset.
 */
static void resume_device(struct vdev *d)
{
	int ret;

	if (d->type != VIRTIO_ID_BLOCK) {
		printf(PROG ": %s: the driver must reset the device to use the new daemon\n",
		       d->name);
		return;
	}
	ret = start_device(d, true);
	if (ret) {
		disconnect(d, "resuming the rings", ret);
		return;
	}
	printf(PROG ": %s: the new daemon took over the rings where the used rings stand\n",
	       d->name);
}

/* Try to connect; 0 when connected, 1 when the daemon is not there yet. */
static int try_connect(struct vdev *d)
{
	struct vhu *v;
	int ret;

	ret = vhu_connect(d->socket, WANT_PROTOCOL, REPLY_TIMEOUT_MS, &v);
	if (ret == -ENOENT || ret == -ECONNREFUSED) {
		if (!d->waiting_said) {
			printf(PROG ": %s: waiting for the daemon at %s\n",
			       d->name, d->socket);
			d->waiting_said = true;
		}
		return 1;
	}
	if (ret) {
		derr(d, "connecting to the daemon at %s: %s", d->socket,
		     strerror(-ret));
		return 1;
	}
	if (!d->dev) {
		ret = create_device(d, v);
		if (ret) {
			vhu_close(v);
			destroy_device(d);
			if (ret != -ETIMEDOUT && ret != -ECONNRESET &&
			    ret != -EPIPE)
				return ret;	/* the configuration is wrong */
			derr(d, "the daemon at %s went away while the device was being set up: trying again",
			     d->socket);
			return 1;
		}
	} else if ((vhu_features(v) & d->offered) != d->offered) {
		derr(d, "the daemon now at %s lacks features 0x%" PRIx64 " the device offers; a driver that negotiates them will be refused",
		     d->socket, d->offered & ~vhu_features(v));
	}
	ret = ep_add(vhu_fd(v), TAG_DEV(KIND_SOCK, d - br.devs),
		     EPOLLIN | EPOLLRDHUP);
	if (!ret && vhu_backend_fd(v) >= 0)
		ret = ep_add(vhu_backend_fd(v), TAG_DEV(KIND_BACKEND, d - br.devs),
			     EPOLLIN | EPOLLRDHUP);
	if (ret) {
		ep_del(vhu_fd(v));
		vhu_close(v);
		return ret;
	}
	d->vhu = v;
	d->waiting_said = false;
	printf(PROG ": %s: connected to the daemon at %s (protocol features 0x%" PRIx64 ")\n",
	       d->name, d->socket, vhu_protocol_features(v));
	if (d->dev && (vbe_dev_status(d->dev) & VIRTIO_CONFIG_S_DRIVER_OK))
		resume_device(d);
	return 0;
}

/* exec= daemons: started here, started again when they exit. */
static int spawn_daemon(struct vdev *d)
{
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (!pid) {
		sigset_t all;

		sigemptyset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);
		execl("/bin/sh", "sh", "-c", d->exec, (char *)NULL);
		_exit(127);
	}
	d->pid = pid;
	vlog("%s: started the daemon (pid %d): %s\n", d->name, (int)pid,
	     d->exec);
	return 0;
}

static void reap_children(void)
{
	unsigned int i;
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (i = 0; i < br.ndevs; i++) {
			struct vdev *d = &br.devs[i];

			if (d->pid != pid)
				continue;
			d->pid = 0;
			d->respawn_at = now_ms() + RESPAWN_MS;
			if (!br.stopping)
				derr(d, "the daemon exited (%s %d); starting it again in %d ms",
				     WIFEXITED(status) ? "status" : "signal",
				     WIFEXITED(status) ? WEXITSTATUS(status) :
							 WTERMSIG(status),
				     RESPAWN_MS);
		}
	}
}

/* Every tick: start missing daemons, connect to the ones that are back. */
static int tick(void)
{
	uint64_t t = now_ms();
	unsigned int i;
	int ret;

	for (i = 0; i < br.ndevs; i++) {
		struct vdev *d = &br.devs[i];

		if (d->exec && !d->pid && t >= d->respawn_at) {
			ret = spawn_daemon(d);
			if (ret)
				derr(d, "starting the daemon: %s", strerror(-ret));
		}
		if (d->vhu || t < d->retry_at)
			continue;
		ret = try_connect(d);
		if (ret < 0)
			return ret;	/* configuration the daemon refutes */
		if (ret > 0) {
			d->retry_at = t + d->retry_ms;
			d->retry_ms *= 2;
			if (d->retry_ms > RETRY_MAX_MS)
				d->retry_ms = RETRY_MAX_MS;
		}
	}
	return 0;
}

static void backend_event(struct vdev *d)
{
	unsigned int ev = 0;
	uint8_t cfg[VHU_MAX_CONFIG];
	int ret;

	ret = vhu_backend_process(d->vhu, &ev);
	if (ret) {
		disconnect(d, "backend request channel", ret);
		return;
	}
	if (!(ev & VHU_EV_CONFIG_CHANGED) || !d->cfg_len)
		return;
	ret = vhu_get_config(d->vhu, 0, cfg, d->cfg_len);
	if (ret) {
		disconnect(d, "GET_CONFIG after a config change", ret);
		return;
	}
	vlog("%s: the daemon changed the config space\n", d->name);
	vbe_dev_config_update(d->dev, 0, cfg, d->cfg_len);
}

static int dev_event(uint64_t tag, uint32_t events)
{
	unsigned int kind = (unsigned int)(tag >> 32);
	struct vdev *d = &br.devs[(uint32_t)tag];
	uint64_t cnt;

	switch (kind) {
	case KIND_SOCK:
		/* the daemon speaks only when asked: this is EOF or junk */
		disconnect(d, events & (EPOLLHUP | EPOLLRDHUP) ?
			   "the daemon closed the connection" :
			   "unexpected message", 0);
		break;
	case KIND_BACKEND:
		if (d->vhu)
			backend_event(d);
		break;
	case KIND_RESAMPLE:
		vbe_dev_handle_resample(d->dev);
		break;
	case KIND_RELAY:
		if (read(d->relay_fd, &cnt, sizeof(cnt)) == sizeof(cnt))
			vbe_dev_notify_used(d->dev);
		break;
	}
	return 0;
}

/*
 * The request channel's counters next to the kernel's kicks and
 * interrupts, and this process's CPU time: with the data path in the
 * kernel, requests stay few while kicks and interrupts grow.
 */
static void print_stats(void)
{
	struct virtbe_stats st;
	struct timespec cpu;

	if (!br.guest || vbe_guest_get_stats(br.guest, &st))
		return;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu);
	printf(PROG ": guest %" PRIu64 ": %llu register accesses served here, %llu kicks and %llu interrupts in the kernel; CPU time %.3f s\n",
	       br.guest_id, (unsigned long long)st.out_requests,
	       (unsigned long long)st.out_kicks,
	       (unsigned long long)st.out_irqs,
	       (double)cpu.tv_sec + (double)cpu.tv_nsec / 1e9);
}

static int run(int sfd, int tfd)
{
	struct epoll_event evs[32];
	struct signalfd_siginfo si;
	uint64_t exp;
	int n, k, ret;

	ret = ep_add(vbe_guest_fd(br.guest), TAG_GUEST, EPOLLIN);
	if (!ret)
		ret = ep_add(sfd, TAG_SIGNAL, EPOLLIN);
	if (!ret)
		ret = ep_add(tfd, TAG_TIMER, EPOLLIN);
	if (!ret)
		ret = tick();
	if (ret)
		return ret;
	for (;;) {
		n = epoll_wait(br.ep, evs, 32, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (k = 0; k < n; k++) {
			uint64_t tag = evs[k].data.u64;

			if (tag == TAG_GUEST) {
				ret = vbe_guest_process(br.guest);
				if (ret == -ENODEV ||
				    (ret == 0 && (evs[k].events &
						  (EPOLLHUP | EPOLLERR)))) {
					printf(PROG ": the guest is gone\n");
					return 0;
				}
				if (ret < 0)
					return ret;
			} else if (tag == TAG_SIGNAL) {
				if (read(sfd, &si, sizeof(si)) != sizeof(si))
					continue;
				if (si.ssi_signo == SIGCHLD) {
					reap_children();
					continue;
				}
				if (si.ssi_signo == SIGUSR1) {
					print_stats();
					continue;
				}
				vlog("signal %u\n", si.ssi_signo);
				return 0;
			} else if (tag == TAG_TIMER) {
				if (read(tfd, &exp, sizeof(exp)) < 0)
					continue;
				ret = tick();
				if (ret)
					return ret;
			} else {
				dev_event(tag, evs[k].events);
			}
		}
	}
}

/* Configuration */

static void usage(FILE *f)
{
	fprintf(f,
"usage: " PROG " --hyp sim|xen|bao --guest ID --mem GPA:LEN... --device SPEC...\n"
"       " PROG " --dtb FILE [--guest ID]\n"
"Serves virtio-mmio devices of a guest with vhost-user daemons.\n"
"options:\n"
"  --hyp NAME        the guest's hypervisor\n"
"  --guest ID        the guest (with --dtb: which guest node to serve)\n"
"  --mem GPA:LEN     a window of guest RAM the daemons may use (repeatable,\n"
"                    at most %d); virtqueues and buffers must lie inside\n"
"  --device SPEC     a device, SPEC a comma-separated list of:\n"
"      type=NAME     blk, fs, net, rng, ... or the virtio device id\n"
"      base=ADDR     guest-physical address of the registers\n"
"      size=LEN      register window (default 0x200)\n"
"      irq=N         interrupt line or event channel port\n"
"      irq-type=T    edge, level or evtchn\n"
"      socket=PATH   the daemon's vhost-user socket\n"
"      queues=N      virtqueues (default: the daemon's)\n"
"      queue-size=N  QueueNumMax (default %d)\n"
"      tag=TAG       virtio-fs tag (for daemons without config space)\n"
"      access-platform=on  offer VIRTIO_F_ACCESS_PLATFORM to the guest (its\n"
"                    DMA through a restricted DMA pool: Bao)\n"
"      exec=CMD      last: the rest is a command (sh -c) that starts the\n"
"                    daemon; it is started again when it exits\n"
"  --timeout-ms N    request timeout of the guest (default: kernel's)\n"
"  --dtb FILE        take everything from a virtbe device tree (devices\n"
"                    with virtbe,backend = \"vhost-user\")\n"
"  --verbose         print each control-path step\n",
	MAX_MEM, DEFAULT_QUEUE_SIZE);
}

/* What every device needs, whichever way it was configured. */
static int check_dev(struct vdev *d, const char *how)
{
	if (!d->socket) {
		derr(d, "no daemon socket (%s): where does its vhost-user daemon listen?",
		     how);
		return -EINVAL;
	}
	if (!d->type) {
		derr(d, "no device type (type= or virtbe,device-type)");
		return -EINVAL;
	}
	if (d->size < VBE_DEV_MIN_SIZE) {
		derr(d, "register window 0x%" PRIx64 " is smaller than 0x%x",
		     d->size, VBE_DEV_MIN_SIZE);
		return -EINVAL;
	}
	if (!d->queue_size || d->queue_size > VBE_VQ_MAX_SIZE ||
	    (d->queue_size & (d->queue_size - 1))) {
		derr(d, "queue size %u: a power of 2 up to %u", d->queue_size,
		     VBE_VQ_MAX_SIZE);
		return -EINVAL;
	}
	if (d->queues > MAX_QUEUES) {
		derr(d, "%u queues: at most %d", d->queues, MAX_QUEUES);
		return -EINVAL;
	}
	if (d->tag && strlen(d->tag) > FS_TAG_LEN) {
		derr(d, "tag \"%s\" is longer than %d bytes", d->tag,
		     FS_TAG_LEN);
		return -EINVAL;
	}
	return 0;
}

/* --device type=blk,base=...,exec=CMD */
static int parse_device(struct vdev *d, char *spec)
{
	bool have_base = false, have_irq = false;
	char *p = spec, *key, *val, *comma;
	uint64_t v;

	d->size = DEFAULT_SIZE;
	d->queue_size = DEFAULT_QUEUE_SIZE;
	d->irq_type = VIRTBE_IRQ_EDGE;
	while (p && *p) {
		key = p;
		val = strchr(p, '=');
		if (!val) {
			derr(d, "\"%s\": expected key=value", key);
			return -EINVAL;
		}
		*val++ = 0;
		if (!strcmp(key, "exec")) {
			d->exec = val;	/* the rest, commas and all */
			break;
		}
		comma = strchr(val, ',');
		if (comma)
			*comma = 0;
		p = comma ? comma + 1 : NULL;
		if (!strcmp(key, "type")) {
			if (parse_type(val, &d->type))
				goto bad;
		} else if (!strcmp(key, "base")) {
			if (!parse_u64(val, &d->base))
				goto bad;
			have_base = true;
		} else if (!strcmp(key, "size")) {
			if (!parse_u64(val, &d->size) || d->size > UINT32_MAX)
				goto bad;
		} else if (!strcmp(key, "irq")) {
			if (!parse_u64(val, &v) || v > UINT32_MAX)
				goto bad;
			d->irq = (uint32_t)v;
			have_irq = true;
		} else if (!strcmp(key, "irq-type")) {
			int t = parse_irq_type(val);

			if (t < 0)
				goto bad;
			d->irq_type = (uint32_t)t;
		} else if (!strcmp(key, "socket")) {
			d->socket = val;
		} else if (!strcmp(key, "queues")) {
			if (!parse_u64(val, &v) || !v || v > MAX_QUEUES)
				goto bad;
			d->queues = (unsigned int)v;
		} else if (!strcmp(key, "queue-size")) {
			if (!parse_u64(val, &v) || v > UINT32_MAX)
				goto bad;
			d->queue_size = (unsigned int)v;
		} else if (!strcmp(key, "tag")) {
			d->tag = val;
		} else if (!strcmp(key, "access-platform")) {
			if (strcmp(val, "on") && strcmp(val, "off"))
				goto bad;
			d->access_platform = !strcmp(val, "on");
		} else {
			derr(d, "unknown key \"%s\" (type, base, size, irq, irq-type, socket, queues, queue-size, tag, access-platform, exec)",
			     key);
			return -EINVAL;
		}
	}
	if (!have_base || !have_irq) {
		derr(d, "base= and irq= are required");
		return -EINVAL;
	}
	return check_dev(d, "socket=");
bad:
	derr(d, "bad value \"%s\" for %s", val, key);
	return -EINVAL;
}

/* One vhost-user device node of the DT. */
static int dt_device(struct vdev *d, const struct vbe_dt_dev *n)
{
	const char *s;
	uint32_t v;
	int ret;

	d->name = vbe_dt_dev_name(n);
	d->base = vbe_dt_dev_base(n);
	d->size = vbe_dt_dev_size(n);
	d->queue_size = DEFAULT_QUEUE_SIZE;
	vbe_dt_dev_irq(n, &d->irq_type, &d->irq, &d->msi_addr, &d->msi_data);
	ret = vbe_dt_dev_prop_string(n, "virtbe,vhost-user-socket", &d->socket);
	if (ret) {
		derr(d, "virtbe,vhost-user-socket: %s (the daemon's unix socket path)",
		     ret == -ENOENT ? "missing" : "not a string");
		return -EINVAL;
	}
	ret = vbe_dt_dev_prop_string(n, "virtbe,device-type", &s);
	if (ret || parse_type(s, &d->type)) {
		derr(d, "virtbe,device-type: %s (\"blk\", \"fs\", ... or a virtio device id)",
		     ret == -ENOENT ? "missing" : "not a device type");
		return -EINVAL;
	}
	ret = vbe_dt_dev_prop_string(n, "virtbe,vhost-user-exec", &d->exec);
	if (ret && ret != -ENOENT) {
		derr(d, "virtbe,vhost-user-exec: not a string");
		return ret;
	}
	ret = vbe_dt_dev_prop_u32(n, "virtbe,num-queues", &v);
	if (!ret && (!v || v > MAX_QUEUES))
		ret = -EINVAL;
	if (ret && ret != -ENOENT) {
		derr(d, "virtbe,num-queues: one cell, 1 to %d", MAX_QUEUES);
		return -EINVAL;
	}
	d->queues = ret ? 0 : v;
	ret = vbe_dt_dev_prop_u32(n, "virtbe,queue-size", &v);
	if (ret && ret != -ENOENT) {
		derr(d, "virtbe,queue-size: one cell");
		return -EINVAL;
	}
	if (!ret)
		d->queue_size = v;
	d->access_platform = vbe_dt_dev_prop_bool(n, "virtbe,access-platform");
	ret = vbe_dt_dev_prop_string(n, "virtbe,fs-tag", &d->tag);
	if (ret && ret != -ENOENT) {
		derr(d, "virtbe,fs-tag: not a string");
		return ret;
	}
	return check_dev(d, "virtbe,vhost-user-socket");
}

static int from_dtb(const char *path, struct vbe_dt **dtp)
{
	const struct vbe_dt_guest *g = NULL;
	const struct vbe_dt_dev *n;
	struct vbe_dt *dt;
	unsigned int i;
	int ret;

	char msg[256];

	ret = vbe_dt_load_file_msg(path, &dt, msg, sizeof(msg));
	if (ret) {
		fprintf(stderr, PROG ": %s: %s\n", path, msg);
		return ret;
	}
	*dtp = dt;
	for (i = 0; i < vbe_dt_num_guests(dt); i++) {
		g = vbe_dt_guest(dt, i);
		if (!br.have_guest || vbe_dt_guest_id(g) == br.guest_id)
			break;
		g = NULL;
	}
	if (!g) {
		fprintf(stderr, PROG ": %s: no guest node with virtbe,guest-id = %" PRIu64 "\n",
			path, br.guest_id);
		return -ENOENT;
	}
	br.hyp = (int)vbe_dt_guest_hyp(g);
	br.guest_id = vbe_dt_guest_id(g);
	br.timeout_ms = vbe_dt_guest_timeout_ms(g);
	for (i = 0; i < vbe_dt_guest_num_mem(g); i++) {
		if (br.nmem == MAX_MEM) {
			fprintf(stderr, PROG ": %s: guest %" PRIu64 ": virtbe,memory: more than %d windows (vhost-user's limit)\n",
				path, br.guest_id, MAX_MEM);
			return -E2BIG;
		}
		vbe_dt_guest_mem(g, i, &br.mem[br.nmem][0],
				 &br.mem[br.nmem][1]);
		br.nmem++;
	}
	for (i = 0; i < vbe_dt_guest_num_devs(g); i++) {
		n = vbe_dt_guest_dev(g, i);
		if (strcmp(vbe_dt_dev_backend(n), "vhost-user"))
			continue;	/* served by another program */
		if (br.ndevs == MAX_DEVS) {
			fprintf(stderr, PROG ": %s: more than %d vhost-user devices\n",
				path, MAX_DEVS);
			return -E2BIG;
		}
		ret = dt_device(&br.devs[br.ndevs], n);
		if (ret)
			return ret;
		br.ndevs++;
	}
	if (!br.ndevs) {
		fprintf(stderr, PROG ": %s: guest %" PRIu64 " has no device with virtbe,backend = \"vhost-user\"\n",
			path, br.guest_id);
		return -ENOENT;
	}
	if (!br.nmem) {
		fprintf(stderr, PROG ": %s: guest %" PRIu64 ": no virtbe,memory: the daemons need the guest's RAM\n",
			path, br.guest_id);
		return -EINVAL;
	}
	return 0;
}

static int parse_args(int argc, char **argv, struct vbe_dt **dtp)
{
	static const struct option opts[] = {
		{ "hyp", required_argument, NULL, 'h' },
		{ "guest", required_argument, NULL, 'g' },
		{ "mem", required_argument, NULL, 'm' },
		{ "device", required_argument, NULL, 'D' },
		{ "timeout-ms", required_argument, NULL, 'T' },
		{ "dtb", required_argument, NULL, 'd' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'H' },
		{ NULL, 0, NULL, 0 },
	};
	static char names[MAX_DEVS][24];
	const char *dtb = NULL;
	uint64_t v;
	int o, ret;

	br.hyp = -1;
	while ((o = getopt_long(argc, argv, "v", opts, NULL)) != -1) {
		switch (o) {
		case 'h':
			br.hyp = vbe_hyp_from_name(optarg);
			if (br.hyp < 0) {
				fprintf(stderr, PROG ": --hyp %s: unknown hypervisor (sim, xen)\n",
					optarg);
				return -EINVAL;
			}
			break;
		case 'g':
			if (!parse_u64(optarg, &br.guest_id))
				goto bad;
			br.have_guest = true;
			break;
		case 'm':
			if (br.nmem == MAX_MEM) {
				fprintf(stderr, PROG ": --mem: at most %d windows (vhost-user's limit)\n",
					MAX_MEM);
				return -E2BIG;
			}
			/* a window of length 0 is refused */
			if (!parse_mem(optarg, br.mem[br.nmem]) ||
			    !br.mem[br.nmem][1])
				goto bad;
			br.nmem++;
			break;
		case 'D':
			if (br.ndevs == MAX_DEVS) {
				fprintf(stderr, PROG ": --device: at most %d\n",
					MAX_DEVS);
				return -E2BIG;
			}
			snprintf(names[br.ndevs], sizeof(names[0]),
				 "--device %u", br.ndevs + 1);
			br.devs[br.ndevs].name = names[br.ndevs];
			ret = parse_device(&br.devs[br.ndevs], optarg);
			if (ret)
				return ret;
			br.ndevs++;
			break;
		case 'T':
			if (!parse_u64(optarg, &v) || v > UINT32_MAX)
				goto bad;
			br.timeout_ms = (uint32_t)v;
			break;
		case 'd':
			dtb = optarg;
			break;
		case 'v':
			verbose = true;
			break;
		case 'H':
			usage(stdout);
			exit(0);
		default:
			goto usage;
		}
	}
	if (optind != argc)
		goto usage;
	if (dtb) {
		if (br.ndevs || br.nmem || br.hyp >= 0) {
			fprintf(stderr, PROG ": --dtb takes everything from the tree: no --device, --mem or --hyp\n");
			return -EINVAL;
		}
		return from_dtb(dtb, dtp);
	}
	if (br.hyp < 0 || !br.have_guest || !br.nmem || !br.ndevs) {
		fprintf(stderr, PROG ": --hyp, --guest, --mem and --device are required\n");
		goto usage;
	}
	return 0;
bad:
	fprintf(stderr, PROG ": bad value \"%s\"\n", optarg);
usage:
	usage(stderr);
	return -EINVAL;
}

/* SIGTERM a daemon started with exec=; SIGKILL it after 3 s. */
static void stop_daemon(struct vdev *d)
{
	int status, ms;

	kill(d->pid, SIGTERM);
	for (ms = 0; ms < 3000; ms += 10) {
		if (waitpid(d->pid, &status, WNOHANG) == d->pid)
			break;
		usleep(10000);
	}
	if (ms >= 3000) {
		derr(d, "the daemon (pid %d) ignored SIGTERM for 3 s: killed",
		     (int)d->pid);
		kill(d->pid, SIGKILL);
		waitpid(d->pid, &status, 0);
	}
	d->pid = 0;
}

static void shutdown_devices(void)
{
	unsigned int i, q;

	br.stopping = true;
	for (i = 0; i < br.ndevs; i++) {
		struct vdev *d = &br.devs[i];

		/* stop the daemon's rings before the memory goes away */
		for (q = 0; d->vhu && q < d->nq; q++)
			stop_ring(d, q);
		if (d->vhu) {
			vhu_close(d->vhu);
			d->vhu = NULL;
		}
		destroy_device(d);
		if (d->pid > 0)
			stop_daemon(d);
	}
}

int main(int argc, char **argv)
{
	struct vbe_ctl *ctl = NULL;
	struct vbe_dt *dt = NULL;
	struct itimerspec its = {
		.it_interval = { 0, TICK_MS * 1000000L },
		.it_value = { 0, TICK_MS * 1000000L },
	};
	struct virtbe_info info;
	char msg[384];
	unsigned int i;
	sigset_t mask;
	int ret, sfd = -1, tfd = -1;

	setvbuf(stdout, NULL, _IOLBF, 0);
	br.ep = -1;
	for (i = 0; i < MAX_DEVS; i++)
		br.devs[i].relay_fd = -1;
	ret = parse_args(argc, argv, &dt);
	if (ret)
		goto out;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGUSR1);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	br.ep = epoll_create1(EPOLL_CLOEXEC);
	if (sfd < 0 || tfd < 0 || br.ep < 0 || timerfd_settime(tfd, 0, &its, NULL)) {
		ret = -errno;
		fprintf(stderr, PROG ": %s\n", strerror(-ret));
		goto out;
	}

	ret = vbe_ctl_open(&ctl);
	if (ret) {
		fprintf(stderr, PROG ": %s\n",
			hint_ctl_open(ret, msg, sizeof(msg)));
		goto out;
	}
	ret = vbe_ctl_get_info(ctl, (uint32_t)br.hyp, &info);
	if (ret) {
		/* which backends are loaded, to say so */
		if (vbe_ctl_get_info(ctl, 0, &info))
			info.out_hyps = 0;
		fprintf(stderr, PROG ": %s\n",
			hint_attach((uint32_t)br.hyp, br.guest_id, ret,
				    info.out_hyps, msg, sizeof(msg)));
		goto out;
	}
	ret = vbe_guest_attach(ctl, (uint32_t)br.hyp, br.guest_id, br.timeout_ms,
			       &br.guest);
	if (ret) {
		fprintf(stderr, PROG ": %s\n",
			hint_attach((uint32_t)br.hyp, br.guest_id, ret,
				    info.out_hyps, msg, sizeof(msg)));
		goto out;
	}
	for (i = 0; i < br.nmem; i++) {
		ret = vbe_mem_map(br.guest, br.mem[i][0], br.mem[i][1], 0,
				  &br.mems[i]);
		if (ret) {
			char what[64];

			if (dt)
				snprintf(what, sizeof(what),
					 "virtbe,memory window %u", i);
			else
				snprintf(what, sizeof(what),
					 "--mem 0x%" PRIx64 ":0x%" PRIx64,
					 br.mem[i][0], br.mem[i][1]);
			fprintf(stderr, PROG ": %s\n",
				hint_mem_map(what, (uint32_t)br.hyp,
					     br.guest_id, br.mem[i][0],
					     br.mem[i][1], ret, msg,
					     sizeof(msg)));
			goto out;
		}
	}
	printf(PROG ": attached to %s guest %" PRIu64 ", %u memory window%s, %u device%s\n",
	       vbe_hyp_name((uint32_t)br.hyp), br.guest_id, br.nmem,
	       br.nmem == 1 ? "" : "s", br.ndevs, br.ndevs == 1 ? "" : "s");
	for (i = 0; i < br.ndevs; i++)
		retry_soon(&br.devs[i]);

	ret = run(sfd, tfd);
	if (ret)
		fprintf(stderr, PROG ": %s\n", strerror(-ret));
	print_stats();
out:
	shutdown_devices();
	for (i = 0; i < MAX_MEM; i++)
		vbe_mem_unmap(br.mems[i]);
	vbe_guest_close(br.guest);
	vbe_ctl_close(ctl);
	vbe_dt_free(dt);
	if (br.ep >= 0)
		close(br.ep);
	if (tfd >= 0)
		close(tfd);
	if (sfd >= 0)
		close(sfd);
	return ret ? 1 : 0;
}
