/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Tracepoints of vkms.
 *
 * vkms_flip_armed: a flip was put in its CRTC's pending slot, the next
 * vblank latches it. @armed_ns is the CLOCK_MONOTONIC time recorded in the
 * flip (the one the latch compares with the vblank's), so that the time
 * from a fence's signal to the arming of the flip it gated can be read in
 * nanoseconds, whatever resolution the trace's own timestamps have.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM vkms

#if !defined(_VKMS_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _VKMS_TRACE_H

#include <linux/ktime.h>
#include <linux/tracepoint.h>

TRACE_EVENT(vkms_flip_armed,
	    TP_PROTO(unsigned int crtc, ktime_t armed, bool gated, bool keep),
	    TP_ARGS(crtc, armed, gated, keep),
	    TP_STRUCT__entry(__field(unsigned int, crtc)
			     __field(s64, armed_ns)
			     __field(bool, gated)
			     __field(bool, keep)),
	    TP_fast_assign(__entry->crtc = crtc;
			   __entry->armed_ns = ktime_to_ns(armed);
			   __entry->gated = gated;
			   __entry->keep = keep;),
	    TP_printk("crtc=%u armed_ns=%lld gated=%d keep=%d",
		      __entry->crtc, __entry->armed_ns, __entry->gated,
		      __entry->keep)
);

#endif /* _VKMS_TRACE_H */

/* Outside the guard: define_trace.h reads this file several times. */
#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE vkms_trace
#include <trace/define_trace.h>
