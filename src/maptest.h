/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * --map-test: the administrator's check of a remap rule file.  Reads the
 * file, prints what a name becomes, and exits; no configuration, no
 * sockets.
 */
#ifndef MAPTEST_H
#define MAPTEST_H

#define MAPTEST_FLAG	"--map-test"
/*
 * argv[0] is MAPTEST_FLAG: FILE NAME [CLIENT-IP] [--wrq] follow.  The exit
 * status: 0 when NAME is served under its new name, 1 when it is refused
 * or on any error (printed on stderr; a bad file as FILE:LINE: reason).
 */
int		 maptest_main(int argc, char *argv[]);

#endif /* MAPTEST_H */
