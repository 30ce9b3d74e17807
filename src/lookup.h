/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * Finding the file a name means: the switches that make a client's name
 * mean a file other than the one it spells ([transfer] map_backslash,
 * ignore_case, client_root).  In admit.c's order: backslashes become
 * '/' (before remap rules and path_normalize()), then the directory the
 * name is looked up in is chosen (the root or the client's own), then
 * the file is opened there, found ignoring ASCII case when the exact
 * name does not exist.  Every open goes through files_resolve(), so
 * nothing found here can lie outside the root.  Nothing here logs; 0 (or
 * a descriptor) or -errno, as files.c.
 */
#ifndef LOOKUP_H
#define LOOKUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "config.h"
#include "files.h"

/*
 * The bounds of one case-insensitive lookup: directory entries read per
 * directory and in all directories of one name together.  A lookup that
 * reaches either stops with -E2BIG: the name is then used as spelled.
 */
#define LOOKUP_DIR_ENTRIES	8192
#define LOOKUP_TOTAL_ENTRIES	32768

struct lookup_limits {
	uint32_t	dir_entries;
	uint32_t	total_entries;
};

/* name with every '\' turned into '/', in buf; NULL if it does not fit. */
const char	*lookup_backslash(const char *name, char *buf, size_t len);

/*
 * The name of a client's own directory: its address as inet_ntop(3)
 * writes it ("192.0.2.10", "2001:db8::1"), an IPv4-mapped IPv6 address
 * as the IPv4 one.  0, -EAFNOSUPPORT or -ENAMETOOLONG.
 */
int		 lookup_client_dirname(const struct sockaddr *sa, char *buf,
		    size_t len);

/*
 * The directory peer's names are looked up in: rootfd itself, or with
 * client_root = ip the client's directory beneath it (a new O_PATH
 * descriptor, which the caller closes) when that name exists.  When it
 * does not, rootfd; when it exists but cannot be used (not a directory,
 * a symlink where none may be), -errno: the request is refused rather
 * than served from the common root.
 */
int		 lookup_root(int rootfd, const struct sockaddr *peer,
		    const struct tftpd_config *cfg);

/*
 * rel (from path_normalize()) found beneath dirfd ignoring ASCII case,
 * component by component: an existing exact name is taken as it is;
 * else among the entries of the directory that equal it but for ASCII
 * case (a directory, symlink or unknown type for a directory part; a
 * regular file, symlink or unknown type for the last) the first in byte
 * order.  The names found are written to out (as long as rel).  With
 * may_be_new, a last component found nowhere keeps its spelling (an
 * upload's new file).  lim NULL: the LOOKUP_* bounds.  Errors: -ENOENT,
 * -E2BIG (a bound reached), -ENAMETOOLONG and what opening a directory
 * gives (-ENOTDIR, -ELOOP, -EXDEV, -EACCES...).
 */
int		 lookup_icase(int dirfd, const char *rel, bool follow,
		    bool may_be_new, const struct lookup_limits *lim,
		    char *out, size_t outlen);

/*
 * files_open_read_shared() of rel beneath dirfd; when it is missing and
 * ignore_case is on, of the name lookup_icase() finds.
 */
int		 lookup_open_read(struct fdcache *fc, int dirfd,
		    const char *rel, const struct tftpd_config *cfg,
		    uint64_t *size);

/*
 * files_upload_open() of rel beneath dirfd; with ignore_case, of the
 * name lookup_icase() finds: the directories found ignoring case, an
 * existing file that matches but for case is the one replaced, else a
 * new file with the client's spelling.  The [write] allow patterns are
 * matched against the name found.
 */
int		 lookup_upload_open(struct upload *u, int dirfd,
		    const char *rel, const struct tftpd_config *cfg,
		    bool netascii);

/*
 * What admit.c calls: rel beneath the directory lookup_root() chooses
 * for peer, opened for reading (u NULL: the descriptor and its size) or
 * as upload u (0), through lookup_open_read() or lookup_upload_open().
 * A read beneath rootfd itself goes through fc, the worker's shared
 * descriptors (NULL: none); one beneath a client's own directory does
 * not, that directory's descriptor being new each time.
 */
int		 lookup_open(struct fdcache *fc, int rootfd,
		    const struct sockaddr *peer, const char *rel,
		    const struct tftpd_config *cfg, struct upload *u,
		    bool netascii, uint64_t *size);

#endif /* LOOKUP_H */
