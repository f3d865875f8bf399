// SPDX-License-Identifier: GPL-2.0
/*
 * KMS helpers for the vkms tests. See kms.h.
 */
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
	drmModeResPtr res;
	drmModePlaneResPtr pres;
	struct stat st;

	memset(dev, 0, sizeof(*dev));
	dev->fd = drm_open_driver("vkms");
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
	for (int i = 0; i < res->count_connectors; i++) {
		drmModeConnectorPtr c = drmModeGetConnector(dev->fd,
							    res->connectors[i]);
		drmModeEncoderPtr e;

		igt_assert(c);
		igt_assert(c->count_encoders >= 1);
		e = drmModeGetEncoder(dev->fd, c->encoders[0]);
		igt_assert(e);
		for (int k = 0; k < dev->noutputs; k++) {
			if (!(e->possible_crtcs & (1u << k)))
				continue;
			if (c->connector_type == DRM_MODE_CONNECTOR_WRITEBACK) {
				dev->out[k].wb_connector_id = c->connector_id;
			} else {
				dev->out[k].connector_id = c->connector_id;
				dev->out[k].encoder_id = e->encoder_id;
			}
			break;
		}
		drmModeFreeEncoder(e);
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
		else if (o->noverlays < 2)
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

uint32_t kms_format_cpp(uint32_t format)
{
	return format == DRM_FORMAT_RGB565 ? 2 : 4;
}

bool kms_format_has_alpha(uint32_t format)
{
	return format == DRM_FORMAT_ARGB8888 || format == DRM_FORMAT_ABGR8888 ||
	       format == DRM_FORMAT_ARGB2101010;
}

const char *kms_format_name(uint32_t format)
{
	switch (format) {
	case DRM_FORMAT_XRGB8888: return "XRGB8888";
	case DRM_FORMAT_ARGB8888: return "ARGB8888";
	case DRM_FORMAT_XBGR8888: return "XBGR8888";
	case DRM_FORMAT_ABGR8888: return "ABGR8888";
	case DRM_FORMAT_RGB565: return "RGB565";
	case DRM_FORMAT_XRGB2101010: return "XRGB2101010";
	case DRM_FORMAT_ARGB2101010: return "ARGB2101010";
	default: return "?";
	}
}

uint32_t kms_pack(uint32_t format, struct kms_px c)
{
	uint32_t a8 = c.a >> 8, r8 = c.r >> 8, g8 = c.g >> 8, b8 = c.b >> 8;

	switch (format) {
	case DRM_FORMAT_XRGB8888:
	case DRM_FORMAT_ARGB8888:
		return a8 << 24 | r8 << 16 | g8 << 8 | b8;
	case DRM_FORMAT_XBGR8888:
	case DRM_FORMAT_ABGR8888:
		return a8 << 24 | b8 << 16 | g8 << 8 | r8;
	case DRM_FORMAT_RGB565:
		return (c.r >> 11) << 11 | (c.g >> 10) << 5 | (c.b >> 11);
	case DRM_FORMAT_XRGB2101010:
	case DRM_FORMAT_ARGB2101010:
		return (uint32_t)(c.a >> 14) << 30 | (uint32_t)(c.r >> 6) << 20 |
		       (uint32_t)(c.g >> 6) << 10 | (c.b >> 6);
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

struct kms_px kms_unpack(uint32_t format, uint32_t raw)
{
	struct kms_px p;

	switch (format) {
	case DRM_FORMAT_XRGB8888:
	case DRM_FORMAT_ARGB8888:
		p.a = widen(raw >> 24, 8);
		p.r = widen((raw >> 16) & 0xff, 8);
		p.g = widen((raw >> 8) & 0xff, 8);
		p.b = widen(raw & 0xff, 8);
		break;
	case DRM_FORMAT_XBGR8888:
	case DRM_FORMAT_ABGR8888:
		p.a = widen(raw >> 24, 8);
		p.b = widen((raw >> 16) & 0xff, 8);
		p.g = widen((raw >> 8) & 0xff, 8);
		p.r = widen(raw & 0xff, 8);
		break;
	case DRM_FORMAT_RGB565:
		p.a = 0xffff;
		p.r = widen((raw >> 11) & 0x1f, 5);
		p.g = widen((raw >> 5) & 0x3f, 6);
		p.b = widen(raw & 0x1f, 5);
		break;
	case DRM_FORMAT_XRGB2101010:
	case DRM_FORMAT_ARGB2101010:
		p.a = widen(raw >> 30, 2);
		p.r = widen((raw >> 20) & 0x3ff, 10);
		p.g = widen((raw >> 10) & 0x3ff, 10);
		p.b = widen(raw & 0x3ff, 10);
		break;
	default:
		igt_assert_f(0, "format %08x\n", format);
	}
	if (!kms_format_has_alpha(format))
		p.a = 0xffff;
	return p;
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

void kms_fb_create(int fd, int w, int h, uint32_t format, struct kms_fb *fb)
{
	struct drm_mode_create_dumb c = { 0 };
	struct drm_mode_map_dumb m = { 0 };

	memset(fb, 0, sizeof(*fb));
	fb->fd = fd;
	fb->width = w;
	fb->height = h;
	fb->format = format;
	fb->cpp = kms_format_cpp(format);
	c.width = w;
	c.height = h;
	c.bpp = fb->cpp * 8;
	do_ioctl(fd, DRM_IOCTL_MODE_CREATE_DUMB, &c);
	fb->handle = c.handle;
	fb->pitch = c.pitch;
	fb->size = c.size;
	m.handle = c.handle;
	do_ioctl(fd, DRM_IOCTL_MODE_MAP_DUMB, &m);
	fb->map = mmap(NULL, fb->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		       m.offset);
	igt_assert(fb->map != MAP_FAILED);
	igt_assert_eq(__kms_fb_add(fd, w, h, format, fb->handle, fb->pitch,
				   &fb->id), 0);
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

void kms_fb_put(struct kms_fb *fb, int x, int y, uint32_t raw)
{
	uint8_t *p = fb->map + (size_t)y * fb->pitch + (size_t)x * fb->cpp;

	if (fb->cpp == 2) {
		uint16_t v = raw;

		memcpy(p, &v, 2);
	} else {
		memcpy(p, &raw, 4);
	}
}

uint32_t kms_fb_get(const struct kms_fb *fb, int x, int y)
{
	const uint8_t *p = fb->map + (size_t)y * fb->pitch +
			   (size_t)x * fb->cpp;

	if (fb->cpp == 2) {
		uint16_t v;

		memcpy(&v, p, 2);
		return v;
	}
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

void kms_fb_fill(struct kms_fb *fb, struct kms_px c)
{
	uint32_t raw = kms_pack(fb->format, c);

	for (uint32_t x = 0; x < fb->width; x++)
		kms_fb_put(fb, x, 0, raw);
	for (uint32_t y = 1; y < fb->height; y++)
		memcpy(fb->map + (size_t)y * fb->pitch, fb->map,
		       (size_t)fb->width * fb->cpp);
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
	for (uint32_t y = 0; y < fb->height; y++) {
		for (uint32_t x = 0; x < fb->width; x++) {
			uint32_t raw = hash32(seed * 0x9e3779b9u ^ (y << 16) ^ x);

			if (!alpha && kms_format_has_alpha(fb->format))
				raw |= fb->format == DRM_FORMAT_ARGB2101010 ?
				       0xc0000000u : 0xff000000u;
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

void kms_ref_compose16(struct kms_px *acc, int w, int h,
		       const struct kms_layer *layers, int n)
{
	const struct kms_layer *sorted[16];

	igt_assert(n <= 16);
	memset(acc, 0, (size_t)w * h * sizeof(*acc));
	for (int i = 0; i < n; i++)
		sorted[i] = &layers[i];
	qsort(sorted, n, sizeof(sorted[0]), cmp_layer);

	for (int i = 0; i < n; i++) {
		const struct kms_layer *l = sorted[i];
		bool alpha = kms_format_has_alpha(l->fb->format) &&
			     l->blend != KMS_BLEND_NONE;
		uint32_t pa = l->alpha;

		for (int y = 0; y < l->h; y++) {
			int cy = l->crtc_y + y;

			if (cy < 0 || cy >= h)
				continue;
			for (int x = 0; x < l->w; x++) {
				int cx = l->crtc_x + x;
				struct kms_px s, *d;
				uint32_t e, ie;

				if (cx < 0 || cx >= w)
					continue;
				s = kms_unpack(l->fb->format,
					       kms_fb_get(l->fb, l->src_x + x,
							  l->src_y + y));
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
					uint32_t v;

					ie = 0xffff - mul16(s.a, pa);
					v = mul16(s.r, pa) + mul16(d->r, ie);
					d->r = v > 0xffff ? 0xffff : v;
					v = mul16(s.g, pa) + mul16(d->g, ie);
					d->g = v > 0xffff ? 0xffff : v;
					v = mul16(s.b, pa) + mul16(d->b, ie);
					d->b = v > 0xffff ? 0xffff : v;
				}
			}
		}
	}
	for (size_t i = 0; i < (size_t)w * h; i++)
		acc[i].a = 0xffff;
}

void kms_ref_compose(uint32_t *out, int w, int h,
		     const struct kms_layer *layers, int n)
{
	struct kms_px *acc = malloc((size_t)w * h * sizeof(*acc));

	igt_assert(acc);
	kms_ref_compose16(acc, w, h, layers, n);
	for (size_t i = 0; i < (size_t)w * h; i++)
		out[i] = 0xff000000u | (uint32_t)(acc[i].r >> 8) << 16 |
			 (uint32_t)(acc[i].g >> 8) << 8 | (acc[i].b >> 8);
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
		if (id == o->primary || id == o->cursor ||
		    id == o->overlay[0] || id == o->overlay[1])
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
