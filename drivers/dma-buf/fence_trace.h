/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Tracepoints of the crossfence fence core.
 *
 * Every event records the fence's driver and timeline names, its context
 * and its sequence number, which together identify it.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM fence

#if !defined(_FENCE_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _FENCE_TRACE_H

#include <linux/fence.h>
#include <linux/tracepoint.h>

#include <crossfence/compat.h>

DECLARE_EVENT_CLASS(fence,
		    TP_PROTO(struct fence *fence),
		    TP_ARGS(fence),
		    TP_STRUCT__entry(__string(driver,
					      fence->ops->get_driver_name(fence))
				     __string(timeline,
					      fence->ops->get_timeline_name(fence))
				     __field(u64, context)
				     __field(u64, seqno)),
		    TP_fast_assign(cf_assign_str(driver,
						 fence->ops->get_driver_name(fence));
				   cf_assign_str(timeline,
						 fence->ops->get_timeline_name(fence));
				   __entry->context = fence->context;
				   __entry->seqno = fence->seqno;),
		    TP_printk("driver=%s timeline=%s context=%llu seqno=%llu",
			      __get_str(driver), __get_str(timeline),
			      __entry->context, __entry->seqno)
);

DEFINE_EVENT(fence, fence_init,
	     TP_PROTO(struct fence *fence),
	     TP_ARGS(fence)
);

DEFINE_EVENT(fence, fence_enable_signal,
	     TP_PROTO(struct fence *fence),
	     TP_ARGS(fence)
);

DEFINE_EVENT(fence, fence_signaled,
	     TP_PROTO(struct fence *fence),
	     TP_ARGS(fence)
);

DEFINE_EVENT(fence, fence_wait_start,
	     TP_PROTO(struct fence *fence),
	     TP_ARGS(fence)
);

DEFINE_EVENT(fence, fence_wait_end,
	     TP_PROTO(struct fence *fence),
	     TP_ARGS(fence)
);

DEFINE_EVENT(fence, fence_destroy,
	     TP_PROTO(struct fence *fence),
	     TP_ARGS(fence)
);

/*
 * A deadline set on an unsignaled fence (fence_set_deadline()), whether or
 * not its driver has a hook: @deadline in CLOCK_MONOTONIC nanoseconds, and
 * @ahead_ns, how far ahead of the call it was (negative: already past).
 */
TRACE_EVENT(fence_set_deadline,
	    TP_PROTO(struct fence *fence, ktime_t deadline),
	    TP_ARGS(fence, deadline),
	    TP_STRUCT__entry(__string(driver,
				      fence->ops->get_driver_name(fence))
			     __string(timeline,
				      fence->ops->get_timeline_name(fence))
			     __field(u64, context)
			     __field(u64, seqno)
			     __field(s64, deadline)
			     __field(s64, ahead_ns)),
	    TP_fast_assign(cf_assign_str(driver,
					 fence->ops->get_driver_name(fence));
			   cf_assign_str(timeline,
					 fence->ops->get_timeline_name(fence));
			   __entry->context = fence->context;
			   __entry->seqno = fence->seqno;
			   __entry->deadline = ktime_to_ns(deadline);
			   __entry->ahead_ns = ktime_to_ns(ktime_sub(deadline,
								     ktime_get()));),
	    TP_printk("driver=%s timeline=%s context=%llu seqno=%llu deadline=%lld ahead_ns=%lld",
		      __get_str(driver), __get_str(timeline),
		      __entry->context, __entry->seqno, __entry->deadline,
		      __entry->ahead_ns)
);

#endif /* _FENCE_TRACE_H */

/* Outside the guard: define_trace.h reads this file several times. */
#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE fence_trace
#include <trace/define_trace.h>
