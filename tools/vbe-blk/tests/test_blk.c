// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * vbe-blk end to end on the host: its main() runs in a thread against the
 * fake kernel of lib/tests/fakehv.c; this thread plays the guest's
 * virtio-mmio driver (register accesses through the request channel, kicks
 * through the ioeventfd, interrupts from the irqfds' eventfds, rings and
 * buffers in the fake guest RAM).  InterruptStatus is kept by the fake
 * kernel (VIRTBE_F_VIRTIO_MMIO_ISR), or by the library for an older kernel.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>

#include "fakehv.h"
#include "harness.h"
#include "internal.h"
#include "vring_drv.h"

int vbe_blk_main(int argc, char **argv);

#define G 0x40000000ULL
#define RAM (1U << 20)
#define BASE 0x10000000ULL
#define DISK_SIZE (1U << 20)
#define HDR (G + 0x40000)
#define DATA (G + 0x41000)
#define STATUS (G + 0x50000)
#define ITABLE (G + 0x51000)

struct blk_thread {
	pthread_t t;
	int argc;
	char *argv[32];
	int ret;
};

static void *blk_thread_fn(void *arg)
{
	struct blk_thread *b = arg;

	b->ret = vbe_blk_main(b->argc, b->argv);
	return NULL;
}

static uint8_t *ram;

static void make_disk(const char *path, uint8_t seed)
{
	static uint8_t buf[DISK_SIZE];
	unsigned int i;
	int fd;

	for (i = 0; i < DISK_SIZE; i++)
		buf[i] = (uint8_t)(i / 512 + seed);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	REQUIRE(fd >= 0);
	REQUIRE_EQ(write(fd, buf, DISK_SIZE), DISK_SIZE);
	close(fd);
}

static void start(struct blk_thread *b, const char *const *args)
{
	unsigned int n = 0;

	b->argv[b->argc++] = "vbe-blk";
	while (args[n])
		b->argv[b->argc++] = (char *)args[n++];
	vbe__ctl_path = "/dev/null";
	ram = fake_add_ram(G, RAM);
	REQUIRE(ram);
	REQUIRE_EQ(pthread_create(&b->t, NULL, blk_thread_fn, b), 0);
}

/*
 * Wait until vbe-blk claimed @n ranges and assigned their irqfds (it is then
 * serving): two per device when the kernel keeps InterruptStatus.
 */
static void wait_ready(unsigned int n)
{
	unsigned int ms, nirq = fake.no_vmmio_isr ? n : 2 * n;

	for (ms = 0; ms < 5000; ms++) {
		pthread_mutex_lock(&fake.lock);
		if (fake.nranges == n && fake.nirq == nirq) {
			pthread_mutex_unlock(&fake.lock);
			return;
		}
		pthread_mutex_unlock(&fake.lock);
		usleep(1000);
	}
	harness_fail(__FILE__, __LINE__, "vbe-blk did not start");
	exit(1);
}

static int stop(struct blk_thread *b)
{
	fake_hangup();
	pthread_join(b->t, NULL);
	return b->ret;
}

/* The guest's driver */

struct gdev {
	uint64_t base;
	uint32_t type, irq;		/* the interrupt */
	int resample;			/* level: the resample eventfd */
	struct drv v;
	uint64_t features;
};

static uint64_t mmio(uint64_t addr, uint32_t len, bool write, uint64_t val)
{
	struct virtbe_completion c;
	uint64_t id, data = 0;
	int ret;

	ret = fake_access(0, addr, len, write, val, &id, &data);
	REQUIRE(ret >= 0);
	if (ret == FAKE_ACCESS_KERNEL)
		return data;	/* InterruptStatus/ACK kept by the kernel */
	if (ret == 1)
		return 0;	/* consumed by an ioeventfd */
	REQUIRE_EQ(fake_recv_completion(&c, 5000), 0);
	REQUIRE_EQ(c.id, id);
	return c.data;
}

static uint32_t rd(struct gdev *d, uint32_t off)
{
	return (uint32_t)mmio(d->base + off, 4, false, 0);
}

static void wr(struct gdev *d, uint32_t off, uint32_t val)
{
	mmio(d->base + off, 4, true, val);
}

static void find_irqfd(struct gdev *d, uint32_t irq)
{
	unsigned int i;

	d->irq = irq;
	pthread_mutex_lock(&fake.lock);
	for (i = 0; i < fake.nirq; i++) {
		if (fake.irq[i].irq == irq) {
			d->type = fake.irq[i].type;
			d->resample = fake.irq[i].resamplefd;
		}
	}
	pthread_mutex_unlock(&fake.lock);
	REQUIRE(d->type);
}

/* Linux's virtio_mmio probe + virtio_blk probe, in short. */
static void driver_init(struct gdev *d, uint64_t base, uint32_t irq,
			uint64_t want, unsigned int ring_off)
{
	uint64_t offered;
	uint32_t st;

	memset(d, 0, sizeof(*d));
	d->base = base;
	find_irqfd(d, irq);
	CHECK_EQ(rd(d, VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
	CHECK_EQ(rd(d, VIRTIO_MMIO_VERSION), 2);
	CHECK_EQ(rd(d, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_BLOCK);
	wr(d, VIRTIO_MMIO_STATUS, 0);
	wr(d, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	wr(d, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE |
	   VIRTIO_CONFIG_S_DRIVER);
	wr(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	offered = (uint64_t)rd(d, VIRTIO_MMIO_DEVICE_FEATURES) << 32;
	wr(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	offered |= rd(d, VIRTIO_MMIO_DEVICE_FEATURES);
	CHECK(offered & (1ULL << VIRTIO_F_VERSION_1));
	CHECK(offered & (1ULL << VIRTIO_BLK_F_FLUSH));
	CHECK(offered & (1ULL << VIRTIO_BLK_F_SEG_MAX));
	d->features = offered & want;
	wr(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(d->features >> 32));
	wr(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)d->features);
	wr(d, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE |
	   VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK);
	st = rd(d, VIRTIO_MMIO_STATUS);
	REQUIRE(st & VIRTIO_CONFIG_S_FEATURES_OK);

	/* one queue of 16 */
	wr(d, VIRTIO_MMIO_QUEUE_SEL, 0);
	CHECK_EQ(rd(d, VIRTIO_MMIO_QUEUE_READY), 0);
	CHECK(rd(d, VIRTIO_MMIO_QUEUE_NUM_MAX) >= 16);
	drv_init(&d->v, ram, G, ring_off, 16);
	wr(d, VIRTIO_MMIO_QUEUE_NUM, 16);
	wr(d, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)d->v.desc);
	wr(d, VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(d->v.desc >> 32));
	wr(d, VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)d->v.avail);
	wr(d, VIRTIO_MMIO_QUEUE_AVAIL_HIGH, (uint32_t)(d->v.avail >> 32));
	wr(d, VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)d->v.used);
	wr(d, VIRTIO_MMIO_QUEUE_USED_HIGH, (uint32_t)(d->v.used >> 32));
	wr(d, VIRTIO_MMIO_QUEUE_READY, 1);
	CHECK_EQ(rd(d, VIRTIO_MMIO_QUEUE_READY), 1);
	wr(d, VIRTIO_MMIO_STATUS, st | VIRTIO_CONFIG_S_DRIVER_OK);
	CHECK(!(rd(d, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET));
}

static uint64_t config64(struct gdev *d, uint32_t off)
{
	uint32_t gen, lo, hi;

	do {
		gen = rd(d, VIRTIO_MMIO_CONFIG_GENERATION);
		lo = rd(d, VIRTIO_MMIO_CONFIG + off);
		hi = rd(d, VIRTIO_MMIO_CONFIG + off + 4);
	} while (gen != rd(d, VIRTIO_MMIO_CONFIG_GENERATION));
	return (uint64_t)hi << 32 | lo;
}

/* Wait for the interrupt, then do what vm_interrupt() does. */
static void wait_irq(struct gdev *d)
{
	uint32_t isr;

	REQUIRE(fake_irq_wait(d->type, d->irq, 5000) > 0);
	isr = rd(d, VIRTIO_MMIO_INTERRUPT_STATUS);
	CHECK(isr & VIRTIO_MMIO_INT_VRING);
	wr(d, VIRTIO_MMIO_INTERRUPT_ACK, isr);
	/* EOI: the kernel lowers the line and resamples */
	if (d->type == VIRTBE_IRQ_LEVEL)
		fake_eoi(d->type, d->irq);
}

/* One request: header, @len data bytes (@write: to the disk), status. */
static uint8_t request(struct gdev *d, uint32_t type, uint64_t sector,
		       uint32_t len, bool indirect, uint32_t *used_len)
{
	struct virtio_blk_outhdr *h = (void *)(ram + (HDR - G));
	uint16_t dflag = type == VIRTIO_BLK_T_OUT ? 0 : VRING_DESC_F_WRITE;
	struct vring_desc *t = (void *)(ram + (ITABLE - G));
	uint32_t id, ulen;
	uint8_t *status = ram + (STATUS - G);
	int head = 0;

	h->type = htole32(type);
	h->ioprio = 0;
	h->sector = htole64(sector);
	*status = 0xff;
	if (indirect) {
		t[0] = (struct vring_desc){ HDR, 16, VRING_DESC_F_NEXT, 1 };
		t[1] = (struct vring_desc){ DATA, len,
					    dflag | VRING_DESC_F_NEXT, 2 };
		t[2] = (struct vring_desc){ STATUS, 1, VRING_DESC_F_WRITE, 0 };
		drv_desc(&d->v, 3, ITABLE, 48, VRING_DESC_F_INDIRECT, 0);
		head = 3;
	} else if (len) {
		drv_desc(&d->v, 0, HDR, 16, VRING_DESC_F_NEXT, 1);
		drv_desc(&d->v, 1, DATA, len, dflag | VRING_DESC_F_NEXT, 2);
		drv_desc(&d->v, 2, STATUS, 1, VRING_DESC_F_WRITE, 0);
	} else {
		drv_desc(&d->v, 0, HDR, 16, VRING_DESC_F_NEXT, 2);
		drv_desc(&d->v, 2, STATUS, 1, VRING_DESC_F_WRITE, 0);
	}
	drv_publish(&d->v, (uint16_t)head);
	wr(d, VIRTIO_MMIO_QUEUE_NOTIFY, 0);	/* the kick */
	wait_irq(d);
	REQUIRE_EQ(drv_get_used(&d->v, &id, &ulen), 1);
	CHECK_EQ(id, head);
	/* re-arm the interrupt (EVENT_IDX: used_event = next used index) */
	*drv_used_event(&d->v) = d->v.last_used;
	if (used_len)
		*used_len = ulen;
	return *status;
}

static void check_disk(const char *path, uint64_t off, uint8_t val,
		       size_t len)
{
	uint8_t buf[4096];
	int fd = open(path, O_RDONLY);
	size_t i;

	REQUIRE(fd >= 0 && len <= sizeof(buf));
	REQUIRE_EQ(pread(fd, buf, len, (off_t)off), len);
	for (i = 0; i < len; i++)
		if (!CHECK_EQ(buf[i], val))
			break;
	close(fd);
}

static void blk_session(const char *irq_type, uint64_t want, bool old)
{
	static const char *const path = "cli-disk.img";
	const char *args[] = {
		"--hyp", "sim", "--guest", "1", "--base", "0x10000000",
		"--irq", "5", "--irq-type", irq_type, "--file", path,
		"--mem", "0x40000000:0x100000", "--serial", "serial-0123",
		"--verbose", NULL,
	};
	struct blk_thread b = { 0 };
	uint8_t *data;
	uint32_t ulen;
	struct gdev d;
	unsigned int i;

	make_disk(path, 0);
	fake.no_vmmio_isr = old;
	start(&b, args);
	wait_ready(1);
	CHECK_EQ(fake.nioev, 0);
	/* who keeps InterruptStatus */
	CHECK_EQ(fake.nvmmio, old ? 0 : 1);
	driver_init(&d, BASE, 5, want, 0);
	CHECK_EQ(fake.nioev, 1);	/* the kick bypasses userspace now */
	CHECK_EQ(config64(&d, 0), DISK_SIZE / 512);
	CHECK_EQ(rd(&d, VIRTIO_MMIO_CONFIG + 12), 126);	/* seg_max */
	data = ram + (DATA - G);

	/* read sector 3..10: sector n holds the byte n */
	memset(data, 0, 4096);
	CHECK_EQ(request(&d, VIRTIO_BLK_T_IN, 3, 4096, false, &ulen),
		 VIRTIO_BLK_S_OK);
	CHECK_EQ(ulen, 4097);
	CHECK_EQ(data[0], 3);
	CHECK_EQ(data[4095], 10);
	/* write, flush, read back through an indirect table */
	memset(data, 0xab, 1024);
	CHECK_EQ(request(&d, VIRTIO_BLK_T_OUT, 100, 1024, false, &ulen),
		 VIRTIO_BLK_S_OK);
	CHECK_EQ(ulen, 1);
	check_disk(path, 100 * 512, 0xab, 1024);
	CHECK_EQ(request(&d, VIRTIO_BLK_T_FLUSH, 0, 0, false, NULL),
		 VIRTIO_BLK_S_OK);
	memset(data, 0, 1024);
	if (d.features & (1ULL << VIRTIO_RING_F_INDIRECT_DESC)) {
		CHECK_EQ(request(&d, VIRTIO_BLK_T_IN, 100, 1024, true, NULL),
			 VIRTIO_BLK_S_OK);
		CHECK_EQ(data[1023], 0xab);
	}
	/* identifier */
	memset(data, 0xee, 20);
	CHECK_EQ(request(&d, VIRTIO_BLK_T_GET_ID, 0, 20, false, &ulen),
		 VIRTIO_BLK_S_OK);
	CHECK_EQ(ulen, 21);
	CHECK(!memcmp(data, "serial-0123\0\0\0\0\0\0\0\0", 20));
	/* errors */
	CHECK_EQ(request(&d, 99, 0, 512, false, NULL), VIRTIO_BLK_S_UNSUPP);
	CHECK_EQ(request(&d, VIRTIO_BLK_T_IN, DISK_SIZE / 512, 512, false,
			 NULL), VIRTIO_BLK_S_IOERR);
	CHECK_EQ(request(&d, VIRTIO_BLK_T_IN, DISK_SIZE / 512 - 1, 1024,
			 false, NULL), VIRTIO_BLK_S_IOERR);
	CHECK_EQ(request(&d, VIRTIO_BLK_T_IN, UINT64_MAX, 512, false, NULL),
		 VIRTIO_BLK_S_IOERR);
	CHECK_EQ(request(&d, VIRTIO_BLK_T_OUT, 0, 100, false, NULL),
		 VIRTIO_BLK_S_IOERR);
	CHECK_EQ(request(&d, VIRTIO_BLK_T_IN, DISK_SIZE / 512 - 1, 512, false,
			 NULL), VIRTIO_BLK_S_OK);
	CHECK_EQ(data[0], (uint8_t)(DISK_SIZE / 512 - 1));
	/* many in a row (wraps the 16-entry ring) */
	for (i = 0; i < 40; i++)
		if (!CHECK_EQ(request(&d, VIRTIO_BLK_T_IN, i, 512, false,
				      NULL), VIRTIO_BLK_S_OK))
			break;
	/* a reset stops the queue and removes the kick ioeventfd */
	wr(&d, VIRTIO_MMIO_STATUS, 0);
	CHECK_EQ(fake.nioev, 0);

	CHECK_EQ(stop(&b), 0);
	/* everything was given back */
	CHECK_EQ(fake.nranges, 0);
	CHECK_EQ(fake.nirq, 0);
	unlink(path);
}

TEST(blk_edge_event_idx_indirect)
{
	blk_session("edge", (1ULL << VIRTIO_F_VERSION_1) |
		    (1ULL << VIRTIO_BLK_F_FLUSH) |
		    (1ULL << VIRTIO_BLK_F_SEG_MAX) |
		    (1ULL << VIRTIO_RING_F_EVENT_IDX) |
		    (1ULL << VIRTIO_RING_F_INDIRECT_DESC), false);
}

TEST(blk_level_plain_ring)
{
	blk_session("level", (1ULL << VIRTIO_F_VERSION_1) |
		    (1ULL << VIRTIO_BLK_F_FLUSH), false);
}

TEST(blk_evtchn)
{
	blk_session("evtchn", (1ULL << VIRTIO_F_VERSION_1), false);
}

/* A kernel without VIRTBE_F_VIRTIO_MMIO_ISR: the library keeps it. */
TEST(blk_edge_old_kernel)
{
	blk_session("edge", (1ULL << VIRTIO_F_VERSION_1) |
		    (1ULL << VIRTIO_RING_F_EVENT_IDX), true);
}

TEST(blk_level_old_kernel)
{
	blk_session("level", (1ULL << VIRTIO_F_VERSION_1) |
		    (1ULL << VIRTIO_BLK_F_FLUSH), true);
}

TEST(blk_dtb_two_disks)
{
	const char *args[] = { "--dtb", "blk.dtb", "--verbose", NULL };
	struct blk_thread b = { 0 };
	struct gdev d0, d1;
	uint64_t f;
	uint8_t *data;

	make_disk("dt-disk0.img", 0);
	make_disk("dt-disk1.img", 7);
	start(&b, args);
	wait_ready(2);
	/* the "net" device in the middle is not ours */
	CHECK_EQ(mmio(BASE + 0x200, 4, false, 0), 0xffffffff);

	driver_init(&d0, BASE, 40, ~0ULL, 0);
	driver_init(&d1, BASE + 0x400, 42, ~0ULL, 0x8000);
	CHECK(d0.resample >= 0);	/* level */
	CHECK(d1.resample < 0);		/* edge */
	f = d1.features;
	CHECK(f & (1ULL << VIRTIO_BLK_F_RO));
	CHECK(!(d0.features & (1ULL << VIRTIO_BLK_F_RO)));
	data = ram + (DATA - G);

	CHECK_EQ(request(&d1, VIRTIO_BLK_T_IN, 1, 512, false, NULL),
		 VIRTIO_BLK_S_OK);
	CHECK_EQ(data[0], 8);
	CHECK_EQ(request(&d1, VIRTIO_BLK_T_OUT, 1, 512, false, NULL),
		 VIRTIO_BLK_S_IOERR);
	check_disk("dt-disk1.img", 512, 8, 512);
	CHECK_EQ(request(&d0, VIRTIO_BLK_T_IN, 1, 512, false, NULL),
		 VIRTIO_BLK_S_OK);
	CHECK_EQ(data[0], 1);
	memset(data, 0, 20);
	CHECK_EQ(request(&d0, VIRTIO_BLK_T_GET_ID, 0, 20, false, NULL),
		 VIRTIO_BLK_S_OK);
	CHECK(!strcmp((char *)data, "dt-disk0"));

	CHECK_EQ(stop(&b), 0);
	CHECK_EQ(fake.nranges, 0);
	unlink("dt-disk0.img");
	unlink("dt-disk1.img");
}

TEST(blk_sigterm)
{
	static const char *const path = "sig-disk.img";
	const char *args[] = {
		"--hyp", "sim", "--guest", "1", "--base", "0x10000000",
		"--irq", "5", "--file", path, "--mem", "0x40000000:0x100000",
		NULL,
	};
	struct blk_thread b = { 0 };
	sigset_t mask;

	/* as in a single-threaded vbe-blk: SIGTERM only via the signalfd */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	make_disk(path, 0);
	start(&b, args);
	wait_ready(1);
	kill(getpid(), SIGTERM);
	pthread_join(b.t, NULL);
	CHECK_EQ(b.ret, 0);
	CHECK_EQ(fake.nranges, 0);
	CHECK_EQ(fake.nirq, 0);
	unlink(path);
}

TEST(blk_bad_options)
{
	const char *a1[] = { "--hyp", "kvm", NULL };
	const char *a2[] = { "--hyp", "sim", "--guest", "1", NULL };
	const char *a3[] = { "--dtb", "missing.dtb", NULL };
	const char *a4[] = {
		"--hyp", "sim", "--guest", "1", "--base", "0x10000000",
		"--irq", "5", "--file", "missing.img",
		"--mem", "0x40000000:0x100000", NULL,
	};
	const char *const *all[] = { a1, a2, a3, a4 };
	unsigned int i;

	for (i = 0; i < 4; i++) {
		struct blk_thread b = { 0 };

		start(&b, all[i]);
		pthread_join(b.t, NULL);
		CHECK_EQ(b.ret, 1);
		fake.nram = 0;
	}
	CHECK_EQ(fake.nranges, 0);
}

/*
 * Errors that name the culprit: vbe-blk's main() in a child with its
 * stderr in a file; it must exit with 1 and say @expect1 (and @expect2).
 */
static void bad(const char *what, const char *const *args,
		const char *ctl_path, const char *expect1,
		const char *expect2)
{
	static const char errpath[] = "blk-stderr.txt";
	char msg[4096];
	ssize_t len;
	pid_t pid;
	int st, fd;

	fflush(stdout);
	pid = fork();
	REQUIRE(pid >= 0);
	if (!pid) {
		struct blk_thread b = { 0 };
		unsigned int n = 0;

		alarm(15);
		fd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd < 0 || dup2(fd, 2) < 0)
			_exit(99);
		b.argv[b.argc++] = "vbe-blk";
		while (args[n])
			b.argv[b.argc++] = (char *)args[n++];
		vbe__ctl_path = ctl_path ? ctl_path : "/dev/null";
		if (!fake_add_ram(G, RAM))
			_exit(99);
		/* exit(): LeakSanitizer checks the error paths too */
		exit(vbe_blk_main(b.argc, b.argv));
	}
	REQUIRE_EQ(waitpid(pid, &st, 0), pid);
	fd = open(errpath, O_RDONLY);
	REQUIRE(fd >= 0);
	len = read(fd, msg, sizeof(msg) - 1);
	close(fd);
	unlink(errpath);
	msg[len > 0 ? len : 0] = 0;
	printf("# %s: %s", what, msg);
	if (!CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 1))
		printf("# status 0x%x\n", st);
	CHECK(strstr(msg, expect1));
	if (expect2)
		CHECK(strstr(msg, expect2));
}

#define CLI(...) {							\
	"--hyp", "sim", "--guest", "1", "--base", "0x10000000",		\
	"--irq", "5", "--file", "err-disk.img",				\
	"--mem", "0x40000000:0x100000", __VA_ARGS__ NULL }

/* The hypervisor knows no such guest (VIRTBE_ATTACH: ENOENT). */
static int no_guest_hook(int fd, unsigned long cmd, void *arg)
{
	struct virtbe_info *info = arg;

	(void)fd;
	/* a kernel with virtbe_xen loaded */
	if (cmd == VIRTBE_GET_INFO && info->hyp == VIRTBE_HYP_XEN)
		info->hyp = VIRTBE_HYP_SIM;
	if (cmd == VIRTBE_ATTACH)
		return -ENOENT;
	return FAKE_PASS;
}

TEST(blk_err_unknown_guest)
{
	const char *xen[] = {
		"--hyp", "xen", "--guest", "7", "--base", "0x10000000",
		"--irq", "5", "--file", "err-disk.img",
		"--mem", "0x40000000:0x100000", NULL,
	};
	const char *sim[] = CLI();
	const char *dtb[] = { "--dtb", "blk.dtb", "--guest", "7", NULL };

	make_disk("err-disk.img", 0);
	fake.hook = no_guest_hook;
	bad("unknown xen guest", xen, NULL,
	    "vbe-blk: no guest 7 on xen: is the domain running? (xl list)",
	    NULL);
	bad("unknown sim guest", sim, NULL, "no guest 1 on sim", NULL);
	fake.hook = NULL;
	bad("no such guest node", dtb, NULL,
	    "blk.dtb: --guest 7: no guest node with virtbe,guest-id = 7",
	    NULL);
	unlink("err-disk.img");
}

TEST(blk_err_backend_not_loaded)
{
	const char *xen[] = {
		"--hyp", "xen", "--guest", "7", "--base", "0x10000000",
		"--irq", "5", "--file", "err-disk.img",
		"--mem", "0x40000000:0x100000", NULL,
	};
	const char *sim[] = CLI();

	make_disk("err-disk.img", 0);
	/* the fake kernel has the sim backend only */
	bad("xen backend not loaded", xen, NULL,
	    "vbe-blk: the xen backend is not loaded: modprobe virtbe_xen (loaded: sim)",
	    NULL);
	bad("no /dev/virtbe", sim, "/nonexistent/virtbe",
	    "/dev/virtbe: No such file or directory: virtbe.ko is not loaded (modprobe virtbe)",
	    NULL);
	unlink("err-disk.img");
}

TEST(blk_err_bad_values)
{
	const char *t1[] = CLI("--timeout-ms", "90000",);
	const char *t2[] = CLI("--timeout-ms", "60000s",);
	const char *h[] = { "--hyp", "kvm", NULL };
	const char *it[] = CLI("--irq-type", "msi",);
	const char *m[] = CLI("--mem", "0x40000000",);
	const char *missing[] = { "--hyp", "sim", "--guest", "1", NULL };

	bad("timeout too large", t1, NULL,
	    "vbe-blk: --timeout-ms 90000: at most 60000", NULL);
	bad("timeout not a number", t2, NULL, "--timeout-ms 60000s: not a number",
	    NULL);
	bad("unknown hypervisor", h, NULL, "--hyp kvm: an unknown hypervisor: sim, xen or bao",
	    NULL);
	bad("unknown interrupt type", it, NULL, "--irq-type msi: ", "edge, level or evtchn");
	bad("--mem without a length", m, NULL, "--mem 0x40000000: want GPA:LEN", NULL);
	bad("missing options", missing, NULL,
	    "missing: --base --irq --file --mem (or --dtb FILE)", NULL);
}

/* Another daemon serves registers inside ours (VIRTBE_CLAIM_RANGE: EEXIST). */
TEST(blk_err_overlapping_claim)
{
	const char *args[] = CLI();

	make_disk("err-disk.img", 0);
	fake.ranges[0] = (struct fake_range){ BASE + 0x100, 0x100, 0 };
	fake.nranges = 1;
	bad("registers claimed by another daemon", args, NULL,
	    "vbe-blk: --base 0x10000000: registers [0x10000000, 0x100001ff] are already claimed: another daemon",
	    NULL);
	fake.nranges = 0;
	unlink("err-disk.img");
}

TEST(blk_err_memory_window)
{
	const char *args[] = CLI("--mem", "0x80000000:0x1000",);

	make_disk("err-disk.img", 0);
	bad("a --mem window that is not guest RAM", args, NULL,
	    "vbe-blk: --mem 0x80000000:0x1000: map [0x80000000, 0x80000fff] of sim guest 1: No such device or address: not guest RAM",
	    NULL);
	unlink("err-disk.img");
}

TEST(blk_err_dtb)
{
	const char *overlap[] = { "--dtb", "bad-overlap.dtb", NULL };
	const char *trunc[] = { "--dtb", "blk-trunc.dtb", NULL };
	char buf[4096];
	ssize_t len;
	int in, out;

	bad("overlapping devices in the DT", overlap, NULL,
	    "vbe-blk: bad-overlap.dtb: /guest/disk@10000100: reg [0x10000100, 0x100002ff] overlaps /guest/disk@10000000: reg [0x10000000, 0x100001ff]",
	    NULL);
	/* the first 100 bytes of a good blob */
	in = open("blk.dtb", O_RDONLY);
	REQUIRE(in >= 0);
	len = read(in, buf, sizeof(buf));
	close(in);
	REQUIRE(len > 100);
	out = open("blk-trunc.dtb", O_WRONLY | O_CREAT | O_TRUNC, 0600);
	REQUIRE(out >= 0);
	REQUIRE_EQ(write(out, buf, 100), 100);
	close(out);
	bad("a truncated blob", trunc, NULL,
	    "vbe-blk: blk-trunc.dtb: the blob is truncated: header says ",
	    "bytes, there are 100 (FDT_ERR_TRUNCATED)");
	unlink("blk-trunc.dtb");
}
