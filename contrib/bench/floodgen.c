/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * floodgen: read requests (RRQ) at a fixed rate from one source address,
 * as a spoofer would send them: each request from the next source port of
 * a range, from a socket closed right after the send (nothing is ever
 * read), paced with clock_nanosleep on absolute deadlines and bounded by a
 * count and a duration.  With --listen S it is the other half of a spoof
 * instead: one socket per request kept open for S seconds after the last
 * send, counting every datagram and byte that arrives on it and answering
 * none (what a victim whose address was spoofed receives).
 *
 * One key=value result line on stdout.  See README.md in this directory.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "benchutil.h"

#define MAX_OPTS 8
#define MAX_LISTEN 64

static const char *prog = "floodgen";

static void
usage(FILE *f)
{
	fprintf(f,
"usage: floodgen [options] HOST:PORT FILE\n"
"  -r, --rate N          requests per second (1..100000; 100)\n"
"  -c, --count N         at most N requests (1..10000000; 1)\n"
"  -d, --duration S      at most S seconds of sending (1..3600; 60)\n"
"      --from ADDR       source IPv4 address (127.0.0.2)\n"
"      --ports LO:HI     source ports, one per request in turn\n"
"                        (20000:29999; LO:LO for one port)\n"
"  -o, --option N=V      a TFTP option in every request (up to %d)\n"
"  -m, --mode M          transfer mode (octet)\n"
"      --listen S        keep each request's socket open S seconds after\n"
"                        the last send and count what arrives (at most %d\n"
"                        requests); never answer\n"
"  -s, --label L         server=L in the result line\n",
	    MAX_OPTS, MAX_LISTEN);
}

static void
die(const char *what)
{
	fprintf(stderr, "%s: %s: %s\n", prog, what, strerror(errno));
	exit(1);
}

static int
parse_hostport(const char *s, struct sockaddr_in *sa)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	size_t n;

	if (!colon || (n = (size_t)(colon - s)) == 0 || n >= sizeof(host))
		return -1;
	memcpy(host, s, n);
	host[n] = 0;
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	if (inet_pton(AF_INET, host, &sa->sin_addr) != 1)
		return -1;
	sa->sin_port = htons((uint16_t)bench_num(prog, colon + 1, 1, 65535,
	    "the port"));
	return 0;
}

static void
ts_add_ns(struct timespec *ts, uint64_t ns)
{
	ns += (uint64_t)ts->tv_nsec;
	ts->tv_sec += (time_t)(ns / 1000000000u);
	ts->tv_nsec = (long)(ns % 1000000000u);
}

int
main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "rate", required_argument, NULL, 'r' },
		{ "count", required_argument, NULL, 'c' },
		{ "duration", required_argument, NULL, 'd' },
		{ "from", required_argument, NULL, 1 },
		{ "ports", required_argument, NULL, 2 },
		{ "option", required_argument, NULL, 'o' },
		{ "mode", required_argument, NULL, 'm' },
		{ "listen", required_argument, NULL, 3 },
		{ "label", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	long rate = 100, count = 1, duration = 60, listen_s = 0;
	long plo = 20000, phi = 29999;
	const char *from = "127.0.0.2", *mode = "octet", *label = "-";
	const char *opts[MAX_OPTS];
	int nopts = 0, c, lfd[MAX_LISTEN], nl = 0;
	struct sockaddr_in dst, src;
	unsigned char req[512];
	size_t rlen = 0;
	uint64_t t0, t1, step, sent = 0, send_fail = 0, bind_fail = 0;
	uint64_t rx_pkts = 0, rx_bytes = 0, rx_data = 0, rx_oack = 0;
	uint64_t rx_err = 0, rx_other = 0, last_rx_ns = 0;
	uint16_t tids[MAX_LISTEN];
	int ntids = 0;
	struct timespec next;
	long port, i;

	while ((c = getopt_long(argc, argv, "r:c:d:o:m:s:h", lo, NULL)) != -1) {
		switch (c) {
		case 'r': rate = bench_num(prog, optarg, 1, 100000, "--rate"); break;
		case 'c': count = bench_num(prog, optarg, 1, 10000000, "--count"); break;
		case 'd': duration = bench_num(prog, optarg, 1, 3600, "--duration"); break;
		case 1: from = optarg; break;
		case 2: {
			char *colon = strchr(optarg, ':');

			if (!colon) {
				fprintf(stderr, "%s: --ports wants LO:HI\n", prog);
				return 2;
			}
			*colon = 0;
			plo = bench_num(prog, optarg, 1, 65535, "--ports LO");
			phi = bench_num(prog, colon + 1, plo, 65535, "--ports HI");
			break;
		}
		case 'o':
			if (nopts == MAX_OPTS || !strchr(optarg, '=')) {
				fprintf(stderr, "%s: -o NAME=VALUE, at most %d\n",
				    prog, MAX_OPTS);
				return 2;
			}
			opts[nopts++] = optarg;
			break;
		case 'm': mode = optarg; break;
		case 3: listen_s = bench_num(prog, optarg, 1, 600, "--listen"); break;
		case 's': label = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (argc - optind != 2) {
		usage(stderr);
		return 2;
	}
	if (parse_hostport(argv[optind], &dst) < 0) {
		fprintf(stderr, "%s: HOST:PORT wanted (IPv4), not %s\n", prog,
		    argv[optind]);
		return 2;
	}
	if (listen_s && count > MAX_LISTEN) {
		fprintf(stderr, "%s: --listen keeps at most %d sockets\n", prog,
		    MAX_LISTEN);
		return 2;
	}
	memset(&src, 0, sizeof(src));
	src.sin_family = AF_INET;
	if (inet_pton(AF_INET, from, &src.sin_addr) != 1) {
		fprintf(stderr, "%s: --from wants an IPv4 address\n", prog);
		return 2;
	}

	/* The request: opcode 1 (RRQ), FILE, mode, then NAME\0VALUE\0. */
	{
		const char *parts[2 + 2 * MAX_OPTS];
		int np = 0, k;

		parts[np++] = argv[optind + 1];
		parts[np++] = mode;
		req[rlen++] = 0;
		req[rlen++] = 1;
		for (k = 0; k < nopts; k++) {
			parts[np++] = opts[k];
		}
		for (k = 0; k < np; k++) {
			const char *p = parts[k];
			size_t n = strlen(p);
			char *eq = k >= 2 ? strchr(p, '=') : NULL;

			if (rlen + n + 2 > sizeof(req)) {
				fprintf(stderr, "%s: request too long\n", prog);
				return 2;
			}
			memcpy(req + rlen, p, n + 1);
			if (eq)
				req[rlen + (size_t)(eq - p)] = 0;
			rlen += n + 1;
		}
	}

	step = 1000000000u / (uint64_t)rate;
	port = plo;
	t0 = bench_mono_ns();
	clock_gettime(CLOCK_MONOTONIC, &next);
	for (i = 0; i < count; i++) {
		int fd, tries;

		if (bench_mono_ns() - t0 >= (uint64_t)duration * 1000000000u)
			break;
		fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			die("socket");
		/* A port in use (a server's transfer socket on the wildcard
		 * address, say) is skipped: the next one will do. */
		for (tries = 0; tries < 16; tries++) {
			src.sin_port = htons((uint16_t)port);
			port = port == phi ? plo : port + 1;
			if (bind(fd, (struct sockaddr *)&src, sizeof(src)) == 0)
				break;
			bind_fail++;
		}
		if (tries == 16) {
			close(fd);
			errno = EADDRINUSE;
			die("bind: 16 ports in a row");
		}
		if (sendto(fd, req, rlen, 0, (struct sockaddr *)&dst,
		    sizeof(dst)) == (ssize_t)rlen)
			sent++;
		else
			send_fail++;
		if (listen_s)
			lfd[nl++] = fd;
		else
			close(fd);	/* never read: a spoofed source */
		ts_add_ns(&next, step);
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next,
		    NULL) == EINTR)
			;
	}
	t1 = bench_mono_ns();

	if (listen_s) {
		uint64_t end = bench_mono_ns() + (uint64_t)listen_s * 1000000000u;
		struct pollfd pfd[MAX_LISTEN];
		unsigned char buf[65536];

		for (i = 0; i < nl; i++) {
			pfd[i].fd = lfd[i];
			pfd[i].events = POLLIN;
		}
		for (;;) {
			uint64_t now = bench_mono_ns();
			int n;

			if (now >= end)
				break;
			n = poll(pfd, (nfds_t)nl,
			    (int)((end - now) / 1000000u) + 1);
			if (n < 0 && errno != EINTR)
				die("poll");
			for (i = 0; n > 0 && i < nl; i++) {
				struct sockaddr_in from_sa;
				socklen_t fl;
				ssize_t r;
				int k;

				if (!(pfd[i].revents & (POLLIN | POLLERR)))
					continue;
				for (;;) {
					fl = sizeof(from_sa);
					r = recvfrom(lfd[i], buf, sizeof(buf),
					    MSG_DONTWAIT,
					    (struct sockaddr *)&from_sa, &fl);
					if (r < 0)
						break;
					rx_pkts++;
					rx_bytes += (uint64_t)r;
					last_rx_ns = bench_mono_ns();
					if (r >= 2 && buf[0] == 0 && buf[1] == 3)
						rx_data++;
					else if (r >= 2 && buf[0] == 0 &&
					    buf[1] == 6)
						rx_oack++;
					else if (r >= 2 && buf[0] == 0 &&
					    buf[1] == 5)
						rx_err++;
					else
						rx_other++;
					for (k = 0; k < ntids; k++)
						if (tids[k] == from_sa.sin_port)
							break;
					if (k == ntids && ntids < MAX_LISTEN)
						tids[ntids++] = from_sa.sin_port;
				}
			}
		}
		for (i = 0; i < nl; i++)
			close(lfd[i]);
	}

	printf("server=%s tool=floodgen sent=%llu send_fail=%llu bind_fail=%llu"
	    " req_bytes=%zu rate=%ld seconds=%.2f actual_rate=%.1f",
	    label, (unsigned long long)sent, (unsigned long long)send_fail,
	    (unsigned long long)bind_fail, rlen, rate,
	    (double)(t1 - t0) / 1e9,
	    t1 > t0 ? (double)sent * 1e9 / (double)(t1 - t0) : 0.0);
	if (listen_s)
		printf(" listen_s=%ld rx_packets=%llu rx_bytes=%llu rx_data=%llu"
		    " rx_oack=%llu rx_error=%llu rx_other=%llu server_tids=%d"
		    " last_rx_s=%.2f",
		    listen_s, (unsigned long long)rx_pkts,
		    (unsigned long long)rx_bytes, (unsigned long long)rx_data,
		    (unsigned long long)rx_oack, (unsigned long long)rx_err,
		    (unsigned long long)rx_other, ntids,
		    last_rx_ns > t0 ? (double)(last_rx_ns - t0) / 1e9 : 0.0);
	printf("\n");
	return send_fail ? 1 : 0;
}
