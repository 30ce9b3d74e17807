/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * The worker's own header, shared by its files and no one else: the
 * worker, its transfers, the datagrams it reads and the transport that
 * carries a transfer's packets.  Each file owns one part of the data path:
 *
 *   worker.c	 setup, the loop, live settings, signals, drain, retirement
 *   listener.c	 the listen sockets: batches read, answers sent from there
 *   admit.c	 a request parsed, checked, opened, negotiated and created,
 *		 or refused (or a running transfer's repeated or replaced);
 *		 the transfer log line
 *   txtab.c	 the transfer table and the buffer pool
 *   transfer.c	 a running transfer: its state machine fed, its actions
 *		 carried out, its end counted and logged
 *   window.c	 a download's window laid out in its pool buffer
 *   conn.c	 the transport with a connected socket per transfer
 *   single.c	 the single-port transport
 *   wremap.c	 the remap rules: compiled from the segment, applied
 *   wlog.c	 the lines a client can cause, rate-limited
 *
 * Every counter of the worker's shared-memory slot is bumped where the
 * thing counted happens, with the inline helpers at the end.
 */
#ifndef WORKER_INT_H
#define WORKER_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "climit.h"
#include "config.h"
#include "fdcache.h"
#include "files.h"
#include "loop.h"
#include "peertab.h"
#include "ratelog.h"
#include "sendq.h"
#include "shm.h"
#include "sock.h"
#include "tftp_wire.h"
#include "worker.h"
#include "xfer.h"

#define REQ_BUFSZ	8192		/* name, mode, options */
#define RECV_BUFSZ	(TFTP_PKT_MAX + 1)	/* +1: see oversized DATA */
#define POOL_BUFSZ	65536u		/* a pool buffer: one window send */
#define LOG_FILE_MAX	256
#define LOG_OPTS_MAX	160
/* epoll data: a listen socket's index, else a transfer's gen << 32 | slot. */
#define EV_LISTEN	(UINT64_C(1) << 63)
#define TX_CHUNK	64		/* transfers allocated together */
#define TX_MAX		65536		/* max_transfers' ceiling */
#define TX_CHUNKS	(TX_MAX / TX_CHUNK)
#define WORKER_TIMERS	2		/* drain_timer, hb_timer */
/*
 * The heartbeat's period: the master (proc.c) kills a worker silent for
 * worker_stall_timeout, several periods, so a busy turn does not look
 * stalled.
 */
#define HEARTBEAT_MS	1000

/* The lists of unverified transfers (struct worker's unv[]). */
enum {
	TX_UNV_READ,
	TX_UNV_WRITE,
	TX_UNV_KINDS
};

/* What the transfer log line says about a request. */
struct reqinfo {
	struct sockaddr_storage	 peer;
	socklen_t		 peerlen;
	uint16_t		 opcode;
	const char		*mode;	/* static; "-" when unknown */
	uint64_t		 start_ms;
	uint64_t		 end_ms;	/* upload committed; 0 = not */
	char			 file[LOG_FILE_MAX];	/* raw bytes */
	char			 opts[LOG_OPTS_MAX];
};

struct transfer {
	bool			 used;
	uint32_t		 gen;	/* tells reuses of a slot apart */
	uint32_t		 slot;	/* index in the table */
	int			 sock;
	int			 fd;	/* RRQ: the file */
	bool			 netascii;
	struct nasrc		 nas;	/* RRQ in netascii mode */
	struct upload		 up;	/* WRQ */
	struct xfer		 x;
	struct loop_timer	 timer;
	/* RRQ: its pool buffer, where its windows are laid out. */
	uint8_t			*buf;
	/*
	 * RRQ in octet mode: a read-only shared mapping of the file's first
	 * maplen bytes (window.c), or NULL.  Only the kernel reads it, as
	 * sendmsg() data: no code of ours dereferences it, so a page gone
	 * past a truncated end is an EFAULT, never a SIGBUS.  map_tried: a
	 * mapping was made (or failed, or was dropped) and is not tried again.
	 * map_shared: the mapping is the shared descriptor's (fdcache.c
	 * unmaps it when the last transfer holding it is gone), else this
	 * transfer's own.
	 */
	const void		*map;
	size_t			 maplen;
	bool			 map_tried;
	bool			 map_shared;
	/* A window cut short by a full socket buffer, resumed on EPOLLOUT. */
	uint64_t		 pend_first;
	uint32_t		 pend_count;
	bool			 wantout;	/* conn: EPOLLOUT on */
	/*
	 * single_port: the transfer answers from listen socket lis (sock is
	 * that socket, not ours to close), from the address the request was
	 * sent to; peertab finds it by the client's address.
	 */
	uint8_t			 lis;
	uint64_t		 req_hash;	/* of the request's bytes */
	size_t			 req_len;
	bool			 queued;	/* buf is in the send queue */
	uint64_t		 win_end;	/* the window being sent ends */
	struct sockaddr_storage	 local;
	socklen_t		 locallen;
	uint8_t			 ackbuf[TFTP_HDR_LEN];	/* a queued ACK */
	/* Its client's entry in w->cl (kept while it runs); NULL: none. */
	struct climit_entry	*client;
	/*
	 * While its client has not answered: its place in w->unv[], the
	 * worker's unverified transfers oldest first (txtab.c).
	 */
	bool			 unv_on;
	TAILQ_ENTRY(transfer)	 unv_link;
	/* Shared memory: the transfer-table entry and what it was told. */
	int			 sess;	/* -1: not listed */
	uint64_t		 sess_bytes;
	/*
	 * Read: the ACK round trip being timed, of the last block of a
	 * window sent for the first time (time_now_us()); 0: none.
	 */
	uint64_t		 rtt_block;
	uint64_t		 rtt_sent_us;
	struct reqinfo		 ri;
};

struct listener {
	int			 fd;
	bool			 wantout;	/* single_port: EPOLLOUT on */
	struct sockaddr_storage	 addr;
	socklen_t		 len;
};

/*
 * One datagram read from a listen socket, where it came from and went to:
 * a request, or in single-port mode maybe a transfer's packet.
 */
struct request {
	struct listener		*l;
	const struct msghdr	*msg;	/* its control messages */
	const uint8_t		*buf;
	size_t			 len;
	bool			 truncated;
	const struct sockaddr	*peer;
	socklen_t		 peerlen;
	struct sockaddr_storage	 local;
	socklen_t		 locallen;
};

struct worker;
struct remap;
struct tftp_request;

/*
 * A transport: how a transfer's packets reach the worker and leave it,
 * with a connected socket per transfer (conn_transport) or all from the
 * listen socket (single_transport).  Chosen once at start, so nothing
 * else asks which mode the worker is in.
 */
struct transport {
	size_t		 recv_slot;	/* a listen socket's datagrams: bytes */
	uint32_t	 listen_events;	/* a listen socket's epoll events */
	/* The ERROR for a DATA or ACK on a listen socket. */
	uint16_t	 stray_code;
	const char	*stray_msg;
	/* SIGQUIT ends the transfers: their packets reach the replacement. */
	bool		 retire_ends_all;

	/* Its own memory: 0 or -errno. */
	int		(*init)(struct worker *w);
	void		(*fini)(struct worker *w);

	/* A datagram read from a listen socket. */
	void		(*datagram)(struct worker *w, struct request *rq);
	/* Events on a transfer's own socket (NULL: transfers have none). */
	void		(*event)(struct worker *w, struct transfer *t,
			    uint32_t events);
	/* Room again in listen socket lis (NULL: never waited for). */
	void		(*listen_writable)(struct worker *w, uint8_t lis);

	/* t's packets go to rq's sender from now on: 0 or -errno. */
	int		(*begin)(struct worker *w, struct transfer *t,
			    const struct request *rq);
	void		(*end)(struct worker *w, struct transfer *t);

	/* The ERROR of len bytes in sbuf, to rq's sender. */
	void		(*reply)(struct worker *w, const struct request *rq,
			    size_t len);
	/* t's packet of len (> 0) bytes in sbuf: an OACK, an ERROR. */
	void		(*send)(struct worker *w, struct transfer *t,
			    size_t len);
	void		(*send_ack)(struct worker *w, struct transfer *t,
			    uint16_t block);
	/* DATA blocks first .. first + n - 1: 0 or -errno. */
	int		(*send_window)(struct worker *w, struct transfer *t,
			    uint64_t first, uint32_t n);
	/* The loop turn ends: what was gathered goes out. */
	void		(*flush)(struct worker *w);
};

enum worker_mode {
	W_RUN,
	W_DRAIN,		/* SIGTERM: refuse requests, finish, exit */
	W_RETIRE,		/* SIGQUIT: stop listening, finish, exit */
};

struct worker {
	/* The applied settings: new transfers use them. */
	struct tftpd_config	 cfg;
	uint64_t		 gen;		/* their generation */
	uint64_t		 seen;		/* last one looked at */
	struct tftpd_config	 next;		/* to be checked */
	bool			 can_write;	/* Landlock allows it */
	/* The remap rules (NULL: none) and their text's generation. */
	struct remap		*rm;
	uint64_t		 map_gen;
	uint32_t		 index;
	struct shm_worker	 shm;
	struct tftp_shm_stats	*st;		/* our slot */

	int			 rootfd;		/* rootfds[0] */
	int			 rootfds[CONFIG_MAX_ROOTS];
	uint32_t		 nroot;
	/* Read descriptors shared by the transfers of a file (admit.c). */
	struct fdcache		 fc;
	struct loop		 loop;
	bool			 loop_ok;
	struct listener		 lis[WORKER_MAX_LISTEN];
	size_t			 nlis;
	bool			 listening;	/* lis[] in epoll */
	enum worker_mode	 mode;
	struct loop_timer	 drain_timer;
	/*
	 * Every HEARTBEAT_MS, even when idle (the loop sleeps no longer
	 * than its nearest timer): now into the slot's heartbeat_ms, and
	 * the log limiter's summaries out.
	 */
	struct loop_timer	 hb_timer;
	/*
	 * single_port, a worker that replaced another: until then (ms),
	 * the packets of its predecessor's transfers, which the kernel
	 * now brings here, are answered "Server restarting" as those
	 * transfers were, not "Unknown transfer ID".
	 */
	uint64_t		 restarting_until;
	/* wlog.c's bookkeeping of the lines a client can cause. */
	struct ratelog		 rl;
	/* admit.c's per-client limits: running transfers, request rate. */
	struct climit		 cl;
	/*
	 * The transfers whose client has not answered yet, oldest first:
	 * [TX_UNV_READ] hold a pool buffer, [TX_UNV_WRITE] do not.  Under
	 * pressure the oldest is evicted for a new request (admit.c).
	 */
	TAILQ_HEAD(txq, transfer) unv[TX_UNV_KINDS];
	/*
	 * The bytes this worker may send to clients that have not
	 * answered: its share of [limits] unverified_bytes_rate and
	 * _burst (worker.c; rate 0: no limit), spent in transfer.c.
	 */
	struct climit_bucket	 unv_budget;
	uint32_t		 unv_rate;
	uint32_t		 unv_burst;

	/* The transfer table, in chunks so that it can grow in place. */
	struct transfer		*chunk[TX_CHUNKS];
	uint32_t		 ntx;		/* slots allocated */
	uint32_t		 limit;		/* our share of max_transfers */
	uint32_t		 active;
	uint32_t		 high;
	uint32_t		*freelist;
	uint32_t		 nfree;

	/* One packet (OACK, ACK, ERROR) of sbufsz. */
	uint8_t			*sbuf;
	size_t			 sbufsz;

	/*
	 * The buffer pool: buffer_pool_size buffers of POOL_BUFSZ, fixed
	 * at start.  A read transfer holds one while it runs and lays its
	 * window sends out in it, packet after packet; none free answers
	 * "Server busy".
	 */
	uint8_t			*pool;
	size_t			 pool_len;
	uint32_t		 pool_cap;
	uint32_t		*pool_free;
	uint32_t		 pool_nfree;
	uint32_t		 pool_high;

	/* A window send: its packets' places in a pool buffer. */
	uint32_t		 nbatch;	/* sendmmsg batch, or 1 */
	int			 gso;	/* 1 works, -1 off, 0 not tried */
	struct mmsghdr		 smsg[SOCK_GSO_MAX_SEGS];
	struct iovec		 siov[SOCK_GSO_MAX_SEGS];
	/*
	 * The window window_fill() made, as one iovec list for a GSO send
	 * (wiov[0 .. wniov-1]); smsg[i] describes packet i.  With a mapping
	 * the lists live in the transfer's buffer (see window.c).
	 */
	struct iovec		 wone;
	struct iovec		*wiov;
	int			 wniov;

	/* How the transfers' packets travel, by single_port at start. */
	const struct transport	*tp;

	/* conn: a transfer's socket is read into rbuf. */
	uint8_t			*rbuf;

	/* The running transfers by client address (txtab.c). */
	struct peertab		 pt;
	/*
	 * single_port: every transfer answers from its listen socket; the
	 * batches read there carry ACKs and DATA too, and what the
	 * transfers send waits in sq for one sendmmsg().
	 */
	struct sendq		 sq;

	/* Requests (single_port: and transfer packets): a recvmmsg batch. */
	uint32_t		 nq;
	size_t			 qslot;		/* bytes per message */
	size_t			 qbuf_len;
	uint8_t			*qbuf;
	struct mmsghdr		*qmsg;
	struct iovec		*qiov;
	struct sockaddr_storage	*qpeer;
	uint8_t			*qcmsg;
};

/*
 * Not shm_count()'s load and store: while a worker retires (SIGQUIT, the
 * master rolling the workers) its replacement counts into the same slot,
 * so two processes add to these counters for a while.
 */
static inline void
count(struct worker *w, enum tftp_shm_counter c, uint64_t n)
{
	(void)__atomic_fetch_add(&w->st->counters[c], n, __ATOMIC_RELAXED);
}

/* The slot's counters outside counters[] (errors, options...). */
static inline void
bump(uint64_t *v)
{
	(void)__atomic_fetch_add(v, 1, __ATOMIC_RELAXED);
}

/* A transfer (or a refused request) failed with ERROR code. */
static inline void
count_failed(struct worker *w, uint16_t code)
{
	count(w, TFTP_SHM_C_TRANSFERS_FAILED, 1);
	bump(&w->st->errors[code < TFTP_SHM_NERRORS ? code : 0]);
}

/* transfer.c: a request's end in the busiest clients and files. */
void		 transfer_top(struct worker *w, const struct reqinfo *ri,
		    uint64_t bytes, bool failed);

/* listener.c: the listen sockets */
int		 listener_alloc(struct worker *w);
void		 listener_free(struct worker *w);
int		 listener_start(struct worker *w, uint32_t nfds);
void		 listener_readable(struct worker *w, struct listener *l);
void		 listener_send(struct worker *w, int fd, size_t len,
		    const struct sockaddr *peer, socklen_t peerlen,
		    const struct sockaddr *local);
void		 listener_reply(struct worker *w, const struct request *rq,
		    size_t len);
void		 listener_stop(struct worker *w);

/* admit.c: requests admitted or refused */
void		 admit(struct worker *w, struct request *rq);

/* txtab.c: transfer slots and pool buffers */
int		 pool_init(struct worker *w);
void		 tx_free(struct worker *w);
int		 tx_reserve(struct worker *w, uint32_t n);
struct transfer *tx_at(struct worker *w, uint32_t slot);
uint64_t	 tx_data(const struct transfer *t);
struct transfer *tx_alloc(struct worker *w);
void		 tx_release(struct worker *w, struct transfer *t);
void		 tx_gauges(struct worker *w);
int		 tx_peers_init(struct worker *w);
int		 tx_peer_add(struct worker *w, struct transfer *t,
		    const struct request *rq);
struct transfer *tx_by_peer(struct worker *w, const struct request *rq);
uint8_t		*pool_get(struct worker *w);
void		 tx_unverified_init(struct worker *w);
void		 tx_unverified_add(struct worker *w, struct transfer *t);
void		 tx_verified(struct worker *w, struct transfer *t);
struct transfer *tx_unverified_oldest(struct worker *w, bool need_buf);

/* transfer.c: the state machine fed, its actions carried out */
uint32_t	 transfer_packet(struct worker *w, struct transfer *t,
		    const uint8_t *buf, size_t len);
void		 transfer_timeout(struct worker *w, struct transfer *t);
void		 transfer_unreachable(struct worker *w, struct transfer *t,
		    int err);
void		 transfer_act(struct worker *w, struct transfer *t,
		    const struct xfer_action *a);
void		 transfer_start(struct worker *w, struct transfer *t,
		    const struct xfer_action *first);
void		 transfer_evict(struct worker *w, struct transfer *t);
void		 transfer_fail(struct worker *w, struct transfer *t,
		    uint16_t code, const char *msg, int err);
void		 transfer_resume(struct worker *w, struct transfer *t);
void		 transfer_finish(struct worker *w, struct transfer *t,
		    int result, uint16_t code, const char *msg);
void		 log_request(struct worker *w,
		    const struct reqinfo *ri, uint64_t bytes,
		    const char *result, uint16_t code, const char *msg);

/* window.c: a download's window laid out for sending */
void		 window_init(struct worker *w);
int		 window_fill(struct worker *w, struct transfer *t,
		    uint64_t first, uint32_t k, size_t seg);
size_t		 window_gso_total(const struct worker *w, uint32_t k,
		    size_t seg);
bool		 window_gso_refused(struct worker *w, int err);
uint32_t	 window_fit(size_t seg);
void		 window_unmap(struct transfer *t);
void		 window_map_fault(struct worker *w, struct transfer *t);

/*
 * wremap.c: the remap rules.  update: compile the published rules if
 * their text changed (0; -EAGAIN: the master is writing, try again; else
 * the rules in use stay).  name: a request's name (after map_backslash)
 * through them into out,
 * 0, or -errno with the ERROR to send in code/msg.
 */
int		 wremap_update(struct worker *w);
void		 wremap_free(struct worker *w);
int		 wremap_name(struct worker *w, const struct transfer *t,
		    int opcode, const char *name, char *out, size_t outlen,
		    uint16_t *code, const char **msg);

/*
 * wlog.c: the lines a remote client can cause, by kind (WLOG_ERROR + the
 * ERROR code for a refused request or failed transfer).  allow: whether
 * the line may be written now (false: counted, for a summary, or below
 * the log level); flush: the summaries of the intervals over (all: every
 * one, at exit), due once a second.  A successful transfer's line is
 * never asked about.
 */
enum wlog_kind {
	WLOG_ERROR	= 0,		/* + code 0..8 */
	WLOG_TIMEOUT	= WLOG_ERROR + 9,
	WLOG_ABORTED,
	WLOG_REPLACED,
	WLOG_STRAY,			/* no request, on a listen socket */
	WLOG_SOCKET,			/* a transfer socket refused */
	WLOG_REMAP,			/* a name the rules refused */
	WLOG_RECV,			/* a listen socket's error */
	WLOG_NKINDS
};
bool		 wlog_allow(struct worker *w, unsigned kind,
		    const struct sockaddr *peer);
void		 wlog_flush(struct worker *w, uint64_t now, bool all);
int		 wlog_prio(unsigned kind);

/* conn.c, single.c: the transports */
extern const struct transport conn_transport;
extern const struct transport single_transport;

#endif /* WORKER_INT_H */
