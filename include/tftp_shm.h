/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * The shared-memory ABI between the master, its workers and tftpctl.
 *
 * One segment, a file RUNTIME_DIR/INSTANCE.shm, laid out as:
 *
 *   [ header | control block | worker region 0 | worker region 1 | ... ]
 *
 * Every part starts on a page boundary, so each writer can be given a
 * mapping of exactly its own part:
 *   - header and control block: written only by the master; workers map
 *     them read-only from a read-only descriptor (so mprotect cannot make
 *     them writable) and read the settings under the seqlock.
 *   - worker region k (statistics slot + transfer table): written only by
 *     worker k, which maps only that region writable.
 *   - tftpctl maps the whole file read-only.
 * Readers copy what they need and validate it (magic, version, sizes,
 * offsets within the file): the segment is input, not trusted memory.
 *
 * All fields are fixed-size and pointer-free; counters are 64-bit and
 * updated with relaxed atomics by their one writer.  The settings have a
 * structure of their own, not the daemon's in-memory configuration, so a
 * change to that one changes nothing here.  Any change to a structure
 * here, or to the meaning of a value in one, bumps TFTP_SHM_VERSION.
 */
#ifndef TFTP_SHM_H
#define TFTP_SHM_H

#include <stddef.h>
#include <stdint.h>

#define TFTP_SHM_MAGIC		0x314c574f574f4e53ULL	/* "SNOWOWL1" */
#define TFTP_SHM_VERSION	12
#define TFTP_SHM_MAX_WORKERS	256
#define TFTP_SHM_CACHELINE	64
#define TFTP_SHM_FILE_MAX	128	/* file names in the transfer table */
#define TFTP_SHM_OPTS_MAX	96	/* negotiated options, as text */
#define TFTP_SHM_NAME_MAX	64	/* instance name */
#define TFTP_SHM_NOPTS		8	/* >= TFTP_OPT_MAX */
#define TFTP_SHM_NERRORS	9	/* TFTP error codes 0..8 */

/*
 * Counters kept by each worker, in the order they are stored.  The second
 * column is the name tftpctl prints (JSON keys, Prometheus metric suffix).
 */
#define TFTP_SHM_COUNTERS(X)						\
	X(RRQ,			"rrq")					\
	X(WRQ,			"wrq")					\
	X(TRANSFERS_OK,		"transfers_ok")				\
	X(TRANSFERS_FAILED,	"transfers_failed")			\
	X(BYTES_SENT,		"bytes_sent")				\
	X(BYTES_RECEIVED,	"bytes_received")			\
	X(PACKETS_SENT,		"packets_sent")				\
	X(PACKETS_RECEIVED,	"packets_received")			\
	X(RETRANSMITS,		"retransmits")				\
	X(TIMEOUTS,		"timeouts")				\
	X(SYS_RECVMMSG,		"syscalls_recvmmsg")			\
	X(SYS_RECVMSG,		"syscalls_recvmsg")			\
	X(SYS_RECVFROM,		"syscalls_recvfrom")			\
	X(SYS_SENDMMSG,		"syscalls_sendmmsg")			\
	X(SYS_SENDMSG,		"syscalls_sendmsg")			\
	X(SYS_SENDTO,		"syscalls_sendto")			\
	X(MSGS_RECEIVED,	"messages_received")			\
	X(MSGS_SENT,		"messages_sent")				\
	X(REQUESTS_REPEATED,	"requests_repeated")			\
	X(TRANSFERS_REPLACED,	"transfers_replaced")			\
	X(TRANSFERS_ABORTED,	"transfers_aborted")			\
	X(REFUSED_ACL,		"refused_acl")				\
	X(UNVERIFIED_EXPIRED,	"unverified_expired")			\
	X(UNVERIFIED_ICMP,	"unverified_icmp")			\
	X(REFUSED_CLIENT_CAP,	"refused_client_cap")			\
	X(REFUSED_CLIENT_RATE,	"refused_client_rate")			\
	X(REFUSED_MAX_TRANSFERS, "refused_max_transfers")		\
	X(UNVERIFIED_EVICTED,	"unverified_evicted")			\
	X(UNVERIFIED_OVER_BUDGET, "unverified_over_budget")

enum tftp_shm_counter {
#define TFTP_SHM_ENUM(id, name)	TFTP_SHM_C_##id,
	TFTP_SHM_COUNTERS(TFTP_SHM_ENUM)
#undef TFTP_SHM_ENUM
	TFTP_SHM_C_MAX
};

/*
 * Histograms kept by each worker, in the order they are stored: id, the
 * name tftpctl prints (the Prometheus family after the prefix), the unit
 * a value is recorded in as a divisor of the base unit (1000: ms for
 * seconds), and the bucket layout.  Bucket bounds are powers of two of
 * the unit, so the worker finds a value's bucket with one clz and no
 * division: finite bucket i (0 .. TFTP_SHM_HIST_BUCKETS - 1) counts the
 * values v with v <= 2^(i + SHIFT) - BIAS (and above bucket i - 1's
 * bound); bucket TFTP_SHM_HIST_BUCKETS counts the rest (+Inf).  BIAS 1
 * makes the first bound 0: a transfer without retransmits is a bucket of
 * its own.  Recorded once per finished transfer, except ACK_RTT: once per
 * window whose ACK came without a retransmission in between (Karn).
 */
#define TFTP_SHM_HIST_BUCKETS	24
#define TFTP_SHM_HISTS(X)					\
	X(DURATION,	"transfer_duration_seconds", 1000, 0, 0)	\
	X(SIZE,		"transfer_size_bytes", 1, 9, 0)		\
	X(ACK_RTT,	"ack_rtt_seconds", 1000000, 3, 0)	\
	X(RETRANSMITS,	"transfer_retransmits", 1, 0, 1)

enum tftp_shm_hist_id {
#define TFTP_SHM_ENUM(id, name, div, shift, bias)	TFTP_SHM_H_##id,
	TFTP_SHM_HISTS(TFTP_SHM_ENUM)
#undef TFTP_SHM_ENUM
	TFTP_SHM_H_MAX
};

/* One histogram: values recorded, their sum (in the unit), the buckets. */
struct tftp_shm_hist {
	uint64_t	count;
	uint64_t	sum;
	uint64_t	bucket[TFTP_SHM_HIST_BUCKETS + 1];
};

/*
 * A worker's busiest clients and files: TFTP_SHM_TOPN entries each, kept
 * by the space-saving algorithm (a key not in a full table takes the
 * entry with the fewest requests and inherits its count, recorded as
 * error), so the table's memory is fixed and a key requested more often
 * than 1/TFTP_SHM_TOPN of the time is always in it.  requests is an
 * upper bound, at most error too high; bytes and failures count since
 * the key took the entry.  Each request is counted once, when it ends
 * (refused, done or failed).  seq is the entry's seqlock (odd while
 * written), taken with a compare-and-swap: while a retiring worker and
 * its replacement share the slot, an update that finds the entry taken
 * is dropped, never interleaved.  key: for clients, family AF_INET with
 * the 4 address bytes or AF_INET6 with the /64 prefix (8 bytes), the rest
 * zero; for files, the requested name (raw bytes, cut to
 * TFTP_SHM_FILE_MAX - 1), NUL-terminated; family 0.  requests == 0: free.
 */
#define TFTP_SHM_TOPN		32

struct tftp_shm_top {
	uint32_t	seq;
	uint16_t	family;			/* AF_INET, AF_INET6; 0 */
	uint16_t	pad;
	uint64_t	requests;
	uint64_t	bytes;
	uint64_t	failures;
	uint64_t	error;			/* requests inherited */
	uint8_t		key[TFTP_SHM_FILE_MAX];
};

enum tftp_shm_worker_state {
	TFTP_SHM_W_EMPTY	= 0,	/* slot never used */
	TFTP_SHM_W_STARTING	= 1,	/* forked, not yet serving */
	TFTP_SHM_W_RUNNING	= 2,
	TFTP_SHM_W_DRAINING	= 3,	/* SIGTERM: finishing transfers */
	TFTP_SHM_W_EXITED	= 4,	/* waiting to be restarted */
	TFTP_SHM_W_FAILED	= 5,	/* failed its setup; not restarted */
};

struct tftp_shm_header {
	uint64_t	magic;
	uint32_t	version;
	uint32_t	page_size;
	uint64_t	size;			/* of the whole file */
	int64_t		master_pid;
	int64_t		start_time;		/* CLOCK_REALTIME, seconds */
	uint32_t	nworkers;
	uint32_t	sessions_per_worker;
	uint64_t	control_off;
	uint64_t	control_size;
	uint64_t	workers_off;		/* worker region 0 */
	uint64_t	worker_stride;		/* bytes per worker region */
	uint32_t	header_size;		/* sizeof(struct tftp_shm_header) */
	uint32_t	control_struct_size;	/* sizeof(struct tftp_shm_control) */
	uint32_t	stats_size;		/* sizeof(struct tftp_shm_stats) */
	uint32_t	session_size;		/* sizeof(struct tftp_shm_session) */
	char		instance[TFTP_SHM_NAME_MAX];
	uint8_t		reserved[64];
};

/*
 * Written by the master: what it knows of each worker process.  A worker
 * whose heartbeat (tftp_shm_stats.heartbeat_ms) stopped is killed and
 * counted in stalls; last_stalled_ms says that its last exit was such a
 * kill, and how long the heartbeat had been silent by then.
 */
struct tftp_shm_worker_info {
	int64_t		pid;
	uint32_t	state;			/* enum tftp_shm_worker_state */
	int32_t		last_status;		/* wait status of the last exit */
	uint64_t	restarts;
	int64_t		started_at;		/* CLOCK_REALTIME, seconds */
	uint64_t	stalls;			/* killed: heartbeat silent */
	uint32_t	last_stalled_ms;	/* 0: the last exit no stall */
	uint32_t	pad;
};

/* Statistics slot of one worker, at the start of its region. */
struct tftp_shm_stats {
	uint64_t	counters[TFTP_SHM_C_MAX];
	/* Failed transfers (and refused requests) by the ERROR code sent. */
	uint64_t	errors[TFTP_SHM_NERRORS];
	/* Transfers that negotiated each option (enum tftp_opt order). */
	uint64_t	options[TFTP_SHM_NOPTS];
	/* Gauges. */
	uint64_t	active_transfers;
	uint64_t	pool_capacity;
	uint64_t	pool_in_use;
	uint64_t	pool_high_water;
	uint64_t	pool_exhausted;
	uint64_t	generation;		/* control generation applied */
	int64_t		last_request;		/* CLOCK_REALTIME, seconds */
	/*
	 * CLOCK_MONOTONIC ms, stored by the worker's loop at least every
	 * second while it runs (not while it retires); the master kills a
	 * worker that falls silent (stopped, or stuck in a loop).
	 */
	uint64_t	heartbeat_ms;
	struct tftp_shm_hist hist[TFTP_SHM_H_MAX];
	struct tftp_shm_top clients[TFTP_SHM_TOPN];
	struct tftp_shm_top files[TFTP_SHM_TOPN];
	uint8_t		reserved[64];
} __attribute__((aligned(TFTP_SHM_CACHELINE)));

/* Every field a whole number of 64-bit words: readers copy them so. */
_Static_assert(sizeof(struct tftp_shm_top) == 168,
    "tftp_shm_top: a new layout needs a new TFTP_SHM_VERSION and this "
    "size");
_Static_assert(sizeof(struct tftp_shm_worker_info) == 48,
    "tftp_shm_worker_info: a new layout needs a new TFTP_SHM_VERSION and "
    "this size");
_Static_assert(offsetof(struct tftp_shm_stats, reserved) == 12048,
    "tftp_shm_stats: a new layout needs a new TFTP_SHM_VERSION and this "
    "offset");

enum tftp_shm_session_dir {
	TFTP_SHM_S_FREE		= 0,
	TFTP_SHM_S_READ		= 1,
	TFTP_SHM_S_WRITE	= 2,
};

/*
 * One active transfer.  seq is a per-entry seqlock (odd while the worker
 * rewrites the entry), so tftpctl never prints half of two transfers.
 * file is the name as the client sent it, unescaped (any byte but NUL),
 * cut to fit; a reader escapes it for its own output.
 */
struct tftp_shm_session {
	uint32_t	seq;
	uint32_t	dir;			/* enum tftp_shm_session_dir */
	uint16_t	family;			/* AF_INET or AF_INET6 */
	uint16_t	port;			/* client port, host order */
	uint8_t		addr[16];		/* client address */
	uint64_t	bytes;			/* payload so far */
	uint64_t	size;			/* expected total; 0 = unknown */
	int64_t		started_ms;		/* CLOCK_REALTIME, milliseconds */
	char		file[TFTP_SHM_FILE_MAX];	/* the client's bytes */
	char		options[TFTP_SHM_OPTS_MAX];
} __attribute__((aligned(TFTP_SHM_CACHELINE)));

/* Settings: the sizes of their lists and strings. */
#define TFTP_SHM_LISTEN_MAX	16	/* listen addresses */
#define TFTP_SHM_SOCKADDR_MAX	128	/* a struct sockaddr_storage */
#define TFTP_SHM_PATH_MAX	4096	/* root (all), pid_file, runtime_dir */
#define TFTP_SHM_USER_MAX	64
#define TFTP_SHM_PATTERNS	32	/* write.allow */
#define TFTP_SHM_PATTERN_MAX	256
#define TFTP_SHM_ACL_MAX	64	/* prefixes in an [access] list */

/* Values of tftp_shm_settings.family and .log. */
#define TFTP_SHM_FAMILY_ANY	0
#define TFTP_SHM_FAMILY_IPV4	1
#define TFTP_SHM_FAMILY_IPV6	2
#define TFTP_SHM_LOG_STDERR	0
#define TFTP_SHM_LOG_SYSLOG	1
/* Values of tftp_shm_settings.log_format. */
#define TFTP_SHM_LOG_FORMAT_TEXT	0
#define TFTP_SHM_LOG_FORMAT_JSON	1
/* Values of tftp_shm_settings.client_root. */
#define TFTP_SHM_CLIENT_ROOT_NO	0
#define TFTP_SHM_CLIENT_ROOT_IP	1
/* Values of tftp_shm_settings.refuse. */
#define TFTP_SHM_REFUSE_ERROR	0
#define TFTP_SHM_REFUSE_DROP	1

/* One listen address: a struct sockaddr_storage's bytes and its length. */
struct tftp_shm_listen {
	uint8_t		addr[TFTP_SHM_SOCKADDR_MAX];
	uint32_t	len;
	uint32_t	pad;
};

/*
 * One prefix of an [access] list: family AF_INET (the address in the
 * first 4 bytes of addr) or AF_INET6; len 0..32 or 0..128; every bit past
 * len, pad and an unused entry zero.
 */
struct tftp_shm_prefix {
	uint8_t		family;
	uint8_t		len;
	uint8_t		pad[2];
	uint8_t		addr[16];
};

struct tftp_shm_acl {
	uint32_t	n;			/* 0..TFTP_SHM_ACL_MAX */
	struct tftp_shm_prefix prefix[TFTP_SHM_ACL_MAX];
};

/*
 * The configuration the master publishes: every key, in the order of the
 * configuration file's sections.  A boolean is 0 or 1; strings are
 * NUL-terminated within their arrays; allowed_opts has bit k set for
 * option k (enum tftp_opt order, as the statistics' options[]);
 * log_level is a syslog priority.  Readers treat all of it as input and
 * validate it before use.  The fields are ordered so that no padding is
 * implied (checked below).
 */
struct tftp_shm_settings {
	/* [server] */
	struct tftp_shm_listen listen[TFTP_SHM_LISTEN_MAX];
	uint32_t	nlisten;
	uint32_t	family;			/* TFTP_SHM_FAMILY_* */
	uint32_t	workers;
	uint32_t	foreground;
	uint32_t	log;			/* TFTP_SHM_LOG_* */
	uint32_t	log_set;
	int32_t		log_level;
	uint32_t	log_format;		/* TFTP_SHM_LOG_FORMAT_* */
	uint32_t	drain_timeout;
	uint32_t	idle_timeout;
	uint32_t	worker_stall_timeout;
	uint32_t	pad0;
	uint32_t	nroot;			/* directories in root */
	uint32_t	secure;
	/* Each directory NUL-terminated, one after the other. */
	char		root[TFTP_SHM_PATH_MAX];
	char		user[TFTP_SHM_USER_MAX];
	char		admin_group[TFTP_SHM_USER_MAX]; /* "": none */
	char		pid_file[TFTP_SHM_PATH_MAX];
	char		runtime_dir[TFTP_SHM_PATH_MAX];
	char		instance[TFTP_SHM_NAME_MAX];

	/* [transfer] */
	uint32_t	timeout_ms;
	uint32_t	retries;
	uint32_t	unverified_retransmits;
	uint32_t	unverified_timeout;
	uint32_t	max_blksize;
	uint32_t	max_windowsize;
	uint32_t	allowed_opts;
	uint32_t	netascii;
	uint32_t	follow_symlinks;
	uint32_t	permissive;
	uint16_t	port_min;
	uint16_t	port_max;
	uint32_t	max_transfers;
	uint32_t	single_port;
	char		map_file[TFTP_SHM_PATH_MAX];	/* "": no rules */
	uint32_t	map_backslash;
	uint32_t	ignore_case;
	uint32_t	client_root;		/* TFTP_SHM_CLIENT_ROOT_* */

	/* [write] */
	uint32_t	write_enable;
	uint32_t	write_create;
	uint32_t	write_overwrite;
	uint32_t	umask;
	uint64_t	max_file_size;
	char		write_allow[TFTP_SHM_PATTERNS][TFTP_SHM_PATTERN_MAX];
	uint32_t	nwrite_allow;
	uint32_t	fsync;

	/* [access] */
	struct tftp_shm_acl acl_read_allow;
	struct tftp_shm_acl acl_read_deny;
	struct tftp_shm_acl acl_write_allow;
	struct tftp_shm_acl acl_write_deny;
	uint32_t	refuse;			/* TFTP_SHM_REFUSE_* */
	uint32_t	pad_access;

	/* [limits] */
	uint32_t	per_client_transfers;
	uint32_t	per_client_rate;
	uint32_t	per_client_burst;
	uint32_t	unverified_bytes_rate;
	uint32_t	unverified_bytes_burst;
	uint32_t	pad_limits;

	/* [performance], [performance.platform.*] */
	uint32_t	buffer_pool_size;
	uint32_t	enable_recvmmsg;
	uint32_t	enable_sendmmsg;
	uint32_t	enable_gso;
	uint32_t	max_batch_size;
	uint32_t	batch_timeout_us;
	uint32_t	recv_buffer_kb;
	uint32_t	send_buffer_kb;
	uint32_t	reuse_address;
	uint32_t	reuse_port;
};

/* The layout is the same for every compiler and architecture. */
_Static_assert(offsetof(struct tftp_shm_settings, max_file_size) % 8 == 0,
    "tftp_shm_settings: max_file_size is not 8-byte aligned");
_Static_assert(sizeof(struct tftp_shm_settings) == 32304,
    "tftp_shm_settings: implied padding, or a new layout (which needs a "
    "new TFTP_SHM_VERSION and this size)");

/*
 * The remap rules (transfer.map_file) as text, which the master read and
 * validated: the workers cannot open the file (Landlock confines them to
 * the root) and compile this instead.  TFTP_SHM_MAP_MAX is
 * REMAP_RULES_MAX lines of REMAP_LINE_MAX bytes and a newline; a larger
 * file is refused.  generation changes only when the text does, so a
 * worker compiles the rules again only then.
 */
#define TFTP_SHM_MAP_MAX	262400

struct tftp_shm_map {
	uint64_t	generation;		/* 0: never published */
	uint32_t	len;			/* bytes of text; 0: no rules */
	uint32_t	pad;
	char		text[TFTP_SHM_MAP_MAX];
};

/*
 * "tftpctl stats --reset": what the master read of each worker's
 * counters and histograms when it was last asked, so that tftpctl can
 * show the counts since then while the workers stay the only writers of
 * their slots and their counters never go backwards.  Gauges other than
 * pool_exhausted are not kept; restarts is the master's own count.
 */
struct tftp_shm_baseline {
	uint64_t	counters[TFTP_SHM_C_MAX];
	uint64_t	errors[TFTP_SHM_NERRORS];
	uint64_t	options[TFTP_SHM_NOPTS];
	uint64_t	pool_exhausted;
	uint64_t	restarts;
	struct tftp_shm_hist hist[TFTP_SHM_H_MAX];
};

/* Written only by the master, under its own seqlock seq. */
struct tftp_shm_resets {
	uint32_t	seq;
	uint32_t	pad;
	uint64_t	resets;			/* times asked */
	int64_t		reset_time;		/* CLOCK_REALTIME s; 0 */
	struct tftp_shm_baseline base[TFTP_SHM_MAX_WORKERS];
};

/*
 * Written only by the master.  seq is a seqlock: odd while the master
 * rewrites the block; a reader copies the block and accepts the copy only
 * if seq was even and unchanged around the copy.  generation counts
 * published settings; workers apply new ones to new transfers.
 */
struct tftp_shm_control {
	uint32_t	seq;
	uint32_t	pad;
	uint64_t	generation;
	struct tftp_shm_worker_info workers[TFTP_SHM_MAX_WORKERS];
	struct tftp_shm_settings settings;
	struct tftp_shm_map map;		/* under seq too */
	struct tftp_shm_resets resets;		/* under resets.seq */
	uint8_t		reserved[64];
};

#endif /* TFTP_SHM_H */
