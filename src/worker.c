/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * The worker process: started by the master (fork+exec, the descriptors of
 * worker.h at fixed numbers), it takes its settings from shared memory,
 * enters its sandbox and runs the event loop.  This file is the loop and
 * what surrounds it: setup, live settings (checked once per turn, before
 * any request), signals, the drain and the retirement.  The data path is
 * in the files worker_int.h lists.  Memory is allocated at start and when
 * the operator raises max_transfers, never per request, so a flood of
 * clients meets "Server busy".
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "loop.h"
#include "sandbox.h"
#include "shm.h"
#include "util.h"
#include "worker.h"
#include "worker_int.h"
#include "xfer.h"

#define PROGNAME	"snowowl-tftpd"
#define MAX_EVENTS	64
#define RESTART_GRACE_MAX_MS	60000	/* see restart_grace() */

static int	 check_fds(uint32_t nfds, char *why, size_t whylen);
static int	 check_roots(struct worker *w, uint32_t nfds, char *why,
		    size_t whylen);
static int	 worker_alloc(struct worker *w);
static void	 worker_dealloc(struct worker *w);
static int	 serve(struct worker *w);
static void	 on_signals(struct worker *w);
static void	 on_transfers(struct worker *w, const struct epoll_event *ev,
		    int nev);
static void	 on_listeners(struct worker *w, const struct epoll_event *ev,
		    int nev);
static int	 on_timers(struct worker *w);
static void	 config_check(struct worker *w);
static uint32_t	 share(uint32_t max, uint32_t n, uint32_t k);
static void	 config_apply(struct worker *w, struct tftpd_config *c,
		    uint64_t gen);
static void	 end_dallies(struct worker *w);
static void	 end_all(struct worker *w, const char *msg, int result);
static void	 restart_grace(struct worker *w);
static void	 log_stats(struct worker *w);
static void	 heartbeat(struct worker *w, uint64_t now);

/*
 * Every line this process logs goes to the master over fd 2, which
 * prefixes it with "worker K: ".
 */
int
worker_main(uint32_t index, uint32_t nfds)
{
	static struct worker wk;
	struct worker *w = &wk;
	char why[CONFIG_ERR_MAX], comm[16];
	uint64_t gen;
	size_t i;
	int r, status = WORKER_EXIT_SETUP;

	log_init(PROGNAME, LOG_TO_PIPE, LOG_INFO);
	/*
	 * The exec of /proc/self/exe named us "exe" for top and pgrep; at
	 * most 15 bytes, so "tftpd-worker255" fits.  Before the sandbox,
	 * which has no prctl(); a failure costs only the name.
	 */
	snprintf(comm, sizeof(comm), "tftpd-worker%u", index);
	(void)prctl(PR_SET_NAME, comm, 0, 0, 0);
	w->index = index;
	w->rootfd = WORKER_FD_ROOT;
	/*
	 * Signals first: one the master sent since the fork (it keeps them
	 * blocked across the exec) waits for the loop, which acts on it.
	 */
	if ((r = loop_init(&w->loop, WORKER_TIMERS)) < 0) {
		log_warnx("event loop: %s", strerror(-r));
		return WORKER_EXIT_SETUP;
	}
	w->loop_ok = true;
	if ((r = loop_catch(&w->loop, SIGQUIT)) < 0) {
		log_warnx("SIGQUIT: %s", strerror(-r));
		goto out;
	}
	w->drain_timer.arg = &w->drain_timer;
	w->hb_timer.arg = &w->hb_timer;
	tx_unverified_init(w);
	fdcache_init(&w->fc);

	if ((r = check_fds(nfds, why, sizeof(why))) < 0) {
		log_warnx("%s", why);
		goto out;
	}
	r = shm_worker_attach(&w->shm, WORKER_FD_SHM_RO, WORKER_FD_SHM_RW,
	    index);
	close(WORKER_FD_SHM_RO);
	close(WORKER_FD_SHM_RW);
	if (r < 0) {
		log_warnx("shared memory region %" PRIu32 ": %s", index,
		    strerror(-r));
		goto out;
	}
	w->st = w->shm.stats;
	/* From here on the master hears that this process is alive. */
	heartbeat(w, time_now_ms());
	/*
	 * -EAGAIN only means the master was descheduled in the middle of a
	 * publish; exiting would mark the slot failed for good, so wait a
	 * little (still unsandboxed here, so sleeping is allowed).
	 */
	for (i = 0; (r = shm_read_config(w->shm.ctl, &w->cfg, &gen)) ==
	    -EAGAIN && i < 100; i++)
		(void)nanosleep(&(struct timespec){ .tv_nsec = 10000000 },
		    NULL);
	if (r < 0) {
		log_warnx("cannot read the settings: %s", strerror(-r));
		goto out;
	}
	if (config_validate(&w->cfg, why, sizeof(why)) < 0) {
		log_warnx("invalid settings in shared memory: %s", why);
		goto out;
	}
	/* Without the rules asked for, no request is served at all. */
	for (i = 0; (r = wremap_update(w)) == -EAGAIN && i < 100; i++)
		(void)nanosleep(&(struct timespec){ .tv_nsec = 10000000 },
		    NULL);
	if (r < 0) {
		log_warnx("cannot read the remap rules: %s", strerror(-r));
		goto out;
	}
	if ((r = check_roots(w, nfds, why, sizeof(why))) < 0) {
		log_warnx("%s", why);
		goto out;
	}
	/* Landlock fixes this for the life of the process. */
	w->can_write = w->cfg.write_enable;
	w->tp = w->cfg.single_port ? &single_transport : &conn_transport;
	if ((r = worker_alloc(w)) < 0) {
		log_warnx("cannot allocate the tables: %s", strerror(-r));
		goto out;
	}
	config_apply(w, &w->cfg, gen);
	restart_grace(w);
	if (listener_start(w, nfds) < 0)
		goto out;

	if ((r = sandbox_apply(w->rootfds, w->nroot, w->can_write, why,
	    sizeof(why))) < 0) {
		log_warnx("sandbox: %s", why);
		goto out;
	}
	/* Said once per server rather than once per worker. */
	if (index == 0 && sandbox_landlock_abi() == 0)
		log_warnx("this kernel has no Landlock: workers are confined "
		    "by seccomp and by resolving beneath the root only");
	log_info("ready (pid %ld, %s)", (long)getpid(), sandbox_describe());

	log_hold(true);
	status = serve(w) == 0 ? 0 : 1;
	/* What the limiter held back is told before the process goes. */
	wlog_flush(w, time_now_ms(), true);
	/* (A retired worker's slot counts its replacement's work too.) */
	if (w->mode != W_RETIRE)
		log_stats(w);
	log_hold(false);
out:
	if (w->loop_ok)
		loop_free(&w->loop);
	worker_dealloc(w);
	wremap_free(w);
	return status;
}

/* The inherited descriptors are what the contract says they are. */
static int
check_fds(uint32_t nfds, char *why, size_t whylen)
{
	struct stat st;
	socklen_t len;
	uint32_t i;
	int type, domain;

	if (nfds < 1 || nfds > WORKER_MAX_LISTEN) {
		snprintf(why, whylen, "%" PRIu32 " listen sockets (1..%d)",
		    nfds, WORKER_MAX_LISTEN);
		return -EINVAL;
	}
	if (fstat(WORKER_FD_ROOT, &st) < 0 || !S_ISDIR(st.st_mode)) {
		snprintf(why, whylen, "descriptor %d is not the root directory",
		    WORKER_FD_ROOT);
		return -EBADF;
	}
	for (i = 0; i < nfds; i++) {
		len = sizeof(type);
		if (getsockopt(WORKER_FD_LISTEN + (int)i, SOL_SOCKET, SO_TYPE,
		    &type, &len) < 0 || type != SOCK_DGRAM ||
		    getsockopt(WORKER_FD_LISTEN + (int)i, SOL_SOCKET,
		    SO_DOMAIN, &domain, &len) < 0 ||
		    (domain != AF_INET && domain != AF_INET6)) {
			snprintf(why, whylen, "descriptor %d is not a UDP "
			    "socket", WORKER_FD_LISTEN + (int)i);
			return -EBADF;
		}
	}
	return 0;
}

/* The further roots, after the sockets: as many as the settings name. */
static int
check_roots(struct worker *w, uint32_t nfds, char *why, size_t whylen)
{
	struct stat st;
	uint32_t i;

	w->rootfds[0] = WORKER_FD_ROOT;
	w->nroot = w->cfg.nroot;
	for (i = 1; i < w->nroot; i++) {
		w->rootfds[i] = WORKER_FD_ROOT2(nfds) + (int)i - 1;
		if (fstat(w->rootfds[i], &st) < 0 || !S_ISDIR(st.st_mode)) {
			snprintf(why, whylen, "descriptor %d is not root "
			    "directory %" PRIu32, w->rootfds[i], i + 1);
			return -EBADF;
		}
	}
	return 0;
}

/*
 * Everything the worker will use, by the settings it starts with.  The
 * packet buffers are sized for the largest block any setting may allow,
 * since max_blksize can be raised while the worker runs.
 */
static int
worker_alloc(struct worker *w)
{
	int r;

	w->sbufsz = TFTP_HDR_LEN + TFTP_BLKSIZE_MAX;
	if ((w->sbuf = malloc(w->sbufsz)) == NULL)
		return -ENOMEM;
	window_init(w);
	if ((r = pool_init(w)) < 0 || (r = listener_alloc(w)) < 0 ||
	    (r = tx_peers_init(w)) < 0 || (r = w->tp->init(w)) < 0)
		return r;
	return tx_reserve(w, w->cfg.max_transfers);
}

/* After a failed worker_alloc() too. */
static void
worker_dealloc(struct worker *w)
{
	tx_free(w);
	listener_free(w);
	if (w->tp != NULL)
		w->tp->fini(w);
	free(w->sbuf);
}

/* The loop.  0 once drained or retired, 1 if epoll itself failed. */
static int
serve(struct worker *w)
{
	struct epoll_event ev[MAX_EVENTS];
	int nev;

	for (;;) {
		if (w->mode != W_RUN && w->active == 0)
			return 0;
		/* The turn's log lines, in one write, before sleeping. */
		log_flush();
		nev = loop_wait(&w->loop, ev, MAX_EVENTS, time_now_ms());
		if (nev < 0) {
			log_warnx("epoll_wait: %s", strerror(-nev));
			return 1;
		}
		on_signals(w);
		if (w->mode != W_RUN && w->active == 0)
			return 0;
		config_check(w);
		/*
		 * Two passes: the transfers' packets first, so that final
		 * ACKs free their slots and buffers before the requests of
		 * the same turn (a client that fetched one file asks for the
		 * next at once) are admitted; then the listen sockets.
		 */
		on_transfers(w, ev, nev);
		on_listeners(w, ev, nev);
		if (on_timers(w) < 0)
			return 0;
		/* The turn's sends, gathered across transfers: go. */
		w->tp->flush(w);
	}
}

/*
 * SIGTERM and SIGINT drain: requests keep being read and are refused
 * with "Server shutting down", running transfers finish, for at most
 * drain_timeout seconds.  SIGQUIT retires: the listen sockets are left
 * alone and the transfers finish.  SIGHUP is the master's business.
 */
static void
on_signals(struct worker *w)
{
	uint32_t secs = w->cfg.drain_timeout;
	int sig;

	while ((sig = loop_signal()) != 0) {
		switch (sig) {
		case SIGTERM:
		case SIGINT:
			if (w->mode == W_DRAIN)
				break;
			w->mode = W_DRAIN;
			end_dallies(w);
			log_info("%s: draining %" PRIu32 " transfers (at most "
			    "%" PRIu32 " s)", sig == SIGTERM ? "SIGTERM" :
			    "SIGINT", w->active, secs);
			(void)loop_timer_set(&w->loop, &w->drain_timer,
			    time_now_ms() + (uint64_t)secs * 1000 + 1);
			break;
		case SIGQUIT:
			if (w->mode != W_RUN)
				break;
			log_info("SIGQUIT: retiring, %" PRIu32 " transfers "
			    "to finish", w->active);
			w->mode = W_RETIRE;
			listener_stop(w);
			if (w->tp->retire_ends_all && w->active > 0)
				end_all(w, "Server restarting", -ESHUTDOWN);
			break;
		default:
			log_debug("signal %d ignored", sig);
			break;
		}
	}
}

/* Events on the transfers' own sockets (connected-socket transport). */
static void
on_transfers(struct worker *w, const struct epoll_event *ev, int nev)
{
	struct transfer *t;
	uint64_t data;
	uint32_t gen;
	int i;

	for (i = 0; i < nev; i++) {
		data = ev[i].data.u64;
		if (data & EV_LISTEN)
			continue;
		gen = (uint32_t)(data >> 32);
		t = tx_at(w, (uint32_t)data);
		if (t == NULL || !t->used || t->gen != gen)
			continue;
		w->tp->event(w, t, ev[i].events);
	}
}

/* Events on the listen sockets, unless retiring stopped listening. */
static void
on_listeners(struct worker *w, const struct epoll_event *ev, int nev)
{
	uint64_t data;
	int i;

	for (i = 0; i < nev && w->listening; i++) {
		data = ev[i].data.u64;
		if (!(data & EV_LISTEN))
			continue;
		if (ev[i].events & (EPOLLIN | EPOLLERR))
			listener_readable(w, &w->lis[data & ~EV_LISTEN]);
		if (ev[i].events & EPOLLOUT)
			w->tp->listen_writable(w,
			    (uint8_t)(data & ~EV_LISTEN));
	}
}

/*
 * The timers due: retransmissions, give-ups, ends of dallies.  -ETIME
 * when it was the drain's, which ends every transfer still running.
 */
static int
on_timers(struct worker *w)
{
	struct loop_timer *lt;

	while ((lt = loop_timer_expired(&w->loop, time_now_ms()))) {
		if (lt == &w->hb_timer) {
			wlog_flush(w, time_now_ms(), false);
			heartbeat(w, time_now_ms());
			/* A file nobody read for a heartbeat is closed. */
			fdcache_expire(&w->fc);
			continue;
		}
		if (lt != &w->drain_timer) {
			transfer_timeout(w, lt->arg);
			continue;
		}
		if (w->active > 0) {
			log_info("drain timeout: ending %" PRIu32
			    " transfers", w->active);
			end_all(w, "Server shutting down", -ESHUTDOWN);
		}
		return -ETIME;
	}
	return 0;
}

/*
 * Once per loop turn, before any request is handled: has the master
 * published new settings?  An invalid copy is reported once and the
 * settings in use stay; a copy torn by a master still writing is simply
 * read again next turn.
 */
static void
config_check(struct worker *w)
{
	char err[CONFIG_ERR_MAX];
	uint64_t gen;

	gen = shm_generation(w->shm.ctl);
	if (gen == w->seen)
		return;
	if (shm_read_config(w->shm.ctl, &w->next, &gen) < 0)
		return;
	/* Published with the settings; torn, both are read next turn. */
	if (wremap_update(w) == -EAGAIN)
		return;
	w->seen = gen;
	if (gen == w->gen)
		return;
	if (config_validate(&w->next, err, sizeof(err)) < 0) {
		log_warnx("configuration %" PRIu64 " is invalid, keeping %"
		    PRIu64 ": %s", gen, w->gen, err);
		return;
	}
	config_apply(w, &w->next, gen);
	log_info("configuration %" PRIu64 " applied to new transfers", gen);
}

/*
 * max_transfers is the server's total: worker k of n runs at most its
 * share, the shares adding up to max exactly (README, Design: the
 * limits).  A share of 0 (max_transfers below workers) refuses all.
 */
static uint32_t
share(uint32_t max, uint32_t n, uint32_t k)
{
	if (n == 0 || k >= n)
		return max;
	return max / n + (k < max % n ? 1 : 0);
}

/*
 * Make c (validated) the settings of new transfers.  Running transfers
 * copied what they need at their start and keep it.  The sandbox fixed
 * at start whether this process may write: if uploads were turned on
 * since, they stay off here until the master has replaced this worker.
 */
static void
config_apply(struct worker *w, struct tftpd_config *c, uint64_t gen)
{
	uint32_t want = c->max_transfers > 0 ? c->max_transfers : 1;
	int r;

	if (c->write_enable && !w->can_write) {
		log_info("configuration %" PRIu64 ": uploads stay disabled in "
		    "this worker until it is replaced", gen);
		c->write_enable = false;
	}
	/*
	 * The shared descriptors were opened under the old settings
	 * (follow_symlinks, permissive, the roots): new transfers open
	 * afresh under the new ones.
	 */
	fdcache_flush(&w->fc);
	if (want > w->ntx && (r = tx_reserve(w, want)) < 0)
		log_warnx("configuration %" PRIu64 ": room for only %" PRIu32
		    " of max_transfers %" PRIu32 ": %s", gen, w->ntx, want,
		    strerror(-r));
	w->limit = share(want, w->shm.hdr->nworkers, w->index);
	if (w->limit > w->ntx)
		w->limit = w->ntx;
	/*
	 * The unverified bytes' budget is the server's too, shared out
	 * the same way; a share never rounds down to 0 (off), and a burst
	 * always holds the largest packet, or it could never be sent.
	 */
	w->unv_rate = share(c->unverified_bytes_rate, w->shm.hdr->nworkers,
	    w->index);
	if (c->unverified_bytes_rate != 0 && w->unv_rate == 0)
		w->unv_rate = 1;
	w->unv_burst = share(c->unverified_bytes_burst, w->shm.hdr->nworkers,
	    w->index);
	if (w->unv_burst < CONFIG_MIN_UNVERIFIED_BURST)
		w->unv_burst = CONFIG_MIN_UNVERIFIED_BURST;
	log_setlevel(c->log_level);
	if (c != &w->cfg)
		memcpy(&w->cfg, c, sizeof(w->cfg));
	w->gen = w->seen = gen;
	if (w->mode != W_RETIRE)
		shm_gauge(&w->st->generation, gen);
	tx_gauges(w);
}

/* Draining: uploads that only dally are complete; they end now. */
static void
end_dallies(struct worker *w)
{
	struct transfer *t;
	uint32_t i;

	for (i = 0; i < w->ntx; i++) {
		t = tx_at(w, i);
		if (t->used && xfer_dallying(&t->x))
			transfer_finish(w, t, 0, 0, NULL);
	}
}

/*
 * Every transfer ends now (the drain timed out; or a single-port worker
 * retires, whose clients' packets the replacement will read): a
 * dallying upload is complete, any other gets ERROR 0 msg and an upload
 * leaves no temporary behind.
 */
static void
end_all(struct worker *w, const char *msg, int result)
{
	struct transfer *t;
	uint32_t i;

	for (i = 0; i < w->ntx; i++) {
		t = tx_at(w, i);
		if (!t->used)
			continue;
		if (xfer_dallying(&t->x))
			transfer_finish(w, t, 0, 0, NULL);
		else
			transfer_fail(w, t, TFTP_EUNDEF, msg, result);
	}
	w->tp->flush(w);
}

/*
 * A single-port worker whose slot already received packets replaces one
 * (a roll, a restart): that one's transfers ended with "Server
 * restarting", and their clients' packets still in flight, or sent
 * before the ERROR arrived, reach this worker.  For as long as the old
 * transfers could still retransmit, such a packet gets the same answer.
 */
static void
restart_grace(struct worker *w)
{
	uint64_t ms;

	if (!w->tp->retire_ends_all || __atomic_load_n(
	    &w->st->counters[TFTP_SHM_C_PACKETS_RECEIVED],
	    __ATOMIC_RELAXED) == 0)
		return;
	ms = (uint64_t)w->cfg.timeout_ms * 8 * ((uint64_t)w->cfg.retries + 1);
	if (ms > RESTART_GRACE_MAX_MS)
		ms = RESTART_GRACE_MAX_MS;
	w->restarting_until = time_now_ms() + ms;
}

/*
 * The proof of life the master's stall check reads, and the timer that
 * wakes an idle loop for the next one (which also writes the log
 * limiter's summaries).  A retiring process shares its slot with its
 * successor, whose heartbeat it must not stand in for: it stops storing
 * (the master no longer watches it).
 */
static void
heartbeat(struct worker *w, uint64_t now)
{
	if (w->mode != W_RETIRE)
		shm_gauge(&w->st->heartbeat_ms, now);
	(void)loop_timer_set(&w->loop, &w->hb_timer, now + HEARTBEAT_MS);
}

static void
log_stats(struct worker *w)
{
	const uint64_t *c = w->st->counters;

	log_info("stats rrq=%" PRIu64 " wrq=%" PRIu64 " transfers_ok=%"
	    PRIu64 " transfers_failed=%" PRIu64 " bytes_sent=%" PRIu64
	    " bytes_received=%" PRIu64 " packets_sent=%" PRIu64
	    " packets_received=%" PRIu64 " retransmits=%" PRIu64
	    " timeouts=%" PRIu64, c[TFTP_SHM_C_RRQ], c[TFTP_SHM_C_WRQ],
	    c[TFTP_SHM_C_TRANSFERS_OK], c[TFTP_SHM_C_TRANSFERS_FAILED],
	    c[TFTP_SHM_C_BYTES_SENT], c[TFTP_SHM_C_BYTES_RECEIVED],
	    c[TFTP_SHM_C_PACKETS_SENT], c[TFTP_SHM_C_PACKETS_RECEIVED],
	    c[TFTP_SHM_C_RETRANSMITS], c[TFTP_SHM_C_TIMEOUTS]);
}
