/* SPDX-License-Identifier: GPL-2.0 */
/*
 * crossfence IGT-style test harness.
 *
 * A test binary is a list of subtests in an igt_main block:
 *
 *	igt_main
 *	{
 *		int fd = -1;
 *
 *		igt_fixture
 *			fd = drm_open_driver("vgem");
 *		igt_subtest("create")
 *			test_create(fd);
 *		igt_fixture
 *			close(fd);
 *	}
 *
 * Conventions (those of IGT, so IGT's runner can drive the binaries):
 * --list-subtests prints the names and runs nothing; --run-subtest GLOB runs
 * only the matching ones; each subtest ends with a line
 * "Subtest NAME: SUCCESS|FAIL|SKIP (T.TTTs)"; the exit status is 0 when all
 * that ran passed, 77 when all were skipped, 98 when any failed, 79 when
 * --run-subtest matched nothing.
 *
 * A failed assertion prints the file, line, function, the expression and
 * errno, then leaves the subtest (longjmp): the rest of the subtest is not
 * run. A failure or skip inside a fixture marks every later subtest the same.
 * Every subtest runs under a watchdog (IGT_SUBTEST_TIMEOUT seconds, default
 * 120): a hung subtest is reported as a failure and the binary exits.
 */
#ifndef CROSSFENCE_IGT_H
#define CROSSFENCE_IGT_H

#include <errno.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define IGT_EXIT_SUCCESS 0
#define IGT_EXIT_SKIP 77
#define IGT_EXIT_INVALID 79
#define IGT_EXIT_FAILURE 98

extern sigjmp_buf igt_jmp;

void igt_subtest_init(int argc, char **argv);
bool igt_only_listing(void);
bool __igt_fixture_begin(void);
void __igt_fixture_end(void);
bool __igt_subtest_begin(const char *name);
void __igt_subtest_end(void);
__attribute__((noreturn)) void igt_exit(void);

__attribute__((noreturn, format(printf, 4, 5)))
void __igt_fail_assert(const char *file, int line, const char *func,
		       const char *fmt, ...);
__attribute__((noreturn, format(printf, 1, 2))) void igt_skip(const char *fmt, ...);
__attribute__((format(printf, 1, 2))) void igt_info(const char *fmt, ...);
__attribute__((format(printf, 1, 2))) void igt_debug(const char *fmt, ...);
void igt_set_timeout(unsigned int seconds);

/*
 * Cleanups of the running subtest, so that a failure leaves nothing open
 * for the next one (threads, fds, gated flips, driver knobs). A subtest
 * pushes one when it takes a resource and pops it (running it or not) when
 * it releases the resource itself. Whatever is still pushed when the
 * subtest ends (passed, failed or skipped) runs then, newest first. A
 * cleanup whose own assertion fails ends the program (status 98).
 */
void igt_cleanup_push(void (*fn)(void *arg), void *arg);
/* Remove the newest cleanup pushed with @arg, running it if @run. */
void igt_cleanup_pop(void *arg, bool run);
double igt_now(void);

#define igt_main							\
	static void __igt_main_body(void);				\
	int main(int argc, char **argv)					\
	{								\
		igt_subtest_init(argc, argv);				\
		__igt_main_body();					\
		igt_exit();						\
	}								\
	static void __igt_main_body(void)

/* A block run before/after subtests, unless only listing. */
#define igt_fixture							\
	for (int __f = __igt_fixture_begin() && !sigsetjmp(igt_jmp, 1);	\
	     __f; __f = 0, __igt_fixture_end())

/* A named subtest: its body runs once if selected, never when listing. */
#define igt_subtest(name)						\
	for (int __s = __igt_subtest_begin(name) && !sigsetjmp(igt_jmp, 1); \
	     __s; __s = 0, __igt_subtest_end())

#define igt_fail_on_f(cond, fmt, ...) do {				\
	if (cond)							\
		__igt_fail_assert(__FILE__, __LINE__, __func__,		\
				  "failed: %s\n" fmt, #cond, ##__VA_ARGS__); \
} while (0)

#define igt_assert(expr) do {						\
	if (!(expr))							\
		__igt_fail_assert(__FILE__, __LINE__, __func__,		\
				  "assertion failed: %s\n", #expr);	\
} while (0)

#define igt_assert_f(expr, fmt, ...) do {				\
	if (!(expr))							\
		__igt_fail_assert(__FILE__, __LINE__, __func__,		\
				  "assertion failed: %s\n" fmt, #expr,	\
				  ##__VA_ARGS__);			\
} while (0)

/* Integer comparisons print both values. */
#define __igt_assert_cmp(a, op, b) do {					\
	long long __a = (long long)(a), __b = (long long)(b);		\
	if (!(__a op __b))						\
		__igt_fail_assert(__FILE__, __LINE__, __func__,		\
				  "assertion failed: %s " #op " %s\n"	\
				  "  %lld " #op " %lld is false\n",	\
				  #a, #b, __a, __b);			\
} while (0)
#define igt_assert_eq(a, b) __igt_assert_cmp(a, ==, b)
#define igt_assert_neq(a, b) __igt_assert_cmp(a, !=, b)
#define igt_assert_lt(a, b) __igt_assert_cmp(a, <, b)
#define igt_assert_lte(a, b) __igt_assert_cmp(a, <=, b)
#define igt_assert_gt(a, b) __igt_assert_cmp(a, >, b)
#define igt_assert_gte(a, b) __igt_assert_cmp(a, >=, b)

/* A call that must fail with exactly this errno; @what names it. */
#define __igt_assert_errno(call, what, err) do {			\
	errno = 0;							\
	long __r = (long)(call);					\
	int __e = errno;						\
	if (__r != -1 || __e != (err))					\
		__igt_fail_assert(__FILE__, __LINE__, __func__,		\
				  "expected %s to fail with %s\n"	\
				  "  got %ld, errno %d (%s)\n", what,	\
				  #err, __r, __e, strerror(__e));	\
} while (0)
#define igt_assert_errno(call, err) __igt_assert_errno(call, #call, err)

/* An ioctl that must succeed. */
#define do_ioctl(fd, req, arg) \
	igt_assert_f(igt_ioctl(fd, req, arg) == 0, "ioctl %s\n", #req)
/* An ioctl that must fail with err. */
#define do_ioctl_err(fd, req, arg, err) \
	__igt_assert_errno(igt_ioctl(fd, req, arg), "ioctl " #req, err)

#define igt_require(expr) do {						\
	if (!(expr))							\
		igt_skip("requirement not met: %s\n", #expr);		\
} while (0)

#define igt_require_f(expr, fmt, ...) do {				\
	if (!(expr))							\
		igt_skip("requirement not met: %s\n" fmt, #expr,	\
			 ##__VA_ARGS__);				\
} while (0)

/*
 * ioctl(2) restarted on EINTR only: EAGAIN is a real answer from our drivers
 * (per-file limits), so it is returned, unlike libdrm's drmIoctl.
 */
int igt_ioctl(int fd, unsigned long request, void *arg);

#endif
