// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * vbe-blk: a virtio-blk device backed by a file, written only against
 * libvirtbe: it runs unchanged on every hypervisor virtbe supports.
 *
 *   vbe-blk --hyp sim|xen|bao --guest ID --base ADDR --irq N
 *           --irq-type edge|level|evtchn --file PATH --mem GPA:LEN [...]
 *   vbe-blk --dtb FILE [--guest ID]
 *
 * One thread, one epoll loop over the guest fd (trapped register
 * accesses), each device's kick eventfd, the resample eventfd of level
 * interrupts and a signalfd (SIGTERM, SIGINT; SIGUSR1 prints the kernel's
 * counters of the guest fd and each device's requests and refused
 * accesses, on stdout, flushed).  Where the kernel keeps InterruptStatus
 * (VIRTBE_F_VIRTIO_MMIO_ISR) it also raises level lines again by itself;
 * the resample eventfd is then only drained.  It exits cleanly (status 0)
 * on SIGTERM and SIGINT and when the guest goes away.
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_ring.h>

#include <virtbe/virtbe.h>

#include "args.h"
#include "hints.h"

#define MAX_DEVS 16
#define MAX_MEM 16
#define QUEUE_SIZE 256
#define SEG_MAX 126			/* data segments per request */
#define IOV_MAX_REQ (SEG_MAX + 2)	/* + header + status */
#define SECTOR 512ULL
#define DEFAULT_SIZE 0x200
#define MAX_TIMEOUT_MS 60000		/* VIRTBE_ATTACH's limit */

struct blk {
	int index;
	const char *name;		/* for messages: DT node or "--base" */
	char label[48];			/* the name of a --base device */
	bool dt;			/* from --dtb */
	uint64_t base, size;
	uint32_t irq_type, irq;
	uint64_t msi_addr;
	uint32_t msi_data;
	const char *path;
	bool ro;
	bool access_platform;		/* offer VIRTIO_F_ACCESS_PLATFORM */
	char serial[VIRTIO_BLK_ID_BYTES];

	int fd;
	uint64_t sectors;
	struct vbe_dev *dev;
	struct vbe_vq *vq;
	uint64_t requests;
};

struct config {
	int hyp;
	uint64_t guest_id;
	bool have_guest;
	uint32_t timeout_ms;
	unsigned int nmem;
	uint64_t mem[MAX_MEM][2];
	const char *mem_arg[MAX_MEM];	/* --mem's value, for messages */
	const char *dt_path;		/* --dtb FILE, or NULL */
	const char *dt_guest;		/* its guest node, for messages */
	unsigned int ndevs;
	struct blk devs[MAX_DEVS];
};

static bool verbose;

static void vlog(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void vlog(const char *fmt, ...)
{
	va_list ap;

	if (!verbose)
		return;
	va_start(ap, fmt);
	vfprintf(stdout, fmt, ap);
	va_end(ap);
	fflush(stdout);
}

static void err(const char *what, int ret)
{
	fprintf(stderr, "vbe-blk: %s: %s\n", what, strerror(-ret));
}

/* Requests */

static const char *type_name(uint32_t type, char buf[16])
{
	switch (type) {
	case VIRTIO_BLK_T_IN: return "IN";
	case VIRTIO_BLK_T_OUT: return "OUT";
	case VIRTIO_BLK_T_FLUSH: return "FLUSH";
	case VIRTIO_BLK_T_GET_ID: return "GET_ID";
	}
	snprintf(buf, 16, "T%" PRIu32, type);
	return buf;
}

static const char *status_name(uint8_t s)
{
	return s == VIRTIO_BLK_S_OK ? "OK" :
	       s == VIRTIO_BLK_S_IOERR ? "IOERR" : "UNSUPP";
}

/*
 * Copy @src (@n segments) into @dst, skipping @skip bytes and keeping
 * @len bytes; returns the number of segments.
 */
static int iov_slice(struct iovec *dst, const struct iovec *src,
		     unsigned int n, size_t skip, size_t len)
{
	unsigned int i;
	int k = 0;
	size_t l;

	for (i = 0; i < n && len; i++) {
		if (skip >= src[i].iov_len) {
			skip -= src[i].iov_len;
			continue;
		}
		l = src[i].iov_len - skip;
		if (l > len)
			l = len;
		dst[k].iov_base = (char *)src[i].iov_base + skip;
		dst[k].iov_len = l;
		k++;
		len -= l;
		skip = 0;
	}
	return k;
}

/* preadv/pwritev the whole of @iov at @off; 0 or -errno. */
static int rw_full(int fd, struct iovec *iov, int cnt, uint64_t off,
		   bool write)
{
	ssize_t n;

	while (cnt > 0) {
		n = write ? pwritev(fd, iov, cnt, (off_t)off) :
			    preadv(fd, iov, cnt, (off_t)off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;	/* end of file inside the disk */
		off += (uint64_t)n;
		while (cnt > 0 && (size_t)n >= iov->iov_len) {
			n -= (ssize_t)iov->iov_len;
			iov++;
			cnt--;
		}
		if (cnt > 0) {
			iov->iov_base = (char *)iov->iov_base + n;
			iov->iov_len -= (size_t)n;
		}
	}
	return 0;
}

static bool range_ok(const struct blk *b, uint64_t sector, uint64_t bytes)
{
	return bytes % SECTOR == 0 && sector <= b->sectors &&
	       bytes / SECTOR <= b->sectors - sector;
}

/* Serve one request; returns the used length (bytes written + status). */
static uint32_t blk_request(struct blk *b, const struct vbe_vq_elem *e)
{
	struct iovec *out = e->iov, *in = e->iov + e->out_num;
	struct iovec data[IOV_MAX_REQ];
	struct virtio_blk_outhdr hdr;
	uint32_t type, written = 0;
	uint64_t sector, len = 0;
	uint8_t status = VIRTIO_BLK_S_OK;
	char id[VIRTIO_BLK_ID_BYTES], tbuf[16];
	int cnt, ret;

	if (e->out_len < sizeof(hdr) || e->in_len < 1) {
		vlog("blk%d: malformed request (out %u in %u bytes)\n",
		     b->index, e->out_len, e->in_len);
		return 0;
	}
	/* copy the header once: the guest may change it under us */
	vbe_iov_to_buf(out, e->out_num, 0, &hdr, sizeof(hdr));
	type = le32toh(hdr.type);
	sector = le64toh(hdr.sector);

	switch (type) {
	case VIRTIO_BLK_T_IN:
		len = e->in_len - 1;
		if (!range_ok(b, sector, len)) {
			status = VIRTIO_BLK_S_IOERR;
			break;
		}
		cnt = iov_slice(data, in, e->in_num, 0, len);
		ret = rw_full(b->fd, data, cnt, sector * SECTOR, false);
		if (ret)
			status = VIRTIO_BLK_S_IOERR;
		else
			written = (uint32_t)len;
		break;
	case VIRTIO_BLK_T_OUT:
		len = e->out_len - sizeof(hdr);
		if (b->ro || !range_ok(b, sector, len)) {
			status = VIRTIO_BLK_S_IOERR;
			break;
		}
		cnt = iov_slice(data, out, e->out_num, sizeof(hdr), len);
		if (rw_full(b->fd, data, cnt, sector * SECTOR, true))
			status = VIRTIO_BLK_S_IOERR;
		break;
	case VIRTIO_BLK_T_FLUSH:
		if (fdatasync(b->fd))
			status = VIRTIO_BLK_S_IOERR;
		break;
	case VIRTIO_BLK_T_GET_ID:
		len = e->in_len - 1;
		if (len > sizeof(id))
			len = sizeof(id);
		memcpy(id, b->serial, sizeof(id));
		written = (uint32_t)vbe_iov_from_buf(in, e->in_num, 0, id, len);
		break;
	default:
		status = VIRTIO_BLK_S_UNSUPP;
		break;
	}
	vbe_iov_from_buf(in, e->in_num, e->in_len - 1, &status, 1);
	b->requests++;
	vlog("blk%d: %-6s sector %-10" PRIu64 " len %-7" PRIu64 " -> %s\n",
	     b->index, type_name(type, tbuf), sector, len,
	     status_name(status));
	return written + 1;
}

static void blk_process(struct blk *b)
{
	struct iovec iov[IOV_MAX_REQ];
	struct vbe_vq_elem e;
	bool pushed = false;
	int ret;

	if (!b->vq)
		return;
	for (;;) {
		vbe_vq_disable_notify(b->vq);
		while ((ret = vbe_vq_pop(b->vq, iov, IOV_MAX_REQ, &e)) == 1) {
			vbe_vq_push(b->vq, e.head, blk_request(b, &e));
			pushed = true;
		}
		if (ret == 0)
			ret = vbe_vq_enable_notify(b->vq);
		if (ret <= 0)
			break;
	}
	if (ret < 0) {
		fprintf(stderr, "vbe-blk: blk%d: the driver broke the queue\n",
			b->index);
		vbe_dev_set_needs_reset(b->dev);
	}
	if (pushed && vbe_vq_need_notify(b->vq))
		vbe_dev_notify_used(b->dev);
}

/* Device callbacks */

static int blk_features_ok(struct vbe_dev *dev, uint64_t features)
{
	struct blk *b = vbe_dev_opaque(dev);

	vlog("blk%d: features 0x%" PRIx64 " accepted\n", b->index, features);
	return 0;
}

static void blk_driver_ok(struct vbe_dev *dev)
{
	struct blk *b = vbe_dev_opaque(dev);

	vlog("blk%d: driver ready\n", b->index);
}

static void blk_reset(struct vbe_dev *dev)
{
	struct blk *b = vbe_dev_opaque(dev);

	vlog("blk%d: reset\n", b->index);
}

static void blk_queue_ready(struct vbe_dev *dev, unsigned int q,
			    struct vbe_vq *vq)
{
	struct blk *b = vbe_dev_opaque(dev);

	b->vq = vq;
	if (vq)
		vlog("blk%d: queue %u ready, %u entries\n", b->index, q,
		     vbe_vq_num(vq));
	else
		vlog("blk%d: queue %u stopped\n", b->index, q);
}

static void blk_queue_notify(struct vbe_dev *dev, unsigned int q)
{
	(void)q;
	blk_process(vbe_dev_opaque(dev));
}

static const struct vbe_dev_ops blk_ops = {
	.features_ok = blk_features_ok,
	.driver_ok = blk_driver_ok,
	.reset = blk_reset,
	.queue_ready = blk_queue_ready,
	.queue_notify = blk_queue_notify,
};

static int blk_setup(struct blk *b, struct vbe_guest *guest)
{
	struct virtio_blk_config cfg;
	uint64_t features;
	uint32_t cfg_len;
	off_t end;
	int ret;

	b->fd = open(b->path, (b->ro ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (b->fd < 0) {
		ret = -errno;
		fprintf(stderr, "vbe-blk: %s: %s \"%s\": %s%s\n", b->name,
			b->dt ? "virtbe,backing-file" : "--file",
			b->path, strerror(-ret),
			ret == -EACCES || ret == -EROFS ?
			(b->ro ? "" : " (a read-only image needs --read-only / virtbe,read-only)") :
			"");
		return ret;
	}
	end = lseek(b->fd, 0, SEEK_END);	/* files and block devices */
	if (end < 0) {
		ret = -errno;
		fprintf(stderr, "vbe-blk: %s: \"%s\": cannot find its size: %s\n",
			b->name, b->path, strerror(-ret));
		return ret;
	}
	b->sectors = (uint64_t)end / SECTOR;

	ret = vbe_dev_new(b->base, b->size, VIRTIO_ID_BLOCK, 1, QUEUE_SIZE,
			  &b->dev);
	if (ret) {
		fprintf(stderr, "vbe-blk: %s: registers 0x%" PRIx64 "+0x%" PRIx64 ": %s%s\n",
			b->name, b->base, b->size, strerror(-ret),
			ret == -EINVAL ? " (the window must hold the 0x100 bytes of virtio-mmio registers and be 4-byte aligned)" : "");
		return ret;
	}
	features = (1ULL << VIRTIO_BLK_F_SEG_MAX) |
		   (1ULL << VIRTIO_BLK_F_FLUSH) |
		   (1ULL << VIRTIO_RING_F_INDIRECT_DESC) |
		   (1ULL << VIRTIO_RING_F_EVENT_IDX) |
		   (1ULL << VIRTIO_F_VERSION_1);
	if (b->ro)
		features |= 1ULL << VIRTIO_BLK_F_RO;
	if (b->access_platform)
		features |= 1ULL << VIRTIO_F_ACCESS_PLATFORM;
	memset(&cfg, 0, sizeof(cfg));
	cfg.capacity = htole64(b->sectors);
	cfg.seg_max = htole32(SEG_MAX);
	cfg_len = sizeof(cfg);
	if (cfg_len > b->size - VBE_DEV_MIN_SIZE)
		cfg_len = (uint32_t)(b->size - VBE_DEV_MIN_SIZE);

	ret = vbe_dev_set_ops(b->dev, &blk_ops, b);
	if (!ret)
		ret = vbe_dev_set_features(b->dev, features);
	if (!ret)
		ret = vbe_dev_set_config(b->dev, &cfg, cfg_len);
	if (!ret)
		ret = vbe_dev_set_irq(b->dev, b->irq_type, b->irq, b->msi_addr,
				      b->msi_data);
	if (ret) {
		fprintf(stderr, "vbe-blk: %s: interrupt type %u number %u: %s\n",
			b->name, b->irq_type, b->irq, strerror(-ret));
		return ret;
	}
	ret = vbe_dev_attach(b->dev, guest);
	if (ret) {
		char msg[256];

		fprintf(stderr, "vbe-blk: %s\n",
			hint_claim(b->name, b->base, b->size, ret, msg,
				   sizeof(msg)));
		return ret;
	}
	vlog("blk%d: %s, %" PRIu64 " sectors%s, registers 0x%" PRIx64
	     "+0x%" PRIx64 ", irq %u type %u, InterruptStatus kept by %s\n",
	     b->index, b->path, b->sectors, b->ro ? " (read-only)" : "",
	     b->base, b->size, b->irq, b->irq_type,
	     vbe_dev_kernel_isr(b->dev) ? "the kernel" : "vbe-blk");
	return 0;
}

/* Configuration */

static void usage(FILE *f)
{
	fprintf(f,
"usage: vbe-blk --hyp sim|xen|bao --guest ID --base ADDR --irq N\n"
"               --irq-type edge|level|evtchn --file PATH --mem GPA:LEN...\n"
"       vbe-blk --dtb FILE [--guest ID]\n"
"options:\n"
"  --hyp NAME        the guest's hypervisor\n"
"  --guest ID        the guest (with --dtb: which guest node to serve)\n"
"  --base ADDR       guest-physical address of the registers\n"
"  --size LEN        size of the register window (default 0x200)\n"
"  --irq N           interrupt line or event channel port\n"
"  --irq-type TYPE   edge, level or evtchn\n"
"  --file PATH       the disk image\n"
"  --read-only       offer a read-only disk\n"
"  --access-platform offer VIRTIO_F_ACCESS_PLATFORM: the guest's DMA API\n"
"                    places buffers (e.g. in a restricted DMA pool: Bao)\n"
"  --serial STR      the disk's identifier (GET_ID)\n"
"  --mem GPA:LEN     a window of guest RAM to map (repeatable)\n"
"  --timeout-ms N    request timeout of the guest (default: kernel's)\n"
"  --dtb FILE        take everything from a virtbe device tree\n"
"  --verbose         print each request\n");
}

/* The GET_ID string: up to 20 bytes, NUL-padded, not NUL-terminated. */
static void set_serial(struct blk *b, const char *s)
{
	size_t n = strlen(s);

	memset(b->serial, 0, sizeof(b->serial));
	memcpy(b->serial, s, n < sizeof(b->serial) ? n : sizeof(b->serial));
}

static int from_dtb(struct config *c, const char *path, struct vbe_dt **dtp)
{
	const struct vbe_dt_guest *g = NULL;
	const struct vbe_dt_dev *d;
	struct vbe_dt *dt;
	struct blk *b;
	const char *s;
	unsigned int i;
	int ret;

	char msg[256];

	ret = vbe_dt_load_file_msg(path, &dt, msg, sizeof(msg));
	if (ret) {
		fprintf(stderr, "vbe-blk: %s: %s\n", path, msg);
		return ret;
	}
	*dtp = dt;
	c->dt_path = path;
	for (i = 0; i < vbe_dt_num_guests(dt); i++) {
		g = vbe_dt_guest(dt, i);
		if (!c->have_guest || vbe_dt_guest_id(g) == c->guest_id)
			break;
		g = NULL;
	}
	if (!g) {
		fprintf(stderr, "vbe-blk: %s: --guest %" PRIu64 ": no guest node with virtbe,guest-id = %" PRIu64 "\n",
			path, c->guest_id, c->guest_id);
		return -ENOENT;
	}
	c->dt_guest = vbe_dt_guest_name(g);
	c->hyp = (int)vbe_dt_guest_hyp(g);
	c->guest_id = vbe_dt_guest_id(g);
	c->timeout_ms = vbe_dt_guest_timeout_ms(g);
	if (vbe_dt_guest_num_mem(g) > MAX_MEM) {
		fprintf(stderr, "vbe-blk: %s: %s: virtbe,memory: %u windows: vbe-blk maps at most %d\n",
			path, c->dt_guest, vbe_dt_guest_num_mem(g), MAX_MEM);
		return -E2BIG;
	}
	for (i = 0; i < vbe_dt_guest_num_mem(g); i++)
		vbe_dt_guest_mem(g, i, &c->mem[c->nmem][0],
				 &c->mem[c->nmem][1]), c->nmem++;
	for (i = 0; i < vbe_dt_guest_num_devs(g); i++) {
		d = vbe_dt_guest_dev(g, i);
		if (strcmp(vbe_dt_dev_backend(d), "blk"))
			continue;	/* served by someone else */
		if (c->ndevs == MAX_DEVS) {
			fprintf(stderr, "vbe-blk: %s: %s: more than %d \"blk\" devices\n",
				path, c->dt_guest, MAX_DEVS);
			return -E2BIG;
		}
		b = &c->devs[c->ndevs];
		b->index = (int)c->ndevs;
		b->name = vbe_dt_dev_name(d);
		b->dt = true;
		b->base = vbe_dt_dev_base(d);
		b->size = vbe_dt_dev_size(d);
		vbe_dt_dev_irq(d, &b->irq_type, &b->irq, &b->msi_addr,
			       &b->msi_data);
		ret = vbe_dt_dev_prop_string(d, "virtbe,backing-file",
					     &b->path);
		if (ret) {
			fprintf(stderr, "vbe-blk: %s: %s: virtbe,backing-file: %s\n",
				path, vbe_dt_dev_name(d),
				ret == -ENOENT ? "missing (required: the disk image's path)" :
				"not a string (want the disk image's path)");
			return ret;
		}
		b->ro = vbe_dt_dev_prop_bool(d, "virtbe,read-only");
		b->access_platform = vbe_dt_dev_prop_bool(d, "virtbe,access-platform");
		if (!vbe_dt_dev_prop_string(d, "virtbe,serial", &s))
			set_serial(b, s);
		c->ndevs++;
	}
	if (!c->ndevs) {
		fprintf(stderr, "vbe-blk: %s: %s (guest %" PRIu64 ") has no device with virtbe,backend = \"blk\"\n",
			path, c->dt_guest, c->guest_id);
		return -ENOENT;
	}
	return 0;
}

static int parse_args(int argc, char **argv, struct config *c,
		      struct vbe_dt **dtp)
{
	static const struct option opts[] = {
		{ "hyp", required_argument, NULL, 'h' },
		{ "guest", required_argument, NULL, 'g' },
		{ "base", required_argument, NULL, 'b' },
		{ "size", required_argument, NULL, 's' },
		{ "irq", required_argument, NULL, 'i' },
		{ "irq-type", required_argument, NULL, 't' },
		{ "file", required_argument, NULL, 'f' },
		{ "read-only", no_argument, NULL, 'r' },
		{ "access-platform", no_argument, NULL, 'A' },
		{ "serial", required_argument, NULL, 'S' },
		{ "mem", required_argument, NULL, 'm' },
		{ "timeout-ms", required_argument, NULL, 'T' },
		{ "dtb", required_argument, NULL, 'd' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'H' },
		{ NULL, 0, NULL, 0 },
	};
	struct blk *b = &c->devs[0];
	const char *dtb = NULL;
	bool have_base = false, have_irq = false;
	const char *want = "";
	uint64_t v;
	int o, idx = 0;

	memset(c, 0, sizeof(*c));
	b->size = DEFAULT_SIZE;
	b->irq_type = VIRTBE_IRQ_EDGE;
	c->hyp = -1;
	optind = 1;
	while ((o = getopt_long(argc, argv, "v", opts, &idx)) != -1) {
		switch (o) {
		case 'h':
			c->hyp = vbe_hyp_from_name(optarg);
			want = "an unknown hypervisor: sim, xen or bao";
			if (c->hyp < 0)
				goto bad;
			break;
		case 'g':
			want = "not a guest id (a number)";
			if (!parse_u64(optarg, &c->guest_id))
				goto bad;
			c->have_guest = true;
			break;
		case 'b':
			want = "not an address";
			if (!parse_u64(optarg, &b->base))
				goto bad;
			have_base = true;
			break;
		case 's':
			want = "not a size";
			if (!parse_u64(optarg, &b->size))
				goto bad;
			break;
		case 'i':
			want = "not an interrupt number (0 to 4294967295)";
			if (!parse_u64(optarg, &v) || v > UINT32_MAX)
				goto bad;
			b->irq = (uint32_t)v;
			have_irq = true;
			break;
		case 't':
			o = parse_irq_type(optarg);
			want = "an unknown interrupt type: edge, level or evtchn";
			if (o < 0)
				goto bad;
			b->irq_type = (uint32_t)o;
			break;
		case 'f':
			b->path = optarg;
			break;
		case 'r':
			b->ro = true;
			break;
		case 'A':
			b->access_platform = true;
			break;
		case 'S':
			set_serial(b, optarg);
			break;
		case 'm':
			want = "at most 16 windows";
			if (c->nmem == MAX_MEM)
				goto bad;
			want = "want GPA:LEN, two numbers, LEN not 0";
			if (!parse_mem(optarg, c->mem[c->nmem]) ||
			    !c->mem[c->nmem][1])
				goto bad;
			c->mem_arg[c->nmem++] = optarg;
			break;
		case 'T':
			want = "not a number of milliseconds";
			if (!parse_u64(optarg, &v))
				goto bad;
			want = "at most 60000";
			if (v > MAX_TIMEOUT_MS)
				goto bad;
			c->timeout_ms = (uint32_t)v;
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
	if (optind != argc) {
		fprintf(stderr, "vbe-blk: \"%s\": not an option\n",
			argv[optind]);
		goto usage;
	}
	if (dtb)
		return from_dtb(c, dtb, dtp);
	if (c->hyp < 0 || !c->have_guest || !have_base || !have_irq ||
	    !b->path || !c->nmem) {
		fprintf(stderr, "vbe-blk: missing:%s%s%s%s%s%s (or --dtb FILE)\n",
			c->hyp < 0 ? " --hyp" : "",
			c->have_guest ? "" : " --guest",
			have_base ? "" : " --base", have_irq ? "" : " --irq",
			b->path ? "" : " --file", c->nmem ? "" : " --mem");
		goto usage;
	}
	if (!b->serial[0])
		set_serial(b, "vbe-blk");
	snprintf(b->label, sizeof(b->label), "--base 0x%" PRIx64, b->base);
	b->name = b->label;
	c->ndevs = 1;
	return 0;

bad:
	fprintf(stderr, "vbe-blk: --%s %s: %s\n", opts[idx].name, optarg,
		want);
	return -EINVAL;
usage:
	usage(stderr);
	return -EINVAL;
}

/* The event loop */

#define TAG_GUEST 0
#define TAG_SIGNAL 1
#define TAG_KICK 2		/* + device index */
#define TAG_RESAMPLE 0x100	/* + device index */

static int ep_add(int ep, int fd, uint64_t tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = tag };

	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

/*
 * SIGUSR1: the guest fd's counters (VIRTBE_GET_STATS), then each device's,
 * flushed at once (stdout may be a file: whoever sent the signal waits for
 * the lines)
 */
static void print_stats(struct config *c, struct vbe_guest *guest)
{
	struct virtbe_stats st;
	unsigned int i;
	int ret;

	ret = vbe_guest_get_stats_sized(guest, &st, sizeof(st));
	if (ret) {
		fprintf(stderr, "vbe-blk: stats: VIRTBE_GET_STATS failed: %s\n",
			strerror(-ret));
		return;
	}
	printf("vbe-blk: stats: requests %llu completions %llu timeouts %llu aborted %llu kicks %llu replayed %llu irqs %llu rejected %llu\n",
	       (unsigned long long)st.out_requests,
	       (unsigned long long)st.out_completions,
	       (unsigned long long)st.out_timeouts,
	       (unsigned long long)st.out_aborted,
	       (unsigned long long)st.out_kicks,
	       (unsigned long long)st.out_kicks_replayed,
	       (unsigned long long)st.out_irqs,
	       (unsigned long long)st.out_rejected);
	for (i = 0; i < c->ndevs; i++)
		printf("vbe-blk: stats: %s: %" PRIu64 " requests, %" PRIu64 " invalid accesses\n",
		       c->devs[i].name, c->devs[i].requests,
		       vbe_dev_invalid_accesses(c->devs[i].dev));
	fflush(stdout);
}

static int run(struct config *c, struct vbe_guest *guest, int sfd)
{
	struct epoll_event evs[16];
	struct signalfd_siginfo si;
	unsigned int i;
	int ep, n, k, ret;
	uint64_t tag;

	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		return -errno;
	ret = ep_add(ep, vbe_guest_fd(guest), TAG_GUEST);
	if (!ret)
		ret = ep_add(ep, sfd, TAG_SIGNAL);
	for (i = 0; !ret && i < c->ndevs; i++) {
		ret = ep_add(ep, vbe_dev_kick_fd(c->devs[i].dev, 0),
			     TAG_KICK + i);
		if (!ret && c->devs[i].irq_type == VIRTBE_IRQ_LEVEL)
			ret = ep_add(ep, vbe_dev_resample_fd(c->devs[i].dev),
				     TAG_RESAMPLE + i);
	}
	if (ret)
		goto out;

	for (;;) {
		n = epoll_wait(ep, evs, 16, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			goto out;
		}
		for (k = 0; k < n; k++) {
			tag = evs[k].data.u64;
			if (tag == TAG_GUEST) {
				/* serve what is queued, then notice a hang-up */
				ret = vbe_guest_process(guest);
				if (ret == -ENODEV ||
				    (ret == 0 && (evs[k].events &
						  (EPOLLHUP | EPOLLERR)))) {
					vlog("guest gone\n");
					ret = 0;
					goto out;
				}
				if (ret < 0)
					goto out;
			} else if (tag == TAG_SIGNAL) {
				if (read(sfd, &si, sizeof(si)) != sizeof(si))
					continue;
				if (si.ssi_signo == SIGUSR1) {
					print_stats(c, guest);
					continue;
				}
				vlog("signal %u\n", si.ssi_signo);
				ret = 0;
				goto out;
			} else if (tag >= TAG_RESAMPLE) {
				vbe_dev_handle_resample(
					c->devs[tag - TAG_RESAMPLE].dev);
			} else {
				vbe_dev_handle_kick(c->devs[tag - TAG_KICK].dev,
						    0);
			}
		}
	}
out:
	close(ep);
	return ret;
}

int main(int argc, char **argv)
{
	struct vbe_mem *mems[MAX_MEM] = { NULL };
	struct vbe_guest *guest = NULL;
	struct vbe_ctl *ctl = NULL;
	struct vbe_dt *dt = NULL;
	struct virtbe_info info;
	static struct config c;
	char msg[384];
	unsigned int i;
	sigset_t mask;
	int ret, sfd = -1;

	setvbuf(stdout, NULL, _IOLBF, 0);
	ret = parse_args(argc, argv, &c, &dt);
	if (ret)
		goto out;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGUSR1);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0) {
		ret = -errno;
		err("signalfd", ret);
		goto out;
	}

	ret = vbe_ctl_open(&ctl);
	if (ret) {
		fprintf(stderr, "vbe-blk: %s\n",
			hint_ctl_open(ret, msg, sizeof(msg)));
		goto out;
	}
	ret = vbe_ctl_get_info(ctl, (uint32_t)c.hyp, &info);
	if (ret) {
		/* which backends are loaded, to say so */
		if (vbe_ctl_get_info(ctl, 0, &info))
			info.out_hyps = 0;
		fprintf(stderr, "vbe-blk: %s%s\n",
			hint_attach((uint32_t)c.hyp, c.guest_id, ret,
				    info.out_hyps, msg, sizeof(msg)),
			c.dt_path ? " (virtbe,hypervisor of --dtb)" : "");
		goto out;
	}
	if (info.out_api_version != VIRTBE_API_VERSION) {
		fprintf(stderr, "vbe-blk: kernel API version %u, want %u\n",
			info.out_api_version, VIRTBE_API_VERSION);
		ret = -EPROTO;
		goto out;
	}
	ret = vbe_guest_attach(ctl, (uint32_t)c.hyp, c.guest_id, c.timeout_ms,
			       &guest);
	if (ret) {
		fprintf(stderr, "vbe-blk: %s\n",
			hint_attach((uint32_t)c.hyp, c.guest_id, ret,
				    info.out_hyps, msg, sizeof(msg)));
		goto out;
	}
	vlog("attached to %s guest %" PRIu64 " (%u vCPUs)\n",
	     vbe_hyp_name((uint32_t)c.hyp), c.guest_id,
	     vbe_guest_nr_vcpus(guest));
	for (i = 0; i < c.nmem; i++) {
		ret = vbe_mem_map(guest, c.mem[i][0], c.mem[i][1], 0, &mems[i]);
		if (ret) {
			char what[160];

			if (c.dt_path)
				snprintf(what, sizeof(what),
					 "%s: %s: virtbe,memory window %u",
					 c.dt_path, c.dt_guest, i);
			else
				snprintf(what, sizeof(what), "--mem %s",
					 c.mem_arg[i]);
			fprintf(stderr, "vbe-blk: %s\n",
				hint_mem_map(what, (uint32_t)c.hyp, c.guest_id,
					     c.mem[i][0], c.mem[i][1], ret,
					     msg, sizeof(msg)));
			goto out;
		}
		vlog("mapped guest memory 0x%" PRIx64 "+0x%" PRIx64 "\n",
		     c.mem[i][0], c.mem[i][1]);
	}
	for (i = 0; i < c.ndevs; i++) {
		c.devs[i].fd = -1;
		ret = blk_setup(&c.devs[i], guest);
		if (ret)
			goto out;
	}

	ret = run(&c, guest, sfd);
	if (ret)
		err("event loop", ret);
out:
	for (i = 0; i < c.ndevs; i++) {
		vbe_dev_free(c.devs[i].dev);
		if (c.devs[i].fd >= 0)
			close(c.devs[i].fd);
		vlog("blk%u: %" PRIu64 " requests\n", i, c.devs[i].requests);
	}
	for (i = 0; i < MAX_MEM; i++)
		vbe_mem_unmap(mems[i]);
	vbe_guest_close(guest);
	vbe_ctl_close(ctl);
	vbe_dt_free(dt);
	if (sfd >= 0)
		close(sfd);
	return ret ? 1 : 0;
}
