/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * The master: the only process that reads the configuration file.  It
 * takes its sockets (bound, or inherited from inetd or systemd), opens
 * the root, creates the runtime files, drops privileges, starts the
 * workers and then supervises them; it never touches TFTP traffic.  This
 * file holds its state, the startup sequence and the loop; the work is
 * done by
 *	listenfds.c	the mode and its sockets: bound, inetd's or systemd's
 *	runtime.c	runtime directory and files, daemonizing, readiness
 *	notify.c	sd_notify
 *	proc.c		the worker processes: start, reap, restart, drain
 *	logrelay.c	the workers' log pipes
 *	control.c	the control socket (tftpctl reload, set)
 *	reload.c	changes to the running configuration
 *
 * What the master does after its drop is a short, fixed list, so that
 * what a less privileged peer can make it do is easy to check:
 *	SIGCHLD		reap, respawn or give up on a slot
 *	SIGHUP		reload (also TFTP_CTL_RELOAD)
 *	SIGTERM/INT	drain, then exit
 *	TFTP_CTL_SET	change one live key
 *	log pipe	relay a worker's line
 *	tick		worker states and heartbeats, inetd idle exit
 * Anything a client sends that is not one well-formed request is refused.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "config.h"
#include "fdcache.h"
#include "log.h"
#include "loop.h"
#include "master.h"
#include "master_int.h"
#include "notify.h"
#include "privs.h"
#include "shm.h"
#include "tftp_ctl.h"
#include "tftp_shm.h"
#include "util.h"

#define TICK_MS			1000
#define DRAIN_GRACE_MS		5000	/* beyond drain_timeout */
#define MAX_EVENTS		32
/* A worker's descriptors besides its transfers': stdio, the log pipe,
 * the segment, roots, listen sockets, epoll, directory walks, and the
 * files its table of shared descriptors keeps open while idle. */
#define WORKER_BASE_FDS		(64 + FDCACHE_SLOTS)

static struct master	 M;
static volatile sig_atomic_t got_chld;

static void	 on_sigchld(int sig);
static void	 init(struct master *m, int argc, char *argv[],
		    const struct tftpd_config *cfg, const struct run_opts *run);
static int	 open_devnull(struct master *m);
static int	 open_log(struct master *m);
static int	 open_root(struct master *m);
static int	 raise_nofile(struct master *m);
static int	 drop_privileges(struct master *m);
static int	 setup_loop(struct master *m);
static void	 serve(struct master *m);
static void	 on_signals(struct master *m);
static void	 on_event(struct master *m, uint64_t data);
static void	 on_tick(struct master *m);
static void	 on_timer(struct master *m, struct mtimer *t);
static void	 cleanup(struct master *m);

/*
 * The startup sequence, in order.  Each step reports its own failure;
 * the first one that fails ends it, and the master exits 1.
 */
static int	(*const startup[])(struct master *) = {
	reload_map_start,	/* a bad remap file stops us before any bind */
	listen_detect_mode,	/* standalone, inetd or socket activation */
	open_devnull,
	open_log,		/* and sd_notify's socket */
	raise_nofile,		/* soft to hard; checked: max_transfers */
	listen_take_sockets,	/* bind them, or adopt the inherited ones */
	runtime_paths,		/* the instance's name and runtime files */
	open_root,
	runtime_dir_make,	/* as root */
	runtime_daemonize,	/* unless in the foreground */
	runtime_pidfile,
	ctl_open,		/* as root; none where AF_UNIX is refused */
	runtime_shm_create,	/* as root: not the service user's */
	runtime_remover,	/* as root: removes them when we are gone */
	drop_privileges,	/* from here on the service user, no caps */
	setup_loop,
	proc_start_all,
};
#define NSTARTUP	(sizeof(startup) / sizeof(startup[0]))

static void
on_sigchld(int sig)
{
	got_chld = 1;
}

static void
init(struct master *m, int argc, char *argv[], const struct tftpd_config *cfg,
    const struct run_opts *run)
{
	size_t	 i;

	memset(m, 0, sizeof(*m));
	m->argc = argc;
	m->argv = argv;
	m->run = run;
	m->cfg = *cfg;
	m->devnull = m->ctlfd = m->ready_fd = m->notify_fd = -1;
	m->remover_go = m->remover_done = -1;
	for (i = 0; i < CONFIG_MAX_ROOTS; i++)
		m->rootfds[i] = -1;
	for (i = 0; i < MAX_PROCS; i++)
		m->procs[i].logfd = -1;
	for (i = 0; i < MAX_CLIENTS; i++)
		m->clients[i].fd = -1;
	m->status = 1;
	m->owner_uid = geteuid();
	/* Until open_log(): stderr, marked for the journal if it is one. */
	(void)log_init(PROGNAME, LOG_TO_STDERR, cfg->log_level);
}

/* Standard input and output of the workers, and of the daemon. */
static int
open_devnull(struct master *m)
{
	int	 r;

	if ((m->devnull = open("/dev/null", O_RDWR | O_CLOEXEC | O_NOCTTY)) <
	    0) {
		r = -errno;
		startup_err(m, "/dev/null: %s", strerror(-r));
		return r;
	}
	return 0;
}

/* Syslog out of reach (no /dev/log, AF_UNIX refused): stderr, said once. */
static int
open_log(struct master *m)
{
	int	 r;

	if ((r = log_init(PROGNAME, m->cfg.log, m->cfg.log_level)) < 0)
		log_warnx("syslog unavailable (/dev/log: %s): logging to "
		    "stderr", strerror(-r));
	m->notify_fd = notify_open();
	return 0;
}

/*
 * The soft RLIMIT_NOFILE up to the hard one, for the master and the
 * workers it starts: a worker holds a socket and a file per transfer, and
 * a soft limit of 1024 (or an inetd's or a shell's 64) would refuse
 * transfers long before max_transfers.  What the hard limit still does
 * not allow is said once, with the numbers.
 */
static int
raise_nofile(struct master *m)
{
	struct rlimit	 rl;
	uint64_t	 need, per;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 0;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			log_debug("RLIMIT_NOFILE to %llu: %s",
			    (unsigned long long)rl.rlim_max, strerror(errno));
		(void)getrlimit(RLIMIT_NOFILE, &rl);
	}
	/* Single-port transfers share the listen socket: a file each. */
	per = m->cfg.single_port ? 1 : 2;
	need = WORKER_BASE_FDS + per * (uint64_t)m->cfg.max_transfers;
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need)
		log_warnx("open file limit %llu (hard %llu) is below the %llu "
		    "a worker needs for max_transfers = %u (buffer_pool_size "
		    "= %u): a worker runs at most about %llu transfers; raise "
		    "the hard limit (LimitNOFILE=, ulimit -Hn) or lower "
		    "max_transfers", (unsigned long long)rl.rlim_cur,
		    (unsigned long long)rl.rlim_max, (unsigned long long)need,
		    m->cfg.max_transfers, m->cfg.buffer_pool_size,
		    rl.rlim_cur > WORKER_BASE_FDS ? (unsigned long long)
		    ((rl.rlim_cur - WORKER_BASE_FDS) / per) : 0ULL);
	return 0;
}

/* The served trees, as descriptors every worker inherits. */
static int
open_root(struct master *m)
{
	const char	*dirs[CONFIG_MAX_ROOTS];
	size_t		 i, n;
	int		 r;

	n = config_roots(&m->cfg, dirs, CONFIG_MAX_ROOTS);
	for (i = 0; i < n; i++) {
		m->rootfds[i] = open(dirs[i], O_PATH | O_DIRECTORY |
		    O_CLOEXEC);
		if (m->rootfds[i] < 0) {
			r = -errno;
			startup_err(m, "cannot open root %s: %s", dirs[i],
			    strerror(-r));
			return r;
		}
	}
	return 0;
}

static int
drop_privileges(struct master *m)
{
	char	 why[256];

	if (privs_drop(m->cfg.user, why, sizeof(why)) < 0) {
		startup_err(m, "cannot drop privileges: %s", why);
		return -EPERM;
	}
	return 0;
}

/*
 * loop_init() blocks SIGTERM, SIGINT and SIGHUP outside the sleep;
 * SIGCHLD joins them here with its own flag.
 */
static int
setup_loop(struct master *m)
{
	struct sigaction	 sa;
	sigset_t		 set;
	size_t			 i;
	int			 r;

	if ((r = loop_init(&m->loop, 2 + TFTP_SHM_MAX_WORKERS +
	    MAX_CLIENTS)) < 0)
		goto fail;
	m->loop_ok = true;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigchld;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	if (sigaction(SIGCHLD, &sa, NULL) < 0 ||
	    sigprocmask(SIG_BLOCK, &set, NULL) < 0) {
		r = -errno;
		goto fail;
	}
	sigdelset(&m->loop.waitmask, SIGCHLD);

	m->tick.kind = T_TICK;
	m->tick.lt.arg = &m->tick;
	m->drain.kind = T_DRAIN;
	m->drain.lt.arg = &m->drain;
	for (i = 0; i < TFTP_SHM_MAX_WORKERS; i++) {
		m->slots[i].respawn.kind = T_RESPAWN;
		m->slots[i].respawn.idx = (uint32_t)i;
		m->slots[i].respawn.lt.arg = &m->slots[i].respawn;
	}
	for (i = 0; i < MAX_CLIENTS; i++) {
		m->clients[i].timer.kind = T_CLIENT;
		m->clients[i].timer.idx = (uint32_t)i;
		m->clients[i].timer.lt.arg = &m->clients[i].timer;
	}
	if ((m->ctlfd >= 0 &&
	    (r = loop_add(&m->loop, m->ctlfd, EPOLLIN, EV_CTL)) < 0) ||
	    (r = loop_timer_set(&m->loop, &m->tick.lt, time_now_ms() +
	    TICK_MS)) < 0)
		goto fail;
	return 0;

fail:
	startup_err(m, "event loop: %s", strerror(-r));
	return r;
}

/* Until stopped and every worker process is gone. */
static void
serve(struct master *m)
{
	struct epoll_event	 ev[MAX_EVENTS];
	struct loop_timer	*lt;
	int			 i, n;

	m->idle_since_ms = m->last_tick_ms = time_now_ms();
	while (!m->stopping || proc_live(m) > 0) {
		n = loop_wait(&m->loop, ev, MAX_EVENTS, time_now_ms());
		if (n < 0) {
			log_msg(LOG_ERR, "epoll_wait: %s: stopping",
			    strerror(-n));
			m->status = 1;
			proc_kill_all(m, SIGKILL);
			return;
		}
		on_signals(m);
		for (i = 0; i < n; i++)
			on_event(m, ev[i].data.u64);
		while ((lt = loop_timer_expired(&m->loop, time_now_ms())) !=
		    NULL)
			on_timer(m, lt->arg);
	}
}

/* What the loop caught: SIGHUP, SIGTERM, SIGINT; then SIGCHLD. */
static void
on_signals(struct master *m)
{
	char	 msg[TFTP_CTL_MSG_MAX];
	int	 sig;

	while ((sig = loop_signal()) != 0) {
		if (sig == SIGHUP) {
			if (m->stopping)
				continue;
			log_info("SIGHUP: reloading %s", m->config_path);
			(void)reload_config(m, msg, sizeof(msg));
			continue;
		}
		master_stop(m, sig == SIGTERM ? "SIGTERM" : "SIGINT",
		    SIGTERM);
	}
	if (got_chld) {
		got_chld = 0;
		if (proc_reap(m))
			master_stop(m, "no worker left", SIGTERM);
	}
}

static void
on_event(struct master *m, uint64_t data)
{
	switch (EV_KIND(data)) {
	case EV_CTL:
		ctl_accept(m);
		break;
	case EV_CLIENT:
		ctl_client_read(m, EV_INDEX(data));
		break;
	case EV_LOG:
		if (EV_INDEX(data) < MAX_PROCS)
			if (logrelay_read(m, &m->procs[EV_INDEX(data)],
			    false))
				proc_logged(m, &m->procs[EV_INDEX(data)]);
		break;
	}
}

/*
 * Once a second: worker states, their heartbeats, and in inetd mode the
 * idle exit.
 */
static void
on_tick(struct master *m)
{
	const struct tftp_shm_stats	*st;
	uint64_t			 now = time_now_ms(), active = 0;
	uint64_t			 requests = 0;
	uint32_t			 k;

	for (k = 0; k < m->nworkers; k++) {
		if ((st = shm_master_stats(&m->shm, k)) != NULL) {
			active += __atomic_load_n(&st->active_transfers,
			    __ATOMIC_RELAXED);
			requests += __atomic_load_n(
			    &st->counters[TFTP_SHM_C_RRQ], __ATOMIC_RELAXED) +
			    __atomic_load_n(&st->counters[TFTP_SHM_C_WRQ],
			    __ATOMIC_RELAXED);
		}
		proc_check_started(m, k, now);
		/*
		 * A tick this late means the master itself did not run
		 * (stopped, the machine suspended): the workers' silence
		 * says nothing then, and they get a tick to speak.
		 */
		if (now - m->last_tick_ms < 2 * TICK_MS)
			proc_check_stalled(m, k, now);
	}
	m->last_tick_ms = now;
	if (m->mode == MODE_INETD && m->cfg.idle_timeout != 0 &&
	    !m->stopping) {
		if (active != 0 || requests != m->last_requests) {
			m->last_requests = requests;
			m->idle_since_ms = now;
		} else if (now - m->idle_since_ms >=
		    (uint64_t)m->cfg.idle_timeout * 1000) {
			log_info("idle for %u s: exiting",
			    m->cfg.idle_timeout);
			/* Retire, not drain: a request arriving now stays
			 * queued for the server inetd starts next. */
			master_stop(m, NULL, SIGQUIT);
		}
	}
	(void)loop_timer_set(&m->loop, &m->tick.lt, now + TICK_MS);
}

/*
 * SIGTERM/SIGINT (or nothing left to run): no more commands, every
 * worker drains (sig SIGTERM: new requests refused, transfers finish; or
 * SIGQUIT: requests left unread), and what is still there after
 * drain_timeout + 5 s is killed.  A second signal kills at once.
 */
void
master_stop(struct master *m, const char *why, int sig)
{
	if (m->stopping) {
		if (why != NULL && !m->killed) {
			log_info("%s again: killing the workers", why);
			proc_kill_all(m, SIGKILL);
			m->killed = true;
		}
		return;
	}
	m->stopping = true;
	notify_send(m->notify_fd, "STOPPING=1");
	ctl_close(m);
	proc_drain(m, sig);
	if (proc_live(m) > 0)
		log_info("%s%sdraining %zu worker process%s (up to %u s)",
		    why != NULL ? why : "", why != NULL ? ": " : "",
		    proc_live(m), proc_live(m) == 1 ? "" : "es",
		    m->cfg.drain_timeout);
	(void)loop_timer_set(&m->loop, &m->drain.lt, time_now_ms() +
	    (uint64_t)m->cfg.drain_timeout * 1000 + DRAIN_GRACE_MS);
}

static void
on_timer(struct master *m, struct mtimer *t)
{
	switch (t->kind) {
	case T_TICK:
		on_tick(m);
		break;
	case T_RESPAWN:
		proc_respawn(m, t->idx);
		break;
	case T_CLIENT:
		ctl_client_timeout(m, t->idx);
		break;
	case T_DRAIN:
		/* drain_timeout + DRAIN_GRACE_MS after master_stop(). */
		if (proc_live(m) > 0 && !m->killed) {
			log_warnx("drain timeout: killing %zu worker "
			    "process%s", proc_live(m),
			    proc_live(m) == 1 ? "" : "es");
			proc_kill_all(m, SIGKILL);
			m->killed = true;
		}
		break;
	}
}

/* Whatever startup got as far as, undone. */
static void
cleanup(struct master *m)
{
	size_t	 i;

	ctl_close(m);
	for (i = 0; i < MAX_PROCS; i++)
		if (m->procs[i].logfd >= 0)
			logrelay_close(m, &m->procs[i]);
	runtime_remove(m);
	for (i = 0; m->fds != NULL && i < (size_t)m->nsets * m->naddr; i++)
		if (m->fds[i] >= 0)
			close(m->fds[i]);
	free(m->fds);
	m->fds = NULL;
	for (i = 0; i < CONFIG_MAX_ROOTS; i++) {
		if (m->rootfds[i] >= 0)
			close(m->rootfds[i]);
		m->rootfds[i] = -1;
	}
	if (m->devnull >= 0)
		close(m->devnull);
	m->devnull = -1;
	if (m->loop_ok) {
		loop_free(&m->loop);
		m->loop_ok = false;
	}
	if (m->ready_fd >= 0)
		close(m->ready_fd);
	if (m->notify_fd >= 0)
		close(m->notify_fd);
	m->ready_fd = m->notify_fd = -1;
	free(m->map);
	m->map = NULL;
}

int
master_main(int argc, char *argv[], const struct tftpd_config *cfg,
    const struct run_opts *run)
{
	struct master	*m = &M;
	size_t		 i;

	init(m, argc, argv, cfg, run);
	for (i = 0; i < NSTARTUP; i++)
		if (startup[i](m) < 0)
			break;
	if (i == NSTARTUP) {
		runtime_ready(m);
		m->status = 0;
		serve(m);
	}
	proc_collect(m);
	if (m->status == 0)
		log_info("stopped");
	cleanup(m);
	return m->status;
}
