/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * A running transfer: its packets and timer expiries are fed to the state
 * machine (xfer.c), and the action it answers with is carried out in flag
 * order: write, commit, the sends, done.  A step that fails stops the
 * action; the failure is then reported to the state machine, whose answer
 * (an ERROR, the end) is carried out in turn.  The end is counted and
 * logged here; log_request() writes the one log line of every request,
 * admitted or refused.  The histograms of the statistics slot are fed
 * here too: a transfer's duration, size and retransmits at its end, and
 * the round trip of a window from its send to the ACK that covers it.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "files.h"
#include "log.h"
#include "metrics.h"
#include "loop.h"
#include "proto.h"
#include "shm.h"
#include "sock.h"
#include "util.h"
#include "worker_int.h"
#include "xfer.h"

static int	 run_action(struct worker *w, struct transfer *t,
		    const struct xfer_action *a, uint16_t *code,
		    const char **msg);
static void	 send_packet(struct worker *w, struct transfer *t, size_t len);
static bool	 budget_allows(struct worker *w, struct transfer *t,
		    const struct xfer_action *a);
static uint64_t	 action_bytes(struct worker *w, struct transfer *t,
		    const struct xfer_action *a);
static void	 send_errmap(int r, uint16_t *code, const char **msg);
static bool	 request_line_allowed(struct worker *w,
		    const struct reqinfo *ri, const char *result,
		    uint16_t code);
static void	 log_json(const struct worker *w, const struct reqinfo *ri,
		    int prio, const char *addr, const char *op, uint64_t bytes,
		    uint64_t ms, const char *result, uint16_t code,
		    const char *msg);
static void	 transfer_hists(struct worker *w, const struct transfer *t,
		    uint64_t bytes);

/*
 * A packet from the transfer's client, to its state machine.  Returns the
 * flags of the action it answered with.
 */
uint32_t
transfer_packet(struct worker *w, struct transfer *t, const uint8_t *buf,
    size_t len)
{
	struct xfer_action a;
	uint64_t now_us;

	count(w, TFTP_SHM_C_PACKETS_RECEIVED, 1);
	if (len >= TFTP_HDR_LEN && buf[0] == 0 && buf[1] == TFTP_DATA)
		count(w, TFTP_SHM_C_BYTES_RECEIVED, len - TFTP_HDR_LEN);
	xfer_on_packet(&t->x, buf, len, time_now_ms(), &a);
	/* The timed window acknowledged: one round-trip sample. */
	if (t->rtt_block != 0 && xfer_acked(&t->x) >= t->rtt_block) {
		now_us = time_now_us();
		if (now_us >= t->rtt_sent_us)
			metrics_record(w->st->hist, TFTP_SHM_H_ACK_RTT,
			    now_us - t->rtt_sent_us);
		t->rtt_block = 0;
	}
	transfer_act(w, t, &a);
	return a.flags;
}

/* The transfer's timer expired. */
void
transfer_timeout(struct worker *w, struct transfer *t)
{
	struct xfer_action a;

	xfer_on_timeout(&t->x, time_now_ms(), &a);
	transfer_act(w, t, &a);
}

/*
 * An ICMP error (err) about the client's address reached the transfer's
 * socket.  Before the client answered, that ends it (xfer.c): a forged
 * source's owner says nobody asked.
 */
void
transfer_unreachable(struct worker *w, struct transfer *t, int err)
{
	struct xfer_action a;

	xfer_on_unreachable(&t->x, err, &a);
	transfer_act(w, t, &a);
}

/*
 * Carry out a; a step that fails ends the transfer with an ERROR.  A
 * transfer whose client has just answered leaves the unverified list;
 * one whose client has not sends only within the budget (budget_allows):
 * over it, the sends are left out and the rest of the action is done.
 */
void
transfer_act(struct worker *w, struct transfer *t, const struct xfer_action *a)
{
	struct xfer_action held;
	const char *msg;
	uint16_t code;
	int r;

	if (t->unv_on && xfer_verified(&t->x))
		tx_verified(w, t);
	if (!budget_allows(w, t, a)) {
		count(w, TFTP_SHM_C_UNVERIFIED_OVER_BUDGET, 1);
		held = *a;
		held.flags &= ~(unsigned)(XA_SEND_OACK | XA_SEND_DATA |
		    XA_SEND_ACK);
		a = &held;
	}
	if ((r = run_action(w, t, a, &code, &msg)) < 0)
		transfer_fail(w, t, code, msg, r);
}

/*
 * A new transfer's first action (admit.c).  Over the budget, the
 * request is dropped, as if it had never arrived: no answer (its source
 * may be forged, and an ERROR would be the amplification saved), no
 * slot held for an answer that cannot come; counted and logged
 * "throttled" through the limiter.  Otherwise the transfer joins the
 * unverified list and its first packet goes.
 */
void
transfer_start(struct worker *w, struct transfer *t,
    const struct xfer_action *first)
{
	const char *msg;
	uint16_t code;
	int r;

	if (!budget_allows(w, t, first)) {
		count(w, TFTP_SHM_C_UNVERIFIED_OVER_BUDGET, 1);
		transfer_top(w, &t->ri, 0, false);
		log_request(w, &t->ri, 0, "throttled", 0, NULL);
		tx_release(w, t);
		return;
	}
	tx_unverified_add(w, t);
	if ((r = run_action(w, t, first, &code, &msg)) < 0)
		transfer_fail(w, t, code, msg, r);
}

/*
 * The amplification budget ([limits] unverified_bytes_rate, _burst):
 * every packet to a client that has not answered yet, whose address may
 * be a forged one, is paid for in bytes from the worker's bucket (its
 * share of the server's), the whole action's sends or none.  true when
 * they may go (verified, nothing to send, the limit off, or paid).
 */
static bool
budget_allows(struct worker *w, struct transfer *t,
    const struct xfer_action *a)
{
	uint64_t n;

	if (w->unv_rate == 0 || xfer_verified(&t->x) ||
	    !(a->flags & (XA_SEND_OACK | XA_SEND_DATA | XA_SEND_ACK)))
		return true;
	n = action_bytes(w, t, a);
	if (n > UINT32_MAX)
		return false;
	return climit_bucket_take(&w->unv_budget, (uint32_t)n, w->unv_rate,
	    w->unv_burst, time_now_ms());
}

/* The bytes (UDP payload) of the packets a sends: OACK, DATA, ACK. */
static uint64_t
action_bytes(struct worker *w, struct transfer *t,
    const struct xfer_action *a)
{
	const struct xfer_params *p = xfer_params(&t->x);
	uint64_t n = 0, bs = p->opt.blksize, last;

	if (a->flags & XA_SEND_OACK)
		n += proto_build_oack(w->sbuf, w->sbufsz, &p->opt);
	if ((a->flags & XA_SEND_DATA) && a->count > 0 && bs > 0) {
		n += (uint64_t)a->count * (TFTP_HDR_LEN + bs);
		/* The file's last block is short (maybe empty). */
		last = p->size / bs + 1;
		if (a->first + a->count - 1 >= last)
			n -= bs - (p->size - (last - 1) * bs);
	}
	if (a->flags & XA_SEND_ACK)
		n += TFTP_HDR_LEN;
	return n;
}

/*
 * Carry out action a for t, its steps in flag order.  0 once it is done
 * (the transfer may have ended), or the -errno of the step that failed,
 * with the ERROR for the client in code/msg: the rest of the action is
 * dropped, and the caller reports the failure to the state machine.
 */
static int
run_action(struct worker *w, struct transfer *t, const struct xfer_action *a,
    uint16_t *code, const char **msg)
{
	int r;

	/* What the state machine counted for this step. */
	if (a->retransmits != 0)
		count(w, TFTP_SHM_C_RETRANSMITS, a->retransmits);
	if (a->timeouts != 0)
		count(w, TFTP_SHM_C_TIMEOUTS, a->timeouts);
	/*
	 * Karn: once anything went again, an ACK may answer either send,
	 * so the window being timed gives no sample.
	 */
	if (a->retransmits != 0 || a->timeouts != 0 ||
	    (a->flags & XA_RETRANSMIT))
		t->rtt_block = 0;
	if (a->flags & XA_WRITE) {
		r = files_upload_write(&t->up, a->data, a->len);
		if (r < 0) {
			files_errmap(r, code, msg);
			return r;
		}
	}
	if (a->flags & XA_COMMIT) {
		r = files_upload_commit(&t->up);
		if (r < 0) {
			files_errmap(r, code, msg);
			return r;
		}
		t->ri.end_ms = time_now_ms();
	}
	if (a->flags & XA_SEND_OACK)
		send_packet(w, t, proto_build_oack(w->sbuf, w->sbufsz,
		    &xfer_params(&t->x)->opt));
	if (a->flags & XA_SEND_DATA) {
		r = w->tp->send_window(w, t, a->first, a->count);
		if (r < 0) {
			send_errmap(r, code, msg);
			return r;
		}
		/* One window timed at a time, per transfer. */
		if (t->rtt_block == 0 && a->count > 0 &&
		    !(a->flags & XA_RETRANSMIT)) {
			t->rtt_block = a->first + a->count - 1;
			t->rtt_sent_us = time_now_us();
		}
	}
	if (a->flags & XA_SEND_ACK)
		w->tp->send_ack(w, t, a->ack_block);
	if (a->flags & XA_SEND_ERROR)
		send_packet(w, t, proto_build_error(w->sbuf, w->sbufsz,
		    a->error_code, a->error_msg));
	if (a->flags & XA_DONE) {
		transfer_finish(w, t, a->result, a->error_code, a->error_msg);
		return 0;
	}
	/*
	 * An upload in its dally is complete (committed, final ACK sent);
	 * the dally only answers a lost ACK.  A draining worker does not
	 * hold its exit, and the operator's stop, for that.
	 */
	if (w->mode == W_DRAIN && xfer_dallying(&t->x)) {
		transfer_finish(w, t, 0, 0, NULL);
		return 0;
	}
	/*
	 * tftpctl sessions and top: every ACK that moves a download on
	 * (one per window), every block of an upload.  The entry is in this
	 * worker's own cache lines and the store is two seqlock increments
	 * around a relaxed one, no system call: cheap next to the packet
	 * it follows, and a slow client's progress shows as it happens.
	 */
	if (t->sess >= 0 && xfer_bytes(&t->x) != t->sess_bytes) {
		t->sess_bytes = xfer_bytes(&t->x);
		shm_session_progress(&w->shm, t->sess, t->sess_bytes);
	}
	if (loop_timer_set(&w->loop, &t->timer, xfer_deadline(&t->x)) < 0) {
		/* The heap holds a timer per slot; cannot happen. */
		*code = TFTP_EUNDEF;
		*msg = "Server busy";
		return -ENOSPC;
	}
	return 0;
}

/* An OACK or ERROR in sbuf (none if it did not fit). */
static void
send_packet(struct worker *w, struct transfer *t, size_t len)
{
	if (len > 0)
		w->tp->send(w, t, len);
}

/*
 * The worker cannot go on with t: the state machine is told once, and its
 * answer (an ERROR to the client, the end) is carried out.  Those steps
 * cannot fail.
 */
void
transfer_fail(struct worker *w, struct transfer *t, uint16_t code,
    const char *msg, int err)
{
	struct xfer_action a;

	xfer_fail(&t->x, code, msg, err, &a);
	(void)run_action(w, t, &a, &code, &msg);
}

/* Send the rest of a window the socket buffer had no room for. */
void
transfer_resume(struct worker *w, struct transfer *t)
{
	const char *msg;
	uint16_t code;
	int r;

	if ((r = w->tp->send_window(w, t, t->pend_first,
	    t->pend_count)) < 0) {
		send_errmap(r, &code, &msg);
		transfer_fail(w, t, code, msg, r);
	}
}

/* The ERROR for a window that could not be read or sent. */
static void
send_errmap(int r, uint16_t *code, const char **msg)
{
	*code = TFTP_EUNDEF;
	*msg = r == -ESTALE ? "File changed" : strerror(-r);
}

/*
 * A request ended: its client and its file in the busiest-clients and
 * busiest-files tables.
 */
void
transfer_top(struct worker *w, const struct reqinfo *ri, uint64_t bytes,
    bool failed)
{
	uint8_t key[16];
	uint16_t family;
	size_t len;

	len = metrics_client_key((const struct sockaddr *)&ri->peer, &family,
	    key);
	if (len > 0)
		metrics_top_add(w->st->clients, TFTP_SHM_TOPN, family, key,
		    len, bytes, failed);
	metrics_top_add(w->st->files, TFTP_SHM_TOPN, 0, ri->file,
	    strlen(ri->file), bytes, failed);
}

/* A transfer's duration (as its log line's), size and retransmits. */
static void
transfer_hists(struct worker *w, const struct transfer *t, uint64_t bytes)
{
	uint64_t end = t->ri.end_ms != 0 ? t->ri.end_ms : time_now_ms();

	metrics_record(w->st->hist, TFTP_SHM_H_DURATION,
	    end >= t->ri.start_ms ? end - t->ri.start_ms : 0);
	metrics_record(w->st->hist, TFTP_SHM_H_SIZE, bytes);
	metrics_record(w->st->hist, TFTP_SHM_H_RETRANSMITS,
	    xfer_status(&t->x).retransmits);
}

/*
 * The transfer's log line, outcome counters, histograms and top-N
 * entries; its slot is freed.
 */
void
transfer_finish(struct worker *w, struct transfer *t, int result,
    uint16_t code, const char *msg)
{
	uint64_t bytes = xfer_bytes(&t->x);
	bool failed = result != 0 && result != -ECONNRESET &&
	    result != -ECONNABORTED;

	transfer_hists(w, t, bytes);
	transfer_top(w, &t->ri, bytes, failed);

	if (result == 0) {
		count(w, TFTP_SHM_C_TRANSFERS_OK, 1);
		log_request(w, &t->ri, bytes, "ok", 0, NULL);
	} else if (result == -ECONNRESET) {
		/* A new request from the client's port took its place. */
		count(w, TFTP_SHM_C_TRANSFERS_REPLACED, 1);
		log_request(w, &t->ri, bytes, "replaced", 0, NULL);
	} else if (result == -ENOTCONN) {
		/*
		 * Never answered (xfer.c's unverified expiry): no ERROR
		 * was sent, and the source may have been forged, so not a
		 * failure of ours either.
		 */
		count(w, TFTP_SHM_C_UNVERIFIED_EXPIRED, 1);
		log_request(w, &t->ri, bytes, "unanswered", 0, NULL);
	} else if (!xfer_verified(&t->x) && (result == -ECONNREFUSED ||
	    result == -EHOSTUNREACH || result == -ENETUNREACH)) {
		/* The same, ended early by an ICMP error. */
		count(w, TFTP_SHM_C_UNVERIFIED_ICMP, 1);
		log_request(w, &t->ri, bytes, "unreachable", 0, NULL);
	} else if (result == -ECONNABORTED) {
		/*
		 * The client's ERROR (not answered): its choice, not a
		 * failure of ours.  EDK2 sends ERROR 8 after an OACK it only
		 * wanted for the size, PXELINUX ERROR 0 "No error, file
		 * close".
		 */
		count(w, TFTP_SHM_C_TRANSFERS_ABORTED, 1);
		log_request(w, &t->ri, bytes, "aborted", code,
		    msg != NULL ? msg : "");
	} else {
		/* The code of the ERROR sent. */
		count_failed(w, code);
		if (result == -ETIMEDOUT)
			log_request(w, &t->ri, bytes, "timeout", 0, NULL);
		else
			log_request(w, &t->ri, bytes, "error", code,
			    msg != NULL ? msg : "");
	}
	tx_release(w, t);
}

/*
 * An unverified transfer ended to admit a new request in its place
 * (admit.c): no ERROR, as at its expiry, for its source may be forged;
 * not a failure of ours either.  Counted, logged "evicted" through the
 * limiter; its slot, buffer and client count are freed.
 */
void
transfer_evict(struct worker *w, struct transfer *t)
{
	uint64_t bytes = xfer_bytes(&t->x);

	transfer_hists(w, t, bytes);
	transfer_top(w, &t->ri, bytes, false);
	count(w, TFTP_SHM_C_UNVERIFIED_EVICTED, 1);
	log_request(w, &t->ri, bytes, "evicted", 0, NULL);
	tx_release(w, t);
}

/*
 * Every line but a success's goes through the limiter (wlog.c), by its
 * result and ERROR code: a client's flood of bad requests, or of
 * transfers it abandons, must not become a flood of lines.
 */
static bool
request_line_allowed(struct worker *w, const struct reqinfo *ri,
    const char *result, uint16_t code)
{
	static const struct {
		const char	*result;
		unsigned	 kind;
	} kinds[] = {
		{ "timeout",	WLOG_TIMEOUT },
		{ "aborted",	WLOG_ABORTED },
		{ "replaced",	WLOG_REPLACED },
		/* A forged source's requests: a flood's worth. */
		{ "unanswered",	WLOG_TIMEOUT },
		{ "unreachable", WLOG_TIMEOUT },
		{ "evicted",	WLOG_TIMEOUT },
		{ "throttled",	WLOG_TIMEOUT },
	};
	size_t i;

	if (strcmp(result, "ok") == 0)
		return true;
	if (strcmp(result, "error") == 0)
		return wlog_allow(w, WLOG_ERROR + (code <= 8 ? code : 0),
		    (const struct sockaddr *)&ri->peer);
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcmp(result, kinds[i].result) == 0)
			return wlog_allow(w, kinds[i].kind,
			    (const struct sockaddr *)&ri->peer);
	return true;
}

/*
 * The transfer's log line: one per request, refused or ended.  A failure
 * of ours (an ERROR sent, a timeout) at notice; the rest (done, ended by
 * the client or by its next request) at info, so that log_level = notice
 * keeps the failures alone.  A missing file is no failure either: PXE
 * ROMs and GRUB probe long lists of names, and a boot storm's misses
 * would bury the real failures.  log_format = json writes the same
 * fields as one JSON object (log_json).
 */
void
log_request(struct worker *w, const struct reqinfo *ri, uint64_t bytes,
    const char *result, uint16_t code, const char *msg)
{
	char addr[SOCKADDR_STRLEN], vfile[LOG_FILE_MAX], vmsg[128];
	/* An upload's time ends at its commit, not after the dally. */
	uint64_t ms = (ri->end_ms != 0 ? ri->end_ms : time_now_ms()) -
	    ri->start_ms;
	const char *op;
	int prio = LOG_INFO;

	if (strcmp(result, "timeout") == 0 ||
	    (strcmp(result, "error") == 0 && code != TFTP_ENOTFOUND))
		prio = LOG_NOTICE;

	if (!request_line_allowed(w, ri, result, code))
		return;
	sockaddr_str((const struct sockaddr *)&ri->peer, addr, sizeof(addr));
	op = ri->opcode == TFTP_RRQ ? "rrq" : ri->opcode == TFTP_WRQ ?
	    "wrq" : "-";
	if (w->cfg.log_format == LOG_FORMAT_JSON) {
		log_json(w, ri, prio, addr, op, bytes, ms, result, code, msg);
		return;
	}
	str_vis(vfile, sizeof(vfile), ri->file);
	if (msg == NULL) {
		log_msg(prio, "transfer client=%s op=%s file=\"%s\" mode=%s "
		    "bytes=%" PRIu64 " seconds=%" PRIu64 ".%03u "
		    "options=\"%s\" result=%s", addr, op, vfile, ri->mode,
		    bytes, ms / 1000, (unsigned)(ms % 1000), ri->opts, result);
		return;
	}
	str_vis(vmsg, sizeof(vmsg), msg);
	log_msg(prio, "transfer client=%s op=%s file=\"%s\" mode=%s "
	    "bytes=%" PRIu64 " seconds=%" PRIu64 ".%03u options=\"%s\" "
	    "result=%s code=%u msg=\"%s\"", addr, op, vfile, ri->mode,
	    bytes, ms / 1000, (unsigned)(ms % 1000), ri->opts, result,
	    (unsigned)code, vmsg);
}

/*
 * The line as one JSON object, starting with '{' (which is how the master
 * knows to pass it on without its "worker K: " prefix: see log_relay()).
 * The client's strings go through str_json(), so the object is valid,
 * ASCII JSON whatever bytes the client sent.  Every field is bounded, so
 * the whole object fits a log line and is never cut: the fixed text is
 * under 200 bytes, a number at most 20 digits, the address under 64.
 */
#define JSON_FILE_MAX	320
#define JSON_OPTS_MAX	(LOG_OPTS_MAX + 32)
#define JSON_MSG_MAX	128
_Static_assert(200 + 3 * 24 + 64 + JSON_FILE_MAX + JSON_OPTS_MAX +
    JSON_MSG_MAX + 16 < LOG_LINE_MAX - 16, "a JSON log line may be cut");

static void
log_json(const struct worker *w, const struct reqinfo *ri, int prio,
    const char *addr, const char *op, uint64_t bytes, uint64_t ms,
    const char *result, uint16_t code, const char *msg)
{
	char jfile[JSON_FILE_MAX], jopts[JSON_OPTS_MAX], jmsg[JSON_MSG_MAX];
	char line[LOG_LINE_MAX];
	size_t off = 0;

	str_json(jfile, sizeof(jfile), ri->file);
	str_json(jopts, sizeof(jopts), ri->opts);
	str_append(line, sizeof(line), &off, "{\"event\":\"transfer\","
	    "\"worker\":%" PRIu32 ",\"client\":\"%s\",\"op\":\"%s\","
	    "\"file\":\"%s\",\"mode\":\"%s\",\"bytes\":%" PRIu64 ","
	    "\"seconds\":%" PRIu64 ".%03u,\"options\":\"%s\","
	    "\"result\":\"%s\"", w->index, addr, op, jfile, ri->mode, bytes,
	    ms / 1000, (unsigned)(ms % 1000), jopts, result);
	if (msg != NULL) {
		str_json(jmsg, sizeof(jmsg), msg);
		str_append(line, sizeof(line), &off, ",\"code\":%u,"
		    "\"msg\":\"%s\"", (unsigned)code, jmsg);
	}
	str_append(line, sizeof(line), &off, "}");
	log_msg(prio, "%s", line);
}
