// SPDX-License-Identifier: GPL-2.0
/*
 * End to end: a virtio-blk driver in a simulated guest (split virtqueue in
 * guest RAM, registers through trapped accesses) against the demo backend
 * tools/vbe-blk, which knows nothing of the hypervisor.
 */
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_mmio.h>

#include "virtbe_utils.h"
#include "../tools/sim-guest/daemons.h"
#include "../tools/sim-guest/vblk_guest.h"

#define DISK_SIZE	(8 << 20)
#define DEV_BASE	0x10000000ULL

static const char *backend_path(void)
{
	const char *p = getenv("VBE_BLK");

	return p ? p : "/bin/vbe-blk";
}

FIXTURE(blk) {
	struct vblk_guest vg;
	char file[64];
	int fd;
	bool created;
};

FIXTURE_VARIANT(blk) {
	bool level;
};

FIXTURE_VARIANT_ADD(blk, edge) {
	.level = false,
};

FIXTURE_VARIANT_ADD(blk, level) {
	.level = true,
};

FIXTURE_SETUP(blk)
{
	memset(&self->vg, 0, sizeof(self->vg));
	self->fd = -1;
	self->created = false;
	SKIP_IF_NO_VIRTBE(_metadata);
	if (access(backend_path(), X_OK))
		SKIP(return, "demo backend %s not found", backend_path());
	snprintf(self->file, sizeof(self->file), "/tmp/e2e-blk-%d.img",
		 getpid());
	self->fd = open(self->file, O_RDWR | O_CREAT | O_TRUNC, 0600);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, ftruncate(self->fd, DISK_SIZE));
	ASSERT_EQ(0, vblk_guest_create(&self->vg, 16 << 20, DEV_BASE, 5,
				       variant->level));
	self->created = true;
	ASSERT_EQ(0, vblk_guest_spawn(&self->vg, backend_path(), self->file,
				      false));
	ASSERT_EQ(0, vblk_guest_probe(&self->vg, 10000));
	ASSERT_EQ(DISK_SIZE / 512, self->vg.capacity);
}

FIXTURE_TEARDOWN(blk)
{
	if (self->created)
		vblk_guest_destroy(&self->vg);
	if (self->fd >= 0) {
		close(self->fd);
		unlink(self->file);
	}
}

static void pattern(uint8_t *p, size_t len, unsigned int seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)((i >> 9) * 131 + i * 7 + seed);
}

TEST_F(blk, write_read_flush)
{
	static uint8_t w[128 << 10], r[128 << 10], f[128 << 10];
	const uint64_t sectors[] = { 0, 1, 77, DISK_SIZE / 512 - 256 };

	for (unsigned int i = 0; i < sizeof(sectors) / sizeof(sectors[0]); i++) {
		pattern(w, sizeof(w), i);
		ASSERT_EQ(VIRTIO_BLK_S_OK,
			  vblk_guest_request(&self->vg, VIRTIO_BLK_T_OUT,
					     sectors[i], w, sizeof(w)));
		memset(r, 0, sizeof(r));
		ASSERT_EQ(VIRTIO_BLK_S_OK,
			  vblk_guest_request(&self->vg, VIRTIO_BLK_T_IN,
					     sectors[i], r, sizeof(r)));
		ASSERT_EQ(0, memcmp(w, r, sizeof(w)));
		ASSERT_EQ(VIRTIO_BLK_S_OK,
			  vblk_guest_request(&self->vg, VIRTIO_BLK_T_FLUSH, 0,
					     NULL, 0));
		/* The file has it. */
		ASSERT_EQ(sizeof(f), pread(self->fd, f, sizeof(f),
					   sectors[i] * 512));
		ASSERT_EQ(0, memcmp(w, f, sizeof(w)));
	}
	/* Data written to the file is what the guest reads. */
	pattern(f, 4096, 99);
	ASSERT_EQ(4096, pwrite(self->fd, f, 4096, 4096 * 100));
	ASSERT_EQ(VIRTIO_BLK_S_OK,
		  vblk_guest_request(&self->vg, VIRTIO_BLK_T_IN, 800, r, 4096));
	ASSERT_EQ(0, memcmp(f, r, 4096));
	/* Interrupts may coalesce, but the driver took some. */
	EXPECT_LT(0, self->vg.nr_irqs);
	EXPECT_EQ(0, vblk_guest_stop_backend(&self->vg));
}

TEST_F(blk, errors_and_id)
{
	char id[VIRTIO_BLK_ID_BYTES + 1] = { 0 };
	uint8_t buf[512];

	ASSERT_EQ(VIRTIO_BLK_S_OK,
		  vblk_guest_request(&self->vg, VIRTIO_BLK_T_GET_ID, 0, id,
				     VIRTIO_BLK_ID_BYTES));
	EXPECT_NE(0, id[0]);
	/* Past the end of the disk. */
	EXPECT_EQ(VIRTIO_BLK_S_IOERR,
		  vblk_guest_request(&self->vg, VIRTIO_BLK_T_IN,
				     DISK_SIZE / 512, buf, sizeof(buf)));
	/* An unknown request type. */
	EXPECT_EQ(VIRTIO_BLK_S_UNSUPP,
		  vblk_guest_request(&self->vg, 0x7777, 0, buf, sizeof(buf)));
	/* The device still works. */
	EXPECT_EQ(VIRTIO_BLK_S_OK,
		  vblk_guest_request(&self->vg, VIRTIO_BLK_T_IN, 0, buf,
				     sizeof(buf)));
}

TEST_F(blk, backend_killed)
{
	uint64_t v = 0, t0;
	int status;

	ASSERT_EQ(0, kill(self->vg.backend, SIGKILL));
	ASSERT_EQ(self->vg.backend, waitpid(self->vg.backend, &status, 0));
	self->vg.backend = 0;
	/* The guest's vCPU does not hang: its accesses are unclaimed now. */
	t0 = now_ns();
	ASSERT_EQ(0, vblk_mmio_read(&self->vg, VIRTIO_MMIO_MAGIC_VALUE, 4, &v));
	EXPECT_EQ(0xffffffffULL, v);
	EXPECT_GT(1000, (now_ns() - t0) / 1000000);
	/* A new backend can serve the same guest. */
	ASSERT_EQ(0, vblk_guest_spawn(&self->vg, backend_path(), self->file,
				      false));
	ASSERT_EQ(0, vblk_guest_probe(&self->vg, 10000));
	{
		uint8_t buf[512];

		EXPECT_EQ(VIRTIO_BLK_S_OK,
			  vblk_guest_request(&self->vg, VIRTIO_BLK_T_IN, 0,
					     buf, sizeof(buf)));
	}
}

/* ---- Three devices of one guest, three daemons (three attachments) ---- */

#define NR_DEVS		3
#define DEV_RAM		(8ULL << 20)	/* each device's part of guest RAM */
#define DEV_STRIDE	0x1000ULL	/* registers of device i: + i * this */
#define KILLED		1		/* the device whose daemon dies */
#define IO_LEN		(64 << 10)

/**
 * struct multi_dev - one device of the guest and the thread driving it
 * @vg: the device
 * @file: its disk image
 * @fd: the image, open
 * @sock: the vhost-user socket (bridge + qemu-storage-daemon), or ""
 * @qsd: qemu-storage-daemon's pid, or 0
 * @tid: the guest thread doing I/O on it
 * @stop: tell the thread to stop
 * @done: verified write+read round trips
 * @ret: the thread's first failure, or 0
 */
struct multi_dev {
	struct vblk_guest vg;
	char file[64];
	int fd;
	char sock[64];
	pid_t qsd;
	pthread_t tid;
	volatile bool stop;
	volatile unsigned int done;
	int ret;
};

/* Write a pattern, read it back, compare; until stopped or an error. */
static void *multi_io(void *arg)
{
	static __thread uint8_t w[IO_LEN], r[IO_LEN];
	struct multi_dev *d = arg;
	unsigned int i = 0;
	int st;

	while (!d->stop) {
		uint64_t sector = (i * 131) % (DISK_SIZE / 512 - IO_LEN / 512);

		pattern(w, sizeof(w), i + 1000 * d->vg.irq);
		st = vblk_guest_request(&d->vg, VIRTIO_BLK_T_OUT, sector, w,
					sizeof(w));
		if (st == VIRTIO_BLK_S_OK) {
			memset(r, 0, sizeof(r));
			st = vblk_guest_request(&d->vg, VIRTIO_BLK_T_IN,
						sector, r, sizeof(r));
		}
		if (st != VIRTIO_BLK_S_OK) {
			d->ret = st ? st : -EIO;
			break;
		}
		/* The guest reads what it wrote, and the image has it. */
		if (memcmp(w, r, sizeof(w)) ||
		    pread(d->fd, r, sizeof(r), sector * 512) != sizeof(r) ||
		    memcmp(w, r, sizeof(w))) {
			d->ret = -EILSEQ;
			break;
		}
		d->done = ++i;
	}
	return NULL;
}

static int spawn_bridge_qsd(struct multi_dev *d)
{
	char id[32], mem[64], dev[256];
	const char *argv[] = {
		BRIDGE_PATH, "--hyp", "sim", "--guest", id, "--mem", mem,
		"--device", dev, NULL,
	};
	int ret;

	d->qsd = qsd_spawn(QSD_PATH, d->file, d->sock, 1);
	if (d->qsd <= 0)
		return -ECHILD;
	ret = daemon_wait_socket(d->qsd, d->sock, 20000);
	if (ret)
		return ret;
	snprintf(id, sizeof(id), "%llu", (unsigned long long)d->vg.guest_id);
	snprintf(mem, sizeof(mem), "0x%llx:0x%llx",
		 (unsigned long long)d->vg.ram_gpa,
		 (unsigned long long)d->vg.ram_size);
	snprintf(dev, sizeof(dev),
		 "type=blk,base=0x%llx,irq=%u,irq-type=edge,socket=%s,queues=1",
		 (unsigned long long)d->vg.base, d->vg.irq, d->sock);
	return vblk_guest_spawn_argv(&d->vg, (char **)argv);
}

static uint64_t ms(void)
{
	return now_ns() / 1000000;
}

/* Wait until every device but @skip has done @n more round trips. */
static int wait_progress(struct multi_dev *d, int skip, unsigned int n)
{
	unsigned int from[NR_DEVS];
	uint64_t t0 = ms();
	bool all;

	for (int i = 0; i < NR_DEVS; i++)
		from[i] = d[i].done;
	do {
		all = true;
		for (int i = 0; i < NR_DEVS; i++) {
			if (i == skip)
				continue;
			if (d[i].ret)
				return d[i].ret;
			all &= d[i].done >= from[i] + n;
		}
		if (all)
			return 0;
		usleep(20000);
	} while (ms() - t0 < 60000);
	return -ETIMEDOUT;
}

/*
 * One simulated guest, three virtio-blk devices (registers, interrupt line,
 * vCPU and part of RAM each), each served by its own daemon process with
 * its own guest fd: devices 0 and 1 by vbe-blk, device 2 by vbe-blk or by
 * the vhost-user bridge with qemu-storage-daemon.  The guest does verified
 * I/O on all three at once; device 1's daemon is SIGKILLed mid-I/O; the
 * other two keep completing verified I/O; then a new vbe-blk claims the
 * dead daemon's device and serves it.
 */
static void multi_daemon(struct __test_metadata *_metadata, bool bridge)
{
	struct multi_dev *d = calloc(NR_DEVS, sizeof(*d));
	uint8_t buf[512];
	int status, i;

	ASSERT_NE(NULL, d);
	for (i = 0; i < NR_DEVS; i++)
		d[i].fd = -1;
	ASSERT_EQ(0, vblk_guest_create_vcpus(&d[0].vg, NR_DEVS * DEV_RAM,
					     DEV_BASE, 5, false, NR_DEVS));
	for (i = 1; i < NR_DEVS; i++)
		ASSERT_EQ(0, vblk_guest_add_device(&d[i].vg, &d[0].vg,
						   i * DEV_RAM, DEV_RAM,
						   DEV_BASE + i * DEV_STRIDE,
						   5 + i, false, i));
	/* Device 0 uses only the first DEV_RAM of the guest's RAM. */
	d[0].vg.ram_size = DEV_RAM;
	for (i = 0; i < NR_DEVS; i++) {
		d[i].vg.max_queues = 1;
		snprintf(d[i].file, sizeof(d[i].file), "/tmp/e2e-multi-%d-%d.img",
			 getpid(), i);
		d[i].fd = open(d[i].file, O_RDWR | O_CREAT | O_TRUNC, 0600);
		ASSERT_LE(0, d[i].fd);
		ASSERT_EQ(0, ftruncate(d[i].fd, DISK_SIZE));
		if (bridge && i == NR_DEVS - 1) {
			snprintf(d[i].sock, sizeof(d[i].sock),
				 "/tmp/e2e-multi-%d.sock", getpid());
			ASSERT_EQ(0, spawn_bridge_qsd(&d[i]));
		} else {
			ASSERT_EQ(0, vblk_guest_spawn(&d[i].vg, backend_path(),
						      d[i].file, false));
		}
	}
	for (i = 0; i < NR_DEVS; i++) {
		ASSERT_EQ(0, vblk_guest_probe(&d[i].vg, 20000));
		ASSERT_EQ(DISK_SIZE / 512, d[i].vg.capacity);
	}
	for (i = 0; i < NR_DEVS; i++)
		ASSERT_EQ(0, pthread_create(&d[i].tid, NULL, multi_io, &d[i]));

	/* All three serve at once. */
	ASSERT_EQ(0, wait_progress(d, -1, 3));
	/* SIGKILL one daemon while its device has I/O going on. */
	ASSERT_EQ(0, kill(d[KILLED].vg.backend, SIGKILL));
	ASSERT_EQ(d[KILLED].vg.backend,
		  waitpid(d[KILLED].vg.backend, &status, 0));
	d[KILLED].vg.backend = 0;
	TH_LOG("daemon of device %d killed after %u round trips; others at %u, %u",
	       KILLED, d[KILLED].done, d[0].done, d[2].done);
	/* The two others keep serving verified I/O. */
	ASSERT_EQ(0, wait_progress(d, KILLED, 5));
	d[KILLED].stop = true;
	ASSERT_EQ(0, pthread_join(d[KILLED].tid, NULL));
	/* Its request in flight failed (no daemon), or had completed. */
	TH_LOG("device %d: %u round trips, then %d", KILLED, d[KILLED].done,
	       d[KILLED].ret);
	ASSERT_EQ(0, wait_progress(d, KILLED, 2));

	/* The dead daemon's ranges are free: a new daemon serves device 1. */
	ASSERT_EQ(0, vblk_guest_spawn(&d[KILLED].vg, backend_path(),
				      d[KILLED].file, false));
	ASSERT_EQ(0, vblk_guest_probe(&d[KILLED].vg, 20000));
	pattern(buf, sizeof(buf), 77);
	ASSERT_EQ(VIRTIO_BLK_S_OK,
		  vblk_guest_request(&d[KILLED].vg, VIRTIO_BLK_T_OUT, 3, buf,
				     sizeof(buf)));
	memset(buf, 0, sizeof(buf));
	ASSERT_EQ(VIRTIO_BLK_S_OK,
		  vblk_guest_request(&d[KILLED].vg, VIRTIO_BLK_T_IN, 3, buf,
				     sizeof(buf)));
	{
		uint8_t want[512];

		pattern(want, sizeof(want), 77);
		ASSERT_EQ(0, memcmp(want, buf, sizeof(buf)));
	}

	for (i = 0; i < NR_DEVS; i++) {
		if (i == KILLED)
			continue;
		d[i].stop = true;
		ASSERT_EQ(0, pthread_join(d[i].tid, NULL));
		EXPECT_EQ(0, d[i].ret);
	}
	d[0].vg.ram_size = NR_DEVS * DEV_RAM;	/* all of it is mapped */
	for (i = NR_DEVS - 1; i >= 0; i--) {
		if (d[i].vg.backend)
			daemon_stop(d[i].vg.backend, 5000);
		d[i].vg.backend = 0;
		if (d[i].qsd)
			daemon_stop(d[i].qsd, 5000);
		vblk_guest_destroy(&d[i].vg);
		close(d[i].fd);
		unlink(d[i].file);
		if (d[i].sock[0])
			unlink(d[i].sock);
	}
	free(d);
}

TEST(three_devices_three_vbe_blk_one_killed_mid_io)
{
	SKIP_IF_NO_VIRTBE(_metadata);
	if (access(backend_path(), X_OK))
		SKIP(return, "demo backend %s not found", backend_path());
	multi_daemon(_metadata, false);
}

TEST(three_devices_two_vbe_blk_and_bridge_qsd_one_killed_mid_io)
{
	SKIP_IF_NO_VIRTBE(_metadata);
	if (access(backend_path(), X_OK))
		SKIP(return, "demo backend %s not found", backend_path());
	if (access(QSD_PATH, X_OK))
		SKIP(return, "%s not found: no vhost-user daemon to bridge",
		     QSD_PATH);
	if (access(BRIDGE_PATH, X_OK))
		SKIP(return, "the bridge %s not found", BRIDGE_PATH);
	multi_daemon(_metadata, true);
}

TEST_HARNESS_MAIN
