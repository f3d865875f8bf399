// SPDX-License-Identifier: GPL-2.0
/*
 * The simulated GPU engines of vgem and the SUBMIT ioctl.
 *
 * A job waits for its dependencies (explicit in-fences and the buffers'
 * implicit fences) through fence callbacks, then runs on its engine after
 * every job submitted there before it. The engine's worker sleeps until
 * just before the job's completion time, writes the job's pixels, and arms
 * the completion hrtimer; in that hard-IRQ handler, the "completion
 * interrupt", the job's fence is signaled under the engine lock. So the
 * pixels appear only just before the fence signals: a consumer that does
 * not wait for the fence sees the old content.
 *
 * A hang check, armed when the job starts, signals a job that overruns its
 * duration by hang_ms with -ETIMEDOUT. A job whose dependency failed does
 * not run: its fence signals at once with the dependency's error.
 */
#include <drm/drm_debugfs.h>
#include <drm/drm_file.h>
#include <drm/drm_fourcc.h>
#include <drm/drm_gem.h>
#include <drm/drm_gem_shmem_helper.h>
#include <linux/delay.h>
#include <linux/dma-resv.h>
#include <linux/file.h>
#include <linux/fence.h>
#include <linux/iosys-map.h>
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/smp.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/sync_file.h>
#include <linux/uaccess.h>
#include "vgem_drm.h"

#include "vgem_drv.h"

struct vgem_job;

/* A fence the job waits for, and the callback that counts it down. */
struct vgem_dep {
	struct list_head link;
	struct fence_cb cb;
	struct fence *fence;	/* a reference */
	struct vgem_job *job;
};

/* A job's fence, with the dma_fence that stands for it in reservations. */
struct vgem_job_fence {
	struct fence base;		/* first: freed by fence_free() */
	struct fence_export export;
};

struct vgem_job {
	struct list_head link;		/* engine->queue, then engine->done */
	struct vgem_engine *engine;
	struct vgem_file *vfile;	/* a reference */
	struct fence *fence;		/* a reference */
	struct drm_gem_object *obj;	/* target, a reference */
	struct drm_gem_object *src;	/* VGEM_OP_COPY source, a reference */
	struct drm_vgem_submit args;
	struct list_head deps;
	/* Unsignaled dependencies, plus one while the job is being queued. */
	atomic_t pending;
	int dep_error;			/* first dependency error, or 0 */
	ktime_t submitted, started, deadline;
	ktime_t hang_at;		/* hung if still running then */
};

static const char *vgem_job_driver_name(struct fence *fence)
{
	return "vgem";
}

static const char *vgem_job_timeline_name(struct fence *fence)
{
	/* The engine outlives its fences: each one pins the module. */
	struct vgem_engine *engine = container_of(fence->lock,
						  struct vgem_engine, lock);

	return engine->name;
}

static void vgem_job_fence_release(struct fence *fence)
{
	fence_free(fence);
	module_put(THIS_MODULE);
}

static const struct fence_ops vgem_job_fence_ops = {
	.get_driver_name = vgem_job_driver_name,
	.get_timeline_name = vgem_job_timeline_name,
	.release = vgem_job_fence_release,
};

/* ---- running jobs ---------------------------------------------------- */

static void vgem_write_pattern(u32 *row, u32 px, u32 py, u32 w, u32 frame)
{
	u32 i;

	for (i = 0; i < w; i++, px++) {
		if (py < 16 && px < 512) {
			row[i] = (frame >> (px / 16)) & 1 ? 0xffffffff :
				 0xff000000;
		} else {
			u32 r = (px + 4 * frame) & 0xff;
			u32 g = (py + 2 * frame) & 0xff;
			u32 b = ((px ^ py) + frame) & 0xff;

			row[i] = 0xff000000 | r << 16 | g << 8 | b;
		}
	}
}

/*
 * Writes the job's pixels. Process context: mapping may sleep. Every vgem
 * object is a shmem object, imported ones included.
 */
static int vgem_job_draw(struct vgem_job *job)
{
	struct drm_vgem_submit *a = &job->args;
	struct iosys_map map, smap;
	u8 *dst, *src = NULL;
	u32 r;
	int ret;

	if (a->op == VGEM_OP_NOP)
		return 0;

	ret = drm_gem_shmem_vmap(to_drm_gem_shmem_obj(job->obj), &map);
	if (ret)
		return ret;
	if (map.is_iomem) {
		ret = -EIO;
		goto out_unmap;
	}
	dst = map.vaddr;

	if (a->op == VGEM_OP_COPY) {
		if (job->src == job->obj) {
			src = dst;
		} else {
			ret = drm_gem_shmem_vmap(to_drm_gem_shmem_obj(job->src),
						 &smap);
			if (ret)
				goto out_unmap;
			if (smap.is_iomem) {
				ret = -EIO;
				goto out_unmap_src;
			}
			src = smap.vaddr;
		}
	}

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

out_unmap_src:
	if (src && src != dst)
		drm_gem_shmem_vunmap(to_drm_gem_shmem_obj(job->src), &smap);
out_unmap:
	drm_gem_shmem_vunmap(to_drm_gem_shmem_obj(job->obj), &map);
	return ret;
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

/* Signals @engine->running; engine lock held. */
static void vgem_engine_retire(struct vgem_engine *engine, int error)
	__must_hold(&engine->lock)
{
	struct vgem_job *job = engine->running;

	engine->running = NULL;
	list_move_tail(&job->link, &engine->done);
	if (error)
		__fence_set_error(job->fence, error);
	__fence_signal(job->fence);
	engine->completed++;
}

/* The completion interrupt: hard IRQ. */
static enum hrtimer_restart vgem_engine_complete(struct hrtimer *t)
{
	struct vgem_engine *engine = container_of(t, struct vgem_engine,
						  complete);
	unsigned long flags;
	unsigned int ms;

	if (unlikely(READ_ONCE(vgem_test_stall_complete_ms))) {
		ms = xchg(&vgem_test_stall_complete_ms, 0);
		if (ms)
			vgem_test_stall_complete(engine,
						 READ_ONCE(engine->running), ms);
	}

	spin_lock_irqsave(&engine->lock, flags);
	if (engine->running) {
		hrtimer_try_to_cancel(&engine->hangcheck);
		vgem_engine_retire(engine, engine->running->dep_error);
	}
	spin_unlock_irqrestore(&engine->lock, flags);
	queue_work(engine->wq, &engine->work);
	return HRTIMER_NORESTART;
}

static enum hrtimer_restart vgem_engine_hangcheck(struct hrtimer *t)
{
	struct vgem_engine *engine = container_of(t, struct vgem_engine,
						  hangcheck);
	enum hrtimer_restart ret = HRTIMER_NORESTART;
	struct vgem_job *job;
	unsigned long flags;
	bool hung = false;

	spin_lock_irqsave(&engine->lock, flags);
	job = engine->running;
	if (job && ktime_compare(ktime_get(), job->hang_at) >= 0) {
		hrtimer_try_to_cancel(&engine->complete);
		vgem_engine_retire(engine, -ETIMEDOUT);
		engine->hung++;
		hung = true;
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
	return ret;
}

static void vgem_job_free(struct vgem_job *job)
{
	struct vgem_dep *dep, *next;

	list_for_each_entry_safe(dep, next, &job->deps, link) {
		fence_put(dep->fence);
		kfree(dep);
	}
	if (job->src)
		drm_gem_object_put(job->src);
	if (job->obj)
		drm_gem_object_put(job->obj);
	fence_put(job->fence);
	atomic_dec(&job->vfile->jobs);
	vgem_file_put(job->vfile);
	kfree(job);
}

/* Arms the completion IRQ of @job if it still runs; any context. */
static void vgem_job_arm_complete(struct vgem_engine *engine,
				  struct vgem_job *job)
{
	unsigned long flags;
	ktime_t now;

	spin_lock_irqsave(&engine->lock, flags);
	if (engine->running == job) {
		now = ktime_get();
		hrtimer_start(&engine->complete,
			      ktime_after(job->deadline, now) ? job->deadline : now,
			      HRTIMER_MODE_ABS_PINNED_HARD);
	}
	spin_unlock_irqrestore(&engine->lock, flags);
}

static void vgem_job_arm_complete_ipi(void *data)
{
	struct vgem_job *job = data;

	vgem_job_arm_complete(job->engine, job);
}

/*
 * Arms the completion of @job, on this CPU; with the stall knob set, on
 * another CPU than the hang check's, so the two timers can run at once.
 */
static void vgem_job_complete_at_deadline(struct vgem_engine *engine,
					  struct vgem_job *job)
{
	unsigned int cpu;

	if (unlikely(READ_ONCE(vgem_test_stall_complete_ms))) {
		cpu = cpumask_any_but(cpu_online_mask,
				      READ_ONCE(engine->hangcheck_cpu));
		if (cpu < nr_cpu_ids &&
		    !smp_call_function_single(cpu, vgem_job_arm_complete_ipi,
					      job, 1))
			return;
	}
	vgem_job_arm_complete(engine, job);
}

/* Runs one job: waits until just before its completion, draws, arms. */
static void vgem_job_run(struct vgem_engine *engine, struct vgem_job *job)
{
	ktime_t write_at;
	unsigned int ms;

	if (job->dep_error || (job->args.flags & VGEM_SUBMIT_HANG)) {
		/* Failed dependency: complete now. Hang: never complete. */
		if (job->dep_error)
			hrtimer_start(&engine->complete, 0, HRTIMER_MODE_REL_HARD);
		return;
	}

	write_at = ktime_sub_us(job->deadline, READ_ONCE(vgem_write_lead_us));
	if (ktime_after(write_at, ktime_get())) {
		set_current_state(TASK_UNINTERRUPTIBLE);
		schedule_hrtimeout(&write_at, HRTIMER_MODE_ABS);
	}
	if (unlikely(READ_ONCE(vgem_test_hold_draw_ms))) {
		ms = xchg(&vgem_test_hold_draw_ms, 0);
		if (ms)
			vgem_test_hold_draw(engine, job, ms);
	}

	/*
	 * A drawing error (a foreign buffer that cannot be mapped) fails the
	 * job; the fence still signals, with the error.
	 */
	if (vgem_job_draw(job))
		job->dep_error = -EIO;

	vgem_job_complete_at_deadline(engine, job);
}

static void vgem_engine_work(struct work_struct *work)
{
	struct vgem_engine *engine = container_of(work, struct vgem_engine,
						  work);
	struct vgem_job *job, *next, *start = NULL;
	unsigned long flags;
	LIST_HEAD(done);

	spin_lock_irqsave(&engine->lock, flags);
	list_splice_init(&engine->done, &done);
	job = list_first_entry_or_null(&engine->queue, struct vgem_job, link);
	if (!engine->dying && !engine->running && job &&
	    !atomic_read(&job->pending)) {
		start = job;
		engine->running = job;
		job->started = ktime_get();
		job->deadline = ktime_add_ns(job->started,
					     job->args.duration_ns);
		job->hang_at = ktime_add_ms(job->deadline,
					    READ_ONCE(vgem_hang_ms));
		engine->hangcheck_cpu = smp_processor_id();
		hrtimer_start(&engine->hangcheck, job->hang_at,
			      HRTIMER_MODE_ABS_PINNED_HARD);
	}
	spin_unlock_irqrestore(&engine->lock, flags);

	list_for_each_entry_safe(job, next, &done, link)
		vgem_job_free(job);
	/* Only this worker starts jobs, so @start stays ours to run. */
	if (start)
		vgem_job_run(engine, start);
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

	if (fence->error)
		cmpxchg(&job->dep_error, 0, fence->error);
	if (atomic_dec_and_test(&job->pending))
		queue_work(engine->wq, &engine->work);
}

/* ---- submission ------------------------------------------------------ */

static bool vgem_rect_fits(size_t size, u32 stride, u32 x, u32 y, u32 w,
			   u32 h)
{
	u64 end;

	if (!w || !h || w > VGEM_MAX_DIMENSION || h > VGEM_MAX_DIMENSION ||
	    x > VGEM_MAX_DIMENSION || y > VGEM_MAX_DIMENSION)
		return false;
	if ((u64)(x + w) * 4 > stride)
		return false;
	end = (u64)(y + h - 1) * stride + (u64)(x + w) * 4;
	return end <= size;
}

static int vgem_submit_check(struct drm_vgem_submit *a,
			     struct vgem_device *vdev)
{
	if (a->flags & ~VGEM_SUBMIT_FLAGS || a->pad || a->reserved[0] ||
	    a->reserved[1])
		return -EINVAL;
	if (a->op > VGEM_OP_COPY || a->engine >= vdev->num_engines)
		return -EINVAL;
	if (a->duration_ns > VGEM_MAX_DURATION_NS ||
	    a->num_in_fences > VGEM_MAX_IN_FENCES)
		return -EINVAL;
	if ((a->flags & VGEM_SUBMIT_READ) && a->op != VGEM_OP_NOP)
		return -EINVAL;
	if (a->op != VGEM_OP_NOP && a->format != DRM_FORMAT_XRGB8888 &&
	    a->format != DRM_FORMAT_ARGB8888)
		return -EINVAL;
	return 0;
}

static int vgem_job_add_dep(struct vgem_job *job, struct fence *fence)
{
	struct vgem_dep *dep;

	if (IS_ERR(fence))
		return PTR_ERR(fence);
	/*
	 * Even an earlier job of our own engine counts: it would run first
	 * anyway, but its error must reach us.
	 */
	dep = kzalloc(sizeof(*dep), GFP_KERNEL);
	if (!dep) {
		fence_put(fence);
		return -ENOMEM;
	}
	dep->fence = fence;
	dep->job = job;
	list_add_tail(&dep->link, &job->deps);
	return 0;
}

static int vgem_job_add_in_fences(struct vgem_job *job)
{
	s32 __user *ufds = u64_to_user_ptr(job->args.in_fences);
	u32 i;
	s32 fd;
	int ret;

	for (i = 0; i < job->args.num_in_fences; i++) {
		if (get_user(fd, ufds + i))
			return -EFAULT;
		ret = vgem_job_add_dep(job, fence_from_sync_file_fd(fd));
		if (ret)
			return ret;
	}
	return 0;
}

/* The buffer's fences the job must wait for; reservation locked. */
static int vgem_job_add_implicit(struct vgem_job *job, struct dma_resv *resv,
				 enum dma_resv_usage usage)
{
	struct dma_resv_iter cursor;
	struct dma_fence *dma;
	int ret;

	dma_resv_for_each_fence(&cursor, resv, usage, dma) {
		ret = vgem_job_add_dep(job, fence_from_dma_fence(dma));
		if (ret)
			return ret;
	}
	return 0;
}

static struct drm_gem_object *vgem_lookup_rect(struct drm_file *file,
					       u32 handle, u32 stride, u32 x,
					       u32 y, u32 w, u32 h, bool check,
					       int *err)
{
	struct drm_gem_object *obj = drm_gem_object_lookup(file, handle);

	*err = 0;
	if (!obj) {
		*err = -ENOENT;
		return NULL;
	}
	if (check && !vgem_rect_fits(obj->size, stride, x, y, w, h)) {
		drm_gem_object_put(obj);
		*err = -EINVAL;
		return NULL;
	}
	return obj;
}

static struct vgem_job *vgem_job_alloc(struct vgem_engine *engine,
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
	/*
	 * Each fence pins the module: fences outlive files (in sync_files and
	 * other drivers' reservations). The ioctl's open file pins it now.
	 */
	__module_get(THIS_MODULE);
	/* Its seqno is given when the job takes its place on the engine. */
	fence_init(job->fence, &vgem_job_fence_ops, &engine->lock,
		   engine->context, 0);

	kref_get(&vfile->ref);
	job->vfile = vfile;
	job->engine = engine;
	job->args = *args;
	INIT_LIST_HEAD(&job->deps);
	INIT_LIST_HEAD(&job->link);
	atomic_set(&job->pending, 1);
	job->submitted = ktime_get();
	return job;

err_job:
	kfree(job);
err_count:
	atomic_dec(&vfile->jobs);
	return ERR_PTR(-ENOMEM);
}

/* A job that will never run: its fence signals, cancelled, and it goes. */
static void vgem_job_cancel(struct vgem_job *job)
{
	fence_set_error(job->fence, -ECANCELED);
	fence_signal(job->fence);
	vgem_job_free(job);
}

/* Registers the dependency callbacks; the last to signal starts the job. */
static void vgem_job_arm(struct vgem_job *job)
{
	/* Not job->engine after the last decrement: see vgem_dep_signaled(). */
	struct vgem_engine *engine = job->engine;
	struct vgem_dep *dep;

	list_for_each_entry(dep, &job->deps, link) {
		atomic_inc(&job->pending);
		if (fence_add_callback(dep->fence, &dep->cb,
				       vgem_dep_signaled)) {
			/* Already signaled. */
			if (dep->fence->error)
				cmpxchg(&job->dep_error, 0, dep->fence->error);
			atomic_dec(&job->pending);
		}
	}
	if (atomic_dec_and_test(&job->pending))
		queue_work(engine->wq, &engine->work);
}

int vgem_submit_ioctl(struct drm_device *dev, void *data,
		      struct drm_file *file)
{
	struct vgem_device *vdev = to_vgem(dev);
	struct vgem_file *vfile = file->driver_priv;
	struct drm_vgem_submit *args = data;
	bool write = !(args->flags & VGEM_SUBMIT_READ);
	struct dma_fence *dma = NULL;
	struct drm_gem_object *objs[2];
	struct sync_file *sync = NULL;
	struct vgem_engine *engine;
	struct ww_acquire_ctx ctx;
	struct vgem_job *job;
	unsigned long flags;
	int nobjs = 1, fd = -1;
	u32 id = 0;
	int ret, i;

	ret = vgem_submit_check(args, vdev);
	if (ret)
		return ret;
	engine = &vdev->engines[args->engine];

	job = vgem_job_alloc(engine, vfile, args);
	if (IS_ERR(job))
		return PTR_ERR(job);

	job->obj = vgem_lookup_rect(file, args->handle, args->stride, args->x,
				    args->y, args->width, args->height,
				    args->op != VGEM_OP_NOP, &ret);
	if (!job->obj)
		goto err_cancel;
	objs[0] = job->obj;
	if (args->op == VGEM_OP_COPY) {
		job->src = vgem_lookup_rect(file, args->src_handle,
					    args->src_stride, args->src_x,
					    args->src_y, args->width,
					    args->height, true, &ret);
		if (!job->src)
			goto err_cancel;
		if (job->src != job->obj)
			objs[nobjs++] = job->src;
	}

	ret = vgem_job_add_in_fences(job);
	if (ret)
		goto err_cancel;
	if (args->flags & VGEM_SUBMIT_OUT_FENCE_FD) {
		fd = get_unused_fd_flags(O_CLOEXEC);
		if (fd < 0) {
			ret = fd;
			goto err_cancel;
		}
	}

	ret = drm_gem_lock_reservations(objs, nobjs, &ctx);
	if (ret)
		goto err_fd;
	if (!(args->flags & VGEM_SUBMIT_NO_IMPLICIT)) {
		ret = vgem_job_add_implicit(job, job->obj->resv,
					    dma_resv_usage_rw(write));
		if (!ret && nobjs > 1)
			ret = vgem_job_add_implicit(job, job->src->resv,
						    DMA_RESV_USAGE_WRITE);
		if (ret)
			goto err_unlock;
	}
	for (i = 0; i < nobjs; i++) {
		ret = dma_resv_reserve_fences(objs[i]->resv, 1);
		if (ret)
			goto err_unlock;
	}

	/*
	 * From the seqno to the queue, one submitter per engine at a time:
	 * the engine runs jobs in queue order, which must be seqno order.
	 */
	mutex_lock(&engine->submit_lock);
	job->fence->seqno = engine->seqno + 1;
	dma = fence_export_init(&container_of(job->fence, struct vgem_job_fence,
					      base)->export, job->fence);
	if (fd >= 0) {
		sync = sync_file_create(dma);
		if (!sync) {
			ret = -ENOMEM;
			goto err_submit;
		}
	}
	if (args->flags & VGEM_SUBMIT_FENCE_ID) {
		ret = vgem_fence_id_alloc(vfile, fence_get(job->fence), &id);
		if (ret) {
			fence_put(job->fence);
			goto err_submit;
		}
	}

	/* Nothing fails from here on: publish, queue. */
	for (i = 0; i < nobjs; i++)
		dma_resv_add_fence(objs[i]->resv, dma, i == 0 && write ?
				   DMA_RESV_USAGE_WRITE : DMA_RESV_USAGE_READ);
	dma_fence_put(dma);
	spin_lock_irqsave(&engine->lock, flags);
	engine->seqno = job->fence->seqno;
	list_add_tail(&job->link, &engine->queue);
	spin_unlock_irqrestore(&engine->lock, flags);
	mutex_unlock(&engine->submit_lock);
	drm_gem_unlock_reservations(objs, nobjs, &ctx);

	if (sync)
		fd_install(fd, sync->file);
	args->out_fence_fd = sync ? fd : -1;
	args->out_fence = id;
	vgem_job_arm(job);
	return 0;

err_submit:
	mutex_unlock(&engine->submit_lock);
	if (sync)
		fput(sync->file);
	dma_fence_put(dma);
err_unlock:
	drm_gem_unlock_reservations(objs, nobjs, &ctx);
err_fd:
	if (fd >= 0)
		put_unused_fd(fd);
err_cancel:
	vgem_job_cancel(job);
	return ret;
}

/* ---- engines --------------------------------------------------------- */

int vgem_engines_init(struct vgem_device *vdev, unsigned int count)
{
	u64 context = fence_context_alloc(count);
	unsigned int i;

	vdev->engines = kcalloc(count, sizeof(*vdev->engines), GFP_KERNEL);
	if (!vdev->engines)
		return -ENOMEM;
	vdev->num_engines = count;

	for (i = 0; i < count; i++) {
		struct vgem_engine *engine = &vdev->engines[i];

		engine->vdev = vdev;
		engine->index = i;
		engine->context = context + i;
		snprintf(engine->name, sizeof(engine->name), "engine%u", i);
		spin_lock_init(&engine->lock);
		mutex_init(&engine->submit_lock);
		INIT_LIST_HEAD(&engine->queue);
		INIT_LIST_HEAD(&engine->done);
		hrtimer_init(&engine->complete, CLOCK_MONOTONIC,
			     HRTIMER_MODE_ABS_HARD);
		engine->complete.function = vgem_engine_complete;
		hrtimer_init(&engine->hangcheck, CLOCK_MONOTONIC,
			     HRTIMER_MODE_ABS_HARD);
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
		hrtimer_cancel(&engine->complete);
		hrtimer_cancel(&engine->hangcheck);
		/* Frees what is left on the done list, starts nothing. */
		queue_work(engine->wq, &engine->work);
		destroy_workqueue(engine->wq);
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
	unsigned int i;

	for (i = 0; i < vdev->num_engines; i++) {
		struct vgem_engine *engine = &vdev->engines[i];
		struct vgem_job *job;
		unsigned long flags;

		spin_lock_irqsave(&engine->lock, flags);
		seq_printf(m, "%s: context %llu seqno %llu completed %llu hung %llu\n",
			   engine->name, engine->context, engine->seqno,
			   engine->completed, engine->hung);
		list_for_each_entry(job, &engine->queue, link) {
			const char *state = job == engine->running ? "running" :
					    atomic_read(&job->pending) ?
					    "waiting" : "ready";

			seq_printf(m, "  job seqno %llu op %u state %s age %lld ms\n",
				   job->fence->seqno, job->args.op, state,
				   ktime_ms_delta(now, job->submitted));
		}
		spin_unlock_irqrestore(&engine->lock, flags);
	}
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
