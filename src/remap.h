/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * Filename remapping with tftp-hpa's rule file format (in.tftpd -m).
 * Pure: a rules text in, compiled rules out; a name, an operation and a
 * client address in, a new name or a refusal out.  No I/O, no logging, no
 * globals: the caller reads the file and reports errors as FILE:LINE.
 *
 * The remapped name is NOT yet confined: the caller must run it through
 * path_normalize() (path.h) like any client filename, so a rule can never
 * reach outside the root (".." and the rest are refused there).
 *
 * Format: one rule per line, "ops regex [replacement]"; '#' starts a
 * comment; fields are separated by whitespace; a backslash escapes the
 * next character (whitespace or '#' included) and is kept in the field.
 * The regex is POSIX extended (regcomp REG_EXTENDED) and matches anywhere
 * in the name.  Ops, any combination:
 *	r  replace the match by the replacement	g  repeat while it matches
 *	i  case-insensitive			e  end processing if matched
 *	s  restart at the first rule if matched	a  refuse if matched
 *	G  RRQ only    P  WRQ only (the last of G/P on a line counts)
 *	4  IPv4 clients only    6  IPv6 clients only
 *	~  apply when the regex does not match (not with r)
 * Replacement escapes: \0 the whole match, \1-\9 subexpressions, \i the
 * client's address (192.0.2.1, 2001:db8::1), \x its hex form (C0000201,
 * 32 digits for IPv6), \U \L \E upper/lower/no case change of what
 * follows, any other \c is c (so \\ is a backslash, \# a hash).
 *
 * Differences from tftp-hpa 5.2, deliberate:
 *  - after an s rule processing restarts at the FIRST rule, as in.tftpd(8)
 *    says; tftp-hpa 5.2's code resumes at the second rule.
 *  - the step bound counts every regex evaluation, each repetition of a
 *    g rule included (tftp-hpa counts rules visited, so "rg a a" never
 *    ends there); exceeding it is -ELOOP.
 *  - a regex with "**" and the like, more than REMAP_RX_REPEAT_MAX
 *    repetitions or parentheses nested deeper than REMAP_RX_DEPTH_MAX is
 *    refused (see above).
 *  - an IPv4-mapped IPv6 client (::ffff:a.b.c.d, a dual-stack socket) is
 *    an IPv4 client for \i, \x, 4 and 6: PXELINUX asks for C0A80001.
 *  - an a rule's replacement (tftp-hpa's custom error message) is
 *    accepted and ignored: the refusal is always -EACCES.
 *  - a file with an error is refused as a whole, at its first error.
 */
#ifndef REMAP_H
#define REMAP_H

#include <stddef.h>
#include <sys/socket.h>

/* Bounds, each documented in snowowl-tftpd(8). */
#define REMAP_RULES_MAX	256	/* rules in a file */
#define REMAP_LINE_MAX	1024	/* bytes in a line, newline excluded */
#define REMAP_STEPS_MAX	4096	/* regex evaluations per name */
#define REMAP_NAME_MAX	4096	/* bytes in a name at any step, NUL incl. */
/*
 * In a regex: repetitions (* + ? {n,m}) and parentheses nesting, and no
 * repetition right after another (undefined in POSIX), because glibc's
 * regcomp() takes exponential time over these.
 */
#define REMAP_RX_REPEAT_MAX	32
#define REMAP_RX_DEPTH_MAX	8

enum remap_op {
	REMAP_RRQ = 1,
	REMAP_WRQ = 2,
};

struct remap;

struct remap_err {
	unsigned	line;		/* 1-based; 0: not about a line */
	char		reason[160];
};

/*
 * Compile the rules in text[0..len) (a file's contents; need not be
 * NUL-terminated).  0 and *out (free with remap_free), or -EINVAL with
 * err filled for the first bad line, or -ENOMEM.
 */
int		 remap_parse(const char *text, size_t len, struct remap **out,
		    struct remap_err *err);
void		 remap_free(struct remap *rm);
/* Number of rules (0 for an empty or comment-only file). */
size_t		 remap_count(const struct remap *rm);

/*
 * Run name through the rules for op (REMAP_RRQ/REMAP_WRQ) from client
 * (AF_INET or AF_INET6; NULL or another family: \i and \x expand to "i"
 * and "x", 4 and 6 rules never apply).  0 with the new name in out;
 * -EACCES when an a rule matched (*line, if not NULL, its line);
 * -ENAMETOOLONG when a step or the result exceeds REMAP_NAME_MAX or
 * outlen; -ELOOP after REMAP_STEPS_MAX evaluations; -EINVAL for a bad op;
 * -ENOMEM when the regex engine fails.
 */
int		 remap_apply(const struct remap *rm, const char *name,
		    enum remap_op op, const struct sockaddr *client, char *out,
		    size_t outlen, unsigned *line);

#endif /* REMAP_H */
