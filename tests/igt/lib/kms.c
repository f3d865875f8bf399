// SPDX-License-Identifier: GPL-2.0
/*
 * KMS helpers for the vkms tests. See kms.h.
 */
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <linux/dma-buf.h>
#include <linux/sync_file.h>
#include <drm.h>
#include <drm_fourcc.h>
#include <drm_mode.h>

#include "drmtest.h"
#include "igt.h"
#include "kms.h"
#include "kms_vgem.h"

/* ---- device ---------------------------------------------------------- */

static bool plane_type_is(int fd, uint32_t plane, uint64_t type)
{
	return kms_prop_value(fd, plane, DRM_MODE_OBJECT_PLANE, "type") == type;
}

void kms_open(struct kms_dev *dev)
{
	kms_open_from_fd(dev, drm_open_driver("vkms"));
}

void kms_open_from_fd(struct kms_dev *dev, int fd)
{
	drmModeResPtr res;
	drmModePlaneResPtr pres;
	struct stat st;

	memset(dev, 0, sizeof(*dev));
	dev->fd = fd;
	igt_assert_eq(drmSetClientCap(dev->fd, DRM_CLIENT_CAP_UNIVERSAL_PLANES, 1), 0);
	igt_assert_eq(drmSetClientCap(dev->fd, DRM_CLIENT_CAP_ATOMIC, 1), 0);
	igt_assert_eq(drmSetClientCap(dev->fd, DRM_CLIENT_CAP_WRITEBACK_CONNECTORS, 1), 0);
	igt_assert_eq(fstat(dev->fd, &st), 0);
	dev->minor = minor(st.st_rdev);

	res = drmModeGetResources(dev->fd);
	igt_assert(res);
	igt_assert(res->count_crtcs >= 1 && res->count_crtcs <= KMS_MAX_OUTPUTS);
	dev->noutputs = res->count_crtcs;
	for (int i = 0; i < res->count_crtcs; i++) {
		dev->out[i].index = i;
		dev->out[i].crtc_id = res->crtcs[i];
	}
	/*
	 * Each CRTC gets the first connector (and its encoder) that can
	 * drive it: a connector of a configfs device may drive several.
	 */
	for (int i = 0; i < res->count_connectors; i++) {
		drmModeConnectorPtr c = drmModeGetConnector(dev->fd,
							    res->connectors[i]);

		igt_assert(c);
		igt_assert(c->count_encoders >= 1);
		for (int j = 0; j < c->count_encoders; j++) {
			drmModeEncoderPtr e = drmModeGetEncoder(dev->fd,
								c->encoders[j]);

			igt_assert(e);
			for (int k = 0; k < dev->noutputs; k++) {
				struct kms_output *o = &dev->out[k];

				if (!(e->possible_crtcs & (1u << k)))
					continue;
				if (c->connector_type ==
				    DRM_MODE_CONNECTOR_WRITEBACK) {
					o->wb_connector_id = c->connector_id;
				} else if (!o->connector_id) {
					o->connector_id = c->connector_id;
					o->encoder_id = e->encoder_id;
				}
				break;
			}
			drmModeFreeEncoder(e);
		}
		drmModeFreeConnector(c);
	}
	drmModeFreeResources(res);

	pres = drmModeGetPlaneResources(dev->fd);
	igt_assert(pres);
	for (uint32_t i = 0; i < pres->count_planes; i++) {
		drmModePlanePtr p = drmModeGetPlane(dev->fd, pres->planes[i]);
		struct kms_output *o = NULL;

		igt_assert(p);
		for (int k = 0; k < dev->noutputs; k++)
			if (p->possible_crtcs == (1u << k))
				o = &dev->out[k];
		igt_assert_f(o, "plane %u can be on CRTCs 0x%x\n",
			     p->plane_id, p->possible_crtcs);
		if (plane_type_is(dev->fd, p->plane_id, DRM_PLANE_TYPE_PRIMARY))
			o->primary = p->plane_id;
		else if (plane_type_is(dev->fd, p->plane_id, DRM_PLANE_TYPE_CURSOR))
			o->cursor = p->plane_id;
		else if (o->noverlays < KMS_MAX_OVERLAYS)
			o->overlay[o->noverlays++] = p->plane_id;
		drmModeFreePlane(p);
	}
	drmModeFreePlaneResources(pres);
	for (int k = 0; k < dev->noutputs; k++) {
		igt_assert(dev->out[k].connector_id);
		igt_assert(dev->out[k].primary);
	}
}

void kms_close(struct kms_dev *dev)
{
	if (dev->fd >= 0)
		close(dev->fd);
	dev->fd = -1;
}

uint32_t kms_prop(int fd, uint32_t id, uint32_t type, const char *name)
{
	drmModeObjectPropertiesPtr props;
	uint32_t ret = 0;

	props = drmModeObjectGetProperties(fd, id, type);
	if (!props)
		return 0;
	for (uint32_t i = 0; i < props->count_props && !ret; i++) {
		drmModePropertyPtr p = drmModeGetProperty(fd, props->props[i]);

		if (p && !strcmp(p->name, name))
			ret = p->prop_id;
		drmModeFreeProperty(p);
	}
	drmModeFreeObjectProperties(props);
	return ret;
}

uint64_t kms_prop_value(int fd, uint32_t id, uint32_t type, const char *name)
{
	drmModeObjectPropertiesPtr props;
	bool found = false;
	uint64_t val = 0;

	props = drmModeObjectGetProperties(fd, id, type);
	igt_assert(props);
	for (uint32_t i = 0; i < props->count_props && !found; i++) {
		drmModePropertyPtr p = drmModeGetProperty(fd, props->props[i]);

		if (p && !strcmp(p->name, name)) {
			found = true;
			val = props->prop_values[i];
		}
		drmModeFreeProperty(p);
	}
	drmModeFreeObjectProperties(props);
	igt_assert_f(found, "object %u has no property %s\n", id, name);
	return val;
}

drmModeModeInfo kms_mode(int w, int h)
{
	drmModeModeInfo m = { 0 };
	uint64_t total;

	m.hdisplay = w;
	m.hsync_start = w + 8;
	m.hsync_end = w + 40;
	m.htotal = w + 80;
	m.vdisplay = h;
	m.vsync_start = h + 3;
	m.vsync_end = h + 6;
	m.vtotal = h + 12;
	total = (uint64_t)m.htotal * m.vtotal;
	m.clock = (total * 60 + 999) / 1000;
	m.vrefresh = 60;
	m.type = DRM_MODE_TYPE_USERDEF;
	snprintf(m.name, sizeof(m.name), "%dx%d", w, h);
	return m;
}

uint64_t kms_mode_frame_ns(const drmModeModeInfo *m)
{
	return (uint64_t)m->htotal * m->vtotal * 1000000 / m->clock;
}

/* ---- formats --------------------------------------------------------- */

/*
 * The layout of each format, from the comments of drm_fourcc.h: bytes per
 * sample of each plane (0: below a byte, see bpp), chroma subsampling.
 */
struct fmt {
	uint32_t format;
	const char *name;
	int planes;
	int cpp[3];
	int bpp;		/* bits per pixel of plane 0 */
	int hsub, vsub;
	bool alpha, yuv;
};

static const struct fmt fmts[] = {
	{ DRM_FORMAT_XRGB8888, "XRGB8888", 1, { 4 }, 32, 1, 1, false, false },
	{ DRM_FORMAT_ARGB8888, "ARGB8888", 1, { 4 }, 32, 1, 1, true, false },
	{ DRM_FORMAT_XBGR8888, "XBGR8888", 1, { 4 }, 32, 1, 1, false, false },
	{ DRM_FORMAT_ABGR8888, "ABGR8888", 1, { 4 }, 32, 1, 1, true, false },
	{ DRM_FORMAT_RGBX8888, "RGBX8888", 1, { 4 }, 32, 1, 1, false, false },
	{ DRM_FORMAT_RGBA8888, "RGBA8888", 1, { 4 }, 32, 1, 1, true, false },
	{ DRM_FORMAT_BGRX8888, "BGRX8888", 1, { 4 }, 32, 1, 1, false, false },
	{ DRM_FORMAT_BGRA8888, "BGRA8888", 1, { 4 }, 32, 1, 1, true, false },
	{ DRM_FORMAT_RGB888, "RGB888", 1, { 3 }, 24, 1, 1, false, false },
	{ DRM_FORMAT_BGR888, "BGR888", 1, { 3 }, 24, 1, 1, false, false },
	{ DRM_FORMAT_RGB565, "RGB565", 1, { 2 }, 16, 1, 1, false, false },
	{ DRM_FORMAT_BGR565, "BGR565", 1, { 2 }, 16, 1, 1, false, false },
	{ DRM_FORMAT_XRGB2101010, "XRGB2101010", 1, { 4 }, 32, 1, 1, false, false },
	{ DRM_FORMAT_ARGB2101010, "ARGB2101010", 1, { 4 }, 32, 1, 1, true, false },
	{ DRM_FORMAT_XRGB16161616, "XRGB16161616", 1, { 8 }, 64, 1, 1, false, false },
	{ DRM_FORMAT_ARGB16161616, "ARGB16161616", 1, { 8 }, 64, 1, 1, true, false },
	{ DRM_FORMAT_XBGR16161616, "XBGR16161616", 1, { 8 }, 64, 1, 1, false, false },
	{ DRM_FORMAT_ABGR16161616, "ABGR16161616", 1, { 8 }, 64, 1, 1, true, false },
	{ DRM_FORMAT_R1, "R1", 1, { 0 }, 1, 1, 1, false, false },
	{ DRM_FORMAT_R2, "R2", 1, { 0 }, 2, 1, 1, false, false },
	{ DRM_FORMAT_R4, "R4", 1, { 0 }, 4, 1, 1, false, false },
	{ DRM_FORMAT_R8, "R8", 1, { 1 }, 8, 1, 1, false, false },
	{ DRM_FORMAT_NV12, "NV12", 2, { 1, 2 }, 8, 2, 2, false, true },
	{ DRM_FORMAT_NV21, "NV21", 2, { 1, 2 }, 8, 2, 2, false, true },
	{ DRM_FORMAT_NV16, "NV16", 2, { 1, 2 }, 8, 2, 1, false, true },
	{ DRM_FORMAT_NV61, "NV61", 2, { 1, 2 }, 8, 2, 1, false, true },
	{ DRM_FORMAT_NV24, "NV24", 2, { 1, 2 }, 8, 1, 1, false, true },
	{ DRM_FORMAT_NV42, "NV42", 2, { 1, 2 }, 8, 1, 1, false, true },
	{ DRM_FORMAT_YUV420, "YUV420", 3, { 1, 1, 1 }, 8, 2, 2, false, true },
	{ DRM_FORMAT_YVU420, "YVU420", 3, { 1, 1, 1 }, 8, 2, 2, false, true },
	{ DRM_FORMAT_YUV422, "YUV422", 3, { 1, 1, 1 }, 8, 2, 1, false, true },
	{ DRM_FORMAT_YVU422, "YVU422", 3, { 1, 1, 1 }, 8, 2, 1, false, true },
	{ DRM_FORMAT_YUV444, "YUV444", 3, { 1, 1, 1 }, 8, 1, 1, false, true },
	{ DRM_FORMAT_YVU444, "YVU444", 3, { 1, 1, 1 }, 8, 1, 1, false, true },
	{ DRM_FORMAT_P010, "P010", 2, { 2, 4 }, 16, 2, 2, false, true },
	{ DRM_FORMAT_P012, "P012", 2, { 2, 4 }, 16, 2, 2, false, true },
	{ DRM_FORMAT_P016, "P016", 2, { 2, 4 }, 16, 2, 2, false, true },
};

#define NFMTS (sizeof(fmts) / sizeof(fmts[0]))

static const struct fmt *fmt_of(uint32_t format)
{
	for (unsigned int i = 0; i < NFMTS; i++)
		if (fmts[i].format == format)
			return &fmts[i];
	igt_assert_f(0, "format %08x\n", format);
	return NULL;
}

int kms_num_formats(void)
{
	return NFMTS;
}

uint32_t kms_format(int i)
{
	return fmts[i].format;
}

uint32_t kms_format_cpp(uint32_t format)
{
	return fmt_of(format)->cpp[0];
}

bool kms_format_has_alpha(uint32_t format)
{
	return fmt_of(format)->alpha;
}

bool kms_format_is_yuv(uint32_t format)
{
	return fmt_of(format)->yuv;
}

const char *kms_format_name(uint32_t format)
{
	for (unsigned int i = 0; i < NFMTS; i++)
		if (fmts[i].format == format)
			return fmts[i].name;
	return "?";
}

uint64_t kms_pack(uint32_t format, struct kms_px c)
{
	uint32_t a8 = c.a >> 8, r8 = c.r >> 8, g8 = c.g >> 8, b8 = c.b >> 8;

	switch (format) {
	case DRM_FORMAT_XRGB8888:
	case DRM_FORMAT_ARGB8888:
		return a8 << 24 | r8 << 16 | g8 << 8 | b8;
	case DRM_FORMAT_XBGR8888:
	case DRM_FORMAT_ABGR8888:
		return a8 << 24 | b8 << 16 | g8 << 8 | r8;
	case DRM_FORMAT_RGBX8888:
	case DRM_FORMAT_RGBA8888:
		return r8 << 24 | g8 << 16 | b8 << 8 | a8;
	case DRM_FORMAT_BGRX8888:
	case DRM_FORMAT_BGRA8888:
		return b8 << 24 | g8 << 16 | r8 << 8 | a8;
	case DRM_FORMAT_RGB888:
		return r8 << 16 | g8 << 8 | b8;
	case DRM_FORMAT_BGR888:
		return b8 << 16 | g8 << 8 | r8;
	case DRM_FORMAT_RGB565:
		return (c.r >> 11) << 11 | (c.g >> 10) << 5 | (c.b >> 11);
	case DRM_FORMAT_BGR565:
		return (c.b >> 11) << 11 | (c.g >> 10) << 5 | (c.r >> 11);
	case DRM_FORMAT_XRGB2101010:
	case DRM_FORMAT_ARGB2101010:
		return (uint32_t)(c.a >> 14) << 30 | (uint32_t)(c.r >> 6) << 20 |
		       (uint32_t)(c.g >> 6) << 10 | (c.b >> 6);
	case DRM_FORMAT_XRGB16161616:
	case DRM_FORMAT_ARGB16161616:
		return (uint64_t)c.a << 48 | (uint64_t)c.r << 32 |
		       (uint64_t)c.g << 16 | c.b;
	case DRM_FORMAT_XBGR16161616:
	case DRM_FORMAT_ABGR16161616:
		return (uint64_t)c.a << 48 | (uint64_t)c.b << 32 |
		       (uint64_t)c.g << 16 | c.r;
	case DRM_FORMAT_R8:
		return c.g >> 8;
	case DRM_FORMAT_R4:
		return c.g >> 12;
	case DRM_FORMAT_R2:
		return c.g >> 14;
	case DRM_FORMAT_R1:
		return c.g >> 15;
	}
	igt_assert_f(0, "format %08x\n", format);
	return 0;
}

/* n-bit value v widened to 16 bits by repeating it from the top. */
static uint16_t widen(uint32_t v, int bits)
{
	uint32_t r = 0;
	int shift = 16 - bits;

	while (shift > -bits) {
		r |= shift >= 0 ? v << shift : v >> -shift;
		shift -= bits;
	}
	return r & 0xffff;
}

/* Channel of @bits bits at bit @at of @raw, widened. */
static uint16_t chan(uint64_t raw, int at, int bits)
{
	return widen((raw >> at) & ((1u << bits) - 1), bits);
}

struct kms_px kms_unpack(uint32_t format, uint64_t raw)
{
	/* a, r, g, b: bit positions; w: bits per channel, alpha wa */
	static const struct {
		uint32_t format;
		int a, r, g, b, w, wa;
	} lay[] = {
		{ DRM_FORMAT_XRGB8888, 24, 16, 8, 0, 8, 8 },
		{ DRM_FORMAT_ARGB8888, 24, 16, 8, 0, 8, 8 },
		{ DRM_FORMAT_XBGR8888, 24, 0, 8, 16, 8, 8 },
		{ DRM_FORMAT_ABGR8888, 24, 0, 8, 16, 8, 8 },
		{ DRM_FORMAT_RGBX8888, 0, 24, 16, 8, 8, 8 },
		{ DRM_FORMAT_RGBA8888, 0, 24, 16, 8, 8, 8 },
		{ DRM_FORMAT_BGRX8888, 0, 8, 16, 24, 8, 8 },
		{ DRM_FORMAT_BGRA8888, 0, 8, 16, 24, 8, 8 },
		{ DRM_FORMAT_RGB888, 0, 16, 8, 0, 8, 8 },
		{ DRM_FORMAT_BGR888, 0, 0, 8, 16, 8, 8 },
		{ DRM_FORMAT_XRGB2101010, 30, 20, 10, 0, 10, 2 },
		{ DRM_FORMAT_ARGB2101010, 30, 20, 10, 0, 10, 2 },
		{ DRM_FORMAT_XRGB16161616, 48, 32, 16, 0, 16, 16 },
		{ DRM_FORMAT_ARGB16161616, 48, 32, 16, 0, 16, 16 },
		{ DRM_FORMAT_XBGR16161616, 48, 0, 16, 32, 16, 16 },
		{ DRM_FORMAT_ABGR16161616, 48, 0, 16, 32, 16, 16 },
	};
	struct kms_px p = { 0xffff, 0, 0, 0 };
	const struct fmt *f = fmt_of(format);

	switch (format) {
	case DRM_FORMAT_RGB565:
		p.r = chan(raw, 11, 5);
		p.g = chan(raw, 5, 6);
		p.b = chan(raw, 0, 5);
		return p;
	case DRM_FORMAT_BGR565:
		p.b = chan(raw, 11, 5);
		p.g = chan(raw, 5, 6);
		p.r = chan(raw, 0, 5);
		return p;
	case DRM_FORMAT_R1:
	case DRM_FORMAT_R2:
	case DRM_FORMAT_R4:
	case DRM_FORMAT_R8:
		p.r = p.g = p.b = chan(raw, 0, f->bpp);
		return p;
	}
	for (unsigned int i = 0; i < sizeof(lay) / sizeof(lay[0]); i++) {
		if (lay[i].format != format)
			continue;
		p.a = f->alpha ? chan(raw, lay[i].a, lay[i].wa) : 0xffff;
		p.r = chan(raw, lay[i].r, lay[i].w);
		p.g = chan(raw, lay[i].g, lay[i].w);
		p.b = chan(raw, lay[i].b, lay[i].w);
		return p;
	}
	igt_assert_f(0, "format %08x is not packed RGB\n", format);
	return p;
}

/*
 * YUV to RGB, from the standards' Kr and Kb (ITU-R BT.601, BT.709,
 * BT.2020), with the factors rounded to 1/65536 and the sums in integers:
 * the arithmetic vkms documents, computed here from its definition.
 */
static struct kms_px yuv_to_rgb(uint32_t y16, uint32_t cb16, uint32_t cr16,
				int encoding, bool limited)
{
	static const double kr_kb[3][2] = {
		{ 0.299, 0.114 }, { 0.2126, 0.0722 }, { 0.2627, 0.0593 },
	};
	double kr = kr_kb[encoding][0], kb = kr_kb[encoding][1];
	double kg = 1 - kr - kb;
	double sy = limited ? 255.0 / 219 : 1, sc = limited ? 255.0 / 224 : 1;
	int64_t ky = (int64_t)(sy * 65536 + 0.5);
	int64_t rv = (int64_t)(sc * 2 * (1 - kr) * 65536 + 0.5);
	int64_t gu = (int64_t)(sc * 2 * kb * (1 - kb) / kg * 65536 + 0.5);
	int64_t gv = (int64_t)(sc * 2 * kr * (1 - kr) / kg * 65536 + 0.5);
	int64_t bu = (int64_t)(sc * 2 * (1 - kb) * 65536 + 0.5);
	int64_t yl = ((int64_t)y16 - (limited ? 4096 : 0)) * ky;
	int64_t u = (int64_t)cb16 - 32768, v = (int64_t)cr16 - 32768;
	int64_t s[3] = { yl + rv * v, yl - gu * u - gv * v, yl + bu * u };
	uint16_t o[3];

	for (int i = 0; i < 3; i++) {
		int64_t q = s[i] < 0 ? 0 : (s[i] + 32768) / 65536;

		o[i] = q > 65535 ? 65535 : q;
	}
	return (struct kms_px){ 0xffff, o[0], o[1], o[2] };
}

/* ---- framebuffers ---------------------------------------------------- */

int __kms_fb_add(int fd, int w, int h, uint32_t format, uint32_t handle,
		 uint32_t pitch, uint32_t *fb_id)
{
	uint32_t handles[4] = { handle }, pitches[4] = { pitch };
	uint32_t offsets[4] = { 0 };

	return drmModeAddFB2(fd, w, h, format, handles, pitches, offsets,
			     fb_id, 0);
}

/* Bytes of a line of @w pixels in plane @p of @f. */
static uint32_t plane_line(const struct fmt *f, int p, int w)
{
	if (p == 0 && !f->cpp[0])
		return (w * f->bpp + 7) / 8;
	return (p ? (w + f->hsub - 1) / f->hsub : w) * f->cpp[p];
}

void kms_fb_create(int fd, int w, int h, uint32_t format, struct kms_fb *fb)
{
	const struct fmt *f = fmt_of(format);
	struct drm_mode_create_dumb c = { 0 };
	struct drm_mode_map_dumb m = { 0 };
	uint32_t handles[4] = { 0 }, pitches[4] = { 0 }, offsets[4] = { 0 };
	uint64_t size = 0;

	memset(fb, 0, sizeof(*fb));
	fb->fd = fd;
	fb->width = w;
	fb->height = h;
	fb->format = format;
	fb->cpp = f->cpp[0];
	fb->planes = f->planes;
	if (f->planes == 1 && f->cpp[0]) {
		/* one plane of whole pixels: the dumb buffer's own pitch */
		c.width = w;
		c.height = h;
		c.bpp = f->cpp[0] * 8;
	} else {
		/* planes one after the other, lines of 64-byte multiples */
		for (int p = 0; p < f->planes; p++) {
			int ph = p ? (h + f->vsub - 1) / f->vsub : h;

			fb->pitches[p] = (plane_line(f, p, w) + 63) & ~63u;
			fb->offsets[p] = size;
			size += (uint64_t)fb->pitches[p] * ph;
		}
		c.width = fb->pitches[0];
		c.height = (size + fb->pitches[0] - 1) / fb->pitches[0];
		c.bpp = 8;
	}
	do_ioctl(fd, DRM_IOCTL_MODE_CREATE_DUMB, &c);
	fb->handle = c.handle;
	if (!fb->pitches[0])
		fb->pitches[0] = c.pitch;
	fb->pitch = fb->pitches[0];
	fb->size = c.size;
	m.handle = c.handle;
	do_ioctl(fd, DRM_IOCTL_MODE_MAP_DUMB, &m);
	fb->map = mmap(NULL, fb->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		       m.offset);
	igt_assert(fb->map != MAP_FAILED);
	for (int p = 0; p < f->planes; p++) {
		handles[p] = fb->handle;
		pitches[p] = fb->pitches[p];
		offsets[p] = fb->offsets[p];
	}
	igt_assert_eq(drmModeAddFB2(fd, w, h, format, handles, pitches,
				    offsets, &fb->id, 0), 0);
}

void kms_fb_destroy(struct kms_fb *fb)
{
	struct drm_gem_close cl = { .handle = fb->handle };

	if (!fb->id)
		return;
	drmModeRmFB(fb->fd, fb->id);
	munmap(fb->map, fb->size);
	igt_ioctl(fb->fd, DRM_IOCTL_GEM_CLOSE, &cl);
	memset(fb, 0, sizeof(*fb));
}

/* Bits per pixel of plane 0 of @fb (hand-made ones give cpp only). */
static int fb_bpp(const struct kms_fb *fb)
{
	return fb->cpp ? (int)fb->cpp * 8 : fmt_of(fb->format)->bpp;
}

void kms_fb_put(struct kms_fb *fb, int x, int y, uint64_t raw)
{
	uint8_t *p = fb->map + (size_t)y * fb->pitch;
	int bpp = fb_bpp(fb);

	if (bpp < 8) {
		int bit = x * bpp, sh = 8 - bpp - bit % 8;
		uint8_t mask = ((1u << bpp) - 1) << sh;

		p += bit / 8;
		*p = (*p & ~mask) | ((raw << sh) & mask);
		return;
	}
	/* little endian, byte by byte */
	p += (size_t)x * fb->cpp;
	for (uint32_t i = 0; i < fb->cpp; i++)
		p[i] = raw >> (8 * i);
}

uint64_t kms_fb_get64(const struct kms_fb *fb, int x, int y)
{
	const uint8_t *p = fb->map + (size_t)y * fb->pitch;
	int bpp = fb_bpp(fb);
	uint64_t v = 0;

	if (bpp < 8) {
		int bit = x * bpp;

		return (p[bit / 8] >> (8 - bpp - bit % 8)) & ((1u << bpp) - 1);
	}
	p += (size_t)x * fb->cpp;
	for (uint32_t i = 0; i < fb->cpp; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

uint32_t kms_fb_get(const struct kms_fb *fb, int x, int y)
{
	return kms_fb_get64(fb, x, y);
}

/* Sample @i (bytes @cpp) of line @y of plane @p, as a 16-bit number. */
static uint32_t yuv_sample(const struct kms_fb *fb, int p, int y, int i,
			   int cpp, uint32_t mask)
{
	const uint8_t *s = fb->map + fb->offsets[p] +
			   (size_t)y * fb->pitches[p] + (size_t)i * cpp;

	return cpp == 1 ? (uint32_t)s[0] << 8 : ((s[0] | s[1] << 8) & mask);
}

struct kms_px kms_fb_sample(const struct kms_fb *fb, int x, int y,
			    int encoding, bool limited)
{
	const struct fmt *f;
	uint32_t yv, cb, cr, mask = 0xffff;
	int cx, cy, n;
	bool swap;

	if (!fb->planes || !fmt_of(fb->format)->yuv)
		return kms_unpack(fb->format, kms_fb_get64(fb, x, y));
	f = fmt_of(fb->format);
	if (fb->format == DRM_FORMAT_P010)
		mask = 0xffc0;
	if (fb->format == DRM_FORMAT_P012)
		mask = 0xfff0;
	n = f->cpp[0];
	cx = x / f->hsub;
	cy = y / f->vsub;
	swap = fb->format == DRM_FORMAT_NV21 ||
	       fb->format == DRM_FORMAT_NV61 ||
	       fb->format == DRM_FORMAT_NV42 ||
	       fb->format == DRM_FORMAT_YVU420 ||
	       fb->format == DRM_FORMAT_YVU422 ||
	       fb->format == DRM_FORMAT_YVU444;
	yv = yuv_sample(fb, 0, y, x, n, mask);
	if (f->planes == 2) {
		/* pairs: Cb then Cr (Cr then Cb when swapped) */
		cb = yuv_sample(fb, 1, cy, 2 * cx + swap, n, mask);
		cr = yuv_sample(fb, 1, cy, 2 * cx + !swap, n, mask);
	} else {
		cb = yuv_sample(fb, swap ? 2 : 1, cy, cx, n, mask);
		cr = yuv_sample(fb, swap ? 1 : 2, cy, cx, n, mask);
	}
	return yuv_to_rgb(yv, cb, cr, encoding, limited);
}

void kms_fb_fill(struct kms_fb *fb, struct kms_px c)
{
	uint64_t raw = kms_pack(fb->format, c);

	for (uint32_t y = 0; y < fb->height; y++)
		for (uint32_t x = 0; x < fb->width; x++)
			kms_fb_put(fb, x, y, raw);
}

static uint32_t hash32(uint32_t v)
{
	v ^= v >> 16;
	v *= 0x7feb352d;
	v ^= v >> 15;
	v *= 0x846ca68b;
	v ^= v >> 16;
	return v;
}

void kms_fb_pattern(struct kms_fb *fb, uint32_t seed, bool alpha)
{
	const struct fmt *f = fmt_of(fb->format);

	if (f->yuv || !f->cpp[0]) {
		/* every byte of every line of every plane */
		for (int p = 0; p < fb->planes; p++) {
			int h = p ? (fb->height + f->vsub - 1) / f->vsub :
				fb->height;
			uint32_t len = plane_line(f, p, fb->width);

			for (int y = 0; y < h; y++) {
				uint8_t *row = fb->map + fb->offsets[p] +
					       (size_t)y * fb->pitches[p];

				for (uint32_t i = 0; i < len; i++)
					row[i] = hash32(seed * 0x9e3779b9u ^
							(p << 28) ^ (y << 14) ^
							i);
			}
		}
		return;
	}
	for (uint32_t y = 0; y < fb->height; y++) {
		for (uint32_t x = 0; x < fb->width; x++) {
			uint32_t k = seed * 0x9e3779b9u ^ (y << 16) ^ x;
			uint64_t raw = hash32(k) |
				       (uint64_t)hash32(k ^ 0x5bd1e995u) << 32;

			if (!alpha && f->alpha) {
				struct kms_px px = kms_unpack(fb->format, raw);

				px.a = 0xffff;
				raw = kms_pack(fb->format, px);
			}
			kms_fb_put(fb, x, y, raw);
		}
	}
}

/* ---- reference composer ---------------------------------------------- */

static uint32_t mul16(uint32_t x, uint32_t y)
{
	uint32_t t = x * y + 0x8000;

	return (t + (t >> 16)) >> 16;
}

static int cmp_layer(const void *a, const void *b)
{
	const struct kms_layer *la = *(const struct kms_layer * const *)a;
	const struct kms_layer *lb = *(const struct kms_layer * const *)b;

	return la->zpos - lb->zpos;
}

/*
 * Where source pixel (@u, @v) of an @sw x @sh source lands on screen,
 * relative to the plane's top-left corner: reflected in the framebuffer,
 * then turned counter-clockwise (the order drm_rect_rotate() documents).
 */
static void rotate_fwd(uint32_t rot, int sw, int sh, int u, int v, int *x,
		       int *y)
{
	if (rot & KMS_REFLECT_X)
		u = sw - 1 - u;
	if (rot & KMS_REFLECT_Y)
		v = sh - 1 - v;
	switch (rot & 0xf) {
	case KMS_ROTATE_90:
		*x = v;
		*y = sw - 1 - u;
		break;
	case KMS_ROTATE_180:
		*x = sw - 1 - u;
		*y = sh - 1 - v;
		break;
	case KMS_ROTATE_270:
		*x = sh - 1 - v;
		*y = u;
		break;
	default:
		*x = u;
		*y = v;
		break;
	}
}

void kms_ref_compose16(struct kms_px *acc, int w, int h,
		       const struct kms_layer *layers, int n)
{
	const struct kms_layer *sorted[16];

	memset(acc, 0, (size_t)w * h * sizeof(*acc));
	igt_assert(n <= 16);
	for (int i = 0; i < n; i++)
		sorted[i] = &layers[i];
	qsort(sorted, n, sizeof(sorted[0]), cmp_layer);

	for (int i = 0; i < n; i++) {
		const struct kms_layer *l = sorted[i];
		bool alpha = kms_format_has_alpha(l->fb->format) &&
			     l->blend != KMS_BLEND_NONE;
		bool turned = (l->rotation & 0xf) == KMS_ROTATE_90 ||
			      (l->rotation & 0xf) == KMS_ROTATE_270;
		int sw = turned ? l->h : l->w, sh = turned ? l->w : l->h;
		uint32_t pa = l->alpha;

		/* each source pixel goes to one screen pixel */
		for (int v = 0; v < sh; v++) {
			for (int u = 0; u < sw; u++) {
				struct kms_px s, *d;
				uint32_t e, ie;
				int cx, cy;

				rotate_fwd(l->rotation, sw, sh, u, v, &cx, &cy);
				cx += l->crtc_x;
				cy += l->crtc_y;
				if (cx < 0 || cx >= w || cy < 0 || cy >= h)
					continue;
				s = kms_fb_sample(l->fb, l->src_x + u,
						  l->src_y + v, l->encoding,
						  l->limited);
				d = &acc[(size_t)cy * w + cx];
				if (!alpha) {
					ie = 0xffff - pa;
					d->r = mul16(s.r, pa) + mul16(d->r, ie);
					d->g = mul16(s.g, pa) + mul16(d->g, ie);
					d->b = mul16(s.b, pa) + mul16(d->b, ie);
				} else if (l->blend == KMS_BLEND_COVERAGE) {
					e = mul16(s.a, pa);
					ie = 0xffff - e;
					d->r = mul16(s.r, e) + mul16(d->r, ie);
					d->g = mul16(s.g, e) + mul16(d->g, ie);
					d->b = mul16(s.b, e) + mul16(d->b, ie);
				} else {
					uint32_t t;

					ie = 0xffff - mul16(s.a, pa);
					t = mul16(s.r, pa) + mul16(d->r, ie);
					d->r = t > 0xffff ? 0xffff : t;
					t = mul16(s.g, pa) + mul16(d->g, ie);
					d->g = t > 0xffff ? 0xffff : t;
					t = mul16(s.b, pa) + mul16(d->b, ie);
					d->b = t > 0xffff ? 0xffff : t;
				}
			}
		}
	}
	/* the output is opaque, as vkms's 16-bit rows are */
	for (size_t i = 0; i < (size_t)w * h; i++)
		acc[i].a = 0xffff;
}

void kms_ref_output(uint32_t *out, const struct kms_px *acc, size_t n)
{
	for (size_t i = 0; i < n; i++)
		out[i] = 0xff000000u | (uint32_t)(acc[i].r >> 8) << 16 |
			 (uint32_t)(acc[i].g >> 8) << 8 | (acc[i].b >> 8);
}

void kms_ref_compose(uint32_t *out, int w, int h,
		     const struct kms_layer *layers, int n)
{
	struct kms_px *acc = calloc((size_t)w * h, sizeof(*acc));

	igt_assert(acc);
	kms_ref_compose16(acc, w, h, layers, n);
	kms_ref_output(out, acc, (size_t)w * h);
	free(acc);
}

/* CRC-32 (reflected, polynomial 0xedb88320), no inversion at either end. */
uint32_t kms_crc32(uint32_t crc, const void *buf, size_t len)
{
	static uint32_t table[256];
	const uint8_t *p = buf;

	if (!table[1]) {
		for (uint32_t i = 0; i < 256; i++) {
			uint32_t c = i;

			for (int k = 0; k < 8; k++)
				c = c & 1 ? (c >> 1) ^ 0xedb88320u : c >> 1;
			table[i] = c;
		}
	}
	while (len--)
		crc = table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return crc;
}

uint32_t kms_ref_crc(const struct kms_layer *layers, int n, int w, int h)
{
	uint32_t *out = malloc((size_t)w * h * 4);
	uint32_t crc;

	igt_assert(out);
	kms_ref_compose(out, w, h, layers, n);
	crc = kms_crc32(~0u, out, (size_t)w * h * 4);
	free(out);
	return crc;
}

/* ---- atomic ---------------------------------------------------------- */

struct kms_req {
	struct kms_dev *dev;
	drmModeAtomicReqPtr req;
};

struct kms_req *kms_req_new(struct kms_dev *dev)
{
	struct kms_req *r = calloc(1, sizeof(*r));

	igt_assert(r);
	r->dev = dev;
	r->req = drmModeAtomicAlloc();
	igt_assert(r->req);
	return r;
}

void kms_req_free(struct kms_req *req)
{
	drmModeAtomicFree(req->req);
	free(req);
}

static uint32_t obj_type(struct kms_dev *dev, uint32_t id)
{
	for (int k = 0; k < dev->noutputs; k++) {
		const struct kms_output *o = &dev->out[k];

		if (id == o->crtc_id)
			return DRM_MODE_OBJECT_CRTC;
		if (id == o->connector_id || id == o->wb_connector_id)
			return DRM_MODE_OBJECT_CONNECTOR;
		if (id == o->primary || id == o->cursor)
			return DRM_MODE_OBJECT_PLANE;
		for (int i = 0; i < o->noverlays; i++)
			if (id == o->overlay[i])
				return DRM_MODE_OBJECT_PLANE;
	}
	return DRM_MODE_OBJECT_ANY;
}

void kms_req_set(struct kms_req *req, uint32_t id, const char *name,
		 uint64_t value)
{
	uint32_t prop = kms_prop(req->dev->fd, id, obj_type(req->dev, id),
				 name);

	igt_assert_f(prop, "object %u has no property %s\n", id, name);
	igt_assert(drmModeAtomicAddProperty(req->req, id, prop, value) >= 0);
}

void kms_req_set_raw(struct kms_req *req, uint32_t id, uint32_t prop,
		     uint64_t value)
{
	igt_assert(drmModeAtomicAddProperty(req->req, id, prop, value) >= 0);
}

int kms_req_commit_data(struct kms_req *req, uint32_t flags, uint64_t data)
{
	int ret = drmModeAtomicCommit(req->dev->fd, req->req, flags,
				      (void *)(uintptr_t)data);

	return ret ? -errno : 0;
}

int kms_req_commit(struct kms_req *req, uint32_t flags)
{
	return kms_req_commit_data(req, flags, 0);
}

void kms_req_plane(struct kms_req *req, uint32_t plane, uint32_t crtc_id,
		   uint32_t fb, int sx, int sy, int x, int y, int w, int h)
{
	kms_req_set(req, plane, "FB_ID", fb);
	kms_req_set(req, plane, "CRTC_ID", crtc_id);
	kms_req_set(req, plane, "SRC_X", (uint64_t)sx << 16);
	kms_req_set(req, plane, "SRC_Y", (uint64_t)sy << 16);
	kms_req_set(req, plane, "SRC_W", (uint64_t)w << 16);
	kms_req_set(req, plane, "SRC_H", (uint64_t)h << 16);
	kms_req_set(req, plane, "CRTC_X", (uint64_t)(int64_t)x);
	kms_req_set(req, plane, "CRTC_Y", (uint64_t)(int64_t)y);
	kms_req_set(req, plane, "CRTC_W", w);
	kms_req_set(req, plane, "CRTC_H", h);
}

void kms_req_plane_off(struct kms_req *req, uint32_t plane)
{
	kms_req_set(req, plane, "FB_ID", 0);
	kms_req_set(req, plane, "CRTC_ID", 0);
}

static void req_other_planes_off(struct kms_req *req,
				 const struct kms_output *o)
{
	if (o->cursor)
		kms_req_plane_off(req, o->cursor);
	for (int i = 0; i < o->noverlays; i++)
		kms_req_plane_off(req, o->overlay[i]);
}

int __kms_modeset(struct kms_dev *dev, const struct kms_output *o,
		  const drmModeModeInfo *mode, const struct kms_fb *fb,
		  uint32_t flags)
{
	struct kms_req *req = kms_req_new(dev);
	uint32_t blob;
	int ret;

	igt_assert_eq(drmModeCreatePropertyBlob(dev->fd, mode, sizeof(*mode),
						&blob), 0);
	kms_req_set(req, o->crtc_id, "MODE_ID", blob);
	kms_req_set(req, o->crtc_id, "ACTIVE", 1);
	kms_req_set(req, o->connector_id, "CRTC_ID", o->crtc_id);
	kms_req_plane(req, o->primary, o->crtc_id, fb->id, 0, 0, 0, 0,
		      mode->hdisplay, mode->vdisplay);
	req_other_planes_off(req, o);
	ret = kms_req_commit(req, flags | DRM_MODE_ATOMIC_ALLOW_MODESET);
	kms_req_free(req);
	drmModeDestroyPropertyBlob(dev->fd, blob);
	return ret;
}

void kms_modeset(struct kms_dev *dev, const struct kms_output *o,
		 const drmModeModeInfo *mode, const struct kms_fb *fb)
{
	igt_assert_eq(__kms_modeset(dev, o, mode, fb, 0), 0);
}

void kms_planes_reset(struct kms_dev *dev, const struct kms_output *o)
{
	uint32_t planes[2 + sizeof(o->overlay) / sizeof(o->overlay[0])] = {
		o->primary
	};
	struct kms_req *req = kms_req_new(dev);
	int n = 1;

	for (int i = 0; i < o->noverlays; i++)
		planes[n++] = o->overlay[i];
	if (o->cursor)
		planes[n++] = o->cursor;
	for (int i = 0; i < n; i++) {
		kms_req_set(req, planes[i], "alpha", 0xffff);
		kms_req_set(req, planes[i], "pixel blend mode",
			    KMS_BLEND_PREMULTI);
		kms_req_set(req, planes[i], "zpos", i);
		kms_req_set(req, planes[i], "rotation", KMS_ROTATE_0);
		kms_req_set(req, planes[i], "COLOR_ENCODING", KMS_BT601);
		kms_req_set(req, planes[i], "COLOR_RANGE", 1);
	}
	igt_assert_eq(kms_req_commit(req, 0), 0);
	kms_req_free(req);
}

void kms_disable(struct kms_dev *dev, const struct kms_output *o)
{
	struct kms_req *req = kms_req_new(dev);

	kms_req_set(req, o->crtc_id, "MODE_ID", 0);
	kms_req_set(req, o->crtc_id, "ACTIVE", 0);
	kms_req_set(req, o->connector_id, "CRTC_ID", 0);
	if (o->wb_connector_id)
		kms_req_set(req, o->wb_connector_id, "CRTC_ID", 0);
	kms_req_plane_off(req, o->primary);
	req_other_planes_off(req, o);
	igt_assert_eq(kms_req_commit(req, DRM_MODE_ATOMIC_ALLOW_MODESET), 0);
	kms_req_free(req);
}

static void set_plane_props(struct kms_req *req, uint32_t plane,
			    const struct kms_layer *l)
{
	kms_req_set(req, plane, "alpha", l->alpha);
	kms_req_set(req, plane, "pixel blend mode", l->blend);
	kms_req_set(req, plane, "zpos", l->zpos);
}

void kms_check_all_planes(struct kms_dev *dev, const struct kms_output *o)
{
	enum { W = 320, H = 240 };
	int n = o->noverlays + 2, top = n - 1;
	drmModeModeInfo mode = kms_mode(W, H);
	struct kms_fb fb[KMS_MAX_OVERLAYS + 2];
	struct kms_layer l[KMS_MAX_OVERLAYS + 2];
	uint32_t planes[KMS_MAX_OVERLAYS + 2];
	drmModePropertyPtr zp;
	struct kms_req *req;
	struct kms_crc crc;
	uint32_t seq, got, want;

	planes[0] = o->primary;
	for (int i = 0; i < o->noverlays; i++)
		planes[i + 1] = o->overlay[i];
	planes[top] = o->cursor;

	/* every plane's zpos goes from 0 to the number of planes - 1 */
	for (int i = 0; i < n; i++) {
		zp = drmModeGetProperty(dev->fd,
					kms_prop(dev->fd, planes[i],
						 DRM_MODE_OBJECT_PLANE,
						 "zpos"));
		igt_assert(zp && (zp->flags & DRM_MODE_PROP_RANGE));
		igt_assert_eq(zp->values[0], 0);
		igt_assert_eq(zp->values[1], (uint64_t)top);
		drmModeFreeProperty(zp);
	}

	kms_fb_create(dev->fd, W, H, DRM_FORMAT_XRGB8888, &fb[0]);
	kms_fb_pattern(&fb[0], 200, false);
	l[0] = (struct kms_layer){
		.fb = &fb[0], .w = W, .h = H, .alpha = 0xffff,
		.blend = KMS_BLEND_PREMULTI,
	};
	for (int i = 1; i < n; i++) {
		int w = 96 - 4 * i, h = 72 - 3 * i;

		kms_fb_create(dev->fd, w, h, DRM_FORMAT_ARGB8888, &fb[i]);
		kms_fb_pattern(&fb[i], 200 + i, true);
		l[i] = (struct kms_layer){
			.fb = &fb[i], .src_x = i, .src_y = 0,
			.crtc_x = 12 + 22 * i, .crtc_y = 10 + 14 * i,
			.w = w - i, .h = h, .alpha = 0xffff - 0x1100 * i,
			.blend = i % 3 == 0 ? KMS_BLEND_NONE :
				 i % 3 == 1 ? KMS_BLEND_PREMULTI :
					      KMS_BLEND_COVERAGE,
			/* the overlays bottom to top in reverse order */
			.zpos = i == top ? top : top - i,
		};
	}
	kms_modeset(dev, o, &mode, &fb[0]);
	req = kms_req_new(dev);
	set_plane_props(req, planes[0], &l[0]);
	for (int i = 1; i < n; i++) {
		kms_req_plane(req, planes[i], o->crtc_id, fb[i].id,
			      l[i].src_x, l[i].src_y, l[i].crtc_x, l[i].crtc_y,
			      l[i].w, l[i].h);
		set_plane_props(req, planes[i], &l[i]);
	}
	igt_assert_eq(kms_req_commit(req, 0), 0);
	kms_req_free(req);

	want = kms_ref_crc(l, n, W, H);
	seq = kms_vblank_now(dev->fd, o->index, NULL);
	kms_crc_start(dev, o->index, &crc);
	got = kms_crc_at(&crc, seq + 1, NULL);
	kms_crc_stop(&crc);
	igt_assert_f(got == want, "%d planes: CRC %08x, want %08x\n", n, got,
		     want);

	/* a zpos past the range */
	req = kms_req_new(dev);
	kms_req_set(req, planes[1], "zpos", top + 1);
	igt_assert_eq(kms_req_commit(req, DRM_MODE_ATOMIC_TEST_ONLY),
		      -EINVAL);
	kms_req_free(req);

	kms_disable(dev, o);
	/* back to the defaults: opaque, pre-multiplied, creation order */
	req = kms_req_new(dev);
	for (int i = 0; i < n; i++) {
		struct kms_layer d = {
			.alpha = 0xffff, .blend = KMS_BLEND_PREMULTI,
			.zpos = i,
		};

		set_plane_props(req, planes[i], &d);
	}
	igt_assert_eq(kms_req_commit(req, 0), 0);
	kms_req_free(req);
	for (int i = 0; i < n; i++)
		kms_fb_destroy(&fb[i]);
}

/* ---- vblanks and events ---------------------------------------------- */

static uint32_t vbl_crtc_bits(int index)
{
	if (index == 0)
		return 0;
	if (index == 1)
		return DRM_VBLANK_SECONDARY;
	return (uint32_t)index << DRM_VBLANK_HIGH_CRTC_SHIFT;
}

uint32_t kms_wait_vblank(int fd, int index, int n, uint64_t *ts_ns)
{
	drmVBlank vbl = { 0 };

	vbl.request.type = DRM_VBLANK_RELATIVE | vbl_crtc_bits(index);
	vbl.request.sequence = n;
	igt_assert_eq(drmWaitVBlank(fd, &vbl), 0);
	if (ts_ns)
		*ts_ns = (uint64_t)vbl.reply.tval_sec * 1000000000ull +
			 (uint64_t)vbl.reply.tval_usec * 1000ull;
	return vbl.reply.sequence;
}

uint32_t kms_vblank_now(int fd, int index, uint64_t *ts_ns)
{
	return kms_wait_vblank(fd, index, 0, ts_ns);
}

bool kms_event_ready(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 0) == 1;
}

bool kms_read_event(int fd, int timeout_ms, struct kms_event *ev)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	struct drm_event_vblank vb;
	ssize_t n;

	if (poll(&p, 1, timeout_ms) != 1)
		return false;
	n = read(fd, &vb, sizeof(vb));
	igt_assert_eq(n, (ssize_t)sizeof(vb));
	ev->type = vb.base.type;
	ev->sequence = vb.sequence;
	ev->ts_ns = (uint64_t)vb.tv_sec * 1000000000ull +
		    (uint64_t)vb.tv_usec * 1000ull;
	ev->crtc_id = vb.crtc_id;
	ev->user_data = vb.user_data;
	return true;
}

/* ---- CRC ------------------------------------------------------------- */

static void debugfs_path(char *buf, size_t len, struct kms_dev *dev,
			 int index, const char *file)
{
	snprintf(buf, len, "/sys/kernel/debug/dri/%d/crtc-%d/%s", dev->minor,
		 index, file);
}

/* The capture in progress: a failed subtest may leave it open. */
static struct kms_crc crc_open = { -1, -1 };

void kms_crc_start(struct kms_dev *dev, int index, struct kms_crc *crc)
{
	char path[128];

	if (crc_open.data_fd >= 0) {
		close(crc_open.data_fd);
		close(crc_open.ctl_fd);
		crc_open.data_fd = -1;
	}

	debugfs_path(path, sizeof(path), dev, index, "crc/control");
	crc->ctl_fd = open(path, O_WRONLY);
	igt_require_f(crc->ctl_fd >= 0, "no %s\n", path);
	igt_assert_eq(write(crc->ctl_fd, "auto", 4), 4);
	debugfs_path(path, sizeof(path), dev, index, "crc/data");
	crc->data_fd = open(path, O_RDONLY);
	igt_assert_f(crc->data_fd >= 0, "open %s\n", path);
	crc_open = *crc;
}

void kms_crc_get(struct kms_crc *crc, uint32_t *frame, uint32_t *value)
{
	char line[64] = { 0 };
	ssize_t n;

	do {
		n = read(crc->data_fd, line, sizeof(line) - 1);
	} while (n < 0 && errno == EINTR);
	igt_assert_f(n > 0, "reading a CRC entry\n");
	line[n] = 0;
	igt_assert_eq(sscanf(line, "%x %x", frame, value), 2);
}

uint32_t kms_crc_next(struct kms_dev *dev, int index)
{
	struct kms_crc crc;
	uint32_t v, seq = kms_vblank_now(dev->fd, index, NULL);

	kms_crc_start(dev, index, &crc);
	v = kms_crc_at(&crc, seq + 1, NULL);
	kms_crc_stop(&crc);
	return v;
}

uint32_t kms_crc_at(struct kms_crc *crc, uint32_t seq, uint32_t *frame)
{
	uint32_t f, v;

	do {
		kms_crc_get(crc, &f, &v);
	} while ((int32_t)(f - seq) < 0);
	if (frame)
		*frame = f;
	return v;
}

void kms_crc_stop(struct kms_crc *crc)
{
	close(crc->data_fd);
	close(crc->ctl_fd);
	if (crc->data_fd == crc_open.data_fd)
		crc_open.data_fd = -1;
	crc->data_fd = -1;
	crc->ctl_fd = -1;
}

/* ---- counters and parameters ------------------------------------------ */

static void compose_hold_write(struct kms_dev *dev, int index, bool hold)
{
	char path[128];
	int fd;

	debugfs_path(path, sizeof(path), dev, index, "compose_hold");
	fd = open(path, O_WRONLY);
	igt_assert_f(fd >= 0, "open %s\n", path);
	igt_assert_eq(write(fd, hold ? "1" : "0", 1), 1);
	close(fd);
}

static struct {
	struct kms_dev *dev;
	int index;
} held = { NULL, -1 };

static void compose_release(void *arg)
{
	if (held.dev)
		compose_hold_write(held.dev, held.index, false);
	held.dev = NULL;
}

void kms_compose_hold(struct kms_dev *dev, int index, bool hold)
{
	if (hold) {
		igt_assert_f(!held.dev, "one held composer at a time\n");
		compose_hold_write(dev, index, true);
		held.dev = dev;
		held.index = index;
		igt_cleanup_push(compose_release, &held);
	} else {
		igt_assert(held.dev == dev && held.index == index);
		igt_cleanup_pop(&held, true);
	}
}

uint64_t kms_stat(struct kms_dev *dev, int index, const char *name)
{
	char path[128], line[128];
	size_t len = strlen(name);
	uint64_t val = 0;
	bool found = false;
	FILE *f;

	debugfs_path(path, sizeof(path), dev, index, "vkms_stats");
	f = fopen(path, "r");
	igt_assert_f(f, "open %s\n", path);
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, name, len) && line[len] == ':') {
			val = strtoull(line + len + 1, NULL, 10);
			found = true;
		}
	}
	fclose(f);
	igt_assert_f(found, "no counter %s\n", name);
	return val;
}

int kms_param_get(const char *name)
{
	char path[128], buf[16] = { 0 };
	int fd, n;

	snprintf(path, sizeof(path), "/sys/module/vkms/parameters/%s", name);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	if (buf[0] == 'Y')
		return 1;
	if (buf[0] == 'N')
		return 0;
	return atoi(buf);
}

/* fbdev emulation names a driver's framebuffer "<driver>drmfb". */
int kms_fbdev_index(void)
{
	static const char id[] = "vkmsdrmfb";
	DIR *d = opendir("/sys/class/graphics");
	struct dirent *e;
	int found = -1;

	if (!d)
		return -1;
	while ((e = readdir(d))) {
		char path[300], name[32] = { 0 };
		int fd, n;

		if (strncmp(e->d_name, "fb", 2) || !e->d_name[2])
			continue;
		snprintf(path, sizeof(path), "/sys/class/graphics/%s/name",
			 e->d_name);
		fd = open(path, O_RDONLY);
		if (fd < 0)
			continue;
		n = read(fd, name, sizeof(name) - 1);
		close(fd);
		if (n > 0 && !strncmp(name, id, sizeof(id) - 1))
			found = atoi(e->d_name + 2);
	}
	closedir(d);
	return found;
}

bool kms_param_set(const char *name, int value)
{
	char path[128], buf[16];
	int fd, n;

	snprintf(path, sizeof(path), "/sys/module/vkms/parameters/%s", name);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return false;
	n = snprintf(buf, sizeof(buf), "%d", value);
	n = write(fd, buf, n) == n;
	close(fd);
	return n;
}

/* ---- vgem ------------------------------------------------------------ */

int kms_vgem_open(void)
{
	return drm_open_driver("vgem");
}

void kms_vgem_bo_create(struct kms_dev *dev, int vgem_fd, int w, int h,
			uint32_t format, struct kms_vgem_bo *bo)
{
	struct drm_mode_create_dumb c = { 0 };

	memset(bo, 0, sizeof(*bo));
	bo->vgem_fd = vgem_fd;
	bo->width = w;
	bo->height = h;
	bo->format = format;
	c.width = w;
	c.height = h;
	c.bpp = kms_format_cpp(format) * 8;
	do_ioctl(vgem_fd, DRM_IOCTL_MODE_CREATE_DUMB, &c);
	bo->handle = c.handle;
	bo->pitch = c.pitch;
	bo->size = c.size;
	igt_assert_eq(drmPrimeHandleToFD(vgem_fd, bo->handle,
					 DRM_CLOEXEC | DRM_RDWR,
					 &bo->dmabuf_fd), 0);
	bo->map = mmap(NULL, bo->size, PROT_READ | PROT_WRITE, MAP_SHARED,
		       bo->dmabuf_fd, 0);
	igt_assert(bo->map != MAP_FAILED);
	igt_assert_eq(drmPrimeFDToHandle(dev->fd, bo->dmabuf_fd,
					 &bo->kms_handle), 0);
	igt_assert_eq(__kms_fb_add(dev->fd, w, h, format, bo->kms_handle,
				   bo->pitch, &bo->fb_id), 0);
}

void kms_vgem_bo_destroy(struct kms_dev *dev, struct kms_vgem_bo *bo)
{
	struct drm_gem_close cl = { 0 };

	if (bo->fb_id)
		drmModeRmFB(dev->fd, bo->fb_id);
	cl.handle = bo->kms_handle;
	igt_ioctl(dev->fd, DRM_IOCTL_GEM_CLOSE, &cl);
	munmap(bo->map, bo->size);
	close(bo->dmabuf_fd);
	cl.handle = bo->handle;
	igt_ioctl(bo->vgem_fd, DRM_IOCTL_GEM_CLOSE, &cl);
	memset(bo, 0, sizeof(*bo));
}

uint32_t kms_vgem_fence_attach(int vgem_fd, uint32_t handle, bool write)
{
	struct drm_vgem_fence_attach a = {
		.handle = handle,
		.flags = write ? VGEM_FENCE_WRITE : 0,
	};

	do_ioctl(vgem_fd, DRM_IOCTL_VGEM_FENCE_ATTACH, &a);
	return a.out_fence;
}

int __kms_vgem_fence_signal(int vgem_fd, uint32_t fence)
{
	struct drm_vgem_fence_signal s = { .fence = fence };

	return igt_ioctl(vgem_fd, DRM_IOCTL_VGEM_FENCE_SIGNAL, &s) ? -errno : 0;
}

void kms_vgem_fence_signal(int vgem_fd, uint32_t fence)
{
	igt_assert_eq(__kms_vgem_fence_signal(vgem_fd, fence), 0);
}

int kms_dmabuf_sync_file(int dmabuf_fd, bool write)
{
	struct dma_buf_export_sync_file arg = {
		/* a reader waits for the writers */
		.flags = write ? DMA_BUF_SYNC_READ : DMA_BUF_SYNC_WRITE,
		.fd = -1,
	};

	do_ioctl(dmabuf_fd, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, &arg);
	return arg.fd;
}

int kms_sync_file_status(int fd, uint64_t *ts_ns)
{
	struct sync_fence_info fi[8];
	struct sync_file_info info = { 0 };
	uint64_t ts = 0;

	info.num_fences = 8;
	info.sync_fence_info = (uintptr_t)fi;
	memset(fi, 0, sizeof(fi));
	do_ioctl(fd, SYNC_IOC_FILE_INFO, &info);
	for (uint32_t i = 0; i < info.num_fences && i < 8; i++)
		if (fi[i].timestamp_ns > ts)
			ts = fi[i].timestamp_ns;
	if (ts_ns)
		*ts_ns = ts;
	return info.status;
}

bool kms_sync_file_wait(int fd, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, timeout_ms) == 1;
}
