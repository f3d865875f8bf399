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

/* An attached fence signals by itself after this long... */
#define VGEM_FENCE_TIMEOUT	msecs_to_jiffies(10000)
/* ... give or take this: expiries this close together are batched. */
#define VGEM_FENCE_SLACK	msecs_to_jiffies(100)

struct vgem_fence {
	struct fence base;	/* the rcu head of the free is in it */
	spinlock_t lock;	/* the fence lock: one per attached fence */
	unsigned long expires;	/* jiffies; set before the fence has an id */
	/* The dma_fence put in the buffer's reservation: no allocation. */
	struct fence_export export;
};

/*
 * Attached fences come from a cache of their own: attach and signal are a
 * hot pair (upstream's benchmark of this uapi), and a constructor lets the
 * allocation skip zeroing. Every field is written before the fence is
 * used; the lock by the constructor (it is unlocked again when freed).
 */
static struct kmem_cache *vgem_fence_cache;

static void vgem_fence_ctor(void *p)
{
	struct vgem_fence *vf = p;

	spin_lock_init(&vf->lock);
}

static const char *vgem_fence_driver_name(struct fence *fence)
{
	return "vgem";
}

static const char *vgem_fence_timeline_name(struct fence *fence)
{
	return "attached";
}

/*
 * The fence's module reference goes here, last: had the release dropped
 * it, rmmod could free our text before the release returned into it. This
 * callback is ours too, but the module exit's rcu_barrier() (in
 * vgem_fence_cache_fini()) returns only after every RCU callback queued
 * before it has returned, one still running included.
 */
static void vgem_fence_free_rcu(struct rcu_head *rcu)
{
	kmem_cache_free(vgem_fence_cache,
			container_of(rcu, struct vgem_fence, base.rcu));
	module_put(THIS_MODULE);
}

/* Freed after a grace period (fence_get_rcu()); the module exit waits. */
static void vgem_fence_release(struct fence *fence)
{
	call_rcu(&fence->rcu, vgem_fence_free_rcu);
}

static const struct fence_ops vgem_fence_ops = {
	.get_driver_name = vgem_fence_driver_name,
	.get_timeline_name = vgem_fence_timeline_name,
	.release = vgem_fence_release,
};

/**
 * vgem_fence_cache_init - make the cache of attached fences
 *
 * Return: 0 or -ENOMEM.
 */
int vgem_fence_cache_init(void)
{
	vgem_fence_cache = kmem_cache_create("vgem_fence",
					     sizeof(struct vgem_fence), 0, 0,
					     vgem_fence_ctor);
	return vgem_fence_cache ? 0 : -ENOMEM;
}

/**
 * vgem_fence_cache_fini - destroy the cache, at module exit
 *
 * Every fence pinned the module until its RCU callback, so all of them are
 * released by now; the barrier waits for those callbacks to return (they
 * run our code), then the cache can go.
 */
void vgem_fence_cache_fini(void)
{
	rcu_barrier();
	kmem_cache_destroy(vgem_fence_cache);
}

/**
 * vgem_fence_create_attached - a fence that userspace signals
 * @dma: receives the first reference of its export
 *
 * Return: a new fence, on its own timeline; or ERR_PTR(-ENOMEM). Called
 * from an ioctl only.
 */
static struct vgem_fence *vgem_fence_create_attached(struct dma_fence **dma)
{
	struct vgem_fence *vf;

	vf = kmem_cache_alloc(vgem_fence_cache, GFP_KERNEL);
	if (!vf)
		return ERR_PTR(-ENOMEM);
	/* Fences outlive files; the ioctl's open file pins the module now. */
	__module_get(THIS_MODULE);
	/*
	 * Each attached fence is a timeline of its own: they signal in any
	 * order, and fences of one context would replace one another in a
	 * reservation.
	 */
	*dma = fence_init_exported(&vf->base, &vf->export, &vgem_fence_ops,
				   &vf->lock, fence_context_alloc(1), 1);
	vf->expires = jiffies + VGEM_FENCE_TIMEOUT;
	return vf;
}

static bool vgem_fence_is_attached(struct fence *fence)
{
	return fence->ops == &vgem_fence_ops;
}

struct vgem_fence_expiry {
	unsigned long now;
	unsigned long next;	/* earliest expiry left, if @left */
	bool left;
};

static int vgem_fence_expire_one(int id, void *p, void *data)
{
	struct vgem_fence_expiry *x = data;
	struct fence *fence = p;
	struct vgem_fence *vf;

	if (!fence || !vgem_fence_is_attached(fence) ||
	    fence_is_signaled(fence))
		return 0;
	vf = container_of(fence, struct vgem_fence, base);
	if (time_after_eq(x->now, vf->expires)) {
		fence_signal(fence);
	} else if (!x->left || time_before(vf->expires, x->next)) {
		x->next = vf->expires;
		x->left = true;
	}
	return 0;
}

/**
 * vgem_fence_expire_work - signal the attached fences that are due
 * @work: &vgem_file.expire
 *
 * One delayed work per file expires its attached fences. Invariant, under
 * &vgem_file.fence_lock: while the file has an unsignaled attached fence
 * with an id, this work is pending (armed for no later than the earliest
 * expiry plus the slack) or running and about to re-arm. So attach only
 * arms it when it is idle, and a signal never touches it. Cancelled when
 * the file closes. Fence callbacks run in atomic context and never take
 * the mutex, so signaling under it is fine (the close path does too).
 */
void vgem_fence_expire_work(struct work_struct *work)
{
	struct vgem_file *vfile = container_of(to_delayed_work(work),
					       struct vgem_file, expire);
	struct vgem_fence_expiry x = { .now = jiffies };

	mutex_lock(&vfile->fence_lock);
	idr_for_each(&vfile->fence_idr, vgem_fence_expire_one, &x);
	if (x.left)
		mod_delayed_work(system_wq, &vfile->expire,
				 x.next - x.now + VGEM_FENCE_SLACK);
	mutex_unlock(&vfile->fence_lock);
}

/* Gives @fence an id; the caller holds @vfile->fence_lock. */
static int __vgem_fence_id_alloc(struct vgem_file *vfile, struct fence *fence,
				 u32 *id)
{
	int ret;

	lockdep_assert_held(&vfile->fence_lock);
	if (vfile->fence_ids >= READ_ONCE(vgem_max_fence_ids))
		return -EAGAIN;
	ret = idr_alloc(&vfile->fence_idr, fence, 1, 0, GFP_KERNEL);
	if (ret < 0)
		return ret;
	*id = ret;
	vfile->fence_ids++;
	return 0;
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
	ret = __vgem_fence_id_alloc(vfile, fence, id);
	mutex_unlock(&vfile->fence_lock);
	return ret;
}

static int vgem_fence_file_fini(int id, void *p, void *data)
{
	struct fence *fence = p;

	if (!fence)
		return 0;
	if (vgem_fence_is_attached(fence))
		fence_signal(fence);
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
	/* No ioctl can arm it any more: once cancelled, it stays so. */
	cancel_delayed_work_sync(&vfile->expire);
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

	vf = vgem_fence_create_attached(&dma);
	if (IS_ERR(vf)) {
		ret = PTR_ERR(vf);
		goto out_obj;
	}

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
	if (ret)
		goto out_signal;

	mutex_lock(&vfile->fence_lock);
	ret = __vgem_fence_id_alloc(vfile, &vf->base, &args->out_fence);
	/* The id owns our reference now; see vgem_fence_expire_work(). */
	if (!ret && !delayed_work_pending(&vfile->expire))
		queue_delayed_work(system_wq, &vfile->expire,
				   VGEM_FENCE_TIMEOUT + VGEM_FENCE_SLACK);
	mutex_unlock(&vfile->fence_lock);
	if (!ret)
		goto out_obj;

out_signal:
	/* Harmless if it made it into the reservation: signaled. */
	fence_signal(&vf->base);
	fence_put(&vf->base);
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
	/*
	 * Take the fence out of its slot at once (one lookup on the common
	 * path); the slot stays allocated (NULL), so the id is never reused.
	 */
	fence = idr_replace(&vfile->fence_idr, NULL, args->fence);
	if (IS_ERR_OR_NULL(fence)) {
		ret = -ENOENT;	/* never allocated, or already used */
	} else if (!vgem_fence_is_attached(fence)) {
		/* A job's fence: the engine signals it; then the id goes. */
		if (!fence_is_signaled(fence)) {
			idr_replace(&vfile->fence_idr, fence, args->fence);
			ret = -EBUSY;
		}
	} else if (fence_is_signaled(fence)) {
		ret = -ETIMEDOUT;	/* expired; the id goes all the same */
	}
	if (ret == -ENOENT || ret == -EBUSY) {
		mutex_unlock(&vfile->fence_lock);
		return ret;
	}
	vfile->fence_ids--;
	mutex_unlock(&vfile->fence_lock);

	/* Ours now; a job's fence has signaled already. */
	if (vgem_fence_is_attached(fence))
		fence_signal(fence);
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
