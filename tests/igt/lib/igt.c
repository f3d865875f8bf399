// SPDX-License-Identifier: GPL-2.0
/*
 * crossfence IGT-style test harness: subtest selection, results, exit codes.
 * See igt.h for the conventions.
 */
#include <fnmatch.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "igt.h"

sigjmp_buf igt_jmp;

enum state { IDLE, IN_FIXTURE, IN_SUBTEST };

static struct {
	const char *prog;
	const char *filter;	/* --run-subtest glob, or NULL for all */
	bool listing;
	bool debug;
	enum state state;
	const char *subtest;	/* name of the running subtest */
	double start;
	unsigned int timeout;
	/* A fixture failed or skipped: every later subtest does the same. */
	bool fixture_failed;
	bool fixture_skipped;
	char fixture_why[256];
	int matched, passed, failed, skipped;
} igt;

double igt_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: %s [--list-subtests] [--run-subtest GLOB] [--debug]\n",
		igt.prog);
}

void igt_subtest_init(int argc, char **argv)
{
	const char *t = getenv("IGT_SUBTEST_TIMEOUT");

	igt.prog = argv[0];
	igt.timeout = t ? (unsigned int)atoi(t) : 120;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--list-subtests")) {
			igt.listing = true;
		} else if (!strcmp(argv[i], "--run-subtest") && i + 1 < argc) {
			igt.filter = argv[++i];
		} else if (!strncmp(argv[i], "--run-subtest=", 14)) {
			igt.filter = argv[i] + 14;
		} else if (!strcmp(argv[i], "--debug")) {
			igt.debug = true;
		} else if (!strcmp(argv[i], "--help")) {
			usage(stdout);
			exit(IGT_EXIT_SUCCESS);
		} else {
			fprintf(stderr, "%s: unknown option %s\n", igt.prog, argv[i]);
			usage(stderr);
			exit(IGT_EXIT_INVALID);
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
}

bool igt_only_listing(void)
{
	return igt.listing;
}

void igt_set_timeout(unsigned int seconds)
{
	igt.timeout = seconds;
	if (igt.state == IN_SUBTEST)
		alarm(seconds);
}

static void watchdog(int sig)
{
	char buf[256];
	int n;

	/* Only async-signal-safe calls here. */
	n = snprintf(buf, sizeof(buf),
		     "Subtest %s: FAIL (timeout after %us)\n",
		     igt.subtest ? igt.subtest : "?", igt.timeout);
	if (n > 0)
		write(STDOUT_FILENO, buf, (size_t)n);
	_exit(IGT_EXIT_FAILURE);
}

bool __igt_fixture_begin(void)
{
	if (igt.listing || igt.fixture_failed || igt.fixture_skipped)
		return false;
	igt.state = IN_FIXTURE;
	return true;
}

void __igt_fixture_end(void)
{
	igt.state = IDLE;
}

#define IGT_MAX_CLEANUPS 16

static struct {
	void (*fn)(void *arg);
	void *arg;
} cleanups[IGT_MAX_CLEANUPS];
static int ncleanups;
static bool in_cleanup;

void igt_cleanup_push(void (*fn)(void *arg), void *arg)
{
	igt_assert(ncleanups < IGT_MAX_CLEANUPS);
	cleanups[ncleanups].fn = fn;
	cleanups[ncleanups].arg = arg;
	ncleanups++;
}

void igt_cleanup_pop(void *arg, bool run)
{
	void (*fn)(void *arg);
	int i = ncleanups - 1;

	while (i >= 0 && cleanups[i].arg != arg)
		i--;
	igt_assert_f(i >= 0, "no cleanup pushed for %p\n", arg);
	fn = cleanups[i].fn;
	for (; i + 1 < ncleanups; i++)
		cleanups[i] = cleanups[i + 1];
	ncleanups--;
	if (run)
		fn(arg);
}

static void run_cleanups(void)
{
	in_cleanup = true;
	while (ncleanups > 0) {
		ncleanups--;
		printf("cleanup %d after the subtest\n", ncleanups);
		cleanups[ncleanups].fn(cleanups[ncleanups].arg);
	}
	in_cleanup = false;
}

static void result(const char *what)
{
	run_cleanups();
	alarm(0);
	printf("Subtest %s: %s (%.3fs)\n", igt.subtest, what,
	       igt_now() - igt.start);
	igt.state = IDLE;
	igt.subtest = NULL;
}

bool __igt_subtest_begin(const char *name)
{
	if (igt.state != IDLE) {
		fprintf(stderr, "%s: subtest %s nested in another block\n",
			igt.prog, name);
		exit(IGT_EXIT_INVALID);
	}
	if (igt.listing) {
		printf("%s\n", name);
		return false;
	}
	if (igt.filter && fnmatch(igt.filter, name, 0))
		return false;

	igt.matched++;
	igt.subtest = name;
	igt.start = igt_now();
	printf("Starting subtest: %s\n", name);
	if (igt.fixture_failed) {
		printf("(fixture failed: %s)\n", igt.fixture_why);
		igt.failed++;
		result("FAIL");
		return false;
	}
	if (igt.fixture_skipped) {
		printf("(fixture skipped: %s)\n", igt.fixture_why);
		igt.skipped++;
		result("SKIP");
		return false;
	}
	igt.state = IN_SUBTEST;
	signal(SIGALRM, watchdog);
	alarm(igt.timeout);
	return true;
}

void __igt_subtest_end(void)
{
	igt.passed++;
	result("SUCCESS");
}

__attribute__((noreturn))
static void leave(bool failed, const char *msg)
{
	if (in_cleanup) {
		printf("a cleanup failed: the state is unknown, stopping\n");
		fflush(stdout);
		exit(IGT_EXIT_FAILURE);
	}
	if (igt.state == IN_SUBTEST) {
		if (failed)
			igt.failed++;
		else
			igt.skipped++;
		result(failed ? "FAIL" : "SKIP");
	} else if (igt.state == IN_FIXTURE) {
		snprintf(igt.fixture_why, sizeof(igt.fixture_why), "%s", msg);
		for (char *c = igt.fixture_why; *c; c++)
			if (*c == '\n')
				*c = c[1] ? ';' : '\0';
		if (failed)
			igt.fixture_failed = true;
		else
			igt.fixture_skipped = true;
		igt.state = IDLE;
	} else {
		/* Outside any block: the whole binary ends here. */
		fflush(stdout);
		exit(failed ? IGT_EXIT_FAILURE : IGT_EXIT_SKIP);
	}
	fflush(stdout);
	siglongjmp(igt_jmp, 1);
}

void __igt_fail_assert(const char *file, int line, const char *func,
		       const char *fmt, ...)
{
	int err = errno;
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	printf("(%s:%d) %s:\n%s", file, line, func, msg);
	if (msg[0] && msg[strlen(msg) - 1] != '\n')
		printf("\n");
	printf("Last errno: %d, %s\n", err, strerror(err));
	leave(true, msg);
}

void igt_skip(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	printf("%s", msg);
	if (msg[0] && msg[strlen(msg) - 1] != '\n')
		printf("\n");
	leave(false, msg);
}

void igt_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
}

void igt_debug(const char *fmt, ...)
{
	va_list ap;

	if (!igt.debug)
		return;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
}

void igt_exit(void)
{
	fflush(stdout);
	if (igt.listing)
		exit(IGT_EXIT_SUCCESS);
	if (igt.filter && !igt.matched) {
		fprintf(stderr, "%s: no subtest matches '%s'\n", igt.prog,
			igt.filter);
		exit(IGT_EXIT_INVALID);
	}
	if (igt.failed)
		exit(IGT_EXIT_FAILURE);
	if (!igt.passed)
		exit(IGT_EXIT_SKIP);
	exit(IGT_EXIT_SUCCESS);
}

int igt_ioctl(int fd, unsigned long request, void *arg)
{
	int ret;

	do {
		ret = ioctl(fd, request, arg);
	} while (ret == -1 && errno == EINTR);
	return ret;
}
