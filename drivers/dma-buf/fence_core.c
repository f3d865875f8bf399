// SPDX-License-Identifier: GPL-2.0
/*
 * crossfence: the fence core.
 *
 * See include/linux/fence.h for the object, its life cycle and its locking
 * rules. This file implements signaling, callbacks, waits, the default
 * release, the tracepoints and a debugfs view of the unsignaled fences.
 */

#include <linux/atomic.h>
#include <linux/debugfs.h>
#include <linux/dma-fence.h>
#include <linux/err.h>
#include <linux/errno.h>
#include <linux/export.h>
#include <linux/fence.h>
#include <linux/init.h>
#include <linux/list.h>
#include <linux/lockdep.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/sched/signal.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/sched/mm.h>
#include <crossfence/version.h>

#include "fence_priv.h"

#define CREATE_TRACE_POINTS
#include "fence_trace.h"

/*
 * Contexts are handed out from 1 upwards, so 0 is never a valid context and
 * can be used by drivers as "none".
 */

/*
 * Debug tracking of unsignaled fences.
 *
 * struct fence has no room for a link on a global list: it must stay as
 * small as struct dma_fence. When the "track" module parameter is set, each
 * fence initialised from then on gets a separately allocated node, which
 * is linked on fence_track_list and also registered as the first callback
 * on the fence's own callback list (without enabling signaling):
 *  - at signal time the node's callback unlinks and frees it, like any
 *    other callback, so finding it costs nothing;
 *  - if an unsignaled fence is released, fence_release() finds the node on
 *    the callback list by its function and drops it before the fence is
 *    freed.
 * No reference on the fence is held: a node is on the list exactly as long
 * as its fence is alive and unsignaled, and fence_track_lock (nested inside
 * fence->lock) guards the list, so the reader of debugfs "fence/pending"
 * may look at a listed fence under that lock. A node that cannot be
 * allocated only means the fence is not listed; such fences are counted in
 * debugfs "fence/untracked".
 *
 * The only visible effect of tracking is that &fence.cb_list of a tracked,
 * unsignaled fence is not empty.
 */
static bool track;
module_param(track, bool, 0644);
MODULE_PARM_DESC(track,
		 "List unsignaled fences in debugfs fence/pending (default 0)");

struct fence_track_node {
	struct fence_cb cb;
	struct list_head link;
	struct fence *fence;
	ktime_t start;
};

static DEFINE_SPINLOCK(fence_track_lock); /* protects fence_track_list */
static LIST_HEAD(fence_track_list);
static atomic_t fence_untracked = ATOMIC_INIT(0);
static struct dentry *fence_debugfs_root;

static void fence_track_drop(struct fence_track_node *node)
{
	unsigned long flags;

	spin_lock_irqsave(&fence_track_lock, flags);
	list_del(&node->link);
	spin_unlock_irqrestore(&fence_track_lock, flags);
	kfree(node);
}

static void fence_track_signaled(struct fence *fence, struct fence_cb *cb)
{
	fence_track_drop(container_of(cb, struct fence_track_node, cb));
}

/*
 * Called by fence_init() when tracking is on, before the fence is visible
 * to anyone else. Out of line: it would cost every fence_init() its
 * register saves.
 */
static noinline __cold void fence_track(struct fence *fence)
{
	struct fence_track_node *node;
	unsigned long flags;

	/* fence_init() may be called in atomic context, even in hard IRQ. */
	node = kmalloc(sizeof(*node), GFP_NOWAIT | __GFP_NOWARN);
	if (!node) {
		atomic_inc(&fence_untracked);
		return;
	}
	node->fence = fence;
	node->start = ktime_get();
	node->cb.func = fence_track_signaled;
	list_add_tail(&node->cb.node, &fence->cb_list);

	spin_lock_irqsave(&fence_track_lock, flags);
	list_add_tail(&node->link, &fence_track_list);
	spin_unlock_irqrestore(&fence_track_lock, flags);
}

/* Drops the tracking node of an unsignaled fence about to be freed. */
static void fence_untrack_locked(struct fence *fence)
	__must_hold(fence->lock)
{
	struct fence_cb *cb;

	list_for_each_entry(cb, &fence->cb_list, node) {
		if (cb->func == fence_track_signaled) {
			list_del_init(&cb->node);
			fence_track_signaled(fence, cb);
			return;
		}
	}
}

/**
 * fence_init - initialise a fence
 * @fence: the fence, usually embedded at the start of a driver structure
 * @ops: the driver's operations; must outlive the fence
 * @lock: the spinlock protecting the fence, see &struct fence
 * @context: the fence's context, from fence_context_alloc()
 * @seqno: the fence's position on its context's timeline
 *
 * The fence starts unsignaled with one reference, owned by the caller. It
 * must be initialised before it is published. May be called in any
 * context, with @lock held or not.
 */
void fence_init(struct fence *fence, const struct fence_ops *ops,
		spinlock_t *lock, u64 context, u64 seqno)
{
	BUILD_BUG_ON(sizeof(struct fence) > sizeof(struct dma_fence));

	kref_init(&fence->refcount);
	fence->ops = ops;
	INIT_LIST_HEAD(&fence->cb_list);
	fence->lock = lock;
	fence->context = context;
	fence->seqno = seqno;
	fence->flags = ops->signaled ? BIT(FENCE_FLAG_SIGNALED_OP_BIT) : 0UL;
	fence->error = 0;

	if (unlikely(READ_ONCE(track)))
		fence_track(fence);
	trace_fence_init(fence);
}
EXPORT_SYMBOL_GPL(fence_init);

/**
 * fence_free - free a fence after an RCU grace period
 * @fence: the fence, whose reference count has dropped to zero
 *
 * The default release: the memory is given back with kfree() once every
 * RCU reader that may still look at the fence is gone, which is what makes
 * fence_get_rcu() safe. @fence must be the start of a kmalloc()ed object.
 * Drivers with their own &fence_ops.release may call it when done.
 */
static void fence_free_rcu(struct rcu_head *rcu)
{
	kfree(container_of(rcu, struct fence, rcu));
}

void fence_free(struct fence *fence)
{
	/*
	 * A callback of our own, not kfree_rcu(): on 6.1 under QEMU the
	 * kfree_rcu() batching (a per-CPU locked page of pointers, drained
	 * by a worker) measured slower per fence than call_rcu() and a
	 * kfree() from the callback (fence_bench init_signal_put: 1.16x
	 * dma_fence freed by call_rcu(), 0.90x with this). The module's exit
	 * waits for the callbacks with rcu_barrier().
	 */
	call_rcu(&fence->rcu, fence_free_rcu);
}
EXPORT_SYMBOL_GPL(fence_free);

/**
 * fence_release - release a fence whose last reference is gone
 * @kref: &fence.refcount of the fence
 *
 * Called through fence_put(); not to be called directly. A fence released
 * without having signaled loses its tracking node; if callbacks are still
 * pending on it (a driver bug: their owners should hold references), it is
 * signaled with -EDEADLK (unless an error was already set) so that they run
 * rather than dangle. Then &fence_ops.release, or fence_free(), frees it.
 */
static noinline void fence_release_unsignaled(struct fence *fence)
{
	unsigned long flags;

	spin_lock_irqsave(fence->lock, flags);
	if (!test_bit(FENCE_FLAG_SIGNALED_BIT, &fence->flags)) {
		fence_untrack_locked(fence);
		if (!list_empty(&fence->cb_list)) {
			if (!fence->error)
				fence->error = -EDEADLK;
			__fence_signal(fence);
		}
	}
	spin_unlock_irqrestore(fence->lock, flags);
}

void fence_release(struct kref *kref)
{
	struct fence *fence = container_of(kref, struct fence, refcount);

	trace_fence_destroy(fence);

	/*
	 * Unlocked hint first: a signaled fence (the common case) needs no
	 * lock. The list test may read a timestamp written by a concurrent
	 * signal; the locked test sorts that out.
	 */
	if (!test_bit(FENCE_FLAG_SIGNALED_BIT, &fence->flags) &&
	    !list_empty(&fence->cb_list))
		fence_release_unsignaled(fence);

	if (fence->ops->release)
		fence->ops->release(fence);
	else
		fence_free(fence);
}
EXPORT_SYMBOL_GPL(fence_release);

/*
 * The signal itself, for a fence that is known to be unsignaled, with
 * @fence->lock held. Inlined into each of the four entry points, so that
 * the common fence_signal() is one call, as dma_fence_signal() is.
 */
static __always_inline void fence_do_signal(struct fence *fence,
					    ktime_t timestamp)
	__must_hold(fence->lock)
{
	struct fence_cb *cb, *next;
	LIST_HEAD(cbs);

	/*
	 * Detach the callbacks before the timestamp takes the list's place.
	 * The list cannot change meanwhile: every writer holds the lock.
	 */
	list_splice(&fence->cb_list, &cbs);
	fence->timestamp = timestamp;
	/*
	 * Both bits in one store, released after the timestamp (pairs with
	 * fence_timestamp()'s smp_rmb): a lockless reader that sees the
	 * fence signaled also finds its timestamp. A plain store, not an
	 * atomic read-modify-write: every write of @flags holds the lock.
	 */
	smp_store_release(&fence->flags, fence->flags |
			  BIT(FENCE_FLAG_TIMESTAMP_BIT) |
			  BIT(FENCE_FLAG_SIGNALED_BIT));

	trace_fence_signaled(fence);

	list_for_each_entry_safe(cb, next, &cbs, node) {
		/* Emptied, so that removing it now reports "not pending". */
		INIT_LIST_HEAD(&cb->node);
		cb->func(fence, cb);
	}
}

/**
 * __fence_signal_timestamp - signal a fence with a given time, lock held
 * @fence: the fence
 * @timestamp: the completion time to record (CLOCK_MONOTONIC)
 *
 * Like __fence_signal(), recording @timestamp rather than the current time,
 * for drivers that know when the hardware completed.
 *
 * Return: 0, or -EINVAL if the fence had already signaled.
 */
int __fence_signal_timestamp(struct fence *fence, ktime_t timestamp)
	__must_hold(fence->lock)
{
	lockdep_assert_held(fence->lock);

	if (unlikely(test_bit(FENCE_FLAG_SIGNALED_BIT, &fence->flags)))
		return -EINVAL;
	fence_do_signal(fence, timestamp);
	return 0;
}
EXPORT_SYMBOL_GPL(__fence_signal_timestamp);

/**
 * __fence_signal - signal a fence, lock held
 * @fence: the fence
 *
 * Like fence_signal(), for a caller already holding @fence->lock.
 *
 * Return: 0, or -EINVAL if the fence had already signaled.
 */
int __fence_signal(struct fence *fence)
	__must_hold(fence->lock)
{
	lockdep_assert_held(fence->lock);

	if (unlikely(test_bit(FENCE_FLAG_SIGNALED_BIT, &fence->flags)))
		return -EINVAL;
	fence_do_signal(fence, ktime_get());
	return 0;
}
EXPORT_SYMBOL_GPL(__fence_signal);

/**
 * fence_signal_timestamp - signal a fence with a given time
 * @fence: the fence, may be NULL
 * @timestamp: the completion time to record (CLOCK_MONOTONIC)
 *
 * Like fence_signal(), recording @timestamp rather than the current time.
 *
 * Return: 0, or -EINVAL if @fence is NULL or had already signaled.
 */
int fence_signal_timestamp(struct fence *fence, ktime_t timestamp)
{
	unsigned long flags;
	int ret;

	if (!fence)
		return -EINVAL;

	spin_lock_irqsave(fence->lock, flags);
	ret = __fence_signal_timestamp(fence, timestamp);
	spin_unlock_irqrestore(fence->lock, flags);
	return ret;
}
EXPORT_SYMBOL_GPL(fence_signal_timestamp);

/**
 * fence_signal - signal a fence
 * @fence: the fence, may be NULL
 *
 * Marks the fence complete, once: records the current time as its
 * timestamp, then runs each pending callback exactly once, here, with
 * @fence->lock held. May be called from any context, hard IRQ included;
 * takes @fence->lock with interrupts disabled.
 *
 * Return: 0, or -EINVAL if @fence is NULL or had already signaled, in which
 * case nothing is done.
 */
int fence_signal(struct fence *fence)
{
	unsigned long flags;
	int ret = -EINVAL;

	if (!fence)
		return -EINVAL;
	if (test_bit(FENCE_FLAG_SIGNALED_BIT, &fence->flags))
		return -EINVAL;

	spin_lock_irqsave(fence->lock, flags);
	if (likely(!test_bit(FENCE_FLAG_SIGNALED_BIT, &fence->flags))) {
		fence_do_signal(fence, ktime_get());
		ret = 0;
	}
	spin_unlock_irqrestore(fence->lock, flags);
	return ret;
}
EXPORT_SYMBOL_GPL(fence_signal);

/**
 * fence_enable_sw_signaling - make sure a fence will signal by itself
 * @fence: the fence
 *
 * Calls &fence_ops.enable_signaling if that has not been done yet, as
 * adding a callback would. Useful before waiting on a fence by polling
 * fence_is_signaled(). Takes @fence->lock.
 */
void fence_enable_sw_signaling(struct fence *fence)
{
	unsigned long flags;

	if (test_bit(FENCE_FLAG_ENABLE_SIGNAL_BIT, &fence->flags) ||
	    test_bit(FENCE_FLAG_SIGNALED_BIT, &fence->flags))
		return;

	spin_lock_irqsave(fence->lock, flags);
	__fence_enable_signaling(fence);
	spin_unlock_irqrestore(fence->lock, flags);
}
EXPORT_SYMBOL_GPL(fence_enable_sw_signaling);

/*
 * Deadlines. The core keeps none of its own: struct fence is exactly as
 * large as struct dma_fence (one cache line on 64-bit) and has no room for
 * a ktime_t. The earliest-wins rule is therefore the hook's, as it is for
 * &dma_fence_ops.set_deadline: every deadline set on an unsignaled fence
 * reaches the driver, which keeps the earliest (usually with
 * fence_deadline_keep_earliest() on a field of its fence object) and lets
 * later ones change nothing. The hook runs without the fence lock, as the
 * dma_fence one does, so that it may forward the deadline to other fences
 * (the bridge's import does, to a dma_fence whose lock it shares).
 */

/**
 * fence_set_deadline - tell a fence's driver when the fence is wanted
 * @fence: the fence; the caller holds a reference
 * @deadline: the time (CLOCK_MONOTONIC) by which the caller would like
 *	@fence signaled, such as the vblank a display flip waits for; a
 *	time already past means as soon as possible
 *
 * A hint, which the driver may use to raise its clock or run this work
 * sooner: on an unsignaled fence, traces the deadline and calls
 * &fence_ops.set_deadline if the driver has one. The earliest deadline
 * wins: the driver acts on the earliest it was given, and a later one
 * changes nothing (see &fence_ops.set_deadline). A fence that has signaled
 * is left alone: nothing is traced or called.
 *
 * May be called in any context, hard IRQ included: it takes no lock itself
 * and the hook must not sleep. It must not be called with @fence->lock
 * held, since the hook may take it; from a callback of @fence itself it is
 * a no-op, the fence having signaled before its callbacks run. The hook
 * may find the work done and signal @fence (an import's dma_fence may),
 * so @fence's callbacks may run inside this call.
 */
void fence_set_deadline(struct fence *fence, ktime_t deadline)
{
	/*
	 * Only the flag: fence_is_signaled() could signal the fence here,
	 * taking its lock. A signal that races with this test may let the
	 * hook see a fence that has just signaled, which it tolerates.
	 */
	if (test_bit(FENCE_FLAG_SIGNALED_BIT, &fence->flags))
		return;

	trace_fence_set_deadline(fence, deadline);
	if (fence->ops->set_deadline)
		fence->ops->set_deadline(fence, deadline);
}
EXPORT_SYMBOL_GPL(fence_set_deadline);

/**
 * __fence_add_callback - add a callback to a fence, lock held
 * @fence: the fence
 * @cb: the callback structure, owned by the caller
 * @func: the function to run when the fence signals
 *
 * Like fence_add_callback(), for a caller already holding @fence->lock.
 *
 * Return: 0 if the callback was added, -ENOENT if the fence has signaled.
 */
int __fence_add_callback(struct fence *fence, struct fence_cb *cb,
			 fence_func_t func)
	__must_hold(fence->lock)
{
	lockdep_assert_held(fence->lock);
	return fence_add_cb_locked(fence, cb, func);
}
EXPORT_SYMBOL_GPL(__fence_add_callback);

/**
 * fence_add_callback - run a function when a fence signals
 * @fence: the fence
 * @cb: the callback structure, owned by the caller
 * @func: the function to run when the fence signals
 *
 * Registers @func to run, once, from the context that signals @fence, with
 * @fence->lock held: it must not sleep. Enables signaling on the fence the
 * first time (see &fence_ops.enable_signaling). Callbacks run in the order
 * they were added. The caller should hold a reference on @fence until the
 * callback has run or been removed.
 *
 * Return: 0 if the callback was added; -ENOENT if the fence has already
 * signaled, in which case @func will not run and @cb->node is left empty;
 * -EINVAL if @fence, @cb or @func is NULL.
 */
int fence_add_callback(struct fence *fence, struct fence_cb *cb,
		       fence_func_t func)
{
	unsigned long flags;
	int ret;

	if (!fence || !cb || !func)
		return -EINVAL;

	if (test_bit(FENCE_FLAG_SIGNALED_BIT, &fence->flags)) {
		INIT_LIST_HEAD(&cb->node);
		return -ENOENT;
	}

	spin_lock_irqsave(fence->lock, flags);
	ret = fence_add_cb_locked(fence, cb, func);
	spin_unlock_irqrestore(fence->lock, flags);
	return ret;
}
EXPORT_SYMBOL_GPL(fence_add_callback);

/**
 * fence_remove_callback - cancel a callback
 * @fence: the fence the callback was added to
 * @cb: the callback structure given to fence_add_callback()
 *
 * Takes @fence->lock. After it returns, the callback is not running on
 * another CPU and will not run, so @cb may be freed.
 *
 * Return: true if the callback was still pending and has been removed;
 * false if it has already run (or was never added, when fence_add_callback()
 * returned -ENOENT).
 */
bool fence_remove_callback(struct fence *fence, struct fence_cb *cb)
{
	unsigned long flags;
	bool pending;

	spin_lock_irqsave(fence->lock, flags);
	pending = !list_empty(&cb->node);
	if (pending)
		list_del_init(&cb->node);
	spin_unlock_irqrestore(fence->lock, flags);
	return pending;
}
EXPORT_SYMBOL_GPL(fence_remove_callback);

/* A callback that wakes up a sleeping task. */
struct fence_wake_cb {
	struct fence_cb base;
	struct task_struct *task;
};

static void fence_wake_func(struct fence *fence, struct fence_cb *cb)
{
	struct fence_wake_cb *wake = container_of(cb, struct fence_wake_cb,
						  base);

	wake_up_process(wake->task);
}

/**
 * fence_default_wait - wait for a fence, through its callback list
 * @fence: the fence
 * @intr: if true, a signal sent to the task interrupts the wait
 * @timeout: the longest time to wait, in jiffies, or MAX_SCHEDULE_TIMEOUT
 *
 * The wait used when the driver has no &fence_ops.wait; drivers' own waits
 * may call it too. Enables signaling, then sleeps until a callback on the
 * fence wakes the task, the time runs out or (if @intr) a signal arrives.
 *
 * Return: the remaining jiffies, at least 1, if the fence has signaled
 * (also with a @timeout of 0); 0 if the time ran out; -ERESTARTSYS if
 * interrupted; -EINVAL if @timeout is negative.
 */
signed long fence_default_wait(struct fence *fence, bool intr,
			       signed long timeout)
{
	unsigned int state = intr ? TASK_INTERRUPTIBLE : TASK_UNINTERRUPTIBLE;
	struct fence_wake_cb wake;
	signed long ret = timeout;
	unsigned long flags;

	if (timeout < 0)
		return -EINVAL;
	if (test_bit(FENCE_FLAG_SIGNALED_BIT, &fence->flags))
		return timeout ? timeout : 1;

	spin_lock_irqsave(fence->lock, flags);

	if (!__fence_enable_signaling(fence)) {
		ret = timeout ? timeout : 1;
		goto out;
	}

	wake.base.func = fence_wake_func;
	wake.task = current;
	list_add_tail(&wake.base.node, &fence->cb_list);

	/*
	 * The fence can only signal while the lock is dropped, and by then the
	 * task state is set: its wake-up cannot be lost.
	 */
	for (;;) {
		if (__fence_is_signaled_locked(fence)) {
			if (!ret)
				ret = 1;
			break;
		}
		if (!ret)
			break;
		if (intr && signal_pending(current)) {
			ret = -ERESTARTSYS;
			break;
		}
		set_current_state(state);
		spin_unlock_irqrestore(fence->lock, flags);
		ret = schedule_timeout(ret);
		spin_lock_irqsave(fence->lock, flags);
	}
	__set_current_state(TASK_RUNNING);

	/* Still queued unless the fence signaled. */
	if (!list_empty(&wake.base.node))
		list_del(&wake.base.node);
out:
	spin_unlock_irqrestore(fence->lock, flags);
	return ret;
}
EXPORT_SYMBOL_GPL(fence_default_wait);

/**
 * fence_wait_timeout - wait for a fence, for a limited time
 * @fence: the fence; the caller holds a reference
 * @intr: if true, a signal sent to the task interrupts the wait
 * @timeout: the longest time to wait, in jiffies, or MAX_SCHEDULE_TIMEOUT
 *
 * Sleeps (unless @timeout is 0) until @fence signals, using the driver's
 * &fence_ops.wait or else fence_default_wait(). With a @timeout of 0 it
 * only tests the fence, after enabling its signaling.
 *
 * Return: the remaining jiffies, at least 1, if the fence has signaled;
 * 0 if the time ran out; -ERESTARTSYS if interrupted; -EINVAL if @timeout
 * is negative; or another negative error from &fence_ops.wait.
 */
signed long fence_wait_timeout(struct fence *fence, bool intr,
			       signed long timeout)
{
	signed long ret;

	if (timeout < 0)
		return -EINVAL;

	might_sleep_if(timeout);
	if (timeout)
		fence_might_wait();

	trace_fence_wait_start(fence);
	if (fence->ops->wait)
		ret = fence->ops->wait(fence, intr, timeout);
	else
		ret = fence_default_wait(fence, intr, timeout);
	trace_fence_wait_end(fence);

	return ret;
}
EXPORT_SYMBOL_GPL(fence_wait_timeout);

/*
 * Signalling sections, for lockdep. A fence's signal may depend on work in
 * several contexts (a worker that starts the job, a timer that completes
 * it, a callback that arms a flip); if any of them waits for a fence,
 * allocates memory that reclaim could only free by waiting for a fence, or
 * takes a lock that is held around a fence wait, the signal can deadlock.
 * fence_begin_signalling() marks such code as a recursive read of
 * fence_signalling_map, and every fence wait takes the map for write
 * (fence_might_wait()), so lockdep sees both ends of any such cycle. The
 * module's init teaches it that reclaim may wait for fences. Our sections
 * also enter the kernel's dma_fence signalling map, since our fences are
 * exported as dma_fences whose waiters only know that one.
 */
#ifdef CONFIG_LOCKDEP
static struct lockdep_map fence_signalling_map = {
	.name = "fence_signalling",
};
#endif

#define FENCE_SIG_NESTED	BIT(0)	/* our map was held already */
#define FENCE_SIG_DMA_NESTED	BIT(1)	/* dma_fence's map was held already */

/**
 * fence_begin_signalling - start a section that a fence's signal waits on
 *
 * Between this call and fence_end_signalling() the caller must not
 * allocate memory with reclaim (GFP_KERNEL), take a sleeping lock that
 * anyone holds while waiting for a fence, nor wait for a fence. With
 * lockdep, a violation is reported as a possible deadlock. Sections nest.
 * In interrupt context (timers, callbacks of fences signalled there) the
 * annotation is a statement of intent: might_sleep() and lockdep's
 * interrupt-safety checks cover those.
 *
 * Return: a cookie for fence_end_signalling().
 */
unsigned int fence_begin_signalling(void)
{
	unsigned int cookie = 0;

	if (dma_fence_begin_signalling())
		cookie |= FENCE_SIG_DMA_NESTED;
#ifdef CONFIG_LOCKDEP
	/*
	 * Not where the caller cannot sleep anyway (preemption or interrupts
	 * off, interrupt handlers): might_sleep() covers those, and a section
	 * taken there would mix interrupt contexts on the map, which every
	 * fence wait takes for write with interrupts on. Lockdep implies
	 * PREEMPT_COUNT, so spinlocked code is seen too.
	 */
	if (!preemptible() || lock_is_held_type(&fence_signalling_map, 1))
		cookie |= FENCE_SIG_NESTED;
	else
		lock_acquire(&fence_signalling_map, 0, 0, 1, 1, NULL, _RET_IP_);
#endif
	return cookie;
}
EXPORT_SYMBOL_GPL(fence_begin_signalling);

/**
 * fence_end_signalling - end a section started by fence_begin_signalling()
 * @cookie: what fence_begin_signalling() returned
 */
void fence_end_signalling(unsigned int cookie)
{
#ifdef CONFIG_LOCKDEP
	if (!(cookie & FENCE_SIG_NESTED))
		lock_release(&fence_signalling_map, _RET_IP_);
#endif
	dma_fence_end_signalling(cookie & FENCE_SIG_DMA_NESTED);
}
EXPORT_SYMBOL_GPL(fence_end_signalling);

/**
 * fence_might_wait - tell lockdep that the caller may wait for a fence
 *
 * fence_wait_timeout() calls it; code that waits for a fence by other
 * means (polling a flag, a wait queue of its own) should too.
 */
void fence_might_wait(void)
{
#ifdef CONFIG_LOCKDEP
	lock_map_acquire(&fence_signalling_map);
	lock_map_release(&fence_signalling_map);
#endif
}
EXPORT_SYMBOL_GPL(fence_might_wait);

/* Index of the first signaled fence of the array, or -1. */
static int fence_first_signaled(struct fence **fences, u32 count)
{
	u32 i;

	for (i = 0; i < count; i++)
		if (fence_is_signaled(fences[i]))
			return i;
	return -1;
}

/**
 * fence_wait_any_timeout - wait for the first of several fences
 * @fences: array of fences; the caller holds a reference on each
 * @count: number of fences in @fences
 * @intr: if true, a signal sent to the task interrupts the wait
 * @timeout: the longest time to wait, in jiffies, or MAX_SCHEDULE_TIMEOUT
 * @idx: if not NULL, receives the index of a signaled fence on success
 *
 * Sleeps until any fence of the array signals. The fences need not share a
 * context nor a driver; the wait is built on their callback lists, so
 * &fence_ops.wait is not used. With a @timeout of 0 it only tests them.
 *
 * Return: the remaining jiffies, at least 1, if a fence has signaled (its
 * index is then stored in @idx); 0 if the time ran out; -ERESTARTSYS if
 * interrupted; -EINVAL if @fences is NULL, holds a NULL entry, @count is 0
 * or @timeout is negative; -ENOMEM if out of memory.
 */
signed long fence_wait_any_timeout(struct fence **fences, u32 count,
				   bool intr, signed long timeout, u32 *idx)
{
	unsigned int state = intr ? TASK_INTERRUPTIBLE : TASK_UNINTERRUPTIBLE;
	struct fence_wake_cb *wake;
	signed long ret = timeout;
	u32 added, i;
	int first;

	if (!fences || !count || timeout < 0)
		return -EINVAL;
	for (i = 0; i < count; i++)
		if (!fences[i])
			return -EINVAL;

	if (!timeout) {
		first = fence_first_signaled(fences, count);
		if (first < 0)
			return 0;
		if (idx)
			*idx = first;
		return 1;
	}

	might_sleep();
	fence_might_wait();

	wake = kcalloc(count, sizeof(*wake), GFP_KERNEL);
	if (!wake)
		return -ENOMEM;

	for (added = 0; added < count; added++) {
		wake[added].task = current;
		if (fence_add_callback(fences[added], &wake[added].base,
				       fence_wake_func)) {
			/* Already signaled: no need to sleep at all. */
			if (idx)
				*idx = added;
			goto out;
		}
	}

	/*
	 * The task state is set before the fences are tested: a signal that
	 * comes after the test wakes the task through its callback.
	 */
	for (;;) {
		set_current_state(state);
		first = fence_first_signaled(fences, count);
		if (first >= 0) {
			if (!ret)
				ret = 1;
			if (idx)
				*idx = first;
			break;
		}
		if (!ret)
			break;
		if (intr && signal_pending(current)) {
			ret = -ERESTARTSYS;
			break;
		}
		ret = schedule_timeout(ret);
	}
	__set_current_state(TASK_RUNNING);

out:
	for (i = 0; i < added; i++)
		fence_remove_callback(fences[i], &wake[i].base);
	kfree(wake);
	return ret;
}
EXPORT_SYMBOL_GPL(fence_wait_any_timeout);

/**
 * __fence_set_error - record why a fence's work failed, lock held
 * @fence: the fence
 * @error: a negative errno, in [-MAX_ERRNO, -1]
 *
 * Like fence_set_error(), for a caller already holding @fence->lock.
 *
 * Return: 0, or -EINVAL if @error is out of range or the fence has already
 * signaled; nothing is changed then.
 */
int __fence_set_error(struct fence *fence, int error)
	__must_hold(fence->lock)
{
	lockdep_assert_held(fence->lock);

	if (error >= 0 || error < -MAX_ERRNO)
		return -EINVAL;
	if (test_bit(FENCE_FLAG_SIGNALED_BIT, &fence->flags))
		return -EINVAL;

	fence->error = error;
	return 0;
}
EXPORT_SYMBOL_GPL(__fence_set_error);

/**
 * fence_set_error - record why a fence's work failed
 * @fence: the fence, not yet signaled
 * @error: a negative errno, in [-MAX_ERRNO, -1]
 *
 * The error is reported by fence_get_status() once the fence has signaled;
 * it must be set before signaling. Setting it again replaces it. Takes
 * @fence->lock; use __fence_set_error() when holding it.
 *
 * Return: 0, or -EINVAL if @error is out of range or the fence has already
 * signaled; nothing is changed then.
 */
int fence_set_error(struct fence *fence, int error)
{
	unsigned long flags;
	int ret;

	spin_lock_irqsave(fence->lock, flags);
	ret = __fence_set_error(fence, error);
	spin_unlock_irqrestore(fence->lock, flags);
	return ret;
}
EXPORT_SYMBOL_GPL(fence_set_error);

/**
 * fence_get_status - completion status of a fence
 * @fence: the fence
 *
 * Takes @fence->lock; see fence_get_status_locked() for callers holding it.
 *
 * Return: 0 if the fence has not signaled, 1 if it signaled without error,
 * or the negative error set with fence_set_error() before it signaled.
 */
int fence_get_status(struct fence *fence)
{
	unsigned long flags;
	int status;

	spin_lock_irqsave(fence->lock, flags);
	status = fence_get_status_locked(fence);
	spin_unlock_irqrestore(fence->lock, flags);
	return status;
}
EXPORT_SYMBOL_GPL(fence_get_status);

/*
 * debugfs "fence/pending": one line per tracked, unsignaled fence. The
 * listed fences cannot be freed nor signaled while fence_track_lock is
 * held (see the tracking comment above), and their name ops must not take
 * locks, so they are printed in place.
 */
static int fence_pending_show(struct seq_file *m, void *unused)
{
	struct fence_track_node *node;
	ktime_t now = ktime_get();

	spin_lock_irq(&fence_track_lock);
	list_for_each_entry(node, &fence_track_list, link) {
		struct fence *fence = node->fence;

		seq_printf(m,
			   "driver=%s timeline=%s context=%llu seqno=%llu age_ms=%lld\n",
			   fence->ops->get_driver_name(fence),
			   fence->ops->get_timeline_name(fence),
			   fence->context, fence->seqno,
			   ktime_ms_delta(now, node->start));
	}
	spin_unlock_irq(&fence_track_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(fence_pending);

static int __init fence_module_init(void)
{
#ifdef CONFIG_LOCKDEP
	/* Reclaim may wait for a fence (shrinkers of GPU drivers do). */
	fs_reclaim_acquire(GFP_KERNEL);
	fence_might_wait();
	fs_reclaim_release(GFP_KERNEL);
#endif
	fence_debugfs_root = debugfs_create_dir("fence", NULL);
	debugfs_create_file("pending", 0444, fence_debugfs_root, NULL,
			    &fence_pending_fops);
	debugfs_create_atomic_t("untracked", 0444, fence_debugfs_root,
				&fence_untracked);
	return 0;
}

static void __exit fence_module_exit(void)
{
	struct fence_track_node *node, *next;

	debugfs_remove_recursive(fence_debugfs_root);

	/*
	 * Every module using fences is gone, so any node left belongs to a
	 * leaked fence whose callbacks can no longer run: just free it.
	 */
	spin_lock_irq(&fence_track_lock);
	list_for_each_entry_safe(node, next, &fence_track_list, link) {
		list_del(&node->link);
		kfree(node);
	}
	spin_unlock_irq(&fence_track_lock);

	/*
	 * Let pending fence_free() callbacks, and the frees of the bridge's
	 * objects (whose last statement drops their pin on this module, see
	 * fence_bridge.c), run and return before the code goes away.
	 */
	rcu_barrier();
}

module_init(fence_module_init);
module_exit(fence_module_exit);

MODULE_LICENSE("GPL");
MODULE_VERSION(CROSSFENCE_VERSION);
MODULE_DESCRIPTION("crossfence: cross-device synchronization fences");
MODULE_AUTHOR("crossfence developers");
