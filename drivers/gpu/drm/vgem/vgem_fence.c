// SPDX-License-Identifier: GPL-2.0
/*
 * vgem fences that userspace attaches to a buffer and signals itself
 * (FENCE_ATTACH, FENCE_SIGNAL: the upstream vgem uapi, same behaviour), and
 * the per-file fence ids shared with SUBMIT jobs (FENCE_WAIT).
 */
#include <drm/drm_file.h>
#include <drm/drm_gem.h>
#include <linux/dma-resv.h>
#include <linux/fence.h>
#include <linux/module.h>
#include <linux/slab.h>
#include "vgem_drm.h"

#include "vgem_drv.h"

/* An attached fence signals by itself after this long. */
#define VGEM_FENCE_TIMEOUT_MS	10000

struct vgem_fence {
	struct fence base;	/* first: freed by fence_free() */
	spinlock_t lock;	/* the fence lock: one per attached fence */
	/* Expiry. While pending it holds a reference on the fence. */
	struct timer_list timer;
	/* The dma_fence put in the buffer's reservation: no allocation. */
	struct fence_export export;
};

static const char *vgem_fence_driver_name(struct fence *fence)
{
	return "vgem";
}

static const char *vgem_fence_timeline_name(struct fence *fence)
{
	return "attached";
}

static void vgem_fence_release(struct fence *fence)
{
	fence_free(fence);
	module_put(THIS_MODULE);
}

static const struct fence_ops vgem_fence_ops = {
	.get_driver_name = vgem_fence_driver_name,
	.get_timeline_name = vgem_fence_timeline_name,
	.release = vgem_fence_release,
};

static void vgem_fence_expire(struct timer_list *t)
{
	struct vgem_fence *vf = from_timer(vf, t, timer);

	fence_signal(&vf->base);
	fence_put(&vf->base);	/* the timer's reference */
}

/* Signals an attached fence now, and drops its timer if still pending. */
static void vgem_fence_finish(struct fence *fence)
{
	struct vgem_fence *vf = container_of(fence, struct vgem_fence, base);

	fence_signal(fence);
	if (del_timer(&vf->timer))
		fence_put(fence);
}

/**
 * vgem_fence_create_attached - a fence that userspace signals
 *
 * Return: a new fence, on its own timeline, that expires after 10 s; or
 * ERR_PTR(-ENOMEM). Its export is not made yet. Called from an ioctl only.
 */
static struct vgem_fence *vgem_fence_create_attached(void)
{
	struct vgem_fence *vf;

	vf = kzalloc(sizeof(*vf), GFP_KERNEL);
	if (!vf)
		return ERR_PTR(-ENOMEM);
	/* Fences outlive files; the ioctl's open file pins the module now. */
	__module_get(THIS_MODULE);
	spin_lock_init(&vf->lock);
	/*
	 * Each attached fence is a timeline of its own: they signal in any
	 * order, and fences of one context would replace one another in a
	 * reservation.
	 */
	fence_init(&vf->base, &vgem_fence_ops, &vf->lock,
		   fence_context_alloc(1), 1);
	timer_setup(&vf->timer, vgem_fence_expire, 0);
	fence_get(&vf->base);
	mod_timer(&vf->timer, jiffies + msecs_to_jiffies(VGEM_FENCE_TIMEOUT_MS));
	return vf;
}

static bool vgem_fence_is_attached(struct fence *fence)
{
	return fence->ops == &vgem_fence_ops;
}

/**
 * vgem_fence_id_alloc - give a fence an id in a file
 * @vfile: the file
 * @fence: the fence; the id takes over the caller's reference on success
 * @id: receives the id
 *
 * Return: 0, -EAGAIN if the file has vgem_max_fence_ids ids, or -ENOMEM.
 */
int vgem_fence_id_alloc(struct vgem_file *vfile, struct fence *fence,
			u32 *id)
{
	int ret;

	mutex_lock(&vfile->fence_lock);
	if (vfile->fence_ids >= READ_ONCE(vgem_max_fence_ids)) {
		ret = -EAGAIN;
	} else {
		ret = idr_alloc(&vfile->fence_idr, fence, 1, 0, GFP_KERNEL);
		if (ret > 0) {
			*id = ret;
			vfile->fence_ids++;
			ret = 0;
		}
	}
	mutex_unlock(&vfile->fence_lock);
	return ret;
}

static int vgem_fence_file_fini(int id, void *p, void *data)
{
	struct fence *fence = p;

	if (vgem_fence_is_attached(fence))
		vgem_fence_finish(fence);
	fence_put(fence);
	return 0;
}

/**
 * vgem_fence_file_close - release a closing file's fence ids
 * @vfile: the file
 *
 * Attached fences signal now (nobody is left to signal them); job fences
 * are the engine's and signal when their jobs complete.
 */
void vgem_fence_file_close(struct vgem_file *vfile)
{
	mutex_lock(&vfile->fence_lock);
	idr_for_each(&vfile->fence_idr, vgem_fence_file_fini, NULL);
	vfile->fence_ids = 0;
	mutex_unlock(&vfile->fence_lock);
}

int vgem_fence_attach_ioctl(struct drm_device *dev, void *data,
			    struct drm_file *file)
{
	struct drm_vgem_fence_attach *args = data;
	struct vgem_file *vfile = file->driver_priv;
	bool write = args->flags & VGEM_FENCE_WRITE;
	struct drm_gem_object *obj;
	struct vgem_fence *vf;
	struct dma_fence *dma;
	int ret;

	if (args->flags & ~VGEM_FENCE_WRITE || args->pad)
		return -EINVAL;

	obj = drm_gem_object_lookup(file, args->handle);
	if (!obj)
		return -ENOENT;

	vf = vgem_fence_create_attached();
	if (IS_ERR(vf)) {
		ret = PTR_ERR(vf);
		goto out_obj;
	}
	dma = fence_export_init(&vf->export, &vf->base);

	dma_resv_lock(obj->resv, NULL);
	/* A writer conflicts with every fence, a reader with writers. */
	if (!dma_resv_test_signaled(obj->resv, dma_resv_usage_rw(write)))
		ret = -EBUSY;
	else
		ret = dma_resv_reserve_fences(obj->resv, 1);
	if (!ret)
		dma_resv_add_fence(obj->resv, dma, write ?
				   DMA_RESV_USAGE_WRITE : DMA_RESV_USAGE_READ);
	dma_resv_unlock(obj->resv);
	dma_fence_put(dma);

	if (!ret)
		ret = vgem_fence_id_alloc(vfile, &vf->base, &args->out_fence);
	if (ret) {
		/* Harmless if it made it into the reservation: signaled. */
		vgem_fence_finish(&vf->base);
		fence_put(&vf->base);
	}
out_obj:
	drm_gem_object_put(obj);
	return ret;
}

int vgem_fence_signal_ioctl(struct drm_device *dev, void *data,
			    struct drm_file *file)
{
	struct drm_vgem_fence_signal *args = data;
	struct vgem_file *vfile = file->driver_priv;
	struct fence *fence;
	int ret = 0;

	if (args->flags)
		return -EINVAL;

	mutex_lock(&vfile->fence_lock);
	fence = idr_find(&vfile->fence_idr, args->fence);
	if (!fence) {
		ret = -ENOENT;
	} else if (!vgem_fence_is_attached(fence)) {
		/* A job's fence: the engine signals it; then the id goes. */
		if (!fence_is_signaled(fence))
			ret = -EBUSY;
	} else if (fence_is_signaled(fence)) {
		ret = -ETIMEDOUT;	/* expired; the id goes all the same */
	}
	if (ret == -ENOENT || ret == -EBUSY) {
		mutex_unlock(&vfile->fence_lock);
		return ret;
	}
	/* The slot stays allocated (NULL), so the id is never reused. */
	idr_replace(&vfile->fence_idr, NULL, args->fence);
	vfile->fence_ids--;
	mutex_unlock(&vfile->fence_lock);

	if (vgem_fence_is_attached(fence))
		vgem_fence_finish(fence);
	fence_put(fence);
	return ret;
}

int vgem_fence_wait_ioctl(struct drm_device *dev, void *data,
			  struct drm_file *file)
{
	struct drm_vgem_fence_wait *args = data;
	struct vgem_file *vfile = file->driver_priv;
	struct fence *fence;
	signed long timeout;
	long ret;

	if (args->flags || args->timeout_ns < 0)
		return -EINVAL;

	mutex_lock(&vfile->fence_lock);
	fence = idr_find(&vfile->fence_idr, args->fence);
	if (fence)
		fence_get(fence);
	mutex_unlock(&vfile->fence_lock);
	if (!fence)
		return -ENOENT;

	if (!args->timeout_ns)
		timeout = 0;
	else
		timeout = min_t(u64, nsecs_to_jiffies64(args->timeout_ns) + 1,
				MAX_SCHEDULE_TIMEOUT - 1);
	ret = fence_wait_timeout(fence, true, timeout);
	fence_put(fence);
	if (ret > 0)
		return 0;
	return ret ? ret : -ETIME;
}
