/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * tftpctl's view of running instances: finding them in the runtime
 * directory (one NAME.shm per instance, its master alive), mapping a
 * segment read-only, and copying what the commands show out of it.  The
 * segment is untrusted input: every index is bounded by the counts
 * shm_view_open() validated and every string is copied with a bound.
 * Failures end the program through err()/errx(), status 1.
 */
#ifndef CTL_INSTANCE_H
#define CTL_INSTANCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "shm.h"
#include "tftp_shm.h"

/* An instance found in the runtime directory, its segment mapped. */
struct inst {
	char		 name[TFTP_SHM_NAME_MAX];
	struct shm_view	 v;
	int64_t		 pid;
};

/* A consistent-enough copy of everything "stats" and "workers" show. */
struct snap {
	int64_t				 master_pid;
	int64_t				 start_time;
	int64_t				 now;
	uint64_t			 generation;
	uint32_t			 nworkers;
	struct tftp_shm_worker_info	 info[TFTP_SHM_MAX_WORKERS];
	struct tftp_shm_stats		 stats[TFTP_SHM_MAX_WORKERS];
	/* "stats --reset": how often, when last, and what it kept. */
	uint64_t			 resets;
	int64_t				 reset_time;
	bool				 since_reset;	/* base taken off */
	struct tftp_shm_baseline	 base[TFTP_SHM_MAX_WORKERS];
};

/* One transfer-table entry of worker k, copied and checked. */
typedef void	(*session_fn)(uint32_t k, const struct tftp_shm_session *e,
		    void *arg);

/*
 * Every instance in rundir whose master is alive, sorted by name, their
 * segments mapped; the count.  *list is for free() after inst_close()
 * of each.
 */
size_t	 inst_discover(const char *rundir, struct inst **list);
/* Map the instance named name, or with NULL the only one running. */
void	 inst_open(const char *rundir, const char *name, struct inst *in);
/*
 * Whether rundir has the instance named name (its segment file), or with
 * NULL any running instance; a missing directory is false, quietly.
 */
bool	 inst_present(const char *rundir, const char *name);
/*
 * Whether dir may be trusted as the system's runtime directory by a user
 * who did not choose it: a directory (not a link) that only its owner can
 * write, in a parent that root owns and only root can write, so only root
 * made it or gave it away (to the service user).
 */
bool	 inst_system_dir(const char *dir);
/*
 * A user's tftpctl in its own default runtime directory (under /tmp,
 * where anyone may have made it first, or XDG_RUNTIME_DIR): the
 * directory must be a directory (not a link) of this user or root that
 * no one else can write to (unless sticky), and from then on a segment
 * file of anyone else is refused too.  Exits with a message naming the
 * owner otherwise; a missing directory is fine.
 */
void	 inst_require_owned(const char *rundir);
/* The instance's name alone (for the control socket), as inst_open(). */
void	 inst_pick(const char *rundir, const char *name, char *buf,
	    size_t len);
void	 inst_close(struct inst *in);
/* When the instance's master started (seconds since the epoch). */
int64_t	 inst_start_time(const struct inst *in);

void	 snap_take(const struct inst *in, struct snap *s);
/*
 * The counters, histograms and restarts since the last "stats --reset"
 * (the baseline subtracted); the gauges and the top-N tables stay.
 */
void	 snap_since_reset(struct snap *s);
/* Seconds worker k's process has run (0 when not running). */
int64_t	 snap_worker_uptime(const struct snap *s, uint32_t k);
/* Seconds since the master started (0 when unknown). */
int64_t	 snap_uptime(const struct snap *s);
/* Whether a worker in this state has a process. */
bool	 worker_live(uint32_t state);

/* Call fn for every transfer in progress, worker by worker. */
void	 inst_each_session(const struct inst *in, session_fn fn, void *arg);
/*
 * The published settings, checked as a worker checks them before use,
 * and their generation.
 */
void	 inst_settings(const struct inst *in, struct tftpd_config *cfg,
	    uint64_t *gen);

#endif /* CTL_INSTANCE_H */
