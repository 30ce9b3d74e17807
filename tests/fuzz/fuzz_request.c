/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * libFuzzer harness for what a stranger can send first: the datagram is
 * parsed as a request and, when it is one, negotiated against two sets of
 * limits, answered with an OACK that is parsed back, and its filename run
 * through the path rules; the same bytes are also parsed as a transfer
 * packet and pushed through the netascii codec.  Every invariant that
 * the daemon relies on is checked with abort(), so the fuzzer (and the
 * corpus replay in "make check") fails on a broken rule, not only on a
 * crash.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "netascii.h"
#include "path.h"
#include "proto.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct tftp_limits limits[] = {
	{
		.max_blksize	= TFTP_BLKSIZE_MAX,
		.max_windowsize	= 32768,
		.allowed_opts	= TFTP_OPT_ALL,
		.max_file_size	= 0,
	},
	{
		.max_blksize	= 1468,
		.max_windowsize	= 64,
		.allowed_opts	= TFTP_OPT_BIT(TFTP_OPT_BLKSIZE) |
		    TFTP_OPT_BIT(TFTP_OPT_TSIZE) |
		    TFTP_OPT_BIT(TFTP_OPT_TIMEOUT),
		.max_file_size	= 1048576,
	},
	{
		.max_blksize	= TFTP_BLKSIZE_MIN,
		.max_windowsize	= 1,
		.allowed_opts	= 0,
		.max_file_size	= 1,
	},
};

#define CHECK(cond) do {						\
	if (!(cond))							\
		abort();						\
} while (0)

/* A NUL-terminated string that starts and ends inside [buf, buf + len). */
static void
check_inside(const void *s, const uint8_t *buf, size_t len)
{
	const uint8_t *p = s;

	CHECK(p >= buf && p < buf + len);
	CHECK(memchr(p, '\0', len - (size_t)(p - buf)) != NULL);
}

static void
check_request(const uint8_t *data, size_t size, const struct tftp_request *req)
{
	CHECK(req->opcode == TFTP_RRQ || req->opcode == TFTP_WRQ);
	CHECK(req->mode == TFTP_MODE_OCTET || req->mode == TFTP_MODE_NETASCII);
	check_inside(req->filename, data, size);
	CHECK(req->filename[0] != '\0');
	CHECK((req->opts & ~TFTP_OPT_ALL) == 0);
	if (req->opts & TFTP_OPT_BIT(TFTP_OPT_BLKSIZE))
		CHECK(req->blksize >= TFTP_BLKSIZE_MIN &&
		    req->blksize <= TFTP_BLKSIZE_MAX);
	if (req->opts & TFTP_OPT_BIT(TFTP_OPT_BLKSIZE2))
		CHECK(req->blksize2 >= TFTP_BLKSIZE_MIN &&
		    req->blksize2 <= TFTP_BLKSIZE_MAX);
	if (req->opts & TFTP_OPT_BIT(TFTP_OPT_TIMEOUT))
		CHECK(req->timeout >= TFTP_TIMEOUT_MIN &&
		    req->timeout <= TFTP_TIMEOUT_MAX);
	if (req->opts & TFTP_OPT_BIT(TFTP_OPT_WINDOWSIZE))
		CHECK(req->windowsize >= TFTP_WINDOW_MIN &&
		    req->windowsize <= TFTP_WINDOW_MAX);
	if (req->opts & TFTP_OPT_BIT(TFTP_OPT_ROLLOVER))
		CHECK(req->rollover <= 1);
	if (req->opts & TFTP_OPT_BIT(TFTP_OPT_UTIMEOUT))
		CHECK(req->utimeout >= TFTP_UTIMEOUT_MIN &&
		    req->utimeout <= TFTP_UTIMEOUT_MAX);
}

/* The OACK carries exactly what was negotiated, and nothing else. */
static void
check_oack(const struct tftp_params *p)
{
	/* Longest: every name plus a 20-digit value, each NUL-terminated. */
	uint8_t buf[2 + TFTP_OPT_MAX * (11 + 21)], req[10 + sizeof(buf)];
	struct tftp_request back;
	size_t n, cap;

	n = proto_build_oack(buf, sizeof(buf), p);
	CHECK(n >= 2 && n <= sizeof(buf));
	CHECK(buf[0] == 0 && buf[1] == TFTP_OACK);
	CHECK((n == 2) == (p->acked == 0));
	CHECK(buf[n - 1] == '\0' || n == 2);
	CHECK(proto_build_oack(buf, n, p) == n);
	for (cap = 0; cap < n; cap += 1 + cap / 4)
		CHECK(proto_build_oack(buf, cap, p) == 0);

	n = proto_build_oack(buf, sizeof(buf), p);
	memcpy(req, "\0\1f\0octet\0", 10);
	memcpy(req + 10, buf + 2, n - 2);
	CHECK(proto_parse_request(req, 10 + n - 2, &back, NULL) == 0);
	CHECK(back.opts == p->acked);
	if (p->acked & TFTP_OPT_BIT(TFTP_OPT_BLKSIZE))
		CHECK(back.blksize == p->blksize);
	if (p->acked & TFTP_OPT_BIT(TFTP_OPT_BLKSIZE2))
		CHECK(back.blksize2 == p->blksize);
	if (p->acked & TFTP_OPT_BIT(TFTP_OPT_TIMEOUT))
		CHECK(back.timeout == p->timeout);
	if (p->acked & TFTP_OPT_BIT(TFTP_OPT_TSIZE))
		CHECK(back.tsize == p->tsize);
	if (p->acked & TFTP_OPT_BIT(TFTP_OPT_WINDOWSIZE))
		CHECK(back.windowsize == p->windowsize);
	if (p->acked & TFTP_OPT_BIT(TFTP_OPT_ROLLOVER))
		CHECK(back.rollover == p->rollover);
	if (p->acked & TFTP_OPT_BIT(TFTP_OPT_UTIMEOUT))
		CHECK(back.utimeout == p->utimeout);
}

static void
check_negotiate(const struct tftp_request *req, const struct tftp_limits *lim,
    uint64_t file_size)
{
	struct tftp_params p;
	uint32_t want;
	int rc;

	rc = proto_negotiate(req, lim, file_size, &p);
	if (rc == -EFBIG) {
		CHECK(req->opcode == TFTP_WRQ);
		CHECK(req->opts & TFTP_OPT_BIT(TFTP_OPT_TSIZE));
		CHECK(lim->max_file_size != 0 &&
		    req->tsize > lim->max_file_size);
		return;
	}
	CHECK(rc == 0);
	CHECK(!(req->opcode == TFTP_WRQ &&
	    (req->opts & TFTP_OPT_BIT(TFTP_OPT_TSIZE)) &&
	    lim->max_file_size != 0 && req->tsize > lim->max_file_size));
	want = req->opts & lim->allowed_opts;
	CHECK(p.acked == want);
	if (want & TFTP_OPT_BIT(TFTP_OPT_BLKSIZE))
		CHECK(p.blksize >= TFTP_BLKSIZE_MIN &&
		    p.blksize <= lim->max_blksize &&
		    p.blksize <= req->blksize);
	/* blksize2: a power of two within every size asked for. */
	if (want & TFTP_OPT_BIT(TFTP_OPT_BLKSIZE2))
		CHECK(p.blksize >= TFTP_BLKSIZE_MIN &&
		    p.blksize <= lim->max_blksize &&
		    p.blksize <= req->blksize2 &&
		    (p.blksize & (p.blksize - 1)) == 0);
	if (!(want & (TFTP_OPT_BIT(TFTP_OPT_BLKSIZE) |
	    TFTP_OPT_BIT(TFTP_OPT_BLKSIZE2))))
		CHECK(p.blksize == TFTP_BLKSIZE_DEFAULT);
	if (want & TFTP_OPT_BIT(TFTP_OPT_WINDOWSIZE))
		CHECK(p.windowsize >= TFTP_WINDOW_MIN &&
		    p.windowsize <= lim->max_windowsize);
	else
		CHECK(p.windowsize == 1);
	if (want & TFTP_OPT_BIT(TFTP_OPT_UTIMEOUT))
		CHECK(p.timeout_ms >= 10 && p.timeout_ms <= 255000);
	else if (want & TFTP_OPT_BIT(TFTP_OPT_TIMEOUT))
		CHECK(p.timeout_ms == req->timeout * 1000);
	else
		CHECK(p.timeout_ms == 0);
	if (want & TFTP_OPT_BIT(TFTP_OPT_TSIZE))
		CHECK(p.tsize == (req->opcode == TFTP_RRQ ? file_size :
		    req->tsize));
	CHECK(p.rollover <= 1);
	check_oack(&p);
}

static void
check_path(const char *name)
{
	char out[PATH_REL_MAX], dir[PATH_REL_MAX];
	const char *base, *s;
	size_t n;
	int rc;

	rc = path_normalize(name, out, sizeof(out));
	if (rc != 0) {
		CHECK(rc == -EACCES || rc == -ENAMETOOLONG);
		return;
	}
	CHECK(out[0] != '\0' && out[0] != '/');
	CHECK(out[strlen(out) - 1] != '/');
	CHECK(strstr(out, "//") == NULL);
	for (s = out; *s != '\0'; s++)
		CHECK((unsigned char)*s >= 0x20 && (unsigned char)*s != 0x7f);
	/* No "." or ".." component anywhere. */
	for (s = out;; s += n + 1) {
		n = strcspn(s, "/");
		CHECK(n > 0);
		CHECK(!(n == 1 && s[0] == '.'));
		CHECK(!(n == 2 && s[0] == '.' && s[1] == '.'));
		if (s[n] == '\0')
			break;
	}
	CHECK(path_split(out, dir, sizeof(dir), &base) == 0);
	CHECK(base[0] != '\0' && strchr(base, '/') == NULL);
	if (strcmp(dir, ".") == 0) {
		CHECK(base == out);
	} else {
		CHECK(strncmp(out, dir, strlen(dir)) == 0);
		CHECK(base == out + strlen(dir) + 1 && base[-1] == '/');
	}
}

static void
check_packet(const uint8_t *data, size_t size)
{
	struct tftp_packet pkt;

	if (proto_parse_packet(data, size, &pkt) != 0) {
		CHECK(size < TFTP_HDR_LEN || (pkt.opcode != TFTP_DATA &&
		    pkt.opcode != TFTP_ACK && pkt.opcode != TFTP_ERROR &&
		    pkt.opcode != TFTP_OACK));
		return;
	}
	CHECK(size >= TFTP_HDR_LEN);
	switch (pkt.opcode) {
	case TFTP_DATA:
		CHECK(pkt.data == data + TFTP_HDR_LEN);
		CHECK(pkt.len == size - TFTP_HDR_LEN);
		break;
	case TFTP_ERROR:
		if (pkt.msg[0] != '\0')
			check_inside(pkt.msg, data, size);
		break;
	case TFTP_ACK:
	case TFTP_OACK:
		break;
	default:
		abort();
	}
}

/* Encode then decode in uneven pieces; the text must come back. */
static void
check_netascii(const uint8_t *data, size_t size)
{
	struct netascii_enc enc = { 0 };
	struct netascii_dec dec = { 0 };
	uint8_t *wire, *back;
	size_t wlen, blen, pos, used, cap, n;

	if (size > 4096)
		return;
	wire = malloc(2 * size + 1);
	back = malloc(2 * size + 2);
	if (wire == NULL || back == NULL)
		abort();
	cap = size > 0 ? (size_t)(data[0] % 7) + 1 : 1;
	wlen = pos = 0;
	while (pos < size || enc.pending) {
		n = netascii_encode(&enc, data + pos, size - pos, &used,
		    wire + wlen, cap);
		CHECK(n > 0 && n <= cap);
		wlen += n;
		pos += used;
	}
	CHECK(wlen == size + netascii_growth(data, size));
	blen = 0;
	for (pos = 0; pos < wlen; pos += n) {
		n = wlen - pos < cap + 1 ? wlen - pos : cap + 1;
		blen += netascii_decode(&dec, wire + pos, n, back + blen);
	}
	blen += netascii_decode_finish(&dec, back + blen);
	CHECK(blen == size);
	CHECK(size == 0 || memcmp(back, data, size) == 0);
	free(wire);
	free(back);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tftp_request req;
	const char *msg = NULL;
	size_t i;
	int rc;

	rc = proto_parse_request(data, size, &req, &msg);
	if (rc == 0) {
		check_request(data, size, &req);
		for (i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
			check_negotiate(&req, &limits[i], 0);
			check_negotiate(&req, &limits[i], (uint64_t)size << 20);
		}
		check_path(req.filename);
	} else {
		CHECK(rc == -EBADMSG || rc == -EPROTONOSUPPORT);
		CHECK(msg != NULL && msg[0] != '\0');
	}
	check_packet(data, size);
	check_netascii(data, size);
	return 0;
}
