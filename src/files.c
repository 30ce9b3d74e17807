/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * Everything that touches the served tree: opening a file for reading
 * beneath the root directory descriptor, the upload policy and the
 * temporary-file dance that makes an upload appear atomically, the
 * netascii read source that encodes a file block by block, and the
 * mapping of the errors of all these to TFTP ERROR packets.  Paths are
 * resolved with openat2(RESOLVE_BENEATH) so no name, ".." or symlink can
 * lead outside the root; kernels without openat2 get a component walk
 * that refuses every symlink.  Nothing here logs.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifdef HAVE_LINUX_OPENAT2_H
#include <linux/openat2.h>
#endif

#include "fdcache.h"
#include "files.h"
#include "path.h"
#include "proto.h"

#if defined(HAVE_LINUX_OPENAT2_H) && defined(SYS_openat2)
#define FILES_HAVE_OPENAT2	1
#endif

#define NASRC_BUFSZ	8192
#define DECODE_CHUNK	4096
#define TMPNAME_TRIES	64
#define SUFFIX_LEN	6
#define OPENAT2_TRIES	8
#define COPY_CHUNK	16384

bool		files_no_openat2;
bool		files_no_tmpfile;
bool		files_no_empty_path;
bool		files_no_proc;
enum files_link	files_link;

static int	 resolve(int rootfd, const char *rel, int flags, bool follow);
static bool	 replaceable(const struct stat *st);
static int	 walk(int rootfd, const char *rel, int flags);
static void	 random_suffix(char *buf, size_t n);
static int	 hidden_name(char *dst, size_t len, const char *base);
static int	 create_hidden(struct upload *u, mode_t mode);
static int	 put(struct upload *u, const uint8_t *buf, size_t n);
static int	 link_empty_path(struct upload *u, const char *name);
static int	 link_proc(struct upload *u, const char *name);
static int	 link_tmpfile(struct upload *u, const char *name);
static int	 commit_tmpfile(struct upload *u);
static int	 tmpfile_to_hidden(struct upload *u);
static int	 commit_hidden(struct upload *u);
static ssize_t	 encode_block(struct nasrc *s, uint8_t *out);

/*
 * The one way into the tree.  openat2 may answer EAGAIN when a rename or
 * mount raced with the lookup (RESOLVE_BENEATH checks for it); a few
 * retries settle that.
 */
static int
resolve(int rootfd, const char *rel, int flags, bool follow)
{
#ifdef FILES_HAVE_OPENAT2
	struct open_how how = {
		.flags = (uint64_t)flags,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS |
		    (follow ? 0 : RESOLVE_NO_SYMLINKS),
	};
	int fd, i;

	if (!files_no_openat2) {
		for (i = 0; i < OPENAT2_TRIES; i++) {
			fd = (int)syscall(SYS_openat2, rootfd, rel, &how,
			    sizeof(how));
			if (fd >= 0)
				return fd;
			if (errno != EAGAIN && errno != EINTR)
				break;
		}
		/*
		 * ENOSYS: an old kernel.  EPERM: a container's seccomp
		 * profile that predates openat2; a real EPERM comes back
		 * from the walk as well.
		 */
		if (errno != ENOSYS && errno != EPERM)
			return -errno;
	}
#endif
	return walk(rootfd, rel, flags);
}

/*
 * Fallback resolution, one component at a time, never following a
 * symlink: each intermediate is opened O_PATH|O_NOFOLLOW and checked with
 * fstat, so what is checked is what is used.
 */
static int
walk(int rootfd, const char *rel, int flags)
{
	char comp[NAME_MAX + 1];
	const char *p = rel;
	struct stat st;
	int cur = rootfd, next, r;
	size_t n;

	for (;;) {
		n = strcspn(p, "/");
		if (n == 0) {
			r = -EINVAL;
			goto out;
		}
		if (n > NAME_MAX) {
			r = -ENAMETOOLONG;
			goto out;
		}
		memcpy(comp, p, n);
		comp[n] = '\0';
		if (strcmp(comp, "..") == 0) {
			r = -EXDEV;
			goto out;
		}
		if (p[n] == '\0')
			break;
		next = openat(cur, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0) {
			r = -errno;
			goto out;
		}
		if (fstat(next, &st) < 0) {
			r = -errno;
			(void)close(next);
			goto out;
		}
		if (!S_ISDIR(st.st_mode)) {
			r = S_ISLNK(st.st_mode) ? -ELOOP : -ENOTDIR;
			close(next);
			goto out;
		}
		if (cur != rootfd)
			close(cur);
		cur = next;
		p += n + 1;
	}

	/* O_DIRECTORY would turn a symlink into ENOTDIR; check by hand. */
	r = openat(cur, comp, (flags & ~O_DIRECTORY) | O_NOFOLLOW);
	if (r < 0) {
		r = -errno;
		goto out;
	}
	if ((flags & (O_PATH | O_DIRECTORY)) == 0)
		goto out;
	if (fstat(r, &st) < 0) {
		next = -errno;
		close(r);
		r = next;
	} else if (S_ISLNK(st.st_mode) ||
	    ((flags & O_DIRECTORY) && !S_ISDIR(st.st_mode))) {
		close(r);
		r = S_ISLNK(st.st_mode) ? -ELOOP : -ENOTDIR;
	}
out:
	if (cur != rootfd)
		close(cur);
	return r;
}

int
files_resolve(int rootfd, const char *rel, int flags, bool follow)
{
	return resolve(rootfd, rel, flags, follow);
}

/* The safe open of a file to read, and what it is (st). */
static int
open_read(int rootfd, const char *rel, const struct tftpd_config *cfg,
    struct stat *st)
{
	int fd, r;

	fd = resolve(rootfd, rel,
	    O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY, cfg->follow_symlinks);
	if (fd < 0)
		return fd == -EACCES ? -EPERM : fd;
	if (fstat(fd, st) < 0) {
		r = -errno;
		goto out_close;
	}
	if (!S_ISREG(st->st_mode)) {
		r = -FILES_ENOTREG;
		goto out_close;
	}
	/* tftp-hpa's rule: a file is public only if everyone may read it. */
	if (!cfg->permissive && !(st->st_mode & S_IROTH)) {
		r = -EPERM;
		goto out_close;
	}
	return fd;

out_close:
	close(fd);
	return r;
}

int
files_open_read(int rootfd, const char *rel, const struct tftpd_config *cfg,
    uint64_t *size)
{
	struct stat st;
	int fd;

	if ((fd = open_read(rootfd, rel, cfg, &st)) < 0)
		return fd;
	*size = (uint64_t)st.st_size;
	return fd;
}

/*
 * The table hands out only what open_read() opened; its fstatat decides
 * whether such a descriptor is used again, never what is opened.  The
 * file's checks (regular, public) were made when it was opened, and a
 * chmod since changes its change time, which the table compares.
 */
int
files_open_read_shared(struct fdcache *fc, int rootfd, const char *rel,
    const struct tftpd_config *cfg, uint64_t *size)
{
	struct stat st;
	int fd;

	if (fc == NULL)
		return files_open_read(rootfd, rel, cfg, size);
	if ((fd = fdcache_get(fc, rootfd, rel, size)) >= 0)
		return fd;
	if ((fd = open_read(rootfd, rel, cfg, &st)) < 0)
		return fd;
	*size = (uint64_t)st.st_size;
	/* Not shared (a long name, a full table): the caller's alone. */
	(void)fdcache_add(fc, rootfd, rel, fd, &st);
	return fd;
}

static void
random_suffix(char *buf, size_t n)
{
	static const char set[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
	static unsigned long counter;
	uint8_t rnd[SUFFIX_LEN];
	struct timespec ts;
	size_t i;

	if (n > sizeof(rnd))
		n = sizeof(rnd);
	if (getrandom(rnd, n, GRND_NONBLOCK) != (ssize_t)n) {
		/* Only uniqueness matters (O_EXCL decides); no secrecy. */
		clock_gettime(CLOCK_MONOTONIC, &ts);
		for (i = 0; i < n; i++)
			rnd[i] = (uint8_t)(ts.tv_nsec >> (i * 5)) ^
			    (uint8_t)(counter++ * 131 + (unsigned)getpid());
	}
	for (i = 0; i < n; i++)
		buf[i] = set[rnd[i] % (sizeof(set) - 1)];
}

/* ".<base>.XXXXXX", the base shortened so the name stays legal. */
static int
hidden_name(char *dst, size_t len, const char *base)
{
	size_t blen = strlen(base), max = NAME_MAX - 2 - SUFFIX_LEN;
	int n;

	if (blen > max)
		blen = max;
	n = snprintf(dst, len, ".%.*s.", (int)blen, base);
	if (n < 0 || (size_t)n + SUFFIX_LEN >= len)
		return -ENAMETOOLONG;
	random_suffix(dst + n, SUFFIX_LEN);
	dst[n + SUFFIX_LEN] = '\0';
	return 0;
}

static int
create_hidden(struct upload *u, mode_t mode)
{
	int i, fd, r;

	for (i = 0; i < TMPNAME_TRIES; i++) {
		if ((r = hidden_name(u->tmpname, sizeof(u->tmpname),
		    u->base)) < 0)
			return r;
		fd = openat(u->dirfd, u->tmpname, O_WRONLY | O_CREAT | O_EXCL |
		    O_NOFOLLOW | O_CLOEXEC, mode);
		if (fd >= 0)
			return fd;
		if (errno != EEXIST) {
			r = -errno;
			u->tmpname[0] = '\0';
			return r;
		}
	}
	u->tmpname[0] = '\0';
	return -EEXIST;
}

/*
 * tftp-hpa's rule, a file everyone may write, plus one of ours: a file
 * the service user owns and may write itself, which is what an earlier
 * upload left (0666 & ~umask, never world-writable by default), so a
 * device's nightly backup to the same name works.  Workers never run as
 * uid 0 (privs.c refuses it), so this never opens up root's files.
 */
static bool
replaceable(const struct stat *st)
{
	if (st->st_mode & S_IWOTH)
		return true;
	return st->st_uid == geteuid() && (st->st_mode & S_IWUSR);
}

int
files_upload_open(struct upload *u, int rootfd, const char *rel,
    const struct tftpd_config *cfg, bool netascii)
{
	const char *patterns[CONFIG_MAX_PATTERNS];
	char dir[PATH_REL_MAX];
	const char *base;
	struct stat st;
	mode_t mode;
	uint32_t i;
	int r, fd = -1;

	*u = (struct upload){ .dirfd = -1, .fd = -1 };
	if (!cfg->write_enable)
		return -FILES_EDISABLED;
	for (i = 0; i < cfg->nwrite_allow && i < CONFIG_MAX_PATTERNS; i++)
		patterns[i] = cfg->write_allow[i];
	if (!path_match_any(rel, patterns, i))
		return -EACCES;
	if ((r = path_split(rel, dir, sizeof(dir), &base)) < 0)
		return r;
	if (strlen(base) > NAME_MAX)
		return -ENAMETOOLONG;

	u->dirfd = resolve(rootfd, dir, O_PATH | O_DIRECTORY | O_CLOEXEC,
	    cfg->follow_symlinks);
	if (u->dirfd < 0) {
		r = u->dirfd == -EACCES ? -EPERM : u->dirfd;
		u->dirfd = -1;
		return r;
	}
	snprintf(u->base, sizeof(u->base), "%s", base);

	/*
	 * The commit replaces the name, never writes through it: a symlink
	 * there would be swapped for a file, which is not what its owner
	 * meant, so it is refused like a symlink that leads out.
	 */
	if (fstatat(u->dirfd, u->base, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (S_ISLNK(st.st_mode))
			r = -ELOOP;
		else if (!S_ISREG(st.st_mode))
			r = -FILES_ENOTREG;
		else if (!cfg->write_overwrite)
			r = -EEXIST;
		else if (!cfg->permissive && !replaceable(&st))
			r = -EPERM;
	} else if (errno == ENOENT) {
		if (!cfg->write_create)
			r = -ENOENT;
	} else {
		r = errno == EACCES ? -EPERM : -errno;
	}
	if (r < 0)
		goto out_err;

	u->overwrite = cfg->write_overwrite;
	u->fsync = cfg->fsync;
	u->netascii = netascii;
	u->max_size = cfg->max_file_size;
	mode = 0666 & ~(mode_t)cfg->umask;
	u->mode = mode;

	/*
	 * O_TMPFILE leaves nothing behind even if the process is killed.
	 * Read-write: if it turns out it cannot be linked, it is copied.
	 */
	if (!files_no_tmpfile && files_link != FILES_LINK_NONE) {
		fd = openat(u->dirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC,
		    mode);
		if (fd >= 0)
			u->tmpfile = true;
		else if (errno != EOPNOTSUPP && errno != EISDIR &&
		    errno != EINVAL) {
			r = errno == EACCES ? -EPERM : -errno;
			goto out_err;
		}
	}
	if (fd < 0 && (fd = create_hidden(u, mode)) < 0) {
		r = fd == -EACCES ? -EPERM : fd;
		goto out_err;
	}
	u->fd = fd;
	/* The configured umask, not whatever the process inherited. */
	if (fchmod(fd, mode) < 0) {
		r = -errno;
		goto out_err;
	}
	return 0;

out_err:
	files_upload_close(u);
	return r;
}

/*
 * fstatfs(), not fstatvfs(): the same numbers without glibc's look into
 * /proc/self/mounts, which the sandbox does not allow.  f_bavail: what
 * an unprivileged writer may use, not the blocks kept for root.
 */
int
files_upload_room(const struct upload *u, uint64_t size)
{
	struct statfs sf;
	uint64_t bsize, avail;

	if (u->dirfd < 0 || fstatfs(u->dirfd, &sf) < 0)
		return 0;
	bsize = sf.f_frsize > 0 ? (uint64_t)sf.f_frsize : (uint64_t)sf.f_bsize;
	avail = (uint64_t)sf.f_bavail;
	if (bsize == 0 || avail > UINT64_MAX / bsize)
		return 0;
	return size > avail * bsize ? -ENOSPC : 0;
}

static int
put(struct upload *u, const uint8_t *buf, size_t n)
{
	ssize_t w;
	size_t off;

	if (u->max_size != 0 && n > u->max_size - u->size)
		return -EFBIG;
	for (off = 0; off < n; off += (size_t)w) {
		w = write(u->fd, buf + off, n - off);
		if (w < 0) {
			if (errno == EINTR) {
				w = 0;
				continue;
			}
			return -errno;
		}
		if (w == 0)
			return -EIO;
	}
	u->size += n;
	return 0;
}

int
files_upload_write(struct upload *u, const uint8_t *data, size_t len)
{
	uint8_t tmp[DECODE_CHUNK + 1];
	size_t n, out;
	int r;

	if (u->fd < 0 || u->committed)
		return -EBADF;
	if (!u->netascii)
		return put(u, data, len);
	while (len > 0) {
		n = len < DECODE_CHUNK ? len : DECODE_CHUNK;
		out = netascii_decode(&u->dec, data, n, tmp);
		if ((r = put(u, tmp, out)) < 0)
			return r;
		data += n;
		len -= n;
	}
	return 0;
}

/* -ENOENT also when the kernel refuses the empty path to us. */
static int
link_empty_path(struct upload *u, const char *name)
{
	if (files_no_empty_path)
		return -ENOENT;
	if (linkat(u->fd, "", u->dirfd, name, AT_EMPTY_PATH) < 0)
		return -errno;
	return 0;
}

static int
link_proc(struct upload *u, const char *name)
{
	char proc[64];

	if (files_no_proc)
		return -ENOENT;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", u->fd);
	if (linkat(AT_FDCWD, proc, u->dirfd, name, AT_SYMLINK_FOLLOW) < 0)
		return -errno;
	return 0;
}

/*
 * Give the O_TMPFILE a name by the method known to work, or find one:
 * any answer but "no such file" / "not permitted" shows that a method
 * works (EEXIST, ENOSPC... are the real result).  -ENOLINK when none can;
 * a directory removed meanwhile is not taken for that.
 */
static int
link_tmpfile(struct upload *u, const char *name)
{
	struct stat st;
	int r;

	switch (files_link) {
	case FILES_LINK_EMPTY_PATH:
		return link_empty_path(u, name);
	case FILES_LINK_PROC:
		return link_proc(u, name);
	case FILES_LINK_NONE:
		return -ENOLINK;
	default:
		break;
	}
	if (fstat(u->dirfd, &st) == 0 && st.st_nlink == 0)
		return -ENOENT;
	r = link_empty_path(u, name);
	if (r != -ENOENT && r != -EPERM) {
		files_link = FILES_LINK_EMPTY_PATH;
		return r;
	}
	r = link_proc(u, name);
	if (r != -ENOENT && r != -EPERM && r != -EACCES && r != -ENOTDIR) {
		files_link = FILES_LINK_PROC;
		return r;
	}
	files_link = FILES_LINK_NONE;
	return -ENOLINK;
}

/*
 * overwrite=no: link straight to the name, so an existing file (created
 * since the request) wins with EEXIST.  overwrite=yes: link under a
 * hidden name, then rename over the old file, which readers see swapped
 * whole or not at all.
 */
static int
commit_tmpfile(struct upload *u)
{
	char hidden[NAME_MAX + 1];
	int i, r;

	if (!u->overwrite)
		return link_tmpfile(u, u->base);
	for (i = 0; i < TMPNAME_TRIES; i++) {
		if ((r = hidden_name(hidden, sizeof(hidden), u->base)) < 0)
			return r;
		r = link_tmpfile(u, hidden);
		if (r == 0)
			break;
		if (r != -EEXIST)
			return r;
	}
	if (r < 0)
		return r;
	if (renameat(u->dirfd, hidden, u->dirfd, u->base) < 0) {
		r = -errno;
		unlinkat(u->dirfd, hidden, 0);
		return r;
	}
	return 0;
}

/*
 * The temporary cannot be linked here (an old kernel in a sandbox without
 * /proc): copy it to a hidden name, which then commits like the fallback.
 * Only the first upload of such a process takes this way; the next ones
 * start with a hidden name.
 */
static int
tmpfile_to_hidden(struct upload *u)
{
	uint8_t buf[COPY_CHUNK];
	off_t off = 0;
	ssize_t n, w;
	size_t done;
	int fd, r;

	if ((fd = create_hidden(u, u->mode)) < 0)
		return fd == -EACCES ? -EPERM : fd;
	if (fchmod(fd, u->mode) < 0) {
		r = -errno;
		goto out_unlink;
	}
	for (;;) {
		n = pread(u->fd, buf, sizeof(buf), off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			goto out_unlink;
		}
		if (n == 0)
			break;
		for (done = 0; done < (size_t)n; done += (size_t)w) {
			w = write(fd, buf + done, (size_t)n - done);
			if (w < 0 && errno == EINTR) {
				w = 0;
				continue;
			}
			if (w <= 0) {
				r = w < 0 ? -errno : -EIO;
				goto out_unlink;
			}
		}
		off += n;
	}
	if (u->fsync && fsync(fd) < 0) {
		r = -errno;
		goto out_unlink;
	}
	close(u->fd);
	u->fd = fd;
	u->tmpfile = false;
	return 0;

out_unlink:
	close(fd);
	(void)unlinkat(u->dirfd, u->tmpname, 0);
	u->tmpname[0] = '\0';
	return r;
}

static int
commit_hidden(struct upload *u)
{
	int r = 0;

	if (u->overwrite) {
		if (renameat(u->dirfd, u->tmpname, u->dirfd, u->base) < 0)
			return -errno;
		u->tmpname[0] = '\0';
		return 0;
	}
	if (linkat(u->dirfd, u->tmpname, u->dirfd, u->base, 0) < 0)
		r = -errno;
	/* Linked or not, the hidden name goes (close() retries on error). */
	if (unlinkat(u->dirfd, u->tmpname, 0) == 0)
		u->tmpname[0] = '\0';
	return r;
}

int
files_upload_commit(struct upload *u)
{
	uint8_t cr;
	int r, dfd;

	if (u->fd < 0 || u->committed)
		return -EBADF;
	if (u->netascii && netascii_decode_finish(&u->dec, &cr) == 1 &&
	    (r = put(u, &cr, 1)) < 0)
		return r;
	if (u->fsync && fsync(u->fd) < 0)
		return -errno;
	if (u->tmpfile) {
		r = commit_tmpfile(u);
		if (r == -ENOLINK && (r = tmpfile_to_hidden(u)) == 0)
			r = commit_hidden(u);
	} else {
		r = commit_hidden(u);
	}
	if (r < 0)
		return r;
	u->committed = true;
	if (u->fsync) {
		/* The new name; the data is safe already: best effort. */
		dfd = openat(u->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			(void)fsync(dfd);
			close(dfd);
		}
	}
	return 0;
}

void
files_upload_close(struct upload *u)
{
	if (u->fd >= 0) {
		close(u->fd);
		u->fd = -1;
	}
	if (u->dirfd >= 0) {
		if (!u->tmpfile && u->tmpname[0] != '\0')
			unlinkat(u->dirfd, u->tmpname, 0);
		close(u->dirfd);
		u->dirfd = -1;
	}
	u->tmpname[0] = '\0';
}

int
files_nasrc_init(struct nasrc *s, int fd, uint64_t *size)
{
	uint64_t total = 0;
	off_t off = 0;
	ssize_t n;

	*s = (struct nasrc){ .fd = fd, .cur_idx = 1, .ck_idx = 1 };
	if ((s->buf = malloc(NASRC_BUFSZ)) == NULL)
		return -ENOMEM;
	for (;;) {
		n = pread(fd, s->buf, NASRC_BUFSZ, off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			n = -errno;
			files_nasrc_free(s);
			return (int)n;
		}
		if (n == 0)
			break;
		total += (uint64_t)n + netascii_growth(s->buf, (size_t)n);
		off += n;
	}
	s->size = total;
	*size = total;
	return 0;
}

/* One block from the cursor; fewer bytes only at the end of the file. */
static ssize_t
encode_block(struct nasrc *s, uint8_t *out)
{
	size_t pos = 0, need, consumed, o;
	ssize_t n;

	while (pos < s->blksize) {
		need = s->blksize - pos;
		if (need > NASRC_BUFSZ)
			need = NASRC_BUFSZ;
		n = pread(s->fd, s->buf, need, s->cur_off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		/* At EOF an owed LF or NUL still comes out. */
		o = netascii_encode(&s->cur_enc, s->buf, (size_t)n, &consumed,
		    out + pos, s->blksize - pos);
		if (o == 0)
			break;
		pos += o;
		s->cur_off += (off_t)consumed;
	}
	s->cur_idx++;
	return (ssize_t)pos;
}

ssize_t
files_nasrc_read(struct nasrc *s, uint64_t idx, uint32_t blksize,
    uint64_t first_unacked, uint8_t *out)
{
	ssize_t n;

	if (s->blksize == 0)
		s->blksize = blksize;
	if (blksize != s->blksize || idx == 0)
		return -EINVAL;
	if (idx < s->cur_idx) {
		if (idx < s->ck_idx)
			return -EINVAL;
		s->cur_idx = s->ck_idx;
		s->cur_off = s->ck_off;
		s->cur_enc = s->ck_enc;
	}
	for (;;) {
		/* Remember the furthest block start the peer may return to. */
		if (s->cur_idx <= first_unacked && s->cur_idx > s->ck_idx) {
			s->ck_idx = s->cur_idx;
			s->ck_off = s->cur_off;
			s->ck_enc = s->cur_enc;
		}
		if (s->cur_idx == idx)
			return encode_block(s, out);
		/* Skipping ahead: encode into out, to be overwritten. */
		n = encode_block(s, out);
		if (n < 0)
			return n;
		if ((size_t)n < s->blksize)
			return 0;	/* the file shrank under us */
	}
}

void
files_nasrc_free(struct nasrc *s)
{
	free(s->buf);
	s->buf = NULL;
}

void
files_errmap(int err, uint16_t *code, const char **msg)
{
	switch (-err) {
	case ENOENT:
	case ENOTDIR:
	case ENAMETOOLONG:
		*code = TFTP_ENOTFOUND;
		*msg = "File not found";
		break;
	case EACCES:
	case EXDEV:
	case ELOOP:
		*code = TFTP_EACCESS;
		*msg = "Access violation";
		break;
	case FILES_ENOTREG:
		*code = TFTP_EACCESS;
		*msg = "Not a regular file";
		break;
	case FILES_EPERM:
		*code = TFTP_EACCESS;
		*msg = "Permission denied";
		break;
	case FILES_EDISABLED:
		*code = TFTP_EACCESS;
		*msg = "Uploads are disabled";
		break;
	case EEXIST:
		*code = TFTP_EEXISTS;
		*msg = "File already exists";
		break;
	case EFBIG:
		*code = TFTP_ENOSPACE;
		*msg = "File too large";
		break;
	case ENOSPC:
	case EDQUOT:
		*code = TFTP_ENOSPACE;
		*msg = "Disk full or allocation exceeded";
		break;
	case EMFILE:
	case ENFILE:
	case ENOMEM:
	case ENOBUFS:
	case EAGAIN:
		*code = TFTP_EUNDEF;
		*msg = "Server busy";
		break;
	default:
		*code = TFTP_EUNDEF;
		*msg = strerror(-err);
		break;
	}
}
