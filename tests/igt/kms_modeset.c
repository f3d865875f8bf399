// SPDX-License-Identifier: GPL-2.0
/*
 * kms_modeset: vkms's outputs, connectors, EDID and modes; modesets on
 * every output and on each class of mode, checked by CRC against a frame
 * composed here; the legacy SETCRTC path; invalid commits fail with DRM's
 * errno and leave the device working.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drmtest.h"
#include "igt.h"
#include "kms.h"
#include "kms_vgem.h"

#define W 320
#define H 240

/* Show @fb full screen on @o and check the CRC of the next vblank. */
static void check_crc_fullscreen(struct kms_dev *dev,
				 const struct kms_output *o,
				 const struct kms_fb *fb)
{
	struct kms_layer l = {
		.fb = fb, .w = fb->width, .h = fb->height,
		.alpha = 0xffff, .blend = KMS_BLEND_PREMULTI,
	};
	uint32_t want = kms_ref_crc(&l, 1, fb->width, fb->height);
	struct kms_crc crc;
	uint32_t frame, got;

	kms_crc_start(dev, o->index, &crc);
	kms_crc_get(&crc, &frame, &got);
	igt_assert_f(got == want, "CRC %08x, want %08x (frame %u)\n", got,
		     want, frame);
	/* one entry per vblank, in order */
	for (int i = 0; i < 3; i++) {
		uint32_t f2;

		kms_crc_get(&crc, &f2, &got);
		igt_assert_eq(f2, frame + 1);
		igt_assert_eq(got, want);
		frame = f2;
	}
	kms_crc_stop(&crc);
}

static void test_resources(struct kms_dev *dev)
{
	int n = kms_param_get("num_outputs");
	drmModeResPtr res = drmModeGetResources(dev->fd);

	igt_assert(res);
	/* as upstream 6.12's vkms (XRES_MIN, YRES_MIN) */
	igt_assert_eq(res->min_width, 10);
	igt_assert_eq(res->min_height, 10);
	drmModeFreeResources(res);
	if (n > 0)
		igt_assert_eq(dev->noutputs, n);
	for (int k = 0; k < dev->noutputs; k++) {
		const struct kms_output *o = &dev->out[k];
		drmModeConnectorPtr c;

		igt_assert(o->primary && o->cursor);
		igt_assert_eq(o->noverlays, kms_param_get("num_overlays") < 0 ?
					   2 : kms_param_get("num_overlays"));
		igt_assert(o->wb_connector_id);
		c = drmModeGetConnector(dev->fd, o->connector_id);
		igt_assert(c);
		igt_assert_eq(c->connector_type, DRM_MODE_CONNECTOR_VIRTUAL);
		igt_assert_eq(c->connection, DRM_MODE_CONNECTED);
		drmModeFreeConnector(c);
		/* every plane has the alpha, blend and zpos properties */
		igt_assert(kms_prop(dev->fd, o->overlay[0],
				    DRM_MODE_OBJECT_PLANE, "alpha"));
		igt_assert(kms_prop(dev->fd, o->overlay[0],
				    DRM_MODE_OBJECT_PLANE, "pixel blend mode"));
		igt_assert(kms_prop(dev->fd, o->cursor, DRM_MODE_OBJECT_PLANE,
				    "zpos"));
		igt_assert(kms_prop(dev->fd, o->primary, DRM_MODE_OBJECT_PLANE,
				    "IN_FENCE_FD"));
		igt_assert(kms_prop(dev->fd, o->crtc_id, DRM_MODE_OBJECT_CRTC,
				    "OUT_FENCE_PTR"));
	}
}

static void test_edid(struct kms_dev *dev)
{
	for (int k = 0; k < dev->noutputs; k++) {
		uint64_t id = kms_prop_value(dev->fd, dev->out[k].connector_id,
					     DRM_MODE_OBJECT_CONNECTOR, "EDID");
		static const uint8_t header[8] = {
			0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0
		};
		drmModePropertyBlobPtr blob;
		const uint8_t *e;
		char name[16];
		uint8_t sum = 0;
		bool found = false;

		igt_assert(id);
		blob = drmModeGetPropertyBlob(dev->fd, id);
		igt_assert(blob);
		igt_assert_eq(blob->length, 128);
		e = blob->data;
		igt_assert_eq(memcmp(e, header, 8), 0);
		for (int i = 0; i < 128; i++)
			sum += e[i];
		igt_assert_eq(sum, 0);
		igt_assert_eq(e[18], 1);
		igt_assert_eq(e[19], 4);
		/* preferred detailed timing: 1024x768, 65 MHz */
		igt_assert_eq(e[54] | e[55] << 8, 6500);
		igt_assert_eq(e[56] | (e[58] >> 4) << 8, 1024);
		igt_assert_eq(e[59] | (e[61] >> 4) << 8, 768);
		snprintf(name, sizeof(name), "vkms-%d\n", k);
		for (int d = 54; d < 126; d += 18)
			if (!e[d] && !e[d + 1] && e[d + 3] == 0xfc)
				found = !memcmp(&e[d + 5], name, strlen(name));
		igt_assert_f(found, "no monitor name %s", name);
		drmModeFreePropertyBlob(blob);
	}
}

static drmModeModeInfo *find_mode(drmModeConnectorPtr c, int w, int h)
{
	for (int i = 0; i < c->count_modes; i++)
		if (c->modes[i].hdisplay == w && c->modes[i].vdisplay == h)
			return &c->modes[i];
	return NULL;
}

static void test_modes(struct kms_dev *dev)
{
	static const int sizes[][2] = {
		{ 640, 480 }, { 800, 600 }, { 1024, 768 }, { 1280, 720 },
		{ 1920, 1080 }, { 2560, 1600 }, { 3840, 2160 }, { 4096, 2160 },
	};

	for (int k = 0; k < dev->noutputs; k++) {
		drmModeConnectorPtr c = drmModeGetConnector(dev->fd,
							    dev->out[k].connector_id);
		int preferred = 0;

		igt_assert(c);
		for (unsigned int i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
			igt_assert_f(find_mode(c, sizes[i][0], sizes[i][1]),
				     "no %dx%d mode\n", sizes[i][0], sizes[i][1]);
		for (int i = 0; i < c->count_modes; i++) {
			igt_assert(c->modes[i].hdisplay <= 4096);
			if (c->modes[i].type & DRM_MODE_TYPE_PREFERRED) {
				preferred++;
				igt_assert_eq(c->modes[i].hdisplay, 1024);
				igt_assert_eq(c->modes[i].vdisplay, 768);
			}
		}
		igt_assert_gte(preferred, 1);
		drmModeFreeConnector(c);
	}
}

static void test_modeset_all(struct kms_dev *dev)
{
	drmModeModeInfo mode = kms_mode(W, H);
	struct kms_fb fb[KMS_MAX_OUTPUTS];

	/* all on at once, each with its own picture */
	for (int k = 0; k < dev->noutputs; k++) {
		kms_fb_create(dev->fd, W, H, DRM_FORMAT_XRGB8888, &fb[k]);
		/* random X bits too: they must not show */
		kms_fb_pattern(&fb[k], 100 + k, false);
		kms_modeset(dev, &dev->out[k], &mode, &fb[k]);
	}
	for (int k = 0; k < dev->noutputs; k++)
		check_crc_fullscreen(dev, &dev->out[k], &fb[k]);
	for (int k = 0; k < dev->noutputs; k++) {
		kms_disable(dev, &dev->out[k]);
		kms_fb_destroy(&fb[k]);
	}
}

/* Each class of mode of the connector: VGA, preferred, 1080p, UHD, 4K. */
static void test_mode_classes(struct kms_dev *dev)
{
	static const int sizes[][2] = {
		{ 640, 480 }, { 1024, 768 }, { 1920, 1080 }, { 3840, 2160 },
		{ 4096, 2160 },
	};
	const struct kms_output *o = &dev->out[0];
	drmModeConnectorPtr c = drmModeGetConnector(dev->fd, o->connector_id);

	igt_assert(c);
	for (unsigned int i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		drmModeModeInfo *m = find_mode(c, sizes[i][0], sizes[i][1]);
		uint64_t t0, t1, frame_ns;
		struct kms_crc crc;
		struct kms_fb fb;
		uint32_t row_crc = ~0u, *row, s0, s1, f, got;
		struct kms_px col = kms_rgb8(0xff, 0x20 + i * 30, 0x80, 0xff - i);

		igt_assert(m);
		igt_info("mode %s %dHz\n", m->name, m->vrefresh);
		kms_fb_create(dev->fd, m->hdisplay, m->vdisplay,
			      DRM_FORMAT_XRGB8888, &fb);
		kms_fb_fill(&fb, col);
		kms_modeset(dev, o, m, &fb);

		/* the CRC of a solid frame: the same row h times */
		row = malloc(m->hdisplay * 4);
		igt_assert(row);
		for (int x = 0; x < m->hdisplay; x++)
			row[x] = 0xff000000u | kms_pack(DRM_FORMAT_XRGB8888, col);
		for (int y = 0; y < m->vdisplay; y++)
			row_crc = kms_crc32(row_crc, row, m->hdisplay * 4);
		free(row);
		kms_crc_start(dev, o->index, &crc);
		kms_crc_get(&crc, &f, &got);
		igt_assert_f(got == row_crc, "%s: CRC %08x, want %08x\n",
			     m->name, got, row_crc);
		kms_crc_stop(&crc);

		/*
		 * vblanks tick at the mode's frame duration, exactly: the
		 * reply has the count at wake-up, which a delayed test may
		 * see past the target, and each count's timestamp is that
		 * many frames on
		 */
		frame_ns = kms_mode_frame_ns(m);
		s0 = kms_wait_vblank(dev->fd, o->index, 1, &t0);
		s1 = kms_wait_vblank(dev->fd, o->index, 3, &t1);
		igt_assert_lte(3, s1 - s0);
		igt_assert_f(llabs((long long)(t1 - t0) -
				   (long long)(s1 - s0) * (long long)frame_ns)
			     <= 2000, "%u vblanks in %llu ns, frame %llu ns\n",
			     s1 - s0, (unsigned long long)(t1 - t0),
			     (unsigned long long)frame_ns);
		kms_disable(dev, o);
		kms_fb_destroy(&fb);
	}
	drmModeFreeConnector(c);
}

static void test_legacy_setcrtc(struct kms_dev *dev)
{
	const struct kms_output *o = &dev->out[0];
	drmModeModeInfo mode = kms_mode(W, H);
	uint32_t conn = o->connector_id;
	drmModeCrtcPtr crtc;
	struct kms_fb fb;

	kms_fb_create(dev->fd, W, H, DRM_FORMAT_XRGB8888, &fb);
	kms_fb_pattern(&fb, 7, false);
	igt_assert_eq(drmModeSetCrtc(dev->fd, o->crtc_id, fb.id, 0, 0, &conn, 1,
				     &mode), 0);
	crtc = drmModeGetCrtc(dev->fd, o->crtc_id);
	igt_assert(crtc);
	igt_assert_eq(crtc->mode_valid, 1);
	igt_assert_eq(crtc->buffer_id, fb.id);
	igt_assert_eq(crtc->mode.hdisplay, W);
	drmModeFreeCrtc(crtc);
	check_crc_fullscreen(dev, o, &fb);

	igt_assert_eq(drmModeSetCrtc(dev->fd, o->crtc_id, 0, 0, 0, NULL, 0,
				     NULL), 0);
	crtc = drmModeGetCrtc(dev->fd, o->crtc_id);
	igt_assert(crtc);
	igt_assert_eq(crtc->mode_valid, 0);
	drmModeFreeCrtc(crtc);
	/* an off CRTC has no vblanks */
	{
		drmVBlank vbl = { 0 };

		vbl.request.type = DRM_VBLANK_RELATIVE;
		vbl.request.sequence = 1;
		igt_assert_errno(drmWaitVBlank(dev->fd, &vbl), EINVAL);
	}
	kms_fb_destroy(&fb);
}

/* A modeset and a disable as nonblocking commits, each with its event. */
static void test_nonblocking_modeset(struct kms_dev *dev)
{
	const struct kms_output *o = &dev->out[0];
	drmModeModeInfo mode = kms_mode(W, H);
	struct kms_event ev;
	struct kms_req *req;
	struct kms_fb fb;
	uint32_t blob;

	kms_fb_create(dev->fd, W, H, DRM_FORMAT_XRGB8888, &fb);
	kms_fb_pattern(&fb, 9, false);
	igt_assert_eq(drmModeCreatePropertyBlob(dev->fd, &mode, sizeof(mode),
						&blob), 0);
	req = kms_req_new(dev);
	kms_req_set(req, o->crtc_id, "MODE_ID", blob);
	kms_req_set(req, o->crtc_id, "ACTIVE", 1);
	kms_req_set(req, o->connector_id, "CRTC_ID", o->crtc_id);
	kms_req_plane(req, o->primary, o->crtc_id, fb.id, 0, 0, 0, 0, W, H);
	igt_assert_eq(kms_req_commit_data(req, DRM_MODE_ATOMIC_NONBLOCK |
					  DRM_MODE_ATOMIC_ALLOW_MODESET |
					  DRM_MODE_PAGE_FLIP_EVENT, 5), 0);
	kms_req_free(req);
	igt_assert(kms_read_event(dev->fd, 2000, &ev));
	igt_assert_eq(ev.type, DRM_EVENT_FLIP_COMPLETE);
	igt_assert_eq(ev.user_data, 5);
	igt_assert_eq(ev.crtc_id, o->crtc_id);
	check_crc_fullscreen(dev, o, &fb);

	req = kms_req_new(dev);
	kms_req_set(req, o->crtc_id, "MODE_ID", 0);
	kms_req_set(req, o->crtc_id, "ACTIVE", 0);
	kms_req_set(req, o->connector_id, "CRTC_ID", 0);
	kms_req_plane_off(req, o->primary);
	igt_assert_eq(kms_req_commit_data(req, DRM_MODE_ATOMIC_NONBLOCK |
					  DRM_MODE_ATOMIC_ALLOW_MODESET |
					  DRM_MODE_PAGE_FLIP_EVENT, 6), 0);
	kms_req_free(req);
	igt_assert(kms_read_event(dev->fd, 2000, &ev));
	igt_assert_eq(ev.user_data, 6);
	/* off: no event may be asked for, no vblank waited on */
	req = kms_req_new(dev);
	kms_req_set(req, o->crtc_id, "ACTIVE", 0);
	igt_assert_eq(kms_req_commit(req, DRM_MODE_ATOMIC_NONBLOCK |
				     DRM_MODE_PAGE_FLIP_EVENT), -EINVAL);
	kms_req_free(req);
	drmModeDestroyPropertyBlob(dev->fd, blob);
	kms_fb_destroy(&fb);
}

static int commit_plane(struct kms_dev *dev, const struct kms_output *o,
			uint32_t fb, int sx, int sy, int x, int y, int w, int h)
{
	struct kms_req *req = kms_req_new(dev);
	int ret;

	kms_req_plane(req, o->primary, o->crtc_id, fb, sx, sy, x, y, w, h);
	ret = kms_req_commit(req, 0);
	kms_req_free(req);
	return ret;
}

/* A modeset of @mode on output 0 with @flags; 0 or -errno. */
static int try_mode(struct kms_dev *dev, const drmModeModeInfo *mode,
		    const struct kms_fb *fb, uint32_t flags)
{
	return __kms_modeset(dev, &dev->out[0], mode, fb, flags);
}

/* @m with its pixel clock set for @mhz millihertz of refresh. */
static drmModeModeInfo at_refresh(drmModeModeInfo m, uint64_t mhz)
{
	uint64_t total = (uint64_t)m.htotal * m.vtotal;

	m.clock = (total * mhz + 999999) / 1000000;
	m.vrefresh = mhz / 1000;
	return m;
}

/*
 * The refresh rate of a mode bounds how long a flip waits for its vblank
 * and how often vkms's timer fires: vkms takes 1 to 1000 Hz, and refuses
 * the rest with -EINVAL (a frame of over an hour, or a timer at MHz).
 */
static void test_refresh_bounds(struct kms_dev *dev)
{
	const struct kms_output *o = &dev->out[0];
	drmModeModeInfo base = kms_mode(W, H), slow, m;
	struct kms_fb fb;
	uint64_t t0, t1;
	uint32_t s0, s1;

	kms_fb_create(dev->fd, W, H, DRM_FORMAT_XRGB8888, &fb);
	kms_fb_pattern(&fb, 5, false);

	/* every total at its largest, the clock of a small mode: ~0.0001 Hz */
	slow = base;
	slow.htotal = 65535;
	slow.vtotal = 65535;
	igt_assert_eq(try_mode(dev, &slow, &fb, DRM_MODE_ATOMIC_TEST_ONLY),
		      -EINVAL);
	igt_assert_eq(try_mode(dev, &slow, &fb, 0), -EINVAL);
	/* just below and at the bounds */
	m = at_refresh(base, 400);
	igt_assert_eq(try_mode(dev, &m, &fb, DRM_MODE_ATOMIC_TEST_ONLY),
		      -EINVAL);
	m = at_refresh(base, 1000);
	igt_assert_eq(try_mode(dev, &m, &fb, DRM_MODE_ATOMIC_TEST_ONLY), 0);
	m = at_refresh(base, 1000000);
	igt_assert_eq(try_mode(dev, &m, &fb, DRM_MODE_ATOMIC_TEST_ONLY), 0);
	m = at_refresh(base, 2000000);
	igt_assert_eq(try_mode(dev, &m, &fb, DRM_MODE_ATOMIC_TEST_ONLY),
		      -EINVAL);
	igt_assert_eq(try_mode(dev, &m, &fb, 0), -EINVAL);
	/* the legacy path checks the same */
	{
		uint32_t conn = o->connector_id;

		igt_assert_eq(drmModeSetCrtc(dev->fd, o->crtc_id, fb.id, 0, 0,
					     &conn, 1, &slow), -EINVAL);
	}

	/*
	 * A mode at the top bound really runs: vblanks count, the CRC is
	 * right. (Neither one CRC per vblank nor an exact count at wake-up:
	 * at 1 kHz a slow guest falls behind, as under KASAN.)
	 */
	m = at_refresh(base, 1000000);
	igt_assert_eq(try_mode(dev, &m, &fb, 0), 0);
	s0 = kms_wait_vblank(dev->fd, o->index, 1, &t0);
	s1 = kms_wait_vblank(dev->fd, o->index, 10, &t1);
	/* the reply has the count at wake-up: at 1 kHz it may be past */
	igt_assert_lte(10, s1 - s0);
	igt_assert_lt(t0, t1);
	{
		struct kms_layer l = {
			.fb = &fb, .w = W, .h = H,
			.alpha = 0xffff, .blend = KMS_BLEND_PREMULTI,
		};
		uint32_t want = kms_ref_crc(&l, 1, W, H), frame, got;
		struct kms_crc crc;

		kms_crc_start(dev, o->index, &crc);
		kms_crc_get(&crc, &frame, &got);
		igt_assert_f(got == want, "CRC %08x, want %08x\n", got, want);
		kms_crc_stop(&crc);
	}
	kms_disable(dev, o);
	kms_fb_destroy(&fb);
}

static void test_invalid(struct kms_dev *dev)
{
	const struct kms_output *o = &dev->out[0];
	drmModeModeInfo mode = kms_mode(W, H);
	struct kms_fb fb, big;
	struct kms_req *req;
	uint32_t id, handles[4] = { 0 }, pitches[4] = { 0 }, offsets[4] = { 0 };
	struct drm_mode_create_dumb c = { .width = 64, .height = 64, .bpp = 64 };
	int ret;

	kms_fb_create(dev->fd, W, H, DRM_FORMAT_XRGB8888, &fb);
	kms_fb_pattern(&fb, 3, false);
	kms_fb_create(dev->fd, W + 64, H + 64, DRM_FORMAT_XRGB8888, &big);
	kms_modeset(dev, o, &mode, &fb);

	/* a framebuffer that does not exist */
	igt_assert_eq(commit_plane(dev, o, 0xdeadbeef, 0, 0, 0, 0, W, H),
		      -EINVAL);
	/* a CRTC that does not exist: not a valid object value, legacy ENOENT */
	req = kms_req_new(dev);
	kms_req_set(req, o->primary, "CRTC_ID", 0xdeadbeef);
	igt_assert_eq(kms_req_commit(req, 0), -EINVAL);
	kms_req_free(req);
	{
		uint32_t conn = o->connector_id;

		/* libdrm's mode calls return -errno */
		igt_assert_eq(drmModeSetCrtc(dev->fd, 0xdeadbeef, fb.id, 0, 0,
					     &conn, 1, &mode), -ENOENT);
	}
	/* an object that does not exist */
	req = kms_req_new(dev);
	kms_req_set_raw(req, 0xdeadbeef,
			kms_prop(dev->fd, o->primary, DRM_MODE_OBJECT_PLANE,
				 "FB_ID"), fb.id);
	igt_assert_eq(kms_req_commit(req, 0), -ENOENT);
	kms_req_free(req);
	/* a fence fd that is not a sync_file, and one that is not open */
	req = kms_req_new(dev);
	kms_req_set(req, o->primary, "IN_FENCE_FD", dev->fd);
	igt_assert_eq(kms_req_commit(req, 0), -EINVAL);
	kms_req_free(req);
	req = kms_req_new(dev);
	kms_req_set(req, o->primary, "IN_FENCE_FD", 1000);
	igt_assert_eq(kms_req_commit(req, 0), -EINVAL);
	kms_req_free(req);
	/* a fence on a plane without framebuffer */
	req = kms_req_new(dev);
	kms_req_plane_off(req, o->overlay[0]);
	{
		int sf = -1;
		int vfd = __drm_open_driver("vgem");

		if (vfd >= 0) {
			struct kms_vgem_bo bo;

			kms_vgem_bo_create(dev, vfd, 64, 64,
					   DRM_FORMAT_XRGB8888, &bo);
			sf = kms_dmabuf_sync_file(bo.dmabuf_fd, true);
			kms_req_set(req, o->overlay[0], "IN_FENCE_FD", sf);
			igt_assert_eq(kms_req_commit(req, 0), -EINVAL);
			close(sf);
			kms_vgem_bo_destroy(dev, &bo);
			close(vfd);
		}
	}
	kms_req_free(req);

	/*
	 * a format DRM knows but not vkms (packed YUYV: vkms reads the
	 * planar and semi-planar ones only); a format nobody knows
	 */
	do_ioctl(dev->fd, DRM_IOCTL_MODE_CREATE_DUMB, &c);
	handles[0] = c.handle;
	pitches[0] = c.pitch;
	/*
	 * Linux 6.1 takes the framebuffer and refuses it at the commit; later
	 * kernels refuse at ADDFB2 a format that none of the device's planes
	 * supports. Either way it must never be shown.
	 */
	ret = drmModeAddFB2(dev->fd, 64, 64, DRM_FORMAT_YUYV,
			    handles, pitches, offsets, &id, 0);
	if (ret == 0) {
		igt_assert_eq(commit_plane(dev, o, id, 0, 0, 0, 0, 64, 64),
			      -EINVAL);
		drmModeRmFB(dev->fd, id);
	} else {
		igt_assert_eq(ret, -EINVAL);
	}
	errno = 0;
	igt_assert(drmModeAddFB2(dev->fd, 64, 64, 0x58585858, handles, pitches,
				 offsets, &id, 0) != 0);
	igt_assert_eq(errno, EINVAL);
	/* the smallest framebuffer: 10x10, as upstream 6.12's vkms */
	igt_assert_eq(drmModeAddFB2(dev->fd, 10, 10, DRM_FORMAT_XRGB8888,
				    handles, pitches, offsets, &id, 0), 0);
	drmModeRmFB(dev->fd, id);
	errno = 0;
	igt_assert(drmModeAddFB2(dev->fd, 9, 10, DRM_FORMAT_XRGB8888,
				 handles, pitches, offsets, &id, 0) != 0);
	igt_assert_eq(errno, EINVAL);
	errno = 0;
	igt_assert(drmModeAddFB2(dev->fd, 10, 9, DRM_FORMAT_XRGB8888,
				 handles, pitches, offsets, &id, 0) != 0);
	igt_assert_eq(errno, EINVAL);
	{
		struct drm_gem_close cl = { .handle = c.handle };

		do_ioctl(dev->fd, DRM_IOCTL_GEM_CLOSE, &cl);
	}

	/* rectangles: source outside the fb, scaling, fractional, overflow */
	igt_assert_eq(commit_plane(dev, o, fb.id, 1, 0, 0, 0, W, H), -ENOSPC);
	igt_assert_eq(commit_plane(dev, o, fb.id, 0, 0, 0, 0, W + 1, H),
		      -ENOSPC);
	req = kms_req_new(dev);
	kms_req_plane(req, o->primary, o->crtc_id, big.id, 0, 0, 0, 0, W, H);
	kms_req_set(req, o->primary, "SRC_W", (uint64_t)(W + 64) << 16);
	igt_assert_eq(kms_req_commit(req, 0), -ERANGE);
	kms_req_free(req);
	req = kms_req_new(dev);
	kms_req_plane(req, o->primary, o->crtc_id, big.id, 0, 0, 0, 0, W, H);
	kms_req_set(req, o->primary, "SRC_X", 0x8000);
	igt_assert_eq(kms_req_commit(req, 0), -EINVAL);
	kms_req_free(req);
	req = kms_req_new(dev);
	kms_req_plane(req, o->primary, o->crtc_id, fb.id, 0, 0, 0, 0, W, H);
	kms_req_set(req, o->primary, "CRTC_X", 0x7ffffff0);
	igt_assert_eq(kms_req_commit(req, 0), -ERANGE);
	kms_req_free(req);
	/*
	 * A position so far off screen that clipping it overflows int (DRM's
	 * helper then leaves it unclipped and visible): refused, not composed
	 * (found by fuzz_ioctl: it oopsed the composer).
	 */
	for (int axis = 0; axis < 2; axis++) {
		req = kms_req_new(dev);
		kms_req_plane(req, o->primary, o->crtc_id, fb.id, 0, 0, 0, 0,
			      W, H);
		kms_req_set(req, o->primary, axis ? "CRTC_Y" : "CRTC_X",
			    (uint64_t)(int64_t)INT32_MIN);
		igt_assert_eq(kms_req_commit(req, 0), -ERANGE);
		kms_req_free(req);
	}
	/* a primary plane partly off screen is fine (clipped) */
	igt_assert_eq(commit_plane(dev, o, big.id, 0, 0, -32, -32, W + 64,
				   H + 64), 0);

	/* legacy flips: no such fb, bad flags, CRTC off */
	igt_assert_eq(drmModePageFlip(dev->fd, o->crtc_id, 0xdeadbeef,
				      DRM_MODE_PAGE_FLIP_EVENT, NULL), -ENOENT);
	igt_assert_eq(drmModePageFlip(dev->fd, o->crtc_id, fb.id, 0x80, NULL),
		      -EINVAL);

	/* the device still works */
	igt_assert_eq(commit_plane(dev, o, fb.id, 0, 0, 0, 0, W, H), 0);
	check_crc_fullscreen(dev, o, &fb);
	kms_disable(dev, o);
	/* DRM: no framebuffer bound to the CRTC's primary plane */
	igt_assert_eq(drmModePageFlip(dev->fd, o->crtc_id, fb.id,
				      DRM_MODE_PAGE_FLIP_EVENT, NULL), -EBUSY);
	kms_fb_destroy(&big);
	kms_fb_destroy(&fb);
}

igt_main
{
	struct kms_dev dev = { .fd = -1 };

	igt_fixture
		kms_open(&dev);

	igt_subtest("resources")
		test_resources(&dev);
	igt_subtest("edid")
		test_edid(&dev);
	igt_subtest("modes")
		test_modes(&dev);
	igt_subtest("modeset-all-outputs")
		test_modeset_all(&dev);
	igt_subtest("mode-classes")
		test_mode_classes(&dev);
	igt_subtest("legacy-setcrtc")
		test_legacy_setcrtc(&dev);
	igt_subtest("nonblocking-modeset")
		test_nonblocking_modeset(&dev);
	igt_subtest("invalid-commits")
		test_invalid(&dev);
	igt_subtest("refresh-bounds")
		test_refresh_bounds(&dev);

	igt_fixture
		kms_close(&dev);
}
