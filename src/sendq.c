/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * Single-port mode's send queue (see sendq.h).  The only sendmmsg()
 * caller for messages with a destination of their own.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "sendq.h"

void
sendq_init(struct sendq *q)
{
	memset(q, 0, sizeof(*q));
	q->fd = -1;
}

bool
sendq_room(const struct sendq *q, int fd, uint32_t n)
{
	if (q->n == 0)
		return n <= SENDQ_MAX;
	return q->fd == fd && q->n + n <= SENDQ_MAX;
}

void
sendq_add(struct sendq *q, int fd, const struct sockaddr *peer,
    socklen_t plen, const struct sockaddr *local, void *buf, size_t len,
    const struct sendq_tag *tag)
{
	struct iovec iov = { .iov_base = buf, .iov_len = len };

	sendq_addv(q, fd, peer, plen, local, &iov, 1, tag);
}

void
sendq_addv(struct sendq *q, int fd, const struct sockaddr *peer,
    socklen_t plen, const struct sockaddr *local, const struct iovec *iov,
    int niov, const struct sendq_tag *tag)
{
	struct msghdr *mh = &q->msg[q->n].msg_hdr;

	q->fd = fd;
	q->iov[q->n] = iov[0];
	*mh = (struct msghdr){
		.msg_name = (void *)peer,
		.msg_namelen = plen,
		.msg_iov = niov == 1 ? &q->iov[q->n] :
		    (struct iovec *)(uintptr_t)iov,
		.msg_iovlen = (size_t)niov,
	};
	sock_msg_control(mh, q->cm[q->n].buf, local, tag->seg);
	q->tag[q->n] = *tag;
	q->err[q->n] = 0;
	q->n++;
}

uint32_t
sendq_flush(struct sendq *q, uint32_t batch)
{
	uint32_t done = 0, calls = 0, i;
	int n;

	if (batch < 1)
		batch = 1;
	while (done < q->n) {
		calls++;
		n = sendmmsg(q->fd, q->msg + done, q->n - done < batch ?
		    q->n - done : batch, 0);
		if (n > 0) {
			done += (uint32_t)n;
			continue;
		}
		if (n == 0 || errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == ENOBUFS) {
			for (i = done; i < q->n; i++)
				q->err[i] = -errno;
			break;
		}
		/* The first message not sent is the one refused. */
		q->err[done++] = -errno;
	}
	return calls;
}

void
sendq_reset(struct sendq *q)
{
	q->n = 0;
	q->fd = -1;
}
