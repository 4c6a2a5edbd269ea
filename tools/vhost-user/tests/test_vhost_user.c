// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * virtbe-vhost-user (the bridge) on the host: its main() runs in a thread
 * against the fake kernel of lib/tests/fakehv.c; this thread plays the
 * guest's virtio-mmio driver (register accesses through the request
 * channel, kicks through the ioeventfds, interrupts from the irqfds' eventfds,
 * rings and buffers in the fake guest RAM, a memfd the daemons map).  The
 * daemons are the real ones when installed (qemu-storage-daemon,
 * virtiofsd; their tests skip otherwise) or a scripted vhost-user backend
 * in a thread of the test.
 *
 * Each TEST runs in its own process (harness.c), so the bridge's global
 * state and getopt's are fresh; a bad configuration runs main() in a forked
 * child of its own, with stderr in a file.
 */
#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/fuse.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>

#include <sanitizer/lsan_interface.h>

#include "fakehv.h"
#include "harness.h"
#include "internal.h"
#include "vhu.h"
#include "vring_drv.h"

int vbe_vhost_user_main(int argc, char **argv);

#define QSD "/usr/bin/qemu-storage-daemon"
#define VIRTIOFSD "/usr/lib/qemu/virtiofsd"

#define G 0x40000000ULL
#define RAM (2U << 20)
#define MEM_ARG "0x40000000:0x200000"
#define BASE 0x10000000ULL
#define BASE_ARG "0x10000000"
#define IRQ 5
#define QOFF(q) (0x2000U * (q))	/* rings of queue q, 16 entries */
#define HDR (G + 0x40000)
#define DATA (G + 0x41000)
#define STATUS (G + 0x50000)
#define FUSE_IN (G + 0x60000)
#define FUSE_OUT (G + 0x61000)
#define MARK_OFF 0x1ff000U	/* the scripted daemon looks for it */
#define IMG_SIZE (4U << 20)

static uint8_t *ram;
static char tmpdir[64];

/* Files, daemons, cleanup */

static pid_t daemons[8];
static pid_t owner;	/* the test's process: children leave things alone */
static char pidfile[96];	/* of a daemon the bridge started (exec=) */

static pid_t read_pidfile(void)
{
	char buf[32] = "";
	ssize_t n;
	int fd;

	fd = open(pidfile, O_RDONLY);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n > 0 ? (pid_t)atoi(buf) : 0;
}

static int rm_one(const char *p, const struct stat *s, int flag,
		  struct FTW *f)
{
	(void)s; (void)flag; (void)f;
	return remove(p);
}

static void cleanup(void)
{
	unsigned int i;
	int st;

	if (getpid() != owner)
		return;
	if (pidfile[0] && read_pidfile() > 0)
		kill(read_pidfile(), SIGKILL);
	pidfile[0] = 0;
	for (i = 0; i < sizeof(daemons) / sizeof(daemons[0]); i++) {
		if (daemons[i] > 0) {
			kill(daemons[i], SIGKILL);
			waitpid(daemons[i], &st, 0);
			daemons[i] = 0;
		}
	}
	if (tmpdir[0])
		nftw(tmpdir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
	tmpdir[0] = 0;
}

/*
 * A temporary directory (sockets, images, logs), gone at the end
 * (cleanup(), also at exit(): the harness ends a test that returns with
 * _exit()).
 */
static void setup(void)
{
	owner = getpid();
	strcpy(tmpdir, "/tmp/vbe-vhu-XXXXXX");
	REQUIRE(mkdtemp(tmpdir));
	atexit(cleanup);
	vbe__ctl_path = "/dev/null";
	ram = fake_add_ram(G, RAM);
	REQUIRE(ram);
}

static const char *tpath(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/%s", tmpdir, name);
	return buf;
}
#define TPATH(buf, name) tpath(buf, sizeof(buf), name)

static void need(const char *prog)
{
	char why[128];

	if (access(prog, X_OK)) {
		snprintf(why, sizeof(why), "%s is not installed", prog);
		harness_skip(why);
	}
}

/* Start a daemon (killed when this process dies), output to @log. */
static pid_t spawn(char *const argv[], const char *log)
{
	unsigned int i;
	sigset_t none;
	pid_t pid;
	int fd;

	fflush(stdout);
	pid = fork();
	REQUIRE(pid >= 0);
	if (!pid) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execv(argv[0], argv);
		_exit(127);
	}
	for (i = 0; i < sizeof(daemons) / sizeof(daemons[0]); i++) {
		if (daemons[i] <= 0) {
			daemons[i] = pid;
			break;
		}
	}
	return pid;
}

/* Kill and reap a daemon started by spawn(). */
static void reap(pid_t pid, int sig)
{
	unsigned int i;
	int st;

	kill(pid, sig);
	REQUIRE_EQ(waitpid(pid, &st, 0), pid);
	for (i = 0; i < sizeof(daemons) / sizeof(daemons[0]); i++)
		if (daemons[i] == pid)
			daemons[i] = 0;
}

/* Wait for a daemon to exit on its own (1) or not within @ms (0). */
static int wait_exit(pid_t pid, int ms)
{
	unsigned int i;
	int st;

	for (; ms > 0; ms -= 10) {
		if (waitpid(pid, &st, WNOHANG) == pid) {
			for (i = 0; i < sizeof(daemons) / sizeof(daemons[0]); i++)
				if (daemons[i] == pid)
					daemons[i] = 0;
			return 1;
		}
		usleep(10000);
	}
	return 0;
}

/* The first @max lines of a file, as TAP comments. */
static void print_log(const char *path, unsigned int max)
{
	char line[512];
	FILE *f = fopen(path, "r");

	if (!f)
		return;
	while (max-- && fgets(line, sizeof(line), f))
		printf("#   %s%s", line, strchr(line, '\n') ? "" : "\n");
	fclose(f);
}

static void wait_socket(const char *path, const char *log)
{
	struct stat st;
	int ms;

	for (ms = 0; ms < 10000; ms += 10) {
		if (!stat(path, &st) && S_ISSOCK(st.st_mode))
			return;
		usleep(10000);
	}
	harness_fail(__FILE__, __LINE__, "no socket at %s; the daemon said:",
		     path);
	print_log(log, 100);
	exit(1);
}

static pid_t start_qsd(const char *img, const char *sock, const char *log)
{
	char a1[300], a2[300];
	char *argv[] = {
		QSD, "--blockdev", a1, "--blockdev",
		"driver=raw,node-name=d,file=f", "--export", a2, NULL,
	};
	pid_t pid;

	snprintf(a1, sizeof(a1), "driver=file,node-name=f,filename=%s", img);
	snprintf(a2, sizeof(a2),
		 "type=vhost-user-blk,id=e,node-name=d,addr.type=unix,addr.path=%s,writable=on,num-queues=2",
		 sock);
	unlink(sock);
	pid = spawn(argv, log);
	wait_socket(sock, log);
	return pid;
}

static pid_t start_virtiofsd(const char *dir, const char *sock,
			     const char *log)
{
	char a1[300], a2[300];
	char *argv[] = {
		VIRTIOFSD, a1, "-o", a2, "-o", "sandbox=chroot", NULL,
	};
	pid_t pid;

	snprintf(a1, sizeof(a1), "--socket-path=%s", sock);
	snprintf(a2, sizeof(a2), "source=%s", dir);
	unlink(sock);
	pid = spawn(argv, log);
	wait_socket(sock, log);
	return pid;
}

/* Sector n of the image holds the byte n + @seed. */
static void make_image(const char *path, uint8_t seed)
{
	static uint8_t buf[IMG_SIZE];
	unsigned int i;
	int fd;

	for (i = 0; i < IMG_SIZE; i++)
		buf[i] = (uint8_t)(i / 512 + seed);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	REQUIRE(fd >= 0);
	REQUIRE_EQ(write(fd, buf, IMG_SIZE), IMG_SIZE);
	close(fd);
}

static void check_image(const char *path, uint64_t off, uint8_t val,
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

/* Which fds are open (a bitmap of the first 1024). */
static void open_fds(uint8_t map[128])
{
	struct dirent *e;
	DIR *dir;
	int fd;

	memset(map, 0, 128);
	dir = opendir("/proc/self/fd");
	REQUIRE(dir);
	while ((e = readdir(dir))) {
		fd = atoi(e->d_name);
		if (e->d_name[0] == '.' || fd == dirfd(dir) || fd >= 1024)
			continue;
		map[fd / 8] |= (uint8_t)(1U << (fd % 8));
	}
	closedir(dir);
}

/* The fds open now that were not in @before (@allow excepted). */
static unsigned int new_fds(const uint8_t before[128], int allow)
{
	uint8_t now[128];
	char link[64], target[256];
	unsigned int fd, n = 0;
	ssize_t len;

	open_fds(now);
	for (fd = 0; fd < 1024; fd++) {
		if (!(now[fd / 8] & (1U << (fd % 8))) ||
		    (before[fd / 8] & (1U << (fd % 8))) || (int)fd == allow)
			continue;
		snprintf(link, sizeof(link), "/proc/self/fd/%u", fd);
		len = readlink(link, target, sizeof(target) - 1);
		target[len > 0 ? len : 0] = 0;
		printf("# fd %u left open: %s\n", fd, target);
		n++;
	}
	return n;
}

/* The bridge in a thread */

struct bridge_thread {
	pthread_t t;
	int argc;
	char *argv[32];
	int ret;
};

static void *bridge_fn(void *arg)
{
	struct bridge_thread *b = arg;

	b->ret = vbe_vhost_user_main(b->argc, b->argv);
	return NULL;
}

/* A --device spec is parsed in place: pass it in a writable buffer. */
static void start_bridge(struct bridge_thread *b, const char *const *args)
{
	unsigned int n = 0;

	b->argv[b->argc++] = "virtbe-vhost-user";
	while (args[n])
		b->argv[b->argc++] = (char *)args[n++];
	REQUIRE_EQ(pthread_create(&b->t, NULL, bridge_fn, b), 0);
}

/*
 * Wait until the bridge created @n devices (connected to their daemons)
 * and assigned their irqfds (used + config with the kernel's
 * InterruptStatus, one without).
 */
static void wait_ready(unsigned int n)
{
	unsigned int ms, nirq = fake.no_vmmio_isr ? n : 2 * n;

	for (ms = 0; ms < 10000; ms++) {
		pthread_mutex_lock(&fake.lock);
		if (fake.nranges == n && fake.nirq == nirq) {
			pthread_mutex_unlock(&fake.lock);
			return;
		}
		pthread_mutex_unlock(&fake.lock);
		usleep(1000);
	}
	harness_fail(__FILE__, __LINE__, "the bridge did not create its device");
	exit(1);
}

static int stop_bridge(struct bridge_thread *b)
{
	fake_hangup();
	pthread_join(b->t, NULL);
	return b->ret;
}

/* The guest's driver */

struct gdev {
	uint64_t base;
	uint32_t type, irq;
	uint32_t devid;
	unsigned int nq;
	struct drv v[4];
	uint64_t offered, features;
};

static uint64_t mmio(uint64_t addr, uint32_t len, bool write, uint64_t val)
{
	struct virtbe_completion c;
	uint64_t id, data = 0;
	int ret;

	ret = fake_access(0, addr, len, write, val, &id, &data);
	REQUIRE(ret >= 0);
	if (ret == FAKE_ACCESS_KERNEL)
		return data;
	if (ret == 1)
		return 0;	/* an ioeventfd took it */
	REQUIRE_EQ(fake_recv_completion(&c, 10000), 0);
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

static void gdev_init(struct gdev *d, uint32_t devid)
{
	unsigned int i;

	memset(d, 0, sizeof(*d));
	d->base = BASE;
	d->irq = IRQ;
	d->devid = devid;
	pthread_mutex_lock(&fake.lock);
	for (i = 0; i < fake.nirq; i++)
		if (fake.irq[i].irq == IRQ)
			d->type = fake.irq[i].type;
	pthread_mutex_unlock(&fake.lock);
	REQUIRE(d->type);
}

/*
 * Linux's virtio_mmio probe, up to FEATURES_OK: false if the device
 * refused the features.
 */
static bool probe(struct gdev *d, uint64_t want)
{
	uint32_t st;

	CHECK_EQ(rd(d, VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
	CHECK_EQ(rd(d, VIRTIO_MMIO_VERSION), 2);
	CHECK_EQ(rd(d, VIRTIO_MMIO_DEVICE_ID), d->devid);
	wr(d, VIRTIO_MMIO_STATUS, 0);
	CHECK_EQ(rd(d, VIRTIO_MMIO_STATUS), 0);
	wr(d, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	wr(d, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE |
	   VIRTIO_CONFIG_S_DRIVER);
	wr(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	d->offered = (uint64_t)rd(d, VIRTIO_MMIO_DEVICE_FEATURES) << 32;
	wr(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	d->offered |= rd(d, VIRTIO_MMIO_DEVICE_FEATURES);
	CHECK(d->offered & (1ULL << VIRTIO_F_VERSION_1));
	/* vhost-user's own bit is not the device's */
	CHECK(!(d->offered & (1ULL << VHU_F_PROTOCOL_FEATURES)));
	d->features = d->offered & want;
	wr(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(d->features >> 32));
	wr(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)d->features);
	wr(d, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE |
	   VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK);
	st = rd(d, VIRTIO_MMIO_STATUS);
	return st & VIRTIO_CONFIG_S_FEATURES_OK;
}

/* After probe(): @nq queues of 16, then DRIVER_OK. */
static void go(struct gdev *d, unsigned int nq)
{
	unsigned int q;
	uint32_t st;

	d->nq = nq;
	for (q = 0; q < nq; q++) {
		struct drv *v = &d->v[q];

		wr(d, VIRTIO_MMIO_QUEUE_SEL, q);
		CHECK_EQ(rd(d, VIRTIO_MMIO_QUEUE_READY), 0);
		CHECK(rd(d, VIRTIO_MMIO_QUEUE_NUM_MAX) >= 16);
		drv_init(v, ram, G, QOFF(q), 16);
		wr(d, VIRTIO_MMIO_QUEUE_NUM, 16);
		wr(d, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)v->desc);
		wr(d, VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(v->desc >> 32));
		wr(d, VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)v->avail);
		wr(d, VIRTIO_MMIO_QUEUE_AVAIL_HIGH, (uint32_t)(v->avail >> 32));
		wr(d, VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)v->used);
		wr(d, VIRTIO_MMIO_QUEUE_USED_HIGH, (uint32_t)(v->used >> 32));
		wr(d, VIRTIO_MMIO_QUEUE_READY, 1);
		CHECK_EQ(rd(d, VIRTIO_MMIO_QUEUE_READY), 1);
	}
	st = rd(d, VIRTIO_MMIO_STATUS);
	wr(d, VIRTIO_MMIO_STATUS, st | VIRTIO_CONFIG_S_DRIVER_OK);
	st = rd(d, VIRTIO_MMIO_STATUS);
	CHECK(st & VIRTIO_CONFIG_S_DRIVER_OK);
	CHECK(!(st & VIRTIO_CONFIG_S_NEEDS_RESET));
}

static uint32_t config32(struct gdev *d, uint32_t off)
{
	return rd(d, VIRTIO_MMIO_CONFIG + off);
}

/*
 * Wait for an interrupt and take it as vm_interrupt() does: read
 * InterruptStatus, ACK it (and EOI a level line).  Returns InterruptStatus,
 * or -1 if no interrupt came within @ms.  It may read 0: with a level
 * interrupt the library raises the line again at the resample of an
 * earlier one while InterruptStatus is set, which can be after the ACK
 * (vm_interrupt() returns IRQ_NONE then).
 */
static int64_t take_irq(struct gdev *d, int ms)
{
	uint32_t isr;

	if (fake_irq_wait(d->type, d->irq, ms) <= 0)
		return -1;
	isr = rd(d, VIRTIO_MMIO_INTERRUPT_STATUS);
	if (isr)
		wr(d, VIRTIO_MMIO_INTERRUPT_ACK, isr);
	if (d->type == VIRTBE_IRQ_LEVEL)
		fake_eoi(d->type, d->irq);
	return isr;
}

/* Take interrupts until one shows @bit (1), or none comes in @ms (0). */
static int wait_isr(struct gdev *d, uint32_t bit, int ms)
{
	unsigned int n;
	int64_t isr;

	for (n = 0; n < 20; n++) {
		isr = take_irq(d, ms);
		if (isr < 0)
			return 0;
		if (isr & bit)
			return 1;
	}
	return 0;
}

/*
 * Publish @head on queue @q, kick, and take interrupts until the buffer
 * is used and an interrupt with the used-buffer bit came after that.
 * InterruptStatus is read before the used ring: the daemon publishes the
 * buffer before it signals.
 */
static uint32_t submit(struct gdev *d, unsigned int q, uint16_t head)
{
	struct drv *v = &d->v[q];
	uint32_t id, len = 0;
	bool used = false;
	unsigned int n;
	int64_t isr;

	drv_publish(v, head);
	wr(d, VIRTIO_MMIO_QUEUE_NOTIFY, q);	/* through the ioeventfd */
	for (n = 0; n < 20; n++) {
		isr = take_irq(d, 5000);
		if (isr < 0)
			break;
		if (!used && drv_get_used(v, &id, &len)) {
			CHECK_EQ(id, head);
			used = true;
		}
		if (used && (isr & VIRTIO_MMIO_INT_VRING))
			return len;
	}
	harness_fail(__FILE__, __LINE__, "queue %u: %s", q, used ?
		     "no interrupt for the used buffer" : "no used buffer");
	exit(1);
}

/* One virtio-blk request on queue @q; returns its status byte. */
static uint8_t blk_req(struct gdev *d, unsigned int q, uint32_t type,
		       uint64_t sector, uint32_t len, uint32_t *used_len)
{
	struct virtio_blk_outhdr *h = (void *)(ram + (HDR - G));
	uint16_t dflag = type == VIRTIO_BLK_T_OUT ? 0 : VRING_DESC_F_WRITE;
	uint8_t *status = ram + (STATUS - G);
	struct drv *v = &d->v[q];
	uint32_t ulen;

	h->type = htole32(type);
	h->ioprio = 0;
	h->sector = htole64(sector);
	*status = 0xff;
	if (len) {
		drv_desc(v, 0, HDR, 16, VRING_DESC_F_NEXT, 1);
		drv_desc(v, 1, DATA, len, dflag | VRING_DESC_F_NEXT, 2);
		drv_desc(v, 2, STATUS, 1, VRING_DESC_F_WRITE, 0);
	} else {
		drv_desc(v, 0, HDR, 16, VRING_DESC_F_NEXT, 2);
		drv_desc(v, 2, STATUS, 1, VRING_DESC_F_WRITE, 0);
	}
	ulen = submit(d, q, 0);
	if (used_len)
		*used_len = ulen;
	return *status;
}

#define BLK_WANT ((1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_BLK_F_FLUSH) | \
		  (1ULL << VIRTIO_BLK_F_MQ) | (1ULL << VIRTIO_BLK_F_SEG_MAX) | \
		  (1ULL << VIRTIO_BLK_F_BLK_SIZE))

/* Write @val to 8 sectors at @sector on queue @q, read them back. */
static void blk_write_read(struct gdev *d, const char *img, unsigned int q,
			   uint64_t sector, uint8_t val)
{
	uint8_t *data = ram + (DATA - G);
	uint32_t ulen;
	unsigned int i;

	memset(data, val, 4096);
	CHECK_EQ(blk_req(d, q, VIRTIO_BLK_T_OUT, sector, 4096, &ulen),
		 VIRTIO_BLK_S_OK);
	CHECK_EQ(ulen, 1);
	CHECK_EQ(blk_req(d, q, VIRTIO_BLK_T_FLUSH, 0, 0, NULL),
		 VIRTIO_BLK_S_OK);
	check_image(img, sector * 512, val, 4096);
	memset(data, 0, 4096);
	CHECK_EQ(blk_req(d, q, VIRTIO_BLK_T_IN, sector, 4096, &ulen),
		 VIRTIO_BLK_S_OK);
	CHECK_EQ(ulen, 4097);
	for (i = 0; i < 4096; i++)
		if (!CHECK_EQ(data[i], val))
			break;
}

/* A qsd-served disk: probe, config, two queues, DRIVER_OK. */
static void blk_init(struct gdev *d)
{
	gdev_init(d, VIRTIO_ID_BLOCK);
	REQUIRE(probe(d, BLK_WANT));
	CHECK(d->offered & (1ULL << VIRTIO_BLK_F_FLUSH));
	CHECK(d->offered & (1ULL << VIRTIO_BLK_F_MQ));
	go(d, 2);
}

static void blk_check_config(struct gdev *d)
{
	uint32_t gen;

	gen = rd(d, VIRTIO_MMIO_CONFIG_GENERATION);
	CHECK_EQ(config32(d, 0) | (uint64_t)config32(d, 4) << 32,
		 IMG_SIZE / 512);
	CHECK_EQ(config32(d, 20), 512);			/* blk_size */
	CHECK_EQ(config32(d, 32) >> 16, 2);		/* num_queues */
	CHECK_EQ(rd(d, VIRTIO_MMIO_CONFIG_GENERATION), gen);
}

/* 1. qemu-storage-daemon */

static const char *qsd_args(char *sock, const char *dev_extra)
{
	static char spec[400];

	snprintf(spec, sizeof(spec),
		 "type=blk,base=" BASE_ARG ",irq=%d,socket=%s%s", IRQ, sock,
		 dev_extra);
	return spec;
}

TEST(bridge_qsd_blk_write_read)
{
	char img[96], sock[96], log[96];
	struct bridge_thread b = { 0 };
	struct gdev d;
	pid_t qsd;
	const char *args[] = {
		"--hyp", "sim", "--guest", "1", "--mem", MEM_ARG,
		"--device", NULL, "--verbose", NULL,
	};

	need(QSD);
	setup();
	make_image(TPATH(img, "disk.img"), 0);
	qsd = start_qsd(img, TPATH(sock, "qsd.sock"), TPATH(log, "qsd.log"));
	args[7] = qsd_args(sock, "");
	start_bridge(&b, args);
	wait_ready(1);

	blk_init(&d);
	blk_check_config(&d);
	CHECK_EQ(fake.nioev, 2);	/* both kicks go to the daemon */
	blk_write_read(&d, img, 0, 8, 0x5a);
	blk_write_read(&d, img, 1, 64, 0xa5);
	/* what was there before */
	CHECK_EQ(blk_req(&d, 0, VIRTIO_BLK_T_IN, 3, 512, NULL),
		 VIRTIO_BLK_S_OK);
	CHECK_EQ(ram[DATA - G], 3);

	/* the guest resets the device and starts again */
	wr(&d, VIRTIO_MMIO_STATUS, 0);
	CHECK_EQ(rd(&d, VIRTIO_MMIO_STATUS), 0);
	CHECK_EQ(fake.nioev, 0);
	REQUIRE(probe(&d, BLK_WANT));
	go(&d, 2);
	blk_check_config(&d);
	CHECK_EQ(blk_req(&d, 0, VIRTIO_BLK_T_IN, 8, 512, NULL),
		 VIRTIO_BLK_S_OK);
	CHECK_EQ(ram[DATA - G], 0x5a);
	blk_write_read(&d, img, 1, 200, 0x33);

	CHECK_EQ(stop_bridge(&b), 0);
	CHECK_EQ(fake.nranges, 0);
	CHECK_EQ(fake.nirq, 0);
	CHECK_EQ(fake.nioev, 0);
	reap(qsd, SIGTERM);
	cleanup();
}

TEST(bridge_qsd_blk_daemon_killed_and_restarted)
{
	char img[96], sock[96], log[96];
	struct bridge_thread b = { 0 };
	struct gdev d;
	uint32_t st = 0;
	unsigned int ms;
	pid_t qsd;
	const char *args[] = {
		"--hyp", "sim", "--guest", "1", "--mem", MEM_ARG,
		"--device", NULL, "--verbose", NULL,
	};

	need(QSD);
	setup();
	make_image(TPATH(img, "disk.img"), 0);
	qsd = start_qsd(img, TPATH(sock, "qsd.sock"), TPATH(log, "qsd.log"));
	args[7] = qsd_args(sock, "");
	start_bridge(&b, args);
	wait_ready(1);
	blk_init(&d);
	blk_write_read(&d, img, 0, 16, 0x77);

	/* the daemon dies: the device needs a reset, the guest is told */
	reap(qsd, SIGKILL);
	for (ms = 0; ms < 5000; ms += 10) {
		st = rd(&d, VIRTIO_MMIO_STATUS);
		if (st & VIRTIO_CONFIG_S_NEEDS_RESET)
			break;
		usleep(10000);
	}
	CHECK(st & VIRTIO_CONFIG_S_NEEDS_RESET);
	CHECK(st & VIRTIO_CONFIG_S_DRIVER_OK);
	CHECK(wait_isr(&d, VIRTIO_MMIO_INT_CONFIG, 2000));

	/* no daemon: the driver's features are refused */
	wr(&d, VIRTIO_MMIO_STATUS, 0);
	CHECK_EQ(rd(&d, VIRTIO_MMIO_STATUS), 0);
	CHECK(!probe(&d, BLK_WANT));
	wr(&d, VIRTIO_MMIO_STATUS, 0);

	/* a new daemon; the guest resets and probes until it is accepted */
	qsd = start_qsd(img, sock, log);
	for (ms = 0; ms < 8000; ms += 100) {
		if (probe(&d, BLK_WANT))
			break;
		wr(&d, VIRTIO_MMIO_STATUS, 0);
		usleep(100000);
	}
	REQUIRE(ms < 8000);
	go(&d, 2);
	blk_check_config(&d);
	/* the data written before the crash, then new I/O */
	CHECK_EQ(blk_req(&d, 1, VIRTIO_BLK_T_IN, 16, 512, NULL),
		 VIRTIO_BLK_S_OK);
	CHECK_EQ(ram[DATA - G], 0x77);
	blk_write_read(&d, img, 0, 300, 0x99);
	blk_write_read(&d, img, 1, 301, 0x98);

	CHECK_EQ(stop_bridge(&b), 0);
	CHECK_EQ(fake.nranges, 0);
	CHECK_EQ(fake.nirq, 0);
	reap(qsd, SIGTERM);
	cleanup();
}

/* The library keeps InterruptStatus (an old virtbe): the bridge relays. */
TEST(bridge_qsd_blk_old_kernel_level_irq)
{
	char img[96], sock[96], log[96];
	struct bridge_thread b = { 0 };
	struct gdev d;
	pid_t qsd;
	const char *args[] = {
		"--hyp", "sim", "--guest", "1", "--mem", MEM_ARG,
		"--device", NULL, NULL,
	};

	need(QSD);
	setup();
	fake.no_vmmio_isr = true;
	make_image(TPATH(img, "disk.img"), 0);
	qsd = start_qsd(img, TPATH(sock, "qsd.sock"), TPATH(log, "qsd.log"));
	args[7] = qsd_args(sock, ",irq-type=level");
	start_bridge(&b, args);
	wait_ready(1);
	CHECK_EQ(fake.nvmmio, 0);
	blk_init(&d);
	CHECK_EQ(d.type, VIRTBE_IRQ_LEVEL);
	blk_check_config(&d);
	blk_write_read(&d, img, 0, 40, 0x11);
	blk_write_read(&d, img, 1, 41, 0x22);
	CHECK_EQ(stop_bridge(&b), 0);
	CHECK_EQ(fake.nranges, 0);
	CHECK_EQ(fake.nirq, 0);
	reap(qsd, SIGTERM);
	cleanup();
}

/* exec=: the bridge starts the daemon, and again when it dies. */
TEST(bridge_qsd_exec_respawn)
{
	char img[96], sock[96], log[96], spec[1024];
	struct bridge_thread b = { 0 };
	struct gdev d;
	uint32_t st = 0;
	unsigned int ms;
	sigset_t mask;
	pid_t pid, pid2 = 0;
	const char *args[] = {
		"--hyp", "sim", "--guest", "1", "--mem", MEM_ARG,
		"--device", spec, "--verbose", NULL,
	};

	need(QSD);
	/* SIGCHLD for the bridge's signalfd, not this thread */
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	setup();
	make_image(TPATH(img, "disk.img"), 0);
	TPATH(sock, "qsd.sock");
	TPATH(log, "qsd.log");
	TPATH(pidfile, "qsd.pid");
	snprintf(spec, sizeof(spec),
		 "type=blk,base=" BASE_ARG ",irq=%d,socket=%s,exec=exec " QSD
		 " --pidfile %s --blockdev driver=file,node-name=f,filename=%s --blockdev driver=raw,node-name=d,file=f --export type=vhost-user-blk,id=e,node-name=d,addr.type=unix,addr.path=%s,writable=on,num-queues=2 >>%s 2>&1",
		 IRQ, sock, pidfile, img, sock, log);
	start_bridge(&b, args);
	wait_ready(1);
	pid = read_pidfile();
	REQUIRE(pid > 0);
	blk_init(&d);
	blk_write_read(&d, img, 0, 50, 0x66);

	/* it dies; the bridge starts it again (after 1 s) */
	kill(pid, SIGKILL);
	for (ms = 0; ms < 5000; ms += 10) {
		st = rd(&d, VIRTIO_MMIO_STATUS);
		if (st & VIRTIO_CONFIG_S_NEEDS_RESET)
			break;
		usleep(10000);
	}
	CHECK(st & VIRTIO_CONFIG_S_NEEDS_RESET);
	CHECK(wait_isr(&d, VIRTIO_MMIO_INT_CONFIG, 2000));
	wr(&d, VIRTIO_MMIO_STATUS, 0);
	for (ms = 0; ms < 10000; ms += 100) {
		pid2 = read_pidfile();
		if (pid2 > 0 && pid2 != pid && probe(&d, BLK_WANT))
			break;
		wr(&d, VIRTIO_MMIO_STATUS, 0);
		usleep(100000);
	}
	REQUIRE(ms < 10000);
	go(&d, 2);
	CHECK_EQ(blk_req(&d, 1, VIRTIO_BLK_T_IN, 50, 512, NULL),
		 VIRTIO_BLK_S_OK);
	CHECK_EQ(ram[DATA - G], 0x66);
	blk_write_read(&d, img, 1, 51, 0x67);

	/* the bridge stops the daemon it started */
	CHECK_EQ(stop_bridge(&b), 0);
	CHECK_EQ(fake.nranges, 0);
	CHECK(kill(pid2, 0) < 0 && errno == ESRCH);
	/* and reaped both */
	CHECK(waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD);
	cleanup();
}

/* 2. virtiofsd */

TEST(bridge_virtiofsd_fs_config_fuse_init)
{
	char dir[96], sock[96], log[96], spec[300];
	struct fuse_in_header *ih;
	struct fuse_init_in *ii;
	struct fuse_out_header *oh;
	struct fuse_init_out *io;
	struct bridge_thread b = { 0 };
	uint8_t tag[36];
	struct gdev d;
	uint32_t ulen, v;
	unsigned int i;
	pid_t fsd;
	const char *args[] = {
		"--hyp", "sim", "--guest", "1", "--mem", MEM_ARG,
		"--device", spec, "--verbose", NULL,
	};

	need(VIRTIOFSD);
	setup();
	REQUIRE(!mkdir(TPATH(dir, "share"), 0700));
	fsd = start_virtiofsd(dir, TPATH(sock, "fs.sock"),
			      TPATH(log, "virtiofsd.log"));
	snprintf(spec, sizeof(spec),
		 "type=fs,base=" BASE_ARG ",irq=%d,socket=%s,tag=vbe-share,queues=2",
		 IRQ, sock);
	start_bridge(&b, args);
	wait_ready(1);

	gdev_init(&d, 26);
	CHECK_EQ(rd(&d, VIRTIO_MMIO_DEVICE_ID), 26);
	REQUIRE(probe(&d, 1ULL << VIRTIO_F_VERSION_1));
	/* config space: the tag, NUL-padded, and num_request_queues */
	for (i = 0; i < 36; i += 4) {
		v = config32(&d, i);
		memcpy(tag + i, &v, 4);
	}
	CHECK(!memcmp(tag, "vbe-share", 10));
	for (i = 10; i < 36; i++)
		CHECK_EQ(tag[i], 0);
	CHECK_EQ(config32(&d, 36), 1);
	go(&d, 2);

	/* FUSE_INIT on the request queue, answered by virtiofsd */
	ih = (void *)(ram + (FUSE_IN - G));
	ii = (void *)(ih + 1);
	oh = (void *)(ram + (FUSE_OUT - G));
	io = (void *)(oh + 1);
	memset(ih, 0, sizeof(*ih) + sizeof(*ii));
	ih->len = sizeof(*ih) + sizeof(*ii);
	ih->opcode = FUSE_INIT;
	ih->unique = 1;
	ii->major = FUSE_KERNEL_VERSION;
	ii->minor = 31;
	ii->max_readahead = 65536;
	memset(oh, 0xee, sizeof(*oh) + sizeof(*io));
	drv_desc(&d.v[1], 0, FUSE_IN, sizeof(*ih) + sizeof(*ii),
		 VRING_DESC_F_NEXT, 1);
	drv_desc(&d.v[1], 1, FUSE_OUT, sizeof(*oh) + sizeof(*io),
		 VRING_DESC_F_WRITE, 0);
	ulen = submit(&d, 1, 0);
	CHECK(ulen >= sizeof(*oh) + 8);
	CHECK_EQ(oh->len, ulen);
	CHECK_EQ(oh->error, 0);
	CHECK_EQ(oh->unique, 1);
	CHECK_EQ(io->major, FUSE_KERNEL_VERSION);
	CHECK(io->minor >= 31);

	CHECK_EQ(stop_bridge(&b), 0);
	CHECK_EQ(fake.nranges, 0);
	CHECK_EQ(fake.nirq, 0);
	/* virtiofsd serves one connection: it leaves when the bridge does */
	if (!wait_exit(fsd, 3000))
		reap(fsd, SIGTERM);
	cleanup();
}

/* A scripted vhost-user backend (a thread of the test) */

struct sdaemon {
	char path[108];
	int lsock;
	pthread_t t;
	uint64_t features;
	/* what it saw */
	unsigned int nreq[32];
	bool mem_mapped;	/* SET_MEM_TABLE's fd maps the guest's RAM */
	bool done;
};

static int sd_reply(int s, uint32_t req, const void *p, uint32_t size)
{
	uint8_t buf[12 + 64];
	uint32_t h[3] = { req, 0x1 | 0x4, size };

	memcpy(buf, h, 12);
	memcpy(buf + 12, p, size);
	return send(s, buf, 12 + size, MSG_NOSIGNAL) == (ssize_t)(12 + size) ?
		0 : -1;
}

static void sd_mem_table(struct sdaemon *sd, const uint8_t *p, int fd)
{
	uint64_t r[4];	/* gpa, size, uaddr, offset of region 0 */
	uint8_t *m;

	memcpy(r, p + 8, sizeof(r));
	if (fd < 0 || r[0] != G || r[1] != RAM)
		return;
	m = mmap(NULL, r[1] + r[3], PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		 0);
	if (m == MAP_FAILED)
		return;
	sd->mem_mapped = !memcmp(m + r[3] + MARK_OFF, "virtbe", 7);
	munmap(m, r[1] + r[3]);
}

static void *sd_fn(void *arg)
{
	char cbuf[CMSG_SPACE(sizeof(int) * 8)];
	struct sdaemon *sd = arg;
	struct pollfd p = { .fd = sd->lsock, .events = POLLIN };
	uint8_t payload[512];
	uint32_t h[3];
	uint64_t zero = 0;
	int s, fds[8], nfds;

	if (poll(&p, 1, 10000) != 1)
		return NULL;
	s = accept4(sd->lsock, NULL, NULL, SOCK_CLOEXEC);
	if (s < 0)
		return NULL;
	for (;;) {
		struct iovec iov = { .iov_base = h, .iov_len = sizeof(h) };
		struct msghdr mh = {
			.msg_iov = &iov, .msg_iovlen = 1,
			.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
		};
		struct cmsghdr *c;
		ssize_t n;
		int i;

		n = recvmsg(s, &mh, MSG_WAITALL | MSG_CMSG_CLOEXEC);
		if (n != sizeof(h))
			break;
		nfds = 0;
		for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
			if (c->cmsg_type == SCM_RIGHTS) {
				nfds = (int)((c->cmsg_len - CMSG_LEN(0)) /
					     sizeof(int));
				memcpy(fds, CMSG_DATA(c), nfds * sizeof(int));
			}
		if (h[2] > sizeof(payload) ||
		    (h[2] && recv(s, payload, h[2], MSG_WAITALL) != h[2]))
			break;
		if (h[0] < 32)
			sd->nreq[h[0]]++;
		switch (h[0]) {
		case 1:		/* GET_FEATURES */
			sd_reply(s, h[0], &sd->features, 8);
			break;
		case 5:		/* SET_MEM_TABLE */
			sd_mem_table(sd, payload, nfds ? fds[0] : -1);
			break;
		case 11:	/* GET_VRING_BASE: index, next avail 0 */
			memset(payload + 4, 0, 4);
			sd_reply(s, h[0], payload, 8);
			break;
		}
		if (h[1] & 0x8)	/* NEED_REPLY */
			sd_reply(s, h[0], &zero, 8);
		for (i = 0; i < nfds; i++)
			close(fds[i]);
	}
	close(s);
	__atomic_store_n(&sd->done, true, __ATOMIC_RELEASE);
	return NULL;
}

static void sd_listen(struct sdaemon *sd, uint64_t features)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	memset(sd, 0, sizeof(*sd));
	sd->features = features;
	TPATH(sd->path, "scripted.sock");
	strcpy(sa.sun_path, sd->path);
	sd->lsock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	REQUIRE(sd->lsock >= 0);
	REQUIRE_EQ(bind(sd->lsock, (struct sockaddr *)&sa, sizeof(sa)), 0);
	REQUIRE_EQ(listen(sd->lsock, 4), 0);
}

/* The scripted daemon in a thread of the test. */
static void sd_start(struct sdaemon *sd, uint64_t features)
{
	sd_listen(sd, features);
	REQUIRE_EQ(pthread_create(&sd->t, NULL, sd_fn, sd), 0);
}

/*
 * The scripted daemon in a child process, for a test that forks the
 * bridge: a fork while another thread is in the sanitizers' runtime (a
 * thread just created) can leave the child's LeakSanitizer deadlocked.
 * It exits 0 if it was asked for its features once.
 */
static pid_t sd_spawn(struct sdaemon *sd, uint64_t features)
{
	pid_t pid;

	sd_listen(sd, features);
	fflush(stdout);
	pid = fork();
	REQUIRE(pid >= 0);
	if (!pid) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		sd_fn(sd);
		_exit(sd->nreq[1] == 1 ? 0 : 3);
	}
	close(sd->lsock);
	return pid;
}

static void sd_stop(struct sdaemon *sd)
{
	shutdown(sd->lsock, SHUT_RDWR);
	pthread_join(sd->t, NULL);
	close(sd->lsock);
}

/* 3. Bad configurations: main() in a child, its stderr in a file */

static void bad(const char *what, const char *const *args,
		const char *expect1, const char *expect2)
{
	char errpath[96], msg[4096];
	char *argv[32];
	unsigned int n = 0;
	ssize_t len;
	pid_t pid;
	int st, fd;

	/* writable copies, as main()'s are: --device is parsed in place */
	argv[n++] = "virtbe-vhost-user";
	while (args[n - 1]) {
		argv[n] = strdup(args[n - 1]);
		REQUIRE(argv[n]);
		n++;
	}
	argv[n] = NULL;
	TPATH(errpath, "stderr.txt");
	fflush(stdout);
	pid = fork();
	REQUIRE(pid >= 0);
	if (!pid) {
		alarm(15);
		fd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd < 0 || dup2(fd, 2) < 0)
			_exit(99);
		fd = open("/dev/null", O_WRONLY);
		if (fd < 0 || dup2(fd, 1) < 0)
			_exit(99);
		/* exit(): LeakSanitizer checks the error paths too */
		exit(vbe_vhost_user_main((int)n, argv));
	}
	REQUIRE_EQ(waitpid(pid, &st, 0), pid);
	fd = open(errpath, O_RDONLY);
	REQUIRE(fd >= 0);
	len = read(fd, msg, sizeof(msg) - 1);
	close(fd);
	msg[len > 0 ? len : 0] = 0;
	printf("# %s:\n", what);
	print_log(errpath, 3);
	if (!CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 1))
		printf("# status 0x%x\n", st);
	CHECK(strstr(msg, expect1));
	if (expect2)
		CHECK(strstr(msg, expect2));
	while (--n)
		free(argv[n]);
}

TEST(bridge_bad_options)
{
	const char *nosock[] = {
		"--hyp", "sim", "--guest", "1", "--mem", MEM_ARG,
		"--device", "type=blk,base=" BASE_ARG ",irq=5", NULL,
	};
	const char *unknown[] = {
		"--hyp", "sim", "--guest", "1", "--mem", MEM_ARG,
		"--device", "type=blk,base=" BASE_ARG ",irq=5,socket=/x,colour=red",
		NULL,
	};
	const char *longtag[] = {
		"--hyp", "sim", "--guest", "1", "--mem", MEM_ARG, "--device",
		"type=fs,base=" BASE_ARG ",irq=5,socket=/x,tag=0123456789012345678901234567890123456789",
		NULL,
	};
	const char *nomem[] = {
		"--hyp", "sim", "--guest", "1",
		"--device", "type=blk,base=" BASE_ARG ",irq=5,socket=/x", NULL,
	};

	setup();
	bad("--device without socket=", nosock, "--device 1", "socket=");
	bad("an unknown key", unknown, "unknown key \"colour\"", NULL);
	bad("a virtio-fs tag too long", longtag, "longer than 36", NULL);
	bad("no --mem", nomem, "--mem", NULL);
	cleanup();
}

TEST(bridge_bad_dtb)
{
	const char *nosock[] = { "--dtb", "bad-nosocket.dtb", NULL };
	const char *devtype[] = { "--dtb", "bad-devtype.dtb", NULL };
	const char *memoverlap[] = { "--dtb", "bad-memoverlap.dtb", NULL };

	setup();
	bad("a DT device without virtbe,vhost-user-socket", nosock,
	    "/guest/fs@10000000", "virtbe,vhost-user-socket: missing");
	bad("virtbe,device-type = \"nonsense\"", devtype,
	    "/guest/blk@10000000", "virtbe,device-type: not a device type");
	/* the loader's own refusals, through vbe_dt_load_file_msg() */
	bad("overlapping virtbe,memory windows", memoverlap,
	    "bad-memoverlap.dtb: /guest: virtbe,memory: window 1 [0x40100000, 0x402fffff] overlaps window 0 [0x40000000, 0x401fffff]",
	    NULL);
	cleanup();
}

TEST(bridge_bad_fs_served_by_qsd)
{
	char img[96], sock[96], log[96], spec[300];
	const char *args[] = {
		"--hyp", "sim", "--guest", "1", "--mem", MEM_ARG,
		"--device", spec, NULL,
	};
	pid_t qsd;

	need(QSD);
	setup();
	make_image(TPATH(img, "disk.img"), 0);
	qsd = start_qsd(img, TPATH(sock, "qsd.sock"), TPATH(log, "qsd.log"));
	snprintf(spec, sizeof(spec),
		 "type=fs,base=" BASE_ARG ",irq=5,socket=%s,tag=t", sock);
	bad("type=fs served by qemu-storage-daemon", args,
	    "offers virtio-blk features", sock);
	reap(qsd, SIGTERM);
	cleanup();
}

TEST(bridge_bad_blk_served_by_virtiofsd)
{
	char dir[96], sock[96], log[96], spec[300];
	const char *args[] = {
		"--hyp", "sim", "--guest", "1", "--mem", MEM_ARG,
		"--device", spec, NULL,
	};
	pid_t fsd;

	need(VIRTIOFSD);
	setup();
	REQUIRE(!mkdir(TPATH(dir, "share"), 0700));
	fsd = start_virtiofsd(dir, TPATH(sock, "fs.sock"),
			      TPATH(log, "virtiofsd.log"));
	snprintf(spec, sizeof(spec),
		 "type=blk,base=" BASE_ARG ",irq=5,socket=%s", sock);
	bad("type=blk served by virtiofsd", args, "no config space", sock);
	if (!wait_exit(fsd, 3000))
		reap(fsd, SIGTERM);
	cleanup();
}

TEST(bridge_bad_daemon_without_version_1)
{
	char spec[300];
	const char *args[] = {
		"--hyp", "sim", "--guest", "1", "--mem", MEM_ARG,
		"--device", spec, NULL,
	};
	struct sdaemon sd;
	pid_t pid;
	int st;

	setup();
	/* a legacy-only daemon */
	pid = sd_spawn(&sd, 1ULL << VIRTIO_BLK_F_FLUSH);
	snprintf(spec, sizeof(spec),
		 "type=blk,base=" BASE_ARG ",irq=5,socket=%s", sd.path);
	bad("a daemon without VIRTIO_F_VERSION_1", args, "VIRTIO_F_VERSION_1",
	    sd.path);
	REQUIRE_EQ(waitpid(pid, &st, 0), pid);
	CHECK_EQ(st, 0);	/* it was asked for its features */
	cleanup();
}

/* 4. Leaving: SIGTERM, the guest going away */

TEST(bridge_qsd_sigterm)
{
	char img[96], sock[96], log[96];
	struct bridge_thread b = { 0 };
	uint8_t fds[128];
	struct gdev d;
	sigset_t mask;
	pid_t qsd;
	const char *args[] = {
		"--hyp", "sim", "--guest", "1", "--mem", MEM_ARG,
		"--device", NULL, NULL,
	};

	need(QSD);
	/* as in the single-threaded bridge: SIGTERM only via its signalfd */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	setup();
	make_image(TPATH(img, "disk.img"), 0);
	qsd = start_qsd(img, TPATH(sock, "qsd.sock"), TPATH(log, "qsd.log"));
	args[7] = qsd_args(sock, "");
	open_fds(fds);
	start_bridge(&b, args);
	wait_ready(1);
	blk_init(&d);
	blk_write_read(&d, img, 1, 5, 0x42);

	kill(getpid(), SIGTERM);
	pthread_join(b.t, NULL);
	CHECK_EQ(b.ret, 0);
	CHECK_EQ(fake.nranges, 0);
	CHECK_EQ(fake.nirq, 0);
	CHECK_EQ(fake.nioev, 0);
	CHECK_EQ(new_fds(fds, fake.peer_fd), 0);
	CHECK_EQ(__lsan_do_recoverable_leak_check(), 0);
	reap(qsd, SIGTERM);
	cleanup();
}

TEST(bridge_guest_hangup_scripted_daemon)
{
	struct bridge_thread b = { 0 };
	char spec[300];
	uint8_t fds[128];
	struct gdev d;
	unsigned int ms;
	const char *args[] = {
		"--hyp", "sim", "--guest", "1", "--mem", MEM_ARG,
		"--device", spec, "--verbose", NULL,
	};
	struct sdaemon sd;

	setup();
	memcpy(ram + MARK_OFF, "virtbe", 7);
	open_fds(fds);
	sd_start(&sd, 1ULL << VIRTIO_F_VERSION_1);
	snprintf(spec, sizeof(spec),
		 "type=rng,base=" BASE_ARG ",irq=5,socket=%s", sd.path);
	start_bridge(&b, args);
	wait_ready(1);
	gdev_init(&d, VIRTIO_ID_RNG);
	REQUIRE(probe(&d, ~0ULL));
	CHECK_EQ(d.offered, 1ULL << VIRTIO_F_VERSION_1);
	go(&d, 1);
	/* the daemon got the memory (a memfd it can map) and the ring */
	for (ms = 0; ms < 5000 && !sd.nreq[13]; ms += 10)
		usleep(10000);
	CHECK_EQ(sd.nreq[2], 1);	/* SET_FEATURES */
	CHECK_EQ(sd.nreq[5], 1);	/* SET_MEM_TABLE */
	CHECK(sd.mem_mapped);
	CHECK_EQ(sd.nreq[12], 1);	/* SET_VRING_KICK */
	CHECK_EQ(sd.nreq[13], 1);	/* SET_VRING_CALL */

	CHECK_EQ(stop_bridge(&b), 0);
	CHECK_EQ(fake.nranges, 0);
	CHECK_EQ(fake.nirq, 0);
	sd_stop(&sd);
	CHECK(sd.done);
	CHECK_EQ(sd.nreq[11], 1);	/* GET_VRING_BASE: the ring stopped */
	CHECK_EQ(new_fds(fds, fake.peer_fd), 0);
	CHECK_EQ(__lsan_do_recoverable_leak_check(), 0);
	cleanup();
}
