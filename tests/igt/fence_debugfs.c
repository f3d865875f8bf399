// SPDX-License-Identifier: GPL-2.0
/*
 * fence_debugfs: /sys/kernel/debug/fence/pending lists every live
 * unsignaled fence (with fence.track=1, as make check loads it): a vgem
 * fence appears while it is pending, with its driver, timeline, context,
 * seqno and age, and is gone once it signals.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drmtest.h"
#include "igt.h"
#include "vgem.h"

#define PENDING "/sys/kernel/debug/fence/pending"

/* Lines of the listing that contain @what; the last such in @line. */
static int count_lines(const char *what, char *line, size_t len)
{
	char buf[512];
	int n = 0;
	FILE *f = fopen(PENDING, "r");

	igt_assert(f);
	while (fgets(buf, sizeof(buf), f))
		if (strstr(buf, what)) {
			n++;
			snprintf(line, len, "%s", buf);
		}
	fclose(f);
	return n;
}

static void require_tracking(void)
{
	igt_require_f(access(PENDING, R_OK) == 0, "no %s\n", PENDING);
	/* A bool parameter reads Y or N: strtol() gives 0 for both. */
	FILE *f = fopen("/sys/module/fence/parameters/track", "r");
	int c = f ? fgetc(f) : 'N';

	if (f)
		fclose(f);
	igt_require_f(c == 'Y', "fence.track is off\n");
}

static void test_attached(int fd)
{
	struct vgem_bo bo = { .width = 8, .height = 8 };
	char line[512] = "";
	unsigned long long ctx, seq;
	long long age;
	char drv[64], tl[64];
	uint32_t id;
	int before;

	vgem_create(fd, &bo);
	before = count_lines("driver=vgem timeline=attached", line,
			     sizeof(line));
	id = vgem_fence_attach(fd, bo.handle, true);
	igt_assert_eq(count_lines("driver=vgem timeline=attached", line,
				  sizeof(line)), before + 1);
	igt_assert_eq(sscanf(line,
			     "driver=%63s timeline=%63s context=%llu seqno=%llu age_ms=%lld",
			     drv, tl, &ctx, &seq, &age), 5);
	igt_assert_eq(strcmp(drv, "vgem"), 0);
	igt_assert_eq(seq, 1);
	igt_assert_gte(age, 0);
	vgem_fence_signal(fd, id);
	igt_assert_eq(count_lines("driver=vgem timeline=attached", line,
				  sizeof(line)), before);
	gem_close(fd, bo.handle);
}

static void test_job(int fd)
{
	struct vgem_bo bo = { .width = 8, .height = 8 }, gate = bo;
	struct drm_vgem_submit s;
	char line[512];
	uint32_t id;
	int before, dmabuf, in, out;

	vgem_create(fd, &bo);
	vgem_create(fd, &gate);
	id = vgem_fence_attach(fd, gate.handle, true);
	dmabuf = prime_handle_to_fd(fd, gate.handle);
	in = dmabuf_export_sync_file(dmabuf, false);
	before = count_lines("timeline=engine0", line, sizeof(line));

	s = vgem_submit_desc(&bo, VGEM_OP_NOP);
	s.in_fences = (uintptr_t)&in;
	s.num_in_fences = 1;
	out = vgem_submit_fd(fd, &s);
	/* Held back by its in-fence: its fence is pending and listed. */
	igt_assert_eq(count_lines("timeline=engine0", line, sizeof(line)),
		      before + 1);
	vgem_fence_signal(fd, id);
	igt_assert(sync_fence_wait(out, 10000));
	igt_assert_eq(count_lines("timeline=engine0", line, sizeof(line)),
		      before);
	close(out);
	close(in);
	close(dmabuf);
	gem_close(fd, bo.handle);
	gem_close(fd, gate.handle);
}

igt_main
{
	int fd = -1;

	igt_fixture {
		require_tracking();
		fd = drm_open_driver("vgem");
	}

	igt_subtest("attached")
		test_attached(fd);
	igt_subtest("job")
		test_job(fd);

	igt_fixture
		close(fd);
}
