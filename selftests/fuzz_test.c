// SPDX-License-Identifier: GPL-2.0
/*
 * Two ioctl fuzzers for virtbe, one test each, both run in forked worker
 * processes:
 *
 * fuzz.run, structure-aware and stateless: it knows every ioctl's struct
 * and every fd type (control, guest, memory, simulator control, simulator
 * guest, eventfds, memfds), fills structs with values that are mostly
 * plausible and sometimes hostile, and interleaves ioctls, reads, writes,
 * closes, mmaps, munmaps, page touches and forks from several threads in
 * several processes.  It finds what arbitrary sequences do; most of its
 * calls are refused by argument validation.
 *
 * fuzz.stateful builds valid object graphs and mutates them: simulated
 * guests with RAM and interrupt eventfds, one or several attachments
 * (guest fds) each, claimed ranges, memory windows and their mappings,
 * ioeventfds, irqfds of every kind the simulator has (edge, level with
 * resample, event channel, each also with the kernel-kept virtio-mmio
 * InterruptStatus), simulated vCPU accesses (synchronous and posted) from
 * threads of their own, a daemon thread answering the request channel
 * (valid, stale, duplicate and unknown ids, batches cut short) and daemon
 * processes (exec'd, holding a guest fd and a memory fd) killed at random;
 * then it releases, re-claims from another attachment, closes fds at random
 * moments (an fd is closed by whichever thread last used it), destroys
 * guests through the simulator while all of that runs, and tears everything
 * down.  It checks what the ABI promises (uapi/linux/virtbe.h,
 * Documentation/abi.rst), see "Invariants" below.
 *
 * Both are seeded; with more than one thread the interleaving adds
 * scheduling nondeterminism.  Knobs, from the environment:
 *
 *   FUZZ_SECS=n     time budget of each test, in seconds (default: run 60,
 *                   stateful 30; at most 1500): a slow (debug) kernel
 *                   makes fewer calls, not a longer run
 *   FUZZ_SEED=n     seed (default 1; the output names it)
 *   FUZZ_PROCS=n    worker processes (default 2, at most 8)
 *   FUZZ_THREADS=n  run: threads per process (default 3); stateful: vCPU
 *                   threads per process (default 2), besides the driver,
 *                   a daemon and an interrupt/memory thread
 *   FUZZ_CALLS=n    run: calls per thread (default 2500, 0: only the time
 *                   budget ends it)
 *
 * Counting.  Every call made on an fd of virtbe (an ioctl, a read() or
 * write() of the request channel, an mmap() of a memory fd) counts once,
 * per kind of call, with one outcome:
 *
 *   ok        it succeeded (read(): returned requests);
 *   state     it failed with an errno that only the state of an existing
 *             object yields: EEXIST, ENOENT, EBUSY, ENOSPC, ENXIO, EIO,
 *             ENOMEM, EAGAIN, EINTR, EMFILE;
 *   dead      ENODEV, or read() at end of file: it reached a guest that is
 *             gone;
 *   rejected  any other errno (EINVAL, E2BIG, EOPNOTSUPP, EFAULT, EBADF,
 *             ENOTTY, EACCES): argument validation refused it.
 *
 * A call *reached a live object* when its outcome is ok or state.  This is
 * a lower bound: EINVAL is counted as rejected also where a handler looked
 * at the object first (an irqfd's virtio-mmio device outside the claimed
 * ranges, an interrupt line the simulator does not have).  Closing fds,
 * signalling eventfds and touching mapped memory are not calls.
 *
 * The workers die with the test: each forked process sets
 * PR_SET_PDEATHSIG(SIGKILL) (and checks getppid() after it, in case the
 * parent died first), the test process itself dies with the harness
 * process that forked it (which the VM runner kills at its per-binary
 * timeout), and the workers form a process group of their own that the
 * fixture's teardown kills.
 */
#include <dirent.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "virtbe_utils.h"

#define MAX_PROCS	8
#define MAX_SECS	1500	/* the harness timeout (1800 s) less teardown */
#define GRACE_SECS	60	/* for a worker to tear down after its budget */

/* ---- Common to both tests: random numbers ---- */

static __thread uint64_t rng;

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

static long env_long(const char *name, long dflt)
{
	const char *s = getenv(name);

	return s && *s ? strtol(s, NULL, 0) : dflt;
}

/* ---- Common: counting calls, shared by all processes ---- */

enum call {
	C_GET_INFO, C_ATTACH, C_MEM_MAP, C_CLAIM_RANGE, C_IOEVENTFD, C_IRQFD,
	C_GET_STATS, C_SIM_CREATE, C_SIM_ADD_RAM, C_SIM_ACCESS,
	C_SIM_BIND_IRQ, C_SIM_IRQ_STATE, C_SIM_FAULT, C_SIM_DESTROY,
	C_OTHER_IOCTL, C_READ, C_WRITE, C_MMAP, NR_CALLS
};

static const char *const call_name[NR_CALLS] = {
	"GET_INFO", "ATTACH", "MEM_MAP", "CLAIM_RANGE", "IOEVENTFD", "IRQFD",
	"GET_STATS", "SIM_CREATE", "SIM_ADD_RAM", "SIM_ACCESS",
	"SIM_BIND_IRQ", "SIM_IRQ_STATE", "SIM_FAULT", "SIM_DESTROY",
	"other ioctl", "read()", "write()", "mmap()",
};

enum outcome { O_OK, O_STATE, O_DEAD, O_REJECTED, NR_O };

/* Events worth a line in the report. */
enum ev {
	/* run */
	E_FD_NEW, E_SIGBUS, E_FORK,
	/* stateful */
	E_OPS, E_INVALID, E_PAUSES, E_CHECKS, E_SYNC, E_POSTED,
	E_RES0,	/* + VIRTBE_SIM_RESULT_* (0 to 6) */
	E_REQ_READ = E_RES0 + VIRTBE_SIM_RESULT_REJECTED + 1,
	E_REQ_DONE, E_REQ_LEFT, E_REQ_STALE,
	E_REQ_DUP, E_REQ_UNKNOWN, E_REQ_BAD, E_SHORT_WRITE, E_DESTROYS,
	E_RECLAIMS, E_IRQ_SIGNALS, E_EOIS, E_TOUCHES, E_CHILDREN,
	E_CHILDREN_KILLED, E_REPLAYS, E_ROUND_TRIPS, NR_EV
};

static const char *const ev_name[NR_EV] = {
	[E_FD_NEW] = "new fds", [E_SIGBUS] = "SIGBUS", [E_FORK] = "forks",
	[E_OPS] = "driver operations",
	[E_INVALID] = "invalid calls on live objects",
	[E_PAUSES] = "quiescent pauses", [E_CHECKS] = "quiescent checks",
	[E_SYNC] = "synchronous accesses", [E_POSTED] = "posted writes",
	[E_RES0 + VIRTBE_SIM_RESULT_BACKEND] = "  answered by a daemon",
	[E_RES0 + VIRTBE_SIM_RESULT_IOEVENTFD] = "  taken by an ioeventfd",
	[E_RES0 + VIRTBE_SIM_RESULT_UNCLAIMED] = "  unclaimed",
	[E_RES0 + VIRTBE_SIM_RESULT_ABORTED] = "  aborted or timed out",
	[E_RES0 + VIRTBE_SIM_RESULT_KERNEL] = "  answered by the kernel",
	[E_RES0 + VIRTBE_SIM_RESULT_DROPPED] = "  posted and dropped",
	[E_RES0 + VIRTBE_SIM_RESULT_REJECTED] = "  string (rep) accesses rejected",
	[E_REQ_READ] = "requests read", [E_REQ_DONE] = "requests completed",
	[E_REQ_LEFT] = "requests left to time out",
	[E_REQ_STALE] = "stale ids refused", [E_REQ_DUP] = "duplicate ids refused",
	[E_REQ_UNKNOWN] = "unknown ids refused",
	[E_REQ_BAD] = "bad records refused",
	[E_SHORT_WRITE] = "batches cut short",
	[E_DESTROYS] = "guests destroyed in use",
	[E_RECLAIMS] = "ranges re-claimed by another attachment",
	[E_IRQ_SIGNALS] = "irqfd signals", [E_EOIS] = "EOIs",
	[E_TOUCHES] = "window touches", [E_CHILDREN] = "daemon processes",
	[E_CHILDREN_KILLED] = "  killed", [E_REPLAYS] = "kicks replayed",
	[E_ROUND_TRIPS] = "checked round trips",
};

#define MAX_IDS 512

struct shared {
	uint64_t calls[NR_CALLS][NR_O];
	uint64_t ev[NR_EV];
	uint64_t violations;
	uint64_t max_sync_ns;
	uint32_t nr_ids;
	uint32_t ids[MAX_IDS];	/* simulated guests the workers created */
};

static struct shared *sh;

static void count(int what, uint64_t n)
{
	__atomic_add_fetch(&sh->ev[what], n, __ATOMIC_RELAXED);
}

static enum outcome outcome_of(int err)
{
	switch (err) {
	case 0:
		return O_OK;
	case ENODEV:
		return O_DEAD;
	case EEXIST: case ENOENT: case EBUSY: case ENOSPC: case ENXIO:
	case EIO: case ENOMEM: case EAGAIN: case EINTR: case EMFILE:
		return O_STATE;
	default:
		return O_REJECTED;
	}
}

static void count_call(enum call c, int err)
{
	__atomic_add_fetch(&sh->calls[c][outcome_of(err)], 1,
			   __ATOMIC_RELAXED);
}

static enum call call_of(unsigned long cmd)
{
	unsigned int nr = _IOC_NR(cmd);

	if (_IOC_TYPE(cmd) != VIRTBE_TYPE || _IOC_DIR(cmd) || _IOC_SIZE(cmd))
		return C_OTHER_IOCTL;
	if (nr <= VIRTBE_CMD_GET_STATS)
		return C_GET_INFO + nr;
	if (nr >= VIRTBE_CMD_SIM_CREATE && nr <= VIRTBE_CMD_SIM_DESTROY)
		return C_SIM_CREATE + nr - VIRTBE_CMD_SIM_CREATE;
	return C_OTHER_IOCTL;
}

/* ioctl(), counted; errno is kept. */
static int fz_ioctl(int fd, unsigned long cmd, void *arg)
{
	int ret = ioctl(fd, cmd, arg), err = ret < 0 ? errno : 0;

	count_call(call_of(cmd), err);
	errno = err;
	return ret;
}

/* The same, returning 0 or -errno. */
static int fz_call(int fd, unsigned long cmd, void *arg)
{
	return fz_ioctl(fd, cmd, arg) < 0 ? -errno : 0;
}

static void __attribute__((format(printf, 2, 3)))
violation(int line, const char *fmt, ...)
{
	uint64_t n = __atomic_add_fetch(&sh->violations, 1, __ATOMIC_RELAXED);
	char msg[320];
	va_list ap;

	if (n > 40)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "# fuzz_test.c:%d: pid %d: INVARIANT BROKEN: %s\n",
		line, getpid(), msg);
}

#define VIOLATION(...) violation(__LINE__, __VA_ARGS__)

/*
 * Check a call's result: @ret (0 or -errno) must be @want or @alt (both
 * 0 or -errno; @alt 1 for "no alternative").
 */
static bool expect_ret(int line, const char *what, int ret, int want, int alt)
{
	if (ret == want || ret == alt)
		return true;
	violation(line, "%s returned %s, expected %s%s%s", what,
		  ret ? strerror(-ret) : "success",
		  want ? strerror(-want) : "success",
		  alt == 1 ? "" : " or ",
		  alt == 1 ? "" : alt ? strerror(-alt) : "success");
	return false;
}

#define EXPECT_RET(what, ret, want, alt) \
	expect_ret(__LINE__, what, ret, want, alt)

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = -1;	/* the directory's own fd */

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* ---- Common: worker processes that die with their parent ---- */

/*
 * In a child, right after fork(): be killed when the forking thread
 * exits.  If the parent died before prctl(), nobody would kill us: the
 * child was reparented and getppid() tells.
 */
static void die_with_parent(pid_t parent)
{
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != parent)
		_exit(4);
}

struct workers {
	pid_t pgid;		/* the workers' process group, 0 before any */
	int n;
	pid_t pid[MAX_PROCS];
	int status[MAX_PROCS];
	bool reaped[MAX_PROCS];
};

/*
 * Fork a worker running fn(arg) into the workers' process group (both
 * sides call setpgid(), so the group exists whichever runs first).
 */
static pid_t spawn_worker(struct workers *w, void (*fn)(long), long arg)
{
	pid_t parent = getpid(), pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		return pid;
	if (!pid) {
		die_with_parent(parent);
		setpgid(0, w->pgid);
		fn(arg);
		_exit(0);
	}
	setpgid(pid, w->pgid ?: pid);
	if (!w->pgid)
		w->pgid = pid;
	w->reaped[w->n] = false;
	w->pid[w->n++] = pid;
	return pid;
}

/* Print where a process stuck in the kernel waits (root only). */
static void dump_stacks(pid_t pid)
{
	char path[64], line[200];
	struct dirent *e;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	if (!d)
		return;
	while ((e = readdir(d))) {
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%.16s/stack", pid,
			 e->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		fprintf(stderr, "# pid %d task %s kernel stack:\n", pid,
			e->d_name);
		while (fgets(line, sizeof(line), f))
			fprintf(stderr, "#   %s", line);
		fclose(f);
	}
	closedir(d);
}

/*
 * Wait for every worker until @deadline_ns; then kill the group, dump the
 * stacks of those left, and wait 30 s more.  Returns how many did not end
 * by themselves.
 */
static int reap_workers(struct workers *w, uint64_t deadline_ns)
{
	int left, late = 0;
	bool killed = false;

	for (;;) {
		left = 0;
		for (int i = 0; i < w->n; i++) {
			if (w->reaped[i])
				continue;
			if (waitpid(w->pid[i], &w->status[i], WNOHANG) ==
			    w->pid[i])
				w->reaped[i] = true;
			else
				left++;
		}
		if (!left)
			return late;
		if (now_ns() > deadline_ns) {
			if (killed) {
				fprintf(stderr, "# %d workers cannot be killed\n",
					left);
				return late;
			}
			for (int i = 0; i < w->n; i++) {
				if (w->reaped[i])
					continue;
				fprintf(stderr,
					"# worker %d (pid %d) still runs past its budget\n",
					i, w->pid[i]);
				dump_stacks(w->pid[i]);
			}
			late = left;
			kill(-w->pgid, SIGKILL);
			killed = true;
			deadline_ns = now_ns() + 30000000000ULL;
		}
		usleep(20000);
	}
}

/*
 * The teardown's part: nothing of the group survives the test.  The test
 * process is the subreaper of its descendants (PR_SET_CHILD_SUBREAPER), so
 * it reaps the workers' orphaned daemon processes here too.
 */
static void kill_workers(struct workers *w)
{
	uint64_t until = now_ns() + 30000000000ULL;
	int status;
	pid_t r;

	if (w->pgid <= 0)
		return;
	kill(-w->pgid, SIGKILL);
	while (now_ns() < until) {
		r = waitpid(-1, &status, WNOHANG);
		if (r < 0)
			break;		/* ECHILD: nobody left */
		if (!r) {
			usleep(10000);
			continue;
		}
		for (int i = 0; i < w->n; i++)
			if (w->pid[i] == r && !w->reaped[i]) {
				w->reaped[i] = true;
				w->status[i] = status;
			}
	}
	w->pgid = 0;
}

/* The test process dies with the harness process that forked it. */
static void test_dies_with_harness(void)
{
	pid_t parent = getppid();

	if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != parent)
		_exit(4);
}

static struct shared *map_shared(void)
{
	void *p = mmap(NULL, sizeof(struct shared), PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static uint64_t budget_secs(long dflt)
{
	long s = env_long("FUZZ_SECS", dflt);

	return s < 1 ? 1 : s > MAX_SECS ? MAX_SECS : s;
}

static int nr_procs(void)
{
	long n = env_long("FUZZ_PROCS", 2);

	return n < 1 ? 1 : n > MAX_PROCS ? MAX_PROCS : n;
}

static uint64_t sum_calls(int o)
{
	uint64_t n = 0;

	for (int c = 0; c < NR_CALLS; c++)
		n += sh->calls[c][o];
	return n;
}

/* ---- fuzz.run: the stateless fuzzer ---- */

enum fdtype { T_CTL, T_GUEST, T_MEM, T_SIMCTL, T_SIMGUEST, T_EVENTFD, T_MEMFD,
	      NR_T };

#define SLOTS 8

struct pool {
	pthread_mutex_t lock;
	int fd[NR_T][SLOTS];
	uint64_t guest_id[SLOTS];	/* of T_SIMGUEST slots */
};

static struct pool pool = { .lock = PTHREAD_MUTEX_INITIALIZER };

static long calls_per_thread = 2500;
static uint64_t run_seed, run_deadline;
static int run_threads;

static __thread sigjmp_buf bus_jmp;
static __thread volatile int bus_armed;

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
	count(E_FD_NEW, 1);
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
	int ret;

	memcpy(buf, arg, len);
	if (chance(5))
		for (size_t i = len; i < len + 16; i++)
			buf[i] = (uint8_t)rnd();
	if (chance(2))
		p = NULL;
	ret = fz_ioctl(fd, cmd, p);
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
		if (chance(10)) {
			memset(c, 0, sizeof(c[0]));
			n = write(g, c, sizeof(c[0]));
			count_call(C_WRITE, n < 0 ? errno : 0);
		}
		return;
	}
	n = read(g, req, chance(5) ? 8 : sizeof(req));
	count_call(C_READ, n < 0 ? errno : n ? 0 : ENODEV);
	if (n <= 0)
		return;
	k = n / sizeof(req[0]);
	count(E_REQ_READ, k);
	for (int i = 0; i < k; i++)
		c[i] = (struct virtbe_completion) {
			.size = fuzz_size(sizeof(c[0])),
			.flags = fuzz_flags(0),
			.id = chance(90) ? req[i].id : rnd(),
			.data = rnd(),
		};
	n = write(g, c, k * sizeof(c[0]));
	count_call(C_WRITE, n < 0 ? errno : 0);
	if (n > 0)
		count(E_REQ_DONE, n / sizeof(c[0]));
}

static void bus_handler(int sig)
{
	count(E_SIGBUS, 1);
	if (bus_armed)
		siglongjmp(bus_jmp, 1);
	_exit(3);
}

static void op_mmap(void)
{
	bool mem = chance(80);
	int fd = pick_fd(mem ? T_MEM : T_MEMFD);
	size_t len = (1 + below(4)) << 12;
	int prot = PROT_READ | (chance(70) ? PROT_WRITE : 0);
	uint8_t *p = mmap(NULL, len, prot,
			  chance(95) ? MAP_SHARED : MAP_PRIVATE, fd,
			  below(4) << 12);

	if (mem)
		count_call(C_MMAP, p == MAP_FAILED ? errno : 0);
	if (p == MAP_FAILED)
		return;
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
		/* long enough for another thread to answer, even on TCG */
		g = _attach(pick_fd(T_CTL), VIRTBE_HYP_SIM, id,
			    200 + below(300));
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
	pid_t parent = getpid(), pid;

	pid = fork();
	count(E_FORK, 1);
	if (pid == 0) {
		/*
		 * The child inherits every fd; a few calls, then exit.  Another
		 * thread may have held the pool's lock at fork time.
		 */
		die_with_parent(parent);
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
	for (long i = 0; !calls_per_thread || i < calls_per_thread; i++) {
		if (!(i & 63) && now_ns() > run_deadline)
			break;
		fuzz_one();
	}
	return NULL;
}

/* One fuzzing process: a fresh pool, run_threads workers. */
static void fuzz_process(long p)
{
	struct sigaction sa = { .sa_handler = bus_handler };
	uint64_t seed = run_seed + p;
	struct worker w[16];
	int nthreads = run_threads;

	sigaction(SIGBUS, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	for (int t = 0; t < NR_T; t++)
		for (int s = 0; s < SLOTS; s++)
			pool.fd[t][s] = -1;
	rng = seed | 1;
	/* Seed the pool so the first calls have something to work on. */
	for (int i = 0; i < 3 * SLOTS; i++)
		op_new_fd();
	for (int t = 0; t < nthreads; t++) {
		w[t].seed = seed * 1000003ULL + t;
		pthread_create(&w[t].tid, NULL, worker_fn, &w[t]);
	}
	for (int t = 0; t < nthreads; t++)
		pthread_join(w[t].tid, NULL);
	for (int t = 0; t < NR_T; t++)
		for (int s = 0; s < SLOTS; s++)
			if (pool.fd[t][s] >= 0)
				close(pool.fd[t][s]);
}

/*
 * ---- fuzz.stateful ----
 *
 * Each worker process has a world: the model of what it created (simulated
 * guests, attachments and everything hanging off them) under one mutex,
 * and these threads:
 *
 * - the driver (the process's main thread) makes, changes and destroys
 *   objects: it alone writes the model, and predicts the outcome of each of
 *   its calls from it;
 * - FUZZ_THREADS vCPU threads make simulated accesses on random vCPUs of
 *   random guests, mostly to claimed registers, synchronous and posted;
 * - a daemon thread polls every guest fd and answers its requests;
 * - an interrupt and memory thread signals irqfds, sends EOIs, drains the
 *   frontend's interrupt eventfds and touches the mapped windows.
 *
 * Every fd and mapping is a handle with a use count: a thread uses one
 * only while it holds a use, and the driver closes one by marking it;
 * whichever thread drops the last use then closes the fd (or unmaps the
 * mapping).  So no fd number is reused under a thread, and fds are closed
 * at random moments by any thread.
 *
 * Invariants (a broken one is reported with its line and fails the test):
 * - every call the driver makes succeeds or fails as the model predicts;
 *   where a release may still be in flight (an fd another thread will close
 *   a moment later, a daemon process holding a copy) either is accepted;
 * - invalid calls on live objects fail with the documented errno;
 * - a failed call changes nothing: in a quiescent pause (below), GET_STATS
 *   of the guest fd and the process's fd count are the same before and
 *   after it, the same call fails the same way again, and the model's
 *   objects are still there (making them again fails with EEXIST/EBUSY);
 * - every synchronous simulated access returns, within ACCESS_BOUND_MS;
 *   reads no daemon answered (unclaimed, aborted, timed out) return
 *   all-ones, reads a daemon answered return the value every daemon gives
 *   that address (expect_data()), InterruptStatus holds only defined
 *   bits; posted writes are never answered through the channel;
 * - requests are well formed; completions of unknown and duplicate ids,
 *   and in a pause those of requests left unanswered (timed out or
 *   aborted by then), fail with ENOENT, and a batch with one is cut short
 *   just before it; bad records fail with EINVAL or EOPNOTSUPP;
 * - GET_STATS counters and the simulator's interrupt counts never
 *   decrease; in a pause, requests = completions + timeouts + aborted +
 *   replayed kicks on every guest fd;
 * - claims overlapping another attachment's fail with EEXIST; a released
 *   range can be claimed by another attachment of the guest;
 * - a mapped window shows the guest's RAM (the frontend's memfd), both
 *   ways; SIGBUS only once its guest fd is closed or its guest destroyed;
 *   once SIM_DESTROY returns, the guest fd polls EPOLLHUP, read() returns
 *   0, completions and new objects fail with ENODEV, mmap() of its memory
 *   fds with ENODEV, ATTACH to the guest with ENOENT;
 * - directed checks in pauses: a request's round trip (its fields, the
 *   data both ways, the statistics, a duplicate completion), a write
 *   queued before its ioeventfd is consumed by it at assignment, an
 *   ioeventfd kick, InterruptStatus set by an irqfd signal and cleared by
 *   InterruptACK and by a reset (a level line following it), an EOI of a
 *   level line signalling the resample eventfd, ENOSPC at exactly 64
 *   claims;
 * - no fd leak: in every pause the fds open are exactly the handles the
 *   model holds, at the end as many as at the start (per worker and in the
 *   test process); once the workers are gone every guest id they used is
 *   free again (ATTACH fails with ENOENT).
 *
 * A quiescent pause: the driver kills the daemon processes and parks the
 * other threads (each first finishes its call: one that does not park
 * within STUCK_MS is reported stuck, with the kernel stacks); then nothing
 * changes but what the driver does.
 */

#define SG_MAX		3	/* simulated guests per worker */
#define ATT_MAX		6	/* attachments per worker */
#define H_MAX		384	/* fds and mappings per worker */
#define NSLOT		8	/* device slots per guest */
#define SLOT(i)		(MMIO_BASE + (uint64_t)(i) * 0x1000)
#define PSLOT(i)	(0x1000ULL + (uint64_t)(i) * 0x10)
#define PIO_PROBE	0x8000ULL	/* the ENOSPC probe's port ranges */
#define RAM_SZ		0x40000ULL	/* the memfd, 64 pages, mapped as */
#define RAM_REG		0x20000ULL	/* two regions of 32 pages, at 0 */
#define RAM_B_GPA	0x40000ULL	/* and here: a hole between */
#define NLINE		8	/* interrupt lines and ports used */
#define VCPUS_MAX	4
#define RANGE_MAX	12	/* per attachment in the model (64 real) */
#define WIN_MAX		4
#define EFD_MAX		8	/* eventfds per attachment */
#define IOEV_MAX	8
#define IRQFD_MAX	6
#define CHILD_MAX	3
#define THR_MAX		12
/*
 * Time limits.  They tell a hang from a slow VM (a debug kernel under TCG
 * on a loaded host), so they are far above what any call takes: an access
 * takes 2 s (timeout) + 2 s (watchdog) at most.  A thread must park within
 * STUCK_MS, which exceeds ACCESS_BOUND_MS; what a quiescent check waits
 * for (a request, an interrupt, a line's level) must happen in SETTLE_MS.
 */
#define ACCESS_BOUND_MS	60000
#define STUCK_MS	90000
#define SETTLE_MS	30000
#define VMMIO_NOTIFY	0x50
#define VMMIO_ISR	0x60
#define VMMIO_ACK	0x64
#define VMMIO_STATUS	0x70

enum { H_FREE, H_FD, H_MAP };

struct handle {
	int kind;
	int fd;
	void *p;
	size_t len;
	unsigned int gen;	/* incremented when closed for real */
	int users;		/* -1 while being closed */
	bool closing;
};

struct href {
	int i;			/* -1: none */
	unsigned int gen;
};

#define NOH ((struct href){ -1, 0 })

/* A simulated guest: the frontend's side. */
struct m_sg {
	bool used;
	struct href f;		/* sim guest fd */
	struct href ram;	/* the RAM memfd (the simulator keeps its own) */
	struct href view;	/* the frontend's mapping of the RAM */
	uint8_t *viewp;
	uint64_t id;
	uint32_t nr_vcpus;
	bool destroying, destroyed, closing;
	int fail_map;		/* VIRTBE_SIM_FAULT_FAIL_MAP left */
	struct href line[NLINE], port[NLINE];	/* bound eventfds */
	uint64_t count[2][NLINE];		/* last out_count seen */
};

struct m_range {
	bool pio;
	uint64_t addr, len;
};

struct m_win {
	bool used;
	struct href f, map;
	uint64_t gpa, len;
	bool rdonly;
	uint8_t *p;		/* the mapping of [gpa + off, + maplen) */
	uint64_t off, maplen;
	int child_refs;		/* daemon processes holding the fd */
};

struct m_ioev {
	int efd;		/* index in m_att.efd */
	struct href eh;
	bool pio, wildcard;
	uint64_t addr, dm;
	uint32_t len;
};

struct m_irqfd {
	int efd, rfd;		/* indexes in m_att.efd; rfd -1 */
	struct href eh, rh;
	uint32_t type, irq, bits;
	bool vmmio;
	uint64_t base;
	bool flushing;		/* eventfd closed, removal flushed by a call */
};

/* An attachment: a guest fd. */
struct m_att {
	bool used, closing;
	struct href f;
	int sg;
	uint32_t timeout_ms;
	int child_refs;
	struct m_range range[RANGE_MAX];
	int nr_range;
	struct m_win win[WIN_MAX];
	struct href efd[EFD_MAX];
	struct m_ioev ioev[IOEV_MAX];
	int nr_ioev;
	struct m_irqfd irqfd[IRQFD_MAX];
	int nr_irqfd;
	struct virtbe_stats last;	/* for the monotonic check */
};

struct m_child {
	pid_t pid;
	int att, win;		/* win -1 */
};

struct thr {
	pthread_t tid;
	int idx;
	uint64_t seed;
	const char *volatile op;	/* what it does now, for reports */
	volatile uint64_t since;
};

enum life { L_LIVE, L_MAYBE, L_DEAD };

static struct world {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int ctl, simctl;
	void *ro;		/* a read-only page */
	void *hole;		/* a PROT_NONE page, kept: never reused */
	struct handle h[H_MAX];
	struct m_sg sg[SG_MAX];
	struct m_att att[ATT_MAX];
	struct m_child child[CHILD_MAX];
	int nr_child;
	struct thr thr[THR_MAX];
	int nthreads;
	volatile bool stop;
	bool pause;
	int parked;
	int base_fds;
	int ops_since_pause;
} w = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.cond = PTHREAD_COND_INITIALIZER,
};

static void lock(void)
{
	pthread_mutex_lock(&w.lock);
}

static void unlock(void)
{
	pthread_mutex_unlock(&w.lock);
}

/* ---- handles ---- */

/* Under the lock: a new handle, or NOH (the caller closes) when full. */
static struct href h_add(int kind, int fd, void *p, size_t len)
{
	for (int i = 0; i < H_MAX; i++) {
		struct handle *h = &w.h[i];

		if (h->kind != H_FREE)
			continue;
		h->kind = kind;
		h->fd = fd;
		h->p = p;
		h->len = len;
		h->users = 0;
		h->closing = false;
		return (struct href){ i, h->gen };
	}
	return NOH;
}

/* Under the lock: an fd handle, or NOH with the fd closed. */
static struct href h_add_fd(int fd)
{
	struct href r = h_add(H_FD, fd, NULL, 0);

	if (r.i < 0)
		close(fd);
	return r;
}

/* Under the lock: still the handle @r named, and not being closed. */
static bool h_open(struct href r)
{
	return r.i >= 0 && w.h[r.i].gen == r.gen &&
	       w.h[r.i].kind != H_FREE && !w.h[r.i].closing;
}

/* Under the lock: closed for real (the fd's release has run). */
static bool h_gone(struct href r)
{
	return r.i < 0 || w.h[r.i].gen != r.gen;
}

/* Under the lock: take a use; the fd (0 for a mapping), or -1 if closed. */
static int h_use(struct href r)
{
	if (!h_open(r))
		return -1;
	w.h[r.i].users++;
	return w.h[r.i].kind == H_FD ? w.h[r.i].fd : 0;
}

/* Close a handle whose last use is dropped; without the lock. */
static void h_release(int i)
{
	struct handle *h = &w.h[i];

	if (h->kind == H_FD)
		close(h->fd);
	else
		munmap(h->p, h->len);
	lock();
	h->kind = H_FREE;
	h->gen++;
	h->users = 0;
	h->closing = false;
	unlock();
}

/* Handles to close once the lock is dropped. */
struct rel {
	int n;
	int i[48];
};

static void rel_add(struct rel *r, int i)
{
	if (i >= 0 && r->n < 48)
		r->i[r->n++] = i;
}

static void rel_do(struct rel *r)
{
	for (int k = 0; k < r->n; k++)
		h_release(r->i[k]);
	r->n = 0;
}

/* Under the lock: drop a use taken by h_use(). */
static void h_unuse_locked(struct href r, struct rel *rl)
{
	struct handle *h = &w.h[r.i];

	if (--h->users || !h->closing)
		return;
	h->users = -1;
	rel_add(rl, r.i);
}

static void h_unuse(struct href r)
{
	struct rel rl = { 0 };

	lock();
	h_unuse_locked(r, &rl);
	unlock();
	rel_do(&rl);
}

/* Under the lock: close @r once its last use is dropped. */
static void h_close_locked(struct href r, struct rel *rl)
{
	struct handle *h;

	if (!h_open(r))
		return;
	h = &w.h[r.i];
	h->closing = true;
	if (h->users)
		return;
	h->users = -1;
	rel_add(rl, r.i);
}

/* ---- the model's questions, all under the lock ---- */

static enum life sg_life(const struct m_sg *s)
{
	if (s->destroyed || h_gone(s->f))
		return L_DEAD;
	if (s->destroying || s->closing)
		return L_MAYBE;
	return L_LIVE;
}

static enum life att_life(const struct m_att *a)
{
	return sg_life(&w.sg[a->sg]);
}

/* Not yet closed by the driver, and its guest fd usable. */
static bool att_usable(const struct m_att *a)
{
	return a->used && !a->closing && h_open(a->f);
}

/* The attachment's claims may still be held: its guest fd not released. */
static bool att_holds(const struct m_att *a)
{
	return a->used && (!h_gone(a->f) || a->child_refs);
}

/*
 * ... and certainly are: not by a daemon process's copy, which may have
 * exited a moment ago (it counts until it is reaped).
 */
static bool att_surely_holds(const struct m_att *a)
{
	return a->used && !a->closing && h_open(a->f);
}

static int pick_att(bool live)
{
	int c[ATT_MAX], n = 0;

	for (int i = 0; i < ATT_MAX; i++)
		if (att_usable(&w.att[i]) &&
		    (!live || att_life(&w.att[i]) == L_LIVE))
			c[n++] = i;
	return n ? c[below(n)] : -1;
}

static int pick_sg(bool live)
{
	int c[SG_MAX], n = 0;

	for (int i = 0; i < SG_MAX; i++) {
		struct m_sg *s = &w.sg[i];

		if (s->used && !s->closing && h_open(s->f) &&
		    (!live || sg_life(s) == L_LIVE))
			c[n++] = i;
	}
	return n ? c[below(n)] : -1;
}

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

static uint64_t mask_of(uint32_t len)
{
	return len >= 8 ? ~0ULL : (1ULL << (len * 8)) - 1;
}

/* The value every daemon answers for a read of @len bytes at @addr. */
static uint64_t expect_data(uint64_t addr, uint32_t len)
{
	uint64_t x = addr * 0x9E3779B97F4A7C15ULL ^ len;

	x ^= x >> 29;
	x *= 0xBF58476D1CE4E5B9ULL;
	x ^= x >> 32;
	return x & mask_of(len);
}

/* What is wrong with a request, or NULL. */
static const char *req_bad(const struct virtbe_request *r, uint32_t nr_vcpus)
{
	if (r->size != sizeof(*r))
		return "size";
	if (r->flags & ~(VIRTBE_REQ_WRITE | VIRTBE_REQ_PIO))
		return "flags";
	if (r->len != 1 && r->len != 2 && r->len != 4 && r->len != 8)
		return "len";
	if (r->vcpu >= nr_vcpus)
		return "vcpu";
	if (r->__reserved[0] || r->__reserved[1] || r->__reserved[2])
		return "reserved";
	if (!(r->flags & VIRTBE_REQ_WRITE) && r->data)
		return "data of a read";
	if (r->data & ~mask_of(r->len))
		return "data wider than the access";
	if (r->flags & VIRTBE_REQ_PIO ?
	    (r->addr < PSLOT(0) || r->addr + r->len > PIO_PROBE + 0x100) :
	    (r->addr < SLOT(0) || r->addr + r->len > SLOT(NSLOT) + 0x1000))
		return "address nobody claimed";
	return NULL;
}

/* ---- threads: parking for quiescent pauses ---- */

static void thr_op(struct thr *t, const char *op)
{
	t->since = now_ns();
	t->op = op;
}

/* Between two calls: park while the driver pauses; true to stop. */
static bool park(struct thr *t)
{
	bool stop;

	thr_op(t, "parked");
	lock();
	if (w.pause && !w.stop) {
		w.parked++;
		pthread_cond_broadcast(&w.cond);
		while (w.pause && !w.stop)
			pthread_cond_wait(&w.cond, &w.lock);
		w.parked--;
	}
	stop = w.stop;
	unlock();
	return stop;
}

/* ---- the vCPU threads ---- */

/* Under the lock: an address of guest @si worth accessing. */
static void pick_access(int si, struct virtbe_sim_access *a)
{
	static const uint32_t lens[] = { 1, 2, 4, 8 };
	unsigned int r = below(100);
	int cand[ATT_MAX], n = 0;
	struct m_att *at;

	a->len = lens[below(4)];
	a->flags = chance(50) ? VIRTBE_SIM_ACCESS_WRITE : 0;
	a->data = chance(50) ? below(4) : rnd();
	for (int i = 0; i < ATT_MAX; i++)
		if (w.att[i].used && w.att[i].sg == si &&
		    (w.att[i].nr_range || w.att[i].nr_ioev))
			cand[n++] = i;
	at = n ? &w.att[cand[below(n)]] : NULL;
	if (r < 12 && at && at->nr_ioev) {
		/* a kick, mostly one an ioeventfd takes */
		struct m_ioev *e = &at->ioev[below(at->nr_ioev)];

		a->addr = e->addr;
		a->len = e->len ?: 4;
		a->flags = VIRTBE_SIM_ACCESS_WRITE |
			   (e->pio ? VIRTBE_SIM_ACCESS_PIO : 0);
		a->data = e->wildcard || chance(20) ? below(4) : e->dm;
		return;
	}
	if (r < 24 && at && at->nr_irqfd) {
		/* a register of a device whose InterruptStatus may be kept */
		struct m_irqfd *q = &at->irqfd[below(at->nr_irqfd)];
		static const uint32_t regs[] = {
			VMMIO_ISR, VMMIO_ISR, VMMIO_ACK, VMMIO_STATUS,
		};
		uint32_t reg = regs[below(4)];

		a->addr = (q->vmmio ? q->base : SLOT(below(NSLOT))) + reg;
		a->len = 4;
		a->flags = reg == VMMIO_ISR ? 0 : VIRTBE_SIM_ACCESS_WRITE;
		a->data = reg == VMMIO_STATUS ? (chance(50) ? 0 : 0xf) :
			  1 + below(3);
		return;
	}
	if (r < 90 && at && at->nr_range) {
		struct m_range *rg = &at->range[below(at->nr_range)];

		a->addr = rg->addr + (below(rg->len) & ~7ULL);
		if (rg->pio) {
			a->flags |= VIRTBE_SIM_ACCESS_PIO;
			if (a->len == 8)
				a->len = 4;
		}
		return;
	}
	if (r < 95) {
		a->addr = SLOT(below(NSLOT)) + below(0x1000);
		return;
	}
	a->addr = PSLOT(below(NSLOT)) + below(0x10);
	a->flags |= VIRTBE_SIM_ACCESS_PIO;
	if (a->len == 8)
		a->len = 4;
}

/* Check the result of a successful access. */
static void check_access(const struct virtbe_sim_access *a, uint64_t ns)
{
	bool write = a->flags & VIRTBE_SIM_ACCESS_WRITE;
	bool posted = a->flags & VIRTBE_SIM_ACCESS_POSTED;
	bool rep = a->flags & VIRTBE_SIM_ACCESS_REP;
	uint64_t mask = mask_of(a->len);
	uint32_t res = a->out_result;

	if (res > VIRTBE_SIM_RESULT_REJECTED) {
		VIOLATION("access result %u", res);
		return;
	}
	count(E_RES0 + res, 1);
	/* a string access never reaches a daemon, an ioeventfd or the ISR */
	if (rep != (res == VIRTBE_SIM_RESULT_REJECTED) &&
	    !(rep && res == VIRTBE_SIM_RESULT_UNCLAIMED)) {
		VIOLATION("%s %s at 0x%llx: result %u",
			  rep ? "string" : "single", write ? "write" : "read",
			  (unsigned long long)a->addr, res);
		return;
	}
	if (posted) {
		if (res == VIRTBE_SIM_RESULT_BACKEND ||
		    res == VIRTBE_SIM_RESULT_ABORTED)
			VIOLATION("posted write at 0x%llx: result %u",
				  (unsigned long long)a->addr, res);
		return;
	}
	if (ns / 1000000 > ACCESS_BOUND_MS)
		VIOLATION("%s of 0x%llx took %llu ms", write ? "write" : "read",
			  (unsigned long long)a->addr,
			  (unsigned long long)(ns / 1000000));
	if (res == VIRTBE_SIM_RESULT_DROPPED ||
	    (res == VIRTBE_SIM_RESULT_IOEVENTFD && !write))
		VIOLATION("synchronous %s at 0x%llx: result %u",
			  write ? "write" : "read",
			  (unsigned long long)a->addr, res);
	if (res == VIRTBE_SIM_RESULT_KERNEL &&
	    (a->len != 4 || (a->flags & VIRTBE_SIM_ACCESS_PIO) ||
	     (a->addr & 0xff) != (write ? VMMIO_ACK : VMMIO_ISR)))
		VIOLATION("the kernel answered a %u-byte %s at 0x%llx",
			  a->len, write ? "write" : "read",
			  (unsigned long long)a->addr);
	if (write)
		return;
	if ((res == VIRTBE_SIM_RESULT_UNCLAIMED ||
	     res == VIRTBE_SIM_RESULT_ABORTED ||
	     res == VIRTBE_SIM_RESULT_REJECTED) && a->data != mask)
		VIOLATION("%s read of 0x%llx returned 0x%llx, not all-ones",
			  res == VIRTBE_SIM_RESULT_ABORTED ? "aborted" :
			  res == VIRTBE_SIM_RESULT_REJECTED ? "rejected" :
			  "unclaimed", (unsigned long long)a->addr,
			  (unsigned long long)a->data);
	if (res == VIRTBE_SIM_RESULT_BACKEND &&
	    a->data != expect_data(a->addr, a->len))
		VIOLATION("read of %u bytes at 0x%llx returned 0x%llx, the daemon answered 0x%llx",
			  a->len, (unsigned long long)a->addr,
			  (unsigned long long)a->data,
			  (unsigned long long)expect_data(a->addr, a->len));
	if (res == VIRTBE_SIM_RESULT_KERNEL &&
	    (a->data & ~(uint64_t)(VIRTBE_VIRTIO_ISR_USED |
				   VIRTBE_VIRTIO_ISR_CONFIG)))
		VIOLATION("InterruptStatus at 0x%llx is 0x%llx",
			  (unsigned long long)a->addr,
			  (unsigned long long)a->data);
}

static void vcpu_one(struct thr *t)
{
	struct virtbe_sim_access a = { .size = sizeof(a) };
	int si, fd, ret, bad = 0;
	uint64_t t0, ns;
	struct href r;
	uint32_t nr;

	lock();
	si = pick_sg(chance(95));
	if (si < 0)
		si = pick_sg(false);
	if (si < 0) {
		unlock();
		usleep(2000);
		return;
	}
	r = w.sg[si].f;
	fd = h_use(r);
	nr = w.sg[si].nr_vcpus;
	/* mostly a vCPU of its own: a busy one is EBUSY at once */
	a.vcpu = chance(80) ? t->idx % nr : below(nr);
	pick_access(si, &a);
	unlock();

	if ((a.flags & VIRTBE_SIM_ACCESS_WRITE) && chance(15))
		a.flags |= VIRTBE_SIM_ACCESS_POSTED;
	else if (chance(5))
		a.flags |= VIRTBE_SIM_ACCESS_REP;	/* rep movs, rep stos */
	if (chance(2)) {
		/* invalid, each refused as documented */
		count(E_INVALID, 1);
		switch (below(6)) {
		case 0:
			a.flags = VIRTBE_SIM_ACCESS_POSTED;
			bad = -EINVAL;
			break;
		case 1:
			a.vcpu = nr + below(3);
			bad = -EINVAL;
			break;
		case 2:
			a.len = 3;
			bad = -EINVAL;
			break;
		case 3:
			a.flags |= 1u << (4 + below(28));	/* past REP */
			bad = -EOPNOTSUPP;
			break;
		case 4:
			/* Xen buffers no string access */
			a.flags = VIRTBE_SIM_ACCESS_WRITE |
				  VIRTBE_SIM_ACCESS_POSTED |
				  VIRTBE_SIM_ACCESS_REP;
			bad = -EINVAL;
			break;
		default:
			a.addr = ~0ULL - below(3);
			a.len = 8;
			bad = -EINVAL;
		}
	}
	thr_op(t, a.flags & VIRTBE_SIM_ACCESS_POSTED ? "posted write" :
	       "SIM_ACCESS");
	t0 = now_ns();
	ret = fz_call(fd, VIRTBE_SIM_ACCESS, &a);
	ns = now_ns() - t0;
	thr_op(t, "vcpu");

	if (ret == -ENODEV) {
		lock();
		if (!w.sg[si].destroying && !w.sg[si].destroyed)
			VIOLATION("SIM_ACCESS: ENODEV on a guest not destroyed");
		unlock();
		usleep(500);
	} else if (bad) {
		EXPECT_RET("invalid SIM_ACCESS", ret, bad, 1);
	} else if (ret == -EBUSY) {
		usleep(500);
	} else if (ret) {
		EXPECT_RET("SIM_ACCESS", ret, 0, -EBUSY);
	} else {
		uint64_t old = sh->max_sync_ns;

		count(a.flags & VIRTBE_SIM_ACCESS_POSTED ? E_POSTED : E_SYNC, 1);
		while (!(a.flags & VIRTBE_SIM_ACCESS_POSTED) && ns > old &&
		       !__atomic_compare_exchange_n(&sh->max_sync_ns, &old, ns,
						    false, __ATOMIC_RELAXED,
						    __ATOMIC_RELAXED))
			;
		check_access(&a, ns);
		if (a.out_result == VIRTBE_SIM_RESULT_UNCLAIMED)
			usleep(500);	/* claimed ones take longer */
	}
	h_unuse(r);
}

static void *vcpu_fn(void *arg)
{
	struct thr *t = arg;

	rng = t->seed | 1;
	while (!park(t))
		vcpu_one(t);
	return NULL;
}

/* ---- GET_STATS, with the counters' monotonic check ---- */

/* the __u64 counters of struct virtbe_stats, from out_requests on */
#define NR_COUNTERS ((sizeof(struct virtbe_stats) - \
		      offsetof(struct virtbe_stats, out_requests)) / sizeof(__u64))

/* Under the lock (GET_STATS does not block): read @a's statistics. */
static int att_stats(struct m_att *a, int fd, struct virtbe_stats *st)
{
	const __u64 *o = &a->last.out_requests, *n = &st->out_requests;
	int ret;

	*st = (struct virtbe_stats){ .size = sizeof(*st) };
	ret = fz_call(fd, VIRTBE_GET_STATS, st);
	if (ret) {
		EXPECT_RET("GET_STATS", ret, 0, 1);
		return ret;
	}
	for (size_t k = 0; k < NR_COUNTERS; k++)
		if (n[k] < o[k])
			VIOLATION("GET_STATS counter %zu went from %llu to %llu",
				  k, (unsigned long long)o[k],
				  (unsigned long long)n[k]);
	/* at any time, even with requests in flight */
	if (st->out_requests < st->out_completions + st->out_timeouts +
			       st->out_aborted + st->out_kicks_replayed)
		VIOLATION("GET_STATS: %llu requests, but %llu completions, %llu timeouts, %llu aborted and %llu replayed",
			  (unsigned long long)st->out_requests,
			  (unsigned long long)st->out_completions,
			  (unsigned long long)st->out_timeouts,
			  (unsigned long long)st->out_aborted,
			  (unsigned long long)st->out_kicks_replayed);
	a->last = *st;
	return 0;
}

static void stats_any(void)
{
	struct virtbe_stats st;
	struct href r;
	struct rel rl = { 0 };
	int ai, fd;

	lock();
	ai = pick_att(false);
	if (ai >= 0) {
		r = w.att[ai].f;
		fd = h_use(r);
		att_stats(&w.att[ai], fd, &st);
		h_unuse_locked(r, &rl);
	}
	unlock();
	rel_do(&rl);
}

/* ---- the daemon thread ---- */

/* Requests read and not answered, ids answered: for stale, duplicates. */
struct old_id {
	int att;
	struct href f;
	uint64_t id;
	uint64_t addr;
	uint32_t len;
};

/*
 * Requests left unanswered: one may be answered late (complete_wrongly());
 * in a quiescent pause, with no access in flight, all have timed out or
 * were aborted, and completing them fails (check_left()).  The daemon
 * thread owns the list, and the driver while the daemon is parked.
 */
#define LEFT_MAX	16

static struct old_id left_ids[LEFT_MAX], done_ids[32];
static unsigned int nr_left, done_pos;

/* Take left_ids[i] out of the list. */
static struct old_id left_take(unsigned int i)
{
	struct old_id o = left_ids[i];

	memmove(&left_ids[i], &left_ids[i + 1],
		(--nr_left - i) * sizeof(left_ids[0]));
	return o;
}

/* Write completions; count; the result (bytes or -errno). */
static long complete(int fd, const struct virtbe_completion *c, size_t n)
{
	ssize_t ret = write(fd, c, n);
	int err = ret < 0 ? errno : 0;

	count_call(C_WRITE, err);
	return ret < 0 ? -err : ret;
}

/* Under the lock: may the guest of @ai be gone, by what the model says? */
static bool maybe_gone(int ai)
{
	struct m_att *a = &w.att[ai];

	return att_life(a) != L_LIVE || !a->used;
}

static bool gone_ok(int ai)
{
	bool ok;

	lock();
	ok = maybe_gone(ai);
	unlock();
	return ok;
}

/* Answer what the channel of attachment @ai holds. */
static void serve(int ai, struct href r, int fd, uint32_t nr_vcpus)
{
	struct virtbe_request req[4];
	struct virtbe_completion c[5];
	unsigned int k, n, nc = 0, cut = ~0u;
	const char *why;
	ssize_t got;
	long ret;

	if (chance(3)) {
		/* into memory it cannot write: EFAULT, requests put back */
		got = read(fd, w.hole, sizeof(req[0]));
		count_call(C_READ, got < 0 ? errno : got ? 0 : ENODEV);
		if (got > 0 || (!got && !gone_ok(ai)) ||
		    (got < 0 && errno != EFAULT && errno != EAGAIN))
			VIOLATION("read() into a PROT_NONE page: %zd (%s)", got,
				  got < 0 ? strerror(errno) : "no error");
	}
	n = chance(2) ? 0 : 1 + below(4);
	got = read(fd, req, n ? n * sizeof(req[0]) : 32);
	count_call(C_READ, got < 0 ? errno : got ? 0 : ENODEV);
	if (!n) {
		/* a buffer that cannot hold a request */
		EXPECT_RET("read() into 32 bytes", got < 0 ? -errno : (int)got,
			   -EINVAL, 1);
		return;
	}
	if (got < 0) {
		if (errno != EAGAIN)	/* a daemon process took them */
			VIOLATION("read() of requests: %s", strerror(errno));
		return;
	}
	if (!got) {
		if (!gone_ok(ai))
			VIOLATION("read() at end of file, guest alive");
		return;
	}
	if (got % sizeof(req[0]))
		VIOLATION("read() returned %zd bytes", got);
	k = got / sizeof(req[0]);
	count(E_REQ_READ, k);
	for (unsigned int i = 0; i < k; i++) {
		why = req_bad(&req[i], nr_vcpus);
		if (why) {
			VIOLATION("request %u: bad %s (addr 0x%llx len %u flags 0x%x vcpu %u)",
				  i, why, (unsigned long long)req[i].addr,
				  req[i].len, req[i].flags, req[i].vcpu);
			continue;
		}
		if (chance(3)) {
			/* left to time out, completed later as stale */
			if (nr_left == LEFT_MAX)
				left_take(0);
			left_ids[nr_left++] = (struct old_id){
				.att = ai, .f = r, .id = req[i].id,
				.addr = req[i].addr, .len = req[i].len,
			};
			count(E_REQ_LEFT, 1);
			continue;
		}
		c[nc++] = (struct virtbe_completion){
			.size = sizeof(c[0]), .id = req[i].id,
			.data = (req[i].flags & VIRTBE_REQ_WRITE) ? rnd() :
				expect_data(req[i].addr, req[i].len) |
				(chance(20) ? ~mask_of(req[i].len) : 0),
		};
	}
	if (!nc)
		return;
	if (chance(4)) {
		/* a bad record first: refused, nothing consumed */
		struct virtbe_completion b = c[0];
		int want = -EINVAL;

		switch (below(3)) {
		case 0:
			b.size = sizeof(b) - 8;
			break;
		case 1:
			b.__reserved = 1;
			break;
		default:
			b.flags = 1;
			want = -EOPNOTSUPP;
		}
		ret = complete(fd, &b, sizeof(b));
		count(E_REQ_BAD, 1);
		if (ret != -ENODEV || !gone_ok(ai))
			EXPECT_RET("a bad completion", (int)ret, want, 1);
	}
	if (chance(6)) {
		/* an unknown id in the batch: it is cut short there */
		cut = below(nc + 1);
		memmove(&c[cut + 1], &c[cut], (nc - cut) * sizeof(c[0]));
		c[cut] = (struct virtbe_completion){
			.size = sizeof(c[0]),
			.id = rnd() | 1ULL << 62,
		};
		nc++;
	}
	for (unsigned int i = 0; i < nc;) {
		ret = complete(fd, &c[i], (nc - i) * sizeof(c[0]));
		if (ret == -ENODEV) {
			if (!gone_ok(ai))
				VIOLATION("completion: ENODEV, guest alive");
			return;
		}
		if (ret < 0) {
			/* ENOENT: it timed out meanwhile, or the unknown id */
			if (i == cut)
				count(E_REQ_UNKNOWN, 1);
			EXPECT_RET("completion", (int)ret, -ENOENT, 1);
			i++;
			continue;
		}
		if (ret % sizeof(c[0]) || (cut >= i && cut < nc &&
					   i + ret / sizeof(c[0]) > cut))
			VIOLATION("a batch of %u completions consumed %ld bytes (unknown id at %u)",
				  nc - i, ret, cut - i);
		for (unsigned int j = i; j < i + ret / sizeof(c[0]); j++) {
			done_ids[done_pos++ % 32] = (struct old_id){
				.att = ai, .f = r, .id = c[j].id,
			};
			count(E_REQ_DONE, 1);
		}
		if (cut >= i && cut < nc && i + ret / sizeof(c[0]) == cut)
			count(E_SHORT_WRITE, 1);
		i += ret / sizeof(c[0]);
	}
}

/*
 * Completions that must fail: duplicate and unknown ids; or one that may
 * be late, of a request left unanswered.
 */
static void complete_wrongly(void)
{
	struct virtbe_completion c = { .size = sizeof(c) };
	struct old_id o;
	int fd, ev;
	long ret;
	bool strict = true;

	switch (below(3)) {
	case 0:
		o = done_ids[below(32)];
		ev = E_REQ_DUP;
		break;
	case 1:
		/* the newest left: it may still be answered (late) */
		if (!nr_left || chance(80))
			return;
		o = left_take(nr_left - 1);
		ev = E_REQ_STALE;
		strict = false;
		break;
	default:
		o = (struct old_id){
			.att = below(ATT_MAX), .f = NOH,
			.id = rnd() | 1ULL << 61,
		};
		ev = E_REQ_UNKNOWN;
	}
	if (!o.id)
		return;
	lock();
	if (o.f.i < 0 && w.att[o.att].used)
		o.f = w.att[o.att].f;
	fd = h_use(o.f);
	unlock();
	if (fd < 0)
		return;
	c.id = o.id;
	c.data = o.len ? expect_data(o.addr, o.len) : 0;
	ret = complete(fd, &c, sizeof(c));
	if (ret == -ENODEV) {
		if (!gone_ok(o.att))
			VIOLATION("completion: ENODEV, guest alive");
	} else if (strict) {
		if (EXPECT_RET(ev == E_REQ_DUP ? "a duplicate completion" :
			       "an unknown id's completion", (int)ret, -ENOENT,
			       1))
			count(ev, 1);
	} else if (ret != sizeof(c)) {
		EXPECT_RET("a late completion", (int)ret, -ENOENT, 1);
	}
	h_unuse(o.f);
}

static void daemon_one(struct thr *t)
{
	struct {
		int ai;
		struct href r;
		uint32_t nr_vcpus;
	} e[ATT_MAX];
	struct pollfd p[ATT_MAX];
	bool dead_too = chance(10), served = false;
	int n = 0;

	lock();
	for (int i = 0; i < ATT_MAX; i++) {
		struct m_att *a = &w.att[i];
		int fd;

		/* a dead one polls EPOLLHUP: now and then only */
		if (!att_usable(a) || (att_life(a) == L_DEAD && !dead_too))
			continue;
		fd = h_use(a->f);
		e[n].ai = i;
		e[n].r = a->f;
		e[n].nr_vcpus = w.sg[a->sg].nr_vcpus;
		p[n++] = (struct pollfd){ .fd = fd, .events = POLLIN };
	}
	unlock();

	thr_op(t, "poll");
	if (n && poll(p, n, 5) > 0) {
		thr_op(t, "serve");
		for (int i = 0; i < n; i++) {
			if (p[i].revents & POLLIN) {
				serve(e[i].ai, e[i].r, p[i].fd, e[i].nr_vcpus);
				served = true;
			} else if ((p[i].revents & POLLHUP) &&
				   !gone_ok(e[i].ai)) {
				VIOLATION("EPOLLHUP with the guest alive");
			}
		}
	}
	if (!served)
		usleep(1000);	/* only hang-ups, or nothing to serve */
	thr_op(t, "daemon");
	if (chance(3))
		complete_wrongly();
	if (chance(2))
		stats_any();
	for (int i = 0; i < n; i++)
		h_unuse(e[i].r);
}

static void *daemon_fn(void *arg)
{
	struct thr *t = arg;

	rng = t->seed | 1;
	while (!park(t))
		daemon_one(t);
	return NULL;
}

/* ---- the interrupt and memory thread ---- */

static void signal_irqfd(void)
{
	struct href r = NOH;
	uint64_t one = 1;
	int ai, fd = -1;

	lock();
	ai = pick_att(false);
	if (ai >= 0 && w.att[ai].nr_irqfd) {
		struct m_att *a = &w.att[ai];

		r = a->irqfd[below(a->nr_irqfd)].eh;
		fd = h_use(r);
	}
	unlock();
	if (fd < 0)
		return;
	if (write(fd, &one, sizeof(one)) == sizeof(one))
		count(E_IRQ_SIGNALS, 1);
	h_unuse(r);
}

/* EOI a line, or look at a port; the counts never go down. */
static void eoi_line(void)
{
	struct virtbe_sim_irq_state st;
	struct rel rl = { 0 };
	bool port = chance(30);
	int si, fd, ret, line = below(NLINE);
	struct href r;

	lock();
	si = pick_sg(false);
	if (si < 0) {
		unlock();
		return;
	}
	r = w.sg[si].f;
	fd = h_use(r);
	/* under the lock: the counts must be compared in order */
	st = (struct virtbe_sim_irq_state){
		.size = sizeof(st),
		.flags = !port && chance(70) ? VIRTBE_SIM_IRQ_EOI : 0,
		.type = port ? VIRTBE_IRQ_EVTCHN : VIRTBE_IRQ_LEVEL,
		.irq = line,
	};
	ret = fz_call(fd, VIRTBE_SIM_IRQ_STATE, &st);
	if (EXPECT_RET("SIM_IRQ_STATE", ret, 0, 1)) {
		uint64_t *last = &w.sg[si].count[port][line];

		if (st.out_count < *last)
			VIOLATION("interrupt count of %s %d went from %llu to %llu",
				  port ? "port" : "line", line,
				  (unsigned long long)*last,
				  (unsigned long long)st.out_count);
		*last = st.out_count;
		if (st.out_level > 1 || (port && st.out_level))
			VIOLATION("out_level %u", st.out_level);
		if (st.flags)
			count(E_EOIS, 1);
	}
	h_unuse_locked(r, &rl);
	unlock();
	rel_do(&rl);
}

/* Read every frontend and resample eventfd once. */
static void drain_eventfds(void)
{
	struct href r[SG_MAX * NLINE * 2 + ATT_MAX * EFD_MAX];
	int fds[SG_MAX * NLINE * 2 + ATT_MAX * EFD_MAX], n = 0;
	bool all = chance(50);	/* the attachments' eventfds too */
	uint64_t v;

	lock();
	for (int i = 0; i < SG_MAX; i++)
		for (int l = 0; l < NLINE; l++) {
			struct href *c[2] = { &w.sg[i].line[l],
					      &w.sg[i].port[l] };

			for (int k = 0; w.sg[i].used && k < 2; k++) {
				fds[n] = h_use(*c[k]);
				if (fds[n] >= 0)
					r[n++] = *c[k];
			}
		}
	for (int i = 0; all && i < ATT_MAX; i++)
		for (int k = 0; w.att[i].used && k < EFD_MAX; k++) {
			fds[n] = h_use(w.att[i].efd[k]);
			if (fds[n] >= 0)
				r[n++] = w.att[i].efd[k];
		}
	unlock();
	for (int i = 0; i < n; i++) {
		if (read(fds[i], &v, sizeof(v)) < 0 && errno != EAGAIN)
			VIOLATION("read() of an eventfd: %s", strerror(errno));
		h_unuse(r[i]);
	}
}

/* The memfd offset of guest-physical address @gpa (the two regions). */
static uint64_t ram_off(uint64_t gpa)
{
	return gpa < RAM_REG ? gpa : gpa - RAM_B_GPA + RAM_REG;
}

/* Write through one side, read through the other: the same RAM. */
static void touch_window(void)
{
	struct href mr = NOH, vr = NOH;
	volatile uint64_t *wp, *vp;
	uint64_t val = rnd(), got = 0, o = 0, gpa = 0;
	uint8_t *viewp = NULL, *p = NULL;
	int ai = -1, k, si;
	bool rdonly = false;

	lock();
	for (int tries = 0; tries < 4 && mr.i < 0; tries++) {
		struct m_win *wi;

		ai = below(ATT_MAX);
		k = below(WIN_MAX);
		wi = &w.att[ai].win[k];
		if (!w.att[ai].used || !wi->used || !h_open(wi->map))
			continue;
		si = w.att[ai].sg;
		if (!h_open(w.sg[si].view))
			continue;
		h_use(wi->map);
		h_use(w.sg[si].view);
		mr = wi->map;
		vr = w.sg[si].view;
		p = wi->p;
		viewp = w.sg[si].viewp;
		rdonly = wi->rdonly;
		o = (below(wi->maplen >> 12) << 12) + 8 * below(512);
		gpa = wi->gpa + wi->off + o;
	}
	unlock();
	if (mr.i < 0)
		return;
	wp = (volatile uint64_t *)(p + o);
	vp = (volatile uint64_t *)(viewp + ram_off(gpa));
	count(E_TOUCHES, 1);
	if (!sigsetjmp(bus_jmp, 1)) {
		bus_armed = 1;
		if (rdonly) {
			*vp = val;
			got = *wp;
		} else {
			*wp = val;
			got = *vp;
		}
		bus_armed = 0;
		if (got != val)
			VIOLATION("window at gpa 0x%llx: wrote 0x%llx, read 0x%llx",
				  (unsigned long long)gpa,
				  (unsigned long long)val,
				  (unsigned long long)got);
	} else {
		bus_armed = 0;
		lock();
		if (!w.att[ai].closing && att_life(&w.att[ai]) == L_LIVE)
			VIOLATION("SIGBUS in a window of a live guest fd (gpa 0x%llx)",
				  (unsigned long long)gpa);
		unlock();
	}
	h_unuse(mr);
	h_unuse(vr);
}

static void *irqmem_fn(void *arg)
{
	struct thr *t = arg;

	rng = t->seed | 1;
	while (!park(t)) {
		unsigned int r = below(50);

		thr_op(t, "irq/mem");
		if (r < 15)
			signal_irqfd();
		else if (r < 25)
			eoi_line();
		else if (r < 30)
			drain_eventfds();
		else if (r < 49)
			touch_window();
		else
			stats_any();
		usleep(500);
	}
	return NULL;
}

/* ---- the driver: predictions ---- */

/* The results a call may have: 0 or -errno each. */
struct pred {
	int n;
	int r[4];
};

static struct pred pred1(int r)
{
	return (struct pred){ 1, { r } };
}

static void pred_add(struct pred *p, int r)
{
	for (int i = 0; i < p->n; i++)
		if (p->r[i] == r)
			return;
	if (p->n < 4)
		p->r[p->n++] = r;
}

/* A dead guest fails the call with ENODEV; one that may be, either way. */
static void pred_life(struct pred *p, enum life l)
{
	if (l == L_DEAD)
		*p = pred1(-ENODEV);
	else if (l == L_MAYBE)
		pred_add(p, -ENODEV);
}

static bool pred_check(int line, const char *what, const struct pred *p,
		       int ret)
{
	char want[128] = "";
	size_t o = 0;

	for (int i = 0; i < p->n; i++) {
		if (p->r[i] == ret)
			return true;
		o += snprintf(want + o, sizeof(want) - o, "%s%s", i ? " or " : "",
			      p->r[i] ? strerror(-p->r[i]) : "success");
		if (o >= sizeof(want))
			break;
	}
	violation(line, "%s returned %s, expected %s", what,
		  ret ? strerror(-ret) : "success", want);
	return false;
}

#define CHECK_PRED(what, p, ret) pred_check(__LINE__, what, p, ret)

/*
 * Under the lock, in the driver: @op on attachment @ai, with what the
 * model knew when it predicted, for the report of a broken prediction.
 */
static const char *what_att(const char *op, int ai)
{
	static char buf[200];
	const struct m_att *a = &w.att[ai];
	const struct m_sg *s = &w.sg[a->sg];

	snprintf(buf, sizeof(buf),
		 "%s (attachment %d of guest %llu: destroyed %d, closing %d, fd %s; %d daemon processes, %d of it)",
		 op, ai, (unsigned long long)s->id, s->destroyed, s->closing,
		 h_gone(s->f) ? "closed" : h_open(s->f) ? "open" : "closing",
		 w.nr_child, a->child_refs);
	return buf;
}

static int new_efd(void)
{
	return eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
}

static void sg_init(struct m_sg *s)
{
	memset(s, 0, sizeof(*s));
	s->f = NOH;
	s->ram = NOH;
	s->view = NOH;
	for (int l = 0; l < NLINE; l++) {
		s->line[l] = NOH;
		s->port[l] = NOH;
	}
}

static void att_init(struct m_att *a)
{
	memset(a, 0, sizeof(*a));
	a->f = NOH;
	for (int k = 0; k < WIN_MAX; k++) {
		a->win[k].f = NOH;
		a->win[k].map = NOH;
	}
	for (int k = 0; k < EFD_MAX; k++)
		a->efd[k] = NOH;
}

/* Under the lock: an open eventfd of @a's pool (a new one if @fresh). */
static struct href pick_efd(struct m_att *a, bool fresh)
{
	int open[EFD_MAX], n = 0, free_k = -1;

	for (int k = 0; k < EFD_MAX; k++) {
		if (h_open(a->efd[k]))
			open[n++] = k;
		else if (h_gone(a->efd[k]) && free_k < 0)
			free_k = k;
	}
	if ((fresh || !n) && free_k >= 0) {
		int fd = new_efd();

		if (fd >= 0) {
			a->efd[free_k] = h_add_fd(fd);
			return a->efd[free_k];
		}
	}
	return n ? a->efd[open[below(n)]] : NOH;
}

static bool href_eq(struct href a, struct href b)
{
	return a.i == b.i && a.gen == b.gen;
}

/* Under the lock: does no ioeventfd or irqfd of @a use eventfd @e? */
static bool efd_unused(const struct m_att *a, struct href e)
{
	for (int k = 0; k < a->nr_ioev; k++)
		if (href_eq(a->ioev[k].eh, e))
			return false;
	for (int k = 0; k < a->nr_irqfd; k++)
		if (href_eq(a->irqfd[k].eh, e) || href_eq(a->irqfd[k].rh, e))
			return false;
	return true;
}

/* The calls the driver makes most, counted. */
static int claim(int fd, const struct m_range *r, bool release)
{
	return fz_call(fd, VIRTBE_CLAIM_RANGE, &(struct virtbe_range){
		.size = sizeof(struct virtbe_range),
		.flags = (r->pio ? VIRTBE_RANGE_PIO : 0) |
			 (release ? VIRTBE_RANGE_RELEASE : 0),
		.addr = r->addr, .len = r->len,
	});
}

static int ioevfd(int fd, int efd, const struct m_ioev *e, bool deassign)
{
	return fz_call(fd, VIRTBE_IOEVENTFD, &(struct virtbe_ioeventfd){
		.size = sizeof(struct virtbe_ioeventfd),
		.flags = (e->wildcard ? 0 : VIRTBE_IOEVENTFD_DATAMATCH) |
			 (e->pio ? VIRTBE_IOEVENTFD_PIO : 0) |
			 (deassign ? VIRTBE_IOEVENTFD_DEASSIGN : 0),
		.fd = efd, .len = e->len, .addr = e->addr,
		.datamatch = e->dm,
	});
}

static int irqfd_call(int fd, int efd, int rfd, const struct m_irqfd *q,
		      bool deassign)
{
	return fz_call(fd, VIRTBE_IRQFD, &(struct virtbe_irqfd){
		.size = sizeof(struct virtbe_irqfd),
		.flags = (q->vmmio ? VIRTBE_IRQFD_VIRTIO_MMIO : 0) |
			 (deassign ? VIRTBE_IRQFD_DEASSIGN : 0),
		.fd = efd, .resamplefd = rfd, .type = q->type,
		.irq = q->type == VIRTBE_IRQ_MSI ? 0 : q->irq,
		.msi_addr = q->type == VIRTBE_IRQ_MSI ? 0xfee00000 : 0,
		.msi_data = q->type == VIRTBE_IRQ_MSI ? 0x41 : 0,
		.isr_bits = q->vmmio ? q->bits : 0,
		.vmmio_base = q->vmmio ? q->base : 0,
	});
}

/* ---- the driver: simulated guests ---- */

static int sim_ram(int sg, int memfd, uint64_t gpa, uint64_t len,
		   uint64_t off)
{
	struct virtbe_sim_ram r = {
		.size = sizeof(r), .memfd = memfd, .gpa = gpa, .len = len,
		.offset = off,
	};

	return fz_call(sg, VIRTBE_SIM_ADD_RAM, &r);
}

static void op_sg_bind(int si)
{
	struct virtbe_sim_bind_irq b = { .size = sizeof(b) };
	struct rel rl = { 0 };
	struct href r, *slot;
	bool port = chance(30);
	int fd, ret, efd = -1, l = below(NLINE);
	struct pred p;

	lock();
	r = w.sg[si].f;
	fd = h_use(r);
	p = pred1(0);
	pred_life(&p, w.sg[si].destroyed ? L_DEAD : L_LIVE);
	unlock();
	if (fd < 0)
		return;
	b.type = port ? VIRTBE_IRQ_EVTCHN :
		 chance(50) ? VIRTBE_IRQ_EDGE : VIRTBE_IRQ_LEVEL;
	b.irq = l;
	if (chance(20)) {
		b.flags = VIRTBE_SIM_BIND_IRQ_UNBIND;
		b.fd = -1;
	} else {
		efd = new_efd();
		b.fd = efd;
	}
	ret = fz_call(fd, VIRTBE_SIM_BIND_IRQ, &b);
	CHECK_PRED("SIM_BIND_IRQ", &p, ret);
	lock();
	slot = port ? &w.sg[si].port[l] : &w.sg[si].line[l];
	if (!ret) {
		h_close_locked(*slot, &rl);
		*slot = efd >= 0 ? h_add_fd(efd) : NOH;
	} else if (efd >= 0) {
		close(efd);
	}
	h_unuse_locked(r, &rl);
	unlock();
	rel_do(&rl);
}

static void op_sg_create(void)
{
	struct virtbe_sim_create c = { .size = sizeof(c) };
	int si = -1, fd, ram, ret;
	uint32_t idx;
	void *view;

	lock();
	for (int i = 0; i < SG_MAX && si < 0; i++)
		if (!w.sg[i].used)
			si = i;
	unlock();
	if (si < 0)
		return;
	c.nr_vcpus = 1 + below(VCPUS_MAX);
	fd = fz_ioctl(w.simctl, VIRTBE_SIM_CREATE, &c);
	if (fd < 0) {
		EXPECT_RET("SIM_CREATE", -errno, 0, 1);
		return;
	}
	ram = memfd_ram(RAM_SZ);
	ret = sim_ram(fd, ram, 0, RAM_REG, 0);
	EXPECT_RET("SIM_ADD_RAM", ret, 0, 1);
	ret = sim_ram(fd, ram, RAM_B_GPA, RAM_REG, RAM_REG);
	EXPECT_RET("SIM_ADD_RAM", ret, 0, 1);
	if (chance(20)) {
		/* overlapping regions are refused */
		ret = sim_ram(fd, ram, RAM_B_GPA + 0x1000 * below(32), 0x1000,
			      0);
		EXPECT_RET("SIM_ADD_RAM over RAM", ret, -EEXIST, 1);
	}
	view = mmap(NULL, RAM_SZ, PROT_READ | PROT_WRITE, MAP_SHARED, ram, 0);

	lock();
	sg_init(&w.sg[si]);
	w.sg[si].used = true;
	w.sg[si].f = h_add_fd(fd);
	w.sg[si].ram = h_add_fd(ram);
	if (view != MAP_FAILED) {
		w.sg[si].view = h_add(H_MAP, -1, view, RAM_SZ);
		w.sg[si].viewp = view;
		if (w.sg[si].view.i < 0)
			munmap(view, RAM_SZ);
	}
	w.sg[si].id = c.out_guest_id;
	w.sg[si].nr_vcpus = c.nr_vcpus;
	unlock();
	idx = __atomic_fetch_add(&sh->nr_ids, 1, __ATOMIC_RELAXED);
	if (idx < MAX_IDS)
		sh->ids[idx] = c.out_guest_id;
	for (int l = 0; l < NLINE; l++)
		if (chance(40))
			op_sg_bind(si);
}

/* After SIM_DESTROY: what the ABI says a daemon sees, on one guest fd. */
static void check_destroyed(int si)
{
	struct virtbe_request req;
	struct virtbe_completion c = { .size = sizeof(c), .id = 1 };
	struct virtbe_stats st;
	struct m_range range;
	struct pollfd p;
	struct href r = NOH, mr = NOH;
	int fd = -1, mfd = -1, ai = -1;
	ssize_t n;

	lock();
	for (int i = 0; i < ATT_MAX && ai < 0; i++)
		if (w.att[i].sg == si && att_usable(&w.att[i]))
			ai = i;
	if (ai >= 0) {
		r = w.att[ai].f;
		fd = h_use(r);
		for (int k = 0; k < WIN_MAX && mfd < 0; k++) {
			if (!w.att[ai].win[k].used)
				continue;
			mfd = h_use(w.att[ai].win[k].f);
			if (mfd >= 0)
				mr = w.att[ai].win[k].f;
		}
	}
	unlock();
	if (fd < 0)
		return;
	p = (struct pollfd){ .fd = fd, .events = POLLIN };
	if (poll(&p, 1, 0) != 1 || !(p.revents & POLLHUP))
		VIOLATION("guest fd of a destroyed guest: poll 0x%x, no EPOLLHUP",
			  p.revents);
	n = read(fd, &req, sizeof(req));
	count_call(C_READ, n < 0 ? errno : n ? 0 : ENODEV);
	if (n)
		VIOLATION("read() on a destroyed guest returned %zd", n);
	EXPECT_RET("completion on a destroyed guest",
		   (int)complete(fd, &c, sizeof(c)), -ENODEV, 1);
	range = (struct m_range){ false, SLOT(below(NSLOT)), 0x100 };
	EXPECT_RET("CLAIM_RANGE on a destroyed guest",
		   claim(fd, &range, false), -ENODEV, 1);
	lock();
	att_stats(&w.att[ai], fd, &st);
	unlock();
	if (mfd >= 0) {
		void *m = mmap(NULL, 4096, PROT_READ, MAP_SHARED, mfd, 0);

		count_call(C_MMAP, m == MAP_FAILED ? errno : 0);
		if (m != MAP_FAILED) {
			VIOLATION("mmap() of a destroyed guest's memory fd");
			munmap(m, 4096);
		} else if (errno != ENODEV) {
			VIOLATION("mmap() of a destroyed guest's memory fd: %s",
				  strerror(errno));
		}
		h_unuse(mr);
	}
	h_unuse(r);
}

static void op_sg_destroy(int si)
{
	struct virtbe_sim_destroy d = { .size = sizeof(d) };
	struct virtbe_sim_fault f = { .size = sizeof(f), .fault = 1 };
	struct virtbe_sim_irq_state st = {
		.size = sizeof(st), .type = VIRTBE_IRQ_EDGE,
	};
	struct href r;
	uint64_t id;
	int fd, ret;

	lock();
	r = w.sg[si].f;
	fd = h_use(r);
	if (fd >= 0 && !w.sg[si].destroyed)
		w.sg[si].destroying = true;
	id = w.sg[si].id;
	unlock();
	if (fd < 0)
		return;
	ret = fz_call(fd, VIRTBE_SIM_DESTROY, &d);
	lock();
	EXPECT_RET("SIM_DESTROY", ret, w.sg[si].destroyed ? -ENODEV : 0, 1);
	w.sg[si].destroyed = true;
	w.sg[si].destroying = false;
	unlock();
	count(E_DESTROYS, 1);
	/* the sim guest fd answers only SIM_IRQ_STATE */
	EXPECT_RET("SIM_FAULT after SIM_DESTROY",
		   fz_call(fd, VIRTBE_SIM_FAULT, &f), -ENODEV, 1);
	EXPECT_RET("SIM_IRQ_STATE after SIM_DESTROY",
		   fz_call(fd, VIRTBE_SIM_IRQ_STATE, &st), 0, 1);
	/* nobody attaches to a destroyed guest */
	ret = _attach(w.ctl, VIRTBE_HYP_SIM, id, 0);
	count_call(C_ATTACH, ret < 0 ? -ret : 0);
	if (ret >= 0)
		close(ret);
	EXPECT_RET("ATTACH to a destroyed guest", ret < 0 ? ret : 0, -ENOENT,
		   1);
	check_destroyed(si);
	h_unuse(r);
}

static void op_sg_close(int si)
{
	struct rel rl = { 0 };

	lock();
	w.sg[si].closing = true;
	h_close_locked(w.sg[si].f, &rl);
	if (chance(50))
		h_close_locked(w.sg[si].ram, &rl);
	unlock();
	rel_do(&rl);
}

static void op_sg_fault(int si)
{
	struct virtbe_sim_fault f = { .size = sizeof(f) };
	struct href r;
	int fd, ret;
	bool dead;

	f.fault = 1 + below(5);
	switch (f.fault) {
	case VIRTBE_SIM_FAULT_FAIL_MAP:
	case VIRTBE_SIM_FAULT_DROP_IRQ:
		f.arg = below(3);
		break;
	case VIRTBE_SIM_FAULT_DELAY_IRQ:
		f.arg = chance(50) ? 0 : below(20);
		break;
	case VIRTBE_SIM_FAULT_DELAY_COMPLETION:
		f.arg = chance(50) ? 0 : below(30);
		break;
	default:
		/* each dropped access holds a vCPU 2 s */
		f.arg = chance(85) ? 0 : 1;
	}
	lock();
	r = w.sg[si].f;
	fd = h_use(r);
	dead = w.sg[si].destroyed;
	unlock();
	if (fd < 0)
		return;
	ret = fz_call(fd, VIRTBE_SIM_FAULT, &f);
	EXPECT_RET("SIM_FAULT", ret, dead ? -ENODEV : 0, 1);
	lock();
	if (!ret && f.fault == VIRTBE_SIM_FAULT_FAIL_MAP)
		w.sg[si].fail_map = f.arg;
	unlock();
	h_unuse(r);
}

/* Clear every fault of a guest (for the directed checks). */
static void sg_no_faults(int si, int fd)
{
	for (uint32_t k = 1; k <= VIRTBE_SIM_FAULT_DROP_EVENT; k++) {
		struct virtbe_sim_fault f = { .size = sizeof(f), .fault = k };

		EXPECT_RET("SIM_FAULT 0", fz_call(fd, VIRTBE_SIM_FAULT, &f), 0,
			   1);
	}
	w.sg[si].fail_map = 0;
}

/* ---- the driver: attachments ---- */

static void op_attach(void)
{
	static const uint32_t timeouts[] = { 0, 50, 200, 500, 2000 };
	struct virtbe_attach c = { .size = sizeof(c), .hyp = VIRTBE_HYP_SIM };
	int si, ai = -1, fd;
	struct pred p;
	uint32_t nr;

	lock();
	for (int i = 0; i < ATT_MAX && ai < 0; i++)
		if (!w.att[i].used)
			ai = i;
	si = chance(90) ? pick_sg(true) : pick_sg(false);
	if (ai < 0 || si < 0) {
		unlock();
		return;
	}
	c.guest_id = w.sg[si].id;
	nr = w.sg[si].nr_vcpus;
	p = pred1(w.sg[si].destroyed ? -ENOENT : 0);
	unlock();
	c.request_timeout_ms = timeouts[below(5)];
	fd = fz_ioctl(w.ctl, VIRTBE_ATTACH, &c);
	if (!CHECK_PRED("ATTACH", &p, fd < 0 ? -errno : 0) || fd < 0) {
		if (fd >= 0)
			close(fd);
		return;
	}
	if (c.out_nr_vcpus != nr)
		VIOLATION("ATTACH: out_nr_vcpus %u, the guest has %u",
			  c.out_nr_vcpus, nr);
	fcntl(fd, F_SETFL, O_NONBLOCK);
	lock();
	att_init(&w.att[ai]);
	w.att[ai].used = true;
	w.att[ai].f = h_add_fd(fd);
	w.att[ai].sg = si;
	w.att[ai].timeout_ms = c.request_timeout_ms ?: 1000;
	unlock();
}

static void att_close_locked(struct m_att *a, struct rel *rl)
{
	a->closing = true;
	h_close_locked(a->f, rl);
}

static void op_att_close(void)
{
	struct rel rl = { 0 };
	int ai = -1;

	lock();
	/* mostly the dead ones */
	for (int i = 0; i < ATT_MAX && ai < 0; i++)
		if (att_usable(&w.att[i]) && att_life(&w.att[i]) == L_DEAD &&
		    chance(70))
			ai = i;
	if (ai < 0)
		ai = pick_att(false);
	if (ai >= 0) {
		att_close_locked(&w.att[ai], &rl);
		/* its windows: closed now, or left (revoked) for later */
		for (int k = 0; k < WIN_MAX; k++)
			if (chance(30)) {
				h_close_locked(w.att[ai].win[k].f, &rl);
				h_close_locked(w.att[ai].win[k].map, &rl);
			}
	}
	unlock();
	rel_do(&rl);
}

/* ---- the driver: claimed ranges ---- */

static struct m_range gen_range(void)
{
	int s = below(NSLOT);

	switch (below(8)) {
	case 0: case 1: case 2:
		return (struct m_range){ false, SLOT(s), 0x1000 };
	case 3:
		return (struct m_range){ false, SLOT(s) + 0x800 * below(2), 0x800 };
	case 4:
		return (struct m_range){ false, SLOT(s) + 0x400 * below(4), 0x400 };
	case 5:	/* across two slots */
		return (struct m_range){ false, SLOT(s) + 0x800, 0x1000 };
	case 6:
		return (struct m_range){ true, PSLOT(s), 0x10 };
	default:
		return (struct m_range){ true, PSLOT(s) + 8, 0x10 };
	}
}

/*
 * Under the lock: the outcome of claiming @r on @ai, or false when the
 * model has no room for it.
 */
static bool predict_claim(int ai, const struct m_range *r, struct pred *p)
{
	struct m_att *a = &w.att[ai];
	bool surely = false, maybe = false;

	if (a->nr_range >= RANGE_MAX)
		return false;
	for (int i = 0; i < ATT_MAX; i++) {
		struct m_att *b = &w.att[i];

		if (!b->used || b->sg != a->sg || !att_holds(b))
			continue;
		for (int k = 0; k < b->nr_range; k++) {
			if (b->range[k].pio != r->pio ||
			    !overlaps(b->range[k].addr, b->range[k].len,
				      r->addr, r->len))
				continue;
			if (att_surely_holds(b) || b == a)
				surely = true;
			else
				maybe = true;
		}
	}
	*p = pred1(surely ? -EEXIST : 0);
	if (maybe && !surely)
		pred_add(p, -EEXIST);
	pred_life(p, att_life(a));
	return true;
}

static void range_del(struct m_att *a, const struct m_range *r)
{
	for (int k = 0; k < a->nr_range; k++)
		if (a->range[k].pio == r->pio && a->range[k].addr == r->addr &&
		    a->range[k].len == r->len) {
			a->range[k] = a->range[--a->nr_range];
			return;
		}
}

static void op_claim(void)
{
	struct m_range r = gen_range();
	struct rel rl = { 0 };
	const char *what;
	struct href h;
	struct pred p;
	int ai, fd, ret;

	lock();
	ai = pick_att(false);
	if (ai < 0 || !predict_claim(ai, &r, &p)) {
		unlock();
		return;
	}
	h = w.att[ai].f;
	fd = h_use(h);
	what = what_att("CLAIM_RANGE", ai);
	unlock();
	ret = claim(fd, &r, false);
	CHECK_PRED(what, &p, ret);
	lock();
	if (!ret)
		w.att[ai].range[w.att[ai].nr_range++] = r;
	h_unuse_locked(h, &rl);
	unlock();
	rel_do(&rl);
}

static void op_release(void)
{
	struct rel rl = { 0 };
	const char *what;
	struct m_range r;
	struct href h;
	struct pred p;
	int ai, fd, ret;

	lock();
	ai = pick_att(false);
	if (ai < 0) {
		unlock();
		return;
	}
	if (w.att[ai].nr_range && chance(75)) {
		r = w.att[ai].range[below(w.att[ai].nr_range)];
		p = pred1(0);
		if (chance(15)) {
			/* not exactly what was claimed */
			r.len += 0x10;
			p = pred1(-ENOENT);
		}
	} else {
		/* another attachment's, or nobody's: ENOENT */
		r = gen_range();
		p = pred1(-ENOENT);
		for (int k = 0; k < w.att[ai].nr_range; k++)
			if (w.att[ai].range[k].pio == r.pio &&
			    w.att[ai].range[k].addr == r.addr &&
			    w.att[ai].range[k].len == r.len)
				p = pred1(0);
	}
	pred_life(&p, att_life(&w.att[ai]));
	h = w.att[ai].f;
	fd = h_use(h);
	what = what_att("CLAIM_RANGE release", ai);
	unlock();
	ret = claim(fd, &r, true);
	CHECK_PRED(what, &p, ret);
	lock();
	if (!ret)
		range_del(&w.att[ai], &r);
	h_unuse_locked(h, &rl);
	unlock();
	rel_do(&rl);
}

/* A range of one attachment, refused to another, released, claimed by it. */
static void op_reclaim(void)
{
	int from = -1, to = -1, ffd, tfd, ret;
	struct rel rl = { 0 };
	struct href fh, th;
	struct m_range r;

	lock();
	for (int i = 0; i < ATT_MAX && from < 0; i++) {
		int j = below(ATT_MAX);
		struct m_att *a = &w.att[j];

		if (att_usable(a) && att_life(a) == L_LIVE && a->nr_range)
			from = j;
	}
	if (from >= 0)
		for (int i = 0; i < ATT_MAX; i++) {
			struct m_att *a = &w.att[i];

			if (i != from && att_usable(a) &&
			    a->sg == w.att[from].sg &&
			    att_life(a) == L_LIVE && a->nr_range < RANGE_MAX)
				to = i;
		}
	if (to < 0) {
		unlock();
		return;
	}
	r = w.att[from].range[below(w.att[from].nr_range)];
	fh = w.att[from].f;
	th = w.att[to].f;
	ffd = h_use(fh);
	tfd = h_use(th);
	unlock();

	EXPECT_RET("CLAIM_RANGE of another attachment's range",
		   claim(tfd, &r, false), -EEXIST, 1);
	EXPECT_RET("CLAIM_RANGE release of another attachment's range",
		   claim(tfd, &r, true), -ENOENT, 1);
	ret = claim(ffd, &r, true);
	EXPECT_RET("CLAIM_RANGE release", ret, 0, 1);
	lock();
	if (!ret)
		range_del(&w.att[from], &r);
	unlock();
	ret = claim(tfd, &r, false);
	EXPECT_RET("CLAIM_RANGE of a released range", ret, 0, 1);
	lock();
	if (!ret) {
		w.att[to].range[w.att[to].nr_range++] = r;
		count(E_RECLAIMS, 1);
	}
	h_unuse_locked(fh, &rl);
	h_unuse_locked(th, &rl);
	unlock();
	rel_do(&rl);
}

/* ---- the driver: memory windows ---- */

static bool backed(uint64_t gpa, uint64_t len)
{
	return gpa + len <= RAM_REG ||
	       (gpa >= RAM_B_GPA && gpa + len <= RAM_B_GPA + RAM_REG);
}

static void *do_mmap(size_t len, int prot, int flags, int fd, off_t off)
{
	void *p = mmap(NULL, len, prot, flags, fd, off);

	count_call(C_MMAP, p == MAP_FAILED ? errno : 0);
	return p;
}

static void op_map(void)
{
	struct virtbe_mem_map m = { .size = sizeof(m) };
	const char *what;
	int ai, k = -1, fd, mfd, ret;
	bool maybe = false, surely = false;
	uint64_t pages, off, maplen;
	struct href h;
	struct m_att *a;
	uint8_t *p;
	struct pred pr;
	enum life life;

	lock();
	ai = pick_att(false);
	if (ai < 0) {
		unlock();
		return;
	}
	a = &w.att[ai];
	for (int i = 0; i < WIN_MAX && k < 0; i++)
		if (!a->win[i].used)
			k = i;
	if (k < 0) {
		unlock();
		return;
	}
	switch (below(10)) {
	default: {
		uint64_t pg = below(32);

		m.gpa = (chance(50) ? 0 : RAM_B_GPA) + (pg << 12);
		m.len = (1 + below(32 - pg < 8 ? 32 - pg : 8)) << 12;
		break;
	}
	case 7:		/* across the hole */
		m.gpa = RAM_REG - 0x1000 * (1 + below(2));
		m.len = 0x3000;
		break;
	case 8:		/* no RAM there */
		m.gpa = 0x100000 + (below(16) << 12);
		m.len = 0x1000;
		break;
	case 9: {	/* over another window */
		int j = below(WIN_MAX);

		m.gpa = a->win[j].used ? a->win[j].gpa : 0;
		m.len = 0x1000;
	}
	}
	m.flags = chance(25) ? VIRTBE_MEM_MAP_RDONLY : 0;
	for (int j = 0; j < WIN_MAX; j++) {
		struct m_win *wi = &a->win[j];

		if (!wi->used || !overlaps(wi->gpa, wi->len, m.gpa, m.len))
			continue;
		if (h_open(wi->f) || h_open(wi->map))
			surely = true;
		else if (!h_gone(wi->f) || !h_gone(wi->map) || wi->child_refs)
			maybe = true;
	}
	life = att_life(a);
	if (surely) {
		pr = pred1(-EEXIST);
	} else {
		pr = pred1(w.sg[a->sg].fail_map ? -EIO :
			   backed(m.gpa, m.len) ? 0 : -ENXIO);
		if (maybe)
			pred_add(&pr, -EEXIST);
	}
	pred_life(&pr, life);
	h = a->f;
	fd = h_use(h);
	what = what_att("MEM_MAP", ai);
	unlock();

	mfd = fz_ioctl(fd, VIRTBE_MEM_MAP, &m);
	ret = mfd < 0 ? -errno : 0;
	CHECK_PRED(what, &pr, ret);
	lock();
	if (ret == -EIO && w.sg[a->sg].fail_map)
		w.sg[a->sg].fail_map--;
	unlock();
	if (mfd < 0)
		goto out;

	pages = m.len >> 12;
	if (chance(20)) {
		/* refused mappings */
		p = do_mmap(4096, PROT_READ, MAP_PRIVATE, mfd, 0);
		EXPECT_RET("mmap(MAP_PRIVATE) of a memory fd",
			   p == MAP_FAILED ? -errno : 0, -EINVAL, 1);
		p = do_mmap(8192, PROT_READ, MAP_SHARED, mfd,
			    (pages - 1) << 12);
		EXPECT_RET("mmap() past a window", p == MAP_FAILED ? -errno : 0,
			   -EINVAL, 1);
		if (m.flags & VIRTBE_MEM_MAP_RDONLY) {
			p = do_mmap(4096, PROT_READ | PROT_WRITE, MAP_SHARED,
				    mfd, 0);
			EXPECT_RET("mmap(PROT_WRITE) of a read-only window",
				   p == MAP_FAILED ? -errno : 0, -EACCES, 1);
		}
	}
	off = below(pages);
	maplen = 1 + below(pages - off);
	p = do_mmap(maplen << 12, PROT_READ | (m.flags ? 0 : PROT_WRITE),
		    MAP_SHARED, mfd, off << 12);
	pr = pred1(0);
	pred_life(&pr, life == L_LIVE ? L_LIVE : L_MAYBE);
	CHECK_PRED("mmap() of a memory fd", &pr, p == MAP_FAILED ? -errno : 0);

	lock();
	a->win[k] = (struct m_win){
		.used = true, .f = h_add_fd(mfd), .map = NOH, .gpa = m.gpa,
		.len = m.len, .rdonly = m.flags, .off = off << 12,
		.maplen = maplen << 12,
	};
	if (p != MAP_FAILED) {
		a->win[k].map = h_add(H_MAP, -1, p, maplen << 12);
		a->win[k].p = p;
		if (a->win[k].map.i < 0)
			munmap(p, maplen << 12);
	}
	unlock();
out:
	h_unuse(h);
}

static void op_win_close(void)
{
	struct rel rl = { 0 };
	int ai;

	lock();
	ai = pick_att(false);
	if (ai >= 0) {
		struct m_win *wi = &w.att[ai].win[below(WIN_MAX)];
		unsigned int r = below(10);

		if (wi->used && r < 6)
			h_close_locked(wi->f, &rl);
		if (wi->used && r >= 4)
			h_close_locked(wi->map, &rl);
	}
	unlock();
	rel_do(&rl);
}

/* ---- the driver: ioeventfds ---- */

/* As the kernel decides (kernel/ioeventfd.c): do they conflict? */
static bool ioev_conflict(const struct m_ioev *a, const struct m_ioev *b)
{
	uint64_t alen = a->len ?: 1, blen = b->len ?: 1;

	if (a->pio != b->pio || !overlaps(a->addr, alen, b->addr, blen))
		return false;
	return a->wildcard || b->wildcard || a->addr != b->addr ||
	       a->len != b->len || a->dm == b->dm;
}

/*
 * Under the lock, for op_ioev() and op_ioev_deassign(): (de)assign @e on
 * attachment @ai, expecting @p; on success update the model (@j: the index
 * of the one deassigned, or -1).  Returns with the lock dropped.
 */
static void ioev_do(int ai, const struct m_ioev *e, int j,
		    const struct pred *p, bool deassign)
{
	struct m_att *a = &w.att[ai];
	struct rel rl = { 0 };
	struct href h = a->f;
	const char *what;
	int fd, efd, ret;

	fd = h_use(h);
	efd = h_use(e->eh);
	what = what_att(deassign ? "IOEVENTFD deassign" : "IOEVENTFD", ai);
	unlock();
	if (efd < 0) {
		/* its eventfd was closed: an ioeventfd stays until the guest fd goes */
		h_unuse(h);
		return;
	}
	ret = ioevfd(fd, efd, e, deassign);
	CHECK_PRED(what, p, ret);
	lock();
	if (!ret && !deassign)
		a->ioev[a->nr_ioev++] = *e;
	else if (!ret && j >= 0)
		a->ioev[j] = a->ioev[--a->nr_ioev];
	h_unuse_locked(h, &rl);
	h_unuse_locked(e->eh, &rl);
	unlock();
	rel_do(&rl);
}

static void op_ioev(void)
{
	struct m_ioev e;
	struct m_att *a;
	struct pred p;
	int ai;

	lock();
	ai = pick_att(false);
	if (ai < 0 || w.att[ai].nr_ioev >= IOEV_MAX) {
		unlock();
		return;
	}
	a = &w.att[ai];
	e = (struct m_ioev){ .eh = pick_efd(a, chance(60)) };
	if (chance(20)) {
		e.pio = true;
		e.addr = PSLOT(below(NSLOT)) + 2 * below(4);
		e.len = 1 << below(3);
	} else {
		e.addr = SLOT(below(NSLOT)) + 0x100 * below(2) +
			 VMMIO_NOTIFY + 4 * below(2);
		e.len = chance(80) ? 4 : chance(50) ? 0 : 2;
	}
	e.wildcard = !e.len || chance(35);
	e.dm = e.wildcard ? 0 : below(4);
	p = pred1(0);
	for (int k = 0; k < a->nr_ioev; k++)
		if (ioev_conflict(&a->ioev[k], &e))
			p = pred1(-EEXIST);
	pred_life(&p, att_life(a));
	ioev_do(ai, &e, -1, &p, false);
}

static void op_ioev_deassign(void)
{
	struct m_ioev e;
	struct m_att *a;
	struct pred p;
	int ai, j;

	lock();
	ai = pick_att(false);
	if (ai < 0 || !w.att[ai].nr_ioev) {
		unlock();
		return;
	}
	a = &w.att[ai];
	j = below(a->nr_ioev);
	e = a->ioev[j];
	if (chance(30)) {
		/* something not assigned */
		if (!e.wildcard)
			e.dm ^= 1;
		else
			e.addr += 4;
		if (chance(50))
			e.eh = pick_efd(a, false);
		j = -1;
		for (int k = 0; k < a->nr_ioev; k++) {
			struct m_ioev *o = &a->ioev[k];

			if (href_eq(o->eh, e.eh) && o->addr == e.addr &&
			    o->len == e.len && o->pio == e.pio &&
			    o->wildcard == e.wildcard && o->dm == e.dm)
				j = k;
		}
	}
	p = pred1(j < 0 ? -ENOENT : 0);
	pred_life(&p, att_life(a));
	ioev_do(ai, &e, j, &p, true);
}

/* ---- the driver: irqfds ---- */

/* Under the lock: is a device at @base inside one MMIO range of @a? */
static bool vmmio_base_ok(const struct m_att *a, uint64_t base)
{
	for (int k = 0; k < a->nr_range; k++)
		if (!a->range[k].pio && base >= a->range[k].addr &&
		    base + 0x100 <= a->range[k].addr + a->range[k].len)
			return true;
	return false;
}

/* Under the lock: a 256-byte aligned device base; *ok if inside a range. */
static uint64_t pick_vmmio_base(const struct m_att *a, bool *ok)
{
	uint64_t base = SLOT(below(NSLOT)) + 0x100 * below(2);
	int c[RANGE_MAX], n = 0;

	for (int k = 0; k < a->nr_range; k++)
		if (!a->range[k].pio && a->range[k].len >= 0x100)
			c[n++] = k;
	if (n && chance(85)) {
		const struct m_range *r = &a->range[c[below(n)]];
		uint64_t first = (r->addr + 0xff) & ~0xffULL;

		if (first + 0x100 <= r->addr + r->len)
			base = first + 0x100 * below((r->addr + r->len -
						      first) / 0x100 > 1 ? 2 : 1);
	}
	*ok = vmmio_base_ok(a, base);
	return base;
}

/*
 * Before a call that flushes the irqfd workqueue (a deassign that looked
 * up its eventfd): note the irqfds whose eventfd is closed; once it
 * returned they are gone (irqfd_flushed()).
 */
static void irqfd_flush_begin(void)
{
	for (int i = 0; i < ATT_MAX; i++)
		for (int k = 0; k < w.att[i].nr_irqfd; k++)
			w.att[i].irqfd[k].flushing =
				h_gone(w.att[i].irqfd[k].eh);
}

static void irqfd_flushed(void)
{
	for (int i = 0; i < ATT_MAX; i++) {
		struct m_att *a = &w.att[i];

		for (int k = 0; k < a->nr_irqfd;)
			if (a->irqfd[k].flushing)
				a->irqfd[k] = a->irqfd[--a->nr_irqfd];
			else
				k++;
	}
}

/* Under the lock: the outcome of assigning @q on @a. */
static struct pred predict_irqfd(const struct m_att *a, const struct m_irqfd *q,
				 bool base_ok)
{
	bool surely = false, maybe = false;
	struct pred p;

	if (q->vmmio && !base_ok) {
		p = pred1(-EINVAL);
		goto out;
	}
	if (q->type == VIRTBE_IRQ_MSI) {
		p = pred1(-EOPNOTSUPP);
		goto out;
	}
	if (q->vmmio)
		for (int k = 0; k < a->nr_irqfd; k++) {
			const struct m_irqfd *o = &a->irqfd[k];

			if (!o->vmmio || o->base != q->base ||
			    (o->type == q->type && o->irq == q->irq))
				continue;
			/* one device, one interrupt */
			if (h_open(o->eh))
				surely = true;
			else
				maybe = true;
		}
	if (surely) {
		p = pred1(-EINVAL);
		goto out;
	}
	p = pred1(0);
	for (int k = 0; k < a->nr_irqfd; k++)
		if (href_eq(a->irqfd[k].eh, q->eh))
			p = pred1(-EBUSY);
	if (maybe)
		pred_add(&p, -EINVAL);
out:
	pred_life(&p, att_life(a));
	return p;
}

static void op_irqfd(void)
{
	static const uint32_t types[] = {
		VIRTBE_IRQ_EDGE, VIRTBE_IRQ_EDGE, VIRTBE_IRQ_LEVEL,
		VIRTBE_IRQ_LEVEL, VIRTBE_IRQ_EVTCHN, VIRTBE_IRQ_EVTCHN,
		VIRTBE_IRQ_EDGE, VIRTBE_IRQ_LEVEL, VIRTBE_IRQ_EVTCHN,
		VIRTBE_IRQ_MSI,
	};
	struct rel rl = { 0 };
	int ai, fd, efd, rfd = -1, ret;
	struct m_irqfd q = { .rh = NOH, .rfd = -1 };
	bool base_ok = true;
	const char *what;
	struct m_att *a;
	struct href h;
	struct pred p;

	lock();
	ai = pick_att(false);
	if (ai < 0 || w.att[ai].nr_irqfd >= IRQFD_MAX) {
		unlock();
		return;
	}
	a = &w.att[ai];
	q.type = types[below(10)];
	q.irq = below(NLINE);
	if (a->nr_irqfd && chance(10))
		q.eh = a->irqfd[below(a->nr_irqfd)].eh;	/* EBUSY */
	else
		q.eh = pick_efd(a, chance(80));
	if (q.type == VIRTBE_IRQ_LEVEL)
		q.rh = pick_efd(a, chance(50));
	if (chance(55)) {
		q.vmmio = true;
		q.bits = 1 + below(3);
		q.base = pick_vmmio_base(a, &base_ok);
	}
	p = predict_irqfd(a, &q, base_ok);
	h = a->f;
	fd = h_use(h);
	efd = h_use(q.eh);
	if (q.type == VIRTBE_IRQ_LEVEL)
		rfd = h_use(q.rh);
	what = what_att("IRQFD", ai);
	unlock();
	if (efd < 0 || (q.type == VIRTBE_IRQ_LEVEL && rfd < 0))
		goto out;
	ret = irqfd_call(fd, efd, rfd, &q, false);
	CHECK_PRED(what, &p, ret);
	lock();
	if (!ret)
		a->irqfd[a->nr_irqfd++] = q;
	unlock();
out:
	lock();
	h_unuse_locked(h, &rl);
	if (efd >= 0)
		h_unuse_locked(q.eh, &rl);
	if (rfd >= 0)
		h_unuse_locked(q.rh, &rl);
	unlock();
	rel_do(&rl);
}

static void op_irqfd_deassign(void)
{
	struct m_irqfd q = { .type = VIRTBE_IRQ_EDGE };
	struct rel rl = { 0 };
	int ai, j = -1, fd, efd, ret;
	const char *what;
	struct m_att *a;
	struct href h;
	struct pred p;

	lock();
	ai = pick_att(false);
	if (ai < 0) {
		unlock();
		return;
	}
	a = &w.att[ai];
	if (a->nr_irqfd && chance(70)) {
		j = below(a->nr_irqfd);
		q.eh = a->irqfd[j].eh;
	} else {
		q.eh = pick_efd(a, false);
		for (int k = 0; k < a->nr_irqfd; k++)
			if (href_eq(a->irqfd[k].eh, q.eh))
				j = k;
	}
	h = a->f;
	fd = h_use(h);
	efd = h_use(q.eh);
	p = pred1(j >= 0 ? 0 : -ENOENT);
	pred_life(&p, att_life(a));
	if (efd >= 0)
		irqfd_flush_begin();
	what = what_att("IRQFD deassign", ai);
	unlock();
	if (efd < 0) {
		h_unuse(h);
		return;
	}
	ret = irqfd_call(fd, efd, -1, &q, true);
	CHECK_PRED(what, &p, ret);
	lock();
	if (!ret && j >= 0)
		a->irqfd[j] = a->irqfd[--a->nr_irqfd];
	if (!ret || ret == -ENOENT)
		irqfd_flushed();
	h_unuse_locked(h, &rl);
	h_unuse_locked(q.eh, &rl);
	unlock();
	rel_do(&rl);
}

/* Close an eventfd: its irqfds go away (EPOLLHUP), its ioeventfds stay. */
static void op_efd_close(void)
{
	struct rel rl = { 0 };
	int ai;

	lock();
	ai = pick_att(false);
	if (ai >= 0)
		h_close_locked(w.att[ai].efd[below(EFD_MAX)], &rl);
	unlock();
	rel_do(&rl);
}

/* ---- the driver: invalid calls on live objects ---- */

struct inval {
	int fd;
	unsigned long cmd;
	union {
		uint8_t b[64];
		uint32_t w[16];
		struct virtbe_info info;
		struct virtbe_attach attach;
		struct virtbe_mem_map map;
		struct virtbe_range range;
		struct virtbe_ioeventfd ioev;
		struct virtbe_irqfd irqfd;
		struct virtbe_stats stats;
		struct virtbe_sim_create create;
		struct virtbe_sim_ram ram;
		struct virtbe_sim_access access;
		struct virtbe_sim_bind_irq bind;
		struct virtbe_sim_irq_state irq;
		struct virtbe_sim_fault fault;
		struct virtbe_sim_destroy destroy;
	} u;
	int where;		/* 0: u, 1: NULL, 2: unmapped, 3: read-only */
	struct pred want;
	const char *what;
	int tmp_fd;		/* closed after the call */
};

/* Under the lock: an invalid call on guest fd @fd of attachment @ai. */
static void inval_att(int ai, int fd, struct inval *iv)
{
	struct m_att *a = &w.att[ai];
	enum life life = att_life(a);
	struct href e = pick_efd(a, false);
	int efd = h_open(e) ? w.h[e.i].fd : -1;

	iv->fd = fd;
	switch (below(efd < 0 ? 7 : 9)) {
	case 0:
		iv->cmd = VIRTBE_GET_STATS;
		iv->u.stats.size = sizeof(iv->u.stats);
		switch (below(3)) {
		case 0:
			iv->u.stats.flags = 1;
			iv->want = pred1(-EOPNOTSUPP);
			iv->what = "GET_STATS with a flag";
			break;
		case 1:
			/* below the first version (64: up to out_irqs) */
			iv->u.stats.size = below(offsetof(struct virtbe_stats,
							  out_rejected));
			iv->want = pred1(-EINVAL);
			iv->what = "GET_STATS with a short size";
			break;
		default:
			iv->where = 3;
			iv->want = pred1(-EFAULT);
			iv->what = "GET_STATS into read-only memory";
		}
		return;
	case 1:
		iv->cmd = VIRTBE_MEM_MAP;
		iv->u.map = (struct virtbe_mem_map){
			.size = sizeof(iv->u.map), .len = 0x1000,
		};
		iv->want = pred1(-EINVAL);
		switch (below(7)) {
		case 0:
			iv->u.map.size += 8;
			iv->u.b[sizeof(iv->u.map) + below(8)] = 1;
			iv->want = pred1(-E2BIG);
			iv->what = "MEM_MAP with a longer size, non-zero tail";
			break;
		case 1:
			iv->u.map.flags = 2;
			iv->want = pred1(-EOPNOTSUPP);
			iv->what = "MEM_MAP with an unknown flag";
			break;
		case 2:
			iv->u.map.gpa = 0x800;
			iv->what = "MEM_MAP misaligned";
			break;
		case 3:
			iv->u.map.len = 0;
			iv->what = "MEM_MAP of 0 bytes";
			break;
		case 4:
			iv->u.map.len = (64ULL << 30) + 0x1000;
			iv->what = "MEM_MAP of more than 64 GiB";
			break;
		case 5:
			iv->u.map.__reserved = 1;
			iv->what = "MEM_MAP with a reserved field";
			break;
		default:
			iv->u.map.gpa = ~0xfffULL;
			iv->u.map.len = 0x2000;
			iv->what = "MEM_MAP wrapping";
		}
		return;
	case 2:
		iv->cmd = VIRTBE_CLAIM_RANGE;
		iv->u.range = (struct virtbe_range){
			.size = sizeof(iv->u.range), .addr = SLOT(0),
			.len = 0x100,
		};
		iv->want = pred1(-EINVAL);
		switch (below(3)) {
		case 0:
			iv->u.range.flags = 4 << below(29);
			iv->want = pred1(-EOPNOTSUPP);
			iv->what = "CLAIM_RANGE with an unknown flag";
			break;
		case 1:
			iv->u.range.len = 0;
			iv->what = "CLAIM_RANGE of 0 bytes";
			break;
		default:
			iv->u.range.addr = ~0ULL - 0x10;
			iv->what = "CLAIM_RANGE wrapping";
		}
		return;
	case 3:
		iv->cmd = below(2) ? VIRTBE_SIM_ACCESS : VIRTBE_ATTACH;
		if (chance(30))
			iv->cmd = _IOWR(VIRTBE_TYPE, VIRTBE_CMD_MEM_MAP,
					struct virtbe_mem_map);
		else if (chance(30))
			iv->cmd = _IO(VIRTBE_TYPE, VIRTBE_CMD_GET_STATS + 1 +
				      below(8));
		iv->u.w[0] = 64;
		iv->want = pred1(-ENOTTY);
		iv->what = "an ioctl guest fds do not have";
		return;
	case 4:
		iv->cmd = chance(50) ? VIRTBE_GET_STATS : VIRTBE_CLAIM_RANGE;
		iv->where = 1 + below(2);
		iv->want = pred1(-EFAULT);
		iv->what = "a guest fd ioctl with a bad pointer";
		return;
	case 5:
	case 6:
	case 7:
		/* irqfd: all checks after the guest's state */
		iv->cmd = VIRTBE_IRQFD;
		iv->u.irqfd = (struct virtbe_irqfd){
			.size = sizeof(iv->u.irqfd), .fd = efd,
			.resamplefd = -1, .type = VIRTBE_IRQ_EDGE,
		};
		iv->want = pred1(-EINVAL);
		switch (below(11)) {
		case 0:
			iv->u.irqfd.flags = 4;
			iv->want = pred1(-EOPNOTSUPP);
			iv->what = "IRQFD with an unknown flag";
			return;
		case 1:
			iv->u.irqfd.type = chance(50) ? 0 : 5 + below(9);
			iv->what = "IRQFD of an unknown type";
			break;
		case 2:
			iv->u.irqfd.type = VIRTBE_IRQ_LEVEL;
			iv->what = "IRQFD level without a resample eventfd";
			break;
		case 3:
			iv->u.irqfd.resamplefd = efd >= 0 ? efd : 0;
			iv->what = "IRQFD edge with a resample eventfd";
			break;
		case 4:
			iv->u.irqfd.msi_data = 1;
			iv->what = "IRQFD edge with an MSI message";
			break;
		case 5:
			iv->u.irqfd.type = VIRTBE_IRQ_MSI;
			iv->u.irqfd.irq = 1;
			iv->what = "IRQFD MSI with a line";
			break;
		case 6:
			iv->u.irqfd.irq = 1024 + below(1000);
			iv->what = "IRQFD on a line the guest lacks";
			break;
		case 7:
			iv->u.irqfd.flags = VIRTBE_IRQFD_VIRTIO_MMIO;
			iv->u.irqfd.vmmio_base = SLOT(0);
			iv->u.irqfd.isr_bits = chance(50) ? 0 : 4;
			iv->what = "IRQFD with bad InterruptStatus bits";
			break;
		case 8:
			iv->u.irqfd.flags = VIRTBE_IRQFD_VIRTIO_MMIO;
			iv->u.irqfd.vmmio_base = SLOT(0) + 0x10;
			iv->u.irqfd.isr_bits = 1;
			iv->what = "IRQFD of a misaligned device";
			break;
		case 9:
			iv->u.irqfd.isr_bits = 1;
			iv->what = "IRQFD with bits but no device";
			break;
		default:
			iv->u.irqfd.fd = -1;
			iv->want = pred1(-EBADF);
			iv->what = "IRQFD of fd -1";
		}
		pred_life(&iv->want, life);
		return;
	default:
		/* ioeventfd: all checks before the guest's state */
		iv->cmd = VIRTBE_IOEVENTFD;
		iv->u.ioev = (struct virtbe_ioeventfd){
			.size = sizeof(iv->u.ioev), .fd = efd, .len = 4,
			.addr = SLOT(0) + VMMIO_NOTIFY,
		};
		iv->want = pred1(-EINVAL);
		switch (below(8)) {
		case 0:
			iv->u.ioev.len = 3 + 2 * below(2);
			iv->what = "IOEVENTFD of a bad length";
			break;
		case 1:
			iv->u.ioev.flags = VIRTBE_IOEVENTFD_DATAMATCH;
			iv->u.ioev.len = 0;
			iv->what = "IOEVENTFD datamatch of any length";
			break;
		case 2:
			iv->u.ioev.datamatch = 1;
			iv->what = "IOEVENTFD datamatch without the flag";
			break;
		case 3:
			iv->u.ioev.flags = VIRTBE_IOEVENTFD_DATAMATCH;
			iv->u.ioev.len = 1;
			iv->u.ioev.datamatch = 0x100;
			iv->what = "IOEVENTFD datamatch wider than the access";
			break;
		case 4:
			iv->u.ioev.__reserved = 1;
			iv->what = "IOEVENTFD with a reserved field";
			break;
		case 5:
			iv->u.ioev.flags = 8 << below(28);
			iv->want = pred1(-EOPNOTSUPP);
			iv->what = "IOEVENTFD with an unknown flag";
			break;
		case 6:
			iv->u.ioev.fd = -1;
			iv->want = pred1(-EBADF);
			iv->what = "IOEVENTFD of fd -1";
			break;
		default:
			iv->tmp_fd = memfd_create("not-an-eventfd", MFD_CLOEXEC);
			iv->u.ioev.fd = iv->tmp_fd;
			iv->what = "IOEVENTFD of a memfd";
		}
	}
}

/* An invalid call on the control device. */
static void inval_ctl(struct inval *iv, uint64_t live_id)
{
	iv->fd = w.ctl;
	if (chance(30)) {
		iv->cmd = VIRTBE_GET_INFO;
		iv->u.info = (struct virtbe_info){ .size = sizeof(iv->u.info) };
		switch (below(4)) {
		case 0:
			iv->u.info.flags = 1;
			iv->want = pred1(-EOPNOTSUPP);
			iv->what = "GET_INFO with a flag";
			break;
		case 1:
			iv->u.info.hyp = 64 + below(100);
			iv->want = pred1(-EINVAL);
			iv->what = "GET_INFO of hypervisor 64 on";
			break;
		case 2:
			iv->u.info.__reserved = 1;
			iv->want = pred1(-EINVAL);
			iv->what = "GET_INFO with a reserved field";
			break;
		default:
			iv->cmd = VIRTBE_MEM_MAP;
			iv->want = pred1(-ENOTTY);
			iv->what = "MEM_MAP on /dev/virtbe";
		}
		return;
	}
	iv->cmd = VIRTBE_ATTACH;
	iv->u.attach = (struct virtbe_attach){
		.size = sizeof(iv->u.attach), .hyp = VIRTBE_HYP_SIM,
		.guest_id = live_id,
	};
	iv->want = pred1(-EINVAL);
	switch (below(8)) {
	case 0:
		iv->u.attach.flags = 1;
		iv->want = pred1(-EOPNOTSUPP);
		iv->what = "ATTACH with a flag";
		break;
	case 1:
		iv->u.attach.request_timeout_ms = 60001;
		iv->what = "ATTACH with a timeout over 60 s";
		break;
	case 2:
		iv->u.attach.hyp = chance(50) ? 0 : 64;
		iv->what = "ATTACH to hypervisor 0 or 64";
		break;
	case 3:
		iv->u.attach.__reserved = 1;
		iv->what = "ATTACH with a reserved field";
		break;
	case 4:
		iv->u.attach.guest_id = chance(50) ? 0 : 1ULL << (33 + below(30));
		iv->want = pred1(-ENOENT);
		iv->what = "ATTACH to a guest that does not exist";
		break;
	case 5:
		iv->u.attach.size = 16;
		iv->what = "ATTACH with a short size";
		break;
	default:
		/* the output cannot be written: no fd, no attachment */
		iv->where = live_id ? 3 : 2;
		iv->want = pred1(-EFAULT);
		iv->what = "ATTACH into read-only memory";
	}
}

/* An invalid call on sim guest fd @fd (@dead: destroyed), or its control. */
static void inval_sim(int fd, bool dead, uint32_t nr_vcpus, struct inval *iv)
{
	iv->fd = fd;
	iv->want = pred1(-EINVAL);
	switch (below(7)) {
	case 0:
		iv->fd = w.simctl;
		iv->cmd = VIRTBE_SIM_CREATE;
		iv->u.create = (struct virtbe_sim_create){
			.size = sizeof(iv->u.create), .nr_vcpus = 1,
		};
		switch (below(4)) {
		case 0:
			iv->u.create.nr_vcpus = chance(50) ? 0 : 257;
			iv->what = "SIM_CREATE of 0 or 257 vCPUs";
			break;
		case 1:
			iv->u.create.__reserved = 1;
			iv->what = "SIM_CREATE with a reserved field";
			break;
		case 2:
			iv->u.create.flags = 1;
			iv->want = pred1(-EOPNOTSUPP);
			iv->what = "SIM_CREATE with a flag";
			break;
		default:
			iv->where = 3;
			iv->want = pred1(-EFAULT);
			iv->what = "SIM_CREATE into read-only memory";
		}
		return;	/* on the control device: no ENODEV */
	case 1:
		iv->cmd = VIRTBE_SIM_ADD_RAM;
		iv->u.ram = (struct virtbe_sim_ram){
			.size = sizeof(iv->u.ram), .gpa = 0x200000,
			.len = 0x1000,
		};
		iv->tmp_fd = memfd_ram(0x2000);
		iv->u.ram.memfd = iv->tmp_fd;
		switch (below(4)) {
		case 0:
			iv->u.ram.memfd = w.ctl;
			iv->what = "SIM_ADD_RAM of a file that is no memfd";
			break;
		case 1:
			iv->u.ram.offset = 0x2000;
			iv->what = "SIM_ADD_RAM past the memfd's end";
			break;
		case 2:
			iv->u.ram.gpa = 0;
			iv->want = pred1(-EEXIST);
			iv->what = "SIM_ADD_RAM over RAM";
			break;
		default:
			iv->u.ram.gpa = 0x200800;
			iv->what = "SIM_ADD_RAM misaligned";
		}
		break;
	case 2:
		iv->cmd = VIRTBE_SIM_FAULT;
		iv->u.fault = (struct virtbe_sim_fault){
			.size = sizeof(iv->u.fault), .fault = 1,
		};
		if (chance(50)) {
			iv->u.fault.fault = chance(50) ? 0 : 6 + below(10);
			iv->what = "SIM_FAULT of an unknown fault";
		} else {
			iv->u.fault.arg = 10001;
			iv->what = "SIM_FAULT over 10000";
		}
		break;
	case 3:
		iv->cmd = VIRTBE_SIM_BIND_IRQ;
		iv->u.bind = (struct virtbe_sim_bind_irq){
			.size = sizeof(iv->u.bind), .type = VIRTBE_IRQ_EDGE,
			.fd = w.ctl,
		};
		switch (below(3)) {
		case 0:
			iv->u.bind.irq = 1024 + below(100);
			iv->what = "SIM_BIND_IRQ of line 1024 on";
			break;
		case 1:
			iv->u.bind.type = VIRTBE_IRQ_MSI;
			iv->what = "SIM_BIND_IRQ of an MSI";
			break;
		default:
			iv->what = "SIM_BIND_IRQ of a file that is no eventfd";
		}
		break;
	case 4:
		iv->cmd = VIRTBE_SIM_IRQ_STATE;
		iv->u.irq = (struct virtbe_sim_irq_state){
			.size = sizeof(iv->u.irq),
			.type = chance(50) ? 0 : VIRTBE_IRQ_MSI,
		};
		iv->what = "SIM_IRQ_STATE of an unknown type";
		/* the one call a destroyed guest still answers */
		return;
	case 5:
		iv->cmd = VIRTBE_SIM_ACCESS;
		iv->u.access = (struct virtbe_sim_access){
			.size = sizeof(iv->u.access), .len = 4,
			.addr = SLOT(0),
		};
		switch (below(3)) {
		case 0:
			iv->u.access.flags = VIRTBE_SIM_ACCESS_POSTED;
			iv->what = "SIM_ACCESS posted read";
			break;
		case 1:
			iv->u.access.vcpu = nr_vcpus;
			iv->what = "SIM_ACCESS of a vCPU the guest lacks";
			break;
		default:
			iv->u.access.addr = ~0ULL - 1;
			iv->what = "SIM_ACCESS wrapping";
		}
		break;
	default:
		iv->cmd = chance(50) ? VIRTBE_SIM_CREATE : VIRTBE_GET_INFO;
		iv->u.w[0] = 32;
		iv->want = pred1(-ENOTTY);
		iv->what = "an ioctl sim guest fds do not have";
	}
	if (dead)
		iv->want = pred1(-ENODEV);
}

/* Run an invalid call; returns its result (0 or -errno). */
static int inval_run(struct inval *iv)
{
	void *arg = &iv->u;
	int ret;

	if (iv->where == 1) {
		arg = NULL;
	} else if (iv->where == 2) {
		arg = w.hole;
	} else if (iv->where == 3) {
		mprotect(w.ro, 4096, PROT_READ | PROT_WRITE);
		memcpy(w.ro, &iv->u, sizeof(iv->u));
		mprotect(w.ro, 4096, PROT_READ);
		arg = w.ro;
	}
	count(E_INVALID, 1);
	ret = fz_ioctl(iv->fd, iv->cmd, arg);
	if (ret >= 0 && (iv->cmd == VIRTBE_ATTACH || iv->cmd == VIRTBE_MEM_MAP ||
			 iv->cmd == VIRTBE_SIM_CREATE)) {
		VIOLATION("%s returned an fd", iv->what);
		close(ret);
	}
	ret = ret < 0 ? -errno : 0;
	CHECK_PRED(iv->what, &iv->want, ret);
	return ret;
}

static void inval_done(struct inval *iv)
{
	if (iv->tmp_fd > 0)
		close(iv->tmp_fd);
	iv->tmp_fd = 0;
}

static void op_invalid(void)
{
	struct inval iv = { 0 };
	struct rel rl = { 0 };
	struct href h = NOH;
	int fd, ai, si;

	lock();
	switch (below(4)) {
	case 0: case 1:
		ai = pick_att(false);
		if (ai < 0)
			break;
		h = w.att[ai].f;
		fd = h_use(h);
		inval_att(ai, fd, &iv);
		break;
	case 2:
		si = pick_sg(true);
		inval_ctl(&iv, si >= 0 ? w.sg[si].id : 0);
		break;
	default:
		si = pick_sg(false);
		if (si < 0)
			break;
		h = w.sg[si].f;
		fd = h_use(h);
		inval_sim(fd, w.sg[si].destroyed, w.sg[si].nr_vcpus, &iv);
	}
	unlock();
	if (iv.what)
		inval_run(&iv);
	inval_done(&iv);
	if (h.i >= 0) {
		lock();
		h_unuse_locked(h, &rl);
		unlock();
		rel_do(&rl);
	}
}

static void op_info(void)
{
	struct virtbe_info in = {
		.size = sizeof(in), .hyp = chance(50) ? VIRTBE_HYP_SIM : 0,
	};
	struct href h = NOH;
	int fd = w.ctl, ai;

	lock();
	ai = pick_att(false);
	if (ai >= 0 && chance(50)) {
		h = w.att[ai].f;
		fd = h_use(h);
	}
	unlock();
	if (EXPECT_RET("GET_INFO", fz_call(fd, VIRTBE_GET_INFO, &in), 0, 1)) {
		if (in.out_api_version != VIRTBE_API_VERSION ||
		    !(in.out_hyps & (1ULL << VIRTBE_HYP_SIM)) ||
		    !(in.out_features & VIRTBE_F_MULTI_ATTACH) ||
		    (in.hyp && (in.out_hyp_features &
				(VIRTBE_HYP_F_IRQ_MSI | VIRTBE_HYP_F_MMIO)) !=
		     VIRTBE_HYP_F_MMIO))
			VIOLATION("GET_INFO: api %u hyps 0x%llx features 0x%llx hyp features 0x%llx",
				  in.out_api_version,
				  (unsigned long long)in.out_hyps,
				  (unsigned long long)in.out_features,
				  (unsigned long long)in.out_hyp_features);
	}
	if (h.i >= 0)
		h_unuse(h);
}

/* ---- the driver: daemon processes ---- */

static void op_child(void)
{
	struct href gh, mh = NOH;
	int ai, k = -1, gfd, mfd = -1, slot = -1, p[2];
	char env[96], *argv[] = { "fuzz_test", NULL };
	char *envp[] = { env, NULL };
	pid_t parent = getpid(), pid;
	uint32_t nr;
	char c;

	lock();
	for (int i = 0; i < CHILD_MAX && slot < 0; i++)
		if (!w.child[i].pid)
			slot = i;
	ai = pick_att(false);
	if (slot < 0 || ai < 0) {
		unlock();
		return;
	}
	gh = w.att[ai].f;
	gfd = h_use(gh);
	nr = w.sg[w.att[ai].sg].nr_vcpus;
	for (int i = 0; i < WIN_MAX && mfd < 0; i++) {
		k = below(WIN_MAX);
		if (!w.att[ai].win[k].used)
			continue;
		mfd = h_use(w.att[ai].win[k].f);
		if (mfd >= 0)
			mh = w.att[ai].win[k].f;
	}
	unlock();
	snprintf(env, sizeof(env), "VIRTBE_FUZZ_CHILD=%llu %u %llu",
		 (unsigned long long)(50 + below(400)), nr,
		 (unsigned long long)rnd());
	if (pipe2(p, O_CLOEXEC))
		goto out;
	pid = fork();
	if (!pid) {
		/* only what is async-signal-safe, up to exec */
		int g2, m2 = -1;

		die_with_parent(parent);
		g2 = fcntl(gfd, F_DUPFD_CLOEXEC, 6);
		if (mfd >= 0)
			m2 = fcntl(mfd, F_DUPFD_CLOEXEC, 6);
		if (g2 < 0 || dup2(g2, 3) < 0 || dup2(p[1], 5) < 0 ||
		    (mfd >= 0 && (m2 < 0 || dup2(m2, 4) < 0)))
			_exit(5);
		if (mfd < 0)
			close(4);
		execve("/proc/self/exe", argv, envp);
		_exit(6);
	}
	close(p[1]);
	if (pid > 0) {
		/*
		 * It writes fd 5 once it runs: by then the exec has closed
		 * (and released) its copies of our fds and mappings.  EOF
		 * right away if the exec failed.
		 */
		struct pollfd pf = { .fd = p[0], .events = POLLIN };

		if (poll(&pf, 1, SETTLE_MS) != 1 || read(p[0], &c, 1) != 1)
			VIOLATION("a daemon process did not start");
		lock();
		w.child[slot] = (struct m_child){ pid, ai, mfd >= 0 ? k : -1 };
		w.nr_child++;
		w.att[ai].child_refs++;
		if (mfd >= 0)
			w.att[ai].win[k].child_refs++;
		unlock();
		count(E_CHILDREN, 1);
	}
	close(p[0]);
out:
	h_unuse(gh);
	if (mfd >= 0)
		h_unuse(mh);
}

/* Reap the daemon processes that ended; with @kill, all of them. */
static void reap_children(bool kill_all)
{
	for (int i = 0; i < CHILD_MAX; i++) {
		struct m_child *c = &w.child[i];
		int status;
		pid_t r;

		if (!c->pid)
			continue;
		if (kill_all || chance(2)) {
			kill(c->pid, SIGKILL);
			count(E_CHILDREN_KILLED, 1);
		}
		r = waitpid(c->pid, &status, kill_all ? 0 : WNOHANG);
		if (r != c->pid)
			continue;
		if (!(WIFEXITED(status) && !WEXITSTATUS(status)) &&
		    !(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL))
			VIOLATION("daemon process ended with status 0x%x",
				  status);
		lock();
		w.att[c->att].child_refs--;
		if (c->win >= 0)
			w.att[c->att].win[c->win].child_refs--;
		c->pid = 0;
		w.nr_child--;
		unlock();
	}
}

/* ---- the driver: forgetting what is closed ---- */

static void gc(void)
{
	struct rel rl = { 0 };

	lock();
	for (int i = 0; i < ATT_MAX; i++) {
		struct m_att *a = &w.att[i];
		bool left = false;

		if (!a->used)
			continue;
		for (int k = 0; k < WIN_MAX; k++) {
			struct m_win *wi = &a->win[k];

			if (!wi->used)
				continue;
			if (a->closing && chance(30)) {
				h_close_locked(wi->f, &rl);
				h_close_locked(wi->map, &rl);
			}
			if (h_gone(wi->f) && h_gone(wi->map) && !wi->child_refs)
				wi->used = false;
			else
				left = true;
		}
		for (int k = 0; k < EFD_MAX; k++) {
			if (a->closing && chance(30))
				h_close_locked(a->efd[k], &rl);
			if (!h_gone(a->efd[k]))
				left = true;
		}
		if (a->closing && !left && h_gone(a->f) && !a->child_refs)
			a->used = false;
	}
	for (int i = 0; i < SG_MAX; i++) {
		struct m_sg *s = &w.sg[i];
		bool left = !h_gone(s->ram) || !h_gone(s->view);

		if (!s->used || !h_gone(s->f))
			continue;
		for (int k = 0; k < ATT_MAX; k++)
			if (w.att[k].used && w.att[k].sg == i)
				left = true;
		if (chance(30)) {
			h_close_locked(s->ram, &rl);
			h_close_locked(s->view, &rl);
		}
		for (int l = 0; l < NLINE; l++) {
			if (chance(30)) {
				h_close_locked(s->line[l], &rl);
				h_close_locked(s->port[l], &rl);
			}
			if (!h_gone(s->line[l]) || !h_gone(s->port[l]))
				left = true;
		}
		if (!left)
			s->used = false;
	}
	unlock();
	rel_do(&rl);
}

/*
 * A daemon process of fuzz.stateful, exec'd with a guest fd as fd 3,
 * maybe a memory fd as fd 4, a pipe to its parent as fd 5 (written once it
 * runs) and "ms nr_vcpus seed" in VIRTBE_FUZZ_CHILD:
 * it answers requests as the daemon thread does and reads the window, for
 * ms milliseconds, unless its parent kills it first.  Exit status 3: a
 * malformed request.
 */
static sigjmp_buf child_jmp;

static void child_bus(int sig)
{
	siglongjmp(child_jmp, 1);
}

static void __attribute__((constructor)) fuzz_child_daemon(void)
{
	const char *arg = getenv("VIRTBE_FUZZ_CHILD");
	unsigned long long ms, seed;
	volatile uint8_t *volatile mem = NULL;
	struct virtbe_request req[4];
	struct virtbe_completion c[4];
	uint64_t deadline;
	struct stat st;
	volatile size_t pages = 0;
	unsigned int nr;

	if (!arg)
		return;
	/* the exec is complete: tell the parent */
	if (write(5, "", 1) != 1 || close(5) ||
	    sscanf(arg, "%llu %u %llu", &ms, &nr, &seed) != 3)
		_exit(2);
	rng = seed | 1;
	signal(SIGBUS, child_bus);
	deadline = now_ns() + ms * 1000000ULL;
	if (!fstat(4, &st) && st.st_size) {
		void *p = mmap(NULL, st.st_size, PROT_READ, MAP_SHARED, 4, 0);

		if (p != MAP_FAILED) {
			mem = p;
			pages = st.st_size >> 12;
		}
	}
	while (now_ns() < deadline) {
		struct pollfd p = { .fd = 3, .events = POLLIN };
		ssize_t n;

		if (mem && !sigsetjmp(child_jmp, 1))
			(void)mem[below(pages) << 12];
		else
			mem = NULL;	/* revoked: SIGBUS */
		if (poll(&p, 1, 5) != 1 || !(p.revents & POLLIN))
			continue;
		n = read(3, req, (1 + below(4)) * sizeof(req[0]));
		if (n <= 0)
			continue;
		for (int i = 0; i < n / (int)sizeof(req[0]); i++) {
			const char *why = req_bad(&req[i], nr);

			if (why) {
				fprintf(stderr, "# daemon process: bad request: %s\n",
					why);
				_exit(3);
			}
			c[i] = (struct virtbe_completion){
				.size = sizeof(c[0]), .id = req[i].id,
				.data = expect_data(req[i].addr, req[i].len),
			};
		}
		/* ENOENT: timed out meanwhile; ENODEV: the guest is gone */
		if (write(3, c, n / sizeof(req[0]) * sizeof(c[0])) < 0 &&
		    errno != ENOENT && errno != ENODEV) {
			fprintf(stderr, "# daemon process: write(): %s\n",
				strerror(errno));
			_exit(3);
		}
	}
	_exit(0);
}

/* ---- the driver: quiescent pauses ---- */

static bool pause_threads(void)
{
	uint64_t until = now_ns() + STUCK_MS * 1000000ULL;
	bool ok = true;

	lock();
	w.pause = true;
	while (w.parked < w.nthreads) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 100000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&w.cond, &w.lock, &ts);
		if (now_ns() > until) {
			ok = false;
			break;
		}
	}
	unlock();
	if (ok)
		return true;
	for (int i = 0; i < w.nthreads; i++) {
		struct thr *t = &w.thr[i];

		if (strcmp(t->op, "parked"))
			VIOLATION("thread %d stuck in %s for %llu s", i, t->op,
				  (unsigned long long)((now_ns() - t->since) /
						       1000000000ULL));
	}
	dump_stacks(getpid());
	lock();
	w.pause = false;
	pthread_cond_broadcast(&w.cond);
	unlock();
	return false;
}

static void resume_threads(void)
{
	lock();
	w.pause = false;
	pthread_cond_broadcast(&w.cond);
	unlock();
}

/* Under the lock: every fd open is a handle of the model. */
static void check_fds(void)
{
	int n = w.base_fds, got = count_fds();

	for (int i = 0; i < H_MAX; i++)
		n += w.h[i].kind == H_FD;
	if (got != n)
		VIOLATION("%d fds open, the model holds %d", got, n);
}

/* Under the lock: with no access in flight, every request is accounted. */
static void check_balance(void)
{
	for (int i = 0; i < ATT_MAX; i++) {
		struct m_att *a = &w.att[i];
		struct virtbe_stats st;
		int fd;

		if (!a->used || !h_open(a->f))
			continue;
		fd = h_use(a->f);
		if (!att_stats(a, fd, &st) &&
		    st.out_requests != st.out_completions + st.out_timeouts +
				       st.out_aborted + st.out_kicks_replayed)
			VIOLATION("GET_STATS with nothing in flight: %llu requests, %llu completions + %llu timeouts + %llu aborted + %llu replayed",
				  (unsigned long long)st.out_requests,
				  (unsigned long long)st.out_completions,
				  (unsigned long long)st.out_timeouts,
				  (unsigned long long)st.out_aborted,
				  (unsigned long long)st.out_kicks_replayed);
		w.h[a->f.i].users--;
		count(E_CHECKS, 1);
	}
}

/*
 * Under the lock: with no access in flight every request left unanswered
 * has timed out (or was aborted): its completion fails with ENOENT (or
 * ENODEV once its guest is gone).
 */
static void check_left(void)
{
	while (nr_left) {
		struct old_id o = left_take(0);
		struct virtbe_completion c = {
			.size = sizeof(c), .id = o.id,
			.data = expect_data(o.addr, o.len),
		};
		int fd = h_use(o.f);
		long ret;

		if (fd < 0)
			continue;
		ret = complete(fd, &c, sizeof(c));
		if (ret != -ENODEV || !maybe_gone(o.att)) {
			EXPECT_RET("a completion of a request left unanswered",
				   (int)ret, -ENOENT, 1);
			count(E_REQ_STALE, 1);
		}
		w.h[o.f.i].users--;
	}
}

/* A vCPU access from a thread of its own, while the driver serves it. */
struct helper {
	pthread_t tid;
	int fd;
	struct virtbe_sim_access a;
	int ret;
};

static void *helper_fn(void *arg)
{
	struct helper *h = arg;

	h->ret = fz_call(h->fd, VIRTBE_SIM_ACCESS, &h->a);
	return NULL;
}

static int access_now(int sgfd, uint32_t flags, uint32_t vcpu, uint64_t addr,
		      uint32_t len, uint64_t *data, uint32_t *res)
{
	struct virtbe_sim_access a = {
		.size = sizeof(a), .flags = flags, .vcpu = vcpu, .len = len,
		.addr = addr, .data = *data,
	};
	int ret = fz_call(sgfd, VIRTBE_SIM_ACCESS, &a);

	*data = a.data;
	*res = a.out_result;
	return ret;
}

/* What a probe works on: a live attachment and its guest, in use. */
struct probe {
	int ai, si, fd, sgfd;
	struct m_att *a;
	struct m_sg *s;
};

/*
 * Under the lock: take a live attachment that @ok accepts; with @quiet,
 * clear its guest's faults (no dropped events or interrupts, no delays).
 */
static bool probe_get(struct probe *p, bool (*ok)(struct m_att *, void *),
		      void *arg, bool quiet)
{
	int c[ATT_MAX], n = 0;

	for (int i = 0; i < ATT_MAX; i++)
		if (att_usable(&w.att[i]) && att_life(&w.att[i]) == L_LIVE &&
		    h_open(w.sg[w.att[i].sg].f) && (!ok || ok(&w.att[i], arg)))
			c[n++] = i;
	if (!n)
		return false;
	p->ai = c[below(n)];
	p->a = &w.att[p->ai];
	p->si = p->a->sg;
	p->s = &w.sg[p->si];
	p->fd = h_use(p->a->f);
	p->sgfd = h_use(p->s->f);
	if (quiet)
		sg_no_faults(p->si, p->sgfd);
	return true;
}

static void probe_put(struct probe *p)
{
	w.h[p->a->f.i].users--;
	w.h[p->s->f.i].users--;
}

static bool stats_same(const struct virtbe_stats *a,
		       const struct virtbe_stats *b)
{
	return !memcmp(&a->out_requests, &b->out_requests,
		       NR_COUNTERS * sizeof(uint64_t));
}

/* A failed call changes nothing, and fails the same way again. */
static void probe_fail_nothing(void)
{
	struct virtbe_stats s1, s2;
	struct inval iv = { 0 };
	struct probe p;
	int n1, n2, r1, r2, k;

	if (!probe_get(&p, NULL, NULL, false))
		return;
	switch (below(4)) {
	case 0:
		inval_ctl(&iv, p.s->id);
		break;
	case 1:
		inval_sim(p.sgfd, false, p.s->nr_vcpus, &iv);
		break;
	default:
		inval_att(p.ai, p.fd, &iv);
	}
	att_stats(p.a, p.fd, &s1);
	n1 = count_fds();
	r1 = inval_run(&iv);
	n2 = count_fds();
	att_stats(p.a, p.fd, &s2);
	if (!stats_same(&s1, &s2))
		VIOLATION("a failed %s changed GET_STATS", iv.what);
	if (n1 != n2)
		VIOLATION("a failed %s changed the open fds from %d to %d",
			  iv.what, n1, n2);
	r2 = inval_run(&iv);
	if (r1 != r2)
		VIOLATION("%s failed with %s, then %s", iv.what,
			  strerror(-r1), strerror(-r2));
	inval_done(&iv);

	/* what the model holds is still there */
	switch (below(4)) {
	case 0:
		if (!p.a->nr_range)
			break;
		EXPECT_RET("CLAIM_RANGE of a claimed range",
			   claim(p.fd, &p.a->range[below(p.a->nr_range)],
				 false), -EEXIST, 1);
		break;
	case 1:
		if (!p.a->nr_ioev)
			break;
		k = below(p.a->nr_ioev);
		if (h_open(p.a->ioev[k].eh))
			EXPECT_RET("IOEVENTFD assigned again",
				   ioevfd(p.fd, w.h[p.a->ioev[k].eh.i].fd,
					  &p.a->ioev[k], false), -EEXIST, 1);
		break;
	case 2:
		if (!p.a->nr_irqfd)
			break;
		k = below(p.a->nr_irqfd);
		if (h_open(p.a->irqfd[k].eh) &&
		    (p.a->irqfd[k].type != VIRTBE_IRQ_LEVEL ||
		     h_open(p.a->irqfd[k].rh))) {
			/* EBUSY, or EINVAL if its device's range is gone */
			const struct m_irqfd *q = &p.a->irqfd[k];
			struct pred pr = predict_irqfd(p.a, q, !q->vmmio ||
					vmmio_base_ok(p.a, q->base));

			CHECK_PRED("IRQFD assigned again", &pr,
				   irqfd_call(p.fd, w.h[q->eh.i].fd,
					      q->type == VIRTBE_IRQ_LEVEL ?
					      w.h[q->rh.i].fd : -1, q, false));
		}
		break;
	default:
		k = below(WIN_MAX);
		if (p.a->win[k].used &&
		    (h_open(p.a->win[k].f) || h_open(p.a->win[k].map))) {
			int fd = fz_ioctl(p.fd, VIRTBE_MEM_MAP,
					  &(struct virtbe_mem_map){
				.size = sizeof(struct virtbe_mem_map),
				.gpa = p.a->win[k].gpa, .len = p.a->win[k].len,
			});

			if (fd >= 0)
				close(fd);
			EXPECT_RET("MEM_MAP over a window", fd < 0 ? -errno : 0,
				   -EEXIST, 1);
		}
	}
	att_stats(p.a, p.fd, &s2);
	if (!stats_same(&s1, &s2))
		VIOLATION("failed re-creations changed GET_STATS");
	count(E_CHECKS, 1);
	probe_put(&p);
}

/*
 * For the probes that serve a request themselves: an MMIO range to access,
 * and a timeout of 1 s or more (the probe must outrun it).
 */
static bool has_plain_mmio(struct m_att *a, void *arg)
{
	if (a->timeout_ms < 1000)
		return false;
	for (int k = 0; k < a->nr_range; k++)
		if (!a->range[k].pio && a->range[k].len >= 0x100)
			return true;
	return false;
}

/* A 4-aligned address of @a where no kernel handler can answer. */
static uint64_t plain_addr(struct m_att *a)
{
	for (;;) {
		struct m_range *r = &a->range[below(a->nr_range)];
		uint64_t x = r->addr + (below(r->len - 8) & ~7ULL);

		/* not the probes' kick (0x40) nor the device's registers */
		if (!r->pio && r->len >= 0x100 &&
		    ((x & 0xff) < 0x40 || (x & 0xff) >= 0x80))
			return x;
	}
}

/* Read a request within @ms. */
static int take_request(int fd, struct virtbe_request *req, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ssize_t n;

	if (poll(&p, 1, ms) != 1)
		return -ETIMEDOUT;
	n = read(fd, req, sizeof(*req));
	count_call(C_READ, n < 0 ? errno : n ? 0 : ENODEV);
	return n == sizeof(*req) ? 0 : n < 0 ? -errno : -EIO;
}

/*
 * A request of the probe timed out before it was served: legitimate only
 * once the guest fd's timeout has passed since the access began (a slow
 * VM); then GET_STATS counts the timeout.
 */
static bool probe_timed_out(const struct probe *p, uint64_t t0)
{
	return now_ns() - t0 >= p->a->timeout_ms * 1000000ULL;
}

/*
 * One read and one write, served here: fields, data and statistics.  A
 * request that times out first (a short timeout on a slow VM) must look
 * timed out.
 */
static void probe_round_trip(void)
{
	struct virtbe_completion c = { .size = sizeof(c) };
	struct virtbe_stats s1, s2;
	struct virtbe_request req;
	struct probe p;
	int late = 0;

	if (!probe_get(&p, has_plain_mmio, NULL, true))
		return;
	att_stats(p.a, p.fd, &s1);
	for (int write = 0; write < 2; write++) {
		struct helper h = {
			.fd = p.sgfd,
			.a = {
				.size = sizeof(h.a),
				.flags = write ? VIRTBE_SIM_ACCESS_WRITE : 0,
				.vcpu = below(p.s->nr_vcpus),
				.len = 1 << below(4),
				.addr = plain_addr(p.a), .data = rnd(),
			},
		};
		uint64_t mask = mask_of(h.a.len), data = rnd(), t0 = now_ns();
		bool timed_out = false;
		int ret;

		if (pthread_create(&h.tid, NULL, helper_fn, &h))
			break;
		/* past its timeout, the request is gone: wait no longer */
		ret = take_request(p.fd, &req, p.a->timeout_ms + 5000);
		if (ret && probe_timed_out(&p, t0)) {
			timed_out = true;
		} else if (EXPECT_RET("a request's arrival", ret, 0, 1)) {
			if (req.flags != (write ? VIRTBE_REQ_WRITE : 0) ||
			    req.vcpu != h.a.vcpu || req.len != h.a.len ||
			    req.addr != h.a.addr ||
			    req.data != (write ? h.a.data & mask : 0))
				VIOLATION("request flags 0x%x vcpu %u len %u addr 0x%llx data 0x%llx for a %u-byte %s of 0x%llx by vCPU %u",
					  req.flags, req.vcpu, req.len,
					  (unsigned long long)req.addr,
					  (unsigned long long)req.data,
					  h.a.len, write ? "write" : "read",
					  (unsigned long long)h.a.addr,
					  h.a.vcpu);
			c.id = req.id;
			c.data = data;
			ret = complete(p.fd, &c, sizeof(c));
			timed_out = ret == -ENOENT && probe_timed_out(&p, t0);
			if (!timed_out)
				EXPECT_RET("a completion", ret, (int)sizeof(c),
					   1);
			EXPECT_RET("a duplicate completion",
				   (int)complete(p.fd, &c, sizeof(c)),
				   -ENOENT, 1);
		}
		pthread_join(h.tid, NULL);
		late += timed_out;
		if (timed_out) {
			if (h.ret || h.a.out_result != VIRTBE_SIM_RESULT_ABORTED)
				VIOLATION("a timed out access: %s, result %u",
					  strerror(-h.ret), h.a.out_result);
		} else if (EXPECT_RET("a served access", h.ret, 0, 1) &&
		    (h.a.out_result != VIRTBE_SIM_RESULT_BACKEND ||
		     (!write && h.a.data != (data & mask))))
			VIOLATION("a served %s: result %u data 0x%llx, answered 0x%llx",
				  write ? "write" : "read", h.a.out_result,
				  (unsigned long long)h.a.data,
				  (unsigned long long)(data & mask));
	}
	att_stats(p.a, p.fd, &s2);
	s1.out_requests += 2;
	s1.out_completions += 2 - late;
	s1.out_timeouts += late;
	if (!stats_same(&s1, &s2))
		VIOLATION("two round trips: GET_STATS requests %llu completions %llu timeouts %llu, expected %llu %llu %llu",
			  (unsigned long long)s2.out_requests,
			  (unsigned long long)s2.out_completions,
			  (unsigned long long)s2.out_timeouts,
			  (unsigned long long)s1.out_requests,
			  (unsigned long long)s1.out_completions,
			  (unsigned long long)s1.out_timeouts);
	count(E_ROUND_TRIPS, 1);
	count(E_CHECKS, 1);
	probe_put(&p);
}

/* A write queued before its ioeventfd is assigned is consumed by it. */
static void probe_replay(void)
{
	struct virtbe_stats s1, s2;
	struct m_ioev e = { .len = 4, .dm = below(4) };
	struct pollfd pf;
	struct probe p;
	struct href eh;
	uint64_t v = 0, d, t0;
	bool timed_out = false;
	uint32_t res;
	int efd, ret;

	if (!probe_get(&p, has_plain_mmio, NULL, true))
		return;
	if (p.a->nr_ioev >= IOEV_MAX)
		goto out;
	e.addr = plain_addr(p.a) & ~0xffULL;
	e.addr += 0x40;
	for (int k = 0; k < p.a->nr_ioev; k++)
		if (ioev_conflict(&p.a->ioev[k], &e))
			goto out;
	for (int k = 0; k < p.a->nr_range; k++)
		if (!p.a->range[k].pio && e.addr >= p.a->range[k].addr &&
		    e.addr + 4 <= p.a->range[k].addr + p.a->range[k].len)
			v = 1;
	eh = pick_efd(p.a, true);
	if (!v || !h_open(eh) || !efd_unused(p.a, eh))
		goto out;
	e.eh = eh;
	efd = w.h[eh.i].fd;
	{
		/*
		 * A reused eventfd may still count kicks of an ioeventfd (or
		 * resamples of an irqfd) since removed: the other threads are
		 * parked, so what it holds now is stale
		 */
		struct pollfd d = { .fd = efd, .events = POLLIN };
		uint64_t stale;

		if (poll(&d, 1, 0) == 1 &&
		    read(efd, &stale, sizeof(stale)) != sizeof(stale))
			goto out;
	}
	att_stats(p.a, p.fd, &s1);
	{
		struct helper h = {
			.fd = p.sgfd,
			.a = {
				.size = sizeof(h.a),
				.flags = VIRTBE_SIM_ACCESS_WRITE,
				.vcpu = below(p.s->nr_vcpus), .len = 4,
				.addr = e.addr, .data = e.dm,
			},
		};

		t0 = now_ns();
		if (pthread_create(&h.tid, NULL, helper_fn, &h))
			goto out;
		pf = (struct pollfd){ .fd = p.fd, .events = POLLIN };
		if (poll(&pf, 1, p.a->timeout_ms + 5000) != 1 &&
		    !probe_timed_out(&p, t0))
			VIOLATION("a write to a claimed register was not queued");
		ret = ioevfd(p.fd, efd, &e, false);
		EXPECT_RET("IOEVENTFD over a queued write", ret, 0, 1);
		if (!ret)
			p.a->ioev[p.a->nr_ioev++] = e;
		pthread_join(h.tid, NULL);
		/* a slow VM: the write timed out before the assignment */
		timed_out = !h.ret &&
			    h.a.out_result == VIRTBE_SIM_RESULT_ABORTED &&
			    probe_timed_out(&p, t0);
		if (!timed_out && EXPECT_RET("a replayed write", h.ret, 0, 1) &&
		    h.a.out_result != VIRTBE_SIM_RESULT_BACKEND)
			VIOLATION("a write replayed to an ioeventfd: result %u",
				  h.a.out_result);
	}
	if (timed_out ? read(efd, &v, sizeof(v)) >= 0 :
	    read(efd, &v, sizeof(v)) != sizeof(v) || v != 1)
		VIOLATION("the ioeventfd of a %s write counts %llu",
			  timed_out ? "timed out" : "replayed",
			  (unsigned long long)v);
	att_stats(p.a, p.fd, &s2);
	s1.out_requests++;
	if (timed_out)
		s1.out_timeouts++;
	else
		s1.out_kicks_replayed++;
	if (!stats_same(&s1, &s2))
		VIOLATION("a replayed kick: GET_STATS requests %llu replayed %llu, expected %llu %llu",
			  (unsigned long long)s2.out_requests,
			  (unsigned long long)s2.out_kicks_replayed,
			  (unsigned long long)s1.out_requests,
			  (unsigned long long)s1.out_kicks_replayed);
	/* and now it is a kick, synchronous or posted */
	d = e.dm;
	ret = access_now(p.sgfd, VIRTBE_SIM_ACCESS_WRITE |
			 (chance(50) ? VIRTBE_SIM_ACCESS_POSTED : 0), 0, e.addr,
			 4, &d, &res);
	if (EXPECT_RET("a kick", ret, 0, 1) &&
	    res != VIRTBE_SIM_RESULT_IOEVENTFD)
		VIOLATION("a kick: result %u", res);
	if (read(efd, &v, sizeof(v)) != sizeof(v) || v != 1)
		VIOLATION("a kick's ioeventfd counts %llu",
			  (unsigned long long)v);
	att_stats(p.a, p.fd, &s2);
	s1.out_kicks++;
	if (!stats_same(&s1, &s2))
		VIOLATION("a kick: GET_STATS kicks %llu, expected %llu",
			  (unsigned long long)s2.out_kicks,
			  (unsigned long long)s1.out_kicks);
	count(E_REPLAYS, 1);
	count(E_CHECKS, 1);
out:
	probe_put(&p);
}

/* Under the lock: is (space, irq) used by one irqfd only in guest @si? */
static bool line_alone(int si, const struct m_irqfd *q)
{
	int n = 0;
	bool evt = q->type == VIRTBE_IRQ_EVTCHN;

	for (int i = 0; i < ATT_MAX; i++) {
		const struct m_att *a = &w.att[i];

		for (int k = 0; a->used && a->sg == si && k < a->nr_irqfd; k++) {
			const struct m_irqfd *o = &a->irqfd[k];
			bool o_evt = o->type == VIRTBE_IRQ_EVTCHN;

			if (o_evt == evt && o->type != VIRTBE_IRQ_MSI &&
			    o->irq == q->irq)
				n++;
		}
	}
	return n == 1;
}

/*
 * Under the lock: does the resample eventfd of @q drive an irqfd of @a (an
 * EOI then raises an interrupt, and the irqfd consumes the count)?
 */
static bool resample_feeds_irqfd(const struct m_att *a, const struct m_irqfd *q)
{
	if (q->type != VIRTBE_IRQ_LEVEL)
		return false;
	for (int j = 0; j < a->nr_irqfd; j++)
		if (href_eq(a->irqfd[j].eh, q->rh))
			return true;
	return false;
}

static bool inside(const struct m_att *a, uint64_t addr, uint64_t len)
{
	for (int k = 0; k < a->nr_range; k++)
		if (!a->range[k].pio && addr >= a->range[k].addr &&
		    addr + len <= a->range[k].addr + a->range[k].len)
			return true;
	return false;
}

/* Under the lock: can irqfd @k of @a show its device's InterruptStatus? */
static bool isr_probe_ok(const struct m_att *a, int k)
{
	const struct m_irqfd *q = &a->irqfd[k];

	return q->vmmio && h_open(q->eh) && line_alone(a->sg, q) &&
	       inside(a, q->base, 0x100) && !resample_feeds_irqfd(a, q);
}

static bool has_kept_device(struct m_att *a, void *arg)
{
	for (int k = 0; k < a->nr_irqfd; k++)
		if (isr_probe_ok(a, k))
			return true;
	return false;
}

/* The simulator's state of a line or port. */
static struct virtbe_sim_irq_state line_state(int sgfd, const struct m_irqfd *q,
					      bool eoi)
{
	struct virtbe_sim_irq_state st;

	EXPECT_RET("SIM_IRQ_STATE", _irq_state(sgfd, q->type == VIRTBE_IRQ_EVTCHN ?
					       VIRTBE_IRQ_EVTCHN : VIRTBE_IRQ_LEVEL,
					       q->irq, eoi, &st), 0, 1);
	count_call(C_SIM_IRQ_STATE, 0);
	return st;
}

static uint32_t kept_reg(int sgfd, uint64_t addr, bool write, uint32_t v,
			 bool posted);

/* Wait up to SETTLE_MS for a level line to be @level. */
static void wait_level(int sgfd, const struct m_irqfd *q, uint32_t level,
		       const char *when)
{
	uint64_t until = now_ns() + SETTLE_MS * 1000000ULL;

	while (line_state(sgfd, q, false).out_level != level) {
		if (now_ns() > until) {
			VIOLATION("line %u stays %s %s (InterruptStatus of the device at 0x%llx now 0x%x)",
				  q->irq, level ? "low" : "asserted", when,
				  (unsigned long long)q->base,
				  q->vmmio ? kept_reg(sgfd, q->base + VMMIO_ISR,
						      false, 0, false) : 0);
			return;
		}
		usleep(1000);
	}
}

/* A 4-byte access of a kept register, answered by the kernel. */
static uint32_t kept_reg(int sgfd, uint64_t addr, bool write, uint32_t v,
			 bool posted)
{
	uint64_t d = v;
	uint32_t res;
	int ret = access_now(sgfd, (write ? VIRTBE_SIM_ACCESS_WRITE : 0) |
			     (posted ? VIRTBE_SIM_ACCESS_POSTED : 0),
			     0, addr, 4, &d, &res);

	if (EXPECT_RET("an access to a virtio-mmio register", ret, 0, 1) &&
	    res != (posted ? VIRTBE_SIM_RESULT_DROPPED :
		    VIRTBE_SIM_RESULT_KERNEL))
		VIOLATION("%s of 0x%llx: result %u, expected the kernel's",
			  write ? "write" : "read", (unsigned long long)addr,
			  res);
	return d;
}

/* InterruptStatus follows irqfd signals, InterruptACK and resets. */
static void probe_isr(void)
{
	struct virtbe_stats s1, s2;
	struct m_irqfd q;
	struct probe p;
	uint64_t one = 1, cnt;
	uint32_t isr;
	int k, efd;

	if (!probe_get(&p, has_kept_device, NULL, true))
		return;
	do
		k = below(p.a->nr_irqfd);
	while (!isr_probe_ok(p.a, k));
	q = p.a->irqfd[k];
	efd = w.h[q.eh.i].fd;
	isr = kept_reg(p.sgfd, q.base + VMMIO_ISR, false, 0, false);
	if (isr & ~3u)
		VIOLATION("InterruptStatus 0x%x", isr);
	kept_reg(p.sgfd, q.base + VMMIO_ACK, true, 3, false);
	isr = kept_reg(p.sgfd, q.base + VMMIO_ISR, false, 0, false);
	if (isr)
		VIOLATION("InterruptStatus 0x%x after InterruptACK of all", isr);
	if (q.type == VIRTBE_IRQ_LEVEL) {
		/*
		 * A level irqfd that had this line before may have left it
		 * asserted (the guest's EOI lowers it): EOI it.
		 */
		line_state(p.sgfd, &q, true);
		wait_level(p.sgfd, &q, 0, "with InterruptStatus 0");
	}

	for (int round = 0; round < 2; round++) {
		att_stats(p.a, p.fd, &s1);
		cnt = line_state(p.sgfd, &q, false).out_count;
		if (write(efd, &one, sizeof(one)) != sizeof(one))
			VIOLATION("write() of an eventfd: %s", strerror(errno));
		att_stats(p.a, p.fd, &s2);
		if (s2.out_irqs != s1.out_irqs + 1)
			VIOLATION("an irqfd signal: GET_STATS irqs %llu, expected %llu",
				  (unsigned long long)s2.out_irqs,
				  (unsigned long long)s1.out_irqs + 1);
		isr = kept_reg(p.sgfd, q.base + VMMIO_ISR, false, 0, false);
		if (isr != q.bits)
			VIOLATION("InterruptStatus 0x%x after a signal setting 0x%x",
				  isr, q.bits);
		if (q.type == VIRTBE_IRQ_LEVEL) {
			wait_level(p.sgfd, &q, 1, "after a signal");
		} else {
			uint64_t until = now_ns() + SETTLE_MS * 1000000ULL;

			while (line_state(p.sgfd, &q, false).out_count == cnt &&
			       now_ns() < until)
				usleep(1000);
			if (line_state(p.sgfd, &q, false).out_count == cnt)
				VIOLATION("an irqfd signal delivered no interrupt on %u",
					  q.irq);
		}
		/* VIRTBE_SIM_FAULT_DROP_IRQ drops raises, never a lowering */
		if (!round && q.type == VIRTBE_IRQ_LEVEL)
			EXPECT_RET("SIM_FAULT", _sim_fault(p.sgfd,
				   VIRTBE_SIM_FAULT_DROP_IRQ, 1), 0, 1);
		if (!round)	/* the driver acknowledges */
			kept_reg(p.sgfd, q.base + VMMIO_ACK, true, q.bits,
				 false);
		else		/* ... or resets the device (posted) */
			kept_reg(p.sgfd, q.base + VMMIO_STATUS, true, 0, true);
		isr = kept_reg(p.sgfd, q.base + VMMIO_ISR, false, 0, false);
		if (isr)
			VIOLATION("InterruptStatus 0x%x after %s", isr,
				  round ? "a reset" : "InterruptACK");
		if (q.type == VIRTBE_IRQ_LEVEL)
			wait_level(p.sgfd, &q, 0, round ? "after a reset" :
				   "after InterruptACK");
		if (!round && q.type == VIRTBE_IRQ_LEVEL)
			EXPECT_RET("SIM_FAULT", _sim_fault(p.sgfd,
				   VIRTBE_SIM_FAULT_DROP_IRQ, 0), 0, 1);
	}
	count(E_CHECKS, 1);
	probe_put(&p);
}

/*
 * Under the lock: can irqfd @k of @a show its resample?  A level irqfd
 * alone on its line, whose resample eventfd no irqfd reads (an irqfd
 * consumes its eventfd's count).
 */
static bool level_probe_ok(const struct m_att *a, int k)
{
	const struct m_irqfd *q = &a->irqfd[k];

	return q->type == VIRTBE_IRQ_LEVEL && !q->vmmio && h_open(q->eh) &&
	       h_open(q->rh) && line_alone(a->sg, q) &&
	       !resample_feeds_irqfd(a, q);
}

static bool has_level(struct m_att *a, void *arg)
{
	for (int k = 0; k < a->nr_irqfd; k++)
		if (level_probe_ok(a, k))
			return true;
	return false;
}

/* An EOI of an asserted level line signals its resample eventfd. */
static void probe_level_eoi(void)
{
	struct virtbe_sim_irq_state st;
	struct m_irqfd q;
	struct probe p;
	uint64_t one = 1, v;
	int k, rfd;

	if (!probe_get(&p, has_level, NULL, true))
		return;
	do
		k = below(p.a->nr_irqfd);
	while (!level_probe_ok(p.a, k));
	q = p.a->irqfd[k];
	rfd = w.h[q.rh.i].fd;
	line_state(p.sgfd, &q, true);
	if (read(rfd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		VIOLATION("read() of a resample eventfd: %s", strerror(errno));
	if (write(w.h[q.eh.i].fd, &one, sizeof(one)) != sizeof(one))
		VIOLATION("write() of an eventfd: %s", strerror(errno));
	wait_level(p.sgfd, &q, 1, "after a signal");
	st = line_state(p.sgfd, &q, true);
	if (st.out_level)
		VIOLATION("line %u asserted after its EOI", q.irq);
	if (read(rfd, &v, sizeof(v)) != sizeof(v))
		VIOLATION("an EOI of line %u did not signal the resample eventfd",
			  q.irq);
	count(E_CHECKS, 1);
	probe_put(&p);
}

/* A guest fd claims 64 ranges, no more. */
static void probe_enospc(void)
{
	struct probe p;
	int n, ret, i;

	if (!probe_get(&p, NULL, NULL, false))
		return;
	n = 64 - p.a->nr_range;
	for (i = 0; i <= n; i++) {
		struct m_range r = { true, PIO_PROBE + i, 1 };

		ret = claim(p.fd, &r, false);
		if (ret) {
			EXPECT_RET("CLAIM_RANGE over 64", ret,
				   i == n ? -ENOSPC : 0, 1);
			break;
		}
		if (i == n)
			VIOLATION("a guest fd claimed %d ranges", 65);
	}
	for (int j = 0; j < i; j++) {
		struct m_range r = { true, PIO_PROBE + j, 1 };

		EXPECT_RET("CLAIM_RANGE release", claim(p.fd, &r, true), 0, 1);
	}
	count(E_CHECKS, 1);
	probe_put(&p);
}

/* A deassign that reaches the flush: irqfds of closed eventfds are gone. */
static void flush_irqfds(void)
{
	struct m_irqfd q = { .type = VIRTBE_IRQ_EDGE };
	struct probe p;

	if (!probe_get(&p, NULL, NULL, false))
		return;
	q.eh = pick_efd(p.a, false);
	for (int k = 0; k < p.a->nr_irqfd; k++)
		if (href_eq(p.a->irqfd[k].eh, q.eh))
			q.eh = NOH;
	if (h_open(q.eh)) {
		irqfd_flush_begin();
		if (EXPECT_RET("IRQFD deassign of an unused eventfd",
			       irqfd_call(p.fd, w.h[q.eh.i].fd, -1, &q, true),
			       -ENOENT, 1))
			irqfd_flushed();
	}
	probe_put(&p);
}

/*
 * A string (rep) read and write at a claimed address: each answered at
 * once, REJECTED (the read all-ones), no request on the channel, and
 * GET_STATS counts exactly the two in out_rejected, nothing else.
 */
static void probe_rep(void)
{
	struct virtbe_stats s1, s2;
	struct virtbe_request req;
	struct probe p;

	if (!probe_get(&p, has_plain_mmio, NULL, true))
		return;
	att_stats(p.a, p.fd, &s1);
	for (int write = 0; write < 2; write++) {
		uint32_t len = 1 << below(4), res = ~0u;
		uint64_t addr = plain_addr(p.a), data = rnd();
		int ret = access_now(p.sgfd, VIRTBE_SIM_ACCESS_REP |
				     (write ? VIRTBE_SIM_ACCESS_WRITE : 0),
				     below(p.s->nr_vcpus), addr, len, &data,
				     &res);

		if (EXPECT_RET("a string access", ret, 0, 1) &&
		    (res != VIRTBE_SIM_RESULT_REJECTED ||
		     (!write && data != mask_of(len))))
			VIOLATION("a %u-byte string %s of 0x%llx: result %u data 0x%llx",
				  len, write ? "write" : "read",
				  (unsigned long long)addr, res,
				  (unsigned long long)data);
	}
	if (take_request(p.fd, &req, 0) != -ETIMEDOUT)
		VIOLATION("a string access reached the request channel");
	att_stats(p.a, p.fd, &s2);
	s1.out_rejected += 2;
	if (!stats_same(&s1, &s2))
		VIOLATION("two string accesses: GET_STATS rejected %llu requests %llu, expected %llu %llu",
			  (unsigned long long)s2.out_rejected,
			  (unsigned long long)s2.out_requests,
			  (unsigned long long)s1.out_rejected,
			  (unsigned long long)s1.out_requests);
	count(E_CHECKS, 1);
	probe_put(&p);
}

static void quiesce(void)
{
	static void (*const probes[])(void) = {
		probe_fail_nothing, probe_fail_nothing, probe_round_trip,
		probe_replay, probe_isr, probe_isr, probe_level_eoi,
		probe_enospc, probe_rep,
	};

	w.ops_since_pause = 0;
	reap_children(true);
	if (!pause_threads())
		return;
	count(E_PAUSES, 1);
	gc();
	/*
	 * Under the lock throughout: the other threads are parked, and the
	 * calls made here do not block for long (a helper thread makes the
	 * synchronous accesses that need a daemon, served from here).
	 */
	lock();
	check_fds();
	check_balance();
	check_left();
	flush_irqfds();
	for (int i = 1 + below(3); i > 0; i--)
		probes[below(sizeof(probes) / sizeof(probes[0]))]();
	check_balance();
	unlock();
	resume_threads();
}

/* ---- the driver, and a worker's life ---- */

/* No live guest and no room for one: close what is dead. */
static void close_dead(void)
{
	struct rel rl = { 0 };

	lock();
	for (int i = 0; i < SG_MAX; i++)
		if (w.sg[i].used && sg_life(&w.sg[i]) != L_LIVE &&
		    h_open(w.sg[i].f) && chance(50)) {
			w.sg[i].closing = true;
			h_close_locked(w.sg[i].f, &rl);
		}
	for (int i = 0; i < ATT_MAX; i++)
		if (att_usable(&w.att[i]) && att_life(&w.att[i]) != L_LIVE &&
		    chance(50))
			att_close_locked(&w.att[i], &rl);
	unlock();
	rel_do(&rl);
	usleep(1000);
}

static void driver_one(void)
{
	unsigned int r = below(100);
	int nsg = 0, nfree = 0, natt = 0, si;

	lock();
	for (int i = 0; i < SG_MAX; i++) {
		nsg += w.sg[i].used && sg_life(&w.sg[i]) == L_LIVE;
		nfree += !w.sg[i].used;
	}
	for (int i = 0; i < ATT_MAX; i++)
		natt += att_usable(&w.att[i]);
	unlock();

	if (!nsg && !nfree) {
		close_dead();
		return;
	}
	if (!nsg || (nfree && r < 4)) {
		op_sg_create();
		return;
	}
	if (!natt || r < 12) {
		op_attach();
		return;
	}
	if (r < 19) {
		lock();
		si = pick_sg(r < 14);
		unlock();
		if (si < 0)
			return;
		if (r < 14)
			op_sg_destroy(si);
		else if (r < 16)
			op_sg_close(si);
		else if (r < 18)
			op_sg_fault(si);
		else
			op_sg_bind(si);
		return;
	}
	if (r < 22)
		op_att_close();
	else if (r < 33)
		op_claim();
	else if (r < 37)
		op_release();
	else if (r < 40)
		op_reclaim();
	else if (r < 47)
		op_map();
	else if (r < 51)
		op_win_close();
	else if (r < 58)
		op_ioev();
	else if (r < 61)
		op_ioev_deassign();
	else if (r < 69)
		op_irqfd();
	else if (r < 72)
		op_irqfd_deassign();
	else if (r < 75)
		op_efd_close();
	else if (r < 87)
		op_invalid();
	else if (r < 89)
		op_child();
	else if (r < 91)
		op_info();
	else
		usleep(1000);	/* let the other threads work */
}

/* Stop the threads and close everything, in one of three orders. */
static void world_teardown(void)
{
	struct timespec ts;
	int order = below(3), n;

	/* a slow kernel: at least one destruction of a live guest per run */
	if (!sh->calls[C_SIM_DESTROY][O_OK])
		order = 0;

	lock();
	w.stop = true;
	pthread_cond_broadcast(&w.cond);
	unlock();
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += STUCK_MS / 1000;
	for (int i = 0; i < w.nthreads; i++)
		if (pthread_timedjoin_np(w.thr[i].tid, NULL, &ts)) {
			VIOLATION("thread %d stuck in %s at the end", i,
				  w.thr[i].op);
			dump_stacks(getpid());
			_exit(5);
		}
	reap_children(true);
	if (order == 0)		/* the guests die first */
		for (int i = 0; i < SG_MAX; i++)
			if (w.sg[i].used && h_open(w.sg[i].f) &&
			    !w.sg[i].destroyed)
				op_sg_destroy(i);
	for (n = H_MAX; n > 0; n--) {
		int i = below(H_MAX);

		/* attachments before guests, or in any order */
		if (order == 1)
			for (int k = 0; k < ATT_MAX; k++)
				if (w.att[k].used && h_open(w.att[k].f)) {
					i = w.att[k].f.i;
					break;
				}
		if (w.h[i].kind == H_FREE)
			continue;
		w.h[i].closing = true;
		w.h[i].users = -1;
		h_release(i);
	}
	for (int i = 0; i < H_MAX; i++)
		if (w.h[i].kind != H_FREE) {
			w.h[i].users = -1;
			h_release(i);
		}
	close(w.ctl);
	close(w.simctl);
	n = count_fds();
	if (n != w.base_fds - 2)
		VIOLATION("%d fds open at the end, %d at the start", n,
			  w.base_fds - 2);
}

static uint64_t st_seed, st_deadline;
static int st_vcpus;

static void stateful_worker(long p)
{
	struct sigaction sa = { .sa_handler = bus_handler };
	uint64_t seed = st_seed * 1000003ULL + p;

	sigaction(SIGBUS, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	rng = seed | 1;
	w.ctl = open("/dev/virtbe", O_RDWR | O_CLOEXEC);
	w.simctl = open("/dev/virtbe_sim", O_RDWR | O_CLOEXEC);
	if (w.ctl < 0 || w.simctl < 0)
		_exit(2);
	w.ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	/* not unmapped_ptr(): thread stacks and windows would reuse it */
	w.hole = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
		      0);
	for (int i = 0; i < SG_MAX; i++)
		sg_init(&w.sg[i]);
	for (int i = 0; i < ATT_MAX; i++)
		att_init(&w.att[i]);
	w.base_fds = count_fds();

	w.nthreads = st_vcpus + 2;
	for (int i = 0; i < w.nthreads; i++) {
		w.thr[i].idx = i - 2;	/* vCPU threads: 0 on */
		w.thr[i].seed = seed * 31 + i;
		w.thr[i].op = "starting";
		pthread_create(&w.thr[i].tid, NULL,
			       i == 0 ? daemon_fn : i == 1 ? irqmem_fn : vcpu_fn,
			       &w.thr[i]);
	}
	while (now_ns() < st_deadline) {
		reap_children(false);
		gc();
		if (++w.ops_since_pause > 150 || chance(1))
			quiesce();
		driver_one();
		count(E_OPS, 1);
	}
	if (!sh->ev[E_PAUSES])	/* a slow kernel: the pause's checks, once */
		quiesce();
	world_teardown();
}

/* ---- the tests ---- */

FIXTURE(fuzz) {
	struct workers wk;
};

FIXTURE_SETUP(fuzz)
{
	memset(&self->wk, 0, sizeof(self->wk));
}

FIXTURE_TEARDOWN(fuzz)
{
	kill_workers(&self->wk);
}

static void report(struct __test_metadata *_metadata)
{
	uint64_t ok = sum_calls(O_OK), st = sum_calls(O_STATE);
	uint64_t dead = sum_calls(O_DEAD), rej = sum_calls(O_REJECTED);
	uint64_t all = ok + st + dead + rej;

	TH_LOG("%llu calls: %llu reached a live object (%.1f%%: %llu succeeded, %llu refused by its state), %llu a dead guest (%.1f%%), %llu rejected by validation (%.1f%%)",
	       (unsigned long long)all, (unsigned long long)(ok + st),
	       all ? 100.0 * (ok + st) / all : 0, (unsigned long long)ok,
	       (unsigned long long)st, (unsigned long long)dead,
	       all ? 100.0 * dead / all : 0, (unsigned long long)rej,
	       all ? 100.0 * rej / all : 0);
	TH_LOG("  %-14s %9s %9s %9s %9s %9s", "call", "calls", "ok", "state",
	       "dead", "rejected");
	for (int c = 0; c < NR_CALLS; c++) {
		uint64_t *n = sh->calls[c];

		if (n[0] + n[1] + n[2] + n[3])
			TH_LOG("  %-14s %9llu %9llu %9llu %9llu %9llu",
			       call_name[c],
			       (unsigned long long)(n[0] + n[1] + n[2] + n[3]),
			       (unsigned long long)n[0],
			       (unsigned long long)n[1],
			       (unsigned long long)n[2],
			       (unsigned long long)n[3]);
	}
	for (int e = 0; e < NR_EV; e++)
		if (sh->ev[e])
			TH_LOG("  %-40s %llu", ev_name[e],
			       (unsigned long long)sh->ev[e]);
	if (sh->max_sync_ns)
		TH_LOG("  longest synchronous access: %llu ms",
		       (unsigned long long)(sh->max_sync_ns / 1000000));
}

/* After a run: every process ended, nothing leaked, the module works. */
static void after_run(struct __test_metadata *_metadata, struct workers *wk,
		      uint64_t deadline, int fds0)
{
	int late = reap_workers(wk, deadline), failed = 0, leaked = 0;
	int ctl, simctl, sg, g;
	uint64_t id, data = 0;
	uint32_t res;

	for (int p = 0; p < wk->n; p++)
		if (!wk->reaped[p] || !WIFEXITED(wk->status[p]) ||
		    WEXITSTATUS(wk->status[p])) {
			TH_LOG("worker %d ended with status 0x%x", p,
			       wk->status[p]);
			failed++;
		}
	/* the workers' group: their daemon processes too */
	kill_workers(wk);
	EXPECT_EQ(0, late);
	EXPECT_EQ(0, failed);
	EXPECT_EQ(fds0, count_fds());

	ctl = open("/dev/virtbe", O_RDWR | O_CLOEXEC);
	simctl = open("/dev/virtbe_sim", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, ctl);
	ASSERT_LE(0, simctl);
	/* no simulated guest outlived its fds */
	for (uint32_t i = 0; i < sh->nr_ids && i < MAX_IDS; i++) {
		g = _attach(ctl, VIRTBE_HYP_SIM, sh->ids[i], 0);
		if (g >= 0)
			close(g);
		if (g != -ENOENT) {
			TH_LOG("guest %u still exists after the run", sh->ids[i]);
			leaked++;
		}
	}
	EXPECT_EQ(0, leaked);
	/* the module still works */
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

/* Both tests, first: die with the harness, reap orphans, shared counters. */
static bool fuzz_begin(void)
{
	test_dies_with_harness();
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	sh = map_shared();
	return sh;
}

/* Both tests: @n workers run @fn until @deadline, then after_run(). */
static void run_workers(struct __test_metadata *_metadata, struct workers *wk,
			void (*fn)(long), int n, uint64_t deadline)
{
	int fds0 = count_fds();

	for (int p = 0; p < n; p++)
		ASSERT_LT(0, spawn_worker(wk, fn, p));
	after_run(_metadata, wk, deadline + GRACE_SECS * 1000000000ULL, fds0);
}

TEST_F_TIMEOUT(fuzz, run, 1800)
{
	struct rlimit rl = { .rlim_cur = 4096, .rlim_max = 4096 };
	uint64_t t0 = now_ns(), budget = budget_secs(60);
	int nproc = nr_procs();

	SKIP_IF_NO_VIRTBE(_metadata);
	ASSERT_TRUE(fuzz_begin());
	run_seed = env_long("FUZZ_SEED", 1);
	run_threads = env_long("FUZZ_THREADS", 3);
	if (run_threads < 1 || run_threads > 16)
		run_threads = 3;
	calls_per_thread = env_long("FUZZ_CALLS", 2500);
	run_deadline = t0 + budget * 1000000000ULL;
	setrlimit(RLIMIT_NOFILE, &rl);
	run_workers(_metadata, &self->wk, fuzz_process, nproc, run_deadline);
	TH_LOG("seed %llu: %d processes x %d threads, %ld calls each at most, budget %llu s: %.1f s",
	       (unsigned long long)run_seed, nproc, run_threads,
	       calls_per_thread, (unsigned long long)budget,
	       (now_ns() - t0) / 1e9);
	report(_metadata);
	/* The run must reach real work, not only error paths. */
	EXPECT_LT(0, sum_calls(O_OK));
	EXPECT_LT(0, sh->calls[C_MMAP][O_OK]);
	EXPECT_LT(0, sh->ev[E_REQ_DONE]);
}

TEST_F_TIMEOUT(fuzz, stateful, 1800)
{
	static const enum call must[] = {
		C_ATTACH, C_MEM_MAP, C_CLAIM_RANGE, C_IOEVENTFD, C_IRQFD,
		C_GET_STATS, C_SIM_ACCESS, C_SIM_DESTROY, C_READ, C_WRITE,
		C_MMAP,
	};
	uint64_t t0 = now_ns(), budget = budget_secs(30);
	int nproc = nr_procs();

	SKIP_IF_NO_VIRTBE(_metadata);
	ASSERT_TRUE(fuzz_begin());
	st_seed = env_long("FUZZ_SEED", 1);
	st_vcpus = env_long("FUZZ_THREADS", 2);
	if (st_vcpus < 1 || st_vcpus > THR_MAX - 2)
		st_vcpus = 2;
	st_deadline = t0 + budget * 1000000000ULL;
	run_workers(_metadata, &self->wk, stateful_worker, nproc, st_deadline);
	TH_LOG("seed %llu: %d processes x (driver, %d vCPU threads, daemon, interrupts/memory), budget %llu s: %.1f s",
	       (unsigned long long)st_seed, nproc, st_vcpus,
	       (unsigned long long)budget, (now_ns() - t0) / 1e9);
	report(_metadata);
	EXPECT_EQ(0, sh->violations);
	for (size_t i = 0; i < sizeof(must) / sizeof(must[0]); i++)
		if (!sh->calls[must[i]][O_OK])
			TH_LOG("no %s succeeded", call_name[must[i]]);
	for (size_t i = 0; i < sizeof(must) / sizeof(must[0]); i++)
		EXPECT_LT(0, sh->calls[must[i]][O_OK]);
	EXPECT_LT(0, sh->ev[E_REQ_DONE]);
	EXPECT_LT(0, sh->ev[E_PAUSES]);
}

TEST_HARNESS_MAIN
