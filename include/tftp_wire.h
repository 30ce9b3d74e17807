/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * TFTP wire format: opcodes, error codes and the numeric limits of
 * RFC 1350, 2347, 2348, 2349 and 7440.  Shared by the daemon, its tests
 * and the benchmark client, so it holds constants only.
 */
#ifndef TFTP_WIRE_H
#define TFTP_WIRE_H

enum tftp_opcode {
	TFTP_RRQ	= 1,
	TFTP_WRQ	= 2,
	TFTP_DATA	= 3,
	TFTP_ACK	= 4,
	TFTP_ERROR	= 5,
	TFTP_OACK	= 6,
};

enum tftp_errcode {
	TFTP_EUNDEF	= 0,	/* not defined, see message */
	TFTP_ENOTFOUND	= 1,	/* file not found */
	TFTP_EACCESS	= 2,	/* access violation */
	TFTP_ENOSPACE	= 3,	/* disk full or allocation exceeded */
	TFTP_EBADOP	= 4,	/* illegal TFTP operation */
	TFTP_EBADID	= 5,	/* unknown transfer ID */
	TFTP_EEXISTS	= 6,	/* file already exists */
	TFTP_ENOUSER	= 7,	/* no such user */
	TFTP_EOPTNEG	= 8,	/* option negotiation refused (RFC 2347) */
	TFTP_ECODE_MAX	= 8,
};

#define TFTP_HDR_LEN		4
#define TFTP_BLKSIZE_DEFAULT	512
#define TFTP_BLKSIZE_MIN	8	/* RFC 2348 */
#define TFTP_BLKSIZE_MAX	65464	/* RFC 2348 */
#define TFTP_TIMEOUT_MIN	1	/* RFC 2349, seconds */
#define TFTP_TIMEOUT_MAX	255
#define TFTP_WINDOW_MIN		1	/* RFC 7440 */
#define TFTP_WINDOW_MAX		65535
#define TFTP_PKT_MAX		(TFTP_HDR_LEN + TFTP_BLKSIZE_MAX)

#endif /* TFTP_WIRE_H */
