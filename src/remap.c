/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * The remap engine (remap.h has the format and the differences from
 * tftp-hpa).  Rules are compiled once by remap_parse(); remap_apply()
 * works in two fixed buffers on the stack, so a name costs no allocation
 * and every length is checked before a byte is written.
 */
#include <errno.h>
#include <regex.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "remap.h"

#define NSUB		10	/* \0 to \9 */

enum {
	RF_REWRITE	= 1 << 0,	/* r */
	RF_GLOBAL	= 1 << 1,	/* g */
	RF_ICASE	= 1 << 2,	/* i */
	RF_END		= 1 << 3,	/* e */
	RF_RESTART	= 1 << 4,	/* s */
	RF_REFUSE	= 1 << 5,	/* a */
	RF_RRQ		= 1 << 6,	/* G */
	RF_WRQ		= 1 << 7,	/* P */
	RF_INET4	= 1 << 8,	/* 4 */
	RF_INET6	= 1 << 9,	/* 6 */
	RF_INVERSE	= 1 << 10,	/* ~ */
};

static const struct {
	char		op;
	unsigned	flag;
} op_table[] = {
	{ 'r', RF_REWRITE }, { 'g', RF_GLOBAL }, { 'i', RF_ICASE },
	{ 'e', RF_END }, { 's', RF_RESTART }, { 'a', RF_REFUSE },
	{ 'G', RF_RRQ }, { 'P', RF_WRQ }, { '4', RF_INET4 },
	{ '6', RF_INET6 }, { '~', RF_INVERSE },
};

struct rule {
	unsigned	flags;
	unsigned	line;
	regex_t		rx;
	char	       *repl;		/* "" when none */
};

struct remap {
	size_t		n;
	struct rule	rules[];
};

/* The client's address as the escapes see it. */
struct client {
	int		family;		/* AF_INET, AF_INET6 or 0 */
	unsigned char	addr[16];	/* 4 bytes used for AF_INET */
};

static int	 parse_line(const char *line, size_t len, unsigned lineno,
		    struct rule *r, struct remap_err *err);
static size_t	 next_field(const char *line, size_t len, size_t *pos,
		    char *buf);
static int	 parse_ops(const char *ops, unsigned *flags);
static const char *rx_check(const char *rx);
static size_t	 rx_bracket_end(const char *rx, size_t i);
static void	 set_err(struct remap_err *err, unsigned line,
		    const char *what, const char *detail);
static void	 client_of(const struct sockaddr *sa, struct client *c);
static bool	 applies(const struct rule *r, enum remap_op op,
		    const struct client *c);
static int	 substitute(const char *cur, const regmatch_t *pm,
		    const char *repl, const struct client *c, char *dst,
		    size_t dstlen);
static size_t	 macro(char m, const struct client *c, char *buf,
		    size_t buflen);
static char	 ascii_upper(char ch);
static char	 ascii_lower(char ch);

int
remap_parse(const char *text, size_t len, struct remap **out,
    struct remap_err *err)
{
	struct remap *rm;
	const char *line, *nl;
	size_t left, linelen;
	unsigned lineno = 0;
	int rc;

	*out = NULL;
	err->line = 0;
	err->reason[0] = '\0';
	rm = calloc(1, sizeof(*rm) + REMAP_RULES_MAX * sizeof(struct rule));
	if (rm == NULL)
		return -ENOMEM;
	for (line = text, left = len; left > 0; line = nl + 1,
	    left -= linelen + 1) {
		lineno++;
		nl = memchr(line, '\n', left);
		if (nl == NULL)
			nl = line + left;	/* the last line, unterminated */
		linelen = (size_t)(nl - line);
		if (linelen > REMAP_LINE_MAX) {
			set_err(err, lineno, "line longer than the limit", NULL);
			rc = -EINVAL;
			goto fail;
		}
		if (rm->n == REMAP_RULES_MAX) {
			/* Only a line with a rule on it is one too many. */
			struct rule spare;

			rc = parse_line(line, linelen, lineno, &spare, err);
			if (rc == 1) {
				regfree(&spare.rx);
				free(spare.repl);
				set_err(err, lineno, "more rules than the limit",
				    NULL);
				rc = -EINVAL;
			}
		} else
			rc = parse_line(line, linelen, lineno,
			    &rm->rules[rm->n], err);
		if (rc < 0)
			goto fail;
		if (rc == 1)
			rm->n++;
		if (linelen == left)
			break;
	}
	*out = rm;
	return 0;
fail:
	remap_free(rm);
	return rc;
}

void
remap_free(struct remap *rm)
{
	size_t i;

	if (rm == NULL)
		return;
	for (i = 0; i < rm->n; i++) {
		regfree(&rm->rules[i].rx);
		free(rm->rules[i].repl);
	}
	free(rm);
}

size_t
remap_count(const struct remap *rm)
{
	return rm == NULL ? 0 : rm->n;
}

/* 1 with *r compiled, 0 for a blank or comment line, -errno with err. */
static int
parse_line(const char *line, size_t len, unsigned lineno, struct rule *r,
    struct remap_err *err)
{
	char ops[REMAP_LINE_MAX + 1], rx[REMAP_LINE_MAX + 1];
	char repl[REMAP_LINE_MAX + 1], msg[128];
	const char *why;
	size_t pos = 0, repllen;
	int cflags = REG_EXTENDED, rc;

	if (memchr(line, '\0', len) != NULL) {
		set_err(err, lineno, "NUL byte in the line", NULL);
		return -EINVAL;
	}
	if (next_field(line, len, &pos, ops) == 0)
		return 0;
	memset(r, 0, sizeof(*r));
	r->line = lineno;
	if (parse_ops(ops, &r->flags) < 0) {
		set_err(err, lineno, "unknown operation letter in", ops);
		return -EINVAL;
	}
	/* tftp-hpa: g means something only with r. */
	if (!(r->flags & RF_REWRITE))
		r->flags &= ~RF_GLOBAL;
	if ((r->flags & (RF_REWRITE | RF_INVERSE)) ==
	    (RF_REWRITE | RF_INVERSE)) {
		set_err(err, lineno, "an r rule cannot be inverted (~)", NULL);
		return -EINVAL;
	}
	if (next_field(line, len, &pos, rx) == 0) {
		set_err(err, lineno, "no regex after the operation", NULL);
		return -EINVAL;
	}
	repllen = next_field(line, len, &pos, repl);
	if ((why = rx_check(rx)) != NULL) {
		set_err(err, lineno, "bad regex:", why);
		return -EINVAL;
	}
	if (r->flags & RF_ICASE)
		cflags |= REG_ICASE;
	if ((rc = regcomp(&r->rx, rx, cflags)) != 0) {
		regerror(rc, &r->rx, msg, sizeof(msg));
		regfree(&r->rx);
		set_err(err, lineno, "bad regex:", msg);
		return -EINVAL;
	}
	if ((r->repl = calloc(1, repllen + 1)) == NULL) {
		regfree(&r->rx);
		return -ENOMEM;
	}
	memcpy(r->repl, repl, repllen);
	return 1;
}

/*
 * The next field of line from *pos into buf (REMAP_LINE_MAX + 1 bytes),
 * as tftp-hpa reads it: leading whitespace skipped; it ends at an
 * unescaped whitespace or '#' (a comment runs to the end of the line);
 * backslashes are kept.  Its length, 0 when there is none.
 */
static size_t
next_field(const char *line, size_t len, size_t *pos, char *buf)
{
	size_t i = *pos, n = 0;
	bool escaped = false;

	while (i < len && strchr(" \t\r\v\f", line[i]) != NULL)
		i++;
	for (; i < len; i++) {
		if (!escaped && (strchr(" \t\r\v\f#", line[i]) != NULL))
			break;
		/* "\\" leaves the escape: the next one is plain again. */
		escaped = !escaped && line[i] == '\\';
		buf[n++] = line[i];
	}
	/* A comment ends the line: no field after it. */
	*pos = (i < len && line[i] == '#') ? len : i;
	buf[n] = '\0';
	return n;
}

static int
parse_ops(const char *ops, unsigned *flags)
{
	size_t i, k;

	for (i = 0; ops[i] != '\0'; i++) {
		for (k = 0; k < sizeof(op_table) / sizeof(op_table[0]); k++)
			if (op_table[k].op == ops[i])
				break;
		if (k == sizeof(op_table) / sizeof(op_table[0]))
			return -EINVAL;
		/* tftp-hpa keeps one mode: the last G or P on the line. */
		if (op_table[k].flag & (RF_RRQ | RF_WRQ))
			*flags &= ~(unsigned)(RF_RRQ | RF_WRQ);
		*flags |= op_table[k].flag;
	}
	return 0;
}

/*
 * What regcomp() would take but glibc's compiler takes exponential time
 * over (a 60-byte rule could stall the daemon for seconds): a repetition
 * right after another ("a**", "a+*", which POSIX leaves undefined), more
 * than REMAP_RX_REPEAT_MAX repetitions, parentheses nested deeper than
 * REMAP_RX_DEPTH_MAX.  NULL when none of these; syntax errors are left
 * to regcomp().
 */
static const char *
rx_check(const char *rx)
{
	size_t i, depth = 0, nrepeat = 0;
	bool repeat = false;	/* the previous token was a repetition */

	for (i = 0; rx[i] != '\0'; i++) {
		char c = rx[i];

		if (c == '\\') {
			if (rx[i + 1] != '\0')
				i++;
		} else if (c == '[') {
			i = rx_bracket_end(rx, i);
		} else if (c == '*' || c == '+' || c == '?' ||
		    (c == '{' && rx[i + 1] >= '0' && rx[i + 1] <= '9')) {
			if (repeat)
				return "a repetition follows a repetition";
			if (++nrepeat > REMAP_RX_REPEAT_MAX)
				return "too many repetitions";
			if (c == '{')
				while (rx[i + 1] != '\0' && rx[i] != '}')
					i++;
			repeat = true;
			continue;
		} else if (c == '(') {
			if (++depth > REMAP_RX_DEPTH_MAX)
				return "parentheses nested too deep";
		} else if (c == ')' && depth > 0)
			depth--;
		repeat = false;
	}
	return NULL;
}

/*
 * The index of the ']' closing the bracket expression opened at rx[i]
 * ("[]a]", "[^]a]" and "[[:alpha:]]" included), or of the last byte when
 * it is not closed.
 */
static size_t
rx_bracket_end(const char *rx, size_t i)
{
	size_t j = i + 1;

	if (rx[j] == '^')
		j++;
	if (rx[j] == ']')
		j++;
	for (; rx[j] != '\0' && rx[j] != ']'; j++) {
		if (rx[j] == '[' && rx[j + 1] != '\0' &&
		    strchr(":.=", rx[j + 1]) != NULL) {
			char end = rx[j + 1];

			for (j += 2; rx[j] != '\0' &&
			    !(rx[j] == end && rx[j + 1] == ']'); j++)
				;
			if (rx[j] == '\0')
				break;
			j++;
		}
	}
	return rx[j] == '\0' ? j - 1 : j;
}

static void
set_err(struct remap_err *err, unsigned line, const char *what,
    const char *detail)
{
	err->line = line;
	if (detail != NULL)
		snprintf(err->reason, sizeof(err->reason), "%s %.100s",
		    what, detail);
	else
		snprintf(err->reason, sizeof(err->reason), "%s", what);
}

int
remap_apply(const struct remap *rm, const char *name, enum remap_op op,
    const struct sockaddr *client, char *out, size_t outlen, unsigned *line)
{
	char a[REMAP_NAME_MAX], b[REMAP_NAME_MAX];
	char *cur = a, *next = b, *t;
	regmatch_t pm[NSUB];
	struct client c;
	const struct rule *r;
	size_t i = 0, len;
	unsigned steps = 0;
	bool matched;
	int rc;

	if (op != REMAP_RRQ && op != REMAP_WRQ)
		return -EINVAL;
	len = strlen(name);
	if (len >= sizeof(a))
		return -ENAMETOOLONG;
	memcpy(cur, name, len + 1);
	client_of(client, &c);
	while (rm != NULL && i < rm->n) {
		r = &rm->rules[i];
		if (!applies(r, op, &c)) {
			i++;
			continue;
		}
		matched = false;
		do {
			if (++steps > REMAP_STEPS_MAX)
				return -ELOOP;
			rc = regexec(&r->rx, cur, NSUB, pm, 0);
			if (rc != 0 && rc != REG_NOMATCH)
				return -ENOMEM;	/* REG_ESPACE */
			if ((rc == 0) == !!(r->flags & RF_INVERSE))
				break;
			matched = true;
			if (r->flags & RF_REFUSE) {
				if (line != NULL)
					*line = r->line;
				return -EACCES;
			}
			if (r->flags & RF_REWRITE) {
				rc = substitute(cur, pm, r->repl, &c, next,
				    sizeof(b));
				if (rc < 0)
					return rc;
				t = cur;
				cur = next;
				next = t;
			}
		} while (r->flags & RF_GLOBAL);
		if (matched && (r->flags & RF_END))
			break;
		if (matched && (r->flags & RF_RESTART))
			i = 0;	/* the man page's "very first rule" */
		else
			i++;
	}
	len = strlen(cur);
	if (len >= outlen)
		return -ENAMETOOLONG;
	memcpy(out, cur, len + 1);
	return 0;
}

static void
client_of(const struct sockaddr *sa, struct client *c)
{
	static const unsigned char mapped[12] = {
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
	};
	const struct sockaddr_in *sin;
	const struct sockaddr_in6 *sin6;

	memset(c, 0, sizeof(*c));
	if (sa == NULL)
		return;
	if (sa->sa_family == AF_INET) {
		sin = (const struct sockaddr_in *)(const void *)sa;
		c->family = AF_INET;
		memcpy(c->addr, &sin->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		sin6 = (const struct sockaddr_in6 *)(const void *)sa;
		if (memcmp(&sin6->sin6_addr, mapped, sizeof(mapped)) == 0) {
			c->family = AF_INET;
			memcpy(c->addr, (const unsigned char *)
			    &sin6->sin6_addr + 12, 4);
		} else {
			c->family = AF_INET6;
			memcpy(c->addr, &sin6->sin6_addr, 16);
		}
	}
}

static bool
applies(const struct rule *r, enum remap_op op, const struct client *c)
{
	if ((r->flags & RF_RRQ) && op != REMAP_RRQ)
		return false;
	if ((r->flags & RF_WRQ) && op != REMAP_WRQ)
		return false;
	if ((r->flags & RF_INET4) && c->family != AF_INET)
		return false;
	if ((r->flags & RF_INET6) && c->family != AF_INET6)
		return false;
	return true;
}

/*
 * dst = cur with its match pm[0] replaced by repl expanded.  \U and \L
 * change the case of what the replacement adds (subexpressions and
 * addresses included), never of the text around the match.
 */
static int
substitute(const char *cur, const regmatch_t *pm, const char *repl,
    const struct client *c, char *dst, size_t dstlen)
{
	char (*xform)(char) = NULL, mbuf[64];
	const char *src;
	size_t n = 0, k, srclen, taillen;

	/* Room for the text before the match is certain: it came from cur. */
	memcpy(dst, cur, (size_t)pm[0].rm_so);
	n = (size_t)pm[0].rm_so;
	for (; *repl != '\0'; repl++) {
		src = repl;
		srclen = 1;
		if (repl[0] == '\\' && repl[1] != '\0') {
			repl++;
			if (*repl >= '0' && *repl <= '9') {
				k = (size_t)(*repl - '0');
				if (pm[k].rm_so < 0)
					continue;
				src = cur + pm[k].rm_so;
				srclen = (size_t)(pm[k].rm_eo - pm[k].rm_so);
			} else if (*repl == 'U' || *repl == 'L' ||
			    *repl == 'E') {
				xform = *repl == 'U' ? ascii_upper :
				    *repl == 'L' ? ascii_lower : NULL;
				continue;
			} else if (*repl == 'i' || *repl == 'x') {
				srclen = macro(*repl, c, mbuf, sizeof(mbuf));
				src = srclen > 0 ? mbuf : repl;
				if (srclen == 0)
					srclen = 1;
			} else
				src = repl;
		}
		if (srclen >= dstlen - n)
			return -ENAMETOOLONG;
		for (k = 0; k < srclen; k++)
			dst[n++] = xform != NULL ? xform(src[k]) : src[k];
	}
	taillen = strlen(cur + pm[0].rm_eo);
	if (taillen >= dstlen - n)
		return -ENAMETOOLONG;
	memcpy(dst + n, cur + pm[0].rm_eo, taillen + 1);
	return 0;
}

/* \i or \x for the client into buf; 0 when there is no address. */
static size_t
macro(char m, const struct client *c, char *buf, size_t buflen)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i, n;

	if (c->family == 0)
		return 0;
	n = c->family == AF_INET ? 4 : 16;
	if (m == 'x') {
		for (i = 0; i < n; i++) {
			buf[2 * i] = hex[c->addr[i] >> 4];
			buf[2 * i + 1] = hex[c->addr[i] & 15];
		}
		buf[2 * n] = '\0';
		return 2 * n;
	}
	if (inet_ntop(c->family, c->addr, buf, (socklen_t)buflen) == NULL)
		return 0;
	return strlen(buf);
}

/* The C locale's case change, whatever the process's locale. */
static char
ascii_upper(char ch)
{
	return ch >= 'a' && ch <= 'z' ? (char)(ch - 'a' + 'A') : ch;
}

static char
ascii_lower(char ch)
{
	return ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch;
}
