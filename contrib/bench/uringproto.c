/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * uringproto: a prototype, not a server.  A single-port, read-only TFTP
 * server (RRQ octet; blksize, windowsize, tsize and timeout options; every
 * transfer answered from the one listening socket, as the daemon's
 * single_port mode does) with two I/O backends behind one protocol core,
 * so that comparing them compares I/O only:
 *
 *   --io gso    what the daemon does: epoll, recvmmsg() batches, a preadv()
 *               of each window into place after its headers, the windows
 *               of a batch sent with one sendmmsg() of UDP GSO messages;
 *   --io uring  io_uring: the ring set up disabled, its opcodes restricted,
 *               registered buffers and files, a multishot RECVMSG on a
 *               provided buffer ring, per window a READ_FIXED linked to
 *               its SENDMSGs (UDP_SEGMENT), a TIMEOUT as the tick.
 *
 * Both then install a seccomp allowlist: io_uring_setup and
 * io_uring_register stay forbidden once the ring exists (checked at start).
 * SIGUSR1 prints the counters on stderr; SIGTERM/SIGINT stop.
 * Bounded: MAX_XFERS transfers, a fixed pool of window buffers.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <seccomp.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "tftp_wire.h"

#ifndef UDP_SEGMENT
#define UDP_SEGMENT	103
#endif

#define MAX_XFERS	2048
#define HASH_SIZE	4096		/* power of 2 */
#define WIN_MAX		64		/* blocks per window (OACK clamps) */
#define WIN_BYTES	(1u << 20)	/* payload per window (OACK clamps) */
#define GSO_MAX_SEGS	64		/* the kernel's UDP_MAX_SEGMENTS */
#define GSO_MAX_BYTES	65000u
#define GSO_MAX_SEG	32768u		/* larger: one message per packet */
#define RX_BATCH	64
#define RX_BUFSZ	2048
#define RX_NBUF		1024		/* provided buffers (power of 2) */
#define TICK_MS		100
#define MAX_TRIES	6
#define NCTL		256		/* ERROR packets in flight (uring) */
#ifndef URING_TASKRUN_FLAGS
#define URING_TASKRUN_FLAGS	(IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN)
#endif

/* Window buffer classes: a fixed pool, registered with the ring. */
static const struct { size_t size; unsigned count; } wclass[] = {
	{ 8u << 10, 1024 },		/* ws4 x 1468: the PXE storm */
	{ 128u << 10, 128 },		/* ws64 x 1468 */
	{ WIN_BYTES + WIN_MAX * TFTP_HDR_LEN, 16 },
};
#define NCLASS	(sizeof(wclass) / sizeof(wclass[0]))

struct wbuf {
	uint8_t		*mem;
	size_t		 cap;
	unsigned	 cls, idx;	/* idx: registered buffer index */
	int		 xslot;		/* -1: free */
	uint32_t	 xgen;
	unsigned	 pending;	/* CQEs still to come (uring) */
	bool		 failed;
	size_t		 want;		/* bytes the read must return */
	struct sockaddr_in to;
	unsigned	 nmsg;
	struct msghdr	 msg[WIN_MAX];
	struct iovec	 iov[2 * WIN_MAX];
	union {
		char		buf[CMSG_SPACE(sizeof(uint16_t))];
		struct cmsghdr	align;
	}		 cm[WIN_MAX];
	uint8_t		 hdr[WIN_MAX][TFTP_HDR_LEN];
	struct wbuf	*next;		/* free list */
};

struct xfer {
	bool		 used, closing;
	uint32_t	 gen;
	int		 hnext;		/* hash chain */
	struct sockaddr_in peer;
	int		 fd;
	uint64_t	 size, nblk, acked;	/* blocks 1..nblk; acked so far */
	uint32_t	 blksize, wsize, sent_k;
	bool		 oack_wait;	/* OACK sent, waiting for ACK 0 */
	bool		 busy, want_send;	/* uring: a window in flight */
	bool		 pool_wait;	/* uring: waits for a window buffer */
	unsigned	 inflight;	/* uring: SQEs that point into us */
	uint64_t	 deadline, tmo_ns;
	unsigned	 tries;
	uint8_t		 ctl[512];
	size_t		 ctllen;
	struct iovec	 ctliov;
	struct msghdr	 ctlmsg;
	int		 updfd;		/* FILES_UPDATE's argument */
};

struct stats {
	uint64_t pkts, msgs, xfers_ok, xfers_failed, rx, enters, sqes, cqes,
	    pool_waits;
};

struct srv;
struct backend {
	const char *name;
	int	(*init)(struct srv *);
	int	(*run)(struct srv *);
	/* Send blocks first..first+k-1 of x (a window). */
	void	(*send_window)(struct srv *, struct xfer *, uint64_t, uint32_t);
	/* Send x->ctl, or an ERROR to peer with no transfer (x NULL). */
	void	(*send_ctl)(struct srv *, struct xfer *,
		    const struct sockaddr_in *, const void *, size_t);
	void	(*opened)(struct srv *, struct xfer *);
	void	(*closed)(struct srv *, struct xfer *);
};

struct srv {
	const struct backend *be;
	int		 sock, rootfd;
	unsigned	 timeout_s;
	struct xfer	 x[MAX_XFERS];
	int		 hash[HASH_SIZE];
	struct wbuf	*wfree[NCLASS];
	struct wbuf	*wall;
	unsigned	 nwbuf;
	struct stats	 st;
	uint64_t	 next_tick;
	unsigned	 npoolwait;
	unsigned	 chain_cqes;	/* uring: window CQEs still to come */
	/* gso */
	int		 ep;
	struct mmsghdr	 out[256];
	struct wbuf	*outbuf[256];
	unsigned	 nout;
	uint8_t		 errbuf[256][128];
	unsigned	 nerr;
	/* uring */
	struct io_uring	 ring;
	struct io_uring_buf_ring *br;
	uint8_t		*rxmem;
	struct msghdr	 rxmsg;
	struct __kernel_timespec tick;
	struct { uint8_t b[128]; struct iovec iov; struct msghdr m;
		struct sockaddr_in to; bool used; } ectl[NCTL];
	int		*updfds;
};

static volatile sig_atomic_t	quit, dump;

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void
on_sig(int sig)
{
	if (sig == SIGUSR1)
		dump = 1;
	else
		quit = 1;
}

static void
print_stats(const struct srv *s)
{
	fprintf(stderr, "uringproto: io=%s pkts=%llu msgs=%llu xfers_ok=%llu "
	    "xfers_failed=%llu rx=%llu enters=%llu sqes=%llu cqes=%llu "
	    "pool_waits=%llu\n", s->be->name,
	    (unsigned long long)s->st.pkts, (unsigned long long)s->st.msgs,
	    (unsigned long long)s->st.xfers_ok,
	    (unsigned long long)s->st.xfers_failed,
	    (unsigned long long)s->st.rx, (unsigned long long)s->st.enters,
	    (unsigned long long)s->st.sqes, (unsigned long long)s->st.cqes,
	    (unsigned long long)s->st.pool_waits);
}

/* ---- window buffers: a fixed pool in classes */

static int
pool_init(struct srv *s)
{
	unsigned c, i, n = 0;
	struct wbuf *b;

	for (c = 0; c < NCLASS; c++)
		n += wclass[c].count;
	if ((s->wall = calloc(n, sizeof(*s->wall))) == NULL)
		return -ENOMEM;
	s->nwbuf = n;
	b = s->wall;
	for (c = 0; c < NCLASS; c++) {
		for (i = 0; i < wclass[c].count; i++, b++) {
			/* Page-aligned: registered buffers are pinned. */
			if (posix_memalign((void **)&b->mem, 4096,
			    wclass[c].size) != 0)
				return -ENOMEM;
			memset(b->mem, 0, wclass[c].size);
			b->cap = wclass[c].size;
			b->cls = c;
			b->idx = (unsigned)(b - s->wall);
			b->xslot = -1;
			b->next = s->wfree[c];
			s->wfree[c] = b;
		}
	}
	return 0;
}

static struct wbuf *
wbuf_get(struct srv *s, size_t need)
{
	struct wbuf *b;
	unsigned c;

	for (c = 0; c < NCLASS; c++) {
		if (wclass[c].size < need || (b = s->wfree[c]) == NULL)
			continue;
		s->wfree[c] = b->next;
		b->next = NULL;
		b->nmsg = 0;
		b->pending = 0;
		b->failed = false;
		return b;
	}
	return NULL;
}

static void
wbuf_put(struct srv *s, struct wbuf *b)
{
	b->xslot = -1;
	b->next = s->wfree[b->cls];
	s->wfree[b->cls] = b;
}

/*
 * The messages of a window whose packet j is iov[2j] (header) and
 * iov[2j+1] (data): runs of equal packets as one UDP GSO message each,
 * within the kernel's limits; packets too large for GSO to pay, one each.
 */
static void
wbuf_msgs(struct wbuf *b, const struct sockaddr_in *peer, uint32_t k,
    size_t seg, bool contig)
{
	uint32_t j = 0, n, per, i;
	size_t len;
	struct msghdr *m;
	struct cmsghdr *cm;

	per = seg > GSO_MAX_SEG ? 1 : (uint32_t)(GSO_MAX_BYTES / seg);
	if (per > GSO_MAX_SEGS)
		per = GSO_MAX_SEGS;
	if (per < 1)
		per = 1;
	b->nmsg = 0;
	b->to = *peer;
	while (j < k) {
		n = k - j < per ? k - j : per;
		m = &b->msg[b->nmsg];
		memset(m, 0, sizeof(*m));
		m->msg_name = &b->to;
		m->msg_namelen = sizeof(b->to);
		m->msg_iov = &b->iov[2 * j];
		m->msg_iovlen = 2 * n;
		if (contig) {	/* headers in place: one iovec per message */
			for (i = j, len = 0; i < j + n; i++)
				len += b->iov[2 * i].iov_len +
				    b->iov[2 * i + 1].iov_len;
			b->iov[2 * j].iov_len = len;
			m->msg_iovlen = 1;
		}
		if (n > 1) {
			m->msg_control = b->cm[b->nmsg].buf;
			m->msg_controllen = sizeof(b->cm[b->nmsg].buf);
			cm = CMSG_FIRSTHDR(m);
			cm->cmsg_level = SOL_UDP;
			cm->cmsg_type = UDP_SEGMENT;
			cm->cmsg_len = CMSG_LEN(sizeof(uint16_t));
			*(uint16_t *)(void *)CMSG_DATA(cm) = (uint16_t)seg;
		}
		b->nmsg++;
		j += n;
	}
}

/* ---- the protocol core: no I/O of its own */

static unsigned
hash_peer(const struct sockaddr_in *p)
{
	uint32_t h = p->sin_addr.s_addr * 2654435761u ^
	    (uint32_t)p->sin_port * 40503u;

	return (h ^ (h >> 16)) & (HASH_SIZE - 1);
}

static struct xfer *
xfer_find(struct srv *s, const struct sockaddr_in *p)
{
	int i;

	for (i = s->hash[hash_peer(p)]; i >= 0; i = s->x[i].hnext)
		if (s->x[i].peer.sin_addr.s_addr == p->sin_addr.s_addr &&
		    s->x[i].peer.sin_port == p->sin_port)
			return &s->x[i];
	return NULL;
}

static void
xfer_unhash(struct srv *s, struct xfer *x)
{
	int *pp = &s->hash[hash_peer(&x->peer)], i = (int)(x - s->x);

	while (*pp >= 0 && *pp != i)
		pp = &s->x[*pp].hnext;
	if (*pp == i)
		*pp = x->hnext;
}

/* Release the slot once no SQE still points into it. */
static void
xfer_release(struct xfer *x)
{
	if (x->inflight > 0 || !x->closing)
		return;
	x->used = x->closing = false;
}

static void
xfer_end(struct srv *s, struct xfer *x, bool ok)
{
	if (x->closing)
		return;
	if (ok)
		s->st.xfers_ok++;
	else
		s->st.xfers_failed++;
	xfer_unhash(s, x);
	if (x->pool_wait) {
		x->pool_wait = false;
		s->npoolwait--;
	}
	s->be->closed(s, x);
	close(x->fd);
	x->fd = -1;
	x->closing = true;
	xfer_release(x);
}

static size_t
mk_error(uint8_t *buf, size_t cap, uint16_t code, const char *msg)
{
	size_t n = strlen(msg);

	if (n + 5 > cap)
		n = cap - 5;
	buf[0] = 0;
	buf[1] = TFTP_ERROR;
	buf[2] = (uint8_t)(code >> 8);
	buf[3] = (uint8_t)code;
	memcpy(buf + 4, msg, n);
	buf[4 + n] = 0;
	return n + 5;
}

static void
send_error(struct srv *s, const struct sockaddr_in *to, uint16_t code,
    const char *msg)
{
	uint8_t b[128];

	s->be->send_ctl(s, NULL, to, b, mk_error(b, sizeof(b), code, msg));
}

static uint64_t
blk_len(const struct xfer *x, uint64_t n)	/* n: 1-based */
{
	uint64_t off = (n - 1) * x->blksize;

	return n < x->nblk ? x->blksize : x->size - off;
}

/* The next window: from the block after the acknowledged ones. */
static void
xfer_send(struct srv *s, struct xfer *x, uint64_t now)
{
	uint64_t left = x->nblk - x->acked;
	uint32_t k = left < x->wsize ? (uint32_t)left : x->wsize;

	x->deadline = now + x->tmo_ns;
	if (x->oack_wait) {
		s->be->send_ctl(s, x, &x->peer, x->ctl, x->ctllen);
		return;
	}
	if (x->busy) {		/* uring: after the one in flight */
		x->want_send = true;
		return;
	}
	x->sent_k = k;
	s->be->send_window(s, x, x->acked + 1, k);
}

static bool
opt_num(const char *v, unsigned long min, unsigned long max,
    unsigned long *out)
{
	char *end;
	unsigned long n;

	if (*v < '0' || *v > '9')
		return false;
	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno != 0 || *end != '\0' || n < min)
		return false;
	*out = n > max ? max : n;
	return true;
}

static void
handle_rrq(struct srv *s, const struct sockaddr_in *peer, char *p,
    size_t len, uint64_t now)
{
	char *end = p + len, *name, *mode, *o, *v;
	struct open_how how = { .flags = O_RDONLY | O_CLOEXEC | O_NOCTTY,
	    .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS };
	unsigned long blk = TFTP_BLKSIZE_DEFAULT, ws = 1, tmo = 0, n;
	bool want_tsize = false, opts = false;
	struct xfer *x = NULL;
	struct stat sb;
	bool ask_blk = false, ask_ws = false;
	size_t ol = 2;
	uint32_t gen;
	unsigned i;
	int fd;

	if (len == 0 || end[-1] != '\0') {
		send_error(s, peer, TFTP_EBADOP, "malformed request");
		return;
	}
	name = p;
	mode = name + strlen(name) + 1;
	if (mode >= end || strcasecmp(mode, "octet") != 0) {
		send_error(s, peer, TFTP_EBADOP, "octet mode only");
		return;
	}
	for (o = mode + strlen(mode) + 1; o < end; o = v + strlen(v) + 1) {
		v = o + strlen(o) + 1;
		if (v >= end)
			break;
		if (strcasecmp(o, "blksize") == 0 &&
		    opt_num(v, TFTP_BLKSIZE_MIN, TFTP_BLKSIZE_MAX, &n))
			blk = n, opts = ask_blk = true;
		else if (strcasecmp(o, "windowsize") == 0 &&
		    opt_num(v, TFTP_WINDOW_MIN, WIN_MAX, &n))
			ws = n, opts = ask_ws = true;
		else if (strcasecmp(o, "timeout") == 0 &&
		    opt_num(v, TFTP_TIMEOUT_MIN, TFTP_TIMEOUT_MAX, &n) &&
		    n == strtoul(v, NULL, 10))
			tmo = n, opts = true;
		else if (strcasecmp(o, "tsize") == 0)
			want_tsize = opts = true;
	}
	while (ws > 1 && blk * ws > WIN_BYTES)
		ws--;
	for (i = 0; i < MAX_XFERS && s->x[i].used; i++)
		;
	if (i == MAX_XFERS) {
		send_error(s, peer, TFTP_EUNDEF, "busy");
		return;
	}
	while (*name == '/')
		name++;
	fd = (int)syscall(SYS_openat2, s->rootfd, name, &how, sizeof(how));
	if (fd < 0) {
		send_error(s, peer, errno == ENOENT ? TFTP_ENOTFOUND :
		    TFTP_EACCESS, strerror(errno));
		return;
	}
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		send_error(s, peer, TFTP_EACCESS, "not a regular file");
		return;
	}
	x = &s->x[i];
	gen = x->gen;
	memset(x, 0, offsetof(struct xfer, ctl));
	x->used = true;
	x->gen = gen + 1;
	x->peer = *peer;
	x->fd = fd;
	x->size = (uint64_t)sb.st_size;
	x->blksize = (uint32_t)blk;
	x->wsize = (uint32_t)ws;
	x->nblk = x->size / blk + 1;
	x->tmo_ns = (uint64_t)(tmo ? tmo : s->timeout_s) * 1000000000u;
	x->hnext = s->hash[hash_peer(peer)];
	s->hash[hash_peer(peer)] = (int)i;
	s->be->opened(s, x);
	if (opts) {
		x->ctl[0] = 0;
		x->ctl[1] = TFTP_OACK;
#define OPT(k, fmt, val) ol += (size_t)snprintf((char *)x->ctl + ol, \
	    sizeof(x->ctl) - ol, "%s%c" fmt "%c", k, 0, val, 0)
		if (ask_blk)
			OPT("blksize", "%lu", blk);
		if (ask_ws)
			OPT("windowsize", "%lu", ws);
		if (tmo)
			OPT("timeout", "%lu", tmo);
		if (want_tsize)
			OPT("tsize", "%llu", (unsigned long long)x->size);
#undef OPT
		x->ctllen = ol;
		x->oack_wait = true;
	}
	xfer_send(s, x, now);
}

static void
handle_ack(struct srv *s, struct xfer *x, uint16_t blk, uint64_t now)
{
	uint16_t delta;

	if (x->oack_wait) {
		if (blk != 0)
			return;
		x->oack_wait = false;
		x->tries = 0;
		xfer_send(s, x, now);
		return;
	}
	/* Which block of the window sent this names (block numbers roll
	 * over to 0); an ACK of nothing new changes nothing (RFC 7440: the
	 * timer resends, no sorcerer's apprentice). */
	delta = (uint16_t)(blk - (uint16_t)x->acked);
	if (delta == 0 || delta > x->sent_k)
		return;
	x->acked += delta;
	x->tries = 0;
	if (x->acked >= x->nblk) {
		xfer_end(s, x, true);
		return;
	}
	xfer_send(s, x, now);
}

static void
handle_packet(struct srv *s, const struct sockaddr_in *peer, uint8_t *p,
    size_t len, uint64_t now)
{
	struct xfer *x;
	uint16_t op;

	s->st.rx++;
	if (len < 4)
		return;
	op = (uint16_t)(p[0] << 8 | p[1]);
	x = xfer_find(s, peer);
	if (op == TFTP_RRQ) {
		if (x != NULL)	/* a resent request: the timer answers */
			return;
		handle_rrq(s, peer, (char *)p + 2, len - 2, now);
	} else if (op == TFTP_ACK && x != NULL) {
		handle_ack(s, x, (uint16_t)(p[2] << 8 | p[3]), now);
	} else if (op == TFTP_ERROR && x != NULL) {
		xfer_end(s, x, false);
	} else if (op == TFTP_WRQ) {
		send_error(s, peer, TFTP_EACCESS, "read-only");
	} else if (x == NULL && op != TFTP_ERROR) {
		send_error(s, peer, TFTP_EBADID, "unknown transfer");
	}
}

/* Every TICK_MS: resend the windows whose timer ran out. */
static void
tick(struct srv *s, uint64_t now)
{
	unsigned i;
	struct xfer *x;

	if (now < s->next_tick)
		return;
	s->next_tick = now + TICK_MS * 1000000u;
	for (i = 0; i < MAX_XFERS; i++) {
		x = &s->x[i];
		if (!x->used || x->closing || now < x->deadline)
			continue;
		if (++x->tries > MAX_TRIES) {
			xfer_end(s, x, false);
			continue;
		}
		xfer_send(s, x, now);
	}
}

/* ---- backend 1: epoll + recvmmsg + preadv + sendmmsg of GSO messages */

static void
gso_flush(struct srv *s)
{
	unsigned i = 0;
	int n;

	while (i < s->nout) {
		n = sendmmsg(s->sock, s->out + i, s->nout - i, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			i++;	/* lost, as on the wire: the timer resends */
			continue;
		}
		s->st.msgs += (uint64_t)n;
		i += (unsigned)n;
	}
	for (i = 0; i < s->nout; i++)
		if (s->outbuf[i] != NULL)
			wbuf_put(s, s->outbuf[i]);
	s->nout = 0;
	s->nerr = 0;
}

static void
gso_queue(struct srv *s, struct msghdr *m, struct wbuf *owner)
{
	if (s->nout == sizeof(s->out) / sizeof(s->out[0]))
		gso_flush(s);
	s->out[s->nout].msg_hdr = *m;
	s->outbuf[s->nout] = owner;
	s->nout++;
}

static void
gso_send_window(struct srv *s, struct xfer *x, uint64_t first, uint32_t k)
{
	size_t seg = TFTP_HDR_LEN + x->blksize, total = 0, want;
	struct iovec riov[WIN_MAX];
	struct wbuf *b;
	uint32_t j;
	ssize_t n;

	if ((b = wbuf_get(s, seg * k)) == NULL) {
		s->st.pool_waits++;
		gso_flush(s);
		if ((b = wbuf_get(s, seg * k)) == NULL)
			return;		/* cannot happen: all returned */
	}
	for (j = 0; j < k; j++) {
		uint8_t *h = b->mem + j * seg;

		want = blk_len(x, first + j);
		h[0] = 0;
		h[1] = TFTP_DATA;
		h[2] = (uint8_t)((first + j) >> 8);
		h[3] = (uint8_t)(first + j);
		riov[j].iov_base = h + TFTP_HDR_LEN;
		riov[j].iov_len = want;
		/* Header and data in place: wbuf_msgs() makes one iovec
		 * of a message's packets. */
		b->iov[2 * j].iov_base = h;
		b->iov[2 * j].iov_len = TFTP_HDR_LEN + want;
		b->iov[2 * j + 1].iov_base = h + TFTP_HDR_LEN + want;
		b->iov[2 * j + 1].iov_len = 0;
		total += want;
	}
	n = preadv(x->fd, riov, (int)k, (off_t)((first - 1) * x->blksize));
	if (n < 0 || (size_t)n != total) {
		wbuf_put(s, b);
		send_error(s, &x->peer, TFTP_EUNDEF, "file changed");
		xfer_end(s, x, false);
		return;
	}
	wbuf_msgs(b, &x->peer, k, seg, true);
	for (j = 0; j < b->nmsg; j++)
		gso_queue(s, &b->msg[j], j + 1 == b->nmsg ? b : NULL);
	s->st.pkts += k;
}

static void
gso_send_ctl(struct srv *s, struct xfer *x, const struct sockaddr_in *to,
    const void *buf, size_t len)
{
	struct msghdr m = { 0 };
	struct iovec *iov;

	if (x != NULL) {
		x->ctliov = (struct iovec){ x->ctl, x->ctllen };
		iov = &x->ctliov;
	} else {
		if (s->nerr == sizeof(s->errbuf) / sizeof(s->errbuf[0]))
			gso_flush(s);
		memcpy(s->errbuf[s->nerr], buf, len);
		s->ectl[s->nerr].iov = (struct iovec){ s->errbuf[s->nerr], len };
		s->ectl[s->nerr].to = *to;
		iov = &s->ectl[s->nerr].iov;
		to = &s->ectl[s->nerr].to;
		s->nerr++;
	}
	m.msg_name = (void *)to;
	m.msg_namelen = sizeof(*to);
	m.msg_iov = iov;
	m.msg_iovlen = 1;
	gso_queue(s, &m, NULL);
	s->st.pkts++;
}

static void
gso_nop(struct srv *s, struct xfer *x)
{
	(void)s;
	(void)x;
}

static int
gso_init(struct srv *s)
{
	struct epoll_event ev = { .events = EPOLLIN };

	if ((s->ep = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
	    epoll_ctl(s->ep, EPOLL_CTL_ADD, s->sock, &ev) < 0)
		return -errno;
	return 0;
}

static int
gso_run(struct srv *s)
{
	static uint8_t rbuf[RX_BATCH][RX_BUFSZ];
	struct sockaddr_in from[RX_BATCH];
	struct mmsghdr mm[RX_BATCH];
	struct iovec iov[RX_BATCH];
	struct epoll_event ev;
	uint64_t now;
	int i, n, wait;

	while (!quit) {
		if (dump) {
			dump = 0;
			print_stats(s);
		}
		now = now_ns();
		wait = s->next_tick > now ?
		    (int)((s->next_tick - now) / 1000000u) + 1 : 0;
		if (epoll_wait(s->ep, &ev, 1, wait) < 0 && errno != EINTR)
			return -errno;
		do {
			for (i = 0; i < RX_BATCH; i++) {
				iov[i] = (struct iovec){ rbuf[i], RX_BUFSZ };
				mm[i].msg_hdr = (struct msghdr){
				    .msg_name = &from[i],
				    .msg_namelen = sizeof(from[i]),
				    .msg_iov = &iov[i], .msg_iovlen = 1 };
			}
			n = recvmmsg(s->sock, mm, RX_BATCH, MSG_DONTWAIT, NULL);
			now = now_ns();
			for (i = 0; i < n; i++)
				if (!(mm[i].msg_hdr.msg_flags & MSG_TRUNC))
					handle_packet(s, &from[i], rbuf[i],
					    mm[i].msg_len, now);
			gso_flush(s);
		} while (n == RX_BATCH);
		tick(s, now_ns());
		gso_flush(s);
	}
	return 0;
}

static const struct backend be_gso = {
	"gso", gso_init, gso_run, gso_send_window, gso_send_ctl, gso_nop,
	gso_nop,
};

/* ---- backend 2: io_uring */

enum { U_RECV = 1, U_TICK, U_WIN, U_CTL, U_ERR, U_UPD };
#define UD(t, i, g)	((uint64_t)(t) << 56 | (uint64_t)(i) << 32 | (g))
#define UD_T(u)		((unsigned)((u) >> 56))
#define UD_I(u)		((unsigned)((u) >> 32) & 0xffffffu)
#define UD_G(u)		((uint32_t)(u))
#define BGID		1
#define SLOT_SOCK	0	/* registered files: the socket, then xfers */

static struct io_uring_sqe *
u_sqe(struct srv *s)
{
	struct io_uring_sqe *e = io_uring_get_sqe(&s->ring);

	if (e == NULL) {	/* SQ full: hand what is there over */
		s->st.sqes += (uint64_t)io_uring_submit(&s->ring);
		s->st.enters++;
		e = io_uring_get_sqe(&s->ring);
	}
	return e;
}

static void
u_arm_recv(struct srv *s)
{
	struct io_uring_sqe *e = u_sqe(s);

	io_uring_prep_recvmsg_multishot(e, SLOT_SOCK, &s->rxmsg, 0);
	e->flags |= IOSQE_FIXED_FILE | IOSQE_BUFFER_SELECT;
	e->buf_group = BGID;
	e->user_data = UD(U_RECV, 0, 0);
}

static void
u_arm_tick(struct srv *s)
{
	struct io_uring_sqe *e = u_sqe(s);

	io_uring_prep_timeout(e, &s->tick, 0, 0);
	e->user_data = UD(U_TICK, 0, 0);
}

static void
u_send_window(struct srv *s, struct xfer *x, uint64_t first, uint32_t k)
{
	size_t seg = TFTP_HDR_LEN + x->blksize, total = 0, want, at = 0;
	struct io_uring_sqe *e;
	struct wbuf *b;
	uint32_t j;

	for (j = 0; j < k; j++)
		total += blk_len(x, first + j);
	if ((b = wbuf_get(s, total)) == NULL) {
		/* The pool is busy: retried when CQEs have freed some. */
		s->st.pool_waits++;
		if (!x->pool_wait) {
			x->pool_wait = true;
			s->npoolwait++;
		}
		return;
	}
	b->want = total;
	b->xslot = (int)(x - s->x);
	b->xgen = x->gen;
	for (j = 0; j < k; j++) {
		want = blk_len(x, first + j);
		b->hdr[j][0] = 0;
		b->hdr[j][1] = TFTP_DATA;
		b->hdr[j][2] = (uint8_t)((first + j) >> 8);
		b->hdr[j][3] = (uint8_t)(first + j);
		b->iov[2 * j] = (struct iovec){ b->hdr[j], TFTP_HDR_LEN };
		b->iov[2 * j + 1] = (struct iovec){ b->mem + at, want };
		at += want;
	}
	wbuf_msgs(b, &x->peer, k, seg, false);
	/* One read of the whole window into the registered buffer, then
	 * its messages, linked: a short read cancels the sends. */
	e = u_sqe(s);
	io_uring_prep_read_fixed(e, 1 + (int)(x - s->x), b->mem,
	    (unsigned)total, (first - 1) * x->blksize, (int)b->idx);
	e->flags |= IOSQE_FIXED_FILE | IOSQE_IO_LINK;
	e->user_data = UD(U_WIN, b->idx, 0);
	for (j = 0; j < b->nmsg; j++) {
		e = u_sqe(s);
		io_uring_prep_sendmsg(e, SLOT_SOCK, &b->msg[j], 0);
		e->flags |= IOSQE_FIXED_FILE |
		    (j + 1 < b->nmsg ? IOSQE_IO_LINK : 0);
		e->user_data = UD(U_WIN, b->idx, 1);
	}
	b->pending = 1 + b->nmsg;
	s->chain_cqes += b->pending;
	x->busy = true;
	x->inflight++;
	s->st.pkts += k;
	s->st.msgs += b->nmsg;
}

static void
u_send_ctl(struct srv *s, struct xfer *x, const struct sockaddr_in *to,
    const void *buf, size_t len)
{
	struct io_uring_sqe *e;
	unsigned i;

	if (x != NULL) {
		x->ctliov = (struct iovec){ x->ctl, x->ctllen };
		x->ctlmsg = (struct msghdr){ .msg_name = &x->peer,
		    .msg_namelen = sizeof(x->peer), .msg_iov = &x->ctliov,
		    .msg_iovlen = 1 };
		e = u_sqe(s);
		io_uring_prep_sendmsg(e, SLOT_SOCK, &x->ctlmsg, 0);
		e->user_data = UD(U_CTL, x - s->x, x->gen);
		x->inflight++;
	} else {
		for (i = 0; i < NCTL && s->ectl[i].used; i++)
			;
		if (i == NCTL || len > sizeof(s->ectl[i].b))
			return;		/* dropped, as a full socket would */
		memcpy(s->ectl[i].b, buf, len);
		s->ectl[i].to = *to;
		s->ectl[i].iov = (struct iovec){ s->ectl[i].b, len };
		s->ectl[i].m = (struct msghdr){ .msg_name = &s->ectl[i].to,
		    .msg_namelen = sizeof(*to), .msg_iov = &s->ectl[i].iov,
		    .msg_iovlen = 1 };
		s->ectl[i].used = true;
		e = u_sqe(s);
		io_uring_prep_sendmsg(e, SLOT_SOCK, &s->ectl[i].m, 0);
		e->user_data = UD(U_ERR, i, 0);
	}
	e->flags |= IOSQE_FIXED_FILE;
	s->st.pkts++;
	s->st.msgs++;
}

/* The file goes into the ring's table at the transfer's slot: an SQE,
 * not io_uring_register(), which seccomp forbids by then.  Linked, so
 * that the transfer's first read comes after it. */
static void
u_opened(struct srv *s, struct xfer *x)
{
	struct io_uring_sqe *e = u_sqe(s);

	x->updfd = x->fd;
	io_uring_prep_files_update(e, &x->updfd, 1, 1 + (int)(x - s->x));
	e->flags |= IOSQE_IO_LINK;
	e->user_data = UD(U_UPD, x - s->x, x->gen);
	x->inflight++;
}

/* The slot keeps its reference until the next transfer there replaces
 * it: an SQE less per transfer, bounded by MAX_XFERS open files. */
static void
u_closed(struct srv *s, struct xfer *x)
{
	(void)s;
	(void)x;
}

static void
u_win_cqe(struct srv *s, struct wbuf *b, const struct io_uring_cqe *c)
{
	struct xfer *x;

	/* The read (tag 0) must return the whole window, else the file
	 * shrank and the linked sends were cancelled.  A send that failed
	 * is a packet lost, as on the wire: the timer resends. */
	if (UD_G(c->user_data) == 0 && (c->res < 0 || (size_t)c->res != b->want))
		b->failed = true;
	s->chain_cqes--;
	if (--b->pending > 0)
		return;
	x = &s->x[b->xslot];
	if (x->gen == b->xgen) {
		x->busy = false;
		x->inflight--;
		if (b->failed && !x->closing) {
			/* A read that came short: the file changed. */
			send_error(s, &x->peer, TFTP_EUNDEF, "file changed");
			xfer_end(s, x, false);
		} else if (x->want_send && !x->closing) {
			x->want_send = false;
			xfer_send(s, x, now_ns());
		}
		xfer_release(x);
	}
	wbuf_put(s, b);
}

static void
u_cqe(struct srv *s, struct io_uring_cqe *c, uint64_t now, bool *rearm)
{
	unsigned t = UD_T(c->user_data), i = UD_I(c->user_data), bid;
	struct io_uring_recvmsg_out *o;
	struct xfer *x;
	void *p;

	s->st.cqes++;
	switch (t) {
	case U_RECV:
		if (!(c->flags & IORING_CQE_F_MORE))
			*rearm = true;
		if (c->res < 0 || !(c->flags & IORING_CQE_F_BUFFER))
			return;
		bid = c->flags >> IORING_CQE_BUFFER_SHIFT;
		p = s->rxmem + (size_t)bid * RX_BUFSZ;
		o = io_uring_recvmsg_validate(p, c->res, &s->rxmsg);
		if (o != NULL && !(o->flags & MSG_TRUNC) &&
		    o->namelen == sizeof(struct sockaddr_in))
			handle_packet(s, io_uring_recvmsg_name(o),
			    io_uring_recvmsg_payload(o, &s->rxmsg),
			    io_uring_recvmsg_payload_length(o, c->res,
			    &s->rxmsg), now);
		io_uring_buf_ring_add(s->br, p, RX_BUFSZ, (unsigned short)bid,
		    io_uring_buf_ring_mask(RX_NBUF), 0);
		io_uring_buf_ring_advance(s->br, 1);
		return;
	case U_TICK:
		tick(s, now);
		u_arm_tick(s);
		return;
	case U_WIN:
		u_win_cqe(s, &s->wall[i], c);
		return;
	case U_ERR:
		s->ectl[i].used = false;
		return;
	case U_CTL:
	case U_UPD:
		x = &s->x[i];
		if (x->gen != UD_G(c->user_data))
			return;
		x->inflight--;
		if (t == U_UPD && c->res < 0 && !x->closing)
			xfer_end(s, x, false);
		xfer_release(x);
		return;
	}
}

/* Show that the restrictions hold: a NOP, not allowed, is refused. */
static int
u_check_restricted(struct srv *s)
{
	struct io_uring_sqe *e = io_uring_get_sqe(&s->ring);
	struct io_uring_cqe *c;
	int r;

	io_uring_prep_nop(e);
	e->user_data = 0;
	if ((r = io_uring_submit_and_wait(&s->ring, 1)) < 0 ||
	    (r = io_uring_peek_cqe(&s->ring, &c)) < 0)
		return r;
	r = c->res;
	io_uring_cqe_seen(&s->ring, c);
	fprintf(stderr, "uringproto: a NOP on the restricted ring: %s\n",
	    r == -EACCES ? "refused (EACCES)" : "allowed (!)");
	return r == -EACCES ? 0 : -EPERM;
}

static int
u_init(struct srv *s)
{
	struct io_uring_params pr = {
		.flags = IORING_SETUP_R_DISABLED | IORING_SETUP_CQSIZE |
		    URING_TASKRUN_FLAGS |
		    IORING_SETUP_SUBMIT_ALL,
		.cq_entries = 16384,
	};
	/* What the ring may do once enabled: these opcodes and flags, and
	 * no io_uring_register() operation at all. */
	static const uint8_t ops[] = { IORING_OP_RECVMSG, IORING_OP_SENDMSG,
	    IORING_OP_READ_FIXED, IORING_OP_TIMEOUT, IORING_OP_FILES_UPDATE };
	struct io_uring_restriction res[sizeof(ops) + 1];
	struct io_uring_buf_reg reg = { 0 };
	struct iovec *iov;
	struct rlimit rl = { MAX_XFERS + 64, MAX_XFERS + 64 };
	int *files, r;
	unsigned i;

	if ((r = io_uring_queue_init_params(4096, &s->ring, &pr)) < 0)
		return r;
	/* Registered buffers: the window pool, pinned. */
	if ((iov = calloc(s->nwbuf, sizeof(*iov))) == NULL)
		return -ENOMEM;
	for (i = 0; i < s->nwbuf; i++)
		iov[i] = (struct iovec){ s->wall[i].mem, s->wall[i].cap };
	if ((r = io_uring_register_buffers(&s->ring, iov, s->nwbuf)) < 0)
		return r;
	free(iov);
	/* Registered files: the socket, and a slot per transfer. */
	(void)setrlimit(RLIMIT_NOFILE, &rl);
	if ((files = calloc(1 + MAX_XFERS, sizeof(int))) == NULL)
		return -ENOMEM;
	files[0] = s->sock;
	for (i = 1; i <= MAX_XFERS; i++)
		files[i] = -1;
	if ((r = io_uring_register_files(&s->ring, files, 1 + MAX_XFERS)) < 0)
		return r;
	free(files);
	/* The provided buffer ring the multishot receive takes from. */
	if (posix_memalign((void **)&s->br, 4096,
	    RX_NBUF * sizeof(struct io_uring_buf)) != 0 ||
	    posix_memalign((void **)&s->rxmem, 4096,
	    (size_t)RX_NBUF * RX_BUFSZ) != 0)
		return -ENOMEM;
	io_uring_buf_ring_init(s->br);
	reg.ring_addr = (uint64_t)(uintptr_t)s->br;
	reg.ring_entries = RX_NBUF;
	reg.bgid = BGID;
	if ((r = io_uring_register_buf_ring(&s->ring, &reg, 0)) < 0)
		return r;
	for (i = 0; i < RX_NBUF; i++)
		io_uring_buf_ring_add(s->br, s->rxmem + (size_t)i * RX_BUFSZ,
		    RX_BUFSZ, (unsigned short)i,
		    io_uring_buf_ring_mask(RX_NBUF), (int)i);
	io_uring_buf_ring_advance(s->br, RX_NBUF);
	/* Restrictions, then enable: from here on the ring runs these
	 * opcodes only, and io_uring_register() can do nothing. */
	memset(res, 0, sizeof(res));
	for (i = 0; i < sizeof(ops); i++) {
		res[i].opcode = IORING_RESTRICTION_SQE_OP;
		res[i].sqe_op = ops[i];
	}
	res[i].opcode = IORING_RESTRICTION_SQE_FLAGS_ALLOWED;
	res[i].sqe_flags = IOSQE_FIXED_FILE | IOSQE_IO_LINK |
	    IOSQE_BUFFER_SELECT;
	/* (Debian's liburing 2.3 declares the two helpers but does not
	 * export them: the system call itself.) */
	if (syscall(SYS_io_uring_register, s->ring.ring_fd,
	    IORING_REGISTER_RESTRICTIONS, res, sizeof(res) / sizeof(res[0])) < 0 ||
	    syscall(SYS_io_uring_register, s->ring.ring_fd,
	    IORING_REGISTER_ENABLE_RINGS, NULL, 0) < 0)
		return -errno;
	s->rxmsg.msg_namelen = sizeof(struct sockaddr_in);
	s->tick = (struct __kernel_timespec){ 0, TICK_MS * 1000000 };
	return u_check_restricted(s);
}

/* Windows that found the pool empty, now that CQEs have returned some. */
static void
u_pool_retry(struct srv *s, uint64_t now)
{
	unsigned i;
	struct xfer *x;

	for (i = 0; i < MAX_XFERS && s->npoolwait > 0; i++) {
		x = &s->x[i];
		if (!x->pool_wait)
			continue;
		x->pool_wait = false;
		s->npoolwait--;
		if (x->used && !x->closing)
			xfer_send(s, x, now);
	}
}

static int
u_run(struct srv *s)
{
	struct io_uring_cqe *cqes[256], *cqe;
	struct __kernel_timespec soon = { 0, 1000000 };
	unsigned n, i, want;
	bool rearm;
	uint64_t now;
	int r;

	u_arm_recv(s);
	u_arm_tick(s);
	while (!quit) {
		if (dump) {
			dump = 0;
			print_stats(s);
		}
		/*
		 * A linked SENDMSG is issued as task work when the one
		 * before it completes, and with DEFER_TASKRUN the kernel
		 * runs that work only until wait_nr completions are there:
		 * waiting for one would cost an io_uring_enter per link.
		 * So wait for every window completion still to come (they
		 * come at once from the page cache and loopback), bounded
		 * by 1 ms in case one waits for socket space.
		 */
		want = s->chain_cqes > 0 ? s->chain_cqes : 1;
		n = io_uring_sq_ready(&s->ring);	/* SUBMIT_ALL: all go */
		if (want > 1)
			r = io_uring_submit_and_wait_timeout(&s->ring, &cqe,
			    want, &soon, NULL);
		else
			r = io_uring_submit_and_wait(&s->ring, 1);
		s->st.enters++;
		if (r < 0 && r != -EINTR && r != -ETIME && r != -EBUSY)
			return r;
		if (r >= 0 || r == -ETIME)
			s->st.sqes += n;
		rearm = false;
		now = now_ns();
		while ((n = io_uring_peek_batch_cqe(&s->ring, cqes, 256)) > 0) {
			for (i = 0; i < n; i++)
				u_cqe(s, cqes[i], now, &rearm);
			io_uring_cq_advance(&s->ring, n);
		}
		if (rearm)
			u_arm_recv(s);
		if (s->npoolwait > 0)
			u_pool_retry(s, now);
	}
	return 0;
}

static const struct backend be_uring = {
	"uring", u_init, u_run, u_send_window, u_send_ctl, u_opened, u_closed,
};

/* ---- seccomp: what each backend's loop may call once set up */

static int
sandbox(const struct srv *s)
{
	static const int common[] = {
		SCMP_SYS(openat2), SCMP_SYS(openat), SCMP_SYS(fstat),
		SCMP_SYS(newfstatat), SCMP_SYS(statx), SCMP_SYS(close),
		SCMP_SYS(write), SCMP_SYS(clock_gettime),
		SCMP_SYS(rt_sigreturn), SCMP_SYS(exit), SCMP_SYS(exit_group),
		SCMP_SYS(brk), SCMP_SYS(mmap), SCMP_SYS(munmap),
		SCMP_SYS(madvise), SCMP_SYS(futex),
	};
	static const int gso[] = {
		SCMP_SYS(epoll_wait), SCMP_SYS(epoll_pwait),
		SCMP_SYS(recvmmsg), SCMP_SYS(sendmmsg), SCMP_SYS(preadv),
		SCMP_SYS(preadv2),
	};
	scmp_filter_ctx ctx;
	unsigned i;
	int r = -ENOMEM;

	if ((ctx = seccomp_init(SCMP_ACT_KILL_PROCESS)) == NULL)
		return r;
	for (i = 0; i < sizeof(common) / sizeof(common[0]); i++)
		if ((r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, common[i], 0)) < 0)
			goto out;
	if (s->be == &be_uring)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW,
		    SCMP_SYS(io_uring_enter), 0);
	else
		for (i = 0; i < sizeof(gso) / sizeof(gso[0]); i++)
			if ((r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, gso[i],
			    0)) < 0)
				break;
	if (r < 0)
		goto out;
	/* Refused with an error rather than a kill, so that we can show it. */
	if ((r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM),
	    SCMP_SYS(io_uring_setup), 0)) < 0 ||
	    (r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM),
	    SCMP_SYS(io_uring_register), 0)) < 0)
		goto out;
	r = seccomp_load(ctx);
out:
	seccomp_release(ctx);
	return r;
}

static void
usage(void)
{
	fprintf(stderr, "usage: uringproto --io gso|uring [-t TIMEOUT_S] "
	    "ADDR:PORT ROOT\n");
	exit(2);
}

static struct srv S;

int
main(int argc, char **argv)
{
	struct srv *s = &S;
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct sigaction sa = { .sa_handler = on_sig };
	int one = 1, big = 8 << 20, r, i;
	char *colon = NULL;

	s->timeout_s = 1;
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--io") == 0 && i + 1 < argc) {
			i++;
			if (strcmp(argv[i], "gso") == 0)
				s->be = &be_gso;
			else if (strcmp(argv[i], "uring") == 0)
				s->be = &be_uring;
			else
				usage();
		} else if (strcmp(argv[i], "-t") == 0 && i + 1 < argc) {
			s->timeout_s = (unsigned)atoi(argv[++i]);
			if (s->timeout_s < 1 || s->timeout_s > 255)
				usage();
		} else {
			usage();
		}
	}
	if (s->be == NULL || argc - i != 2 ||
	    (colon = strrchr(argv[i], ':')) == NULL)
		usage();
	*colon = '\0';
	if (inet_pton(AF_INET, argv[i], &sin.sin_addr) != 1)
		usage();
	sin.sin_port = htons((uint16_t)atoi(colon + 1));
	if ((s->rootfd = open(argv[i + 1], O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    (s->sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, 0)) < 0 ||
	    setsockopt(s->sock, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(s->sock, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		perror("uringproto: setup");
		return 1;
	}
	(void)setsockopt(s->sock, SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	(void)setsockopt(s->sock, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	memset(s->hash, 0xff, sizeof(s->hash));
	for (r = 0; r < MAX_XFERS; r++)
		s->x[r].fd = -1;
	if ((r = pool_init(s)) < 0 || (r = s->be->init(s)) < 0) {
		fprintf(stderr, "uringproto: %s setup: %s\n", s->be->name,
		    strerror(-r));
		return 1;
	}
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	if ((r = sandbox(s)) < 0) {
		fprintf(stderr, "uringproto: seccomp: %s\n", strerror(-r));
		return 1;
	}
	/* Show that the setup calls are gone. */
	errno = 0;
	r = (int)syscall(SYS_io_uring_register, -1, IORING_REGISTER_PROBE,
	    NULL, 0);
	fprintf(stderr, "uringproto: io=%s on %s:%s, io_uring_register after "
	    "seccomp: %s\n", s->be->name, argv[i], colon + 1,
	    r < 0 ? strerror(errno) : "allowed (!)");
	s->next_tick = now_ns();
	r = s->be->run(s);
	print_stats(s);
	if (r < 0) {
		fprintf(stderr, "uringproto: %s\n", strerror(-r));
		return 1;
	}
	return 0;
}
