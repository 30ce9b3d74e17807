/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * The per-client limits' bookkeeping (see climit.h): a set-associative
 * table, so that a lookup is a hash and at most CLIMIT_WAYS comparisons
 * however many clients a flood of spoofed requests brings, and a token
 * bucket in integer arithmetic.
 */
#include <netinet/in.h>
#include <string.h>

#include "climit.h"

static uint32_t	 key_hash(const struct climit_key *k);
static bool	 key_eq(const struct climit_key *a, const struct climit_key *b);
static uint64_t	 bucket_cap(uint32_t burst);

void
climit_init(struct climit *cl)
{
	memset(cl, 0, sizeof(*cl));
}

void
climit_key_of(const struct sockaddr *sa, struct climit_key *k)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0xff, 0xff };

	memset(k, 0, sizeof(*k));
	if (sa == NULL)
		return;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 =
		    (const struct sockaddr_in *)(const void *)sa;

		k->family = AF_INET;
		memcpy(k->bytes, &s4->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 =
		    (const struct sockaddr_in6 *)(const void *)sa;
		const uint8_t *a = s6->sin6_addr.s6_addr;

		/* An IPv4 client on a dual-stack socket is that client. */
		if (memcmp(a, mapped, sizeof(mapped)) == 0) {
			k->family = AF_INET;
			memcpy(k->bytes, a + 12, 4);
		} else {
			k->family = AF_INET6;
			memcpy(k->bytes, a, 8);
		}
	}
}

/* FNV-1a of the key: spreads a subnet's clients over the sets. */
static uint32_t
key_hash(const struct climit_key *k)
{
	uint32_t h = 2166136261U;
	size_t i;

	h = (h ^ (uint8_t)k->family) * 16777619U;
	for (i = 0; i < sizeof(k->bytes); i++)
		h = (h ^ k->bytes[i]) * 16777619U;
	return h;
}

static bool
key_eq(const struct climit_key *a, const struct climit_key *b)
{
	return a->family == b->family &&
	    memcmp(a->bytes, b->bytes, sizeof(a->bytes)) == 0;
}

static uint64_t
bucket_cap(uint32_t burst)
{
	return (uint64_t)(burst > 0 ? burst : 1) * CLIMIT_MILLI;
}

struct climit_entry *
climit_get(struct climit *cl, const struct climit_key *k, uint32_t burst,
    uint64_t now)
{
	struct climit_entry *set, *e, *victim = NULL;
	size_t i;

	set = cl->e[key_hash(k) % CLIMIT_SETS];
	for (i = 0; i < CLIMIT_WAYS; i++)
		if (set[i].used && key_eq(&set[i].key, k))
			return &set[i];
	for (i = 0; i < CLIMIT_WAYS; i++) {
		e = &set[i];
		if (!e->used) {
			victim = e;
			cl->used++;
			break;
		}
		if (e->active == 0 &&
		    (victim == NULL || e->b.last_ms < victim->b.last_ms))
			victim = e;
	}
	if (victim == NULL)
		return NULL;
	memset(victim, 0, sizeof(*victim));
	victim->key = *k;
	victim->used = true;
	victim->b.tokens = bucket_cap(burst);
	victim->b.last_ms = now;
	return victim;
}

bool
climit_take(struct climit_entry *e, uint32_t rate, uint32_t burst,
    uint64_t now)
{
	return climit_bucket_take(&e->b, 1, rate, burst, now);
}

bool
climit_bucket_take(struct climit_bucket *b, uint32_t n, uint32_t rate,
    uint32_t burst, uint64_t now)
{
	uint64_t cap = bucket_cap(burst), need = (uint64_t)n * CLIMIT_MILLI;
	uint64_t dt;

	/* A clock that went back refills nothing. */
	if (now > b->last_ms) {
		dt = now - b->last_ms;
		/* Past cap / rate ms the bucket is full: dt * rate <= cap. */
		if (rate != 0 && dt <= cap / rate)
			b->tokens += dt * rate;
		else if (rate != 0)
			b->tokens = cap;
		b->last_ms = now;
	}
	if (b->tokens > cap)
		b->tokens = cap;
	if (rate == 0)
		return true;
	if (b->tokens < need)
		return false;
	b->tokens -= need;
	return true;
}

bool
climit_room(const struct climit_entry *e, uint32_t max)
{
	return max == 0 || e->active < max;
}

void
climit_begin(struct climit_entry *e)
{
	e->active++;
}

void
climit_end(struct climit_entry *e)
{
	if (e != NULL && e->active > 0)
		e->active--;
}
