/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * Socket setup for the daemon: binding the configured listen addresses
 * with their options, reading the destination address of a request from
 * its pktinfo control message, and creating the connected per-transfer
 * sockets that give every transfer its own TID.  Callers log; this file
 * returns -errno.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sock.h"
#include "util.h"

#ifndef SOL_UDP
#define SOL_UDP		17
#endif
#ifndef UDP_SEGMENT
#define UDP_SEGMENT	103	/* linux/udp.h */
#endif

static int	 set_int(int fd, int level, int name, int value);
static int	 set_buffers(int fd, const struct tftpd_config *cfg);
static int	 sock_listen(const struct listen_addr *la,
		    const struct tftpd_config *cfg);
static int	 family_wanted(const struct tftpd_config *cfg, int af);
static int	 bind_port(int fd, const struct sockaddr *local,
		    socklen_t llen, const struct tftpd_config *cfg);
static size_t	 listen_list(const struct tftpd_config *cfg,
		    struct listen_addr *out);

static int
set_int(int fd, int level, int name, int value)
{
	if (setsockopt(fd, level, name, &value, sizeof(value)) < 0)
		return -errno;
	return 0;
}

/*
 * The kernel caps the sizes at net.core.[rw]mem_max; asking for more is
 * not an error, so neither is a refusal here.
 */
static int
set_buffers(int fd, const struct tftpd_config *cfg)
{
	if (cfg->recv_buffer_kb != 0)
		(void)set_int(fd, SOL_SOCKET, SO_RCVBUF,
		    (int)(cfg->recv_buffer_kb > INT32_MAX / 1024 ?
		    INT32_MAX : cfg->recv_buffer_kb * 1024));
	if (cfg->send_buffer_kb != 0)
		(void)set_int(fd, SOL_SOCKET, SO_SNDBUF,
		    (int)(cfg->send_buffer_kb > INT32_MAX / 1024 ?
		    INT32_MAX : cfg->send_buffer_kb * 1024));
	return 0;
}

/*
 * One listen socket on la: non-blocking, close-on-exec, SO_REUSEADDR and
 * SO_REUSEPORT as configured, buffer sizes from the *_kb keys, IPv6 only
 * on v6, destination-address reporting on.  The descriptor or -errno.
 * The family is read as the sockaddr_storage it was written as: read
 * through a struct sockaddr pointer, the compiler may (strict aliasing)
 * load it before the caller's copy into la, once this is inlined.
 */
static int
sock_listen(const struct listen_addr *la, const struct tftpd_config *cfg)
{
	int af = la->ss.ss_family, fd, r;

	fd = socket(af, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (cfg->reuse_address &&
	    (r = set_int(fd, SOL_SOCKET, SO_REUSEADDR, 1)) < 0)
		goto out_close;
	if (cfg->reuse_port &&
	    (r = set_int(fd, SOL_SOCKET, SO_REUSEPORT, 1)) < 0)
		goto out_close;
	set_buffers(fd, cfg);
	if (af == AF_INET6) {
		if ((r = set_int(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1)) < 0 ||
		    (r = set_int(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1)) < 0)
			goto out_close;
	} else if ((r = set_int(fd, IPPROTO_IP, IP_PKTINFO, 1)) < 0) {
		goto out_close;
	}
	if (bind(fd, (const struct sockaddr *)&la->ss, la->len) < 0) {
		r = -errno;
		goto out_close;
	}
	return fd;

out_close:
	close(fd);
	return r;
}

/*
 * Whether anyone else already has la's address and port: a socket bound
 * there without SO_REUSEPORT (nor SO_REUSEADDR) fails with EADDRINUSE
 * while any socket covers it, whoever owns it.  Asked before the set is
 * bound, since SO_REUSEPORT would let a second server of the same uid
 * join the group silently and take a share of the requests.  0, or
 * -errno (-EADDRINUSE: taken).
 */
static int
sock_probe(const struct listen_addr *la)
{
	int af = la->ss.ss_family, fd, r = 0;

	fd = socket(af, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (af == AF_INET6)
		r = set_int(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1);
	if (r == 0 && bind(fd, (const struct sockaddr *)&la->ss, la->len) < 0)
		r = -errno;
	close(fd);
	return r;
}

static int
family_wanted(const struct tftpd_config *cfg, int af)
{
	if (cfg->family == FAMILY_IPV4)
		return af == AF_INET;
	if (cfg->family == FAMILY_IPV6)
		return af == AF_INET6;
	return 1;
}

/*
 * The addresses to bind, in order: the configured ones of the wanted
 * family, or the default wildcard pair.  out holds SOCK_MAX_LISTEN.
 */
static size_t
listen_list(const struct tftpd_config *cfg, struct listen_addr *out)
{
	struct sockaddr_in *sin;
	struct sockaddr_in6 *sin6;
	size_t i, n = 0;

	memset(out, 0, SOCK_MAX_LISTEN * sizeof(*out));
	if (cfg->nlisten == 0) {
		if (family_wanted(cfg, AF_INET)) {
			sin = (struct sockaddr_in *)&out[n].ss;
			sin->sin_family = AF_INET;
			sin->sin_port = htons(69);
			sin->sin_addr.s_addr = htonl(INADDR_ANY);
			out[n++].len = sizeof(*sin);
		}
		if (family_wanted(cfg, AF_INET6)) {
			sin6 = (struct sockaddr_in6 *)&out[n].ss;
			sin6->sin6_family = AF_INET6;
			sin6->sin6_port = htons(69);
			sin6->sin6_addr = in6addr_any;
			out[n++].len = sizeof(*sin6);
		}
		return n;
	}
	for (i = 0; i < cfg->nlisten && i < CONFIG_MAX_LISTEN &&
	    n < SOCK_MAX_LISTEN; i++)
		if (family_wanted(cfg, cfg->listen[i].ss.ss_family))
			out[n++] = cfg->listen[i];
	return n;
}

/*
 * Steer each client's requests to one worker: a classic BPF program on
 * the reuseport group of an address (the sockets of set k are worker
 * k's, added to the group in set order) picks socket hash(source) % n.
 * The source is the IPv4 address or the IPv6 /64, the client of
 * admit.c's per-client limits (climit.h), which then count every
 * request of a client in one place without shared counters.  The
 * program reads the network header below the UDP payload it is given
 * (SKF_NET_OFF); an index the kernel cannot use falls back to its own
 * hash.  A v6only socket sees no IPv4 clients.  on false: detached, the
 * kernel's hash of address and port again.
 */
int
sock_steer(int fd, uint32_t n, bool on)
{
	struct sock_filter v4[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (uint32_t)SKF_NET_OFF + 12),
		BPF_STMT(BPF_MISC | BPF_TAX, 0),
		BPF_STMT(BPF_ALU | BPF_RSH | BPF_K, 16),
		BPF_STMT(BPF_ALU | BPF_XOR | BPF_X, 0),
		BPF_STMT(BPF_MISC | BPF_TAX, 0),
		BPF_STMT(BPF_ALU | BPF_RSH | BPF_K, 8),
		BPF_STMT(BPF_ALU | BPF_XOR | BPF_X, 0),
		BPF_STMT(BPF_ALU | BPF_MOD | BPF_K, n),
		BPF_STMT(BPF_RET | BPF_A, 0),
	};
	struct sock_filter v6[] = {
		/* The /64: the source's first two words, folded. */
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (uint32_t)SKF_NET_OFF + 8),
		BPF_STMT(BPF_MISC | BPF_TAX, 0),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (uint32_t)SKF_NET_OFF + 12),
		BPF_STMT(BPF_ALU | BPF_XOR | BPF_X, 0),
		BPF_STMT(BPF_MISC | BPF_TAX, 0),
		BPF_STMT(BPF_ALU | BPF_RSH | BPF_K, 16),
		BPF_STMT(BPF_ALU | BPF_XOR | BPF_X, 0),
		BPF_STMT(BPF_MISC | BPF_TAX, 0),
		BPF_STMT(BPF_ALU | BPF_RSH | BPF_K, 8),
		BPF_STMT(BPF_ALU | BPF_XOR | BPF_X, 0),
		BPF_STMT(BPF_ALU | BPF_MOD | BPF_K, n),
		BPF_STMT(BPF_RET | BPF_A, 0),
	};
	struct sock_fprog prog;
	socklen_t len = sizeof(int);
	int family = 0, off = 0;

	if (!on) {
		/* None attached (ENOENT) is what was wanted. */
		if (setsockopt(fd, SOL_SOCKET, SO_DETACH_REUSEPORT_BPF, &off,
		    sizeof(off)) < 0 && errno != ENOENT)
			return -errno;
		return 0;
	}
	if (n == 0)
		return -EINVAL;
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &family, &len) < 0)
		return -errno;
	prog = (struct sock_fprog){
		.len = (unsigned short)(family == AF_INET6 ?
		    sizeof(v6) / sizeof(v6[0]) : sizeof(v4) / sizeof(v4[0])),
		.filter = family == AF_INET6 ? v6 : v4,
	};

	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &prog,
	    sizeof(prog)) < 0)
		return -errno;
	return 0;
}

int
sock_listen_sets(const struct tftpd_config *cfg, uint32_t nworkers,
    int *fds, size_t *naddr, uint32_t *nsets, char *err, size_t errlen)
{
	struct listen_addr list[SOCK_MAX_LISTEN];
	struct sockaddr_storage bound;
	socklen_t blen;
	char addr[SOCKADDR_STRLEN];
	size_t i, n, nopen = 0, nbound = 0;
	uint32_t set, sets;
	int fd, r;

	*naddr = 0;
	*nsets = 0;
	sets = cfg->reuse_port && nworkers > 1 ? nworkers : 1;
	n = listen_list(cfg, list);

	for (i = 0; i < n; i++) {
		for (set = 0; set < sets; set++) {
			if (set == 0 && sockaddr_port((const struct sockaddr *)
			    &list[i].ss) != 0 &&
			    sock_probe(&list[i]) == -EADDRINUSE) {
				snprintf(err, errlen, "cannot bind %s: address "
				    "in use: another process serves it "
				    "(another instance, whatever its name, "
				    "or another server)",
				    sockaddr_str((const struct sockaddr *)
				    &list[i].ss, addr, sizeof(addr)));
				r = -EADDRINUSE;
				goto out_close;
			}
			fd = sock_listen(&list[i], cfg);
			/* The default pair on a host without IPv6. */
			if (fd == -EAFNOSUPPORT && set == 0 &&
			    cfg->nlisten == 0 && cfg->family == FAMILY_ANY &&
			    nbound > 0)
				break;
			if (fd < 0) {
				r = fd;
				snprintf(err, errlen, "cannot bind %s: %s",
				    sockaddr_str((const struct sockaddr *)
				    &list[i].ss, addr, sizeof(addr)),
				    strerror(-r));
				goto out_close;
			}
			/* Slot of address nbound in this set. */
			fds[set * SOCK_MAX_LISTEN + nbound] = fd;
			nopen++;
			/* Port 0: every copy takes the port the first got. */
			if (set == 0 && sockaddr_port((const struct sockaddr *)
			    &list[i].ss) == 0) {
				blen = sizeof(bound);
				if (getsockname(fd, (struct sockaddr *)&bound,
				    &blen) < 0) {
					r = -errno;
					snprintf(err, errlen, "getsockname: "
					    "%s", strerror(-r));
					goto out_close;
				}
				memcpy(&list[i].ss, &bound, blen);
				list[i].len = blen;
			}
		}
		if (set == sets)
			nbound++;
	}
	if (nbound == 0) {
		snprintf(err, errlen, "no listen address for the configured "
		    "address family");
		return -EADDRNOTAVAIL;
	}
	/* Pack the sets: set s starts at s * nbound. */
	for (set = 0; set < sets; set++)
		for (i = 0; i < nbound; i++)
			fds[set * nbound + i] = fds[set * SOCK_MAX_LISTEN + i];
	*naddr = nbound;
	*nsets = sets;
	return 0;

out_close:
	/* Sets were filled address by address: address i of every set
	 * before address i + 1. */
	for (i = 0; i < nopen; i++)
		close(fds[(i % sets) * SOCK_MAX_LISTEN + i / sets]);
	return r;
}

int
sock_adopt(int fd, const struct tftpd_config *cfg,
    struct sockaddr_storage *ss, socklen_t *len)
{
	int type = 0, proto = 0, flags, r;
	socklen_t olen;

	olen = sizeof(type);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &olen) < 0)
		return -errno;
	olen = sizeof(proto);
	if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &olen) < 0)
		return -errno;
	if (type != SOCK_DGRAM || proto != IPPROTO_UDP)
		return -EPROTOTYPE;
	*len = sizeof(*ss);
	memset(ss, 0, sizeof(*ss));
	if (getsockname(fd, (struct sockaddr *)ss, len) < 0)
		return -errno;
	if (ss->ss_family != AF_INET && ss->ss_family != AF_INET6)
		return -EAFNOSUPPORT;
	if ((flags = fcntl(fd, F_GETFD)) < 0 ||
	    fcntl(fd, F_SETFD, flags | FD_CLOEXEC) < 0)
		return -errno;
	if ((flags = fcntl(fd, F_GETFL)) < 0 ||
	    fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
		return -errno;
	set_buffers(fd, cfg);
	if (ss->ss_family == AF_INET6)
		r = set_int(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1);
	else
		r = set_int(fd, IPPROTO_IP, IP_PKTINFO, 1);
	return r;
}

bool
sock_is_wildcard(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return ((const struct sockaddr_in *)sa)->sin_addr.s_addr ==
		    htonl(INADDR_ANY);
	return sa->sa_family == AF_INET6 && IN6_IS_ADDR_UNSPECIFIED(
	    &((const struct sockaddr_in6 *)sa)->sin6_addr);
}

int
sock_local_addr(const struct msghdr *msg, const struct sockaddr *bound,
    struct sockaddr_storage *local, socklen_t *len)
{
	const struct sockaddr_in *bsin = (const struct sockaddr_in *)bound;
	const struct sockaddr_in6 *bsin6 = (const struct sockaddr_in6 *)bound;
	struct sockaddr_in *sin = (struct sockaddr_in *)local;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)local;
	struct in_pktinfo pi;
	struct in6_pktinfo pi6;
	struct cmsghdr *c;

	memset(local, 0, sizeof(*local));
	if (bound->sa_family == AF_INET) {
		*sin = *bsin;
		sin->sin_port = 0;
		*len = sizeof(*sin);
		if (!sock_is_wildcard(bound))
			return 0;
	} else {
		*sin6 = *bsin6;
		sin6->sin6_port = 0;
		*len = sizeof(*sin6);
		if (!sock_is_wildcard(bound))
			return 0;
	}

	for (c = CMSG_FIRSTHDR((struct msghdr *)msg); c != NULL;
	    c = CMSG_NXTHDR((struct msghdr *)msg, c)) {
		if (bound->sa_family == AF_INET &&
		    c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO &&
		    c->cmsg_len >= CMSG_LEN(sizeof(pi))) {
			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			/*
			 * ipi_spec_dst is the destination for unicast and a
			 * local address of the interface for a broadcast,
			 * which must not be the reply's source.
			 */
			sin->sin_addr = pi.ipi_spec_dst;
			return 0;
		}
		if (bound->sa_family == AF_INET6 &&
		    c->cmsg_level == IPPROTO_IPV6 &&
		    c->cmsg_type == IPV6_PKTINFO &&
		    c->cmsg_len >= CMSG_LEN(sizeof(pi6))) {
			memcpy(&pi6, CMSG_DATA(c), sizeof(pi6));
			if (IN6_IS_ADDR_MULTICAST(&pi6.ipi6_addr))
				return 0;	/* the kernel picks a source */
			sin6->sin6_addr = pi6.ipi6_addr;
			if (IN6_IS_ADDR_LINKLOCAL(&pi6.ipi6_addr))
				sin6->sin6_scope_id = pi6.ipi6_ifindex;
			return 0;
		}
	}
	return -ENOENT;
}

/* A random start in the range, then every port once. */
static int
bind_port(int fd, const struct sockaddr *local, socklen_t llen,
    const struct tftpd_config *cfg)
{
	struct sockaddr_storage ss;
	uint32_t span, start, i, rnd = 0;
	uint16_t port;

	memcpy(&ss, local, llen);
	if (cfg->port_min == 0 || cfg->port_max < cfg->port_min) {
		if (bind(fd, (struct sockaddr *)&ss, llen) < 0)
			return -errno;
		return 0;
	}
	span = (uint32_t)cfg->port_max - cfg->port_min + 1;
	if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != sizeof(rnd))
		rnd = (uint32_t)getpid() ^ (uint32_t)time_now_ms();
	start = rnd % span;
	for (i = 0; i < span; i++) {
		port = (uint16_t)(cfg->port_min + (start + i) % span);
		if (ss.ss_family == AF_INET6)
			((struct sockaddr_in6 *)&ss)->sin6_port = htons(port);
		else
			((struct sockaddr_in *)&ss)->sin_port = htons(port);
		if (bind(fd, (struct sockaddr *)&ss, llen) == 0)
			return 0;
		if (errno != EADDRINUSE && errno != EACCES)
			return -errno;
	}
	return -EADDRINUSE;
}

int
sock_transfer(const struct sockaddr *local, socklen_t llen,
    const struct sockaddr *peer, socklen_t plen,
    const struct tftpd_config *cfg)
{
	int fd, r;

	fd = socket(local->sa_family, SOCK_DGRAM | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	set_buffers(fd, cfg);
	/*
	 * A request to a dual-stack socket (systemd's ListenDatagram=69,
	 * inetd's udp6) comes from a v4-mapped address: its reply socket
	 * must accept those.
	 */
	if (local->sa_family == AF_INET6 &&
	    !IN6_IS_ADDR_V4MAPPED(
	    &((const struct sockaddr_in6 *)local)->sin6_addr) &&
	    (r = set_int(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1)) < 0)
		goto out_close;
	if ((r = bind_port(fd, local, llen, cfg)) < 0)
		goto out_close;
	if (connect(fd, peer, plen) < 0) {
		r = -errno;
		goto out_close;
	}
	return fd;

out_close:
	close(fd);
	return r;
}

/* One control message at c; the space it takes. */
static size_t
cmsg_put(struct cmsghdr *c, int level, int type, const void *data,
    size_t len)
{
	c->cmsg_level = level;
	c->cmsg_type = type;
	c->cmsg_len = CMSG_LEN(len);
	memcpy(CMSG_DATA(c), data, len);
	return CMSG_SPACE(len);
}

/*
 * The control messages of a send: the source address when local is
 * given (IP_PKTINFO / IPV6_PKTINFO), and UDP_SEGMENT when seg is not 0.
 */
void
sock_msg_control(struct msghdr *msg, void *cbuf, const struct sockaddr *local,
    uint16_t seg)
{
	struct in_pktinfo pi;
	struct in6_pktinfo pi6;
	char *p = cbuf;
	size_t len = 0;

	memset(cbuf, 0, SOCK_SEND_CMSG_SPACE);
	if (local != NULL && local->sa_family == AF_INET) {
		memset(&pi, 0, sizeof(pi));
		pi.ipi_spec_dst = ((const struct sockaddr_in *)local)->sin_addr;
		len += cmsg_put((struct cmsghdr *)(void *)p, IPPROTO_IP,
		    IP_PKTINFO, &pi, sizeof(pi));
	} else if (local != NULL && local->sa_family == AF_INET6) {
		memset(&pi6, 0, sizeof(pi6));
		pi6.ipi6_addr = ((const struct sockaddr_in6 *)local)->sin6_addr;
		pi6.ipi6_ifindex =
		    ((const struct sockaddr_in6 *)local)->sin6_scope_id;
		len += cmsg_put((struct cmsghdr *)(void *)p, IPPROTO_IPV6,
		    IPV6_PKTINFO, &pi6, sizeof(pi6));
	}
	if (seg != 0)
		len += cmsg_put((struct cmsghdr *)(void *)(p + len), SOL_UDP,
		    UDP_SEGMENT, &seg, sizeof(seg));
	msg->msg_control = len > 0 ? cbuf : NULL;
	msg->msg_controllen = len;
}

/*
 * One sendmsg() of iov[0 .. niov-1] with the control messages of
 * sock_msg_control().
 */
static int
send_msgv(int fd, const struct iovec *iov, int niov,
    const struct sockaddr *peer, socklen_t plen,
    const struct sockaddr *local, uint16_t seg)
{
	union {
		char buf[SOCK_SEND_CMSG_SPACE];
		struct cmsghdr align;
	} cm;
	struct msghdr msg = {
		.msg_name = (void *)peer,
		.msg_namelen = plen,
		.msg_iov = (struct iovec *)(uintptr_t)iov,
		.msg_iovlen = (size_t)niov,
	};

	sock_msg_control(&msg, cm.buf, local, seg);
	if (sendmsg(fd, &msg, 0) < 0)
		return -errno;
	return 0;
}

int
sock_send_from(int fd, const void *buf, size_t len,
    const struct sockaddr *peer, socklen_t plen,
    const struct sockaddr *local)
{
	struct iovec iov = { .iov_base = (void *)(uintptr_t)buf,
	    .iov_len = len };

	return send_msgv(fd, &iov, 1, peer, plen, local, 0);
}

int
sock_send_gso(int fd, const struct iovec *iov, int niov, uint16_t seg)
{
	return send_msgv(fd, iov, niov, NULL, 0, NULL, seg);
}
