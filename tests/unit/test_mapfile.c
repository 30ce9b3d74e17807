/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * mapfile.c: the remap rules file as the master reads it.  No name, no
 * rules; a good file comes back whole; a bad rule is FILE:LINE: reason; a
 * file one byte over the bound the segment holds is refused, one at the
 * bound is read; a relative name is taken from the directory given.
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
#include <limits.h>
#include <stdio.h>
#include <unistd.h>

#include "mapfile.h"
#include "remap.h"
#include "tmpdir.h"

struct fixture {
	char	dir[PATH_MAX];
	char	path[PATH_MAX + 16];
	char	err[512];
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL || test_tmpdir_make(f->dir, sizeof(f->dir),
	    "test_mapfile") < 0)
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/rules", f->dir);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	int r = test_tmpdir_remove(f->dir);

	free(f);
	return r;
}

static void
put(const char *path, const char *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);
}

static void
test_none(void **state)
{
	struct fixture *f = *state;
	char *text = (char *)1;
	size_t len = 1;

	assert_int_equal(mapfile_load("", NULL, &text, &len, f->err,
	    sizeof(f->err)), 0);
	assert_null(text);
	assert_int_equal(len, 0);
}

static void
test_good(void **state)
{
	struct fixture *f = *state;
	static const char rules[] = "# tftp-hpa's example\n"
	    "rg \\\\ /\nr ^[^/] /\\0\n";
	char *text;
	size_t len;

	put(f->path, rules, strlen(rules));
	assert_int_equal(mapfile_load(f->path, NULL, &text, &len, f->err,
	    sizeof(f->err)), 0);
	assert_int_equal(len, strlen(rules));
	assert_memory_equal(text, rules, len);
	free(text);
	/* Comments only: no rules, but a valid file. */
	put(f->path, "# none\n", 7);
	assert_int_equal(mapfile_load(f->path, NULL, &text, &len, f->err,
	    sizeof(f->err)), 0);
	assert_int_equal(len, 7);
	free(text);
}

static void
test_bad_line(void **state)
{
	struct fixture *f = *state;
	static const char rules[] = "r a b\n# fine\nrx ( y\n";
	char want[PATH_MAX + 64];
	char *text = (char *)1;
	size_t len = 1;

	put(f->path, rules, strlen(rules));
	assert_int_equal(mapfile_load(f->path, NULL, &text, &len, f->err,
	    sizeof(f->err)), -EINVAL);
	assert_null(text);
	assert_int_equal(len, 0);
	snprintf(want, sizeof(want), "%s:3: ", f->path);
	assert_memory_equal(f->err, want, strlen(want));
	assert_true(strlen(f->err) > strlen(want));
}

static void
test_missing(void **state)
{
	struct fixture *f = *state;
	char want[PATH_MAX + 64];
	char *text;
	size_t len;

	assert_int_equal(mapfile_load(f->path, NULL, &text, &len, f->err,
	    sizeof(f->err)), -ENOENT);
	snprintf(want, sizeof(want), "%s: %s", f->path, strerror(ENOENT));
	assert_string_equal(f->err, want);
}

/* MAPFILE_MAX bytes are read; one more is refused with the bound named. */
static void
test_bound(void **state)
{
	struct fixture *f = *state;
	char *big, *text;
	size_t len;

	assert_int_equal(MAPFILE_MAX, REMAP_RULES_MAX * (REMAP_LINE_MAX + 1));
	assert_non_null(big = malloc(MAPFILE_MAX + 1));
	/* REMAP_RULES_MAX comment lines of the longest length. */
	memset(big, '#', MAPFILE_MAX + 1);
	for (len = REMAP_LINE_MAX; len < MAPFILE_MAX; len += REMAP_LINE_MAX + 1)
		big[len] = '\n';
	put(f->path, big, MAPFILE_MAX);
	assert_int_equal(mapfile_load(f->path, NULL, &text, &len, f->err,
	    sizeof(f->err)), 0);
	assert_int_equal(len, MAPFILE_MAX);
	free(text);
	put(f->path, big, MAPFILE_MAX + 1);
	assert_int_equal(mapfile_load(f->path, NULL, &text, &len, f->err,
	    sizeof(f->err)), -EFBIG);
	assert_non_null(strstr(f->err, "larger than 262400 bytes"));
	free(big);
}

static void
test_relative(void **state)
{
	struct fixture *f = *state;
	char *text;
	size_t len;

	put(f->path, "r a b\n", 6);
	assert_int_equal(mapfile_load("rules", f->dir, &text, &len, f->err,
	    sizeof(f->err)), 0);
	assert_int_equal(len, 6);
	free(text);
	/* An absolute name ignores the directory. */
	assert_int_equal(mapfile_load(f->path, "/nonexistent", &text, &len,
	    f->err, sizeof(f->err)), 0);
	free(text);
}

int
main(void)
{
#define T(fn)	cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_none),
		T(test_good),
		T(test_bad_line),
		T(test_missing),
		T(test_bound),
		T(test_relative),
	};
#undef T

	return cmocka_run_group_tests_name("mapfile", tests, NULL, NULL);
}
