// SPDX-License-Identifier: GPL-2.0
/*
 * kms_formats: every pixel format vkms offers, on every plane: the
 * planes' format lists, each RGB and greyscale format, each YUV format
 * in each COLOR_ENCODING and COLOR_RANGE, framebuffers of odd sizes, each
 * checked by CRC against the frame composed here (kms.c, which converts
 * YUV from the standards' Kr and Kb); and the framebuffers and plane
 * states vkms refuses.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "igt.h"
#include "kms.h"
#include "kms_pctx.h"

#define W 256
#define H 192

/* Every plane lists every format, in the same order. */
static void test_lists(struct kms_dev *dev)
{
	drmModePlaneResPtr pres = drmModeGetPlaneResources(dev->fd);

	igt_assert(pres);
	for (uint32_t i = 0; i < pres->count_planes; i++) {
		drmModePlanePtr p = drmModeGetPlane(dev->fd, pres->planes[i]);

		igt_assert(p);
		igt_assert_eq((int)p->count_formats, kms_num_formats());
		for (int f = 0; f < kms_num_formats(); f++)
			igt_assert_f(p->formats[f] == kms_format(f),
				     "plane %u format %d: %08x, want %s\n",
				     p->plane_id, f, p->formats[f],
				     kms_format_name(kms_format(f)));
		drmModeFreePlane(p);
	}
	drmModeFreePlaneResources(pres);
}

/* Each non-YUV format full screen on the primary, then on each plane. */
static void test_rgb(struct kms_dev *dev)
{
	struct kms_pctx c;

	kms_pctx_setup(&c, dev, W, H);
	for (int i = 0; i < kms_num_formats(); i++) {
		uint32_t format = kms_format(i);
		struct kms_fb fb;
		struct kms_layer l[2] = {
			{ .fb = &c.bg, .w = W, .h = H, .alpha = 0xffff },
			{ .w = W, .h = H, .alpha = 0xffff,
			  .blend = KMS_BLEND_PREMULTI },
		};
		char what[64];

		if (kms_format_is_yuv(format))
			continue;
		kms_fb_create(dev->fd, W, H, format, &fb);
		kms_fb_pattern(&fb, 20 + i, true);
		l[1].fb = &fb;
		kms_pctx_commit_layer(&c, c.o->primary, &l[1]);
		snprintf(what, sizeof(what), "primary %s",
			 kms_format_name(format));
		kms_pctx_check(&c, &l[1], 1, what);
		kms_pctx_commit_layer(&c, c.o->primary, &l[0]);

		/* partly off screen, from inside the buffer */
		for (int p = 0; p < 3; p++) {
			l[1] = (struct kms_layer){
				.fb = &fb, .src_x = 5 + p, .src_y = 3,
				.crtc_x = -7 + 90 * p, .crtc_y = 20 + 40 * p,
				.w = 120, .h = 150, .alpha = 0xffff,
				.blend = KMS_BLEND_COVERAGE, .zpos = 1 + p,
			};
			kms_pctx_commit_layer(&c, c.planes[p], &l[1]);
			snprintf(what, sizeof(what), "plane %d %s", p,
				 kms_format_name(format));
			kms_pctx_check(&c, l, 2, what);
			kms_pctx_plane_off(&c, c.planes[p]);
		}
		kms_fb_destroy(&fb);
	}
	kms_pctx_teardown(&c);
}

static const char *const enc_names[] = { "BT.601", "BT.709", "BT.2020" };

/*
 * Each YUV format full screen on the primary in each encoding and range,
 * then on each plane, in one of them, from an even offset.
 */
static void test_yuv(struct kms_dev *dev)
{
	struct kms_pctx c;
	int k = 0;

	kms_pctx_setup(&c, dev, W, H);
	for (int i = 0; i < kms_num_formats(); i++) {
		uint32_t format = kms_format(i);
		struct kms_fb fb;
		struct kms_layer l[2] = {
			{ .fb = &c.bg, .w = W, .h = H, .alpha = 0xffff },
		};
		char what[64];

		if (!kms_format_is_yuv(format))
			continue;
		kms_fb_create(dev->fd, W, H, format, &fb);
		kms_fb_pattern(&fb, 40 + i, false);
		for (int e = 0; e < 3; e++) {
			for (int r = 0; r < 2; r++) {
				l[1] = (struct kms_layer){
					.fb = &fb, .w = W, .h = H,
					.alpha = 0xffff, .encoding = e,
					.limited = !r,
				};
				kms_pctx_commit_layer(&c, c.o->primary, &l[1]);
				snprintf(what, sizeof(what), "primary %s %s %s",
					 kms_format_name(format), enc_names[e],
					 r ? "full" : "limited");
				kms_pctx_check(&c, &l[1], 1, what);
			}
		}
		kms_pctx_commit_layer(&c, c.o->primary, &l[0]);
		for (int p = 0; p < 3; p++, k++) {
			l[1] = (struct kms_layer){
				.fb = &fb, .src_x = 6, .src_y = 4,
				.crtc_x = -9 + 80 * p, .crtc_y = 30 * p - 5,
				.w = 110, .h = 130, .alpha = 0xc000,
				.zpos = 1 + p, .encoding = k % 3,
				.limited = k & 1,
			};
			kms_pctx_commit_layer(&c, c.planes[p], &l[1]);
			snprintf(what, sizeof(what), "plane %d %s", p,
				 kms_format_name(format));
			kms_pctx_check(&c, l, 2, what);
			kms_pctx_plane_off(&c, c.planes[p]);
		}
		kms_fb_destroy(&fb);
	}
	kms_pctx_teardown(&c);
}

/* Framebuffers of odd sizes: the last chroma sample covers one pixel. */
static void test_odd_sizes(struct kms_dev *dev)
{
	static const uint32_t fmts[] = {
		DRM_FORMAT_NV12, DRM_FORMAT_YVU420, DRM_FORMAT_NV61,
		DRM_FORMAT_P010, DRM_FORMAT_R1, DRM_FORMAT_R2, DRM_FORMAT_R4,
		DRM_FORMAT_RGB888,
	};
	struct kms_pctx c;

	kms_pctx_setup(&c, dev, W, H);
	for (unsigned int i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
		struct kms_fb fb;
		struct kms_layer l[2] = {
			{ .fb = &c.bg, .w = W, .h = H, .alpha = 0xffff },
			{ .crtc_x = 33, .crtc_y = 21, .w = 101, .h = 77,
			  .alpha = 0xffff, .zpos = 1, .encoding = KMS_BT709 },
		};
		char what[64];

		kms_fb_create(dev->fd, 101, 77, fmts[i], &fb);
		kms_fb_pattern(&fb, 60 + i, false);
		l[1].fb = &fb;
		kms_pctx_commit_layer(&c, c.planes[0], &l[1]);
		snprintf(what, sizeof(what), "101x77 %s",
			 kms_format_name(fmts[i]));
		kms_pctx_check(&c, l, 2, what);
		/* from an odd column of a greyscale format */
		if (!kms_format_is_yuv(fmts[i])) {
			l[1].src_x = 3;
			l[1].w = 97;
			kms_pctx_commit_layer(&c, c.planes[0], &l[1]);
			kms_pctx_check(&c, l, 2, what);
		}
		kms_pctx_plane_off(&c, c.planes[0]);
		kms_fb_destroy(&fb);
	}
	kms_pctx_teardown(&c);
}

/* ADDFB2 of @format on @fb's buffer with these pitches and offsets. */
static int add_fb(const struct kms_fb *fb, uint32_t format, int w, int h,
		  const uint32_t pitches[4], const uint32_t offsets[4],
		  const uint64_t *modifier, uint32_t *id)
{
	uint32_t handles[4] = { 0 };
	uint64_t mods[4] = { 0 };
	int n = 0;

	for (int p = 0; p < 4; p++)
		if (pitches[p])
			handles[n++] = fb->handle;
	for (int p = 0; modifier && p < n; p++)
		mods[p] = *modifier;
	*id = 0;
	if (drmModeAddFB2WithModifiers(fb->fd, w, h, format, handles, pitches,
				       offsets, mods, id,
				       modifier ? DRM_MODE_FB_MODIFIERS : 0))
		return -errno;
	return 0;
}

/* What vkms refuses, at ADDFB2 or at the atomic check (TEST_ONLY). */
static void test_invalid(struct kms_dev *dev)
{
	const uint64_t tiled = I915_FORMAT_MOD_X_TILED;
	const uint64_t linear = DRM_FORMAT_MOD_LINEAR;
	struct kms_fb nv12, p010, i420;
	struct kms_layer l;
	uint32_t id, pitches[4], offsets[4];
	struct kms_pctx c;
	int ret;

	kms_pctx_setup(&c, dev, W, H);
	kms_fb_create(dev->fd, 128, 96, DRM_FORMAT_NV12, &nv12);
	kms_fb_create(dev->fd, 128, 96, DRM_FORMAT_P010, &p010);
	kms_fb_create(dev->fd, 128, 96, DRM_FORMAT_YUV420, &i420);

	/*
	 * A modifier other than linear: refused at ADDFB2 (6.12), or where
	 * DRM checks the plane's formats and modifiers (6.1: the atomic
	 * check). Linear itself is fine.
	 */
	memcpy(pitches, nv12.pitches, sizeof(nv12.pitches));
	pitches[3] = 0;
	memcpy(offsets, nv12.offsets, sizeof(nv12.offsets));
	offsets[3] = 0;
	ret = add_fb(&nv12, DRM_FORMAT_NV12, 128, 96, pitches, offsets,
		     &tiled, &id);
	if (!ret) {
		struct kms_fb view = nv12;

		view.id = id;
		l = (struct kms_layer){ .fb = &view, .w = 64, .h = 48,
					.alpha = 0xffff, .zpos = 1 };
		ret = __kms_pctx_commit_layer(&c, c.planes[0], &l,
				     DRM_MODE_ATOMIC_TEST_ONLY);
		drmModeRmFB(dev->fd, id);
	}
	igt_assert_eq(ret, -EINVAL);
	igt_assert_eq(add_fb(&nv12, DRM_FORMAT_NV12, 128, 96, pitches,
			     offsets, &linear, &id), 0);
	drmModeRmFB(dev->fd, id);
	/* NV12 without its chroma plane; a format vkms does not read */
	pitches[1] = 0;
	igt_assert_eq(add_fb(&nv12, DRM_FORMAT_NV12, 128, 96, pitches,
			     offsets, NULL, &id), -EINVAL);
	igt_assert_eq(add_fb(&nv12, DRM_FORMAT_YUYV, 128, 96, pitches,
			     offsets, NULL, &id), -EINVAL);

	/* chroma subsampled 2x2: the source must start on even pixels */
	l = (struct kms_layer){ .fb = &nv12, .w = 64, .h = 48,
				.alpha = 0xffff, .zpos = 1 };
	igt_assert_eq(__kms_pctx_commit_layer(&c, c.planes[0], &l,
				     DRM_MODE_ATOMIC_TEST_ONLY), 0);
	l.src_x = 1;
	igt_assert_eq(__kms_pctx_commit_layer(&c, c.planes[0], &l,
				     DRM_MODE_ATOMIC_TEST_ONLY), -EINVAL);
	l.src_x = 2;
	l.src_y = 3;
	l.fb = &i420;
	igt_assert_eq(__kms_pctx_commit_layer(&c, c.planes[0], &l,
				     DRM_MODE_ATOMIC_TEST_ONLY), -EINVAL);

	/* P010: 16-bit samples need even pitches and offsets */
	memcpy(pitches, p010.pitches, sizeof(p010.pitches));
	pitches[3] = 0;
	memcpy(offsets, p010.offsets, sizeof(p010.offsets));
	offsets[3] = 0;
	/* (80 lines, so that the longer chroma lines fit in the buffer) */
	pitches[1] += 1;
	igt_assert_eq(add_fb(&p010, DRM_FORMAT_P010, 128, 80, pitches,
			     offsets, NULL, &id), 0);
	{
		struct kms_fb view = p010;

		view.id = id;
		l = (struct kms_layer){ .fb = &view, .w = 64, .h = 48,
					.alpha = 0xffff, .zpos = 1 };
		igt_assert_eq(__kms_pctx_commit_layer(&c, c.planes[0], &l,
					     DRM_MODE_ATOMIC_TEST_ONLY),
			      -EINVAL);
		drmModeRmFB(dev->fd, id);
		pitches[1] -= 1;
		offsets[1] -= 64;
		offsets[1] += 1;
		igt_assert_eq(add_fb(&p010, DRM_FORMAT_P010, 128, 80, pitches,
				     offsets, NULL, &id), 0);
		view.id = id;
		igt_assert_eq(__kms_pctx_commit_layer(&c, c.planes[0], &l,
					     DRM_MODE_ATOMIC_TEST_ONLY),
			      -EINVAL);
		drmModeRmFB(dev->fd, id);
	}

	/* values outside the properties' enums */
	{
		struct kms_req *req = kms_req_new(dev);

		kms_req_set(req, c.o->primary, "COLOR_ENCODING", 3);
		igt_assert_eq(kms_req_commit(req, DRM_MODE_ATOMIC_TEST_ONLY),
			      -EINVAL);
		kms_req_free(req);
		req = kms_req_new(dev);
		kms_req_set(req, c.o->primary, "COLOR_RANGE", 2);
		igt_assert_eq(kms_req_commit(req, DRM_MODE_ATOMIC_TEST_ONLY),
			      -EINVAL);
		kms_req_free(req);
	}

	kms_fb_destroy(&i420);
	kms_fb_destroy(&p010);
	kms_fb_destroy(&nv12);
	kms_pctx_teardown(&c);
}

igt_main
{
	struct kms_dev dev = { .fd = -1 };

	igt_fixture
		kms_open(&dev);

	igt_subtest("plane-lists")
		test_lists(&dev);
	igt_subtest("rgb")
		test_rgb(&dev);
	igt_subtest("yuv")
		test_yuv(&dev);
	igt_subtest("odd-sizes")
		test_odd_sizes(&dev);
	igt_subtest("invalid")
		test_invalid(&dev);

	igt_fixture
		kms_close(&dev);
}
