/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * The remap rule file read and checked, for the master (start, reload,
 * --check-config) and --map-test.  Non-logging: 0 / -errno, and a
 * message for a person.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mapfile.h"
#include "remap.h"

/* The bound is REMAP_RULES_MAX full lines, as tftp_shm.h says. */
_Static_assert(MAPFILE_MAX == REMAP_RULES_MAX * (REMAP_LINE_MAX + 1),
    "MAPFILE_MAX");

int
mapfile_read(const char *path, char **text, size_t *len)
{
	char *buf;
	size_t n = 0;
	ssize_t r;
	int fd, err;

	*text = NULL;
	*len = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0)
		return -errno;
	/* One byte more than allowed tells a full file from a big one. */
	if ((buf = malloc(MAPFILE_MAX + 1)) == NULL) {
		err = -ENOMEM;
		goto fail;
	}
	while (n <= MAPFILE_MAX) {
		r = read(fd, buf + n, MAPFILE_MAX + 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err = -errno;
			goto fail;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n > MAPFILE_MAX) {
		err = -EFBIG;
		goto fail;
	}
	close(fd);
	*text = buf;
	*len = n;
	return 0;
fail:
	free(buf);
	close(fd);
	return err;
}

int
mapfile_load(const char *path, const char *dir, char **text, size_t *len,
    char *err, size_t errlen)
{
	struct remap_err rerr;
	struct remap *rm = NULL;
	char full[PATH_MAX];
	int n, r;

	*text = NULL;
	*len = 0;
	if (path[0] == '\0')
		return 0;
	/* A daemon has left the directory a relative name was given in. */
	if (path[0] != '/' && dir != NULL) {
		n = snprintf(full, sizeof(full), "%s/%s", dir, path);
		if (n < 0 || (size_t)n >= sizeof(full)) {
			snprintf(err, errlen, "%s: %s", path,
			    strerror(ENAMETOOLONG));
			return -ENAMETOOLONG;
		}
		path = full;
	}
	if ((r = mapfile_read(path, text, len)) < 0) {
		if (r == -EFBIG)
			snprintf(err, errlen, "%s: larger than %d bytes (%d "
			    "lines of %d)", path, MAPFILE_MAX,
			    REMAP_RULES_MAX, REMAP_LINE_MAX);
		else
			snprintf(err, errlen, "%s: %s", path, strerror(-r));
		return r;
	}
	if ((r = remap_parse(*text, *len, &rm, &rerr)) < 0) {
		if (r == -EINVAL && rerr.line > 0)
			snprintf(err, errlen, "%s:%u: %s", path, rerr.line,
			    rerr.reason);
		else if (r == -EINVAL)
			snprintf(err, errlen, "%s: %s", path, rerr.reason);
		else
			snprintf(err, errlen, "%s: %s", path, strerror(-r));
		free(*text);
		*text = NULL;
		*len = 0;
		return r;
	}
	remap_free(rm);
	return 0;
}
