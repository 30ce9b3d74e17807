/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * Unit tests for lookup.c, on a real directory tree made under $TMPDIR (or
 * /tmp) for each test: backslashes turned into '/', the name of a
 * client's directory (IPv4, IPv6, IPv4-mapped), choosing the client's
 * directory or the common root, the case-insensitive lookup (exact name
 * first, the first match in byte order, directories for directory parts
 * and files for the last, ASCII only, a new upload's name kept), its
 * bounds per directory and in total, staying beneath the root (symlinks
 * out, symlinks while follow_symlinks = no) with openat2 and with the
 * walk, and the read and upload entry points with the switches on and
 * off.  No descriptor is left open.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "config.h"
#include "files.h"
#include "lookup.h"
#include "path.h"
#include "tmpdir.h"

struct fixture {
	char			 dir[PATH_MAX / 2];	/* the tmpdir */
	char			 root[PATH_MAX];	/* dir/root */
	int			 rootfd;
	int			 nfds;		/* open at setup */
	struct tftpd_config	 cfg;
};

/* Test helpers ------------------------------------------------------- */

static void
put_str(struct fixture *f, const char *rel, const char *s)
{
	char path[PATH_MAX * 2];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", f->root, rel);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, s, strlen(s)), (ssize_t)strlen(s));
	assert_int_equal(fchmod(fd, 0666), 0);
	assert_int_equal(close(fd), 0);
}

static void
make_dir(struct fixture *f, const char *rel)
{
	char path[PATH_MAX * 2];

	snprintf(path, sizeof(path), "%s/%s", f->root, rel);
	assert_int_equal(mkdir(path, 0777), 0);
	assert_int_equal(chmod(path, 0777), 0);
}

static void
make_link(struct fixture *f, const char *target, const char *rel)
{
	char path[PATH_MAX * 2];

	snprintf(path, sizeof(path), "%s/%s", f->root, rel);
	assert_int_equal(symlink(target, path), 0);
}

/* The content of the descriptor fd (closed), NUL-terminated. */
static const char *
content(int fd)
{
	static char buf[256];
	ssize_t n;

	assert_true(fd >= 0);
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	close(fd);
	assert_true(n >= 0);
	buf[n] = '\0';
	return buf;
}

static int
setup(void **state)
{
	struct fixture *f;

	f = calloc(1, sizeof(*f));
	if (f == NULL)
		return -1;
	if (test_tmpdir_make(f->dir, sizeof(f->dir), "test_lookup") < 0)
		return -1;
	snprintf(f->root, sizeof(f->root), "%s/root", f->dir);
	if (mkdir(f->root, 0777) < 0 || chmod(f->root, 0777) < 0)
		return -1;
	f->rootfd = open(f->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (f->rootfd < 0)
		return -1;
	config_defaults(&f->cfg);
	f->cfg.fsync = false;
	files_no_openat2 = false;
	f->nfds = test_count_fds();
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	int leaked = test_count_fds() - f->nfds;

	files_no_openat2 = false;
	close(f->rootfd);
	(void)test_tmpdir_remove(f->dir);
	free(f);
	/* Every descriptor a lookup opened is closed again. */
	return leaked == 0 ? 0 : -1;
}

/* lookup_icase() with the default bounds, and what it found. */
static int
icase(struct fixture *f, const char *rel, bool may_be_new, char *out)
{
	return lookup_icase(f->rootfd, rel, f->cfg.follow_symlinks,
	    may_be_new, NULL, out, PATH_REL_MAX);
}

/* Backslashes ---------------------------------------------------------- */

static void
backslash(void **state)
{
	char buf[64];

	(void)state;
	assert_string_equal(lookup_backslash("\\Boot\\x64\\wdsnbp.com", buf,
	    sizeof(buf)), "/Boot/x64/wdsnbp.com");
	assert_string_equal(lookup_backslash("plain/name", buf, sizeof(buf)),
	    "plain/name");
	assert_string_equal(lookup_backslash("..\\..\\etc", buf, sizeof(buf)),
	    "../../etc");
	/* Exactly fits (3 bytes and the NUL), then one byte short. */
	assert_string_equal(lookup_backslash("a\\b", buf, 4), "a/b");
	assert_null(lookup_backslash("a\\b", buf, 3));
	/* What a backslash becomes is then refused like any "..". */
	assert_int_equal(path_normalize(lookup_backslash("x\\..\\..\\etc",
	    buf, sizeof(buf)), buf, sizeof(buf)), -EACCES);
}

/* The client's directory ----------------------------------------------- */

static void
client_dirname(void **state)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6 };
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char buf[INET6_ADDRSTRLEN];

	(void)state;
	assert_int_equal(inet_pton(AF_INET, "192.0.2.10", &sin.sin_addr), 1);
	assert_int_equal(lookup_client_dirname((struct sockaddr *)&sin, buf,
	    sizeof(buf)), 0);
	assert_string_equal(buf, "192.0.2.10");
	assert_int_equal(inet_pton(AF_INET6, "2001:DB8:0:0::1",
	    &sin6.sin6_addr), 1);
	assert_int_equal(lookup_client_dirname((struct sockaddr *)&sin6, buf,
	    sizeof(buf)), 0);
	assert_string_equal(buf, "2001:db8::1");
	/* A dual-stack socket's IPv4 client is named as IPv4. */
	assert_int_equal(inet_pton(AF_INET6, "::ffff:192.0.2.10",
	    &sin6.sin6_addr), 1);
	assert_int_equal(lookup_client_dirname((struct sockaddr *)&sin6, buf,
	    sizeof(buf)), 0);
	assert_string_equal(buf, "192.0.2.10");
	assert_int_equal(lookup_client_dirname((struct sockaddr *)&sun, buf,
	    sizeof(buf)), -EAFNOSUPPORT);
	assert_int_equal(lookup_client_dirname((struct sockaddr *)&sin, buf,
	    5), -ENAMETOOLONG);
}

static void
client_root(void **state)
{
	struct fixture *f = *state;
	struct sockaddr_in a = { .sin_family = AF_INET };
	struct sockaddr_in b = { .sin_family = AF_INET };
	struct sockaddr_in c = { .sin_family = AF_INET };
	struct sockaddr_in d = { .sin_family = AF_INET };
	struct sockaddr_in e = { .sin_family = AF_INET };
	uint64_t size;
	int fd;

	inet_pton(AF_INET, "192.0.2.10", &a.sin_addr);
	inet_pton(AF_INET, "192.0.2.11", &b.sin_addr);
	inet_pton(AF_INET, "192.0.2.12", &c.sin_addr);
	inet_pton(AF_INET, "192.0.2.13", &d.sin_addr);
	inet_pton(AF_INET, "192.0.2.14", &e.sin_addr);
	put_str(f, "boot.cfg", "common\n");
	make_dir(f, "192.0.2.10");
	put_str(f, "192.0.2.10/boot.cfg", "own\n");
	put_str(f, "192.0.2.12", "a file, not a directory\n");
	make_link(f, "192.0.2.10", "192.0.2.13");
	make_link(f, "..", "192.0.2.14");

	/* Off: everyone gets the root itself. */
	assert_int_equal(lookup_root(f->rootfd, (struct sockaddr *)&a,
	    &f->cfg), f->rootfd);

	f->cfg.client_root = CLIENT_ROOT_IP;
	fd = lookup_root(f->rootfd, (struct sockaddr *)&a, &f->cfg);
	assert_true(fd >= 0 && fd != f->rootfd);
	assert_string_equal(content(files_open_read(fd, "boot.cfg", &f->cfg,
	    &size)), "own\n");
	/* Whole-directory: what the client's directory lacks is missing. */
	assert_int_equal(files_open_read(fd, "other", &f->cfg, &size),
	    -ENOENT);
	/* It is the client's root: a symlink cannot lead out of it. */
	make_link(f, "../boot.cfg", "192.0.2.10/common.cfg");
	assert_int_equal(files_open_read(fd, "common.cfg", &f->cfg, &size),
	    -EXDEV);
	close(fd);
	/* No directory of its own: the common root. */
	assert_int_equal(lookup_root(f->rootfd, (struct sockaddr *)&b,
	    &f->cfg), f->rootfd);
	/* A name that is no directory refuses, it does not fall back. */
	assert_int_equal(lookup_root(f->rootfd, (struct sockaddr *)&c,
	    &f->cfg), -ENOTDIR);
	/* A symlink beneath the root is followed, or refused with
	 * follow_symlinks = no; one that leads out is refused. */
	fd = lookup_root(f->rootfd, (struct sockaddr *)&d, &f->cfg);
	assert_true(fd >= 0 && fd != f->rootfd);
	assert_string_equal(content(files_open_read(fd, "boot.cfg", &f->cfg,
	    &size)), "own\n");
	close(fd);
	assert_int_equal(lookup_root(f->rootfd, (struct sockaddr *)&e,
	    &f->cfg), -EXDEV);
	f->cfg.follow_symlinks = false;
	assert_int_equal(lookup_root(f->rootfd, (struct sockaddr *)&d,
	    &f->cfg), -ELOOP);
}

/* Case ----------------------------------------------------------------- */

static void
icase_basic(void **state)
{
	struct fixture *f = *state;
	char out[PATH_REL_MAX];

	put_str(f, "pxelinux.0", "x");
	make_dir(f, "Boot");
	make_dir(f, "Boot/x64");
	put_str(f, "Boot/x64/wdsnbp.com", "w");

	assert_int_equal(icase(f, "PXELINUX.0", false, out), 0);
	assert_string_equal(out, "pxelinux.0");
	assert_int_equal(icase(f, "boot/X64/WdsNbp.Com", false, out), 0);
	assert_string_equal(out, "Boot/x64/wdsnbp.com");
	/* An exact name is what it is. */
	assert_int_equal(icase(f, "Boot/x64/wdsnbp.com", false, out), 0);
	assert_string_equal(out, "Boot/x64/wdsnbp.com");
	assert_int_equal(icase(f, "PXELINUX.1", false, out), -ENOENT);
	assert_int_equal(icase(f, "nodir/pxelinux.0", false, out), -ENOENT);
	/* A file where a directory is needed: exact, it is taken (and
	 * fails); matched by case, it is no candidate. */
	assert_int_equal(icase(f, "pxelinux.0/x", false, out), -ENOTDIR);
	assert_int_equal(icase(f, "PXELINUX.0/x", false, out), -ENOENT);
	/* out must hold the name. */
	assert_int_equal(lookup_icase(f->rootfd, "PXELINUX.0", true, false,
	    NULL, out, 10), -ENAMETOOLONG);
}

static void
icase_choice(void **state)
{
	struct fixture *f = *state;
	char out[PATH_REL_MAX];

	/* Both spellings exist: the exact one, whichever is asked. */
	put_str(f, "a.txt", "lower");
	put_str(f, "A.txt", "upper");
	assert_int_equal(icase(f, "a.txt", false, out), 0);
	assert_string_equal(out, "a.txt");
	assert_int_equal(icase(f, "A.txt", false, out), 0);
	assert_string_equal(out, "A.txt");
	/* Neither asked: the first in byte order ('A' < 'a'). */
	assert_int_equal(icase(f, "A.TXT", false, out), 0);
	assert_string_equal(out, "A.txt");
	put_str(f, "mIx", "1");
	put_str(f, "MiX", "2");
	put_str(f, "Mix", "3");
	assert_int_equal(icase(f, "MIX", false, out), 0);
	assert_string_equal(out, "MiX");

	/* A directory part wants a directory; the last part, a file. */
	put_str(f, "Dd", "a file");
	make_dir(f, "dD");
	put_str(f, "dD/f", "in dD");
	assert_int_equal(icase(f, "DD/f", false, out), 0);
	assert_string_equal(out, "dD/f");
	assert_int_equal(icase(f, "DD", false, out), 0);
	assert_string_equal(out, "Dd");
	make_dir(f, "ONLYDIR");
	assert_int_equal(icase(f, "onlydir", false, out), -ENOENT);

	/* ASCII letters only: UTF-8 'é' is not 'É'. */
	put_str(f, "caf\xc3\xa9", "x");
	assert_int_equal(icase(f, "CAF\xc3\x89", false, out), -ENOENT);
	assert_int_equal(icase(f, "CAF\xc3\xa9", false, out), 0);
	assert_string_equal(out, "caf\xc3\xa9");
	/* Not a letter: '[' and '{' are not each other's case. */
	put_str(f, "x[", "x");
	assert_int_equal(icase(f, "x{", false, out), -ENOENT);
}

static void
icase_new(void **state)
{
	struct fixture *f = *state;
	char out[PATH_REL_MAX];

	make_dir(f, "Up");
	put_str(f, "Up/Old.txt", "old");
	/* An upload's new name keeps its spelling in the directory found. */
	assert_int_equal(icase(f, "UP/NEW.TXT", true, out), 0);
	assert_string_equal(out, "Up/NEW.TXT");
	assert_int_equal(icase(f, "UP/OLD.TXT", true, out), 0);
	assert_string_equal(out, "Up/Old.txt");
	/* Only the last component may be new. */
	assert_int_equal(icase(f, "down/NEW.TXT", true, out), -ENOENT);
}

/* Six entries in each of d1 and d1/d2, counting "." and "..". */
static void
make_bounded_tree(struct fixture *f)
{
	make_dir(f, "D1");
	put_str(f, "D1/a", "");
	put_str(f, "D1/b", "");
	put_str(f, "D1/c", "");
	make_dir(f, "D1/D2");
	put_str(f, "D1/D2/x", "");
	put_str(f, "D1/D2/y", "");
	put_str(f, "D1/D2/z", "");
	put_str(f, "D1/D2/File", "found");
}

static void
icase_bounds(void **state)
{
	struct fixture *f = *state;
	struct lookup_limits lim;
	char out[PATH_REL_MAX];
	uint64_t size;

	make_bounded_tree(f);
	/* The root: ".", "..", D1: 3 entries; D1: 6; D1/D2: 6. */
	lim = (struct lookup_limits){ 6, 15 };
	assert_int_equal(lookup_icase(f->rootfd, "d1/d2/FILE", true, false,
	    &lim, out, sizeof(out)), 0);
	assert_string_equal(out, "D1/D2/File");
	/* One entry fewer per directory: not searched to the end. */
	lim = (struct lookup_limits){ 5, 100 };
	assert_int_equal(lookup_icase(f->rootfd, "d1/d2/FILE", true, false,
	    &lim, out, sizeof(out)), -E2BIG);
	/* One fewer in total. */
	lim = (struct lookup_limits){ 100, 14 };
	assert_int_equal(lookup_icase(f->rootfd, "d1/d2/FILE", true, false,
	    &lim, out, sizeof(out)), -E2BIG);
	/* Exact components read no directory, so no bound applies. */
	lim = (struct lookup_limits){ 0, 0 };
	assert_int_equal(lookup_icase(f->rootfd, "D1/D2/File", true, false,
	    &lim, out, sizeof(out)), 0);
	/* The daemon's entry point, with the default bounds. */
	f->cfg.ignore_case = true;
	assert_string_equal(content(lookup_open_read(NULL, f->rootfd,
	    "d1/d2/FILE", &f->cfg, &size)), "found");
	/* The defaults are as documented. */
	assert_int_equal(LOOKUP_DIR_ENTRIES, 8192);
	assert_int_equal(LOOKUP_TOTAL_ENTRIES, 32768);
}

/* The default bound per directory, on a directory just past it. */
static void
icase_bounds_default(void **state)
{
	struct fixture *f = *state;
	char out[PATH_REL_MAX], name[64];
	uint64_t size;
	int i;

	make_dir(f, "big");
	/* With "." and "..": LOOKUP_DIR_ENTRIES entries exactly. */
	for (i = 0; i < LOOKUP_DIR_ENTRIES - 3; i++) {
		snprintf(name, sizeof(name), "big/f%05d", i);
		put_str(f, name, "");
	}
	put_str(f, "big/Target", "t");
	assert_int_equal(icase(f, "BIG/TARGET", false, out), 0);
	assert_string_equal(out, "big/Target");
	put_str(f, "big/one-more", "");
	assert_int_equal(icase(f, "BIG/TARGET", false, out), -E2BIG);
	/* Exact names are found however large the directory. */
	assert_int_equal(icase(f, "big/Target", false, out), 0);
	f->cfg.ignore_case = true;
	assert_int_equal(lookup_open_read(NULL, f->rootfd,
	    "BIG/TARGET", &f->cfg, &size), -ENOENT);
	assert_string_equal(content(lookup_open_read(NULL, f->rootfd,
	    "big/Target", &f->cfg, &size)), "t");
}

static void
icase_beneath_common(struct fixture *f)
{
	char out[PATH_REL_MAX];
	uint64_t size;

	f->cfg.ignore_case = true;
	f->cfg.follow_symlinks = true;
	/* Found by its case, but it leads out of the root. */
	assert_int_equal(icase(f, "OUT/secret", false, out), -EXDEV);
	assert_int_equal(icase(f, "out/SECRET", false, out), -EXDEV);
	assert_int_equal(lookup_open_read(NULL, f->rootfd,
	    "OUT/secret", &f->cfg, &size), -ENOENT);
	/* Beneath the root it is followed... */
	assert_int_equal(icase(f, "INNER/FILE", false, out), 0);
	assert_string_equal(out, "Inner/file");
	assert_string_equal(content(lookup_open_read(NULL, f->rootfd,
	    "INNER/FILE", &f->cfg, &size)), "inside");
	/* ...unless follow_symlinks = no. */
	f->cfg.follow_symlinks = false;
	assert_int_equal(icase(f, "INNER/FILE", false, out), -ELOOP);
	assert_int_equal(lookup_open_read(NULL, f->rootfd,
	    "INNER/FILE", &f->cfg, &size), -ENOENT);
	/* Never above the directory it is given, even if not normalized. */
	assert_int_equal(icase(f, "../root/sub/file", false, out), -EXDEV);
	assert_int_equal(icase(f, "sub/../sub/file", false, out), -EXDEV);
}

static void
icase_beneath(void **state)
{
	struct fixture *f = *state;
	char path[PATH_MAX * 2];
	int fd;

	snprintf(path, sizeof(path), "%s/secret", f->dir);
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	close(fd);
	make_link(f, "..", "Out");
	make_dir(f, "sub");
	put_str(f, "sub/file", "inside");
	make_link(f, "sub", "Inner");
	icase_beneath_common(f);
}

/* The same where there is no openat2: the component walk. */
static void
icase_beneath_walk(void **state)
{
	struct fixture *f = *state;
	char out[PATH_REL_MAX];

	make_link(f, "..", "Out");
	make_dir(f, "sub");
	put_str(f, "sub/file", "inside");
	make_dir(f, "Boot");
	put_str(f, "Boot/wdsnbp.com", "w");
	files_no_openat2 = true;
	assert_int_equal(icase(f, "BOOT/WDSNBP.COM", false, out), 0);
	assert_string_equal(out, "Boot/wdsnbp.com");
	/* The walk follows no symlink at all. */
	assert_int_equal(icase(f, "OUT/x", false, out), -ELOOP);
}

/* The entry points ------------------------------------------------------ */

static void
open_read(void **state)
{
	struct fixture *f = *state;
	uint64_t size = 0;

	put_str(f, "pxelinux.0", "pxe");
	assert_int_equal(lookup_open_read(NULL, f->rootfd,
	    "PXELINUX.0", &f->cfg, &size), -ENOENT);
	f->cfg.ignore_case = true;
	assert_string_equal(content(lookup_open_read(NULL, f->rootfd,
	    "PXELINUX.0", &f->cfg, &size)), "pxe");
	assert_int_equal(size, 3);
	/* The file's own checks still apply to the name found. */
	put_str(f, "private", "p");
	{
		char path[PATH_MAX * 2];

		snprintf(path, sizeof(path), "%s/private", f->root);
		assert_int_equal(chmod(path, 0600), 0);
	}
	assert_int_equal(lookup_open_read(NULL, f->rootfd,
	    "PRIVATE", &f->cfg, &size), -EPERM);
	make_dir(f, "Dir");
	assert_int_equal(lookup_open_read(NULL, f->rootfd,
	    "dir", &f->cfg, &size), -ENOENT);
}

static void
upload_open(void **state)
{
	struct fixture *f = *state;
	struct upload u;
	char path[PATH_MAX * 2];
	struct stat st;

	make_dir(f, "Up");
	put_str(f, "Up/Old.txt", "old");
	f->cfg.write_enable = true;
	f->cfg.write_create = true;
	f->cfg.umask = 0;	/* replaced files stay world-writable */

	/* Off: a new directory "UP" does not exist. */
	assert_int_equal(lookup_upload_open(&u, f->rootfd, "UP/OLD.TXT",
	    &f->cfg, false), -ENOENT);
	files_upload_close(&u);

	f->cfg.ignore_case = true;
	/* The existing file found by its case is the one replaced. */
	assert_int_equal(lookup_upload_open(&u, f->rootfd, "UP/OLD.TXT",
	    &f->cfg, false), 0);
	assert_int_equal(files_upload_write(&u, (const uint8_t *)"new", 3),
	    0);
	assert_int_equal(files_upload_commit(&u), 0);
	files_upload_close(&u);
	snprintf(path, sizeof(path), "%s/Up/Old.txt", f->root);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 3);
	snprintf(path, sizeof(path), "%s/Up/OLD.TXT", f->root);
	assert_int_equal(lstat(path, &st), -1);

	/* A new one keeps the client's spelling. */
	assert_int_equal(lookup_upload_open(&u, f->rootfd, "up/NEW.TXT",
	    &f->cfg, false), 0);
	assert_int_equal(files_upload_commit(&u), 0);
	files_upload_close(&u);
	snprintf(path, sizeof(path), "%s/Up/NEW.TXT", f->root);
	assert_int_equal(stat(path, &st), 0);

	/* Patterns are matched against the name found. */
	snprintf(f->cfg.write_allow[0], sizeof(f->cfg.write_allow[0]),
	    "Up/*");
	f->cfg.nwrite_allow = 1;
	assert_int_equal(lookup_upload_open(&u, f->rootfd, "UP/OLD.TXT",
	    &f->cfg, false), 0);
	files_upload_close(&u);
	snprintf(f->cfg.write_allow[0], sizeof(f->cfg.write_allow[0]),
	    "UP/*");
	assert_int_equal(lookup_upload_open(&u, f->rootfd, "UP/OLD.TXT",
	    &f->cfg, false), -EACCES);
	files_upload_close(&u);
	f->cfg.nwrite_allow = 0;

	/* A missing directory, and a symlink out, refuse. */
	assert_int_equal(lookup_upload_open(&u, f->rootfd, "down/x",
	    &f->cfg, false), -ENOENT);
	files_upload_close(&u);
	make_link(f, "..", "Out");
	assert_int_equal(lookup_upload_open(&u, f->rootfd, "OUT/x",
	    &f->cfg, false), -EXDEV);
	files_upload_close(&u);
	/* Uploads off: no directory is read, the answer is the same. */
	f->cfg.write_enable = false;
	assert_int_equal(lookup_upload_open(&u, f->rootfd, "UP/OLD.TXT",
	    &f->cfg, false), -FILES_EDISABLED);
	files_upload_close(&u);
}

/* admit.c's one call: the client's directory, then the lookup. */
static void
open_any(void **state)
{
	struct fixture *f = *state;
	struct sockaddr_in own = { .sin_family = AF_INET };
	struct sockaddr_in other = { .sin_family = AF_INET };
	struct sockaddr_in bad = { .sin_family = AF_INET };
	char path[PATH_MAX * 2];
	struct upload u;
	struct stat st;
	uint64_t size;

	inet_pton(AF_INET, "192.0.2.10", &own.sin_addr);
	inet_pton(AF_INET, "192.0.2.11", &other.sin_addr);
	inet_pton(AF_INET, "192.0.2.12", &bad.sin_addr);
	put_str(f, "Boot.cfg", "common");
	make_dir(f, "192.0.2.10");
	put_str(f, "192.0.2.10/Boot.cfg", "own");
	put_str(f, "192.0.2.12", "not a directory");
	f->cfg.client_root = CLIENT_ROOT_IP;
	f->cfg.ignore_case = true;
	f->cfg.write_enable = true;
	f->cfg.write_create = true;

	assert_string_equal(content(lookup_open(NULL, f->rootfd,
	    (struct sockaddr *)&own, "BOOT.CFG", &f->cfg, NULL, false,
	    &size)), "own");
	assert_string_equal(content(lookup_open(NULL, f->rootfd,
	    (struct sockaddr *)&other, "BOOT.CFG", &f->cfg, NULL, false,
	    &size)), "common");
	assert_int_equal(lookup_open(NULL, f->rootfd, (struct sockaddr *)&bad,
	    "Boot.cfg", &f->cfg, NULL, false, &size), -ENOTDIR);

	assert_int_equal(lookup_open(NULL, f->rootfd, (struct sockaddr *)&own,
	    "up.bin", &f->cfg, &u, false, NULL), 0);
	assert_int_equal(files_upload_commit(&u), 0);
	files_upload_close(&u);
	snprintf(path, sizeof(path), "%s/192.0.2.10/up.bin", f->root);
	assert_int_equal(stat(path, &st), 0);
	snprintf(path, sizeof(path), "%s/up.bin", f->root);
	assert_int_equal(lstat(path, &st), -1);
	/* Refused before any file: the upload is idle, safe to close. */
	assert_int_equal(lookup_open(NULL, f->rootfd, (struct sockaddr *)&bad,
	    "up.bin", &f->cfg, &u, false, NULL), -ENOTDIR);
	assert_int_equal(u.dirfd, -1);
	assert_int_equal(u.fd, -1);
	files_upload_close(&u);
}

int
main(void)
{
#define T(fn)	cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(backslash),
		T(client_dirname),
		T(client_root),
		T(icase_basic),
		T(icase_choice),
		T(icase_new),
		T(icase_bounds),
		T(icase_bounds_default),
		T(icase_beneath),
		T(icase_beneath_walk),
		T(open_read),
		T(upload_open),
		T(open_any),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
