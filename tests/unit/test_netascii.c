/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * Unit tests for netascii.c: the pair rules in both directions, pairs cut
 * by block boundaries, the growth count used for tsize, and round trips of
 * random data split at every possible boundary and output capacity.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>

#include "netascii.h"

#define LIT(s)	((const uint8_t *)(s)), (sizeof(s) - 1)

/* Deterministic generator, so a failure reproduces. */
static uint32_t
rnd(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* Text rich in the bytes that matter: CR, LF, NUL, and plain ones. */
static void
fill_random(uint8_t *buf, size_t len, uint32_t *seed)
{
	static const uint8_t special[] = { '\r', '\n', '\0', 'a', 0xff };
	size_t i;

	for (i = 0; i < len; i++) {
		uint32_t r = rnd(seed);

		if (r % 3 == 0)
			buf[i] = (uint8_t)(r >> 8);
		else
			buf[i] = special[(r >> 8) % sizeof(special)];
	}
}

/* Encode everything in one go (output big enough), flushing the carry. */
static size_t
encode_all(const uint8_t *in, size_t len, uint8_t *out)
{
	struct netascii_enc st = { 0 };
	size_t used, n;

	n = netascii_encode(&st, in, len, &used, out, 2 * len);
	assert_int_equal(used, len);
	assert_false(st.pending);
	return n;
}

static void
test_encode_basic(void **state)
{
	struct netascii_enc st = { 0 };
	uint8_t out[32];
	size_t used, n;

	n = netascii_encode(&st, LIT("a\nb\rc\r\n\n"), &used, out,
	    sizeof(out));
	assert_int_equal(used, 8);
	assert_int_equal(n, 13);
	assert_memory_equal(out, "a\r\nb\r\0c\r\0\r\n\r\n", 13);
	assert_false(st.pending);

	/* Other bytes, NUL and 8-bit included, pass unchanged. */
	n = netascii_encode(&st, LIT("\0\x7f\xff\t"), &used, out,
	    sizeof(out));
	assert_int_equal(n, 4);
	assert_memory_equal(out, "\0\x7f\xff\t", 4);

	/* Nothing in, nothing out. */
	assert_int_equal(netascii_encode(&st, out, 0, &used, out, 4), 0);
	assert_int_equal(used, 0);
}

static void
test_encode_pair_split(void **state)
{
	struct netascii_enc st = { 0 };
	uint8_t out[8];
	size_t used, n;

	/* Room for the CR only: the LF is owed to the next block. */
	n = netascii_encode(&st, LIT("x\n"), &used, out, 2);
	assert_int_equal(n, 2);
	assert_int_equal(used, 2);
	assert_memory_equal(out, "x\r", 2);
	assert_true(st.pending);

	/* No output room: nothing moves, the debt stays. */
	n = netascii_encode(&st, LIT("y"), &used, out, 0);
	assert_int_equal(n, 0);
	assert_int_equal(used, 0);
	assert_true(st.pending);

	/* The owed byte comes first, then new input. */
	n = netascii_encode(&st, LIT("y\r"), &used, out, 3);
	assert_int_equal(n, 3);
	assert_int_equal(used, 2);
	assert_memory_equal(out, "\ny\r", 3);
	assert_true(st.pending);
	assert_int_equal(st.next, '\0');

	/* End of file: flush with no input. */
	n = netascii_encode(&st, NULL, 0, &used, out, sizeof(out));
	assert_int_equal(n, 1);
	assert_int_equal(used, 0);
	assert_int_equal(out[0], '\0');
	assert_false(st.pending);
}

static void
test_encode_output_full(void **state)
{
	struct netascii_enc st = { 0 };
	uint8_t out[4];
	size_t used, n;

	/* Input left over when the output fills. */
	n = netascii_encode(&st, LIT("abcdef"), &used, out, sizeof(out));
	assert_int_equal(n, 4);
	assert_int_equal(used, 4);
	assert_memory_equal(out, "abcd", 4);
	assert_false(st.pending);
}

static void
test_growth(void **state)
{
	assert_int_equal(netascii_growth(NULL, 0), 0);
	assert_int_equal(netascii_growth(LIT("plain text")), 0);
	assert_int_equal(netascii_growth(LIT("a\nb\n")), 2);
	assert_int_equal(netascii_growth(LIT("\r\n\r\n")), 4);
	assert_int_equal(netascii_growth(LIT("\r\0\r")), 2);
	assert_int_equal(netascii_growth(LIT("\0\0\xff")), 0);
}

static void
test_growth_matches_encoding(void **state)
{
	uint8_t in[512], out[1024];
	uint32_t seed = 0x1234567;
	size_t len;

	for (len = 0; len <= sizeof(in); len += 7) {
		fill_random(in, len, &seed);
		assert_int_equal(encode_all(in, len, out),
		    len + netascii_growth(in, len));
	}
}

static void
test_decode_basic(void **state)
{
	struct netascii_dec st = { 0 };
	uint8_t out[32];
	size_t n;

	n = netascii_decode(&st, LIT("a\r\nb\r\0c"), out);
	assert_int_equal(n, 5);
	assert_memory_equal(out, "a\nb\rc", 5);
	assert_false(st.cr);

	/* A CR that starts no pair is kept, and what follows too. */
	n = netascii_decode(&st, LIT("\rx\r\r\n"), out);
	assert_int_equal(n, 4);
	assert_memory_equal(out, "\rx\r\n", 4);

	/* A bare LF and a lone NUL pass through. */
	n = netascii_decode(&st, LIT("\n\0z"), out);
	assert_int_equal(n, 3);
	assert_memory_equal(out, "\n\0z", 3);
	assert_int_equal(netascii_decode_finish(&st, out), 0);
}

static void
test_decode_pair_split(void **state)
{
	struct netascii_dec st = { 0 };
	uint8_t out[8];

	/* CR at the end of one block, LF at the start of the next. */
	assert_int_equal(netascii_decode(&st, LIT("ab\r"), out), 2);
	assert_memory_equal(out, "ab", 2);
	assert_true(st.cr);
	assert_int_equal(netascii_decode(&st, LIT("\ncd"), out), 3);
	assert_memory_equal(out, "\ncd", 3);
	assert_false(st.cr);

	/* CR NUL across blocks. */
	assert_int_equal(netascii_decode(&st, LIT("\r"), out), 0);
	assert_int_equal(netascii_decode(&st, LIT("\0"), out), 1);
	assert_int_equal(out[0], '\r');

	/* CR then something else: inlen + 1 bytes out. */
	assert_int_equal(netascii_decode(&st, LIT("\r"), out), 0);
	assert_int_equal(netascii_decode(&st, LIT("q"), out), 2);
	assert_memory_equal(out, "\rq", 2);

	/* An empty block keeps the carry. */
	assert_int_equal(netascii_decode(&st, LIT("\r"), out), 0);
	assert_int_equal(netascii_decode(&st, out, 0, out), 0);
	assert_true(st.cr);

	/* End of data with a CR held back. */
	assert_int_equal(netascii_decode_finish(&st, out), 1);
	assert_int_equal(out[0], '\r');
	assert_false(st.cr);
	assert_int_equal(netascii_decode_finish(&st, out), 0);
}

/* Every input split point, then every output capacity from 1 to 5. */
static void
check_encode_splits(const uint8_t *in, size_t len, const uint8_t *want,
    size_t wlen)
{
	uint8_t *out = malloc(2 * len + 1);
	size_t k, cap, used, n, got, pos;
	struct netascii_enc st;

	assert_non_null(out);
	for (k = 0; k <= len; k++) {
		memset(&st, 0, sizeof(st));
		n = netascii_encode(&st, in, k, &used, out, 2 * len + 1);
		assert_int_equal(used, k);
		n += netascii_encode(&st, in + k, len - k, &used, out + n,
		    2 * len + 1 - n);
		assert_int_equal(used, len - k);
		assert_false(st.pending);
		assert_int_equal(n, wlen);
		assert_memory_equal(out, want, wlen);
	}
	for (cap = 1; cap <= 5; cap++) {
		memset(&st, 0, sizeof(st));
		got = pos = 0;
		while (pos < len || st.pending) {
			n = netascii_encode(&st, in + pos, len - pos, &used,
			    out + got, cap);
			/* Progress every call: a block is never empty. */
			assert_true(n > 0);
			assert_true(n <= cap);
			got += n;
			pos += used;
			assert_true(got <= wlen);
		}
		assert_int_equal(got, wlen);
		assert_memory_equal(out, want, wlen);
	}
	free(out);
}

/* Every split point of the encoded stream, one cut and two cuts. */
static void
check_decode_splits(const uint8_t *enc, size_t elen, const uint8_t *want,
    size_t wlen)
{
	uint8_t *out = malloc(elen + 3);
	struct netascii_dec st;
	size_t j, j2, n, step;

	assert_non_null(out);
	for (j = 0; j <= elen; j++) {
		memset(&st, 0, sizeof(st));
		n = netascii_decode(&st, enc, j, out);
		assert_true(n <= j + 1);
		n += netascii_decode(&st, enc + j, elen - j, out + n);
		n += netascii_decode_finish(&st, out + n);
		assert_int_equal(n, wlen);
		assert_memory_equal(out, want, wlen);
	}
	/* Byte by byte: each call sees at most one byte. */
	memset(&st, 0, sizeof(st));
	n = 0;
	for (j = 0; j < elen; j++) {
		step = netascii_decode(&st, enc + j, 1, out + n);
		assert_true(step <= 2);
		n += step;
	}
	n += netascii_decode_finish(&st, out + n);
	assert_int_equal(n, wlen);
	assert_memory_equal(out, want, wlen);
	/* Two cuts on short inputs. */
	if (elen <= 64) {
		for (j = 0; j <= elen; j++)
			for (j2 = j; j2 <= elen; j2++) {
				memset(&st, 0, sizeof(st));
				n = netascii_decode(&st, enc, j, out);
				n += netascii_decode(&st, enc + j, j2 - j,
				    out + n);
				n += netascii_decode(&st, enc + j2, elen - j2,
				    out + n);
				n += netascii_decode_finish(&st, out + n);
				assert_int_equal(n, wlen);
				assert_memory_equal(out, want, wlen);
			}
	}
	free(out);
}

static void
test_round_trip_random(void **state)
{
	static const size_t lens[] = { 0, 1, 2, 3, 5, 8, 17, 40, 64, 150, 300 };
	uint8_t in[300], enc[600];
	uint32_t seed = 0xdecafbad;
	size_t i, rep, elen;

	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		for (rep = 0; rep < 4; rep++) {
			fill_random(in, lens[i], &seed);
			elen = encode_all(in, lens[i], enc);
			check_encode_splits(in, lens[i], enc, elen);
			check_decode_splits(enc, elen, in, lens[i]);
		}
	}
}

static void
test_round_trip_edges(void **state)
{
	static const struct {
		const char	*s;
		size_t		 len;
	} cases[] = {
		{ "\r", 1 }, { "\n", 1 }, { "\r\n", 2 }, { "\n\r", 2 },
		{ "\r\r\r", 3 }, { "\n\n\n", 3 }, { "\r\0", 2 },
		{ "\0\r", 2 }, { "\r\n\r\n\r", 5 }, { "line\n", 5 },
	};
	uint8_t enc[16];
	size_t i, elen;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const uint8_t *in = (const uint8_t *)cases[i].s;

		elen = encode_all(in, cases[i].len, enc);
		assert_int_equal(elen, cases[i].len +
		    netascii_growth(in, cases[i].len));
		check_encode_splits(in, cases[i].len, enc, elen);
		check_decode_splits(enc, elen, in, cases[i].len);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encode_basic),
		cmocka_unit_test(test_encode_pair_split),
		cmocka_unit_test(test_encode_output_full),
		cmocka_unit_test(test_growth),
		cmocka_unit_test(test_growth_matches_encoding),
		cmocka_unit_test(test_decode_basic),
		cmocka_unit_test(test_decode_pair_split),
		cmocka_unit_test(test_round_trip_random),
		cmocka_unit_test(test_round_trip_edges),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
