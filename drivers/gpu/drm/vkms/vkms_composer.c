// SPDX-License-Identifier: GPL-2.0
/*
 * vkms composer: composes a frame into the CRTC's output buffer, computes
 * its CRC and fills writeback buffers. Runs in the output's ordered
 * workqueue, queued by the vblank handler.
 *
 * The output buffer is XRGB8888 with the X byte 0xff, rows packed. The
 * CRC of a frame is crc32_le() seeded with ~0, without final inversion,
 * over the rows of that buffer, top to bottom (Documentation: the tests
 * compute the same in userspace).
 *
 * Arithmetic, which the tests reproduce exactly:
 *  - every channel is widened to 16 bits: an n-bit value v becomes v
 *    repeated from the top bit down (8 bits: v * 257; 10 bits:
 *    v << 6 | v >> 4; 5 bits: v << 11 | v << 6 | v << 1 | v >> 4; 6 bits:
 *    v << 10 | v << 4 | v >> 2; 2-bit alpha: v * 0x5555); formats without
 *    alpha have alpha 0xffff;
 *  - mul(x, y) = (t + (t >> 16)) >> 16 with t = x * y + 0x8000;
 *  - with plane alpha pa, pixel alpha a, source s and destination d:
 *    blend "None" (or a format without alpha): d = mul(s, pa) +
 *    mul(d, 0xffff - pa); "Coverage": e = mul(a, pa), d = mul(s, e) +
 *    mul(d, 0xffff - e); "Pre-multiplied": e = mul(a, pa), d = min(0xffff,
 *    mul(s, pa) + mul(d, 0xffff - e));
 *  - the background is black;
 *  - the CRTC's colour pipeline (struct vkms_colour), when there is one,
 *    maps each pixel (r, g, b) of the blended line, in this order:
 *     1. DEGAMMA_LUT, then 3. GAMMA_LUT: a LUT of n entries L[0..n-1]
 *        (one per channel, from &drm_color_lut) maps x to
 *        p = x * (n - 1), i = p / 0xffff, f = p % 0xffff,
 *        (L[i] * (0xffff - f) + L[i + 1] * f + 0x7fff) / 0xffff
 *        (integer division; L[n] = L[n - 1]): linear interpolation between
 *        the two entries around x, entry i standing at input
 *        i * 0xffff / (n - 1), rounded to the nearest (never a tie: the
 *        divisor is odd);
 *     2. CTM: with coefficients k (S31.32 sign-magnitude, magnitudes above
 *        4096.0 taken as 4096.0) as integers scaled by 2^32, output
 *        channel j is clamp((k[j][0] * r + k[j][1] * g + k[j][2] * b +
 *        2^31) >> 32, 0, 0xffff), the shift an arithmetic one (rounding to
 *        the nearest, ties up);
 *    a stage without its property is left out, and so is one that gives
 *    x back for every x (a LUT whose n - 1 divides 0xffff with entries
 *    k * 0xffff / (n - 1), a unit CTM);
 *  - the output keeps the top 8 bits of each channel.
 *
 * Speed: a line at a time. Per line, the topmost layer that is opaque and
 * spans the whole line is found and nothing below it is read. A line that
 * only that layer covers, when it is XRGB8888 (or ARGB8888 with alpha out
 * of play), is a memcpy plus setting the X bytes. Other lines convert each
 * layer's span with one switch on the format per span (no per-pixel
 * function pointers); opaque spans convert straight into the line
 * accumulator, the others into a scratch line blended in with one loop per
 * blend mode. With a colour pipeline a line that one XRGB8888 (or opaque
 * ARGB8888) layer covers alone goes through the pipeline straight from
 * the buffer (the degamma of 8-bit values from a table of 256), every
 * other line through the 16-bit accumulator (none of the 8-bit
 * shortcuts) and then the pipeline, which writes the output; without one
 * nothing of it is on the way.
 */
#include <linux/crc32.h>
#include <linux/fence.h>
#include <linux/mm.h>
#include <linux/slab.h>

#include <drm/drm_blend.h>
#include <drm/drm_crtc.h>
#include <drm/drm_debugfs_crc.h>
#include <drm/drm_fourcc.h>
#include <drm/drm_framebuffer.h>
#include <drm/drm_writeback.h>

#include <crossfence/compat.h>

#include "vkms_drv.h"

struct vkms_px {
	u16 a, r, g, b;
};

static inline u16 vkms_mul(u32 x, u32 y)
{
	u32 t = x * y + 0x8000;

	return (t + (t >> 16)) >> 16;
}

static inline u32 vkms_ld32(const u8 *p)
{
	return get_unaligned_le32(p);
}

static inline u16 vkms_ld16(const u8 *p)
{
	return get_unaligned_le16(p);
}

static inline u16 vkms_w10(u32 v)
{
	return (v << 6) | (v >> 4);
}

/* Convert @n pixels of layer @l starting at @src into @px. */
static void vkms_read_span(const struct vkms_layer *l, const u8 *src,
			   struct vkms_px *px, unsigned int n)
{
	unsigned int i;
	u32 v;

	switch (l->format) {
	case DRM_FORMAT_XRGB8888:
		for (i = 0; i < n; i++, src += 4) {
			v = vkms_ld32(src);
			px[i].a = 0xffff;
			px[i].r = ((v >> 16) & 0xff) * 257;
			px[i].g = ((v >> 8) & 0xff) * 257;
			px[i].b = (v & 0xff) * 257;
		}
		break;
	case DRM_FORMAT_ARGB8888:
		for (i = 0; i < n; i++, src += 4) {
			v = vkms_ld32(src);
			px[i].a = (v >> 24) * 257;
			px[i].r = ((v >> 16) & 0xff) * 257;
			px[i].g = ((v >> 8) & 0xff) * 257;
			px[i].b = (v & 0xff) * 257;
		}
		break;
	case DRM_FORMAT_XBGR8888:
		for (i = 0; i < n; i++, src += 4) {
			v = vkms_ld32(src);
			px[i].a = 0xffff;
			px[i].b = ((v >> 16) & 0xff) * 257;
			px[i].g = ((v >> 8) & 0xff) * 257;
			px[i].r = (v & 0xff) * 257;
		}
		break;
	case DRM_FORMAT_ABGR8888:
		for (i = 0; i < n; i++, src += 4) {
			v = vkms_ld32(src);
			px[i].a = (v >> 24) * 257;
			px[i].b = ((v >> 16) & 0xff) * 257;
			px[i].g = ((v >> 8) & 0xff) * 257;
			px[i].r = (v & 0xff) * 257;
		}
		break;
	case DRM_FORMAT_RGB565:
		for (i = 0; i < n; i++, src += 2) {
			u16 w = vkms_ld16(src);
			u16 r = w >> 11, g = (w >> 5) & 0x3f, b = w & 0x1f;

			px[i].a = 0xffff;
			px[i].r = (r << 11) | (r << 6) | (r << 1) | (r >> 4);
			px[i].g = (g << 10) | (g << 4) | (g >> 2);
			px[i].b = (b << 11) | (b << 6) | (b << 1) | (b >> 4);
		}
		break;
	case DRM_FORMAT_XRGB2101010:
		for (i = 0; i < n; i++, src += 4) {
			v = vkms_ld32(src);
			px[i].a = 0xffff;
			px[i].r = vkms_w10((v >> 20) & 0x3ff);
			px[i].g = vkms_w10((v >> 10) & 0x3ff);
			px[i].b = vkms_w10(v & 0x3ff);
		}
		break;
	case DRM_FORMAT_ARGB2101010:
		for (i = 0; i < n; i++, src += 4) {
			v = vkms_ld32(src);
			px[i].a = (v >> 30) * 0x5555;
			px[i].r = vkms_w10((v >> 20) & 0x3ff);
			px[i].g = vkms_w10((v >> 10) & 0x3ff);
			px[i].b = vkms_w10(v & 0x3ff);
		}
		break;
	default:
		memset(px, 0, n * sizeof(*px));
		break;
	}
}

/* Blend @n converted pixels of layer @l over the accumulator @d. */
static void vkms_blend_span(const struct vkms_layer *l, struct vkms_px *d,
			    const struct vkms_px *s, unsigned int n)
{
	u32 pa = l->alpha;
	unsigned int i;

	if (l->blend == DRM_MODE_BLEND_PIXEL_NONE || !l->has_alpha) {
		u32 ia = 0xffff - pa;

		for (i = 0; i < n; i++) {
			d[i].r = vkms_mul(s[i].r, pa) + vkms_mul(d[i].r, ia);
			d[i].g = vkms_mul(s[i].g, pa) + vkms_mul(d[i].g, ia);
			d[i].b = vkms_mul(s[i].b, pa) + vkms_mul(d[i].b, ia);
		}
	} else if (l->blend == DRM_MODE_BLEND_COVERAGE) {
		for (i = 0; i < n; i++) {
			u32 e = vkms_mul(s[i].a, pa), ie = 0xffff - e;

			d[i].r = vkms_mul(s[i].r, e) + vkms_mul(d[i].r, ie);
			d[i].g = vkms_mul(s[i].g, e) + vkms_mul(d[i].g, ie);
			d[i].b = vkms_mul(s[i].b, e) + vkms_mul(d[i].b, ie);
		}
	} else {
		for (i = 0; i < n; i++) {
			u32 ie = 0xffff - vkms_mul(s[i].a, pa);

			d[i].r = min_t(u32, 0xffff, vkms_mul(s[i].r, pa) +
				       vkms_mul(d[i].r, ie));
			d[i].g = min_t(u32, 0xffff, vkms_mul(s[i].g, pa) +
				       vkms_mul(d[i].g, ie));
			d[i].b = min_t(u32, 0xffff, vkms_mul(s[i].b, pa) +
				       vkms_mul(d[i].b, ie));
		}
	}
}

static void vkms_write_line(u32 *dst, const struct vkms_px *px,
			    unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		dst[i] = 0xff000000 | ((u32)(px[i].r >> 8) << 16) |
			 ((u32)(px[i].g >> 8) << 8) | (px[i].b >> 8);
}

/* One output channel of the CTM: row (@a, @b, @c) over (@r, @g, @bl). */
static inline u32 vkms_ctm(s64 a, s64 b, s64 c, u32 r, u32 g, u32 bl)
{
	s64 v = (a * r + b * g + c * bl + (1LL << 31)) >> 32;

	return clamp_val(v, 0, 0xffff);
}

/*
 * The colour pipeline @cl and the output's 8 bits, over @n pixels: from
 * the 16-bit line @px when @src is NULL, else straight from the 8-bit RGB
 * pixels at @src (a line that one copyable layer covers alone), the
 * degamma of those read from &vkms_colour.degamma8. The matrix and the
 * tables are copied into locals: with no strict aliasing in the kernel,
 * every store to @dst would read them again.
 */
static void vkms_colour_line(const struct vkms_colour *cl, u32 *dst,
			     const struct vkms_px *px, const u8 *src,
			     unsigned int n)
{
	const u32 dn = VKMS_DEGAMMA_LUT_SIZE - 1, gn = VKMS_GAMMA_LUT_SIZE - 1;
	const bool deg = cl->degamma, ctm = cl->ctm, gam = cl->gamma;
	const s64 k0 = cl->k[0], k1 = cl->k[1], k2 = cl->k[2];
	const s64 k3 = cl->k[3], k4 = cl->k[4], k5 = cl->k[5];
	const s64 k6 = cl->k[6], k7 = cl->k[7], k8 = cl->k[8];
	const u32 *dr = cl->degamma_lut[0], *dgr = cl->degamma_lut[1];
	const u32 *db = cl->degamma_lut[2], *gr = cl->gamma_lut[0];
	const u32 *gg = cl->gamma_lut[1], *gb = cl->gamma_lut[2];
	const u16 *d8r = cl->degamma8[0], *d8g = cl->degamma8[1];
	const u16 *d8b = cl->degamma8[2];
	unsigned int i;

	for (i = 0; i < n; i++) {
		u32 r, g, b, ir, ig, ib;

		if (src) {
			u32 v = vkms_ld32(src + 4 * i);

			r = (v >> 16) & 0xff;
			g = (v >> 8) & 0xff;
			b = v & 0xff;
			if (deg) {
				r = d8r[r];
				g = d8g[g];
				b = d8b[b];
			} else {
				r *= 257;
				g *= 257;
				b *= 257;
			}
		} else {
			r = px[i].r;
			g = px[i].g;
			b = px[i].b;
			if (deg) {
				r = vkms_lut_interp(dr, dn, r);
				g = vkms_lut_interp(dgr, dn, g);
				b = vkms_lut_interp(db, dn, b);
			}
		}
		if (ctm) {
			ir = r;
			ig = g;
			ib = b;
			r = vkms_ctm(k0, k1, k2, ir, ig, ib);
			g = vkms_ctm(k3, k4, k5, ir, ig, ib);
			b = vkms_ctm(k6, k7, k8, ir, ig, ib);
		}
		if (gam) {
			r = vkms_lut_interp(gr, gn, r);
			g = vkms_lut_interp(gg, gn, g);
			b = vkms_lut_interp(gb, gn, b);
		}
		dst[i] = 0xff000000 | (r >> 8) << 16 | (g >> 8) << 8 | b >> 8;
	}
}

/* Copy @n XRGB8888 pixels, setting their X bytes (two at a time). */
static void vkms_copy_x(u32 *dst, const u8 *src, unsigned int n)
{
	u64 *d64 = (u64 *)dst;
	unsigned int i;

	for (i = 0; i < n / 2; i++)
		d64[i] = get_unaligned((const u64 *)src + i) |
			 0xff000000ff000000ULL;
	if (n & 1)
		dst[n - 1] = get_unaligned_le32(src + 4 * (n - 1)) | 0xff000000;
}

static bool vkms_is_rgb32(const struct vkms_layer *l)
{
	return l->format == DRM_FORMAT_XRGB8888 ||
	       l->format == DRM_FORMAT_ARGB8888 ||
	       l->format == DRM_FORMAT_XBGR8888 ||
	       l->format == DRM_FORMAT_ABGR8888;
}

/*
 * Blend @n pixels of @l, an 8-bit RGB layer of 4 bytes per pixel, read
 * from @src, straight over the output pixels @row, when nothing else is
 * blended there: the arithmetic of vkms_read_span(), vkms_blend_span() and
 * vkms_write_line() over a line widened from @row, without the 16-bit
 * lines in memory. The u16 results wrap as the 16-bit lines do.
 */
static void vkms_blend_rgb32(const struct vkms_layer *l, u32 *row,
			     const u8 *src, unsigned int n)
{
	bool bgr = l->format == DRM_FORMAT_XBGR8888 ||
		   l->format == DRM_FORMAT_ABGR8888;
	int mode = l->has_alpha ? l->blend : DRM_MODE_BLEND_PIXEL_NONE;
	u32 pa = l->alpha, ia = 0xffff - pa;
	unsigned int i;

	for (i = 0; i < n; i++, src += 4) {
		u32 v = vkms_ld32(src), d = row[i];
		u32 sr = ((v >> 16) & 0xff) * 257, sg = ((v >> 8) & 0xff) * 257;
		u32 sb = (v & 0xff) * 257, e, ie, t;
		u32 dr = ((d >> 16) & 0xff) * 257, dg = ((d >> 8) & 0xff) * 257;
		u32 db = (d & 0xff) * 257;
		u16 r, g, b;

		if (bgr) {
			t = sr;
			sr = sb;
			sb = t;
		}
		if (mode == DRM_MODE_BLEND_PIXEL_NONE) {
			r = vkms_mul(sr, pa) + vkms_mul(dr, ia);
			g = vkms_mul(sg, pa) + vkms_mul(dg, ia);
			b = vkms_mul(sb, pa) + vkms_mul(db, ia);
		} else if (mode == DRM_MODE_BLEND_COVERAGE) {
			e = vkms_mul((v >> 24) * 257, pa);
			ie = 0xffff - e;
			r = vkms_mul(sr, e) + vkms_mul(dr, ie);
			g = vkms_mul(sg, e) + vkms_mul(dg, ie);
			b = vkms_mul(sb, e) + vkms_mul(db, ie);
		} else {
			ie = 0xffff - vkms_mul((v >> 24) * 257, pa);
			r = min_t(u32, 0xffff, vkms_mul(sr, pa) +
				  vkms_mul(dr, ie));
			g = min_t(u32, 0xffff, vkms_mul(sg, pa) +
				  vkms_mul(dg, ie));
			b = min_t(u32, 0xffff, vkms_mul(sb, pa) +
				  vkms_mul(db, ie));
		}
		row[i] = 0xff000000 | ((u32)(r >> 8) << 16) |
			 ((u32)(g >> 8) << 8) | (b >> 8);
	}
}

static inline const u8 *vkms_layer_src(const struct vkms_layer *l, int y)
{
	return l->vaddr + (size_t)(l->src.y1 + y - l->dst.y1) * l->pitch +
	       (size_t)l->src.x1 * l->cpp;
}

static inline bool vkms_layer_on_line(const struct vkms_layer *l, int y)
{
	return y >= l->dst.y1 && y < l->dst.y2;
}

/* Size the buffers for a @w x @h frame; they are kept while it fits. */
/* The composer allocates nothing: vkms_composer_reserve() did. */
static int vkms_composer_size(struct vkms_composer *c, u16 w, u16 h)
{
	if (!c->out || (size_t)w * h * 4 > c->out_size || w > c->line_px)
		return -ENOMEM;
	c->width = w;
	c->height = h;
	return 0;
}

/**
 * vkms_comp_bufs_free - free composer buffers
 * @b: the buffers, or NULL; the composer no longer uses them
 */
void vkms_comp_bufs_free(struct vkms_comp_bufs *b)
{
	if (!b)
		return;
	kvfree(b->out);
	kvfree(b->acc);
	kvfree(b->line);
	kfree(b);
}

/**
 * vkms_composer_reserve - make the composer's buffers hold a mode
 * @out: the output
 * @width: horizontal size of the mode
 * @height: vertical size of the mode
 *
 * Process context, before a commit's point of no return. Buffers only
 * grow: new ones are handed to the composer, which takes them at its next
 * run and gives the old ones to the reaper.
 *
 * Return: 0 or -ENOMEM.
 */
int vkms_composer_reserve(struct vkms_output *out, u16 width, u16 height)
{
	size_t px = (size_t)width * height;
	struct vkms_comp_bufs *b, *old;
	int ret = 0;

	mutex_lock(&out->reserve_lock);
	if (px <= out->comp_cap_px && width <= out->comp_cap_line)
		goto out_unlock;
	px = max(px, out->comp_cap_px);
	b = kzalloc(sizeof(*b), GFP_KERNEL);
	if (!b) {
		ret = -ENOMEM;
		goto out_unlock;
	}
	b->line_px = max_t(unsigned int, width, out->comp_cap_line);
	b->out_size = px * 4;
	b->out = kvmalloc(b->out_size, GFP_KERNEL);
	b->acc = kvmalloc_array(b->line_px, sizeof(struct vkms_px),
				GFP_KERNEL);
	b->line = kvmalloc_array(b->line_px, sizeof(struct vkms_px),
				 GFP_KERNEL);
	if (!b->out || !b->acc || !b->line) {
		vkms_comp_bufs_free(b);
		ret = -ENOMEM;
		goto out_unlock;
	}
	spin_lock_irq(&out->lock);
	old = out->comp_next;
	out->comp_next = b;
	out->comp_cap_px = px;
	out->comp_cap_line = b->line_px;
	spin_unlock_irq(&out->lock);
	/* never seen by the composer */
	vkms_comp_bufs_free(old);
out_unlock:
	mutex_unlock(&out->reserve_lock);
	return ret;
}

/* Composer: take the buffers reserved since the last run. Lock held. */
static void vkms_composer_take_bufs(struct vkms_output *out)
	__must_hold(&out->lock)
{
	struct vkms_composer *c = &out->comp;
	struct vkms_comp_bufs *b = out->comp_next;

	if (!b)
		return;
	out->comp_next = NULL;
	if (c->bufs) {
		llist_add(&c->bufs->reap, &out->reap_bufs);
		queue_work(system_wq, &out->reap_work);
	}
	c->bufs = b;
	c->out = b->out;
	c->out_size = b->out_size;
	c->acc = b->acc;
	c->line = b->line;
	c->line_px = b->line_px;
}

/* Widen @n output pixels back to 16 bits: exact for 8-bit sources. */
static void vkms_widen_line(struct vkms_px *px, const u32 *src,
			    unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		u32 v = src[i];

		px[i].r = ((v >> 16) & 0xff) * 257;
		px[i].g = ((v >> 8) & 0xff) * 257;
		px[i].b = (v & 0xff) * 257;
	}
}

static bool vkms_is_copyable(const struct vkms_layer *l)
{
	/* opaque, and the output format's own layout (X byte aside) */
	return l->format == DRM_FORMAT_XRGB8888 ||
	       l->format == DRM_FORMAT_ARGB8888;
}

/*
 * Layers @from to @f->nlayers - 1 that are on line @y, over the
 * accumulator @acc which holds the line from x = @x0 on.
 */
static void vkms_blend_layers(const struct vkms_frame *f, int from, int y,
			      struct vkms_px *acc, int x0,
			      struct vkms_px *line)
{
	int i;

	for (i = from; i < f->nlayers; i++) {
		const struct vkms_layer *l = &f->layers[i];
		unsigned int len = l->dst.x2 - l->dst.x1;
		struct vkms_px *d = acc + (l->dst.x1 - x0);

		if (!vkms_layer_on_line(l, y))
			continue;
		if (l->opaque) {
			vkms_read_span(l, vkms_layer_src(l, y), d, len);
		} else {
			vkms_read_span(l, vkms_layer_src(l, y), line, len);
			vkms_blend_span(l, d, line, len);
		}
	}
}

/* The source of layer @l at line @y and column @x of the CRTC. */
static inline const u8 *vkms_layer_at(const struct vkms_layer *l, int y,
				      int x)
{
	return vkms_layer_src(l, y) + (size_t)(x - l->dst.x1) * l->cpp;
}

/*
 * Blend the layers @from to @f->nlayers - 1 that are on line @y over
 * @row, which holds the layers below them. The line is cut where a layer
 * starts or ends; a piece that one layer covers alone is blended straight
 * into @row when the layer is 8-bit RGB (vkms_blend_rgb32()), the others
 * go through the 16-bit lines, from the topmost opaque layer over them
 * (or from @row) up.
 */
static void vkms_compose_above(struct vkms_composer *c,
			       const struct vkms_frame *f, int from, int y,
			       u32 *row)
{
	int cut[2 * VKMS_PLANES_PER_CRTC], on[VKMS_PLANES_PER_CRTC];
	int i, j, k, n = 0, ncut = 0;

	for (i = from; i < f->nlayers; i++) {
		const struct vkms_layer *l = &f->layers[i];

		if (!vkms_layer_on_line(l, y) || l->dst.x1 >= l->dst.x2)
			continue;
		on[n++] = i;
		cut[ncut++] = l->dst.x1;
		cut[ncut++] = l->dst.x2;
	}
	/* sort the cuts (at most 2 per plane) */
	for (i = 1; i < ncut; i++)
		for (j = i; j > 0 && cut[j - 1] > cut[j]; j--)
			swap(cut[j - 1], cut[j]);

	for (k = 0; k + 1 < ncut; k++) {
		int a = cut[k], b = cut[k + 1], top = -1, cnt = 0, first;
		const struct vkms_layer *l = NULL;
		unsigned int len = b - a;

		if (a == b)
			continue;
		for (i = 0; i < n; i++) {
			const struct vkms_layer *li = &f->layers[on[i]];

			if (li->dst.x1 > a || li->dst.x2 < b)
				continue;
			cnt++;
			l = li;
			if (li->opaque)
				top = i;
		}
		if (!cnt)
			continue;
		if (cnt == 1 && l->opaque && vkms_is_copyable(l)) {
			vkms_copy_x(row + a, vkms_layer_at(l, y, a), len);
			continue;
		}
		if (cnt == 1 && vkms_is_rgb32(l)) {
			vkms_blend_rgb32(l, row + a, vkms_layer_at(l, y, a), len);
			continue;
		}
		first = top >= 0 ? top : 0;
		if (top < 0)
			vkms_widen_line(c->acc, row + a, len);
		for (i = first; i < n; i++) {
			const struct vkms_layer *li = &f->layers[on[i]];
			const u8 *src = vkms_layer_at(li, y, a);

			if (li->dst.x1 > a || li->dst.x2 < b)
				continue;
			if (li->opaque) {
				vkms_read_span(li, src, c->acc, len);
			} else {
				vkms_read_span(li, src, c->line, len);
				vkms_blend_span(li, c->acc, c->line, len);
			}
		}
		vkms_write_line(row + a, c->acc, len);
	}
}

/* Compose line @y of @f into @row. */
static void vkms_compose_line(struct vkms_composer *c,
			      const struct vkms_frame *f, int y, u32 *row)
{
	int i, base = -1, n = f->nlayers, x1 = f->width, x2 = 0;
	unsigned int w = f->width;

	/*
	 * The topmost opaque layer spanning the line hides the ones below;
	 * note where the layers above it are.
	 */
	for (i = n - 1; i >= 0; i--) {
		const struct vkms_layer *l = &f->layers[i];

		if (!vkms_layer_on_line(l, y))
			continue;
		if (l->opaque && l->dst.x1 == 0 && l->dst.x2 == w) {
			base = i;
			break;
		}
		x1 = min(x1, l->dst.x1);
		x2 = max(x2, l->dst.x2);
	}

	if (f->colour && base >= 0 && x1 >= x2 &&
	    vkms_is_copyable(&f->layers[base])) {
		/* one 8-bit layer alone: no 16-bit line */
		vkms_colour_line(f->colour, row, NULL,
				 vkms_layer_src(&f->layers[base], y), w);
		return;
	}
	if (base >= 0 && vkms_is_copyable(&f->layers[base]) && !f->colour) {
		/* Copy the line; blend what is above it over its span only. */
		vkms_copy_x(row, vkms_layer_src(&f->layers[base], y), w);
		if (x1 < x2)
			vkms_compose_above(c, f, base + 1, y, row);
		return;
	}
	if (base < 0)
		memset(c->acc, 0, w * sizeof(struct vkms_px));
	vkms_blend_layers(f, max(base, 0), y, c->acc, 0, c->line);
	if (f->colour)
		vkms_colour_line(f->colour, row, c->acc, NULL, w);
	else
		vkms_write_line(row, c->acc, w);
}

/* Compose @f into the output buffer; its CRC in @crc if asked for. */
static int vkms_compose(struct vkms_composer *c, const struct vkms_frame *f,
			u32 *crc)
{
	u32 sum = ~0U;
	int y, ret;

	ret = vkms_composer_size(c, f->width, f->height);
	if (ret)
		return ret;

	for (y = 0; y < f->height; y++) {
		u32 *row = c->out + (size_t)y * f->width;

		vkms_compose_line(c, f, y, row);
		/* a frame through the colour pipeline is slow on TCG */
		if (f->colour && !(y % 64))
			cond_resched();
		if (crc)
			sum = crc32_le(sum, (const u8 *)row, f->width * 4);
	}
	if (crc)
		*crc = sum;
	return 0;
}

static void vkms_writeback_copy(struct vkms_composer *c, struct vkms_wb_job *j)
{
	struct drm_framebuffer *fb = j->fb;
	u8 *dst = j->data[0].vaddr;
	unsigned int y;

	for (y = 0; y < c->height && y < fb->height; y++)
		memcpy(dst + (size_t)y * fb->pitches[0],
		       c->out + (size_t)y * c->width,
		       min_t(u32, c->width, fb->width) * 4);
}

/* Capture the output buffer into the captures latched up to @seq. */
static void vkms_writeback_done(struct vkms_output *out, u64 seq, int status)
{
	struct vkms_composer *c = &out->comp;
	struct vkms_wb_job *j, *next;

	list_for_each_entry_safe(j, next, &c->wb, node) {
		if (j->seq > seq)
			break;
		list_del(&j->node);
		if (!status)
			vkms_writeback_copy(c, j);
		spin_lock_irq(&out->lock);
		out->stats.wb_done++;
		spin_unlock_irq(&out->lock);
		/* after this the job may be freed by DRM's cleanup worker */
		drm_writeback_signal_completion(&out->wb, status);
	}
}

/* Take the requests and captures the vblanks queued. Lock held. */
static unsigned int vkms_compose_take(struct vkms_output *out, u64 *taken)
	__must_hold(&out->lock)
{
	struct vkms_composer *c = &out->comp;
	unsigned int i, n = out->ring_len;

	vkms_composer_take_bufs(out);
	for (i = 0; i < n; i++)
		c->reqs[i] = out->ring[(out->ring_head + i) % VKMS_COMPOSE_RING];
	out->ring_head = (out->ring_head + n) % VKMS_COMPOSE_RING;
	out->ring_len = 0;
	*taken = out->reads_queued;
	list_splice_tail_init(&out->wb_latched, &c->wb);
	return n;
}

/* The CRC of the output buffer as it is. */
static u32 vkms_output_crc(const struct vkms_composer *c)
{
	return crc32_le(~0U, (const u8 *)c->out, (size_t)c->width *
			c->height * 4);
}

/*
 * Compose @req's frame, or reuse @fresh's composition of it from earlier
 * in this run (and its CRC, computed once). Returns 0 or the error of the
 * composition.
 */
static int vkms_compose_req(struct vkms_output *out,
			    struct vkms_compose_req *req,
			    struct vkms_frame **fresh, u32 *crc)
{
	struct vkms_composer *c = &out->comp;
	ktime_t t0, dt;
	int ret;

	if (req->frame == *fresh) {
		if (req->crc && !c->crc_valid) {
			c->crc = vkms_output_crc(c);
			c->crc_valid = true;
		}
		*crc = c->crc;
		return 0;
	}
	t0 = ktime_get();
	ret = vkms_compose(c, req->frame, req->crc ? crc : NULL);
	c->crc_valid = !ret && req->crc;
	c->crc = *crc;
	dt = ktime_sub(ktime_get(), t0);
	spin_lock_irq(&out->lock);
	out->stats.composed++;
	out->stats.compose_ns_last = ktime_to_ns(dt);
	if (out->stats.compose_ns_max < ktime_to_ns(dt))
		out->stats.compose_ns_max = ktime_to_ns(dt);
	spin_unlock_irq(&out->lock);
	vkms_frame_put_deferred(out, *fresh);
	*fresh = NULL;
	if (!ret) {
		refcount_inc(&req->frame->ref);
		*fresh = req->frame;
	}
	return ret;
}

/**
 * vkms_compose_work - the composer worker of an output
 * @work: &vkms_output.compose_work
 *
 * Takes the compose requests the vblanks queued and, for each, composes
 * its frame when something reads it (a CRC, a writeback capture), adds one
 * CRC entry per vblank the frame was shown in, completes the writeback
 * captures, and drops the frames. Then it takes what was queued meanwhile,
 * until nothing is left.
 *
 * A frame is composed once per run: vblanks of the same frame queued while
 * the worker runs reuse that composition, made from a read of the frame
 * during those vblanks. So a composer slower than the refresh rate (a big
 * mode under TCG on a loaded host) still catches up after each
 * composition, and the flips that wait for it (the scan-out rule next to
 * &vkms_output.lock) are delayed, not starved.
 */
void vkms_compose_work(struct work_struct *work)
{
	struct vkms_output *out = container_of(work, struct vkms_output,
					       compose_work);
	struct vkms_composer *c = &out->comp;
	struct vkms_compose_req *reqs = c->reqs;
	struct vkms_frame *fresh = NULL;
	unsigned int i, n, cookie;
	u64 taken;

	/*
	 * Flips wait for this (the scan-out rule), and so do writeback
	 * out-fences: no allocation, no sleeping lock, no freeing here.
	 */
	cookie = fence_begin_signalling();
	while (!READ_ONCE(out->compose_hold)) {
		spin_lock_irq(&out->lock);
		n = vkms_compose_take(out, &taken);
		spin_unlock_irq(&out->lock);
		if (!n)
			break;

		for (i = 0; i < n; i++) {
			struct vkms_compose_req *req = &reqs[i];
			struct vkms_wb_job *wb;
			int status = -ENODATA;
			bool replaced, want;
			u32 crc = 0;
			u64 seq;

			/* replaced within its own last vblank: never shown */
			replaced = i + 1 < n && reqs[i + 1].first <= req->last;
			wb = list_first_entry_or_null(&c->wb, struct vkms_wb_job,
						      node);
			want = req->crc || (wb && wb->seq <= req->last);

			if (!replaced && want && req->frame)
				status = vkms_compose_req(out, req, &fresh,
							  &crc);
			if (!replaced && !status && req->crc) {
				spin_lock_irq(&out->lock);
				out->stats.crc_entries += req->last -
							  req->first + 1;
				spin_unlock_irq(&out->lock);
				for (seq = req->first; seq <= req->last; seq++)
					drm_crtc_add_crc_entry(&out->crtc, true,
							       (u32)seq, &crc);
			}
			if (!replaced)
				vkms_writeback_done(out, req->last, status);
			vkms_frame_put_deferred(out, req->frame);
		}

		/* Scan-out has moved off every frame read so far. */
		spin_lock_irq(&out->lock);
		out->reads_done = taken;
		spin_unlock_irq(&out->lock);
		cond_resched();
	}
	fence_end_signalling(cookie);
	vkms_frame_put(fresh);
}

/**
 * vkms_composer_fini - free the composer's buffers
 * @out: the output, its composer worker and reaper flushed
 */
void vkms_composer_fini(struct vkms_output *out)
{
	struct vkms_composer *c = &out->comp;

	vkms_comp_bufs_free(out->comp_next);
	out->comp_next = NULL;
	vkms_comp_bufs_free(c->bufs);
	c->bufs = NULL;
	c->out = NULL;
	c->acc = NULL;
	c->line = NULL;
	c->out_size = 0;
	c->line_px = 0;
}
