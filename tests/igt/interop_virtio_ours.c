// SPDX-License-Identifier: GPL-2.0
/*
 * interop_virtio_ours: our fences consumed by a stock driver. A fence made
 * by crossfence (a VGEM_SUBMIT job's out-fence, a vkms OUT_FENCE_PTR
 * fence) is the IN_FENCE_FD of a nonblocking atomic flip on the stock
 * virtio_gpu driver (QEMU's virtio-gpu), of a virtio-gpu buffer. The stock
 * DRM helpers wait for it through the dma_fence our bridge exports: the
 * flip event must not come while our fence is unsignaled, and must come
 * after it signals. Each fence is held back by a gate the test opens
 * itself (a vgem FENCE_ATTACH fence it signals), so "unsignaled" is known,
 * not hoped for.
 *
 * A fence that signals with an error: drm_atomic_helper_wait_for_fences()
 * (6.1) waits with dma_fence_wait() and ignores the fence's error, so the
 * flip goes ahead once the fence has signaled, error or not.
 *
 * Needs the virtio-gpu device (scripts/vm/run --gpu virtio); skips, saying
 * so, without it.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drmtest.h"
#include "igt.h"
#include "kms.h"
#include "vgem.h"
#include "virtio_gpu.h"

/* How long the test watches for a flip event that must not come. */
#define QUIET_MS 300

struct vctx {
	struct kms_dev dev;
	drmModeModeInfo mode;
	struct kms_fb fb[2];
	int next;
};

static void vctx_init(struct vctx *v)
{
	vgpu_open(&v->dev, &v->mode);
	for (int i = 0; i < 2; i++) {
		kms_fb_create(v->dev.fd, v->mode.hdisplay, v->mode.vdisplay,
			      DRM_FORMAT_XRGB8888, &v->fb[i]);
		kms_fb_fill(&v->fb[i], i ? kms_rgb8(0xff, 0x20, 0x80, 0xff) :
				       kms_rgb8(0xff, 0xff, 0x80, 0x20));
	}
	kms_modeset(&v->dev, &v->dev.out[0], &v->mode, &v->fb[0]);
	v->next = 1;
}

static void vctx_fini(struct vctx *v)
{
	if (v->dev.fd < 0)
		return;
	kms_disable(&v->dev, &v->dev.out[0]);
	for (int i = 0; i < 2; i++)
		kms_fb_destroy(&v->fb[i]);
	kms_close(&v->dev);
}

/* A nonblocking virtio-gpu flip to the other buffer, gated by @fence. */
static void virtio_flip(struct vctx *v, int fence, uint64_t data)
{
	struct kms_req *req = kms_req_new(&v->dev);

	kms_req_set(req, v->dev.out[0].primary, "FB_ID", v->fb[v->next].id);
	kms_req_set(req, v->dev.out[0].primary, "IN_FENCE_FD", fence);
	igt_assert_eq(kms_req_commit_data(req, DRM_MODE_ATOMIC_NONBLOCK |
					  DRM_MODE_PAGE_FLIP_EVENT, data), 0);
	kms_req_free(req);
	v->next ^= 1;
}

/*
 * The flip is held: no event for QUIET_MS while @fence stays unsignaled
 * (checked after, so the whole window is covered).
 */
static void assert_held(struct vctx *v, int fence)
{
	struct kms_event ev;

	igt_assert_f(!kms_read_event(v->dev.fd, QUIET_MS, &ev),
		     "virtio-gpu flip event while our fence is unsignaled\n");
	igt_assert_f(sync_fence_busy(fence),
		     "the gate did not hold our fence back\n");
}

/* The flip comes, and not before @fence signaled. */
static void assert_flipped_after(struct vctx *v, int fence, uint64_t data)
{
	struct kms_event ev;
	uint64_t signaled;

	igt_assert_f(kms_read_event(v->dev.fd, 10000, &ev),
		     "no virtio-gpu flip event after our fence signaled\n");
	igt_assert_eq(ev.type, DRM_EVENT_FLIP_COMPLETE);
	igt_assert_eq(ev.user_data, data);
	igt_assert(!sync_fence_busy(fence));
	signaled = sync_fence_timestamp(fence);
	igt_assert_f(ev.ts_ns >= signaled,
		     "flip event at %llu ns, our fence signaled at %llu ns\n",
		     (unsigned long long)ev.ts_ns,
		     (unsigned long long)signaled);
	igt_info("our fence signaled, virtio-gpu flip event %.3f ms later\n",
		 (ev.ts_ns - signaled) / 1e6);
}

/* A small vgem buffer whose write fence we signal by hand: the gate. */
struct gate {
	int vgem;
	struct vgem_bo bo;
	uint32_t id;
};

static void gate_close(struct gate *g)
{
	g->bo.width = 16;
	g->bo.height = 16;
	g->bo.bpp = 32;
	vgem_create(g->vgem, &g->bo);
	g->id = vgem_fence_attach(g->vgem, g->bo.handle, true);
}

static void gate_open(struct gate *g)
{
	vgem_fence_signal(g->vgem, g->id);
}

/*
 * A VGEM_SUBMIT job that copies the gate buffer (so it waits for the
 * gate's write fence) into @dst; its out-fence.
 */
static int gated_job(struct gate *g, struct vgem_bo *dst, uint32_t flags)
{
	struct drm_vgem_submit s = vgem_submit_desc(dst, VGEM_OP_COPY);

	s.width = g->bo.width;
	s.height = g->bo.height;
	s.src_handle = g->bo.handle;
	s.src_stride = g->bo.pitch;
	s.duration_ns = 5 * 1000 * 1000;
	s.flags = flags;
	return vgem_submit_fd(g->vgem, &s);
}

static void test_vgem_submit(struct vctx *v, int vgem, uint32_t flags)
{
	struct gate g = { .vgem = vgem };
	struct vgem_bo dst = { .width = 16, .height = 16, .bpp = 32 };
	int job, status;

	vgem_create(vgem, &dst);
	gate_close(&g);
	job = gated_job(&g, &dst, flags);
	igt_assert(sync_fence_busy(job));

	virtio_flip(v, job, 0x5a);
	assert_held(v, job);
	gate_open(&g);
	if (flags & VGEM_SUBMIT_HANG)
		igt_info("the job hangs: vgem's hang check (hang_ms %ld) signals it with an error\n",
			 module_param_read("vgem", "hang_ms"));
	assert_flipped_after(v, job, 0x5a);
	status = sync_fence_status(job);
	if (flags & VGEM_SUBMIT_HANG) {
		/* DRM ignores the error: the flip went ahead (above). */
		igt_assert_eq(status, -ETIMEDOUT);
		igt_info("fence error %d: the flip went ahead, as drm_atomic_helper_wait_for_fences() does\n",
			 status);
	} else {
		igt_assert_eq(status, 1);
	}
	close(job);
	gem_close(vgem, dst.handle);
	gem_close(vgem, g.bo.handle);
}

/*
 * vkms's OUT_FENCE_PTR fence of a flip that is itself held back by the
 * gate (the implicit write fence of the vgem buffer it shows).
 */
static void test_vkms_out_fence(struct vctx *v, int vgem)
{
	struct kms_dev vk;
	const struct kms_output *o;
	drmModeModeInfo mode = kms_mode(640, 480);
	struct kms_vgem_bo bo;
	struct kms_fb first;
	struct kms_event ev;
	struct kms_req *req;
	struct gate g = { .vgem = vgem };
	int32_t out_fence = -1;

	kms_open(&vk);
	o = &vk.out[0];
	kms_fb_create(vk.fd, 640, 480, DRM_FORMAT_XRGB8888, &first);
	kms_fb_fill(&first, kms_rgb8(0xff, 0, 0, 0));
	kms_modeset(&vk, o, &mode, &first);
	kms_vgem_bo_create(&vk, vgem, 640, 480, DRM_FORMAT_XRGB8888, &bo);
	g.id = vgem_fence_attach(vgem, bo.handle, true);

	req = kms_req_new(&vk);
	kms_req_set(req, o->primary, "FB_ID", bo.fb_id);
	kms_req_set(req, o->crtc_id, "OUT_FENCE_PTR",
		    (uint64_t)(uintptr_t)&out_fence);
	igt_assert_eq(kms_req_commit_data(req, DRM_MODE_ATOMIC_NONBLOCK |
					  DRM_MODE_PAGE_FLIP_EVENT, 0x77), 0);
	kms_req_free(req);
	igt_assert_lte(0, out_fence);
	igt_assert(sync_fence_busy(out_fence));

	virtio_flip(v, out_fence, 0xa5);
	assert_held(v, out_fence);
	/* The vkms flip is held as well. */
	igt_assert(!kms_event_ready(vk.fd));
	vgem_fence_signal(vgem, g.id);
	assert_flipped_after(v, out_fence, 0xa5);
	igt_assert_eq(sync_fence_status(out_fence), 1);
	igt_assert(kms_read_event(vk.fd, 10000, &ev));
	igt_assert_eq(ev.user_data, 0x77);

	close(out_fence);
	kms_disable(&vk, o);
	kms_vgem_bo_destroy(&vk, &bo);
	kms_fb_destroy(&first);
	kms_close(&vk);
}

/* A fence that has signaled already: the flip is not held at all. */
static void test_signaled(struct vctx *v, int vgem)
{
	struct vgem_bo dst = { .width = 16, .height = 16, .bpp = 32 };
	struct drm_vgem_submit s;
	struct kms_event ev;
	int job;

	vgem_create(vgem, &dst);
	s = vgem_submit_desc(&dst, VGEM_OP_FILL);
	job = vgem_submit_fd(vgem, &s);
	igt_assert(sync_fence_wait(job, 10000));
	virtio_flip(v, job, 0x33);
	igt_assert(kms_read_event(v->dev.fd, 10000, &ev));
	igt_assert_eq(ev.user_data, 0x33);
	igt_assert(ev.ts_ns >= sync_fence_timestamp(job));
	close(job);
	gem_close(vgem, dst.handle);
}

igt_main
{
	struct vctx v = { .dev.fd = -1 };
	int vgem = -1;

	igt_fixture {
		vctx_init(&v);
		vgem = drm_open_driver("vgem");
	}

	igt_subtest("vgem-submit-fence")
		test_vgem_submit(&v, vgem, 0);
	igt_subtest("vgem-submit-error-fence")
		test_vgem_submit(&v, vgem, VGEM_SUBMIT_HANG);
	igt_subtest("vkms-out-fence")
		test_vkms_out_fence(&v, vgem);
	igt_subtest("signaled-fence")
		test_signaled(&v, vgem);

	igt_fixture {
		if (vgem >= 0)
			close(vgem);
		vctx_fini(&v);
	}
}
