/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * The list syntax of the configuration's list values (options, roots,
 * address prefixes): items separated by spaces, tabs and/or commas.  In
 * the protocol core so the pure parsers there (acl.c) and config.c read
 * lists the same way.
 */
#ifndef STRLIST_H
#define STRLIST_H

#include <stddef.h>

/*
 * The next item of *p into tok (toklen bytes with its NUL), *p moved past
 * it.  1 with the item, 0 at the end, -ENAMETOOLONG with a cut copy in tok
 * (for the message) when it does not fit.
 */
int	 strlist_next(const char **p, char *tok, size_t toklen);

#endif /* STRLIST_H */
