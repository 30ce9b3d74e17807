/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * The event loop of a worker: an epoll set, a binary min-heap of timer
 * deadlines, and signal flags.  Signals that end or reconfigure the
 * process are blocked at all times except inside epoll_pwait(), so a
 * signal either arrives before the sleep (and the sleep returns at once
 * with EINTR) or wakes it; the handlers do nothing but set a flag that
 * the worker reads between events.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "loop.h"

static volatile sig_atomic_t	 got_term;
static volatile sig_atomic_t	 got_int;
static volatile sig_atomic_t	 got_quit;
static volatile sig_atomic_t	 got_hup;

static void	 on_signal(int sig);
static void	 heap_place(struct loop *l, size_t i, struct loop_timer *t);
static void	 heap_up(struct loop *l, size_t i);
static void	 heap_down(struct loop *l, size_t i);
static void	 heap_remove(struct loop *l, struct loop_timer *t);

static void
on_signal(int sig)
{
	if (sig == SIGTERM)
		got_term = 1;
	else if (sig == SIGINT)
		got_int = 1;
	else if (sig == SIGQUIT)
		got_quit = 1;
	else if (sig == SIGHUP)
		got_hup = 1;
}

int
loop_signal(void)
{
	if (got_term) {
		got_term = 0;
		return SIGTERM;
	}
	if (got_int) {
		got_int = 0;
		return SIGINT;
	}
	if (got_quit) {
		got_quit = 0;
		return SIGQUIT;
	}
	if (got_hup) {
		got_hup = 0;
		return SIGHUP;
	}
	return 0;
}

int
loop_init(struct loop *l, size_t max_timers)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP };
	struct sigaction sa;
	sigset_t block;
	size_t i;
	int r;

	memset(l, 0, sizeof(*l));
	l->epfd = -1;
	if (max_timers == 0)
		max_timers = 1;
	l->heap = calloc(max_timers, sizeof(*l->heap));
	if (l->heap == NULL)
		return -ENOMEM;
	l->capheap = max_timers;
	if ((l->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0) {
		r = -errno;
		goto out_free;
	}

	sigemptyset(&block);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		sigaddset(&block, sigs[i]);
		sigaddset(&sa.sa_mask, sigs[i]);
	}
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (sigaction(sigs[i], &sa, NULL) < 0) {
			r = -errno;
			goto out_close;
		}
	sa.sa_handler = SIG_IGN;
	(void)sigaction(SIGPIPE, &sa, NULL);
	if (sigprocmask(SIG_BLOCK, &block, &l->oldmask) < 0) {
		r = -errno;
		goto out_close;
	}
	l->waitmask = l->oldmask;
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigdelset(&l->waitmask, sigs[i]);
	return 0;

out_close:
	close(l->epfd);
	l->epfd = -1;
out_free:
	free(l->heap);
	l->heap = NULL;
	return r;
}

void
loop_free(struct loop *l)
{
	size_t i;

	for (i = 0; i < l->nheap; i++)
		l->heap[i]->slot = 0;
	free(l->heap);
	l->heap = NULL;
	l->nheap = l->capheap = 0;
	if (l->epfd >= 0) {
		close(l->epfd);
		l->epfd = -1;
		(void)sigprocmask(SIG_SETMASK, &l->oldmask, NULL);
	}
}

int
loop_catch(struct loop *l, int sig)
{
	struct sigaction sa;
	sigset_t block;

	if (sig != SIGQUIT)
		return -EINVAL;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGTERM);
	sigaddset(&sa.sa_mask, SIGINT);
	sigaddset(&sa.sa_mask, SIGHUP);
	sigaddset(&sa.sa_mask, sig);
	if (sigaction(sig, &sa, NULL) < 0)
		return -errno;
	sigemptyset(&block);
	sigaddset(&block, sig);
	if (sigprocmask(SIG_BLOCK, &block, NULL) < 0)
		return -errno;
	sigdelset(&l->waitmask, sig);
	return 0;
}

int
loop_grow(struct loop *l, size_t max_timers)
{
	struct loop_timer **heap;

	if (max_timers <= l->capheap)
		return 0;
	/* Timers know their heap index, not its address: realloc is safe. */
	heap = realloc(l->heap, max_timers * sizeof(*heap));
	if (heap == NULL)
		return -ENOMEM;
	l->heap = heap;
	l->capheap = max_timers;
	return 0;
}

int
loop_add(struct loop *l, int fd, uint32_t events, uint64_t data)
{
	struct epoll_event ev = { .events = events, .data.u64 = data };

	return epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

int
loop_mod(struct loop *l, int fd, uint32_t events, uint64_t data)
{
	struct epoll_event ev = { .events = events, .data.u64 = data };

	return epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev) < 0 ? -errno : 0;
}

int
loop_del(struct loop *l, int fd)
{
	return epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL) < 0 ? -errno : 0;
}

static void
heap_place(struct loop *l, size_t i, struct loop_timer *t)
{
	l->heap[i] = t;
	t->slot = i + 1;
}

static void
heap_up(struct loop *l, size_t i)
{
	struct loop_timer *t = l->heap[i];
	size_t parent;

	while (i > 0) {
		parent = (i - 1) / 2;
		if (l->heap[parent]->deadline <= t->deadline)
			break;
		heap_place(l, i, l->heap[parent]);
		i = parent;
	}
	heap_place(l, i, t);
}

static void
heap_down(struct loop *l, size_t i)
{
	struct loop_timer *t = l->heap[i];
	size_t child;

	for (;;) {
		child = 2 * i + 1;
		if (child >= l->nheap)
			break;
		if (child + 1 < l->nheap &&
		    l->heap[child + 1]->deadline < l->heap[child]->deadline)
			child++;
		if (t->deadline <= l->heap[child]->deadline)
			break;
		heap_place(l, i, l->heap[child]);
		i = child;
	}
	heap_place(l, i, t);
}

static void
heap_remove(struct loop *l, struct loop_timer *t)
{
	size_t i = t->slot - 1;
	struct loop_timer *last;

	t->slot = 0;
	last = l->heap[--l->nheap];
	if (last == t)
		return;
	heap_place(l, i, last);
	heap_up(l, i);
	heap_down(l, last->slot - 1);
}

int
loop_timer_set(struct loop *l, struct loop_timer *t, uint64_t deadline)
{
	uint64_t old = t->deadline;

	if (deadline == 0) {
		if (t->slot != 0)
			heap_remove(l, t);
		t->deadline = 0;
		return 0;
	}
	t->deadline = deadline;
	if (t->slot != 0) {
		if (deadline < old)
			heap_up(l, t->slot - 1);
		else if (deadline > old)
			heap_down(l, t->slot - 1);
		return 0;
	}
	if (l->nheap == l->capheap) {
		t->deadline = 0;
		return -ENOSPC;
	}
	heap_place(l, l->nheap, t);
	l->nheap++;
	heap_up(l, l->nheap - 1);
	return 0;
}

struct loop_timer *
loop_timer_expired(struct loop *l, uint64_t now)
{
	struct loop_timer *t;

	if (l->nheap == 0 || l->heap[0]->deadline > now)
		return NULL;
	t = l->heap[0];
	heap_remove(l, t);
	t->deadline = 0;
	return t;
}

int
loop_wait(struct loop *l, struct epoll_event *ev, int maxev, uint64_t now)
{
	uint64_t d;
	int timeout = -1, n;

	if (l->nheap > 0) {
		d = l->heap[0]->deadline;
		if (d <= now)
			timeout = 0;
		else if (d - now > INT_MAX)
			timeout = INT_MAX;
		else
			timeout = (int)(d - now);
	}
	n = epoll_pwait(l->epfd, ev, maxev, timeout, &l->waitmask);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	return n;
}
