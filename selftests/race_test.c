// SPDX-License-Identifier: GPL-2.0
/*
 * Teardown races, each looped: the guest side never hangs past the
 * documented timeout and the kernel never warns (the VM runner checks
 * dmesg, the debug lane adds KASAN, lockdep and kmemleak).
 */
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "virtbe_utils.h"

#define LOOPS 100
#define TIMEOUT_MS 200

FIXTURE(race) {
	int ctl, simctl, sg, g, memfd;
	uint64_t id;
};

static int attach_claim(FIXTURE_DATA(race) *self)
{
	self->g = _attach(self->ctl, VIRTBE_HYP_SIM, self->id, TIMEOUT_MS);
	if (self->g < 0)
		return self->g;
	return _claim(self->g, 0, MMIO_BASE, MMIO_SIZE);
}

FIXTURE_SETUP(race)
{
	self->ctl = self->simctl = self->sg = self->g = self->memfd = -1;
	SKIP_IF_NO_VIRTBE(_metadata);
	self->ctl = open("/dev/virtbe", O_RDWR | O_CLOEXEC);
	self->simctl = open("/dev/virtbe_sim", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->ctl);
	ASSERT_LE(0, self->simctl);
	self->sg = _sim_create(self->simctl, 4, &self->id);
	ASSERT_LE(0, self->sg);
	self->memfd = memfd_ram(RAM_SIZE);
	ASSERT_EQ(0, _sim_add_ram(self->sg, self->memfd, 0, RAM_SIZE, 0));
	ASSERT_EQ(0, attach_claim(self));
}

FIXTURE_TEARDOWN(race)
{
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

TEST_F_TIMEOUT(race, close_guest_with_request_in_flight, 300)
{
	for (int i = 0; i < LOOPS; i++) {
		struct vcpu_thread t = {
			.sg = self->sg, .vcpu = i % 4, .addr = MMIO_BASE,
			.len = 4,
		};
		struct virtbe_request req;
		uint64_t t0 = now_ns();

		ASSERT_EQ(0, vcpu_start(&t));
		/* Close before, while queued, or while in flight. */
		if (i % 3 && !read_request(self->g, &req, 1000) && i % 3 == 2)
			usleep(i % 7 * 100);
		close(self->g);
		self->g = -1;
		ASSERT_EQ(0, vcpu_join(&t));
		EXPECT_EQ(0, t.ret);
		EXPECT_NE(VIRTBE_SIM_RESULT_BACKEND, t.result);
		EXPECT_GT(TIMEOUT_MS * 5, (now_ns() - t0) / 1000000);
		ASSERT_EQ(0, attach_claim(self));
	}
}

struct kicker {
	pthread_t tid;
	int efd;
	volatile bool stop;
};

static void *kicker_fn(void *arg)
{
	struct kicker *k = arg;
	uint64_t one = 1;

	while (!k->stop)
		if (write(k->efd, &one, sizeof(one)) < 0)
			break;
	return NULL;
}

TEST_F_TIMEOUT(race, deassign_irqfd_while_signalled, 300)
{
	struct kicker k = { .efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK) };
	int fe = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

	ASSERT_EQ(0, _bind_irq(self->sg, VIRTBE_IRQ_EDGE, 3, fe));
	ASSERT_EQ(0, pthread_create(&k.tid, NULL, kicker_fn, &k));
	for (int i = 0; i < LOOPS * 5; i++) {
		ASSERT_EQ(0, _irqfd(self->g, k.efd, -1, VIRTBE_IRQ_EDGE, 3, 0));
		ASSERT_EQ(0, _irqfd(self->g, k.efd, -1, VIRTBE_IRQ_EDGE, 3,
				    VIRTBE_IRQFD_DEASSIGN));
	}
	k.stop = true;
	pthread_join(k.tid, NULL);
	close(k.efd);
	close(fe);
}

TEST_F_TIMEOUT(race, close_eventfd_while_registered, 300)
{
	int fe = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

	ASSERT_EQ(0, _bind_irq(self->sg, VIRTBE_IRQ_LEVEL, 2, fe));
	for (int i = 0; i < LOOPS * 3; i++) {
		struct kicker k = {
			.efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK),
		};
		int rs = eventfd(0, EFD_CLOEXEC), io = eventfd(0, EFD_CLOEXEC);
		struct virtbe_sim_irq_state st;

		ASSERT_EQ(0, _irqfd_vmmio(self->g, k.efd, rs, VIRTBE_IRQ_LEVEL,
					  2, MMIO_BASE, 1));
		ASSERT_EQ(0, _ioeventfd(self->g, io, MMIO_BASE + 0x50, 4, 0, 0));
		ASSERT_EQ(0, pthread_create(&k.tid, NULL, kicker_fn, &k));
		_irq_state(self->sg, VIRTBE_IRQ_LEVEL, 2, true, &st);
		k.stop = true;
		pthread_join(k.tid, NULL);
		/* Closed while registered: the irqfd goes away by itself. */
		close(k.efd);
		close(rs);
		close(io);
		{
			int io2 = eventfd(0, EFD_CLOEXEC);

			/* The ioeventfd holds its eventfd: still a conflict. */
			EXPECT_EQ(-EEXIST, _ioeventfd(self->g, io2,
						      MMIO_BASE + 0x50, 4, 0, 0));
			close(io2);
		}
		/* Start clean for the next loop. */
		close(self->g);
		ASSERT_EQ(0, attach_claim(self));
	}
	close(fe);
}

static sigjmp_buf bus_jmp;
static volatile int bus_hits;

static void bus_handler(int sig)
{
	bus_hits++;
	siglongjmp(bus_jmp, 1);
}

TEST_F_TIMEOUT(race, destroy_guest_while_memory_touched, 300)
{
	for (int i = 0; i < LOOPS / 2; i++) {
		int pipefd[2], status;
		pid_t pid;
		char c;

		ASSERT_EQ(0, pipe(pipefd));
		pid = fork();
		ASSERT_LE(0, pid);
		if (!pid) {
			/* The backend: map, touch until the guest is gone. */
			struct sigaction sa = { .sa_handler = bus_handler };
			int mfd = _mem_map(self->g, 0, 1 << 20, 0);
			volatile uint8_t *p;

			if (mfd < 0)
				_exit(1);
			p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE,
				 MAP_SHARED, mfd, 0);
			if (p == MAP_FAILED)
				_exit(2);
			sigaction(SIGBUS, &sa, NULL);
			p[0] = 1;
			if (write(pipefd[1], "m", 1) != 1)
				_exit(4);
			if (!sigsetjmp(bus_jmp, 1))
				for (uint64_t n = 0;; n++)
					p[(n * 4096) % (1 << 20)] = (uint8_t)n;
			_exit(bus_hits ? 0 : 3);
		}
		ASSERT_EQ(1, read(pipefd[0], &c, 1));
		close(pipefd[0]);
		close(pipefd[1]);
		usleep(i * 200);
		/* The hypervisor destroys the guest under the backend. */
		{
			struct virtbe_sim_destroy d = { .size = sizeof(d) };

			ASSERT_EQ(0, vbe_ioctl(self->sg, VIRTBE_SIM_DESTROY, &d));
		}
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		EXPECT_TRUE(WIFEXITED(status));
		EXPECT_EQ(0, WEXITSTATUS(status));
		/* A new guest for the next round. */
		close(self->g);
		close(self->sg);
		self->sg = _sim_create(self->simctl, 4, &self->id);
		ASSERT_LE(0, self->sg);
		ASSERT_EQ(0, _sim_add_ram(self->sg, self->memfd, 0, RAM_SIZE, 0));
		ASSERT_EQ(0, attach_claim(self));
	}
}

TEST_F_TIMEOUT(race, sigkill_daemon_between_request_and_completion, 300)
{
	close(self->g);
	self->g = -1;
	for (int i = 0; i < LOOPS / 2; i++) {
		struct vcpu_thread t = {
			.sg = self->sg, .vcpu = i % 4, .addr = MMIO_BASE + 8,
			.len = 4,
		};
		int pipefd[2];
		pid_t pid;
		char c;

		ASSERT_EQ(0, pipe(pipefd));
		pid = fork();
		ASSERT_LE(0, pid);
		if (!pid) {
			/* The daemon: attach, read one request, never answer. */
			struct virtbe_request req;
			int g = _attach(self->ctl, VIRTBE_HYP_SIM, self->id,
					60000);

			if (g < 0 || _claim(g, 0, MMIO_BASE, MMIO_SIZE))
				_exit(1);
			if (write(pipefd[1], "r", 1) != 1)
				_exit(1);
			read_request(g, &req, 5000);
			pause();
			_exit(0);
		}
		ASSERT_EQ(1, read(pipefd[0], &c, 1));
		ASSERT_EQ(0, vcpu_start(&t));
		usleep(i % 5 * 2000);
		kill(pid, SIGKILL);
		ASSERT_EQ(pid, waitpid(pid, NULL, 0));
		/* The daemon's 60 s timeout does not matter: it died. */
		ASSERT_EQ(0, vcpu_join(&t));
		EXPECT_EQ(0, t.ret);
		EXPECT_NE(VIRTBE_SIM_RESULT_BACKEND, t.result);
		close(pipefd[0]);
		close(pipefd[1]);
	}
}

static void *access_loop(void *arg)
{
	struct vcpu_thread *t = arg;
	uint64_t end = now_ns() + 300000000ULL;

	while (now_ns() < end)
		vcpu_thread_fn(t);
	return NULL;
}

TEST_F_TIMEOUT(race, module_unload_under_load, 300)
{
	struct vcpu_thread t = {
		.sg = self->sg, .vcpu = 0, .write = true, .addr = MMIO_BASE + 0x50,
		.len = 4,
	};
	int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	pthread_t th;

	if (access("/sys/module/virtbe_sim", F_OK))
		SKIP(return, "virtbe_sim is not a loaded module here");
	ASSERT_EQ(0, _ioeventfd(self->g, efd, MMIO_BASE + 0x50, 4, 0, 0));
	ASSERT_EQ(0, pthread_create(&th, NULL, access_loop, &t));
	for (int i = 0; i < LOOPS; i++) {
		EXPECT_EQ(-1, syscall(SYS_delete_module, "virtbe_sim",
				      O_NONBLOCK));
		EXPECT_EQ(-1, syscall(SYS_delete_module, "virtbe", O_NONBLOCK));
	}
	pthread_join(th, NULL);
	EXPECT_EQ(0, t.ret);
	EXPECT_EQ(VIRTBE_SIM_RESULT_IOEVENTFD, t.result);
	close(efd);
}

TEST_HARNESS_MAIN
