/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * libFuzzer harness for the transfer state machine.  The first bytes pick
 * valid parameters (direction, blksize, window, rollover, OACK, size,
 * timeouts, retries); the rest is a script of events: raw datagrams, ACKs
 * and DATA aimed near the window (so the fuzzer can walk a transfer past
 * the 16-bit wrap), timer expiries and worker failures.  After every step
 * the invariants the worker relies on are checked with abort(): window
 * bounds, action shapes per direction, byte and retransmission
 * accounting, monotonic progress, nothing sent after XS_DONE.  It reads
 * the machine only through its accessors, as the worker does.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"
#include "tftp_wire.h"
#include "xfer.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PARAM_BYTES	11
#define MAX_STEPS	4096
/* In-order packets fed by bursts, per input: past one wrap. */
#define MAX_BURST	70000

struct input {
	const uint8_t	*p;
	size_t		 left;
};

struct shadow {
	uint64_t	now;
	uint64_t	written;	/* write: sum of XA_WRITE lengths */
	uint64_t	acked;		/* previous values, for monotony */
	uint64_t	received;
	uint32_t	retransmits;	/* sums of what the actions reported */
	uint32_t	timeouts;
	bool		committed;
	bool		done;
};

static uint8_t pkt[TFTP_PKT_MAX + 64];

static void
check(bool ok)
{
	if (!ok)
		abort();
}

static uint8_t
get8(struct input *in)
{
	uint8_t v;

	if (in->left == 0)
		return 0;
	v = *in->p++;
	in->left--;
	return v;
}

static uint16_t
get16(struct input *in)
{
	uint16_t hi = get8(in);

	return (uint16_t)(hi << 8 | get8(in));
}

static uint32_t
get32(struct input *in)
{
	uint32_t hi = get16(in);

	return hi << 16 | get16(in);
}

/* Returns whether long bursts are allowed (slow: kept for few inputs). */
static bool
get_params(struct input *in, struct xfer_params *p)
{
	static const uint32_t blksizes[] = { 8, 9, 512, 1428, 65464 };
	uint8_t flags = get8(in);
	uint16_t b = get16(in);
	uint16_t w = get16(in);
	uint32_t size = get32(in);
	uint8_t retries = get8(in);
	uint8_t tmo = get8(in);

	memset(p, 0, sizeof(*p));
	p->dir = flags & 1 ? XFER_WRITE : XFER_READ;
	/* Which options were acknowledged does not matter, only whether. */
	p->opt.acked = flags & 2 ? TFTP_OPT_BIT(TFTP_OPT_BLKSIZE) : 0;
	p->opt.rollover = flags & 4 ? 1 : 0;
	if (b & 0x8000)
		p->opt.blksize = blksizes[b % (sizeof(blksizes) /
		    sizeof(blksizes[0]))];
	else
		p->opt.blksize = TFTP_BLKSIZE_MIN + (b & 0x7fff) %
		    (TFTP_BLKSIZE_MAX - TFTP_BLKSIZE_MIN + 1);
	/* Mostly small windows, sometimes the limit. */
	p->opt.windowsize = w == 0xffff ? XFER_WINDOW_LIMIT :
	    1 + (uint32_t)w % XFER_WINDOW_LIMIT;
	/* Shifted sizes reach files of many wraps of the block number. */
	p->size = flags & 8 ? (uint64_t)size << 24 : size;
	p->retries = 1 + retries % 100;
	p->timeout_ms = 1 + (uint32_t)(tmo & 0x7f) * 100;
	p->max_timeout_ms = tmo & 0x80 ? p->timeout_ms * 8 : p->timeout_ms;
	p->dally_ms = 2 * p->timeout_ms;
	return flags & 0x10;
}

static void
check_state(const struct xfer *x, struct shadow *s)
{
	const struct xfer_params *p = xfer_params(x);
	enum xfer_state st = xfer_status(x).state;
	uint64_t acked = xfer_acked(x), sent = xfer_status(x).sent;
	uint64_t nblocks = xfer_status(x).nblocks, received = xfer_status(x).received;
	uint64_t bytes = xfer_bytes(x);

	check(st <= XS_DONE);
	check(xfer_dallying(x) == (st == XS_DALLY));
	check(xfer_status(x).tries <= p->retries);
	check(xfer_status(x).interval >= p->timeout_ms &&
	    xfer_status(x).interval <= p->max_timeout_ms);
	/* The counters only grow, by what the actions reported. */
	check(xfer_status(x).retransmits == s->retransmits);
	check(xfer_status(x).timeouts == s->timeouts);
	/* Packets may arrive late, so only "armed" is known here. */
	check((xfer_deadline(x) == 0) == (st == XS_DONE));
	if (p->dir == XFER_READ) {
		check(nblocks == p->size / p->opt.blksize + 1);
		check(acked <= sent && sent <= nblocks);
		check(sent - acked <= p->opt.windowsize);
		check(acked >= s->acked);
		check(bytes == (acked == nblocks ? p->size :
		    acked * p->opt.blksize));
		check(st != XS_DALLY);
		if (st == XS_OACK)
			check(acked == 0 && sent == 0);
		else if (st == XS_RUN)
			check(sent > acked);
		s->acked = acked;
	} else {
		check(xfer_status(x).ack_sent <= received);
		check(received >= s->received);
		check(bytes == s->written);
		check(bytes <= received * p->opt.blksize);
		check((st == XS_DALLY) <= s->committed);
		if (st == XS_OACK)
			check(received == 0);
		s->received = received;
	}
}

static void
check_action(const struct xfer *x, const struct xfer_action *a,
    const uint8_t *buf, size_t len, struct shadow *s)
{
	const struct xfer_params *p = xfer_params(x);
	enum xfer_state st = xfer_status(x).state;
	uint64_t i, off;

	check((a->flags & ~0xffu) == 0);
	check(a->timeouts <= 1);
	s->retransmits += a->retransmits;
	s->timeouts += a->timeouts;
	if (s->done) {
		check(a->flags == 0 && a->retransmits == 0 &&
		    a->timeouts == 0);
		return;
	}
	if (a->flags & XA_SEND_ERROR)
		check(a->flags & XA_DONE);
	if (a->flags & XA_DONE) {
		check(st == XS_DONE);
		check((a->flags & (XA_SEND_DATA | XA_SEND_ACK |
		    XA_SEND_OACK | XA_WRITE | XA_COMMIT)) == 0);
		check(a->result <= 0);
		if (a->result == 0 && p->dir == XFER_READ)
			check(xfer_acked(x) == xfer_status(x).nblocks &&
			    xfer_bytes(x) == p->size);
		if (a->result == 0 && p->dir == XFER_WRITE)
			check(s->committed);
		if (a->result == -ETIMEDOUT)
			check((a->flags & XA_SEND_ERROR) &&
			    a->error_code == TFTP_EUNDEF);
		s->done = true;
	} else {
		check(st != XS_DONE);
	}
	if (a->flags & XA_RETRANSMIT)
		check(a->flags & (XA_SEND_DATA | XA_SEND_ACK | XA_SEND_OACK));
	if (a->flags & XA_SEND_OACK) {
		check(p->opt.acked != 0 && st == XS_OACK);
		check((a->flags & ~(XA_SEND_OACK | XA_RETRANSMIT)) == 0);
	}
	if (p->dir == XFER_READ) {
		check((a->flags & (XA_WRITE | XA_COMMIT | XA_SEND_ACK)) == 0);
		if (a->flags & XA_SEND_DATA) {
			check(a->count >= 1 && a->count <= p->opt.windowsize);
			/* The window slides: a tail of what is in flight. */
			check(a->first > xfer_acked(x));
			check(a->first + a->count - 1 == xfer_status(x).sent);
			/* Blocks tile the file: check both ends. */
			for (i = a->first; i < a->first + a->count;
			    i += a->count - 1) {
				off = xfer_block_offset(x, i);
				check(off == (i - 1) * p->opt.blksize);
				check(xfer_block_len(x, i) <= p->opt.blksize);
				check(off + xfer_block_len(x, i) <= p->size);
				check(i == xfer_status(x).nblocks ?
				    xfer_block_len(x, i) < p->opt.blksize :
				    xfer_block_len(x, i) == p->opt.blksize);
				if (a->count == 1)
					break;
			}
		}
		return;
	}
	check((a->flags & XA_SEND_DATA) == 0);
	if (a->flags & XA_WRITE) {
		check(!s->committed);
		check(a->len <= p->opt.blksize);
		check(a->data >= buf && a->data + a->len <= buf + len);
		s->written += a->len;
	}
	if (a->flags & XA_COMMIT) {
		check((a->flags & (XA_WRITE | XA_SEND_ACK)) ==
		    (XA_WRITE | XA_SEND_ACK));
		check(a->len < p->opt.blksize);
		check(st == XS_DALLY);
		s->committed = true;
	}
	if (a->flags & XA_SEND_ACK)
		check(a->ack_block == xfer_wire_block(x, xfer_status(x).received) &&
		    xfer_status(x).ack_sent == xfer_status(x).received);
}

/*
 * Progress made by a packet is progress to the block it names: the 16-bit
 * number maps to exactly that index, across every wrap.  Called before
 * check_state() records the new position.
 */
static void
check_wire(const struct xfer *x, const struct shadow *s, const uint8_t *buf,
    size_t len)
{
	struct tftp_packet pk;
	enum xfer_dir dir = xfer_params(x)->dir;

	if (proto_parse_packet(buf, len, &pk) != 0)
		return;
	if (dir == XFER_READ && xfer_acked(x) != s->acked)
		check(pk.opcode == TFTP_ACK &&
		    xfer_wire_block(x, xfer_acked(x)) == pk.block);
	if (dir == XFER_WRITE && xfer_status(x).received != s->received)
		check(pk.opcode == TFTP_DATA &&
		    xfer_status(x).received == s->received + 1 &&
		    xfer_wire_block(x, xfer_status(x).received) == pk.block);
}

/* An ACK or DATA numbered near where the transfer stands. */
static size_t
build_near(const struct xfer *x, struct input *in)
{
	uint8_t k = get8(in);
	uint8_t shape = get8(in);
	uint32_t blksize = xfer_params(x)->opt.blksize;
	uint64_t base, idx;
	size_t n, len;

	if (xfer_params(x)->dir == XFER_READ) {
		/* Mostly the window's end, else around acked. */
		base = shape & 1 ? xfer_acked(x) : xfer_status(x).sent;
		idx = k & 0x80 ? base - (k & 0x7f) : base + (k & 0x7f);
		n = proto_build_ack(pkt, sizeof(pkt),
		    xfer_wire_block(x, idx));
		if (shape & 2) /* some clients pad ACKs */
			pkt[n++] = 0;
		return n;
	}
	base = xfer_status(x).received;
	idx = k & 0x80 ? base - (k & 0x7f) : base + (k & 0x7f);
	n = proto_build_data_hdr(pkt, sizeof(pkt), xfer_wire_block(x, idx));
	switch (shape & 3) {
	case 0:
	case 1:
		len = blksize;
		break;
	case 2:
		len = shape >> 2;		/* short: the last block */
		if (len >= blksize)
			len = blksize - 1;
		break;
	default:
		len = blksize + 1 + (shape >> 2);	/* too long */
		break;
	}
	if (len > sizeof(pkt) - n)
		len = sizeof(pkt) - n;
	memset(pkt + n, shape, len);
	return n + len;
}

/*
 * The packet that moves the transfer on: ACK of the window's end, or the
 * next DATA block, full.  Bursts of these carry an input past the wrap.
 */
static size_t
build_next(const struct xfer *x)
{
	size_t n;

	if (xfer_params(x)->dir == XFER_READ)
		return proto_build_ack(pkt, sizeof(pkt), xfer_wire_block(x,
		    xfer_status(x).state == XS_OACK ? 0 : xfer_status(x).sent));
	/* The machine never looks at the payload: whatever pkt holds. */
	n = proto_build_data_hdr(pkt, sizeof(pkt),
	    xfer_wire_block(x, xfer_status(x).received + 1));
	return n + xfer_params(x)->opt.blksize;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };
	struct xfer_params p;
	struct xfer x, prev;
	struct xfer_action a;
	struct shadow s = { .now = 1000 };
	uint8_t ev;
	size_t n, steps = 0, burst = 0;
	uint16_t count;
	bool long_bursts;

	if (size < PARAM_BYTES)
		return 0;
	long_bursts = get_params(&in, &p);
	xfer_start(&x, &p, s.now, &a);
	check_action(&x, &a, pkt, 0, &s);
	check_state(&x, &s);
	while (in.left > 0 && steps++ < MAX_STEPS) {
		ev = get8(&in);
		n = 0;
		switch (ev >> 6) {
		case 0:
			/* A raw datagram, length-prefixed. */
			n = get8(&in);
			if (n > in.left)
				n = in.left;
			memcpy(pkt, in.p, n);
			in.p += n;
			in.left -= n;
			s.now += ev & 0x3f;
			xfer_on_packet(&x, pkt, n, s.now, &a);
			break;
		case 1:
			n = build_near(&x, &in);
			s.now += ev & 0x3f;
			xfer_on_packet(&x, pkt, n, s.now, &a);
			break;
		case 2:
			/* The timer fires (a done transfer has none). */
			if (xfer_deadline(&x) > s.now)
				s.now = xfer_deadline(&x);
			xfer_on_timeout(&x, s.now, &a);
			if (s.done)
				check(a.flags == 0);
			else if (xfer_status(&x).state != XS_DONE)
				check(a.flags & XA_RETRANSMIT);
			break;
		default:
			if ((ev & 0x3f) == 0x3e) {
				count = get16(&in);
				if (!long_bursts)
					count &= 0xff;
				while (count-- > 0 && burst++ < MAX_BURST &&
				    !s.done && !xfer_dallying(&x)) {
					prev = x;
					n = build_next(&x);
					xfer_on_packet(&x, pkt, n, ++s.now,
					    &a);
					check_wire(&x, &s, pkt, n);
					check_action(&x, &a, pkt, n, &s);
					check_state(&x, &s);
					/* The right packet always helps. */
					check(xfer_status(&x).state !=
					    xfer_status(&prev).state ||
					    xfer_acked(&x) > xfer_acked(&prev) ||
					    xfer_status(&x).received >
					    xfer_status(&prev).received);
				}
				continue;
			}
			if ((ev & 0x3f) != 0x3f) {
				/* Time passes without the timer firing. */
				s.now += ev & 0x3f;
				continue;
			}
			xfer_fail(&x, get8(&in) % 8, "fail", -EIO, &a);
			if (!s.done)
				check(a.flags == (XA_SEND_ERROR | XA_DONE) &&
				    a.result == -EIO);
			break;
		}
		if (ev >> 6 < 2)
			check_wire(&x, &s, pkt, n);
		check_action(&x, &a, pkt, n, &s);
		check_state(&x, &s);
	}
	return 0;
}
