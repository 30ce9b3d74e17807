/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * Unit tests for metrics.c: the bucket of every value at and around every
 * bound of every histogram, against a plain search over the bounds for
 * random values; recording and quantiles; the space-saving tables (exact
 * below their size, the heavy key kept and the counts' bounds held in a
 * long stream of many keys, an entry held by another writer left alone,
 * a long name cut); the client keys (IPv4, IPv6 /64, IPv4-mapped); and
 * the reset baseline subtracted, never below zero.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "metrics.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t
rng(void)
{
	/* xorshift64*: reproducible, good enough to spread values. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

/* The bucket by the definition: the first bound v does not exceed. */
static unsigned
bucket_ref(enum tftp_shm_hist_id id, uint64_t v)
{
	unsigned i;

	for (i = 0; i < TFTP_SHM_HIST_BUCKETS; i++)
		if (v <= metrics_bound(id, i))
			return i;
	return TFTP_SHM_HIST_BUCKETS;
}

static void
test_bucket_bounds(void **state)
{
	unsigned id, i;
	uint64_t b;

	(void)state;
	for (id = 0; id < TFTP_SHM_H_MAX; id++) {
		for (i = 0; i < TFTP_SHM_HIST_BUCKETS; i++) {
			b = metrics_bound(id, i);
			if (i > 0)
				assert_true(b > metrics_bound(id, i - 1));
			assert_int_equal(metrics_bucket(id, b), i);
			assert_int_equal(metrics_bucket(id, b + 1), i + 1);
			if (b > 0 && (i == 0 || b - 1 > metrics_bound(id,
			    i - 1)))
				assert_int_equal(metrics_bucket(id, b - 1), i);
		}
		assert_int_equal(metrics_bucket(id, 0), 0);
		assert_int_equal(metrics_bucket(id, UINT64_MAX),
		    TFTP_SHM_HIST_BUCKETS);
		assert_int_equal(metrics_bucket(id, UINT64_MAX - 1),
		    TFTP_SHM_HIST_BUCKETS);
	}
	/* The layouts the man page documents. */
	assert_int_equal(metrics_bound(TFTP_SHM_H_DURATION, 0), 1);
	assert_int_equal(metrics_bound(TFTP_SHM_H_SIZE, 0), 512);
	assert_int_equal(metrics_bound(TFTP_SHM_H_ACK_RTT, 0), 8);
	assert_int_equal(metrics_bound(TFTP_SHM_H_RETRANSMITS, 0), 0);
	assert_int_equal(metrics_bound(TFTP_SHM_H_RETRANSMITS, 1), 1);
	assert_int_equal(metrics_bound(TFTP_SHM_H_RETRANSMITS, 2), 3);
	assert_int_equal(metrics_bucket(TFTP_SHM_H_RETRANSMITS, 0), 0);
	assert_int_equal(metrics_bucket(TFTP_SHM_H_RETRANSMITS, 1), 1);
	assert_int_equal(metrics_bucket(TFTP_SHM_H_RETRANSMITS, 2), 2);
	assert_int_equal(metrics_bucket(TFTP_SHM_H_SIZE, 513), 1);
	assert_int_equal(metrics_bound(TFTP_SHM_H_SIZE,
	    TFTP_SHM_HIST_BUCKETS), UINT64_MAX);
	assert_int_equal(metrics_bucket(TFTP_SHM_H_MAX, 5),
	    TFTP_SHM_HIST_BUCKETS);
}

static void
test_bucket_random(void **state)
{
	unsigned id, n;
	uint64_t v;

	(void)state;
	for (n = 0; n < 200000; n++) {
		id = (unsigned)(n % TFTP_SHM_H_MAX);
		/* Every magnitude, not only huge numbers. */
		v = rng() >> (rng() % 64);
		assert_int_equal(metrics_bucket(id, v), bucket_ref(id, v));
	}
}

static void
test_record(void **state)
{
	struct tftp_shm_hist h[TFTP_SHM_H_MAX];

	(void)state;
	memset(h, 0, sizeof(h));
	metrics_record(h, TFTP_SHM_H_SIZE, 0);
	metrics_record(h, TFTP_SHM_H_SIZE, 512);
	metrics_record(h, TFTP_SHM_H_SIZE, 513);
	metrics_record(h, TFTP_SHM_H_SIZE, UINT64_C(1) << 40);
	metrics_record(h, TFTP_SHM_H_MAX, 7);	/* ignored */
	assert_int_equal(h[TFTP_SHM_H_SIZE].count, 4);
	assert_int_equal(h[TFTP_SHM_H_SIZE].sum, 1025 + (UINT64_C(1) << 40));
	assert_int_equal(h[TFTP_SHM_H_SIZE].bucket[0], 2);
	assert_int_equal(h[TFTP_SHM_H_SIZE].bucket[1], 1);
	assert_int_equal(h[TFTP_SHM_H_SIZE].bucket[TFTP_SHM_HIST_BUCKETS], 1);
	assert_int_equal(h[TFTP_SHM_H_DURATION].count, 0);
}

static void
test_quantile(void **state)
{
	struct tftp_shm_hist hs[TFTP_SHM_H_MAX], h;
	double q;
	int i;

	(void)state;
	memset(&h, 0, sizeof(h));
	memset(hs, 0, sizeof(hs));
	assert_true(metrics_quantile(&h, TFTP_SHM_H_SIZE, 0.5) < 0);
	/* 100 transfers of 1000..1024 bytes: bucket (512, 1024]. */
	for (i = 0; i < 100; i++)
		metrics_record(hs, TFTP_SHM_H_SIZE, 1000);
	h = hs[TFTP_SHM_H_SIZE];
	q = metrics_quantile(&h, TFTP_SHM_H_SIZE, 0.5);
	assert_true(q > 767.9 && q < 768.1);
	q = metrics_quantile(&h, TFTP_SHM_H_SIZE, 0.99);
	assert_true(q > 512 && q <= 1024);
	/* One more, far above: p50 stays, p99.5+ is in the top bucket. */
	metrics_record(hs, TFTP_SHM_H_SIZE, 1u << 20);
	h = hs[TFTP_SHM_H_SIZE];
	q = metrics_quantile(&h, TFTP_SHM_H_SIZE, 0.5);
	assert_true(q > 512 && q < 1024);
	q = metrics_quantile(&h, TFTP_SHM_H_SIZE, 1.0);
	assert_true(q > 524288 && q <= 1048576);
	/* Milliseconds come out as seconds. */
	metrics_record(hs, TFTP_SHM_H_DURATION, 3);
	h = hs[TFTP_SHM_H_DURATION];
	q = metrics_quantile(&h, TFTP_SHM_H_DURATION, 1.0);
	assert_true(q > 0.0039 && q < 0.0041);
	/* Everything beyond the last bound: that bound. */
	memset(&h, 0, sizeof(h));
	h.bucket[TFTP_SHM_HIST_BUCKETS] = 3;
	q = metrics_quantile(&h, TFTP_SHM_H_RETRANSMITS, 0.5);
	assert_true(q == (double)metrics_bound(TFTP_SHM_H_RETRANSMITS,
	    TFTP_SHM_HIST_BUCKETS - 1));
}

static void
file_add(struct tftp_shm_top *tab, const char *name, uint64_t bytes,
    bool failed)
{
	metrics_top_add(tab, TFTP_SHM_TOPN, 0, name, strlen(name), bytes,
	    failed);
}

static struct tftp_shm_top *
file_find(struct tftp_shm_top *tab, const char *name)
{
	size_t i;

	for (i = 0; i < TFTP_SHM_TOPN; i++)
		if (tab[i].requests > 0 &&
		    strcmp((const char *)tab[i].key, name) == 0)
			return &tab[i];
	return NULL;
}

static void
test_top_exact(void **state)
{
	struct tftp_shm_top tab[TFTP_SHM_TOPN], copy;
	char name[32];
	int i, j;

	(void)state;
	memset(tab, 0, sizeof(tab));
	/* As many keys as entries: every count exact. */
	for (i = 0; i < TFTP_SHM_TOPN; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		for (j = 0; j <= i; j++)
			file_add(tab, name, 10, j == 0);
	}
	for (i = 0; i < TFTP_SHM_TOPN; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		assert_non_null(file_find(tab, name));
		assert_int_equal(file_find(tab, name)->requests, i + 1);
		assert_int_equal(file_find(tab, name)->bytes, 10 * (i + 1));
		assert_int_equal(file_find(tab, name)->failures, 1);
		assert_int_equal(file_find(tab, name)->error, 0);
		assert_int_equal(file_find(tab, name)->seq % 2, 0);
		assert_true(metrics_top_read(file_find(tab, name), &copy));
		assert_int_equal(copy.requests, i + 1);
	}
	/* A prefix is another name. */
	file_add(tab, "f1x", 0, false);
	assert_int_equal(file_find(tab, "f1")->requests, 2);
	assert_non_null(file_find(tab, "f1x"));
	/* It took the entry with the fewest requests, "f0", and its count. */
	assert_null(file_find(tab, "f0"));
	assert_int_equal(file_find(tab, "f1x")->requests, 2);
	assert_int_equal(file_find(tab, "f1x")->error, 1);
	assert_int_equal(file_find(tab, "f1x")->bytes, 0);
	assert_int_equal(file_find(tab, "f1x")->failures, 0);
}

/* A stream of many rare names and one heavy one. */
static void
test_top_heavy(void **state)
{
	struct tftp_shm_top tab[TFTP_SHM_TOPN], *e;
	static uint64_t truth[5000];
	uint64_t total = 0, sum = 0, heavy = 0;
	char name[32];
	unsigned i, k;

	(void)state;
	memset(tab, 0, sizeof(tab));
	memset(truth, 0, sizeof(truth));
	for (i = 0; i < 100000; i++) {
		if (i % 5 == 0) {
			file_add(tab, "heavy", 1, false);
			heavy++;
		} else {
			k = (unsigned)(rng() % 5000);
			snprintf(name, sizeof(name), "n%u", k);
			file_add(tab, name, 1, false);
			truth[k]++;
		}
		total++;
	}
	/* Space-saving: a full table's counts add up to the stream. */
	for (i = 0; i < TFTP_SHM_TOPN; i++)
		sum += tab[i].requests;
	assert_int_equal(sum, total);
	e = file_find(tab, "heavy");
	assert_non_null(e);
	assert_true(e->requests >= heavy);
	assert_true(e->requests - e->error <= heavy);
	for (i = 0; i < TFTP_SHM_TOPN; i++) {
		if (strcmp((const char *)tab[i].key, "heavy") == 0)
			continue;
		k = (unsigned)strtoul((const char *)tab[i].key + 1, NULL, 10);
		/* An upper bound, at most error too high. */
		assert_true(tab[i].requests >= truth[k]);
		assert_true(tab[i].requests - tab[i].error <= truth[k]);
	}
}

static void
test_top_busy_entry(void **state)
{
	struct tftp_shm_top tab[TFTP_SHM_TOPN];

	(void)state;
	memset(tab, 0, sizeof(tab));
	file_add(tab, "a", 5, false);
	/* Another process holds the entry: this update is dropped. */
	tab[0].seq++;
	file_add(tab, "a", 5, false);
	assert_int_equal(tab[0].requests, 1);
	assert_int_equal(tab[0].bytes, 5);
	tab[0].seq++;
	file_add(tab, "a", 5, true);
	assert_int_equal(tab[0].requests, 2);
	assert_int_equal(tab[0].failures, 1);
	assert_int_equal(tab[0].seq % 2, 0);
}

static void
test_top_long_name(void **state)
{
	struct tftp_shm_top tab[TFTP_SHM_TOPN], copy;
	char name[300];

	(void)state;
	memset(tab, 0, sizeof(tab));
	memset(name, 'x', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	file_add(tab, name, 1, false);
	file_add(tab, name, 1, false);
	assert_int_equal(tab[0].requests, 2);
	assert_int_equal(tab[1].requests, 0);
	assert_true(metrics_top_read(&tab[0], &copy));
	assert_int_equal(strlen((const char *)copy.key),
	    TFTP_SHM_FILE_MAX - 1);
	/* A free entry, or one whose key fills it (from a file): safe. */
	assert_false(metrics_top_read(&tab[1], &copy));
	assert_int_equal(copy.requests, 0);
	memset(tab[0].key, 'y', sizeof(tab[0].key));
	assert_true(metrics_top_read(&tab[0], &copy));
	assert_int_equal(copy.key[sizeof(copy.key) - 1], '\0');
	/* Held odd all along: no copy. */
	tab[0].seq++;
	assert_false(metrics_top_read(&tab[0], &copy));
}

static void
test_client_key(void **state)
{
	struct sockaddr_in sin;
	struct sockaddr_in6 a, b;
	uint8_t ka[16], kb[16];
	uint16_t fam;

	(void)state;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	inet_pton(AF_INET, "192.0.2.7", &sin.sin_addr);
	assert_int_equal(metrics_client_key((struct sockaddr *)&sin, &fam,
	    ka), 4);
	assert_int_equal(fam, AF_INET);
	assert_memory_equal(ka, "\xc0\x00\x02\x07", 4);

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	a.sin6_family = b.sin6_family = AF_INET6;
	inet_pton(AF_INET6, "2001:db8:1:2::17", &a.sin6_addr);
	inet_pton(AF_INET6, "2001:db8:1:2:abcd::9", &b.sin6_addr);
	assert_int_equal(metrics_client_key((struct sockaddr *)&a, &fam, ka),
	    8);
	assert_int_equal(fam, AF_INET6);
	assert_int_equal(metrics_client_key((struct sockaddr *)&b, &fam, kb),
	    8);
	assert_memory_equal(ka, kb, 16);
	inet_pton(AF_INET6, "2001:db8:1:3::17", &b.sin6_addr);
	metrics_client_key((struct sockaddr *)&b, &fam, kb);
	assert_memory_not_equal(ka, kb, 16);

	/* A dual-stack socket's IPv4 client. */
	inet_pton(AF_INET6, "::ffff:192.0.2.7", &a.sin6_addr);
	assert_int_equal(metrics_client_key((struct sockaddr *)&a, &fam, kb),
	    4);
	assert_int_equal(fam, AF_INET);
	metrics_client_key((struct sockaddr *)&sin, &fam, ka);
	assert_memory_equal(ka, kb, 16);

	a.sin6_family = AF_UNIX;
	assert_int_equal(metrics_client_key((struct sockaddr *)&a, &fam, ka),
	    0);
}

static void
test_baseline(void **state)
{
	static struct tftp_shm_stats st, copy;
	struct tftp_shm_baseline b;
	uint64_t restarts = 3;

	(void)state;
	memset(&st, 0, sizeof(st));
	st.counters[TFTP_SHM_C_RRQ] = 10;
	st.errors[1] = 2;
	st.pool_exhausted = 4;
	metrics_record(st.hist, TFTP_SHM_H_SIZE, 700);
	metrics_baseline_take(&st, restarts, &b);
	st.counters[TFTP_SHM_C_RRQ] = 15;
	metrics_record(st.hist, TFTP_SHM_H_SIZE, 100);
	st.active_transfers = 2;
	copy = st;
	metrics_baseline_sub(&copy, &restarts, &b);
	assert_int_equal(copy.counters[TFTP_SHM_C_RRQ], 5);
	assert_int_equal(copy.errors[1], 0);
	assert_int_equal(copy.pool_exhausted, 0);
	assert_int_equal(restarts, 0);
	assert_int_equal(copy.hist[TFTP_SHM_H_SIZE].count, 1);
	assert_int_equal(copy.hist[TFTP_SHM_H_SIZE].sum, 100);
	assert_int_equal(copy.hist[TFTP_SHM_H_SIZE].bucket[0], 1);
	assert_int_equal(copy.hist[TFTP_SHM_H_SIZE].bucket[1], 0);
	/* Gauges are not counts since anything. */
	assert_int_equal(copy.active_transfers, 2);
	/* A baseline above the count (a lying file): 0, not a wrap. */
	b.counters[TFTP_SHM_C_WRQ] = 7;
	copy = st;
	metrics_baseline_sub(&copy, &restarts, &b);
	assert_int_equal(copy.counters[TFTP_SHM_C_WRQ], 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bucket_bounds),
		cmocka_unit_test(test_bucket_random),
		cmocka_unit_test(test_record),
		cmocka_unit_test(test_quantile),
		cmocka_unit_test(test_top_exact),
		cmocka_unit_test(test_top_heavy),
		cmocka_unit_test(test_top_busy_entry),
		cmocka_unit_test(test_top_long_name),
		cmocka_unit_test(test_client_key),
		cmocka_unit_test(test_baseline),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
