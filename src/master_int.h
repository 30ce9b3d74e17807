/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * The master's own header, shared by the files of the master process and
 * by nothing else: its state (struct master) and what each file offers
 * the others.  master.h is the one entry point for main().
 */
#ifndef MASTER_INT_H
#define MASTER_INT_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "log.h"
#include "loop.h"
#include "shm.h"
#include "tftp_shm.h"

#define PROGNAME		"snowowl-tftpd"

#define MAX_PROCS		(2 * TFTP_SHM_MAX_WORKERS) /* + retiring */
#define MAX_CLIENTS		8	/* control connections at once */

/* epoll data: the kind in the high half, an index in the low. */
#define EV_CTL			(UINT64_C(1) << 32)
#define EV_CLIENT		(UINT64_C(2) << 32)
#define EV_LOG			(UINT64_C(3) << 32)
#define EV_KIND(d)		((d) & ~UINT64_C(0xffffffff))
#define EV_INDEX(d)		((uint32_t)(d))

/* Where the sockets came from, which decides a few defaults. */
enum mode {
	MODE_STANDALONE,
	MODE_INETD,
	MODE_SYSTEMD,
};

enum timer_kind {
	T_TICK,
	T_RESPAWN,
	T_CLIENT,
	T_DRAIN,
};

struct mtimer {
	struct loop_timer	 lt;
	enum timer_kind		 kind;
	uint32_t		 idx;
};

/* A worker process: the current one of a slot, or a retiring one. */
struct proc {
	pid_t			 pid;		/* 0: entry free */
	uint32_t		 slot;
	bool			 retiring;	/* SIGQUIT sent: no respawn */
	uint32_t		 stalled_ms;	/* SIGKILLed after this long */
	int			 logfd;		/* pipe read end, or -1 */
	bool			 logskip;	/* rest of an overlong line */
	size_t			 loglen;
	char			 logbuf[LOG_LINE_MAX];
};

/* Worker k, whatever process currently fills it. */
struct slot {
	struct proc		*cur;		/* NULL: none running */
	uint32_t		 state;		/* enum tftp_shm_worker_state */
	uint64_t		 restarts;
	int32_t			 last_status;
	int64_t			 started_at;	/* CLOCK_REALTIME s */
	uint64_t		 started_ms;	/* time_now_ms() */
	uint32_t		 quick_deaths;	/* in a row, each young */
	uint64_t		 stalls;	/* killed for their silence */
	uint32_t		 last_stalled_ms;	/* the last exit's; 0 */
	struct mtimer		 respawn;
};

struct client {
	int			 fd;		/* -1: free */
	uid_t			 uid;
	bool			 may_control;	/* peer_may_control() */
	struct mtimer		 timer;
};

struct master {
	int			 argc;
	char			**argv;
	const struct run_opts	*run;		/* main()'s, for the startup */
	char			 config_path[PATH_MAX];
	struct tftpd_config	 cfg;		/* as published */
	/* The remap rules' text as published (NULL: none), and where a
	 * relative map_file is (the daemon leaves that directory). */
	char			*map;
	size_t			 maplen;
	char			 startdir[PATH_MAX];
	enum mode		 mode;
	uint32_t		 ninherited;	/* LISTEN_FDS */
	uint32_t		 nworkers;

	int			*fds;		/* fds[set * naddr + i] */
	size_t			 naddr;
	uint32_t		 nsets;		/* nworkers, or 1: shared */
	bool			 steered;	/* sock_steer() on */
	int			 rootfds[CONFIG_MAX_ROOTS];	/* cfg's */
	int			 devnull;

	char			 instance[CONFIG_INSTANCE_MAX];
	char			 rundir[PATH_MAX];
	char			 pidfile[PATH_MAX];
	char			 shmpath[PATH_MAX];
	char			 ctlpath[PATH_MAX];
	uid_t			 uid;		/* the service user (as root) */
	gid_t			 gid;
	/* Who may change settings besides root: the uid that started a
	 * master that is not root, and admin_group's members. */
	uid_t			 owner_uid;	/* 0: started as root */
	gid_t			 admin_gid;
	bool			 admin_group;	/* admin_gid is set */
	int			 remover_go;	/* runtime_remover, or -1 */
	int			 remover_done;
	bool			 pid_written;
	bool			 shm_created;
	struct shm_master	 shm;
	int			 ctlfd;
	struct client		 clients[MAX_CLIENTS];

	int			 notify_fd;	/* NOTIFY_SOCKET, or -1 */
	int			 ready_fd;	/* daemonize: to the parent */
	bool			 daemonized;

	struct loop		 loop;
	bool			 loop_ok;
	struct proc		 procs[MAX_PROCS];
	struct slot		 slots[TFTP_SHM_MAX_WORKERS];
	struct mtimer		 tick;
	struct mtimer		 drain;
	bool			 stopping;
	bool			 killed;
	int			 status;	/* exit status */

	uint64_t		 idle_since_ms;	/* inetd idle exit */
	uint64_t		 last_tick_ms;
	uint64_t		 last_requests;
};

/* master.c */
/*
 * SIGTERM/SIGINT (why), nothing left to run, or the inetd idle exit (why
 * NULL, sig SIGQUIT): stop; a second signal kills the workers.
 */
void		 master_stop(struct master *m, const char *why, int sig);

/* listenfds.c */
/*
 * Set m->mode from m->run and the environment, apply it to m->cfg, and
 * close every inherited descriptor but stdio and the sockets.  0.
 */
int		 listen_detect_mode(struct master *m);
/* What the mode implies for a configuration (also each one reloaded). */
void		 listen_mode_adjust(const struct master *m,
		    struct tftpd_config *c);
/* Adopt the inherited sockets or bind them; sets nworkers, fds, naddr,
 * nsets.  Reports its own failure. */
int		 listen_take_sockets(struct master *m);
/* Steer clients to workers iff a per-client limit is on: listenfds.c. */
void		 listen_steer(struct master *m, const struct tftpd_config *c);

/* runtime.c: each reports its own failure */
/* A startup failure: to the operator's terminal, and to the log. */
void		 startup_err(struct master *m, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));
/* The instance name and the absolute runtime paths. */
int		 runtime_paths(struct master *m);
/* As root: create or check the runtime directory (handed over later). */
int		 runtime_dir_make(struct master *m);
/* Unless foreground: fork, the parent waiting for runtime_ready(). */
int		 runtime_daemonize(struct master *m);
int		 runtime_pidfile(struct master *m);
/* As root: the process that removes the root-owned runtime files once
 * the master is gone, however it ends. */
int		 runtime_remover(struct master *m);
int		 runtime_shm_create(struct master *m);
void		 runtime_ready(struct master *m);
void		 runtime_remove(struct master *m);

/* proc.c */
/* Start worker 0..nworkers-1; reports its own failure. */
int		 proc_start_all(struct master *m);
/* SIGCHLD: reap every child that exited, respawn or give up on it. */
/* true when no worker is left to run (every one failed its setup). */
bool		 proc_reap(struct master *m);
void		 proc_logged(struct master *m, struct proc *p);
/* Start slot k again unless stopping, running or failed. */
void		 proc_respawn(struct master *m, uint32_t k);
/* A starting worker k counts as running once it read its settings. */
void		 proc_check_started(struct master *m, uint32_t k,
		    uint64_t now);
/*
 * Worker k's heartbeat silent for worker_stall_timeout (a stopped or
 * stuck process): SIGKILL, said at error priority; the reap restarts it.
 */
void		 proc_check_stalled(struct master *m, uint32_t k,
		    uint64_t now);
/* write.enable changed: a new process for every slot. */
void		 proc_roll(struct master *m);
void		 proc_drain(struct master *m, int sig);
void		 proc_kill_all(struct master *m, int sig);
/* Worker processes still alive, retiring ones included. */
size_t		 proc_live(const struct master *m);
void		 proc_collect(struct master *m);

/* logrelay.c */
void		 logrelay_open(struct master *m, struct proc *p, int fd);
/* Relay what p wrote: a bounded number of reads, or all when all. */
bool		 logrelay_read(struct master *m, struct proc *p, bool all);
void		 logrelay_close(struct master *m, struct proc *p);

/* control.c */
/* Create the socket, before the drop (mode 0600, or as root 0660 with
 * group root); reports its own failure. */
int		 ctl_open(struct master *m);
/* Close it and every connection, and remove the socket file. */
void		 ctl_close(struct master *m);
void		 ctl_accept(struct master *m);
/* Connection idx is readable: its request, answered. */
void		 ctl_client_read(struct master *m, uint32_t idx);
void		 ctl_client_timeout(struct master *m, uint32_t idx);

/* reload.c: 0 or -errno, with a message for the person who asked */
int		 reload_config(struct master *m, char *msg, size_t msglen);
int		 reload_set_key(struct master *m, const char *name,
		    const char *value, uid_t uid, char *msg, size_t msglen);
/* The first startup step: the remap rules of m->cfg read and checked. */
int		 reload_map_start(struct master *m);

#endif /* MASTER_INT_H */
