/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * UDP sockets: the listen sockets bound from the configuration, the
 * destination address of a request (IP_PKTINFO / IPV6_RECVPKTINFO), and
 * the per-transfer sockets bound to that address and connected to the
 * client (RFC 1350 transfer identifiers).  Nothing here logs.
 */
#ifndef SOCK_H
#define SOCK_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "config.h"

/* The cmsg buffer a recvmsg() on a listen socket needs. */
#define SOCK_CMSG_SPACE \
	(CMSG_SPACE(sizeof(struct in6_pktinfo)) + \
	 CMSG_SPACE(sizeof(struct in_pktinfo)))

/* Enough for the default wildcards and every configured address. */
#define SOCK_MAX_LISTEN	(CONFIG_MAX_LISTEN + 1)

/*
 * The master's sockets for nworkers workers: every listen address of cfg
 * (none configured: 0.0.0.0:69 and [::]:69, as the family allows; a host
 * without IPv6 just gets the first) bound nworkers times with
 * SO_REUSEPORT, so the kernel spreads clients over the workers (a port 0
 * is resolved by the first copy and reused).
 * With reuse_port off only one set is bound, which the workers share.
 * fds[set * *naddr + i] is address i of set set; fds must hold
 * nworkers * SOCK_MAX_LISTEN.  *nsets is nworkers or 1.  On error
 * nothing stays open and err says "cannot bind ADDR: reason".
 */
int		 sock_listen_sets(const struct tftpd_config *cfg,
		    uint32_t nworkers, int *fds, size_t *naddr,
		    uint32_t *nsets, char *err, size_t errlen);
/*
 * On the first socket of an address's reuseport group of n (set k is
 * worker k's): each client's requests to one worker, by a hash of its
 * address (on), or the kernel's own spreading again (off).
 */
int		 sock_steer(int fd, uint32_t n, bool on);

/*
 * An inherited socket (inetd's fd 0, systemd's LISTEN_FDS): checked to be
 * a bound IPv4/IPv6 UDP socket, then made close-on-exec and non-blocking
 * and told to report destination addresses, as the sockets
 * sock_listen_sets() binds are.  Its address goes to ss.  0 or -ENOTSOCK,
 * -EPROTOTYPE (not UDP), -EAFNOSUPPORT (not IP), -errno.
 */
int		 sock_adopt(int fd, const struct tftpd_config *cfg,
		    struct sockaddr_storage *ss, socklen_t *len);

/* 0.0.0.0 or ::, where a reply's source must be chosen per datagram. */
bool		 sock_is_wildcard(const struct sockaddr *sa);

/*
 * The local address (port 0) a datagram reached, for binding the reply:
 * the listen socket's own address when it is not a wildcard, else what
 * the pktinfo cmsg of msg says.  -ENOENT when there is no usable cmsg.
 */
int		 sock_local_addr(const struct msghdr *msg,
		    const struct sockaddr *bound,
		    struct sockaddr_storage *local, socklen_t *len);

/*
 * A transfer socket: bound to local with port 0, or with a free port of
 * cfg's port_range, and connected to peer, so the kernel drops datagrams
 * from anyone else.  The descriptor or -errno (-EADDRINUSE: range full).
 */
int		 sock_transfer(const struct sockaddr *local, socklen_t llen,
		    const struct sockaddr *peer, socklen_t plen,
		    const struct tftpd_config *cfg);

/* The control buffer of a send: a source address and a GSO segment. */
#define SOCK_SEND_CMSG_SPACE \
	(CMSG_SPACE(sizeof(struct in6_pktinfo)) + CMSG_SPACE(sizeof(uint16_t)))

/*
 * Point msg's control at cbuf (SOCK_SEND_CMSG_SPACE bytes, cmsghdr-aligned)
 * holding local as the source address (NULL: the kernel chooses) and a
 * UDP_SEGMENT of seg bytes (0: none); no control at all when neither.
 */
void		 sock_msg_control(struct msghdr *msg, void *cbuf,
		    const struct sockaddr *local, uint16_t seg);

/* Send buf to peer from the listen socket fd with local as the source. */
int		 sock_send_from(int fd, const void *buf, size_t len,
		    const struct sockaddr *peer, socklen_t plen,
		    const struct sockaddr *local);

/* UDP generic segmentation offload limits (Linux 4.18+). */
#define SOCK_GSO_MAX_SEGS	64	/* the kernel's UDP_MAX_SEGMENTS */
#define SOCK_GSO_MAX_BYTES	65000u	/* payload of one send, v4 and v6 */
#define SOCK_GSO_MAX_SEG	32768u	/* larger: no gain, use sendmmsg */

/*
 * Send the bytes of iov[0 .. niov-1] on the connected socket fd as
 * datagrams of seg bytes each (the last may be shorter) with one
 * sendmsg() carrying a UDP_SEGMENT control message.  The kernel sends
 * all or none: 0 or -errno; -EINVAL, -EIO or -ENOPROTOOPT mean no GSO
 * here, -EFAULT an iovec over memory the kernel could not read (a
 * mapped file that shrank).
 */
int		 sock_send_gso(int fd, const struct iovec *iov, int niov,
		    uint16_t seg);

#endif /* SOCK_H */
