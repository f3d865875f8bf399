/* SPDX-License-Identifier: GPL-2.0 */
/*
 * DRM device helpers for crossfence tests: find a device by its driver name
 * (vgem, vkms, ...) whichever minor it got.
 */
#ifndef CROSSFENCE_DRMTEST_H
#define CROSSFENCE_DRMTEST_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Open the first primary node (/dev/dri/cardN) whose driver is @driver.
 * Returns the fd, or -1 with errno ENODEV when there is none.
 */
int __drm_open_driver(const char *driver);

/* As __drm_open_driver(), but skips the subtest/fixture when absent. */
int drm_open_driver(const char *driver);

/* The same for render nodes (/dev/dri/renderD*). */
int __drm_open_driver_render(const char *driver);
int drm_open_driver_render(const char *driver);

/* The driver name of an open DRM fd into @buf; false if it has none. */
bool drm_driver_name(int fd, char *buf, size_t len);

#endif
