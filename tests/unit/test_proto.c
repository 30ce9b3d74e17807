/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * Unit tests for proto.c: request parsing (every option's valid, invalid
 * and edge values, case, duplicates, truncation at every byte), transfer
 * packet parsing, negotiation against limits, and byte-exact builders.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>

#include "proto.h"

/* A string literal as a datagram, without the compiler's final NUL. */
#define PKT(s)	((const uint8_t *)(s)), (sizeof(s) - 1)

/* n bytes were built into buf and they are exactly the literal. */
#define ASSERT_PKT(buf, n, lit) do {					\
	assert_int_equal((n), sizeof(lit) - 1);				\
	assert_memory_equal((buf), (lit), sizeof(lit) - 1);		\
} while (0)

static const struct tftp_limits lim_all = {
	.max_blksize	= TFTP_BLKSIZE_MAX,
	.max_windowsize	= 32768,
	.allowed_opts	= TFTP_OPT_ALL,
	.max_file_size	= 0,
};

/* Parse a request carrying one option name/value pair. */
static int
parse_one(const char *name, const char *val, struct tftp_request *req,
    uint8_t *buf, size_t cap)
{
	const char *opts[] = { name, val, NULL };
	size_t n;

	n = proto_build_request(buf, cap, TFTP_RRQ, "f", "octet", opts);
	assert_true(n > 0);
	return proto_parse_request(buf, n, req, NULL);
}

static void
test_parse_rrq_plain(void **state)
{
	static const char pkt[] = "\0\1boot/pxelinux.0\0octet\0";
	struct tftp_request req;
	const char *msg = "untouched";

	assert_int_equal(proto_parse_request(PKT(pkt), &req, &msg), 0);
	assert_int_equal(req.opcode, TFTP_RRQ);
	assert_int_equal(req.mode, TFTP_MODE_OCTET);
	assert_string_equal(req.filename, "boot/pxelinux.0");
	/* Points into the packet, not into a copy. */
	assert_ptr_equal(req.filename, pkt + 2);
	assert_int_equal(req.opts, 0);
	assert_string_equal(msg, "untouched");
}

static void
test_parse_wrq_netascii_case(void **state)
{
	static const char *const modes[] = {
		"netascii", "NETASCII", "NetAscii", "nETASCII",
	};
	struct tftp_request req;
	uint8_t buf[64];
	size_t i, n;

	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		n = proto_build_request(buf, sizeof(buf), TFTP_WRQ, "up.txt",
		    modes[i], NULL);
		assert_int_equal(proto_parse_request(buf, n, &req, NULL), 0);
		assert_int_equal(req.opcode, TFTP_WRQ);
		assert_int_equal(req.mode, TFTP_MODE_NETASCII);
		assert_string_equal(req.filename, "up.txt");
	}
	n = proto_build_request(buf, sizeof(buf), TFTP_RRQ, "x", "OcTeT",
	    NULL);
	assert_int_equal(proto_parse_request(buf, n, &req, NULL), 0);
	assert_int_equal(req.mode, TFTP_MODE_OCTET);
}

static void
test_parse_mail_mode(void **state)
{
	struct tftp_request req;
	const char *msg = NULL;

	assert_int_equal(proto_parse_request(PKT("\0\1f\0mail\0"), &req,
	    &msg), -EPROTONOSUPPORT);
	assert_string_equal(msg, "Mail mode not supported");
	msg = NULL;
	assert_int_equal(proto_parse_request(PKT("\0\2f\0MaIl\0"), &req,
	    &msg), -EPROTONOSUPPORT);
	assert_string_equal(msg, "Mail mode not supported");
	/* errmsg is optional. */
	assert_int_equal(proto_parse_request(PKT("\0\1f\0mail\0"), &req,
	    NULL), -EPROTONOSUPPORT);
}

static void
test_parse_unknown_mode(void **state)
{
	static const char *const modes[] = {
		"binary", "", "octets", "octe", "mail ", "netascii\x01",
	};
	struct tftp_request req;
	const char *msg;
	uint8_t buf[64];
	size_t i, n;

	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		n = proto_build_request(buf, sizeof(buf), TFTP_RRQ, "f",
		    modes[i], NULL);
		msg = NULL;
		assert_int_equal(proto_parse_request(buf, n, &req, &msg),
		    -EPROTONOSUPPORT);
		assert_string_equal(msg, "Unknown mode");
	}
	assert_int_equal(proto_parse_request(buf, n, &req, NULL),
	    -EPROTONOSUPPORT);
}

static void
test_parse_malformed(void **state)
{
	static const struct {
		const char	*pkt;
		size_t		 len;
	} bad[] = {
		{ "", 0 },
		{ "\0", 1 },
		{ "\0\1", 2 },			/* nothing after opcode */
		{ "\0\1f", 3 },			/* filename unterminated */
		{ "\0\1file", 6 },
		{ "\0\1\0octet\0", 10 },		/* empty filename */
		{ "\0\1f\0", 4 },			/* mode missing */
		{ "\0\1f\0octet", 9 },			/* mode unterminated */
		{ "\0\3f\0octet\0", 10 },		/* DATA opcode */
		{ "\0\4f\0octet\0", 10 },		/* ACK */
		{ "\0\5f\0octet\0", 10 },		/* ERROR */
		{ "\0\6f\0octet\0", 10 },		/* OACK */
		{ "\0\0f\0octet\0", 10 },
		{ "\0\7f\0octet\0", 10 },
		{ "\1\1f\0octet\0", 10 },		/* 257 */
	};
	struct tftp_request req;
	const char *msg;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const uint8_t *pkt = (const uint8_t *)bad[i].pkt;

		msg = NULL;
		assert_int_equal(proto_parse_request(pkt, bad[i].len, &req,
		    &msg), -EBADMSG);
		assert_string_equal(msg, "Illegal TFTP operation");
		assert_int_equal(proto_parse_request(pkt, bad[i].len, &req,
		    NULL), -EBADMSG);
	}
}

struct optcase {
	const char	*name;
	const char	*val;
	int		 opt;
	bool		 usable;
	uint64_t	 want;
};

static uint64_t
req_value(const struct tftp_request *req, int opt)
{
	switch (opt) {
	case TFTP_OPT_BLKSIZE:
		return req->blksize;
	case TFTP_OPT_TIMEOUT:
		return req->timeout;
	case TFTP_OPT_TSIZE:
		return req->tsize;
	case TFTP_OPT_WINDOWSIZE:
		return req->windowsize;
	case TFTP_OPT_ROLLOVER:
		return req->rollover;
	case TFTP_OPT_UTIMEOUT:
		return req->utimeout;
	case TFTP_OPT_BLKSIZE2:
		return req->blksize2;
	}
	fail();
	return 0;
}

static const struct optcase optcases[] = {
	{ "blksize", "8", TFTP_OPT_BLKSIZE, true, 8 },
	{ "blksize", "512", TFTP_OPT_BLKSIZE, true, 512 },
	{ "blksize", "1428", TFTP_OPT_BLKSIZE, true, 1428 },
	{ "blksize", "65464", TFTP_OPT_BLKSIZE, true, 65464 },
	{ "blksize", "65465", TFTP_OPT_BLKSIZE, true, 65464 },
	{ "blksize", "4294967296", TFTP_OPT_BLKSIZE, true, 65464 },
	{ "blksize", "18446744073709551616", TFTP_OPT_BLKSIZE, true, 65464 },
	{ "blksize", "99999999999999999999999999", TFTP_OPT_BLKSIZE, true,
	    65464 },
	{ "blksize", "0008", TFTP_OPT_BLKSIZE, true, 8 },
	{ "blksize", "7", TFTP_OPT_BLKSIZE, false, 0 },
	{ "blksize", "0", TFTP_OPT_BLKSIZE, false, 0 },
	{ "blksize", "", TFTP_OPT_BLKSIZE, false, 0 },
	{ "blksize", "-1", TFTP_OPT_BLKSIZE, false, 0 },
	{ "blksize", "+512", TFTP_OPT_BLKSIZE, false, 0 },
	{ "blksize", " 512", TFTP_OPT_BLKSIZE, false, 0 },
	{ "blksize", "512 ", TFTP_OPT_BLKSIZE, false, 0 },
	{ "blksize", "0x200", TFTP_OPT_BLKSIZE, false, 0 },
	{ "blksize", "1e3", TFTP_OPT_BLKSIZE, false, 0 },
	{ "blksize", "large", TFTP_OPT_BLKSIZE, false, 0 },
	{ "blksize", "99999999999999999999999x", TFTP_OPT_BLKSIZE, false, 0 },
	{ "timeout", "1", TFTP_OPT_TIMEOUT, true, 1 },
	{ "timeout", "5", TFTP_OPT_TIMEOUT, true, 5 },
	{ "timeout", "255", TFTP_OPT_TIMEOUT, true, 255 },
	{ "timeout", "0", TFTP_OPT_TIMEOUT, false, 0 },
	{ "timeout", "256", TFTP_OPT_TIMEOUT, false, 0 },
	{ "timeout", "4294967297", TFTP_OPT_TIMEOUT, false, 0 },
	{ "timeout", "99999999999999999999999", TFTP_OPT_TIMEOUT, false, 0 },
	{ "timeout", "1.5", TFTP_OPT_TIMEOUT, false, 0 },
	{ "timeout", "", TFTP_OPT_TIMEOUT, false, 0 },
	{ "tsize", "0", TFTP_OPT_TSIZE, true, 0 },
	{ "tsize", "1048576", TFTP_OPT_TSIZE, true, 1048576 },
	{ "tsize", "18446744073709551615", TFTP_OPT_TSIZE, true, UINT64_MAX },
	{ "tsize", "18446744073709551616", TFTP_OPT_TSIZE, false, 0 },
	{ "tsize", "18446744073709551620", TFTP_OPT_TSIZE, false, 0 },
	{ "tsize", "-5", TFTP_OPT_TSIZE, false, 0 },
	{ "tsize", "", TFTP_OPT_TSIZE, false, 0 },
	{ "windowsize", "1", TFTP_OPT_WINDOWSIZE, true, 1 },
	{ "windowsize", "16", TFTP_OPT_WINDOWSIZE, true, 16 },
	{ "windowsize", "65535", TFTP_OPT_WINDOWSIZE, true, 65535 },
	{ "windowsize", "65536", TFTP_OPT_WINDOWSIZE, true, 65535 },
	{ "windowsize", "99999999999999999999999", TFTP_OPT_WINDOWSIZE, true,
	    65535 },
	{ "windowsize", "0", TFTP_OPT_WINDOWSIZE, false, 0 },
	{ "windowsize", "w", TFTP_OPT_WINDOWSIZE, false, 0 },
	{ "rollover", "0", TFTP_OPT_ROLLOVER, true, 0 },
	{ "rollover", "1", TFTP_OPT_ROLLOVER, true, 1 },
	{ "rollover", "2", TFTP_OPT_ROLLOVER, false, 0 },
	{ "rollover", "10", TFTP_OPT_ROLLOVER, false, 0 },
	{ "rollover", "yes", TFTP_OPT_ROLLOVER, false, 0 },
	{ "rollover", "", TFTP_OPT_ROLLOVER, false, 0 },
	{ "utimeout", "10000", TFTP_OPT_UTIMEOUT, true, 10000 },
	{ "utimeout", "250000", TFTP_OPT_UTIMEOUT, true, 250000 },
	{ "utimeout", "255000000", TFTP_OPT_UTIMEOUT, true, 255000000 },
	{ "utimeout", "9999", TFTP_OPT_UTIMEOUT, false, 0 },
	{ "utimeout", "0", TFTP_OPT_UTIMEOUT, false, 0 },
	{ "utimeout", "255000001", TFTP_OPT_UTIMEOUT, false, 0 },
	{ "utimeout", "99999999999999999999999", TFTP_OPT_UTIMEOUT, false, 0 },
	{ "utimeout", "1s", TFTP_OPT_UTIMEOUT, false, 0 },
	/* blksize2 takes blksize's values; the power of two comes later. */
	{ "blksize2", "8", TFTP_OPT_BLKSIZE2, true, 8 },
	{ "blksize2", "1000", TFTP_OPT_BLKSIZE2, true, 1000 },
	{ "blksize2", "65465", TFTP_OPT_BLKSIZE2, true, 65464 },
	{ "blksize2", "99999999999999999999999", TFTP_OPT_BLKSIZE2, true,
	    65464 },
	{ "blksize2", "7", TFTP_OPT_BLKSIZE2, false, 0 },
	{ "blksize2", "0", TFTP_OPT_BLKSIZE2, false, 0 },
	{ "blksize2", "512k", TFTP_OPT_BLKSIZE2, false, 0 },
	/* Names are case-insensitive. */
	{ "BLKSIZE", "1024", TFTP_OPT_BLKSIZE, true, 1024 },
	{ "BlkSize", "1024", TFTP_OPT_BLKSIZE, true, 1024 },
	{ "TimeOut", "3", TFTP_OPT_TIMEOUT, true, 3 },
	{ "TSIZE", "7", TFTP_OPT_TSIZE, true, 7 },
	{ "WindowSize", "4", TFTP_OPT_WINDOWSIZE, true, 4 },
	{ "ROLLOVER", "1", TFTP_OPT_ROLLOVER, true, 1 },
	{ "UTimeout", "20000", TFTP_OPT_UTIMEOUT, true, 20000 },
	{ "BlkSize2", "600", TFTP_OPT_BLKSIZE2, true, 600 },
};

static void
test_parse_option_values(void **state)
{
	struct tftp_request req;
	uint8_t buf[128];
	size_t i;

	for (i = 0; i < sizeof(optcases) / sizeof(optcases[0]); i++) {
		const struct optcase *c = &optcases[i];

		assert_int_equal(parse_one(c->name, c->val, &req, buf,
		    sizeof(buf)), 0);
		if (c->usable) {
			if (req.opts != TFTP_OPT_BIT(c->opt))
				fail_msg("%s=\"%s\": not accepted", c->name,
				    c->val);
			if (req_value(&req, c->opt) != c->want)
				fail_msg("%s=\"%s\": got %llu", c->name,
				    c->val, (unsigned long long)
				    req_value(&req, c->opt));
		} else if (req.opts != 0) {
			fail_msg("%s=\"%s\": accepted", c->name, c->val);
		}
	}
}

static void
test_parse_unknown_options(void **state)
{
	static const char pkt[] = "\0\1f\0octet\0"
	    "multicast\0\0" "blksizex\0" "1024\0" "blk\0" "8\0"
	    "\0" "\0" "windowsize\0" "4\0" "x-foo\0" "bar\0";
	struct tftp_request req;

	assert_int_equal(proto_parse_request(PKT(pkt), &req, NULL), 0);
	assert_int_equal(req.opts, TFTP_OPT_BIT(TFTP_OPT_WINDOWSIZE));
	assert_int_equal(req.windowsize, 4);
	assert_int_equal(req.blksize, 0);
}

/*
 * Windows Deployment Services: "msftwindow 31416" is Microsoft's own
 * windowing, not acknowledged (nor in the OACK's order); its ACKs carry
 * a fifth byte, and are ACKs all the same.
 */
static void
test_wds(void **state)
{
	static const char pkt[] = "\0\1boot\\x86\\wdsnbp.com\0octet\0"
	    "blksize\0" "1456\0msftwindow\0" "31416\0tsize\0" "0\0";
	struct tftp_request req;
	struct tftp_params p;
	struct tftp_packet pkt5;
	uint8_t ob[128];
	size_t n;

	assert_int_equal(proto_parse_request(PKT(pkt), &req, NULL), 0);
	assert_int_equal(req.opts, TFTP_OPT_BIT(TFTP_OPT_BLKSIZE) |
	    TFTP_OPT_BIT(TFTP_OPT_TSIZE));
	assert_int_equal(req.norder, 2);
	assert_int_equal(proto_negotiate(&req, &lim_all, 10, &p), 0);
	n = proto_build_oack(ob, sizeof(ob), &p);
	ASSERT_PKT(ob, n, "\0\6blksize\0" "1456\0tsize\0" "10\0");

	assert_int_equal(proto_parse_packet(PKT("\0\4\0\1\0"), &pkt5), 0);
	assert_int_equal(pkt5.opcode, TFTP_ACK);
	assert_int_equal(pkt5.block, 1);
	assert_int_equal(proto_parse_packet(PKT("\0\4\x12\x34\x01"), &pkt5),
	    0);
	assert_int_equal(pkt5.opcode, TFTP_ACK);
	assert_int_equal(pkt5.block, 0x1234);
}

static void
test_parse_duplicates(void **state)
{
	struct tftp_request req;

	assert_int_equal(proto_parse_request(PKT("\0\1f\0octet\0"
	    "blksize\0" "1024\0" "BLKSIZE\0" "2048\0" "blksize\0" "8\0"),
	    &req, NULL), 0);
	assert_int_equal(req.opts, TFTP_OPT_BIT(TFTP_OPT_BLKSIZE));
	assert_int_equal(req.blksize, 1024);

	/* The first occurrence decides even when its value is unusable. */
	assert_int_equal(proto_parse_request(PKT("\0\1f\0octet\0"
	    "timeout\0" "0\0" "timeout\0" "5\0" "tsize\0" "0\0"), &req, NULL),
	    0);
	assert_int_equal(req.opts, TFTP_OPT_BIT(TFTP_OPT_TSIZE));
	assert_int_equal(req.timeout, 0);

	assert_int_equal(proto_parse_request(PKT("\0\2f\0octet\0"
	    "tsize\0" "100\0" "windowsize\0" "8\0" "tsize\0" "200\0"
	    "windowsize\0" "16\0"), &req, NULL), 0);
	assert_int_equal(req.opts, TFTP_OPT_BIT(TFTP_OPT_TSIZE) |
	    TFTP_OPT_BIT(TFTP_OPT_WINDOWSIZE));
	assert_int_equal(req.tsize, 100);
	assert_int_equal(req.windowsize, 8);
}

static void
test_parse_all_options(void **state)
{
	static const char pkt[] = "\0\1f\0octet\0"
	    "utimeout\0" "50000\0" "rollover\0" "1\0" "windowsize\0" "8\0"
	    "tsize\0" "0\0" "timeout\0" "2\0" "blksize\0" "1428\0"
	    "blksize2\0" "3000\0";
	struct tftp_request req;

	assert_int_equal(proto_parse_request(PKT(pkt), &req, NULL), 0);
	assert_int_equal(req.opts, TFTP_OPT_ALL);
	assert_int_equal(req.blksize, 1428);
	assert_int_equal(req.blksize2, 3000);
	assert_int_equal(req.timeout, 2);
	assert_int_equal(req.tsize, 0);
	assert_int_equal(req.windowsize, 8);
	assert_int_equal(req.rollover, 1);
	assert_int_equal(req.utimeout, 50000);
}

static void
test_parse_trailing_garbage(void **state)
{
	struct tftp_request req;

	/* A name without a value. */
	assert_int_equal(proto_parse_request(PKT("\0\1f\0octet\0"
	    "tsize\0" "5\0" "blksize\0"), &req, NULL), 0);
	assert_int_equal(req.opts, TFTP_OPT_BIT(TFTP_OPT_TSIZE));
	assert_int_equal(req.tsize, 5);
	/* A value cut off by the end of the datagram. */
	assert_int_equal(proto_parse_request(PKT("\0\1f\0octet\0"
	    "tsize\0" "5\0" "blksize\0" "1024"), &req, NULL), 0);
	assert_int_equal(req.opts, TFTP_OPT_BIT(TFTP_OPT_TSIZE));
	/* An unterminated name. */
	assert_int_equal(proto_parse_request(PKT("\0\1f\0octet\0blksi"),
	    &req, NULL), 0);
	assert_int_equal(req.opts, 0);
	/* Padding bytes with no NUL at all (some ROMs send them). */
	assert_int_equal(proto_parse_request(PKT("\0\1f\0octet\0\xff\xff\xff"),
	    &req, NULL), 0);
	assert_int_equal(req.opts, 0);
	assert_string_equal(req.filename, "f");
}

/*
 * Every prefix of a valid request, placed in a buffer whose bytes past
 * the cut are not NUL until much later: a parser that read past len would
 * find a different (longer) string and accept what it must refuse.
 */
static void
test_parse_truncation(void **state)
{
	static const char full[] = "\0\1dir/file.bin\0NETascii\0"
	    "blksize\0" "1428\0" "tsize\0" "0\0" "windowsize\0" "16\0"
	    "timeout\0" "3\0" "utimeout\0" "20000\0" "rollover\0" "0\0";
	static const int order[] = {
		TFTP_OPT_BLKSIZE, TFTP_OPT_TSIZE, TFTP_OPT_WINDOWSIZE,
		TFTP_OPT_TIMEOUT, TFTP_OPT_UTIMEOUT, TFTP_OPT_ROLLOVER,
	};
	const size_t len = sizeof(full) - 1;
	size_t ends[7], mode_end, cut, nends = 0, pos, nul;
	struct tftp_request req;
	uint8_t buf[sizeof(full) + 64];
	uint32_t want;
	unsigned k;
	int rc;

	/* Where the mode ends and where each option pair ends. */
	pos = 2;
	for (k = 0; k < 2; k++)
		pos += strlen(full + pos) + 1;
	mode_end = pos;
	while (pos < len) {
		pos += strlen(full + pos) + 1;
		pos += strlen(full + pos) + 1;
		ends[nends++] = pos;
	}
	assert_int_equal(nends, 6);
	assert_int_equal(ends[nends - 1], len);

	for (cut = 0; cut <= len; cut++) {
		memset(buf, 'X', sizeof(buf));
		memcpy(buf, full, cut);
		buf[sizeof(buf) - 1] = '\0';
		rc = proto_parse_request(buf, cut, &req, NULL);
		if (cut < mode_end) {
			assert_int_equal(rc, -EBADMSG);
			continue;
		}
		assert_int_equal(rc, 0);
		assert_int_equal(req.mode, TFTP_MODE_NETASCII);
		assert_string_equal(req.filename, "dir/file.bin");
		nul = (size_t)((const uint8_t *)req.filename - buf) +
		    strlen(req.filename);
		assert_true(nul < cut);
		want = 0;
		for (k = 0; k < nends && ends[k] <= cut; k++)
			want |= TFTP_OPT_BIT(order[k]);
		assert_int_equal(req.opts, want);
	}

	/* The same prefixes in exact-size heap blocks for ASan/valgrind. */
	for (cut = 0; cut <= len; cut++) {
		uint8_t *p = malloc(cut ? cut : 1);

		assert_non_null(p);
		memcpy(p, full, cut);
		rc = proto_parse_request(p, cut, &req, NULL);
		assert_int_equal(rc, cut < mode_end ? -EBADMSG : 0);
		free(p);
	}
}

static void
test_parse_packet_data(void **state)
{
	static const char pkt[] = "\0\3\x12\x34hello";
	struct tftp_packet pkt_out;

	assert_int_equal(proto_parse_packet(PKT(pkt), &pkt_out), 0);
	assert_int_equal(pkt_out.opcode, TFTP_DATA);
	assert_int_equal(pkt_out.block, 0x1234);
	assert_ptr_equal(pkt_out.data, (const uint8_t *)pkt + 4);
	assert_int_equal(pkt_out.len, 5);
	assert_memory_equal(pkt_out.data, "hello", 5);

	/* An empty final block. */
	assert_int_equal(proto_parse_packet(PKT("\0\3\xff\xff"), &pkt_out), 0);
	assert_int_equal(pkt_out.opcode, TFTP_DATA);
	assert_int_equal(pkt_out.block, 65535);
	assert_int_equal(pkt_out.len, 0);
}

static void
test_parse_packet_ack(void **state)
{
	struct tftp_packet pkt;

	assert_int_equal(proto_parse_packet(PKT("\0\4\0\0"), &pkt), 0);
	assert_int_equal(pkt.opcode, TFTP_ACK);
	assert_int_equal(pkt.block, 0);
	assert_int_equal(proto_parse_packet(PKT("\0\4\x80\x01pad"), &pkt), 0);
	assert_int_equal(pkt.opcode, TFTP_ACK);
	assert_int_equal(pkt.block, 0x8001);
	assert_int_equal(pkt.len, 0);
	assert_null(pkt.data);
}

static void
test_parse_packet_error(void **state)
{
	static const char term[] = "\0\5\0\1File not found\0";
	struct tftp_packet pkt;

	assert_int_equal(proto_parse_packet(PKT(term), &pkt), 0);
	assert_int_equal(pkt.opcode, TFTP_ERROR);
	assert_int_equal(pkt.error, 1);
	assert_ptr_equal(pkt.msg, term + 4);
	assert_string_equal(pkt.msg, "File not found");

	assert_int_equal(proto_parse_packet(PKT("\0\5\0\x08no nul"), &pkt), 0);
	assert_int_equal(pkt.error, 8);
	assert_string_equal(pkt.msg, "");

	assert_int_equal(proto_parse_packet(PKT("\0\5\x01\x02"), &pkt), 0);
	assert_int_equal(pkt.error, 0x0102);
	assert_string_equal(pkt.msg, "");

	assert_int_equal(proto_parse_packet(PKT("\0\5\0\0\0junk"), &pkt), 0);
	assert_string_equal(pkt.msg, "");
}

static void
test_parse_packet_other(void **state)
{
	struct tftp_packet pkt;
	uint8_t buf[8];
	unsigned op;
	size_t len;

	assert_int_equal(proto_parse_packet(PKT("\0\6blksize\0" "512\0"),
	    &pkt), 0);
	assert_int_equal(pkt.opcode, TFTP_OACK);

	/* Requests do not belong on a transfer socket. */
	assert_int_equal(proto_parse_packet(PKT("\0\1f\0octet\0"), &pkt),
	    -EBADMSG);
	assert_int_equal(proto_parse_packet(PKT("\0\2f\0octet\0"), &pkt),
	    -EBADMSG);
	assert_int_equal(proto_parse_packet(PKT("\0\0\0\0"), &pkt), -EBADMSG);
	assert_int_equal(proto_parse_packet(PKT("\0\7\0\0"), &pkt), -EBADMSG);
	assert_int_equal(proto_parse_packet(PKT("\1\4\0\0"), &pkt), -EBADMSG);

	/* Shorter than a header, whatever the opcode. */
	for (op = 0; op <= 7; op++) {
		buf[0] = 0;
		buf[1] = (uint8_t)op;
		buf[2] = buf[3] = 0;
		for (len = 0; len < TFTP_HDR_LEN; len++)
			assert_int_equal(proto_parse_packet(buf, len, &pkt),
			    -EBADMSG);
	}
}

static struct tftp_request
mkreq(uint16_t opcode, uint32_t opts)
{
	struct tftp_request req = {
		.opcode		= opcode,
		.mode		= TFTP_MODE_OCTET,
		.filename	= "f",
		.opts		= opts,
		.blksize	= 1428,
		.timeout	= 3,
		.tsize		= 4096,
		.windowsize	= 16,
		.rollover	= 1,
		.utimeout	= 20500,
		.blksize2	= 2000,
	};

	return req;
}

static void
test_negotiate_none(void **state)
{
	struct tftp_request req = mkreq(TFTP_RRQ, 0);
	struct tftp_params p;

	memset(&p, 0xa5, sizeof(p));
	assert_int_equal(proto_negotiate(&req, &lim_all, 123, &p), 0);
	assert_int_equal(p.blksize, 512);
	assert_int_equal(p.windowsize, 1);
	assert_int_equal(p.timeout_ms, 0);
	assert_int_equal(p.tsize, 0);
	assert_int_equal(p.rollover, 0);
	assert_int_equal(p.acked, 0);
}

static void
test_negotiate_all(void **state)
{
	struct tftp_request req = mkreq(TFTP_RRQ, TFTP_OPT_ALL);
	struct tftp_params p;

	assert_int_equal(proto_negotiate(&req, &lim_all, 999, &p), 0);
	assert_int_equal(p.acked, TFTP_OPT_ALL);
	/* blksize2 with blksize: the power of two within both (1428). */
	assert_int_equal(p.blksize, 1024);
	assert_int_equal(p.windowsize, 16);
	assert_int_equal(p.timeout, 3);
	assert_int_equal(p.utimeout, 20500);
	/* utimeout sets the interval when both are given, rounded up. */
	assert_int_equal(p.timeout_ms, 21);
	assert_int_equal(p.tsize, 999);
	assert_int_equal(p.rollover, 1);
}

static void
test_negotiate_clamp(void **state)
{
	struct tftp_limits lim = lim_all;
	struct tftp_request req = mkreq(TFTP_RRQ, TFTP_OPT_BIT(TFTP_OPT_BLKSIZE)
	    | TFTP_OPT_BIT(TFTP_OPT_WINDOWSIZE));
	struct tftp_params p;

	lim.max_blksize = 1024;
	lim.max_windowsize = 8;
	req.blksize = 65464;
	req.windowsize = 65535;
	assert_int_equal(proto_negotiate(&req, &lim, 0, &p), 0);
	assert_int_equal(p.blksize, 1024);
	assert_int_equal(p.windowsize, 8);
	assert_int_equal(p.acked, req.opts);

	/* Below the limit the client's value stands. */
	req.blksize = 8;
	req.windowsize = 1;
	assert_int_equal(proto_negotiate(&req, &lim, 0, &p), 0);
	assert_int_equal(p.blksize, 8);
	assert_int_equal(p.windowsize, 1);

	/* Equal to the limit. */
	req.blksize = 1024;
	req.windowsize = 8;
	assert_int_equal(proto_negotiate(&req, &lim, 0, &p), 0);
	assert_int_equal(p.blksize, 1024);
	assert_int_equal(p.windowsize, 8);
}

/*
 * blksize2 (tftp-hpa): the largest power of two not above the request
 * and max_blksize; with blksize, one size within both requests.
 */
static void
test_negotiate_blksize2(void **state)
{
	static const struct {
		uint32_t	blksize;	/* 0: not asked */
		uint32_t	blksize2;
		uint32_t	max;
		uint32_t	want;
	} cases[] = {
		{ 0, 8, 65464, 8 },
		{ 0, 9, 65464, 8 },
		{ 0, 511, 65464, 256 },
		{ 0, 512, 65464, 512 },
		{ 0, 1000, 65464, 512 },
		{ 0, 1024, 65464, 1024 },
		{ 0, 1468, 65464, 1024 },
		{ 0, 32768, 65464, 32768 },
		{ 0, 65464, 65464, 32768 },
		/* Within our limit, then a power of two. */
		{ 0, 65464, 1468, 1024 },
		{ 0, 4096, 4096, 4096 },
		{ 0, 4096, 4095, 2048 },
		{ 0, 4096, 8, 8 },
		/* With blksize: a power of two within both requests. */
		{ 1000, 700, 65464, 512 },
		{ 700, 1000, 65464, 512 },
		{ 300, 1024, 65464, 256 },
		{ 4096, 4096, 65464, 4096 },
		{ 65464, 65464, 1468, 1024 },
		{ 8, 65464, 65464, 8 },
	};
	struct tftp_limits lim = lim_all;
	struct tftp_request req;
	struct tftp_params p;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		req = mkreq(TFTP_RRQ, TFTP_OPT_BIT(TFTP_OPT_BLKSIZE2));
		if (cases[i].blksize != 0)
			req.opts |= TFTP_OPT_BIT(TFTP_OPT_BLKSIZE);
		req.blksize = cases[i].blksize;
		req.blksize2 = cases[i].blksize2;
		lim.max_blksize = cases[i].max;
		assert_int_equal(proto_negotiate(&req, &lim, 0, &p), 0);
		if (p.blksize != cases[i].want)
			fail_msg("blksize %u blksize2 %u max %u: got %u, want "
			    "%u", cases[i].blksize, cases[i].blksize2,
			    cases[i].max, p.blksize, cases[i].want);
		assert_int_equal(p.acked, req.opts);
		assert_int_equal(proto_param_value(&p, TFTP_OPT_BLKSIZE2),
		    cases[i].want);
	}

	/* Refused (-r blksize2): blksize alone decides, 512 without it. */
	lim = lim_all;
	lim.allowed_opts = TFTP_OPT_ALL & ~TFTP_OPT_BIT(TFTP_OPT_BLKSIZE2);
	req = mkreq(TFTP_RRQ, TFTP_OPT_BIT(TFTP_OPT_BLKSIZE) |
	    TFTP_OPT_BIT(TFTP_OPT_BLKSIZE2));
	assert_int_equal(proto_negotiate(&req, &lim, 0, &p), 0);
	assert_int_equal(p.acked, TFTP_OPT_BIT(TFTP_OPT_BLKSIZE));
	assert_int_equal(p.blksize, 1428);
	req.opts = TFTP_OPT_BIT(TFTP_OPT_BLKSIZE2);
	assert_int_equal(proto_negotiate(&req, &lim, 0, &p), 0);
	assert_int_equal(p.acked, 0);
	assert_int_equal(p.blksize, 512);
}

/* The OACK of a blksize2 request names it, with the size in use. */
static void
test_build_oack_blksize2(void **state)
{
	static const char *const opts[] = { "blksize2", "1500", NULL };
	struct tftp_request req;
	struct tftp_params p;
	uint8_t buf[128];
	size_t n;

	n = proto_build_request(buf, sizeof(buf), TFTP_RRQ, "f", "octet",
	    opts);
	assert_int_equal(proto_parse_request(buf, n, &req, NULL), 0);
	assert_int_equal(proto_negotiate(&req, &lim_all, 0, &p), 0);
	n = proto_build_oack(buf, sizeof(buf), &p);
	ASSERT_PKT(buf, n, "\0\6blksize2\0" "1024\0");
}

static void
test_negotiate_refused_options(void **state)
{
	struct tftp_limits lim = lim_all;
	struct tftp_request req = mkreq(TFTP_RRQ, TFTP_OPT_ALL);
	struct tftp_params p;
	int o;

	/* Refusing one option at a time leaves it at its default. */
	for (o = 0; o < TFTP_OPT_MAX; o++) {
		lim.allowed_opts = TFTP_OPT_ALL & ~TFTP_OPT_BIT(o);
		assert_int_equal(proto_negotiate(&req, &lim, 77, &p), 0);
		assert_int_equal(p.acked, lim.allowed_opts);
		/* blksize2 alone: 1024 from 2000; blksize alone: 1428. */
		assert_int_equal(p.blksize, o == TFTP_OPT_BLKSIZE2 ? 1428 :
		    1024);
		assert_int_equal(p.windowsize, o == TFTP_OPT_WINDOWSIZE ? 1 :
		    16);
		assert_int_equal(p.tsize, o == TFTP_OPT_TSIZE ? 0 : 77);
		assert_int_equal(p.rollover, o == TFTP_OPT_ROLLOVER ? 0 : 1);
		assert_int_equal(p.timeout, o == TFTP_OPT_TIMEOUT ? 0 : 3);
		assert_int_equal(p.utimeout, o == TFTP_OPT_UTIMEOUT ? 0 :
		    20500);
		/* Without utimeout the interval comes from timeout. */
		assert_int_equal(p.timeout_ms, o == TFTP_OPT_UTIMEOUT ? 3000 :
		    21);
	}

	lim.allowed_opts = 0;
	assert_int_equal(proto_negotiate(&req, &lim, 77, &p), 0);
	assert_int_equal(p.acked, 0);
	assert_int_equal(p.blksize, 512);
	assert_int_equal(p.windowsize, 1);
	assert_int_equal(p.timeout_ms, 0);

	/* Bits outside the known options never leak into acked. */
	lim.allowed_opts = ~0u;
	req.opts = ~0u;
	assert_int_equal(proto_negotiate(&req, &lim, 77, &p), 0);
	assert_int_equal(p.acked, TFTP_OPT_ALL);
}

static void
test_negotiate_timeouts(void **state)
{
	struct tftp_request req = mkreq(TFTP_RRQ,
	    TFTP_OPT_BIT(TFTP_OPT_TIMEOUT));
	struct tftp_params p;

	req.timeout = 255;
	assert_int_equal(proto_negotiate(&req, &lim_all, 0, &p), 0);
	assert_int_equal(p.timeout_ms, 255000);
	assert_int_equal(p.timeout, 255);

	req.opts = TFTP_OPT_BIT(TFTP_OPT_UTIMEOUT);
	req.utimeout = 10000;
	assert_int_equal(proto_negotiate(&req, &lim_all, 0, &p), 0);
	assert_int_equal(p.timeout_ms, 10);
	assert_int_equal(p.utimeout, 10000);
	assert_int_equal(p.timeout, 0);
	req.utimeout = 10001;
	assert_int_equal(proto_negotiate(&req, &lim_all, 0, &p), 0);
	assert_int_equal(p.timeout_ms, 11);
	req.utimeout = 255000000;
	assert_int_equal(proto_negotiate(&req, &lim_all, 0, &p), 0);
	assert_int_equal(p.timeout_ms, 255000);
}

static void
test_negotiate_tsize(void **state)
{
	struct tftp_limits lim = lim_all;
	struct tftp_request req = mkreq(TFTP_RRQ, TFTP_OPT_BIT(TFTP_OPT_TSIZE));
	struct tftp_params p;

	/* RRQ: the client's value (normally 0) is replaced by the size. */
	req.tsize = 0;
	assert_int_equal(proto_negotiate(&req, &lim, 1048576, &p), 0);
	assert_int_equal(p.tsize, 1048576);
	lim.max_file_size = 10;	/* limits uploads only */
	req.tsize = 12345;
	assert_int_equal(proto_negotiate(&req, &lim, 0, &p), 0);
	assert_int_equal(p.tsize, 0);
	assert_int_equal(p.acked, TFTP_OPT_BIT(TFTP_OPT_TSIZE));

	/* WRQ: the client's value is echoed; file_size is ignored. */
	req.opcode = TFTP_WRQ;
	lim.max_file_size = 0;
	req.tsize = UINT64_MAX;
	assert_int_equal(proto_negotiate(&req, &lim, 5, &p), 0);
	assert_int_equal(p.tsize, UINT64_MAX);

	lim.max_file_size = 4096;
	req.tsize = 4096;
	assert_int_equal(proto_negotiate(&req, &lim, 5, &p), 0);
	assert_int_equal(p.tsize, 4096);
	req.tsize = 4097;
	assert_int_equal(proto_negotiate(&req, &lim, 5, &p), -EFBIG);

	/* Too big is refused even when tsize is not acknowledged. */
	lim.allowed_opts = 0;
	assert_int_equal(proto_negotiate(&req, &lim, 5, &p), -EFBIG);

	/* Without a tsize option nothing is announced, nothing refused. */
	req.opts = 0;
	assert_int_equal(proto_negotiate(&req, &lim, 5, &p), 0);
	assert_int_equal(p.tsize, 0);
}

static void
test_negotiate_rollover(void **state)
{
	struct tftp_request req = mkreq(TFTP_RRQ,
	    TFTP_OPT_BIT(TFTP_OPT_ROLLOVER));
	struct tftp_params p;

	req.rollover = 0;
	assert_int_equal(proto_negotiate(&req, &lim_all, 0, &p), 0);
	assert_int_equal(p.rollover, 0);
	assert_int_equal(p.acked, TFTP_OPT_BIT(TFTP_OPT_ROLLOVER));
	req.rollover = 1;
	assert_int_equal(proto_negotiate(&req, &lim_all, 0, &p), 0);
	assert_int_equal(p.rollover, 1);
}

static void
test_build_oack_exact(void **state)
{
	static const char want[] = "\0\6"
	    "blksize\0" "1428\0" "timeout\0" "3\0" "tsize\0" "12345\0"
	    "windowsize\0" "8\0" "rollover\0" "1\0" "utimeout\0" "20500\0"
	    "blksize2\0" "1428\0";
	const size_t wlen = sizeof(want) - 1;
	struct tftp_params p = {
		.blksize = 1428, .timeout = 3, .timeout_ms = 21, .tsize = 12345,
		.windowsize = 8, .rollover = 1, .utimeout = 20500,
		.acked = TFTP_OPT_ALL,
	};
	uint8_t buf[256];
	size_t cap;

	assert_int_equal(proto_build_oack(buf, sizeof(buf), &p), wlen);
	assert_memory_equal(buf, want, wlen);

	/* Exact fit works; one byte less fails at every size. */
	assert_int_equal(proto_build_oack(buf, wlen, &p), wlen);
	assert_memory_equal(buf, want, wlen);
	for (cap = 0; cap < wlen; cap++)
		assert_int_equal(proto_build_oack(buf, cap, &p), 0);
}

static void
test_build_oack_subsets(void **state)
{
	struct tftp_params p = {
		.blksize = 65464, .tsize = UINT64_MAX, .windowsize = 1,
		.rollover = 0, .timeout = 255,
	};
	uint8_t buf[256];

	size_t n;

	p.acked = TFTP_OPT_BIT(TFTP_OPT_TSIZE);
	n = proto_build_oack(buf, sizeof(buf), &p);
	ASSERT_PKT(buf, n, "\0\6tsize\0" "18446744073709551615\0");

	/* Enum order, whatever order the bits were set in. */
	p.acked = TFTP_OPT_BIT(TFTP_OPT_ROLLOVER) |
	    TFTP_OPT_BIT(TFTP_OPT_BLKSIZE) | TFTP_OPT_BIT(TFTP_OPT_TIMEOUT);
	n = proto_build_oack(buf, sizeof(buf), &p);
	ASSERT_PKT(buf, n, "\0\6blksize\0" "65464\0" "timeout\0" "255\0"
	    "rollover\0" "0\0");

	p.acked = TFTP_OPT_BIT(TFTP_OPT_WINDOWSIZE);
	n = proto_build_oack(buf, sizeof(buf), &p);
	ASSERT_PKT(buf, n, "\0\6windowsize\0" "1\0");

	p.acked = 0;
	n = proto_build_oack(buf, sizeof(buf), &p);
	ASSERT_PKT(buf, n, "\0\6");
	assert_int_equal(proto_build_oack(buf, 1, &p), 0);
}

/* Request -> parse -> negotiate -> OACK -> parse the OACK's options back. */
static void
test_oack_round_trip(void **state)
{
	static const char *const opts[] = {
		"TSIZE", "0", "blksize", "9000", "windowsize", "40000",
		"utimeout", "300000", "timeout", "4", "rollover", "0",
		"foo", "bar", "blksize2", "9000", NULL,
	};
	struct tftp_limits lim = lim_all;
	struct tftp_request req, back;
	struct tftp_params p;
	uint8_t buf[512], ob[512];
	size_t n, on;

	lim.max_blksize = 1468;
	lim.max_windowsize = 64;
	n = proto_build_request(buf, sizeof(buf), TFTP_RRQ, "f", "octet",
	    opts);
	assert_int_equal(proto_parse_request(buf, n, &req, NULL), 0);
	assert_int_equal(req.opts, TFTP_OPT_ALL);
	assert_int_equal(proto_negotiate(&req, &lim, 31337, &p), 0);
	on = proto_build_oack(ob + 8, sizeof(ob) - 8, &p);
	assert_true(on > 2);
	assert_memory_equal(ob + 8, "\0\6", 2);
	/*
	 * Dress the OACK up as a request to reuse the parser: the request
	 * head overwrites the OACK opcode and ends where the options start.
	 */
	memcpy(ob, "\0\1f\0octet\0", 10);
	assert_int_equal(proto_parse_request(ob, 10 + on - 2, &back, NULL), 0);
	assert_int_equal(back.opts, TFTP_OPT_ALL);
	/* blksize2 granted too: the power of two within 1468, for both. */
	assert_int_equal(back.blksize, 1024);
	assert_int_equal(back.blksize2, 1024);
	assert_int_equal(back.windowsize, 64);
	assert_int_equal(back.tsize, 31337);
	assert_int_equal(back.timeout, 4);
	assert_int_equal(back.utimeout, 300000);
	assert_int_equal(back.rollover, 0);
	assert_int_equal(p.timeout_ms, 300);
}

/*
 * The OACK lists the options in the request's order (U-Boot's lwIP reads
 * them by position), without the ones not granted, unknown or repeated.
 */
static void
test_oack_request_order(void **state)
{
	static const char *const opts1[] = {
		"tsize", "0", "blksize", "1468", "windowsize", "4", NULL,
	};
	static const char *const opts2[] = {
		"windowsize", "4", "foo", "1", "TIMEOUT", "3", "blksize",
		"1468", "windowsize", "8", "rollover", "1", "tsize", "0", NULL,
	};
	struct tftp_limits lim = lim_all;
	struct tftp_request req;
	struct tftp_params p;
	uint8_t buf[512], ob[512];
	size_t n;

	(void)state;
	n = proto_build_request(buf, sizeof(buf), TFTP_RRQ, "f", "octet",
	    opts1);
	assert_int_equal(proto_parse_request(buf, n, &req, NULL), 0);
	assert_int_equal(req.norder, 3);
	assert_int_equal(proto_negotiate(&req, &lim, 1000, &p), 0);
	n = proto_build_oack(ob, sizeof(ob), &p);
	ASSERT_PKT(ob, n, "\0\6tsize\0" "1000\0blksize\0" "1468\0"
	    "windowsize\0" "4\0");

	/* rollover not granted: left out, the rest keep their places. */
	lim.allowed_opts &= ~TFTP_OPT_BIT(TFTP_OPT_ROLLOVER);
	n = proto_build_request(buf, sizeof(buf), TFTP_RRQ, "f", "octet",
	    opts2);
	assert_int_equal(proto_parse_request(buf, n, &req, NULL), 0);
	assert_int_equal(req.norder, 5);
	assert_int_equal(proto_negotiate(&req, &lim, 7, &p), 0);
	assert_int_equal(p.norder, 4);
	n = proto_build_oack(ob, sizeof(ob), &p);
	ASSERT_PKT(ob, n, "\0\6windowsize\0" "4\0timeout\0" "3\0"
	    "blksize\0" "1468\0tsize\0" "7\0");

	/* A count beyond the array is bounded, not followed. */
	p.norder = 200;
	n = proto_build_oack(ob, sizeof(ob), &p);
	ASSERT_PKT(ob, n, "\0\6windowsize\0" "4\0timeout\0" "3\0"
	    "blksize\0" "1468\0tsize\0" "7\0");

	/* Parameters made without a request: enum order, as before. */
	p.norder = 0;
	n = proto_build_oack(ob, sizeof(ob), &p);
	ASSERT_PKT(ob, n, "\0\6blksize\0" "1468\0timeout\0" "3\0"
	    "tsize\0" "7\0windowsize\0" "4\0");
}

static void
test_build_error(void **state)
{
	struct tftp_packet pkt;
	uint8_t buf[64];
	size_t n;

	n = proto_build_error(buf, sizeof(buf), TFTP_ENOTFOUND,
	    "File not found");
	assert_int_equal(n, 4 + 15);
	assert_memory_equal(buf, "\0\5\0\1File not found\0", n);

	/* NULL message: the standard text. */
	n = proto_build_error(buf, sizeof(buf), TFTP_EEXISTS, NULL);
	assert_memory_equal(buf, "\0\5\0\6File already exists\0", n);
	assert_int_equal(n, 4 + 20);

	/* Truncated to the buffer, always terminated. */
	memset(buf, 'Z', sizeof(buf));
	n = proto_build_error(buf, 10, TFTP_EUNDEF, "Timeout waiting");
	assert_int_equal(n, 10);
	assert_memory_equal(buf, "\0\5\0\0Timeo\0", 10);
	assert_int_equal(buf[10], 'Z');
	assert_int_equal(proto_parse_packet(buf, n, &pkt), 0);
	assert_int_equal(pkt.opcode, TFTP_ERROR);
	assert_string_equal(pkt.msg, "Timeo");

	/* Room for the header and the NUL only. */
	n = proto_build_error(buf, 5, 0x1234, "x");
	assert_int_equal(n, 5);
	assert_memory_equal(buf, "\0\5\x12\x34\0", 5);
	/* Exact fit. */
	n = proto_build_error(buf, 7, 2, "ab");
	assert_int_equal(n, 7);
	assert_memory_equal(buf, "\0\5\0\2ab\0", 7);
	/* No room even for that. */
	for (n = 0; n < 5; n++)
		assert_int_equal(proto_build_error(buf, n, 1, "x"), 0);
	/* Empty message. */
	assert_int_equal(proto_build_error(buf, sizeof(buf), 0, ""), 5);
}

static void
test_build_data_ack(void **state)
{
	uint8_t buf[8];

	memset(buf, 'Z', sizeof(buf));
	assert_int_equal(proto_build_data_hdr(buf, sizeof(buf), 0xabcd), 4);
	assert_memory_equal(buf, "\0\3\xab\xcd" "ZZZZ", 8);
	assert_int_equal(proto_build_ack(buf, 4, 1), 4);
	assert_memory_equal(buf, "\0\4\0\1", 4);
	assert_int_equal(proto_build_ack(buf, 4, 65535), 4);
	assert_memory_equal(buf, "\0\4\xff\xff", 4);
	assert_int_equal(proto_build_data_hdr(buf, 3, 1), 0);
	assert_int_equal(proto_build_ack(buf, 3, 1), 0);
	assert_int_equal(proto_build_ack(buf, 0, 1), 0);
}

static void
test_build_request(void **state)
{
	static const char want[] = "\0\2up/load.bin\0octet\0"
	    "blksize\0" "1024\0" "tsize\0" "77\0";
	static const char *const opts[] = {
		"blksize", "1024", "tsize", "77", NULL,
	};
	static const char *const dangling[] = {
		"blksize", "1024", "tsize", NULL,
	};
	const size_t wlen = sizeof(want) - 1;
	uint8_t buf[128];
	size_t cap;

	assert_int_equal(proto_build_request(buf, sizeof(buf), TFTP_WRQ,
	    "up/load.bin", "octet", opts), wlen);
	assert_memory_equal(buf, want, wlen);
	for (cap = 0; cap < wlen; cap++)
		assert_int_equal(proto_build_request(buf, cap, TFTP_WRQ,
		    "up/load.bin", "octet", opts), 0);
	assert_int_equal(proto_build_request(buf, wlen, TFTP_WRQ,
	    "up/load.bin", "octet", opts), wlen);

	/* A name without a value is left out. */
	assert_int_equal(proto_build_request(buf, sizeof(buf), TFTP_WRQ,
	    "up/load.bin", "octet", dangling), wlen - 9);
	assert_memory_equal(buf, want, wlen - 9);

	assert_int_equal(proto_build_request(buf, sizeof(buf), TFTP_RRQ,
	    "a", "netascii", NULL), 2 + 2 + 9);
	assert_memory_equal(buf, "\0\1a\0netascii\0", 13);
}

static void
test_names(void **state)
{
	int o;

	assert_string_equal(proto_opt_name(TFTP_OPT_BLKSIZE), "blksize");
	assert_string_equal(proto_opt_name(TFTP_OPT_TIMEOUT), "timeout");
	assert_string_equal(proto_opt_name(TFTP_OPT_TSIZE), "tsize");
	assert_string_equal(proto_opt_name(TFTP_OPT_WINDOWSIZE),
	    "windowsize");
	assert_string_equal(proto_opt_name(TFTP_OPT_ROLLOVER), "rollover");
	assert_string_equal(proto_opt_name(TFTP_OPT_UTIMEOUT), "utimeout");
	assert_string_equal(proto_opt_name(TFTP_OPT_BLKSIZE2), "blksize2");
	assert_null(proto_opt_name(TFTP_OPT_MAX));
	assert_null(proto_opt_name((enum tftp_opt)-1));

	for (o = 0; o < TFTP_OPT_MAX; o++)
		assert_int_equal(proto_opt_lookup(proto_opt_name(o)), o);
	assert_int_equal(proto_opt_lookup("WINDOWSIZE"), TFTP_OPT_WINDOWSIZE);
	assert_int_equal(proto_opt_lookup("uTimeOut"), TFTP_OPT_UTIMEOUT);
	assert_int_equal(proto_opt_lookup("blksize2"), TFTP_OPT_BLKSIZE2);
	assert_int_equal(proto_opt_lookup("BLKSIZE2"), TFTP_OPT_BLKSIZE2);
	assert_int_equal(proto_opt_lookup("blksize3"), -1);
	assert_int_equal(proto_opt_lookup("blksiz"), -1);
	assert_int_equal(proto_opt_lookup(""), -1);
	assert_int_equal(proto_opt_lookup("multicast"), -1);

	assert_string_equal(proto_mode_name(TFTP_MODE_OCTET), "octet");
	assert_string_equal(proto_mode_name(TFTP_MODE_NETASCII), "netascii");
	assert_null(proto_mode_name((enum tftp_mode)2));
}

static void
test_errstr(void **state)
{
	assert_string_equal(proto_errstr(TFTP_EUNDEF), "Undefined error");
	assert_string_equal(proto_errstr(TFTP_ENOTFOUND), "File not found");
	assert_string_equal(proto_errstr(TFTP_EACCESS), "Access violation");
	assert_string_equal(proto_errstr(TFTP_ENOSPACE),
	    "Disk full or allocation exceeded");
	assert_string_equal(proto_errstr(TFTP_EBADOP),
	    "Illegal TFTP operation");
	assert_string_equal(proto_errstr(TFTP_EBADID), "Unknown transfer ID");
	assert_string_equal(proto_errstr(TFTP_EEXISTS), "File already exists");
	assert_string_equal(proto_errstr(TFTP_ENOUSER), "No such user");
	assert_string_equal(proto_errstr(TFTP_EOPTNEG),
	    "Option negotiation failed");
	assert_string_equal(proto_errstr(9), "Unknown error");
	assert_string_equal(proto_errstr(65535), "Unknown error");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_rrq_plain),
		cmocka_unit_test(test_parse_wrq_netascii_case),
		cmocka_unit_test(test_parse_mail_mode),
		cmocka_unit_test(test_parse_unknown_mode),
		cmocka_unit_test(test_parse_malformed),
		cmocka_unit_test(test_parse_option_values),
		cmocka_unit_test(test_parse_unknown_options),
		cmocka_unit_test(test_wds),
		cmocka_unit_test(test_parse_duplicates),
		cmocka_unit_test(test_parse_all_options),
		cmocka_unit_test(test_parse_trailing_garbage),
		cmocka_unit_test(test_parse_truncation),
		cmocka_unit_test(test_parse_packet_data),
		cmocka_unit_test(test_parse_packet_ack),
		cmocka_unit_test(test_parse_packet_error),
		cmocka_unit_test(test_parse_packet_other),
		cmocka_unit_test(test_negotiate_none),
		cmocka_unit_test(test_negotiate_all),
		cmocka_unit_test(test_negotiate_clamp),
		cmocka_unit_test(test_negotiate_blksize2),
		cmocka_unit_test(test_build_oack_blksize2),
		cmocka_unit_test(test_negotiate_refused_options),
		cmocka_unit_test(test_negotiate_timeouts),
		cmocka_unit_test(test_negotiate_tsize),
		cmocka_unit_test(test_negotiate_rollover),
		cmocka_unit_test(test_build_oack_exact),
		cmocka_unit_test(test_build_oack_subsets),
		cmocka_unit_test(test_oack_round_trip),
		cmocka_unit_test(test_oack_request_order),
		cmocka_unit_test(test_build_error),
		cmocka_unit_test(test_build_data_ack),
		cmocka_unit_test(test_build_request),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_errstr),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
