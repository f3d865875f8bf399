// SPDX-License-Identifier: GPL-2.0
/*
 * kms_module: vkms unloaded and loaded again in the test: with num_outputs
 * 1 to 4 (each output lit, checked by CRC), and unloaded right after a
 * file was closed with a fence-gated flip in flight: the fence signals
 * after the module is gone, so a callback left behind would run code that
 * no longer exists (the guest's log is checked for oopses); and unloaded
 * right after a gate=0 flip that waited for its fence in the DRM helpers'
 * worker, which the unload must wait for. The module is
 * put back as it was at the end (no parameters, as make check loads it).
 *
 * The module file: $CF_MODULE_VKMS (set by scripts/check) or $VKMS_KO,
 * else drivers/gpu/drm/vkms/vkms.ko of the tree
 * this binary was built in (build/tests/igt/ under the top directory).
 */
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
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

static void test_outputs(int n)
{
	char params[32];
	struct kms_dev dev;
	struct kms_fb fb[KMS_MAX_OUTPUTS];
	drmModeModeInfo mode = kms_mode(160, 120);

	snprintf(params, sizeof(params), "num_outputs=%d", n);
	reload(params);
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
	reload("");
}

static void test_bad_params(void)
{
	igt_assert_eq(unload(), 0);
	igt_assert_eq(load("num_outputs=0"), -EINVAL);
	igt_assert_eq(load("num_outputs=5"), -EINVAL);
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
	igt_subtest("bad-params")
		test_bad_params();
	igt_subtest("unload-gated-flip")
		test_unload_gated();
	igt_subtest("unload-worker-flip")
		test_unload_worker();
}
