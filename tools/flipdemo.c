// SPDX-License-Identifier: GPL-2.0
/*
 * flipdemo: render on vgem, flip on vkms, and measure the way between.
 *
 *   flipdemo run OUTDIR [--frames N] [--mode WxH] [--dur MIN:MAX]
 *                       [--paths callback,userwait,worker] [--seed S]
 *   flipdemo crc W H FIRST LAST   expected CRC of each pattern frame
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
 * For every frame it records the fence's signal time (its sync_file
 * timestamp) and the latch (the flip event's vblank time and sequence); it
 * captures the CRC of every vblank; it traces fence signals, flip
 * deliveries, work items and wake-ups through tracefs. It writes
 * OUTDIR/PATH.frames.csv, PATH.crc.csv, PATH.trace and meta.txt; the host
 * (scripts/demo) verifies and reports.
 *
 * "crc" (on the host, fast): the CRC vkms computes of a full-screen frame
 * showing the pattern of each frame number, one per line.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "igt.h"
#include "kms.h"
#include "vgem.h"

#define RING 3
#define MAX_CRC 65536
#define TRACING "/sys/kernel/tracing"

struct opts {
	const char *out;
	int frames, w, h;
	int dur_min_ms, dur_max_ms;
	char paths[128];
	unsigned int seed;
};

struct frame {
	int dur_us;
	uint64_t t_submit, t_signal, t_latch;
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

static bool trace_start(void)
{
	static const char *const events[] = {
		"fence/fence_signaled", "drm/drm_vblank_event_delivered",
		"sched/sched_wakeup", "workqueue/workqueue_execute_start",
		"workqueue/workqueue_execute_end",
	};
	char path[256];

	if (access(TRACING "/trace", W_OK))
		return false;
	write_file(TRACING "/tracing_on", "0");
	write_file(TRACING "/trace_clock", "mono");
	write_file(TRACING "/buffer_size_kb", "16384");
	write_file(TRACING "/trace", "");
	for (size_t i = 0; i < sizeof(events) / sizeof(events[0]); i++) {
		snprintf(path, sizeof(path), TRACING "/events/%s/enable",
			 events[i]);
		write_file(path, "1");
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

static int run_path(struct opts *o, const char *path,
		    struct kms_dev *dev, int vgem, struct kms_vgem_bo *ring)
{
	const struct kms_output *out = &dev->out[0];
	struct crc_log *log = calloc(1, sizeof(*log));
	struct frame *f = calloc(o->frames, sizeof(*f));
	bool userwait = !strcmp(path, "userwait");
	bool traced;
	char file[512];
	FILE *csv;

	igt_assert(log && f);
	igt_assert(kms_param_set("gate", strcmp(path, "worker") ? 1 : 0));
	kms_crc_start(dev, out->index, &log->crc);
	igt_assert_eq(pthread_create(&log->thread, NULL, crc_reader, log), 0);
	traced = trace_start();

	for (int i = 0; i < o->frames; i++) {
		struct kms_vgem_bo *bo = &ring[i % RING];
		struct vgem_bo vb = { .handle = bo->handle, .width = bo->width,
				      .height = bo->height, .pitch = bo->pitch,
				      .size = bo->size };
		struct drm_vgem_submit s = vgem_submit_desc(&vb, VGEM_OP_PATTERN);
		struct kms_event ev;
		struct kms_req *req;
		int fence, ret;

		f[i].dur_us = o->dur_min_ms * 1000 +
			      rand_r(&o->seed) %
			      ((o->dur_max_ms - o->dur_min_ms) * 1000 + 1);
		s.frame = i;
		s.duration_ns = f[i].dur_us * 1000ull;
		f[i].t_submit = now_ns();
		fence = vgem_submit_fd(vgem, &s);
		if (userwait)
			igt_assert(sync_fence_wait(fence, 10000));

		req = kms_req_new(dev);
		kms_req_set(req, out->primary, "FB_ID", bo->fb_id);
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
		if ((i + 1) % (o->frames / 10 ? o->frames / 10 : 1) == 0 ||
		    i + 1 == o->frames)
			progress(path, i + 1, o->frames);
	}
	/* The last frame stays up a few vblanks: its CRCs are captured. */
	kms_wait_vblank(dev->fd, out->index, 3, NULL);
	if (traced) {
		snprintf(file, sizeof(file), "%s/%s.trace", o->out, path);
		trace_stop(file);
	}
	log->stop = 1;
	pthread_join(log->thread, NULL);
	kms_crc_stop(&log->crc);

	snprintf(file, sizeof(file), "%s/%s.frames.csv", o->out, path);
	csv = fopen(file, "w");
	igt_assert(csv);
	fprintf(csv, "frame,dur_us,t_submit,t_signal,t_latch,seq,status\n");
	for (int i = 0; i < o->frames; i++)
		fprintf(csv, "%d,%d,%llu,%llu,%llu,%u,%d\n", i, f[i].dur_us,
			(unsigned long long)f[i].t_submit,
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

static void run(struct opts *o)
{
	struct kms_vgem_bo ring[RING];
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

	snprintf(file, sizeof(file), "%s/meta.txt", o->out);
	meta = fopen(file, "w");
	igt_assert(meta);
	fprintf(meta, "width %d\nheight %d\nrefresh_ns %llu\nframes %d\n"
		"dur_min_ms %d\ndur_max_ms %d\nseed %u\npid %d\n", o->w, o->h,
		(unsigned long long)kms_mode_frame_ns(&mode), o->frames,
		o->dur_min_ms, o->dur_max_ms, o->seed, getpid());
	fclose(meta);

	printf("flipdemo: %dx%d, %d frames per path, jobs of %d-%d ms\n",
	       o->w, o->h, o->frames, o->dur_min_ms, o->dur_max_ms);
	for (p = strtok_r(o->paths, ",", &save); p;
	     p = strtok_r(NULL, ",", &save))
		run_path(o, p, &dev, vgem, ring);
	kms_param_set("gate", 1);
	kms_disable(&dev, &dev.out[0]);
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

int main(int argc, char **argv)
{
	struct opts o = { .frames = 300, .w = 1280, .h = 720,
			  .dur_min_ms = 2, .dur_max_ms = 20,
			  .paths = "callback,userwait,worker",
			  .seed = (unsigned int)time(NULL) };

	if (argc == 6 && !strcmp(argv[1], "crc")) {
		crcs(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]),
		     atoi(argv[5]));
		return 0;
	}
	if (argc < 3 || strcmp(argv[1], "run")) {
		fprintf(stderr, "usage: flipdemo run OUTDIR [--frames N] [--mode WxH] [--dur MIN:MAX] [--paths LIST] [--seed S]\n"
			"       flipdemo crc W H FIRST LAST\n");
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
	}
	if (o.frames < 1 || o.w < 64 || o.h < 64 ||
	    o.dur_min_ms < 0 || o.dur_max_ms < o.dur_min_ms) {
		fprintf(stderr, "flipdemo: bad options\n");
		return 2;
	}
	run(&o);
	return 0;
}
