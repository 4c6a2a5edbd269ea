// SPDX-License-Identifier: GPL-2.0
/*
 * Functional tests of virtbe on the simulated hypervisor: memory windows,
 * kicks, interrupts, the request channel, timeouts, teardown and isolation.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include "virtbe_utils.h"

#define NR_VCPUS 4
#define TIMEOUT_MS 300

FIXTURE(sim) {
	int ctl, simctl, sg, g, memfd;
	uint64_t id;
	uint8_t *ram;		/* the frontend's view of guest RAM */
};

FIXTURE_SETUP(sim)
{
	self->ctl = self->simctl = self->sg = self->g = self->memfd = -1;
	self->ram = MAP_FAILED;
	SKIP_IF_NO_VIRTBE(_metadata);
	self->ctl = open("/dev/virtbe", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->ctl);
	self->simctl = open("/dev/virtbe_sim", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->simctl);
	self->sg = _sim_create(self->simctl, NR_VCPUS, &self->id);
	ASSERT_LE(0, self->sg);
	self->memfd = memfd_ram(RAM_SIZE);
	ASSERT_LE(0, self->memfd);
	ASSERT_EQ(0, _sim_add_ram(self->sg, self->memfd, RAM_GPA, RAM_SIZE, 0));
	self->ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
			 self->memfd, 0);
	ASSERT_NE(MAP_FAILED, self->ram);
	self->g = _attach(self->ctl, VIRTBE_HYP_SIM, self->id, TIMEOUT_MS);
	ASSERT_LE(0, self->g);
	ASSERT_EQ(0, _claim(self->g, 0, MMIO_BASE, MMIO_SIZE));
}

FIXTURE_TEARDOWN(sim)
{
	if (self->ram != MAP_FAILED)
		munmap(self->ram, RAM_SIZE);
	if (self->g >= 0)
		close(self->g);
	if (self->sg >= 0)
		close(self->sg);
	if (self->memfd >= 0)
		close(self->memfd);
	if (self->simctl >= 0)
		close(self->simctl);
	if (self->ctl >= 0)
		close(self->ctl);
}

/* ---- Info and attach ---- */

TEST_F(sim, info)
{
	struct virtbe_info info = { .size = sizeof(info), .hyp = VIRTBE_HYP_SIM };

	ASSERT_EQ(0, vbe_ioctl(self->ctl, VIRTBE_GET_INFO, &info));
	EXPECT_EQ(VIRTBE_API_VERSION, info.out_api_version);
	EXPECT_TRUE(info.out_hyps & (1ULL << VIRTBE_HYP_SIM));
	EXPECT_TRUE(info.out_hyp_features & VIRTBE_HYP_F_IRQ_LEVEL);
	EXPECT_TRUE(info.out_features & VIRTBE_F_IOEVENTFD);
	/* The same on a guest fd. */
	ASSERT_EQ(0, vbe_ioctl(self->g, VIRTBE_GET_INFO, &info));
	/* Xen is not loaded in this VM. */
	info.hyp = VIRTBE_HYP_XEN;
	EXPECT_EQ(-ENODEV, vbe_ioctl(self->ctl, VIRTBE_GET_INFO, &info));
	info.hyp = VIRTBE_HYP_MAX + 1;
	EXPECT_EQ(-EINVAL, vbe_ioctl(self->ctl, VIRTBE_GET_INFO, &info));
}

TEST_F(sim, attach_errors)
{
	uint64_t id2;
	int sg2, g2;

	/* A second attach is a second attachment, not EBUSY. */
	g2 = _attach(self->ctl, VIRTBE_HYP_SIM, self->id, 0);
	EXPECT_LE(0, g2);
	close(g2);
	EXPECT_EQ(-ENOENT, _attach(self->ctl, VIRTBE_HYP_SIM, 0x7fffff00, 0));
	EXPECT_EQ(-ENOENT, _attach(self->ctl, VIRTBE_HYP_SIM, 1ULL << 40, 0));
	EXPECT_EQ(-ENODEV, _attach(self->ctl, VIRTBE_HYP_XEN, 0, 0));
	EXPECT_EQ(-EINVAL, _attach(self->ctl, 0, self->id, 0));
	EXPECT_EQ(-EINVAL, _attach(self->ctl, VIRTBE_HYP_SIM, self->id, 60001));

	sg2 = _sim_create(self->simctl, 1, &id2);
	ASSERT_LE(0, sg2);
	g2 = _attach(self->ctl, VIRTBE_HYP_SIM, id2, 60000);
	ASSERT_LE(0, g2);
	EXPECT_EQ(FD_CLOEXEC, fcntl(g2, F_GETFD) & FD_CLOEXEC);
	/* Detach, then the guest can be attached again. */
	close(g2);
	g2 = _attach(self->ctl, VIRTBE_HYP_SIM, id2, 0);
	ASSERT_LE(0, g2);
	close(g2);
	close(sg2);
	/* The guest is gone with its fd. */
	EXPECT_EQ(-ENOENT, _attach(self->ctl, VIRTBE_HYP_SIM, id2, 0));
}

/* ---- Several attachments (guest fds) of one guest ---- */

#define MMIO2_BASE	(MMIO_BASE + MMIO_SIZE)

/* A request expected on @g and not on @other: served with @val. */
static int serve_one(int g, int other, uint64_t addr, uint64_t val)
{
	struct virtbe_request req;
	int ret = read_request(g, &req, 2000);

	if (ret)
		return ret;
	if (req.addr != addr)
		return -EINVAL;
	if (read_request(other, &req, 0) != -ETIMEDOUT)
		return -EEXIST;
	return complete_request(g, req.id, val);
}

TEST_F(sim, multi_attach_info_and_claims)
{
	struct virtbe_info info = { .size = sizeof(info) };
	int g2 = _attach(self->ctl, VIRTBE_HYP_SIM, self->id, TIMEOUT_MS);

	ASSERT_LE(0, g2);
	ASSERT_EQ(0, vbe_ioctl(self->ctl, VIRTBE_GET_INFO, &info));
	EXPECT_TRUE(info.out_features & VIRTBE_F_MULTI_ATTACH);
	info.out_features = 0;
	ASSERT_EQ(0, vbe_ioctl(g2, VIRTBE_GET_INFO, &info));
	EXPECT_TRUE(info.out_features & VIRTBE_F_MULTI_ATTACH);

	/* The fixture's fd claimed [MMIO_BASE, +MMIO_SIZE): exact overlap, */
	EXPECT_EQ(-EEXIST, _claim(g2, 0, MMIO_BASE, MMIO_SIZE));
	/* partial overlaps at either end and inside, */
	EXPECT_EQ(-EEXIST, _claim(g2, 0, MMIO_BASE - 0x10, 0x11));
	EXPECT_EQ(-EEXIST, _claim(g2, 0, MMIO2_BASE - 1, 0x10));
	EXPECT_EQ(-EEXIST, _claim(g2, 0, MMIO_BASE + 0x100, 4));
	EXPECT_EQ(-EEXIST, _claim(g2, 0, MMIO_BASE - 0x1000, 0x3000));
	/* adjacent ranges and port I/O at the same addresses are free. */
	EXPECT_EQ(0, _claim(g2, 0, MMIO_BASE - 0x10, 0x10));
	EXPECT_EQ(0, _claim(g2, 0, MMIO2_BASE, MMIO_SIZE));
	EXPECT_EQ(0, _claim(g2, VIRTBE_RANGE_PIO, MMIO_BASE, MMIO_SIZE));
	/* and the other way round. */
	EXPECT_EQ(-EEXIST, _claim(self->g, 0, MMIO2_BASE + 0x800, 0x1000));
	EXPECT_EQ(-EEXIST, _claim(self->g, VIRTBE_RANGE_PIO, MMIO_BASE, 1));
	/* A guest fd releases only its own ranges. */
	EXPECT_EQ(-ENOENT, _claim(g2, VIRTBE_RANGE_RELEASE, MMIO_BASE,
				  MMIO_SIZE));
	EXPECT_EQ(0, _claim(self->g, VIRTBE_RANGE_RELEASE, MMIO_BASE,
			    MMIO_SIZE));
	/* Released by one, claimable by the other. */
	EXPECT_EQ(0, _claim(g2, 0, MMIO_BASE, MMIO_SIZE));
	EXPECT_EQ(-EEXIST, _claim(self->g, 0, MMIO_BASE, MMIO_SIZE));
	/* Closing a guest fd releases its ranges for the others. */
	close(g2);
	EXPECT_EQ(0, _claim(self->g, 0, MMIO_BASE, MMIO_SIZE));
	EXPECT_EQ(0, _claim(self->g, 0, MMIO2_BASE, MMIO_SIZE));
	EXPECT_EQ(0, _claim(self->g, VIRTBE_RANGE_PIO, MMIO_BASE, MMIO_SIZE));
	EXPECT_EQ(0, _claim(self->g, 0, MMIO_BASE - 0x10, 0x10));
}

TEST_F(sim, multi_attach_claim_races_one_winner)
{
	enum { N = 4, ROUNDS = 20 };
	int g[N], wins = 0;

	for (int i = 0; i < N; i++) {
		g[i] = _attach(self->ctl, VIRTBE_HYP_SIM, self->id, 0);
		ASSERT_LE(0, g[i]);
	}
	for (int r = 0; r < ROUNDS; r++) {
		uint64_t addr = MMIO2_BASE + 0x1000 * r;
		pid_t pid[N];
		int status;

		for (int i = 0; i < N; i++) {
			pid[i] = fork();
			ASSERT_LE(0, pid[i]);
			if (!pid[i])	/* overlapping, not equal: one wins */
				_exit(_claim(g[i], 0, addr + 0x10 * i,
					     0x100) ? 1 : 0);
		}
		wins = 0;
		for (int i = 0; i < N; i++) {
			ASSERT_EQ(pid[i], waitpid(pid[i], &status, 0));
			wins += WEXITSTATUS(status) == 0;
		}
		ASSERT_EQ(1, wins);
	}
	for (int i = 0; i < N; i++)
		close(g[i]);
}

TEST_F(sim, multi_attach_routes_to_claimer)
{
	int g2 = _attach(self->ctl, VIRTBE_HYP_SIM, self->id, TIMEOUT_MS);
	int k1 = eventfd(0, EFD_CLOEXEC), k2 = eventfd(0, EFD_CLOEXEC);
	int call2 = eventfd(0, EFD_CLOEXEC), fe = eventfd(0, EFD_CLOEXEC);
	struct vcpu_thread t = { .sg = self->sg, .vcpu = 1, .len = 4 };
	struct virtbe_stats s1, s2;
	uint64_t data;
	uint32_t res;

	ASSERT_LE(0, g2);
	ASSERT_EQ(0, _claim(g2, 0, MMIO2_BASE, MMIO_SIZE));
	/* Reads go to the request channel of the fd that claimed them. */
	t.addr = MMIO_BASE + 0x70;
	ASSERT_EQ(0, vcpu_start(&t));
	EXPECT_EQ(0, serve_one(self->g, g2, t.addr, 0x1111));
	ASSERT_EQ(0, vcpu_join(&t));
	EXPECT_EQ(VIRTBE_SIM_RESULT_BACKEND, t.result);
	EXPECT_EQ(0x1111, t.data);
	t.addr = MMIO2_BASE + 0x70;
	ASSERT_EQ(0, vcpu_start(&t));
	EXPECT_EQ(0, serve_one(g2, self->g, t.addr, 0x2222));
	ASSERT_EQ(0, vcpu_join(&t));
	EXPECT_EQ(VIRTBE_SIM_RESULT_BACKEND, t.result);
	EXPECT_EQ(0x2222, t.data);
	/* Each fd's ioeventfds see its own range's kicks. */
	ASSERT_EQ(0, _ioeventfd(self->g, k1, MMIO_BASE + 0x50, 4, 0, 0));
	ASSERT_EQ(0, _ioeventfd(g2, k2, MMIO2_BASE + 0x50, 4, 0, 0));
	data = 0;
	ASSERT_EQ(0, _access(self->sg, 0, true, MMIO2_BASE + 0x50, 4, &data,
			     &res));
	EXPECT_EQ(VIRTBE_SIM_RESULT_IOEVENTFD, res);
	EXPECT_EQ(1, eventfd_wait(k2, 1000));
	EXPECT_EQ(-ETIMEDOUT, eventfd_wait(k1, 50));
	ASSERT_EQ(0, _access(self->sg, 0, true, MMIO_BASE + 0x50, 4, &data,
			     &res));
	EXPECT_EQ(VIRTBE_SIM_RESULT_IOEVENTFD, res);
	EXPECT_EQ(1, eventfd_wait(k1, 1000));
	EXPECT_EQ(-ETIMEDOUT, eventfd_wait(k2, 50));
	/* An interrupt from the second fd. */
	ASSERT_EQ(0, _bind_irq(self->sg, VIRTBE_IRQ_EDGE, 7, fe));
	ASSERT_EQ(0, _irqfd(g2, call2, -1, VIRTBE_IRQ_EDGE, 7, 0));
	eventfd_kick(call2);
	EXPECT_EQ(1, eventfd_wait(fe, 1000));
	/* Statistics are per guest fd. */
	ASSERT_EQ(0, _get_stats(self->g, &s1));
	ASSERT_EQ(0, _get_stats(g2, &s2));
	EXPECT_EQ(1, s1.out_requests);
	EXPECT_EQ(1, s1.out_completions);
	EXPECT_EQ(1, s1.out_kicks);
	EXPECT_EQ(0, s1.out_irqs);
	EXPECT_EQ(1, s2.out_requests);
	EXPECT_EQ(1, s2.out_completions);
	EXPECT_EQ(1, s2.out_kicks);
	EXPECT_EQ(1, s2.out_irqs);
	/* Memory windows may be mapped from each. */
	data = _mem_map(self->g, 0, 0x1000, 0);
	EXPECT_LE(0, (int)data);
	close((int)data);
	data = _mem_map(g2, 0, 0x1000, 0);
	EXPECT_LE(0, (int)data);
	close((int)data);
	close(g2);
	close(k1);
	close(k2);
	close(call2);
	close(fe);
}

TEST_F(sim, multi_attach_close_one_keeps_other)
{
	int g2 = _attach(self->ctl, VIRTBE_HYP_SIM, self->id, 60000);
	int k1 = eventfd(0, EFD_CLOEXEC);
	struct vcpu_thread t2 = {
		.sg = self->sg, .vcpu = 2, .addr = MMIO2_BASE + 0x10, .len = 4,
	};
	struct vcpu_thread t1 = {
		.sg = self->sg, .vcpu = 1, .addr = MMIO_BASE + 0x10, .len = 4,
	};
	struct virtbe_request req;
	uint64_t data = 0;
	uint32_t res;

	ASSERT_LE(0, g2);
	ASSERT_EQ(0, _claim(g2, 0, MMIO2_BASE, MMIO_SIZE));
	ASSERT_EQ(0, _ioeventfd(self->g, k1, MMIO_BASE + 0x50, 4, 0, 0));
	/* A request outstanding on the fd that closes (60 s timeout). */
	ASSERT_EQ(0, vcpu_start(&t2));
	ASSERT_EQ(0, read_request(g2, &req, 2000));
	close(g2);
	ASSERT_EQ(0, vcpu_join(&t2));
	EXPECT_EQ(VIRTBE_SIM_RESULT_ABORTED, t2.result);
	EXPECT_EQ(0xffffffffULL, t2.data);
	/* Its range is unclaimed now; the other fd serves on. */
	ASSERT_EQ(0, _access(self->sg, 0, false, MMIO2_BASE + 0x10, 4, &data,
			     &res));
	EXPECT_EQ(VIRTBE_SIM_RESULT_UNCLAIMED, res);
	ASSERT_EQ(0, vcpu_start(&t1));
	EXPECT_EQ(0, serve_one(self->g, self->g, t1.addr, 0x77));
	ASSERT_EQ(0, vcpu_join(&t1));
	EXPECT_EQ(VIRTBE_SIM_RESULT_BACKEND, t1.result);
	EXPECT_EQ(0x77, t1.data);
	ASSERT_EQ(0, _access(self->sg, 0, true, MMIO_BASE + 0x50, 4, &data,
			     &res));
	EXPECT_EQ(VIRTBE_SIM_RESULT_IOEVENTFD, res);
	EXPECT_EQ(1, eventfd_wait(k1, 1000));
	EXPECT_EQ(0, _claim(self->g, 0, MMIO2_BASE, MMIO_SIZE));
	close(k1);
}

TEST_F(sim, multi_attach_daemon_killed_other_serves)
{
	struct vcpu_thread t2 = {
		.sg = self->sg, .vcpu = 2, .addr = MMIO2_BASE + 0x20, .len = 4,
	};
	struct vcpu_thread t1 = {
		.sg = self->sg, .vcpu = 1, .addr = MMIO_BASE + 0x20, .len = 4,
	};
	int pfd[2], status;
	char c;
	pid_t pid;

	ASSERT_EQ(0, pipe(pfd));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		/* A second daemon: its own fd, its own range; then hangs. */
		int g2 = _attach(self->ctl, VIRTBE_HYP_SIM, self->id, 60000);
		struct virtbe_request req;

		if (g2 < 0 || _claim(g2, 0, MMIO2_BASE, MMIO_SIZE))
			_exit(1);
		if (write(pfd[1], "r", 1) != 1)
			_exit(1);
		if (read_request(g2, &req, 5000) || write(pfd[1], "q", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(pfd[1]);
	ASSERT_EQ(1, read(pfd[0], &c, 1));
	ASSERT_EQ('r', c);
	EXPECT_EQ(-EEXIST, _claim(self->g, 0, MMIO2_BASE, 4));
	/* The child read our request and dies before answering. */
	ASSERT_EQ(0, vcpu_start(&t2));
	ASSERT_EQ(1, read(pfd[0], &c, 1));
	ASSERT_EQ('q', c);
	/* Meanwhile, and after, the fixture's fd serves. */
	ASSERT_EQ(0, vcpu_start(&t1));
	EXPECT_EQ(0, serve_one(self->g, self->g, t1.addr, 0x55));
	ASSERT_EQ(0, vcpu_join(&t1));
	EXPECT_EQ(0x55, t1.data);
	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_EQ(0, vcpu_join(&t2));
	EXPECT_EQ(VIRTBE_SIM_RESULT_ABORTED, t2.result);
	ASSERT_EQ(0, vcpu_start(&t1));
	EXPECT_EQ(0, serve_one(self->g, self->g, t1.addr, 0x66));
	ASSERT_EQ(0, vcpu_join(&t1));
	EXPECT_EQ(VIRTBE_SIM_RESULT_BACKEND, t1.result);
	EXPECT_EQ(0x66, t1.data);
	/* The dead daemon's range is free for another. */
	EXPECT_EQ(0, _claim(self->g, 0, MMIO2_BASE, MMIO_SIZE));
	close(pfd[0]);
}

TEST_F(sim, multi_attach_guest_destroyed_reaches_all)
{
	struct virtbe_sim_destroy d = { .size = sizeof(d) };
	int g2 = _attach(self->ctl, VIRTBE_HYP_SIM, self->id, 0);
	int g3 = _attach(self->ctl, VIRTBE_HYP_SIM, self->id, 0);
	struct pollfd p[3] = {
		{ .fd = self->g, .events = POLLIN },
		{ .fd = g2, .events = POLLIN },
		{ .fd = g3, .events = POLLIN },
	};

	ASSERT_LE(0, g2);
	ASSERT_LE(0, g3);
	ASSERT_EQ(0, _claim(g2, 0, MMIO2_BASE, MMIO_SIZE));
	close(g3);	/* detached before: not reported to */
	p[2].fd = -1;
	ASSERT_EQ(0, vbe_ioctl(self->sg, VIRTBE_SIM_DESTROY, &d));
	ASSERT_EQ(2, poll(p, 3, 1000));
	EXPECT_TRUE(p[0].revents & POLLHUP);
	EXPECT_TRUE(p[1].revents & POLLHUP);
	EXPECT_EQ(-ENODEV, _claim(g2, 0, 0, 0x10));
	close(g2);
	/* No attach to a destroyed guest. */
	EXPECT_EQ(-ENOENT, _attach(self->ctl, VIRTBE_HYP_SIM, self->id, 0));
}

/* ---- Memory ---- */

TEST_F(sim, mem_coherence)
{
	int mfd = _mem_map(self->g, 0x100000, 0x200000, 0);
	uint8_t *p;

	ASSERT_LE(0, mfd);
	EXPECT_EQ(FD_CLOEXEC, fcntl(mfd, F_GETFD) & FD_CLOEXEC);
	p = mmap(NULL, 0x200000, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	ASSERT_NE(MAP_FAILED, p);
	/* Frontend writes, backend reads. */
	for (int i = 0; i < 0x200000; i += 4096)
		self->ram[0x100000 + i] = (uint8_t)((i >> 12) + 1);
	for (int i = 0; i < 0x200000; i += 4096)
		ASSERT_EQ((uint8_t)((i >> 12) + 1), p[i]);
	/* Backend writes, frontend reads. */
	memset(p + 0x1000, 0xa5, 0x3000);
	for (int i = 0; i < 0x3000; i++)
		ASSERT_EQ(0xa5, self->ram[0x101000 + i]);
	/* An offset mapping. */
	{
		uint8_t *q = mmap(NULL, 4096, PROT_READ, MAP_SHARED, mfd,
				  0x1000);

		ASSERT_NE(MAP_FAILED, q);
		EXPECT_EQ(0xa5, q[0]);
		munmap(q, 4096);
	}
	munmap(p, 0x200000);
	close(mfd);
}

TEST_F(sim, mem_pass_to_other_process)
{
	int mfd = _mem_map(self->g, 0, 0x10000, 0);
	int sv[2];
	pid_t pid;
	int status;

	ASSERT_LE(0, mfd);
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		char c, cbuf[CMSG_SPACE(sizeof(int))];
		struct iovec iov = { .iov_base = &c, .iov_len = 1 };
		struct msghdr msg = {
			.msg_iov = &iov, .msg_iovlen = 1,
			.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
		};
		uint8_t *q;
		int fd;

		close(mfd);
		if (recvmsg(sv[1], &msg, 0) != 1)
			_exit(1);
		memcpy(&fd, CMSG_DATA(CMSG_FIRSTHDR(&msg)), sizeof(int));
		q = mmap(NULL, 0x10000, PROT_READ | PROT_WRITE, MAP_SHARED,
			 fd, 0);
		if (q == MAP_FAILED || q[0x2000] != 0x5a)
			_exit(2);
		q[0x3000] = 0xc3;
		_exit(0);
	}
	self->ram[0x2000] = 0x5a;
	{
		char c = 'm', cbuf[CMSG_SPACE(sizeof(int))];
		struct iovec iov = { .iov_base = &c, .iov_len = 1 };
		struct msghdr msg = {
			.msg_iov = &iov, .msg_iovlen = 1,
			.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
		};
		struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);

		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &mfd, sizeof(int));
		ASSERT_EQ(1, sendmsg(sv[0], &msg, 0));
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	EXPECT_EQ(0xc3, self->ram[0x3000]);
	close(mfd);
	close(sv[0]);
	close(sv[1]);
}

TEST_F(sim, mem_errors)
{
	int mfd;

	EXPECT_EQ(-EINVAL, _mem_map(self->g, 0x800, 0x1000, 0));
	EXPECT_EQ(-EINVAL, _mem_map(self->g, 0, 0x800, 0));
	EXPECT_EQ(-EINVAL, _mem_map(self->g, 0, 0, 0));
	EXPECT_EQ(-EINVAL, _mem_map(self->g, ~0xfffULL, 0x2000, 0));
	/* Not backed by RAM, or only partly. */
	EXPECT_EQ(-ENXIO, _mem_map(self->g, RAM_SIZE, 0x1000, 0));
	EXPECT_EQ(-ENXIO, _mem_map(self->g, RAM_SIZE - 0x1000, 0x2000, 0));
	/* Overlaps. */
	mfd = _mem_map(self->g, 0x10000, 0x10000, 0);
	ASSERT_LE(0, mfd);
	EXPECT_EQ(-EEXIST, _mem_map(self->g, 0x1f000, 0x2000, 0));
	EXPECT_EQ(-EEXIST, _mem_map(self->g, 0, 0x11000, 0));
	/* MAP_PRIVATE and out-of-window offsets are refused. */
	EXPECT_EQ(MAP_FAILED, mmap(NULL, 0x1000, PROT_READ, MAP_PRIVATE, mfd, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, 0x2000, PROT_READ, MAP_SHARED, mfd,
				   0xf000));
	EXPECT_EQ(EINVAL, errno);
	close(mfd);
	/* Closing the memory fd frees the window. */
	mfd = _mem_map(self->g, 0x1f000, 0x2000, 0);
	ASSERT_LE(0, mfd);
	close(mfd);
	/* The hypervisor fails the map. */
	ASSERT_EQ(0, _sim_fault(self->sg, VIRTBE_SIM_FAULT_FAIL_MAP, 1));
	EXPECT_EQ(-EIO, _mem_map(self->g, 0, 0x1000, 0));
	mfd = _mem_map(self->g, 0, 0x1000, 0);
	ASSERT_LE(0, mfd);
	close(mfd);
}

TEST_F(sim, mem_rdonly)
{
	int mfd = _mem_map(self->g, 0, 0x1000, VIRTBE_MEM_MAP_RDONLY);
	uint8_t *p;

	ASSERT_LE(0, mfd);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, 0x1000, PROT_READ | PROT_WRITE,
				   MAP_SHARED, mfd, 0));
	EXPECT_EQ(EACCES, errno);
	p = mmap(NULL, 0x1000, PROT_READ, MAP_SHARED, mfd, 0);
	ASSERT_NE(MAP_FAILED, p);
	self->ram[5] = 77;
	EXPECT_EQ(77, p[5]);
	EXPECT_EQ(-1, mprotect(p, 0x1000, PROT_READ | PROT_WRITE));
	munmap(p, 0x1000);
	close(mfd);
}

static sigjmp_buf sigbus_jmp;

static void sigbus_handler(int sig)
{
	siglongjmp(sigbus_jmp, 1);
}

/* Returns true if reading *p raises SIGBUS. */
static bool faults(volatile uint8_t *p)
{
	struct sigaction sa = { .sa_handler = sigbus_handler }, old;
	bool bus = false;

	sigaction(SIGBUS, &sa, &old);
	if (sigsetjmp(sigbus_jmp, 1))
		bus = true;
	else
		(void)*p;
	sigaction(SIGBUS, &old, NULL);
	return bus;
}

TEST_F(sim, mem_revoked_on_guest_close)
{
	int mfd = _mem_map(self->g, 0, 0x4000, 0);
	uint8_t *p;

	ASSERT_LE(0, mfd);
	p = mmap(NULL, 0x4000, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	ASSERT_NE(MAP_FAILED, p);
	p[0] = 1;
	EXPECT_FALSE(faults(p));
	close(self->g);
	self->g = -1;
	/* Every page, mapped before or not, is gone. */
	EXPECT_TRUE(faults(p));
	EXPECT_TRUE(faults(p + 0x3000));
	EXPECT_EQ(MAP_FAILED, mmap(NULL, 0x1000, PROT_READ, MAP_SHARED, mfd, 0));
	EXPECT_EQ(ENODEV, errno);
	munmap(p, 0x4000);
	close(mfd);
}

TEST_F(sim, mem_revoked_on_guest_destroy)
{
	struct virtbe_sim_destroy d = { .size = sizeof(d) };
	int mfd = _mem_map(self->g, 0, 0x4000, 0);
	uint8_t *p;

	ASSERT_LE(0, mfd);
	p = mmap(NULL, 0x4000, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	ASSERT_NE(MAP_FAILED, p);
	p[0x1000] = 1;
	ASSERT_EQ(0, vbe_ioctl(self->sg, VIRTBE_SIM_DESTROY, &d));
	EXPECT_TRUE(faults(p + 0x1000));
	munmap(p, 0x4000);
	close(mfd);
}

/*
 * A page vmspliced into a pipe keeps a reference of its own, which outlives
 * the window's revocation: reading the pipe afterwards returns the guest's
 * page as it is then (abi.rst, VIRTBE_MEM_MAP).  The mapping itself is
 * revoked.
 */
TEST_F(sim, mem_vmsplice_outlives_guest_close)
{
	int mfd = _mem_map(self->g, 0, 0x4000, 0), pfd[2];
	uint8_t *p, buf[0x1000];
	struct iovec iov;

	ASSERT_LE(0, mfd);
	p = mmap(NULL, 0x4000, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	ASSERT_NE(MAP_FAILED, p);
	memset(self->ram + 0x1000, 0x3c, 0x1000);
	ASSERT_EQ(0, pipe(pfd));
	iov = (struct iovec){ .iov_base = p + 0x1000, .iov_len = 0x1000 };
	ASSERT_EQ(0x1000, vmsplice(pfd[1], &iov, 1, 0));
	close(mfd);
	close(self->g);
	self->g = -1;
	EXPECT_TRUE(faults(p + 0x1000));
	/* The guest writes its page after the revocation. */
	memset(self->ram + 0x1000, 0xc3, 0x1000);
	ASSERT_EQ(0x1000, read(pfd[0], buf, sizeof(buf)));
	for (int i = 0; i < 0x1000; i++)
		ASSERT_EQ(0xc3, buf[i]);
	munmap(p, 0x4000);
	close(pfd[0]);
	close(pfd[1]);
}

/*
 * The same when the guest is destroyed, and its frontend lets go of its
 * RAM: the pipe's reference keeps the page, with the guest's last data.
 */
TEST_F(sim, mem_vmsplice_outlives_guest_destroy)
{
	struct virtbe_sim_destroy d = { .size = sizeof(d) };
	int mfd = _mem_map(self->g, 0, 0x4000, 0), pfd[2];
	uint8_t *p, buf[0x1000];
	struct iovec iov;

	ASSERT_LE(0, mfd);
	p = mmap(NULL, 0x4000, PROT_READ, MAP_SHARED, mfd, 0);
	ASSERT_NE(MAP_FAILED, p);
	memset(self->ram + 0x2000, 0x5a, 0x1000);
	ASSERT_EQ(0, pipe(pfd));
	iov = (struct iovec){ .iov_base = p + 0x2000, .iov_len = 0x1000 };
	ASSERT_EQ(0x1000, vmsplice(pfd[1], &iov, 1, 0));
	memset(self->ram + 0x2000, 0xa5, 0x1000);
	ASSERT_EQ(0, vbe_ioctl(self->sg, VIRTBE_SIM_DESTROY, &d));
	EXPECT_TRUE(faults(p + 0x2000));
	munmap(p, 0x4000);
	close(mfd);
	/* The frontend's RAM goes away: only the pipe holds the page. */
	munmap(self->ram, RAM_SIZE);
	self->ram = MAP_FAILED;
	close(self->memfd);
	self->memfd = -1;
	close(self->sg);
	self->sg = -1;
	ASSERT_EQ(0x1000, read(pfd[0], buf, sizeof(buf)));
	for (int i = 0; i < 0x1000; i++)
		ASSERT_EQ(0xa5, buf[i]);
	close(pfd[0]);
	close(pfd[1]);
}

TEST_F(sim, isolation)
{
	int memfd2 = memfd_ram(RAM_SIZE), sg2, mfd;
	uint64_t id2;
	uint8_t *p;

	ASSERT_LE(0, memfd2);
	sg2 = _sim_create(self->simctl, 1, &id2);
	ASSERT_LE(0, sg2);
	/* The other guest has RAM where ours has none. */
	ASSERT_EQ(0, _sim_add_ram(sg2, memfd2, RAM_SIZE, RAM_SIZE, 0));
	EXPECT_EQ(-ENXIO, _mem_map(self->g, RAM_SIZE, 0x1000, 0));
	EXPECT_EQ(-ENXIO, _mem_map(self->g, 0, 2 * RAM_SIZE, 0));
	/* Same addresses, different guests, different memory. */
	ASSERT_EQ(0, _sim_add_ram(sg2, memfd2, 0, 0x10000, 0x100000));
	self->ram[0] = 0x11;
	mfd = _mem_map(self->g, 0, 0x1000, 0);
	ASSERT_LE(0, mfd);
	p = mmap(NULL, 0x1000, PROT_READ, MAP_SHARED, mfd, 0);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(0x11, p[0]);
	munmap(p, 0x1000);
	close(mfd);
	close(sg2);
	close(memfd2);
}

/* ---- Ranges and the request channel ---- */

TEST_F(sim, unclaimed_reads_all_ones)
{
	uint64_t data = 0;
	uint32_t res;

	ASSERT_EQ(0, _access(self->sg, 0, false, 0x20000000, 4, &data, &res));
	EXPECT_EQ(VIRTBE_SIM_RESULT_UNCLAIMED, res);
	EXPECT_EQ(0xffffffffULL, data);
	ASSERT_EQ(0, _access(self->sg, 0, false, 0x20000000, 8, &data, &res));
	EXPECT_EQ(~0ULL, data);
	/* Straddling the end of a claimed range is not claimed. */
	ASSERT_EQ(0, _access(self->sg, 0, false, MMIO_BASE + MMIO_SIZE - 2, 4,
			     &data, &res));
	EXPECT_EQ(VIRTBE_SIM_RESULT_UNCLAIMED, res);
}

/*
 * out_rejected counts what the kernel answered itself in a claimed range:
 * string (rep) accesses, which the simulator rejects as the Xen backend
 * does, and posted writes nothing takes; not unclaimed accesses, not
 * requests the daemon answers.  A caller with the first version's size
 * (up to out_irqs) still works and gets nothing past it.
 */
TEST_F(sim, stats_rejected)
{
	struct virtbe_info info = { .size = sizeof(info) };
	struct virtbe_stats st;
	struct vcpu_thread t = {
		.sg = self->sg, .vcpu = 1, .addr = MMIO_BASE + 0x10, .len = 4,
	};
	struct virtbe_stats old;
	uint64_t data = 0;
	uint32_t res;

	ASSERT_EQ(0, _get_stats(self->g, &st));
	EXPECT_EQ(0, st.out_rejected);
	ASSERT_EQ(0, vbe_ioctl(self->g, VIRTBE_GET_INFO, &info));
	EXPECT_TRUE(info.out_features & VIRTBE_F_STATS_REJECTED);
	/* a rep read: all-ones, counted, never a request */
	ASSERT_EQ(0, _access_flags(self->sg, 0, VIRTBE_SIM_ACCESS_REP,
				   MMIO_BASE + 0x10, 4, &data, &res));
	EXPECT_EQ(VIRTBE_SIM_RESULT_REJECTED, res);
	EXPECT_EQ(0xffffffffULL, data);
	data = 0x1234;
	ASSERT_EQ(0, _access_flags(self->sg, 1, VIRTBE_SIM_ACCESS_REP |
				   VIRTBE_SIM_ACCESS_WRITE, MMIO_BASE + 0x50, 4,
				   &data, &res));
	EXPECT_EQ(VIRTBE_SIM_RESULT_REJECTED, res);
	/* a posted write nothing in the kernel takes */
	ASSERT_EQ(0, _access_flags(self->sg, 0, VIRTBE_SIM_ACCESS_POSTED |
				   VIRTBE_SIM_ACCESS_WRITE, MMIO_BASE + 0x50, 4,
				   &data, &res));
	EXPECT_EQ(VIRTBE_SIM_RESULT_DROPPED, res);
	/* no posted string access (Xen buffers none): refused, not counted */
	EXPECT_EQ(-EINVAL, _access_flags(self->sg, 0, VIRTBE_SIM_ACCESS_POSTED |
					 VIRTBE_SIM_ACCESS_REP |
					 VIRTBE_SIM_ACCESS_WRITE,
					 MMIO_BASE + 0x50, 4, &data, &res));
	/* unclaimed, rep or not: the hypervisor's business, not counted */
	ASSERT_EQ(0, _access_flags(self->sg, 0, VIRTBE_SIM_ACCESS_REP,
				   0x20000000, 4, &data, &res));
	EXPECT_EQ(VIRTBE_SIM_RESULT_UNCLAIMED, res);
	ASSERT_EQ(0, _access(self->sg, 0, false, MMIO_BASE + MMIO_SIZE - 2, 4,
			     &data, &res));
	EXPECT_EQ(VIRTBE_SIM_RESULT_UNCLAIMED, res);
	/* a request the daemon answers: not counted */
	ASSERT_EQ(0, vcpu_start(&t));
	EXPECT_EQ(0, serve_one(self->g, self->g, t.addr, 0x77));
	ASSERT_EQ(0, vcpu_join(&t));
	EXPECT_EQ(VIRTBE_SIM_RESULT_BACKEND, t.result);
	ASSERT_EQ(0, _get_stats(self->g, &st));
	EXPECT_EQ(3, st.out_rejected);
	EXPECT_EQ(1, st.out_requests);
	EXPECT_EQ(0, st.out_kicks);

	/* version 1's size: 64 bytes written, the rest of the buffer kept */
	memset(&old, 0xa5, sizeof(old));
	old.size = 64;		/* up to out_irqs */
	old.flags = 0;
	ASSERT_EQ(0, vbe_ioctl(self->g, VIRTBE_GET_STATS, &old));
	EXPECT_EQ(1, old.out_requests);
	EXPECT_EQ(0xa5a5a5a5a5a5a5a5ULL, old.out_rejected);
	/* one byte short of version 1: refused */
	old.size = 63;
	EXPECT_EQ(-EINVAL, vbe_ioctl(self->g, VIRTBE_GET_STATS, &old));
}

TEST_F(sim, claim_errors)
{
	EXPECT_EQ(-EEXIST, _claim(self->g, 0, MMIO_BASE + 0x800, 0x1000));
	EXPECT_EQ(-EEXIST, _claim(self->g, 0, MMIO_BASE - 0x10, 0x11));
	EXPECT_EQ(0, _claim(self->g, 0, MMIO_BASE - 0x10, 0x10));
	EXPECT_EQ(-EINVAL, _claim(self->g, 0, 0x1000, 0));
	EXPECT_EQ(-EINVAL, _claim(self->g, 0, ~0ULL, 2));
	/* PIO is a separate space. */
	EXPECT_EQ(0, _claim(self->g, VIRTBE_RANGE_PIO, MMIO_BASE, 0x10));
	EXPECT_EQ(-ENOENT, _claim(self->g, VIRTBE_RANGE_RELEASE, MMIO_BASE,
				  0x10));
	EXPECT_EQ(0, _claim(self->g, VIRTBE_RANGE_RELEASE | VIRTBE_RANGE_PIO,
			    MMIO_BASE, 0x10));
	EXPECT_EQ(0, _claim(self->g, VIRTBE_RANGE_RELEASE, MMIO_BASE,
			    MMIO_SIZE));
	/* Released: reads are all-ones again. */
	{
		uint64_t data = 0;
		uint32_t res;

		ASSERT_EQ(0, _access(self->sg, 0, false, MMIO_BASE, 4, &data,
				     &res));
		EXPECT_EQ(VIRTBE_SIM_RESULT_UNCLAIMED, res);
	}
}

TEST_F(sim, request_round_trip)
{
	struct vcpu_thread t = {
		.sg = self->sg, .vcpu = 2, .addr = MMIO_BASE + 0x70, .len = 4,
	};
	struct virtbe_request req;
	struct virtbe_stats st;

	ASSERT_EQ(0, vcpu_start(&t));
	ASSERT_EQ(0, read_request(self->g, &req, 2000));
	EXPECT_EQ(sizeof(req), req.size);
	EXPECT_EQ(0, req.flags);
	EXPECT_EQ(2, req.vcpu);
	EXPECT_EQ(4, req.len);
	EXPECT_EQ(MMIO_BASE + 0x70, req.addr);
	EXPECT_EQ(0, req.data);
	EXPECT_NE(0, req.id);
	/* Upper bytes beyond the access length are dropped. */
	ASSERT_EQ(0, complete_request(self->g, req.id, 0xaabbccdd11223344ULL));
	ASSERT_EQ(0, vcpu_join(&t));
	EXPECT_EQ(0, t.ret);
	EXPECT_EQ(VIRTBE_SIM_RESULT_BACKEND, t.result);
	EXPECT_EQ(0x11223344ULL, t.data);
	/* The id is now stale. */
	EXPECT_EQ(-ENOENT, complete_request(self->g, req.id, 0));

	/* A write. */
	t.write = true;
	t.len = 2;
	t.data = 0x12345678;
	ASSERT_EQ(0, vcpu_start(&t));
	ASSERT_EQ(0, read_request(self->g, &req, 2000));
	EXPECT_EQ(VIRTBE_REQ_WRITE, req.flags);
	EXPECT_EQ(0x5678, req.data);
	ASSERT_EQ(0, complete_request(self->g, req.id, 0));
	ASSERT_EQ(0, vcpu_join(&t));
	EXPECT_EQ(VIRTBE_SIM_RESULT_BACKEND, t.result);

	ASSERT_EQ(0, _get_stats(self->g, &st));
	EXPECT_EQ(2, st.out_requests);
	EXPECT_EQ(2, st.out_completions);
	EXPECT_EQ(0, st.out_timeouts);
}

TEST_F(sim, request_pio)
{
	struct vcpu_thread t = {
		.sg = self->sg, .vcpu = 0, .pio = true, .addr = 0x60, .len = 1,
	};
	struct virtbe_request req;

	/* Unclaimed port. */
	ASSERT_EQ(0, vcpu_start(&t));
	ASSERT_EQ(0, vcpu_join(&t));
	EXPECT_EQ(VIRTBE_SIM_RESULT_UNCLAIMED, t.result);
	EXPECT_EQ(0xff, t.data);
	/* Claiming MMIO at that address does not claim the port. */
	ASSERT_EQ(0, _claim(self->g, 0, 0x60, 8));
	ASSERT_EQ(0, vcpu_start(&t));
	ASSERT_EQ(0, vcpu_join(&t));
	EXPECT_EQ(VIRTBE_SIM_RESULT_UNCLAIMED, t.result);
	/* A claimed port reaches the channel flagged as PIO. */
	ASSERT_EQ(0, _claim(self->g, VIRTBE_RANGE_PIO, 0x60, 8));
	ASSERT_EQ(0, vcpu_start(&t));
	ASSERT_EQ(0, read_request(self->g, &req, 2000));
	EXPECT_EQ(VIRTBE_REQ_PIO, req.flags);
	EXPECT_EQ(0x60, req.addr);
	EXPECT_EQ(1, req.len);
	ASSERT_EQ(0, complete_request(self->g, req.id, 0x1234));
	ASSERT_EQ(0, vcpu_join(&t));
	EXPECT_EQ(VIRTBE_SIM_RESULT_BACKEND, t.result);
	EXPECT_EQ(0x34, t.data);
}

struct rt_ctx {
	int sg, g;
	uint32_t vcpu;
	int iters;
	int errors;
};

static void *rt_vcpu(void *arg)
{
	struct rt_ctx *c = arg;

	for (int i = 0; i < c->iters; i++) {
		uint64_t addr = MMIO_BASE + 0x100 + c->vcpu * 8, data = 0;
		uint32_t res;

		if (_access(c->sg, c->vcpu, false, addr, 8, &data, &res) ||
		    res != VIRTBE_SIM_RESULT_BACKEND ||
		    data != (addr ^ ((uint64_t)i << 32)))
			__atomic_add_fetch(&c->errors, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

TEST_F(sim, requests_from_concurrent_vcpus)
{
	const int iters = 200;
	struct rt_ctx ctx[NR_VCPUS];
	pthread_t th[NR_VCPUS];
	int served[NR_VCPUS] = { 0 }, total = 0;
	struct virtbe_request reqs[8];

	for (int v = 0; v < NR_VCPUS; v++) {
		ctx[v] = (struct rt_ctx) {
			.sg = self->sg, .g = self->g, .vcpu = v, .iters = iters,
		};
		ASSERT_EQ(0, pthread_create(&th[v], NULL, rt_vcpu, &ctx[v]));
	}
	while (total < iters * NR_VCPUS) {
		struct pollfd p = { .fd = self->g, .events = POLLIN };
		ssize_t n;

		ASSERT_EQ(1, poll(&p, 1, 5000));
		n = read(self->g, reqs, sizeof(reqs));
		ASSERT_LT(0, n);
		ASSERT_EQ(0, n % sizeof(reqs[0]));
		for (int i = 0; i < n / (ssize_t)sizeof(reqs[0]); i++) {
			uint32_t v = reqs[i].vcpu;

			ASSERT_LT(v, NR_VCPUS);
			ASSERT_EQ(MMIO_BASE + 0x100 + v * 8, reqs[i].addr);
			ASSERT_EQ(0, complete_request(self->g, reqs[i].id,
				reqs[i].addr ^ ((uint64_t)served[v] << 32)));
			served[v]++;
			total++;
		}
	}
	for (int v = 0; v < NR_VCPUS; v++) {
		pthread_join(th[v], NULL);
		EXPECT_EQ(0, ctx[v].errors);
		EXPECT_EQ(iters, served[v]);
	}
}

TEST_F(sim, read_write_channel_errors)
{
	struct vcpu_thread t = {
		.sg = self->sg, .vcpu = 1, .addr = MMIO_BASE, .len = 4,
	};
	struct virtbe_request req;
	struct virtbe_completion c;
	uint8_t small[8];
	int fl;

	/* Nothing queued. */
	fl = fcntl(self->g, F_GETFL);
	ASSERT_EQ(0, fcntl(self->g, F_SETFL, fl | O_NONBLOCK));
	EXPECT_EQ(-1, read(self->g, &req, sizeof(req)));
	EXPECT_EQ(EAGAIN, errno);
	ASSERT_EQ(0, fcntl(self->g, F_SETFL, fl));

	ASSERT_EQ(0, vcpu_start(&t));
	{
		struct pollfd p = { .fd = self->g, .events = POLLIN };

		ASSERT_EQ(1, poll(&p, 1, 2000));
		EXPECT_TRUE(p.revents & POLLIN);
		EXPECT_FALSE(p.revents & POLLHUP);
	}
	/* Too small a buffer, a bad buffer: the request stays queued. */
	EXPECT_EQ(-1, read(self->g, small, sizeof(small)));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, read(self->g, unmapped_ptr(), sizeof(req)));
	EXPECT_EQ(EFAULT, errno);
	ASSERT_EQ(0, read_request(self->g, &req, 1000));

	/* Bad completions change nothing. */
	c = (struct virtbe_completion) { .size = sizeof(c), .id = req.id };
	EXPECT_EQ(-1, write(self->g, &c, sizeof(c) - 1));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, write(self->g, unmapped_ptr(), sizeof(c)));
	EXPECT_EQ(EFAULT, errno);
	c.size = sizeof(c) + 8;
	EXPECT_EQ(-1, write(self->g, &c, sizeof(c)));
	EXPECT_EQ(EINVAL, errno);
	c.size = sizeof(c);
	c.flags = 1;
	EXPECT_EQ(-1, write(self->g, &c, sizeof(c)));
	EXPECT_EQ(EOPNOTSUPP, errno);
	c.flags = 0;
	c.__reserved = 1;
	EXPECT_EQ(-1, write(self->g, &c, sizeof(c)));
	EXPECT_EQ(EINVAL, errno);
	c.__reserved = 0;
	c.id = req.id + (1 << 12);
	EXPECT_EQ(-1, write(self->g, &c, sizeof(c)));
	EXPECT_EQ(ENOENT, errno);
	c.id = 0;
	EXPECT_EQ(-1, write(self->g, &c, sizeof(c)));
	EXPECT_EQ(ENOENT, errno);
	/* The real one. */
	ASSERT_EQ(0, complete_request(self->g, req.id, 7));
	ASSERT_EQ(0, vcpu_join(&t));
	EXPECT_EQ(7, t.data);
}

TEST_F(sim, request_timeout)
{
	struct vcpu_thread t = {
		.sg = self->sg, .vcpu = 0, .addr = MMIO_BASE + 8, .len = 4,
	};
	struct virtbe_request req;
	struct virtbe_stats st;
	uint64_t t0 = now_ns(), ms;

	ASSERT_EQ(0, vcpu_start(&t));
	ASSERT_EQ(0, read_request(self->g, &req, 2000));
	/* Nobody answers. */
	ASSERT_EQ(0, vcpu_join(&t));
	ms = (now_ns() - t0) / 1000000;
	EXPECT_EQ(0, t.ret);
	EXPECT_EQ(VIRTBE_SIM_RESULT_ABORTED, t.result);
	EXPECT_EQ(0xffffffffULL, t.data);
	EXPECT_LE(TIMEOUT_MS - 20, ms);
	EXPECT_GT(TIMEOUT_MS * 20, ms);
	EXPECT_EQ(-ENOENT, complete_request(self->g, req.id, 1));
	ASSERT_EQ(0, _get_stats(self->g, &st));
	EXPECT_EQ(1, st.out_timeouts);
	EXPECT_EQ(0, st.out_completions);

	/* An unread request times out too. */
	t.vcpu = 3;
	ASSERT_EQ(0, vcpu_start(&t));
	ASSERT_EQ(0, vcpu_join(&t));
	EXPECT_EQ(VIRTBE_SIM_RESULT_ABORTED, t.result);
	ASSERT_EQ(0, _get_stats(self->g, &st));
	EXPECT_EQ(2, st.out_timeouts);
}

TEST_F(sim, close_with_requests_outstanding)
{
	struct vcpu_thread t[NR_VCPUS];
	struct virtbe_request req;

	for (int v = 0; v < NR_VCPUS; v++) {
		t[v] = (struct vcpu_thread) {
			.sg = self->sg, .vcpu = v, .addr = MMIO_BASE + 4 * v,
			.len = 4,
		};
		ASSERT_EQ(0, vcpu_start(&t[v]));
	}
	/* Read one (in flight); leave the others queued. */
	ASSERT_EQ(0, read_request(self->g, &req, 2000));
	usleep(50000);
	close(self->g);
	self->g = -1;
	for (int v = 0; v < NR_VCPUS; v++) {
		ASSERT_EQ(0, vcpu_join(&t[v]));
		EXPECT_EQ(0, t[v].ret);
		/* Completed at close, or never claimed once detached. */
		EXPECT_NE(VIRTBE_SIM_RESULT_BACKEND, t[v].result);
		EXPECT_EQ(0xffffffffULL, t[v].data);
	}
}

TEST_F(sim, guest_destroyed_while_attached)
{
	struct virtbe_sim_destroy d = { .size = sizeof(d) };
	struct vcpu_thread t = {
		.sg = self->sg, .vcpu = 1, .addr = MMIO_BASE, .len = 4,
	};
	struct virtbe_request req;
	struct virtbe_stats st;
	struct pollfd p = { .fd = self->g, .events = POLLIN };
	int efd = eventfd(0, EFD_CLOEXEC);

	ASSERT_EQ(0, vcpu_start(&t));
	ASSERT_EQ(0, read_request(self->g, &req, 2000));
	ASSERT_EQ(0, vbe_ioctl(self->sg, VIRTBE_SIM_DESTROY, &d));
	ASSERT_EQ(0, vcpu_join(&t));
	EXPECT_EQ(VIRTBE_SIM_RESULT_ABORTED, t.result);
	ASSERT_EQ(1, poll(&p, 1, 1000));
	EXPECT_TRUE(p.revents & POLLHUP);
	EXPECT_EQ(0, read(self->g, &req, sizeof(req)));
	EXPECT_EQ(-1, write(self->g, &(struct virtbe_completion){
		.size = sizeof(struct virtbe_completion), .id = req.id },
		sizeof(struct virtbe_completion)));
	EXPECT_EQ(ENODEV, errno);
	EXPECT_EQ(-ENODEV, _mem_map(self->g, 0, 0x1000, 0));
	EXPECT_EQ(-ENODEV, _claim(self->g, 0, 0x0, 0x10));
	EXPECT_EQ(-ENODEV, _ioeventfd(self->g, efd, MMIO_BASE, 4, 0, 0));
	EXPECT_EQ(-ENODEV, _irqfd(self->g, efd, -1, VIRTBE_IRQ_EDGE, 1, 0));
	ASSERT_EQ(0, _get_stats(self->g, &st));
	EXPECT_EQ(1, st.out_aborted);
	/* The frontend's fd is dead too. */
	EXPECT_EQ(-ENODEV, _access(self->sg, 0, false, MMIO_BASE, 4, NULL,
				   NULL));
	close(efd);
}

/* ---- Kicks ---- */

TEST_F(sim, kick_wildcard)
{
	int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	uint64_t data = 3;
	uint32_t res;
	struct virtbe_stats st;

	ASSERT_EQ(0, _ioeventfd(self->g, efd, MMIO_BASE + 0x50, 4, 0, 0));
	ASSERT_EQ(0, _access(self->sg, 0, true, MMIO_BASE + 0x50, 4, &data,
			     &res));
	EXPECT_EQ(VIRTBE_SIM_RESULT_IOEVENTFD, res);
	data = 9;
	ASSERT_EQ(0, _access(self->sg, 1, true, MMIO_BASE + 0x50, 4, &data,
			     &res));
	EXPECT_EQ(2, eventfd_wait(efd, 1000));
	/* Another length does not match a len-4 ioeventfd. */
	{
		struct vcpu_thread t = {
			.sg = self->sg, .vcpu = 0, .write = true,
			.addr = MMIO_BASE + 0x50, .len = 2, .data = 1,
		};
		struct virtbe_request req;

		ASSERT_EQ(0, vcpu_start(&t));
		ASSERT_EQ(0, read_request(self->g, &req, 2000));
		ASSERT_EQ(0, complete_request(self->g, req.id, 0));
		ASSERT_EQ(0, vcpu_join(&t));
	}
	/* Reads are never kicks. */
	EXPECT_EQ(-ETIMEDOUT, eventfd_wait(efd, 10));
	ASSERT_EQ(0, _get_stats(self->g, &st));
	EXPECT_EQ(2, st.out_kicks);
	/* Deassign: now it goes to the channel. */
	ASSERT_EQ(0, _ioeventfd(self->g, efd, MMIO_BASE + 0x50, 4,
				VIRTBE_IOEVENTFD_DEASSIGN, 0));
	EXPECT_EQ(-ENOENT, _ioeventfd(self->g, efd, MMIO_BASE + 0x50, 4,
				      VIRTBE_IOEVENTFD_DEASSIGN, 0));
	close(efd);
}

TEST_F(sim, kick_datamatch)
{
	int q0 = eventfd(0, EFD_CLOEXEC), q1 = eventfd(0, EFD_CLOEXEC);
	uint64_t data;
	uint32_t res;

	ASSERT_EQ(0, _ioeventfd(self->g, q0, MMIO_BASE + 0x50, 4,
				VIRTBE_IOEVENTFD_DATAMATCH, 0));
	ASSERT_EQ(0, _ioeventfd(self->g, q1, MMIO_BASE + 0x50, 4,
				VIRTBE_IOEVENTFD_DATAMATCH, 1));
	/* Same register and value: conflict. */
	EXPECT_EQ(-EEXIST, _ioeventfd(self->g, q1, MMIO_BASE + 0x50, 4,
				      VIRTBE_IOEVENTFD_DATAMATCH, 1));
	/* A wildcard on a datamatch register: conflict. */
	EXPECT_EQ(-EEXIST, _ioeventfd(self->g, q1, MMIO_BASE + 0x50, 4, 0, 0));
	/* Overlapping bytes: conflict. */
	EXPECT_EQ(-EEXIST, _ioeventfd(self->g, q1, MMIO_BASE + 0x52, 2, 0, 0));
	EXPECT_EQ(-EEXIST, _ioeventfd(self->g, q1, MMIO_BASE + 0x4c, 8, 0, 0));
	EXPECT_EQ(0, _ioeventfd(self->g, q1, MMIO_BASE + 0x54, 4, 0, 0));
	/* Bad lengths and values. */
	EXPECT_EQ(-EINVAL, _ioeventfd(self->g, q1, MMIO_BASE + 0x60, 3, 0, 0));
	EXPECT_EQ(-EINVAL, _ioeventfd(self->g, q1, MMIO_BASE + 0x60, 1,
				      VIRTBE_IOEVENTFD_DATAMATCH, 0x100));
	EXPECT_EQ(-EINVAL, _ioeventfd(self->g, q1, MMIO_BASE + 0x60, 0,
				      VIRTBE_IOEVENTFD_DATAMATCH, 0));
	EXPECT_EQ(-EINVAL, _ioeventfd(self->g, q1, MMIO_BASE + 0x60, 4, 0, 5));

	data = 1;
	ASSERT_EQ(0, _access(self->sg, 0, true, MMIO_BASE + 0x50, 4, &data,
			     &res));
	EXPECT_EQ(VIRTBE_SIM_RESULT_IOEVENTFD, res);
	EXPECT_EQ(1, eventfd_wait(q1, 1000));
	EXPECT_EQ(-ETIMEDOUT, eventfd_wait(q0, 10));
	data = 0;
	ASSERT_EQ(0, _access(self->sg, 0, true, MMIO_BASE + 0x50, 4, &data,
			     &res));
	EXPECT_EQ(1, eventfd_wait(q0, 1000));
	/* An unmatched value goes to the request channel. */
	{
		struct vcpu_thread t = {
			.sg = self->sg, .vcpu = 0, .write = true,
			.addr = MMIO_BASE + 0x50, .len = 4, .data = 2,
		};
		struct virtbe_request req;

		ASSERT_EQ(0, vcpu_start(&t));
		ASSERT_EQ(0, read_request(self->g, &req, 2000));
		EXPECT_EQ(2, req.data);
		ASSERT_EQ(0, complete_request(self->g, req.id, 0));
		ASSERT_EQ(0, vcpu_join(&t));
		EXPECT_EQ(VIRTBE_SIM_RESULT_BACKEND, t.result);
	}
	close(q0);
	close(q1);
}

TEST_F(sim, kick_before_registration_is_not_lost)
{
	struct vcpu_thread t = {
		.sg = self->sg, .vcpu = 2, .write = true,
		.addr = MMIO_BASE + 0x50, .len = 4, .data = 0,
	};
	int efd = eventfd(0, EFD_CLOEXEC);
	struct virtbe_stats st;
	struct pollfd p = { .fd = self->g, .events = POLLIN };

	ASSERT_EQ(0, vcpu_start(&t));
	/* The kick waits, unread, in the channel. */
	ASSERT_EQ(1, poll(&p, 1, 2000));
	ASSERT_EQ(0, _ioeventfd(self->g, efd, MMIO_BASE + 0x50, 4,
				VIRTBE_IOEVENTFD_DATAMATCH, 0));
	ASSERT_EQ(0, vcpu_join(&t));
	EXPECT_EQ(VIRTBE_SIM_RESULT_BACKEND, t.result);
	EXPECT_EQ(1, eventfd_wait(efd, 1000));
	ASSERT_EQ(0, _get_stats(self->g, &st));
	EXPECT_EQ(1, st.out_kicks_replayed);
	EXPECT_EQ(0, st.out_timeouts);
	close(efd);
}

TEST_F(sim, ioeventfd_outlives_closed_eventfd)
{
	int efd = eventfd(0, EFD_CLOEXEC);
	uint64_t data = 0;
	uint32_t res;

	ASSERT_EQ(0, _ioeventfd(self->g, efd, MMIO_BASE + 0x50, 4, 0, 0));
	close(efd);
	/* The kick still completes; the kernel holds the eventfd. */
	ASSERT_EQ(0, _access(self->sg, 0, true, MMIO_BASE + 0x50, 4, &data,
			     &res));
	EXPECT_EQ(VIRTBE_SIM_RESULT_IOEVENTFD, res);
}

/* ---- Interrupts ---- */

TEST_F(sim, irq_edge)
{
	int call = eventfd(0, EFD_CLOEXEC), fe = eventfd(0, EFD_CLOEXEC);
	struct virtbe_sim_irq_state st;
	struct virtbe_stats s;

	ASSERT_EQ(0, _bind_irq(self->sg, VIRTBE_IRQ_EDGE, 5, fe));
	ASSERT_EQ(0, _irqfd(self->g, call, -1, VIRTBE_IRQ_EDGE, 5, 0));
	EXPECT_EQ(-EBUSY, _irqfd(self->g, call, -1, VIRTBE_IRQ_EDGE, 6, 0));
	eventfd_kick(call);
	EXPECT_EQ(1, eventfd_wait(fe, 1000));
	eventfd_kick(call);
	EXPECT_EQ(1, eventfd_wait(fe, 1000));
	ASSERT_EQ(0, _irq_state(self->sg, VIRTBE_IRQ_EDGE, 5, false, &st));
	EXPECT_EQ(2, st.out_count);
	EXPECT_EQ(0, st.out_level);
	ASSERT_EQ(0, _get_stats(self->g, &s));
	EXPECT_EQ(2, s.out_irqs);
	/* Deassign: no more interrupts. */
	ASSERT_EQ(0, _irqfd(self->g, call, -1, VIRTBE_IRQ_EDGE, 5,
			    VIRTBE_IRQFD_DEASSIGN));
	EXPECT_EQ(-ENOENT, _irqfd(self->g, call, -1, VIRTBE_IRQ_EDGE, 5,
				  VIRTBE_IRQFD_DEASSIGN));
	eventfd_kick(call);
	EXPECT_EQ(-ETIMEDOUT, eventfd_wait(fe, 50));
	close(call);
	close(fe);
}

TEST_F(sim, irq_pending_signal_delivered_at_assign)
{
	int call = eventfd(0, EFD_CLOEXEC), fe = eventfd(0, EFD_CLOEXEC);

	ASSERT_EQ(0, _bind_irq(self->sg, VIRTBE_IRQ_EDGE, 9, fe));
	eventfd_kick(call);
	ASSERT_EQ(0, _irqfd(self->g, call, -1, VIRTBE_IRQ_EDGE, 9, 0));
	EXPECT_EQ(1, eventfd_wait(fe, 1000));
	close(call);
	close(fe);
}

TEST_F(sim, irq_level_resample)
{
	int call = eventfd(0, EFD_CLOEXEC), rs = eventfd(0, EFD_CLOEXEC);
	int fe = eventfd(0, EFD_CLOEXEC);
	struct virtbe_sim_irq_state st;

	ASSERT_EQ(0, _bind_irq(self->sg, VIRTBE_IRQ_LEVEL, 7, fe));
	EXPECT_EQ(-EINVAL, _irqfd(self->g, call, -1, VIRTBE_IRQ_LEVEL, 7, 0));
	EXPECT_EQ(-EINVAL, _irqfd(self->g, call, rs, VIRTBE_IRQ_EDGE, 7, 0));
	ASSERT_EQ(0, _irqfd(self->g, call, rs, VIRTBE_IRQ_LEVEL, 7, 0));
	eventfd_kick(call);
	EXPECT_EQ(1, eventfd_wait(fe, 1000));
	ASSERT_EQ(0, _irq_state(self->sg, VIRTBE_IRQ_LEVEL, 7, false, &st));
	EXPECT_EQ(1, st.out_level);
	EXPECT_EQ(1, st.out_count);
	/* Raising an asserted line is not a new interrupt. */
	eventfd_kick(call);
	EXPECT_EQ(-ETIMEDOUT, eventfd_wait(fe, 50));
	ASSERT_EQ(0, _irq_state(self->sg, VIRTBE_IRQ_LEVEL, 7, false, &st));
	EXPECT_EQ(1, st.out_count);
	EXPECT_EQ(-ETIMEDOUT, eventfd_wait(rs, 10));
	/* EOI lowers the line and resamples. */
	ASSERT_EQ(0, _irq_state(self->sg, VIRTBE_IRQ_LEVEL, 7, true, &st));
	EXPECT_EQ(0, st.out_level);
	EXPECT_EQ(1, eventfd_wait(rs, 1000));
	/* The daemon still has work: it raises the line again. */
	eventfd_kick(call);
	EXPECT_EQ(1, eventfd_wait(fe, 1000));
	ASSERT_EQ(0, _irq_state(self->sg, VIRTBE_IRQ_LEVEL, 7, false, &st));
	EXPECT_EQ(1, st.out_level);
	EXPECT_EQ(2, st.out_count);
	/* EOI of a line that is low resamples nothing. */
	ASSERT_EQ(0, _irq_state(self->sg, VIRTBE_IRQ_LEVEL, 7, true, &st));
	EXPECT_EQ(1, eventfd_wait(rs, 1000));
	ASSERT_EQ(0, _irq_state(self->sg, VIRTBE_IRQ_LEVEL, 7, true, &st));
	EXPECT_EQ(-ETIMEDOUT, eventfd_wait(rs, 50));
	close(call);
	close(rs);
	close(fe);
}

TEST_F(sim, irq_evtchn)
{
	int call = eventfd(0, EFD_CLOEXEC), fe = eventfd(0, EFD_CLOEXEC);
	struct virtbe_sim_irq_state st;

	ASSERT_EQ(0, _bind_irq(self->sg, VIRTBE_IRQ_EVTCHN, 3, fe));
	ASSERT_EQ(0, _irqfd(self->g, call, -1, VIRTBE_IRQ_EVTCHN, 3, 0));
	eventfd_kick(call);
	EXPECT_EQ(1, eventfd_wait(fe, 1000));
	ASSERT_EQ(0, _irq_state(self->sg, VIRTBE_IRQ_EVTCHN, 3, false, &st));
	EXPECT_EQ(1, st.out_count);
	/* Line 3 is a different interrupt. */
	ASSERT_EQ(0, _irq_state(self->sg, VIRTBE_IRQ_EDGE, 3, false, &st));
	EXPECT_EQ(0, st.out_count);
	close(call);
	close(fe);
}

TEST_F(sim, irq_errors)
{
	int call = eventfd(0, EFD_CLOEXEC);
	struct virtbe_irqfd i = {
		.size = sizeof(i), .fd = call, .resamplefd = -1,
		.type = VIRTBE_IRQ_MSI, .msi_addr = 0xfee00000, .msi_data = 1,
	};

	/* The simulator has no MSI. */
	EXPECT_EQ(-EOPNOTSUPP, vbe_ioctl(self->g, VIRTBE_IRQFD, &i));
	i.type = VIRTBE_IRQ_EDGE;
	EXPECT_EQ(-EINVAL, vbe_ioctl(self->g, VIRTBE_IRQFD, &i));
	EXPECT_EQ(-EINVAL, _irqfd(self->g, call, -1, 0, 1, 0));
	EXPECT_EQ(-EINVAL, _irqfd(self->g, call, -1, 99, 1, 0));
	EXPECT_EQ(-EINVAL, _irqfd(self->g, call, -1, VIRTBE_IRQ_EDGE, 1024, 0));
	EXPECT_EQ(-EINVAL, _irqfd(self->g, call, -1, VIRTBE_IRQ_EVTCHN, 5000,
				  0));
	EXPECT_EQ(0, _irqfd(self->g, call, -1, VIRTBE_IRQ_EDGE, 1023, 0));
	close(call);
}

TEST_F(sim, irqfd_removed_when_eventfd_closed)
{
	int fds[1024], extra;
	struct rlimit rl = { .rlim_cur = 4096, .rlim_max = 4096 };

	ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &rl));
	for (int i = 0; i < 1024; i++) {
		fds[i] = eventfd(0, EFD_CLOEXEC);
		ASSERT_LE(0, fds[i]);
		ASSERT_EQ(0, _irqfd(self->g, fds[i], -1, VIRTBE_IRQ_EDGE,
				    i % 1024, 0));
	}
	extra = eventfd(0, EFD_CLOEXEC);
	EXPECT_EQ(-ENOSPC, _irqfd(self->g, extra, -1, VIRTBE_IRQ_EDGE, 1, 0));
	for (int i = 0; i < 1024; i++)
		close(fds[i]);
	/* EPOLLHUP removes them asynchronously. */
	for (int tries = 0; tries < 200; tries++) {
		if (!_irqfd(self->g, extra, -1, VIRTBE_IRQ_EDGE, 1, 0))
			break;
		usleep(10000);
	}
	EXPECT_EQ(0, _irqfd(self->g, extra, -1, VIRTBE_IRQ_EDGE, 1,
			    VIRTBE_IRQFD_DEASSIGN));
	close(extra);
}

TEST_F(sim, irqfd_chained_eventfds)
{
	/* The frontend's eventfd is the irqfd's own: must not deadlock. */
	int call = eventfd(0, EFD_CLOEXEC);
	struct virtbe_sim_irq_state st;

	ASSERT_EQ(0, _bind_irq(self->sg, VIRTBE_IRQ_EDGE, 4, call));
	ASSERT_EQ(0, _irqfd(self->g, call, -1, VIRTBE_IRQ_EDGE, 4, 0));
	eventfd_kick(call);
	usleep(100000);
	ASSERT_EQ(0, _irq_state(self->sg, VIRTBE_IRQ_EDGE, 4, false, &st));
	EXPECT_LE(1, st.out_count);
	/* Unbind before close: it would ping-pong forever otherwise. */
	{
		struct virtbe_sim_bind_irq b = {
			.size = sizeof(b), .flags = VIRTBE_SIM_BIND_IRQ_UNBIND,
			.type = VIRTBE_IRQ_EDGE, .irq = 4,
		};

		ASSERT_EQ(0, vbe_ioctl(self->sg, VIRTBE_SIM_BIND_IRQ, &b));
	}
	close(call);
}

/* ---- virtio-mmio InterruptStatus kept by the kernel ---- */

static uint32_t isr_read(struct __test_metadata *_metadata, int sg)
{
	uint64_t v = ~0ULL;
	uint32_t res = ~0U;

	EXPECT_EQ(0, _access(sg, 0, false, MMIO_BASE + 0x60, 4, &v, &res));
	EXPECT_EQ(VIRTBE_SIM_RESULT_KERNEL, res);
	return (uint32_t)v;
}

static void isr_ack(struct __test_metadata *_metadata, int sg, uint32_t bits)
{
	uint64_t v = bits;
	uint32_t res = ~0U;

	EXPECT_EQ(0, _access(sg, 0, true, MMIO_BASE + 0x64, 4, &v, &res));
	EXPECT_EQ(VIRTBE_SIM_RESULT_KERNEL, res);
}

/* Posted writes (Xen's buffered ioreqs): served in the kernel or dropped. */
TEST_F(sim, posted_writes)
{
	const uint32_t posted = VIRTBE_SIM_ACCESS_WRITE |
				VIRTBE_SIM_ACCESS_POSTED;
	int efd = eventfd(0, EFD_CLOEXEC), used = eventfd(0, EFD_CLOEXEC);
	int fe = eventfd(0, EFD_CLOEXEC);
	struct virtbe_request req;
	struct virtbe_stats st;
	uint64_t data = 1;
	uint32_t res;

	ASSERT_EQ(0, _ioeventfd(self->g, efd, MMIO_BASE + 0x50, 4, 0, 0));
	ASSERT_EQ(0, _access_flags(self->sg, 0, posted, MMIO_BASE + 0x50, 4,
				   &data, &res));
	EXPECT_EQ(VIRTBE_SIM_RESULT_IOEVENTFD, res);
	EXPECT_EQ(1, eventfd_wait(efd, 1000));

	/* Nothing in the kernel serves it: dropped, never a request. */
	ASSERT_EQ(0, _access_flags(self->sg, 0, posted, MMIO_BASE + 0x40, 4,
				   &data, &res));
	EXPECT_EQ(VIRTBE_SIM_RESULT_DROPPED, res);
	EXPECT_EQ(-ETIMEDOUT, read_request(self->g, &req, 100));
	ASSERT_EQ(0, _get_stats(self->g, &st));
	EXPECT_EQ(0, st.out_requests);

	/* InterruptACK of a kernel-kept InterruptStatus */
	ASSERT_EQ(0, _bind_irq(self->sg, VIRTBE_IRQ_EDGE, 6, fe));
	ASSERT_EQ(0, _irqfd_vmmio(self->g, used, -1, VIRTBE_IRQ_EDGE, 6,
				  MMIO_BASE, VIRTBE_VIRTIO_ISR_USED));
	eventfd_kick(used);
	EXPECT_EQ(1, eventfd_wait(fe, 1000));
	EXPECT_EQ(VIRTBE_VIRTIO_ISR_USED, isr_read(_metadata, self->sg));
	data = VIRTBE_VIRTIO_ISR_USED;
	ASSERT_EQ(0, _access_flags(self->sg, 0, posted, MMIO_BASE + 0x64, 4,
				   &data, &res));
	EXPECT_EQ(VIRTBE_SIM_RESULT_KERNEL, res);
	EXPECT_EQ(0, isr_read(_metadata, self->sg));

	/* Outside the claimed range, as for any access */
	ASSERT_EQ(0, _access_flags(self->sg, 0, posted,
				   MMIO_BASE + MMIO_SIZE, 4, &data, &res));
	EXPECT_EQ(VIRTBE_SIM_RESULT_UNCLAIMED, res);
	/* A posted read does not exist */
	EXPECT_EQ(-EINVAL, _access_flags(self->sg, 0, VIRTBE_SIM_ACCESS_POSTED,
					 MMIO_BASE + 0x40, 4, &data, &res));
	close(efd);
	close(used);
	close(fe);
}

TEST_F(sim, virtio_isr_edge)
{
	int used = eventfd(0, EFD_CLOEXEC), cfg = eventfd(0, EFD_CLOEXEC);
	int fe = eventfd(0, EFD_CLOEXEC), other = eventfd(0, EFD_CLOEXEC);
	struct virtbe_info info = { .size = sizeof(info) };

	ASSERT_EQ(0, vbe_ioctl(self->ctl, VIRTBE_GET_INFO, &info));
	EXPECT_TRUE(info.out_features & VIRTBE_F_VIRTIO_MMIO_ISR);
	ASSERT_EQ(0, _bind_irq(self->sg, VIRTBE_IRQ_EDGE, 6, fe));
	/* Bad bindings. */
	EXPECT_EQ(-EINVAL, _irqfd_vmmio(self->g, used, -1, VIRTBE_IRQ_EDGE, 6,
					MMIO_BASE, 0));
	EXPECT_EQ(-EINVAL, _irqfd_vmmio(self->g, used, -1, VIRTBE_IRQ_EDGE, 6,
					MMIO_BASE, 4));
	EXPECT_EQ(-EINVAL, _irqfd_vmmio(self->g, used, -1, VIRTBE_IRQ_EDGE, 6,
					MMIO_BASE + 0x10, 1));
	EXPECT_EQ(-EINVAL, _irqfd_vmmio(self->g, used, -1, VIRTBE_IRQ_EDGE, 6,
					0x20000000, 1));
	EXPECT_EQ(-EINVAL, _irqfd_vmmio(self->g, used, -1, VIRTBE_IRQ_EDGE, 6,
					MMIO_BASE + MMIO_SIZE - 0x80, 1));
	{
		struct virtbe_irqfd i = {
			.size = sizeof(i), .fd = used, .resamplefd = -1,
			.type = VIRTBE_IRQ_EDGE, .irq = 6, .isr_bits = 1,
		};

		EXPECT_EQ(-EINVAL, vbe_ioctl(self->g, VIRTBE_IRQFD, &i));
		i.isr_bits = 0;
		i.vmmio_base = MMIO_BASE;
		EXPECT_EQ(-EINVAL, vbe_ioctl(self->g, VIRTBE_IRQFD, &i));
	}
	ASSERT_EQ(0, _irqfd_vmmio(self->g, used, -1, VIRTBE_IRQ_EDGE, 6,
				  MMIO_BASE, VIRTBE_VIRTIO_ISR_USED));
	ASSERT_EQ(0, _irqfd_vmmio(self->g, cfg, -1, VIRTBE_IRQ_EDGE, 6,
				  MMIO_BASE, VIRTBE_VIRTIO_ISR_CONFIG));
	/* Same device, another interrupt: refused. */
	EXPECT_EQ(-EINVAL, _irqfd_vmmio(self->g, other, -1, VIRTBE_IRQ_EDGE, 7,
					MMIO_BASE, VIRTBE_VIRTIO_ISR_USED));

	EXPECT_EQ(0, isr_read(_metadata, self->sg));
	eventfd_kick(used);
	EXPECT_EQ(1, eventfd_wait(fe, 1000));
	EXPECT_EQ(VIRTBE_VIRTIO_ISR_USED, isr_read(_metadata, self->sg));
	eventfd_kick(cfg);
	EXPECT_EQ(1, eventfd_wait(fe, 1000));
	EXPECT_EQ(VIRTBE_VIRTIO_ISR_USED | VIRTBE_VIRTIO_ISR_CONFIG,
		  isr_read(_metadata, self->sg));
	isr_ack(_metadata, self->sg, VIRTBE_VIRTIO_ISR_USED);
	EXPECT_EQ(VIRTBE_VIRTIO_ISR_CONFIG, isr_read(_metadata, self->sg));
	isr_ack(_metadata, self->sg, ~0U);
	EXPECT_EQ(0, isr_read(_metadata, self->sg));
	/* A device reset clears it, and the Status write reaches us. */
	eventfd_kick(used);
	EXPECT_EQ(1, eventfd_wait(fe, 1000));
	EXPECT_EQ(VIRTBE_VIRTIO_ISR_USED, isr_read(_metadata, self->sg));
	{
		struct vcpu_thread t = {
			.sg = self->sg, .write = true,
			.addr = MMIO_BASE + 0x70, .len = 4, .data = 0,
		};
		struct virtbe_request req;

		ASSERT_EQ(0, vcpu_start(&t));
		ASSERT_EQ(0, read_request(self->g, &req, 2000));
		EXPECT_EQ(MMIO_BASE + 0x70, req.addr);
		ASSERT_EQ(0, complete_request(self->g, req.id, 0));
		ASSERT_EQ(0, vcpu_join(&t));
	}
	EXPECT_EQ(0, isr_read(_metadata, self->sg));

	/* Once no irqfd names the device, the registers reach userspace. */
	ASSERT_EQ(0, _irqfd(self->g, used, -1, 0, 0, VIRTBE_IRQFD_DEASSIGN));
	EXPECT_EQ(0, isr_read(_metadata, self->sg));
	ASSERT_EQ(0, _irqfd(self->g, cfg, -1, 0, 0, VIRTBE_IRQFD_DEASSIGN));
	{
		struct vcpu_thread t = {
			.sg = self->sg, .addr = MMIO_BASE + 0x60, .len = 4,
		};
		struct virtbe_request req;

		ASSERT_EQ(0, vcpu_start(&t));
		ASSERT_EQ(0, read_request(self->g, &req, 2000));
		ASSERT_EQ(0, complete_request(self->g, req.id, 5));
		ASSERT_EQ(0, vcpu_join(&t));
		EXPECT_EQ(VIRTBE_SIM_RESULT_BACKEND, t.result);
		EXPECT_EQ(5, t.data);
	}
	close(used);
	close(cfg);
	close(fe);
	close(other);
}

struct kick_thread_arg {
	int efd, n;
};

static void *kick_many(void *arg)
{
	struct kick_thread_arg *a = arg;

	for (int i = 0; i < a->n; i++)
		eventfd_kick(a->efd);
	return NULL;
}

TEST_F(sim, virtio_isr_race_with_ack)
{
	/* Signals from another thread never get lost against ACKs. */
	int used = eventfd(0, EFD_CLOEXEC), fe = eventfd(0, EFD_CLOEXEC);
	struct kick_thread_arg a = { .efd = used, .n = 300 };
	pthread_t th;

	ASSERT_EQ(0, _bind_irq(self->sg, VIRTBE_IRQ_EDGE, 6, fe));
	ASSERT_EQ(0, _irqfd_vmmio(self->g, used, -1, VIRTBE_IRQ_EDGE, 6,
				  MMIO_BASE, VIRTBE_VIRTIO_ISR_USED));
	ASSERT_EQ(0, pthread_create(&th, NULL, kick_many, &a));
	for (int i = 0; i < 300; i++) {
		uint32_t isr = isr_read(_metadata, self->sg);

		if (isr)
			isr_ack(_metadata, self->sg, isr);
	}
	pthread_join(th, NULL);
	/* The last interrupt's cause is still visible until acknowledged. */
	while (eventfd_wait(fe, 200) > 0)
		;
	eventfd_kick(used);
	EXPECT_LT(0, eventfd_wait(fe, 1000));
	EXPECT_EQ(VIRTBE_VIRTIO_ISR_USED, isr_read(_metadata, self->sg));
	close(used);
	close(fe);
}

TEST_F(sim, virtio_isr_level_reraised_at_resample)
{
	int used = eventfd(0, EFD_CLOEXEC), rs = eventfd(0, EFD_CLOEXEC);
	int fe = eventfd(0, EFD_CLOEXEC);
	struct virtbe_sim_irq_state st;

	ASSERT_EQ(0, _bind_irq(self->sg, VIRTBE_IRQ_LEVEL, 8, fe));
	ASSERT_EQ(0, _irqfd_vmmio(self->g, used, rs, VIRTBE_IRQ_LEVEL, 8,
				  MMIO_BASE, VIRTBE_VIRTIO_ISR_USED));
	eventfd_kick(used);
	EXPECT_EQ(1, eventfd_wait(fe, 1000));
	/* EOI without acknowledging the cause: the line comes back. */
	ASSERT_EQ(0, _irq_state(self->sg, VIRTBE_IRQ_LEVEL, 8, true, &st));
	EXPECT_EQ(1, eventfd_wait(rs, 1000));
	EXPECT_EQ(1, eventfd_wait(fe, 1000));
	ASSERT_EQ(0, _irq_state(self->sg, VIRTBE_IRQ_LEVEL, 8, false, &st));
	EXPECT_EQ(1, st.out_level);
	EXPECT_EQ(2, st.out_count);
	/* Acknowledge, then EOI: the line stays low. */
	isr_ack(_metadata, self->sg, VIRTBE_VIRTIO_ISR_USED);
	ASSERT_EQ(0, _irq_state(self->sg, VIRTBE_IRQ_LEVEL, 8, true, &st));
	EXPECT_EQ(0, st.out_level);
	EXPECT_EQ(2, st.out_count);
	close(used);
	close(rs);
	close(fe);
}

/* The level line follows InterruptStatus (Xen tells nobody of EOIs). */
TEST_F(sim, virtio_isr_level_lowered_when_acknowledged)
{
	int used = eventfd(0, EFD_CLOEXEC), cfg = eventfd(0, EFD_CLOEXEC);
	int rs = eventfd(0, EFD_CLOEXEC), fe = eventfd(0, EFD_CLOEXEC);
	struct virtbe_sim_irq_state st;
	struct vcpu_thread t = {
		.sg = self->sg, .write = true,
		.addr = MMIO_BASE + 0x70, .len = 4, .data = 0,
	};
	struct virtbe_request req;

	ASSERT_EQ(0, _bind_irq(self->sg, VIRTBE_IRQ_LEVEL, 9, fe));
	ASSERT_EQ(0, _irqfd_vmmio(self->g, used, rs, VIRTBE_IRQ_LEVEL, 9,
				  MMIO_BASE, VIRTBE_VIRTIO_ISR_USED));
	ASSERT_EQ(0, _irqfd_vmmio(self->g, cfg, rs, VIRTBE_IRQ_LEVEL, 9,
				  MMIO_BASE, VIRTBE_VIRTIO_ISR_CONFIG));
	eventfd_kick(used);
	eventfd_kick(cfg);
	EXPECT_EQ(1, eventfd_wait(fe, 1000));
	ASSERT_EQ(0, _irq_state(self->sg, VIRTBE_IRQ_LEVEL, 9, false, &st));
	EXPECT_EQ(1, st.out_level);
	/* One cause left: still up. */
	isr_ack(_metadata, self->sg, VIRTBE_VIRTIO_ISR_USED);
	ASSERT_EQ(0, _irq_state(self->sg, VIRTBE_IRQ_LEVEL, 9, false, &st));
	EXPECT_EQ(1, st.out_level);
	/* None left: down, with no EOI. */
	isr_ack(_metadata, self->sg, VIRTBE_VIRTIO_ISR_CONFIG);
	ASSERT_EQ(0, _irq_state(self->sg, VIRTBE_IRQ_LEVEL, 9, false, &st));
	EXPECT_EQ(0, st.out_level);
	/* A new cause raises it again; a device reset lowers it. */
	eventfd_kick(used);
	EXPECT_EQ(1, eventfd_wait(fe, 1000));
	ASSERT_EQ(0, _irq_state(self->sg, VIRTBE_IRQ_LEVEL, 9, false, &st));
	EXPECT_EQ(1, st.out_level);
	ASSERT_EQ(0, vcpu_start(&t));
	ASSERT_EQ(0, read_request(self->g, &req, 2000));
	EXPECT_EQ(MMIO_BASE + 0x70, req.addr);
	ASSERT_EQ(0, complete_request(self->g, req.id, 0));
	ASSERT_EQ(0, vcpu_join(&t));
	ASSERT_EQ(0, _irq_state(self->sg, VIRTBE_IRQ_LEVEL, 9, false, &st));
	EXPECT_EQ(0, st.out_level);
	EXPECT_EQ(0, isr_read(_metadata, self->sg));
	EXPECT_EQ(2, st.out_count);
	close(used);
	close(cfg);
	close(rs);
	close(fe);
}

/* ---- Fault injection ---- */

TEST_F(sim, fault_drop_and_delay_irq)
{
	int call = eventfd(0, EFD_CLOEXEC), fe = eventfd(0, EFD_CLOEXEC);
	uint64_t t0;

	ASSERT_EQ(0, _bind_irq(self->sg, VIRTBE_IRQ_EDGE, 2, fe));
	ASSERT_EQ(0, _irqfd(self->g, call, -1, VIRTBE_IRQ_EDGE, 2, 0));
	ASSERT_EQ(0, _sim_fault(self->sg, VIRTBE_SIM_FAULT_DROP_IRQ, 1));
	eventfd_kick(call);
	EXPECT_EQ(-ETIMEDOUT, eventfd_wait(fe, 50));
	eventfd_kick(call);
	EXPECT_EQ(1, eventfd_wait(fe, 1000));

	ASSERT_EQ(0, _sim_fault(self->sg, VIRTBE_SIM_FAULT_DELAY_IRQ, 200));
	t0 = now_ns();
	eventfd_kick(call);
	EXPECT_EQ(1, eventfd_wait(fe, 3000));
	EXPECT_LE(150, (now_ns() - t0) / 1000000);
	EXPECT_EQ(-EINVAL, _sim_fault(self->sg, VIRTBE_SIM_FAULT_DELAY_IRQ,
				      10001));
	EXPECT_EQ(-EINVAL, _sim_fault(self->sg, 77, 1));
	close(call);
	close(fe);
}

TEST_F(sim, fault_delay_completion)
{
	struct vcpu_thread t = {
		.sg = self->sg, .vcpu = 0, .addr = MMIO_BASE, .len = 4,
	};
	struct virtbe_request req;
	uint64_t t0;

	ASSERT_EQ(0, _sim_fault(self->sg, VIRTBE_SIM_FAULT_DELAY_COMPLETION,
				150));
	ASSERT_EQ(0, vcpu_start(&t));
	ASSERT_EQ(0, read_request(self->g, &req, 2000));
	t0 = now_ns();
	ASSERT_EQ(0, complete_request(self->g, req.id, 42));
	ASSERT_EQ(0, vcpu_join(&t));
	EXPECT_LE(120, (now_ns() - t0) / 1000000);
	EXPECT_EQ(42, t.data);
}

TEST_F(sim, fault_drop_event)
{
	struct virtbe_stats st;
	uint64_t data = 0;
	uint32_t res;

	ASSERT_EQ(0, _sim_fault(self->sg, VIRTBE_SIM_FAULT_DROP_EVENT, 1));
	ASSERT_EQ(0, _access(self->sg, 0, false, MMIO_BASE, 4, &data, &res));
	EXPECT_EQ(VIRTBE_SIM_RESULT_ABORTED, res);
	EXPECT_EQ(0xffffffffULL, data);
	ASSERT_EQ(0, _get_stats(self->g, &st));
	EXPECT_EQ(0, st.out_requests);
}

/* ---- Module lifetime ---- */

TEST_F(sim, module_unload_refused_while_in_use)
{
	if (access("/sys/module/virtbe_sim", F_OK))
		SKIP(return, "virtbe_sim is not a loaded module here");
	errno = 0;
	EXPECT_EQ(-1, syscall(SYS_delete_module, "virtbe_sim", O_NONBLOCK));
	EXPECT_TRUE(errno == EWOULDBLOCK || errno == EBUSY);
	EXPECT_EQ(-1, syscall(SYS_delete_module, "virtbe", O_NONBLOCK));
	EXPECT_TRUE(errno == EWOULDBLOCK || errno == EBUSY);
	/* Still working. */
	EXPECT_EQ(0, access("/dev/virtbe", F_OK));
}

/* The Xen backend refuses to load where there is no Xen to serve. */
TEST(xen_backend_refuses_without_xen)
{
	const char *ko = "/virtbe/ko/virtbe_xen.ko";
	int fd;

	if (!access("/proc/xen", F_OK) || !access("/sys/hypervisor/type", F_OK))
		SKIP(return, "running under a hypervisor that may be Xen");
	fd = open(ko, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		SKIP(return, "%s not packed in this VM", ko);
	EXPECT_EQ(-1, syscall(SYS_finit_module, fd, "", 0));
	EXPECT_EQ(ENODEV, errno);
	EXPECT_NE(0, access("/sys/module/virtbe_xen", F_OK));
	close(fd);
}

TEST_HARNESS_MAIN
