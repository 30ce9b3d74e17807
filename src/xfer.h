/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * The transfer state machine, for reads (we send DATA) and writes (we send
 * ACKs).  Pure: it is fed packets, timeouts and the time, and answers with
 * an action that the worker carries out.  It never touches a file or a
 * socket, so every protocol rule (windows, which ACKs count, backoff, the
 * upload dally) is tested without either.  It owns a transfer's
 * parameters, the options negotiated among them, and its counters; the
 * worker reads them through the accessors below.
 *
 * Blocks are numbered internally by a 64-bit index starting at 1, so a
 * transfer of any length is one sequence; xfer_wire_block() maps an index
 * to the 16-bit number on the wire (wrapping to 0, or to 1 with the
 * rollover option).
 */
#ifndef XFER_H
#define XFER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto.h"

/*
 * Largest window we grant.  Kept below half the 16-bit block space so an
 * ACK's wire number always maps to exactly one block index.
 */
#define XFER_WINDOW_LIMIT	32768

/*
 * Shortest time after a resend during which ACKs count as answers to
 * what was sent before it, not as news of another loss: the clock is in
 * ms and a LAN's round trip rounds to 0.
 */
#define XFER_GUARD_MIN_MS	2
/* The same before a round trip was measured. */
#define XFER_GUARD_INIT_MS	10

enum xfer_dir {
	XFER_READ,		/* RRQ: the server sends the file */
	XFER_WRITE,		/* WRQ: the server receives it */
};

enum xfer_state {
	XS_OACK,		/* OACK sent, waiting for ACK 0 (read) or DATA 1 */
	XS_RUN,			/* data moving */
	XS_DALLY,		/* write: last ACK sent, answering repeats of it */
	XS_DONE,
};

struct xfer_params {
	enum xfer_dir	dir;
	/*
	 * What the negotiation settled: opt.blksize (8..65464),
	 * opt.windowsize (1..XFER_WINDOW_LIMIT) and opt.rollover (0 or 1)
	 * are the ones the machine runs with; opt.acked != 0 starts the
	 * transfer with an OACK, which carries those options.
	 */
	struct tftp_params opt;
	uint64_t	size;		/* read: bytes to send, in wire encoding */
	uint32_t	timeout_ms;	/* first retransmission interval, >= 1 */
	uint32_t	max_timeout_ms;	/* backoff ceiling; == timeout_ms: fixed */
	uint32_t	retries;	/* retransmissions before giving up */
	uint32_t	dally_ms;	/* write: answer a repeated last block, >= 1 */
	/*
	 * Until the client answers (ACK of the OACK or of DATA 1; DATA 1
	 * after ACK 0 or the OACK) its address may be a forged one: the
	 * first packet goes again only unverified_retries times, at the
	 * server's own interval (never the client's timeout option), and
	 * the transfer ends unverified_ms after its request, or the last
	 * repeat of it.  unverified_ms 0: no such phase (as if answered).
	 */
	uint32_t	server_timeout_ms;
	uint32_t	unverified_retries;
	uint32_t	unverified_ms;
};

/*
 * Declared here so that its owner can embed it (no allocation per
 * transfer); its fields are the machine's own, read through the
 * accessors below.
 */
struct xfer {
	struct xfer_params p;
	enum xfer_state	state;
	uint64_t	nblocks;	/* read: DATA blocks, size / blksize + 1 */
	uint64_t	acked;		/* read: highest block acknowledged */
	uint64_t	sent;		/* read: highest block sent */
	uint64_t	resent_at;	/* read: when blocks last went again */
	uint64_t	probe;		/* read: block whose ACK times a round
					 * trip; 0 = none */
	uint64_t	probe_at;	/* read: when probe was sent */
	uint32_t	srtt_ms;	/* read: smoothed round trip; 0 = none */
	uint64_t	held;		/* read: an ACK met within the guard */
	uint64_t	held_at;	/* read: when to look at it again;
					 * 0 = none */
	bool		resent;		/* read: resent_at is valid */
	uint64_t	received;	/* write: highest in-order block received */
	uint64_t	ack_sent;	/* write: block of the last ACK we sent */
	uint64_t	gap_acked;	/* write: received when a gap was last ACKed */
	uint64_t	bytes;		/* payload bytes delivered or received */
	uint64_t	deadline;	/* ms, same clock as now; 0 = none */
	uint32_t	cur_timeout_ms;
	uint32_t	tries;		/* consecutive timeouts without progress */
	uint32_t	retransmits;	/* packets sent again, for statistics */
	uint32_t	timeouts;	/* timer expiries, for statistics */
	bool		verified;	/* the client answered */
	uint64_t	expires;	/* unverified: when it is given up */
};

/*
 * Action flags.  The worker performs them in this order; when one of its
 * steps fails it stops there and reports that with xfer_fail().
 */
enum {
	XA_WRITE	= 1 << 0,	/* append data/len to the upload */
	XA_COMMIT	= 1 << 1,	/* upload complete: make it visible */
	XA_SEND_OACK	= 1 << 2,
	XA_SEND_DATA	= 1 << 3,	/* blocks first .. first + count - 1 */
	XA_SEND_ACK	= 1 << 4,	/* wire block ack_block */
	XA_SEND_ERROR	= 1 << 5,	/* error_code, error_msg */
	XA_DONE		= 1 << 6,	/* transfer over; result says how */
	XA_RETRANSMIT	= 1 << 7,	/* the sends above repeat earlier ones */
};

struct xfer_action {
	unsigned	 flags;
	uint64_t	 first;
	uint32_t	 count;
	uint16_t	 ack_block;
	const uint8_t	*data;		/* points into the packet given */
	size_t		 len;
	uint16_t	 error_code;
	const char	*error_msg;
	/*
	 * With XA_DONE: 0 = complete, -ETIMEDOUT = gave up after retries,
	 * -ECONNABORTED = the client sent ERROR, -EPROTO = the client broke
	 * the protocol (we sent ERROR 4), -ENOTCONN = the client never
	 * answered within unverified_ms (no ERROR sent), the error given to
	 * xfer_on_unreachable(), or what xfer_fail() was given.
	 */
	int		 result;
	/*
	 * What this step added to the transfer's counters, for the
	 * worker's statistics: packets it sends again (or will, for an
	 * ACK inside the window), and timer expiries (0 or 1).
	 */
	uint32_t	 retransmits;
	uint32_t	 timeouts;
};

/*
 * The parameters of a transfer in direction dir whose options were
 * negotiated as opt, for size bytes (read; in wire encoding), with the
 * server's retransmission interval timeout_ms and retries.  A client that
 * chose a timeout gets that fixed interval (RFC 2349); otherwise ours
 * doubles on each retransmission up to eight times itself.  A finished
 * upload dallies for two intervals.
 */
void		 xfer_params_init(struct xfer_params *p, enum xfer_dir dir,
		    const struct tftp_params *opt, uint64_t size,
		    uint32_t timeout_ms, uint32_t retries);

/*
 * The unverified phase (see struct xfer_params): retries timed
 * retransmissions of the first packet at most, and the end expire_ms
 * after the request; expire_ms 0 turns the phase off.
 */
void		 xfer_params_unverified(struct xfer_params *p, uint32_t retries,
		    uint32_t expire_ms);

/*
 * Start a transfer at time now (ms).  The first action is the OACK, the
 * first window (read without options) or ACK 0 (write without options).
 * The parameters must be valid (the negotiation checked them).
 */
void		 xfer_start(struct xfer *x, const struct xfer_params *p,
		    uint64_t now, struct xfer_action *a);

/*
 * A packet arrived on the transfer's socket.  Malformed packets and stale
 * ACKs produce an empty action.  A read's window slides: an ACK that
 * moves forward sends only blocks not yet in flight.  Blocks already in
 * flight go again only on evidence of a loss: an ACK (new or repeated)
 * that leaves blocks after it unacknowledged, at windowsize > 1, and not
 * within a guard time after the last resend (twice the measured round
 * trip, at least XFER_GUARD_MIN_MS, at most the first timeout), when it
 * may merely answer what we sent before.  Such an ACK is held, and
 * answered a guard time later if nothing was acknowledged since (the
 * deadline covers that).  At windowsize 1 a duplicate ACK never draws
 * DATA (RFC 1123: no Sorcerer's Apprentice).
 */
void		 xfer_on_packet(struct xfer *x, const uint8_t *buf, size_t len,
		    uint64_t now, struct xfer_action *a);

/*
 * The deadline passed: answer an ACK held in a guard, retransmit, finish
 * a dally, or give up.
 */
void		 xfer_on_timeout(struct xfer *x, uint64_t now,
		    struct xfer_action *a);

/*
 * The client repeated its request.  Unverified, its first packet goes
 * again (one answer per request) and the expiry restarts from now; once
 * the client has answered, an empty action.
 */
void		 xfer_on_repeat(struct xfer *x, uint64_t now,
		    struct xfer_action *a);

/*
 * An ICMP error (err, a negative errno) about the client's address.
 * Unverified: the transfer ends with result err and no ERROR (nobody
 * listens there; a forged source's owner said so).  Once the client
 * has answered, an empty action: the retransmission timer decides.
 */
void		 xfer_on_unreachable(struct xfer *x, int err,
		    struct xfer_action *a);

/*
 * The worker could not do its part of an action (read error, disk
 * full...): abort with an ERROR to the client and XA_DONE with result err
 * (a negative errno), in a new action for the worker to carry out.  The
 * action that failed is dropped, whatever it still held.
 */
void		 xfer_fail(struct xfer *x, uint16_t code, const char *msg,
		    int err, struct xfer_action *a);

/* 0 when no timer is due (the transfer is done). */
uint64_t	 xfer_deadline(const struct xfer *x);
uint16_t	 xfer_wire_block(const struct xfer *x, uint64_t idx);
/* Read: payload length of block idx (blksize, or less for the last). */
size_t		 xfer_block_len(const struct xfer *x, uint64_t idx);
/* Read: offset of block idx in the wire-encoded stream. */
uint64_t	 xfer_block_offset(const struct xfer *x, uint64_t idx);

/*
 * Where a transfer stands, copied out for the tests, the fuzzer and any
 * other observer; the worker's per-packet reads have accessors below.
 */
struct xfer_status {
	enum xfer_state	state;
	uint64_t	nblocks;	/* read: DATA blocks in all */
	uint64_t	acked;		/* read: highest acknowledged; no block
					 * at or below it is ever sent again */
	uint64_t	sent;		/* read: highest block sent */
	uint64_t	received;	/* write: highest in-order block */
	uint64_t	ack_sent;	/* write: the block last ACKed */
	uint64_t	bytes;		/* as xfer_bytes() */
	uint32_t	interval;	/* retransmission interval now, ms */
	uint32_t	tries;		/* timeouts in a row without progress
					 * (at most the retries given) */
	uint32_t	retransmits;	/* since the start: packets sent again */
	uint32_t	timeouts;	/* since the start: timer expiries */
	uint32_t	srtt;		/* read: smoothed round trip, ms; 0 =
					 * not measured yet */
	bool		verified;	/* as xfer_verified() */
};
struct xfer_status xfer_status(const struct xfer *x);

/* What the worker reads of a transfer. */
const struct xfer_params *xfer_params(const struct xfer *x);
/* Write: committed, the final ACK sent; only a lost ACK is answered. */
bool		 xfer_dallying(const struct xfer *x);
/* Payload bytes delivered (read: acknowledged) or received (write). */
uint64_t	 xfer_bytes(const struct xfer *x);
/* Read: the highest block acknowledged. */
uint64_t	 xfer_acked(const struct xfer *x);
/* The client has answered (see struct xfer_params). */
bool		 xfer_verified(const struct xfer *x);

#endif /* XFER_H */
