/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * Client address lists ([access] read_allow, read_deny, write_allow,
 * write_deny).  Pure: a list's text in, a fixed-size list out; a list
 * and a client address in, a match out.  No I/O, no logging, no globals:
 * the caller reports errors (FILE:LINE in config.c) and decides what a
 * refusal sends.
 *
 * A list holds at most ACL_MAX prefixes, "ADDR/LEN" or a bare "ADDR"
 * (/32 for IPv4, /128 for IPv6), separated by spaces, tabs or commas.  A
 * prefix with bits set beyond its length is refused, not rounded: the
 * operator meant another network or another length, and silently taking
 * one of them would widen or narrow the rule behind their back.
 *
 * IPv4 and IPv6 are kept apart: an IPv4 prefix matches only IPv4 clients,
 * an IPv6 prefix only IPv6 clients.  A client on a dual-stack socket that
 * arrives as ::ffff:a.b.c.d is the IPv4 client a.b.c.d, and a prefix
 * written inside ::ffff:0:0/96 (length 96 or more) is stored as the IPv4
 * prefix it names, so both spellings mean the same thing.
 *
 * The structures are plain data with no implied padding: the
 * configuration holds them and the settings in shared memory carry them
 * byte for byte (include/tftp_shm.h mirrors them), so a worker checks a
 * list it is given with acl_check() before trusting it.
 */
#ifndef ACL_H
#define ACL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define ACL_MAX		64	/* prefixes in one list */
/* "ffff:...:ffff/128" and its NUL: INET6_ADDRSTRLEN + "/128". */
#define ACL_PREFIX_STRLEN	(46 + 4)

struct acl_prefix {
	uint8_t		family;		/* AF_INET or AF_INET6 */
	uint8_t		len;		/* 0..32 or 0..128 */
	uint8_t		pad[2];		/* 0 */
	uint8_t		addr[16];	/* IPv4: the first 4, rest 0 */
};

struct acl_list {
	uint32_t		n;	/* 0..ACL_MAX; 0: empty */
	struct acl_prefix	p[ACL_MAX];
};

/*
 * Parse text into l: its prefixes replace l's (append: are added to
 * them).  On error l is unchanged, the result is -EINVAL (not an address,
 * a length out of range, bits set beyond the length) or -E2BIG (more than
 * ACL_MAX), and why says which item and how.  An empty text makes (or
 * leaves) an empty list.
 */
int		 acl_parse(struct acl_list *l, const char *text, bool append,
		    char *why, size_t whylen);

/*
 * A list from elsewhere (shared memory) checked as acl_parse() would
 * have made it: its count, families, lengths, zero host bits and zero
 * padding.  0, or -EINVAL with the reason in why.
 */
int		 acl_check(const struct acl_list *l, char *why, size_t whylen);

/* Whether the client address sa (AF_INET or AF_INET6) is in l. */
bool		 acl_match(const struct acl_list *l, const struct sockaddr *sa);

/*
 * The rule of every operation: refused if the client matches deny;
 * otherwise allowed if allow is empty or the client matches it.
 */
bool		 acl_permits(const struct acl_list *allow,
		    const struct acl_list *deny, const struct sockaddr *sa);

/* "192.0.2.0/24", "2001:db8::/32" into buf (ACL_PREFIX_STRLEN bytes). */
const char	*acl_prefix_str(const struct acl_prefix *p, char *buf,
		    size_t len);

#endif /* ACL_H */
