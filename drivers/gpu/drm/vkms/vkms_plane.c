// SPDX-License-Identifier: GPL-2.0
/*
 * vkms planes: primary, overlays and cursor, all alike: every format of
 * vkms_formats (RGB, greyscale and YUV), plane alpha, the three blend
 * modes, a mutable zpos, rotation by 0, 90, 180 and 270 degrees with
 * reflection along x and y, the YUV encodings BT.601, BT.709 and BT.2020
 * in limited or full range, positioning and clipping, no scaling.
 */
#include <linux/dma-fence.h>
#include <linux/slab.h>

#include <drm/drm_atomic.h>
#include <drm/drm_atomic_helper.h>
#include <drm/drm_atomic_state_helper.h>
#include <drm/drm_blend.h>
#include <drm/drm_color_mgmt.h>
#include <drm/drm_fourcc.h>
#include <drm/drm_framebuffer.h>
#include <drm/drm_gem_atomic_helper.h>
#include <drm/drm_managed.h>
#include <drm/drm_modeset_helper_vtables.h>
#include <drm/drm_print.h>
#include <drm/drm_rect.h>

#include "vkms_drv.h"

/* The formats the composer reads; XRGB8888 first, the preferred one. */
const u32 vkms_formats[] = {
	DRM_FORMAT_XRGB8888,
	DRM_FORMAT_ARGB8888,
	DRM_FORMAT_XBGR8888,
	DRM_FORMAT_ABGR8888,
	DRM_FORMAT_RGBX8888,
	DRM_FORMAT_RGBA8888,
	DRM_FORMAT_BGRX8888,
	DRM_FORMAT_BGRA8888,
	DRM_FORMAT_RGB888,
	DRM_FORMAT_BGR888,
	DRM_FORMAT_RGB565,
	DRM_FORMAT_BGR565,
	DRM_FORMAT_XRGB2101010,
	DRM_FORMAT_ARGB2101010,
	DRM_FORMAT_XRGB16161616,
	DRM_FORMAT_ARGB16161616,
	DRM_FORMAT_XBGR16161616,
	DRM_FORMAT_ABGR16161616,
	DRM_FORMAT_R1,
	DRM_FORMAT_R2,
	DRM_FORMAT_R4,
	DRM_FORMAT_R8,
	DRM_FORMAT_NV12,
	DRM_FORMAT_NV21,
	DRM_FORMAT_NV16,
	DRM_FORMAT_NV61,
	DRM_FORMAT_NV24,
	DRM_FORMAT_NV42,
	DRM_FORMAT_YUV420,
	DRM_FORMAT_YVU420,
	DRM_FORMAT_YUV422,
	DRM_FORMAT_YVU422,
	DRM_FORMAT_YUV444,
	DRM_FORMAT_YVU444,
	DRM_FORMAT_P010,
	DRM_FORMAT_P012,
	DRM_FORMAT_P016,
};

const unsigned int vkms_num_formats = ARRAY_SIZE(vkms_formats);

static const u64 vkms_modifiers[] = {
	DRM_FORMAT_MOD_LINEAR,
	DRM_FORMAT_MOD_INVALID,
};

/*
 * What the composer needs of a framebuffer beyond DRM's own checks: each
 * plane's pitch and offset a whole number of its samples (the 16-bit
 * samples of P010 to P016 on even bytes), and, for a format with
 * subsampled chroma, a source rectangle that starts on a chroma sample
 * (its first pixel does not share that sample with one left of it).
 */
static int vkms_plane_check_fb(struct drm_plane *plane,
			       const struct drm_plane_state *ps)
{
	const struct drm_framebuffer *fb = ps->fb;
	const struct drm_format_info *info = fb->format;
	unsigned int i;

	for (i = 0; i < info->num_planes; i++) {
		unsigned int cpp = info->cpp[i];

		if (cpp > 1 && (fb->pitches[i] % cpp || fb->offsets[i] % cpp)) {
			drm_dbg_atomic(plane->dev,
				       "[PLANE:%d:%s] plane %u: pitch %u, offset %u: not whole %u-byte samples\n",
				       plane->base.id, plane->name, i,
				       fb->pitches[i], fb->offsets[i], cpp);
			return -EINVAL;
		}
	}
	if (info->is_yuv && ((ps->src_x >> 16) % info->hsub ||
			     (ps->src_y >> 16) % info->vsub)) {
		drm_dbg_atomic(plane->dev,
			       "[PLANE:%d:%s] source does not start on a chroma sample (%ux%u)\n",
			       plane->base.id, plane->name, info->hsub,
			       info->vsub);
		return -EINVAL;
	}
	return 0;
}

static int vkms_plane_atomic_check(struct drm_plane *plane,
				   struct drm_atomic_state *state)
{
	struct drm_plane_state *ps = drm_atomic_get_new_plane_state(state,
								    plane);
	struct drm_crtc_state *cs;
	int src_w, src_h, ret;
	bool swap_wh;

	if (!ps->fb || !ps->crtc) {
		ps->visible = false;
		return 0;
	}

	cs = drm_atomic_get_crtc_state(state, ps->crtc);
	if (IS_ERR(cs))
		return PTR_ERR(cs);

	ret = vkms_plane_check_fb(plane, ps);
	if (ret)
		return ret;

	ret = drm_atomic_helper_check_plane_state(ps, cs,
						  DRM_PLANE_NO_SCALING,
						  DRM_PLANE_NO_SCALING,
						  true, true);
	if (ret)
		return ret;
	/* The source rectangle is the framebuffer's, before rotation. */
	swap_wh = drm_rotation_90_or_270(ps->rotation);
	src_w = (swap_wh ? drm_rect_height(&ps->src) :
		 drm_rect_width(&ps->src)) >> 16;
	src_h = (swap_wh ? drm_rect_width(&ps->src) :
		 drm_rect_height(&ps->src)) >> 16;

	/*
	 * The clipping helper computes "clip edge - plane edge" in int: a
	 * CRTC_X or CRTC_Y near INT_MIN overflows it and leaves the
	 * rectangle unclipped, yet visible. The composer indexes its lines
	 * with these edges: refuse what is not inside the mode.
	 */
	if (ps->visible &&
	    (ps->dst.x1 < 0 || ps->dst.y1 < 0 ||
	     ps->dst.x2 > cs->mode.hdisplay || ps->dst.y2 > cs->mode.vdisplay ||
	     drm_rect_width(&ps->dst) != src_w ||
	     drm_rect_height(&ps->dst) != src_h)) {
		drm_dbg_atomic(plane->dev,
			       "[PLANE:%d:%s] position out of range " DRM_RECT_FMT "\n",
			       plane->base.id, plane->name,
			       DRM_RECT_ARG(&ps->dst));
		return -ERANGE;
	}

	/* The composer samples whole pixels only. */
	if ((ps->src_x | ps->src_y | ps->src_w | ps->src_h) & 0xffff) {
		drm_dbg_atomic(plane->dev,
			       "[PLANE:%d:%s] fractional source rectangle\n",
			       plane->base.id, plane->name);
		return -EINVAL;
	}
	return 0;
}

/*
 * What the helpers do without a prepare_fb (the buffer's implicit write
 * fence becomes ->fence when there is no IN_FENCE_FD), and a reference to
 * ->fence kept in the state: the helpers drop theirs once they have waited
 * for it, and the commit tail still has to count it if it failed.
 */
static int vkms_plane_prepare_fb(struct drm_plane *plane,
				 struct drm_plane_state *ps)
{
	struct vkms_plane_state *vps = to_vkms_plane_state(ps);
	int ret;

	ret = drm_gem_plane_helper_prepare_fb(plane, ps);
	if (ret)
		return ret;
	if (ps->fence && !vps->fence)
		vps->fence = dma_fence_get(ps->fence);
	return 0;
}

static const struct drm_plane_helper_funcs vkms_plane_helper_funcs = {
	.atomic_check = vkms_plane_atomic_check,
	.prepare_fb = vkms_plane_prepare_fb,
};

static void vkms_plane_destroy_state(struct drm_plane *plane,
				     struct drm_plane_state *ps)
{
	struct vkms_plane_state *vps = to_vkms_plane_state(ps);

	dma_fence_put(vps->fence);
	__drm_atomic_helper_plane_destroy_state(ps);
	kfree(vps);
}

static void vkms_plane_reset(struct drm_plane *plane)
{
	struct vkms_plane_state *vps = kzalloc(sizeof(*vps), GFP_KERNEL);

	if (plane->state)
		vkms_plane_destroy_state(plane, plane->state);
	__drm_atomic_helper_plane_reset(plane, vps ? &vps->base : NULL);
}

static struct drm_plane_state *
vkms_plane_duplicate_state(struct drm_plane *plane)
{
	struct vkms_plane_state *vps;

	if (!plane->state)
		return NULL;
	vps = kzalloc(sizeof(*vps), GFP_KERNEL);
	if (!vps)
		return NULL;
	__drm_atomic_helper_plane_duplicate_state(plane, &vps->base);
	return &vps->base;
}

static const struct drm_plane_funcs vkms_plane_funcs = {
	.update_plane		= drm_atomic_helper_update_plane,
	.disable_plane		= drm_atomic_helper_disable_plane,
	.reset			= vkms_plane_reset,
	.atomic_duplicate_state	= vkms_plane_duplicate_state,
	.atomic_destroy_state	= vkms_plane_destroy_state,
};

/**
 * vkms_plane_create - create one plane of an output
 * @vkms: the device
 * @type: primary, overlay or cursor
 * @index: index of the output (the plane can only be used on its CRTC)
 * @zpos: initial z position
 * @zpos_max: the largest z position: the output's planes less one
 *
 * Return: the plane, or an ERR_PTR.
 */
struct drm_plane *vkms_plane_create(struct vkms_device *vkms,
				    enum drm_plane_type type,
				    unsigned int index, unsigned int zpos,
				    unsigned int zpos_max)
{
	struct drm_plane *plane;
	int ret;

	plane = __drmm_universal_plane_alloc(&vkms->drm, sizeof(*plane), 0,
					     BIT(index), &vkms_plane_funcs,
					     vkms_formats, vkms_num_formats,
					     vkms_modifiers, type, NULL);
	if (IS_ERR(plane))
		return plane;
	drm_plane_helper_add(plane, &vkms_plane_helper_funcs);

	/* one z position per plane of the CRTC */
	ret = drm_plane_create_zpos_property(plane, zpos, 0, zpos_max);
	if (ret)
		return ERR_PTR(ret);
	ret = drm_plane_create_alpha_property(plane);
	if (ret)
		return ERR_PTR(ret);
	ret = drm_plane_create_blend_mode_property(plane,
						   BIT(DRM_MODE_BLEND_PIXEL_NONE) |
						   BIT(DRM_MODE_BLEND_PREMULTI) |
						   BIT(DRM_MODE_BLEND_COVERAGE));
	if (ret)
		return ERR_PTR(ret);
	ret = drm_plane_create_rotation_property(plane, DRM_MODE_ROTATE_0,
						 DRM_MODE_ROTATE_MASK |
						 DRM_MODE_REFLECT_MASK);
	if (ret)
		return ERR_PTR(ret);
	/* BT.601 full range by default, as upstream vkms. */
	ret = drm_plane_create_color_properties(plane,
						BIT(DRM_COLOR_YCBCR_BT601) |
						BIT(DRM_COLOR_YCBCR_BT709) |
						BIT(DRM_COLOR_YCBCR_BT2020),
						BIT(DRM_COLOR_YCBCR_LIMITED_RANGE) |
						BIT(DRM_COLOR_YCBCR_FULL_RANGE),
						DRM_COLOR_YCBCR_BT601,
						DRM_COLOR_YCBCR_FULL_RANGE);
	if (ret)
		return ERR_PTR(ret);
	return plane;
}
