/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for the stock virtio_gpu driver (QEMU's virtio-gpu device) in the
 * interop tests and the demo mirror: its output as a struct kms_dev, so the
 * KMS helpers of kms.h (atomic requests, modeset, events) work on it, and
 * the questions the tests ask of the device.
 */
#ifndef CROSSFENCE_VIRTIO_GPU_H
#define CROSSFENCE_VIRTIO_GPU_H

#include <stdbool.h>
#include <stdint.h>

#include "kms.h"

/*
 * Open virtio_gpu (by driver name, whatever its minor) with the atomic and
 * universal-plane caps; output 0 is its first connected connector, with
 * that connector's preferred mode in @mode. @dev->fd < 0 (errno ENODEV)
 * when there is no such device: the __ variant does not skip.
 */
void __vgpu_open(struct kms_dev *dev, drmModeModeInfo *mode);
void vgpu_open(struct kms_dev *dev, drmModeModeInfo *mode);

/* VIRTGPU_PARAM_3D_FEATURES: whether the host renders with virgl. */
bool vgpu_has_3d(int fd);

/* The driver name of a sync_file's (first) fence. */
void vgpu_fence_driver(int fence_fd, char *buf, size_t len);

#endif
