/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vkms: a virtual KMS device whose flips are gated on fences.
 *
 * Overview (see also vkms_gate.c for the fence-gated flip path):
 *
 *  - Each output is one CRTC with a primary, a cursor and overlay planes, a
 *    virtual encoder and connector, and a writeback connector.
 *  - A CRTC's "hardware" is an hrtimer at the mode's refresh rate: every tick
 *    is a vblank. At each tick the CRTC latches the flips armed in its
 *    pending list: the latched flip's frame becomes the scan-out and its
 *    event is sent.
 *  - A frame (struct vkms_frame) is an immutable description of what a CRTC
 *    shows: the mapped plane buffers, formats, rectangles, alpha and blend
 *    mode in z order. It is built in process context at commit time, so
 *    nothing after the commit ever reads plane->state.
 *  - The composer (vkms_composer.c) runs in a worker queued by the tick that
 *    needs it: it composes the frame of each vblank into the CRTC's output
 *    buffer, computes the CRC and fills writeback buffers.
 */
#ifndef _VKMS_DRV_H_
#define _VKMS_DRV_H_

#include <linux/hrtimer.h>
#include <linux/iosys-map.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/llist.h>
#include <linux/mutex.h>
#include <linux/refcount.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>

#include <drm/drm_atomic.h>
#include <drm/drm_connector.h>
#include <drm/drm_crtc.h>
#include <drm/drm_device.h>
#include <drm/drm_encoder.h>
#include <drm/drm_fourcc.h>
#include <drm/drm_plane.h>
#include <drm/drm_rect.h>
#include <drm/drm_writeback.h>

#define VKMS_MAX_OUTPUTS	4
/* Overlay planes per CRTC: 2 by default, up to 8 (num_overlays). */
#define VKMS_DEF_OVERLAYS	2
#define VKMS_MAX_OVERLAYS	8
/* The most planes a CRTC can have: primary + overlays + cursor */
#define VKMS_PLANES_PER_CRTC	(2 + VKMS_MAX_OVERLAYS)
/* Compose requests a CRTC keeps for its composer worker. */
#define VKMS_COMPOSE_RING	16

/*
 * Framebuffer and mode size bounds. 10, as upstream 6.12's vkms: IGT's
 * kms_cursor_crc makes 32x11 framebuffers for its 32x10 cursor.
 */
#define VKMS_MIN_SIZE		10
#define VKMS_MAX_SIZE		8192
#define VKMS_DEF_WIDTH		1024
#define VKMS_DEF_HEIGHT		768
#define VKMS_CURSOR_SIZE	512

/* Entries of a CRTC's DEGAMMA_LUT and GAMMA_LUT (legacy gamma: the latter). */
#define VKMS_DEGAMMA_LUT_SIZE	1024
#define VKMS_GAMMA_LUT_SIZE	256

struct vkms_device;
struct vkms_commit;
struct vkms_output;

/**
 * struct vkms_output_config - what one output of a device is built with
 * @num_overlays: overlay planes, 0 to %VKMS_MAX_OVERLAYS
 * @cursor: the output has a cursor plane
 * @writeback: the output has a writeback connector
 * @encoders: the outputs whose encoders the output's connector can drive,
 *	a mask of output indexes; 0: the output has no connector (its CRTC is
 *	driven through another output's connector, or not at all)
 * @status: the connector's status at creation (connector_status_*)
 */
struct vkms_output_config {
	unsigned int num_overlays;
	bool cursor;
	bool writeback;
	u32 encoders;
	enum drm_connector_status status;
};

/**
 * struct vkms_config - what a device is built from
 * @name: name of its platform device
 * @num_outputs: outputs, 1 to %VKMS_MAX_OUTPUTS
 * @fbdev: with fbdev emulation
 * @outputs: each output, @num_outputs of them
 *
 * The default device's comes from the module parameters, a configfs
 * device's from its directory (vkms_configfs.c). vkms_device_create()
 * reads it and keeps nothing of it.
 */
struct vkms_config {
	const char *name;
	unsigned int num_outputs;
	bool fbdev;
	struct vkms_output_config outputs[VKMS_MAX_OUTPUTS];
};

/**
 * struct vkms_yuv - how the composer reads the chroma of a YUV layer
 * @cb: first byte of the Cb samples (plane offset applied)
 * @cr: first byte of the Cr samples
 * @cb_pitch: bytes per line of the Cb plane
 * @cr_pitch: bytes per line of the Cr plane
 * @cstep: bytes from a chroma sample to the next in its plane
 * @hshift: horizontal chroma subsampling, log2 (0 or 1)
 * @vshift: vertical chroma subsampling, log2 (0 or 1)
 * @wide: 16-bit samples (P010, P012, P016), else 8-bit
 * @mask: the bits of a 16-bit sample that hold it (P010: the top 10)
 * @yoff: luma black level, 16-bit scale (4096 limited, 0 full range)
 * @ky: luma factor, Q16
 * @rv: Cr to R, Q16
 * @gu: Cb to G (subtracted), Q16
 * @gv: Cr to G (subtracted), Q16
 * @bu: Cb to B, Q16
 *
 * The factors come from COLOR_ENCODING and COLOR_RANGE: see the
 * arithmetic at the top of vkms_composer.c.
 */
struct vkms_yuv {
	const u8 *cb;
	const u8 *cr;
	u32 cb_pitch;
	u32 cr_pitch;
	u8 cstep;
	u8 hshift;
	u8 vshift;
	bool wide;
	u16 mask;
	u16 yoff;
	s32 ky;
	s32 rv;
	s32 gu;
	s32 gv;
	s32 bu;
};

/**
 * struct vkms_layer - one plane of a frame, as the composer sees it
 * @vaddr: first byte of the plane's buffer (framebuffer offset applied);
 *	the luma plane of a YUV format
 * @pitch: bytes per line of the buffer
 * @format: DRM fourcc of the buffer
 * @cpp: bytes per pixel (of the luma plane), 0 below a byte (R1, R2, R4)
 * @bpp: bits per pixel (of the luma plane)
 * @blend: DRM_MODE_BLEND_* mode
 * @alpha: plane alpha, 0 to 0xffff
 * @has_alpha: the format has an alpha channel
 * @opaque: the layer hides what is below it (no alpha in effect)
 * @is_yuv: a YUV format, @yuv is set
 * @zpos: normalized z position
 * @ux: source column step per CRTC column (-1, 0 or 1)
 * @uy: source column step per CRTC line
 * @vx: source line step per CRTC column
 * @vy: source line step per CRTC line
 * @u0: source column of the CRTC pixel (@dst.x1, @dst.y1)
 * @v0: source line of that pixel
 * @step: bytes from a pixel to the next along a CRTC line, for formats of
 *	whole bytes per pixel (@cpp for a layer neither rotated by 90 or
 *	270 nor reflected along x)
 * @src: source rectangle in whole pixels, in framebuffer coordinates
 * @dst: destination rectangle on the CRTC, clipped to it
 * @yuv: the chroma planes and conversion factors of a YUV layer
 *
 * Rotation and reflection are in @ux to @v0: the source pixel shown at
 * CRTC (x, y) is (@u0 + @ux * dx + @uy * dy, @v0 + @vx * dx + @vy * dy)
 * with dx = x - @dst.x1, dy = y - @dst.y1.
 */
struct vkms_layer {
	const u8 *vaddr;
	u32 pitch;
	u32 format;
	u8 cpp;
	u8 bpp;
	u8 blend;
	u16 alpha;
	bool has_alpha;
	bool opaque;
	bool is_yuv;
	u8 zpos;
	s8 ux;
	s8 uy;
	s8 vx;
	s8 vy;
	int u0;
	int v0;
	int step;
	struct drm_rect src;
	struct drm_rect dst;
	struct vkms_yuv yuv;
};

/**
 * struct vkms_colour - a CRTC's colour pipeline, converted for the composer
 * @ref: references: the CRTC states that share it and the frames built
 *	from them; the last one is dropped in process context
 * @degamma: &drm_crtc_state.degamma_lut is applied
 * @ctm: &drm_crtc_state.ctm is applied
 * @gamma: &drm_crtc_state.gamma_lut is applied
 * @k: the matrix, row-major (output channel R, G, B), each coefficient
 *	two's complement with 32 fractional bits, magnitude at most
 *	%VKMS_CTM_MAX
 * @degamma_lut: per channel (R, G, B), entry i of the degamma LUT in the
 *	low 16 bits and entry i + 1 (i for the last) in the high 16 bits, so
 *	that one load gives both ends of an interpolation
 * @gamma_lut: the same for the gamma LUT
 * @degamma8: per channel, the degamma of each 8-bit value v (of v * 257),
 *	for lines read straight from an 8-bit buffer
 *
 * Built by the CRTC's atomic check from the state's blobs (and only when
 * they changed: duplicated states share it), so the composer reads
 * tables and allocates nothing. A stage equal to the identity on every
 * input is left out; with all three out the state has no table at all
 * and the composer keeps its fast paths. The arithmetic is at the top of
 * vkms_composer.c.
 */
struct vkms_colour {
	refcount_t ref;
	bool degamma;
	bool ctm;
	bool gamma;
	s64 k[9];
	u32 degamma_lut[3][VKMS_DEGAMMA_LUT_SIZE];
	u32 gamma_lut[3][VKMS_GAMMA_LUT_SIZE];
	u16 degamma8[3][256];
};

/* The largest CTM coefficient magnitude, 4096.0 in 32.32 fixed point. */
#define VKMS_CTM_MAX		(4096LL << 32)

/**
 * vkms_lut_interp - a LUT at a 16-bit value
 * @lut: one channel of &vkms_colour.degamma_lut or &vkms_colour.gamma_lut
 * @n1: the number of entries less one
 * @x: the value
 *
 * The interpolation defined at the top of vkms_composer.c.
 *
 * Return: the interpolated value, 0 to 0xffff.
 */
static inline u32 vkms_lut_interp(const u32 *lut, u32 n1, u32 x)
{
	u32 p = x * n1, i = p / 0xffff, f = p - i * 0xffff, e = lut[i];

	return ((e & 0xffff) * (0xffff - f) + (e >> 16) * f + 0x7fff) / 0xffff;
}

/**
 * struct vkms_frame - what a CRTC scans out, immutable once built
 * @ref: references; the last one must be dropped in process context
 *	(vkms_frame_put() unmaps buffers and drops framebuffers), or
 *	handed to the output's reaper (vkms_frame_put_deferred())
 * @reap: entry in &vkms_output.reap once the last reference is gone
 * @width: horizontal size of the CRTC's mode
 * @height: vertical size of the CRTC's mode
 * @nlayers: visible planes, in @layers
 * @layers: the visible planes, bottom first
 * @fbs: framebuffer references, one per layer
 * @maps: the buffer mappings made for each layer
 * @colour: the CRTC's colour pipeline (a reference), or NULL for none
 */
struct vkms_frame {
	refcount_t ref;
	struct llist_node reap;
	u16 width;
	u16 height;
	unsigned int nlayers;
	struct vkms_layer layers[VKMS_PLANES_PER_CRTC];
	struct drm_framebuffer *fbs[VKMS_PLANES_PER_CRTC];
	struct iosys_map maps[VKMS_PLANES_PER_CRTC][DRM_FORMAT_MAX_PLANES];
	struct vkms_colour *colour;
};

/**
 * struct vkms_wb_job - a writeback capture, the driver's part of a job
 * @node: entry in &vkms_output.wb_latched, under &vkms_output.lock
 * @map: mapping of the writeback framebuffer
 * @data: mapping of each plane of it, offsets applied
 * @fb: the framebuffer (the DRM job holds the reference)
 * @seq: vblank at which the capture is taken (set at the latch)
 */
struct vkms_wb_job {
	struct list_head node;
	struct iosys_map map[DRM_FORMAT_MAX_PLANES];
	struct iosys_map data[DRM_FORMAT_MAX_PLANES];
	struct drm_framebuffer *fb;
	u64 seq;
};

/**
 * struct vkms_flip - one commit's change of one CRTC's scan-out
 * @node: entry in &vkms_output.pending once armed, under &vkms_output.lock
 * @out: the output it flips
 * @vc: the gated commit that owns this flip, or NULL (freed at the latch)
 * @frame: the new frame (a reference), handed to the CRTC at the latch
 * @event: the vblank event to send at the latch (flip_done, OUT_FENCE), or
 *	NULL
 * @wb: writeback capture to take of the latched frame, or NULL
 * @armed: time at which the flip was armed
 * @keep: cancelled: latch it without changing the scan-out
 * @vblank_ref: holds a vblank reference, dropped at the latch
 */
struct vkms_flip {
	struct list_head node;
	struct vkms_output *out;
	struct vkms_commit *vc;
	struct vkms_frame *frame;
	struct drm_pending_vblank_event *event;
	struct vkms_wb_job *wb;
	ktime_t armed;
	bool keep;
	bool vblank_ref;
};

/**
 * struct vkms_compose_req - a composition the composer worker owes
 * @frame: the frame shown during vblanks @first to @last (a reference),
 *	or NULL (nothing shown: a black frame)
 * @first: first vblank sequence number
 * @last: last vblank sequence number
 * @crc: a CRC entry is wanted for each of these vblanks
 */
struct vkms_compose_req {
	struct vkms_frame *frame;
	u64 first;
	u64 last;
	bool crc;
};

/**
 * struct vkms_stats - per-CRTC counters shown in debugfs
 * @vblanks: vblanks (timer periods) since the module was loaded
 * @gated_pending: flips waiting for their fences right now
 * @flips_gated: flips that went through the fence-gated path
 * @flips_worker: flips of nonblocking commits done by a worker (gate=0,
 *	modesets)
 * @flips_armed: flips armed in the pending slot
 * @flips_latched: flips latched at a vblank
 * @flips_merged: flips replaced before their latch by a newer one (legacy
 *	cursor updates, which nothing waits for)
 * @flips_cancelled: gated flips cancelled (file closed, unload)
 * @missed_latches: flips armed before a vblank but latched at a later one
 * @scanout_waits: vblank handler runs (one may cover several late vblanks)
 *	in which an armed flip stayed pending because the composer (the
 *	simulated scan-out) had not finished reading the frame it replaces
 * @fence_errors: fences of flips that signaled with an error
 * @fence_deadlines: deadlines set on the fences of gated commits, one per
 *	plane fence still pending when its callback was added, counted on
 *	the output of the plane
 * @composed: frames composed
 * @compose_ns_last: time the last composition took
 * @compose_ns_max: longest composition
 * @crc_entries: CRC entries produced
 * @wb_done: writeback captures completed
 * @latched_armed_ns: when the last flip latched was armed (CLOCK_MONOTONIC,
 *	ns): tests bound a flip's latch by its arming, which a guest stalled
 *	by its host may make later than its fence's signal
 */
struct vkms_stats {
	u64 vblanks;
	u64 gated_pending;
	u64 flips_gated;
	u64 flips_worker;
	u64 flips_armed;
	u64 flips_latched;
	u64 flips_merged;
	u64 flips_cancelled;
	u64 missed_latches;
	u64 scanout_waits;
	u64 fence_errors;
	u64 fence_deadlines;
	u64 composed;
	u64 compose_ns_last;
	u64 compose_ns_max;
	u64 crc_entries;
	u64 wb_done;
	s64 latched_armed_ns;
};

/**
 * struct vkms_comp_bufs - the composer's working memory, one allocation
 * @reap: entry in &vkms_output.reap_bufs once replaced
 * @out_size: size of @out in bytes
 * @line_px: pixels @acc and @line can hold
 * @out: the output buffer
 * @acc: line accumulator
 * @line: scratch line
 *
 * Allocated in process context before a commit's point of no return
 * (vkms_composer_reserve()), never by the composer, which is on the
 * fence-signalling path.
 */
struct vkms_comp_bufs {
	struct llist_node reap;
	size_t out_size;
	unsigned int line_px;
	u32 *out;
	void *acc;
	void *line;
};

/**
 * struct vkms_composer - the composer worker's private data
 * @bufs: the buffers below belong to this allocation, or NULL
 * @out: the output buffer: the composed frame, XRGB8888, tight pitch
 * @out_size: size of @out in bytes
 * @width: width of the frame in @out
 * @height: height of the frame in @out
 * @acc: a line of the frame being composed, 16 bits per channel
 * @line: a line of one plane, converted to 16 bits per channel
 * @line_px: pixels @acc and @line can hold
 * @crc: the CRC of @out, if @crc_valid
 * @crc_valid: @crc is that of the frame composed last in this run
 * @reqs: requests taken from the CRTC's ring, being processed
 * @wb: writeback captures taken from the CRTC, being processed
 *
 * Only the composer worker of the output touches this (the worker is on
 * an ordered workqueue), and the output's teardown once the worker is
 * flushed.
 */
struct vkms_composer {
	struct vkms_comp_bufs *bufs;
	u32 *out;
	size_t out_size;
	u16 width;
	u16 height;
	void *acc;
	void *line;
	unsigned int line_px;
	u32 crc;
	bool crc_valid;
	struct vkms_compose_req reqs[VKMS_COMPOSE_RING];
	struct list_head wb;
};

/**
 * struct vkms_output - one CRTC and everything attached to it
 * @vkms: the device
 * @index: index of the output (and of its CRTC)
 * @crtc: the CRTC
 * @encoder: the virtual encoder
 * @connector: the virtual connector
 * @wb: the writeback connector
 * @primary: primary plane
 * @cursor: cursor plane
 * @overlays: overlay planes, @num_overlays of them
 * @num_overlays: overlay planes of this output
 * @conn_status: what the connector's detection reports; written with
 *	WRITE_ONCE() by vkms_connector_set_status(), read with READ_ONCE()
 * @edid: the connector's EDID
 * @timer: the vblank timer, running while the CRTC is on
 * @period: the frame duration; only changed while @timer is stopped
 * @tick_time: time of the last vblank, written by the timer handler
 * @lock: see below
 * @running: the timer runs (CRTC on)
 * @crc_enabled: the CRC source is "auto"
 * @pending: armed flips waiting for the next vblank, oldest first
 * @active: the frame being scanned out (a reference), or NULL
 * @ring: compose requests for the composer worker
 * @ring_head: index of the oldest request in @ring
 * @ring_len: requests in @ring
 * @crc_seq: the last vblank the CRC has an entry (or a request) for
 * @reads_queued: compose requests that read a frame, queued so far
 * @reads_done: those of them the composer has finished
 * @comp_next: buffers for the composer to take at its next run, or NULL
 * @comp_cap_px: output pixels the newest buffers (@comp_next, else the
 *	composer's) hold
 * @comp_cap_line: line pixels of the same
 * @compose_hold: test knob (debugfs compose_hold): the composer takes no
 *	request while set, as a scan-out stalled on a loaded host would
 * @wb_latched: writeback captures latched, waiting for the composer
 * @stats: counters
 * @composer_wq: ordered workqueue of the composer
 * @compose_work: the composer worker
 * @comp: the composer's data
 * @reserve_lock: serializes vkms_composer_reserve() (process context
 *	only; never taken by the composer)
 * @reap: frames whose last reference was dropped where they cannot be
 *	freed (the vblank handler, the composer)
 * @reap_bufs: composer buffers replaced by larger ones
 * @reap_work: frees @reap and @reap_bufs in process context
 */
struct vkms_output {
	struct vkms_device *vkms;
	unsigned int index;
	struct drm_crtc crtc;
	struct drm_encoder encoder;
	struct drm_connector connector;
	struct drm_writeback_connector wb;
	struct drm_plane *primary;
	struct drm_plane *cursor;
	struct drm_plane *overlays[VKMS_MAX_OVERLAYS];
	unsigned int num_overlays;
	enum drm_connector_status conn_status;
	u8 edid[128];

	struct hrtimer timer;
	ktime_t period;
	ktime_t tick_time;

	/*
	 * @lock protects everything below it up to @stats included. It is
	 * taken by the timer handler (hard IRQ), by fence callbacks (any
	 * context, possibly hard IRQ, under the signaling fence's lock) and by
	 * process context, always with interrupts disabled. Nothing that can
	 * sleep or allocate runs under it, and no other lock is taken inside
	 * it: events are sent and vblank references dropped after releasing
	 * it. Lock order: fence->lock -> vkms_device.gated_lock -> @lock.
	 *
	 * Scan-out rule: a flip that replaces @active latches only when
	 * @reads_done == @reads_queued, i.e. when the composer has read
	 * every vblank of the frames shown so far. Until then the old
	 * buffer is still being scanned out and its flip event, out-fence
	 * and writeback completion (which tell userspace it is free) must
	 * not be sent. A flip that tells nobody of its latch (no event, no
	 * out-fence, no writeback: a legacy cursor update, which the helpers
	 * complete before it latches) protects nothing by waiting, and
	 * latches at its vblank regardless.
	 */
	spinlock_t lock;
	bool running;
	bool crc_enabled;
	struct list_head pending;
	struct vkms_frame *active;
	struct vkms_compose_req ring[VKMS_COMPOSE_RING];
	unsigned int ring_head;
	unsigned int ring_len;
	u64 crc_seq;
	u64 reads_queued;
	u64 reads_done;
	struct vkms_comp_bufs *comp_next;
	size_t comp_cap_px;
	unsigned int comp_cap_line;
	bool compose_hold;
	struct list_head wb_latched;
	struct vkms_stats stats;

	struct workqueue_struct *composer_wq;
	struct work_struct compose_work;
	struct vkms_composer comp;
	struct mutex reserve_lock;	/* see @reserve_lock above */
	struct llist_head reap;
	struct llist_head reap_bufs;
	struct work_struct reap_work;
};

/**
 * struct vkms_device - the DRM device
 * @drm: the DRM device
 * @pdev: the platform device it hangs off
 * @num_outputs: number of outputs (CRTCs)
 * @outputs: the outputs
 * @open_lock: see below
 * @open_files: files of the DRM device open now
 * @closing: the device is being torn down: opens fail
 * @commit_wq: unbound workqueue for the gated commits' cleanup and
 *	@states_work
 * @gated_lock: protects @gated
 * @gated: gated commits whose fences have not all signaled
 * @wb_jobs: writeback jobs prepared and not yet cleaned up
 * @states: atomic states allocated and not freed yet
 * @states_freed: states freed whose helper worker may still be returning
 *	(see vkms_atomic_state_free())
 * @states_work: frees @states_freed once their workers have returned
 */
struct vkms_device {
	struct drm_device drm;
	struct platform_device *pdev;
	unsigned int num_outputs;
	struct vkms_output outputs[VKMS_MAX_OUTPUTS];
	/*
	 * @open_lock protects @open_files and @closing. Taken in process
	 * context only (open, release, vkms_device_close()); nothing else is
	 * taken under it.
	 */
	spinlock_t open_lock;
	unsigned int open_files;
	bool closing;
	struct workqueue_struct *commit_wq;
	/*
	 * @gated_lock is taken with interrupts disabled, from process context
	 * and from fence callbacks (under the signaling fence's lock). It
	 * nests outside &vkms_output.lock, never inside it.
	 */
	spinlock_t gated_lock;
	struct list_head gated;
	atomic_t wb_jobs;
	atomic_t states;
	struct llist_head states_freed;
	struct work_struct states_work;
};

/**
 * struct vkms_atomic_state - an atomic state of vkms
 * @base: the DRM state
 * @worker: committed nonblocking by drm_atomic_helper_commit(), whose
 *	worker (&drm_atomic_state.commit_work, on system_unbound_wq) runs
 *	the commit tail
 * @freed: entry in &vkms_device.states_freed
 */
struct vkms_atomic_state {
	struct drm_atomic_state base;
	bool worker;
	struct llist_node freed;
};

/**
 * struct vkms_plane_state - the plane state, with its fence kept
 * @base: the DRM state
 * @fence: a reference to &drm_plane_state.fence taken when the commit
 *	prepared the plane, or NULL: the helpers drop theirs once they have
 *	waited, and the commit tail reads its error from this one
 */
struct vkms_plane_state {
	struct drm_plane_state base;
	struct dma_fence *fence;
};

/**
 * struct vkms_crtc_state - the CRTC state, with the flip being committed
 * @base: the DRM state
 * @flip: the flip built for this state at commit time, not yet armed
 *	(freed with the state if the commit fails)
 * @colour: the colour pipeline of the state's DEGAMMA_LUT, CTM and
 *	GAMMA_LUT (a reference), or NULL when they leave colours as they are
 */
struct vkms_crtc_state {
	struct drm_crtc_state base;
	struct vkms_flip *flip;
	struct vkms_colour *colour;
};

static inline struct vkms_atomic_state *
to_vkms_state(struct drm_atomic_state *state)
{
	return container_of(state, struct vkms_atomic_state, base);
}

static inline struct vkms_plane_state *
to_vkms_plane_state(struct drm_plane_state *s)
{
	return container_of(s, struct vkms_plane_state, base);
}

static inline struct vkms_device *to_vkms(struct drm_device *drm)
{
	return container_of(drm, struct vkms_device, drm);
}

static inline struct vkms_output *crtc_to_output(struct drm_crtc *crtc)
{
	return container_of(crtc, struct vkms_output, crtc);
}

static inline struct vkms_output *wb_to_output(struct drm_writeback_connector *wb)
{
	return container_of(wb, struct vkms_output, wb);
}

static inline struct vkms_crtc_state *to_vkms_crtc_state(struct drm_crtc_state *s)
{
	return container_of(s, struct vkms_crtc_state, base);
}

extern bool vkms_gate;

/* vkms_drv.c */
struct vkms_device *vkms_device_create(const struct vkms_config *cfg);
int vkms_device_close(struct vkms_device *vkms);
void vkms_device_destroy(struct vkms_device *vkms);

/* vkms_output.c */
int vkms_output_init(struct vkms_device *vkms, unsigned int index,
		     const struct vkms_output_config *cfg);
int vkms_output_link(struct vkms_device *vkms, unsigned int index,
		     u32 encoders);
void vkms_connector_set_status(struct vkms_device *vkms, unsigned int index,
			       enum drm_connector_status status);

/* vkms_plane.c */
struct drm_plane *vkms_plane_create(struct vkms_device *vkms,
				    enum drm_plane_type type,
				    unsigned int index, unsigned int zpos,
				    unsigned int zpos_max);
extern const u32 vkms_formats[];
extern const unsigned int vkms_num_formats;

/* vkms_crtc.c */
int vkms_crtc_init(struct vkms_output *out);
void vkms_flip_arm(struct vkms_flip *flip, bool keep);
ktime_t vkms_next_vblank(struct vkms_output *out);
void vkms_send_event(struct drm_crtc *crtc,
		     struct drm_pending_vblank_event **event, int error);
void vkms_colour_put(struct vkms_colour *cl);

/* vkms_frame.c */
int vkms_flips_build(struct drm_atomic_state *state);
void vkms_flip_free(struct vkms_flip *flip);
void vkms_frame_put(struct vkms_frame *frame);
void vkms_frame_put_deferred(struct vkms_output *out, struct vkms_frame *frame);
void vkms_reap_work(struct work_struct *work);

/* vkms_gate.c */
bool vkms_can_gate(struct drm_atomic_state *state);
int vkms_commit_gated(struct drm_device *dev, struct drm_atomic_state *state);
void vkms_commit_flip_latched(struct vkms_commit *vc);
void vkms_cancel_gated(struct vkms_device *vkms, struct drm_file *file);
void vkms_cancel_crtcs(struct vkms_device *vkms, u32 crtc_mask);

/* vkms_commit.c */
int vkms_atomic_check(struct drm_device *dev, struct drm_atomic_state *state);
int vkms_atomic_commit(struct drm_device *dev, struct drm_atomic_state *state,
		       bool nonblock);
void vkms_count_fence_error(struct vkms_output *out);
struct drm_atomic_state *vkms_atomic_state_alloc(struct drm_device *dev);
void vkms_atomic_state_free(struct drm_atomic_state *state);
void vkms_states_work(struct work_struct *work);
void vkms_states_wait(struct vkms_device *vkms);
extern const struct drm_mode_config_helper_funcs vkms_mode_config_helpers;

/* vkms_composer.c */
void vkms_compose_work(struct work_struct *work);
int vkms_composer_reserve(struct vkms_output *out, u16 width, u16 height);
void vkms_comp_bufs_free(struct vkms_comp_bufs *b);
void vkms_composer_fini(struct vkms_output *out);
void vkms_layer_setup(struct vkms_layer *l, const struct drm_plane_state *ps,
		      const struct iosys_map *data);

/* vkms_writeback.c */
int vkms_writeback_init(struct vkms_output *out);
void vkms_writeback_attach(struct drm_atomic_state *state);
void vkms_writeback_cancel(struct vkms_output *out, struct vkms_wb_job *job);

/* vkms_configfs.c, with a kernel that has configfs */
#if IS_ENABLED(CONFIG_CONFIGFS_FS)
int vkms_configfs_register(void);
void vkms_configfs_unregister(void);
#else
static inline int vkms_configfs_register(void)
{
	return 0;
}

static inline void vkms_configfs_unregister(void)
{
}
#endif

#endif /* _VKMS_DRV_H_ */
