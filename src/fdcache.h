/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * A worker's shared read descriptors: one descriptor per file for all the
 * read transfers of that file running now or started a moment ago, so a
 * storm of requests for the same few files does not pay openat2, fstat
 * and close each time.  A fixed table (FDCACHE_SLOTS entries, names up
 * to FDCACHE_NAME_MAX): nothing a client sends makes it grow; when it is
 * full of descriptors in use, a new file is simply not shared.
 *
 * Only a descriptor files.c's safe open produced (openat2
 * RESOLVE_BENEATH, or the walk) ever enters the table.  Before one is
 * handed out again, the name is looked up with fstatat (no following of
 * a final symlink) and the answer compared with what the descriptor was
 * opened as: device, inode, mode, size, modification and change times.
 * Any difference, or a name that no longer exists, and the entry is
 * retired (closed when its last transfer ends) and the caller opens
 * afresh the safe way.  That stat cannot lead out of the root: it never
 * produces what is served, it only decides whether a descriptor that
 * was opened safely beneath the root is used again.  If it follows a
 * symlink or ".." somewhere else and finds the very same inode with the
 * same times, serving the descriptor serves the file that was opened
 * beneath the root, and moving or linking an inode elsewhere changes its
 * change time, so a file renamed out of the tree no longer matches.  (A
 * directory moved out and replaced by a symlink to it leaves the change
 * times of the files beneath alone: until the entry is closed, such a
 * file is still served from the descriptor opened while it was beneath,
 * never one that was not.)
 * An entry may also hold a read-only mapping of its file (fdcache_map),
 * made by the first transfer of a big file that wants one and shared by
 * every transfer holding the entry: the page tables are then built and
 * torn down once per file, not once per download.  It is unmapped when
 * the descriptor is closed (retired, expired, evicted or flushed, and no
 * transfer holds it), so the table's bound is also the mappings' bound:
 * FDCACHE_SLOTS files, each at most what the caller asked for.
 *
 * Nothing here logs; 0 (or a descriptor) or -errno, as files.c.
 */
#ifndef FDCACHE_H
#define FDCACHE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

/*
 * Enough for the files a boot storm asks for (a loader, its
 * configurations, a kernel, an initrd, a few dozen in the benchmark)
 * and few enough that the descriptors it holds do not matter.
 */
#define FDCACHE_SLOTS		64
#define FDCACHE_NAME_MAX	256

struct fdcache_ent {
	int		 fd;		/* -1: a free slot */
	int		 dirfd;		/* the root it was opened beneath */
	uint32_t	 refs;		/* transfers reading it */
	bool		 stale;		/* found no more; closed at refs 0 */
	bool		 recent;	/* used since the last fdcache_expire */
	bool		 map_bad;	/* its mapping faulted: not shared on */
	const void	*map;		/* read-only, shared; NULL: none yet */
	size_t		 maplen;
	uint32_t	 hash;
	uint64_t	 tick;		/* last use, for the LRU choice */
	dev_t		 dev;
	ino_t		 ino;
	mode_t		 mode;
	off_t		 size;
	struct timespec	 mtim;
	struct timespec	 ctim;
	char		 name[FDCACHE_NAME_MAX];
};

struct fdcache {
	struct fdcache_ent	ent[FDCACHE_SLOTS];
	uint64_t		tick;
	/* What the table saved and did not, for tests and tuning. */
	uint64_t		hits;
	uint64_t		misses;
	uint64_t		retired;
};

void	 fdcache_init(struct fdcache *c);

/*
 * A descriptor of rel beneath dirfd that running or recent transfers
 * share, if rel still names the file it was opened as (one more
 * reference, *size its size); -ENOENT when there is none to share.
 */
int	 fdcache_get(struct fdcache *c, int dirfd, const char *rel,
	    uint64_t *size);

/*
 * fd, just opened safely as rel beneath dirfd and described by st,
 * shared from now on with one reference.  -ENAMETOOLONG or -ENOSPC (the
 * table is full of descriptors in use): fd stays the caller's alone.
 */
int	 fdcache_add(struct fdcache *c, int dirfd, const char *rel, int fd,
	    const struct stat *st);

/*
 * A transfer is done with fd: true when fd is the table's (it is closed
 * here, if at all), false when it never was (the caller closes it).
 */
bool	 fdcache_put(struct fdcache *c, int fd);

/*
 * The mapping of the first len bytes of fd's file shared by all the
 * transfers holding fd's entry, made now if it has none (*map, *maplen:
 * the one made first, whatever len its maker asked).  -ENOENT: fd is
 * not the table's (the caller maps privately, if at all); -ESTALE: the
 * mapping was found faulting (read the file instead); -EINVAL: len is
 * more than the size the entry was opened with; mmap's -errno.  The
 * mapping stays until the entry is closed, after its last fdcache_put.
 */
int	 fdcache_map(struct fdcache *c, int fd, size_t len, const void **map,
	    size_t *maplen);

/*
 * A send from fd's shared mapping faulted (the file was truncated): no
 * transfer is given that mapping or descriptor again.  Those holding it
 * keep both until they end (their next reads find the file short).
 */
void	 fdcache_map_fault(struct fdcache *c, int fd);

/*
 * Close the descriptors nobody has used since the call before: run
 * every heartbeat, a file is held one to two heartbeats after its last
 * transfer.
 */
void	 fdcache_expire(struct fdcache *c);

/* Forget every file (a reload): in use ones close at their last put. */
void	 fdcache_flush(struct fdcache *c);

#endif /* FDCACHE_H */
