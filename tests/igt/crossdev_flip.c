// SPDX-License-Identifier: GPL-2.0
/*
 * crossdev_flip: the cross-device path end to end. vgem (or another
 * driver's dma_fence) renders, vkms displays, and a fence joins them: a
 * nonblocking flip to a buffer whose fence is unsignaled is held in the
 * kernel, and latched at the first vblank after the fence signals.
 *
 * What is asserted is what the display showed, vblank by vblank: the CRC
 * of every vblank of a capture (read by a thread of its own, from the DRM
 * CRC debugfs files), the flip events (their vblank sequence and time),
 * the fences' states and signal times (sync_file info), and vkms's and
 * vgem's counters. Nothing is timed in userspace. "First vblank after the
 * signal" compares kernel timestamps: the flip event's vblank time is at
 * or after the fence's signal time and less than two frames after it (one
 * vblank timer late under TCG is tolerated, as in kms_fence).
 *
 * Subtests:
 *  implicit-fence       FENCE_ATTACH (VGEM_FENCE_WRITE) on the buffer;
 *  submit-in-fence      IN_FENCE_FD = a VGEM_SUBMIT out-fence;
 *  frames-500           500 pattern frames, random job durations;
 *  two-engines-two-outputs  jobs of two engines completing out of order,
 *                       each output showing its own engine's frames;
 *  hung-job             the hang check fails the fence, the flip happens;
 *  timeline-in-fence, timeline-implicit, timeline-error
 *                       a foreign dma_fence (tests/kmod/cf_timeline.ko);
 *  sw-sync              the same with sw_sync, where the kernel has it;
 *  close-vgem, close-vkms, kill-process
 *                       teardown with flips gated: no hang, no leak;
 *  reset-after-failure  a subtest made to fail with its flip gated and
 *                       its capture running leaves nothing behind: the
 *                       subtests after it pass.
 *
 * CROSSDEV_FAIL=NAME makes subtest NAME fail on purpose once its flip is
 * gated (reset-after-failure uses it).
 */
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/dma-buf.h>

#include "drmtest.h"
#include "igt.h"
#include "kms.h"
#include "vgem.h"
#include "../kmod/cf_timeline.h"

#define W 256
#define H 192
#define RING 3
#define HOLD_VBLANKS 5
#define NONBLOCK_EVENT (DRM_MODE_ATOMIC_NONBLOCK | DRM_MODE_PAGE_FLIP_EVENT)
#define MS 1000000ull

#define TIMELINE "/sys/kernel/debug/cf_timeline"
#define SW_SYNC "/sys/kernel/debug/sync/sw_sync"

/* ---- CRC capture, every vblank, by a thread ----------------------------- */

#define CRC_MAX 8192

/*
 * The lib's kms_crc_start() keeps one capture at a time; two outputs are
 * captured at once here, so the files are opened directly.
 */
struct crc_log {
	int ctl_fd, data_fd;
	pthread_t thread;
	atomic_int stop;
	atomic_int n;
	int error;		/* errno of a failed read, or -1: bad line */
	uint32_t seq[CRC_MAX], val[CRC_MAX];
};

static void *crc_reader(void *arg)
{
	struct crc_log *log = arg;

	while (!atomic_load(&log->stop)) {
		char line[64];
		int i = atomic_load(&log->n);
		ssize_t r;

		r = read(log->data_fd, line, sizeof(line) - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			log->error = r < 0 ? errno : -1;
			break;
		}
		line[r] = 0;
		if (i == CRC_MAX)
			continue;
		if (sscanf(line, "%x %x", &log->seq[i], &log->val[i]) != 2) {
			log->error = -1;
			break;
		}
		atomic_store(&log->n, i + 1);
	}
	return NULL;
}

/*
 * What a subtest set up and has not released yet, for subtest_reset()
 * after a failure.
 */
static struct crc_log *logs_live[2];
static struct xd *xd_live;

static void log_forget(struct crc_log *log)
{
	for (int k = 0; k < 2; k++)
		if (logs_live[k] == log)
			logs_live[k] = NULL;
}

/* Stop a capture without waiting for an entry that may never come. */
static void crc_log_abort(struct crc_log *log)
{
	pthread_cancel(log->thread);
	pthread_join(log->thread, NULL);
	close(log->data_fd);
	close(log->ctl_fd);
	log_forget(log);
	free(log);
}

static struct crc_log *crc_log_start(struct kms_dev *dev, int index)
{
	struct crc_log *log = calloc(1, sizeof(*log));
	char path[128];
	int k = 0;

	igt_assert(log);
	while (k < 2 && logs_live[k])
		k++;
	igt_assert(k < 2);
	snprintf(path, sizeof(path), "/sys/kernel/debug/dri/%d/crtc-%d/crc/control",
		 dev->minor, index);
	log->ctl_fd = open(path, O_WRONLY);
	igt_require_f(log->ctl_fd >= 0, "no %s\n", path);
	igt_assert_eq(write(log->ctl_fd, "auto", 4), 4);
	snprintf(path, sizeof(path), "/sys/kernel/debug/dri/%d/crtc-%d/crc/data",
		 dev->minor, index);
	log->data_fd = open(path, O_RDONLY);
	igt_assert_f(log->data_fd >= 0, "open %s\n", path);
	igt_assert_eq(pthread_create(&log->thread, NULL, crc_reader, log), 0);
	logs_live[k] = log;
	return log;
}

/*
 * Stops once the entry of vblank @last_seq is in, waiting vblanks of CRTC
 * @index for it (at most 300: the CRTC must be on).
 */
static void crc_log_stop(struct crc_log *log, struct kms_dev *dev, int index,
			 uint32_t last_seq)
{
	for (int i = 0; i < 300; i++) {
		int n = atomic_load(&log->n);

		if (log->error || (n && (int32_t)(log->seq[n - 1] - last_seq) >= 0))
			break;
		kms_wait_vblank(dev->fd, index, 1, NULL);
	}
	atomic_store(&log->stop, 1);
	pthread_join(log->thread, NULL);
	close(log->data_fd);
	close(log->ctl_fd);
	log_forget(log);
	igt_assert_f(!log->error, "reading CRCs: %d\n", log->error);
	igt_assert_gt(atomic_load(&log->n), 0);
	igt_assert_f((int32_t)(log->seq[log->n - 1] - last_seq) >= 0,
		     "no CRC for vblank %u (last %u)\n", last_seq,
		     log->seq[log->n - 1]);
}

/*
 * Every captured vblank showed what the flips put on screen: @crc0 until
 * the first latch, then the CRC of the last frame latched at or before
 * it. Latches are (vblank sequence, expected CRC), in order. Each latch
 * vblank must have been captured. Returns the number of entries checked.
 */
static int crc_log_verify(struct crc_log *log, uint32_t crc0,
			  const uint32_t *latch_seq, const uint32_t *latch_crc,
			  int nlatch)
{
	int k = 0;

	for (int i = 0; i < log->n; i++) {
		uint32_t seq = log->seq[i], want;

		while (k < nlatch && (int32_t)(seq - latch_seq[k]) >= 0)
			k++;
		want = k ? latch_crc[k - 1] : crc0;
		igt_assert_f(log->val[i] == want,
			     "vblank %u showed %08x, expected %08x (%d flips latched before)\n",
			     seq, log->val[i], want, k);
	}
	/* each flip's own vblank was captured */
	for (int j = 0, i = 0; j < nlatch; j++) {
		while (i < log->n && (int32_t)(log->seq[i] - latch_seq[j]) < 0)
			i++;
		igt_assert_f(i < log->n && log->seq[i] == latch_seq[j],
			     "no CRC of vblank %u (flip %d)\n", latch_seq[j], j);
	}
	return log->n;
}

/* ---- the set-up: outputs, vgem buffers imported into vkms ---------------- */

struct xd_out {
	const struct kms_output *o;
	struct kms_fb front;
	uint32_t crc_front;
	struct kms_vgem_bo bo[RING];
	int nbo;
};

struct xd {
	struct kms_dev *dev;
	int vgem;
	drmModeModeInfo mode;
	uint64_t frame_ns;
	uint64_t missed[2];	/* vkms's missed_latches after the last latch */
	int nout;
	struct xd_out out[2];
};

static uint32_t crc_of(const struct kms_fb *fb)
{
	struct kms_layer l = {
		.fb = fb, .w = fb->width, .h = fb->height, .alpha = 0xffff,
	};

	return kms_ref_crc(&l, 1, fb->width, fb->height);
}

/* A vgem buffer seen through its mapping as a kms_fb. */
static struct kms_fb bo_view(const struct kms_vgem_bo *bo)
{
	struct kms_fb v = {
		.width = bo->width, .height = bo->height,
		.format = DRM_FORMAT_XRGB8888, .cpp = 4, .pitch = bo->pitch,
		.map = bo->map, .size = bo->size,
	};

	return v;
}

/* The CRC of a full screen of VGEM_OP_PATTERN's frame @frame. */
static uint32_t pattern_crc(uint32_t frame)
{
	uint32_t row[W], crc = ~0u;

	for (int y = 0; y < H; y++) {
		for (int x = 0; x < W; x++)
			row[x] = vgem_pattern_pixel(x, y, frame);
		crc = kms_crc32(crc, row, sizeof(row));
	}
	return crc;
}

static void xd_setup(struct xd *x, struct kms_dev *dev, int nout, int nbo)
{
	kms_param_set("gate", 1);
	memset(x, 0, sizeof(*x));
	x->vgem = -1;
	igt_assert(!xd_live);
	xd_live = x;
	igt_require_f(dev->noutputs >= nout, "%d vkms outputs, %d needed\n",
		      dev->noutputs, nout);
	x->dev = dev;
	x->nout = nout;
	x->vgem = kms_vgem_open();
	x->mode = kms_mode(W, H);
	x->frame_ns = kms_mode_frame_ns(&x->mode);
	for (int k = 0; k < nout; k++) {
		struct xd_out *o = &x->out[k];

		o->o = &dev->out[k];
		kms_fb_create(dev->fd, W, H, DRM_FORMAT_XRGB8888, &o->front);
		kms_fb_pattern(&o->front, 100 + k, false);
		o->crc_front = crc_of(&o->front);
		o->nbo = nbo;
		for (int i = 0; i < nbo; i++)
			kms_vgem_bo_create(dev, x->vgem, W, H,
					   DRM_FORMAT_XRGB8888, &o->bo[i]);
		kms_modeset(dev, o->o, &x->mode, &o->front);
		x->missed[k] = kms_stat(dev, o->o->index, "missed_latches");
	}
}

/* The subtest releases what xd_setup() made itself (close tests). */
static void xd_forget(struct xd *x)
{
	if (xd_live == x)
		xd_live = NULL;
}

static void xd_teardown(struct xd *x)
{
	xd_forget(x);
	for (int k = 0; k < x->nout; k++) {
		struct xd_out *o = &x->out[k];

		kms_disable(x->dev, o->o);
		for (int i = 0; i < o->nbo; i++)
			kms_vgem_bo_destroy(x->dev, &o->bo[i]);
		kms_fb_destroy(&o->front);
	}
	close(x->vgem);
}

/* Nonblocking flip of output @k's primary to @fb_id, with an event. */
static int flip(struct xd *x, int k, uint32_t fb_id, int in_fence,
		uint64_t data)
{
	struct kms_req *req = kms_req_new(x->dev);
	int ret;

	kms_req_set(req, x->out[k].o->primary, "FB_ID", fb_id);
	if (in_fence >= 0)
		kms_req_set(req, x->out[k].o->primary, "IN_FENCE_FD",
			    in_fence);
	ret = kms_req_commit_data(req, NONBLOCK_EVENT, data);
	kms_req_free(req);
	return ret;
}

/* A render job on @bo (op PATTERN of @frame), returns its out-fence. */
static int job(struct xd *x, struct kms_vgem_bo *bo, uint32_t frame,
	       uint32_t engine, uint64_t dur_ns, uint32_t flags,
	       int *in_fences, int n_in)
{
	struct vgem_bo vb = { .handle = bo->handle, .width = bo->width,
			      .height = bo->height, .pitch = bo->pitch,
			      .size = bo->size };
	struct drm_vgem_submit s = vgem_submit_desc(&vb, VGEM_OP_PATTERN);

	s.frame = frame;
	s.engine = engine;
	s.duration_ns = dur_ns;
	s.flags = flags;
	s.in_fences = (uintptr_t)in_fences;
	s.num_in_fences = n_in;
	return vgem_submit_fd(x->vgem, &s);
}

static void require_submit(struct xd *x)
{
	struct drm_vgem_submit s = { .op = 99 };

	/* ours says EINVAL for a bad op; the stock vgem has no SUBMIT */
	igt_require_f(__vgem_submit(x->vgem, &s) == -EINVAL,
		      "vgem without SUBMIT (the stock one)\n");
}

/*
 * The flip is held: @n vblanks pass with no event, the fence (if given)
 * unsignaled, and one flip gated on output @k.
 */
static void assert_held(struct xd *x, int k, int fence, int n)
{
	int idx = x->out[k].o->index;

	kms_wait_vblank(x->dev->fd, idx, n, NULL);
	igt_assert_f(!kms_event_ready(x->dev->fd), "flip event too early\n");
	if (fence >= 0)
		igt_assert_eq(kms_sync_file_status(fence, NULL), 0);
	igt_assert_eq(kms_stat(x->dev, idx, "gated_pending"), 1);
}

/*
 * The flip event of output @k after @fence signaled (with @status: 1 or
 * the error): it came after the signal, at the first vblank after it (or
 * later with a missed latch counted), and at a vblank later than
 * @seq_before (read before the signal).
 */
static struct kms_event wait_latch(struct xd *x, int k, int fence,
				   int status, uint32_t seq_before)
{
	struct kms_event ev;
	uint64_t sig, missed, armed;

	igt_assert_f(kms_read_event(x->dev->fd, 5000, &ev), "no flip event\n");
	igt_assert_eq(ev.type, DRM_EVENT_FLIP_COMPLETE);
	igt_assert_eq(ev.crtc_id, x->out[k].o->crtc_id);
	/* the event is sent after the latch, so the fence has signaled */
	igt_assert_eq(kms_sync_file_status(fence, &sig), status);
	igt_assert_f((int32_t)(ev.sequence - seq_before) > 0,
		     "flip at vblank %u, signal after vblank %u\n",
		     ev.sequence, seq_before);
	/* event times are whole microseconds */
	igt_assert_f(ev.ts_ns + 1000 > sig, "flip at %llu, before the signal at %llu\n",
		     (unsigned long long)ev.ts_ns, (unsigned long long)sig);
	/*
	 * Armed after the signal, and latched at the first vblank after
	 * its arming unless vkms says it missed that latch: a busy host may
	 * run the vblank timer or the composer (the scan-out) late, and the
	 * flip then waits. A late flip that vkms does not account for is a
	 * bug. The bound runs from the arming, not the signal: the fence
	 * callback arms the flip at once, but a host may stall the guest's
	 * vCPU between the two (seen in make check-debug: 2.62 frames from
	 * signal to latch, none missed); that gap is the benchmarks' to
	 * measure (bench flip, signal to armed), so it is only reported.
	 */
	missed = kms_stat(x->dev, x->out[k].o->index, "missed_latches");
	armed = kms_stat(x->dev, x->out[k].o->index, "latched_armed_ns");
	igt_assert_f(armed >= sig, "flip armed at %llu, before the signal at %llu\n",
		     (unsigned long long)armed, (unsigned long long)sig);
	igt_assert_f(ev.ts_ns < armed + 2 * x->frame_ns ||
		     missed > x->missed[k],
		     "flip %.2f frames after its arming, no missed latch counted\n",
		     (double)(ev.ts_ns - armed) / x->frame_ns);
	if (ev.ts_ns >= sig + 2 * x->frame_ns)
		igt_info("flip %.2f frames after the signal (%.2f after its arming): %llu missed latches\n",
			 (double)(ev.ts_ns - sig) / x->frame_ns,
			 (double)(ev.ts_ns - armed) / x->frame_ns,
			 (unsigned long long)(missed - x->missed[k]));
	x->missed[k] = missed;
	return ev;
}

/* ---- cf_timeline and sw_sync --------------------------------------------- */

static int timeline_open(void)
{
	int fd = open(TIMELINE, O_RDWR | O_CLOEXEC);

	igt_require_f(fd >= 0, "no %s (tests/kmod/cf_timeline.ko)\n",
		      TIMELINE);
	return fd;
}

static int timeline_fence(int tl, uint32_t seqno)
{
	struct cf_timeline_create c = { .seqno = seqno, .fd = -1 };

	do_ioctl(tl, CF_TIMELINE_IOC_CREATE, &c);
	igt_assert_gte(c.fd, 0);
	return c.fd;
}

static void timeline_signal(int tl, uint32_t value, int error)
{
	struct cf_timeline_signal s = { .value = value, .error = error };

	do_ioctl(tl, CF_TIMELINE_IOC_SIGNAL, &s);
}

/* sw_sync's interface (drivers/dma-buf/sw_sync.c; no uapi header). */
struct sw_sync_create_fence_data {
	uint32_t value;
	char name[32];
	int32_t fence;
};

#define SW_SYNC_IOC_CREATE_FENCE _IOWR('W', 0, struct sw_sync_create_fence_data)
#define SW_SYNC_IOC_INC _IOW('W', 1, uint32_t)

/* ---- the subtests --------------------------------------------------------- */

/*
 * Flip output 0 to @bo gated by @fence (IN_FENCE_FD if @explicit, else
 * the buffer's implicit fence): held for HOLD_VBLANKS vblanks showing the
 * old frame; @release() signals; the flip latches at the first vblank
 * after the signal and shows @crc_new from then on.
 */
/* CROSSDEV_FAIL=NAME: subtest NAME fails here (reset-after-failure). */
static const char *running_subtest;

static void injected_failure(void)
{
	const char *want = getenv("CROSSDEV_FAIL");

	igt_assert_f(!want || !running_subtest || strcmp(want, running_subtest),
		     "injected failure (CROSSDEV_FAIL=%s)\n", want);
}

static void gated_flip(struct xd *x, struct kms_vgem_bo *bo, int fence,
		       bool explicit, uint32_t crc_new, int status,
		       void (*release)(void *), void *arg)
{
	struct xd_out *o = &x->out[0];
	uint32_t seq0, errors0, vbl;
	struct crc_log *log;
	struct kms_event ev;
	int n;

	errors0 = kms_stat(x->dev, 0, "fence_errors");
	log = crc_log_start(x->dev, 0);
	vbl = kms_vblank_now(x->dev->fd, 0, NULL);
	igt_assert_eq(flip(x, 0, bo->fb_id, explicit ? fence : -1, 1), 0);
	assert_held(x, 0, fence, HOLD_VBLANKS);
	injected_failure();

	seq0 = kms_vblank_now(x->dev->fd, 0, NULL);
	release(arg);
	ev = wait_latch(x, 0, fence, status, seq0);
	igt_assert_eq(ev.user_data, 1);
	igt_assert_eq(kms_stat(x->dev, 0, "gated_pending"), 0);
	igt_assert_eq(kms_stat(x->dev, 0, "fence_errors"),
		      errors0 + (status < 0));

	crc_log_stop(log, x->dev, 0, ev.sequence + 2);
	/* the old frame through every held vblank, then the new one */
	igt_assert_f((int32_t)(ev.sequence - vbl) > HOLD_VBLANKS,
		     "held from vblank %u to %u only\n", vbl, ev.sequence);
	crc_log_verify(log, o->crc_front, &ev.sequence, &crc_new, 1);
	/* and the capture saw the held vblanks (its first may be missed) */
	for (n = 0; n < log->n && (int32_t)(log->seq[n] - ev.sequence) < 0; n++)
		;
	igt_assert_gte(n, HOLD_VBLANKS - 1);
	free(log);
}

struct vgem_release {
	int vgem;
	uint32_t id;
	int wait_fd;	/* a fence that signals later, by itself */
};

static void release_vgem(void *p)
{
	struct vgem_release *r = p;

	vgem_fence_signal(r->vgem, r->id);
	if (r->wait_fd >= 0)
		igt_assert(sync_fence_wait(r->wait_fd, 5000));
}

/* FENCE_ATTACH with VGEM_FENCE_WRITE on the buffer: the implicit fence. */
static void test_implicit(struct kms_dev *dev)
{
	struct kms_vgem_bo *bo;
	struct vgem_release r;
	struct kms_fb view;
	struct xd x;
	int sf;

	xd_setup(&x, dev, 1, 1);
	bo = &x.out[0].bo[0];
	/* already drawn: only the fence holds it back */
	view = bo_view(bo);
	kms_fb_pattern(&view, 7, false);
	r.vgem = x.vgem;
	r.id = vgem_fence_attach(x.vgem, bo->handle, true);
	r.wait_fd = -1;
	/* the write fence, for its state and signal time */
	sf = dmabuf_export_sync_file(bo->dmabuf_fd, true);
	gated_flip(&x, bo, sf, false, crc_of(&view), 1, release_vgem, &r);
	close(sf);
	xd_teardown(&x);
}

/*
 * IN_FENCE_FD = a SUBMIT out-fence. The job itself waits for a fence
 * attached on another buffer, so it stays unsignaled as long as needed;
 * it draws its pattern only just before it signals.
 */
static void test_submit_in_fence(struct kms_dev *dev)
{
	struct vgem_bo gate = { .width = 4, .height = 4 };
	struct kms_vgem_bo *bo;
	struct vgem_release r;
	struct xd x;
	int gate_sf, out;

	xd_setup(&x, dev, 1, 1);
	require_submit(&x);
	bo = &x.out[0].bo[0];
	vgem_create(x.vgem, &gate);
	r.vgem = x.vgem;
	r.id = vgem_fence_attach(x.vgem, gate.handle, true);
	{
		int dmabuf = prime_handle_to_fd(x.vgem, gate.handle);

		gate_sf = dmabuf_export_sync_file(dmabuf, true);
		close(dmabuf);
	}
	out = job(&x, bo, 42, 0, 5 * MS, 0, &gate_sf, 1);
	r.wait_fd = out;
	gated_flip(&x, bo, out, true, pattern_crc(42), 1, release_vgem, &r);
	close(out);
	close(gate_sf);
	gem_close(x.vgem, gate.handle);
	xd_teardown(&x);
}

static unsigned int test_seed(void)
{
	const char *env = getenv("CROSSDEV_SEED");

	return env ? strtoul(env, NULL, 0) : (unsigned int)time(NULL);
}

/*
 * 500 frames: a job draws frame i's pattern into buffer i % 3 (random
 * duration, 0-25 ms: some frames take longer than a vblank), a flip to it
 * at once, the event awaited. Each flip's event comes after its fence
 * signaled; every captured vblank shows the CRC of the last frame latched,
 * and every frame shows at its own vblank. A flip latched before its job
 * drew would show frame i - 3.
 */
static void test_frames(struct kms_dev *dev, int frames)
{
	uint32_t *lseq = calloc(frames, sizeof(*lseq));
	uint32_t *lcrc = calloc(frames, sizeof(*lcrc));
	unsigned int seed = test_seed();
	int first = 0, busy = 0;
	struct crc_log *log;
	struct xd x;

	igt_assert(lseq && lcrc);
	igt_info("seed %u (CROSSDEV_SEED)\n", seed);
	igt_set_timeout(600);
	xd_setup(&x, dev, 1, RING);
	require_submit(&x);
	for (int i = 0; i < frames; i++)
		lcrc[i] = pattern_crc(i + 1);

	log = crc_log_start(dev, 0);
	for (int i = 0; i < frames; i++) {
		struct kms_vgem_bo *bo = &x.out[0].bo[i % RING];
		uint64_t dur = (uint64_t)(rand_r(&seed) % 26) * MS;
		struct kms_event ev;
		uint64_t sig;
		int fence, ret, tries = 0;

		fence = job(&x, bo, i + 1, 0, dur, 0, NULL, 0);
		/* the last flip's commit may still be cleaning up */
		while ((ret = flip(&x, 0, bo->fb_id, -1, i)) == -EBUSY &&
		       tries++ < 100000)
			busy++;
		igt_assert_eq(ret, 0);
		igt_assert_f(kms_read_event(dev->fd, 5000, &ev),
			     "no event for frame %d\n", i);
		igt_assert_eq(ev.user_data, (uint64_t)i);
		igt_assert_f(kms_sync_file_status(fence, &sig) == 1,
			     "frame %d flipped, its fence not signaled\n", i);
		igt_assert_f(ev.ts_ns + 1000 > sig,
			     "frame %d flipped at %llu before its signal at %llu\n",
			     i, (unsigned long long)ev.ts_ns,
			     (unsigned long long)sig);
		if (i)
			igt_assert_f((int32_t)(ev.sequence - lseq[i - 1]) > 0,
				     "frame %d at vblank %u, frame %d at %u\n",
				     i, ev.sequence, i - 1, lseq[i - 1]);
		lseq[i] = ev.sequence;
		first += ev.ts_ns < sig + x.frame_ns;
		close(fence);
	}
	crc_log_stop(log, dev, 0, lseq[frames - 1] + 2);
	igt_info("%d frames over vblanks %u-%u, %d CRCs checked; %d latched at the first vblank after the signal, %d EBUSY retries, %llu missed latches in total\n",
		 frames, lseq[0], lseq[frames - 1],
		 crc_log_verify(log, x.out[0].crc_front, lseq, lcrc, frames),
		 first, busy,
		 (unsigned long long)kms_stat(dev, 0, "missed_latches"));
	free(log);
	free(lseq);
	free(lcrc);
	xd_teardown(&x);
}

/*
 * Two engines, two outputs, jobs completing out of order. Each round, one
 * output's job (engine k for output k) is submitted first but waits for a
 * gate fence; the other's, submitted second on the other engine, completes
 * and its output flips while the first output keeps its old frame with
 * its flip held. Then the gate opens and the first output flips too. The
 * held side alternates. Every vblank of both outputs is checked by CRC.
 */
static void test_two_engines(struct kms_dev *dev)
{
	enum { ROUNDS = 12 };
	uint32_t lseq[2][ROUNDS], lcrc[2][ROUNDS];
	struct crc_log *log[2];
	unsigned int seed = test_seed();
	struct xd x;

	xd_setup(&x, dev, 2, 2);
	require_submit(&x);
	igt_require(module_param_read("vgem", "engines") >= 2);

	for (int k = 0; k < 2; k++)
		log[k] = crc_log_start(dev, k);
	for (int r = 0; r < ROUNDS; r++) {
		int held = r % 2, free_ = !held, fd[2], gate_sf, dmabuf;
		struct vgem_bo gate = { .width = 4, .height = 4 };
		uint64_t sig[2];
		uint32_t id, seq0;
		struct kms_event ev;

		vgem_create(x.vgem, &gate);
		id = vgem_fence_attach(x.vgem, gate.handle, true);
		dmabuf = prime_handle_to_fd(x.vgem, gate.handle);
		gate_sf = dmabuf_export_sync_file(dmabuf, true);
		close(dmabuf);

		/* submitted first, completes last */
		fd[held] = job(&x, &x.out[held].bo[r % 2], 2 * r + held + 1,
			       held, (rand_r(&seed) % 8) * MS, 0, &gate_sf, 1);
		fd[free_] = job(&x, &x.out[free_].bo[r % 2],
				2 * r + free_ + 1, free_,
				(rand_r(&seed) % 8) * MS, 0, NULL, 0);
		for (int k = 0; k < 2; k++) {
			lcrc[k][r] = pattern_crc(2 * r + k + 1);
			igt_assert_eq(flip(&x, k, x.out[k].bo[r % 2].fb_id, -1,
					   2 * r + k), 0);
		}

		igt_assert_f(kms_read_event(dev->fd, 5000, &ev),
			     "round %d: no flip\n", r);
		igt_assert_eq(ev.crtc_id, x.out[free_].o->crtc_id);
		igt_assert_eq(ev.user_data, 2 * r + free_);
		igt_assert_eq(kms_sync_file_status(fd[free_], &sig[free_]), 1);
		igt_assert(ev.ts_ns + 1000 > sig[free_]);
		lseq[free_][r] = ev.sequence;
		/* the other one still held, its job waiting */
		assert_held(&x, held, fd[held], 2);

		seq0 = kms_vblank_now(dev->fd, held, NULL);
		vgem_fence_signal(x.vgem, id);
		igt_assert(sync_fence_wait(fd[held], 5000));
		ev = wait_latch(&x, held, fd[held], 1, seq0);
		igt_assert_eq(ev.user_data, 2 * r + held);
		lseq[held][r] = ev.sequence;
		kms_sync_file_status(fd[held], &sig[held]);
		/* out of order: the job submitted first signaled last */
		igt_assert_lt(sig[free_], sig[held]);
		for (int k = 0; k < 2; k++)
			close(fd[k]);
		close(gate_sf);
		gem_close(x.vgem, gate.handle);
	}
	for (int k = 0; k < 2; k++) {
		crc_log_stop(log[k], dev, k, lseq[k][ROUNDS - 1] + 2);
		igt_info("output %d: %d CRCs checked\n", k,
			 crc_log_verify(log[k], x.out[k].crc_front, lseq[k],
					lcrc[k], ROUNDS));
		free(log[k]);
	}
	xd_teardown(&x);
}

static int hang_ms_saved = -1;

static void set_hang_ms(int ms)
{
	FILE *f = fopen("/sys/module/vgem/parameters/hang_ms", "w");

	igt_require(f);
	fprintf(f, "%d\n", ms);
	igt_assert_eq(fclose(f), 0);
}

/*
 * A job that hangs (VGEM_SUBMIT_HANG) gates a flip on output 0; the hang
 * check fails its fence with ETIMEDOUT and the flip happens then, showing
 * the buffer as it is. Meanwhile nothing stalls: the other engine's job
 * completes and flips output 1 while the hung one is pending, and a job
 * queued behind the hung one on its engine runs after it.
 */
static void test_hung_job(struct kms_dev *dev)
{
	int nout = dev->noutputs >= 2 ? 2 : 1, hung, next, other = -1;
	struct kms_vgem_bo *bo, *bo2;
	uint32_t seq0, crc_hung, errors0, lseq[2], lcrc[2];
	struct crc_log *log;
	struct kms_event ev;
	struct kms_fb view;
	struct xd x;

	xd_setup(&x, dev, nout, 2);
	require_submit(&x);
	if (hang_ms_saved < 0)
		hang_ms_saved = module_param_read("vgem", "hang_ms");
	/* long enough to see it held, short enough for the test */
	set_hang_ms(1000);
	bo = &x.out[0].bo[0];
	bo2 = &x.out[0].bo[1];
	view = bo_view(bo);
	kms_fb_pattern(&view, 9, false);
	errors0 = kms_stat(dev, 0, "fence_errors");
	log = crc_log_start(dev, 0);

	hung = job(&x, bo, 5, 0, 1 * MS, VGEM_SUBMIT_HANG, NULL, 0);
	/* behind it on engine 0 */
	next = job(&x, bo2, 6, 0, 1 * MS, VGEM_SUBMIT_NO_IMPLICIT, NULL, 0);
	igt_assert_eq(flip(&x, 0, bo->fb_id, hung, 1), 0);
	assert_held(&x, 0, hung, 3);

	if (nout == 2 && module_param_read("vgem", "engines") >= 2) {
		struct kms_vgem_bo *b1 = &x.out[1].bo[0];

		seq0 = kms_vblank_now(dev->fd, 1, NULL);
		other = job(&x, b1, 7, 1, 1 * MS, 0, NULL, 0);
		igt_assert_eq(flip(&x, 1, b1->fb_id, other, 2), 0);
		ev = wait_latch(&x, 1, other, 1, seq0);
		igt_assert_eq(ev.user_data, 2);
		/* engine 1 went on while engine 0 hangs */
		igt_assert_eq(kms_sync_file_status(hung, NULL), 0);
		close(other);
	}

	/* the hang check: the fence fails, the flip happens */
	seq0 = kms_vblank_now(dev->fd, 0, NULL);
	igt_assert(sync_fence_wait(hung, 10000));
	ev = wait_latch(&x, 0, hung, -ETIMEDOUT, seq0);
	igt_assert_eq(ev.user_data, 1);
	igt_assert_eq(kms_stat(dev, 0, "fence_errors"), errors0 + 1);
	crc_hung = crc_of(&view);
	lseq[0] = ev.sequence;
	lcrc[0] = crc_hung;

	/*
	 * The engine recovered: the job behind it ran and drew (it may be
	 * done already: the flip is then an ordinary one).
	 */
	igt_assert_eq(flip(&x, 0, bo2->fb_id, next, 3), 0);
	igt_assert(kms_read_event(dev->fd, 5000, &ev));
	igt_assert_eq(ev.user_data, 3);
	igt_assert_eq(kms_sync_file_status(next, NULL), 1);
	lseq[1] = ev.sequence;
	lcrc[1] = pattern_crc(6);
	igt_assert_eq(kms_stat(dev, 0, "fence_errors"), errors0 + 1);
	crc_log_stop(log, dev, 0, lseq[1] + 2);
	crc_log_verify(log, x.out[0].crc_front, lseq, lcrc, 2);
	free(log);

	set_hang_ms(hang_ms_saved);
	close(hung);
	close(next);
	xd_teardown(&x);
}

struct tl_release {
	int tl;
	uint32_t value;
	int error;
};

static void release_timeline(void *p)
{
	struct tl_release *r = p;

	timeline_signal(r->tl, r->value, r->error);
}

/*
 * A fence of another driver: cf_timeline's, a plain dma_fence. Given as
 * IN_FENCE_FD, or put into the buffer's reservation as its write fence
 * (DMA_BUF_IOCTL_IMPORT_SYNC_FILE), the implicit path. With an error, the
 * flip still happens and the error is counted.
 */
static void test_timeline(struct kms_dev *dev, bool explicit, int error)
{
	char driver[32], timeline[32];
	struct tl_release r;
	struct kms_vgem_bo *bo;
	struct kms_fb view;
	struct xd x;
	int fence;

	r.tl = timeline_open();
	r.value = 3;
	r.error = error;
	xd_setup(&x, dev, 1, 1);
	bo = &x.out[0].bo[0];
	view = bo_view(bo);
	kms_fb_pattern(&view, 11, false);
	fence = timeline_fence(r.tl, 3);
	sync_fence_names(fence, driver, timeline);
	igt_assert_eq(strcmp(driver, "cf_timeline"), 0);
	if (!explicit) {
		struct dma_buf_import_sync_file imp = {
			.flags = DMA_BUF_SYNC_WRITE, .fd = fence,
		};

		igt_require_f(igt_ioctl(bo->dmabuf_fd,
					DMA_BUF_IOCTL_IMPORT_SYNC_FILE,
					&imp) == 0,
			      "no DMA_BUF_IOCTL_IMPORT_SYNC_FILE: %s\n",
			      strerror(errno));
	}
	/* an earlier point of the timeline does not release it */
	timeline_signal(r.tl, 2, 0);
	gated_flip(&x, bo, fence, explicit, crc_of(&view), error ? error : 1,
		   release_timeline, &r);
	close(fence);
	close(r.tl);
	xd_teardown(&x);
}

struct sw_release {
	int fd;
};

static void release_sw_sync(void *p)
{
	struct sw_release *r = p;
	uint32_t inc = 1;

	do_ioctl(r->fd, SW_SYNC_IOC_INC, &inc);
}

/* sw_sync, where the kernel has it (the debug kernel; not Debian's). */
static void test_sw_sync(struct kms_dev *dev)
{
	struct sw_sync_create_fence_data c = { .value = 1, .name = "crossdev" };
	struct sw_release r;
	struct kms_fb view;
	struct xd x;

	r.fd = open(SW_SYNC, O_RDWR | O_CLOEXEC);
	igt_require_f(r.fd >= 0, "no %s (CONFIG_SW_SYNC)\n", SW_SYNC);
	do_ioctl(r.fd, SW_SYNC_IOC_CREATE_FENCE, &c);
	xd_setup(&x, dev, 1, 1);
	view = bo_view(&x.out[0].bo[0]);
	kms_fb_pattern(&view, 13, false);
	gated_flip(&x, &x.out[0].bo[0], c.fence, true, crc_of(&view), 1,
		   release_sw_sync, &r);
	close(c.fence);
	close(r.fd);
	xd_teardown(&x);
}

/* ---- teardown with flips gated ------------------------------------------- */

/*
 * The module's reference count returns to @want: polled, for at most 10 s
 * (the last references go with jobs, workers and RCU callbacks).
 */
static void wait_refcnt(const char *module, long want)
{
	char path[128], buf[32] = "";
	long now = -1;

	snprintf(path, sizeof(path), "/sys/module/%s/refcnt", module);
	for (int i = 0; i < 500; i++) {
		int fd = open(path, O_RDONLY);
		ssize_t n;

		igt_require_f(fd >= 0, "no %s\n", path);
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		igt_assert_gt(n, 0);
		buf[n] = 0;
		now = strtol(buf, NULL, 10);
		if (now == want)
			return;
		usleep(20000);
	}
	igt_assert_f(now == want, "%s refcnt %ld, was %ld before\n", module,
		     now, want);
}

static long refcnt(const char *module)
{
	char path[128], buf[32] = "";
	int fd;

	snprintf(path, sizeof(path), "/sys/module/%s/refcnt", module);
	fd = open(path, O_RDONLY);
	igt_require_f(fd >= 0, "no %s\n", path);
	igt_assert_gt(read(fd, buf, sizeof(buf) - 1), 0);
	close(fd);
	return strtol(buf, NULL, 10);
}

/*
 * Every vgem handle goes (the file, the dma-buf fd, the mapping) while a
 * flip is gated on a job of that file, itself waiting for a foreign fence:
 * the job still runs when released, draws, signals; the flip happens and
 * shows its frame; vgem's references all go.
 */
static void test_close_vgem(struct kms_dev *dev)
{
	struct kms_vgem_bo *bo;
	struct crc_log *log;
	struct kms_event ev;
	uint32_t seq0, crc;
	int tl, gate, out;
	long vgem_refs;
	struct xd x;

	tl = timeline_open();
	vgem_refs = refcnt("vgem");
	xd_setup(&x, dev, 1, 1);
	require_submit(&x);
	bo = &x.out[0].bo[0];
	gate = timeline_fence(tl, 1);
	out = job(&x, bo, 77, 0, 2 * MS, 0, &gate, 1);
	log = crc_log_start(dev, 0);
	igt_assert_eq(flip(&x, 0, bo->fb_id, -1, 1), 0);

	/* vkms keeps the buffer (its import and framebuffer) */
	munmap(bo->map, bo->size);
	close(bo->dmabuf_fd);
	close(x.vgem);
	assert_held(&x, 0, out, HOLD_VBLANKS);

	seq0 = kms_vblank_now(dev->fd, 0, NULL);
	timeline_signal(tl, 1, 0);
	igt_assert(sync_fence_wait(out, 5000));
	ev = wait_latch(&x, 0, out, 1, seq0);
	crc = pattern_crc(77);
	crc_log_stop(log, dev, 0, ev.sequence + 2);
	crc_log_verify(log, x.out[0].crc_front, &ev.sequence, &crc, 1);
	free(log);
	close(out);
	close(gate);
	close(tl);

	kms_disable(dev, x.out[0].o);
	drmModeRmFB(dev->fd, bo->fb_id);
	{
		struct drm_gem_close cl = { .handle = bo->kms_handle };

		do_ioctl(dev->fd, DRM_IOCTL_GEM_CLOSE, &cl);
	}
	kms_fb_destroy(&x.out[0].front);
	xd_forget(&x);
	wait_refcnt("vgem", vgem_refs);
}

/*
 * The vkms file goes while its flip is gated on a vgem job that waits for
 * a foreign fence: the flip is cancelled at once (the job still pending),
 * the job runs when released, and vgem's references all go.
 */
static void test_close_vkms(struct kms_dev *dev)
{
	struct kms_vgem_bo *bo;
	uint64_t cancelled;
	int tl, gate, out, vgem;
	long vgem_refs;
	struct xd x;

	tl = timeline_open();
	vgem_refs = refcnt("vgem");
	xd_setup(&x, dev, 1, 1);
	require_submit(&x);
	vgem = x.vgem;
	bo = &x.out[0].bo[0];
	cancelled = kms_stat(dev, 0, "flips_cancelled");
	gate = timeline_fence(tl, 1);
	out = job(&x, bo, 78, 0, 2 * MS, 0, &gate, 1);
	igt_assert_eq(flip(&x, 0, bo->fb_id, out, 1), 0);
	assert_held(&x, 0, out, 2);

	munmap(x.out[0].front.map, x.out[0].front.size);
	kms_close(dev);
	igt_assert_eq(kms_sync_file_status(out, NULL), 0);
	kms_open(dev);
	igt_assert_eq(kms_stat(dev, 0, "gated_pending"), 0);
	igt_assert_eq(kms_stat(dev, 0, "flips_cancelled"), cancelled + 1);

	timeline_signal(tl, 1, 0);
	igt_assert(sync_fence_wait(out, 5000));
	igt_assert_eq(kms_sync_file_status(out, NULL), 1);
	close(out);
	close(gate);
	close(tl);

	/* the display works on */
	{
		struct kms_fb front;
		struct kms_crc crc;
		uint32_t seq;

		kms_fb_create(dev->fd, W, H, DRM_FORMAT_XRGB8888, &front);
		kms_fb_pattern(&front, 5, false);
		kms_modeset(dev, &dev->out[0], &x.mode, &front);
		seq = kms_vblank_now(dev->fd, 0, NULL);
		kms_crc_start(dev, 0, &crc);
		igt_assert_eq(kms_crc_at(&crc, seq + 1, NULL), crc_of(&front));
		kms_crc_stop(&crc);
		kms_disable(dev, &dev->out[0]);
		kms_fb_destroy(&front);
	}
	munmap(bo->map, bo->size);
	close(bo->dmabuf_fd);
	gem_close(vgem, bo->handle);
	close(vgem);
	xd_forget(&x);
	wait_refcnt("vgem", vgem_refs);
}

/*
 * A process with a flip gated (on its own vgem job, waiting for a fence
 * this process holds) is killed: its files go, the flip is cancelled, the
 * job still runs once released, and the device works on.
 */
static void test_kill(struct kms_dev *dev)
{
	struct vgem_bo gate = { .width = 4, .height = 4 };
	int vgem, gate_sf, ready[2], status, dmabuf;
	uint64_t cancelled;
	long vgem_refs;
	uint32_t id;
	char c = 0;
	pid_t pid;

	vgem_refs = refcnt("vgem");
	vgem = kms_vgem_open();
	{
		struct xd probe = { .vgem = vgem };

		require_submit(&probe);
	}
	vgem_create(vgem, &gate);
	id = vgem_fence_attach(vgem, gate.handle, true);
	dmabuf = prime_handle_to_fd(vgem, gate.handle);
	gate_sf = dmabuf_export_sync_file(dmabuf, true);
	close(dmabuf);
	cancelled = kms_stat(dev, 0, "flips_cancelled");
	/* the child becomes the display's master */
	kms_close(dev);
	igt_assert_eq(pipe(ready), 0);
	fflush(stdout);
	pid = fork();
	igt_assert_gte(pid, 0);
	if (pid == 0) {
		struct kms_dev cdev;
		struct xd x;
		int out;

		/* a failed assertion here ends the child, not the test */
		if (sigsetjmp(igt_jmp, 1))
			_exit(3);
		close(ready[0]);
		kms_open(&cdev);
		xd_setup(&x, &cdev, 1, 1);
		out = job(&x, &x.out[0].bo[0], 79, 0, 2 * MS, 0, &gate_sf, 1);
		igt_assert_eq(flip(&x, 0, x.out[0].bo[0].fb_id, out, 1), 0);
		igt_assert_eq(write(ready[1], "r", 1), 1);
		for (;;)
			pause();
	}
	close(ready[1]);
	{
		struct pollfd p = { .fd = ready[0], .events = POLLIN };

		igt_assert_eq(poll(&p, 1, 20000), 1);
		igt_assert_eq(read(ready[0], &c, 1), 1);
	}
	close(ready[0]);
	/* a second file, for vblanks and counters: the child's flip is held */
	dev->fd = drm_open_driver("vkms");
	kms_wait_vblank(dev->fd, 0, 2, NULL);
	igt_assert_eq(kms_stat(dev, 0, "gated_pending"), 1);
	igt_assert(sync_fence_busy(gate_sf));

	igt_assert_eq(kill(pid, SIGKILL), 0);
	igt_assert_eq(waitpid(pid, &status, 0), pid);
	igt_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	igt_assert_eq(kms_stat(dev, 0, "gated_pending"), 0);
	igt_assert_eq(kms_stat(dev, 0, "flips_cancelled"), cancelled + 1);

	/* the dead child's job runs once released, then all goes */
	vgem_fence_signal(vgem, id);
	close(gate_sf);
	gem_close(vgem, gate.handle);
	close(vgem);
	wait_refcnt("vgem", vgem_refs);

	/* master again: the display works */
	close(dev->fd);
	kms_open(dev);
	{
		drmModeModeInfo mode = kms_mode(W, H);
		struct kms_fb front;
		struct kms_crc crc;
		uint32_t seq;

		kms_fb_create(dev->fd, W, H, DRM_FORMAT_XRGB8888, &front);
		kms_fb_pattern(&front, 6, false);
		kms_modeset(dev, &dev->out[0], &mode, &front);
		seq = kms_vblank_now(dev->fd, 0, NULL);
		kms_crc_start(dev, 0, &crc);
		igt_assert_eq(kms_crc_at(&crc, seq + 1, NULL), crc_of(&front));
		kms_crc_stop(&crc);
		kms_disable(dev, &dev->out[0]);
		kms_fb_destroy(&front);
	}
}

/* ---- after each subtest --------------------------------------------------- */

/*
 * Run this program on three subtests, the first made to fail with its
 * flip gated, its vgem fence unsignaled and its CRC capture running: the
 * two after it must pass in the same process.
 */
static void test_reset_after_failure(struct kms_dev *dev)
{
	char out[16384];
	int pipefd[2], status;
	size_t len = 0;
	ssize_t n;
	pid_t pid;

	igt_assert_eq(pipe(pipefd), 0);
	/* the child must be the display's master */
	kms_close(dev);
	fflush(stdout);
	pid = fork();
	igt_assert_gte(pid, 0);
	if (pid == 0) {
		dup2(pipefd[1], 1);
		close(pipefd[0]);
		close(pipefd[1]);
		setenv("CROSSDEV_FAIL", "implicit-fence", 1);
		execl("/proc/self/exe", "crossdev_flip", "--run-subtest",
		      "*-fence", (char *)NULL);
		_exit(127);
	}
	close(pipefd[1]);
	while (len < sizeof(out) - 1 &&
	       (n = read(pipefd[0], out + len, sizeof(out) - 1 - len)) > 0)
		len += n;
	out[len] = 0;
	close(pipefd[0]);
	igt_assert_eq(waitpid(pid, &status, 0), pid);
	kms_open(dev);
	igt_info("---- the run, indented ----\n");
	for (char *line = out, *end; *line; line = end) {
		end = strchrnul(line, '\n');
		igt_info("  | %.*s\n", (int)(end - line), line);
		if (*end)
			end++;
	}
	igt_assert(WIFEXITED(status));
	igt_assert_eq(WEXITSTATUS(status), IGT_EXIT_FAILURE);
	igt_assert(strstr(out, "Subtest implicit-fence: FAIL"));
	igt_assert(strstr(out, "injected failure"));
	igt_assert(strstr(out, "Subtest submit-in-fence: SUCCESS"));
	igt_assert(strstr(out, "Subtest timeline-in-fence: SUCCESS"));
}

/*
 * What a failed subtest left behind goes, so the next one starts clean:
 * capture threads stop, the vkms file is closed first (which cancels the
 * flips still gated at once and drops their events; removing their
 * framebuffers one by one would wait for them), then the vgem buffers and
 * vgem go, and vkms is opened anew. Nothing here asserts but kms_open().
 */
static void subtest_reset(void *arg)
{
	struct kms_dev *dev = arg;
	struct xd *x = xd_live;
	bool left = x;

	for (int k = 0; k < 2; k++) {
		if (logs_live[k]) {
			crc_log_abort(logs_live[k]);
			left = true;
		}
	}
	for (int k = 0; x && k < x->nout; k++) {
		if (x->out[k].front.map)
			munmap(x->out[k].front.map, x->out[k].front.size);
		x->out[k].front.map = NULL;
	}
	if (left)
		kms_close(dev);
	for (int k = 0; x && k < x->nout; k++) {
		struct xd_out *o = &x->out[k];

		for (int i = 0; i < o->nbo; i++) {
			if (!o->bo[i].handle)
				continue;
			munmap(o->bo[i].map, o->bo[i].size);
			close(o->bo[i].dmabuf_fd);
			o->bo[i].handle = 0;
		}
	}
	if (x && x->vgem >= 0)
		close(x->vgem);
	xd_live = NULL;
	if (hang_ms_saved >= 0 &&
	    module_param_read("vgem", "hang_ms") != hang_ms_saved) {
		FILE *f = fopen("/sys/module/vgem/parameters/hang_ms", "w");

		if (f) {
			fprintf(f, "%d\n", hang_ms_saved);
			fclose(f);
		}
	}
	if (left) {
		igt_info("reset: the subtest left a set-up behind\n");
		kms_open(dev);
	}
}

/* A subtest whose leftovers subtest_reset() clears, pass or fail. */
#define xd_subtest(name, dev)						\
	igt_subtest(name)						\
		for (int __g = (igt_cleanup_push(subtest_reset, dev),	\
				running_subtest = name, 1);		\
		     __g; __g = 0, igt_cleanup_pop(dev, true))

igt_main
{
	struct kms_dev dev = { .fd = -1 };

	igt_fixture {
		kms_open(&dev);
		igt_require(kms_param_get("gate") >= 0);
	}

	xd_subtest("implicit-fence", &dev)
		test_implicit(&dev);
	xd_subtest("submit-in-fence", &dev)
		test_submit_in_fence(&dev);
	xd_subtest("frames-500", &dev)
		test_frames(&dev, 500);
	xd_subtest("two-engines-two-outputs", &dev)
		test_two_engines(&dev);
	xd_subtest("hung-job", &dev)
		test_hung_job(&dev);
	xd_subtest("timeline-in-fence", &dev)
		test_timeline(&dev, true, 0);
	xd_subtest("timeline-implicit", &dev)
		test_timeline(&dev, false, 0);
	xd_subtest("timeline-error", &dev)
		test_timeline(&dev, true, -EIO);
	xd_subtest("sw-sync", &dev)
		test_sw_sync(&dev);
	xd_subtest("close-vgem", &dev)
		test_close_vgem(&dev);
	xd_subtest("close-vkms", &dev)
		test_close_vkms(&dev);
	xd_subtest("kill-process", &dev)
		test_kill(&dev);
	igt_subtest("reset-after-failure")
		test_reset_after_failure(&dev);

	igt_fixture {
		if (hang_ms_saved >= 0)
			set_hang_ms(hang_ms_saved);
		kms_close(&dev);
	}
}
