/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * Files beneath the served root: opening for reading, atomic uploads, the
 * write policy, the netascii read source, and the mapping from the errors
 * they return to TFTP ERROR packets.  Nothing here logs; every function
 * returns 0 (or a descriptor/length) or a negative errno.
 */
#ifndef FILES_H
#define FILES_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "netascii.h"

/*
 * errno values with a meaning of their own here (see files_errmap()).
 * EMEDIUMTYPE is never produced by open(2) on a path, so it cannot be
 * confused with a real failure.
 */
#define FILES_ENOTREG	EMEDIUMTYPE	/* directory, FIFO, device... */
#define FILES_EDISABLED	EROFS		/* uploads are off */
#define FILES_EPERM	EPERM		/* mode bits refuse (not -p) */

/*
 * Test switches: take the paths used on kernels without openat2(2),
 * filesystems without O_TMPFILE, kernels that refuse linkat(AT_EMPTY_PATH)
 * to a caller without CAP_DAC_READ_SEARCH (before Linux 6.10), and
 * sandboxes without /proc.  Never set by the daemon.
 */
extern bool	files_no_openat2;
extern bool	files_no_tmpfile;
extern bool	files_no_empty_path;
extern bool	files_no_proc;

/*
 * How a finished O_TMPFILE gets its name: linkat(fd, "", AT_EMPTY_PATH),
 * which Linux 6.10 allows the process that opened the file; else through
 * /proc/self/fd, which a sandbox may not reach; else not at all, and
 * uploads use a hidden name created O_EXCL from the start.  Learned at the
 * first commit (that upload is copied to a hidden name if neither works);
 * a test may reset it to FILES_LINK_UNKNOWN.
 */
enum files_link {
	FILES_LINK_UNKNOWN,
	FILES_LINK_EMPTY_PATH,
	FILES_LINK_PROC,
	FILES_LINK_NONE,
};
extern enum files_link	files_link;

/*
 * The one way into the tree, for lookup.c too: rel opened beneath rootfd
 * with flags (openat2 RESOLVE_BENEATH, else a walk that follows no
 * symlink); symlinks followed, never out of rootfd, only if follow.
 * The descriptor or -errno.
 */
int		 files_resolve(int rootfd, const char *rel, int flags,
		    bool follow);

struct fdcache;

/*
 * Open rel (from path_normalize()) beneath rootfd for reading.  Returns
 * the descriptor (O_CLOEXEC, O_NONBLOCK) and its size, or:
 *   -ENOENT, -ENOTDIR	   missing
 *   -EXDEV, -ELOOP	   escapes the root, or a symlink where none may be
 *   -FILES_ENOTREG	   not a regular file
 *   -EPERM		   not world-readable (and not permissive), or the
 *			   kernel refused access
 */
int		 files_open_read(int rootfd, const char *rel,
		    const struct tftpd_config *cfg, uint64_t *size);

/*
 * files_open_read() through fc, the worker's table of shared read
 * descriptors (fdcache.h): a descriptor other transfers of the same
 * file hold when the name still names that file, else a new one, shared
 * from now on.  Give it back with fdcache_put() (false: close it).  fc
 * NULL: files_open_read().
 */
int		 files_open_read_shared(struct fdcache *fc, int rootfd,
		    const char *rel, const struct tftpd_config *cfg,
		    uint64_t *size);

/* An upload in progress: a temporary file that becomes rel on commit. */
struct upload {
	int		 dirfd;		/* parent dir (O_PATH); -1 = idle */
	int		 fd;		/* the temporary, written in order */
	bool		 tmpfile;	/* O_TMPFILE: nameless until commit */
	mode_t		 mode;		/* 0666 & ~umask */
	bool		 overwrite;	/* commit may replace the name */
	bool		 fsync;
	bool		 netascii;
	bool		 committed;
	uint64_t	 size;		/* bytes written to the file */
	uint64_t	 max_size;	/* 0 = no limit */
	struct netascii_dec dec;
	char		 base[NAME_MAX + 1];	/* final name */
	char		 tmpname[NAME_MAX + 1];	/* hidden, if !tmpfile */
};

/*
 * Apply the write policy to rel and create its temporary.  Errors:
 *   -FILES_EDISABLED	uploads are off
 *   -EACCES		rel matches no [write] allow pattern
 *   -ENOENT		new file while create=no, or missing directory
 *   -EEXIST		existing file while overwrite=no
 *   -EPERM		existing file neither world-writable nor the
 *			service user's own and owner-writable (not
 *			permissive)
 *   -FILES_ENOTREG	the name is a directory or other non-file
 *   -ELOOP, -EXDEV	the name is a symlink, or the path escapes
 * and whatever creating the temporary fails with (-ENOSPC...).
 */
int		 files_upload_open(struct upload *u, int rootfd,
		    const char *rel, const struct tftpd_config *cfg,
		    bool netascii);

/*
 * Room for an upload the client announced as size bytes (tsize) on the
 * file system it goes to: 0, or -ENOSPC when the space available to us
 * is smaller.  0 too when the kernel will not say (the writes will).
 */
int		 files_upload_room(const struct upload *u, uint64_t size);

/* Append received data (decoded first in netascii mode).  -EFBIG past
 * max_file_size; -ENOSPC, -EDQUOT, -EIO from the disk. */
int		 files_upload_write(struct upload *u, const uint8_t *data,
		    size_t len);

/*
 * Make the upload visible under its name, atomically, after an fsync if
 * configured.  -EEXIST when overwrite=no and the name appeared meanwhile.
 * On failure the temporary is gone and the old file untouched.
 */
int		 files_upload_commit(struct upload *u);

/* Release the upload; if not committed, the temporary disappears. */
void		 files_upload_close(struct upload *u);

/*
 * netascii read source.  The transfer asks for blocks of the encoded
 * stream by index; they are encoded from the file on demand.  A checkpoint
 * (file offset + encoder state) is kept at the start of the first block
 * not yet acknowledged, so a retransmission re-encodes from there instead
 * of from the beginning.
 */
struct nasrc {
	int		 fd;
	uint64_t	 size;		/* length of the encoded stream */
	uint32_t	 blksize;	/* fixed by the first read */
	uint64_t	 cur_idx;	/* the cursor stands at this block */
	off_t		 cur_off;
	struct netascii_enc cur_enc;
	uint64_t	 ck_idx;	/* checkpoint: <= first unacked */
	off_t		 ck_off;
	struct netascii_enc ck_enc;
	uint8_t		*buf;		/* file bytes to encode */
};

/* Scan fd (positioned reads only) to learn the encoded size. */
int		 files_nasrc_init(struct nasrc *s, int fd, uint64_t *size);

/*
 * Encode block idx (1-based, blksize bytes of the encoded stream, fewer
 * for the last) into out.  first_unacked is the lowest block the peer may
 * still ask for again; the source never needs to go back further.
 * Returns the bytes produced (fewer than expected when the file shrank)
 * or -errno; -EINVAL if idx is below first_unacked's checkpoint.
 */
ssize_t		 files_nasrc_read(struct nasrc *s, uint64_t idx,
		    uint32_t blksize, uint64_t first_unacked, uint8_t *out);

void		 files_nasrc_free(struct nasrc *s);

/*
 * The ERROR packet for a negative errno from this module or from
 * path_normalize() (the spec's table; anything unexpected is code 0 with
 * strerror's text).
 */
void		 files_errmap(int err, uint16_t *code, const char **msg);

#endif /* FILES_H */
