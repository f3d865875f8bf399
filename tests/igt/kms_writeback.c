// SPDX-License-Identifier: GPL-2.0
/*
 * kms_writeback: the writeback connector captures the composed frame into
 * a userspace framebuffer and signals its out-fence; the capture equals,
 * pixel for pixel, the frame composed here, in each writeback format
 * (XRGB8888, ARGB8888, XRGB16161616, ARGB16161616, RGB565). Also through
 * nonblocking and fence-gated commits, and the invalid cases.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "igt.h"
#include "kms.h"
#include "kms_vgem.h"

#define W 256
#define H 192

struct wb_ctx {
	struct kms_dev *dev;
	const struct kms_output *o;
	drmModeModeInfo mode;
	struct kms_fb bg, ov;
	struct kms_layer l[2];
};

static void setup(struct wb_ctx *c, struct kms_dev *dev)
{
	struct kms_req *req;

	memset(c, 0, sizeof(*c));
	c->dev = dev;
	c->o = &dev->out[0];
	igt_require(c->o->wb_connector_id);
	c->mode = kms_mode(W, H);
	kms_fb_create(dev->fd, W, H, DRM_FORMAT_XRGB8888, &c->bg);
	kms_fb_pattern(&c->bg, 5, false);
	kms_fb_create(dev->fd, 100, 90, DRM_FORMAT_ARGB8888, &c->ov);
	kms_fb_pattern(&c->ov, 6, true);
	c->l[0] = (struct kms_layer){
		.fb = &c->bg, .w = W, .h = H, .alpha = 0xffff,
	};
	c->l[1] = (struct kms_layer){
		.fb = &c->ov, .crtc_x = 70, .crtc_y = -20, .w = 100, .h = 90,
		.alpha = 0xd000, .blend = KMS_BLEND_PREMULTI, .zpos = 1,
	};
	kms_modeset(dev, c->o, &c->mode, &c->bg);
	req = kms_req_new(dev);
	kms_req_plane(req, c->o->overlay[0], c->o->crtc_id, c->ov.id, 0, 0,
		      70, -20, 100, 90);
	kms_req_set(req, c->o->overlay[0], "alpha", 0xd000);
	kms_req_set(req, c->o->overlay[0], "pixel blend mode",
		    KMS_BLEND_PREMULTI);
	kms_req_set(req, c->o->overlay[0], "zpos", 1);
	/* the writeback connector joins the CRTC: a modeset */
	kms_req_set(req, c->o->wb_connector_id, "CRTC_ID", c->o->crtc_id);
	igt_assert_eq(kms_req_commit(req, DRM_MODE_ATOMIC_ALLOW_MODESET), 0);
	kms_req_free(req);
}

static void teardown(struct wb_ctx *c)
{
	kms_disable(c->dev, c->o);
	kms_fb_destroy(&c->ov);
	kms_fb_destroy(&c->bg);
}

/*
 * A pixel of the composed frame (XRGB8888, X = 0xff) as writeback stores
 * it in @format: 16-bit channels are the 8-bit ones widened, RGB565
 * keeps the top bits (kms_pack() with alpha opaque).
 */
static uint64_t wb_pixel(uint32_t format, uint32_t xrgb)
{
	struct kms_px c = kms_unpack(DRM_FORMAT_XRGB8888, xrgb);

	c.a = 0xffff;
	return kms_pack(format, c);
}

/* The capture in @fb equals the reference composition of @l. */
static void check_capture(const struct kms_fb *fb, const struct kms_layer *l,
			  int n)
{
	uint32_t *ref = malloc(W * H * 4);

	igt_assert(ref);
	kms_ref_compose(ref, W, H, l, n);
	for (int y = 0; y < H; y++) {
		for (int x = 0; x < W; x++) {
			uint64_t got = kms_fb_get64(fb, x, y);
			uint64_t want = wb_pixel(fb->format, ref[y * W + x]);

			igt_assert_f(got == want,
				     "pixel %d,%d: %llx, want %llx\n", x, y,
				     (unsigned long long)got,
				     (unsigned long long)want);
		}
	}
	free(ref);
}

static int commit_wb(struct wb_ctx *c, uint32_t fb_id, int *out_fence,
		     uint32_t flags, struct kms_req *req)
{
	bool own = !req;
	int ret;

	if (own)
		req = kms_req_new(c->dev);
	kms_req_set(req, c->o->wb_connector_id, "WRITEBACK_FB_ID", fb_id);
	if (out_fence) {
		*out_fence = -1;
		kms_req_set(req, c->o->wb_connector_id,
			    "WRITEBACK_OUT_FENCE_PTR",
			    (uint64_t)(uintptr_t)out_fence);
	}
	ret = kms_req_commit(req, flags);
	if (own)
		kms_req_free(req);
	return ret;
}

static void test_formats(struct kms_dev *dev)
{
	uint32_t id;
	drmModePropertyBlobPtr blob;
	const uint32_t *f;

	igt_require(dev->out[0].wb_connector_id);
	id = kms_prop_value(dev->fd, dev->out[0].wb_connector_id,
			    DRM_MODE_OBJECT_CONNECTOR,
			    "WRITEBACK_PIXEL_FORMATS");
	blob = drmModeGetPropertyBlob(dev->fd, id);
	igt_assert(blob);
	/* upstream's: 8 and 16 bits per channel, and RGB565 */
	igt_assert_eq(blob->length, 20);
	f = blob->data;
	igt_assert_eq(f[0], DRM_FORMAT_XRGB8888);
	igt_assert_eq(f[1], DRM_FORMAT_ARGB8888);
	igt_assert_eq(f[2], DRM_FORMAT_XRGB16161616);
	igt_assert_eq(f[3], DRM_FORMAT_ARGB16161616);
	igt_assert_eq(f[4], DRM_FORMAT_RGB565);
	drmModeFreePropertyBlob(blob);
}

static void test_capture(struct kms_dev *dev, uint32_t format, bool nonblock)
{
	struct wb_ctx c;
	struct kms_fb wb;
	int fence;

	setup(&c, dev);
	kms_fb_create(dev->fd, W, H, format, &wb);
	memset(wb.map, 0x5a, wb.size);
	igt_assert_eq(commit_wb(&c, wb.id, &fence,
				nonblock ? DRM_MODE_ATOMIC_NONBLOCK : 0, NULL),
		      0);
	igt_assert(fence >= 0);
	igt_assert(kms_sync_file_wait(fence, 2000));
	igt_assert_eq(kms_sync_file_status(fence, NULL), 1);
	check_capture(&wb, c.l, 2);
	close(fence);

	/* again, after a change of the overlay, into the same buffer */
	{
		struct kms_req *req = kms_req_new(dev);

		c.l[1].crtc_x = -30;
		c.l[1].crtc_y = 120;
		kms_req_set(req, c.o->overlay[0], "CRTC_X", (uint64_t)-30);
		kms_req_set(req, c.o->overlay[0], "CRTC_Y", 120);
		igt_assert_eq(commit_wb(&c, wb.id, &fence,
					nonblock ? DRM_MODE_ATOMIC_NONBLOCK : 0,
					req), 0);
		kms_req_free(req);
		igt_assert(kms_sync_file_wait(fence, 2000));
		check_capture(&wb, c.l, 2);
		close(fence);
	}
	kms_fb_destroy(&wb);
	teardown(&c);
}

/* A capture in a fence-gated flip is taken of the flipped frame. */
static void test_capture_gated(struct kms_dev *dev)
{
	struct kms_vgem_bo bo;
	struct kms_fb view, wb;
	struct kms_layer l;
	struct kms_req *req;
	struct kms_event ev;
	struct wb_ctx c;
	uint32_t fence;
	int vgem, out;

	setup(&c, dev);
	vgem = kms_vgem_open();
	kms_vgem_bo_create(dev, vgem, W, H, DRM_FORMAT_XRGB8888, &bo);
	view = (struct kms_fb){
		.width = W, .height = H, .format = DRM_FORMAT_XRGB8888,
		.cpp = 4, .pitch = bo.pitch, .map = bo.map,
	};
	kms_fb_pattern(&view, 9, false);
	kms_fb_create(dev->fd, W, H, DRM_FORMAT_ARGB8888, &wb);
	fence = kms_vgem_fence_attach(vgem, bo.handle, true);

	req = kms_req_new(dev);
	kms_req_set(req, c.o->primary, "FB_ID", bo.fb_id);
	kms_req_plane_off(req, c.o->overlay[0]);
	igt_assert_eq(commit_wb(&c, wb.id, &out, DRM_MODE_ATOMIC_NONBLOCK |
				DRM_MODE_PAGE_FLIP_EVENT, req), 0);
	kms_req_free(req);
	kms_wait_vblank(dev->fd, 0, 3, NULL);
	igt_assert_eq(kms_sync_file_status(out, NULL), 0);
	kms_vgem_fence_signal(vgem, fence);
	igt_assert(kms_read_event(dev->fd, 2000, &ev));
	igt_assert(kms_sync_file_wait(out, 2000));
	l = (struct kms_layer){
		.fb = &view, .w = W, .h = H, .alpha = 0xffff,
	};
	check_capture(&wb, &l, 1);
	close(out);
	kms_fb_destroy(&wb);
	teardown(&c);
	kms_vgem_bo_destroy(dev, &bo);
	close(vgem);
}

static void test_invalid(struct kms_dev *dev)
{
	struct kms_fb small, xbgr, wb;
	struct kms_req *req;
	struct wb_ctx c;
	int fence = -1;

	setup(&c, dev);
	kms_fb_create(dev->fd, W / 2, H, DRM_FORMAT_XRGB8888, &small);
	kms_fb_create(dev->fd, W, H, DRM_FORMAT_XBGR8888, &xbgr);
	kms_fb_create(dev->fd, W, H, DRM_FORMAT_XRGB8888, &wb);
	/* not the mode's size; a format it cannot write */
	igt_assert_eq(commit_wb(&c, small.id, NULL, 0, NULL), -EINVAL);
	igt_assert_eq(commit_wb(&c, xbgr.id, NULL, 0, NULL), -EINVAL);
	/* an out-fence without a framebuffer (FB_ID 0 makes a job) */
	req = kms_req_new(dev);
	kms_req_set(req, c.o->wb_connector_id, "WRITEBACK_FB_ID", 0);
	kms_req_set(req, c.o->wb_connector_id, "WRITEBACK_OUT_FENCE_PTR",
		    (uint64_t)(uintptr_t)&fence);
	igt_assert_eq(kms_req_commit(req, 0), -EINVAL);
	kms_req_free(req);
	/* a framebuffer on a connector without CRTC */
	req = kms_req_new(dev);
	kms_req_set(req, c.o->wb_connector_id, "CRTC_ID", 0);
	kms_req_set(req, c.o->wb_connector_id, "WRITEBACK_FB_ID", wb.id);
	igt_assert_eq(kms_req_commit(req, DRM_MODE_ATOMIC_ALLOW_MODESET),
		      -EINVAL);
	kms_req_free(req);
	/* still works */
	igt_assert_eq(commit_wb(&c, wb.id, &fence, 0, NULL), 0);
	igt_assert(kms_sync_file_wait(fence, 2000));
	check_capture(&wb, c.l, 2);
	close(fence);
	kms_fb_destroy(&wb);
	kms_fb_destroy(&xbgr);
	kms_fb_destroy(&small);
	teardown(&c);
}

igt_main
{
	struct kms_dev dev = { .fd = -1 };

	igt_fixture
		kms_open(&dev);

	igt_subtest("formats")
		test_formats(&dev);
	igt_subtest("capture-xrgb8888")
		test_capture(&dev, DRM_FORMAT_XRGB8888, false);
	igt_subtest("capture-argb8888")
		test_capture(&dev, DRM_FORMAT_ARGB8888, false);
	igt_subtest("capture-xrgb16161616")
		test_capture(&dev, DRM_FORMAT_XRGB16161616, false);
	igt_subtest("capture-argb16161616")
		test_capture(&dev, DRM_FORMAT_ARGB16161616, false);
	igt_subtest("capture-rgb565")
		test_capture(&dev, DRM_FORMAT_RGB565, false);
	igt_subtest("capture-nonblock")
		test_capture(&dev, DRM_FORMAT_XRGB8888, true);
	igt_subtest("capture-gated")
		test_capture_gated(&dev);
	igt_subtest("invalid")
		test_invalid(&dev);

	igt_fixture
		kms_close(&dev);
}
