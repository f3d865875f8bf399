/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * cf_timeline: the interface of the test-only dma_fence timeline module
 * (tests/kmod/cf_timeline.c). Test code only: never shipped.
 *
 * Each open of /sys/kernel/debug/cf_timeline is one timeline, a counter
 * that starts at 0 and only moves forward. Its fences are the kernel's own
 * struct dma_fence (not crossfence's), so to our drivers they are foreign.
 *
 * CF_TIMELINE_IOC_CREATE: a new fence that signals once the timeline
 * reaches @seqno, returned as a sync_file fd (close-on-exec) in @fd. A
 * fence at or below the current value is signaled already. Errors: EINVAL
 * (flags or pad not 0), EAGAIN (CF_TIMELINE_MAX_PENDING fences of the
 * timeline unsignaled), EMFILE, ENOMEM, EFAULT.
 *
 * CF_TIMELINE_IOC_SIGNAL: advance the timeline to @value, which must be
 * above the current value, signaling every fence at or below it, with
 * @error (0, or a negative errno) set on them first. Errors: EINVAL (value
 * not above the current one, error not 0 nor in -4095..-1, flags or pad
 * not 0), EFAULT.
 *
 * Closing the file signals the fences still unsignaled with -ENOENT, so
 * nothing waits for a timeline that no one can advance.
 */
#ifndef _CF_TIMELINE_H_
#define _CF_TIMELINE_H_

#include <linux/ioctl.h>
#include <linux/types.h>

#define CF_TIMELINE_MAX_PENDING	1024

struct cf_timeline_create {
	__u32 seqno;
	__u32 flags;	/* must be 0 */
	__s32 fd;	/* out: sync_file fd */
	__u32 pad;	/* must be 0 */
};

struct cf_timeline_signal {
	__u32 value;
	__s32 error;	/* 0 or -errno, set on the fences it signals */
	__u32 flags;	/* must be 0 */
	__u32 pad;	/* must be 0 */
};

#define CF_TIMELINE_IOC_CREATE	_IOWR('c', 0x40, struct cf_timeline_create)
#define CF_TIMELINE_IOC_SIGNAL	_IOW('c', 0x41, struct cf_timeline_signal)

#endif /* _CF_TIMELINE_H_ */
