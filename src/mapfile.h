/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * The remap rule file (transfer.map_file, -m) as the master and --map-test
 * read it: whole, bounded, and validated with remap_parse(), a problem
 * worded as "FILE:LINE: reason".  The workers never open it: they compile
 * the text the master publishes in the shared memory (tftp_shm.h).
 */
#ifndef MAPFILE_H
#define MAPFILE_H

#include <stddef.h>

#include "tftp_shm.h"

/* A larger file is refused, comments included: what the segment holds. */
#define MAPFILE_MAX	TFTP_SHM_MAP_MAX

/*
 * The whole file into a buffer (free() it) of at most MAPFILE_MAX bytes.
 * 0 or -errno (-EFBIG when larger).
 */
int	 mapfile_read(const char *path, char **text, size_t *len);

/*
 * Read path (relative: to dir when dir is not NULL) and check its rules.
 * 0 with the text in *text and *len (free() it; NULL and 0 when path is "":
 * no rules), or -errno with "FILE:LINE: reason" or "FILE: reason" in err.
 */
int	 mapfile_load(const char *path, const char *dir, char **text,
	    size_t *len, char *err, size_t errlen);

#endif /* MAPFILE_H */
