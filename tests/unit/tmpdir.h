/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * A fresh directory per test, for the unit tests that work on real files
 * (files, shm, sandbox, lookup): made under $TMPDIR (or /tmp) and removed
 * with everything in it; and a count of open descriptors, to see that a
 * failed open keeps none.
 */
#ifndef TEST_TMPDIR_H
#define TEST_TMPDIR_H

#include <stddef.h>

/* Make "$TMPDIR/name.XXXXXX" (or under /tmp) and leave its path in dir.
 * 0, -ENAMETOOLONG (dir is too small) or -errno of mkdtemp. */
int	test_tmpdir_make(char *dir, size_t len, const char *name);

/* Remove dir and all below it; links are removed, never followed.
 * 0 or -1 (something was left behind). */
int	test_tmpdir_remove(const char *dir);

/* The process's open descriptors (those of /proc/self/fd), or -1. */
int	test_count_fds(void);

#endif /* TEST_TMPDIR_H */
