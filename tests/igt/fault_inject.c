// SPDX-License-Identifier: GPL-2.0
/*
 * fault_inject: every allocation on the paths of our ioctls fails in turn.
 * Each failure must reach userspace as a clean errno (ENOMEM; ENOSPC where
 * shmem gives it, see dumb_run()), leave nothing behind (kmemleak scans
 * after the suite), warn about nothing (the runner fails on any kernel
 * report), and the driver must still work: the same operation, run again
 * at once without a fault, succeeds.
 *
 * Needs the debug kernel (make check-debug): fault injection is not built
 * into Debian's kernel, and every subtest skips there.
 *
 * How one fault is placed on exactly the Nth allocation.
 *
 * On 6.1/x86_64 failslab cannot be limited to a module's code: the option
 * behind require-start, require-end and stacktrace-depth,
 * FAULT_INJECTION_STACKTRACE_FILTER, "depends on !X86_64", so those files
 * do not exist. Nor can times/interval/space pick "the Nth allocation":
 * should_fail_ex() counts interval's calls in a counter that nothing
 * resets, and would count them before a stack filter anyway. What 6.1 has
 * for this is fail-nth (fault-injection.rst, "Systematic faults using
 * fail-nth"): after N is written to /proc/thread-self/fail-nth, the Nth
 * fault point reached by this thread fails, whatever its caller, and
 * reading the file back gives 0 if that happened. So the thread's own task
 * is the filter (as task-filter with make-it-fail would be), and the
 * failslab/fail_page_alloc knobs choose the fault points: probability 0
 * (nothing fails at random, in any task), ignore-gfp-wait N (sleeping
 * allocations count too), and per pass either slab allocations only
 * (fail_page_alloc/min-order out of reach) or page allocations only
 * (failslab/cache-filter Y with no cache marked, min-order 0, highmem
 * included: shmem's pages are __GFP_HIGHMEM).
 *
 * Each workload runs with N = 1, 2, 3... until a run ends with no fault
 * injected: by then every fault point of its path has failed once. The
 * points include allocations that the DRM core, dma-buf and shmem make
 * under our calls (their failure must come back through our code just as
 * cleanly) and the debug kernel's own bookkeeping (kmemleak's metadata,
 * the stack depot: __GFP_NOWARN, their failure is absorbed). Which site
 * failed is read from the fault's stack dump (verbose 2) in /dev/kmsg; a
 * site is "ours" when that stack holds a frame of one of our modules,
 * which is what require-start/require-end would have selected.
 *
 * The engine's worker (vgem_job_draw() maps the buffer in the engine's
 * kworker) is not the test's task, so its allocations are never fault
 * points of the test. The engine-worker subtest arms fail-nth on that
 * kworker itself, found by its name ("+vgem-engine0" while it runs our
 * work) and by its state and stack (asleep in vgem_job_run() until the
 * job's completion time, before the draw), and checks that a failed draw
 * fails the job's fence with -EIO and nothing else. The draw's fault
 * points are counted first (fail-nth armed out of reach), then N = 1..that
 * count; fail-nth is disarmed as soon as the job's fence has signaled. The
 * one residual risk: were the count too high, the kworker would keep an
 * armed fail-nth from the end of the draw to that disarm (a few ms), and
 * could fail an allocation of another work item; the loop stops at the
 * first N that injected nothing.
 *
 * A new driver adds entries to the workload table below (a name, a device,
 * and the window of calls to run under fault).
 */
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <drm.h>
#include <linux/sync_file.h>
#include <linux/udmabuf.h>

#include "drmtest.h"
#include "igt.h"
#include "vgem.h"

#define DEBUGFS		"/sys/kernel/debug"
#define UNTRACKED	DEBUGFS "/fence/untracked"
#define MAX_N		5000	/* fault points of one window, at most */
#define MAX_STEPS	8
#define MS		1000000ull

enum fi_pass { PASS_SLAB, PASS_PAGE, NR_PASSES };
static const char *const pass_name[NR_PASSES] = { "slab", "page" };

/* ---- knobs ------------------------------------------------------------ */

static const struct {
	const char *attr, *knob;
} knobs[] = {
	{ "failslab", "probability" },
	{ "failslab", "verbose" },
	{ "failslab", "ignore-gfp-wait" },
	{ "failslab", "cache-filter" },
	{ "fail_page_alloc", "probability" },
	{ "fail_page_alloc", "verbose" },
	{ "fail_page_alloc", "ignore-gfp-wait" },
	{ "fail_page_alloc", "ignore-gfp-highmem" },
	{ "fail_page_alloc", "min-order" },
};
static char saved[sizeof(knobs) / sizeof(knobs[0])][32];
static bool knobs_saved;

static int read_text(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = 0;
	return (int)n;
}

static void knob_path(char *path, size_t len, const char *attr,
		      const char *knob)
{
	snprintf(path, len, DEBUGFS "/%s/%s", attr, knob);
}

static bool knob_write(const char *attr, const char *knob, const char *val)
{
	char path[128];
	int fd;
	bool ok;

	knob_path(path, sizeof(path), attr, knob);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ok = write(fd, val, strlen(val)) == (ssize_t)strlen(val);
	close(fd);
	return ok;
}

static void knob_set(const char *attr, const char *knob, const char *val)
{
	igt_assert_f(knob_write(attr, knob, val), "cannot set %s/%s to %s\n",
		     attr, knob, val);
}

static void knobs_save(void)
{
	char path[128];

	for (size_t i = 0; i < sizeof(knobs) / sizeof(knobs[0]); i++) {
		knob_path(path, sizeof(path), knobs[i].attr, knobs[i].knob);
		igt_require_f(read_text(path, saved[i], sizeof(saved[i])) > 0,
			      "no %s\n", path);
		saved[i][strcspn(saved[i], "\n")] = 0;
	}
	knobs_saved = true;
}

static void knobs_restore(void)
{
	if (!knobs_saved)
		return;
	for (size_t i = 0; i < sizeof(knobs) / sizeof(knobs[0]); i++)
		knob_write(knobs[i].attr, knobs[i].knob, saved[i]);
}

/* Which allocations are fault points in this pass; none fails at random. */
static void configure(enum fi_pass pass)
{
	knob_set("failslab", "probability", "0");
	knob_set("fail_page_alloc", "probability", "0");
	knob_set("failslab", "verbose", "2");
	knob_set("fail_page_alloc", "verbose", "2");
	if (pass == PASS_SLAB) {
		knob_set("failslab", "cache-filter", "N");
		knob_set("failslab", "ignore-gfp-wait", "N");
		knob_set("fail_page_alloc", "min-order", "1000");
	} else {
		/* No cache is marked SLAB_FAILSLAB: no slab fault points. */
		knob_set("failslab", "cache-filter", "Y");
		knob_set("fail_page_alloc", "min-order", "0");
		knob_set("fail_page_alloc", "ignore-gfp-wait", "N");
		knob_set("fail_page_alloc", "ignore-gfp-highmem", "N");
	}
}

/* ---- fail-nth --------------------------------------------------------- */

static int nth_fd = -1;	/* this thread's fail-nth */

/* Arms a task's fail-nth; no allocation of ours may happen until disarm. */
static bool nth_write(int fd, unsigned int n)
{
	char buf[16];
	int len = snprintf(buf, sizeof(buf), "%u", n);

	return pwrite(fd, buf, len, 0) == len;
}

/* Returns what was left: 0 if the fault was injected. Disarms. */
static unsigned int nth_disarm(int fd)
{
	char buf[16] = "";
	unsigned int left;

	if (pread(fd, buf, sizeof(buf) - 1, 0) <= 0)
		buf[0] = 0;
	left = (unsigned int)strtoul(buf, NULL, 10);
	nth_write(fd, 0);
	return left;
}

/* ---- sites, from the fault's stack dump in /dev/kmsg ------------------ */

static int kmsg = -1;
static char our_mods[8][32];
static int n_our_mods;

struct trace {
	bool dumped;	/* a "FAULT_INJECTION: forcing a failure" was seen */
	bool ours;	/* its stack holds a frame of one of our modules */
	char site[200];
};

static void our_modules_init(void)
{
	const char *env = getenv("CF_MODULES");
	char list[256];

	snprintf(list, sizeof(list), "%s", env ? env : "fence vgem vkms");
	for (char *s = strtok(list, " "); s && n_our_mods < 8;
	     s = strtok(NULL, " "))
		snprintf(our_mods[n_our_mods++], sizeof(our_mods[0]), "%s", s);
}

static bool frame_is_ours(const char *frame)
{
	const char *b = strrchr(frame, '[');

	for (int i = 0; b && i < n_our_mods; i++) {
		size_t l = strlen(our_mods[i]);

		if (!strncmp(b + 1, our_mods[i], l) && b[1 + l] == ']')
			return true;
	}
	return false;
}

/* The allocator itself, and the fault machinery: not a "site". */
static bool frame_is_allocator(const char *frame)
{
	static const char *const prefix[] = {
		"dump_stack", "should_fail", "__should_fail", "fail_dump",
		"should_failslab", "__should_failslab",
		"slab_pre_alloc_hook", "slab_alloc", "__slab_alloc",
		"___slab_alloc", "kmem_cache_alloc", "__kmem_cache_alloc",
		"kmem_cache_zalloc", "kmalloc", "__kmalloc", "kzalloc",
		"kcalloc", "kvmalloc", "kvzalloc", "kvcalloc", "krealloc",
		"__do_krealloc", "kmemdup", "kstrdup", "kasprintf",
		"kvasprintf", "__alloc_pages", "alloc_pages", "__folio_alloc",
		"folio_alloc", "vma_alloc_folio", "prepare_alloc_pages",
		"alloc_slab_page", "allocate_slab", "new_slab",
		"__get_free_pages", "get_zeroed_page", "__vmalloc",
		"vmalloc", "alloc_pages_bulk", "__alloc_pages_bulk",
		"mempool_alloc",
	};

	while (*frame == ' ')
		frame++;
	for (size_t i = 0; i < sizeof(prefix) / sizeof(prefix[0]); i++) {
		size_t l = strlen(prefix[i]);

		if (!strncmp(frame, prefix[i], l) &&
		    (frame[l] == '+' || frame[l] == '_' || frame[l] == '.'))
			return true;
	}
	return false;
}

/* "name+0x12/0x80 [mod]" -> "name+0x12 [mod]" */
static void frame_short(char *out, size_t len, const char *frame)
{
	const char *slash = strchr(frame, '/');
	const char *mod = strrchr(frame, '[');
	int l = slash ? (int)(slash - frame) : (int)strlen(frame);

	while (*frame == ' ')
		frame++, l--;
	snprintf(out, len, "%.*s%s%s", l, frame, mod ? " " : "",
		 mod ? mod : "");
}

static void kmsg_skip(void)
{
	lseek(kmsg, 0, SEEK_END);
}

/* Reads what the kernel logged since kmsg_skip(): the fault's site. */
static void kmsg_collect(struct trace *t)
{
	char rec[2048], call[96] = "", ours[96] = "";
	bool in = false;

	memset(t, 0, sizeof(*t));
	for (;;) {
		ssize_t n = read(kmsg, rec, sizeof(rec) - 1);
		char *msg, *nl;

		if (n < 0 && errno == EPIPE)
			continue;	/* records overwritten: go on */
		if (n <= 0)
			break;
		rec[n] = 0;
		msg = strchr(rec, ';');
		if (!msg)
			continue;
		msg++;
		nl = strchr(msg, '\n');
		if (nl)
			*nl = 0;
		if (strstr(msg, "FAULT_INJECTION: forcing a failure")) {
			t->dumped = in = true;
			call[0] = ours[0] = 0;
			continue;
		}
		if (!in)
			continue;
		if (strstr(msg, "</TASK>")) {
			in = false;
			continue;
		}
		if (!strstr(msg, "+0x") || strstr(msg, " ? "))
			continue;
		if (!call[0] && !frame_is_allocator(msg))
			frame_short(call, sizeof(call), msg);
		if (!ours[0] && frame_is_ours(msg))
			frame_short(ours, sizeof(ours), msg);
	}
	if (!t->dumped)
		return;
	t->ours = ours[0];
	if (!ours[0])
		snprintf(t->site, sizeof(t->site), "%s", call[0] ? call : "?");
	else if (!strcmp(ours, call))
		snprintf(t->site, sizeof(t->site), "%s", ours);
	else
		snprintf(t->site, sizeof(t->site), "%s from %s", call, ours);
}

static long fence_untracked(void)
{
	char buf[32];

	return read_text(UNTRACKED, buf, sizeof(buf)) > 0 ? atol(buf) : -1;
}

/* ---- results ---------------------------------------------------------- */

#define MAX_SITES	128

struct site {
	char label[200];
	bool ours;
	int hits, failed;
	unsigned int first_n;
	char what[48];	/* the call that returned the errno, if any */
};

struct result {
	char name[48];
	int points;	/* N values that injected a fault */
	int failed;	/* ... that made a call fail (ENOMEM, or its alt) */
	int absorbed;	/* ... that no call of the window noticed */
	int nsites;
	struct site site[MAX_SITES];
};

static struct result results[24];
static int nresults;

static struct result *result_new(const char *workload, const char *pass)
{
	struct result *res;

	igt_assert_lt(nresults, (int)(sizeof(results) / sizeof(results[0])));
	res = &results[nresults++];
	memset(res, 0, sizeof(*res));
	snprintf(res->name, sizeof(res->name), "%s/%s", workload, pass);
	return res;
}

static void result_add(struct result *res, unsigned int n,
		       const struct trace *t, long untracked,
		       const char *failed_call)
{
	char label[200];
	bool ours = t->ours;
	struct site *s = NULL;

	res->points++;
	if (failed_call)
		res->failed++;
	else
		res->absorbed++;

	if (t->dumped) {
		snprintf(label, sizeof(label), "%s", t->site);
	} else if (untracked > 0) {
		snprintf(label, sizeof(label),
			 "fence_track [fence] (GFP_NOWAIT|__GFP_NOWARN: no dump; fence/untracked +%ld)",
			 untracked);
		ours = true;
	} else {
		snprintf(label, sizeof(label),
			 "no dump (a __GFP_NOWARN allocation: kmemleak's, the stack depot's, shmem's pages...)");
	}
	for (int i = 0; i < res->nsites; i++)
		if (!strcmp(res->site[i].label, label))
			s = &res->site[i];
	if (!s) {
		if (res->nsites == MAX_SITES)
			return;
		s = &res->site[res->nsites++];
		snprintf(s->label, sizeof(s->label), "%s", label);
		s->ours = ours;
		s->first_n = n;
	}
	s->hits++;
	if (failed_call) {
		s->failed++;
		if (!s->what[0])
			snprintf(s->what, sizeof(s->what), "%s", failed_call);
	}
}

static int result_our_sites(const struct result *res)
{
	int n = 0;

	for (int i = 0; i < res->nsites; i++)
		n += res->site[i].ours;
	return n;
}

static void result_print(const struct result *res, unsigned int clean_n)
{
	if (!res->points) {
		igt_info("fault_inject: %s: no fault point (N=1 ran clean)\n",
			 res->name);
		return;
	}
	igt_info("fault_inject: %s: %d fault points (N=1..%d failed in turn, N=%u ran clean): %d failed cleanly, %d absorbed; %d sites, %d under our modules\n",
		 res->name, res->points, res->points, clean_n, res->failed,
		 res->absorbed, res->nsites, result_our_sites(res));
	for (int i = 0; i < res->nsites; i++) {
		const struct site *s = &res->site[i];

		igt_info("   %s %s: %dx from N=%u, %s%s\n",
			 s->ours ? "[ours]" : "[core]", s->label, s->hits,
			 s->first_n, s->failed ? "an errno from " : "absorbed",
			 s->failed ? s->what : "");
	}
}

/* ---- the window: calls under fault ------------------------------------ */

struct run {
	int n;
	struct {
		const char *what;
		int err;
		int alt;	/* an errno allowed besides ENOMEM, or 0 */
	} step[MAX_STEPS];
};

/*
 * Records a call's outcome; errno is read right after the call. @alt is
 * an errno the call may return instead of ENOMEM when an allocation
 * under it fails (the kernel's own choice, documented at the call).
 */
static bool rec_alt(struct run *r, const char *what, bool ok, int alt)
{
	int err = errno;

	igt_assert_lt(r->n, MAX_STEPS);
	r->step[r->n].what = what;
	r->step[r->n].err = ok ? 0 : err;
	r->step[r->n].alt = alt;
	r->n++;
	return ok;
}

static bool rec(struct run *r, const char *what, bool ok)
{
	return rec_alt(r, what, ok, 0);
}

/* Step @i ran and succeeded. */
static bool did(const struct run *r, int i)
{
	return i < r->n && !r->step[i].err;
}

static const char *failed_call(const struct run *r)
{
	return r->n && r->step[r->n - 1].err ? r->step[r->n - 1].what : NULL;
}

/* Every call succeeded, or the last one failed with ENOMEM under a fault. */
static void check_steps(const struct run *r, bool injected, unsigned int n)
{
	for (int i = 0; i < r->n; i++) {
		int err = r->step[i].err;

		if (!err)
			continue;
		igt_assert_f(injected,
			     "N=%u: %s failed with %s, and no fault was injected\n",
			     n, r->step[i].what, strerror(err));
		igt_assert_f(err == ENOMEM || err == r->step[i].alt,
			     "N=%u: %s failed with errno %d (%s), not ENOMEM%s%s\n",
			     n, r->step[i].what, err, strerror(err),
			     r->step[i].alt ? " nor " : "",
			     r->step[i].alt ? strerror(r->step[i].alt) : "");
	}
}

/* ---- workloads -------------------------------------------------------- */

struct wl {
	int fd, fd2;
	char node[64];
	struct vgem_bo bo, gate[2];
	uint32_t id[2];
	int sync[2];		/* submit: merged in-fence, previous out-fence */
	int32_t in[2];
	struct drm_vgem_submit submit;
	uint32_t handle[2];
	int dmabuf, udmabuf, memfd;
	uint32_t color;
	void *map;
};

struct workload {
	const char *name;
	const char *driver;
	void (*init)(struct wl *w);
	void (*prepare)(struct wl *w);	/* before each window */
	void (*run)(struct wl *w, struct run *r);	/* the window */
	void (*finish)(struct wl *w, const struct run *r);
	void (*fini)(struct wl *w);
};

static void nop(struct wl *w)
{
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static uint32_t next_color(struct wl *w)
{
	w->color = 0xff000000 | ((w->color + 0x0a0b0c) & 0xffffff);
	return w->color;
}

static uint32_t read_pixel(int fd, struct vgem_bo *bo)
{
	uint32_t *map = vgem_mmap(fd, bo, PROT_READ), px = map[0];

	munmap(map, bo->size);
	return px;
}

static void fill_bo(int fd, struct vgem_bo *bo, uint32_t color)
{
	uint32_t *map = vgem_mmap(fd, bo, PROT_READ | PROT_WRITE);

	for (size_t i = 0; i < bo->size / 4; i++)
		map[i] = color;
	munmap(map, bo->size);
}

static void vgem_fini(struct wl *w)
{
	close_fd(&w->fd2);
	close_fd(&w->fd);
}

/* (e) open: drm_open() and vgem_open(). */
static void open_init(struct wl *w)
{
	char name[32];

	for (int i = 0; i < 64; i++) {
		int fd;

		snprintf(w->node, sizeof(w->node), "/dev/dri/card%d", i);
		fd = open(w->node, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (drm_driver_name(fd, name, sizeof(name)) &&
		    !strcmp(name, "vgem")) {
			close(fd);
			return;
		}
		close(fd);
	}
	igt_skip("no vgem device node\n");
}

static void open_run(struct wl *w, struct run *r)
{
	w->fd2 = open(w->node, O_RDWR | O_CLOEXEC);
	rec(r, "open", w->fd2 >= 0);
}

static void open_finish(struct wl *w, const struct run *r)
{
	char name[32];

	if (did(r, 0)) {
		igt_assert(drm_driver_name(w->fd2, name, sizeof(name)));
		igt_assert_eq(strcmp(name, "vgem"), 0);
	}
	close_fd(&w->fd2);
}

/*
 * (a) FENCE_ATTACH + FENCE_SIGNAL, a writer then a reader, on a new file
 * each time: its first fence id takes the id table's first allocation.
 */
static void attach_prepare(struct wl *w)
{
	w->fd2 = drm_open_driver("vgem");
	w->bo = (struct vgem_bo){ .width = 16, .height = 16 };
	vgem_create(w->fd2, &w->bo);
}

static void attach_run(struct wl *w, struct run *r)
{
	struct drm_vgem_fence_attach a = { .handle = w->bo.handle,
					   .flags = VGEM_FENCE_WRITE };
	struct drm_vgem_fence_signal s = { 0 };

	w->id[0] = w->id[1] = 0;
	if (!rec(r, "FENCE_ATTACH write",
		 !igt_ioctl(w->fd2, DRM_IOCTL_VGEM_FENCE_ATTACH, &a)))
		return;
	s.fence = w->id[0] = a.out_fence;
	if (!rec(r, "FENCE_SIGNAL write",
		 !igt_ioctl(w->fd2, DRM_IOCTL_VGEM_FENCE_SIGNAL, &s)))
		return;
	a = (struct drm_vgem_fence_attach){ .handle = w->bo.handle };
	if (!rec(r, "FENCE_ATTACH read",
		 !igt_ioctl(w->fd2, DRM_IOCTL_VGEM_FENCE_ATTACH, &a)))
		return;
	s.fence = w->id[1] = a.out_fence;
	rec(r, "FENCE_SIGNAL read",
	    !igt_ioctl(w->fd2, DRM_IOCTL_VGEM_FENCE_SIGNAL, &s));
}

static void attach_finish(struct wl *w, const struct run *r)
{
	int dmabuf, sync;

	/* Fences attached but not signaled in the window: signal them. */
	if (did(r, 0) && !did(r, 1))
		vgem_fence_signal(w->fd2, w->id[0]);
	if (did(r, 2) && !did(r, 3))
		vgem_fence_signal(w->fd2, w->id[1]);
	/* A failed attach left no fence behind: the buffer is idle. */
	dmabuf = prime_handle_to_fd(w->fd2, w->bo.handle);
	sync = dmabuf_export_sync_file(dmabuf, true);
	igt_assert(!sync_fence_busy(sync));
	close(sync);
	close(dmabuf);
	close_fd(&w->fd2);
}

/*
 * (b) SUBMIT with an out-fence fd, a fence id and two in-fences: a merged
 * sync_file (a dma_fence_array: the fence core imports it) of two pending
 * attached fences, and the previous job's out-fence (our own export: it
 * comes back as the job's fence). Then the window signals the attached
 * fences, waits for the job by its id and releases the id. The job goes
 * on a new file each time (its first job, its first fence id); the
 * attached fences live on another.
 */
static int gate_sync(int fd, struct vgem_bo *bo)
{
	int dmabuf = prime_handle_to_fd(fd, bo->handle);
	int sync = dmabuf_export_sync_file(dmabuf, false);

	close(dmabuf);
	return sync;
}

static int sync_merge(int a, int b)
{
	struct sync_merge_data m = { .name = "fault_inject", .fd2 = b };

	do_ioctl(a, SYNC_IOC_MERGE, &m);
	return m.fence;
}

static void submit_init(struct wl *w)
{
	struct drm_vgem_submit s;

	w->fd = drm_open_driver("vgem");
	w->bo = (struct vgem_bo){ .width = 4, .height = 4 };
	vgem_create(w->fd, &w->bo);
	for (int i = 0; i < 2; i++) {
		w->gate[i] = (struct vgem_bo){ .width = 4, .height = 4 };
		vgem_create(w->fd, &w->gate[i]);
	}
	s = vgem_submit_desc(&w->bo, VGEM_OP_NOP);
	w->sync[1] = vgem_submit_fd(w->fd, &s);
	igt_assert(sync_fence_wait(w->sync[1], 10000));
}

static void submit_prepare(struct wl *w)
{
	int s0, s1;

	w->fd2 = drm_open_driver("vgem");
	w->bo = (struct vgem_bo){ .width = 32, .height = 32 };
	vgem_create(w->fd2, &w->bo);
	for (int i = 0; i < 2; i++)
		w->id[i] = vgem_fence_attach(w->fd, w->gate[i].handle, true);
	s0 = gate_sync(w->fd, &w->gate[0]);
	s1 = gate_sync(w->fd, &w->gate[1]);
	w->sync[0] = sync_merge(s0, s1);
	close(s0);
	close(s1);
	igt_assert(sync_fence_busy(w->sync[0]));

	w->in[0] = w->sync[0];
	w->in[1] = w->sync[1];
	w->submit = vgem_submit_desc(&w->bo, VGEM_OP_FILL);
	w->submit.color = next_color(w);
	w->submit.flags = VGEM_SUBMIT_OUT_FENCE_FD | VGEM_SUBMIT_FENCE_ID;
	w->submit.in_fences = (uintptr_t)w->in;
	w->submit.num_in_fences = 2;
	w->submit.duration_ns = 1 * MS;
}

static void submit_run(struct wl *w, struct run *r)
{
	struct drm_vgem_fence_signal s = { .fence = w->id[0] };
	struct drm_vgem_fence_wait wt = { .timeout_ns = 10000 * MS };

	if (!rec(r, "SUBMIT", !igt_ioctl(w->fd2, DRM_IOCTL_VGEM_SUBMIT,
					 &w->submit)))
		return;
	if (!rec(r, "FENCE_SIGNAL gate 0",
		 !igt_ioctl(w->fd, DRM_IOCTL_VGEM_FENCE_SIGNAL, &s)))
		return;
	s.fence = w->id[1];
	if (!rec(r, "FENCE_SIGNAL gate 1",
		 !igt_ioctl(w->fd, DRM_IOCTL_VGEM_FENCE_SIGNAL, &s)))
		return;
	wt.fence = w->submit.out_fence;
	if (!rec(r, "FENCE_WAIT job",
		 !igt_ioctl(w->fd2, DRM_IOCTL_VGEM_FENCE_WAIT, &wt)))
		return;
	s.fence = w->submit.out_fence;
	rec(r, "FENCE_SIGNAL job",
	    !igt_ioctl(w->fd2, DRM_IOCTL_VGEM_FENCE_SIGNAL, &s));
}

static void submit_finish(struct wl *w, const struct run *r)
{
	for (int i = 0; i < 2; i++)
		if (!did(r, 1 + i))
			vgem_fence_signal(w->fd, w->id[i]);
	if (did(r, 0)) {
		int out = w->submit.out_fence_fd;

		igt_assert_gte(out, 0);
		igt_assert(sync_fence_wait(out, 10000));
		igt_assert_eq(sync_fence_status(out), 1);
		if (!did(r, 4)) {
			igt_assert_eq(__vgem_fence_wait(w->fd2,
							w->submit.out_fence,
							10000 * MS), 0);
			vgem_fence_signal(w->fd2, w->submit.out_fence);
		}
		close_fd(&w->sync[1]);
		w->sync[1] = out;
	}
	/* The job drew, or, refused, drew nothing. */
	igt_assert_eq(read_pixel(w->fd2, &w->bo), did(r, 0) ? w->color : 0);
	close_fd(&w->sync[0]);
	close_fd(&w->fd2);
}

static void submit_fini(struct wl *w)
{
	close_fd(&w->sync[1]);
	vgem_fini(w);
}

/*
 * (c) PRIME: export a new buffer, import it on another vgem file (the
 * same device: the object itself comes back), and import a foreign
 * dma-buf (a udmabuf, where the kernel has it: vgem makes a new object
 * for it).
 */
static void prime_init(struct wl *w)
{
	struct udmabuf_create c = { .flags = UDMABUF_FLAGS_CLOEXEC,
				    .size = 4 * 4096 };
	int dev;
	uint32_t *p;

	w->fd = drm_open_driver("vgem");
	w->fd2 = drm_open_driver("vgem");
	dev = open("/dev/udmabuf", O_RDWR | O_CLOEXEC);
	if (dev < 0) {
		igt_info("no /dev/udmabuf: no foreign import in this run\n");
		return;
	}
	w->memfd = memfd_create("fault_inject", MFD_ALLOW_SEALING |
				MFD_CLOEXEC);
	igt_assert_gte(w->memfd, 0);
	igt_assert_eq(ftruncate(w->memfd, c.size), 0);
	igt_assert_eq(fcntl(w->memfd, F_ADD_SEALS, F_SEAL_SHRINK), 0);
	p = mmap(NULL, c.size, PROT_WRITE, MAP_SHARED, w->memfd, 0);
	igt_assert(p != MAP_FAILED);
	p[0] = 0x5eed;
	munmap(p, c.size);
	c.memfd = w->memfd;
	w->udmabuf = ioctl(dev, UDMABUF_CREATE, &c);
	igt_assert_gte(w->udmabuf, 0);
	close(dev);
}

static void prime_prepare(struct wl *w)
{
	w->bo = (struct vgem_bo){ .width = 32, .height = 32 };
	vgem_create(w->fd, &w->bo);
	fill_bo(w->fd, &w->bo, next_color(w));
}

static void prime_run(struct wl *w, struct run *r)
{
	struct drm_prime_handle p = { .handle = w->bo.handle,
				      .flags = DRM_CLOEXEC | DRM_RDWR };

	w->dmabuf = -1;
	w->handle[0] = w->handle[1] = 0;
	if (!rec(r, "PRIME_HANDLE_TO_FD",
		 !igt_ioctl(w->fd, DRM_IOCTL_PRIME_HANDLE_TO_FD, &p)))
		return;
	w->dmabuf = p.fd;
	p = (struct drm_prime_handle){ .fd = w->dmabuf };
	if (!rec(r, "PRIME_FD_TO_HANDLE vgem",
		 !igt_ioctl(w->fd2, DRM_IOCTL_PRIME_FD_TO_HANDLE, &p)))
		return;
	w->handle[0] = p.handle;
	if (w->udmabuf < 0)
		return;
	p = (struct drm_prime_handle){ .fd = w->udmabuf };
	if (!rec(r, "PRIME_FD_TO_HANDLE udmabuf",
		 !igt_ioctl(w->fd, DRM_IOCTL_PRIME_FD_TO_HANDLE, &p)))
		return;
	w->handle[1] = p.handle;
}

static void prime_finish(struct wl *w, const struct run *r)
{
	if (did(r, 1)) {
		struct vgem_bo other = w->bo;

		/* The other file sees the same pages. */
		other.handle = w->handle[0];
		igt_assert_eq(read_pixel(w->fd2, &other), w->color);
		gem_close(w->fd2, w->handle[0]);
	}
	if (did(r, 2)) {
		struct stat a, b;
		int back = prime_handle_to_fd(w->fd, w->handle[1]);

		/* An imported object exports the very dma-buf it came from. */
		igt_assert_eq(fstat(back, &a), 0);
		igt_assert_eq(fstat(w->udmabuf, &b), 0);
		igt_assert_eq(a.st_ino, b.st_ino);
		close(back);
		gem_close(w->fd, w->handle[1]);
	}
	close_fd(&w->dmabuf);
	gem_close(w->fd, w->bo.handle);
}

static void prime_fini(struct wl *w)
{
	close_fd(&w->udmabuf);
	close_fd(&w->memfd);
	vgem_fini(w);
}

/* (d) DUMB_CREATE, MAP_DUMB, mmap(). */
static void dumb_init(struct wl *w)
{
	w->fd = drm_open_driver("vgem");
}

static void dumb_run(struct wl *w, struct run *r)
{
	struct drm_mode_create_dumb c = { .width = 64, .height = 64,
					  .bpp = 32 };
	struct drm_mode_map_dumb m = { 0 };

	w->handle[0] = 0;
	w->map = MAP_FAILED;
	/*
	 * shmem gives ENOSPC when it cannot allocate the object's inode
	 * (__shmem_file_setup(): shmem_get_inode() failed), so does the
	 * ioctl, whose pages are shmem's.
	 */
	if (!rec_alt(r, "MODE_CREATE_DUMB",
		     !igt_ioctl(w->fd, DRM_IOCTL_MODE_CREATE_DUMB, &c), ENOSPC))
		return;
	w->handle[0] = c.handle;
	w->bo.size = c.size;
	m.handle = c.handle;
	if (!rec(r, "MODE_MAP_DUMB",
		 !igt_ioctl(w->fd, DRM_IOCTL_MODE_MAP_DUMB, &m)))
		return;
	w->map = mmap(NULL, c.size, PROT_READ | PROT_WRITE, MAP_SHARED, w->fd,
		      m.offset);
	rec(r, "mmap", w->map != MAP_FAILED);
}

static void dumb_finish(struct wl *w, const struct run *r)
{
	if (w->map != MAP_FAILED) {
		uint32_t *p = w->map;

		for (size_t i = 0; i < w->bo.size / 4; i++)
			p[i] = (uint32_t)i * 2654435761u;
		for (size_t i = 0; i < w->bo.size / 4; i++)
			igt_assert_eq(p[i], (uint32_t)i * 2654435761u);
		munmap(w->map, w->bo.size);
		w->map = MAP_FAILED;
	}
	if (w->handle[0])
		gem_close(w->fd, w->handle[0]);
}

/*
 * The table: one entry per workload. A driver adds its own, with the
 * window of calls it wants under fault.
 */
static const struct workload workloads[] = {
	{ "attach-signal", "vgem", nop, attach_prepare, attach_run,
	  attach_finish, vgem_fini },
	{ "submit", "vgem", submit_init, submit_prepare, submit_run,
	  submit_finish, submit_fini },
	{ "prime", "vgem", prime_init, prime_prepare, prime_run,
	  prime_finish, prime_fini },
	{ "dumb-mmap", "vgem", dumb_init, nop, dumb_run, dumb_finish,
	  vgem_fini },
	{ "open", "vgem", open_init, nop, open_run, open_finish, vgem_fini },
};

/* ---- the loop --------------------------------------------------------- */

static void run_clean(const struct workload *wk, struct wl *w, unsigned int n)
{
	struct run r = { 0 };

	wk->prepare(w);
	wk->run(w, &r);
	check_steps(&r, false, n);
	wk->finish(w, &r);
}

static void inject_pass(const struct workload *wk, enum fi_pass pass)
{
	struct wl w = { .fd = -1, .fd2 = -1, .sync = { -1, -1 },
			.dmabuf = -1, .udmabuf = -1, .memfd = -1,
			.map = MAP_FAILED };
	struct result *res = result_new(wk->name, pass_name[pass]);
	unsigned int n;

	configure(pass);
	nth_write(nth_fd, 0);
	wk->init(&w);
	/* Warm up: first-use allocations (fd table, idr layers) go now. */
	for (int i = 0; i < 2; i++)
		run_clean(wk, &w, 0);

	for (n = 1; ; n++) {
		struct run r = { 0 };
		long untracked = fence_untracked();
		struct trace t;
		bool injected;

		igt_assert_f(n <= MAX_N, "%s: still faulting at N=%u\n",
			     res->name, n);
		wk->prepare(&w);
		kmsg_skip();
		/* From here to nth_disarm(), nothing but the window. */
		nth_write(nth_fd, n);
		wk->run(&w, &r);
		injected = nth_disarm(nth_fd) == 0;
		kmsg_collect(&t);

		check_steps(&r, injected, n);
		wk->finish(&w, &r);
		if (!injected)
			break;
		result_add(res, n, &t, untracked < 0 ? 0 :
			   fence_untracked() - untracked, failed_call(&r));
		/* The driver still works: the same calls, no fault. */
		run_clean(wk, &w, n);
	}
	wk->fini(&w);
	result_print(res, n);
}

static void test_workload(const struct workload *wk)
{
	int fd = __drm_open_driver(wk->driver);

	igt_require_f(fd >= 0, "no %s device\n", wk->driver);
	close(fd);
	igt_set_timeout(1800);
	for (int p = 0; p < NR_PASSES; p++)
		inject_pass(wk, p);
}

/* ---- the engine's worker ---------------------------------------------- */

#define WORKER_TAG	"+vgem-engine0"
#define COUNT_N		1000000u	/* never reached: only counts */

/*
 * Asleep (state D) with vgem's engine work as the innermost frame of its
 * stack: /proc/PID/stack leaves out the scheduler's own functions, so
 * that is a sleep called straight from the work function, and its only
 * one is vgem_job_run()'s wait for the job's completion time, before the
 * draw (vgem_job_run() is inlined into vgem_engine_work()). A sleep in
 * the draw would show drm_gem_shmem_vmap() or the allocator on top.
 */
static bool worker_asleep_in_job(pid_t pid)
{
	char path[64], buf[4096], *state;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (read_text(path, buf, sizeof(buf)) <= 0)
		return false;
	state = strrchr(buf, ')');
	if (!state || state[1] != ' ' || state[2] != 'D')
		return false;
	snprintf(path, sizeof(path), "/proc/%d/stack", pid);
	if (read_text(path, buf, sizeof(buf)) <= 0)
		return false;
	buf[strcspn(buf, "\n")] = 0;
	return strstr(buf, "] vgem_engine_work+") ||
	       strstr(buf, "] vgem_job_run+");
}

/* The kworker running engine 0's work, asleep before a draw, or -1. */
static pid_t find_worker(void)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	pid_t pid = -1;

	igt_assert(d);
	while (pid < 0 && (e = readdir(d))) {
		char path[300], comm[96];

		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/comm", e->d_name);
		if (read_text(path, comm, sizeof(comm)) <= 0 ||
		    !strstr(comm, WORKER_TAG))
			continue;
		if (worker_asleep_in_job(atoi(e->d_name)))
			pid = atoi(e->d_name);
	}
	closedir(d);
	return pid;
}

struct worker_out {
	bool caught;		/* armed while it slept before the draw */
	unsigned int left;	/* fail-nth read back: 0 = injected */
	int status;		/* the job's fence */
	struct trace t;
};

/*
 * One FILL job of @duration on engine 0 whose worker gets fail-nth @n
 * while it sleeps until the job's completion time, before it draws.
 * Returns false if the job ran before its worker was found.
 */
static bool worker_job(int fd, struct vgem_bo *bo, uint32_t color,
		       unsigned int n, uint64_t duration, struct worker_out *o)
{
	struct drm_vgem_submit s = vgem_submit_desc(bo, VGEM_OP_FILL);
	struct pollfd p = { .events = POLLIN };
	char path[64];
	pid_t pid = -1;
	int f, nth;

	memset(o, 0, sizeof(*o));
	s.color = color;
	s.duration_ns = duration;
	s.flags = VGEM_SUBMIT_NO_IMPLICIT;
	f = vgem_submit_fd(fd, &s);
	while (pid < 0 && sync_fence_busy(f))
		pid = find_worker();
	if (pid < 0) {
		igt_assert(sync_fence_wait(f, 30000));
		o->status = sync_fence_status(f);
		close(f);
		return false;
	}
	snprintf(path, sizeof(path), "/proc/%d/fail-nth", pid);
	nth = open(path, O_RDWR | O_CLOEXEC);
	igt_assert_gte(nth, 0);
	kmsg_skip();
	nth_write(nth, n);
	/* Still asleep after the write: the draw has not started. */
	o->caught = worker_asleep_in_job(pid);
	p.fd = f;
	while (poll(&p, 1, 30000) < 0 && errno == EINTR)
		;
	o->left = nth_disarm(nth);
	close(nth);
	kmsg_collect(&o->t);
	igt_assert(sync_fence_wait(f, 30000));
	o->status = sync_fence_status(f);
	close(f);
	return true;
}

static void worker_pass(int fd, struct vgem_bo *bo, enum fi_pass pass)
{
	struct result *res = result_new("engine-worker", pass_name[pass]);
	uint64_t duration = 300 * MS;
	uint32_t color = 0xff102030, last;
	struct worker_out o;
	unsigned int points, n, clean_n;
	int tries = 0;

	configure(pass);
	/* Count the fault points of a draw: armed out of reach. */
	for (;;) {
		color += 0x010101;
		igt_assert_f(tries++ < 6, "never caught the worker asleep\n");
		if (worker_job(fd, bo, color, COUNT_N, duration, &o) &&
		    o.caught)
			break;
		duration = duration * 2 > 1000 * MS ? 1000 * MS : duration * 2;
	}
	igt_assert_eq(o.status, 1);
	igt_assert_eq(read_pixel(fd, bo), color);
	igt_assert_gt(o.left, 0);
	points = COUNT_N - o.left;
	clean_n = points + 1;	/* the counting run: every point passed */
	last = color;

	for (n = 1; n <= points; n++) {
		struct drm_vgem_submit s;
		bool caught = false;
		int f;

		for (tries = 0; !caught; tries++) {
			igt_assert_f(tries < 6, "N=%u: never caught the worker asleep\n",
				     n);
			color += 0x010101;
			caught = worker_job(fd, bo, color, n, duration, &o) &&
				 o.caught;
			/* Whatever happened, the outcome is clean. */
			igt_assert_f(o.status == 1 || o.status == -EIO,
				     "N=%u: job status %d\n", n, o.status);
			last = read_pixel(fd, bo);
			igt_assert(last == color || o.status == -EIO);
		}
		if (o.left) {
			/* Fewer fault points than counted: the path is done. */
			igt_assert_eq(o.status, 1);
			clean_n = n;
			break;
		}
		result_add(res, n, &o.t, 0,
			   o.status == -EIO ? "the draw (fence -EIO)" : NULL);
		if (o.status == -EIO)
			igt_assert_neq(last, color);

		/*
		 * The engine still works. Not implicitly after the failed
		 * job: a job whose dependency failed fails with its error
		 * (vgem_dep_signaled()), without running.
		 */
		s = vgem_submit_desc(bo, VGEM_OP_FILL);
		s.flags = VGEM_SUBMIT_NO_IMPLICIT;
		s.color = ++color;
		f = vgem_submit_fd(fd, &s);
		igt_assert(sync_fence_wait(f, 30000));
		igt_assert_eq(sync_fence_status(f), 1);
		igt_assert_eq(read_pixel(fd, bo), color);
		close(f);
	}
	igt_info("fault_inject: engine-worker/%s: the draw made %u fault points (counted with fail-nth out of reach)\n",
		 pass_name[pass], points);
	result_print(res, clean_n);
}

static void test_worker(void)
{
	struct vgem_bo bo = { .width = 64, .height = 64 };
	int fd = drm_open_driver("vgem");
	char probe[64];

	snprintf(probe, sizeof(probe), "/proc/%d/stack", getpid());
	igt_require_f(access(probe, R_OK) == 0, "no %s\n", probe);
	igt_set_timeout(1800);
	vgem_create(fd, &bo);
	/* Warm up the engine. */
	fill_bo(fd, &bo, 0);
	for (int p = 0; p < NR_PASSES; p++)
		worker_pass(fd, &bo, p);
	gem_close(fd, bo.handle);
	close(fd);
}

/* ---- setup and summary ------------------------------------------------ */

static void setup(void)
{
	char path[64];
	int fd;

	igt_require_f(access(DEBUGFS "/failslab", F_OK) == 0,
		      "needs the debug kernel (make check-debug): no %s/failslab (CONFIG_FAILSLAB)\n",
		      DEBUGFS);
	igt_require_f(access(DEBUGFS "/fail_page_alloc", F_OK) == 0,
		      "needs the debug kernel (make check-debug): no %s/fail_page_alloc\n",
		      DEBUGFS);
	snprintf(path, sizeof(path), "/proc/thread-self/fail-nth");
	nth_fd = open(path, O_RDWR | O_CLOEXEC);
	igt_require_f(nth_fd >= 0, "no %s\n", path);
	kmsg = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	igt_require_f(kmsg >= 0, "cannot read /dev/kmsg\n");
	our_modules_init();
	knobs_save();

	/* The mechanism itself: the first fault point of an open() fails. */
	configure(PASS_SLAB);
	kmsg_skip();
	nth_write(nth_fd, 1);
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	igt_assert_eq(nth_disarm(nth_fd), 0);
	igt_assert_eq(fd, -1);
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	igt_assert_gte(fd, 0);
	close(fd);
}

/* Sites under our modules, each counted once over every workload. */
static int distinct_our_sites(void)
{
	int n = 0;

	for (int i = 0; i < nresults; i++)
		for (int j = 0; j < results[i].nsites; j++) {
			const struct site *s = &results[i].site[j];
			bool seen = false;

			for (int k = 0; k <= i && !seen; k++)
				for (int l = 0; l < results[k].nsites; l++) {
					if (k == i && l == j)
						break;
					if (!strcmp(results[k].site[l].label,
						    s->label)) {
						seen = true;
						break;
					}
				}
			n += s->ours && !seen;
		}
	return n;
}

static void summary(void)
{
	int points = 0, failed = 0, absorbed = 0, ours = 0;
	int by_pass[3] = { 0 };

	for (int i = 0; i < nresults; i++) {
		const struct result *res = &results[i];

		points += res->points;
		failed += res->failed;
		absorbed += res->absorbed;
		ours += result_our_sites(res);
		if (!strncmp(res->name, "engine-worker/", 14))
			by_pass[2] += res->points;
		else
			by_pass[strstr(res->name, "/page") ? 1 : 0] +=
				res->points;
	}
	igt_info("fault_inject: per workload (fault points = N values injected):\n");
	for (int i = 0; i < nresults; i++)
		igt_info("   %-22s %4d fault points, %3d failed cleanly, %3d absorbed, %2d sites under our modules\n",
			 results[i].name, results[i].points, results[i].failed,
			 results[i].absorbed, result_our_sites(&results[i]));
	igt_info("fault_inject: summary: %d injected faults (slab %d, page %d, engine worker %d): %d failed a call or a job cleanly, %d absorbed; %d sites under our modules (%d per workload and pass)\n",
		 points, by_pass[0], by_pass[1], by_pass[2], failed, absorbed,
		 distinct_our_sites(), ours);
}

igt_main
{
	igt_fixture
		setup();

	for (size_t i = 0; i < sizeof(workloads) / sizeof(workloads[0]); i++)
		igt_subtest(workloads[i].name)
			test_workload(&workloads[i]);

	igt_subtest("engine-worker")
		test_worker();

	igt_fixture {
		nth_write(nth_fd, 0);
		knobs_restore();
		summary();
	}
}
