/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * Dropping root: switch to the service user with no supplementary groups
 * and no capabilities, bounding set cleared (libcap-ng); or, started as
 * a user with capabilities, clearing them.
 */
#ifndef PRIVS_H
#define PRIVS_H

#include <sys/types.h>

/*
 * As root: become user (a missing one is an error, the default "tftp"
 * too: "nobody" only when named, with a warning) and verify it stuck.  Not
 * root: keep the current identity and drop every capability it was
 * started with (the bounding set only with CAP_SETPCAP; a warning
 * otherwise).  Returns 0, or -1 with the reason in why.
 */
int		 privs_drop(const char *user, char *why, size_t whylen);

/*
 * Who privs_drop() would become, without logging: the uid and gid of
 * user.  0, -ENOENT or -errno.
 */
int		 privs_lookup(const char *user, uid_t *uid, gid_t *gid);

/* What to add to "unknown user USER": how to get one ("" if nothing). */
const char	*privs_missing_hint(const char *user);

/*
 * Keep the uid, lose every capability (the bounding set too, where
 * CAP_SETPCAP allows), and set no_new_privs.  0 or -1.
 */
int		 privs_clear_caps(void);

/* gid of group name: 0, -ENOENT or -errno. */
int		 privs_group(const char *name, gid_t *gid);

#endif /* PRIVS_H */
