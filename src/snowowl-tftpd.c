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
#include <fcntl.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "mapfile.h"
#include "maptest.h"
#include "master.h"
#include "privs.h"
#include "tftp_shm.h"
#include "util.h"
#include "worker.h"

#define PROGNAME	"snowowl-tftpd"

static int	 check_root(const struct tftpd_config *cfg);
static int	 check_user(const char *user);
static int	 check_group(const char *group);
static int	 check_map(const char *path);
static bool	 addr_is_local(const struct sockaddr *sa,
		    const struct ifaddrs *ifs);
static int	 check_listen_local(const struct tftpd_config *cfg);
static int	 worker_args(int argc, char *argv[], uint32_t *index,
		    uint32_t *nfds);

/*
 * Every root directory, each problem reported: it must exist, be a
 * directory and open for reading (the master opens it so before it drops
 * its privileges).
 */
static int
check_root(const struct tftpd_config *cfg)
{
	const char *dirs[CONFIG_MAX_ROOTS];
	struct stat st;
	size_t i, n;
	int fd, r = 0;

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
		} else if ((fd = open(dirs[i], O_RDONLY | O_DIRECTORY |
		    O_CLOEXEC)) < 0) {
			log_early(LOG_ERR, PROGNAME, "root %s: cannot be "
			    "opened: %s", dirs[i], strerror(errno));
			r = -1;
		} else
			close(fd);
	}
	return r;
}

/*
 * Whether sa's address (not a wildcard) is one of this host's, so that
 * binding it would not fail with EADDRNOTAVAIL.  All of 127.0.0.0/8 is
 * Linux's loopback, though only 127.0.0.1 is listed on lo.
 */
static bool
addr_is_local(const struct sockaddr *sa, const struct ifaddrs *ifs)
{
	const struct sockaddr_in	*sin = (const struct sockaddr_in *)sa;
	const struct sockaddr_in6	*sin6 = (const struct sockaddr_in6 *)sa;
	const struct ifaddrs		*i;

	if (sa->sa_family == AF_INET &&
	    (sin->sin_addr.s_addr == htonl(INADDR_ANY) ||
	    (ntohl(sin->sin_addr.s_addr) >> 24) == 127))
		return true;
	if (sa->sa_family == AF_INET6 &&
	    IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr))
		return true;
	for (i = ifs; i != NULL; i = i->ifa_next) {
		if (i->ifa_addr == NULL || i->ifa_addr->sa_family !=
		    sa->sa_family)
			continue;
		if (sa->sa_family == AF_INET && memcmp(&sin->sin_addr,
		    &((const struct sockaddr_in *)i->ifa_addr)->sin_addr,
		    sizeof(sin->sin_addr)) == 0)
			return true;
		if (sa->sa_family == AF_INET6 && memcmp(&sin6->sin6_addr,
		    &((const struct sockaddr_in6 *)i->ifa_addr)->sin6_addr,
		    sizeof(sin6->sin6_addr)) == 0)
			return true;
	}
	return false;
}

/*
 * The listen addresses the server would bind (names were resolved when
 * the configuration was read): each must be this host's.  Every one that
 * is not is reported.
 */
static int
check_listen_local(const struct tftpd_config *cfg)
{
	const struct sockaddr	*sa;
	struct ifaddrs		*ifs;
	char			 a[SOCKADDR_STRLEN];
	uint32_t		 i;
	int			 want, r = 0;

	if (cfg->nlisten == 0)
		return 0;
	/*
	 * Listing needs a netlink socket, which a unit's
	 * RestrictAddressFamilies= may forbid to the ExecStartPre= check:
	 * then the bind at start is the check.
	 */
	if (getifaddrs(&ifs) < 0) {
		log_early(LOG_WARNING, PROGNAME, "server.listen: not checked: "
		    "cannot list the local addresses: %s", strerror(errno));
		return 0;
	}
	want = cfg->family == FAMILY_IPV4 ? AF_INET :
	    cfg->family == FAMILY_IPV6 ? AF_INET6 : AF_UNSPEC;
	for (i = 0; i < cfg->nlisten && i < CONFIG_MAX_LISTEN; i++) {
		sa = (const struct sockaddr *)&cfg->listen[i].ss;
		if ((want != AF_UNSPEC && sa->sa_family != want) ||
		    addr_is_local(sa, ifs))
			continue;
		log_early(LOG_ERR, PROGNAME, "server.listen: %s is not an "
		    "address of this host", sockaddr_str(sa, a, sizeof(a)));
		r = -1;
	}
	freeifaddrs(ifs);
	return r;
}

/*
 * The user a master started as root would serve as, and the admin
 * group: an unknown name is found now, not when the service starts.
 */
static int
check_user(const char *user)
{
	uid_t	 uid;
	gid_t	 gid;
	int	 r;

	if ((r = privs_lookup(user, &uid, &gid)) == 0)
		return 0;
	/* Not root: the master keeps its own identity; no user is used. */
	if (r == -ENOENT && geteuid() != 0 && strcmp(user, "tftp") == 0)
		return 0;
	if (r == -ENOENT)
		log_early(LOG_ERR, PROGNAME, "user %s: no such user%s", user,
		    privs_missing_hint(user));
	else
		log_early(LOG_ERR, PROGNAME, "user %s: %s", user,
		    strerror(-r));
	return -1;
}

static int
check_group(const char *group)
{
	gid_t	 gid;
	int	 r;

	if (group[0] == '\0' || (r = privs_group(group, &gid)) == 0)
		return 0;
	log_early(LOG_ERR, PROGNAME, "admin_group %s: %s", group,
	    r == -ENOENT ? "no such group" : strerror(-r));
	return -1;
}

/* The remap rules file, as the master will read it. */
static int
check_map(const char *path)
{
	char	 err[CONFIG_ERR_MAX];
	char	*text;
	size_t	 len;

	if (mapfile_load(path, NULL, &text, &len, err, sizeof(err)) < 0) {
		log_early(LOG_ERR, PROGNAME, "%s", err);
		return -1;
	}
	free(text);
	return 0;
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
		/* Every check, so that one run reports every problem. */
		r = check_root(&cfg);
		r |= check_user(cfg.user);
		r |= check_group(cfg.admin_group);
		r |= check_map(cfg.map_file);
		r |= check_listen_local(&cfg);
		if (r < 0)
			return 1;
		if (cfg.log_level >= LOG_DEBUG)
			config_dump(&cfg, stdout);
		printf("configuration OK\n");
		return 0;
	}
	return master_main(argc, argv, &cfg, &run);
}
