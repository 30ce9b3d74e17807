/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * sd_notify(3) for the master: readiness, reloading and stopping told to
 * systemd over $NOTIFY_SOCKET, without libsystemd.  Nothing happens when
 * the variable is not set.
 */
#ifndef NOTIFY_H
#define NOTIFY_H

/*
 * Connect to $NOTIFY_SOCKET and take the variable out of the environment
 * (workers must not notify: systemd only listens to the main pid).
 * Returns the connected descriptor (CLOEXEC), or -1 when there is none.
 */
int		 notify_open(void);

/* Send one state message ("READY=1"); nothing when fd < 0. */
void		 notify_send(int fd, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));

#endif /* NOTIFY_H */
