/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * main(): one binary, two roles.  Started by the master as
 * "--worker K --listen-fds N" (the first arguments, exactly), it is worker
 * K and never reads the configuration; started as "--map-test ..." (the
 * first argument) it checks a remap file and exits; otherwise it reads the
 * configuration and becomes the master.  Usage and configuration errors
 * end the process with status 1 and a "snowowl-tftpd: message" line on
 * stderr.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"
#include "log.h"
#include "maptest.h"
#include "master.h"
#include "privs.h"
#include "tftp_shm.h"
#include "util.h"
#include "worker.h"

#define PROGNAME	"snowowl-tftpd"

static int	 check_root(const struct tftpd_config *cfg);
static int	 check_user(const char *user);
static int	 worker_args(int argc, char *argv[], uint32_t *index,
		    uint32_t *nfds);

/* Every root directory, each problem reported. */
static int
check_root(const struct tftpd_config *cfg)
{
	const char *dirs[CONFIG_MAX_ROOTS];
	struct stat st;
	size_t i, n;
	int r = 0;

	n = config_roots(cfg, dirs, CONFIG_MAX_ROOTS);
	for (i = 0; i < n; i++) {
		if (stat(dirs[i], &st) < 0) {
			log_early(LOG_ERR, PROGNAME, "root %s: %s", dirs[i],
			    strerror(errno));
			r = -1;
		} else if (!S_ISDIR(st.st_mode)) {
			log_early(LOG_ERR, PROGNAME, "root %s: %s", dirs[i],
			    strerror(ENOTDIR));
			r = -1;
		}
	}
	return r;
}

/*
 * The user a master started as root would serve as (tftp falls back to
 * nobody, as at startup): an unknown name is found now, not when the
 * service starts.
 */
static int
check_user(const char *user)
{
	uid_t	 uid;
	gid_t	 gid;
	int	 r;

	if ((r = privs_lookup(user, &uid, &gid)) == 0)
		return 0;
	if (r == -ENOENT)
		log_early(LOG_ERR, PROGNAME, "user %s: no such user", user);
	else
		log_early(LOG_ERR, PROGNAME, "user %s: %s", user,
		    strerror(-r));
	return -1;
}

/*
 * 1 with the worker's index and socket count when argv is exactly the
 * master's worker command line, 0 when it is not one at all, -1 when it
 * starts like one but is malformed.
 */
static int
worker_args(int argc, char *argv[], uint32_t *index, uint32_t *nfds)
{
	if (argc < 2 || strcmp(argv[1], MASTER_WORKER_FLAG) != 0)
		return 0;
	if (argc != 5 || strcmp(argv[3], MASTER_NFDS_FLAG) != 0 ||
	    parse_u32(argv[2], 0, TFTP_SHM_MAX_WORKERS - 1, index) < 0 ||
	    parse_u32(argv[4], 1, WORKER_MAX_LISTEN, nfds) < 0)
		return -1;
	return 1;
}

int
main(int argc, char *argv[])
{
	static struct tftpd_config cfg;
	struct run_opts run;
	uint32_t index, nfds;
	int r;

	if ((r = worker_args(argc, argv, &index, &nfds)) != 0) {
		if (r < 0) {
			fprintf(stderr, "%s: usage: %s %s K %s N (started by "
			    "the master only)\n", PROGNAME, PROGNAME,
			    MASTER_WORKER_FLAG, MASTER_NFDS_FLAG);
			return WORKER_EXIT_SETUP;
		}
		return worker_main(index, nfds);
	}

	/* A tool for the administrator, not a server: no configuration. */
	if (argc >= 2 && strcmp(argv[1], MAPTEST_FLAG) == 0)
		return maptest_main(argc - 1, argv + 1);

	r = config_from_args(argc, argv, &cfg, &run);
	if (r == 1)
		return 0;
	if (r < 0)
		return 1;
	if (run.check_config) {
		if (check_root(&cfg) < 0 || check_user(cfg.user) < 0)
			return 1;
		if (cfg.log_level >= LOG_DEBUG)
			config_dump(&cfg, stdout);
		printf("configuration OK\n");
		return 0;
	}
	return master_main(argc, argv, &cfg, &run);
}
