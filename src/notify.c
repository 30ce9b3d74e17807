/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * sd_notify(3) by hand: datagrams to $NOTIFY_SOCKET, which systemd reads
 * with the sender's credentials (so it must be the main pid: the variable
 * is taken out of the environment the workers get).  The socket is
 * connected at startup, as root, so the service user needs no right on
 * the socket file later.  A socket that cannot be had (a sandbox without
 * AF_UNIX) is one warning: the server serves without telling systemd.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "notify.h"

int
notify_open(void)
{
	struct sockaddr_un	 sa;
	const char		*ns;
	socklen_t		 salen;
	size_t			 len;
	int			 fd = -1;

	ns = getenv("NOTIFY_SOCKET");
	if (ns == NULL || (ns[0] != '/' && ns[0] != '@') ||
	    (len = strlen(ns)) >= sizeof(sa.sun_path))
		goto out;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, ns, len);
	if (ns[0] == '@')
		sa.sun_path[0] = '\0';	/* abstract: no NUL at the end */
	else
		len++;
	salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0) {
		log_warn("NOTIFY_SOCKET %s: socket", ns);
		goto out;
	}
	if (connect(fd, (struct sockaddr *)&sa, salen) < 0) {
		log_warn("NOTIFY_SOCKET %s", ns);
		close(fd);
		fd = -1;
	}
out:
	(void)unsetenv("NOTIFY_SOCKET");
	return fd;
}

void
notify_send(int fd, const char *fmt, ...)
{
	char	 buf[1024];
	va_list	 ap;
	int	 n;

	if (fd < 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return;
	if (send(fd, buf, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		log_debug("sd_notify: %s", strerror(errno));
}
