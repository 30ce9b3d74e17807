/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * Admission: a datagram from a listen socket that is a request is parsed,
 * checked against the policy, its file opened, its options negotiated,
 * and a transfer created for it; or it is refused with an ERROR.  The
 * transfer log line, written here for refusals and by transfer.c at the
 * end, is this file's too.
 */
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "acl.h"
#include "config.h"
#include "files.h"
#include "log.h"
#include "lookup.h"
#include "path.h"
#include "proto.h"
#include "remap.h"
#include "shm.h"
#include "sock.h"
#include "util.h"
#include "worker_int.h"
#include "xfer.h"

static bool	 access_refused(struct worker *w, const struct request *rq,
		    uint16_t op);
static bool	 same_client(struct worker *w, const struct request *rq);
static bool	 limits_refused(struct worker *w, const struct request *rq,
		    struct reqinfo *ri, struct climit_entry **client);
static bool	 evict(struct worker *w, bool need_buf);
static uint64_t	 request_hash(const struct request *rq);
static void	 not_request(struct worker *w, const struct request *rq,
		    uint16_t op);
static void	 refuse(struct worker *w, const struct request *rq,
		    struct reqinfo *ri, uint16_t code, const char *msg);
static int	 create(struct worker *w, struct transfer *t,
		    const struct request *rq, const struct tftp_request *req,
		    struct xfer_action *first, uint16_t *code,
		    const char **msg);
static int	 open_file(struct worker *w, struct transfer *t,
		    const struct tftp_request *req, uint64_t *size,
		    uint16_t *code, const char **msg);
static int	 pick_root(const struct worker *w, const char *name,
		    const char **rel);
static int	 negotiate(const struct tftpd_config *cfg,
		    const struct tftp_request *req, uint64_t size,
		    struct tftp_params *opt);
static void	 session_begin(struct worker *w, struct transfer *t,
		    const struct request *rq, const struct tftp_params *p,
		    uint64_t size);
static void	 reqinfo_init(struct reqinfo *ri, const struct request *rq,
		    uint16_t opcode, const char *file, const char *mode);
static void	 opts_str(struct reqinfo *ri, const struct tftp_params *p);
static int64_t	 realtime_ms(void);

/*
 * A datagram from a listen socket that no transfer claims: a request is
 * admitted, or refused with an ERROR and logged.
 */
void
admit(struct worker *w, struct request *rq)
{
	struct tftp_request req;
	struct xfer_action first;
	struct reqinfo ri;
	struct transfer *t;
	struct climit_entry *client;
	const char *errmsg = NULL;
	uint16_t op, code;
	int r;

	count(w, TFTP_SHM_C_PACKETS_RECEIVED, 1);
	if (rq->len < 2)
		return;
	op = (uint16_t)(rq->buf[0] << 8 | rq->buf[1]);
	/* Answering an ERROR could start an endless exchange. */
	if (op == TFTP_ERROR)
		return;
	/* Without pktinfo the kernel picks the source: still an answer. */
	(void)sock_local_addr(rq->msg, (const struct sockaddr *)&rq->l->addr,
	    &rq->local, &rq->locallen);
	if (op != TFTP_RRQ && op != TFTP_WRQ) {
		not_request(w, rq, op);
		return;
	}
	/* (int64_t: the ABI's type; seconds) */
	__atomic_store_n(&w->st->last_request, realtime_ms() / 1000,
	    __ATOMIC_RELAXED);
	count(w, op == TFTP_RRQ ? TFTP_SHM_C_RRQ : TFTP_SHM_C_WRQ, 1);
	if (same_client(w, rq))
		return;
	if (access_refused(w, rq, op))
		return;
	if (rq->truncated || rq->len > REQ_BUFSZ)
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
	if (w->mode == W_DRAIN) {
		reqinfo_init(&ri, rq, op, req.filename,
		    proto_mode_name(req.mode));
		refuse(w, rq, &ri, TFTP_EUNDEF, "Server shutting down");
		return;
	}
	reqinfo_init(&ri, rq, op, req.filename, proto_mode_name(req.mode));
	if (limits_refused(w, rq, &ri, &client))
		return;
	if ((t = tx_alloc(w)) == NULL) {
		refuse(w, rq, &ri, TFTP_EUNDEF, "Server busy");
		return;
	}
	reqinfo_init(&t->ri, rq, op, req.filename, proto_mode_name(req.mode));
	/* Counted from here: tx_release() ends it. */
	if ((t->client = client) != NULL)
		climit_begin(client);
	/*
	 * A download sends from a pool buffer; none free: one held by an
	 * unverified transfer, else busy.
	 */
	if (op == TFTP_RRQ && (t->buf = pool_get(w)) == NULL &&
	    (!evict(w, true) || (t->buf = pool_get(w)) == NULL)) {
		bump(&w->st->pool_exhausted);
		refuse(w, rq, &t->ri, TFTP_EUNDEF, "Server busy");
		tx_release(w, t);
		return;
	}
	if ((r = create(w, t, rq, &req, &first, &code, &errmsg)) < 0) {
		refuse(w, rq, &t->ri, code, errmsg);
		tx_release(w, t);
		return;
	}
	/* Its first packet: the OACK, the first window or ACK 0. */
	transfer_start(w, t, &first);
}

/*
 * The [access] lists of the request's operation, before anything else is
 * done for it: a refused client never reaches the parser's answers, the
 * name rules, a lookup or a transfer of its own, so a host that may not
 * write learns nothing of the tree either, and refuse = drop leaves a
 * scan of the boot network without any answer.  Only a repeat of a
 * running transfer's request comes first (same_client()): that transfer
 * was admitted under the lists of its time and keeps them, as it keeps
 * its other settings.  Every mode comes here (single_port sends each RRQ
 * and WRQ to admit()).  Counted in refused_acl; with an ERROR also as
 * every refusal is (refuse()); logged as every request is, "dropped"
 * when nothing was sent.  true when refused.
 */
static bool
access_refused(struct worker *w, const struct request *rq, uint16_t op)
{
	const struct tftpd_config *cfg = &w->cfg;
	struct reqinfo ri;
	const char *file = NULL;
	bool ok;

	if (op == TFTP_RRQ)
		ok = acl_permits(&cfg->acl_read_allow, &cfg->acl_read_deny,
		    rq->peer);
	else
		ok = acl_permits(&cfg->acl_write_allow, &cfg->acl_write_deny,
		    rq->peer);
	if (ok)
		return false;
	count(w, TFTP_SHM_C_REFUSED_ACL, 1);
	/* For the log: the name, if the packet holds a whole one. */
	if (!rq->truncated && rq->len > 2 && rq->len <= REQ_BUFSZ &&
	    memchr(rq->buf + 2, '\0', rq->len - 2) != NULL)
		file = (const char *)rq->buf + 2;
	reqinfo_init(&ri, rq, op, file, "-");
	if (cfg->refuse == REFUSE_DROP) {
		transfer_top(w, &ri, 0, true);
		log_request(w, &ri, 0, "dropped", TFTP_EACCESS,
		    "refused by [access], not answered");
		return true;
	}
	refuse(w, rq, &ri, TFTP_EACCESS, "Access violation");
	return true;
}

/*
 * The limits, after [access] and the parser, for a request that would
 * start a transfer: its client's token bucket (per_client_rate and
 * per_client_burst; a request refused for another reason has spent its
 * token too, so a flood cannot retry for free), its client's running
 * transfers (per_client_transfers), then this worker's share of
 * max_transfers.  A client is counted in one worker only: the master
 * steers each client's requests to one worker (sock.c).  Each refusal
 * is answered "Server busy", as an exhausted pool is, and counted in its
 * own counter; a client that finds no room in the table (every entry of
 * its set runs transfers) is refused as over its cap.  *client: the
 * entry to count the transfer in (NULL with both client limits off).
 * true when refused.
 */
static bool
limits_refused(struct worker *w, const struct request *rq,
    struct reqinfo *ri, struct climit_entry **client)
{
	const struct tftpd_config *cfg = &w->cfg;
	struct climit_key key;
	struct climit_entry *e;
	uint64_t now = time_now_ms();
	enum tftp_shm_counter c;

	*client = NULL;
	if (cfg->per_client_transfers != 0 || cfg->per_client_rate != 0) {
		climit_key_of(rq->peer, &key);
		e = climit_get(&w->cl, &key, cfg->per_client_burst, now);
		if (e == NULL) {
			c = TFTP_SHM_C_REFUSED_CLIENT_CAP;
			goto refused;
		}
		if (!climit_take(e, cfg->per_client_rate,
		    cfg->per_client_burst, now)) {
			c = TFTP_SHM_C_REFUSED_CLIENT_RATE;
			goto refused;
		}
		if (!climit_room(e, cfg->per_client_transfers)) {
			c = TFTP_SHM_C_REFUSED_CLIENT_CAP;
			goto refused;
		}
		*client = e;
	}
	/* A full share makes room by evicting, once. */
	if (w->active >= w->limit &&
	    (w->active != w->limit || !evict(w, false))) {
		c = TFTP_SHM_C_REFUSED_MAX_TRANSFERS;
		goto refused;
	}
	return false;

refused:
	count(w, c, 1);
	refuse(w, rq, ri, TFTP_EUNDEF, "Server busy");
	return true;
}

/*
 * Under pressure (this worker's share of max_transfers running, or its
 * buffer pool empty) a new request takes the place of the oldest
 * transfer whose client has not answered, as a SYN flood's half-open
 * connections give way: a flood of forged requests then delays real
 * clients by at most their own retry, and holds no slot a real request
 * needs.  A transfer whose client has answered is never evicted.
 * need_buf: only one holding a pool buffer will do.  true when one was.
 */
static bool
evict(struct worker *w, bool need_buf)
{
	struct transfer *t;

	if ((t = tx_unverified_oldest(w, need_buf)) == NULL)
		return false;
	transfer_evict(w, t);
	return true;
}

/*
 * A request from the address and port of a running transfer (on the same
 * listen socket).  The same request again is a repeat: its answer was
 * lost or slow, or the client retries fast (PXELINUX sends its RRQ twice
 * from one port), or its retry crossed our own retransmission and it has
 * answered that already (so a packet heard cannot tell a restart from a
 * late retry).  It starts nothing; until the client has answered (the
 * unverified phase, xfer.c), its first packet goes out again from the
 * transfer's own TID, so the client locks onto that one: one answer per
 * request, the only way that packet goes again unless
 * unverified_retransmits allows a few timed ones.  Any other request from there
 * means the client has moved on (the Raspberry Pi ROM fetches every file
 * from one port, sometimes before the last transfer was closed): the old
 * transfer ends at once, without an ERROR, which the client would take
 * for the answer to its new request, and the new request is admitted.
 * A finished upload that only waits out its final ACK ends as completed
 * whatever the request.  true when rq was a repeat.
 */
static bool
same_client(struct worker *w, const struct request *rq)
{
	struct xfer_action again;
	struct transfer *t;

	if ((t = tx_by_peer(w, rq)) == NULL)
		return false;
	if (xfer_dallying(&t->x)) {
		transfer_finish(w, t, 0, 0, NULL);
		return false;
	}
	if (rq->len == t->req_len && request_hash(rq) == t->req_hash) {
		count(w, TFTP_SHM_C_REQUESTS_REPEATED, 1);
		xfer_on_repeat(&t->x, time_now_ms(), &again);
		transfer_act(w, t, &again);
		return true;
	}
	transfer_finish(w, t, -ECONNRESET, 0, NULL);
	return false;
}

/* FNV-1a: tells a repeated request from another one, nothing more. */
static uint64_t
request_hash(const struct request *rq)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325);
	size_t i;

	for (i = 0; i < rq->len; i++)
		h = (h ^ rq->buf[i]) * UINT64_C(0x100000001b3);
	return h;
}

/*
 * A datagram on a listen socket that is neither a request nor an ERROR:
 * a DATA or ACK (the transport says what that means there), or nonsense.
 */
static void
not_request(struct worker *w, const struct request *rq, uint16_t op)
{
	char addr[SOCKADDR_STRLEN];

	if (wlog_allow(w, WLOG_STRAY, rq->peer))
		log_debug("opcode %u on the listen socket from %s", op,
		    sockaddr_str(rq->peer, addr, sizeof(addr)));
	if ((op == TFTP_DATA || op == TFTP_ACK) &&
	    time_now_ms() < w->restarting_until)
		refuse(w, rq, NULL, TFTP_EUNDEF, "Server restarting");
	else if (op == TFTP_DATA || op == TFTP_ACK)
		refuse(w, rq, NULL, w->tp->stray_code, w->tp->stray_msg);
	else
		refuse(w, rq, NULL, TFTP_EBADOP, "Illegal TFTP operation");
}

/*
 * A request refused (or a datagram that is none) is answered with an
 * ERROR, sent as the transport answers requests.  A refused request (ri
 * given) counts as a failed transfer.
 */
static void
refuse(struct worker *w, const struct request *rq, struct reqinfo *ri,
    uint16_t code, const char *msg)
{
	w->tp->reply(w, rq, proto_build_error(w->sbuf, w->sbufsz, code, msg));
	if (ri != NULL) {
		count_failed(w, code);
		transfer_top(w, ri, 0, true);
		log_request(w, ri, 0, "error", code, msg);
	}
}

/*
 * The transfer for req: the policy, its file, its options, its place in
 * the transport, its tftpctl listing and its state machine, whose first
 * action is returned, not carried out.  On failure the ERROR to send is
 * in code/msg and the caller releases the slot.
 */
static int
create(struct worker *w, struct transfer *t, const struct request *rq,
    const struct tftp_request *req, struct xfer_action *first,
    uint16_t *code, const char **msg)
{
	const struct tftpd_config *cfg = &w->cfg;
	struct tftp_params opt;
	struct xfer_params xp;
	uint64_t size = 0;
	int r;

	if ((r = open_file(w, t, req, &size, code, msg)) < 0)
		return r;
	if ((r = negotiate(cfg, req, size, &opt)) < 0) {
		files_errmap(r, code, msg);
		return r;
	}
	/* An upload announced bigger than the free space: refused now. */
	if (req->opcode == TFTP_WRQ &&
	    (req->opts & TFTP_OPT_BIT(TFTP_OPT_TSIZE)) &&
	    (r = files_upload_room(&t->up, req->tsize)) < 0) {
		files_errmap(r, code, msg);
		return r;
	}
	if ((r = w->tp->begin(w, t, rq)) < 0 ||
	    (r = tx_peer_add(w, t, rq)) < 0) {
		*code = TFTP_EUNDEF;
		*msg = "Server busy";
		return r;
	}
	t->req_hash = request_hash(rq);
	t->req_len = rq->len;
	opts_str(&t->ri, &opt);
	/* Expected size: the file's, or what an upload's tsize announced. */
	session_begin(w, t, rq, &opt, req->opcode == TFTP_RRQ ? size :
	    (opt.acked & TFTP_OPT_BIT(TFTP_OPT_TSIZE)) ? opt.tsize : 0);
	xfer_params_init(&xp, req->opcode == TFTP_RRQ ? XFER_READ : XFER_WRITE,
	    &opt, size, cfg->timeout_ms, cfg->retries);
	xfer_params_unverified(&xp, cfg->unverified_retransmits,
	    cfg->unverified_timeout * 1000);
	xfer_start(&t->x, &xp, time_now_ms(), first);
	return 0;
}

/*
 * The policy, then the file: opened for reading (size: what the client
 * will receive, netascii-encoded in netascii mode) or as an upload.
 */
static int
open_file(struct worker *w, struct transfer *t, const struct tftp_request *req,
    uint64_t *size, uint16_t *code, const char **msg)
{
	const struct tftpd_config *cfg = &w->cfg;
	const struct sockaddr *peer = (const struct sockaddr *)&t->ri.peer;
	char norm[PATH_REL_MAX], bs[PATH_REL_MAX], mapped[REMAP_NAME_MAX];
	const char *name = req->filename, *rel = norm;
	int r, rootfd;

	if (req->mode == TFTP_MODE_NETASCII && !cfg->netascii) {
		*code = TFTP_EBADOP;
		*msg = "netascii mode disabled";
		return -EPROTONOSUPPORT;
	}
	/* Backslashes first, so remap rules and the path rules see '/'. */
	if (cfg->map_backslash &&
	    (name = lookup_backslash(name, bs, sizeof(bs))) == NULL) {
		r = -ENAMETOOLONG;
		goto out_errmap;
	}
	/* The rules' name is the client's: the path rules confine it. */
	if (w->rm != NULL) {
		if ((r = wremap_name(w, t, req->opcode, name, mapped,
		    sizeof(mapped), code, msg)) < 0)
			return r;
		name = mapped;
	}
	if ((r = path_normalize(name, norm, sizeof(norm))) < 0)
		goto out_errmap;
	rootfd = pick_root(w, name, &rel);
	/* Beneath that root or the client's directory, maybe ignoring case. */
	if (req->opcode == TFTP_WRQ) {
		r = lookup_open(NULL, rootfd, peer, rel, cfg, &t->up,
		    req->mode == TFTP_MODE_NETASCII, NULL);
		if (r < 0)
			goto out_errmap;
		return 0;
	}
	/* Shared with the file's other transfers: txtab.c gives it back. */
	if ((r = lookup_open(&w->fc, rootfd, peer, rel, cfg, NULL, false,
	    size)) < 0)
		goto out_errmap;
	t->fd = r;
	if (req->mode == TFTP_MODE_NETASCII) {
		if ((r = files_nasrc_init(&t->nas, t->fd, size)) < 0)
			goto out_errmap;
		t->netascii = true;
	}
	return 0;

out_errmap:
	files_errmap(r, code, msg);
	return r;
}

/*
 * Without -s, in.tftpd's list of directories: an absolute name that
 * starts with one of them is looked up beneath that one, *rel becoming
 * the rest.  Any other name, and every name with -s, beneath the first.
 */
static int
pick_root(const struct worker *w, const char *name, const char **rel)
{
	const char *dirs[CONFIG_MAX_ROOTS];
	size_t n;
	int i;

	if (w->cfg.secure || name[0] != '/')
		return w->rootfd;
	n = config_roots(&w->cfg, dirs, CONFIG_MAX_ROOTS);
	if (n > w->nroot)
		n = w->nroot;
	if ((i = path_pick_root(*rel, dirs, n, rel)) < 0)
		return w->rootfd;
	return w->rootfds[i];
}

/* The options granted: what the client asked, within the settings. */
static int
negotiate(const struct tftpd_config *cfg, const struct tftp_request *req,
    uint64_t size, struct tftp_params *opt)
{
	const struct tftp_limits lim = {
		.max_blksize = cfg->max_blksize,
		.max_windowsize = cfg->max_windowsize < XFER_WINDOW_LIMIT ?
		    cfg->max_windowsize : XFER_WINDOW_LIMIT,
		.allowed_opts = cfg->allowed_opts,
		.max_file_size = cfg->max_file_size,
	};

	return proto_negotiate(req, &lim, size, opt);
}

/* List the transfer for tftpctl and count its options. */
static void
session_begin(struct worker *w, struct transfer *t, const struct request *rq,
    const struct tftp_params *p, uint64_t size)
{
	const struct sockaddr_in *sin;
	const struct sockaddr_in6 *sin6;
	const void *addr = NULL;
	uint16_t port = 0;
	int o;

	for (o = 0; o < TFTP_OPT_MAX && o < TFTP_SHM_NOPTS; o++)
		if (p->acked & TFTP_OPT_BIT(o))
			bump(&w->st->options[o]);
	if (w->shm.stats == NULL)
		return;
	if (rq->peer->sa_family == AF_INET) {
		sin = (const struct sockaddr_in *)rq->peer;
		addr = &sin->sin_addr;
		port = ntohs(sin->sin_port);
	} else if (rq->peer->sa_family == AF_INET6) {
		sin6 = (const struct sockaddr_in6 *)rq->peer;
		addr = &sin6->sin6_addr;
		port = ntohs(sin6->sin6_port);
	}
	/*
	 * -ENOSPC: a full table; the transfer runs unlisted.  The name as
	 * requested: tftpctl escapes it for its output, once.
	 */
	t->sess = shm_session_begin(&w->shm, t->ri.opcode == TFTP_RRQ ?
	    TFTP_SHM_S_READ : TFTP_SHM_S_WRITE, rq->peer->sa_family, addr,
	    port, t->ri.file, t->ri.opts, size, realtime_ms());
	if (t->sess < 0)
		t->sess = -1;
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
	/* Raw, cut to fit: each output escapes it for its own syntax. */
	if (file != NULL)
		snprintf(ri->file, sizeof(ri->file), "%s", file);
}

/* "blksize=1428 tsize=1048576": what the OACK granted. */
static void
opts_str(struct reqinfo *ri, const struct tftp_params *p)
{
	size_t off = 0;
	int o, n;

	ri->opts[0] = '\0';
	for (o = 0; o < TFTP_OPT_MAX; o++) {
		if (!(p->acked & TFTP_OPT_BIT(o)))
			continue;
		n = snprintf(ri->opts + off, sizeof(ri->opts) - off,
		    "%s%s=%" PRIu64, off > 0 ? " " : "",
		    proto_opt_name((enum tftp_opt)o),
		    proto_param_value(p, (enum tftp_opt)o));
		if (n < 0 || (size_t)n >= sizeof(ri->opts) - off)
			break;
		off += (size_t)n;
	}
}

static int64_t
realtime_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
