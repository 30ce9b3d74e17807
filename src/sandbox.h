/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * The worker's sandbox, on top of the master's privilege drop: resource
 * limits, no_new_privs, a Landlock ruleset confining the filesystem to the
 * tree beneath the served root, and a seccomp allow-list whose default
 * action kills the process.  Applied once, by a worker, after it has
 * attached shared memory and copied its settings and before it touches
 * the network.  Nothing here logs.
 */
#ifndef SANDBOX_H
#define SANDBOX_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Confine the calling process, in this order, each step fatal: rlimits
 * (no core files; no new processes), PR_SET_NO_NEW_PRIVS, Landlock (read
 * files and directories beneath each of the nroots rootfds; when
 * allow_write also create, write, rename over and remove regular files
 * there; nothing anywhere else; no TCP bind/connect, no signals or abstract sockets leaving the
 * sandbox, as far as the kernel's Landlock ABI goes), seccomp.  A kernel
 * without Landlock is not an error: sandbox_landlock_abi() then says 0 and
 * the caller warns once.  The rootfds may be O_PATH.
 *
 * Returns 0, or -errno with a one-line reason in why (never NULL on
 * failure when whylen > 0).  After a failure the process may be partly
 * confined and must exit (WORKER_EXIT_SETUP).  After success it may only
 * make the system calls of the allow-list in sandbox.c: no fork, no exec,
 * no new files outside the root, no sockets but UDP over IPv4/IPv6.
 */
int		 sandbox_apply(const int *rootfds, size_t nroots,
		    bool allow_write, char *why, size_t whylen);

/*
 * The running kernel's Landlock ABI version; 0 when there is no Landlock
 * to use: not in the kernel, disabled at boot, refused by a container's
 * seccomp profile (EPERM), or a build without <linux/landlock.h>.
 * sandbox_describe() says which.  Probed once, without side effects; safe
 * to call before and after sandbox_apply().
 */
int		 sandbox_landlock_abi(void);

/*
 * One line for the startup log, valid after sandbox_apply() succeeded:
 * "landlock ABI 6 (read-only), seccomp 41 rules" or "landlock unavailable
 * (disabled at boot), seccomp 41 rules (debug: trap and report)".
 * Before that: "not applied".  Static storage.
 */
const char	*sandbox_describe(void);

#endif /* SANDBOX_H */
