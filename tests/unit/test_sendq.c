/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * Unit tests for sendq.c, single-port mode's send queue, over real UDP
 * sockets on loopback: each message reaches its own destination, in
 * order, with its own source address and GSO segment; a message the
 * kernel refuses costs only itself, a full socket buffer stops the flush;
 * the batch size bounds the messages per sendmmsg(); sendq_room() keeps
 * one fd and SENDQ_MAX messages per queue.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdbool.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <poll.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "sendq.h"

#ifndef UDP_SEGMENT
#define UDP_SEGMENT	103	/* linux/udp.h */
#endif

#define WAIT_MS		2000	/* for a datagram that must come */
#define QUIET_MS	50	/* for one that must not */

static struct sendq q;		/* too big for a test's stack frame */

static struct sendq_tag
tag_of(uint32_t slot, uint16_t seg)
{
	return (struct sendq_tag){ .slot = slot, .gen = slot * 3,
	    .first = slot + 100, .npkt = 1, .nblk = 1, .seg = seg };
}

/* A non-blocking UDP socket bound to addr (port 0: any); *sa its name. */
static int
udp_bound(int family, const char *addr, struct sockaddr_storage *sa)
{
	socklen_t len = sizeof(*sa);
	int fd;

	memset(sa, 0, sizeof(*sa));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)sa;

		sin->sin_family = AF_INET;
		if (inet_pton(AF_INET, addr, &sin->sin_addr) != 1)
			return -1;
		len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)sa;

		sin6->sin6_family = AF_INET6;
		if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) != 1)
			return -1;
		len = sizeof(*sin6);
	}
	fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)sa, len) < 0 ||
	    getsockname(fd, (struct sockaddr *)sa, &len) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int
udp4(const char *addr, struct sockaddr_in *sin)
{
	struct sockaddr_storage ss;
	int fd;

	fd = udp_bound(AF_INET, addr, &ss);
	assert_true(fd >= 0);
	memcpy(sin, &ss, sizeof(*sin));
	return fd;
}

/* The next datagram on fd within ms: its length, or -1 if none came. */
static ssize_t
recv_within(int fd, void *buf, size_t len, struct sockaddr_storage *from,
    int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	socklen_t flen = sizeof(*from);
	ssize_t n;

	if (poll(&p, 1, ms) != 1)
		return -1;
	n = recvfrom(fd, buf, len, MSG_DONTWAIT | MSG_TRUNC,
	    (struct sockaddr *)from, &flen);
	return n;
}

/* The next datagram on fd is exactly want (len bytes). */
static void
expect_dgram(int fd, const void *want, size_t len)
{
	struct sockaddr_storage from;
	char buf[2048];
	ssize_t n;

	n = recv_within(fd, buf, sizeof(buf), &from, WAIT_MS);
	assert_int_equal(n, (ssize_t)len);
	assert_memory_equal(buf, want, len);
}

static void
expect_str(int fd, const char *s)
{
	expect_dgram(fd, s, strlen(s));
}

/* Nothing more on fd. */
static void
expect_none(int fd)
{
	struct sockaddr_storage from;
	char buf[2048];

	assert_int_equal(recv_within(fd, buf, sizeof(buf), &from, QUIET_MS),
	    -1);
}

/* The next datagram on fd is s and came from the IPv4 address src. */
static void
expect_from4(int fd, const char *s, const char *src)
{
	struct sockaddr_storage from;
	struct sockaddr_in *sin = (struct sockaddr_in *)&from;
	char buf[2048], name[INET_ADDRSTRLEN];
	ssize_t n;

	n = recv_within(fd, buf, sizeof(buf), &from, WAIT_MS);
	assert_int_equal(n, (ssize_t)strlen(s));
	assert_memory_equal(buf, s, strlen(s));
	assert_int_equal(from.ss_family, AF_INET);
	assert_non_null(inet_ntop(AF_INET, &sin->sin_addr, name,
	    sizeof(name)));
	assert_string_equal(name, src);
}

static void
add_str(struct sendq *sq, int fd, const void *peer, socklen_t plen,
    const void *local, const char *s, uint32_t slot)
{
	struct sendq_tag tag = tag_of(slot, 0);

	assert_true(sendq_room(sq, fd, 1));
	sendq_add(sq, fd, peer, plen, local, (void *)s, strlen(s), &tag);
}

/*
 * Can this kernel send with UDP_SEGMENT over loopback?  Asked with a
 * control message built here, not by the code under test, so that a bad
 * one from sendq is a failure and not a skip.
 */
static bool
gso_works(int family)
{
	static int known[2];	/* 0 unknown, 1 yes, -1 no */
	union {
		char buf[CMSG_SPACE(sizeof(uint16_t))];
		struct cmsghdr align;
	} cm;
	struct sockaddr_storage rs, ts;
	struct iovec iov;
	struct msghdr mh;
	struct cmsghdr *c;
	char buf[150], got[200];
	uint16_t seg = 100;
	int *k = &known[family == AF_INET6], tx, rx, n = 0;

	if (*k != 0)
		return *k > 0;
	rx = udp_bound(family, family == AF_INET ? "127.0.0.1" : "::1", &rs);
	tx = udp_bound(family, family == AF_INET ? "0.0.0.0" : "::", &ts);
	assert_true(rx >= 0 && tx >= 0);
	memset(buf, 'g', sizeof(buf));
	memset(&cm, 0, sizeof(cm));
	iov = (struct iovec){ .iov_base = buf, .iov_len = sizeof(buf) };
	mh = (struct msghdr){ .msg_name = &rs, .msg_namelen = family ==
	    AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6),
	    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.buf,
	    .msg_controllen = sizeof(cm.buf) };
	c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_UDP;
	c->cmsg_type = UDP_SEGMENT;
	c->cmsg_len = CMSG_LEN(sizeof(seg));
	memcpy(CMSG_DATA(c), &seg, sizeof(seg));
	if (sendmsg(tx, &mh, 0) < 0) {
		fprintf(stderr, "# UDP_SEGMENT refused (%s): GSO not tested\n",
		    strerror(errno));
		*k = -1;
	} else {
		while (n < 2 && recv_within(rx, got, sizeof(got), &rs,
		    WAIT_MS) > 0)
			n++;
		*k = 1;
	}
	close(tx);
	close(rx);
	return *k > 0;
}

static void
test_two_receivers(void **state)
{
	struct sockaddr_in a, b;
	int tx, ra, rb;
	uint32_t i;

	tx = udp4("0.0.0.0", &(struct sockaddr_in){ 0 });
	ra = udp4("127.0.0.1", &a);
	rb = udp4("127.0.0.1", &b);

	sendq_init(&q);
	assert_int_equal(q.n, 0);
	add_str(&q, tx, &a, sizeof(a), NULL, "a0", 0);
	add_str(&q, tx, &b, sizeof(b), NULL, "b0", 1);
	add_str(&q, tx, &a, sizeof(a), NULL, "a1-longer", 2);
	add_str(&q, tx, &b, sizeof(b), NULL, "b1", 3);
	add_str(&q, tx, &a, sizeof(a), NULL, "a2", 4);
	assert_int_equal(q.n, 5);
	assert_int_equal(q.fd, tx);

	assert_int_equal(sendq_flush(&q, SENDQ_MAX), 1);
	for (i = 0; i < 5; i++) {
		assert_int_equal(q.err[i], 0);
		/* The tags stay for the caller's accounting. */
		assert_int_equal(q.tag[i].slot, i);
		assert_int_equal(q.tag[i].gen, i * 3);
		assert_int_equal(q.tag[i].first, i + 100);
	}
	expect_str(ra, "a0");
	expect_str(ra, "a1-longer");
	expect_str(ra, "a2");
	expect_none(ra);
	expect_str(rb, "b0");
	expect_str(rb, "b1");
	expect_none(rb);

	sendq_reset(&q);
	assert_int_equal(q.n, 0);
	/* Reset, a flush sends nothing and makes no call. */
	assert_int_equal(sendq_flush(&q, SENDQ_MAX), 0);
	expect_none(ra);
	expect_none(rb);

	close(tx);
	close(ra);
	close(rb);
}

/*
 * One message of 350 bytes in segments of 100 arrives as four datagrams;
 * the messages around it, with no segment, as one each.
 */
static void
test_gso(void **state)
{
	struct sockaddr_in a;
	struct sendq_tag tag;
	char big[350], after[250];
	int tx, ra;
	size_t i;

	for (i = 0; i < sizeof(big); i++)
		big[i] = (char)(i * 7 + 1);
	memset(after, 'z', sizeof(after));
	tx = udp4("0.0.0.0", &(struct sockaddr_in){ 0 });
	ra = udp4("127.0.0.1", &a);

	sendq_init(&q);
	add_str(&q, tx, &a, sizeof(a), NULL, "before", 0);
	tag = tag_of(1, 100);
	tag.npkt = 4;
	assert_true(sendq_room(&q, tx, 1));
	sendq_add(&q, tx, (struct sockaddr *)&a, sizeof(a), NULL, big,
	    sizeof(big), &tag);
	tag = tag_of(2, 0);
	assert_true(sendq_room(&q, tx, 1));
	sendq_add(&q, tx, (struct sockaddr *)&a, sizeof(a), NULL, after,
	    sizeof(after), &tag);
	sendq_flush(&q, SENDQ_MAX);

	assert_int_equal(q.err[0], 0);
	assert_int_equal(q.err[2], 0);
	expect_str(ra, "before");
	if (!gso_works(AF_INET)) {
		expect_dgram(ra, after, sizeof(after));
		expect_none(ra);
		close(tx);
		close(ra);
		skip();
	}
	assert_int_equal(q.err[1], 0);
	assert_int_equal(q.tag[1].seg, 100);
	expect_dgram(ra, big, 100);
	expect_dgram(ra, big + 100, 100);
	expect_dgram(ra, big + 200, 100);
	expect_dgram(ra, big + 300, 50);
	expect_dgram(ra, after, sizeof(after));
	expect_none(ra);

	close(tx);
	close(ra);
}

/*
 * A window as the mapped path lays it out: an iovec list alternating
 * 4-byte headers and blocks kept elsewhere, whose array stays put until
 * the flush, goes out as one GSO message of header+block datagrams.  A
 * block over a page that is gone (here: unmapped; in the daemon: past a
 * truncated end) fails that message alone with EFAULT, no signal.
 */
static void
test_gso_iov(void **state)
{
	struct sockaddr_in a;
	struct sendq_tag tag;
	struct iovec iov[6], bad[2];
	char hdr[3][4], data[3][96], want[100];
	long pagesz = sysconf(_SC_PAGESIZE);
	void *gone;
	int tx, ra, i;

	(void)state;
	for (i = 0; i < 3; i++) {
		memset(hdr[i], 'A' + i, sizeof(hdr[i]));
		memset(data[i], 'a' + i, sizeof(data[i]));
		iov[2 * i] = (struct iovec){ hdr[i], sizeof(hdr[i]) };
		iov[2 * i + 1] = (struct iovec){ data[i],
		    i < 2 ? sizeof(data[i]) : 40 };
	}
	gone = mmap(NULL, (size_t)pagesz, PROT_READ, MAP_PRIVATE |
	    MAP_ANONYMOUS, -1, 0);
	assert_true(gone != MAP_FAILED);
	assert_int_equal(munmap(gone, (size_t)pagesz), 0);
	bad[0] = iov[0];
	bad[1] = (struct iovec){ gone, 96 };
	tx = udp4("0.0.0.0", &(struct sockaddr_in){ 0 });
	ra = udp4("127.0.0.1", &a);

	sendq_init(&q);
	tag = tag_of(1, gso_works(AF_INET) ? 100 : 0);
	tag.npkt = 3;
	if (tag.seg != 0)
		sendq_addv(&q, tx, (struct sockaddr *)&a, sizeof(a), NULL,
		    iov, 6, &tag);
	else
		for (i = 0; i < 3; i++)
			sendq_addv(&q, tx, (struct sockaddr *)&a, sizeof(a),
			    NULL, &iov[2 * i], 2, &tag);
	tag = tag_of(2, 0);
	sendq_addv(&q, tx, (struct sockaddr *)&a, sizeof(a), NULL, bad, 2,
	    &tag);
	add_str(&q, tx, &a, sizeof(a), NULL, "after", 3);
	sendq_flush(&q, SENDQ_MAX);

	for (i = 0; i < 3; i++) {
		memcpy(want, hdr[i], 4);
		memcpy(want + 4, data[i], 96);
		expect_dgram(ra, want, i < 2 ? 100 : 44);
	}
	/* The bad message follows the window's one (GSO) or three. */
	assert_int_equal(q.err[gso_works(AF_INET) ? 1 : 3], -EFAULT);
	expect_str(ra, "after");
	expect_none(ra);
	close(tx);
	close(ra);
}

/*
 * Messages the kernel refuses one by one (port 0: EINVAL; an IPv6
 * destination on an IPv4 socket: EAFNOSUPPORT) cost only themselves, at
 * the start, the middle and the end of the queue.
 */
static void
test_refused(void **state)
{
	struct sockaddr_in a, zero;
	struct sockaddr_in6 six;
	int tx, ra;

	tx = udp4("0.0.0.0", &(struct sockaddr_in){ 0 });
	ra = udp4("127.0.0.1", &a);
	zero = a;
	zero.sin_port = 0;
	memset(&six, 0, sizeof(six));
	six.sin6_family = AF_INET6;
	six.sin6_port = a.sin_port;
	six.sin6_addr = in6addr_loopback;

	sendq_init(&q);
	add_str(&q, tx, &zero, sizeof(zero), NULL, "bad0", 0);
	add_str(&q, tx, &a, sizeof(a), NULL, "m1", 1);
	add_str(&q, tx, &zero, sizeof(zero), NULL, "bad2", 2);
	add_str(&q, tx, &a, sizeof(a), NULL, "m3", 3);
	add_str(&q, tx, &six, sizeof(six), NULL, "bad4", 4);
	add_str(&q, tx, &a, sizeof(a), NULL, "m5", 5);
	add_str(&q, tx, &zero, sizeof(zero), NULL, "bad6", 6);

	/* Each refusal ends a sendmmsg() and costs one of its own:
	 * [0] [1] [2] [3] [4] [5] [6]. */
	assert_int_equal(sendq_flush(&q, SENDQ_MAX), 7);
	assert_int_equal(q.err[0], -EINVAL);
	assert_int_equal(q.err[1], 0);
	assert_int_equal(q.err[2], -EINVAL);
	assert_int_equal(q.err[3], 0);
	assert_true(q.err[4] == -EAFNOSUPPORT || q.err[4] == -EINVAL);
	assert_int_equal(q.err[5], 0);
	assert_int_equal(q.err[6], -EINVAL);
	expect_str(ra, "m1");
	expect_str(ra, "m3");
	expect_str(ra, "m5");
	expect_none(ra);

	/* A run of good ones goes in one call after a refusal. */
	sendq_reset(&q);
	add_str(&q, tx, &zero, sizeof(zero), NULL, "bad", 0);
	add_str(&q, tx, &a, sizeof(a), NULL, "g1", 1);
	add_str(&q, tx, &a, sizeof(a), NULL, "g2", 2);
	add_str(&q, tx, &a, sizeof(a), NULL, "g3", 3);
	assert_int_equal(sendq_flush(&q, SENDQ_MAX), 2);
	assert_int_equal(q.err[0], -EINVAL);
	assert_int_equal(q.err[1], 0);
	assert_int_equal(q.err[2], 0);
	assert_int_equal(q.err[3], 0);
	expect_str(ra, "g1");
	expect_str(ra, "g2");
	expect_str(ra, "g3");
	expect_none(ra);

	/* err[] is fresh for each message: a reused entry loses its error. */
	sendq_reset(&q);
	add_str(&q, tx, &a, sizeof(a), NULL, "ok", 0);
	assert_int_equal(sendq_flush(&q, SENDQ_MAX), 1);
	assert_int_equal(q.err[0], 0);
	expect_str(ra, "ok");

	close(tx);
	close(ra);
}

/*
 * A full socket buffer stops the flush: the message refused with EAGAIN
 * and every one after it get -EAGAIN, none of them is sent, and the ones
 * before went out in order.  A non-blocking AF_UNIX datagram pair whose
 * reader does not read fills up after a few (UDP on loopback never does).
 */
static void
test_full(void **state)
{
	static char buf[SENDQ_MAX][1000];
	struct sendq_tag tag;
	char got[2000];
	int sv[2], sndbuf = 4096;
	uint32_t i, sent;
	ssize_t n;

	assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0,
	    sv), 0);
	assert_int_equal(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf,
	    sizeof(sndbuf)), 0);

	sendq_init(&q);
	for (i = 0; i < SENDQ_MAX; i++) {
		memset(buf[i], 'a' + i % 26, sizeof(buf[i]));
		tag = tag_of(i, 0);
		assert_true(sendq_room(&q, sv[0], 1));
		sendq_add(&q, sv[0], NULL, 0, NULL, buf[i], sizeof(buf[i]),
		    &tag);
	}
	assert_false(sendq_room(&q, sv[0], 1));
	/* The first call sends some, the second is refused and stops. */
	assert_int_equal(sendq_flush(&q, SENDQ_MAX), 2);
	for (sent = 0; sent < SENDQ_MAX && q.err[sent] == 0; sent++)
		;
	assert_true(sent > 0);
	assert_true(sent < SENDQ_MAX);
	for (i = sent; i < SENDQ_MAX; i++)
		assert_int_equal(q.err[i], -EAGAIN);
	for (i = 0; i < sent; i++) {
		n = recv(sv[1], got, sizeof(got), MSG_DONTWAIT);
		assert_int_equal(n, sizeof(buf[i]));
		assert_memory_equal(got, buf[i], sizeof(buf[i]));
	}
	assert_int_equal(recv(sv[1], got, sizeof(got), MSG_DONTWAIT), -1);
	assert_int_equal(errno, EAGAIN);

	/* With one message per call it stops just the same. */
	sendq_reset(&q);
	for (i = 0; i < SENDQ_MAX; i++) {
		tag = tag_of(i, 0);
		sendq_add(&q, sv[0], NULL, 0, NULL, buf[i], sizeof(buf[i]),
		    &tag);
	}
	assert_int_equal(sendq_flush(&q, 1), sent + 1);
	for (i = 0; i < SENDQ_MAX; i++)
		assert_int_equal(q.err[i], i < sent ? 0 : -EAGAIN);

	close(sv[0]);
	close(sv[1]);
}

static void
test_room(void **state)
{
	struct sockaddr_in a;
	char msg[SENDQ_MAX][8];
	int tx, tx2, ra;
	uint32_t i;

	tx = udp4("0.0.0.0", &(struct sockaddr_in){ 0 });
	tx2 = udp4("0.0.0.0", &(struct sockaddr_in){ 0 });
	ra = udp4("127.0.0.1", &a);

	sendq_init(&q);
	/* Empty: any fd, up to SENDQ_MAX. */
	assert_true(sendq_room(&q, tx, 1));
	assert_true(sendq_room(&q, tx2, 1));
	assert_true(sendq_room(&q, tx, SENDQ_MAX));
	assert_false(sendq_room(&q, tx, SENDQ_MAX + 1));

	snprintf(msg[0], sizeof(msg[0]), "m%u", 0u);
	add_str(&q, tx, &a, sizeof(a), NULL, msg[0], 0);
	/* Now it is tx's. */
	assert_true(sendq_room(&q, tx, 1));
	assert_false(sendq_room(&q, tx2, 1));
	assert_true(sendq_room(&q, tx, SENDQ_MAX - 1));
	assert_false(sendq_room(&q, tx, SENDQ_MAX));

	for (i = 1; i < SENDQ_MAX; i++) {
		snprintf(msg[i], sizeof(msg[i]), "m%u", i);
		add_str(&q, tx, &a, sizeof(a), NULL, msg[i], i);
	}
	assert_int_equal(q.n, SENDQ_MAX);
	assert_false(sendq_room(&q, tx, 1));
	assert_false(sendq_room(&q, tx2, 1));

	/* A full queue goes in one call, in order. */
	assert_int_equal(sendq_flush(&q, SENDQ_MAX), 1);
	for (i = 0; i < SENDQ_MAX; i++) {
		assert_int_equal(q.err[i], 0);
		expect_str(ra, msg[i]);
	}
	expect_none(ra);

	/* Reset: empty, and any fd's again. */
	sendq_reset(&q);
	assert_int_equal(q.n, 0);
	assert_true(sendq_room(&q, tx2, SENDQ_MAX));
	add_str(&q, tx2, &a, sizeof(a), NULL, "from tx2", 0);
	assert_false(sendq_room(&q, tx, 1));
	assert_int_equal(sendq_flush(&q, SENDQ_MAX), 1);
	assert_int_equal(q.err[0], 0);
	expect_str(ra, "from tx2");
	expect_none(ra);

	close(tx);
	close(tx2);
	close(ra);
}

/* At most batch messages per sendmmsg(): the calls made say how many. */
static void
test_batch(void **state)
{
	static const struct {
		uint32_t batch, calls;
	} cases[] = {
		{ 1, 5 }, { 0, 5 }, { 2, 3 }, { 4, 2 }, { 5, 1 },
		{ SENDQ_MAX, 1 }, { UINT32_MAX, 1 },
	};
	static const char *const msg[5] = { "p0", "p1", "p2", "p3", "p4" };
	struct sockaddr_in a, b;
	int tx, ra, rb;
	size_t c;
	uint32_t i;

	tx = udp4("0.0.0.0", &(struct sockaddr_in){ 0 });
	ra = udp4("127.0.0.1", &a);
	rb = udp4("127.0.0.1", &b);

	sendq_init(&q);
	for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		sendq_reset(&q);
		for (i = 0; i < 5; i++)
			add_str(&q, tx, i == 3 ? &b : &a, sizeof(a), NULL,
			    msg[i], i);
		assert_int_equal(sendq_flush(&q, cases[c].batch),
		    cases[c].calls);
		for (i = 0; i < 5; i++)
			assert_int_equal(q.err[i], 0);
		expect_str(ra, "p0");
		expect_str(ra, "p1");
		expect_str(ra, "p2");
		expect_str(ra, "p4");
		expect_none(ra);
		expect_str(rb, "p3");
		expect_none(rb);
	}

	close(tx);
	close(ra);
	close(rb);
}

/*
 * A source address per message (IP_PKTINFO): from a socket bound to
 * 0.0.0.0, 127.0.0.2 as the source of one message, none for the next
 * (the kernel picks 127.0.0.1), 127.0.0.2 with a GSO segment, and
 * 127.0.0.1 given.  All of 127/8 is local on lo, so 127.0.0.2 needs no
 * setup; where it is refused only arrival is checked.
 */
static void
test_local4(void **state)
{
	struct sockaddr_in a, l1, l2;
	struct sendq_tag tag;
	char seg[250];
	int tx, ra;
	size_t i;

	tx = udp4("0.0.0.0", &(struct sockaddr_in){ 0 });
	ra = udp4("127.0.0.1", &a);
	memset(&l1, 0, sizeof(l1));
	l1.sin_family = AF_INET;
	l1.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	l2 = l1;
	l2.sin_addr.s_addr = htonl(INADDR_LOOPBACK + 1);
	l2.sin_port = htons(9);		/* ignored: only the address counts */
	for (i = 0; i < sizeof(seg); i++)
		seg[i] = (char)i;

	sendq_init(&q);
	add_str(&q, tx, &a, sizeof(a), &l2, "from .2", 0);
	add_str(&q, tx, &a, sizeof(a), NULL, "kernel's", 1);
	tag = tag_of(2, 100);
	sendq_add(&q, tx, (struct sockaddr *)&a, sizeof(a),
	    (struct sockaddr *)&l2, seg, sizeof(seg), &tag);
	add_str(&q, tx, &a, sizeof(a), &l1, "from .1", 3);
	sendq_flush(&q, SENDQ_MAX);

	assert_int_equal(q.err[1], 0);
	assert_int_equal(q.err[3], 0);
	if (q.err[0] != 0) {
		fprintf(stderr, "# source 127.0.0.2 refused (%s): only "
		    "arrival tested\n", strerror(-q.err[0]));
		expect_from4(ra, "kernel's", "127.0.0.1");
		expect_from4(ra, "from .1", "127.0.0.1");
		expect_none(ra);
		close(tx);
		close(ra);
		return;
	}
	expect_from4(ra, "from .2", "127.0.0.2");
	expect_from4(ra, "kernel's", "127.0.0.1");
	if (gso_works(AF_INET)) {
		struct sockaddr_storage from;
		struct sockaddr_in *sin = (struct sockaddr_in *)&from;
		char buf[2048];
		size_t off;

		assert_int_equal(q.err[2], 0);
		for (off = 0; off < sizeof(seg); off += 100) {
			assert_int_equal(recv_within(ra, buf, sizeof(buf),
			    &from, WAIT_MS), off + 100 <= sizeof(seg) ? 100 :
			    (ssize_t)(sizeof(seg) - off));
			assert_memory_equal(buf, seg + off,
			    off + 100 <= sizeof(seg) ? 100 : sizeof(seg) - off);
			assert_int_equal(sin->sin_addr.s_addr,
			    htonl(INADDR_LOOPBACK + 1));
		}
	}
	expect_from4(ra, "from .1", "127.0.0.1");
	expect_none(ra);

	close(tx);
	close(ra);
}

/*
 * The same over IPv6 (IPV6_PKTINFO) where ::1 can be had.  With only one
 * local address to pick, the source that shows is one that is not local:
 * the kernel refuses that message, or, where non-local sources are
 * allowed, it arrives from there; either way not from ::1.
 */
static void
test_local6(void **state)
{
	struct sockaddr_storage ss, from;
	struct sockaddr_in6 a, l, nl;
	struct sendq_tag tag;
	char seg[150], buf[2048];
	int tx, ra;

	tx = udp_bound(AF_INET6, "::", &ss);
	ra = udp_bound(AF_INET6, "::1", &ss);
	if (tx < 0 || ra < 0) {
		if (tx >= 0)
			close(tx);
		if (ra >= 0)
			close(ra);
		fprintf(stderr, "# no IPv6 loopback: not tested\n");
		skip();
	}
	memcpy(&a, &ss, sizeof(a));
	memset(&l, 0, sizeof(l));
	l.sin6_family = AF_INET6;
	l.sin6_addr = in6addr_loopback;
	nl = l;
	assert_int_equal(inet_pton(AF_INET6, "2001:db8::5", &nl.sin6_addr), 1);
	memset(seg, 'q', sizeof(seg));

	sendq_init(&q);
	add_str(&q, tx, &a, sizeof(a), &l, "six", 0);
	tag = tag_of(1, 100);
	sendq_add(&q, tx, (struct sockaddr *)&a, sizeof(a),
	    (struct sockaddr *)&l, seg, sizeof(seg), &tag);
	add_str(&q, tx, &a, sizeof(a), NULL, "six again", 2);
	add_str(&q, tx, &a, sizeof(a), &nl, "nonlocal", 3);
	add_str(&q, tx, &a, sizeof(a), &l, "six last", 4);
	sendq_flush(&q, SENDQ_MAX);

	assert_int_equal(q.err[0], 0);
	assert_int_equal(q.err[2], 0);
	assert_int_equal(q.err[4], 0);
	expect_str(ra, "six");
	if (gso_works(AF_INET6)) {
		assert_int_equal(q.err[1], 0);
		expect_dgram(ra, seg, 100);
		expect_dgram(ra, seg, 50);
	}
	expect_str(ra, "six again");
	if (q.err[3] == 0) {
		assert_int_equal(recv_within(ra, buf, sizeof(buf), &from,
		    WAIT_MS), 8);
		assert_memory_equal(buf, "nonlocal", 8);
		assert_memory_equal(&((struct sockaddr_in6 *)&from)->sin6_addr,
		    &nl.sin6_addr, sizeof(nl.sin6_addr));
	}
	expect_str(ra, "six last");
	expect_none(ra);

	close(tx);
	close(ra);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_two_receivers),
		cmocka_unit_test(test_gso),
		cmocka_unit_test(test_gso_iov),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_room),
		cmocka_unit_test(test_batch),
		cmocka_unit_test(test_local4),
		cmocka_unit_test(test_local6),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
