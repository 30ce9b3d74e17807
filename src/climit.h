/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * Per-client limits: pure bookkeeping, no I/O.  A client is an IPv4
 * address or an IPv6 /64 (one host's privacy addresses are one client);
 * an IPv4-mapped IPv6 address is its IPv4 address.  Each client has a
 * count of its running transfers and a token bucket of new requests.
 *
 * The table's memory is fixed: CLIMIT_SETS sets of CLIMIT_WAYS entries,
 * a client's set chosen by a hash of its key, so a lookup reads at most
 * CLIMIT_WAYS entries.  A new client takes a free entry of its set, else
 * the least recently seen entry without running transfers (its bucket
 * forgotten: it was idle longest); a set whose every entry runs
 * transfers has no room, and the caller refuses the new client rather
 * than grow.  An entry with running transfers is never evicted, so a
 * transfer may keep a pointer to its client's entry until it ends.
 */
#ifndef CLIMIT_H
#define CLIMIT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#define CLIMIT_SETS	256
#define CLIMIT_WAYS	16
#define CLIMIT_ENTRIES	(CLIMIT_SETS * CLIMIT_WAYS)
/* Tokens are kept in thousandths: rate r/s adds r of them per ms. */
#define CLIMIT_MILLI	1000
/* per_client_rate's and per_client_burst's ceilings (no overflow). */
#define CLIMIT_RATE_MAX	1000000
#define CLIMIT_BURST_MAX	1000000

struct climit_key {
	uint16_t	family;		/* AF_INET, AF_INET6; 0: none */
	uint8_t		bytes[8];	/* IPv4: 4 bytes; IPv6: the /64 */
};

/*
 * A token bucket in integer arithmetic: tokens kept in CLIMIT_MILLI, a
 * rate of r tokens/s adding r of them per ms, up to burst tokens.  A
 * client's bucket counts its requests; the worker's budget of bytes
 * sent to clients that have not answered yet is one too (transfer.c).
 */
struct climit_bucket {
	uint64_t	tokens;		/* in CLIMIT_MILLI */
	uint64_t	last_ms;	/* the refill time */
};

struct climit_entry {
	struct climit_key key;
	bool		used;
	uint32_t	active;		/* running transfers */
	/* Its requests; b.last_ms is also its last request's time. */
	struct climit_bucket b;
};

struct climit {
	struct climit_entry e[CLIMIT_SETS][CLIMIT_WAYS];
	uint32_t	used;		/* entries in use */
};

void	 climit_init(struct climit *cl);
/* The client of sa; family 0 for NULL or another family. */
void	 climit_key_of(const struct sockaddr *sa, struct climit_key *k);
/*
 * The entry of k, taken (a new one with a full bucket of burst tokens)
 * if k has none; NULL when k's set has no entry without running
 * transfers.  now: ms, monotonic.
 */
struct climit_entry *climit_get(struct climit *cl, const struct climit_key *k,
	    uint32_t burst, uint64_t now);
/*
 * One token of the entry's bucket (rate tokens/s, at most burst) for a
 * new request at now: true when there was one.  rate 0: always true.
 */
bool	 climit_take(struct climit_entry *e, uint32_t rate, uint32_t burst,
	    uint64_t now);
/*
 * n tokens of bucket b (rate tokens/s, at most burst; burst 0 counts as
 * 1) at now: true when it held them, which are then taken.  rate 0:
 * always true, nothing taken.  No argument values overflow: n and burst
 * are 32-bit, the tokens at most burst * CLIMIT_MILLI.
 */
bool	 climit_bucket_take(struct climit_bucket *b, uint32_t n,
	    uint32_t rate, uint32_t burst, uint64_t now);
/* Whether the entry may start another transfer under max (0: no limit). */
bool	 climit_room(const struct climit_entry *e, uint32_t max);
void	 climit_begin(struct climit_entry *e);
/* A transfer of the entry's ended (NULL: it had none). */
void	 climit_end(struct climit_entry *e);

#endif /* CLIMIT_H */
