// SPDX-License-Identifier: GPL-2.0
/*
 * kms_fence: fence-gated flips. A nonblocking flip whose fence (IN_FENCE_FD
 * or the implicit write fence of a vgem buffer PRIME-imported into vkms) is
 * unsignaled returns at once and is held: no event, no OUT_FENCE signal,
 * the old frame on screen (CRC). The flip happens at the first vblank after
 * the fence signals. Also: a second nonblocking flip meanwhile gets EBUSY,
 * a blocking one waits; gate=0 (the helpers' worker) holds the flip the
 * same way; closing the file with a gated flip in flight cancels it
 * without waiting for the fence; several fences: the last one arms; a
 * fence that signals with an error still flips and is counted.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "drmtest.h"
#include "igt.h"
#include "kms.h"
#include "kms_vgem.h"
#include "vgem.h"

#define W 256
#define H 192

struct fence_ctx {
	struct kms_dev *dev;
	const struct kms_output *o;
	drmModeModeInfo mode;
	uint64_t frame_ns;
	int vgem;
	struct kms_fb front;		/* a vkms dumb buffer, on screen first */
	struct kms_vgem_bo bo;		/* the vgem buffer flipped to */
	struct kms_fb view;		/* the vgem buffer seen as a kms_fb */
	uint32_t crc_front, crc_bo;
};

static uint32_t crc_of(const struct kms_fb *fb)
{
	struct kms_layer l = {
		.fb = fb, .w = fb->width, .h = fb->height, .alpha = 0xffff,
	};

	return kms_ref_crc(&l, 1, fb->width, fb->height);
}

/*
 * Undoes setup(), and turns the gate back on: a cleanup pushed by
 * setup(), so that it runs however the subtest ends. A failed subtest
 * used to leave its buffers mapped, which kept its vkms file open (and
 * master) for the rest of the program.
 */
static void teardown_now(void *arg)
{
	struct fence_ctx *c = arg;

	kms_disable(c->dev, c->o);
	kms_vgem_bo_destroy(c->dev, &c->bo);
	kms_fb_destroy(&c->front);
	close(c->vgem);
	kms_param_set("gate", 1);
}

static void setup(struct fence_ctx *c, struct kms_dev *dev)
{
	/* a failed subtest may have left it off */
	kms_param_set("gate", 1);
	memset(c, 0, sizeof(*c));
	c->dev = dev;
	c->o = &dev->out[0];
	c->vgem = kms_vgem_open();
	c->mode = kms_mode(W, H);
	c->frame_ns = kms_mode_frame_ns(&c->mode);
	kms_fb_create(dev->fd, W, H, DRM_FORMAT_XRGB8888, &c->front);
	kms_fb_pattern(&c->front, 1, false);
	c->crc_front = crc_of(&c->front);

	kms_vgem_bo_create(dev, c->vgem, W, H, DRM_FORMAT_XRGB8888, &c->bo);
	c->view.width = W;
	c->view.height = H;
	c->view.format = DRM_FORMAT_XRGB8888;
	c->view.cpp = 4;
	c->view.pitch = c->bo.pitch;
	c->view.map = c->bo.map;
	kms_fb_pattern(&c->view, 2, false);
	c->crc_bo = crc_of(&c->view);
	igt_assert_neq(c->crc_front, c->crc_bo);
	igt_cleanup_push(teardown_now, c);
	kms_modeset(dev, c->o, &c->mode, &c->front);
}

static void teardown(struct fence_ctx *c)
{
	igt_cleanup_pop(c, true);
}

/* Nonblocking flip of the primary to @fb_id, with event, fences as given. */
static int flip(struct fence_ctx *c, uint32_t fb_id, int in_fence,
		int *out_fence, uint32_t flags)
{
	struct kms_req *req = kms_req_new(c->dev);
	int ret;

	kms_req_set(req, c->o->primary, "FB_ID", fb_id);
	if (in_fence >= 0)
		kms_req_set(req, c->o->primary, "IN_FENCE_FD", in_fence);
	if (out_fence) {
		*out_fence = -1;
		kms_req_set(req, c->o->crtc_id, "OUT_FENCE_PTR",
			    (uint64_t)(uintptr_t)out_fence);
	}
	ret = kms_req_commit_data(req, flags, 0x77);
	kms_req_free(req);
	return ret;
}

#define NONBLOCK_EVENT (DRM_MODE_ATOMIC_NONBLOCK | DRM_MODE_PAGE_FLIP_EVENT)

/* The CRC of the frame on screen at the next vblank. */
static uint32_t crc_now(struct fence_ctx *c)
{
	struct kms_crc crc;
	uint32_t v, seq = kms_vblank_now(c->dev->fd, 0, NULL);

	kms_crc_start(c->dev, 0, &crc);
	v = kms_crc_at(&crc, seq + 1, NULL);
	kms_crc_stop(&crc);
	return v;
}

/* The flip is held: a few vblanks pass without it. */
static void assert_held(struct fence_ctx *c, int out_fence)
{
	kms_wait_vblank(c->dev->fd, 0, 3, NULL);
	igt_assert_f(!kms_event_ready(c->dev->fd), "flip event too early\n");
	igt_assert_eq(crc_now(c), c->crc_front);
	if (out_fence >= 0)
		igt_assert_eq(kms_sync_file_status(out_fence, NULL), 0);
}

/*
 * The flip comes after the fence signaled at @signal_ns: its event time is
 * at or after it, and that vblank's CRC is the new buffer's. @gated: vkms
 * armed it in the fence callback, so it latches at the first vblank after
 * the signal: its event is less than two frames later. Otherwise (gate=0)
 * the helpers' commit worker arms it, which a busy host may delay by any
 * number of frames: only the order is checked.
 */
static void assert_flipped(struct fence_ctx *c, uint64_t signal_ns,
			   bool gated, int out_fence, struct kms_crc *crc)
{
	struct kms_event ev;
	uint64_t out_ns;

	igt_assert_f(kms_read_event(c->dev->fd, 2000, &ev), "no flip event\n");
	igt_assert_eq(ev.type, DRM_EVENT_FLIP_COMPLETE);
	igt_assert_eq(ev.user_data, 0x77);
	igt_debug("signal %llu event %llu (+%lld ns)\n",
		  (unsigned long long)signal_ns, (unsigned long long)ev.ts_ns,
		  (long long)(ev.ts_ns - signal_ns));
	if (signal_ns) {
		/* event times are whole microseconds */
		igt_assert_f(ev.ts_ns + 1000 > signal_ns,
			     "event %llu before signal %llu\n",
			     (unsigned long long)ev.ts_ns,
			     (unsigned long long)signal_ns);
		igt_assert_f(!gated || ev.ts_ns < signal_ns + 2 * c->frame_ns,
			     "event %lld ns after the signal\n",
			     (long long)(ev.ts_ns - signal_ns));
	}
	if (out_fence >= 0) {
		igt_assert(kms_sync_file_wait(out_fence, 1000));
		igt_assert_eq(kms_sync_file_status(out_fence, &out_ns), 1);
		igt_assert_eq(out_ns / 1000, ev.ts_ns / 1000);
	}
	if (crc) {
		uint32_t frame, v;

		/* the old frame up to the flip's vblank, the new one at it */
		for (;;) {
			kms_crc_get(crc, &frame, &v);
			if ((int32_t)(frame - ev.sequence) >= 0)
				break;
			igt_assert_f(v == c->crc_front,
				     "vblank %u before the flip at %u\n",
				     frame, ev.sequence);
		}
		igt_assert_eq(frame, ev.sequence);
		igt_assert_f(v == c->crc_bo, "vblank of the flip: %08x\n", v);
	}
}

/* IN_FENCE_FD and OUT_FENCE_PTR, implicit fence, or both (explicit wins). */
static void test_gated(struct kms_dev *dev, bool explicit, bool gate)
{
	struct fence_ctx c;
	struct kms_crc crc;
	uint64_t signal_ns, gated0, worker0;
	uint32_t fence;
	int sf, out = -1;

	setup(&c, dev);
	igt_require(kms_param_set("gate", gate));
	gated0 = kms_stat(dev, 0, "flips_gated");
	worker0 = kms_stat(dev, 0, "flips_worker");
	fence = kms_vgem_fence_attach(c.vgem, c.bo.handle, true);
	/* taken while pending: it keeps the fence and its signal time */
	sf = kms_dmabuf_sync_file(c.bo.dmabuf_fd, true);

	igt_assert_eq(flip(&c, c.bo.fb_id, explicit ? sf : -1, &out,
			   NONBLOCK_EVENT), 0);
	igt_assert(out >= 0);
	igt_assert_eq(kms_stat(dev, 0, "gated_pending"), gate ? 1 : 0);
	assert_held(&c, out);

	/* capturing from before the signal on */
	kms_crc_start(dev, 0, &crc);
	{
		uint32_t f0, v0, s0;

		kms_crc_get(&crc, &f0, &v0);
		s0 = kms_vblank_now(dev->fd, 0, NULL);
		igt_debug("first crc frame %u (%08x), vblank %u\n", f0, v0, s0);
	}
	kms_vgem_fence_signal(c.vgem, fence);
	igt_assert_eq(kms_sync_file_status(sf, &signal_ns), 1);
	assert_flipped(&c, signal_ns, gate, out, &crc);
	kms_crc_stop(&crc);

	igt_assert_eq(kms_stat(dev, 0, "gated_pending"), 0);
	igt_assert_eq(kms_stat(dev, 0, "flips_gated"), gated0 + (gate ? 1 : 0));
	/* gated: armed by the fence callback, no worker involved */
	igt_assert_eq(kms_stat(dev, 0, "flips_worker"), worker0 + (gate ? 0 : 1));
	close(sf);
	close(out);
	teardown(&c);
	kms_param_set("gate", 1);
}

/* A fence already signaled: an ordinary flip at the next vblank. */
static void test_signaled(struct kms_dev *dev)
{
	struct fence_ctx c;
	uint32_t fence;
	int sf, out;

	setup(&c, dev);
	fence = kms_vgem_fence_attach(c.vgem, c.bo.handle, true);
	kms_vgem_fence_signal(c.vgem, fence);
	sf = kms_dmabuf_sync_file(c.bo.dmabuf_fd, true);
	igt_assert_eq(kms_sync_file_status(sf, NULL), 1);
	igt_assert_eq(flip(&c, c.bo.fb_id, sf, &out, NONBLOCK_EVENT), 0);
	igt_assert_eq(kms_stat(dev, 0, "gated_pending"), 0);
	assert_flipped(&c, 0, true, out, NULL);
	igt_assert_eq(crc_now(&c), c.crc_bo);
	close(sf);
	close(out);
	teardown(&c);
}

/* A gated flip keeps the CRTC busy: EBUSY for nonblocking commits. */
static void test_busy(struct kms_dev *dev)
{
	struct fence_ctx c;
	uint32_t fence;

	setup(&c, dev);
	fence = kms_vgem_fence_attach(c.vgem, c.bo.handle, true);
	igt_assert_eq(flip(&c, c.bo.fb_id, -1, NULL, NONBLOCK_EVENT), 0);
	igt_assert_eq(flip(&c, c.front.id, -1, NULL, NONBLOCK_EVENT), -EBUSY);
	igt_assert_eq(flip(&c, c.front.id, -1, NULL, DRM_MODE_ATOMIC_NONBLOCK),
		      -EBUSY);
	igt_assert_eq(drmModePageFlip(dev->fd, c.o->crtc_id, c.front.id,
				      DRM_MODE_PAGE_FLIP_EVENT, NULL), -EBUSY);
	/* a test-only commit is still checked fine */
	igt_assert_eq(flip(&c, c.front.id, -1, NULL,
			   DRM_MODE_ATOMIC_TEST_ONLY), 0);
	assert_held(&c, -1);
	kms_vgem_fence_signal(c.vgem, fence);
	assert_flipped(&c, 0, true, -1, NULL);
	/* and free again */
	igt_assert_eq(flip(&c, c.front.id, -1, NULL, NONBLOCK_EVENT), 0);
	igt_assert(kms_read_event(dev->fd, 1000, &(struct kms_event){ 0 }));
	teardown(&c);
}

struct blocking_arg {
	struct fence_ctx *c;
	atomic_int done;
	int ret;
};

static void *blocking_commit(void *p)
{
	struct blocking_arg *a = p;

	a->ret = flip(a->c, a->c->front.id, -1, NULL, 0);
	atomic_store(&a->done, 1);
	return NULL;
}

/* A blocking commit behind a gated flip waits for it. */
static void test_blocking_waits(struct kms_dev *dev)
{
	struct blocking_arg a = { 0 };
	struct fence_ctx c;
	pthread_t th;
	uint32_t fence;

	setup(&c, dev);
	a.c = &c;
	fence = kms_vgem_fence_attach(c.vgem, c.bo.handle, true);
	igt_assert_eq(flip(&c, c.bo.fb_id, -1, NULL, NONBLOCK_EVENT), 0);
	igt_assert_eq(pthread_create(&th, NULL, blocking_commit, &a), 0);
	kms_wait_vblank(dev->fd, 0, 4, NULL);
	igt_assert_eq(atomic_load(&a.done), 0);
	kms_vgem_fence_signal(c.vgem, fence);
	igt_assert_eq(pthread_join(th, NULL), 0);
	igt_assert_eq(a.ret, 0);
	/* the gated flip happened, then the blocking one */
	assert_flipped(&c, 0, true, -1, NULL);
	igt_assert_eq(crc_now(&c), c.crc_front);
	teardown(&c);
}

/* Two planes, two fences: the flip waits for the last one. */
static void test_two_fences(struct kms_dev *dev)
{
	struct kms_vgem_bo ov;
	struct fence_ctx c;
	struct kms_req *req;
	struct kms_event ev;
	uint32_t f1, f2;
	int sf;

	setup(&c, dev);
	kms_vgem_bo_create(dev, c.vgem, 64, 64, DRM_FORMAT_XRGB8888, &ov);
	memset(ov.map, 0x80, ov.size);
	f1 = kms_vgem_fence_attach(c.vgem, c.bo.handle, true);
	f2 = kms_vgem_fence_attach(c.vgem, ov.handle, true);
	sf = kms_dmabuf_sync_file(ov.dmabuf_fd, true);

	req = kms_req_new(dev);
	kms_req_set(req, c.o->primary, "FB_ID", c.bo.fb_id);
	kms_req_plane(req, c.o->overlay[0], c.o->crtc_id, ov.fb_id, 0, 0, 10,
		      10, 64, 64);
	kms_req_set(req, c.o->overlay[0], "IN_FENCE_FD", sf);
	igt_assert_eq(kms_req_commit_data(req, NONBLOCK_EVENT, 0x77), 0);
	kms_req_free(req);
	close(sf);

	assert_held(&c, -1);
	kms_vgem_fence_signal(c.vgem, f2);
	assert_held(&c, -1);
	igt_assert_eq(kms_stat(dev, 0, "gated_pending"), 1);
	kms_vgem_fence_signal(c.vgem, f1);
	igt_assert(kms_read_event(dev->fd, 2000, &ev));
	igt_assert_eq(kms_stat(dev, 0, "gated_pending"), 0);

	req = kms_req_new(dev);
	kms_req_plane_off(req, c.o->overlay[0]);
	igt_assert_eq(kms_req_commit(req, 0), 0);
	kms_req_free(req);
	kms_vgem_bo_destroy(dev, &ov);
	teardown(&c);
}

/*
 * Closing the file with a gated flip in flight cancels the flip: close
 * does not wait for the fence (still unsignaled after it), the counters
 * say so, and the device works after it.
 */
static void test_close(struct kms_dev *dev)
{
	struct fence_ctx c;
	uint64_t cancelled;
	uint32_t fence;
	int sf;

	setup(&c, dev);
	cancelled = kms_stat(dev, 0, "flips_cancelled");
	fence = kms_vgem_fence_attach(c.vgem, c.bo.handle, true);
	igt_assert_eq(flip(&c, c.bo.fb_id, -1, NULL, NONBLOCK_EVENT), 0);
	igt_assert_eq(kms_stat(dev, 0, "gated_pending"), 1);
	sf = kms_dmabuf_sync_file(c.bo.dmabuf_fd, true);

	/*
	 * The vkms file goes, its framebuffers with it (a mapping of one of
	 * its buffers would keep it open); vgem stays.
	 */
	munmap(c.front.map, c.front.size);
	kms_close(dev);
	igt_assert_eq(kms_sync_file_status(sf, NULL), 0);

	kms_open(dev);
	igt_assert_eq(kms_stat(dev, 0, "gated_pending"), 0);
	igt_assert_eq(kms_stat(dev, 0, "flips_cancelled"), cancelled + 1);
	/* the removed callback does not run */
	kms_vgem_fence_signal(c.vgem, fence);
	igt_assert(kms_sync_file_wait(sf, 1000));
	close(sf);

	/* the buffers of the closed file are gone; make new ones */
	c.dev = dev;
	c.o = &dev->out[0];
	kms_fb_create(dev->fd, W, H, DRM_FORMAT_XRGB8888, &c.front);
	kms_fb_pattern(&c.front, 1, false);
	kms_modeset(dev, c.o, &c.mode, &c.front);
	igt_assert_eq(crc_now(&c), c.crc_front);
	kms_disable(dev, c.o);
	kms_fb_destroy(&c.front);
	/* vgem's side: the buffer still exists in vgem */
	{
		struct drm_gem_close cl = { .handle = c.bo.handle };

		munmap(c.bo.map, c.bo.size);
		close(c.bo.dmabuf_fd);
		igt_ioctl(c.vgem, DRM_IOCTL_GEM_CLOSE, &cl);
	}
	close(c.vgem);
}

#ifdef VGEM_SUBMIT_HANG
/* Our vgem's SUBMIT: a render job on @bo, fence on it; -errno on failure. */
static int submit(int vgem, struct kms_vgem_bo *bo, uint32_t op,
		  uint32_t color, uint64_t duration_ns, uint32_t flags,
		  int *out_fd)
{
	struct drm_vgem_submit s = {
		.handle = bo->handle,
		.op = op,
		.flags = flags | (out_fd ? VGEM_SUBMIT_OUT_FENCE_FD : 0),
		.format = DRM_FORMAT_XRGB8888,
		.stride = bo->pitch,
		.width = bo->width,
		.height = bo->height,
		.color = color,
		.duration_ns = duration_ns,
	};

	if (igt_ioctl(vgem, DRM_IOCTL_VGEM_SUBMIT, &s))
		return -errno;
	if (out_fd)
		*out_fd = s.out_fence_fd;
	return 0;
}

static void require_submit(struct fence_ctx *c)
{
	igt_require_f(submit(c->vgem, &c->bo, VGEM_OP_NOP, 0, 0, 0, NULL) == 0,
		      "vgem without SUBMIT (the stock one)\n");
}

static int max_boost_saved;

static void vgem_boost_restore(void *arg)
{
	FILE *f = fopen("/sys/module/vgem/parameters/max_boost", "w");

	if (!f || fprintf(f, "%d\n", max_boost_saved) < 0 || fclose(f))
		igt_info("restoring vgem.max_boost failed\n");
}

/*
 * A flip sets a deadline on the job it waits for, and vgem boosts a job
 * whose deadline is at risk (max_boost): the job would end sooner than
 * its duration. These subtests hold a flip with a job and look at it
 * meanwhile, so vgem keeps its nominal clock until the subtest ends. A
 * vgem without the parameter never boosts.
 */
static void vgem_nominal_clock(void)
{
	FILE *f = fopen("/sys/module/vgem/parameters/max_boost", "r");

	if (!f)
		return;
	igt_assert_eq(fscanf(f, "%d", &max_boost_saved), 1);
	fclose(f);
	f = fopen("/sys/module/vgem/parameters/max_boost", "w");
	igt_assert(f);
	igt_cleanup_push(vgem_boost_restore, &max_boost_saved);
	igt_assert(fprintf(f, "1\n") > 0);
	igt_assert_eq(fclose(f), 0);
}

/*
 * A render job of our vgem fills the buffer; the flip, gated on the job's
 * fence (implicit: vgem publishes it in the buffer's reservation and it
 * comes back to vkms as vgem's own fence, no proxy), shows the filled
 * buffer at the first vblank after the job's completion interrupt.
 */
static void test_vgem_submit(struct kms_dev *dev)
{
	struct fence_ctx c;
	struct kms_crc crc;
	uint64_t signal_ns;
	int job;

	setup(&c, dev);
	require_submit(&c);
	vgem_nominal_clock();
	/* what the job will write: a solid colour */
	c.crc_bo = 0;
	{
		struct kms_fb solid = c.view;
		uint8_t *copy = malloc(c.bo.size);

		igt_assert(copy);
		solid.map = copy;
		kms_fb_fill(&solid, kms_rgb8(0xff, 0x12, 0x34, 0x56));
		c.crc_bo = crc_of(&solid);
		free(copy);
	}
	igt_assert_eq(submit(c.vgem, &c.bo, VGEM_OP_FILL, 0xff123456,
			     200 * 1000 * 1000, 0, &job), 0);
	igt_assert_eq(flip(&c, c.bo.fb_id, -1, NULL, NONBLOCK_EVENT), 0);
	igt_assert_eq(kms_stat(dev, 0, "gated_pending"), 1);
	kms_crc_start(dev, 0, &crc);
	kms_crc_get(&crc, &(uint32_t){ 0 }, &(uint32_t){ 0 });
	igt_assert(kms_sync_file_wait(job, 3000));
	igt_assert_eq(kms_sync_file_status(job, &signal_ns), 1);
	assert_flipped(&c, signal_ns, true, -1, &crc);
	kms_crc_stop(&crc);
	close(job);
	teardown(&c);
}

/*
 * The deadline a job's fence got, from vgem's debugfs "engines" (a job's
 * line ends with "deadline in N us" once it has one). The job is the
 * newest in flight, the highest seqno: the subtest's. @log: the file goes
 * to the log.
 */
static bool job_deadline_us(long long *us, bool log)
{
	static char buf[65536];
	unsigned long long seqno, newest = 0;
	bool found = false;
	char *line, *save;

	igt_require_f(vgem_engines_read(buf, sizeof(buf)),
		      "no vgem debugfs \"engines\"\n");
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		const char *dl = strstr(line, " deadline in ");

		if (log)
			igt_info("engines: %s\n", line);
		if (sscanf(line, "  job seqno %llu", &seqno) != 1 ||
		    seqno < newest)
			continue;
		newest = seqno;
		found = dl && sscanf(dl, " deadline in %lld us", us) == 1;
	}
	igt_assert_f(newest, "no job in vgem's engines file\n");
	return found;
}

/* The running kernel is @major.@minor or later. */
static bool kernel_at_least(int major, int minor)
{
	struct utsname u;
	int ma = 0, mi = 0;

	igt_assert_eq(uname(&u), 0);
	igt_assert_eq(sscanf(u.release, "%d.%d", &ma, &mi), 2);
	return ma > major || (ma == major && mi >= minor);
}

/*
 * A flip tells the GPU when it needs the frame: the fence it waits for
 * gets the vblank at which the flip could latch as its deadline, and
 * vgem's job fence keeps it. A gated flip (gate=1) sets it in vkms, at
 * the flip call: the vblank after the last one handled, so at most one
 * frame after the call, and the deadline read afterwards is less than a
 * frame away. With gate=0 the DRM helpers' commit worker waits for the
 * fence, and since Linux 6.4 sets a deadline before it waits (the next
 * vblank, through the dma_fence our import forwards to); vkms itself
 * sets none there. Before 6.4 the helpers set none: skipped.
 */
static void test_vgem_deadline(struct kms_dev *dev, bool gate)
{
	struct fence_ctx c;
	struct kms_event ev;
	uint64_t before;
	long long us = 0;
	bool found = false;
	int job;

	if (!gate)
		igt_require_f(kernel_at_least(6, 4),
			      "the DRM helpers set no fence deadline before Linux 6.4\n");
	setup(&c, dev);
	require_submit(&c);
	vgem_nominal_clock();
	igt_require(kms_param_set("gate", gate));
	/*
	 * The longest job: it must outlast the logged look at debugfs
	 * below, a few hundred ms on a loaded TCG guest, and the flip.
	 */
	igt_assert_eq(submit(c.vgem, &c.bo, VGEM_OP_FILL, 0xff123456,
			     1000 * 1000 * 1000, 0, &job), 0);
	igt_assert_f(!job_deadline_us(&us, false),
		     "a job nothing waits for has a deadline (in %lld us)\n",
		     us);
	before = kms_stat(dev, 0, "fence_deadlines");
	igt_assert_eq(flip(&c, c.bo.fb_id, -1, NULL, NONBLOCK_EVENT), 0);
	if (gate) {
		igt_assert_eq(kms_stat(dev, 0, "gated_pending"), 1);
		igt_assert_eq(kms_stat(dev, 0, "fence_deadlines"), before + 1);
		found = job_deadline_us(&us, true);
		igt_assert_f(us <= (long long)(c.frame_ns / 1000),
			     "deadline %lld us away, more than a frame (%llu us)\n",
			     us, (unsigned long long)(c.frame_ns / 1000));
	} else {
		/*
		 * The worker sets it when it runs, some time after the
		 * call: look until the job is done.
		 */
		while (!found && !kms_sync_file_wait(job, 0)) {
			found = job_deadline_us(&us, false);
			usleep(2000);
		}
		igt_assert_eq(kms_stat(dev, 0, "fence_deadlines"), before);
		if (!found)
			job_deadline_us(&us, true);
	}
	igt_assert_f(found, "the flip set no deadline\n");
	igt_assert(kms_read_event(dev->fd, 5000, &ev));
	igt_assert(kms_sync_file_wait(job, 3000));
	close(job);
	kms_param_set("gate", 1);
	teardown(&c);
}

/* A fence that signals with an error: the flip happens, the error counts. */
static void test_fence_error(struct kms_dev *dev)
{
	struct fence_ctx c;
	struct kms_event ev;
	uint64_t errors;
	int job, hang_ms;
	FILE *f;

	setup(&c, dev);
	require_submit(&c);
	f = fopen("/sys/module/vgem/parameters/hang_ms", "r+");
	igt_require(f);
	igt_assert_eq(fscanf(f, "%d", &hang_ms), 1);
	rewind(f);
	fprintf(f, "100\n");
	fflush(f);

	errors = kms_stat(dev, 0, "fence_errors");
	igt_assert_eq(submit(c.vgem, &c.bo, VGEM_OP_FILL, 0xff000000,
			     1000 * 1000, VGEM_SUBMIT_HANG, &job), 0);
	igt_assert_eq(flip(&c, c.bo.fb_id, job, NULL, NONBLOCK_EVENT), 0);
	igt_assert(kms_read_event(dev->fd, 5000, &ev));
	igt_assert_lt(kms_sync_file_status(job, NULL), 0);
	igt_assert_eq(kms_stat(dev, 0, "fence_errors"), errors + 1);

	rewind(f);
	fprintf(f, "%d\n", hang_ms);
	fclose(f);
	close(job);
	teardown(&c);
}
#else
static void test_vgem_submit(struct kms_dev *dev)
{
	igt_skip("no vgem SUBMIT uapi header\n");
}

static void test_fence_error(struct kms_dev *dev)
{
	igt_skip("no vgem SUBMIT uapi header\n");
}

static void test_vgem_deadline(struct kms_dev *dev, bool gate)
{
	igt_skip("no vgem SUBMIT uapi header\n");
}
#endif

igt_main
{
	struct kms_dev dev = { .fd = -1 };

	igt_fixture {
		kms_open(&dev);
		igt_require(kms_param_get("gate") >= 0);
	}

	igt_subtest("in-fence")
		test_gated(&dev, true, true);
	igt_subtest("implicit-fence")
		test_gated(&dev, false, true);
	igt_subtest("in-fence-gate-off")
		test_gated(&dev, true, false);
	igt_subtest("implicit-fence-gate-off")
		test_gated(&dev, false, false);
	igt_subtest("signaled-fence")
		test_signaled(&dev);
	igt_subtest("busy")
		test_busy(&dev);
	igt_subtest("blocking-waits")
		test_blocking_waits(&dev);
	igt_subtest("two-fences")
		test_two_fences(&dev);
	igt_subtest("close-cancels")
		test_close(&dev);
	igt_subtest("vgem-submit")
		test_vgem_submit(&dev);
	igt_subtest("fence-error")
		test_fence_error(&dev);
	igt_subtest("vgem-deadline")
		test_vgem_deadline(&dev, true);
	igt_subtest("vgem-deadline-gate-off")
		test_vgem_deadline(&dev, false);

	igt_fixture
		kms_close(&dev);
}
