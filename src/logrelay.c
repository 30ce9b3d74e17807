/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * The workers' logs: a worker writes "<PRIO>text" lines to a pipe (its
 * fd 2) and the master passes each on to syslog or stderr, so syslog
 * never has to be reachable from a sandbox.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "loop.h"
#include "master_int.h"
#include "util.h"

#define LOG_READS_PER_EVENT	16

static void	 logrelay_feed(struct proc *p, const char *data, size_t n);

/* Take the read end of p's pipe; a pipe the loop refuses is closed. */
void
logrelay_open(struct master *m, struct proc *p, int fd)
{
	int	 r;

	(void)fcntl(fd, F_SETFL, O_NONBLOCK);
	p->logfd = fd;
	if ((r = loop_add(&m->loop, p->logfd, EPOLLIN,
	    EV_LOG | (uint64_t)(p - m->procs))) < 0) {
		log_warnx("worker %u: epoll_ctl: %s", p->slot, strerror(-r));
		close(p->logfd);
		p->logfd = -1;
	}
}

/* Lines of at most LOG_LINE_MAX bytes; the rest of a longer one is cut. */
static void
logrelay_feed(struct proc *p, const char *data, size_t n)
{
	char	 prefix[32];
	size_t	 i;

	snprintf(prefix, sizeof(prefix), "worker %u", p->slot);
	for (i = 0; i < n; i++) {
		if (data[i] == '\n') {
			if (!p->logskip)
				log_relay(prefix, p->logbuf, p->loglen);
			p->loglen = 0;
			p->logskip = false;
		} else if (p->logskip) {
			continue;
		} else if (p->loglen == sizeof(p->logbuf)) {
			log_relay(prefix, p->logbuf, p->loglen);
			p->loglen = 0;
			p->logskip = true;
		} else {
			p->logbuf[p->loglen++] = data[i];
		}
	}
}

/*
 * A bounded number of reads per wakeup, or all of it when it exited.
 * true when it relayed anything.
 */
bool
logrelay_read(struct master *m, struct proc *p, bool all)
{
	char	 buf[4096];
	ssize_t	 n;
	int	 i;
	bool	 got = false;

	for (i = 0; p->logfd >= 0 && (all || i < LOG_READS_PER_EVENT); i++) {
		n = read(p->logfd, buf, sizeof(buf));
		if (n > 0) {
			logrelay_feed(p, buf, (size_t)n);
			got = true;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return got;
		logrelay_close(m, p);
	}
	return got;
}

/* The last line even without its newline, then the pipe is closed. */
void
logrelay_close(struct master *m, struct proc *p)
{
	char	 prefix[32];

	if (p->logfd < 0)
		return;
	if (p->loglen > 0 && !p->logskip) {
		snprintf(prefix, sizeof(prefix), "worker %u", p->slot);
		log_relay(prefix, p->logbuf, p->loglen);
	}
	p->loglen = 0;
	p->logskip = false;
	(void)loop_del(&m->loop, p->logfd);
	close(p->logfd);
	p->logfd = -1;
}

