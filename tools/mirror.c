// SPDX-License-Identifier: GPL-2.0
/*
 * mirror: show what vkms scans out on QEMU's virtio-gpu output, so that a
 * person can watch the demo (scripts/demo --mirror, make demo DISPLAY_VM=gtk).
 *
 *   mirror OUTDIR [--wait-for FILE] [--every N] [--shots K]
 *                 [--shot-every M] [--engine E]
 *
 * Runs in the VM beside tools/flipdemo, which owns vkms (DRM master); the
 * mirror opens vkms after FILE exists (flipdemo's meta.txt, written once
 * it has lit its output), as a plain client, and owns virtio_gpu. Every N
 * vblanks of vkms output 0 it takes the framebuffer on vkms's primary
 * plane (GETFB: root only), finds the vgem buffer behind it (PRIME), and:
 *   1. VGEM_SUBMIT copies it into the back one of two virtio-gpu dumb
 *      buffers, imported into vgem, on vgem engine E. The copy is a reader
 *      of the frame: it waits for the frame's write fence (the render job;
 *      so the mirror never shows a frame vkms could not show yet), and the
 *      next render into that buffer waits for the copy.
 *   2. A nonblocking atomic flip of virtio_gpu to that buffer, with the
 *      copy's out-fence as IN_FENCE_FD: the stock driver waits for our
 *      fence before its transfer to the host.
 * Every M mirrored frames, up to K times, once the flip is done, it asks
 * the host for a QEMU screendump ($CF_SCREENDUMP, scripts/vm/run --gpu
 * virtio) and appends "png,frame,vkms_seq" to OUTDIR/mirror.csv: the frame
 * number read back from the pattern's top rows of the buffer on screen.
 * It stops on SIGTERM/SIGINT, or when vkms output 0 goes off.
 *
 *   mirror check PNG FRAME
 *
 * On the host: whether the screendump PNG shows exactly the test pattern
 * of FRAME (VGEM_OP_PATTERN), every pixel; prints "match WxH" or
 * "DIFFERS N pixels, first at X,Y", exit 0 only on a match.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <png.h>

#include "drmtest.h"
#include "igt.h"
#include "kms.h"
#include "vgem.h"
#include "virtio_gpu.h"

#define CACHE 8

struct src {
	uint32_t fb_id;
	uint32_t handle;	/* in vgem */
	uint32_t pitch, width, height;
};

struct mirror {
	struct kms_dev vk, v;
	drmModeModeInfo vmode;
	int vgem;
	struct kms_fb buf[2];		/* virtio_gpu dumb buffers */
	uint32_t buf_vgem[2];		/* their imports into vgem */
	int back;
	bool flip_pending;
	struct src cache[CACHE];
	int ncache;
	unsigned int engine;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = 1;
}

static void msleep(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static bool wait_file(const char *path, int timeout_ms)
{
	for (int t = 0; t < timeout_ms && !stop; t += 20) {
		if (!access(path, F_OK))
			return true;
		msleep(20);
	}
	return false;
}

/* The vgem buffer behind a vkms framebuffer (cached by framebuffer id). */
static struct src *lookup(struct mirror *m, uint32_t fb_id)
{
	struct drm_gem_close cl = { 0 };
	drmModeFBPtr fb;
	struct src *s;
	int dmabuf;

	for (int i = 0; i < m->ncache; i++)
		if (m->cache[i].fb_id == fb_id)
			return &m->cache[i];
	fb = drmModeGetFB(m->vk.fd, fb_id);
	if (!fb || !fb->handle) {
		fprintf(stderr, "mirror: GETFB %u: %s\n", fb_id,
			fb ? "no handle (needs root)" : strerror(errno));
		exit(1);
	}
	if (m->ncache == CACHE) {
		cl.handle = m->cache[0].handle;
		igt_ioctl(m->vgem, DRM_IOCTL_GEM_CLOSE, &cl);
		memmove(&m->cache[0], &m->cache[1],
			sizeof(m->cache[0]) * (CACHE - 1));
		m->ncache--;
	}
	s = &m->cache[m->ncache++];
	s->fb_id = fb_id;
	s->pitch = fb->pitch;
	s->width = fb->width;
	s->height = fb->height;
	igt_assert_eq(drmPrimeHandleToFD(m->vk.fd, fb->handle, DRM_CLOEXEC,
					 &dmabuf), 0);
	s->handle = prime_fd_to_handle(m->vgem, dmabuf);
	close(dmabuf);
	cl.handle = fb->handle;
	igt_ioctl(m->vk.fd, DRM_IOCTL_GEM_CLOSE, &cl);
	drmModeFreeFB(fb);
	return s;
}

/*
 * Waits up to 10 s for the pending flip's event. The stop signal may
 * interrupt the wait (EINTR): the flip is still pending, so wait on.
 */
static void flip_done(struct mirror *m)
{
	double end = igt_now() + 10;
	struct kms_event ev;

	if (!m->flip_pending)
		return;
	for (errno = 0; !kms_read_event(m->v.fd, 1000, &ev); errno = 0)
		igt_assert_f((errno == EINTR || !errno) && igt_now() < end,
			     "mirror: no virtio-gpu flip event\n");
	m->flip_pending = false;
}

/* Copy @s into the back buffer on vgem, flip virtio_gpu to it. */
static void mirror_frame(struct mirror *m, struct src *s)
{
	struct vgem_bo dst = {
		.handle = m->buf_vgem[m->back],
		.width = m->buf[m->back].width,
		.height = m->buf[m->back].height,
		.pitch = m->buf[m->back].pitch,
	};
	struct drm_vgem_submit sub = vgem_submit_desc(&dst, VGEM_OP_COPY);
	struct kms_req *req;
	int fence;

	sub.width = s->width < dst.width ? s->width : dst.width;
	sub.height = s->height < dst.height ? s->height : dst.height;
	sub.src_handle = s->handle;
	sub.src_stride = s->pitch;
	sub.engine = m->engine;
	fence = vgem_submit_fd(m->vgem, &sub);

	req = kms_req_new(&m->v);
	kms_req_set(req, m->v.out[0].primary, "FB_ID", m->buf[m->back].id);
	kms_req_set(req, m->v.out[0].primary, "IN_FENCE_FD", fence);
	igt_assert_eq(kms_req_commit(req, DRM_MODE_ATOMIC_NONBLOCK |
				     DRM_MODE_PAGE_FLIP_EVENT), 0);
	kms_req_free(req);
	close(fence);
	m->flip_pending = true;
	m->back ^= 1;
}

/* The frame number in the pattern's top rows (VGEM_OP_PATTERN), or -1. */
static long shown_frame(struct mirror *m)
{
	const struct kms_fb *fb = &m->buf[m->back ^ 1];
	uint32_t frame = 0;

	if (fb->width < 512)
		return -1;
	for (int bit = 0; bit < 32; bit++) {
		uint32_t px = kms_fb_get(fb, bit * 16 + 8, 8);

		if (px == 0xffffffff)
			frame |= 1u << bit;
		else if (px != 0xff000000)
			return -1;
	}
	return frame;
}

/* Ask the host for a screendump (scripts/vm/qmp-screendump). */
static bool screendump(const char *dir, const char *name)
{
	char path[512], status[64] = "";
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.req", dir, name);
	f = fopen(path, "w");
	if (!f)
		return false;
	fclose(f);
	snprintf(path, sizeof(path), "%s/%s.done", dir, name);
	if (!wait_file(path, 20000))
		return false;
	f = fopen(path, "r");
	if (f) {
		if (!fgets(status, sizeof(status), f))
			status[0] = 0;
		fclose(f);
	}
	return !strncmp(status, "ok", 2);
}

static void setup(struct mirror *m)
{
	kms_open(&m->vk);
	vgpu_open(&m->v, &m->vmode);
	m->vgem = drm_open_driver("vgem");
	for (int i = 0; i < 2; i++) {
		int dmabuf;

		kms_fb_create(m->v.fd, m->vmode.hdisplay, m->vmode.vdisplay,
			      DRM_FORMAT_XRGB8888, &m->buf[i]);
		kms_fb_fill(&m->buf[i], kms_rgb8(0xff, 0, 0, 0));
		dmabuf = prime_handle_to_fd(m->v.fd, m->buf[i].handle);
		m->buf_vgem[i] = prime_fd_to_handle(m->vgem, dmabuf);
		close(dmabuf);
	}
	kms_modeset(&m->v, &m->v.out[0], &m->vmode, &m->buf[0]);
	m->back = 1;
}

static int check_png(const char *path, uint32_t frame)
{
	png_image img = { .version = PNG_IMAGE_VERSION };
	long diff = 0, first = -1;
	uint32_t *px;

	if (!png_image_begin_read_from_file(&img, path)) {
		fprintf(stderr, "mirror: %s: %s\n", path, img.message);
		return 2;
	}
	img.format = PNG_FORMAT_BGRA;
	px = malloc(PNG_IMAGE_SIZE(img));
	if (!px || !png_image_finish_read(&img, NULL, px, 0, NULL)) {
		fprintf(stderr, "mirror: %s: %s\n", path, img.message);
		free(px);
		return 2;
	}
	for (uint32_t y = 0; y < img.height; y++)
		for (uint32_t x = 0; x < img.width; x++)
			if ((px[y * img.width + x] | 0xff000000) !=
			    vgem_pattern_pixel(x, y, frame)) {
				if (first < 0)
					first = (long)y * img.width + x;
				diff++;
			}
	if (diff)
		printf("DIFFERS %ld pixels, first at %ld,%ld\n", diff,
		       first % img.width, first / img.width);
	else
		printf("match %ux%u\n", img.width, img.height);
	free(px);
	return diff ? 1 : 0;
}

int main(int argc, char **argv)
{
	const char *out, *wait_for = NULL, *dumps = getenv("CF_SCREENDUMP");
	int every = 6, shots = 4, shot_every = 30, mirrored = 0, taken = 0;
	struct sigaction sa = { .sa_handler = on_signal };
	static struct mirror m;
	char csv[512];
	FILE *log;

	if (argc == 4 && !strcmp(argv[1], "check"))
		return check_png(argv[2], strtoul(argv[3], NULL, 0));
	if (argc < 2 || argv[1][0] == '-') {
		fprintf(stderr, "usage: mirror OUTDIR [--wait-for FILE] [--every N] [--shots K] [--shot-every M] [--engine E]\n"
			"       mirror check PNG FRAME\n");
		return 2;
	}
	out = argv[1];
	for (int i = 2; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--wait-for"))
			wait_for = argv[i + 1];
		else if (!strcmp(argv[i], "--every"))
			every = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--shots"))
			shots = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--shot-every"))
			shot_every = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--engine"))
			m.engine = strtoul(argv[i + 1], NULL, 0);
	}
	if (every < 1 || shot_every < 1 || shots < 0) {
		fprintf(stderr, "mirror: bad options\n");
		return 2;
	}
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	if (wait_for && !wait_file(wait_for, 600000)) {
		fprintf(stderr, "mirror: %s never came\n", wait_for);
		return 1;
	}
	mkdir(out, 0755);
	snprintf(csv, sizeof(csv), "%s/mirror.csv", out);
	log = fopen(csv, "w");
	igt_assert(log);
	fprintf(log, "png,frame,vkms_seq\n");
	setup(&m);
	printf("mirror: vkms output 0 -> virtio-gpu %dx%d, every %d vblanks\n",
	       m.vmode.hdisplay, m.vmode.vdisplay, every);
	fflush(stdout);

	while (!stop) {
		drmVBlank vbl = { 0 };
		drmModePlanePtr p;
		uint32_t fb_id;

		vbl.request.type = DRM_VBLANK_RELATIVE;
		vbl.request.sequence = every;
		if (drmWaitVBlank(m.vk.fd, &vbl))
			break;		/* output off, or a signal */
		p = drmModeGetPlane(m.vk.fd, m.vk.out[0].primary);
		fb_id = p ? p->fb_id : 0;
		drmModeFreePlane(p);
		if (!fb_id)
			break;
		flip_done(&m);
		mirror_frame(&m, lookup(&m, fb_id));
		mirrored++;
		if (dumps && taken < shots && mirrored % shot_every == 0) {
			char name[32];

			flip_done(&m);
			snprintf(name, sizeof(name), "mirror-%02d", taken);
			if (screendump(dumps, name)) {
				fprintf(log, "%s.png,%ld,%u\n", name,
					shown_frame(&m), vbl.reply.sequence);
				fflush(log);
				taken++;
			}
		}
	}
	flip_done(&m);
	fclose(log);
	printf("mirror: %d frames mirrored, %d screendumps\n", mirrored, taken);
	return 0;
}
