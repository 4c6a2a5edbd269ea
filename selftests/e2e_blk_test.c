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

TEST_HARNESS_MAIN
