// SPDX-License-Identifier: GPL-2.0
/*
 * security_kms: the security review of vkms's uapi (the DRM core ioctls it
 * implements), one subtest per rule.
 *
 * Already covered elsewhere, and not repeated here:
 *  - a second nonblocking flip while one is gated on a fence is EBUSY
 *    (atomic and legacy), TEST_ONLY still checks: kms_fence@busy;
 *  - invalid commits (bad property values, unknown objects): kms_modeset@
 *    invalid-commits; bad writeback jobs: kms_writeback@invalid.
 * Here: DRM master rules; the bound on pending (gated) flips across every
 * output; the per-file bound on pending vblank events; size arithmetic of
 * dumb buffers and framebuffers; zeroing of recycled memory; handles and
 * framebuffers per file.
 *
 * vkms has no per-file limit of its own on pending flips: DRM allows one
 * pending commit per CRTC (drm_atomic_helper_setup_commit() returns EBUSY
 * for a nonblocking commit while the previous one is not done), so a
 * device has at most num_outputs gated flips in flight, whatever the
 * number of files; "pending-flips-bound" checks that bound.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <drm.h>
#include <drm_fourcc.h>
#include <drm_mode.h>

#include "drmtest.h"
#include "igt.h"
#include "kms.h"

#define W 64
#define H 48

static int open_kms(void)
{
	int fd = drm_open_driver("vkms");

	igt_assert_eq(drmSetClientCap(fd, DRM_CLIENT_CAP_UNIVERSAL_PLANES, 1), 0);
	igt_assert_eq(drmSetClientCap(fd, DRM_CLIENT_CAP_ATOMIC, 1), 0);
	return fd;
}

static uint32_t prop_id(int fd, uint32_t obj, uint32_t type, const char *name)
{
	uint32_t id = kms_prop(fd, obj, type, name);

	igt_assert_f(id, "no property %s\n", name);
	return id;
}

/* An atomic commit of the primary plane's FB_ID alone on @fd: 0 or -errno. */
static int commit_fb(int fd, const struct kms_output *o, uint32_t fb,
		     uint32_t flags)
{
	uint32_t obj = o->primary, count = 1;
	uint32_t prop = prop_id(fd, o->primary, DRM_MODE_OBJECT_PLANE, "FB_ID");
	uint64_t val = fb;
	struct drm_mode_atomic a = {
		.flags = flags, .count_objs = 1,
		.objs_ptr = (uintptr_t)&obj,
		.count_props_ptr = (uintptr_t)&count,
		.props_ptr = (uintptr_t)&prop,
		.prop_values_ptr = (uintptr_t)&val,
	};

	return igt_ioctl(fd, DRM_IOCTL_MODE_ATOMIC, &a) ? -errno : 0;
}

/* Every ioctl a master may use and a non-master may not: EACCES. */
static void assert_not_master(int fd, const struct kms_output *o,
			      uint32_t fb, drmModeModeInfo *mode)
{
	struct drm_mode_crtc c = {
		.crtc_id = o->crtc_id, .fb_id = fb, .mode_valid = 1,
		.count_connectors = 1,
		.set_connectors_ptr = (uintptr_t)&o->connector_id,
	};
	struct drm_mode_crtc_page_flip f = { .crtc_id = o->crtc_id,
					     .fb_id = fb };
	struct drm_mode_cursor cur = { .flags = DRM_MODE_CURSOR_MOVE,
				       .crtc_id = o->crtc_id };
	struct drm_mode_set_plane sp = { .plane_id = o->primary };
	struct drm_mode_obj_set_property osp = {
		.obj_id = o->primary, .obj_type = DRM_MODE_OBJECT_PLANE,
		.prop_id = prop_id(fd, o->primary, DRM_MODE_OBJECT_PLANE, "alpha"),
		.value = 0xffff,
	};
	struct drm_mode_fb_dirty_cmd dirty = { .fb_id = fb };

	memcpy(&c.mode, mode, sizeof(c.mode));
	do_ioctl_err(fd, DRM_IOCTL_MODE_SETCRTC, &c, EACCES);
	igt_assert_eq(commit_fb(fd, o, fb, 0), -EACCES);
	igt_assert_eq(commit_fb(fd, o, fb, DRM_MODE_ATOMIC_TEST_ONLY), -EACCES);
	igt_assert_eq(commit_fb(fd, o, fb, DRM_MODE_ATOMIC_NONBLOCK), -EACCES);
	do_ioctl_err(fd, DRM_IOCTL_MODE_PAGE_FLIP, &f, EACCES);
	do_ioctl_err(fd, DRM_IOCTL_MODE_CURSOR, &cur, EACCES);
	do_ioctl_err(fd, DRM_IOCTL_MODE_SETPLANE, &sp, EACCES);
	do_ioctl_err(fd, DRM_IOCTL_MODE_OBJ_SETPROPERTY, &osp, EACCES);
	do_ioctl_err(fd, DRM_IOCTL_MODE_DIRTYFB, &dirty, EACCES);
}

/*
 * The first file is master; a second is not: every mode-setting ioctl is
 * EACCES for it, while the read-only, buffer and PRIME ioctls work (what a
 * client that only renders needs). DROP_MASTER hands over, SET_MASTER
 * takes only a free master.
 */
static void test_master(void)
{
	struct kms_dev dev;
	const struct kms_output *o;
	drmModeModeInfo mode = kms_mode(W, H);
	struct kms_fb fb, fb2;
	int fd2;

	kms_open(&dev);
	o = &dev.out[0];
	igt_require_f(drmIsMaster(dev.fd), "another client holds master\n");
	fd2 = open_kms();
	igt_assert(!drmIsMaster(fd2));
	kms_fb_create(dev.fd, W, H, DRM_FORMAT_XRGB8888, &fb);
	kms_modeset(&dev, o, &mode, &fb);

	/* What a non-master can do: buffers, framebuffers, reads, waits. */
	kms_fb_create(fd2, W, H, DRM_FORMAT_XRGB8888, &fb2);
	igt_assert(drmModeGetResources(fd2));
	igt_assert_eq(kms_wait_vblank(fd2, 0, 1, NULL) > 0, 1);
	{
		int dmabuf = -1;
		uint32_t h = 0;

		igt_assert_eq(drmPrimeHandleToFD(fd2, fb2.handle, DRM_CLOEXEC,
						 &dmabuf), 0);
		igt_assert_eq(drmPrimeFDToHandle(fd2, dmabuf, &h), 0);
		igt_assert_eq(h, fb2.handle);
		close(dmabuf);
	}
	/* What it cannot. */
	assert_not_master(fd2, o, fb2.id, &mode);
	/* DROP_MASTER of a non-master is refused; SET_MASTER while taken. */
	igt_assert_errno(ioctl(fd2, DRM_IOCTL_DROP_MASTER, 0), EINVAL);
	igt_assert_errno(ioctl(fd2, DRM_IOCTL_SET_MASTER, 0), EBUSY);

	/* The master drops: it loses the rights, the other one may take it. */
	igt_assert_eq(ioctl(dev.fd, DRM_IOCTL_DROP_MASTER, 0), 0);
	assert_not_master(dev.fd, o, fb.id, &mode);
	igt_assert_eq(ioctl(fd2, DRM_IOCTL_SET_MASTER, 0), 0);
	igt_assert_errno(ioctl(dev.fd, DRM_IOCTL_SET_MASTER, 0), EBUSY);
	/* The new master flips to its own framebuffer. */
	igt_assert_eq(commit_fb(fd2, o, fb2.id, 0), 0);

	/* And back: closing the master frees it too (maps hold the file). */
	kms_fb_destroy(&fb2);
	close(fd2);
	igt_assert_eq(ioctl(dev.fd, DRM_IOCTL_SET_MASTER, 0), 0);
	kms_modeset(&dev, o, &mode, &fb);
	kms_disable(&dev, o);
	kms_fb_destroy(&fb);
	kms_close(&dev);
}

/*
 * Gated flips pending on every output at once, from two files' worth of
 * attempts: each CRTC holds exactly one, every further flip is EBUSY, the
 * driver's gated_pending never exceeds one per CRTC; the signal releases
 * them all.
 */
static void test_pending_flips_bound(void)
{
	struct kms_dev dev;
	struct kms_fb front[KMS_MAX_OUTPUTS];
	struct kms_vgem_bo bo[KMS_MAX_OUTPUTS];
	uint32_t fence[KMS_MAX_OUTPUTS];
	drmModeModeInfo mode = kms_mode(W, H);
	int vgem;

	kms_open(&dev);
	igt_require(kms_param_set("gate", 1));
	vgem = kms_vgem_open();
	for (int i = 0; i < dev.noutputs; i++) {
		kms_fb_create(dev.fd, W, H, DRM_FORMAT_XRGB8888, &front[i]);
		kms_modeset(&dev, &dev.out[i], &mode, &front[i]);
		kms_vgem_bo_create(&dev, vgem, W, H, DRM_FORMAT_XRGB8888, &bo[i]);
		fence[i] = kms_vgem_fence_attach(vgem, bo[i].handle, true);
		igt_assert_eq(commit_fb(dev.fd, &dev.out[i], bo[i].fb_id,
					DRM_MODE_ATOMIC_NONBLOCK |
					DRM_MODE_PAGE_FLIP_EVENT), 0);
	}
	for (int round = 0; round < 32; round++) {
		for (int i = 0; i < dev.noutputs; i++) {
			const struct kms_output *o = &dev.out[i];

			igt_assert_eq(commit_fb(dev.fd, o, front[i].id,
						DRM_MODE_ATOMIC_NONBLOCK), -EBUSY);
			igt_assert_eq(drmModePageFlip(dev.fd, o->crtc_id,
						      front[i].id,
						      DRM_MODE_PAGE_FLIP_EVENT,
						      NULL), -EBUSY);
			igt_assert_eq(kms_stat(&dev, i, "gated_pending"), 1);
		}
	}
	for (int i = 0; i < dev.noutputs; i++)
		kms_vgem_fence_signal(vgem, fence[i]);
	for (int i = 0; i < dev.noutputs; i++) {
		struct kms_event ev;

		igt_assert(kms_read_event(dev.fd, 5000, &ev));
	}
	for (int i = 0; i < dev.noutputs; i++) {
		igt_assert_eq(kms_stat(&dev, i, "gated_pending"), 0);
		kms_disable(&dev, &dev.out[i]);
		kms_vgem_bo_destroy(&dev, &bo[i]);
		kms_fb_destroy(&front[i]);
	}
	close(vgem);
	kms_close(&dev);
}

/*
 * A file's pending events (vblank events here, as flip events) take room
 * from its event space: once that is used up, more are refused with
 * ENOMEM instead of queueing kernel memory without bound; another file is
 * not affected, and closing the file frees them.
 */
static void test_vblank_event_limit(void)
{
	struct kms_dev dev;
	struct kms_fb fb;
	drmModeModeInfo mode = kms_mode(W, H);
	union drm_wait_vblank v;
	int fd2, n = 0, ret;
	uint32_t now;

	kms_open(&dev);
	kms_fb_create(dev.fd, W, H, DRM_FORMAT_XRGB8888, &fb);
	kms_modeset(&dev, &dev.out[0], &mode, &fb);
	fd2 = open_kms();
	now = kms_vblank_now(fd2, 0, NULL);
	/* Far in the future: none of them completes during the test. */
	do {
		v = (union drm_wait_vblank){ .request = {
			.type = _DRM_VBLANK_ABSOLUTE | _DRM_VBLANK_EVENT,
			.sequence = now + 1000000, .signal = n } };
		ret = igt_ioctl(fd2, DRM_IOCTL_WAIT_VBLANK, &v);
	} while (ret == 0 && ++n < 100000);
	igt_assert_f(ret == -1 && errno == ENOMEM,
		     "%d events queued, then ret %d errno %d\n", n, ret, errno);
	/* 4 KiB of 32-byte events, give or take the kernel's accounting. */
	igt_assert_lte(n, 4096 / (int)sizeof(struct drm_event_vblank));
	igt_assert_gt(n, 0);
	/* The CRTC sequence ioctl draws from the same space. */
	{
		struct drm_crtc_queue_sequence q = {
			.crtc_id = dev.out[0].crtc_id,
			.flags = DRM_CRTC_SEQUENCE_RELATIVE, .sequence = 1000000,
		};

		do_ioctl_err(fd2, DRM_IOCTL_CRTC_QUEUE_SEQUENCE, &q, ENOMEM);
	}
	/* Another file still gets its event. */
	v = (union drm_wait_vblank){ .request = {
		.type = _DRM_VBLANK_RELATIVE | _DRM_VBLANK_EVENT,
		.sequence = 1, .signal = 0x55 } };
	do_ioctl(dev.fd, DRM_IOCTL_WAIT_VBLANK, &v);
	{
		struct kms_event ev;

		igt_assert(kms_read_event(dev.fd, 2000, &ev));
		igt_assert_eq(ev.user_data, 0x55);
	}
	close(fd2);
	kms_disable(&dev, &dev.out[0]);
	kms_fb_destroy(&fb);
	kms_close(&dev);
}

static void test_dumb_overflow(void)
{
	static const struct { uint32_t w, h, bpp; } wrap[] = {
		{ 0x40000000, 1, 32 }, { 0x10000, 0x10000, 8 },
		{ 0x8000, 0x8000, 32 }, { 1, 0xffffffff, 8 },
		{ 0xffffffff, 0xffffffff, 0xffffffff }, { 1, 1, 0xfffffff9 },
		{ 0, 1, 32 }, { 1, 0, 32 }, { 1, 1, 0 },
	};
	int fd = open_kms();
	struct drm_mode_create_dumb c;

	for (size_t i = 0; i < sizeof(wrap) / sizeof(wrap[0]); i++) {
		c = (struct drm_mode_create_dumb){ .width = wrap[i].w,
			.height = wrap[i].h, .bpp = wrap[i].bpp };
		do_ioctl_err(fd, DRM_IOCTL_MODE_CREATE_DUMB, &c, EINVAL);
	}
	close(fd);
}

/*
 * Framebuffers over a buffer: pitch * height + offset past 32 bits is
 * ERANGE, a framebuffer larger than its buffer EINVAL, whatever the
 * arithmetic would wrap to.
 */
static void test_fb_overflow(void)
{
	int fd = open_kms();
	struct drm_mode_create_dumb c = { .width = W, .height = H, .bpp = 32 };
	struct drm_mode_fb_cmd2 f;
	struct drm_mode_destroy_dumb d;

	do_ioctl(fd, DRM_IOCTL_MODE_CREATE_DUMB, &c);
#define FB(set, err) do {						\
	f = (struct drm_mode_fb_cmd2){ .width = W, .height = H,		\
		.pixel_format = DRM_FORMAT_XRGB8888,			\
		.handles = { c.handle }, .pitches = { c.pitch } };	\
	set;								\
	do_ioctl_err(fd, DRM_IOCTL_MODE_ADDFB2, &f, err);		\
} while (0)
	/* (height - 1) * pitch wraps to a small number in 32 bits. */
	FB(f.height = 0x1001; f.pitches[0] = 0x100000, ERANGE);
	FB(f.pitches[0] = 0xffffffc0, ERANGE);
	FB(f.offsets[0] = 0xfffffff0, ERANGE);
	FB(f.offsets[0] = 0x80000000; f.pitches[0] = 0x80000000, ERANGE);
	/* No wrap, just larger than the buffer. */
	FB(f.offsets[0] = c.size, EINVAL);
	FB(f.height = H + 1, EINVAL);
	FB(f.pitches[0] = c.pitch + 4, EINVAL);
	/* A pitch smaller than a row. */
	FB(f.pitches[0] = W * 4 - 4, EINVAL);
	/* Sizes past what vkms scans out. */
	FB(f.width = 0x80000000, EINVAL);
	FB(f.height = 0xffffffff, EINVAL);
#undef FB
	d = (struct drm_mode_destroy_dumb){ .handle = c.handle };
	do_ioctl(fd, DRM_IOCTL_MODE_DESTROY_DUMB, &d);
	close(fd);
}

/* Recycled pages come back zeroed, through mmap and through PRIME. */
static void test_zeroed(void)
{
	enum { N = 24 };
	int fd = open_kms(), fd2 = open_kms();
	struct drm_mode_create_dumb c[N];

	for (int round = 0; round < 4; round++) {
		int f = round & 1 ? fd2 : fd;

		for (int i = 0; i < N; i++) {
			struct drm_mode_map_dumb m;
			uint8_t *map;

			c[i] = (struct drm_mode_create_dumb){ .width = 64 + 8 * i,
				.height = 64, .bpp = 32 };
			do_ioctl(f, DRM_IOCTL_MODE_CREATE_DUMB, &c[i]);
			m = (struct drm_mode_map_dumb){ .handle = c[i].handle };
			do_ioctl(f, DRM_IOCTL_MODE_MAP_DUMB, &m);
			map = mmap(NULL, c[i].size, PROT_READ | PROT_WRITE,
				   MAP_SHARED, f, m.offset);
			igt_assert(map != MAP_FAILED);
			for (size_t k = 0; k < c[i].size; k++)
				igt_assert_f(!map[k], "byte %zu of a fresh buffer is %#x\n",
					     k, map[k]);
			memset(map, 0x5a, c[i].size);
			munmap(map, c[i].size);
		}
		/* The last one read back through its dma-buf as well. */
		if (round == 3) {
			int dmabuf = -1;
			uint8_t *map;

			igt_assert_eq(drmPrimeHandleToFD(f, c[0].handle,
							 DRM_CLOEXEC | DRM_RDWR,
							 &dmabuf), 0);
			map = mmap(NULL, c[0].size, PROT_READ, MAP_SHARED,
				   dmabuf, 0);
			igt_assert(map != MAP_FAILED);
			igt_assert_eq(map[0], 0x5a);
			munmap(map, c[0].size);
			close(dmabuf);
		}
		for (int i = 0; i < N; i++) {
			struct drm_mode_destroy_dumb d = { .handle = c[i].handle };

			do_ioctl(f, DRM_IOCTL_MODE_DESTROY_DUMB, &d);
		}
	}
	close(fd2);
	close(fd);
}

/*
 * A second file cannot use the first one's GEM handles, and cannot remove
 * its framebuffers.
 */
static void test_per_file(void)
{
	int fd = open_kms(), fd2 = open_kms();
	struct kms_fb fb, spare;
	struct drm_mode_map_dumb m;
	struct drm_mode_destroy_dumb d;
	struct drm_gem_close cl;
	uint32_t fb_id, theirs;
	int dmabuf = -1;

	kms_fb_create(fd, W, H, DRM_FORMAT_XRGB8888, &fb);
	kms_fb_create(fd, W, H, DRM_FORMAT_XRGB8888, &spare);
	/* fd2 has no handle at all: any of fd's names nothing there. */
	theirs = spare.handle;
	m = (struct drm_mode_map_dumb){ .handle = theirs };
	do_ioctl_err(fd2, DRM_IOCTL_MODE_MAP_DUMB, &m, ENOENT);
	igt_assert_eq(__kms_fb_add(fd2, W, H, DRM_FORMAT_XRGB8888, theirs,
				   spare.pitch, &fb_id), -ENOENT);
	igt_assert_neq(drmPrimeHandleToFD(fd2, theirs, DRM_CLOEXEC, &dmabuf), 0);
	d = (struct drm_mode_destroy_dumb){ .handle = theirs };
	do_ioctl_err(fd2, DRM_IOCTL_MODE_DESTROY_DUMB, &d, EINVAL);
	cl = (struct drm_gem_close){ .handle = theirs };
	do_ioctl_err(fd2, DRM_IOCTL_GEM_CLOSE, &cl, EINVAL);
	/* Framebuffers: only their owner removes them. */
	fb_id = fb.id;
	do_ioctl_err(fd2, DRM_IOCTL_MODE_RMFB, &fb_id, ENOENT);
	close(fd2);
	/* Still there, and still removable by their owner. */
	igt_assert_eq(__kms_fb_add(fd, W, H, DRM_FORMAT_XRGB8888, theirs,
				   spare.pitch, &fb_id), 0);
	do_ioctl(fd, DRM_IOCTL_MODE_RMFB, &fb_id);
	kms_fb_destroy(&spare);
	kms_fb_destroy(&fb);
	close(fd);
}

igt_main
{
	igt_fixture
		close(drm_open_driver("vkms"));

	igt_subtest("master-rules")
		test_master();
	igt_subtest("pending-flips-bound")
		test_pending_flips_bound();
	igt_subtest("vblank-event-limit")
		test_vblank_event_limit();
	igt_subtest("dumb-size-overflow")
		test_dumb_overflow();
	igt_subtest("fb-size-overflow")
		test_fb_overflow();
	igt_subtest("zeroed-reuse")
		test_zeroed();
	igt_subtest("handles-per-file")
		test_per_file();
}
