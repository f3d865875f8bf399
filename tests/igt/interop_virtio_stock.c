// SPDX-License-Identifier: GPL-2.0
/*
 * interop_virtio_stock: a stock driver's fences consumed by ours. A buffer
 * of the stock virtio_gpu driver (QEMU's virtio-gpu) is exported as a
 * dma-buf and imported into vgem and into vkms; a VGEM_SUBMIT that reads
 * it and a vkms flip that shows it must wait for virtio_gpu's fence on it,
 * implicitly (the fence in the dma-buf's reservation) and explicitly (the
 * same fence as a sync_file: an in-fence of the job, the IN_FENCE_FD of
 * the flip), through crossfence's dma_fence bridge.
 *
 * Where virtio_gpu (6.1, QEMU without virgl) puts a fence on a buffer:
 *  - DRM_IOCTL_VIRTGPU_TRANSFER_TO_HOST: only with virgl. Without it the
 *    ioctl queues the 2D transfer with no fence at all
 *    (virtio_gpu_transfer_to_host_ioctl()): subtest transfer-ioctl-fence
 *    checks and skips, saying so.
 *  - VIRTGPU_EXECBUFFER with VIRTGPU_EXECBUF_FENCE_FD_OUT: only with virgl
 *    (ENOSYS otherwise): subtest execbuf-out-fence skips, saying so.
 *  - An atomic update of the cursor plane to a new dumb framebuffer: the
 *    2D transfer of the cursor image is fenced, and that fence goes into
 *    the buffer's reservation as its write fence
 *    (virtio_gpu_cursor_plane_update()), and the commit waits for it. This
 *    is the fence the other subtests use.
 *
 * That fence lives from the queuing of the transfer to QEMU's completion
 * interrupt: the test cannot hold it back. So each attempt flips the
 * virtio-gpu cursor (nonblocking), catches the fence on the dma-buf while
 * it is unsignaled, hands it to our consumer at once, and afterwards reads
 * the fence's signal time. An attempt is decisive when the fence signaled
 * after our consumer had taken it (after the submit returned). Then:
 *  - vgem: the job's fence signals no earlier than the virtio fence's
 *    signal plus the job's duration (a job that did not wait would have
 *    signaled at its submit time plus its duration, before that);
 *  - vkms: right after the commit the flip is counted in vkms's
 *    gated_pending (waiting for a fence; a flip whose fences have all
 *    signaled is armed inside the ioctl), and its flip event is no earlier
 *    than the virtio fence's signal.
 * One decisive attempt is the proof: a consumer that did not wait fails
 * those checks in it. QEMU wins the race in most attempts (runs here got
 * 0 to 5 decisive ones in 1000, typically 3), so each subtest stops at
 * its first decisive attempt, or after MAX_ATTEMPTS, and skips, with the
 * counts, if QEMU always won.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>
#include <linux/sync_file.h>
#include <virtgpu_drm.h>

#include "drmtest.h"
#include "igt.h"
#include "kms.h"
#include "vgem.h"
#include "virtio_gpu.h"

#define CURSOR 64
#define JOB_NS (10 * 1000 * 1000ull)
#define MAX_ATTEMPTS 1000
#define DECISIVE 1

enum consumer { VGEM_IMPLICIT, VGEM_EXPLICIT, VKMS_IMPLICIT, VKMS_EXPLICIT };

struct sctx {
	/* virtio_gpu: its output, and the cursor buffer shared with ours */
	struct kms_dev v;
	drmModeModeInfo vmode;
	struct kms_fb vprim;
	struct kms_fb cur;		/* dumb, with framebuffer cur.id */
	uint32_t cur_fb[2];		/* two framebuffers of that buffer */
	int cur_next;
	int dmabuf;
	/* vgem: the import, and a buffer for the jobs to write */
	int vgem;
	struct vgem_bo vsrc;		/* the import of cur */
	struct vgem_bo dst;
	/* vkms: an output, the import on its cursor plane */
	struct kms_dev vk;
	struct kms_fb vk_fb[2];
	uint32_t vk_handle;
	uint32_t vk_cur_fb[2];
	int vk_next, vk_cur_next;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* The driver of a sync_file's first fence and whether it has signaled. */
static bool fence_peek(int fd, char *driver, size_t len)
{
	struct sync_fence_info fi[4];
	struct sync_file_info info = {
		.num_fences = 4, .sync_fence_info = (uintptr_t)fi,
	};

	memset(fi, 0, sizeof(fi));
	do_ioctl(fd, SYNC_IOC_FILE_INFO, &info);
	fi[0].driver_name[sizeof(fi[0].driver_name) - 1] = 0;
	snprintf(driver, len, "%s", fi[0].driver_name);
	return info.status == 1;
}

static void setup_virtio(struct sctx *s)
{
	drmModeModeInfo *m = &s->vmode;

	vgpu_open(&s->v, m);
	igt_require_f(s->v.out[0].cursor, "virtio_gpu has no cursor plane\n");
	kms_fb_create(s->v.fd, m->hdisplay, m->vdisplay, DRM_FORMAT_XRGB8888,
		      &s->vprim);
	kms_fb_fill(&s->vprim, kms_rgb8(0xff, 0x10, 0x10, 0x40));
	kms_modeset(&s->v, &s->v.out[0], m, &s->vprim);

	kms_fb_create(s->v.fd, CURSOR, CURSOR, DRM_FORMAT_ARGB8888, &s->cur);
	kms_fb_fill(&s->cur, kms_rgb8(0xff, 0xff, 0xff, 0x00));
	s->cur_fb[0] = s->cur.id;
	igt_assert_eq(__kms_fb_add(s->v.fd, CURSOR, CURSOR,
				   DRM_FORMAT_ARGB8888, s->cur.handle,
				   s->cur.pitch, &s->cur_fb[1]), 0);
	s->dmabuf = prime_handle_to_fd(s->v.fd, s->cur.handle);
}

static void setup_vgem(struct sctx *s)
{
	s->vgem = drm_open_driver("vgem");
	s->vsrc.handle = prime_fd_to_handle(s->vgem, s->dmabuf);
	s->vsrc.width = CURSOR;
	s->vsrc.height = CURSOR;
	s->vsrc.bpp = 32;
	s->vsrc.pitch = s->cur.pitch;
	s->vsrc.size = s->cur.size;
	s->dst.width = CURSOR;
	s->dst.height = CURSOR;
	vgem_create(s->vgem, &s->dst);
}

static void setup_vkms(struct sctx *s)
{
	drmModeModeInfo mode = kms_mode(640, 480);
	const struct kms_output *o;

	kms_open(&s->vk);
	o = &s->vk.out[0];
	igt_require_f(o->cursor, "vkms has no cursor plane\n");
	for (int i = 0; i < 2; i++) {
		kms_fb_create(s->vk.fd, 640, 480, DRM_FORMAT_XRGB8888,
			      &s->vk_fb[i]);
		kms_fb_fill(&s->vk_fb[i], kms_rgb8(0xff, 0, 0x40 * i, 0));
	}
	kms_modeset(&s->vk, o, &mode, &s->vk_fb[0]);
	s->vk_next = 1;
	s->vk_handle = prime_fd_to_handle(s->vk.fd, s->dmabuf);
	for (int i = 0; i < 2; i++)
		igt_assert_eq(__kms_fb_add(s->vk.fd, CURSOR, CURSOR,
					   DRM_FORMAT_ARGB8888, s->vk_handle,
					   s->cur.pitch, &s->vk_cur_fb[i]), 0);
}

static void teardown(struct sctx *s)
{
	if (s->vk.fd >= 0) {
		kms_disable(&s->vk, &s->vk.out[0]);
		for (int i = 0; i < 2; i++) {
			drmModeRmFB(s->vk.fd, s->vk_cur_fb[i]);
			kms_fb_destroy(&s->vk_fb[i]);
		}
		gem_close(s->vk.fd, s->vk_handle);
		kms_close(&s->vk);
	}
	if (s->vgem >= 0) {
		gem_close(s->vgem, s->vsrc.handle);
		gem_close(s->vgem, s->dst.handle);
		close(s->vgem);
	}
	if (s->v.fd >= 0) {
		kms_disable(&s->v, &s->v.out[0]);
		close(s->dmabuf);
		drmModeRmFB(s->v.fd, s->cur_fb[1]);
		kms_fb_destroy(&s->cur);
		kms_fb_destroy(&s->vprim);
		kms_close(&s->v);
	}
}

/* A nonblocking virtio-gpu cursor update to the other framebuffer. */
static void virtio_cursor_flip(struct sctx *s)
{
	struct kms_req *req = kms_req_new(&s->v);
	const struct kms_output *o = &s->v.out[0];

	kms_req_plane(req, o->cursor, o->crtc_id, s->cur_fb[s->cur_next],
		      0, 0, 32, 32, CURSOR, CURSOR);
	igt_assert_eq(kms_req_commit_data(req, DRM_MODE_ATOMIC_NONBLOCK |
					  DRM_MODE_PAGE_FLIP_EVENT, 0xc0), 0);
	kms_req_free(req);
	s->cur_next ^= 1;
}

static void virtio_flip_done(struct sctx *s)
{
	struct kms_event ev;

	igt_assert_f(kms_read_event(s->v.fd, 10000, &ev),
		     "no virtio-gpu cursor flip event\n");
	igt_assert_eq(ev.user_data, 0xc0);
}

/*
 * Flip the virtio-gpu cursor and catch its transfer fence on the dma-buf
 * while it is unsignaled: a sync_file of it, or -1 if it had signaled
 * (the flip then completed).
 */
static int catch_virtio_fence(struct sctx *s)
{
	char driver[32];

	virtio_cursor_flip(s);
	for (;;) {
		int f = dmabuf_export_sync_file(s->dmabuf, false);

		if (!fence_peek(f, driver, sizeof(driver)) &&
		    !strcmp(driver, "virtio_gpu"))
			return f;
		close(f);
		if (kms_event_ready(s->v.fd)) {
			virtio_flip_done(s);
			return -1;
		}
	}
}

static int vgem_consume(struct sctx *s, enum consumer c, int fence)
{
	struct drm_vgem_submit sub;

	if (c == VGEM_IMPLICIT) {
		/* Reads the virtio-gpu buffer: waits for its write fence. */
		sub = vgem_submit_desc(&s->dst, VGEM_OP_COPY);
		sub.src_handle = s->vsrc.handle;
		sub.src_stride = s->vsrc.pitch;
	} else {
		sub = vgem_submit_desc(&s->dst, VGEM_OP_FILL);
		sub.color = 0xff00ff00;
		sub.in_fences = (uintptr_t)&fence;
		sub.num_in_fences = 1;
		sub.flags = VGEM_SUBMIT_NO_IMPLICIT;
	}
	sub.duration_ns = JOB_NS;
	return vgem_submit_fd(s->vgem, &sub);
}

static void vkms_consume(struct sctx *s, enum consumer c, int fence)
{
	const struct kms_output *o = &s->vk.out[0];
	struct kms_req *req = kms_req_new(&s->vk);

	if (c == VKMS_IMPLICIT) {
		/* Shows the virtio-gpu buffer: waits for its write fence. */
		kms_req_plane(req, o->cursor, o->crtc_id,
			      s->vk_cur_fb[s->vk_cur_next], 0, 0, 8, 8,
			      CURSOR, CURSOR);
		s->vk_cur_next ^= 1;
	} else {
		kms_req_set(req, o->primary, "FB_ID", s->vk_fb[s->vk_next].id);
		kms_req_set(req, o->primary, "IN_FENCE_FD", fence);
		/*
		 * The cursor plane may still show the virtio-gpu buffer: off,
		 * so that its implicit fence plays no part.
		 */
		kms_req_plane_off(req, o->cursor);
		s->vk_next ^= 1;
	}
	igt_assert_eq(kms_req_commit_data(req, DRM_MODE_ATOMIC_NONBLOCK |
					  DRM_MODE_PAGE_FLIP_EVENT, 0x5c), 0);
	kms_req_free(req);
}

static void test_stock_fence(struct sctx *s, enum consumer c)
{
	bool on_vgem = c == VGEM_IMPLICIT || c == VGEM_EXPLICIT;
	int attempts, caught = 0, decisive = 0;

	for (attempts = 0; attempts < MAX_ATTEMPTS && decisive < DECISIVE;
	     attempts++) {
		uint64_t t_taken, t_virtio, pending = 0;
		struct kms_event ev;
		int f, job = -1;

		f = catch_virtio_fence(s);
		if (f < 0)
			continue;
		caught++;
		if (on_vgem) {
			job = vgem_consume(s, c, f);
		} else {
			vkms_consume(s, c, f);
			pending = kms_stat(&s->vk, 0, "gated_pending");
		}
		t_taken = now_ns();

		igt_assert(sync_fence_wait(f, 10000));
		t_virtio = sync_fence_timestamp(f);
		igt_assert_eq(sync_fence_status(f), 1);
		virtio_flip_done(s);
		if (t_virtio > t_taken)
			decisive++;

		if (on_vgem) {
			uint64_t t_job;

			igt_assert(sync_fence_wait(job, 10000));
			igt_assert_eq(sync_fence_status(job), 1);
			t_job = sync_fence_timestamp(job);
			igt_assert_f(t_job >= t_virtio + JOB_NS,
				     "vgem job signaled at %llu, the virtio-gpu fence at %llu: the job did not wait for it\n",
				     (unsigned long long)t_job,
				     (unsigned long long)t_virtio);
			close(job);
		} else {
			igt_assert(kms_read_event(s->vk.fd, 10000, &ev));
			igt_assert_eq(ev.user_data, 0x5c);
			igt_assert_f(ev.ts_ns >= t_virtio,
				     "vkms latched at %llu, before the virtio-gpu fence signaled at %llu\n",
				     (unsigned long long)ev.ts_ns,
				     (unsigned long long)t_virtio);
			if (t_virtio > t_taken)
				igt_assert_f(pending >= 1,
					     "the virtio-gpu fence was unsignaled after the vkms commit, but vkms had not gated the flip on it\n");
		}
		close(f);
	}
	igt_info("%d attempts: the virtio_gpu fence caught unsignaled %d times, still unsignaled after our consumer took it %d times\n",
		 attempts, caught, decisive);
	igt_require_f(decisive >= DECISIVE,
		      "QEMU completed the virtio-gpu transfer before our consumer took its fence in all %d attempts: nothing proves the wait\n",
		      attempts);
}

/* 6.1's 2D TRANSFER_TO_HOST puts no fence on the buffer: say so. */
static void test_transfer_ioctl(struct sctx *s)
{
	struct kms_fb bo;
	struct drm_virtgpu_3d_transfer_to_host t = { 0 };
	char driver[32];
	int dmabuf, f, job;
	uint64_t t_virtio;

	kms_fb_create(s->v.fd, CURSOR, CURSOR, DRM_FORMAT_XRGB8888, &bo);
	dmabuf = prime_handle_to_fd(s->v.fd, bo.handle);
	t.bo_handle = bo.handle;
	t.box.w = CURSOR;
	t.box.h = CURSOR;
	t.box.d = 1;
	do_ioctl(s->v.fd, DRM_IOCTL_VIRTGPU_TRANSFER_TO_HOST, &t);
	f = dmabuf_export_sync_file(dmabuf, false);
	fence_peek(f, driver, sizeof(driver));
	if (strcmp(driver, "virtio_gpu")) {
		close(f);
		close(dmabuf);
		kms_fb_destroy(&bo);
		igt_skip("DRM_IOCTL_VIRTGPU_TRANSFER_TO_HOST left no virtio_gpu fence on the buffer (found '%s'): on 6.1 without virgl (3D features %d) the ioctl queues the 2D transfer unfenced; the cursor-update fence is used instead\n",
			 driver, vgpu_has_3d(s->v.fd));
	}
	/* With virgl: the transfer fence gates a vgem job. */
	job = vgem_consume(s, VGEM_EXPLICIT, f);
	igt_assert(sync_fence_wait(job, 10000));
	t_virtio = sync_fence_timestamp(f);
	igt_assert(sync_fence_timestamp(job) >= t_virtio + JOB_NS);
	close(job);
	close(f);
	close(dmabuf);
	kms_fb_destroy(&bo);
}

/* A virtio-gpu sync_file out of EXECBUFFER: virgl only. */
static void test_execbuf(struct sctx *s)
{
	struct drm_virtgpu_execbuffer eb = {
		.flags = VIRTGPU_EXECBUF_FENCE_FD_OUT,
		.fence_fd = -1,
	};
	uint32_t handle = s->cur.handle;
	char driver[32];
	int job, ret;

	eb.bo_handles = (uintptr_t)&handle;
	eb.num_bo_handles = 1;
	ret = igt_ioctl(s->v.fd, DRM_IOCTL_VIRTGPU_EXECBUFFER, &eb);
	if (!vgpu_has_3d(s->v.fd)) {
		igt_assert_eq(ret, -1);
		igt_assert_eq(errno, ENOSYS);
		igt_skip("VIRTGPU_EXECBUFFER returns ENOSYS: the device has no virgl 3D (QEMU's virtio-gpu-pci; virtio-gpu-gl needs a GL display, none here), so 6.1 gives no virtio-gpu sync_file out-fence\n");
	}
	igt_assert_eq(ret, 0);
	igt_assert_lte(0, eb.fence_fd);
	fence_peek(eb.fence_fd, driver, sizeof(driver));
	igt_assert_eq(strcmp(driver, "virtio_gpu"), 0);
	job = vgem_consume(s, VGEM_EXPLICIT, eb.fence_fd);
	igt_assert(sync_fence_wait(job, 10000));
	igt_assert(sync_fence_timestamp(job) >=
		   sync_fence_timestamp(eb.fence_fd) + JOB_NS);
	close(job);
	close(eb.fence_fd);
}

igt_main
{
	struct sctx s = { .v.fd = -1, .vk.fd = -1, .vgem = -1 };

	igt_fixture {
		setup_virtio(&s);
		setup_vgem(&s);
		setup_vkms(&s);
	}

	igt_subtest("vgem-implicit")
		test_stock_fence(&s, VGEM_IMPLICIT);
	igt_subtest("vgem-explicit")
		test_stock_fence(&s, VGEM_EXPLICIT);
	igt_subtest("vkms-implicit")
		test_stock_fence(&s, VKMS_IMPLICIT);
	igt_subtest("vkms-explicit")
		test_stock_fence(&s, VKMS_EXPLICIT);
	igt_subtest("transfer-ioctl-fence")
		test_transfer_ioctl(&s);
	igt_subtest("execbuf-out-fence")
		test_execbuf(&s);

	igt_fixture
		teardown(&s);
}
