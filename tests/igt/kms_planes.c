// SPDX-License-Identifier: GPL-2.0
/*
 * kms_planes: every plane type and format, plane alpha and the blend modes,
 * z order, clipping at the screen's edges and the cursor (atomic and the
 * legacy cursor ioctls), every plane of an output at once (all its
 * overlays, however many vkms was loaded with), each checked by CRC against a frame composed here
 * with the same arithmetic (kms.c), not read back from the driver.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "igt.h"
#include "kms.h"

#define W 256
#define H 192

static const uint32_t formats[] = {
	DRM_FORMAT_XRGB8888, DRM_FORMAT_ARGB8888, DRM_FORMAT_XBGR8888,
	DRM_FORMAT_ABGR8888, DRM_FORMAT_RGB565, DRM_FORMAT_XRGB2101010,
	DRM_FORMAT_ARGB2101010,
};
#define NFORMATS (sizeof(formats) / sizeof(formats[0]))

struct plane_ctx {
	struct kms_dev *dev;
	const struct kms_output *o;
	drmModeModeInfo mode;
	struct kms_fb bg;		/* the primary's picture */
};

/* Plane properties outlive the planes' use: back to the defaults. */
static void reset_props(struct plane_ctx *c)
{
	uint32_t planes[4] = {
		c->o->primary, c->o->overlay[0], c->o->overlay[1], c->o->cursor
	};
	struct kms_req *req = kms_req_new(c->dev);

	for (int i = 0; i < 4; i++) {
		kms_req_set(req, planes[i], "alpha", 0xffff);
		kms_req_set(req, planes[i], "pixel blend mode",
			    KMS_BLEND_PREMULTI);
		kms_req_set(req, planes[i], "zpos", i);
	}
	igt_assert_eq(kms_req_commit(req, 0), 0);
	kms_req_free(req);
}

static void setup(struct plane_ctx *c, struct kms_dev *dev)
{
	memset(c, 0, sizeof(*c));
	c->dev = dev;
	c->o = &dev->out[0];
	c->mode = kms_mode(W, H);
	kms_fb_create(dev->fd, W, H, DRM_FORMAT_XRGB8888, &c->bg);
	kms_fb_pattern(&c->bg, 11, false);
	kms_modeset(dev, c->o, &c->mode, &c->bg);
	reset_props(c);
}

static void teardown(struct plane_ctx *c)
{
	kms_disable(c->dev, c->o);
	kms_fb_destroy(&c->bg);
}

/* The CRC of the first vblank that shows what was committed so far. */
static uint32_t crc_on_screen(struct plane_ctx *c)
{
	struct kms_crc crc;
	uint32_t v, seq = kms_vblank_now(c->dev->fd, c->o->index, NULL);

	kms_crc_start(c->dev, c->o->index, &crc);
	v = kms_crc_at(&crc, seq + 1, NULL);
	kms_crc_stop(&crc);
	return v;
}

static void check(struct plane_ctx *c, const struct kms_layer *l, int n,
		  const char *what)
{
	uint32_t want = kms_ref_crc(l, n, W, H);
	uint32_t got = crc_on_screen(c);

	igt_assert_f(got == want, "%s: CRC %08x, want %08x\n", what, got,
		     want);
}

static const char *blend_name(int b)
{
	return b == KMS_BLEND_NONE ? "None" :
	       b == KMS_BLEND_PREMULTI ? "Pre-multiplied" : "Coverage";
}

/* Commit @plane showing layer @l (with its alpha, blend and zpos). */
static void commit_layer(struct plane_ctx *c, uint32_t plane,
			 const struct kms_layer *l)
{
	struct kms_req *req = kms_req_new(c->dev);

	kms_req_plane(req, plane, c->o->crtc_id, l->fb->id, l->src_x, l->src_y,
		      l->crtc_x, l->crtc_y, l->w, l->h);
	kms_req_set(req, plane, "alpha", l->alpha);
	kms_req_set(req, plane, "pixel blend mode", l->blend);
	kms_req_set(req, plane, "zpos", l->zpos);
	igt_assert_eq(kms_req_commit(req, 0), 0);
	kms_req_free(req);
}

static void plane_off(struct plane_ctx *c, uint32_t plane)
{
	struct kms_req *req = kms_req_new(c->dev);

	kms_req_plane_off(req, plane);
	igt_assert_eq(kms_req_commit(req, 0), 0);
	kms_req_free(req);
}

/* Each format full screen on the primary (alpha of alpha formats used). */
static void test_primary_formats(struct kms_dev *dev)
{
	struct plane_ctx c;

	setup(&c, dev);
	for (unsigned int i = 0; i < NFORMATS; i++) {
		struct kms_fb fb;
		struct kms_layer l = {
			.w = W, .h = H, .alpha = 0xffff,
			.blend = KMS_BLEND_PREMULTI,
		};

		kms_fb_create(dev->fd, W, H, formats[i], &fb);
		kms_fb_pattern(&fb, 20 + i, true);
		l.fb = &fb;
		commit_layer(&c, c.o->primary, &l);
		check(&c, &l, 1, kms_format_name(formats[i]));
		kms_fb_destroy(&fb);
	}
	teardown(&c);
}

/* Each format on each overlay and the cursor, over the primary. */
static void test_overlay_formats(struct kms_dev *dev)
{
	struct plane_ctx c;
	uint32_t planes[3];

	setup(&c, dev);
	planes[0] = c.o->overlay[0];
	planes[1] = c.o->overlay[1];
	planes[2] = c.o->cursor;
	for (int p = 0; p < 3; p++) {
		for (unsigned int i = 0; i < NFORMATS; i++) {
			struct kms_fb fb;
			struct kms_layer l[2] = {
				{ .fb = &c.bg, .w = W, .h = H, .alpha = 0xffff },
				{ .src_x = 3, .src_y = 5, .crtc_x = 40 + 8 * i,
				  .crtc_y = 30, .w = 100, .h = 70,
				  .alpha = 0xffff, .blend = KMS_BLEND_PREMULTI,
				  .zpos = 1 + p },
			};
			char what[64];

			kms_fb_create(dev->fd, 120, 90, formats[i], &fb);
			kms_fb_pattern(&fb, 30 + i + 10 * p, true);
			l[1].fb = &fb;
			commit_layer(&c, planes[p], &l[1]);
			snprintf(what, sizeof(what), "%s %s",
				 p < 2 ? (p ? "overlay 1" : "overlay 0") :
				 "cursor", kms_format_name(formats[i]));
			check(&c, l, 2, what);
			plane_off(&c, planes[p]);
			kms_fb_destroy(&fb);
		}
	}
	teardown(&c);
}

/* Plane alpha with each blend mode, on a per-pixel alpha and an X format. */
static void test_alpha(struct kms_dev *dev)
{
	static const uint16_t alphas[] = { 0, 0x3000, 0x8000, 0xc0c0, 0xffff };
	static const uint32_t fmts[] = {
		DRM_FORMAT_ARGB8888, DRM_FORMAT_XRGB8888, DRM_FORMAT_ARGB2101010,
	};
	struct plane_ctx c;

	setup(&c, dev);
	for (unsigned int f = 0; f < 3; f++) {
		struct kms_fb fb;

		kms_fb_create(dev->fd, 128, 96, fmts[f], &fb);
		kms_fb_pattern(&fb, 50 + f, true);
		for (int b = 0; b < 3; b++) {
			for (unsigned int a = 0; a < 5; a++) {
				struct kms_layer l[2] = {
					{ .fb = &c.bg, .w = W, .h = H,
					  .alpha = 0xffff },
					{ .fb = &fb, .crtc_x = 60, .crtc_y = 40,
					  .w = 128, .h = 96,
					  .alpha = alphas[a], .blend = b,
					  .zpos = 1 },
				};
				char what[64];

				commit_layer(&c, c.o->overlay[0], &l[1]);
				snprintf(what, sizeof(what), "%s %s alpha %04x",
					 kms_format_name(fmts[f]), blend_name(b),
					 alphas[a]);
				check(&c, l, 2, what);
			}
		}
		plane_off(&c, c.o->overlay[0]);
		kms_fb_destroy(&fb);
	}
	teardown(&c);
}

/* Overlapping planes in every order of their z positions. */
static void test_zpos(struct kms_dev *dev)
{
	static const int orders[][3] = {
		{ 1, 2, 3 }, { 1, 3, 2 }, { 2, 1, 3 }, { 2, 3, 1 }, { 3, 1, 2 },
		{ 3, 2, 1 },
	};
	uint32_t planes[3];
	struct kms_fb fb[3];
	struct plane_ctx c;

	setup(&c, dev);
	planes[0] = c.o->overlay[0];
	planes[1] = c.o->overlay[1];
	planes[2] = c.o->cursor;
	for (int i = 0; i < 3; i++) {
		kms_fb_create(dev->fd, 96, 80, DRM_FORMAT_ARGB8888, &fb[i]);
		kms_fb_pattern(&fb[i], 60 + i, i == 1);
	}
	for (unsigned int k = 0; k < sizeof(orders) / sizeof(orders[0]); k++) {
		struct kms_layer l[4] = {
			{ .fb = &c.bg, .w = W, .h = H, .alpha = 0xffff },
		};
		struct kms_req *req = kms_req_new(dev);
		char what[32];

		for (int i = 0; i < 3; i++) {
			l[i + 1] = (struct kms_layer){
				.fb = &fb[i], .crtc_x = 30 + 40 * i,
				.crtc_y = 20 + 30 * i, .w = 96, .h = 80,
				.alpha = i == 2 ? 0xa000 : 0xffff,
				.blend = KMS_BLEND_PREMULTI,
				.zpos = orders[k][i],
			};
			kms_req_plane(req, planes[i], c.o->crtc_id, fb[i].id,
				      0, 0, l[i + 1].crtc_x, l[i + 1].crtc_y,
				      96, 80);
			kms_req_set(req, planes[i], "zpos", orders[k][i]);
			kms_req_set(req, planes[i], "alpha", l[i + 1].alpha);
		}
		/* all planes change in one commit */
		igt_assert_eq(kms_req_commit(req, 0), 0);
		kms_req_free(req);
		snprintf(what, sizeof(what), "zpos %d%d%d", orders[k][0],
			 orders[k][1], orders[k][2]);
		check(&c, l, 4, what);
	}
	for (int i = 0; i < 3; i++) {
		plane_off(&c, planes[i]);
		kms_fb_destroy(&fb[i]);
	}
	teardown(&c);
}

/* Planes partly or wholly off screen are clipped, the primary too. */
static void test_clipping(struct kms_dev *dev)
{
	static const int pos[][2] = {
		{ -50, -40 }, { W - 60, -40 }, { -50, H - 30 },
		{ W - 60, H - 30 }, { -100, 50 }, { W + 5, 10 }, { 10, -200 },
	};
	struct plane_ctx c;
	struct kms_fb ov, big;

	setup(&c, dev);
	kms_fb_create(dev->fd, 100, 80, DRM_FORMAT_ARGB8888, &ov);
	kms_fb_pattern(&ov, 70, true);
	for (unsigned int i = 0; i < sizeof(pos) / sizeof(pos[0]); i++) {
		struct kms_layer l[2] = {
			{ .fb = &c.bg, .w = W, .h = H, .alpha = 0xffff },
			{ .fb = &ov, .crtc_x = pos[i][0], .crtc_y = pos[i][1],
			  .w = 100, .h = 80, .alpha = 0xffff,
			  .blend = KMS_BLEND_COVERAGE, .zpos = 1 },
		};
		char what[32];

		commit_layer(&c, c.o->overlay[0], &l[1]);
		snprintf(what, sizeof(what), "overlay at %d,%d", pos[i][0],
			 pos[i][1]);
		check(&c, l, 2, what);
	}
	plane_off(&c, c.o->overlay[0]);

	/* a primary larger than the screen, shifted up-left; then a small one */
	kms_fb_create(dev->fd, W + 40, H + 40, DRM_FORMAT_XRGB8888, &big);
	kms_fb_pattern(&big, 71, false);
	{
		struct kms_layer l = {
			.fb = &big, .src_x = 4, .src_y = 2, .crtc_x = -20,
			.crtc_y = -30, .w = W + 30, .h = H + 35, .alpha = 0xffff,
		};

		commit_layer(&c, c.o->primary, &l);
		check(&c, &l, 1, "primary clipped");
		l.crtc_x = 50;
		l.crtc_y = 40;
		l.w = 100;
		l.h = 60;
		commit_layer(&c, c.o->primary, &l);
		check(&c, &l, 1, "small primary on black");
	}
	kms_fb_destroy(&big);
	kms_fb_destroy(&ov);
	teardown(&c);
}

/* The cursor through the legacy ioctls: set, move (also off the edges), hide. */
static void test_legacy_cursor(struct kms_dev *dev)
{
	static const int pos[][2] = {
		{ 0, 0 }, { 100, 50 }, { W - 32, H - 32 }, { -20, -10 },
		{ W - 10, 100 }, { 5, H - 5 },
	};
	struct plane_ctx c;
	struct kms_fb cur;

	setup(&c, dev);
	kms_fb_create(dev->fd, 64, 64, DRM_FORMAT_ARGB8888, &cur);
	kms_fb_pattern(&cur, 80, true);
	igt_assert_eq(drmModeSetCursor(dev->fd, c.o->crtc_id, cur.handle, 64,
				       64), 0);
	for (unsigned int i = 0; i < sizeof(pos) / sizeof(pos[0]); i++) {
		struct kms_layer l[2] = {
			{ .fb = &c.bg, .w = W, .h = H, .alpha = 0xffff },
			{ .fb = &cur, .crtc_x = pos[i][0], .crtc_y = pos[i][1],
			  .w = 64, .h = 64, .alpha = 0xffff,
			  .blend = KMS_BLEND_PREMULTI, .zpos = 3 },
		};
		char what[32];

		igt_assert_eq(drmModeMoveCursor(dev->fd, c.o->crtc_id,
						pos[i][0], pos[i][1]), 0);
		snprintf(what, sizeof(what), "cursor at %d,%d", pos[i][0],
			 pos[i][1]);
		check(&c, l, 2, what);
	}
	igt_assert_eq(drmModeSetCursor(dev->fd, c.o->crtc_id, 0, 0, 0), 0);
	{
		struct kms_layer l = {
			.fb = &c.bg, .w = W, .h = H, .alpha = 0xffff,
		};

		check(&c, &l, 1, "cursor hidden");
	}
	kms_fb_destroy(&cur);
	teardown(&c);
}

/*
 * Legacy cursor updates do not wait for a vblank: a client looping on
 * them must not queue a frame per call (it filled a 2 GiB guest under
 * IGT's kms_cursor_legacy). At most one stays pending, the last one is
 * what is shown, and a page flip behind them still lands.
 */
static void test_legacy_cursor_storm(struct kms_dev *dev)
{
	struct kms_layer l[2];
	struct plane_ctx c;
	struct kms_event ev;
	struct kms_fb cur;
	uint64_t merged0;
	int i, x = 0, y = 0;

	setup(&c, dev);
	kms_fb_create(dev->fd, 64, 64, DRM_FORMAT_ARGB8888, &cur);
	kms_fb_pattern(&cur, 81, true);
	igt_assert_eq(drmModeSetCursor(dev->fd, c.o->crtc_id, cur.handle, 64,
				       64), 0);
	merged0 = kms_stat(dev, c.o->index, "flips_merged");
	for (i = 0; i < 3000; i++) {
		x = (i * 7) % (W - 64);
		y = (i * 3) % (H - 64);
		igt_assert_eq(drmModeMoveCursor(dev->fd, c.o->crtc_id, x, y), 0);
		if (i % 100 == 0)
			igt_assert_lte(kms_stat(dev, c.o->index,
						"armed_pending"), 1);
	}
	igt_assert_lte(kms_stat(dev, c.o->index, "armed_pending"), 1);
	igt_info("%llu of 3000 cursor updates replaced before their vblank\n",
		 (unsigned long long)(kms_stat(dev, c.o->index,
					       "flips_merged") - merged0));

	/* a flip behind them completes: its event comes */
	igt_assert_eq(drmModePageFlip(dev->fd, c.o->crtc_id, c.bg.id,
				      DRM_MODE_PAGE_FLIP_EVENT, NULL), 0);
	igt_assert(kms_read_event(dev->fd, 5000, &ev));
	igt_assert_eq(ev.type, DRM_EVENT_FLIP_COMPLETE);

	/* the last position is the one shown */
	l[0] = (struct kms_layer){ .fb = &c.bg, .w = W, .h = H,
				   .alpha = 0xffff };
	l[1] = (struct kms_layer){ .fb = &cur, .crtc_x = x, .crtc_y = y,
				   .w = 64, .h = 64, .alpha = 0xffff,
				   .blend = KMS_BLEND_PREMULTI, .zpos = 3 };
	check(&c, l, 2, "cursor at its last position");
	igt_assert_eq(drmModeSetCursor(dev->fd, c.o->crtc_id, 0, 0, 0), 0);
	kms_fb_destroy(&cur);
	teardown(&c);
}

/* All four planes at once, changed in one nonblocking flip. */
static void test_all_planes_flip(struct kms_dev *dev)
{
	struct plane_ctx c;
	struct kms_fb fb[4];
	uint32_t planes[4];
	struct kms_layer l[4];
	struct kms_req *req;
	struct kms_event ev;
	struct kms_crc crc;
	uint32_t frame, v, want;

	setup(&c, dev);
	planes[0] = c.o->primary;
	planes[1] = c.o->overlay[0];
	planes[2] = c.o->overlay[1];
	planes[3] = c.o->cursor;
	req = kms_req_new(dev);
	for (int i = 0; i < 4; i++) {
		int w = i ? 80 : W, h = i ? 60 : H;

		kms_fb_create(dev->fd, w, h, formats[i * 2 % NFORMATS], &fb[i]);
		kms_fb_pattern(&fb[i], 90 + i, true);
		l[i] = (struct kms_layer){
			.fb = &fb[i], .crtc_x = i * 50, .crtc_y = i * 30,
			.w = w, .h = h, .alpha = 0xffff - i * 0x1000,
			.blend = KMS_BLEND_PREMULTI, .zpos = i,
		};
		kms_req_plane(req, planes[i], c.o->crtc_id, fb[i].id, 0, 0,
			      l[i].crtc_x, l[i].crtc_y, w, h);
		kms_req_set(req, planes[i], "alpha", l[i].alpha);
		kms_req_set(req, planes[i], "zpos", i);
	}
	want = kms_ref_crc(l, 4, W, H);
	kms_crc_start(dev, 0, &crc);
	igt_assert_eq(kms_req_commit_data(req, DRM_MODE_ATOMIC_NONBLOCK |
					  DRM_MODE_PAGE_FLIP_EVENT, 1), 0);
	kms_req_free(req);
	igt_assert(kms_read_event(dev->fd, 1000, &ev));
	v = kms_crc_at(&crc, ev.sequence, &frame);
	igt_assert_eq(frame, ev.sequence);
	igt_assert_f(v == want, "CRC %08x, want %08x\n", v, want);
	kms_crc_stop(&crc);
	for (int i = 1; i < 4; i++)
		plane_off(&c, planes[i]);
	teardown(&c);
	for (int i = 0; i < 4; i++)
		kms_fb_destroy(&fb[i]);
}

/*
 * A 1080p frame, checked by CRC, as it gets more planes: the primary alone
 * (the copy path), with a cursor, with a blended overlay. Prints how long
 * the driver took to compose each (its counter; not a pass criterion).
 */
static void test_compose_1080p(struct kms_dev *dev)
{
	const struct kms_output *o = &dev->out[0];
	drmModeModeInfo mode = kms_mode(1920, 1080);
	struct kms_fb bg, cur, ov;
	struct kms_layer l[3];
	struct plane_ctx c = { .dev = dev, .o = o, .mode = mode };

	kms_fb_create(dev->fd, 1920, 1080, DRM_FORMAT_XRGB8888, &bg);
	kms_fb_pattern(&bg, 100, false);
	kms_fb_create(dev->fd, 64, 64, DRM_FORMAT_ARGB8888, &cur);
	kms_fb_pattern(&cur, 101, true);
	kms_fb_create(dev->fd, 400, 300, DRM_FORMAT_ARGB8888, &ov);
	kms_fb_pattern(&ov, 102, true);
	l[0] = (struct kms_layer){
		.fb = &bg, .w = 1920, .h = 1080, .alpha = 0xffff,
	};
	l[1] = (struct kms_layer){
		.fb = &cur, .crtc_x = 900, .crtc_y = 500, .w = 64, .h = 64,
		.alpha = 0xffff, .zpos = 3,
	};
	l[2] = (struct kms_layer){
		.fb = &ov, .crtc_x = 1700, .crtc_y = 900, .w = 400, .h = 300,
		.alpha = 0xc000, .zpos = 1,
	};
	kms_modeset(dev, o, &mode, &bg);
	reset_props(&c);
	for (int n = 1; n <= 3; n++) {
		uint32_t want = kms_ref_crc(l, n, 1920, 1080), got, seq;
		struct kms_crc crc;

		if (n > 1)
			commit_layer(&c, n == 2 ? o->cursor : o->overlay[0],
				     &l[n - 1]);
		seq = kms_vblank_now(dev->fd, 0, NULL);
		kms_crc_start(dev, 0, &crc);
		got = kms_crc_at(&crc, seq + 1, NULL);
		kms_crc_stop(&crc);
		igt_assert_f(got == want, "%d planes: CRC %08x, want %08x\n",
			     n, got, want);
		igt_info("1080p, %d plane(s): composed in %llu us (max %llu)\n",
			 n, (unsigned long long)kms_stat(dev, 0,
				"compose_ns_last") / 1000,
			 (unsigned long long)kms_stat(dev, 0,
				"compose_ns_max") / 1000);
	}
	kms_disable(dev, o);
	kms_fb_destroy(&ov);
	kms_fb_destroy(&cur);
	kms_fb_destroy(&bg);
}

igt_main
{
	struct kms_dev dev = { .fd = -1 };

	igt_fixture
		kms_open(&dev);

	igt_subtest("primary-formats")
		test_primary_formats(&dev);
	igt_subtest("overlay-formats")
		test_overlay_formats(&dev);
	igt_subtest("alpha-blend")
		test_alpha(&dev);
	igt_subtest("zpos")
		test_zpos(&dev);
	igt_subtest("clipping")
		test_clipping(&dev);
	igt_subtest("legacy-cursor")
		test_legacy_cursor(&dev);
	igt_subtest("legacy-cursor-storm")
		test_legacy_cursor_storm(&dev);
	igt_subtest("all-planes-flip")
		test_all_planes_flip(&dev);
	igt_subtest("all-overlays")
		kms_check_all_planes(&dev, &dev.out[0]);
	igt_subtest("compose-1080p")
		test_compose_1080p(&dev);

	igt_fixture
		kms_close(&dev);
}
