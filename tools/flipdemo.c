// SPDX-License-Identifier: GPL-2.0
/*
 * flipdemo: render on vgem, flip on vkms, and measure the way between.
 *
 *   flipdemo run OUTDIR [--frames N] [--mode WxH] [--dur MIN:MAX]
 *                       [--paths callback,userwait,worker] [--seed S]
 *                       [--captures N] [--crc 0|1] [--busy N]
 *                       [--trace all|armed|none]
 *                       [--load-ms MS] [--load-depth N]
 *   flipdemo crc W H FIRST LAST   expected CRC of each pattern frame
 *   flipdemo png RAW W H FRAME OUT.png
 *
 * "run" (in the VM): modesets vkms output 0, makes a ring of 3 vgem buffers
 * imported into vkms, and for each frame submits VGEM_OP_PATTERN (the frame
 * number drawn in) with a random simulated duration, then flips to it with
 * a page-flip event, without waiting, and sleeps until the event. Three
 * ways, one after the other in one boot:
 *   callback  the flip is gated in the kernel by a callback on the
 *             buffer's implicit fence (vkms gate=1);
 *   userwait  the process polls the job's out-fence, then flips;
 *   worker    vkms gate=0: the commit's worker blocks in a fence wait, as
 *             the upstream DRM helpers do.
 * Two more paths, not run by default, are the callback path on an engine
 * kept busy by a second client (the load client, below):
 *   load-fifo  vgem edf=0, max_boost=1 and preempt=0: jobs run in
 *              submission order at the nominal clock, so the deadline a
 *              gated flip sets on its fence changes nothing;
 *   load-edf   vgem edf=1, max_boost and preempt as loaded: the frame's
 *              job, which has a deadline (the vblank its flip could latch
 *              at), runs before the load's jobs, which have none, at a
 *              boosted clock when at risk, and preempts the load's job
 *              running when even the boost would not make it in time.
 * Each sets those parameters in /sys/module/vgem/parameters/ and puts the
 * old values back when it ends.
 * For every frame it records the fence's signal time (its sync_file
 * timestamp), when the flip was committed, and the latch (the flip
 * event's vblank time and sequence); it
 * captures the CRC of every vblank; it traces fence signals, flip
 * deliveries, flip arming (vkms's vkms_flip_armed), work items and
 * wake-ups through tracefs ("--trace armed": the arming only, for long
 * runs). It writes OUTDIR/PATH.frames.csv, PATH.crc.csv, PATH.trace,
 * PATH.stats (vkms's counters, their change over the path) and meta.txt;
 * the host (scripts/demo) verifies and reports.
 *
 * The load client of the load paths is a thread with a vgem file of its
 * own (so a fence timeline of its own on the engine): it keeps --load-depth
 * jobs (default 2) of --load-ms ms (default 12) queued on engine 0, the
 * frames' engine, each a VGEM_OP_FILL of a small buffer of its own,
 * without a deadline, submitting the next as soon as the oldest signals.
 * The frames start once its first job has completed. The load paths take
 * no writeback captures (saving one pauses the frames while the load
 * runs on; every frame is still checked by CRC). It writes
 * PATH.load.csv (each job's submit and signal times, fence status) and
 * PATH.load (the parameters used, and the change of vgem's boost counters
 * in debugfs "engines" from the first frame's submit to the last frame's
 * latch: boosted_ns of all engines, boosts and boosted_ns of engine 0).
 *
 * "--captures N" takes N frames of each path, evenly spread, through the
 * output's writeback connector: the frame's flip commit carries a
 * writeback job, so the capture is of the vblank that latched that frame.
 * Each lands in PATH.wb.FRAME.raw (XRGB8888, rows packed), its out-fence
 * status in PATH.wb.csv. "--crc 0" leaves the CRC off (benchmarks: no
 * composition each vblank). "--busy N" keeps N CPU-bound processes
 * (normal priority) spinning during the run.
 *
 * "png" (on the host): writes a capture as an RGB PNG (libpng) and prints
 * its CRC (as "crc" computes it) and how many pixels differ from the
 * pattern of FRAME.
 *
 * "crc" (on the host, fast): the CRC vkms computes of a full-screen frame
 * showing the pattern of each frame number, one per line.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <png.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "igt.h"
#include "kms.h"
#include "vgem.h"

#define RING 3
#define MAX_CRC 65536
#define TRACING "/sys/kernel/tracing"
#define MAX_BUSY 16
#define MAX_LOAD_DEPTH 8
#define VGEM_PARAMS "/sys/module/vgem/parameters/"

enum { TRACE_NONE, TRACE_ARMED, TRACE_ALL };

struct opts {
	const char *out;
	int frames, w, h;
	int dur_min_ms, dur_max_ms;
	char paths[128];
	unsigned int seed;
	unsigned int load_seed;	/* the seed the run began with */
	int captures;
	int crc;
	int busy;
	int trace;
	int load_ms, load_depth;
};

/* The writeback connector's capture buffer, when frames are captured. */
struct capture {
	struct kms_fb fb;
	bool on;
};

/* vkms's counters written to PATH.stats: their change over a path. */
static const char *const stat_names[] = {
	"vblanks", "flips_armed", "flips_latched", "missed_latches",
	"flips_gated", "flips_worker", "fence_errors",
};

#define NSTATS (sizeof(stat_names) / sizeof(stat_names[0]))

struct frame {
	int dur_us;
	uint64_t t_submit, t_flip, t_signal, t_latch;
	uint32_t seq;
	int status;
};

/* CRC entries read as they come, so the driver's buffer never overflows. */
struct crc_log {
	struct kms_crc crc;
	pthread_t thread;
	volatile int stop;
	int n;
	uint32_t frame[MAX_CRC], value[MAX_CRC];
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void *crc_reader(void *arg)
{
	struct crc_log *log = arg;

	while (!log->stop && log->n < MAX_CRC) {
		kms_crc_get(&log->crc, &log->frame[log->n], &log->value[log->n]);
		log->n++;
	}
	return NULL;
}

static void write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_TRUNC);

	if (fd < 0)
		return;
	if (write(fd, text, strlen(text)) < 0)
		fprintf(stderr, "flipdemo: writing %s: %s\n", path,
			strerror(errno));
	close(fd);
}

static bool trace_start(int what)
{
	static const char *const events[] = {
		"vkms/vkms_flip_armed",
		"fence/fence_signaled", "drm/drm_vblank_event_delivered",
		"sched/sched_wakeup", "workqueue/workqueue_execute_start",
		"workqueue/workqueue_execute_end",
	};
	size_t total = sizeof(events) / sizeof(events[0]);
	size_t n = what == TRACE_ALL ? total : 1;
	char path[256], now[4];

	if (what == TRACE_NONE || access(TRACING "/trace", W_OK))
		return false;
	write_file(TRACING "/tracing_on", "0");
	write_file(TRACING "/trace_clock", "mono");
	write_file(TRACING "/buffer_size_kb", "16384");
	write_file(TRACING "/trace", "");
	/*
	 * An event is switched only if it must change: switching one
	 * patches the kernel's text at its call sites (int3, then the
	 * bytes), and a guest under QEMU TCG once died of an int3 Oops in
	 * process_one_work() while this switched the workqueue events off
	 * and on again between paths, its workers busy. The events stay
	 * on after a run; tracing_on stops the recording.
	 */
	for (size_t i = 0; i < total; i++) {
		const char *want = i < n ? "1" : "0";
		int fd;
		ssize_t got = -1;

		snprintf(path, sizeof(path), TRACING "/events/%s/enable",
			 events[i]);
		fd = open(path, O_RDONLY);
		if (fd >= 0) {
			got = read(fd, now, 1);
			close(fd);
		}
		if (got != 1 || now[0] != want[0])
			write_file(path, want);
	}
	write_file(TRACING "/tracing_on", "1");
	return true;
}

static void trace_stop(const char *dst)
{
	char buf[65536];
	ssize_t n;
	int in, out;

	write_file(TRACING "/tracing_on", "0");
	in = open(TRACING "/trace", O_RDONLY);
	out = open(dst, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	while (in >= 0 && out >= 0 && (n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, n) != n)
			break;
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
}

static void progress(const char *path, int done, int total)
{
	char bar[41];
	int fill = done * 40 / total;

	memset(bar, '#', fill);
	memset(bar + fill, '-', 40 - fill);
	bar[40] = 0;
	printf("  %-9s [%s] %4d/%d frames\n", path, bar, done, total);
	fflush(stdout);
}

/* Whether frame @i of @o is one of the @o->captures captured ones. */
static bool captured(const struct opts *o, int i)
{
	for (int k = 1; k <= o->captures; k++)
		if (i == (int)((long long)k * o->frames / (o->captures + 1)))
			return true;
	return false;
}

/* Wait for a capture's out-fence; save the capture; its status. */
static int save_capture(const struct opts *o, const char *path,
			struct capture *wb, int i, int fence)
{
	char file[512];
	int status;
	FILE *raw;

	if (!kms_sync_file_wait(fence, 10000))
		return 0;
	status = kms_sync_file_status(fence, NULL);
	if (status != 1)
		return status;
	snprintf(file, sizeof(file), "%s/%s.wb.%d.raw", o->out, path, i);
	raw = fopen(file, "w");
	igt_assert(raw);
	for (uint32_t y = 0; y < wb->fb.height; y++)
		igt_assert_eq(fwrite(wb->fb.map + (size_t)y * wb->fb.pitch,
				     (size_t)wb->fb.width * 4, 1, raw), 1);
	igt_assert_eq(fclose(raw), 0);
	return status;
}

static void read_stats(struct kms_dev *dev, int index, uint64_t *v)
{
	for (size_t i = 0; i < NSTATS; i++)
		v[i] = kms_stat(dev, index, stat_names[i]);
}

/* ---- the load paths ---------------------------------------------------- */

/* A vgem parameter, or -1 if it cannot be read. */
static long vgem_param(const char *name)
{
	char path[128], buf[32] = "";
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), VGEM_PARAMS "%s", name);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n > 0 ? strtol(buf, NULL, 10) : -1;
}

static void vgem_param_set(const char *name, long value)
{
	char path[128], buf[32];
	int fd, n;

	snprintf(path, sizeof(path), VGEM_PARAMS "%s", name);
	fd = open(path, O_WRONLY);
	igt_assert_f(fd >= 0, "cannot open %s: %s\n", path, strerror(errno));
	n = snprintf(buf, sizeof(buf), "%ld", value);
	igt_assert_f(write(fd, buf, n) == n, "cannot write %s to %s: %s\n",
		     buf, path, strerror(errno));
	close(fd);
}

/* vgem's boost counters, from debugfs "engines"; -1 where unread. */
struct boosts {
	long long total_ns;		/* last line: all engines */
	long long e0_boosts, e0_ns;	/* engine 0, the frames' engine */
	long long e0_preempts;		/* engine 0's preemptions */
};

static struct boosts read_boosts(void)
{
	struct boosts b = { -1, -1, -1, -1 };
	static char buf[65536];
	char path[64], *line;
	size_t len = 0;
	ssize_t n;
	int fd = -1;

	for (int m = 0; m < 64 && fd < 0; m++) {
		snprintf(path, sizeof(path), "/sys/kernel/debug/dri/%d/engines",
			 m);
		fd = open(path, O_RDONLY);
	}
	if (fd < 0)
		return b;
	while (len < sizeof(buf) - 1 &&
	       (n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += n;
	close(fd);
	buf[len] = 0;
	line = strstr(buf, "engine0: ");
	if (line)
		line = strstr(line, " boosts ");
	if (line)
		sscanf(line, " boosts %lld boosted_ns %lld preempts %lld",
		       &b.e0_boosts, &b.e0_ns, &b.e0_preempts);
	for (line = buf; line && *line; line = strchr(line, '\n')) {
		if (*line == '\n')
			line++;
		if (!strncmp(line, "boosted_ns ", 11))
			sscanf(line + 11, "%lld", &b.total_ns);
	}
	return b;
}

static long long delta(long long after, long long before)
{
	return after < 0 || before < 0 ? -1 : after - before;
}

struct load_job {
	uint64_t t_submit, t_signal;
	int status;
};

/* The load client: a thread with a vgem file (a timeline) of its own. */
struct load {
	const struct opts *o;
	pthread_t thread;
	sem_t started;		/* posted when its first job has completed */
	int stop;		/* __atomic */
	int n, cap;
	struct load_job *jobs;
	long edf, max_boost, starve_ms, preempt; /* as set for the path */
	long saved_edf, saved_max_boost, saved_preempt;
	struct boosts before, after;
};

/* Keeps o->load_depth jobs queued until told to stop, then drains. */
static void *load_client(void *arg)
{
	struct load *l = arg;
	const struct opts *o = l->o;
	struct vgem_bo bo = { .width = 64, .height = 64 };
	int fence[MAX_LOAD_DEPTH], job[MAX_LOAD_DEPTH];
	int fd, head = 0, queued = 0;
	bool started = false;

	pthread_setname_np(pthread_self(), "flipdemo-load");
	fd = kms_vgem_open();
	vgem_create(fd, &bo);
	for (;;) {
		bool stop = __atomic_load_n(&l->stop, __ATOMIC_ACQUIRE);

		while (!stop && queued < o->load_depth) {
			struct drm_vgem_submit s = vgem_submit_desc(&bo,
								    VGEM_OP_FILL);
			int k = (head + queued) % MAX_LOAD_DEPTH;

			if (l->n == l->cap) {
				l->cap = l->cap ? 2 * l->cap : 1024;
				l->jobs = realloc(l->jobs,
						  l->cap * sizeof(*l->jobs));
				igt_assert(l->jobs);
			}
			s.color = 0xff000000 | (l->n & 0xffffff);
			s.duration_ns = o->load_ms * 1000000ull;
			l->jobs[l->n].t_submit = now_ns();
			fence[k] = vgem_submit_fd(fd, &s);
			job[k] = l->n++;
			queued++;
		}
		if (!queued)
			break;
		igt_assert(sync_fence_wait(fence[head], 10000));
		l->jobs[job[head]].status =
			kms_sync_file_status(fence[head],
					     &l->jobs[job[head]].t_signal);
		close(fence[head]);
		head = (head + 1) % MAX_LOAD_DEPTH;
		queued--;
		if (!started) {
			sem_post(&l->started);
			started = true;
		}
	}
	gem_close(fd, bo.handle);
	close(fd);
	return NULL;
}

/* Sets vgem's parameters for @path, starts the load and waits for it. */
static void load_start(const struct opts *o, const char *path,
		       struct load *l)
{
	bool edf = !strcmp(path, "load-edf");

	memset(l, 0, sizeof(*l));
	l->o = o;
	l->saved_edf = vgem_param("edf");
	l->saved_max_boost = vgem_param("max_boost");
	igt_assert_f(l->saved_edf >= 0 && l->saved_max_boost >= 1,
		     "vgem has no edf/max_boost parameters\n");
	l->saved_preempt = vgem_param("preempt");
	vgem_param_set("edf", edf);
	vgem_param_set("max_boost", edf ? l->saved_max_boost : 1);
	/* Without edf there is no preemption; 0 says so in the report. */
	if (l->saved_preempt >= 0)
		vgem_param_set("preempt", edf ? l->saved_preempt : 0);
	l->edf = vgem_param("edf");
	l->max_boost = vgem_param("max_boost");
	l->starve_ms = vgem_param("starve_ms");
	l->preempt = vgem_param("preempt");
	igt_assert_eq(sem_init(&l->started, 0, 0), 0);
	igt_assert_eq(pthread_create(&l->thread, NULL, load_client, l), 0);
	while (sem_wait(&l->started) && errno == EINTR)
		;
}

/* Stops the load, puts vgem's parameters back, writes its files. */
static void load_stop(const struct opts *o, const char *path,
		      struct load *l)
{
	char file[512];
	FILE *f;

	__atomic_store_n(&l->stop, 1, __ATOMIC_RELEASE);
	pthread_join(l->thread, NULL);
	sem_destroy(&l->started);
	vgem_param_set("edf", l->saved_edf);
	vgem_param_set("max_boost", l->saved_max_boost);
	if (l->saved_preempt >= 0)
		vgem_param_set("preempt", l->saved_preempt);

	snprintf(file, sizeof(file), "%s/%s.load", o->out, path);
	f = fopen(file, "w");
	igt_assert(f);
	fprintf(f, "edf %ld\nmax_boost %ld\nstarve_ms %ld\npreempt %ld\n"
		"load_ms %d\nload_depth %d\nboosted_ns %lld\n"
		"engine0_boosts %lld\nengine0_boosted_ns %lld\n"
		"engine0_preempts %lld\n", l->edf, l->max_boost,
		l->starve_ms, l->preempt, o->load_ms, o->load_depth,
		delta(l->after.total_ns, l->before.total_ns),
		delta(l->after.e0_boosts, l->before.e0_boosts),
		delta(l->after.e0_ns, l->before.e0_ns),
		delta(l->after.e0_preempts, l->before.e0_preempts));
	fclose(f);
	snprintf(file, sizeof(file), "%s/%s.load.csv", o->out, path);
	f = fopen(file, "w");
	igt_assert(f);
	fprintf(f, "job,t_submit,t_signal,status\n");
	for (int i = 0; i < l->n; i++)
		fprintf(f, "%d,%llu,%llu,%d\n", i,
			(unsigned long long)l->jobs[i].t_submit,
			(unsigned long long)l->jobs[i].t_signal,
			l->jobs[i].status);
	fclose(f);
	free(l->jobs);
}

static int run_path(struct opts *o, const char *path,
		    struct kms_dev *dev, int vgem, struct kms_vgem_bo *ring,
		    struct capture *wb)
{
	const struct kms_output *out = &dev->out[0];
	/* The load paths draw the same durations, the run's first ones. */
	unsigned int load_seed = o->load_seed;
	struct crc_log *log = calloc(1, sizeof(*log));
	struct frame *f = calloc(o->frames, sizeof(*f));
	bool userwait = !strcmp(path, "userwait");
	bool load = !strncmp(path, "load-", 5);
	unsigned int *seed = load ? &load_seed : &o->seed;
	uint64_t before[NSTATS], after[NSTATS];
	struct load ld;
	FILE *csv, *wbcsv = NULL;
	bool traced;
	char file[512];

	igt_assert(log && f);
	igt_assert_f(!load || !strcmp(path, "load-fifo") ||
		     !strcmp(path, "load-edf"), "unknown path %s\n", path);
	igt_assert(kms_param_set("gate", strcmp(path, "worker") ? 1 : 0));
	if (wb->on) {
		snprintf(file, sizeof(file), "%s/%s.wb.csv", o->out, path);
		wbcsv = fopen(file, "w");
		igt_assert(wbcsv);
		fprintf(wbcsv, "frame,status\n");
	}
	if (o->crc) {
		kms_crc_start(dev, out->index, &log->crc);
		igt_assert_eq(pthread_create(&log->thread, NULL, crc_reader,
					     log), 0);
	}
	if (load)
		load_start(o, path, &ld);
	read_stats(dev, out->index, before);
	traced = trace_start(o->trace);
	if (load)
		ld.before = read_boosts();

	for (int i = 0; i < o->frames; i++) {
		struct kms_vgem_bo *bo = &ring[i % RING];
		struct vgem_bo vb = { .handle = bo->handle, .width = bo->width,
				      .height = bo->height, .pitch = bo->pitch,
				      .size = bo->size };
		struct drm_vgem_submit s = vgem_submit_desc(&vb, VGEM_OP_PATTERN);
		/* Not in the load paths: a capture pauses the frames. */
		bool capture = wb->on && !load && captured(o, i);
		int fence, ret, wb_fence = -1;
		struct kms_event ev;
		struct kms_req *req;

		f[i].dur_us = o->dur_min_ms * 1000 +
			      rand_r(seed) %
			      ((o->dur_max_ms - o->dur_min_ms) * 1000 + 1);
		s.frame = i;
		s.duration_ns = f[i].dur_us * 1000ull;
		f[i].t_submit = now_ns();
		fence = vgem_submit_fd(vgem, &s);
		if (userwait)
			igt_assert(sync_fence_wait(fence, 10000));

		req = kms_req_new(dev);
		kms_req_set(req, out->primary, "FB_ID", bo->fb_id);
		if (capture) {
			kms_req_set(req, out->wb_connector_id,
				    "WRITEBACK_FB_ID", wb->fb.id);
			kms_req_set(req, out->wb_connector_id,
				    "WRITEBACK_OUT_FENCE_PTR",
				    (uint64_t)(uintptr_t)&wb_fence);
		}
		/* The flip is asked for: its due vblank is the next one. */
		f[i].t_flip = now_ns();
		do {
			ret = kms_req_commit_data(req, DRM_MODE_ATOMIC_NONBLOCK |
						  DRM_MODE_PAGE_FLIP_EVENT, i);
		} while (ret == -EBUSY);
		igt_assert_eq(ret, 0);
		kms_req_free(req);

		/* Asleep until the flip has latched. */
		igt_assert(kms_read_event(dev->fd, 10000, &ev));
		igt_assert_eq(ev.user_data, (uint64_t)i);
		f[i].t_latch = ev.ts_ns;
		f[i].seq = ev.sequence;
		f[i].status = kms_sync_file_status(fence, &f[i].t_signal);
		close(fence);
		if (capture) {
			igt_assert(wb_fence >= 0);
			fprintf(wbcsv, "%d,%d\n", i,
				save_capture(o, path, wb, i, wb_fence));
			close(wb_fence);
		}
		if ((i + 1) % (o->frames / 10 ? o->frames / 10 : 1) == 0 ||
		    i + 1 == o->frames)
			progress(path, i + 1, o->frames);
	}
	if (load) {
		ld.after = read_boosts();
		load_stop(o, path, &ld);
	}
	/* The last frame stays up a few vblanks: its CRCs are captured. */
	kms_wait_vblank(dev->fd, out->index, 3, NULL);
	if (traced) {
		snprintf(file, sizeof(file), "%s/%s.trace", o->out, path);
		trace_stop(file);
	}
	read_stats(dev, out->index, after);
	if (o->crc) {
		log->stop = 1;
		pthread_join(log->thread, NULL);
		kms_crc_stop(&log->crc);
	}
	if (wbcsv)
		fclose(wbcsv);

	snprintf(file, sizeof(file), "%s/%s.stats", o->out, path);
	csv = fopen(file, "w");
	igt_assert(csv);
	for (size_t k = 0; k < NSTATS; k++)
		fprintf(csv, "%s %llu\n", stat_names[k],
			(unsigned long long)(after[k] - before[k]));
	fclose(csv);

	snprintf(file, sizeof(file), "%s/%s.frames.csv", o->out, path);
	csv = fopen(file, "w");
	igt_assert(csv);
	fprintf(csv,
		"frame,dur_us,t_submit,t_flip,t_signal,t_latch,seq,status\n");
	for (int i = 0; i < o->frames; i++)
		fprintf(csv, "%d,%d,%llu,%llu,%llu,%llu,%u,%d\n", i,
			f[i].dur_us, (unsigned long long)f[i].t_submit,
			(unsigned long long)f[i].t_flip,
			(unsigned long long)f[i].t_signal,
			(unsigned long long)f[i].t_latch, f[i].seq, f[i].status);
	fclose(csv);
	snprintf(file, sizeof(file), "%s/%s.crc.csv", o->out, path);
	csv = fopen(file, "w");
	igt_assert(csv);
	fprintf(csv, "seq,crc\n");
	for (int i = 0; i < log->n; i++)
		fprintf(csv, "%u,%08x\n", log->frame[i], log->value[i]);
	fclose(csv);
	free(log);
	free(f);
	return 0;
}

/* N CPU-bound processes at normal priority; they die with us. */
static int busy_start(int n, pid_t *pids)
{
	for (int i = 0; i < n; i++) {
		pids[i] = fork();
		igt_assert(pids[i] >= 0);
		if (!pids[i]) {
			volatile unsigned long spin = 0;

			prctl(PR_SET_PDEATHSIG, SIGKILL);
			for (;;)
				spin++;
		}
	}
	return n;
}

static void busy_stop(int n, pid_t *pids)
{
	for (int i = 0; i < n; i++) {
		kill(pids[i], SIGKILL);
		waitpid(pids[i], NULL, 0);
	}
}

/* Join the writeback connector to output 0 and make its buffer. */
static void capture_setup(struct kms_dev *dev, const struct opts *o,
			  struct capture *wb)
{
	const struct kms_output *out = &dev->out[0];
	struct kms_req *req;

	memset(wb, 0, sizeof(*wb));
	if (!o->captures)
		return;
	if (!out->wb_connector_id) {
		printf("flipdemo: no writeback connector, no captures\n");
		return;
	}
	kms_fb_create(dev->fd, o->w, o->h, DRM_FORMAT_XRGB8888, &wb->fb);
	req = kms_req_new(dev);
	kms_req_set(req, out->wb_connector_id, "CRTC_ID", out->crtc_id);
	igt_assert_eq(kms_req_commit(req, DRM_MODE_ATOMIC_ALLOW_MODESET), 0);
	kms_req_free(req);
	wb->on = true;
}

static void run(struct opts *o)
{
	struct kms_vgem_bo ring[RING];
	pid_t busy[MAX_BUSY];
	struct capture wb;
	drmModeModeInfo mode;
	struct kms_dev dev;
	struct kms_fb first;
	char file[512], *save, *p;
	FILE *meta;
	int vgem;

	mkdir(o->out, 0755);
	kms_open(&dev);
	vgem = kms_vgem_open();
	for (int i = 0; i < RING; i++)
		kms_vgem_bo_create(&dev, vgem, o->w, o->h, DRM_FORMAT_XRGB8888,
				   &ring[i]);
	mode = kms_mode(o->w, o->h);
	first = (struct kms_fb){ .fd = dev.fd, .id = ring[0].fb_id,
		.width = o->w, .height = o->h, .format = DRM_FORMAT_XRGB8888 };
	kms_modeset(&dev, &dev.out[0], &mode, &first);
	capture_setup(&dev, o, &wb);

	snprintf(file, sizeof(file), "%s/meta.txt", o->out);
	meta = fopen(file, "w");
	igt_assert(meta);
	fprintf(meta, "width %d\nheight %d\nrefresh_ns %llu\nframes %d\n"
		"dur_min_ms %d\ndur_max_ms %d\nseed %u\npid %d\n"
		"captures %d\ncrc %d\nbusy %d\ntrace %d\nload_ms %d\n"
		"load_depth %d\n", o->w, o->h,
		(unsigned long long)kms_mode_frame_ns(&mode), o->frames,
		o->dur_min_ms, o->dur_max_ms, o->seed, getpid(),
		wb.on ? o->captures : 0, o->crc, o->busy, o->trace,
		o->load_ms, o->load_depth);
	fclose(meta);

	printf("flipdemo: %dx%d, %d frames per path, jobs of %d-%d ms%s\n",
	       o->w, o->h, o->frames, o->dur_min_ms, o->dur_max_ms,
	       o->busy ? ", CPUs loaded" : "");
	o->load_seed = o->seed;
	busy_start(o->busy, busy);
	for (p = strtok_r(o->paths, ",", &save); p;
	     p = strtok_r(NULL, ",", &save))
		run_path(o, p, &dev, vgem, ring, &wb);
	busy_stop(o->busy, busy);
	kms_param_set("gate", 1);
	kms_disable(&dev, &dev.out[0]);
	if (wb.on)
		kms_fb_destroy(&wb.fb);
	for (int i = 0; i < RING; i++)
		kms_vgem_bo_destroy(&dev, &ring[i]);
	close(vgem);
	kms_close(&dev);
}

/* Expected CRCs: the pattern of each frame, full screen, as vkms sums it. */
static void crcs(int w, int h, int first, int last)
{
	uint32_t *row = malloc((size_t)w * 4);

	igt_assert(row);
	for (int f = first; f <= last; f++) {
		uint32_t crc = ~0u;

		for (int y = 0; y < h; y++) {
			for (int x = 0; x < w; x++)
				row[x] = vgem_pattern_pixel(x, y, f);
			crc = kms_crc32(crc, row, (size_t)w * 4);
		}
		printf("%d %08x\n", f, crc);
	}
	free(row);
}

/*
 * A capture (w x h XRGB8888, rows packed) as an 8-bit RGB PNG. Prints its
 * CRC and the pixels (RGB) that differ from the pattern of @frame.
 */
static int write_png(const char *raw, int w, int h, int frame,
		     const char *dst)
{
	size_t row_len = (size_t)w * 4;
	uint32_t *row = malloc(row_len);
	png_bytep rgb = malloc((size_t)w * 3);
	long diff = 0, first_x = -1, first_y = -1;
	uint32_t crc = ~0u;
	png_structp png;
	png_infop info;
	FILE *in, *out;

	if (!row || !rgb)
		goto err_mem;
	in = fopen(raw, "r");
	if (!in) {
		perror(raw);
		goto err_mem;
	}
	out = fopen(dst, "wb");
	if (!out) {
		perror(dst);
		goto err_in;
	}
	png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
	if (!png)
		goto err_out;
	info = png_create_info_struct(png);
	if (!info || setjmp(png_jmpbuf(png)))
		goto err_png;
	png_init_io(png, out);
	png_set_IHDR(png, info, w, h, 8, PNG_COLOR_TYPE_RGB,
		     PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
		     PNG_FILTER_TYPE_DEFAULT);
	png_write_info(png, info);
	for (int y = 0; y < h; y++) {
		if (fread(row, row_len, 1, in) != 1) {
			fprintf(stderr, "flipdemo: %s: short capture\n", raw);
			goto err_png;
		}
		crc = kms_crc32(crc, row, row_len);
		for (int x = 0; x < w; x++) {
			uint32_t want = vgem_pattern_pixel(x, y, frame);

			if ((row[x] ^ want) & 0xffffff) {
				if (!diff++) {
					first_x = x;
					first_y = y;
				}
			}
			rgb[3 * x] = row[x] >> 16;
			rgb[3 * x + 1] = row[x] >> 8;
			rgb[3 * x + 2] = row[x];
		}
		png_write_row(png, rgb);
	}
	png_write_end(png, NULL);
	png_destroy_write_struct(&png, &info);
	fclose(in);
	free(rgb);
	free(row);
	if (fclose(out)) {
		perror(dst);
		return 1;
	}
	printf("crc %08x diff %ld first %ld,%ld\n", crc, diff, first_x,
	       first_y);
	return 0;

err_png:
	png_destroy_write_struct(&png, &info);
err_out:
	fclose(out);
	unlink(dst);
err_in:
	fclose(in);
err_mem:
	free(rgb);
	free(row);
	return 1;
}

static void usage(void)
{
	fputs("usage: flipdemo run OUTDIR [--frames N] [--mode WxH]\n"
	      "         [--dur MIN:MAX] [--paths LIST] [--seed S]\n"
	      "         [--captures N] [--crc 0|1] [--busy N]\n"
	      "         [--trace all|armed|none]\n"
	      "         [--load-ms MS] [--load-depth N]\n"
	      "       flipdemo crc W H FIRST LAST\n"
	      "       flipdemo png RAW W H FRAME OUT.png\n", stderr);
}

int main(int argc, char **argv)
{
	struct opts o = { .frames = 300, .w = 1280, .h = 720,
			  .dur_min_ms = 2, .dur_max_ms = 20,
			  .paths = "callback,userwait,worker",
			  .seed = (unsigned int)time(NULL),
			  .captures = 0, .crc = 1, .busy = 0,
			  .trace = TRACE_ALL, .load_ms = 12,
			  .load_depth = 2 };

	if (argc == 6 && !strcmp(argv[1], "crc")) {
		crcs(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]),
		     atoi(argv[5]));
		return 0;
	}
	if (argc == 7 && !strcmp(argv[1], "png")) {
		if (atoi(argv[3]) < 1 || atoi(argv[4]) < 1)
			return 2;
		return write_png(argv[2], atoi(argv[3]), atoi(argv[4]),
			   atoi(argv[5]), argv[6]);
	}
	if (argc < 3 || strcmp(argv[1], "run")) {
		usage();
		return 2;
	}
	o.out = argv[2];
	for (int i = 3; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--frames"))
			o.frames = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--mode"))
			sscanf(argv[i + 1], "%dx%d", &o.w, &o.h);
		else if (!strcmp(argv[i], "--dur"))
			sscanf(argv[i + 1], "%d:%d", &o.dur_min_ms,
			       &o.dur_max_ms);
		else if (!strcmp(argv[i], "--paths"))
			snprintf(o.paths, sizeof(o.paths), "%s", argv[i + 1]);
		else if (!strcmp(argv[i], "--seed"))
			o.seed = strtoul(argv[i + 1], NULL, 0);
		else if (!strcmp(argv[i], "--captures"))
			o.captures = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--crc"))
			o.crc = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--busy"))
			o.busy = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--trace"))
			o.trace = !strcmp(argv[i + 1], "none") ? TRACE_NONE :
				  !strcmp(argv[i + 1], "armed") ? TRACE_ARMED :
				  TRACE_ALL;
		else if (!strcmp(argv[i], "--load-ms"))
			o.load_ms = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--load-depth"))
			o.load_depth = atoi(argv[i + 1]);
		else
			o.frames = 0;	/* unknown option */
	}
	if ((argc - 3) % 2 || o.frames < 1 || o.w < 64 || o.h < 64 ||
	    o.dur_min_ms < 0 || o.dur_max_ms < o.dur_min_ms ||
	    o.captures < 0 || o.captures > o.frames || o.busy < 0 ||
	    o.busy > MAX_BUSY || o.load_ms < 1 || o.load_ms > 1000 ||
	    o.load_depth < 1 || o.load_depth > MAX_LOAD_DEPTH) {
		fprintf(stderr, "flipdemo: bad options\n");
		usage();
		return 2;
	}
	run(&o);
	return 0;
}
