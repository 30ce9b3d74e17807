/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * The worker's table of shared read descriptors (fdcache.h says what it
 * guarantees and why its stat cannot open a way out of the root).  A
 * linear table: FDCACHE_SLOTS entries are scanned in less time than the
 * one openat2 a hit saves, and a hash of the name skips most strcmp.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fdcache.h"

static uint32_t		 name_hash(const char *s, size_t *len);
static struct fdcache_ent *find(struct fdcache *c, int dirfd,
			    const char *rel, uint32_t h);
static bool		 same_file(const struct fdcache_ent *e,
			    const struct stat *st);
static void		 drop(struct fdcache_ent *e);
static void		 retire(struct fdcache *c, struct fdcache_ent *e);
static struct fdcache_ent *by_fd(struct fdcache *c, int fd);

/* FNV-1a: only to skip most string compares. */
static uint32_t
name_hash(const char *s, size_t *len)
{
	uint32_t h = 2166136261u;
	size_t n;

	for (n = 0; s[n] != '\0'; n++)
		h = (h ^ (uint8_t)s[n]) * 16777619u;
	*len = n;
	return h;
}

static struct fdcache_ent *
find(struct fdcache *c, int dirfd, const char *rel, uint32_t h)
{
	struct fdcache_ent *e;
	size_t i;

	for (i = 0; i < FDCACHE_SLOTS; i++) {
		e = &c->ent[i];
		if (e->fd >= 0 && !e->stale && e->hash == h &&
		    e->dirfd == dirfd && strcmp(e->name, rel) == 0)
			return e;
	}
	return NULL;
}

/*
 * The name still means the file the descriptor was opened as.  The
 * inode cannot have been reused by another file: our descriptor keeps
 * it alive.  The times and size catch a file changed in place (then the
 * same inode is opened again, which costs one open and nothing else).
 */
static bool
same_file(const struct fdcache_ent *e, const struct stat *st)
{
	return st->st_dev == e->dev && st->st_ino == e->ino &&
	    st->st_mode == e->mode && st->st_size == e->size &&
	    st->st_mtim.tv_sec == e->mtim.tv_sec &&
	    st->st_mtim.tv_nsec == e->mtim.tv_nsec &&
	    st->st_ctim.tv_sec == e->ctim.tv_sec &&
	    st->st_ctim.tv_nsec == e->ctim.tv_nsec;
}

/* Only ever with no transfer holding it: nothing still sends from map. */
static void
drop(struct fdcache_ent *e)
{
	if (e->map != NULL)
		(void)munmap((void *)(uintptr_t)e->map, e->maplen);
	e->map = NULL;
	e->maplen = 0;
	e->map_bad = false;
	close(e->fd);
	e->fd = -1;
	e->refs = 0;
	e->stale = false;
}

static struct fdcache_ent *
by_fd(struct fdcache *c, int fd)
{
	size_t i;

	for (i = 0; i < FDCACHE_SLOTS; i++)
		if (c->ent[i].fd == fd && fd >= 0)
			return &c->ent[i];
	return NULL;
}

/* Never handed out again; closed now or when its last transfer ends. */
static void
retire(struct fdcache *c, struct fdcache_ent *e)
{
	c->retired++;
	if (e->refs == 0)
		drop(e);
	else
		e->stale = true;
}

void
fdcache_init(struct fdcache *c)
{
	size_t i;

	memset(c, 0, sizeof(*c));
	for (i = 0; i < FDCACHE_SLOTS; i++)
		c->ent[i].fd = -1;
}

int
fdcache_get(struct fdcache *c, int dirfd, const char *rel, uint64_t *size)
{
	struct fdcache_ent *e;
	struct stat st;
	size_t len;
	uint32_t h;

	h = name_hash(rel, &len);
	if (len >= FDCACHE_NAME_MAX || (e = find(c, dirfd, rel, h)) == NULL) {
		c->misses++;
		return -ENOENT;
	}
	/*
	 * The revalidation that makes a replaced file new to the next
	 * request: done for every request, as a rename can come at any
	 * time.  A final symlink is not followed, so a name that is one
	 * never matches and is always opened afresh.
	 */
	if (fstatat(dirfd, rel, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
	    !same_file(e, &st)) {
		retire(c, e);
		c->misses++;
		return -ENOENT;
	}
	e->refs++;
	e->tick = ++c->tick;
	e->recent = true;
	c->hits++;
	*size = (uint64_t)e->size;
	return e->fd;
}

int
fdcache_add(struct fdcache *c, int dirfd, const char *rel, int fd,
    const struct stat *st)
{
	struct fdcache_ent *e, *slot = NULL;
	size_t i, len;
	uint32_t h;

	h = name_hash(rel, &len);
	if (len >= FDCACHE_NAME_MAX)
		return -ENAMETOOLONG;
	/* One live entry per name: an older one is for an older file. */
	if ((e = find(c, dirfd, rel, h)) != NULL)
		retire(c, e);
	for (i = 0; i < FDCACHE_SLOTS; i++) {
		e = &c->ent[i];
		if (e->fd < 0) {
			slot = e;
			break;
		}
		/* Else the least recently used one nobody reads now. */
		if (e->refs == 0 && (slot == NULL || e->tick < slot->tick))
			slot = e;
	}
	if (slot == NULL)
		return -ENOSPC;
	if (slot->fd >= 0)
		drop(slot);
	slot->fd = fd;
	slot->dirfd = dirfd;
	slot->refs = 1;
	slot->stale = false;
	slot->recent = true;
	slot->hash = h;
	slot->tick = ++c->tick;
	slot->dev = st->st_dev;
	slot->ino = st->st_ino;
	slot->mode = st->st_mode;
	slot->size = st->st_size;
	slot->mtim = st->st_mtim;
	slot->ctim = st->st_ctim;
	memcpy(slot->name, rel, len + 1);
	return 0;
}

int
fdcache_map(struct fdcache *c, int fd, size_t len, const void **map,
    size_t *maplen)
{
	struct fdcache_ent *e;
	void *p;

	if ((e = by_fd(c, fd)) == NULL)
		return -ENOENT;
	if (e->map_bad)
		return -ESTALE;
	if (e->map == NULL) {
		/*
		 * The size it was opened with is what every holder
		 * announced: past it, no holder sends.
		 */
		if (len == 0 || (uint64_t)len > (uint64_t)e->size)
			return -EINVAL;
		p = mmap(NULL, len, PROT_READ, MAP_SHARED, e->fd, 0);
		if (p == MAP_FAILED)
			return -errno;
		e->map = p;
		e->maplen = len;
	}
	*map = e->map;
	*maplen = e->maplen;
	return 0;
}

void
fdcache_map_fault(struct fdcache *c, int fd)
{
	struct fdcache_ent *e;

	if ((e = by_fd(c, fd)) == NULL)
		return;
	e->map_bad = true;
	if (!e->stale)
		retire(c, e);
}

bool
fdcache_put(struct fdcache *c, int fd)
{
	struct fdcache_ent *e;

	if ((e = by_fd(c, fd)) == NULL)
		return false;
	if (e->refs > 0)
		e->refs--;
	e->recent = true;
	if (e->stale && e->refs == 0)
		drop(e);
	return true;
}

void
fdcache_expire(struct fdcache *c)
{
	struct fdcache_ent *e;
	size_t i;

	for (i = 0; i < FDCACHE_SLOTS; i++) {
		e = &c->ent[i];
		if (e->fd < 0 || e->refs > 0)
			continue;
		if (e->recent)
			e->recent = false;
		else
			drop(e);
	}
}

void
fdcache_flush(struct fdcache *c)
{
	size_t i;

	for (i = 0; i < FDCACHE_SLOTS; i++)
		if (c->ent[i].fd >= 0 && !c->ent[i].stale)
			retire(c, &c->ent[i]);
}
