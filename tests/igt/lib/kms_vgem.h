/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The vgem uapi for the vkms tests: crossfence's own header
 * (include/uapi/drm/vgem_drm.h, byte-compatible with upstream's for the
 * fence ioctls).
 */
#ifndef CROSSFENCE_KMS_VGEM_H
#define CROSSFENCE_KMS_VGEM_H

#include <drm/vgem_drm.h>

#endif
