// SPDX-License-Identifier: GPL-2.0
/*
 * kmsprobe: what vkms shows while another program (modetest, weston, Xorg)
 * drives it, checked against what that program drew.
 *
 * It never commits anything: it reads the state of the first lit CRTC of
 * vkms (its mode, and for each plane on it the framebuffer, position,
 * alpha, zpos and blend mode), maps each framebuffer (as root it may: the
 * GETFB2 handles are given to CAP_SYS_ADMIN), composes the frame with the
 * reference composer of tests/igt/lib and compares its CRC with the one
 * vkms reports for the following vblanks (debugfs crtc-N/crc, "auto").
 *
 * The CRC of a frame is computed the way the driver loaded computes it:
 * ours (it has the "gate" parameter) takes crc32 seeded with ~0 over the
 * XRGB8888 frame; upstream vkms (6.1 and 6.12) takes crc32 seeded with 0
 * over its 16-bit ARGB line buffers (a, r, g, b; 8-bit channels widened by
 * 257, alpha 0xffff), which the 16-bit output of the reference composer
 * gives directly.
 *
 * Subtests (one per run, --run-subtest NAME), set by the environment:
 *
 *   frame   Wait (KMSPROBE_TIMEOUT s, default 30) until the frame vkms
 *           shows has the CRC of its planes' composition and, with
 *           KMSPROBE_EXPECT, that composition is as expected:
 *             solid:RRGGBB           the whole frame one colour
 *             not:RRGGBB             not the whole frame that colour
 *             rect:X,Y,W,H:RRGGBB    that rectangle one colour
 *             size:WxH               the mode is W x H
 *             planes:N               at least N planes lit
 *           (several, separated by ';'). KMSPROBE_SAVE=FILE.ppm keeps the
 *           reference frame, KMSPROBE_SAVE_FAIL=FILE.ppm the last one
 *           composed when the frame never was as expected.
 *   flips   While a client flips: KMSPROBE_FRAMES (default 120) CRC
 *           entries (or those of KMSPROBE_SECONDS, default 20), each of which must be the CRC of a plane state seen
 *           during the run; counts the changes of picture and the
 *           longest hold between two in vblanks (with KMSPROBE_MAX_HOLD=N
 *           it fails above N). When the flips complete is for the flip
 *           events to say (the caller traces them).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "igt.h"
#include "kms.h"
#include "kms_colour.h"

#define MAX_STATES 16

struct shown_plane {
	uint32_t plane_id;
	uint32_t fb_id;
	int crtc_x, crtc_y, w, h;
	int src_x, src_y;
	uint16_t alpha;
	int blend;
	int zpos;
};

struct shown {
	int w, h;
	double hz;
	int n;
	struct shown_plane p[KMS_MAX_PLANES];
};

struct mapped {
	struct kms_fb fb;
	void *base;
	size_t len;
};

static struct kms_dev dev;
static const struct kms_output *out;
static bool upstream;

static int env_int(const char *name, int def)
{
	const char *v = getenv(name);

	return v && *v ? atoi(v) : def;
}

/*
 * A property of @props (one snapshot of a plane's: read one by one, they
 * could be of two states), or @def when the plane does not have it.
 */
static int64_t plane_prop(drmModeObjectPropertiesPtr props, const char *name,
			  int64_t def)
{
	int64_t v = def;

	for (uint32_t i = 0; i < props->count_props; i++) {
		drmModePropertyPtr p = drmModeGetProperty(dev.fd,
							  props->props[i]);

		if (p && !strcmp(p->name, name))
			v = (int64_t)props->prop_values[i];
		drmModeFreeProperty(p);
	}
	return v;
}

/* The lit CRTC's state; false if none is lit. */
static bool read_shown(struct shown *s)
{
	uint32_t planes[KMS_MAX_PLANES] = {
		out->primary, out->overlay[0], out->overlay[1], out->cursor,
	};
	drmModeCrtcPtr crtc = drmModeGetCrtc(dev.fd, out->crtc_id);

	igt_assert(crtc);
	memset(s, 0, sizeof(*s));
	if (!crtc->mode_valid) {
		drmModeFreeCrtc(crtc);
		return false;
	}
	s->w = crtc->mode.hdisplay;
	s->h = crtc->mode.vdisplay;
	s->hz = 1e9 / (double)kms_mode_frame_ns(&crtc->mode);
	drmModeFreeCrtc(crtc);

	for (int i = 0; i < KMS_MAX_PLANES; i++) {
		struct shown_plane *sp = &s->p[s->n];
		drmModeObjectPropertiesPtr props;
		drmModePlanePtr p;
		int64_t sw, sh;

		if (!planes[i])
			continue;
		p = drmModeGetPlane(dev.fd, planes[i]);
		igt_assert(p);
		if (p->crtc_id != out->crtc_id || !p->fb_id) {
			drmModeFreePlane(p);
			continue;
		}
		sp->plane_id = p->plane_id;
		drmModeFreePlane(p);
		props = drmModeObjectGetProperties(dev.fd, sp->plane_id,
						   DRM_MODE_OBJECT_PLANE);
		igt_assert(props);
		sp->fb_id = (uint32_t)plane_prop(props, "FB_ID", 0);
		if (!sp->fb_id ||
		    plane_prop(props, "CRTC_ID", 0) != out->crtc_id) {
			drmModeFreeObjectProperties(props);
			continue;
		}
		sp->crtc_x = (int)plane_prop(props, "CRTC_X", 0);
		sp->crtc_y = (int)plane_prop(props, "CRTC_Y", 0);
		sp->w = (int)plane_prop(props, "CRTC_W", 0);
		sp->h = (int)plane_prop(props, "CRTC_H", 0);
		sp->src_x = (int)(plane_prop(props, "SRC_X", 0) >> 16);
		sp->src_y = (int)(plane_prop(props, "SRC_Y", 0) >> 16);
		sw = plane_prop(props, "SRC_W", 0);
		sh = plane_prop(props, "SRC_H", 0);
		igt_require_f(sw == (int64_t)sp->w << 16 &&
			      sh == (int64_t)sp->h << 16,
			      "plane %u is scaled (%.2fx%.2f to %dx%d): the "
			      "reference composer does not scale\n",
			      sp->plane_id, sw / 65536.0, sh / 65536.0, sp->w,
			      sp->h);
		sp->alpha = (uint16_t)plane_prop(props, "alpha", 0xffff);
		sp->blend = (int)plane_prop(props, "pixel blend mode",
					    KMS_BLEND_PREMULTI);
		/* Without zpos, vkms blends in plane order, cursor last. */
		sp->zpos = (int)plane_prop(props, "zpos", i);
		drmModeFreeObjectProperties(props);
		s->n++;
	}
	return true;
}

/*
 * The CRTC's colour properties (Xorg sets a gamma LUT). Our vkms applies
 * them with the arithmetic of the reference (tests/igt/lib/kms_colour.c),
 * which compose() then applies too; upstream's colour arithmetic is not
 * modelled, so on upstream a CRTC with a gamma LUT cannot be predicted.
 */
static const char *const colour_props[3] = {
	"DEGAMMA_LUT", "CTM", "GAMMA_LUT"
};

static void require_no_gamma(void)
{
	drmModeObjectPropertiesPtr props;
	int64_t lut;

	if (!upstream)
		return;
	props = drmModeObjectGetProperties(dev.fd, out->crtc_id,
					   DRM_MODE_OBJECT_CRTC);
	igt_assert(props);
	lut = plane_prop(props, "GAMMA_LUT", 0);
	drmModeFreeObjectProperties(props);
	igt_require_f(!lut, "the CRTC has a gamma LUT (blob %lld), which "
		      "upstream vkms applies with arithmetic the reference "
		      "composer does not model\n", (long long)lut);
}

/* Runs our vkms's colour pipeline, as the CRTC has it, over @acc. */
static void apply_colour(struct kms_px *acc, size_t n)
{
	drmModePropertyBlobPtr b[3] = { NULL, NULL, NULL };
	drmModeObjectPropertiesPtr props;
	struct kms_colour c = { 0 };
	bool any = false;

	props = drmModeObjectGetProperties(dev.fd, out->crtc_id,
					   DRM_MODE_OBJECT_CRTC);
	igt_assert(props);
	for (int i = 0; i < 3; i++) {
		int64_t id = plane_prop(props, colour_props[i], 0);

		if (id <= 0)
			continue;
		b[i] = drmModeGetPropertyBlob(dev.fd, (uint32_t)id);
		igt_assert_f(b[i], "no blob %lld for %s\n", (long long)id,
			     colour_props[i]);
		any = true;
	}
	drmModeFreeObjectProperties(props);
	if (b[0]) {
		c.degamma = b[0]->data;
		c.ndegamma = b[0]->length / sizeof(struct drm_color_lut);
	}
	if (b[1])
		c.ctm = b[1]->data;
	if (b[2]) {
		c.gamma = b[2]->data;
		c.ngamma = b[2]->length / sizeof(struct drm_color_lut);
	}
	if (any)
		kms_ref_colour(acc, n, &c);
	for (int i = 0; i < 3; i++)
		if (b[i])
			drmModeFreePropertyBlob(b[i]);
}

static bool same_shown(const struct shown *a, const struct shown *b)
{
	return a->w == b->w && a->h == b->h && a->n == b->n &&
	       !memcmp(a->p, b->p, sizeof(a->p[0]) * a->n);
}

/* Map framebuffer @fb_id; false if it is gone (the client replaced it). */
static bool map_fb(uint32_t fb_id, struct mapped *m)
{
	struct drm_mode_map_dumb map = { 0 };
	drmModeFB2Ptr fb = drmModeGetFB2(dev.fd, fb_id);

	if (!fb && errno == ENOENT)
		return false;
	igt_assert_f(fb, "GETFB2 of fb %u\n", fb_id);
	igt_require_f(fb->handles[0], "no handle for fb %u (not root?)\n",
		      fb_id);
	igt_require_f(!(fb->flags & DRM_MODE_FB_MODIFIERS) ||
		      fb->modifier == DRM_FORMAT_MOD_LINEAR,
		      "fb %u has modifier 0x%llx\n", fb_id,
		      (unsigned long long)fb->modifier);
	igt_require_f(strcmp(kms_format_name(fb->pixel_format), "?") != 0,
		      "fb %u: format %.4s is not one the reference knows\n",
		      fb_id, (const char *)&fb->pixel_format);
	memset(m, 0, sizeof(*m));
	m->fb.fd = dev.fd;
	m->fb.id = fb_id;
	m->fb.handle = fb->handles[0];
	m->fb.width = fb->width;
	m->fb.height = fb->height;
	m->fb.format = fb->pixel_format;
	m->fb.pitch = fb->pitches[0];
	m->fb.cpp = kms_format_cpp(fb->pixel_format);
	m->len = (size_t)fb->offsets[0] + (size_t)fb->pitches[0] * fb->height;
	map.handle = fb->handles[0];
	do_ioctl(dev.fd, DRM_IOCTL_MODE_MAP_DUMB, &map);
	m->base = mmap(NULL, m->len, PROT_READ, MAP_SHARED, dev.fd,
		       map.offset);
	igt_assert_f(m->base != MAP_FAILED, "mmap of fb %u\n", fb_id);
	m->fb.map = (uint8_t *)m->base + fb->offsets[0];
	drmModeFreeFB2(fb);
	return true;
}

static void unmap_fb(struct mapped *m)
{
	munmap(m->base, m->len);
	/* Two planes on one buffer share the handle: the second close fails. */
	drmCloseBufferHandle(dev.fd, m->fb.handle);
}

static uint32_t crc_of(const struct kms_px *acc, int w, int h)
{
	size_t n = (size_t)w * h;
	uint32_t crc;

	if (upstream) {
		uint16_t px[4];

		crc = 0;
		for (size_t i = 0; i < n; i++) {
			px[0] = 0xffff;
			px[1] = acc[i].r;
			px[2] = acc[i].g;
			px[3] = acc[i].b;
			crc = kms_crc32(crc, px, sizeof(px));
		}
		return crc;
	}
	crc = ~0u;
	for (size_t i = 0; i < n; i++) {
		uint32_t x = 0xff000000u | (uint32_t)(acc[i].r >> 8) << 16 |
			     (uint32_t)(acc[i].g >> 8) << 8 | (acc[i].b >> 8);

		crc = kms_crc32(crc, &x, 4);
	}
	return crc;
}

/*
 * Compose what @s shows into a new buffer (freed by the caller); NULL if a
 * framebuffer of @s is gone already.
 */
static struct kms_px *compose(const struct shown *s)
{
	struct mapped m[KMS_MAX_PLANES];
	struct kms_layer l[KMS_MAX_PLANES];
	struct kms_px *acc = malloc((size_t)s->w * s->h * sizeof(*acc));

	igt_assert(acc);
	for (int i = 0; i < s->n; i++) {
		const struct shown_plane *sp = &s->p[i];

		if (!map_fb(sp->fb_id, &m[i])) {
			while (i--)
				unmap_fb(&m[i]);
			free(acc);
			return NULL;
		}
		l[i] = (struct kms_layer){
			.fb = &m[i].fb,
			.src_x = sp->src_x, .src_y = sp->src_y,
			.crtc_x = sp->crtc_x, .crtc_y = sp->crtc_y,
			.w = sp->w, .h = sp->h,
			.alpha = sp->alpha, .blend = sp->blend,
			.zpos = sp->zpos,
		};
	}
	kms_ref_compose16(acc, s->w, s->h, l, s->n);
	for (int i = 0; i < s->n; i++)
		unmap_fb(&m[i]);
	if (!upstream)
		apply_colour(acc, (size_t)s->w * s->h);
	return acc;
}

static void describe(const struct shown *s)
{
	igt_info("kmsprobe: %s vkms, mode %dx%d at %.2f Hz, %d plane(s)\n",
		 upstream ? "upstream" : "our", s->w, s->h, s->hz, s->n);
	for (int i = 0; i < s->n; i++) {
		const struct shown_plane *sp = &s->p[i];

		igt_info("  plane %u: fb %u, %dx%d at %d,%d from %d,%d, "
			 "alpha 0x%04x, blend %d, zpos %d\n", sp->plane_id,
			 sp->fb_id, sp->w, sp->h, sp->crtc_x, sp->crtc_y,
			 sp->src_x, sp->src_y, sp->alpha, sp->blend, sp->zpos);
	}
}

/* The next CRC entry, or false after @ms without one. */
static bool crc_next(struct kms_crc *crc, int ms, uint32_t *frame,
		     uint32_t *value)
{
	struct pollfd p = { .fd = crc->data_fd, .events = POLLIN };

	if (poll(&p, 1, ms) != 1)
		return false;
	kms_crc_get(crc, frame, value);
	return true;
}

static uint32_t rgb_of(const struct kms_px *p)
{
	return (uint32_t)(p->r >> 8) << 16 | (uint32_t)(p->g >> 8) << 8 |
	       (p->b >> 8);
}

/* Whether the rectangle is all @rgb; the first other pixel in @why. */
static bool rect_is(const struct kms_px *acc, int w, int h, int rx, int ry,
		    int rw, int rh, uint32_t rgb, char *why, size_t len)
{
	if (rx < 0 || ry < 0 || rx + rw > w || ry + rh > h) {
		snprintf(why, len, "rect %d,%d %dx%d is off the %dx%d frame",
			 rx, ry, rw, rh, w, h);
		return false;
	}
	for (int y = ry; y < ry + rh; y++)
		for (int x = rx; x < rx + rw; x++) {
			uint32_t v = rgb_of(&acc[(size_t)y * w + x]);

			if (v != rgb) {
				snprintf(why, len, "pixel %d,%d is %06x, "
					 "not %06x", x, y, v, rgb);
				return false;
			}
		}
	return true;
}

/* Whether the composed frame is as KMSPROBE_EXPECT says. */
static bool as_expected(const struct kms_px *acc, const struct shown *s,
			char *why, size_t len)
{
	const char *e = getenv("KMSPROBE_EXPECT");
	char buf[256], *save = NULL;

	if (!e || !*e)
		return true;
	snprintf(buf, sizeof(buf), "%s", e);
	for (char *t = strtok_r(buf, ";", &save); t;
	     t = strtok_r(NULL, ";", &save)) {
		int x, y, w, h;
		unsigned int rgb;

		if (sscanf(t, "solid:%x", &rgb) == 1) {
			if (!rect_is(acc, s->w, s->h, 0, 0, s->w, s->h, rgb,
				     why, len))
				return false;
		} else if (sscanf(t, "rect:%d,%d,%d,%d:%x", &x, &y, &w, &h,
				  &rgb) == 5) {
			if (!rect_is(acc, s->w, s->h, x, y, w, h, rgb, why,
				     len))
				return false;
		} else if (sscanf(t, "not:%x", &rgb) == 1) {
			if (rect_is(acc, s->w, s->h, 0, 0, s->w, s->h, rgb,
				    why, len)) {
				snprintf(why, len, "the frame is all %06x",
					 rgb);
				return false;
			}
		} else if (sscanf(t, "planes:%d", &x) == 1) {
			if (s->n < x) {
				snprintf(why, len, "%d plane(s) lit, not %d",
					 s->n, x);
				return false;
			}
		} else if (sscanf(t, "size:%dx%d", &w, &h) == 2) {
			if (s->w != w || s->h != h) {
				snprintf(why, len, "mode %dx%d, not %dx%d",
					 s->w, s->h, w, h);
				return false;
			}
		} else {
			igt_assert_f(false, "bad KMSPROBE_EXPECT item '%s'\n",
				     t);
		}
	}
	return true;
}

static void save_ppm(const char *path, const struct kms_px *acc, int w,
		     int h)
{
	FILE *f = fopen(path, "wb");

	igt_assert_f(f, "cannot write %s\n", path);
	fprintf(f, "P6\n%d %d\n255\n", w, h);
	for (size_t i = 0; i < (size_t)w * h; i++) {
		uint8_t px[3] = { acc[i].r >> 8, acc[i].g >> 8, acc[i].b >> 8 };

		fwrite(px, 1, 3, f);
	}
	igt_assert_eq(fclose(f), 0);
}

static void crc_cleanup(void *arg)
{
	struct kms_crc *crc = arg;

	if (crc->data_fd >= 0)
		kms_crc_stop(crc);
}

static void probe_frame(void)
{
	double deadline = igt_now() + env_int("KMSPROBE_TIMEOUT", 30);
	struct kms_crc crc = { -1, -1 };
	char why[256] = "no CRTC of vkms is lit";
	struct kms_px *last = NULL;
	struct shown s, again;
	int tries = 0;

	igt_cleanup_push(crc_cleanup, &crc);
	for (;;) {
		struct kms_px *acc;
		uint32_t ref, seq, frame, value = 0;
		bool seen = false;

		if (igt_now() >= deadline && last &&
		    getenv("KMSPROBE_SAVE_FAIL"))
			save_ppm(getenv("KMSPROBE_SAVE_FAIL"), last, s.w, s.h);
		igt_assert_f(igt_now() < deadline,
			     "after %d tries in %d s: %s\n", tries,
			     env_int("KMSPROBE_TIMEOUT", 30), why);
		/*
		 * A try costs a composition: paced, so as not to take the
		 * CPU from the client (llvmpipe under TCG) while it draws.
		 */
		if (tries++)
			usleep(300 * 1000);
		if (!read_shown(&s))
			continue;	/* the client has not lit it yet */
		require_no_gamma();
		acc = compose(&s);
		if (!acc) {
			snprintf(why, sizeof(why), "a framebuffer went away "
				 "while the planes were read");
			continue;
		}
		ref = crc_of(acc, s.w, s.h);
		read_shown(&again);
		if (!same_shown(&s, &again)) {
			snprintf(why, sizeof(why), "the planes changed while "
				 "they were read");
			free(acc);
			continue;
		}
		/*
		 * CRCs only while looking: a vkms computes one by composing
		 * the frame, which under TCG takes CPU the client needs
		 * (upstream's composer more than ours).
		 */
		kms_crc_start(&dev, out->index, &crc);
		seq = kms_vblank_now(dev.fd, out->index, NULL);
		/* The frames after the read: one of them shows what we read. */
		for (int k = 0; k < 3; k++) {
			if (!crc_next(&crc, 2000, &frame, &value))
				break;
			if ((int32_t)(frame - seq) < 1) {
				k--;
				continue;
			}
			if (value == ref) {
				seen = true;
				break;
			}
		}
		kms_crc_stop(&crc);
		if (!seen) {
			snprintf(why, sizeof(why), "the CRC of the planes is "
				 "%08x, vkms showed %08x", ref, value);
			free(acc);
			continue;
		}
		if (!as_expected(acc, &s, why, sizeof(why))) {
			free(last);
			last = acc;
			continue;
		}
		free(last);
		describe(&s);
		igt_info("kmsprobe: frame %u: CRC %08x is the planes' "
			 "(try %d)\n", frame, value, tries);
		if (getenv("KMSPROBE_SAVE"))
			save_ppm(getenv("KMSPROBE_SAVE"), acc, s.w, s.h);
		free(acc);
		break;
	}
	igt_cleanup_pop(&crc, true);
}

struct state_crc {
	struct shown s;
	uint32_t crc;
};

static void probe_flips(void)
{
	int frames = env_int("KMSPROBE_FRAMES", 120);
	int max_hold = env_int("KMSPROBE_MAX_HOLD", 0);
	double end = igt_now() + env_int("KMSPROBE_SECONDS", 20);
	struct state_crc *st = calloc(MAX_STATES, sizeof(*st));
	uint32_t *vals = calloc(frames, sizeof(*vals));
	uint32_t first = 0, last = 0, frame, value;
	int nst = 0, changes = 0, hold = 0, longest = 0, missing = 0;
	int unknown = 0;
	struct kms_crc crc = { -1, -1 };
	struct shown s;

	igt_assert(st && vals);
	igt_require_f(read_shown(&s), "no CRTC of vkms is lit\n");
	require_no_gamma();
	kms_crc_start(&dev, out->index, &crc);
	igt_cleanup_push(crc_cleanup, &crc);
	for (int i = 0; i < frames; i++) {
		bool known = false;

		/* A slow composer reports few CRCs: what came in the time. */
		if (i > 1 && igt_now() > end) {
			frames = i;
			break;
		}
		igt_assert_f(crc_next(&crc, 2000, &frame, &value),
			     "no frame for 2 s after %d: the display stalled\n",
			     i);
		vals[i] = value;
		if (i == 0) {
			first = frame;
		} else {
			missing += frame - last - 1;
			if (value != vals[i - 1]) {
				changes++;
				hold = 0;
			} else {
				hold += frame - last;
				if (hold > longest)
					longest = hold;
			}
		}
		last = frame;
		if (!read_shown(&s))
			continue;
		for (int k = 0; k < nst; k++)
			known |= same_shown(&st[k].s, &s);
		if (!known && nst < MAX_STATES) {
			struct kms_px *acc = compose(&s);

			if (!acc)
				continue;
			st[nst].s = s;
			st[nst].crc = crc_of(acc, s.w, s.h);
			free(acc);
			nst++;
		}
	}
	igt_cleanup_pop(&crc, true);
	for (int i = 0; i < frames; i++) {
		bool ok = false;

		for (int k = 0; k < nst; k++)
			ok |= vals[i] == st[k].crc;
		unknown += !ok;
	}
	describe(&st[0].s);
	igt_info("kmsprobe: %d plane states seen, CRCs:", nst);
	for (int k = 0; k < nst; k++)
		igt_info(" %08x", st[k].crc);
	igt_info("\n");
	igt_info("kmsprobe: flips: %d changes in %u vblanks (%.3f a vblank, "
		 "%.1f Hz at %.2f Hz), longest hold %d vblanks, %d CRC "
		 "entries missing, %d of %d CRCs not the planes'\n", changes,
		 last - first, last > first ? (double)changes / (last - first)
		 : 0.0, last > first ? s.hz * changes / (last - first) : 0.0,
		 s.hz, longest, missing, unknown, frames);
	igt_assert_f(unknown == 0, "%d frames showed none of the %d plane "
		     "states seen\n", unknown, nst);
	igt_assert_f(!max_hold || longest <= max_hold, "a frame stayed %d "
		     "vblanks (more than %d): the flips stalled\n", longest,
		     max_hold);
	free(vals);
	free(st);
}

igt_main
{
	igt_fixture {
		kms_open(&dev);
		/* Never keep master from the client: it may open after us. */
		if (drmIsMaster(dev.fd))
			drmDropMaster(dev.fd);
		upstream = kms_param_get("gate") < 0;
		out = &dev.out[0];
		for (int i = 0; i < dev.noutputs; i++) {
			drmModeCrtcPtr c = drmModeGetCrtc(dev.fd,
							  dev.out[i].crtc_id);

			if (c && c->mode_valid) {
				out = &dev.out[i];
				drmModeFreeCrtc(c);
				break;
			}
			drmModeFreeCrtc(c);
		}
	}

	igt_subtest("frame")
		probe_frame();

	igt_subtest("flips")
		probe_flips();

	igt_fixture
		kms_close(&dev);
}
