/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * The connected-socket transport: each transfer has its own UDP socket,
 * bound to the address the request reached and connect()ed to the
 * client, so the kernel drops strangers' packets.  Packets are read from
 * it as they come; a window goes out as one GSO sendmsg(), or sendmmsg(),
 * or send() per packet, and what a full socket buffer refuses waits for
 * EPOLLOUT on that socket.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "loop.h"
#include "proto.h"
#include "sock.h"
#include "util.h"
#include "worker_int.h"
#include "xfer.h"

#define XFER_DRAIN	64		/* packets per transfer, per wakeup */

static int	 conn_init(struct worker *w);
static void	 conn_fini(struct worker *w);
static void	 conn_event(struct worker *w, struct transfer *t,
		    uint32_t events);
static void	 conn_readable(struct worker *w, struct transfer *t);
static void	 conn_writable(struct worker *w, struct transfer *t);
static void	 want_out(struct worker *w, struct transfer *t, bool on);
static int	 conn_begin(struct worker *w, struct transfer *t,
		    const struct request *rq);
static void	 conn_end(struct worker *w, struct transfer *t);
static void	 conn_reply(struct worker *w, const struct request *rq,
		    size_t len);
static void	 conn_send(struct worker *w, struct transfer *t, size_t len);
static void	 conn_send_ack(struct worker *w, struct transfer *t,
		    uint16_t block);
static void	 conn_send_fd(struct worker *w, int fd, size_t len);
static int	 conn_send_window(struct worker *w, struct transfer *t,
		    uint64_t first, uint32_t nblk);
static void	 count_window(struct worker *w, int n);
static int	 send_batch(struct worker *w, struct transfer *t, uint32_t k,
		    size_t seg);
static void	 conn_flush(struct worker *w);

const struct transport conn_transport = {
	.recv_slot = REQ_BUFSZ,
	/* A socket shared by the workers (inetd) wakes only one. */
	.listen_events = EPOLLIN | EPOLLEXCLUSIVE,
	.stray_code = TFTP_EBADOP,
	.stray_msg = "Illegal TFTP operation",
	.retire_ends_all = false,
	.init = conn_init,
	.fini = conn_fini,
	.datagram = admit,
	.event = conn_event,
	.listen_writable = NULL,	/* never asks for EPOLLOUT there */
	.begin = conn_begin,
	.end = conn_end,
	.reply = conn_reply,
	.send = conn_send,
	.send_ack = conn_send_ack,
	.send_window = conn_send_window,
	.flush = conn_flush,
};

/* Transfers' sockets are read into one buffer. */
static int
conn_init(struct worker *w)
{
	w->rbuf = malloc(RECV_BUFSZ);
	return w->rbuf != NULL ? 0 : -ENOMEM;
}

static void
conn_fini(struct worker *w)
{
	free(w->rbuf);
	w->rbuf = NULL;
}

/* Readable: the client's packets; writable: room for a window cut short. */
static void
conn_event(struct worker *w, struct transfer *t, uint32_t events)
{
	uint32_t gen = t->gen;

	if (events & (EPOLLIN | EPOLLERR))
		conn_readable(w, t);
	if (t->used && t->gen == gen && (events & EPOLLOUT))
		conn_writable(w, t);
}

static void
conn_readable(struct worker *w, struct transfer *t)
{
	uint32_t flags, gen = t->gen;
	ssize_t n;
	size_t len;
	int i;

	for (i = 0; i < XFER_DRAIN; i++) {
		/* MSG_TRUNC: the real length, so oversized DATA is seen. */
		count(w, TFTP_SHM_C_SYS_RECVFROM, 1);
		n = recv(t->sock, w->rbuf, RECV_BUFSZ, MSG_TRUNC);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			/*
			 * An ICMP error about an earlier send (a connected
			 * socket reports port and host unreachable).  Before
			 * the client answered it ends the transfer; after,
			 * the retransmission timer decides what it means.
			 */
			if (errno == ECONNREFUSED || errno == EHOSTUNREACH ||
			    errno == ENETUNREACH) {
				transfer_unreachable(w, t, -errno);
				if (!t->used || t->gen != gen)
					return;
				continue;
			}
			return;
		}
		len = (size_t)n < RECV_BUFSZ ? (size_t)n : RECV_BUFSZ;
		count(w, TFTP_SHM_C_MSGS_RECEIVED, 1);
		flags = transfer_packet(w, t, w->rbuf, len);
		if (!t->used || t->gen != gen)
			return;
		/*
		 * A download that just sent a window waits for its ACK: a
		 * read now would almost always find the socket empty, and
		 * the epoll wait it saves is the one we are about to make.
		 * (Only downloads send DATA.)
		 */
		if (flags & XA_SEND_DATA)
			return;
	}
}

static void
conn_writable(struct worker *w, struct transfer *t)
{
	if (t->pend_count == 0) {
		want_out(w, t, false);
		return;
	}
	transfer_resume(w, t);
}

/* EPOLLOUT on the transfer's socket, wanted or not. */
static void
want_out(struct worker *w, struct transfer *t, bool on)
{
	if (t->wantout == on)
		return;
	if (loop_mod(&w->loop, t->sock, on ? EPOLLIN | EPOLLOUT : EPOLLIN,
	    tx_data(t)) == 0)
		t->wantout = on;
}

/* The transfer's own socket, bound to the address the request came to. */
static int
conn_begin(struct worker *w, struct transfer *t, const struct request *rq)
{
	char addr[SOCKADDR_STRLEN];
	int r;

	r = sock_transfer((const struct sockaddr *)&rq->local, rq->locallen,
	    rq->peer, rq->peerlen, &w->cfg);
	if (r < 0) {
		/* EMFILE under a flood: as many as its requests. */
		if (wlog_allow(w, WLOG_SOCKET, rq->peer))
			log_warnx("cannot open a transfer socket for %s: %s",
			    sockaddr_str(rq->peer, addr, sizeof(addr)),
			    strerror(-r));
		return r;
	}
	t->sock = r;
	if ((r = loop_add(&w->loop, t->sock, EPOLLIN, tx_data(t))) < 0) {
		log_warnx("epoll_ctl: %s", strerror(-r));
		return r;
	}
	return 0;
}

/* The socket goes: the table entry may be reused at once. */
static void
conn_end(struct worker *w, struct transfer *t)
{
	if (t->sock < 0)
		return;
	(void)loop_del(&w->loop, t->sock);
	close(t->sock);
	t->sock = -1;
}

/*
 * Refusals come from a fresh socket connected to the client, as a
 * transfer's packets would: the ERROR then carries a new TID like every
 * other answer to a request (tftp-hpa and OpenBSD tftpd do the same), and
 * clients that lock onto the port of the first reply see no difference.
 * Only when no socket can be had (descriptors or ports exhausted) does it
 * go out from the listen socket, its source set from the pktinfo.
 */
static void
conn_reply(struct worker *w, const struct request *rq, size_t len)
{
	int fd;

	fd = sock_transfer((const struct sockaddr *)&rq->local, rq->locallen,
	    rq->peer, rq->peerlen, &w->cfg);
	if (fd < 0) {
		listener_reply(w, rq, len);
		return;
	}
	conn_send_fd(w, fd, len);
	close(fd);
}

static void
conn_send(struct worker *w, struct transfer *t, size_t len)
{
	conn_send_fd(w, t->sock, len);
}

static void
conn_send_ack(struct worker *w, struct transfer *t, uint16_t block)
{
	size_t len = proto_build_ack(w->sbuf, w->sbufsz, block);

	if (len > 0)
		conn_send_fd(w, t->sock, len);
}

/* One packet in sbuf, counted as the send() system call it is. */
static void
conn_send_fd(struct worker *w, int fd, size_t len)
{
	count(w, TFTP_SHM_C_SYS_SENDTO, 1);
	if (send(fd, w->sbuf, len, 0) >= 0) {
		count(w, TFTP_SHM_C_PACKETS_SENT, 1);
		count(w, TFTP_SHM_C_MSGS_SENT, 1);
	}
}

/*
 * Blocks first .. first + count - 1, laid out in the transfer's pool
 * buffer as many at a time as fit (and SOCK_GSO_MAX_SEGS at most), each
 * DATA header followed by its data read into place.  When the socket
 * buffer fills, the rest waits for EPOLLOUT and is read again then; a
 * new window (an ACK, a timeout) replaces whatever was still waiting.
 */
static int
conn_send_window(struct worker *w, struct transfer *t, uint64_t first,
    uint32_t nblk)
{
	size_t seg = TFTP_HDR_LEN + xfer_params(&t->x)->opt.blksize;
	uint32_t fit, k;
	int n, r;

	t->pend_count = 0;
	if (t->buf == NULL)	/* only downloads send data */
		return -ENOBUFS;
	fit = window_fit(seg);
	while (nblk > 0) {
		k = nblk < fit ? nblk : fit;
		if ((r = window_fill(w, t, first, k, seg)) < 0)
			return r;
		n = send_batch(w, t, k, seg);
		if (n < (int)k && errno == EFAULT && t->map != NULL) {
			/*
			 * The mapped file lost pages under the window (it
			 * was truncated): read what was not sent, and every
			 * window after it.
			 */
			window_map_fault(w, t);
			if (n > 0) {
				count_window(w, n);
				first += (uint32_t)n;
				nblk -= (uint32_t)n;
			}
			continue;
		}
		if (n > 0)
			count_window(w, n);
		if (n < (int)k) {
			if (errno == EAGAIN || errno == ENOBUFS) {
				if (n < 0)
					n = 0;
				t->pend_first = first + (uint32_t)n;
				t->pend_count = nblk - (uint32_t)n;
				want_out(w, t, true);
				return 0;
			}
			/*
			 * Anything else (EPERM from a local firewall rule,
			 * ECONNREFUSED after an ICMP error) costs the one
			 * datagram that failed, as loss on the wire would:
			 * the rest of the window still goes out and the timer
			 * resends what was lost.
			 */
			k = (n > 0 ? (uint32_t)n : 0) + 1;
		}
		first += k;
		nblk -= k;
	}
	want_out(w, t, false);
	return 0;
}

/* The first n packets of the window went out. */
static void
count_window(struct worker *w, int n)
{
	uint64_t bytes = 0;
	int i;

	count(w, TFTP_SHM_C_MSGS_SENT, (uint64_t)n);
	count(w, TFTP_SHM_C_PACKETS_SENT, (uint64_t)n);
	for (i = 0; i < n; i++)
		bytes += w->siov[i].iov_len - TFTP_HDR_LEN;
	count(w, TFTP_SHM_C_BYTES_SENT, bytes);
}

/*
 * Send the packets window_fill() made: several with one GSO sendmsg()
 * when they are all seg bytes but the last, else sendmmsg() (or a
 * sendmsg() each, as configured).  The number sent, or -1 with errno
 * set when none was.
 */
static int
send_batch(struct worker *w, struct transfer *t, uint32_t k, size_t seg)
{
	size_t total;
	uint32_t done;
	int n, r;

	if ((total = window_gso_total(w, k, seg)) > 0) {
		count(w, TFTP_SHM_C_SYS_SENDMSG, 1);
		r = sock_send_gso(t->sock, w->wiov, w->wniov, (uint16_t)seg);
		if (r == 0) {
			w->gso = 1;
			return (int)k;
		}
		if (!window_gso_refused(w, r)) {
			errno = -r;
			return -1;
		}
	}
	for (done = 0; done < k; done += (uint32_t)n) {
		if (k - done == 1 || w->nbatch == 1) {
			count(w, TFTP_SHM_C_SYS_SENDTO, 1);
			n = sendmsg(t->sock, &w->smsg[done].msg_hdr, 0) < 0 ?
			    -1 : 1;
		} else {
			count(w, TFTP_SHM_C_SYS_SENDMMSG, 1);
			n = sendmmsg(t->sock, w->smsg + done, k - done <
			    w->nbatch ? k - done : w->nbatch, 0);
		}
		if (n <= 0)
			return done > 0 ? (int)done : -1;
	}
	return (int)k;
}

/* Sends go out as they are made: nothing waits for the end of a turn. */
static void
conn_flush(struct worker *w)
{
	(void)w;
}
