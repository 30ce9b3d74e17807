/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * The log limiter's bookkeeping: at most RATELOG_PER_ADDR lines per kind
 * and address and RATELOG_PER_KIND per kind in an interval, summaries
 * when it is over that add up to exactly what was suppressed, however
 * many addresses (the table evicting), and a bounded flush that resumes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <cmocka.h>

#include "ratelog.h"

static struct ratelog	 rl;

static struct ratelog_addr
v4(uint32_t host)
{
	struct sockaddr_in sin;
	struct ratelog_addr a;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)(1024 + host));	/* ignored */
	sin.sin_addr.s_addr = htonl(0x0a000000 + host);
	ratelog_addr_of((const struct sockaddr *)&sin, &a);
	return a;
}

/* n lines of kind from a at now: how many were allowed. */
static unsigned
send_n(unsigned kind, const struct ratelog_addr *a, unsigned n, uint64_t now)
{
	unsigned i, ok = 0;

	for (i = 0; i < n; i++)
		if (ratelog_allow(&rl, kind, a, now))
			ok++;
	return ok;
}

/* Every summary of a flush at now; their counts summed. */
static uint64_t
flush_sum(uint64_t now, bool all, size_t *nsum)
{
	struct ratelog_summary out[64];
	uint64_t sum = 0;
	size_t i, n;

	*nsum = 0;
	while ((n = ratelog_flush(&rl, now, all, out, 64)) > 0) {
		for (i = 0; i < n; i++)
			sum += out[i].count;
		*nsum += n;
	}
	return sum;
}

static void
test_per_address(void **state)
{
	struct ratelog_addr a = v4(1), b = v4(2);
	struct ratelog_summary out[8];
	size_t n;

	(void)state;
	ratelog_init(&rl);
	assert_int_equal(send_n(3, &a, 100, 1000), RATELOG_PER_ADDR);
	/* Another address, and another kind, have their own allowance. */
	assert_int_equal(send_n(3, &b, 5, 1001), 5);
	assert_int_equal(send_n(4, &a, 5, 1001), 5);
	/* Not over yet: nothing to say. */
	assert_false(ratelog_due(&rl, 3, 1000 + RATELOG_INTERVAL_MS - 1));
	assert_int_equal(ratelog_flush(&rl, 1000 + RATELOG_INTERVAL_MS - 1,
	    false, out, 8), 0);
	assert_true(ratelog_due(&rl, 3, 1000 + RATELOG_INTERVAL_MS));
	n = ratelog_flush(&rl, 1000 + RATELOG_INTERVAL_MS, false, out, 8);
	/* Kind 3: one summary, a's 90; kind 4 suppressed nothing. */
	assert_int_equal(n, 1);
	assert_int_equal(out[0].kind, 3);
	assert_int_equal(out[0].count, 100 - RATELOG_PER_ADDR);
	assert_int_equal(out[0].naddrs, 1);
	assert_int_equal(out[0].addr.family, AF_INET);
	assert_memory_equal(out[0].addr.bytes, "\x0a\x00\x00\x01", 4);
	/* A new interval: a may log again. */
	assert_int_equal(send_n(3, &a, 3, 7000), 3);
	assert_int_equal(ratelog_flush(&rl, 7000, true, out, 8), 0);
}

/* The port is no part of the key: a client's retries share a count. */
static void
test_port_ignored(void **state)
{
	struct sockaddr_in6 s6;
	struct ratelog_addr a, b;

	(void)state;
	memset(&s6, 0, sizeof(s6));
	s6.sin6_family = AF_INET6;
	s6.sin6_addr.s6_addr[15] = 1;
	s6.sin6_port = htons(1000);
	ratelog_addr_of((const struct sockaddr *)&s6, &a);
	s6.sin6_port = htons(2000);
	ratelog_addr_of((const struct sockaddr *)&s6, &b);
	assert_int_equal(a.family, AF_INET6);
	assert_memory_equal(&a, &b, sizeof(a));
	ratelog_addr_of(NULL, &a);
	assert_int_equal(a.family, 0);
}

/* Many addresses: the kind's cap, and counts kept through eviction. */
static void
test_many_addresses(void **state)
{
	struct ratelog_addr a;
	uint64_t sent = 0, allowed = 0, sum;
	size_t nsum;
	unsigned i;

	(void)state;
	ratelog_init(&rl);
	for (i = 0; i < 1000; i++) {
		a = v4(i % 300);
		if (ratelog_allow(&rl, 0, &a, 10 + i / 100))
			allowed++;
		sent++;
	}
	assert_int_equal(allowed, RATELOG_PER_KIND);
	sum = flush_sum(10 + RATELOG_INTERVAL_MS, false, &nsum);
	assert_int_equal(sum, sent - allowed);
	/* A line per address up to the limit, then one for the rest. */
	assert_int_equal(nsum, RATELOG_SUMMARY_ADDRS + 1);
}

/* An address evicted with a count is still named, when it is alone. */
static void
test_evicted_named(void **state)
{
	struct ratelog_summary out[8];
	struct ratelog_addr a = v4(1), b;
	unsigned i;
	size_t n;

	(void)state;
	ratelog_init(&rl);
	assert_int_equal(send_n(4, &a, 50, 1), RATELOG_PER_ADDR);
	/* Another kind's lines from enough addresses to evict a's entry. */
	for (i = 0; i < RATELOG_ENTRIES; i++) {
		b = v4(100 + i);
		(void)ratelog_allow(&rl, 2, &b, 2);
	}
	n = ratelog_flush(&rl, 1 + RATELOG_INTERVAL_MS, false, out, 8);
	assert_int_equal(n, 1);
	assert_int_equal(out[0].kind, 4);
	assert_int_equal(out[0].count, 50 - RATELOG_PER_ADDR);
	assert_int_equal(out[0].naddrs, 1);
	assert_memory_equal(&out[0].addr, &a, sizeof(a));
}

/* Lines without an address, and exit: flush all, whatever the time. */
static void
test_no_address_flush_all(void **state)
{
	struct ratelog_summary out[8];
	size_t n;

	(void)state;
	ratelog_init(&rl);
	assert_int_equal(send_n(7, NULL, 25, 5), RATELOG_PER_ADDR);
	assert_int_equal(ratelog_flush(&rl, 6, false, out, 8), 0);
	n = ratelog_flush(&rl, 6, true, out, 8);
	assert_int_equal(n, 1);
	assert_int_equal(out[0].count, 25 - RATELOG_PER_ADDR);
	assert_int_equal(out[0].naddrs, 1);
	assert_int_equal(out[0].addr.family, 0);
	/* Nothing is left open. */
	assert_false(ratelog_due(&rl, 7, 1000000));
}

/* A flush with room for one kind's summaries at a time still ends. */
static void
test_bounded_flush(void **state)
{
	struct ratelog_summary out[RATELOG_SUMMARY_ADDRS + 1];
	struct ratelog_addr a;
	uint64_t sum = 0;
	unsigned kind, i, calls = 0;
	size_t n;

	(void)state;
	ratelog_init(&rl);
	for (kind = 0; kind < RATELOG_KINDS; kind++)
		for (i = 0; i < 6; i++) {
			a = v4(i);
			(void)send_n(kind, &a, RATELOG_PER_ADDR + 1, 1);
		}
	/* Over the kind cap too: 6 x 11 = 66 lines a kind, 30 allowed. */
	while ((n = ratelog_flush(&rl, 1 + RATELOG_INTERVAL_MS, false, out,
	    RATELOG_SUMMARY_ADDRS + 1)) > 0) {
		calls++;
		for (i = 0; i < n; i++)
			sum += out[i].count;
	}
	assert_int_equal(sum, (uint64_t)RATELOG_KINDS *
	    (6 * (RATELOG_PER_ADDR + 1) - RATELOG_PER_KIND));
	/* (96 addresses in 64 entries: some kinds' are evicted, their
	 * counts in one summary, so two kinds may share a call.) */
	assert_true(calls > 1 && calls <= RATELOG_KINDS);
	/* An unknown kind is never limited. */
	a = v4(1);
	assert_int_equal(send_n(RATELOG_KINDS, &a, 100, 1), 100);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_per_address),
		cmocka_unit_test(test_port_ignored),
		cmocka_unit_test(test_many_addresses),
		cmocka_unit_test(test_evicted_named),
		cmocka_unit_test(test_no_address_flush_all),
		cmocka_unit_test(test_bounded_flush),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
