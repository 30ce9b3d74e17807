/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * The worker's event loop: epoll for descriptors, a binary min-heap of
 * millisecond deadlines whose earliest one is the epoll_wait timeout, and
 * the process's termination and reload signals, which stay blocked except
 * while the loop sleeps (epoll_pwait) so their flags are checked without
 * a race.  An idle loop sleeps with no timeout at all.
 */
#ifndef LOOP_H
#define LOOP_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/epoll.h>

/* Embedded in its owner; arg leads back to it. */
struct loop_timer {
	uint64_t	 deadline;	/* ms on the time_now_ms() clock */
	size_t		 slot;		/* heap index + 1; 0 = unarmed */
	void		*arg;
};

struct loop {
	int		 epfd;
	struct loop_timer **heap;
	size_t		 nheap;
	size_t		 capheap;
	sigset_t	 waitmask;	/* the mask while sleeping */
	sigset_t	 oldmask;	/* restored by loop_free() */
};

/*
 * Create the epoll set and a heap for max_timers timers; block SIGTERM,
 * SIGINT and SIGHUP, whose handlers only set flags (see loop_signal()),
 * and ignore SIGPIPE.  0 or -errno.
 */
int		 loop_init(struct loop *l, size_t max_timers);
void		 loop_free(struct loop *l);
/* Treat SIGQUIT like those (a worker's "retire"); -EINVAL for others. */
int		 loop_catch(struct loop *l, int sig);
/* Room for max_timers timers (never shrinks); armed timers stay armed. */
int		 loop_grow(struct loop *l, size_t max_timers);

/* epoll_ctl wrappers; data comes back in epoll_event.data.u64. */
int		 loop_add(struct loop *l, int fd, uint32_t events,
		    uint64_t data);
int		 loop_mod(struct loop *l, int fd, uint32_t events,
		    uint64_t data);
int		 loop_del(struct loop *l, int fd);

/* Arm (or move) t to fire at deadline; 0 disarms.  -ENOSPC: heap full. */
int		 loop_timer_set(struct loop *l, struct loop_timer *t,
		    uint64_t deadline);
/* The earliest timer due at now, disarmed; NULL when none is due. */
struct loop_timer *loop_timer_expired(struct loop *l, uint64_t now);

/*
 * Sleep until a descriptor is ready, the earliest timer is due or a
 * signal arrives.  Returns the number of events, 0 on a timeout or a
 * signal (check loop_signal()), or -errno.
 */
int		 loop_wait(struct loop *l, struct epoll_event *ev, int maxev,
		    uint64_t now);

/* A signal received since the last call (SIGTERM, SIGINT, SIGQUIT,
 * SIGHUP in that order), or 0. */
int		 loop_signal(void);

#endif /* LOOP_H */
