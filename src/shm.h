/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * The shared-memory segment (include/tftp_shm.h): creation and publishing
 * by the master, attachment by a worker, read-only views for tftpctl.
 * Non-logging: 0 / -errno, with a reason string where a person needs one.
 */
#ifndef SHM_H
#define SHM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "tftp_shm.h"

/* Largest transfer table per worker a reader accepts (max_transfers). */
#define SHM_MAX_SESSIONS	65536

/* The master's handle: the whole segment mapped read-write. */
struct shm_master {
	int			 fd;		/* O_RDWR, CLOEXEC */
	int			 ro_fd;		/* O_RDONLY on the same file */
	/* O_RDWR on the same file for the workers: an open file of its own,
	 * so they never hold fd's lock, which must die with the master. */
	int			 wfd;
	void			*base;
	size_t			 size;
	struct tftp_shm_header	*hdr;
	struct tftp_shm_control	*ctl;
	char			 path[PATH_MAX];
};

/* A worker's handle: everything read-only, its own region writable. */
struct shm_worker {
	const void			*base;
	size_t				 size;
	const struct tftp_shm_header	*hdr;
	const struct tftp_shm_control	*ctl;
	struct tftp_shm_stats		*stats;
	struct tftp_shm_session		*sessions;
	uint32_t			 nsessions;
	uint32_t			 index;
	void				*region;	/* the writable mapping */
	size_t				 region_size;
	uint32_t			 next_free;	/* search hint */
};

/* A read-only view (tftpctl), validated against the file's size. */
struct shm_view {
	const void			*base;
	size_t				 size;
	const struct tftp_shm_header	*hdr;
	const struct tftp_shm_control	*ctl;
	/* Validated copies: the accessors never re-read the header. */
	uint32_t			 nworkers;
	uint32_t			 nsessions;	/* per worker */
	uint64_t			 workers_off;
	uint64_t			 stride;
	uid_t				 owner;		/* the file's */
};

/*
 * Master: create PATH (mode 0644; a stale file whose master is gone is
 * replaced, a live one is -EADDRINUSE), size it for nworkers regions of
 * sessions_per_worker entries, map it, fill the header and publish cfg as
 * generation 1.  fd carries flock(LOCK_EX) for the master's life (a
 * descriptor passed to a child shares it): that lock, or a valid header
 * whose master_pid exists, is what makes a file "live".  Create after
 * daemonizing, so master_pid names the process that stays.
 */
int	 shm_create(struct shm_master *m, const char *path,
	    const char *instance, uint32_t nworkers,
	    uint32_t sessions_per_worker, const struct tftpd_config *cfg);
/*
 * Publish a new configuration under the seqlock, as the segment's own
 * settings (struct tftp_shm_settings), with the remap rules' text
 * map[0..maplen) (NULL: none), whose own generation moves only when the
 * text changed; returns the generation, or 0 (nothing published) when
 * maplen exceeds TFTP_SHM_MAP_MAX.
 */
uint64_t shm_publish(struct shm_master *m, const struct tftpd_config *cfg,
	    const char *map, size_t maplen);
/* Master-side bookkeeping of worker k (shown by "tftpctl workers"). */
void	 shm_set_worker(struct shm_master *m, uint32_t k, int64_t pid,
	    uint32_t state, int32_t last_status, uint64_t restarts,
	    int64_t started_at);
/* Its stall count, and how long the last one (if its last exit was a
 * stall's kill; else 0) had been silent. */
void	 shm_set_worker_stalls(struct shm_master *m, uint32_t k,
	    uint64_t stalls, uint32_t last_stalled_ms);
/* A respawned worker k starts from a clean region (counters are kept:
 * only the transfer table and the gauges are cleared). */
void	 shm_reset_worker_region(struct shm_master *m, uint32_t k);
/* Worker k's statistics slot, for the master to read (worker states, idle
 * exit); NULL when k >= the segment's worker count. */
const struct tftp_shm_stats *shm_master_stats(const struct shm_master *m,
	    uint32_t k);
/*
 * "tftpctl stats --reset": every worker's counters and histograms (and
 * the master's restart counts) as they are now become the baseline
 * tftpctl subtracts; the count of resets goes up and reset_time is now
 * (CLOCK_REALTIME, seconds).  Under the resets' own seqlock.
 */
void	 shm_stats_reset(struct shm_master *m, int64_t now);
/* Unmap, close, and unlink the file. */
void	 shm_destroy(struct shm_master *m);

/*
 * Worker: map the whole segment read-only from ro_fd and region `index`
 * read-write from rw_fd, validating the header first.  The caller closes
 * both descriptors afterwards; nothing then can make the rest writable.
 */
int	 shm_worker_attach(struct shm_worker *w, int ro_fd, int rw_fd,
	    uint32_t index);

/*
 * Copy the published settings out under the seqlock and convert them
 * back to a configuration (bounded retries: -EAGAIN if the master kept
 * writing, or was stopped mid-write for more than a few milliseconds: try
 * again later).  The result is not yet validated: the caller runs
 * config_validate() on it.
 */
int	 shm_read_config(const struct tftp_shm_control *ctl,
	    struct tftpd_config *out, uint64_t *generation);
/*
 * The remap rules' text, under the same seqlock: 1 when the map's
 * generation is still have (nothing copied), 0 with the text in
 * buf[0..*len) and its generation in *mapgen, -EINVAL when it does not
 * fit cap, -EAGAIN as shm_read_config().  The text is not NUL-terminated
 * and not yet validated (remap_parse() does that).
 */
int	 shm_read_map(const struct tftp_shm_control *ctl, uint64_t have,
	    char *buf, size_t cap, size_t *len, uint64_t *mapgen);
/* The generation currently published (a cheap check per loop turn). */
uint64_t shm_generation(const struct tftp_shm_control *ctl);

/* tftpctl: map PATH read-only and validate every size and offset. */
int	 shm_view_open(struct shm_view *v, const char *path, char *why,
	    size_t whylen);
void	 shm_view_close(struct shm_view *v);
/* NULL when k >= the validated worker count. */
const struct tftp_shm_stats *shm_view_stats(const struct shm_view *v,
	    uint32_t k);
const struct tftp_shm_session *shm_view_sessions(const struct shm_view *v,
	    uint32_t k, uint32_t *n);
/* Worker k's master-side entry, each field loaded atomically; false if
 * k is out of range. */
bool	 shm_view_worker_info(const struct shm_view *v, uint32_t k,
	    struct tftp_shm_worker_info *out);
/*
 * The baselines of the first nworkers workers, the count of resets and
 * the last one's time, under their seqlock: 0, or -EAGAIN as
 * shm_read_config().
 */
int	 shm_read_resets(const struct tftp_shm_control *ctl,
	    uint32_t nworkers, uint64_t *resets, int64_t *reset_time,
	    struct tftp_shm_baseline *base);
/* A tear-free copy of a statistics slot (each 64-bit field atomically,
 * each top-N entry under its seqlock). */
void	 shm_stats_read(const struct tftp_shm_stats *s,
	    struct tftp_shm_stats *out);
/* Copy one transfer-table entry under its seqlock; false if free/busy.
 * The copy's strings are NUL-terminated. */
bool	 shm_session_read(const struct tftp_shm_session *s,
	    struct tftp_shm_session *out);

/* The counter names of TFTP_SHM_COUNTERS, indexed by the enum. */
const char *shm_counter_name(enum tftp_shm_counter c);

/* Single-writer counter updates: relaxed atomics keep readers tear-free. */
static inline void
shm_count(struct tftp_shm_stats *s, enum tftp_shm_counter c, uint64_t n)
{
	__atomic_store_n(&s->counters[c],
	    __atomic_load_n(&s->counters[c], __ATOMIC_RELAXED) + n,
	    __ATOMIC_RELAXED);
}

static inline void
shm_gauge(uint64_t *g, uint64_t v)
{
	__atomic_store_n(g, v, __ATOMIC_RELAXED);
}

/*
 * Worker: the transfer table.  begin returns the entry index (or -ENOSPC
 * when the table is full: the transfer still runs, it is just not listed),
 * progress updates the byte count, end frees the entry.
 */
int	 shm_session_begin(struct shm_worker *w, int dir, int family,
	    const void *addr, uint16_t port, const char *file,
	    const char *options, uint64_t size, int64_t started_ms);
void	 shm_session_progress(struct shm_worker *w, int idx, uint64_t bytes);
void	 shm_session_end(struct shm_worker *w, int idx);

#endif /* SHM_H */
