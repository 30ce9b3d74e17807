/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * udpprobe: how fast can this machine move UDP datagrams over loopback
 * from one process to another at all?  A sender pinned to one CPU blasts
 * fixed-size datagrams with sendmmsg for a few seconds at a receiver pinned
 * to another CPU that drains them with recvmmsg; the received bytes per
 * second are the ceiling any TFTP server on this machine can reach with
 * that datagram size and one socket.  The sender's CPU time per GB
 * received (tx_cpu_s_per_gb) is the floor of a server's cost for sending
 * from memory it already holds, with no file read and no protocol.
 * Prints one key=value line in the format of tftpbench (server=limit).
 *
 * --gro measures the same with the kernel's batching on both sides: the
 * sender hands the kernel super-packets of --segs datagrams of SIZE each
 * (UDP GSO, UDP_SEGMENT, as snowowl-tftpd sends a window) and the
 * receiver takes them with UDP_GRO on, so one read brings many
 * datagrams (counted from the segment size in the UDP_GRO cmsg).  That
 * is the ceiling for a server that sends GSO windows to a client that
 * reads with GRO; plain send/recv of single datagrams is not (a server
 * sending GSO windows already passes it).  Printed as scenario=groSIZE.
 *
 * --rtt instead bounces one datagram of SIZE between the two CPUs, one
 * at a time, and prints the median and 99th percentile round trip: the
 * floor of every stop-and-wait exchange (a TFTP window and its ACK) on
 * this machine, whatever the server does.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include "benchutil.h"

#define BATCH_MAX	256
#define SIZE_MAX_DGRAM	65507
#define END_MARK	1	/* a 1-byte datagram ends the run */
#define GSO_MAX_BYTES	65000	/* payload of one GSO send, as the server's */
#define GSO_MAX_SEGS	64	/* the kernel's UDP_MAX_SEGMENTS (older ones) */
#define GRO_BATCH	32	/* coalesced reads per recvmmsg */
#define GRO_BUFSZ	65536	/* one coalesced read: any UDP payload */

#ifndef UDP_SEGMENT
#define UDP_SEGMENT	103	/* linux/udp.h */
#endif
#ifndef UDP_GRO
#define UDP_GRO		104
#endif
#ifndef SOL_UDP
#define SOL_UDP		17
#endif

struct rxresult {
	uint64_t	bytes;
	uint64_t	pkts;
	uint64_t	first_ns;
	uint64_t	last_ns;
};

static void __attribute__((noreturn))
die(const char *what)
{
	fprintf(stderr, "udpprobe: %s: %s\n", what, strerror(errno));
	exit(2);
}

static void
pin(int cpu)
{
	if ((errno = -bench_pin(cpu)) != 0)
		die("sched_setaffinity");
}

static long
num(const char *s, long min, long max, const char *what)
{
	return bench_num("udpprobe", s, min, max, what);
}

/* --rtt: send every datagram back until the 1-byte end mark. */
static void __attribute__((noreturn))
echoer(int fd)
{
	static uint8_t buf[SIZE_MAX_DGRAM + 1];
	struct sockaddr_in from;
	socklen_t flen;
	ssize_t n;

	for (;;) {
		flen = sizeof(from);
		n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from,
		    &flen);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("recvfrom");
		if (n == END_MARK)
			_exit(0);
		(void)sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&from,
		    flen);
	}
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* --rtt, the sending side: round trips for secs seconds (at most 1e6). */
static int
rtt_probe(int tx, pid_t pid, size_t size, long secs)
{
	static uint64_t rtt[1000000];
	uint8_t *buf = calloc(1, size + 1), mark = 0;
	struct timeval tv = { 1, 0 };
	uint64_t t0, end;
	size_t n = 0;
	int status;

	if (buf == NULL)
		die("calloc");
	if (setsockopt(tx, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0)
		die("SO_RCVTIMEO");
	usleep(100000);
	end = bench_mono_ns() + (uint64_t)secs * 1000000000u;
	while (n < sizeof(rtt) / sizeof(rtt[0]) && bench_mono_ns() < end) {
		t0 = bench_mono_ns();
		if (send(tx, buf, size, 0) < 0)
			die("send");
		if (recv(tx, buf, size + 1, 0) < 0)
			die("recv (the echo)");
		rtt[n++] = bench_mono_ns() - t0;
	}
	(void)send(tx, &mark, END_MARK, 0);
	(void)waitpid(pid, &status, 0);
	qsort(rtt, n, sizeof(rtt[0]), cmp_u64);
	printf("server=limit scenario=rtt%zu round_trips=%zu rtt_p50_us=%.1f"
	    " rtt_p99_us=%.1f\n", size, n, (double)rtt[n / 2] / 1e3,
	    (double)rtt[n * 99 / 100] / 1e3);
	free(buf);
	return 0;
}

/*
 * --gro: read coalesced datagrams; each read is msg_len bytes in segments
 * of the size the UDP_GRO cmsg gives (all of it when there is none: a
 * datagram that came alone).  The last segment may be short.
 */
static void __attribute__((noreturn))
receiver_gro(int fd, int out)
{
	static struct mmsghdr m[GRO_BATCH];
	static struct iovec iov[GRO_BATCH];
	static union {
		char		buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr	align;
	} ctl[GRO_BATCH];
	struct rxresult r = { 0, 0, 0, 0 };
	uint8_t *buf = malloc((size_t)GRO_BATCH * GRO_BUFSZ);
	bool end = false;
	int on = 1;

	if (!buf)
		die("malloc");
	if (setsockopt(fd, SOL_UDP, UDP_GRO, &on, sizeof(on)) < 0)
		die("setsockopt UDP_GRO");
	for (int i = 0; i < GRO_BATCH; i++) {
		iov[i].iov_base = buf + (size_t)i * GRO_BUFSZ;
		iov[i].iov_len = GRO_BUFSZ;
		m[i].msg_hdr.msg_iov = &iov[i];
		m[i].msg_hdr.msg_iovlen = 1;
	}
	while (!end) {
		uint64_t now;
		int n;

		for (int i = 0; i < GRO_BATCH; i++) {
			m[i].msg_hdr.msg_control = ctl[i].buf;
			m[i].msg_hdr.msg_controllen = sizeof(ctl[i].buf);
		}
		n = recvmmsg(fd, m, GRO_BATCH, MSG_WAITFORONE, NULL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("recvmmsg");
		}
		now = bench_mono_ns();
		for (int i = 0; i < n; i++) {
			struct msghdr *h = &m[i].msg_hdr;
			size_t len = m[i].msg_len, seg = len;

			if (len == END_MARK) {
				end = true;
				continue;
			}
			for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c;
			    c = CMSG_NXTHDR(h, c)) {
				int v;

				if (c->cmsg_level != SOL_UDP ||
				    c->cmsg_type != UDP_GRO)
					continue;
				memcpy(&v, CMSG_DATA(c), sizeof(v));
				if (v > 0)
					seg = (size_t)v;
			}
			if (!r.first_ns)
				r.first_ns = now;
			r.last_ns = now;
			r.bytes += len;
			r.pkts += seg ? (len + seg - 1) / seg : 1;
		}
	}
	if (write(out, &r, sizeof(r)) != (ssize_t)sizeof(r))
		die("write");
	_exit(0);
}

static void __attribute__((noreturn))
receiver(int fd, int out, size_t size)
{
	static struct mmsghdr m[BATCH_MAX];
	static struct iovec iov[BATCH_MAX];
	struct rxresult r = { 0, 0, 0, 0 };
	uint8_t *buf = malloc((size_t)BATCH_MAX * (size + 1));
	bool end = false;

	if (!buf)
		die("malloc");
	for (int i = 0; i < BATCH_MAX; i++) {
		iov[i].iov_base = buf + (size_t)i * (size + 1);
		iov[i].iov_len = size + 1;
		m[i].msg_hdr.msg_iov = &iov[i];
		m[i].msg_hdr.msg_iovlen = 1;
	}
	while (!end) {
		int n = recvmmsg(fd, m, BATCH_MAX, MSG_WAITFORONE, NULL);
		uint64_t now;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("recvmmsg");
		}
		now = bench_mono_ns();
		for (int i = 0; i < n; i++) {
			if (m[i].msg_len == END_MARK) {
				end = true;
				continue;
			}
			if (!r.first_ns)
				r.first_ns = now;
			r.last_ns = now;
			r.bytes += m[i].msg_len;
			r.pkts++;
		}
	}
	if (write(out, &r, sizeof(r)) != (ssize_t)sizeof(r))
		die("write");
	_exit(0);
}

int
main(int argc, char **argv)
{
	static struct mmsghdr m[BATCH_MAX];
	static struct iovec iov;
	static const struct option lo[] = {
		{ "size", required_argument, NULL, 's' },
		{ "time", required_argument, NULL, 't' },
		{ "batch", required_argument, NULL, 'b' },
		{ "rx-cpu", required_argument, NULL, 'r' },
		{ "tx-cpu", required_argument, NULL, 'x' },
		{ "rcvbuf", required_argument, NULL, 'k' },
		{ "rtt", no_argument, NULL, 'R' },
		{ "gro", no_argument, NULL, 'G' },
		{ "segs", required_argument, NULL, 'g' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	size_t size = 1472;
	long secs = 2, batch = 64, rxcpu = 0, txcpu = 1, rcvkb = 4096;
	long segs = 0;		/* --gro: datagrams per GSO send; 0: most */
	struct sockaddr_in a;
	socklen_t alen = sizeof(a);
	struct rxresult r;
	uint64_t t0, t1, sent = 0;
	uint8_t *payload, mark = 0;
	int rx, tx, p[2], c, status;
	bool rtt = false, gro = false;
	size_t unit;		/* bytes of one sendmmsg entry */
	pid_t pid;
	double dur, cpu0, cpu1;

	while ((c = getopt_long(argc, argv, "s:t:b:h", lo, NULL)) != -1) {
		switch (c) {
		case 's':
			size = (size_t)num(optarg, 2, SIZE_MAX_DGRAM, "size");
			break;
		case 't':
			secs = num(optarg, 1, 600, "time");
			break;
		case 'b':
			batch = num(optarg, 1, BATCH_MAX, "batch");
			break;
		case 'r':
			rxcpu = num(optarg, -1, CPU_SETSIZE - 1, "rx-cpu");
			break;
		case 'x':
			txcpu = num(optarg, -1, CPU_SETSIZE - 1, "tx-cpu");
			break;
		case 'k':
			rcvkb = num(optarg, 64, 1 << 20, "rcvbuf");
			break;
		case 'R':
			rtt = true;
			break;
		case 'G':
			gro = true;
			break;
		case 'g':
			segs = num(optarg, 1, GSO_MAX_SEGS, "segs");
			break;
		default:
			fprintf(c == 'h' ? stdout : stderr,
			    "usage: udpprobe [-s SIZE] [-t SECONDS] [-b BATCH]"
			    " [--rx-cpu N] [--tx-cpu N] [--rcvbuf KB]\n"
			    "                [--rtt | --gro [--segs N]]\n"
			    "  -1 as a CPU leaves that side unpinned\n"
			    "  --gro: send UDP GSO super-packets of N datagrams"
			    " of SIZE (default: as many\n"
			    "  as fit in 65000 bytes, as snowowl-tftpd sends a"
			    " window), receive with UDP_GRO\n");
			return c == 'h' ? 0 : 2;
		}
	}

	if (gro && rtt) {
		fprintf(stderr, "udpprobe: --gro and --rtt do not mix\n");
		return 2;
	}
	if (gro) {
		long fit = (long)(GSO_MAX_BYTES / size);

		if (fit > GSO_MAX_SEGS)
			fit = GSO_MAX_SEGS;
		if (!segs)
			segs = fit;
		if (segs < 1 || segs > fit) {
			fprintf(stderr, "udpprobe: --segs: %ld datagrams of "
			    "%zu bytes do not fit one GSO send (at most %ld)\n",
			    segs, size, fit);
			return 2;
		}
	} else
		segs = 1;
	unit = (size_t)segs * size;

	rx = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	tx = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (rx < 0 || tx < 0)
		die("socket");
	{
		int v = (int)(rcvkb * 1024);

		if (setsockopt(rx, SOL_SOCKET, SO_RCVBUFFORCE, &v,
		    sizeof(v)) < 0)
			(void)setsockopt(rx, SOL_SOCKET, SO_RCVBUF, &v,
			    sizeof(v));
	}
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(rx, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    getsockname(rx, (struct sockaddr *)&a, &alen) < 0)
		die("bind");
	if (connect(tx, (struct sockaddr *)&a, sizeof(a)) < 0)
		die("connect");
	if (pipe2(p, O_CLOEXEC) < 0)
		die("pipe");

	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		close(p[0]);
		close(tx);
		pin((int)rxcpu);
		if (rtt)
			echoer(rx);
		if (gro)
			receiver_gro(rx, p[1]);
		receiver(rx, p[1], size);
	}
	close(p[1]);
	close(rx);
	pin((int)txcpu);
	if (rtt)
		return rtt_probe(tx, pid, size, secs);

	if (gro) {
		int v = (int)size;

		if (setsockopt(tx, SOL_UDP, UDP_SEGMENT, &v, sizeof(v)) < 0)
			die("setsockopt UDP_SEGMENT");
	}
	payload = calloc(1, unit);
	if (!payload)
		die("calloc");
	iov.iov_base = payload;
	iov.iov_len = unit;
	for (int i = 0; i < batch; i++) {
		m[i].msg_hdr.msg_iov = &iov;
		m[i].msg_hdr.msg_iovlen = 1;
	}
	usleep(100000);		/* let the receiver block in recvmmsg */
	cpu0 = bench_cpu_self();
	t0 = bench_mono_ns();
	t1 = t0 + (uint64_t)secs * 1000000000u;
	while (bench_mono_ns() < t1) {
		int n = sendmmsg(tx, m, (unsigned)batch, 0);

		if (n < 0) {
			if (errno == ENOBUFS || errno == EAGAIN ||
			    errno == EINTR || errno == ECONNREFUSED)
				continue;
			die("sendmmsg");
		}
		sent += (uint64_t)n;
	}
	t1 = bench_mono_ns();
	cpu1 = bench_cpu_self();
	/* The end mark may meet a full buffer: repeat until it is seen. */
	for (int i = 0; i < 100; i++) {
		usleep(20000);
		if (send(tx, &mark, END_MARK, 0) < 0 && errno != ENOBUFS &&
		    errno != ECONNREFUSED)
			die("send");
		if (waitpid(pid, &status, WNOHANG) == pid)
			break;
		if (i == 99) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			fprintf(stderr, "udpprobe: the receiver never saw "
			    "the end\n");
			return 1;
		}
	}
	if (read(p[0], &r, sizeof(r)) != (ssize_t)sizeof(r)) {
		fprintf(stderr, "udpprobe: no result from the receiver\n");
		return 1;
	}
	dur = r.last_ns > r.first_ns ? (double)(r.last_ns - r.first_ns) / 1e9 :
	    0;
	/* sent and r.pkts count datagrams of SIZE, GSO segments included. */
	sent *= (uint64_t)segs;
	printf("server=limit scenario=%s%zu sessions_ok=1 sessions_failed=0"
	    " bytes=%" PRIu64 " seconds=%.3f mbps=%.2f pps=%.0f"
	    " sent_mbps=%.2f loss_pct=%.2f tx_cpu_s_per_gb=%.4f",
	    gro ? "gro" : "udp", size, r.bytes, dur,
	    dur > 0 ? (double)r.bytes / dur / 1e6 : 0,
	    dur > 0 ? (double)r.pkts / dur : 0,
	    (double)sent * (double)size / ((double)(t1 - t0) / 1e9) / 1e6,
	    sent && sent >= r.pkts ?
	    100.0 * (double)(sent - r.pkts) / (double)sent : 0,
	    r.bytes ? (cpu1 - cpu0) / ((double)r.bytes / 1e9) : 0);
	if (gro)
		printf(" gso_segs=%ld", segs);
	putchar('\n');
	return 0;
}
