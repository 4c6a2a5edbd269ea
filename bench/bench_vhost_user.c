// SPDX-License-Identifier: GPL-2.0
/*
 * 4 KiB random reads from the simulated guest's virtio-blk driver, at queue
 * depth 1 and 16, IOPS and median latency:
 *
 *   bridge   qemu-storage-daemon behind virtbe-vhost-user (the daemon gets
 *            the guest's memory fds, virtbe ioeventfds and irqfds);
 *   vbe-blk  tools/vbe-blk, a libvirtbe daemon;
 *   floor    the same qemu-storage-daemon driven by a plain vhost-user
 *            frontend in this process (tools/vhost-user/vhu.c): memfd
 *            memory, its own kick and call eventfds, the split ring written
 *            directly; no virtbe, no trapped register accesses.
 *
 * Both drivers negotiate VIRTIO_RING_F_EVENT_IDX when the daemon offers it,
 * as Linux's virtio-blk driver does.
 *
 * Ratios are floor IOPS / ours and our median latency / the floor's.
 * Paths: /bin/qemu-storage-daemon, /bin/virtbe-vhost-user, /bin/vbe-blk
 * (env QSD, VBE_VHOST_USER, VBE_BLK); BENCH_ITERS requests per run
 * (default 3000, each run also stops after 4 s).  What is missing is
 * skipped, with the reason; the bench exits 0.
 */
#include "bench_common.h"

#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

#include "../tools/sim-guest/daemons.h"
#include "../tools/sim-guest/vblk_guest.h"
#include "../tools/vhost-user/vhu.h"

#define DISK_SIZE	(64ULL << 20)
#define GUEST_RAM	(16ULL << 20)
#define DEV_BASE	0x10000000ULL
#define DEV_IRQ		5
#define BLK		4096
#define RUN_MS		4000
#define WARMUP		50

struct result {
	bool ok;
	int n;
	double iops;
	double median_us;
};

static char img[64], sock[64];

static uint64_t rnd_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd_sector(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return (rnd_state % (DISK_SIZE / BLK)) * (BLK / 512);
}

static int cmp_u64_(const void *a, const void *b)
{
	return cmp_u64(a, b);
}

static void finish(struct result *r, uint64_t *lat, int n, uint64_t ns)
{
	qsort(lat, n, sizeof(*lat), cmp_u64_);
	r->ok = n > 0;
	r->n = n;
	r->iops = n * 1e9 / ns;
	r->median_us = n ? lat[n / 2] / 1000.0 : 0;
}

/* The daemon on @sock, or -1 (said why) if it does not listen in 20 s. */
static pid_t spawn_qsd(void)
{
	pid_t pid = qsd_spawn(QSD_PATH, img, sock, 1);
	int ret;

	if (pid < 0)
		return -1;
	ret = daemon_wait_socket(pid, sock, 20000);
	if (ret) {
		fprintf(stderr, "bench: qemu-storage-daemon did not start\n");
		if (ret == -ETIMEDOUT)
			daemon_stop(pid, 5000);
		return -1;
	}
	return pid;
}

/* ------------------------------------------------ the guest's driver paths */

/*
 * The loop of every path: keep @depth requests in flight; the first WARMUP
 * completions are not counted; then @iters are, or those of RUN_MS.
 */
struct loop {
	uint64_t *lat, t0, deadline;
	int iters, nlat, warm, inflight;
	bool measuring, stopping;
};

static void loop_init(struct loop *l, int iters)
{
	memset(l, 0, sizeof(*l));
	l->iters = iters;
	l->lat = calloc(iters, sizeof(*l->lat));
	if (!l->lat)
		die("calloc");
}

static void loop_done(struct loop *l, uint64_t t_sub)
{
	uint64_t t = now_ns();

	l->inflight--;
	if (l->measuring) {
		if (l->nlat < l->iters)
			l->lat[l->nlat++] = t - t_sub;
	} else if (++l->warm >= WARMUP) {
		l->measuring = true;
		l->t0 = t;
		l->deadline = t + RUN_MS * 1000000ULL;
	}
	if (l->measuring &&
	    (l->nlat + l->inflight >= l->iters || t > l->deadline))
		l->stopping = true;
}

static struct result loop_end(struct loop *l, bool ok)
{
	struct result r = { 0 };

	if (ok)
		finish(&r, l->lat, l->nlat, now_ns() - l->t0);
	free(l->lat);
	return r;
}

static struct result run_guest(struct vblk_guest *vg, int depth, int iters)
{
	struct vblk_done d[VBLK_MAX_SLOTS];
	uint64_t t_sub[VBLK_MAX_SLOTS];
	struct loop l;

	loop_init(&l, iters);
	for (;;) {
		int nsub = 0, n;

		while (!l.stopping && l.inflight < depth) {
			int tag = vblk_guest_submit(vg, 0, VIRTIO_BLK_T_IN,
						    rnd_sector(), NULL, BLK);

			if (tag < 0) {
				fprintf(stderr, "bench: submit: %s\n",
					strerror(-tag));
				return loop_end(&l, false);
			}
			t_sub[tag] = now_ns();
			l.inflight++;
			nsub++;
		}
		if (nsub && vblk_guest_kick(vg, 0))
			return loop_end(&l, false);
		if (!l.inflight)
			break;
		n = vblk_guest_poll(vg, d, VBLK_MAX_SLOTS, 10000);
		if (n <= 0) {
			fprintf(stderr, "bench: poll: %s\n",
				n ? strerror(-n) : "nothing");
			return loop_end(&l, false);
		}
		for (int i = 0; i < n; i++) {
			if (d[i].status != VIRTIO_BLK_S_OK) {
				fprintf(stderr, "bench: status %d\n",
					d[i].status);
				return loop_end(&l, false);
			}
			loop_done(&l, t_sub[d[i].tag]);
		}
	}
	return loop_end(&l, true);
}

static int guest_up(struct vblk_guest *vg)
{
	int ret = vblk_guest_create(vg, GUEST_RAM, DEV_BASE, DEV_IRQ, false);

	vg->qsize = 128;
	vg->max_queues = 1;
	vg->event_idx = true;	/* as Linux's driver, and the floor */
	return ret;
}

static void bench_guest(const char *name, bool bridge, struct result r[2],
			int iters)
{
	struct vblk_guest vg;
	pid_t qsd = 0;
	long cpu0 = 0;
	int ret;

	if (guest_up(&vg)) {
		fprintf(stderr, "bench: %s: simulated guest: %s\n", name,
			strerror(errno));
		goto out;
	}
	if (bridge) {
		char id[32], mem[64], dev[256];
		const char *argv[] = {
			BRIDGE_PATH, "--hyp", "sim", "--guest", id, "--mem", mem,
			"--device", dev, NULL,
		};

		qsd = spawn_qsd();
		if (qsd < 0)
			goto out;
		snprintf(id, sizeof(id), "%llu",
			 (unsigned long long)vg.guest_id);
		snprintf(mem, sizeof(mem), "0:0x%llx",
			 (unsigned long long)vg.ram_size);
		snprintf(dev, sizeof(dev),
			 "type=blk,base=0x%llx,irq=%u,irq-type=edge,socket=%s,queues=1",
			 (unsigned long long)DEV_BASE, DEV_IRQ, sock);
		ret = vblk_guest_spawn_argv(&vg, (char **)argv);
	} else {
		ret = vblk_guest_spawn(&vg, VBE_BLK_PATH, img, false);
	}
	if (!ret)
		ret = vblk_guest_probe(&vg, 20000);
	if (ret) {
		fprintf(stderr, "bench: %s: no device: %s\n", name,
			strerror(-ret));
		goto out;
	}
	cpu0 = proc_cpu_ms(vg.backend);
	r[0] = run_guest(&vg, 1, iters);
	r[1] = run_guest(&vg, 16, iters);
	if (bridge)
		printf("# %s: the bridge used %ld ms of CPU during %d requests\n",
		       name, proc_cpu_ms(vg.backend) - cpu0, r[0].n + r[1].n);
out:
	if (vg.backend)
		daemon_stop(vg.backend, 5000);
	vg.backend = 0;
	vblk_guest_destroy(&vg);
	daemon_stop(qsd, 5000);
}

/* -------------------------------------------------------------- the floor */

#define F_QSIZE		128
#define F_DESC		0x10000ULL
#define F_AVAIL		0x11000ULL
#define F_USED		0x12000ULL
#define F_HDR(s)	(0x20000ULL + (s) * 16)
#define F_STATUS(s)	(0x20800ULL + (s))
#define F_DATA(s)	(0x400000ULL + (s) * (uint64_t)BLK)
#define F_SLOTS		32

struct fl {
	uint8_t *ram;
	int kick, call;
	uint16_t avail_idx, kicked, last_used;
	uint32_t busy;
	bool event_idx;
};

/* VIRTIO_RING_F_EVENT_IDX's two fields, as the guest's driver uses them */
static uint16_t *fl_avail_event(struct fl *f)
{
	return (uint16_t *)&((struct vring_used *)(f->ram + F_USED))->ring[F_QSIZE];
}

static uint16_t *fl_used_event(struct fl *f)
{
	return &((struct vring_avail *)(f->ram + F_AVAIL))->ring[F_QSIZE];
}

/* Kick, unless the daemon's avail_event says it will look anyway. */
static void fl_kick(struct fl *f)
{
	uint16_t old = f->kicked;

	f->kicked = f->avail_idx;
	if (f->event_idx) {
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		if (!vring_need_event(__atomic_load_n(fl_avail_event(f),
						      __ATOMIC_RELAXED),
				      f->avail_idx, old))
			return;
	}
	efd_write(f->kick);
}

static void fl_desc(struct fl *f, unsigned int i, uint64_t addr, uint32_t len,
		    uint16_t flags, uint16_t next)
{
	struct vring_desc *d = (struct vring_desc *)(f->ram + F_DESC) + i;

	d->addr = addr;
	d->len = len;
	d->flags = flags;
	d->next = next;
}

static int fl_submit(struct fl *f, uint64_t sector)
{
	struct vring_avail *avail = (void *)(f->ram + F_AVAIL);
	struct virtio_blk_outhdr *h;
	unsigned int s;

	for (s = 0; s < F_SLOTS && (f->busy & (1U << s)); s++)
		;
	if (s == F_SLOTS)
		return -EBUSY;
	h = (void *)(f->ram + F_HDR(s));
	h->type = VIRTIO_BLK_T_IN;
	h->ioprio = 0;
	h->sector = sector;
	f->ram[F_STATUS(s)] = 0xff;
	fl_desc(f, 3 * s, F_HDR(s), sizeof(*h), VRING_DESC_F_NEXT, 3 * s + 1);
	fl_desc(f, 3 * s + 1, F_DATA(s), BLK,
		VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 3 * s + 2);
	fl_desc(f, 3 * s + 2, F_STATUS(s), 1, VRING_DESC_F_WRITE, 0);
	avail->ring[f->avail_idx % F_QSIZE] = 3 * s;
	__atomic_store_n(&avail->idx, ++f->avail_idx, __ATOMIC_RELEASE);
	f->busy |= 1U << s;
	return s;
}

/* Wait for the call eventfd, then take the used ring: completed slots. */
static int fl_poll(struct fl *f, int *slots)
{
	struct vring_used *used = (void *)(f->ram + F_USED);
	struct pollfd p = { .fd = f->call, .events = POLLIN };
	uint64_t v;
	int n = 0;

	for (;;) {
		while (__atomic_load_n(&used->idx, __ATOMIC_ACQUIRE) !=
		       f->last_used) {
			unsigned int s = used->ring[f->last_used % F_QSIZE].id / 3;

			f->last_used++;
			if (f->ram[F_STATUS(s)] != VIRTIO_BLK_S_OK)
				return -EIO;
			f->busy &= ~(1U << s);
			slots[n++] = s;
		}
		if (n)
			return n;
		if (f->event_idx) {
			/* an interrupt at the next used entry, then recheck */
			__atomic_store_n(fl_used_event(f), f->last_used,
					 __ATOMIC_RELAXED);
			__atomic_thread_fence(__ATOMIC_SEQ_CST);
			if (__atomic_load_n(&used->idx, __ATOMIC_ACQUIRE) !=
			    f->last_used)
				continue;
		}
		if (poll(&p, 1, 10000) != 1)
			return -ETIMEDOUT;
		if (read(f->call, &v, sizeof(v)) != sizeof(v))
			return -errno;
	}
}

static struct result run_floor(struct fl *f, int depth, int iters)
{
	uint64_t t_sub[F_SLOTS];
	int slots[F_SLOTS];
	struct loop l;

	loop_init(&l, iters);
	for (;;) {
		int nsub = 0, n;

		while (!l.stopping && l.inflight < depth) {
			int s = fl_submit(f, rnd_sector());

			if (s < 0)
				return loop_end(&l, false);
			t_sub[s] = now_ns();
			l.inflight++;
			nsub++;
		}
		if (nsub)
			fl_kick(f);
		if (!l.inflight)
			break;
		n = fl_poll(f, slots);
		if (n <= 0) {
			fprintf(stderr, "bench: floor: %s\n", strerror(-n));
			return loop_end(&l, false);
		}
		for (int i = 0; i < n; i++)
			loop_done(&l, t_sub[slots[i]]);
	}
	return loop_end(&l, true);
}

static void bench_floor(struct result r[2], int iters)
{
	struct vhu_region reg = { .gpa = 0, .size = GUEST_RAM, .uaddr = 0 };
	struct vhu_vring vr = {
		.index = 0, .num = F_QSIZE, .desc = F_DESC, .avail = F_AVAIL,
		.used = F_USED,
	};
	struct fl f = { .kick = -1, .call = -1 };
	struct vhu *v = NULL;
	uint64_t feat;
	int memfd, ret;
	pid_t qsd;

	qsd = spawn_qsd();
	if (qsd < 0)
		return;
	memfd = memfd_create("bench-floor-ram", MFD_CLOEXEC);
	if (memfd < 0 || ftruncate(memfd, GUEST_RAM))
		die("memfd");
	f.ram = mmap(NULL, GUEST_RAM, PROT_READ | PROT_WRITE, MAP_SHARED,
		     memfd, 0);
	if (f.ram == MAP_FAILED)
		die("mmap");
	f.kick = eventfd(0, EFD_CLOEXEC);
	f.call = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (f.kick < 0 || f.call < 0)
		die("eventfd");
	ret = vhu_connect(sock, (1ULL << VHU_PROTOCOL_F_MQ) |
			  (1ULL << VHU_PROTOCOL_F_REPLY_ACK) |
			  (1ULL << VHU_PROTOCOL_F_CONFIG), 5000, &v);
	if (ret) {
		fprintf(stderr, "bench: floor: connect: %s\n", strerror(-ret));
		goto out;
	}
	feat = vhu_features(v) & ((1ULL << VIRTIO_F_VERSION_1) |
				  (1ULL << VIRTIO_RING_F_EVENT_IDX) |
				  (1ULL << VHU_F_PROTOCOL_FEATURES));
	f.event_idx = feat & (1ULL << VIRTIO_RING_F_EVENT_IDX);
	reg.fd = memfd;
	vr.kick_fd = f.kick;
	vr.call_fd = f.call;
	ret = vhu_set_features(v, feat);
	if (!ret)
		ret = vhu_set_mem_table(v, &reg, 1);
	if (!ret)
		ret = vhu_start_vring(v, &vr);
	if (ret) {
		fprintf(stderr, "bench: floor: setup: %s\n", strerror(-ret));
		goto out;
	}
	r[0] = run_floor(&f, 1, iters);
	r[1] = run_floor(&f, 16, iters);
out:
	vhu_close(v);
	close(f.kick);
	close(f.call);
	munmap(f.ram, GUEST_RAM);
	close(memfd);
	daemon_stop(qsd, 5000);
}

static void line(const char *name, int depth, struct result ours,
		 struct result floor)
{
	if (!ours.ok) {
		printf("%-30s qd %-2d  skipped (see above)\n", name, depth);
		return;
	}
	printf("%-30s qd %-2d %8.0f IOPS median %7.1f us", name, depth,
	       ours.iops, ours.median_us);
	if (floor.ok && floor.median_us > 0)
		printf(" | floor %8.0f IOPS median %7.1f us | ratio %.2f (floor IOPS / ours), latency ratio %.2f",
		       floor.iops, floor.median_us, floor.iops / ours.iops,
		       ours.median_us / floor.median_us);
	printf("\n");
}

int main(void)
{
	struct result fl[2] = { 0 }, br[2] = { 0 }, vb[2] = { 0 };
	int iters = bench_iters(3000), fd;
	bool virtbe = !access("/dev/virtbe", F_OK) &&
		      !access("/dev/virtbe_sim", F_OK);

	printf("bench_vhost_user: 4 KiB random reads from a %llu MiB disk, queue depth 1 and 16\n",
	       (unsigned long long)(DISK_SIZE >> 20));
	if (access(QSD_PATH, X_OK)) {
		printf("bench_vhost_user: SKIP: %s not found\n", QSD_PATH);
		return 0;
	}
	snprintf(img, sizeof(img), "/tmp/bench-vu-%d.img", getpid());
	snprintf(sock, sizeof(sock), "/tmp/bench-vu-%d.sock", getpid());
	fd = open(img, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || ftruncate(fd, DISK_SIZE))
		die(img);
	/* Data, not holes: every path reads the same pages. */
	for (uint64_t off = 0; off < DISK_SIZE; off += 1 << 20) {
		static uint8_t mb[1 << 20];

		memset(mb, (int)(off >> 20) + 1, sizeof(mb));
		if (pwrite(fd, mb, sizeof(mb), off) != sizeof(mb))
			die("pwrite");
	}
	close(fd);

	bench_floor(fl, iters);
	if (!virtbe)
		printf("bench_vhost_user: SKIP bridge and vbe-blk: /dev/virtbe not there\n");
	else if (access(BRIDGE_PATH, X_OK))
		printf("bench_vhost_user: SKIP bridge: %s not found\n",
		       BRIDGE_PATH);
	else
		bench_guest("bridge", true, br, iters);
	if (virtbe && access(VBE_BLK_PATH, X_OK))
		printf("bench_vhost_user: SKIP vbe-blk: %s not found\n",
		       VBE_BLK_PATH);
	else if (virtbe)
		bench_guest("vbe-blk", false, vb, iters);

	for (int i = 0; i < 2; i++) {
		int depth = i ? 16 : 1;

		line("floor: vhost-user in-process", depth, fl[i], (struct result){ 0 });
		line("bridge + qsd", depth, br[i], fl[i]);
		line("vbe-blk", depth, vb[i], fl[i]);
	}
	unlink(img);
	unlink(sock);
	return 0;
}
