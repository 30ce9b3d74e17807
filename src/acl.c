/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * Client address lists: parsing a list's text, checking one from shared
 * memory, matching a client.  A match walks every prefix of a list (at
 * most ACL_MAX): a request costs a few hundred byte compares at worst,
 * which is nothing next to the file lookup it guards, and a flat list
 * needs no ordering rule an operator would have to learn.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "acl.h"
#include "strlist.h"

/* An item longer than any prefix: quoted back cut short. */
#define TOK_MAX		64

static const uint8_t v4mapped[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

static const char *shown(const char *tok, char *buf, size_t len);
static int	 parse_prefix(const char *tok, struct acl_prefix *out,
		    char *why, size_t whylen);
static int	 parse_len(const char *s, unsigned max, unsigned *len);
static bool	 host_bits_zero(const uint8_t *addr, unsigned len,
		    unsigned bytes);
static void	 mask_to(uint8_t *addr, unsigned len, unsigned bytes);
static bool	 prefix_has(const struct acl_prefix *p, int family,
		    const uint8_t *addr);
static int	 client(const struct sockaddr *sa, const uint8_t **addr);

/*
 * Operator text quoted back in a message: byte for byte, each one that is
 * not printable ASCII as '?', so a message stays one plain line.  An item
 * that holds such a byte is never a valid prefix anyway.
 */
static const char *
shown(const char *tok, char *buf, size_t len)
{
	size_t i;

	for (i = 0; tok[i] != '\0' && i + 1 < len; i++)
		buf[i] = tok[i] > 0x20 && tok[i] < 0x7f ? tok[i] : '?';
	buf[i] = '\0';
	return buf;
}

/* Decimal digits only (no sign, no blank), <= max. */
static int
parse_len(const char *s, unsigned max, unsigned *len)
{
	size_t n = strspn(s, "0123456789");
	unsigned v = 0;
	size_t i;

	if (n == 0 || s[n] != '\0')
		return -EINVAL;
	if (n > 3)
		return -ERANGE;
	for (i = 0; i < n; i++)
		v = v * 10 + (unsigned)(s[i] - '0');
	if (v > max)
		return -ERANGE;
	*len = v;
	return 0;
}

/* Whether every bit of addr[0..bytes) past the first len is 0. */
static bool
host_bits_zero(const uint8_t *addr, unsigned len, unsigned bytes)
{
	unsigned i = len / 8;

	if (len % 8 != 0) {
		if ((addr[i] & (uint8_t)(0xff >> (len % 8))) != 0)
			return false;
		i++;
	}
	for (; i < bytes; i++)
		if (addr[i] != 0)
			return false;
	return true;
}

/* addr with its bits past the first len cleared: the network meant. */
static void
mask_to(uint8_t *addr, unsigned len, unsigned bytes)
{
	unsigned i = len / 8;

	if (len % 8 != 0) {
		addr[i] &= (uint8_t)(0xff << (8 - len % 8));
		i++;
	}
	for (; i < bytes; i++)
		addr[i] = 0;
}

static int
parse_prefix(const char *tok, struct acl_prefix *out, char *why,
    size_t whylen)
{
	char host[TOK_MAX], net[ACL_PREFIX_STRLEN], v[TOK_MAX];
	struct acl_prefix p;
	const char *slash;
	unsigned len, max, bytes;
	size_t n;
	int r;

	memset(&p, 0, sizeof(p));
	slash = strchr(tok, '/');
	n = slash != NULL ? (size_t)(slash - tok) : strlen(tok);
	if (n >= sizeof(host))
		goto bad_addr;
	memcpy(host, tok, n);
	host[n] = '\0';
	/* inet_pton's own forms only: no scope, no short IPv4 forms. */
	if (memchr(host, ':', n) != NULL) {
		if (inet_pton(AF_INET6, host, p.addr) != 1)
			goto bad_addr;
		p.family = AF_INET6;
		max = 128;
		bytes = 16;
	} else {
		if (inet_pton(AF_INET, host, p.addr) != 1)
			goto bad_addr;
		p.family = AF_INET;
		max = 32;
		bytes = 4;
	}
	len = max;
	if (slash != NULL && (r = parse_len(slash + 1, max, &len)) < 0) {
		shown(tok, v, sizeof(v));
		if (r == -ERANGE)
			snprintf(why, whylen, "\"%s\": prefix length %s is "
			    "out of range 0..%u", v, v + n + 1, max);
		else
			snprintf(why, whylen, "\"%s\": prefix length \"%s\" is "
			    "not a number", v, v + n + 1);
		return -EINVAL;
	}
	if (!host_bits_zero(p.addr, len, bytes)) {
		mask_to(p.addr, len, bytes);
		p.len = (uint8_t)len;
		snprintf(why, whylen, "\"%s\": bits set beyond the prefix "
		    "length (the network is %s)", shown(tok, v, sizeof(v)),
		    acl_prefix_str(&p, net, sizeof(net)));
		return -EINVAL;
	}
	/* ::ffff:a.b.c.d/96+n is a.b.c.d/n, as the clients it matches. */
	if (p.family == AF_INET6 && len >= 96 &&
	    memcmp(p.addr, v4mapped, sizeof(v4mapped)) == 0) {
		memmove(p.addr, p.addr + 12, 4);
		memset(p.addr + 4, 0, 12);
		p.family = AF_INET;
		len -= 96;
	}
	p.len = (uint8_t)len;
	*out = p;
	return 0;

bad_addr:
	snprintf(why, whylen, "\"%s\" is not an address or prefix "
	    "(ADDR or ADDR/LEN, IPv4 or IPv6)", shown(tok, v, sizeof(v)));
	return -EINVAL;
}

int
acl_parse(struct acl_list *l, const char *text, bool append, char *why,
    size_t whylen)
{
	struct acl_list nl;
	char tok[TOK_MAX], v[TOK_MAX];
	int r;

	memset(&nl, 0, sizeof(nl));
	if (append)
		nl = *l;
	while ((r = strlist_next(&text, tok, sizeof(tok))) != 0) {
		if (r < 0) {
			snprintf(why, whylen, "\"%s...\" is not an address "
			    "or prefix (too long)", shown(tok, v, sizeof(v)));
			return -EINVAL;
		}
		if (nl.n >= ACL_MAX) {
			snprintf(why, whylen, "more than %d prefixes",
			    ACL_MAX);
			return -E2BIG;
		}
		if ((r = parse_prefix(tok, &nl.p[nl.n], why, whylen)) < 0)
			return r;
		nl.n++;
	}
	*l = nl;
	return 0;
}

int
acl_check(const struct acl_list *l, char *why, size_t whylen)
{
	const struct acl_prefix *p;
	unsigned max, bytes;
	uint32_t i;

	if (l->n > ACL_MAX) {
		snprintf(why, whylen, "%u prefixes, more than %d", l->n,
		    ACL_MAX);
		return -EINVAL;
	}
	for (i = 0; i < l->n; i++) {
		p = &l->p[i];
		if (p->family == AF_INET) {
			max = 32;
			bytes = 4;
		} else if (p->family == AF_INET6) {
			max = 128;
			bytes = 16;
		} else {
			snprintf(why, whylen, "prefix %u: unknown family %u",
			    i + 1, p->family);
			return -EINVAL;
		}
		if (p->len > max || p->pad[0] != 0 || p->pad[1] != 0 ||
		    !host_bits_zero(p->addr, p->len, bytes) ||
		    !host_bits_zero(p->addr, bytes * 8, 16)) {
			snprintf(why, whylen, "prefix %u: bad length, host "
			    "bits or padding", i + 1);
			return -EINVAL;
		}
	}
	/* Unused entries too: lists compare with memcmp(). */
	for (; i < ACL_MAX; i++) {
		if (!host_bits_zero((const uint8_t *)&l->p[i], 0,
		    sizeof(l->p[i]))) {
			snprintf(why, whylen, "unused entry %u is not zero",
			    i + 1);
			return -EINVAL;
		}
	}
	return 0;
}

/*
 * The client's family and address bytes; ::ffff:a.b.c.d is AF_INET.
 * -1 for another family.
 */
static int
client(const struct sockaddr *sa, const uint8_t **addr)
{
	const struct sockaddr_in6 *sin6;

	if (sa->sa_family == AF_INET) {
		*addr = (const uint8_t *)
		    &((const struct sockaddr_in *)sa)->sin_addr;
		return AF_INET;
	}
	if (sa->sa_family != AF_INET6)
		return -1;
	sin6 = (const struct sockaddr_in6 *)sa;
	*addr = sin6->sin6_addr.s6_addr;
	if (memcmp(*addr, v4mapped, sizeof(v4mapped)) == 0) {
		*addr += 12;
		return AF_INET;
	}
	return AF_INET6;
}

static bool
prefix_has(const struct acl_prefix *p, int family, const uint8_t *addr)
{
	unsigned whole = p->len / 8, rest = p->len % 8;
	uint8_t mask;

	if (p->family != family)
		return false;
	if (memcmp(p->addr, addr, whole) != 0)
		return false;
	if (rest == 0)
		return true;
	mask = (uint8_t)(0xff << (8 - rest));
	return (addr[whole] & mask) == p->addr[whole];
}

bool
acl_match(const struct acl_list *l, const struct sockaddr *sa)
{
	const uint8_t *addr;
	uint32_t i, n = l->n < ACL_MAX ? l->n : ACL_MAX;
	int family;

	if ((family = client(sa, &addr)) < 0)
		return false;
	for (i = 0; i < n; i++)
		if (prefix_has(&l->p[i], family, addr))
			return true;
	return false;
}

bool
acl_permits(const struct acl_list *allow, const struct acl_list *deny,
    const struct sockaddr *sa)
{
	if (acl_match(deny, sa))
		return false;
	return allow->n == 0 || acl_match(allow, sa);
}

const char *
acl_prefix_str(const struct acl_prefix *p, char *buf, size_t len)
{
	char a[46];

	if ((p->family != AF_INET && p->family != AF_INET6) ||
	    inet_ntop(p->family, p->addr, a, sizeof(a)) == NULL)
		snprintf(buf, len, "?");
	else
		snprintf(buf, len, "%s/%u", a, p->len);
	return buf;
}
