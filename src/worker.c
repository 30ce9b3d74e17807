/*
 * The worker process: started by the master (fork+exec, the descriptors of
 * worker.h at fixed numbers), it takes its settings from shared memory,
 * enters its sandbox and runs the event loop.  It reads requests from the
 * listen sockets, applies the policy, opens the file, negotiates options
 * and starts a transfer on its own connected socket; then feeds every
 * packet and timer expiry to the pure state machine (xfer.c) and carries
 * out the action it answers with, in flag order: write, commit, the sends,
 * done.  Memory is allocated at start and when the operator raises
 * max_transfers, never per request, so a flood of clients meets "Server
 * busy".  Every counter of its shared-memory slot is kept here, where the
 * thing counted happens, and this is the one place that logs what
 * happened to a request.
 */
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "files.h"
#include "log.h"
#include "loop.h"
#include "path.h"
#include "peertab.h"
#include "proto.h"
#include "sandbox.h"
#include "sendq.h"
#include "shm.h"
#include "sock.h"
#include "util.h"
#include "worker.h"
#include "xfer.h"

#define PROGNAME	"snowowl-tftpd"
#define MAX_EVENTS	64
#define REQ_BUFSZ	8192		/* name, mode, options */
#define RECV_BUFSZ	(TFTP_PKT_MAX + 1)	/* +1: see oversized DATA */
#define XFER_DRAIN	64		/* packets per transfer, per wakeup */
#define LISTEN_DRAIN	4		/* batches per listener, per wakeup */
#define POOL_BUFSZ	65536u		/* a pool buffer: one window send */
#define LOG_FILE_MAX	256
#define LOG_OPTS_MAX	160
#define EV_LISTEN	(UINT64_C(1) << 63)
#define GEN_MASK	0x7fffffffu
#define TX_CHUNK	64		/* transfers allocated together */
#define TX_MAX		65536		/* max_transfers' ceiling */
#define TX_CHUNKS	(TX_MAX / TX_CHUNK)
#define PROGRESS_BYTES	(64u << 10)	/* sessions update interval */
#define PEER_BITS	14		/* single_port: hash buckets, log2 */

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
	/* A window cut short by a full socket buffer, resumed on EPOLLOUT. */
	uint64_t		 pend_first;
	uint32_t		 pend_count;
	bool			 wantout;
	/*
	 * single_port: the transfer answers from listen socket lis (sock is
	 * that socket, not ours to close), from the address the request was
	 * sent to; peertab finds it by the client's address.
	 */
	uint8_t			 lis;
	bool			 heard;		/* a packet came since the request */
	uint64_t		 req_hash;	/* of the request's bytes */
	bool			 queued;	/* buf is in the send queue */
	uint64_t		 win_end;	/* the window being sent ends here */
	struct sockaddr_storage	 local;
	socklen_t		 locallen;
	uint8_t			 ackbuf[TFTP_HDR_LEN];	/* a queued ACK */
	/* Shared memory: the transfer-table entry and what it was told. */
	int			 sess;	/* -1: not listed */
	uint64_t		 sess_bytes;
	struct reqinfo		 ri;
};

struct listener {
	int			 fd;
	bool			 wantout;	/* single_port: EPOLLOUT on */
	struct sockaddr_storage	 addr;
	socklen_t		 len;
};

/* One datagram read from a listen socket, where it came from and went to. */
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

/*
 * A transport: how a transfer's packets reach the worker and leave it,
 * with a connected socket per transfer (conn_transport) or all from the
 * listen socket (single_transport).  Chosen once at start, so nothing
 * else asks which mode the worker is in.
 */
struct transport {
	size_t		 recv_slot;	/* bytes per datagram read from a listen
					 * socket */
	uint32_t	 listen_events;	/* a listen socket's epoll events */
	/* The ERROR for a DATA or ACK on a listen socket. */
	uint16_t	 stray_code;
	const char	*stray_msg;
	/* SIGQUIT ends the transfers: their packets reach the replacement. */
	bool		 retire_ends_all;

	/* Its own memory, and room for nslots transfers: 0 or -errno. */
	int		(*init)(struct worker *w);
	int		(*reserve)(struct worker *w, uint32_t nslots);
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
	uint32_t		 index;
	struct shm_worker	 shm;
	struct tftp_shm_stats	*st;		/* our slot */

	int			 rootfd;
	struct loop		 loop;
	bool			 loop_ok;
	struct listener		 lis[WORKER_MAX_LISTEN];
	size_t			 nlis;
	bool			 listening;	/* lis[] in epoll */
	enum worker_mode	 mode;
	struct loop_timer	 drain_timer;

	/* The transfer table, in chunks so that it can grow in place. */
	struct transfer		*chunk[TX_CHUNKS];
	uint32_t		 ntx;		/* slots allocated */
	uint32_t		 limit;		/* max_transfers */
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

	const struct transport	*tp;

	/* Connected sockets: a transfer's socket is read into rbuf. */
	uint8_t			*rbuf;

	/*
	 * single_port: every transfer answers from its listen socket; the
	 * batches read there carry ACKs and DATA too, and what the
	 * transfers send waits in sq for one sendmmsg().
	 */
	struct peertab		 pt;
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

static int	 check_fds(uint32_t nfds, char *why, size_t whylen);
static int	 worker_alloc(struct worker *w);
static void	 worker_dealloc(struct worker *w);
static int	 tx_reserve(struct worker *w, uint32_t n);
static struct transfer *tx_at(struct worker *w, uint32_t slot);
static uint64_t	 tx_data(const struct transfer *t);
static struct transfer *tx_alloc(struct worker *w);
static void	 tx_release(struct worker *w, struct transfer *t);
static void	 pool_gauges(struct worker *w);
static uint8_t *pool_get(struct worker *w);
static void	 pool_put(struct worker *w, uint8_t *buf);
static void	 count(struct worker *w, enum tftp_shm_counter c, uint64_t n);
static void	 bump(uint64_t *v);
static void	 count_failed(struct worker *w, uint16_t code);
static int64_t	 realtime_ms(void);
static void	 config_apply(struct worker *w, struct tftpd_config *c,
		    uint64_t gen);
static void	 config_check(struct worker *w);
static void	 log_request(const struct reqinfo *ri, uint64_t bytes,
		    const char *result, uint16_t code, const char *msg);
static void	 reqinfo_init(struct reqinfo *ri, const struct request *rq,
		    uint16_t opcode, const char *file, const char *mode);
static void	 opts_str(struct reqinfo *ri, const struct tftp_params *p);
static void	 refuse(struct worker *w, const struct request *rq,
		    struct reqinfo *ri, uint16_t code, const char *msg);
static void	 handle_request(struct worker *w, struct request *rq);
static void	 session_begin(struct worker *w, struct transfer *t,
		    const struct request *rq, const struct tftp_params *p,
		    uint64_t size);
static uint64_t	 request_hash(const struct request *rq);
static int	 single_begin(struct worker *w, struct transfer *t,
		    const struct request *rq);
static int	 start_transfer(struct worker *w, struct transfer *t,
		    const struct request *rq, const struct tftp_request *req,
		    uint16_t *code, const char **msg);
static void	 listen_readable(struct worker *w, struct listener *l);
static void	 conn_readable(struct worker *w, struct transfer *t);
static uint32_t	 transfer_packet(struct worker *w, struct transfer *t,
		    const uint8_t *buf, size_t len);
static void	 single_datagram(struct worker *w, struct request *rq);
static void	 conn_writable(struct worker *w, struct transfer *t);
static void	 conn_event(struct worker *w, struct transfer *t,
		    uint32_t events);
static void	 want_out(struct worker *w, struct transfer *t, bool on);
static void	 conn_send_fd(struct worker *w, int fd, size_t len);
static void	 conn_send(struct worker *w, struct transfer *t, size_t len);
static void	 conn_send_ack(struct worker *w, struct transfer *t,
		    uint16_t block);
static void	 conn_reply(struct worker *w, const struct request *rq,
		    size_t len);
static void	 send_from(struct worker *w, int fd, size_t len,
		    const struct sockaddr *peer, socklen_t peerlen,
		    const struct sockaddr *local);
static void	 listen_reply(struct worker *w, const struct request *rq,
		    size_t len);
static int	 fill_block(struct worker *w, struct transfer *t, uint64_t idx,
		    uint8_t *buf, size_t *len);
static int	 fill_window(struct worker *w, struct transfer *t,
		    uint64_t first, uint32_t k, size_t seg);
static size_t	 gso_total(const struct worker *w, uint32_t k, size_t seg);
static bool	 gso_refused(struct worker *w, int err);
static int	 send_batch(struct worker *w, struct transfer *t, uint32_t k,
		    size_t seg);
static uint32_t	 window_fit(size_t seg);
static int	 conn_send_window(struct worker *w, struct transfer *t,
		    uint64_t first, uint32_t nblk);
static void	 single_send_ack(struct worker *w, struct transfer *t,
		    uint16_t block);
static void	 single_send(struct worker *w, struct transfer *t, size_t len);
static int	 single_send_window(struct worker *w, struct transfer *t,
		    uint64_t first, uint32_t nblk);
static void	 single_flush(struct worker *w);
static void	 listen_want_out(struct worker *w, uint8_t lis, bool on);
static void	 single_listen_writable(struct worker *w, uint8_t lis);
static int	 conn_init(struct worker *w);
static int	 conn_reserve(struct worker *w, uint32_t nslots);
static void	 conn_fini(struct worker *w);
static int	 conn_begin(struct worker *w, struct transfer *t,
		    const struct request *rq);
static void	 conn_end(struct worker *w, struct transfer *t);
static void	 conn_flush(struct worker *w);
static int	 single_init(struct worker *w);
static int	 single_reserve(struct worker *w, uint32_t nslots);
static void	 single_fini(struct worker *w);
static void	 single_end(struct worker *w, struct transfer *t);
static int	 run_action(struct worker *w, struct transfer *t,
		    const struct xfer_action *a, uint16_t *code,
		    const char **msg);
static void	 send_packet(struct worker *w, struct transfer *t, size_t len);
static void	 act(struct worker *w, struct transfer *t,
		    const struct xfer_action *a);
static void	 fail(struct worker *w, struct transfer *t, uint16_t code,
		    const char *msg, int err);
static void	 send_errmap(int r, uint16_t *code, const char **msg);
static void	 resume(struct worker *w, struct transfer *t);
static void	 finish(struct worker *w, struct transfer *t, int result,
		    uint16_t code, const char *msg);
static void	 listen_stop(struct worker *w);
static void	 on_signals(struct worker *w);
static void	 end_dallies(struct worker *w);
static void	 end_all(struct worker *w, const char *msg, int result);
static int	 serve(struct worker *w);
static void	 log_stats(struct worker *w);

/* Setup --------------------------------------------------------------- */

/* The inherited descriptors are what the contract says they are. */
static int
check_fds(uint32_t nfds, char *why, size_t whylen)
{
	struct stat st;
	socklen_t len;
	uint32_t i;
	int type, domain;

	if (nfds < 1 || nfds > WORKER_MAX_LISTEN) {
		snprintf(why, whylen, "%" PRIu32 " listen sockets (1..%d)",
		    nfds, WORKER_MAX_LISTEN);
		return -EINVAL;
	}
	if (fstat(WORKER_FD_ROOT, &st) < 0 || !S_ISDIR(st.st_mode)) {
		snprintf(why, whylen, "descriptor %d is not the root directory",
		    WORKER_FD_ROOT);
		return -EBADF;
	}
	for (i = 0; i < nfds; i++) {
		len = sizeof(type);
		if (getsockopt(WORKER_FD_LISTEN + (int)i, SOL_SOCKET, SO_TYPE,
		    &type, &len) < 0 || type != SOCK_DGRAM ||
		    getsockopt(WORKER_FD_LISTEN + (int)i, SOL_SOCKET,
		    SO_DOMAIN, &domain, &len) < 0 ||
		    (domain != AF_INET && domain != AF_INET6)) {
			snprintf(why, whylen, "descriptor %d is not a UDP "
			    "socket", WORKER_FD_LISTEN + (int)i);
			return -EBADF;
		}
	}
	return 0;
}

/*
 * The packet buffers.  They are sized for the largest block any setting
 * may allow, since max_blksize can be raised while the worker runs: a
 * pool buffer holds one packet of the largest block, or a window of up
 * to SOCK_GSO_MAX_SEGS smaller ones.  The pool's memory is reserved once
 * (pages are only touched as transfers use them) and never grows.
 */
static int
worker_alloc(struct worker *w)
{
	const struct tftpd_config *cfg = &w->cfg;
	uint32_t i;
	int r;

	w->sbufsz = TFTP_HDR_LEN + TFTP_BLKSIZE_MAX;
	w->sbuf = malloc(w->sbufsz);
	if (w->sbuf == NULL)
		return -ENOMEM;
	w->nbatch = cfg->enable_sendmmsg && cfg->max_batch_size > 1 ?
	    cfg->max_batch_size : 1;
	if (w->nbatch > SOCK_GSO_MAX_SEGS)
		w->nbatch = SOCK_GSO_MAX_SEGS;
	w->gso = cfg->enable_gso ? 0 : -1;
	for (i = 0; i < SOCK_GSO_MAX_SEGS; i++) {
		w->smsg[i].msg_hdr.msg_iov = &w->siov[i];
		w->smsg[i].msg_hdr.msg_iovlen = 1;
	}
	/* Reserved, not committed: a page costs memory once it is used. */
	w->pool_cap = cfg->buffer_pool_size > 0 ? cfg->buffer_pool_size : 1;
	w->pool_len = (size_t)w->pool_cap * POOL_BUFSZ;
	w->pool = mmap(NULL, w->pool_len, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (w->pool == MAP_FAILED) {
		w->pool = NULL;
		return -ENOMEM;
	}
	w->pool_free = calloc(w->pool_cap, sizeof(*w->pool_free));
	if (w->pool_free == NULL)
		return -ENOMEM;
	/* Taken from the bottom, so few buffers' pages are ever touched. */
	for (i = 0; i < w->pool_cap; i++)
		w->pool_free[i] = w->pool_cap - 1 - i;
	w->pool_nfree = w->pool_cap;

	w->nq = cfg->enable_recvmmsg && cfg->max_batch_size > 1 ?
	    cfg->max_batch_size : 1;
	w->qslot = w->tp->recv_slot;
	w->qbuf_len = (size_t)w->nq * w->qslot;
	w->qbuf = mmap(NULL, w->qbuf_len, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (w->qbuf == MAP_FAILED) {
		w->qbuf = NULL;
		return -ENOMEM;
	}
	w->qmsg = calloc(w->nq, sizeof(*w->qmsg));
	w->qiov = calloc(w->nq, sizeof(*w->qiov));
	w->qpeer = calloc(w->nq, sizeof(*w->qpeer));
	w->qcmsg = calloc(w->nq, SOCK_CMSG_SPACE);
	if (w->qmsg == NULL || w->qiov == NULL || w->qpeer == NULL ||
	    w->qcmsg == NULL)
		return -ENOMEM;
	if ((r = w->tp->init(w)) < 0)
		return r;
	return tx_reserve(w, cfg->max_transfers);
}

static void
worker_dealloc(struct worker *w)
{
	uint32_t i;

	for (i = 0; i < TX_CHUNKS; i++)
		free(w->chunk[i]);
	free(w->freelist);
	free(w->sbuf);
	if (w->pool != NULL)
		(void)munmap(w->pool, w->pool_len);
	free(w->pool_free);
	if (w->qbuf != NULL)
		(void)munmap(w->qbuf, w->qbuf_len);
	if (w->tp != NULL)
		w->tp->fini(w);
	free(w->qmsg);
	free(w->qiov);
	free(w->qpeer);
	free(w->qcmsg);
}

/* The transfer table ------------------------------------------------- */

/*
 * Room for n transfers (and their timers, plus the drain timer).  The
 * table grows by whole chunks that never move, so the timers embedded in
 * live transfers keep their addresses.  New slots go under the free
 * ones, so the table is still used from the bottom.
 */
static int
tx_reserve(struct worker *w, uint32_t n)
{
	uint32_t want, i, k, add;
	uint32_t *fl;
	int r;

	if (n > TX_MAX)
		n = TX_MAX;
	want = (n + TX_CHUNK - 1) / TX_CHUNK * TX_CHUNK;
	if (want <= w->ntx)
		return 0;
	if ((r = loop_grow(&w->loop, (size_t)want + 1)) < 0)
		return r;
	if ((r = w->tp->reserve(w, want)) < 0)
		return r;
	fl = realloc(w->freelist, want * sizeof(*fl));
	if (fl == NULL)
		return -ENOMEM;
	w->freelist = fl;
	for (k = w->ntx / TX_CHUNK; k < want / TX_CHUNK; k++) {
		w->chunk[k] = calloc(TX_CHUNK, sizeof(struct transfer));
		if (w->chunk[k] == NULL)
			break;
	}
	add = k * TX_CHUNK - w->ntx;
	if (add == 0)
		return -ENOMEM;
	memmove(fl + add, fl, w->nfree * sizeof(*fl));
	for (i = 0; i < add; i++)
		fl[i] = k * TX_CHUNK - 1 - i;
	w->nfree += add;
	w->ntx += add;
	return w->ntx < want ? -ENOMEM : 0;
}

static struct transfer *
tx_at(struct worker *w, uint32_t slot)
{
	if (slot >= w->ntx)
		return NULL;
	return &w->chunk[slot / TX_CHUNK][slot % TX_CHUNK];
}

static uint64_t
tx_data(const struct transfer *t)
{
	return (uint64_t)t->gen << 32 | t->slot;
}

/* NULL when max_transfers are running: the pool is exhausted. */
static struct transfer *
tx_alloc(struct worker *w)
{
	struct transfer *t;
	uint32_t gen, slot;

	if (w->active >= w->limit || w->nfree == 0)
		return NULL;
	slot = w->freelist[--w->nfree];
	t = tx_at(w, slot);
	gen = (t->gen + 1) & GEN_MASK;
	memset(t, 0, sizeof(*t));
	t->gen = gen;
	t->slot = slot;
	t->used = true;
	t->sock = -1;
	t->fd = -1;
	t->up.fd = -1;
	t->up.dirfd = -1;
	t->sess = -1;
	t->timer.arg = t;
	w->active++;
	if (w->active > w->high)
		w->high = w->active;
	pool_gauges(w);
	return t;
}

/* Close everything the transfer holds and return its slot. */
static void
tx_release(struct worker *w, struct transfer *t)
{
	(void)loop_timer_set(&w->loop, &t->timer, 0);
	w->tp->end(w, t);
	if (t->fd >= 0) {
		close(t->fd);
		t->fd = -1;
	}
	if (t->netascii)
		files_nasrc_free(&t->nas);
	if (t->buf != NULL) {
		pool_put(w, t->buf);
		t->buf = NULL;
	}
	files_upload_close(&t->up);
	if (t->sess >= 0)
		shm_session_end(&w->shm, t->sess);
	t->sess = -1;
	t->used = false;
	w->freelist[w->nfree++] = t->slot;
	w->active--;
	pool_gauges(w);
}

/* Statistics ---------------------------------------------------------- */

/*
 * The gauges: running transfers, and the buffer pool's size, buffers
 * held and most ever held ("exhausted", the requests refused for want
 * of a buffer, is counted where that happens).
 */
static void
pool_gauges(struct worker *w)
{
	/* Retiring: the replacement in this slot owns the gauges. */
	if (w->mode == W_RETIRE)
		return;
	shm_gauge(&w->st->active_transfers, w->active);
	shm_gauge(&w->st->pool_in_use, w->pool_cap - w->pool_nfree);
	shm_gauge(&w->st->pool_high_water, w->pool_high);
	shm_gauge(&w->st->pool_capacity, w->pool_cap);
}

/* A free pool buffer, or NULL. */
static uint8_t *
pool_get(struct worker *w)
{
	uint32_t used;

	if (w->pool_nfree == 0)
		return NULL;
	used = w->pool_cap - --w->pool_nfree;
	if (used > w->pool_high)
		w->pool_high = used;
	pool_gauges(w);
	return w->pool + (size_t)w->pool_free[w->pool_nfree] * POOL_BUFSZ;
}

static void
pool_put(struct worker *w, uint8_t *buf)
{
	w->pool_free[w->pool_nfree++] =
	    (uint32_t)((size_t)(buf - w->pool) / POOL_BUFSZ);
	pool_gauges(w);
}

/*
 * Not shm_count()'s load and store: while a worker retires (SIGQUIT, the
 * master rolling the workers) its replacement counts into the same slot,
 * so two processes add to these counters for a while.
 */
static void
count(struct worker *w, enum tftp_shm_counter c, uint64_t n)
{
	(void)__atomic_fetch_add(&w->st->counters[c], n, __ATOMIC_RELAXED);
}

/* The slot's counters outside counters[] (errors, options...). */
static void
bump(uint64_t *v)
{
	(void)__atomic_fetch_add(v, 1, __ATOMIC_RELAXED);
}

/* A transfer (or a refused request) failed with ERROR code. */
static void
count_failed(struct worker *w, uint16_t code)
{
	count(w, TFTP_SHM_C_TRANSFERS_FAILED, 1);
	bump(&w->st->errors[code < TFTP_SHM_NERRORS ? code : 0]);
}

static int64_t
realtime_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Settings ------------------------------------------------------------ */

/*
 * Make c (validated) the settings of new transfers.  Running transfers
 * copied what they need at their start and keep it.  The sandbox fixed
 * at start whether this process may write: if uploads were turned on
 * since, they stay off here until the master has replaced this worker.
 */
static void
config_apply(struct worker *w, struct tftpd_config *c, uint64_t gen)
{
	uint32_t want = c->max_transfers > 0 ? c->max_transfers : 1;
	int r;

	if (c->write_enable && !w->can_write) {
		log_info("configuration %" PRIu64 ": uploads stay disabled in "
		    "this worker until it is replaced", gen);
		c->write_enable = false;
	}
	if (want > w->ntx && (r = tx_reserve(w, want)) < 0)
		log_warnx("configuration %" PRIu64 ": room for only %" PRIu32
		    " of max_transfers %" PRIu32 ": %s", gen, w->ntx, want,
		    strerror(-r));
	w->limit = want < w->ntx ? want : w->ntx;
	log_setlevel(c->log_level);
	if (c != &w->cfg)
		memcpy(&w->cfg, c, sizeof(w->cfg));
	w->gen = w->seen = gen;
	if (w->mode != W_RETIRE)
		shm_gauge(&w->st->generation, gen);
	pool_gauges(w);
}

/*
 * Once per loop turn, before any request is handled: has the master
 * published new settings?  An invalid copy is reported once and the
 * settings in use stay; a copy torn by a master still writing is simply
 * read again next turn.
 */
static void
config_check(struct worker *w)
{
	char err[CONFIG_ERR_MAX];
	uint64_t gen;

	gen = shm_generation(w->shm.ctl);
	if (gen == w->seen)
		return;
	if (shm_read_config(w->shm.ctl, &w->next, &gen) < 0)
		return;
	w->seen = gen;
	if (gen == w->gen)
		return;
	if (config_validate(&w->next, err, sizeof(err)) < 0) {
		log_warnx("configuration %" PRIu64 " is invalid, keeping %"
		    PRIu64 ": %s", gen, w->gen, err);
		return;
	}
	config_apply(w, &w->next, gen);
	log_info("configuration %" PRIu64 " applied to new transfers", gen);
}

/* Requests ------------------------------------------------------------ */

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
		log_request(ri, 0, "error", code, msg);
	}
}

static void
handle_request(struct worker *w, struct request *rq)
{
	struct tftp_request req;
	struct reqinfo ri;
	struct transfer *t;
	char addr[SOCKADDR_STRLEN];
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
		log_debug("opcode %u on the listen socket from %s", op,
		    sockaddr_str(rq->peer, addr, sizeof(addr)));
		if (op == TFTP_DATA || op == TFTP_ACK)
			refuse(w, rq, NULL, w->tp->stray_code,
			    w->tp->stray_msg);
		else
			refuse(w, rq, NULL, TFTP_EBADOP,
			    "Illegal TFTP operation");
		return;
	}
	/* (int64_t: the ABI's type; seconds) */
	__atomic_store_n(&w->st->last_request, realtime_ms() / 1000,
	    __ATOMIC_RELAXED);
	count(w, op == TFTP_RRQ ? TFTP_SHM_C_RRQ : TFTP_SHM_C_WRQ, 1);
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
	if ((t = tx_alloc(w)) == NULL) {
		reqinfo_init(&ri, rq, op, req.filename,
		    proto_mode_name(req.mode));
		refuse(w, rq, &ri, TFTP_EUNDEF, "Server busy");
		return;
	}
	reqinfo_init(&t->ri, rq, op, req.filename, proto_mode_name(req.mode));
	/* A download sends from a pool buffer; none free: busy. */
	if (op == TFTP_RRQ && (t->buf = pool_get(w)) == NULL) {
		bump(&w->st->pool_exhausted);
		refuse(w, rq, &t->ri, TFTP_EUNDEF, "Server busy");
		tx_release(w, t);
		return;
	}
	r = start_transfer(w, t, rq, &req, &code, &errmsg);
	if (r < 0) {
		refuse(w, rq, &t->ri, code, errmsg);
		tx_release(w, t);
	}
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
	/* -ENOSPC: a full table; the transfer runs unlisted. */
	t->sess = shm_session_begin(&w->shm, t->ri.opcode == TFTP_RRQ ?
	    TFTP_SHM_S_READ : TFTP_SHM_S_WRITE, rq->peer->sa_family, addr,
	    port, t->ri.file, t->ri.opts, size, realtime_ms());
	if (t->sess < 0)
		t->sess = -1;
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
 * Single-port mode: the transfer answers from the listen socket the
 * request came to, and is found again by the client's address.
 */
static int
single_begin(struct worker *w, struct transfer *t, const struct request *rq)
{
	struct peer_key k;
	int r;

	if ((r = peertab_key(&k, rq->peer, rq->peerlen,
	    (uint8_t)(rq->l - w->lis))) < 0)
		return r;
	if ((r = peertab_insert(&w->pt, t->slot, &k)) < 0)
		return r;
	t->lis = (uint8_t)(rq->l - w->lis);
	t->sock = rq->l->fd;
	/* A socket bound to one address answers from it without a pktinfo. */
	memcpy(&t->local, &rq->local, sizeof(t->local));
	t->locallen = sock_is_wildcard((const struct sockaddr *)&rq->l->addr) ?
	    rq->locallen : 0;
	t->req_hash = request_hash(rq);
	return 0;
}

/*
 * Policy, open, negotiation, socket, first action.  On failure the ERROR
 * to send is returned in code/msg and the caller releases the slot.
 */
static int
start_transfer(struct worker *w, struct transfer *t, const struct request *rq,
    const struct tftp_request *req, uint16_t *code, const char **msg)
{
	const struct tftpd_config *cfg = &w->cfg;
	char rel[PATH_REL_MAX];
	struct tftp_limits lim;
	struct tftp_params opt;
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
	if ((r = proto_negotiate(req, &lim, size, &opt)) < 0)
		goto out_errmap;

	if ((r = w->tp->begin(w, t, rq)) < 0) {
		*code = TFTP_EUNDEF;
		*msg = "Server busy";
		return r;
	}
	opts_str(&t->ri, &opt);
	/* Expected size: the file's, or what an upload's tsize announced. */
	session_begin(w, t, rq, &opt, req->opcode == TFTP_RRQ ? size :
	    (opt.acked & TFTP_OPT_BIT(TFTP_OPT_TSIZE)) ? opt.tsize : 0);

	xfer_params_init(&xp, req->opcode == TFTP_RRQ ? XFER_READ : XFER_WRITE,
	    &opt, size, cfg->timeout_ms, cfg->retries);
	xfer_start(&t->x, &xp, time_now_ms(), &a);
	act(w, t, &a);
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
			w->qiov[i].iov_base = w->qbuf + (size_t)i * w->qslot;
			w->qiov[i].iov_len = w->qslot;
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
			count(w, TFTP_SHM_C_SYS_RECVMMSG, 1);
			n = recvmmsg(l->fd, w->qmsg, w->nq, MSG_DONTWAIT, NULL);
		} else {
			count(w, TFTP_SHM_C_SYS_RECVMSG, 1);
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
		count(w, TFTP_SHM_C_MSGS_RECEIVED, (uint64_t)n);
		for (i = 0; i < (uint32_t)n; i++) {
			mh = &w->qmsg[i].msg_hdr;
			rq = (struct request){
				.l = l,
				.msg = mh,
				.buf = w->qiov[i].iov_base,
				.len = w->qmsg[i].msg_len,
				.truncated = (mh->msg_flags & MSG_TRUNC) != 0,
				.peer = (const struct sockaddr *)&w->qpeer[i],
				.peerlen = mh->msg_namelen,
			};
			w->tp->datagram(w, &rq);
		}
		if ((uint32_t)n < w->nq)
			return;
	}
}

/* Transfers ----------------------------------------------------------- */

static void
conn_readable(struct worker *w, struct transfer *t)
{
	uint32_t flags, gen = t->gen;
	ssize_t n;
	size_t len;
	int i;

	for (i = 0; i < XFER_DRAIN; i++) {
		/* MSG_TRUNC: the real length, so oversized DATA is seen. */
		count(w, TFTP_SHM_C_SYS_RECVFROM, 1);
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
		count(w, TFTP_SHM_C_MSGS_RECEIVED, 1);
		flags = transfer_packet(w, t, w->rbuf, len);
		if (!t->used || t->gen != gen)
			return;
		/*
		 * A download that just sent a window waits for its ACK: a
		 * read now would almost always find the socket empty, and
		 * the epoll wait it saves is the one we are about to make.
		 * (Only downloads send DATA.)
		 */
		if (flags & XA_SEND_DATA)
			return;
	}
}

/* A packet from the transfer's client, to its state machine; the
 * action's flags. */
static uint32_t
transfer_packet(struct worker *w, struct transfer *t, const uint8_t *buf,
    size_t len)
{
	struct xfer_action a;

	count(w, TFTP_SHM_C_PACKETS_RECEIVED, 1);
	if (len >= TFTP_HDR_LEN && buf[0] == 0 && buf[1] == TFTP_DATA)
		count(w, TFTP_SHM_C_BYTES_RECEIVED, len - TFTP_HDR_LEN);
	xfer_on_packet(&t->x, buf, len, time_now_ms(), &a);
	act(w, t, &a);
	return a.flags;
}

/*
 * Single-port mode: a datagram on a listen socket belongs to the
 * transfer of its sender's address, if there is one, else it is a
 * request.  The same request again, from a client whose transfer has
 * heard nothing yet, is a repeat (its answer was lost or slow: the timer
 * resends it); any other request from that port, or one after the
 * transfer has heard from the client or while it only dallies, means the
 * client has moved on, so the old transfer ends (without an ERROR, which
 * the client would take for the answer to its new request) and the new
 * one starts.
 */
static void
single_datagram(struct worker *w, struct request *rq)
{
	struct peer_key k;
	struct transfer *t = NULL;
	int64_t slot;
	uint16_t op;

	if (peertab_key(&k, rq->peer, rq->peerlen,
	    (uint8_t)(rq->l - w->lis)) == 0 &&
	    (slot = peertab_find(&w->pt, &k)) >= 0)
		t = tx_at(w, (uint32_t)slot);
	if (t == NULL) {
		handle_request(w, rq);
		return;
	}
	op = rq->len >= 2 ? (uint16_t)(rq->buf[0] << 8 | rq->buf[1]) : 0;
	if (op != TFTP_RRQ && op != TFTP_WRQ) {
		t->heard = true;
		transfer_packet(w, t, rq->buf, rq->len);
		return;
	}
	if (!t->heard && !xfer_dallying(&t->x) &&
	    request_hash(rq) == t->req_hash) {
		/* Counted as received, as it would start a transfer of its
		 * own (a new TID) without single_port. */
		count(w, TFTP_SHM_C_PACKETS_RECEIVED, 1);
		count(w, op == TFTP_RRQ ? TFTP_SHM_C_RRQ : TFTP_SHM_C_WRQ, 1);
		return;
	}
	if (xfer_dallying(&t->x))
		finish(w, t, 0, 0, NULL);
	else
		finish(w, t, -ECONNABORTED, 0,
		    "Replaced by a new request from the client");
	handle_request(w, rq);
}

static void
conn_writable(struct worker *w, struct transfer *t)
{
	if (t->pend_count == 0) {
		want_out(w, t, false);
		return;
	}
	resume(w, t);
}

static void
conn_event(struct worker *w, struct transfer *t, uint32_t events)
{
	uint32_t gen = t->gen;

	if (events & (EPOLLIN | EPOLLERR))
		conn_readable(w, t);
	if (t->used && t->gen == gen && (events & EPOLLOUT))
		conn_writable(w, t);
}

static void
want_out(struct worker *w, struct transfer *t, bool on)
{
	if (t->wantout == on)
		return;
	if (loop_mod(&w->loop, t->sock, on ? EPOLLIN | EPOLLOUT : EPOLLIN,
	    tx_data(t)) == 0)
		t->wantout = on;
}

/* One packet in sbuf, counted as the send() system call it is. */
static void
conn_send_fd(struct worker *w, int fd, size_t len)
{
	count(w, TFTP_SHM_C_SYS_SENDTO, 1);
	if (send(fd, w->sbuf, len, 0) >= 0) {
		count(w, TFTP_SHM_C_PACKETS_SENT, 1);
		count(w, TFTP_SHM_C_MSGS_SENT, 1);
	}
}

static void
conn_send(struct worker *w, struct transfer *t, size_t len)
{
	conn_send_fd(w, t->sock, len);
}

static void
conn_send_ack(struct worker *w, struct transfer *t, uint16_t block)
{
	size_t len = proto_build_ack(w->sbuf, w->sbufsz, block);

	if (len > 0)
		conn_send_fd(w, t->sock, len);
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
conn_reply(struct worker *w, const struct request *rq, size_t len)
{
	int fd;

	fd = sock_transfer((const struct sockaddr *)&rq->local, rq->locallen,
	    rq->peer, rq->peerlen, &w->cfg);
	if (fd < 0) {
		listen_reply(w, rq, len);
		return;
	}
	conn_send_fd(w, fd, len);
	close(fd);
}

/* A packet in sbuf from listen socket fd, as one sendmsg(). */
static void
send_from(struct worker *w, int fd, size_t len, const struct sockaddr *peer,
    socklen_t peerlen, const struct sockaddr *local)
{
	count(w, TFTP_SHM_C_SYS_SENDMSG, 1);
	if (sock_send_from(fd, w->sbuf, len, peer, peerlen, local) == 0) {
		count(w, TFTP_SHM_C_PACKETS_SENT, 1);
		count(w, TFTP_SHM_C_MSGS_SENT, 1);
	}
}

/* An answer to rq from the listen socket it came to, from the address
 * it was sent to. */
static void
listen_reply(struct worker *w, const struct request *rq, size_t len)
{
	send_from(w, rq->l->fd, len, rq->peer, rq->peerlen,
	    rq->locallen > 0 ? (const struct sockaddr *)&rq->local : NULL);
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
		/* Checkpoint: no block before the window is sent again. */
		n = files_nasrc_read(&t->nas, idx,
		    xfer_params(&t->x)->opt.blksize, xfer_acked(&t->x) + 1,
		    buf + TFTP_HDR_LEN);
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
 * Octet blocks first .. first + k - 1 are one contiguous range of the
 * file: read it with one preadv() into place after each block's header,
 * so a window costs one read.  Anything short of the whole range (EINTR,
 * a file that shrank) goes back to fill_block(), which knows what to make
 * of it.  Sets siov[0 .. k-1] to the packets.
 */
static int
fill_window(struct worker *w, struct transfer *t, uint64_t first,
    uint32_t k, size_t seg)
{
	struct iovec	 riov[SOCK_GSO_MAX_SEGS];
	size_t		 want, total = 0, len = 0;
	uint32_t	 i;
	ssize_t		 n;
	int		 r;

	for (i = 0; i < k; i++) {
		want = xfer_block_len(&t->x, first + i);
		proto_build_data_hdr(t->buf + i * seg, TFTP_HDR_LEN,
		    xfer_wire_block(&t->x, first + i));
		riov[i].iov_base = t->buf + i * seg + TFTP_HDR_LEN;
		riov[i].iov_len = want;
		w->siov[i].iov_base = t->buf + i * seg;
		w->siov[i].iov_len = TFTP_HDR_LEN + want;
		total += want;
	}
	if (t->netascii || k < 2 || k > SOCK_GSO_MAX_SEGS ||
	    (n = preadv(t->fd, riov, (int)k,
	    (off_t)xfer_block_offset(&t->x, first))) < 0 ||
	    (size_t)n != total) {
		for (i = 0; i < k; i++) {
			r = fill_block(w, t, first + i, t->buf + i * seg,
			    &len);
			if (r < 0)
				return r;
			w->siov[i].iov_len = len;
		}
	}
	return 0;
}

/*
 * Send the packets of siov[0 .. k-1] (laid out back to back in the
 * transfer's buffer): one packet with send(), several with one GSO
 * sendmsg() when they are all seg bytes but the last, else sendmmsg()
 * (or send() each, as configured).  The number sent, or -1 with errno
 * set when none was.
 */
/*
 * The bytes of siov[0 .. k-1] when they can go out as one UDP GSO send
 * (several packets, all seg bytes but the last, within the kernel's
 * limits, GSO not found missing), else 0.
 */
static size_t
gso_total(const struct worker *w, uint32_t k, size_t seg)
{
	size_t total = 0;
	uint32_t i;

	if (k < 2 || w->gso < 0 || seg > SOCK_GSO_MAX_SEG)
		return 0;
	for (i = 0; i < k; i++) {
		total += w->siov[i].iov_len;
		if (i + 1 < k && w->siov[i].iov_len != seg)
			return 0;
	}
	return total <= SOCK_GSO_MAX_BYTES ? total : 0;
}

/*
 * A GSO send failed with err.  If that is the kernel (or the device)
 * saying it has no UDP GSO, windows go out with sendmmsg from now on:
 * true.
 */
static bool
gso_refused(struct worker *w, int err)
{
	if (w->gso != 0 || (err != -EINVAL && err != -EIO &&
	    err != -ENOPROTOOPT && err != -EOPNOTSUPP))
		return false;
	w->gso = -1;
	log_info("UDP GSO unavailable (%s): windows go out with sendmmsg",
	    strerror(-err));
	return true;
}

static int
send_batch(struct worker *w, struct transfer *t, uint32_t k, size_t seg)
{
	size_t total;
	uint32_t done;
	int n, r;

	if ((total = gso_total(w, k, seg)) > 0) {
		count(w, TFTP_SHM_C_SYS_SENDMSG, 1);
		r = sock_send_gso(t->sock, w->siov[0].iov_base, total,
		    (uint16_t)seg);
		if (r == 0) {
			w->gso = 1;
			return (int)k;
		}
		if (!gso_refused(w, r)) {
			errno = -r;
			return -1;
		}
	}
	for (done = 0; done < k; done += (uint32_t)n) {
		if (k - done == 1 || w->nbatch == 1) {
			count(w, TFTP_SHM_C_SYS_SENDTO, 1);
			n = send(t->sock, w->siov[done].iov_base,
			    w->siov[done].iov_len, 0) < 0 ? -1 : 1;
		} else {
			count(w, TFTP_SHM_C_SYS_SENDMMSG, 1);
			n = sendmmsg(t->sock, w->smsg + done, k - done <
			    w->nbatch ? k - done : w->nbatch, 0);
		}
		if (n <= 0)
			return done > 0 ? (int)done : -1;
	}
	return (int)k;
}

/* Packets of seg bytes a pool buffer holds at once (and GSO sends). */
static uint32_t
window_fit(size_t seg)
{
	uint32_t fit = (uint32_t)(POOL_BUFSZ / seg);

	if (fit > SOCK_GSO_MAX_SEGS)
		fit = SOCK_GSO_MAX_SEGS;
	return fit > 0 ? fit : 1;
}

/*
 * Blocks first .. first + count - 1, laid out in the transfer's pool
 * buffer as many at a time as fit (and SOCK_GSO_MAX_SEGS at most), each
 * DATA header followed by its data read into place.  When the socket
 * buffer fills, the rest waits for EPOLLOUT and is read again then; a
 * new window (an ACK, a timeout) replaces whatever was still waiting.
 */
static int
conn_send_window(struct worker *w, struct transfer *t, uint64_t first,
    uint32_t nblk)
{
	size_t seg = TFTP_HDR_LEN + xfer_params(&t->x)->opt.blksize;
	uint32_t fit, k, i;
	uint64_t bytes;
	int n, r;

	t->pend_count = 0;
	if (t->buf == NULL)	/* only downloads send data */
		return -ENOBUFS;
	fit = window_fit(seg);
	while (nblk > 0) {
		k = nblk < fit ? nblk : fit;
		if ((r = fill_window(w, t, first, k, seg)) < 0)
			return r;
		n = send_batch(w, t, k, seg);
		if (n > 0) {
			count(w, TFTP_SHM_C_MSGS_SENT, (uint64_t)n);
			count(w, TFTP_SHM_C_PACKETS_SENT, (uint64_t)n);
			for (i = 0, bytes = 0; i < (uint32_t)n; i++)
				bytes += w->siov[i].iov_len - TFTP_HDR_LEN;
			count(w, TFTP_SHM_C_BYTES_SENT, bytes);
		}
		if (n < (int)k) {
			if (errno == EAGAIN || errno == ENOBUFS) {
				if (n < 0)
					n = 0;
				t->pend_first = first + (uint32_t)n;
				t->pend_count = nblk - (uint32_t)n;
				want_out(w, t, true);
				return 0;
			}
			/*
			 * Anything else (EPERM from a local firewall rule,
			 * ECONNREFUSED after an ICMP error) costs the one
			 * datagram that failed, as loss on the wire would:
			 * the rest of the window still goes out and the timer
			 * resends what was lost.
			 */
			k = (n > 0 ? (uint32_t)n : 0) + 1;
		}
		first += k;
		nblk -= k;
	}
	want_out(w, t, false);
	return 0;
}

/* Single-port mode ---------------------------------------------------- */

/*
 * An upload's ACK: queued from the transfer's own four bytes, so that
 * the ACKs of many clients go out together like the windows do.
 */
static void
single_send_ack(struct worker *w, struct transfer *t, uint16_t block)
{
	struct sendq_tag tag;
	size_t len;

	if (t->queued)
		single_flush(w);
	len = proto_build_ack(t->ackbuf, sizeof(t->ackbuf), block);
	if (len == 0)
		return;
	if (!sendq_room(&w->sq, t->sock, 1))
		single_flush(w);
	tag = (struct sendq_tag){ .slot = t->slot, .gen = t->gen, .npkt = 1 };
	sendq_add(&w->sq, t->sock, (const struct sockaddr *)&t->ri.peer,
	    t->ri.peerlen, t->locallen > 0 ?
	    (const struct sockaddr *)&t->local : NULL, t->ackbuf, len, &tag);
	t->queued = true;
}

/* After what the transfer already queued, not before it. */
static void
single_send(struct worker *w, struct transfer *t, size_t len)
{
	if (t->queued)
		single_flush(w);
	send_from(w, t->sock, len, (const struct sockaddr *)&t->ri.peer,
	    t->ri.peerlen, t->locallen > 0 ?
	    (const struct sockaddr *)&t->local : NULL);
}

/*
 * A window of a transfer on a listen socket: the window is laid out
 * in the transfer's pool buffer as usual and queued, one GSO message
 * (or one message per packet) at a time; single_flush() sends it with
 * the other transfers' windows.  A window longer than the buffer holds
 * flushes between its parts, since the buffer is then filled again.
 */
static int
single_send_window(struct worker *w, struct transfer *t, uint64_t first,
    uint32_t nblk)
{
	const struct sockaddr *peer = (const struct sockaddr *)&t->ri.peer;
	const struct sockaddr *local = t->locallen > 0 ?
	    (const struct sockaddr *)&t->local : NULL;
	size_t seg = TFTP_HDR_LEN + xfer_params(&t->x)->opt.blksize, total;
	struct sendq_tag tag;
	uint32_t fit, k, i;
	int r;

	t->pend_count = 0;
	t->win_end = first + nblk;
	if (t->buf == NULL)
		return -ENOBUFS;
	fit = window_fit(seg);
	while (nblk > 0) {
		k = nblk < fit ? nblk : fit;
		if (t->queued) {
			single_flush(w);
			/* The socket buffer filled: EPOLLOUT resumes. */
			if (t->pend_count > 0)
				return 0;
		}
		if ((r = fill_window(w, t, first, k, seg)) < 0)
			return r;
		total = gso_total(w, k, seg);
		if (!sendq_room(&w->sq, t->sock, total > 0 ? 1 : k))
			single_flush(w);
		tag = (struct sendq_tag){ .slot = t->slot, .gen = t->gen };
		if (total > 0) {
			tag.first = first;
			tag.npkt = tag.nblk = k;
			tag.bytes = total - (size_t)k * TFTP_HDR_LEN;
			tag.seg = (uint16_t)seg;
			sendq_add(&w->sq, t->sock, peer, t->ri.peerlen, local,
			    w->siov[0].iov_base, total, &tag);
		} else {
			for (i = 0; i < k; i++) {
				tag.first = first + i;
				tag.npkt = tag.nblk = 1;
				tag.bytes = w->siov[i].iov_len - TFTP_HDR_LEN;
				sendq_add(&w->sq, t->sock, peer,
				    t->ri.peerlen, local, w->siov[i].iov_base,
				    w->siov[i].iov_len, &tag);
			}
		}
		t->queued = true;
		first += k;
		nblk -= k;
	}
	return 0;
}

/*
 * Send what the transfers queued, and settle the accounts: the counters
 * for what went out; for a window the full socket buffer refused, the
 * rest of that window waits for EPOLLOUT on the listen socket.  A
 * message refused for another reason is lost as on the wire, for the
 * timer to resend; if that reason is a kernel without UDP GSO, later
 * windows go out as a message per packet.
 */
static void
single_flush(struct worker *w)
{
	struct sendq *q = &w->sq;
	const struct sendq_tag *tag;
	struct transfer *t;
	uint32_t i;
	int err;

	if (q->n == 0)
		return;
	count(w, TFTP_SHM_C_SYS_SENDMMSG, sendq_flush(q, w->nbatch));
	for (i = 0; i < q->n; i++) {
		tag = &q->tag[i];
		err = q->err[i];
		t = tx_at(w, tag->slot);
		if (t != NULL && (!t->used || t->gen != tag->gen))
			t = NULL;
		if (t != NULL)
			t->queued = false;
		if (err == 0) {
			/* Datagrams, as on the other paths: a GSO run is
			 * several. */
			count(w, TFTP_SHM_C_MSGS_SENT, tag->npkt);
			count(w, TFTP_SHM_C_PACKETS_SENT, tag->npkt);
			count(w, TFTP_SHM_C_BYTES_SENT, tag->bytes);
			if (tag->seg != 0)
				w->gso = 1;
			continue;
		}
		if (t == NULL || tag->nblk == 0)
			continue;
		if (err == -EAGAIN || err == -ENOBUFS) {
			if (t->pend_count == 0 && t->win_end > tag->first) {
				t->pend_first = tag->first;
				t->pend_count = (uint32_t)(t->win_end -
				    tag->first);
				listen_want_out(w, t->lis, true);
			}
			continue;
		}
		if (tag->seg != 0)
			(void)gso_refused(w, err);
	}
	sendq_reset(q);
}

static void
listen_want_out(struct worker *w, uint8_t lis, bool on)
{
	struct listener *l = &w->lis[lis];

	if (l->wantout == on || !w->listening)
		return;
	if (loop_mod(&w->loop, l->fd, on ? EPOLLIN | EPOLLOUT : EPOLLIN,
	    EV_LISTEN | lis) == 0)
		l->wantout = on;
}

/* Room again in a listen socket's buffer: resume the windows cut short. */
static void
single_listen_writable(struct worker *w, uint8_t lis)
{
	struct transfer *t;
	uint32_t i;

	listen_want_out(w, lis, false);
	for (i = 0; i < w->ntx; i++) {
		t = tx_at(w, i);
		if (t->used && t->lis == lis && t->pend_count > 0)
			resume(w, t);
	}
	single_flush(w);
}

/* Connected sockets ---------------------------------------------------- */

static int
conn_init(struct worker *w)
{
	w->rbuf = malloc(RECV_BUFSZ);
	return w->rbuf != NULL ? 0 : -ENOMEM;
}

static int
conn_reserve(struct worker *w, uint32_t nslots)
{
	(void)w;
	(void)nslots;
	return 0;
}

static void
conn_fini(struct worker *w)
{
	free(w->rbuf);
	w->rbuf = NULL;
}

/* The transfer's own socket, bound to the address the request came to. */
static int
conn_begin(struct worker *w, struct transfer *t, const struct request *rq)
{
	char addr[SOCKADDR_STRLEN];
	int r;

	r = sock_transfer((const struct sockaddr *)&rq->local, rq->locallen,
	    rq->peer, rq->peerlen, &w->cfg);
	if (r < 0) {
		log_warnx("cannot open a transfer socket for %s: %s",
		    sockaddr_str(rq->peer, addr, sizeof(addr)), strerror(-r));
		return r;
	}
	t->sock = r;
	if ((r = loop_add(&w->loop, t->sock, EPOLLIN, tx_data(t))) < 0) {
		log_warnx("epoll_ctl: %s", strerror(-r));
		return r;
	}
	return 0;
}

static void
conn_end(struct worker *w, struct transfer *t)
{
	if (t->sock < 0)
		return;
	(void)loop_del(&w->loop, t->sock);
	close(t->sock);
	t->sock = -1;
}

/* Sends go out as they are made: nothing waits for the end of a turn. */
static void
conn_flush(struct worker *w)
{
	(void)w;
}

static const struct transport conn_transport = {
	.recv_slot = REQ_BUFSZ,
	/* A socket shared by the workers (inetd) wakes only one. */
	.listen_events = EPOLLIN | EPOLLEXCLUSIVE,
	.stray_code = TFTP_EBADOP,
	.stray_msg = "Illegal TFTP operation",
	.retire_ends_all = false,
	.init = conn_init,
	.reserve = conn_reserve,
	.fini = conn_fini,
	.datagram = handle_request,
	.event = conn_event,
	.listen_writable = NULL,	/* never asks for EPOLLOUT there */
	.begin = conn_begin,
	.end = conn_end,
	.reply = conn_reply,
	.send = conn_send,
	.send_ack = conn_send_ack,
	.send_window = conn_send_window,
	.flush = conn_flush,
};

/* Single-port mode: the listen sockets carry everything -------------- */

static int
single_init(struct worker *w)
{
	uint64_t seed[2] = { 0, 0 };
	/* The kernel's random bytes for this process: no syscall. */
	const void *rnd = (const void *)getauxval(AT_RANDOM);
	int r;

	if (rnd != NULL)
		memcpy(seed, rnd, sizeof(seed));
	if ((r = peertab_init(&w->pt, PEER_BITS, seed)) < 0)
		return r;
	sendq_init(&w->sq);
	return 0;
}

static int
single_reserve(struct worker *w, uint32_t nslots)
{
	return peertab_reserve(&w->pt, nslots);
}

static void
single_fini(struct worker *w)
{
	peertab_free(&w->pt);
}

/* The listen socket stays; the transfer's buffer goes back to the pool,
 * so out with what it holds first. */
static void
single_end(struct worker *w, struct transfer *t)
{
	if (t->queued)
		single_flush(w);
	peertab_remove(&w->pt, t->slot);
	t->sock = -1;
}

static const struct transport single_transport = {
	/* A datagram may be a DATA of any blksize. */
	.recv_slot = RECV_BUFSZ,
	/*
	 * No socket is shared in this mode (the master sees to it), and
	 * EPOLLOUT must be switchable, which exclusive waits do not allow.
	 */
	.listen_events = EPOLLIN,
	/* A packet of a transfer this worker does not have. */
	.stray_code = TFTP_EBADID,
	.stray_msg = "Unknown transfer ID",
	.retire_ends_all = true,
	.init = single_init,
	.reserve = single_reserve,
	.fini = single_fini,
	.datagram = single_datagram,
	.event = NULL,		/* transfers have no socket of their own */
	.listen_writable = single_listen_writable,
	.begin = single_begin,
	.end = single_end,
	.reply = listen_reply,
	.send = single_send,
	.send_ack = single_send_ack,
	.send_window = single_send_window,
	.flush = single_flush,
};

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
	}
	if (a->flags & XA_SEND_ACK)
		w->tp->send_ack(w, t, a->ack_block);
	if (a->flags & XA_SEND_ERROR)
		send_packet(w, t, proto_build_error(w->sbuf, w->sbufsz,
		    a->error_code, a->error_msg));
	if (a->flags & XA_DONE) {
		finish(w, t, a->result, a->error_code, a->error_msg);
		return 0;
	}
	/*
	 * An upload in its dally is complete (committed, final ACK sent);
	 * the dally only answers a lost ACK.  A draining worker does not
	 * hold its exit, and the operator's stop, for that.
	 */
	if (w->mode == W_DRAIN && xfer_dallying(&t->x)) {
		finish(w, t, 0, 0, NULL);
		return 0;
	}
	/* tftpctl sessions: every 64 KiB or so, not every packet. */
	if (t->sess >= 0 && (xfer_bytes(&t->x) - t->sess_bytes >=
	    PROGRESS_BYTES || (a->flags & XA_COMMIT))) {
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

/* Carry out a; a step that fails ends the transfer with an ERROR. */
static void
act(struct worker *w, struct transfer *t, const struct xfer_action *a)
{
	const char *msg;
	uint16_t code;
	int r;

	if ((r = run_action(w, t, a, &code, &msg)) < 0)
		fail(w, t, code, msg, r);
}

/*
 * The worker cannot go on with t: the state machine is told once, and its
 * answer (an ERROR to the client, the end) is carried out.  Those steps
 * cannot fail.
 */
static void
fail(struct worker *w, struct transfer *t, uint16_t code, const char *msg,
    int err)
{
	struct xfer_action a;

	xfer_fail(&t->x, code, msg, err, &a);
	(void)run_action(w, t, &a, &code, &msg);
}

/* The ERROR for a window that could not be read or sent. */
static void
send_errmap(int r, uint16_t *code, const char **msg)
{
	*code = TFTP_EUNDEF;
	*msg = r == -ESTALE ? "File changed" : strerror(-r);
}

/* Send the rest of a window the socket buffer had no room for. */
static void
resume(struct worker *w, struct transfer *t)
{
	const char *msg;
	uint16_t code;
	int r;

	if ((r = w->tp->send_window(w, t, t->pend_first,
	    t->pend_count)) < 0) {
		send_errmap(r, &code, &msg);
		fail(w, t, code, msg, r);
	}
}

/* The transfer's log line and outcome counters; its slot is freed. */
static void
finish(struct worker *w, struct transfer *t, int result, uint16_t code,
    const char *msg)
{
	uint64_t bytes = xfer_bytes(&t->x);

	if (result == 0) {
		count(w, TFTP_SHM_C_TRANSFERS_OK, 1);
		log_request(&t->ri, bytes, "ok", 0, NULL);
	} else {
		/* The code of the ERROR sent (or received, on an abort). */
		count_failed(w, code);
		if (result == -ETIMEDOUT)
			log_request(&t->ri, bytes, "timeout", 0, NULL);
		else
			log_request(&t->ri, bytes, result == -ECONNABORTED ?
			    "aborted" : "error", code, msg != NULL ? msg : "");
	}
	tx_release(w, t);
}

/* Signals and shutdown ------------------------------------------------ */

/* Retiring: the replacement worker reads these sockets now. */
static void
listen_stop(struct worker *w)
{
	size_t i;

	if (!w->listening)
		return;
	for (i = 0; i < w->nlis; i++)
		(void)loop_del(&w->loop, w->lis[i].fd);
	w->listening = false;
}

/*
 * SIGTERM and SIGINT drain: requests keep being read and are refused
 * with "Server shutting down", running transfers finish, for at most
 * drain_timeout seconds.  SIGQUIT retires: the listen sockets are left
 * alone and the transfers finish.  SIGHUP is the master's business.
 */
static void
on_signals(struct worker *w)
{
	uint32_t secs = w->cfg.drain_timeout;
	int sig;

	while ((sig = loop_signal()) != 0) {
		switch (sig) {
		case SIGTERM:
		case SIGINT:
			if (w->mode == W_DRAIN)
				break;
			w->mode = W_DRAIN;
			end_dallies(w);
			log_info("%s: draining %" PRIu32 " transfers (at most "
			    "%" PRIu32 " s)", sig == SIGTERM ? "SIGTERM" :
			    "SIGINT", w->active, secs);
			(void)loop_timer_set(&w->loop, &w->drain_timer,
			    time_now_ms() + (uint64_t)secs * 1000 + 1);
			break;
		case SIGQUIT:
			if (w->mode != W_RUN)
				break;
			log_info("SIGQUIT: retiring, %" PRIu32 " transfers "
			    "to finish", w->active);
			w->mode = W_RETIRE;
			listen_stop(w);
			if (w->tp->retire_ends_all && w->active > 0)
				end_all(w, "Server restarting", -ESHUTDOWN);
			break;
		default:
			log_debug("signal %d ignored", sig);
			break;
		}
	}
}

/* Draining: uploads that only dally are complete; they end now. */
static void
end_dallies(struct worker *w)
{
	struct transfer *t;
	uint32_t i;

	for (i = 0; i < w->ntx; i++) {
		t = tx_at(w, i);
		if (t->used && xfer_dallying(&t->x))
			finish(w, t, 0, 0, NULL);
	}
}

/*
 * Every transfer ends now (the drain timed out; or a single-port worker
 * retires, whose clients' packets the replacement will read): a
 * dallying upload is complete, any other gets ERROR 0 msg and an upload
 * leaves no temporary behind.
 */
static void
end_all(struct worker *w, const char *msg, int result)
{
	struct transfer *t;
	uint32_t i;

	for (i = 0; i < w->ntx; i++) {
		t = tx_at(w, i);
		if (!t->used)
			continue;
		if (xfer_dallying(&t->x))
			finish(w, t, 0, 0, NULL);
		else
			fail(w, t, TFTP_EUNDEF, msg, result);
	}
	w->tp->flush(w);
}

/* The loop.  0 once drained or retired, 1 if epoll itself failed. */
static int
serve(struct worker *w)
{
	struct epoll_event ev[MAX_EVENTS];
	struct loop_timer *lt;
	struct transfer *t;
	struct xfer_action a;
	uint64_t data;
	uint32_t gen;
	int nev, i;

	for (;;) {
		if (w->mode != W_RUN && w->active == 0)
			return 0;
		/* The turn's log lines, in one write, before sleeping. */
		log_flush();
		nev = loop_wait(&w->loop, ev, MAX_EVENTS, time_now_ms());
		if (nev < 0) {
			log_warnx("epoll_wait: %s", strerror(-nev));
			return 1;
		}
		on_signals(w);
		if (w->mode != W_RUN && w->active == 0)
			return 0;
		config_check(w);
		/*
		 * Two passes: the transfers' packets first, so that final
		 * ACKs free their slots and buffers before the requests of
		 * the same turn (a client that fetched one file asks for the
		 * next at once) are admitted; then the listen sockets.
		 */
		for (i = 0; i < nev; i++) {
			data = ev[i].data.u64;
			if (data & EV_LISTEN)
				continue;
			gen = (uint32_t)(data >> 32);
			t = tx_at(w, (uint32_t)data);
			if (t == NULL || !t->used || t->gen != gen)
				continue;
			w->tp->event(w, t, ev[i].events);
		}
		for (i = 0; i < nev && w->listening; i++) {
			data = ev[i].data.u64;
			if (!(data & EV_LISTEN))
				continue;
			if (ev[i].events & (EPOLLIN | EPOLLERR))
				listen_readable(w, &w->lis[data & ~EV_LISTEN]);
			if (ev[i].events & EPOLLOUT)
				w->tp->listen_writable(w,
				    (uint8_t)(data & ~EV_LISTEN));
		}
		while ((lt = loop_timer_expired(&w->loop, time_now_ms()))) {
			if (lt == &w->drain_timer) {
				if (w->active > 0) {
					log_info("drain timeout: ending %"
					    PRIu32 " transfers", w->active);
					end_all(w, "Server shutting down",
					    -ESHUTDOWN);
				}
				return 0;
			}
			t = lt->arg;
			xfer_on_timeout(&t->x, time_now_ms(), &a);
			act(w, t, &a);
		}
		/* The turn's sends, gathered across transfers: go. */
		w->tp->flush(w);
	}
}

static void
log_stats(struct worker *w)
{
	const uint64_t *c = w->st->counters;

	log_info("stats rrq=%" PRIu64 " wrq=%" PRIu64 " transfers_ok=%"
	    PRIu64 " transfers_failed=%" PRIu64 " bytes_sent=%" PRIu64
	    " bytes_received=%" PRIu64 " packets_sent=%" PRIu64
	    " packets_received=%" PRIu64 " retransmits=%" PRIu64
	    " timeouts=%" PRIu64, c[TFTP_SHM_C_RRQ], c[TFTP_SHM_C_WRQ],
	    c[TFTP_SHM_C_TRANSFERS_OK], c[TFTP_SHM_C_TRANSFERS_FAILED],
	    c[TFTP_SHM_C_BYTES_SENT], c[TFTP_SHM_C_BYTES_RECEIVED],
	    c[TFTP_SHM_C_PACKETS_SENT], c[TFTP_SHM_C_PACKETS_RECEIVED],
	    c[TFTP_SHM_C_RETRANSMITS], c[TFTP_SHM_C_TIMEOUTS]);
}

/*
 * Every line this process logs goes to the master over fd 2, which
 * prefixes it with "worker K: ".
 */
int
worker_main(uint32_t index, uint32_t nfds)
{
	static struct worker wk;
	struct worker *w = &wk;
	char why[CONFIG_ERR_MAX];
	uint64_t gen;
	size_t i;
	int r, status = WORKER_EXIT_SETUP;

	log_init(PROGNAME, LOG_TO_PIPE, LOG_INFO);
	w->index = index;
	w->rootfd = WORKER_FD_ROOT;
	/*
	 * Signals first: one the master sent since the fork (it keeps them
	 * blocked across the exec) waits for the loop, which acts on it.
	 */
	if ((r = loop_init(&w->loop, 1)) < 0) {
		log_warnx("event loop: %s", strerror(-r));
		return WORKER_EXIT_SETUP;
	}
	w->loop_ok = true;
	if ((r = loop_catch(&w->loop, SIGQUIT)) < 0) {
		log_warnx("SIGQUIT: %s", strerror(-r));
		goto out;
	}
	w->drain_timer.arg = &w->drain_timer;

	if ((r = check_fds(nfds, why, sizeof(why))) < 0) {
		log_warnx("%s", why);
		goto out;
	}
	r = shm_worker_attach(&w->shm, WORKER_FD_SHM_RO, WORKER_FD_SHM_RW,
	    index);
	close(WORKER_FD_SHM_RO);
	close(WORKER_FD_SHM_RW);
	if (r < 0) {
		log_warnx("shared memory region %" PRIu32 ": %s", index,
		    strerror(-r));
		goto out;
	}
	w->st = w->shm.stats;
	/*
	 * -EAGAIN only means the master was descheduled in the middle of a
	 * publish; exiting would mark the slot failed for good, so wait a
	 * little (still unsandboxed here, so sleeping is allowed).
	 */
	for (i = 0; (r = shm_read_config(w->shm.ctl, &w->cfg, &gen)) ==
	    -EAGAIN && i < 100; i++)
		(void)nanosleep(&(struct timespec){ .tv_nsec = 10000000 },
		    NULL);
	if (r < 0) {
		log_warnx("cannot read the settings: %s", strerror(-r));
		goto out;
	}
	if (config_validate(&w->cfg, why, sizeof(why)) < 0) {
		log_warnx("invalid settings in shared memory: %s", why);
		goto out;
	}
	/* Landlock fixes this for the life of the process. */
	w->can_write = w->cfg.write_enable;
	w->tp = w->cfg.single_port ? &single_transport : &conn_transport;
	if ((r = worker_alloc(w)) < 0) {
		log_warnx("cannot allocate the tables: %s", strerror(-r));
		goto out;
	}
	config_apply(w, &w->cfg, gen);

	for (i = 0; i < nfds; i++) {
		w->lis[i].fd = WORKER_FD_LISTEN + (int)i;
		w->lis[i].len = sizeof(w->lis[i].addr);
		if (getsockname(w->lis[i].fd,
		    (struct sockaddr *)&w->lis[i].addr, &w->lis[i].len) < 0) {
			log_warn("getsockname");
			goto out;
		}
		if ((r = loop_add(&w->loop, w->lis[i].fd,
		    w->tp->listen_events, EV_LISTEN | i)) < 0) {
			log_warnx("epoll_ctl: %s", strerror(-r));
			goto out;
		}
	}
	w->nlis = nfds;
	w->listening = true;

	if ((r = sandbox_apply(WORKER_FD_ROOT, w->can_write, why,
	    sizeof(why))) < 0) {
		log_warnx("sandbox: %s", why);
		goto out;
	}
	/* Said once per server rather than once per worker. */
	if (index == 0 && sandbox_landlock_abi() == 0)
		log_warnx("this kernel has no Landlock: workers are confined "
		    "by seccomp and by resolving beneath the root only");
	log_info("ready (pid %ld, %s)", (long)getpid(), sandbox_describe());

	log_hold(true);
	status = serve(w) == 0 ? 0 : 1;
	/* (A retired worker's slot counts its replacement's work too.) */
	if (w->mode != W_RETIRE)
		log_stats(w);
	log_hold(false);
out:
	if (w->loop_ok)
		loop_free(&w->loop);
	worker_dealloc(w);
	return status;
}
