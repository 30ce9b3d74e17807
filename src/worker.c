/*
 * The worker: reads requests from the listen sockets, applies the policy,
 * opens the file, negotiates options and starts a transfer on its own
 * connected socket; then feeds every packet and timer expiry to the pure
 * state machine (xfer.c) and carries out the action it answers with, in
 * flag order: write, commit, the sends, done.  All memory is allocated at
 * start (transfer table, packet buffers, timer heap), so a flood of
 * clients meets "Server busy", never an allocation.  This is the one place
 * that logs what happened to a request.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "files.h"
#include "log.h"
#include "loop.h"
#include "path.h"
#include "proto.h"
#include "sock.h"
#include "util.h"
#include "worker.h"
#include "xfer.h"

#define MAX_EVENTS	64
#define REQ_BUFSZ	8192		/* name, mode, options */
#define RECV_BUFSZ	(TFTP_PKT_MAX + 1)	/* +1: see oversized DATA */
#define XFER_DRAIN	64		/* packets per transfer, per wakeup */
#define LISTEN_DRAIN	4		/* batches per listener, per wakeup */
#define SEND_BATCH_BYTES (4u << 20)	/* cap on the sendmmsg buffers */
#define LOG_FILE_MAX	256
#define LOG_OPTS_MAX	160
#define EV_LISTEN	(UINT64_C(1) << 63)
#define GEN_MASK	0x7fffffffu

/* What the transfer log line says about a request. */
struct reqinfo {
	struct sockaddr_storage	 peer;
	socklen_t		 peerlen;
	uint16_t		 opcode;
	const char		*mode;	/* static; "-" when unknown */
	uint64_t		 start_ms;
	uint64_t		 end_ms;	/* upload committed; 0 = not */
	char			 file[LOG_FILE_MAX];
	char			 opts[LOG_OPTS_MAX];
};

struct transfer {
	bool			 used;
	uint32_t		 gen;	/* tells reuses of a slot apart */
	int			 sock;
	int			 fd;	/* RRQ: the file */
	bool			 netascii;
	struct nasrc		 nas;	/* RRQ in netascii mode */
	struct upload		 up;	/* WRQ */
	struct xfer		 x;
	struct tftp_params	 p;
	struct loop_timer	 timer;
	/* A window cut short by a full socket buffer, resumed on EPOLLOUT. */
	uint64_t		 pend_first;
	uint32_t		 pend_count;
	bool			 wantout;
	struct reqinfo		 ri;
};

struct listener {
	int			 fd;
	struct sockaddr_storage	 addr;
	socklen_t		 len;
};

/* One received request and where it came from and went to. */
struct request {
	struct listener		*l;
	const uint8_t		*buf;
	size_t			 len;
	bool			 truncated;
	const struct sockaddr	*peer;
	socklen_t		 peerlen;
	struct sockaddr_storage	 local;
	socklen_t		 locallen;
};

struct worker {
	const struct tftpd_config *cfg;
	int			 rootfd;
	struct loop		 loop;
	struct listener		 lis[SOCK_MAX_LISTEN];
	size_t			 nlis;

	struct transfer		*tx;
	uint32_t		 ntx;
	uint32_t		*freelist;
	uint32_t		 nfree;

	/* Outgoing packets: nsbuf buffers of sbufsz, one sendmmsg batch. */
	uint8_t			*sbuf;
	size_t			 sbufsz;
	uint32_t		 nsbuf;
	struct mmsghdr		*smsg;
	struct iovec		*siov;

	/* Transfer sockets read into one buffer. */
	uint8_t			*rbuf;

	/* Requests: a recvmmsg batch. */
	uint32_t		 nq;
	uint8_t			*qbuf;
	struct mmsghdr		*qmsg;
	struct iovec		*qiov;
	struct sockaddr_storage	*qpeer;
	uint8_t			*qcmsg;

	struct worker_stats	 st;
};

static int	 worker_alloc(struct worker *w);
static void	 worker_dealloc(struct worker *w);
static uint64_t	 tx_data(const struct worker *w,
		    const struct transfer *t);
static struct transfer *tx_alloc(struct worker *w);
static void	 tx_release(struct worker *w, struct transfer *t);
static void	 log_request(const struct reqinfo *ri, uint64_t bytes,
		    const char *result, uint16_t code, const char *msg);
static void	 reqinfo_init(struct reqinfo *ri, const struct request *rq,
		    uint16_t opcode, const char *file, const char *mode);
static void	 opts_str(struct reqinfo *ri, const struct tftp_params *p);
static void	 refuse(struct worker *w, const struct request *rq,
		    struct reqinfo *ri, uint16_t code, const char *msg);
static void	 handle_request(struct worker *w, struct request *rq,
		    const struct msghdr *msg);
static int	 start_transfer(struct worker *w, struct transfer *t,
		    const struct request *rq, const struct tftp_request *req,
		    uint16_t *code, const char **msg);
static void	 listen_readable(struct worker *w, struct listener *l);
static void	 transfer_readable(struct worker *w, struct transfer *t);
static void	 transfer_writable(struct worker *w, struct transfer *t);
static void	 run_action(struct worker *w, struct transfer *t,
		    struct xfer_action *a);
static void	 finish(struct worker *w, struct transfer *t,
		    const struct xfer_action *a);
static void	 send_one(struct worker *w, struct transfer *t, size_t len);
static int	 fill_block(struct worker *w, struct transfer *t,
		    uint64_t idx, uint8_t *buf, size_t *len);
static int	 send_data(struct worker *w, struct transfer *t,
		    uint64_t first, uint32_t count);
static void	 want_out(struct worker *w, struct transfer *t, bool on);
static void	 shutdown_all(struct worker *w);

static uint64_t
tx_data(const struct worker *w, const struct transfer *t)
{
	return (uint64_t)t->gen << 32 | (uint64_t)(t - w->tx);
}

static int
worker_alloc(struct worker *w)
{
	const struct tftpd_config *cfg = w->cfg;
	uint32_t i;
	size_t blk;

	w->ntx = cfg->max_transfers > 0 ? cfg->max_transfers : 1;
	w->tx = calloc(w->ntx, sizeof(*w->tx));
	w->freelist = calloc(w->ntx, sizeof(*w->freelist));
	if (w->tx == NULL || w->freelist == NULL)
		return -ENOMEM;
	/* Slot 0 is handed out first: the table is used from the bottom. */
	for (i = 0; i < w->ntx; i++)
		w->freelist[i] = w->ntx - 1 - i;
	w->nfree = w->ntx;

	blk = cfg->max_blksize > TFTP_BLKSIZE_DEFAULT ? cfg->max_blksize :
	    TFTP_BLKSIZE_DEFAULT;
	w->sbufsz = TFTP_HDR_LEN + blk;
	w->nsbuf = cfg->enable_sendmmsg && cfg->max_batch_size > 1 ?
	    cfg->max_batch_size : 1;
	/* Big blocks make big batches: keep the send buffers bounded. */
	if (w->nsbuf > SEND_BATCH_BYTES / w->sbufsz)
		w->nsbuf = SEND_BATCH_BYTES / w->sbufsz > 0 ?
		    (uint32_t)(SEND_BATCH_BYTES / w->sbufsz) : 1;
	w->sbuf = malloc(w->sbufsz * w->nsbuf);
	w->smsg = calloc(w->nsbuf, sizeof(*w->smsg));
	w->siov = calloc(w->nsbuf, sizeof(*w->siov));
	w->rbuf = malloc(RECV_BUFSZ);
	if (w->sbuf == NULL || w->smsg == NULL || w->siov == NULL ||
	    w->rbuf == NULL)
		return -ENOMEM;
	for (i = 0; i < w->nsbuf; i++) {
		w->siov[i].iov_base = w->sbuf + (size_t)i * w->sbufsz;
		w->smsg[i].msg_hdr.msg_iov = &w->siov[i];
		w->smsg[i].msg_hdr.msg_iovlen = 1;
	}

	w->nq = cfg->enable_recvmmsg && cfg->max_batch_size > 1 ?
	    cfg->max_batch_size : 1;
	w->qbuf = malloc((size_t)w->nq * REQ_BUFSZ);
	w->qmsg = calloc(w->nq, sizeof(*w->qmsg));
	w->qiov = calloc(w->nq, sizeof(*w->qiov));
	w->qpeer = calloc(w->nq, sizeof(*w->qpeer));
	w->qcmsg = calloc(w->nq, SOCK_CMSG_SPACE);
	if (w->qbuf == NULL || w->qmsg == NULL || w->qiov == NULL ||
	    w->qpeer == NULL || w->qcmsg == NULL)
		return -ENOMEM;
	return 0;
}

static void
worker_dealloc(struct worker *w)
{
	free(w->tx);
	free(w->freelist);
	free(w->sbuf);
	free(w->smsg);
	free(w->siov);
	free(w->rbuf);
	free(w->qbuf);
	free(w->qmsg);
	free(w->qiov);
	free(w->qpeer);
	free(w->qcmsg);
}

static struct transfer *
tx_alloc(struct worker *w)
{
	struct transfer *t;
	uint32_t gen;

	if (w->nfree == 0)
		return NULL;
	t = &w->tx[w->freelist[--w->nfree]];
	gen = (t->gen + 1) & GEN_MASK;
	memset(t, 0, sizeof(*t));
	t->gen = gen;
	t->used = true;
	t->sock = -1;
	t->fd = -1;
	t->up.fd = -1;
	t->up.dirfd = -1;
	t->timer.arg = t;
	return t;
}

/* Close everything the transfer holds and return its slot. */
static void
tx_release(struct worker *w, struct transfer *t)
{
	(void)loop_timer_set(&w->loop, &t->timer, 0);
	if (t->sock >= 0) {
		(void)loop_del(&w->loop, t->sock);
		close(t->sock);
		t->sock = -1;
	}
	if (t->fd >= 0) {
		close(t->fd);
		t->fd = -1;
	}
	if (t->netascii)
		files_nasrc_free(&t->nas);
	files_upload_close(&t->up);
	t->used = false;
	w->freelist[w->nfree++] = (uint32_t)(t - w->tx);
}

static void
log_request(const struct reqinfo *ri, uint64_t bytes, const char *result,
    uint16_t code, const char *msg)
{
	char addr[SOCKADDR_STRLEN], vmsg[128];
	/* An upload's time ends at its commit, not after the dally. */
	uint64_t ms = (ri->end_ms != 0 ? ri->end_ms : time_now_ms()) -
	    ri->start_ms;
	const char *op;

	sockaddr_str((const struct sockaddr *)&ri->peer, addr, sizeof(addr));
	op = ri->opcode == TFTP_RRQ ? "rrq" : ri->opcode == TFTP_WRQ ?
	    "wrq" : "-";
	if (msg == NULL) {
		log_info("transfer client=%s op=%s file=\"%s\" mode=%s "
		    "bytes=%" PRIu64 " seconds=%" PRIu64 ".%03u "
		    "options=\"%s\" result=%s", addr, op, ri->file, ri->mode,
		    bytes, ms / 1000, (unsigned)(ms % 1000), ri->opts, result);
		return;
	}
	str_vis(vmsg, sizeof(vmsg), msg);
	log_info("transfer client=%s op=%s file=\"%s\" mode=%s "
	    "bytes=%" PRIu64 " seconds=%" PRIu64 ".%03u options=\"%s\" "
	    "result=%s code=%u msg=\"%s\"", addr, op, ri->file, ri->mode,
	    bytes, ms / 1000, (unsigned)(ms % 1000), ri->opts, result,
	    (unsigned)code, vmsg);
}

static void
reqinfo_init(struct reqinfo *ri, const struct request *rq, uint16_t opcode,
    const char *file, const char *mode)
{
	memset(ri, 0, sizeof(*ri));
	memcpy(&ri->peer, rq->peer, rq->peerlen);
	ri->peerlen = rq->peerlen;
	ri->opcode = opcode;
	ri->mode = mode;
	ri->start_ms = time_now_ms();
	if (file != NULL)
		str_vis(ri->file, sizeof(ri->file), file);
}

/* "blksize=1428 tsize=1048576": what the OACK granted. */
static void
opts_str(struct reqinfo *ri, const struct tftp_params *p)
{
	size_t off = 0;
	uint64_t v;
	int o, n;

	ri->opts[0] = '\0';
	for (o = 0; o < TFTP_OPT_MAX; o++) {
		if (!(p->acked & TFTP_OPT_BIT(o)))
			continue;
		switch (o) {
		case TFTP_OPT_BLKSIZE:
			v = p->blksize;
			break;
		case TFTP_OPT_TIMEOUT:
			v = p->timeout;
			break;
		case TFTP_OPT_TSIZE:
			v = p->tsize;
			break;
		case TFTP_OPT_WINDOWSIZE:
			v = p->windowsize;
			break;
		case TFTP_OPT_ROLLOVER:
			v = p->rollover;
			break;
		default:	/* TFTP_OPT_UTIMEOUT */
			v = p->utimeout;
			break;
		}
		n = snprintf(ri->opts + off, sizeof(ri->opts) - off,
		    "%s%s=%" PRIu64, off > 0 ? " " : "",
		    proto_opt_name((enum tftp_opt)o), v);
		if (n < 0 || (size_t)n >= sizeof(ri->opts) - off)
			break;
		off += (size_t)n;
	}
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
refuse(struct worker *w, const struct request *rq, struct reqinfo *ri,
    uint16_t code, const char *msg)
{
	size_t len;
	int fd;

	len = proto_build_error(w->sbuf, w->sbufsz, code, msg);
	fd = sock_transfer((const struct sockaddr *)&rq->local, rq->locallen,
	    rq->peer, rq->peerlen, w->cfg);
	if (fd >= 0) {
		if (send(fd, w->sbuf, len, 0) >= 0)
			w->st.packets_sent++;
		close(fd);
	} else if (sock_send_from(rq->l->fd, w->sbuf, len, rq->peer,
	    rq->peerlen, (const struct sockaddr *)&rq->local) == 0) {
		w->st.packets_sent++;
	}
	w->st.refused++;
	if (ri != NULL)
		log_request(ri, 0, "error", code, msg);
}

static void
handle_request(struct worker *w, struct request *rq, const struct msghdr *msg)
{
	struct tftp_request req;
	struct reqinfo ri;
	struct transfer *t;
	char addr[SOCKADDR_STRLEN];
	const char *errmsg = NULL;
	uint16_t op, code;
	int r;

	w->st.packets_received++;
	if (rq->len < 2)
		return;
	op = (uint16_t)(rq->buf[0] << 8 | rq->buf[1]);
	/* Answering an ERROR could start an endless exchange. */
	if (op == TFTP_ERROR)
		return;
	/* Without pktinfo the kernel picks the source: still an answer. */
	(void)sock_local_addr(msg, (const struct sockaddr *)&rq->l->addr,
	    &rq->local, &rq->locallen);
	if (op != TFTP_RRQ && op != TFTP_WRQ) {
		log_debug("opcode %u on the listen socket from %s", op,
		    sockaddr_str(rq->peer, addr, sizeof(addr)));
		refuse(w, rq, NULL, TFTP_EBADOP, "Illegal TFTP operation");
		return;
	}
	if (op == TFTP_RRQ)
		w->st.rrq++;
	else
		w->st.wrq++;
	if (rq->truncated)
		r = -EBADMSG;
	else
		r = proto_parse_request(rq->buf, rq->len, &req, &errmsg);
	/* The parser calls an empty name malformed; the spec, a violation. */
	if (r == -EBADMSG && rq->len > 2 && rq->buf[2] == '\0') {
		reqinfo_init(&ri, rq, op, "", "-");
		refuse(w, rq, &ri, TFTP_EACCESS, "Access violation");
		return;
	}
	if (r < 0) {
		/* For the log: the name, if the packet holds a whole one. */
		reqinfo_init(&ri, rq, op, rq->len > 2 && memchr(rq->buf + 2,
		    '\0', rq->len - 2) != NULL ? (const char *)rq->buf + 2 :
		    NULL, "-");
		refuse(w, rq, &ri, TFTP_EBADOP,
		    errmsg != NULL ? errmsg : "Illegal TFTP operation");
		return;
	}
	if ((t = tx_alloc(w)) == NULL) {
		reqinfo_init(&ri, rq, op, req.filename,
		    proto_mode_name(req.mode));
		refuse(w, rq, &ri, TFTP_EUNDEF, "Server busy");
		return;
	}
	reqinfo_init(&t->ri, rq, op, req.filename, proto_mode_name(req.mode));
	r = start_transfer(w, t, rq, &req, &code, &errmsg);
	if (r < 0) {
		refuse(w, rq, &t->ri, code, errmsg);
		tx_release(w, t);
	}
}

/*
 * Policy, open, negotiation, socket, first action.  On failure the ERROR
 * to send is returned in code/msg and the caller releases the slot.
 */
static int
start_transfer(struct worker *w, struct transfer *t, const struct request *rq,
    const struct tftp_request *req, uint16_t *code, const char **msg)
{
	const struct tftpd_config *cfg = w->cfg;
	char rel[PATH_REL_MAX], addr[SOCKADDR_STRLEN];
	struct tftp_limits lim;
	struct xfer_params xp;
	struct xfer_action a;
	uint64_t size = 0;
	int r;

	t->netascii = false;
	if (req->mode == TFTP_MODE_NETASCII && !cfg->netascii) {
		*code = TFTP_EBADOP;
		*msg = "netascii mode disabled";
		return -EPROTONOSUPPORT;
	}
	if ((r = path_normalize(req->filename, rel, sizeof(rel))) < 0)
		goto out_errmap;

	if (req->opcode == TFTP_RRQ) {
		if ((r = files_open_read(w->rootfd, rel, cfg, &size)) < 0)
			goto out_errmap;
		t->fd = r;
		if (req->mode == TFTP_MODE_NETASCII) {
			if ((r = files_nasrc_init(&t->nas, t->fd, &size)) < 0)
				goto out_errmap;
			t->netascii = true;
		}
	} else {
		r = files_upload_open(&t->up, w->rootfd, rel, cfg,
		    req->mode == TFTP_MODE_NETASCII);
		if (r < 0)
			goto out_errmap;
	}

	lim = (struct tftp_limits){
		.max_blksize = cfg->max_blksize,
		.max_windowsize = cfg->max_windowsize < XFER_WINDOW_LIMIT ?
		    cfg->max_windowsize : XFER_WINDOW_LIMIT,
		.allowed_opts = cfg->allowed_opts,
		.max_file_size = cfg->max_file_size,
	};
	if ((r = proto_negotiate(req, &lim, size, &t->p)) < 0)
		goto out_errmap;

	r = sock_transfer((const struct sockaddr *)&rq->local, rq->locallen,
	    rq->peer, rq->peerlen, cfg);
	if (r < 0) {
		log_warnx("cannot open a transfer socket for %s: %s",
		    sockaddr_str(rq->peer, addr, sizeof(addr)), strerror(-r));
		*code = TFTP_EUNDEF;
		*msg = "Server busy";
		return r;
	}
	t->sock = r;
	if ((r = loop_add(&w->loop, t->sock, EPOLLIN, tx_data(w, t))) < 0) {
		log_warnx("epoll_ctl: %s", strerror(-r));
		*code = TFTP_EUNDEF;
		*msg = "Server busy";
		return r;
	}
	opts_str(&t->ri, &t->p);

	xp = (struct xfer_params){
		.dir = req->opcode == TFTP_RRQ ? XFER_READ : XFER_WRITE,
		.blksize = t->p.blksize,
		.windowsize = t->p.windowsize,
		.rollover = t->p.rollover,
		.oack = t->p.acked != 0,
		.size = size,
		.retries = cfg->retries,
	};
	if (t->p.timeout_ms != 0) {
		/* The client chose: a fixed interval (RFC 2349). */
		xp.timeout_ms = xp.max_timeout_ms = t->p.timeout_ms;
	} else {
		xp.timeout_ms = cfg->timeout_ms;
		xp.max_timeout_ms = cfg->timeout_ms > UINT32_MAX / 8 ?
		    UINT32_MAX : cfg->timeout_ms * 8;
	}
	xp.dally_ms = xp.timeout_ms > UINT32_MAX / 2 ? UINT32_MAX :
	    xp.timeout_ms * 2;
	xfer_start(&t->x, &xp, time_now_ms(), &a);
	run_action(w, t, &a);
	return 0;

out_errmap:
	files_errmap(r, code, msg);
	return r;
}

static void
listen_readable(struct worker *w, struct listener *l)
{
	struct request rq;
	struct msghdr *mh;
	uint32_t i;
	int n, round;
	ssize_t len;

	for (round = 0; round < LISTEN_DRAIN; round++) {
		for (i = 0; i < w->nq; i++) {
			mh = &w->qmsg[i].msg_hdr;
			w->qiov[i].iov_base = w->qbuf + (size_t)i * REQ_BUFSZ;
			w->qiov[i].iov_len = REQ_BUFSZ;
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
			n = recvmmsg(l->fd, w->qmsg, w->nq, MSG_DONTWAIT, NULL);
		} else {
			len = recvmsg(l->fd, &w->qmsg[0].msg_hdr, MSG_DONTWAIT);
			if (len >= 0)
				w->qmsg[0].msg_len = (unsigned)len;
			n = len < 0 ? -1 : 1;
		}
		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR)
				log_debug("recvmsg on a listen socket: %s",
				    strerror(errno));
			return;
		}
		for (i = 0; i < (uint32_t)n; i++) {
			mh = &w->qmsg[i].msg_hdr;
			rq = (struct request){
				.l = l,
				.buf = w->qiov[i].iov_base,
				.len = w->qmsg[i].msg_len,
				.truncated = (mh->msg_flags & MSG_TRUNC) != 0,
				.peer = (const struct sockaddr *)&w->qpeer[i],
				.peerlen = mh->msg_namelen,
			};
			handle_request(w, &rq, mh);
		}
		if ((uint32_t)n < w->nq)
			return;
	}
}

static void
transfer_readable(struct worker *w, struct transfer *t)
{
	struct xfer_action a;
	uint32_t gen = t->gen;
	ssize_t n;
	size_t len;
	int i;

	for (i = 0; i < XFER_DRAIN; i++) {
		/* MSG_TRUNC: the real length, so oversized DATA is seen. */
		n = recv(t->sock, w->rbuf, RECV_BUFSZ, MSG_TRUNC);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			/*
			 * ECONNREFUSED is an ICMP error about an earlier
			 * send; the retransmission timer decides what it means.
			 */
			if (errno == ECONNREFUSED)
				continue;
			return;
		}
		len = (size_t)n < RECV_BUFSZ ? (size_t)n : RECV_BUFSZ;
		w->st.packets_received++;
		if (len >= TFTP_HDR_LEN && w->rbuf[0] == 0 &&
		    w->rbuf[1] == TFTP_DATA)
			w->st.bytes_received += len - TFTP_HDR_LEN;
		xfer_on_packet(&t->x, w->rbuf, len, time_now_ms(), &a);
		run_action(w, t, &a);
		if (!t->used || t->gen != gen)
			return;
	}
}

static void
transfer_writable(struct worker *w, struct transfer *t)
{
	struct xfer_action a;
	int r;

	if (t->pend_count == 0) {
		want_out(w, t, false);
		return;
	}
	r = send_data(w, t, t->pend_first, t->pend_count);
	if (r < 0) {
		xfer_fail(&t->x, TFTP_EUNDEF, r == -ESTALE ? "File changed" :
		    strerror(-r), r, &a);
		run_action(w, t, &a);
	}
}

static void
want_out(struct worker *w, struct transfer *t, bool on)
{
	if (t->wantout == on)
		return;
	if (loop_mod(&w->loop, t->sock, on ? EPOLLIN | EPOLLOUT : EPOLLIN,
	    tx_data(w, t)) == 0)
		t->wantout = on;
}

static void
send_one(struct worker *w, struct transfer *t, size_t len)
{
	if (len == 0)
		return;
	if (send(t->sock, w->sbuf, len, 0) >= 0)
		w->st.packets_sent++;
}

/* The DATA packet of block idx: header, then the payload read into place. */
static int
fill_block(struct worker *w, struct transfer *t, uint64_t idx, uint8_t *buf,
    size_t *len)
{
	size_t want = xfer_block_len(&t->x, idx), got = 0;
	off_t off;
	ssize_t n;

	proto_build_data_hdr(buf, TFTP_HDR_LEN, xfer_wire_block(&t->x, idx));
	if (t->netascii) {
		n = files_nasrc_read(&t->nas, idx, t->x.p.blksize,
		    t->x.acked + 1, buf + TFTP_HDR_LEN);
		if (n < 0)
			return (int)n;
		got = (size_t)n;
	} else {
		off = (off_t)xfer_block_offset(&t->x, idx);
		while (got < want) {
			n = pread(t->fd, buf + TFTP_HDR_LEN + got, want - got,
			    off + (off_t)got);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return -errno;
			if (n == 0)
				break;
			got += (size_t)n;
		}
	}
	/* Shorter (or, in netascii, longer) than the size we announced. */
	if (got != want)
		return -ESTALE;
	*len = TFTP_HDR_LEN + got;
	return 0;
}

/*
 * Blocks first .. first + count - 1, up to nsbuf per sendmmsg.  When the
 * socket buffer fills, the rest waits for EPOLLOUT; a new window (an ACK,
 * a timeout) replaces whatever was still waiting.
 */
static int
send_data(struct worker *w, struct transfer *t, uint64_t first,
    uint32_t count)
{
	uint32_t batch, i, done;
	size_t len = 0;
	int n, r;

	t->pend_count = 0;
	while (count > 0) {
		batch = count < w->nsbuf ? count : w->nsbuf;
		for (i = 0; i < batch; i++) {
			r = fill_block(w, t, first + i, w->siov[i].iov_base,
			    &len);
			if (r < 0)
				return r;
			w->siov[i].iov_len = len;
		}
		for (done = 0; done < batch; done += (uint32_t)n) {
			if (batch - done == 1) {
				n = send(t->sock, w->siov[done].iov_base,
				    w->siov[done].iov_len, 0) < 0 ? -1 : 1;
			} else {
				n = sendmmsg(t->sock, w->smsg + done,
				    batch - done, 0);
			}
			if (n < 0)
				break;
			for (i = done; i < done + (uint32_t)n; i++) {
				w->st.packets_sent++;
				w->st.bytes_sent += w->siov[i].iov_len -
				    TFTP_HDR_LEN;
			}
		}
		if (done < batch) {
			if (errno == EAGAIN || errno == ENOBUFS) {
				t->pend_first = first + done;
				t->pend_count = count - done;
				want_out(w, t, true);
				return 0;
			}
			/* Peer unreachable for now: a timeout resends. */
			break;
		}
		first += batch;
		count -= batch;
	}
	want_out(w, t, false);
	return 0;
}

static void
run_action(struct worker *w, struct transfer *t, struct xfer_action *a)
{
	uint16_t code;
	const char *msg;
	size_t len;
	int r;

	if (a->flags & XA_WRITE) {
		r = files_upload_write(&t->up, a->data, a->len);
		if (r < 0) {
			files_errmap(r, &code, &msg);
			xfer_fail(&t->x, code, msg, r, a);
		}
	}
	if (a->flags & XA_COMMIT) {
		r = files_upload_commit(&t->up);
		if (r < 0) {
			files_errmap(r, &code, &msg);
			xfer_fail(&t->x, code, msg, r, a);
		} else {
			t->ri.end_ms = time_now_ms();
		}
	}
	if (a->flags & XA_SEND_OACK)
		send_one(w, t, proto_build_oack(w->sbuf, w->sbufsz, &t->p));
	if (a->flags & XA_SEND_DATA) {
		r = send_data(w, t, a->first, a->count);
		if (r < 0) {
			if (r == -ESTALE)
				xfer_fail(&t->x, TFTP_EUNDEF, "File changed", r,
				    a);
			else
				xfer_fail(&t->x, TFTP_EUNDEF, strerror(-r), r,
				    a);
		}
	}
	if (a->flags & XA_SEND_ACK)
		send_one(w, t, proto_build_ack(w->sbuf, w->sbufsz,
		    a->ack_block));
	if (a->flags & XA_SEND_ERROR) {
		len = proto_build_error(w->sbuf, w->sbufsz, a->error_code,
		    a->error_msg);
		send_one(w, t, len);
	}
	if (a->flags & XA_DONE) {
		finish(w, t, a);
		return;
	}
	if (loop_timer_set(&w->loop, &t->timer, xfer_deadline(&t->x)) < 0) {
		/* The heap holds max_transfers timers; cannot happen. */
		xfer_fail(&t->x, TFTP_EUNDEF, "Server busy", -ENOSPC, a);
		finish(w, t, a);
	}
}

static void
finish(struct worker *w, struct transfer *t, const struct xfer_action *a)
{
	const char *msg = a->error_msg;

	if (a->result == 0) {
		w->st.transfers_ok++;
		log_request(&t->ri, t->x.bytes, "ok", 0, NULL);
	} else {
		w->st.transfers_failed++;
		if (a->result == -ETIMEDOUT)
			log_request(&t->ri, t->x.bytes, "timeout", 0, NULL);
		else
			log_request(&t->ri, t->x.bytes,
			    a->result == -ECONNABORTED ? "aborted" : "error",
			    a->error_code, msg != NULL ? msg : "");
	}
	w->st.retransmits += t->x.retransmits;
	w->st.timeouts += t->x.timeouts;
	tx_release(w, t);
}

/* SIGTERM: every transfer ends now; a dallying upload is complete. */
static void
shutdown_all(struct worker *w)
{
	struct xfer_action a;
	uint32_t i;

	for (i = 0; i < w->ntx; i++) {
		if (!w->tx[i].used)
			continue;
		if (w->tx[i].x.state == XS_DALLY) {
			a = (struct xfer_action){ .flags = XA_DONE };
			finish(w, &w->tx[i], &a);
			continue;
		}
		xfer_fail(&w->tx[i].x, TFTP_EUNDEF, "Server shutting down",
		    -ESHUTDOWN, &a);
		run_action(w, &w->tx[i], &a);
	}
}

int
worker_run(const struct tftpd_config *cfg, const int *listen_fds, size_t n,
    int rootfd)
{
	struct epoll_event ev[MAX_EVENTS];
	struct worker w = { .cfg = cfg, .rootfd = rootfd };
	struct loop_timer *lt;
	struct transfer *t;
	struct xfer_action a;
	uint64_t data;
	uint32_t slot, gen;
	size_t i;
	int nev, sig, r, status = 1;
	bool stop = false;

	if (n == 0 || n > SOCK_MAX_LISTEN) {
		log_warnx("worker: %zu listen sockets", n);
		return 1;
	}
	if ((r = worker_alloc(&w)) < 0) {
		log_warnx("worker: cannot allocate its tables: %s",
		    strerror(-r));
		goto out_free;
	}
	if ((r = loop_init(&w.loop, w.ntx)) < 0) {
		log_warnx("worker: event loop: %s", strerror(-r));
		goto out_free;
	}
	for (i = 0; i < n; i++) {
		w.lis[i].fd = listen_fds[i];
		w.lis[i].len = sizeof(w.lis[i].addr);
		if (getsockname(listen_fds[i],
		    (struct sockaddr *)&w.lis[i].addr, &w.lis[i].len) < 0) {
			log_warn("worker: getsockname");
			goto out_loop;
		}
		if ((r = loop_add(&w.loop, listen_fds[i], EPOLLIN,
		    EV_LISTEN | i)) < 0) {
			log_warnx("worker: epoll_ctl: %s", strerror(-r));
			goto out_loop;
		}
	}
	w.nlis = n;

	while (!stop) {
		nev = loop_wait(&w.loop, ev, MAX_EVENTS, time_now_ms());
		if (nev < 0) {
			log_warnx("worker: epoll_wait: %s", strerror(-nev));
			break;
		}
		while ((sig = loop_signal()) != 0) {
			if (sig == SIGHUP) {
				log_info("SIGHUP: nothing to reload in a "
				    "single process; ignored");
				continue;
			}
			log_info("%s: stopping", sig == SIGTERM ? "SIGTERM" :
			    "SIGINT");
			stop = true;
		}
		if (stop)
			break;
		for (r = 0; r < nev; r++) {
			data = ev[r].data.u64;
			if (data & EV_LISTEN) {
				listen_readable(&w,
				    &w.lis[data & ~EV_LISTEN]);
				continue;
			}
			slot = (uint32_t)data;
			gen = (uint32_t)(data >> 32);
			t = &w.tx[slot];
			if (!t->used || t->gen != gen)
				continue;
			if (ev[r].events & (EPOLLIN | EPOLLERR))
				transfer_readable(&w, t);
			if (t->used && t->gen == gen &&
			    (ev[r].events & EPOLLOUT))
				transfer_writable(&w, t);
		}
		while ((lt = loop_timer_expired(&w.loop, time_now_ms()))) {
			t = lt->arg;
			xfer_on_timeout(&t->x, time_now_ms(), &a);
			run_action(&w, t, &a);
		}
	}
	shutdown_all(&w);
	status = stop ? 0 : 1;
	log_info("stats rrq=%" PRIu64 " wrq=%" PRIu64 " refused=%" PRIu64
	    " transfers_ok=%" PRIu64 " transfers_failed=%" PRIu64
	    " bytes_sent=%" PRIu64 " bytes_received=%" PRIu64
	    " packets_sent=%" PRIu64 " packets_received=%" PRIu64
	    " retransmits=%" PRIu64 " timeouts=%" PRIu64,
	    w.st.rrq, w.st.wrq, w.st.refused, w.st.transfers_ok,
	    w.st.transfers_failed, w.st.bytes_sent, w.st.bytes_received,
	    w.st.packets_sent, w.st.packets_received, w.st.retransmits,
	    w.st.timeouts);

out_loop:
	for (i = 0; i < n; i++)
		(void)loop_del(&w.loop, listen_fds[i]);
	loop_free(&w.loop);
out_free:
	worker_dealloc(&w);
	return status;
}
