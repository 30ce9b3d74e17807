/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * The transfer table and the buffer pool.  Transfer slots are allocated
 * in chunks that never move (their timers are in the loop's heap) and
 * carry a generation, so an event or a queued send for a slot that was
 * since reused is recognised as stale.  A download holds one pool buffer
 * while it runs.  The gauges in shared memory follow both.  A running
 * transfer is found again by its client's address and port and the
 * listen socket its request came to (peertab, in every mode): a request
 * from there is a repeat or replaces it, and in single-port mode every
 * datagram from there is its packet.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <unistd.h>

#include "files.h"
#include "loop.h"
#include "shm.h"
#include "worker_int.h"

#define GEN_MASK	0x7fffffffu
#define PEER_BITS	14		/* peer table hash buckets, log2 */

static void	 pool_put(struct worker *w, uint8_t *buf);

/*
 * Room for n transfers (and their timers, plus the drain timer).  The
 * table grows by whole chunks that never move, so the timers embedded in
 * live transfers keep their addresses.  New slots go under the free
 * ones, so the table is still used from the bottom.
 */
int
tx_reserve(struct worker *w, uint32_t n)
{
	uint32_t want, i, k, add;
	uint32_t *fl;
	int r;

	if (n > TX_MAX)
		n = TX_MAX;
	want = (n + TX_CHUNK - 1) / TX_CHUNK * TX_CHUNK;
	if (want <= w->ntx)
		return 0;
	/* A timer per transfer, the drain's and the heartbeat's. */
	if ((r = loop_grow(&w->loop, (size_t)want + WORKER_TIMERS)) < 0)
		return r;
	if ((r = peertab_reserve(&w->pt, want)) < 0)
		return r;
	fl = realloc(w->freelist, want * sizeof(*fl));
	if (fl == NULL)
		return -ENOMEM;
	w->freelist = fl;
	for (k = w->ntx / TX_CHUNK; k < want / TX_CHUNK; k++) {
		w->chunk[k] = calloc(TX_CHUNK, sizeof(struct transfer));
		if (w->chunk[k] == NULL)
			break;
	}
	add = k * TX_CHUNK - w->ntx;
	if (add == 0)
		return -ENOMEM;
	memmove(fl + add, fl, w->nfree * sizeof(*fl));
	for (i = 0; i < add; i++)
		fl[i] = k * TX_CHUNK - 1 - i;
	w->nfree += add;
	w->ntx += add;
	return w->ntx < want ? -ENOMEM : 0;
}

/* The transfer in slot, used or not; NULL past the table. */
struct transfer *
tx_at(struct worker *w, uint32_t slot)
{
	if (slot >= w->ntx)
		return NULL;
	return &w->chunk[slot / TX_CHUNK][slot % TX_CHUNK];
}

/* The transfer's epoll data, which tells a reused slot apart. */
uint64_t
tx_data(const struct transfer *t)
{
	return (uint64_t)t->gen << 32 | t->slot;
}

/* NULL when max_transfers are running: the pool is exhausted. */
struct transfer *
tx_alloc(struct worker *w)
{
	struct transfer *t;
	uint32_t gen, slot;

	if (w->active >= w->limit || w->nfree == 0)
		return NULL;
	slot = w->freelist[--w->nfree];
	t = tx_at(w, slot);
	gen = (t->gen + 1) & GEN_MASK;
	memset(t, 0, sizeof(*t));
	t->gen = gen;
	t->slot = slot;
	t->used = true;
	t->sock = -1;
	t->fd = -1;
	t->up.fd = -1;
	t->up.dirfd = -1;
	t->sess = -1;
	t->timer.arg = t;
	w->active++;
	if (w->active > w->high)
		w->high = w->active;
	tx_gauges(w);
	return t;
}

/* Close everything the transfer holds and return its slot. */
void
tx_release(struct worker *w, struct transfer *t)
{
	/* Before its buffer goes: that tells which list it is on. */
	tx_verified(w, t);
	(void)loop_timer_set(&w->loop, &t->timer, 0);
	w->tp->end(w, t);
	peertab_remove(&w->pt, t->slot);
	window_unmap(t);	/* after end: nothing queued uses it */
	/* A descriptor shared through the table goes back to it. */
	if (t->fd >= 0) {
		if (!fdcache_put(&w->fc, t->fd))
			close(t->fd);
		t->fd = -1;
	}
	if (t->netascii)
		files_nasrc_free(&t->nas);
	if (t->buf != NULL) {
		pool_put(w, t->buf);
		t->buf = NULL;
	}
	files_upload_close(&t->up);
	if (t->sess >= 0)
		shm_session_end(&w->shm, t->sess);
	climit_end(t->client);
	t->client = NULL;
	t->sess = -1;
	t->used = false;
	w->freelist[w->nfree++] = t->slot;
	w->active--;
	tx_gauges(w);
}

/*
 * The gauges: running transfers, and the buffer pool's size, buffers
 * held and most ever held ("exhausted", the requests refused for want
 * of a buffer, is counted where that happens).
 */
void
tx_gauges(struct worker *w)
{
	/* Retiring: the replacement in this slot owns the gauges. */
	if (w->mode == W_RETIRE)
		return;
	shm_gauge(&w->st->active_transfers, w->active);
	shm_gauge(&w->st->pool_in_use, w->pool_cap - w->pool_nfree);
	shm_gauge(&w->st->pool_high_water, w->pool_high);
	shm_gauge(&w->st->pool_capacity, w->pool_cap);
}

/*
 * The buffer pool: buffer_pool_size buffers of POOL_BUFSZ, fixed at
 * start.  A buffer holds one packet of the largest block, or a window of
 * up to SOCK_GSO_MAX_SEGS smaller ones.  Its memory is reserved, not
 * committed: a page costs memory once a transfer uses it.
 */
int
pool_init(struct worker *w)
{
	uint32_t i;

	w->pool_cap = w->cfg.buffer_pool_size > 0 ?
	    w->cfg.buffer_pool_size : 1;
	w->pool_len = (size_t)w->pool_cap * POOL_BUFSZ;
	w->pool = mmap(NULL, w->pool_len, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (w->pool == MAP_FAILED) {
		w->pool = NULL;
		return -ENOMEM;
	}
	w->pool_free = calloc(w->pool_cap, sizeof(*w->pool_free));
	if (w->pool_free == NULL)
		return -ENOMEM;
	/* Taken from the bottom, so few buffers' pages are ever touched. */
	for (i = 0; i < w->pool_cap; i++)
		w->pool_free[i] = w->pool_cap - 1 - i;
	w->pool_nfree = w->pool_cap;
	return 0;
}

/* A free pool buffer, or NULL. */
uint8_t *
pool_get(struct worker *w)
{
	uint32_t used;

	if (w->pool_nfree == 0)
		return NULL;
	used = w->pool_cap - --w->pool_nfree;
	if (used > w->pool_high)
		w->pool_high = used;
	tx_gauges(w);
	return w->pool + (size_t)w->pool_free[w->pool_nfree] * POOL_BUFSZ;
}

static void
pool_put(struct worker *w, uint8_t *buf)
{
	w->pool_free[w->pool_nfree++] =
	    (uint32_t)((size_t)(buf - w->pool) / POOL_BUFSZ);
	tx_gauges(w);
}

/*
 * The unverified transfers (README, Design: the limits), in the order
 * they started: a transfer joins its list's tail when it is created,
 * leaves when its client answers or it ends, so each head is its list's
 * oldest and every step is O(1).  Two lists, so that the oldest one that
 * holds a pool buffer is found as cheaply as the oldest one.
 */
void
tx_unverified_init(struct worker *w)
{
	size_t i;

	for (i = 0; i < TX_UNV_KINDS; i++)
		TAILQ_INIT(&w->unv[i]);
}

void
tx_unverified_add(struct worker *w, struct transfer *t)
{
	if (t->unv_on || xfer_verified(&t->x))
		return;
	TAILQ_INSERT_TAIL(&w->unv[t->buf != NULL ? TX_UNV_READ :
	    TX_UNV_WRITE], t, unv_link);
	t->unv_on = true;
}

/* t's client answered, or t ends: off its list (if on one). */
void
tx_verified(struct worker *w, struct transfer *t)
{
	if (!t->unv_on)
		return;
	TAILQ_REMOVE(&w->unv[t->buf != NULL ? TX_UNV_READ : TX_UNV_WRITE],
	    t, unv_link);
	t->unv_on = false;
}

/*
 * The oldest unverified transfer (need_buf: of those holding a pool
 * buffer), or NULL.
 */
struct transfer *
tx_unverified_oldest(struct worker *w, bool need_buf)
{
	struct transfer *r = TAILQ_FIRST(&w->unv[TX_UNV_READ]);
	struct transfer *u = TAILQ_FIRST(&w->unv[TX_UNV_WRITE]);

	if (need_buf || u == NULL)
		return r;
	if (r == NULL || u->ri.start_ms < r->ri.start_ms)
		return u;
	return r;
}

/* The table and the pool, after a failed setup too. */
/* The peer table, its hash seeded per process. */
int
tx_peers_init(struct worker *w)
{
	uint64_t seed[2] = { 0, 0 };
	/* The kernel's random bytes for this process: no syscall. */
	const void *rnd = (const void *)getauxval(AT_RANDOM);

	if (rnd != NULL)
		memcpy(seed, rnd, sizeof(seed));
	return peertab_init(&w->pt, PEER_BITS, seed);
}

/* t is rq's sender's transfer from now on: 0 or -errno. */
int
tx_peer_add(struct worker *w, struct transfer *t, const struct request *rq)
{
	struct peer_key k;
	int r;

	if ((r = peertab_key(&k, rq->peer, rq->peerlen,
	    (uint8_t)(rq->l - w->lis))) < 0)
		return r;
	return peertab_insert(&w->pt, t->slot, &k);
}

/* The running transfer of rq's sender on rq's listen socket, or NULL. */
struct transfer *
tx_by_peer(struct worker *w, const struct request *rq)
{
	struct peer_key k;
	int64_t slot;

	if (peertab_key(&k, rq->peer, rq->peerlen,
	    (uint8_t)(rq->l - w->lis)) < 0 ||
	    (slot = peertab_find(&w->pt, &k)) < 0)
		return NULL;
	return tx_at(w, (uint32_t)slot);
}

void
tx_free(struct worker *w)
{
	uint32_t i;

	for (i = 0; i < TX_CHUNKS; i++)
		free(w->chunk[i]);
	free(w->freelist);
	if (w->pool != NULL)
		(void)munmap(w->pool, w->pool_len);
	free(w->pool_free);
	peertab_free(&w->pt);
}
