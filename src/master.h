/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * The master process: the only process that reads the configuration.  It
 * takes its sockets (bound here, or inherited from inetd or systemd),
 * opens the root, creates the runtime files, drops privileges, starts the
 * workers by fork+exec and supervises them, and answers the control
 * socket.  master_main() is its one entry point; the files that make it
 * up share master_int.h.
 */
#ifndef MASTER_H
#define MASTER_H

#include "config.h"

/* Worker k is started as "ARGV0 --worker K --listen-fds N". */
#define MASTER_WORKER_FLAG	"--worker"
#define MASTER_NFDS_FLAG	"--listen-fds"

/*
 * Run the server with the configuration main() read from argc/argv (kept
 * for reloads, which parse them again).  Returns the exit status: 0 after
 * SIGTERM/SIGINT or an idle inetd exit, 1 when startup failed or every
 * worker failed its setup.
 */
int		 master_main(int argc, char *argv[],
		    const struct tftpd_config *cfg, const struct run_opts *run);

#endif /* MASTER_H */
