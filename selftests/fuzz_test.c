// SPDX-License-Identifier: GPL-2.0
/*
 * A structure-aware ioctl fuzzer for virtbe.  It knows every ioctl's struct
 * and every fd type (control, guest, memory, simulator control, simulator
 * guest, eventfds, memfds), fills structs with values that are mostly
 * plausible and sometimes hostile, and interleaves ioctls, reads, writes,
 * closes, mmaps, munmaps, page touches and forks from several threads in
 * several processes.  It is seeded and counts calls, not time:
 *
 *   FUZZ_SEED=n     seed (default 1; the TAP output names the seed)
 *   FUZZ_CALLS=n    calls per thread (default 2500)
 *   FUZZ_THREADS=n  threads per process (default 3)
 *   FUZZ_PROCS=n    processes (default 2)
 *
 * With one thread and one process a seed replays the same call sequence;
 * with more, the interleaving adds scheduling nondeterminism.  The test
 * passes if every process finishes and the module still works afterwards;
 * the VM runner fails it on any kernel warning.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "virtbe_utils.h"

enum fdtype { T_CTL, T_GUEST, T_MEM, T_SIMCTL, T_SIMGUEST, T_EVENTFD, T_MEMFD,
	      NR_T };

#define SLOTS 8

struct pool {
	pthread_mutex_t lock;
	int fd[NR_T][SLOTS];
	uint64_t guest_id[SLOTS];	/* of T_SIMGUEST slots */
};

static struct pool pool = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* What the run reached, shared by all processes (MAP_SHARED). */
enum { S_IOCTL_OK, S_IOCTL_ERR, S_FD_NEW, S_MMAP_OK, S_SIGBUS, S_REQ_READ,
       S_REQ_DONE, S_FORK, NR_S };
static const char *const stat_name[NR_S] = {
	"ioctl ok", "ioctl err", "new fds", "mmaps", "SIGBUS", "requests read",
	"requests completed", "forks",
};
static uint64_t *stats;

static void count(int what, uint64_t n)
{
	__atomic_add_fetch(&stats[what], n, __ATOMIC_RELAXED);
}
static long calls_per_thread = 2500;

static __thread uint64_t rng;
static __thread sigjmp_buf bus_jmp;
static __thread volatile int bus_armed;

static uint64_t rnd(void)
{
	/* xorshift64* */
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545F4914F6CDD1DULL;
}

static uint64_t below(uint64_t n)
{
	return n ? rnd() % n : 0;
}

static bool chance(unsigned int pct)
{
	return below(100) < pct;
}

/* Interesting values for a field of a given width. */
static uint64_t fuzz_u64(uint64_t plausible)
{
	static const uint64_t edge[] = {
		0, 1, 2, 3, 4, 7, 8, 0xfff, 0x1000, 0x1001, 0x7fffffff,
		0x80000000, 0xffffffff, 0x100000000ULL, ~0ULL, ~0ULL - 0xfff,
		1ULL << 63, 0x10000000, 0x10000050, 0x10000060, 0x10000064,
	};

	if (chance(75))
		return plausible;
	if (chance(50))
		return edge[below(sizeof(edge) / sizeof(edge[0]))];
	return rnd();
}

static int pick_fd(enum fdtype t)
{
	int fd;

	pthread_mutex_lock(&pool.lock);
	fd = pool.fd[t][below(SLOTS)];
	pthread_mutex_unlock(&pool.lock);
	return fd;
}

static int any_fd(void)
{
	if (chance(5))
		return (int)fuzz_u64(-1);
	return pick_fd(below(NR_T));
}

static uint64_t pick_guest_id(void)
{
	uint64_t id;

	pthread_mutex_lock(&pool.lock);
	id = pool.guest_id[below(SLOTS)];
	pthread_mutex_unlock(&pool.lock);
	return fuzz_u64(id);
}

/* Store a new fd in a slot, closing what was there (a racing close). */
static void put_fd(enum fdtype t, int fd, uint64_t id)
{
	int slot = below(SLOTS), old;

	if (fd < 0)
		return;
	count(S_FD_NEW, 1);
	pthread_mutex_lock(&pool.lock);
	old = pool.fd[t][slot];
	pool.fd[t][slot] = fd;
	if (t == T_SIMGUEST)
		pool.guest_id[slot] = id;
	pthread_mutex_unlock(&pool.lock);
	if (old >= 0)
		close(old);
}

static void close_random(void)
{
	enum fdtype t = below(NR_T);
	int slot = below(SLOTS), old;

	pthread_mutex_lock(&pool.lock);
	old = pool.fd[t][slot];
	pool.fd[t][slot] = -1;
	pthread_mutex_unlock(&pool.lock);
	if (old >= 0)
		close(old);
}

static uint32_t fuzz_size(uint32_t size)
{
	if (chance(85))
		return size;
	switch (below(4)) {
	case 0: return size - 1 - below(size);
	case 1: return size + 8;
	case 2: return 0;
	default: return (uint32_t)rnd();
	}
}

static uint32_t fuzz_flags(uint32_t valid)
{
	if (chance(70))
		return valid & rnd();
	return (uint32_t)rnd();
}

static void do_ioctl(int fd, unsigned long cmd, void *arg, size_t len)
{
	/* The struct sits in a buffer with a zero or random tail. */
	uint8_t buf[256] = { 0 };
	void *p = buf;

	memcpy(buf, arg, len);
	if (chance(5))
		for (size_t i = len; i < len + 16; i++)
			buf[i] = (uint8_t)rnd();
	if (chance(2))
		p = NULL;
	int ret = ioctl(fd, cmd, p);

	count(ret >= 0 ? S_IOCTL_OK : S_IOCTL_ERR, 1);
	if (ret >= 0 && (cmd == VIRTBE_ATTACH || cmd == VIRTBE_MEM_MAP ||
			 cmd == VIRTBE_SIM_CREATE)) {
		enum fdtype t = cmd == VIRTBE_ATTACH ? T_GUEST :
				cmd == VIRTBE_MEM_MAP ? T_MEM : T_SIMGUEST;
		uint64_t id = 0;

		if (cmd == VIRTBE_SIM_CREATE)
			id = ((struct virtbe_sim_create *)buf)->out_guest_id;
		put_fd(t, ret, id);
	}
}

static void op_core_ioctl(void)
{
	switch (below(8)) {
	case 0: {
		struct virtbe_info c = {
			.size = fuzz_size(sizeof(c)), .flags = fuzz_flags(0),
			.hyp = fuzz_u64(below(3)),
		};

		do_ioctl(chance(50) ? pick_fd(T_CTL) : any_fd(),
			 VIRTBE_GET_INFO, &c, sizeof(c));
		break;
	}
	case 1: {
		struct virtbe_attach c = {
			.size = fuzz_size(sizeof(c)), .flags = fuzz_flags(0),
			.hyp = fuzz_u64(VIRTBE_HYP_SIM),
			.request_timeout_ms = chance(95) ? 1 + below(30) :
					      fuzz_u64(0),
			.guest_id = pick_guest_id(),
		};

		do_ioctl(chance(90) ? pick_fd(T_CTL) : any_fd(),
			 VIRTBE_ATTACH, &c, sizeof(c));
		break;
	}
	case 2: {
		struct virtbe_mem_map c = {
			.size = fuzz_size(sizeof(c)),
			.flags = fuzz_flags(VIRTBE_MEM_MAP_RDONLY),
			.gpa = fuzz_u64(below(16) << 12),
			.len = fuzz_u64((1 + below(16)) << 12),
		};

		do_ioctl(chance(90) ? pick_fd(T_GUEST) : any_fd(),
			 VIRTBE_MEM_MAP, &c, sizeof(c));
		break;
	}
	case 3: {
		struct virtbe_range c = {
			.size = fuzz_size(sizeof(c)),
			.flags = fuzz_flags(VIRTBE_RANGE_PIO |
					    VIRTBE_RANGE_RELEASE),
			.addr = fuzz_u64(MMIO_BASE + (below(4) << 12)),
			.len = fuzz_u64(0x1000),
		};

		do_ioctl(chance(90) ? pick_fd(T_GUEST) : any_fd(),
			 VIRTBE_CLAIM_RANGE, &c, sizeof(c));
		break;
	}
	case 4: {
		static const uint32_t lens[] = { 0, 1, 2, 4, 8 };
		struct virtbe_ioeventfd c = {
			.size = fuzz_size(sizeof(c)),
			.flags = fuzz_flags(VIRTBE_IOEVENTFD_DATAMATCH |
					    VIRTBE_IOEVENTFD_PIO |
					    VIRTBE_IOEVENTFD_DEASSIGN),
			.fd = chance(90) ? pick_fd(T_EVENTFD) : any_fd(),
			.len = fuzz_u64(lens[below(5)]),
			.addr = fuzz_u64(MMIO_BASE + 0x50 + 4 * below(4)),
			.datamatch = fuzz_u64(below(4)),
		};

		do_ioctl(chance(90) ? pick_fd(T_GUEST) : any_fd(),
			 VIRTBE_IOEVENTFD, &c, sizeof(c));
		break;
	}
	case 5: {
		uint32_t type = fuzz_u64(1 + below(4));
		struct virtbe_irqfd c = {
			.size = fuzz_size(sizeof(c)),
			.flags = fuzz_flags(VIRTBE_IRQFD_DEASSIGN |
					    VIRTBE_IRQFD_VIRTIO_MMIO),
			.fd = chance(90) ? pick_fd(T_EVENTFD) : any_fd(),
			.resamplefd = type == VIRTBE_IRQ_LEVEL ?
				pick_fd(T_EVENTFD) : (int)fuzz_u64(-1),
			.type = type, .irq = fuzz_u64(below(8)),
			.isr_bits = fuzz_u64(1 + below(3)),
			.vmmio_base = fuzz_u64(MMIO_BASE),
		};

		do_ioctl(chance(90) ? pick_fd(T_GUEST) : any_fd(),
			 VIRTBE_IRQFD, &c, sizeof(c));
		break;
	}
	case 6: {
		struct virtbe_stats c = {
			.size = fuzz_size(sizeof(c)), .flags = fuzz_flags(0),
		};

		do_ioctl(any_fd(), VIRTBE_GET_STATS, &c, sizeof(c));
		break;
	}
	default: {
		/* An ioctl number of ours the fd may not know. */
		uint8_t junk[64];

		for (size_t i = 0; i < sizeof(junk); i++)
			junk[i] = (uint8_t)rnd();
		((uint32_t *)junk)[0] = fuzz_size(64);
		do_ioctl(any_fd(), _IO(VIRTBE_TYPE, below(0x50)), junk,
			 sizeof(junk));
	}
	}
}

static void op_sim_ioctl(void)
{
	int sg = chance(90) ? pick_fd(T_SIMGUEST) : any_fd();

	switch (below(7)) {
	case 0: {
		struct virtbe_sim_create c = {
			.size = fuzz_size(sizeof(c)), .flags = fuzz_flags(0),
			.nr_vcpus = fuzz_u64(1 + below(4)),
		};

		do_ioctl(chance(90) ? pick_fd(T_SIMCTL) : any_fd(),
			 VIRTBE_SIM_CREATE, &c, sizeof(c));
		break;
	}
	case 1: {
		struct virtbe_sim_ram c = {
			.size = fuzz_size(sizeof(c)), .flags = fuzz_flags(0),
			.memfd = chance(90) ? pick_fd(T_MEMFD) : any_fd(),
			.gpa = fuzz_u64(below(8) << 16),
			.len = fuzz_u64(1 << 16), .offset = fuzz_u64(0),
		};

		do_ioctl(sg, VIRTBE_SIM_ADD_RAM, &c, sizeof(c));
		break;
	}
	case 2: {
		static const uint32_t lens[] = { 1, 2, 4, 8 };
		struct virtbe_sim_access c = {
			.size = fuzz_size(sizeof(c)),
			.flags = fuzz_flags(VIRTBE_SIM_ACCESS_WRITE |
					    VIRTBE_SIM_ACCESS_PIO),
			.vcpu = fuzz_u64(below(4)), .len = fuzz_u64(lens[below(4)]),
			.addr = fuzz_u64(MMIO_BASE + 4 * below(0x20)),
			.data = fuzz_u64(below(4)),
		};

		do_ioctl(sg, VIRTBE_SIM_ACCESS, &c, sizeof(c));
		break;
	}
	case 3: {
		struct virtbe_sim_bind_irq c = {
			.size = fuzz_size(sizeof(c)),
			.flags = fuzz_flags(VIRTBE_SIM_BIND_IRQ_UNBIND),
			.type = fuzz_u64(1 + below(3)), .irq = fuzz_u64(below(8)),
			.fd = chance(90) ? pick_fd(T_EVENTFD) : any_fd(),
		};

		do_ioctl(sg, VIRTBE_SIM_BIND_IRQ, &c, sizeof(c));
		break;
	}
	case 4: {
		struct virtbe_sim_irq_state c = {
			.size = fuzz_size(sizeof(c)),
			.flags = fuzz_flags(VIRTBE_SIM_IRQ_EOI),
			.type = fuzz_u64(1 + below(3)), .irq = fuzz_u64(below(8)),
		};

		do_ioctl(sg, VIRTBE_SIM_IRQ_STATE, &c, sizeof(c));
		break;
	}
	case 5: {
		struct virtbe_sim_fault c = {
			.size = fuzz_size(sizeof(c)), .flags = fuzz_flags(0),
			.fault = fuzz_u64(1 + below(5)),
			.arg = fuzz_u64(below(3) * (chance(50) ? 1 : 5)),
		};

		do_ioctl(sg, VIRTBE_SIM_FAULT, &c, sizeof(c));
		break;
	}
	default: {
		struct virtbe_sim_destroy c = {
			.size = fuzz_size(sizeof(c)), .flags = fuzz_flags(0),
		};

		if (chance(20))
			do_ioctl(sg, VIRTBE_SIM_DESTROY, &c, sizeof(c));
	}
	}
}

/* Answer (or mis-answer) whatever the request channel holds. */
static void op_channel(void)
{
	struct virtbe_request req[4];
	struct virtbe_completion c[4];
	int g = chance(90) ? pick_fd(T_GUEST) : any_fd();
	struct pollfd p = { .fd = g, .events = POLLIN };
	ssize_t n;
	int k;

	if (poll(&p, 1, 0) != 1 || !(p.revents & POLLIN)) {
		if (chance(10) && write(g, c, sizeof(c[0])) < 0)
			return;
		return;
	}
	n = read(g, req, chance(5) ? 8 : sizeof(req));
	if (n <= 0)
		return;
	k = n / sizeof(req[0]);
	count(S_REQ_READ, k);
	for (int i = 0; i < k; i++)
		c[i] = (struct virtbe_completion) {
			.size = fuzz_size(sizeof(c[0])),
			.flags = fuzz_flags(0),
			.id = chance(90) ? req[i].id : rnd(),
			.data = rnd(),
		};
	n = write(g, c, k * sizeof(c[0]));
	if (n > 0)
		count(S_REQ_DONE, n / sizeof(c[0]));
}

static void bus_handler(int sig)
{
	count(S_SIGBUS, 1);
	if (bus_armed)
		siglongjmp(bus_jmp, 1);
	_exit(3);
}

static void op_mmap(void)
{
	int fd = pick_fd(chance(80) ? T_MEM : T_MEMFD);
	size_t len = (1 + below(4)) << 12;
	int prot = PROT_READ | (chance(70) ? PROT_WRITE : 0);
	uint8_t *p = mmap(NULL, len, prot,
			  chance(95) ? MAP_SHARED : MAP_PRIVATE, fd,
			  below(4) << 12);

	if (p == MAP_FAILED)
		return;
	count(S_MMAP_OK, 1);
	if (!sigsetjmp(bus_jmp, 1)) {
		bus_armed = 1;
		for (size_t o = 0; o < len; o += 4096) {
			if (prot & PROT_WRITE)
				p[o] = (uint8_t)rnd();
			else
				(void)*(volatile uint8_t *)(p + o);
			if (chance(5))
				close_random();
		}
	}
	bus_armed = 0;
	if (chance(30))
		munmap(p, len);
	else
		munmap(p + 4096 * below(len / 4096), 4096);
}

static void op_new_fd(void)
{
	switch (below(5)) {
	case 0:
		put_fd(T_CTL, open("/dev/virtbe", O_RDWR | O_CLOEXEC), 0);
		break;
	case 1:
		put_fd(T_SIMCTL, open("/dev/virtbe_sim", O_RDWR | O_CLOEXEC), 0);
		break;
	case 2:
		put_fd(T_EVENTFD, eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK), 0);
		break;
	case 3:
		put_fd(T_MEMFD, memfd_ram(1 << 18), 0);
		break;
	default: {
		/* A complete little guest: create, RAM, attach, claim. */
		uint64_t id;
		int simctl = pick_fd(T_SIMCTL), sg, g;
		int memfd = pick_fd(T_MEMFD);

		sg = _sim_create(simctl, 1 + below(4), &id);
		if (sg < 0)
			return;
		_sim_add_ram(sg, memfd, 0, 1 << 16, 0);
		g = _attach(pick_fd(T_CTL), VIRTBE_HYP_SIM, id, 1 + below(20));
		if (g >= 0) {
			_claim(g, 0, MMIO_BASE, 0x4000);
			_sim_fault(sg, VIRTBE_SIM_FAULT_DROP_EVENT, 0);
			put_fd(T_GUEST, g, 0);
		}
		put_fd(T_SIMGUEST, sg, id);
	}
	}
}

static void op_kick(void)
{
	int efd = pick_fd(T_EVENTFD);
	uint64_t v = 1 + below(3);

	if (efd >= 0 && write(efd, &v, sizeof(v)) < 0)
		return;
	if (efd >= 0 && chance(50) && read(efd, &v, sizeof(v)) < 0)
		return;
}

static void op_fork(void)
{
	pid_t pid = fork();

	count(S_FORK, 1);
	if (pid == 0) {
		/*
		 * The child inherits every fd; a few calls, then exit.  Another
		 * thread may have held the pool's lock at fork time.
		 */
		pthread_mutex_init(&pool.lock, NULL);
		rng += 0x9e3779b97f4a7c15ULL;
		for (int i = 0; i < 20; i++) {
			if (chance(50))
				op_core_ioctl();
			else
				op_sim_ioctl();
		}
		_exit(0);
	}
	if (pid > 0)
		waitpid(pid, NULL, 0);
}

static void fuzz_one(void)
{
	unsigned int r = below(100);

	if (r < 30)
		op_core_ioctl();
	else if (r < 55)
		op_sim_ioctl();
	else if (r < 67)
		op_channel();
	else if (r < 77)
		op_mmap();
	else if (r < 87)
		op_new_fd();
	else if (r < 93)
		op_kick();
	else if (r < 99)
		close_random();
	else
		op_fork();
}

struct worker {
	pthread_t tid;
	uint64_t seed;
};

static void *worker_fn(void *arg)
{
	struct worker *w = arg;

	rng = w->seed | 1;
	for (long i = 0; i < calls_per_thread; i++)
		fuzz_one();
	return NULL;
}

static long env_long(const char *name, long dflt)
{
	const char *s = getenv(name);

	return s ? strtol(s, NULL, 0) : dflt;
}

/* One fuzzing process: a fresh pool, nthreads workers. */
static void fuzz_process(uint64_t seed, int nthreads)
{
	struct sigaction sa = { .sa_handler = bus_handler };
	struct worker w[16];

	sigaction(SIGBUS, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	for (int t = 0; t < NR_T; t++)
		for (int s = 0; s < SLOTS; s++)
			pool.fd[t][s] = -1;
	rng = seed | 1;
	/* Seed the pool so the first calls have something to work on. */
	for (int i = 0; i < 3 * SLOTS; i++)
		op_new_fd();
	for (int t = 0; t < nthreads && t < 16; t++) {
		w[t].seed = seed * 1000003ULL + t;
		pthread_create(&w[t].tid, NULL, worker_fn, &w[t]);
	}
	for (int t = 0; t < nthreads && t < 16; t++)
		pthread_join(w[t].tid, NULL);
	for (int t = 0; t < NR_T; t++)
		for (int s = 0; s < SLOTS; s++)
			if (pool.fd[t][s] >= 0)
				close(pool.fd[t][s]);
}

FIXTURE(fuzz) {
};

FIXTURE_SETUP(fuzz)
{
}

FIXTURE_TEARDOWN(fuzz)
{
}

TEST_F_TIMEOUT(fuzz, run, 900)
{
	uint64_t seed = env_long("FUZZ_SEED", 1);
	int nproc = env_long("FUZZ_PROCS", 2);
	int nthreads = env_long("FUZZ_THREADS", 3);
	struct rlimit rl = { .rlim_cur = 4096, .rlim_max = 4096 };
	uint64_t t0 = now_ns();
	pid_t pids[16];
	int failed = 0;

	SKIP_IF_NO_VIRTBE(_metadata);
	calls_per_thread = env_long("FUZZ_CALLS", 2500);
	stats = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, stats);
	setrlimit(RLIMIT_NOFILE, &rl);
	for (int p = 0; p < nproc && p < 16; p++) {
		pids[p] = fork();
		ASSERT_LE(0, pids[p]);
		if (!pids[p]) {
			fuzz_process(seed + p, nthreads);
			_exit(0);
		}
	}
	for (int p = 0; p < nproc && p < 16; p++) {
		int status;

		ASSERT_EQ(pids[p], waitpid(pids[p], &status, 0));
		if (!WIFEXITED(status) || WEXITSTATUS(status)) {
			TH_LOG("fuzz process %d (seed %llu) ended with status 0x%x",
			       p, (unsigned long long)(seed + p), status);
			failed++;
		}
	}
	TH_LOG("seed %llu: %ld calls (%d processes x %d threads) in %.1f s",
	       (unsigned long long)seed,
	       calls_per_thread * nproc * nthreads, nproc, nthreads,
	       (now_ns() - t0) / 1e9);
	for (int i = 0; i < NR_S; i++)
		TH_LOG("  %-20s %llu", stat_name[i],
		       (unsigned long long)stats[i]);
	EXPECT_EQ(0, failed);
	/* The run must reach real work, not only error paths. */
	EXPECT_LT(0, stats[S_IOCTL_OK]);
	EXPECT_LT(0, stats[S_MMAP_OK]);
	EXPECT_LT(0, stats[S_REQ_DONE]);

	/* The module still works. */
	{
		int ctl = open("/dev/virtbe", O_RDWR), simctl =
			open("/dev/virtbe_sim", O_RDWR), sg, g;
		uint64_t id, data = 0;
		uint32_t res;

		ASSERT_LE(0, ctl);
		ASSERT_LE(0, simctl);
		sg = _sim_create(simctl, 1, &id);
		ASSERT_LE(0, sg);
		g = _attach(ctl, VIRTBE_HYP_SIM, id, 0);
		ASSERT_LE(0, g);
		ASSERT_EQ(0, _access(sg, 0, false, 0x1000, 4, &data, &res));
		EXPECT_EQ(VIRTBE_SIM_RESULT_UNCLAIMED, res);
		close(g);
		close(sg);
		close(simctl);
		close(ctl);
	}
}

TEST_HARNESS_MAIN
