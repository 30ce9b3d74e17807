/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * Request-path policy: turns a client's filename into a clean path relative
 * to the served root, or refuses it.  Refusing ".." outright (instead of
 * resolving it) keeps the rule simple to audit; the openat2(RESOLVE_BENEATH)
 * in files.c still guards against symlinks.  Also the upload allow-list
 * match and the dir/base split used to create uploads.
 */
#include <errno.h>
#include <fnmatch.h>
#include <stdbool.h>
#include <string.h>

#include "path.h"

int
path_normalize(const char *name, char *out, size_t outlen)
{
	const char *p, *comp;
	size_t n, len = 0;
	bool toolong = false;

	for (p = name; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p == 0x7f)
			return -EACCES;
	n = strlen(name);
	/* "dir/" names no file; refusing it beats guessing what was meant. */
	if (n == 0 || name[n - 1] == '/')
		return -EACCES;

	for (p = name; *p != '\0'; p += n) {
		while (*p == '/')
			p++;
		comp = p;
		n = strcspn(comp, "/");
		if (n == 1 && comp[0] == '.')
			continue;
		if (n == 2 && comp[0] == '.' && comp[1] == '.')
			return -EACCES;
		/* Keep scanning a too-long name: a later ".." is EACCES. */
		if (toolong || len + (len > 0) + n + 1 > outlen) {
			toolong = true;
			continue;
		}
		if (len > 0)
			out[len++] = '/';
		memcpy(out + len, comp, n);
		len += n;
	}
	if (toolong)
		return -ENAMETOOLONG;
	if (len == 0)
		return -EACCES;
	out[len] = '\0';
	return 0;
}

/*
 * The bytes of rel that root covers, up to and including the '/' after
 * it, or 0: rel has single '/'s and no "." or "..", so each component
 * of root must equal the next of rel, and something must follow.
 */
static size_t
root_prefix(const char *rel, const char *root)
{
	const char *p = root, *q = rel;
	size_t n;

	if (*p != '/')
		return 0;
	for (;;) {
		p += strspn(p, "/");
		if ((n = strcspn(p, "/")) == 0)
			break;
		if (!(n == 1 && p[0] == '.')) {
			if (strncmp(q, p, n) != 0 || q[n] != '/')
				return 0;
			q += n + 1;
		}
		p += n;
	}
	return (size_t)(q - rel);
}

int
path_pick_root(const char *rel, const char *const *roots, size_t nroots,
    const char **rest)
{
	size_t i, n, best = 0;
	int r = -1;

	for (i = 0; i < nroots; i++) {
		n = root_prefix(rel, roots[i]);
		if (n > best) {
			best = n;
			r = (int)i;
		}
	}
	if (r >= 0)
		*rest = rel + best;
	return r;
}

int
path_match_any(const char *rel, const char *const *patterns, size_t npatterns)
{
	size_t i;

	if (npatterns == 0)
		return 1;
	for (i = 0; i < npatterns; i++)
		if (fnmatch(patterns[i], rel, FNM_PATHNAME) == 0)
			return 1;
	return 0;
}

/*
 * rel must come from path_normalize(): a leading '/' would make the
 * directory absolute and openat() would then ignore the root's dirfd.
 */
int
path_split(const char *rel, char *dir, size_t dirlen, const char **base)
{
	const char *slash;
	size_t n;

	if (rel[0] == '\0' || rel[0] == '/')
		return -EINVAL;
	slash = strrchr(rel, '/');
	if (slash == NULL) {
		if (dirlen < 2)
			return -ENAMETOOLONG;
		memcpy(dir, ".", 2);
		*base = rel;
		return 0;
	}
	if (slash[1] == '\0')
		return -EINVAL;
	n = (size_t)(slash - rel);
	if (n + 1 > dirlen)
		return -ENAMETOOLONG;
	memcpy(dir, rel, n);
	dir[n] = '\0';
	*base = slash + 1;
	return 0;
}
