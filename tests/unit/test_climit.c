/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * The per-client limits' bookkeeping: the client of an address (IPv4,
 * the IPv6 /64, IPv4-mapped as IPv4), the token bucket's arithmetic, and
 * a table that never grows: idle entries evicted, a set of running
 * clients refusing a new one.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <cmocka.h>

#include "climit.h"

static struct climit	 cl;

static struct climit_key
v4(uint32_t host)
{
	struct sockaddr_in sin;
	struct climit_key k;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)(1024 + host));	/* ignored */
	sin.sin_addr.s_addr = htonl(0x0a000000 + host);
	climit_key_of((const struct sockaddr *)&sin, &k);
	return k;
}

static struct climit_key
v6(const char *text)
{
	struct sockaddr_in6 sin6;
	struct climit_key k;

	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	assert_int_equal(inet_pton(AF_INET6, text, &sin6.sin6_addr), 1);
	climit_key_of((const struct sockaddr *)&sin6, &k);
	return k;
}

static void
test_key(void **state)
{
	struct climit_key a = v4(1), b = v4(2), c;

	(void)state;
	assert_int_equal(a.family, AF_INET);
	assert_memory_not_equal(a.bytes, b.bytes, sizeof(a.bytes));
	/* The port does not matter: v4() sets another for each host. */
	c = v4(1);
	assert_memory_equal(&a, &c, sizeof(a));
	/* One /64 is one client; another /64 another. */
	a = v6("2001:db8:1:2::1");
	b = v6("2001:db8:1:2:aaaa:bbbb:cccc:dddd");
	c = v6("2001:db8:1:3::1");
	assert_int_equal(a.family, AF_INET6);
	assert_memory_equal(&a, &b, sizeof(a));
	assert_memory_not_equal(&a, &c, sizeof(a));
	/* IPv4-mapped: the IPv4 client. */
	a = v6("::ffff:10.0.0.7");
	b = v4(7);
	assert_memory_equal(&a, &b, sizeof(a));
	climit_key_of(NULL, &a);
	assert_int_equal(a.family, 0);
}

static void
test_bucket(void **state)
{
	struct climit_key k = v4(1);
	struct climit_entry *e;
	unsigned i, ok;

	(void)state;
	climit_init(&cl);
	e = climit_get(&cl, &k, 40, 1000);
	assert_non_null(e);
	/* A full bucket: burst requests at once, not one more. */
	for (i = 0, ok = 0; i < 100; i++)
		ok += climit_take(e, 20, 40, 1000);
	assert_int_equal(ok, 40);
	/* 20/s: one token per 50 ms, not before. */
	assert_false(climit_take(e, 20, 40, 1049));
	assert_true(climit_take(e, 20, 40, 1050));
	assert_false(climit_take(e, 20, 40, 1050));
	/* A long pause refills to burst, never above. */
	for (i = 0, ok = 0; i < 100; i++)
		ok += climit_take(e, 20, 40, 1000000);
	assert_int_equal(ok, 40);
	/* A clock that goes back refills nothing. */
	assert_false(climit_take(e, 20, 40, 500));
	/* The same entry again for the same client. */
	assert_ptr_equal(climit_get(&cl, &k, 40, 2000), e);
	/* rate 0: off. */
	for (i = 0; i < 100; i++)
		assert_true(climit_take(e, 0, 40, 1000000));
	/* The ceilings do not overflow. */
	assert_true(climit_take(e, CLIMIT_RATE_MAX, CLIMIT_BURST_MAX,
	    UINT64_MAX / 2));
}

/*
 * A bucket of bytes (the worker's budget for unanswered clients): a
 * packet is taken whole or not at all, the refill is rate bytes/s, and
 * the largest settings do not overflow.
 */
static void
test_bucket_bytes(void **state)
{
	struct climit_bucket b;
	unsigned i, ok;

	(void)state;
	memset(&b, 0, sizeof(b));
	/* The first use after a long time (start: 0) finds it full. */
	for (i = 0, ok = 0; i < 100; i++)
		ok += climit_bucket_take(&b, 516, 1000, 10000, 100000);
	assert_int_equal(ok, 10000 / 516);
	/* What is left (196 bytes) does not make a packet: none sent. */
	assert_false(climit_bucket_take(&b, 516, 1000, 10000, 100000));
	/* 1000 bytes/s: 320 more bytes after 320 ms, not at 319. */
	assert_false(climit_bucket_take(&b, 516, 1000, 10000, 100319));
	assert_true(climit_bucket_take(&b, 516, 1000, 10000, 100320));
	assert_int_equal(b.tokens, 0);
	/* A smaller packet may go where a bigger one may not. */
	assert_false(climit_bucket_take(&b, 4, 1000, 10000, 100323));
	assert_true(climit_bucket_take(&b, 4, 1000, 10000, 100324));
	/* Never more than burst, however long the pause. */
	assert_true(climit_bucket_take(&b, 10000, 1000, 10000, 10000000));
	assert_false(climit_bucket_take(&b, 1, 1000, 10000, 10000000));
	/* A packet above burst never goes. */
	assert_false(climit_bucket_take(&b, 10001, 1000, 10000, 20000000));
	/* rate 0: off, nothing taken. */
	assert_true(climit_bucket_take(&b, 65535, 0, 1, 20000000));
	/* The largest rate, burst and packet, a huge pause: no overflow. */
	memset(&b, 0, sizeof(b));
	assert_true(climit_bucket_take(&b, UINT32_MAX, UINT32_MAX,
	    UINT32_MAX, UINT64_MAX / 2));
	assert_false(climit_bucket_take(&b, 1, UINT32_MAX, UINT32_MAX,
	    UINT64_MAX / 2));
	assert_true(climit_bucket_take(&b, UINT32_MAX, UINT32_MAX,
	    UINT32_MAX, UINT64_MAX / 2 + 1000));
	assert_true(climit_bucket_take(&b, UINT32_MAX, UINT32_MAX,
	    UINT32_MAX, UINT64_MAX - 1));
	/* A pause whose dt * rate is 2^64 exactly: full, not wrapped to 0. */
	memset(&b, 0, sizeof(b));
	assert_true(climit_bucket_take(&b, 1000, UINT32_C(1) << 31, 1000,
	    UINT64_C(1) << 33));
}

static void
test_transfers(void **state)
{
	struct climit_key k = v4(1);
	struct climit_entry *e;

	(void)state;
	climit_init(&cl);
	e = climit_get(&cl, &k, 1, 0);
	assert_true(climit_room(e, 2));
	climit_begin(e);
	assert_true(climit_room(e, 2));
	climit_begin(e);
	assert_false(climit_room(e, 2));
	assert_true(climit_room(e, 0));
	climit_end(e);
	assert_true(climit_room(e, 2));
	climit_end(e);
	climit_end(e);			/* never below 0 */
	assert_int_equal(e->active, 0);
	climit_end(NULL);
}

/* Many clients: the table stays its size; a set of running ones refuses. */
static void
test_table(void **state)
{
	struct climit_entry *e, *first;
	struct climit_key k, k0 = v4(0);
	uint32_t h, busy = 0, refused = 0;

	(void)state;
	climit_init(&cl);
	first = climit_get(&cl, &k0, 1, 0);
	climit_begin(first);
	for (h = 1; h < 10 * CLIMIT_ENTRIES; h++) {
		k = v4(h);
		e = climit_get(&cl, &k, 1, h);
		assert_non_null(e);
		assert_true(e >= &cl.e[0][0] &&
		    e < &cl.e[0][0] + CLIMIT_ENTRIES);
	}
	assert_int_equal(cl.used, CLIMIT_ENTRIES);
	/* The running client kept its entry through the evictions. */
	assert_ptr_equal(climit_get(&cl, &k0, 1, h), first);
	/* Every entry running: a new client gets none. */
	for (h = 0; h < 20 * CLIMIT_ENTRIES; h++) {
		k = v4(0x100000 + h);
		if ((e = climit_get(&cl, &k, 1, h)) == NULL) {
			refused++;
			continue;
		}
		if (e->active == 0) {
			climit_begin(e);
			busy++;
		}
	}
	assert_int_equal(cl.used, CLIMIT_ENTRIES);
	assert_true(busy <= CLIMIT_ENTRIES);
	assert_true(refused > 0);
	/* Once every running client has ended, new clients find room. */
	for (h = 0; h < CLIMIT_SETS; h++)
		for (busy = 0; busy < CLIMIT_WAYS; busy++)
			climit_end(&cl.e[h][busy]);
	k = v4(0x300000);
	assert_non_null(climit_get(&cl, &k, 1, 0));
	assert_int_equal(cl.used, CLIMIT_ENTRIES);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key),
		cmocka_unit_test(test_bucket),
		cmocka_unit_test(test_bucket_bytes),
		cmocka_unit_test(test_transfers),
		cmocka_unit_test(test_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
