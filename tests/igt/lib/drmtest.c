// SPDX-License-Identifier: GPL-2.0
/*
 * DRM device helpers: open a device by driver name.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <xf86drm.h>

#include "drmtest.h"
#include "igt.h"

bool drm_driver_name(int fd, char *buf, size_t len)
{
	drmVersionPtr v = drmGetVersion(fd);

	if (!v)
		return false;
	snprintf(buf, len, "%s", v->name);
	drmFreeVersion(v);
	return true;
}

static int open_by_name(const char *fmt, int first, const char *driver)
{
	char path[64], name[64];

	for (int i = first; i < first + 64; i++) {
		int fd;

		snprintf(path, sizeof(path), fmt, i);
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (drm_driver_name(fd, name, sizeof(name)) &&
		    !strcmp(name, driver))
			return fd;
		close(fd);
	}
	errno = ENODEV;
	return -1;
}

int __drm_open_driver(const char *driver)
{
	return open_by_name("/dev/dri/card%d", 0, driver);
}

int __drm_open_driver_render(const char *driver)
{
	return open_by_name("/dev/dri/renderD%d", 128, driver);
}

int drm_open_driver(const char *driver)
{
	int fd = __drm_open_driver(driver);

	igt_require_f(fd >= 0, "no DRM device with driver '%s'\n", driver);
	return fd;
}

int drm_open_driver_render(const char *driver)
{
	int fd = __drm_open_driver_render(driver);

	igt_require_f(fd >= 0, "no DRM render node with driver '%s'\n",
		      driver);
	return fd;
}
