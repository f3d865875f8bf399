// SPDX-License-Identifier: GPL-2.0
/*
 * fence_bench: our fence core timed against the kernel's struct dma_fence.
 *
 * Loading the module measures every row on both implementations in the
 * same boot: "ours" (struct fence, fence_*()) and "baseline" (struct
 * dma_fence, dma_fence_*()). It then prints a table and one line per row in
 * the form
 *
 *   fence_bench: row {"name":...,"unit":...,"ours":...,"baseline":...,"ratio":...}
 *
 * for scripts/bench to collect, and stays loaded (rmmod it afterwards).
 *
 * Method. A row times short loops of identical operations, each loop as a
 * whole with ktime_get_ns(). After one untimed warm-up of each side, the
 * two sides alternate, ours then baseline, loop after loop. A measurement
 * of a side is the median time of BENCH_CHUNKS of its loops; it is
 * repeated BENCH_REPEATS times and the side's figure is the median of its
 * repeats, divided by the operations of a loop. A drift of the machine
 * (the host's load, under QEMU) hits both sides alike, and a burst only
 * spoils a few loops, which the medians drop.
 *
 * Both sides are set up the same way: one spinlock per side shared by all
 * its fences (as on a driver's timeline), no enable_signaling, signaled nor
 * wait op, and identical allocations where a row allocates. Everything runs
 * in a kthread bound to CPU 0, which is also the signaling side of the
 * cross-CPU row; nothing is disabled globally.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/completion.h>
#include <linux/cpumask.h>
#include <linux/delay.h>
#include <linux/dma-fence.h>
#include <linux/err.h>
#include <linux/fence.h>
#include <linux/kernel.h>
#include <linux/kthread.h>
#include <linux/ktime.h>
#include <linux/math64.h>
#include <linux/module.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <crossfence/version.h>

static unsigned int iters = 4000;
module_param(iters, uint, 0444);
MODULE_PARM_DESC(iters,
		 "Iterations of a timed loop, scaled per row (default 4000)");

static unsigned int wake_rounds = 100;
module_param(wake_rounds, uint, 0444);
MODULE_PARM_DESC(wake_rounds,
		 "Wake-ups per side and repeat in the cross-CPU row (default 100)");

static unsigned int wake_idle_us = 200;
module_param(wake_idle_us, uint, 0444);
MODULE_PARM_DESC(wake_idle_us,
		 "Time the waiter's CPU idles before each signal, in us (default 200)");

#define BENCH_REPEATS		5
#define BENCH_CHUNKS		16
#define BENCH_MAX_CBS		64
#define BENCH_MAX_ROWS		16
/* Fences handed out as dma_fences per fence in the export row. */
#define BENCH_EXPORT_BATCH	16
/* The CPUs of the cross-CPU row: the signaler, and the waiter. */
#define BENCH_CPU_SIGNAL	0
#define BENCH_CPU_WAIT		1

/*
 * Both sides allocate this many bytes, so that both are served by the same
 * kmalloc cache.
 */
#define BENCH_ALLOC_SIZE \
	(sizeof(struct fence) > sizeof(struct dma_fence) ? \
	 sizeof(struct fence) : sizeof(struct dma_fence))

/* ---- ours: struct fence ---------------------------------------------- */

static DEFINE_SPINLOCK(ours_lock);	/* the lock of all our fences */
static u64 ours_context;
static u64 ours_seqno;

static const char *ours_driver_name(struct fence *fence)
{
	return KBUILD_MODNAME;
}

static const char *ours_timeline_name(struct fence *fence)
{
	return "ours";
}

/* kmalloc()ed fences, freed by the core's default release, fence_free(). */
static const struct fence_ops ours_heap_ops = {
	.get_driver_name = ours_driver_name,
	.get_timeline_name = ours_timeline_name,
};

/* A fence in static storage, initialised again for each use. */
static void ours_static_release(struct fence *fence)
{
}

static const struct fence_ops ours_static_ops = {
	.get_driver_name = ours_driver_name,
	.get_timeline_name = ours_timeline_name,
	.release = ours_static_release,
};

static struct fence ours_fence;
static struct fence_cb ours_cbs[BENCH_MAX_CBS];

static void ours_fence_init(void)
{
	fence_init(&ours_fence, &ours_static_ops, &ours_lock, ours_context,
		   ++ours_seqno);
}

/* ---- baseline: struct dma_fence -------------------------------------- */

static DEFINE_SPINLOCK(base_lock);	/* the lock of all baseline fences */
static u64 base_context;
static u64 base_seqno;

static const char *base_driver_name(struct dma_fence *fence)
{
	return KBUILD_MODNAME;
}

static const char *base_timeline_name(struct dma_fence *fence)
{
	return "baseline";
}

static void base_free_rcu(struct rcu_head *rcu)
{
	kfree(container_of(rcu, struct dma_fence, rcu));
}

/*
 * kmalloc()ed dma_fences are freed the way fence_free() frees ours: kfree()
 * from a call_rcu() callback. The stock default, dma_fence_free(), uses
 * kfree_rcu() instead, whose batching would make the row compare two ways
 * of deferring a kfree() rather than the two cores.
 */
static void base_heap_release(struct dma_fence *fence)
{
	call_rcu(&fence->rcu, base_free_rcu);
}

static const struct dma_fence_ops base_heap_ops = {
	.get_driver_name = base_driver_name,
	.get_timeline_name = base_timeline_name,
	.release = base_heap_release,
};

static void base_static_release(struct dma_fence *fence)
{
}

static const struct dma_fence_ops base_static_ops = {
	.get_driver_name = base_driver_name,
	.get_timeline_name = base_timeline_name,
	.release = base_static_release,
};

static struct dma_fence base_fence;
static struct dma_fence_cb base_cbs[BENCH_MAX_CBS];

static void base_fence_init(void)
{
	dma_fence_init(&base_fence, &base_static_ops, &base_lock, base_context,
		       ++base_seqno);
}

/* ---- the timed loops ------------------------------------------------- */

/*
 * Each loop runs its operation @n times and stores the elapsed time in
 * @ns; @arg is the row's parameter. Checks of the results are made outside
 * the timed part where possible, and fail the row with an error.
 */
typedef int (*bench_loop_t)(unsigned int n, unsigned int arg, u64 *ns);

/* Callback runs, counted under the fence lock of either side. */
static unsigned long bench_cb_runs;

/* init_signal_put: kmalloc, init, signal, last put (RCU-deferred kfree). */
static int ours_init_signal_put(unsigned int n, unsigned int arg, u64 *ns)
{
	struct fence *fence;
	unsigned int i;
	u64 t0;

	t0 = ktime_get_ns();
	for (i = 0; i < n; i++) {
		fence = kmalloc(BENCH_ALLOC_SIZE, GFP_KERNEL);
		if (!fence)
			return -ENOMEM;
		fence_init(fence, &ours_heap_ops, &ours_lock, ours_context,
			   ++ours_seqno);
		fence_signal(fence);
		fence_put(fence);
	}
	*ns = ktime_get_ns() - t0;
	return 0;
}

static int base_init_signal_put(unsigned int n, unsigned int arg, u64 *ns)
{
	struct dma_fence *fence;
	unsigned int i;
	u64 t0;

	t0 = ktime_get_ns();
	for (i = 0; i < n; i++) {
		fence = kmalloc(BENCH_ALLOC_SIZE, GFP_KERNEL);
		if (!fence)
			return -ENOMEM;
		dma_fence_init(fence, &base_heap_ops, &base_lock, base_context,
			       ++base_seqno);
		dma_fence_signal(fence);
		dma_fence_put(fence);
	}
	*ns = ktime_get_ns() - t0;
	return 0;
}

/*
 * cbN_signal: init a fence (static, nothing allocated), add @arg callbacks,
 * signal it (which runs them), drop it.
 */
static void ours_count_cb(struct fence *fence, struct fence_cb *cb)
{
	bench_cb_runs++;
}

static int ours_cbs_signal(unsigned int n, unsigned int arg, u64 *ns)
{
	unsigned long runs = bench_cb_runs;
	unsigned int i, k;
	int err = 0;
	u64 t0;

	t0 = ktime_get_ns();
	for (i = 0; i < n; i++) {
		ours_fence_init();
		for (k = 0; k < arg; k++)
			if (fence_add_callback(&ours_fence, &ours_cbs[k],
					       ours_count_cb))
				err = -EIO;
		fence_signal(&ours_fence);
		fence_put(&ours_fence);
	}
	*ns = ktime_get_ns() - t0;
	if (bench_cb_runs - runs != (unsigned long)n * arg)
		err = -EIO;
	return err;
}

static void base_count_cb(struct dma_fence *fence, struct dma_fence_cb *cb)
{
	bench_cb_runs++;
}

static int base_cbs_signal(unsigned int n, unsigned int arg, u64 *ns)
{
	unsigned long runs = bench_cb_runs;
	unsigned int i, k;
	int err = 0;
	u64 t0;

	t0 = ktime_get_ns();
	for (i = 0; i < n; i++) {
		base_fence_init();
		for (k = 0; k < arg; k++)
			if (dma_fence_add_callback(&base_fence, &base_cbs[k],
						   base_count_cb))
				err = -EIO;
		dma_fence_signal(&base_fence);
		dma_fence_put(&base_fence);
	}
	*ns = ktime_get_ns() - t0;
	if (bench_cb_runs - runs != (unsigned long)n * arg)
		err = -EIO;
	return err;
}

/* is_signaled_*: test a fence that is signaled (@arg 1) or not (@arg 0). */
static int ours_is_signaled(unsigned int n, unsigned int arg, u64 *ns)
{
	unsigned int i, hits = 0;
	u64 t0;

	ours_fence_init();
	if (arg)
		fence_signal(&ours_fence);
	t0 = ktime_get_ns();
	for (i = 0; i < n; i++)
		hits += fence_is_signaled(&ours_fence);
	*ns = ktime_get_ns() - t0;
	fence_signal(&ours_fence);
	fence_put(&ours_fence);
	return hits == (arg ? n : 0) ? 0 : -EIO;
}

static int base_is_signaled(unsigned int n, unsigned int arg, u64 *ns)
{
	unsigned int i, hits = 0;
	u64 t0;

	base_fence_init();
	if (arg)
		dma_fence_signal(&base_fence);
	t0 = ktime_get_ns();
	for (i = 0; i < n; i++)
		hits += dma_fence_is_signaled(&base_fence);
	*ns = ktime_get_ns() - t0;
	dma_fence_signal(&base_fence);
	dma_fence_put(&base_fence);
	return hits == (arg ? n : 0) ? 0 : -EIO;
}

/* wait_signaled_*: wait on a signaled fence with a timeout of @arg jiffies. */
static int ours_wait_signaled(unsigned int n, unsigned int arg, u64 *ns)
{
	unsigned int i, bad = 0;
	u64 t0;

	ours_fence_init();
	fence_signal(&ours_fence);
	t0 = ktime_get_ns();
	for (i = 0; i < n; i++)
		bad += fence_wait_timeout(&ours_fence, false, arg) <= 0;
	*ns = ktime_get_ns() - t0;
	fence_put(&ours_fence);
	return bad ? -EIO : 0;
}

static int base_wait_signaled(unsigned int n, unsigned int arg, u64 *ns)
{
	unsigned int i, bad = 0;
	u64 t0;

	base_fence_init();
	dma_fence_signal(&base_fence);
	t0 = ktime_get_ns();
	for (i = 0; i < n; i++)
		bad += dma_fence_wait_timeout(&base_fence, false, arg) <= 0;
	*ns = ktime_get_ns() - t0;
	dma_fence_put(&base_fence);
	return bad ? -EIO : 0;
}

/*
 * export_roundtrip: one operation hands one of our pending fences to the
 * dma_fence world and takes it back: fence_to_dma_fence() (a new export:
 * allocated, initialised, hooked on our fence by a callback),
 * fence_from_dma_fence() on that export (which gives back our own fence,
 * with a reference), then both puts. The export lives on until our fence
 * signals, so its full cost is counted by signaling the fence inside the
 * timed loop: every @arg operations a fresh fence is initialised, and
 * signaled (running the exports' callbacks, which release them) once @arg
 * exports hang on it.
 *
 * The baseline is what the same hand-over costs a driver whose fences are
 * dma_fences already: the consumer takes a reference (dma_fence_get()) and
 * drops it (dma_fence_put()); no object is made. It runs the same batches,
 * with the same amortised init, signal and put of one fence per @arg
 * operations. The ratio is therefore the price of the bridge, not of two
 * implementations of the same thing.
 */
static int ours_roundtrip_one(void)
{
	struct dma_fence *dma;
	struct fence *back;
	int err = 0;

	dma = fence_to_dma_fence(&ours_fence);
	if (IS_ERR(dma))
		return PTR_ERR(dma);
	back = fence_from_dma_fence(dma);
	if (IS_ERR(back)) {
		err = PTR_ERR(back);
	} else {
		if (back != &ours_fence)
			err = -EIO;
		fence_put(back);
	}
	dma_fence_put(dma);
	return err;
}

static int ours_export_roundtrip(unsigned int n, unsigned int arg, u64 *ns)
{
	unsigned int done = 0, k;
	int err = 0;
	u64 t0;

	t0 = ktime_get_ns();
	while (done < n && !err) {
		ours_fence_init();
		for (k = 0; k < arg && done < n && !err; k++, done++)
			err = ours_roundtrip_one();
		fence_signal(&ours_fence);
		fence_put(&ours_fence);
	}
	*ns = ktime_get_ns() - t0;
	return err;
}

static int base_export_roundtrip(unsigned int n, unsigned int arg, u64 *ns)
{
	unsigned int done = 0, k;
	u64 t0;

	t0 = ktime_get_ns();
	while (done < n) {
		base_fence_init();
		for (k = 0; k < arg && done < n; k++, done++)
			dma_fence_put(dma_fence_get(&base_fence));
		dma_fence_signal(&base_fence);
		dma_fence_put(&base_fence);
	}
	*ns = ktime_get_ns() - t0;
	return 0;
}

/*
 * export_vs_proxy: the same round trip as export_roundtrip for ours, timed
 * against what a driver would otherwise write to hand a fence of one kind
 * out as a dma_fence: a proxy dma_fence, signaled by a callback on the
 * original. Here the original is a dma_fence too (the baseline side has
 * no fence of ours), and each proxy is made the way the bridge makes an
 * export, so that the row compares the two mechanisms: kmalloc() of the
 * same size, a reference on the original (its names come from it),
 * dma_fence_init() sharing the original's lock, context and seqno, a
 * reference for the callback, dma_fence_add_callback() on the original;
 * the consumer then takes the original back from the proxy (an ops test,
 * a get and a put), and drops the proxy. In the original's signal the
 * callback copies the error and timestamp into the proxy, signals it
 * under the shared lock and drops its reference; the last put releases
 * the proxy (a put of the original, call_rcu() and kfree(), as an
 * allocated export). Both sides batch @arg operations per original, whose
 * init, signal and put are counted, as in export_roundtrip.
 */
struct base_proxy {
	struct dma_fence base;		/* first: freed by base_free_rcu() */
	struct dma_fence *orig;		/* a reference */
	struct dma_fence_cb cb;
};

static const struct dma_fence_ops base_proxy_ops;

static const char *base_proxy_driver_name(struct dma_fence *fence)
{
	struct dma_fence *orig = container_of(fence, struct base_proxy,
					      base)->orig;

	return orig->ops->get_driver_name(orig);
}

static const char *base_proxy_timeline_name(struct dma_fence *fence)
{
	struct dma_fence *orig = container_of(fence, struct base_proxy,
					      base)->orig;

	return orig->ops->get_timeline_name(orig);
}

static void base_proxy_release(struct dma_fence *fence)
{
	dma_fence_put(container_of(fence, struct base_proxy, base)->orig);
	call_rcu(&fence->rcu, base_free_rcu);
}

static const struct dma_fence_ops base_proxy_ops = {
	.use_64bit_seqno = true,
	.get_driver_name = base_proxy_driver_name,
	.get_timeline_name = base_proxy_timeline_name,
	.release = base_proxy_release,
};

static void base_proxy_signal_locked(struct base_proxy *p)
{
	if (p->orig->error)
		dma_fence_set_error(&p->base, p->orig->error);
	dma_fence_signal_timestamp_locked(&p->base, p->orig->timestamp);
}

static void base_proxy_cb(struct dma_fence *orig, struct dma_fence_cb *cb)
{
	struct base_proxy *p = container_of(cb, struct base_proxy, cb);

	base_proxy_signal_locked(p);
	dma_fence_put(&p->base);
}

static int base_proxy_one(struct dma_fence *orig)
{
	struct dma_fence *back;
	struct base_proxy *p;
	unsigned long flags;
	int err = 0;

	/* The same kmalloc cache as an export. */
	BUILD_BUG_ON(sizeof(*p) != sizeof(struct fence_export));
	p = kmalloc(sizeof(*p), GFP_KERNEL);
	if (!p)
		return -ENOMEM;
	p->orig = dma_fence_get(orig);
	dma_fence_init(&p->base, &base_proxy_ops, orig->lock, orig->context,
		       orig->seqno);
	dma_fence_get(&p->base);	/* the callback's */
	if (dma_fence_add_callback(orig, &p->cb, base_proxy_cb)) {
		spin_lock_irqsave(orig->lock, flags);
		base_proxy_signal_locked(p);
		spin_unlock_irqrestore(orig->lock, flags);
		dma_fence_put(&p->base);
	}

	/* The consumer's way back to the original. */
	back = p->base.ops == &base_proxy_ops ? dma_fence_get(p->orig) : NULL;
	if (back != orig)
		err = -EIO;
	dma_fence_put(back);
	dma_fence_put(&p->base);
	return err;
}

static int base_export_proxy(unsigned int n, unsigned int arg, u64 *ns)
{
	unsigned int done = 0, k;
	int err = 0;
	u64 t0;

	t0 = ktime_get_ns();
	while (done < n && !err) {
		base_fence_init();
		for (k = 0; k < arg && done < n && !err; k++, done++)
			err = base_proxy_one(&base_fence);
		dma_fence_signal(&base_fence);
		dma_fence_put(&base_fence);
	}
	*ns = ktime_get_ns() - t0;
	return err;
}

/* ---- rows ------------------------------------------------------------ */

/*
 * A row: a measurement of a side runs iters * @mul / @div operations, in
 * BENCH_CHUNKS loops.
 */
struct bench_row {
	const char *name;
	bench_loop_t ours;
	bench_loop_t base;
	unsigned int arg;
	unsigned int mul;
	unsigned int div;
	/* Run after the warm-up and after each repeat, untimed; may sleep. */
	void (*settle)(void);
};

/*
 * For the rows whose fences are freed after a grace period: every repeat
 * starts with no RCU callback pending. Within a repeat the callbacks run
 * whenever RCU gets to them, in a few loops of either side alike.
 */
static void bench_rcu_settle(void)
{
	rcu_barrier();
}

/*
 * The iteration counts make a measurement of a side (its BENCH_CHUNKS
 * loops) last around 10 ms under QEMU TCG, each loop well under 1 ms.
 */
static const struct bench_row bench_rows[] = {
	{ "init_signal_put", ours_init_signal_put, base_init_signal_put,
	  0, 3, 1, bench_rcu_settle },
	{ "cb1_signal", ours_cbs_signal, base_cbs_signal, 1, 5, 1, NULL },
	{ "cb8_signal", ours_cbs_signal, base_cbs_signal, 8, 3, 2, NULL },
	{ "cb64_signal", ours_cbs_signal, base_cbs_signal, 64, 1, 4, NULL },
	{ "is_signaled_signaled", ours_is_signaled, base_is_signaled,
	  1, 1024, 1, NULL },
	{ "is_signaled_unsignaled", ours_is_signaled, base_is_signaled,
	  0, 1024, 1, NULL },
	{ "wait_signaled_timeout0", ours_wait_signaled, base_wait_signaled,
	  0, 16, 1, NULL },
	{ "wait_signaled_timeout1s", ours_wait_signaled, base_wait_signaled,
	  HZ, 16, 1, NULL },
	{ "export_roundtrip", ours_export_roundtrip, base_export_roundtrip,
	  BENCH_EXPORT_BATCH, 2, 1, NULL },
	{ "export_vs_proxy", ours_export_roundtrip, base_export_proxy,
	  BENCH_EXPORT_BATCH, 2, 1, bench_rcu_settle },
};

/*
 * A result: both figures in thousandths of the unit (picoseconds for ns),
 * so that one decimal can be printed without floating point; @whole ones
 * are printed without it.
 */
struct bench_result {
	const char *name;
	const char *unit;
	u64 ours;
	u64 base;
	bool whole;
};

static struct bench_result bench_results[BENCH_MAX_ROWS];
static unsigned int bench_nresults;

static void bench_add(const char *name, const char *unit, u64 ours, u64 base,
		      bool whole)
{
	struct bench_result *r;

	if (WARN_ON(bench_nresults >= ARRAY_SIZE(bench_results)))
		return;
	r = &bench_results[bench_nresults++];
	r->name = name;
	r->unit = unit;
	r->ours = ours;
	r->base = base;
	r->whole = whole;
}

static int bench_cmp_u64(const void *a, const void *b)
{
	u64 x = *(const u64 *)a;
	u64 y = *(const u64 *)b;

	if (x < y)
		return -1;
	return x > y;
}

/* The @pct-th percentile of @v, which it sorts in place. */
static u64 bench_percentile(u64 *v, size_t n, unsigned int pct)
{
	sort(v, n, sizeof(*v), bench_cmp_u64, NULL);
	return v[min_t(size_t, n * pct / 100, n - 1)];
}

/* Sorts @v in place. */
static u64 bench_median(u64 *v, size_t n)
{
	sort(v, n, sizeof(*v), bench_cmp_u64, NULL);
	if (n % 2)
		return v[n / 2];
	return (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int bench_loop(bench_loop_t loop, const struct bench_row *row,
		      unsigned int n, u64 *ns)
{
	int err = loop(n, row->arg, ns);

	cond_resched();
	return err;
}

static void bench_settle(const struct bench_row *row)
{
	if (row->settle)
		row->settle();
}

/*
 * A measurement of a side is made of BENCH_CHUNKS short loops, alternating
 * with the other side's, and is the median of their times: a burst of load
 * on the host (a vCPU thread preempted for a host time slice) only spoils
 * the few chunks it lands on, of either side, and the median drops them.
 * Which side goes first alternates from chunk to chunk, so that neither
 * always runs in the state (caches, slab, RCU backlog) the other leaves.
 */
static int bench_run_row(const struct bench_row *row)
{
	u64 ours[BENCH_REPEATS], base[BENCH_REPEATS];
	u64 ours_chunk[BENCH_CHUNKS], base_chunk[BENCH_CHUNKS];
	unsigned int chunk, r, c;
	int err;

	chunk = clamp_t(u64, div_u64((u64)iters * row->mul,
				     row->div * BENCH_CHUNKS), 1, UINT_MAX);

	/* Warm-up of the caches, the slab and the branch predictors. */
	err = bench_loop(row->ours, row, chunk, &ours_chunk[0]);
	if (!err)
		err = bench_loop(row->base, row, chunk, &base_chunk[0]);
	bench_settle(row);

	for (r = 0; r < BENCH_REPEATS && !err; r++) {
		for (c = 0; c < BENCH_CHUNKS && !err; c++) {
			bool ours_first = c % 2 == 0;

			if (ours_first)
				err = bench_loop(row->ours, row, chunk,
						 &ours_chunk[c]);
			if (!err)
				err = bench_loop(row->base, row, chunk,
						 &base_chunk[c]);
			if (!err && !ours_first)
				err = bench_loop(row->ours, row, chunk,
						 &ours_chunk[c]);
		}
		bench_settle(row);
		ours[r] = bench_median(ours_chunk, BENCH_CHUNKS);
		base[r] = bench_median(base_chunk, BENCH_CHUNKS);
	}
	if (err) {
		pr_err("row %s failed: %d\n", row->name, err);
		return err;
	}

	bench_add(row->name, "ns/op",
		  div_u64(bench_median(ours, BENCH_REPEATS) * 1000, chunk),
		  div_u64(bench_median(base, BENCH_REPEATS) * 1000, chunk),
		  false);
	return 0;
}

/* ---- cross-CPU wake-up ----------------------------------------------- */

/*
 * The waiter, a kthread on BENCH_CPU_WAIT, waits on each fence it is given
 * with fence_wait() or dma_fence_wait() and notes the time it runs again.
 * The signaler, on BENCH_CPU_SIGNAL, waits until the waiter is asleep off
 * its CPU, notes the time and signals. The difference is the latency from
 * the signal call to the waiter running its caller's code again: the
 * callback, the wake-up (an IPI to an idle CPU, here) and the way out of
 * the wait.
 *
 * Under QEMU the waiter's CPU is a host thread, which the host wakes
 * quickly or late depending on what else it runs: the latencies of a
 * repeat fall in two clusters, and their median lands in either at random
 * (from one run to the next, 0.7 to 1.7 times the other side's). What a
 * fence core adds to a wake-up is the same in both clusters, and the low
 * one is the path itself: a side's figure is the 10th percentile of its
 * wake-ups, which the two sides then share within about 1 %. The median
 * of the medians is printed too, for information.
 */
struct bench_waiter {
	struct completion go;		/* a fence is ready in ours or base */
	struct completion woke;		/* the wait returned, at woke_ns */
	struct fence *ours;
	struct dma_fence *base;
	u64 woke_ns;
	long ret;
	bool stop;
};

static int bench_waiter_fn(void *data)
{
	struct bench_waiter *w = data;

	for (;;) {
		wait_for_completion(&w->go);
		if (w->stop)
			break;
		if (w->ours)
			w->ret = fence_wait(w->ours, false);
		else
			w->ret = dma_fence_wait(w->base, false);
		w->woke_ns = ktime_get_ns();
		complete(&w->woke);
	}
	return 0;
}

/*
 * Whether @p sleeps in the wait for the fence whose flags are @flags. The
 * enable bit is set by the wait itself (the fence is fresh), under the
 * fence lock, before the task state is set and before the lock is dropped;
 * on_cpu is cleared once the switch away from @p has completed. A task
 * preempted on its way keeps the running state.
 */
static bool bench_waiter_asleep(struct task_struct *p, unsigned long *flags,
				unsigned int enable_bit)
{
	return test_bit(enable_bit, flags) && !task_is_running(p) &&
	       !READ_ONCE(p->on_cpu);
}

static int bench_wake_once(struct bench_waiter *w, struct task_struct *p,
			   bool ours, u64 *lat)
{
	unsigned long *flags;
	unsigned int bit;
	u64 deadline, t0;
	int err = 0;

	if (ours) {
		ours_fence_init();
		w->ours = &ours_fence;
		w->base = NULL;
		flags = &ours_fence.flags;
		bit = FENCE_FLAG_ENABLE_SIGNAL_BIT;
	} else {
		base_fence_init();
		w->ours = NULL;
		w->base = &base_fence;
		flags = &base_fence.flags;
		bit = DMA_FENCE_FLAG_ENABLE_SIGNAL_BIT;
	}
	complete(&w->go);

	deadline = ktime_get_ns() + 5 * NSEC_PER_SEC;
	while (!bench_waiter_asleep(p, flags, bit)) {
		if (ktime_get_ns() > deadline) {
			err = -ETIMEDOUT;
			break;
		}
		cpu_relax();
	}
	/*
	 * Then let the waiter's CPU reach its idle instruction: a signal
	 * that raced with the idle entry would find the vCPU still running,
	 * and the latency would be a race between the two, not a wake-up.
	 */
	udelay(wake_idle_us);

	t0 = ktime_get_ns();
	if (ours)
		fence_signal(&ours_fence);
	else
		dma_fence_signal(&base_fence);
	wait_for_completion(&w->woke);

	if (ours)
		fence_put(&ours_fence);
	else
		dma_fence_put(&base_fence);
	if (w->ret)
		err = -EIO;
	*lat = w->woke_ns > t0 ? w->woke_ns - t0 : 0;
	return err;
}

static int bench_wake_rounds(struct bench_waiter *w, struct task_struct *p,
			     unsigned int rounds, u64 *ours, u64 *base)
{
	unsigned int i;
	int err = 0;

	for (i = 0; i < rounds && !err; i++) {
		err = bench_wake_once(w, p, true, &ours[i]);
		if (!err)
			err = bench_wake_once(w, p, false, &base[i]);
		cond_resched();
	}
	return err;
}

static int bench_run_wake(void)
{
	u64 ours_med[BENCH_REPEATS], base_med[BENCH_REPEATS];
	u64 ours_low[BENCH_REPEATS], base_low[BENCH_REPEATS];
	u64 *ours, *base;
	struct bench_waiter w = {};
	struct task_struct *p;
	unsigned int r;
	int err;

	if (!cpu_online(BENCH_CPU_SIGNAL) || !cpu_online(BENCH_CPU_WAIT)) {
		pr_info("row wake_cross_cpu skipped: needs CPUs %d and %d\n",
			BENCH_CPU_SIGNAL, BENCH_CPU_WAIT);
		return 0;
	}

	ours = kmalloc_array(wake_rounds, sizeof(*ours), GFP_KERNEL);
	base = kmalloc_array(wake_rounds, sizeof(*base), GFP_KERNEL);
	if (!ours || !base) {
		err = -ENOMEM;
		goto out_free;
	}

	init_completion(&w.go);
	init_completion(&w.woke);
	p = kthread_create(bench_waiter_fn, &w, "fence_bench_wait");
	if (IS_ERR(p)) {
		err = PTR_ERR(p);
		goto out_free;
	}
	/* The task may exit before kthread_stop() looks at it. */
	get_task_struct(p);
	kthread_bind(p, BENCH_CPU_WAIT);
	wake_up_process(p);

	/* Warm-up. */
	err = bench_wake_rounds(&w, p, min(wake_rounds, 8U), ours, base);
	for (r = 0; r < BENCH_REPEATS && !err; r++) {
		err = bench_wake_rounds(&w, p, wake_rounds, ours, base);
		if (err)
			break;
		ours_low[r] = bench_percentile(ours, wake_rounds, 10);
		base_low[r] = bench_percentile(base, wake_rounds, 10);
		ours_med[r] = bench_median(ours, wake_rounds);
		base_med[r] = bench_median(base, wake_rounds);
	}

	w.stop = true;
	complete(&w.go);
	kthread_stop(p);
	put_task_struct(p);

	if (err) {
		pr_err("row wake_cross_cpu failed: %d\n", err);
	} else {
		pr_info("wake_cross_cpu medians, not a row: ours %llu ns, baseline %llu ns\n",
			bench_median(ours_med, BENCH_REPEATS),
			bench_median(base_med, BENCH_REPEATS));
		bench_add("wake_cross_cpu", "ns",
			  bench_median(ours_low, BENCH_REPEATS) * 1000,
			  bench_median(base_low, BENCH_REPEATS) * 1000, false);
	}
out_free:
	kfree(ours);
	kfree(base);
	return err;
}

/* ---- report ---------------------------------------------------------- */

/* @milli thousandths, printed with one decimal, or none if @whole. */
static void bench_fmt_value(char *buf, size_t len, u64 milli, bool whole)
{
	u64 tenths = div_u64(milli + 50, 100);
	u32 frac;

	if (whole) {
		scnprintf(buf, len, "%llu", div_u64(milli + 500, 1000));
		return;
	}
	tenths = div_u64_rem(tenths, 10, &frac);
	scnprintf(buf, len, "%llu.%u", tenths, frac);
}

/* ours / baseline with two decimals, or "null" without a baseline. */
static void bench_fmt_ratio(char *buf, size_t len, u64 ours, u64 base)
{
	u64 hundredths;
	u32 frac;

	if (!base) {
		scnprintf(buf, len, "null");
		return;
	}
	hundredths = div64_u64(ours * 100 + base / 2, base);
	hundredths = div_u64_rem(hundredths, 100, &frac);
	scnprintf(buf, len, "%llu.%02u", hundredths, frac);
}

static void bench_report(void)
{
	char ours[24], base[24], ratio[24];
	unsigned int i;

	pr_info("%-24s %-6s %12s %12s %6s\n", "row", "unit", "ours",
		"dma_fence", "ratio");
	for (i = 0; i < bench_nresults; i++) {
		const struct bench_result *r = &bench_results[i];

		bench_fmt_value(ours, sizeof(ours), r->ours, r->whole);
		bench_fmt_value(base, sizeof(base), r->base, r->whole);
		bench_fmt_ratio(ratio, sizeof(ratio), r->ours, r->base);
		pr_info("%-24s %-6s %12s %12s %6s\n", r->name, r->unit, ours,
			base, ratio);
	}
	for (i = 0; i < bench_nresults; i++) {
		const struct bench_result *r = &bench_results[i];

		bench_fmt_value(ours, sizeof(ours), r->ours, r->whole);
		bench_fmt_value(base, sizeof(base), r->base, r->whole);
		bench_fmt_ratio(ratio, sizeof(ratio), r->ours, r->base);
		pr_info("row {\"name\":\"%s\",\"unit\":\"%s\",\"ours\":%s,\"baseline\":%s,\"ratio\":%s}\n",
			r->name, r->unit, ours, base, ratio);
	}
}

/* ---- module ---------------------------------------------------------- */

static DECLARE_COMPLETION(bench_done);
static int bench_err;

static int bench_main(void *unused)
{
	u64 t0 = ktime_get_ns();
	unsigned int i;
	int err;

	pr_info("iters=%u wake_rounds=%u repeats=%d, %u CPUs online\n",
		iters, wake_rounds, BENCH_REPEATS, num_online_cpus());

	bench_add("sizeof", "bytes", sizeof(struct fence) * 1000,
		  sizeof(struct dma_fence) * 1000, true);
	for (i = 0; i < ARRAY_SIZE(bench_rows); i++) {
		err = bench_run_row(&bench_rows[i]);
		if (err && !bench_err)
			bench_err = err;
	}
	err = bench_run_wake();
	if (err && !bench_err)
		bench_err = err;

	bench_report();
	pr_info("%u rows in %llu ms%s\n", bench_nresults,
		div_u64(ktime_get_ns() - t0, NSEC_PER_MSEC),
		bench_err ? ", some rows failed" : "");
	kthread_complete_and_exit(&bench_done, 0);
}

static int __init fence_bench_init(void)
{
	struct task_struct *task;

	if (!iters || !wake_rounds)
		return -EINVAL;

	ours_context = fence_context_alloc(1);
	base_context = dma_fence_context_alloc(1);

	task = kthread_create(bench_main, NULL, KBUILD_MODNAME);
	if (IS_ERR(task))
		return PTR_ERR(task);
	kthread_bind(task, BENCH_CPU_SIGNAL);
	wake_up_process(task);
	wait_for_completion(&bench_done);

	/* No callback of base_free_rcu() may outlive a failed load. */
	rcu_barrier();
	return bench_err;
}

static void __exit fence_bench_exit(void)
{
	rcu_barrier();
}

module_init(fence_bench_init);
module_exit(fence_bench_exit);

MODULE_LICENSE("GPL");
MODULE_VERSION(CROSSFENCE_VERSION);
MODULE_DESCRIPTION("crossfence: fence core benchmark against dma_fence");
MODULE_AUTHOR("crossfence developers");
