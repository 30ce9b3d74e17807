/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * Unit tests of the transfer state machine (src/xfer.c): reads and writes
 * driven packet by packet with the packets a client would send, timeouts
 * with backoff and give-up, block-number wrap in both rollover modes, and
 * two simulated clients over a lossy, duplicating, reordering channel that
 * check every byte arrives once and in order; then the parameters built
 * from a negotiation, the accessors the worker reads, and the counts each
 * action reports.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto.h"
#include "tftp_wire.h"
#include "xfer.h"

#define T0		1000	/* start time, ms */
#define TMO		1000
#define TMO_MAX		8000
#define DALLY		2000
#define RETRIES		5

/* DATA packets live here: the action's data pointer points into it. */
static uint8_t pkt[TFTP_PKT_MAX + 16];

static struct xfer_params
params(enum xfer_dir dir, uint64_t size, uint32_t blksize, uint32_t w)
{
	return (struct xfer_params){
		.dir = dir,
		.opt = { .blksize = blksize, .windowsize = w },
		.size = size,
		.timeout_ms = TMO,
		.max_timeout_ms = TMO_MAX,
		.retries = RETRIES,
		.dally_ms = DALLY,
	};
}

/* Options acknowledged (any will do): the transfer starts with an OACK. */
static void
with_oack(struct xfer_params *p, bool on)
{
	p->opt.acked = on ? TFTP_OPT_BIT(TFTP_OPT_BLKSIZE) : 0;
}

static void
send_ack(struct xfer *x, uint16_t block, uint64_t now, struct xfer_action *a)
{
	uint8_t b[TFTP_HDR_LEN];

	assert_int_equal(proto_build_ack(b, sizeof(b), block), TFTP_HDR_LEN);
	xfer_on_packet(x, b, sizeof(b), now, a);
}

/* Payload byte i of the block with wire number w. */
static uint8_t
fill(uint16_t w, size_t i)
{
	return (uint8_t)(w * 7 + i);
}

static void
send_data(struct xfer *x, uint16_t block, size_t len, uint64_t now,
    struct xfer_action *a)
{
	size_t i;

	assert_true(len <= sizeof(pkt) - TFTP_HDR_LEN);
	assert_int_equal(proto_build_data_hdr(pkt, sizeof(pkt), block),
	    TFTP_HDR_LEN);
	for (i = 0; i < len; i++)
		pkt[TFTP_HDR_LEN + i] = fill(block, i);
	xfer_on_packet(x, pkt, TFTP_HDR_LEN + len, now, a);
}

/*
 * The action's error_msg points into the packet, so the packet must
 * outlive the assertions on it: one static buffer, reused per call.
 */
static uint8_t error_pkt[128];

static void
send_error(struct xfer *x, uint16_t code, const char *msg, uint64_t now,
    struct xfer_action *a)
{
	uint8_t *b = error_pkt;
	size_t n;

	n = proto_build_error(b, sizeof(error_pkt), code, msg);
	assert_true(n > TFTP_HDR_LEN);
	xfer_on_packet(x, b, n, now, a);
}

static uint64_t
min64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* The wire number that follows w, computed independently of xfer.c. */
static uint16_t
next_wire(uint16_t w, uint16_t rollover)
{
	return w == 65535 ? rollover : (uint16_t)(w + 1);
}

static void
assert_empty(const struct xfer_action *a)
{
	assert_int_equal(a->flags, 0);
}

static void
assert_data(const struct xfer_action *a, unsigned flags, uint64_t first,
    uint32_t count)
{
	assert_int_equal(a->flags, flags);
	assert_int_equal(a->first, first);
	assert_int_equal(a->count, count);
}

static void
assert_ack(const struct xfer_action *a, unsigned flags, uint16_t block)
{
	assert_int_equal(a->flags, flags);
	assert_int_equal(a->ack_block, block);
}

/* After XS_DONE nothing moves, whatever arrives. */
static void
assert_dead(struct xfer *x)
{
	struct xfer_action a;
	uint64_t now = 1u << 30;

	assert_int_equal(x->state, XS_DONE);
	assert_int_equal(xfer_deadline(x), 0);
	send_ack(x, 1, now, &a);
	assert_empty(&a);
	send_data(x, 1, 4, now, &a);
	assert_empty(&a);
	send_error(x, 0, "x", now, &a);
	assert_empty(&a);
	xfer_on_timeout(x, now, &a);
	assert_empty(&a);
	xfer_fail(x, 3, "Disk full", -ENOSPC, &a);
	assert_empty(&a);
	assert_int_equal(x->state, XS_DONE);
}

/*
 * A loss-free read: every window is what the rules say, blocks tile the
 * file exactly, and the ACK of the last block ends it.  Returns the
 * number of windows.
 */
static uint64_t
read_all(const struct xfer_params *p)
{
	struct xfer x;
	struct xfer_action a;
	uint64_t now = T0, off = 0, windows = 0, nblocks, i;
	uint16_t wire = 0;

	nblocks = p->size / p->opt.blksize + 1;
	xfer_start(&x, p, now, &a);
	assert_int_equal(x.nblocks, nblocks);
	if (p->opt.acked != 0) {
		assert_int_equal(a.flags, XA_SEND_OACK);
		assert_int_equal(x.state, XS_OACK);
		assert_int_equal(xfer_deadline(&x), now + p->timeout_ms);
		send_ack(&x, 0, ++now, &a);
	}
	for (;;) {
		assert_int_equal(x.state, XS_RUN);
		assert_data(&a, XA_SEND_DATA, x.acked + 1,
		    (uint32_t)min64(p->opt.windowsize, nblocks - x.acked));
		assert_int_equal(xfer_deadline(&x), now + p->timeout_ms);
		windows++;
		for (i = a.first; i < a.first + a.count; i++) {
			wire = next_wire(wire, p->opt.rollover);
			assert_int_equal(xfer_wire_block(&x, i), wire);
			assert_int_equal(xfer_block_offset(&x, i), off);
			assert_int_equal(xfer_block_len(&x, i),
			    min64(p->opt.blksize, p->size - off));
			off += xfer_block_len(&x, i);
		}
		send_ack(&x, wire, ++now, &a);
		if (a.flags & XA_DONE)
			break;
		assert_int_equal(x.bytes, off);
	}
	assert_int_equal(a.flags, XA_DONE);
	assert_int_equal(a.result, 0);
	assert_int_equal(off, p->size);
	assert_int_equal(x.bytes, p->size);
	assert_int_equal(x.acked, nblocks);
	/* The last block is short: empty when size is a blksize multiple. */
	assert_true(xfer_block_len(&x, nblocks) < p->opt.blksize);
	assert_int_equal(x.retransmits, 0);
	assert_int_equal(x.timeouts, 0);
	assert_dead(&x);
	return windows;
}

static void
test_read_sizes(void **state)
{
	static const uint64_t sizes[] = { 0, 511, 512, 513, 3 * 512 };
	static const uint32_t windows[] = { 1, 4, 16 };
	struct xfer_params p;
	size_t i, j;
	int oack;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		for (j = 0; j < sizeof(windows) / sizeof(windows[0]); j++)
			for (oack = 0; oack <= 1; oack++) {
				p = params(XFER_READ, sizes[i], 512,
				    windows[j]);
				with_oack(&p, oack);
				read_all(&p);
			}
	/* Window counts: 3 * 512 is 4 blocks (the last empty). */
	p = params(XFER_READ, 3 * 512, 512, 1);
	assert_int_equal(read_all(&p), 4);
	p.opt.windowsize = 4;
	assert_int_equal(read_all(&p), 1);
	p.opt.windowsize = 3;
	assert_int_equal(read_all(&p), 2);
	p = params(XFER_READ, 0, 512, 16);
	assert_int_equal(read_all(&p), 1);
	/* Odd sizes and the smallest block. */
	p = params(XFER_READ, 1000, 8, 7);
	assert_int_equal(read_all(&p), (1000 / 8 + 1 + 6) / 7);
	p = params(XFER_READ, 100000, 65464, 2);
	assert_int_equal(read_all(&p), 1);
}

static void
test_read_start_without_oack(void **state)
{
	struct xfer x;
	struct xfer_action a;
	struct xfer_params p = params(XFER_READ, 10 * 512, 512, 4);

	xfer_start(&x, &p, T0, &a);
	assert_int_equal(x.state, XS_RUN);
	assert_data(&a, XA_SEND_DATA, 1, 4);
	assert_int_equal(x.nblocks, 11);
	assert_int_equal(x.sent, 4);
	assert_int_equal(x.acked, 0);
	assert_int_equal(xfer_deadline(&x), T0 + TMO);
	/*
	 * ACK 0 (a repeat of the request's implicit ACK) says nothing came:
	 * the window again, once (no progress: the timer runs on).
	 */
	send_ack(&x, 0, T0 + 1, &a);
	assert_data(&a, XA_SEND_DATA | XA_RETRANSMIT, 1, 4);
	assert_int_equal(xfer_deadline(&x), T0 + TMO);
	send_ack(&x, 0, T0 + 1, &a);
	assert_empty(&a);
}

static void
test_read_oack_then_ack0(void **state)
{
	struct xfer x;
	struct xfer_action a;
	struct xfer_params p = params(XFER_READ, 10 * 512, 512, 4);

	with_oack(&p, true);
	xfer_start(&x, &p, T0, &a);
	assert_int_equal(a.flags, XA_SEND_OACK);
	assert_int_equal(x.state, XS_OACK);
	assert_int_equal(xfer_deadline(&x), T0 + TMO);
	/* Only ACK 0 answers an OACK. */
	send_ack(&x, 1, T0 + 10, &a);
	assert_empty(&a);
	send_ack(&x, 4, T0 + 10, &a);
	assert_empty(&a);
	assert_int_equal(x.state, XS_OACK);
	assert_int_equal(xfer_deadline(&x), T0 + TMO);
	send_ack(&x, 0, T0 + 20, &a);
	assert_data(&a, XA_SEND_DATA, 1, 4);
	assert_int_equal(x.state, XS_RUN);
	assert_int_equal(xfer_deadline(&x), T0 + 20 + TMO);
	/* A second ACK 0 is a duplicate now: the window once again. */
	send_ack(&x, 0, T0 + 30, &a);
	assert_data(&a, XA_SEND_DATA | XA_RETRANSMIT, 1, 4);
	send_ack(&x, 0, T0 + 30, &a);
	assert_empty(&a);
}

static void
test_read_duplicate_ack(void **state)
{
	struct xfer x;
	struct xfer_action a;
	struct xfer_params p = params(XFER_READ, 10 * 512, 512, 4);
	uint64_t now;
	int i;

	xfer_start(&x, &p, T0, &a);
	send_ack(&x, 4, T0 + 1, &a);
	assert_data(&a, XA_SEND_DATA, 5, 4);
	/*
	 * A repeat of ACK 4 reports 5 lost: 5..8 again, once.  No
	 * Sorcerer's Apprentice: the repeats that follow within the guard
	 * may be echoes and send nothing.
	 */
	send_ack(&x, 4, T0 + 2, &a);
	assert_data(&a, XA_SEND_DATA | XA_RETRANSMIT, 5, 4);
	for (i = 0; i < 5; i++) {
		send_ack(&x, 4, T0 + 3 - (i & 1), &a);
		assert_empty(&a);
	}
	assert_int_equal(x.acked, 4);
	assert_int_equal(x.sent, 8);
	assert_int_equal(x.retransmits, 4);
	/*
	 * The last one held is looked at again a guard time later (twice
	 * the round trip of 1 ms that ACK 4 measured, so the least guard);
	 * the retransmission timer runs on.
	 */
	assert_int_equal(x.srtt_ms, 1);
	assert_int_equal(x.deadline, T0 + 1 + TMO);
	assert_int_equal(xfer_deadline(&x), T0 + 3 + XFER_GUARD_MIN_MS);
	/* Nothing came since: the resent 5 was lost too.  No timeout. */
	now = xfer_deadline(&x);
	xfer_on_timeout(&x, now, &a);
	assert_data(&a, XA_SEND_DATA | XA_RETRANSMIT, 5, 4);
	assert_int_equal(a.timeouts, 0);
	assert_int_equal(x.tries, 0);
	assert_int_equal(xfer_deadline(&x), T0 + 1 + TMO);
	/* Within the guard of that, a repeat is held again... */
	send_ack(&x, 4, now + XFER_GUARD_MIN_MS - 1, &a);
	assert_empty(&a);
	/* ...and after it, a repeat is news at once. */
	send_ack(&x, 4, now + XFER_GUARD_MIN_MS, &a);
	assert_data(&a, XA_SEND_DATA | XA_RETRANSMIT, 5, 4);
}

static void
test_read_ack_inside_window(void **state)
{
	struct xfer x;
	struct xfer_action a;
	struct xfer_params p = params(XFER_READ, 10 * 512, 512, 4);

	xfer_start(&x, &p, T0, &a);
	assert_data(&a, XA_SEND_DATA, 1, 4);
	/* Client got 1..2, lost 3: restart at 3 at once. */
	send_ack(&x, 2, T0 + 5, &a);
	assert_data(&a, XA_SEND_DATA, 3, 4);
	assert_int_equal(x.acked, 2);
	assert_int_equal(x.sent, 6);
	assert_int_equal(x.bytes, 2 * 512);
	assert_int_equal(x.retransmits, 2);	/* blocks 3 and 4 again */
	assert_int_equal(xfer_deadline(&x), T0 + 5 + TMO);
	/* Near the end the window shrinks to what is left. */
	send_ack(&x, 6, T0 + 6, &a);
	assert_data(&a, XA_SEND_DATA, 7, 4);
	send_ack(&x, 9, T0 + 7, &a);
	assert_data(&a, XA_SEND_DATA, 10, 2);
	assert_int_equal(x.sent, 11);
	/* 11 is in flight already, and the ACK is within the guard. */
	send_ack(&x, 10, T0 + 8, &a);
	assert_empty(&a);
	send_ack(&x, 11, T0 + 9, &a);
	assert_int_equal(a.flags, XA_DONE);
	assert_int_equal(a.result, 0);
	assert_int_equal(x.bytes, 10 * 512);
}

static void
test_read_stale_ack(void **state)
{
	struct xfer x;
	struct xfer_action a;
	struct xfer_params p = params(XFER_READ, 20 * 512, 512, 4);

	xfer_start(&x, &p, T0, &a);
	send_ack(&x, 4, T0 + 1, &a);
	assert_data(&a, XA_SEND_DATA, 5, 4);
	/* Older than acked, ahead of what was sent, far away: ignored. */
	send_ack(&x, 3, T0 + 2, &a);
	assert_empty(&a);
	send_ack(&x, 1, T0 + 2, &a);
	assert_empty(&a);
	send_ack(&x, 9, T0 + 2, &a);
	assert_empty(&a);
	send_ack(&x, 0, T0 + 2, &a);
	assert_empty(&a);
	send_ack(&x, 40000, T0 + 2, &a);
	assert_empty(&a);
	send_ack(&x, 65535, T0 + 2, &a);
	assert_empty(&a);
	assert_int_equal(x.acked, 4);
	assert_int_equal(x.sent, 8);
	assert_int_equal(xfer_deadline(&x), T0 + 1 + TMO);
	send_ack(&x, 8, T0 + 3, &a);
	assert_data(&a, XA_SEND_DATA, 9, 4);
}

static void
test_read_reorder_dup_acks(void **state)
{
	struct xfer x;
	struct xfer_action a;
	struct xfer_params p = params(XFER_READ, 12 * 512, 512, 4);

	xfer_start(&x, &p, T0, &a);
	/* ACK 4 overtakes ACK 2 (a gap report the client sent first). */
	send_ack(&x, 4, T0 + 1, &a);
	assert_data(&a, XA_SEND_DATA, 5, 4);
	send_ack(&x, 2, T0 + 2, &a);
	assert_empty(&a);
	/* A repeat of ACK 4 reports 5 lost. */
	send_ack(&x, 4, T0 + 2, &a);
	assert_data(&a, XA_SEND_DATA | XA_RETRANSMIT, 5, 4);
	/*
	 * A delayed ACK inside the window, within the guard of that
	 * resend: it slides the window, nothing goes again.
	 */
	send_ack(&x, 6, T0 + 3, &a);
	assert_data(&a, XA_SEND_DATA, 9, 2);
	/* The older ACK of the full window 5..8 arrives late: restart at 9. */
	send_ack(&x, 8, T0 + 4, &a);
	assert_data(&a, XA_SEND_DATA, 9, 4);
	send_ack(&x, 6, T0 + 5, &a);
	assert_empty(&a);
	send_ack(&x, 8, T0 + 5, &a);
	assert_empty(&a);
	send_ack(&x, 12, T0 + 6, &a);
	assert_data(&a, XA_SEND_DATA, 13, 1);
	send_ack(&x, 13, T0 + 7, &a);
	assert_int_equal(a.flags, XA_DONE);
	assert_int_equal(a.result, 0);
	assert_int_equal(x.bytes, 12 * 512);
}

static void
test_read_timeouts_backoff_give_up(void **state)
{
	static const uint32_t expect[RETRIES] = {
		2000, 4000, 8000, 8000, 8000
	};
	struct xfer x;
	struct xfer_action a;
	struct xfer_params p = params(XFER_READ, 20 * 512, 512, 4);
	uint64_t now = T0;
	int i;

	xfer_start(&x, &p, now, &a);
	send_ack(&x, 4, ++now, &a);
	assert_data(&a, XA_SEND_DATA, 5, 4);
	for (i = 0; i < RETRIES; i++) {
		now = xfer_deadline(&x);
		xfer_on_timeout(&x, now, &a);
		/* The whole unacknowledged window again. */
		assert_data(&a, XA_SEND_DATA | XA_RETRANSMIT, 5, 4);
		assert_int_equal(x.cur_timeout_ms, expect[i]);
		assert_int_equal(xfer_deadline(&x), now + expect[i]);
		assert_int_equal(x.tries, i + 1);
		assert_int_equal(x.timeouts, i + 1);
		assert_int_equal(x.retransmits, 4 * (i + 1));
	}
	now = xfer_deadline(&x);
	xfer_on_timeout(&x, now, &a);
	assert_int_equal(a.flags, XA_SEND_ERROR | XA_DONE);
	assert_int_equal(a.error_code, 0);
	assert_string_equal(a.error_msg, "Timeout");
	assert_int_equal(a.result, -ETIMEDOUT);
	assert_int_equal(x.timeouts, RETRIES + 1);
	assert_int_equal(x.retransmits, 4 * RETRIES);
	assert_dead(&x);

	/* A partial last window is resent as it was: 9..11 of 11. */
	p = params(XFER_READ, 10 * 512, 512, 4);
	xfer_start(&x, &p, now, &a);
	send_ack(&x, 4, ++now, &a);
	send_ack(&x, 8, ++now, &a);
	assert_data(&a, XA_SEND_DATA, 9, 3);
	now = xfer_deadline(&x);
	xfer_on_timeout(&x, now, &a);
	assert_data(&a, XA_SEND_DATA | XA_RETRANSMIT, 9, 3);
	/* An ACK inside it, within the guard: 11 is in flight already. */
	send_ack(&x, 10, ++now, &a);
	assert_empty(&a);
	now = xfer_deadline(&x);
	xfer_on_timeout(&x, now, &a);
	assert_data(&a, XA_SEND_DATA | XA_RETRANSMIT, 11, 1);
}

static void
test_read_progress_resets_backoff(void **state)
{
	struct xfer x;
	struct xfer_action a;
	struct xfer_params p = params(XFER_READ, 20 * 512, 512, 2);
	uint64_t now = T0;
	int round, i;

	xfer_start(&x, &p, now, &a);
	/* Progress between bursts of loss: never gives up. */
	for (round = 0; round < 4; round++) {
		for (i = 0; i < RETRIES; i++) {
			now = xfer_deadline(&x);
			xfer_on_timeout(&x, now, &a);
			assert_data(&a, XA_SEND_DATA | XA_RETRANSMIT,
			    x.acked + 1, 2);
		}
		assert_int_equal(x.tries, RETRIES);
		send_ack(&x, (uint16_t)x.sent, ++now, &a);
		assert_int_equal(a.flags, XA_SEND_DATA);
		assert_int_equal(x.tries, 0);
		assert_int_equal(x.cur_timeout_ms, TMO);
		assert_int_equal(xfer_deadline(&x), now + TMO);
	}
	/* A window restart inside the window is progress too. */
	now = xfer_deadline(&x);
	xfer_on_timeout(&x, now, &a);
	assert_int_equal(x.tries, 1);
	send_ack(&x, (uint16_t)(x.acked + 1), ++now, &a);
	/* Within the guard of the resend: the window slides by one. */
	assert_data(&a, XA_SEND_DATA, x.acked + 2, 1);
	assert_int_equal(x.tries, 0);
	assert_int_equal(x.cur_timeout_ms, TMO);
	/* A duplicate is not (the timer itself, not the held ACK's). */
	now = x.deadline;
	xfer_on_timeout(&x, now, &a);
	send_ack(&x, (uint16_t)x.acked, ++now, &a);
	assert_empty(&a);
	assert_int_equal(x.tries, 1);
	assert_int_equal(x.cur_timeout_ms, 2 * TMO);
}

static void
test_read_fixed_timeout(void **state)
{
	struct xfer x;
	struct xfer_action a;
	struct xfer_params p = params(XFER_READ, 5 * 512, 512, 1);
	uint64_t now = T0;
	int i;

	p.timeout_ms = p.max_timeout_ms = 3000;
	p.retries = 3;
	with_oack(&p, true);
	xfer_start(&x, &p, now, &a);
	for (i = 0; i < 3; i++) {
		now = xfer_deadline(&x);
		xfer_on_timeout(&x, now, &a);
		/* The OACK is retransmitted like data. */
		assert_int_equal(a.flags, XA_SEND_OACK | XA_RETRANSMIT);
		assert_int_equal(xfer_deadline(&x), now + 3000);
		assert_int_equal(x.state, XS_OACK);
	}
	assert_int_equal(x.retransmits, 3);
	now = xfer_deadline(&x);
	xfer_on_timeout(&x, now, &a);
	assert_int_equal(a.flags, XA_SEND_ERROR | XA_DONE);
	assert_int_equal(a.result, -ETIMEDOUT);
	assert_dead(&x);

	/* The same while data moves. */
	xfer_start(&x, &p, now, &a);
	send_ack(&x, 0, ++now, &a);
	assert_data(&a, XA_SEND_DATA, 1, 1);
	for (i = 0; i < 3; i++) {
		now = xfer_deadline(&x);
		xfer_on_timeout(&x, now, &a);
		assert_data(&a, XA_SEND_DATA | XA_RETRANSMIT, 1, 1);
		assert_int_equal(x.cur_timeout_ms, 3000);
		assert_int_equal(xfer_deadline(&x), now + 3000);
	}
}

/* A read of more than 65536 blocks: the wire number wraps mid-window. */
static void
read_wrap(uint16_t rollover, uint32_t w)
{
	struct xfer_params p = params(XFER_READ, 70000 * 8 + 3, 8, w);

	p.opt.rollover = rollover;
	read_all(&p);
	with_oack(&p, true);
	p.size = 65536 * 8;	/* the empty last block sits past the wrap */
	read_all(&p);
}

static void
test_read_wrap(void **state)
{
	read_wrap(0, 16);
	read_wrap(1, 16);
	read_wrap(0, 7);
	read_wrap(1, 7);
	read_wrap(0, XFER_WINDOW_LIMIT);
	read_wrap(1, XFER_WINDOW_LIMIT);
}

static void
test_read_ack_mapping_across_wrap(void **state)
{
	struct xfer x;
	struct xfer_action a;
	struct xfer_params p = params(XFER_READ, 200000 * 8, 8, 16);
	uint64_t now = T0;

	/* rollover 0: acked 65530, window 65531..65546 (wire ..65535, 0..10) */
	xfer_start(&x, &p, now, &a);
	x.acked = 65514;
	x.sent = 65530;
	send_ack(&x, 65530, ++now, &a);
	assert_data(&a, XA_SEND_DATA, 65531, 16);
	assert_int_equal(xfer_wire_block(&x, 65535), 65535);
	assert_int_equal(xfer_wire_block(&x, 65536), 0);
	assert_int_equal(xfer_wire_block(&x, 65546), 10);
	/* Wire 0 is block 65536 here, inside the window: restart at 65537. */
	send_ack(&x, 0, ++now, &a);
	assert_data(&a, XA_SEND_DATA, 65537, 16);
	assert_int_equal(x.acked, 65536);
	assert_int_equal(x.bytes, 65536ull * 8);
	/* Wire 65535 is stale now (block 65535), not block 131071. */
	send_ack(&x, 65535, ++now, &a);
	assert_empty(&a);
	send_ack(&x, 16, ++now, &a);	/* block 65552 = sent */
	assert_data(&a, XA_SEND_DATA, 65553, 16);

	/* rollover 1: wire 1 follows 65535, wire 0 never comes back. */
	p.opt.rollover = 1;
	xfer_start(&x, &p, now, &a);
	x.acked = 65514;
	x.sent = 65530;
	send_ack(&x, 65530, ++now, &a);
	assert_data(&a, XA_SEND_DATA, 65531, 16);
	assert_int_equal(xfer_wire_block(&x, 65536), 1);
	assert_int_equal(xfer_wire_block(&x, 65546), 11);
	assert_int_equal(xfer_wire_block(&x, 131070), 65535);
	assert_int_equal(xfer_wire_block(&x, 131071), 1);
	send_ack(&x, 0, ++now, &a);
	assert_empty(&a);
	send_ack(&x, 1, ++now, &a);		/* block 65536 */
	assert_data(&a, XA_SEND_DATA, 65537, 16);
	send_ack(&x, 65535, ++now, &a);		/* block 65535: stale */
	assert_empty(&a);
	send_ack(&x, 17, ++now, &a);		/* block 65552 */
	assert_data(&a, XA_SEND_DATA, 65553, 16);
	/* Second wrap: from block 131070 (wire 65535) to 131071 (wire 1). */
	x.acked = 131060;
	x.sent = 131068;
	send_ack(&x, xfer_wire_block(&x, 131068), ++now, &a);
	assert_data(&a, XA_SEND_DATA, 131069, 16);
	send_ack(&x, 2, ++now, &a);		/* block 131072 */
	assert_data(&a, XA_SEND_DATA, 131073, 16);
	assert_int_equal(x.acked, 131072);
}

static void
test_read_bad_packets(void **state)
{
	static const uint8_t rrq[] = { 0, 1, 'f', 0, 'o', 'c', 't', 'e',
	    't', 0 };
	static const uint8_t wrq[] = { 0, 2, 'f', 0, 'o', 'c', 't', 'e',
	    't', 0 };
	static const uint8_t oack[] = { 0, 6, 'a', 0, '1', 0 };
	static const uint8_t unknown[] = { 0, 9, 0, 0 };
	static const uint8_t short_ack[] = { 0, 4, 0 };
	static const uint8_t short_err[] = { 0, 5 };
	static const uint8_t short_oack[] = { 0, 6, 0 };
	static const uint8_t one[] = { 0 };
	static const uint8_t *const bad[] = { rrq, wrq, oack, unknown };
	static const size_t badlen[] = { sizeof(rrq), sizeof(wrq),
	    sizeof(oack), sizeof(unknown) };
	struct xfer x;
	struct xfer_action a;
	struct xfer_params p = params(XFER_READ, 10 * 512, 512, 4);
	size_t i;

	/* Malformed: ignored, the transfer goes on. */
	xfer_start(&x, &p, T0, &a);
	xfer_on_packet(&x, short_ack, sizeof(short_ack), T0 + 1, &a);
	assert_empty(&a);
	xfer_on_packet(&x, short_err, sizeof(short_err), T0 + 1, &a);
	assert_empty(&a);
	xfer_on_packet(&x, short_oack, sizeof(short_oack), T0 + 1, &a);
	assert_empty(&a);
	xfer_on_packet(&x, one, sizeof(one), T0 + 1, &a);
	assert_empty(&a);
	xfer_on_packet(&x, one, 0, T0 + 1, &a);
	assert_empty(&a);
	assert_int_equal(x.state, XS_RUN);

	/* DATA in a read, requests, OACK, unknown opcodes: ERROR 4. */
	xfer_start(&x, &p, T0, &a);
	send_data(&x, 1, 512, T0 + 1, &a);
	assert_int_equal(a.flags, XA_SEND_ERROR | XA_DONE);
	assert_int_equal(a.error_code, TFTP_EBADOP);
	assert_non_null(a.error_msg);
	assert_int_equal(a.result, -EPROTO);
	assert_dead(&x);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		with_oack(&p, i % 2);
		xfer_start(&x, &p, T0, &a);
		xfer_on_packet(&x, bad[i], badlen[i], T0 + 1, &a);
		assert_int_equal(a.flags, XA_SEND_ERROR | XA_DONE);
		assert_int_equal(a.error_code, TFTP_EBADOP);
		assert_int_equal(a.result, -EPROTO);
		assert_dead(&x);
	}
}

static void
test_read_client_error(void **state)
{
	struct xfer x;
	struct xfer_action a;
	struct xfer_params p = params(XFER_READ, 10 * 512, 512, 4);

	xfer_start(&x, &p, T0, &a);
	send_ack(&x, 4, T0 + 1, &a);
	send_error(&x, 0, "Cancelled", T0 + 2, &a);
	/* Nothing is sent back to an ERROR. */
	assert_int_equal(a.flags, XA_DONE);
	assert_int_equal(a.result, -ECONNABORTED);
	assert_int_equal(a.error_code, 0);
	assert_string_equal(a.error_msg, "Cancelled");
	assert_int_equal(x.bytes, 4 * 512);
	assert_dead(&x);

	/* ERROR 8: the client refuses our OACK. */
	with_oack(&p, true);
	xfer_start(&x, &p, T0, &a);
	send_error(&x, TFTP_EOPTNEG, "no", T0 + 1, &a);
	assert_int_equal(a.flags, XA_DONE);
	assert_int_equal(a.result, -ECONNABORTED);
	assert_int_equal(a.error_code, TFTP_EOPTNEG);
	assert_dead(&x);
}

static void
test_fail(void **state)
{
	struct xfer x;
	struct xfer_action a;
	struct xfer_params p = params(XFER_READ, 10 * 512, 512, 4);

	xfer_start(&x, &p, T0, &a);
	xfer_fail(&x, TFTP_EUNDEF, "Read error", -EIO, &a);
	assert_int_equal(a.flags, XA_SEND_ERROR | XA_DONE);
	assert_int_equal(a.error_code, TFTP_EUNDEF);
	assert_string_equal(a.error_msg, "Read error");
	assert_int_equal(a.result, -EIO);
	assert_dead(&x);

	p = params(XFER_WRITE, 0, 512, 1);
	xfer_start(&x, &p, T0, &a);
	send_data(&x, 1, 512, T0 + 1, &a);
	xfer_fail(&x, TFTP_ENOSPACE, "Disk full or allocation exceeded",
	    -ENOSPC, &a);
	assert_int_equal(a.flags, XA_SEND_ERROR | XA_DONE);
	assert_int_equal(a.error_code, TFTP_ENOSPACE);
	assert_int_equal(a.result, -ENOSPC);
	assert_dead(&x);

	/*
	 * XA_COMMIT comes before XA_SEND_ACK: when making the upload
	 * visible fails, the worker fails the transfer from XS_DALLY.
	 */
	xfer_start(&x, &p, T0, &a);
	send_data(&x, 1, 10, T0 + 1, &a);
	assert_int_equal(x.state, XS_DALLY);
	xfer_fail(&x, TFTP_EEXISTS, "File already exists", -EEXIST, &a);
	assert_int_equal(a.flags, XA_SEND_ERROR | XA_DONE);
	assert_int_equal(a.error_code, TFTP_EEXISTS);
	assert_int_equal(a.result, -EEXIST);
	assert_dead(&x);
}

static void
test_block_len_offset(void **state)
{
	struct xfer x;
	struct xfer_action a;
	struct xfer_params p = params(XFER_READ, 1025, 512, 1);

	xfer_start(&x, &p, T0, &a);
	assert_int_equal(x.nblocks, 3);
	assert_int_equal(xfer_block_offset(&x, 1), 0);
	assert_int_equal(xfer_block_offset(&x, 2), 512);
	assert_int_equal(xfer_block_offset(&x, 3), 1024);
	assert_int_equal(xfer_block_len(&x, 1), 512);
	assert_int_equal(xfer_block_len(&x, 2), 512);
	assert_int_equal(xfer_block_len(&x, 3), 1);
	assert_int_equal(xfer_block_len(&x, 0), 0);
	assert_int_equal(xfer_block_len(&x, 4), 0);
	assert_int_equal(xfer_block_offset(&x, 0), 0);

	p.size = 1024;
	xfer_start(&x, &p, T0, &a);
	assert_int_equal(x.nblocks, 3);
	assert_int_equal(xfer_block_len(&x, 2), 512);
	assert_int_equal(xfer_block_len(&x, 3), 0);

	/* Large files: 64-bit offsets. */
	p.size = 10ull << 32;
	p.opt.blksize = 65464;
	xfer_start(&x, &p, T0, &a);
	assert_int_equal(x.nblocks, (10ull << 32) / 65464 + 1);
	assert_int_equal(xfer_block_offset(&x, x.nblocks),
	    (x.nblocks - 1) * 65464ull);
	assert_int_equal(xfer_block_len(&x, x.nblocks),
	    (10ull << 32) % 65464);
}

static void
test_wire_block(void **state)
{
	struct xfer x = { .p = { .opt = { .rollover = 0 } } };

	assert_int_equal(xfer_wire_block(&x, 0), 0);
	assert_int_equal(xfer_wire_block(&x, 1), 1);
	assert_int_equal(xfer_wire_block(&x, 65535), 65535);
	assert_int_equal(xfer_wire_block(&x, 65536), 0);
	assert_int_equal(xfer_wire_block(&x, 65537), 1);
	assert_int_equal(xfer_wire_block(&x, 131072), 0);
	x.p.opt.rollover = 1;
	assert_int_equal(xfer_wire_block(&x, 0), 0);
	assert_int_equal(xfer_wire_block(&x, 1), 1);
	assert_int_equal(xfer_wire_block(&x, 65535), 65535);
	assert_int_equal(xfer_wire_block(&x, 65536), 1);
	assert_int_equal(xfer_wire_block(&x, 65537), 2);
	assert_int_equal(xfer_wire_block(&x, 131070), 65535);
	assert_int_equal(xfer_wire_block(&x, 131071), 1);
}

/* Writes ------------------------------------------------------------- */

static void
assert_write(const struct xfer_action *a, unsigned flags, uint16_t ack,
    uint16_t wire, size_t len)
{
	size_t i;

	assert_int_equal(a->flags, flags);
	assert_ptr_equal(a->data, pkt + TFTP_HDR_LEN);
	assert_int_equal(a->len, len);
	for (i = 0; i < len; i++)
		assert_int_equal(a->data[i], fill(wire, i));
	if (flags & XA_SEND_ACK)
		assert_int_equal(a->ack_block, ack);
}

static void
test_write_in_order(void **state)
{
	struct xfer x;
	struct xfer_action a;
	struct xfer_params p = params(XFER_WRITE, 0, 512, 1);
	uint64_t now = T0;
	uint16_t b;

	xfer_start(&x, &p, now, &a);
	assert_ack(&a, XA_SEND_ACK, 0);
	assert_int_equal(x.state, XS_RUN);
	assert_int_equal(xfer_deadline(&x), now + TMO);
	for (b = 1; b <= 3; b++) {
		send_data(&x, b, 512, ++now, &a);
		assert_write(&a, XA_WRITE | XA_SEND_ACK, b, b, 512);
		assert_int_equal(x.received, b);
		assert_int_equal(xfer_deadline(&x), now + TMO);
	}
	send_data(&x, 4, 100, ++now, &a);
	assert_write(&a, XA_WRITE | XA_COMMIT | XA_SEND_ACK, 4, 4, 100);
	assert_int_equal(x.state, XS_DALLY);
	assert_int_equal(xfer_deadline(&x), now + DALLY);
	assert_int_equal(x.bytes, 3 * 512 + 100);
	assert_int_equal(x.retransmits, 0);
	now = xfer_deadline(&x);
	xfer_on_timeout(&x, now, &a);
	assert_int_equal(a.flags, XA_DONE);
	assert_int_equal(a.result, 0);
	assert_int_equal(x.timeouts, 0);
	assert_dead(&x);

	/* Empty file: DATA 1 with no payload. */
	xfer_start(&x, &p, now, &a);
	send_data(&x, 1, 0, ++now, &a);
	assert_int_equal(a.flags, XA_WRITE | XA_COMMIT | XA_SEND_ACK);
	assert_int_equal(a.ack_block, 1);
	assert_int_equal(a.len, 0);
	assert_int_equal(x.state, XS_DALLY);
	/* A file of exactly one block ends with an empty block 2. */
	xfer_start(&x, &p, now, &a);
	send_data(&x, 1, 512, ++now, &a);
	assert_int_equal(x.state, XS_RUN);
	send_data(&x, 2, 0, ++now, &a);
	assert_int_equal(a.flags, XA_WRITE | XA_COMMIT | XA_SEND_ACK);
	assert_int_equal(x.bytes, 512);
	/* One byte short of a full block is the last one. */
	xfer_start(&x, &p, now, &a);
	send_data(&x, 1, 512, ++now, &a);
	send_data(&x, 2, 511, ++now, &a);
	assert_write(&a, XA_WRITE | XA_COMMIT | XA_SEND_ACK, 2, 2, 511);
	assert_int_equal(x.state, XS_DALLY);
	assert_int_equal(x.bytes, 1023);
}

static void
test_write_window_cadence(void **state)
{
	struct xfer x;
	struct xfer_action a;
	struct xfer_params p = params(XFER_WRITE, 0, 512, 4);
	uint64_t now = T0;
	uint16_t b;

	with_oack(&p, true);
	xfer_start(&x, &p, now, &a);
	assert_int_equal(a.flags, XA_SEND_OACK);
	assert_int_equal(x.state, XS_OACK);
	for (b = 1; b <= 9; b++) {
		send_data(&x, b, 512, ++now, &a);
		assert_int_equal(x.state, XS_RUN);
		if (b % 4 == 0)
			assert_write(&a, XA_WRITE | XA_SEND_ACK, b, b, 512);
		else
			assert_write(&a, XA_WRITE, 0, b, 512);
		/* Every in-order block is progress. */
		assert_int_equal(xfer_deadline(&x), now + TMO);
	}
	/* The final short block is ACKed whatever the window count. */
	send_data(&x, 10, 1, ++now, &a);
	assert_write(&a, XA_WRITE | XA_COMMIT | XA_SEND_ACK, 10, 10, 1);
	assert_int_equal(x.state, XS_DALLY);
	assert_int_equal(x.bytes, 9 * 512 + 1);
}

static void
test_write_dally(void **state)
{
	struct xfer x;
	struct xfer_action a;
	struct xfer_params p = params(XFER_WRITE, 0, 512, 1);
	uint64_t now = T0, end;

	xfer_start(&x, &p, now, &a);
	send_data(&x, 1, 512, ++now, &a);
	send_data(&x, 2, 10, ++now, &a);
	assert_int_equal(x.state, XS_DALLY);
	end = xfer_deadline(&x);
	assert_int_equal(end, now + DALLY);
	/* Our final ACK was lost: the repeat is answered, not written. */
	send_data(&x, 2, 10, ++now, &a);
	assert_ack(&a, XA_SEND_ACK | XA_RETRANSMIT, 2);
	send_data(&x, 2, 10, ++now, &a);
	assert_ack(&a, XA_SEND_ACK | XA_RETRANSMIT, 2);
	assert_int_equal(x.retransmits, 2);
	assert_int_equal(x.bytes, 522);
	/* The dally is bounded: repeats do not extend it. */
	assert_int_equal(xfer_deadline(&x), end);
	/* Anything else is ignored; no ERROR after a commit. */
	send_data(&x, 1, 512, ++now, &a);
	assert_empty(&a);
	send_data(&x, 3, 10, ++now, &a);
	assert_empty(&a);
	send_data(&x, 2, 600, ++now, &a);
	assert_int_equal(a.flags & (XA_SEND_ERROR | XA_WRITE), 0);
	send_ack(&x, 2, ++now, &a);
	assert_empty(&a);
	xfer_on_packet(&x, (const uint8_t *)"\0\1f\0octet", 10, ++now, &a);
	assert_empty(&a);
	assert_int_equal(x.state, XS_DALLY);
	xfer_on_timeout(&x, end, &a);
	assert_int_equal(a.flags, XA_DONE);
	assert_int_equal(a.result, 0);
	assert_dead(&x);

	/* A client ERROR during the dally ends it; the upload stands. */
	xfer_start(&x, &p, now, &a);
	send_data(&x, 1, 5, ++now, &a);
	send_error(&x, 0, "bye", ++now, &a);
	assert_int_equal(a.flags, XA_DONE);
	assert_int_equal(a.result, 0);
	assert_dead(&x);
}

static void
test_write_lost_ack(void **state)
{
	struct xfer x;
	struct xfer_action a;
	struct xfer_params p = params(XFER_WRITE, 0, 512, 1);
	uint64_t now = T0, dl;

	xfer_start(&x, &p, now, &a);
	send_data(&x, 1, 512, ++now, &a);
	assert_write(&a, XA_WRITE | XA_SEND_ACK, 1, 1, 512);
	dl = xfer_deadline(&x);
	/* The client repeats block 1: ACK 1 again, nothing written. */
	send_data(&x, 1, 512, ++now, &a);
	assert_ack(&a, XA_SEND_ACK | XA_RETRANSMIT, 1);
	assert_int_equal(x.bytes, 512);
	assert_int_equal(x.received, 1);
	assert_int_equal(x.retransmits, 1);
	/* A repeat is not progress. */
	assert_int_equal(xfer_deadline(&x), dl);
	send_data(&x, 2, 512, ++now, &a);
	assert_write(&a, XA_WRITE | XA_SEND_ACK, 2, 2, 512);
	/* Older duplicates are ignored. */
	send_data(&x, 1, 512, ++now, &a);
	assert_empty(&a);
	/* DATA 0 before anything is received is never valid. */
	xfer_start(&x, &p, now, &a);
	send_data(&x, 0, 512, ++now, &a);
	assert_empty(&a);
	p.opt.rollover = 1;
	xfer_start(&x, &p, now, &a);
	send_data(&x, 0, 512, ++now, &a);
	assert_empty(&a);
}

static void
test_write_gap(void **state)
{
	struct xfer x;
	struct xfer_action a;
	struct xfer_params p = params(XFER_WRITE, 0, 512, 4);
	uint64_t now = T0;

	xfer_start(&x, &p, now, &a);
	assert_ack(&a, XA_SEND_ACK, 0);
	send_data(&x, 1, 512, ++now, &a);
	assert_write(&a, XA_WRITE, 0, 1, 512);
	/* Block 2 lost: 3 and 4 arrive.  One ACK 1, then silence. */
	send_data(&x, 3, 512, ++now, &a);
	assert_ack(&a, XA_SEND_ACK, 1);
	assert_int_equal(x.gap_acked, 1);
	send_data(&x, 4, 512, ++now, &a);
	assert_empty(&a);
	send_data(&x, 3, 512, ++now, &a);
	assert_empty(&a);
	assert_int_equal(x.bytes, 512);
	/* The client resumes at 2. */
	send_data(&x, 2, 512, ++now, &a);
	assert_write(&a, XA_WRITE, 0, 2, 512);
	send_data(&x, 3, 512, ++now, &a);
	assert_write(&a, XA_WRITE, 0, 3, 512);
	/* A new gap at a new position is reported once more. */
	send_data(&x, 5, 512, ++now, &a);
	assert_ack(&a, XA_SEND_ACK, 3);
	send_data(&x, 6, 512, ++now, &a);
	assert_empty(&a);
	/* Beyond the window: not a gap, just noise. */
	send_data(&x, 9, 512, ++now, &a);
	assert_empty(&a);
	send_data(&x, 4, 512, ++now, &a);
	assert_write(&a, XA_WRITE, 0, 4, 512);
	/* The cadence counts from the last ACK sent, the gap's ACK 3. */
	send_data(&x, 5, 512, ++now, &a);
	assert_write(&a, XA_WRITE, 0, 5, 512);
	send_data(&x, 6, 512, ++now, &a);
	assert_write(&a, XA_WRITE, 0, 6, 512);
	send_data(&x, 7, 512, ++now, &a);
	assert_write(&a, XA_WRITE | XA_SEND_ACK, 7, 7, 512);

	/* With W=1 a block ahead is outside the window. */
	p.opt.windowsize = 1;
	xfer_start(&x, &p, now, &a);
	send_data(&x, 2, 512, ++now, &a);
	assert_empty(&a);

	/* A gap right after the OACK is answered with ACK 0. */
	p.opt.windowsize = 8;
	with_oack(&p, true);
	xfer_start(&x, &p, now, &a);
	send_data(&x, 2, 512, ++now, &a);
	assert_ack(&a, XA_SEND_ACK, 0);
	assert_int_equal(x.state, XS_RUN);
	send_data(&x, 3, 512, ++now, &a);
	assert_empty(&a);
	/* From now on timeouts repeat ACK 0, not the OACK. */
	xfer_on_timeout(&x, xfer_deadline(&x), &a);
	assert_ack(&a, XA_SEND_ACK | XA_RETRANSMIT, 0);
	send_data(&x, 1, 512, ++now, &a);
	assert_write(&a, XA_WRITE, 0, 1, 512);
}

static void
test_write_oversize(void **state)
{
	struct xfer x;
	struct xfer_action a;
	struct xfer_params p = params(XFER_WRITE, 0, 512, 1);
	uint64_t now = T0;

	xfer_start(&x, &p, now, &a);
	send_data(&x, 1, 512, ++now, &a);
	send_data(&x, 2, 513, ++now, &a);
	assert_int_equal(a.flags, XA_SEND_ERROR | XA_DONE);
	assert_int_equal(a.error_code, TFTP_EBADOP);
	assert_int_equal(a.result, -EPROTO);
	assert_int_equal(x.bytes, 512);
	assert_dead(&x);
	/* Even as a repeat. */
	xfer_start(&x, &p, now, &a);
	send_data(&x, 1, 512, ++now, &a);
	send_data(&x, 1, 1000, ++now, &a);
	assert_int_equal(a.flags, XA_SEND_ERROR | XA_DONE);
	assert_dead(&x);
}

static void
test_write_bad_packets(void **state)
{
	static const uint8_t wrq[] = { 0, 2, 'f', 0, 'o', 'c', 't', 'e',
	    't', 0 };
	static const uint8_t short_data[] = { 0, 3, 0 };
	struct xfer x;
	struct xfer_action a;
	struct xfer_params p = params(XFER_WRITE, 0, 512, 1);

	xfer_start(&x, &p, T0, &a);
	xfer_on_packet(&x, short_data, sizeof(short_data), T0 + 1, &a);
	assert_empty(&a);
	send_ack(&x, 0, T0 + 1, &a);
	assert_int_equal(a.flags, XA_SEND_ERROR | XA_DONE);
	assert_int_equal(a.error_code, TFTP_EBADOP);
	assert_int_equal(a.result, -EPROTO);
	assert_dead(&x);
	xfer_start(&x, &p, T0, &a);
	xfer_on_packet(&x, wrq, sizeof(wrq), T0 + 1, &a);
	assert_int_equal(a.flags, XA_SEND_ERROR | XA_DONE);
	assert_int_equal(a.result, -EPROTO);
}

static void
test_write_client_error(void **state)
{
	struct xfer x;
	struct xfer_action a;
	struct xfer_params p = params(XFER_WRITE, 0, 512, 1);

	xfer_start(&x, &p, T0, &a);
	send_data(&x, 1, 512, T0 + 1, &a);
	send_error(&x, 3, "Disk full", T0 + 2, &a);
	assert_int_equal(a.flags, XA_DONE);
	assert_int_equal(a.result, -ECONNABORTED);
	assert_int_equal(a.error_code, 3);
	assert_string_equal(a.error_msg, "Disk full");
	assert_dead(&x);
}

static void
test_write_oack_retransmit(void **state)
{
	struct xfer x;
	struct xfer_action a;
	struct xfer_params p = params(XFER_WRITE, 0, 512, 1);
	uint64_t now = T0;

	with_oack(&p, true);
	xfer_start(&x, &p, now, &a);
	assert_int_equal(a.flags, XA_SEND_OACK);
	assert_int_equal(xfer_deadline(&x), now + TMO);
	now = xfer_deadline(&x);
	xfer_on_timeout(&x, now, &a);
	assert_int_equal(a.flags, XA_SEND_OACK | XA_RETRANSMIT);
	assert_int_equal(xfer_deadline(&x), now + 2 * TMO);
	assert_int_equal(x.state, XS_OACK);
	/* DATA 1 answers the OACK as it would ACK 0. */
	send_data(&x, 1, 512, ++now, &a);
	assert_write(&a, XA_WRITE | XA_SEND_ACK, 1, 1, 512);
	assert_int_equal(x.state, XS_RUN);
	assert_int_equal(x.tries, 0);
	assert_int_equal(xfer_deadline(&x), now + TMO);
	/* A single short block straight after the OACK. */
	xfer_start(&x, &p, now, &a);
	send_data(&x, 1, 3, ++now, &a);
	assert_write(&a, XA_WRITE | XA_COMMIT | XA_SEND_ACK, 1, 1, 3);
	assert_int_equal(x.state, XS_DALLY);
	/* Give up on a silent client after the OACK. */
	xfer_start(&x, &p, now, &a);
	for (;;) {
		now = xfer_deadline(&x);
		xfer_on_timeout(&x, now, &a);
		if (a.flags & XA_DONE)
			break;
		assert_int_equal(a.flags, XA_SEND_OACK | XA_RETRANSMIT);
	}
	assert_int_equal(a.flags, XA_SEND_ERROR | XA_DONE);
	assert_int_equal(a.result, -ETIMEDOUT);
	assert_int_equal(x.timeouts, RETRIES + 1);
}

static void
test_write_timeouts(void **state)
{
	static const uint32_t expect[RETRIES] = {
		2000, 4000, 8000, 8000, 8000
	};
	struct xfer x;
	struct xfer_action a;
	struct xfer_params p = params(XFER_WRITE, 0, 512, 4);
	uint64_t now = T0;
	int i;

	xfer_start(&x, &p, now, &a);
	assert_ack(&a, XA_SEND_ACK, 0);
	now = xfer_deadline(&x);
	xfer_on_timeout(&x, now, &a);
	assert_ack(&a, XA_SEND_ACK | XA_RETRANSMIT, 0);
	for (i = 1; i <= 4; i++)
		send_data(&x, (uint16_t)i, 512, ++now, &a);
	assert_ack(&a, XA_WRITE | XA_SEND_ACK, 4);
	assert_int_equal(x.tries, 0);
	send_data(&x, 5, 512, ++now, &a);
	send_data(&x, 6, 512, ++now, &a);
	assert_int_equal(a.flags, XA_WRITE);
	/*
	 * 7 and 8 are lost: the timeout acknowledges 6, the last block in
	 * order, so the client resumes at 7 rather than resending 5 and 6.
	 */
	for (i = 0; i < RETRIES; i++) {
		now = xfer_deadline(&x);
		xfer_on_timeout(&x, now, &a);
		assert_ack(&a, XA_SEND_ACK | XA_RETRANSMIT, 6);
		assert_int_equal(xfer_deadline(&x), now + expect[i]);
		assert_int_equal(x.ack_sent, 6);
	}
	assert_int_equal(x.retransmits, 1 + RETRIES);
	now = xfer_deadline(&x);
	xfer_on_timeout(&x, now, &a);
	assert_int_equal(a.flags, XA_SEND_ERROR | XA_DONE);
	assert_int_equal(a.error_code, 0);
	assert_string_equal(a.error_msg, "Timeout");
	assert_int_equal(a.result, -ETIMEDOUT);
	assert_dead(&x);
}

/* An upload of more than 65536 blocks, ACKs checked against the wire. */
static void
write_wrap(uint16_t rollover, uint32_t w)
{
	struct xfer x;
	struct xfer_action a;
	struct xfer_params p = params(XFER_WRITE, 0, 8, w);
	uint64_t now = T0, i, n = 70000;
	uint16_t wire = 0, last_ack = 0;

	p.opt.rollover = rollover;
	xfer_start(&x, &p, now, &a);
	assert_ack(&a, XA_SEND_ACK, 0);
	for (i = 1; i <= n; i++) {
		wire = next_wire(wire, rollover);
		send_data(&x, wire, i == n ? 3 : 8, ++now, &a);
		assert_true(a.flags & XA_WRITE);
		assert_int_equal(x.received, i);
		if (i == n) {
			assert_ack(&a, XA_WRITE | XA_COMMIT | XA_SEND_ACK,
			    wire);
		} else if (i % w == 0) {
			assert_ack(&a, XA_WRITE | XA_SEND_ACK, wire);
			last_ack = wire;
		} else {
			assert_int_equal(a.flags, XA_WRITE);
		}
		if (i == 65540) {
			/*
			 * A repeat across the wrap: re-ACKed when it is the
			 * last block, ignored when it is older.
			 */
			send_data(&x, last_ack, 8, ++now, &a);
			if (w == 1)
				assert_ack(&a, XA_SEND_ACK | XA_RETRANSMIT,
				    wire);
			else
				assert_empty(&a);
			/* Stale block from before the wrap: ignored. */
			send_data(&x, 65530, 8, ++now, &a);
			assert_empty(&a);
		}
	}
	assert_int_equal(x.bytes, (n - 1) * 8 + 3);
	send_data(&x, wire, 3, ++now, &a);
	assert_ack(&a, XA_SEND_ACK | XA_RETRANSMIT, wire);
}

static void
test_write_wrap(void **state)
{
	write_wrap(0, 1);
	write_wrap(1, 1);
	write_wrap(0, 16);
	write_wrap(1, 16);
}

static void
test_write_gap_across_wrap(void **state)
{
	struct xfer x;
	struct xfer_action a;
	struct xfer_params p = params(XFER_WRITE, 0, 8, 8);

	xfer_start(&x, &p, T0, &a);
	x.received = 65534;
	x.ack_sent = 65530;
	/* 65535 lost, wire 0 (block 65536) arrives: a gap, ACK 65534. */
	send_data(&x, 0, 8, T0 + 1, &a);
	assert_ack(&a, XA_SEND_ACK, 65534);
	send_data(&x, 65535, 8, T0 + 2, &a);
	assert_int_equal(a.flags, XA_WRITE);
	send_data(&x, 0, 8, T0 + 3, &a);
	assert_int_equal(a.flags, XA_WRITE);
	assert_int_equal(x.received, 65536);

	p.opt.rollover = 1;
	xfer_start(&x, &p, T0, &a);
	x.received = 65534;
	x.ack_sent = 65530;
	send_data(&x, 0, 8, T0 + 1, &a);	/* never valid again */
	assert_empty(&a);
	send_data(&x, 1, 8, T0 + 1, &a);	/* block 65536: a gap */
	assert_ack(&a, XA_SEND_ACK, 65534);
	send_data(&x, 65535, 8, T0 + 2, &a);
	send_data(&x, 1, 8, T0 + 3, &a);
	assert_int_equal(a.flags, XA_WRITE);
	assert_int_equal(x.received, 65536);
	assert_int_equal(xfer_wire_block(&x, x.received), 1);
}

/* Simulated clients over a bad network -------------------------------- */

static uint64_t rng_state;

static uint32_t
rnd(uint32_t n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state % n);
}

struct msg {
	uint16_t	opcode;
	uint16_t	block;
	uint64_t	off;	/* read DATA: which bytes it carries */
	size_t		len;
};

#define QMAX	(4 * XFER_WINDOW_LIMIT)

struct queue {
	struct msg	m[QMAX];
	size_t		n;
};

static struct queue to_client, to_server;
static uint64_t dropped;

struct net {
	uint32_t	loss;	/* percent */
	uint32_t	dup;
	uint32_t	reorder;
};

static void
put(struct queue *q, const struct net *net, const struct msg *m)
{
	int copies = 1;

	if (rnd(100) < net->loss) {
		dropped++;
		return;
	}
	if (rnd(100) < net->dup)
		copies = 2;
	while (copies-- > 0 && q->n < QMAX)
		q->m[q->n++] = *m;
}

static bool
take(struct queue *q, const struct net *net, struct msg *m)
{
	size_t i = 0;

	if (q->n == 0)
		return false;
	if (q->n > 1 && rnd(100) < net->reorder)
		i = rnd((uint32_t)q->n);
	*m = q->m[i];
	memmove(&q->m[i], &q->m[i + 1], (q->n - i - 1) * sizeof(*m));
	q->n--;
	return true;
}

static int16_t
wire_dist(uint16_t from, uint16_t to, uint16_t rollover)
{
	/* Only used within a window of blocks after block 0. */
	if (rollover == 0)
		return (int16_t)(to - from);
	return (int16_t)((to + 65535 - from) % 65535);
}

/* The server's read actions put DATA on the wire. */
static void
read_act(struct xfer *x, const struct xfer_action *a, const struct net *net)
{
	struct msg m = { .opcode = TFTP_DATA };
	uint64_t i;

	if (a->flags & XA_SEND_DATA) {
		assert_true(a->count >= 1 && a->count <= x->p.opt.windowsize);
		/* A sliding window: what is in flight ends at sent. */
		assert_true(a->first > x->acked);
		assert_int_equal(a->first + a->count - 1, x->sent);
		assert_true(a->first + a->count - 1 <= x->nblocks);
		for (i = a->first; i < a->first + a->count; i++) {
			m.block = xfer_wire_block(x, i);
			m.off = xfer_block_offset(x, i);
			m.len = xfer_block_len(x, i);
			put(&to_client, net, &m);
		}
	}
	assert_int_equal(a->flags & (XA_WRITE | XA_COMMIT | XA_SEND_ACK), 0);
}

/*
 * An RFC 7440 client: takes blocks in order, ACKs each full window and
 * the last block, ACKs the last in-order block on anything unexpected.
 */
static void
sim_read(const struct xfer_params *p, const struct net *net, uint64_t seed)
{
	struct xfer x;
	struct xfer_action a;
	struct msg m;
	uint8_t b[TFTP_HDR_LEN];
	uint64_t now = T0, next_off = 0, steps = 0;
	uint16_t last = 0;
	uint64_t gap_at = UINT64_MAX;
	uint32_t since_ack = 0;
	bool got_last = false;
	struct msg ack = { .opcode = TFTP_ACK };
	int16_t d;

	rng_state = seed;
	to_client.n = to_server.n = 0;
	dropped = 0;
	xfer_start(&x, p, now, &a);
	/* OACK and the client's ACK 0 share one chance of loss. */
	if (a.flags & XA_SEND_OACK)
		put(&to_server, net, &ack);
	read_act(&x, &a, net);
	while (x.state != XS_DONE) {
		assert_true(++steps < 5000000);
		if (take(&to_server, net, &m)) {
			proto_build_ack(b, sizeof(b), m.block);
			xfer_on_packet(&x, b, sizeof(b), ++now, &a);
			read_act(&x, &a, net);
			continue;
		}
		if (take(&to_client, net, &m)) {
			now++;
			d = wire_dist(last, m.block, p->opt.rollover);
			if (!got_last && d == 1) {
				/* In order: exactly the next bytes. */
				assert_int_equal(m.off, next_off);
				next_off += m.len;
				last = m.block;
				got_last = m.len < p->opt.blksize;
				if (++since_ack < p->opt.windowsize && !got_last)
					continue;
			} else if (!got_last && d > 1) {
				/* A gap: reported once per position. */
				if (gap_at == next_off)
					continue;
				gap_at = next_off;
			} else if (!got_last && d < 0) {
				/* Older than the last: the repeat of the
				 * last block (d == 0) is the one answered. */
				continue;
			}
			/*
			 * A repeat of the last block or of the final one:
			 * our ACK was lost, say where we stand again.
			 */
			since_ack = 0;
			ack.block = last;
			put(&to_server, net, &ack);
			continue;
		}
		now = xfer_deadline(&x);
		xfer_on_timeout(&x, now, &a);
		if (a.flags & XA_SEND_OACK) {
			ack.block = 0;
			put(&to_server, net, &ack);
		}
		read_act(&x, &a, net);
	}
	assert_int_equal(a.flags, XA_DONE);
	assert_int_equal(a.result, 0);
	assert_true(got_last);
	assert_int_equal(next_off, p->size);
	assert_int_equal(x.bytes, p->size);
	/* The channel did its part. */
	if (net->loss > 0)
		assert_true(dropped > 0 && x.retransmits > 0);
}

static void
test_sim_read(void **state)
{
	static const struct net nets[] = {
		{ 0, 0, 0 }, { 10, 0, 0 }, { 5, 10, 20 }, { 20, 20, 50 },
	};
	static const uint32_t windows[] = { 1, 2, 8, 64 };
	struct xfer_params p;
	size_t i, j;

	for (i = 0; i < sizeof(nets) / sizeof(nets[0]); i++) {
		for (j = 0; j < sizeof(windows) / sizeof(windows[0]); j++) {
			p = params(XFER_READ, 100 * 512 + i * 37, 512,
			    windows[j]);
			p.retries = 30;
			with_oack(&p, j % 2);
			sim_read(&p, &nets[i], 0x9e3779b97f4a7c15ull + i * 8 +
			    j);
		}
	}
	/* Across the wrap, both ways. */
	p = params(XFER_READ, 66000 * 8, 8, 16);
	p.retries = 30;
	sim_read(&p, &nets[2], 12345);
	p.opt.rollover = 1;
	sim_read(&p, &nets[2], 54321);
}

/*
 * An RFC 7440 uploading client: sends a window after each ACK that moves
 * forward and the window again on its own timer; the server's writes
 * must rebuild the source exactly.
 */
static void
sim_write(const struct xfer_params *p, const struct net *net, uint64_t size,
    uint64_t seed)
{
	struct xfer x;
	struct xfer_action a;
	struct msg m;
	uint64_t now = T0, steps = 0, acked = 0, written = 0, nblocks, i;
	uint64_t client_deadline;
	uint16_t acked_wire = 0;
	bool committed = false, started = false;
	int16_t d;

	rng_state = seed;
	to_client.n = to_server.n = 0;
	dropped = 0;
	nblocks = size / p->opt.blksize + 1;
	xfer_start(&x, p, now, &a);
	client_deadline = now + 3 * p->timeout_ms / 2;
	for (;;) {
		/* Server side of the last action. */
		if (a.flags & XA_WRITE) {
			assert_false(committed);
			for (i = 0; i < a.len; i++)
				assert_int_equal(a.data[i],
				    (uint8_t)((written + i) * 131 >> 3));
			written += a.len;
		}
		if (a.flags & XA_COMMIT) {
			committed = true;
			assert_int_equal(written, size);
		}
		if (a.flags & XA_SEND_ACK)
			put(&to_client, net, &(struct msg){
			    .opcode = TFTP_ACK, .block = a.ack_block });
		if (a.flags & XA_SEND_OACK)
			put(&to_client, net, &(struct msg){
			    .opcode = TFTP_ACK, .block = 0 });
		assert_int_equal(a.flags & (XA_SEND_DATA | XA_SEND_ERROR), 0);
		assert_int_equal(x.bytes, written);
		if (x.state == XS_DONE)
			break;
		assert_true(++steps < 5000000);

		if (take(&to_server, net, &m)) {
			uint64_t off = (m.off - 1) * p->opt.blksize;

			proto_build_data_hdr(pkt, sizeof(pkt), m.block);
			for (i = 0; i < m.len; i++)
				pkt[TFTP_HDR_LEN + i] =
				    (uint8_t)((off + i) * 131 >> 3);
			xfer_on_packet(&x, pkt, TFTP_HDR_LEN + m.len, ++now,
			    &a);
			continue;
		}
		a.flags = 0;
		if (take(&to_client, net, &m)) {
			now++;
			d = wire_dist(acked_wire, m.block, p->opt.rollover);
			/* ACK 0 (or the OACK) starts the upload. */
			if (acked == nblocks || d < 0 || (d == 0 && started) ||
			    (uint64_t)d > p->opt.windowsize)
				continue;
			started = true;
			acked += (uint64_t)d;
			acked_wire = m.block;
			client_deadline = now + 3 * p->timeout_ms / 2;
			if (acked == nblocks)
				continue;
			goto send_window;
		}
		if (acked < nblocks && client_deadline < xfer_deadline(&x)) {
			now = client_deadline;
			client_deadline = now + 3 * p->timeout_ms / 2;
			goto send_window;
		}
		now = xfer_deadline(&x);
		xfer_on_timeout(&x, now, &a);
		continue;
send_window:
		for (i = acked + 1; i <= nblocks &&
		    i <= acked + p->opt.windowsize; i++) {
			m.opcode = TFTP_DATA;
			m.block = xfer_wire_block(&x, i);
			m.off = i;	/* the block index, for the payload */
			m.len = i < nblocks ? p->opt.blksize : size % p->opt.blksize;
			put(&to_server, net, &m);
		}
	}
	assert_int_equal(a.result, 0);
	assert_true(committed);
	assert_int_equal(written, size);
	if (net->loss > 0)
		assert_true(dropped > 0);
}

static void
test_sim_write(void **state)
{
	static const struct net nets[] = {
		{ 0, 0, 0 }, { 10, 0, 0 }, { 5, 10, 20 }, { 20, 20, 50 },
	};
	static const uint32_t windows[] = { 1, 3, 8, 64 };
	struct xfer_params p;
	size_t i, j;

	for (i = 0; i < sizeof(nets) / sizeof(nets[0]); i++) {
		for (j = 0; j < sizeof(windows) / sizeof(windows[0]); j++) {
			p = params(XFER_WRITE, 0, 512, windows[j]);
			p.retries = 30;
			with_oack(&p, j % 2);
			sim_write(&p, &nets[i], 100 * 512 + (j == 2 ? 0 : 77),
			    0x2545f4914f6cdd1dull + i * 8 + j);
		}
	}
	p = params(XFER_WRITE, 0, 8, 16);
	p.retries = 30;
	sim_write(&p, &nets[2], 66000 * 8 + 5, 777);
	p.opt.rollover = 1;
	sim_write(&p, &nets[2], 66000 * 8 + 5, 778);
}

/* Real clients' ACK habits against a timed channel ------------------- */

/*
 * Two boot loaders' ways of acknowledging a window, modelled on what
 * they send: EDK2's PXE client re-ACKs the last in-order block for every
 * block it did not expect (a gap, or a duplicate) and otherwise ACKs
 * every windowsize blocks counted from its last ACK; U-Boot ACKs at fixed
 * window ends and on a gap sends one ACK of the last in-order block.
 * Both take blocks strictly in order, and re-ACK on their own timer
 * (retry_ms) up to ten times without progress before giving up.  The
 * channel delays every packet by DELAY ms and keeps order, and can lose,
 * duplicate or hold back chosen DATA transmissions, or a share of all
 * packets.  What is counted: DATA the server sent beyond one copy of each
 * block, and copies the client received of blocks it already had.
 */
enum habit { EDK2, UBOOT };

#define DELAY		1	/* ms, one way */
#define CLIENT_TRIES	10
#define EVMAX		(8 * XFER_WINDOW_LIMIT)

struct ev {
	uint64_t	at;
	uint64_t	seq;		/* keeps order among equal times */
	bool		to_client;
	uint64_t	block;		/* index; the sim stays below the wrap */
	size_t		len;
};

struct sim {
	enum habit	habit;
	uint32_t	w;
	uint32_t	loss;		/* percent, both ways */
	uint64_t	drop;		/* first copy of this DATA is lost */
	uint64_t	dup;		/* first copy of this DATA arrives twice */
	uint64_t	late;		/* first copy of this DATA is 2 ms late */
	uint32_t	retry_ms;
	uint64_t	limit_ms;	/* simulated time allowed */
	/* results */
	uint64_t	sent;		/* DATA packets the server sent */
	uint64_t	extra;		/* sent - blocks */
	uint64_t	dups;		/* DATA the client already had */
	uint64_t	acks;
	uint64_t	ms;		/* until the server finished */
	uint32_t	timeouts;	/* the server's */
	bool		done;
};

static struct ev evq[EVMAX];
static size_t nev;
static uint64_t evseq;
static uint8_t *sim_copies;	/* DATA transmissions per block so far */

static void
ev_put(uint64_t at, bool to_cl, uint64_t block, size_t len)
{
	assert_true(nev < EVMAX);
	evq[nev++] = (struct ev){ at, evseq++, to_cl, block, len };
}

/* The earliest packet on the wire, in sending order among equals. */
static size_t
ev_first(void)
{
	size_t i, best = 0;

	for (i = 1; i < nev; i++)
		if (evq[i].at < evq[best].at || (evq[i].at == evq[best].at &&
		    evq[i].seq < evq[best].seq))
			best = i;
	return best;
}

static bool
ev_peek(struct ev *e)
{
	if (nev == 0)
		return false;
	*e = evq[ev_first()];
	return true;
}

static void
ev_take(struct ev *e)
{
	size_t i = ev_first();

	*e = evq[i];
	evq[i] = evq[--nev];
}

static void
sim_send_data(struct sim *s, struct xfer *x, const struct xfer_action *a,
    uint64_t now)
{
	uint64_t i, delay;
	bool first;

	if (!(a->flags & XA_SEND_DATA))
		return;
	assert_true(a->count >= 1 && a->count <= s->w);
	assert_true(a->first > x->acked && a->first + a->count - 1 == x->sent);
	for (i = a->first; i < a->first + a->count; i++) {
		first = sim_copies[i] == 0;
		if (sim_copies[i] < 255)
			sim_copies[i]++;
		s->sent++;
		if (first && i == s->drop)
			continue;
		if (s->loss > 0 && rnd(100) < s->loss)
			continue;
		delay = first && i == s->late ? DELAY + 2 : DELAY;
		ev_put(now + delay, true, i, xfer_block_len(x, i));
		if (first && i == s->dup)
			ev_put(now + delay, true, i, xfer_block_len(x, i));
	}
}

static void
sim_ack(struct sim *s, uint64_t now, uint64_t block)
{
	s->acks++;
	if (s->loss > 0 && rnd(100) < s->loss)
		return;
	ev_put(now + DELAY, false, block, 0);
}

static void
sim_client(struct sim *s, const struct xfer_params *p, size_t nblk,
    uint64_t seed)
{
	struct xfer x;
	struct xfer_action a;
	struct ev e;
	uint8_t b[TFTP_HDR_LEN];
	uint64_t now = T0, last = 0, next_ack = s->w, last_nak = UINT64_MAX;
	uint64_t retry_at, t;
	uint32_t count = 0, tries = 0;
	bool got_all = false, ack;

	rng_state = seed;
	nev = 0;
	evseq = 0;
	sim_copies = calloc(nblk + 2, 1);
	assert_non_null(sim_copies);
	s->sent = s->dups = s->acks = 0;
	s->done = false;
	xfer_start(&x, p, now, &a);
	assert_int_equal(x.nblocks, nblk);
	sim_send_data(s, &x, &a, now);
	retry_at = now + s->retry_ms;
	while (now - T0 < s->limit_ms) {
		/* The next thing to happen: server timer, packet, client timer. */
		t = xfer_deadline(&x);
		if (ev_peek(&e) && (t == 0 || e.at < t))
			t = e.at;
		if (!got_all && (t == 0 || retry_at < t))
			t = retry_at;
		if (t == 0)
			break;
		now = t;
		if (xfer_deadline(&x) == now) {
			xfer_on_timeout(&x, now, &a);
			sim_send_data(s, &x, &a, now);
			if (a.flags & XA_DONE)
				break;
			continue;
		}
		if (!ev_peek(&e) || e.at != now) {
			/* The client's own timer: say where it stands. */
			if (++tries > CLIENT_TRIES)
				break;
			retry_at = now + s->retry_ms;
			count = 0;
			next_ack = last + s->w;
			sim_ack(s, now, last);
			continue;
		}
		ev_take(&e);
		if (!e.to_client) {
			assert_int_equal(proto_build_ack(b, sizeof(b),
			    (uint16_t)e.block), TFTP_HDR_LEN);
			xfer_on_packet(&x, b, sizeof(b), now, &a);
			sim_send_data(s, &x, &a, now);
			if (a.flags & XA_DONE)
				break;
			continue;
		}
		if (e.block <= last)
			s->dups++;
		ack = false;
		if (e.block == last + 1 && !got_all) {
			last = e.block;
			tries = 0;
			retry_at = now + s->retry_ms;
			got_all = e.len < p->opt.blksize;
			if (s->habit == EDK2) {
				ack = ++count == s->w || got_all;
			} else {
				ack = last == next_ack || got_all;
				if (last == next_ack)
					next_ack += s->w;
			}
		} else if (s->habit == EDK2) {
			/* Anything unexpected: where it stands, each time. */
			ack = true;
		} else if (e.block > last + 1 && last != last_nak) {
			/* A gap: one ACK of the last in-order block. */
			last_nak = last;
			ack = true;
		} else if (got_all && e.block == last) {
			/* The final block again: its ACK was lost. */
			ack = true;
		}
		if (ack) {
			count = 0;
			sim_ack(s, now, last);
		}
	}
	s->done = x.state == XS_DONE && got_all && x.acked == nblk;
	s->extra = s->sent > nblk ? s->sent - nblk : 0;
	s->ms = now - T0;
	s->timeouts = x.timeouts;
	free(sim_copies);
}

static void
report(const char *what, const struct sim *s)
{
	printf("xfer-sim: %-28s w %-2u %s %s sent %llu extra %llu dups %llu "
	    "acks %llu timeouts %u %llu ms\n", what, s->w,
	    s->done ? "done  " : "FAILED",
	    s->habit == EDK2 ? "edk2 " : "uboot",
	    (unsigned long long)s->sent, (unsigned long long)s->extra,
	    (unsigned long long)s->dups, (unsigned long long)s->acks,
	    s->timeouts, (unsigned long long)s->ms);
}

/* 200 blocks of 512 at windowsize w, the server's default timer. */
static struct sim
one_run(enum habit h, uint32_t w, uint64_t drop, uint64_t dup, uint64_t late)
{
	struct xfer_params p = params(XFER_READ, 199 * 512 + 100, 512, w);
	struct sim s = {
		.habit = h, .w = w, .drop = drop, .dup = dup, .late = late,
		.retry_ms = 3000, .limit_ms = 60000,
	};

	sim_client(&s, &p, 200, 42);
	return s;
}

/*
 * One lost DATA costs at most a window: EDK2 re-ACKs on every block it did
 * not expect, and those ACKs, or the copies they would draw, must not
 * keep the two out of step for the rest of the file.  U-Boot's single
 * gap ACK is answered at once, without waiting for a timeout.
 */
static void
test_habit_one_loss(void **state)
{
	/* First, second and last of a window, the file's last block. */
	static const uint64_t drops[] = { 1, 101, 102, 104, 200 };
	static const enum habit habits[] = { EDK2, UBOOT };
	char what[64];
	struct sim s;
	size_t i, j;

	for (j = 0; j < 2; j++) {
		for (i = 0; i < sizeof(drops) / sizeof(drops[0]); i++) {
			s = one_run(habits[j], 4, drops[i], 0, 0);
			snprintf(what, sizeof(what), "one loss, block %llu",
			    (unsigned long long)drops[i]);
			report(what, &s);
			assert_true(s.done);
			assert_true(s.extra >= 1 && s.extra <= 4);
			assert_true(s.dups <= 3);
			/* A later block shows the gap: no waiting. */
			if (drops[i] % 4 != 0)
				assert_int_equal(s.timeouts, 0);
		}
		/* No loss: not one copy. */
		s = one_run(habits[j], 4, 0, 0, 0);
		report("no loss", &s);
		assert_true(s.done);
		assert_int_equal(s.extra, 0);
		assert_int_equal(s.dups, 0);
	}
	/* A wider window: still at most one window's worth. */
	for (j = 0; j < 2; j++) {
		s = one_run(habits[j], 16, 103, 0, 0);
		report("one loss, block 103", &s);
		assert_true(s.done);
		assert_true(s.extra <= 16);
		assert_int_equal(s.timeouts, 0);
	}
}

/* A duplicated or a late DATA is no loss: it costs a window at most. */
static void
test_habit_dup_reorder(void **state)
{
	static const enum habit habits[] = { EDK2, UBOOT };
	char what[64];
	struct sim s;
	size_t j;
	uint64_t b;

	for (j = 0; j < 2; j++) {
		for (b = 101; b <= 104; b++) {
			s = one_run(habits[j], 4, 0, b, 0);
			snprintf(what, sizeof(what), "block %llu twice",
			    (unsigned long long)b);
			report(what, &s);
			assert_true(s.done);
			assert_true(s.extra <= 4);
			s = one_run(habits[j], 4, 0, 0, b);
			snprintf(what, sizeof(what), "block %llu late",
			    (unsigned long long)b);
			report(what, &s);
			assert_true(s.done);
			assert_true(s.extra <= 4);
		}
	}
}

/*
 * 5 MiB at windowsize 16 through 20% loss each way, the client re-ACKing
 * every second and giving up after ten silent seconds: each of ten runs
 * completes, for both habits.  Recovery is driven by the client's ACKs,
 * new or repeated (U-Boot's single gap ACK, held in a guard, answered
 * when nothing followed it), not by the server's timer, which backs off.
 */
static void
test_habit_heavy_loss(void **state)
{
	static const enum habit habits[] = { EDK2, UBOOT };
	struct xfer_params p = params(XFER_READ, 5 << 20, 1468, 16);
	size_t nblk = (5 << 20) / 1468 + 1;
	struct sim s;
	uint64_t seed;
	size_t j, ok;

	p.retries = 5;
	for (j = 0; j < 2; j++) {
		ok = 0;
		for (seed = 1; seed <= 10; seed++) {
			s = (struct sim){
				.habit = habits[j], .w = 16, .loss = 20,
				.retry_ms = 1000, .limit_ms = 600000,
			};
			sim_client(&s, &p, nblk, seed * 0x9e3779b97f4a7c15ull);
			report("20% loss both ways", &s);
			ok += s.done;
		}
		printf("xfer-sim: 20%% loss both ways, %s: %zu/10 done\n",
		    habits[j] == EDK2 ? "edk2" : "uboot", ok);
		assert_int_equal(ok, 10);
	}
}

/*
 * Windowsize 1 is RFC 1350 with RFC 1123's rule: a duplicate ACK never
 * draws DATA, however long after, or the Sorcerer's Apprentice doubles
 * every packet from there on.
 */
static void
test_habit_window1(void **state)
{
	struct xfer x;
	struct xfer_action a;
	struct xfer_params p = params(XFER_READ, 10 * 512, 512, 1);
	struct sim s;
	uint64_t now = T0;
	int i;

	xfer_start(&x, &p, now, &a);
	send_ack(&x, 1, ++now, &a);
	assert_data(&a, XA_SEND_DATA, 2, 1);
	for (i = 0; i < 6; i++) {
		now += 1 + i * 100;
		send_ack(&x, 1, now, &a);
		assert_empty(&a);
	}
	assert_int_equal(x.retransmits, 0);
	/* Late and repeated DATA draw repeated ACKs: still no copies. */
	s = one_run(EDK2, 1, 0, 50, 0);
	report("block 50 twice", &s);
	assert_true(s.done);
	assert_int_equal(s.extra, 0);
	s = one_run(UBOOT, 1, 0, 0, 50);
	report("block 50 late", &s);
	assert_true(s.done);
	assert_int_equal(s.extra, 0);
	/* A loss costs exactly the one block, after the timeout. */
	s = one_run(EDK2, 1, 50, 0, 0);
	report("one loss, block 50", &s);
	assert_true(s.done);
	assert_int_equal(s.extra, 1);
}

/* Parameters, accessors, what each action reports ------------------- */

static void
assert_opt_equal(const struct tftp_params *a, const struct tftp_params *b)
{
	assert_int_equal(a->blksize, b->blksize);
	assert_int_equal(a->windowsize, b->windowsize);
	assert_int_equal(a->timeout_ms, b->timeout_ms);
	assert_int_equal(a->timeout, b->timeout);
	assert_int_equal(a->utimeout, b->utimeout);
	assert_int_equal(a->tsize, b->tsize);
	assert_int_equal(a->rollover, b->rollover);
	assert_int_equal(a->acked, b->acked);
}

static void
test_params_init(void **state)
{
	struct tftp_params opt = {
		.blksize = 1428, .windowsize = 16, .rollover = 1,
		.tsize = 12345, .acked = TFTP_OPT_BIT(TFTP_OPT_BLKSIZE) |
		    TFTP_OPT_BIT(TFTP_OPT_TSIZE),
	};
	struct xfer_params p;
	struct xfer x;
	struct xfer_action a;

	/* Our interval: backoff up to eight times it, dally twice it. */
	xfer_params_init(&p, XFER_READ, &opt, 99999, 1500, 7);
	assert_int_equal(p.dir, XFER_READ);
	assert_opt_equal(&p.opt, &opt);
	assert_int_equal(p.size, 99999);
	assert_int_equal(p.retries, 7);
	assert_int_equal(p.timeout_ms, 1500);
	assert_int_equal(p.max_timeout_ms, 12000);
	assert_int_equal(p.dally_ms, 3000);

	/* The client's interval (RFC 2349) is fixed. */
	opt.timeout_ms = 250;
	xfer_params_init(&p, XFER_WRITE, &opt, 0, 1500, 7);
	assert_int_equal(p.dir, XFER_WRITE);
	assert_int_equal(p.timeout_ms, 250);
	assert_int_equal(p.max_timeout_ms, 250);
	assert_int_equal(p.dally_ms, 500);
	/* The server's own interval is kept for the unverified phase. */
	assert_int_equal(p.server_timeout_ms, 1500);
	assert_int_equal(p.unverified_ms, 0);

	/* Huge intervals saturate instead of wrapping. */
	opt.timeout_ms = 0;
	xfer_params_init(&p, XFER_READ, &opt, 0, UINT32_MAX / 8 + 1, 1);
	assert_int_equal(p.max_timeout_ms, UINT32_MAX);
	assert_int_equal(p.dally_ms, (UINT32_MAX / 8 + 1) * 2);
	opt.timeout_ms = UINT32_MAX / 2 + 1;
	xfer_params_init(&p, XFER_READ, &opt, 0, 1000, 1);
	assert_int_equal(p.dally_ms, UINT32_MAX);

	/* The machine runs with the options negotiated and owns them. */
	opt.timeout_ms = 0;
	xfer_params_init(&p, XFER_READ, &opt, 100 * 1428, 1000, 5);
	xfer_start(&x, &p, T0, &a);
	assert_int_equal(a.flags, XA_SEND_OACK);
	assert_opt_equal(&xfer_params(&x)->opt, &opt);
	send_ack(&x, 0, T0 + 1, &a);
	assert_data(&a, XA_SEND_DATA, 1, 16);
	assert_int_equal(xfer_block_len(&x, 1), 1428);
	/* No option acknowledged: no OACK. */
	opt.acked = 0;
	xfer_params_init(&p, XFER_READ, &opt, 100 * 1428, 1000, 5);
	xfer_start(&x, &p, T0, &a);
	assert_data(&a, XA_SEND_DATA, 1, 16);
}

/* The accessors say what the fields hold. */
static void
assert_view(const struct xfer *x)
{
	assert_ptr_equal(xfer_params(x), &x->p);
	assert_int_equal(xfer_status(x).state, x->state);
	assert_int_equal(xfer_dallying(x), x->state == XS_DALLY);
	assert_int_equal(xfer_bytes(x), x->bytes);
	assert_int_equal(xfer_status(x).nblocks, x->nblocks);
	assert_int_equal(xfer_acked(x), x->acked);
	assert_int_equal(xfer_status(x).sent, x->sent);
	assert_int_equal(xfer_status(x).received, x->received);
	assert_int_equal(xfer_status(x).ack_sent, x->ack_sent);
	assert_int_equal(xfer_status(x).interval, x->cur_timeout_ms);
	assert_int_equal(xfer_status(x).tries, x->tries);
	assert_int_equal(xfer_status(x).retransmits, x->retransmits);
	assert_int_equal(xfer_status(x).timeouts, x->timeouts);
}

static void
test_accessors(void **state)
{
	struct xfer x;
	struct xfer_action a;
	struct xfer_params p = params(XFER_READ, 10 * 512, 512, 4);
	uint64_t now = T0;

	with_oack(&p, true);
	xfer_start(&x, &p, now, &a);
	assert_view(&x);
	assert_int_equal(xfer_status(&x).state, XS_OACK);
	assert_int_equal(xfer_status(&x).nblocks, 11);
	send_ack(&x, 0, ++now, &a);
	send_ack(&x, 2, ++now, &a);
	assert_view(&x);
	assert_int_equal(xfer_status(&x).state, XS_RUN);
	assert_int_equal(xfer_acked(&x), 2);
	assert_int_equal(xfer_status(&x).sent, 6);
	assert_int_equal(xfer_bytes(&x), 2 * 512);
	assert_int_equal(xfer_status(&x).retransmits, 2);
	now = xfer_deadline(&x);
	xfer_on_timeout(&x, now, &a);
	assert_view(&x);
	assert_int_equal(xfer_status(&x).tries, 1);
	assert_int_equal(xfer_status(&x).interval, 2 * TMO);
	assert_int_equal(xfer_status(&x).timeouts, 1);
	assert_int_equal(xfer_status(&x).retransmits, 6);
	assert_false(xfer_dallying(&x));

	p = params(XFER_WRITE, 0, 512, 2);
	xfer_start(&x, &p, now, &a);
	send_data(&x, 1, 512, ++now, &a);
	assert_view(&x);
	assert_int_equal(xfer_status(&x).received, 1);
	assert_int_equal(xfer_status(&x).ack_sent, 0);
	send_data(&x, 2, 512, ++now, &a);
	assert_int_equal(xfer_status(&x).ack_sent, 2);
	assert_false(xfer_dallying(&x));
	send_data(&x, 3, 7, ++now, &a);
	assert_view(&x);
	assert_true(xfer_dallying(&x));
	assert_int_equal(xfer_status(&x).state, XS_DALLY);
	assert_int_equal(xfer_bytes(&x), 2 * 512 + 7);
	xfer_on_timeout(&x, xfer_deadline(&x), &a);
	assert_false(xfer_dallying(&x));
	assert_int_equal(xfer_status(&x).state, XS_DONE);
	assert_view(&x);
}

static void
assert_counts(const struct xfer_action *a, uint32_t retransmits,
    uint32_t timeouts)
{
	assert_int_equal(a->retransmits, retransmits);
	assert_int_equal(a->timeouts, timeouts);
}

/* Each action reports what it added to the counters, once. */
static void
test_action_counts(void **state)
{
	struct xfer x;
	struct xfer_action a;
	struct xfer_params p = params(XFER_READ, 20 * 512, 512, 4);
	uint64_t now = T0;

	xfer_start(&x, &p, now, &a);
	assert_counts(&a, 0, 0);
	send_ack(&x, 4, ++now, &a);
	assert_counts(&a, 0, 0);
	/* An ACK inside the window: the blocks after it go again. */
	send_ack(&x, 5, ++now, &a);
	assert_data(&a, XA_SEND_DATA, 6, 4);
	assert_counts(&a, 3, 0);
	/* A duplicate: nothing. */
	send_ack(&x, 5, ++now, &a);
	assert_counts(&a, 0, 0);
	/* A timeout (the timer, not the held ACK's): the window again. */
	xfer_on_timeout(&x, x.deadline, &a);
	assert_counts(&a, 4, 1);
	assert_int_equal(xfer_status(&x).retransmits, 7);
	assert_int_equal(xfer_status(&x).timeouts, 1);
	/* A failure reports nothing the failed action had counted. */
	xfer_fail(&x, TFTP_EUNDEF, "Read error", -EIO, &a);
	assert_counts(&a, 0, 0);
	assert_int_equal(a.flags, XA_SEND_ERROR | XA_DONE);
	assert_int_equal(xfer_status(&x).retransmits, 7);

	/* Giving up is a timeout that sends nothing again. */
	p.retries = 0;
	xfer_start(&x, &p, now, &a);
	xfer_on_timeout(&x, xfer_deadline(&x), &a);
	assert_int_equal(a.flags, XA_SEND_ERROR | XA_DONE);
	assert_counts(&a, 0, 1);
	xfer_on_timeout(&x, now + 100000, &a);
	assert_counts(&a, 0, 0);

	/* The OACK again. */
	p = params(XFER_WRITE, 0, 512, 1);
	with_oack(&p, true);
	xfer_start(&x, &p, now, &a);
	xfer_on_timeout(&x, xfer_deadline(&x), &a);
	assert_int_equal(a.flags, XA_SEND_OACK | XA_RETRANSMIT);
	assert_counts(&a, 1, 1);
	/* A repeated block: its ACK again; the dally's end is no timeout. */
	send_data(&x, 1, 512, ++now, &a);
	assert_counts(&a, 0, 0);
	send_data(&x, 1, 512, ++now, &a);
	assert_ack(&a, XA_SEND_ACK | XA_RETRANSMIT, 1);
	assert_counts(&a, 1, 0);
	xfer_on_timeout(&x, xfer_deadline(&x), &a);
	assert_ack(&a, XA_SEND_ACK | XA_RETRANSMIT, 1);
	assert_counts(&a, 1, 1);
	send_data(&x, 2, 3, ++now, &a);
	assert_true(xfer_dallying(&x));
	xfer_on_timeout(&x, xfer_deadline(&x), &a);
	assert_int_equal(a.flags, XA_DONE);
	assert_counts(&a, 0, 0);
	assert_int_equal(xfer_status(&x).retransmits, 3);
	assert_int_equal(xfer_status(&x).timeouts, 2);
}

/*
 * The unverified phase: a transfer whose client has not answered yet (its
 * source address may be forged).  UMS is its expiry.
 */
#define UMS		5000

static struct xfer_params
uparams(enum xfer_dir dir, bool oack, uint32_t budget)
{
	struct xfer_params p = params(dir, dir == XFER_READ ? 3 * 512 : 0,
	    512, 1);

	with_oack(&p, oack);
	p.server_timeout_ms = TMO;
	xfer_params_unverified(&p, budget, UMS);
	return p;
}

/* The first packet of the four kinds of start, not yet answered. */
static void
assert_first(const struct xfer *x, const struct xfer_action *a,
    unsigned extra)
{
	if (x->p.opt.acked != 0)
		assert_int_equal(a->flags, XA_SEND_OACK | extra);
	else if (x->p.dir == XFER_READ)
		assert_data(a, XA_SEND_DATA | extra, 1, 1);
	else
		assert_ack(a, XA_SEND_ACK | extra, 0);
}

/*
 * Budget 0 (the default): the first packet goes once, no timer sends it
 * again, and the expiry ends the transfer without an ERROR (which would
 * be one more packet to the forged address).
 */
static void
test_unverified_no_timer_retransmit(void **state)
{
	struct xfer_params p;
	struct xfer x;
	struct xfer_action a;
	int k;

	(void)state;
	for (k = 0; k < 4; k++) {
		p = uparams(k & 1 ? XFER_WRITE : XFER_READ, k & 2, 0);
		xfer_start(&x, &p, T0, &a);
		assert_first(&x, &a, 0);
		assert_false(xfer_verified(&x));
		assert_false(xfer_status(&x).verified);
		assert_int_equal(xfer_deadline(&x), T0 + UMS);
		xfer_on_timeout(&x, T0 + UMS, &a);
		assert_int_equal(a.flags, XA_DONE);
		assert_int_equal(a.result, -ENOTCONN);
		assert_counts(&a, 0, 1);
		assert_int_equal(xfer_status(&x).retransmits, 0);
		assert_dead(&x);
	}
}

/*
 * A budget: that many retransmissions at the server's interval, even
 * when the client asked for a long timeout, then nothing until the
 * expiry.
 */
static void
test_unverified_budget(void **state)
{
	struct xfer_params p;
	struct xfer x;
	struct xfer_action a;
	int k;

	(void)state;
	for (k = 0; k < 4; k++) {
		p = uparams(k & 1 ? XFER_WRITE : XFER_READ, k & 2, 2);
		p.timeout_ms = p.max_timeout_ms = 255000;
		xfer_start(&x, &p, T0, &a);
		assert_first(&x, &a, 0);
		assert_int_equal(xfer_deadline(&x), T0 + TMO);
		xfer_on_timeout(&x, T0 + TMO, &a);
		assert_first(&x, &a, XA_RETRANSMIT);
		assert_counts(&a, 1, 1);
		assert_int_equal(xfer_deadline(&x), T0 + 2 * TMO);
		xfer_on_timeout(&x, T0 + 2 * TMO, &a);
		assert_first(&x, &a, XA_RETRANSMIT);
		/* Spent: the next timer is the expiry. */
		assert_int_equal(xfer_deadline(&x), T0 + UMS);
		xfer_on_timeout(&x, T0 + UMS, &a);
		assert_int_equal(a.flags, XA_DONE);
		assert_int_equal(a.result, -ENOTCONN);
		assert_int_equal(xfer_status(&x).retransmits, 2);
		assert_int_equal(xfer_status(&x).timeouts, 3);
	}

	/* A budget the expiry cuts short: the expiry wins. */
	p = uparams(XFER_READ, false, 3);
	xfer_params_unverified(&p, 3, TMO + TMO / 2);
	xfer_start(&x, &p, T0, &a);
	xfer_on_timeout(&x, T0 + TMO, &a);
	assert_first(&x, &a, XA_RETRANSMIT);
	assert_int_equal(xfer_deadline(&x), T0 + TMO + TMO / 2);
	xfer_on_timeout(&x, T0 + TMO + TMO / 2, &a);
	assert_int_equal(a.flags, XA_DONE);
	assert_int_equal(a.result, -ENOTCONN);
}

/*
 * The client's timeout option governs only once it has answered: before,
 * the server's interval; after, the client's, with the normal retries.
 */
static void
test_unverified_client_timeout_after(void **state)
{
	struct xfer_params p;
	struct xfer x;
	struct xfer_action a;
	uint32_t i;

	(void)state;
	p = uparams(XFER_READ, true, 1);
	p.opt.timeout_ms = 3000;
	p.timeout_ms = p.max_timeout_ms = 3000;
	xfer_start(&x, &p, T0, &a);
	assert_int_equal(xfer_deadline(&x), T0 + TMO);
	send_ack(&x, 0, T0 + 10, &a);
	assert_data(&a, XA_SEND_DATA, 1, 1);
	assert_true(xfer_verified(&x));
	assert_int_equal(xfer_deadline(&x), T0 + 10 + 3000);
	/* Verified: the full retries, each at the client's interval. */
	for (i = 0; i < RETRIES; i++) {
		xfer_on_timeout(&x, xfer_deadline(&x), &a);
		assert_data(&a, XA_SEND_DATA | XA_RETRANSMIT, 1, 1);
		assert_int_equal(xfer_status(&x).interval, 3000);
	}
	xfer_on_timeout(&x, xfer_deadline(&x), &a);
	assert_int_equal(a.flags, XA_SEND_ERROR | XA_DONE);
	assert_int_equal(a.result, -ETIMEDOUT);

	/* An upload is verified by DATA 1, not by anything else. */
	p = uparams(XFER_WRITE, false, 0);
	p.timeout_ms = p.max_timeout_ms = 3000;
	xfer_start(&x, &p, T0, &a);
	send_ack(&x, 0, T0 + 1, &a);	/* nonsense for an upload */
	assert_int_equal(a.flags, XA_SEND_ERROR | XA_DONE);
	xfer_start(&x, &p, T0, &a);
	send_data(&x, 2, 512, T0 + 1, &a);	/* a gap: not an answer */
	assert_false(xfer_verified(&x));
	send_data(&x, 1, 512, T0 + 2, &a);
	assert_true(xfer_verified(&x));
	assert_int_equal(xfer_deadline(&x), T0 + 2 + 3000);
}

/*
 * A repeated request: unverified, the first packet again and the expiry
 * from now; once answered, nothing.
 */
static void
test_unverified_repeat(void **state)
{
	struct xfer_params p;
	struct xfer x;
	struct xfer_action a;
	int k;

	(void)state;
	for (k = 0; k < 4; k++) {
		p = uparams(k & 1 ? XFER_WRITE : XFER_READ, k & 2, 0);
		xfer_start(&x, &p, T0, &a);
		xfer_on_repeat(&x, T0 + 3000, &a);
		assert_first(&x, &a, XA_RETRANSMIT);
		assert_counts(&a, 1, 0);
		assert_int_equal(xfer_deadline(&x), T0 + 3000 + UMS);
		xfer_on_timeout(&x, T0 + 3000 + UMS, &a);
		assert_int_equal(a.result, -ENOTCONN);
	}
	p = uparams(XFER_READ, false, 0);
	xfer_start(&x, &p, T0, &a);
	send_ack(&x, 1, T0 + 1, &a);
	assert_data(&a, XA_SEND_DATA, 2, 1);
	xfer_on_repeat(&x, T0 + 2, &a);
	assert_empty(&a);
	assert_int_equal(xfer_deadline(&x), T0 + 1 + TMO);
}

/* An ICMP error ends an unverified transfer only, without an ERROR. */
static void
test_unverified_unreachable(void **state)
{
	struct xfer_params p;
	struct xfer x;
	struct xfer_action a;

	(void)state;
	p = uparams(XFER_READ, true, 0);
	xfer_start(&x, &p, T0, &a);
	xfer_on_unreachable(&x, -ECONNREFUSED, &a);
	assert_int_equal(a.flags, XA_DONE);
	assert_int_equal(a.result, -ECONNREFUSED);
	assert_dead(&x);

	xfer_start(&x, &p, T0, &a);
	send_ack(&x, 0, T0 + 1, &a);
	xfer_on_unreachable(&x, -ECONNREFUSED, &a);
	assert_empty(&a);
	assert_int_equal(x.state, XS_RUN);

	/* Without the phase (unverified_ms 0) the client counts as heard. */
	p = params(XFER_READ, 100, 512, 1);
	xfer_start(&x, &p, T0, &a);
	assert_true(xfer_verified(&x));
	xfer_on_unreachable(&x, -ECONNREFUSED, &a);
	assert_empty(&a);
	xfer_on_repeat(&x, T0 + 1, &a);
	assert_empty(&a);
	assert_int_equal(xfer_deadline(&x), T0 + TMO);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_sizes),
		cmocka_unit_test(test_read_start_without_oack),
		cmocka_unit_test(test_read_oack_then_ack0),
		cmocka_unit_test(test_read_duplicate_ack),
		cmocka_unit_test(test_read_ack_inside_window),
		cmocka_unit_test(test_read_stale_ack),
		cmocka_unit_test(test_read_reorder_dup_acks),
		cmocka_unit_test(test_read_timeouts_backoff_give_up),
		cmocka_unit_test(test_read_progress_resets_backoff),
		cmocka_unit_test(test_read_fixed_timeout),
		cmocka_unit_test(test_read_wrap),
		cmocka_unit_test(test_read_ack_mapping_across_wrap),
		cmocka_unit_test(test_read_bad_packets),
		cmocka_unit_test(test_read_client_error),
		cmocka_unit_test(test_fail),
		cmocka_unit_test(test_block_len_offset),
		cmocka_unit_test(test_wire_block),
		cmocka_unit_test(test_write_in_order),
		cmocka_unit_test(test_write_window_cadence),
		cmocka_unit_test(test_write_dally),
		cmocka_unit_test(test_write_lost_ack),
		cmocka_unit_test(test_write_gap),
		cmocka_unit_test(test_write_oversize),
		cmocka_unit_test(test_write_bad_packets),
		cmocka_unit_test(test_write_client_error),
		cmocka_unit_test(test_write_oack_retransmit),
		cmocka_unit_test(test_write_timeouts),
		cmocka_unit_test(test_write_wrap),
		cmocka_unit_test(test_write_gap_across_wrap),
		cmocka_unit_test(test_sim_read),
		cmocka_unit_test(test_sim_write),
		cmocka_unit_test(test_habit_one_loss),
		cmocka_unit_test(test_habit_dup_reorder),
		cmocka_unit_test(test_habit_heavy_loss),
		cmocka_unit_test(test_habit_window1),
		cmocka_unit_test(test_params_init),
		cmocka_unit_test(test_accessors),
		cmocka_unit_test(test_action_counts),
		cmocka_unit_test(test_unverified_no_timer_retransmit),
		cmocka_unit_test(test_unverified_budget),
		cmocka_unit_test(test_unverified_client_timeout_after),
		cmocka_unit_test(test_unverified_repeat),
		cmocka_unit_test(test_unverified_unreachable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
