/* SPDX-License-Identifier: GPL-2.0 */
/*
 * KMS helpers for the vkms tests: the device and its outputs, atomic
 * commits by property name, dumb framebuffers in any vkms format, the
 * reference composer and CRC (the same arithmetic as vkms_composer.c,
 * written independently), the CRC debugfs interface, vblank events, the
 * driver's debugfs counters, and vgem buffers and fences.
 */
#ifndef CROSSFENCE_KMS_H
#define CROSSFENCE_KMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <xf86drm.h>
#include <xf86drmMode.h>

#define KMS_MAX_OUTPUTS 4
#define KMS_MAX_PLANES 4
/* vkms's num_overlays goes up to 8 */
#define KMS_MAX_OVERLAYS 8

#ifndef DRM_FORMAT_XRGB8888
#include <drm_fourcc.h>
#endif
/* Linux 6.8's uapi has them (as had 6.1's), Debian 12's libdrm not yet. */
#ifndef DRM_FORMAT_R1
#define DRM_FORMAT_R1 fourcc_code('R', '1', ' ', ' ')
#define DRM_FORMAT_R2 fourcc_code('R', '2', ' ', ' ')
#define DRM_FORMAT_R4 fourcc_code('R', '4', ' ', ' ')
#endif

struct kms_output {
	int index;			/* CRTC index */
	uint32_t crtc_id;
	uint32_t connector_id;
	uint32_t encoder_id;
	uint32_t wb_connector_id;	/* 0 if none */
	uint32_t primary, cursor;
	uint32_t overlay[KMS_MAX_OVERLAYS];
	int noverlays;			/* in zpos order of creation */
};

struct kms_dev {
	int fd;
	int minor;			/* for debugfs: /sys/kernel/debug/dri/N */
	int noutputs;
	struct kms_output out[KMS_MAX_OUTPUTS];
};

/* Open vkms with the atomic, universal planes and writeback caps. */
void kms_open(struct kms_dev *dev);
/* The same on an open vkms file (e.g. of a configfs device); takes @fd. */
void kms_open_from_fd(struct kms_dev *dev, int fd);
void kms_close(struct kms_dev *dev);

/* The id of property @name of object @id (type DRM_MODE_OBJECT_*), or 0. */
uint32_t kms_prop(int fd, uint32_t id, uint32_t type, const char *name);
/* Current value of a property; asserts it exists. */
uint64_t kms_prop_value(int fd, uint32_t id, uint32_t type, const char *name);

/* A mode of w x h at about 60 Hz (exact timings are the test's own). */
drmModeModeInfo kms_mode(int w, int h);
/* Frame duration of a mode in ns, as DRM computes it. */
uint64_t kms_mode_frame_ns(const drmModeModeInfo *m);

/* ---- framebuffers ---- */

struct kms_fb {
	int fd;
	uint32_t id;
	uint32_t handle;
	uint32_t width, height;
	uint32_t format;
	uint32_t pitch;			/* of plane 0 */
	uint32_t cpp;			/* bytes per pixel of plane 0; 0: < 1 */
	uint64_t size;
	uint8_t *map;
	int planes;			/* 0 in a hand-made one: 1 */
	uint32_t pitches[3], offsets[3];
};

/*
 * A dumb buffer of @format with a framebuffer: one plane of the dumb
 * buffer's pitch, or the planes one after the other in it (YUV, R1-R4).
 */
void kms_fb_create(int fd, int w, int h, uint32_t format, struct kms_fb *fb);
/* A framebuffer on an existing GEM handle (e.g. a PRIME import). */
int __kms_fb_add(int fd, int w, int h, uint32_t format, uint32_t handle,
		 uint32_t pitch, uint32_t *fb_id);
void kms_fb_destroy(struct kms_fb *fb);
uint32_t kms_format_cpp(uint32_t format);
bool kms_format_has_alpha(uint32_t format);
bool kms_format_is_yuv(uint32_t format);
const char *kms_format_name(uint32_t format);
/* Every format vkms offers on its planes, the order of its list. */
int kms_num_formats(void);
uint32_t kms_format(int i);

/* A colour with 16 bits per channel. */
struct kms_px {
	uint16_t a, r, g, b;
};

/* The raw pixel of a packed @format for a 16-bit colour (truncated). */
uint64_t kms_pack(uint32_t format, struct kms_px c);
/* The 16-bit colour of a raw packed pixel, widened as vkms does. */
struct kms_px kms_unpack(uint32_t format, uint64_t raw);
static inline struct kms_px kms_rgb8(uint8_t a, uint8_t r, uint8_t g,
				     uint8_t b)
{
	struct kms_px p = { a * 257, r * 257, g * 257, b * 257 };

	return p;
}

/* Raw pixels of plane 0 (packed and greyscale formats). */
void kms_fb_put(struct kms_fb *fb, int x, int y, uint64_t raw);
uint32_t kms_fb_get(const struct kms_fb *fb, int x, int y);
uint64_t kms_fb_get64(const struct kms_fb *fb, int x, int y);
/*
 * The colour of pixel (x, y) of any format; YUV converted with
 * @encoding (KMS_BT601, ...) in limited or full range.
 */
struct kms_px kms_fb_sample(const struct kms_fb *fb, int x, int y,
			    int encoding, bool limited);
void kms_fb_fill(struct kms_fb *fb, struct kms_px c);
/*
 * A pattern that depends on x, y, @seed, with varied alpha if asked; in
 * YUV and R1-R4 formats every byte of every plane varies.
 */
void kms_fb_pattern(struct kms_fb *fb, uint32_t seed, bool alpha);

/* ---- the reference composer ---- */

/* The "rotation" property's bits (DRM_MODE_ROTATE_*, _REFLECT_*). */
enum {
	KMS_ROTATE_0 = 1, KMS_ROTATE_90 = 2, KMS_ROTATE_180 = 4,
	KMS_ROTATE_270 = 8, KMS_REFLECT_X = 16, KMS_REFLECT_Y = 32,
};
/* The "COLOR_ENCODING" values; "COLOR_RANGE": 0 limited, 1 full. */
enum { KMS_BT601, KMS_BT709, KMS_BT2020 };

struct kms_layer {
	const struct kms_fb *fb;
	int src_x, src_y;		/* whole pixels */
	int crtc_x, crtc_y;		/* may be off-screen */
	int w, h;			/* size on screen; the source's is
					 * h x w when turned by 90 or 270 */
	uint16_t alpha;			/* 0xffff opaque */
	int blend;			/* KMS_BLEND_* */
	int zpos;
	uint32_t rotation;		/* KMS_ROTATE_* | KMS_REFLECT_*; 0 is
					 * KMS_ROTATE_0 */
	int encoding;			/* KMS_BT601 ... (YUV) */
	bool limited;			/* limited range (YUV) */
};

/* The values of the "pixel blend mode" property (DRM_MODE_BLEND_*). */
enum { KMS_BLEND_PREMULTI, KMS_BLEND_COVERAGE, KMS_BLEND_NONE };

/*
 * Compose into @acc (w * h pixels of 16 bits a channel, alpha 0xffff),
 * layers in any order: the blended frame before it is narrowed to 8 bits.
 */
void kms_ref_compose16(struct kms_px *acc, int w, int h,
		       const struct kms_layer *layers, int n);
/* Compose into @out (w * h XRGB8888, X = 0xff), layers in any order. */
void kms_ref_compose(uint32_t *out, int w, int h,
		     const struct kms_layer *layers, int n);
/* The output's 8 bits per channel of @n blended pixels. */
void kms_ref_output(uint32_t *out, const struct kms_px *acc, size_t n);
/* The CRC vkms computes of a composed frame. */
uint32_t kms_crc32(uint32_t crc, const void *buf, size_t len);
uint32_t kms_ref_crc(const struct kms_layer *layers, int n, int w, int h);

/* ---- atomic commits ---- */

struct kms_req;
struct kms_req *kms_req_new(struct kms_dev *dev);
void kms_req_free(struct kms_req *req);
/* Set property @name of object @id; asserts the property exists. */
void kms_req_set(struct kms_req *req, uint32_t id, const char *name,
		 uint64_t value);
/* Set property id @prop of object @id, whatever they are. */
void kms_req_set_raw(struct kms_req *req, uint32_t id, uint32_t prop,
		     uint64_t value);
/* Commit; 0 or -errno. */
int kms_req_commit(struct kms_req *req, uint32_t flags);
/* Commit with the user data of the flip events. */
int kms_req_commit_data(struct kms_req *req, uint32_t flags, uint64_t data);

/* Plane on @crtc_id showing @fb, @w x @h at (x, y), from (sx, sy). */
void kms_req_plane(struct kms_req *req, uint32_t plane, uint32_t crtc_id,
		   uint32_t fb, int sx, int sy, int x, int y, int w, int h);
void kms_req_plane_off(struct kms_req *req, uint32_t plane);

/*
 * Light up output @o with @mode and @fb full screen on the primary (the
 * other planes of the output off), blocking, with ALLOW_MODESET.
 */
void kms_modeset(struct kms_dev *dev, const struct kms_output *o,
		 const drmModeModeInfo *mode, const struct kms_fb *fb);
/* The same with extra commit @flags (e.g. TEST_ONLY): 0 or -errno. */
int __kms_modeset(struct kms_dev *dev, const struct kms_output *o,
		  const drmModeModeInfo *mode, const struct kms_fb *fb,
		  uint32_t flags);
/*
 * Every plane of output @o back to the properties' defaults: alpha
 * opaque, pre-multiplied, zpos in plane order (primary, overlays,
 * cursor), rotate-0, BT.601 full range. Planes stay as they are.
 */
void kms_planes_reset(struct kms_dev *dev, const struct kms_output *o);
/* Turn output @o off (and every plane of it). */
void kms_disable(struct kms_dev *dev, const struct kms_output *o);

/*
 * Output @o lit with every plane it has at once (the primary, each
 * overlay, the cursor; ARGB8888 overlapping pictures, varied plane alpha
 * and blend modes, overlays in reverse z order), checked by CRC; then the
 * zpos range (0 to planes - 1) and a zpos past it refused. Leaves the
 * output off and the planes' properties at their defaults.
 */
void kms_check_all_planes(struct kms_dev *dev, const struct kms_output *o);

/* ---- vblanks and events ---- */

/* Wait @n vblanks on CRTC @index; returns the sequence reached. */
uint32_t kms_wait_vblank(int fd, int index, int n, uint64_t *ts_ns);
/* The current vblank sequence and time, without waiting. */
uint32_t kms_vblank_now(int fd, int index, uint64_t *ts_ns);

struct kms_event {
	uint32_t type;
	uint32_t sequence;
	uint64_t ts_ns;
	uint32_t crtc_id;
	uint64_t user_data;
};

/* Read one event, waiting up to @timeout_ms; false on timeout. */
bool kms_read_event(int fd, int timeout_ms, struct kms_event *ev);
/* Whether an event is ready right now. */
bool kms_event_ready(int fd);

/* ---- CRC ---- */

struct kms_crc {
	int ctl_fd;
	int data_fd;
};

/* Start capturing CRCs of CRTC @index ("auto" source). */
void kms_crc_start(struct kms_dev *dev, int index, struct kms_crc *crc);
/* The next CRC entry: vblank sequence and value. */
void kms_crc_get(struct kms_crc *crc, uint32_t *frame, uint32_t *value);
void kms_crc_stop(struct kms_crc *crc);
/* The CRC of the first vblank after now on CRTC @index (opens, closes). */
uint32_t kms_crc_next(struct kms_dev *dev, int index);
/* Skip entries until one for a vblank >= @seq; returns its value. */
uint32_t kms_crc_at(struct kms_crc *crc, uint32_t seq, uint32_t *frame);

/* ---- the driver's counters ---- */

/* A counter of /sys/kernel/debug/dri/N/crtc-I/vkms_stats. */
uint64_t kms_stat(struct kms_dev *dev, int index, const char *name);
/*
 * vkms's test knob crtc-I/compose_hold: while held, the composer (the
 * simulated scan-out) reads nothing, as on a host too busy to run it.
 * Holding pushes a subtest cleanup that lets it go again.
 */
void kms_compose_hold(struct kms_dev *dev, int index, bool hold);
/* A module parameter of vkms, e.g. "gate"; -1 if unreadable. */
int kms_param_get(const char *name);
bool kms_param_set(const char *name, int value);
/* N of vkms's framebuffer device /dev/fbN (fbdev emulation), or -1. */
int kms_fbdev_index(void);

/* ---- vgem ---- */

struct kms_vgem_bo {
	int vgem_fd;
	uint32_t handle;	/* in vgem */
	uint32_t pitch;
	uint64_t size;
	int dmabuf_fd;
	uint32_t kms_handle;	/* imported into vkms */
	uint32_t fb_id;		/* framebuffer in vkms */
	uint8_t *map;
	uint32_t width, height, format;
};

/* Open vgem (skip when absent). */
int kms_vgem_open(void);
/* A vgem dumb buffer, exported and imported into @dev with a framebuffer. */
void kms_vgem_bo_create(struct kms_dev *dev, int vgem_fd, int w, int h,
			uint32_t format, struct kms_vgem_bo *bo);
void kms_vgem_bo_destroy(struct kms_dev *dev, struct kms_vgem_bo *bo);
/* Attach a (write) fence to a vgem buffer; returns its id. */
uint32_t kms_vgem_fence_attach(int vgem_fd, uint32_t handle, bool write);
int __kms_vgem_fence_signal(int vgem_fd, uint32_t fence);
void kms_vgem_fence_signal(int vgem_fd, uint32_t fence);
/* The buffer's fences as a sync_file (write fences if @write). */
int kms_dmabuf_sync_file(int dmabuf_fd, bool write);
/* Sync_file state: 1 signaled, 0 pending, <0 error; signal time. */
int kms_sync_file_status(int fd, uint64_t *ts_ns);
/* Wait for a sync_file to signal (poll), up to @timeout_ms. */
bool kms_sync_file_wait(int fd, int timeout_ms);

#endif
