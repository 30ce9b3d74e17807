/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/* Items of a configuration list value: see strlist.h. */
#include <errno.h>
#include <string.h>

#include "strlist.h"

int
strlist_next(const char **p, char *tok, size_t toklen)
{
	const char	*s = *p;
	size_t		 n;

	s += strspn(s, " \t,");
	if (*s == '\0') {
		*p = s;
		return 0;
	}
	n = strcspn(s, " \t,");
	*p = s + n;
	if (n >= toklen) {
		memcpy(tok, s, toklen - 1);
		tok[toklen - 1] = '\0';
		return -ENAMETOOLONG;
	}
	memcpy(tok, s, n);
	tok[n] = '\0';
	return 1;
}
