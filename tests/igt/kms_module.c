// SPDX-License-Identifier: GPL-2.0
/*
 * kms_module: vkms unloaded and loaded again in the test: with num_outputs
 * 1 to 4 (each output lit, checked by CRC), with 0 and 8 overlays per
 * output (all planes composed at once, checked by CRC), and unloaded right after a
 * file was closed with a fence-gated flip in flight: the fence signals
 * after the module is gone, so a callback left behind would run code that
 * no longer exists (the guest's log is checked for oopses); and unloaded
 * right after a gate=0 flip that waited for its fence in the DRM helpers'
 * worker, which the unload must wait for. fbdev emulation: vkms's
 * framebuffer device shows what is written to it (CRC), fbdev=0 leaves it
 * out, an open /dev/fbN keeps vkms loaded, and vkms unloads with fbcon
 * bound to it. The module is put back as it was at the end (no
 * parameters, as make check loads it).
 *
 * The module file: $CF_MODULE_VKMS (set by scripts/check) or $VKMS_KO,
 * else drivers/gpu/drm/vkms/vkms.ko of the tree
 * this binary was built in (build/tests/igt/ under the top directory).
 */
#include <dirent.h>
#include <fcntl.h>
#include <linux/fb.h>
#include <linux/kd.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "drmtest.h"
#include "igt.h"
#include "kms.h"
#include "kms_vgem.h"

static char ko_path[PATH_MAX];

/*
 * After an unload test, with vkms loaded again: drop the vgem buffer and
 * the vgem file, then check that the new vkms lights a CRTC.
 */
static void release_and_check(int vgem, struct kms_vgem_bo *bo)
{
	struct drm_gem_close cl = { .handle = bo->handle };
	drmModeModeInfo mode = kms_mode(160, 120);
	struct kms_dev dev;
	struct kms_fb front;

	munmap(bo->map, bo->size);
	close(bo->dmabuf_fd);
	igt_ioctl(vgem, DRM_IOCTL_GEM_CLOSE, &cl);
	close(vgem);
	kms_open(&dev);
	kms_fb_create(dev.fd, 160, 120, DRM_FORMAT_XRGB8888, &front);
	kms_modeset(&dev, &dev.out[0], &mode, &front);
	kms_disable(&dev, &dev.out[0]);
	kms_fb_destroy(&front);
	kms_close(&dev);
}

/* Was @path built for the running kernel? (its vermagic starts so) */
static bool built_for_me(const char *path)
{
	static const char key[] = "vermagic=";
	struct utsname u;
	char *buf, *p;
	bool ok = false;
	FILE *f;
	long n;

	if (uname(&u) || !(f = fopen(path, "rb")))
		return false;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = n > 0 ? malloc(n + 1) : NULL;
	if (buf && fread(buf, 1, n, f) == (size_t)n) {
		buf[n] = 0;
		for (p = buf; p + sizeof(key) < buf + n; p++) {
			if (!memcmp(p, key, sizeof(key) - 1)) {
				p += sizeof(key) - 1;
				ok = !strncmp(p, u.release, strlen(u.release)) &&
				     p[strlen(u.release)] == ' ';
				break;
			}
		}
	}
	free(buf);
	fclose(f);
	return ok;
}

static bool find_ko(void)
{
	static const char *const rel[] = {
		/* make check-debug builds a copy of the tree there */
		"build/debug/drivers/gpu/drm/vkms/vkms.ko",
		"drivers/gpu/drm/vkms/vkms.ko",
	};
	const char *env = getenv("VKMS_KO");
	char exe[PATH_MAX], *top;
	ssize_t n;

	if (env) {
		snprintf(ko_path, sizeof(ko_path), "%s", env);
		return built_for_me(ko_path);
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return false;
	exe[n] = 0;
	/* <top>/build/tests/igt/<binary> */
	top = dirname(exe);
	for (unsigned int i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
		snprintf(ko_path, sizeof(ko_path), "%s/../../../%s", top,
			 rel[i]);
		if (built_for_me(ko_path))
			return true;
	}
	return false;
}

static int unload(void)
{
	/* the device may still be held for a moment by a closing file */
	for (int i = 0; i < 100; i++) {
		if (!syscall(SYS_delete_module, "vkms", O_NONBLOCK))
			return 0;
		if (errno != EAGAIN && errno != EBUSY)
			return -errno;
		usleep(20000);
	}
	return -EBUSY;
}

static int load(const char *params)
{
	int fd = open(ko_path, O_RDONLY | O_CLOEXEC), ret;

	if (fd < 0)
		return -errno;
	ret = syscall(SYS_finit_module, fd, params, 0);
	ret = ret ? -errno : 0;
	close(fd);
	return ret;
}

static void reload(const char *params)
{
	igt_assert_eq(unload(), 0);
	igt_assert_eq(load(params), 0);
}

/* Each of the @n outputs of the loaded vkms lit, and checked by CRC. */
static void light_outputs(int n)
{
	struct kms_dev dev;
	struct kms_fb fb[KMS_MAX_OUTPUTS];
	drmModeModeInfo mode = kms_mode(160, 120);

	kms_open(&dev);
	igt_assert_eq(dev.noutputs, n);
	igt_assert_eq(kms_param_get("num_outputs"), n);
	for (int k = 0; k < n; k++) {
		struct kms_layer l = {
			.fb = &fb[k], .w = 160, .h = 120, .alpha = 0xffff,
		};
		struct kms_crc crc;
		uint32_t seq, got;

		kms_fb_create(dev.fd, 160, 120, DRM_FORMAT_XRGB8888, &fb[k]);
		kms_fb_pattern(&fb[k], k, false);
		kms_modeset(&dev, &dev.out[k], &mode, &fb[k]);
		seq = kms_vblank_now(dev.fd, k, NULL);
		kms_crc_start(&dev, k, &crc);
		got = kms_crc_at(&crc, seq + 1, NULL);
		kms_crc_stop(&crc);
		igt_assert_eq(got, kms_ref_crc(&l, 1, 160, 120));
	}
	/* unloaded with every output on: the module turns them off */
	for (int k = 0; k < n; k++)
		munmap(fb[k].map, fb[k].size);
	kms_close(&dev);
}

static void test_outputs(int n)
{
	char params[32];

	snprintf(params, sizeof(params), "num_outputs=%d", n);
	reload(params);
	light_outputs(n);
	reload("");
}

/* A subtest that fails with vkms unloaded loads it again. */
static void load_again(void *arg)
{
	(void)arg;
	if (kms_param_get("gate") < 0)
		load("");
}

/*
 * num_overlays=@n: each output has @n overlays, and every plane of the
 * last output composes at once (CRC).
 */
static void test_overlays(int n)
{
	char params[48];
	struct kms_dev dev;

	snprintf(params, sizeof(params), "num_outputs=2 num_overlays=%d", n);
	igt_cleanup_push(load_again, NULL);
	reload(params);
	igt_assert_eq(kms_param_get("num_overlays"), n);
	kms_open(&dev);
	for (int k = 0; k < dev.noutputs; k++)
		igt_assert_eq(dev.out[k].noverlays, n);
	kms_check_all_planes(&dev, &dev.out[dev.noutputs - 1]);
	kms_close(&dev);
	reload("");
	igt_cleanup_pop(NULL, false);
}

static void test_bad_params(void)
{
	igt_assert_eq(unload(), 0);
	igt_assert_eq(load("num_outputs=0"), -EINVAL);
	igt_assert_eq(load("num_outputs=5"), -EINVAL);
	igt_assert_eq(load("num_overlays=9"), -EINVAL);
	igt_assert_eq(load("num_overlays=-1"), -EINVAL);
	igt_assert_eq(load(""), 0);
}

static void test_unload_gated(void)
{
	struct kms_vgem_bo bo;
	struct kms_dev dev;
	struct kms_fb front;
	struct kms_req *req;
	drmModeModeInfo mode = kms_mode(160, 120);
	uint32_t fence;
	int vgem, sf;

	kms_open(&dev);
	vgem = kms_vgem_open();
	kms_fb_create(dev.fd, 160, 120, DRM_FORMAT_XRGB8888, &front);
	kms_modeset(&dev, &dev.out[0], &mode, &front);
	kms_vgem_bo_create(&dev, vgem, 160, 120, DRM_FORMAT_XRGB8888, &bo);
	fence = kms_vgem_fence_attach(vgem, bo.handle, true);
	sf = kms_dmabuf_sync_file(bo.dmabuf_fd, true);
	req = kms_req_new(&dev);
	kms_req_set(req, dev.out[0].primary, "FB_ID", bo.fb_id);
	igt_assert_eq(kms_req_commit(req, DRM_MODE_ATOMIC_NONBLOCK |
				     DRM_MODE_PAGE_FLIP_EVENT), 0);
	kms_req_free(req);
	igt_assert_eq(kms_stat(&dev, 0, "gated_pending"), 1);

	/* the process lets go of vkms, the fence still pending */
	munmap(front.map, front.size);
	kms_close(&dev);
	igt_assert_eq(unload(), 0);
	igt_assert_eq(kms_sync_file_status(sf, NULL), 0);
	/* signal it with vkms gone: nothing of vkms may run now */
	kms_vgem_fence_signal(vgem, fence);
	igt_assert(kms_sync_file_wait(sf, 1000));
	close(sf);
	igt_assert_eq(load(""), 0);

	release_and_check(vgem, &bo);
}

#ifdef VGEM_SUBMIT_HANG
/*
 * gate=0: a nonblocking flip goes to the DRM helpers' worker (on
 * system_unbound_wq, which vkms cannot flush), which waits for the plane
 * fence: here the implicit fence of a vgem job of 500 ms. Closing the file
 * waits for that commit (removing the file's framebuffers disables the
 * plane with a blocking commit); the module is unloaded right after, while
 * the worker may still be finishing: its last steps (the planes' cleanup,
 * the state put, which calls vkms's destroy hooks) need not be done when
 * the close returns, and the unload must wait for them. Code of vkms run
 * after the module is gone oopses (the guest's log is checked); a state
 * vkms failed to count down hangs the unload.
 */
static void test_unload_worker(void)
{
	struct kms_vgem_bo bo;
	struct kms_dev dev;
	struct kms_fb front;
	struct kms_req *req;
	drmModeModeInfo mode = kms_mode(160, 120);
	uint64_t worker0;
	int vgem, job;

	kms_open(&dev);
	igt_require(kms_param_set("gate", 0));
	vgem = kms_vgem_open();
	kms_fb_create(dev.fd, 160, 120, DRM_FORMAT_XRGB8888, &front);
	kms_modeset(&dev, &dev.out[0], &mode, &front);
	kms_vgem_bo_create(&dev, vgem, 160, 120, DRM_FORMAT_XRGB8888, &bo);
	{
		struct drm_vgem_submit s = {
			.handle = bo.handle,
			.op = VGEM_OP_FILL,
			.flags = VGEM_SUBMIT_OUT_FENCE_FD,
			.format = DRM_FORMAT_XRGB8888,
			.stride = bo.pitch,
			.width = bo.width,
			.height = bo.height,
			.color = 0xff00ff00,
			.duration_ns = 500 * 1000 * 1000,
		};

		igt_require_f(!igt_ioctl(vgem, DRM_IOCTL_VGEM_SUBMIT, &s),
			      "vgem without SUBMIT (the stock one)\n");
		job = s.out_fence_fd;
	}
	worker0 = kms_stat(&dev, 0, "flips_worker");
	req = kms_req_new(&dev);
	kms_req_set(req, dev.out[0].primary, "FB_ID", bo.fb_id);
	igt_assert_eq(kms_req_commit(req, DRM_MODE_ATOMIC_NONBLOCK |
				     DRM_MODE_PAGE_FLIP_EVENT), 0);
	kms_req_free(req);
	/* not gated, and the worker still waits for the job */
	igt_assert_eq(kms_stat(&dev, 0, "gated_pending"), 0);
	igt_assert_eq(kms_stat(&dev, 0, "flips_worker"), worker0);
	igt_assert_eq(kms_sync_file_status(job, NULL), 0);

	munmap(front.map, front.size);
	kms_close(&dev);
	igt_assert_eq(kms_sync_file_status(job, NULL), 1);
	igt_assert_eq(unload(), 0);
	close(job);
	igt_assert_eq(load(""), 0);

	igt_assert_eq(kms_param_get("gate"), 1);
	release_and_check(vgem, &bo);
}
#else
static void test_unload_worker(void)
{
	igt_skip("no vgem SUBMIT uapi header\n");
}
#endif

/* The DRM minor of vkms's card, from sysfs (no DRM file is opened). */
static int vkms_card_minor(void)
{
	const char *dir = "/sys/bus/platform/devices/vkms/drm";
	DIR *d = opendir(dir);
	struct dirent *e;
	int minor = -1;

	igt_assert_f(d, "no %s\n", dir);
	while ((e = readdir(d)))
		if (!strncmp(e->d_name, "card", 4))
			minor = atoi(e->d_name + 4);
	closedir(d);
	igt_assert_f(minor >= 0, "no card in %s\n", dir);
	return minor;
}

/* Is framebuffer @idx a child of vkms's platform device? */
static bool fb_is_vkms(int idx)
{
	char path[128], real[512], vkms[512];

	snprintf(path, sizeof(path), "/sys/class/graphics/fb%d/device", idx);
	if (!realpath(path, real) ||
	    !realpath("/sys/bus/platform/devices/vkms", vkms))
		return false;
	return !strcmp(real, vkms);
}

struct fbdev {
	int fd;
	struct fb_var_screeninfo var;
	struct fb_fix_screeninfo fix;
};

static void fbdev_close(void *arg)
{
	struct fbdev *fb = arg;

	close(fb->fd);
	fb->fd = -1;
}

/* Open vkms's /dev/fbN; closed by the subtest's cleanup. */
static void fbdev_open(struct fbdev *fb)
{
	char path[32];
	int idx = kms_fbdev_index();

	igt_require_f(idx >= 0, "vkms has no framebuffer device\n");
	snprintf(path, sizeof(path), "/dev/fb%d", idx);
	fb->fd = open(path, O_RDWR | O_CLOEXEC);
	igt_assert_f(fb->fd >= 0, "open %s\n", path);
	igt_cleanup_push(fbdev_close, fb);
	igt_assert_eq(ioctl(fb->fd, FBIOGET_VSCREENINFO, &fb->var), 0);
	igt_assert_eq(ioctl(fb->fd, FBIOGET_FSCREENINFO, &fb->fix), 0);
}

/* The console's mode before the test, put back by the cleanup. */
static int tty_fd = -1;
static long tty_mode = KD_TEXT;

static void console_restore(void *arg)
{
	(void)arg;
	if (tty_fd >= 0) {
		ioctl(tty_fd, KDSETMODE, tty_mode);
		close(tty_fd);
		tty_fd = -1;
	}
}

/*
 * The foreground console in graphics mode: fbcon, if bound to vkms's
 * framebuffer, stops drawing text and its cursor there. Without a
 * console (no VT) nothing draws either.
 */
static void console_graphics(void)
{
	igt_cleanup_push(console_restore, &tty_fd);
	tty_fd = open("/dev/tty0", O_RDWR | O_CLOEXEC);
	if (tty_fd < 0)
		return;
	if (ioctl(tty_fd, KDGETMODE, &tty_mode) ||
	    ioctl(tty_fd, KDSETMODE, KD_GRAPHICS)) {
		close(tty_fd);
		tty_fd = -1;
	}
}

/* The picture of @seed in the framebuffer's layout, as a kms_fb. */
static void pattern(const struct fbdev *fb, uint8_t *buf, uint32_t seed,
		    struct kms_fb *kfb)
{
	memset(kfb, 0, sizeof(*kfb));
	kfb->fd = -1;
	kfb->width = fb->var.xres;
	kfb->height = fb->var.yres;
	kfb->format = DRM_FORMAT_XRGB8888;
	kfb->cpp = 4;
	kfb->pitch = fb->fix.line_length;
	kfb->size = (uint64_t)kfb->pitch * kfb->height;
	kfb->map = buf;
	kms_fb_pattern(kfb, seed, false);
}

/*
 * Wait for the first output to show @want: its CRC entries read until one
 * is @want, at most @max of them (one per vblank), and the next one must
 * be @want too. On 6.1 fbdev writes to the scanned-out buffer itself and
 * the first entry already matches; from 6.11 it writes to a shadow that
 * the fbdev helper's worker copies into the buffer, for write() at once,
 * for a mapping after its deferred-I/O delay (50 ms).
 */
static void wait_crc(int minor, uint32_t want, int max)
{
	struct kms_dev dev = { .fd = -1, .minor = minor };
	struct kms_crc crc;
	uint32_t frame, v = ~want;
	int n = 0;

	kms_crc_start(&dev, 0, &crc);
	while (n < max && v != want) {
		kms_crc_get(&crc, &frame, &v);
		n++;
	}
	igt_assert_f(v == want, "CRC %08x after %d vblanks, want %08x\n", v,
		     n, want);
	kms_crc_get(&crc, &frame, &v);
	igt_assert_eq(v, want);
	kms_crc_stop(&crc);
	igt_info("shown after %d vblank(s)\n", n);
}

static void check_fbdev_exists(void)
{
	struct fbdev fb;

	fbdev_open(&fb);
	igt_assert(fb_is_vkms(kms_fbdev_index()));
	igt_assert(!strncmp(fb.fix.id, "vkmsdrmfb", 9));
	/* XRGB8888 at vkms's preferred mode, 1024x768 */
	igt_assert_eq(fb.var.bits_per_pixel, 32);
	igt_assert_eq(fb.var.xres, 1024);
	igt_assert_eq(fb.var.yres, 768);
	igt_assert_gte(fb.fix.line_length, fb.var.xres * 4);
	igt_assert_gte(fb.fix.smem_len, fb.fix.line_length * fb.var.yres);
	igt_cleanup_pop(&fb, true);
}

/*
 * No DRM file is opened: the fbdev client owns the display while no
 * program is DRM master (it lit the outputs at load and lights them again
 * after each last close). The console draws into the same buffer, so the
 * foreground console goes to graphics mode, as an X server does, and
 * back to text mode in the cleanup.
 */
static void check_fbdev_pattern(void)
{
	int minor = vkms_card_minor();
	struct kms_layer l = { .alpha = 0xffff };
	uint32_t want_write, want_map;
	struct kms_fb kfb;
	struct fbdev fb;
	size_t size;
	uint8_t *buf, *map;

	fbdev_open(&fb);
	console_graphics();
	size = (size_t)fb.fix.line_length * fb.var.yres;
	l.w = fb.var.xres;
	l.h = fb.var.yres;
	l.fb = &kfb;

	/* write() */
	buf = malloc(size);
	igt_assert(buf);
	pattern(&fb, buf, 0xfb1, &kfb);
	want_write = kms_ref_crc(&l, 1, fb.var.xres, fb.var.yres);
	igt_assert_eq(pwrite(fb.fd, buf, size, 0), (ssize_t)size);
	wait_crc(minor, want_write, 60);

	/* a shared mapping, another picture */
	map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fb.fd, 0);
	igt_assert(map != MAP_FAILED);
	pattern(&fb, map, 0xfb2, &kfb);
	want_map = kms_ref_crc(&l, 1, fb.var.xres, fb.var.yres);
	igt_assert_neq(want_map, want_write);
	wait_crc(minor, want_map, 60);

	munmap(map, size);
	free(buf);
	igt_cleanup_pop(&tty_fd, true);
	igt_cleanup_pop(&fb, true);
}

/*
 * The DRM helpers' fbdev emulation is a switch of drm_kms_helper, which
 * the test bed turns off for QEMU's virtio-gpu (scripts/vm/run); the
 * fbdev subtests turn it on and load vkms again, and their cleanup puts
 * both back: the switch as it was and vkms loaded with no parameters.
 */
#define FBDEV_EMULATION "/sys/module/drm_kms_helper/parameters/fbdev_emulation"

static char emulation_was = 'Y';

static bool write_emulation(char v)
{
	int fd = open(FBDEV_EMULATION, O_WRONLY);
	bool ok;

	if (fd < 0)
		return false;
	ok = write(fd, &v, 1) == 1;
	close(fd);
	return ok;
}

static void fbdev_restore(void *arg)
{
	(void)arg;
	if (kms_param_get("gate") >= 0)
		unload();
	write_emulation(emulation_was);
	load("");
}

/* vkms loaded again with @params, the emulation on. */
static void fbdev_setup(const char *params)
{
	char v = 0;
	int fd;

	igt_require_f(kms_param_get("fbdev") >= 0, "vkms without fbdev\n");
	fd = open(FBDEV_EMULATION, O_RDONLY);
	igt_require_f(fd >= 0, "no %s\n", FBDEV_EMULATION);
	igt_assert_eq(read(fd, &v, 1), 1);
	close(fd);
	emulation_was = v;
	igt_cleanup_push(fbdev_restore, NULL);
	igt_assert_eq(unload(), 0);
	igt_assert(write_emulation('Y'));
	igt_assert_eq(load(params), 0);
}

/*
 * fbdev emulation on: vkms's framebuffer device exists, shows on the
 * first output what write() and a mapping put in it, and vkms unloads
 * with it registered and the console bound to it.
 */
static void test_fbdev(void)
{
	fbdev_setup("");
	check_fbdev_exists();
	check_fbdev_pattern();
	igt_cleanup_pop(NULL, true);
}

/*
 * fbdev=0: no framebuffer device, the emulation on, and the outputs work
 * without it.
 */
static void test_fbdev_off(void)
{
	fbdev_setup("fbdev=0");
	igt_assert_eq(kms_param_get("fbdev"), 0);
	igt_assert_eq(kms_fbdev_index(), -1);
	light_outputs(1);
	igt_cleanup_pop(NULL, true);
	igt_assert_eq(kms_param_get("fbdev"), 1);
}

/*
 * A program that has the framebuffer device open and mapped keeps vkms
 * loaded (the fbdev helper pins the DRM driver's module for each open
 * from userspace); once it lets go, vkms unloads with its fbdev still
 * registered.
 */
static void test_unload_fbdev_open(void)
{
	char path[32];
	void *map;
	int fd, idx;

	fbdev_setup("");
	idx = kms_fbdev_index();
	igt_assert_gte(idx, 0);
	snprintf(path, sizeof(path), "/dev/fb%d", idx);
	fd = open(path, O_RDWR | O_CLOEXEC);
	igt_assert_f(fd >= 0, "open %s\n", path);
	map = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	igt_assert(map != MAP_FAILED);
	igt_assert_eq(unload(), -EBUSY);
	munmap(map, 4096);
	close(fd);
	igt_assert_eq(unload(), 0);
	igt_assert_eq(kms_fbdev_index(), -1);
	igt_assert_eq(load(""), 0);
	igt_assert_eq(kms_fbdev_index(), idx);
	igt_cleanup_pop(NULL, true);
}

igt_main
{
	igt_fixture {
		igt_require_f(find_ko(), "no vkms.ko (set VKMS_KO)\n");
		igt_require_f(getuid() == 0, "not root\n");
		igt_require(kms_param_get("gate") >= 0);
	}

	igt_subtest("outputs-1")
		test_outputs(1);
	igt_subtest("outputs-2")
		test_outputs(2);
	igt_subtest("outputs-4")
		test_outputs(4);
	igt_subtest("overlays-0")
		test_overlays(0);
	igt_subtest("overlays-8")
		test_overlays(8);
	igt_subtest("bad-params")
		test_bad_params();
	igt_subtest("unload-gated-flip")
		test_unload_gated();
	igt_subtest("unload-worker-flip")
		test_unload_worker();
	igt_subtest("fbdev")
		test_fbdev();
	igt_subtest("fbdev-off")
		test_fbdev_off();
	igt_subtest("unload-fbdev-open")
		test_unload_fbdev_open();
}
