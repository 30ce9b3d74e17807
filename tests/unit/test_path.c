/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * Unit tests for path.c: what a client's filename becomes beneath the
 * root and what is refused (.., control characters, empty, trailing '/',
 * too long), the upload allow-list match, and the dir/base split.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>

#include "path.h"

static void
check_ok(const char *name, const char *want)
{
	char out[PATH_REL_MAX];
	int rc;

	memset(out, 'Z', sizeof(out));
	rc = path_normalize(name, out, sizeof(out));
	if (rc != 0)
		fail_msg("\"%s\": %d", name, rc);
	if (strcmp(out, want) != 0)
		fail_msg("\"%s\": got \"%s\", want \"%s\"", name, out, want);
}

static void
check_refused(const char *name, int want)
{
	char out[PATH_REL_MAX];
	int rc;

	rc = path_normalize(name, out, sizeof(out));
	if (rc != want)
		fail_msg("\"%s\": got %d, want %d", name, rc, want);
}

static void
test_normalize_accepts(void **state)
{
	check_ok("a", "a");
	check_ok("file.bin", "file.bin");
	check_ok("boot/pxelinux.cfg/default", "boot/pxelinux.cfg/default");
	check_ok("/etc/passwd", "etc/passwd");
	check_ok("///etc//passwd", "etc/passwd");
	check_ok("./x", "x");
	check_ok("././x", "x");
	check_ok("a//b", "a/b");
	check_ok("a/./b", "a/b");
	check_ok("a/.", "a");
	check_ok("/./a/.", "a");
}

static void
test_normalize_dots_in_names(void **state)
{
	/* Only a whole ".." component climbs; these are plain names. */
	check_ok("...", "...");
	check_ok("..a", "..a");
	check_ok("a..", "a..");
	check_ok("a/..b/c", "a/..b/c");
	check_ok(".hidden", ".hidden");
	check_ok(".a", ".a");
	check_ok("a/.b", "a/.b");
	check_ok("x/.../y", "x/.../y");
}

static void
test_normalize_high_bytes(void **state)
{
	/* UTF-8 and other bytes >= 0x80 are not control characters. */
	check_ok("caf\xc3\xa9.txt", "caf\xc3\xa9.txt");
	check_ok("\x80\xff", "\x80\xff");
	check_ok("sp ace~!", "sp ace~!");
}

static void
test_normalize_dotdot(void **state)
{
	check_refused("..", -EACCES);
	check_refused("../x", -EACCES);
	check_refused("/../x", -EACCES);
	check_refused("a/../b", -EACCES);
	check_refused("a/..", -EACCES);
	check_refused("a/b/../../..", -EACCES);
	check_refused("./..", -EACCES);
	check_refused("a//..//b", -EACCES);
}

static void
test_normalize_control(void **state)
{
	char name[4] = "a?b";
	int c;

	for (c = 1; c < 0x20; c++) {
		name[1] = (char)c;
		check_refused(name, -EACCES);
	}
	name[1] = 0x7f;
	check_refused(name, -EACCES);
	check_refused("\x1b[31m", -EACCES);
	check_refused("ok/\n", -EACCES);
	check_refused("tab\there", -EACCES);
}

static void
test_normalize_empty(void **state)
{
	check_refused("", -EACCES);
	check_refused(".", -EACCES);
	check_refused("./.", -EACCES);
	check_refused("/.", -EACCES);
}

static void
test_normalize_trailing_slash(void **state)
{
	check_refused("/", -EACCES);
	check_refused("//", -EACCES);
	check_refused("dir/", -EACCES);
	check_refused("a/b//", -EACCES);
	check_refused("./", -EACCES);
	check_refused("a/./", -EACCES);
}

static void
test_normalize_too_long(void **state)
{
	char *name, out[PATH_REL_MAX];

	name = malloc(PATH_REL_MAX + 8);
	assert_non_null(name);

	/* PATH_REL_MAX - 1 bytes and the NUL fit exactly. */
	memset(name, 'n', PATH_REL_MAX - 1);
	name[PATH_REL_MAX - 1] = '\0';
	assert_int_equal(path_normalize(name, out, sizeof(out)), 0);
	assert_int_equal(strlen(out), PATH_REL_MAX - 1);

	/* One more does not. */
	memset(name, 'n', PATH_REL_MAX);
	name[PATH_REL_MAX] = '\0';
	assert_int_equal(path_normalize(name, out, sizeof(out)),
	    -ENAMETOOLONG);

	/* Stripped and folded slashes do not count. */
	memset(name, '/', 8);
	memset(name + 8, 'n', PATH_REL_MAX - 1);
	name[PATH_REL_MAX + 7] = '\0';
	assert_int_equal(path_normalize(name, out, sizeof(out)), 0);
	assert_int_equal(strlen(out), PATH_REL_MAX - 1);

	/* A ".." after the point of overflow is still an access violation. */
	memset(name, 'n', PATH_REL_MAX);
	memcpy(name + PATH_REL_MAX, "/../x", 6);
	assert_int_equal(path_normalize(name, out, sizeof(out)), -EACCES);
	/* Components after the overflow do not make it fit. */
	memcpy(name + PATH_REL_MAX, "/x/y", 5);
	assert_int_equal(path_normalize(name, out, sizeof(out)),
	    -ENAMETOOLONG);
	free(name);

	/* Small buffers: each separator and the NUL need room too. */
	assert_int_equal(path_normalize("abc", out, 3), -ENAMETOOLONG);
	assert_int_equal(path_normalize("abc", out, 4), 0);
	assert_string_equal(out, "abc");
	assert_int_equal(path_normalize("a/b", out, 3), -ENAMETOOLONG);
	assert_int_equal(path_normalize("a//b", out, 4), 0);
	assert_string_equal(out, "a/b");
	assert_int_equal(path_normalize("/ab/c", out, 4), -ENAMETOOLONG);
	assert_int_equal(path_normalize("a", out, 0), -ENAMETOOLONG);
	assert_int_equal(path_normalize("a", out, 1), -ENAMETOOLONG);
}

static void
test_match_any(void **state)
{
	static const char *const pats[] = { "*.bin", "upload/*", "fw-?.img" };

	/* No patterns: everything may be written. */
	assert_int_equal(path_match_any("any/thing", NULL, 0), 1);
	assert_int_equal(path_match_any("x.bin", pats, 3), 1);
	assert_int_equal(path_match_any("upload/x.txt", pats, 3), 1);
	assert_int_equal(path_match_any("fw-1.img", pats, 3), 1);
	assert_int_equal(path_match_any("x.txt", pats, 3), 0);
	assert_int_equal(path_match_any("fw-10.img", pats, 3), 0);
	/* FNM_PATHNAME: wildcards do not cross '/'. */
	assert_int_equal(path_match_any("dir/x.bin", pats, 3), 0);
	assert_int_equal(path_match_any("upload/sub/x", pats, 3), 0);
	/* Only the first npatterns are looked at. */
	assert_int_equal(path_match_any("upload/x.txt", pats, 1), 0);
}

static void
test_split(void **state)
{
	const char *base;
	char dir[16];

	assert_int_equal(path_split("a/b/c", dir, sizeof(dir), &base), 0);
	assert_string_equal(dir, "a/b");
	assert_string_equal(base, "c");

	assert_int_equal(path_split("c", dir, sizeof(dir), &base), 0);
	assert_string_equal(dir, ".");
	assert_string_equal(base, "c");

	assert_int_equal(path_split("d/f.bin", dir, sizeof(dir), &base), 0);
	assert_string_equal(dir, "d");
	assert_string_equal(base, "f.bin");

	/* Exact fit of the directory. */
	assert_int_equal(path_split("abc/x", dir, 4, &base), 0);
	assert_string_equal(dir, "abc");
	assert_int_equal(path_split("abc/x", dir, 3, &base), -ENAMETOOLONG);
	assert_int_equal(path_split("x", dir, 2, &base), 0);
	assert_string_equal(dir, ".");
	assert_int_equal(path_split("x", dir, 1, &base), -ENAMETOOLONG);

	/* Not what path_normalize() produces. */
	assert_int_equal(path_split("", dir, sizeof(dir), &base), -EINVAL);
	assert_int_equal(path_split("/x", dir, sizeof(dir), &base), -EINVAL);
	assert_int_equal(path_split("a/", dir, sizeof(dir), &base), -EINVAL);
}

/* The root a normalized absolute name starts with, and the rest. */
static void
expect_root(const char *name, int want, const char *rest)
{
	static const char *const roots[] = {
		"/srv/tftp", "/srv/tftp/boot/", "//srv/./other", "/srv/a",
		"relative/dir", "/", "/srv/../etc",
	};
	char rel[PATH_REL_MAX];
	const char *r = NULL;

	assert_int_equal(path_normalize(name, rel, sizeof(rel)), 0);
	assert_int_equal(path_pick_root(rel, roots,
	    sizeof(roots) / sizeof(roots[0]), &r), want);
	if (want >= 0)
		assert_string_equal(r, rest);
}

static void
test_pick_root(void **state)
{
	(void)state;
	expect_root("/srv/tftp/pxelinux.0", 0, "pxelinux.0");
	expect_root("//srv//tftp/./sub/x", 0, "sub/x");
	/* The longest match wins, whatever the order. */
	expect_root("/srv/tftp/boot/vmlinuz", 1, "vmlinuz");
	expect_root("/srv/tftp/bootx/vmlinuz", 0, "bootx/vmlinuz");
	/* A root's own "." and repeated '/' are ignored. */
	expect_root("/srv/other/f", 2, "f");
	/* Whole components only: /srv/a is not a prefix of /srv/ab. */
	expect_root("/srv/ab/x", -1, NULL);
	expect_root("/srv/a/x", 3, "x");
	/* The root itself names no file. */
	expect_root("/srv/tftp", -1, NULL);
	/* Relative roots, "/" and ".." never match. */
	expect_root("/relative/dir/x", -1, NULL);
	expect_root("/etc/passwd", -1, NULL);
	expect_root("/pxelinux.0", -1, NULL);
	expect_root("/srv/etc/passwd", -1, NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_normalize_accepts),
		cmocka_unit_test(test_normalize_dots_in_names),
		cmocka_unit_test(test_normalize_high_bytes),
		cmocka_unit_test(test_normalize_dotdot),
		cmocka_unit_test(test_normalize_control),
		cmocka_unit_test(test_normalize_empty),
		cmocka_unit_test(test_normalize_trailing_slash),
		cmocka_unit_test(test_normalize_too_long),
		cmocka_unit_test(test_match_any),
		cmocka_unit_test(test_split),
		cmocka_unit_test(test_pick_root),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
