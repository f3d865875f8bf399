// SPDX-License-Identifier: GPL-2.0
/*
 * Helpers for tests of vgem.
 */
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <drm.h>
#include <drm_fourcc.h>
#include <linux/dma-buf.h>
#include <linux/sync_file.h>

#include "igt.h"
#include "vgem.h"

void vgem_create(int fd, struct vgem_bo *bo)
{
	struct drm_mode_create_dumb c = {
		.width = bo->width, .height = bo->height,
		.bpp = bo->bpp ? bo->bpp : 32,
	};

	do_ioctl(fd, DRM_IOCTL_MODE_CREATE_DUMB, &c);
	bo->handle = c.handle;
	bo->pitch = c.pitch;
	bo->size = c.size;
	bo->bpp = c.bpp;
}

void *vgem_mmap(int fd, struct vgem_bo *bo, int prot)
{
	struct drm_mode_map_dumb m = { .handle = bo->handle };
	void *p;

	do_ioctl(fd, DRM_IOCTL_MODE_MAP_DUMB, &m);
	p = mmap(NULL, bo->size, prot, MAP_SHARED, fd, m.offset);
	igt_assert(p != MAP_FAILED);
	return p;
}

void gem_close(int fd, uint32_t handle)
{
	struct drm_gem_close c = { .handle = handle };

	do_ioctl(fd, DRM_IOCTL_GEM_CLOSE, &c);
}

int prime_handle_to_fd(int fd, uint32_t handle)
{
	struct drm_prime_handle p = { .handle = handle,
				      .flags = DRM_CLOEXEC | DRM_RDWR };

	do_ioctl(fd, DRM_IOCTL_PRIME_HANDLE_TO_FD, &p);
	return p.fd;
}

uint32_t prime_fd_to_handle(int fd, int dmabuf)
{
	struct drm_prime_handle p = { .fd = dmabuf };

	do_ioctl(fd, DRM_IOCTL_PRIME_FD_TO_HANDLE, &p);
	return p.handle;
}

int __vgem_fence_attach(int fd, uint32_t handle, uint32_t flags,
			uint32_t *id)
{
	struct drm_vgem_fence_attach a = { .handle = handle, .flags = flags };

	if (igt_ioctl(fd, DRM_IOCTL_VGEM_FENCE_ATTACH, &a))
		return -errno;
	*id = a.out_fence;
	return 0;
}

uint32_t vgem_fence_attach(int fd, uint32_t handle, bool write)
{
	uint32_t id = 0;

	igt_assert_eq(__vgem_fence_attach(fd, handle,
					  write ? VGEM_FENCE_WRITE : 0, &id), 0);
	igt_assert_neq(id, 0);
	return id;
}

int __vgem_fence_signal(int fd, uint32_t id)
{
	struct drm_vgem_fence_signal s = { .fence = id };

	return igt_ioctl(fd, DRM_IOCTL_VGEM_FENCE_SIGNAL, &s) ? -errno : 0;
}

void vgem_fence_signal(int fd, uint32_t id)
{
	igt_assert_eq(__vgem_fence_signal(fd, id), 0);
}

int __vgem_fence_wait(int fd, uint32_t id, int64_t timeout_ns)
{
	struct drm_vgem_fence_wait w = { .fence = id,
					 .timeout_ns = timeout_ns };

	return igt_ioctl(fd, DRM_IOCTL_VGEM_FENCE_WAIT, &w) ? -errno : 0;
}

struct drm_vgem_submit vgem_submit_desc(struct vgem_bo *bo, uint32_t op)
{
	struct drm_vgem_submit s = {
		.handle = bo->handle,
		.op = op,
		.format = DRM_FORMAT_XRGB8888,
		.stride = bo->pitch,
		.width = bo->width,
		.height = bo->height,
		.out_fence_fd = -1,
	};

	return s;
}

int __vgem_submit(int fd, struct drm_vgem_submit *s)
{
	return igt_ioctl(fd, DRM_IOCTL_VGEM_SUBMIT, s) ? -errno : 0;
}

int vgem_submit_fd(int fd, struct drm_vgem_submit *s)
{
	s->flags |= VGEM_SUBMIT_OUT_FENCE_FD;
	igt_assert_eq(__vgem_submit(fd, s), 0);
	igt_assert_gte(s->out_fence_fd, 0);
	return s->out_fence_fd;
}

uint32_t vgem_pattern_pixel(uint32_t px, uint32_t py, uint32_t frame)
{
	uint32_t r, g, b;

	if (py < 16 && px < 512)
		return (frame >> (px / 16)) & 1 ? 0xffffffff : 0xff000000;
	r = (px + 4 * frame) & 0xff;
	g = (py + 2 * frame) & 0xff;
	b = ((px ^ py) + frame) & 0xff;
	return 0xff000000 | r << 16 | g << 8 | b;
}

bool sync_fence_busy(int fence_fd)
{
	struct pollfd p = { .fd = fence_fd, .events = POLLIN };

	return poll(&p, 1, 0) == 0;
}

bool sync_fence_wait(int fence_fd, int timeout_ms)
{
	struct pollfd p = { .fd = fence_fd, .events = POLLIN };
	int ret;

	do {
		ret = poll(&p, 1, timeout_ms);
	} while (ret < 0 && errno == EINTR);
	igt_assert_gte(ret, 0);
	return ret == 1;
}

static void sync_fence_info(int fence_fd, struct sync_fence_info *fi)
{
	struct sync_file_info info = { .num_fences = 1,
				       .sync_fence_info = (uintptr_t)fi };

	memset(fi, 0, sizeof(*fi));
	do_ioctl(fence_fd, SYNC_IOC_FILE_INFO, &info);
	igt_assert_eq(info.num_fences, 1);
}

int sync_fence_status(int fence_fd)
{
	struct sync_fence_info fi;

	sync_fence_info(fence_fd, &fi);
	return fi.status;
}

uint64_t sync_fence_timestamp(int fence_fd)
{
	struct sync_fence_info fi;

	sync_fence_info(fence_fd, &fi);
	return fi.timestamp_ns;
}

void sync_fence_names(int fence_fd, char *driver, char *timeline)
{
	struct sync_fence_info fi;

	sync_fence_info(fence_fd, &fi);
	memcpy(driver, fi.driver_name, sizeof(fi.driver_name));
	memcpy(timeline, fi.obj_name, sizeof(fi.obj_name));
}

int dmabuf_export_sync_file(int dmabuf, bool write)
{
	struct dma_buf_export_sync_file e = {
		.flags = write ? DMA_BUF_SYNC_WRITE : DMA_BUF_SYNC_READ,
		.fd = -1,
	};

	do_ioctl(dmabuf, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, &e);
	return e.fd;
}

long module_param_read(const char *module, const char *param)
{
	char path[256], buf[64] = "";
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/sys/module/%s/parameters/%s", module,
		 param);
	fd = open(path, O_RDONLY);
	igt_require_f(fd >= 0, "no %s\n", path);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	igt_assert_gt(n, 0);
	return strtol(buf, NULL, 0);
}

bool vgem_engines_read(char *buf, size_t len)
{
	char path[300];
	DIR *d = opendir("/sys/kernel/debug/dri");
	struct dirent *e;
	bool found = false;

	if (!d)
		return false;
	while (!found && (e = readdir(d))) {
		ssize_t n, got = 0;
		int fd;

		snprintf(path, sizeof(path), "/sys/kernel/debug/dri/%s/engines",
			 e->d_name);
		fd = open(path, O_RDONLY);
		if (fd < 0)
			continue;
		/* seq_file: read until the end, the buffer's size at most */
		while ((size_t)got + 1 < len &&
		       (n = read(fd, buf + got, len - 1 - got)) > 0)
			got += n;
		close(fd);
		buf[got] = 0;
		found = true;
	}
	closedir(d);
	return found;
}

bool vgem_engines_idle(char *why, size_t len)
{
	static char buf[65536];
	char *job, *end;

	if (!vgem_engines_read(buf, sizeof(buf)))
		return true;
	job = strstr(buf, "  job ");
	if (!job)
		return true;
	end = strchr(job, '\n');
	snprintf(why, len, "%.*s", end ? (int)(end - job) : (int)strlen(job),
		 job);
	return false;
}
