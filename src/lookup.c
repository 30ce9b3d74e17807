/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * Finding the file a name means, for the switches that most tftp-hpa
 * remap files are written for: Windows clients' backslashes, names in
 * the wrong case, and a directory per client.  Each is off by default
 * and costs nothing then.  The case-insensitive lookup reads directories
 * with getdents64 into a buffer on the stack (no DIR, no malloc, no
 * fcntl: the sandbox allows exactly that) and is bounded by the number
 * of entries it reads.  Every directory and file is opened through
 * files_resolve() from the directory the name is looked up in, as an
 * exact name would be, so the symlink policy is follow_symlinks' and
 * nothing found here lies outside the root.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lookup.h"
#include "path.h"

#define DENTS_BUFSZ	4096

/* The kernel's record (getdents64(2)); glibc names it only sometimes. */
struct dent64 {
	uint64_t	d_ino;
	int64_t		d_off;
	unsigned short	d_reclen;
	unsigned char	d_type;
	char		d_name[];
};

/* What one directory scan looks for, and what it has found. */
struct scan {
	const char	*comp;		/* not terminated: n bytes */
	size_t		 n;
	bool		 want_dir;	/* a directory part of the name */
	bool		 found;
	char		 best[NAME_MAX + 1];
};

static const struct lookup_limits default_limits = {
	.dir_entries = LOOKUP_DIR_ENTRIES,
	.total_entries = LOOKUP_TOTAL_ENTRIES,
};

static bool	 ascii_caseeq(const char *a, const char *b, size_t n);
static bool	 type_fits(unsigned char type, bool want_dir);
static void	 scan_entry(struct scan *s, const char *name, size_t len,
		    unsigned char type);
static int	 scan_dir(int fd, struct scan *s,
		    const struct lookup_limits *lim, uint32_t *total);
static int	 find_comp(int dirfd, char *path, size_t start, size_t n,
		    bool last, bool follow, const struct lookup_limits *lim,
		    uint32_t *total);

const char *
lookup_backslash(const char *name, char *buf, size_t len)
{
	size_t i, n = strlen(name);

	if (n + 1 > len)
		return NULL;
	for (i = 0; i <= n; i++)
		buf[i] = name[i] == '\\' ? '/' : name[i];
	return buf;
}

int
lookup_client_dirname(const struct sockaddr *sa, char *buf, size_t len)
{
	const struct sockaddr_in6 *sin6;
	const struct sockaddr_in *sin;
	struct in_addr v4;

	switch (sa->sa_family) {
	case AF_INET:
		sin = (const struct sockaddr_in *)sa;
		v4 = sin->sin_addr;
		break;
	case AF_INET6:
		sin6 = (const struct sockaddr_in6 *)sa;
		/* A dual-stack socket's IPv4 client is that client. */
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			memcpy(&v4, sin6->sin6_addr.s6_addr + 12, sizeof(v4));
			break;
		}
		if (inet_ntop(AF_INET6, &sin6->sin6_addr, buf,
		    (socklen_t)len) == NULL)
			return -ENAMETOOLONG;
		return 0;
	default:
		return -EAFNOSUPPORT;
	}
	if (inet_ntop(AF_INET, &v4, buf, (socklen_t)len) == NULL)
		return -ENAMETOOLONG;
	return 0;
}

int
lookup_root(int rootfd, const struct sockaddr *peer,
    const struct tftpd_config *cfg)
{
	char name[INET6_ADDRSTRLEN];
	int fd;

	if (cfg->client_root != CLIENT_ROOT_IP)
		return rootfd;
	/* No address to name a directory after: the common root. */
	if (lookup_client_dirname(peer, name, sizeof(name)) < 0)
		return rootfd;
	fd = files_resolve(rootfd, name, O_PATH | O_DIRECTORY | O_CLOEXEC,
	    cfg->follow_symlinks);
	if (fd == -ENOENT)
		return rootfd;
	return fd == -EACCES ? -EPERM : fd;
}

/* ASCII letters only: what a name's bytes mean is not ours to guess. */
static bool
ascii_caseeq(const char *a, const char *b, size_t n)
{
	unsigned char x, y;
	size_t i;

	for (i = 0; i < n; i++) {
		x = (unsigned char)a[i];
		y = (unsigned char)b[i];
		if (x >= 'A' && x <= 'Z')
			x = (unsigned char)(x - 'A' + 'a');
		if (y >= 'A' && y <= 'Z')
			y = (unsigned char)(y - 'A' + 'a');
		if (x != y)
			return false;
	}
	return true;
}

/* A file system that does not say (DT_UNKNOWN) leaves it to the open. */
static bool
type_fits(unsigned char type, bool want_dir)
{
	if (type == DT_UNKNOWN || type == DT_LNK)
		return true;
	return want_dir ? type == DT_DIR : type == DT_REG;
}

static void
scan_entry(struct scan *s, const char *name, size_t len, unsigned char type)
{
	if (len != s->n || !type_fits(type, s->want_dir) ||
	    !ascii_caseeq(name, s->comp, s->n))
		return;
	/* Equal length: memcmp is byte order. */
	if (!s->found || memcmp(name, s->best, s->n) < 0) {
		memcpy(s->best, name, s->n);
		s->best[s->n] = '\0';
		s->found = true;
	}
}

/*
 * Every entry of the directory fd (opened at its start), each counted
 * against the bounds before it is looked at: -E2BIG at the first entry
 * past one, since an entry not read might come first in byte order.
 */
static int
scan_dir(int fd, struct scan *s, const struct lookup_limits *lim,
    uint32_t *total)
{
	/* Aligned for the records' 64-bit fields. */
	uint64_t buf[DENTS_BUFSZ / sizeof(uint64_t)];
	const struct dent64 *d;
	uint32_t count = 0;
	size_t off, max;
	long nread;

	for (;;) {
		nread = syscall(SYS_getdents64, fd, buf, sizeof(buf));
		if (nread < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (nread == 0)
			return 0;
		for (off = 0; off < (size_t)nread; off += d->d_reclen) {
			if ((size_t)nread - off <=
			    offsetof(struct dent64, d_name))
				return -EIO;
			d = (const struct dent64 *)((const char *)buf + off);
			if (d->d_reclen <= offsetof(struct dent64, d_name) ||
			    d->d_reclen > (size_t)nread - off)
				return -EIO;
			if (++count > lim->dir_entries ||
			    ++*total > lim->total_entries)
				return -E2BIG;
			max = d->d_reclen - offsetof(struct dent64, d_name);
			scan_entry(s, d->d_name, strnlen(d->d_name, max),
			    d->d_type);
		}
	}
}

/*
 * The component path[start, start + n) in the directory path[0, start)
 * (the part found so far; the directory itself when start is 0): kept
 * when it exists, else replaced in path by the entry it matches.
 */
static int
find_comp(int dirfd, char *path, size_t start, size_t n, bool last,
    bool follow, const struct lookup_limits *lim, uint32_t *total)
{
	struct scan s = {
		.comp = path + start,
		.n = n,
		.want_dir = !last,
	};
	char name[NAME_MAX + 1];
	struct stat st;
	int fd, r;

	if (start > 0)
		path[start - 1] = '\0';
	fd = files_resolve(dirfd, start > 0 ? path : ".",
	    O_RDONLY | O_DIRECTORY | O_CLOEXEC, follow);
	if (start > 0)
		path[start - 1] = '/';
	if (fd < 0)
		return fd;
	memcpy(name, path + start, n);
	name[n] = '\0';
	/* An exact name wins, whatever else matches. */
	if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		r = 0;
		goto out;
	}
	if (errno != ENOENT) {
		r = -errno;
		goto out;
	}
	if ((r = scan_dir(fd, &s, lim, total)) < 0)
		goto out;
	if (!s.found) {
		r = -ENOENT;
		goto out;
	}
	memcpy(path + start, s.best, n);
out:
	close(fd);
	return r;
}

int
lookup_icase(int dirfd, const char *rel, bool follow, bool may_be_new,
    const struct lookup_limits *lim, char *out, size_t outlen)
{
	size_t len = strlen(rel), start, n;
	uint32_t total = 0;
	bool last;
	int r;

	if (lim == NULL)
		lim = &default_limits;
	if (len == 0)
		return -ENOENT;
	if (len + 1 > outlen)
		return -ENAMETOOLONG;
	memcpy(out, rel, len + 1);
	for (start = 0; start < len; start += n + 1) {
		n = strcspn(out + start, "/");
		if (n == 0)
			return -ENOENT;
		if (n > NAME_MAX)
			return -ENAMETOOLONG;
		/* path_normalize() leaves none; never above dirfd anyway. */
		if (n <= 2 && strncmp(out + start, "..", n) == 0)
			return -EXDEV;
		last = out[start + n] == '\0';
		r = find_comp(dirfd, out, start, n, last, follow, lim, &total);
		if (r == -ENOENT && last && may_be_new)
			return 0;
		if (r < 0)
			return r;
	}
	return 0;
}

int
lookup_open_read(struct fdcache *fc, int dirfd, const char *rel,
    const struct tftpd_config *cfg, uint64_t *size)
{
	char found[PATH_REL_MAX];
	int r;

	r = files_open_read_shared(fc, dirfd, rel, cfg, size);
	if (!cfg->ignore_case || (r != -ENOENT && r != -ENOTDIR))
		return r;
	/* Not found, bounds reached: the exact name's answer stands. */
	if (lookup_icase(dirfd, rel, cfg->follow_symlinks, false, NULL,
	    found, sizeof(found)) < 0 || strcmp(found, rel) == 0)
		return r;
	return files_open_read_shared(fc, dirfd, found, cfg, size);
}

int
lookup_upload_open(struct upload *u, int dirfd, const char *rel,
    const struct tftpd_config *cfg, bool netascii)
{
	char found[PATH_REL_MAX];
	int r;

	/* Disabled uploads read no directory. */
	if (!cfg->ignore_case || !cfg->write_enable)
		return files_upload_open(u, dirfd, rel, cfg, netascii);
	r = lookup_icase(dirfd, rel, cfg->follow_symlinks, true, NULL, found,
	    sizeof(found));
	if (r == -E2BIG)
		return files_upload_open(u, dirfd, rel, cfg, netascii);
	if (r < 0) {
		*u = (struct upload){ .dirfd = -1, .fd = -1 };
		return r == -EACCES ? -EPERM : r;
	}
	return files_upload_open(u, dirfd, found, cfg, netascii);
}

int
lookup_open(struct fdcache *fc, int rootfd, const struct sockaddr *peer,
    const char *rel, const struct tftpd_config *cfg, struct upload *u,
    bool netascii, uint64_t *size)
{
	int dirfd, r;

	if ((dirfd = lookup_root(rootfd, peer, cfg)) < 0) {
		if (u != NULL)
			*u = (struct upload){ .dirfd = -1, .fd = -1 };
		return dirfd;
	}
	if (u != NULL)
		r = lookup_upload_open(u, dirfd, rel, cfg, netascii);
	else
		r = lookup_open_read(dirfd == rootfd ? fc : NULL, dirfd, rel,
		    cfg, size);
	/* An upload holds its own directory (u->dirfd), a read its file. */
	if (dirfd != rootfd)
		close(dirfd);
	return r;
}
