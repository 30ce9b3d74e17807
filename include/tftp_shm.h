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
 * updated with relaxed atomics by their one writer.  Any change to a
 * structure here, or to struct tftpd_config (embedded in the control
 * block), bumps TFTP_SHM_VERSION.
 */
#ifndef TFTP_SHM_H
#define TFTP_SHM_H

#include <stdint.h>

#include "config.h"		/* struct tftpd_config, embedded below */

#define TFTP_SHM_MAGIC		0x314c574f574f4e53ULL	/* "SNOWOWL1" */
#define TFTP_SHM_VERSION	3
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
	X(MSGS_SENT,		"messages_sent")

enum tftp_shm_counter {
#define TFTP_SHM_ENUM(id, name)	TFTP_SHM_C_##id,
	TFTP_SHM_COUNTERS(TFTP_SHM_ENUM)
#undef TFTP_SHM_ENUM
	TFTP_SHM_C_MAX
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

/* Written by the master: what it knows of each worker process. */
struct tftp_shm_worker_info {
	int64_t		pid;
	uint32_t	state;			/* enum tftp_shm_worker_state */
	int32_t		last_status;		/* wait status of the last exit */
	uint64_t	restarts;
	int64_t		started_at;		/* CLOCK_REALTIME, seconds */
};

/* Statistics slot of one worker, at the start of its region. */
struct tftp_shm_stats {
	uint64_t	counters[TFTP_SHM_C_MAX];
	/* Failed transfers by the ERROR code sent or received. */
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
	uint8_t		reserved[64];
} __attribute__((aligned(TFTP_SHM_CACHELINE)));

enum tftp_shm_session_dir {
	TFTP_SHM_S_FREE		= 0,
	TFTP_SHM_S_READ		= 1,
	TFTP_SHM_S_WRITE	= 2,
};

/*
 * One active transfer.  seq is a per-entry seqlock (odd while the worker
 * rewrites the entry), so tftpctl never prints half of two transfers.
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
	char		file[TFTP_SHM_FILE_MAX];
	char		options[TFTP_SHM_OPTS_MAX];
} __attribute__((aligned(TFTP_SHM_CACHELINE)));

/*
 * Written only by the master.  seq is a seqlock: odd while the master
 * rewrites the block; a reader copies the block and accepts the copy only
 * if seq was even and unchanged around the copy.  generation counts
 * published configurations; workers apply a new one to new transfers.
 */
struct tftp_shm_control {
	uint32_t	seq;
	uint32_t	pad;
	uint64_t	generation;
	struct tftp_shm_worker_info workers[TFTP_SHM_MAX_WORKERS];
	struct tftpd_config config;
	uint8_t		reserved[64];
};

#endif /* TFTP_SHM_H */
