/*
 * Configuration: built-in defaults < config file (INI, read with libinih)
 * < command line.  The result is plain data (no pointers), so it can later
 * be published to workers through shared memory as it is.
 */
#ifndef CONFIG_H
#define CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include "log.h"

#define CONFIG_MAX_LISTEN	16
#define CONFIG_MAX_PATTERNS	32
#define CONFIG_PATTERN_MAX	256
#define CONFIG_NAME_MAX		64
#define CONFIG_ERR_MAX		512

#ifndef SYSCONFDIR
#define SYSCONFDIR		"/etc"
#endif
#define CONFIG_DEFAULT_PATH	SYSCONFDIR "/snowowl-tftpd.conf"
#define CONFIG_DEFAULT_ROOT	"/srv/tftp"
#define CONFIG_DEFAULT_RUNDIR	"/run/snowowl-tftpd"

enum config_family {
	FAMILY_ANY,
	FAMILY_IPV4,		/* -4 */
	FAMILY_IPV6,		/* -6 */
};

struct listen_addr {
	struct sockaddr_storage	ss;
	socklen_t		len;
};

struct tftpd_config {
	/* [server] */
	struct listen_addr	listen[CONFIG_MAX_LISTEN];
	uint32_t		nlisten;	/* 0: wildcard(s) on port 69 */
	enum config_family	family;
	char			root[PATH_MAX];
	char			user[CONFIG_NAME_MAX];
	uint32_t		workers;	/* 0: one per CPU */
	char			pid_file[PATH_MAX];
	char			runtime_dir[PATH_MAX];
	bool			foreground;
	enum log_target		log;
	bool			log_set;	/* log= given; else by foreground */
	int			log_level;	/* syslog priority */

	/* [transfer] */
	uint32_t		timeout_ms;	/* retransmit interval */
	uint32_t		retries;
	uint32_t		max_blksize;
	uint32_t		max_windowsize;
	uint32_t		allowed_opts;	/* TFTP_OPT_BIT()s */
	bool			netascii;	/* accept netascii mode */
	bool			follow_symlinks;
	bool			permissive;	/* -p: skip the mode checks */
	uint16_t		port_min;	/* port_range; 0 = ephemeral */
	uint16_t		port_max;
	uint32_t		max_transfers;

	/* [write] */
	bool			write_enable;
	bool			write_create;
	bool			write_overwrite;
	uint32_t		umask;
	uint64_t		max_file_size;	/* 0 = no limit */
	char			write_allow[CONFIG_MAX_PATTERNS][CONFIG_PATTERN_MAX];
	uint32_t		nwrite_allow;
	bool			fsync;

	/* [performance] */
	uint32_t		buffer_pool_size;

	/* [performance.platform.batch] */
	bool			enable_recvmmsg;
	bool			enable_sendmmsg;
	uint32_t		max_batch_size;
	uint32_t		batch_timeout_us;

	/* [performance.platform.socket] */
	uint32_t		recv_buffer_kb;
	uint32_t		send_buffer_kb;
	bool			reuse_address;
	bool			reuse_port;
};

/* What main() does besides serving. */
struct run_opts {
	bool	check_config;		/* --check-config: validate, exit */
	bool	listen_only;		/* -l/-L: standalone (always, for now) */
	char	config_path[PATH_MAX];
	bool	config_given;		/* --config: the file must exist */
};

void	 config_defaults(struct tftpd_config *c);

/*
 * Set one key as the file would ("transfer", "timeout", "5").  On error
 * returns -EINVAL (unknown section or key) or the parse error and writes
 * "section.key: reason" to err.  Lists (listen, allow_options,
 * refuse_options, allow) replace the previous value.
 */
int	 config_set(struct tftpd_config *c, const char *section,
	    const char *key, const char *value, char *err, size_t errlen);

/*
 * Read an INI file over c.  A missing file is an error only if
 * must_exist.  Errors are written to err as "FILE:LINE: [section] key:
 * reason"; returns 0 or a negative errno.
 */
int	 config_load(struct tftpd_config *c, const char *path,
	    bool must_exist, char *err, size_t errlen);

/* Checks that span keys (port_min <= port_max, root set...). */
int	 config_validate(const struct tftpd_config *c, char *err,
	    size_t errlen);

/*
 * The whole chain for main(): defaults, file, then command line (tftp-hpa
 * in.tftpd flags and our long options).  Returns 0 to run, 1 when the
 * program should exit 0 now (-V, --help), -1 after printing the problem
 * to stderr (exit 1).
 */
int	 config_from_args(int argc, char *argv[], struct tftpd_config *c,
	    struct run_opts *run);

/* Print the effective configuration as INI (for --check-config -v). */
void	 config_dump(const struct tftpd_config *c, FILE *fp);

#endif /* CONFIG_H */
