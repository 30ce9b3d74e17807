/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * Unit tests for files.c, on a real directory tree made under $TMPDIR (or
 * /tmp) for each test: opening for reading (regular file, missing,
 * directory, FIFO, symlinks that leave the root or are forbidden, the
 * world-readable rule), the same through the no-openat2 fallback, atomic
 * uploads (create, overwrite that keeps the old file until commit, abort
 * without a trace, with O_TMPFILE and with the hidden-name fallback; the
 * three ways of naming an O_TMPFILE, as root and as an unprivileged user), the
 * write policy (enable, create, overwrite, allow patterns, world-writable
 * or our own file, max_file_size, umask), the netascii read source with rewinds, netascii
 * upload decoding, and the errno -> TFTP error table.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "files.h"
#include "netascii.h"
#include "proto.h"
#include "tmpdir.h"

struct fixture {
	char			 dir[PATH_MAX / 2];	/* the tmpdir */
	char			 root[PATH_MAX];	/* dir/root */
	int			 rootfd;
	struct tftpd_config	 cfg;
};

/* Test helpers ------------------------------------------------------- */

static void
put_file(struct fixture *f, const char *rel, const void *data, size_t len,
    mode_t mode)
{
	char path[PATH_MAX * 2];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", f->root, rel);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	assert_int_equal(close(fd), 0);
}

static void
put_str(struct fixture *f, const char *rel, const char *s, mode_t mode)
{
	put_file(f, rel, s, strlen(s), mode);
}

/* The whole content of rel (NUL-terminated), or NULL if it cannot be read. */
static char *
slurp(struct fixture *f, const char *rel, size_t *len)
{
	char path[PATH_MAX * 2];
	static char buf[1 << 16];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", f->root, rel);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return NULL;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	assert_true(n >= 0);
	buf[n] = '\0';
	if (len != NULL)
		*len = (size_t)n;
	return buf;
}

static int
exists(struct fixture *f, const char *rel)
{
	char path[PATH_MAX * 2];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", f->root, rel);
	return lstat(path, &st) == 0;
}

static void
remove_entry(struct fixture *f, const char *rel)
{
	char path[PATH_MAX * 2];

	snprintf(path, sizeof(path), "%s/%s", f->root, rel);
	assert_int_equal(unlink(path), 0);
}

static mode_t
mode_of(struct fixture *f, const char *rel)
{
	char path[PATH_MAX * 2];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", f->root, rel);
	assert_int_equal(lstat(path, &st), 0);
	return st.st_mode & 07777;
}

static void
make_dir(struct fixture *f, const char *rel)
{
	char path[PATH_MAX * 2];

	snprintf(path, sizeof(path), "%s/%s", f->root, rel);
	assert_int_equal(mkdir(path, 0755), 0);
}

static void
make_link(struct fixture *f, const char *target, const char *rel)
{
	char path[PATH_MAX * 2];

	snprintf(path, sizeof(path), "%s/%s", f->root, rel);
	assert_int_equal(symlink(target, path), 0);
}

/* Every name in directory rel ("." = root), hidden ones included, sorted. */
static void
listing(struct fixture *f, const char *rel, char *out, size_t outlen)
{
	char path[PATH_MAX * 2];
	struct dirent **ents;
	size_t off = 0;
	int i, n;

	snprintf(path, sizeof(path), "%s/%s", f->root, rel);
	n = scandir(path, &ents, NULL, alphasort);
	assert_true(n >= 0);
	out[0] = '\0';
	for (i = 0; i < n; i++) {
		off += (size_t)snprintf(out + off, outlen - off, "%s/",
		    ents[i]->d_name);
		assert_true(off < outlen);
		free(ents[i]);
	}
	free(ents);
}

static int
setup(void **state)
{
	struct fixture *f;

	f = calloc(1, sizeof(*f));
	if (f == NULL)
		return -1;
	if (test_tmpdir_make(f->dir, sizeof(f->dir), "test_files") < 0)
		return -1;
	snprintf(f->root, sizeof(f->root), "%s/root", f->dir);
	if (mkdir(f->root, 0755) < 0)
		return -1;
	f->rootfd = open(f->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (f->rootfd < 0)
		return -1;
	config_defaults(&f->cfg);
	f->cfg.write_enable = true;
	f->cfg.write_create = true;
	f->cfg.fsync = false;	/* speed; same commit path */
	files_no_openat2 = false;
	files_no_tmpfile = false;
	files_no_empty_path = false;
	files_no_proc = false;
	files_link = FILES_LINK_UNKNOWN;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	files_no_openat2 = false;
	files_no_tmpfile = false;
	files_no_empty_path = false;
	files_no_proc = false;
	files_link = FILES_LINK_UNKNOWN;
	close(f->rootfd);
	(void)test_tmpdir_remove(f->dir);
	free(f);
	return 0;
}

static void
assert_errmap(int err, uint16_t code, const char *msg)
{
	uint16_t c;
	const char *m;

	files_errmap(err, &c, &m);
	assert_int_equal(c, code);
	assert_string_equal(m, msg);
}

/* Reading ------------------------------------------------------------ */

static void
read_regular(void **state)
{
	struct fixture *f = *state;
	uint64_t size = 0;
	char buf[16];
	int fd;

	make_dir(f, "d");
	put_str(f, "d/hello.txt", "hello", 0644);
	fd = files_open_read(f->rootfd, "d/hello.txt", &f->cfg, &size);
	assert_true(fd >= 0);
	assert_int_equal(size, 5);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(pread(fd, buf, sizeof(buf), 0), 5);
	assert_memory_equal(buf, "hello", 5);
	close(fd);
}

static void
read_missing(void **state)
{
	struct fixture *f = *state;
	uint64_t size;
	int r;

	r = files_open_read(f->rootfd, "nope", &f->cfg, &size);
	assert_int_equal(r, -ENOENT);
	assert_errmap(r, TFTP_ENOTFOUND, "File not found");
	r = files_open_read(f->rootfd, "nodir/nope", &f->cfg, &size);
	assert_int_equal(r, -ENOENT);
}

static void
read_directory(void **state)
{
	struct fixture *f = *state;
	uint64_t size;
	int r;

	make_dir(f, "d");
	r = files_open_read(f->rootfd, "d", &f->cfg, &size);
	assert_int_equal(r, -FILES_ENOTREG);
	assert_errmap(r, TFTP_EACCESS, "Not a regular file");
}

static void
read_fifo(void **state)
{
	struct fixture *f = *state;
	char path[PATH_MAX * 2];
	uint64_t size;
	int r;

	snprintf(path, sizeof(path), "%s/fifo", f->root);
	assert_int_equal(mkfifo(path, 0666), 0);
	/* An open that blocked would hang here: the alarm fails the test. */
	alarm(10);
	r = files_open_read(f->rootfd, "fifo", &f->cfg, &size);
	alarm(0);
	assert_int_equal(r, -FILES_ENOTREG);
}

/* root/up -> "/" and root/rel -> many "..": neither leads out. */
static void
read_escape_symlinks(void **state)
{
	struct fixture *f = *state;
	uint64_t size;
	int r, pass;

	make_link(f, "/", "up");
	make_link(f, "../../../../../../../../../..", "rel");
	make_dir(f, "d");
	make_link(f, "../..", "d/back");
	for (pass = 0; pass < 2; pass++) {
		files_no_openat2 = pass == 1;
		r = files_open_read(f->rootfd, "up/etc/passwd", &f->cfg, &size);
		assert_true(r == -EXDEV || r == -ELOOP);
		assert_errmap(r, TFTP_EACCESS, "Access violation");
		r = files_open_read(f->rootfd, "rel/etc/passwd", &f->cfg,
		    &size);
		assert_true(r == -EXDEV || r == -ELOOP);
		assert_errmap(r, TFTP_EACCESS, "Access violation");
		r = files_open_read(f->rootfd, "d/back/root/x", &f->cfg,
		    &size);
		assert_true(r == -EXDEV || r == -ELOOP);
	}
}

/* Even an absolute symlink to a file inside the root is refused. */
static void
read_absolute_symlink(void **state)
{
	struct fixture *f = *state;
	char target[PATH_MAX * 2];
	uint64_t size;
	int r;

	put_str(f, "file.txt", "x", 0644);
	snprintf(target, sizeof(target), "%s/file.txt", f->root);
	make_link(f, target, "abs");
	r = files_open_read(f->rootfd, "abs", &f->cfg, &size);
	assert_true(r == -EXDEV || r == -ELOOP);
	assert_errmap(r, TFTP_EACCESS, "Access violation");
}

static void
read_relative_symlink(void **state)
{
	struct fixture *f = *state;
	uint64_t size = 0;
	int fd;

	make_dir(f, "d");
	put_str(f, "d/file.txt", "abc", 0644);
	make_link(f, "d/file.txt", "rl");
	make_link(f, "d", "dl");
	make_link(f, "../d/file.txt", "d/self");

	fd = files_open_read(f->rootfd, "rl", &f->cfg, &size);
	assert_true(fd >= 0);
	assert_int_equal(size, 3);
	close(fd);
	fd = files_open_read(f->rootfd, "dl/file.txt", &f->cfg, &size);
	assert_true(fd >= 0);
	close(fd);
	fd = files_open_read(f->rootfd, "d/self", &f->cfg, &size);
	assert_true(fd >= 0);
	close(fd);

	f->cfg.follow_symlinks = false;
	fd = files_open_read(f->rootfd, "rl", &f->cfg, &size);
	assert_int_equal(fd, -ELOOP);
	assert_errmap(fd, TFTP_EACCESS, "Access violation");
	fd = files_open_read(f->rootfd, "dl/file.txt", &f->cfg, &size);
	assert_int_equal(fd, -ELOOP);
	/* The plain path still works. */
	fd = files_open_read(f->rootfd, "d/file.txt", &f->cfg, &size);
	assert_true(fd >= 0);
	close(fd);
}

/* Without openat2 every symlink is refused, plain paths still work. */
static void
read_fallback_walk(void **state)
{
	struct fixture *f = *state;
	uint64_t size = 0;
	int fd;

	files_no_openat2 = true;
	make_dir(f, "d");
	make_dir(f, "d/e");
	put_str(f, "d/e/f.txt", "deep", 0644);
	make_link(f, "d", "dl");
	make_link(f, "f.txt", "d/e/fl");

	fd = files_open_read(f->rootfd, "d/e/f.txt", &f->cfg, &size);
	assert_true(fd >= 0);
	assert_int_equal(size, 4);
	close(fd);
	assert_int_equal(files_open_read(f->rootfd, "dl/e/f.txt", &f->cfg,
	    &size), -ELOOP);
	assert_int_equal(files_open_read(f->rootfd, "d/e/fl", &f->cfg,
	    &size), -ELOOP);
	assert_int_equal(files_open_read(f->rootfd, "d/e", &f->cfg, &size),
	    -FILES_ENOTREG);
	assert_int_equal(files_open_read(f->rootfd, "d/nope", &f->cfg,
	    &size), -ENOENT);
	assert_int_equal(files_open_read(f->rootfd, "d/e/f.txt/x", &f->cfg,
	    &size), -ENOTDIR);
	assert_int_equal(files_open_read(f->rootfd, "d/../d/e/f.txt",
	    &f->cfg, &size), -EXDEV);
}

static void
read_world_readable(void **state)
{
	struct fixture *f = *state;
	uint64_t size;
	int r;

	put_str(f, "secret", "s", 0640);
	r = files_open_read(f->rootfd, "secret", &f->cfg, &size);
	assert_int_equal(r, -EPERM);
	assert_errmap(r, TFTP_EACCESS, "Permission denied");
	f->cfg.permissive = true;
	r = files_open_read(f->rootfd, "secret", &f->cfg, &size);
	assert_true(r >= 0);
	close(r);
}

/* Uploads ------------------------------------------------------------ */

static void
write_all(struct upload *u, const char *s)
{
	assert_int_equal(files_upload_write(u, (const uint8_t *)s,
	    strlen(s)), 0);
}

static void
upload_create_commit(void **state)
{
	struct fixture *f = *state;
	char before[4096], during[4096];
	struct upload u;

	make_dir(f, "d");
	put_str(f, "d/other", "o", 0644);
	listing(f, "d", before, sizeof(before));
	assert_int_equal(files_upload_open(&u, f->rootfd, "d/new.bin",
	    &f->cfg, false), 0);
	write_all(&u, "part one, ");
	write_all(&u, "part two");
	/* Nothing visible until the commit. */
	assert_false(exists(f, "d/new.bin"));
	listing(f, "d", during, sizeof(during));
	assert_string_equal(before, during);
	assert_int_equal(files_upload_commit(&u), 0);
	files_upload_close(&u);
	assert_string_equal(slurp(f, "d/new.bin", NULL), "part one, part two");
	assert_int_equal(mode_of(f, "d/new.bin"), 0644);
	listing(f, "d", during, sizeof(during));
	assert_string_equal(during, "./../new.bin/other/");
}

/* An announced size beyond the file system's free space: -ENOSPC. */
static void
upload_room(void **state)
{
	struct fixture *f = *state;
	struct upload u;

	assert_int_equal(files_upload_open(&u, f->rootfd, "big.img",
	    &f->cfg, false), 0);
	assert_int_equal(files_upload_room(&u, 0), 0);
	assert_int_equal(files_upload_room(&u, 4096), 0);
	assert_int_equal(files_upload_room(&u, UINT64_C(1) << 62), -ENOSPC);
	assert_int_equal(files_upload_room(&u, UINT64_MAX), -ENOSPC);
	files_upload_close(&u);
	assert_false(exists(f, "big.img"));
}

static void
upload_umask(void **state)
{
	struct fixture *f = *state;
	struct upload u;

	f->cfg.umask = 077;
	assert_int_equal(files_upload_open(&u, f->rootfd, "private", &f->cfg,
	    false), 0);
	write_all(&u, "p");
	assert_int_equal(files_upload_commit(&u), 0);
	files_upload_close(&u);
	assert_int_equal(mode_of(f, "private"), 0600);

	f->cfg.umask = 0;
	files_no_tmpfile = true;
	assert_int_equal(files_upload_open(&u, f->rootfd, "public", &f->cfg,
	    false), 0);
	assert_int_equal(files_upload_commit(&u), 0);
	files_upload_close(&u);
	assert_int_equal(mode_of(f, "public"), 0666);
}

/* The old file stays whole until the commit swaps it, for both methods. */
static void
upload_overwrite_atomic(void **state)
{
	struct fixture *f = *state;
	char before[4096], after[4096];
	struct upload u;
	uint64_t size;
	char buf[8];
	int pass, oldfd;

	for (pass = 0; pass < 2; pass++) {
		files_no_tmpfile = pass == 1;
		put_str(f, "cfg.txt", "OLD", 0666);
		listing(f, ".", before, sizeof(before));
		assert_int_equal(files_upload_open(&u, f->rootfd, "cfg.txt",
		    &f->cfg, false), 0);
		write_all(&u, "NEW CONTENT");
		assert_string_equal(slurp(f, "cfg.txt", NULL), "OLD");
		oldfd = files_open_read(f->rootfd, "cfg.txt", &f->cfg, &size);
		assert_true(oldfd >= 0);
		assert_int_equal(files_upload_commit(&u), 0);
		assert_string_equal(slurp(f, "cfg.txt", NULL), "NEW CONTENT");
		/* A reader of the old file still sees the old file. */
		assert_int_equal(pread(oldfd, buf, sizeof(buf), 0), 3);
		assert_memory_equal(buf, "OLD", 3);
		close(oldfd);
		files_upload_close(&u);
		/* No temporary or hidden link left behind. */
		listing(f, ".", after, sizeof(after));
		assert_string_equal(before, after);
	}
}

static void
upload_abort_no_trace(void **state)
{
	struct fixture *f = *state;
	char before[4096], during[4096], after[4096];
	struct upload u;
	int pass, nfds;

	make_dir(f, "d");
	put_str(f, "d/keep.txt", "KEEP", 0666);
	for (pass = 0; pass < 2; pass++) {
		files_no_tmpfile = pass == 1;
		listing(f, "d", before, sizeof(before));
		nfds = test_count_fds();

		/* A new file. */
		assert_int_equal(files_upload_open(&u, f->rootfd, "d/new",
		    &f->cfg, false), 0);
		write_all(&u, "some data");
		listing(f, "d", during, sizeof(during));
		if (pass == 1) {
			/* The fallback's hidden temporary is really there. */
			assert_string_not_equal(before, during);
			assert_non_null(strstr(during, "/.new."));
		}
		files_upload_close(&u);
		listing(f, "d", after, sizeof(after));
		assert_string_equal(before, after);

		/* Over an existing file: it stays as it was. */
		assert_int_equal(files_upload_open(&u, f->rootfd,
		    "d/keep.txt", &f->cfg, false), 0);
		write_all(&u, "REPLACED");
		files_upload_close(&u);
		listing(f, "d", after, sizeof(after));
		assert_string_equal(before, after);
		assert_string_equal(slurp(f, "d/keep.txt", NULL), "KEEP");
		/* An O_TMPFILE lives as long as its descriptor. */
		assert_int_equal(test_count_fds(), nfds);
	}
}

/* The hidden-name fallback commits like the O_TMPFILE path. */
static void
upload_fallback_commit(void **state)
{
	struct fixture *f = *state;
	char after[4096];
	struct upload u;

	files_no_tmpfile = true;
	f->cfg.write_overwrite = false;
	assert_int_equal(files_upload_open(&u, f->rootfd, "fb.bin", &f->cfg,
	    false), 0);
	assert_false(u.tmpfile);
	write_all(&u, "fallback");
	assert_int_equal(files_upload_commit(&u), 0);
	files_upload_close(&u);
	assert_string_equal(slurp(f, "fb.bin", NULL), "fallback");
	listing(f, ".", after, sizeof(after));
	assert_string_equal(after, "./../fb.bin/");
}

/*
 * One upload of each kind (new name without overwrite, replacement with
 * it) must commit whole and leave no temporary, whatever way of naming an
 * O_TMPFILE the kernel and sandbox allow; the way found is remembered.
 */
static void
upload_two_commits(struct fixture *f)
{
	char after[4096];
	struct upload u;

	f->cfg.write_overwrite = false;
	assert_int_equal(files_upload_open(&u, f->rootfd, "a.bin", &f->cfg,
	    false), 0);
	write_all(&u, "first");
	assert_int_equal(files_upload_commit(&u), 0);
	files_upload_close(&u);
	/* The name is taken now: without overwrite, that is EEXIST. */
	assert_int_equal(files_upload_open(&u, f->rootfd, "b.bin", &f->cfg,
	    false), 0);
	write_all(&u, "late");
	put_str(f, "b.bin", "raced", 0666);
	assert_int_equal(files_upload_commit(&u), -EEXIST);
	files_upload_close(&u);
	assert_string_equal(slurp(f, "b.bin", NULL), "raced");

	/* (a.bin is 0644: only -p lets it be replaced) */
	f->cfg.write_overwrite = true;
	f->cfg.permissive = true;
	assert_int_equal(files_upload_open(&u, f->rootfd, "a.bin", &f->cfg,
	    false), 0);
	write_all(&u, "second");
	assert_int_equal(files_upload_commit(&u), 0);
	files_upload_close(&u);
	f->cfg.permissive = false;
	assert_string_equal(slurp(f, "a.bin", NULL), "second");
	assert_int_equal(mode_of(f, "a.bin"), 0644);
	listing(f, ".", after, sizeof(after));
	assert_string_equal(after, "./../a.bin/b.bin/");
	remove_entry(f, "a.bin");
	remove_entry(f, "b.bin");
}

static void
upload_link_methods(void **state)
{
	struct fixture *f = *state;
	char before[4096], after[4096];
	struct upload u;

	/* Unrestricted: AT_EMPTY_PATH (root, or Linux >= 6.10) or /proc. */
	upload_two_commits(f);
	assert_true(files_link == FILES_LINK_EMPTY_PATH ||
	    files_link == FILES_LINK_PROC);

	/* An old kernel: the empty path is refused, /proc does it. */
	files_link = FILES_LINK_UNKNOWN;
	files_no_empty_path = true;
	upload_two_commits(f);
	assert_int_equal(files_link, FILES_LINK_PROC);

	/*
	 * An old kernel in a sandbox without /proc: the first upload is
	 * copied to a hidden name at its commit, the next ones start there.
	 */
	files_link = FILES_LINK_UNKNOWN;
	files_no_proc = true;
	f->cfg.umask = 027;
	assert_int_equal(files_upload_open(&u, f->rootfd, "c.bin", &f->cfg,
	    false), 0);
	assert_true(u.tmpfile);
	write_all(&u, "copied whole");
	assert_int_equal(files_upload_commit(&u), 0);
	files_upload_close(&u);
	assert_int_equal(files_link, FILES_LINK_NONE);
	assert_string_equal(slurp(f, "c.bin", NULL), "copied whole");
	assert_int_equal(mode_of(f, "c.bin"), 0640);
	remove_entry(f, "c.bin");
	f->cfg.umask = 022;
	upload_two_commits(f);
	assert_int_equal(files_link, FILES_LINK_NONE);
	/* ...and an aborted one still leaves nothing. */
	listing(f, ".", before, sizeof(before));
	assert_int_equal(files_upload_open(&u, f->rootfd, "d.bin", &f->cfg,
	    false), 0);
	assert_false(u.tmpfile);
	write_all(&u, "never seen");
	files_upload_close(&u);
	listing(f, ".", after, sizeof(after));
	assert_string_equal(before, after);
}

/*
 * A sandboxed worker is an ordinary user: its commit must work without
 * CAP_DAC_READ_SEARCH (AT_EMPTY_PATH by the opener on Linux >= 6.10,
 * else /proc).  Run as root only, in a child that becomes nobody.
 */
static void
upload_unprivileged(void **state)
{
	struct fixture *f = *state;
	struct upload u;
	pid_t pid;
	int status, code;

	if (geteuid() != 0) {
		skip();
		return;
	}
	assert_int_equal(chmod(f->root, 0777), 0);
	if ((pid = fork()) == 0) {
		code = 10;
		if (setgid(65534) < 0 || setuid(65534) < 0)
			_exit(code);
		f->cfg.write_overwrite = false;
		if (files_upload_open(&u, f->rootfd, "u.bin", &f->cfg,
		    false) < 0 || !u.tmpfile)
			_exit(code + 1);
		if (files_upload_write(&u, (const uint8_t *)"unpriv", 6) < 0)
			_exit(code + 2);
		if (files_upload_commit(&u) < 0)
			_exit(code + 3);
		files_upload_close(&u);
		_exit(files_link == FILES_LINK_EMPTY_PATH ? 0 :
		    files_link == FILES_LINK_PROC ? 1 : code + 4);
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	code = WEXITSTATUS(status);
	assert_true(code == 0 || code == 1);
	if (code == 1)
		print_message("kernel refuses AT_EMPTY_PATH to its opener "
		    "(before 6.10): /proc used\n");
	assert_string_equal(slurp(f, "u.bin", NULL), "unpriv");
}

/*
 * A device's nightly backup to the same name: the file an earlier upload
 * left is ours (0666 & ~umask, not world-writable) and is replaced, the
 * same mode again; one another user owns is not.
 */
static void
upload_own_file(void **state)
{
	struct fixture *f = *state;
	char path[PATH_MAX * 2];
	struct upload u;
	int r;

	assert_int_equal(files_upload_open(&u, f->rootfd, "cfg.bak", &f->cfg,
	    false), 0);
	write_all(&u, "monday");
	assert_int_equal(files_upload_commit(&u), 0);
	files_upload_close(&u);
	assert_int_equal(mode_of(f, "cfg.bak"), 0644);
	assert_int_equal(files_upload_open(&u, f->rootfd, "cfg.bak", &f->cfg,
	    false), 0);
	write_all(&u, "tuesday");
	assert_int_equal(files_upload_commit(&u), 0);
	files_upload_close(&u);
	assert_string_equal(slurp(f, "cfg.bak", NULL), "tuesday");
	assert_int_equal(mode_of(f, "cfg.bak"), 0644);

	/* overwrite = no still means no, ours or not. */
	f->cfg.write_overwrite = false;
	r = files_upload_open(&u, f->rootfd, "cfg.bak", &f->cfg, false);
	assert_int_equal(r, -EEXIST);
	f->cfg.write_overwrite = true;

	if (geteuid() != 0) {
		print_message("not root: a file of another user is not "
		    "tried\n");
		return;
	}
	snprintf(path, sizeof(path), "%s/cfg.bak", f->root);
	assert_int_equal(chown(path, 65534, 65534), 0);
	r = files_upload_open(&u, f->rootfd, "cfg.bak", &f->cfg, false);
	assert_int_equal(r, -EPERM);
	assert_errmap(r, TFTP_EACCESS, "Permission denied");
	assert_string_equal(slurp(f, "cfg.bak", NULL), "tuesday");
	/* -p keeps its meaning: no mode or owner check. */
	f->cfg.permissive = true;
	assert_int_equal(files_upload_open(&u, f->rootfd, "cfg.bak", &f->cfg,
	    false), 0);
	files_upload_close(&u);
	f->cfg.permissive = false;
}

static void
upload_policy(void **state)
{
	struct fixture *f = *state;
	char before[4096], after[4096];
	struct upload u;
	int r;

	put_str(f, "exists", "E", 0666);
	/* Ours but not writable even by us: the umask said read-only. */
	put_str(f, "readonly", "R", 0444);
	make_dir(f, "dir");
	make_link(f, "exists", "link");
	listing(f, ".", before, sizeof(before));

	f->cfg.write_enable = false;
	r = files_upload_open(&u, f->rootfd, "x", &f->cfg, false);
	assert_int_equal(r, -FILES_EDISABLED);
	assert_errmap(r, TFTP_EACCESS, "Uploads are disabled");
	f->cfg.write_enable = true;

	f->cfg.write_create = false;
	r = files_upload_open(&u, f->rootfd, "x", &f->cfg, false);
	assert_int_equal(r, -ENOENT);
	assert_errmap(r, TFTP_ENOTFOUND, "File not found");
	/* Existing world-writable files may still be replaced. */
	assert_int_equal(files_upload_open(&u, f->rootfd, "exists", &f->cfg,
	    false), 0);
	files_upload_close(&u);
	f->cfg.write_create = true;

	f->cfg.write_overwrite = false;
	r = files_upload_open(&u, f->rootfd, "exists", &f->cfg, false);
	assert_int_equal(r, -EEXIST);
	assert_errmap(r, TFTP_EEXISTS, "File already exists");
	f->cfg.write_overwrite = true;

	r = files_upload_open(&u, f->rootfd, "readonly", &f->cfg, false);
	assert_int_equal(r, -EPERM);
	assert_errmap(r, TFTP_EACCESS, "Permission denied");
	f->cfg.permissive = true;
	assert_int_equal(files_upload_open(&u, f->rootfd, "readonly",
	    &f->cfg, false), 0);
	files_upload_close(&u);
	f->cfg.permissive = false;

	r = files_upload_open(&u, f->rootfd, "dir", &f->cfg, false);
	assert_int_equal(r, -FILES_ENOTREG);
	r = files_upload_open(&u, f->rootfd, "link", &f->cfg, false);
	assert_int_equal(r, -ELOOP);
	assert_errmap(r, TFTP_EACCESS, "Access violation");
	r = files_upload_open(&u, f->rootfd, "nodir/x", &f->cfg, false);
	assert_int_equal(r, -ENOENT);

	listing(f, ".", after, sizeof(after));
	assert_string_equal(before, after);
}

/* An upload directory reached through a symlink out of the root. */
static void
upload_escape(void **state)
{
	struct fixture *f = *state;
	char outside[PATH_MAX * 2];
	struct upload u;
	int r;

	snprintf(outside, sizeof(outside), "%s/outside", f->dir);
	assert_int_equal(mkdir(outside, 0777), 0);
	make_link(f, outside, "abs");
	make_link(f, "../outside", "rel");
	r = files_upload_open(&u, f->rootfd, "abs/x", &f->cfg, false);
	assert_true(r == -EXDEV || r == -ELOOP);
	r = files_upload_open(&u, f->rootfd, "rel/x", &f->cfg, false);
	assert_true(r == -EXDEV || r == -ELOOP);
	assert_errmap(r, TFTP_EACCESS, "Access violation");
	files_no_openat2 = true;
	r = files_upload_open(&u, f->rootfd, "rel/x", &f->cfg, false);
	assert_int_equal(r, -ELOOP);
}

static void
upload_allow_patterns(void **state)
{
	struct fixture *f = *state;
	struct upload u;
	int r;

	make_dir(f, "up");
	make_dir(f, "up/sub");
	snprintf(f->cfg.write_allow[0], CONFIG_PATTERN_MAX, "*.cfg");
	snprintf(f->cfg.write_allow[1], CONFIG_PATTERN_MAX, "up/*");
	f->cfg.nwrite_allow = 2;

	assert_int_equal(files_upload_open(&u, f->rootfd, "a.cfg", &f->cfg,
	    false), 0);
	files_upload_close(&u);
	assert_int_equal(files_upload_open(&u, f->rootfd, "up/x.bin",
	    &f->cfg, false), 0);
	files_upload_close(&u);
	r = files_upload_open(&u, f->rootfd, "a.bin", &f->cfg, false);
	assert_int_equal(r, -EACCES);
	assert_errmap(r, TFTP_EACCESS, "Access violation");
	/* FNM_PATHNAME: '*' does not cross a '/'. */
	r = files_upload_open(&u, f->rootfd, "up/sub/x", &f->cfg, false);
	assert_int_equal(r, -EACCES);
	r = files_upload_open(&u, f->rootfd, "up/a.cfg/../x", &f->cfg, false);
	assert_int_equal(r, -EACCES);
	assert_false(exists(f, "a.bin"));
}

static void
upload_max_file_size(void **state)
{
	struct fixture *f = *state;
	char before[4096], after[4096];
	struct upload u;
	int r;

	listing(f, ".", before, sizeof(before));
	f->cfg.max_file_size = 10;
	assert_int_equal(files_upload_open(&u, f->rootfd, "big", &f->cfg,
	    false), 0);
	write_all(&u, "12345678");
	r = files_upload_write(&u, (const uint8_t *)"abc", 3);
	assert_int_equal(r, -EFBIG);
	assert_errmap(r, TFTP_ENOSPACE, "File too large");
	files_upload_close(&u);
	listing(f, ".", after, sizeof(after));
	assert_string_equal(before, after);

	/* Exactly the limit is fine. */
	assert_int_equal(files_upload_open(&u, f->rootfd, "fits", &f->cfg,
	    false), 0);
	write_all(&u, "12345");
	write_all(&u, "67890");
	assert_int_equal(files_upload_commit(&u), 0);
	files_upload_close(&u);
	assert_string_equal(slurp(f, "fits", NULL), "1234567890");
}

/* CR LF -> LF, CR NUL -> CR, pairs split across writes, CR at the end. */
static void
upload_netascii(void **state)
{
	struct fixture *f = *state;
	static const char *const parts[] = {
		"line1\r", "\nline2\r\n", "cr\r", "\0", "mid\r\nend\r",
	};
	static const size_t lens[] = { 6, 8, 3, 1, 9 };
	const char want[] = "line1\nline2\ncr\rmid\nend\r";
	struct upload u;
	size_t i, len;
	char *got;

	assert_int_equal(files_upload_open(&u, f->rootfd, "t.txt", &f->cfg,
	    true), 0);
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
		assert_int_equal(files_upload_write(&u,
		    (const uint8_t *)parts[i], lens[i]), 0);
	assert_int_equal(files_upload_commit(&u), 0);
	files_upload_close(&u);
	got = slurp(f, "t.txt", &len);
	assert_int_equal(len, sizeof(want) - 1);
	assert_memory_equal(got, want, len);
}

/* netascii read source ----------------------------------------------- */

/* The whole file encoded in one go: what the blocks must add up to. */
static uint8_t *
encode_all(const uint8_t *in, size_t len, size_t *outlen)
{
	struct netascii_enc st = { 0 };
	uint8_t *out = malloc(2 * len + 1);
	size_t consumed, n;

	assert_non_null(out);
	n = netascii_encode(&st, in, len, &consumed, out, 2 * len + 1);
	assert_int_equal(consumed, len);
	assert_false(st.pending);
	*outlen = n;
	return out;
}

static void
check_nasrc(struct fixture *f, const uint8_t *data, size_t len,
    uint32_t blksize)
{
	uint8_t *want, *block;
	struct nasrc s;
	size_t wantlen, nblocks, i, off, exp;
	uint64_t size, idx;
	ssize_t n;
	int fd;

	put_file(f, "na.txt", data, len, 0644);
	fd = files_open_read(f->rootfd, "na.txt", &f->cfg, &size);
	assert_true(fd >= 0);
	want = encode_all(data, len, &wantlen);
	assert_int_equal(files_nasrc_init(&s, fd, &size), 0);
	assert_int_equal(size, wantlen);
	nblocks = wantlen / blksize + 1;
	block = malloc(blksize);
	assert_non_null(block);

	/* Window 1: each block once, in order. */
	for (idx = 1; idx <= nblocks; idx++) {
		off = (idx - 1) * blksize;
		exp = wantlen - off < blksize ? wantlen - off : blksize;
		n = files_nasrc_read(&s, idx, blksize, idx, block);
		assert_int_equal(n, (ssize_t)exp);
		assert_memory_equal(block, want + off, exp);
	}
	files_nasrc_free(&s);

	/*
	 * A window of 4 with losses: after sending 1..4 the peer acks 1 and
	 * the source must go back to 2; then a timeout resends from 3; then
	 * forward again.  Every block must equal the one-shot encoding.
	 */
	assert_int_equal(files_nasrc_init(&s, fd, &size), 0);
	{
		static const struct {
			uint64_t first, count, unacked;
		} steps[] = {
			{ 1, 4, 1 }, { 2, 4, 2 }, { 3, 4, 3 }, { 3, 4, 3 },
			{ 7, 4, 7 }, { 8, 2, 8 }, { 10, 6, 8 }, { 9, 3, 9 },
		};
		for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
			for (idx = steps[i].first;
			    idx < steps[i].first + steps[i].count &&
			    idx <= nblocks; idx++) {
				off = (idx - 1) * blksize;
				exp = wantlen - off < blksize ?
				    wantlen - off : blksize;
				n = files_nasrc_read(&s, idx, blksize,
				    steps[i].unacked, block);
				assert_int_equal(n, (ssize_t)exp);
				assert_memory_equal(block, want + off, exp);
			}
		}
	}
	/* Before the first unacknowledged block there is no way back. */
	if (nblocks >= 9)
		assert_int_equal(files_nasrc_read(&s, 1, blksize, 9, block),
		    -EINVAL);
	files_nasrc_free(&s);
	free(block);
	free(want);
	close(fd);
}

static void
nasrc_blocks(void **state)
{
	struct fixture *f = *state;
	/* CR LF and CR NUL pairs land on every block boundary of 8. */
	const char text[] =
	    "line one\nline two\r\nbare\rcr\n\n\n\r\r\rabcdefg\nabcdefg\r"
	    "tail without newline";
	uint8_t rnd[5000];
	size_t i;

	check_nasrc(f, (const uint8_t *)text, sizeof(text) - 1, 8);
	check_nasrc(f, (const uint8_t *)text, sizeof(text) - 1, 9);
	/* A file ending in LF exactly at a boundary: the LF's pair spills. */
	check_nasrc(f, (const uint8_t *)"1234567\n", 8, 8);
	check_nasrc(f, (const uint8_t *)"", 0, 512);

	srandom(1);
	for (i = 0; i < sizeof(rnd); i++) {
		switch (random() % 6) {
		case 0:
			rnd[i] = '\n';
			break;
		case 1:
			rnd[i] = '\r';
			break;
		default:
			rnd[i] = (uint8_t)random();
			break;
		}
	}
	check_nasrc(f, rnd, sizeof(rnd), 512);
	check_nasrc(f, rnd, sizeof(rnd), 61);
	check_nasrc(f, rnd, sizeof(rnd), 8192);
}

/* A file that shrinks under the source gives short blocks, not garbage. */
static void
nasrc_file_changed(void **state)
{
	struct fixture *f = *state;
	char path[PATH_MAX * 2];
	uint8_t block[16];
	struct nasrc s;
	uint64_t size;
	int fd;

	put_str(f, "shrink.txt", "0123456789abcdef0123456789\n", 0644);
	fd = files_open_read(f->rootfd, "shrink.txt", &f->cfg, &size);
	assert_true(fd >= 0);
	assert_int_equal(files_nasrc_init(&s, fd, &size), 0);
	assert_int_equal(size, 28);
	snprintf(path, sizeof(path), "%s/shrink.txt", f->root);
	assert_int_equal(truncate(path, 4), 0);
	assert_int_equal(files_nasrc_read(&s, 1, 16, 1, block), 4);
	assert_int_equal(files_nasrc_read(&s, 2, 16, 2, block), 0);
	files_nasrc_free(&s);
	close(fd);
}

static void
errmap_table(void **state)
{
	(void)state;
	assert_errmap(-ENOSPC, TFTP_ENOSPACE,
	    "Disk full or allocation exceeded");
	assert_errmap(-EDQUOT, TFTP_ENOSPACE,
	    "Disk full or allocation exceeded");
	assert_errmap(-EACCES, TFTP_EACCESS, "Access violation");
	assert_errmap(-EXDEV, TFTP_EACCESS, "Access violation");
	assert_errmap(-ELOOP, TFTP_EACCESS, "Access violation");
	assert_errmap(-EMFILE, TFTP_EUNDEF, "Server busy");
	assert_errmap(-EIO, TFTP_EUNDEF, strerror(EIO));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn)	cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(read_regular),
		T(read_missing),
		T(read_directory),
		T(read_fifo),
		T(read_escape_symlinks),
		T(read_absolute_symlink),
		T(read_relative_symlink),
		T(read_fallback_walk),
		T(read_world_readable),
		T(upload_create_commit),
		T(upload_room),
		T(upload_umask),
		T(upload_overwrite_atomic),
		T(upload_abort_no_trace),
		T(upload_fallback_commit),
		T(upload_link_methods),
		T(upload_unprivileged),
		T(upload_own_file),
		T(upload_policy),
		T(upload_escape),
		T(upload_allow_patterns),
		T(upload_max_file_size),
		T(upload_netascii),
		T(nasrc_blocks),
		T(nasrc_file_changed),
		cmocka_unit_test(errmap_table),
#undef T
	};

	return cmocka_run_group_tests_name("files", tests, NULL, NULL);
}
