// SPDX-License-Identifier: GPL-2.0
/*
 * cf_timeline: a test-only source of foreign dma_fences for userspace, for
 * kernels without sw_sync (Debian's). The cross-device tests gate vkms
 * flips on its fences to show that a fence of another driver, one that is
 * a plain struct dma_fence and not crossfence's, works like ours. Never
 * shipped; the interface is in cf_timeline.h.
 *
 * A timeline lives as long as its file and its fences: the file holds one
 * reference and every fence another, since a fence uses the timeline's
 * lock and name after the file is gone. Every fence also pins the module,
 * whose code its ops are.
 */
#include <linux/debugfs.h>
#include <linux/dma-fence.h>
#include <linux/err.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/module.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/sync_file.h>
#include <linux/uaccess.h>
#include <crossfence/version.h>

#include "cf_timeline.h"

struct cf_tl {
	struct kref ref;	/* the file's, and one per fence */
	u64 context;
	char name[32];
	/*
	 * @lock is also the lock of every fence of the timeline, so fence
	 * callbacks run with it held, interrupts off. It protects @value,
	 * @pending and @npending. A fence on @pending holds a reference of
	 * its own, dropped after it is signaled, outside the lock: the last
	 * put of a fence (its release) takes no lock of ours anyway.
	 */
	spinlock_t lock;
	u32 value;
	unsigned int npending;	/* on @pending, plus fences being created */
	struct list_head pending;
	struct rcu_head rcu;
};

struct cf_tl_fence {
	struct dma_fence base;
	struct cf_tl *tl;
	struct list_head link;	/* in tl->pending while unsignaled */
};

static struct dentry *cf_tl_dentry;
static atomic_t cf_tl_count = ATOMIC_INIT(0);

static struct cf_tl_fence *to_tl_fence(struct dma_fence *f)
{
	return container_of(f, struct cf_tl_fence, base);
}

static void cf_tl_free(struct kref *ref)
{
	struct cf_tl *tl = container_of(ref, struct cf_tl, ref);

	/* a fence's lock may still be looked at under RCU */
	kfree_rcu(tl, rcu);
}

static const char *cf_tl_driver_name(struct dma_fence *f)
{
	return "cf_timeline";
}

static const char *cf_tl_timeline_name(struct dma_fence *f)
{
	return to_tl_fence(f)->tl->name;
}

static void cf_tl_fence_release(struct dma_fence *f)
{
	struct cf_tl_fence *tf = to_tl_fence(f);

	kref_put(&tf->tl->ref, cf_tl_free);
	dma_fence_free(f);
	/* the module's code runs no further than our return from here */
	module_put(THIS_MODULE);
}

static const struct dma_fence_ops cf_tl_fence_ops = {
	.get_driver_name = cf_tl_driver_name,
	.get_timeline_name = cf_tl_timeline_name,
	.release = cf_tl_fence_release,
};

/*
 * Signal every pending fence at or below @value (every one if @all) with
 * @error, then drop the pending list's references outside the lock.
 * Unless @all, the timeline moves to @value, which must be above where it
 * is: -EINVAL otherwise.
 */
static int cf_tl_advance(struct cf_tl *tl, u32 value, int error, bool all)
{
	struct cf_tl_fence *tf, *next;
	LIST_HEAD(done);

	spin_lock_irq(&tl->lock);
	if (!all) {
		if (value <= tl->value) {
			spin_unlock_irq(&tl->lock);
			return -EINVAL;
		}
		tl->value = value;
	}
	list_for_each_entry_safe(tf, next, &tl->pending, link) {
		if (!all && tf->base.seqno > value)
			continue;
		if (error)
			dma_fence_set_error(&tf->base, error);
		dma_fence_signal_locked(&tf->base);
		list_move_tail(&tf->link, &done);
		tl->npending--;
	}
	spin_unlock_irq(&tl->lock);

	list_for_each_entry_safe(tf, next, &done, link) {
		list_del_init(&tf->link);
		dma_fence_put(&tf->base);
	}
	return 0;
}

static int cf_tl_open(struct inode *inode, struct file *file)
{
	struct cf_tl *tl = kzalloc(sizeof(*tl), GFP_KERNEL);

	if (!tl)
		return -ENOMEM;
	kref_init(&tl->ref);
	spin_lock_init(&tl->lock);
	INIT_LIST_HEAD(&tl->pending);
	tl->context = dma_fence_context_alloc(1);
	snprintf(tl->name, sizeof(tl->name), "cf_timeline-%d",
		 atomic_inc_return(&cf_tl_count));
	file->private_data = tl;
	return 0;
}

static int cf_tl_release(struct inode *inode, struct file *file)
{
	struct cf_tl *tl = file->private_data;

	/* no one can advance it any more: fail what is left */
	cf_tl_advance(tl, 0, -ENOENT, true);
	kref_put(&tl->ref, cf_tl_free);
	return 0;
}

static long cf_tl_create(struct cf_tl *tl, void __user *uarg)
{
	struct cf_timeline_create arg;
	struct cf_tl_fence *tf;
	struct sync_file *sync;
	int fd, ret;

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	if (arg.flags || arg.pad)
		return -EINVAL;

	/* a place on the pending list, taken back if it is not used */
	spin_lock_irq(&tl->lock);
	if (tl->npending >= CF_TIMELINE_MAX_PENDING) {
		spin_unlock_irq(&tl->lock);
		return -EAGAIN;
	}
	tl->npending++;
	spin_unlock_irq(&tl->lock);

	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0) {
		ret = fd;
		goto err_unreserve;
	}
	tf = kzalloc(sizeof(*tf), GFP_KERNEL);
	if (!tf) {
		ret = -ENOMEM;
		goto err_fd;
	}
	/* both dropped by the fence's release */
	__module_get(THIS_MODULE);
	kref_get(&tl->ref);
	tf->tl = tl;
	INIT_LIST_HEAD(&tf->link);
	dma_fence_init(&tf->base, &cf_tl_fence_ops, &tl->lock, tl->context,
		       arg.seqno);

	sync = sync_file_create(&tf->base);
	if (!sync) {
		ret = -ENOMEM;
		goto err_fence;
	}
	arg.fd = fd;
	if (copy_to_user(uarg, &arg, sizeof(arg))) {
		ret = -EFAULT;
		goto err_sync;
	}

	/* published: from here on, only a signal takes it off the list */
	spin_lock_irq(&tl->lock);
	if (arg.seqno <= tl->value) {
		dma_fence_signal_locked(&tf->base);
		tl->npending--;
	} else {
		list_add_tail(&tf->link, &tl->pending);
		dma_fence_get(&tf->base);
	}
	spin_unlock_irq(&tl->lock);
	dma_fence_put(&tf->base);
	fd_install(fd, sync->file);
	return 0;

err_sync:
	fput(sync->file);
err_fence:
	dma_fence_put(&tf->base);
err_fd:
	put_unused_fd(fd);
err_unreserve:
	spin_lock_irq(&tl->lock);
	tl->npending--;
	spin_unlock_irq(&tl->lock);
	return ret;
}

static long cf_tl_signal(struct cf_tl *tl, void __user *uarg)
{
	struct cf_timeline_signal arg;

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	if (arg.flags || arg.pad)
		return -EINVAL;
	if (arg.error > 0 || arg.error < -MAX_ERRNO)
		return -EINVAL;
	return cf_tl_advance(tl, arg.value, arg.error, false);
}

static long cf_tl_ioctl(struct file *file, unsigned int cmd,
			unsigned long arg)
{
	struct cf_tl *tl = file->private_data;

	switch (cmd) {
	case CF_TIMELINE_IOC_CREATE:
		return cf_tl_create(tl, (void __user *)arg);
	case CF_TIMELINE_IOC_SIGNAL:
		return cf_tl_signal(tl, (void __user *)arg);
	default:
		return -ENOTTY;
	}
}

static const struct file_operations cf_tl_fops = {
	.owner = THIS_MODULE,
	.open = cf_tl_open,
	.release = cf_tl_release,
	.unlocked_ioctl = cf_tl_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

static int __init cf_tl_init(void)
{
	cf_tl_dentry = debugfs_create_file("cf_timeline", 0600, NULL, NULL,
					   &cf_tl_fops);
	if (IS_ERR(cf_tl_dentry))
		return PTR_ERR(cf_tl_dentry);
	return 0;
}

static void __exit cf_tl_exit(void)
{
	debugfs_remove(cf_tl_dentry);
}

module_init(cf_tl_init);
module_exit(cf_tl_exit);
MODULE_LICENSE("GPL");
MODULE_VERSION(CROSSFENCE_VERSION);
MODULE_DESCRIPTION("crossfence test-only dma_fence timeline (sw_sync-like)");
MODULE_AUTHOR("crossfence developers");
