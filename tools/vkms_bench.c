// SPDX-License-Identifier: GPL-2.0
/*
 * vkms_bench: composer throughput of whichever vkms is loaded, printed as
 * bench rows by "combine".
 *
 *   vkms_bench compose [SECS]   for 1080p and 4K (60 Hz modes) and 1, 2
 *                               and 4 planes: light the output, open the
 *                               CRC ("auto"), and time every run of the
 *                               composer worker for SECS seconds (default
 *                               4), or longer until 3 runs are traced (at
 *                               most 8 * SECS); one line per configuration
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
 * Colour ("gamma_ctm" rows): the same with the CRTC's GAMMA_LUT set to a
 * falling ramp and its CTM to a matrix that mixes the channels (neither
 * the identity), each only where the driver has the property; the line
 * says which were set ("colour gamma+ctm", "colour gamma", "colour
 * none"). Upstream 6.1 vkms has neither, upstream 6.12 GAMMA_LUT only.
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
#include "kms_colour.h"

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

/* Measured again with the CRTC's colour properties set. */
static const struct config colour_configs[] = {
	{ "1080p", 1920, 1080, 1, 0, 0 },
	{ "1080p", 1920, 1080, 2, 0, 0 },
};

#define NCOLOUR (sizeof(colour_configs) / sizeof(colour_configs[0]))

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

static void trace_events_on(void)
{
	tracefs_write("events/workqueue/workqueue_execute_start/enable", "1");
	tracefs_write("events/workqueue/workqueue_execute_end/enable", "1");
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

/*
 * Set (or with @on false clear) the colour properties the CRTC has;
 * returns what was set, for the line.
 */
static const char *set_colour(struct kms_dev *dev, uint32_t crtc, bool on)
{
	bool gamma = kms_prop(dev->fd, crtc, DRM_MODE_OBJECT_CRTC, "GAMMA_LUT");
	bool ctm = kms_prop(dev->fd, crtc, DRM_MODE_OBJECT_CRTC, "CTM");
	struct drm_color_ctm m = { { 0 } };
	uint32_t gblob = 0, mblob = 0;
	struct kms_req *req;

	if (!gamma && !ctm)
		return "none";
	if (on && gamma) {
		int n = kms_prop_value(dev->fd, crtc, DRM_MODE_OBJECT_CRTC,
				       "GAMMA_LUT_SIZE");
		struct drm_color_lut *l = calloc(n, sizeof(*l));

		igt_assert(l && n > 1);
		for (int k = 0; k < n; k++)
			l[k].red = l[k].green = l[k].blue =
				0xffff - (uint32_t)k * 0xffff / (n - 1);
		gblob = kms_blob_create(dev->fd, l, n * sizeof(*l));
		free(l);
	}
	if (on && ctm) {
		/* 0.75 of each channel, 0.25 of the next one */
		for (int i = 0; i < 3; i++) {
			m.matrix[4 * i] = kms_ctm_coef(3, 4);
			m.matrix[3 * i + (i + 1) % 3] = kms_ctm_coef(1, 4);
		}
		mblob = kms_blob_create(dev->fd, &m, sizeof(m));
	}
	req = kms_req_new(dev);
	if (gamma)
		kms_req_set(req, crtc, "GAMMA_LUT", gblob);
	if (ctm)
		kms_req_set(req, crtc, "CTM", mblob);
	igt_assert_eq(kms_req_commit(req, 0), 0);
	kms_req_free(req);
	if (gblob)
		drmModeDestroyPropertyBlob(dev->fd, gblob);
	if (mblob)
		drmModeDestroyPropertyBlob(dev->fd, mblob);
	return gamma && ctm ? "gamma+ctm" : gamma ? "gamma" : "ctm";
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

/* Measure one configuration, with colour if @col; prints its line. */
static void measure(struct kms_dev *dev, const struct config *c, double secs,
		    bool col)
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
	const char *colour = NULL;

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
	if (col)
		colour = set_colour(dev, o->crtc_id, true);

	kms_crc_start(dev, 0, &crc);
	/* settle: the first compositions allocate buffers */
	for (i = 0; i < 3; i++)
		kms_crc_get(&crc, &frame, &value);

	tracefs_write("trace", "");
	t0 = now_s();
	/*
	 * SECS, longer until 3 runs of the composer have ended (a
	 * composition may take seconds: upstream's gamma LUT on TCG, a slow
	 * driver on a loaded host), up to MAX_SECS.
	 */
	trace_events_on();
	tracefs_write("tracing_on", "1");
	do {
		double t1 = now_s();

		while (now_s() - t1 < secs) {
			kms_crc_get(&crc, &frame, &value);
			entries++;
		}
		n = composer_runs(runs, MAX_RUNS);
	} while (n < 3 && now_s() - t0 < MAX_SECS);
	/*
	 * The events stay on (turning one on again changes nothing): each
	 * switch patches the kernel's text, and under QEMU TCG switching
	 * them while workers ran once ended in an int3 Oops (flipdemo).
	 */
	tracefs_write("tracing_on", "0");
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
	printf("compose %s %d%s runs %d empty %d crc_entries %d median_ns %.0f mean_ns %.0f fps %.2f%s%s\n",
	       c->name, c->planes, col ? " gamma_ctm" : "", nk, n - nk,
	       entries, median, sum / nk, 1e9 / median,
	       colour ? " colour " : "", colour ? colour : "");
	fflush(stdout);

	if (col)
		set_colour(dev, o->crtc_id, false);
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
		measure(&dev, &configs[i], secs, false);
	for (i = 0; i < NCOLOUR; i++)
		measure(&dev, &colour_configs[i], secs, true);
	kms_close(&dev);
	return 0;
}

/*
 * The fps of configuration @c (@col: with colour) in a "compose" output,
 * 0 if unsupported, or -1.
 */
static double read_fps(const char *path, const struct config *c, bool col)
{
	FILE *f = fopen(path, "r");
	char line[512], name[32], extra[32];
	double fps;
	int planes;

	if (!f) {
		perror(path);
		exit(1);
	}
	while (fgets(line, sizeof(line), f)) {
		const char *p = strstr(line, " fps ");

		if (sscanf(line, "compose %31s %d %31s", name, &planes,
			   extra) != 3 || (!p && !strstr(line, " unsupported")))
			continue;
		if (strcmp(name, c->name) || planes != c->planes ||
		    !strcmp(extra, "gamma_ctm") != col)
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

/* The row of configuration @c (@col: with colour); 0, or 1 if missing. */
static int combine_row(const char *ours_path, const char *base_path,
		       const struct config *c, bool col)
{
	double ours = read_fps(ours_path, c, col);
	double base = read_fps(base_path, c, col);

	if (ours <= 0 || base < 0) {
		fprintf(stderr, "vkms_bench: no figure for %s %d planes%s\n",
			c->name, c->planes, col ? " with colour" : "");
		return 1;
	}
	if (!base) {
		/* the baseline lacks the format or the rotation */
		printf("row {\"name\": \"compose_crc_%s_%dplane%s%s\", \"unit\": \"frames/s\", \"ours\": %.2f, \"baseline\": null, \"ratio\": null}\n",
		       c->name, c->planes, c->planes > 1 ? "s" : "",
		       col ? "_gamma_ctm" : "", ours);
		return 0;
	}
	printf("row {\"name\": \"compose_crc_%s_%dplane%s%s\", \"unit\": \"frames/s\", \"ours\": %.2f, \"baseline\": %.2f, \"ratio\": %.3f}\n",
	       c->name, c->planes, c->planes > 1 ? "s" : "",
	       col ? "_gamma_ctm" : "", ours, base, ours / base);
	return 0;
}

static int combine(const char *ours_path, const char *base_path)
{
	unsigned int i;
	int ret = 0;

	for (i = 0; i < NCONFIGS; i++)
		ret |= combine_row(ours_path, base_path, &configs[i], false);
	for (i = 0; i < NCOLOUR; i++)
		ret |= combine_row(ours_path, base_path, &colour_configs[i],
				   true);
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
