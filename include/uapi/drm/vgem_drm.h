/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * crossfence vgem uapi.
 *
 * FENCE_ATTACH (0x1) and FENCE_SIGNAL (0x2) are byte-compatible with the
 * kernel's own vgem: existing userspace works unchanged. SUBMIT (0x3) and
 * FENCE_WAIT (0x4) are crossfence's: render jobs on a simulated GPU engine.
 */
#ifndef _CROSSFENCE_UAPI_VGEM_DRM_H_
#define _CROSSFENCE_UAPI_VGEM_DRM_H_

#include "drm.h"

#if defined(__cplusplus)
extern "C" {
#endif

#define DRM_VGEM_FENCE_ATTACH	0x1
#define DRM_VGEM_FENCE_SIGNAL	0x2
#define DRM_VGEM_SUBMIT		0x3
#define DRM_VGEM_FENCE_WAIT	0x4

#define DRM_IOCTL_VGEM_FENCE_ATTACH	DRM_IOWR(DRM_COMMAND_BASE + \
	DRM_VGEM_FENCE_ATTACH, struct drm_vgem_fence_attach)
#define DRM_IOCTL_VGEM_FENCE_SIGNAL	DRM_IOW(DRM_COMMAND_BASE + \
	DRM_VGEM_FENCE_SIGNAL, struct drm_vgem_fence_signal)
#define DRM_IOCTL_VGEM_SUBMIT		DRM_IOWR(DRM_COMMAND_BASE + \
	DRM_VGEM_SUBMIT, struct drm_vgem_submit)
#define DRM_IOCTL_VGEM_FENCE_WAIT	DRM_IOW(DRM_COMMAND_BASE + \
	DRM_VGEM_FENCE_WAIT, struct drm_vgem_fence_wait)

/*
 * FENCE_ATTACH: put a new fence on a buffer, as its write fence with
 * VGEM_FENCE_WRITE, else as a read fence, and return its id in out_fence.
 * The fence signals when userspace says so (FENCE_SIGNAL), or by itself
 * after 10 seconds. Errors: EINVAL (unknown flags, pad not 0), ENOENT (no
 * such handle), EBUSY (a conflicting fence on the buffer is unsignaled: any
 * fence for a write, a write fence for a read), EAGAIN (the file has too
 * many fence ids).
 */
struct drm_vgem_fence_attach {
	__u32 handle;
	__u32 flags;
#define VGEM_FENCE_WRITE	0x1
	__u32 out_fence;
	__u32 pad;
};

/*
 * FENCE_SIGNAL: signal an attached fence and release its id. Errors:
 * EINVAL (flags not 0), ENOENT (no such id, or already released),
 * ETIMEDOUT (the fence had already expired; the id is released).
 * On the id of a SUBMIT job: EBUSY while the job runs (the engine signals
 * it), then 0 and the id is released.
 */
struct drm_vgem_fence_signal {
	__u32 fence;
	__u32 flags;
};

/*
 * FENCE_WAIT: wait until a fence id (attached or of a job) has signaled.
 * Returns 0 once signaled, ETIME when timeout_ns ran out, EINTR/ERESTART
 * when interrupted, ENOENT for no such id, EINVAL for flags not 0 or a
 * negative timeout. A timeout of 0 only tests the fence.
 */
struct drm_vgem_fence_wait {
	__u32 fence;
	__u32 flags;
	__s64 timeout_ns;
};

/*
 * SUBMIT: queue a render job on an engine; returns at once.
 *
 * The job waits for its in-fences (sync_file fds of any driver) and for the
 * buffers' own fences (a writer waits for every fence on its buffer, a
 * reader for the write fences; VGEM_SUBMIT_NO_IMPLICIT skips these), then
 * runs on its engine after every job the same file submitted there before
 * it. Between files the engine runs the ready job with the earliest
 * deadline first (module parameter edf=1, the default; a job without a
 * deadline waits at most starve_ms for those with one), or every job in
 * submission order (edf=0). It writes its pixels, then signals its fence
 * at start + duration_ns (the simulated completion interrupt). Its fence
 * is the new write fence of the target (a read fence with
 * VGEM_SUBMIT_READ) and a read fence of the source; each file has a fence
 * timeline (context) of its own on each engine.
 *
 * Ops, on 32-bit pixels (format DRM_FORMAT_XRGB8888 or ARGB8888), in the
 * rectangle x, y, width, height of the target, whose row pitch is stride:
 *  VGEM_OP_NOP      no pixels: the job only takes its time (with
 *                   VGEM_SUBMIT_READ, a reader of the buffer).
 *  VGEM_OP_FILL     every pixel := color.
 *  VGEM_OP_PATTERN  the test pattern of frame number `frame`, as a function
 *                   of the pixel's position (px, py) in the buffer:
 *                     r = (px + 4 * frame) & 0xff
 *                     g = (py + 2 * frame) & 0xff
 *                     b = ((px ^ py) + frame) & 0xff
 *                     pixel = 0xff000000 | r << 16 | g << 8 | b
 *                   except in rows py < 16, columns px < 512, which show
 *                   the frame number in binary, 16 pixels a bit, bit 0
 *                   leftmost: 0xffffffff for a 1, 0xff000000 for a 0.
 *  VGEM_OP_COPY     the rectangle of src_handle at src_x, src_y (pitch
 *                   src_stride) is copied to the target's rectangle.
 *
 * Flags:
 *  VGEM_SUBMIT_OUT_FENCE_FD  return the job's fence as a sync_file fd in
 *                            out_fence_fd (close-on-exec).
 *  VGEM_SUBMIT_FENCE_ID      return a fence id in out_fence, for
 *                            FENCE_WAIT (released by FENCE_SIGNAL).
 *  VGEM_SUBMIT_READ          the job reads its target (only VGEM_OP_NOP).
 *  VGEM_SUBMIT_NO_IMPLICIT   do not wait for the buffers' fences.
 *  VGEM_SUBMIT_HANG          (test) the job never completes: the engine's
 *                            hang check signals it with ETIMEDOUT.
 *
 * A job waits for its in-fences and (unless NO_IMPLICIT) its buffers'
 * fences. If an in-fence fails, the job does not run and its fence fails
 * with that error; the buffers' fences pass no error on.
 *
 * deadline_ns, if not 0, is when the job's fence is wanted, in
 * CLOCK_MONOTONIC nanoseconds: as if set on the fence once it is made
 * (the earliest deadline set on a fence counts, from whoever sets it: a
 * display waiting for it, SYNC_IOC_SET_DEADLINE on its sync_file from
 * Linux 6.4). The engine runs jobs of different files earliest deadline
 * first and may boost its clock for a job at risk (module parameters edf,
 * starve_ms, max_boost). 0 means no deadline, as before the field existed.
 *
 * A file whose jobs hung 3 times (retired by the hang check, whether they
 * had VGEM_SUBMIT_HANG or overran) is banned: SUBMIT on it fails with EIO
 * from then on. Other files are not affected; a new file starts afresh.
 *
 * Errors: EINVAL (unknown op or flags, reserved or pad not 0, deadline_ns
 * over INT64_MAX, bad format, empty or too large rectangle, rectangle
 * outside a buffer, duration over VGEM_MAX_DURATION_NS, more than
 * VGEM_MAX_IN_FENCES in-fences, engine out of range, an in-fence that is
 * not a sync_file, a buffer that cannot be mapped in the kernel, such as
 * an import of I/O memory);
 * ENOENT (no such handle); EFAULT (bad in_fences pointer); EAGAIN (the file
 * has VGEM_MAX_JOBS jobs in flight, or too many fence ids); EIO (the file
 * is banned, above); ENOMEM.
 */
#define VGEM_OP_NOP		0
#define VGEM_OP_FILL		1
#define VGEM_OP_PATTERN		2
#define VGEM_OP_COPY		3

#define VGEM_SUBMIT_OUT_FENCE_FD	0x1
#define VGEM_SUBMIT_FENCE_ID		0x2
#define VGEM_SUBMIT_READ		0x4
#define VGEM_SUBMIT_NO_IMPLICIT		0x8
#define VGEM_SUBMIT_HANG		0x10
#define VGEM_SUBMIT_FLAGS		0x1f

#define VGEM_MAX_IN_FENCES	16
#define VGEM_MAX_DURATION_NS	1000000000ull
#define VGEM_MAX_DIMENSION	16384

struct drm_vgem_submit {
	__u32 handle;		/* target buffer */
	__u32 op;		/* VGEM_OP_* */
	__u32 flags;		/* VGEM_SUBMIT_* */
	__u32 engine;		/* engine index, from 0 */
	__u32 format;		/* DRM_FORMAT_XRGB8888 or ARGB8888 */
	__u32 stride;		/* target row pitch, bytes */
	__u32 x, y, width, height;	/* target rectangle, pixels */
	__u32 color;		/* VGEM_OP_FILL */
	__u32 frame;		/* VGEM_OP_PATTERN */
	__u32 src_handle;	/* VGEM_OP_COPY */
	__u32 src_stride;
	__u32 src_x, src_y;
	__u64 duration_ns;	/* simulated run time */
	__u64 in_fences;	/* user pointer to __s32 sync_file fds */
	__u32 num_in_fences;
	__u32 out_fence;	/* out: fence id (VGEM_SUBMIT_FENCE_ID) */
	__s32 out_fence_fd;	/* out: sync_file fd (VGEM_SUBMIT_OUT_FENCE_FD) */
	__u32 pad;		/* must be 0 */
	__u64 deadline_ns;	/* CLOCK_MONOTONIC; 0: none */
	__u64 reserved;		/* must be 0 */
};

#if defined(__cplusplus)
}
#endif

#endif /* _CROSSFENCE_UAPI_VGEM_DRM_H_ */
