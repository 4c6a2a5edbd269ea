// SPDX-License-Identifier: GPL-2.0
/*
 * The vhost-user bridge end to end: the simulated guest's virtio-blk driver
 * (tools/sim-guest) on the simulator hypervisor, served by an unmodified
 * qemu-storage-daemon through tools/vhost-user's virtbe-vhost-user, which
 * hands the daemon the guest's memory fds, ioeventfds and irqfds.
 *
 *   bridge_debian_qemu_storage_daemon_sim      qemu-storage-daemon (num-queues=2) behind the bridge
 *                (queues=2), guest on the simulator: data on both queues,
 *                requests in flight, the daemon killed and restarted, the
 *                bridge's clean exit, and a data path that bypasses it.
 *   vbe_blk_sim   control: the same driver, 16 requests in flight, against
 *                tools/vbe-blk (no bridge), so that a failure of bridge_debian_qemu_storage_daemon_sim
 *                can be told apart from one of the driver.
 *
 * Paths: /bin/qemu-storage-daemon, /bin/virtbe-vhost-user, /bin/vbe-blk
 * (env QSD, VBE_VHOST_USER, VBE_BLK override them); VHU_VERBOSE=1 passes
 * --verbose to the bridge.
 */
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>

#include "virtbe_utils.h"
#include "../tools/sim-guest/daemons.h"
#include "../tools/sim-guest/vblk_guest.h"

#define DISK_SIZE	(8 << 20)
#define GUEST_RAM	(16ULL << 20)
#define DEV_BASE	0x10000000ULL
#define DEV_IRQ		5
#define NR_QUEUES	2
#define BURST		2000

/*
 * A SKIP() in FIXTURE_SETUP does not stop this harness (linux-source-6.1)
 * from running the test's body: each body starts with this.
 */
#define RETURN_IF_SKIPPED()		\
	do {				\
		if (_metadata->skip)	\
			return;		\
	} while (0)

static uint64_t ms_now(void)
{
	return now_ns() / 1000000;
}

static void pattern(uint8_t *p, size_t len, unsigned int seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)((i >> 9) * 131 + i * 7 + seed * 29 + 1);
}

static int run_batch(struct vblk_guest *vg, unsigned int queue,
		     uint32_t type, const uint64_t *sectors, uint8_t *const *bufs,
		     unsigned int n, uint32_t len, int *tags)
{
	struct vblk_done d[VBLK_MAX_SLOTS];
	unsigned int got = 0;
	int ret;

	for (unsigned int i = 0; i < n; i++) {
		tags[i] = vblk_guest_submit(vg, queue, type, sectors[i],
					    bufs ? bufs[i] : NULL, len);
		if (tags[i] < 0)
			return tags[i];
	}
	ret = vblk_guest_kick(vg, queue);
	if (ret)
		return ret;
	while (got < n) {
		ret = vblk_guest_poll(vg, d, VBLK_MAX_SLOTS, 10000);
		if (ret < 0)
			return ret;
		if (!ret)
			return -EPROTO;
		for (int i = 0; i < ret; i++) {
			if (d[i].queue != queue)
				return -EPROTO;
			if (d[i].status != VIRTIO_BLK_S_OK)
				return -EIO;
		}
		got += ret;
	}
	return 0;
}

/*
 * Write @n chunks of @len bytes (seeded by @seed) at @sectors on @queue, all
 * in flight at once, read them back the same way and compare.
 */
static int write_read_queue(struct vblk_guest *vg, unsigned int queue,
			    const uint64_t *sectors, unsigned int n,
			    uint32_t len, unsigned int seed)
{
	static uint8_t w[VBLK_MAX_SLOTS][VBLK_SLOT_DATA];
	uint8_t *bufs[VBLK_MAX_SLOTS];
	int tags[VBLK_MAX_SLOTS], ret;

	if (n > VBLK_MAX_SLOTS || len > VBLK_SLOT_DATA)
		return -EINVAL;
	for (unsigned int i = 0; i < n; i++) {
		pattern(w[i], len, seed + i);
		bufs[i] = w[i];
	}
	ret = run_batch(vg, queue, VIRTIO_BLK_T_OUT, sectors, bufs, n, len,
			tags);
	if (ret)
		return ret;
	for (unsigned int i = 0; i < n; i++)
		memset(vblk_guest_data(vg, queue, i), 0, len);
	ret = run_batch(vg, queue, VIRTIO_BLK_T_IN, sectors, NULL, n, len,
			tags);
	if (ret)
		return ret;
	for (unsigned int i = 0; i < n; i++)
		if (memcmp(vblk_guest_data(vg, queue, tags[i]), w[i], len))
			return -EILSEQ;
	return 0;
}

/* The file holds @len bytes of pattern @seed at @sector. */
static bool file_has(int fd, uint64_t sector, uint32_t len, unsigned int seed)
{
	static uint8_t w[VBLK_SLOT_DATA], f[VBLK_SLOT_DATA];

	if (len > sizeof(w) || pread(fd, f, len, sector * 512) != len)
		return false;
	pattern(w, len, seed);
	return !memcmp(w, f, len);
}

/* ---------------------------------------------------------------- bridge_debian_qemu_storage_daemon_sim */

FIXTURE(bridge_debian_qemu_storage_daemon_sim) {
	struct vblk_guest vg;
	char img[64], sock[64];
	int fd;
	pid_t qsd;
	bool created;
};

FIXTURE_VARIANT(bridge_debian_qemu_storage_daemon_sim) {
	bool level;
};

FIXTURE_VARIANT_ADD(bridge_debian_qemu_storage_daemon_sim, edge) {
	.level = false,
};

FIXTURE_VARIANT_ADD(bridge_debian_qemu_storage_daemon_sim, level) {
	.level = true,
};

static int spawn_bridge(struct vblk_guest *vg, const char *sock, bool level)
{
	char id[32], mem[64], dev[256];
	const char *argv[] = {
		BRIDGE_PATH, "--hyp", "sim", "--guest", id, "--mem", mem,
		"--device", dev, getenv("VHU_VERBOSE") ? "--verbose" : NULL,
		NULL,
	};

	snprintf(id, sizeof(id), "%llu", (unsigned long long)vg->guest_id);
	snprintf(mem, sizeof(mem), "0:0x%llx",
		 (unsigned long long)vg->ram_size);
	snprintf(dev, sizeof(dev),
		 "type=blk,base=0x%llx,irq=%u,irq-type=%s,socket=%s,queues=%d",
		 (unsigned long long)vg->base, vg->irq,
		 level ? "level" : "edge", sock, NR_QUEUES);
	return vblk_guest_spawn_argv(vg, (char **)argv);
}

FIXTURE_SETUP(bridge_debian_qemu_storage_daemon_sim)
{
	memset(&self->vg, 0, sizeof(self->vg));
	self->fd = -1;
	self->qsd = 0;
	self->created = false;
	SKIP_IF_NO_VIRTBE(_metadata);
	if (access(QSD_PATH, X_OK))
		SKIP(return, "%s not found", QSD_PATH);
	if (access(BRIDGE_PATH, X_OK))
		SKIP(return, "the bridge %s not found", BRIDGE_PATH);
	snprintf(self->img, sizeof(self->img), "/tmp/vu-blk-%d.img", getpid());
	snprintf(self->sock, sizeof(self->sock), "/tmp/vu-blk-%d.sock",
		 getpid());
	self->fd = open(self->img, O_RDWR | O_CREAT | O_TRUNC, 0600);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, ftruncate(self->fd, DISK_SIZE));
	ASSERT_EQ(0, vblk_guest_create(&self->vg, GUEST_RAM, DEV_BASE, DEV_IRQ,
				       variant->level));
	self->created = true;
	self->vg.qsize = 128;
	self->qsd = qsd_spawn(QSD_PATH, self->img, self->sock, NR_QUEUES);
	ASSERT_LT(0, self->qsd);
	ASSERT_EQ(0, daemon_wait_socket(self->qsd, self->sock, 20000));
	ASSERT_EQ(0, spawn_bridge(&self->vg, self->sock, variant->level));
	ASSERT_EQ(0, vblk_guest_probe(&self->vg, 20000));
	ASSERT_EQ(DISK_SIZE / 512, self->vg.capacity);
	ASSERT_EQ(NR_QUEUES, self->vg.nr_queues);
	ASSERT_LE(16, self->vg.vq[0].nr_slots);
	TH_LOG("features 0x%llx, %u queues of %u entries",
	       (unsigned long long)self->vg.features, self->vg.nr_queues,
	       self->vg.qsize);
}

FIXTURE_TEARDOWN(bridge_debian_qemu_storage_daemon_sim)
{
	if (self->vg.backend) {
		daemon_stop(self->vg.backend, 5000);
		self->vg.backend = 0;
	}
	if (self->created)
		vblk_guest_destroy(&self->vg);
	daemon_stop(self->qsd, 5000);
	if (self->fd >= 0) {
		close(self->fd);
		unlink(self->img);
		unlink(self->sock);
	}
}

TEST_F(bridge_debian_qemu_storage_daemon_sim, write_read_verify_flush)
{
	static uint8_t w[128 << 10], r[128 << 10];
	/* 32 KiB (64 sectors) each, queue q's shifted by 64 sectors. */
	const uint64_t sectors[] = { 1, 130, 4097, 9000, DISK_SIZE / 512 - 256 };
	const unsigned int n = ARRAY_SIZE(sectors);

	RETURN_IF_SKIPPED();
	ASSERT_TRUE(self->vg.features & (1ULL << VIRTIO_BLK_F_FLUSH));
	ASSERT_TRUE(self->vg.features & (1ULL << VIRTIO_BLK_F_MQ));
	/* 128 KiB requests one by one on queue 0. */
	pattern(w, sizeof(w), 5);
	ASSERT_EQ(VIRTIO_BLK_S_OK,
		  vblk_guest_request(&self->vg, VIRTIO_BLK_T_OUT, 2048, w,
				     sizeof(w)));
	ASSERT_EQ(VIRTIO_BLK_S_OK,
		  vblk_guest_request(&self->vg, VIRTIO_BLK_T_IN, 2048, r,
				     sizeof(r)));
	ASSERT_EQ(0, memcmp(w, r, sizeof(w)));
	/* Several sectors on each queue, all in flight at once. */
	for (unsigned int q = 0; q < NR_QUEUES; q++) {
		uint64_t s[8];
		int tag;

		for (unsigned int i = 0; i < n; i++)
			s[i] = sectors[i] + 64 * q;
		ASSERT_EQ(0, write_read_queue(&self->vg, q, s, n, 32 << 10,
					      100 * q));
		ASSERT_EQ(0, run_batch(&self->vg, q, VIRTIO_BLK_T_FLUSH,
				       s, NULL, 1, 0, &tag));
		for (unsigned int i = 0; i < n; i++)
			ASSERT_TRUE(file_has(self->fd, s[i], 32 << 10,
					     100 * q + i));
	}
	/* Data written to the file is what the guest reads. */
	pattern(w, 4096, 99);
	ASSERT_EQ(4096, pwrite(self->fd, w, 4096, 4096 * 300));
	ASSERT_EQ(VIRTIO_BLK_S_OK,
		  vblk_guest_request(&self->vg, VIRTIO_BLK_T_IN, 2400, r, 4096));
	ASSERT_EQ(0, memcmp(w, r, 4096));
	/* Past the end of the disk. */
	EXPECT_EQ(VIRTIO_BLK_S_IOERR,
		  vblk_guest_request(&self->vg, VIRTIO_BLK_T_IN,
				     DISK_SIZE / 512, r, 512));
	EXPECT_LT(0, self->vg.nr_irqs);
	EXPECT_EQ(0, daemon_stop(self->vg.backend, 5000));
	self->vg.backend = 0;
}

TEST_F(bridge_debian_qemu_storage_daemon_sim, two_queues_16_in_flight_each)
{
	struct vblk_done d[VBLK_MAX_SLOTS];
	unsigned int per_q[NR_QUEUES] = { 0 }, got = 0, rounds = 0;
	const unsigned int depth = 16;

	RETURN_IF_SKIPPED();
	/* 16 writes on each queue before either is kicked. */
	for (unsigned int q = 0; q < NR_QUEUES; q++)
		for (unsigned int i = 0; i < depth; i++) {
			uint8_t buf[4096];

			pattern(buf, sizeof(buf), 1000 + q * depth + i);
			ASSERT_EQ((int)i, vblk_guest_submit(&self->vg, q,
					VIRTIO_BLK_T_OUT, (q * depth + i) * 8,
					buf, sizeof(buf)));
		}
	ASSERT_EQ(depth, vblk_guest_inflight(&self->vg, 0));
	ASSERT_EQ(depth, vblk_guest_inflight(&self->vg, 1));
	for (unsigned int q = 0; q < NR_QUEUES; q++)
		ASSERT_EQ(0, vblk_guest_kick(&self->vg, q));
	while (got < NR_QUEUES * depth) {
		int n = vblk_guest_poll(&self->vg, d, VBLK_MAX_SLOTS, 10000);

		ASSERT_LT(0, n);
		for (int i = 0; i < n; i++) {
			ASSERT_GT(NR_QUEUES, d[i].queue);
			ASSERT_EQ(VIRTIO_BLK_S_OK, d[i].status);
			per_q[d[i].queue]++;
		}
		got += n;
		rounds++;
	}
	ASSERT_EQ(depth, per_q[0]);
	ASSERT_EQ(depth, per_q[1]);
	TH_LOG("32 writes on 2 queues completed in %u polls", rounds);
	/* Read back crosswise: what queue 0 wrote through queue 1 and back. */
	for (unsigned int q = 0; q < NR_QUEUES; q++) {
		uint64_t s[16];
		int tags[16];

		for (unsigned int i = 0; i < depth; i++)
			s[i] = ((1 - q) * depth + i) * 8;
		ASSERT_EQ(0, run_batch(&self->vg, q, VIRTIO_BLK_T_IN, s, NULL,
				       depth, 4096, tags));
		for (unsigned int i = 0; i < depth; i++) {
			uint8_t buf[4096];

			pattern(buf, sizeof(buf), 1000 + (1 - q) * depth + i);
			ASSERT_EQ(0, memcmp(buf, vblk_guest_data(&self->vg, q,
								tags[i]),
					    sizeof(buf)));
		}
	}
}

TEST_F(bridge_debian_qemu_storage_daemon_sim, daemon_killed_and_restarted)
{
	static uint8_t w[64 << 10], r[64 << 10];
	uint64_t t0, v, worst = 0, start;
	uint32_t status = 0;
	int st, ret, tries = 0;

	RETURN_IF_SKIPPED();
	pattern(w, sizeof(w), 42);
	ASSERT_EQ(VIRTIO_BLK_S_OK,
		  vblk_guest_request(&self->vg, VIRTIO_BLK_T_OUT, 1000, w,
				     sizeof(w)));
	ASSERT_EQ(VIRTIO_BLK_S_OK,
		  vblk_guest_request(&self->vg, VIRTIO_BLK_T_FLUSH, 0, NULL, 0));
	/* A request in flight on queue 1 while the daemon dies. */
	ASSERT_LE(0, vblk_guest_submit(&self->vg, 1, VIRTIO_BLK_T_IN, 1000,
				       NULL, 4096));
	ASSERT_EQ(0, vblk_guest_kick(&self->vg, 1));

	ASSERT_EQ(0, kill(self->qsd, SIGKILL));
	ASSERT_EQ(self->qsd, waitpid(self->qsd, &st, 0));
	self->qsd = 0;
	start = ms_now();

	/*
	 * The device says it needs a reset, with a configuration interrupt,
	 * within a few seconds; meanwhile no vCPU access hangs.
	 */
	while (ms_now() - start < 5000) {
		t0 = ms_now();
		v = 0;
		ASSERT_EQ(0, vblk_mmio_read(&self->vg, VIRTIO_MMIO_STATUS, 4, &v));
		if (ms_now() - t0 > worst)
			worst = ms_now() - t0;
		status = (uint32_t)v;
		if (status & VIRTIO_CONFIG_S_NEEDS_RESET)
			break;
		usleep(20000);
	}
	TH_LOG("Status 0x%x %llu ms after the kill; slowest register read %llu ms",
	       status, (unsigned long long)(ms_now() - start),
	       (unsigned long long)worst);
	ASSERT_NE(0, status & VIRTIO_CONFIG_S_NEEDS_RESET);
	EXPECT_NE(0, status & VIRTIO_CONFIG_S_DRIVER_OK);
	EXPECT_GT(1000, worst);
	while (!self->vg.needs_reset && ms_now() - start < 5000)
		if (vblk_guest_wait_irq(&self->vg, 1000) == -ETIMEDOUT)
			break;
	EXPECT_TRUE(self->vg.needs_reset);
	EXPECT_LT(0, self->vg.nr_config_irqs);
	/* The driver gives up on I/O at once, rather than waiting. */
	t0 = ms_now();
	EXPECT_EQ(-EIO, vblk_guest_request(&self->vg, VIRTIO_BLK_T_IN, 0, r,
					   512));
	EXPECT_GT(1000, ms_now() - t0);

	/*
	 * The daemon stays away a while (long enough for a frontend's
	 * reconnection attempts to back off), then comes back on the same
	 * socket.
	 */
	usleep(1500000);
	/*
	 * The killed daemon's socket file is still there: without this, the
	 * wait below would return before the new daemon listens, and the
	 * guest's reset would find nobody to connect to.
	 */
	unlink(self->sock);
	self->qsd = qsd_spawn(QSD_PATH, self->img, self->sock, NR_QUEUES);
	ASSERT_LT(0, self->qsd);
	ASSERT_EQ(0, daemon_wait_socket(self->qsd, self->sock, 20000));
	start = ms_now();
	/*
	 * The guest resets the device and initialises it again: once should
	 * do, the daemon being back; a failed attempt is counted and retried,
	 * so that the rest is tested anyway.
	 */
	ASSERT_EQ(0, vblk_mmio_write(&self->vg, VIRTIO_MMIO_STATUS, 4, 0));
	do {
		tries++;
		ret = vblk_guest_probe(&self->vg, 10000);
		if (ret) {
			TH_LOG("probe attempt %d: %s", tries, strerror(-ret));
			usleep(100000);
		}
	} while (ret && ms_now() - start < 10000);
	TH_LOG("probed again %llu ms after the restart, %d attempt(s)",
	       (unsigned long long)(ms_now() - start), tries);
	ASSERT_EQ(0, ret);
	EXPECT_EQ(1, tries);
	ASSERT_EQ(NR_QUEUES, self->vg.nr_queues);
	/* What was written before the kill is there; I/O works on both. */
	memset(r, 0, sizeof(r));
	ASSERT_EQ(VIRTIO_BLK_S_OK,
		  vblk_guest_request(&self->vg, VIRTIO_BLK_T_IN, 1000, r,
				     sizeof(r)));
	ASSERT_EQ(0, memcmp(w, r, sizeof(w)));
	for (unsigned int q = 0; q < NR_QUEUES; q++) {
		const uint64_t s[4] = { 3000 + q * 64, 3016 + q * 64,
					3032 + q * 64, 3048 + q * 64 };

		ASSERT_EQ(0, write_read_queue(&self->vg, q, s, 4, 8192, 7 * q));
	}
	EXPECT_FALSE(self->vg.needs_reset);
}

/*
 * Linux's drivers do not act on DEVICE_NEEDS_RESET: a block device whose
 * daemon came back is served again without a reset, the new daemon taking
 * the rings over where the used rings stand: a read the driver made
 * available while no daemon served completes, and so do new requests.
 */
TEST_F(bridge_debian_qemu_storage_daemon_sim,
       daemon_restarted_driver_ignores_needs_reset)
{
	static uint8_t w[4096];
	struct vblk_done d[VBLK_MAX_SLOTS];
	uint64_t start, v = 0;
	int st, tag, n;

	RETURN_IF_SKIPPED();
	pattern(w, sizeof(w), 77);
	ASSERT_EQ(VIRTIO_BLK_S_OK,
		  vblk_guest_request(&self->vg, VIRTIO_BLK_T_OUT, 2000, w,
				     sizeof(w)));
	ASSERT_EQ(VIRTIO_BLK_S_OK,
		  vblk_guest_request(&self->vg, VIRTIO_BLK_T_FLUSH, 0, NULL, 0));
	ASSERT_EQ(0, kill(self->qsd, SIGKILL));
	ASSERT_EQ(self->qsd, waitpid(self->qsd, &st, 0));
	self->qsd = 0;
	/* a read made available while no daemon serves */
	tag = vblk_guest_submit(&self->vg, 1, VIRTIO_BLK_T_IN, 2000, NULL,
				sizeof(w));
	ASSERT_LE(0, tag);
	ASSERT_EQ(0, vblk_guest_kick(&self->vg, 1));
	start = ms_now();
	while (!(v & VIRTIO_CONFIG_S_NEEDS_RESET) && ms_now() - start < 5000) {
		ASSERT_EQ(0, vblk_mmio_read(&self->vg, VIRTIO_MMIO_STATUS, 4,
					    &v));
		usleep(20000);
	}
	ASSERT_NE(0, v & VIRTIO_CONFIG_S_NEEDS_RESET);
	while (vblk_guest_wait_irq(&self->vg, 500) == 0)
		;
	self->vg.needs_reset = false;	/* ignored, as Linux does */

	unlink(self->sock);	/* the killed daemon's (see above) */
	self->qsd = qsd_spawn(QSD_PATH, self->img, self->sock, NR_QUEUES);
	ASSERT_LT(0, self->qsd);
	ASSERT_EQ(0, daemon_wait_socket(self->qsd, self->sock, 20000));
	start = ms_now();
	n = vblk_guest_poll(&self->vg, d, VBLK_MAX_SLOTS, 10000);
	TH_LOG("%d request(s) completed %llu ms after the restart", n,
	       (unsigned long long)(ms_now() - start));
	ASSERT_EQ(1, n);
	ASSERT_EQ(tag, d[0].tag);
	ASSERT_EQ(VIRTIO_BLK_S_OK, d[0].status);
	ASSERT_EQ(0, memcmp(w, vblk_guest_data(&self->vg, 1, tag), sizeof(w)));
	/* and new requests, on both queues, without a reset */
	for (unsigned int q = 0; q < NR_QUEUES; q++) {
		const uint64_t s[2] = { 4000 + q * 64, 4016 + q * 64 };

		ASSERT_EQ(0, write_read_queue(&self->vg, q, s, 2, 4096, 9 + q));
	}
}

/* A driver resets a running device and sets it up again: rings restart. */
TEST_F(bridge_debian_qemu_storage_daemon_sim, reset_while_running)
{
	const uint64_t s[4] = { 512, 640, 768, 896 };
	uint8_t buf[4096], w[4096];

	RETURN_IF_SKIPPED();
	for (unsigned int round = 0; round < 3; round++) {
		for (unsigned int q = 0; q < NR_QUEUES; q++)
			ASSERT_EQ(0, write_read_queue(&self->vg, q, s, 4, 4096,
						      round * 10 + q));
		ASSERT_EQ(0, vblk_guest_probe(&self->vg, 5000));
		ASSERT_EQ(NR_QUEUES, self->vg.nr_queues);
	}
	/* What the last round wrote through queue 1 is read through 0. */
	ASSERT_TRUE(file_has(self->fd, s[0], 4096, 2 * 10 + 1));
	ASSERT_EQ(VIRTIO_BLK_S_OK,
		  vblk_guest_request(&self->vg, VIRTIO_BLK_T_IN, s[0], buf,
				     sizeof(buf)));
	pattern(w, sizeof(w), 2 * 10 + 1);
	ASSERT_EQ(0, memcmp(w, buf, sizeof(buf)));
}

TEST_F(bridge_debian_qemu_storage_daemon_sim, sigterm_clean_exit)
{
	uint8_t buf[512];
	uint64_t v = 0, t0;

	RETURN_IF_SKIPPED();
	ASSERT_EQ(VIRTIO_BLK_S_OK,
		  vblk_guest_request(&self->vg, VIRTIO_BLK_T_IN, 0, buf,
				     sizeof(buf)));
	ASSERT_EQ(0, daemon_stop(self->vg.backend, 5000));
	self->vg.backend = 0;
	/* The bridge let go of the device: no backend, all-ones, at once. */
	t0 = ms_now();
	ASSERT_EQ(0, vblk_mmio_read(&self->vg, VIRTIO_MMIO_MAGIC_VALUE, 4, &v));
	EXPECT_EQ(0xffffffffULL, v);
	EXPECT_GT(1000, ms_now() - t0);
	/* The daemon outlives its frontend. */
	EXPECT_EQ(0, waitpid(self->qsd, NULL, WNOHANG));
}

/*
 * Once the rings are the daemon's, a request costs the bridge nothing: the
 * kicks go from the kernel to the daemon's eventfd, the interrupts from its
 * irqfd to the guest.
 */
TEST_F(bridge_debian_qemu_storage_daemon_sim, data_path_bypasses_bridge)
{
	long b0, b1, q0, q1;
	uint64_t t0, wall;
	uint8_t buf[4096];

	RETURN_IF_SKIPPED();
	b0 = proc_cpu_ms(self->vg.backend);
	q0 = proc_cpu_ms(self->qsd);
	ASSERT_LE(0, b0);
	ASSERT_LE(0, q0);
	t0 = ms_now();
	for (unsigned int i = 0; i < BURST; i++) {
		int tag = vblk_guest_submit(&self->vg, i % NR_QUEUES,
					    VIRTIO_BLK_T_IN,
					    (i * 8) % (DISK_SIZE / 512 - 8),
					    NULL, sizeof(buf));
		struct vblk_done d;

		ASSERT_LE(0, tag);
		ASSERT_EQ(0, vblk_guest_kick(&self->vg, i % NR_QUEUES));
		ASSERT_EQ(1, vblk_guest_poll(&self->vg, &d, 1, 10000));
		ASSERT_EQ(VIRTIO_BLK_S_OK, d.status);
	}
	wall = ms_now() - t0;
	b1 = proc_cpu_ms(self->vg.backend);
	q1 = proc_cpu_ms(self->qsd);
	printf("# bridge CPU time during %d requests: %ld ms (qemu-storage-daemon: %ld ms, wall %llu ms, %lu interrupts)\n",
	       BURST, b1 - b0, q1 - q0, (unsigned long long)wall,
	       self->vg.nr_irqs);
	/* Clock ticks are 10 ms: allow a few, and 2% of the time taken. */
	EXPECT_GE(30 + (long)wall / 50, b1 - b0);
}

/* ------------------------------------------------------------- vbe_blk_sim */

FIXTURE(vbe_blk_sim) {
	struct vblk_guest vg;
	char img[64];
	int fd;
	bool created;
};

FIXTURE_SETUP(vbe_blk_sim)
{
	memset(&self->vg, 0, sizeof(self->vg));
	self->fd = -1;
	self->created = false;
	SKIP_IF_NO_VIRTBE(_metadata);
	if (access(VBE_BLK_PATH, X_OK))
		SKIP(return, "%s not found", VBE_BLK_PATH);
	snprintf(self->img, sizeof(self->img), "/tmp/vu-vbe-%d.img", getpid());
	self->fd = open(self->img, O_RDWR | O_CREAT | O_TRUNC, 0600);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, ftruncate(self->fd, DISK_SIZE));
	ASSERT_EQ(0, vblk_guest_create(&self->vg, GUEST_RAM, DEV_BASE, DEV_IRQ,
				       false));
	self->created = true;
	self->vg.qsize = 128;
	ASSERT_EQ(0, vblk_guest_spawn(&self->vg, VBE_BLK_PATH, self->img,
				      false));
	ASSERT_EQ(0, vblk_guest_probe(&self->vg, 10000));
}

FIXTURE_TEARDOWN(vbe_blk_sim)
{
	if (self->vg.backend) {
		daemon_stop(self->vg.backend, 5000);
		self->vg.backend = 0;
	}
	if (self->created)
		vblk_guest_destroy(&self->vg);
	if (self->fd >= 0) {
		close(self->fd);
		unlink(self->img);
	}
}

TEST_F(vbe_blk_sim, one_queue_16_in_flight)
{
	uint64_t s[16];
	uint8_t buf[512];

	RETURN_IF_SKIPPED();
	/* vbe-blk offers no MQ: one queue, whatever the driver could take. */
	EXPECT_EQ(0, self->vg.features & (1ULL << VIRTIO_BLK_F_MQ));
	ASSERT_EQ(1, self->vg.nr_queues);
	ASSERT_EQ(128, self->vg.qsize);
	ASSERT_EQ(VBLK_MAX_SLOTS, self->vg.vq[0].nr_slots);
	ASSERT_EQ(-EINVAL, vblk_guest_submit(&self->vg, 1, VIRTIO_BLK_T_IN, 0,
					     NULL, 512));
	for (unsigned int i = 0; i < 16; i++)
		s[i] = (15 - i) * 64;
	ASSERT_EQ(0, write_read_queue(&self->vg, 0, s, 16, 16 << 10, 3));
	for (unsigned int i = 0; i < 16; i++)
		ASSERT_TRUE(file_has(self->fd, s[i], 16 << 10, 3 + i));
	/* Single requests still work between batches. */
	ASSERT_EQ(VIRTIO_BLK_S_OK,
		  vblk_guest_request(&self->vg, VIRTIO_BLK_T_IN, 0, buf,
				     sizeof(buf)));
	/* Every slot of the queue at once, then one more is refused. */
	for (unsigned int i = 0; i < VBLK_MAX_SLOTS; i++)
		ASSERT_EQ((int)i, vblk_guest_submit(&self->vg, 0,
						    VIRTIO_BLK_T_IN, i, NULL,
						    512));
	ASSERT_EQ(-EBUSY, vblk_guest_submit(&self->vg, 0, VIRTIO_BLK_T_IN, 0,
					    NULL, 512));
	ASSERT_EQ(-EBUSY, vblk_guest_request(&self->vg, VIRTIO_BLK_T_IN, 0,
					     buf, sizeof(buf)));
	ASSERT_EQ(0, vblk_guest_kick(&self->vg, 0));
	{
		struct vblk_done d[VBLK_MAX_SLOTS];
		unsigned int got = 0;

		while (got < VBLK_MAX_SLOTS) {
			int n = vblk_guest_poll(&self->vg, d, VBLK_MAX_SLOTS,
						10000);

			ASSERT_LT(0, n);
			got += n;
		}
		ASSERT_EQ(0, vblk_guest_poll(&self->vg, d, 1, 10000));
	}
	EXPECT_EQ(0, daemon_stop(self->vg.backend, 5000));
	self->vg.backend = 0;
}

TEST_HARNESS_MAIN
