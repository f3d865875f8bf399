/* SPDX-License-Identifier: GPL-2.0 */
/*
 * crossfence vgem: a virtual GPU. Internal interfaces.
 */
#ifndef _VGEM_DRV_H_
#define _VGEM_DRV_H_

#include <drm/drm_device.h>
#include <drm/drm_file.h>
#include <linux/fence.h>
#include <linux/hrtimer.h>
#include <linux/idr.h>
#include <linux/iosys-map.h>
#include <linux/irq_work.h>
#include <linux/kref.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/timer.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

struct drm_gem_object;
struct vgem_device;

/* Module parameters (vgem_drv.c). */
extern unsigned int vgem_max_jobs;
extern unsigned int vgem_max_fence_ids;
extern unsigned int vgem_hang_ms;
extern unsigned int vgem_write_lead_us;
extern int vgem_edf;
extern unsigned int vgem_starve_ms;
extern unsigned int vgem_max_boost;
extern int vgem_preempt;

/* The highest max_boost=. */
#define VGEM_MAX_BOOST	4

extern unsigned int vgem_test_stall_complete_ms;
extern unsigned int vgem_test_hold_draw_ms;
extern unsigned int vgem_test_fail_map;

/* engines=, and the size of a file's array of timelines. */
#define VGEM_MAX_ENGINES	8

/*
 * A simulated GPU engine. Jobs run one at a time; each file's in
 * submission order, and between files, earliest deadline first (edf=1)
 * or in submission order (edf=0): see vgem_engine.c. The worker writes a
 * job's pixels just before its completion time, then the completion
 * hrtimer (the "IRQ") signals the job's fence.
 */
struct vgem_engine {
	unsigned int index;
	char name[16];

	/*
	 * @lock protects @queue, @timelines, @done, @free, @running,
	 * @complete_job, @drawing, @queued, @dying, @retimes and the
	 * counters, the job lists of the timelines on @timelines and the
	 * clock of @running (its done_at and boost), and is the fence lock
	 * of every job fence of this engine: job fences are signaled with
	 * __fence_signal() under it, from the hrtimers. Taken irqsave. Fence
	 * callbacks run under it, so nothing called from a fence callback
	 * may take it: dependency callbacks only queue @work, and a deadline
	 * only queues @retime.
	 */
	spinlock_t lock;
	struct list_head queue;		/* jobs not yet completed, in order */
	/* The files' timelines (vgem_timeline.link) that have jobs queued. */
	struct list_head timelines;
	struct vgem_job *running;	/* started, not yet signaled */
	/*
	 * The job @complete is armed for, or NULL: set when it is armed for
	 * @running, cleared when @running is retired (by any path). A late
	 * run of the handler finds it NULL, or the timer queued again.
	 */
	struct vgem_job *complete_job;
	/* @running while the worker writes its pixels: not retired then. */
	struct vgem_job *drawing;
	u64 queued;			/* jobs queued so far */
	bool dying;

	/*
	 * @submit_lock serialises submission from seqno to queue, so each
	 * timeline's jobs are queued in seqno order; it protects the
	 * &vgem_timeline.seqno of this engine's timelines. Taken inside the
	 * buffers' reservations.
	 */
	struct mutex submit_lock;

	struct hrtimer complete;	/* completion "IRQ" of @running */
	/*
	 * A fence of the engine got a new earliest deadline: @retime looks
	 * whether @running needs a boost (vgem_engine_boost()). A boost
	 * that moves the completion while the worker sleeps before the draw
	 * bumps @retimes (read without the lock by the worker) and wakes
	 * @retime_wq.
	 */
	struct irq_work retime;
	wait_queue_head_t retime_wq;
	unsigned int retimes;
	struct hrtimer hangcheck;	/* signals @running if it overruns */
	int hangcheck_cpu;		/* where @hangcheck was armed */
	struct work_struct work;	/* starts jobs, writes pixels */
	struct workqueue_struct *wq;	/* ordered: one job at a time */

	/*
	 * Finished jobs, under @lock: retired to @done, handed by @work to
	 * @free, freed by @free_work on system_wq, off the signalling path
	 * (freeing takes sleeping locks).
	 */
	struct list_head done;
	struct list_head free;
	struct work_struct free_work;

	/*
	 * Counters for debugfs: jobs completed, hung and boosted, the time
	 * the clock was boosted (jobs retired or preempted; the running one's
	 * so far is added when shown), and the preemptions.
	 */
	u64 completed, hung, boosts, boosted_ns, preempts;

	/*
	 * What writing a pixel took the worker lately, in picoseconds: an
	 * average over the last draws, read and written by @work alone (it
	 * draws one job at a time). The worker starts a job's draw that long
	 * per pixel before its completion is due (vgem_job_draw_lead()).
	 */
	u32 draw_ps_per_px;
};

struct vgem_device {
	struct drm_device drm;
	struct platform_device *pdev;
	unsigned int num_engines;
	struct vgem_engine *engines;
};

static inline struct vgem_device *to_vgem(struct drm_device *drm)
{
	return container_of(drm, struct vgem_device, drm);
}

/*
 * A file's fence timeline on one engine, as a GPU context: its own fence
 * context, whose seqnos its jobs take in submission order, and the list of
 * its jobs not yet completed, which run in that order. Jobs of different
 * timelines may run in another order than they were submitted in, so
 * they must not share a fence context (a later seqno must mean a later
 * signal).
 */
struct vgem_timeline {
	u64 context;
	u64 seqno;		/* last seqno given out; engine submit_lock */
	/* Queued jobs (vgem_job.tl_link), oldest first; engine lock. */
	struct list_head jobs;
	/* In vgem_engine.timelines while @jobs is not empty; engine lock. */
	struct list_head link;
};

/*
 * Per-file state. Jobs in flight hold a reference, so the counters outlive
 * the file until the last job of the file completes.
 */
struct vgem_file {
	struct kref ref;
	/* @fence_lock protects @fence_idr and @fence_ids. */
	struct mutex fence_lock;
	struct idr fence_idr;		/* id -> struct fence *, or NULL */
	unsigned int fence_ids;		/* ids allocated */
	/* Signals the attached fences of the file when they are due. */
	struct delayed_work expire;
	atomic_t jobs;			/* jobs queued, not yet retired */
	/* Jobs retired by the hang check; VGEM_BAN_HANGS bans the file. */
	atomic_t hangs;
	/* One per engine, the first vgem_device.num_engines used. */
	struct vgem_timeline timelines[VGEM_MAX_ENGINES];
};

/* A file with this many hung jobs gets -EIO from SUBMIT (vgem_drm.h). */
#define VGEM_BAN_HANGS	3

void vgem_file_put(struct vgem_file *vfile);

/* vgem_fence.c */
int vgem_fence_id_alloc(struct vgem_file *vfile, struct fence *fence,
			u32 *id);
void vgem_fence_file_close(struct vgem_file *vfile);
void vgem_fence_expire_work(struct work_struct *work);
int vgem_fence_cache_init(void);
void vgem_fence_cache_fini(void);
int vgem_fence_attach_ioctl(struct drm_device *dev, void *data,
			    struct drm_file *file);
int vgem_fence_signal_ioctl(struct drm_device *dev, void *data,
			    struct drm_file *file);
int vgem_fence_wait_ioctl(struct drm_device *dev, void *data,
			  struct drm_file *file);

/* A fence the job waits for, and the callback that counts it down. */
struct vgem_dep {
	struct list_head link;
	struct fence_cb cb;
	struct fence *fence;	/* a reference */
	struct vgem_job *job;
	/*
	 * An in-fence, whose error fails the job; not a fence of the
	 * buffers' reservations, which only orders access to them.
	 */
	bool in_fence;
};

/*
 * A render job. Made and filled by the SUBMIT ioctl (vgem_submit.c), run by
 * its engine (vgem_engine.c).
 */
struct vgem_job {
	struct list_head link;		/* engine->queue, then engine->done */
	struct list_head tl_link;	/* tl->jobs until retired */
	struct vgem_engine *engine;
	struct vgem_timeline *tl;	/* the file's timeline on @engine */
	u64 order;			/* its place in engine->queue */
	struct vgem_file *vfile;	/* a reference */
	struct fence *fence;		/* a reference */
	struct drm_gem_object *obj;	/* target, a reference */
	struct drm_gem_object *src;	/* VGEM_OP_COPY source, a reference */
	/*
	 * Kernel mappings of @obj and of @src (unless @src is @obj), made by
	 * the ioctl and dropped when the job is freed: the draw, on the
	 * signalling path, must not map (mapping allocates and locks).
	 */
	struct iosys_map map, src_map;
	struct drm_vgem_submit args;
	struct list_head deps;
	/* Unsignaled dependencies, plus one while the job is being queued. */
	atomic_t pending;
	int dep_error;			/* first dependency error, or 0 */
	bool hung;			/* overran while drawn; engine lock */
	/*
	 * When it became the oldest job of its timeline (engine lock), and
	 * when its last dependency signaled (written before the count drops
	 * to zero, read after): it may run from the later of the two.
	 */
	ktime_t head_at, ready_at;
	ktime_t submitted, started;
	/*
	 * When the job completes: started + left_ns at the nominal clock,
	 * earlier once boosted; engine lock.
	 */
	ktime_t done_at;
	/*
	 * Its time still to run at the nominal clock: duration_ns until it
	 * first starts, what a preemption left of it after; engine lock.
	 */
	u64 left_ns;
	/* Its pixels are being or have been written: not preempted now. */
	bool drawn;
	unsigned int preempted;		/* times; engine lock */
	/* Its clock, times nominal (1 until boosted), and since when. */
	unsigned int boost;
	ktime_t boosted_at;
	ktime_t hang_at;		/* hung if still running then */
};

/* vgem_engine.c */
int vgem_engines_init(struct vgem_device *vdev, unsigned int count);
void vgem_engines_fini(struct vgem_device *vdev);
void vgem_engine_debugfs_init(struct drm_minor *minor);
struct vgem_job *vgem_job_alloc(struct vgem_engine *engine,
				struct vgem_file *vfile,
				struct drm_vgem_submit *args);
struct dma_fence *vgem_job_export(struct vgem_job *job);
void vgem_job_queue(struct vgem_job *job);
void vgem_job_arm(struct vgem_job *job);
void vgem_job_cancel(struct vgem_job *job);

/* vgem_submit.c */
int vgem_submit_ioctl(struct drm_device *dev, void *data,
		      struct drm_file *file);

#endif
