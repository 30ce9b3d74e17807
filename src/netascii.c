/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * netascii codec (RFC 1350 via RFC 764): local LF becomes CR LF on the
 * wire and a local CR becomes CR NUL; decoding undoes both.  The carry
 * state lets a pair straddle two blocks in either direction, so callers
 * can cut the stream anywhere.
 */
#include "netascii.h"

size_t
netascii_encode(struct netascii_enc *st, const uint8_t *in, size_t inlen,
    size_t *consumed, uint8_t *out, size_t outcap)
{
	size_t i = 0, o = 0;
	uint8_t c;

	for (;;) {
		if (st->pending) {
			if (o == outcap)
				break;
			out[o++] = st->next;
			st->pending = false;
			continue;
		}
		if (i == inlen || o == outcap)
			break;
		c = in[i++];
		if (c == '\n' || c == '\r') {
			/* The pair's second byte may go in the next block. */
			out[o++] = '\r';
			st->pending = true;
			st->next = c == '\n' ? '\n' : '\0';
		} else {
			out[o++] = c;
		}
	}
	*consumed = i;
	return o;
}

uint64_t
netascii_growth(const uint8_t *in, size_t len)
{
	uint64_t n = 0;
	size_t i;

	for (i = 0; i < len; i++)
		if (in[i] == '\n' || in[i] == '\r')
			n++;
	return n;
}

size_t
netascii_decode(struct netascii_dec *st, const uint8_t *in, size_t inlen,
    uint8_t *out)
{
	size_t i, o = 0;
	uint8_t c;

	for (i = 0; i < inlen; i++) {
		c = in[i];
		if (st->cr) {
			st->cr = false;
			if (c == '\n') {
				out[o++] = '\n';
				continue;
			}
			if (c == '\0') {
				out[o++] = '\r';
				continue;
			}
			/* Not a netascii pair: keep the CR as it came. */
			out[o++] = '\r';
		}
		if (c == '\r')
			st->cr = true;
		else
			out[o++] = c;
	}
	return o;
}

size_t
netascii_decode_finish(struct netascii_dec *st, uint8_t *out)
{
	if (!st->cr)
		return 0;
	st->cr = false;
	out[0] = '\r';
	return 1;
}
