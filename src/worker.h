/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * A worker: the process the master starts with fork+exec of the same
 * binary ("--worker K --listen-fds N"), so that it has a fresh address
 * space and inherits nothing but the descriptors below.  It answers
 * requests on its listen sockets and runs the transfers.  It never reads
 * the configuration file: its settings come from the shared-memory
 * segment, validated like input.  See the README's Design section.
 */
#ifndef WORKER_H
#define WORKER_H

#include <stdint.h>

/* Exit status of a worker whose own setup failed: not respawned. */
#define WORKER_EXIT_SETUP	3

/* Most listen sockets one worker may be given. */
#define WORKER_MAX_LISTEN	64

/* The descriptors a worker is started with (0, 1: /dev/null; 2: log). */
enum worker_fd {
	WORKER_FD_SHM_RO	= 3,	/* the segment, O_RDONLY */
	WORKER_FD_SHM_RW	= 4,	/* the same, O_RDWR: region k */
	WORKER_FD_ROOT		= 5,	/* root directory, O_PATH */
	WORKER_FD_LISTEN	= 6,	/* 6 .. 6 + nfds - 1: UDP sockets */
};
/* Then the further root directories (server.nroot - 1 of them, O_PATH). */
#define WORKER_FD_ROOT2(nfds)	(WORKER_FD_LISTEN + (int)(nfds))

/*
 * The worker's main(): validate the inherited descriptors, attach shared
 * memory region `index`, copy and validate the published settings, apply
 * the sandbox, then serve.  Returns the exit status: 0 after a drain
 * (SIGTERM, SIGINT) or a retirement (SIGQUIT), WORKER_EXIT_SETUP when
 * setup failed, 1 on an unexpected failure of the loop.
 */
int		 worker_main(uint32_t index, uint32_t nfds);

#endif /* WORKER_H */
