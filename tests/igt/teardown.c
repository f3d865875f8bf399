// SPDX-License-Identifier: GPL-2.0
/*
 * teardown: our modules unloaded and loaded again, 20 times in a row, with
 * work in flight from several processes each time.
 *
 * A cycle forks two or three vgem clients. Each one attaches fences and
 * leaves them pending, submits 20-50 ms jobs, some held back by its own
 * pending fence, some waiting for another client's jobs through out-fence
 * fds passed over a unix socket (and through a merged sync_file, which the
 * fence core imports), keeps a dma-buf and a mapping open, and says it is
 * ready. Then, with all of that in flight:
 *  - delete_module("vgem") and delete_module("fence") must fail with
 *    EAGAIN (EWOULDBLOCK): vgem because its reference count is not zero
 *    (each open file, dma-buf and vgem fence holds one), fence because
 *    modules using its symbols are loaded (delete_module() checks that
 *    first, whatever the count);
 *  - the clients go: SIGKILL mid-flight, or their own exit, or a mix;
 *  - every module is unloaded, last loaded first, retrying only while
 *    delete_module() says EAGAIN or EBUSY, for at most UNLOAD_BUDGET_S
 *    seconds each. What can still hold a reference once the clients are
 *    reaped: their files are closed by then (exit closes them before the
 *    parent can reap), which signals their attached fences at once, so the
 *    10 s expiry never matters; what is left are the jobs, which complete
 *    within their durations: at most 3 clients x 5 jobs x 50 ms = 0.75 s of
 *    engine time, plus, every fifth cycle, one job that hangs on purpose
 *    and is retired by the hang check hang_ms (2 s) after its start, plus
 *    the worker freeing them: under 3 s. The budget is more than three
 *    times that, for a slow TCG guest with KASAN;
 *  - they are loaded again from their files with the parameters the suite
 *    loaded them with (CF_MODULE_<NAME>, CF_MODULE_<NAME>_ARGS), and a
 *    job round trip proves the device works.
 * Leaks, armed timers and other damage are caught by the debug kernel
 * (kmemleak after the suite, DEBUG_OBJECTS, KASAN) and the runner's log
 * check. Whatever happens, the modules are loaded again at the end.
 *
 * It must run last in a suite: scripts/check puts it after every other
 * test. The modules cycled are those of CF_MODULES that are loaded (vkms
 * too: it uses the fence core). A driver adds its own clients to the
 * client table below (vkms: flips gated on fences).
 */
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <drm.h>
#include <linux/dma-buf.h>
#include <linux/sync_file.h>

#include "drmtest.h"
#include "igt.h"
#include "kms.h"
#include "vgem.h"

#define CYCLES			20
#define UNLOAD_BUDGET_S		10.0
#define MAX_CLIENTS		8	/* of every kind, in one cycle */
#define MS			1000000ull

/* ---- modules ---------------------------------------------------------- */

struct module {
	char name[32];
	char path[PATH_MAX];
	char args[256];
	bool cycled;	/* loaded when the test started */
};

static struct module mods[8];
static int nmods;

static struct module *find_module(const char *name)
{
	for (int i = 0; i < nmods; i++)
		if (!strcmp(mods[i].name, name))
			return &mods[i];
	return NULL;
}

static bool mod_loaded(const char *name)
{
	char path[96];

	snprintf(path, sizeof(path), "/sys/module/%.40s/initstate", name);
	return access(path, F_OK) == 0;
}

static long mod_refcnt(const char *name)
{
	char path[96], buf[32] = "";
	int fd;

	snprintf(path, sizeof(path), "/sys/module/%.40s/refcnt", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (read(fd, buf, sizeof(buf) - 1) <= 0)
		buf[0] = 0;
	close(fd);
	return atol(buf);
}

/* Modules that use @name (its holders), space separated, into @buf. */
static int mod_holders(const char *name, char *buf, size_t len)
{
	char path[96];
	struct dirent *e;
	DIR *d;
	int n = 0;

	buf[0] = 0;
	snprintf(path, sizeof(path), "/sys/module/%.40s/holders", name);
	d = opendir(path);
	if (!d)
		return 0;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' ||
		    strlen(buf) + strlen(e->d_name) + 2 > len)
			continue;
		if (n++)
			strcat(buf, " ");
		strcat(buf, e->d_name);
	}
	closedir(d);
	return n;
}

static int mod_unload(const char *name)
{
	return syscall(SYS_delete_module, name, O_NONBLOCK) ? -errno : 0;
}

static int mod_load(const struct module *m)
{
	int fd = open(m->path, O_RDONLY | O_CLOEXEC), ret;

	if (fd < 0)
		return -errno;
	ret = syscall(SYS_finit_module, fd, m->args, 0) ? -errno : 0;
	close(fd);
	return ret;
}

/*
 * Unloads @name, retrying only while delete_module() says the module is
 * busy (EAGAIN: referenced or used; EBUSY: still loading or going), for
 * at most @budget seconds. Returns 0 or -errno.
 */
static int unload_bounded(const char *name, double budget, int *tries,
			  double *secs)
{
	double t0 = igt_now();
	int ret;

	for (*tries = 1; ; (*tries)++) {
		ret = mod_unload(name);
		if ((ret != -EAGAIN && ret != -EBUSY) ||
		    igt_now() - t0 > budget)
			break;
		usleep(5000);
	}
	*secs = igt_now() - t0;
	return ret;
}

/* CF_MODULES="fence vgem vkms", CF_MODULE_FENCE=/.../fence.ko, ... */
static bool modules_from_env(char *why, size_t len)
{
	const char *list = getenv("CF_MODULES");
	char names[256];

	if (!list || !*list) {
		snprintf(why, len, "CF_MODULES is not set (scripts/check sets it)");
		return false;
	}
	snprintf(names, sizeof(names), "%s", list);
	for (char *s = strtok(names, " "); s && nmods < 8;
	     s = strtok(NULL, " ")) {
		struct module *m = &mods[nmods++];
		char var[64], *v;
		const char *path, *args;

		snprintf(m->name, sizeof(m->name), "%s", s);
		snprintf(var, sizeof(var), "CF_MODULE_%s", s);
		for (v = var; *v; v++)
			*v = *v == '-' ? '_' : toupper((unsigned char)*v);
		path = getenv(var);
		if (!path || access(path, R_OK)) {
			snprintf(why, len, "no module file in %s", var);
			return false;
		}
		snprintf(m->path, sizeof(m->path), "%s", path);
		strncat(var, "_ARGS", sizeof(var) - strlen(var) - 1);
		args = getenv(var);
		snprintf(m->args, sizeof(m->args), "%s", args ? args : "");
		m->cycled = mod_loaded(m->name);
	}
	return true;
}

/* The module's parameters are those it was loaded with. */
static void check_params(const struct module *m)
{
	char args[256];

	snprintf(args, sizeof(args), "%s", m->args);
	for (char *a = strtok(args, " "); a; a = strtok(NULL, " ")) {
		char *eq = strchr(a, '='), path[160], buf[64] = "";
		int fd;

		if (!eq)
			continue;
		*eq = 0;
		snprintf(path, sizeof(path), "/sys/module/%s/parameters/%s",
			 m->name, a);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		igt_assert_f(fd >= 0, "no %s\n", path);
		igt_assert_gt(read(fd, buf, sizeof(buf) - 1), 0);
		close(fd);
		buf[strcspn(buf, "\n")] = 0;
		/* bool parameters read Y/N */
		if (!strcmp(buf, "Y"))
			snprintf(buf, sizeof(buf), "1");
		else if (!strcmp(buf, "N"))
			snprintf(buf, sizeof(buf), "0");
		igt_assert_f(!strcmp(buf, eq + 1), "%s.%s is %s, not %s\n",
			     m->name, a, buf, eq + 1);
	}
}

/* ---- clients ---------------------------------------------------------- */

/* What a client saw go wrong; it cannot igt_assert (it would return into
 * the parent's code). */
struct shared {
	char error[MAX_CLIENTS][200];
};

static struct shared *sh;
static int engines = 1;
static pid_t pids[MAX_CLIENTS];
static int npids;

struct client {
	int idx;
	bool hang;	/* also submits a job that hangs (hang check) */
	int fd;
	int to_next, from_prev;	/* the ring of out-fences */
	int ready, cmd;
};

__attribute__((noreturn, format(printf, 2, 3)))
static void client_fail(struct client *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sh->error[c->idx], sizeof(sh->error[0]), fmt, ap);
	va_end(ap);
	_exit(2);
}

static void c_ioctl(struct client *c, unsigned long req, void *arg,
		    const char *what)
{
	if (igt_ioctl(c->fd, req, arg))
		client_fail(c, "%s: %s", what, strerror(errno));
}

static struct vgem_bo c_bo(struct client *c, uint32_t w, uint32_t h)
{
	struct drm_mode_create_dumb d = { .width = w, .height = h, .bpp = 32 };
	struct vgem_bo bo;

	c_ioctl(c, DRM_IOCTL_MODE_CREATE_DUMB, &d, "CREATE_DUMB");
	bo = (struct vgem_bo){ .handle = d.handle, .width = w, .height = h,
			       .bpp = 32, .pitch = d.pitch, .size = d.size };
	return bo;
}

static uint32_t c_attach(struct client *c, struct vgem_bo *bo, bool write)
{
	struct drm_vgem_fence_attach a = { .handle = bo->handle,
					   .flags = write ? VGEM_FENCE_WRITE : 0 };

	c_ioctl(c, DRM_IOCTL_VGEM_FENCE_ATTACH, &a, "FENCE_ATTACH");
	return a.out_fence;
}

static int c_export(struct client *c, struct vgem_bo *bo)
{
	struct drm_prime_handle p = { .handle = bo->handle,
				      .flags = DRM_CLOEXEC | DRM_RDWR };

	c_ioctl(c, DRM_IOCTL_PRIME_HANDLE_TO_FD, &p, "PRIME_HANDLE_TO_FD");
	return p.fd;
}

static int c_sync_of(struct client *c, int dmabuf)
{
	struct dma_buf_export_sync_file e = { .flags = DMA_BUF_SYNC_READ,
					      .fd = -1 };

	if (igt_ioctl(dmabuf, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, &e))
		client_fail(c, "EXPORT_SYNC_FILE: %s", strerror(errno));
	return e.fd;
}

static int c_merge(struct client *c, int a, int b)
{
	struct sync_merge_data m = { .name = "teardown", .fd2 = b };

	if (igt_ioctl(a, SYNC_IOC_MERGE, &m))
		client_fail(c, "SYNC_IOC_MERGE: %s", strerror(errno));
	return m.fence;
}

/* A job of @ms on @engine, waiting for @in; returns its out-fence fd. */
static int c_job(struct client *c, struct drm_vgem_submit s, unsigned int ms,
		 unsigned int engine, int32_t *in, unsigned int nin,
		 uint32_t extra_flags)
{
	s.duration_ns = ms * MS;
	s.engine = engine % engines;
	s.in_fences = (uintptr_t)in;
	s.num_in_fences = nin;
	s.flags |= VGEM_SUBMIT_OUT_FENCE_FD | extra_flags;
	c_ioctl(c, DRM_IOCTL_VGEM_SUBMIT, &s, "SUBMIT");
	return s.out_fence_fd;
}

static void send_fds(struct client *c, int *fds, int n)
{
	char cbuf[CMSG_SPACE(4 * sizeof(int))] = { 0 }, byte = 'f';
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = cbuf,
			      .msg_controllen = CMSG_SPACE(n * sizeof(int)) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);

	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(n * sizeof(int));
	memcpy(CMSG_DATA(cm), fds, n * sizeof(int));
	if (sendmsg(c->to_next, &msg, 0) != 1)
		client_fail(c, "sendmsg: %s", strerror(errno));
}

static void recv_fds(struct client *c, int *fds, int n)
{
	char cbuf[CMSG_SPACE(4 * sizeof(int))], byte;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = cbuf,
			      .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm;

	if (recvmsg(c->from_prev, &msg, 0) != 1)
		client_fail(c, "recvmsg: %s", strerror(errno));
	cm = CMSG_FIRSTHDR(&msg);
	if (!cm || cm->cmsg_type != SCM_RIGHTS ||
	    cm->cmsg_len != CMSG_LEN(n * sizeof(int)))
		client_fail(c, "recvmsg: no %d fds", n);
	memcpy(fds, CMSG_DATA(cm), n * sizeof(int));
}

/*
 * A vgem client: five jobs, three of them held back until this file goes,
 * three pending attached fences, a dma-buf and a mapping, out-fences
 * traded with its neighbours. Then ready, and it waits to be told to exit
 * or to be killed.
 */
static void vgem_client(struct client *c)
{
	struct vgem_bo t[3], gate, spare[2];
	int32_t in[2];
	int fa, fc, prev[2], merged, gate_dmabuf, gate_sync;
	char cmd;
	void *map;

	c->fd = __drm_open_driver("vgem");
	if (c->fd < 0)
		client_fail(c, "open vgem: %s", strerror(errno));
	for (int i = 0; i < 3; i++)
		t[i] = c_bo(c, 64, 64);
	gate = c_bo(c, 4, 4);
	spare[0] = c_bo(c, 4, 4);
	spare[1] = c_bo(c, 4, 4);

	/* Pending attached fences: a gate for our own jobs, two more. */
	c_attach(c, &gate, true);
	c_attach(c, &spare[0], true);
	c_attach(c, &spare[1], false);
	gate_dmabuf = c_export(c, &gate);	/* kept open */
	gate_sync = c_sync_of(c, gate_dmabuf);

	/* A: runs at once. C: held by our gate. */
	fa = c_job(c, vgem_submit_desc(&t[0], VGEM_OP_FILL), 20 + 10 * c->idx,
		   c->idx, NULL, 0, 0);
	in[0] = gate_sync;
	fc = c_job(c, vgem_submit_desc(&t[1], VGEM_OP_PATTERN), 40, c->idx,
		   in, 1, 0);

	/* Our A and C to the next client; the previous one's to us. */
	send_fds(c, (int[]){ fa, fc }, 2);
	recv_fds(c, prev, 2);

	/* B: after the previous client's A, on the other engine, with an id. */
	in[0] = prev[0];
	c_job(c, vgem_submit_desc(&t[2], VGEM_OP_FILL), 30, c->idx + 1, in, 1,
	      VGEM_SUBMIT_FENCE_ID);
	/*
	 * D: after the previous client's held C and our gate, both through
	 * one merged sync_file (a dma_fence_array: the fence core imports
	 * it), and after B (implicitly: same target).
	 */
	merged = c_merge(c, prev[1], gate_sync);
	in[0] = merged;
	c_job(c, vgem_submit_desc(&t[2], VGEM_OP_FILL), 50, c->idx + 1, in, 1,
	      0);
	/* E: copies C's result (implicitly held by C) over A's target. */
	{
		struct drm_vgem_submit s = vgem_submit_desc(&t[0], VGEM_OP_COPY);

		s.src_handle = t[1].handle;
		s.src_stride = t[1].pitch;
		c_job(c, s, 20, c->idx, NULL, 0, 0);
	}

	/* A job that never completes: the hang check retires it. */
	if (c->hang) {
		struct vgem_bo h = c_bo(c, 4, 4);

		c_job(c, vgem_submit_desc(&h, VGEM_OP_NOP), 20, c->idx, NULL, 0,
		      VGEM_SUBMIT_HANG);
	}

	/* A mapping, held to the end. */
	{
		struct drm_mode_map_dumb m = { .handle = t[1].handle };

		c_ioctl(c, DRM_IOCTL_MODE_MAP_DUMB, &m, "MAP_DUMB");
		map = mmap(NULL, t[1].size, PROT_READ, MAP_SHARED, c->fd,
			   m.offset);
		if (map == MAP_FAILED)
			client_fail(c, "mmap: %s", strerror(errno));
	}

	if (write(c->ready, "r", 1) != 1)
		client_fail(c, "ready: %s", strerror(errno));
	/* 'x': exit as is, every fd, fence and job left to the kernel. */
	while (read(c->cmd, &cmd, 1) < 0 && errno == EINTR)
		;
	_exit(0);
}

/*
 * A vkms client (one a cycle: it is the display's master) leaves a flip
 * gated on every output, each on a fence its own vgem file holds: output
 * 0 on an attached write fence of the buffer (the implicit fence), the
 * others on IN_FENCE_FD, the out-fence of a job held back by that fence.
 * Killed or exiting, its files go with the flips in flight: closing vgem
 * signals the attached fence (the flips arm, the job runs), closing vkms
 * cancels what is still gated.
 */
static void vkms_client(struct client *c)
{
	drmModeModeInfo mode = kms_mode(128, 96);
	struct kms_vgem_bo bo[KMS_MAX_OUTPUTS];
	struct kms_fb front[KMS_MAX_OUTPUTS];
	int gate_sync = -1;
	struct kms_dev dev;
	char cmd;

	/* the kms helpers assert: a failure ends this client only */
	if (sigsetjmp(igt_jmp, 1))
		client_fail(c, "vkms client: an assertion failed");
	c->fd = __drm_open_driver("vgem");
	if (c->fd < 0)
		client_fail(c, "open vgem: %s", strerror(errno));
	kms_open(&dev);
	for (int k = 0; k < dev.noutputs; k++) {
		struct kms_req *req;
		int in = -1;

		kms_fb_create(dev.fd, 128, 96, DRM_FORMAT_XRGB8888, &front[k]);
		kms_modeset(&dev, &dev.out[k], &mode, &front[k]);
		kms_vgem_bo_create(&dev, c->fd, 128, 96, DRM_FORMAT_XRGB8888,
				   &bo[k]);
		if (k == 0) {
			kms_vgem_fence_attach(c->fd, bo[0].handle, true);
			gate_sync = kms_dmabuf_sync_file(bo[0].dmabuf_fd, true);
		} else {
			struct vgem_bo vb = { .handle = bo[k].handle,
					      .width = 128, .height = 96,
					      .pitch = bo[k].pitch,
					      .size = bo[k].size };

			in = c_job(c, vgem_submit_desc(&vb, VGEM_OP_FILL), 10,
				   k, (int32_t[]){ gate_sync }, 1, 0);
		}
		req = kms_req_new(&dev);
		kms_req_set(req, dev.out[k].primary, "FB_ID", bo[k].fb_id);
		if (in >= 0)
			kms_req_set(req, dev.out[k].primary, "IN_FENCE_FD", in);
		if (kms_req_commit(req, DRM_MODE_ATOMIC_NONBLOCK |
				   DRM_MODE_PAGE_FLIP_EVENT))
			client_fail(c, "gated flip on output %d: %s", k,
				    strerror(errno));
		kms_req_free(req);
	}
	if (kms_stat(&dev, 0, "gated_pending") != 1)
		client_fail(c, "output 0: the flip is not gated");

	if (write(c->ready, "r", 1) != 1)
		client_fail(c, "ready: %s", strerror(errno));
	while (read(c->cmd, &cmd, 1) < 0 && errno == EINTR)
		;
	_exit(0);
}

/* Clients per driver (at most @max of a kind a cycle, if not 0). */
static const struct client_kind {
	const char *module;
	void (*run)(struct client *c);
	int max;
} kinds[] = {
	{ "vgem", vgem_client, 0 },
	{ "vkms", vkms_client, 1 },
};

/* ---- one cycle -------------------------------------------------------- */

struct cycle_stats {
	int clients, killed, in_flight;
	double unload_s[8];
	int tries[8];
	double reload_s;
	double total_s;
};

static int engines_in_flight(void)
{
	char path[320], line[256];
	struct dirent *e;
	int n = 0;
	DIR *d = opendir("/sys/kernel/debug/dri");

	if (!d)
		return -1;
	while ((e = readdir(d))) {
		FILE *f;

		/* Primary minors only: the render minor lists the same. */
		if (!isdigit((unsigned char)e->d_name[0]) ||
		    atoi(e->d_name) >= 64)
			continue;
		snprintf(path, sizeof(path), "/sys/kernel/debug/dri/%s/engines",
			 e->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f))
			n += !!strstr(line, "  job ");
		fclose(f);
	}
	closedir(d);
	return n;
}

static void reap_all(void)
{
	for (int i = 0; i < npids; i++) {
		if (pids[i] > 0) {
			kill(pids[i], SIGKILL);
			waitpid(pids[i], NULL, 0);
		}
		pids[i] = 0;
	}
	npids = 0;
}

/*
 * Forks @n clients of @kind (pids[] and cmd[] from npids on; each client
 * trades out-fences with its neighbours in a ring), returns when all of
 * them are ready. The first one also hangs a job if @hang.
 */
static void start_clients(const struct client_kind *kind, int n, int *cmd,
			  bool hang)
{
	int ready[2], ring[MAX_CLIENTS][2], first = npids;
	int got = 0;

	igt_assert_lte(first + n, MAX_CLIENTS);
	igt_assert_eq(pipe2(ready, O_CLOEXEC), 0);
	for (int i = 0; i < n; i++)
		igt_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, ring[i]), 0);
	for (int i = 0; i < n; i++) {
		int c2p[2];

		igt_assert_eq(pipe2(c2p, O_CLOEXEC), 0);
		pids[npids] = fork();
		igt_assert_gte(pids[npids], 0);
		if (!pids[npids]) {
			struct client c = {
				.idx = npids,
				.hang = hang && i == 0,
				.to_next = ring[i][0],
				.from_prev = ring[(i + n - 1) % n][1],
				.ready = ready[1],
				.cmd = c2p[0],
			};

			signal(SIGALRM, SIG_DFL);
			alarm(0);
			kind->run(&c);
			_exit(0);
		}
		close(c2p[0]);
		cmd[npids++] = c2p[1];
	}
	for (int i = 0; i < n; i++) {
		close(ring[i][0]);
		close(ring[i][1]);
	}
	close(ready[1]);
	while (got < n) {
		char b;
		ssize_t r = read(ready[0], &b, 1);

		if (r < 0 && errno == EINTR)
			continue;
		if (r != 1) {
			for (int i = first; i < npids; i++)
				if (sh->error[i][0])
					igt_info("client %d: %s\n", i,
						 sh->error[i]);
			igt_assert_f(false, "%d of %d clients ready\n", got, n);
		}
		got++;
	}
	close(ready[0]);
}

/* A job round trip on a fresh file: the driver works. */
static void round_trip(void)
{
	struct vgem_bo bo = { .width = 32, .height = 32 };
	struct drm_vgem_submit s;
	uint32_t *map;
	int fd = __drm_open_driver("vgem"), f;

	igt_assert_f(fd >= 0, "no vgem device after the reload\n");
	vgem_create(fd, &bo);
	s = vgem_submit_desc(&bo, VGEM_OP_FILL);
	s.color = 0xff00cc11;
	s.duration_ns = 5 * MS;
	f = vgem_submit_fd(fd, &s);
	igt_assert(sync_fence_wait(f, 10000));
	igt_assert_eq(sync_fence_status(f), 1);
	map = vgem_mmap(fd, &bo, PROT_READ);
	igt_assert_eq(map[bo.pitch / 4 * 31 + 31], 0xff00cc11);
	munmap(map, bo.size);
	close(f);
	gem_close(fd, bo.handle);
	close(fd);
}

/* Unloads every cycled module, last loaded first, then loads them again. */
static void unload_reload(struct cycle_stats *st)
{
	double t0;

	for (int i = nmods - 1; i >= 0; i--) {
		int ret;

		if (!mods[i].cycled)
			continue;
		ret = unload_bounded(mods[i].name, UNLOAD_BUDGET_S,
				     &st->tries[i], &st->unload_s[i]);
		igt_assert_f(ret == 0,
			     "delete_module(%s): %s after %d tries in %.2f s, refcnt %ld\n",
			     mods[i].name, strerror(-ret), st->tries[i],
			     st->unload_s[i], mod_refcnt(mods[i].name));
		igt_assert(!mod_loaded(mods[i].name));
	}
	t0 = igt_now();
	for (int i = 0; i < nmods; i++) {
		int ret;

		if (!mods[i].cycled)
			continue;
		ret = mod_load(&mods[i]);
		igt_assert_f(ret == 0, "finit_module(%s, \"%s\"): %s\n",
			     mods[i].path, mods[i].args, strerror(-ret));
		check_params(&mods[i]);
	}
	st->reload_s = igt_now() - t0;
	round_trip();
}

static void cycle(int nr, struct cycle_stats *st)
{
	int n = 2 + nr % 2, cmd[MAX_CLIENTS];
	/* 0: all killed; 1: client 0 exits, the rest killed; 2: all exit. */
	int how = nr % 3;
	bool hang = nr % 5 == 4;
	double t0 = igt_now();
	char line[256] = "";
	int ret;

	memset(st, 0, sizeof(*st));
	memset(sh, 0, sizeof(*sh));
	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		struct module *m = find_module(kinds[k].module);

		if (m && m->cycled)
			start_clients(&kinds[k], kinds[k].max && n > kinds[k].max ?
				      kinds[k].max : n, cmd, hang);
	}
	st->in_flight = engines_in_flight();

	/* Busy: each with the exact errno its state dictates. */
	igt_assert_gt(mod_refcnt("vgem"), 0);
	ret = mod_unload("vgem");
	igt_assert_f(ret == -EAGAIN, "delete_module(vgem) with clients: %d\n",
		     ret);
	ret = mod_unload("fence");
	igt_assert_f(ret == -EAGAIN, "delete_module(fence) with users: %d\n",
		     ret);
	igt_assert(mod_loaded("vgem") && mod_loaded("fence"));

	st->clients = n = npids;
	for (int i = 0; i < n; i++) {
		if (how == 2 || (how == 1 && i == 0)) {
			igt_assert_eq(write(cmd[i], "x", 1), 1);
		} else {
			igt_assert_eq(kill(pids[i], SIGKILL), 0);
			st->killed++;
		}
		close(cmd[i]);
	}
	for (int i = 0; i < n; i++) {
		int status;
		bool killed = !(how == 2 || (how == 1 && i == 0));

		igt_assert_eq(waitpid(pids[i], &status, 0), pids[i]);
		pids[i] = 0;
		if (sh->error[i][0])
			igt_info("client %d: %s\n", i, sh->error[i]);
		if (killed)
			igt_assert(WIFSIGNALED(status) &&
				   WTERMSIG(status) == SIGKILL);
		else
			igt_assert(WIFEXITED(status) &&
				   WEXITSTATUS(status) == 0);
	}
	npids = 0;

	unload_reload(st);
	st->total_s = igt_now() - t0;
	for (int i = nmods - 1; i >= 0; i--)
		if (mods[i].cycled)
			snprintf(line + strlen(line), sizeof(line) - strlen(line),
				 " %s %.2fs/%d", mods[i].name, st->unload_s[i],
				 st->tries[i]);
	igt_info("cycle %2d: %d clients (%d killed, %d exited), %d jobs queued%s; unload (time/tries):%s; reload %.2fs; cycle %.2fs\n",
		 nr, n, st->killed, n - st->killed, st->in_flight,
		 hang ? " (one hangs)" : "", line, st->reload_s, st->total_s);
}

/* ---- subtests --------------------------------------------------------- */

static void test_idle(void)
{
	struct cycle_stats st = { 0 };
	char line[256] = "";

	unload_reload(&st);
	for (int i = nmods - 1; i >= 0; i--)
		if (mods[i].cycled)
			snprintf(line + strlen(line), sizeof(line) - strlen(line),
				 " %s %.2fs/%d", mods[i].name, st.unload_s[i],
				 st.tries[i]);
	igt_info("idle: unload (time/tries):%s; reload %.2fs\n", line,
		 st.reload_s);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void test_under_load(void)
{
	struct cycle_stats st;
	double t0 = igt_now(), drain[CYCLES], reload_max = 0;
	int vgem = find_module("vgem") - mods, tries_max = 0;

	igt_set_timeout(1800);
	for (int c = 0; c < CYCLES; c++) {
		cycle(c, &st);
		drain[c] = st.unload_s[vgem];
		if (st.tries[vgem] > tries_max)
			tries_max = st.tries[vgem];
		if (st.reload_s > reload_max)
			reload_max = st.reload_s;
	}
	qsort(drain, CYCLES, sizeof(drain[0]), cmp_double);
	igt_info("teardown: %d cycles in %.1f s; vgem unloaded %.2f s after its clients were reaped (median), %.2f s at most (budget %.0f s), at most %d tries; reload at most %.2f s\n",
		 CYCLES, igt_now() - t0, drain[CYCLES / 2], drain[CYCLES - 1],
		 UNLOAD_BUDGET_S, tries_max, reload_max);
}

/* Whatever happened: no client left, every cycled module loaded. */
static void ensure_loaded(void)
{
	reap_all();
	for (int i = 0; i < nmods; i++) {
		int ret;

		if (!mods[i].cycled || mod_loaded(mods[i].name))
			continue;
		ret = mod_load(&mods[i]);
		igt_info("teardown: %s was not loaded: finit_module: %s\n",
			 mods[i].name, ret ? strerror(-ret) : "loaded again");
	}
}

static void setup(void)
{
	char why[160], holders[256];

	igt_require_f(geteuid() == 0, "needs root\n");
	igt_require_f(modules_from_env(why, sizeof(why)), "%s\n", why);
	igt_require_f(find_module("fence") && find_module("vgem") &&
		      find_module("fence")->cycled &&
		      find_module("vgem")->cycled,
		      "fence and vgem of this tree must be loaded\n");
	/* Every user of our modules must be one we can load again. */
	for (int i = 0; i < nmods; i++) {
		if (!mods[i].cycled)
			continue;
		mod_holders(mods[i].name, holders, sizeof(holders));
		for (char *h = strtok(holders, " "); h; h = strtok(NULL, " "))
			igt_require_f(find_module(h) && find_module(h)->cycled,
				      "%s is used by %s, not ours to reload\n",
				      mods[i].name, h);
	}
	engines = module_param_read("vgem", "engines");
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	igt_assert(sh != MAP_FAILED);
	for (int i = 0; i < nmods; i++)
		igt_info("teardown: %s %s \"%s\"%s\n", mods[i].name,
			 mods[i].path, mods[i].args,
			 mods[i].cycled ? "" : " (not loaded: left alone)");
}

igt_main
{
	igt_fixture
		setup();

	igt_subtest("idle")
		test_idle();
	igt_subtest("under-load")
		test_under_load();

	igt_fixture
		ensure_loaded();
}
