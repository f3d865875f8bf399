// SPDX-License-Identifier: GPL-2.0
/*
 * testbed_vgem: proves the test bed. In the guest, find the DRM device whose
 * driver is vgem (the stock one until ours exists), and check that a dumb
 * buffer written through one mapping reads back through another.
 */
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>
#include <drm.h>
#include <xf86drm.h>

#include "drmtest.h"
#include "igt.h"

static void test_version(int fd)
{
	drmVersionPtr v = drmGetVersion(fd);

	igt_assert(v);
	igt_assert_eq(strcmp(v->name, "vgem"), 0);
	igt_assert_gt(v->desc_len, 0);
	drmFreeVersion(v);
}

static void test_two_opens(int fd)
{
	int fd2 = drm_open_driver("vgem");
	struct drm_mode_create_dumb a = { .width = 16, .height = 16, .bpp = 32 };
	struct drm_gem_close cl = { 0 };

	/* A handle of one file means nothing in another. */
	do_ioctl(fd, DRM_IOCTL_MODE_CREATE_DUMB, &a);
	cl.handle = a.handle;
	do_ioctl_err(fd2, DRM_IOCTL_GEM_CLOSE, &cl, EINVAL);
	do_ioctl(fd, DRM_IOCTL_GEM_CLOSE, &cl);
	close(fd2);
}

static void test_dumb_roundtrip(int fd)
{
	struct drm_mode_create_dumb c = { .width = 64, .height = 48, .bpp = 32 };
	struct drm_mode_map_dumb m = { 0 };
	struct drm_gem_close cl = { 0 };
	uint32_t *p;

	do_ioctl(fd, DRM_IOCTL_MODE_CREATE_DUMB, &c);
	igt_assert_gte(c.pitch, 64 * 4);
	igt_assert_gte(c.size, (uint64_t)c.pitch * 48);

	m.handle = c.handle;
	do_ioctl(fd, DRM_IOCTL_MODE_MAP_DUMB, &m);
	p = mmap(NULL, c.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, m.offset);
	igt_assert(p != MAP_FAILED);
	for (size_t i = 0; i < c.size / 4; i++)
		igt_assert_eq(p[i], 0);	/* new buffers are zeroed */
	for (size_t i = 0; i < c.size / 4; i++)
		p[i] = 0x9e3779b9u * (uint32_t)i;
	munmap(p, c.size);

	p = mmap(NULL, c.size, PROT_READ, MAP_SHARED, fd, m.offset);
	igt_assert(p != MAP_FAILED);
	for (size_t i = 0; i < c.size / 4; i++)
		igt_assert_eq(p[i], 0x9e3779b9u * (uint32_t)i);
	munmap(p, c.size);

	cl.handle = c.handle;
	do_ioctl(fd, DRM_IOCTL_GEM_CLOSE, &cl);
	do_ioctl_err(fd, DRM_IOCTL_GEM_CLOSE, &cl, EINVAL);
}

static void test_bad_dumb(int fd)
{
	struct drm_mode_create_dumb c = { .width = 0, .height = 16, .bpp = 32 };

	do_ioctl_err(fd, DRM_IOCTL_MODE_CREATE_DUMB, &c, EINVAL);
	c = (struct drm_mode_create_dumb){ .width = 16, .height = 16, .bpp = 0 };
	do_ioctl_err(fd, DRM_IOCTL_MODE_CREATE_DUMB, &c, EINVAL);
	/* pitch * height does not fit in 32 bits */
	c = (struct drm_mode_create_dumb){ .width = 0x10000, .height = 0x10000,
					   .bpp = 32 };
	do_ioctl_err(fd, DRM_IOCTL_MODE_CREATE_DUMB, &c, EINVAL);
}

igt_main
{
	int fd = -1;

	igt_fixture
		fd = drm_open_driver("vgem");

	igt_subtest("version")
		test_version(fd);
	igt_subtest("two-opens")
		test_two_opens(fd);
	igt_subtest("dumb-roundtrip")
		test_dumb_roundtrip(fd);
	igt_subtest("bad-dumb")
		test_bad_dumb(fd);

	igt_fixture
		close(fd);
}
