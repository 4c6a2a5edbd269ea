/* SPDX-License-Identifier: (GPL-2.0-only OR MIT) */
/*
 * A tiny test harness: TEST(name) { ... } registers a test; each test runs
 * in its own child process (so a sanitizer abort or a crash fails only
 * that test); CHECK*() report and continue, REQUIRE*() report and stop the
 * test.  Output is TAP-like and ends with "N passed, N failed".
 */
#ifndef VBE_TEST_HARNESS_H
#define VBE_TEST_HARNESS_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

struct harness_test {
	const char *name;
	const char *file;
	int line;
	void (*fn)(void);
	struct harness_test *next;
};

void harness_register(struct harness_test *t);
void harness_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void harness_skip(const char *why);

#define TEST(name)							\
	static void name(void);						\
	static struct harness_test name##_test = {			\
		#name, __FILE__, __LINE__, name, NULL			\
	};								\
	__attribute__((constructor)) static void name##_register(void)	\
	{								\
		harness_register(&name##_test);				\
	}								\
	static void name(void)

#define CHECK(c)							\
	((c) ? true :							\
	 (harness_fail(__FILE__, __LINE__, "CHECK(%s)", #c), false))

#define CHECK_EQ(a, b)							\
	({								\
		unsigned long long _a = (unsigned long long)(a);	\
		unsigned long long _b = (unsigned long long)(b);	\
		if (_a != _b)						\
			harness_fail(__FILE__, __LINE__,		\
				     "%s == %s: %lld (0x%llx) != %lld (0x%llx)", \
				     #a, #b, (long long)_a, _a,		\
				     (long long)_b, _b);		\
		_a == _b;						\
	})

#define REQUIRE(c)	do { if (!CHECK(c)) exit(1); } while (0)
#define REQUIRE_EQ(a, b) do { if (!CHECK_EQ(a, b)) exit(1); } while (0)

#endif
