// SPDX-License-Identifier: GPL-2.0
/**
 * DOC: the fence-gated flip path
 *
 * Nonblocking flip, gate=1 (no modeset, every CRTC on, previous commits
 * done): the fence-gated path.
 *  - In the ioctl (process context): every plane fence (IN_FENCE_FD or the
 *    implicit write fence found by prepare_fb) is converted with
 *    fence_from_dma_fence() before the swap (it may allocate: an import for
 *    a foreign dma_fence; our own fences come back as themselves). After
 *    the swap the flips take the CRTC events and the writeback jobs,
 *    hw_done is completed (nothing reads the DRM state any more), a
 *    callback is added to each fence, each fence still pending gets the
 *    time of the commit's first possible latch as its deadline
 *    (fence_set_deadline(), see vkms_commit_deadline()) and the ioctl
 *    returns. No thread waits.
 *  - The last fence callback, in the signaling context (vgem's completion
 *    hrtimer, hard IRQ), arms the flips: vkms_flip_arm() puts each in its
 *    CRTC's pending list under the output spinlock. Nothing else: no
 *    allocation, no sleeping, no work queued, no thread woken.
 *  - The next vblank (vkms_crtc.c, hard IRQ) latches the flip, sends its
 *    event (flip_done, the CRTC out-fence, the userspace event) and, when
 *    the commit's last flip is latched, queues the cleanup worker, which
 *    runs cleanup_planes and cleanup_done and drops the state.
 * A pending counter (fences + 1 while registering) decides who arms: the
 * callback or the registration that brings it to zero.
 *
 * Teardown: closing a file cancels the gated commits that show one of its
 * framebuffers (vkms_cancel_gated(); unload cancels them all). The commit
 * is marked cancelled under the gated lock, then each callback is removed
 * with fence_remove_callback(). A callback that could not be removed has
 * run: fence_remove_callback() takes the fence lock the callback runs
 * under, so it has also finished decrementing the counter. The removed
 * callbacks are subtracted from the counter, and whoever reaches zero (the
 * canceller, or a callback that ran concurrently) arms the flips; a
 * cancelled commit's flips are armed with @keep, so they complete at the
 * next vblank without putting a buffer whose fence has not signaled on
 * screen. The commit itself is reference counted, so the canceller's
 * pointer stays valid while a concurrent latch and cleanup run.

 */
#include <linux/dma-fence.h>
#include <linux/fence.h>
#include <linux/slab.h>

#include <drm/drm_atomic.h>
#include <drm/drm_atomic_helper.h>
#include <drm/drm_file.h>
#include <drm/drm_framebuffer.h>
#include <drm/drm_vblank.h>

#include "vkms_drv.h"

/**
 * struct vkms_fence_wait - a gated commit's callback on one plane fence
 * @fence: the fence, ours or an import (a reference)
 * @cb: the callback
 * @vc: the commit
 * @out: the output of the plane, for the error counter
 */
struct vkms_fence_wait {
	struct fence *fence;
	struct fence_cb cb;
	struct vkms_commit *vc;
	struct vkms_output *out;
};

/**
 * struct vkms_commit - a commit on the fence-gated path
 * @vkms: the device
 * @state: the committed state (a reference) until the cleanup
 * @ref: references: one for the commit's life, one per canceller
 * @gated_node: entry in &vkms_device.gated until armed, under its lock
 * @pending: fences not signaled yet, plus one while callbacks are added
 * @flips_left: flips not latched yet, plus one while they are armed
 * @cancelled: arm the flips with &vkms_flip.keep (set under the gated lock)
 * @cleanup_work: the cleanup after the last latch
 * @nflips: flips in @flips
 * @flips: the flips, one per CRTC of the commit, freed with the commit
 * @nwaits: callbacks in @waits
 * @waits: one per plane fence
 */
struct vkms_commit {
	struct vkms_device *vkms;
	struct drm_atomic_state *state;
	struct kref ref;
	struct list_head gated_node;
	atomic_t pending;
	atomic_t flips_left;
	bool cancelled;
	struct work_struct cleanup_work;
	unsigned int nflips;
	struct vkms_flip *flips[VKMS_MAX_OUTPUTS];
	unsigned int nwaits;
	struct vkms_fence_wait waits[];
};

static bool vkms_commit_done(struct drm_crtc_commit *commit)
{
	return !commit || (completion_done(&commit->hw_done) &&
			   completion_done(&commit->flip_done));
}

/**
 * vkms_can_gate - whether a state can take the gated path
 * @state: the state, not swapped yet
 *
 * A flip on CRTCs that are and stay on, without modeset, after previous
 * commits on the same objects are done (they never become undone).
 *
 * Return: true if it can.
 */
bool vkms_can_gate(struct drm_atomic_state *state)
{
	struct drm_crtc_state *old_cs, *new_cs;
	struct drm_connector_state *old_conn;
	struct drm_plane_state *old_ps;
	struct drm_connector *conn;
	struct drm_plane *plane;
	struct drm_crtc *crtc;
	int i, n = 0;

	for_each_oldnew_crtc_in_state(state, crtc, old_cs, new_cs, i) {
		if (!old_cs->active || !new_cs->active ||
		    drm_atomic_crtc_needs_modeset(new_cs) ||
		    !vkms_commit_done(old_cs->commit))
			return false;
		n++;
	}
	for_each_old_plane_in_state(state, plane, old_ps, i)
		if (!vkms_commit_done(old_ps->commit))
			return false;
	for_each_old_connector_in_state(state, conn, old_conn, i)
		if (!vkms_commit_done(old_conn->commit))
			return false;
	return n > 0;
}

static void vkms_commit_release(struct kref *ref)
{
	struct vkms_commit *vc = container_of(ref, struct vkms_commit, ref);
	unsigned int i;

	for (i = 0; i < vc->nflips; i++)
		vkms_flip_free(vc->flips[i]);
	for (i = 0; i < vc->nwaits; i++)
		fence_put(vc->waits[i].fence);
	if (vc->state)
		drm_atomic_state_put(vc->state);
	kfree(vc);
}

static void vkms_commit_cleanup_work(struct work_struct *work)
{
	struct vkms_commit *vc = container_of(work, struct vkms_commit,
					      cleanup_work);
	struct drm_atomic_state *state = vc->state;
	unsigned int i;

	/*
	 * A flip completed without a latch (its CRTC went off while it was
	 * gated) still holds its event: it goes now, before cleanup_done,
	 * which waits for flip_done.
	 */
	for (i = 0; i < vc->nflips; i++)
		vkms_send_event(&vc->flips[i]->out->crtc, &vc->flips[i]->event,
				-ECANCELED);
	drm_atomic_helper_cleanup_planes(state->dev, state);
	drm_atomic_helper_commit_cleanup_done(state);
	kref_put(&vc->ref, vkms_commit_release);
}

/*
 * A gated commit for @state, before the swap: every plane fence converted
 * (it may allocate an import), one callback slot per fence. Returns the
 * commit or an ERR_PTR().
 */
static struct vkms_commit *vkms_commit_create(struct vkms_device *vkms,
					      struct drm_atomic_state *state)
{
	struct drm_plane_state *ps;
	struct drm_plane *plane;
	struct vkms_commit *vc;
	unsigned int n = 0;
	int i;

	for_each_new_plane_in_state(state, plane, ps, i)
		if (ps->fence)
			n++;

	vc = kzalloc(struct_size(vc, waits, n), GFP_KERNEL);
	if (!vc)
		return ERR_PTR(-ENOMEM);
	vc->vkms = vkms;
	kref_init(&vc->ref);
	INIT_LIST_HEAD(&vc->gated_node);
	INIT_WORK(&vc->cleanup_work, vkms_commit_cleanup_work);

	for_each_new_plane_in_state(state, plane, ps, i) {
		struct vkms_plane_state *vps = to_vkms_plane_state(ps);
		struct vkms_fence_wait *w;
		struct fence *f;

		/* the helpers' path's copy (vkms_plane.c); ours is below */
		dma_fence_put(vps->fence);
		vps->fence = NULL;
		if (!ps->fence)
			continue;
		f = fence_from_dma_fence(ps->fence);
		if (IS_ERR(f)) {
			kref_put(&vc->ref, vkms_commit_release);
			return ERR_CAST(f);
		}
		w = &vc->waits[vc->nwaits++];
		w->fence = f;
		w->vc = vc;
		w->out = crtc_to_output(ps->crtc);
		INIT_LIST_HEAD(&w->cb.node);
	}
	return vc;
}

/**
 * vkms_commit_flip_latched - a flip of a gated commit has been latched
 * @vc: the commit
 *
 * Called from the vblank handler (hard IRQ). The last one queues the
 * commit's cleanup; @vc may be freed as soon as this returns.
 */
void vkms_commit_flip_latched(struct vkms_commit *vc)
{
	if (atomic_dec_and_test(&vc->flips_left))
		queue_work(vc->vkms->commit_wq, &vc->cleanup_work);
}

/*
 * Arm every flip of @vc: from the last fence callback (any context, maybe
 * hard IRQ, under that fence's lock), from the ioctl when every fence had
 * already signaled, or from a canceller. Spinlocks only.
 */
static void vkms_commit_arm(struct vkms_commit *vc)
{
	struct vkms_device *vkms = vc->vkms;
	unsigned long flags;
	bool cancelled;
	unsigned int i;

	spin_lock_irqsave(&vkms->gated_lock, flags);
	list_del_init(&vc->gated_node);
	cancelled = vc->cancelled;
	spin_unlock_irqrestore(&vkms->gated_lock, flags);

	for (i = 0; i < vc->nflips; i++) {
		struct vkms_output *out = vc->flips[i]->out;

		spin_lock_irqsave(&out->lock, flags);
		out->stats.gated_pending--;
		if (cancelled)
			out->stats.flips_cancelled++;
		spin_unlock_irqrestore(&out->lock, flags);
		vkms_flip_arm(vc->flips[i], cancelled);
	}
	/* the flips are latched from now on; this was the arming's count */
	vkms_commit_flip_latched(vc);
}

static void vkms_commit_fence_cb(struct fence *fence, struct fence_cb *cb)
{
	struct vkms_fence_wait *w = container_of(cb, struct vkms_fence_wait,
						 cb);
	struct vkms_commit *vc = w->vc;

	if (fence->error < 0)
		vkms_count_fence_error(w->out);
	if (atomic_dec_and_test(&vc->pending))
		vkms_commit_arm(vc);
}

/*
 * The deadline of a gated commit's fences: the first vblank at which one
 * of its flips could latch, were the fences to signal now. The flips are
 * armed together, by the last callback, so the fence of a plane on one
 * CRTC holds back the flips of the others too: the earliest next vblank
 * of the commit's CRTCs is what a late fence misses first. Reads two
 * fields per CRTC: no lock, no allocation.
 */
static ktime_t vkms_commit_deadline(struct vkms_commit *vc)
{
	ktime_t deadline = KTIME_MAX;
	unsigned int i;

	for (i = 0; i < vc->nflips; i++) {
		ktime_t t = vkms_next_vblank(vc->flips[i]->out);

		if (ktime_before(t, deadline))
			deadline = t;
	}
	return deadline;
}

/*
 * Put a swapped state on the gated path (@vc takes the reference to
 * @state), in the ioctl: the flips take the events and writeback jobs,
 * hw_done is completed, a callback is added to each fence and the
 * pending ones get the commit's deadline.
 */
static void vkms_commit_gate(struct vkms_commit *vc,
			     struct drm_atomic_state *state)
{
	struct vkms_device *vkms = vc->vkms;
	struct drm_crtc_state *cs;
	struct drm_crtc *crtc;
	ktime_t deadline;
	unsigned int i;
	int j;

	vc->state = state;
	vkms_writeback_attach(state);
	for_each_new_crtc_in_state(state, crtc, cs, j) {
		struct vkms_crtc_state *vs = to_vkms_crtc_state(cs);
		struct vkms_flip *flip = vs->flip;
		struct vkms_output *out = crtc_to_output(crtc);

		vs->flip = NULL;
		flip->vc = vc;
		flip->event = cs->event;
		cs->event = NULL;
		if (flip->event)
			flip->vblank_ref = !drm_crtc_vblank_get(crtc);
		vc->flips[vc->nflips++] = flip;

		spin_lock_irq(&out->lock);
		out->stats.gated_pending++;
		out->stats.flips_gated++;
		spin_unlock_irq(&out->lock);
	}
	atomic_set(&vc->flips_left, vc->nflips + 1);
	/* Nothing reads or writes the DRM state from here on. */
	drm_atomic_helper_commit_hw_done(state);

	deadline = vkms_commit_deadline(vc);
	atomic_set(&vc->pending, vc->nwaits + 1);
	for (i = 0; i < vc->nwaits; i++) {
		struct vkms_fence_wait *w = &vc->waits[i];

		if (fence_add_callback(w->fence, &w->cb, vkms_commit_fence_cb)) {
			/* already signaled: cannot reach zero, we hold one */
			if (w->fence->error < 0)
				vkms_count_fence_error(w->out);
			atomic_dec(&vc->pending);
			continue;
		}
		/*
		 * No lock held: the fence's driver may take its lock (an
		 * import's dma_fence may even signal here, running our
		 * callback, which cannot arm while we hold the count).
		 */
		fence_set_deadline(w->fence, deadline);
		spin_lock_irq(&w->out->lock);
		w->out->stats.fence_deadlines++;
		spin_unlock_irq(&w->out->lock);
	}

	/* Visible to cancellers only once every callback is in place. */
	spin_lock_irq(&vkms->gated_lock);
	list_add_tail(&vc->gated_node, &vkms->gated);
	spin_unlock_irq(&vkms->gated_lock);

	if (atomic_dec_and_test(&vc->pending))
		vkms_commit_arm(vc);
}

/**
 * vkms_commit_gated - commit a state on the fence-gated path
 * @dev: the device
 * @state: the checked state of a nonblocking flip that vkms_can_gate()
 *	accepted
 *
 * drm_atomic_helper_setup_commit() (which builds the flips, see
 * vkms_commit.c) and the planes prepared, the commit created, then the
 * point of no return: the swap, and vkms_commit_gate().
 *
 * Return: 0 or a negative errno (nothing committed then).
 */
int vkms_commit_gated(struct drm_device *dev, struct drm_atomic_state *state)
{
	struct vkms_commit *vc;
	int ret;

	ret = drm_atomic_helper_setup_commit(state, true);
	if (ret)
		return ret;
	ret = drm_atomic_helper_prepare_planes(dev, state);
	if (ret)
		return ret;
	vc = vkms_commit_create(to_vkms(dev), state);
	if (IS_ERR(vc)) {
		ret = PTR_ERR(vc);
		goto err_planes;
	}
	ret = drm_atomic_helper_swap_state(state, true);
	if (ret)
		goto err_commit;

	drm_atomic_state_get(state);
	vkms_commit_gate(vc, state);
	return 0;

err_commit:
	kref_put(&vc->ref, vkms_commit_release);
err_planes:
	/* the flips go with the new CRTC states */
	drm_atomic_helper_cleanup_planes(dev, state);
	return ret;
}

/* Called under file->fbs_lock and the gated lock: uses a file's fb? */
static bool vkms_commit_uses_file(struct vkms_commit *vc,
				  struct drm_file *file)
{
	struct drm_framebuffer *fb;
	unsigned int i, l;

	list_for_each_entry(fb, &file->fbs, filp_head) {
		for (i = 0; i < vc->nflips; i++) {
			struct vkms_frame *frame = vc->flips[i]->frame;

			for (l = 0; frame && l < frame->nlayers; l++)
				if (frame->fbs[l] == fb)
					return true;
		}
	}
	return false;
}

/* Under the gated lock: does @vc flip a CRTC of @crtc_mask? */
static bool vkms_commit_on_crtcs(struct vkms_commit *vc, u32 crtc_mask)
{
	unsigned int i;

	for (i = 0; i < vc->nflips; i++)
		if (crtc_mask & drm_crtc_mask(&vc->flips[i]->out->crtc))
			return true;
	return false;
}

/*
 * Cancel the gated commits, not armed yet, that @match selects (under the
 * gated lock), one at a time. See the top of the file.
 */
static void vkms_cancel_matching(struct vkms_device *vkms,
				 bool (*match)(struct vkms_commit *vc,
					       void *arg),
				 void *arg, struct mutex *outer)
{
	for (;;) {
		struct vkms_commit *vc = NULL, *it;
		unsigned int i, removed = 0;

		if (outer)
			mutex_lock(outer);
		spin_lock_irq(&vkms->gated_lock);
		list_for_each_entry(it, &vkms->gated, gated_node) {
			if (it->cancelled || !match(it, arg))
				continue;
			it->cancelled = true;
			kref_get(&it->ref);
			vc = it;
			break;
		}
		spin_unlock_irq(&vkms->gated_lock);
		if (outer)
			mutex_unlock(outer);
		if (!vc)
			return;

		for (i = 0; i < vc->nwaits; i++)
			if (fence_remove_callback(vc->waits[i].fence,
						  &vc->waits[i].cb))
				removed++;
		/*
		 * Callbacks not removed have run to completion (they run under
		 * the fence lock that fence_remove_callback() took).
		 */
		if (removed && atomic_sub_and_test(removed, &vc->pending))
			vkms_commit_arm(vc);
		kref_put(&vc->ref, vkms_commit_release);
	}
}

static bool vkms_match_file(struct vkms_commit *vc, void *file)
{
	return !file || vkms_commit_uses_file(vc, file);
}

static bool vkms_match_crtcs(struct vkms_commit *vc, void *mask)
{
	return vkms_commit_on_crtcs(vc, *(u32 *)mask);
}

/**
 * vkms_cancel_crtcs - cancel the gated commits that flip given CRTCs
 * @vkms: the device
 * @crtc_mask: the CRTCs
 *
 * Process context: a commit that replaces them (after the helpers' wait
 * for their flip_done ran out).
 */
void vkms_cancel_crtcs(struct vkms_device *vkms, u32 crtc_mask)
{
	vkms_cancel_matching(vkms, vkms_match_crtcs, &crtc_mask, NULL);
}

/**
 * vkms_cancel_gated - cancel gated commits waiting for their fences
 * @vkms: the device
 * @file: cancel those showing a framebuffer of this file; NULL for all
 *
 * Process context. The cancelled commits complete at the next vblank of
 * their CRTCs without changing what is displayed.
 */
void vkms_cancel_gated(struct vkms_device *vkms, struct drm_file *file)
{
	vkms_cancel_matching(vkms, vkms_match_file, file,
			     file ? &file->fbs_lock : NULL);
}
