// SPDX-License-Identifier: GPL-2.0
/*
 * kms_flip: page flips with events (legacy PAGE_FLIP and nonblocking
 * atomic commits), their sequence numbers and timestamps, the frame on
 * screen at each vblank (by CRC), WAIT_VBLANK, and flips on every output
 * at once.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "igt.h"
#include "kms.h"

#define W 256
#define H 192
#define NFLIPS 12

struct flip_ctx {
	struct kms_dev *dev;
	const struct kms_output *o;
	drmModeModeInfo mode;
	uint64_t frame_ns;
	struct kms_fb fb[2];
	uint32_t crc[2];
};

/* Teardown, also after a failure: events left behind are read first. */
static void flip_cleanup(void *arg)
{
	struct flip_ctx *c = arg;
	struct kms_event ev;

	while (kms_read_event(c->dev->fd, 100, &ev))
		;
	kms_disable(c->dev, c->o);
	kms_fb_destroy(&c->fb[0]);
	kms_fb_destroy(&c->fb[1]);
}

static void setup(struct flip_ctx *c, struct kms_dev *dev, int index)
{
	memset(c, 0, sizeof(*c));
	c->dev = dev;
	c->o = &dev->out[index];
	igt_cleanup_push(flip_cleanup, c);
	c->mode = kms_mode(W, H);
	c->frame_ns = kms_mode_frame_ns(&c->mode);
	for (int i = 0; i < 2; i++) {
		struct kms_layer l = {
			.fb = &c->fb[i], .w = W, .h = H, .alpha = 0xffff,
		};

		kms_fb_create(dev->fd, W, H, DRM_FORMAT_XRGB8888, &c->fb[i]);
		kms_fb_pattern(&c->fb[i], 40 + i + 2 * index, false);
		c->crc[i] = kms_ref_crc(&l, 1, W, H);
	}
	igt_assert_neq(c->crc[0], c->crc[1]);
	kms_modeset(dev, c->o, &c->mode, &c->fb[0]);
}

static void teardown(struct flip_ctx *c)
{
	igt_cleanup_pop(c, true);
}

static int flip_atomic(struct flip_ctx *c, int i, uint64_t data)
{
	struct kms_req *req = kms_req_new(c->dev);
	int ret;

	kms_req_set(req, c->o->primary, "FB_ID", c->fb[i].id);
	ret = kms_req_commit_data(req, DRM_MODE_ATOMIC_NONBLOCK |
				  DRM_MODE_PAGE_FLIP_EVENT, data);
	kms_req_free(req);
	return ret;
}

static int flip(struct flip_ctx *c, bool atomic, int i, uint64_t data)
{
	if (atomic)
		return flip_atomic(c, i, data);
	return drmModePageFlip(c->dev->fd, c->o->crtc_id, c->fb[i].id,
			       DRM_MODE_PAGE_FLIP_EVENT, (void *)(uintptr_t)data);
}

/* Back to back flips: one per vblank at most, exact sequence and times. */
static void test_flip_events(struct kms_dev *dev, bool atomic)
{
	struct flip_ctx c;
	struct kms_event ev, prev = { 0 };
	uint32_t seq0;

	setup(&c, dev, 0);
	seq0 = kms_vblank_now(dev->fd, 0, NULL);
	for (int i = 1; i <= NFLIPS; i++) {
		igt_assert_eq(flip(&c, atomic, i & 1, 0x1000 + i), 0);
		igt_assert_f(kms_read_event(dev->fd, 1000, &ev),
			     "no event for flip %d\n", i);
		igt_assert_eq(ev.type, DRM_EVENT_FLIP_COMPLETE);
		igt_assert_eq(ev.user_data, 0x1000 + i);
		if (atomic)
			igt_assert_eq(ev.crtc_id, c.o->crtc_id);
		igt_assert_gt(ev.sequence, seq0);
		if (i > 1) {
			uint32_t d = ev.sequence - prev.sequence;
			long long dt = (long long)(ev.ts_ns - prev.ts_ns);

			igt_assert_gte(d, 1);
			/* the timestamps are the vblanks' own times */
			igt_assert_f(llabs(dt - (long long)d * (long long)c.frame_ns)
				     <= 2000, "%u vblanks in %lld ns\n", d, dt);
		}
		prev = ev;
	}
	/* each flip latched at its first vblank */
	igt_assert_eq(kms_stat(dev, 0, "flips_latched") > 0, 1);
	teardown(&c);
}

/*
 * Reads the CRC entries up to the flip's vblank @seq: each one after
 * *@last (no vblank missing), @before until @seq, @after at @seq.
 */
static void crcs_until_flip(struct kms_crc *crc, uint32_t seq,
			    uint32_t before, uint32_t after, uint32_t *last)
{
	uint32_t frame, v;

	do {
		kms_crc_get(crc, &frame, &v);
		if (*last)
			igt_assert_eq(frame, *last + 1);
		*last = frame;
		if ((int32_t)(frame - seq) < 0)
			igt_assert_f(v == before,
				     "vblank %u before the flip at %u: %08x, want %08x\n",
				     frame, seq, v, before);
	} while ((int32_t)(frame - seq) < 0);
	igt_assert_f(v == after, "vblank %u of the flip: %08x, want %08x\n",
		     frame, v, after);
}

/*
 * The frame of each vblank is exactly the flipped one: with CRCs on, the
 * entry of the event's vblank shows the new buffer and the one before it
 * the old buffer.
 */
static void test_flip_crc(struct kms_dev *dev, bool atomic)
{
	struct flip_ctx c;
	struct kms_crc crc;
	struct kms_event ev;
	uint32_t frame, v, last_frame = 0;

	setup(&c, dev, 0);
	kms_crc_start(dev, 0, &crc);
	kms_crc_get(&crc, &frame, &v);
	igt_assert_eq(v, c.crc[0]);
	for (int i = 1; i <= 6; i++) {
		int cur = i & 1;

		igt_assert_eq(flip(&c, atomic, cur, i), 0);
		igt_assert(kms_read_event(dev->fd, 1000, &ev));
		/* every entry up to the flip's vblank */
		crcs_until_flip(&crc, ev.sequence, c.crc[!cur], c.crc[cur],
				&last_frame);
	}
	kms_crc_stop(&crc);
	teardown(&c);
}

/*
 * A display reports a buffer free only once scan-out has moved off it.
 * With vkms's composer (its simulated scan-out) held, as on a host too
 * busy to run it, vblanks showing buffer 0 go by unread; a flip away from
 * buffer 0 must then not complete, however many vblanks pass: the
 * composer still owes the CRCs of those vblanks and will read buffer 0
 * for them. Once the composer runs again the flip completes. The test then scribbles over buffer 0 at once, as a
 * client may after the event, and every vblank before the flip's must
 * still show buffer 0's original content.
 */
static void test_release_after_scanout(struct kms_dev *dev)
{
	uint32_t frame, v, seq, last = 0;
	uint64_t waits;
	struct flip_ctx c;
	struct kms_crc crc;
	struct kms_event ev;

	setup(&c, dev, 0);
	kms_crc_start(dev, 0, &crc);
	kms_crc_get(&crc, &frame, &v);
	igt_assert_eq(v, c.crc[0]);
	waits = kms_stat(dev, 0, "scanout_waits");

	kms_compose_hold(dev, 0, true);
	kms_wait_vblank(dev->fd, 0, 2, NULL);
	seq = kms_vblank_now(dev->fd, 0, NULL);
	igt_assert_eq(flip(&c, true, 1, 7), 0);
	kms_wait_vblank(dev->fd, 0, 4, NULL);
	igt_assert_f(!kms_event_ready(dev->fd),
		     "flip completed while scan-out still reads the old buffer\n");
	/*
	 * At least one tick held it back; not one per vblank: a handler
	 * that runs several periods late (a busy host) handles those
	 * vblanks in one run, and counts one wait.
	 */
	igt_assert_gte(kms_stat(dev, 0, "scanout_waits") - waits, 1);
	kms_compose_hold(dev, 0, false);

	igt_assert_f(kms_read_event(dev->fd, 1000, &ev), "no flip event\n");
	igt_assert_eq(ev.user_data, 7);
	igt_assert_f((int32_t)(ev.sequence - seq) > 4,
		     "flip at vblank %u, held from %u\n", ev.sequence, seq);
	/* the client reuses buffer 0 as soon as it is told it is free */
	kms_fb_fill(&c.fb[0], kms_rgb8(0xff, 0xff, 0, 0));
	crcs_until_flip(&crc, ev.sequence, c.crc[0], c.crc[1], &last);
	kms_crc_stop(&crc);
	teardown(&c);
}

/*
 * A legacy cursor update tells nobody when it latches (no event, no
 * out-fence: the helpers complete it at once), so the scan-out rule has
 * nothing to protect and must not hold it back: with the composer held,
 * so that reads of earlier vblanks stay pending, a cursor move still
 * latches within a few vblanks (a page flip there would not, see
 * release-after-scanout), and once the composer runs again the CRC of the
 * current frame shows the cursor where it was moved. Upstream IGT's
 * kms_cursor_crc, which moves the cursor, waits one vblank and reads the
 * current frame's CRC, read frames without the move when the composer
 * lagged.
 */
struct cursor_ctx {
	struct flip_ctx *c;
	struct kms_fb fb;
	struct kms_crc crc;
};

/* Also after a failure: the cursor off, its fb and the CRC reader closed. */
static void cursor_cleanup(void *arg)
{
	struct cursor_ctx *k = arg;

	drmModeSetCursor(k->c->dev->fd, k->c->o->crtc_id, 0, 0, 0);
	if (k->crc.data_fd >= 0)
		kms_crc_stop(&k->crc);
	kms_fb_destroy(&k->fb);
}

static void test_cursor_while_read(struct kms_dev *dev)
{
	struct cursor_ctx k;
	struct kms_layer l[2];
	struct flip_ctx c;
	uint64_t latched, waits;
	uint32_t seq, v, want;

	setup(&c, dev, 0);
	memset(&k, 0, sizeof(k));
	k.c = &c;
	k.crc.data_fd = -1;
	kms_fb_create(dev->fd, 64, 64, DRM_FORMAT_ARGB8888, &k.fb);
	igt_cleanup_push(cursor_cleanup, &k);
	kms_fb_pattern(&k.fb, 82, true);
	kms_crc_start(dev, 0, &k.crc);
	igt_assert_eq(drmModeSetCursor(dev->fd, c.o->crtc_id, k.fb.handle, 64,
				       64), 0);
	kms_wait_vblank(dev->fd, 0, 2, NULL);

	kms_compose_hold(dev, 0, true);
	kms_wait_vblank(dev->fd, 0, 2, NULL);
	latched = kms_stat(dev, 0, "flips_latched");
	waits = kms_stat(dev, 0, "scanout_waits");
	igt_assert_eq(drmModeMoveCursor(dev->fd, c.o->crtc_id, 100, 50), 0);
	/*
	 * A vblank handler that runs late wakes vblank waiters before it
	 * latches: look after each of up to five vblanks, not once.
	 */
	for (int i = 0; i < 5 && kms_stat(dev, 0, "flips_latched") <= latched;
	     i++)
		kms_wait_vblank(dev->fd, 0, 1, NULL);
	igt_assert_f(kms_stat(dev, 0, "flips_latched") > latched,
		     "cursor move held back by the scan-out rule (%llu waits)\n",
		     (unsigned long long)(kms_stat(dev, 0, "scanout_waits") -
					  waits));
	kms_compose_hold(dev, 0, false);

	l[0] = (struct kms_layer){ .fb = &c.fb[0], .w = W, .h = H,
				   .alpha = 0xffff };
	l[1] = (struct kms_layer){ .fb = &k.fb, .crtc_x = 100, .crtc_y = 50,
				   .w = 64, .h = 64, .alpha = 0xffff,
				   .blend = KMS_BLEND_PREMULTI, .zpos = 3 };
	want = kms_ref_crc(l, 2, W, H);
	seq = kms_vblank_now(dev->fd, 0, NULL);
	v = kms_crc_at(&k.crc, seq, NULL);
	igt_assert_f(v == want, "CRC %08x of vblank %u, want %08x\n", v, seq,
		     want);
	igt_cleanup_pop(&k, true);
	teardown(&c);
}

static void test_wait_vblank(struct kms_dev *dev)
{
	struct flip_ctx c;
	drmVBlank vbl;
	struct kms_event ev;
	uint64_t t0, t1;
	uint32_t s0, s1;

	setup(&c, dev, 0);
	/*
	 * relative waits advance at least one vblank each (the reply has
	 * the count at wake-up: a test delayed by a busy host may see more),
	 * and the timestamps are the counts' frames apart, exactly
	 */
	s0 = kms_wait_vblank(dev->fd, 0, 1, &t0);
	s1 = s0;
	for (int i = 1; i <= 5; i++) {
		uint32_t prev = s1;

		s1 = kms_wait_vblank(dev->fd, 0, 1, &t1);
		igt_assert_lte(1, s1 - prev);
	}
	igt_assert_f(llabs((long long)(t1 - t0) -
			   (long long)(s1 - s0) * (long long)c.frame_ns) <= 2000,
		     "%u vblanks in %lld ns\n", s1 - s0,
		     (long long)(t1 - t0));

	/* absolute */
	memset(&vbl, 0, sizeof(vbl));
	vbl.request.type = DRM_VBLANK_ABSOLUTE;
	vbl.request.sequence = s1 + 3;
	igt_assert_eq(drmWaitVBlank(dev->fd, &vbl), 0);
	igt_assert_eq(vbl.reply.sequence, s1 + 3);

	/* an event for a future vblank comes with that vblank's number */
	memset(&vbl, 0, sizeof(vbl));
	vbl.request.type = DRM_VBLANK_RELATIVE | DRM_VBLANK_EVENT;
	vbl.request.sequence = 2;
	vbl.request.signal = 0xabcd;
	igt_assert_eq(drmWaitVBlank(dev->fd, &vbl), 0);
	s0 = vbl.reply.sequence;
	igt_assert(kms_read_event(dev->fd, 1000, &ev));
	igt_assert_eq(ev.type, DRM_EVENT_VBLANK);
	igt_assert_eq(ev.user_data, 0xabcd);
	igt_assert_eq(ev.sequence, s0);
	s1 = kms_vblank_now(dev->fd, 0, &t1);
	igt_assert_eq(s1, s0);
	igt_assert_eq(t1 / 1000, ev.ts_ns / 1000);
	teardown(&c);
}

/* Flips on every output at once, each at its own vblanks. */
static void test_all_outputs(struct kms_dev *dev)
{
	struct flip_ctx c[KMS_MAX_OUTPUTS];
	int done[KMS_MAX_OUTPUTS] = { 0 };
	int n = dev->noutputs, total = 0;

	for (int k = 0; k < n; k++)
		setup(&c[k], dev, k);
	for (int k = 0; k < n; k++)
		igt_assert_eq(flip(&c[k], true, 1, k), 0);
	while (total < n * 6) {
		struct kms_event ev;
		int k;

		igt_assert(kms_read_event(dev->fd, 1000, &ev));
		for (k = 0; k < n; k++)
			if (c[k].o->crtc_id == ev.crtc_id)
				break;
		igt_assert_lt(k, n);
		igt_assert_eq(ev.user_data, (uint64_t)k);
		done[k]++;
		total++;
		if (done[k] < 6)
			igt_assert_eq(flip(&c[k], true, (done[k] + 1) & 1, k), 0);
	}
	for (int k = 0; k < n; k++)
		teardown(&c[k]);
}

igt_main
{
	struct kms_dev dev = { .fd = -1 };

	igt_fixture
		kms_open(&dev);

	igt_subtest("legacy-flip-events")
		test_flip_events(&dev, false);
	igt_subtest("atomic-flip-events")
		test_flip_events(&dev, true);
	igt_subtest("legacy-flip-crc")
		test_flip_crc(&dev, false);
	igt_subtest("atomic-flip-crc")
		test_flip_crc(&dev, true);
	igt_subtest("cursor-while-read")
		test_cursor_while_read(&dev);
	igt_subtest("release-after-scanout")
		test_release_after_scanout(&dev);
	igt_subtest("wait-vblank")
		test_wait_vblank(&dev);
	igt_subtest("all-outputs")
		test_all_outputs(&dev);

	igt_fixture
		kms_close(&dev);
}
