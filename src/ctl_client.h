/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * tftpctl's client of the master's control socket (RUNDIR/NAME.ctl): one
 * request, "set KEY=VALUE", "reload" or "stats --reset", and its reply.
 * The reply is checked (size, magic, version) and its text printed with
 * control characters escaped.
 */
#ifndef CTL_CLIENT_H
#define CTL_CLIENT_H

#include <stdint.h>

/*
 * Send cmd (TFTP_CTL_SET, TFTP_CTL_RELOAD, TFTP_CTL_RESET_STATS) with
 * arg (NULL, or shorter than TFTP_CTL_ARG_MAX) to instance name and
 * print the answer: on
 * stdout, returning 0, when the master did it (the caller flushes
 * stdout); on stderr, returning 1, when it refused.  Failing to ask at
 * all ends the program, status 1.
 */
int	 ctl_request(const char *rundir, const char *name, uint32_t cmd,
	    const char *arg);

#endif /* CTL_CLIENT_H */
