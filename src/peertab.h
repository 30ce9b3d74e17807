/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * Which transfer a client's address and port (its transfer identifier)
 * and the listen socket it came to have: in single-port mode the one a
 * datagram there belongs to, and in every mode the one a request from
 * there repeats or replaces.  A chained hash table
 * over the worker's transfer slots; the chains are seeded with the
 * kernel's per-process random bytes so a client cannot aim its addresses
 * at one chain.  No I/O, no allocation after peertab_init()/_reserve().
 */
#ifndef PEERTAB_H
#define PEERTAB_H

#include <stdint.h>
#include <sys/socket.h>

struct peer_key {
	uint8_t		 addr[16];	/* IPv4 in the first 4 bytes */
	uint32_t	 scope;		/* IPv6 link-local: the interface */
	uint16_t	 port;		/* network order */
	uint8_t		 family;	/* 4 or 6 */
	uint8_t		 lis;		/* listen socket index */
};

struct peertab {
	uint32_t	*heads;		/* per bucket: slot + 1, 0 empty */
	uint32_t	*next;		/* per slot: slot + 1, 0 end */
	struct peer_key	*keys;		/* per slot */
	uint8_t		*used;		/* per slot */
	uint32_t	 mask;		/* buckets - 1 */
	uint32_t	 nslots;
	uint32_t	 count;
	uint64_t	 seed[2];
};

/* 2^bits buckets (4..20).  0 or -ENOMEM / -EINVAL. */
int		 peertab_init(struct peertab *pt, unsigned bits,
		    const uint64_t seed[2]);
/* Room for slots 0 .. nslots - 1.  0 or -ENOMEM (the table unchanged). */
int		 peertab_reserve(struct peertab *pt, uint32_t nslots);
void		 peertab_free(struct peertab *pt);

/* The key of sa (AF_INET or AF_INET6) on listen socket lis.
 * 0 or -EAFNOSUPPORT. */
int		 peertab_key(struct peer_key *k, const struct sockaddr *sa,
		    socklen_t len, uint8_t lis);
/* The slot holding k, or -ENOENT. */
int64_t		 peertab_find(const struct peertab *pt,
		    const struct peer_key *k);
/* Slot (< nslots, not in the table) now holds k.  0, -EINVAL or
 * -EEXIST (another slot holds k). */
int		 peertab_insert(struct peertab *pt, uint32_t slot,
		    const struct peer_key *k);
/* Slot leaves the table; a slot not in it is left alone. */
void		 peertab_remove(struct peertab *pt, uint32_t slot);

#endif /* PEERTAB_H */
