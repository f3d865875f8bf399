// SPDX-License-Identifier: GPL-2.0
/*
 * vgem_fence: the upstream vgem fence uapi (FENCE_ATTACH, FENCE_SIGNAL),
 * every rule and errno, and that stock consumers honour the fences: poll
 * on the dma-buf fd and DMA_BUF_IOCTL_EXPORT_SYNC_FILE.
 */
#include <poll.h>
#include <unistd.h>
#include <drm.h>

#include "drmtest.h"
#include "igt.h"
#include "vgem.h"

static struct vgem_bo new_bo(int fd)
{
	struct vgem_bo bo = { .width = 16, .height = 16 };

	vgem_create(fd, &bo);
	return bo;
}

static void test_bad_args(int fd)
{
	struct vgem_bo bo = new_bo(fd);
	struct drm_vgem_fence_attach a = { .handle = bo.handle, .flags = 2 };
	struct drm_vgem_fence_signal s = { .fence = 0 };
	uint32_t id;

	do_ioctl_err(fd, DRM_IOCTL_VGEM_FENCE_ATTACH, &a, EINVAL);
	a = (struct drm_vgem_fence_attach){ .handle = bo.handle, .pad = 1 };
	do_ioctl_err(fd, DRM_IOCTL_VGEM_FENCE_ATTACH, &a, EINVAL);
	a = (struct drm_vgem_fence_attach){ .handle = bo.handle + 100 };
	do_ioctl_err(fd, DRM_IOCTL_VGEM_FENCE_ATTACH, &a, ENOENT);

	do_ioctl_err(fd, DRM_IOCTL_VGEM_FENCE_SIGNAL, &s, ENOENT);
	s.fence = 12345;
	do_ioctl_err(fd, DRM_IOCTL_VGEM_FENCE_SIGNAL, &s, ENOENT);
	id = vgem_fence_attach(fd, bo.handle, true);
	s = (struct drm_vgem_fence_signal){ .fence = id, .flags = 1 };
	do_ioctl_err(fd, DRM_IOCTL_VGEM_FENCE_SIGNAL, &s, EINVAL);
	vgem_fence_signal(fd, id);
	/* Signaled ids are gone. */
	igt_assert_eq(__vgem_fence_signal(fd, id), -ENOENT);
	gem_close(fd, bo.handle);
}

static void test_busy(int fd)
{
	struct vgem_bo bo = new_bo(fd);
	uint32_t w, r1, r2, id;

	/* A writer excludes everyone. */
	w = vgem_fence_attach(fd, bo.handle, true);
	igt_assert_eq(__vgem_fence_attach(fd, bo.handle, VGEM_FENCE_WRITE, &id),
		      -EBUSY);
	igt_assert_eq(__vgem_fence_attach(fd, bo.handle, 0, &id), -EBUSY);
	vgem_fence_signal(fd, w);

	/* Readers share; a writer waits for them. */
	r1 = vgem_fence_attach(fd, bo.handle, false);
	r2 = vgem_fence_attach(fd, bo.handle, false);
	igt_assert_neq(r1, r2);
	igt_assert_eq(__vgem_fence_attach(fd, bo.handle, VGEM_FENCE_WRITE, &id),
		      -EBUSY);
	vgem_fence_signal(fd, r1);
	igt_assert_eq(__vgem_fence_attach(fd, bo.handle, VGEM_FENCE_WRITE, &id),
		      -EBUSY);
	vgem_fence_signal(fd, r2);
	w = vgem_fence_attach(fd, bo.handle, true);
	vgem_fence_signal(fd, w);
	gem_close(fd, bo.handle);
}

static void test_ids_per_file(int fd)
{
	int fd2 = drm_open_driver("vgem");
	struct vgem_bo bo = new_bo(fd);
	uint32_t id = vgem_fence_attach(fd, bo.handle, true);

	/* One client cannot signal another's fence. */
	igt_assert_eq(__vgem_fence_signal(fd2, id), -ENOENT);
	igt_assert_eq(__vgem_fence_wait(fd2, id, 0), -ENOENT);
	vgem_fence_signal(fd, id);
	close(fd2);
	gem_close(fd, bo.handle);
}

static short dmabuf_poll(int dmabuf, short events)
{
	struct pollfd p = { .fd = dmabuf, .events = events };

	igt_assert_gte(poll(&p, 1, 0), 0);
	return p.revents;
}

static void test_poll_dmabuf(int fd)
{
	struct vgem_bo bo = new_bo(fd);
	int dmabuf = prime_handle_to_fd(fd, bo.handle);
	uint32_t id;

	igt_assert(dmabuf_poll(dmabuf, POLLIN) & POLLIN);
	igt_assert(dmabuf_poll(dmabuf, POLLOUT) & POLLOUT);

	/* A write fence: readers (POLLIN) and writers (POLLOUT) wait. */
	id = vgem_fence_attach(fd, bo.handle, true);
	igt_assert_eq(dmabuf_poll(dmabuf, POLLIN), 0);
	igt_assert_eq(dmabuf_poll(dmabuf, POLLOUT), 0);
	vgem_fence_signal(fd, id);
	igt_assert(dmabuf_poll(dmabuf, POLLIN) & POLLIN);
	igt_assert(dmabuf_poll(dmabuf, POLLOUT) & POLLOUT);

	/* A read fence: only writers wait. */
	id = vgem_fence_attach(fd, bo.handle, false);
	igt_assert(dmabuf_poll(dmabuf, POLLIN) & POLLIN);
	igt_assert_eq(dmabuf_poll(dmabuf, POLLOUT), 0);
	vgem_fence_signal(fd, id);
	igt_assert(dmabuf_poll(dmabuf, POLLOUT) & POLLOUT);

	close(dmabuf);
	gem_close(fd, bo.handle);
}

static void test_export_sync_file(int fd)
{
	struct vgem_bo bo = new_bo(fd);
	int dmabuf = prime_handle_to_fd(fd, bo.handle);
	uint32_t id = vgem_fence_attach(fd, bo.handle, true);
	int sync = dmabuf_export_sync_file(dmabuf, false);

	igt_assert(sync_fence_busy(sync));
	igt_assert_eq(sync_fence_status(sync), 0);
	vgem_fence_signal(fd, id);
	igt_assert(!sync_fence_busy(sync));
	igt_assert_eq(sync_fence_status(sync), 1);
	igt_assert_gt(sync_fence_timestamp(sync), 0);
	close(sync);
	close(dmabuf);
	gem_close(fd, bo.handle);
}

static void test_wait_ioctl(int fd)
{
	struct vgem_bo bo = new_bo(fd);
	uint32_t id = vgem_fence_attach(fd, bo.handle, true);
	struct drm_vgem_fence_wait w = { .fence = id, .flags = 1 };

	igt_assert_eq(__vgem_fence_wait(fd, id, 0), -ETIME);
	igt_assert_eq(__vgem_fence_wait(fd, id, 1000000), -ETIME);
	do_ioctl_err(fd, DRM_IOCTL_VGEM_FENCE_WAIT, &w, EINVAL);
	w = (struct drm_vgem_fence_wait){ .fence = id, .timeout_ns = -1 };
	do_ioctl_err(fd, DRM_IOCTL_VGEM_FENCE_WAIT, &w, EINVAL);
	igt_assert_eq(__vgem_fence_wait(fd, 999999, 0), -ENOENT);
	vgem_fence_signal(fd, id);
	gem_close(fd, bo.handle);
}

static void test_close_signals(int fd)
{
	int fd2 = drm_open_driver("vgem");
	struct vgem_bo bo = new_bo(fd);
	int dmabuf = prime_handle_to_fd(fd, bo.handle);
	uint32_t h2 = prime_fd_to_handle(fd2, dmabuf);
	int sync;

	/* fd2 attaches and goes away without signaling. */
	vgem_fence_attach(fd2, h2, true);
	sync = dmabuf_export_sync_file(dmabuf, false);
	igt_assert(sync_fence_busy(sync));
	close(fd2);
	igt_assert(!sync_fence_busy(sync));
	close(sync);
	close(dmabuf);
	gem_close(fd, bo.handle);
}

/* An unsignaled fence expires after 10 s; signaling it then: ETIMEDOUT. */
static void test_expiry(int fd)
{
	struct vgem_bo bo = new_bo(fd);
	int dmabuf = prime_handle_to_fd(fd, bo.handle);
	uint32_t id = vgem_fence_attach(fd, bo.handle, true);
	int sync = dmabuf_export_sync_file(dmabuf, false);

	igt_set_timeout(60);
	igt_assert(sync_fence_busy(sync));
	igt_assert(sync_fence_wait(sync, 30000));
	igt_assert_eq(__vgem_fence_signal(fd, id), -ETIMEDOUT);
	igt_assert_eq(__vgem_fence_signal(fd, id), -ENOENT);
	close(sync);
	close(dmabuf);
	gem_close(fd, bo.handle);
}

igt_main
{
	int fd = -1;

	igt_fixture
		fd = drm_open_driver("vgem");

	igt_subtest("bad-args")
		test_bad_args(fd);
	igt_subtest("busy")
		test_busy(fd);
	igt_subtest("ids-per-file")
		test_ids_per_file(fd);
	igt_subtest("poll-dmabuf")
		test_poll_dmabuf(fd);
	igt_subtest("export-sync-file")
		test_export_sync_file(fd);
	igt_subtest("wait-ioctl")
		test_wait_ioctl(fd);
	igt_subtest("close-signals")
		test_close_signals(fd);
	igt_subtest("expiry")
		test_expiry(fd);

	igt_fixture
		close(fd);
}
