// SPDX-License-Identifier: GPL-2.0
/*
 * The stock virtio_gpu driver as a struct kms_dev (see virtio_gpu.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <xf86drm.h>
#include <xf86drmMode.h>
#include <virtgpu_drm.h>

#include "drmtest.h"
#include "igt.h"
#include "vgem.h"
#include "virtio_gpu.h"

/*
 * Linux 6.8: drivers of virtual machines' displays (virtio_gpu among them)
 * show their cursor plane only to clients that know the plane's hotspot
 * properties and say so. Bookworm's libdrm does not name the cap yet.
 */
#ifndef DRM_CLIENT_CAP_CURSOR_PLANE_HOTSPOT
#define DRM_CLIENT_CAP_CURSOR_PLANE_HOTSPOT 6
#endif

static bool find_output(struct kms_dev *dev, drmModeModeInfo *mode)
{
	drmModeResPtr res = drmModeGetResources(dev->fd);
	struct kms_output *o = &dev->out[0];
	bool found = false;

	if (!res)
		return false;
	for (int i = 0; i < res->count_connectors && !found; i++) {
		drmModeConnectorPtr c = drmModeGetConnector(dev->fd,
							    res->connectors[i]);
		drmModeEncoderPtr e;

		if (!c)
			continue;
		if (c->connection == DRM_MODE_CONNECTED && c->count_modes &&
		    c->count_encoders &&
		    (e = drmModeGetEncoder(dev->fd, c->encoders[0]))) {
			int k = ffs((int)e->possible_crtcs) - 1;

			if (k >= 0 && k < res->count_crtcs) {
				o->index = k;
				o->crtc_id = res->crtcs[k];
				o->connector_id = c->connector_id;
				o->encoder_id = e->encoder_id;
				*mode = c->modes[0];
				for (int m = 0; m < c->count_modes; m++)
					if (c->modes[m].type &
					    DRM_MODE_TYPE_PREFERRED) {
						*mode = c->modes[m];
						break;
					}
				found = true;
			}
			drmModeFreeEncoder(e);
		}
		drmModeFreeConnector(c);
	}
	drmModeFreeResources(res);
	return found;
}

static void find_planes(struct kms_dev *dev)
{
	drmModePlaneResPtr pres = drmModeGetPlaneResources(dev->fd);
	struct kms_output *o = &dev->out[0];

	igt_assert(pres);
	for (uint32_t i = 0; i < pres->count_planes; i++) {
		drmModePlanePtr p = drmModeGetPlane(dev->fd, pres->planes[i]);
		uint64_t type;

		igt_assert(p);
		type = kms_prop_value(dev->fd, p->plane_id,
				      DRM_MODE_OBJECT_PLANE, "type");
		if (p->possible_crtcs & (1u << o->index)) {
			if (type == DRM_PLANE_TYPE_PRIMARY && !o->primary)
				o->primary = p->plane_id;
			else if (type == DRM_PLANE_TYPE_CURSOR && !o->cursor)
				o->cursor = p->plane_id;
		}
		drmModeFreePlane(p);
	}
	drmModeFreePlaneResources(pres);
}

void __vgpu_open(struct kms_dev *dev, drmModeModeInfo *mode)
{
	memset(dev, 0, sizeof(*dev));
	dev->fd = __drm_open_driver("virtio_gpu");
	if (dev->fd < 0)
		return;
	/* Before 6.8 the cap is unknown (EINVAL) and the cursor shown. */
	if (drmSetClientCap(dev->fd, DRM_CLIENT_CAP_UNIVERSAL_PLANES, 1) ||
	    drmSetClientCap(dev->fd, DRM_CLIENT_CAP_ATOMIC, 1) ||
	    (drmSetClientCap(dev->fd, DRM_CLIENT_CAP_CURSOR_PLANE_HOTSPOT, 1) &&
	     errno != EINVAL) ||
	    !find_output(dev, mode)) {
		close(dev->fd);
		dev->fd = -1;
		errno = ENODEV;
		return;
	}
	dev->noutputs = 1;
	find_planes(dev);
}

void vgpu_open(struct kms_dev *dev, drmModeModeInfo *mode)
{
	__vgpu_open(dev, mode);
	igt_require_f(dev->fd >= 0,
		      "no virtio_gpu device with a connected output (QEMU's -device virtio-gpu-pci: scripts/vm/run --gpu virtio)\n");
	igt_assert_f(dev->out[0].primary, "virtio_gpu has no primary plane\n");
}

bool vgpu_has_3d(int fd)
{
	int value = 0;
	struct drm_virtgpu_getparam p = {
		.param = VIRTGPU_PARAM_3D_FEATURES,
		.value = (uintptr_t)&value,
	};

	return !igt_ioctl(fd, DRM_IOCTL_VIRTGPU_GETPARAM, &p) && value;
}

void vgpu_fence_driver(int fence_fd, char *buf, size_t len)
{
	char driver[32], timeline[32];

	sync_fence_names(fence_fd, driver, timeline);
	driver[sizeof(driver) - 1] = 0;
	snprintf(buf, len, "%s", driver);
}
