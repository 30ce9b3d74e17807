/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * Unit tests for acl.c: what a list's text becomes and what is refused
 * (malformed, lengths out of range, host bits, more than ACL_MAX), the
 * check of a list from shared memory, and the matching of IPv4, IPv6 and
 * IPv4-mapped clients, deny over allow, empty lists.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>

#include "acl.h"

/* A client address as the worker has it: v4, v6 or ::ffff:v4. */
static const struct sockaddr *
peer(const char *text, struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, text, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(1234);
	} else if (inet_pton(AF_INET6, text, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(1234);
	} else {
		fail_msg("bad test address \"%s\"", text);
	}
	return (const struct sockaddr *)ss;
}

static void
parse_ok(struct acl_list *l, const char *text)
{
	char why[256] = "";
	int r;

	if ((r = acl_parse(l, text, false, why, sizeof(why))) != 0)
		fail_msg("\"%s\": %d (%s)", text, r, why);
	assert_int_equal(acl_check(l, why, sizeof(why)), 0);
}

/* Each prefix of l as text, joined by spaces. */
static const char *
list_str(const struct acl_list *l, char *buf, size_t len)
{
	char p[ACL_PREFIX_STRLEN];
	size_t off = 0;
	uint32_t i;

	buf[0] = '\0';
	for (i = 0; i < l->n; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s",
		    i > 0 ? " " : "", acl_prefix_str(&l->p[i], p, sizeof(p)));
	return buf;
}

static void
check_parsed(const char *text, const char *want)
{
	struct acl_list l;
	char buf[4096];

	parse_ok(&l, text);
	if (strcmp(list_str(&l, buf, sizeof(buf)), want) != 0)
		fail_msg("\"%s\": got \"%s\", want \"%s\"", text, buf, want);
}

static void
check_refused(const char *text, int want, const char *reason)
{
	struct acl_list l, before;
	char why[256] = "";
	int r;

	memset(&l, 0, sizeof(l));
	parse_ok(&l, "192.0.2.1");
	before = l;
	r = acl_parse(&l, text, false, why, sizeof(why));
	if (r != want)
		fail_msg("\"%s\": got %d, want %d (%s)", text, r, want, why);
	if (strstr(why, reason) == NULL)
		fail_msg("\"%s\": reason \"%s\" lacks \"%s\"", text, why,
		    reason);
	/* A refused text leaves the list as it was. */
	assert_memory_equal(&l, &before, sizeof(l));
}

static void
test_parse_good(void **state)
{
	check_parsed("", "");
	check_parsed("  , \t", "");
	check_parsed("10.0.0.0/8", "10.0.0.0/8");
	check_parsed("192.0.2.7", "192.0.2.7/32");
	check_parsed("10.0.0.0/8 192.0.2.7 2001:db8::/32",
	    "10.0.0.0/8 192.0.2.7/32 2001:db8::/32");
	check_parsed("10.0.0.0/8,192.168.0.0/16,\t::1",
	    "10.0.0.0/8 192.168.0.0/16 ::1/128");
	check_parsed("0.0.0.0/0 ::/0", "0.0.0.0/0 ::/0");
	check_parsed("2001:db8::1", "2001:db8::1/128");
	check_parsed("fe80::/10", "fe80::/10");
	check_parsed("10.1.2.128/25", "10.1.2.128/25");
	/* Inside ::ffff:0:0/96: stored as the IPv4 prefix it names. */
	check_parsed("::ffff:10.0.0.0/104", "10.0.0.0/8");
	check_parsed("::ffff:192.0.2.7", "192.0.2.7/32");
	check_parsed("::ffff:0.0.0.0/96", "0.0.0.0/0");
	/* Shorter than /96: an IPv6 prefix like any other. */
	check_parsed("::/64", "::/64");
	check_parsed("10.0.0.0/008", "10.0.0.0/8");
}

static void
test_parse_bad(void **state)
{
	check_refused("10.0.0.1/8", -EINVAL,
	    "bits set beyond the prefix length (the network is 10.0.0.0/8)");
	check_refused("2001:db8::1/32", -EINVAL, "the network is "
	    "2001:db8::/32");
	check_refused("10.0.0.128/24", -EINVAL, "bits set");
	check_refused("10.0.0.1/31", -EINVAL, "bits set");
	check_refused("10.0.0.0/33", -EINVAL, "out of range 0..32");
	check_refused("::/129", -EINVAL, "out of range 0..128");
	check_refused("10.0.0.0/1000", -EINVAL, "out of range 0..32");
	check_refused("10.0.0.0/", -EINVAL, "not a number");
	check_refused("10.0.0.0/-1", -EINVAL, "not a number");
	check_refused("10.0.0.0/+8", -EINVAL, "not a number");
	check_refused("10.0.0.0/8/8", -EINVAL, "not a number");
	check_refused("10.0.0.0/8x", -EINVAL, "not a number");
	check_refused("10.0.0", -EINVAL, "not an address");
	check_refused("10.0.0.256", -EINVAL, "not an address");
	check_refused("010.0.0.1", -EINVAL, "not an address");
	check_refused("host.example", -EINVAL, "not an address");
	check_refused("2001:db8::g", -EINVAL, "not an address");
	check_refused("fe80::1%eth0", -EINVAL, "not an address");
	check_refused("/8", -EINVAL, "not an address");
	check_refused("10.0.0.0/8 nonsense", -EINVAL, "\"nonsense\"");
	check_refused("x\001y", -EINVAL, "\"x?y\"");
	check_refused("1111:2222:3333:4444:5555:6666:7777:8888:9999:aaaa/128",
	    -EINVAL, "not an address");
	check_refused("0000000000000000000000000000000000000000000000000000"
	    "0000000000000000000000000000.0.0.0", -EINVAL, "too long");
}

static void
test_parse_bounds(void **state)
{
	struct acl_list l;
	char text[ACL_MAX * 20 + 32], why[256];
	size_t off = 0;
	int i;

	for (i = 0; i < ACL_MAX; i++)
		off += (size_t)snprintf(text + off, sizeof(text) - off,
		    "10.0.%d.0/24 ", i);
	parse_ok(&l, text);
	assert_int_equal(l.n, ACL_MAX);
	/* One more, in the same value or added by a repeated key. */
	snprintf(text + off, sizeof(text) - off, "192.0.2.1");
	assert_int_equal(acl_parse(&l, text, false, why, sizeof(why)),
	    -E2BIG);
	assert_non_null(strstr(why, "more than 64 prefixes"));
	assert_int_equal(l.n, ACL_MAX);
	assert_int_equal(acl_parse(&l, "192.0.2.1", true, why, sizeof(why)),
	    -E2BIG);
	assert_int_equal(l.n, ACL_MAX);
	/* Append adds, replace replaces; an empty value empties. */
	parse_ok(&l, "192.0.2.1");
	assert_int_equal(acl_parse(&l, "2001:db8::/32", true, why,
	    sizeof(why)), 0);
	assert_int_equal(l.n, 2);
	assert_int_equal(acl_parse(&l, "", false, why, sizeof(why)), 0);
	assert_int_equal(l.n, 0);
}

static void
test_check(void **state)
{
	struct acl_list l;
	char why[256];

	parse_ok(&l, "10.0.0.0/8 2001:db8::/32");
	assert_int_equal(acl_check(&l, why, sizeof(why)), 0);
	l.n = ACL_MAX + 1;
	assert_int_equal(acl_check(&l, why, sizeof(why)), -EINVAL);
	parse_ok(&l, "10.0.0.0/8");
	l.p[0].family = 7;
	assert_int_equal(acl_check(&l, why, sizeof(why)), -EINVAL);
	parse_ok(&l, "10.0.0.0/8");
	l.p[0].len = 33;
	assert_int_equal(acl_check(&l, why, sizeof(why)), -EINVAL);
	parse_ok(&l, "10.0.0.0/8");
	l.p[0].addr[3] = 1;		/* host bits */
	assert_int_equal(acl_check(&l, why, sizeof(why)), -EINVAL);
	parse_ok(&l, "10.0.0.0/8");
	l.p[0].addr[4] = 1;		/* past an IPv4 address */
	assert_int_equal(acl_check(&l, why, sizeof(why)), -EINVAL);
	parse_ok(&l, "10.0.0.0/8");
	l.p[0].pad[1] = 1;
	assert_int_equal(acl_check(&l, why, sizeof(why)), -EINVAL);
	parse_ok(&l, "10.0.0.0/8");
	l.p[5].len = 1;			/* an unused entry */
	assert_int_equal(acl_check(&l, why, sizeof(why)), -EINVAL);
}

static bool
matches(const char *list, const char *addr)
{
	struct sockaddr_storage ss;
	struct acl_list l;

	parse_ok(&l, list);
	return acl_match(&l, peer(addr, &ss));
}

static void
test_match_v4(void **state)
{
	assert_true(matches("10.0.0.0/8", "10.1.2.3"));
	assert_false(matches("10.0.0.0/8", "11.0.0.0"));
	assert_true(matches("192.0.2.7", "192.0.2.7"));
	assert_false(matches("192.0.2.7", "192.0.2.6"));
	assert_true(matches("10.1.2.128/25", "10.1.2.255"));
	assert_false(matches("10.1.2.128/25", "10.1.2.127"));
	assert_true(matches("0.0.0.0/0", "203.0.113.9"));
	assert_true(matches("172.16.0.0/12", "172.31.255.255"));
	assert_false(matches("172.16.0.0/12", "172.32.0.0"));
	assert_true(matches("192.0.2.1 127.0.0.0/8", "127.0.0.2"));
	/* An IPv4 prefix never matches an IPv6 client, nor the reverse. */
	assert_false(matches("0.0.0.0/0", "2001:db8::1"));
	assert_false(matches("::/0", "192.0.2.1"));
	assert_false(matches("", "192.0.2.1"));
}

static void
test_match_v6(void **state)
{
	assert_true(matches("2001:db8::/32", "2001:db8:1::5"));
	assert_false(matches("2001:db8::/32", "2001:db9::5"));
	assert_true(matches("2001:db8::/33", "2001:db8:7fff::1"));
	assert_false(matches("2001:db8::/33", "2001:db8:8000::1"));
	assert_true(matches("::1", "::1"));
	assert_false(matches("::1", "::2"));
	assert_true(matches("::/0", "fe80::1"));
	assert_true(matches("fe80::/10", "febf::1"));
	assert_false(matches("fe80::/10", "fec0::1"));
}

static void
test_match_mapped(void **state)
{
	/* A dual-stack socket's IPv4 client is an IPv4 client. */
	assert_true(matches("10.0.0.0/8", "::ffff:10.9.8.7"));
	assert_false(matches("10.0.0.0/8", "::ffff:11.9.8.7"));
	assert_true(matches("192.0.2.7", "::ffff:192.0.2.7"));
	/* Written mapped, matched as IPv4, whichever way it arrives. */
	assert_true(matches("::ffff:10.0.0.0/104", "10.1.1.1"));
	assert_true(matches("::ffff:10.0.0.0/104", "::ffff:10.1.1.1"));
	/* ::/0 is every IPv6 client, not the IPv4 ones. */
	assert_false(matches("::/0", "::ffff:10.1.1.1"));
	/* A compatible address (::a.b.c.d) is plain IPv6. */
	assert_false(matches("10.0.0.0/8", "::10.1.1.1"));
}

static bool
permits(const char *allow, const char *deny, const char *addr)
{
	struct sockaddr_storage ss;
	struct acl_list a, d;

	parse_ok(&a, allow);
	parse_ok(&d, deny);
	return acl_permits(&a, &d, peer(addr, &ss));
}

static void
test_permits(void **state)
{
	struct sockaddr_storage ss;
	struct acl_list a, d;

	/* Empty lists: everyone, as without the section. */
	assert_true(permits("", "", "192.0.2.1"));
	assert_true(permits("", "", "2001:db8::1"));
	/* Deny alone. */
	assert_false(permits("", "127.0.0.2", "127.0.0.2"));
	assert_true(permits("", "127.0.0.2", "127.0.0.1"));
	/* Allow alone: the rest refused, of either family. */
	assert_true(permits("127.0.0.1", "", "127.0.0.1"));
	assert_false(permits("127.0.0.1", "", "127.0.0.2"));
	assert_false(permits("127.0.0.1", "", "::1"));
	/* Deny over allow, whatever the lengths. */
	assert_false(permits("10.0.0.5", "10.0.0.0/8", "10.0.0.5"));
	assert_true(permits("10.0.0.0/8", "10.0.0.5", "10.0.0.6"));
	assert_false(permits("10.0.0.0/8", "10.0.0.5", "10.0.0.5"));
	assert_false(permits("10.0.0.0/8", "", "192.0.2.1"));
	assert_false(permits("", "::ffff:10.0.0.5", "::ffff:10.0.0.5"));
	assert_false(permits("", "10.0.0.5", "::ffff:10.0.0.5"));
	/* Another family: no deny matches, no allow either. */
	parse_ok(&a, "");
	parse_ok(&d, "10.0.0.0/8");
	memset(&ss, 0, sizeof(ss));
	ss.ss_family = AF_UNIX;
	assert_true(acl_permits(&a, &d, (const struct sockaddr *)&ss));
	parse_ok(&a, "0.0.0.0/0 ::/0");
	assert_false(acl_permits(&a, &d, (const struct sockaddr *)&ss));
}

static void
test_prefix_str(void **state)
{
	struct acl_prefix p;
	char buf[ACL_PREFIX_STRLEN];

	memset(&p, 0, sizeof(p));
	p.family = 99;
	assert_string_equal(acl_prefix_str(&p, buf, sizeof(buf)), "?");
	check_parsed("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_good),
		cmocka_unit_test(test_parse_bad),
		cmocka_unit_test(test_parse_bounds),
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_match_v4),
		cmocka_unit_test(test_match_v6),
		cmocka_unit_test(test_match_mapped),
		cmocka_unit_test(test_permits),
		cmocka_unit_test(test_prefix_str),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
