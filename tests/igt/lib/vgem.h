/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for tests of vgem: buffers, the fence uapi, SUBMIT, sync_files.
 * Every helper that must succeed asserts (igt_assert) on failure; the
 * __vgem_*() variants return -errno instead.
 */
#ifndef CROSSFENCE_VGEM_H
#define CROSSFENCE_VGEM_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <drm/vgem_drm.h>

struct vgem_bo {
	uint32_t handle;
	uint32_t width, height, bpp;
	uint32_t pitch;
	uint64_t size;
};

void vgem_create(int fd, struct vgem_bo *bo);
void *vgem_mmap(int fd, struct vgem_bo *bo, int prot);
void gem_close(int fd, uint32_t handle);
int prime_handle_to_fd(int fd, uint32_t handle);
uint32_t prime_fd_to_handle(int fd, int dmabuf);

int __vgem_fence_attach(int fd, uint32_t handle, uint32_t flags,
			uint32_t *id);
uint32_t vgem_fence_attach(int fd, uint32_t handle, bool write);
int __vgem_fence_signal(int fd, uint32_t id);
void vgem_fence_signal(int fd, uint32_t id);
int __vgem_fence_wait(int fd, uint32_t id, int64_t timeout_ns);

/* A SUBMIT descriptor for a whole-buffer op, ready to be tuned. */
struct drm_vgem_submit vgem_submit_desc(struct vgem_bo *bo, uint32_t op);
int __vgem_submit(int fd, struct drm_vgem_submit *s);
/* Submits and returns the out-fence sync_file fd. */
int vgem_submit_fd(int fd, struct drm_vgem_submit *s);

/* The pixel the VGEM_OP_PATTERN op writes at (px, py) for @frame. */
uint32_t vgem_pattern_pixel(uint32_t px, uint32_t py, uint32_t frame);

/* sync_file fds */
bool sync_fence_busy(int fence_fd);
/* Waits up to timeout_ms; true if signaled. */
bool sync_fence_wait(int fence_fd, int timeout_ms);
int sync_fence_status(int fence_fd);	/* 0 busy, 1 ok, <0 error */
uint64_t sync_fence_timestamp(int fence_fd);
void sync_fence_names(int fence_fd, char *driver, char *timeline);
/* DMA_BUF_IOCTL_EXPORT_SYNC_FILE; write: the fences a writer waits for. */
int dmabuf_export_sync_file(int dmabuf, bool write);

/*
 * Our vgem's debugfs "engines" file (vgem_engine.c: a line per engine,
 * then "  job seqno N ... state S ..." per job queued) into @buf, NUL
 * terminated; false if there is none (no debugfs, or another vgem). A
 * device appears under several debugfs names: one copy is read.
 */
bool vgem_engines_read(char *buf, size_t len);
/* True if no engine lists a job; if one does, its line goes in @why. */
bool vgem_engines_idle(char *why, size_t len);

/* A module parameter of a loaded module, as a number. */
long module_param_read(const char *module, const char *param);

#endif
