// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define TEST_TIMEOUT_S 20
#define SKIP_EXIT 77

static struct harness_test *tests;
static unsigned int ntests;
static int failed;

void harness_register(struct harness_test *t)
{
	t->next = tests;
	tests = t;
	ntests++;
}

void harness_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stdout, "# %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stdout, fmt, ap);
	va_end(ap);
	fprintf(stdout, "\n");
	fflush(stdout);
	failed = 1;
}

void harness_skip(const char *why)
{
	printf("# skip: %s\n", why);
	fflush(stdout);
	exit(SKIP_EXIT);
}

static int cmp(const void *a, const void *b)
{
	const struct harness_test *x = *(struct harness_test *const *)a;
	const struct harness_test *y = *(struct harness_test *const *)b;
	int r = strcmp(x->file, y->file);

	return r ? r : x->line - y->line;
}

static int run_one(struct harness_test *t)
{
	pid_t pid;
	int st;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		alarm(TEST_TIMEOUT_S);
		t->fn();
		fflush(stdout);
		_exit(failed ? 1 : 0);
	}
	if (waitpid(pid, &st, 0) < 0)
		return -1;
	if (WIFSIGNALED(st)) {
		printf("# killed by signal %d (%s)\n", WTERMSIG(st),
		       strsignal(WTERMSIG(st)));
		return 1;
	}
	return WEXITSTATUS(st);
}

int main(int argc, char **argv)
{
	struct harness_test **list, *t;
	unsigned int i, n = 0, passed = 0, nfail = 0, skipped = 0;
	struct timespec a, b;
	int ret;

	list = calloc(ntests ? ntests : 1, sizeof(*list));
	if (!list)
		return 2;
	for (t = tests; t; t = t->next)
		if (argc < 2 || strstr(t->name, argv[1]))
			list[n++] = t;
	qsort(list, n, sizeof(*list), cmp);

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("TAP version 13\n1..%u\n", n);
	for (i = 0; i < n; i++) {
		clock_gettime(CLOCK_MONOTONIC, &a);
		ret = run_one(list[i]);
		clock_gettime(CLOCK_MONOTONIC, &b);
		if (ret == SKIP_EXIT) {
			printf("ok %u - %s # SKIP\n", i + 1, list[i]->name);
			skipped++;
			passed++;
		} else if (ret == 0) {
			printf("ok %u - %s (%.0f ms)\n", i + 1, list[i]->name,
			       (b.tv_sec - a.tv_sec) * 1e3 +
			       (b.tv_nsec - a.tv_nsec) / 1e6);
			passed++;
		} else {
			printf("not ok %u - %s\n", i + 1, list[i]->name);
			nfail++;
		}
	}
	if (skipped)
		printf("# %u skipped\n", skipped);
	printf("%u passed, %u failed\n", passed, nfail);
	free(list);
	return nfail ? 1 : 0;
}
