/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * Unit tests for util.c: every parser at its bounds, with junk, overflow,
 * empty input and suffixes; socket address forms including IPv6 brackets,
 * zones and bad input, and formatting back; log escaping; the clock.
 * log.c, which has no other test, is checked here too: line format, level
 * filter, strerror suffix, a worker's pipe lines and
 * the master's relay of them.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

#define assert_prefix(s, prefix) \
	assert_true(strncmp((s), (prefix), strlen(prefix)) == 0)

static void
test_parse_u64(void **state)
{
	uint64_t v = 12345;

	assert_int_equal(parse_u64("0", 0, UINT64_MAX, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(parse_u64("18446744073709551615", 0, UINT64_MAX,
	    &v), 0);
	assert_true(v == UINT64_MAX);
	assert_int_equal(parse_u64("007", 0, 10, &v), 0);
	assert_int_equal(v, 7);

	/* Overflow of 64 bits, just past and far past. */
	v = 42;
	assert_int_equal(parse_u64("18446744073709551616", 0, UINT64_MAX,
	    &v), -ERANGE);
	assert_int_equal(parse_u64("99999999999999999999999", 0, UINT64_MAX,
	    &v), -ERANGE);
	assert_int_equal(v, 42);	/* untouched on error */

	/* Bounds are inclusive. */
	assert_int_equal(parse_u64("5", 5, 10, &v), 0);
	assert_int_equal(v, 5);
	assert_int_equal(parse_u64("10", 5, 10, &v), 0);
	assert_int_equal(v, 10);
	assert_int_equal(parse_u64("4", 5, 10, &v), -ERANGE);
	assert_int_equal(parse_u64("11", 5, 10, &v), -ERANGE);
	assert_int_equal(v, 10);

	/* Only digits: no sign, space, base prefix or trailing junk. */
	assert_int_equal(parse_u64("", 0, 10, &v), -EINVAL);
	assert_int_equal(parse_u64(NULL, 0, 10, &v), -EINVAL);
	assert_int_equal(parse_u64("-1", 0, 10, &v), -EINVAL);
	assert_int_equal(parse_u64("+1", 0, 10, &v), -EINVAL);
	assert_int_equal(parse_u64(" 1", 0, 10, &v), -EINVAL);
	assert_int_equal(parse_u64("1 ", 0, 10, &v), -EINVAL);
	assert_int_equal(parse_u64("1a", 0, 10, &v), -EINVAL);
	assert_int_equal(parse_u64("0x1", 0, 10, &v), -EINVAL);
	assert_int_equal(parse_u64("1.0", 0, 10, &v), -EINVAL);
	/* Junk wins over range: "not a number" is the better message. */
	assert_int_equal(parse_u64("99999999999999999999x", 0, 10, &v),
	    -EINVAL);
	assert_int_equal(v, 10);
}

static void
test_parse_u32(void **state)
{
	uint32_t v = 7;

	assert_int_equal(parse_u32("4294967295", 0, UINT32_MAX, &v), 0);
	assert_true(v == UINT32_MAX);
	assert_int_equal(parse_u32("4294967296", 0, UINT32_MAX, &v),
	    -ERANGE);
	assert_int_equal(parse_u32("18446744073709551617", 0, UINT32_MAX,
	    &v), -ERANGE);
	assert_true(v == UINT32_MAX);
	assert_int_equal(parse_u32("8", 8, 65464, &v), 0);
	assert_int_equal(v, 8);
	assert_int_equal(parse_u32("65464", 8, 65464, &v), 0);
	assert_int_equal(v, 65464);
	assert_int_equal(parse_u32("7", 8, 65464, &v), -ERANGE);
	assert_int_equal(parse_u32("65465", 8, 65464, &v), -ERANGE);
	assert_int_equal(parse_u32("", 8, 65464, &v), -EINVAL);
	assert_int_equal(parse_u32("512k", 8, 65464, &v), -EINVAL);
	assert_int_equal(v, 65464);
}

static void
test_parse_bool(void **state)
{
	static const char *const yes[] = {
		"yes", "YES", "Yes", "true", "TRUE", "on", "On", "1",
	};
	static const char *const no[] = {
		"no", "NO", "false", "False", "off", "OFF", "0",
	};
	static const char *const bad[] = {
		"", "y", "n", "yess", "2", "01", " yes", "yes ", "enable",
	};
	size_t i;
	bool b;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		b = false;
		assert_int_equal(parse_bool(yes[i], &b), 0);
		assert_true(b);
	}
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		b = true;
		assert_int_equal(parse_bool(no[i], &b), 0);
		assert_false(b);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		b = true;
		assert_int_equal(parse_bool(bad[i], &b), -EINVAL);
		assert_true(b);
	}
	assert_int_equal(parse_bool(NULL, &b), -EINVAL);
}

static void
test_parse_size(void **state)
{
	uint64_t v = 99;

	assert_int_equal(parse_size("0", UINT64_MAX, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(parse_size("1000", UINT64_MAX, &v), 0);
	assert_int_equal(v, 1000);
	assert_int_equal(parse_size("1k", UINT64_MAX, &v), 0);
	assert_int_equal(v, 1024);
	assert_int_equal(parse_size("1K", UINT64_MAX, &v), 0);
	assert_int_equal(v, 1024);
	assert_int_equal(parse_size("3m", UINT64_MAX, &v), 0);
	assert_int_equal(v, 3ULL << 20);
	assert_int_equal(parse_size("2G", UINT64_MAX, &v), 0);
	assert_true(v == 2ULL << 30);
	assert_int_equal(parse_size("5T", UINT64_MAX, &v), 0);
	assert_true(v == 5ULL << 40);
	assert_int_equal(parse_size("0K", UINT64_MAX, &v), 0);
	assert_int_equal(v, 0);

	/* Largest value with a suffix, and one past it. */
	assert_int_equal(parse_size("16777215T", UINT64_MAX, &v), 0);
	assert_true(v == 16777215ULL << 40);
	v = 99;
	assert_int_equal(parse_size("16777216T", UINT64_MAX, &v), -ERANGE);
	assert_int_equal(parse_size("18446744073709551616", UINT64_MAX, &v),
	    -ERANGE);
	assert_int_equal(v, 99);

	/* The maximum applies after the suffix. */
	assert_int_equal(parse_size("1K", 1024, &v), 0);
	assert_int_equal(v, 1024);
	assert_int_equal(parse_size("1025", 1024, &v), -ERANGE);
	assert_int_equal(parse_size("2K", 1024, &v), -ERANGE);
	assert_int_equal(v, 1024);

	/* Junk. */
	assert_int_equal(parse_size("", UINT64_MAX, &v), -EINVAL);
	assert_int_equal(parse_size(NULL, UINT64_MAX, &v), -EINVAL);
	assert_int_equal(parse_size("K", UINT64_MAX, &v), -EINVAL);
	assert_int_equal(parse_size("1P", UINT64_MAX, &v), -EINVAL);
	assert_int_equal(parse_size("1KB", UINT64_MAX, &v), -EINVAL);
	assert_int_equal(parse_size("1KK", UINT64_MAX, &v), -EINVAL);
	assert_int_equal(parse_size("1.5M", UINT64_MAX, &v), -EINVAL);
	assert_int_equal(parse_size("-1", UINT64_MAX, &v), -EINVAL);
	assert_int_equal(parse_size(" 1K", UINT64_MAX, &v), -EINVAL);
	assert_int_equal(parse_size("1 K", UINT64_MAX, &v), -EINVAL);
	assert_int_equal(v, 1024);
}

static void
test_parse_umask(void **state)
{
	uint32_t v = 5;

	assert_int_equal(parse_umask("022", &v), 0);
	assert_int_equal(v, 022);
	assert_int_equal(parse_umask("0022", &v), 0);
	assert_int_equal(v, 022);
	assert_int_equal(parse_umask("22", &v), 0);
	assert_int_equal(v, 022);
	assert_int_equal(parse_umask("0", &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(parse_umask("777", &v), 0);
	assert_int_equal(v, 0777);
	assert_int_equal(parse_umask("00000000000000000000077", &v), 0);
	assert_int_equal(v, 077);

	v = 5;
	assert_int_equal(parse_umask("1000", &v), -ERANGE);
	assert_int_equal(parse_umask("7777", &v), -ERANGE);
	assert_int_equal(parse_umask("777777777777777777777777", &v),
	    -ERANGE);
	assert_int_equal(parse_umask("8", &v), -EINVAL);
	assert_int_equal(parse_umask("09", &v), -EINVAL);
	assert_int_equal(parse_umask("", &v), -EINVAL);
	assert_int_equal(parse_umask(NULL, &v), -EINVAL);
	assert_int_equal(parse_umask("-1", &v), -EINVAL);
	assert_int_equal(parse_umask("0o22", &v), -EINVAL);
	assert_int_equal(parse_umask("22 ", &v), -EINVAL);
	assert_int_equal(v, 5);
}

/* Parse and check the family, address text and port. */
static void
check_addr(const char *s, int family, uint16_t defport, int want_af,
    const char *want_addr, uint16_t want_port, uint32_t want_scope)
{
	struct sockaddr_storage ss;
	socklen_t len = 0;
	char buf[INET6_ADDRSTRLEN];
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&ss;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&ss;

	memset(&ss, 0xa5, sizeof(ss));
	assert_int_equal(parse_sockaddr(s, family, defport, &ss, &len), 0);
	assert_int_equal(ss.ss_family, want_af);
	if (want_af == AF_INET) {
		assert_int_equal(len, sizeof(struct sockaddr_in));
		assert_non_null(inet_ntop(AF_INET, &sin->sin_addr, buf,
		    sizeof(buf)));
		assert_int_equal(ntohs(sin->sin_port), want_port);
	} else {
		assert_int_equal(len, sizeof(struct sockaddr_in6));
		assert_non_null(inet_ntop(AF_INET6, &sin6->sin6_addr, buf,
		    sizeof(buf)));
		assert_int_equal(ntohs(sin6->sin6_port), want_port);
		assert_int_equal(sin6->sin6_scope_id, want_scope);
		assert_int_equal(sin6->sin6_flowinfo, 0);
	}
	assert_string_equal(buf, want_addr);
	assert_int_equal(sockaddr_port((struct sockaddr *)&ss), want_port);
}

static void
test_parse_sockaddr_good(void **state)
{
	check_addr("1.2.3.4", AF_UNSPEC, 69, AF_INET, "1.2.3.4", 69, 0);
	check_addr("1.2.3.4:6969", AF_UNSPEC, 69, AF_INET, "1.2.3.4",
	    6969, 0);
	check_addr("1.2.3.4:65535", AF_INET, 69, AF_INET, "1.2.3.4",
	    65535, 0);
	check_addr("127.0.0.1:1", AF_UNSPEC, 69, AF_INET, "127.0.0.1", 1, 0);
	/* No address: the wildcard of the family asked for (v4 if any). */
	check_addr(":6969", AF_UNSPEC, 69, AF_INET, "0.0.0.0", 6969, 0);
	check_addr(":6969", AF_INET, 69, AF_INET, "0.0.0.0", 6969, 0);
	check_addr(":6969", AF_INET6, 69, AF_INET6, "::", 6969, 0);
	/* IPv6: brackets when a port follows, bare without one. */
	check_addr("[::1]:69", AF_UNSPEC, 1, AF_INET6, "::1", 69, 0);
	check_addr("[::1]", AF_UNSPEC, 70, AF_INET6, "::1", 70, 0);
	check_addr("::1", AF_UNSPEC, 71, AF_INET6, "::1", 71, 0);
	check_addr("::", AF_INET6, 69, AF_INET6, "::", 69, 0);
	check_addr("[::]:6969", AF_UNSPEC, 69, AF_INET6, "::", 6969, 0);
	check_addr("2001:db8::1:2", AF_UNSPEC, 69, AF_INET6, "2001:db8::1:2",
	    69, 0);
	check_addr("[2001:db8::1:2]:2", AF_UNSPEC, 69, AF_INET6,
	    "2001:db8::1:2", 2, 0);
	check_addr("::ffff:1.2.3.4", AF_UNSPEC, 69, AF_INET6,
	    "::ffff:1.2.3.4", 69, 0);
	/* Zones: a number or an interface name. */
	check_addr("[fe80::1%3]:69", AF_UNSPEC, 1, AF_INET6, "fe80::1", 69, 3);
	check_addr("fe80::1%lo", AF_UNSPEC, 69, AF_INET6, "fe80::1", 69,
	    if_nametoindex("lo"));
}

static void
test_parse_sockaddr_bad(void **state)
{
	static const char *const bad[] = {
		"", "1.2.3.4:", "1.2.3.4:0", "1.2.3.4:65536", "1.2.3.4:x",
		"1.2.3.4:69x", "1.2.3.4:-1", "1.2.3", "256.1.1.1",
		"1.2.3.4.5", " 1.2.3.4", "1.2.3.4 ", "localhost",
		"host.example:69", "[::1", "[::1]x", "[::1]:", "[::1]:0",
		"[]:69", "[]", "[1.2.3.4]:69", ":::69", "1::2::3",
		"[::1]:69:70",
		"1.2.3.4%lo", "fe80::1%", "::1:69]", "[::1]]:69", ":",
		"[fe80::1%]:69", "0x7f000001",
	};
	struct sockaddr_storage ss;
	socklen_t len;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		len = 1234;
		if (parse_sockaddr(bad[i], AF_UNSPEC, 69, &ss, &len) == 0)
			fail_msg("\"%s\" was accepted", bad[i]);
		assert_int_equal(len, 1234);
	}
	assert_int_not_equal(parse_sockaddr(NULL, AF_UNSPEC, 69, &ss, &len),
	    0);
	assert_int_equal(parse_sockaddr("fe80::1%nosuchif0", AF_UNSPEC, 69,
	    &ss, &len), -ENODEV);
	/* A concrete address of the other family is refused. */
	assert_int_equal(parse_sockaddr("1.2.3.4", AF_INET6, 69, &ss, &len),
	    -EAFNOSUPPORT);
	assert_int_equal(parse_sockaddr("[::1]:69", AF_INET, 69, &ss, &len),
	    -EAFNOSUPPORT);
	assert_int_equal(parse_sockaddr("1.2.3.4", AF_UNIX, 69, &ss, &len),
	    -EAFNOSUPPORT);
	assert_int_equal(len, 1234);
}

static void
test_sockaddr_str(void **state)
{
	static const char *const forms[] = {
		"1.2.3.4:69", "0.0.0.0:65535", "[::1]:69", "[::]:1",
		"[2001:db8::1]:6969", "[fe80::1%7]:69",
	};
	struct sockaddr_storage ss, ss2;
	struct sockaddr_un_like { sa_family_t f; char pad[30]; } other;
	socklen_t len, len2;
	char buf[SOCKADDR_STRLEN], small[8];
	size_t i;

	/* Each canonical form prints as itself and parses back equal. */
	for (i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		memset(&ss, 0, sizeof(ss));
		memset(&ss2, 0, sizeof(ss2));
		assert_int_equal(parse_sockaddr(forms[i], AF_UNSPEC, 1, &ss,
		    &len), 0);
		assert_string_equal(sockaddr_str((struct sockaddr *)&ss, buf,
		    sizeof(buf)), forms[i]);
		assert_int_equal(parse_sockaddr(buf, AF_UNSPEC, 1, &ss2,
		    &len2), 0);
		assert_int_equal(len, len2);
		assert_memory_equal(&ss, &ss2, len);
	}

	/* The longest form fits SOCKADDR_STRLEN. */
	assert_int_equal(parse_sockaddr(
	    "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff%4294967295]:65535",
	    AF_UNSPEC, 1, &ss, &len), 0);
	assert_string_equal(sockaddr_str((struct sockaddr *)&ss, buf,
	    sizeof(buf)),
	    "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff%4294967295]:65535");

	/* A short buffer truncates and stays terminated. */
	assert_int_equal(parse_sockaddr("[::1]:69", AF_UNSPEC, 1, &ss, &len),
	    0);
	memset(small, 'x', sizeof(small));
	assert_ptr_equal(sockaddr_str((struct sockaddr *)&ss, small,
	    sizeof(small)), small);
	assert_string_equal(small, "[::1]:6");

	memset(&other, 0, sizeof(other));
	other.f = AF_UNIX;
	assert_string_equal(sockaddr_str((struct sockaddr *)&other, buf,
	    sizeof(buf)), "(family 1)");
	assert_int_equal(sockaddr_port((struct sockaddr *)&other), 0);
}

static void
test_str_vis(void **state)
{
	char buf[64];
	char small[6];
	char all[256];
	int i;

	assert_int_equal(str_vis(buf, sizeof(buf), "pxelinux.0"), 10);
	assert_string_equal(buf, "pxelinux.0");
	assert_int_equal(str_vis(buf, sizeof(buf), "a b~/{}"), 7);
	assert_string_equal(buf, "a b~/{}");
	assert_int_equal(str_vis(buf, sizeof(buf), ""), 0);
	assert_string_equal(buf, "");

	/* Control bytes, DEL, high bytes, backslash and quote escaped. */
	assert_int_equal(str_vis(buf, sizeof(buf), "a\nb\r\t"), 14);
	assert_string_equal(buf, "a\\012b\\015\\011");
	assert_int_equal(str_vis(buf, sizeof(buf), "\\"), 4);
	assert_string_equal(buf, "\\134");
	assert_int_equal(str_vis(buf, sizeof(buf), "x\" result=ok"), 15);
	assert_string_equal(buf, "x\\042 result=ok");
	assert_int_equal(str_vis(buf, sizeof(buf), "\x7f\x80\xff\x1b[2J"),
	    19);
	assert_string_equal(buf, "\\177\\200\\377\\033[2J");

	/* No byte outside printable ASCII survives; every byte value. */
	for (i = 1; i < 256; i++)
		all[i - 1] = (char)i;
	all[255] = '\0';
	{
		char out[256 * 4 + 1];
		size_t n = str_vis(out, sizeof(out), all);
		size_t k;

		assert_int_equal(n, strlen(out));
		for (k = 0; k < n; k++)
			assert_true(out[k] >= 0x20 && out[k] < 0x7f &&
			    out[k] != '"');
	}

	/* Truncation: never past dstlen, never half an escape. */
	assert_int_equal(str_vis(small, sizeof(small), "abcdefgh"), 5);
	assert_string_equal(small, "abcde");
	assert_int_equal(str_vis(small, sizeof(small), "a\nb"), 5);
	assert_string_equal(small, "a\\012");
	assert_int_equal(str_vis(small, 5, "a\nb"), 1);
	assert_string_equal(small, "a");
	assert_int_equal(str_vis(small, sizeof(small), "\n"), 4);
	assert_string_equal(small, "\\012");
	assert_int_equal(str_vis(small, 1, "abc"), 0);
	assert_string_equal(small, "");
	small[0] = 'z';
	assert_int_equal(str_vis(small, 0, "abc"), 0);
	assert_int_equal(small[0], 'z');
}

/*
 * The JSON escaper: for any bytes, ASCII output that is valid inside a
 * JSON string, each byte recoverable, never cut inside an escape.
 */
static void
test_str_json(void **state)
{
	char buf[64], small[8], all[256], out[255 * 6 + 1];
	size_t n, k;
	int i;

	assert_int_equal(str_json(buf, sizeof(buf), "pxelinux.0"), 10);
	assert_string_equal(buf, "pxelinux.0");
	assert_int_equal(str_json(buf, sizeof(buf), ""), 0);
	assert_string_equal(buf, "");
	/* A quote and a backslash: a backslash before each. */
	assert_int_equal(str_json(buf, sizeof(buf), "a\"b\\c"), 7);
	assert_string_equal(buf, "a\\\"b\\\\c");
	/* Control bytes, DEL: \u00XX, lower-case hex. */
	assert_int_equal(str_json(buf, sizeof(buf), "\n\t\x01\x1b[\x7f"),
	    31);
	assert_string_equal(buf, "\\u000a\\u0009\\u0001\\u001b[\\u007f");
	/* Bytes >= 0x80 one by one, valid UTF-8 (é) or not. */
	assert_int_equal(str_json(buf, sizeof(buf), "\xc3\xa9\xff\x80"), 24);
	assert_string_equal(buf, "\\u00c3\\u00a9\\u00ff\\u0080");
	/* A '/' and the rest of printable ASCII stay. */
	assert_int_equal(str_json(buf, sizeof(buf), "d/{}<>~ "), 8);
	assert_string_equal(buf, "d/{}<>~ ");

	/* Every byte value: printable ASCII out, each escape well formed. */
	for (i = 1; i < 256; i++)
		all[i - 1] = (char)i;
	all[255] = '\0';
	n = str_json(out, sizeof(out), all);
	assert_int_equal(n, strlen(out));
	for (k = 0; k < n; k++) {
		assert_true(out[k] >= 0x20 && out[k] < 0x7f);
		if (out[k] == '"')
			fail_msg("unescaped quote at %zu", k);
		if (out[k] != '\\')
			continue;
		k++;
		if (out[k] == '"' || out[k] == '\\')
			continue;
		assert_int_equal(out[k], 'u');
		assert_true(strspn(out + k + 1, "0123456789abcdef") >= 4);
		k += 4;
	}
	/* 0x20..0x7e but '"' and '\\' are 93 bytes; the other 162 each 6. */
	assert_int_equal(n, 93 + 2 * 2 + 160 * 6);

	/* Truncation: never past dstlen, never half an escape. */
	assert_int_equal(str_json(small, sizeof(small), "abcdefghij"), 7);
	assert_string_equal(small, "abcdefg");
	assert_int_equal(str_json(small, sizeof(small), "a\x01z"), 7);
	assert_string_equal(small, "a\\u0001");
	assert_int_equal(str_json(small, sizeof(small), "ab\x01z"), 2);
	assert_string_equal(small, "ab");
	assert_int_equal(str_json(small, sizeof(small), "abcdef\"z"), 6);
	assert_string_equal(small, "abcdef");
	assert_int_equal(str_json(small, 1, "abc"), 0);
	assert_string_equal(small, "");
	assert_int_equal(str_json(small, 0, "abc"), 0);
}

static void
test_str_append(void **state)
{
	char	 buf[12];
	size_t	 off = 0;

	str_append(buf, sizeof(buf), &off, "%s", "ab");
	str_append(buf, sizeof(buf), &off, "%s%d", off > 0 ? ", " : "", 7);
	assert_string_equal(buf, "ab, 7");
	assert_int_equal(off, 5);
	/* Cut at the end of buf; later pieces add nothing. */
	str_append(buf, sizeof(buf), &off, "%s", "123456789");
	assert_string_equal(buf, "ab, 7123456");
	assert_int_equal(off, sizeof(buf) - 1);
	str_append(buf, sizeof(buf), &off, "%s", "x");
	assert_string_equal(buf, "ab, 7123456");
	assert_int_equal(off, sizeof(buf) - 1);
}

static void
test_time_now_ms(void **state)
{
	struct timespec ts, d = { 0, 30 * 1000 * 1000 };
	uint64_t a, b, ref;

	a = time_now_ms();
	assert_int_equal(clock_gettime(CLOCK_MONOTONIC, &ts), 0);
	ref = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	/* Same clock: within a few ms of CLOCK_MONOTONIC. */
	assert_true(ref >= a && ref - a < 1000);
	while (nanosleep(&d, &d) != 0)
		;
	b = time_now_ms();
	assert_true(b >= a + 30);
	assert_true(b - a < 10000);
}

/*
 * Run fn with stderr going to a file; return what it wrote (static).
 * log.c writes with write(2) on fd 2, so the fd is swapped, not FILE*.
 */
static const char *
stderr_of(void (*fn)(void))
{
	static char out[8192];
	char path[] = "/tmp/test_util.XXXXXX";
	int fd, saved;
	ssize_t n;

	assert_true((fd = mkstemp(path)) >= 0);
	unlink(path);
	fflush(stderr);
	assert_true((saved = dup(STDERR_FILENO)) >= 0);
	assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
	fn();
	fflush(stderr);
	assert_int_equal(dup2(saved, STDERR_FILENO), STDERR_FILENO);
	close(saved);
	n = pread(fd, out, sizeof(out) - 1, 0);
	assert_true(n >= 0);
	out[n] = '\0';
	close(fd);
	return out;
}

static void
log_levels_body(void)
{
	log_init("snowowl-tftpd", LOG_TO_STDERR, LOG_INFO);
	log_info("hello %d", 5);
	log_debug("dropped at info");
	log_msg(LOG_NOTICE, "notice %s", "kept");
	log_setlevel(LOG_DEBUG);
	log_debug("debug now");
	log_setlevel(LOG_ERR);
	log_warnx("dropped at err");
	log_info("dropped too");
	log_msg(LOG_ERR, "err kept");
	log_setlevel(LOG_INFO);
}

static void
log_warn_body(void)
{
	log_init("snowowl-tftpd", LOG_TO_STDERR, LOG_INFO);
	errno = ENOENT;
	log_warn("open %s", "x");
	/* errno survives logging, for the caller's next check. */
	if (errno != ENOENT)
		log_warnx("errno changed");
	errno = EACCES;
	log_warnx("plain");
	log_init("other", LOG_TO_STDERR, LOG_INFO);
	log_info("renamed");
	log_init("snowowl-tftpd", LOG_TO_STDERR, LOG_INFO);
}

static void
test_log_stderr(void **state)
{
	char want[512];
	long pid = (long)getpid();

	snprintf(want, sizeof(want),
	    "snowowl-tftpd[%ld]: hello 5\n"
	    "snowowl-tftpd[%ld]: notice kept\n"
	    "snowowl-tftpd[%ld]: debug now\n"
	    "snowowl-tftpd[%ld]: err kept\n", pid, pid, pid, pid);
	assert_string_equal(stderr_of(log_levels_body), want);

	snprintf(want, sizeof(want),
	    "snowowl-tftpd[%ld]: open x: No such file or directory\n"
	    "snowowl-tftpd[%ld]: plain\n"
	    "other[%ld]: renamed\n", pid, pid, pid);
	assert_string_equal(stderr_of(log_warn_body), want);
}

static void
test_log_levels(void **state)
{
	assert_int_equal(log_level_parse("err"), LOG_ERR);
	assert_int_equal(log_level_parse("warning"), LOG_WARNING);
	assert_int_equal(log_level_parse("notice"), LOG_NOTICE);
	assert_int_equal(log_level_parse("info"), LOG_INFO);
	assert_int_equal(log_level_parse("DEBUG"), LOG_DEBUG);
	assert_int_equal(log_level_parse("crit"), -1);
	assert_int_equal(log_level_parse("verbose"), -1);
	assert_int_equal(log_level_parse(""), -1);
	assert_int_equal(log_level_parse(NULL), -1);
	assert_string_equal(log_level_name(LOG_ERR), "err");
	assert_string_equal(log_level_name(LOG_WARNING), "warning");
	assert_string_equal(log_level_name(LOG_DEBUG), "debug");
	assert_string_equal(log_level_name(99), "unknown");
	log_setlevel(LOG_NOTICE);
	log_setlevel(LOG_INFO);
}

/* Bytes written to stderr (a file here) so far. */
static long
stderr_size(void)
{
	struct stat st;

	if (fstat(STDERR_FILENO, &st) < 0)
		return -1;
	return (long)st.st_size;
}

static long hold_sizes[4];

static void
log_hold_body(void)
{
	char msg[1001];
	int i;

	log_init("worker", LOG_TO_PIPE, LOG_INFO);
	log_hold(true);
	log_info("one");
	log_info("two");
	hold_sizes[0] = stderr_size();		/* held: nothing yet */
	log_warnx("three");			/* a warning goes at once */
	hold_sizes[1] = stderr_size();
	log_info("four");
	log_flush();
	hold_sizes[2] = stderr_size();
	/* More than a pipe buffer: the held lines go before it overflows. */
	memset(msg, 'z', sizeof(msg) - 1);
	msg[sizeof(msg) - 1] = '\0';
	for (i = 0; i < 5; i++)
		log_info("%d%s", i, msg);
	hold_sizes[3] = stderr_size();
	log_hold(false);			/* flushes */
	log_info("five");			/* not held */
	log_init("snowowl-tftpd", LOG_TO_STDERR, LOG_INFO);
}

static void
test_log_hold(void **state)
{
	char want[8192], z[1001];
	const char *out;
	int i, off;

	out = stderr_of(log_hold_body);
	memset(z, 'z', sizeof(z) - 1);
	z[sizeof(z) - 1] = '\0';
	off = snprintf(want, sizeof(want), "<6>one\n<6>two\n<4>three\n"
	    "<6>four\n");
	for (i = 0; i < 5; i++)
		off += snprintf(want + off, sizeof(want) - (size_t)off,
		    "<6>%d%s\n", i, z);
	snprintf(want + off, sizeof(want) - (size_t)off, "<6>five\n");
	assert_string_equal(out, want);
	assert_int_equal(hold_sizes[0], 0);
	assert_int_equal(hold_sizes[1], (long)strlen("<6>one\n<6>two\n"
	    "<4>three\n"));
	assert_int_equal(hold_sizes[2], hold_sizes[1] + (long)strlen(
	    "<6>four\n"));
	/* Some of the five long lines went out, never a part of one. */
	assert_true(hold_sizes[3] > hold_sizes[2]);
	assert_int_equal((hold_sizes[3] - hold_sizes[2]) % 1005, 0);
	assert_true(hold_sizes[3] < hold_sizes[2] + 5 * 1005);
}

static void
log_pipe_body(void)
{
	char long_msg[3000];

	log_init("worker", LOG_TO_PIPE, LOG_INFO);
	log_info("hello %d", 5);
	log_debug("dropped at info");
	log_msg(LOG_ERR, "bad");
	errno = ENOENT;
	log_warn("open %s", "x");
	memset(long_msg, 'y', sizeof(long_msg) - 1);
	long_msg[sizeof(long_msg) - 1] = '\0';
	log_msg(LOG_NOTICE, "%s", long_msg);
	log_msg(LOG_CRIT, "after");
	log_init("snowowl-tftpd", LOG_TO_STDERR, LOG_INFO);
}

/* A worker's log: "<PRIO>text\n", no ident or pid (the master adds its
 * own), long lines cut but still one line. */
static void
test_log_pipe(void **state)
{
	const char *out = stderr_of(log_pipe_body);
	const char *p, *nl;

	assert_prefix(out, "<6>hello 5\n<3>bad\n"
	    "<4>open x: No such file or directory\n<5>yyy");
	p = strstr(out, "<5>");
	nl = strchr(p, '\n');
	assert_non_null(nl);
	/* Cut to the message limit, not dropped, not split. */
	assert_true(nl - p - 3 >= LOG_LINE_MAX - 1 - 2);
	assert_true(nl - p - 3 <= LOG_LINE_MAX);
	assert_int_equal(strspn(p + 3, "y"), (size_t)(nl - p - 3));
	assert_string_equal(nl + 1, "<2>after\n");
}

static void
relay(const char *line)
{
	log_relay("worker 3", line, strlen(line));
}

static void
log_relay_body(void)
{
	char big[LOG_LINE_MAX * 2];

	log_init("snowowl-tftpd", LOG_TO_STDERR, LOG_INFO);
	relay("<6>transfer result=ok");
	relay("<7>debug, filtered at info");
	relay("<3>an error");
	relay("no priority: a warning");
	relay("<99>clamped to debug: filtered");
	relay("<>empty");
	relay("<1234>too long a number");
	relay("<6");
	relay("<0>emerg");
	relay("<6>ctl\tand \001 bytes \377, \\ and \" kept");
	relay("");
	memset(big, 'z', sizeof(big));
	log_relay("worker 3", big, sizeof(big));
	/* Binary junk with a NUL: len counts, not the string. */
	log_relay("worker 3", "<6>a\0b", 6);
	log_setlevel(LOG_DEBUG);
	relay("<99>now shown");
	log_setlevel(LOG_INFO);
}

static void
test_log_relay(void **state)
{
	char head[1024], want[512];
	const char *out = stderr_of(log_relay_body);
	const char *p, *nl;
	long pid = (long)getpid();

	snprintf(head, sizeof(head),
	    "snowowl-tftpd[%ld]: worker 3: transfer result=ok\n"
	    "snowowl-tftpd[%ld]: worker 3: an error\n"
	    "snowowl-tftpd[%ld]: worker 3: no priority: a warning\n"
	    "snowowl-tftpd[%ld]: worker 3: <>empty\n"
	    "snowowl-tftpd[%ld]: worker 3: <1234>too long a number\n"
	    "snowowl-tftpd[%ld]: worker 3: <6\n"
	    "snowowl-tftpd[%ld]: worker 3: emerg\n"
	    "snowowl-tftpd[%ld]: worker 3: ctl\\011and \\001 bytes \\377, "
	    "\\ and \" kept\n"
	    "snowowl-tftpd[%ld]: worker 3: \n"
	    "snowowl-tftpd[%ld]: worker 3: zzz", pid, pid, pid, pid, pid, pid,
	    pid, pid, pid, pid);
	assert_prefix(out, head);
	p = out + strlen(head) - 3;
	nl = strchr(p, '\n');
	assert_non_null(nl);
	assert_int_equal(strspn(p, "z"), (size_t)(nl - p));
	/* Cut: the whole line stays within the limit. */
	assert_true(nl - p < LOG_LINE_MAX);
	assert_true(nl - p > LOG_LINE_MAX - 32);
	snprintf(want, sizeof(want),
	    "snowowl-tftpd[%ld]: worker 3: a\\000b\n"
	    "snowowl-tftpd[%ld]: worker 3: now shown\n", pid, pid);
	assert_string_equal(nl + 1, want);
}

/* A JSON object is passed on whole: no "worker K: " before its '{'. */
static void
log_relay_json_body(void)
{
	log_init("snowowl-tftpd", LOG_TO_STDERR, LOG_INFO);
	relay("<6>{\"event\":\"transfer\",\"worker\":3}");
	relay("<5>{}");
	relay("<6> {not first}");
	relay("{no priority, a warning}");
}

static void
test_log_relay_json(void **state)
{
	char want[512];
	long pid = (long)getpid();

	snprintf(want, sizeof(want),
	    "snowowl-tftpd[%ld]: {\"event\":\"transfer\",\"worker\":3}\n"
	    "snowowl-tftpd[%ld]: {}\n"
	    "snowowl-tftpd[%ld]: worker 3:  {not first}\n"
	    "snowowl-tftpd[%ld]: worker 3: {no priority, a warning}\n",
	    pid, pid, pid, pid);
	assert_string_equal(stderr_of(log_relay_json_body), want);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_u64),
		cmocka_unit_test(test_parse_u32),
		cmocka_unit_test(test_parse_bool),
		cmocka_unit_test(test_parse_size),
		cmocka_unit_test(test_parse_umask),
		cmocka_unit_test(test_parse_sockaddr_good),
		cmocka_unit_test(test_parse_sockaddr_bad),
		cmocka_unit_test(test_sockaddr_str),
		cmocka_unit_test(test_str_vis),
		cmocka_unit_test(test_str_json),
		cmocka_unit_test(test_str_append),
		cmocka_unit_test(test_time_now_ms),
		cmocka_unit_test(test_log_stderr),
		cmocka_unit_test(test_log_levels),
		cmocka_unit_test(test_log_hold),
		cmocka_unit_test(test_log_pipe),
		cmocka_unit_test(test_log_relay),
		cmocka_unit_test(test_log_relay_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
