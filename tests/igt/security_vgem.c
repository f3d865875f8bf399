// SPDX-License-Identifier: GPL-2.0
/*
 * security_vgem: the security review of vgem's uapi, one subtest per rule.
 *
 * Already covered elsewhere, and not repeated here:
 *  - one bad value of each field of each struct: vgem_fence@bad-args,
 *    vgem_fence@wait-ioctl, vgem_submit@bad-args;
 *  - absurd dumb sizes on vgem: vgem_basic@bad-sizes;
 *  - the per-file job limit (EAGAIN at max_jobs, another file unaffected):
 *    vgem_submit@max-jobs;
 *  - a fresh buffer reads as zeros: vgem_basic@zeroed;
 *  - attached fence ids and handles are per file: vgem_fence@ids-per-file,
 *    vgem_basic@handles-per-file.
 * Here: every unknown bit of every flags, pad and reserved field, and
 * that a refused call changed nothing; sizes whose arithmetic wraps; the
 * per-file fence id limit; zeroing of recycled memory; job fence ids and
 * handles used from another file; the render node.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>
#include <drm.h>
#include <drm_fourcc.h>

#include "drmtest.h"
#include "igt.h"
#include "vgem.h"

static struct vgem_bo new_bo(int fd, uint32_t w, uint32_t h)
{
	struct vgem_bo bo = { .width = w, .height = h };

	vgem_create(fd, &bo);
	return bo;
}

/* The lowest free fd number: an ioctl that refused left no fd behind. */
static int next_fd(void)
{
	int fd = dup(0);

	igt_assert_lte(0, fd);
	close(fd);
	return fd;
}

/* Every pixel of the buffer is @v (the rows' padding is not looked at). */
static void assert_filled(int fd, struct vgem_bo *bo, uint32_t v)
{
	uint32_t *map = vgem_mmap(fd, bo, PROT_READ);

	for (uint32_t y = 0; y < bo->height; y++)
		for (uint32_t x = 0; x < bo->width; x++)
			igt_assert_f(map[y * bo->pitch / 4 + x] == v,
				     "pixel %u,%u is %#x, not %#x\n", x, y,
				     map[y * bo->pitch / 4 + x], v);
	munmap(map, bo->size);
}

static void test_attach_flags(int fd)
{
	struct vgem_bo bo = new_bo(fd, 16, 16);
	struct drm_vgem_fence_attach a;
	int dmabuf = prime_handle_to_fd(fd, bo.handle);
	int sync;

	for (int bit = 0; bit < 32; bit++) {
		a = (struct drm_vgem_fence_attach){ .handle = bo.handle,
						    .flags = 1u << bit };
		if (a.flags & VGEM_FENCE_WRITE)
			continue;
		do_ioctl_err(fd, DRM_IOCTL_VGEM_FENCE_ATTACH, &a, EINVAL);
		a = (struct drm_vgem_fence_attach){ .handle = bo.handle,
						    .pad = 1u << bit };
		do_ioctl_err(fd, DRM_IOCTL_VGEM_FENCE_ATTACH, &a, EINVAL);
	}
	/* out_fence is an output: whatever it held is ignored. */
	a = (struct drm_vgem_fence_attach){ .handle = bo.handle,
					    .out_fence = 0xdeadbeef };
	do_ioctl(fd, DRM_IOCTL_VGEM_FENCE_ATTACH, &a);
	/* The refused calls attached nothing: only that one fence is there. */
	sync = dmabuf_export_sync_file(dmabuf, true);
	igt_assert(sync_fence_busy(sync));
	vgem_fence_signal(fd, a.out_fence);
	igt_assert(sync_fence_wait(sync, 1000));
	close(sync);
	close(dmabuf);
	gem_close(fd, bo.handle);
}

static void test_signal_flags(int fd)
{
	struct vgem_bo bo = new_bo(fd, 16, 16);
	uint32_t id = vgem_fence_attach(fd, bo.handle, true);
	struct drm_vgem_fence_signal s;

	for (int bit = 0; bit < 32; bit++) {
		s = (struct drm_vgem_fence_signal){ .fence = id,
						    .flags = 1u << bit };
		do_ioctl_err(fd, DRM_IOCTL_VGEM_FENCE_SIGNAL, &s, EINVAL);
	}
	/* None of them signaled it. */
	igt_assert_eq(__vgem_fence_wait(fd, id, 0), -ETIME);
	vgem_fence_signal(fd, id);
	gem_close(fd, bo.handle);
}

static void test_wait_flags(int fd)
{
	struct vgem_bo bo = new_bo(fd, 16, 16);
	uint32_t id = vgem_fence_attach(fd, bo.handle, true);
	struct drm_vgem_fence_wait w;

	for (int bit = 0; bit < 32; bit++) {
		w = (struct drm_vgem_fence_wait){ .fence = id,
						  .flags = 1u << bit };
		do_ioctl_err(fd, DRM_IOCTL_VGEM_FENCE_WAIT, &w, EINVAL);
	}
	/* Every negative timeout, down to the most negative. */
	w = (struct drm_vgem_fence_wait){ .fence = id, .timeout_ns = INT64_MIN };
	do_ioctl_err(fd, DRM_IOCTL_VGEM_FENCE_WAIT, &w, EINVAL);
	vgem_fence_signal(fd, id);
	gem_close(fd, bo.handle);
}

static void test_submit_flags(int fd)
{
	struct vgem_bo bo = new_bo(fd, 16, 16);
	struct drm_vgem_submit s;
	int before = next_fd();

#define REFUSED(field, value) do {					\
	s = vgem_submit_desc(&bo, VGEM_OP_FILL);			\
	s.color = 0xffabcdef;						\
	s.flags |= VGEM_SUBMIT_OUT_FENCE_FD | VGEM_SUBMIT_FENCE_ID;	\
	s.field = value;						\
	igt_assert_eq(__vgem_submit(fd, &s), -EINVAL);			\
} while (0)
	for (int bit = 0; bit < 32; bit++) {
		if (!((1u << bit) & VGEM_SUBMIT_FLAGS))
			REFUSED(flags, s.flags | 1u << bit);
		REFUSED(pad, 1u << bit);
	}
	for (int bit = 0; bit < 64; bit++)
		REFUSED(reserved, 1ull << bit);
	/* Not a CLOCK_MONOTONIC time: a negative one. */
	REFUSED(deadline_ns, 1ull << 63);
	REFUSED(deadline_ns, ~0ull);
	for (uint32_t op = VGEM_OP_COPY + 1; op; op <<= 1)
		REFUSED(op, op);
#undef REFUSED
	/* No job ran, no fd was made, no fence id was taken. */
	igt_assert_eq(next_fd(), before);
	s = vgem_submit_desc(&bo, VGEM_OP_NOP);
	close(vgem_submit_fd(fd, &s));
	assert_filled(fd, &bo, 0);
	gem_close(fd, bo.handle);
}

static void test_dumb_overflow(int fd)
{
	/* width * cpp, pitch * height or the page rounding past 32 bits. */
	static const struct { uint32_t w, h, bpp; } wrap[] = {
		{ 0x40000000, 1, 32 }, { 0x10000, 0x10000, 8 },
		{ 0x8000, 0x8000, 32 }, { 1, 0xffffffff, 8 },
		{ 0xffffffff, 0xffffffff, 0xffffffff }, { 1, 1, 0xfffffff9 },
		{ 0x20000000, 8, 8 }, { 4096, 0x100000, 8 },
	};
	struct drm_mode_create_dumb c;

	for (size_t i = 0; i < sizeof(wrap) / sizeof(wrap[0]); i++) {
		c = (struct drm_mode_create_dumb){ .width = wrap[i].w,
			.height = wrap[i].h, .bpp = wrap[i].bpp };
		do_ioctl_err(fd, DRM_IOCTL_MODE_CREATE_DUMB, &c, EINVAL);
	}
}

static void test_submit_overflow(int fd)
{
	struct vgem_bo bo = new_bo(fd, 64, 64), src = new_bo(fd, 64, 64);
	struct drm_vgem_submit s;

#define WRAP(set) do {							\
	s = vgem_submit_desc(&bo, VGEM_OP_FILL);			\
	s.color = 0xff00ff00;						\
	set;								\
	igt_assert_eq(__vgem_submit(fd, &s), -EINVAL);			\
} while (0)
	/* x + width and y + height wrap around 2^32 to a small value. */
	WRAP(s.x = 0xffffffc0; s.width = 0x41);
	WRAP(s.y = 0xffffffc0; s.height = 0x41);
	WRAP(s.x = 0x80000000; s.width = 0x80000001);
	/* (x + width) * 4 wraps to 0 in 32 bits. */
	WRAP(s.x = 0; s.width = 0x40000000);
	/* y * stride past 2^32 with a stride the buffer cannot have. */
	WRAP(s.stride = 0x10000001; s.y = 16; s.height = 1; s.width = 1);
	WRAP(s.stride = 0xffffffff; s.height = 2; s.width = 1);
	/* The copy source: the same wraps on its rectangle. */
	WRAP(s.op = VGEM_OP_COPY; s.src_handle = src.handle;
	     s.src_stride = src.pitch; s.src_x = 0xffffffc0);
	WRAP(s.op = VGEM_OP_COPY; s.src_handle = src.handle;
	     s.src_stride = src.pitch; s.src_y = 0xfffffff0);
	WRAP(s.op = VGEM_OP_COPY; s.src_handle = src.handle;
	     s.src_stride = 0xffffffff; s.src_y = 1);
	/* A huge in-fence count, or one just over the limit. */
	WRAP(s.num_in_fences = 0x40000000; s.in_fences = 8);
	WRAP(s.num_in_fences = 0xffffffff; s.in_fences = 8);
	/* Durations that would wrap the completion time. */
	WRAP(s.duration_ns = ~0ull);
	WRAP(s.duration_ns = 1ull << 63);
#undef WRAP
	/* Nothing was written anywhere we can see. */
	s = vgem_submit_desc(&bo, VGEM_OP_NOP);
	close(vgem_submit_fd(fd, &s));
	assert_filled(fd, &bo, 0);
	assert_filled(fd, &src, 0);
	gem_close(fd, bo.handle);
	gem_close(fd, src.handle);
}

static long saved_max_ids = -1;

static void set_max_ids(long v)
{
	char buf[32];
	int fd = open("/sys/module/vgem/parameters/max_fence_ids", O_WRONLY);
	int n = snprintf(buf, sizeof(buf), "%ld", v);

	igt_require(fd >= 0);
	igt_assert_eq(write(fd, buf, n), n);
	close(fd);
}

static void test_fence_id_limit(int fd)
{
	const int max = 8;
	int fd2 = drm_open_driver("vgem");
	struct vgem_bo bo = new_bo(fd, 16, 16), bo2 = new_bo(fd2, 16, 16);
	struct drm_vgem_submit s;
	uint32_t ids[8], id, other;

	saved_max_ids = module_param_read("vgem", "max_fence_ids");
	set_max_ids(max);
	for (int i = 0; i < max; i++)
		ids[i] = vgem_fence_attach(fd, bo.handle, false);
	igt_assert_eq(__vgem_fence_attach(fd, bo.handle, 0, &id), -EAGAIN);
	/* A job asking for an id is refused before it is queued. */
	s = vgem_submit_desc(&bo, VGEM_OP_NOP);
	s.flags = VGEM_SUBMIT_FENCE_ID | VGEM_SUBMIT_NO_IMPLICIT;
	igt_assert_eq(__vgem_submit(fd, &s), -EAGAIN);
	/* Without an id, a job still runs: only ids are limited here. */
	s.flags = VGEM_SUBMIT_NO_IMPLICIT | VGEM_SUBMIT_OUT_FENCE_FD;
	igt_assert_eq(__vgem_submit(fd, &s), 0);
	igt_assert(sync_fence_wait(s.out_fence_fd, 10000));
	close(s.out_fence_fd);
	/* The limit is per file: another file still gets ids. */
	other = vgem_fence_attach(fd2, bo2.handle, true);
	/* Signaling releases an id: one more fits, and no more. */
	vgem_fence_signal(fd, ids[0]);
	ids[0] = vgem_fence_attach(fd, bo.handle, false);
	igt_assert_eq(__vgem_fence_attach(fd, bo.handle, 0, &id), -EAGAIN);
	for (int i = 0; i < max; i++)
		vgem_fence_signal(fd, ids[i]);
	vgem_fence_signal(fd2, other);
	set_max_ids(saved_max_ids);
	saved_max_ids = -1;
	gem_close(fd, bo.handle);
	close(fd2);
}

/*
 * Pages freed by one client and reused by the next must come back zeroed:
 * fill buffers with a pattern, free them, allocate again (the same sizes,
 * so the allocator has the old pages at hand) and read every byte.
 */
static void test_zeroed_reuse(int fd)
{
	enum { N = 32 };
	struct vgem_bo bo[N];
	int fd2 = drm_open_driver("vgem");

	for (int round = 0; round < 4; round++) {
		int f = round & 1 ? fd2 : fd;

		for (int i = 0; i < N; i++) {
			uint32_t *map;

			bo[i] = new_bo(f, 64, 64 + 16 * i);
			map = vgem_mmap(f, &bo[i], PROT_READ | PROT_WRITE);
			for (size_t k = 0; k < bo[i].size / 4; k++)
				igt_assert_eq(map[k], 0);
			memset(map, 0xa5, bo[i].size);
			munmap(map, bo[i].size);
		}
		for (int i = 0; i < N; i++)
			gem_close(f, bo[i].handle);
	}
	close(fd2);
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
	return sync;
}

static void test_jobs_per_file(int fd)
{
	int fd2 = drm_open_driver("vgem");
	struct vgem_bo bo = new_bo(fd, 16, 16), bo2 = new_bo(fd2, 16, 16);
	struct vgem_bo spare = new_bo(fd, 16, 16);
	struct drm_vgem_submit s;
	struct drm_mode_destroy_dumb d;
	struct drm_prime_handle p;
	uint32_t bid, job, theirs, id;
	int in = blocker(fd, &bid);

	/* A job of fd, held by an unsignaled in-fence, with a fence id. */
	s = vgem_submit_desc(&bo, VGEM_OP_FILL);
	s.color = 0xff123456;
	s.flags = VGEM_SUBMIT_FENCE_ID;
	s.in_fences = (uintptr_t)&in;
	s.num_in_fences = 1;
	igt_assert_eq(__vgem_submit(fd, &s), 0);
	job = s.out_fence;

	/* fd2 can neither wait on nor signal fd's ids, job or attached. */
	igt_assert_eq(__vgem_fence_wait(fd2, job, 0), -ENOENT);
	igt_assert_eq(__vgem_fence_signal(fd2, job), -ENOENT);
	igt_assert_eq(__vgem_fence_wait(fd2, bid, 0), -ENOENT);
	igt_assert_eq(__vgem_fence_signal(fd2, bid), -ENOENT);

	/* A handle of fd that fd2 does not have names nothing there. */
	theirs = bo.handle != bo2.handle ? bo.handle : spare.handle;
	s = vgem_submit_desc(&bo2, VGEM_OP_FILL);
	s.handle = theirs;
	igt_assert_eq(__vgem_submit(fd2, &s), -ENOENT);
	s = vgem_submit_desc(&bo2, VGEM_OP_COPY);
	s.src_handle = theirs;
	s.src_stride = bo.pitch;
	igt_assert_eq(__vgem_submit(fd2, &s), -ENOENT);
	igt_assert_eq(__vgem_fence_attach(fd2, theirs, 0, &id), -ENOENT);
	p = (struct drm_prime_handle){ .handle = theirs, .flags = DRM_CLOEXEC };
	do_ioctl_err(fd2, DRM_IOCTL_PRIME_HANDLE_TO_FD, &p, ENOENT);
	d = (struct drm_mode_destroy_dumb){ .handle = theirs };
	do_ioctl_err(fd2, DRM_IOCTL_MODE_DESTROY_DUMB, &d, EINVAL);
	close(fd2);

	/* fd's job is untouched: still held, then it runs as asked. */
	igt_assert_eq(__vgem_fence_wait(fd, job, 0), -ETIME);
	vgem_fence_signal(fd, bid);
	igt_assert_eq(__vgem_fence_wait(fd, job, 10000000000ll), 0);
	vgem_fence_signal(fd, job);
	assert_filled(fd, &bo, 0xff123456);
	close(in);
	gem_close(fd, bo.handle);
	gem_close(fd, spare.handle);
}

/*
 * The render node takes every vgem ioctl (they are DRM_RENDER_ALLOW) on a
 * buffer it imported, with no master and no authentication; the KMS and
 * dumb-buffer ioctls of the primary node are refused there.
 */
static void test_render_node(int fd)
{
	int rfd = drm_open_driver_render("vgem");
	struct vgem_bo bo = new_bo(fd, 16, 16), rbo;
	struct drm_mode_create_dumb c = { .width = 16, .height = 16, .bpp = 32 };
	struct drm_vgem_submit s;
	int dmabuf = prime_handle_to_fd(fd, bo.handle);
	uint32_t id;
	int f;

	rbo = bo;
	rbo.handle = prime_fd_to_handle(rfd, dmabuf);
	id = vgem_fence_attach(rfd, rbo.handle, true);
	igt_assert_eq(__vgem_fence_wait(rfd, id, 0), -ETIME);
	vgem_fence_signal(rfd, id);
	s = vgem_submit_desc(&rbo, VGEM_OP_FILL);
	s.color = 0xff0000ff;
	f = vgem_submit_fd(rfd, &s);
	igt_assert(sync_fence_wait(f, 10000));
	close(f);
	assert_filled(fd, &bo, 0xff0000ff);
	do_ioctl_err(rfd, DRM_IOCTL_MODE_CREATE_DUMB, &c, EACCES);
	close(dmabuf);
	close(rfd);
	gem_close(fd, bo.handle);
}

igt_main
{
	int fd = -1;

	igt_fixture
		fd = drm_open_driver("vgem");

	igt_subtest("attach-flags-pad")
		test_attach_flags(fd);
	igt_subtest("signal-flags")
		test_signal_flags(fd);
	igt_subtest("wait-flags")
		test_wait_flags(fd);
	igt_subtest("submit-flags-pad-reserved")
		test_submit_flags(fd);
	igt_subtest("dumb-size-overflow")
		test_dumb_overflow(fd);
	igt_subtest("submit-rect-overflow")
		test_submit_overflow(fd);
	igt_subtest("fence-id-limit")
		test_fence_id_limit(fd);
	igt_subtest("zeroed-reuse")
		test_zeroed_reuse(fd);
	igt_subtest("jobs-per-file")
		test_jobs_per_file(fd);
	igt_subtest("render-node")
		test_render_node(fd);

	/* A failed subtest must not leave the limit lowered. */
	igt_fixture
		if (saved_max_ids >= 0)
			set_max_ids(saved_max_ids);
	igt_fixture
		close(fd);
}
