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

struct climit_entry {
	struct climit_key key;
	bool		used;
	uint32_t	active;		/* running transfers */
	uint64_t	tokens;		/* in CLIMIT_MILLI */
	uint64_t	last_ms;	/* last request; also the refill time */
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
/* Whether the entry may start another transfer under max (0: no limit). */
bool	 climit_room(const struct climit_entry *e, uint32_t max);
void	 climit_begin(struct climit_entry *e);
/* A transfer of the entry's ended (NULL: it had none). */
void	 climit_end(struct climit_entry *e);

#endif /* CLIMIT_H */
