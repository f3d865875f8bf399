// SPDX-License-Identifier: GPL-2.0
/*
 * vkms frames and flips: what a commit will show on a CRTC, built before
 * the point of no return, and their release, in process context or
 * through the output's reaper from the signalling path.
 */
#include <linux/slab.h>
#include <linux/sort.h>

#include <drm/drm_atomic.h>
#include <drm/drm_blend.h>
#include <drm/drm_framebuffer.h>
#include <drm/drm_gem_framebuffer_helper.h>
#include <drm/drm_vblank.h>

#include "vkms_drv.h"

/**
 * vkms_frame_put - drop a frame reference
 * @frame: the frame, or NULL
 *
 * The last reference unmaps the buffers and drops the framebuffers, so it
 * must be dropped in process context.
 */
static void vkms_frame_free(struct vkms_frame *frame)
{
	unsigned int i;

	might_sleep();
	for (i = 0; i < frame->nlayers; i++) {
		drm_gem_fb_vunmap(frame->fbs[i], frame->maps[i]);
		drm_framebuffer_put(frame->fbs[i]);
	}
	vkms_colour_put(frame->colour);
	kfree(frame);
}

void vkms_frame_put(struct vkms_frame *frame)
{
	if (frame && refcount_dec_and_test(&frame->ref))
		vkms_frame_free(frame);
}

/**
 * vkms_frame_put_deferred - drop a frame reference in any context
 * @out: the output whose reaper frees the frame if this was the last
 *	reference
 * @frame: the frame, or NULL
 *
 * For the vblank handler and the composer, which are on the
 * fence-signalling path: they neither sleep nor free buffers.
 */
void vkms_frame_put_deferred(struct vkms_output *out, struct vkms_frame *frame)
{
	if (!frame || !refcount_dec_and_test(&frame->ref))
		return;
	llist_add(&frame->reap, &out->reap);
	queue_work(system_wq, &out->reap_work);
}

/**
 * vkms_reap_work - free what the signalling path could not
 * @work: &vkms_output.reap_work
 *
 * Process context, off the signalling path: frames whose last reference
 * went in the vblank handler or the composer, and replaced composer
 * buffers.
 */
void vkms_reap_work(struct work_struct *work)
{
	struct vkms_output *out = container_of(work, struct vkms_output,
					       reap_work);
	struct vkms_comp_bufs *b, *bn;
	struct vkms_frame *f, *fn;

	llist_for_each_entry_safe(f, fn, llist_del_all(&out->reap), reap)
		vkms_frame_free(f);
	llist_for_each_entry_safe(b, bn, llist_del_all(&out->reap_bufs), reap)
		vkms_comp_bufs_free(b);
}

static int vkms_layer_cmp(const void *a, const void *b)
{
	const struct vkms_layer *la = a, *lb = b;

	return (int)la->zpos - (int)lb->zpos;
}

static int vkms_frame_build(struct drm_atomic_state *state,
			    struct drm_crtc_state *cs, struct vkms_frame **out)
{
	struct iosys_map data[DRM_FORMAT_MAX_PLANES];
	struct vkms_frame *frame;
	struct drm_plane *plane;
	unsigned int n;
	int ret;

	frame = kzalloc(sizeof(*frame), GFP_KERNEL);
	if (!frame)
		return -ENOMEM;
	refcount_set(&frame->ref, 1);
	frame->width = cs->mode.hdisplay;
	frame->height = cs->mode.vdisplay;
	frame->colour = to_vkms_crtc_state(cs)->colour;
	if (frame->colour)
		refcount_inc(&frame->colour->ref);

	drm_for_each_plane_mask(plane, state->dev, cs->plane_mask) {
		struct drm_plane_state *ps;
		struct drm_framebuffer *fb;
		struct vkms_layer *l;

		/* vkms_atomic_check() added every plane of the CRTC. */
		ps = drm_atomic_get_new_plane_state(state, plane);
		if (!ps) {
			ret = -EINVAL;
			goto err;
		}
		if (!ps->visible || !ps->fb)
			continue;
		n = frame->nlayers;
		if (n == VKMS_PLANES_PER_CRTC) {
			ret = -EINVAL;
			goto err;
		}
		fb = ps->fb;
		ret = drm_gem_fb_vmap(fb, frame->maps[n], data);
		if (ret)
			goto err;
		drm_framebuffer_get(fb);
		frame->fbs[n] = fb;
		frame->nlayers++;
		if (data[0].is_iomem) {
			ret = -EINVAL;
			goto err;
		}

		l = &frame->layers[n];
		vkms_layer_setup(l, ps, data);
	}

	/* Bottom first. */
	sort(frame->layers, frame->nlayers, sizeof(frame->layers[0]),
	     vkms_layer_cmp, NULL);
	*out = frame;
	return 0;

err:
	vkms_frame_put(frame);
	return ret;
}

/**
 * vkms_flip_free - free a flip that will not be latched, or was
 * @flip: the flip
 *
 * Process context, or any context for a latched flip (its frame went to
 * the scan-out, its writeback to the composer): drops the frame, sends an
 * event still there (so that the commit's flip_done completes and its
 * out-fence signals; -ECANCELED for a cancelled flip), cancels a writeback
 * capture, drops a vblank reference.
 */
void vkms_flip_free(struct vkms_flip *flip)
{
	struct drm_crtc *crtc = &flip->out->crtc;

	if (flip->wb)
		vkms_writeback_cancel(flip->out, flip->wb);
	vkms_send_event(crtc, &flip->event, flip->keep ? -ECANCELED : 0);
	if (flip->vblank_ref)
		drm_crtc_vblank_put(crtc);
	vkms_frame_put(flip->frame);
	kfree(flip);
}

/**
 * vkms_flips_build - build the flip of every active CRTC of a state
 * @state: the state, before the swap
 *
 * Each flip goes into its CRTC state (&vkms_crtc_state.flip) and is freed
 * with it if the commit fails.
 *
 * Return: 0 or a negative errno.
 */
int vkms_flips_build(struct drm_atomic_state *state)
{
	struct drm_crtc_state *cs;
	struct drm_crtc *crtc;
	int i, ret;

	for_each_new_crtc_in_state(state, crtc, cs, i) {
		struct vkms_crtc_state *vs = to_vkms_crtc_state(cs);
		struct vkms_flip *flip;

		if (!cs->active || vs->flip)
			continue;
		flip = kzalloc(sizeof(*flip), GFP_KERNEL);
		if (!flip)
			return -ENOMEM;
		INIT_LIST_HEAD(&flip->node);
		flip->out = crtc_to_output(crtc);
		ret = vkms_frame_build(state, cs, &flip->frame);
		if (!ret)
			ret = vkms_composer_reserve(flip->out, cs->mode.hdisplay,
						    cs->mode.vdisplay);
		if (ret) {
			vkms_frame_put(flip->frame);
			kfree(flip);
			return ret;
		}
		vs->flip = flip;
	}
	return 0;
}
