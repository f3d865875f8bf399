// SPDX-License-Identifier: GPL-2.0
/**
 * DOC: vkms, a display with fence-gated flips
 *
 * vkms is a KMS driver without hardware: each output is a CRTC whose vblank
 * is an hrtimer at the mode's refresh rate, with a primary plane, up to
 * eight overlays (two by default) and a cursor (XRGB8888, ARGB8888, XBGR8888, ABGR8888, RGB565,
 * XRGB2101010, ARGB2101010; plane alpha, blend modes, zpos, positioning
 * and clipping, no scaling), a virtual connector with an EDID and the
 * standard modes up to 4096x2160, and a writeback connector (XRGB8888,
 * ARGB8888). Buffers are shmem GEM objects: dumb buffers, and PRIME
 * imports (a vgem buffer can be scanned out).
 *
 * A nonblocking flip whose fences have not signaled (IN_FENCE_FD, or the
 * write fence in the buffer's reservation) registers fence callbacks and
 * returns; the last callback arms the flip from the signaling context and
 * the next vblank latches it (vkms_gate.c explains the path and its
 * teardown). The composer (vkms_composer.c) builds a shown frame in the
 * CRTC's output buffer when a CRC or a writeback capture reads it, and no
 * buffer is reported free while it may still read it (vkms_crtc.c);
 * vkms_composer.c also defines the arithmetic and the
 * CRC so that userspace can compute reference CRCs.
 *
 * Module parameters:
 *  - num_outputs (1 to 4, read-only): outputs created at load.
 *  - num_overlays (0 to 8, read-only, default 2): overlay planes of each
 *    output. Upstream vkms has none by default and 8 with enable_overlay=1;
 *    ours keeps the 2 its clients and tests have always had. The zpos
 *    range of every plane is 0 to num_overlays + 1.
 *  - gate (bool, writable, default 1): 0 sends nonblocking commits to
 *    the DRM helpers' worker, which waits for the fences.
 *  - fbdev (bool, read-only, default 1): fbdev emulation, as upstream
 *    vkms has it: a /dev/fbN whose buffer the outputs show while no
 *    program is DRM master, and so the kernel console (fbcon) on it.
 *    0: no framebuffer device.
 *
 * These make the default device, platform device "vkms". More devices
 * are made at run time under /sys/kernel/config/vkms/ (vkms_configfs.c),
 * each a platform device of the directory's name with a DRM device of
 * its own.
 *
 * debugfs, per CRTC (dri/N/crtc-I/):
 *  - crc/control, crc/data: the DRM CRC interface, source "auto": one
 *    entry per vblank, the CRC of the frame shown during that vblank.
 *  - vkms_stats: vblanks, gated_pending (flips waiting for fences now),
 *    armed_pending, flips_gated, flips_worker, flips_armed, flips_latched,
 *    flips_merged (legacy cursor updates replaced before their vblank),
 *    flips_cancelled, missed_latches (armed before a vblank, latched at a
 *    later one), fence_errors, composed, compose_ns_last, compose_ns_max,
 *    crc_entries, writebacks.
 */
#include <linux/dma-mapping.h>
#include <linux/module.h>
#include <linux/platform_device.h>

#include <drm/drm_atomic_helper.h>
#include <drm/drm_connector.h>
#include <drm/drm_crtc.h>
#include <drm/drm_drv.h>
#include <drm/drm_file.h>
#include <drm/drm_gem.h>
#include <drm/drm_gem_framebuffer_helper.h>
#include <drm/drm_gem_shmem_helper.h>
#include <drm/drm_ioctl.h>
#include <drm/drm_managed.h>
#include <drm/drm_mode_config.h>
#include <drm/drm_modeset_helper_vtables.h>
#include <drm/drm_plane.h>
#include <drm/drm_vblank.h>

#include <crossfence/compat.h>
#include <crossfence/version.h>

#include "vkms_drv.h"

#define DRIVER_NAME	"vkms"
#define DRIVER_DESC	"Virtual KMS with fence-gated flips (crossfence)"
#define DRIVER_DATE	"20260101"

static unsigned int num_outputs = 1;
module_param(num_outputs, uint, 0444);
MODULE_PARM_DESC(num_outputs, "Number of outputs (CRTCs), 1 to 4 (default 1)");

static unsigned int num_overlays = VKMS_DEF_OVERLAYS;
module_param(num_overlays, uint, 0444);
MODULE_PARM_DESC(num_overlays, "Overlay planes per output, 0 to 8 (default 2)");

static bool fbdev = true;
module_param(fbdev, bool, 0444);
MODULE_PARM_DESC(fbdev,
		 "Emulate a framebuffer device, /dev/fbN and the console, on the outputs (default 1); 0: no fbdev");

bool vkms_gate = true;
module_param_named(gate, vkms_gate, bool, 0644);
MODULE_PARM_DESC(gate,
		 "Gate nonblocking flips on fence callbacks (default 1); 0: the DRM helpers' worker waits for the fences");

/* The default device, made at load from the parameters above. */
static struct vkms_device *vkms_dev;

/*
 * Files are counted so that a configfs device is not torn down under an
 * open one (vkms_device_close()); once it is being torn down, an open
 * that got through drm_open() is undone.
 */
static int vkms_file_open(struct inode *inode, struct file *filp)
{
	struct vkms_device *vkms;
	struct drm_file *file;
	bool closing;
	int ret;

	ret = drm_open(inode, filp);
	if (ret)
		return ret;
	file = filp->private_data;
	vkms = to_vkms(file->minor->dev);
	spin_lock(&vkms->open_lock);
	closing = vkms->closing;
	if (!closing)
		vkms->open_files++;
	spin_unlock(&vkms->open_lock);
	if (closing) {
		drm_release(inode, filp);
		return -ENODEV;
	}
	return 0;
}

/*
 * Closing a file removes its framebuffers, which disables the planes that
 * show them with a blocking commit; that commit would wait for every gated
 * flip of those framebuffers. Cancel those flips first: their callbacks are
 * removed and they complete at the next vblank without changing the
 * scan-out.
 */
static int vkms_file_release(struct inode *inode, struct file *filp)
{
	struct drm_file *file = filp->private_data;
	struct vkms_device *vkms = to_vkms(file->minor->dev);
	int ret;

	vkms_cancel_gated(vkms, file);
	ret = drm_release(inode, filp);
	/* The device outlives this: it is not torn down while counted. */
	spin_lock(&vkms->open_lock);
	vkms->open_files--;
	spin_unlock(&vkms->open_lock);
	return ret;
}

static const struct file_operations vkms_fops = {
	.owner		= THIS_MODULE,
	.open		= vkms_file_open,
	.release	= vkms_file_release,
	.unlocked_ioctl	= drm_ioctl,
	.compat_ioctl	= drm_compat_ioctl,
	.poll		= drm_poll,
	.read		= drm_read,
	.llseek		= noop_llseek,
	.mmap		= drm_gem_mmap,
#if CF_HAS_FOP_FLAGS
	/* 6.12's drm_open() refuses file operations without it. */
	.fop_flags	= FOP_UNSIGNED_OFFSET,
#endif
};

/*
 * vkms's imports get a vmap lock class of their own: mapping an import
 * takes its vmap lock, then the exporter's through dma_buf_vmap(). With
 * the helper's one class for every shmem object, lockdep saw a cycle as
 * soon as vgem's imports (their own class) mapped a buffer of a stock
 * shmem driver (virtio-gpu) while vkms imported others.
 */
static struct lock_class_key vkms_import_vmap_lock_class;

static struct drm_gem_object *
vkms_prime_import_sg_table(struct drm_device *dev,
			   struct dma_buf_attachment *attach,
			   struct sg_table *sgt)
{
	struct drm_gem_object *obj;

	obj = drm_gem_shmem_prime_import_sg_table(dev, attach, sgt);
	if (!IS_ERR(obj))
		cf_shmem_set_vmap_class(to_drm_gem_shmem_obj(obj),
					&vkms_import_vmap_lock_class);
	return obj;
}

static const struct drm_driver vkms_driver = {
	.driver_features	= DRIVER_MODESET | DRIVER_ATOMIC | DRIVER_GEM,
	.fops			= &vkms_fops,
	/* The shmem helper's defaults, but for the import. */
	.prime_handle_to_fd	= drm_gem_prime_handle_to_fd,
	.prime_fd_to_handle	= drm_gem_prime_fd_to_handle,
	.gem_prime_import_sg_table = vkms_prime_import_sg_table,
#if CF_HAS_GEM_PRIME_MMAP
	/* From 6.6 the prime helpers mmap through the GEM object's funcs. */
	.gem_prime_mmap		= drm_gem_prime_mmap,
#endif
	.dumb_create		= drm_gem_shmem_dumb_create,
	.name			= DRIVER_NAME,
	.desc			= DRIVER_DESC,
	.date			= DRIVER_DATE,
	.major			= 1,
	.minor			= 0,
};

static const struct drm_mode_config_funcs vkms_mode_config_funcs = {
	.fb_create	= drm_gem_fb_create,
	.atomic_check	= vkms_atomic_check,
	.atomic_commit	= vkms_atomic_commit,
	.atomic_state_alloc = vkms_atomic_state_alloc,
	.atomic_state_free = vkms_atomic_state_free,
};

static void vkms_release_wq(struct drm_device *drm, void *arg)
{
	struct vkms_device *vkms = to_vkms(drm);

	destroy_workqueue(vkms->commit_wq);
}

/* The resets allocate the initial states; an object left without fails. */
static int vkms_check_states(struct drm_device *drm)
{
	struct drm_connector_list_iter iter;
	struct drm_connector *connector;
	struct drm_plane *plane;
	struct drm_crtc *crtc;
	int ret = 0;

	drm_for_each_crtc(crtc, drm)
		if (!crtc->state)
			return -ENOMEM;
	drm_for_each_plane(plane, drm)
		if (!plane->state)
			return -ENOMEM;
	drm_connector_list_iter_begin(drm, &iter);
	drm_for_each_connector_iter(connector, &iter)
		if (!connector->state)
			ret = -ENOMEM;
	drm_connector_list_iter_end(&iter);
	return ret;
}

static int vkms_modeset_init(struct vkms_device *vkms,
			     const struct vkms_config *cfg)
{
	struct drm_device *drm = &vkms->drm;
	unsigned int i;
	int ret;

	ret = drmm_mode_config_init(drm);
	if (ret)
		return ret;
	drm->mode_config.funcs = &vkms_mode_config_funcs;
	drm->mode_config.helper_private = &vkms_mode_config_helpers;
	drm->mode_config.min_width = VKMS_MIN_SIZE;
	drm->mode_config.min_height = VKMS_MIN_SIZE;
	drm->mode_config.max_width = VKMS_MAX_SIZE;
	drm->mode_config.max_height = VKMS_MAX_SIZE;
	drm->mode_config.cursor_width = VKMS_CURSOR_SIZE;
	drm->mode_config.cursor_height = VKMS_CURSOR_SIZE;
	drm->mode_config.preferred_depth = 24;
	drm->mode_config.normalize_zpos = true;

	for (i = 0; i < vkms->num_outputs; i++) {
		ret = vkms_output_init(vkms, i, &cfg->outputs[i]);
		if (ret)
			return ret;
	}
	for (i = 0; i < vkms->num_outputs; i++) {
		ret = vkms_output_link(vkms, i, cfg->outputs[i].encoders);
		if (ret)
			return ret;
	}
	drm_mode_config_reset(drm);
	return vkms_check_states(drm);
}

/**
 * vkms_device_create - make and register a device
 * @cfg: what it has
 *
 * Registers a platform device named @cfg->name and a DRM device on it.
 * On failure nothing of it is left.
 *
 * Return: the device, or an ERR_PTR.
 */
struct vkms_device *vkms_device_create(const struct vkms_config *cfg)
{
	struct platform_device *pdev;
	struct vkms_device *vkms;
	int ret;

	pdev = platform_device_register_simple(cfg->name, -1, NULL, 0);
	if (IS_ERR(pdev))
		return ERR_CAST(pdev);

	if (!devres_open_group(&pdev->dev, NULL, GFP_KERNEL)) {
		ret = -ENOMEM;
		goto err_unregister;
	}

	vkms = devm_drm_dev_alloc(&pdev->dev, &vkms_driver,
				  struct vkms_device, drm);
	if (IS_ERR(vkms)) {
		ret = PTR_ERR(vkms);
		goto err_devres;
	}
	vkms->pdev = pdev;
	vkms->num_outputs = cfg->num_outputs;
	spin_lock_init(&vkms->open_lock);
	spin_lock_init(&vkms->gated_lock);
	INIT_LIST_HEAD(&vkms->gated);
	atomic_set(&vkms->wb_jobs, 0);
	atomic_set(&vkms->states, 0);
	init_llist_head(&vkms->states_freed);
	INIT_WORK(&vkms->states_work, vkms_states_work);

	/* PRIME import maps other devices' buffers for this device. */
	ret = dma_coerce_mask_and_coherent(&pdev->dev, DMA_BIT_MASK(64));
	if (ret)
		goto err_devres;

	vkms->commit_wq = alloc_workqueue("vkms_commit", WQ_UNBOUND, 0);
	if (!vkms->commit_wq) {
		ret = -ENOMEM;
		goto err_devres;
	}
	ret = drmm_add_action_or_reset(&vkms->drm, vkms_release_wq, NULL);
	if (ret)
		goto err_devres;

	ret = drm_vblank_init(&vkms->drm, vkms->num_outputs);
	if (ret)
		goto err_devres;

	ret = vkms_modeset_init(vkms, cfg);
	if (ret)
		goto err_devres;

	ret = drm_dev_register(&vkms->drm, 0);
	if (ret)
		goto err_devres;

	/*
	 * The fbdev client lights the outputs now, while no program is DRM
	 * master, and again whenever the last file closes; a master's
	 * commits are its own. It goes with drm_dev_unregister(). 32 bpp:
	 * XRGB8888 (6.1 takes a bpp of 0 as preferred_depth, 24, a format
	 * no plane of ours has).
	 */
	if (cfg->fbdev)
		cf_fbdev_setup(&vkms->drm, 32);

	return vkms;

err_devres:
	devres_release_group(&pdev->dev, NULL);
err_unregister:
	platform_device_unregister(pdev);
	return ERR_PTR(ret);
}

/**
 * vkms_device_close - refuse new files, if no file is open
 * @vkms: the device
 *
 * Before vkms_device_destroy() of a device whose files do not pin the
 * module (a configfs device). From then on, opens fail.
 *
 * Return: 0, or -EBUSY while a file of the device is open.
 */
int vkms_device_close(struct vkms_device *vkms)
{
	int ret = 0;

	spin_lock(&vkms->open_lock);
	if (vkms->open_files)
		ret = -EBUSY;
	else
		vkms->closing = true;
	spin_unlock(&vkms->open_lock);
	return ret;
}

/**
 * vkms_device_destroy - unregister and free a device
 * @vkms: the device, no file of it open
 */
void vkms_device_destroy(struct vkms_device *vkms)
{
	struct platform_device *pdev = vkms->pdev;

	drm_dev_unregister(&vkms->drm);
	/* No file is open; cancel what may remain. */
	vkms_cancel_gated(vkms, NULL);
	drm_atomic_helper_shutdown(&vkms->drm);
	/*
	 * The helpers' workers of earlier nonblocking commits may still run
	 * our commit tail and destroy hooks, gated commits their cleanup.
	 */
	vkms_states_wait(vkms);
	/* Writeback jobs are cleaned up in a DRM worker that calls us. */
	wait_var_event(&vkms->wb_jobs, !atomic_read(&vkms->wb_jobs));
	devres_release_group(&pdev->dev, NULL);
	platform_device_unregister(pdev);
}

static int __init vkms_init(void)
{
	struct vkms_config cfg = {
		.name = DRIVER_NAME,
		.num_outputs = num_outputs,
		.fbdev = fbdev,
	};
	unsigned int i;
	int ret;

	if (num_outputs < 1 || num_outputs > VKMS_MAX_OUTPUTS) {
		pr_err("vkms: num_outputs must be 1 to %d\n", VKMS_MAX_OUTPUTS);
		return -EINVAL;
	}
	if (num_overlays > VKMS_MAX_OVERLAYS) {
		pr_err("vkms: num_overlays must be 0 to %d\n",
		       VKMS_MAX_OVERLAYS);
		return -EINVAL;
	}
	for (i = 0; i < num_outputs; i++) {
		cfg.outputs[i].num_overlays = num_overlays;
		cfg.outputs[i].cursor = true;
		cfg.outputs[i].writeback = true;
		cfg.outputs[i].encoders = BIT(i);
		cfg.outputs[i].status = connector_status_connected;
	}
	vkms_dev = vkms_device_create(&cfg);
	if (IS_ERR(vkms_dev))
		return PTR_ERR(vkms_dev);

	ret = vkms_configfs_register();
	if (ret) {
		vkms_device_destroy(vkms_dev);
		return ret;
	}
	return 0;
}

/*
 * Each configfs directory holds a reference to the module, so none is
 * left here and no configfs device either; the subsystem goes first all
 * the same, so that no new one can start.
 */
static void __exit vkms_exit(void)
{
	vkms_configfs_unregister();
	vkms_device_destroy(vkms_dev);
}

module_init(vkms_init);
module_exit(vkms_exit);

MODULE_DESCRIPTION(DRIVER_DESC);
MODULE_LICENSE("GPL");
MODULE_AUTHOR("crossfence developers");
MODULE_VERSION(CROSSFENCE_VERSION);
