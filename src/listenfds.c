/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * Where the master's listen sockets come from, and the mode that implies:
 * bound here (standalone: one SO_REUSEPORT set per worker, by sock.c),
 * inherited from inetd (a UDP socket on fd 0) or from systemd's socket
 * activation (LISTEN_FDS from fd 3).  Inherited sockets are shared by
 * every worker.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "master_int.h"
#include "sock.h"
#include "util.h"

static bool	 fd_is_udp(int fd);
static uint32_t	 cpu_count(void);
static int	 adopt_inetd(struct master *m);
static int	 adopt_systemd(struct master *m, uint32_t n);

static bool
fd_is_udp(int fd)
{
	int		 type = 0, proto = 0;
	socklen_t	 len = sizeof(type);

	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0 ||
	    type != SOCK_DGRAM)
		return false;
	len = sizeof(proto);
	return getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &len) == 0 &&
	    proto == IPPROTO_UDP;
}

static uint32_t
cpu_count(void)
{
	cpu_set_t	 set;
	long		 n;

	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		n = CPU_COUNT(&set);
	else
		n = sysconf(_SC_NPROCESSORS_ONLN);
	if (n < 1)
		n = 1;
	if (n > TFTP_SHM_MAX_WORKERS)
		n = TFTP_SHM_MAX_WORKERS;
	return (uint32_t)n;
}

/*
 * What the mode implies, applied to every configuration the master reads
 * so a reload compares like with like: under inetd or systemd the server
 * never daemonizes (its caller waits for this very process), and under
 * inetd stderr is the socket, so the log goes to syslog unless the file
 * chose otherwise.
 */
void
listen_mode_adjust(const struct master *m, struct tftpd_config *c)
{
	if (m->mode == MODE_STANDALONE)
		return;
	c->foreground = true;
	if (!c->log_set)
		c->log = m->mode == MODE_INETD ? LOG_TO_SYSLOG : LOG_TO_STDERR;
}

static int
adopt_inetd(struct master *m)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	int			 fd, r, i;

	/* Off fd 0, which becomes /dev/null like 1 and 2 when they are
	 * the socket too (inetd hands it over as all three). */
	if ((fd = fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3)) < 0)
		return -errno;
	if ((r = sock_adopt(fd, &m->cfg, &ss, &len)) < 0) {
		close(fd);
		return r;
	}
	for (i = 0; i <= 2; i++)
		if (i == 0 || fd_is_udp(i))
			(void)dup2(m->devnull, i);
	m->fds[0] = fd;
	m->naddr = 1;
	m->nsets = 1;
	return 0;
}

static int
adopt_systemd(struct master *m, uint32_t n)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	uint32_t		 i;
	int			 r;

	if (n == 0)
		return -EINVAL;
	if (n > SOCK_MAX_LISTEN)
		return -E2BIG;
	for (i = 0; i < n; i++) {
		if ((r = sock_adopt(3 + (int)i, &m->cfg, &ss, &len)) < 0)
			return r;
		m->fds[i] = 3 + (int)i;
	}
	m->naddr = n;
	m->nsets = 1;
	return 0;
}

/*
 * Where the sockets come from: -i, then systemd's LISTEN_PID/LISTEN_FDS,
 * then a UDP socket on fd 0 (inetd) unless -l/-L said standalone; else
 * they are bound here.
 */
int
listen_detect_mode(struct master *m)
{
	const struct run_opts	*run = m->run;
	const char		*pid_s, *fds_s;
	uint32_t		 pid, n = 0;

	pid_s = getenv("LISTEN_PID");
	fds_s = getenv("LISTEN_FDS");
	if (run->inetd) {
		m->mode = MODE_INETD;
	} else if (pid_s != NULL && fds_s != NULL &&
	    parse_u32(pid_s, 1, INT32_MAX, &pid) == 0 &&
	    (pid_t)pid == getpid()) {
		/* For us: a bad count is an error, not standalone. */
		if (parse_u32(fds_s, 0, UINT32_MAX, &n) < 0)
			n = 0;
		m->mode = MODE_SYSTEMD;
	} else if (!run->listen_only && fd_is_udp(STDIN_FILENO)) {
		m->mode = MODE_INETD;
	} else {
		m->mode = MODE_STANDALONE;
	}
	/* Not for the workers, nor for anything they might start. */
	(void)unsetenv("LISTEN_PID");
	(void)unsetenv("LISTEN_FDS");
	(void)unsetenv("LISTEN_FDNAMES");
	m->ninherited = n;
	listen_mode_adjust(m, &m->cfg);
	/*
	 * Nothing inherited stays open but stdio and the sockets handed
	 * over: a daemon must not hold its starter's pipes.
	 */
	if (close_range(3 + (m->mode == MODE_SYSTEMD &&
	    n <= SOCK_MAX_LISTEN ? n : 0), ~0U, 0) < 0)
		log_debug("close_range: %s", strerror(errno));
	return 0;
}

int
listen_take_sockets(struct master *m)
{
	char		 err[CONFIG_ERR_MAX];
	uint32_t	 n = m->ninherited;
	int		 r;

	m->nworkers = m->cfg.workers != 0 ? m->cfg.workers : cpu_count();
	m->fds = calloc((size_t)m->nworkers * SOCK_MAX_LISTEN,
	    sizeof(*m->fds));
	if (m->fds == NULL) {
		startup_err(m, "%s", strerror(ENOMEM));
		return -ENOMEM;
	}

	switch (m->mode) {
	case MODE_INETD:
		if ((r = adopt_inetd(m)) < 0) {
			startup_err(m, "inetd mode: standard input is not a "
			    "UDP socket: %s", strerror(-r));
			return r;
		}
		break;
	case MODE_SYSTEMD:
		if ((r = adopt_systemd(m, n)) < 0) {
			startup_err(m, "socket activation: LISTEN_FDS=%u: "
			    "every descriptor must be a UDP socket: %s", n,
			    strerror(-r));
			return r;
		}
		break;
	case MODE_STANDALONE:
		if ((r = sock_listen_sets(&m->cfg, m->nworkers, m->fds,
		    &m->naddr, &m->nsets, err, sizeof(err))) < 0) {
			startup_err(m, "%s", err);
			return r;
		}
		break;
	}
	/*
	 * Single-port mode demultiplexes in the worker that reads a
	 * client's packets: an inherited socket, which all workers would
	 * share, gets one worker.
	 */
	if (m->cfg.single_port && m->nsets == 1 && m->nworkers > 1) {
		log_info("single_port: one worker serves the inherited "
		    "socket%s", m->naddr > 1 ? "s" : "");
		m->nworkers = 1;
	}
	listen_steer(m, &m->cfg);
	return 0;
}

/*
 * The per-client limits count a client in one worker: while one is on,
 * each address's requests go to one worker (sock_steer()); while both are
 * off, the kernel spreads a client's requests over all of them, as it
 * did before the limits.  Inherited sockets, one set, are not steered
 * (README, Design: the limits).  A failure is logged; the limits then
 * count per worker.
 */
void
listen_steer(struct master *m, const struct tftpd_config *c)
{
	bool on = c->per_client_transfers != 0 || c->per_client_rate != 0;
	size_t i;
	int r;

	if (m->nsets <= 1 || m->fds == NULL || on == m->steered)
		return;
	for (i = 0; i < m->naddr; i++)
		if ((r = sock_steer(m->fds[i], m->nsets, on)) < 0)
			log_warnx("listen socket %zu: steering each client "
			    "to one worker %s failed, the per-client limits "
			    "count per worker: %s", i, on ? "on" : "off",
			    strerror(-r));
	m->steered = on;
}
