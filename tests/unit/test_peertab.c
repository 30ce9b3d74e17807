/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * Unit tests for peertab.c, single-port mode's demultiplexer: keys from
 * IPv4 and IPv6 addresses (and the families and lengths refused), which
 * keys differ (port, listen socket, v4-mapped against v4), insert, find
 * and remove with their errors, and thousands of keys in a table of 16
 * buckets so that every chain is long and removals land in the middle of
 * them.  The keys come from a fixed-seed generator so a failure repeats.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/un.h>

#include "peertab.h"

#define NKEYS	5000

static const uint64_t seed_a[2] = {
	UINT64_C(0x0123456789abcdef), UINT64_C(0xfedcba9876543210)
};
static const uint64_t seed_b[2] = {
	UINT64_C(0x5555aaaa5555aaaa), UINT64_C(0x1234123412341234)
};
static const uint64_t seed_zero[2] = { 0, 0 };

/* xorshift64*: the same keys on every run. */
static uint64_t rng_state;

static uint64_t
rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * UINT64_C(0x2545f4914f6cdd1d);
}

static void
key4(struct peer_key *k, const char *addr, uint16_t port, uint8_t lis)
{
	struct sockaddr_in sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	assert_int_equal(inet_pton(AF_INET, addr, &sin.sin_addr), 1);
	assert_int_equal(peertab_key(k, (struct sockaddr *)&sin, sizeof(sin),
	    lis), 0);
}

static void
key6(struct peer_key *k, const char *addr, uint16_t port, uint8_t lis)
{
	struct sockaddr_in6 sin6;

	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_port = htons(port);
	assert_int_equal(inet_pton(AF_INET6, addr, &sin6.sin6_addr), 1);
	assert_int_equal(peertab_key(k, (struct sockaddr *)&sin6,
	    sizeof(sin6), lis), 0);
}

/* A random key through peertab_key(), half of them IPv4. */
static void
key_random(struct peer_key *k)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	uint64_t r = rng(), a = rng(), b = rng();
	uint8_t lis = (uint8_t)(r >> 24) % 4;

	memset(&ss, 0, sizeof(ss));
	if (r & 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = (uint16_t)(r >> 8);
		memcpy(&sin->sin_addr, &a, sizeof(sin->sin_addr));
		assert_int_equal(peertab_key(k, (struct sockaddr *)sin,
		    sizeof(*sin), lis), 0);
	} else {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = (uint16_t)(r >> 8);
		memcpy(&sin6->sin6_addr, &a, 8);
		memcpy((char *)&sin6->sin6_addr + 8, &b, 8);
		assert_int_equal(peertab_key(k, (struct sockaddr *)sin6,
		    sizeof(*sin6), lis), 0);
	}
}

/*
 * The table's own invariants: every chain ends within nslots links, holds
 * only used slots, each in the bucket its key hashes to (found by
 * peertab_find), and together the chains hold count slots, no slot twice.
 */
static void
check_chains(const struct peertab *pt)
{
	uint8_t *seen;
	uint32_t b, s, steps, total = 0, used = 0;

	seen = calloc(pt->nslots + 1, 1);
	assert_non_null(seen);
	for (b = 0; b <= pt->mask; b++) {
		steps = 0;
		for (s = pt->heads[b]; s != 0; s = pt->next[s - 1]) {
			assert_true(s <= pt->nslots);
			assert_true(++steps <= pt->nslots);
			assert_int_equal(seen[s - 1], 0);
			seen[s - 1] = 1;
			assert_true(pt->used[s - 1]);
			assert_int_equal(peertab_find(pt, &pt->keys[s - 1]),
			    s - 1);
			total++;
		}
	}
	for (s = 0; s < pt->nslots; s++)
		used += pt->used[s] != 0;
	assert_int_equal(total, pt->count);
	assert_int_equal(used, pt->count);
	free(seen);
}

static void
test_key_v4(void **state)
{
	struct sockaddr_in sin, junk;
	struct peer_key k, k2;
	const uint8_t addr[4] = { 192, 0, 2, 1 };
	int i;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(69);
	memcpy(&sin.sin_addr, addr, 4);

	/* Whatever k held before is gone: the key is compared whole. */
	memset(&k, 0xaa, sizeof(k));
	assert_int_equal(peertab_key(&k, (struct sockaddr *)&sin, sizeof(sin),
	    3), 0);
	assert_int_equal(k.family, 4);
	assert_int_equal(k.lis, 3);
	assert_int_equal(k.port, htons(69));
	assert_memory_equal(k.addr, addr, 4);
	for (i = 4; i < 16; i++)
		assert_int_equal(k.addr[i], 0);

	/* sin_zero junk and a longer length (a sockaddr_storage) do not
	 * change the key. */
	memset(&junk, 0x5a, sizeof(junk));
	junk.sin_family = AF_INET;
	junk.sin_port = sin.sin_port;
	junk.sin_addr = sin.sin_addr;
	assert_int_equal(peertab_key(&k2, (struct sockaddr *)&junk,
	    sizeof(struct sockaddr_storage), 3), 0);
	assert_memory_equal(&k, &k2, sizeof(k));
}

static void
test_key_v6(void **state)
{
	struct sockaddr_in6 sin6;
	struct peer_key k, k2;
	struct in6_addr a;

	assert_int_equal(inet_pton(AF_INET6, "2001:db8::1:2:3", &a), 1);
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_port = htons(40000);
	sin6.sin6_addr = a;

	memset(&k, 0xaa, sizeof(k));
	assert_int_equal(peertab_key(&k, (struct sockaddr *)&sin6,
	    sizeof(sin6), 255), 0);
	assert_int_equal(k.family, 6);
	assert_int_equal(k.lis, 255);
	assert_int_equal(k.port, htons(40000));
	assert_memory_equal(k.addr, &a, 16);

	/* The flow label is not part of the peer. */
	sin6.sin6_flowinfo = htonl(0x12345);
	assert_int_equal(peertab_key(&k2, (struct sockaddr *)&sin6,
	    sizeof(sin6), 255), 0);
	assert_memory_equal(&k, &k2, sizeof(k));

	/* The same link-local address on another interface is another
	 * client. */
	sin6.sin6_scope_id = 3;
	assert_int_equal(peertab_key(&k2, (struct sockaddr *)&sin6,
	    sizeof(sin6), 255), 0);
	assert_int_equal(k2.scope, 3);
	assert_memory_not_equal(&k, &k2, sizeof(k));
}

static void
test_key_refused(void **state)
{
	struct sockaddr_un sun;
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	struct sockaddr sa;
	struct peer_key k;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strcpy(sun.sun_path, "/tmp/x");
	assert_int_equal(peertab_key(&k, (struct sockaddr *)&sun, sizeof(sun),
	    0), -EAFNOSUPPORT);

	memset(&sa, 0, sizeof(sa));
	sa.sa_family = AF_UNSPEC;
	assert_int_equal(peertab_key(&k, &sa, sizeof(sa), 0), -EAFNOSUPPORT);

	/* A family with too short a length is not read past its end. */
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	assert_int_equal(peertab_key(&k, (struct sockaddr *)&sin,
	    sizeof(sin) - 1, 0), -EAFNOSUPPORT);
	assert_int_equal(peertab_key(&k, (struct sockaddr *)&sin, 0, 0),
	    -EAFNOSUPPORT);
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	assert_int_equal(peertab_key(&k, (struct sockaddr *)&sin6,
	    sizeof(sin6) - 1, 0), -EAFNOSUPPORT);
	assert_int_equal(peertab_key(&k, (struct sockaddr *)&sin6,
	    sizeof(struct sockaddr_in), 0), -EAFNOSUPPORT);
}

static void
test_init_bounds(void **state)
{
	struct peertab pt;
	struct peer_key k;

	assert_int_equal(peertab_init(&pt, 3, seed_a), -EINVAL);
	peertab_free(&pt);		/* harmless after a failed init */
	assert_int_equal(peertab_init(&pt, 21, seed_a), -EINVAL);
	peertab_free(&pt);

	assert_int_equal(peertab_init(&pt, 20, seed_a), 0);
	assert_int_equal(pt.mask, (1u << 20) - 1);
	peertab_free(&pt);

	assert_int_equal(peertab_init(&pt, 4, seed_a), 0);
	assert_int_equal(pt.mask, 15);
	assert_int_equal(pt.count, 0);
	/* No slots yet: nothing to find, nowhere to insert. */
	key4(&k, "192.0.2.1", 69, 0);
	assert_int_equal(peertab_find(&pt, &k), -ENOENT);
	assert_int_equal(peertab_insert(&pt, 0, &k), -EINVAL);
	peertab_remove(&pt, 0);
	assert_int_equal(pt.count, 0);
	peertab_free(&pt);
	peertab_free(&pt);		/* twice is harmless too */
}

static void
test_basic(void **state)
{
	struct peertab pt;
	struct peer_key k[6], other;

	assert_int_equal(peertab_init(&pt, 4, seed_a), 0);
	assert_int_equal(peertab_reserve(&pt, 8), 0);

	key4(&k[0], "192.0.2.1", 1000, 0);
	key4(&k[1], "192.0.2.1", 1001, 0);	/* another port */
	key4(&k[2], "192.0.2.1", 1000, 1);	/* another listen socket */
	key6(&k[3], "::ffff:192.0.2.1", 1000, 0);	/* v4-mapped */
	key6(&k[4], "2001:db8::1", 1000, 0);
	key4(&k[5], "192.0.2.2", 1000, 0);	/* another address */

	assert_int_equal(peertab_insert(&pt, 5, &k[0]), 0);
	assert_int_equal(pt.count, 1);
	assert_int_equal(peertab_find(&pt, &k[0]), 5);
	/* None of the others is k[0]. */
	assert_int_equal(peertab_find(&pt, &k[1]), -ENOENT);
	assert_int_equal(peertab_find(&pt, &k[2]), -ENOENT);
	assert_int_equal(peertab_find(&pt, &k[3]), -ENOENT);
	assert_int_equal(peertab_find(&pt, &k[4]), -ENOENT);
	assert_int_equal(peertab_find(&pt, &k[5]), -ENOENT);

	assert_int_equal(peertab_insert(&pt, 0, &k[1]), 0);
	assert_int_equal(peertab_insert(&pt, 1, &k[2]), 0);
	assert_int_equal(peertab_insert(&pt, 2, &k[3]), 0);
	assert_int_equal(peertab_insert(&pt, 7, &k[4]), 0);
	assert_int_equal(pt.count, 5);
	assert_int_equal(peertab_find(&pt, &k[0]), 5);
	assert_int_equal(peertab_find(&pt, &k[1]), 0);
	assert_int_equal(peertab_find(&pt, &k[2]), 1);
	assert_int_equal(peertab_find(&pt, &k[3]), 2);
	assert_int_equal(peertab_find(&pt, &k[4]), 7);
	assert_int_equal(peertab_find(&pt, &k[5]), -ENOENT);
	check_chains(&pt);

	/* The same key in another slot. */
	other = k[0];
	assert_int_equal(peertab_insert(&pt, 3, &other), -EEXIST);
	assert_int_equal(pt.count, 5);
	assert_int_equal(peertab_find(&pt, &k[0]), 5);
	/* A slot already used, even for a new key. */
	assert_int_equal(peertab_insert(&pt, 5, &k[5]), -EINVAL);
	assert_int_equal(peertab_insert(&pt, 0, &k[0]), -EINVAL);
	/* Slots past the end. */
	assert_int_equal(peertab_insert(&pt, 8, &k[5]), -EINVAL);
	assert_int_equal(peertab_insert(&pt, UINT32_MAX, &k[5]), -EINVAL);
	assert_int_equal(pt.count, 5);
	assert_int_equal(peertab_find(&pt, &k[5]), -ENOENT);
	assert_int_equal(peertab_find(&pt, &k[0]), 5);
	check_chains(&pt);
	/* The refused slot 3 is still free. */
	assert_int_equal(peertab_insert(&pt, 3, &k[5]), 0);
	assert_int_equal(peertab_find(&pt, &k[5]), 3);
	assert_int_equal(pt.count, 6);

	/* Removal: only that slot goes. */
	peertab_remove(&pt, 5);
	assert_int_equal(pt.count, 5);
	assert_int_equal(peertab_find(&pt, &k[0]), -ENOENT);
	assert_int_equal(peertab_find(&pt, &k[1]), 0);
	assert_int_equal(peertab_find(&pt, &k[5]), 3);
	check_chains(&pt);
	/* Slots not in the table, used or not, and past the end. */
	peertab_remove(&pt, 5);
	peertab_remove(&pt, 4);
	peertab_remove(&pt, 6);
	peertab_remove(&pt, 8);
	peertab_remove(&pt, UINT32_MAX);
	assert_int_equal(pt.count, 5);
	assert_int_equal(peertab_find(&pt, &k[1]), 0);
	assert_int_equal(peertab_find(&pt, &k[2]), 1);
	assert_int_equal(peertab_find(&pt, &k[3]), 2);
	assert_int_equal(peertab_find(&pt, &k[4]), 7);
	assert_int_equal(peertab_find(&pt, &k[5]), 3);
	check_chains(&pt);

	/* The key can come back, in its old slot or another. */
	assert_int_equal(peertab_insert(&pt, 4, &k[0]), 0);
	assert_int_equal(peertab_find(&pt, &k[0]), 4);
	peertab_remove(&pt, 4);
	assert_int_equal(peertab_insert(&pt, 5, &k[0]), 0);
	assert_int_equal(peertab_find(&pt, &k[0]), 5);

	/* Everything out. */
	peertab_remove(&pt, 0);
	peertab_remove(&pt, 1);
	peertab_remove(&pt, 2);
	peertab_remove(&pt, 3);
	peertab_remove(&pt, 5);
	peertab_remove(&pt, 7);
	assert_int_equal(pt.count, 0);
	for (int i = 0; i < 6; i++)
		assert_int_equal(peertab_find(&pt, &k[i]), -ENOENT);
	check_chains(&pt);
	peertab_free(&pt);
}

/*
 * NKEYS keys into 16 buckets: chains of some 300.  Every other slot is
 * removed, which takes entries from the heads, middles and tails of
 * every chain; the rest must still be found and the removed not.
 */
static void
run_many(const uint64_t seed[2], uint64_t rng_seed)
{
	struct peertab pt;
	struct peer_key *keys;
	uint32_t i;

	rng_state = rng_seed;
	keys = calloc(NKEYS, sizeof(*keys));
	assert_non_null(keys);
	for (i = 0; i < NKEYS; i++)
		key_random(&keys[i]);

	assert_int_equal(peertab_init(&pt, 4, seed), 0);
	assert_int_equal(peertab_reserve(&pt, NKEYS), 0);
	for (i = 0; i < NKEYS; i++) {
		assert_int_equal(peertab_insert(&pt, i, &keys[i]), 0);
		assert_int_equal(pt.count, i + 1);
	}
	for (i = 0; i < NKEYS; i++)
		assert_int_equal(peertab_find(&pt, &keys[i]), i);
	/* A used slot is refused, even for its own key. */
	for (i = 0; i < NKEYS; i += 97)
		assert_int_equal(peertab_insert(&pt, i, &keys[i]), -EINVAL);
	check_chains(&pt);

	for (i = 1; i < NKEYS; i += 2)
		peertab_remove(&pt, i);
	assert_int_equal(pt.count, NKEYS / 2);
	for (i = 0; i < NKEYS; i++)
		assert_int_equal(peertab_find(&pt, &keys[i]),
		    i % 2 == 0 ? (int64_t)i : -ENOENT);
	check_chains(&pt);

	/* A present key in a freed slot: -EEXIST. */
	assert_int_equal(peertab_insert(&pt, 1, &keys[0]), -EEXIST);
	assert_int_equal(pt.count, NKEYS / 2);

	/* The removed come back in each other's slots (pairs swapped). */
	for (i = 1; i + 2 < NKEYS; i += 4) {
		assert_int_equal(peertab_insert(&pt, i, &keys[i + 2]), 0);
		assert_int_equal(peertab_insert(&pt, i + 2, &keys[i]), 0);
	}
	for (i = 1; i + 2 < NKEYS; i += 4) {
		assert_int_equal(peertab_find(&pt, &keys[i]), i + 2);
		assert_int_equal(peertab_find(&pt, &keys[i + 2]), i);
	}
	check_chains(&pt);

	/* All out, in an order unlike the insertion's. */
	for (i = 0; i < NKEYS; i++)
		peertab_remove(&pt, (uint32_t)(((uint64_t)i * 2999) % NKEYS));
	assert_int_equal(pt.count, 0);
	for (i = 0; i <= pt.mask; i++)
		assert_int_equal(pt.heads[i], 0);
	for (i = 0; i < NKEYS; i++)
		assert_int_equal(peertab_find(&pt, &keys[i]), -ENOENT);

	peertab_free(&pt);
	free(keys);
}

static void
test_many(void **state)
{
	run_many(seed_a, UINT64_C(0x9e3779b97f4a7c15));
}

static void
test_many_seeds(void **state)
{
	run_many(seed_b, UINT64_C(42));
	run_many(seed_zero, UINT64_C(7));
}

/*
 * The seed decides the chains: the same keys in the same order in tables
 * with different seeds do not land in the same buckets.  (A client who
 * knew the bucket function could otherwise put all its ports in one.)
 */
static void
test_seed_matters(void **state)
{
	struct peertab pa, pb;
	struct peer_key k;
	uint32_t i;

	assert_int_equal(peertab_init(&pa, 8, seed_a), 0);
	assert_int_equal(peertab_init(&pb, 8, seed_b), 0);
	assert_int_equal(peertab_reserve(&pa, 64), 0);
	assert_int_equal(peertab_reserve(&pb, 64), 0);
	/* One client, 64 ports: the keys differ in two bytes only. */
	for (i = 0; i < 64; i++) {
		key4(&k, "192.0.2.7", (uint16_t)(2000 + i), 0);
		assert_int_equal(peertab_insert(&pa, i, &k), 0);
		assert_int_equal(peertab_insert(&pb, i, &k), 0);
	}
	assert_memory_not_equal(pa.heads, pb.heads,
	    (pa.mask + 1) * sizeof(*pa.heads));
	/* And they spread: 64 keys over 256 buckets leave no chain of 8. */
	for (i = 0; i <= pa.mask; i++) {
		uint32_t s, n = 0;

		for (s = pa.heads[i]; s != 0; s = pa.next[s - 1])
			n++;
		assert_true(n < 8);
	}
	peertab_free(&pa);
	peertab_free(&pb);
}

static void
test_reserve(void **state)
{
	struct peertab pt;
	struct peer_key k[40];
	uint32_t i;

	rng_state = 12345;
	for (i = 0; i < 40; i++)
		key_random(&k[i]);

	assert_int_equal(peertab_init(&pt, 4, seed_a), 0);
	assert_int_equal(peertab_reserve(&pt, 10), 0);
	assert_int_equal(pt.nslots, 10);
	for (i = 0; i < 10; i++)
		assert_int_equal(peertab_insert(&pt, i, &k[i]), 0);
	peertab_remove(&pt, 4);

	/* Shrinking is a no-op. */
	assert_int_equal(peertab_reserve(&pt, 5), 0);
	assert_int_equal(pt.nslots, 10);
	assert_int_equal(peertab_reserve(&pt, 10), 0);
	assert_int_equal(pt.nslots, 10);
	assert_int_equal(peertab_find(&pt, &k[9]), 9);

	/* Growing keeps every entry, the freed slot free, the count. */
	assert_int_equal(peertab_reserve(&pt, 20), 0);
	assert_int_equal(pt.nslots, 20);
	assert_int_equal(pt.count, 9);
	for (i = 0; i < 10; i++)
		assert_int_equal(peertab_find(&pt, &k[i]),
		    i == 4 ? -ENOENT : (int64_t)i);
	check_chains(&pt);
	for (i = 10; i < 20; i++)
		assert_int_equal(peertab_insert(&pt, i, &k[i]), 0);
	assert_int_equal(peertab_insert(&pt, 20, &k[20]), -EINVAL);
	assert_int_equal(peertab_insert(&pt, 4, &k[4]), 0);
	/* Used slots stay used across a grow. */
	assert_int_equal(peertab_insert(&pt, 3, &k[21]), -EINVAL);

	/* Grown again, with the chains' links now in the old slots. */
	assert_int_equal(peertab_reserve(&pt, 40), 0);
	for (i = 20; i < 40; i++)
		assert_int_equal(peertab_insert(&pt, i, &k[i]), 0);
	for (i = 0; i < 40; i++)
		assert_int_equal(peertab_find(&pt, &k[i]), i);
	assert_int_equal(pt.count, 40);
	check_chains(&pt);
	for (i = 0; i < 40; i += 3)
		peertab_remove(&pt, i);
	for (i = 0; i < 40; i++)
		assert_int_equal(peertab_find(&pt, &k[i]),
		    i % 3 == 0 ? -ENOENT : (int64_t)i);
	check_chains(&pt);
	peertab_free(&pt);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_v4),
		cmocka_unit_test(test_key_v6),
		cmocka_unit_test(test_key_refused),
		cmocka_unit_test(test_init_bounds),
		cmocka_unit_test(test_basic),
		cmocka_unit_test(test_many),
		cmocka_unit_test(test_many_seeds),
		cmocka_unit_test(test_seed_matters),
		cmocka_unit_test(test_reserve),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
