// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2024-2026 The snowowl-tftpd authors
/*
 * wandelay: the WAN link of run-bench.sh's S9 scenarios, for kernels
 * without sch_netem.  It forwards IPv4 packets between two tun devices,
 * one in the servers' network namespace (A) and one in the client's (B):
 * what the servers send (A to B) is held for --delay-ms, what the client
 * sends (B to A) passes at once, so the round trip is the delay.  The tun
 * devices have no offloads, so the kernel cuts every GSO train into
 * datagrams before we see it: a loss rule on B's input meets datagrams,
 * as on a wire.  Packets queued beyond --max-bytes are dropped (counted),
 * like a full netem queue.
 *
 *   wandelay --ns-a PATH --tun-a NAME --ns-b PATH --tun-b NAME
 *       --delay-ms N [--max-bytes N]
 *
 * Runs until SIGTERM or SIGINT, then prints one key=value line of counts
 * on stdout.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define PKT_MAX		65536
#define READ_BURST	256		/* packets per wake and direction */

struct pkt {
	struct pkt	*next;
	uint64_t	 due;		/* ns, CLOCK_MONOTONIC */
	size_t		 len;
	unsigned char	 data[];
};

static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void __attribute__((noreturn, format(printf, 1, 2)))
die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("wandelay: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Attach to tun device NAME of the namespace at NSPATH (made beforehand
 * with `ip tuntap add`); the descriptor stays bound to that namespace. */
static int
tun_open(const char *nspath, const char *name)
{
	struct ifreq ifr;
	int ns, fd;

	ns = open(nspath, O_RDONLY | O_CLOEXEC);
	if (ns < 0)
		die("%s: %s", nspath, strerror(errno));
	if (setns(ns, CLONE_NEWNET) < 0)
		die("setns %s: %s", nspath, strerror(errno));
	close(ns);
	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		die("/dev/net/tun: %s", strerror(errno));
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
	if (strlen(name) >= sizeof(ifr.ifr_name))
		die("%s: name too long", name);
	memcpy(ifr.ifr_name, name, strlen(name));
	if (ioctl(fd, TUNSETIFF, &ifr) < 0)
		die("TUNSETIFF %s: %s", name, strerror(errno));
	return fd;
}

static unsigned long
num(const char *s, unsigned long lo, unsigned long hi, const char *what)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		die("bad %s: %s", what, s);
	return v;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "ns-a", required_argument, NULL, 'a' },
		{ "tun-a", required_argument, NULL, 'A' },
		{ "ns-b", required_argument, NULL, 'b' },
		{ "tun-b", required_argument, NULL, 'B' },
		{ "delay-ms", required_argument, NULL, 'd' },
		{ "max-bytes", required_argument, NULL, 'm' },
		{ NULL, 0, NULL, 0 },
	};
	const char *nsa = NULL, *nsb = NULL, *tuna = NULL, *tunb = NULL;
	uint64_t delay = 20000000, maxq = 256u << 20, queued = 0;
	uint64_t fwd_ab = 0, fwd_ba = 0, drop_full = 0, bytes_ab = 0;
	struct pkt *head = NULL, **tail = &head, *spare = NULL;
	unsigned char buf[PKT_MAX];
	struct sigaction sa;
	int a, b, c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'a': nsa = optarg; break;
		case 'A': tuna = optarg; break;
		case 'b': nsb = optarg; break;
		case 'B': tunb = optarg; break;
		case 'd':
			delay = num(optarg, 0, 10000, "--delay-ms") * 1000000u;
			break;
		case 'm':
			maxq = num(optarg, 65536, 1ul << 32, "--max-bytes");
			break;
		default:
			return 2;
		}
	}
	if (!nsa || !nsb || !tuna || !tunb || optind != argc) {
		fprintf(stderr, "usage: wandelay --ns-a PATH --tun-a NAME "
		    "--ns-b PATH --tun-b NAME --delay-ms N [--max-bytes N]\n");
		return 2;
	}
	a = tun_open(nsa, tuna);
	b = tun_open(nsb, tunb);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	while (!stop) {
		struct pollfd pf[2] = {
			{ .fd = a, .events = POLLIN },
			{ .fd = b, .events = POLLIN },
		};
		struct timespec ts, *tp = NULL;
		uint64_t t = now_ns();

		if (head) {
			uint64_t w = head->due > t ? head->due - t : 0;

			ts.tv_sec = (time_t)(w / 1000000000u);
			ts.tv_nsec = (long)(w % 1000000000u);
			tp = &ts;
		}
		if (ppoll(pf, 2, tp, NULL) < 0 && errno != EINTR)
			die("ppoll: %s", strerror(errno));
		t = now_ns();
		/* Server side: queue with the time it may leave. */
		for (int i = 0; i < READ_BURST && (pf[0].revents & POLLIN);
		    i++) {
			struct pkt *p = spare;
			ssize_t n;

			if (!p && !(p = malloc(sizeof(*p) + PKT_MAX)))
				die("out of memory");
			spare = NULL;
			n = read(a, p->data, PKT_MAX);
			if (n <= 0) {
				spare = p;
				break;
			}
			if (queued + (uint64_t)n > maxq) {
				drop_full++;
				spare = p;
				continue;
			}
			p->len = (size_t)n;
			p->due = t + delay;
			p->next = NULL;
			*tail = p;
			tail = &p->next;
			queued += (uint64_t)n;
		}
		/* Client side: straight through. */
		for (int i = 0; i < READ_BURST && (pf[1].revents & POLLIN);
		    i++) {
			ssize_t n = read(b, buf, sizeof(buf));

			if (n <= 0)
				break;
			if (write(a, buf, (size_t)n) == n)
				fwd_ba++;
		}
		t = now_ns();
		while (head && head->due <= t) {
			struct pkt *p = head;

			head = p->next;
			if (!head)
				tail = &head;
			queued -= p->len;
			if (write(b, p->data, p->len) == (ssize_t)p->len) {
				fwd_ab++;
				bytes_ab += p->len;
			}
			if (!spare)
				spare = p;
			else
				free(p);
		}
	}
	printf("wandelay fwd_server_to_client=%" PRIu64 " bytes=%" PRIu64
	    " fwd_client_to_server=%" PRIu64 " drop_queue_full=%" PRIu64 "\n",
	    fwd_ab, bytes_ab, fwd_ba, drop_full);
	return 0;
}
