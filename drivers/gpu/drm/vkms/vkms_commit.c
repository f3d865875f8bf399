// SPDX-License-Identifier: GPL-2.0
/**
 * DOC: atomic commits
 *
 * Every commit builds, before the point of no return, one flip per active
 * CRTC in the state: a frame (struct vkms_frame) with the planes' buffers
 * mapped, so allocation and mapping errors are returned to userspace and
 * nothing after the swap reads plane->state. Then one of three paths:
 *
 * Blocking commit: waits for the plane fences (interruptibly, before the
 * swap), swaps, and in the caller's thread does the modeset, arms the flips
 * in the CRTCs' pending slots and waits for them to be latched.
 *
 * Nonblocking commit, gate=0 or a modeset: swaps, and queues a worker that
 * waits for the fences, then does what a blocking commit does: the DRM
 * helpers' behaviour.
 *
 * Nonblocking flip, gate=1 (no modeset, every CRTC on, previous commits
 * done): the fence-gated path of vkms_gate.c.
 *
 * Frames and flips are built in vkms_frame.c.
 */
#include <linux/dma-fence.h>
#include <linux/slab.h>

#include <drm/drm_atomic.h>
#include <drm/drm_atomic_helper.h>
#include <drm/drm_blend.h>
#include <drm/drm_print.h>
#include <drm/drm_vblank.h>

#include "vkms_drv.h"

/* ---- fences ---------------------------------------------------------- */

/**
 * vkms_count_fence_error - count a plane fence that signaled with an error
 * @out: the output of the plane
 */
void vkms_count_fence_error(struct vkms_output *out)
{
	unsigned long flags;

	spin_lock_irqsave(&out->lock, flags);
	out->stats.fence_errors++;
	spin_unlock_irqrestore(&out->lock, flags);
}

/*
 * Wait for the plane fences of @state the way the DRM helpers do, and
 * count those that signaled with an error. Returns 0 or -ERESTARTSYS.
 */
static int vkms_wait_fences(struct drm_atomic_state *state, bool intr)
{
	struct drm_plane_state *ps;
	struct drm_plane *plane;
	int i;
	long ret;

	for_each_new_plane_in_state(state, plane, ps, i) {
		if (!ps->fence)
			continue;
		ret = dma_fence_wait(ps->fence, intr);
		if (ret)
			return ret;
		if (ps->fence->error < 0 && ps->crtc)
			vkms_count_fence_error(crtc_to_output(ps->crtc));
		dma_fence_put(ps->fence);
		ps->fence = NULL;
	}
	return 0;
}

/* ---- the blocking and worker paths ------------------------------------ */

/* Blocking commits and workers: the whole commit, in process context. */
static void vkms_commit_tail(struct drm_atomic_state *state)
{
	struct drm_device *dev = state->dev;
	struct drm_crtc_state *cs;
	struct drm_crtc *crtc;
	u32 crtc_mask = 0;
	int i;

	drm_atomic_helper_wait_for_dependencies(state);
	/*
	 * Only a gated flip whose fence took longer than the helpers' wait
	 * (10 s) can still be waiting here: this commit replaces it.
	 */
	for_each_new_crtc_in_state(state, crtc, cs, i)
		crtc_mask |= drm_crtc_mask(crtc);
	vkms_cancel_crtcs(to_vkms(dev), crtc_mask);

	drm_atomic_helper_commit_modeset_disables(dev, state);
	/* enables the CRTCs and queues the writeback jobs on the flips */
	drm_atomic_helper_commit_modeset_enables(dev, state);

	for_each_new_crtc_in_state(state, crtc, cs, i) {
		struct vkms_crtc_state *vs = to_vkms_crtc_state(cs);
		struct vkms_flip *flip = vs->flip;

		vs->flip = NULL;
		if (cs->active && flip) {
			flip->event = cs->event;
			cs->event = NULL;
			if (flip->event)
				flip->vblank_ref = !drm_crtc_vblank_get(crtc);
			vkms_flip_arm(flip, false);
			continue;
		}
		if (flip)
			vkms_flip_free(flip);
		/* CRTC off: its vblanks stopped, the event goes now. */
		vkms_send_event(crtc, &cs->event, 0);
	}

	drm_atomic_helper_commit_hw_done(state);
	drm_atomic_helper_wait_for_flip_done(dev, state);
	drm_atomic_helper_cleanup_planes(dev, state);
	drm_atomic_helper_commit_cleanup_done(state);
	drm_atomic_state_put(state);
}

static void vkms_commit_work(struct work_struct *work)
{
	struct drm_atomic_state *state = container_of(work,
						      struct drm_atomic_state,
						      commit_work);
	struct drm_crtc_state *cs;
	struct drm_crtc *crtc;
	int i;

	for_each_new_crtc_in_state(state, crtc, cs, i) {
		struct vkms_output *out = crtc_to_output(crtc);

		spin_lock_irq(&out->lock);
		out->stats.flips_worker++;
		spin_unlock_irq(&out->lock);
	}
	vkms_wait_fences(state, false);
	vkms_commit_tail(state);
}

/* ---- the hooks ------------------------------------------------------- */

/**
 * vkms_atomic_check - &drm_mode_config_funcs.atomic_check
 * @dev: the device
 * @state: the state to check
 *
 * drm_atomic_helper_check() with every plane of each active CRTC added to
 * the state (each commit builds the CRTC's whole frame) and plane fences
 * without a framebuffer rejected.
 *
 * Return: 0 or a negative errno.
 */
int vkms_atomic_check(struct drm_device *dev, struct drm_atomic_state *state)
{
	struct drm_plane_state *ps;
	struct drm_crtc_state *cs;
	struct drm_plane *plane;
	struct drm_crtc *crtc;
	int i, ret;

	ret = drm_atomic_helper_check_modeset(dev, state);
	if (ret)
		return ret;

	for_each_new_crtc_in_state(state, crtc, cs, i) {
		if (!cs->active)
			continue;
		ret = drm_atomic_add_affected_planes(state, crtc);
		if (ret)
			return ret;
	}

	for_each_new_plane_in_state(state, plane, ps, i) {
		if (ps->fence && !ps->fb) {
			drm_dbg_atomic(dev, "[PLANE:%d:%s] fence without FB\n",
				       plane->base.id, plane->name);
			return -EINVAL;
		}
	}

	ret = drm_atomic_normalize_zpos(dev, state);
	if (ret)
		return ret;
	return drm_atomic_helper_check_planes(dev, state);
}

/**
 * vkms_atomic_commit - &drm_mode_config_funcs.atomic_commit
 * @dev: the device
 * @state: the checked state
 * @nonblock: nonblocking commit
 *
 * See the top of this file for the three paths.
 *
 * Return: 0 or a negative errno (nothing committed then).
 */
int vkms_atomic_commit(struct drm_device *dev, struct drm_atomic_state *state,
		       bool nonblock)
{
	struct vkms_commit *vc = NULL;
	int ret;

	ret = drm_atomic_helper_setup_commit(state, nonblock);
	if (ret)
		return ret;
	ret = drm_atomic_helper_prepare_planes(dev, state);
	if (ret)
		return ret;
	ret = vkms_flips_build(state);
	if (ret)
		goto err_planes;

	if (nonblock && READ_ONCE(vkms_gate) && vkms_can_gate(state)) {
		vc = vkms_commit_create(to_vkms(dev), state);
		if (IS_ERR(vc)) {
			ret = PTR_ERR(vc);
			vc = NULL;
			goto err_planes;
		}
	}

	if (!nonblock) {
		ret = vkms_wait_fences(state, true);
		if (ret)
			goto err_commit;
	}

	ret = drm_atomic_helper_swap_state(state, true);
	if (ret)
		goto err_commit;

	drm_atomic_state_get(state);
	if (vc) {
		vkms_commit_gate(vc, state);
	} else if (nonblock) {
		INIT_WORK(&state->commit_work, vkms_commit_work);
		queue_work(to_vkms(dev)->commit_wq, &state->commit_work);
	} else {
		vkms_commit_tail(state);
	}
	return 0;

err_commit:
	if (vc)
		vkms_commit_put(vc);
err_planes:
	/* the flips built so far go with the new CRTC states */
	drm_atomic_helper_cleanup_planes(dev, state);
	return ret;
}
