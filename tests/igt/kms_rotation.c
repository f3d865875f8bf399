// SPDX-License-Identifier: GPL-2.0
/*
 * kms_rotation: the "rotation" property on every plane, ROTATE_0 to
 * ROTATE_270 with REFLECT_X and REFLECT_Y, in RGB, greyscale and YUV
 * formats, clipped at the screen's edges and stacked, each checked by CRC
 * against the frame composed here (kms.c places each source pixel where
 * DRM's definition sends it: reflected, then turned counter-clockwise);
 * and the rotation values vkms refuses.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "igt.h"
#include "kms.h"
#include "kms_pctx.h"

#define W 256
#define H 192

static const uint32_t rotations[] = {
	KMS_ROTATE_0, KMS_ROTATE_90, KMS_ROTATE_180, KMS_ROTATE_270,
	KMS_ROTATE_0 | KMS_REFLECT_X, KMS_ROTATE_0 | KMS_REFLECT_Y,
	KMS_ROTATE_90 | KMS_REFLECT_X, KMS_ROTATE_270 | KMS_REFLECT_Y,
	KMS_ROTATE_180 | KMS_REFLECT_X | KMS_REFLECT_Y,
	KMS_ROTATE_90 | KMS_REFLECT_X | KMS_REFLECT_Y,
};
#define NROT (sizeof(rotations) / sizeof(rotations[0]))

static const char *rot_name(uint32_t r, char *buf, size_t len)
{
	static const char *const deg[] = { "0", "90", "180", "270" };

	snprintf(buf, len, "rotate-%s%s%s", deg[__builtin_ctz(r & 0xf)],
		 r & KMS_REFLECT_X ? "+reflect-x" : "",
		 r & KMS_REFLECT_Y ? "+reflect-y" : "");
	return buf;
}

static bool turned(uint32_t r)
{
	return r & (KMS_ROTATE_90 | KMS_ROTATE_270);
}

/* The primary full screen, every rotation and reflection. */
static void test_primary(struct kms_dev *dev)
{
	struct kms_fb wide, tall;
	struct kms_pctx c;

	kms_pctx_setup(&c, dev, W, H);
	kms_fb_create(dev->fd, W, H, DRM_FORMAT_XRGB8888, &wide);
	kms_fb_pattern(&wide, 80, false);
	kms_fb_create(dev->fd, H, W, DRM_FORMAT_XRGB8888, &tall);
	kms_fb_pattern(&tall, 81, false);
	for (int k = 0; k < 16; k++) {
		uint32_t r = (1u << (k & 3)) | (k >> 2) << 4;
		struct kms_layer l = {
			.fb = turned(r) ? &tall : &wide, .w = W, .h = H,
			.alpha = 0xffff, .rotation = r,
		};
		char what[48];

		kms_pctx_commit_layer(&c, c.o->primary, &l);
		kms_pctx_check(&c, &l, 1, rot_name(r, what, sizeof(what)));
	}
	kms_fb_destroy(&tall);
	kms_fb_destroy(&wide);
	kms_pctx_teardown(&c);
}

/*
 * An overlay in each format and rotation, from inside its buffer, partly
 * off the screen's top-left or bottom-right corner.
 */
static void test_formats(struct kms_dev *dev)
{
	static const uint32_t fmts[] = {
		DRM_FORMAT_XRGB8888, DRM_FORMAT_ARGB8888, DRM_FORMAT_XBGR8888,
		DRM_FORMAT_RGB565, DRM_FORMAT_RGB888, DRM_FORMAT_XRGB16161616,
		DRM_FORMAT_ARGB2101010, DRM_FORMAT_R1, DRM_FORMAT_R4,
		DRM_FORMAT_R8, DRM_FORMAT_NV12, DRM_FORMAT_YUV420,
		DRM_FORMAT_NV61, DRM_FORMAT_P010,
	};
	struct kms_pctx c;

	kms_pctx_setup(&c, dev, W, H);
	for (unsigned int i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
		struct kms_fb fb;

		kms_fb_create(dev->fd, 150, 140, fmts[i], &fb);
		kms_fb_pattern(&fb, 90 + i, true);
		for (unsigned int k = 0; k < NROT; k++) {
			bool corner = k & 1;
			struct kms_layer l[2] = {
				{ .fb = &c.bg, .w = W, .h = H, .alpha = 0xffff },
				{ .fb = &fb, .src_x = 4, .src_y = 6,
				  .crtc_x = corner ? W - 100 : -14,
				  .crtc_y = corner ? H - 70 : -10,
				  .w = 130, .h = 110, .alpha = 0xffff,
				  .blend = KMS_BLEND_COVERAGE, .zpos = 1,
				  .rotation = rotations[k],
				  .encoding = k % 3, .limited = k & 2 },
			};
			char what[80], rn[48];

			kms_pctx_commit_layer(&c, c.planes[0], &l[1]);
			snprintf(what, sizeof(what), "%s %s",
				 kms_format_name(fmts[i]),
				 rot_name(rotations[k], rn, sizeof(rn)));
			kms_pctx_check(&c, l, 2, what);
		}
		kms_pctx_plane_off(&c, c.planes[0]);
		kms_fb_destroy(&fb);
	}
	kms_pctx_teardown(&c);
}

/*
 * Every plane rotated its own way, overlapping: the primary (turned by 90
 * or 270 degrees every other time: vkms copies it a band of lines at a
 * time), a YUV overlay, a translucent overlay and the cursor.
 */
static void test_stacked(struct kms_dev *dev)
{
	struct kms_fb prim, tall, nv12, argb, cur;
	struct kms_pctx c;

	kms_pctx_setup(&c, dev, W, H);
	kms_fb_create(dev->fd, W, H, DRM_FORMAT_XRGB8888, &prim);
	kms_fb_pattern(&prim, 100, false);
	kms_fb_create(dev->fd, H, W, DRM_FORMAT_XRGB8888, &tall);
	kms_fb_pattern(&tall, 104, false);
	kms_fb_create(dev->fd, 120, 160, DRM_FORMAT_NV12, &nv12);
	kms_fb_pattern(&nv12, 101, false);
	kms_fb_create(dev->fd, 100, 90, DRM_FORMAT_ARGB8888, &argb);
	kms_fb_pattern(&argb, 102, true);
	kms_fb_create(dev->fd, 64, 64, DRM_FORMAT_ARGB8888, &cur);
	kms_fb_pattern(&cur, 103, true);
	for (unsigned int k = 0; k < NROT; k++) {
		uint32_t r = rotations[k];
		struct kms_layer l[4] = {
			{ .fb = &prim, .w = W, .h = H, .alpha = 0xffff,
			  .rotation = rotations[(k + 7) % NROT] },
			{ .fb = &nv12, .src_x = 2, .src_y = 2, .crtc_x = 20,
			  .crtc_y = 10, .w = turned(r) ? 150 : 110,
			  .h = turned(r) ? 110 : 150, .alpha = 0xffff,
			  .zpos = 1, .rotation = r, .encoding = KMS_BT709,
			  .limited = true },
			{ .fb = &argb, .crtc_x = 90, .crtc_y = 60,
			  .alpha = 0x9000,
			  .blend = KMS_BLEND_PREMULTI, .zpos = 2,
			  .rotation = rotations[(k + 3) % NROT] },
			{ .fb = &cur, .crtc_x = 70 + 13 * k, .crtc_y = 40,
			  .w = 64, .h = 64, .alpha = 0xffff,
			  .blend = KMS_BLEND_COVERAGE, .zpos = 3,
			  .rotation = rotations[(k + 5) % NROT] },
		};
		char what[64], rn[48];

		if (turned(l[0].rotation))
			l[0].fb = &tall;
		l[2].w = turned(l[2].rotation) ? 90 : 100;
		l[2].h = turned(l[2].rotation) ? 100 : 90;
		kms_pctx_commit_layer(&c, c.o->primary, &l[0]);
		kms_pctx_commit_layer(&c, c.planes[0], &l[1]);
		kms_pctx_commit_layer(&c, c.planes[1], &l[2]);
		kms_pctx_commit_layer(&c, c.planes[2], &l[3]);
		snprintf(what, sizeof(what), "stack, overlay %s",
			 rot_name(r, rn, sizeof(rn)));
		kms_pctx_check(&c, l, 4, what);
	}
	kms_pctx_plane_off(&c, c.planes[2]);
	kms_pctx_plane_off(&c, c.planes[1]);
	kms_pctx_plane_off(&c, c.planes[0]);
	kms_pctx_commit_layer(&c, c.o->primary, &(struct kms_layer){
		.fb = &c.bg, .w = W, .h = H, .alpha = 0xffff });
	kms_fb_destroy(&cur);
	kms_fb_destroy(&argb);
	kms_fb_destroy(&nv12);
	kms_fb_destroy(&tall);
	kms_fb_destroy(&prim);
	kms_pctx_teardown(&c);
}

static int test_rotation_value(struct kms_pctx *c, const struct kms_layer *l,
			       uint64_t value)
{
	struct kms_req *req = kms_req_new(c->dev);
	int ret;

	kms_req_plane(req, c->planes[0], c->o->crtc_id, l->fb->id, l->src_x,
		      l->src_y, l->crtc_x, l->crtc_y, l->w, l->h);
	kms_req_set(req, c->planes[0], "rotation", value);
	ret = kms_req_commit(req, DRM_MODE_ATOMIC_TEST_ONLY);
	kms_req_free(req);
	return ret;
}

/* Rotation values and combinations vkms refuses. */
static void test_invalid(struct kms_dev *dev)
{
	struct kms_fb fb, nv12;
	struct kms_layer l;
	struct kms_pctx c;

	kms_pctx_setup(&c, dev, W, H);
	kms_fb_create(dev->fd, 100, 60, DRM_FORMAT_XRGB8888, &fb);
	kms_fb_create(dev->fd, 100, 60, DRM_FORMAT_NV12, &nv12);
	l = (struct kms_layer){ .fb = &fb, .w = 100, .h = 60,
				.alpha = 0xffff, .zpos = 1 };
	/* every defined combination passes; none, two angles, other bits not */
	for (unsigned int k = 0; k < NROT; k++)
		if (!turned(rotations[k]))
			igt_assert_eq(test_rotation_value(&c, &l,
							  rotations[k]), 0);
	igt_assert_eq(test_rotation_value(&c, &l, 0), -EINVAL);
	igt_assert_eq(test_rotation_value(&c, &l, KMS_REFLECT_X), -EINVAL);
	igt_assert_eq(test_rotation_value(&c, &l,
					  KMS_ROTATE_0 | KMS_ROTATE_90),
		      -EINVAL);
	igt_assert_eq(test_rotation_value(&c, &l, KMS_ROTATE_0 | 0x40),
		      -EINVAL);
	igt_assert_eq(test_rotation_value(&c, &l, 1ull << 32), -EINVAL);
	/* turned by 90, a 100x60 source covers 60x100 on screen, not 100x60 */
	igt_assert(test_rotation_value(&c, &l, KMS_ROTATE_90) < 0);
	igt_assert(test_rotation_value(&c, &l, KMS_ROTATE_270) < 0);
	l.w = 60;
	l.h = 100;
	igt_assert_eq(__kms_pctx_commit_layer(&c, c.planes[0], &(struct kms_layer){
		.fb = &fb, .w = 60, .h = 100, .alpha = 0xffff, .zpos = 1,
		.rotation = KMS_ROTATE_90 }, DRM_MODE_ATOMIC_TEST_ONLY), 0);
	/* YUV 4:2:0 turned: the source still starts on a chroma sample */
	igt_assert_eq(__kms_pctx_commit_layer(&c, c.planes[0], &(struct kms_layer){
		.fb = &nv12, .src_y = 1, .w = 40, .h = 60, .alpha = 0xffff,
		.zpos = 1, .rotation = KMS_ROTATE_90 },
		DRM_MODE_ATOMIC_TEST_ONLY), -EINVAL);
	igt_assert_eq(__kms_pctx_commit_layer(&c, c.planes[0], &(struct kms_layer){
		.fb = &nv12, .src_y = 2, .w = 40, .h = 60, .alpha = 0xffff,
		.zpos = 1, .rotation = KMS_ROTATE_90 },
		DRM_MODE_ATOMIC_TEST_ONLY), 0);
	kms_fb_destroy(&nv12);
	kms_fb_destroy(&fb);
	kms_pctx_teardown(&c);
}

igt_main
{
	struct kms_dev dev = { .fd = -1 };

	igt_fixture
		kms_open(&dev);

	igt_subtest("primary")
		test_primary(&dev);
	igt_subtest("formats")
		test_formats(&dev);
	igt_subtest("stacked")
		test_stacked(&dev);
	igt_subtest("invalid")
		test_invalid(&dev);

	igt_fixture
		kms_close(&dev);
}
