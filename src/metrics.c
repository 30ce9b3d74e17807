/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * Histograms and top-N tables of the statistics slot: the worker writes,
 * tftpctl reads.  The bucket layout is the ABI header's table
 * (TFTP_SHM_HISTS), so both sides agree on every bound.
 */
#include <netinet/in.h>
#include <string.h>

#include "metrics.h"

/* A rewrite of a top-N entry takes nanoseconds: a reader waits so long. */
#define TOP_TRIES	8
#define TOP_SPINS	1000

struct hist_def {
	const char	*name;
	uint64_t	 div;
	unsigned	 shift;
	unsigned	 bias;
};

static const struct hist_def hist_defs[TFTP_SHM_H_MAX] = {
#define HIST_DEF(id, name, div, shift, bias)	\
	[TFTP_SHM_H_##id] = { name, div, shift, bias },
	TFTP_SHM_HISTS(HIST_DEF)
#undef HIST_DEF
};

/* The largest bound must fit a uint64_t with room for the bias. */
#define HIST_CHECK(id, name, div, shift, bias)				\
	_Static_assert((shift) + TFTP_SHM_HIST_BUCKETS < 64 &&		\
	    (bias) <= 1 && (div) >= 1, "histogram " name ": bad layout");
TFTP_SHM_HISTS(HIST_CHECK)
#undef HIST_CHECK

static void	 add(uint64_t *p, uint64_t n);
static uint64_t	 ld(const uint64_t *p);

/* Two processes may share a slot for a while (a retiring worker): add. */
static void
add(uint64_t *p, uint64_t n)
{
	(void)__atomic_fetch_add(p, n, __ATOMIC_RELAXED);
}

static uint64_t
ld(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

unsigned
metrics_bucket(enum tftp_shm_hist_id id, uint64_t v)
{
	if ((unsigned)id >= TFTP_SHM_H_MAX)
		return TFTP_SHM_HIST_BUCKETS;
	return metrics_bucket_of(v, hist_defs[id].shift, hist_defs[id].bias);
}

void
metrics_record(struct tftp_shm_hist *hist, enum tftp_shm_hist_id id,
    uint64_t v)
{
	struct tftp_shm_hist *h;

	if ((unsigned)id >= TFTP_SHM_H_MAX)
		return;
	h = &hist[id];
	add(&h->bucket[metrics_bucket_of(v, hist_defs[id].shift,
	    hist_defs[id].bias)], 1);
	add(&h->sum, v);
	add(&h->count, 1);
}

uint64_t
metrics_bound(enum tftp_shm_hist_id id, unsigned i)
{
	if ((unsigned)id >= TFTP_SHM_H_MAX || i >= TFTP_SHM_HIST_BUCKETS)
		return UINT64_MAX;
	return (UINT64_C(1) << (i + hist_defs[id].shift)) -
	    hist_defs[id].bias;
}

const char *
metrics_hist_name(enum tftp_shm_hist_id id)
{
	if ((unsigned)id >= TFTP_SHM_H_MAX)
		return NULL;
	return hist_defs[id].name;
}

uint64_t
metrics_hist_div(enum tftp_shm_hist_id id)
{
	if ((unsigned)id >= TFTP_SHM_H_MAX)
		return 1;
	return hist_defs[id].div;
}

/*
 * The bucket's own count, not the copied total: a reader's copy of a
 * live histogram may have count and buckets a record apart.
 */
double
metrics_quantile(const struct tftp_shm_hist *h, enum tftp_shm_hist_id id,
    double q)
{
	uint64_t	 total = 0, seen = 0, lo, hi;
	double		 rank;
	unsigned	 i;

	if ((unsigned)id >= TFTP_SHM_H_MAX)
		return -1;
	for (i = 0; i <= TFTP_SHM_HIST_BUCKETS; i++)
		total += h->bucket[i];
	if (total == 0)
		return -1;
	rank = q * (double)total;
	for (i = 0; i < TFTP_SHM_HIST_BUCKETS; i++) {
		if (h->bucket[i] == 0 ||
		    (double)(seen + h->bucket[i]) < rank) {
			seen += h->bucket[i];
			continue;
		}
		/* The first bucket starts at the smallest value it holds. */
		lo = i == 0 ? 0 : metrics_bound(id, i - 1);
		hi = metrics_bound(id, i);
		return ((double)lo + (double)(hi - lo) *
		    ((rank - (double)seen) / (double)h->bucket[i])) /
		    (double)hist_defs[id].div;
	}
	return (double)metrics_bound(id, TFTP_SHM_HIST_BUCKETS - 1) /
	    (double)hist_defs[id].div;
}

/* -------------------------------------------------------------------- */
/* top-N */

static bool
key_eq(const struct tftp_shm_top *e, uint16_t family, const uint8_t *key,
    size_t keylen)
{
	return e->family == family && memcmp(e->key, key, keylen) == 0 &&
	    (keylen == sizeof(e->key) || e->key[keylen] == '\0');
}

void
metrics_top_add(struct tftp_shm_top *tab, size_t n, uint16_t family,
    const void *key, size_t keylen, uint64_t bytes, bool failed)
{
	struct tftp_shm_top	*e = NULL, *min = NULL;
	uint64_t		 inherit = 0, req;
	uint32_t		 seq;
	size_t			 i;

	if (n == 0)
		return;
	if (keylen > TFTP_SHM_FILE_MAX - 1)
		keylen = TFTP_SHM_FILE_MAX - 1;
	for (i = 0; i < n; i++) {
		req = ld(&tab[i].requests);
		if (req == 0) {
			if (min == NULL || ld(&min->requests) != 0)
				min = &tab[i];
			continue;
		}
		if (key_eq(&tab[i], family, key, keylen)) {
			e = &tab[i];
			break;
		}
		if (min == NULL || req < ld(&min->requests))
			min = &tab[i];
	}
	if (e == NULL)
		e = min;
	/* Another process is writing it: this one request goes uncounted. */
	seq = __atomic_load_n(&e->seq, __ATOMIC_RELAXED);
	if ((seq & 1) || !__atomic_compare_exchange_n(&e->seq, &seq, seq + 1,
	    false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
		return;
	__atomic_thread_fence(__ATOMIC_RELEASE);
	if (e == min && !key_eq(e, family, key, keylen)) {
		/* Space-saving: the newcomer inherits the evicted count. */
		inherit = ld(&e->requests);
		memset(e->key, 0, sizeof(e->key));
		memcpy(e->key, key, keylen);
		e->family = family;
		__atomic_store_n(&e->requests, inherit, __ATOMIC_RELAXED);
		__atomic_store_n(&e->error, inherit, __ATOMIC_RELAXED);
		__atomic_store_n(&e->bytes, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&e->failures, 0, __ATOMIC_RELAXED);
	}
	add(&e->requests, 1);
	add(&e->bytes, bytes);
	if (failed)
		add(&e->failures, 1);
	__atomic_store_n(&e->seq, seq + 2, __ATOMIC_RELEASE);
}

size_t
metrics_client_key(const struct sockaddr *sa, uint16_t *family,
    uint8_t key[16])
{
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;

	memset(key, 0, 16);
	if (sa->sa_family == AF_INET) {
		sin = (const struct sockaddr_in *)(const void *)sa;
		memcpy(key, &sin->sin_addr, 4);
		*family = AF_INET;
		return 4;
	}
	if (sa->sa_family != AF_INET6)
		return 0;
	sin6 = (const struct sockaddr_in6 *)(const void *)sa;
	if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
		/* A dual-stack socket's IPv4 client is that client. */
		memcpy(key, &sin6->sin6_addr.s6_addr[12], 4);
		*family = AF_INET;
		return 4;
	}
	/* One host's privacy addresses, one site's hosts: its /64. */
	memcpy(key, &sin6->sin6_addr, 8);
	*family = AF_INET6;
	return 8;
}

bool
metrics_top_read(const struct tftp_shm_top *live, struct tftp_shm_top *out)
{
	uint32_t	 s1, s2, spins = 0;
	int		 i;

	for (i = 0; i < TOP_TRIES; i++) {
		s1 = __atomic_load_n(&live->seq, __ATOMIC_ACQUIRE);
		while ((s1 & 1) && spins++ < TOP_SPINS)
			s1 = __atomic_load_n(&live->seq, __ATOMIC_ACQUIRE);
		if (s1 & 1)
			break;
		memcpy(out, live, sizeof(*out));
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		s2 = __atomic_load_n(&live->seq, __ATOMIC_RELAXED);
		if (s1 != s2)
			continue;
		if (out->requests == 0)
			break;
		/* The copy came from a file: make its key a safe string. */
		out->key[sizeof(out->key) - 1] = '\0';
		return true;
	}
	memset(out, 0, sizeof(*out));
	return false;
}

/* -------------------------------------------------------------------- */
/* stats --reset */

void
metrics_baseline_take(const struct tftp_shm_stats *st, uint64_t restarts,
    struct tftp_shm_baseline *b)
{
	unsigned	 i, j;

	memset(b, 0, sizeof(*b));
	for (i = 0; i < TFTP_SHM_C_MAX; i++)
		b->counters[i] = ld(&st->counters[i]);
	for (i = 0; i < TFTP_SHM_NERRORS; i++)
		b->errors[i] = ld(&st->errors[i]);
	for (i = 0; i < TFTP_SHM_NOPTS; i++)
		b->options[i] = ld(&st->options[i]);
	b->pool_exhausted = ld(&st->pool_exhausted);
	b->restarts = restarts;
	for (i = 0; i < TFTP_SHM_H_MAX; i++) {
		b->hist[i].count = ld(&st->hist[i].count);
		b->hist[i].sum = ld(&st->hist[i].sum);
		for (j = 0; j <= TFTP_SHM_HIST_BUCKETS; j++)
			b->hist[i].bucket[j] = ld(&st->hist[i].bucket[j]);
	}
}

/* Never below 0: a baseline from a file is input too. */
static void
sub(uint64_t *v, uint64_t base)
{
	*v = *v > base ? *v - base : 0;
}

void
metrics_baseline_sub(struct tftp_shm_stats *st, uint64_t *restarts,
    const struct tftp_shm_baseline *b)
{
	unsigned	 i, j;

	for (i = 0; i < TFTP_SHM_C_MAX; i++)
		sub(&st->counters[i], b->counters[i]);
	for (i = 0; i < TFTP_SHM_NERRORS; i++)
		sub(&st->errors[i], b->errors[i]);
	for (i = 0; i < TFTP_SHM_NOPTS; i++)
		sub(&st->options[i], b->options[i]);
	sub(&st->pool_exhausted, b->pool_exhausted);
	sub(restarts, b->restarts);
	for (i = 0; i < TFTP_SHM_H_MAX; i++) {
		sub(&st->hist[i].count, b->hist[i].count);
		sub(&st->hist[i].sum, b->hist[i].sum);
		for (j = 0; j <= TFTP_SHM_HIST_BUCKETS; j++)
			sub(&st->hist[i].bucket[j], b->hist[i].bucket[j]);
	}
}
