/* SPDX-License-Identifier: GPL-2.0 */
/*
 * crossfence: cross-device synchronization fences.
 *
 * A fence is a one-shot completion object. The device that produces the
 * pending work creates it, publishes it (for instance on a shared buffer)
 * and signals it when the work is done. Anyone holding a reference can test
 * it, wait on it, or attach a callback that runs from the signaling context
 * (possibly a hard interrupt handler), so a second device can react to the
 * completion of the first without a round trip through userspace.
 */
#ifndef _LINUX_FENCE_H
#define _LINUX_FENCE_H

#include <linux/atomic.h>
#include <linux/bitops.h>
#include <linux/compiler.h>
#include <linux/dma-fence.h>
#include <linux/kref.h>
#include <linux/ktime.h>
#include <linux/list.h>
#include <linux/lockdep.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/spinlock.h>
#include <linux/types.h>

struct fence;
struct fence_ops;
struct fence_cb;

/**
 * struct fence - a one-shot synchronization primitive
 * @lock: spinlock supplied by the driver, see the locking rules below
 * @ops: the driver's operations for this fence
 * @cb_list: callbacks to run at signal time; live until the fence signals
 * @timestamp: time of signaling; valid once FENCE_FLAG_TIMESTAMP_BIT is set
 * @rcu: used to free the fence after an RCU grace period
 * @context: timeline the fence belongs to, see fence_context_alloc()
 * @seqno: position of the fence on its timeline
 * @flags: FENCE_FLAG_* bits, and driver bits from FENCE_FLAG_USER_BITS up
 * @refcount: reference count, see fence_get() and fence_put()
 * @error: zero, or a negative errno telling why the work failed
 *
 * @cb_list, @timestamp and @rcu share storage, each one taking over from
 * the previous one: the callback list is detached from the fence before the
 * timestamp is written into its place at signal time, and the RCU head is
 * only used once the last reference is gone. The list may therefore only be
 * touched under @lock while the fence is unsignaled, and the timestamp only
 * read through fence_timestamp(). This keeps the structure as small as the
 * kernel's struct dma_fence.
 *
 * The fence must be initialised with fence_init() before it is published.
 * With the default release (see &fence_ops.release), struct fence must be
 * at the start of a kmalloc()ed object.
 */
struct fence {
	/*
	 * Locking rules.
	 *
	 * @lock is owned by the driver and is usually shared by every fence of
	 * one timeline; it must outlive the fence. It protects:
	 *  - @cb_list: adding, removing and running callbacks;
	 *  - every write of @flags, driver bits included: the core sets
	 *    FENCE_FLAG_SIGNALED_BIT and FENCE_FLAG_ENABLE_SIGNAL_BIT with
	 *    plain stores, not atomic ones, so a bit set without @lock could
	 *    be lost (the bits may be read without it, as a hint);
	 *  - @error, which may only change while the fence is unsignaled.
	 *
	 * fence_signal() and friends take it with spin_lock_irqsave(); the
	 * __fence_*() variants expect the caller to hold it already. Signaling
	 * may happen in hard interrupt context, so it must be taken with
	 * interrupts disabled wherever a fence of it can be signaled from an
	 * interrupt handler.
	 *
	 * Callbacks, &fence_ops.enable_signaling and (from the locked paths)
	 * &fence_ops.signaled run with the lock held and possibly in hard IRQ:
	 * they must not sleep and must not take @lock again, nor call any
	 * fence_*() function that does (they may use the __fence_*() ones on
	 * fences sharing this lock). For the same reason, never drop the last
	 * reference of an unsignaled fence while holding its lock.
	 *
	 * &fence_ops.set_deadline is the exception: fence_set_deadline()
	 * calls it *without* @lock, and the hook may take it. A deadline is
	 * a hint that a driver may pass on to other fences: our import of a
	 * dma_fence passes it to the dma_fence, whose driver's op takes that
	 * fence's lock, which is also the import's @lock. So
	 * fence_set_deadline() must not be called with @lock held, from a
	 * callback of another unsignaled fence sharing it for instance; in a
	 * callback of the fence itself it is a no-op that takes nothing, the
	 * fence having signaled.
	 */
	spinlock_t *lock;
	const struct fence_ops *ops;
	union {
		struct list_head cb_list;
		ktime_t timestamp;
		struct rcu_head rcu;
	};
	u64 context;
	u64 seqno;
	unsigned long flags;
	struct kref refcount;
	int error;
};

/**
 * enum fence_flag_bits - bits in &fence.flags
 * @FENCE_FLAG_SIGNALED_BIT: the fence has signaled; set once, under the lock
 * @FENCE_FLAG_TIMESTAMP_BIT: &fence.timestamp holds the signal time
 * @FENCE_FLAG_ENABLE_SIGNAL_BIT: &fence_ops.enable_signaling has been called
 * @FENCE_FLAG_SIGNALED_OP_BIT: the fence's ops have &fence_ops.signaled; set
 *	by fence_init() and never changed, so that fence_is_signaled() on a
 *	pending fence without that op reads only the flags
 * @FENCE_FLAG_USER_BITS: first bit free for the driver's own use, which
 *	must be written with &fence.lock held, as every bit of the flags is
 */
enum fence_flag_bits {
	FENCE_FLAG_SIGNALED_BIT,
	FENCE_FLAG_TIMESTAMP_BIT,
	FENCE_FLAG_ENABLE_SIGNAL_BIT,
	FENCE_FLAG_SIGNALED_OP_BIT,
	FENCE_FLAG_USER_BITS,
};

/**
 * typedef fence_func_t - callback run when a fence signals
 * @fence: the fence that signaled
 * @cb: the callback structure that was registered
 *
 * Runs in the signaling context with @fence->lock held, maybe in hard IRQ.
 */
typedef void (*fence_func_t)(struct fence *fence, struct fence_cb *cb);

/**
 * struct fence_cb - a callback registered on a fence
 * @node: entry in &fence.cb_list; empty when the callback is not pending
 * @func: function to run at signal time
 *
 * Usually embedded in a larger structure of the caller, which recovers it
 * with container_of() in @func. The structure must stay allocated until the
 * callback has run or fence_remove_callback() has returned.
 */
struct fence_cb {
	struct list_head node;
	fence_func_t func;
};

/**
 * struct fence_ops - operations a driver implements for its fences
 * @get_driver_name: name of the driver owning the fence. Required. May be
 *	called in any context, with the fence lock held or not, so it must
 *	not sleep nor take locks; the string must stay valid for the lifetime
 *	of the fence.
 * @get_timeline_name: name of the fence's timeline. Required. Same rules as
 *	@get_driver_name.
 * @enable_signaling: called at most once, with the fence lock held, when
 *	someone first needs the fence to signal by itself (first callback or
 *	wait, or fence_enable_sw_signaling()). Typically turns on an
 *	interrupt. Returns false if the fence has already completed, in which
 *	case the core signals it at once. Optional: without it the driver
 *	must always signal its fences.
 * @signaled: peek at the hardware: returns true if the fence has completed
 *	even though it has not been signaled yet. May be called with or
 *	without the fence lock held, must not sleep. Optional.
 * @wait: custom wait, same contract as fence_wait_timeout() with
 *	@timeout >= 0. Optional: fence_default_wait() is used without it.
 * @release: called when the last reference is dropped, to free the fence.
 *	Optional: without it fence_free() frees the fence after an RCU grace
 *	period. An implementation must also delay the free by a grace period
 *	(fence_free() may be used for that) if fence_get_rcu() can be used on
 *	its fences.
 * @set_deadline: someone would like the fence signaled by @deadline
 *	(CLOCK_MONOTONIC; a time already past means as soon as possible),
 *	for instance the vblank a display flip waits for: a hint to raise a
 *	clock or run this work first. Called by fence_set_deadline() for an
 *	unsignaled fence, *without* the fence lock held (see &struct fence),
 *	in any context, hard IRQ included. It may be called many times, on
 *	several CPUs at once, with deadlines in any order, and while or just
 *	after the fence signals: it must not sleep nor allocate, and should
 *	act only on the earliest deadline it was given (later ones change
 *	nothing), which fence_deadline_keep_earliest() keeps without a lock.
 *	Optional: without it a deadline is only traced.
 */
struct fence_ops {
	const char *(*get_driver_name)(struct fence *fence);
	const char *(*get_timeline_name)(struct fence *fence);
	bool (*enable_signaling)(struct fence *fence);
	bool (*signaled)(struct fence *fence);
	signed long (*wait)(struct fence *fence, bool intr,
			    signed long timeout);
	void (*release)(struct fence *fence);
	void (*set_deadline)(struct fence *fence, ktime_t deadline);
};

void fence_init(struct fence *fence, const struct fence_ops *ops,
		spinlock_t *lock, u64 context, u64 seqno);

void fence_release(struct kref *kref);
void fence_free(struct fence *fence);

/**
 * fence_context_alloc - allocate fence contexts (timelines)
 * @num: number of consecutive contexts to allocate, at least 1
 *
 * Each independent timeline of a driver needs its own context number; the
 * sequence numbers of fences are only ordered within one context. May be
 * called from any context.
 *
 * The numbers come from the kernel's dma_fence context space, so that a
 * fence of ours exported to a dma_fence (see fence_to_dma_fence()) keeps
 * its context and can never be mistaken for another driver's timeline when
 * dma_resv or sync_file merge fences by context.
 *
 * Return: the first of @num new contexts, never reused.
 */
static inline u64 fence_context_alloc(unsigned int num)
{
	return dma_fence_context_alloc(num);
}

int fence_signal(struct fence *fence);
int __fence_signal(struct fence *fence);
int fence_signal_timestamp(struct fence *fence, ktime_t timestamp);
int __fence_signal_timestamp(struct fence *fence, ktime_t timestamp);

void fence_enable_sw_signaling(struct fence *fence);

int __must_check fence_add_callback(struct fence *fence, struct fence_cb *cb,
				    fence_func_t func);
int __must_check __fence_add_callback(struct fence *fence,
				      struct fence_cb *cb, fence_func_t func);
bool fence_remove_callback(struct fence *fence, struct fence_cb *cb);

signed long fence_default_wait(struct fence *fence, bool intr,
			       signed long timeout);
signed long fence_wait_timeout(struct fence *fence, bool intr,
			       signed long timeout);
signed long fence_wait_any_timeout(struct fence **fences, u32 count,
				   bool intr, signed long timeout, u32 *idx);

void fence_set_deadline(struct fence *fence, ktime_t deadline);

int fence_set_error(struct fence *fence, int error);
int __fence_set_error(struct fence *fence, int error);
int fence_get_status(struct fence *fence);

/*
 * Signalling sections (see fence_begin_signalling()): code between the
 * start of work that some fence's signal depends on and that signal must
 * not allocate memory with reclaim, take a lock that is held around a
 * fence wait, or wait for a fence itself. Lockdep checks it.
 */
unsigned int fence_begin_signalling(void);
void fence_end_signalling(unsigned int cookie);
void fence_might_wait(void);

/**
 * fence_get - take a reference on a fence
 * @fence: the fence, may be NULL
 *
 * Return: @fence.
 */
static inline struct fence *fence_get(struct fence *fence)
{
	if (fence)
		kref_get(&fence->refcount);
	return fence;
}

/**
 * fence_put - drop a reference on a fence
 * @fence: the fence, may be NULL
 *
 * Dropping the last reference calls fence_release(), which may take
 * @fence->lock if the fence is unsignaled.
 */
static inline void fence_put(struct fence *fence)
{
	if (fence)
		kref_put(&fence->refcount, fence_release);
}

/**
 * fence_get_rcu - take a reference on a fence found under RCU
 * @fence: the fence, read under rcu_read_lock()
 *
 * The caller must be in an RCU read-side critical section and @fence must
 * be freed only after a grace period (as fence_free() does). The reference
 * is taken only if the fence is not already on its way to being released.
 *
 * Return: @fence with a new reference, or NULL if its count had reached zero.
 */
static inline struct fence * __must_check fence_get_rcu(struct fence *fence)
{
	if (kref_get_unless_zero(&fence->refcount))
		return fence;
	return NULL;
}

/**
 * fence_get_rcu_safe - take a reference on the fence an RCU pointer points to
 * @fencep: RCU-protected pointer to a fence, may point to NULL
 *
 * Like fence_get_rcu(), for a pointer that may be changed concurrently: it
 * retries until the reference it got belongs to the fence still published
 * in @fencep. The caller must be in an RCU read-side critical section.
 *
 * Return: the fence with a new reference, or NULL if @fencep holds NULL.
 */
static inline struct fence * __must_check
fence_get_rcu_safe(struct fence __rcu **fencep)
{
	for (;;) {
		struct fence *fence = rcu_dereference(*fencep);

		if (!fence)
			return NULL;
		if (fence_get_rcu(fence)) {
			if (fence == rcu_access_pointer(*fencep))
				return rcu_pointer_handoff(fence);
			fence_put(fence);
		}
	}
}

/**
 * fence_is_later - tell whether a fence comes after another on its timeline
 * @f1: the first fence
 * @f2: the second fence, of the same context as @f1
 *
 * Sequence numbers are compared so that a wrap-around of the 64-bit counter
 * does not invert the order. The result is meaningless for fences of
 * different contexts.
 *
 * Return: true if @f1 is later than @f2.
 */
static inline bool fence_is_later(struct fence *f1, struct fence *f2)
{
	return (s64)(f1->seqno - f2->seqno) > 0;
}

/**
 * __fence_is_signaled_locked - test a fence, its lock held
 * @fence: the fence
 *
 * Like fence_is_signaled(), for a caller holding @fence->lock: a fence that
 * &fence_ops.signaled reports complete is signaled with __fence_signal().
 *
 * Return: true if the fence has signaled.
 */
static inline bool __fence_is_signaled_locked(struct fence *fence)
	__must_hold(fence->lock)
{
	lockdep_assert_held(fence->lock);

	if (test_bit(FENCE_FLAG_SIGNALED_BIT, &fence->flags))
		return true;
	if (fence->ops->signaled && fence->ops->signaled(fence)) {
		__fence_signal(fence);
		return true;
	}
	return false;
}

/**
 * fence_is_signaled - test whether a fence has signaled
 * @fence: the fence
 *
 * Tests the signaled bit, then asks &fence_ops.signaled if the driver has
 * one; a fence found complete that way is signaled here with
 * fence_signal(), so must not be called with @fence->lock held.
 *
 * Return: true if the fence has signaled.
 */
static inline bool fence_is_signaled(struct fence *fence)
{
	/*
	 * One read of the flags answers for every fence without a signaled
	 * op, as dma_fence's three dependent loads (flags, ops, op) would.
	 */
	unsigned long flags = READ_ONCE(fence->flags);

	if (flags & BIT(FENCE_FLAG_SIGNALED_BIT))
		return true;
	if (!(flags & BIT(FENCE_FLAG_SIGNALED_OP_BIT)))
		return false;
	if (fence->ops->signaled(fence)) {
		fence_signal(fence);
		return true;
	}
	return false;
}

/**
 * fence_get_status_locked - completion status of a fence, its lock held
 * @fence: the fence
 *
 * Return: 0 if the fence has not signaled, 1 if it signaled without error,
 * or the negative error set with fence_set_error() before it signaled.
 */
static inline int fence_get_status_locked(struct fence *fence)
	__must_hold(fence->lock)
{
	lockdep_assert_held(fence->lock);

	if (!test_bit(FENCE_FLAG_SIGNALED_BIT, &fence->flags))
		return 0;
	return fence->error ? fence->error : 1;
}

/**
 * fence_timestamp - time at which a fence signaled
 * @fence: the fence
 *
 * The timestamp is written before the signaled bit is set, so it is valid
 * whenever fence_is_signaled() has returned true.
 *
 * Return: the signal time (CLOCK_MONOTONIC), or 0 if not yet signaled.
 */
static inline ktime_t fence_timestamp(struct fence *fence)
{
	if (!test_bit(FENCE_FLAG_TIMESTAMP_BIT, &fence->flags))
		return 0;
	smp_rmb(); /* pairs with the barrier before setting the bit */
	return fence->timestamp;
}

/* A driver's record of a fence's earliest deadline, before the first one. */
#define FENCE_NO_DEADLINE	KTIME_MAX

/**
 * fence_deadline_keep_earliest - record a deadline if it is the earliest
 * @earliest: the driver's record of a fence's earliest deadline,
 *	initialised to FENCE_NO_DEADLINE
 * @deadline: a deadline given to &fence_ops.set_deadline
 *
 * For implementations of &fence_ops.set_deadline, which may run on several
 * CPUs at once and in any context: the record only ever moves earlier, by
 * a compare-and-exchange, without a lock. A deadline equal to the record
 * or later than it changes nothing.
 *
 * Return: true if @deadline was earlier than the record and replaced it.
 */
static inline bool fence_deadline_keep_earliest(atomic64_t *earliest,
						ktime_t deadline)
{
	s64 old = atomic64_read(earliest);

	do {
		if (deadline >= old)
			return false;
	} while (!atomic64_try_cmpxchg(earliest, &old, deadline));
	return true;
}

/**
 * fence_wait - wait for a fence to signal
 * @fence: the fence
 * @intr: if true, a signal sent to the task interrupts the wait
 *
 * Sleeps without a time limit until @fence signals.
 *
 * Return: 0 once the fence has signaled, -ERESTARTSYS if interrupted, or
 * another negative error returned by &fence_ops.wait.
 */
static inline signed long fence_wait(struct fence *fence, bool intr)
{
	signed long ret;

	ret = fence_wait_timeout(fence, intr, MAX_SCHEDULE_TIMEOUT);
	return ret < 0 ? ret : 0;
}

/*
 * The bridge to the kernel's struct dma_fence (fence_bridge.c). See
 * Documentation/fence.rst for the model and the cost of each direction.
 */
struct dma_resv;
enum dma_resv_usage;

/**
 * struct fence_export - one of our fences seen as a dma_fence
 * @base: the dma_fence
 * @fence: the fence it stands for (a reference)
 * @cb: signals @base when @fence signals
 *
 * Made by fence_to_dma_fence(), or in a driver's own storage by
 * fence_export_init(). Opaque to drivers.
 */
struct fence_export {
	struct dma_fence base;
	struct fence *fence;
	struct fence_cb cb;
};

struct dma_fence *fence_to_dma_fence(struct fence *fence);
struct dma_fence *fence_export_init(struct fence_export *e,
				    struct fence *fence);
struct dma_fence *fence_init_exported(struct fence *fence,
				      struct fence_export *e,
				      const struct fence_ops *ops,
				      spinlock_t *lock, u64 context, u64 seqno);
extern const struct dma_fence_ops fence_export_ops;
struct fence *__fence_from_dma_fence(struct dma_fence *dma);

/**
 * fence_from_dma_fence - one of our fences that stands for a dma_fence
 * @dma: any driver's dma_fence
 *
 * If @dma is an export of one of our fences (see fence_to_dma_fence()),
 * that fence itself is returned: no proxy, and no call (inline, as a
 * driver's own test of its proxy's ops would be). Otherwise the new fence
 * shares @dma's lock, context and seqno, signals in @dma's signal with its
 * timestamp and error, and keeps a reference on @dma; callbacks added to
 * it run in @dma's signaling context. Signaling is enabled on @dma at
 * once.
 *
 * Return: a new reference to a fence, or ERR_PTR(-ENOMEM).
 */
static inline struct fence *fence_from_dma_fence(struct dma_fence *dma)
{
	if (dma->ops == &fence_export_ops)
		return fence_get(container_of(dma, struct fence_export,
					      base)->fence);
	return __fence_from_dma_fence(dma);
}

bool fence_is_foreign(struct fence *fence);
int fence_sync_file_fd(struct fence *fence);
struct fence *fence_from_sync_file_fd(int fd);
int fence_resv_add(struct dma_resv *resv, struct fence *fence,
		   enum dma_resv_usage usage);

#endif /* _LINUX_FENCE_H */
