/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * netascii (RFC 1350, RFC 764): on the wire a line ends in CR LF and a bare
 * CR is sent as CR NUL.  Pure codec with carry state, so a conversion may
 * cross block boundaries anywhere.
 */
#ifndef NETASCII_H
#define NETASCII_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct netascii_enc {
	bool	 pending;	/* a second byte (LF or NUL) is owed */
	uint8_t	 next;
};

struct netascii_dec {
	bool	 cr;		/* the previous input byte was a CR */
};

/*
 * Encode local text into netascii.  Consumes from in and produces into out
 * until either runs out; *consumed is set to the input bytes used.
 * Returns the bytes written to out.
 */
size_t		 netascii_encode(struct netascii_enc *st, const uint8_t *in,
		    size_t inlen, size_t *consumed, uint8_t *out, size_t outcap);

/* How many bytes the encoding adds to this input (one per LF and CR). */
uint64_t	 netascii_growth(const uint8_t *in, size_t len);

/*
 * Decode netascii into local text: CR LF -> LF, CR NUL -> CR, a CR followed
 * by anything else is kept as is.  out must hold inlen + 1 bytes.  Returns
 * the bytes written.
 */
size_t		 netascii_decode(struct netascii_dec *st, const uint8_t *in,
		    size_t inlen, uint8_t *out);

/* At end of data: emit a CR still held back (0 or 1 bytes into out). */
size_t		 netascii_decode_finish(struct netascii_dec *st, uint8_t *out);

#endif /* NETASCII_H */
