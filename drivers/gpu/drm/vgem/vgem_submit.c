// SPDX-License-Identifier: GPL-2.0
/*
 * vgem's SUBMIT ioctl: checks a job, collects what it waits for, maps its
 * buffers, publishes its fence in their reservations and queues it on its
 * engine (vgem_engine.c runs it).
 */
#include <drm/drm_file.h>
#include <drm/drm_fourcc.h>
#include <drm/drm_gem.h>
#include <drm/drm_gem_shmem_helper.h>
#include <linux/dma-resv.h>
#include <linux/file.h>
#include <linux/fence.h>
#include <linux/iosys-map.h>
#include <linux/slab.h>
#include <linux/sync_file.h>
#include <linux/uaccess.h>
#include "vgem_drm.h"

#include "vgem_drv.h"

/* One SUBMIT call, from lookup to queue. */
struct vgem_submit {
	struct vgem_job *job;
	struct drm_gem_object *objs[2];	/* target, then a distinct source */
	int nobjs;
	bool write;			/* the job writes its target */
	struct ww_acquire_ctx ctx;	/* the reservations of @objs */
	int fd;				/* for the out-fence, or -1 */
	struct sync_file *sync;
	u32 id;				/* the fence id, or 0 */
};

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
	if (a->flags & ~VGEM_SUBMIT_FLAGS || a->pad || a->reserved)
		return -EINVAL;
	if (a->deadline_ns > KTIME_MAX)
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

/* ---- step 1: the buffers ---------------------------------------------- */

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

/* The target and the copy source, references in the job. */
static int vgem_submit_lookup(struct vgem_submit *sub, struct drm_file *file)
{
	struct vgem_job *job = sub->job;
	struct drm_vgem_submit *a = &job->args;
	int ret;

	job->obj = vgem_lookup_rect(file, a->handle, a->stride, a->x, a->y,
				    a->width, a->height, a->op != VGEM_OP_NOP,
				    &ret);
	if (!job->obj)
		return ret;
	sub->objs[sub->nobjs++] = job->obj;
	if (a->op == VGEM_OP_COPY) {
		job->src = vgem_lookup_rect(file, a->src_handle, a->src_stride,
					    a->src_x, a->src_y, a->width,
					    a->height, true, &ret);
		if (!job->src)
			return ret;
		if (job->src != job->obj)
			sub->objs[sub->nobjs++] = job->src;
	}
	return 0;
}

/* ---- step 2: dependencies ---------------------------------------------- */

/*
 * Error rule: when an in-fence fails, its job fails with that error, without
 * running (the client named the dependency: its input is bad). The
 * buffers' implicit fences only order access, as the kernel's GPU
 * scheduler treats them: a job that failed, hung or not, leaves the later
 * users of its buffers alone. Passing its error on through them would
 * fail every later job of a ring of buffers once one job fails, for good.
 */
static int vgem_job_add_dep(struct vgem_job *job, struct fence *fence,
			    bool in_fence)
{
	struct vgem_dep *dep;

	if (IS_ERR(fence))
		return PTR_ERR(fence);
	/*
	 * Even an earlier job of our own engine counts: it would run first
	 * anyway, but an in-fence's error must reach us.
	 */
	dep = kzalloc(sizeof(*dep), GFP_KERNEL);
	if (!dep) {
		fence_put(fence);
		return -ENOMEM;
	}
	dep->fence = fence;
	dep->job = job;
	dep->in_fence = in_fence;
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
		ret = vgem_job_add_dep(job, fence_from_sync_file_fd(fd), true);
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
		ret = vgem_job_add_dep(job, fence_from_dma_fence(dma), false);
		if (ret)
			return ret;
	}
	return 0;
}

/* ---- step 3: reserve (reservations locked on success) ------------------ */

/*
 * A kernel mapping of @obj for the job's draw. Every vgem object is a
 * shmem object, imports included; an import whose exporter gives I/O
 * memory is refused.
 */
static int vgem_job_map(struct drm_gem_object *obj, struct iosys_map *map)
{
	struct drm_gem_shmem_object *shmem = to_drm_gem_shmem_obj(obj);
	int ret;

	ret = drm_gem_shmem_vmap(shmem, map);
	if (ret)
		return ret;
	if (map->is_iomem || (unlikely(READ_ONCE(vgem_test_fail_map)) &&
			      xchg(&vgem_test_fail_map, 0))) {
		drm_gem_shmem_vunmap(shmem, map);
		iosys_map_clear(map);
		return -EINVAL;
	}
	return 0;
}

/*
 * Locks the reservations, adds their fences as dependencies, maps the
 * buffers (here, in process context with the reservations held, as the
 * shmem helper wants from Linux 6.5; the mappings go with the job) and
 * reserves the fence slots. On error the reservations are unlocked.
 */
static int vgem_submit_reserve(struct vgem_submit *sub)
{
	struct vgem_job *job = sub->job;
	int ret, i;

	ret = drm_gem_lock_reservations(sub->objs, sub->nobjs, &sub->ctx);
	if (ret)
		return ret;
	if (!(job->args.flags & VGEM_SUBMIT_NO_IMPLICIT)) {
		ret = vgem_job_add_implicit(job, job->obj->resv,
					    dma_resv_usage_rw(sub->write));
		if (!ret && sub->nobjs > 1)
			ret = vgem_job_add_implicit(job, job->src->resv,
						    DMA_RESV_USAGE_WRITE);
		if (ret)
			goto err_unlock;
	}
	if (job->args.op != VGEM_OP_NOP) {
		ret = vgem_job_map(job->obj, &job->map);
		if (!ret && sub->nobjs > 1)
			ret = vgem_job_map(job->src, &job->src_map);
		if (ret)
			goto err_unlock;	/* vgem_job_cancel() unmaps */
	}
	for (i = 0; i < sub->nobjs; i++) {
		ret = dma_resv_reserve_fences(sub->objs[i]->resv, 1);
		if (ret)
			goto err_unlock;
	}
	return 0;

err_unlock:
	drm_gem_unlock_reservations(sub->objs, sub->nobjs, &sub->ctx);
	return ret;
}

/* ---- step 4: publish and queue ----------------------------------------- */

/*
 * Gives the job its seqno, makes its out-fence and fence id, adds its
 * fence to the reservations (still locked) and queues it. On error
 * nothing is published nor queued; the reservations stay locked.
 */
static int vgem_submit_publish(struct vgem_submit *sub)
{
	struct vgem_job *job = sub->job;
	struct vgem_engine *engine = job->engine;
	struct dma_fence *dma;
	int ret, i;

	/*
	 * From the seqno to the queue, one submitter per engine at a time:
	 * the engine runs a timeline's jobs in queue order, which must be
	 * seqno order.
	 */
	mutex_lock(&engine->submit_lock);
	job->fence->seqno = job->tl->seqno + 1;
	dma = vgem_job_export(job);
	if (sub->fd >= 0) {
		sub->sync = sync_file_create(dma);
		if (!sub->sync) {
			ret = -ENOMEM;
			goto err;
		}
	}
	if (job->args.flags & VGEM_SUBMIT_FENCE_ID) {
		ret = vgem_fence_id_alloc(job->vfile, fence_get(job->fence),
					  &sub->id);
		if (ret) {
			fence_put(job->fence);
			goto err_sync;
		}
	}

	/* Nothing fails from here on. */
	for (i = 0; i < sub->nobjs; i++)
		dma_resv_add_fence(sub->objs[i]->resv, dma,
				   i == 0 && sub->write ?
				   DMA_RESV_USAGE_WRITE : DMA_RESV_USAGE_READ);
	dma_fence_put(dma);
	vgem_job_queue(job);
	mutex_unlock(&engine->submit_lock);
	return 0;

err_sync:
	if (sub->sync) {
		fput(sub->sync->file);
		sub->sync = NULL;
	}
err:
	mutex_unlock(&engine->submit_lock);
	dma_fence_put(dma);
	return ret;
}

int vgem_submit_ioctl(struct drm_device *dev, void *data,
		      struct drm_file *file)
{
	struct vgem_device *vdev = to_vgem(dev);
	struct vgem_file *vfile = file->driver_priv;
	struct drm_vgem_submit *args = data;
	struct vgem_submit sub = {
		.write = !(args->flags & VGEM_SUBMIT_READ),
		.fd = -1,
	};
	int ret;

	ret = vgem_submit_check(args, vdev);
	if (ret)
		return ret;
	/* Banned: too many of the file's jobs hung (vgem_drm.h). */
	if (atomic_read(&vfile->hangs) >= VGEM_BAN_HANGS)
		return -EIO;

	sub.job = vgem_job_alloc(&vdev->engines[args->engine], vfile, args);
	if (IS_ERR(sub.job))
		return PTR_ERR(sub.job);

	ret = vgem_submit_lookup(&sub, file);
	if (ret)
		goto err_cancel;
	ret = vgem_job_add_in_fences(sub.job);
	if (ret)
		goto err_cancel;
	if (args->flags & VGEM_SUBMIT_OUT_FENCE_FD) {
		sub.fd = get_unused_fd_flags(O_CLOEXEC);
		if (sub.fd < 0) {
			ret = sub.fd;
			goto err_cancel;
		}
	}
	ret = vgem_submit_reserve(&sub);
	if (ret)
		goto err_fd;
	ret = vgem_submit_publish(&sub);
	drm_gem_unlock_reservations(sub.objs, sub.nobjs, &sub.ctx);
	if (ret)
		goto err_fd;

	if (sub.sync)
		fd_install(sub.fd, sub.sync->file);
	args->out_fence_fd = sub.sync ? sub.fd : -1;
	args->out_fence = sub.id;
	/*
	 * As any consumer would set it, earliest wins; before the job can
	 * start (it does not before vgem_job_arm()), so that the engine
	 * chooses and clocks it with its deadline.
	 */
	if (args->deadline_ns)
		fence_set_deadline(sub.job->fence,
				   ns_to_ktime(args->deadline_ns));
	vgem_job_arm(sub.job);
	return 0;

err_fd:
	if (sub.fd >= 0)
		put_unused_fd(sub.fd);
err_cancel:
	vgem_job_cancel(sub.job);
	return ret;
}
