/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * The running transfers by client address and port (see peertab.h).
 * The hash is a keyed multiply-xorshift over the key's bytes: not
 * cryptographic, but with a secret seed a client cannot predict which
 * addresses collide, and a chain is never longer than the transfers
 * running anyway.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "peertab.h"

#define MUL	UINT64_C(0x9e3779b97f4a7c15)

static uint64_t
mix(uint64_t h)
{
	h ^= h >> 32;
	h *= MUL;
	h ^= h >> 29;
	return h;
}

static uint32_t
bucket(const struct peertab *pt, const struct peer_key *k)
{
	uint64_t a, b, c;

	memcpy(&a, k->addr, 8);
	memcpy(&b, k->addr + 8, 8);
	c = (uint64_t)k->port | (uint64_t)k->family << 16 |
	    (uint64_t)k->lis << 24 | (uint64_t)k->scope << 32;
	a = mix(a ^ pt->seed[0]);
	a = mix(a ^ b ^ pt->seed[1]);
	a = mix(a ^ c);
	return (uint32_t)a & pt->mask;
}

static int
key_eq(const struct peer_key *a, const struct peer_key *b)
{
	return memcmp(a, b, sizeof(*a)) == 0;
}

int
peertab_init(struct peertab *pt, unsigned bits, const uint64_t seed[2])
{
	memset(pt, 0, sizeof(*pt));
	if (bits < 4 || bits > 20)
		return -EINVAL;
	pt->heads = calloc((size_t)1 << bits, sizeof(*pt->heads));
	if (pt->heads == NULL)
		return -ENOMEM;
	pt->mask = (1u << bits) - 1;
	pt->seed[0] = seed[0];
	pt->seed[1] = seed[1];
	return 0;
}

int
peertab_reserve(struct peertab *pt, uint32_t nslots)
{
	uint32_t *next;
	struct peer_key *keys;
	uint8_t *used;

	if (nslots <= pt->nslots)
		return 0;
	/* Each array is replaced only once all three could be had. */
	next = calloc(nslots, sizeof(*next));
	keys = calloc(nslots, sizeof(*keys));
	used = calloc(nslots, sizeof(*used));
	if (next == NULL || keys == NULL || used == NULL) {
		free(next);
		free(keys);
		free(used);
		return -ENOMEM;
	}
	if (pt->nslots > 0) {
		memcpy(next, pt->next, pt->nslots * sizeof(*next));
		memcpy(keys, pt->keys, pt->nslots * sizeof(*keys));
		memcpy(used, pt->used, pt->nslots * sizeof(*used));
	}
	free(pt->next);
	free(pt->keys);
	free(pt->used);
	pt->next = next;
	pt->keys = keys;
	pt->used = used;
	pt->nslots = nslots;
	return 0;
}

void
peertab_free(struct peertab *pt)
{
	free(pt->heads);
	free(pt->next);
	free(pt->keys);
	free(pt->used);
	memset(pt, 0, sizeof(*pt));
}

int
peertab_key(struct peer_key *k, const struct sockaddr *sa, socklen_t len,
    uint8_t lis)
{
	const struct sockaddr_in *sin;
	const struct sockaddr_in6 *sin6;

	memset(k, 0, sizeof(*k));
	k->lis = lis;
	if (sa->sa_family == AF_INET && len >= sizeof(*sin)) {
		sin = (const struct sockaddr_in *)sa;
		memcpy(k->addr, &sin->sin_addr, sizeof(sin->sin_addr));
		k->port = sin->sin_port;
		k->family = 4;
		return 0;
	}
	if (sa->sa_family == AF_INET6 && len >= sizeof(*sin6)) {
		sin6 = (const struct sockaddr_in6 *)sa;
		memcpy(k->addr, &sin6->sin6_addr, sizeof(sin6->sin6_addr));
		k->port = sin6->sin6_port;
		k->scope = sin6->sin6_scope_id;
		k->family = 6;
		return 0;
	}
	return -EAFNOSUPPORT;
}

int64_t
peertab_find(const struct peertab *pt, const struct peer_key *k)
{
	uint32_t s;

	if (pt->count == 0)
		return -ENOENT;
	for (s = pt->heads[bucket(pt, k)]; s != 0; s = pt->next[s - 1])
		if (key_eq(&pt->keys[s - 1], k))
			return s - 1;
	return -ENOENT;
}

int
peertab_insert(struct peertab *pt, uint32_t slot, const struct peer_key *k)
{
	uint32_t b;

	if (slot >= pt->nslots || pt->used[slot])
		return -EINVAL;
	if (peertab_find(pt, k) >= 0)
		return -EEXIST;
	b = bucket(pt, k);
	pt->keys[slot] = *k;
	pt->next[slot] = pt->heads[b];
	pt->heads[b] = slot + 1;
	pt->used[slot] = 1;
	pt->count++;
	return 0;
}

void
peertab_remove(struct peertab *pt, uint32_t slot)
{
	uint32_t *link;

	if (slot >= pt->nslots || !pt->used[slot])
		return;
	for (link = &pt->heads[bucket(pt, &pt->keys[slot])]; *link != 0;
	    link = &pt->next[*link - 1]) {
		if (*link == slot + 1) {
			*link = pt->next[slot];
			break;
		}
	}
	pt->next[slot] = 0;
	pt->used[slot] = 0;
	pt->count--;
}
