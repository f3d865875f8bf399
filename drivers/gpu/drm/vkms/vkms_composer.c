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
 *  - every RGB channel is widened to 16 bits: an n-bit value v becomes v
 *    repeated from the top bit down (8 bits: v * 257; 10 bits:
 *    v << 6 | v >> 4; 5 bits: v << 11 | v << 6 | v << 1 | v >> 4; 6 bits:
 *    v << 10 | v << 4 | v >> 2; 2-bit alpha: v * 0x5555; 16 bits: as is);
 *    formats without alpha have alpha 0xffff;
 *  - greyscale R1, R2, R4, R8 (pixel 0 in the top bits of its byte): the
 *    value repeated the same way (v * 0xffff, v * 0x5555, v * 0x1111,
 *    v * 257) in R, G and B;
 *  - YUV: the luma sample of the pixel and the chroma samples of
 *    (x / hsub, y / vsub) in the source (nearest, no filtering), each as
 *    a 16-bit number: an 8-bit sample v is v << 8, a 16-bit one (P010,
 *    P012, P016) its word with the padding bits cleared. With Q16 factors
 *    K = (ky, rv, gu, gv, bu), t = ky * (Y - yoff), cb = Cb - 0x8000,
 *    cr = Cr - 0x8000 (64-bit sums): R = q(t + rv * cr),
 *    G = q(t - gu * cb - gv * cr), B = q(t + bu * cb),
 *    where q(s) is 0 for s < 0, else min(0xffff, (s + 0x8000) >> 16).
 *    With Kr, Kb of the COLOR_ENCODING (BT.601: 0.299, 0.114; BT.709:
 *    0.2126, 0.0722; BT.2020: 0.2627, 0.0593), Kg = 1 - Kr - Kb, and for
 *    COLOR_RANGE full: sy = sc = 1, yoff = 0; limited: sy = 255 / 219,
 *    sc = 255 / 224, yoff = 16 << 8: ky = sy, rv = sc * 2 (1 - Kr),
 *    gu = sc * 2 Kb (1 - Kb) / Kg, gv = sc * 2 Kr (1 - Kr) / Kg,
 *    bu = sc * 2 (1 - Kb), each times 65536 rounded to nearest
 *    (vkms_yuv_k[]); alpha 0xffff;
 *  - rotation and reflection as DRM defines them (drm_rect_rotate():
 *    reflect in the framebuffer, then rotate counter-clockwise): each
 *    CRTC pixel shows exactly one source pixel, nothing is filtered;
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
 * Writeback gets the output buffer: XRGB8888 and ARGB8888 as they are
 * (alpha 0xff), XRGB16161616 and ARGB16161616 with each channel v * 257
 * (alpha 0xffff), RGB565 with the top 5, 6, 5 bits.
 *
 * Speed: a line at a time. Per line, the topmost layer that is opaque and
 * spans the whole line is found and nothing below it is read. A line that
 * only that layer covers, when it is XRGB8888 (or ARGB8888 with alpha out
 * of play), is a memcpy plus setting the X bytes. Other lines convert each
 * layer's span with one switch on the format per span (no per-pixel
 * function pointers); opaque spans convert straight into the line
 * accumulator, the others into a scratch line blended in with one loop per
 * blend mode. A rotated or reflected layer is read with the same loops,
 * the source pointer moving by &vkms_layer.step bytes per pixel (a
 * column of the source for 90 and 270 degrees); the copy and the 8-bit
 * blend take any step (the copy moves two pixels at a time when the
 * pixels are in order). With a colour pipeline a line that one XRGB8888
 * (or opaque ARGB8888) layer covers alone goes through the pipeline
 * straight from the buffer (the degamma of 8-bit values from a table of
 * 256), every other line through the 16-bit accumulator (none of the
 * 8-bit shortcuts) and then the pipeline, which writes the output;
 * without one nothing of it is on the way.
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

static inline u16 vkms_w5(u32 v)
{
	return (v << 11) | (v << 6) | (v << 1) | (v >> 4);
}

static inline u16 vkms_w6(u32 v)
{
	return (v << 10) | (v << 4) | (v >> 2);
}

/*
 * The readers below take the source pointer of the first pixel and @step,
 * the bytes to the next pixel along the CRTC line (&vkms_layer.step), so
 * that rotation and reflection cost one signed add per pixel. They are
 * inlined with constant shifts, one loop per format.
 */

/* 32-bit pixels of 8-bit channels at shifts @as (alpha; < 0: none), @rs... */
static __always_inline void vkms_rd_8888(struct vkms_px *px, const u8 *src,
					 int step, unsigned int n, int as,
					 int rs, int gs, int bs)
{
	unsigned int i;

	for (i = 0; i < n; i++, src += step) {
		u32 v = vkms_ld32(src);

		px[i].a = as < 0 ? 0xffff : ((v >> as) & 0xff) * 257;
		px[i].r = ((v >> rs) & 0xff) * 257;
		px[i].g = ((v >> gs) & 0xff) * 257;
		px[i].b = ((v >> bs) & 0xff) * 257;
	}
}

/* 64-bit pixels of 16-bit channels at shifts @as (< 0: none), @rs... */
static __always_inline void vkms_rd_16161616(struct vkms_px *px,
					     const u8 *src, int step,
					     unsigned int n, int as, int rs,
					     int gs, int bs)
{
	unsigned int i;

	for (i = 0; i < n; i++, src += step) {
		u64 v = get_unaligned_le64(src);

		px[i].a = as < 0 ? 0xffff : (u16)(v >> as);
		px[i].r = (u16)(v >> rs);
		px[i].g = (u16)(v >> gs);
		px[i].b = (u16)(v >> bs);
	}
}

/* 16-bit 5:6:5 pixels, red at bit @rs and blue at bit @bs. */
static __always_inline void vkms_rd_565(struct vkms_px *px, const u8 *src,
					int step, unsigned int n, int rs,
					int bs)
{
	unsigned int i;

	for (i = 0; i < n; i++, src += step) {
		u16 w = vkms_ld16(src);

		px[i].a = 0xffff;
		px[i].r = vkms_w5((w >> rs) & 0x1f);
		px[i].g = vkms_w6((w >> 5) & 0x3f);
		px[i].b = vkms_w5((w >> bs) & 0x1f);
	}
}

/* 24-bit pixels, red in byte @ri and blue in byte @bi. */
static __always_inline void vkms_rd_888(struct vkms_px *px, const u8 *src,
					int step, unsigned int n, int ri,
					int bi)
{
	unsigned int i;

	for (i = 0; i < n; i++, src += step) {
		px[i].a = 0xffff;
		px[i].r = src[ri] * 257;
		px[i].g = src[1] * 257;
		px[i].b = src[bi] * 257;
	}
}

static __always_inline void vkms_rd_2101010(struct vkms_px *px,
					    const u8 *src, int step,
					    unsigned int n, bool alpha)
{
	unsigned int i;

	for (i = 0; i < n; i++, src += step) {
		u32 v = vkms_ld32(src);

		px[i].a = alpha ? (v >> 30) * 0x5555 : 0xffff;
		px[i].r = vkms_w10((v >> 20) & 0x3ff);
		px[i].g = vkms_w10((v >> 10) & 0x3ff);
		px[i].b = vkms_w10(v & 0x3ff);
	}
}

/* Source coordinates of CRTC pixel (@x, @y) of layer @l. */
static inline void vkms_layer_uv(const struct vkms_layer *l, int x, int y,
				 int *u, int *v)
{
	int dx = x - l->dst.x1, dy = y - l->dst.y1;

	*u = l->u0 + l->ux * dx + l->uy * dy;
	*v = l->v0 + l->vx * dx + l->vy * dy;
}

/* The source of CRTC pixel (@x, @y) of @l, a format of whole bytes. */
static inline const u8 *vkms_layer_at(const struct vkms_layer *l, int y,
				      int x)
{
	int u, v;

	vkms_layer_uv(l, x, y, &u, &v);
	return l->vaddr + (size_t)v * l->pitch + (size_t)u * l->cpp;
}

/* R1, R2, R4 and R8: grey, pixel 0 in the top bits of its byte. */
static void vkms_rd_grey(const struct vkms_layer *l, int x, int y,
			 struct vkms_px *px, unsigned int n)
{
	unsigned int i, bpp = l->bpp, mask = (1U << bpp) - 1;
	u16 mul = 0xffff / mask;
	int u, v;

	vkms_layer_uv(l, x, y, &u, &v);
	for (i = 0; i < n; i++, u += l->ux, v += l->vx) {
		unsigned int bit = u * bpp;
		u8 b = l->vaddr[(size_t)v * l->pitch + bit / 8];
		u16 c = ((b >> (8 - bpp - bit % 8)) & mask) * mul;

		px[i].a = 0xffff;
		px[i].r = c;
		px[i].g = c;
		px[i].b = c;
	}
}

/* A Q16 sum, rounded, to 16 bits; below 0 and above 0xffff clamped. */
static inline u16 vkms_q16(s64 t)
{
	if (t < 0)
		return 0;
	t = (t + 0x8000) >> 16;
	return t > 0xffff ? 0xffff : t;
}

/* YUV: luma at (u, v), chroma at (u / hsub, v / vsub), no filtering. */
static void vkms_rd_yuv(const struct vkms_layer *l, int x, int y,
			struct vkms_px *px, unsigned int n)
{
	const struct vkms_yuv *c = &l->yuv;
	unsigned int i;
	int u, v;

	vkms_layer_uv(l, x, y, &u, &v);
	for (i = 0; i < n; i++, u += l->ux, v += l->vx) {
		const u8 *py = l->vaddr + (size_t)v * l->pitch +
			       (size_t)u * l->cpp;
		size_t cu = (size_t)(u >> c->hshift) * c->cstep;
		size_t cv = v >> c->vshift;
		const u8 *pb = c->cb + cv * c->cb_pitch + cu;
		const u8 *pr = c->cr + cv * c->cr_pitch + cu;
		s32 ly, cb, cr;
		s64 t;

		if (c->wide) {
			ly = vkms_ld16(py) & c->mask;
			cb = vkms_ld16(pb) & c->mask;
			cr = vkms_ld16(pr) & c->mask;
		} else {
			ly = *py << 8;
			cb = *pb << 8;
			cr = *pr << 8;
		}
		t = (s64)c->ky * (ly - c->yoff);
		cb -= 0x8000;
		cr -= 0x8000;
		px[i].a = 0xffff;
		px[i].r = vkms_q16(t + (s64)c->rv * cr);
		px[i].g = vkms_q16(t - (s64)c->gu * cb - (s64)c->gv * cr);
		px[i].b = vkms_q16(t + (s64)c->bu * cb);
	}
}

/* Convert @n pixels of layer @l from CRTC pixel (@x, @y) on into @px. */
static void vkms_read_span(const struct vkms_layer *l, int x, int y,
			   struct vkms_px *px, unsigned int n)
{
	const u8 *src;
	int step = l->step;

	if (l->is_yuv) {
		vkms_rd_yuv(l, x, y, px, n);
		return;
	}
	if (l->bpp <= 8) {
		vkms_rd_grey(l, x, y, px, n);
		return;
	}
	src = vkms_layer_at(l, y, x);
	switch (l->format) {
	case DRM_FORMAT_XRGB8888:
		vkms_rd_8888(px, src, step, n, -1, 16, 8, 0);
		break;
	case DRM_FORMAT_ARGB8888:
		vkms_rd_8888(px, src, step, n, 24, 16, 8, 0);
		break;
	case DRM_FORMAT_XBGR8888:
		vkms_rd_8888(px, src, step, n, -1, 0, 8, 16);
		break;
	case DRM_FORMAT_ABGR8888:
		vkms_rd_8888(px, src, step, n, 24, 0, 8, 16);
		break;
	case DRM_FORMAT_RGBX8888:
		vkms_rd_8888(px, src, step, n, -1, 24, 16, 8);
		break;
	case DRM_FORMAT_RGBA8888:
		vkms_rd_8888(px, src, step, n, 0, 24, 16, 8);
		break;
	case DRM_FORMAT_BGRX8888:
		vkms_rd_8888(px, src, step, n, -1, 8, 16, 24);
		break;
	case DRM_FORMAT_BGRA8888:
		vkms_rd_8888(px, src, step, n, 0, 8, 16, 24);
		break;
	case DRM_FORMAT_RGB888:
		vkms_rd_888(px, src, step, n, 2, 0);
		break;
	case DRM_FORMAT_BGR888:
		vkms_rd_888(px, src, step, n, 0, 2);
		break;
	case DRM_FORMAT_RGB565:
		vkms_rd_565(px, src, step, n, 11, 0);
		break;
	case DRM_FORMAT_BGR565:
		vkms_rd_565(px, src, step, n, 0, 11);
		break;
	case DRM_FORMAT_XRGB2101010:
		vkms_rd_2101010(px, src, step, n, false);
		break;
	case DRM_FORMAT_ARGB2101010:
		vkms_rd_2101010(px, src, step, n, true);
		break;
	case DRM_FORMAT_XRGB16161616:
		vkms_rd_16161616(px, src, step, n, -1, 32, 16, 0);
		break;
	case DRM_FORMAT_ARGB16161616:
		vkms_rd_16161616(px, src, step, n, 48, 32, 16, 0);
		break;
	case DRM_FORMAT_XBGR16161616:
		vkms_rd_16161616(px, src, step, n, -1, 0, 16, 32);
		break;
	case DRM_FORMAT_ABGR16161616:
		vkms_rd_16161616(px, src, step, n, 48, 0, 16, 32);
		break;
	default:
		memset(px, 0, n * sizeof(*px));
		break;
	}
}

/*
 * YUV to RGB factors, Q16, for COLOR_ENCODING x COLOR_RANGE: luma,
 * Cr to R, Cb to G, Cr to G, Cb to B (see the arithmetic at the top).
 */
static const s32 vkms_yuv_k[3][2][5] = {
	[DRM_COLOR_YCBCR_BT601] = {
		[DRM_COLOR_YCBCR_LIMITED_RANGE] = {
			76309, 104597, 25675, 53279, 132201 },
		[DRM_COLOR_YCBCR_FULL_RANGE] = {
			65536, 91881, 22553, 46802, 116130 },
	},
	[DRM_COLOR_YCBCR_BT709] = {
		[DRM_COLOR_YCBCR_LIMITED_RANGE] = {
			76309, 117489, 13975, 34925, 138438 },
		[DRM_COLOR_YCBCR_FULL_RANGE] = {
			65536, 103206, 12276, 30679, 121609 },
	},
	[DRM_COLOR_YCBCR_BT2020] = {
		[DRM_COLOR_YCBCR_LIMITED_RANGE] = {
			76309, 110014, 12277, 42626, 140363 },
		[DRM_COLOR_YCBCR_FULL_RANGE] = {
			65536, 96639, 10784, 37444, 123299 },
	},
};

static void vkms_yuv_setup(struct vkms_layer *l,
			   const struct drm_plane_state *ps,
			   const struct iosys_map *data)
{
	const struct drm_framebuffer *fb = ps->fb;
	const struct drm_format_info *info = fb->format;
	struct vkms_yuv *c = &l->yuv;
	unsigned int cr = 2, cb = 1, enc, range;
	const s32 *k;
	bool swap;

	swap = info->format == DRM_FORMAT_NV21 ||
	       info->format == DRM_FORMAT_NV61 ||
	       info->format == DRM_FORMAT_NV42 ||
	       info->format == DRM_FORMAT_YVU420 ||
	       info->format == DRM_FORMAT_YVU422 ||
	       info->format == DRM_FORMAT_YVU444;
	c->hshift = info->hsub == 2;
	c->vshift = info->vsub == 2;
	c->wide = info->cpp[0] == 2;
	c->mask = 0xffff;
	if (info->format == DRM_FORMAT_P010)
		c->mask = 0xffc0;
	else if (info->format == DRM_FORMAT_P012)
		c->mask = 0xfff0;
	if (info->num_planes == 2) {
		/* Cb and Cr interleaved in plane 1 (Cr first if swapped) */
		c->cstep = info->cpp[1];
		c->cb = data[1].vaddr;
		c->cr = c->cb + info->cpp[1] / 2;
		if (swap)
			swap(c->cb, c->cr);
		c->cb_pitch = fb->pitches[1];
		c->cr_pitch = fb->pitches[1];
	} else {
		if (swap)
			swap(cb, cr);
		c->cstep = info->cpp[1];
		c->cb = data[cb].vaddr;
		c->cr = data[cr].vaddr;
		c->cb_pitch = fb->pitches[cb];
		c->cr_pitch = fb->pitches[cr];
	}
	enc = ps->color_encoding < ARRAY_SIZE(vkms_yuv_k) ?
	      ps->color_encoding : DRM_COLOR_YCBCR_BT601;
	range = ps->color_range == DRM_COLOR_YCBCR_LIMITED_RANGE ?
		DRM_COLOR_YCBCR_LIMITED_RANGE : DRM_COLOR_YCBCR_FULL_RANGE;
	k = vkms_yuv_k[enc][range];
	c->yoff = range == DRM_COLOR_YCBCR_LIMITED_RANGE ? 16 << 8 : 0;
	c->ky = k[0];
	c->rv = k[1];
	c->gu = k[2];
	c->gv = k[3];
	c->bu = k[4];
}

/* Local source coordinates shown at local CRTC (@x, @y), @sw x @sh source. */
static void vkms_unrotate(unsigned int rot, int sw, int sh, int x, int y,
			  int *u, int *v)
{
	int a, b;

	switch (rot & DRM_MODE_ROTATE_MASK) {
	case DRM_MODE_ROTATE_90:
		a = sw - 1 - y;
		b = x;
		break;
	case DRM_MODE_ROTATE_180:
		a = sw - 1 - x;
		b = sh - 1 - y;
		break;
	case DRM_MODE_ROTATE_270:
		a = y;
		b = sh - 1 - x;
		break;
	default:
		a = x;
		b = y;
		break;
	}
	*u = rot & DRM_MODE_REFLECT_X ? sw - 1 - a : a;
	*v = rot & DRM_MODE_REFLECT_Y ? sh - 1 - b : b;
}

/**
 * vkms_layer_setup - describe a visible plane for the composer
 * @l: the layer to fill in
 * @ps: the plane's new state, checked
 * @data: the mapping of each plane of its framebuffer, offsets applied
 *
 * Process context, at commit time: everything the composer needs of the
 * plane (format, rotation, YUV factors) is worked out here once.
 */
void vkms_layer_setup(struct vkms_layer *l, const struct drm_plane_state *ps,
		      const struct iosys_map *data)
{
	const struct drm_framebuffer *fb = ps->fb;
	const struct drm_format_info *info = fb->format;
	int sw, sh, u, v, ux, vx, uy, vy;
	unsigned int bw;

	l->vaddr = data[0].vaddr;
	l->pitch = fb->pitches[0];
	l->format = info->format;
	/* R1, R2, R4: a block of 8, 4, 2 pixels per byte (cpp is its size) */
	bw = info->block_w[0] ? info->block_w[0] : 1;
	l->bpp = 8 * info->char_per_block[0] / bw;
	l->cpp = bw > 1 ? 0 : info->cpp[0];
	l->blend = ps->pixel_blend_mode;
	l->alpha = ps->alpha;
	l->has_alpha = info->has_alpha;
	l->opaque = ps->alpha == DRM_BLEND_ALPHA_OPAQUE &&
		    (!info->has_alpha ||
		     ps->pixel_blend_mode == DRM_MODE_BLEND_PIXEL_NONE);
	l->is_yuv = info->is_yuv;
	l->src.x1 = ps->src.x1 >> 16;
	l->src.y1 = ps->src.y1 >> 16;
	l->src.x2 = ps->src.x2 >> 16;
	l->src.y2 = ps->src.y2 >> 16;
	l->dst = ps->dst;
	l->zpos = ps->normalized_zpos;

	sw = drm_rect_width(&l->src);
	sh = drm_rect_height(&l->src);
	vkms_unrotate(ps->rotation, sw, sh, 0, 0, &u, &v);
	vkms_unrotate(ps->rotation, sw, sh, 1, 0, &ux, &vx);
	vkms_unrotate(ps->rotation, sw, sh, 0, 1, &uy, &vy);
	l->u0 = l->src.x1 + u;
	l->v0 = l->src.y1 + v;
	l->ux = ux - u;
	l->vx = vx - v;
	l->uy = uy - u;
	l->vy = vy - v;
	l->step = l->ux * l->cpp + l->vx * (int)l->pitch;
	if (l->is_yuv)
		vkms_yuv_setup(l, ps, data);
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
 * pixels at @src, @step bytes apart (a line that one copyable layer
 * covers alone, turned or not), the degamma of those read from
 * &vkms_colour.degamma8. The matrix and the
 * tables are copied into locals: with no strict aliasing in the kernel,
 * every store to @dst would read them again.
 */
static void vkms_colour_line(const struct vkms_colour *cl, u32 *dst,
			     const struct vkms_px *px, const u8 *src,
			     int step, unsigned int n)
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
			u32 v = vkms_ld32(src + (ptrdiff_t)step * i);

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

/*
 * Copy @n XRGB8888 pixels, @step bytes apart in the source, setting their
 * X bytes (two at a time when they are in order).
 */
static void vkms_copy_x(u32 *dst, const u8 *src, int step, unsigned int n)
{
	u64 *d64 = (u64 *)dst;
	unsigned int i;

	if (step != 4) {
		for (i = 0; i < n; i++, src += step)
			dst[i] = vkms_ld32(src) | 0xff000000;
		return;
	}
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

/* Red and blue of a 32-bit pixel swapped: XBGR8888 read as XRGB8888. */
static inline u32 vkms_swap_rb(u32 v)
{
	return (v & 0xff00ff00) | ((v & 0xff) << 16) | ((v >> 16) & 0xff);
}

/*
 * Source pixel @v (XRGB8888 layout) over output pixel @d with blend
 * @mode, plane alpha @pa and its complement @ia: the arithmetic of
 * vkms_read_span(), vkms_blend_span() and vkms_write_line() on one pixel,
 * without the 16-bit lines in memory. The u16 results wrap as the 16-bit
 * lines do.
 */
static __always_inline u32 vkms_blend_px(int mode, u32 pa, u32 ia, u32 v,
					 u32 d)
{
	u32 sr = ((v >> 16) & 0xff) * 257, sg = ((v >> 8) & 0xff) * 257;
	u32 sb = (v & 0xff) * 257, e, ie;
	u32 dr = ((d >> 16) & 0xff) * 257, dg = ((d >> 8) & 0xff) * 257;
	u32 db = (d & 0xff) * 257;
	u16 r, g, b;

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
		r = min_t(u32, 0xffff, vkms_mul(sr, pa) + vkms_mul(dr, ie));
		g = min_t(u32, 0xffff, vkms_mul(sg, pa) + vkms_mul(dg, ie));
		b = min_t(u32, 0xffff, vkms_mul(sb, pa) + vkms_mul(db, ie));
	}
	return 0xff000000 | ((u32)(r >> 8) << 16) | ((u32)(g >> 8) << 8) |
	       (b >> 8);
}

/*
 * Blend @n pixels of @l, an 8-bit RGB layer of 4 bytes per pixel, read
 * from @src on (&vkms_layer.step apart), straight over the output pixels
 * @row, when nothing else is blended there.
 */
static void vkms_blend_rgb32(const struct vkms_layer *l, u32 *row,
			     const u8 *src, unsigned int n)
{
	bool bgr = l->format == DRM_FORMAT_XBGR8888 ||
		   l->format == DRM_FORMAT_ABGR8888;
	int mode = l->has_alpha ? l->blend : DRM_MODE_BLEND_PIXEL_NONE;
	u32 pa = l->alpha, ia = 0xffff - pa;
	/*
	 * Under a plane alpha of 0xffff, a pixel of alpha 0xff shows as it
	 * is in both alpha modes: vkms_blend_px()'s factors are then 0xffff
	 * for it and 0 for what is under it, and vkms_mul(x, 0xffff) == x
	 * for every 16-bit x. Opaque pixels of an ARGB buffer skip the sums
	 * and the read of what is under them.
	 */
	bool solid = pa == 0xffff && mode != DRM_MODE_BLEND_PIXEL_NONE;
	unsigned int i;

	for (i = 0; i < n; i++, src += l->step) {
		u32 v = vkms_ld32(src);

		if (bgr)
			v = vkms_swap_rb(v);
		if (solid && (v >> 24) == 0xff)
			row[i] = v;
		else
			row[i] = vkms_blend_px(mode, pa, ia, v, row[i]);
	}
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

/*
 * Line @y of @l, an opaque 16-bit-per-channel RGB layer spanning the
 * line with nothing over it, straight into the output @row: the top byte
 * of each channel, as vkms_read_span() and vkms_write_line() would give
 * through the 16-bit line. Returns false for other formats.
 */
static bool vkms_narrow_line(const struct vkms_layer *l, int y, u32 *row,
			     unsigned int n)
{
	const u8 *src = vkms_layer_at(l, y, 0);
	int rs, bs, step = l->step;
	unsigned int i;

	switch (l->format) {
	case DRM_FORMAT_XRGB16161616:
	case DRM_FORMAT_ARGB16161616:
		rs = 32;
		bs = 0;
		break;
	case DRM_FORMAT_XBGR16161616:
	case DRM_FORMAT_ABGR16161616:
		rs = 0;
		bs = 32;
		break;
	default:
		return false;
	}
	for (i = 0; i < n; i++, src += step) {
		u64 v = get_unaligned_le64(src);

		row[i] = 0xff000000 | (((u32)(v >> (rs + 8)) & 0xff) << 16) |
			 ((u32)(v >> 16) & 0xff00) |
			 ((u32)(v >> (bs + 8)) & 0xff);
	}
	return true;
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
	/* the output format's own layout (X byte aside) */
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
			vkms_read_span(l, l->dst.x1, y, d, len);
		} else {
			vkms_read_span(l, l->dst.x1, y, line, len);
			vkms_blend_span(l, d, line, len);
		}
	}
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
			vkms_copy_x(row + a, vkms_layer_at(l, y, a), l->step,
				    len);
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

			if (li->dst.x1 > a || li->dst.x2 < b)
				continue;
			if (li->opaque) {
				vkms_read_span(li, a, y, c->acc, len);
			} else {
				vkms_read_span(li, a, y, c->line, len);
				vkms_blend_span(li, c->acc, c->line, len);
			}
		}
		vkms_write_line(row + a, c->acc, len);
	}
}

/* Lines filled at once from a layer turned by 90 or 270 degrees. */
#define VKMS_BAND	16

/*
 * A layer turned by 90 or 270 degrees shows a column of its source on
 * each CRTC line: read line by line, every pixel is in another source
 * line (another cache line, often another page). When such a layer is
 * opaque, spans the width and is XRGB8888 or ARGB8888, copy it into the
 * next lines of the output from @y on a band at a time instead: for each
 * column, the pixels of the band's lines are next to each other in one
 * source line. Returns the index of the layer copied into lines @y to
 * *@end - 1, or -1 (nothing copied; *@end = @y + 1).
 */
static int vkms_fill_band(struct vkms_composer *c, const struct vkms_frame *f,
			  int y, int *end)
{
	unsigned int w = f->width, x;
	int i, j, nb, lstep;

	*end = y + 1;
	for (i = f->nlayers - 1; i >= 0; i--) {
		const struct vkms_layer *l = &f->layers[i];
		const u8 *s0, *s;
		u32 *d;

		if (!vkms_layer_on_line(l, y) || !l->opaque ||
		    l->dst.x1 != 0 || l->dst.x2 != w)
			continue;
		if (!l->vx || !vkms_is_copyable(l))
			return -1;
		nb = min3(VKMS_BAND, (int)f->height - y, l->dst.y2 - y);
		lstep = l->uy * l->cpp + l->vy * (int)l->pitch;
		s0 = vkms_layer_at(l, y, 0);
		d = c->out + (size_t)y * w;
		for (x = 0; x < w; x++, s0 += l->step) {
			s = s0;
			for (j = 0; j < nb; j++, s += lstep)
				d[(size_t)j * w + x] = vkms_ld32(s) | 0xff000000;
		}
		*end = y + nb;
		return i;
	}
	return -1;
}

/*
 * Compose line @y of @f into @row; if @filled is the layer that hides
 * the ones below on this line, @row already holds it.
 */
static void vkms_compose_line(struct vkms_composer *c,
			      const struct vkms_frame *f, int y, u32 *row,
			      int filled)
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
		if (base == filled)
			vkms_colour_line(f->colour, row, NULL, (const u8 *)row,
					 4, w);
		else
			vkms_colour_line(f->colour, row, NULL,
					 vkms_layer_at(&f->layers[base], y, 0),
					 f->layers[base].step, w);
		return;
	}
	if (base >= 0 && vkms_is_copyable(&f->layers[base]) && !f->colour) {
		/* Copy the line; blend what is above it over its span only. */
		if (base != filled)
			vkms_copy_x(row, vkms_layer_at(&f->layers[base], y, 0),
				    f->layers[base].step, w);
		if (x1 < x2)
			vkms_compose_above(c, f, base + 1, y, row);
		return;
	}
	if (base >= 0 && x1 >= x2 && !f->colour &&
	    vkms_narrow_line(&f->layers[base], y, row, w))
		return;
	if (base < 0 && !f->colour) {
		/*
		 * Nothing hides the black background: the layers go over it
		 * as over a copied base (8-bit RGB layers straight into @row).
		 */
		memset32(row, 0xff000000, w);
		if (x1 < x2)
			vkms_compose_above(c, f, 0, y, row);
		return;
	}
	if (base < 0)
		memset(c->acc, 0, w * sizeof(struct vkms_px));
	vkms_blend_layers(f, max(base, 0), y, c->acc, 0, c->line);
	if (f->colour)
		vkms_colour_line(f->colour, row, c->acc, NULL, 0, w);
	else
		vkms_write_line(row, c->acc, w);
}

/* Compose @f into the output buffer; its CRC in @crc if asked for. */
static int vkms_compose(struct vkms_composer *c, const struct vkms_frame *f,
			u32 *crc)
{
	int y, ret, filled = -1, band_end = 0;
	u32 sum = ~0U;

	ret = vkms_composer_size(c, f->width, f->height);
	if (ret)
		return ret;

	for (y = 0; y < f->height; y++) {
		u32 *row = c->out + (size_t)y * f->width;

		if (y >= band_end)
			filled = vkms_fill_band(c, f, y, &band_end);
		vkms_compose_line(c, f, y, row, filled);
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

/* One output line (XRGB8888) into a writeback line of @format. */
static void vkms_writeback_line(u8 *dst, const u32 *src, unsigned int n,
				u32 format)
{
	unsigned int i;

	switch (format) {
	case DRM_FORMAT_XRGB16161616:
	case DRM_FORMAT_ARGB16161616:
		/* each 8-bit channel widened (v * 257), alpha opaque */
		for (i = 0; i < n; i++, dst += 8) {
			u32 v = src[i];
			u64 w = 0xffffULL << 48 |
				(u64)(((v >> 16) & 0xff) * 257) << 32 |
				(u64)(((v >> 8) & 0xff) * 257) << 16 |
				(v & 0xff) * 257;

			put_unaligned_le64(w, dst);
		}
		break;
	case DRM_FORMAT_RGB565:
		/* the top 5, 6 and 5 bits */
		for (i = 0; i < n; i++, dst += 2) {
			u32 v = src[i];

			put_unaligned_le16(((v >> 8) & 0xf800) |
					   ((v >> 5) & 0x07e0) |
					   ((v >> 3) & 0x001f), dst);
		}
		break;
	default:
		memcpy(dst, src, n * 4);
		break;
	}
}

static void vkms_writeback_copy(struct vkms_composer *c, struct vkms_wb_job *j)
{
	struct drm_framebuffer *fb = j->fb;
	u8 *dst = j->data[0].vaddr;
	unsigned int y;

	for (y = 0; y < c->height && y < fb->height; y++)
		vkms_writeback_line(dst + (size_t)y * fb->pitches[0],
				    c->out + (size_t)y * c->width,
				    min_t(u32, c->width, fb->width),
				    fb->format->format);
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
