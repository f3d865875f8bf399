// SPDX-License-Identifier: GPL-2.0
/* A plane test's set-up: see kms_pctx.h. */
#include <string.h>

#include "igt.h"
#include "kms_pctx.h"

static void kms_pctx_cleanup(void *arg)
{
	struct kms_pctx *c = arg;

	kms_planes_reset(c->dev, c->o);
	kms_disable(c->dev, c->o);
	kms_fb_destroy(&c->bg);
}

void kms_pctx_setup(struct kms_pctx *c, struct kms_dev *dev, int w, int h)
{
	memset(c, 0, sizeof(*c));
	c->dev = dev;
	c->o = &dev->out[0];
	c->w = w;
	c->h = h;
	c->mode = kms_mode(w, h);
	c->planes[0] = c->o->overlay[0];
	c->planes[1] = c->o->overlay[1];
	c->planes[2] = c->o->cursor;
	kms_fb_create(dev->fd, w, h, DRM_FORMAT_XRGB8888, &c->bg);
	kms_fb_pattern(&c->bg, 11, false);
	kms_modeset(dev, c->o, &c->mode, &c->bg);
	igt_cleanup_push(kms_pctx_cleanup, c);
	kms_planes_reset(dev, c->o);
}

void kms_pctx_teardown(struct kms_pctx *c)
{
	igt_cleanup_pop(c, true);
}

void kms_pctx_check(struct kms_pctx *c, const struct kms_layer *l, int n,
		    const char *what)
{
	uint32_t want = kms_ref_crc(l, n, c->w, c->h);
	uint32_t got = kms_crc_next(c->dev, c->o->index);

	igt_assert_f(got == want, "%s: CRC %08x, want %08x\n", what, got,
		     want);
}

int __kms_pctx_commit_layer(struct kms_pctx *c, uint32_t plane,
			    const struct kms_layer *l, uint32_t flags)
{
	struct kms_req *req = kms_req_new(c->dev);
	bool turned = l->rotation & (KMS_ROTATE_90 | KMS_ROTATE_270);
	int ret;

	kms_req_plane(req, plane, c->o->crtc_id, l->fb->id, l->src_x,
		      l->src_y, l->crtc_x, l->crtc_y, l->w, l->h);
	if (turned) {
		kms_req_set(req, plane, "SRC_W", (uint64_t)l->h << 16);
		kms_req_set(req, plane, "SRC_H", (uint64_t)l->w << 16);
	}
	kms_req_set(req, plane, "alpha", l->alpha);
	kms_req_set(req, plane, "pixel blend mode", l->blend);
	kms_req_set(req, plane, "zpos", l->zpos);
	kms_req_set(req, plane, "rotation",
		    l->rotation ? l->rotation : KMS_ROTATE_0);
	kms_req_set(req, plane, "COLOR_ENCODING", l->encoding);
	kms_req_set(req, plane, "COLOR_RANGE", !l->limited);
	ret = kms_req_commit(req, flags);
	kms_req_free(req);
	return ret;
}

void kms_pctx_commit_layer(struct kms_pctx *c, uint32_t plane,
			   const struct kms_layer *l)
{
	igt_assert_eq(__kms_pctx_commit_layer(c, plane, l, 0), 0);
}

void kms_pctx_plane_off(struct kms_pctx *c, uint32_t plane)
{
	struct kms_req *req = kms_req_new(c->dev);

	kms_req_plane_off(req, plane);
	igt_assert_eq(kms_req_commit(req, 0), 0);
	kms_req_free(req);
}
