// SPDX-License-Identifier: GPL-2.0
/*
 * vgem_bench: costs of vgem's uapi, printed as bench rows.
 *
 *   vgem_bench attach [N]     FENCE_ATTACH + FENCE_SIGNAL, ns per pair, on
 *                             whichever vgem is loaded (ours or stock)
 *   vgem_bench submit [N]     zero-duration jobs, submit to signal: jobs/s
 *                             on one engine and on two (ours only)
 *   vgem_bench combine A B    rows comparing "attach" outputs A (ours) and
 *                             B (stock); each file may hold several
 *                             rounds, and the median round counts
 *
 * Each figure is the median of 5 runs. Rows are lines
 * 'row {"name","unit","ours","baseline","ratio"}' for scripts/bench.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>
#include <xf86drm.h>
#include <drm.h>
#include <drm/vgem_drm.h>

#define RUNS 5

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return v[n / 2];
}

static int open_vgem(void)
{
	char path[64];

	for (int i = 0; i < 64; i++) {
		drmVersionPtr v;
		int fd;

		snprintf(path, sizeof(path), "/dev/dri/card%d", i);
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			continue;
		v = drmGetVersion(fd);
		if (v && !strcmp(v->name, "vgem")) {
			drmFreeVersion(v);
			return fd;
		}
		if (v)
			drmFreeVersion(v);
		close(fd);
	}
	fprintf(stderr, "vgem_bench: no vgem device\n");
	exit(1);
}

static void must(int ret, const char *what)
{
	if (ret) {
		fprintf(stderr, "vgem_bench: %s: %s\n", what, strerror(errno));
		exit(1);
	}
}

static uint32_t create(int fd, uint32_t w, uint32_t h, uint32_t *pitch)
{
	struct drm_mode_create_dumb c = { .width = w, .height = h, .bpp = 32 };

	must(drmIoctl(fd, DRM_IOCTL_MODE_CREATE_DUMB, &c), "CREATE_DUMB");
	if (pitch)
		*pitch = c.pitch;
	return c.handle;
}

static void bench_attach(long n)
{
	int fd = open_vgem();
	uint32_t handle = create(fd, 16, 16, NULL);
	double t[RUNS];

	for (int r = 0; r < RUNS; r++) {
		double t0 = now_ns();

		for (long i = 0; i < n; i++) {
			struct drm_vgem_fence_attach a = {
				.handle = handle, .flags = VGEM_FENCE_WRITE };
			struct drm_vgem_fence_signal s = { 0 };

			must(ioctl(fd, DRM_IOCTL_VGEM_FENCE_ATTACH, &a),
			     "FENCE_ATTACH");
			s.fence = a.out_fence;
			must(ioctl(fd, DRM_IOCTL_VGEM_FENCE_SIGNAL, &s),
			     "FENCE_SIGNAL");
		}
		t[r] = (now_ns() - t0) / n;
	}
	printf("attach_signal %.1f\n", median(t, RUNS));
	close(fd);
}

static void wait_fd(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	while (poll(&p, 1, -1) < 0 && errno == EINTR)
		;
	close(fd);
}

/*
 * Submits n zero-length jobs spread over `engines`; returns jobs/s. Every
 * 64th job carries an out-fence; with more than 2 of those pending the
 * oldest is waited for, so the file stays under its cap of jobs in flight.
 * Those fences are all on one engine, so another engine may still be
 * behind: EAGAIN (the cap) is the kernel's back-pressure, and the
 * submission is tried again after the marked jobs and 1 ms; the time
 * counts.
 */
static double submit_rate(int fd, uint32_t handle, long n, int engines)
{
	int window[4], head = 0, count = 0;
	double t0 = now_ns();

	for (long i = 0; i < n; i++) {
		bool mark = i % 64 == 63 || i == n - 1;
		int ret;
		struct drm_vgem_submit s = {
			.handle = handle, .op = VGEM_OP_NOP,
			.engine = i % engines,
			.flags = VGEM_SUBMIT_NO_IMPLICIT |
				 (mark ? VGEM_SUBMIT_OUT_FENCE_FD : 0),
			.out_fence_fd = -1,
		};

		while ((ret = ioctl(fd, DRM_IOCTL_VGEM_SUBMIT, &s)) &&
		       errno == EAGAIN) {
			while (count) {
				wait_fd(window[head]);
				head = (head + 1) % 4;
				count--;
			}
			usleep(1000);
		}
		must(ret, "SUBMIT");
		if (!mark)
			continue;
		window[(head + count++) % 4] = s.out_fence_fd;
		if (count > 2) {
			wait_fd(window[head]);
			head = (head + 1) % 4;
			count--;
		}
	}
	while (count--) {
		wait_fd(window[head]);
		head = (head + 1) % 4;
	}
	return n / ((now_ns() - t0) / 1e9);
}

static void bench_submit(long n)
{
	int fd = open_vgem();
	uint32_t handle = create(fd, 16, 16, NULL);
	double one[RUNS], two[RUNS];

	for (int r = 0; r < RUNS; r++) {
		one[r] = submit_rate(fd, handle, n, 1);
		two[r] = submit_rate(fd, handle, n, 2);
	}
	printf("row {\"name\": \"submit_to_signal_1_engine\", \"unit\": \"jobs/s\", \"ours\": %.0f, \"baseline\": null, \"ratio\": null}\n",
	       median(one, RUNS));
	printf("row {\"name\": \"submit_to_signal_2_engines\", \"unit\": \"jobs/s\", \"ours\": %.0f, \"baseline\": null, \"ratio\": null}\n",
	       median(two, RUNS));
	close(fd);
}

/* The median of every figure named @key in @path (one per round). */
static double read_figure(const char *path, const char *key)
{
	char name[64];
	double v, all[64];
	int n = 0;
	FILE *f = fopen(path, "r");

	if (!f) {
		perror(path);
		exit(1);
	}
	while (n < 64 && fscanf(f, "%63s %lf", name, &v) == 2)
		if (!strcmp(name, key))
			all[n++] = v;
	fclose(f);
	if (!n) {
		fprintf(stderr, "vgem_bench: no %s in %s\n", key, path);
		exit(1);
	}
	return median(all, n);
}

int main(int argc, char **argv)
{
	long n = argc > 2 ? atol(argv[2]) : 20000;

	if (argc >= 2 && !strcmp(argv[1], "attach")) {
		bench_attach(n);
	} else if (argc >= 2 && !strcmp(argv[1], "submit")) {
		bench_submit(n);
	} else if (argc == 4 && !strcmp(argv[1], "combine")) {
		double ours = read_figure(argv[2], "attach_signal");
		double stock = read_figure(argv[3], "attach_signal");

		printf("row {\"name\": \"fence_attach_signal\", \"unit\": \"ns/op\", \"ours\": %.1f, \"baseline\": %.1f, \"ratio\": %.3f}\n",
		       ours, stock, ours / stock);
	} else {
		fprintf(stderr, "usage: vgem_bench attach|submit [N] | combine OURS STOCK\n");
		return 2;
	}
	return 0;
}
