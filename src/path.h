/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * Request-path rules.  Pure: decides whether a client's filename names
 * something beneath the root; the open itself (openat2 RESOLVE_BENEATH) is
 * the second line of defence and lives in files.c.
 */
#ifndef PATH_H
#define PATH_H

#include <stddef.h>

#define PATH_REL_MAX	4096

/*
 * Turn a client's filename into a path relative to the root: leading '/'s
 * are stripped (tftp-hpa -s), repeated '/'s are folded, "." components are
 * dropped.  Refused with -EACCES: an empty result, a ".." component, a
 * control character (bytes below 0x20 or 0x7f), a trailing '/'.
 * -ENAMETOOLONG if the result does not fit in outlen.
 */
int		 path_normalize(const char *name, char *out, size_t outlen);

/*
 * Does rel match one of the fnmatch(3) patterns (FNM_PATHNAME)?  With no
 * patterns everything matches.
 */
int		 path_match_any(const char *rel, const char *const *patterns,
		    size_t npatterns);

/*
 * in.tftpd's list of directories: which of roots (as configured: absolute
 * paths; repeated '/'s and "." ignored) rel (from path_normalize() of an
 * absolute name) starts with, component by component; the longest match
 * wins.  Returns its index with *rest the part of rel beneath it, or -1
 * when none matches (a relative root, "/" or one naming ".." never does).
 */
int		 path_pick_root(const char *rel, const char *const *roots,
		    size_t nroots, const char **rest);

/* Split rel into its directory ("." when none) and its last component. */
int		 path_split(const char *rel, char *dir, size_t dirlen,
		    const char **base);

#endif /* PATH_H */
