/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kernel API differences between the two kernels crossfence supports,
 * Debian's 6.1 and 6.12, named once here: the only file that tests
 * LINUX_VERSION_CODE (scripts/lint lets checkpatch know). Each entry gives
 * the release that changed the API. Where the difference is a struct
 * member one kernel lacks, the user tests a CF_HAS_ macro of this file
 * next to the member.
 */
#ifndef _CROSSFENCE_COMPAT_H
#define _CROSSFENCE_COMPAT_H

#include <linux/lockdep.h>
#include <linux/version.h>

#define CF_BEFORE(major, minor) \
	(LINUX_VERSION_CODE < KERNEL_VERSION(major, minor, 0))

/*
 * 6.10: __assign_str() takes the field alone and copies from the source
 * that its __string() declaration named.
 */
#if CF_BEFORE(6, 10)
#define cf_assign_str(field, src)	__assign_str(field, src)
#else
#define cf_assign_str(field, src)	__assign_str(field)
#endif

/* 6.12: the unaligned accessors moved from <asm/> to <linux/>. */
#if CF_BEFORE(6, 12)
#include <asm/unaligned.h>
#else
#include <linux/unaligned.h>
#endif

/*
 * 6.6: &drm_driver.gem_prime_mmap is gone, dma-buf mmap goes through the
 * GEM object's funcs; until then a driver sets it to drm_gem_prime_mmap.
 */
#define CF_HAS_GEM_PRIME_MMAP	CF_BEFORE(6, 6)

/*
 * 6.12: &file_operations.fop_flags; drm_open() refuses a file without
 * FOP_UNSIGNED_OFFSET (DRM's offsets are unsigned 64-bit).
 */
#define CF_HAS_FOP_FLAGS	(!CF_BEFORE(6, 12))

/*
 * 6.5: a shmem GEM object's kernel mapping is protected by its reservation
 * lock, which the caller of drm_gem_shmem_vmap() and _vunmap() holds; until
 * then the helper took a mutex of the object's own, vmap_lock, whose lock
 * class vgem and vkms set so that lockdep tells an importer's from its
 * exporter's. From 6.5 an import shares its exporter's reservation object,
 * so there is no nesting to tell apart and nothing to set.
 */
#if CF_BEFORE(6, 5)
#define cf_shmem_set_vmap_class(shmem, key) \
	lockdep_set_class(&(shmem)->vmap_lock, key)
#else
#define cf_shmem_set_vmap_class(shmem, key)	((void)(shmem), (void)(key))
#endif

/*
 * 6.4: dma_fence deadline hints, dma_fence_set_deadline() and
 * &dma_fence_ops.set_deadline. Before, the bridge has nothing to forward a
 * deadline to or from: only our own fences carry them.
 */
#define CF_HAS_DMA_FENCE_DEADLINE	(!CF_BEFORE(6, 4))

/*
 * fbdev emulation. Until 6.11 drm_fbdev_generic_setup() served every
 * driver with a vmap; shmem buffers were scanned out and mmap'ed as they
 * are. 6.11 split it: drm_fbdev_shmem_setup(), upstream vkms's from then
 * on, maps the GEM object's shmem pages through fbdev's deferred I/O,
 * whose fault handler sets their page->mapping to the fbdev file's; once
 * a program has mmap'ed /dev/fbN and written there, freeing the buffer at
 * unload spins forever in shmem_undo_range() (6.12.118, kms_module@fbdev).
 * drm_fbdev_ttm_setup(), the former generic one, keeps a vmalloc'ed
 * shadow that fbdev maps and copies damage into the buffer: no shmem page
 * is ever mapped through fbdev. Both take the bpp of the fbdev format.
 */
#if CF_BEFORE(6, 11)
#include <drm/drm_fb_helper.h>
#define cf_fbdev_setup(drm, bpp)	drm_fbdev_generic_setup(drm, bpp)
#else
#include <drm/drm_fbdev_ttm.h>
#define cf_fbdev_setup(drm, bpp)	drm_fbdev_ttm_setup(drm, bpp)
#endif

#endif /* _CROSSFENCE_COMPAT_H */
