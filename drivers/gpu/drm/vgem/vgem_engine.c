// SPDX-License-Identifier: GPL-2.0
/**
 * DOC: the simulated engine
 *
 * The simulated GPU engines of vgem: the scheduler of SUBMIT's jobs.
 *
 * A job waits for its dependencies (explicit in-fences and the buffers'
 * implicit fences) through fence callbacks, then runs on its engine after
 * every job its file submitted there before it (Order, below). The
 * engine's worker sleeps until just before the job's completion time,
 * writes the job's pixels (through mappings the ioctl made), and arms the
 * completion hrtimer; in that handler, the "completion interrupt", the
 * job's fence is signaled under the engine lock. So the pixels appear only
 * just before the fence signals: a consumer that does not wait for the
 * fence sees the old content.
 *
 * A hang check, armed when the job starts, signals a job that overruns its
 * duration by hang_ms with -ETIMEDOUT. A job whose in-fence failed does
 * not run: its fence signals at once with that error. The buffers'
 * implicit fences pass no error on (vgem_job_add_dep()).
 *
 * Signalling path: the worker from a job's start until its completion is
 * armed, both hrtimer handlers and the dependency callback are fence
 * signalling sections (fence_begin_signalling()): nothing there allocates,
 * takes a sleeping lock or waits for a fence. Jobs are freed by another
 * work item, outside them.
 *
 * Deadlines: a job's fence keeps the earliest deadline a consumer set on
 * it (vkms at a gated flip, or dma_fence_set_deadline() on its export),
 * and debugfs "engines" shows it next to the job ("deadline in N us",
 * negative once passed).
 *
 * Order: each file has a timeline of its own on each engine, whose jobs
 * run in submission order. When the engine is free, the oldest job of
 * each timeline competes if it is ready (its dependencies have signaled);
 * with edf=1 (the default) the one with the earliest deadline runs, jobs
 * without one after all that have one, and submission order breaks ties.
 * So without deadlines the engine runs ready jobs in submission order,
 * except that a job waiting for its dependencies holds back only its own
 * file. Bounded wait: a competing job that has been ready and oldest of
 * its timeline for starve_ms or longer runs before any other, whatever
 * the deadlines (the one that waited longest first); starve_ms=0 turns
 * the bound off. With edf=0 the engine runs its jobs in submission order
 * across files, each waiting for every job queued before it.
 *
 * Clock: duration_ns is a job's time at the nominal clock. When a
 * deadline is at risk, the engine boosts its clock to max_boost times
 * nominal (default 2; 1 never boosts) for the rest of the job running,
 * which completes that much sooner; the next job starts at the nominal
 * clock. At risk: at the nominal clock, the job running would complete
 * after its own deadline, or a ready job that waits for the engine would
 * (starting when the running one completes, the earliest it could), as
 * a GPU raises its clock for a waiter it makes late. Checked when a job
 * starts and whenever a job of the engine gets an earlier deadline. debugfs "engines" shows the
 * jobs boosted and the time spent boosted per engine (boosts,
 * boosted_ns), and the total of all engines (boosted_ns, the last line):
 * the power cost of the deadlines.
 *
 * Preemption: with edf=1 and preempt=1 (the defaults), a ready job that
 * the order above runs before the job running, and that would miss its
 * deadline if it waited for that one to complete even with the clock
 * boosted (for the rest of that job and for its own), takes the engine at
 * once, as a GPU with mid-batch preemption switches contexts for urgent
 * work. The boost comes first because it costs the job running nothing:
 * that one completes sooner. The job preempted keeps what it had left to
 * run (at the nominal clock) and stays the oldest of its timeline, so no
 * later job of its file passes it; it competes again when the engine is
 * free and resumes where it stopped. A job whose pixels are being or have
 * been written is not preempted (its fence is about to signal), nor is a
 * job submitted to hang. The switch itself takes no time here. Checked
 * where the boost is, when a job gets an earlier deadline or becomes
 * ready with one, before it: the job running is boosted only if no
 * preemption was needed. debugfs "engines" counts the preemptions per
 * engine (preempts) and shows a job preempted with its time left.
 *
 * Both hrtimers use the plain modes (HRTIMER_MODE_ABS), not the _HARD
 * ones: their handlers take spinlock_t locks (the engine lock, and the
 * locks of fence callbacks run by the signal). Without PREEMPT_RT plain
 * hrtimers still expire in hard IRQ; with it they expire in softirq, where
 * a spinlock_t (a sleeping lock there) may be taken.
 */
#include <drm/drm_debugfs.h>
#include <drm/drm_file.h>
#include <drm/drm_gem.h>
#include <drm/drm_gem_shmem_helper.h>
#include <linux/delay.h>
#include <linux/dma-resv.h>
#include <linux/fence.h>
#include <linux/iosys-map.h>
#include <linux/irq_work.h>
#include <linux/math64.h>
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/smp.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include "vgem_drm.h"

#include "vgem_drv.h"

/*
 * A job's fence, with the dma_fence that stands for it in reservations,
 * and the earliest deadline set on it (fence_set_deadline(), or
 * dma_fence_set_deadline() on the export), FENCE_NO_DEADLINE if none.
 * The deadline is kept here rather than in the job because the fence
 * outlives the job: a consumer may set one while the job is freed.
 */
struct vgem_job_fence {
	struct fence base;		/* first: the memory of the whole */
	struct fence_export export;
	atomic64_t deadline;
};

static struct vgem_job_fence *to_job_fence(struct fence *fence)
{
	return container_of(fence, struct vgem_job_fence, base);
}

static const char *vgem_job_driver_name(struct fence *fence)
{
	return "vgem";
}

/* Every timeline of a file on an engine goes by the engine's name. */
static const char *vgem_job_timeline_name(struct fence *fence)
{
	/* The engine outlives its fences: each one pins the module. */
	struct vgem_engine *engine = container_of(fence->lock,
						  struct vgem_engine, lock);

	return engine->name;
}

/*
 * The fence's module reference goes last, from the RCU callback that frees
 * it: a module_put() here would let rmmod free our text while this
 * function still had to return into it. The callback is ours too, but
 * vgem's exit runs rcu_barrier() (vgem_fence_cache_fini()), which returns
 * only once every callback queued before it has returned; that covers one
 * that is running: the barrier's own callback is queued behind it.
 */
static void vgem_job_fence_free_rcu(struct rcu_head *rcu)
{
	kfree(container_of(rcu, struct vgem_job_fence, base.rcu));
	module_put(THIS_MODULE);
}

static void vgem_job_fence_release(struct fence *fence)
{
	call_rcu(&fence->rcu, vgem_job_fence_free_rcu);
}

/*
 * Records the earliest deadline, which the engine reads when it chooses
 * the next job; a new earliest one also has the engine look at once
 * whether the job it runs needs a boost (vgem_engine_retime()). Any
 * context, without the engine lock (which fence_set_deadline() callers
 * may hold for another fence of the engine): a compare-and-exchange and
 * an irq_work_queue(), which takes no lock.
 */
static void vgem_job_set_deadline(struct fence *fence, ktime_t deadline)
{
	struct vgem_engine *engine = container_of(fence->lock,
						  struct vgem_engine, lock);

	if (fence_deadline_keep_earliest(&to_job_fence(fence)->deadline,
					 deadline))
		irq_work_queue(&engine->retime);
}

static const struct fence_ops vgem_job_fence_ops = {
	.get_driver_name = vgem_job_driver_name,
	.get_timeline_name = vgem_job_timeline_name,
	.release = vgem_job_fence_release,
	.set_deadline = vgem_job_set_deadline,
};

/* ---- running jobs ---------------------------------------------------- */

/* One pixel of the pattern of @frame at (@px, @py). */
static inline u32 vgem_pattern_px(u32 px, u32 py, u32 frame)
{
	u32 r, g, b;

	if (py < 16 && px < 512)
		return (frame >> (px / 16)) & 1 ? 0xffffffff : 0xff000000;
	r = (px + 4 * frame) & 0xff;
	g = (py + 2 * frame) & 0xff;
	b = ((px ^ py) + frame) & 0xff;
	return 0xff000000 | r << 16 | g << 8 | b;
}

/*
 * Row @py of the pattern, from column @px on, @w pixels. Outside the
 * frame number's bits (the top left 512x16) a pixel equals the one 256
 * columns left of it: the pixels are worked out up to one such period
 * past those bits and copied on from there (the draw is CPU time, which
 * under QEMU TCG made a 1280x720 job take milliseconds more than its
 * duration).
 */
static void vgem_write_pattern(u32 *row, u32 px, u32 py, u32 w, u32 frame)
{
	u32 limit = py < 16 ? 768 : 256;
	u32 direct = min(w, max(256u, limit > px ? limit - px : 0));
	u32 i, n;

	for (i = 0; i < direct; i++)
		row[i] = vgem_pattern_px(px + i, py, frame);
	for (; i < w; i += n) {
		n = min(256u, w - i);
		memcpy(row + i, row + i - 256, n * sizeof(*row));
	}
}

/*
 * Writes the job's pixels through the mappings the ioctl made: no
 * allocation, no lock, nothing that can fail.
 */
static void vgem_job_draw(struct vgem_job *job)
{
	struct drm_vgem_submit *a = &job->args;
	u8 *dst = job->map.vaddr, *src = NULL;
	u32 r;

	if (a->op == VGEM_OP_NOP)
		return;
	if (a->op == VGEM_OP_COPY)
		src = job->src == job->obj ? dst : job->src_map.vaddr;

	for (r = 0; r < a->height; r++) {
		/* Overlapping copies inside one buffer go bottom-up. */
		u32 y = (src == dst && a->src_y < a->y) ? a->height - 1 - r : r;
		u32 *row = (u32 *)(dst + (size_t)(a->y + y) * a->stride) + a->x;

		switch (a->op) {
		case VGEM_OP_FILL:
			memset32(row, a->color, a->width);
			break;
		case VGEM_OP_PATTERN:
			vgem_write_pattern(row, a->x, a->y + y, a->width,
					   a->frame);
			break;
		case VGEM_OP_COPY:
			memmove(row, src + (size_t)(a->src_y + y) * a->src_stride +
				(size_t)a->src_x * 4, (size_t)a->width * 4);
			break;
		}
	}
}

/* ---- test knobs (see vgem_drv.c) --------------------------------------- */

/*
 * A late completion IRQ: busy-waits, up to @ms, until the engine runs a
 * job other than @job (the hang check has retired @job and the worker has
 * started the next one). Only useful on a CPU other than the hang check's.
 */
static void vgem_test_stall_complete(struct vgem_engine *engine,
				     struct vgem_job *job, unsigned int ms)
{
	ktime_t end = ktime_add_ms(ktime_get(), ms);
	struct vgem_job *now;

	do {
		now = READ_ONCE(engine->running);
		if (now && now != job)
			break;
		cpu_relax();
	} while (ktime_before(ktime_get(), end));
}

/* A slow worker: waits, up to @ms, until @job is no longer running. */
static void vgem_test_hold_draw(struct vgem_engine *engine,
				struct vgem_job *job, unsigned int ms)
{
	ktime_t end = ktime_add_ms(ktime_get(), ms);

	while (READ_ONCE(engine->running) == job &&
	       ktime_before(ktime_get(), end))
		usleep_range(500, 1000);
}

/* ---- completion and hang check ----------------------------------------- */

/* Signals @engine->running, which goes to the done list; lock held. */
static void vgem_engine_retire(struct vgem_engine *engine, int error)
	__must_hold(&engine->lock)
{
	struct vgem_job *job = engine->running;
	struct vgem_timeline *tl = job->tl;

	engine->running = NULL;
	engine->complete_job = NULL;
	if (job->boost > 1)
		engine->boosted_ns += ktime_to_ns(ktime_sub(ktime_get(),
							    job->boosted_at));
	list_move_tail(&job->link, &engine->done);
	list_del(&job->tl_link);
	if (list_empty(&tl->jobs))
		list_del_init(&tl->link);
	else
		list_first_entry(&tl->jobs, struct vgem_job,
				 tl_link)->head_at = ktime_get();
	/*
	 * No longer in flight, though freed later: its waiters, woken by the
	 * signal, may submit again at once.
	 */
	atomic_dec(&job->vfile->jobs);
	if (error)
		__fence_set_error(job->fence, error);
	__fence_signal(job->fence);
	engine->completed++;
}

/* The hang check retires @engine->running; lock held. */
static void vgem_engine_retire_hung(struct vgem_engine *engine)
	__must_hold(&engine->lock)
{
	atomic_inc(&engine->running->vfile->hangs);
	engine->hung++;
	vgem_engine_retire(engine, -ETIMEDOUT);
}

/* The completion interrupt (hard IRQ; softirq on PREEMPT_RT). */
static enum hrtimer_restart vgem_engine_complete(struct hrtimer *t)
{
	struct vgem_engine *engine = container_of(t, struct vgem_engine,
						  complete);
	unsigned int cookie = fence_begin_signalling();
	struct vgem_job *job;
	unsigned long flags;
	bool retired = false;
	unsigned int ms;

	if (unlikely(READ_ONCE(vgem_test_stall_complete_ms))) {
		ms = xchg(&vgem_test_stall_complete_ms, 0);
		if (ms)
			vgem_test_stall_complete(engine,
						 READ_ONCE(engine->complete_job),
						 ms);
	}

	spin_lock_irqsave(&engine->lock, flags);
	/*
	 * Only for the job the timer was armed for. A run that comes late
	 * (the hang check retired its job meanwhile, and could not cancel a
	 * handler already running) finds no job, or the timer queued again
	 * for the next job, whose own run comes then.
	 */
	job = engine->complete_job;
	if (job && !hrtimer_is_queued(t)) {
		WARN_ON_ONCE(job != engine->running);
		hrtimer_try_to_cancel(&engine->hangcheck);
		vgem_engine_retire(engine, job->dep_error);
		retired = true;
	}
	spin_unlock_irqrestore(&engine->lock, flags);
	if (retired)
		queue_work(engine->wq, &engine->work);
	fence_end_signalling(cookie);
	return HRTIMER_NORESTART;
}

static enum hrtimer_restart vgem_engine_hangcheck(struct hrtimer *t)
{
	struct vgem_engine *engine = container_of(t, struct vgem_engine,
						  hangcheck);
	unsigned int cookie = fence_begin_signalling();
	enum hrtimer_restart ret = HRTIMER_NORESTART;
	struct vgem_job *job;
	unsigned long flags;
	bool hung = false;

	spin_lock_irqsave(&engine->lock, flags);
	/*
	 * Queued again (the worker armed it for a new job while this run
	 * waited for the lock): that arm stands, and this run is stale; its
	 * expiry must not be touched while it sits in the queue.
	 */
	job = hrtimer_is_queued(t) ? NULL : engine->running;
	if (job && ktime_compare(ktime_get(), job->hang_at) >= 0) {
		if (engine->drawing == job) {
			/*
			 * Its pixels are being written: the worker retires
			 * it when done, so the fence never signals before
			 * the last write to the buffer.
			 */
			job->hung = true;
		} else {
			hrtimer_try_to_cancel(&engine->complete);
			vgem_engine_retire_hung(engine);
			hung = true;
		}
	} else if (job) {
		/*
		 * Early for the job now running (armed for an earlier one):
		 * its own time comes later. Each job keeps the bound it
		 * started with, whatever hang_ms says meanwhile.
		 */
		hrtimer_set_expires(t, job->hang_at);
		ret = HRTIMER_RESTART;
	}
	spin_unlock_irqrestore(&engine->lock, flags);
	if (hung)
		queue_work(engine->wq, &engine->work);
	fence_end_signalling(cookie);
	return ret;
}

/* ---- which job runs next ---------------------------------------------- */

static ktime_t vgem_job_deadline(struct vgem_job *job)
{
	return atomic64_read(&to_job_fence(job->fence)->deadline);
}

static bool vgem_job_ready(struct vgem_job *job)
{
	/* Pairs with the decrement that took the count to zero. */
	return !atomic_read_acquire(&job->pending);
}

/* When a ready oldest job of its timeline could first have run. */
static ktime_t vgem_job_eligible_at(struct vgem_job *job)
{
	ktime_t ready = READ_ONCE(job->ready_at);

	return ktime_after(ready, job->head_at) ? ready : job->head_at;
}

/*
 * Whether @a runs before @b, two competing jobs (see the top of this
 * file), when those eligible at @starved or before are starving.
 */
static bool vgem_job_runs_before(struct vgem_job *a, struct vgem_job *b,
				 bool bounded, ktime_t starved)
{
	ktime_t ea = vgem_job_eligible_at(a), eb = vgem_job_eligible_at(b);
	bool sa = bounded && !ktime_after(ea, starved);
	bool sb = bounded && !ktime_after(eb, starved);
	ktime_t da, db;

	if (sa != sb)
		return sa;
	if (sa && ea != eb)
		return ktime_before(ea, eb);
	if (!sa) {
		da = vgem_job_deadline(a);
		db = vgem_job_deadline(b);
		if (da != db)
			return ktime_before(da, db);
	}
	return a->order < b->order;
}

/* The job to start now, or NULL; the engine runs none. */
static struct vgem_job *vgem_engine_pick(struct vgem_engine *engine,
					 ktime_t now)
	__must_hold(&engine->lock)
{
	unsigned int starve_ms = READ_ONCE(vgem_starve_ms);
	ktime_t starved = ktime_sub_ms(now, starve_ms);
	struct vgem_job *job, *best = NULL;
	struct vgem_timeline *tl;

	if (!READ_ONCE(vgem_edf)) {
		job = list_first_entry_or_null(&engine->queue, struct vgem_job,
					       link);
		return job && vgem_job_ready(job) ? job : NULL;
	}
	list_for_each_entry(tl, &engine->timelines, link) {
		job = list_first_entry(&tl->jobs, struct vgem_job, tl_link);
		if (!vgem_job_ready(job))
			continue;
		if (!best ||
		    vgem_job_runs_before(job, best, starve_ms != 0, starved))
			best = job;
	}
	return best;
}

/* ---- the clock --------------------------------------------------------- */

/*
 * Whether a ready job waiting for the engine would miss its deadline
 * behind @running at the nominal clock, starting when @running is due to
 * complete. The jobs that compete then are the oldest of each timeline,
 * and on @running's own timeline the one after it: a few lists' heads,
 * which keeps this short enough for the hard IRQ it runs in.
 */
static bool vgem_engine_waiter_at_risk(struct vgem_engine *engine,
				       struct vgem_job *running)
	__must_hold(&engine->lock)
{
	struct vgem_timeline *tl;
	struct vgem_job *job;

	list_for_each_entry(tl, &engine->timelines, link) {
		job = list_first_entry(&tl->jobs, struct vgem_job, tl_link);
		if (job == running) {
			if (list_is_last(&job->tl_link, &tl->jobs))
				continue;
			job = list_next_entry(job, tl_link);
		}
		if (vgem_job_ready(job) &&
		    ktime_after(ktime_add_ns(running->done_at, job->left_ns),
				vgem_job_deadline(job)))
			return true;
	}
	return false;
}

/*
 * Boosts the engine's clock if a deadline is at risk (see the top of this
 * file): the running job's own, or that of a ready job waiting behind it.
 * What is left of the running job then runs max_boost times faster, until
 * it completes; the next job starts at the nominal clock again. A job
 * that is boosted stays so: deadlines only move earlier.
 *
 * The earlier completion reaches whichever waits for it: the completion
 * timer, if armed, is moved (a handler already running for the old time
 * would have found nothing left to boost; one that runs late finds the
 * timer queued again and leaves it, see vgem_engine_complete()); else the
 * worker, asleep until the draw, is woken to look again.
 */
static void vgem_engine_boost(struct vgem_engine *engine, ktime_t now)
	__must_hold(&engine->lock)
{
	unsigned int boost = READ_ONCE(vgem_max_boost);
	struct vgem_job *job = engine->running;
	s64 left;

	if (!job || job->boost > 1 || boost < 2 ||
	    (job->args.flags & VGEM_SUBMIT_HANG))
		return;
	if (!ktime_after(job->done_at, vgem_job_deadline(job)) &&
	    !vgem_engine_waiter_at_risk(engine, job))
		return;
	left = ktime_to_ns(ktime_sub(job->done_at, now));
	if (left <= 0)
		return;

	job->boost = boost;
	job->boosted_at = now;
	job->done_at = ktime_add_ns(now, div_u64(left, boost));
	engine->boosts++;
	if (engine->complete_job == job) {
		hrtimer_start(&engine->complete, job->done_at,
			      HRTIMER_MODE_ABS_PINNED);
	} else {
		WRITE_ONCE(engine->retimes, engine->retimes + 1);
		wake_up(&engine->retime_wq);
	}
}

/* ---- preemption -------------------------------------------------------- */

/*
 * Preempts the job running if the job the engine would start next, were
 * it free, is not that one and would miss its deadline waiting for it
 * even with the clock boosted, for the rest of the job running and for
 * its own (see the top of this file); lock held. The job preempted keeps
 * the nominal time it had left and its place at the head of its
 * timeline; the worker, asleep before its draw, is woken to let it go,
 * and queued again to start the other. Returns whether it preempted.
 */
static bool vgem_engine_preempt(struct vgem_engine *engine, ktime_t now)
	__must_hold(&engine->lock)
{
	unsigned int boost = max(READ_ONCE(vgem_max_boost), 1U);
	struct vgem_job *job = engine->running, *next;
	ktime_t free_at;
	s64 left;

	if (!job || !READ_ONCE(vgem_preempt) || !READ_ONCE(vgem_edf) ||
	    job->drawn || job->dep_error ||
	    (job->args.flags & VGEM_SUBMIT_HANG))
		return false;
	next = vgem_engine_pick(engine, now);
	if (!next || next == job)
		return false;
	/* When the engine would be free if the boost were used first. */
	free_at = job->done_at;
	left = ktime_to_ns(ktime_sub(free_at, now));
	if (job->boost == 1 && left > 0)
		free_at = ktime_add_ns(now, div_u64(left, boost));
	if (!ktime_after(ktime_add_ns(free_at, div_u64(next->left_ns, boost)),
			 vgem_job_deadline(next)))
		return false;

	job->left_ns = left > 0 ? (u64)left * job->boost : 0;
	if (job->boost > 1)
		engine->boosted_ns += ktime_to_ns(ktime_sub(now,
							    job->boosted_at));
	engine->running = NULL;
	engine->preempts++;
	job->preempted++;
	/* A run of it already waiting for the lock finds nothing to do. */
	hrtimer_try_to_cancel(&engine->hangcheck);
	WRITE_ONCE(engine->retimes, engine->retimes + 1);
	wake_up(&engine->retime_wq);
	queue_work(engine->wq, &engine->work);
	return true;
}

/*
 * A job of the engine got a new earliest deadline, or became ready with
 * one: preempt the job running for it, or boost if a deadline is at risk.
 * Hard IRQ, or the irq_work thread on PREEMPT_RT; on the signalling path,
 * since it moves a completion.
 */
static void vgem_engine_retime(struct irq_work *work)
{
	struct vgem_engine *engine = container_of(work, struct vgem_engine,
						  retime);
	unsigned int cookie = fence_begin_signalling();
	unsigned long flags;
	ktime_t now;

	spin_lock_irqsave(&engine->lock, flags);
	now = ktime_get();
	if (!vgem_engine_preempt(engine, now))
		vgem_engine_boost(engine, now);
	spin_unlock_irqrestore(&engine->lock, flags);
	fence_end_signalling(cookie);
}

/* ---- the worker -------------------------------------------------------- */

/*
 * Arms the completion IRQ of @job at its completion time if it still
 * runs; any context. The time is read under the lock, where a boost moves
 * it (vgem_engine_boost()), so none is lost between the read and the arm.
 * @job may have been retired: then only compared, not used.
 */
static void vgem_job_arm_complete(struct vgem_engine *engine,
				  struct vgem_job *job)
{
	unsigned long flags;
	ktime_t now, at;

	spin_lock_irqsave(&engine->lock, flags);
	if (engine->running == job) {
		now = ktime_get();
		at = job->done_at;
		engine->complete_job = job;
		hrtimer_start(&engine->complete, ktime_after(at, now) ? at : now,
			      HRTIMER_MODE_ABS_PINNED);
	}
	spin_unlock_irqrestore(&engine->lock, flags);
}

struct vgem_arm_complete {
	struct vgem_engine *engine;
	ktime_t at;
};

/*
 * The test knob's remote arming, in the IPI (hard IRQ even on PREEMPT_RT):
 * it takes no spinlock_t. complete_job was set under the engine lock
 * before; if the hang check retired the job since, it cleared it and the
 * completion is a no-op.
 */
static void vgem_job_arm_complete_ipi(void *data)
{
	struct vgem_arm_complete *arm = data;

	hrtimer_start(&arm->engine->complete, arm->at,
		      HRTIMER_MODE_ABS_PINNED);
}

/*
 * Arms the completion of @job at its completion time, on this CPU; with
 * the stall knob set, on another CPU than the hang check's, so that the
 * two timers can run at once.
 */
static void vgem_job_complete_at_done(struct vgem_engine *engine,
				      struct vgem_job *job)
{
	struct vgem_arm_complete arm = { engine };
	unsigned long flags;
	unsigned int cpu;
	bool running;

	if (unlikely(READ_ONCE(vgem_test_stall_complete_ms))) {
		cpu = cpumask_any_but(cpu_online_mask,
				      READ_ONCE(engine->hangcheck_cpu));
		/*
		 * A boost between this unlock and the IPI is overridden by
		 * the IPI's arm: the job completes at its nominal time. Only
		 * with this test knob.
		 */
		spin_lock_irqsave(&engine->lock, flags);
		running = engine->running == job;
		if (running) {
			engine->complete_job = job;
			arm.at = job->done_at;
		}
		spin_unlock_irqrestore(&engine->lock, flags);
		if (!running)
			return;
		if (cpu < nr_cpu_ids &&
		    !smp_call_function_single(cpu, vgem_job_arm_complete_ipi,
					      &arm, 1))
			return;
	}
	vgem_job_arm_complete(engine, job);
}

/* The pixels a job writes. */
static u64 vgem_job_pixels(const struct vgem_job *job)
{
	if (job->args.op == VGEM_OP_NOP)
		return 0;
	return (u64)job->args.width * job->args.height;
}

/*
 * How long before its completion a job's pixels are written: write_lead_us,
 * or what the worker's last draws say this one will take, with a quarter
 * more for the spread, whichever is longer. A GPU's pixels are written
 * while its job runs and are there when its fence signals; the worker's
 * draw is CPU time (a 1280x720 frame takes milliseconds under QEMU TCG),
 * which, begun only write_lead_us before the due time, made every such
 * job complete that much late. Pixels written early are no one else's
 * business: nobody may read the buffer before the job's fence signals.
 */
static u64 vgem_job_draw_lead(const struct vgem_engine *engine,
			      const struct vgem_job *job)
{
	u64 lead = (u64)READ_ONCE(vgem_write_lead_us) * NSEC_PER_USEC;
	u64 est = div_u64(vgem_job_pixels(job) * engine->draw_ps_per_px,
			  1000);

	return max(lead, est + est / 4);
}

/* Folds the draw of @job, which took @ns, into the engine's average. */
static void vgem_engine_learn_draw(struct vgem_engine *engine,
				   const struct vgem_job *job, u64 ns)
{
	u64 px = vgem_job_pixels(job);
	u32 old = engine->draw_ps_per_px, now;

	/* tiny jobs say more about the call than about the pixels */
	if (px < 4096)
		return;
	now = min_t(u64, div64_u64(ns * 1000, px), U32_MAX);
	engine->draw_ps_per_px = old ? old - old / 4 + now / 4 : now;
}

/*
 * Runs one job: waits until its draw is due (vgem_job_draw_lead() before
 * its completion), draws, arms. In the worker's signalling section.
 */
static void vgem_job_run(struct vgem_engine *engine, struct vgem_job *job)
{
	u64 lead = vgem_job_draw_lead(engine, job);
	unsigned long flags;
	unsigned int retimes;
	ktime_t write_at, t0;
	unsigned int ms;
	bool draw;
	DEFINE_WAIT(wait);

	if (job->dep_error || (job->args.flags & VGEM_SUBMIT_HANG)) {
		/* Failed dependency: complete now. Hang: never complete. */
		if (job->dep_error)
			vgem_job_arm_complete(engine, job);
		return;
	}

	/*
	 * Sleeps until the pixels are due. A boost moves the completion
	 * earlier, a preemption takes the engine: either bumps @retimes and
	 * wakes us to look again.
	 */
	for (;;) {
		spin_lock_irqsave(&engine->lock, flags);
		draw = engine->running == job;
		write_at = ktime_sub_ns(job->done_at, lead);
		retimes = engine->retimes;
		spin_unlock_irqrestore(&engine->lock, flags);
		/* Preempted (or retired by the hang check): not ours now. */
		if (!draw)
			return;
		if (!ktime_after(write_at, ktime_get()))
			break;
		prepare_to_wait(&engine->retime_wq, &wait,
				TASK_UNINTERRUPTIBLE);
		if (READ_ONCE(engine->retimes) == retimes)
			schedule_hrtimeout(&write_at, HRTIMER_MODE_ABS);
		finish_wait(&engine->retime_wq, &wait);
	}
	if (unlikely(READ_ONCE(vgem_test_hold_draw_ms))) {
		ms = xchg(&vgem_test_hold_draw_ms, 0);
		if (ms)
			vgem_test_hold_draw(engine, job, ms);
	}

	/*
	 * A job the hang check retired meanwhile has signaled: its buffer
	 * is its consumers' now, not to be written; one preempted runs
	 * later. One still running is neither retired nor preempted once
	 * its draw begins (vgem_engine_hangcheck(), vgem_engine_preempt()).
	 */
	spin_lock_irqsave(&engine->lock, flags);
	draw = engine->running == job;
	if (draw) {
		engine->drawing = job;
		job->drawn = true;
	}
	spin_unlock_irqrestore(&engine->lock, flags);
	if (!draw)
		return;

	t0 = ktime_get();
	vgem_job_draw(job);
	vgem_engine_learn_draw(engine, job, ktime_get_ns() - ktime_to_ns(t0));

	spin_lock_irqsave(&engine->lock, flags);
	engine->drawing = NULL;
	if (job->hung) {
		vgem_engine_retire_hung(engine);
		queue_work(engine->wq, &engine->work);
	}
	spin_unlock_irqrestore(&engine->lock, flags);
	/* Still ours after a retire: see vgem_engine_work(). */
	if (!job->hung)
		vgem_job_complete_at_done(engine, job);
}

static void vgem_engine_work(struct work_struct *work)
{
	struct vgem_engine *engine = container_of(work, struct vgem_engine,
						  work);
	struct vgem_job *start = NULL;
	unsigned long flags;
	unsigned int cookie;
	ktime_t now;

	/* From the job's start until its completion is armed. */
	cookie = fence_begin_signalling();
	spin_lock_irqsave(&engine->lock, flags);
	/*
	 * Only this worker hands retired jobs to the free work, at its start:
	 * so the job a run of it starts is not freed before that run ends,
	 * even if a timer retires it meanwhile.
	 */
	if (!list_empty(&engine->done)) {
		list_splice_tail_init(&engine->done, &engine->free);
		queue_work(system_wq, &engine->free_work);
	}
	now = ktime_get();
	if (!engine->dying && !engine->running)
		start = vgem_engine_pick(engine, now);
	if (start) {
		engine->running = start;
		start->started = now;
		/* A failed dependency: it completes at once, not run. */
		start->done_at = start->dep_error ? now :
				 ktime_add_ns(now, start->left_ns);
		start->boost = 1;
		start->hang_at = ktime_add_ms(start->done_at,
					      READ_ONCE(vgem_hang_ms));
		engine->hangcheck_cpu = smp_processor_id();
		hrtimer_start(&engine->hangcheck, start->hang_at,
			      HRTIMER_MODE_ABS_PINNED);
		vgem_engine_boost(engine, now);
	}
	spin_unlock_irqrestore(&engine->lock, flags);

	/* Only this worker starts jobs, so @start stays ours to run. */
	if (start)
		vgem_job_run(engine, start);
	fence_end_signalling(cookie);
}

/*
 * Drops one count of @job's pending; on the last, the job is ready: the
 * worker may start it, and if it has a deadline the engine checks at once
 * whether the job running makes it late (a boost, vgem_engine_retime()).
 * The deadline is read before the decrement, after which @job may be gone
 * (see vgem_dep_signaled()); one set meanwhile has its own check, which
 * may come just before the job is ready and miss it: the job is then
 * checked when it starts.
 */
static void vgem_job_put_pending(struct vgem_job *job,
				 struct vgem_engine *engine)
{
	bool deadline = vgem_job_deadline(job) != FENCE_NO_DEADLINE;

	if (atomic_dec_and_test(&job->pending)) {
		queue_work(engine->wq, &engine->work);
		if (deadline)
			irq_work_queue(&engine->retime);
	}
}

/* A dependency signaled: any context, maybe under the engine lock. */
static void vgem_dep_signaled(struct fence *fence, struct fence_cb *cb)
{
	struct vgem_dep *dep = container_of(cb, struct vgem_dep, cb);
	struct vgem_job *job = dep->job;
	/*
	 * Once the count is zero the worker may start, complete and free
	 * the job at any time (a worker already queued sees the zero): touch
	 * only the engine, which outlives its jobs, after the decrement.
	 */
	struct vgem_engine *engine = job->engine;
	unsigned int cookie = fence_begin_signalling();

	if (fence->error && dep->in_fence)
		cmpxchg(&job->dep_error, 0, fence->error);
	/* Before the decrement: maybe the last, after which it may be gone. */
	WRITE_ONCE(job->ready_at, ktime_get());
	vgem_job_put_pending(job, engine);
	fence_end_signalling(cookie);
}

/* ---- jobs: made by the ioctl, freed off the signalling path ------------ */

static void vgem_job_unmap(struct drm_gem_object *obj, struct iosys_map *map)
{
	/*
	 * From 6.5 the shmem helper wants the reservation lock held around
	 * the unmap, as SUBMIT holds it around the map; 6.1's helper takes a
	 * mutex of its own inside, in the same order as at the map. Process
	 * context, never the engine's worker, which signals fences.
	 */
	if (iosys_map_is_null(map))
		return;
	dma_resv_lock(obj->resv, NULL);
	drm_gem_shmem_vunmap(to_drm_gem_shmem_obj(obj), map);
	dma_resv_unlock(obj->resv);
}

/* Process context, outside any signalling section: sleeps, frees. */
static void vgem_job_free(struct vgem_job *job)
{
	struct vgem_dep *dep, *next;

	list_for_each_entry_safe(dep, next, &job->deps, link) {
		fence_put(dep->fence);
		kfree(dep);
	}
	if (job->src) {
		vgem_job_unmap(job->src, &job->src_map);
		drm_gem_object_put(job->src);
	}
	if (job->obj) {
		vgem_job_unmap(job->obj, &job->map);
		drm_gem_object_put(job->obj);
	}
	fence_put(job->fence);
	vgem_file_put(job->vfile);
	kfree(job);
}

static void vgem_engine_free_work(struct work_struct *work)
{
	struct vgem_engine *engine = container_of(work, struct vgem_engine,
						  free_work);
	struct vgem_job *job, *next;
	unsigned long flags;
	LIST_HEAD(done);

	spin_lock_irqsave(&engine->lock, flags);
	list_splice_init(&engine->free, &done);
	spin_unlock_irqrestore(&engine->lock, flags);
	list_for_each_entry_safe(job, next, &done, link)
		vgem_job_free(job);
}

/**
 * vgem_job_alloc - a new job for the SUBMIT ioctl
 * @engine: the engine it will run on
 * @vfile: the submitting file (the job takes a reference)
 * @args: the ioctl's arguments, checked
 *
 * The job's fence is initialised, without its seqno (vgem_job_queue()).
 *
 * Return: the job, ERR_PTR(-EAGAIN) if @vfile has vgem_max_jobs jobs in
 * flight, or ERR_PTR(-ENOMEM).
 */
struct vgem_job *vgem_job_alloc(struct vgem_engine *engine,
				struct vgem_file *vfile,
				struct drm_vgem_submit *args)
{
	struct vgem_job_fence *jf;
	struct vgem_job *job;

	if (atomic_inc_return(&vfile->jobs) > READ_ONCE(vgem_max_jobs)) {
		atomic_dec(&vfile->jobs);
		return ERR_PTR(-EAGAIN);
	}
	job = kzalloc(sizeof(*job), GFP_KERNEL);
	if (!job)
		goto err_count;
	jf = kzalloc(sizeof(*jf), GFP_KERNEL);
	if (!jf)
		goto err_job;
	job->fence = &jf->base;
	atomic64_set(&jf->deadline, FENCE_NO_DEADLINE);
	job->tl = &vfile->timelines[engine->index];
	/*
	 * Each fence pins the module: fences outlive files (in sync_files and
	 * other drivers' reservations). The ioctl's open file pins it now.
	 */
	__module_get(THIS_MODULE);
	fence_init(job->fence, &vgem_job_fence_ops, &engine->lock,
		   job->tl->context, 0);

	kref_get(&vfile->ref);
	job->vfile = vfile;
	job->engine = engine;
	job->args = *args;
	job->left_ns = args->duration_ns;
	INIT_LIST_HEAD(&job->deps);
	INIT_LIST_HEAD(&job->link);
	INIT_LIST_HEAD(&job->tl_link);
	atomic_set(&job->pending, 1);
	job->submitted = ktime_get();
	return job;

err_job:
	kfree(job);
err_count:
	atomic_dec(&vfile->jobs);
	return ERR_PTR(-ENOMEM);
}

/**
 * vgem_job_export - the dma_fence of a job's fence, for reservations
 * @job: the job, with its seqno given (under &vgem_engine.submit_lock)
 *
 * Return: a new reference to the dma_fence, embedded in the job's fence.
 */
struct dma_fence *vgem_job_export(struct vgem_job *job)
{
	return fence_export_init(&to_job_fence(job->fence)->export,
				 job->fence);
}

/**
 * vgem_job_queue - put a job at the end of its engine's queue
 * @job: the job, whose fence seqno is its timeline's seqno plus one
 *
 * The caller holds &vgem_engine.submit_lock since it read that seqno.
 */
void vgem_job_queue(struct vgem_job *job)
{
	struct vgem_engine *engine = job->engine;
	struct vgem_timeline *tl = job->tl;
	unsigned long flags;

	lockdep_assert_held(&engine->submit_lock);
	tl->seqno = job->fence->seqno;
	spin_lock_irqsave(&engine->lock, flags);
	job->order = ++engine->queued;
	list_add_tail(&job->link, &engine->queue);
	if (list_empty(&tl->jobs)) {
		list_add_tail(&tl->link, &engine->timelines);
		job->head_at = ktime_get();
	}
	list_add_tail(&job->tl_link, &tl->jobs);
	spin_unlock_irqrestore(&engine->lock, flags);
}

/**
 * vgem_job_cancel - drop a job that will never run
 * @job: a job not queued
 *
 * Its fence signals, cancelled, and the job is freed. Process context.
 */
void vgem_job_cancel(struct vgem_job *job)
{
	atomic_dec(&job->vfile->jobs);
	fence_set_error(job->fence, -ECANCELED);
	fence_signal(job->fence);
	vgem_job_free(job);
}

/**
 * vgem_job_arm - let a queued job start once its dependencies signal
 * @job: the job, queued; the caller's hold on it ends here
 *
 * Registers the dependency callbacks; the last to signal starts the job.
 */
void vgem_job_arm(struct vgem_job *job)
{
	/* Not job->engine after the last decrement: see vgem_dep_signaled(). */
	struct vgem_engine *engine = job->engine;
	struct vgem_dep *dep;

	list_for_each_entry(dep, &job->deps, link) {
		atomic_inc(&job->pending);
		if (fence_add_callback(dep->fence, &dep->cb,
				       vgem_dep_signaled)) {
			/* Already signaled. */
			if (dep->fence->error && dep->in_fence)
				cmpxchg(&job->dep_error, 0, dep->fence->error);
			atomic_dec(&job->pending);
		}
	}
	WRITE_ONCE(job->ready_at, ktime_get());
	vgem_job_put_pending(job, engine);
}

/* ---- engines --------------------------------------------------------- */

int vgem_engines_init(struct vgem_device *vdev, unsigned int count)
{
	unsigned int i;

	vdev->engines = kcalloc(count, sizeof(*vdev->engines), GFP_KERNEL);
	if (!vdev->engines)
		return -ENOMEM;
	vdev->num_engines = count;

	for (i = 0; i < count; i++) {
		struct vgem_engine *engine = &vdev->engines[i];

		engine->index = i;
		snprintf(engine->name, sizeof(engine->name), "engine%u", i);
		spin_lock_init(&engine->lock);
		mutex_init(&engine->submit_lock);
		INIT_LIST_HEAD(&engine->queue);
		INIT_LIST_HEAD(&engine->timelines);
		init_irq_work(&engine->retime, vgem_engine_retime);
		init_waitqueue_head(&engine->retime_wq);
		INIT_LIST_HEAD(&engine->done);
		INIT_LIST_HEAD(&engine->free);
		INIT_WORK(&engine->free_work, vgem_engine_free_work);
		/* Not _HARD: see the top of this file. */
		hrtimer_init(&engine->complete, CLOCK_MONOTONIC,
			     HRTIMER_MODE_ABS);
		engine->complete.function = vgem_engine_complete;
		hrtimer_init(&engine->hangcheck, CLOCK_MONOTONIC,
			     HRTIMER_MODE_ABS);
		engine->hangcheck.function = vgem_engine_hangcheck;
		INIT_WORK(&engine->work, vgem_engine_work);
		engine->wq = alloc_ordered_workqueue("vgem-%s", 0, engine->name);
		if (!engine->wq) {
			vdev->num_engines = i;
			vgem_engines_fini(vdev);
			return -ENOMEM;
		}
	}
	return 0;
}

void vgem_engines_fini(struct vgem_device *vdev)
{
	unsigned int i;

	for (i = 0; i < vdev->num_engines; i++) {
		struct vgem_engine *engine = &vdev->engines[i];
		unsigned long flags;

		spin_lock_irqsave(&engine->lock, flags);
		engine->dying = true;
		spin_unlock_irqrestore(&engine->lock, flags);
		/* Queued only by a fence's hook, and no fence is left. */
		irq_work_sync(&engine->retime);
		hrtimer_cancel(&engine->complete);
		hrtimer_cancel(&engine->hangcheck);
		/* Hands the done list to the free work, starts nothing. */
		queue_work(engine->wq, &engine->work);
		destroy_workqueue(engine->wq);
		/*
		 * Every job pins the module (its fence), so none is left at
		 * unload; but the free work may still be returning from the
		 * last free, into our text.
		 */
		flush_work(&engine->free_work);
	}
	kfree(vdev->engines);
	vdev->engines = NULL;
}

#if IS_ENABLED(CONFIG_DEBUG_FS)
static int vgem_engines_show(struct seq_file *m, void *data)
{
	struct drm_info_node *node = m->private;
	struct vgem_device *vdev = to_vgem(node->minor->dev);
	ktime_t now = ktime_get();
	u64 total = 0, boosted;
	unsigned int i;

	for (i = 0; i < vdev->num_engines; i++) {
		struct vgem_engine *engine = &vdev->engines[i];
		struct vgem_job *job;
		unsigned long flags;

		spin_lock_irqsave(&engine->lock, flags);
		boosted = engine->boosted_ns;
		job = engine->running;
		/* Not @now: the boost may be later, it is read under the lock. */
		if (job && job->boost > 1)
			boosted += ktime_to_ns(ktime_sub(ktime_get(),
							 job->boosted_at));
		total += boosted;
		seq_printf(m, "%s: queued %llu completed %llu hung %llu boosts %llu boosted_ns %llu preempts %llu\n",
			   engine->name, engine->queued, engine->completed,
			   engine->hung, engine->boosts, boosted,
			   engine->preempts);
		list_for_each_entry(job, &engine->queue, link) {
			const char *state = job == engine->running ? "running" :
					    atomic_read(&job->pending) ?
					    "waiting" : "ready";
			struct vgem_job_fence *jf = to_job_fence(job->fence);
			ktime_t deadline = atomic64_read(&jf->deadline);

			/* Tests read "  job seqno N": new fields go after. */
			seq_printf(m, "  job seqno %llu op %u state %s age %lld ms context %llu",
				   job->fence->seqno, job->args.op, state,
				   ktime_ms_delta(now, job->submitted),
				   job->fence->context);
			/* Negative: the deadline has passed. */
			if (deadline != FENCE_NO_DEADLINE)
				seq_printf(m, " deadline in %lld us",
					   ktime_us_delta(deadline, now));
			if (job == engine->running && job->boost > 1)
				seq_printf(m, " boost x%u", job->boost);
			/* Nominal time left, as of its last preemption. */
			if (job != engine->running && job->preempted)
				seq_printf(m, " preempted %u left %llu us",
					   job->preempted,
					   div_u64(job->left_ns, NSEC_PER_USEC));
			seq_putc(m, '\n');
		}
		spin_unlock_irqrestore(&engine->lock, flags);
	}
	/* The power cost of the boosts, all engines. */
	seq_printf(m, "boosted_ns %llu\n", total);
	return 0;
}

static const struct drm_info_list vgem_debugfs_list[] = {
	{ "engines", vgem_engines_show, 0 },
};

void vgem_engine_debugfs_init(struct drm_minor *minor)
{
	drm_debugfs_create_files(vgem_debugfs_list,
				 ARRAY_SIZE(vgem_debugfs_list),
				 minor->debugfs_root, minor);
}
#endif
