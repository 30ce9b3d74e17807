/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * The control-socket ABI between tftpctl and the master.
 *
 * RUNTIME_DIR/INSTANCE.ctl is a SOCK_SEQPACKET unix socket.  A client
 * sends exactly one struct tftp_ctl_request and reads exactly one struct
 * tftp_ctl_reply; the master then closes the connection.  The master
 * checks the size, magic, version and command of every request and the
 * peer's credentials (SO_PEERCRED) before it acts; anything else is
 * answered with -EINVAL or -EPERM and changes nothing.  Reading settings
 * and statistics needs no request: tftpctl maps the shared memory.
 */
#ifndef TFTP_CTL_H
#define TFTP_CTL_H

#include <stdint.h>

#define TFTP_CTL_MAGIC		0x4c54434fU	/* "OCTL" */
#define TFTP_CTL_VERSION	1
#define TFTP_CTL_ARG_MAX	512
#define TFTP_CTL_MSG_MAX	1024

enum tftp_ctl_cmd {
	TFTP_CTL_RELOAD		= 1,	/* re-read the config file */
	TFTP_CTL_SET		= 2,	/* arg: "key=value" or "section.key=value" */
	TFTP_CTL_RESET_STATS	= 3,	/* stats baseline := now; arg "" */
};

struct tftp_ctl_request {
	uint32_t	magic;
	uint32_t	version;
	uint32_t	cmd;		/* enum tftp_ctl_cmd */
	uint32_t	pad;
	char		arg[TFTP_CTL_ARG_MAX];	/* NUL-terminated */
};

struct tftp_ctl_reply {
	uint32_t	magic;
	uint32_t	version;
	int32_t		status;		/* 0, or a negative errno */
	uint32_t	pad;
	uint64_t	generation;	/* published after the command */
	char		msg[TFTP_CTL_MSG_MAX];	/* NUL-terminated, for people */
};

#endif /* TFTP_CTL_H */
