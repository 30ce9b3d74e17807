/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * The control client: connect to the master's SOCK_SEQPACKET socket,
 * send one struct tftp_ctl_request, wait (bounded) for one struct
 * tftp_ctl_reply.  See ctl_client.h.
 */
#include <err.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl_client.h"
#include "tftp_ctl.h"

/* A reload reads one file; no answer in this long means a stuck master. */
#define CTL_TIMEOUT_MS	30000

static void	 print_safe(FILE *fp, const char *s, size_t max);

/* The master's text, bounded, control characters but newline escaped. */
static void
print_safe(FILE *fp, const char *s, size_t max)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 i;

	for (i = 0; i < max && p[i] != '\0'; i++) {
		if ((p[i] >= 0x20 && p[i] != 0x7f) || p[i] == '\n' ||
		    p[i] == '\t')
			putc(p[i], fp);
		else
			fprintf(fp, "\\%03o", p[i]);
	}
}

int
ctl_request(const char *rundir, const char *name, uint32_t cmd,
    const char *arg)
{
	struct tftp_ctl_request	 req;
	struct tftp_ctl_reply	 rep;
	struct sockaddr_un	 sun;
	struct pollfd		 pfd;
	size_t			 mlen;
	ssize_t			 n;
	int			 fd, r;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if ((size_t)snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/%s.ctl",
	    rundir, name) >= sizeof(sun.sun_path))
		errx(1, "%s/%s.ctl: path too long for a socket", rundir, name);

	memset(&req, 0, sizeof(req));
	req.magic = TFTP_CTL_MAGIC;
	req.version = TFTP_CTL_VERSION;
	req.cmd = cmd;
	if (arg != NULL)
		/* The caller checked that it fits. */
		memcpy(req.arg, arg, strlen(arg) + 1);

	if ((fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0)) < 0)
		err(1, "socket");
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		if (errno == EACCES || errno == EPERM)
			errx(1, "%s: %s (changing settings needs root, the "
			    "user that started the server or its "
			    "admin_group)", sun.sun_path, strerror(errno));
		if (errno == ECONNREFUSED)
			errx(1, "%s: %s (is the master running?)",
			    sun.sun_path, strerror(errno));
		err(1, "%s", sun.sun_path);
	}
	if ((n = send(fd, &req, sizeof(req), MSG_NOSIGNAL)) < 0)
		err(1, "%s: send", sun.sun_path);
	if ((size_t)n != sizeof(req))
		errx(1, "%s: short send", sun.sun_path);

	pfd.fd = fd;
	pfd.events = POLLIN;
	while ((r = poll(&pfd, 1, CTL_TIMEOUT_MS)) < 0 && errno == EINTR)
		;
	if (r < 0)
		err(1, "poll");
	if (r == 0)
		errx(1, "%s: no answer from the master within %d s",
		    sun.sun_path, CTL_TIMEOUT_MS / 1000);
	/* MSG_TRUNC: the real length, so an oversized reply shows. */
	memset(&rep, 0, sizeof(rep));
	if ((n = recv(fd, &rep, sizeof(rep), MSG_TRUNC)) < 0)
		err(1, "%s: recv", sun.sun_path);
	close(fd);
	if (n == 0)
		errx(1, "%s: the master closed the connection without an "
		    "answer", sun.sun_path);
	if ((size_t)n != sizeof(rep))
		errx(1, "%s: malformed reply (%zd bytes, expected %zu)",
		    sun.sun_path, n, sizeof(rep));
	if (rep.magic != TFTP_CTL_MAGIC || rep.version != TFTP_CTL_VERSION)
		errx(1, "%s: malformed reply (magic %08x, version %u)",
		    sun.sun_path, rep.magic, rep.version);
	mlen = strnlen(rep.msg, sizeof(rep.msg));
	if (rep.status == 0) {
		if (mlen == 0)
			printf("ok, generation %" PRIu64 "\n", rep.generation);
		else {
			print_safe(stdout, rep.msg, mlen);
			if (rep.msg[mlen - 1] != '\n')
				putchar('\n');
		}
		return 0;
	}
	fflush(stdout);
	fprintf(stderr, "tftpctl: ");
	if (mlen > 0)
		print_safe(stderr, rep.msg, mlen);
	else if (rep.status < 0 && rep.status > -4096)
		fputs(strerror(-rep.status), stderr);
	else
		fprintf(stderr, "error %d", rep.status);
	if (mlen == 0 || rep.msg[mlen - 1] != '\n')
		putc('\n', stderr);
	return 1;
}
