// SPDX-License-Identifier: GPL-2.0
/*
 * vkms_bench: composer throughput of whichever vkms is loaded, printed as
 * bench rows by "combine".
 *
 *   vkms_bench compose [SECS]   for 1080p and 4K (60 Hz modes) and 1, 2
 *                               and 4 planes: light the output, open the
 *                               CRC ("auto"), and time every run of the
 *                               composer worker for SECS seconds (default
 *                               4); one line per configuration
 *   vkms_bench combine A B      rows comparing "compose" outputs A (ours)
 *                               and B (the upstream baseline)
 *
 * The method, the same for both drivers: each driver composes the frame
 * and computes its CRC in a worker on an ordered workqueue, queued by its
 * vblank timer when a CRC is wanted (upstream: vkms_composer_worker; ours:
 * vkms_compose_work). The tracefs events workqueue_execute_start and
 * workqueue_execute_end give the start and end of each run of that worker;
 * a run is one composition (with its CRC) of the current frame. Runs that
 * last under a tenth of the 90th percentile are empty (the worker found
 * nothing to do: it was queued again while it ran, and the run before
 * took that work) and are left out; with ours they can be most runs. Frames/s = 1 s / median run time. The CRC entries
 * are read all the while (so the DRM CRC buffer never overflows) and
 * counted: a configuration with no CRC entry fails.
 *
 * Planes: 1 = the primary (XRGB8888, full screen, opaque); 2 = plus an
 * overlay (ARGB8888, per-pixel alpha, a quarter of the screen); 4 = plus a
 * second overlay like it, overlapping the first, and the cursor plane
 * (ARGB8888, 256x256). Upstream vkms needs enable_overlay=1.
 *
 * Format and rotation rows (1080p, 1 plane): the primary in another
 * format (RGB565, XRGB16161616, NV12, YUV420, R8), or XRGB8888 rotated or
 * reflected (its buffer 1080x1920 when turned by 90 or 270). A driver
 * whose primary lacks the format or the rotation property prints
 * "unsupported" for it, and its row has no baseline figure.
 */
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "igt.h"
#include "kms.h"

#define TRACING "/sys/kernel/tracing"
#define MAX_RUNS 4096
#define MAX_SECS 120

struct config {
	const char *name;
	int w, h;
	int planes;
	uint32_t format;	/* of the primary; 0: XRGB8888 */
	uint32_t rotation;	/* of the primary; 0: none set */
};

static const struct config configs[] = {
	{ "1080p", 1920, 1080, 1, 0, 0 },
	{ "1080p", 1920, 1080, 2, 0, 0 },
	{ "1080p", 1920, 1080, 4, 0, 0 },
	{ "4k", 3840, 2160, 1, 0, 0 },
	{ "4k", 3840, 2160, 2, 0, 0 },
	{ "4k", 3840, 2160, 4, 0, 0 },
	{ "1080p_argb8888", 1920, 1080, 1, DRM_FORMAT_ARGB8888, 0 },
	{ "1080p_rgb565", 1920, 1080, 1, DRM_FORMAT_RGB565, 0 },
	{ "1080p_xrgb16161616", 1920, 1080, 1, DRM_FORMAT_XRGB16161616, 0 },
	{ "1080p_nv12", 1920, 1080, 1, DRM_FORMAT_NV12, 0 },
	{ "1080p_yuv420", 1920, 1080, 1, DRM_FORMAT_YUV420, 0 },
	{ "1080p_r8", 1920, 1080, 1, DRM_FORMAT_R8, 0 },
	{ "1080p_rot90", 1920, 1080, 1, 0, KMS_ROTATE_90 },
	{ "1080p_rot180", 1920, 1080, 1, 0, KMS_ROTATE_180 },
	{ "1080p_rot270", 1920, 1080, 1, 0, KMS_ROTATE_270 },
	{ "1080p_reflectx", 1920, 1080, 1, 0, KMS_ROTATE_0 | KMS_REFLECT_X },
};

#define NCONFIGS (sizeof(configs) / sizeof(configs[0]))

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void tracefs_write(const char *file, const char *val)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), TRACING "/%s", file);
	fd = open(path, O_WRONLY | O_TRUNC);
	igt_assert_f(fd >= 0, "open %s\n", path);
	igt_assert_f(write(fd, val, strlen(val)) == (ssize_t)strlen(val),
		     "write %s to %s\n", val, path);
	close(fd);
}

static void trace_events(bool on)
{
	const char *v = on ? "1" : "0";

	tracefs_write("events/workqueue/workqueue_execute_start/enable", v);
	tracefs_write("events/workqueue/workqueue_execute_end/enable", v);
}

/*
 * Durations (ns) of the composer worker's runs in the trace buffer. Lines
 * look like "<task>-<pid> [cpu] <flags> <secs>.<usecs>: workqueue_execute_
 * start: work struct <p>: function <name>". The worker is on an ordered
 * workqueue: its runs never overlap, so a start pairs with the next end.
 */
static int composer_runs(double *runs, int max)
{
	FILE *f = fopen(TRACING "/trace", "r");
	char line[512];
	double start = -1;
	int n = 0;

	igt_assert_f(f, "open " TRACING "/trace\n");
	while (fgets(line, sizeof(line), f) && n < max) {
		char *ev, *fn, *p;
		double t;

		if (line[0] == '#')
			continue;
		ev = strstr(line, ": workqueue_execute_");
		fn = strstr(line, "function vkms_compose");
		if (!ev || !fn)
			continue;
		/* the timestamp is the last field before the event name */
		*ev = 0;
		p = strrchr(line, ' ');
		if (!p)
			continue;
		t = strtod(p + 1, NULL);
		if (!strncmp(ev + 2, "workqueue_execute_start", 23))
			start = t;
		else if (start >= 0 && t >= start)
			runs[n++] = (t - start) * 1e9, start = -1;
	}
	fclose(f);
	return n;
}

static void fb_fill_alpha(struct kms_fb *fb, uint32_t seed)
{
	kms_fb_pattern(fb, seed, true);
}

/* Whether the primary of @o shows @format, with @rotation if not 0. */
static bool supported(struct kms_dev *dev, const struct kms_output *o,
		      uint32_t format, uint32_t rotation)
{
	drmModePlanePtr p = drmModeGetPlane(dev->fd, o->primary);
	bool found = false;

	igt_assert(p);
	for (uint32_t i = 0; i < p->count_formats; i++)
		found |= p->formats[i] == format;
	drmModeFreePlane(p);
	return found && (!rotation || kms_prop(dev->fd, o->primary,
					       DRM_MODE_OBJECT_PLANE,
					       "rotation"));
}

/* Measure one configuration; prints its line. */
static void measure(struct kms_dev *dev, const struct config *c, double secs)
{
	const struct kms_output *o = &dev->out[0];
	drmModeModeInfo mode = kms_mode(c->w, c->h);
	struct kms_fb prim, ov[2], cur;
	static double runs[MAX_RUNS];
	double t0, median, sum = 0, kept[MAX_RUNS];
	int i, n, nk = 0, entries = 0;
	struct kms_req *req;
	struct kms_crc crc;
	uint32_t frame, value;

	uint32_t format = c->format ? c->format : DRM_FORMAT_XRGB8888;
	bool turned = c->rotation & (KMS_ROTATE_90 | KMS_ROTATE_270);

	if (!supported(dev, o, format, c->rotation)) {
		printf("compose %s %d unsupported\n", c->name, c->planes);
		fflush(stdout);
		return;
	}
	kms_fb_create(dev->fd, c->w, c->h, DRM_FORMAT_XRGB8888, &prim);
	kms_fb_pattern(&prim, 1, false);
	kms_modeset(dev, o, &mode, &prim);
	if (c->format || c->rotation) {
		struct kms_fb fb;

		/* the primary again in the format, or turned */
		kms_fb_create(dev->fd, turned ? c->h : c->w,
			      turned ? c->w : c->h, format, &fb);
		kms_fb_pattern(&fb, 1, false);
		req = kms_req_new(dev);
		kms_req_plane(req, o->primary, o->crtc_id, fb.id, 0, 0, 0, 0,
			      c->w, c->h);
		if (turned) {
			kms_req_set(req, o->primary, "SRC_W",
				    (uint64_t)c->h << 16);
			kms_req_set(req, o->primary, "SRC_H",
				    (uint64_t)c->w << 16);
		}
		if (c->rotation)
			kms_req_set(req, o->primary, "rotation", c->rotation);
		igt_assert_eq(kms_req_commit(req, 0), 0);
		kms_req_free(req);
		kms_fb_destroy(&prim);
		prim = fb;
	}

	req = kms_req_new(dev);
	for (i = 0; i < 2 && c->planes >= 2 + i; i++) {
		igt_assert_f(i < o->noverlays, "no overlay plane %d\n", i);
		kms_fb_create(dev->fd, c->w / 2, c->h / 2, DRM_FORMAT_ARGB8888,
			      &ov[i]);
		fb_fill_alpha(&ov[i], 2 + i);
		kms_req_plane(req, o->overlay[i], o->crtc_id, ov[i].id, 0, 0,
			      c->w / 8 + i * c->w / 4, c->h / 8 + i * c->h / 4,
			      c->w / 2, c->h / 2);
	}
	if (c->planes >= 4) {
		igt_assert_f(o->cursor, "no cursor plane\n");
		kms_fb_create(dev->fd, 256, 256, DRM_FORMAT_ARGB8888, &cur);
		fb_fill_alpha(&cur, 4);
		kms_req_plane(req, o->cursor, o->crtc_id, cur.id, 0, 0,
			      c->w / 2, c->h / 4, 256, 256);
	}
	if (c->planes >= 2)
		igt_assert_eq(kms_req_commit(req, 0), 0);
	kms_req_free(req);

	kms_crc_start(dev, 0, &crc);
	/* settle: the first compositions allocate buffers */
	for (i = 0; i < 3; i++)
		kms_crc_get(&crc, &frame, &value);

	tracefs_write("trace", "");
	t0 = now_s();
	/*
	 * SECS, longer while no run of the composer has ended (a composition
	 * that takes longer than SECS: a slow driver on a loaded host), up
	 * to MAX_SECS.
	 */
	trace_events(true);
	do {
		double t1 = now_s();

		while (now_s() - t1 < secs) {
			kms_crc_get(&crc, &frame, &value);
			entries++;
		}
		n = composer_runs(runs, MAX_RUNS);
	} while (n < 2 && now_s() - t0 < MAX_SECS);
	/* (events on and off once: each switch patches the kernel's text) */
	trace_events(false);
	kms_crc_stop(&crc);
	n = composer_runs(runs, MAX_RUNS);

	igt_assert_f(n > 0, "no run of the composer worker was traced\n");
	memcpy(kept, runs, n * sizeof(*runs));
	qsort(kept, n, sizeof(*kept), cmp_double);
	/* the slowest tenth of the runs are compositions whatever else is */
	median = kept[n - 1 - n / 10];
	for (i = 0; i < n; i++)
		if (runs[i] >= median / 10)
			kept[nk++] = runs[i], sum += runs[i];
	qsort(kept, nk, sizeof(*kept), cmp_double);
	median = kept[nk / 2];
	printf("compose %s %d runs %d empty %d crc_entries %d median_ns %.0f mean_ns %.0f fps %.2f\n",
	       c->name, c->planes, nk, n - nk, entries, median, sum / nk,
	       1e9 / median);
	fflush(stdout);

	kms_disable(dev, o);
	if (c->rotation) {
		/* upright again, once the turned buffer is off */
		req = kms_req_new(dev);
		kms_req_set(req, o->primary, "rotation", KMS_ROTATE_0);
		igt_assert_eq(kms_req_commit(req, 0), 0);
		kms_req_free(req);
	}
	kms_fb_destroy(&prim);
	for (i = 0; i < 2 && c->planes >= 2 + i; i++)
		kms_fb_destroy(&ov[i]);
	if (c->planes >= 4)
		kms_fb_destroy(&cur);
}

static int bench_compose(double secs)
{
	struct kms_dev dev;
	unsigned int i;

	kms_open(&dev);
	for (i = 0; i < NCONFIGS; i++)
		measure(&dev, &configs[i], secs);
	kms_close(&dev);
	return 0;
}

/* The fps of configuration @c in a "compose" output, 0 if unsupported, or -1. */
static double read_fps(const char *path, const struct config *c)
{
	FILE *f = fopen(path, "r");
	char line[512], name[32];
	double fps;
	int planes;

	if (!f) {
		perror(path);
		exit(1);
	}
	while (fgets(line, sizeof(line), f)) {
		const char *p = strstr(line, " fps ");

		if (sscanf(line, "compose %31s %d", name, &planes) != 2 ||
		    (!p && !strstr(line, " unsupported")))
			continue;
		if (strcmp(name, c->name) || planes != c->planes)
			continue;
		if (strstr(line, " unsupported")) {
			fclose(f);
			return 0;
		}
		fps = strtod(p + 5, NULL);
		fclose(f);
		return fps;
	}
	fclose(f);
	return -1;
}

static int combine(const char *ours_path, const char *base_path)
{
	unsigned int i;
	int ret = 0;

	for (i = 0; i < NCONFIGS; i++) {
		const struct config *c = &configs[i];
		double ours = read_fps(ours_path, c);
		double base = read_fps(base_path, c);

		if (ours <= 0 || base < 0) {
			fprintf(stderr, "vkms_bench: no figure for %s %d planes\n",
				c->name, c->planes);
			ret = 1;
			continue;
		}
		if (!base) {
			/* the baseline lacks the format or the rotation */
			printf("row {\"name\": \"compose_crc_%s_%dplane%s\", \"unit\": \"frames/s\", \"ours\": %.2f, \"baseline\": null, \"ratio\": null}\n",
			       c->name, c->planes, c->planes > 1 ? "s" : "",
			       ours);
			continue;
		}
		printf("row {\"name\": \"compose_crc_%s_%dplane%s\", \"unit\": \"frames/s\", \"ours\": %.2f, \"baseline\": %.2f, \"ratio\": %.3f}\n",
		       c->name, c->planes, c->planes > 1 ? "s" : "", ours, base,
		       ours / base);
	}
	return ret;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "compose"))
		return bench_compose(argc > 2 ? atof(argv[2]) : 4);
	if (argc == 4 && !strcmp(argv[1], "combine"))
		return combine(argv[2], argv[3]);
	fprintf(stderr, "usage: vkms_bench compose [SECS] | combine OURS BASELINE\n");
	return 2;
}
