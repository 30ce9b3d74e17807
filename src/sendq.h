/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * Single-port mode's send queue: the datagrams (or GSO runs of them) that
 * many transfers want to send from one listen socket, gathered while a
 * batch of ACKs is worked through and sent with one sendmmsg().  Each
 * message carries its own destination and control messages (source
 * address, UDP_SEGMENT), and a tag saying whose it is, so that the caller
 * can account for what was sent and resume what the kernel refused.
 */
#ifndef SENDQ_H
#define SENDQ_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "sock.h"

#define SENDQ_MAX	64	/* messages gathered before a flush */

struct sendq_tag {
	uint32_t	 slot;		/* the transfer */
	uint32_t	 gen;
	uint64_t	 first;		/* its first DATA block */
	uint32_t	 npkt;		/* datagrams: > 1 with GSO */
	uint32_t	 nblk;		/* DATA blocks (0: an ACK) */
	uint64_t	 bytes;		/* DATA payload */
	uint16_t	 seg;		/* GSO segment, or 0 */
};

struct sendq {
	int		 fd;		/* all messages go out on it */
	uint32_t	 n;
	struct mmsghdr	 msg[SENDQ_MAX];
	struct iovec	 iov[SENDQ_MAX];
	union {
		char		 buf[SOCK_SEND_CMSG_SPACE];
		struct cmsghdr	 align;
	}		 cm[SENDQ_MAX];
	struct sendq_tag tag[SENDQ_MAX];
	int		 err[SENDQ_MAX];	/* after a flush: 0 or -errno */
};

void		 sendq_init(struct sendq *q);
/* Can n more messages for fd be queued, or must the queue go first? */
bool		 sendq_room(const struct sendq *q, int fd, uint32_t n);
/*
 * Queue len bytes at buf for peer (both must stay put until the flush),
 * from local (NULL: the kernel picks the source), as datagrams of seg
 * bytes (0: one datagram).  The caller checked sendq_room().
 */
void		 sendq_add(struct sendq *q, int fd, const struct sockaddr *peer,
		    socklen_t plen, const struct sockaddr *local, void *buf,
		    size_t len, const struct sendq_tag *tag);
/*
 * The same for the bytes of iov[0 .. niov-1]: one iovec is copied, the
 * array of several must stay put until the flush like the bytes.
 */
void		 sendq_addv(struct sendq *q, int fd, const struct sockaddr *peer,
		    socklen_t plen, const struct sockaddr *local,
		    const struct iovec *iov, int niov,
		    const struct sendq_tag *tag);
/*
 * Send what is queued, in order, with as few sendmmsg() calls as the
 * kernel allows.  A message refused for a full socket buffer (EAGAIN,
 * ENOBUFS) stops the flush: it and every later one get that error.  Any
 * other refusal (a firewall's EPERM, an ICMP error's ECONNREFUSED) costs
 * only that message, as loss on the wire would.  At most batch messages
 * go to one sendmmsg() (1: a system call per message).  err[] and tag[] stay
 * readable until sendq_reset().  Returns the sendmmsg() calls made.
 */
uint32_t	 sendq_flush(struct sendq *q, uint32_t batch);
void		 sendq_reset(struct sendq *q);

#endif /* SENDQ_H */
