/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * Policy-free helpers shared by every module: bounded parsing of numbers,
 * booleans, sizes, umasks and socket addresses typed by an operator (the
 * only place strtoull-style conversion happens, always fully checked),
 * socket address formatting, escaping of client strings before they reach
 * a log, bounded string building, and the monotonic clock.  Nothing here
 * logs or keeps state.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "util.h"

static int	 parse_digits(const char *s, size_t n, uint64_t *out);
static int	 parse_port(const char *s, uint16_t *out);
static int	 parse_scope(const char *s, uint32_t *out);

/*
 * Convert exactly n decimal digits.  -EINVAL if n is 0 or a byte is not a
 * digit, -ERANGE on overflow of 64 bits.
 */
static int
parse_digits(const char *s, size_t n, uint64_t *out)
{
	uint64_t	 v = 0;
	size_t		 i;

	if (n == 0)
		return -EINVAL;
	for (i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
	for (i = 0; i < n; i++) {
		unsigned int d = (unsigned int)(s[i] - '0');

		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

int
parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t	 v;
	int		 r;

	if (s == NULL)
		return -EINVAL;
	if ((r = parse_digits(s, strlen(s), &v)) < 0)
		return r;
	if (v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int
parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
	uint64_t	 v;
	int		 r;

	if ((r = parse_u64(s, min, max, &v)) < 0)
		return r;
	*out = (uint32_t)v;
	return 0;
}

int
parse_bool(const char *s, bool *out)
{
	static const struct {
		const char	*name;
		bool		 value;
	} words[] = {
		{ "yes", true }, { "no", false },
		{ "true", true }, { "false", false },
		{ "on", true }, { "off", false },
		{ "1", true }, { "0", false },
	};
	size_t	 i;

	if (s == NULL)
		return -EINVAL;
	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		if (strcasecmp(s, words[i].name) == 0) {
			*out = words[i].value;
			return 0;
		}
	}
	return -EINVAL;
}

int
parse_size(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t	 v;
	size_t		 n;
	unsigned int	 shift = 0;
	int		 r;

	if (s == NULL)
		return -EINVAL;
	n = strlen(s);
	if (n > 1) {
		switch (s[n - 1]) {
		case 'k': case 'K':
			shift = 10;
			break;
		case 'm': case 'M':
			shift = 20;
			break;
		case 'g': case 'G':
			shift = 30;
			break;
		case 't': case 'T':
			shift = 40;
			break;
		}
		if (shift != 0)
			n--;
	}
	if ((r = parse_digits(s, n, &v)) < 0)
		return r;
	if (shift != 0 && v > (UINT64_MAX >> shift))
		return -ERANGE;
	v <<= shift;
	if (v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int
parse_umask(const char *s, uint32_t *out)
{
	uint32_t	 v = 0;
	size_t		 i;

	if (s == NULL || *s == '\0')
		return -EINVAL;
	for (i = 0; s[i] != '\0'; i++)
		if (s[i] < '0' || s[i] > '7')
			return -EINVAL;
	for (i = 0; s[i] != '\0'; i++) {
		v = v * 8 + (uint32_t)(s[i] - '0');
		if (v > 0777)
			return -ERANGE;
	}
	*out = v;
	return 0;
}

/* 1..65535: port 0 would mean "any port", never what an operator wrote. */
static int
parse_port(const char *s, uint16_t *out)
{
	uint32_t	 v;
	int		 r;

	if ((r = parse_u32(s, 1, 65535, &v)) < 0)
		return r;
	*out = (uint16_t)v;
	return 0;
}

/*
 * An IPv6 zone: an interface index, or a name resolved with
 * if_nametoindex() (a local lookup, not a name service).
 */
static int
parse_scope(const char *s, uint32_t *out)
{
	unsigned int	 idx;

	if (*s == '\0')
		return -EINVAL;
	if (parse_u32(s, 1, UINT32_MAX, out) == 0)
		return 0;
	if ((idx = if_nametoindex(s)) == 0)
		return -ENODEV;
	*out = idx;
	return 0;
}

int
parse_sockaddr(const char *s, int family, uint16_t default_port,
    struct sockaddr_storage *ss, socklen_t *len)
{
	char			 host[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
	const char		*port = NULL, *colon, *end;
	char			*pct;
	size_t			 hostlen;
	uint16_t		 portnum = default_port;
	uint32_t		 scope = 0;
	struct sockaddr_in	*sin;
	struct sockaddr_in6	*sin6;
	int			 af, r;

	if (s == NULL || *s == '\0')
		return -EINVAL;
	if (family != AF_UNSPEC && family != AF_INET && family != AF_INET6)
		return -EAFNOSUPPORT;

	if (s[0] == '[') {
		/* "[v6]" or "[v6]:port" */
		if ((end = strchr(s, ']')) == NULL)
			return -EINVAL;
		hostlen = (size_t)(end - s - 1);
		if (hostlen == 0)
			return -EINVAL;
		if (end[1] == ':')
			port = end + 2;
		else if (end[1] != '\0')
			return -EINVAL;
		if (hostlen >= sizeof(host))
			return -EINVAL;
		memcpy(host, s + 1, hostlen);
		host[hostlen] = '\0';
		af = AF_INET6;
	} else if ((colon = strchr(s, ':')) != NULL &&
	    strchr(colon + 1, ':') != NULL) {
		/* Two or more colons and no brackets: a bare v6 address. */
		hostlen = strlen(s);
		if (hostlen >= sizeof(host))
			return -EINVAL;
		memcpy(host, s, hostlen + 1);
		af = AF_INET6;
	} else {
		/* "v4", "v4:port" or ":port" */
		hostlen = colon != NULL ? (size_t)(colon - s) : strlen(s);
		if (colon != NULL)
			port = colon + 1;
		if (hostlen >= sizeof(host))
			return -EINVAL;
		memcpy(host, s, hostlen);
		host[hostlen] = '\0';
		af = hostlen == 0 ? AF_UNSPEC : AF_INET;
	}

	if (port != NULL && (r = parse_port(port, &portnum)) < 0)
		return r;

	if (af == AF_UNSPEC)		/* no address: the wildcard */
		af = family == AF_INET6 ? AF_INET6 : AF_INET;
	else if (family != AF_UNSPEC && family != af)
		return -EAFNOSUPPORT;

	memset(ss, 0, sizeof(*ss));
	if (af == AF_INET) {
		sin = (struct sockaddr_in *)ss;
		sin->sin_family = AF_INET;
		sin->sin_port = htons(portnum);
		if (hostlen == 0)
			sin->sin_addr.s_addr = htonl(INADDR_ANY);
		else if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
			return -EINVAL;
		*len = sizeof(*sin);
		return 0;
	}

	sin6 = (struct sockaddr_in6 *)ss;
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(portnum);
	if (hostlen == 0) {
		sin6->sin6_addr = in6addr_any;
	} else {
		if ((pct = strchr(host, '%')) != NULL) {
			*pct = '\0';
			if ((r = parse_scope(pct + 1, &scope)) < 0)
				return r;
		}
		if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
			return -EINVAL;
		sin6->sin6_scope_id = scope;
	}
	*len = sizeof(*sin6);
	return 0;
}

/*
 * The zone is printed as a number: if_indextoname() would need a socket
 * and an ioctl, which a sandboxed worker logging a client must not do.
 */
const char *
sockaddr_str(const struct sockaddr *sa, char *buf, size_t len)
{
	char	 addr[INET6_ADDRSTRLEN];
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;

	if (len == 0)
		return buf;
	switch (sa->sa_family) {
	case AF_INET:
		sin = (const struct sockaddr_in *)sa;
		if (inet_ntop(AF_INET, &sin->sin_addr, addr,
		    sizeof(addr)) == NULL)
			break;
		snprintf(buf, len, "%s:%u", addr, ntohs(sin->sin_port));
		return buf;
	case AF_INET6:
		sin6 = (const struct sockaddr_in6 *)sa;
		if (inet_ntop(AF_INET6, &sin6->sin6_addr, addr,
		    sizeof(addr)) == NULL)
			break;
		if (sin6->sin6_scope_id != 0)
			snprintf(buf, len, "[%s%%%u]:%u", addr,
			    sin6->sin6_scope_id, ntohs(sin6->sin6_port));
		else
			snprintf(buf, len, "[%s]:%u", addr,
			    ntohs(sin6->sin6_port));
		return buf;
	}
	snprintf(buf, len, "(family %u)", (unsigned int)sa->sa_family);
	return buf;
}

uint16_t
sockaddr_port(const struct sockaddr *sa)
{
	switch (sa->sa_family) {
	case AF_INET:
		return ntohs(((const struct sockaddr_in *)sa)->sin_port);
	case AF_INET6:
		return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
	}
	return 0;
}

/*
 * '"' is escaped as well as '\\': log lines quote client strings
 * (file="..."), and a filename must not be able to close the quote and
 * forge the fields after it.  An escape is never cut in half.
 */
size_t
str_vis(char *dst, size_t dstlen, const char *src)
{
	const unsigned char	*p = (const unsigned char *)src;
	size_t			 n = 0;

	if (dstlen == 0)
		return 0;
	for (; *p != '\0'; p++) {
		if (*p >= 0x20 && *p < 0x7f && *p != '\\' && *p != '"') {
			if (n + 1 >= dstlen)
				break;
			dst[n++] = (char)*p;
		} else {
			if (n + 4 >= dstlen)
				break;
			dst[n++] = '\\';
			dst[n++] = (char)('0' + ((*p >> 6) & 7));
			dst[n++] = (char)('0' + ((*p >> 3) & 7));
			dst[n++] = (char)('0' + (*p & 7));
		}
	}
	dst[n] = '\0';
	return n;
}

/*
 * The output is ASCII and valid JSON whatever the bytes: a client's name
 * need not be UTF-8, and a string that is not would make the whole line
 * unparsable.  Each byte is its own \u00XX, so a reader gets the bytes
 * back as the string's code points (Latin-1), losing nothing.
 */
size_t
str_json(char *dst, size_t dstlen, const char *src)
{
	static const char	 hex[] = "0123456789abcdef";
	const unsigned char	*p = (const unsigned char *)src;
	size_t			 n = 0;

	if (dstlen == 0)
		return 0;
	for (; *p != '\0'; p++) {
		if (*p >= 0x20 && *p < 0x7f && *p != '\\' && *p != '"') {
			if (n + 1 >= dstlen)
				break;
			dst[n++] = (char)*p;
		} else if (*p == '\\' || *p == '"') {
			if (n + 2 >= dstlen)
				break;
			dst[n++] = '\\';
			dst[n++] = (char)*p;
		} else {
			if (n + 6 >= dstlen)
				break;
			memcpy(dst + n, "\\u00", 4);
			dst[n + 4] = hex[*p >> 4];
			dst[n + 5] = hex[*p & 0xf];
			n += 6;
		}
	}
	dst[n] = '\0';
	return n;
}

void
str_append(char *buf, size_t len, size_t *off, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	if (*off >= len - 1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *off, len - *off, fmt, ap);
	va_end(ap);
	if (n > 0)
		*off = *off + (size_t)n < len ? *off + (size_t)n : len - 1;
}

uint64_t
time_now_ms(void)
{
	struct timespec	 ts;

	/* CLOCK_MONOTONIC cannot fail with a valid pointer. */
	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t
time_now_us(void)
{
	struct timespec	 ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}
