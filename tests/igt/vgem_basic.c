// SPDX-License-Identifier: GPL-2.0
/*
 * vgem_basic: buffers. Dumb buffers are zeroed, mmap is coherent across
 * files and PRIME, handles are per file, absurd sizes are refused.
 */
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>
#include <drm.h>
#include <xf86drm.h>

#include "drmtest.h"
#include "igt.h"
#include "vgem.h"

static void test_zeroed(int fd)
{
	struct vgem_bo bo = { .width = 256, .height = 256 };
	uint32_t *p;

	vgem_create(fd, &bo);
	p = vgem_mmap(fd, &bo, PROT_READ);
	for (size_t i = 0; i < bo.size / 4; i++)
		igt_assert_eq(p[i], 0);
	munmap(p, bo.size);
	gem_close(fd, bo.handle);
}

static void test_prime_other_file(int fd)
{
	int fd2 = drm_open_driver("vgem");
	struct vgem_bo bo = { .width = 64, .height = 64 }, bo2;
	uint32_t *a, *b;
	int dmabuf;

	vgem_create(fd, &bo);
	dmabuf = prime_handle_to_fd(fd, bo.handle);
	bo2 = bo;
	bo2.handle = prime_fd_to_handle(fd2, dmabuf);
	a = vgem_mmap(fd, &bo, PROT_READ | PROT_WRITE);
	b = vgem_mmap(fd2, &bo2, PROT_READ | PROT_WRITE);
	for (size_t i = 0; i < bo.size / 4; i++)
		a[i] = 0x01020304u * (uint32_t)i;
	for (size_t i = 0; i < bo.size / 4; i++)
		igt_assert_eq(b[i], 0x01020304u * (uint32_t)i);
	/* And back the other way. */
	b[17] = 0xdeadbeef;
	igt_assert_eq(a[17], 0xdeadbeef);
	/* The dma-buf itself maps the same pages. */
	munmap(b, bo.size);
	b = mmap(NULL, bo.size, PROT_READ, MAP_SHARED, dmabuf, 0);
	igt_assert(b != MAP_FAILED);
	igt_assert_eq(b[17], 0xdeadbeef);
	munmap(b, bo.size);
	munmap(a, bo.size);
	close(dmabuf);
	gem_close(fd2, bo2.handle);
	gem_close(fd, bo.handle);
	close(fd2);
}

static void test_prime_self(int fd)
{
	struct vgem_bo bo = { .width = 16, .height = 16 };
	int dmabuf;

	vgem_create(fd, &bo);
	dmabuf = prime_handle_to_fd(fd, bo.handle);
	/* Importing our own export gives our own handle back. */
	igt_assert_eq(prime_fd_to_handle(fd, dmabuf), bo.handle);
	close(dmabuf);
	gem_close(fd, bo.handle);
}

static void test_handles_per_file(int fd)
{
	int fd2 = drm_open_driver("vgem");
	struct vgem_bo bo = { .width = 16, .height = 16 };
	struct drm_gem_close cl;
	struct drm_mode_map_dumb m;

	vgem_create(fd, &bo);
	cl = (struct drm_gem_close){ .handle = bo.handle };
	m = (struct drm_mode_map_dumb){ .handle = bo.handle };
	do_ioctl_err(fd2, DRM_IOCTL_MODE_MAP_DUMB, &m, ENOENT);
	do_ioctl_err(fd2, DRM_IOCTL_GEM_CLOSE, &cl, EINVAL);
	gem_close(fd, bo.handle);
	close(fd2);
}

static void test_bad_sizes(int fd)
{
	struct drm_mode_create_dumb c;
	const struct { uint32_t w, h, bpp; } bad[] = {
		{ 0, 16, 32 }, { 16, 0, 32 }, { 16, 16, 0 },
		{ 0xffffffff, 2, 32 }, { 0x10000, 0x10000, 32 },
		{ 1, 1, 0xffffffff },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		c = (struct drm_mode_create_dumb){ .width = bad[i].w,
			.height = bad[i].h, .bpp = bad[i].bpp };
		do_ioctl_err(fd, DRM_IOCTL_MODE_CREATE_DUMB, &c, EINVAL);
	}
}

static void test_bad_map(int fd)
{
	struct drm_mode_map_dumb m = { .handle = 0x7fffffff };

	do_ioctl_err(fd, DRM_IOCTL_MODE_MAP_DUMB, &m, ENOENT);
}

igt_main
{
	int fd = -1;

	igt_fixture
		fd = drm_open_driver("vgem");

	igt_subtest("zeroed")
		test_zeroed(fd);
	igt_subtest("prime-other-file")
		test_prime_other_file(fd);
	igt_subtest("prime-self")
		test_prime_self(fd);
	igt_subtest("handles-per-file")
		test_handles_per_file(fd);
	igt_subtest("bad-sizes")
		test_bad_sizes(fd);
	igt_subtest("bad-map")
		test_bad_map(fd);

	igt_fixture
		close(fd);
}
