/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * TFTP packet codec and option negotiation.  Pure: bytes in, structs out,
 * no I/O, no clock, no logging, no globals.
 */
#ifndef PROTO_H
#define PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tftp_wire.h"

enum tftp_mode {
	TFTP_MODE_OCTET,
	TFTP_MODE_NETASCII,
};

/* Options we understand; anything else in a request is ignored (RFC 2347). */
enum tftp_opt {
	TFTP_OPT_BLKSIZE,	/* RFC 2348 */
	TFTP_OPT_TIMEOUT,	/* RFC 2349, seconds */
	TFTP_OPT_TSIZE,		/* RFC 2349 */
	TFTP_OPT_WINDOWSIZE,	/* RFC 7440 */
	TFTP_OPT_ROLLOVER,	/* tftp-hpa: block number after 65535 */
	TFTP_OPT_UTIMEOUT,	/* tftp-hpa: timeout in microseconds */
	TFTP_OPT_BLKSIZE2,	/* tftp-hpa: blksize, a power of two */
	TFTP_OPT_MAX,
};
#define TFTP_OPT_BIT(o)		(1u << (o))
#define TFTP_OPT_ALL		((1u << TFTP_OPT_MAX) - 1)

/* tftp-hpa's bounds for utimeout, in microseconds. */
#define TFTP_UTIMEOUT_MIN	10000
#define TFTP_UTIMEOUT_MAX	255000000

struct tftp_request {
	uint16_t	 opcode;	/* TFTP_RRQ or TFTP_WRQ */
	enum tftp_mode	 mode;
	const char	*filename;	/* NUL-terminated, points into the packet */
	uint32_t	 opts;		/* TFTP_OPT_BIT()s present with a usable value */
	uint32_t	 blksize;	/* >= 8; values above 65464 arrive as 65464 */
	uint32_t	 timeout;	/* seconds, 1..255 */
	uint64_t	 tsize;
	uint32_t	 windowsize;	/* 1..65535; larger values arrive as 65535 */
	uint32_t	 rollover;	/* 0 or 1 */
	uint32_t	 utimeout;	/* microseconds, TFTP_UTIMEOUT_MIN..MAX */
	uint32_t	 blksize2;	/* as blksize */
	/*
	 * The options of opts in the order the client sent them: some
	 * clients (U-Boot's lwIP) read an OACK's values by position.
	 */
	uint8_t		 order[TFTP_OPT_MAX];
	uint8_t		 norder;
};

/* A packet on a transfer's socket. */
struct tftp_packet {
	uint16_t	 opcode;
	uint16_t	 block;		/* DATA, ACK */
	const uint8_t	*data;		/* DATA payload */
	size_t		 len;		/* DATA payload length */
	uint16_t	 error;		/* ERROR code */
	const char	*msg;		/* ERROR text; "" when absent or unterminated */
};

/* What the server is willing to grant. */
struct tftp_limits {
	uint32_t	max_blksize;	/* 8..65464 */
	uint32_t	max_windowsize;	/* 1..XFER_WINDOW_LIMIT */
	uint32_t	allowed_opts;	/* TFTP_OPT_BIT()s the server acknowledges */
	uint64_t	max_file_size;	/* WRQ tsize bound; 0 = none */
};

/* The outcome of negotiation: what the transfer will use. */
struct tftp_params {
	uint32_t	blksize;	/* 512 unless negotiated; blksize2's too */
	uint32_t	windowsize;	/* 1 unless negotiated */
	uint32_t	timeout_ms;	/* client-chosen retransmit interval; 0 = ours */
	uint32_t	timeout;	/* seconds acknowledged (TFTP_OPT_TIMEOUT) */
	uint32_t	utimeout;	/* microseconds acknowledged (UTIMEOUT) */
	uint64_t	tsize;		/* value acknowledged in the OACK */
	uint16_t	rollover;	/* block number that follows 65535: 0 or 1 */
	uint32_t	acked;		/* TFTP_OPT_BIT()s to put in the OACK; 0 = none */
	/* The OACK's order: the request's, those of acked only. */
	uint8_t		order[TFTP_OPT_MAX];
	uint8_t		norder;
};

/*
 * Parse an RRQ or WRQ.  Option names and the mode are case-insensitive;
 * unknown options, options with unusable values and repeated options are
 * ignored (the first occurrence wins); trailing bytes after the last
 * complete string are tolerated.
 * Returns 0, or:
 *   -EBADMSG	  malformed: not a request, filename or mode missing or
 *		  unterminated, empty filename
 *   -EPROTONOSUPPORT  mode is "mail" or unknown
 * On error *errmsg (if not NULL) is set to text for an ERROR 4 packet.
 */
int		 proto_parse_request(const uint8_t *buf, size_t len,
		    struct tftp_request *req, const char **errmsg);

/* Parse DATA, ACK, ERROR (and OACK as opcode only).  -EBADMSG if short or
 * the opcode is not one of those. */
int		 proto_parse_packet(const uint8_t *buf, size_t len,
		    struct tftp_packet *pkt);

/*
 * Decide the transfer parameters.  file_size is the size the client will
 * see for an RRQ (netascii-encoded size in netascii mode); it is ignored
 * for a WRQ.  Options outside lim->allowed_opts are not acknowledged.
 * Returns 0, or -EFBIG when a WRQ announces a tsize above
 * lim->max_file_size (answer ERROR 3).
 */
int		 proto_negotiate(const struct tftp_request *req,
		    const struct tftp_limits *lim, uint64_t file_size,
		    struct tftp_params *p);

/* Builders return the packet length, or 0 if cap is too small. */
size_t		 proto_build_data_hdr(uint8_t *buf, size_t cap, uint16_t block);
size_t		 proto_build_ack(uint8_t *buf, size_t cap, uint16_t block);
size_t		 proto_build_error(uint8_t *buf, size_t cap, uint16_t code,
		    const char *msg);
/* The OACK: p->order first, then any other acked option in enum order. */
size_t		 proto_build_oack(uint8_t *buf, size_t cap,
		    const struct tftp_params *p);
/* The value an OACK carries for option o. */
uint64_t	 proto_param_value(const struct tftp_params *p, enum tftp_opt o);
/* Build an RRQ/WRQ; opts is NULL-terminated name, value, name, value... */
size_t		 proto_build_request(uint8_t *buf, size_t cap, uint16_t opcode,
		    const char *filename, const char *mode,
		    const char *const *opts);

const char	*proto_opt_name(enum tftp_opt o);
/* Case-insensitive; -1 when unknown. */
int		 proto_opt_lookup(const char *name);
/* Standard text for an error code ("File not found", ...). */
const char	*proto_errstr(uint16_t code);
const char	*proto_mode_name(enum tftp_mode m);

#endif /* PROTO_H */
