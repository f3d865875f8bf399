// SPDX-License-Identifier: GPL-2.0
/*
 * vgem_submit: render jobs on the simulated engines. Content is written
 * before the job's fence signals, jobs of an engine run in order, in-fences
 * and the buffers' fences hold a job back, in-fence errors propagate (the
 * buffers' fences pass none on), limits hold,
 * and bad input is refused with the documented errno.
 *
 * "Not yet" is always made certain by holding a job back with an unsignaled
 * fence, never by hoping a duration has not elapsed.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>
#include <drm.h>
#include <drm_fourcc.h>

#include "drmtest.h"
#include "igt.h"
#include "vgem.h"

#define MS 1000000ull

static struct vgem_bo new_bo(int fd, uint32_t w, uint32_t h)
{
	struct vgem_bo bo = { .width = w, .height = h };

	vgem_create(fd, &bo);
	return bo;
}

static uint32_t *px(uint32_t *map, struct vgem_bo *bo, uint32_t x, uint32_t y)
{
	return map + y * (bo->pitch / 4) + x;
}

/* An unsignaled fence as a sync_file fd, and the id that signals it. */
static int blocker(int fd, uint32_t *id)
{
	struct vgem_bo bo = new_bo(fd, 4, 4);
	int dmabuf, sync;

	*id = vgem_fence_attach(fd, bo.handle, true);
	dmabuf = prime_handle_to_fd(fd, bo.handle);
	sync = dmabuf_export_sync_file(dmabuf, false);
	close(dmabuf);
	gem_close(fd, bo.handle);
	igt_assert(sync_fence_busy(sync));
	return sync;
}

static void test_fill(int fd)
{
	struct vgem_bo bo = new_bo(fd, 128, 64);
	struct drm_vgem_submit s = vgem_submit_desc(&bo, VGEM_OP_FILL);
	uint32_t *map;
	int f;

	s.x = 16;
	s.y = 8;
	s.width = 32;
	s.height = 16;
	s.color = 0xff112233;
	s.duration_ns = 5 * MS;
	f = vgem_submit_fd(fd, &s);
	igt_assert(sync_fence_wait(f, 10000));
	igt_assert_eq(sync_fence_status(f), 1);
	map = vgem_mmap(fd, &bo, PROT_READ);
	for (uint32_t y = 0; y < bo.height; y++)
		for (uint32_t x = 0; x < bo.width; x++) {
			bool in = x >= 16 && x < 48 && y >= 8 && y < 24;

			igt_assert_eq(*px(map, &bo, x, y), in ? 0xff112233 : 0);
		}
	munmap(map, bo.size);
	close(f);
	gem_close(fd, bo.handle);
}

static void test_pattern(int fd)
{
	struct vgem_bo bo = new_bo(fd, 600, 40);
	struct drm_vgem_submit s = vgem_submit_desc(&bo, VGEM_OP_PATTERN);
	uint32_t *map;
	int f;

	s.frame = 0x2a5;
	f = vgem_submit_fd(fd, &s);
	igt_assert(sync_fence_wait(f, 10000));
	map = vgem_mmap(fd, &bo, PROT_READ);
	for (uint32_t y = 0; y < bo.height; y++)
		for (uint32_t x = 0; x < bo.width; x++)
			igt_assert_eq(*px(map, &bo, x, y),
				      vgem_pattern_pixel(x, y, 0x2a5));
	munmap(map, bo.size);
	close(f);
	gem_close(fd, bo.handle);
}

static void test_copy(int fd)
{
	struct vgem_bo a = new_bo(fd, 64, 64), b = new_bo(fd, 64, 64);
	struct drm_vgem_submit s = vgem_submit_desc(&a, VGEM_OP_PATTERN);
	uint32_t *map;
	int f;

	s.frame = 7;
	close(vgem_submit_fd(fd, &s));
	/* The copy waits for the pattern through the source's write fence. */
	s = vgem_submit_desc(&b, VGEM_OP_COPY);
	s.src_handle = a.handle;
	s.src_stride = a.pitch;
	s.src_x = 8;
	s.src_y = 4;
	s.x = 2;
	s.y = 3;
	s.width = 20;
	s.height = 10;
	f = vgem_submit_fd(fd, &s);
	igt_assert(sync_fence_wait(f, 10000));
	map = vgem_mmap(fd, &b, PROT_READ);
	for (uint32_t y = 0; y < 64; y++)
		for (uint32_t x = 0; x < 64; x++) {
			bool in = x >= 2 && x < 22 && y >= 3 && y < 13;
			uint32_t want = in ? vgem_pattern_pixel(x + 6, y + 1, 7) : 0;

			igt_assert_eq(*px(map, &b, x, y), want);
		}
	munmap(map, b.size);
	close(f);
	gem_close(fd, a.handle);
	gem_close(fd, b.handle);
}

static void test_copy_overlap(int fd)
{
	struct vgem_bo a = new_bo(fd, 32, 32);
	struct drm_vgem_submit s = vgem_submit_desc(&a, VGEM_OP_PATTERN);
	uint32_t *map;
	int f;

	s.frame = 3;
	close(vgem_submit_fd(fd, &s));
	/* Rows 0..19 move down to 5..24 inside the same buffer. */
	s = vgem_submit_desc(&a, VGEM_OP_COPY);
	s.src_handle = a.handle;
	s.src_stride = a.pitch;
	s.y = 5;
	s.height = 20;
	f = vgem_submit_fd(fd, &s);
	igt_assert(sync_fence_wait(f, 10000));
	map = vgem_mmap(fd, &a, PROT_READ);
	for (uint32_t y = 5; y < 25; y++)
		for (uint32_t x = 0; x < 32; x++)
			igt_assert_eq(*px(map, &a, x, y),
				      vgem_pattern_pixel(x, y - 5, 3));
	munmap(map, a.size);
	close(f);
	gem_close(fd, a.handle);
}

/* Jobs of one engine complete in order, and the last write wins. */
static void test_order(int fd)
{
	struct vgem_bo bo = new_bo(fd, 64, 64);
	struct drm_vgem_submit s = vgem_submit_desc(&bo, VGEM_OP_FILL);
	int f[8];
	uint32_t *map;

	for (int i = 0; i < 8; i++) {
		s = vgem_submit_desc(&bo, VGEM_OP_FILL);
		s.color = 0xff000000 | i;
		s.duration_ns = (8 - i) * MS;	/* earlier ones take longer */
		s.flags = VGEM_SUBMIT_NO_IMPLICIT;
		f[i] = vgem_submit_fd(fd, &s);
	}
	igt_assert(sync_fence_wait(f[7], 10000));
	for (int i = 0; i < 8; i++) {
		igt_assert_eq(sync_fence_status(f[i]), 1);
		if (i)
			igt_assert_lte(sync_fence_timestamp(f[i - 1]),
				       sync_fence_timestamp(f[i]));
	}
	map = vgem_mmap(fd, &bo, PROT_READ);
	igt_assert_eq(map[0], 0xff000007);
	munmap(map, bo.size);
	for (int i = 0; i < 8; i++)
		close(f[i]);
	gem_close(fd, bo.handle);
}

/* An in-fence holds the job back: no pixels, no signal, until it signals. */
static void test_in_fence_holds(int fd)
{
	struct vgem_bo bo = new_bo(fd, 32, 32);
	struct drm_vgem_submit s = vgem_submit_desc(&bo, VGEM_OP_FILL);
	uint32_t id, *map;
	int in, out;

	in = blocker(fd, &id);
	s.color = 0xffabcdef;
	s.in_fences = (uintptr_t)&in;
	s.num_in_fences = 1;
	out = vgem_submit_fd(fd, &s);
	map = vgem_mmap(fd, &bo, PROT_READ);
	igt_assert(sync_fence_busy(out));
	igt_assert_eq(map[0], 0);
	vgem_fence_signal(fd, id);
	igt_assert(sync_fence_wait(out, 10000));
	igt_assert_eq(sync_fence_status(out), 1);
	igt_assert_eq(map[0], 0xffabcdef);
	munmap(map, bo.size);
	close(in);
	close(out);
	gem_close(fd, bo.handle);
}

/* The target's own fences hold the job back (implicit sync). */
static void test_implicit_holds(int fd)
{
	struct vgem_bo bo = new_bo(fd, 32, 32);
	struct drm_vgem_submit s = vgem_submit_desc(&bo, VGEM_OP_FILL);
	uint32_t id = vgem_fence_attach(fd, bo.handle, false);
	uint32_t *map;
	int out;

	/* A writer waits for the reader. */
	s.color = 0xff00ff00;
	out = vgem_submit_fd(fd, &s);
	map = vgem_mmap(fd, &bo, PROT_READ);
	igt_assert(sync_fence_busy(out));
	igt_assert_eq(map[0], 0);
	vgem_fence_signal(fd, id);
	igt_assert(sync_fence_wait(out, 10000));
	igt_assert_eq(map[0], 0xff00ff00);
	munmap(map, bo.size);
	close(out);
	gem_close(fd, bo.handle);
}

/* A job on one engine waits for another engine's job given as in-fence. */
static void test_cross_engine(int fd)
{
	struct vgem_bo a = new_bo(fd, 32, 32), b = new_bo(fd, 32, 32);
	struct drm_vgem_submit s;
	int fa, fb;

	igt_require(module_param_read("vgem", "engines") >= 2);
	s = vgem_submit_desc(&a, VGEM_OP_FILL);
	s.duration_ns = 20 * MS;
	fa = vgem_submit_fd(fd, &s);
	s = vgem_submit_desc(&b, VGEM_OP_FILL);
	s.engine = 1;
	s.in_fences = (uintptr_t)&fa;
	s.num_in_fences = 1;
	fb = vgem_submit_fd(fd, &s);
	igt_assert(sync_fence_wait(fb, 10000));
	igt_assert_eq(sync_fence_status(fa), 1);
	igt_assert_lte(sync_fence_timestamp(fa), sync_fence_timestamp(fb));
	close(fa);
	close(fb);
	gem_close(fd, a.handle);
	gem_close(fd, b.handle);
}

static void test_out_fence_info(int fd)
{
	struct vgem_bo bo = new_bo(fd, 8, 8);
	struct drm_vgem_submit s = vgem_submit_desc(&bo, VGEM_OP_NOP);
	int dmabuf = prime_handle_to_fd(fd, bo.handle);
	char driver[32], timeline[32];
	uint32_t id;
	int in = blocker(fd, &id);
	int f, resv;

	s.in_fences = (uintptr_t)&in;
	s.num_in_fences = 1;
	f = vgem_submit_fd(fd, &s);
	/* While the job is held, the buffer's write fence is the job's. */
	resv = dmabuf_export_sync_file(dmabuf, false);
	igt_assert(sync_fence_busy(resv));
	vgem_fence_signal(fd, id);
	igt_assert(sync_fence_wait(f, 10000));
	sync_fence_names(f, driver, timeline);
	igt_assert_eq(strcmp(driver, "vgem"), 0);
	igt_assert_eq(strcmp(timeline, "engine0"), 0);
	sync_fence_names(resv, driver, timeline);
	igt_assert_eq(strcmp(driver, "vgem"), 0);
	/* One fence, seen both ways: the same moment of signal. */
	igt_assert_eq(sync_fence_status(resv), 1);
	igt_assert_eq(sync_fence_timestamp(resv), sync_fence_timestamp(f));
	close(resv);
	close(dmabuf);
	close(in);
	close(f);
	gem_close(fd, bo.handle);
}

static void test_fence_id(int fd)
{
	struct vgem_bo bo = new_bo(fd, 8, 8);
	struct drm_vgem_submit s = vgem_submit_desc(&bo, VGEM_OP_NOP);
	uint32_t bid;
	int in = blocker(fd, &bid);

	s.flags = VGEM_SUBMIT_FENCE_ID | VGEM_SUBMIT_NO_IMPLICIT;
	s.in_fences = (uintptr_t)&in;
	s.num_in_fences = 1;
	igt_assert_eq(__vgem_submit(fd, &s), 0);
	igt_assert_neq(s.out_fence, 0);
	igt_assert_eq(s.out_fence_fd, -1);
	igt_assert_eq(__vgem_fence_wait(fd, s.out_fence, 0), -ETIME);
	/* The engine signals job fences, not userspace. */
	igt_assert_eq(__vgem_fence_signal(fd, s.out_fence), -EBUSY);
	vgem_fence_signal(fd, bid);
	igt_assert_eq(__vgem_fence_wait(fd, s.out_fence, 10000 * MS), 0);
	vgem_fence_signal(fd, s.out_fence);
	igt_assert_eq(__vgem_fence_wait(fd, s.out_fence, 0), -ENOENT);
	close(in);
	gem_close(fd, bo.handle);
}

static void set_param(const char *param, long value)
{
	char path[128], buf[32];
	int fd, n;

	snprintf(path, sizeof(path), "/sys/module/vgem/parameters/%s", param);
	fd = open(path, O_WRONLY);
	igt_assert_gte(fd, 0);
	n = snprintf(buf, sizeof(buf), "%ld", value);
	igt_assert_eq(write(fd, buf, n), n);
	close(fd);
}

/* vgem's tunables and test knobs that subtests change. */
#define N_KNOBS 4
static const char *const knobs[N_KNOBS] = {
	"hang_ms", "test_stall_complete_ms", "test_hold_draw_ms",
	"test_fail_map",
};
static long knob_saved[N_KNOBS];
static bool knobs_saved;

/* After the subtest, passed or failed: every knob as it was before. */
static void knobs_restore(void *arg)
{
	for (unsigned int i = 0; i < N_KNOBS; i++) {
		char path[128], buf[32];
		int fd, n;

		snprintf(path, sizeof(path), "/sys/module/vgem/parameters/%s",
			 knobs[i]);
		fd = open(path, O_WRONLY);
		if (fd < 0)
			continue;
		n = snprintf(buf, sizeof(buf), "%ld", knob_saved[i]);
		if (write(fd, buf, n) != n)
			igt_info("restoring %s failed\n", knobs[i]);
		close(fd);
	}
	knobs_saved = false;
}

/* set_param() for a subtest: the knobs go back when it ends. */
static void set_knob(const char *param, long value)
{
	if (!knobs_saved) {
		for (unsigned int i = 0; i < N_KNOBS; i++)
			knob_saved[i] = module_param_read("vgem", knobs[i]);
		knobs_saved = true;
		igt_cleanup_push(knobs_restore, knob_saved);
	}
	set_param(param, value);
}

/* A hung job is signaled with ETIMEDOUT; its dependants fail with it. */
static void test_hang(int fd)
{
	struct vgem_bo a = new_bo(fd, 8, 8), b = new_bo(fd, 8, 8);
	struct drm_vgem_submit s;
	int hung, dep, after;

	set_knob("hang_ms", 100);
	s = vgem_submit_desc(&a, VGEM_OP_FILL);
	s.flags = VGEM_SUBMIT_HANG;
	hung = vgem_submit_fd(fd, &s);
	s = vgem_submit_desc(&b, VGEM_OP_FILL);
	s.color = 0xff0000ff;
	s.in_fences = (uintptr_t)&hung;
	s.num_in_fences = 1;
	dep = vgem_submit_fd(fd, &s);
	/* An independent job after the hang: the engine recovers. */
	s = vgem_submit_desc(&b, VGEM_OP_NOP);
	s.flags = VGEM_SUBMIT_NO_IMPLICIT;
	after = vgem_submit_fd(fd, &s);

	igt_assert(sync_fence_wait(hung, 20000));
	igt_assert(sync_fence_wait(dep, 20000));
	igt_assert(sync_fence_wait(after, 20000));
	igt_assert_eq(sync_fence_status(hung), -ETIMEDOUT);
	igt_assert_eq(sync_fence_status(dep), -ETIMEDOUT);
	igt_assert_eq(sync_fence_status(after), 1);
	close(hung);
	close(dep);
	close(after);
	gem_close(fd, a.handle);
	gem_close(fd, b.handle);
}

/*
 * Regression: a failed job fails no later user of its buffer. A hung job
 * writes A; a FILL of A queued behind it through A's implicit fences runs
 * once the hang check has failed the hung one, and draws; so does a COPY
 * from A into B. Before, both failed with ETIMEDOUT, undrawn, and so did
 * every later job on A: one hang failed a ring of frames for good.
 */
static void test_implicit_no_error(void)
{
	/* a file of its own: its hang counts towards no other's ban */
	int fd = drm_open_driver("vgem");
	struct vgem_bo a = new_bo(fd, 8, 8), b = new_bo(fd, 8, 8);
	struct drm_vgem_submit s;
	int hung, fill, copy;
	uint32_t *map;

	set_knob("hang_ms", 100);
	s = vgem_submit_desc(&a, VGEM_OP_FILL);
	s.flags = VGEM_SUBMIT_HANG;
	hung = vgem_submit_fd(fd, &s);
	s = vgem_submit_desc(&a, VGEM_OP_FILL);
	s.color = 0xff00ff00;
	fill = vgem_submit_fd(fd, &s);
	s = vgem_submit_desc(&b, VGEM_OP_COPY);
	s.src_handle = a.handle;
	s.src_stride = a.pitch;
	copy = vgem_submit_fd(fd, &s);

	igt_assert(sync_fence_wait(hung, 20000));
	igt_assert(sync_fence_wait(fill, 20000));
	igt_assert(sync_fence_wait(copy, 20000));
	igt_assert_eq(sync_fence_status(hung), -ETIMEDOUT);
	igt_assert_eq(sync_fence_status(fill), 1);
	igt_assert_eq(sync_fence_status(copy), 1);
	/* the hung job ended before the fill started: both fences order */
	igt_assert_lte(sync_fence_timestamp(hung), sync_fence_timestamp(fill));
	map = vgem_mmap(fd, &b, PROT_READ);
	for (uint32_t y = 0; y < b.height; y++)
		for (uint32_t x = 0; x < b.width; x++)
			igt_assert_eq(*px(map, &b, x, y), 0xff00ff00);
	munmap(map, b.size);
	close(hung);
	close(fill);
	close(copy);
	gem_close(fd, a.handle);
	gem_close(fd, b.handle);
	close(fd);
}

/* Whether some vgem engine lists a running job (debugfs). */
static bool engine_running(void)
{
	static char buf[65536];

	return vgem_engines_read(buf, sizeof(buf)) &&
	       strstr(buf, "state running");
}

/*
 * Regression: a job keeps the hang bound it started with. The hang check
 * used to recompute it from hang_ms when it fired; raised meanwhile, the
 * firing looked early, was dropped, and the engine stalled for good.
 */
static void test_hang_param_change(int fd)
{
	struct vgem_bo a = new_bo(fd, 8, 8);
	struct drm_vgem_submit s;
	int hung;

	set_knob("hang_ms", 100);
	s = vgem_submit_desc(&a, VGEM_OP_NOP);
	s.flags = VGEM_SUBMIT_HANG | VGEM_SUBMIT_NO_IMPLICIT;
	hung = vgem_submit_fd(fd, &s);
	/* Bounded wait for a condition: the job has started. */
	for (int i = 0; i < 1000 && !engine_running() && sync_fence_busy(hung);
	     i++)
		usleep(1000);
	set_knob("hang_ms", 60000);
	igt_assert(sync_fence_wait(hung, 20000));
	igt_assert_eq(sync_fence_status(hung), -ETIMEDOUT);
	close(hung);
	gem_close(fd, a.handle);
}

/*
 * Waits until the engine's worker is done with every job before: a NOP job
 * of its own completes only after the worker has returned from them.
 */
static void engine_drain(int fd, struct vgem_bo *bo)
{
	struct drm_vgem_submit s = vgem_submit_desc(bo, VGEM_OP_NOP);
	int f;

	s.flags = VGEM_SUBMIT_NO_IMPLICIT;
	f = vgem_submit_fd(fd, &s);
	igt_assert(sync_fence_wait(f, 20000));
	close(f);
}

/*
 * Regression: a completion IRQ that ran late retired whichever job was
 * running. Built with test knobs: the completion of job A is armed on
 * another CPU than A's hang check and stalls there until the engine runs
 * another job; the hang check retires A meanwhile, and the worker starts B.
 * The late completion must leave B alone: B's fence signals only when B's
 * pixels are there. (A's ETIMEDOUT proves the interleaving was built.)
 */
static void test_stale_completion(void)
{
	int fd = drm_open_driver("vgem");
	struct vgem_bo bo = new_bo(fd, 16, 16);
	struct drm_vgem_submit s;
	uint32_t *map;
	int a, b;

	igt_require(sysconf(_SC_NPROCESSORS_ONLN) >= 2);
	engine_drain(fd, &bo);
	set_knob("hang_ms", 30);
	set_knob("test_stall_complete_ms", 3000);
	s = vgem_submit_desc(&bo, VGEM_OP_FILL);
	s.flags = VGEM_SUBMIT_NO_IMPLICIT;
	s.color = 0xff00ff00;
	s.duration_ns = 10 * MS;
	a = vgem_submit_fd(fd, &s);
	/* Long: its pixels come VGEM_MAX_DURATION_NS after it starts. */
	s.color = 0xffff0000;
	s.duration_ns = 1000 * MS;
	b = vgem_submit_fd(fd, &s);

	igt_assert(sync_fence_wait(a, 20000));
	igt_assert(sync_fence_wait(b, 20000));
	map = vgem_mmap(fd, &bo, PROT_READ);
	igt_assert_eq(*px(map, &bo, 15, 15), 0xffff0000);
	igt_assert_eq(sync_fence_status(a), -ETIMEDOUT);
	igt_assert_eq(sync_fence_status(b), 1);
	munmap(map, bo.size);
	close(a);
	close(b);
	close(fd);
}

/*
 * Regression: the worker drew a job that the hang check had already
 * retired, after its fence signaled. A test knob holds the worker before
 * the draw until the hang check has retired the job; the buffer must stay
 * untouched. The NOP job after it completes only once the worker is done
 * with the first (one ordered worker per engine).
 */
static void test_no_draw_after_hang(void)
{
	int fd = drm_open_driver("vgem");
	struct vgem_bo bo = new_bo(fd, 16, 16);
	struct drm_vgem_submit s;
	uint32_t *map;
	int a, b;

	engine_drain(fd, &bo);
	set_knob("hang_ms", 20);
	set_knob("test_hold_draw_ms", 5000);
	s = vgem_submit_desc(&bo, VGEM_OP_FILL);
	s.color = 0xff0000ff;
	s.duration_ns = 5 * MS;
	a = vgem_submit_fd(fd, &s);
	igt_assert(sync_fence_wait(a, 20000));
	igt_assert_eq(sync_fence_status(a), -ETIMEDOUT);

	s = vgem_submit_desc(&bo, VGEM_OP_NOP);
	s.flags = VGEM_SUBMIT_NO_IMPLICIT;
	b = vgem_submit_fd(fd, &s);
	igt_assert(sync_fence_wait(b, 20000));
	igt_assert_eq(sync_fence_status(b), 1);
	map = vgem_mmap(fd, &bo, PROT_READ);
	for (uint32_t y = 0; y < bo.height; y++)
		for (uint32_t x = 0; x < bo.width; x++)
			igt_assert_eq(*px(map, &bo, x, y), 0);
	munmap(map, bo.size);
	close(a);
	close(b);
	close(fd);
}

/*
 * A buffer the kernel cannot map (an import of I/O memory; here a test
 * knob makes the map fail so) fails SUBMIT with EINVAL: no out-fence, no
 * fence left in the buffer's reservation, the buffer untouched, and the
 * file and engine go on working.
 */
static void test_map_error(int fd)
{
	struct vgem_bo bo = new_bo(fd, 16, 16);
	struct drm_vgem_submit s;
	uint32_t *map;
	int dmabuf, sync, f;

	set_knob("test_fail_map", 1);
	s = vgem_submit_desc(&bo, VGEM_OP_FILL);
	s.flags = VGEM_SUBMIT_OUT_FENCE_FD;
	s.color = 0xff778899;
	s.out_fence_fd = -1;
	igt_assert_eq(__vgem_submit(fd, &s), -EINVAL);
	/* Taken: the failing map was reached. */
	igt_assert_eq(module_param_read("vgem", "test_fail_map"), 0);
	igt_assert_eq(s.out_fence_fd, -1);

	dmabuf = prime_handle_to_fd(fd, bo.handle);
	sync = dmabuf_export_sync_file(dmabuf, true);
	igt_assert_eq(sync_fence_status(sync), 1);
	close(sync);
	close(dmabuf);
	map = vgem_mmap(fd, &bo, PROT_READ);
	igt_assert_eq(*px(map, &bo, 0, 0), 0);

	s = vgem_submit_desc(&bo, VGEM_OP_FILL);
	s.color = 0xff778899;
	f = vgem_submit_fd(fd, &s);
	igt_assert(sync_fence_wait(f, 20000));
	igt_assert_eq(sync_fence_status(f), 1);
	igt_assert_eq(*px(map, &bo, 15, 15), 0xff778899);
	munmap(map, bo.size);
	close(f);
	gem_close(fd, bo.handle);
}

/*
 * A file whose jobs hung VGEM_SUBMIT_HANG three times is banned: SUBMIT
 * fails with EIO, before any job is made; another file still submits.
 */
static void test_hang_ban(void)
{
	int fd = drm_open_driver("vgem"), fd2 = drm_open_driver("vgem");
	struct vgem_bo bo = new_bo(fd, 8, 8), bo2 = new_bo(fd2, 8, 8);
	struct drm_vgem_submit s;
	int f;

	set_knob("hang_ms", 20);
	for (int i = 0; i < 3; i++) {
		s = vgem_submit_desc(&bo, VGEM_OP_NOP);
		s.flags = VGEM_SUBMIT_HANG | VGEM_SUBMIT_NO_IMPLICIT;
		f = vgem_submit_fd(fd, &s);
		igt_assert(sync_fence_wait(f, 20000));
		igt_assert_eq(sync_fence_status(f), -ETIMEDOUT);
		close(f);
	}

	s = vgem_submit_desc(&bo, VGEM_OP_FILL);
	s.flags = VGEM_SUBMIT_OUT_FENCE_FD;
	igt_assert_eq(__vgem_submit(fd, &s), -EIO);
	s = vgem_submit_desc(&bo, VGEM_OP_NOP);
	igt_assert_eq(__vgem_submit(fd, &s), -EIO);

	s = vgem_submit_desc(&bo2, VGEM_OP_FILL);
	s.color = 0xff445566;
	f = vgem_submit_fd(fd2, &s);
	igt_assert(sync_fence_wait(f, 20000));
	igt_assert_eq(sync_fence_status(f), 1);
	close(f);
	close(fd);
	close(fd2);
}

/* Per-file cap on jobs in flight: EAGAIN beyond it, per file. */
static void test_max_jobs(int fd)
{
	long max = module_param_read("vgem", "max_jobs");
	int fd2 = drm_open_driver("vgem");
	struct vgem_bo bo = new_bo(fd, 8, 8), bo2 = new_bo(fd2, 8, 8);
	struct drm_vgem_submit s;
	uint32_t id;
	int in = blocker(fd, &id);
	int last = -1;

	for (long i = 0; i < max; i++) {
		s = vgem_submit_desc(&bo, VGEM_OP_NOP);
		s.flags = VGEM_SUBMIT_NO_IMPLICIT;
		s.in_fences = (uintptr_t)&in;
		s.num_in_fences = 1;
		if (i == max - 1)
			last = vgem_submit_fd(fd, &s);
		else
			igt_assert_eq(__vgem_submit(fd, &s), 0);
	}
	s = vgem_submit_desc(&bo, VGEM_OP_NOP);
	igt_assert_eq(__vgem_submit(fd, &s), -EAGAIN);
	/* Another file is not affected. */
	s = vgem_submit_desc(&bo2, VGEM_OP_NOP);
	close(vgem_submit_fd(fd2, &s));

	vgem_fence_signal(fd, id);
	igt_assert(sync_fence_wait(last, 30000));
	close(last);
	close(in);
	close(fd2);
	gem_close(fd, bo.handle);
}

static void test_bad_args(int fd)
{
	struct vgem_bo bo = new_bo(fd, 16, 16), src = new_bo(fd, 8, 8);
	struct drm_vgem_submit s;
	int32_t fds[VGEM_MAX_IN_FENCES + 1];
	int null = open("/dev/null", O_RDONLY);

#define BAD(field, value, err) do {					\
	s = vgem_submit_desc(&bo, VGEM_OP_FILL);			\
	s.field = value;						\
	igt_assert_eq(__vgem_submit(fd, &s), -(err));			\
} while (0)
	BAD(flags, 0x100, EINVAL);
	BAD(op, 99, EINVAL);
	BAD(pad, 1, EINVAL);
	BAD(reserved, 1, EINVAL);
	BAD(deadline_ns, 1ull << 63, EINVAL);
	BAD(engine, 99, EINVAL);
	BAD(format, DRM_FORMAT_RGB565, EINVAL);
	BAD(width, 0, EINVAL);
	BAD(height, 0, EINVAL);
	BAD(width, 17, EINVAL);
	BAD(x, 1, EINVAL);
	/* The object is page-rounded: one row past its end. */
	BAD(height, bo.size / bo.pitch + 1, EINVAL);
	BAD(y, 0xffffffff, EINVAL);
	BAD(stride, 4, EINVAL);
	BAD(stride, 0, EINVAL);
	BAD(duration_ns, 2000000000ull, EINVAL);
	BAD(flags, VGEM_SUBMIT_READ, EINVAL);
	BAD(num_in_fences, VGEM_MAX_IN_FENCES + 1, EINVAL);
	BAD(handle, 0, ENOENT);
	BAD(handle, 0x7fffffff, ENOENT);

	s = vgem_submit_desc(&bo, VGEM_OP_FILL);
	s.num_in_fences = 1;
	s.in_fences = 8;	/* unmapped */
	igt_assert_eq(__vgem_submit(fd, &s), -EFAULT);
	s.in_fences = (uintptr_t)&null;	/* not a sync_file */
	igt_assert_eq(__vgem_submit(fd, &s), -EINVAL);
	fds[0] = -1;
	s.in_fences = (uintptr_t)fds;
	igt_assert_eq(__vgem_submit(fd, &s), -EINVAL);

	/* Copy source rectangle out of bounds; unknown source. */
	s = vgem_submit_desc(&bo, VGEM_OP_COPY);
	s.src_handle = src.handle;
	s.src_stride = src.pitch;
	igt_assert_eq(__vgem_submit(fd, &s), -EINVAL);
	s.src_handle = 0x7fffffff;
	igt_assert_eq(__vgem_submit(fd, &s), -ENOENT);
#undef BAD

	/* Nothing of the refused jobs ran or stayed: the buffer is clean. */
	s = vgem_submit_desc(&bo, VGEM_OP_NOP);
	close(vgem_submit_fd(fd, &s));
	close(null);
	gem_close(fd, bo.handle);
	gem_close(fd, src.handle);
}

/* Closing the file with jobs in flight: they complete, nothing hangs. */
static void test_close_in_flight(int fd)
{
	int fd2 = drm_open_driver("vgem");
	struct vgem_bo bo = new_bo(fd2, 64, 64);
	struct drm_vgem_submit s;
	int last = -1;

	for (int i = 0; i < 8; i++) {
		s = vgem_submit_desc(&bo, VGEM_OP_PATTERN);
		s.frame = i;
		s.duration_ns = 20 * MS;
		if (last >= 0)
			close(last);
		last = vgem_submit_fd(fd2, &s);
	}
	close(fd2);
	igt_assert(sync_fence_wait(last, 20000));
	igt_assert_eq(sync_fence_status(last), 1);
	close(last);
}

struct submitter {
	pthread_t thread;
	int fd;
	int frames;
	bool ok;
};

static void *submit_thread(void *arg)
{
	struct submitter *t = arg;
	struct vgem_bo bo = new_bo(t->fd, 64, 32);
	struct drm_vgem_submit s;
	uint32_t *map;
	int f = -1;

	for (int i = 0; i < t->frames; i++) {
		s = vgem_submit_desc(&bo, VGEM_OP_PATTERN);
		s.frame = i;
		s.duration_ns = (i % 3) * 100000;
		s.flags = VGEM_SUBMIT_OUT_FENCE_FD;
		if (__vgem_submit(t->fd, &s))
			return NULL;
		if (f >= 0)
			close(f);
		f = s.out_fence_fd;
	}
	if (!sync_fence_wait(f, 60000) || sync_fence_status(f) != 1)
		return NULL;
	close(f);
	map = vgem_mmap(t->fd, &bo, PROT_READ);
	t->ok = true;
	for (uint32_t y = 0; y < 32; y++)
		for (uint32_t x = 0; x < 64; x++)
			if (*px(map, &bo, x, y) !=
			    vgem_pattern_pixel(x, y, t->frames - 1))
				t->ok = false;
	munmap(map, bo.size);
	return NULL;
}

static void test_concurrent(int fd)
{
	struct submitter t[2];

	for (int i = 0; i < 2; i++) {
		t[i] = (struct submitter){ .fd = drm_open_driver("vgem"),
					   .frames = 200 };
		igt_assert_eq(pthread_create(&t[i].thread, NULL, submit_thread,
					     &t[i]), 0);
	}
	for (int i = 0; i < 2; i++) {
		pthread_join(t[i].thread, NULL);
		close(t[i].fd);
	}
	igt_assert(t[0].ok);
	igt_assert(t[1].ok);
}

igt_main
{
	int fd = -1;

	igt_fixture
		fd = drm_open_driver("vgem");

	igt_subtest("fill")
		test_fill(fd);
	igt_subtest("pattern")
		test_pattern(fd);
	igt_subtest("copy")
		test_copy(fd);
	igt_subtest("copy-overlap")
		test_copy_overlap(fd);
	igt_subtest("order")
		test_order(fd);
	igt_subtest("in-fence-holds")
		test_in_fence_holds(fd);
	igt_subtest("implicit-holds")
		test_implicit_holds(fd);
	igt_subtest("cross-engine")
		test_cross_engine(fd);
	igt_subtest("out-fence-info")
		test_out_fence_info(fd);
	igt_subtest("fence-id")
		test_fence_id(fd);
	igt_subtest("hang")
		test_hang(fd);
	igt_subtest("implicit-no-error")
		test_implicit_no_error();
	igt_subtest("hang-param-change")
		test_hang_param_change(fd);
	igt_subtest("stale-completion")
		test_stale_completion();
	igt_subtest("no-draw-after-hang")
		test_no_draw_after_hang();
	igt_subtest("map-error")
		test_map_error(fd);
	igt_subtest("hang-ban")
		test_hang_ban();
	igt_subtest("max-jobs")
		test_max_jobs(fd);
	igt_subtest("bad-args")
		test_bad_args(fd);
	igt_subtest("close-in-flight")
		test_close_in_flight(fd);
	igt_subtest("concurrent")
		test_concurrent(fd);

	igt_fixture
		close(fd);
}
