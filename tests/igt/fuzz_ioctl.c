// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz_ioctl: feed every ioctl of our drivers random, boundary and real
 * arguments from a seeded generator, from several processes and threads at
 * once, with random closes and exits mid-flight.
 *
 * The generator keeps pools of real handles, dma-buf fds, sync_file fds and
 * fence ids, and uses them most of the time, so calls reach deep paths
 * rather than bouncing off the first check. The outcome checked: no worker
 * dies of anything but its own planned exit, the engines drain afterwards
 * (no stuck job), and the kernel log stays clean (the runner checks it).
 *
 * FUZZ_CALLS (default 100000) and FUZZ_SEED (default: from the clock) tune
 * a run; `make fuzz FUZZ_CALLS=N SEED=S` passes them. The seed is printed
 * first, and a worker that dies prints its last call: rerun with that seed
 * to reproduce.
 */
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <drm.h>
#include <drm_fourcc.h>
#include <linux/dma-buf.h>
#include <linux/sync_file.h>

#include "drmtest.h"
#include "igt.h"
#include "vgem.h"

#define PROCS		3
#define THREADS		2
#define POOL		16

/* Shared between all workers: the call budget and each thread's last call. */
struct shared {
	atomic_long calls;
	long budget;
	/* Calls that got past every check: the fuzzer reaches deep paths. */
	atomic_long ok_submit, ok_attach, ok_signal, ok_prime, ok_dumb;
	struct {
		char what[160];
	} last[PROCS][THREADS];
};

static struct shared *sh;

struct rng {
	uint64_t s;
};

static uint64_t rnd(struct rng *r)
{
	/* xorshift64* */
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return r->s * 2685821657736338717ull;
}

static uint32_t below(struct rng *r, uint32_t n)
{
	return n ? (uint32_t)(rnd(r) % n) : 0;
}

static const uint32_t boundary[] = {
	0, 1, 2, 3, 4, 7, 8, 15, 16, 63, 64, 255, 256, 4095, 4096, 4097,
	16383, 16384, 16385, 65535, 65536, 0x7fffffff, 0x80000000,
	0xfffffffe, 0xffffffff,
};

/* A 32-bit value: mostly small and plausible, sometimes an edge. */
static uint32_t val32(struct rng *r)
{
	switch (below(r, 8)) {
	case 0:
		return (uint32_t)rnd(r);
	case 1:
	case 2:
		return boundary[below(r, sizeof(boundary) / sizeof(boundary[0]))];
	default:
		return below(r, 64);
	}
}

/* One thread's view: its pools of real objects, shared with its sibling. */
struct pools {
	pthread_mutex_t lock;
	int drm[4];			/* open vgem fds */
	struct vgem_bo bo[POOL];	/* on drm[0] */
	int dmabuf[POOL];
	int sync[POOL];
	uint32_t fence_id[POOL];
};

struct worker {
	struct pools *p;
	struct rng rng;
	int proc, thread;
	long done;
};

static int pick_fd(struct worker *w, int *set, int n)
{
	int fd = set[below(&w->rng, n)];

	if (below(&w->rng, 16) == 0)
		return (int)val32(&w->rng);	/* any number at all */
	return fd;
}

static uint32_t pick_handle(struct worker *w)
{
	if (below(&w->rng, 8) == 0)
		return val32(&w->rng);
	return w->p->bo[below(&w->rng, POOL)].handle;
}

static void put_fd(int *slot, int fd)
{
	int old = *slot;

	*slot = fd;
	if (old > 2)
		close(old);
}

static void note(struct worker *w, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sh->last[w->proc][w->thread].what,
		  sizeof(sh->last[0][0].what), fmt, ap);
	va_end(ap);
}

static void fuzz_dumb(struct worker *w, int fd)
{
	struct drm_mode_create_dumb c = { 0 };
	int slot = below(&w->rng, POOL);

	if (below(&w->rng, 4)) {
		/* Plausible: kept small, so jobs on it stay cheap. */
		c.width = 1 + below(&w->rng, 512);
		c.height = 1 + below(&w->rng, 512);
		c.bpp = below(&w->rng, 4) ? 32 : val32(&w->rng);
	} else {
		c.width = val32(&w->rng);
		c.height = val32(&w->rng);
		c.bpp = val32(&w->rng);
		c.flags = below(&w->rng, 4) ? 0 : val32(&w->rng);
		/* Refused, or bounded: never more than 16 MiB. */
		if ((uint64_t)c.width * c.height * (c.bpp / 8 + 1) > (16u << 20))
			c.height = 1;
	}
	note(w, "CREATE_DUMB %ux%u bpp %u flags %x", c.width, c.height, c.bpp,
	     c.flags);
	if (igt_ioctl(fd, DRM_IOCTL_MODE_CREATE_DUMB, &c) == 0) {
		struct vgem_bo *bo = &w->p->bo[slot];

		atomic_fetch_add(&sh->ok_dumb, 1);
		struct drm_gem_close cl = { .handle = bo->handle };

		/* Only modest buffers join the pool: guest memory is small. */
		if (fd == w->p->drm[0] && c.size <= (4u << 20)) {
			pthread_mutex_lock(&w->p->lock);
			if (bo->handle)
				igt_ioctl(fd, DRM_IOCTL_GEM_CLOSE, &cl);
			*bo = (struct vgem_bo){ .handle = c.handle,
				.width = c.width, .height = c.height,
				.bpp = c.bpp, .pitch = c.pitch, .size = c.size };
			pthread_mutex_unlock(&w->p->lock);
		} else {
			cl.handle = c.handle;
			igt_ioctl(fd, DRM_IOCTL_GEM_CLOSE, &cl);
		}
	}
}

static void fuzz_map(struct worker *w, int fd)
{
	struct drm_mode_map_dumb m = { .handle = pick_handle(w),
				       .pad = below(&w->rng, 8) ? 0 : 1 };
	void *p;

	note(w, "MAP_DUMB %u pad %u", m.handle, m.pad);
	if (igt_ioctl(fd, DRM_IOCTL_MODE_MAP_DUMB, &m))
		return;
	/* Map, never touch: a random length may run past the object. */
	p = mmap(NULL, 4096 * (1 + below(&w->rng, 4)), PROT_READ, MAP_SHARED,
		 fd, m.offset);
	if (p != MAP_FAILED)
		munmap(p, 4096);
}

static void fuzz_prime(struct worker *w, int fd)
{
	struct drm_prime_handle p = { 0 };
	int slot = below(&w->rng, POOL);

	if (below(&w->rng, 2)) {
		p.handle = pick_handle(w);
		p.flags = below(&w->rng, 4) ? DRM_CLOEXEC | DRM_RDWR :
			  val32(&w->rng);
		note(w, "PRIME_HANDLE_TO_FD %u flags %x", p.handle, p.flags);
		if (igt_ioctl(fd, DRM_IOCTL_PRIME_HANDLE_TO_FD, &p) == 0) {
			atomic_fetch_add(&sh->ok_prime, 1);
			pthread_mutex_lock(&w->p->lock);
			put_fd(&w->p->dmabuf[slot], p.fd);
			pthread_mutex_unlock(&w->p->lock);
		}
	} else {
		p.fd = pick_fd(w, w->p->dmabuf, POOL);
		note(w, "PRIME_FD_TO_HANDLE %d", p.fd);
		if (igt_ioctl(fd, DRM_IOCTL_PRIME_FD_TO_HANDLE, &p) == 0 &&
		    fd != w->p->drm[0]) {
			struct drm_gem_close cl = { .handle = p.handle };

			igt_ioctl(fd, DRM_IOCTL_GEM_CLOSE, &cl);
		}
	}
}

static void fuzz_close(struct worker *w, int fd)
{
	struct drm_gem_close cl = { .handle = val32(&w->rng),
				    .pad = below(&w->rng, 8) ? 0 : 1 };

	/* Real handles of drm[0] stay: others close random ones. */
	if (fd == w->p->drm[0])
		return;
	note(w, "GEM_CLOSE %u", cl.handle);
	igt_ioctl(fd, DRM_IOCTL_GEM_CLOSE, &cl);
}

static void fuzz_attach(struct worker *w, int fd)
{
	struct drm_vgem_fence_attach a = {
		.handle = pick_handle(w),
		.flags = below(&w->rng, 4) ? below(&w->rng, 2) : val32(&w->rng),
		.pad = below(&w->rng, 8) ? 0 : val32(&w->rng),
	};

	note(w, "FENCE_ATTACH %u flags %x pad %x", a.handle, a.flags, a.pad);
	if (igt_ioctl(fd, DRM_IOCTL_VGEM_FENCE_ATTACH, &a) == 0) {
		atomic_fetch_add(&sh->ok_attach, 1);
		if (fd == w->p->drm[0])
			w->p->fence_id[below(&w->rng, POOL)] = a.out_fence;
	}
}

static void fuzz_signal(struct worker *w, int fd)
{
	struct drm_vgem_fence_signal s = {
		.fence = below(&w->rng, 4) ? w->p->fence_id[below(&w->rng, POOL)]
					   : val32(&w->rng),
		.flags = below(&w->rng, 8) ? 0 : val32(&w->rng),
	};

	note(w, "FENCE_SIGNAL %u flags %x", s.fence, s.flags);
	if (igt_ioctl(fd, DRM_IOCTL_VGEM_FENCE_SIGNAL, &s) == 0)
		atomic_fetch_add(&sh->ok_signal, 1);
}

static void fuzz_wait(struct worker *w, int fd)
{
	struct drm_vgem_fence_wait wt = {
		.fence = below(&w->rng, 4) ? w->p->fence_id[below(&w->rng, POOL)]
					   : val32(&w->rng),
		.flags = below(&w->rng, 8) ? 0 : val32(&w->rng),
		/* Short waits, or bad ones: a fuzzer must keep moving. */
		.timeout_ns = below(&w->rng, 8) ? below(&w->rng, 1000000) :
			      -(int64_t)below(&w->rng, 3),
	};

	note(w, "FENCE_WAIT %u flags %x timeout %lld", wt.fence, wt.flags,
	     (long long)wt.timeout_ns);
	igt_ioctl(fd, DRM_IOCTL_VGEM_FENCE_WAIT, &wt);
}

static void fuzz_submit(struct worker *w, int fd)
{
	int slot = below(&w->rng, POOL);
	struct vgem_bo bo = w->p->bo[slot];
	int32_t in[4];
	struct drm_vgem_submit s = {
		.handle = below(&w->rng, 8) ? bo.handle : val32(&w->rng),
		.op = below(&w->rng, 8) ? below(&w->rng, 4) : val32(&w->rng),
		.engine = below(&w->rng, 8) ? below(&w->rng, 2) : val32(&w->rng),
		.format = below(&w->rng, 8) ? DRM_FORMAT_XRGB8888 :
			  val32(&w->rng),
		.stride = below(&w->rng, 4) ? bo.pitch : val32(&w->rng),
		.color = (uint32_t)rnd(&w->rng),
		.frame = val32(&w->rng),
		.duration_ns = below(&w->rng, 8) ? below(&w->rng, 500000) :
			       rnd(&w->rng),
	};
	uint32_t flags = below(&w->rng, 4) ? VGEM_SUBMIT_OUT_FENCE_FD : 0;

	if (below(&w->rng, 4)) {
		/* A rectangle inside the buffer. */
		s.x = below(&w->rng, bo.width + 1);
		s.y = below(&w->rng, bo.height + 1);
		s.width = below(&w->rng, bo.width - (s.x < bo.width ? s.x : 0) + 1);
		s.height = below(&w->rng, bo.height - (s.y < bo.height ? s.y : 0) + 1);
	} else {
		s.x = val32(&w->rng);
		s.y = val32(&w->rng);
		s.width = val32(&w->rng);
		s.height = val32(&w->rng);
	}
	if (s.op == VGEM_OP_COPY) {
		struct vgem_bo src = w->p->bo[below(&w->rng, POOL)];

		s.src_handle = below(&w->rng, 8) ? src.handle : val32(&w->rng);
		s.src_stride = below(&w->rng, 4) ? src.pitch : val32(&w->rng);
		s.src_x = below(&w->rng, 4) ? 0 : val32(&w->rng);
		s.src_y = below(&w->rng, 4) ? 0 : val32(&w->rng);
	}
	if (below(&w->rng, 8) == 0)
		flags |= VGEM_SUBMIT_FENCE_ID;
	if (below(&w->rng, 8) == 0)
		flags |= VGEM_SUBMIT_NO_IMPLICIT;
	if (below(&w->rng, 16) == 0)
		flags |= VGEM_SUBMIT_READ;
	if (below(&w->rng, 256) == 0)
		flags |= VGEM_SUBMIT_HANG;
	if (below(&w->rng, 32) == 0)
		flags |= val32(&w->rng);
	s.flags = flags;
	if (below(&w->rng, 3) == 0) {
		s.num_in_fences = below(&w->rng, 8) ? 1 + below(&w->rng, 4) :
				  val32(&w->rng);
		for (int i = 0; i < 4; i++)
			in[i] = pick_fd(w, w->p->sync, POOL);
		s.in_fences = below(&w->rng, 16) ? (uintptr_t)in :
			      (uint64_t)val32(&w->rng);
	}
	if (below(&w->rng, 16) == 0)
		s.pad = val32(&w->rng);
	if (below(&w->rng, 16) == 0)
		s.reserved[below(&w->rng, 2)] = rnd(&w->rng);

	note(w, "SUBMIT h %u op %u fl %x eng %u rect %u,%u %ux%u stride %u dur %llu in %u",
	     s.handle, s.op, s.flags, s.engine, s.x, s.y, s.width, s.height,
	     s.stride, (unsigned long long)s.duration_ns, s.num_in_fences);
	if (igt_ioctl(fd, DRM_IOCTL_VGEM_SUBMIT, &s) == 0) {
		atomic_fetch_add(&sh->ok_submit, 1);
		if ((s.flags & VGEM_SUBMIT_OUT_FENCE_FD) && s.out_fence_fd >= 0) {
			pthread_mutex_lock(&w->p->lock);
			put_fd(&w->p->sync[below(&w->rng, POOL)], s.out_fence_fd);
			pthread_mutex_unlock(&w->p->lock);
		}
		if ((s.flags & VGEM_SUBMIT_FENCE_ID) && fd == w->p->drm[0])
			w->p->fence_id[below(&w->rng, POOL)] = s.out_fence;
	}
}

static void fuzz_dmabuf(struct worker *w, int fd)
{
	int dmabuf = pick_fd(w, w->p->dmabuf, POOL);
	struct dma_buf_export_sync_file e = {
		.flags = below(&w->rng, 4) ? 1 + below(&w->rng, 3) :
			 val32(&w->rng),
		.fd = -1,
	};
	struct dma_buf_sync sync = { .flags = val32(&w->rng) };
	struct pollfd p = { .fd = dmabuf, .events = POLLIN | POLLOUT };

	switch (below(&w->rng, 4)) {
	case 0:
		note(w, "EXPORT_SYNC_FILE %d flags %x", dmabuf, e.flags);
		if (igt_ioctl(dmabuf, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, &e) == 0) {
			pthread_mutex_lock(&w->p->lock);
			put_fd(&w->p->sync[below(&w->rng, POOL)], e.fd);
			pthread_mutex_unlock(&w->p->lock);
		}
		break;
	case 1:
		note(w, "DMA_BUF_IOCTL_SYNC %d flags %llx", dmabuf,
		     (unsigned long long)sync.flags);
		igt_ioctl(dmabuf, DMA_BUF_IOCTL_SYNC, &sync);
		break;
	case 2:
		note(w, "poll dmabuf %d", dmabuf);
		poll(&p, 1, 0);
		break;
	default: {
		struct sync_fence_info fi[2];
		struct sync_file_info info = {
			.num_fences = below(&w->rng, 3),
			.sync_fence_info = below(&w->rng, 8) ? (uintptr_t)fi :
					   val32(&w->rng),
			.flags = below(&w->rng, 8) ? 0 : val32(&w->rng),
		};
		int sf = pick_fd(w, w->p->sync, POOL);

		note(w, "SYNC_IOC_FILE_INFO %d n %u", sf, info.num_fences);
		igt_ioctl(sf, SYNC_IOC_FILE_INFO, &info);
		break;
	}
	}
	(void)fd;
}

static void fuzz_fds(struct worker *w, int fd)
{
	int which = below(&w->rng, 3);
	int slot = below(&w->rng, POOL);

	pthread_mutex_lock(&w->p->lock);
	note(w, "close pool %d slot %d", which, slot);
	if (which == 0) {
		put_fd(&w->p->dmabuf[slot], -1);
	} else if (which == 1) {
		put_fd(&w->p->sync[slot], -1);
	} else {
		/* A secondary DRM fd goes, with whatever it had in flight. */
		int i = 1 + below(&w->rng, 3);

		put_fd(&w->p->drm[i], __drm_open_driver("vgem"));
	}
	pthread_mutex_unlock(&w->p->lock);
	(void)fd;
}

static void fuzz_misc(struct worker *w, int fd)
{
	struct drm_get_cap cap = { .capability = val32(&w->rng) };
	struct drm_set_client_cap ccap = { .capability = val32(&w->rng),
					   .value = val32(&w->rng) };
	char name[64];
	struct drm_version v = { .name = name, .name_len = below(&w->rng, 64) };

	switch (below(&w->rng, 4)) {
	case 0:
		note(w, "GET_CAP %llu", (unsigned long long)cap.capability);
		igt_ioctl(fd, DRM_IOCTL_GET_CAP, &cap);
		break;
	case 1:
		note(w, "SET_CLIENT_CAP %llu %llu",
		     (unsigned long long)ccap.capability,
		     (unsigned long long)ccap.value);
		igt_ioctl(fd, DRM_IOCTL_SET_CLIENT_CAP, &ccap);
		break;
	case 2:
		note(w, "VERSION len %zu", v.name_len);
		igt_ioctl(fd, DRM_IOCTL_VERSION, &v);
		break;
	default: {
		/* A driver ioctl number that does not exist. */
		uint32_t nr = DRM_COMMAND_BASE + 5 + below(&w->rng, 0x5f - 5);
		uint64_t junk[8] = { 0 };

		note(w, "unknown driver ioctl %x", nr);
		igt_ioctl(fd, DRM_IOWR(nr, uint64_t[8]), junk);
		break;
	}
	}
}

static void (*const ops[])(struct worker *w, int fd) = {
	fuzz_dumb, fuzz_map, fuzz_prime, fuzz_close, fuzz_attach,
	fuzz_signal, fuzz_wait, fuzz_submit, fuzz_submit, fuzz_submit,
	fuzz_dmabuf, fuzz_fds, fuzz_misc,
};

static void *worker_thread(void *arg)
{
	struct worker *w = arg;

	while (atomic_fetch_add(&sh->calls, 1) < sh->budget) {
		int fd;

		pthread_mutex_lock(&w->p->lock);
		fd = w->p->drm[below(&w->rng, 8) ? 0 : below(&w->rng, 4)];
		pthread_mutex_unlock(&w->p->lock);
		ops[below(&w->rng, sizeof(ops) / sizeof(ops[0]))](w, fd);
		w->done++;
		/* Now and then the whole process goes, mid-flight. */
		if (w->thread == 0 && below(&w->rng, 20000) == 0) {
			note(w, "planned exit");
			_exit(3);
		}
	}
	return NULL;
}

static void worker_process(int proc, uint64_t seed)
{
	struct pools p = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct worker w[THREADS];
	pthread_t t[THREADS];

	for (int i = 0; i < 4; i++)
		p.drm[i] = __drm_open_driver("vgem");
	if (p.drm[0] < 0)
		_exit(2);
	/* No igt_assert() in a worker: it would jump into the parent's code. */
	for (int i = 0; i < POOL; i++) {
		struct drm_mode_create_dumb c = { .width = 8 + 8 * i,
						  .height = 16, .bpp = 32 };

		p.dmabuf[i] = -1;
		p.sync[i] = -1;
		if (ioctl(p.drm[0], DRM_IOCTL_MODE_CREATE_DUMB, &c))
			_exit(2);
		p.bo[i] = (struct vgem_bo){ .handle = c.handle, .width = c.width,
			.height = c.height, .bpp = 32, .pitch = c.pitch,
			.size = c.size };
	}
	for (int i = 0; i < THREADS; i++) {
		w[i] = (struct worker){ .p = &p, .proc = proc, .thread = i,
			.rng.s = seed * 0x9e3779b97f4a7c15ull + proc * 131 + i + 1 };
		pthread_create(&t[i], NULL, worker_thread, &w[i]);
	}
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	_exit(0);
}

/* Every engine's queue empty: nothing stuck. From vgem's debugfs. */
static bool engines_idle(char *why, size_t len)
{
	char path[320], line[256];
	bool idle = true, found = false;
	DIR *d = opendir("/sys/kernel/debug/dri");
	struct dirent *e;

	if (!d)
		return true;
	while ((e = readdir(d))) {
		FILE *f;

		snprintf(path, sizeof(path), "/sys/kernel/debug/dri/%s/engines",
			 e->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		found = true;
		while (fgets(line, sizeof(line), f))
			if (strstr(line, "  job ")) {
				idle = false;
				snprintf(why, len, "%s", line);
			}
		fclose(f);
	}
	closedir(d);
	return idle || !found;
}

static void set_hang_ms(const char *value)
{
	int fd = open("/sys/module/vgem/parameters/hang_ms", O_WRONLY);

	if (fd >= 0) {
		igt_assert_eq(write(fd, value, strlen(value)), (ssize_t)strlen(value));
		close(fd);
	}
}

static void test_vgem(void)
{
	const char *calls = getenv("FUZZ_CALLS");
	const char *seeds = getenv("FUZZ_SEED");
	uint64_t seed = seeds ? strtoull(seeds, NULL, 0) : (uint64_t)time(NULL);
	long budget = calls ? atol(calls) : 100000;
	long hang = module_param_read("vgem", "hang_ms");
	char old[32], why[256] = "";
	pid_t pid[PROCS];
	int respawns = 0, deaths = 0;
	double t0 = igt_now();

	igt_info("fuzz: seed %llu, %ld calls, %d processes x %d threads\n",
		 (unsigned long long)seed, budget, PROCS, THREADS);
	snprintf(old, sizeof(old), "%ld", hang);
	/* Hung jobs are part of the mix: let the hang check be quick. */
	set_hang_ms("50");
	igt_set_timeout(1200);

	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	igt_assert(sh != MAP_FAILED);
	memset(sh, 0, sizeof(*sh));
	sh->budget = budget;

	for (int i = 0; i < PROCS; i++) {
		pid[i] = fork();
		igt_assert_gte(pid[i], 0);
		if (!pid[i])
			worker_process(i, seed + respawns * 1000003ull);
	}
	for (;;) {
		int status, i;
		pid_t dead = wait(&status);

		if (dead < 0)
			break;
		for (i = 0; i < PROCS && pid[i] != dead; i++)
			;
		igt_assert_lt(i, PROCS);
		if (WIFSIGNALED(status) ||
		    (WIFEXITED(status) && WEXITSTATUS(status) != 0 &&
		     WEXITSTATUS(status) != 3)) {
			for (int t = 0; t < THREADS; t++)
				igt_info("worker %d.%d last call: %s\n", i, t,
					 sh->last[i][t].what);
			igt_info("reproduce: FUZZ_SEED=%llu FUZZ_CALLS=%ld\n",
				 (unsigned long long)seed, budget);
			deaths++;
			pid[i] = -1;
			continue;
		}
		pid[i] = -1;
		if (WIFEXITED(status) && WEXITSTATUS(status) == 3 &&
		    atomic_load(&sh->calls) < budget) {
			/* A planned exit: a fresh worker takes over. */
			respawns++;
			pid[i] = fork();
			igt_assert_gte(pid[i], 0);
			if (!pid[i])
				worker_process(i, seed + respawns * 1000003ull);
		}
	}
	set_hang_ms(old);
	igt_info("fuzz: %ld calls in %.1f s, %d planned exits\n",
		 budget, igt_now() - t0, respawns);
	igt_info("fuzz: accepted: %ld SUBMIT, %ld FENCE_ATTACH, %ld FENCE_SIGNAL, %ld PRIME export, %ld CREATE_DUMB\n",
		 atomic_load(&sh->ok_submit), atomic_load(&sh->ok_attach),
		 atomic_load(&sh->ok_signal), atomic_load(&sh->ok_prime),
		 atomic_load(&sh->ok_dumb));
	/* A fuzzer that never gets past the checks tests nothing. */
	igt_assert_gt(atomic_load(&sh->ok_submit), budget / 100);
	igt_assert_eq(deaths, 0);

	/* What was in flight finishes: jobs at most 1 s, fences 10 s. */
	for (int i = 0; i < 200 && !engines_idle(why, sizeof(why)); i++)
		usleep(100000);
	igt_assert_f(engines_idle(why, sizeof(why)), "still queued: %s", why);
}

igt_main
{
	igt_fixture
		close(drm_open_driver("vgem"));

	igt_subtest("vgem")
		test_vgem();
}
