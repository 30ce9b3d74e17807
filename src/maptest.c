/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * --map-test FILE NAME [CLIENT-IP] [--wrq]: runs NAME through the rules
 * of FILE as a request from CLIENT-IP would be (an RRQ unless --wrq), then
 * through the path rules as the server does, and says what it becomes.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "log.h"
#include "mapfile.h"
#include "maptest.h"
#include "path.h"
#include "remap.h"

#define PROGNAME	"snowowl-tftpd"

static int	 usage(void);
static int	 parse_client(const char *s, struct sockaddr_storage *ss);
static void	 show(char *dst, size_t dstlen, const char *src);

/*
 * A name made safe for the terminal: printable ASCII as it is (a
 * backslash too: Windows names are what remap files are written for),
 * any other byte as \ooo.  dst has 4 bytes per byte of src and a NUL.
 */
static void
show(char *dst, size_t dstlen, const char *src)
{
	size_t n = 0;

	for (; *src != '\0' && n + 5 <= dstlen; src++) {
		unsigned char c = (unsigned char)*src;

		if (c >= 0x20 && c < 0x7f)
			dst[n++] = (char)c;
		else
			n += (size_t)snprintf(dst + n, dstlen - n, "\\%03o", c);
	}
	dst[n] = '\0';
}

static int
usage(void)
{
	log_early(LOG_ERR, PROGNAME, "usage: " PROGNAME " " MAPTEST_FLAG
	    " FILE NAME [CLIENT-IP] [--wrq]");
	return 1;
}

static int
parse_client(const char *s, struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)(void *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)(void *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, s, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		return 0;
	}
	return -EINVAL;
}

int
maptest_main(int argc, char *argv[])
{
	const char *pos[3], *file, *name, *why;
	char out[REMAP_NAME_MAX], rel[PATH_REL_MAX];
	char vname[4 * REMAP_NAME_MAX], vout[4 * REMAP_NAME_MAX];
	struct sockaddr_storage ss;
	const struct sockaddr *client = NULL;
	enum remap_op op = REMAP_RRQ;
	struct remap_err err;
	struct remap *rm = NULL;
	char *text = NULL;
	size_t len, npos = 0;
	unsigned line = 0;
	int i, rc, status = 1;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--wrq") == 0)
			op = REMAP_WRQ;
		else if (npos == 3)
			return usage();
		else
			pos[npos++] = argv[i];
	}
	if (npos < 2)
		return usage();
	file = pos[0];
	name = pos[1];
	if (npos == 3) {
		if (parse_client(pos[2], &ss) < 0) {
			log_early(LOG_ERR, PROGNAME, "%s: not an IPv4 or IPv6 "
			    "address", pos[2]);
			return 1;
		}
		client = (const struct sockaddr *)&ss;
	}
	if ((rc = mapfile_read(file, &text, &len)) < 0) {
		if (rc == -EFBIG)
			log_early(LOG_ERR, PROGNAME, "%s: larger than %d "
			    "bytes", file, MAPFILE_MAX);
		else
			log_early(LOG_ERR, PROGNAME, "%s: %s", file,
			    strerror(-rc));
		return 1;
	}
	if ((rc = remap_parse(text, len, &rm, &err)) < 0) {
		if (rc == -EINVAL)
			fprintf(stderr, "%s:%u: %s\n", file, err.line,
			    err.reason);
		else
			log_early(LOG_ERR, PROGNAME, "%s: %s", file,
			    strerror(-rc));
		goto out;
	}
	show(vname, sizeof(vname), name);
	rc = remap_apply(rm, name, op, client, out, sizeof(out), &line);
	switch (rc) {
	case 0:
		break;
	case -EACCES:
		printf("%s: refused by rule at %s:%u\n", vname, file, line);
		goto out;
	case -ELOOP:
		printf("%s: refused: more than %d remap steps\n", vname,
		    REMAP_STEPS_MAX);
		goto out;
	case -ENAMETOOLONG:
		printf("%s: refused: remapped name longer than %d bytes\n",
		    vname, REMAP_NAME_MAX - 1);
		goto out;
	default:
		printf("%s: refused: %s\n", vname, strerror(-rc));
		goto out;
	}
	show(vout, sizeof(vout), out);
	/* What the server does next with the new name. */
	if ((rc = path_normalize(out, rel, sizeof(rel))) < 0) {
		why = rc == -ENAMETOOLONG ? "too long" :
		    "outside the root or not a valid name";
		printf("%s -> %s: refused by the path rules (%s)\n", vname,
		    vout, why);
		goto out;
	}
	printf("%s -> %s\n", vname, vout);
	status = 0;
out:
	remap_free(rm);
	free(text);
	return status;
}
