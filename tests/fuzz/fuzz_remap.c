/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * libFuzzer harness for the remap engine.  The input is a rules text, a
 * NUL, a filename, a NUL and one selector byte (bit 0: WRQ; bits 1-2: no
 * client, IPv4, IPv6, IPv4-mapped IPv6).  The rules are compiled; when
 * they compile, the name is remapped into buffers of two sizes and the
 * result must be a string that fits, the same both times when both
 * succeed, and the engine's own error codes only.  The result is then run
 * through the path rules, as the daemon does.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include "path.h"
#include "remap.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do {						\
	if (!(cond))							\
		abort();						\
} while (0)

static const struct sockaddr *
pick_client(unsigned sel, struct sockaddr_in *sin, struct sockaddr_in6 *sin6)
{
	static const uint8_t v4[4] = { 192, 168, 0, 1 };
	static const uint8_t v6[16] = {
		0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1
	};
	static const uint8_t mapped[16] = {
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 2
	};

	memset(sin, 0, sizeof(*sin));
	memset(sin6, 0, sizeof(*sin6));
	sin->sin_family = AF_INET;
	memcpy(&sin->sin_addr, v4, sizeof(v4));
	sin6->sin6_family = AF_INET6;
	switch (sel & 3) {
	case 0:
		return NULL;
	case 1:
		return (const struct sockaddr *)sin;
	case 2:
		memcpy(&sin6->sin6_addr, v6, sizeof(v6));
		return (const struct sockaddr *)sin6;
	default:
		memcpy(&sin6->sin6_addr, mapped, sizeof(mapped));
		return (const struct sockaddr *)sin6;
	}
}

static void
check_result(int rc, const char *out, size_t outlen)
{
	CHECK(rc == 0 || rc == -EACCES || rc == -ENAMETOOLONG ||
	    rc == -ELOOP || rc == -ENOMEM);
	if (rc == 0)
		CHECK(memchr(out, '\0', outlen) != NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char big[REMAP_NAME_MAX], small[16], rel[PATH_REL_MAX];
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	const struct sockaddr *client;
	const uint8_t *nul, *name, *end = data + size;
	struct remap_err err;
	struct remap *rm;
	enum remap_op op;
	char *namebuf;
	size_t namelen;
	unsigned sel = 0, line = 0;
	int rc, rc2;

	nul = memchr(data, '\0', size);
	if (nul == NULL)
		return 0;
	name = nul + 1;
	nul = memchr(name, '\0', (size_t)(end - name));
	if (nul == NULL)
		return 0;
	namelen = (size_t)(nul - name);
	if (nul + 1 < end)
		sel = nul[1];
	op = (sel & 1) ? REMAP_WRQ : REMAP_RRQ;
	client = pick_client(sel >> 1, &sin, &sin6);

	rc = remap_parse((const char *)data, (size_t)(name - 1 - data), &rm,
	    &err);
	if (rc < 0) {
		CHECK(rc == -EINVAL || rc == -ENOMEM);
		CHECK(rm == NULL);
		CHECK(memchr(err.reason, '\0', sizeof(err.reason)) != NULL);
		CHECK(rc == -ENOMEM || err.line >= 1);
		return 0;
	}
	CHECK(remap_count(rm) <= REMAP_RULES_MAX);
	if ((namebuf = malloc(namelen + 1)) == NULL)
		abort();
	memcpy(namebuf, name, namelen + 1);

	rc = remap_apply(rm, namebuf, op, client, big, sizeof(big), &line);
	check_result(rc, big, sizeof(big));
	if (rc == -EACCES)
		CHECK(line >= 1);
	rc2 = remap_apply(rm, namebuf, op, client, small, sizeof(small), NULL);
	check_result(rc2, small, sizeof(small));
	if (rc == 0 && rc2 == 0)
		CHECK(strcmp(big, small) == 0);
	if (rc == 0 && strlen(big) < sizeof(small))
		CHECK(rc2 == 0);
	if (rc != 0 && rc != -ENAMETOOLONG)
		CHECK(rc2 == rc);
	if (rc == 0 && path_normalize(big, rel, sizeof(rel)) == 0)
		CHECK(strstr(rel, "..") == NULL || strlen(rel) >= 2);
	free(namebuf);
	remap_free(rm);
	return 0;
}
