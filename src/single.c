/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * The single-port transport (single_port = yes): every transfer answers
 * from the listen socket its request came to, and a datagram there is
 * told apart by its sender's address (peertab).  What the transfers send
 * is queued (sendq) and leaves in one sendmmsg() per loop turn; what a
 * full socket buffer refuses waits for EPOLLOUT on the listen socket.
 */
#include <errno.h>
#include <string.h>

#include "loop.h"
#include "peertab.h"
#include "proto.h"
#include "sendq.h"
#include "sock.h"
#include "worker_int.h"
#include "xfer.h"

static int	 single_init(struct worker *w);
static void	 single_fini(struct worker *w);
static void	 single_datagram(struct worker *w, struct request *rq);
static void	 single_listen_writable(struct worker *w, uint8_t lis);
static void	 single_want_out(struct worker *w, uint8_t lis, bool on);
static int	 single_begin(struct worker *w, struct transfer *t,
		    const struct request *rq);
static void	 single_end(struct worker *w, struct transfer *t);
static void	 single_send(struct worker *w, struct transfer *t, size_t len);
static void	 single_send_ack(struct worker *w, struct transfer *t,
		    uint16_t block);
static int	 single_send_window(struct worker *w, struct transfer *t,
		    uint64_t first, uint32_t nblk);
static void	 single_flush(struct worker *w);

const struct transport single_transport = {
	/* A datagram may be a DATA of any blksize. */
	.recv_slot = RECV_BUFSZ,
	/*
	 * No socket is shared in this mode (the master sees to it), and
	 * EPOLLOUT must be switchable, which exclusive waits do not allow.
	 */
	.listen_events = EPOLLIN,
	/* A packet of a transfer this worker does not have. */
	.stray_code = TFTP_EBADID,
	.stray_msg = "Unknown transfer ID",
	.retire_ends_all = true,
	.init = single_init,
	.fini = single_fini,
	.datagram = single_datagram,
	.event = NULL,		/* transfers have no socket of their own */
	.listen_writable = single_listen_writable,
	.begin = single_begin,
	.end = single_end,
	.reply = listener_reply,
	.send = single_send,
	.send_ack = single_send_ack,
	.send_window = single_send_window,
	.flush = single_flush,
};

/* The send queue. */
static int
single_init(struct worker *w)
{
	sendq_init(&w->sq);
	return 0;
}

static void
single_fini(struct worker *w)
{
	(void)w;
}

/*
 * A datagram on a listen socket belongs to the transfer of its sender's
 * address, if there is one, else it is a request; a request from the
 * address of a running transfer is a repeat or replaces it, as in every
 * mode (admit.c).
 */
static void
single_datagram(struct worker *w, struct request *rq)
{
	struct transfer *t;
	uint16_t op;

	op = rq->len >= 2 ? (uint16_t)(rq->buf[0] << 8 | rq->buf[1]) : 0;
	if (op == TFTP_RRQ || op == TFTP_WRQ ||
	    (t = tx_by_peer(w, rq)) == NULL) {
		admit(w, rq);
		return;
	}
	transfer_packet(w, t, rq->buf, rq->len);
}

/* Room again in a listen socket's buffer: resume the windows cut short. */
static void
single_listen_writable(struct worker *w, uint8_t lis)
{
	struct transfer *t;
	uint32_t i;

	single_want_out(w, lis, false);
	for (i = 0; i < w->ntx; i++) {
		t = tx_at(w, i);
		if (t->used && t->lis == lis && t->pend_count > 0)
			transfer_resume(w, t);
	}
	single_flush(w);
}

/* EPOLLOUT on listen socket lis, wanted or not (not once retired). */
static void
single_want_out(struct worker *w, uint8_t lis, bool on)
{
	struct listener *l = &w->lis[lis];

	if (l->wantout == on || !w->listening)
		return;
	if (loop_mod(&w->loop, l->fd, on ? EPOLLIN | EPOLLOUT : EPOLLIN,
	    EV_LISTEN | lis) == 0)
		l->wantout = on;
}

/*
 * The transfer answers from the listen socket the request came to, and
 * is found again by the client's address.
 */
static int
single_begin(struct worker *w, struct transfer *t, const struct request *rq)
{
	t->lis = (uint8_t)(rq->l - w->lis);
	t->sock = rq->l->fd;
	/* A socket bound to one address answers from it without a pktinfo. */
	memcpy(&t->local, &rq->local, sizeof(t->local));
	t->locallen = sock_is_wildcard((const struct sockaddr *)&rq->l->addr) ?
	    rq->locallen : 0;
	return 0;
}

/*
 * The listen socket stays.  The transfer's buffer goes back to the pool,
 * so out with what it holds first.
 */
static void
single_end(struct worker *w, struct transfer *t)
{
	if (t->queued)
		single_flush(w);
	t->sock = -1;
}

/* After what the transfer already queued, not before it. */
static void
single_send(struct worker *w, struct transfer *t, size_t len)
{
	if (t->queued)
		single_flush(w);
	listener_send(w, t->sock, len, (const struct sockaddr *)&t->ri.peer,
	    t->ri.peerlen, t->locallen > 0 ?
	    (const struct sockaddr *)&t->local : NULL);
}

/*
 * An upload's ACK: queued from the transfer's own four bytes, so that
 * the ACKs of many clients go out together like the windows do.
 */
static void
single_send_ack(struct worker *w, struct transfer *t, uint16_t block)
{
	struct sendq_tag tag;
	size_t len;

	if (t->queued)
		single_flush(w);
	len = proto_build_ack(t->ackbuf, sizeof(t->ackbuf), block);
	if (len == 0)
		return;
	if (!sendq_room(&w->sq, t->sock, 1))
		single_flush(w);
	tag = (struct sendq_tag){ .slot = t->slot, .gen = t->gen, .npkt = 1 };
	sendq_add(&w->sq, t->sock, (const struct sockaddr *)&t->ri.peer,
	    t->ri.peerlen, t->locallen > 0 ?
	    (const struct sockaddr *)&t->local : NULL, t->ackbuf, len, &tag);
	t->queued = true;
}

/*
 * A window is laid out in the transfer's pool buffer as on the other
 * transport, and queued, one GSO message (or one message per packet) at
 * a time; single_flush() sends it with the other transfers' windows.  A
 * window longer than the buffer holds flushes between its parts, since
 * the buffer is then filled again.
 */
static int
single_send_window(struct worker *w, struct transfer *t, uint64_t first,
    uint32_t nblk)
{
	const struct sockaddr *peer = (const struct sockaddr *)&t->ri.peer;
	const struct sockaddr *local = t->locallen > 0 ?
	    (const struct sockaddr *)&t->local : NULL;
	size_t seg = TFTP_HDR_LEN + xfer_params(&t->x)->opt.blksize, total;
	struct sendq_tag tag;
	uint32_t fit, k, i;
	int r;

	t->pend_count = 0;
	t->win_end = first + nblk;
	if (t->buf == NULL)
		return -ENOBUFS;
	fit = window_fit(seg);
	while (nblk > 0) {
		k = nblk < fit ? nblk : fit;
		if (t->queued) {
			single_flush(w);
			/* The socket buffer filled: EPOLLOUT resumes. */
			if (t->pend_count > 0)
				return 0;
		}
		if ((r = window_fill(w, t, first, k, seg)) < 0)
			return r;
		total = window_gso_total(w, k, seg);
		if (!sendq_room(&w->sq, t->sock, total > 0 ? 1 : k))
			single_flush(w);
		tag = (struct sendq_tag){ .slot = t->slot, .gen = t->gen };
		if (total > 0) {
			tag.first = first;
			tag.npkt = tag.nblk = k;
			tag.bytes = total - (size_t)k * TFTP_HDR_LEN;
			tag.seg = (uint16_t)seg;
			sendq_addv(&w->sq, t->sock, peer, t->ri.peerlen,
			    local, w->wiov, w->wniov, &tag);
		} else {
			for (i = 0; i < k; i++) {
				tag.first = first + i;
				tag.npkt = tag.nblk = 1;
				tag.bytes = w->siov[i].iov_len - TFTP_HDR_LEN;
				sendq_addv(&w->sq, t->sock, peer,
				    t->ri.peerlen, local,
				    w->smsg[i].msg_hdr.msg_iov,
				    (int)w->smsg[i].msg_hdr.msg_iovlen, &tag);
			}
		}
		t->queued = true;
		first += k;
		nblk -= k;
	}
	return 0;
}

/*
 * Send what the transfers queued, and settle the accounts: the counters
 * for what went out; for a window the full socket buffer refused, the
 * rest of that window waits for EPOLLOUT on the listen socket.  A
 * message refused for another reason is lost as on the wire, for the
 * timer to resend; if that reason is a kernel without UDP GSO, later
 * windows go out as a message per packet.
 */
static void
single_flush(struct worker *w)
{
	struct sendq *q = &w->sq;
	const struct sendq_tag *tag;
	struct transfer *t;
	uint32_t i;
	int err;

	if (q->n == 0)
		return;
	count(w, TFTP_SHM_C_SYS_SENDMMSG, sendq_flush(q, w->nbatch));
	for (i = 0; i < q->n; i++) {
		tag = &q->tag[i];
		err = q->err[i];
		t = tx_at(w, tag->slot);
		if (t != NULL && (!t->used || t->gen != tag->gen))
			t = NULL;
		if (t != NULL)
			t->queued = false;
		if (err == 0) {
			/* Datagrams, as on the other paths: a GSO run is
			 * several. */
			count(w, TFTP_SHM_C_MSGS_SENT, tag->npkt);
			count(w, TFTP_SHM_C_PACKETS_SENT, tag->npkt);
			count(w, TFTP_SHM_C_BYTES_SENT, tag->bytes);
			if (tag->seg != 0)
				w->gso = 1;
			continue;
		}
		if (t == NULL || tag->nblk == 0)
			continue;
		/*
		 * EFAULT: the transfer's mapped file lost pages under the
		 * window (it was truncated).  Its windows are read from now
		 * on, starting again with this one as soon as the socket
		 * can take it.
		 */
		if (err == -EFAULT && t->map_tried)
			window_map_fault(w, t);
		if (err == -EAGAIN || err == -ENOBUFS ||
		    (err == -EFAULT && t->map_tried)) {
			if (t->pend_count == 0 && t->win_end > tag->first) {
				t->pend_first = tag->first;
				t->pend_count = (uint32_t)(t->win_end -
				    tag->first);
				single_want_out(w, t->lis, true);
			}
			continue;
		}
		if (tag->seg != 0)
			(void)window_gso_refused(w, err);
	}
	sendq_reset(q);
}
