// SPDX-License-Identifier: GPL-2.0
/*
 * Selftests of the fence core. Loading the module runs them and prints the
 * results as KTAP; the module then stays loaded until removed.
 *
 * Each case asserts outcomes through the public API. The race cases run two
 * kthreads bound to two CPUs in lockstep, many thousands of times, and check
 * after every round that no callback was lost or run twice and (at the end)
 * that every fence was freed exactly once.
 */
#define pr_fmt(fmt) fmt

#include <linux/dma-fence.h>
#include <linux/dma-resv.h>
#include <linux/file.h>
#include <linux/sync_file.h>
#include <linux/fence.h>
#include <linux/hrtimer.h>
#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/random.h>
#include <linux/rcupdate.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <crossfence/version.h>

#include <crossfence/compat.h>

static unsigned int race_rounds = 20000;
module_param(race_rounds, uint, 0444);
MODULE_PARM_DESC(race_rounds, "Rounds of each two-CPU race (default 20000)");

/*
 * A race needs both vCPUs running at once, every round. On a host too busy
 * to give a VM both its CPUs together, a round can take a thousand times
 * as long (a fresh run of 20000 rounds on a loaded host took more than 10
 * minutes), so each race also stops after race_secs, and says how many
 * rounds it ran. The verdict does not depend on the count: a round either
 * finds the race or not.
 */
static unsigned int race_secs = 30;
module_param(race_secs, uint, 0444);
MODULE_PARM_DESC(race_secs,
		 "Time limit of each two-CPU race, seconds (default 30)");

/*
 * CHECK() records the first failed check of the running case and goes on;
 * the case returns st_result() at its end. Allocation failures return
 * -ENOMEM at once, so a failed check never leads to a NULL dereference.
 */
static int st_failed;

static void st_check(bool ok, const char *expr, int line)
{
	if (ok)
		return;
	pr_info("    # line %d: check failed: %s\n", line, expr);
	st_failed = -EINVAL;
}

static void st_check_eq(long long a, long long b, const char *what, int line)
{
	if (a == b)
		return;
	pr_info("    # line %d: check failed: %s (%lld != %lld)\n", line, what,
		a, b);
	st_failed = -EINVAL;
}

#define CHECK(expr) st_check(!!(expr), #expr, __LINE__)
#define CHECK_EQ(a, b) st_check_eq((a), (b), #a " == " #b, __LINE__)

static int st_result(void)
{
	return st_failed;
}

/*
 * A case that cannot run here returns st_skip() with the reason, which the
 * runner reports as a KTAP SKIP.
 */
static const char *st_skip_why;

static int st_skip(const char *why)
{
	st_skip_why = why;
	return 1;
}

/* A test fence: counts what the core does to it. */
struct st_fence {
	struct fence base;
	spinlock_t lock;	/* the fence's lock, one per test fence */
	atomic_t enable_calls;
	bool enable_ret;	/* what enable_signaling answers */
	bool signaled_ret;	/* what signaled answers */
	bool lock_held_in_enable;
	atomic_t wait_calls;
	/* What st_set_deadline() saw, for fences of st_deadline_ops. */
	atomic_t deadline_calls;
	struct fence *deadline_fence;	/* the fence it was given */
	ktime_t deadline_seen;		/* the deadline it was given last */
	bool lock_held_in_deadline;
	bool hardirq_in_deadline;
	atomic64_t earliest;		/* fence_deadline_keep_earliest()'s */
	atomic_t deadline_moves;	/* times @earliest moved earlier */
};

static atomic_t st_allocated = ATOMIC_INIT(0);
static atomic_t st_released = ATOMIC_INIT(0);

/*
 * Whether @lock is held: an observation the cases record and check, not a
 * lockdep assertion (lockdep_is_held() is always true without lockdep).
 * In these cases only the CPU that runs the probe can hold it.
 */
static bool st_lock_held(spinlock_t *lock)
{
	return raw_spin_is_locked(&lock->rlock);
}

static struct st_fence *to_st(struct fence *f)
{
	return container_of(f, struct st_fence, base);
}

static const char *st_driver_name(struct fence *f)
{
	return "selftest";
}

static const char *st_timeline_name(struct fence *f)
{
	return "selftest";
}

static bool st_enable_signaling(struct fence *f)
{
	struct st_fence *s = to_st(f);

	atomic_inc(&s->enable_calls);
	s->lock_held_in_enable = st_lock_held(f->lock);
	return s->enable_ret;
}

static bool st_signaled(struct fence *f)
{
	return READ_ONCE(to_st(f)->signaled_ret);
}

static void st_release(struct fence *f)
{
	atomic_inc(&st_released);
	fence_free(f);
}

static const struct fence_ops st_ops = {
	.get_driver_name = st_driver_name,
	.get_timeline_name = st_timeline_name,
	.enable_signaling = st_enable_signaling,
	.signaled = st_signaled,
	.release = st_release,
};

/* Neither enable_signaling nor signaled: the ops of a driver like vgem's. */
static const struct fence_ops st_plain_ops = {
	.get_driver_name = st_driver_name,
	.get_timeline_name = st_timeline_name,
	.release = st_release,
};

static signed long st_wait(struct fence *f, bool intr, signed long timeout)
{
	atomic_inc(&to_st(f)->wait_calls);
	return 42;
}

static const struct fence_ops st_wait_ops = {
	.get_driver_name = st_driver_name,
	.get_timeline_name = st_timeline_name,
	.enable_signaling = st_enable_signaling,
	.wait = st_wait,
	.release = st_release,
};

/* A deadline hook as a driver writes it: keeps the earliest, lock-free. */
static void st_set_deadline(struct fence *f, ktime_t deadline)
{
	struct st_fence *s = to_st(f);

	s->deadline_fence = f;
	s->deadline_seen = deadline;
	s->lock_held_in_deadline = st_lock_held(f->lock);
	s->hardirq_in_deadline = in_hardirq();
	if (fence_deadline_keep_earliest(&s->earliest, deadline))
		atomic_inc(&s->deadline_moves);
	atomic_inc(&s->deadline_calls);
}

static const struct fence_ops st_deadline_ops = {
	.get_driver_name = st_driver_name,
	.get_timeline_name = st_timeline_name,
	.enable_signaling = st_enable_signaling,
	.release = st_release,
	.set_deadline = st_set_deadline,
};

static u64 st_context;

static struct st_fence *st_new_ops(const struct fence_ops *ops, u64 seqno)
{
	struct st_fence *s = kzalloc(sizeof(*s), GFP_KERNEL);

	if (!s)
		return NULL;
	atomic_inc(&st_allocated);
	spin_lock_init(&s->lock);
	s->enable_ret = true;
	atomic64_set(&s->earliest, FENCE_NO_DEADLINE);
	fence_init(&s->base, ops, &s->lock, st_context, seqno);
	return s;
}

static struct st_fence *st_new(void)
{
	return st_new_ops(&st_ops, 1);
}

/* A callback that counts its runs and records its context. */
struct st_cb {
	struct fence_cb cb;
	atomic_t runs;
	int order;		/* position among callbacks of one signal */
	bool lock_held;
	bool irqs_off;
	bool in_hardirq;
	int status_seen;
};

static atomic_t st_order;

static void st_cb_func(struct fence *f, struct fence_cb *cb)
{
	struct st_cb *c = container_of(cb, struct st_cb, cb);

	atomic_inc(&c->runs);
	c->order = atomic_inc_return(&st_order);
	c->lock_held = st_lock_held(f->lock);
	c->irqs_off = irqs_disabled();
	c->in_hardirq = in_hardirq();
	c->status_seen = fence_get_status_locked(f);
}

static void st_cb_init(struct st_cb *c)
{
	memset(c, 0, sizeof(*c));
	atomic_set(&c->runs, 0);
}

/* ---- basics ---------------------------------------------------------- */

static int test_init_state(void)
{
	struct st_fence *s = st_new_ops(&st_ops, 7);

	if (!s)
		return -ENOMEM;
	CHECK(!fence_is_signaled(&s->base));
	CHECK_EQ(kref_read(&s->base.refcount), 1);
	CHECK_EQ(s->base.context, st_context);
	CHECK_EQ(s->base.seqno, 7);
	CHECK_EQ(s->base.error, 0);
	CHECK_EQ(fence_get_status(&s->base), 0);
	CHECK_EQ(atomic_read(&s->enable_calls), 0);
	fence_put(&s->base);
	return st_result();
}

static int test_size(void)
{
	pr_info("    # sizeof(struct fence) = %zu, sizeof(struct dma_fence) = %zu\n",
		sizeof(struct fence), sizeof(struct dma_fence));
	CHECK(sizeof(struct fence) <= sizeof(struct dma_fence));
	return st_result();
}

static int test_context_alloc(void)
{
	u64 a = fence_context_alloc(1);
	u64 b = fence_context_alloc(4);
	u64 c = fence_context_alloc(1);

	CHECK(a != 0);
	CHECK(b > a);
	CHECK(c >= b + 4);
	return st_result();
}

static int test_is_later(void)
{
	struct st_fence *a = st_new_ops(&st_ops, 1);
	struct st_fence *b = st_new_ops(&st_ops, 2);

	if (!a || !b) {
		if (a)
			fence_put(&a->base);
		if (b)
			fence_put(&b->base);
		return -ENOMEM;
	}
	CHECK(fence_is_later(&b->base, &a->base));
	CHECK(!fence_is_later(&a->base, &b->base));
	CHECK(!fence_is_later(&a->base, &a->base));
	/* Across the 64-bit wrap, 1 comes after U64_MAX. */
	a->base.seqno = U64_MAX;
	b->base.seqno = 1;
	CHECK(fence_is_later(&b->base, &a->base));
	CHECK(!fence_is_later(&a->base, &b->base));
	fence_put(&a->base);
	fence_put(&b->base);
	return st_result();
}

static int test_signal(void)
{
	struct st_fence *s = st_new();
	ktime_t before, after;

	if (!s)
		return -ENOMEM;
	before = ktime_get();
	CHECK_EQ(fence_signal(&s->base), 0);
	after = ktime_get();
	CHECK(fence_is_signaled(&s->base));
	CHECK(test_bit(FENCE_FLAG_TIMESTAMP_BIT, &s->base.flags));
	CHECK(ktime_compare(fence_timestamp(&s->base), before) >= 0);
	CHECK(ktime_compare(fence_timestamp(&s->base), after) <= 0);
	CHECK_EQ(fence_get_status(&s->base), 1);
	fence_put(&s->base);
	return st_result();
}

static int test_signal_twice(void)
{
	struct st_fence *s = st_new();
	struct st_cb c;
	ktime_t ts;

	if (!s)
		return -ENOMEM;
	st_cb_init(&c);
	CHECK_EQ(fence_add_callback(&s->base, &c.cb, st_cb_func), 0);
	CHECK_EQ(fence_signal(&s->base), 0);
	ts = fence_timestamp(&s->base);
	CHECK_EQ(fence_signal(&s->base), -EINVAL);
	CHECK_EQ(atomic_read(&c.runs), 1);
	CHECK(ktime_compare(fence_timestamp(&s->base), ts) == 0);
	fence_put(&s->base);
	return st_result();
}

static int test_signal_locked(void)
{
	struct st_fence *s = st_new();
	unsigned long flags;
	int r1, r2;

	if (!s)
		return -ENOMEM;
	spin_lock_irqsave(&s->lock, flags);
	r1 = __fence_signal(&s->base);
	r2 = __fence_signal(&s->base);
	spin_unlock_irqrestore(&s->lock, flags);
	CHECK_EQ(r1, 0);
	CHECK_EQ(r2, -EINVAL);
	CHECK(fence_is_signaled(&s->base));
	fence_put(&s->base);
	return st_result();
}

static int test_signal_timestamp(void)
{
	struct st_fence *s = st_new();
	ktime_t ts = ktime_sub_ms(ktime_get(), 5);

	if (!s)
		return -ENOMEM;
	CHECK_EQ(fence_signal_timestamp(&s->base, ts), 0);
	CHECK(ktime_compare(fence_timestamp(&s->base), ts) == 0);
	CHECK_EQ(fence_signal_timestamp(&s->base, ktime_get()), -EINVAL);
	CHECK(ktime_compare(fence_timestamp(&s->base), ts) == 0);
	fence_put(&s->base);
	return st_result();
}

/* ---- callbacks ------------------------------------------------------- */

static int test_callback_once(void)
{
	struct st_fence *s = st_new();
	struct st_cb c;

	if (!s)
		return -ENOMEM;
	st_cb_init(&c);
	CHECK_EQ(fence_add_callback(&s->base, &c.cb, st_cb_func), 0);
	CHECK_EQ(atomic_read(&c.runs), 0);
	CHECK_EQ(fence_signal(&s->base), 0);
	CHECK_EQ(atomic_read(&c.runs), 1);
	fence_signal(&s->base);
	CHECK_EQ(atomic_read(&c.runs), 1);
	fence_put(&s->base);
	return st_result();
}

static int test_callback_after_signal(void)
{
	struct st_fence *s = st_new();
	struct st_cb c;

	if (!s)
		return -ENOMEM;
	fence_signal(&s->base);
	st_cb_init(&c);
	CHECK_EQ(fence_add_callback(&s->base, &c.cb, st_cb_func), -ENOENT);
	CHECK(list_empty(&c.cb.node));
	CHECK_EQ(atomic_read(&c.runs), 0);
	CHECK(!fence_remove_callback(&s->base, &c.cb));
	fence_put(&s->base);
	return st_result();
}

static int test_callback_order(void)
{
	struct st_fence *s = st_new();
	struct st_cb c[4];
	int i;

	if (!s)
		return -ENOMEM;
	for (i = 0; i < 4; i++) {
		st_cb_init(&c[i]);
		CHECK_EQ(fence_add_callback(&s->base, &c[i].cb, st_cb_func), 0);
	}
	atomic_set(&st_order, 0);
	fence_signal(&s->base);
	for (i = 0; i < 4; i++) {
		CHECK_EQ(atomic_read(&c[i].runs), 1);
		CHECK_EQ(c[i].order, i + 1);
	}
	fence_put(&s->base);
	return st_result();
}

static int test_callback_context(void)
{
	struct st_fence *s = st_new();
	struct st_cb c;

	if (!s)
		return -ENOMEM;
	st_cb_init(&c);
	CHECK_EQ(fence_add_callback(&s->base, &c.cb, st_cb_func), 0);
	fence_signal(&s->base);
	CHECK(c.lock_held);
	CHECK(c.irqs_off);
	/* Seen from the callback, the fence has already signaled. */
	CHECK_EQ(c.status_seen, 1);
	fence_put(&s->base);
	return st_result();
}

static int test_callback_bad_args(void)
{
	struct st_fence *s = st_new();
	struct st_cb c;

	if (!s)
		return -ENOMEM;
	st_cb_init(&c);
	CHECK_EQ(fence_add_callback(&s->base, NULL, st_cb_func), -EINVAL);
	CHECK_EQ(fence_add_callback(&s->base, &c.cb, NULL), -EINVAL);
	CHECK_EQ(fence_add_callback(NULL, &c.cb, st_cb_func), -EINVAL);
	CHECK_EQ(atomic_read(&s->enable_calls), 0);
	fence_put(&s->base);
	return st_result();
}

static int test_remove_pending(void)
{
	struct st_fence *s = st_new();
	struct st_cb c;

	if (!s)
		return -ENOMEM;
	st_cb_init(&c);
	CHECK_EQ(fence_add_callback(&s->base, &c.cb, st_cb_func), 0);
	CHECK(fence_remove_callback(&s->base, &c.cb));
	CHECK(!fence_remove_callback(&s->base, &c.cb));
	fence_signal(&s->base);
	CHECK_EQ(atomic_read(&c.runs), 0);
	fence_put(&s->base);
	return st_result();
}

static int test_remove_after_signal(void)
{
	struct st_fence *s = st_new();
	struct st_cb c;

	if (!s)
		return -ENOMEM;
	st_cb_init(&c);
	CHECK_EQ(fence_add_callback(&s->base, &c.cb, st_cb_func), 0);
	fence_signal(&s->base);
	CHECK(!fence_remove_callback(&s->base, &c.cb));
	CHECK_EQ(atomic_read(&c.runs), 1);
	fence_put(&s->base);
	return st_result();
}

static int test_remove_middle(void)
{
	struct st_fence *s = st_new();
	struct st_cb c[3];
	int i;

	if (!s)
		return -ENOMEM;
	for (i = 0; i < 3; i++) {
		st_cb_init(&c[i]);
		CHECK_EQ(fence_add_callback(&s->base, &c[i].cb, st_cb_func), 0);
	}
	CHECK(fence_remove_callback(&s->base, &c[1].cb));
	fence_signal(&s->base);
	CHECK_EQ(atomic_read(&c[0].runs), 1);
	CHECK_EQ(atomic_read(&c[1].runs), 0);
	CHECK_EQ(atomic_read(&c[2].runs), 1);
	fence_put(&s->base);
	return st_result();
}

/* A callback that drops a reference on its fence: allowed, not the last. */
static void st_cb_put(struct fence *f, struct fence_cb *cb)
{
	st_cb_func(f, cb);
	fence_put(f);
}

static int test_callback_puts_ref(void)
{
	struct st_fence *s = st_new();
	struct st_cb c;

	if (!s)
		return -ENOMEM;
	st_cb_init(&c);
	CHECK_EQ(fence_add_callback(fence_get(&s->base), &c.cb, st_cb_put), 0);
	CHECK_EQ(kref_read(&s->base.refcount), 2);
	fence_signal(&s->base);
	CHECK_EQ(atomic_read(&c.runs), 1);
	CHECK_EQ(kref_read(&s->base.refcount), 1);
	fence_put(&s->base);
	return st_result();
}

/* Re-adding a callback from inside a callback is refused: -ENOENT. */
struct st_readd {
	struct fence_cb cb;
	int ret;
	struct fence_cb other;
};

static void st_cb_readd(struct fence *f, struct fence_cb *cb)
{
	struct st_readd *r = container_of(cb, struct st_readd, cb);

	r->ret = __fence_add_callback(f, &r->other, st_cb_func);
}

static int test_add_from_callback(void)
{
	struct st_fence *s = st_new();
	struct st_readd r = { .ret = 1 };

	if (!s)
		return -ENOMEM;
	CHECK_EQ(fence_add_callback(&s->base, &r.cb, st_cb_readd), 0);
	fence_signal(&s->base);
	CHECK_EQ(r.ret, -ENOENT);
	fence_put(&s->base);
	return st_result();
}

/* ---- enable_signaling and signaled ----------------------------------- */

static int test_enable_lazy(void)
{
	struct st_fence *s = st_new();
	struct st_cb c[2];

	if (!s)
		return -ENOMEM;
	fence_is_signaled(&s->base);
	CHECK_EQ(atomic_read(&s->enable_calls), 0);
	st_cb_init(&c[0]);
	st_cb_init(&c[1]);
	CHECK_EQ(fence_add_callback(&s->base, &c[0].cb, st_cb_func), 0);
	CHECK_EQ(atomic_read(&s->enable_calls), 1);
	CHECK_EQ(fence_add_callback(&s->base, &c[1].cb, st_cb_func), 0);
	CHECK_EQ(atomic_read(&s->enable_calls), 1);
	CHECK(s->lock_held_in_enable);
	fence_signal(&s->base);
	fence_put(&s->base);
	return st_result();
}

static int test_enable_false(void)
{
	struct st_fence *s = st_new();
	struct st_cb c;

	if (!s)
		return -ENOMEM;
	s->enable_ret = false;
	st_cb_init(&c);
	CHECK_EQ(fence_add_callback(&s->base, &c.cb, st_cb_func), -ENOENT);
	CHECK(fence_is_signaled(&s->base));
	CHECK_EQ(atomic_read(&c.runs), 0);
	CHECK_EQ(atomic_read(&s->enable_calls), 1);
	fence_put(&s->base);
	return st_result();
}

static int test_enable_sw_signaling(void)
{
	struct st_fence *s = st_new();

	if (!s)
		return -ENOMEM;
	fence_enable_sw_signaling(&s->base);
	CHECK_EQ(atomic_read(&s->enable_calls), 1);
	fence_enable_sw_signaling(&s->base);
	CHECK_EQ(atomic_read(&s->enable_calls), 1);
	CHECK(!fence_is_signaled(&s->base));
	fence_signal(&s->base);
	fence_put(&s->base);
	return st_result();
}

static int test_enable_not_after_signal(void)
{
	struct st_fence *s = st_new();
	struct st_cb c;

	if (!s)
		return -ENOMEM;
	fence_signal(&s->base);
	st_cb_init(&c);
	CHECK_EQ(fence_add_callback(&s->base, &c.cb, st_cb_func), -ENOENT);
	fence_enable_sw_signaling(&s->base);
	CHECK_EQ(fence_wait_timeout(&s->base, false, 0), 1);
	CHECK_EQ(atomic_read(&s->enable_calls), 0);
	fence_put(&s->base);
	return st_result();
}

static int test_signaled_op(void)
{
	struct st_fence *s = st_new();
	struct st_cb c;

	if (!s)
		return -ENOMEM;
	st_cb_init(&c);
	CHECK_EQ(fence_add_callback(&s->base, &c.cb, st_cb_func), 0);
	CHECK(!fence_is_signaled(&s->base));
	CHECK_EQ(atomic_read(&c.runs), 0);
	/* The hardware says done: is_signaled signals and runs callbacks. */
	WRITE_ONCE(s->signaled_ret, true);
	CHECK(fence_is_signaled(&s->base));
	CHECK(test_bit(FENCE_FLAG_SIGNALED_BIT, &s->base.flags));
	CHECK_EQ(atomic_read(&c.runs), 1);
	CHECK_EQ(fence_signal(&s->base), -EINVAL);
	fence_put(&s->base);
	return st_result();
}

/* ---- errors and status ----------------------------------------------- */

static int test_set_error(void)
{
	struct st_fence *s = st_new();
	struct st_cb c;

	if (!s)
		return -ENOMEM;
	st_cb_init(&c);
	CHECK_EQ(fence_add_callback(&s->base, &c.cb, st_cb_func), 0);
	CHECK_EQ(fence_set_error(&s->base, -EIO), 0);
	CHECK_EQ(fence_get_status(&s->base), 0);
	fence_signal(&s->base);
	CHECK_EQ(fence_get_status(&s->base), -EIO);
	CHECK_EQ(c.status_seen, -EIO);
	CHECK_EQ(s->base.error, -EIO);
	fence_put(&s->base);
	return st_result();
}

static int test_set_error_after_signal(void)
{
	struct st_fence *s = st_new();

	if (!s)
		return -ENOMEM;
	fence_signal(&s->base);
	CHECK_EQ(fence_set_error(&s->base, -EIO), -EINVAL);
	CHECK_EQ(fence_get_status(&s->base), 1);
	fence_put(&s->base);
	return st_result();
}

static int test_set_error_bad_value(void)
{
	struct st_fence *s = st_new();

	if (!s)
		return -ENOMEM;
	CHECK_EQ(fence_set_error(&s->base, 0), -EINVAL);
	CHECK_EQ(fence_set_error(&s->base, 5), -EINVAL);
	CHECK_EQ(fence_set_error(&s->base, -MAX_ERRNO - 1), -EINVAL);
	CHECK_EQ(s->base.error, 0);
	fence_signal(&s->base);
	CHECK_EQ(fence_get_status(&s->base), 1);
	fence_put(&s->base);
	return st_result();
}

/* ---- lifetime -------------------------------------------------------- */

static int test_get_put(void)
{
	struct st_fence *s = st_new();
	int released = atomic_read(&st_released);

	if (!s)
		return -ENOMEM;
	CHECK(fence_get(&s->base) == &s->base);
	CHECK_EQ(kref_read(&s->base.refcount), 2);
	fence_put(&s->base);
	CHECK_EQ(atomic_read(&st_released), released);
	fence_put(&s->base);
	CHECK_EQ(atomic_read(&st_released), released + 1);
	return st_result();
}

static int test_rcu_lifetime(void)
{
	struct st_fence *s = st_new_ops(&st_ops, 0x5eed);
	struct fence *f, *revived;
	u64 seqno;

	if (!s)
		return -ENOMEM;
	f = &s->base;
	rcu_read_lock();
	fence_put(f);
	/*
	 * Released, but the memory stays until the grace period ends: with
	 * slab poisoning an early free would show here as a changed seqno.
	 */
	revived = fence_get_rcu(f);
	seqno = READ_ONCE(f->seqno);
	rcu_read_unlock();
	CHECK(!revived);
	CHECK_EQ(seqno, 0x5eed);
	if (revived)
		fence_put(revived);
	return st_result();
}

static int test_get_rcu_live(void)
{
	struct st_fence *s = st_new();
	struct fence *f;

	if (!s)
		return -ENOMEM;
	rcu_read_lock();
	f = fence_get_rcu(&s->base);
	rcu_read_unlock();
	CHECK(f == &s->base);
	CHECK_EQ(kref_read(&s->base.refcount), 2);
	fence_put(f);
	fence_put(&s->base);
	return st_result();
}

static int test_put_unsignaled_with_callbacks(void)
{
	struct st_fence *s = st_new();
	struct st_cb c;

	if (!s)
		return -ENOMEM;
	st_cb_init(&c);
	CHECK_EQ(fence_add_callback(&s->base, &c.cb, st_cb_func), 0);
	/* A driver bug: the last reference goes with a callback pending. */
	fence_put(&s->base);
	CHECK_EQ(atomic_read(&c.runs), 1);
	CHECK_EQ(c.status_seen, -EDEADLK);
	return st_result();
}

/* ---- waits ----------------------------------------------------------- */

static int test_wait_signaled(void)
{
	struct st_fence *s = st_new();

	if (!s)
		return -ENOMEM;
	fence_signal(&s->base);
	CHECK_EQ(fence_wait_timeout(&s->base, false, 0), 1);
	CHECK_EQ(fence_wait_timeout(&s->base, true, 10), 10);
	CHECK_EQ(fence_wait(&s->base, true), 0);
	fence_put(&s->base);
	return st_result();
}

static int test_wait_timeout_expires(void)
{
	struct st_fence *s = st_new();

	if (!s)
		return -ENOMEM;
	CHECK_EQ(fence_wait_timeout(&s->base, false, 0), 0);
	CHECK_EQ(fence_wait_timeout(&s->base, false, 2), 0);
	CHECK(!fence_is_signaled(&s->base));
	CHECK_EQ(atomic_read(&s->enable_calls), 1);
	fence_signal(&s->base);
	fence_put(&s->base);
	return st_result();
}

static int test_wait_negative(void)
{
	struct st_fence *s = st_new();

	if (!s)
		return -ENOMEM;
	CHECK_EQ(fence_wait_timeout(&s->base, false, -1), -EINVAL);
	fence_signal(&s->base);
	fence_put(&s->base);
	return st_result();
}

/* Signals a fence from an hrtimer: hard IRQ, like a completion IRQ. */
struct st_timer {
	struct hrtimer timer;
	struct fence *fence;
};

static enum hrtimer_restart st_timer_fn(struct hrtimer *t)
{
	struct st_timer *st = container_of(t, struct st_timer, timer);

	fence_signal(st->fence);
	return HRTIMER_NORESTART;
}

/* The timers live on the stack: DEBUG_OBJECTS must be told. */
static void st_timer_start(struct st_timer *st, struct fence *f, u64 ns)
{
	hrtimer_init_on_stack(&st->timer, CLOCK_MONOTONIC,
			      HRTIMER_MODE_REL);
	st->timer.function = st_timer_fn;
	st->fence = f;
	hrtimer_start(&st->timer, ns_to_ktime(ns), HRTIMER_MODE_REL);
}

static int test_callback_hardirq(void)
{
	struct st_fence *s = st_new();
	struct st_timer t;
	struct st_cb c;

	if (!s)
		return -ENOMEM;
	st_cb_init(&c);
	CHECK_EQ(fence_add_callback(&s->base, &c.cb, st_cb_func), 0);
	st_timer_start(&t, &s->base, 1000000);
	CHECK(fence_wait_timeout(&s->base, false, 5 * HZ) > 0);
	hrtimer_cancel(&t.timer);
	destroy_hrtimer_on_stack(&t.timer);
	CHECK_EQ(atomic_read(&c.runs), 1);
	CHECK(c.in_hardirq);
	fence_put(&s->base);
	return st_result();
}

static int test_wait_woken_by_irq(void)
{
	struct st_fence *s = st_new();
	struct st_timer t;

	if (!s)
		return -ENOMEM;
	st_timer_start(&t, &s->base, 2000000);
	CHECK_EQ(fence_wait(&s->base, false), 0);
	hrtimer_cancel(&t.timer);
	destroy_hrtimer_on_stack(&t.timer);
	CHECK(fence_is_signaled(&s->base));
	fence_put(&s->base);
	return st_result();
}

static int test_wait_interrupted(void)
{
	struct st_fence *s = st_new();
	long r;

	if (!s)
		return -ENOMEM;
	/* As if a signal were pending on this task. */
	set_tsk_thread_flag(current, TIF_SIGPENDING);
	r = fence_wait_timeout(&s->base, true, 10 * HZ);
	clear_tsk_thread_flag(current, TIF_SIGPENDING);
	CHECK_EQ(r, -ERESTARTSYS);
	CHECK(!fence_is_signaled(&s->base));
	fence_signal(&s->base);
	fence_put(&s->base);
	return st_result();
}

static int test_wait_uninterruptible(void)
{
	struct st_fence *s = st_new();
	long r;

	if (!s)
		return -ENOMEM;
	set_tsk_thread_flag(current, TIF_SIGPENDING);
	r = fence_wait_timeout(&s->base, false, 2);
	clear_tsk_thread_flag(current, TIF_SIGPENDING);
	CHECK_EQ(r, 0);
	fence_signal(&s->base);
	fence_put(&s->base);
	return st_result();
}

static int test_wait_ops_override(void)
{
	struct st_fence *s = st_new_ops(&st_wait_ops, 1);

	if (!s)
		return -ENOMEM;
	CHECK_EQ(fence_wait_timeout(&s->base, true, 100), 42);
	CHECK_EQ(atomic_read(&s->wait_calls), 1);
	fence_signal(&s->base);
	fence_put(&s->base);
	return st_result();
}

static int test_wait_any(void)
{
	struct st_fence *a = st_new(), *b = st_new();
	struct fence *fences[2];
	u32 idx = 99;

	if (!a || !b) {
		if (a)
			fence_put(&a->base);
		if (b)
			fence_put(&b->base);
		return -ENOMEM;
	}
	fences[0] = &a->base;
	fences[1] = &b->base;
	CHECK_EQ(fence_wait_any_timeout(fences, 2, false, 0, &idx), 0);
	CHECK_EQ(fence_wait_any_timeout(fences, 2, false, 2, &idx), 0);
	CHECK_EQ(idx, 99);
	fence_signal(&b->base);
	CHECK_EQ(fence_wait_any_timeout(fences, 2, false, 0, &idx), 1);
	CHECK_EQ(idx, 1);
	idx = 99;
	CHECK(fence_wait_any_timeout(fences, 2, true, 10, &idx) > 0);
	CHECK_EQ(idx, 1);
	fence_signal(&a->base);
	fence_put(&a->base);
	fence_put(&b->base);
	return st_result();
}

static int test_wait_any_irq(void)
{
	struct st_fence *a = st_new(), *b = st_new();
	struct fence *fences[2];
	struct st_timer t;
	u32 idx = 99;

	if (!a || !b) {
		if (a)
			fence_put(&a->base);
		if (b)
			fence_put(&b->base);
		return -ENOMEM;
	}
	fences[0] = &a->base;
	fences[1] = &b->base;
	st_timer_start(&t, &a->base, 2000000);
	CHECK(fence_wait_any_timeout(fences, 2, false, 5 * HZ, &idx) > 0);
	hrtimer_cancel(&t.timer);
	destroy_hrtimer_on_stack(&t.timer);
	CHECK_EQ(idx, 0);
	CHECK(!fence_is_signaled(&b->base));
	/* Its wake-up callbacks are gone: nothing runs at this signal. */
	fence_signal(&b->base);
	fence_put(&a->base);
	fence_put(&b->base);
	return st_result();
}

static int test_wait_any_bad_args(void)
{
	struct st_fence *a = st_new();
	struct fence *fences[2];

	if (!a)
		return -ENOMEM;
	fences[0] = &a->base;
	fences[1] = NULL;
	CHECK_EQ(fence_wait_any_timeout(NULL, 1, false, 1, NULL), -EINVAL);
	CHECK_EQ(fence_wait_any_timeout(fences, 0, false, 1, NULL), -EINVAL);
	CHECK_EQ(fence_wait_any_timeout(fences, 2, false, 1, NULL), -EINVAL);
	CHECK_EQ(fence_wait_any_timeout(fences, 1, false, -1, NULL), -EINVAL);
	fence_signal(&a->base);
	fence_put(&a->base);
	return 0;
}

/* ---- deadlines ------------------------------------------------------- */

static struct st_fence *st_new_deadline(void)
{
	return st_new_ops(&st_deadline_ops, 1);
}

/* Every deadline reaches the hook, which keeps the earliest. */
static int test_deadline_earliest_wins(void)
{
	struct st_fence *s = st_new_deadline();
	ktime_t now = ktime_get();
	ktime_t t10 = ktime_add_ms(now, 10), t20 = ktime_add_ms(now, 20);
	ktime_t t30 = ktime_add_ms(now, 30), past = ktime_sub_ms(now, 1);

	if (!s)
		return -ENOMEM;
	fence_set_deadline(&s->base, t30);
	CHECK_EQ(atomic_read(&s->deadline_moves), 1);
	CHECK_EQ(atomic64_read(&s->earliest), t30);
	fence_set_deadline(&s->base, t10);
	CHECK_EQ(atomic_read(&s->deadline_moves), 2);
	CHECK_EQ(atomic64_read(&s->earliest), t10);
	fence_set_deadline(&s->base, t20);
	CHECK_EQ(atomic_read(&s->deadline_moves), 2);
	CHECK_EQ(atomic64_read(&s->earliest), t10);
	/* A time already past is the earliest of all: "as soon as possible". */
	fence_set_deadline(&s->base, past);
	CHECK_EQ(atomic_read(&s->deadline_moves), 3);
	CHECK_EQ(atomic64_read(&s->earliest), past);
	CHECK_EQ(atomic_read(&s->deadline_calls), 4);
	CHECK_EQ(s->deadline_seen, past);
	fence_signal(&s->base);
	fence_put(&s->base);
	return st_result();
}

/* A deadline later than (or equal to) the one kept changes nothing. */
static int test_deadline_later_ignored(void)
{
	struct st_fence *s = st_new_deadline();
	ktime_t now = ktime_get();
	ktime_t t10 = ktime_add_ms(now, 10), t20 = ktime_add_ms(now, 20);

	if (!s)
		return -ENOMEM;
	fence_set_deadline(&s->base, t10);
	fence_set_deadline(&s->base, t20);
	fence_set_deadline(&s->base, t10);
	CHECK_EQ(atomic_read(&s->deadline_calls), 3);
	CHECK_EQ(atomic_read(&s->deadline_moves), 1);
	CHECK_EQ(atomic64_read(&s->earliest), t10);
	fence_signal(&s->base);
	fence_put(&s->base);
	return st_result();
}

/* The helper alone: the record starts empty and only moves earlier. */
static int test_deadline_keep_earliest(void)
{
	atomic64_t earliest = ATOMIC64_INIT(FENCE_NO_DEADLINE);

	CHECK(fence_deadline_keep_earliest(&earliest, 100));
	CHECK_EQ(atomic64_read(&earliest), 100);
	CHECK(!fence_deadline_keep_earliest(&earliest, 100));
	CHECK(!fence_deadline_keep_earliest(&earliest, 200));
	CHECK_EQ(atomic64_read(&earliest), 100);
	CHECK(fence_deadline_keep_earliest(&earliest, -5));
	CHECK_EQ(atomic64_read(&earliest), -5);
	return st_result();
}

/* A fence that has signaled is left alone. */
static int test_deadline_after_signal(void)
{
	struct st_fence *s = st_new_deadline(), *plain = st_new();
	ktime_t now = ktime_get();

	if (!s || !plain) {
		if (s)
			fence_put(&s->base);
		if (plain)
			fence_put(&plain->base);
		return -ENOMEM;
	}
	fence_set_deadline(&s->base, ktime_add_ms(now, 10));
	CHECK_EQ(atomic_read(&s->deadline_calls), 1);
	fence_signal(&s->base);
	fence_set_deadline(&s->base, ktime_add_ms(now, 5));
	CHECK_EQ(atomic_read(&s->deadline_calls), 1);
	CHECK_EQ(atomic64_read(&s->earliest), ktime_add_ms(now, 10));
	/* Without a hook, before and after the signal: nothing to call. */
	fence_set_deadline(&plain->base, now);
	fence_signal(&plain->base);
	fence_set_deadline(&plain->base, now);
	CHECK_EQ(atomic_read(&plain->deadline_calls), 0);
	fence_put(&s->base);
	fence_put(&plain->base);
	return st_result();
}

/*
 * The hook gets the fence and the deadline as given, once per call,
 * without the fence lock; a deadline does not enable signaling.
 */
static int test_deadline_hook_args(void)
{
	struct st_fence *a = st_new_deadline(), *b = st_new_deadline();
	ktime_t t = ktime_add_ms(ktime_get(), 16);

	if (!a || !b) {
		if (a)
			fence_put(&a->base);
		if (b)
			fence_put(&b->base);
		return -ENOMEM;
	}
	fence_set_deadline(&a->base, t);
	CHECK_EQ(atomic_read(&a->deadline_calls), 1);
	CHECK(a->deadline_fence == &a->base);
	CHECK_EQ(a->deadline_seen, t);
	CHECK(!a->lock_held_in_deadline);
	CHECK(!a->hardirq_in_deadline);
	CHECK_EQ(atomic_read(&a->enable_calls), 0);
	CHECK(!fence_is_signaled(&a->base));
	/* The other fence heard nothing. */
	CHECK_EQ(atomic_read(&b->deadline_calls), 0);
	CHECK(!b->deadline_fence);
	fence_set_deadline(&b->base, ktime_add_ms(t, 1));
	CHECK_EQ(atomic_read(&a->deadline_calls), 1);
	CHECK_EQ(atomic_read(&b->deadline_calls), 1);
	CHECK(b->deadline_fence == &b->base);
	CHECK_EQ(b->deadline_seen, ktime_add_ms(t, 1));
	fence_signal(&a->base);
	fence_signal(&b->base);
	fence_put(&a->base);
	fence_put(&b->base);
	return st_result();
}

/*
 * From a callback at signal time, with the signaling fence's lock held
 * and interrupts off: on that fence (signaled by then) it is a no-op that
 * takes nothing, on a fence of another lock the hook runs. Either would
 * deadlock if fence_set_deadline() or the hook took the held lock.
 */
struct st_deadline_cb {
	struct fence_cb cb;
	struct fence *other;
	ktime_t deadline;
	atomic_t runs;
};

static void st_deadline_cb_func(struct fence *f, struct fence_cb *cb)
{
	struct st_deadline_cb *c = container_of(cb, struct st_deadline_cb, cb);

	fence_set_deadline(f, c->deadline);
	fence_set_deadline(c->other, c->deadline);
	atomic_inc(&c->runs);
}

static int test_deadline_from_callback(void)
{
	struct st_fence *a = st_new_deadline(), *b = st_new_deadline();
	struct st_deadline_cb c = { };

	if (!a || !b) {
		if (a)
			fence_put(&a->base);
		if (b)
			fence_put(&b->base);
		return -ENOMEM;
	}
	c.other = &b->base;
	c.deadline = ktime_add_ms(ktime_get(), 8);
	atomic_set(&c.runs, 0);
	CHECK_EQ(fence_add_callback(&a->base, &c.cb, st_deadline_cb_func), 0);
	fence_signal(&a->base);
	CHECK_EQ(atomic_read(&c.runs), 1);
	CHECK_EQ(atomic_read(&a->deadline_calls), 0);
	CHECK_EQ(atomic_read(&b->deadline_calls), 1);
	CHECK_EQ(b->deadline_seen, c.deadline);
	CHECK(!b->lock_held_in_deadline);
	fence_signal(&b->base);
	fence_put(&a->base);
	fence_put(&b->base);
	return st_result();
}

/* Set from an hrtimer (hard IRQ), which then signals the fence. */
struct st_deadline_timer {
	struct hrtimer timer;
	struct fence *fence;
	ktime_t deadline;
};

static enum hrtimer_restart st_deadline_timer_fn(struct hrtimer *t)
{
	struct st_deadline_timer *st = container_of(t, struct st_deadline_timer,
						    timer);

	fence_set_deadline(st->fence, st->deadline);
	fence_signal(st->fence);
	return HRTIMER_NORESTART;
}

static int test_deadline_hardirq(void)
{
	struct st_fence *s = st_new_deadline();
	struct st_deadline_timer t;

	if (!s)
		return -ENOMEM;
	hrtimer_init_on_stack(&t.timer, CLOCK_MONOTONIC, HRTIMER_MODE_REL);
	t.timer.function = st_deadline_timer_fn;
	t.fence = &s->base;
	t.deadline = ktime_add_ms(ktime_get(), 4);
	hrtimer_start(&t.timer, ns_to_ktime(1000000), HRTIMER_MODE_REL);
	CHECK(fence_wait_timeout(&s->base, false, 5 * HZ) > 0);
	hrtimer_cancel(&t.timer);
	destroy_hrtimer_on_stack(&t.timer);
	CHECK_EQ(atomic_read(&s->deadline_calls), 1);
	CHECK_EQ(s->deadline_seen, t.deadline);
	CHECK(s->hardirq_in_deadline);
	fence_put(&s->base);
	return st_result();
}

/* ---- two-CPU races --------------------------------------------------- */

struct st_dma_cb {
	struct dma_fence_cb cb;
	atomic_t runs;
	int status_seen;
};

/*
 * Two kthreads, bound to CPU 0 and CPU 1, meet at a barrier before and
 * after each round. Side A prepares the round and checks it, and decides
 * before each round whether there is one (@go: the rounds asked for, and
 * time left); side B only acts. A random spin on one side varies the
 * interleaving.
 */
struct race {
	atomic_t barrier;
	unsigned int rounds;	/* asked for; once done, the rounds run */
	unsigned long deadline;	/* jiffies */
	bool go;		/* written by A before the start barrier */
	int (*prepare)(struct race *r);
	void (*act_a)(struct race *r);
	void (*act_b)(struct race *r);
	int (*verify)(struct race *r);
	struct completion done[2];
	int result;
	/* state of one round */
	struct st_fence *s;
	struct st_cb c;
	int add_ret;
	bool removed;
	long wait_ret;
	struct fence __rcu *slot;
	u64 seqno;
	unsigned long lost;
	struct dma_fence *dma;
	struct st_dma_cb dcb;
	struct fence *imported;
};

/* Full barrier: what one side wrote before it, the other reads after. */
static void race_sync(struct race *r, int *phase)
{
	*phase += 2;
	/* Our writes (@go, the round's state) before our arrival... */
	smp_mb__before_atomic();
	atomic_inc(&r->barrier);
	/* ...and the other side's before its arrival, read after ours. */
	while (atomic_read_acquire(&r->barrier) < *phase)
		cpu_relax();
}

static void race_jitter(void)
{
	u32 n = get_random_u32() % 256;

	while (n--)
		cpu_relax();
}

static int race_thread_a(void *data)
{
	struct race *r = data;
	int phase = 0;
	unsigned int i;

	for (i = 0; ; i++) {
		int err;

		/* A quiescent state each round: RCU must not stall on us. */
		cond_resched();
		WRITE_ONCE(r->go, i < r->rounds &&
			   time_before(jiffies, r->deadline));
		if (!r->go) {
			race_sync(r, &phase);	/* B sees !go: both stop */
			break;
		}
		err = r->result ? r->result : r->prepare(r);

		if (err)
			r->result = err;
		race_sync(r, &phase);	/* start */
		if (!r->result) {
			race_jitter();
			r->act_a(r);
		}
		race_sync(r, &phase);	/* end */
		if (!r->result)
			r->result = r->verify(r);
	}
	r->rounds = i;
	complete(&r->done[0]);
	return 0;
}

static int race_thread_b(void *data)
{
	struct race *r = data;
	int phase = 0;

	for (;;) {
		cond_resched();
		race_sync(r, &phase);
		if (!READ_ONCE(r->go))
			break;
		if (!READ_ONCE(r->result)) {
			race_jitter();
			r->act_b(r);
		}
		race_sync(r, &phase);
	}
	complete(&r->done[1]);
	return 0;
}

static int race_run(struct race *r)
{
	struct task_struct *t[2];
	int cpu[2], n = 0, c;

	for_each_online_cpu(c) {
		if (n < 2)
			cpu[n++] = c;
	}
	if (n < 2)
		return st_skip("needs two CPUs");

	r->rounds = race_rounds;
	r->deadline = jiffies + race_secs * HZ;
	atomic_set(&r->barrier, 0);
	init_completion(&r->done[0]);
	init_completion(&r->done[1]);
	t[0] = kthread_create(race_thread_a, r, "fence_race_a");
	if (IS_ERR(t[0]))
		return PTR_ERR(t[0]);
	t[1] = kthread_create(race_thread_b, r, "fence_race_b");
	if (IS_ERR(t[1])) {
		kthread_stop(t[0]);
		return PTR_ERR(t[1]);
	}
	kthread_bind(t[0], cpu[0]);
	kthread_bind(t[1], cpu[1]);
	wake_up_process(t[0]);
	wake_up_process(t[1]);
	/* Past race_secs, a round is all there is left: not a hung task. */
	while (!wait_for_completion_timeout(&r->done[0], 10 * HZ))
		;
	while (!wait_for_completion_timeout(&r->done[1], 10 * HZ))
		;
	if (r->rounds < race_rounds)
		pr_info("    # %u of %u rounds in the %u s limit\n", r->rounds,
			race_rounds, race_secs);
	return r->result;
}

static int race_prepare_fence(struct race *r)
{
	r->s = st_new();
	if (!r->s)
		return -ENOMEM;
	st_cb_init(&r->c);
	r->add_ret = 1;
	r->removed = false;
	r->wait_ret = -1;
	return 0;
}

/* signal vs add_callback: the callback runs once iff it was added. */
static void race_signal(struct race *r)
{
	fence_signal(&r->s->base);
}

static void race_add(struct race *r)
{
	r->add_ret = fence_add_callback(&r->s->base, &r->c.cb, st_cb_func);
}

static int race_verify_add(struct race *r)
{
	int runs = atomic_read(&r->c.runs);

	fence_put(&r->s->base);
	if (r->add_ret == 0 && runs == 1)
		return 0;
	if (r->add_ret == -ENOENT && runs == 0)
		return 0;
	pr_info("    # add returned %d, callback ran %d times\n", r->add_ret,
		runs);
	return -EINVAL;
}

static int test_race_signal_add(void)
{
	struct race r = {
		.prepare = race_prepare_fence,
		.act_a = race_signal,
		.act_b = race_add,
		.verify = race_verify_add,
	};

	return race_run(&r);
}

/* signal vs remove_callback: exactly one of "removed" and "ran". */
static int race_prepare_added(struct race *r)
{
	int err = race_prepare_fence(r);

	if (err)
		return err;
	return fence_add_callback(&r->s->base, &r->c.cb, st_cb_func);
}

static void race_remove(struct race *r)
{
	r->removed = fence_remove_callback(&r->s->base, &r->c.cb);
}

static int race_verify_remove(struct race *r)
{
	int runs = atomic_read(&r->c.runs);

	fence_put(&r->s->base);
	if ((r->removed && runs == 0) || (!r->removed && runs == 1))
		return 0;
	pr_info("    # removed %d, callback ran %d times\n", r->removed, runs);
	return -EINVAL;
}

static int test_race_signal_remove(void)
{
	struct race r = {
		.prepare = race_prepare_added,
		.act_a = race_signal,
		.act_b = race_remove,
		.verify = race_verify_remove,
	};

	return race_run(&r);
}

/* signal vs wait: a wait with time to spare always sees the signal. */
static void race_wait(struct race *r)
{
	r->wait_ret = fence_wait_timeout(&r->s->base, false, 10 * HZ);
}

static void race_wait_intr(struct race *r)
{
	r->wait_ret = fence_wait_timeout(&r->s->base, true, 10 * HZ);
}

static int race_verify_wait(struct race *r)
{
	long ret = r->wait_ret;

	fence_put(&r->s->base);
	if (ret > 0)
		return 0;
	pr_info("    # wait returned %ld\n", ret);
	return -EINVAL;
}

static int test_race_signal_wait(void)
{
	struct race r = {
		.prepare = race_prepare_fence,
		.act_a = race_signal,
		.act_b = race_wait,
		.verify = race_verify_wait,
	};

	return race_run(&r);
}

static int test_race_signal_wait_intr(void)
{
	struct race r = {
		.prepare = race_prepare_fence,
		.act_a = race_signal,
		.act_b = race_wait_intr,
		.verify = race_verify_wait,
	};

	return race_run(&r);
}

/*
 * signal vs a short wait: the wait may time out or see the signal, but
 * never fails; and one that timed out must not leave its callback behind
 * (the signal would then touch a dead stack frame: KASAN, or a crash).
 */
static void race_wait_short(struct race *r)
{
	r->wait_ret = fence_wait_timeout(&r->s->base, false, 1);
}

static int race_verify_wait_short(struct race *r)
{
	long ret = r->wait_ret;

	fence_put(&r->s->base);
	if (ret >= 0)
		return 0;
	pr_info("    # wait returned %ld\n", ret);
	return -EINVAL;
}

static int test_race_signal_wait_timeout(void)
{
	struct race r = {
		.prepare = race_prepare_fence,
		.act_a = race_signal,
		.act_b = race_wait_short,
		.verify = race_verify_wait_short,
	};

	return race_run(&r);
}

/* last put vs fence_get_rcu: a lookup never revives nor touches freed memory. */
static int race_prepare_slot(struct race *r)
{
	struct st_fence *s = st_new_ops(&st_ops, ++r->seqno);

	if (!s)
		return -ENOMEM;
	fence_signal(&s->base);
	rcu_assign_pointer(r->slot, &s->base);
	r->wait_ret = 0;
	return 0;
}

static void race_put(struct race *r)
{
	struct fence *f = rcu_replace_pointer(r->slot, NULL, true);

	fence_put(f);
}

static void race_lookup(struct race *r)
{
	struct fence *f;

	rcu_read_lock();
	f = rcu_dereference(r->slot);
	if (f)
		f = fence_get_rcu(f);
	rcu_read_unlock();
	if (f) {
		/* We hold a reference: the fence is whole. */
		r->wait_ret = f->seqno == r->seqno ? 1 : -1;
		fence_put(f);
	} else {
		r->lost++;
	}
}

static int race_verify_slot(struct race *r)
{
	if (r->wait_ret < 0) {
		pr_info("    # lookup saw seqno of another fence\n");
		return -EINVAL;
	}
	return 0;
}

static int test_race_put_get_rcu(void)
{
	int released = atomic_read(&st_released);
	struct race r = {
		.prepare = race_prepare_slot,
		.act_a = race_put,
		.act_b = race_lookup,
		.verify = race_verify_slot,
	};
	int err = race_run(&r);

	if (err)
		return err;
	pr_info("    # %u rounds, %lu lookups lost the race\n", r.rounds,
		r.lost);
	/* Every fence of the race was freed exactly once. */
	rcu_barrier();
	CHECK_EQ(atomic_read(&st_released) - released, r.rounds);
	return st_result();
}

/* ---- the dma_fence bridge -------------------------------------------- */

/* A foreign dma_fence: another driver's, as far as the bridge can tell. */
struct st_dma {
	struct dma_fence base;
	spinlock_t lock;	/* the dma_fence's lock */
};

static atomic_t st_dma_released = ATOMIC_INIT(0);

static const char *st_dma_name(struct dma_fence *f)
{
	return "selftest-foreign";
}

static void st_dma_release(struct dma_fence *f)
{
	atomic_inc(&st_dma_released);
	dma_fence_free(f);
}

static const struct dma_fence_ops st_dma_ops = {
	.get_driver_name = st_dma_name,
	.get_timeline_name = st_dma_name,
	.release = st_dma_release,
};

static struct dma_fence *st_dma_new(void)
{
	struct st_dma *d = kzalloc(sizeof(*d), GFP_KERNEL);

	if (!d)
		return NULL;
	spin_lock_init(&d->lock);
	dma_fence_init(&d->base, &st_dma_ops, &d->lock, st_context, 1);
	return &d->base;
}

static void st_dma_cb_func(struct dma_fence *f, struct dma_fence_cb *cb)
{
	struct st_dma_cb *c = container_of(cb, struct st_dma_cb, cb);

	atomic_inc(&c->runs);
	c->status_seen = dma_fence_get_status_locked(f);
}

static int test_export_signal(void)
{
	struct st_fence *s = st_new();
	struct st_dma_cb c = { };
	struct dma_fence *d;

	if (!s)
		return -ENOMEM;
	d = fence_to_dma_fence(&s->base);
	if (IS_ERR(d)) {
		fence_put(&s->base);
		return PTR_ERR(d);
	}
	CHECK(d->lock == s->base.lock);
	CHECK_EQ(d->context, s->base.context);
	CHECK_EQ(d->seqno, s->base.seqno);
	CHECK(!dma_fence_is_signaled(d));
	CHECK_EQ(dma_fence_add_callback(d, &c.cb, st_dma_cb_func), 0);
	fence_signal(&s->base);
	CHECK_EQ(atomic_read(&c.runs), 1);
	CHECK(dma_fence_is_signaled(d));
	CHECK(ktime_compare(d->timestamp, fence_timestamp(&s->base)) == 0);
	CHECK_EQ(c.status_seen, 1);
	dma_fence_put(d);
	fence_put(&s->base);
	return st_result();
}

static int test_export_signaled_before(void)
{
	struct st_fence *s = st_new();
	struct dma_fence *d;

	if (!s)
		return -ENOMEM;
	fence_set_error(&s->base, -ETIMEDOUT);
	fence_signal(&s->base);
	d = fence_to_dma_fence(&s->base);
	if (IS_ERR(d)) {
		fence_put(&s->base);
		return PTR_ERR(d);
	}
	CHECK(test_bit(DMA_FENCE_FLAG_SIGNALED_BIT, &d->flags));
	CHECK_EQ(dma_fence_get_status(d), -ETIMEDOUT);
	CHECK(ktime_compare(d->timestamp, fence_timestamp(&s->base)) == 0);
	dma_fence_put(d);
	fence_put(&s->base);
	return st_result();
}

static int test_export_error(void)
{
	struct st_fence *s = st_new();
	struct st_dma_cb c = { };
	struct dma_fence *d;

	if (!s)
		return -ENOMEM;
	d = fence_to_dma_fence(&s->base);
	if (IS_ERR(d)) {
		fence_put(&s->base);
		return PTR_ERR(d);
	}
	CHECK_EQ(dma_fence_add_callback(d, &c.cb, st_dma_cb_func), 0);
	fence_set_error(&s->base, -EIO);
	fence_signal(&s->base);
	CHECK_EQ(c.status_seen, -EIO);
	CHECK_EQ(dma_fence_get_status(d), -EIO);
	dma_fence_put(d);
	fence_put(&s->base);
	return st_result();
}

static int test_export_wait_irq(void)
{
	struct st_fence *s = st_new();
	struct dma_fence *d;
	struct st_timer t;

	if (!s)
		return -ENOMEM;
	d = fence_to_dma_fence(&s->base);
	if (IS_ERR(d)) {
		fence_put(&s->base);
		return PTR_ERR(d);
	}
	st_timer_start(&t, &s->base, 2000000);
	CHECK(dma_fence_wait_timeout(d, false, 5 * HZ) > 0);
	hrtimer_cancel(&t.timer);
	destroy_hrtimer_on_stack(&t.timer);
	CHECK(fence_is_signaled(&s->base));
	dma_fence_put(d);
	fence_put(&s->base);
	return st_result();
}

/* Ours in a dma_resv: stock code sees it; and it comes back as itself. */
static int test_export_resv_roundtrip(void)
{
	struct st_fence *s = st_new();
	struct dma_resv_iter it;
	struct dma_fence *d;
	struct dma_resv resv;
	int found = 0, same = 0;
	int ret;

	if (!s)
		return -ENOMEM;
	dma_resv_init(&resv);
	dma_resv_lock(&resv, NULL);
	ret = dma_resv_reserve_fences(&resv, 1);
	if (!ret)
		ret = fence_resv_add(&resv, &s->base, DMA_RESV_USAGE_WRITE);
	dma_resv_unlock(&resv);
	CHECK_EQ(ret, 0);
	CHECK(!dma_resv_test_signaled(&resv, DMA_RESV_USAGE_WRITE));
	CHECK(dma_resv_test_signaled(&resv, DMA_RESV_USAGE_KERNEL));

	dma_resv_iter_begin(&it, &resv, DMA_RESV_USAGE_WRITE);
	dma_resv_for_each_fence_unlocked(&it, d) {
		struct fence *f = fence_from_dma_fence(d);

		found++;
		if (!IS_ERR(f)) {
			same += f == &s->base;
			fence_put(f);
		}
	}
	dma_resv_iter_end(&it);
	CHECK_EQ(found, 1);
	CHECK_EQ(same, 1);

	fence_signal(&s->base);
	CHECK(dma_resv_test_signaled(&resv, DMA_RESV_USAGE_WRITE));
	CHECK_EQ(dma_resv_wait_timeout(&resv, DMA_RESV_USAGE_WRITE, false,
				       HZ) > 0, 1);
	dma_resv_fini(&resv);
	fence_put(&s->base);
	return st_result();
}

/*
 * Ours through a sync_file and back. Run in a kthread, so that the file's
 * last fput() is deferred to a work item that flush_delayed_fput() can wait
 * for, not to the task_work of the insmod task (which would release our
 * fence only after the cases have been counted).
 */
struct st_sync_args {
	struct st_fence *s;
	struct completion done;
};

static int st_sync_file_fn(void *data)
{
	struct st_sync_args *args = data;
	struct st_fence *s = args->s;
	struct sync_file *sync = NULL;
	struct dma_fence *d;
	struct fence *f;

	d = fence_to_dma_fence(&s->base);
	CHECK(!IS_ERR(d));
	if (!IS_ERR(d)) {
		sync = sync_file_create(d);
		dma_fence_put(d);
	}
	CHECK(sync);
	if (sync) {
		f = fence_from_dma_fence(sync->fence);
		CHECK(f == &s->base);
		if (!IS_ERR(f))
			fence_put(f);
		fence_signal(&s->base);
		CHECK(dma_fence_is_signaled(sync->fence));
		fput(sync->file);
		flush_delayed_fput();
	}
	complete(&args->done);
	return 0;
}

static int test_export_sync_file_roundtrip(void)
{
	int released = atomic_read(&st_released);
	struct st_sync_args args;
	struct task_struct *t;

	args.s = st_new();
	if (!args.s)
		return -ENOMEM;
	init_completion(&args.done);
	t = kthread_run(st_sync_file_fn, &args, "fence_st_sync");
	if (IS_ERR(t)) {
		fence_put(&args.s->base);
		return PTR_ERR(t);
	}
	/* The file is gone once the kthread is done: only our ref is left. */
	wait_for_completion(&args.done);
	CHECK(fence_is_signaled(&args.s->base));
	CHECK_EQ(kref_read(&args.s->base.refcount), 1);
	/* Not a sync_file fd. */
	CHECK(PTR_ERR(fence_from_sync_file_fd(-1)) == -EINVAL);
	fence_put(&args.s->base);
	rcu_barrier();
	CHECK_EQ(atomic_read(&st_released), released + 1);
	return st_result();
}

static int test_export_put_pending(void)
{
	struct st_fence *s = st_new();
	int released = atomic_read(&st_released);
	struct dma_fence *d;

	if (!s)
		return -ENOMEM;
	d = fence_to_dma_fence(&s->base);
	if (IS_ERR(d)) {
		fence_put(&s->base);
		return PTR_ERR(d);
	}
	dma_fence_put(d);	/* nobody holds the export but its callback */
	fence_signal(&s->base);
	fence_put(&s->base);
	rcu_barrier();
	CHECK_EQ(atomic_read(&st_released), released + 1);
	return st_result();
}

/* A fence with its export inside it, as a driver that publishes all. */
struct st_embed {
	struct st_fence s;	/* first: st_release() frees it */
	struct fence_export e;
};

/* An st_embed with its lock ready, its fence not initialised yet. */
static struct st_embed *st_embed_alloc(void)
{
	struct st_embed *m = kzalloc(sizeof(*m), GFP_KERNEL);

	if (!m)
		return NULL;
	atomic_inc(&st_allocated);
	spin_lock_init(&m->s.lock);
	m->s.enable_ret = true;
	return m;
}

static int test_export_embedded(void)
{
	int released = atomic_read(&st_released);
	struct st_embed *m = st_embed_alloc();
	struct st_dma_cb c = { };
	struct dma_fence *d;
	struct fence *back;

	if (!m)
		return -ENOMEM;
	fence_init(&m->s.base, &st_ops, &m->s.lock, st_context, 9);
	d = fence_export_init(&m->e, &m->s.base);
	CHECK(d == &m->e.base);
	CHECK_EQ(d->seqno, 9);
	back = fence_from_dma_fence(d);
	CHECK(back == &m->s.base);
	if (!IS_ERR(back))
		fence_put(back);
	CHECK_EQ(dma_fence_add_callback(d, &c.cb, st_dma_cb_func), 0);
	fence_set_error(&m->s.base, -EIO);
	fence_signal(&m->s.base);
	CHECK_EQ(atomic_read(&c.runs), 1);
	CHECK_EQ(c.status_seen, -EIO);
	/* The export holds the fence: its storage goes with the last put. */
	fence_put(&m->s.base);
	CHECK_EQ(atomic_read(&st_released), released);
	dma_fence_put(d);
	rcu_barrier();
	CHECK_EQ(atomic_read(&st_released), released + 1);
	return st_result();
}

/*
 * fence_init_exported(): for plain ops the export's callback and reference
 * are taken without the lock; with an enable_signaling op the ordinary
 * path runs, which calls it under the lock. Either way the export signals
 * with the fence and the storage goes with the last of the two puts.
 */
static int test_export_init_exported(void)
{
	const struct fence_ops *ops[] = { &st_plain_ops, &st_ops };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(ops); i++) {
		int released = atomic_read(&st_released);
		struct st_embed *m = st_embed_alloc();
		struct st_dma_cb c = { };
		struct dma_fence *d;
		struct fence *back;

		if (!m)
			return -ENOMEM;
		d = fence_init_exported(&m->s.base, &m->e, ops[i], &m->s.lock,
					st_context, 11);
		CHECK(d == &m->e.base);
		CHECK_EQ(d->seqno, 11);
		CHECK_EQ(d->context, st_context);
		CHECK(d->lock == &m->s.lock);
		/* The caller's reference and the export's. */
		CHECK_EQ(kref_read(&m->s.base.refcount), 2);
		CHECK(test_bit(FENCE_FLAG_ENABLE_SIGNAL_BIT, &m->s.base.flags));
		CHECK_EQ(atomic_read(&m->s.enable_calls), ops[i] == &st_ops);
		if (ops[i] == &st_ops)
			CHECK(m->s.lock_held_in_enable);
		back = fence_from_dma_fence(d);
		CHECK(back == &m->s.base);
		if (!IS_ERR(back))
			fence_put(back);
		CHECK_EQ(dma_fence_add_callback(d, &c.cb, st_dma_cb_func), 0);
		CHECK(!dma_fence_is_signaled(d));
		fence_signal(&m->s.base);
		CHECK_EQ(atomic_read(&c.runs), 1);
		CHECK_EQ(c.status_seen, 1);
		CHECK(ktime_compare(d->timestamp,
				    fence_timestamp(&m->s.base)) == 0);
		fence_put(&m->s.base);
		CHECK_EQ(atomic_read(&st_released), released);
		dma_fence_put(d);
		rcu_barrier();
		CHECK_EQ(atomic_read(&st_released), released + 1);
	}
	return st_result();
}

static struct st_embed *st_embed_new(u64 seqno)
{
	struct st_embed *m = st_embed_alloc();

	if (!m)
		return NULL;
	fence_init(&m->s.base, &st_ops, &m->s.lock, st_context, seqno);
	return m;
}

/* Reads an export's state from a callback that runs just before its own. */
struct st_probe {
	struct fence_cb cb;
	struct dma_fence *export;
	unsigned int count;	/* the export's reference count then */
	bool signaled;		/* whether it had signaled already */
};

static void st_probe_func(struct fence *f, struct fence_cb *cb)
{
	struct st_probe *p = container_of(cb, struct st_probe, cb);

	p->count = kref_read(&p->export->refcount);
	p->signaled = test_bit(DMA_FENCE_FLAG_SIGNALED_BIT,
			       &p->export->flags);
}

/*
 * Two embedded exports of one context in a reservation: adding the second
 * replaces the first while it is pending, and the reservation drops its
 * reference on it. The first export must live until its fence signals it,
 * held by its callback: a probe added to the fence before the export runs
 * just before the export's callback and sees its count then. The test
 * keeps a reference on each of our fences, so the storage itself stays
 * valid whatever the bridge does with its counts.
 */
static int test_export_embedded_replaced(void)
{
	int released = atomic_read(&st_released);
	struct st_embed *m1 = st_embed_new(1);
	struct st_embed *m2 = st_embed_new(2);
	struct st_probe probe = { };
	struct dma_fence *d1, *d2, *f;
	struct dma_resv_iter it;
	struct dma_resv resv;
	int found = 0, ret;

	if (!m1 || !m2) {
		if (m1)
			fence_put(&m1->s.base);
		if (m2)
			fence_put(&m2->s.base);
		return -ENOMEM;
	}
	CHECK_EQ(fence_add_callback(&m1->s.base, &probe.cb, st_probe_func), 0);
	d1 = fence_export_init(&m1->e, &m1->s.base);
	d2 = fence_export_init(&m2->e, &m2->s.base);
	probe.export = d1;
	CHECK_EQ(d1->context, d2->context);

	dma_resv_init(&resv);
	dma_resv_lock(&resv, NULL);
	ret = dma_resv_reserve_fences(&resv, 1);
	if (!ret)
		dma_resv_add_fence(&resv, d1, DMA_RESV_USAGE_WRITE);
	dma_fence_put(d1);	/* the reservation holds it now */
	if (!ret)
		ret = dma_resv_reserve_fences(&resv, 1);
	if (!ret)	/* same context: replaces d1, and puts it */
		dma_resv_add_fence(&resv, d2, DMA_RESV_USAGE_WRITE);
	dma_resv_unlock(&resv);
	dma_fence_put(d2);
	CHECK_EQ(ret, 0);

	dma_resv_iter_begin(&it, &resv, DMA_RESV_USAGE_BOOKKEEP);
	dma_resv_for_each_fence_unlocked(&it, f) {
		found++;
		CHECK(f == d2);
	}
	dma_resv_iter_end(&it);
	CHECK_EQ(found, 1);

	/* Out of the reservation, pending: its callback still holds it. */
	CHECK_EQ(kref_read(&d1->refcount), 1);
	CHECK(!test_bit(DMA_FENCE_FLAG_SIGNALED_BIT, &d1->flags));

	fence_signal(&m1->s.base);
	CHECK_EQ(probe.count, 1);
	CHECK(!probe.signaled);
	/* Signaled, then released by its callback: our fence is ours alone. */
	CHECK(test_bit(DMA_FENCE_FLAG_SIGNALED_BIT, &d1->flags));
	CHECK_EQ(kref_read(&d1->refcount), 0);
	CHECK_EQ(kref_read(&m1->s.base.refcount), 1);
	CHECK(!dma_resv_test_signaled(&resv, DMA_RESV_USAGE_WRITE));

	fence_signal(&m2->s.base);
	CHECK(dma_resv_test_signaled(&resv, DMA_RESV_USAGE_WRITE));
	CHECK_EQ(kref_read(&d2->refcount), 1);	/* the reservation's */
	dma_resv_fini(&resv);
	CHECK_EQ(kref_read(&m2->s.base.refcount), 1);

	fence_put(&m1->s.base);
	fence_put(&m2->s.base);
	rcu_barrier();
	CHECK_EQ(atomic_read(&st_released), released + 2);
	return st_result();
}

/*
 * An import pins fence.ko, and gives the pin back from an RCU callback
 * after its release (the release cannot be the one to drop it: see
 * fence_bridge.c): the count is up by one per live import, and back where
 * it was once it is released and rcu_barrier() has run. An export pins
 * nothing: the fence it stands for keeps its driver, and so fence.ko,
 * loaded. That rmmod cannot then free code that still runs is not tested
 * here: this module pins fence.ko itself.
 */
/*
 * fence.ko, among the modules this one uses: the list only changes while
 * this module is loaded or unloaded, so it is stable in our init.
 */
static struct module *st_fence_module(void)
{
	struct module_use *use;

	list_for_each_entry(use, &THIS_MODULE->target_list, target_list)
		if (!strcmp(use->target->name, "fence"))
			return use->target;
	return NULL;
}

static int test_bridge_module_pin(void)
{
	struct st_fence *s = st_new();
	struct dma_fence *d, *x = st_dma_new();
	struct fence *f;
	struct module *mod;
	int base;

	if (!s || !x) {
		if (s)
			fence_put(&s->base);
		if (x)
			dma_fence_put(x);
		return -ENOMEM;
	}
	mod = st_fence_module();
	CHECK(mod);
	if (!mod)
		goto out;
	base = module_refcount(mod);

	d = fence_to_dma_fence(&s->base);
	CHECK(!IS_ERR(d));
	CHECK_EQ(module_refcount(mod), base);
	f = fence_from_dma_fence(x);
	CHECK(!IS_ERR(f));
	CHECK_EQ(module_refcount(mod), base + 1);

	fence_signal(&s->base);
	dma_fence_signal(x);
	if (!IS_ERR(d))
		dma_fence_put(d);
	if (!IS_ERR(f))
		fence_put(f);
	rcu_barrier();
	CHECK_EQ(module_refcount(mod), base);
out:
	dma_fence_put(x);
	fence_put(&s->base);
	return st_result();
}

static int test_import_signal(void)
{
	struct dma_fence *d = st_dma_new();
	struct st_cb c;
	struct fence *f;

	if (!d)
		return -ENOMEM;
	f = fence_from_dma_fence(d);
	if (IS_ERR(f)) {
		dma_fence_put(d);
		return PTR_ERR(f);
	}
	CHECK(fence_is_foreign(f));
	CHECK(f->lock == d->lock);
	CHECK(!fence_is_signaled(f));
	st_cb_init(&c);
	CHECK_EQ(fence_add_callback(f, &c.cb, st_cb_func), 0);
	dma_fence_signal(d);
	CHECK_EQ(atomic_read(&c.runs), 1);
	CHECK(c.lock_held);
	CHECK(fence_is_signaled(f));
	CHECK(ktime_compare(fence_timestamp(f), d->timestamp) == 0);
	fence_put(f);
	dma_fence_put(d);
	return st_result();
}

static int test_import_signaled_before(void)
{
	struct dma_fence *d = st_dma_new();
	struct fence *f;

	if (!d)
		return -ENOMEM;
	dma_fence_set_error(d, -ECANCELED);
	dma_fence_signal(d);
	f = fence_from_dma_fence(d);
	if (IS_ERR(f)) {
		dma_fence_put(d);
		return PTR_ERR(f);
	}
	CHECK(fence_is_signaled(f));
	CHECK_EQ(fence_get_status(f), -ECANCELED);
	fence_put(f);
	dma_fence_put(d);
	return st_result();
}

static int test_import_error(void)
{
	struct dma_fence *d = st_dma_new();
	struct st_cb c;
	struct fence *f;

	if (!d)
		return -ENOMEM;
	f = fence_from_dma_fence(d);
	if (IS_ERR(f)) {
		dma_fence_put(d);
		return PTR_ERR(f);
	}
	st_cb_init(&c);
	CHECK_EQ(fence_add_callback(f, &c.cb, st_cb_func), 0);
	dma_fence_set_error(d, -EIO);
	dma_fence_signal(d);
	CHECK_EQ(c.status_seen, -EIO);
	CHECK_EQ(fence_get_status(f), -EIO);
	fence_put(f);
	dma_fence_put(d);
	return st_result();
}

struct st_dma_timer {
	struct hrtimer timer;
	struct dma_fence *fence;
};

static enum hrtimer_restart st_dma_timer_fn(struct hrtimer *t)
{
	struct st_dma_timer *st = container_of(t, struct st_dma_timer, timer);

	dma_fence_signal(st->fence);
	return HRTIMER_NORESTART;
}

static int test_import_wait_irq(void)
{
	struct dma_fence *d = st_dma_new();
	struct st_dma_timer t;
	struct fence *f;

	if (!d)
		return -ENOMEM;
	f = fence_from_dma_fence(d);
	if (IS_ERR(f)) {
		dma_fence_put(d);
		return PTR_ERR(f);
	}
	hrtimer_init_on_stack(&t.timer, CLOCK_MONOTONIC, HRTIMER_MODE_REL);
	t.timer.function = st_dma_timer_fn;
	t.fence = d;
	hrtimer_start(&t.timer, ns_to_ktime(2000000), HRTIMER_MODE_REL);
	CHECK_EQ(fence_wait(f, false), 0);
	hrtimer_cancel(&t.timer);
	destroy_hrtimer_on_stack(&t.timer);
	CHECK(dma_fence_is_signaled(d));
	fence_put(f);
	dma_fence_put(d);
	return st_result();
}

static int test_import_roundtrip(void)
{
	struct dma_fence *d = st_dma_new(), *back;
	struct fence *f;

	if (!d)
		return -ENOMEM;
	f = fence_from_dma_fence(d);
	if (IS_ERR(f)) {
		dma_fence_put(d);
		return PTR_ERR(f);
	}
	back = fence_to_dma_fence(f);
	CHECK(back == d);
	if (!IS_ERR(back))
		dma_fence_put(back);
	dma_fence_signal(d);
	fence_put(f);
	dma_fence_put(d);
	return st_result();
}

static int test_import_put_pending(void)
{
	int released = atomic_read(&st_dma_released);
	struct dma_fence *d = st_dma_new();
	struct fence *f;

	if (!d)
		return -ENOMEM;
	f = fence_from_dma_fence(d);
	if (IS_ERR(f)) {
		dma_fence_put(d);
		return PTR_ERR(f);
	}
	fence_put(f);		/* only the import's callback holds it now */
	dma_fence_signal(d);
	dma_fence_put(d);
	rcu_barrier();
	/* The import let go of the dma_fence: it was freed. */
	CHECK_EQ(atomic_read(&st_dma_released), released + 1);
	return st_result();
}

/* ---- deadlines across the bridge ------------------------------------- */

#if CF_HAS_DMA_FENCE_DEADLINE
/* A foreign dma_fence whose driver records the deadlines it is given. */
struct st_dma_deadline {
	struct st_dma d;
	atomic_t calls;
	ktime_t seen;
	bool lock_held;
};

static void st_dma_set_deadline(struct dma_fence *f, ktime_t deadline)
{
	struct st_dma_deadline *dd = container_of(f, struct st_dma_deadline,
						  d.base);

	dd->seen = deadline;
	dd->lock_held = st_lock_held(f->lock);
	atomic_inc(&dd->calls);
}

static const struct dma_fence_ops st_dma_deadline_ops = {
	.get_driver_name = st_dma_name,
	.get_timeline_name = st_dma_name,
	.release = st_dma_release,
	.set_deadline = st_dma_set_deadline,
};

/* dma_fence_set_deadline() on our export reaches our fence's hook. */
static int test_deadline_export(void)
{
	struct st_fence *s = st_new_deadline();
	ktime_t t = ktime_add_ms(ktime_get(), 16);
	struct dma_fence *d;

	if (!s)
		return -ENOMEM;
	d = fence_to_dma_fence(&s->base);
	if (IS_ERR(d)) {
		fence_put(&s->base);
		return PTR_ERR(d);
	}
	dma_fence_set_deadline(d, t);
	CHECK_EQ(atomic_read(&s->deadline_calls), 1);
	CHECK(s->deadline_fence == &s->base);
	CHECK_EQ(s->deadline_seen, t);
	/* The lock the export shares with our fence was not held. */
	CHECK(!s->lock_held_in_deadline);
	/* Forwarded again; our hook keeps the earlier one. */
	dma_fence_set_deadline(d, ktime_add_ms(t, 8));
	CHECK_EQ(atomic_read(&s->deadline_calls), 2);
	CHECK_EQ(atomic_read(&s->deadline_moves), 1);
	CHECK_EQ(atomic64_read(&s->earliest), t);
	fence_signal(&s->base);
	CHECK(dma_fence_is_signaled(d));
	dma_fence_set_deadline(d, ktime_sub_ms(t, 8));
	CHECK_EQ(atomic_read(&s->deadline_calls), 2);
	dma_fence_put(d);
	fence_put(&s->base);
	return st_result();
}

/* fence_set_deadline() on our import reaches the foreign dma_fence. */
static int test_deadline_import(void)
{
	struct st_dma_deadline *dd = kzalloc(sizeof(*dd), GFP_KERNEL);
	ktime_t t = ktime_add_ms(ktime_get(), 16);
	struct dma_fence *d;
	struct fence *f;

	if (!dd)
		return -ENOMEM;
	spin_lock_init(&dd->d.lock);
	atomic_set(&dd->calls, 0);
	d = &dd->d.base;
	dma_fence_init(d, &st_dma_deadline_ops, &dd->d.lock, st_context, 1);
	f = fence_from_dma_fence(d);
	if (IS_ERR(f)) {
		dma_fence_put(d);
		return PTR_ERR(f);
	}
	CHECK(fence_is_foreign(f));
	fence_set_deadline(f, t);
	CHECK_EQ(atomic_read(&dd->calls), 1);
	CHECK_EQ(dd->seen, t);
	/* The lock the import shares with the dma_fence was not held. */
	CHECK(!dd->lock_held);
	/* Later ones go through too: the foreign driver keeps the earliest. */
	fence_set_deadline(f, ktime_add_ms(t, 8));
	CHECK_EQ(atomic_read(&dd->calls), 2);
	CHECK_EQ(dd->seen, ktime_add_ms(t, 8));
	dma_fence_signal(d);
	CHECK(fence_is_signaled(f));
	fence_set_deadline(f, ktime_sub_ms(t, 8));
	CHECK_EQ(atomic_read(&dd->calls), 2);
	fence_put(f);
	dma_fence_put(d);
	return st_result();
}
#else
static int test_deadline_export(void)
{
	return st_skip("dma_fence has no deadlines before Linux 6.4");
}

static int test_deadline_import(void)
{
	return st_skip("dma_fence has no deadlines before Linux 6.4");
}
#endif

/* signal ours vs export + dma_fence callback. */
static void race_export_add(struct race *r)
{
	struct dma_fence *d = fence_to_dma_fence(&r->s->base);

	if (IS_ERR(d)) {
		r->add_ret = PTR_ERR(d);
		return;
	}
	r->add_ret = dma_fence_add_callback(d, &r->dcb.cb, st_dma_cb_func);
	r->dma = d;
}

static int race_prepare_export(struct race *r)
{
	memset(&r->dcb, 0, sizeof(r->dcb));
	r->dma = NULL;
	return race_prepare_fence(r);
}

static int race_verify_export(struct race *r)
{
	int runs = atomic_read(&r->dcb.runs);
	bool sig = r->dma && dma_fence_is_signaled(r->dma);
	int ret = 0;

	if (!sig || !((r->add_ret == 0 && runs == 1) ||
		      (r->add_ret == -ENOENT && runs == 0))) {
		pr_info("    # export signaled %d, add %d, ran %d\n", sig,
			r->add_ret, runs);
		ret = -EINVAL;
	}
	if (r->dma)
		dma_fence_put(r->dma);
	fence_put(&r->s->base);
	return ret;
}

static int test_race_signal_export(void)
{
	struct race r = {
		.prepare = race_prepare_export,
		.act_a = race_signal,
		.act_b = race_export_add,
		.verify = race_verify_export,
	};

	return race_run(&r);
}

/* signal a foreign dma_fence vs import + our callback. */
static int race_prepare_import(struct race *r)
{
	r->dma = st_dma_new();
	if (!r->dma)
		return -ENOMEM;
	st_cb_init(&r->c);
	r->imported = NULL;
	r->add_ret = 1;
	return 0;
}

static void race_dma_signal(struct race *r)
{
	dma_fence_signal(r->dma);
}

static void race_import_add(struct race *r)
{
	struct fence *f = fence_from_dma_fence(r->dma);

	if (IS_ERR(f)) {
		r->add_ret = PTR_ERR(f);
		return;
	}
	r->add_ret = fence_add_callback(f, &r->c.cb, st_cb_func);
	r->imported = f;
}

static int race_verify_import(struct race *r)
{
	int runs = atomic_read(&r->c.runs);
	bool sig = r->imported && fence_is_signaled(r->imported);
	int ret = 0;

	if (!sig || !((r->add_ret == 0 && runs == 1) ||
		      (r->add_ret == -ENOENT && runs == 0))) {
		pr_info("    # import signaled %d, add %d, ran %d\n", sig,
			r->add_ret, runs);
		ret = -EINVAL;
	}
	if (r->imported)
		fence_put(r->imported);
	dma_fence_put(r->dma);
	return ret;
}

static int test_race_signal_import(void)
{
	struct race r = {
		.prepare = race_prepare_import,
		.act_a = race_dma_signal,
		.act_b = race_import_add,
		.verify = race_verify_import,
	};

	return race_run(&r);
}

/*
 * Signalling sections nest, and each end takes the cookie of its begin.
 * Lockdep itself is checked on a debug kernel; here only the cookies, and
 * that begin/end in every order of use leave no warning in the log (the
 * harness fails on one). Without lockdep only the dma_fence part remains,
 * which reports every section as nested (its stub).
 */
static int test_signalling_nesting(void)
{
	unsigned int outer, inner, atomic_cookie;
	unsigned long flags;
	spinlock_t lock;	/* only held, to make the section atomic */

	spin_lock_init(&lock);
	outer = fence_begin_signalling();
	inner = fence_begin_signalling();
	/* A nested section releases nothing at its end: its cookie says so. */
	CHECK(inner != 0);
	if (IS_ENABLED(CONFIG_LOCKDEP))
		CHECK_EQ(outer, 0);	/* the first one takes both maps */
	else
		CHECK_EQ(outer, inner);
	fence_end_signalling(inner);
	/* The outer section is still open: a new begin nests in it again. */
	CHECK_EQ(fence_begin_signalling(), inner);
	fence_end_signalling(inner);
	fence_end_signalling(outer);

	/* Closed: a new section is an outermost one again. */
	inner = fence_begin_signalling();
	CHECK_EQ(inner, outer);
	fence_end_signalling(inner);

	/* Where the caller cannot sleep the section is not taken. */
	spin_lock_irqsave(&lock, flags);
	atomic_cookie = fence_begin_signalling();
	fence_end_signalling(atomic_cookie);
	spin_unlock_irqrestore(&lock, flags);
	CHECK(atomic_cookie != 0);
	if (IS_ENABLED(CONFIG_LOCKDEP))
		CHECK(atomic_cookie != outer);

	/* Outside any section a wait may be announced. */
	fence_might_wait();
	return st_result();
}

/* Runs last: every fence the cases made has been released, once. */
static int test_no_leaks(void)
{
	rcu_barrier();
	CHECK_EQ(atomic_read(&st_allocated), atomic_read(&st_released));
	return st_result();
}

/* ---- runner ---------------------------------------------------------- */

struct st_case {
	const char *name;
	int (*fn)(void);
};

#define CASE(n) { #n, test_##n }

static const struct st_case cases[] = {
	CASE(init_state),
	CASE(size),
	CASE(context_alloc),
	CASE(is_later),
	CASE(signal),
	CASE(signal_twice),
	CASE(signal_locked),
	CASE(signal_timestamp),
	CASE(callback_once),
	CASE(callback_after_signal),
	CASE(callback_order),
	CASE(callback_context),
	CASE(callback_bad_args),
	CASE(callback_hardirq),
	CASE(remove_pending),
	CASE(remove_after_signal),
	CASE(remove_middle),
	CASE(callback_puts_ref),
	CASE(add_from_callback),
	CASE(enable_lazy),
	CASE(enable_false),
	CASE(enable_sw_signaling),
	CASE(enable_not_after_signal),
	CASE(signaled_op),
	CASE(set_error),
	CASE(set_error_after_signal),
	CASE(set_error_bad_value),
	CASE(get_put),
	CASE(rcu_lifetime),
	CASE(get_rcu_live),
	CASE(put_unsignaled_with_callbacks),
	CASE(wait_signaled),
	CASE(wait_timeout_expires),
	CASE(wait_negative),
	CASE(wait_woken_by_irq),
	CASE(wait_interrupted),
	CASE(wait_uninterruptible),
	CASE(wait_ops_override),
	CASE(wait_any),
	CASE(wait_any_irq),
	CASE(wait_any_bad_args),
	CASE(deadline_earliest_wins),
	CASE(deadline_later_ignored),
	CASE(deadline_keep_earliest),
	CASE(deadline_after_signal),
	CASE(deadline_hook_args),
	CASE(deadline_from_callback),
	CASE(deadline_hardirq),
	CASE(race_signal_add),
	CASE(race_signal_remove),
	CASE(race_signal_wait),
	CASE(race_signal_wait_intr),
	CASE(race_signal_wait_timeout),
	CASE(race_put_get_rcu),
	CASE(export_signal),
	CASE(export_signaled_before),
	CASE(export_error),
	CASE(export_wait_irq),
	CASE(export_resv_roundtrip),
	CASE(export_sync_file_roundtrip),
	CASE(export_put_pending),
	CASE(export_embedded),
	CASE(export_init_exported),
	CASE(export_embedded_replaced),
	CASE(bridge_module_pin),
	CASE(import_signal),
	CASE(import_signaled_before),
	CASE(import_error),
	CASE(import_wait_irq),
	CASE(import_roundtrip),
	CASE(import_put_pending),
	CASE(deadline_export),
	CASE(deadline_import),
	CASE(race_signal_export),
	CASE(race_signal_import),
	CASE(signalling_nesting),
	CASE(no_leaks),
};

static int __init fence_selftests_init(void)
{
	int i, failed = 0;

	st_context = fence_context_alloc(1);
	pr_info("KTAP version 1\n");
	pr_info("1..%zu\n", ARRAY_SIZE(cases));
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		int ret;

		st_failed = 0;
		ret = cases[i].fn();

		if (ret == 1) {
			pr_info("ok %d %s # SKIP %s\n", i + 1, cases[i].name,
				st_skip_why);
		} else if (ret) {
			pr_info("not ok %d %s\n", i + 1, cases[i].name);
			failed++;
		} else {
			pr_info("ok %d %s\n", i + 1, cases[i].name);
		}
	}
	pr_info("# fence_selftests: %d failed, %d fences made and released\n",
		failed, atomic_read(&st_released));
	return 0;
}

static void __exit fence_selftests_exit(void)
{
	rcu_barrier();
}

module_init(fence_selftests_init);
module_exit(fence_selftests_exit);
MODULE_LICENSE("GPL");
MODULE_VERSION(CROSSFENCE_VERSION);
MODULE_DESCRIPTION("crossfence fence core selftests (KTAP on load)");
MODULE_AUTHOR("crossfence developers");
