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
/* A rule file larger than this is refused (comments included). */
#define MAPTEST_FILE_MAX	(1024 * 1024)

/*
 * argv[0] is MAPTEST_FLAG: FILE NAME [CLIENT-IP] [--wrq] follow.  The exit
 * status: 0 when NAME is served under its new name, 1 when it is refused
 * or on any error (printed on stderr; a bad file as FILE:LINE: reason).
 */
int		 maptest_main(int argc, char *argv[]);

/*
 * The whole rule file into a buffer of at most MAPTEST_FILE_MAX bytes
 * (free() it).  0 or -errno (-EFBIG when larger).
 */
int		 maptest_read_file(const char *path, char **text, size_t *len);

#endif /* MAPTEST_H */
