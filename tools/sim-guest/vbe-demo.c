// SPDX-License-Identifier: GPL-2.0
/*
 * vbe-demo: a simulated guest whose virtio-blk device is served by the demo
 * backend (vbe-blk) through virtbe, printing what the guest sees; or, with
 * --qsd, by an unmodified qemu-storage-daemon behind virtbe-vhost-user.
 *
 *   vbe-demo [--backend PATH] [--file PATH] [--level]
 *   vbe-demo --qsd PATH [--bridge PATH] [--file PATH] [--level]
 */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/virtio_blk.h>

#include "daemons.h"
#include "vblk_guest.h"

#define DISK_SIZE	(4 << 20)
#define BASE		0x10000000ULL
#define IRQ		5

static void fill(uint8_t *p, size_t len, unsigned int seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(i * 31 + seed);
}

static int check(const char *what, int ret)
{
	printf("guest: %-44s %s\n", what, ret == 0 ? "ok" : "FAILED");
	if (ret)
		fprintf(stderr, "vbe-demo: %s: %d\n", what, ret);
	return ret ? 1 : 0;
}

int main(int argc, char **argv)
{
	const char *backend = "/bin/vbe-blk", *file = "/tmp/vbe-demo-disk.img";
	const char *qsd = NULL, *bridge = "/bin/virtbe-vhost-user";
	const char *sock = "/tmp/vbe-demo-qsd.sock";
	pid_t qsd_pid = 0;
	static uint8_t wbuf[65536], rbuf[65536], fbuf[65536];
	static const struct option opts[] = {
		{ "backend", required_argument, NULL, 'b' },
		{ "file", required_argument, NULL, 'f' },
		{ "level", no_argument, NULL, 'l' },
		{ "qsd", required_argument, NULL, 'q' },
		{ "bridge", required_argument, NULL, 'B' },
		{ }
	};
	struct vblk_guest vg;
	bool level = false;
	int fd, ret, fails = 0, o;
	char id[VIRTIO_BLK_ID_BYTES + 1] = { 0 };

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'b': backend = optarg; break;
		case 'f': file = optarg; break;
		case 'l': level = true; break;
		case 'q': qsd = optarg; break;
		case 'B': bridge = optarg; break;
		default: return 2;
		}
	}

	fd = open(file, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || ftruncate(fd, DISK_SIZE)) {
		perror(file);
		return 1;
	}
	printf("demo: backing file %s (%d MiB)\n", file, DISK_SIZE >> 20);

	ret = vblk_guest_create(&vg, 16 << 20, BASE, IRQ, level);
	if (ret) {
		fprintf(stderr, "vbe-demo: creating the simulated guest: %s\n",
			strerror(-ret));
		return 1;
	}
	vg.verbose = true;
	printf("demo: simulated guest %llu: 16 MiB RAM, virtio-mmio at 0x%llx, %s irq %u\n",
	       (unsigned long long)vg.guest_id, (unsigned long long)BASE,
	       level ? "level" : "edge", IRQ);
	if (qsd) {
		char id[32], mem[64], dev[160];
		char *const bargv[] = {
			(char *)bridge, "--hyp", "sim", "--guest", id,
			"--mem", mem, "--device", dev, NULL,
		};

		snprintf(id, sizeof(id), "%llu",
			 (unsigned long long)vg.guest_id);
		snprintf(mem, sizeof(mem), "0:0x%llx",
			 (unsigned long long)vg.ram_size);
		snprintf(dev, sizeof(dev),
			 "type=blk,base=0x%llx,irq=%u,irq-type=%s,socket=%s",
			 (unsigned long long)BASE, IRQ,
			 level ? "level" : "edge", sock);
		printf("demo: starting Debian's unmodified daemon: %s ... --export type=vhost-user-blk,addr.path=%s\n",
		       qsd, sock);
		qsd_pid = qsd_spawn(qsd, file, sock, 0);
		printf("demo: starting the bridge: %s --hyp sim --guest %s --mem %s --device %s\n",
		       bridge, id, mem, dev);
		ret = qsd_pid > 0 ? vblk_guest_spawn_argv(&vg, bargv) : -ECHILD;
	} else {
		printf("demo: starting the backend: %s --hyp sim --guest %llu ...\n",
		       backend, (unsigned long long)vg.guest_id);
		ret = vblk_guest_spawn(&vg, backend, file, true);
	}
	if (ret || vblk_guest_probe(&vg, 10000)) {
		fprintf(stderr, "vbe-demo: no virtio-blk device appeared\n");
		vblk_guest_destroy(&vg);
		daemon_stop(qsd_pid, 5000);
		return 1;
	}

	fails += check("GET_ID", vblk_guest_request(&vg, VIRTIO_BLK_T_GET_ID,
						    0, id, VIRTIO_BLK_ID_BYTES));
	printf("guest: disk id \"%s\"\n", id);
	fill(wbuf, sizeof(wbuf), 7);
	fails += check("write 64 KiB at sector 8",
		       vblk_guest_request(&vg, VIRTIO_BLK_T_OUT, 8, wbuf,
					  sizeof(wbuf)));
	fails += check("read it back",
		       vblk_guest_request(&vg, VIRTIO_BLK_T_IN, 8, rbuf,
					  sizeof(rbuf)));
	fails += check("data read equals data written",
		       memcmp(wbuf, rbuf, sizeof(wbuf)) ? -EIO : 0);
	fails += check("flush", vblk_guest_request(&vg, VIRTIO_BLK_T_FLUSH, 0,
						   NULL, 0));
	fails += check("read beyond the end is refused",
		       vblk_guest_request(&vg, VIRTIO_BLK_T_IN,
					  vg.capacity, rbuf, 512) ==
		       VIRTIO_BLK_S_IOERR ? 0 : -EIO);
	printf("guest: %lu requests, %lu kicks, %lu interrupts\n",
	       vg.nr_kicks, vg.nr_kicks, vg.nr_irqs);

	ret = vblk_guest_stop_backend(&vg);
	fails += check(qsd ? "bridge exited cleanly on SIGTERM" :
			     "backend exited cleanly on SIGTERM", ret);
	daemon_stop(qsd_pid, 5000);
	if (pread(fd, fbuf, sizeof(fbuf), 8 * 512) != sizeof(fbuf))
		fails++;
	fails += check("backing file holds the data",
		       memcmp(wbuf, fbuf, sizeof(wbuf)) ? -EIO : 0);
	vblk_guest_destroy(&vg);
	close(fd);
	printf("demo: %s\n", fails ? "FAILED" : "the backend served the guest's reads, writes and flush");
	return fails ? 1 : 0;
}
