// SPDX-License-Identifier: GPL-2.0
/*
 * kms_color: the CRTC colour pipeline, DEGAMMA_LUT, CTM and GAMMA_LUT,
 * and the legacy gamma ioctl. Every picture is checked by CRC against the
 * reference composer with the pipeline applied (kms_colour.c, the same
 * arithmetic written independently), over a primary plane and an overlay
 * with per-pixel alpha, so that the pipeline sees blended 16-bit values
 * and not only widened 8-bit ones. Bad sizes get -EINVAL. Each subtest
 * leaves the CRTC without colour properties and off, even when it fails
 * (a cleanup); "restored" checks that.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "igt.h"
#include "kms.h"
#include "kms_colour.h"

#define W 256
#define H 192

struct ctx {
	struct kms_dev *dev;
	const struct kms_output *o;
	drmModeModeInfo mode;
	struct kms_fb bg;		/* primary, XRGB8888 pattern */
	struct kms_fb ov;		/* overlay, ARGB8888 with alpha */
	struct kms_layer l[2];
	int nl;
};

/* Set the three properties (NULL: none) in one commit; 0 or -errno. */
static int set_colour(struct ctx *c, const struct drm_color_lut *degamma,
		      int nd, const struct drm_color_ctm *ctm,
		      const struct drm_color_lut *gamma, int ng,
		      uint32_t flags)
{
	struct kms_req *req = kms_req_new(c->dev);
	uint32_t d = 0, m = 0, g = 0;
	int ret;

	if (degamma)
		d = kms_blob_create(c->dev->fd, degamma, nd * sizeof(*degamma));
	if (ctm)
		m = kms_blob_create(c->dev->fd, ctm, sizeof(*ctm));
	if (gamma)
		g = kms_blob_create(c->dev->fd, gamma, ng * sizeof(*gamma));
	kms_req_set(req, c->o->crtc_id, "DEGAMMA_LUT", d);
	kms_req_set(req, c->o->crtc_id, "CTM", m);
	kms_req_set(req, c->o->crtc_id, "GAMMA_LUT", g);
	ret = kms_req_commit(req, flags);
	kms_req_free(req);
	if (d)
		drmModeDestroyPropertyBlob(c->dev->fd, d);
	if (m)
		drmModeDestroyPropertyBlob(c->dev->fd, m);
	if (g)
		drmModeDestroyPropertyBlob(c->dev->fd, g);
	return ret;
}

/* Set one property to a blob of @len bytes of @data; 0 or -errno. */
static int set_blob(struct ctx *c, const char *prop, const void *data,
		    size_t len)
{
	struct kms_req *req = kms_req_new(c->dev);
	uint32_t id = kms_blob_create(c->dev->fd, data, len);
	int ret;

	kms_req_set(req, c->o->crtc_id, prop, id);
	ret = kms_req_commit(req, 0);
	kms_req_free(req);
	drmModeDestroyPropertyBlob(c->dev->fd, id);
	return ret;
}

static bool colour_props_clear(struct kms_dev *dev, uint32_t crtc)
{
	return !kms_prop_value(dev->fd, crtc, DRM_MODE_OBJECT_CRTC,
			       "DEGAMMA_LUT") &&
	       !kms_prop_value(dev->fd, crtc, DRM_MODE_OBJECT_CRTC, "CTM") &&
	       !kms_prop_value(dev->fd, crtc, DRM_MODE_OBJECT_CRTC,
			       "GAMMA_LUT");
}

/* The cleanup of every subtest: no colour, output off, buffers gone. */
static void teardown(void *arg)
{
	struct ctx *c = arg;
	struct kms_req *req;

	igt_assert_eq(set_colour(c, NULL, 0, NULL, NULL, 0, 0), 0);
	igt_assert(colour_props_clear(c->dev, c->o->crtc_id));
	kms_disable(c->dev, c->o);
	/* the overlay's properties as the driver made them */
	req = kms_req_new(c->dev);
	kms_req_set(req, c->o->overlay[0], "alpha", 0xffff);
	kms_req_set(req, c->o->overlay[0], "pixel blend mode",
		    KMS_BLEND_PREMULTI);
	kms_req_set(req, c->o->overlay[0], "zpos", 1);
	igt_assert_eq(kms_req_commit(req, 0), 0);
	kms_req_free(req);
	kms_fb_destroy(&c->ov);
	kms_fb_destroy(&c->bg);
}

/* The output lit with the primary, and the overlay if @overlay. */
static void setup(struct ctx *c, struct kms_dev *dev, bool overlay)
{
	struct kms_req *req;

	memset(c, 0, sizeof(*c));
	c->dev = dev;
	c->o = &dev->out[0];
	c->mode = kms_mode(W, H);
	kms_fb_create(dev->fd, W, H, DRM_FORMAT_XRGB8888, &c->bg);
	kms_fb_pattern(&c->bg, 7, false);
	igt_cleanup_push(teardown, c);
	kms_modeset(dev, c->o, &c->mode, &c->bg);
	req = kms_req_new(dev);
	kms_req_set(req, c->o->primary, "alpha", 0xffff);
	kms_req_set(req, c->o->primary, "zpos", 0);
	igt_assert_eq(kms_req_commit(req, 0), 0);
	kms_req_free(req);
	c->l[0] = (struct kms_layer){ .fb = &c->bg, .w = W, .h = H,
				      .alpha = 0xffff };
	c->nl = 1;
	if (!overlay)
		return;

	req = kms_req_new(dev);
	igt_assert(c->o->noverlays >= 1);
	kms_fb_create(dev->fd, 120, 90, DRM_FORMAT_ARGB8888, &c->ov);
	kms_fb_pattern(&c->ov, 8, true);
	c->l[1] = (struct kms_layer){ .fb = &c->ov, .crtc_x = 50,
				      .crtc_y = 40, .w = 120, .h = 90,
				      .alpha = 0xc000,
				      .blend = KMS_BLEND_COVERAGE,
				      .zpos = 1 };
	kms_req_plane(req, c->o->overlay[0], c->o->crtc_id, c->ov.id, 0, 0,
		      50, 40, 120, 90);
	kms_req_set(req, c->o->overlay[0], "alpha", 0xc000);
	kms_req_set(req, c->o->overlay[0], "pixel blend mode",
		    KMS_BLEND_COVERAGE);
	kms_req_set(req, c->o->overlay[0], "zpos", 1);
	igt_assert_eq(kms_req_commit(req, 0), 0);
	kms_req_free(req);
	c->nl = 2;
}

static void done(struct ctx *c)
{
	igt_cleanup_pop(c, true);
}

/* The CRC of the first vblank that shows what was committed so far. */
static uint32_t crc_on_screen(struct ctx *c)
{
	struct kms_crc crc;
	uint32_t v, seq = kms_vblank_now(c->dev->fd, c->o->index, NULL);

	kms_crc_start(c->dev, c->o->index, &crc);
	v = kms_crc_at(&crc, seq + 1, NULL);
	kms_crc_stop(&crc);
	return v;
}

static void check(struct ctx *c, const struct kms_colour *cl,
		  const char *what)
{
	uint32_t want = kms_ref_crc_colour(c->l, c->nl, W, H, cl);
	uint32_t got = crc_on_screen(c);

	igt_assert_f(got == want, "%s: CRC %08x, want %08x\n", what, got,
		     want);
}

/* ---- LUTs and matrices ---- */

static struct drm_color_lut *lut_new(int n)
{
	struct drm_color_lut *l = calloc(n, sizeof(*l));

	igt_assert(l);
	return l;
}

/* Entry k of the straight line from 0 to 0xffff, rounded. */
static uint16_t ramp(int k, int n)
{
	return ((uint64_t)k * 0xffff * 2 + (n - 1)) / (2 * (uint64_t)(n - 1));
}

static struct drm_color_lut *lut_identity(int n)
{
	struct drm_color_lut *l = lut_new(n);

	for (int k = 0; k < n; k++)
		l[k].red = l[k].green = l[k].blue = ramp(k, n);
	return l;
}

static struct drm_color_lut *lut_invert(int n)
{
	struct drm_color_lut *l = lut_new(n);

	for (int k = 0; k < n; k++)
		l[k].red = l[k].green = l[k].blue = 0xffff - ramp(k, n);
	return l;
}

/* A different curve per channel: square, square root, a step. */
static struct drm_color_lut *lut_curves(int n)
{
	struct drm_color_lut *l = lut_new(n);
	uint64_t m = (uint64_t)(n - 1) * (n - 1);

	for (int k = 0; k < n; k++) {
		uint64_t sq = ((uint64_t)k * k * 0xffff + m / 2) / m, rt;
		uint64_t t = (uint64_t)k * 0xffff * 0xffff, lo = 0, hi = 0x10000;

		/* rt: the largest with rt^2 (n - 1) <= k 0xffff^2 */
		while (hi - lo > 1) {
			uint64_t mid = (lo + hi) / 2;

			if (mid * mid * (n - 1) <= t)
				lo = mid;
			else
				hi = mid;
		}
		rt = lo;
		l[k].red = sq;
		l[k].green = rt;
		l[k].blue = k < n / 2 ? 0x2000 : 0xe000;
	}
	return l;
}

static struct drm_color_ctm ctm_unit(void)
{
	struct drm_color_ctm m = { { 0 } };

	for (int i = 0; i < 3; i++)
		m.matrix[4 * i] = kms_ctm_coef(1, 1);
	return m;
}

/* ---- subtests ---- */

/* The properties and their sizes, and the legacy gamma size. */
static void test_properties(struct kms_dev *dev)
{
	for (int i = 0; i < dev->noutputs; i++) {
		uint32_t crtc = dev->out[i].crtc_id;
		drmModeCrtcPtr cr = drmModeGetCrtc(dev->fd, crtc);

		igt_assert_eq(kms_prop_value(dev->fd, crtc,
					     DRM_MODE_OBJECT_CRTC,
					     "DEGAMMA_LUT_SIZE"),
			      KMS_DEGAMMA_SIZE);
		igt_assert_eq(kms_prop_value(dev->fd, crtc,
					     DRM_MODE_OBJECT_CRTC,
					     "GAMMA_LUT_SIZE"), KMS_GAMMA_SIZE);
		igt_assert(kms_prop(dev->fd, crtc, DRM_MODE_OBJECT_CRTC, "CTM"));
		igt_assert(colour_props_clear(dev, crtc));
		igt_assert(cr);
		igt_assert_eq(cr->gamma_size, KMS_GAMMA_SIZE);
		drmModeFreeCrtc(cr);
	}
}

/*
 * Identity LUTs and the unit CTM: the same CRC as no colour at all. The
 * 256-entry gamma ramp and the unit CTM are the identity exactly (the
 * driver leaves them out); the 1024-entry degamma ramp is not (its
 * entries are rounded) and goes through the 16-bit pipeline, which
 * gives 8-bit pictures back unchanged.
 */
static void test_identity(struct kms_dev *dev)
{
	struct drm_color_lut *d = lut_identity(KMS_DEGAMMA_SIZE);
	struct drm_color_lut *g = lut_identity(KMS_GAMMA_SIZE);
	struct drm_color_ctm m = ctm_unit();
	struct kms_colour cl = { d, KMS_DEGAMMA_SIZE, &m, g, KMS_GAMMA_SIZE };
	uint32_t plain, got;
	struct ctx c;

	setup(&c, dev, false);
	plain = crc_on_screen(&c);
	igt_assert_eq(plain, kms_ref_crc(c.l, c.nl, W, H));
	igt_assert_eq(set_colour(&c, NULL, 0, NULL, g, KMS_GAMMA_SIZE, 0), 0);
	igt_assert_eq(crc_on_screen(&c), plain);
	igt_assert_eq(set_colour(&c, NULL, 0, &m, NULL, 0, 0), 0);
	igt_assert_eq(crc_on_screen(&c), plain);
	igt_assert_eq(set_colour(&c, d, KMS_DEGAMMA_SIZE, &m, g,
				 KMS_GAMMA_SIZE, 0), 0);
	got = crc_on_screen(&c);
	igt_assert_eq(got, plain);
	igt_assert_eq(got, kms_ref_crc_colour(c.l, c.nl, W, H, &cl));
	done(&c);
	free(d);
	free(g);
}

/* An inverting gamma LUT, over the blended frame. */
static void test_gamma(struct kms_dev *dev)
{
	struct drm_color_lut *g = lut_invert(KMS_GAMMA_SIZE);
	struct drm_color_lut *g2 = lut_curves(KMS_GAMMA_SIZE);
	struct kms_colour cl = { .gamma = g, .ngamma = KMS_GAMMA_SIZE };
	struct ctx c;

	setup(&c, dev, true);
	check(&c, NULL, "no LUT");
	igt_assert_eq(set_colour(&c, NULL, 0, NULL, g, KMS_GAMMA_SIZE, 0), 0);
	check(&c, &cl, "inverting gamma");
	igt_assert_eq(set_colour(&c, NULL, 0, NULL, g2, KMS_GAMMA_SIZE, 0), 0);
	cl.gamma = g2;
	check(&c, &cl, "gamma curves");
	done(&c);
	free(g);
	free(g2);
}

/* A degamma LUT (a curve per channel), alone and with an inverting gamma. */
static void test_degamma(struct kms_dev *dev)
{
	struct drm_color_lut *d = lut_curves(KMS_DEGAMMA_SIZE);
	struct drm_color_lut *g = lut_invert(KMS_GAMMA_SIZE);
	struct kms_colour cl = { .degamma = d, .ndegamma = KMS_DEGAMMA_SIZE };
	struct ctx c;

	setup(&c, dev, true);
	igt_assert_eq(set_colour(&c, d, KMS_DEGAMMA_SIZE, NULL, NULL, 0, 0), 0);
	check(&c, &cl, "degamma");
	igt_assert_eq(set_colour(&c, d, KMS_DEGAMMA_SIZE, NULL, g,
				 KMS_GAMMA_SIZE, 0), 0);
	cl.gamma = g;
	cl.ngamma = KMS_GAMMA_SIZE;
	check(&c, &cl, "degamma + gamma");
	done(&c);
	free(d);
	free(g);
}

/*
 * A CTM that swaps red and blue shows an XRGB8888 picture as the same
 * bytes read as XBGR8888 without one; a rotation of the three channels
 * against the reference.
 */
static void test_ctm_swap(struct kms_dev *dev)
{
	struct drm_color_ctm swap = { { 0 } }, rot = { { 0 } };
	struct kms_colour cl = { .ctm = &swap };
	uint32_t handles[4], pitches[4], offsets[4] = { 0 }, bgr = 0;
	uint32_t got, want;
	struct kms_req *req;
	struct ctx c;

	swap.matrix[0 * 3 + 2] = kms_ctm_coef(1, 1);	/* R' = B */
	swap.matrix[1 * 3 + 1] = kms_ctm_coef(1, 1);	/* G' = G */
	swap.matrix[2 * 3 + 0] = kms_ctm_coef(1, 1);	/* B' = R */
	rot.matrix[0 * 3 + 1] = kms_ctm_coef(1, 1);	/* R' = G */
	rot.matrix[1 * 3 + 2] = kms_ctm_coef(1, 1);	/* G' = B */
	rot.matrix[2 * 3 + 0] = kms_ctm_coef(1, 1);	/* B' = R */

	setup(&c, dev, false);
	/* the primary's buffer as XBGR8888, no CTM */
	handles[0] = c.bg.handle;
	pitches[0] = c.bg.pitch;
	igt_assert_eq(drmModeAddFB2(dev->fd, W, H, DRM_FORMAT_XBGR8888,
				    handles, pitches, offsets, &bgr, 0), 0);
	req = kms_req_new(dev);
	kms_req_set(req, c.o->primary, "FB_ID", bgr);
	igt_assert_eq(kms_req_commit(req, 0), 0);
	kms_req_free(req);
	want = crc_on_screen(&c);
	req = kms_req_new(dev);
	kms_req_set(req, c.o->primary, "FB_ID", c.bg.id);
	igt_assert_eq(kms_req_commit(req, 0), 0);
	kms_req_free(req);
	drmModeRmFB(dev->fd, bgr);

	igt_assert_eq(set_colour(&c, NULL, 0, &swap, NULL, 0, 0), 0);
	got = crc_on_screen(&c);
	igt_assert_f(got == want, "R<->B CTM %08x, XBGR8888 %08x\n", got,
		     want);
	igt_assert_eq(got, kms_ref_crc_colour(c.l, c.nl, W, H, &cl));
	done(&c);

	setup(&c, dev, true);
	igt_assert_eq(set_colour(&c, NULL, 0, &rot, NULL, 0, 0), 0);
	cl.ctm = &rot;
	check(&c, &cl, "R<-G<-B<-R CTM");
	done(&c);
}

/*
 * Coefficients below 0 and above 1, and beyond the 4096.0 saturation:
 * results clamp to 0 and 0xffff, and the whole pipeline together.
 */
static void test_ctm_clamp(struct kms_dev *dev)
{
	struct drm_color_ctm m = { {
		kms_ctm_coef(3, 2), kms_ctm_coef(-1, 2), kms_ctm_coef(1, 4),
		kms_ctm_coef(-1, 1), kms_ctm_coef(2, 1), kms_ctm_coef(0, 1),
		kms_ctm_coef(3, 10), kms_ctm_coef(3, 10), kms_ctm_coef(3, 10),
	} };
	struct drm_color_ctm big = { {
		kms_ctm_coef(5000, 1), kms_ctm_coef(-4999, 1), 0,
		kms_ctm_coef(-1, 1000), kms_ctm_coef(1, 1), 1ull << 63,
		0x7fffffffffffffffull, 0xffffffffffffffffull, 0,
	} };
	struct drm_color_lut *d = lut_curves(KMS_DEGAMMA_SIZE);
	struct drm_color_lut *g = lut_invert(KMS_GAMMA_SIZE);
	struct kms_colour cl = { .ctm = &m };
	struct ctx c;

	setup(&c, dev, true);
	igt_assert_eq(set_colour(&c, NULL, 0, &m, NULL, 0, 0), 0);
	check(&c, &cl, "negative and over-unity CTM");
	igt_assert_eq(set_colour(&c, NULL, 0, &big, NULL, 0, 0), 0);
	cl.ctm = &big;
	check(&c, &cl, "saturated CTM");
	igt_assert_eq(set_colour(&c, d, KMS_DEGAMMA_SIZE, &m, g,
				 KMS_GAMMA_SIZE, 0), 0);
	cl = (struct kms_colour){ d, KMS_DEGAMMA_SIZE, &m, g, KMS_GAMMA_SIZE };
	check(&c, &cl, "degamma + CTM + gamma");
	done(&c);
	free(d);
	free(g);
}

/*
 * The legacy gamma ioctl: it sets GAMMA_LUT (and clears DEGAMMA_LUT and
 * CTM), reads back, and refuses a size other than the CRTC's.
 */
static void test_legacy_gamma(struct kms_dev *dev)
{
	uint16_t r[KMS_GAMMA_SIZE], gr[KMS_GAMMA_SIZE], b[KMS_GAMMA_SIZE];
	uint16_t r2[KMS_GAMMA_SIZE], g2[KMS_GAMMA_SIZE], b2[KMS_GAMMA_SIZE];
	struct drm_color_lut *lut = lut_curves(KMS_GAMMA_SIZE);
	struct drm_color_lut *d = lut_curves(KMS_DEGAMMA_SIZE);
	struct drm_color_ctm m = ctm_unit();
	struct kms_colour cl = { .gamma = lut, .ngamma = KMS_GAMMA_SIZE };
	struct ctx c;

	for (int k = 0; k < KMS_GAMMA_SIZE; k++) {
		r[k] = lut[k].red;
		gr[k] = lut[k].green;
		b[k] = lut[k].blue;
	}
	setup(&c, dev, true);
	m.matrix[1] = kms_ctm_coef(1, 3);
	igt_assert_eq(set_colour(&c, d, KMS_DEGAMMA_SIZE, &m, NULL, 0, 0), 0);
	igt_assert_eq(drmModeCrtcSetGamma(dev->fd, c.o->crtc_id,
					  KMS_GAMMA_SIZE, r, gr, b), 0);
	igt_assert(kms_prop_value(dev->fd, c.o->crtc_id, DRM_MODE_OBJECT_CRTC,
				  "GAMMA_LUT"));
	igt_assert(!kms_prop_value(dev->fd, c.o->crtc_id, DRM_MODE_OBJECT_CRTC,
				   "DEGAMMA_LUT"));
	igt_assert(!kms_prop_value(dev->fd, c.o->crtc_id, DRM_MODE_OBJECT_CRTC,
				   "CTM"));
	check(&c, &cl, "legacy gamma");
	igt_assert_eq(drmModeCrtcGetGamma(dev->fd, c.o->crtc_id,
					  KMS_GAMMA_SIZE, r2, g2, b2), 0);
	igt_assert(!memcmp(r, r2, sizeof(r)) && !memcmp(gr, g2, sizeof(gr)) &&
		   !memcmp(b, b2, sizeof(b)));

	/* wrong sizes: refused, nothing changed */
	igt_assert_eq(drmModeCrtcSetGamma(dev->fd, c.o->crtc_id,
					  KMS_GAMMA_SIZE - 1, r, gr, b),
		      -EINVAL);
	igt_assert_eq(drmModeCrtcSetGamma(dev->fd, c.o->crtc_id, 1, r, gr, b),
		      -EINVAL);
	check(&c, &cl, "legacy gamma after refused sizes");
	done(&c);
	free(lut);
	free(d);
}

/* LUTs of any size but the CRTC's, and blobs of broken length: -EINVAL. */
static void test_invalid_lut_sizes(struct kms_dev *dev)
{
	static const int gamma_bad[] = { 1, 2, 255, 257, 512, 1024 };
	static const int degamma_bad[] = { 1, 256, 1023, 1025, 4096 };
	struct drm_color_lut *l = lut_identity(4096);
	struct ctx c;

	setup(&c, dev, false);
	for (unsigned int i = 0; i < sizeof(gamma_bad) / sizeof(int); i++) {
		int n = gamma_bad[i];

		igt_assert_eq(set_colour(&c, NULL, 0, NULL, l, n, 0), -EINVAL);
		igt_assert_eq(set_colour(&c, NULL, 0, NULL, l, n,
					 DRM_MODE_ATOMIC_TEST_ONLY), -EINVAL);
	}
	for (unsigned int i = 0; i < sizeof(degamma_bad) / sizeof(int); i++) {
		int n = degamma_bad[i];

		igt_assert_eq(set_colour(&c, l, n, NULL, NULL, 0, 0), -EINVAL);
		igt_assert_eq(set_colour(&c, l, n, NULL, NULL, 0,
					 DRM_MODE_ATOMIC_TEST_ONLY), -EINVAL);
	}
	/* not a whole number of entries */
	igt_assert_eq(set_blob(&c, "GAMMA_LUT", l, KMS_GAMMA_SIZE * 8 + 4),
		      -EINVAL);
	igt_assert_eq(set_blob(&c, "DEGAMMA_LUT", l,
			       KMS_DEGAMMA_SIZE * 8 - 2), -EINVAL);
	/* the right sizes pass */
	igt_assert_eq(set_colour(&c, l, KMS_DEGAMMA_SIZE, NULL, l,
				 KMS_GAMMA_SIZE, DRM_MODE_ATOMIC_TEST_ONLY), 0);
	/* nothing changed */
	igt_assert(colour_props_clear(dev, c.o->crtc_id));
	check(&c, NULL, "after refused LUTs");
	done(&c);
	free(l);
}

/* CTM blobs of the wrong length, and a blob id that is none: -EINVAL. */
static void test_invalid_ctm(struct kms_dev *dev)
{
	static const size_t bad[] = { 1, 8, 64, 71, 73, 80, 144 };
	uint8_t buf[160];
	struct kms_req *req;
	struct ctx c;

	memset(buf, 0, sizeof(buf));
	setup(&c, dev, false);
	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		igt_assert_eq(set_blob(&c, "CTM", buf, bad[i]), -EINVAL);
	igt_assert_eq(set_blob(&c, "CTM", buf, sizeof(struct drm_color_ctm)),
		      0);
	igt_assert_eq(set_colour(&c, NULL, 0, NULL, NULL, 0, 0), 0);

	/* a property set to an id that is no blob */
	req = kms_req_new(dev);
	kms_req_set(req, c.o->crtc_id, "CTM", c.bg.id);
	igt_assert_eq(kms_req_commit(req, 0), -EINVAL);
	kms_req_free(req);
	req = kms_req_new(dev);
	kms_req_set(req, c.o->crtc_id, "GAMMA_LUT", 0x7fffffff);
	igt_assert_eq(kms_req_commit(req, 0), -EINVAL);
	kms_req_free(req);

	igt_assert(colour_props_clear(dev, c.o->crtc_id));
	check(&c, NULL, "after refused CTMs");
	done(&c);
}

/*
 * What the subtests leave: every CRTC without colour properties, and a
 * picture composed as without them (the fast paths).
 */
static void test_restored(struct kms_dev *dev)
{
	struct ctx c;

	for (int i = 0; i < dev->noutputs; i++)
		igt_assert(colour_props_clear(dev, dev->out[i].crtc_id));
	setup(&c, dev, true);
	check(&c, NULL, "no colour");
	done(&c);
}

igt_main
{
	struct kms_dev dev = { .fd = -1 };

	igt_fixture
		kms_open(&dev);

	igt_subtest("properties")
		test_properties(&dev);
	igt_subtest("identity")
		test_identity(&dev);
	igt_subtest("gamma")
		test_gamma(&dev);
	igt_subtest("degamma")
		test_degamma(&dev);
	igt_subtest("ctm-swap")
		test_ctm_swap(&dev);
	igt_subtest("ctm-clamp")
		test_ctm_clamp(&dev);
	igt_subtest("legacy-gamma")
		test_legacy_gamma(&dev);
	igt_subtest("invalid-lut-sizes")
		test_invalid_lut_sizes(&dev);
	igt_subtest("invalid-ctm")
		test_invalid_ctm(&dev);
	igt_subtest("restored")
		test_restored(&dev);

	igt_fixture
		kms_close(&dev);
}
