// SPDX-License-Identifier: GPL-2.0
/*
 * vgem_deadline: what deadlines do on vgem's engine. Between files (each
 * a timeline of its own) the ready job with the earliest deadline runs
 * first, while each file's jobs keep their order; a job without a
 * deadline waits for those with one only so long (starve_ms); a job that
 * would miss its deadline at the nominal clock runs at max_boost times
 * that clock, and debugfs "engines" counts the time spent so. A ready job
 * that would miss its deadline behind the job running preempts it (with
 * preempt=1, the default), unless that job is drawn or of the same file;
 * with preempt=0 the job running is boosted instead. Deadlines come from
 * VGEM_SUBMIT's deadline_ns, or (Linux 6.4 and later) from
 * SYNC_IOC_SET_DEADLINE on the job's out-fence.
 *
 * The order jobs ran in is read from their fences' signal timestamps: an
 * engine runs one job at a time, so these rise in that order. The jobs
 * whose order is tested are queued while a plug job runs, and the test
 * checks that the plug was still running once they all were (else it
 * tries again with a longer plug): then the engine chose among all of
 * them. Times are asserted where the engine makes them exact (a job
 * boosted from its start takes at least its nominal time over the boost)
 * or with a margin of hundreds of milliseconds.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <linux/sync_file.h>
#include <drm.h>

#include "drmtest.h"
#include "igt.h"
#include "vgem.h"

/* Linux 6.4's uapi; older headers lack it (6.1's kernel says ENOTTY). */
#ifndef SYNC_IOC_SET_DEADLINE
struct sync_set_deadline {
	__u64 deadline_ns;
	__u64 pad;
};
#define SYNC_IOC_SET_DEADLINE	_IOW(SYNC_IOC_MAGIC, 5, struct sync_set_deadline)
#endif

#define MS 1000000ull
#define NO_DEADLINE (-1)

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* ---- module parameters, put back when the subtest ends ------------------ */

static const char *const params[] = {
	"edf", "starve_ms", "max_boost", "write_lead_us", "preempt",
};
#define N_PARAMS (sizeof(params) / sizeof(params[0]))
static long param_saved[N_PARAMS];
static bool params_saved;

/* Writes a vgem parameter; -errno if the kernel refuses the value. */
static int param_write(const char *name, long value)
{
	char path[128], buf[32];
	int fd, n, ret = 0;

	snprintf(path, sizeof(path), "/sys/module/vgem/parameters/%s", name);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -errno;
	n = snprintf(buf, sizeof(buf), "%ld", value);
	if (write(fd, buf, n) != n)
		ret = -errno;
	close(fd);
	return ret;
}

static void params_restore(void *arg)
{
	for (unsigned int i = 0; i < N_PARAMS; i++)
		if (param_write(params[i], param_saved[i]))
			igt_info("restoring vgem.%s failed\n", params[i]);
	params_saved = false;
}

/* Saves every parameter the first time in a subtest, then sets @name. */
static void set_param(const char *name, long value)
{
	if (!params_saved) {
		for (unsigned int i = 0; i < N_PARAMS; i++)
			param_saved[i] = module_param_read("vgem", params[i]);
		params_saved = true;
		igt_cleanup_push(params_restore, param_saved);
	}
	igt_assert_eq(param_write(name, value), 0);
}

/* ---- debugfs "engines" ---------------------------------------------------- */

struct boost_stats {
	unsigned long long boosts, boosted_ns;
};

/*
 * Copies to @out the first line of debugfs "engines" for which @match
 * says yes (an empty string if none).
 */
static void engines_line(bool (*match)(const char *line, const void *arg),
			 const void *arg, char *out, size_t len)
{
	static char buf[65536];
	char *line, *end;
	bool found;

	out[0] = 0;
	igt_require_f(vgem_engines_read(buf, sizeof(buf)),
		      "no vgem debugfs \"engines\" (debugfs not mounted?)\n");
	for (line = buf; *line; line = end + 1) {
		end = strchrnul(line, '\n');
		found = false;
		if (*end) {
			*end = 0;
			found = match(line, arg);
			*end = '\n';
		} else {
			found = match(line, arg);
		}
		if (found) {
			snprintf(out, len, "%.*s", (int)(end - line), line);
			return;
		}
		if (!*end)
			return;
	}
}

static bool line_starts(const char *line, const void *prefix)
{
	return !strncmp(line, prefix, strlen(prefix));
}

static bool line_has(const char *line, const void *text)
{
	return strstr(line, text);
}

/* The counter @name on engine 0's line @line ("... NAME N ..."). */
static unsigned long long engine0_counter(const char *line, const char *name)
{
	unsigned long long n;
	char key[32];
	const char *p;

	snprintf(key, sizeof(key), " %s ", name);
	p = strstr(line, key);
	igt_assert_f(p, "no %s on engine0's line: %s\n", name, line);
	igt_assert_eq(sscanf(p + strlen(key), "%llu", &n), 1);
	return n;
}

/* Engine 0's boost counters, from one read. */
static struct boost_stats engine0_boosts(void)
{
	char line[512];

	engines_line(line_starts, "engine0: ", line, sizeof(line));
	igt_assert(line[0]);
	return (struct boost_stats){ engine0_counter(line, "boosts"),
				     engine0_counter(line, "boosted_ns") };
}

/* The line of the running job in @out (empty if none). */
static void running_job_line(char *out, size_t len)
{
	engines_line(line_has, "state running", out, len);
}

/* Waits, up to 2 s, until an engine lists a running job. */
static bool wait_running(void)
{
	char line[512];

	for (int i = 0; i < 2000; i++) {
		running_job_line(line, sizeof(line));
		if (line[0])
			return true;
		usleep(1000);
	}
	return false;
}

/* ---- clients and jobs ------------------------------------------------------ */

/* A file of its own: a timeline of its own on each engine. */
struct client {
	int fd;
	struct vgem_bo bo;
};

/* Waits, up to 20 s, until no engine lists a job. */
static void engines_wait_idle(void)
{
	char why[256];

	for (int i = 0; i < 20000; i++) {
		if (vgem_engines_idle(why, sizeof(why)))
			return;
		usleep(1000);
	}
	igt_assert_f(false, "vgem still lists a job after 20 s: %s\n", why);
}

/*
 * A client's cleanup, however its subtest ends: closes its file, then
 * waits until the engines are idle, so that the jobs of a failed subtest
 * do not run into the next one.
 */
static void client_cleanup(void *arg)
{
	struct client *c = arg;

	close(c->fd);
	engines_wait_idle();
}

static void client_open(struct client *c)
{
	c->fd = drm_open_driver("vgem");
	c->bo = (struct vgem_bo){ .width = 16, .height = 16 };
	vgem_create(c->fd, &c->bo);
	igt_cleanup_push(client_cleanup, c);
}

static void client_close(struct client *c)
{
	igt_cleanup_pop(c, true);
}

/*
 * A NOP job of @duration on engine 0 with a deadline (0: none), waiting
 * for @in_fence if not -1; returns its out-fence.
 */
static int submit_nop(struct client *c, uint64_t duration, uint64_t deadline,
		      int in_fence)
{
	struct drm_vgem_submit s = vgem_submit_desc(&c->bo, VGEM_OP_NOP);

	s.flags = VGEM_SUBMIT_NO_IMPLICIT;
	s.duration_ns = duration;
	s.deadline_ns = deadline;
	if (in_fence >= 0) {
		s.in_fences = (uintptr_t)&in_fence;
		s.num_in_fences = 1;
	}
	return vgem_submit_fd(c->fd, &s);
}

static void wait_ok(int fence)
{
	igt_assert(sync_fence_wait(fence, 20000));
	igt_assert_eq(sync_fence_status(fence), 1);
}

/* One job to queue behind the plug. */
struct job_spec {
	int client;		/* index into the clients */
	int deadline_ms;	/* after a base 10 s ahead, or NO_DEADLINE */
	bool after_plug;	/* waits for the plug's fence */
};

#define MAX_JOBS 64

/*
 * Queues the jobs of @spec, each of @duration, while a plug job of
 * another file runs, and puts in @order the indices of the jobs in the
 * order they ran. Deadlines are 10 s ahead or more: none is at risk.
 */
static void run_behind_plug(struct client *cl, const struct job_spec *spec,
			    int n, uint64_t duration, int *order)
{
	uint64_t ts[MAX_JOBS];
	int f[MAX_JOBS];
	struct client plugger;
	bool queued = false;

	igt_assert(n <= MAX_JOBS);
	client_open(&plugger);
	for (int attempt = 0; !queued; attempt++) {
		uint64_t base;
		int plug;

		igt_assert_f(attempt < 3,
			     "the plug job ended before the jobs were queued, 3 times\n");
		plug = submit_nop(&plugger, (300ull << attempt) * MS, 0, -1);
		igt_assert_f(wait_running(), "the plug job did not start\n");
		base = now_ns() + 10000 * MS;
		for (int i = 0; i < n; i++)
			f[i] = submit_nop(&cl[spec[i].client], duration,
					  spec[i].deadline_ms == NO_DEADLINE ?
					  0 : base + spec[i].deadline_ms * MS,
					  spec[i].after_plug ? plug : -1);
		/* Then the engine chose among them all once the plug ended. */
		queued = sync_fence_busy(plug);
		wait_ok(plug);
		for (int i = 0; i < n; i++) {
			wait_ok(f[i]);
			ts[i] = sync_fence_timestamp(f[i]);
			close(f[i]);
		}
		close(plug);
		if (!queued)
			igt_info("attempt %d: the plug ended too soon\n", attempt);
	}
	client_close(&plugger);

	/* Sorted by signal time; one job at a time, so no two are equal. */
	for (int i = 0; i < n; i++)
		order[i] = i;
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && ts[order[j]] < ts[order[j - 1]]; j--) {
			int t = order[j];

			order[j] = order[j - 1];
			order[j - 1] = t;
		}
	for (int i = 1; i < n; i++)
		igt_assert_lt(ts[order[i - 1]], ts[order[i]]);
}

static void assert_order(const int *order, const int *want, int n)
{
	char got[256] = "", exp[256] = "";

	for (int i = 0; i < n; i++) {
		snprintf(got + strlen(got), sizeof(got) - strlen(got), " %d",
			 order[i]);
		snprintf(exp + strlen(exp), sizeof(exp) - strlen(exp), " %d",
			 want[i]);
	}
	igt_info("ran:%s\n", got);
	for (int i = 0; i < n; i++)
		igt_assert_f(order[i] == want[i], "ran:%s, wanted:%s\n", got,
			     exp);
}

/* ---- order ----------------------------------------------------------------- */

/*
 * Three files, two jobs each. Only the oldest job of each file competes:
 * a2's deadline is the earliest of all, but it runs after a1; b2 has
 * none, so it runs last.
 */
static const struct job_spec three_files[] = {
	{ 0, 300, false }, { 0, 100, false },		/* a1, a2 */
	{ 1, 200, false }, { 1, NO_DEADLINE, false },	/* b1, b2 */
	{ 2, 50, false }, { 2, 400, false },		/* c1, c2 */
};

static void test_order(bool edf)
{
	static const int want_edf[] = { 4, 2, 0, 1, 5, 3 };
	static const int want_fifo[] = { 0, 1, 2, 3, 4, 5 };
	struct client cl[3];
	int order[6];

	set_param("edf", edf);
	set_param("starve_ms", 0);
	for (int i = 0; i < 3; i++)
		client_open(&cl[i]);
	run_behind_plug(cl, three_files, 6, 1 * MS, order);
	assert_order(order, edf ? want_edf : want_fifo, 6);
	for (int i = 0; i < 3; i++)
		client_close(&cl[i]);
}

/*
 * A file whose oldest job waits for a fence holds back only itself: a
 * later job of another file runs meanwhile.
 */
static void test_blocked_file(void)
{
	struct client a, b;
	uint32_t id;
	int dmabuf, in, fa, fb;

	set_param("edf", 1);
	client_open(&a);
	client_open(&b);
	id = vgem_fence_attach(a.fd, a.bo.handle, true);
	dmabuf = prime_handle_to_fd(a.fd, a.bo.handle);
	in = dmabuf_export_sync_file(dmabuf, false);
	close(dmabuf);
	igt_assert(sync_fence_busy(in));

	fa = submit_nop(&a, 1 * MS, 0, in);
	fb = submit_nop(&b, 1 * MS, 0, -1);
	wait_ok(fb);
	igt_assert(sync_fence_busy(fa));
	vgem_fence_signal(a.fd, id);
	wait_ok(fa);
	close(in);
	close(fa);
	close(fb);
	client_close(&a);
	client_close(&b);
}

/*
 * A job without a deadline behind a stream of jobs with one: without the
 * bound it runs last; with starve_ms it runs once it has waited that
 * long, so at most starve_ms / duration (+ margin) jobs pass it, however
 * slow the machine (each job takes at least its duration). It becomes
 * ready when the plug ends, when the stream's first job, ready since it
 * was queued, has the engine: that one always passes it.
 */
#define STREAM 30
#define STREAM_MS 10
#define STARVE_MS 100

static void test_starvation(void)
{
	struct job_spec spec[STREAM + 1];
	struct client cl[2];
	int order[STREAM + 1], passed;

	set_param("edf", 1);
	client_open(&cl[0]);
	client_open(&cl[1]);
	spec[0] = (struct job_spec){ 0, NO_DEADLINE, true };
	for (int i = 1; i <= STREAM; i++)
		spec[i] = (struct job_spec){ 1, i, false };

	/* No bound: every job with a deadline first. */
	set_param("starve_ms", 0);
	run_behind_plug(cl, spec, STREAM + 1, STREAM_MS * MS, order);
	igt_assert_eq(order[STREAM], 0);

	set_param("starve_ms", STARVE_MS);
	run_behind_plug(cl, spec, STREAM + 1, STREAM_MS * MS, order);
	for (passed = 0; order[passed] != 0; passed++)
		;
	igt_info("%d of %d jobs with a deadline ran first\n", passed, STREAM);
	igt_assert_lte(1, passed);
	igt_assert_lte(passed, STARVE_MS / STREAM_MS + 3);
	client_close(&cl[0]);
	client_close(&cl[1]);
}

/* ---- the clock ------------------------------------------------------------- */

/*
 * A 400 ms job whose deadline is 1 ms after it is submitted: at risk from
 * its start. With max_boost=2 it runs at twice the clock: engine 0 counts
 * one boost, of at least the 200 ms the job then lasts and at most the
 * time from submission to signal. How much sooner it completes is a
 * timing figure, left to the demo's overload runs: a late worker on a
 * busy TCG guest can eat the margin. With max_boost=1 it takes its
 * 400 ms and nothing is counted.
 */
static void test_boost(int max_boost)
{
	struct boost_stats before, after;
	struct client c;
	uint64_t t0, took;
	int f;

	set_param("max_boost", max_boost);
	client_open(&c);
	before = engine0_boosts();
	t0 = now_ns();
	f = submit_nop(&c, 400 * MS, t0 + 1 * MS, -1);
	wait_ok(f);
	took = sync_fence_timestamp(f) - t0;
	after = engine0_boosts();
	igt_info("took %.1f ms, boosted %.1f ms\n", took / 1e6,
		 (after.boosted_ns - before.boosted_ns) / 1e6);
	if (max_boost == 1) {
		igt_assert_lte(400 * MS, took);
		igt_assert_eq(after.boosts, before.boosts);
		igt_assert_eq(after.boosted_ns, before.boosted_ns);
	} else {
		igt_assert_lte(200 * MS, took);
		igt_assert_eq(after.boosts, before.boosts + 1);
		igt_assert_lte(200 * MS, after.boosted_ns - before.boosted_ns);
		igt_assert_lte(after.boosted_ns - before.boosted_ns, took);
	}
	close(f);
	client_close(&c);
}

/* A deadline the nominal clock meets costs nothing. */
static void test_no_boost_in_time(void)
{
	struct boost_stats before, after;
	struct client c;
	uint64_t t0;
	int f;

	set_param("max_boost", 2);
	client_open(&c);
	before = engine0_boosts();
	t0 = now_ns();
	f = submit_nop(&c, 50 * MS, t0 + 10000 * MS, -1);
	wait_ok(f);
	igt_assert_lte(50 * MS, sync_fence_timestamp(f) - t0);
	after = engine0_boosts();
	igt_assert_eq(after.boosts, before.boosts);
	igt_assert_eq(after.boosted_ns, before.boosted_ns);
	close(f);
	client_close(&c);
}

/*
 * With preempt=0, a waiter at risk boosts the job it waits behind. File A runs a job
 * without a deadline; file B then queues a 1 ms job whose deadline has
 * passed (@deadline) or none. With the deadline, B's job would be late
 * whenever A's completes, so the engine boosts A's job, which debugfs
 * shows on the running line as soon as B's submission has returned (the
 * irq_work that re-checks the clock runs before the ioctl returns to
 * userspace). Without one, A's job is not boosted and nothing is counted.
 * If A's job was no longer running when B's was queued (a very slow
 * guest), the test tries again with a longer job.
 */
static void test_boost_waiter(bool deadline)
{
	struct boost_stats before, after;
	struct client a, b;
	char line[512];
	int fa, fb;

	set_param("max_boost", 2);
	set_param("preempt", 0);
	client_open(&a);
	client_open(&b);
	before = engine0_boosts();
	for (int attempt = 0; ; attempt++) {
		uint64_t len = (1000 << attempt) * MS;

		fa = submit_nop(&a, len, 0, -1);
		igt_assert(wait_running());
		fb = submit_nop(&b, 1 * MS, deadline ? now_ns() : 0, -1);
		running_job_line(line, sizeof(line));
		igt_info("attempt %d, running: %s\n", attempt, line);
		/* A's job is the running one that has no deadline. */
		if (line[0] && !strstr(line, " deadline in ")) {
			if (deadline)
				igt_assert_f(strstr(line, " boost x2"),
					     "A's job not boosted: %s\n", line);
			else
				igt_assert_f(!strstr(line, " boost"),
					     "A's job boosted: %s\n", line);
			break;
		}
		igt_assert_f(attempt < 2, "A's job never still running\n");
		wait_ok(fa);
		wait_ok(fb);
		close(fa);
		close(fb);
	}
	wait_ok(fa);
	wait_ok(fb);
	/* B's job, late from the start, is boosted as well. */
	igt_assert_lte(sync_fence_timestamp(fa), sync_fence_timestamp(fb));
	after = engine0_boosts();
	if (deadline) {
		igt_assert_lte(before.boosts + 1, after.boosts);
		igt_assert_lt(before.boosted_ns, after.boosted_ns);
	} else {
		igt_assert_eq(after.boosts, before.boosts);
		igt_assert_eq(after.boosted_ns, before.boosted_ns);
	}
	close(fa);
	close(fb);
	client_close(&a);
	client_close(&b);
}

/* ---- preemption ------------------------------------------------------------- */

/* Engine 0's preemptions. */
static unsigned long long engine0_preempts(void)
{
	char line[512];

	engines_line(line_starts, "engine0: ", line, sizeof(line));
	igt_assert(line[0]);
	return engine0_counter(line, "preempts");
}

/* A job's line whose fence context is *@arg. */
static bool line_of_context(const char *line, const void *arg)
{
	const char *p = strstr(line, " context ");
	unsigned long long ctx;

	return p && sscanf(p, " context %llu", &ctx) == 1 &&
	       ctx == *(const unsigned long long *)arg;
}

/* The line of the job whose fence has context @context, in @out. */
static void job_line(unsigned long long context, char *out, size_t len)
{
	engines_line(line_of_context, &context, out, len);
}

/* The fence context of the running job's line, or 0. */
static unsigned long long running_context(void)
{
	unsigned long long ctx = 0;
	char line[512], *p;

	running_job_line(line, sizeof(line));
	p = strstr(line, " context ");
	if (p)
		sscanf(p, " context %llu", &ctx);
	return ctx;
}

enum preempt_case {
	PREEMPT,		/* B's job preempts A's */
	IN_TIME,		/* B's deadline is met behind A's: no switch */
	SAME_FILE,		/* B is A's own file: its order stands */
	DRAWN,			/* A's job is drawn already: boosted instead */
};

/*
 * File A runs a 1 s job (the longest) without a deadline; then a 300 ms
 * job with a deadline is queued (by file B, or by A itself for
 * SAME_FILE), 100 ms ahead (10 s for IN_TIME): it would miss it behind
 * A's job even with both boosted, and is at risk from its own start too,
 * so boosted when it runs. PREEMPT: B's job signals first, A's
 * after it; while B's runs, A's job is listed as preempted once, with
 * less than its duration left (it ran meanwhile) and more than nothing;
 * engine 0 counts one preemption. The other cases: A's job signals first
 * and nothing is counted. DRAWN: write_lead_us makes the worker draw at
 * the job's start; once A's pixels are there, the job cannot be
 * preempted, so it is boosted for the waiter. If A's job was no longer
 * running when the other was queued (a very slow guest), the test tries
 * again, up to three times.
 */
static void test_preempt(enum preempt_case what)
{
	unsigned long long before, after, ctx_a;
	struct client a, b, *q = what == SAME_FILE ? &a : &b;
	uint64_t len;
	struct vgem_bo bo;
	char line[512] = "";
	uint32_t *map;
	int fa, fb;

	set_param("edf", 1);
	set_param("preempt", 1);
	set_param("max_boost", 2);
	set_param("starve_ms", 0);
	if (what == DRAWN)
		set_param("write_lead_us", 10000000);
	client_open(&a);
	client_open(&b);
	bo = a.bo;
	map = vgem_mmap(a.fd, &bo, PROT_READ);
	for (int attempt = 0; ; attempt++) {
		struct drm_vgem_submit s = vgem_submit_desc(&bo, VGEM_OP_FILL);
		uint64_t ahead = (what == IN_TIME ? 10000 : 100) * MS;
		bool still;

		igt_assert_f(attempt < 3, "A's job never still running\n");
		s.flags = VGEM_SUBMIT_NO_IMPLICIT;
		s.color = 0xff000000 | (attempt + 1);
		len = VGEM_MAX_DURATION_NS;
		s.duration_ns = len;
		fa = vgem_submit_fd(a.fd, &s);
		igt_assert_f(wait_running(), "A's job did not start\n");
		ctx_a = running_context();
		for (int i = 0; what == DRAWN && i < 2000 && map[0] != s.color;
		     i++)
			usleep(1000);
		if (what == DRAWN)
			igt_assert_eq(map[0], s.color);
		before = engine0_preempts();
		fb = submit_nop(q, 300 * MS, now_ns() + ahead, -1);
		/* B's job runs for 150 ms or more: A's line meanwhile. */
		if (what == PREEMPT)
			job_line(ctx_a, line, sizeof(line));
		still = sync_fence_busy(fa);
		wait_ok(fa);
		wait_ok(fb);
		after = engine0_preempts();
		if (still)
			break;
		igt_info("attempt %d: A's job ended before B's was queued\n",
			 attempt);
		close(fa);
		close(fb);
	}
	igt_info("A's job while B's ran: %s\n", line);
	igt_info("A signaled %.1f ms %s B\n",
		 llabs((long long)(sync_fence_timestamp(fa) -
				   sync_fence_timestamp(fb))) / 1e6,
		 sync_fence_timestamp(fa) < sync_fence_timestamp(fb) ?
		 "before" : "after");
	if (what == PREEMPT) {
		unsigned long long left_us = 0;
		unsigned int times = 0;
		char *p = strstr(line, " preempted ");

		igt_assert_lt(sync_fence_timestamp(fb), sync_fence_timestamp(fa));
		igt_assert_eq(after, before + 1);
		igt_assert_f(p, "A's job not listed as preempted: '%s'\n", line);
		igt_assert_eq(sscanf(p, " preempted %u left %llu us", &times,
				     &left_us), 2);
		igt_assert_eq(times, 1);
		igt_assert_lt(0, left_us);
		igt_assert_lt(left_us, len / 1000);
	} else {
		igt_assert_lt(sync_fence_timestamp(fa), sync_fence_timestamp(fb));
		igt_assert_eq(after, before);
	}
	close(fa);
	close(fb);
	munmap(map, bo.size);
	client_close(&a);
	client_close(&b);
}

/*
 * SYNC_IOC_SET_DEADLINE on the out-fence of a running 1 s job (no
 * deadline of its own) reaches the engine through the dma_fence bridge:
 * debugfs shows the deadline on the job, which is boosted from then on;
 * the boost is counted, and no longer than from the ioctl to the signal.
 * @armed: write_lead_us makes the worker draw at the job's start, so the
 * completion timer is armed while the job runs and the boost moves it;
 * otherwise the boost wakes the worker, asleep before the draw.
 */
static void test_sync_file_deadline(bool armed)
{
	struct boost_stats before, after;
	struct sync_set_deadline sd;
	struct client c;
	struct vgem_bo bo;
	char line[512];
	bool boosted = false;
	uint32_t *map;

	set_param("max_boost", 2);
	if (armed)
		set_param("write_lead_us", 1000000);
	client_open(&c);
	bo = c.bo;
	map = vgem_mmap(c.fd, &bo, PROT_READ);
	for (int attempt = 0; !boosted; attempt++) {
		struct drm_vgem_submit s = vgem_submit_desc(&bo, VGEM_OP_FILL);
		uint64_t t_set;
		int f, ret;

		igt_assert_f(attempt < 3,
			     "the job ended before its deadline was set, 3 times\n");
		s.flags = VGEM_SUBMIT_NO_IMPLICIT;
		s.color = 0xff000000 | (attempt + 1);
		s.duration_ns = 1000 * MS;
		before = engine0_boosts();
		f = vgem_submit_fd(c.fd, &s);
		igt_assert_f(wait_running(), "the job did not start\n");
		/* Drawn, so its completion is armed (or is being armed). */
		for (int i = 0; armed && i < 2000 && map[0] != s.color; i++)
			usleep(1000);

		t_set = now_ns();
		sd = (struct sync_set_deadline){ .deadline_ns = t_set };
		ret = ioctl(f, SYNC_IOC_SET_DEADLINE, &sd);
		if (ret && errno == ENOTTY) {
			wait_ok(f);
			close(f);
			munmap(map, bo.size);
			client_close(&c);
			igt_skip("SYNC_IOC_SET_DEADLINE: ENOTTY (Linux 6.4 and later)\n");
		}
		igt_assert_eq(ret, 0);
		running_job_line(line, sizeof(line));
		/* Still running after the line was read: the line is its. */
		boosted = sync_fence_busy(f);
		wait_ok(f);
		after = engine0_boosts();
		if (boosted) {
			uint64_t ran = sync_fence_timestamp(f) - t_set;

			igt_info("%s; boosted %.1f ms of the last %.1f\n", line,
				 (after.boosted_ns - before.boosted_ns) / 1e6,
				 ran / 1e6);
			igt_assert_f(strstr(line, " deadline in "), "%s\n",
				     line);
			igt_assert_f(strstr(line, " boost x2"), "%s\n", line);
			igt_assert_eq(after.boosts, before.boosts + 1);
			igt_assert_lt(0, after.boosted_ns - before.boosted_ns);
			igt_assert_lte(after.boosted_ns - before.boosted_ns,
				       ran);
			igt_assert_eq(map[0], s.color);
		}
		close(f);
	}
	munmap(map, bo.size);
	client_close(&c);
}

/* ---- input ------------------------------------------------------------------ */

/*
 * deadline_ns is in the former reserved space: the rest of it, pad and
 * unknown flags are still refused, with or without a deadline; a deadline
 * over INT64_MAX is no CLOCK_MONOTONIC time. A past deadline is valid.
 */
static void test_bad_args(void)
{
	uint64_t soon = now_ns() + 1000 * MS;
	struct drm_vgem_submit s;
	struct client c;
	int f;

	client_open(&c);
#define BAD(field, value) do {						\
	s = vgem_submit_desc(&c.bo, VGEM_OP_NOP);			\
	s.deadline_ns = soon;						\
	s.field = value;						\
	igt_assert_eq(__vgem_submit(c.fd, &s), -EINVAL);		\
} while (0)
	BAD(pad, 1);
	BAD(reserved, 1);
	BAD(reserved, 1ull << 63);
	BAD(flags, 0x100);
	BAD(flags, 1u << 31);
	BAD(deadline_ns, 1ull << 63);
	BAD(deadline_ns, ~0ull);
#undef BAD

	s = vgem_submit_desc(&c.bo, VGEM_OP_NOP);
	s.deadline_ns = 1;
	f = vgem_submit_fd(c.fd, &s);
	wait_ok(f);
	close(f);
	client_close(&c);
}

/* max_boost takes 1 to 4; edf and starve_ms are plain numbers; preempt a bool. */
static void test_params(void)
{
	set_param("max_boost", 1);
	igt_assert_eq(param_write("max_boost", 0), -EINVAL);
	igt_assert_eq(param_write("max_boost", 5), -EINVAL);
	igt_assert_eq(module_param_read("vgem", "max_boost"), 1);
	set_param("max_boost", 4);
	igt_assert_eq(module_param_read("vgem", "max_boost"), 4);
	set_param("edf", 0);
	igt_assert_eq(module_param_read("vgem", "edf"), 0);
	set_param("starve_ms", 7);
	igt_assert_eq(module_param_read("vgem", "starve_ms"), 7);
	set_param("preempt", 0);
	igt_assert_eq(module_param_read("vgem", "preempt"), 0);
	igt_assert_eq(param_write("preempt", 2), -EINVAL);
}

igt_main
{
	igt_fixture
		close(drm_open_driver("vgem"));

	igt_subtest("edf-order")
		test_order(true);
	igt_subtest("fifo-order")
		test_order(false);
	igt_subtest("blocked-file")
		test_blocked_file();
	igt_subtest("starvation-bound")
		test_starvation();
	igt_subtest("boost")
		test_boost(2);
	igt_subtest("boost-off")
		test_boost(1);
	igt_subtest("no-boost-in-time")
		test_no_boost_in_time();
	igt_subtest("boost-for-waiter")
		test_boost_waiter(true);
	igt_subtest("no-boost-for-waiter-without-deadline")
		test_boost_waiter(false);
	igt_subtest("preempt")
		test_preempt(PREEMPT);
	igt_subtest("no-preempt-in-time")
		test_preempt(IN_TIME);
	igt_subtest("no-preempt-within-file")
		test_preempt(SAME_FILE);
	igt_subtest("no-preempt-once-drawn")
		test_preempt(DRAWN);
	igt_subtest("sync-file-deadline")
		test_sync_file_deadline(false);
	igt_subtest("sync-file-deadline-armed")
		test_sync_file_deadline(true);
	igt_subtest("bad-args")
		test_bad_args();
	igt_subtest("params")
		test_params();
}
