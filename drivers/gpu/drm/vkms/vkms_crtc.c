// SPDX-License-Identifier: GPL-2.0
/**
 * DOC: the vblank, the latch and the simulated scan-out
 *
 * vkms CRTCs: the vblank timer, the latch of armed flips, the CRC source
 * and the per-CRTC counters in debugfs.
 *
 * The timer runs while the CRTC is on, one tick per frame duration of the
 * mode, whether or not DRM has vblank interrupts enabled: it is the
 * display's clock. Each tick, in hard IRQ:
 *  1. moves the timer to the next tick and records this tick's time (the
 *     vblank timestamp: the scheduled time, not the time the handler ran);
 *  2. lets DRM count the vblank and deliver WAIT_VBLANK events;
 *  3. latches every flip armed at or before this tick, unless the
 *     composer has not finished reading the frames shown so far (the
 *     scan-out rule, next to &vkms_output.lock): its frame becomes the
 *     scan-out (vkms_output.active), a compose request is queued when a
 *     CRC or a writeback capture will read it, the frame it replaces goes
 *     to the reaper, and after the lock is dropped vkms_flip_complete()
 *     sends its event (userspace event, flip_done, CRTC out-fence), drops
 *     its vblank reference and tells its gated commit (which queues the
 *     cleanup);
 *  4. queues a compose request for the current frame when the CRC wants
 *     this vblank.
 * Composition itself happens in the worker (vkms_composer.c). Nothing is
 * composed when nothing reads the result.
 *
 * Why the latch waits for the composer rather than the event: the event
 * is the display's promise that the old buffer is free, and its timestamp
 * is the vblank at which the new frame went on screen. Holding the latch
 * keeps both true at once (the old frame is simply shown for one more
 * vblank, as a display whose scan-out stalled would), costs no thread,
 * and needs no copy of the frame. Sending the event later from the
 * composer would wake a worker on every flip and stamp the event with a
 * vblank at which nothing changed. Composing the frame eagerly before the
 * latch would need the whole frame copied in the vblank handler.
 *
 * A handler that runs late by several frames (a busy host) counts those
 * vblanks at once; the frame shown during them is the one before the
 * latch, and the CRC gets an entry for each of them.
 *
 * Signalling: the tick and the composer are on the path of fences (flip
 * out-fences, writeback out-fences, and the flip events that userspace
 * waits for), so both run inside fence_begin_signalling() sections: they
 * take spinlocks only, allocate nothing, and leave every free to the
 * output's reaper worker (vkms_frame_put_deferred()).
 *
 * PREEMPT_RT: the vblank timer is a plain (not _HARD) hrtimer, so on RT it
 * runs in softirq context, where the spinlock_t locks it takes (the output
 * lock, DRM's event and vblank locks, fence locks) may sleep. The debug
 * kernel checks that nesting with CONFIG_PROVE_RAW_LOCK_NESTING.
 */
#include <linux/debugfs.h>
#include <linux/fence.h>
#include <linux/seq_file.h>
#include <linux/slab.h>

#include <drm/drm_atomic.h>
#include <drm/drm_atomic_helper.h>
#include <drm/drm_color_mgmt.h>
#include <drm/drm_managed.h>
#include <drm/drm_modeset_helper_vtables.h>
#include <drm/drm_print.h>
#include <drm/drm_vblank.h>

#include "vkms_drv.h"

#define CREATE_TRACE_POINTS
#include "vkms_trace.h"

/* Called with out->lock held. The ring's last request, or NULL. */
static struct vkms_compose_req *vkms_ring_last(struct vkms_output *out)
{
	if (!out->ring_len)
		return NULL;
	return &out->ring[(out->ring_head + out->ring_len - 1) %
			  VKMS_COMPOSE_RING];
}

/* Called with out->lock held, the ring not full. */
static struct vkms_compose_req *vkms_ring_push(struct vkms_output *out)
{
	struct vkms_compose_req *req;

	req = &out->ring[(out->ring_head + out->ring_len) % VKMS_COMPOSE_RING];
	out->ring_len++;
	memset(req, 0, sizeof(*req));
	return req;
}

/*
 * Called with out->lock held. Makes sure a request reads the current
 * frame at vblanks @from to @to: the last request is extended if it shows
 * that frame, else a new one is added. Returns false if the ring is full.
 */
static bool vkms_ring_cover(struct vkms_output *out, u64 from, u64 to,
			    bool crc)
{
	struct vkms_compose_req *req = vkms_ring_last(out);

	if (!req || req->frame != out->active) {
		if (out->ring_len == VKMS_COMPOSE_RING)
			return false;
		req = vkms_ring_push(out);
		req->frame = out->active;
		if (req->frame)
			refcount_inc(&req->frame->ref);
		req->first = from;
	}
	if (to > req->last)
		req->last = to;
	req->crc |= crc;
	out->reads_queued++;
	return true;
}

/*
 * Whether a flip tells anyone of its latch: a vblank event (blocking
 * commits have one too), a gated commit's out-fence, a writeback job.
 * Legacy cursor updates do not: the helpers complete them before they
 * latch.
 */
static bool vkms_flip_reports(const struct vkms_flip *flip)
{
	return flip->event || flip->vc || flip->wb;
}

/*
 * Called with out->lock held: latch @flip at vblank @seq of time @tick.
 * @reading: the composer still reads frames shown before this vblank.
 * Returns false, leaving the flip pending (a missed latch), if the flip
 * would replace a frame still being read and tells someone that it did
 * (the scan-out rule, next to &vkms_output.lock), or if the composer's
 * ring is full.
 */
static bool vkms_latch_locked(struct vkms_output *out, struct vkms_flip *flip,
			      u64 seq, ktime_t tick, bool reading)
{
	bool read = out->crc_enabled || flip->wb;
	struct vkms_frame *old;

	/* Rare: the composer is far behind. */
	if (read && out->ring_len == VKMS_COMPOSE_RING) {
		out->stats.scanout_waits++;
		return false;
	}
	if (!flip->keep) {
		if (reading && vkms_flip_reports(flip)) {
			out->stats.scanout_waits++;
			return false;
		}
		old = out->active;
		/* The flip's reference now belongs to the scan-out. */
		out->active = flip->frame;
		flip->frame = NULL;
		vkms_frame_put_deferred(out, old);
		out->stats.flips_latched++;
		out->stats.latched_armed_ns = ktime_to_ns(flip->armed);
		/* Was there a vblank between the arming and this one? */
		if (ktime_compare(ktime_sub(tick, out->period), flip->armed) >= 0)
			out->stats.missed_latches++;
	}
	if (flip->wb) {
		flip->wb->seq = seq;
		list_add_tail(&flip->wb->node, &out->wb_latched);
		flip->wb = NULL;
	}
	if (read)
		vkms_ring_cover(out, seq, seq, out->crc_enabled);
	return true;
}

/**
 * vkms_send_event - send a vblank event now, once
 * @crtc: its CRTC
 * @event: where the event is kept; cleared
 * @error: 0, or the error its out-fence (if any) signals with
 *
 * Any context but one holding the device's event_lock (a callback of a
 * vkms out-fence is called under it).
 */
void vkms_send_event(struct drm_crtc *crtc,
		     struct drm_pending_vblank_event **event, int error)
{
	unsigned long flags;

	if (!*event)
		return;
	if (error && (*event)->base.fence)
		dma_fence_set_error((*event)->base.fence, error);
	spin_lock_irqsave(&crtc->dev->event_lock, flags);
	drm_crtc_send_vblank_event(crtc, *event);
	spin_unlock_irqrestore(&crtc->dev->event_lock, flags);
	*event = NULL;
}

/*
 * A flip is over: latched at a vblank, or completed without one (a CRTC
 * turned off under it). Its event goes (a cancelled flip, which showed
 * nothing, signals its out-fence with -ECANCELED), its vblank reference
 * is dropped and its owner told: a gated commit frees its flips in its
 * cleanup worker, other flips are freed here (their frame went to the
 * scan-out). Any context without event_lock held.
 */
static void vkms_flip_complete(struct vkms_flip *flip)
{
	struct drm_crtc *crtc = &flip->out->crtc;

	vkms_send_event(crtc, &flip->event, flip->keep ? -ECANCELED : 0);
	if (flip->vblank_ref)
		drm_crtc_vblank_put(crtc);
	flip->vblank_ref = false;
	if (flip->vc)
		vkms_commit_flip_latched(flip->vc);
	else
		vkms_flip_free(flip);
}

static enum hrtimer_restart vkms_vblank_tick(struct hrtimer *timer)
{
	struct vkms_output *out = container_of(timer, struct vkms_output, timer);
	struct drm_crtc *crtc = &out->crtc;
	struct vkms_flip *flip, *next;
	unsigned int cookie;
	LIST_HEAD(latched);
	unsigned long flags;
	bool compose = false, reading;
	u64 overrun, seq;
	ktime_t tick;

	/* Flip events, out-fences and writeback fences depend on this. */
	cookie = fence_begin_signalling();
	overrun = hrtimer_forward_now(timer, out->period);
	tick = ktime_sub(hrtimer_get_expires(timer), out->period);
	WRITE_ONCE(out->tick_time, tick);

	drm_crtc_handle_vblank(crtc);
	seq = drm_crtc_vblank_count(crtc);

	spin_lock_irqsave(&out->lock, flags);
	out->stats.vblanks += overrun;
	/*
	 * A handler that ran late by several periods counts several
	 * vblanks at once: those before this one showed the current frame,
	 * and the CRC has an entry for each.
	 */
	if (out->crc_enabled && seq > out->crc_seq + 1)
		vkms_ring_cover(out, out->crc_seq + 1, seq - 1, true);
	/* Reads of the vblanks before this one, not done yet? */
	reading = out->reads_done != out->reads_queued;
	list_for_each_entry_safe(flip, next, &out->pending, node) {
		/* Armed after this vblank: it belongs to the next one. */
		if (ktime_after(flip->armed, tick))
			break;
		if (!vkms_latch_locked(out, flip, seq, tick, reading))
			break;
		list_move_tail(&flip->node, &latched);
	}
	if (out->crc_enabled)
		vkms_ring_cover(out, seq, seq, true);
	out->crc_seq = seq;
	compose = out->ring_len || !list_empty(&out->wb_latched);
	spin_unlock_irqrestore(&out->lock, flags);

	if (compose)
		queue_work(out->composer_wq, &out->compose_work);

	list_for_each_entry_safe(flip, next, &latched, node) {
		list_del(&flip->node);
		vkms_flip_complete(flip);
	}
	fence_end_signalling(cookie);
	return HRTIMER_RESTART;
}

/*
 * A flip nothing waits for (no event, no fence gate, no writeback, armed
 * in process context by a blocking legacy cursor update): a newer one may
 * take its place before the latch.
 */
static bool vkms_flip_mergeable(const struct vkms_flip *flip)
{
	return !vkms_flip_reports(flip) && !flip->vblank_ref && !flip->keep &&
	       flip->frame;
}

/**
 * vkms_flip_arm - put a flip in its CRTC's pending slot
 * @flip: the flip; its CRTC must be on
 * @keep: latch it without changing the scan-out (a cancelled gated flip)
 *
 * The next vblank after this call latches the flip. May be called in any
 * context, including hard IRQ from a fence callback: it takes only the
 * output's spinlock (irqsave) and does not allocate. On a CRTC that is off
 * the flip completes at once (event sent, nothing shown).
 */
void vkms_flip_arm(struct vkms_flip *flip, bool keep)
{
	struct vkms_output *out = flip->out;
	struct vkms_flip *last, *merged = NULL;
	bool gated = flip->vc;
	unsigned long flags;
	bool running;
	ktime_t armed;

	spin_lock_irqsave(&out->lock, flags);
	running = out->running;
	armed = ktime_get();
	flip->armed = armed;
	flip->keep = keep || !running;
	last = list_empty(&out->pending) ? NULL :
	       list_last_entry(&out->pending, struct vkms_flip, node);
	if (running && last && vkms_flip_mergeable(flip) &&
	    vkms_flip_mergeable(last)) {
		/*
		 * Legacy cursor updates do not wait for their vblank: each
		 * replaces the previous one still pending, or a client
		 * looping on them queues frames without bound. It keeps the
		 * older arming time, so a steady stream of them still
		 * latches at every vblank (the newest state then).
		 */
		flip->armed = last->armed;
		list_replace(&last->node, &flip->node);
		merged = last;
		out->stats.flips_merged++;
	} else if (running) {
		list_add_tail(&flip->node, &out->pending);
	}
	out->stats.flips_armed++;
	spin_unlock_irqrestore(&out->lock, flags);
	/* Not @flip: once in the pending list, the latch may free it. */
	trace_vkms_flip_armed(out->index, armed, gated, keep || !running);
	if (merged)
		vkms_flip_free(merged);
	if (running)
		return;

	/*
	 * The CRTC went off while a gated flip waited (its fence took longer
	 * than the helpers wait): nothing to show. Only gated flips get here.
	 * This may run in the callback of a vkms out-fence, which is called
	 * with the device's event_lock held, so the event is not sent here:
	 * the commit's cleanup worker sends it (out-fence -ECANCELED), and
	 * vkms_flip_free() cancels the writeback and drops the vblank
	 * reference, in process context.
	 */
	if (!WARN_ON_ONCE(!flip->vc))
		vkms_commit_flip_latched(flip->vc);
}

/**
 * vkms_next_vblank - when a flip armed now would be latched
 * @out: an output whose CRTC is on
 *
 * The vblank after the last one the timer handler has run for: a flip
 * armed from now until that handler runs is latched there (unless the
 * scan-out rule holds it back). With the handler late, it is a time
 * already past, which as a fence deadline means as soon as possible. Any
 * context, no lock: @out's period does not change while the CRTC is on.
 *
 * Return: the time of that vblank, CLOCK_MONOTONIC.
 */
ktime_t vkms_next_vblank(struct vkms_output *out)
{
	return ktime_add(READ_ONCE(out->tick_time), out->period);
}

static int vkms_enable_vblank(struct drm_crtc *crtc)
{
	/* The timer runs as long as the CRTC is on. */
	return 0;
}

static void vkms_disable_vblank(struct drm_crtc *crtc)
{
}

static bool vkms_get_vblank_timestamp(struct drm_crtc *crtc, int *max_error,
				      ktime_t *vblank_time, bool in_vblank_irq)
{
	struct vkms_output *out = crtc_to_output(crtc);

	*vblank_time = READ_ONCE(out->tick_time);
	return true;
}

static const char * const vkms_crc_sources[] = { "auto" };

static const char *const *vkms_get_crc_sources(struct drm_crtc *crtc,
					       size_t *count)
{
	*count = ARRAY_SIZE(vkms_crc_sources);
	return vkms_crc_sources;
}

static int vkms_verify_crc_source(struct drm_crtc *crtc, const char *source,
				  size_t *values_cnt)
{
	if (source && strcmp(source, "auto"))
		return -EINVAL;
	*values_cnt = 1;
	return 0;
}

/*
 * Called by the DRM CRC debugfs code when the data file is opened (source
 * "auto") and closed (NULL). A CRC consumer holds a vblank reference so
 * that every vblank is counted.
 */
static int vkms_set_crc_source(struct drm_crtc *crtc, const char *source)
{
	struct vkms_output *out = crtc_to_output(crtc);
	bool enable = !!source;
	size_t values;
	bool was;
	int ret;

	if (vkms_verify_crc_source(crtc, source, &values))
		return -EINVAL;

	if (enable) {
		ret = drm_crtc_vblank_get(crtc);
		if (ret)
			return ret;
	}
	spin_lock_irq(&out->lock);
	was = out->crc_enabled;
	out->crc_enabled = enable;
	out->crc_seq = drm_crtc_vblank_count(crtc);
	spin_unlock_irq(&out->lock);
	if (was)
		drm_crtc_vblank_put(crtc);
	return 0;
}

static int vkms_stats_show(struct seq_file *m, void *data)
{
	struct vkms_output *out = m->private;
	struct vkms_stats s;
	unsigned int pending = 0;
	struct vkms_flip *flip;

	spin_lock_irq(&out->lock);
	s = out->stats;
	list_for_each_entry(flip, &out->pending, node)
		pending++;
	spin_unlock_irq(&out->lock);

	seq_printf(m, "vblanks: %llu\n", s.vblanks);
	seq_printf(m, "gated_pending: %llu\n", s.gated_pending);
	seq_printf(m, "armed_pending: %u\n", pending);
	seq_printf(m, "flips_gated: %llu\n", s.flips_gated);
	seq_printf(m, "flips_worker: %llu\n", s.flips_worker);
	seq_printf(m, "flips_armed: %llu\n", s.flips_armed);
	seq_printf(m, "flips_latched: %llu\n", s.flips_latched);
	seq_printf(m, "flips_merged: %llu\n", s.flips_merged);
	seq_printf(m, "flips_cancelled: %llu\n", s.flips_cancelled);
	seq_printf(m, "missed_latches: %llu\n", s.missed_latches);
	seq_printf(m, "scanout_waits: %llu\n", s.scanout_waits);
	seq_printf(m, "fence_errors: %llu\n", s.fence_errors);
	seq_printf(m, "fence_deadlines: %llu\n", s.fence_deadlines);
	seq_printf(m, "composed: %llu\n", s.composed);
	seq_printf(m, "compose_ns_last: %llu\n", s.compose_ns_last);
	seq_printf(m, "compose_ns_max: %llu\n", s.compose_ns_max);
	seq_printf(m, "crc_entries: %llu\n", s.crc_entries);
	seq_printf(m, "writebacks: %llu\n", s.wb_done);
	seq_printf(m, "latched_armed_ns: %lld\n", s.latched_armed_ns);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(vkms_stats);

/*
 * Test knob: while compose_hold is 1 the composer takes no request, as a
 * scan-out delayed by a loaded host would; writing 0 lets it run again.
 * Tests use it to show that no buffer is reported free while a
 * composition that reads it is pending.
 */
static int vkms_compose_hold_get(void *data, u64 *val)
{
	struct vkms_output *out = data;

	*val = READ_ONCE(out->compose_hold);
	return 0;
}

static int vkms_compose_hold_set(void *data, u64 val)
{
	struct vkms_output *out = data;

	if (val > 1)
		return -EINVAL;
	WRITE_ONCE(out->compose_hold, val);
	if (!val)
		queue_work(out->composer_wq, &out->compose_work);
	return 0;
}
DEFINE_DEBUGFS_ATTRIBUTE(vkms_compose_hold_fops, vkms_compose_hold_get,
			 vkms_compose_hold_set, "%llu\n");

static int vkms_crtc_late_register(struct drm_crtc *crtc)
{
	struct vkms_output *out = crtc_to_output(crtc);

	debugfs_create_file("vkms_stats", 0444, crtc->debugfs_entry, out,
			    &vkms_stats_fops);
	debugfs_create_file_unsafe("compose_hold", 0644, crtc->debugfs_entry,
				   out, &vkms_compose_hold_fops);
	return 0;
}

/**
 * vkms_colour_put - drop a reference to a colour pipeline
 * @cl: the pipeline, or NULL
 *
 * Process context (the last reference frees it).
 */
void vkms_colour_put(struct vkms_colour *cl)
{
	if (cl && refcount_dec_and_test(&cl->ref))
		kfree(cl);
}

/*
 * Convert the @n entries of @blob, a LUT of its expected size, into
 * @lut, one row of @n per channel (&vkms_colour.gamma_lut's layout).
 * Returns whether it is the identity on every 16-bit input: that holds
 * exactly when n - 1 divides 0xffff and entry k is k * (0xffff / (n - 1))
 * in every channel (with that step the interpolation gives x back).
 */
static bool vkms_colour_lut(const struct drm_property_blob *blob,
			    unsigned int n, u32 *lut)
{
	const struct drm_color_lut *e = blob->data;
	u32 step = 0xffff % (n - 1) ? 0 : 0xffff / (n - 1);
	bool identity = step;
	unsigned int i, j;

	for (i = 0; i < n; i++) {
		j = min(i + 1, n - 1);
		lut[i] = e[i].red | (u32)e[j].red << 16;
		lut[n + i] = e[i].green | (u32)e[j].green << 16;
		lut[2 * n + i] = e[i].blue | (u32)e[j].blue << 16;
		if (e[i].red != i * step || e[i].green != i * step ||
		    e[i].blue != i * step)
			identity = false;
	}
	return identity;
}

/*
 * The CTM's coefficients, S31.32 sign-magnitude, as two's complement
 * 32.32 with the magnitude saturated at VKMS_CTM_MAX. Returns whether it
 * is the unit matrix.
 */
static bool vkms_colour_ctm(const struct drm_color_ctm *ctm, s64 *k)
{
	bool identity = true;
	unsigned int i;

	for (i = 0; i < 9; i++) {
		u64 v = ctm->matrix[i];
		s64 mag = min_t(u64, v & ~BIT_ULL(63), VKMS_CTM_MAX);

		k[i] = v & BIT_ULL(63) ? -mag : mag;
		if (k[i] != (i % 4 ? 0 : 1LL << 32))
			identity = false;
	}
	return identity;
}

/*
 * The colour pipeline of @cs's blobs into @out: NULL if every stage is
 * absent or the identity. -EINVAL for a LUT of the wrong size or a CTM
 * blob of the wrong length, -ENOMEM.
 */
static int vkms_colour_build(struct drm_crtc *crtc,
			     const struct drm_crtc_state *cs,
			     struct vkms_colour **out)
{
	struct vkms_colour *cl;
	unsigned int c, v;

	*out = NULL;
	if (cs->degamma_lut &&
	    drm_color_lut_size(cs->degamma_lut) != VKMS_DEGAMMA_LUT_SIZE) {
		drm_dbg_atomic(crtc->dev, "[CRTC:%d:%s] DEGAMMA_LUT of %d entries, not %d\n",
			       crtc->base.id, crtc->name,
			       drm_color_lut_size(cs->degamma_lut),
			       VKMS_DEGAMMA_LUT_SIZE);
		return -EINVAL;
	}
	if (cs->gamma_lut &&
	    drm_color_lut_size(cs->gamma_lut) != VKMS_GAMMA_LUT_SIZE) {
		drm_dbg_atomic(crtc->dev, "[CRTC:%d:%s] GAMMA_LUT of %d entries, not %d\n",
			       crtc->base.id, crtc->name,
			       drm_color_lut_size(cs->gamma_lut),
			       VKMS_GAMMA_LUT_SIZE);
		return -EINVAL;
	}
	/* DRM checks it when the property is set; this keeps k[] in bounds */
	if (cs->ctm && cs->ctm->length != sizeof(struct drm_color_ctm)) {
		drm_dbg_atomic(crtc->dev, "[CRTC:%d:%s] CTM of %zu bytes\n",
			       crtc->base.id, crtc->name, cs->ctm->length);
		return -EINVAL;
	}
	if (!cs->degamma_lut && !cs->ctm && !cs->gamma_lut)
		return 0;

	cl = kzalloc(sizeof(*cl), GFP_KERNEL);
	if (!cl)
		return -ENOMEM;
	refcount_set(&cl->ref, 1);
	if (cs->degamma_lut)
		cl->degamma = !vkms_colour_lut(cs->degamma_lut,
					       VKMS_DEGAMMA_LUT_SIZE,
					       &cl->degamma_lut[0][0]);
	for (c = 0; cl->degamma && c < 3; c++)
		for (v = 0; v < 256; v++)
			cl->degamma8[c][v] =
				vkms_lut_interp(cl->degamma_lut[c],
						VKMS_DEGAMMA_LUT_SIZE - 1,
						v * 257);
	if (cs->ctm)
		cl->ctm = !vkms_colour_ctm(cs->ctm->data, cl->k);
	if (cs->gamma_lut)
		cl->gamma = !vkms_colour_lut(cs->gamma_lut,
					     VKMS_GAMMA_LUT_SIZE,
					     &cl->gamma_lut[0][0]);
	if (!cl->degamma && !cl->ctm && !cl->gamma) {
		kfree(cl);
		return 0;
	}
	*out = cl;
	return 0;
}

/*
 * &drm_crtc_helper_funcs.atomic_check, for every CRTC of a state (on or
 * off): checks the colour blobs and, when they changed, converts them
 * into the state's own table. Other states share their parent's.
 */
static int vkms_crtc_atomic_check(struct drm_crtc *crtc,
				  struct drm_atomic_state *state)
{
	struct drm_crtc_state *cs = drm_atomic_get_new_crtc_state(state, crtc);
	struct vkms_crtc_state *vs = to_vkms_crtc_state(cs);
	struct vkms_colour *cl;
	int ret;

	if (!cs->color_mgmt_changed)
		return 0;
	ret = vkms_colour_build(crtc, cs, &cl);
	if (ret)
		return ret;
	vkms_colour_put(vs->colour);
	vs->colour = cl;
	return 0;
}

static void vkms_crtc_destroy_state(struct drm_crtc *crtc,
				    struct drm_crtc_state *state)
{
	struct vkms_crtc_state *vs = to_vkms_crtc_state(state);

	if (vs->flip)
		vkms_flip_free(vs->flip);
	vkms_colour_put(vs->colour);
	__drm_atomic_helper_crtc_destroy_state(state);
	kfree(vs);
}

static void vkms_crtc_reset(struct drm_crtc *crtc)
{
	struct vkms_crtc_state *vs = kzalloc(sizeof(*vs), GFP_KERNEL);

	if (crtc->state)
		vkms_crtc_destroy_state(crtc, crtc->state);
	__drm_atomic_helper_crtc_reset(crtc, vs ? &vs->base : NULL);
}

static struct drm_crtc_state *vkms_crtc_duplicate_state(struct drm_crtc *crtc)
{
	struct vkms_crtc_state *vs;

	if (!crtc->state)
		return NULL;
	vs = kzalloc(sizeof(*vs), GFP_KERNEL);
	if (!vs)
		return NULL;
	__drm_atomic_helper_crtc_duplicate_state(crtc, &vs->base);
	/* the same blobs: the same table, until the check rebuilds it */
	vs->colour = to_vkms_crtc_state(crtc->state)->colour;
	if (vs->colour)
		refcount_inc(&vs->colour->ref);
	return &vs->base;
}

static const struct drm_crtc_funcs vkms_crtc_funcs = {
	.set_config		= drm_atomic_helper_set_config,
	.page_flip		= drm_atomic_helper_page_flip,
	.destroy		= drm_crtc_cleanup,
	.reset			= vkms_crtc_reset,
	.atomic_duplicate_state	= vkms_crtc_duplicate_state,
	.atomic_destroy_state	= vkms_crtc_destroy_state,
	.enable_vblank		= vkms_enable_vblank,
	.disable_vblank		= vkms_disable_vblank,
	.get_vblank_timestamp	= vkms_get_vblank_timestamp,
	.get_crc_sources	= vkms_get_crc_sources,
	.verify_crc_source	= vkms_verify_crc_source,
	.set_crc_source		= vkms_set_crc_source,
	.late_register		= vkms_crtc_late_register,
};

static void vkms_crtc_atomic_enable(struct drm_crtc *crtc,
				    struct drm_atomic_state *state)
{
	struct vkms_output *out = crtc_to_output(crtc);
	struct drm_vblank_crtc *vbl = &crtc->dev->vblank[drm_crtc_index(crtc)];
	ktime_t now;

	/* framedur_ns was computed from the new mode by the commit helpers */
	out->period = ns_to_ktime(vbl->framedur_ns > 0 ? vbl->framedur_ns :
				  NSEC_PER_SEC / 60);
	now = ktime_get();
	WRITE_ONCE(out->tick_time, now);
	spin_lock_irq(&out->lock);
	out->running = true;
	spin_unlock_irq(&out->lock);
	hrtimer_start(&out->timer, ktime_add(now, out->period),
		      HRTIMER_MODE_ABS);
	drm_crtc_vblank_on(crtc);
}

static void vkms_crtc_atomic_disable(struct drm_crtc *crtc,
				     struct drm_atomic_state *state)
{
	struct vkms_output *out = crtc_to_output(crtc);
	struct vkms_flip *flip, *next;
	struct vkms_frame *active;
	LIST_HEAD(left);

	hrtimer_cancel(&out->timer);
	drm_crtc_vblank_off(crtc);

	spin_lock_irq(&out->lock);
	out->running = false;
	list_splice_init(&out->pending, &left);
	active = out->active;
	out->active = NULL;
	spin_unlock_irq(&out->lock);

	/* Compose what the last vblanks still owe (CRC, writeback). */
	WRITE_ONCE(out->compose_hold, false);
	flush_work(&out->compose_work);

	/*
	 * Flips still pending here were armed without an event (legacy
	 * cursor updates): the commit that disables the CRTC waited for
	 * every flip with one. They complete without being shown.
	 */
	list_for_each_entry_safe(flip, next, &left, node) {
		list_del(&flip->node);
		flip->keep = true;
		vkms_flip_complete(flip);
	}
	vkms_frame_put(active);
}

/*
 * The vblank timer ticks once per frame of the mode, so the refresh rate
 * bounds how long a flip waits for its latch and how often the timer
 * fires. A mode from userspace may claim any clock and totals: at 1 kHz
 * and 65535x65535 a frame lasts over an hour and every commit after a
 * flip on it runs into DRM's 10 s flip_done timeout; at a few MHz of
 * refresh the timer alone would eat the CPU. Refuse both ends.
 */
#define VKMS_MIN_VREFRESH	1
#define VKMS_MAX_VREFRESH	1000

static enum drm_mode_status
vkms_crtc_mode_valid(struct drm_crtc *crtc, const struct drm_display_mode *mode)
{
	int hz = drm_mode_vrefresh(mode);

	if (hz < VKMS_MIN_VREFRESH || hz > VKMS_MAX_VREFRESH) {
		drm_dbg_kms(crtc->dev, "[CRTC:%d:%s] %d Hz refresh out of %d-%d\n",
			    crtc->base.id, crtc->name, hz, VKMS_MIN_VREFRESH,
			    VKMS_MAX_VREFRESH);
		return hz < VKMS_MIN_VREFRESH ? MODE_CLOCK_LOW : MODE_CLOCK_HIGH;
	}
	return MODE_OK;
}

static const struct drm_crtc_helper_funcs vkms_crtc_helper_funcs = {
	.mode_valid	= vkms_crtc_mode_valid,
	.atomic_check	= vkms_crtc_atomic_check,
	.atomic_enable	= vkms_crtc_atomic_enable,
	.atomic_disable	= vkms_crtc_atomic_disable,
};

/* Device release: the CRTC is off, its timer stopped. */
static void vkms_crtc_release(struct drm_device *drm, void *arg)
{
	struct vkms_output *out = arg;
	unsigned int i;

	destroy_workqueue(out->composer_wq);
	for (i = 0; i < out->ring_len; i++) {
		struct vkms_compose_req *req;

		req = &out->ring[(out->ring_head + i) % VKMS_COMPOSE_RING];
		vkms_frame_put(req->frame);
	}
	out->ring_len = 0;
	vkms_frame_put(out->active);
	out->active = NULL;
	flush_work(&out->reap_work);
	vkms_reap_work(&out->reap_work);
	vkms_composer_fini(out);
	mutex_destroy(&out->reserve_lock);
}

/**
 * vkms_crtc_init - create the CRTC of an output
 * @out: the output, its planes created
 *
 * Return: 0 or a negative errno.
 */
int vkms_crtc_init(struct vkms_output *out)
{
	struct drm_device *dev = &out->vkms->drm;
	int ret;

	spin_lock_init(&out->lock);
	mutex_init(&out->reserve_lock);
	init_llist_head(&out->reap);
	init_llist_head(&out->reap_bufs);
	INIT_WORK(&out->reap_work, vkms_reap_work);
	INIT_LIST_HEAD(&out->pending);
	INIT_LIST_HEAD(&out->wb_latched);
	INIT_LIST_HEAD(&out->comp.wb);
	hrtimer_init(&out->timer, CLOCK_MONOTONIC, HRTIMER_MODE_ABS);
	out->timer.function = vkms_vblank_tick;
	out->period = ns_to_ktime(NSEC_PER_SEC / 60);
	INIT_WORK(&out->compose_work, vkms_compose_work);

	out->composer_wq = alloc_ordered_workqueue("vkms_composer_%u",
						   WQ_HIGHPRI, out->index);
	if (!out->composer_wq)
		return -ENOMEM;
	ret = drmm_add_action_or_reset(dev, vkms_crtc_release, out);
	if (ret)
		return ret;

	ret = drm_crtc_init_with_planes(dev, &out->crtc, out->primary,
					out->cursor, &vkms_crtc_funcs,
					"vkms-crtc-%u", out->index);
	if (ret)
		return ret;
	drm_crtc_helper_add(&out->crtc, &vkms_crtc_helper_funcs);

	/*
	 * The legacy gamma ioctl sets GAMMA_LUT (and clears the others)
	 * through DRM's atomic fallback, so its size is the LUT's.
	 */
	ret = drm_mode_crtc_set_gamma_size(&out->crtc, VKMS_GAMMA_LUT_SIZE);
	if (ret)
		return ret;
	drm_crtc_enable_color_mgmt(&out->crtc, VKMS_DEGAMMA_LUT_SIZE, true,
				   VKMS_GAMMA_LUT_SIZE);
	return 0;
}
