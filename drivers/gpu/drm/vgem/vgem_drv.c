// SPDX-License-Identifier: GPL-2.0
/*
 * crossfence vgem: a virtual GPU. GEM buffers backed by shmem (dumb
 * buffers, mmap, PRIME export and import), the upstream vgem fence uapi,
 * and render jobs on simulated engines whose completion interrupt (an
 * hrtimer) signals their fences.
 */
#include <drm/drm_drv.h>
#include <drm/drm_file.h>
#include <drm/drm_gem_shmem_helper.h>
#include <drm/drm_ioctl.h>
#include <drm/drm_prime.h>
#include <linux/dma-mapping.h>
#include <linux/module.h>
#include <linux/platform_device.h>
#include <crossfence/compat.h>
#include <crossfence/version.h>
#include "vgem_drm.h"

#include "vgem_drv.h"

#define DRIVER_NAME	"vgem"
#define DRIVER_DESC	"crossfence virtual GEM provider"
#define DRIVER_DATE	"20261124"
#define DRIVER_MAJOR	1
#define DRIVER_MINOR	0

static unsigned int engines = 1;
module_param(engines, uint, 0444);
MODULE_PARM_DESC(engines, "Number of simulated engines, 1-8 (default 1)");

unsigned int vgem_max_jobs = 256;
module_param_named(max_jobs, vgem_max_jobs, uint, 0644);
MODULE_PARM_DESC(max_jobs, "Jobs in flight per file (default 256)");

unsigned int vgem_max_fence_ids = 4096;
module_param_named(max_fence_ids, vgem_max_fence_ids, uint, 0644);
MODULE_PARM_DESC(max_fence_ids, "Fence ids per file (default 4096)");

/*
 * The lockup timeout. 10 s, as GPU drivers' job timeouts commonly are: on
 * a TCG guest of a busy host the engine's worker can be kept off its vCPU
 * for seconds, and a shorter bound takes that for a hang (a frame failed
 * and not drawn). The test suite loads vgem with hang_ms=2000.
 */
unsigned int vgem_hang_ms = 10000;
module_param_named(hang_ms, vgem_hang_ms, uint, 0644);
MODULE_PARM_DESC(hang_ms,
		 "A job overrunning its duration by this is hung (default 10000)");

unsigned int vgem_write_lead_us = 500;
module_param_named(write_lead_us, vgem_write_lead_us, uint, 0644);
MODULE_PARM_DESC(write_lead_us,
		 "Pixels are written at least this long before completion, more if recent draws took longer (default 500)");

int vgem_edf = 1;
module_param_named(edf, vgem_edf, bint, 0644);
MODULE_PARM_DESC(edf,
		 "Between files, the ready job with the earliest deadline runs first; 0: submission order (default 1)");

unsigned int vgem_starve_ms = 50;
module_param_named(starve_ms, vgem_starve_ms, uint, 0644);
MODULE_PARM_DESC(starve_ms,
		 "With edf: a job ready this long runs next, whatever its deadline; 0: no bound (default 50)");

int vgem_preempt = 1;
module_param_named(preempt, vgem_preempt, bint, 0644);
MODULE_PARM_DESC(preempt,
		 "With edf: a ready job that would miss its deadline behind the one running preempts it, unless that one is drawn (default 1)");

static int vgem_max_boost_set(const char *val, const struct kernel_param *kp)
{
	return param_set_uint_minmax(val, kp, 1, VGEM_MAX_BOOST);
}

static const struct kernel_param_ops vgem_max_boost_ops = {
	.set = vgem_max_boost_set,
	.get = param_get_uint,
};

unsigned int vgem_max_boost = 2;
module_param_cb(max_boost, &vgem_max_boost_ops, &vgem_max_boost, 0644);
__MODULE_PARM_TYPE(max_boost, "uint");
MODULE_PARM_DESC(max_boost,
		 "Clock, times nominal, of an engine whose job would miss its deadline, 1-4; 1: never boost (default 2)");

/*
 * Test knobs, one-shot: each is taken (reset to 0) by the code it delays.
 * They build interleavings of the engine's timers and worker that the
 * regression tests of vgem_submit need; 0 (the default) is normal running.
 */
unsigned int vgem_test_stall_complete_ms;
module_param_named(test_stall_complete_ms, vgem_test_stall_complete_ms, uint,
		   0644);
MODULE_PARM_DESC(test_stall_complete_ms,
		 "(test) Next completion IRQ: on a CPU other than the hang check's, waits up to this long for another job to run");

unsigned int vgem_test_hold_draw_ms;
module_param_named(test_hold_draw_ms, vgem_test_hold_draw_ms, uint, 0644);
MODULE_PARM_DESC(test_hold_draw_ms,
		 "(test) Next job: the worker waits up to this long before drawing, until the hang check retires it");

unsigned int vgem_test_fail_map;
module_param_named(test_fail_map, vgem_test_fail_map, uint, 0644);
MODULE_PARM_DESC(test_fail_map,
		 "(test) Next SUBMIT that maps a buffer: the map fails as for I/O memory");

static struct vgem_device *vgem_device;

static int vgem_open(struct drm_device *dev, struct drm_file *file)
{
	struct vgem_file *vfile = kzalloc(sizeof(*vfile), GFP_KERNEL);
	unsigned int i, n = to_vgem(dev)->num_engines;
	u64 context;

	if (!vfile)
		return -ENOMEM;
	kref_init(&vfile->ref);
	mutex_init(&vfile->fence_lock);
	idr_init_base(&vfile->fence_idr, 1);
	INIT_DELAYED_WORK(&vfile->expire, vgem_fence_expire_work);
	atomic_set(&vfile->jobs, 0);
	/* A fence timeline of its own on each engine. */
	context = fence_context_alloc(n);
	for (i = 0; i < n; i++) {
		vfile->timelines[i].context = context + i;
		INIT_LIST_HEAD(&vfile->timelines[i].jobs);
		INIT_LIST_HEAD(&vfile->timelines[i].link);
	}
	file->driver_priv = vfile;
	return 0;
}

static void vgem_file_release(struct kref *ref)
{
	struct vgem_file *vfile = container_of(ref, struct vgem_file, ref);

	idr_destroy(&vfile->fence_idr);
	mutex_destroy(&vfile->fence_lock);
	kfree(vfile);
}

void vgem_file_put(struct vgem_file *vfile)
{
	kref_put(&vfile->ref, vgem_file_release);
}

static void vgem_postclose(struct drm_device *dev, struct drm_file *file)
{
	struct vgem_file *vfile = file->driver_priv;

	/* Attached fences signal now; jobs in flight run to completion. */
	vgem_fence_file_close(vfile);
	vgem_file_put(vfile);
}

static struct drm_gem_object *vgem_create_object(struct drm_device *dev,
						 size_t size)
{
	struct drm_gem_shmem_object *shmem = kzalloc(sizeof(*shmem),
						     GFP_KERNEL);

	if (!shmem)
		return ERR_PTR(-ENOMEM);
	/* Cached CPU mappings, kernel and user alike: coherent on x86. */
	shmem->map_wc = false;
	return &shmem->base;
}

/*
 * vgem's own buffers get a lock class of their own for their vmap lock:
 * an importer (vkms) maps its import under its vmap lock, and the map
 * reaches the exporter's through dma_buf_vmap(). Two objects, one of each
 * side, but the shmem helper gives every object one class, so lockdep
 * took the nesting for recursion.
 */
static struct lock_class_key vgem_vmap_lock_class;

/*
 * And vgem's imports of foreign buffers get another: a job that maps an
 * import (a virtio-gpu buffer, say) takes its vmap lock, then the
 * exporter's, whose shmem objects have the helper's default class.
 */
static struct lock_class_key vgem_import_vmap_lock_class;

static struct drm_gem_object *
vgem_prime_import_sg_table(struct drm_device *dev,
			   struct dma_buf_attachment *attach,
			   struct sg_table *sgt)
{
	struct drm_gem_object *obj;

	obj = drm_gem_shmem_prime_import_sg_table(dev, attach, sgt);
	if (!IS_ERR(obj))
		cf_shmem_set_vmap_class(to_drm_gem_shmem_obj(obj),
					&vgem_import_vmap_lock_class);
	return obj;
}

static int vgem_dumb_create(struct drm_file *file, struct drm_device *dev,
			    struct drm_mode_create_dumb *args)
{
	struct drm_gem_shmem_object *shmem;
	int ret;

	/*
	 * drm_mode_create_dumb() has checked that width * cpp and the size
	 * fit in 32 bits; width * bpp is computed in 64.
	 */
	args->pitch = DIV_ROUND_UP((u64)args->width * args->bpp, 8);
	args->size = PAGE_ALIGN((u64)args->pitch * args->height);

	shmem = drm_gem_shmem_create(dev, args->size);
	if (IS_ERR(shmem))
		return PTR_ERR(shmem);
	cf_shmem_set_vmap_class(shmem, &vgem_vmap_lock_class);

	ret = drm_gem_handle_create(file, &shmem->base, &args->handle);
	/* The handle holds the object now, or it goes. */
	drm_gem_object_put(&shmem->base);
	return ret;
}

static const struct drm_ioctl_desc vgem_ioctls[] = {
	DRM_IOCTL_DEF_DRV(VGEM_FENCE_ATTACH, vgem_fence_attach_ioctl,
			  DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(VGEM_FENCE_SIGNAL, vgem_fence_signal_ioctl,
			  DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(VGEM_SUBMIT, vgem_submit_ioctl, DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(VGEM_FENCE_WAIT, vgem_fence_wait_ioctl,
			  DRM_RENDER_ALLOW),
};

DEFINE_DRM_GEM_FOPS(vgem_fops);

static const struct drm_driver vgem_driver = {
	.driver_features = DRIVER_GEM | DRIVER_RENDER,
	.open = vgem_open,
	.postclose = vgem_postclose,
	.ioctls = vgem_ioctls,
	.num_ioctls = ARRAY_SIZE(vgem_ioctls),
	.fops = &vgem_fops,
	/* The shmem helpers' ops, but dumb buffers of our own (see above). */
	.prime_handle_to_fd = drm_gem_prime_handle_to_fd,
	.prime_fd_to_handle = drm_gem_prime_fd_to_handle,
	.gem_prime_import_sg_table = vgem_prime_import_sg_table,
#if CF_HAS_GEM_PRIME_MMAP
	/* From 6.6 the prime helpers mmap through the GEM object's funcs. */
	.gem_prime_mmap = drm_gem_prime_mmap,
#endif
	.dumb_create = vgem_dumb_create,
	.gem_create_object = vgem_create_object,
#if IS_ENABLED(CONFIG_DEBUG_FS)
	.debugfs_init = vgem_engine_debugfs_init,
#endif
	.name = DRIVER_NAME,
	.desc = DRIVER_DESC,
	.date = DRIVER_DATE,
	.major = DRIVER_MAJOR,
	.minor = DRIVER_MINOR,
};

static int __init vgem_init(void)
{
	struct platform_device *pdev;
	struct vgem_device *vdev;
	int ret;

	if (engines < 1 || engines > VGEM_MAX_ENGINES) {
		pr_err("vgem: engines must be 1-%u, not %u\n",
		       VGEM_MAX_ENGINES, engines);
		return -EINVAL;
	}

	ret = vgem_fence_cache_init();
	if (ret)
		return ret;

	pdev = platform_device_register_simple("vgem", -1, NULL, 0);
	if (IS_ERR(pdev)) {
		ret = PTR_ERR(pdev);
		goto out_cache;
	}

	if (!devres_open_group(&pdev->dev, NULL, GFP_KERNEL)) {
		ret = -ENOMEM;
		goto out_unregister;
	}

	dma_coerce_mask_and_coherent(&pdev->dev, DMA_BIT_MASK(64));

	vdev = devm_drm_dev_alloc(&pdev->dev, &vgem_driver, struct vgem_device,
				  drm);
	if (IS_ERR(vdev)) {
		ret = PTR_ERR(vdev);
		goto out_devres;
	}
	vdev->pdev = pdev;

	ret = vgem_engines_init(vdev, engines);
	if (ret)
		goto out_devres;

	ret = drm_dev_register(&vdev->drm, 0);
	if (ret)
		goto out_engines;

	vgem_device = vdev;
	return 0;

out_engines:
	vgem_engines_fini(vdev);
out_devres:
	devres_release_group(&pdev->dev, NULL);
out_unregister:
	platform_device_unregister(pdev);
out_cache:
	vgem_fence_cache_fini();
	return ret;
}

static void __exit vgem_exit(void)
{
	struct platform_device *pdev = vgem_device->pdev;

	drm_dev_unregister(&vgem_device->drm);
	/*
	 * Every job and fence holds a module reference, so none is left:
	 * the engines are idle and only their timers and work need stopping.
	 * Fences drop that reference from their RCU callback: the
	 * rcu_barrier() of vgem_fence_cache_fini() waits for the last ones
	 * to return before our text goes.
	 */
	vgem_engines_fini(vgem_device);
	devres_release_group(&pdev->dev, NULL);
	platform_device_unregister(pdev);
	vgem_fence_cache_fini();
}

module_init(vgem_init);
module_exit(vgem_exit);

MODULE_AUTHOR("crossfence developers");
MODULE_DESCRIPTION(DRIVER_DESC);
MODULE_LICENSE("GPL");
MODULE_VERSION(CROSSFENCE_VERSION);
