/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * A worker's listen sockets, as the master handed them down (where they
 * come from is the master's listenfds.c): requests (and, in single-port
 * mode, every packet of every transfer) are read there in recvmmsg
 * batches and handed to the transport; answers that have no transfer
 * socket leave from there.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include "log.h"
#include "loop.h"
#include "sock.h"
#include "worker.h"
#include "worker_int.h"

#define LISTEN_DRAIN	4		/* batches per listener, per wakeup */

/*
 * The recvmmsg batch: max_batch_size messages (1: recvmsg) of the
 * transport's datagram size, the buffers reserved, not committed.
 */
int
listener_alloc(struct worker *w)
{
	const struct tftpd_config *cfg = &w->cfg;

	w->nq = cfg->enable_recvmmsg && cfg->max_batch_size > 1 ?
	    cfg->max_batch_size : 1;
	w->qslot = w->tp->recv_slot;
	w->qbuf_len = (size_t)w->nq * w->qslot;
	w->qbuf = mmap(NULL, w->qbuf_len, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (w->qbuf == MAP_FAILED) {
		w->qbuf = NULL;
		return -ENOMEM;
	}
	w->qmsg = calloc(w->nq, sizeof(*w->qmsg));
	w->qiov = calloc(w->nq, sizeof(*w->qiov));
	w->qpeer = calloc(w->nq, sizeof(*w->qpeer));
	w->qcmsg = calloc(w->nq, SOCK_CMSG_SPACE);
	if (w->qmsg == NULL || w->qiov == NULL || w->qpeer == NULL ||
	    w->qcmsg == NULL)
		return -ENOMEM;
	return 0;
}

void
listener_free(struct worker *w)
{
	if (w->qbuf != NULL)
		(void)munmap(w->qbuf, w->qbuf_len);
	free(w->qmsg);
	free(w->qiov);
	free(w->qpeer);
	free(w->qcmsg);
}

/*
 * The inherited listen sockets, into the loop as the transport wants
 * them polled.  0, or -errno (logged).
 */
int
listener_start(struct worker *w, uint32_t nfds)
{
	struct listener *l;
	uint32_t i;
	int r;

	for (i = 0; i < nfds; i++) {
		l = &w->lis[i];
		l->fd = WORKER_FD_LISTEN + (int)i;
		l->len = sizeof(l->addr);
		if (getsockname(l->fd, (struct sockaddr *)&l->addr,
		    &l->len) < 0) {
			r = -errno;
			log_warn("getsockname");
			return r;
		}
		if ((r = loop_add(&w->loop, l->fd, w->tp->listen_events,
		    EV_LISTEN | i)) < 0) {
			log_warnx("epoll_ctl: %s", strerror(-r));
			return r;
		}
	}
	w->nlis = nfds;
	w->listening = true;
	return 0;
}

/* Readable: up to LISTEN_DRAIN batches, each datagram to the transport. */
void
listener_readable(struct worker *w, struct listener *l)
{
	struct request rq;
	struct msghdr *mh;
	uint32_t i;
	int n, round, r;
	ssize_t len;

	for (round = 0; round < LISTEN_DRAIN; round++) {
		for (i = 0; i < w->nq; i++) {
			mh = &w->qmsg[i].msg_hdr;
			w->qiov[i].iov_base = w->qbuf + (size_t)i * w->qslot;
			w->qiov[i].iov_len = w->qslot;
			*mh = (struct msghdr){
				.msg_name = &w->qpeer[i],
				.msg_namelen = sizeof(w->qpeer[i]),
				.msg_iov = &w->qiov[i],
				.msg_iovlen = 1,
				.msg_control = w->qcmsg +
				    (size_t)i * SOCK_CMSG_SPACE,
				.msg_controllen = SOCK_CMSG_SPACE,
			};
		}
		if (w->nq > 1) {
			count(w, TFTP_SHM_C_SYS_RECVMMSG, 1);
			n = recvmmsg(l->fd, w->qmsg, w->nq, MSG_DONTWAIT, NULL);
		} else {
			count(w, TFTP_SHM_C_SYS_RECVMSG, 1);
			len = recvmsg(l->fd, &w->qmsg[0].msg_hdr, MSG_DONTWAIT);
			if (len >= 0)
				w->qmsg[0].msg_len = (unsigned)len;
			n = len < 0 ? -1 : 1;
		}
		if (n < 0) {
			/* (An ICMP error a client caused, say.) */
			r = errno;
			if (r != EAGAIN && r != EINTR &&
			    wlog_allow(w, WLOG_RECV, NULL))
				log_debug("recvmsg on a listen socket: %s",
				    strerror(r));
			return;
		}
		count(w, TFTP_SHM_C_MSGS_RECEIVED, (uint64_t)n);
		for (i = 0; i < (uint32_t)n; i++) {
			mh = &w->qmsg[i].msg_hdr;
			rq = (struct request){
				.l = l,
				.msg = mh,
				.buf = w->qiov[i].iov_base,
				.len = w->qmsg[i].msg_len,
				.truncated = (mh->msg_flags & MSG_TRUNC) != 0,
				.peer = (const struct sockaddr *)&w->qpeer[i],
				.peerlen = mh->msg_namelen,
			};
			w->tp->datagram(w, &rq);
		}
		if ((uint32_t)n < w->nq)
			return;
	}
}

/* A packet in sbuf from listen socket fd, as one sendmsg(). */
void
listener_send(struct worker *w, int fd, size_t len, const struct sockaddr *peer,
    socklen_t peerlen, const struct sockaddr *local)
{
	count(w, TFTP_SHM_C_SYS_SENDMSG, 1);
	if (sock_send_from(fd, w->sbuf, len, peer, peerlen, local) == 0) {
		count(w, TFTP_SHM_C_PACKETS_SENT, 1);
		count(w, TFTP_SHM_C_MSGS_SENT, 1);
	}
}

/* An answer to rq from the listen socket it came to, from the address
 * it was sent to. */
void
listener_reply(struct worker *w, const struct request *rq, size_t len)
{
	listener_send(w, rq->l->fd, len, rq->peer, rq->peerlen,
	    rq->locallen > 0 ? (const struct sockaddr *)&rq->local : NULL);
}

/*
 * Retiring: the replacement worker reads these sockets now.  Where the
 * transfers do not send from them (not single_port), this worker's
 * copies are closed too: a replacement has the master's, and a worker
 * whose master died (it retires on PR_SET_PDEATHSIG) must not keep the
 * port, which the next master's start would find taken, nor queue a
 * share of the next generation's requests in sockets no one reads.
 */
void
listener_stop(struct worker *w)
{
	size_t i;

	if (!w->listening)
		return;
	for (i = 0; i < w->nlis; i++) {
		(void)loop_del(&w->loop, w->lis[i].fd);
		if (!w->tp->retire_ends_all && w->lis[i].fd >= 0) {
			(void)close(w->lis[i].fd);
			w->lis[i].fd = -1;
		}
	}
	w->listening = false;
}
