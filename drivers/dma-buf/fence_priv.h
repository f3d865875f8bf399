/* SPDX-License-Identifier: GPL-2.0 */
/*
 * crossfence: what fence_core.c and fence_bridge.c share and no driver
 * sees. The locked steps of adding a callback are inlined into both: the
 * bridge adds its export's callback with the lock already held, and a call
 * of its own there cost a call and return per export under QEMU TCG, where
 * the benchmarks run (Documentation/benchmarks.rst).
 */
#ifndef _FENCE_PRIV_H
#define _FENCE_PRIV_H

#include <linux/fence.h>
#include <linux/lockdep.h>
#include <linux/list.h>

#include "fence_trace.h"

/*
 * Calls ops->enable_signaling the first time it is needed. Returns true if
 * the fence is still unsignaled afterwards, so that a callback added now
 * will run. Inlined, as the add below is, so that fence_add_callback()
 * calls nothing of ours between lock and unlock.
 */
static __always_inline bool __fence_enable_signaling(struct fence *fence)
	__must_hold(fence->lock)
{
	lockdep_assert_held(fence->lock);

	if (test_bit(FENCE_FLAG_SIGNALED_BIT, &fence->flags))
		return false;

	/* A plain store: every write of @flags holds the lock. */
	if (!test_bit(FENCE_FLAG_ENABLE_SIGNAL_BIT, &fence->flags)) {
		WRITE_ONCE(fence->flags,
			   fence->flags | BIT(FENCE_FLAG_ENABLE_SIGNAL_BIT));
		trace_fence_enable_signal(fence);
		if (fence->ops->enable_signaling &&
		    !fence->ops->enable_signaling(fence)) {
			__fence_signal(fence);
			return false;
		}
	}

	/* enable_signaling may have signaled the fence itself. */
	return !test_bit(FENCE_FLAG_SIGNALED_BIT, &fence->flags);
}

/*
 * The add, lock held: inlined into __fence_add_callback(),
 * fence_add_callback() and the bridge's export. Every call and return costs a lookup in QEMU TCG,
 * where the benchmarks run, and two return addresses that share a slot of
 * its jump cache cost a miss each on every call: with the add as a call of
 * its own, the callback rows measured 1.1-1.3x dma_fence on 6.12 (see
 * Documentation/benchmarks.rst); inlined, as dma_fence_add_callback() does,
 * 0.86-1.00.
 */
static __always_inline int fence_add_cb_locked(struct fence *fence,
					       struct fence_cb *cb,
					       fence_func_t func)
	__must_hold(fence->lock)
{
	if (!__fence_enable_signaling(fence)) {
		INIT_LIST_HEAD(&cb->node);
		return -ENOENT;
	}

	cb->func = func;
	list_add_tail(&cb->node, &fence->cb_list);
	return 0;
}

#endif /* _FENCE_PRIV_H */
