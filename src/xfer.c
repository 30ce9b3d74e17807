/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * The transfer state machine: windows, ACK rules, retransmission with
 * backoff, the upload dally.  A read's window slides: what an ACK frees
 * goes out, and blocks in flight go again only on evidence that they
 * were lost (see read_ack()).  It owns no file, socket, clock or log; the
 * worker feeds it packets and timer expiries with the current time and
 * carries out the action it answers with.  Blocks carry a 64-bit index
 * internally, so the 16-bit wire numbers only matter at the edge: on the
 * way out (xfer_wire_block) and when a packet's number is placed relative
 * to the window (wire_index).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include "proto.h"
#include "xfer.h"

/* Block numbers 1..65535 repeat with this period under rollover 1. */
#define ROLLOVER1_CYCLE		65535u

static const char illegal_op[] = "Illegal TFTP operation";

static bool	 wire_index(const struct xfer *, uint64_t, uint16_t,
		    uint64_t *);
static void	 arm(struct xfer *, uint64_t);
static void	 retransmitted(struct xfer *, uint32_t,
		    struct xfer_action *);
static void	 finish(struct xfer *, int, struct xfer_action *);
static void	 protocol_error(struct xfer *, struct xfer_action *);
static void	 send_range(struct xfer *, uint64_t, uint64_t, uint64_t,
		    struct xfer_action *);
static void	 send_window(struct xfer *, uint64_t, uint64_t,
		    struct xfer_action *);
static uint64_t	 guard_end(const struct xfer *);
static void	 held_ack(struct xfer *, uint64_t, struct xfer_action *);
static void	 rtt_sample(struct xfer *, uint64_t, uint64_t);
static void	 send_ack(struct xfer *, struct xfer_action *);
static void	 read_ack(struct xfer *, uint16_t, uint64_t,
		    struct xfer_action *);
static void	 write_data(struct xfer *, const struct tftp_packet *,
		    uint64_t, struct xfer_action *);
static void	 dally_packet(struct xfer *, const struct tftp_packet *,
		    struct xfer_action *);
static void	 resend(struct xfer *, uint64_t, struct xfer_action *);
static void	 unverified_next(struct xfer *, uint64_t);
static void	 unverified_timeout(struct xfer *, uint64_t,
		    struct xfer_action *);

uint16_t
xfer_wire_block(const struct xfer *x, uint64_t idx)
{
	if (x->p.opt.rollover == 0 || idx <= 65535)
		return (uint16_t)idx;
	return (uint16_t)((idx - 1) % ROLLOVER1_CYCLE + 1);
}

/*
 * The first index at or after base whose wire number is w.  The window is
 * at most XFER_WINDOW_LIMIT blocks, less than half a wire cycle, so this
 * is the only candidate the peer can mean; the callers range-check it.
 * False when no later block carries w (wire 0 after block 0 with rollover
 * 1).
 */
static bool
wire_index(const struct xfer *x, uint64_t base, uint16_t w, uint64_t *idx)
{
	uint16_t bw = xfer_wire_block(x, base);

	if (x->p.opt.rollover == 0) {
		*idx = base + (uint16_t)(w - bw);
		return true;
	}
	if (w == 0) {
		*idx = 0;
		return base == 0;
	}
	if (base == 0) {
		*idx = w;
		return true;
	}
	*idx = base + (w + ROLLOVER1_CYCLE - bw) % ROLLOVER1_CYCLE;
	return true;
}

uint64_t
xfer_block_offset(const struct xfer *x, uint64_t idx)
{
	if (idx == 0)
		return 0;
	return (idx - 1) * x->p.opt.blksize;
}

size_t
xfer_block_len(const struct xfer *x, uint64_t idx)
{
	uint64_t off;

	if (idx == 0 || idx > x->nblocks)
		return 0;
	off = xfer_block_offset(x, idx);
	if (off >= x->p.size)
		return 0;
	if (x->p.size - off < x->p.opt.blksize)
		return (size_t)(x->p.size - off);
	return x->p.opt.blksize;
}

uint64_t
xfer_deadline(const struct xfer *x)
{
	if (x->state == XS_DONE)
		return 0;
	if (x->held_at != 0 && x->held_at < x->deadline)
		return x->held_at;
	return x->deadline;
}

/* n packets go out (or will) again: the transfer's count and the step's. */
static void
retransmitted(struct xfer *x, uint32_t n, struct xfer_action *a)
{
	x->retransmits += n;
	a->retransmits += n;
}

/*
 * Progress: the next silence is measured from now, at the base interval
 * (the client's timeout option, if it chose one).  The client has
 * answered: its address is its own.
 */
static void
arm(struct xfer *x, uint64_t now)
{
	x->verified = true;
	x->tries = 0;
	x->cur_timeout_ms = x->p.timeout_ms;
	x->deadline = now + x->cur_timeout_ms;
}

static void
finish(struct xfer *x, int result, struct xfer_action *a)
{
	x->state = XS_DONE;
	x->deadline = 0;
	a->flags |= XA_DONE;
	a->result = result;
}

static void
protocol_error(struct xfer *x, struct xfer_action *a)
{
	a->flags |= XA_SEND_ERROR;
	a->error_code = TFTP_EBADOP;
	a->error_msg = illegal_op;
	finish(x, -EPROTO, a);
}

/*
 * Read: blocks first .. last, where last is the window's end or beyond
 * what was sent.  Those at or below sent go again: counted, and the
 * time noted, so that the ACKs they draw are told from news (guard_end()).
 * A block sent for the first time may time a round trip (Karn: never one
 * that went again).
 */
static void
send_range(struct xfer *x, uint64_t first, uint64_t last, uint64_t now,
    struct xfer_action *a)
{
	uint64_t again = first <= x->sent ? x->sent - first + 1 : 0;

	a->flags |= XA_SEND_DATA;
	a->first = first;
	a->count = (uint32_t)(last - first + 1);
	if (again > 0) {
		x->held_at = 0;
		if (again == a->count)
			a->flags |= XA_RETRANSMIT;
		retransmitted(x, (uint32_t)again, a);
		x->resent = true;
		x->resent_at = now;
		if (x->probe >= first)
			x->probe = 0;
	}
	if (last > x->sent) {
		if (x->probe == 0) {
			x->probe = last;
			x->probe_at = now;
		}
		x->sent = last;
	}
}

/*
 * Read: from first to the window's end (acked + windowsize, or the last
 * block); nothing when that is all in flight already.
 */
static void
send_window(struct xfer *x, uint64_t first, uint64_t now,
    struct xfer_action *a)
{
	uint64_t last = x->acked + x->p.opt.windowsize;

	if (last > x->nblocks)
		last = x->nblocks;
	if (first <= last)
		send_range(x, first, last, now, a);
}

/*
 * Read: until this time after blocks went again, an ACK may have been
 * sent before they arrived (echoes of the loss we answered, or of our
 * own duplicates): no news yet.  Twice the round trip, at least
 * XFER_GUARD_MIN_MS (XFER_GUARD_INIT_MS before one was measured), at
 * most the first retransmission interval; 0 when nothing went again.
 */
static uint64_t
guard_end(const struct xfer *x)
{
	uint64_t g = (uint64_t)x->srtt_ms * 2;

	if (!x->resent)
		return 0;
	if (x->srtt_ms == 0)
		g = XFER_GUARD_INIT_MS;
	else if (g < XFER_GUARD_MIN_MS)
		g = XFER_GUARD_MIN_MS;
	if (g > x->p.timeout_ms)
		g = x->p.timeout_ms;
	return x->resent_at + g;
}

/*
 * Read: the guard after a resend ended with an ACK held during it still
 * the last word (nothing acknowledged since, blocks still in flight
 * after it): it was news after all, the resent block lost again.  A
 * client that reports a gap once (U-Boot) says nothing more, so this is
 * answered now rather than after a timeout.
 */
static void
held_ack(struct xfer *x, uint64_t now, struct xfer_action *a)
{
	x->held_at = 0;
	if (x->acked == x->held && x->held < x->sent)
		send_window(x, x->acked + 1, now, a);
}

/* Read: ACK n arrived at now; it times the probe if it covers it. */
static void
rtt_sample(struct xfer *x, uint64_t n, uint64_t now)
{
	uint64_t r;

	if (x->probe == 0 || n < x->probe)
		return;
	r = now - x->probe_at;
	/* Below the clock's 1 ms (a LAN) counts as 1: 0 means unmeasured. */
	if (r == 0)
		r = 1;
	if (r > x->p.max_timeout_ms)
		r = x->p.max_timeout_ms;
	x->srtt_ms = x->srtt_ms == 0 ? (uint32_t)r :
	    (uint32_t)(((uint64_t)x->srtt_ms * 7 + r) / 8);
	x->probe = 0;
}

/* Write: acknowledge the last in-order block. */
static void
send_ack(struct xfer *x, struct xfer_action *a)
{
	/* In XS_OACK the OACK stood for ACK 0; ACK 0 itself was never sent. */
	if (x->ack_sent == x->received && x->state != XS_OACK) {
		a->flags |= XA_RETRANSMIT;
		retransmitted(x, 1, a);
	}
	a->flags |= XA_SEND_ACK;
	a->ack_block = xfer_wire_block(x, x->received);
	x->ack_sent = x->received;
	if (x->state == XS_OACK)
		x->state = XS_RUN;
}

void
xfer_params_init(struct xfer_params *p, enum xfer_dir dir,
    const struct tftp_params *opt, uint64_t size, uint32_t timeout_ms,
    uint32_t retries)
{
	*p = (struct xfer_params){
		.dir = dir,
		.opt = *opt,
		.size = size,
		.retries = retries,
	};
	if (opt->timeout_ms != 0) {
		p->timeout_ms = p->max_timeout_ms = opt->timeout_ms;
	} else {
		p->timeout_ms = timeout_ms;
		p->max_timeout_ms = timeout_ms > UINT32_MAX / 8 ?
		    UINT32_MAX : timeout_ms * 8;
	}
	p->dally_ms = p->timeout_ms > UINT32_MAX / 2 ? UINT32_MAX :
	    p->timeout_ms * 2;
	p->server_timeout_ms = timeout_ms;
}

void
xfer_params_unverified(struct xfer_params *p, uint32_t retries,
    uint32_t expire_ms)
{
	p->unverified_retries = retries;
	p->unverified_ms = expire_ms;
}

/*
 * Unverified: the next timer is a retransmission at the server's own
 * interval while the budget lasts and it comes before the expiry, else
 * the expiry.
 */
static void
unverified_next(struct xfer *x, uint64_t now)
{
	x->deadline = x->expires;
	if (x->tries < x->p.unverified_retries &&
	    now + x->p.server_timeout_ms < x->expires)
		x->deadline = now + x->p.server_timeout_ms;
}

void
xfer_start(struct xfer *x, const struct xfer_params *p, uint64_t now,
    struct xfer_action *a)
{
	/* gap_acked: no gap reported yet, not even at block 0. */
	*x = (struct xfer){ .p = *p, .gap_acked = UINT64_MAX };
	*a = (struct xfer_action){ 0 };
	if (p->dir == XFER_READ)
		x->nblocks = p->size / p->opt.blksize + 1;
	arm(x, now);
	if (p->unverified_ms != 0) {
		x->verified = false;
		x->cur_timeout_ms = p->server_timeout_ms;
		x->expires = now + p->unverified_ms;
		unverified_next(x, now);
	}
	if (p->opt.acked != 0) {
		x->state = XS_OACK;
		a->flags = XA_SEND_OACK;
		return;
	}
	x->state = XS_RUN;
	if (p->dir == XFER_READ) {
		send_window(x, 1, now, a);
	} else {
		a->flags = XA_SEND_ACK;
		a->ack_block = 0;
	}
}

/*
 * Read: an ACK.  One that moves forward is progress (the timer restarts)
 * and slides the window.  Any ACK n, new or repeated, that leaves blocks
 * after it in flight says the client has n and, it may be, lost n + 1: a
 * client reports a gap with an ACK of its last in-order block (RFC 7440),
 * and one re-ACKing on its own timer says the same.  Then n + 1 onwards
 * go again at once, unless guarded() says the ACK may predate our last
 * resend: some clients ACK every block they did not expect, duplicates
 * included, and answering each of those with a window again would keep
 * the two out of step for the rest of the file.  Windowsize 1 never
 * resends on an ACK (RFC 1123); nor does an ACK outside the window.
 */
static void
read_ack(struct xfer *x, uint16_t w, uint64_t now, struct xfer_action *a)
{
	uint64_t n, first;

	if (x->state == XS_OACK) {
		if (w != 0)
			return;
		x->state = XS_RUN;
		arm(x, now);
		send_window(x, 1, now, a);
		return;
	}
	if (!wire_index(x, x->acked, w, &n) || n > x->sent)
		return;
	if (n > x->acked) {
		rtt_sample(x, n, now);
		x->acked = n;
		x->bytes = n == x->nblocks ? x->p.size :
		    n * x->p.opt.blksize;
		arm(x, now);
		if (n == x->nblocks) {
			finish(x, 0, a);
			return;
		}
	}
	first = x->sent + 1;
	if (n >= x->sent || x->p.opt.windowsize == 1) {
		x->held_at = 0;
	} else if (now >= guard_end(x)) {
		first = n + 1;
	} else {
		/*
		 * Perhaps an echo: look again a guard time from now, when
		 * what this ACK frees has had time to draw the next one.
		 */
		x->held = n;
		x->held_at = now + (guard_end(x) - x->resent_at);
	}
	send_window(x, first, now, a);
}

static void
write_data(struct xfer *x, const struct tftp_packet *pk, uint64_t now,
    struct xfer_action *a)
{
	uint64_t n, d;

	if (pk->len > x->p.opt.blksize) {
		protocol_error(x, a);
		return;
	}
	if (!wire_index(x, x->received, pk->block, &n))
		return;
	d = n - x->received;
	if (d == 0) {
		/* The client lost our ACK and repeats; there is no DATA 0. */
		if (x->received != 0)
			send_ack(x, a);
		return;
	}
	if (d > 1) {
		/* A gap: say once where we stand, and let the client resume. */
		if (d <= x->p.opt.windowsize && x->gap_acked != x->received) {
			x->gap_acked = x->received;
			send_ack(x, a);
		}
		return;
	}
	x->received = n;
	x->bytes += pk->len;
	a->flags |= XA_WRITE;
	a->data = pk->data;
	a->len = pk->len;
	arm(x, now);
	if (pk->len < x->p.opt.blksize) {
		a->flags |= XA_COMMIT;
		send_ack(x, a);
		x->state = XS_DALLY;
		x->deadline = now + x->p.dally_ms;
		return;
	}
	if (x->received - x->ack_sent >= x->p.opt.windowsize)
		send_ack(x, a);
	else if (x->state == XS_OACK)
		x->state = XS_RUN;
}

/*
 * After the final ACK the upload is committed: only a repeat of the final
 * block (our ACK was lost) gets an answer, and a client ERROR merely ends
 * the dally early.
 */
static void
dally_packet(struct xfer *x, const struct tftp_packet *pk,
    struct xfer_action *a)
{
	uint64_t n;

	if (pk->opcode == TFTP_ERROR) {
		finish(x, 0, a);
		return;
	}
	if (pk->opcode == TFTP_DATA &&
	    wire_index(x, x->received, pk->block, &n) && n == x->received)
		send_ack(x, a);
}

void
xfer_on_packet(struct xfer *x, const uint8_t *buf, size_t len, uint64_t now,
    struct xfer_action *a)
{
	struct tftp_packet pk;
	uint16_t op;

	*a = (struct xfer_action){ 0 };
	if (x->state == XS_DONE || len < 2)
		return;
	if (proto_parse_packet(buf, len, &pk) != 0) {
		/* Known but truncated: noise.  Anything else: a broken peer. */
		op = (uint16_t)(buf[0] << 8 | buf[1]);
		if (op != TFTP_DATA && op != TFTP_ACK && op != TFTP_ERROR &&
		    op != TFTP_OACK && x->state != XS_DALLY)
			protocol_error(x, a);
		return;
	}
	if (x->state == XS_DALLY) {
		dally_packet(x, &pk, a);
		return;
	}
	if (pk.opcode == TFTP_ERROR) {
		/* Not sent back; passed on for the log line. */
		a->error_code = pk.error;
		a->error_msg = pk.msg;
		finish(x, -ECONNABORTED, a);
		return;
	}
	if (x->p.dir == XFER_READ && pk.opcode == TFTP_ACK)
		read_ack(x, pk.block, now, a);
	else if (x->p.dir == XFER_WRITE && pk.opcode == TFTP_DATA)
		write_data(x, &pk, now, a);
	else
		protocol_error(x, a);
}

void
xfer_on_timeout(struct xfer *x, uint64_t now, struct xfer_action *a)
{
	uint64_t next;

	*a = (struct xfer_action){ 0 };
	if (x->state == XS_DONE)
		return;
	if (x->state == XS_DALLY) {
		finish(x, 0, a);
		return;
	}
	if (!x->verified) {
		unverified_timeout(x, now, a);
		return;
	}
	if (x->held_at != 0 && now < x->deadline) {
		/* Not the retransmission timer: a held ACK's guard. */
		held_ack(x, now, a);
		return;
	}
	x->held_at = 0;
	x->timeouts++;
	a->timeouts = 1;
	if (x->tries >= x->p.retries) {
		a->flags = XA_SEND_ERROR;
		a->error_code = TFTP_EUNDEF;
		a->error_msg = "Timeout";
		finish(x, -ETIMEDOUT, a);
		return;
	}
	x->tries++;
	next = (uint64_t)x->cur_timeout_ms * 2;
	x->cur_timeout_ms = next < x->p.max_timeout_ms ? (uint32_t)next :
	    x->p.max_timeout_ms;
	x->deadline = now + x->cur_timeout_ms;
	resend(x, now, a);
}

/* What is unanswered goes again. */
static void
resend(struct xfer *x, uint64_t now, struct xfer_action *a)
{
	if (x->state == XS_OACK) {
		a->flags |= XA_SEND_OACK | XA_RETRANSMIT;
		retransmitted(x, 1, a);
	} else if (x->p.dir == XFER_READ) {
		/* What is in flight, all of it. */
		send_range(x, x->acked + 1, x->sent, now, a);
	} else {
		/*
		 * The last in-order block, which may be past our last ACK
		 * when the tail of a window was lost (RFC 7440).
		 */
		if (x->ack_sent != x->received) {
			a->flags |= XA_RETRANSMIT;
			retransmitted(x, 1, a);
		}
		send_ack(x, a);
	}
}

/*
 * Unverified, the timer: the expiry ends the transfer without an ERROR
 * (one more packet to an address that may not be the client's); before
 * it, the first packet goes again while the budget lasts.
 */
static void
unverified_timeout(struct xfer *x, uint64_t now, struct xfer_action *a)
{
	x->timeouts++;
	a->timeouts = 1;
	if (now >= x->expires) {
		finish(x, -ENOTCONN, a);
		return;
	}
	if (x->tries < x->p.unverified_retries) {
		x->tries++;
		resend(x, now, a);
	}
	unverified_next(x, now);
}

void
xfer_on_repeat(struct xfer *x, uint64_t now, struct xfer_action *a)
{
	*a = (struct xfer_action){ 0 };
	if (x->state == XS_DONE || x->verified)
		return;
	resend(x, now, a);
	x->expires = now + x->p.unverified_ms;
	unverified_next(x, now);
}

void
xfer_on_unreachable(struct xfer *x, int err, struct xfer_action *a)
{
	*a = (struct xfer_action){ 0 };
	if (x->state == XS_DONE || x->verified)
		return;
	finish(x, err, a);
}

void
xfer_fail(struct xfer *x, uint16_t code, const char *msg, int err,
    struct xfer_action *a)
{
	*a = (struct xfer_action){ 0 };
	if (x->state == XS_DONE)
		return;
	a->flags = XA_SEND_ERROR;
	a->error_code = code;
	a->error_msg = msg;
	finish(x, err, a);
}

struct xfer_status
xfer_status(const struct xfer *x)
{
	return (struct xfer_status){
		.state = x->state,
		.nblocks = x->nblocks,
		.acked = x->acked,
		.sent = x->sent,
		.received = x->received,
		.ack_sent = x->ack_sent,
		.bytes = x->bytes,
		.interval = x->cur_timeout_ms,
		.tries = x->tries,
		.retransmits = x->retransmits,
		.timeouts = x->timeouts,
		.srtt = x->srtt_ms,
		.verified = x->verified,
	};
}

const struct xfer_params *
xfer_params(const struct xfer *x)
{
	return &x->p;
}

bool
xfer_dallying(const struct xfer *x)
{
	return x->state == XS_DALLY;
}

uint64_t
xfer_bytes(const struct xfer *x)
{
	return x->bytes;
}

uint64_t
xfer_acked(const struct xfer *x)
{
	return x->acked;
}

bool
xfer_verified(const struct xfer *x)
{
	return x->verified;
}
