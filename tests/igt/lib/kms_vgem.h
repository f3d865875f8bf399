/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The vgem fence uapi for the vkms tests: crossfence's header when it is
 * there, else the two upstream structures (byte-compatible) defined here.
 */
#ifndef CROSSFENCE_KMS_VGEM_H
#define CROSSFENCE_KMS_VGEM_H

#if __has_include(<drm/vgem_drm.h>)
#include <drm/vgem_drm.h>
#else
#include <drm.h>

struct drm_vgem_fence_attach {
	__u32 handle;
	__u32 flags;
#define VGEM_FENCE_WRITE	0x1
	__u32 out_fence;
	__u32 pad;
};

struct drm_vgem_fence_signal {
	__u32 fence;
	__u32 flags;
};

#define DRM_IOCTL_VGEM_FENCE_ATTACH \
	DRM_IOWR(DRM_COMMAND_BASE + 0x1, struct drm_vgem_fence_attach)
#define DRM_IOCTL_VGEM_FENCE_SIGNAL \
	DRM_IOW(DRM_COMMAND_BASE + 0x2, struct drm_vgem_fence_signal)
#endif

#endif
