/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * Unit tests for fdcache.c through files_open_read_shared(): a second
 * open of a file shares the first one's descriptor; a file replaced by
 * rename, removed, changed in place or made private is opened afresh
 * (or refused) while the transfers of the old one keep reading it; the
 * table never holds more than FDCACHE_SLOTS descriptors, hands out the
 * least recently used idle one first, closes idle ones after two
 * expiries and all on a flush, and keeps no descriptor it does not own.
 * The mapping an entry holds is shared by all its holders, unmapped with
 * the descriptor, never shared again once it faulted, and a replaced
 * file's is not the new file's.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "fdcache.h"
#include "files.h"
#include "tmpdir.h"

struct fixture {
	char			 dir[256];
	int			 rootfd;
	struct tftpd_config	 cfg;
	struct fdcache		 fc;
	int			 fds0;	/* open before the test */
};

static int
setup(void **state)
{
	struct fixture *f;

	if ((f = calloc(1, sizeof(*f))) == NULL ||
	    test_tmpdir_make(f->dir, sizeof(f->dir), "test_fdcache") < 0)
		return -1;
	if ((f->rootfd = open(f->dir, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -1;
	config_defaults(&f->cfg);
	fdcache_init(&f->fc);
	f->fds0 = test_count_fds();
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	fdcache_flush(&f->fc);
	close(f->rootfd);
	test_tmpdir_remove(f->dir);
	free(f);
	return 0;
}

/* name (beneath the fixture's root) holds text, mode 0644. */
static void
put_file(struct fixture *f, const char *name, const char *text)
{
	char tmp[300], path[600];
	int fd;

	snprintf(tmp, sizeof(tmp), "%s/.new", f->dir);
	snprintf(path, sizeof(path), "%s/%s", f->dir, name);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, 0644), 0);
	close(fd);
	/* A new inode each time: a rename over the name. */
	assert_int_equal(rename(tmp, path), 0);
}

static int
shared_open(struct fixture *f, const char *name, uint64_t *size)
{
	return files_open_read_shared(&f->fc, f->rootfd, name, &f->cfg,
	    size);
}

/* What the transfer holding fd reads from the start. */
static const char *
content(int fd)
{
	static char buf[64];
	ssize_t n;

	n = pread(fd, buf, sizeof(buf) - 1, 0);
	assert_true(n >= 0);
	buf[n] = '\0';
	return buf;
}

static bool
is_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

static void
test_shared(void **state)
{
	struct fixture *f = *state;
	uint64_t size = 0;
	int a, b;

	put_file(f, "boot.img", "version A");
	assert_true((a = shared_open(f, "boot.img", &size)) >= 0);
	assert_int_equal(size, 9);
	assert_true((b = shared_open(f, "boot.img", &size)) >= 0);
	assert_int_equal(a, b);
	assert_int_equal(size, 9);
	assert_int_equal(f->fc.hits, 1);
	assert_int_equal(fcntl(a, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	assert_true(fdcache_put(&f->fc, a));
	assert_true(fdcache_put(&f->fc, b));
	/* Kept for a recent request, closed when idle for a whole period. */
	assert_true(is_open(a));
	fdcache_expire(&f->fc);
	assert_true(is_open(a));
	assert_true((b = shared_open(f, "boot.img", &size)) == a);
	assert_true(fdcache_put(&f->fc, b));
	fdcache_expire(&f->fc);
	fdcache_expire(&f->fc);
	assert_false(is_open(a));
	assert_int_equal(test_count_fds(), f->fds0);
}

static void
test_replaced(void **state)
{
	struct fixture *f = *state;
	char path[300];
	uint64_t size;
	int a, b, c;

	put_file(f, "boot.img", "version A");
	assert_true((a = shared_open(f, "boot.img", &size)) >= 0);
	put_file(f, "boot.img", "version B!");
	/* The next request has the new file, the running one the old. */
	assert_true((b = shared_open(f, "boot.img", &size)) >= 0);
	assert_int_not_equal(a, b);
	assert_int_equal(size, 10);
	assert_string_equal(content(b), "version B!");
	assert_string_equal(content(a), "version A");
	assert_int_equal(f->fc.retired, 1);
	/* The old one closes with its last transfer. */
	assert_true(fdcache_put(&f->fc, a));
	assert_false(is_open(a));
	/* Changed in place (same inode, new size and times): afresh. */
	snprintf(path, sizeof(path), "%s/boot.img", f->dir);
	c = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	assert_true(c >= 0);
	assert_int_equal(write(c, "+", 1), 1);
	close(c);
	assert_true((c = shared_open(f, "boot.img", &size)) >= 0);
	assert_int_not_equal(c, b);
	assert_int_equal(size, 11);
	/* Made private: refused, though a descriptor of it is shared. */
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(shared_open(f, "boot.img", &size), -EPERM);
	/* Removed: not found, though still open. */
	assert_int_equal(unlink(path), 0);
	assert_int_equal(shared_open(f, "boot.img", &size), -ENOENT);
	assert_true(fdcache_put(&f->fc, b));
	assert_true(fdcache_put(&f->fc, c));
	fdcache_flush(&f->fc);
	assert_int_equal(test_count_fds(), f->fds0);
}

/* A final symlink is never shared: it is opened through each time. */
static void
test_symlink(void **state)
{
	struct fixture *f = *state;
	char path[300];
	uint64_t size;
	int a, b;

	f->cfg.follow_symlinks = true;
	put_file(f, "real.img", "real");
	snprintf(path, sizeof(path), "%s/link.img", f->dir);
	assert_int_equal(symlink("real.img", path), 0);
	assert_true((a = shared_open(f, "link.img", &size)) >= 0);
	assert_true((b = shared_open(f, "link.img", &size)) >= 0);
	assert_int_not_equal(a, b);
	assert_string_equal(content(b), "real");
	assert_true(fdcache_put(&f->fc, a));
	assert_true(fdcache_put(&f->fc, b));
	fdcache_flush(&f->fc);
	assert_int_equal(test_count_fds(), f->fds0);
}

static void
test_bounded(void **state)
{
	struct fixture *f = *state;
	int fds[FDCACHE_SLOTS + 1], extra;
	char name[32], longname[FDCACHE_NAME_MAX + 8], path[600];
	uint64_t size, hits;
	size_t i;

	for (i = 0; i <= FDCACHE_SLOTS; i++) {
		snprintf(name, sizeof(name), "f%zu", i);
		put_file(f, name, name);
		assert_true((fds[i] = shared_open(f, name, &size)) >= 0);
	}
	/* Full of descriptors in use: the last one is its opener's alone. */
	assert_false(fdcache_put(&f->fc, fds[FDCACHE_SLOTS]));
	close(fds[FDCACHE_SLOTS]);
	for (i = 0; i < FDCACHE_SLOTS; i++)
		assert_true(fdcache_put(&f->fc, fds[i]));
	/* f0 used again: f1 is then the least recently used, replaced. */
	assert_int_equal(shared_open(f, "f0", &size), fds[0]);
	assert_true(fdcache_put(&f->fc, fds[0]));
	assert_true((extra = shared_open(f, "f64", &size)) >= 0);
	assert_true(fdcache_put(&f->fc, extra));
	hits = f->fc.hits;
	assert_int_equal(shared_open(f, "f0", &size), fds[0]);
	assert_true(fdcache_put(&f->fc, fds[0]));
	assert_int_equal(f->fc.hits, hits + 1);
	assert_true((extra = shared_open(f, "f1", &size)) >= 0);
	assert_true(fdcache_put(&f->fc, extra));
	assert_int_equal(f->fc.hits, hits + 1);
	/* A name longer than the table's is opened, never shared. */
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	longname[sizeof(longname) / 2] = '\0';
	snprintf(path, sizeof(path), "%s/%s", f->dir, longname);
	assert_int_equal(mkdir(path, 0755), 0);
	longname[sizeof(longname) / 2] = '/';
	put_file(f, longname, "long");
	assert_true((extra = shared_open(f, longname, &size)) >= 0);
	assert_false(fdcache_put(&f->fc, extra));
	close(extra);
	fdcache_flush(&f->fc);
	assert_int_equal(test_count_fds(), f->fds0);
}

/* The root is part of the key; a flush closes idle ones at once. */
static void
test_roots(void **state)
{
	struct fixture *f = *state;
	char sub[300];
	uint64_t size;
	int other, a, b, c;

	snprintf(sub, sizeof(sub), "%s/sub", f->dir);
	assert_int_equal(mkdir(sub, 0755), 0);
	put_file(f, "x", "top");
	put_file(f, "sub/x", "sub");
	other = open(sub, O_PATH | O_DIRECTORY | O_CLOEXEC);
	assert_true(other >= 0);
	assert_true((a = shared_open(f, "x", &size)) >= 0);
	assert_true((b = files_open_read_shared(&f->fc, other, "x", &f->cfg,
	    &size)) >= 0);
	assert_int_not_equal(a, b);
	assert_string_equal(content(a), "top");
	assert_string_equal(content(b), "sub");
	assert_true(fdcache_put(&f->fc, a));
	fdcache_flush(&f->fc);
	assert_false(is_open(a));
	/* In use at the flush: closed at its put, never handed out. */
	assert_true(is_open(b));
	assert_true((c = files_open_read_shared(&f->fc, other, "x", &f->cfg,
	    &size)) >= 0);
	assert_int_not_equal(c, b);
	assert_true(fdcache_put(&f->fc, c));
	assert_true(fdcache_put(&f->fc, b));
	assert_false(is_open(b));
	fdcache_flush(&f->fc);
	close(other);
	assert_int_equal(test_count_fds(), f->fds0);
}

/* addr is mapped in this process. */
static bool
is_mapped(const void *addr)
{
	return msync((void *)(uintptr_t)addr, 1, MS_ASYNC) == 0;
}

static void
test_mapping(void **state)
{
	struct fixture *f = *state;
	const void *m1, *m2, *m3;
	size_t l1, l2, l3;
	uint64_t size;
	int a, b, c, priv;

	put_file(f, "boot.img", "version A");
	assert_true((a = shared_open(f, "boot.img", &size)) >= 0);
	assert_true((b = shared_open(f, "boot.img", &size)) == a);
	/* Not beyond the size it was opened with. */
	assert_int_equal(fdcache_map(&f->fc, a, 10, &m1, &l1), -EINVAL);
	assert_int_equal(fdcache_map(&f->fc, a, 9, &m1, &l1), 0);
	assert_int_equal(l1, 9);
	assert_memory_equal(m1, "version A", 9);
	/* The second holder gets the same mapping, whatever it asks. */
	assert_int_equal(fdcache_map(&f->fc, b, 4, &m2, &l2), 0);
	assert_ptr_equal(m1, m2);
	assert_int_equal(l2, 9);
	/* A descriptor the table does not hold: -ENOENT, map it yourself. */
	priv = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(priv >= 0);
	assert_int_equal(fdcache_map(&f->fc, priv, 1, &m3, &l3), -ENOENT);
	close(priv);
	/* Idle: kept with its descriptor, and gone with it. */
	assert_true(fdcache_put(&f->fc, a));
	assert_true(fdcache_put(&f->fc, b));
	fdcache_expire(&f->fc);
	assert_true(is_mapped(m1));
	assert_true((a = shared_open(f, "boot.img", &size)) >= 0);
	assert_int_equal(fdcache_map(&f->fc, a, 9, &m2, &l2), 0);
	assert_ptr_equal(m1, m2);
	assert_true(fdcache_put(&f->fc, a));
	fdcache_expire(&f->fc);
	fdcache_expire(&f->fc);
	assert_false(is_open(a));
	assert_false(is_mapped(m1));

	/* Replaced by rename: the old holder keeps the old file's mapping. */
	assert_true((a = shared_open(f, "boot.img", &size)) >= 0);
	assert_int_equal(fdcache_map(&f->fc, a, 9, &m1, &l1), 0);
	put_file(f, "boot.img", "version B!");
	assert_true((c = shared_open(f, "boot.img", &size)) >= 0);
	assert_int_not_equal(c, a);
	assert_int_equal(fdcache_map(&f->fc, c, 10, &m3, &l3), 0);
	assert_ptr_not_equal(m3, m1);
	assert_memory_equal(m3, "version B!", 10);
	assert_memory_equal(m1, "version A", 9);
	/* Retired, the old one goes with its last holder. */
	assert_true(fdcache_put(&f->fc, a));
	assert_false(is_mapped(m1));
	assert_true(is_mapped(m3));

	/* A fault: no later transfer gets that mapping or descriptor. */
	assert_true((b = shared_open(f, "boot.img", &size)) == c);
	fdcache_map_fault(&f->fc, c);
	assert_int_equal(fdcache_map(&f->fc, b, 10, &m2, &l2), -ESTALE);
	assert_true((a = shared_open(f, "boot.img", &size)) >= 0);
	assert_int_not_equal(a, c);
	assert_int_equal(fdcache_map(&f->fc, a, 10, &m1, &l1), 0);
	assert_ptr_not_equal(m1, m3);
	/* Both holders of the faulted one still have it until they end. */
	assert_true(is_mapped(m3));
	assert_true(fdcache_put(&f->fc, c));
	assert_true(is_mapped(m3));
	assert_true(fdcache_put(&f->fc, b));
	assert_false(is_mapped(m3));
	assert_false(is_open(c));
	/* A flush: in use, unmapped at its put. */
	fdcache_flush(&f->fc);
	assert_true(is_mapped(m1));
	assert_true(fdcache_put(&f->fc, a));
	assert_false(is_mapped(m1));
	assert_int_equal(test_count_fds(), f->fds0);
}

int
main(void)
{
#define T(fn)	cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_shared),
		T(test_replaced),
		T(test_symlink),
		T(test_bounded),
		T(test_roots),
		T(test_mapping),
	};
#undef T

	return cmocka_run_group_tests_name("fdcache", tests, NULL, NULL);
}
