/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * tftpbench: a TFTP load generator for benchmarks.  It runs up to 5000
 * concurrent sessions from one thread and one epoll loop (one connected
 * UDP socket per session, as RFC 1350 TIDs require), reads or writes a
 * given number of files, checks every transfer against the local copy of
 * the file (length and CRC-32C), and prints one key=value result line.
 * It is its own RFC 7440 receiver: it ACKs every windowsize blocks, ACKs
 * the last in-order block once on a gap and again on its own timeout, and
 * follows block-number rollover.  Option handling is strict: an option
 * acknowledged with a value we did not allow fails the session, an option
 * left out of the OACK falls back to the RFC default and is counted.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include "benchutil.h"
#include "tftp_wire.h"

#define SESSIONS_MAX	5000
#define RECV_BATCH	64		/* datagrams per recvmmsg */
#define RECV_ROUNDS	4		/* recvmmsg per session per wake */
/*
 * Any UDP payload fits, so an oversized DATA is noticed, and so does a
 * read that UDP_GRO coalesced (at most 64 KiB less the headers).
 */
#define RECV_BUFSZ	65536
#ifndef UDP_GRO
#define UDP_GRO		104	/* linux/udp.h */
#endif
#ifndef SOL_UDP
#define SOL_UDP		17
#endif
#define SEND_BATCH	64		/* DATA per sendmmsg (uploads) */
#define MAX_EVENTS	256
#define REQ_BUFSZ	1024
#define NFAILMSG	4		/* distinct failure messages reported */
#define TLEVELS		4		/* request resends back off to 8 rto */

enum sstate {
	S_IDLE,
	S_REQ,		/* request sent, no answer yet */
	S_XFER,		/* connected to the server's TID */
};

enum failkind {
	F_TIMEOUT,
	F_ERROR,	/* the server sent ERROR */
	F_VERIFY,	/* wrong length or checksum */
	F_PROTO,	/* the server broke the protocol */
	F_LOCAL,	/* a syscall failed here */
	F_NKINDS,
};

static const char *const failname[F_NKINDS] = {
	"timeout", "error", "verify", "proto", "local",
};

struct file {
	char		*name;		/* as requested */
	const uint8_t	*data;		/* mmap of the local copy */
	uint64_t	 size;
	uint32_t	 crc;
};

struct session {
	int		 fd;
	unsigned	 slot;
	enum sstate	 st;
	const struct file *f;
	char		 rname[PATH_MAX];	/* remote name */
	uint64_t	 t_start;		/* ns */
	/* negotiated */
	uint32_t	 blksize;
	uint32_t	 window;
	/* RRQ: receiver */
	uint64_t	 next;		/* next block index expected, 1.. */
	uint64_t	 last_ack;	/* highest block index ACKed */
	bool		 gap_acked;	/* ACKed next - 1 for the current gap */
	bool		 dup_acked;	/* ACKed next - 1 for duplicates */
	uint64_t	 bytes;
	uint32_t	 crc;
	/* WRQ: sender */
	uint64_t	 nblocks;
	uint64_t	 acked;
	uint64_t	 sent;
	/* timer: on list tlevel, all of whose entries wait rto << tlevel */
	uint64_t	 deadline;	/* ns */
	unsigned	 tries;
	unsigned	 tlevel;
	bool		 armed;
	/* the server's TID, once known */
	struct sockaddr_storage peer;
	struct session	*tprev;
	struct session	*tnext;
};

static struct {
	/* settings */
	struct sockaddr_storage	 srv;
	socklen_t		 srvlen;
	const char		*srvname;
	const char		*label;
	const char		*scenario;
	const char		*root;
	const char		*put_fmt;
	const char		*verify_dir;
	bool			 put;
	unsigned		 sessions;
	uint64_t		 count;
	uint32_t		 blksize;	/* 0: not asked */
	uint32_t		 window;	/* 0: not asked */
	uint32_t		 timeout;	/* 0: not asked */
	bool			 tsize;
	unsigned		 rollover;
	uint64_t		 rto_ns;
	unsigned		 retries;
	double			 max_time;
	unsigned		 port_lo;
	unsigned		 port_hi;
	unsigned		 port_next;
	uint32_t		 src_lo;	/* host order; 0: any */
	uint32_t		 src_hi;
	int			 verbose;
	bool			 gro;		/* UDP_GRO on windowed reads */
	int			 rcvbuf_default;	/* net.core.rmem_default */
	/* state */
	struct file		*files;
	unsigned		 nfiles;
	struct session		*ss;
	int			 ep;
	uint64_t		 now;
	uint64_t		 started;
	uint64_t		 finished;
	unsigned		 active;
	bool			 stopping;
	struct session		*thead[TLEVELS];
	struct session		*ttail[TLEVELS];
	uint64_t		*lat;		/* ns, per successful session */
	/* results */
	uint64_t		 ok;
	uint64_t		 failed;
	uint64_t		 fails[F_NKINDS];
	uint64_t		 bytes;
	uint64_t		 partial;	/* verified prefixes cut by --max-time */
	uint64_t		 last_ok;	/* ns: the last success ended */
	uint64_t		 retrans;	/* our resends on timeout */
	uint64_t		 dups;		/* duplicate DATA received */
	uint64_t		 gaps;		/* gap ACKs sent */
	uint64_t		 fb_blksize;	/* asked, not in the OACK */
	uint64_t		 fb_window;
	uint64_t		 fb_tsize;
	uint64_t		 fb_timeout;
	uint32_t		 blk_min, blk_max;
	uint32_t		 win_min, win_max;
	char			 failmsg[NFAILMSG][160];
	unsigned		 nfailmsg;
} g;

static uint8_t *rbufs;			/* RECV_BATCH x RECV_BUFSZ */
static struct mmsghdr rmsgs[RECV_BATCH];
static struct iovec riovs[RECV_BATCH];
static struct sockaddr_storage raddrs[RECV_BATCH];
static union {
	char		buf[CMSG_SPACE(sizeof(int))];
	struct cmsghdr	align;
} rctl[RECV_BATCH];

/* ---- CRC-32C (Castagnoli), with the SSE 4.2 instruction when present. */

static uint32_t crc_table[8][256];

static void
crc_init(void)
{
	for (unsigned i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0x82f63b78u : c >> 1;
		crc_table[0][i] = c;
	}
	for (unsigned i = 0; i < 256; i++)
		for (unsigned t = 1; t < 8; t++)
			crc_table[t][i] = (crc_table[t - 1][i] >> 8) ^
			    crc_table[0][crc_table[t - 1][i] & 0xff];
}

static uint32_t
crc_sw(uint32_t crc, const uint8_t *p, size_t n)
{
	crc = ~crc;
	while (n >= 8) {
		uint32_t lo = crc ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 |
		    (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
		uint32_t hi = (uint32_t)p[4] | (uint32_t)p[5] << 8 |
		    (uint32_t)p[6] << 16 | (uint32_t)p[7] << 24;

		crc = crc_table[7][lo & 0xff] ^ crc_table[6][(lo >> 8) & 0xff] ^
		    crc_table[5][(lo >> 16) & 0xff] ^ crc_table[4][lo >> 24] ^
		    crc_table[3][hi & 0xff] ^ crc_table[2][(hi >> 8) & 0xff] ^
		    crc_table[1][(hi >> 16) & 0xff] ^ crc_table[0][hi >> 24];
		p += 8;
		n -= 8;
	}
	while (n--)
		crc = (crc >> 8) ^ crc_table[0][(crc ^ *p++) & 0xff];
	return ~crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2")))
static uint32_t
crc_hw(uint32_t crc, const uint8_t *p, size_t n)
{
	uint64_t c = ~crc;

	while (n >= 8) {
		uint64_t v;

		memcpy(&v, p, 8);
		c = __builtin_ia32_crc32di(c, v);
		p += 8;
		n -= 8;
	}
	while (n--)
		c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
	return ~(uint32_t)c;
}
#endif

static uint32_t (*crc32c)(uint32_t, const uint8_t *, size_t) = crc_sw;

static void
crc_select(void)
{
	crc_init();
#if defined(__x86_64__)
	__builtin_cpu_init();
	if (__builtin_cpu_supports("sse4.2"))
		crc32c = crc_hw;
#endif
}

/* ---- small helpers */

static void __attribute__((noreturn, format(printf, 1, 2)))
die(const char *fmt, ...)
{
	va_list ap;

	fputs("tftpbench: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

static uint64_t
parse_num(const char *s, uint64_t min, uint64_t max, const char *what)
{
	char *end;
	unsigned long long v;

	errno = 0;
	if (*s < '0' || *s > '9')
		die("%s: not a number: %s", what, s);
	v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max)
		die("%s: must be %" PRIu64 "..%" PRIu64 ": %s", what, min, max,
		    s);
	return v;
}

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static uint16_t
get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/*
 * Block index (1-based, 64-bit) to the 16-bit number on the wire.  After
 * 65535 the number wraps to 0 (the common behaviour) or, with the
 * tftp-hpa rollover=1 convention, to 1.
 */
static uint16_t
wire(uint64_t idx)
{
	if (g.rollover == 0 || idx <= 65535)
		return (uint16_t)idx;
	return (uint16_t)(1 + (idx - 1) % 65535);
}

/* Distance from index base forward to the next index whose wire is w. */
static uint64_t
wire_ahead(uint64_t base, uint16_t w)
{
	uint64_t d = 0;

	if (g.rollover == 0)
		return (uint16_t)(w - wire(base));
	/* Rollover 1 skips 0: walk at most one period, rarely more than W. */
	while (wire(base + d) != w && d < 65536)
		d++;
	return d;
}

/*
 * Timers.  Every entry of list L waits rto << L, so appending keeps each
 * list in deadline order and the next expiry is the earliest of the heads.
 * Transfers use level 0 (the negotiated timeout is fixed, RFC 2349); an
 * unanswered request backs off a level per resend, as PXE clients do, so
 * that an overloaded server is not buried under repeated requests.
 */
static void
timer_stop(struct session *s)
{
	unsigned l = s->tlevel;

	if (!s->armed)
		return;
	if (s->tprev)
		s->tprev->tnext = s->tnext;
	else
		g.thead[l] = s->tnext;
	if (s->tnext)
		s->tnext->tprev = s->tprev;
	else
		g.ttail[l] = s->tprev;
	s->tprev = s->tnext = NULL;
	s->armed = false;
}

static void
timer_arm(struct session *s)
{
	unsigned l = 0;

	timer_stop(s);
	if (s->st == S_REQ)
		l = s->tries < TLEVELS ? s->tries : TLEVELS - 1;
	s->tlevel = l;
	s->deadline = g.now + (g.rto_ns << l);
	s->tprev = g.ttail[l];
	s->tnext = NULL;
	if (g.ttail[l])
		g.ttail[l]->tnext = s;
	else
		g.thead[l] = s;
	g.ttail[l] = s;
	s->armed = true;
}

static struct session *
timer_first(void)
{
	struct session *first = NULL;

	for (unsigned l = 0; l < TLEVELS; l++)
		if (g.thead[l] && (!first ||
		    g.thead[l]->deadline < first->deadline))
			first = g.thead[l];
	return first;
}

/* ---- sessions */

static bool start_request(struct session *s);

static void __attribute__((format(printf, 3, 4)))
session_fail(struct session *s, enum failkind k, const char *fmt, ...)
{
	char msg[sizeof(g.failmsg[0])], what[120];
	va_list ap;
	unsigned i;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(msg, sizeof(msg), "%s: %s", failname[k], what);
	g.failed++;
	g.fails[k]++;
	if (g.verbose)
		fprintf(stderr, "tftpbench: session %u %s: %s\n", s->slot,
		    s->rname, msg);
	for (i = 0; i < g.nfailmsg; i++)
		if (!strcmp(g.failmsg[i], msg))
			return;
	if (g.nfailmsg < NFAILMSG)
		memcpy(g.failmsg[g.nfailmsg++], msg, sizeof(msg));
}

static void
session_end(struct session *s, bool ok)
{
	timer_stop(s);
	if (s->fd >= 0)
		close(s->fd);	/* also leaves the epoll set */
	s->fd = -1;
	s->st = S_IDLE;
	g.finished++;
	g.active--;
	if (ok) {
		g.lat[g.ok] = g.now - s->t_start;
		g.ok++;
		g.last_ok = g.now;
		g.bytes += s->f->size;
	}
	while (!g.stopping && g.started < g.count)
		if (start_request(s))
			break;
}

static void
send_pkt(struct session *s, const void *buf, size_t len)
{
	ssize_t n;

	if (s->st == S_REQ)
		n = sendto(s->fd, buf, len, 0, (struct sockaddr *)&g.srv,
		    g.srvlen);
	else
		n = send(s->fd, buf, len, 0);
	/* A lost datagram is what the timer is for. */
	(void)n;
}

static void
send_ack(struct session *s, uint64_t idx)
{
	uint8_t p[4];

	put16(p, TFTP_ACK);
	put16(p + 2, wire(idx));
	send_pkt(s, p, sizeof(p));
	if (idx > s->last_ack)
		s->last_ack = idx;
}

static void
send_error(struct session *s, uint16_t code, const char *msg)
{
	uint8_t p[128];
	size_t n = strlen(msg);

	if (n > sizeof(p) - 5)
		n = sizeof(p) - 5;
	put16(p, TFTP_ERROR);
	put16(p + 2, code);
	memcpy(p + 4, msg, n);
	p[4 + n] = 0;
	send_pkt(s, p, n + 5);
}

static size_t
add_str(uint8_t *p, size_t off, const char *str)
{
	size_t n = strlen(str) + 1;

	if (off + n > REQ_BUFSZ)
		die("request too long: %s", str);
	memcpy(p + off, str, n);
	return off + n;
}

static size_t
add_opt(uint8_t *p, size_t off, const char *name, uint64_t val)
{
	char v[24];

	snprintf(v, sizeof(v), "%" PRIu64, val);
	off = add_str(p, off, name);
	return add_str(p, off, v);
}

static void
send_request(struct session *s)
{
	uint8_t p[REQ_BUFSZ];
	size_t off;

	put16(p, g.put ? TFTP_WRQ : TFTP_RRQ);
	off = add_str(p, 2, s->rname);
	off = add_str(p, off, "octet");
	if (g.blksize)
		off = add_opt(p, off, "blksize", g.blksize);
	if (g.tsize)
		off = add_opt(p, off, "tsize", g.put ? s->f->size : 0);
	if (g.timeout)
		off = add_opt(p, off, "timeout", g.timeout);
	if (g.window)
		off = add_opt(p, off, "windowsize", g.window);
	send_pkt(s, p, off);
}

/*
 * Session slot's source address: with --sources the slots spread over
 * the range, so one run is many machines to the server (loopback
 * answers the whole of 127.0.0.0/8).
 */
static void
source_of(unsigned slot, struct sockaddr_storage *a, socklen_t *alen)
{
	memset(a, 0, sizeof(*a));
	a->ss_family = g.srv.ss_family;
	if (a->ss_family == AF_INET) {
		struct sockaddr_in *a4 = (void *)a;

		if (g.src_lo)
			a4->sin_addr.s_addr = htonl(g.src_lo +
			    slot % (g.src_hi - g.src_lo + 1));
		*alen = sizeof(*a4);
	} else
		*alen = sizeof(struct sockaddr_in6);
}

static int
open_socket(unsigned slot)
{
	int fd;
	/* Room for two windows of the largest datagram we may be sent. */
	uint64_t want = 2 * (uint64_t)(g.window ? g.window : 1) *
	    ((g.blksize > TFTP_BLKSIZE_DEFAULT ? g.blksize :
	    TFTP_BLKSIZE_DEFAULT) + 4 + 512) + 65536;
	int rcv = want > (16u << 20) ? 16 << 20 : (int)want;

	fd = socket(g.srv.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd < 0)
		return -errno;
	/*
	 * The kernel doubles what it is given; a new socket already has
	 * rmem_default.  Lock-step sessions need less: no syscall for them.
	 */
	if (rcv > g.rcvbuf_default / 2 &&
	    setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof(rcv)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	/*
	 * A window the server sent as one GSO train then arrives as one
	 * read instead of one per block.  A kernel without UDP_GRO (before
	 * 5.0) refuses it: every datagram then arrives alone, as with
	 * --no-gro.
	 */
	if (g.gro) {
		int on = 1;

		(void)setsockopt(fd, SOL_UDP, UDP_GRO, &on, sizeof(on));
	}
	if (g.src_lo && !g.port_lo) {
		struct sockaddr_storage a;
		socklen_t alen;

		source_of(slot, &a, &alen);
		if (bind(fd, (struct sockaddr *)&a, alen) < 0) {
			int e = errno;

			close(fd);
			return -e;
		}
	}
	if (g.port_lo) {
		unsigned span = g.port_hi - g.port_lo + 1, i;

		for (i = 0; i < span; i++) {
			struct sockaddr_storage a;
			socklen_t alen;
			unsigned port = g.port_lo + g.port_next;

			g.port_next = (g.port_next + 1) % span;
			source_of(slot, &a, &alen);
			if (a.ss_family == AF_INET)
				((struct sockaddr_in *)&a)->sin_port =
				    htons(port);
			else
				((struct sockaddr_in6 *)&a)->sin6_port =
				    htons(port);
			if (bind(fd, (struct sockaddr *)&a, alen) == 0)
				break;
			if (errno != EADDRINUSE) {
				i = span;
				break;
			}
		}
		if (i == span) {
			int e = errno;

			close(fd);
			return -e;
		}
	}
	return fd;
}

/*
 * Start the next request on slot s.  False when it failed at once (counted
 * as failed here, so that the caller's loop, not recursion, moves on).
 */
static bool
start_request(struct session *s)
{
	uint64_t idx = g.started++;
	struct epoll_event ev;
	int fd;

	s->f = &g.files[idx % g.nfiles];
	if (g.put)
		snprintf(s->rname, sizeof(s->rname), g.put_fmt, s->slot);
	else
		snprintf(s->rname, sizeof(s->rname), "%s", s->f->name);
	s->t_start = g.now;
	s->tries = 0;
	s->blksize = TFTP_BLKSIZE_DEFAULT;
	s->window = 1;
	s->next = 1;
	s->last_ack = 0;
	s->gap_acked = s->dup_acked = false;
	s->bytes = 0;
	s->crc = 0;
	s->acked = s->sent = 0;
	fd = open_socket((unsigned)(s - g.ss));
	if (fd < 0) {
		session_fail(s, F_LOCAL, "socket: %s", strerror(-fd));
		goto fail;
	}
	ev.events = EPOLLIN;
	ev.data.ptr = s;
	if (epoll_ctl(g.ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
		session_fail(s, F_LOCAL, "epoll_ctl: %s", strerror(errno));
		close(fd);
		goto fail;
	}
	s->fd = fd;
	s->st = S_REQ;
	g.active++;
	send_request(s);
	timer_arm(s);
	return true;
fail:
	s->fd = -1;
	s->st = S_IDLE;
	g.finished++;
	return false;
}

/* RRQ: the whole file arrived; compare with the local copy. */
static void
rrq_complete(struct session *s)
{
	if (s->bytes != s->f->size) {
		session_fail(s, F_VERIFY, "length %" PRIu64 ", expected %"
		    PRIu64, s->bytes, s->f->size);
		session_end(s, false);
	} else if (s->crc != s->f->crc) {
		session_fail(s, F_VERIFY, "checksum %08x, expected %08x",
		    s->crc, s->f->crc);
		session_end(s, false);
	} else {
		session_end(s, true);
	}
}

/* WRQ: the server ACKed the last block; read back what it wrote. */
static void
wrq_complete(struct session *s)
{
	static uint8_t vbuf[1 << 16];
	char path[PATH_MAX * 2];
	uint32_t crc = 0;
	uint64_t len = 0;
	uint8_t *buf;
	int fd;

	if (!g.verify_dir) {
		session_end(s, true);
		return;
	}
	snprintf(path, sizeof(path), "%s/%s", g.verify_dir, s->rname);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		session_fail(s, F_VERIFY, "%s: %s", path, strerror(errno));
		session_end(s, false);
		return;
	}
	buf = vbuf;
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(vbuf));

		if (n <= 0)
			break;
		crc = crc32c(crc, buf, (size_t)n);
		len += (uint64_t)n;
	}
	close(fd);
	if (len != s->f->size || crc != s->f->crc) {
		session_fail(s, F_VERIFY, "%s: %" PRIu64 " bytes crc %08x, "
		    "expected %" PRIu64 " crc %08x", path, len, crc,
		    s->f->size, s->f->crc);
		session_end(s, false);
		return;
	}
	session_end(s, true);
}

/* WRQ: send blocks acked+1 .. acked+window in one sendmmsg per batch. */
static void
wrq_send_window(struct session *s)
{
	struct mmsghdr m[SEND_BATCH];
	struct iovec iov[SEND_BATCH][2];
	uint8_t hdr[SEND_BATCH][4];
	uint64_t b = s->acked + 1;
	uint64_t last = s->acked + s->window;

	if (last > s->nblocks)
		last = s->nblocks;
	while (b <= last) {
		unsigned n = 0;

		while (b <= last && n < SEND_BATCH) {
			uint64_t off = (b - 1) * s->blksize;
			uint64_t len = s->f->size - off;

			if (len > s->blksize)
				len = s->blksize;
			put16(hdr[n], TFTP_DATA);
			put16(hdr[n] + 2, wire(b));
			iov[n][0].iov_base = hdr[n];
			iov[n][0].iov_len = 4;
			/* The final block may be empty (and data NULL). */
			iov[n][1].iov_base = len ? (void *)(s->f->data + off) :
			    NULL;
			iov[n][1].iov_len = len;
			memset(&m[n], 0, sizeof(m[n]));
			m[n].msg_hdr.msg_iov = iov[n];
			m[n].msg_hdr.msg_iovlen = 2;
			n++;
			b++;
		}
		/* Partial or failed sends are losses; the timer resends. */
		(void)sendmmsg(s->fd, m, n, 0);
	}
	if (last > s->sent)
		s->sent = last;
}

/* A NUL-terminated string from the network, cut short and made printable. */
static const char *
safe(const char *str, char *buf, size_t sz)
{
	size_t n = 0;

	for (; *str && n + 1 < sz; str++)
		buf[n++] = *str >= 0x20 && *str < 0x7f ? *str : '?';
	buf[n] = 0;
	return buf;
}

/*
 * The first answer names the server's TID and says which options it took.
 * Returns false when the session ended.
 */
static bool
take_oack(struct session *s, const uint8_t *p, size_t len)
{
	bool got_blk = false, got_win = false, got_tsize = false,
	    got_timeout = false;
	char n1[40], n2[40];
	size_t off = 2;

	while (off < len) {
		const char *name = (const char *)p + off, *val;
		const void *nul = memchr(p + off, 0, len - off);
		uint64_t v;
		char *end;

		if (!nul)
			goto bad;
		off = (size_t)((const uint8_t *)nul - p) + 1;
		val = (const char *)p + off;
		nul = memchr(p + off, 0, len - off);
		if (!nul)
			goto bad;
		off = (size_t)((const uint8_t *)nul - p) + 1;
		if (*val < '0' || *val > '9')
			goto badval;
		errno = 0;
		v = strtoull(val, &end, 10);
		if (errno || *end)
			goto badval;
		if (!strcasecmp(name, "blksize") && g.blksize && !got_blk) {
			if (v < TFTP_BLKSIZE_MIN || v > g.blksize)
				goto badval;
			s->blksize = (uint32_t)v;
			got_blk = true;
		} else if (!strcasecmp(name, "windowsize") && g.window &&
		    !got_win) {
			if (v < TFTP_WINDOW_MIN || v > g.window)
				goto badval;
			s->window = (uint32_t)v;
			got_win = true;
		} else if (!strcasecmp(name, "tsize") && g.tsize &&
		    !got_tsize) {
			if (v != s->f->size)
				goto badval;
			got_tsize = true;
		} else if (!strcasecmp(name, "timeout") && g.timeout &&
		    !got_timeout) {
			if (v != g.timeout)
				goto badval;
			got_timeout = true;
		} else {
			send_error(s, TFTP_EOPTNEG, "Unrequested option");
			session_fail(s, F_PROTO, "OACK has unrequested or "
			    "repeated option %s", safe(name, n1, sizeof(n1)));
			session_end(s, false);
			return false;
		}
		continue;
badval:
		send_error(s, TFTP_EOPTNEG, "Bad option value");
		session_fail(s, F_PROTO, "OACK %s=%s outside what we asked",
		    safe(name, n1, sizeof(n1)), safe(val, n2, sizeof(n2)));
		session_end(s, false);
		return false;
	}
	g.fb_blksize += g.blksize && !got_blk;
	g.fb_window += g.window && !got_win;
	g.fb_tsize += g.tsize && !got_tsize;
	g.fb_timeout += g.timeout && !got_timeout;
	return true;
bad:
	send_error(s, TFTP_EOPTNEG, "Malformed OACK");
	session_fail(s, F_PROTO, "malformed OACK");
	session_end(s, false);
	return false;
}

static void
note_negotiated(struct session *s)
{
	if (s->blksize < g.blk_min)
		g.blk_min = s->blksize;
	if (s->blksize > g.blk_max)
		g.blk_max = s->blksize;
	if (s->window < g.win_min)
		g.win_min = s->window;
	if (s->window > g.win_max)
		g.win_max = s->window;
}

static bool
asked_options(void)
{
	return g.blksize || g.window || g.tsize || g.timeout;
}

/* Answer without OACK although options were asked: RFC defaults. */
static void
no_oack(void)
{
	g.fb_blksize += g.blksize != 0;
	g.fb_window += g.window != 0;
	g.fb_tsize += g.tsize;
	g.fb_timeout += g.timeout != 0;
}

static void rrq_data(struct session *s, const uint8_t *p, size_t len);

/* Same address and port (flow labels and scope aside). */
static bool
same_peer(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a,
		    *y = (const void *)b;

		return x->sin_port == y->sin_port &&
		    x->sin_addr.s_addr == y->sin_addr.s_addr;
	} else {
		const struct sockaddr_in6 *x = (const void *)a,
		    *y = (const void *)b;

		return x->sin6_port == y->sin6_port &&
		    !memcmp(&x->sin6_addr, &y->sin6_addr, 16);
	}
}

/* The text of an ERROR packet, which need not be terminated, made safe. */
static const char *
err_text(const uint8_t *p, size_t len, char *buf, size_t sz)
{
	size_t n = 0;

	for (size_t i = 4; i < len && p[i] && n + 1 < sz; i++)
		buf[n++] = p[i] >= 0x20 && p[i] < 0x7f ? (char)p[i] : '?';
	buf[n] = 0;
	return buf;
}

static void
on_first(struct session *s, const uint8_t *p, size_t len,
    const struct sockaddr_storage *from, socklen_t fromlen)
{
	uint16_t op = get16(p);
	char msg[64];

	/* Only the server's address may answer; its port is the new TID. */
	if (from->ss_family != g.srv.ss_family)
		return;
	if (from->ss_family == AF_INET) {
		if (((const struct sockaddr_in *)from)->sin_addr.s_addr !=
		    ((const struct sockaddr_in *)&g.srv)->sin_addr.s_addr)
			return;
	} else if (memcmp(&((const struct sockaddr_in6 *)from)->sin6_addr,
	    &((const struct sockaddr_in6 *)&g.srv)->sin6_addr, 16)) {
		return;
	}
	/* A late packet of an earlier transfer on a reused port: ignore. */
	if ((op == TFTP_DATA && (g.put || len < 4 || get16(p + 2) != 1)) ||
	    (op == TFTP_ACK && (!g.put || len < 4 || get16(p + 2) != 0)) ||
	    (op == TFTP_OACK && !asked_options()))
		return;
	if (op != TFTP_DATA && op != TFTP_ACK && op != TFTP_OACK &&
	    op != TFTP_ERROR)
		return;
	if (connect(s->fd, (const struct sockaddr *)from, fromlen) < 0) {
		session_fail(s, F_LOCAL, "connect: %s", strerror(errno));
		session_end(s, false);
		return;
	}
	memcpy(&s->peer, from, fromlen);
	s->st = S_XFER;
	if (op == TFTP_ERROR) {
		session_fail(s, F_ERROR, "ERROR %u %s", get16(p + 2),
		    err_text(p, len, msg, sizeof(msg)));
		session_end(s, false);
		return;
	}
	if (op == TFTP_OACK) {
		if (!take_oack(s, p, len))
			return;
	} else {
		no_oack();
	}
	note_negotiated(s);
	s->tries = 0;
	timer_arm(s);
	if (g.put) {
		s->nblocks = s->f->size / s->blksize + 1;
		wrq_send_window(s);
	} else if (op == TFTP_OACK) {
		send_ack(s, 0);
	} else {
		rrq_data(s, p, len);
	}
}

static void
rrq_data(struct session *s, const uint8_t *p, size_t len)
{
	uint16_t w = get16(p + 2), ew = wire(s->next);
	size_t n = len - 4;

	if (w != ew) {
		uint64_t d = wire_ahead(s->next, w);

		if (d != 0 && d < 32768) {
			/* Ahead: a block went missing.  Say so once. */
			if (!s->gap_acked) {
				send_ack(s, s->next - 1);
				s->gap_acked = true;
				g.gaps++;
			}
		} else {
			/* Old: our ACK was lost, or a window resent. */
			g.dups++;
			if (s->window == 1 || !s->dup_acked) {
				send_ack(s, s->next - 1);
				s->dup_acked = true;
			}
		}
		return;
	}
	if (n > s->blksize) {
		send_error(s, TFTP_EBADOP, "Block too long");
		session_fail(s, F_PROTO, "DATA %u of %zu bytes, blksize %u",
		    w, n, s->blksize);
		session_end(s, false);
		return;
	}
	s->crc = crc32c(s->crc, p + 4, n);
	s->bytes += n;
	s->next++;
	s->tries = 0;
	s->gap_acked = s->dup_acked = false;
	timer_arm(s);
	if (n < s->blksize) {
		send_ack(s, s->next - 1);
		rrq_complete(s);
		return;
	}
	if (s->bytes > s->f->size) {
		send_error(s, TFTP_EUNDEF, "File longer than expected");
		session_fail(s, F_VERIFY, "more than %" PRIu64 " bytes",
		    s->f->size);
		session_end(s, false);
		return;
	}
	if (s->next - 1 - s->last_ack >= s->window)
		send_ack(s, s->next - 1);
}

static void
wrq_ack(struct session *s, uint16_t w)
{
	uint64_t n = s->acked + wire_ahead(s->acked, w);

	if (n == s->acked || n > s->sent)
		return;		/* duplicate or stale: no resend (RFC 1123) */
	s->acked = n;
	s->tries = 0;
	timer_arm(s);
	if (s->acked == s->nblocks) {
		wrq_complete(s);
		return;
	}
	wrq_send_window(s);
}

static void
on_packet(struct session *s, const uint8_t *p, size_t len,
    const struct sockaddr_storage *from, socklen_t fromlen)
{
	char msg[64];
	uint16_t op;

	if (len < 4)
		return;
	if (s->st == S_REQ) {
		on_first(s, p, len, from, fromlen);
		return;
	}
	/*
	 * The batch that brought the first answer may also hold packets of
	 * another TID (a second server process answering a resent request,
	 * or a stale transfer to a reused port), read before the connect().
	 */
	if (!same_peer(from, &s->peer))
		return;
	op = get16(p);
	switch (op) {
	case TFTP_DATA:
		if (!g.put)
			rrq_data(s, p, len);
		break;
	case TFTP_ACK:
		if (g.put)
			wrq_ack(s, get16(p + 2));
		break;
	case TFTP_OACK:
		/* Our ACK 0 was lost and the server repeats its OACK. */
		if (!g.put && s->next == 1)
			send_ack(s, 0);
		break;
	case TFTP_ERROR:
		session_fail(s, F_ERROR, "ERROR %u %s", get16(p + 2),
		    err_text(p, len, msg, sizeof(msg)));
		session_end(s, false);
		break;
	default:
		break;
	}
}

/*
 * The segment size of a read UDP_GRO coalesced (its cmsg), or 0: the read
 * is one datagram (no GRO, or a datagram that came alone).
 */
static size_t
gro_segment(struct msghdr *h)
{
	struct cmsghdr *c;
	int v;

	for (c = CMSG_FIRSTHDR(h); c; c = CMSG_NXTHDR(h, c)) {
		if (c->cmsg_level != SOL_UDP || c->cmsg_type != UDP_GRO ||
		    c->cmsg_len < CMSG_LEN(sizeof(v)))
			continue;
		memcpy(&v, CMSG_DATA(c), sizeof(v));
		return v > 0 ? (size_t)v : 0;
	}
	return 0;
}

/*
 * One read: a datagram, or with UDP_GRO several of seg bytes each, all
 * but the last (which may be short: the last block of the file).  Each is
 * handled as if it had come alone.  False when the session ended.
 */
static bool
on_read(struct session *s, int fd, const uint8_t *p, struct mmsghdr *m,
    const struct sockaddr_storage *from)
{
	size_t len = m->msg_len, seg = 0, off;
	socklen_t fromlen = m->msg_hdr.msg_namelen;

	if (g.gro)
		seg = gro_segment(&m->msg_hdr);
	if (seg == 0 || seg >= len) {
		on_packet(s, p, len, from, fromlen);
		return s->fd == fd;
	}
	/*
	 * Cut short (it cannot be with RECV_BUFSZ, but if it were): the
	 * partial last segment would pass for a short, final block.  Drop
	 * it; the gap is then reported and the server sends it again.
	 */
	if (m->msg_hdr.msg_flags & MSG_TRUNC)
		len -= len % seg;
	for (off = 0; off < len; off += seg) {
		on_packet(s, p + off, len - off < seg ? len - off : seg, from,
		    fromlen);
		/* The session ended (and maybe restarted). */
		if (s->fd != fd)
			return false;
	}
	return true;
}

static void
on_readable(struct session *s)
{
	int fd = s->fd;
	/*
	 * In lock-step one datagram is due per wake: asking for more costs
	 * the kernel a second, empty receive every time.  Anything else
	 * queued wakes epoll again.
	 */
	unsigned vlen = s->window > 1 ? RECV_BATCH : 1;

	for (int round = 0; round < RECV_ROUNDS; round++) {
		int n, i;

		for (i = 0; i < (int)vlen; i++) {
			rmsgs[i].msg_hdr.msg_name = &raddrs[i];
			rmsgs[i].msg_hdr.msg_namelen = sizeof(raddrs[i]);
			if (g.gro) {
				rmsgs[i].msg_hdr.msg_control = rctl[i].buf;
				rmsgs[i].msg_hdr.msg_controllen =
				    sizeof(rctl[i].buf);
			}
		}
		n = recvmmsg(fd, rmsgs, vlen, MSG_DONTWAIT, NULL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			/* ICMP unreachable: the server's TID is gone. */
			if (s->st == S_XFER) {
				session_fail(s, F_PROTO, "recv: %s",
				    strerror(errno));
				session_end(s, false);
			}
			return;
		}
		for (i = 0; i < n; i++) {
			/* False: the session ended (and maybe restarted). */
			if (!on_read(s, fd, rbufs + (size_t)i * RECV_BUFSZ,
			    &rmsgs[i], &raddrs[i]))
				return;
		}
		if (n < RECV_BATCH)	/* the queue is empty (or lock-step) */
			return;
	}
}

static void
on_timeout(struct session *s)
{
	if (++s->tries > g.retries) {
		if (s->st == S_XFER)
			send_error(s, TFTP_EUNDEF, "Timeout");
		if (s->st == S_REQ)
			session_fail(s, F_TIMEOUT, "request unanswered after "
			    "%u resends", g.retries);
		else
			session_fail(s, F_TIMEOUT, "no progress after %u "
			    "timeouts", g.retries);
		session_end(s, false);
		return;
	}
	g.retrans++;
	timer_arm(s);
	if (s->st == S_REQ)
		send_request(s);
	else if (g.put)
		wrq_send_window(s);
	else
		send_ack(s, s->next - 1);
}

/* ---- setup */

static void
load_file(struct file *f, const char *root, const char *name)
{
	char path[PATH_MAX * 2];
	struct stat st;
	int fd;

	f->name = strdup(name);
	if (!f->name)
		die("out of memory");
	snprintf(path, sizeof(path), "%s/%s", root, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0)
		die("%s: %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		die("%s: not a regular file", path);
	f->size = (uint64_t)st.st_size;
	f->data = NULL;
	f->crc = 0;
	if (f->size) {
		void *m = mmap(NULL, f->size, PROT_READ, MAP_PRIVATE, fd, 0);

		if (m == MAP_FAILED)
			die("mmap %s: %s", path, strerror(errno));
		f->data = m;
		f->crc = crc32c(0, f->data, f->size);
	}
	close(fd);
}

/*
 * Our ports go round the kernel's ephemeral range from a random start
 * instead of being picked by it, so that a port comes back only after the
 * whole range: a server process still sending for a session we gave up on
 * must not find a new session on the same port, unconnected and ready to
 * take its DATA 1 for the first answer.
 */
static void
default_ports(void)
{
	unsigned lo = 32768, hi = 60999;
	FILE *fp = fopen("/proc/sys/net/ipv4/ip_local_port_range", "re");
	struct timespec ts;

	if (fp) {
		if (fscanf(fp, "%u %u", &lo, &hi) != 2 || lo < 1024 ||
		    hi > 65535 || hi < lo) {
			lo = 32768;
			hi = 60999;
		}
		fclose(fp);
	}
	if (hi - lo + 1 < g.sessions)
		return;		/* a tiny range: let the kernel choose */
	g.port_lo = lo;
	g.port_hi = hi;
	clock_gettime(CLOCK_REALTIME, &ts);
	g.port_next = (unsigned)(ts.tv_nsec ^ getpid()) % (hi - lo + 1);
}

static void
parse_server(const char *arg)
{
	char host[256];
	const char *port = "69", *colon;
	struct addrinfo hints, *res;
	int rc;

	if (arg[0] == '[') {
		const char *rb = strchr(arg, ']');

		if (!rb || (size_t)(rb - arg - 1) >= sizeof(host))
			die("bad server address: %s", arg);
		memcpy(host, arg + 1, (size_t)(rb - arg - 1));
		host[rb - arg - 1] = 0;
		if (rb[1] == ':')
			port = rb + 2;
		else if (rb[1])
			die("bad server address: %s", arg);
	} else {
		colon = strrchr(arg, ':');
		if (colon && strchr(arg, ':') == colon) {
			if ((size_t)(colon - arg) >= sizeof(host))
				die("bad server address: %s", arg);
			memcpy(host, arg, (size_t)(colon - arg));
			host[colon - arg] = 0;
			port = colon + 1;
		} else {
			snprintf(host, sizeof(host), "%s", arg);
		}
	}
	parse_num(port, 1, 65535, "server port");
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_DGRAM;
	hints.ai_flags = AI_NUMERICSERV;
	rc = getaddrinfo(host, port, &hints, &res);
	if (rc)
		die("%s: %s", host, gai_strerror(rc));
	memcpy(&g.srv, res->ai_addr, res->ai_addrlen);
	g.srvlen = res->ai_addrlen;
	freeaddrinfo(res);
	g.srvname = arg;
}

static void
raise_nofile(unsigned need)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= need)
		return;
	rl.rlim_cur = need;
	if (rl.rlim_max < need)
		rl.rlim_max = need;	/* only root may */
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		die("need %u file descriptors: %s", need, strerror(errno));
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile, in ms. */
static double
pct_ms(double p)
{
	uint64_t r;

	if (!g.ok)
		return 0;
	r = (uint64_t)(p * (double)g.ok + 0.999999);
	if (r < 1)
		r = 1;
	if (r > g.ok)
		r = g.ok;
	return (double)g.lat[r - 1] / 1e6;
}

/* A download stopped by --max-time: the bytes it got in order count as
 * partial if they match the local copy's prefix, so that a run cut by
 * its bound still yields a rate. */
static void
partial_count(const struct session *s)
{
	if (g.put || s->st == S_REQ || !s->f || s->bytes == 0 ||
	    s->bytes > s->f->size)
		return;
	if (crc32c(0, s->f->data, (size_t)s->bytes) == s->crc)
		g.partial += s->bytes;
}

static void
fmt_range(char *buf, size_t sz, uint32_t lo, uint32_t hi)
{
	if (lo > hi)
		snprintf(buf, sz, "-");
	else if (lo == hi)
		snprintf(buf, sz, "%u", lo);
	else
		snprintf(buf, sz, "%u-%u", lo, hi);
}

static void
usage(FILE *fp)
{
	fputs(
"usage: tftpbench [options] HOST[:PORT] FILE...\n"
"  FILE names a file in --root; requests cycle over the FILEs\n"
"  -n, --sessions N      concurrent sessions, 1..5000 (1)\n"
"  -c, --count N         requests in all (= sessions)\n"
"  -r, --root DIR        local copies of the FILEs, for checking (.)\n"
"  -b, --blksize N       ask blksize N (8..65464)\n"
"  -w, --windowsize N    ask windowsize N (1..65535)\n"
"  -T, --tsize           ask tsize\n"
"  -t, --timeout S       ask timeout S (1..255)\n"
"      --rto MS          our retransmit timeout (timeout or 1000 ms)\n"
"      --retries N       timeouts in a row before giving up (5)\n"
"      --rollover 0|1    block number after 65535 (0)\n"
"  -p, --put             upload the FILEs (WRQ) instead of reading\n"
"      --put-name FMT    remote name, %u = session slot (bench-%u.up)\n"
"      --verify-dir DIR  after an upload, check DIR/<remote name>\n"
"      --port-range L:H  bind our sockets to ports L..H in turn\n"
"      --sources A-B     IPv4: session slots spread over source addresses\n"
"                        A..B (127.1.0.1-127.1.3.232: many machines)\n"
"      --max-time S      stop after S seconds; unfinished = failed\n"
"  -s, --server NAME     label for the result line\n"
"  -S, --scenario NAME   label for the result line\n"
"      --no-gro          read every datagram alone (default: windowed\n"
"                        downloads read with UDP_GRO, a server's GSO\n"
"                        window in one read, split by its segment size)\n"
"  -v, --verbose         report every failed session on stderr\n", fp);
}

static void
parse_args(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "sessions", required_argument, NULL, 'n' },
		{ "count", required_argument, NULL, 'c' },
		{ "root", required_argument, NULL, 'r' },
		{ "blksize", required_argument, NULL, 'b' },
		{ "windowsize", required_argument, NULL, 'w' },
		{ "tsize", no_argument, NULL, 'T' },
		{ "timeout", required_argument, NULL, 't' },
		{ "rto", required_argument, NULL, 1 },
		{ "retries", required_argument, NULL, 2 },
		{ "rollover", required_argument, NULL, 3 },
		{ "put", no_argument, NULL, 'p' },
		{ "put-name", required_argument, NULL, 4 },
		{ "verify-dir", required_argument, NULL, 5 },
		{ "port-range", required_argument, NULL, 6 },
		{ "max-time", required_argument, NULL, 7 },
		{ "sources", required_argument, NULL, 8 },
		{ "no-gro", no_argument, NULL, 9 },
		{ "server", required_argument, NULL, 's' },
		{ "scenario", required_argument, NULL, 'S' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t rto_ms = 0;
	bool no_gro = false;
	int c;

	g.sessions = 1;
	g.root = ".";
	g.retries = 5;
	g.put_fmt = "bench-%u.up";
	g.label = "-";
	g.scenario = "-";
	while ((c = getopt_long(argc, argv, "n:c:r:b:w:Tt:ps:S:vh", lo,
	    NULL)) != -1) {
		switch (c) {
		case 'n':
			g.sessions = (unsigned)parse_num(optarg, 1,
			    SESSIONS_MAX, "sessions");
			break;
		case 'c':
			g.count = parse_num(optarg, 1, 1000000000, "count");
			break;
		case 'r':
			g.root = optarg;
			break;
		case 'b':
			g.blksize = (uint32_t)parse_num(optarg,
			    TFTP_BLKSIZE_MIN, TFTP_BLKSIZE_MAX, "blksize");
			break;
		case 'w':
			g.window = (uint32_t)parse_num(optarg,
			    TFTP_WINDOW_MIN, TFTP_WINDOW_MAX, "windowsize");
			break;
		case 'T':
			g.tsize = true;
			break;
		case 't':
			g.timeout = (uint32_t)parse_num(optarg,
			    TFTP_TIMEOUT_MIN, TFTP_TIMEOUT_MAX, "timeout");
			break;
		case 1:
			rto_ms = parse_num(optarg, 1, 600000, "rto");
			break;
		case 2:
			g.retries = (unsigned)parse_num(optarg, 1, 1000,
			    "retries");
			break;
		case 3:
			g.rollover = (unsigned)parse_num(optarg, 0, 1,
			    "rollover");
			break;
		case 'p':
			g.put = true;
			break;
		case 4: {
			const char *pc = strchr(optarg, '%');

			if (!pc || pc[1] != 'u' || strchr(pc + 1, '%'))
				die("--put-name needs exactly one %%u");
			g.put_fmt = optarg;
			break;
		}
		case 5:
			g.verify_dir = optarg;
			break;
		case 6: {
			char *colon = strchr(optarg, ':');

			if (!colon)
				die("--port-range wants LO:HI");
			*colon = 0;
			g.port_lo = (unsigned)parse_num(optarg, 1024, 65535,
			    "port-range");
			g.port_hi = (unsigned)parse_num(colon + 1, g.port_lo,
			    65535, "port-range");
			break;
		}
		case 7:
			g.max_time = (double)parse_num(optarg, 1, 864000,
			    "max-time");
			break;
		case 8: {
			char *dash = strchr(optarg, '-');
			struct in_addr lo4, hi4;

			if (!dash)
				die("--sources wants A-B (IPv4 addresses)");
			*dash = 0;
			if (inet_pton(AF_INET, optarg, &lo4) != 1 ||
			    inet_pton(AF_INET, dash + 1, &hi4) != 1 ||
			    ntohl(lo4.s_addr) == 0 ||
			    ntohl(hi4.s_addr) < ntohl(lo4.s_addr) ||
			    ntohl(hi4.s_addr) - ntohl(lo4.s_addr) >= 65536)
				die("--sources: A-B, two IPv4 addresses, A <= B,"
				    " at most 65536 of them");
			g.src_lo = ntohl(lo4.s_addr);
			g.src_hi = ntohl(hi4.s_addr);
			break;
		}
		case 9:
			no_gro = true;
			break;
		case 's':
			g.label = optarg;
			break;
		case 'S':
			g.scenario = optarg;
			break;
		case 'v':
			g.verbose++;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			exit(2);
		}
	}
	if (argc - optind < 2) {
		usage(stderr);
		exit(2);
	}
	parse_server(argv[optind++]);
	g.nfiles = (unsigned)(argc - optind);
	g.files = calloc(g.nfiles, sizeof(*g.files));
	if (!g.files)
		die("out of memory");
	for (unsigned i = 0; i < g.nfiles; i++)
		load_file(&g.files[i], g.root, argv[optind + i]);
	if (!g.count)
		g.count = g.sessions;
	if (g.port_lo && g.port_hi - g.port_lo + 1 < g.sessions)
		die("--port-range is smaller than --sessions");
	if (g.src_lo && g.srv.ss_family != AF_INET)
		die("--sources is for an IPv4 server");
	if (!g.port_lo)
		default_ports();
	if (!rto_ms)
		rto_ms = g.timeout ? g.timeout * 1000u : 1000;
	/*
	 * GRO only where a server may send more than one datagram before
	 * we answer: windowed downloads.  In lock-step it has nothing to
	 * coalesce and would cost a setsockopt per session.
	 */
	g.gro = !no_gro && !g.put && g.window > 1;
	g.rto_ns = rto_ms * 1000000u;
}

int
main(int argc, char **argv)
{
	struct epoll_event evs[MAX_EVENTS];
	struct session *first;
	struct rusage ru0, ru1;
	uint64_t t0, t1;
	double secs, cpu;
	char blk[32], win[32];

	crc_select();
	parse_args(argc, argv);
	raise_nofile(g.sessions + 64);
	{
		FILE *fp = fopen("/proc/sys/net/core/rmem_default", "re");

		/* Unknown: set it on every socket, as if the default were 0. */
		if (!fp || fscanf(fp, "%d", &g.rcvbuf_default) != 1 ||
		    g.rcvbuf_default < 0)
			g.rcvbuf_default = 0;
		if (fp)
			fclose(fp);
	}

	rbufs = malloc((size_t)RECV_BATCH * RECV_BUFSZ);
	g.ss = calloc(g.sessions, sizeof(*g.ss));
	g.lat = calloc(g.count, sizeof(*g.lat));
	if (!rbufs || !g.ss || !g.lat)
		die("out of memory");
	for (unsigned i = 0; i < RECV_BATCH; i++) {
		riovs[i].iov_base = rbufs + (size_t)i * RECV_BUFSZ;
		riovs[i].iov_len = RECV_BUFSZ;
		rmsgs[i].msg_hdr.msg_iov = &riovs[i];
		rmsgs[i].msg_hdr.msg_iovlen = 1;
	}
	g.ep = epoll_create1(EPOLL_CLOEXEC);
	if (g.ep < 0)
		die("epoll_create1: %s", strerror(errno));
	g.blk_min = g.win_min = UINT32_MAX;

	getrusage(RUSAGE_SELF, &ru0);
	t0 = g.now = bench_mono_ns();
	for (unsigned i = 0; i < g.sessions; i++) {
		g.ss[i].slot = i;
		g.ss[i].fd = -1;
	}
	for (unsigned i = 0; i < g.sessions && g.started < g.count; i++)
		while (g.started < g.count && !start_request(&g.ss[i]))
			;

	while (g.active > 0) {
		int n, ms = -1;

		first = timer_first();
		if (first) {
			uint64_t d = first->deadline;

			ms = d <= g.now ? 0 : (int)((d - g.now + 999999) /
			    1000000);
		}
		/* Wake for --max-time too: a request in backoff may not
		 * be due for 8 x rto. */
		if (g.max_time > 0 && !g.stopping) {
			double left = g.max_time - (double)(g.now - t0) / 1e9;
			int lms = left <= 0 ? 0 : (int)(left * 1000) + 1;

			if (ms < 0 || lms < ms)
				ms = lms;
		}
		n = epoll_wait(g.ep, evs, MAX_EVENTS, ms);
		if (n < 0 && errno != EINTR)
			die("epoll_wait: %s", strerror(errno));
		g.now = bench_mono_ns();
		for (int i = 0; i < n; i++) {
			struct session *s = evs[i].data.ptr;

			if (s->st != S_IDLE)
				on_readable(s);
		}
		while ((first = timer_first()) && first->deadline <= g.now)
			on_timeout(first);
		if (g.max_time > 0 && !g.stopping &&
		    (double)(g.now - t0) / 1e9 >= g.max_time) {
			g.stopping = true;
			for (unsigned i = 0; i < g.sessions; i++) {
				if (g.ss[i].st == S_IDLE)
					continue;
				partial_count(&g.ss[i]);
				session_fail(&g.ss[i], F_TIMEOUT,
				    "--max-time reached");
				session_end(&g.ss[i], false);
			}
		}
	}
	t1 = bench_mono_ns();
	getrusage(RUSAGE_SELF, &ru1);
	/* Requests never started because of --max-time count as failed. */
	g.failed += g.count - g.started;

	secs = (double)(t1 - t0) / 1e9;
	cpu = (double)(ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec) +
	    (double)(ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec) / 1e6 +
	    (double)(ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec) +
	    (double)(ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec) / 1e6;
	qsort(g.lat, g.ok, sizeof(*g.lat), cmp_u64);
	fmt_range(blk, sizeof(blk), g.blk_min, g.blk_max);
	fmt_range(win, sizeof(win), g.win_min, g.win_max);
	printf("server=%s scenario=%s op=%s sessions_ok=%" PRIu64
	    " sessions_failed=%" PRIu64 " bytes=%" PRIu64 " seconds=%.3f"
	    " mbps=%.2f reqps=%.1f lat_p50_ms=%.3f lat_p99_ms=%.3f"
	    " client_cpu_s=%.3f blksize=%s windowsize=%s"
	    " fallback_blksize=%" PRIu64 " fallback_windowsize=%" PRIu64
	    " fallback_tsize=%" PRIu64 " fallback_timeout=%" PRIu64
	    " retrans=%" PRIu64 " dup_data=%" PRIu64 " gap_acks=%" PRIu64,
	    g.label, g.scenario, g.put ? "wrq" : "rrq", g.ok, g.failed,
	    g.bytes, secs, secs > 0 ? (double)g.bytes / secs / 1e6 : 0,
	    secs > 0 ? (double)g.ok / secs : 0, pct_ms(0.50), pct_ms(0.99),
	    cpu, blk, win, g.fb_blksize, g.fb_window, g.fb_tsize,
	    g.fb_timeout, g.retrans, g.dups, g.gaps);
	for (int k = 0; k < F_NKINDS; k++)
		printf(" fail_%s=%" PRIu64, failname[k], g.fails[k]);
	/* Per-session times (one request per session: per client), and
	 * what a run stopped by --max-time still got intact. */
	printf(" lat_p90_ms=%.3f lat_max_ms=%.3f last_ok_s=%.3f"
	    " partial_bytes=%" PRIu64, pct_ms(0.90), pct_ms(1.0),
	    g.ok ? (double)(g.last_ok - t0) / 1e9 : 0, g.partial);
	putchar('\n');
	fflush(stdout);
	for (unsigned i = 0; i < g.nfailmsg; i++)
		fprintf(stderr, "tftpbench: %s: %s\n", g.label, g.failmsg[i]);
	return g.failed ? 1 : 0;
}
