/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * Unit tests for shm.c, on real files in a fresh directory under $TMPDIR
 * (or /tmp) per test: the layout and mode of a new segment; master, worker
 * and tftpctl views of the same file; settings published under the
 * seqlock (generations, exact copies, a held-odd seq, and a writer
 * process racing a reader that must never accept a mixed copy); the
 * worker's read-only mapping of everything but its own region (writes
 * kill a child with SIGSEGV, mprotect is refused); the transfer table;
 * replacing a stale file and refusing a live one (by lock and by pid);
 * the validator rejecting every kind of broken or lying file; worker
 * bookkeeping, the master's view of each slot, region reset and counter
 * names; the statistics baseline of "stats --reset" and the top-N
 * entries copied under their seqlocks; every key of the configuration
 * through the settings and back, and corrupted settings refused by
 * config_validate().
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "metrics.h"
#include "shm.h"
#include "tmpdir.h"

#define NWORKERS	3
#define NSESSIONS	4

struct fixture {
	char			 dir[PATH_MAX / 2];
	char			 path[PATH_MAX];	/* dir/test.shm */
	struct tftpd_config	 cfg;
};

/* Test helpers ------------------------------------------------------- */

static int
setup(void **state)
{
	struct fixture *f;

	f = calloc(1, sizeof(*f));
	if (f == NULL)
		return -1;
	if (test_tmpdir_make(f->dir, sizeof(f->dir), "test_shm") < 0)
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/test.shm", f->dir);
	config_defaults(&f->cfg);
	snprintf(f->cfg.root, sizeof(f->cfg.root), "/srv/tftp-test");
	f->cfg.max_blksize = 1428;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	(void)test_tmpdir_remove(f->dir);
	free(f);
	return 0;
}

static void
sub_path(struct fixture *f, const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", f->dir, name);
}

static void
create(struct fixture *f, struct shm_master *m)
{
	assert_int_equal(shm_create(m, f->path, "test-6969", NWORKERS,
	    NSESSIONS, &f->cfg), 0);
}

/* Attach worker k the way a worker does: dup'ed fds, closed afterwards. */
static void
attach(struct shm_master *m, struct shm_worker *w, uint32_t k)
{
	int ro = dup(m->ro_fd), rw = dup(m->fd);

	assert_true(ro >= 0 && rw >= 0);
	assert_int_equal(shm_worker_attach(w, ro, rw, k), 0);
	close(ro);
	close(rw);
}

static void
detach(struct shm_worker *w)
{
	munmap(w->region, w->region_size);
	munmap((void *)w->base, w->size);
}

static void
write_file(const char *path, const void *data, size_t len)
{
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);
}

/* In a child: let SIGSEGV kill it (cmocka catches it otherwise), no core. */
static void
child_plain_signals(void)
{
	struct rlimit rl = { 0, 0 };

	signal(SIGSEGV, SIG_DFL);
	signal(SIGBUS, SIG_DFL);
	(void)setrlimit(RLIMIT_CORE, &rl);
	(void)prctl(PR_SET_DUMPABLE, 0);
}

static int
wait_child(pid_t pid)
{
	int status;

	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

/* Where a key is in struct tftpd_config, and its size. */
#define KEY(f)	{ offsetof(struct tftpd_config, f), \
		  sizeof(((struct tftpd_config *)0)->f) }

struct key_at {
	size_t	off;
	size_t	size;
};

/* Every key of struct tftpd_config, by kind; a new key belongs here too. */
static const struct key_at number_keys[] = {
	KEY(nlisten), KEY(workers), KEY(log_level), KEY(log_format),
	KEY(drain_timeout), KEY(worker_stall_timeout),
	KEY(idle_timeout), KEY(timeout_ms), KEY(retries), KEY(max_blksize),
	KEY(max_windowsize), KEY(allowed_opts), KEY(port_min), KEY(port_max),
	KEY(max_transfers), KEY(umask), KEY(max_file_size),
	KEY(nwrite_allow), KEY(buffer_pool_size), KEY(max_batch_size),
	KEY(batch_timeout_us), KEY(recv_buffer_kb), KEY(send_buffer_kb),
};
static const struct key_at text_keys[] = {
	KEY(root), KEY(user), KEY(admin_group), KEY(pid_file),
	KEY(runtime_dir), KEY(instance),
	KEY(write_allow), KEY(map_file),
};
static const struct key_at bool_keys[] = {
	KEY(foreground), KEY(log_set), KEY(netascii), KEY(follow_symlinks),
	KEY(permissive), KEY(single_port), KEY(map_backslash),
	KEY(ignore_case), KEY(write_enable),
	KEY(write_create), KEY(write_overwrite), KEY(fsync),
	KEY(enable_recvmmsg), KEY(enable_sendmmsg), KEY(enable_gso),
	KEY(reuse_address), KEY(reuse_port),
};
/* Copied byte for byte, as the segment carries them. */
static const struct key_at acl_keys[] = {
	KEY(acl_read_allow), KEY(acl_read_deny), KEY(acl_write_allow),
	KEY(acl_write_deny),
};
/*
 * And listen, family, log, client_root and refuse, set by hand in
 * config_fill().
 */

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/*
 * Every key set from seed (1 or 2), so that the two configurations differ
 * in every field and in every byte of its value: number k is seed's byte
 * in every byte but the first, which is seed + k (so no two numbers are
 * equal); text is one letter, terminated; seed 1 sets every boolean,
 * seed 2 clears them.  Not a valid configuration: the settings carry
 * what they are given.
 */
static void
config_fill(struct tftpd_config *c, unsigned seed)
{
	const bool on = seed == 1;
	char *p;
	size_t i;

	memset(c, 0, sizeof(*c));
	for (i = 0; i < NELEM(number_keys); i++) {
		p = (char *)c + number_keys[i].off;
		memset(p, (int)seed, number_keys[i].size);
		p[0] = (char)(seed + i);
	}
	for (i = 0; i < NELEM(text_keys); i++) {
		p = (char *)c + text_keys[i].off;
		memset(p, 'a' + (int)(seed + 2 * i), text_keys[i].size - 1);
	}
	for (i = 0; i < NELEM(bool_keys); i++)
		memcpy((char *)c + bool_keys[i].off, &on, sizeof(on));
	for (i = 0; i < CONFIG_MAX_LISTEN; i++) {
		memset(&c->listen[i].ss, (int)(seed * 0x11 + i),
		    sizeof(c->listen[i].ss));
		c->listen[i].len = (socklen_t)(seed * 0x01010101u + i);
	}
	c->family = on ? FAMILY_IPV4 : FAMILY_IPV6;
	c->log = on ? LOG_TO_STDERR : LOG_TO_SYSLOG;
	c->client_root = on ? CLIENT_ROOT_IP : CLIENT_ROOT_NO;
	for (i = 0; i < NELEM(acl_keys); i++)
		memset((char *)c + acl_keys[i].off, (int)(seed * 0x10 + i),
		    acl_keys[i].size);
	c->refuse = on ? REFUSE_DROP : REFUSE_ERROR;
}

/* Create, layout, view ----------------------------------------------- */

static void
test_create_layout(void **state)
{
	struct fixture *f = *state;
	struct shm_master m;
	const struct tftp_shm_header *h;
	uint64_t ps = (uint64_t)sysconf(_SC_PAGESIZE);
	struct tftpd_config c;
	struct stat st;
	mode_t old;
	int fl;

	/* fchmod, not the umask, decides the mode. */
	old = umask(077);
	create(f, &m);
	umask(old);
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_int_equal((uint64_t)st.st_size, m.size);

	h = m.hdr;
	assert_true(h->magic == TFTP_SHM_MAGIC);
	assert_int_equal(h->version, TFTP_SHM_VERSION);
	assert_int_equal(h->page_size, ps);
	assert_int_equal(h->size, m.size);
	assert_int_equal(h->master_pid, getpid());
	assert_true(h->start_time > 0 && h->start_time <= time(NULL));
	assert_int_equal(h->nworkers, NWORKERS);
	assert_int_equal(h->sessions_per_worker, NSESSIONS);
	assert_string_equal(h->instance, "test-6969");
	assert_int_equal(h->header_size, sizeof(struct tftp_shm_header));
	assert_int_equal(h->control_struct_size,
	    sizeof(struct tftp_shm_control));
	assert_int_equal(h->stats_size, sizeof(struct tftp_shm_stats));
	assert_int_equal(h->session_size, sizeof(struct tftp_shm_session));

	/* Page-aligned parts, in order, not overlapping, filling the file. */
	assert_int_equal(h->control_off % ps, 0);
	assert_int_equal(h->workers_off % ps, 0);
	assert_int_equal(h->worker_stride % ps, 0);
	assert_true(h->control_off >= sizeof(struct tftp_shm_header));
	assert_true(h->control_size >= sizeof(struct tftp_shm_control));
	assert_true(h->workers_off >= h->control_off + h->control_size);
	assert_true(h->worker_stride >= sizeof(struct tftp_shm_stats) +
	    NSESSIONS * sizeof(struct tftp_shm_session));
	assert_int_equal(h->size, h->workers_off +
	    NWORKERS * h->worker_stride);
	assert_ptr_equal((char *)m.ctl, (char *)m.base + h->control_off);

	/* Generation 1 is the configuration given. */
	assert_int_equal(shm_generation(m.ctl), 1);
	assert_int_equal(shm_read_config(m.ctl, &c, NULL), 0);
	assert_memory_equal(&c, &f->cfg, sizeof(f->cfg));

	/* Two descriptors: read-write and read-only, both close-on-exec. */
	fl = fcntl(m.fd, F_GETFL);
	assert_int_equal(fl & O_ACCMODE, O_RDWR);
	fl = fcntl(m.ro_fd, F_GETFL);
	assert_int_equal(fl & O_ACCMODE, O_RDONLY);
	assert_true(fcntl(m.fd, F_GETFD) & FD_CLOEXEC);
	assert_true(fcntl(m.ro_fd, F_GETFD) & FD_CLOEXEC);

	shm_destroy(&m);
	assert_int_equal(stat(f->path, &st), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(m.fd, -1);
	assert_int_equal(m.ro_fd, -1);
	shm_destroy(&m);	/* twice is harmless */
}

static void
test_create_bad_args(void **state)
{
	struct fixture *f = *state;
	struct shm_master m;
	struct stat st;
	char longpath[PATH_MAX + 16];

	assert_int_equal(shm_create(&m, f->path, "x", 0, 4, &f->cfg),
	    -EINVAL);
	assert_int_equal(shm_create(&m, f->path, "x",
	    TFTP_SHM_MAX_WORKERS + 1, 4, &f->cfg), -EINVAL);
	assert_int_equal(shm_create(&m, f->path, "x", 1, 0, &f->cfg),
	    -EINVAL);
	assert_int_equal(shm_create(&m, f->path, "x", 1,
	    SHM_MAX_SESSIONS + 1, &f->cfg), -EINVAL);
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[sizeof(longpath) - 1] = '\0';
	assert_int_equal(shm_create(&m, longpath, "x", 1, 4, &f->cfg),
	    -ENAMETOOLONG);
	assert_int_equal(stat(f->path, &st), -1);
	assert_int_equal(shm_create(&m, f->path, "x", 1, 4, NULL), -EINVAL);
	/* A failed create leaves a handle that destroy accepts. */
	shm_destroy(&m);

	/* The largest legal segment is created; a long name is cut. */
	char name[TFTP_SHM_NAME_MAX * 2];
	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	assert_int_equal(shm_create(&m, f->path, name, TFTP_SHM_MAX_WORKERS,
	    1, &f->cfg), 0);
	assert_int_equal(strlen(m.hdr->instance), TFTP_SHM_NAME_MAX - 1);
	shm_destroy(&m);
}

static void
test_view_roundtrip(void **state)
{
	struct fixture *f = *state;
	struct shm_master m;
	struct shm_view v;
	struct tftpd_config c;
	uint64_t gen = 0;
	uint32_t n;
	char why[256];

	create(f, &m);
	assert_int_equal(shm_view_open(&v, f->path, why, sizeof(why)), 0);
	assert_int_equal(v.size, m.size);
	assert_int_equal(v.nworkers, NWORKERS);
	assert_int_equal(v.nsessions, NSESSIONS);
	assert_string_equal(v.hdr->instance, "test-6969");
	assert_int_equal(v.hdr->master_pid, getpid());
	assert_int_equal(shm_read_config(v.ctl, &c, &gen), 0);
	assert_int_equal(gen, 1);
	assert_memory_equal(&c, &f->cfg, sizeof(c));

	/* Every worker's slot and table, and nothing past the last. */
	for (uint32_t k = 0; k < NWORKERS; k++) {
		const struct tftp_shm_stats *st = shm_view_stats(&v, k);
		const struct tftp_shm_session *ss;

		assert_non_null(st);
		assert_true((const char *)st >= (const char *)v.base +
		    v.hdr->workers_off);
		ss = shm_view_sessions(&v, k, &n);
		assert_int_equal(n, NSESSIONS);
		assert_true((const char *)(ss + n) <=
		    (const char *)v.base + v.size);
	}
	assert_null(shm_view_stats(&v, NWORKERS));
	assert_null(shm_view_stats(&v, UINT32_MAX));
	n = 7;
	assert_null(shm_view_sessions(&v, NWORKERS, &n));
	assert_int_equal(n, 0);

	/* The view maps read-only. */
	assert_int_equal(mprotect((void *)v.base, 4096,
	    PROT_READ | PROT_WRITE), -1);
	assert_int_equal(errno, EACCES);

	shm_view_close(&v);
	assert_null(v.base);
	shm_destroy(&m);
}

/* Configuration under the seqlock ------------------------------------ */

static void
test_publish_read(void **state)
{
	struct fixture *f = *state;
	struct shm_master m;
	struct shm_worker w;
	struct tftpd_config c, c2;
	uint64_t gen = 0;

	create(f, &m);
	attach(&m, &w, 0);
	assert_int_equal(shm_read_config(w.ctl, &c, &gen), 0);
	assert_int_equal(gen, 1);
	assert_memory_equal(&c, &f->cfg, sizeof(c));
	/* generation is optional. */
	assert_int_equal(shm_read_config(w.ctl, &c, NULL), 0);

	c2 = f->cfg;
	c2.max_blksize = 1024;
	c2.write_enable = true;
	snprintf(c2.write_allow[0], sizeof(c2.write_allow[0]), "upload/*");
	c2.nwrite_allow = 1;
	assert_int_equal(shm_publish(&m, &c2, NULL, 0), 2);
	assert_int_equal(shm_generation(w.ctl), 2);
	assert_int_equal(shm_read_config(w.ctl, &c, &gen), 0);
	assert_int_equal(gen, 2);
	assert_memory_equal(&c, &c2, sizeof(c));
	assert_int_equal(c.max_blksize, 1024);

	assert_int_equal(shm_publish(&m, &f->cfg, NULL, 0), 3);
	assert_int_equal(shm_read_config(w.ctl, &c, &gen), 0);
	assert_int_equal(gen, 3);
	assert_memory_equal(&c, &f->cfg, sizeof(c));
	/* Even after every write the seq is back to even. */
	assert_int_equal(m.ctl->seq & 1, 0);

	detach(&w);
	shm_destroy(&m);
}

/*
 * The remap rules' text rides with the settings; its own generation
 * moves only when the text changes, so workers compile it only then.
 */
static void
test_publish_map(void **state)
{
	struct fixture *f = *state;
	static char buf[TFTP_SHM_MAP_MAX], big[TFTP_SHM_MAP_MAX + 1];
	static const char rules[] = "r ^a b\n", other[] = "rg x y\n";
	struct shm_master m;
	struct shm_worker w;
	uint64_t mg = 0, mg2 = 0;
	size_t len = 0;

	create(f, &m);
	attach(&m, &w, 0);
	/* Generation 1 has none: an empty text, generation 1 of its own. */
	assert_int_equal(shm_read_map(w.ctl, 0, buf, sizeof(buf), &len, &mg),
	    0);
	assert_int_equal(len, 0);
	assert_int_equal(mg, 1);
	assert_int_equal(shm_read_map(w.ctl, mg, buf, sizeof(buf), &len,
	    &mg), 1);

	assert_int_equal(shm_publish(&m, &f->cfg, rules, strlen(rules)), 2);
	assert_int_equal(shm_read_map(w.ctl, mg, buf, sizeof(buf), &len,
	    &mg2), 0);
	assert_int_equal(mg2, 2);
	assert_int_equal(len, strlen(rules));
	assert_memory_equal(buf, rules, len);
	/* The same text again: a new configuration, the same rules. */
	assert_int_equal(shm_publish(&m, &f->cfg, rules, strlen(rules)), 3);
	assert_int_equal(shm_read_map(w.ctl, mg2, buf, sizeof(buf), &len,
	    &mg), 1);
	/* Too small a buffer is refused, never overrun. */
	assert_int_equal(shm_publish(&m, &f->cfg, other, strlen(other)), 4);
	assert_int_equal(shm_read_map(w.ctl, mg2, buf, 3, &len, &mg),
	    -EINVAL);
	assert_int_equal(shm_read_map(w.ctl, mg2, buf, sizeof(buf), &len,
	    &mg), 0);
	assert_int_equal(mg, 3);
	assert_memory_equal(buf, other, strlen(other));
	/* More than the segment holds: nothing published. */
	memset(big, 'x', sizeof(big));
	assert_int_equal(shm_publish(&m, &f->cfg, big, sizeof(big)), 0);
	assert_int_equal(shm_generation(w.ctl), 4);
	/* None again (NULL): an empty text, a new map generation. */
	assert_int_equal(shm_publish(&m, &f->cfg, NULL, 12), 5);
	assert_int_equal(shm_read_map(w.ctl, mg, buf, sizeof(buf), &len,
	    &mg), 0);
	assert_int_equal(len, 0);
	assert_int_equal(mg, 4);
	assert_int_equal(m.ctl->seq & 1, 0);

	detach(&w);
	shm_destroy(&m);
}

static void
test_config_torn(void **state)
{
	struct fixture *f = *state;
	struct shm_master m;
	struct tftpd_config c;
	uint64_t gen = 77;

	create(f, &m);
	/* A master stopped in the middle of a write: never stable. */
	m.ctl->seq |= 1;
	memset(&c, 0x5a, sizeof(c));
	assert_int_equal(shm_read_config(m.ctl, &c, &gen), -EAGAIN);
	assert_int_equal(gen, 77);	/* untouched */
	m.ctl->seq++;
	assert_int_equal(shm_read_config(m.ctl, &c, &gen), 0);
	assert_int_equal(gen, 1);
	assert_memory_equal(&c, &f->cfg, sizeof(c));
	shm_destroy(&m);
}

/*
 * A writer process alternates two configurations that differ in every
 * field, and in every byte of each value; a reader must only ever accept
 * one or the other whole.
 */
static void
test_seqlock_race(void **state)
{
	struct fixture *f = *state;
	static struct tftpd_config a, b, c;
	struct shm_master m;
	uint64_t gen, last = 0;
	unsigned ok = 0, busy = 0, reads;
	pid_t pid;
	int status;

	config_fill(&a, 1);
	config_fill(&b, 2);
	create(f, &m);
	shm_publish(&m, &a, NULL, 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct timespec end, now;

		clock_gettime(CLOCK_MONOTONIC, &end);
		end.tv_nsec += 300 * 1000000L;
		if (end.tv_nsec >= 1000000000L) {
			end.tv_sec++;
			end.tv_nsec -= 1000000000L;
		}
		for (unsigned i = 0;; i++) {
			shm_publish(&m, i & 1 ? &a : &b, NULL, 0);
			/* Gaps of varying length, around one copy's time. */
			for (volatile unsigned j = 0; j < (i % 32) * 50; j++)
				;
			clock_gettime(CLOCK_MONOTONIC, &now);
			if (now.tv_sec > end.tv_sec ||
			    (now.tv_sec == end.tv_sec &&
			    now.tv_nsec >= end.tv_nsec))
				_exit(0);
		}
	}
	for (reads = 0; waitpid(pid, &status, WNOHANG) == 0; reads++) {
		int r = shm_read_config(m.ctl, &c, &gen);

		if (r == -EAGAIN) {
			busy++;
			continue;
		}
		assert_int_equal(r, 0);
		if (memcmp(&c, &a, sizeof(c)) != 0 &&
		    memcmp(&c, &b, sizeof(c)) != 0)
			fail_msg("torn copy accepted at generation %llu",
			    (unsigned long long)gen);
		/* a at even generations after the first publish... */
		assert_memory_equal(&c, gen % 2 == 0 ? &a : &b, sizeof(c));
		assert_true(gen >= last);
		last = gen;
		ok++;
	}
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* The reader did run while the writer was busy. */
	assert_true(ok > 10);
	assert_true(last > 2);
	print_message("seqlock race: %u reads, %u accepted, %u busy, "
	    "generation %llu\n", reads, ok, busy, (unsigned long long)last);
	shm_destroy(&m);
}

/*
 * Every key through the settings and back, byte for byte (padding
 * included: both sides zero it), for two configurations that differ in
 * every field and for the defaults.
 */
static void
test_settings_roundtrip(void **state)
{
	struct fixture *f = *state;
	static struct tftpd_config in, out;
	struct shm_master m;
	struct shm_worker w;
	uint64_t gen;
	unsigned seed;

	create(f, &m);
	attach(&m, &w, 0);
	for (seed = 0; seed <= 2; seed++) {
		if (seed == 0)
			config_defaults(&in);
		else
			config_fill(&in, seed);
		memset(&out, 0x5a, sizeof(out));
		assert_int_equal(shm_publish(&m, &in, NULL, 0), seed + 2);
		assert_int_equal(shm_read_config(w.ctl, &out, &gen), 0);
		assert_int_equal(gen, seed + 2);
		assert_memory_equal(&out, &in, sizeof(out));
	}
	/* What the segment holds: 0 or 1 for a bool, numbers as given. */
	assert_int_equal(m.ctl->settings.foreground, 0);
	assert_int_equal(m.ctl->settings.reuse_port, 0);
	assert_int_equal(m.ctl->settings.family, TFTP_SHM_FAMILY_IPV6);
	assert_int_equal(m.ctl->settings.log, TFTP_SHM_LOG_SYSLOG);
	assert_int_equal(m.ctl->settings.max_file_size, in.max_file_size);
	config_fill(&in, 1);
	shm_publish(&m, &in, NULL, 0);
	assert_int_equal(m.ctl->settings.foreground, 1);
	assert_int_equal(m.ctl->settings.reuse_port, 1);
	assert_int_equal(m.ctl->settings.family, TFTP_SHM_FAMILY_IPV4);
	assert_int_equal(m.ctl->settings.log, TFTP_SHM_LOG_STDERR);
	assert_int_equal(m.ctl->settings.listen[3].len, in.listen[3].len);
	assert_int_equal(m.ctl->settings.port_max, in.port_max);
	/* Any non-zero word reads back as true. */
	m.ctl->settings.fsync = 0;
	assert_int_equal(shm_read_config(w.ctl, &out, NULL), 0);
	assert_false(out.fsync);
	m.ctl->settings.fsync = 0x100;
	assert_int_equal(shm_read_config(w.ctl, &out, NULL), 0);
	assert_true(out.fsync);

	detach(&w);
	shm_destroy(&m);
}

/* Each breaks one field of valid settings as a master never would. */
static void set_blksize(struct tftp_shm_settings *s) { s->max_blksize = 7; }
static void set_timeout(struct tftp_shm_settings *s) { s->timeout_ms = 0; }
static void set_family(struct tftp_shm_settings *s)
{ s->family = TFTP_SHM_FAMILY_IPV6 + 1; }
static void set_client_root(struct tftp_shm_settings *s)
{ s->client_root = TFTP_SHM_CLIENT_ROOT_IP + 1; }
static void set_log(struct tftp_shm_settings *s)
{ s->log = TFTP_SHM_LOG_SYSLOG + 1; }
static void set_level(struct tftp_shm_settings *s)
{ s->log_level = LOG_DEBUG + 1; }
static void set_log_format(struct tftp_shm_settings *s)
{ s->log_format = TFTP_SHM_LOG_FORMAT_JSON + 1; }
static void set_opts(struct tftp_shm_settings *s) { s->allowed_opts = ~0u; }
static void set_umask(struct tftp_shm_settings *s) { s->umask = 01000; }
static void set_ports(struct tftp_shm_settings *s)
{ s->port_min = 2000; s->port_max = 1000; }
static void set_root(struct tftp_shm_settings *s)
{ memset(s->root, 'r', sizeof(s->root)); }
static void set_user(struct tftp_shm_settings *s)
{ memset(s->user, 'u', sizeof(s->user)); }
static void set_instance(struct tftp_shm_settings *s)
{ memset(s->instance, 'n', sizeof(s->instance)); }
static void set_nallow(struct tftp_shm_settings *s)
{ s->nwrite_allow = TFTP_SHM_PATTERNS + 1; }
static void set_allow(struct tftp_shm_settings *s)
{
	s->nwrite_allow = 1;
	memset(s->write_allow[0], 'w', sizeof(s->write_allow[0]));
}
static void set_nlisten(struct tftp_shm_settings *s)
{ s->nlisten = TFTP_SHM_LISTEN_MAX + 1; }
static void set_nacl(struct tftp_shm_settings *s)
{ s->acl_read_deny.n = TFTP_SHM_ACL_MAX + 1; }
static void set_acl_bits(struct tftp_shm_settings *s)
{
	s->acl_write_allow.n = 1;
	s->acl_write_allow.prefix[0].family = AF_INET;
	s->acl_write_allow.prefix[0].len = 8;
	s->acl_write_allow.prefix[0].addr[3] = 1;
}
static void set_acl_family(struct tftp_shm_settings *s)
{
	s->acl_write_deny.n = 1;
	s->acl_write_deny.prefix[0].family = 3;
}
static void set_refuse(struct tftp_shm_settings *s)
{ s->refuse = TFTP_SHM_REFUSE_DROP + 1; }

/*
 * The settings are input: whatever a broken or hostile writer leaves in
 * them reaches config_validate() as it is (the conversion neither checks
 * nor repairs), and validation refuses it.
 */
static void
test_settings_corrupt(void **state)
{
	static const struct {
		void		(*fn)(struct tftp_shm_settings *);
		const char	*what;
	} cases[] = {
		{ set_blksize,	"max_blksize below 8" },
		{ set_timeout,	"timeout 0" },
		{ set_family,	"unknown family" },
		{ set_log,	"unknown log target" },
		{ set_client_root, "unknown client_root" },
		{ set_level,	"log_level past LOG_DEBUG" },
		{ set_log_format, "unknown log_format" },
		{ set_opts,	"unknown option bits" },
		{ set_umask,	"umask past 0777" },
		{ set_ports,	"port_min > port_max" },
		{ set_root,	"root not terminated" },
		{ set_user,	"user not terminated" },
		{ set_instance,	"instance not terminated" },
		{ set_nallow,	"too many write patterns" },
		{ set_allow,	"write pattern not terminated" },
		{ set_nlisten,	"too many listen addresses" },
		{ set_nacl,	"too many access prefixes" },
		{ set_acl_bits,	"access prefix with host bits" },
		{ set_acl_family, "access prefix of no family" },
		{ set_refuse,	"unknown refuse" },
	};
	struct fixture *f = *state;
	static struct tftpd_config c;
	struct shm_master m;
	struct shm_worker w;
	char err[CONFIG_ERR_MAX];
	size_t i;

	create(f, &m);
	attach(&m, &w, 0);
	/* The fixture's settings are valid, so each case alone is refused. */
	assert_int_equal(shm_read_config(w.ctl, &c, NULL), 0);
	assert_int_equal(config_validate(&c, err, sizeof(err)), 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		shm_publish(&m, &f->cfg, NULL, 0);
		cases[i].fn(&m.ctl->settings);
		assert_int_equal(shm_read_config(w.ctl, &c, NULL), 0);
		if (config_validate(&c, err, sizeof(err)) >= 0)
			fail_msg("%s: accepted", cases[i].what);
		print_message("%s: %s\n", cases[i].what, err);
	}
	detach(&w);
	shm_destroy(&m);
}

/* The worker's mappings ---------------------------------------------- */

static void
test_worker_readonly(void **state)
{
	struct fixture *f = *state;
	struct shm_master m;
	struct shm_worker w;
	uint64_t ps = (uint64_t)sysconf(_SC_PAGESIZE);
	void *ctlpage, *other;
	pid_t pid;
	int status;

	create(f, &m);
	attach(&m, &w, 1);
	assert_int_equal(w.index, 1);
	assert_int_equal(w.nsessions, NSESSIONS);
	assert_int_equal(w.region_size, m.hdr->worker_stride);

	/* The read-only descriptor is gone: no way to make it writable. */
	ctlpage = (void *)((uintptr_t)w.ctl & ~(uintptr_t)(ps - 1));
	assert_int_equal(mprotect(ctlpage, ps, PROT_READ | PROT_WRITE), -1);
	assert_int_equal(errno, EACCES);
	assert_int_equal(mprotect((void *)w.base, ps,
	    PROT_READ | PROT_WRITE), -1);
	assert_int_equal(errno, EACCES);

	/* Writing the control block kills the worker. */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		child_plain_signals();
		*(volatile uint64_t *)&w.ctl->generation = 99;
		_exit(0);
	}
	status = wait_child(pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGSEGV);

	/* So does writing another worker's region through the big map. */
	other = (char *)w.base + m.hdr->workers_off;	/* worker 0 */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		child_plain_signals();
		*(volatile uint64_t *)other = 1;
		_exit(0);
	}
	status = wait_child(pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGSEGV);

	/* Nothing changed. */
	assert_int_equal(shm_generation(m.ctl), 1);
	assert_int_equal(*(volatile uint64_t *)other, 0);

	/* Its own region is writable, in this process and in a child. */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		child_plain_signals();
		shm_count(w.stats, TFTP_SHM_C_RRQ, 2);
		_exit(0);
	}
	status = wait_child(pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(w.stats->counters[TFTP_SHM_C_RRQ], 2);

	detach(&w);
	shm_destroy(&m);
}

static void
test_worker_region_visible(void **state)
{
	struct fixture *f = *state;
	struct shm_master m;
	struct shm_worker w;
	struct shm_view v;
	struct tftp_shm_stats copy;
	const struct tftp_shm_stats *st;
	const uint64_t *own;
	char why[256];

	create(f, &m);
	attach(&m, &w, 1);
	shm_count(w.stats, TFTP_SHM_C_RRQ, 5);
	shm_count(w.stats, TFTP_SHM_C_RRQ, 1);
	shm_count(w.stats, TFTP_SHM_C_BYTES_SENT, 1ULL << 40);
	shm_count(w.stats, TFTP_SHM_C_MSGS_SENT, 9);
	shm_gauge(&w.stats->active_transfers, 3);
	shm_gauge(&w.stats->pool_high_water, 17);
	w.stats->errors[1] = 4;
	w.stats->last_request = 1700000000;

	assert_int_equal(shm_view_open(&v, f->path, why, sizeof(why)), 0);
	st = shm_view_stats(&v, 1);
	assert_int_equal(st->counters[TFTP_SHM_C_RRQ], 6);
	assert_true(st->counters[TFTP_SHM_C_BYTES_SENT] == 1ULL << 40);
	assert_int_equal(st->counters[TFTP_SHM_C_MSGS_SENT], 9);
	assert_int_equal(st->active_transfers, 3);
	assert_int_equal(st->errors[1], 4);

	shm_stats_read(st, &copy);
	assert_int_equal(copy.counters[TFTP_SHM_C_RRQ], 6);
	assert_int_equal(copy.pool_high_water, 17);
	assert_int_equal(copy.last_request, 1700000000);
	assert_int_equal(copy.errors[1], 4);

	/* Neighbours untouched. */
	for (uint32_t k = 0; k < NWORKERS; k += 2) {
		static const struct tftp_shm_stats zero;

		assert_memory_equal(shm_view_stats(&v, k), &zero,
		    sizeof(zero));
	}
	/* The worker also sees its own writes through its read-only map. */
	own = (const uint64_t *)((const char *)w.base + w.hdr->workers_off +
	    w.hdr->worker_stride);
	assert_int_equal(own[TFTP_SHM_C_RRQ], 6);

	shm_view_close(&v);
	detach(&w);
	shm_destroy(&m);
}

/* The master reads worker k's slot where worker k writes it. */
static void
test_master_stats(void **state)
{
	struct fixture *f = *state;
	struct shm_master m;
	struct shm_worker w;
	struct shm_view v;
	const struct tftp_shm_stats *st;
	char why[256];
	uint32_t k;

	create(f, &m);
	for (k = 0; k < NWORKERS; k++) {
		attach(&m, &w, k);
		shm_count(w.stats, TFTP_SHM_C_RRQ, 10 + k);
		shm_gauge(&w.stats->active_transfers, 20 + k);
		detach(&w);
	}
	assert_int_equal(shm_view_open(&v, f->path, why, sizeof(why)), 0);
	for (k = 0; k < NWORKERS; k++) {
		st = shm_master_stats(&m, k);
		assert_non_null(st);
		assert_int_equal(st->counters[TFTP_SHM_C_RRQ], 10 + k);
		assert_int_equal(st->active_transfers, 20 + k);
		/* ...and where tftpctl's view finds it. */
		assert_int_equal((const char *)st - (const char *)m.base,
		    (const char *)shm_view_stats(&v, k) -
		    (const char *)v.base);
	}
	assert_null(shm_master_stats(&m, NWORKERS));
	assert_null(shm_master_stats(&m, UINT32_MAX));
	shm_view_close(&v);
	shm_destroy(&m);
}

static void
test_attach_rejects(void **state)
{
	struct fixture *f = *state;
	struct shm_master m, m2;
	struct shm_worker w;
	char other[PATH_MAX];
	int ro;

	create(f, &m);
	assert_int_equal(shm_worker_attach(&w, m.ro_fd, m.fd, NWORKERS),
	    -EINVAL);
	assert_int_equal(shm_worker_attach(&w, m.ro_fd, m.fd, UINT32_MAX),
	    -EINVAL);
	/* rw descriptor opened read-only: the region cannot be mapped. */
	ro = open(f->path, O_RDONLY | O_CLOEXEC);
	assert_true(ro >= 0);
	assert_int_equal(shm_worker_attach(&w, m.ro_fd, ro, 0), -EACCES);
	close(ro);
	/* The two descriptors must be the same file. */
	sub_path(f, "other.shm", other, sizeof(other));
	assert_int_equal(shm_create(&m2, other, "o", NWORKERS, NSESSIONS,
	    &f->cfg), 0);
	assert_int_equal(shm_worker_attach(&w, m.ro_fd, m2.fd, 0), -EINVAL);
	shm_destroy(&m2);
	/* A header that stopped being valid (magic last, so check it). */
	m.hdr->magic = 0;
	assert_int_equal(shm_worker_attach(&w, m.ro_fd, m.fd, 0), -EINVAL);
	m.hdr->magic = TFTP_SHM_MAGIC;
	assert_int_equal(shm_worker_attach(&w, m.ro_fd, m.fd, 0), 0);
	detach(&w);
	shm_destroy(&m);
}

/* Transfer table ----------------------------------------------------- */

static void
test_sessions(void **state)
{
	struct fixture *f = *state;
	struct shm_master m;
	struct shm_worker w;
	struct shm_view v;
	struct tftp_shm_session s;
	const struct tftp_shm_session *tab;
	struct in_addr a4;
	struct in6_addr a6;
	char why[256], longname[300];
	uint32_t n, listed;
	int i0, i1, idx[NSESSIONS];

	create(f, &m);
	attach(&m, &w, 2);
	assert_int_equal(shm_view_open(&v, f->path, why, sizeof(why)), 0);
	tab = shm_view_sessions(&v, 2, &n);
	assert_int_equal(n, NSESSIONS);
	for (uint32_t k = 0; k < n; k++)
		assert_false(shm_session_read(&tab[k], &s));

	inet_pton(AF_INET, "192.0.2.7", &a4);
	inet_pton(AF_INET6, "2001:db8::1", &a6);
	i0 = shm_session_begin(&w, TFTP_SHM_S_READ, AF_INET, &a4, 4567,
	    "boot/pxelinux.0", "blksize=1428 tsize=1000", 1000, 12345);
	assert_true(i0 >= 0 && i0 < NSESSIONS);
	i1 = shm_session_begin(&w, TFTP_SHM_S_WRITE, AF_INET6, &a6, 1,
	    "up/x", "", 0, 999);
	assert_true(i1 >= 0 && i1 < NSESSIONS && i1 != i0);

	assert_true(shm_session_read(&tab[i0], &s));
	assert_int_equal(s.dir, TFTP_SHM_S_READ);
	assert_int_equal(s.family, AF_INET);
	assert_int_equal(s.port, 4567);
	assert_memory_equal(s.addr, &a4, 4);
	assert_int_equal(s.bytes, 0);
	assert_int_equal(s.size, 1000);
	assert_int_equal(s.started_ms, 12345);
	assert_string_equal(s.file, "boot/pxelinux.0");
	assert_string_equal(s.options, "blksize=1428 tsize=1000");
	assert_int_equal(s.seq & 1, 0);

	assert_true(shm_session_read(&tab[i1], &s));
	assert_int_equal(s.dir, TFTP_SHM_S_WRITE);
	assert_int_equal(s.family, AF_INET6);
	assert_memory_equal(s.addr, &a6, 16);
	assert_string_equal(s.file, "up/x");

	shm_session_progress(&w, i0, 512);
	shm_session_progress(&w, i0, 1000);
	assert_true(shm_session_read(&tab[i0], &s));
	assert_int_equal(s.bytes, 1000);
	assert_string_equal(s.file, "boot/pxelinux.0");	/* kept */
	/* Out-of-range indexes (e.g. -ENOSPC kept by a caller) are no-ops. */
	shm_session_progress(&w, -ENOSPC, 1);
	shm_session_progress(&w, NSESSIONS, 1);
	shm_session_end(&w, -ENOSPC);
	shm_session_end(&w, NSESSIONS);

	shm_session_end(&w, i0);
	assert_false(shm_session_read(&tab[i0], &s));
	assert_true(shm_session_read(&tab[i1], &s));
	shm_session_end(&w, i1);

	/* Fill the table: the next one is not listed. */
	for (int k = 0; k < NSESSIONS; k++) {
		idx[k] = shm_session_begin(&w, TFTP_SHM_S_READ, AF_INET, &a4,
		    (uint16_t)k, "f", NULL, 0, 0);
		assert_true(idx[k] >= 0);
	}
	assert_int_equal(shm_session_begin(&w, TFTP_SHM_S_READ, AF_INET,
	    &a4, 9, "f", NULL, 0, 0), -ENOSPC);
	listed = 0;
	for (uint32_t k = 0; k < n; k++)
		listed += shm_session_read(&tab[k], &s);
	assert_int_equal(listed, NSESSIONS);
	/* A freed entry is reused at once. */
	shm_session_end(&w, idx[2]);
	assert_int_equal(shm_session_begin(&w, TFTP_SHM_S_WRITE, AF_INET,
	    &a4, 9, "g", NULL, 0, 0), idx[2]);
	for (int k = 0; k < NSESSIONS; k++)
		shm_session_end(&w, idx[k]);

	/* Long strings are cut and terminated; a bad direction refused. */
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	i0 = shm_session_begin(&w, TFTP_SHM_S_READ, AF_INET, &a4, 1,
	    longname, longname, 0, 0);
	assert_true(i0 >= 0);
	assert_true(shm_session_read(&tab[i0], &s));
	assert_int_equal(strlen(s.file), TFTP_SHM_FILE_MAX - 1);
	assert_int_equal(strlen(s.options), TFTP_SHM_OPTS_MAX - 1);
	assert_int_equal(shm_session_begin(&w, TFTP_SHM_S_FREE, AF_INET,
	    &a4, 1, "f", NULL, 0, 0), -EINVAL);
	assert_int_equal(shm_session_begin(&w, 7, AF_INET, &a4, 1, "f",
	    NULL, 0, 0), -EINVAL);

	/* Other workers' tables stay empty. */
	tab = shm_view_sessions(&v, 0, &n);
	for (uint32_t k = 0; k < n; k++)
		assert_false(shm_session_read(&tab[k], &s));

	shm_view_close(&v);
	detach(&w);
	shm_destroy(&m);
}

static void
test_session_torn(void **state)
{
	struct fixture *f = *state;
	struct shm_master m;
	struct shm_worker w;
	struct tftp_shm_session s, *raw;
	uint32_t one = htonl(INADDR_LOOPBACK);
	int i;

	create(f, &m);
	attach(&m, &w, 0);
	i = shm_session_begin(&w, TFTP_SHM_S_READ, AF_INET, &one, 1, "a",
	    "", 0, 0);
	assert_true(i >= 0);
	raw = &w.sessions[i];
	raw->seq++;			/* the worker is rewriting it */
	assert_false(shm_session_read(raw, &s));
	raw->seq++;
	assert_true(shm_session_read(raw, &s));
	assert_string_equal(s.file, "a");

	/* Garbage from the file never yields unterminated strings. */
	memset(raw->file, 'x', sizeof(raw->file));
	memset(raw->options, 'y', sizeof(raw->options));
	assert_true(shm_session_read(raw, &s));
	assert_int_equal(strlen(s.file), TFTP_SHM_FILE_MAX - 1);
	assert_int_equal(strlen(s.options), TFTP_SHM_OPTS_MAX - 1);
	/* Nor an entry with an unknown direction. */
	raw->dir = 9;
	assert_false(shm_session_read(raw, &s));

	detach(&w);
	shm_destroy(&m);
}

/* Stale and live files ----------------------------------------------- */

/* A master that died without cleaning up: valid file, dead pid, no lock. */
static void
leave_dead_segment(struct fixture *f)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		struct shm_master m;

		_exit(shm_create(&m, f->path, "dead", 1, 1, &f->cfg) == 0 ?
		    0 : 1);
	}
	assert_int_equal(wait_child(pid), 0);
}

static void
test_stale_replaced(void **state)
{
	struct fixture *f = *state;
	struct shm_master m;
	struct shm_view v;
	struct stat st;
	char why[256], target[PATH_MAX], buf[16];
	int fd;

	/* Valid file whose master is gone. */
	leave_dead_segment(f);
	assert_int_equal(shm_view_open(&v, f->path, why, sizeof(why)), 0);
	assert_string_equal(v.hdr->instance, "dead");
	assert_int_not_equal(v.hdr->master_pid, getpid());
	shm_view_close(&v);
	create(f, &m);
	assert_int_equal(m.hdr->master_pid, getpid());
	assert_string_equal(m.hdr->instance, "test-6969");
	assert_int_equal(m.hdr->nworkers, NWORKERS);
	shm_destroy(&m);

	/* Not a segment at all. */
	write_file(f->path, "hello\n", 6);
	create(f, &m);
	assert_true(m.hdr->magic == TFTP_SHM_MAGIC);
	shm_destroy(&m);

	/* An empty file (a master that died right after creating it). */
	write_file(f->path, "", 0);
	create(f, &m);
	shm_destroy(&m);

	/* A symlink: the link goes, its target is not touched. */
	sub_path(f, "target", target, sizeof(target));
	write_file(target, "keep", 4);
	assert_int_equal(symlink(target, f->path), 0);
	create(f, &m);
	assert_int_equal(lstat(f->path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	fd = open(target, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(read(fd, buf, sizeof(buf)), 4);
	assert_memory_equal(buf, "keep", 4);
	close(fd);
	shm_destroy(&m);

	/* A directory is not ours to remove. */
	assert_int_equal(mkdir(f->path, 0755), 0);
	assert_true(shm_create(&m, f->path, "x", 1, 1, &f->cfg) < 0);
	assert_int_equal(stat(f->path, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	rmdir(f->path);
}

static void
test_live_refused(void **state)
{
	struct fixture *f = *state;
	struct shm_master m, m2;
	struct shm_view v;
	struct stat st1, st2;
	int up[2], down[2];
	char why[256], c;
	pid_t pid;

	/* A live master in this process holds the lock. */
	create(f, &m);
	assert_int_equal(stat(f->path, &st1), 0);
	assert_int_equal(shm_create(&m2, f->path, "x", 1, 1, &f->cfg),
	    -EADDRINUSE);
	assert_int_equal(m2.fd, -1);
	shm_destroy(&m2);	/* harmless on a failed handle */
	assert_int_equal(stat(f->path, &st2), 0);
	assert_true(st1.st_ino == st2.st_ino);
	assert_int_equal(m.hdr->master_pid, getpid());
	assert_string_equal(m.hdr->instance, "test-6969");
	shm_destroy(&m);

	/* No lock, but a valid header naming a live pid (ours). */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct shm_master cm;

		if (shm_create(&cm, f->path, "parent", 1, 1, &f->cfg) != 0)
			_exit(1);
		cm.hdr->master_pid = getppid();
		_exit(0);
	}
	assert_int_equal(wait_child(pid), 0);
	assert_int_equal(shm_create(&m, f->path, "x", 1, 1, &f->cfg),
	    -EADDRINUSE);
	assert_int_equal(shm_view_open(&v, f->path, why, sizeof(why)), 0);
	assert_string_equal(v.hdr->instance, "parent");
	shm_view_close(&v);
	unlink(f->path);

	/* A live master whose pid field is useless: the lock decides. */
	assert_int_equal(pipe2(up, O_CLOEXEC), 0);
	assert_int_equal(pipe2(down, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct shm_master cm;

		close(up[0]);
		close(down[1]);
		if (shm_create(&cm, f->path, "locked", 1, 1, &f->cfg) != 0)
			_exit(1);
		cm.hdr->master_pid = 0;
		if (write(up[1], "r", 1) != 1)
			_exit(1);
		/* Hold the segment until the parent is done. */
		_exit(read(down[0], &c, 1) == 0 ? 0 : 1);
	}
	close(up[1]);
	close(down[0]);
	assert_int_equal(read(up[0], &c, 1), 1);
	assert_int_equal(shm_create(&m, f->path, "x", 1, 1, &f->cfg),
	    -EADDRINUSE);
	close(down[1]);			/* let it exit */
	close(up[0]);
	assert_int_equal(wait_child(pid), 0);
	/* Gone now: the same file is stale and replaced. */
	create(f, &m);
	assert_string_equal(m.hdr->instance, "test-6969");
	shm_destroy(&m);
}

static void
test_destroy_spares_successor(void **state)
{
	struct fixture *f = *state;
	struct shm_master m;
	struct stat st;

	create(f, &m);
	assert_int_equal(unlink(f->path), 0);
	write_file(f->path, "new", 3);
	shm_destroy(&m);
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_size, 3);
}

/* The validator against broken and lying files ----------------------- */

struct image {
	unsigned char	*buf;
	size_t		 len;
};

static void
image_make(struct fixture *f, struct image *img)
{
	struct shm_master m;

	create(f, &m);
	img->len = m.size;
	img->buf = malloc(img->len);
	assert_non_null(img->buf);
	memcpy(img->buf, m.base, img->len);
	shm_destroy(&m);
}

/*
 * Write img (header patched by fn, file cut to len) and check that the
 * view and a worker both refuse it, the view with a reason naming what.
 */
static void
expect_reject(struct fixture *f, const struct image *img, size_t len,
    void (*fn)(struct tftp_shm_header *), const char *reason)
{
	struct shm_view v;
	struct shm_worker w;
	unsigned char *copy;
	char path[PATH_MAX], why[256];
	int ro, rw;

	copy = malloc(img->len);
	assert_non_null(copy);
	memcpy(copy, img->buf, img->len);
	if (fn != NULL)
		fn((struct tftp_shm_header *)copy);
	sub_path(f, "bad.shm", path, sizeof(path));
	write_file(path, copy, len);
	free(copy);

	why[0] = '\0';
	assert_int_equal(shm_view_open(&v, path, why, sizeof(why)), -EINVAL);
	if (strstr(why, reason) == NULL)
		fail_msg("reason \"%s\" does not say \"%s\"", why, reason);
	assert_null(v.base);

	ro = open(path, O_RDONLY | O_CLOEXEC);
	rw = open(path, O_RDWR | O_CLOEXEC);
	assert_true(ro >= 0 && rw >= 0);
	assert_int_equal(shm_worker_attach(&w, ro, rw, 0), -EINVAL);
	close(ro);
	close(rw);
	unlink(path);
}

static void bad_magic(struct tftp_shm_header *h) { h->magic ^= 1; }
static void bad_version(struct tftp_shm_header *h) { h->version++; }
static void bad_session_size(struct tftp_shm_header *h) { h->session_size++; }
static void bad_stats_size(struct tftp_shm_header *h) { h->stats_size -= 8; }
static void bad_ctl_size(struct tftp_shm_header *h)
{ h->control_struct_size = 0; }
static void bad_hdr_size(struct tftp_shm_header *h) { h->header_size = 8; }
static void bad_page(struct tftp_shm_header *h) { h->page_size *= 2; }
static void bad_size(struct tftp_shm_header *h) { h->size *= 2; }
static void bad_nworkers(struct tftp_shm_header *h)
{ h->nworkers = TFTP_SHM_MAX_WORKERS + 1; }
static void zero_nworkers(struct tftp_shm_header *h) { h->nworkers = 0; }
static void lying_nworkers(struct tftp_shm_header *h) { h->nworkers++; }
static void bad_nsessions(struct tftp_shm_header *h)
{ h->sessions_per_worker = SHM_MAX_SESSIONS + 1; }
static void lying_nsessions(struct tftp_shm_header *h)
{ h->sessions_per_worker = SHM_MAX_SESSIONS; }
static void ctl_beyond(struct tftp_shm_header *h)
{ h->control_off = h->size; }
static void ctl_huge(struct tftp_shm_header *h)
{ h->control_size = UINT64_MAX - h->page_size + 1; }
static void workers_beyond(struct tftp_shm_header *h)
{ h->workers_off = h->size + h->page_size; }
static void workers_wrap(struct tftp_shm_header *h)
{ h->workers_off = UINT64_MAX - h->page_size + 1; }
static void stride_beyond(struct tftp_shm_header *h)
{ h->worker_stride *= 2; }
static void misaligned(struct tftp_shm_header *h) { h->workers_off += 64; }
static void ctl_in_header(struct tftp_shm_header *h) { h->control_off = 0; }
static void overlap(struct tftp_shm_header *h)
{ h->workers_off = h->control_off; }
static void unterminated(struct tftp_shm_header *h)
{ memset(h->instance, 'i', sizeof(h->instance)); }

static void
test_view_rejects(void **state)
{
	struct fixture *f = *state;
	struct image img;
	struct shm_view v;
	char path[PATH_MAX], why[256];

	image_make(f, &img);

	/* The unmodified image passes: the cases below test one thing. */
	sub_path(f, "good.shm", path, sizeof(path));
	write_file(path, img.buf, img.len);
	assert_int_equal(shm_view_open(&v, path, why, sizeof(why)), 0);
	shm_view_close(&v);

	expect_reject(f, &img, img.len, bad_magic, "magic");
	expect_reject(f, &img, img.len, bad_version, "version");
	expect_reject(f, &img, img.len, bad_session_size, "structure sizes");
	expect_reject(f, &img, img.len, bad_stats_size, "structure sizes");
	expect_reject(f, &img, img.len, bad_ctl_size, "structure sizes");
	expect_reject(f, &img, img.len, bad_hdr_size, "structure sizes");
	expect_reject(f, &img, img.len, bad_page, "page size");
	/* Truncated: half, one page, a header's worth, less, nothing. */
	expect_reject(f, &img, img.len / 2, NULL, "truncated");
	expect_reject(f, &img, 4096, NULL, "truncated");
	expect_reject(f, &img, sizeof(struct tftp_shm_header), NULL,
	    "truncated");
	expect_reject(f, &img, 100, NULL, "too small");
	expect_reject(f, &img, 0, NULL, "too small");
	/* The header lies about the size of the file. */
	expect_reject(f, &img, img.len, bad_size, "truncated");
	expect_reject(f, &img, img.len, bad_nworkers, "worker count");
	expect_reject(f, &img, img.len, zero_nworkers, "worker count");
	expect_reject(f, &img, img.len, lying_nworkers, "beyond the end");
	expect_reject(f, &img, img.len, bad_nsessions, "sessions per worker");
	expect_reject(f, &img, img.len, lying_nsessions, "too small for");
	expect_reject(f, &img, img.len, ctl_beyond, "control block beyond");
	expect_reject(f, &img, img.len, ctl_huge, "control block beyond");
	expect_reject(f, &img, img.len, workers_beyond, "beyond the end");
	expect_reject(f, &img, img.len, workers_wrap, "beyond the end");
	expect_reject(f, &img, img.len, stride_beyond, "beyond the end");
	expect_reject(f, &img, img.len, misaligned, "page-aligned");
	expect_reject(f, &img, img.len, ctl_in_header, "overlaps the header");
	expect_reject(f, &img, img.len, overlap, "overlap");
	expect_reject(f, &img, img.len, unterminated, "instance");
	free(img.buf);

	/* Not a file; a symlink; nothing. */
	assert_int_equal(shm_view_open(&v, f->dir, why, sizeof(why)),
	    -EINVAL);
	assert_non_null(strstr(why, "not a regular file"));
	sub_path(f, "fifo", path, sizeof(path));
	assert_int_equal(mkfifo(path, 0644), 0);
	assert_int_equal(shm_view_open(&v, path, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "not a regular file"));
	sub_path(f, "link", path, sizeof(path));
	assert_int_equal(symlink("good.shm", path), 0);
	assert_int_equal(shm_view_open(&v, path, why, sizeof(why)), -ELOOP);
	assert_non_null(strstr(why, "open"));
	sub_path(f, "missing", path, sizeof(path));
	assert_int_equal(shm_view_open(&v, path, why, sizeof(why)), -ENOENT);
	assert_null(v.base);
	/* why is optional. */
	assert_int_equal(shm_view_open(&v, path, NULL, 0), -ENOENT);
}

/* Master bookkeeping ------------------------------------------------- */

static void
test_set_worker_and_reset(void **state)
{
	struct fixture *f = *state;
	struct shm_master m;
	struct shm_worker w;
	struct shm_view v;
	struct tftp_shm_worker_info wi;
	struct tftp_shm_session s;
	const struct tftp_shm_session *tab;
	uint32_t addr = htonl(INADDR_LOOPBACK), n;
	char why[256];
	int i;

	create(f, &m);
	assert_int_equal(shm_view_open(&v, f->path, why, sizeof(why)), 0);
	shm_set_worker(&m, 1, 4242, TFTP_SHM_W_RUNNING, 0, 3, 1700000000);
	assert_true(shm_view_worker_info(&v, 1, &wi));
	assert_int_equal(wi.pid, 4242);
	assert_int_equal(wi.state, TFTP_SHM_W_RUNNING);
	assert_int_equal(wi.last_status, 0);
	assert_int_equal(wi.restarts, 3);
	assert_int_equal(wi.started_at, 1700000000);
	shm_set_worker(&m, 1, 4243, TFTP_SHM_W_EXITED, 9, 4, 1700000001);
	assert_true(shm_view_worker_info(&v, 1, &wi));
	assert_int_equal(wi.pid, 4243);
	assert_int_equal(wi.state, TFTP_SHM_W_EXITED);
	assert_int_equal(wi.last_status, 9);
	assert_int_equal(wi.restarts, 4);
	assert_int_equal(wi.stalls, 0);
	assert_int_equal(wi.last_stalled_ms, 0);
	/* Killed for a silent heartbeat: counted, and how long. */
	shm_set_worker_stalls(&m, 1, 2, 5123);
	assert_true(shm_view_worker_info(&v, 1, &wi));
	assert_int_equal(wi.stalls, 2);
	assert_int_equal(wi.last_stalled_ms, 5123);
	assert_int_equal(wi.pid, 4243);
	shm_set_worker_stalls(&m, NWORKERS, 1, 1);	/* ignored */
	assert_int_equal(m.ctl->workers[NWORKERS].stalls, 0);
	/* Others untouched; out of range ignored. */
	assert_true(shm_view_worker_info(&v, 0, &wi));
	assert_int_equal(wi.pid, 0);
	shm_set_worker(&m, NWORKERS, 1, 1, 1, 1, 1);
	assert_int_equal(m.ctl->workers[NWORKERS].pid, 0);
	assert_false(shm_view_worker_info(&v, NWORKERS, &wi));
	/* Not part of the seqlocked configuration. */
	assert_int_equal(shm_generation(m.ctl), 1);

	/* A worker ran, counted, left a transfer and gauges behind. */
	attach(&m, &w, 1);
	shm_count(w.stats, TFTP_SHM_C_RRQ, 10);
	w.stats->errors[0] = 2;
	w.stats->options[1] = 5;
	w.stats->pool_exhausted = 1;
	w.stats->last_request = 1700000002;
	shm_gauge(&w.stats->active_transfers, 1);
	shm_gauge(&w.stats->pool_capacity, 256);
	shm_gauge(&w.stats->pool_in_use, 12);
	shm_gauge(&w.stats->pool_high_water, 40);
	shm_gauge(&w.stats->generation, 1);
	shm_gauge(&w.stats->heartbeat_ms, 123456);
	i = shm_session_begin(&w, TFTP_SHM_S_READ, AF_INET, &addr, 1, "a",
	    "", 0, 0);
	assert_true(i == 0);
	/* ...and was killed in the middle of freeing another entry. */
	w.sessions[2].seq = 7;
	detach(&w);

	shm_reset_worker_region(&m, 1);
	shm_reset_worker_region(&m, NWORKERS);	/* ignored */
	{
		const struct tftp_shm_stats *st = shm_view_stats(&v, 1);

		assert_int_equal(st->counters[TFTP_SHM_C_RRQ], 10);
		assert_int_equal(st->errors[0], 2);
		assert_int_equal(st->options[1], 5);
		assert_int_equal(st->pool_exhausted, 1);
		assert_int_equal(st->last_request, 1700000002);
		assert_int_equal(st->active_transfers, 0);
		assert_int_equal(st->pool_capacity, 0);
		assert_int_equal(st->pool_in_use, 0);
		assert_int_equal(st->pool_high_water, 0);
		assert_int_equal(st->generation, 0);
		/* The new process's silence counts from its own start. */
		assert_int_equal(st->heartbeat_ms, 0);
	}
	tab = shm_view_sessions(&v, 1, &n);
	for (uint32_t k = 0; k < n; k++) {
		assert_false(shm_session_read(&tab[k], &s));
		assert_int_equal(tab[k].seq & 1, 0);
	}
	/* A new worker in the slot uses every entry, the repaired one too. */
	attach(&m, &w, 1);
	for (uint32_t k = 0; k < n; k++) {
		assert_int_equal(shm_session_begin(&w, TFTP_SHM_S_READ,
		    AF_INET, &addr, 1, "b", "", 0, 0), (int)k);
		assert_true(shm_session_read(&tab[k], &s));
		assert_string_equal(s.file, "b");
	}
	detach(&w);

	shm_view_close(&v);
	shm_destroy(&m);
}

/*
 * "stats --reset": the master's baseline of every worker's counters,
 * histograms and restarts, read back through a view; the workers' slots
 * untouched; the top-N entries copied under their seqlocks.
 */
static void
test_stats_reset(void **state)
{
	struct fixture *f = *state;
	static struct tftp_shm_baseline base[NWORKERS];
	static struct tftp_shm_stats copy;
	struct shm_master m;
	struct shm_worker w;
	struct shm_view v;
	char why[256];
	uint64_t resets;
	int64_t when;

	create(f, &m);
	attach(&m, &w, 1);
	assert_int_equal(shm_view_open(&v, f->path, why, sizeof(why)), 0);
	assert_int_equal(shm_read_resets(v.ctl, NWORKERS, &resets, &when,
	    base), 0);
	assert_int_equal(resets, 0);
	assert_int_equal(when, 0);

	shm_count(w.stats, TFTP_SHM_C_RRQ, 7);
	metrics_record(w.stats->hist, TFTP_SHM_H_SIZE, 1000);
	metrics_top_add(w.stats->files, TFTP_SHM_TOPN, 0, "pxelinux.0", 10,
	    1000, false);
	shm_set_worker(&m, 1, 4242, TFTP_SHM_W_RUNNING, 0, 2, 1);
	shm_stats_reset(&m, 1700000000);
	assert_int_equal(shm_read_resets(v.ctl, NWORKERS, &resets, &when,
	    base), 0);
	assert_int_equal(resets, 1);
	assert_int_equal(when, 1700000000);
	assert_int_equal(base[1].counters[TFTP_SHM_C_RRQ], 7);
	assert_int_equal(base[1].restarts, 2);
	assert_int_equal(base[1].hist[TFTP_SHM_H_SIZE].count, 1);
	assert_int_equal(base[1].hist[TFTP_SHM_H_SIZE].bucket[1], 1);
	assert_int_equal(base[0].counters[TFTP_SHM_C_RRQ], 0);
	assert_int_equal(v.ctl->resets.seq % 2, 0);

	/* The worker's slot is its own: read as it was, counting on. */
	shm_count(w.stats, TFTP_SHM_C_RRQ, 1);
	shm_stats_read(shm_view_stats(&v, 1), &copy);
	assert_int_equal(copy.counters[TFTP_SHM_C_RRQ], 8);
	assert_int_equal(copy.files[0].requests, 1);
	assert_string_equal((const char *)copy.files[0].key, "pxelinux.0");
	assert_int_equal(copy.files[1].requests, 0);
	/* An entry held odd by its writer is not copied half-written. */
	w.stats->files[0].seq++;
	shm_stats_read(shm_view_stats(&v, 1), &copy);
	assert_int_equal(copy.files[0].requests, 0);
	w.stats->files[0].seq++;

	shm_stats_reset(&m, 1700000001);
	assert_int_equal(shm_read_resets(v.ctl, NWORKERS, &resets, &when,
	    base), 0);
	assert_int_equal(resets, 2);
	assert_int_equal(base[1].counters[TFTP_SHM_C_RRQ], 8);
	/* A master stopped mid-write: the reader gives up, bounded. */
	m.ctl->resets.seq++;
	assert_int_equal(shm_read_resets(v.ctl, NWORKERS, &resets, &when,
	    base), -EAGAIN);
	m.ctl->resets.seq++;

	shm_view_close(&v);
	detach(&w);
	shm_destroy(&m);
}

static void
test_counter_names(void **state)
{
	static const char *const want[TFTP_SHM_C_MAX] = {
		[TFTP_SHM_C_RRQ] = "rrq",
		[TFTP_SHM_C_WRQ] = "wrq",
		[TFTP_SHM_C_TRANSFERS_OK] = "transfers_ok",
		[TFTP_SHM_C_TRANSFERS_FAILED] = "transfers_failed",
		[TFTP_SHM_C_BYTES_SENT] = "bytes_sent",
		[TFTP_SHM_C_BYTES_RECEIVED] = "bytes_received",
		[TFTP_SHM_C_PACKETS_SENT] = "packets_sent",
		[TFTP_SHM_C_PACKETS_RECEIVED] = "packets_received",
		[TFTP_SHM_C_RETRANSMITS] = "retransmits",
		[TFTP_SHM_C_TIMEOUTS] = "timeouts",
		[TFTP_SHM_C_SYS_RECVMMSG] = "syscalls_recvmmsg",
		[TFTP_SHM_C_SYS_RECVMSG] = "syscalls_recvmsg",
		[TFTP_SHM_C_SYS_RECVFROM] = "syscalls_recvfrom",
		[TFTP_SHM_C_SYS_SENDMMSG] = "syscalls_sendmmsg",
		[TFTP_SHM_C_SYS_SENDMSG] = "syscalls_sendmsg",
		[TFTP_SHM_C_SYS_SENDTO] = "syscalls_sendto",
		[TFTP_SHM_C_MSGS_RECEIVED] = "messages_received",
		[TFTP_SHM_C_MSGS_SENT] = "messages_sent",
		[TFTP_SHM_C_REQUESTS_REPEATED] = "requests_repeated",
		[TFTP_SHM_C_TRANSFERS_REPLACED] = "transfers_replaced",
		[TFTP_SHM_C_TRANSFERS_ABORTED] = "transfers_aborted",
		[TFTP_SHM_C_REFUSED_ACL] = "refused_acl",
		[TFTP_SHM_C_UNVERIFIED_EXPIRED] = "unverified_expired",
		[TFTP_SHM_C_UNVERIFIED_ICMP] = "unverified_icmp",
		[TFTP_SHM_C_REFUSED_CLIENT_CAP] = "refused_client_cap",
		[TFTP_SHM_C_REFUSED_CLIENT_RATE] = "refused_client_rate",
		[TFTP_SHM_C_REFUSED_MAX_TRANSFERS] = "refused_max_transfers",
		[TFTP_SHM_C_UNVERIFIED_EVICTED] = "unverified_evicted",
		[TFTP_SHM_C_UNVERIFIED_OVER_BUDGET] = "unverified_over_budget",
	};

	for (int c = 0; c < TFTP_SHM_C_MAX; c++) {
		assert_non_null(want[c]);
		assert_non_null(shm_counter_name(c));
		assert_string_equal(shm_counter_name(c), want[c]);
	}
	assert_null(shm_counter_name(TFTP_SHM_C_MAX));
	assert_null(shm_counter_name((enum tftp_shm_counter)-1));
}

int
main(void)
{
#define T(fn)	cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_create_layout),
		T(test_create_bad_args),
		T(test_view_roundtrip),
		T(test_publish_read),
		T(test_publish_map),
		T(test_config_torn),
		T(test_seqlock_race),
		T(test_settings_roundtrip),
		T(test_settings_corrupt),
		T(test_worker_readonly),
		T(test_worker_region_visible),
		T(test_master_stats),
		T(test_attach_rejects),
		T(test_sessions),
		T(test_session_torn),
		T(test_stale_replaced),
		T(test_live_refused),
		T(test_destroy_spares_successor),
		T(test_view_rejects),
		T(test_set_worker_and_reset),
		T(test_counter_names),
		T(test_stats_reset),
	};
#undef T

	return cmocka_run_group_tests_name("shm", tests, NULL, NULL);
}
