// SPDX-License-Identifier: GPL-2.0
/*
 * The bridge between our fences and the kernel's struct dma_fence.
 *
 * Export: fence_to_dma_fence() gives a dma_fence that stands for one of our
 * fences. It shares the fence's spinlock, and a callback on our fence
 * signals it with __fence_signal()'s lock still held: stock consumers
 * (dma_resv, sync_file, poll on a dma-buf, the DRM helpers) see it signal
 * in the very same critical section, with the same timestamp and error.
 *
 * Import: fence_from_dma_fence() gives one of our fences that stands for a
 * foreign dma_fence. It shares the dma_fence's spinlock, and a dma_fence
 * callback signals it with that lock held, so our callbacks run in the
 * foreign signaler's context, without any hop.
 *
 * Round trip: a dma_fence that is our export comes back as the original
 * fence, and an import goes back out as the original dma_fence. Nothing is
 * wrapped twice.
 *
 * Both directions register their callback when the bridge is made (the
 * dma_fence API has no variant that could be called from
 * &fence_ops.enable_signaling with the shared lock already held). The
 * pending callback holds a reference on the bridge object, so a bridge
 * lives until its source signals; our drivers' fences always signal (hang
 * checks, timeouts). Each import pins this module while it exists, since
 * it points at our ops and callbacks; an export does not need to (see
 * fence_export_release()).
 *
 * Deadlines (kernels whose dma_fence has them, CF_HAS_DMA_FENCE_DEADLINE)
 * cross in both directions: dma_fence_set_deadline() on an export calls
 * fence_set_deadline() on the fence it stands for, and fence_set_deadline()
 * on an import calls dma_fence_set_deadline() on its dma_fence. Both hooks
 * are called without the fence lock, which lets the import's reach a
 * foreign op that takes the lock the import shares. Neither keeps a
 * deadline: the driver at the end of the chain keeps the earliest. A chain
 * is one hop long, since nothing is wrapped twice (see Round trip).
 */
#include <linux/dma-fence.h>
#include <linux/dma-resv.h>
#include <linux/fcntl.h>
#include <linux/fence.h>
#include <linux/file.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/sync_file.h>

#include <crossfence/compat.h>

#include "fence_priv.h"

/* In &fence_export.base.flags: the storage belongs to a driver object. */
#define FENCE_EXPORT_EMBEDDED_BIT	DMA_FENCE_FLAG_USER_BITS

/* A foreign dma_fence, seen as one of our fences. */
struct fence_import {
	struct fence base;
	struct dma_fence *dma;	/* a reference; its lock is ours */
	struct dma_fence_cb cb;
};

static const struct fence_ops fence_import_ops;

static struct fence_export *to_export(struct dma_fence *dma)
{
	return container_of(dma, struct fence_export, base);
}

static struct fence_import *to_import(struct fence *fence)
{
	return container_of(fence, struct fence_import, base);
}

/* ---- export ---------------------------------------------------------- */

static const char *fence_export_driver_name(struct dma_fence *dma)
{
	struct fence *fence = to_export(dma)->fence;

	return fence->ops->get_driver_name(fence);
}

static const char *fence_export_timeline_name(struct dma_fence *dma)
{
	struct fence *fence = to_export(dma)->fence;

	return fence->ops->get_timeline_name(fence);
}

/*
 * Freeing an allocated bridge object, and an import's reference on this
 * module.
 *
 * Each import pins this module (its ops and callbacks are here). The pin
 * must not be dropped by the object's release itself: once
 * module_put() has dropped the last reference, rmmod may run our exit and
 * free our text while the release is still executing its own last
 * instructions (its return, at least), and the release runs from the
 * dma_fence or fence core, at any time. So the release hands the object to
 * call_rcu(), and the RCU callback frees it and drops the pin. That
 * callback is still our code running after the module_put(), but the
 * module's exit calls rcu_barrier() (fence_core.c), which returns only once
 * every RCU callback queued before it has returned: RCU counts a callback
 * as pending until after it has run, so the barrier's own callback, queued
 * behind ours, cannot run before ours has returned. The exit can only start
 * after our put, so it waits for our callback's end. The grace period is
 * also the one fence_get_rcu() and dma_fence_get_rcu() need, which the
 * free had to wait for anyway.
 */
static void fence_export_free_rcu(struct rcu_head *rcu)
{
	kfree(container_of(rcu, struct fence_export, base.rcu));
}

static void fence_import_free_rcu(struct rcu_head *rcu)
{
	kfree(container_of(rcu, struct fence_import, base.rcu));
	module_put(THIS_MODULE);	/* last: see above */
}

static void fence_export_release(struct dma_fence *dma)
{
	struct fence_export *e = to_export(dma);
	struct fence *fence = e->fence;
	bool embedded = test_bit(FENCE_EXPORT_EMBEDDED_BIT, &dma->flags);

	/*
	 * The callback holds a reference until it has run (see
	 * fence_export_setup()), so our fence has signaled: dropping it
	 * takes no lock, even if the last reference goes here from inside
	 * that fence's signal. Embedded storage is part of the driver's fence
	 * object, freed (after an RCU grace period) with that fence: not
	 * before this last reference on it is gone.
	 *
	 * No export pins this module; the fence it stands for does. Its
	 * driver, a module that uses ours, must stay loaded while its fences
	 * live, since their ops are its code, and for a grace period after
	 * the last one is put (vgem pins itself per fence and drops the pin
	 * from an RCU callback): so while we hold our reference on @fence,
	 * rmmod cannot reach us. The read-side section below keeps that grace
	 * period from ending while this function still runs, after the put
	 * that may be the fence's last; the free it queues then runs before
	 * our exit's rcu_barrier() returns. A pin per export (two atomics,
	 * for a module that cannot be unloaded anyway) is not needed. The
	 * section is RCU-sched (preemption off), which every grace period
	 * waits for since the flavours were merged (4.20): inline, where
	 * rcu_read_lock() is two calls on Debian's preemptible kernels.
	 */
	rcu_read_lock_sched();
	fence_put(fence);
	if (!embedded)
		call_rcu(&e->base.rcu, fence_export_free_rcu);
	rcu_read_unlock_sched();
}

#if CF_HAS_DMA_FENCE_DEADLINE
/*
 * A deadline set on the export, by a stock display driver's atomic helpers
 * or SYNC_IOC_SET_DEADLINE on a sync_file, goes to the fence it stands
 * for, which the export holds. dma_fence calls this without the lock the
 * two share, in any context, as fence_set_deadline() wants.
 */
static void fence_export_set_deadline(struct dma_fence *dma, ktime_t deadline)
{
	fence_set_deadline(to_export(dma)->fence, deadline);
}
#endif

/*
 * Exported for the inline round trip in fence_from_dma_fence(), which
 * recognises an export by its ops.
 */
const struct dma_fence_ops fence_export_ops = {
	.use_64bit_seqno = true,
	.get_driver_name = fence_export_driver_name,
	.get_timeline_name = fence_export_timeline_name,
	.release = fence_export_release,
#if CF_HAS_DMA_FENCE_DEADLINE
	.set_deadline = fence_export_set_deadline,
#endif
};
EXPORT_SYMBOL_GPL(fence_export_ops);

/*
 * Copies the state of a signaled fence of ours into its export. Inlined
 * into the export's callback, as a driver's own proxy would have it.
 */
static __always_inline void fence_export_signal_locked(struct fence_export *e)
{
	if (e->fence->error)
		dma_fence_set_error(&e->base, e->fence->error);
	dma_fence_signal_timestamp_locked(&e->base, fence_timestamp(e->fence));
}

/*
 * Runs in our fence's signal, with the lock both fences share held. The
 * export is kept alive for it by a reference of its own, taken when the
 * callback was added (see fence_export_setup()) and dropped here, once the
 * export has signaled. If that was the last reference, the export is
 * released right here: our fence has signaled, so its release takes no
 * lock (see fence_export_release()).
 */
static void fence_export_cb(struct fence *fence, struct fence_cb *cb)
{
	struct fence_export *e = container_of(cb, struct fence_export, cb);

	fence_export_signal_locked(e);
	dma_fence_put(&e->base);	/* the callback's reference */
}

/*
 * Makes @e stand for @fence; returns its first reference. @fresh: @fence
 * was initialised by the caller and nobody else can see it yet.
 */
static __always_inline struct dma_fence *
fence_export_setup(struct fence_export *e, struct fence *fence,
		   bool embedded, bool fresh)
{
	unsigned long flags;

	dma_fence_init(&e->base, &fence_export_ops, fence->lock,
		       fence->context, fence->seqno);
	/* Not published yet: no other writer of the flags. */
	if (embedded)
		__set_bit(FENCE_EXPORT_EMBEDDED_BIT, &e->base.flags);

	/*
	 * A fence nobody else can see yet needs no lock to take the
	 * callback, nor an atomic for the export's reference on it: its
	 * count is the caller's 1. (The debug tracking of fence_core.c may
	 * have put a node on its callback list, and lists the fence for
	 * debugfs, whose reader looks at neither the list nor the flags.)
	 * Not with an enable_signaling op, which runs under the lock.
	 */
	if (fresh && !fence->ops->enable_signaling) {
		refcount_set(&fence->refcount.refcount, 2);
		e->fence = fence;
		WRITE_ONCE(fence->flags,
			   fence->flags | BIT(FENCE_FLAG_ENABLE_SIGNAL_BIT));
		trace_fence_enable_signal(fence);
		e->cb.func = fence_export_cb;
		list_add_tail(&e->cb.node, &fence->cb_list);
		refcount_set(&e->base.refcount.refcount, 2);
		return &e->base;
	}

	/* No pin on this module: see fence_export_release(). */
	e->fence = fence_get(fence);

	/*
	 * While the callback is pending it holds a reference on the export,
	 * allocated or embedded alike, so that nothing can release the export
	 * before the callback signals it. Without one, an embedded export
	 * whose last holder lets go before our fence signals (dma_resv
	 * replacing it with a later fence of the same context does) would be
	 * released, drop its reference on our fence, and then be signaled by
	 * this callback: a dma_fence written and traced after its count
	 * reached zero and its release ran, its storage kept only by whoever
	 * still held our fence. The reference is dropped by the callback, after
	 * the signal (no path removes it early). It makes the export and our
	 * fence hold each other until our fence signals, as for an allocated
	 * export: our drivers' fences always signal.
	 *
	 * Added under the lock, the callback cannot run before the lock is
	 * dropped, and the export is not published yet: nobody else can see
	 * its count, so the callback's reference is a plain store, not an
	 * atomic increment.
	 */
	spin_lock_irqsave(fence->lock, flags);
	lockdep_assert_held(fence->lock);
	if (fence_add_cb_locked(fence, &e->cb, fence_export_cb))
		fence_export_signal_locked(e);	/* already signaled: at once */
	else
		refcount_set(&e->base.refcount.refcount, 2);
	spin_unlock_irqrestore(fence->lock, flags);
	return &e->base;
}

/**
 * fence_to_dma_fence - a dma_fence that stands for one of our fences
 * @fence: the fence
 *
 * The dma_fence shares @fence's lock, context and seqno and signals with
 * it, in the same critical section, with its timestamp and error. It can be
 * put in a dma_resv, turned into a sync_file and handed to any stock
 * consumer. If @fence is itself an import of a dma_fence (see
 * fence_from_dma_fence()), that original dma_fence is returned. The lock of
 * @fence must outlive the returned dma_fence.
 *
 * Return: a new dma_fence reference, or ERR_PTR(-ENOMEM).
 */
struct dma_fence *fence_to_dma_fence(struct fence *fence)
{
	struct fence_export *e;

	if (fence->ops == &fence_import_ops)
		return dma_fence_get(to_import(fence)->dma);

	/* Not zeroed: fence_export_setup() writes every field it reads. */
	e = kmalloc(sizeof(*e), GFP_KERNEL);
	if (!e)
		return ERR_PTR(-ENOMEM);
	return fence_export_setup(e, fence, false, false);
}
EXPORT_SYMBOL_GPL(fence_to_dma_fence);

/**
 * fence_export_init - the dma_fence of a fence, in the driver's storage
 * @e: storage inside the object that holds @fence, used once
 * @fence: the fence
 *
 * Like fence_to_dma_fence(), without an allocation: a driver that publishes
 * every fence it makes reserves a &struct fence_export next to the fence
 * and makes its export here, once, at no extra cost. The export holds a
 * reference on @fence, so the storage lives as long as the export does,
 * and the export is held by its callback on @fence until @fence signals;
 * the driver must free its object with fence_free() (or after an RCU grace
 * period) and must not call this on a fence that is an import.
 *
 * Return: the export's first reference; never fails.
 */
struct dma_fence *fence_export_init(struct fence_export *e,
				    struct fence *fence)
{
	return fence_export_setup(e, fence, true, false);
}
EXPORT_SYMBOL_GPL(fence_export_init);

/**
 * fence_init_exported - initialise a fence and make its dma_fence at once
 * @fence: the fence, as for fence_init()
 * @e: storage for its export, as for fence_export_init()
 * @ops: as for fence_init()
 * @lock: as for fence_init()
 * @context: as for fence_init()
 * @seqno: as for fence_init()
 *
 * fence_init() then fence_export_init(), for a driver that exports every
 * fence it makes: since neither is published yet, the export's callback
 * is added without taking @lock and its reference on @fence without an
 * atomic. The same rules as for the two apply.
 *
 * Return: the export's first reference; never fails.
 */
struct dma_fence *fence_init_exported(struct fence *fence,
				      struct fence_export *e,
				      const struct fence_ops *ops,
				      spinlock_t *lock, u64 context, u64 seqno)
{
	fence_init(fence, ops, lock, context, seqno);
	return fence_export_setup(e, fence, true, true);
}
EXPORT_SYMBOL_GPL(fence_init_exported);

/* ---- import ---------------------------------------------------------- */

static const char *fence_import_driver_name(struct fence *fence)
{
	struct dma_fence *dma = to_import(fence)->dma;

	return dma->ops->get_driver_name(dma);
}

static const char *fence_import_timeline_name(struct fence *fence)
{
	struct dma_fence *dma = to_import(fence)->dma;

	return dma->ops->get_timeline_name(dma);
}

static void fence_import_release(struct fence *fence)
{
	struct fence_import *i = to_import(fence);

	/*
	 * The dma_fence's signaler holds its own reference while it signals,
	 * so this is never the last one when we are released from inside
	 * that signal, with its lock held.
	 */
	dma_fence_put(i->dma);
	call_rcu(&i->base.rcu, fence_import_free_rcu);
}

#if CF_HAS_DMA_FENCE_DEADLINE
/*
 * A deadline set on the import goes to its dma_fence, which the import
 * holds. Called without the import's lock, which is the dma_fence's: the
 * foreign &dma_fence_ops.set_deadline may take it, and
 * dma_fence_set_deadline() may signal the dma_fence (through its
 * &dma_fence_ops.signaled), which takes it too.
 */
static void fence_import_set_deadline(struct fence *fence, ktime_t deadline)
{
	dma_fence_set_deadline(to_import(fence)->dma, deadline);
}
#endif

static const struct fence_ops fence_import_ops = {
	.get_driver_name = fence_import_driver_name,
	.get_timeline_name = fence_import_timeline_name,
	.release = fence_import_release,
#if CF_HAS_DMA_FENCE_DEADLINE
	.set_deadline = fence_import_set_deadline,
#endif
};

static void fence_import_signal_locked(struct fence_import *i)
{
	if (i->dma->error)
		__fence_set_error(&i->base, i->dma->error);
	__fence_signal_timestamp(&i->base, dma_fence_timestamp(i->dma));
}

/* Runs in the dma_fence's signal, with the lock both fences share held. */
static void fence_import_cb(struct dma_fence *dma, struct dma_fence_cb *cb)
{
	struct fence_import *i = container_of(cb, struct fence_import, cb);

	fence_import_signal_locked(i);
	fence_put(&i->base);	/* the callback's reference */
}

/**
 * __fence_from_dma_fence - import a dma_fence that is not one of our exports
 * @dma: a dma_fence of another driver, or of ours that is not an export
 *
 * The slow path of fence_from_dma_fence(), which see; the caller has
 * checked that @dma is not an export (whose fence would be returned). The
 * new fence shares @dma's lock, context and seqno.
 *
 * Return: a new reference to a fence, or ERR_PTR(-ENOMEM).
 */
struct fence *__fence_from_dma_fence(struct dma_fence *dma)
{
	struct fence_import *i;
	unsigned long flags;
	int ret;

	i = kzalloc(sizeof(*i), GFP_KERNEL);
	if (!i)
		return ERR_PTR(-ENOMEM);
	__module_get(THIS_MODULE);
	i->dma = dma_fence_get(dma);
	fence_init(&i->base, &fence_import_ops, dma->lock, dma->context,
		   dma->seqno);

	fence_get(&i->base);	/* for the callback */
	ret = dma_fence_add_callback(dma, &i->cb, fence_import_cb);
	if (ret) {
		/* Already signaled (-ENOENT): so is the import, at once. */
		spin_lock_irqsave(dma->lock, flags);
		fence_import_signal_locked(i);
		spin_unlock_irqrestore(dma->lock, flags);
		fence_put(&i->base);
	}
	return &i->base;
}
EXPORT_SYMBOL_GPL(__fence_from_dma_fence);

/**
 * fence_is_foreign - whether a fence stands for another driver's dma_fence
 * @fence: the fence
 *
 * Return: true if @fence was made by fence_from_dma_fence() around a
 * dma_fence that is not one of ours.
 */
bool fence_is_foreign(struct fence *fence)
{
	return fence->ops == &fence_import_ops;
}
EXPORT_SYMBOL_GPL(fence_is_foreign);

/* ---- sync_file and dma_resv ------------------------------------------ */

/**
 * fence_sync_file_fd - a new sync_file fd for a fence
 * @fence: the fence
 *
 * Installs, in the calling process, a sync_file (close-on-exec) holding the
 * dma_fence that stands for @fence.
 *
 * Return: the fd, or a negative errno (-ENOMEM, -EMFILE).
 */
int fence_sync_file_fd(struct fence *fence)
{
	struct sync_file *sync;
	struct dma_fence *dma;
	int fd;

	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0)
		return fd;

	dma = fence_to_dma_fence(fence);
	if (IS_ERR(dma)) {
		put_unused_fd(fd);
		return PTR_ERR(dma);
	}
	sync = sync_file_create(dma);
	dma_fence_put(dma);
	if (!sync) {
		put_unused_fd(fd);
		return -ENOMEM;
	}
	fd_install(fd, sync->file);
	return fd;
}
EXPORT_SYMBOL_GPL(fence_sync_file_fd);

/**
 * fence_from_sync_file_fd - the fence held by a sync_file fd
 * @fd: a sync_file fd of the calling process
 *
 * A sync_file made from one of our fences gives that fence back; any other
 * (a stock driver's, or a merge of several) is imported.
 *
 * Return: a new fence reference; ERR_PTR(-EINVAL) if @fd is not a
 * sync_file; ERR_PTR(-ENOMEM).
 */
struct fence *fence_from_sync_file_fd(int fd)
{
	struct dma_fence *dma = sync_file_get_fence(fd);
	struct fence *fence;

	if (!dma)
		return ERR_PTR(-EINVAL);
	fence = fence_from_dma_fence(dma);
	dma_fence_put(dma);
	return fence;
}
EXPORT_SYMBOL_GPL(fence_from_sync_file_fd);

/**
 * fence_resv_add - publish a fence in a reservation object
 * @resv: the reservation, locked, with a fence slot reserved by
 *        dma_resv_reserve_fences()
 * @fence: the fence
 * @usage: how the fence uses the buffer (DMA_RESV_USAGE_WRITE, ...)
 *
 * Adds the dma_fence that stands for @fence, so that every consumer of the
 * buffer, ours or a stock driver's, sees it.
 *
 * Return: 0, or -ENOMEM (then nothing was added).
 */
int fence_resv_add(struct dma_resv *resv, struct fence *fence,
		   enum dma_resv_usage usage)
{
	struct dma_fence *dma = fence_to_dma_fence(fence);

	if (IS_ERR(dma))
		return PTR_ERR(dma);
	dma_resv_add_fence(resv, dma, usage);
	dma_fence_put(dma);
	return 0;
}
EXPORT_SYMBOL_GPL(fence_resv_add);
