// SPDX-License-Identifier: GPL-2.0
/**
 * DOC: atomic commits
 *
 * Every commit builds, before the point of no return, one flip per active
 * CRTC in the state: a frame (struct vkms_frame) with the planes' buffers
 * mapped (vkms_flips_build(), vkms_frame.c). vkms_commit_setup() does it
 * at the end of drm_atomic_helper_setup_commit(), so allocation and
 * mapping errors are returned to userspace, a flip goes with its CRTC
 * state if the commit fails, and nothing after the swap reads
 * plane->state. Then one of two paths (vkms_atomic_commit()):
 *
 * Blocking commits, and nonblocking ones that are not gated (gate=0, a
 * modeset, or anything vkms_can_gate() refuses): drm_atomic_helper_commit().
 * It waits for the plane fences (before the swap, interruptibly, when
 * blocking; in its worker on system_unbound_wq otherwise), then calls
 * vkms_commit_tail(): fence errors and worker flips counted, gated flips
 * of the same CRTCs cancelled, the modeset, the flips armed in the CRTCs'
 * pending slots, hw_done, the wait for the latch, the planes' cleanup.
 * The fence errors are read from a fence reference each plane state keeps
 * from prepare_fb (struct vkms_plane_state), the helpers dropping theirs.
 *
 * Nonblocking flip, gate=1, that vkms_can_gate() accepts (no modeset,
 * every CRTC on, previous commits done): vkms_commit_gated(), the
 * fence-gated path of vkms_gate.c.
 *
 * Unload: the helpers' worker of a nonblocking commit may run our commit
 * tail and, when it drops the state, our destroy hooks after
 * drm_atomic_helper_shutdown() returned. The states are ours
 * (vkms_atomic_state_alloc()), counted; a state such a worker committed
 * is freed only once that worker has returned (vkms_atomic_state_free()),
 * and unload waits for both (vkms_states_wait()).
 */
#include <linux/dma-fence.h>
#include <linux/llist.h>
#include <linux/slab.h>
#include <linux/wait_bit.h>
#include <linux/workqueue.h>

#include <drm/drm_atomic.h>
#include <drm/drm_atomic_helper.h>
#include <drm/drm_blend.h>
#include <drm/drm_modeset_helper_vtables.h>
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
 * The helpers have waited for the plane fences of @state and dropped
 * them; the planes kept a reference each (vkms_plane.c). Count those that
 * signaled with an error, once per plane, and drop the references. No
 * allocation.
 */
static void vkms_count_fence_errors(struct drm_atomic_state *state)
{
	struct drm_plane_state *ps;
	struct drm_plane *plane;
	int i;

	for_each_new_plane_in_state(state, plane, ps, i) {
		struct vkms_plane_state *vps = to_vkms_plane_state(ps);

		if (!vps->fence)
			continue;
		if (dma_fence_get_status(vps->fence) < 0 && ps->crtc)
			vkms_count_fence_error(crtc_to_output(ps->crtc));
		dma_fence_put(vps->fence);
		vps->fence = NULL;
	}
}

/* ---- the helpers' path ------------------------------------------------ */

/*
 * &drm_mode_config_helper_funcs.atomic_commit_setup, at the end of
 * drm_atomic_helper_setup_commit() on both paths, before the swap: the
 * flips, whose errors reach userspace. Those built go with their CRTC
 * states if the commit fails.
 */
static int vkms_commit_setup(struct drm_atomic_state *state)
{
	return vkms_flips_build(state);
}

/*
 * &drm_mode_config_helper_funcs.atomic_commit_tail: in the caller's thread
 * for a blocking commit, in the helpers' worker for a nonblocking one,
 * after the plane fences and the previous commits were waited for.
 */
static void vkms_commit_tail(struct drm_atomic_state *state)
{
	struct drm_device *dev = state->dev;
	struct drm_crtc_state *cs;
	struct drm_crtc *crtc;
	u32 crtc_mask = 0;
	int i;

	vkms_count_fence_errors(state);
	for_each_new_crtc_in_state(state, crtc, cs, i) {
		struct vkms_output *out = crtc_to_output(crtc);

		crtc_mask |= drm_crtc_mask(crtc);
		if (!to_vkms_state(state)->worker)
			continue;
		spin_lock_irq(&out->lock);
		out->stats.flips_worker++;
		spin_unlock_irq(&out->lock);
	}
	/*
	 * Only a gated flip whose fence took longer than the helpers' wait
	 * (10 s) can still be waiting here: this commit replaces it.
	 */
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
}

/* Set as &drm_mode_config.helper_private by vkms_drv.c. */
const struct drm_mode_config_helper_funcs vkms_mode_config_helpers = {
	.atomic_commit_tail	= vkms_commit_tail,
	.atomic_commit_setup	= vkms_commit_setup,
};

/* ---- atomic states and unload ------------------------------------------ */

/**
 * vkms_atomic_state_alloc - &drm_mode_config_funcs.atomic_state_alloc
 * @dev: the device
 *
 * A state counted in &vkms_device.states until vkms_atomic_state_free().
 *
 * Return: the state, or NULL.
 */
struct drm_atomic_state *vkms_atomic_state_alloc(struct drm_device *dev)
{
	struct vkms_atomic_state *vs;

	vs = kzalloc(sizeof(*vs), GFP_KERNEL);
	if (!vs)
		return NULL;
	if (drm_atomic_state_init(dev, &vs->base)) {
		kfree(vs);
		return NULL;
	}
	atomic_inc(&to_vkms(dev)->states);
	return &vs->base;
}

/**
 * vkms_atomic_state_free - &drm_mode_config_funcs.atomic_state_free
 * @state: the state, cleared
 *
 * A state committed nonblocking by the helpers usually loses its last
 * reference in their worker (on system_unbound_wq, which unload must not
 * flush): the worker runs our commit tail, then our destroy hooks and this
 * function through drm_atomic_state_put(), and only then returns. Counted
 * down here, the state would let unload go on while that worker still
 * runs. So such a state is not freed here: vkms_states_work() flushes its
 * &drm_atomic_state.commit_work, which returns once the worker has, and
 * frees it then. Other states are freed at once.
 */
void vkms_atomic_state_free(struct drm_atomic_state *state)
{
	struct vkms_atomic_state *vs = to_vkms_state(state);
	struct vkms_device *vkms = to_vkms(state->dev);

	drm_atomic_state_default_release(state);
	/* commit_work is initialized once the helpers may queue it */
	if (vs->worker && state->commit_work.func) {
		if (llist_add(&vs->freed, &vkms->states_freed))
			queue_work(vkms->commit_wq, &vkms->states_work);
	} else {
		kfree(vs);
	}
	if (atomic_dec_and_test(&vkms->states))
		wake_up_var(&vkms->states);
}

/**
 * vkms_states_work - free the states of returned helper workers
 * @work: &vkms_device.states_work
 */
void vkms_states_work(struct work_struct *work)
{
	struct vkms_device *vkms = container_of(work, struct vkms_device,
						states_work);
	struct vkms_atomic_state *vs, *next;
	struct llist_node *freed = llist_del_all(&vkms->states_freed);

	llist_for_each_entry_safe(vs, next, freed, freed) {
		flush_work(&vs->base.commit_work);
		kfree(vs);
	}
}

/**
 * vkms_states_wait - wait until no commit can run this module's code
 * @vkms: the device, unregistered and shut down
 *
 * At unload. Every state freed (a commit, its worker included, holds a
 * reference to its state until its end), then the gated commits' cleanup
 * workers and vkms_states_work() returned: the latter flushes the worker
 * of each state committed through it.
 */
void vkms_states_wait(struct vkms_device *vkms)
{
	wait_var_event(&vkms->states, !atomic_read(&vkms->states));
	flush_workqueue(vkms->commit_wq);
	vkms_states_work(&vkms->states_work);
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
 * A nonblocking flip that vkms_can_gate() accepts, with gate=1, takes the
 * gated path; every other commit drm_atomic_helper_commit(). See the top
 * of this file.
 *
 * Return: 0 or a negative errno (nothing committed then).
 */
int vkms_atomic_commit(struct drm_device *dev, struct drm_atomic_state *state,
		       bool nonblock)
{
	if (nonblock && READ_ONCE(vkms_gate) && vkms_can_gate(state))
		return vkms_commit_gated(dev, state);
	to_vkms_state(state)->worker = nonblock;
	return drm_atomic_helper_commit(dev, state, nonblock);
}
