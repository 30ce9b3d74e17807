/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * Unit tests for remap.c: tftp-hpa's sample rule file (sample.rules from
 * its documentation), then each operation letter, each replacement
 * escape, the restart and step bounds, refusals, RRQ/WRQ and IPv4/IPv6
 * rules, parse errors with their line numbers, and over-long results.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "remap.h"

static struct sockaddr_in v4;
static struct sockaddr_in6 v6, mapped;

static struct remap *
compile(const char *text)
{
	struct remap_err err;
	struct remap *rm;
	int rc;

	rc = remap_parse(text, strlen(text), &rm, &err);
	if (rc != 0)
		fail_msg("parse: %d at line %u: %s", rc, err.line, err.reason);
	return rm;
}

static void
expect_op(const char *rules, const char *name, enum remap_op op,
    const void *client, const char *want)
{
	struct remap *rm = compile(rules);
	char out[REMAP_NAME_MAX];
	int rc;

	memset(out, 'Z', sizeof(out));
	rc = remap_apply(rm, name, op, client, out, sizeof(out), NULL);
	remap_free(rm);
	if (rc != 0)
		fail_msg("\"%s\" with \"%s\": %d", name, rules, rc);
	if (strcmp(out, want) != 0)
		fail_msg("\"%s\" with \"%s\": got \"%s\", want \"%s\"", name,
		    rules, out, want);
}

static void
expect(const char *rules, const char *name, const char *want)
{
	expect_op(rules, name, REMAP_RRQ, &v4, want);
}

static void
expect_rc(const char *rules, const char *name, int want, unsigned wantline)
{
	struct remap *rm = compile(rules);
	char out[REMAP_NAME_MAX];
	unsigned line = 0;
	int rc;

	rc = remap_apply(rm, name, REMAP_RRQ, (const void *)&v4, out,
	    sizeof(out), &line);
	remap_free(rm);
	if (rc != want)
		fail_msg("\"%s\" with \"%s\": got %d, want %d", name, rules,
		    rc, want);
	if (want == -EACCES && line != wantline)
		fail_msg("\"%s\": refused at line %u, want %u", name, line,
		    wantline);
}

static void
expect_parse_error(const char *text, size_t len, unsigned line,
    const char *reason)
{
	struct remap_err err;
	struct remap *rm = (struct remap *)&err;
	int rc;

	rc = remap_parse(text, len, &rm, &err);
	if (rc != -EINVAL)
		fail_msg("\"%s\": got %d, want -EINVAL", text, rc);
	assert_null(rm);
	if (err.line != line)
		fail_msg("\"%s\": error at line %u, want %u (%s)", text,
		    err.line, line, err.reason);
	if (strstr(err.reason, reason) == NULL)
		fail_msg("\"%s\": reason \"%s\" lacks \"%s\"", text,
		    err.reason, reason);
}

static int
setup(void **state)
{
	(void)state;
	v4.sin_family = AF_INET;
	inet_pton(AF_INET, "192.168.0.1", &v4.sin_addr);
	v6.sin6_family = AF_INET6;
	inet_pton(AF_INET6, "2001:db8::1", &v6.sin6_addr);
	mapped.sin6_family = AF_INET6;
	inet_pton(AF_INET6, "::ffff:10.0.0.2", &mapped.sin6_addr);
	return 0;
}

/* tftp-hpa's sample.rules, as shipped (line 1 is a comment). */
static const char sample[] =
    "# Sample rule file for the -m (remapping option)\n"
    "ri\t^[a-z]:\t\t\t\t# Remove \"drive letters\"\n"
    "rg\t\\\\\t\t/\t\t# Convert backslashes to slashes\n"
    "rg\t\\#\t\t@\t\t# Convert hash marks to @ signs\n"
    "rg\t/../\t\t/..no../\t# Convert /../ to /..no../\n"
    "e\t^ok/\t\t\t\t# These are always ok\n"
    "r\t^[^/]\t\t/tftpboot/\\0\t# Convert non-absolute files\n"
    "a\t\\.pvt$\t\t\t\t# Reject requests for private files\n";

static void
test_sample_rules(void **state)
{
	(void)state;
	expect(sample, "C:\\Boot\\x64\\wdsnbp.com", "/Boot/x64/wdsnbp.com");
	expect(sample, "c:boot.ini", "/tftpboot/boot.ini");
	expect(sample, "a#b#c", "/tftpboot/a@b@c");
	expect(sample, "x/../y", "/tftpboot/x/..no../y");
	expect(sample, "/abs/file", "/abs/file");
	expect(sample, "ok/file.pvt", "ok/file.pvt");
	expect(sample, "ok\\x", "ok/x");
	expect_rc(sample, "secret.pvt", -EACCES, 8);
	expect_rc(sample, "/a/b.pvt", -EACCES, 8);
}

static void
test_ops(void **state)
{
	(void)state;
	/* r replaces the first match only; g repeats until none. */
	expect("r a b", "aaa", "baa");
	expect("rg a b", "aaa", "bbb");
	expect("g a b", "aaa", "aaa");		/* g alone: nothing */
	/* i */
	expect("r ^boot/ B/", "BOOT/x", "BOOT/x");
	expect("ri ^boot/ B/", "BOOT/x", "B/x");
	/* e ends only when it matched. */
	expect("re ^x y\nr y z", "x1", "y1");
	expect("re ^x y\nr y z", "y1", "z1");
	/* a without a match lets the name through; ~ inverts. */
	expect("a ^secret", "public", "public");
	expect_rc("a~ ^pub/\n", "etc/passwd", -EACCES, 1);
	expect("a~ ^pub/", "pub/x", "pub/x");
	/* A rule without r rewrites nothing. */
	expect("e x y\nr x z", "x", "x");
	/* An empty replacement deletes the match. */
	expect("r \\.gz$", "a.tar.gz", "a.tar");
}

static void
test_restart(void **state)
{
	(void)state;
	/*
	 * After s, processing starts over at rule 1 (the man page);
	 * tftp-hpa 5.2 resumes at rule 2 and would answer "b".
	 */
	expect("r ^b c\nrs ^a b", "a", "c");
	/* s without a match goes on to the next rule. */
	expect("rs ^q w\nr a b", "a", "b");
	/* s with e: e wins. */
	expect("r ^b c\nrse ^a b", "a", "b");
}

static void
test_step_bound(void **state)
{
	(void)state;
	expect_rc("s a", "a", -ELOOP, 0);
	expect_rc("rg a a", "a", -ELOOP, 0);
	expect_rc("r ^x y\nrs ^y x", "x", -ELOOP, 0);
	/*
	 * Every repetition of g counts: 2041 evaluations per rule twice
	 * fit in the bound, 2101 twice do not.
	 */
	{
		char name[2101];

		memset(name, 'b', sizeof(name) - 1);
		name[sizeof(name) - 1] = '\0';
		expect_rc("rg b c\nrg c d", name, -ELOOP, 0);
		name[2040] = '\0';
		expect("rg b c\nrg c d\nr ^d+$ ok", name, "ok");
	}
}

static void
test_op_modes(void **state)
{
	static const char rules[] = "rG ^ get-\nrP ^ put-\nr4 ^ v4-\n"
	    "r6 ^ v6-\nrGP ^ last-";	/* the last of G/P counts */

	(void)state;
	expect_op(rules, "f", REMAP_RRQ, &v4, "v4-get-f");
	expect_op(rules, "f", REMAP_WRQ, &v4, "last-v4-put-f");
	expect_op(rules, "f", REMAP_RRQ, &v6, "v6-get-f");
	expect_op(rules, "f", REMAP_WRQ, &mapped, "last-v4-put-f");
	expect_op(rules, "f", REMAP_RRQ, NULL, "get-f");
}

static void
test_escapes(void **state)
{
	(void)state;
	expect("r ^(a)(b)(c)(d)(e)(f)(g)(h)(i) <\\9\\8\\7\\6\\5\\4\\3\\2\\1|\\0>",
	    "abcdefghiZ", "<ihgfedcba|abcdefghi>Z");
	expect("r ([a-z]+)-([a-z]+) \\U\\1\\E-\\2", "x/abc-def.C", "x/ABC-def.C");
	expect("r ^.* \\L\\0", "PXELinux.0", "pxelinux.0");
	expect("r ^.* \\Ux\\Ly\\EZ", "q", "XyZ");
	/* \\ is a backslash; \c is c; \# and "\ " too. */
	expect("r / \\\\", "a/b", "a\\b");
	expect("r / \\q", "a/b", "aqb");
	expect("r / \\#\\ x", "a/b", "a# xb");
	/* A lone backslash at the end is itself. */
	expect("r / x\\", "a/b", "ax\\b");
	/* An unmatched subexpression expands to nothing. */
	expect("r ^(x)?y \\1z", "y", "z");
	/* A subexpression number beyond those in the regex: nothing. */
	expect("r ^a <\\5>", "ab", "<>b");
	/* Escaped whitespace and # inside a regex. */
	expect("rg \\  _", "a b c", "a_b_c");
	expect("rg \\#+ -", "a##b", "a-b");
}

static void
test_client_address(void **state)
{
	static const char rules[] = "r ^pxelinux.cfg/default$ "
	    "pxelinux.cfg/\\x\nr ^ip$ \\i";

	(void)state;
	expect_op(rules, "pxelinux.cfg/default", REMAP_RRQ, &v4,
	    "pxelinux.cfg/C0A80001");
	expect_op(rules, "ip", REMAP_RRQ, &v4, "192.168.0.1");
	expect_op(rules, "pxelinux.cfg/default", REMAP_RRQ, &v6,
	    "pxelinux.cfg/20010DB8000000000000000000000001");
	expect_op(rules, "ip", REMAP_RRQ, &v6, "2001:db8::1");
	expect_op(rules, "pxelinux.cfg/default", REMAP_RRQ, &mapped,
	    "pxelinux.cfg/0A000002");
	expect_op(rules, "ip", REMAP_RRQ, &mapped, "10.0.0.2");
	expect_op(rules, "ip", REMAP_RRQ, NULL, "i");
	expect_op(rules, "pxelinux.cfg/default", REMAP_RRQ, NULL,
	    "pxelinux.cfg/x");
	expect_op("r ^ \\L\\x/\\U\\i/", "f", REMAP_RRQ, &v6,
	    "20010db8000000000000000000000001/2001:DB8::1/f");
	{
		struct sockaddr sa = { .sa_family = AF_UNIX };

		expect_op("r ^ \\i\\x", "f", REMAP_RRQ, &sa, "ixf");
		expect_op("r4 ^ 4\nr6 ^ 6", "f", REMAP_RRQ, &sa, "f");
	}
}

static void
test_file_layout(void **state)
{
	struct remap_err err;
	struct remap *rm;

	(void)state;
	/* Blank and comment lines, CRLF, no final newline, empty file. */
	rm = compile("\n# c\n   \t\n  # indented\r\nr a b\r\n\nr c d");
	assert_int_equal(remap_count(rm), 2);
	remap_free(rm);
	assert_int_equal(remap_parse("", 0, &rm, &err), 0);
	assert_int_equal(remap_count(rm), 0);
	remap_free(rm);
	assert_int_equal(remap_count(NULL), 0);
	remap_free(NULL);
	/* The length is honoured: text need not end in NUL. */
	assert_int_equal(remap_parse("r a b junk", 5, &rm, &err), 0);
	expect("r a b", "a", "b");
	remap_free(rm);
	/* Fields after the replacement are ignored, as tftp-hpa does. */
	expect("r a b c d", "a", "b");
	/* No rules: the name as it is. */
	expect("# nothing", "Any\\Name", "Any\\Name");
}

static void
test_parse_errors(void **state)
{
	static const char nul[] = "r a b\nr a\0b\n";
	char *big;
	size_t i, n;

	(void)state;
	expect_parse_error("r a b\n\nrz x y\n", 14, 3, "unknown operation");
	expect_parse_error("# c\nr\n", 6, 2, "no regex");
	expect_parse_error("r # comment\n", 12, 1, "no regex");
	expect_parse_error("r (a b\n", 7, 1, "bad regex");
	expect_parse_error("r~ a b\n", 7, 1, "cannot be inverted");
	expect_parse_error(nul, sizeof(nul) - 1, 2, "NUL");

	/* A line of REMAP_LINE_MAX bytes is fine, one more is not. */
	big = malloc(REMAP_LINE_MAX + 16);
	assert_non_null(big);
	memcpy(big, "r x ", 4);
	memset(big + 4, 'y', REMAP_LINE_MAX - 4);
	big[REMAP_LINE_MAX] = '\n';
	{
		struct remap_err err;
		struct remap *rm;

		assert_int_equal(remap_parse(big, REMAP_LINE_MAX + 1, &rm,
		    &err), 0);
		remap_free(rm);
	}
	big[REMAP_LINE_MAX] = 'y';
	big[REMAP_LINE_MAX + 1] = '\n';
	expect_parse_error(big, REMAP_LINE_MAX + 2, 1, "longer");
	free(big);

	/* REMAP_RULES_MAX rules and comments after them are fine. */
	n = (REMAP_RULES_MAX + 1) * 6 + 16;
	big = malloc(n);
	assert_non_null(big);
	for (i = 0; i < REMAP_RULES_MAX; i++)
		memcpy(big + i * 6, "r a b\n", 6);
	memcpy(big + i * 6, "# end\n", 6);
	{
		struct remap_err err;
		struct remap *rm;

		assert_int_equal(remap_parse(big, (i + 1) * 6, &rm, &err), 0);
		assert_int_equal(remap_count(rm), REMAP_RULES_MAX);
		remap_free(rm);
	}
	memcpy(big + i * 6, "r c d\n", 6);
	expect_parse_error(big, (i + 1) * 6, REMAP_RULES_MAX + 1,
	    "more rules");
	/* A bad line past the limit reports its own error. */
	memcpy(big + i * 6, "rz c \n", 6);
	expect_parse_error(big, (i + 1) * 6, REMAP_RULES_MAX + 1,
	    "unknown operation");
	free(big);
}

/* "r (((a))) x" with depth parentheses. */
static void
nested(char *buf, size_t len, size_t depth)
{
	size_t i, n = 0;

	assert_true(2 * depth + 8 < len);
	n += (size_t)sprintf(buf, "r ");
	for (i = 0; i < depth; i++)
		buf[n++] = '(';
	buf[n++] = 'a';
	for (i = 0; i < depth; i++)
		buf[n++] = ')';
	sprintf(buf + n, " x");
}

/* The regexes glibc's regcomp() would take exponential time over. */
static void
test_regex_limits(void **state)
{
	char rx[256], *p;
	size_t i;

	(void)state;
	expect_parse_error("r a** b\n", 8, 1, "repetition follows");
	expect_parse_error("# c\nri ^([a-z]*+)- b\n", 21, 2, "repetition follows");
	expect_parse_error("r a{2}* b\n", 10, 1, "repetition follows");
	expect_parse_error("r (a)?{2} b\n", 12, 1, "repetition follows");
	expect_parse_error("r [abc b\n", 9, 1, "bad regex");
	expect_parse_error("r [[:alp b\n", 11, 1, "bad regex");
	/* Atoms that only look like repetitions. */
	expect("rg [*]+ _", "a**b*", "a_b_");
	expect("r \\** _", "**b", "_b");
	expect("r [[:alpha:]]+ _", "ab1", "_1");
	expect("r []*]+ _", "]*]x", "_x");
	expect("r [^]*]+ _", "ab]", "_]");
	expect("r [[.-.]]+ _", "--x", "_x");
	expect("r a{2,3}b+ _", "aaabbc", "_c");
	expect_parse_error("r a{x _\n", 8, 1, "bad regex");	/* regcomp's */
	/* REMAP_RX_REPEAT_MAX repetitions, then one more. */
	p = rx;
	p += sprintf(p, "r ");
	for (i = 0; i < REMAP_RX_REPEAT_MAX; i++)
		p += sprintf(p, "a*");
	p += sprintf(p, " x\n");
	expect(rx, "b", "xb");
	sprintf(p - 3, "b? x\n");
	expect_parse_error(rx, strlen(rx), 1, "too many repetitions");
	/* REMAP_RX_DEPTH_MAX levels of parentheses, then one more. */
	nested(rx, sizeof(rx), REMAP_RX_DEPTH_MAX);
	expect(rx, "ab", "xb");
	nested(rx, sizeof(rx), REMAP_RX_DEPTH_MAX + 1);
	expect_parse_error(rx, strlen(rx), 1, "nested too deep");
}

static void
test_lengths(void **state)
{
	struct remap *rm;
	char name[REMAP_NAME_MAX + 1], out[8];

	(void)state;
	memset(name, 'n', sizeof(name));
	name[REMAP_NAME_MAX - 1] = '\0';
	expect("r ^n+ m", name, "m");
	expect_rc("r ^n mm", name, -ENAMETOOLONG, 0);
	name[REMAP_NAME_MAX - 1] = 'n';
	name[REMAP_NAME_MAX] = '\0';
	expect_rc("", name, -ENAMETOOLONG, 0);
	/* Growing without end stops at the length before the step bound. */
	expect_rc("rg ^a aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	    "a", -ENAMETOOLONG, 0);
	/* A long expansion of \0 or \i is caught too. */
	name[REMAP_NAME_MAX - 8] = '\0';
	expect_rc("r ^.* \\0\\0", name, -ENAMETOOLONG, 0);
	expect_rc("r ^ \\i", name, -ENAMETOOLONG, 0);
	/* The caller's buffer: the result and its NUL must fit. */
	rm = compile("r ^ 1234");
	assert_int_equal(remap_apply(rm, "abcd", REMAP_RRQ, NULL, out,
	    sizeof(out), NULL), -ENAMETOOLONG);
	assert_int_equal(remap_apply(rm, "ab", REMAP_RRQ, NULL, out,
	    6, NULL), -ENAMETOOLONG);
	assert_int_equal(remap_apply(rm, "ab", REMAP_RRQ, NULL, out,
	    7, NULL), 0);
	assert_string_equal(out, "1234ab");
	assert_int_equal(remap_apply(rm, "ab", 3, NULL, out, sizeof(out),
	    NULL), -EINVAL);
	remap_free(rm);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sample_rules),
		cmocka_unit_test(test_ops),
		cmocka_unit_test(test_restart),
		cmocka_unit_test(test_step_bound),
		cmocka_unit_test(test_op_modes),
		cmocka_unit_test(test_escapes),
		cmocka_unit_test(test_client_address),
		cmocka_unit_test(test_file_layout),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_regex_limits),
		cmocka_unit_test(test_lengths),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
