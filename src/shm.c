/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * The shared-memory segment of include/tftp_shm.h.  This file owns its
 * life cycle: the master creates the file (replacing a stale one, refusing
 * a live one), sizes and maps it, publishes settings under the control
 * seqlock and keeps the worker table; a worker maps the whole file
 * read-only and only its own region writable; tftpctl maps it read-only.
 * Every reader validates the header against the file's real size before
 * it computes an address from it, and this file alone computes those
 * addresses.  It also converts between the daemon's configuration and the
 * segment's own settings structure.  Non-logging: 0 / -errno.
 *
 * Liveness of an existing file: its creator holds flock(LOCK_EX) on its
 * descriptor for as long as it lives, and a replacer must hold the same
 * lock while it checks and unlinks, so two masters starting at once cannot
 * both win, nor unlink each other's fresh file.  A file nobody locks is
 * still treated as live while it is valid and its master_pid exists.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "metrics.h"
#include "shm.h"

#define SHM_CREATE_TRIES	4
/*
 * Reader budgets: copies attempted, and pauses spent waiting for an odd
 * seq to turn even (a copy of the configuration takes longer than many
 * pauses, so a reader that only counted copies would give up while a
 * publish is merely in progress).  A writer that died mid-write costs a
 * reader a few milliseconds, then -EAGAIN.
 */
#define SHM_READ_TRIES		1000
#define SHM_READ_SPINS		(1U << 17)
#define SHM_SESSION_TRIES	4
#define SHM_SESSION_SPINS	1024
/* No sane segment comes near this; it keeps nworkers * stride exact. */
#define SHM_FILE_MAX		(1ULL << 44)

/* The layout both the creator and the validators agree on. */
struct shm_layout {
	uint64_t	control_off;
	uint64_t	control_size;
	uint64_t	workers_off;
	uint64_t	stride;
	uint64_t	size;
};

static const char *const counter_names[TFTP_SHM_C_MAX] = {
#define TFTP_SHM_NAME(id, name)	[TFTP_SHM_C_##id] = name,
	TFTP_SHM_COUNTERS(TFTP_SHM_NAME)
#undef TFTP_SHM_NAME
};

/*
 * The settings (struct tftp_shm_settings) and the configuration (struct
 * tftpd_config) are two structures: one row per key says where it is in
 * each.  Numbers, enums and strings keep their representation (the
 * sizes must match: a mismatch does not compile); a bool becomes a
 * uint32_t 0 or 1.  A list is n fields at a stride on each side.
 */
enum conv_kind {
	CONV_COPY,
	CONV_BOOL,
};

struct conv {
	size_t		cfg_off;
	size_t		shm_off;
	size_t		size;		/* on the config's side */
	enum conv_kind	kind;
	size_t		n;
	size_t		cfg_stride;
	size_t		shm_stride;
};

#define CFG_F(f)	(((struct tftpd_config *)0)->f)
#define SHM_F(f)	(((struct tftp_shm_settings *)0)->f)
/* 0, or a compile error (an array of size -1) when a != b. */
#define SIZE_CHECK(a, b) (sizeof(char[(a) == (b) ? 1 : -1]) - 1)
#define CONV_LIST(cf, sf, kind, n, cstride, sstride)			\
	{ offsetof(struct tftpd_config, cf),				\
	  offsetof(struct tftp_shm_settings, sf),			\
	  sizeof(CFG_F(cf)) + SIZE_CHECK(kind == CONV_BOOL ?		\
	    sizeof(uint32_t) : sizeof(CFG_F(cf)), sizeof(SHM_F(sf))),	\
	  kind, n, cstride, sstride }
#define COPY(f)		CONV_LIST(f, f, CONV_COPY, 1, 0, 0)
#define BOOL(f)		CONV_LIST(f, f, CONV_BOOL, 1, 0, 0)
#define LISTEN(cf, sf)	CONV_LIST(listen[0].cf, listen[0].sf, CONV_COPY,	\
			    CONFIG_MAX_LISTEN, sizeof(struct listen_addr),	\
			    sizeof(struct tftp_shm_listen))

static const struct conv settings_conv[] = {
	/* [server] */
	LISTEN(ss, addr),
	LISTEN(len, len),
	COPY(nlisten),
	COPY(family),
	COPY(root),
	COPY(nroot),
	BOOL(secure),
	COPY(user),
	COPY(admin_group),
	COPY(workers),
	COPY(pid_file),
	COPY(runtime_dir),
	BOOL(foreground),
	COPY(log),
	BOOL(log_set),
	COPY(log_level),
	COPY(log_format),
	COPY(instance),
	COPY(drain_timeout),
	COPY(idle_timeout),
	COPY(worker_stall_timeout),
	/* [transfer] */
	COPY(timeout_ms),
	COPY(retries),
	COPY(unverified_retransmits),
	COPY(unverified_timeout),
	COPY(max_blksize),
	COPY(max_windowsize),
	COPY(allowed_opts),
	BOOL(netascii),
	BOOL(follow_symlinks),
	BOOL(permissive),
	COPY(port_min),
	COPY(port_max),
	COPY(max_transfers),
	BOOL(single_port),
	COPY(map_file),
	BOOL(map_backslash),
	BOOL(ignore_case),
	COPY(client_root),
	/* [write] */
	BOOL(write_enable),
	BOOL(write_create),
	BOOL(write_overwrite),
	COPY(umask),
	COPY(max_file_size),
	COPY(write_allow),
	COPY(nwrite_allow),
	BOOL(fsync),
	/* [access]: struct acl_list is struct tftp_shm_acl (below) */
	COPY(acl_read_allow),
	COPY(acl_read_deny),
	COPY(acl_write_allow),
	COPY(acl_write_deny),
	COPY(refuse),
	/* [limits] */
	COPY(per_client_transfers),
	COPY(per_client_rate),
	COPY(per_client_burst),
	COPY(unverified_bytes_rate),
	COPY(unverified_bytes_burst),
	/* [performance] */
	COPY(buffer_pool_size),
	BOOL(enable_recvmmsg),
	BOOL(enable_sendmmsg),
	BOOL(enable_gso),
	COPY(max_batch_size),
	COPY(batch_timeout_us),
	COPY(recv_buffer_kb),
	COPY(send_buffer_kb),
	BOOL(reuse_address),
	BOOL(reuse_port),
};

#define NCONV	(sizeof(settings_conv) / sizeof(settings_conv[0]))

#undef LISTEN
#undef BOOL
#undef COPY
#undef CONV_LIST
#undef SIZE_CHECK
#undef SHM_F
#undef CFG_F

/* The values the settings promise are the configuration's own. */
_Static_assert(FAMILY_ANY == TFTP_SHM_FAMILY_ANY &&
    FAMILY_IPV4 == TFTP_SHM_FAMILY_IPV4 &&
    FAMILY_IPV6 == TFTP_SHM_FAMILY_IPV6, "enum config_family");
_Static_assert(LOG_FORMAT_TEXT == TFTP_SHM_LOG_FORMAT_TEXT &&
    LOG_FORMAT_JSON == TFTP_SHM_LOG_FORMAT_JSON, "enum config_log_format");
_Static_assert(CLIENT_ROOT_NO == TFTP_SHM_CLIENT_ROOT_NO &&
    CLIENT_ROOT_IP == TFTP_SHM_CLIENT_ROOT_IP, "enum config_client_root");
_Static_assert(LOG_TO_STDERR == TFTP_SHM_LOG_STDERR &&
    LOG_TO_SYSLOG == TFTP_SHM_LOG_SYSLOG, "enum log_target");
_Static_assert(CONFIG_MAX_LISTEN == TFTP_SHM_LISTEN_MAX &&
    sizeof(struct sockaddr_storage) == TFTP_SHM_SOCKADDR_MAX,
    "listen addresses");
_Static_assert(sizeof(bool) == 1, "a bool is read as one byte");
_Static_assert(REFUSE_ERROR == TFTP_SHM_REFUSE_ERROR &&
    REFUSE_DROP == TFTP_SHM_REFUSE_DROP, "enum config_refuse");
/* An [access] list is copied byte for byte: the same layout. */
_Static_assert(ACL_MAX == TFTP_SHM_ACL_MAX &&
    sizeof(struct acl_prefix) == sizeof(struct tftp_shm_prefix) &&
    offsetof(struct acl_prefix, family) ==
    offsetof(struct tftp_shm_prefix, family) &&
    offsetof(struct acl_prefix, len) ==
    offsetof(struct tftp_shm_prefix, len) &&
    offsetof(struct acl_prefix, addr) ==
    offsetof(struct tftp_shm_prefix, addr) &&
    sizeof(struct acl_list) == sizeof(struct tftp_shm_acl) &&
    offsetof(struct acl_list, n) == offsetof(struct tftp_shm_acl, n) &&
    offsetof(struct acl_list, p) == offsetof(struct tftp_shm_acl, prefix),
    "struct acl_list and struct tftp_shm_acl");

static int	 why_set(char *why, size_t whylen, int err, const char *fmt,
		    ...) __attribute__((format(printf, 4, 5)));
static uint64_t	 page_size(void);
static uint64_t	 round_page(uint64_t n, uint64_t ps);
static void	 shm_layout(uint32_t nworkers, uint32_t nsessions,
		    struct shm_layout *l);
static uint64_t	 region_off(uint64_t workers_off, uint64_t stride,
		    uint32_t k);
static int	 check_header(const struct tftp_shm_header *h,
		    uint64_t fsize, char *why, size_t whylen);
static int	 check_fd(int fd, struct stat *st, char *why, size_t whylen);
static bool	 same_file(const struct stat *a, const struct stat *b);
static int	 shm_replace_stale(const char *path);
static int	 shm_open_new(const char *path);
static void	 seq_begin(uint32_t *seq);
static void	 seq_end(uint32_t *seq);
static bool	 seq_read_begin(const uint32_t *seq, uint32_t *spins,
		    uint32_t *s1);
static size_t	 conv_off(const struct conv *r, size_t i, bool in_settings);
static void	 settings_conv_run(void *dst, const void *src, bool publish);
static void	 settings_put(struct tftp_shm_settings *s,
		    const struct tftpd_config *c);
static void	 settings_get(struct tftpd_config *c,
		    const struct tftp_shm_settings *s);
static void	 session_clear(struct tftp_shm_session *s);
static char	*worker_region(const struct shm_master *m, uint32_t k);
static inline void cpu_relax(void);

static int
why_set(char *why, size_t whylen, int err, const char *fmt, ...)
{
	va_list ap;

	if (why != NULL && whylen > 0) {
		va_start(ap, fmt);
		(void)vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	return err;
}

static uint64_t
page_size(void)
{
	long ps = sysconf(_SC_PAGESIZE);

	return ps > 0 ? (uint64_t)ps : 4096;
}

static uint64_t
round_page(uint64_t n, uint64_t ps)
{
	return (n + ps - 1) / ps * ps;
}

static void
shm_layout(uint32_t nworkers, uint32_t nsessions, struct shm_layout *l)
{
	uint64_t ps = page_size();

	l->control_off = round_page(sizeof(struct tftp_shm_header), ps);
	l->control_size = round_page(sizeof(struct tftp_shm_control), ps);
	l->workers_off = l->control_off + l->control_size;
	l->stride = round_page(sizeof(struct tftp_shm_stats) +
	    (uint64_t)nsessions * sizeof(struct tftp_shm_session), ps);
	/* The file ends where a region after the last one would start. */
	l->size = region_off(l->workers_off, l->stride, nworkers);
}

/*
 * Where worker k's region starts: its statistics slot, then its transfer
 * table.  The only place that computes it; the numbers come from a header
 * the caller wrote or validated.
 */
static uint64_t
region_off(uint64_t workers_off, uint64_t stride, uint32_t k)
{
	return workers_off + (uint64_t)k * stride;
}

/*
 * Everything a reader relies on before computing an address: h is a
 * private copy, fsize the file's size from fstat.  Overflow-safe: each
 * offset is compared with what is left of the file, never summed blindly.
 */
static int
check_header(const struct tftp_shm_header *h, uint64_t fsize, char *why,
    size_t whylen)
{
	uint64_t ps = page_size();
	uint64_t need;

	if (h->magic != TFTP_SHM_MAGIC)
		return why_set(why, whylen, -EINVAL,
		    "bad magic: not a snowowl-tftpd segment");
	if (h->version != TFTP_SHM_VERSION)
		return why_set(why, whylen, -EINVAL,
		    "segment version %u, this program reads version %u",
		    h->version, TFTP_SHM_VERSION);
	if (h->header_size != sizeof(struct tftp_shm_header) ||
	    h->control_struct_size != sizeof(struct tftp_shm_control) ||
	    h->stats_size != sizeof(struct tftp_shm_stats) ||
	    h->session_size != sizeof(struct tftp_shm_session))
		return why_set(why, whylen, -EINVAL,
		    "structure sizes %u/%u/%u/%u differ from this program's "
		    "%zu/%zu/%zu/%zu", h->header_size,
		    h->control_struct_size, h->stats_size, h->session_size,
		    sizeof(struct tftp_shm_header),
		    sizeof(struct tftp_shm_control),
		    sizeof(struct tftp_shm_stats),
		    sizeof(struct tftp_shm_session));
	if (h->page_size != ps)
		return why_set(why, whylen, -EINVAL,
		    "page size %u, this system's is %llu", h->page_size,
		    (unsigned long long)ps);
	if (h->size != fsize)
		return why_set(why, whylen, -EINVAL,
		    "file is %llu bytes but its header says %llu "
		    "(truncated?)", (unsigned long long)fsize,
		    (unsigned long long)h->size);
	if (fsize > SHM_FILE_MAX || fsize > SIZE_MAX)
		return why_set(why, whylen, -EINVAL, "file too large");
	if (h->nworkers < 1 || h->nworkers > TFTP_SHM_MAX_WORKERS)
		return why_set(why, whylen, -EINVAL,
		    "worker count %u out of range 1..%u", h->nworkers,
		    TFTP_SHM_MAX_WORKERS);
	if (h->sessions_per_worker < 1 ||
	    h->sessions_per_worker > SHM_MAX_SESSIONS)
		return why_set(why, whylen, -EINVAL,
		    "sessions per worker %u out of range 1..%u",
		    h->sessions_per_worker, SHM_MAX_SESSIONS);
	if (h->control_off % ps != 0 || h->control_size % ps != 0 ||
	    h->workers_off % ps != 0 || h->worker_stride % ps != 0)
		return why_set(why, whylen, -EINVAL,
		    "offsets or sizes not page-aligned");
	if (h->control_off < sizeof(struct tftp_shm_header))
		return why_set(why, whylen, -EINVAL,
		    "control block overlaps the header");
	if (h->control_size < sizeof(struct tftp_shm_control))
		return why_set(why, whylen, -EINVAL,
		    "control block too small");
	if (h->control_off > fsize || h->control_size > fsize - h->control_off)
		return why_set(why, whylen, -EINVAL,
		    "control block beyond the end of the file");
	if (h->workers_off < h->control_off + h->control_size)
		return why_set(why, whylen, -EINVAL,
		    "worker regions overlap the control block");
	need = sizeof(struct tftp_shm_stats) +
	    (uint64_t)h->sessions_per_worker * sizeof(struct tftp_shm_session);
	if (h->worker_stride < need)
		return why_set(why, whylen, -EINVAL,
		    "worker region too small for its transfer table");
	if (h->workers_off > fsize ||
	    h->worker_stride > fsize - h->workers_off ||
	    (uint64_t)h->nworkers * h->worker_stride > fsize - h->workers_off)
		return why_set(why, whylen, -EINVAL,
		    "worker regions beyond the end of the file");
	if (memchr(h->instance, '\0', sizeof(h->instance)) == NULL)
		return why_set(why, whylen, -EINVAL,
		    "instance name not terminated");
	return 0;
}

/* A regular file at least as big as a header. */
static int
check_fd(int fd, struct stat *st, char *why, size_t whylen)
{
	if (fstat(fd, st) == -1)
		return why_set(why, whylen, -errno, "fstat: %s",
		    strerror(errno));
	if (!S_ISREG(st->st_mode))
		return why_set(why, whylen, -EINVAL, "not a regular file");
	if (st->st_size < (off_t)sizeof(struct tftp_shm_header))
		return why_set(why, whylen, -EINVAL,
		    "file too small for a header (%lld bytes)",
		    (long long)st->st_size);
	return 0;
}

static bool
same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/*
 * path exists.  Returns 0 after unlinking it (stale or not a segment at
 * all), -EADDRINUSE when a master owns it, another -errno on failure.
 */
static int
shm_replace_stale(const char *path)
{
	struct tftp_shm_header h;
	struct stat st, pst;
	ssize_t n;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd == -1) {
		if (errno == ENOENT)
			return 0;	/* gone meanwhile: just retry */
		if (errno != ELOOP)
			return -errno;
		/* A symlink is never ours; remove the link itself. */
		if (unlink(path) == -1 && errno != ENOENT)
			return -errno;
		return 0;
	}
	/* Held until after the unlink: see the comment at the top. */
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		r = errno == EWOULDBLOCK ? -EADDRINUSE : -errno;
		goto out_close;
	}
	if (check_fd(fd, &st, NULL, 0) == 0) {
		n = pread(fd, &h, sizeof(h), 0);
		if (n == (ssize_t)sizeof(h) &&
		    check_header(&h, (uint64_t)st.st_size, NULL, 0) == 0 &&
		    h.master_pid > 0 && (pid_t)h.master_pid == h.master_pid &&
		    (kill((pid_t)h.master_pid, 0) == 0 || errno != ESRCH)) {
			r = -EADDRINUSE;
			goto out_close;
		}
	} else if (fstat(fd, &st) == -1) {
		r = -errno;
		goto out_close;
	}
	/* Unlink only the file we hold the lock on. */
	if (lstat(path, &pst) == -1) {
		r = errno == ENOENT ? 0 : -errno;
		goto out_close;
	}
	if (!same_file(&st, &pst)) {
		r = 0;		/* replaced meanwhile: look again */
		goto out_close;
	}
	r = unlink(path) == -1 && errno != ENOENT ? -errno : 0;
out_close:
	close(fd);
	return r;
}

/* The O_EXCL creation loop: a locked, empty file of our own at path. */
static int
shm_open_new(const char *path)
{
	struct stat st, pst;
	int fd, r, tries;

	for (tries = 0; tries < SHM_CREATE_TRIES; tries++) {
		fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC |
		    O_NOFOLLOW, 0644);
		if (fd == -1) {
			if (errno != EEXIST)
				return -errno;
			r = shm_replace_stale(path);
			if (r < 0)
				return r;
			continue;
		}
		/*
		 * Someone may have opened the empty file and locked it to
		 * unlink it as invalid: let them, and start over.
		 */
		if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
			r = errno;
			close(fd);
			if (r != EWOULDBLOCK)
				return -r;
			continue;
		}
		if (fstat(fd, &st) == -1 || lstat(path, &pst) == -1 ||
		    !same_file(&st, &pst)) {
			close(fd);
			continue;
		}
		return fd;
	}
	return -EADDRINUSE;
}

int
shm_create(struct shm_master *m, const char *path, const char *instance,
    uint32_t nworkers, uint32_t sessions_per_worker,
    const struct tftpd_config *cfg)
{
	struct tftp_shm_header *h;
	struct shm_layout l;
	struct stat st, rst;
	void *base;
	int fd, r;

	memset(m, 0, sizeof(*m));
	m->fd = -1;
	m->ro_fd = -1;
	m->wfd = -1;
	if (cfg == NULL || nworkers < 1 || nworkers > TFTP_SHM_MAX_WORKERS ||
	    sessions_per_worker < 1 || sessions_per_worker > SHM_MAX_SESSIONS)
		return -EINVAL;
	if (strlen(path) >= sizeof(m->path))
		return -ENAMETOOLONG;
	shm_layout(nworkers, sessions_per_worker, &l);

	fd = shm_open_new(path);
	if (fd < 0)
		return fd;
	/* The umask must not decide who may read the statistics. */
	if (fchmod(fd, 0644) == -1 || ftruncate(fd, (off_t)l.size) == -1) {
		r = -errno;
		goto out_unlink;
	}
	base = mmap(NULL, l.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (base == MAP_FAILED) {
		r = -errno;
		goto out_unlink;
	}
	m->ro_fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (m->ro_fd == -1) {
		r = -errno;
		goto out_unmap;
	}
	m->wfd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (m->wfd == -1) {
		r = -errno;
		goto out_close_ro;
	}
	if (fstat(fd, &st) == -1 || fstat(m->ro_fd, &rst) == -1) {
		r = -errno;
		goto out_close_ro;
	}
	if (!same_file(&st, &rst) || fstat(m->wfd, &rst) == -1 ||
	    !same_file(&st, &rst)) {
		r = -EADDRINUSE;
		goto out_close_ro;
	}

	h = base;
	h->version = TFTP_SHM_VERSION;
	h->page_size = (uint32_t)page_size();
	h->size = l.size;
	h->master_pid = getpid();
	h->start_time = time(NULL);
	h->nworkers = nworkers;
	h->sessions_per_worker = sessions_per_worker;
	h->control_off = l.control_off;
	h->control_size = l.control_size;
	h->workers_off = l.workers_off;
	h->worker_stride = l.stride;
	h->header_size = sizeof(struct tftp_shm_header);
	h->control_struct_size = sizeof(struct tftp_shm_control);
	h->stats_size = sizeof(struct tftp_shm_stats);
	h->session_size = sizeof(struct tftp_shm_session);
	if (instance != NULL)
		(void)snprintf(h->instance, sizeof(h->instance), "%s",
		    instance);

	m->fd = fd;
	m->base = base;
	m->size = l.size;
	m->hdr = h;
	m->ctl = (struct tftp_shm_control *)((char *)base + l.control_off);
	(void)snprintf(m->path, sizeof(m->path), "%s", path);
	(void)shm_publish(m, cfg, NULL, 0);
	/* Last: a reader that sees the magic sees a complete header. */
	__atomic_store_n(&h->magic, TFTP_SHM_MAGIC, __ATOMIC_RELEASE);
	return 0;

out_close_ro:
	if (m->wfd != -1)
		close(m->wfd);
	close(m->ro_fd);
	m->ro_fd = m->wfd = -1;
out_unmap:
	munmap(base, l.size);
out_unlink:
	(void)unlink(path);
	close(fd);
	return r;
}

/* A spin-wait hint; no system call (workers run under seccomp). */
static inline void
cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__) || defined(__arm__)
	__asm__ __volatile__("yield" ::: "memory");
#else
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
#endif
}

/*
 * Seqlock writer halves.  Plain stores between them are ordered by the
 * fences; a reader accepts a copy only if seq was even and unchanged.
 */
static void
seq_begin(uint32_t *seq)
{
	uint32_t s = __atomic_load_n(seq, __ATOMIC_RELAXED);

	__atomic_store_n(seq, s + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
}

static void
seq_end(uint32_t *seq)
{
	uint32_t s = __atomic_load_n(seq, __ATOMIC_RELAXED);

	__atomic_store_n(seq, s + 1, __ATOMIC_RELEASE);
}

/*
 * A reader's start: the sequence once even (no publish in progress),
 * spinning a bounded number of times (*spins counts across tries).
 * false: the master is still writing.
 */
static bool
seq_read_begin(const uint32_t *seq, uint32_t *spins, uint32_t *s1)
{
	uint32_t s = __atomic_load_n(seq, __ATOMIC_ACQUIRE);

	while ((s & 1) && (*spins)++ < SHM_READ_SPINS) {
		cpu_relax();
		s = __atomic_load_n(seq, __ATOMIC_ACQUIRE);
	}
	*s1 = s;
	return (s & 1) == 0;
}

/* Where row r's field i is: in the settings, or in the configuration. */
static size_t
conv_off(const struct conv *r, size_t i, bool in_settings)
{
	return in_settings ? r->shm_off + i * r->shm_stride :
	    r->cfg_off + i * r->cfg_stride;
}

/*
 * Every row of settings_conv: from a configuration into settings
 * (publish), or back.  A configuration's bool is read as a byte, never
 * loaded as a bool: whatever the byte, the settings get 0 or 1.
 */
static void
settings_conv_run(void *dst, const void *src, bool publish)
{
	const struct conv *r;
	const char *from;
	uint32_t v;
	uint8_t b;
	size_t i;
	char *to;

	for (r = settings_conv; r < settings_conv + NCONV; r++) {
		for (i = 0; i < r->n; i++) {
			from = (const char *)src + conv_off(r, i, !publish);
			to = (char *)dst + conv_off(r, i, publish);
			if (r->kind == CONV_COPY) {
				memcpy(to, from, r->size);
			} else if (publish) {
				memcpy(&b, from, sizeof(b));
				v = b != 0;
				memcpy(to, &v, sizeof(v));
			} else {
				memcpy(&v, from, sizeof(v));
				b = v != 0;
				memcpy(to, &b, sizeof(b));
			}
		}
	}
}

/* Every byte: the listen entries' padding too, which no row covers. */
static void
settings_put(struct tftp_shm_settings *s, const struct tftpd_config *c)
{
	memset(s, 0, sizeof(*s));
	settings_conv_run(s, c, true);
}

/*
 * No checks: the caller validates the result as input.  Padding is
 * zeroed, as config_defaults() does, so configurations compare with
 * memcmp().
 */
static void
settings_get(struct tftpd_config *c, const struct tftp_shm_settings *s)
{
	memset(c, 0, sizeof(*c));
	settings_conv_run(c, s, false);
}

uint64_t
shm_publish(struct shm_master *m, const struct tftpd_config *cfg,
    const char *map, size_t maplen)
{
	struct tftp_shm_control *ctl = m->ctl;
	struct tftp_shm_settings set;
	uint64_t gen;
	bool newmap;

	if (map == NULL)
		maplen = 0;
	if (maplen > TFTP_SHM_MAP_MAX)
		return 0;
	/* The one writer reads its own last publish without the lock. */
	newmap = ctl->map.generation == 0 || ctl->map.len != maplen ||
	    (maplen > 0 && memcmp(ctl->map.text, map, maplen) != 0);
	/* Converted first: readers wait for no more than one copy. */
	settings_put(&set, cfg);
	gen = __atomic_load_n(&ctl->generation, __ATOMIC_RELAXED) + 1;
	seq_begin(&ctl->seq);
	memcpy(&ctl->settings, &set, sizeof(set));
	if (newmap) {
		if (maplen > 0)
			memcpy(ctl->map.text, map, maplen);
		ctl->map.len = (uint32_t)maplen;
		__atomic_store_n(&ctl->map.generation,
		    ctl->map.generation + 1, __ATOMIC_RELAXED);
	}
	__atomic_store_n(&ctl->generation, gen, __ATOMIC_RELAXED);
	seq_end(&ctl->seq);
	return gen;
}

int
shm_read_config(const struct tftp_shm_control *ctl, struct tftpd_config *out,
    uint64_t *generation)
{
	struct tftp_shm_settings set;
	uint32_t s1, s2, spins = 0;
	uint64_t gen;
	int i;

	for (i = 0; i < SHM_READ_TRIES; i++) {
		if (!seq_read_begin(&ctl->seq, &spins, &s1))
			return -EAGAIN;
		memcpy(&set, &ctl->settings, sizeof(set));
		gen = __atomic_load_n(&ctl->generation, __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		s2 = __atomic_load_n(&ctl->seq, __ATOMIC_RELAXED);
		if (s1 == s2) {
			/* Converted only once the copy is known whole. */
			settings_get(out, &set);
			if (generation != NULL)
				*generation = gen;
			return 0;
		}
	}
	return -EAGAIN;
}

int
shm_read_map(const struct tftp_shm_control *ctl, uint64_t have, char *buf,
    size_t cap, size_t *len, uint64_t *mapgen)
{
	uint32_t s1, s2, spins = 0, n;
	uint64_t mg;
	int i, r;

	for (i = 0; i < SHM_READ_TRIES; i++) {
		if (!seq_read_begin(&ctl->seq, &spins, &s1))
			return -EAGAIN;
		mg = __atomic_load_n(&ctl->map.generation, __ATOMIC_RELAXED);
		n = __atomic_load_n(&ctl->map.len, __ATOMIC_RELAXED);
		if (mg == have)
			r = 1;
		else if (n > cap || n > TFTP_SHM_MAP_MAX)
			r = -EINVAL;
		else {
			memcpy(buf, ctl->map.text, n);
			r = 0;
		}
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		s2 = __atomic_load_n(&ctl->seq, __ATOMIC_RELAXED);
		if (s1 != s2)
			continue;
		if (r == 0) {
			*len = n;
			*mapgen = mg;
		}
		return r;
	}
	return -EAGAIN;
}

uint64_t
shm_generation(const struct tftp_shm_control *ctl)
{
	return __atomic_load_n(&ctl->generation, __ATOMIC_ACQUIRE);
}

/*
 * One field at a time: tftpctl may briefly pair a new pid with an old
 * state, but never sees half of a 64-bit value.
 */
void
shm_set_worker(struct shm_master *m, uint32_t k, int64_t pid,
    uint32_t state, int32_t last_status, uint64_t restarts,
    int64_t started_at)
{
	struct tftp_shm_worker_info *wi;

	if (k >= m->hdr->nworkers)
		return;
	wi = &m->ctl->workers[k];
	__atomic_store_n(&wi->pid, pid, __ATOMIC_RELAXED);
	__atomic_store_n(&wi->state, state, __ATOMIC_RELAXED);
	__atomic_store_n(&wi->last_status, last_status, __ATOMIC_RELAXED);
	__atomic_store_n(&wi->restarts, restarts, __ATOMIC_RELAXED);
	__atomic_store_n(&wi->started_at, started_at, __ATOMIC_RELAXED);
}

void
shm_set_worker_stalls(struct shm_master *m, uint32_t k, uint64_t stalls,
    uint32_t last_stalled_ms)
{
	struct tftp_shm_worker_info *wi;

	if (k >= m->hdr->nworkers)
		return;
	wi = &m->ctl->workers[k];
	__atomic_store_n(&wi->stalls, stalls, __ATOMIC_RELAXED);
	__atomic_store_n(&wi->last_stalled_ms, last_stalled_ms,
	    __ATOMIC_RELAXED);
}

/*
 * Zero an entry under its seqlock (tftpctl may be reading it).  A worker
 * killed mid-write leaves seq odd; forcing the writing state to odd
 * rather than incrementing puts the parity right again.
 */
static void
session_clear(struct tftp_shm_session *s)
{
	uint32_t seq = __atomic_load_n(&s->seq, __ATOMIC_RELAXED) | 1;

	__atomic_store_n(&s->seq, seq, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	memset((char *)s + sizeof(s->seq), 0, sizeof(*s) - sizeof(s->seq));
	__atomic_store_n(&s->seq, seq + 1, __ATOMIC_RELEASE);
}

/* Worker k's region as the master maps it (k < nworkers). */
static char *
worker_region(const struct shm_master *m, uint32_t k)
{
	return (char *)m->base +
	    region_off(m->hdr->workers_off, m->hdr->worker_stride, k);
}

void
shm_reset_worker_region(struct shm_master *m, uint32_t k)
{
	struct tftp_shm_stats *st;
	struct tftp_shm_session *ss;
	uint32_t i;
	char *region;

	if (k >= m->hdr->nworkers)
		return;
	region = worker_region(m, k);
	st = (struct tftp_shm_stats *)region;
	ss = (struct tftp_shm_session *)(region + sizeof(*st));
	for (i = 0; i < m->hdr->sessions_per_worker; i++)
		if (__atomic_load_n(&ss[i].dir, __ATOMIC_RELAXED) !=
		    TFTP_SHM_S_FREE ||
		    (__atomic_load_n(&ss[i].seq, __ATOMIC_RELAXED) & 1))
			session_clear(&ss[i]);
	/* The new process has its own pool; what it counted stays. */
	shm_gauge(&st->active_transfers, 0);
	shm_gauge(&st->pool_capacity, 0);
	shm_gauge(&st->pool_in_use, 0);
	shm_gauge(&st->pool_high_water, 0);
	shm_gauge(&st->generation, 0);
	shm_gauge(&st->heartbeat_ms, 0);
}

const struct tftp_shm_stats *
shm_master_stats(const struct shm_master *m, uint32_t k)
{
	if (m->hdr == NULL || k >= m->hdr->nworkers)
		return NULL;
	return (const struct tftp_shm_stats *)(const void *)
	    worker_region(m, k);
}

void
shm_destroy(struct shm_master *m)
{
	struct stat st, pst;

	if (m->base != NULL)
		munmap(m->base, m->size);
	/* Never unlink a successor's file that took our path. */
	if (m->fd != -1 && m->path[0] != '\0' && fstat(m->fd, &st) == 0 &&
	    lstat(m->path, &pst) == 0 && same_file(&st, &pst))
		(void)unlink(m->path);
	if (m->ro_fd != -1)
		close(m->ro_fd);
	if (m->wfd != -1)
		close(m->wfd);
	if (m->fd != -1)
		close(m->fd);
	memset(m, 0, sizeof(*m));
	m->fd = -1;
	m->ro_fd = -1;
	m->wfd = -1;
}

int
shm_worker_attach(struct shm_worker *w, int ro_fd, int rw_fd, uint32_t index)
{
	struct tftp_shm_header h;
	struct stat st, rst;
	const char *base;
	void *region;
	uint64_t off;
	int r;

	memset(w, 0, sizeof(*w));
	r = check_fd(ro_fd, &st, NULL, 0);
	if (r < 0)
		return r;
	if ((uint64_t)st.st_size > SHM_FILE_MAX)
		return -EINVAL;
	if (fstat(rw_fd, &rst) == -1)
		return -errno;
	if (!same_file(&st, &rst))
		return -EINVAL;
	base = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, ro_fd, 0);
	if (base == MAP_FAILED)
		return -errno;
	memcpy(&h, base, sizeof(h));
	r = check_header(&h, (uint64_t)st.st_size, NULL, 0);
	if (r < 0)
		goto out_unmap;
	if (index >= h.nworkers) {
		r = -EINVAL;
		goto out_unmap;
	}
	off = region_off(h.workers_off, h.worker_stride, index);
	region = mmap(NULL, h.worker_stride, PROT_READ | PROT_WRITE,
	    MAP_SHARED, rw_fd, (off_t)off);
	if (region == MAP_FAILED) {
		r = -errno;
		goto out_unmap;
	}
	w->base = base;
	w->size = (size_t)st.st_size;
	w->hdr = (const struct tftp_shm_header *)base;
	w->ctl = (const struct tftp_shm_control *)(base + h.control_off);
	w->stats = region;
	w->sessions = (struct tftp_shm_session *)(w->stats + 1);
	w->nsessions = h.sessions_per_worker;
	w->index = index;
	w->region = region;
	w->region_size = h.worker_stride;
	w->next_free = 0;
	return 0;

out_unmap:
	munmap((void *)base, (size_t)st.st_size);
	return r;
}

int
shm_view_open(struct shm_view *v, const char *path, char *why, size_t whylen)
{
	struct tftp_shm_header h;
	struct stat st;
	const char *base;
	int fd, r;

	memset(v, 0, sizeof(*v));
	if (why != NULL && whylen > 0)
		why[0] = '\0';
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd == -1)
		return why_set(why, whylen, -errno, "open: %s",
		    strerror(errno));
	r = check_fd(fd, &st, why, whylen);
	if (r < 0)
		goto out_close;
	if ((uint64_t)st.st_size > SHM_FILE_MAX) {
		r = why_set(why, whylen, -EINVAL, "file too large");
		goto out_close;
	}
	base = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	if (base == MAP_FAILED) {
		r = why_set(why, whylen, -errno, "mmap: %s", strerror(errno));
		goto out_close;
	}
	/* Validate a private copy, and keep using only the copy's numbers. */
	memcpy(&h, base, sizeof(h));
	r = check_header(&h, (uint64_t)st.st_size, why, whylen);
	if (r < 0) {
		munmap((void *)base, (size_t)st.st_size);
		goto out_close;
	}
	v->base = base;
	v->size = (size_t)st.st_size;
	v->hdr = (const struct tftp_shm_header *)base;
	v->ctl = (const struct tftp_shm_control *)(base + h.control_off);
	v->nworkers = h.nworkers;
	v->nsessions = h.sessions_per_worker;
	v->workers_off = h.workers_off;
	v->stride = h.worker_stride;
	v->owner = st.st_uid;
out_close:
	close(fd);
	return r;
}

void
shm_view_close(struct shm_view *v)
{
	if (v->base != NULL)
		munmap((void *)v->base, v->size);
	memset(v, 0, sizeof(*v));
}

const struct tftp_shm_stats *
shm_view_stats(const struct shm_view *v, uint32_t k)
{
	if (v->base == NULL || k >= v->nworkers)
		return NULL;
	return (const struct tftp_shm_stats *)((const char *)v->base +
	    region_off(v->workers_off, v->stride, k));
}

const struct tftp_shm_session *
shm_view_sessions(const struct shm_view *v, uint32_t k, uint32_t *n)
{
	const struct tftp_shm_stats *st = shm_view_stats(v, k);

	if (st == NULL) {
		*n = 0;
		return NULL;
	}
	*n = v->nsessions;
	return (const struct tftp_shm_session *)(st + 1);
}

bool
shm_view_worker_info(const struct shm_view *v, uint32_t k,
    struct tftp_shm_worker_info *out)
{
	const struct tftp_shm_worker_info *wi;

	if (v->base == NULL || k >= v->nworkers)
		return false;
	wi = &v->ctl->workers[k];
	out->pid = __atomic_load_n(&wi->pid, __ATOMIC_RELAXED);
	out->state = __atomic_load_n(&wi->state, __ATOMIC_RELAXED);
	out->last_status = __atomic_load_n(&wi->last_status,
	    __ATOMIC_RELAXED);
	out->restarts = __atomic_load_n(&wi->restarts, __ATOMIC_RELAXED);
	out->started_at = __atomic_load_n(&wi->started_at, __ATOMIC_RELAXED);
	out->stalls = __atomic_load_n(&wi->stalls, __ATOMIC_RELAXED);
	out->last_stalled_ms = __atomic_load_n(&wi->last_stalled_ms,
	    __ATOMIC_RELAXED);
	out->pad = 0;
	return true;
}

void
shm_stats_read(const struct tftp_shm_stats *s, struct tftp_shm_stats *out)
{
	const uint64_t *src = (const uint64_t *)s;
	uint64_t *dst = (uint64_t *)out;
	size_t i;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < offsetof(struct tftp_shm_stats, reserved) /
	    sizeof(uint64_t); i++)
		dst[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
	/* A top-N entry's key and counts belong together: its seqlock. */
	for (i = 0; i < TFTP_SHM_TOPN; i++) {
		(void)metrics_top_read(&s->clients[i], &out->clients[i]);
		(void)metrics_top_read(&s->files[i], &out->files[i]);
	}
}

void
shm_stats_reset(struct shm_master *m, int64_t now)
{
	struct tftp_shm_resets *r = &m->ctl->resets;
	uint32_t k;

	seq_begin(&r->seq);
	for (k = 0; k < m->hdr->nworkers && k < TFTP_SHM_MAX_WORKERS; k++)
		metrics_baseline_take(shm_master_stats(m, k),
		    __atomic_load_n(&m->ctl->workers[k].restarts,
		    __ATOMIC_RELAXED), &r->base[k]);
	__atomic_store_n(&r->resets, r->resets + 1, __ATOMIC_RELAXED);
	__atomic_store_n(&r->reset_time, now, __ATOMIC_RELAXED);
	seq_end(&r->seq);
}

int
shm_read_resets(const struct tftp_shm_control *ctl, uint32_t nworkers,
    uint64_t *resets, int64_t *reset_time, struct tftp_shm_baseline *base)
{
	const struct tftp_shm_resets *r = &ctl->resets;
	uint32_t s1, s2, spins = 0;
	int i;

	if (nworkers > TFTP_SHM_MAX_WORKERS)
		nworkers = TFTP_SHM_MAX_WORKERS;
	for (i = 0; i < SHM_READ_TRIES; i++) {
		if (!seq_read_begin(&r->seq, &spins, &s1))
			return -EAGAIN;
		*resets = __atomic_load_n(&r->resets, __ATOMIC_RELAXED);
		*reset_time = __atomic_load_n(&r->reset_time,
		    __ATOMIC_RELAXED);
		memcpy(base, r->base, nworkers * sizeof(*base));
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		s2 = __atomic_load_n(&r->seq, __ATOMIC_RELAXED);
		if (s1 == s2)
			return 0;
	}
	return -EAGAIN;
}

bool
shm_session_read(const struct tftp_shm_session *s,
    struct tftp_shm_session *out)
{
	uint32_t s1, s2, spins = 0;
	int i;

	for (i = 0; i < SHM_SESSION_TRIES; i++) {
		s1 = __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE);
		while ((s1 & 1) && spins++ < SHM_SESSION_SPINS) {
			cpu_relax();
			s1 = __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE);
		}
		if (s1 & 1)
			return false;
		memcpy(out, s, sizeof(*out));
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		s2 = __atomic_load_n(&s->seq, __ATOMIC_RELAXED);
		if (s1 != s2)
			continue;
		if (out->dir != TFTP_SHM_S_READ &&
		    out->dir != TFTP_SHM_S_WRITE)
			return false;
		/* The copy came from a file: make its strings safe. */
		out->file[sizeof(out->file) - 1] = '\0';
		out->options[sizeof(out->options) - 1] = '\0';
		return true;
	}
	return false;
}

const char *
shm_counter_name(enum tftp_shm_counter c)
{
	if ((unsigned)c >= TFTP_SHM_C_MAX)
		return NULL;
	return counter_names[c];
}

int
shm_session_begin(struct shm_worker *w, int dir, int family,
    const void *addr, uint16_t port, const char *file, const char *options,
    uint64_t size, int64_t started_ms)
{
	struct tftp_shm_session *s = NULL;
	uint32_t i, k;
	size_t len;

	if (dir != TFTP_SHM_S_READ && dir != TFTP_SHM_S_WRITE)
		return -EINVAL;
	if (w->nsessions == 0)
		return -ENOSPC;
	/* Start where the last one was freed: usually found at once. */
	for (i = 0; i < w->nsessions; i++) {
		k = (w->next_free + i) % w->nsessions;
		if (w->sessions[k].dir == TFTP_SHM_S_FREE) {
			s = &w->sessions[k];
			break;
		}
	}
	if (s == NULL)
		return -ENOSPC;
	w->next_free = (k + 1) % w->nsessions;

	seq_begin(&s->seq);
	memset((char *)s + sizeof(s->seq), 0, sizeof(*s) - sizeof(s->seq));
	s->dir = (uint32_t)dir;
	s->family = (uint16_t)family;
	s->port = port;
	if (addr != NULL && family == AF_INET)
		memcpy(s->addr, addr, 4);
	else if (addr != NULL && family == AF_INET6)
		memcpy(s->addr, addr, 16);
	s->bytes = 0;
	s->size = size;
	s->started_ms = started_ms;
	if (file != NULL) {
		len = strnlen(file, sizeof(s->file) - 1);
		memcpy(s->file, file, len);
	}
	if (options != NULL) {
		len = strnlen(options, sizeof(s->options) - 1);
		memcpy(s->options, options, len);
	}
	seq_end(&s->seq);
	return (int)k;
}

void
shm_session_progress(struct shm_worker *w, int idx, uint64_t bytes)
{
	struct tftp_shm_session *s;

	if (idx < 0 || (uint32_t)idx >= w->nsessions)
		return;
	s = &w->sessions[idx];
	seq_begin(&s->seq);
	__atomic_store_n(&s->bytes, bytes, __ATOMIC_RELAXED);
	seq_end(&s->seq);
}

void
shm_session_end(struct shm_worker *w, int idx)
{
	if (idx < 0 || (uint32_t)idx >= w->nsessions)
		return;
	session_clear(&w->sessions[idx]);
	w->next_free = (uint32_t)idx;
}
