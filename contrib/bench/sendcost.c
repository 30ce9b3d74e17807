/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * sendcost: what does it cost this machine's sender to put file data in
 * UDP datagrams on loopback, with no protocol at all?  One process pinned
 * to a CPU sends a file (in the page cache) as datagrams of SIZE bytes,
 * each a 4-byte header and SIZE - 4 bytes of the file, to a receiver
 * pinned to the other CPU, in one of four ways:
 *
 *	pread		pread into a buffer, send it (what snowowl-tftpd does)
 *	mmap		send straight from a mapping of the file (one copy fewer)
 *	zerocopy	pread, then send with MSG_ZEROCOPY
 *	sendfile	send the header with MSG_MORE, then sendfile the data
 *
 * and prints the sender's CPU seconds per GB sent: the floor under a
 * server's CPU figure for the same datagram size (S4: 65468).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "benchutil.h"

#ifndef SO_ZEROCOPY
#define SO_ZEROCOPY	60
#endif
#ifndef MSG_ZEROCOPY
#define MSG_ZEROCOPY	0x4000000
#endif

#define HDR	4
#define DGRAM_MAX	65507

enum how { H_PREAD, H_MMAP, H_ZEROCOPY, H_SENDFILE };

static const char *const how_names[] = {
	[H_PREAD] = "pread", [H_MMAP] = "mmap",
	[H_ZEROCOPY] = "zerocopy", [H_SENDFILE] = "sendfile",
};

static void __attribute__((noreturn))
die(const char *what)
{
	fprintf(stderr, "sendcost: %s: %s\n", what, strerror(errno));
	exit(2);
}

static void
pin(int cpu)
{
	if ((errno = -bench_pin(cpu)) != 0)
		die("sched_setaffinity");
}

/* Drain until the sender is done; what arrives is not the point. */
static void __attribute__((noreturn))
receiver(int fd)
{
	static char buf[DGRAM_MAX + 1];

	for (;;)
		if (recv(fd, buf, sizeof(buf), 0) < 0 && errno != EINTR)
			die("recv");
}

/* MSG_ZEROCOPY completions: read so the socket's error queue stays short. */
static void
reap_completions(int fd)
{
	char cbuf[256];
	struct msghdr m;

	for (;;) {
		memset(&m, 0, sizeof(m));
		m.msg_control = cbuf;
		m.msg_controllen = sizeof(cbuf);
		if (recvmsg(fd, &m, MSG_ERRQUEUE | MSG_DONTWAIT) < 0)
			return;
	}
}

/* One datagram of the block at off; 0, or -1 when the kernel refused it. */
static int
send_one(enum how how, int tx, int fd, const char *map, char *buf,
    size_t size, off_t off)
{
	size_t data = size - HDR;
	off_t o = off;

	switch (how) {
	case H_PREAD:
	case H_ZEROCOPY:
		if (pread(fd, buf + HDR, data, off) != (ssize_t)data)
			die("pread");
		return send(tx, buf, size, how == H_ZEROCOPY ? MSG_ZEROCOPY :
		    0) < 0 ? -1 : 0;
	case H_MMAP:
		/* The header's place is the file's too: the cost is the same. */
		return send(tx, map + off, size, 0) < 0 ? -1 : 0;
	case H_SENDFILE:
		if (send(tx, buf, HDR, MSG_MORE) < 0)
			return -1;
		return sendfile(tx, fd, &o, data) == (ssize_t)data ? 0 : -1;
	}
	return -1;
}

int
main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "size", required_argument, NULL, 's' },
		{ "passes", required_argument, NULL, 'p' },
		{ "rx-cpu", required_argument, NULL, 'r' },
		{ "tx-cpu", required_argument, NULL, 'x' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static char buf[DGRAM_MAX];
	struct sockaddr_in a;
	socklen_t alen = sizeof(a);
	size_t size = 65468;
	long passes = 10, rxcpu = 1, txcpu = 0;
	uint64_t sent;
	struct stat st;
	const char *path;
	char *map;
	double c0, t0, c1, t1;
	int rx, tx, fd, c, one = 1, big = 8 << 20, status;
	unsigned h;
	off_t off;
	pid_t pid;

	while ((c = getopt_long(argc, argv, "s:p:h", lo, NULL)) != -1) {
		switch (c) {
		case 's':
			size = (size_t)bench_num("sendcost", optarg, HDR + 1,
			    DGRAM_MAX, "size");
			break;
		case 'p':
			passes = bench_num("sendcost", optarg, 1, 1000,
			    "passes");
			break;
		case 'r':
			rxcpu = bench_num("sendcost", optarg, 0,
			    CPU_SETSIZE - 1, "rx-cpu");
			break;
		case 'x':
			txcpu = bench_num("sendcost", optarg, 0,
			    CPU_SETSIZE - 1, "tx-cpu");
			break;
		default:
			fprintf(c == 'h' ? stdout : stderr, "usage: sendcost "
			    "[-s SIZE] [-p PASSES] [--rx-cpu N] [--tx-cpu N] "
			    "FILE\n");
			return c == 'h' ? 0 : 2;
		}
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "sendcost: one FILE\n");
		return 2;
	}
	path = argv[optind];
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &st) < 0)
		die(path);
	if ((size_t)st.st_size < size)
		die("the file is smaller than one datagram");
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		die("mmap");

	rx = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (rx < 0)
		die("socket");
	(void)setsockopt(rx, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big));
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(rx, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    getsockname(rx, (struct sockaddr *)&a, &alen) < 0)
		die("bind");
	if ((pid = fork()) < 0)
		die("fork");
	if (pid == 0) {
		pin((int)rxcpu);
		receiver(rx);
	}
	close(rx);
	pin((int)txcpu);

	for (h = 0; h < sizeof(how_names) / sizeof(how_names[0]); h++) {
		tx = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (tx < 0 || connect(tx, (struct sockaddr *)&a, sizeof(a)) < 0)
			die("connect");
		if (h == H_ZEROCOPY && setsockopt(tx, SOL_SOCKET, SO_ZEROCOPY,
		    &one, sizeof(one)) < 0)
			die("SO_ZEROCOPY");
		/* A pass to warm the page cache and the socket, not counted. */
		for (off = 0; off + (off_t)size <= st.st_size; off += (off_t)size)
			(void)send_one((enum how)h, tx, fd, map, buf, size, off);
		sent = 0;
		c0 = bench_cpu_self();
		t0 = (double)bench_mono_ns() / 1e9;
		for (long p = 0; p < passes; p++) {
			for (off = 0; off + (off_t)size <= st.st_size;
			    off += (off_t)size) {
				if (send_one((enum how)h, tx, fd, map, buf, size,
				    off) == 0)
					sent += size;
				if (h == H_ZEROCOPY && (off / (off_t)size) % 16 == 0)
					reap_completions(tx);
			}
		}
		c1 = bench_cpu_self();
		t1 = (double)bench_mono_ns() / 1e9;
		printf("sendcost how=%s size=%zu bytes=%llu seconds=%.3f "
		    "mbps=%.0f cpu_s_per_gb=%.3f\n", how_names[h], size,
		    (unsigned long long)sent, t1 - t0,
		    (double)sent / (t1 - t0) / 1e6,
		    sent ? (c1 - c0) / ((double)sent / 1e9) : 0);
		close(tx);
	}
	kill(pid, SIGKILL);
	(void)waitpid(pid, &status, 0);
	return 0;
}
