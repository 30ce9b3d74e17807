/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * Configuration: built-in defaults < config file (INI, read with libinih)
 * < command line.  The result is plain data (no pointers); shm.c publishes
 * it to the workers as the shared memory's own settings structure.
 */
#ifndef CONFIG_H
#define CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include "acl.h"
#include "log.h"

#define CONFIG_MAX_LISTEN	16
#define CONFIG_MAX_ROOTS	8	/* in.tftpd's list of directories */
#define CONFIG_MAX_PATTERNS	32
#define CONFIG_PATTERN_MAX	256
#define CONFIG_NAME_MAX		64
#define CONFIG_ERR_MAX		512
#define CONFIG_INSTANCE_MAX	64	/* == TFTP_SHM_NAME_MAX */
#define CONFIG_DRAIN_MAX	3600
#define CONFIG_IDLE_MAX		86400
#define CONFIG_STALL_MAX	3600
/* max_transfers' ceiling, and buffer_pool_size's: a pool may match it. */
#define CONFIG_MAX_TRANSFERS	65536
/*
 * [limits] unverified_bytes_*: bytes (per second).  A burst holds at
 * least one packet of the largest block (65464 + 4 bytes), so that every
 * first packet can go; 1 GB/s is more than a worker sends.
 */
#define CONFIG_MIN_UNVERIFIED_BURST	65536
#define CONFIG_MAX_UNVERIFIED_BYTES	1000000000

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

/* The form of the one log line of each request (transfer.c). */
enum config_log_format {
	LOG_FORMAT_TEXT,	/* key=value pairs */
	LOG_FORMAT_JSON,	/* one JSON object */
};

/* Where a client's names are looked up (lookup.c). */
enum config_client_root {
	CLIENT_ROOT_NO,		/* the root, for everyone */
	CLIENT_ROOT_IP,		/* ROOT/ADDRESS/ when it exists */
};

/* What a request the [access] lists refuse gets. */
enum config_refuse {
	REFUSE_ERROR,		/* ERROR 2, Access violation */
	REFUSE_DROP,		/* nothing */
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
	/*
	 * The root directories, packed: each NUL-terminated, one after the
	 * other ("/srv/a\0/srv/b\0"), so the first is root as a string;
	 * config_roots() lists them.
	 */
	char			root[PATH_MAX];
	uint32_t		nroot;		/* 1..CONFIG_MAX_ROOTS */
	bool			secure;		/* -s: one root, as chroot */
	char			user[CONFIG_NAME_MAX];
	/* "": none; else its members may change settings (tftpctl) */
	char			admin_group[CONFIG_NAME_MAX];
	uint32_t		workers;	/* 0: one per CPU */
	char			pid_file[PATH_MAX];
	char			runtime_dir[PATH_MAX];
	bool			foreground;
	enum log_target		log;
	bool			log_set;	/* log= given; else by foreground */
	int			log_level;	/* syslog priority */
	enum config_log_format	log_format;
	/* "": derived from the first listen address */
	char			instance[CONFIG_INSTANCE_MAX];
	uint32_t		drain_timeout;	/* s: SIGTERM to forced stop */
	uint32_t		idle_timeout;	/* s: inetd idle exit; 0: no */
	/* s: a worker whose heartbeat is silent this long is killed */
	uint32_t		worker_stall_timeout;

	/* [transfer] */
	uint32_t		timeout_ms;	/* retransmit interval */
	uint32_t		retries;
	/* before the client answered: timed resends, and s to expiry */
	uint32_t		unverified_retransmits;
	uint32_t		unverified_timeout;
	uint32_t		max_blksize;
	uint32_t		max_windowsize;
	uint32_t		allowed_opts;	/* TFTP_OPT_BIT()s */
	bool			netascii;	/* accept netascii mode */
	bool			follow_symlinks;
	bool			permissive;	/* -p: skip the mode checks */
	uint16_t		port_min;	/* port_range; 0 = ephemeral */
	uint16_t		port_max;
	uint32_t		max_transfers;
	bool			single_port;	/* answer from the listen port */
	char			map_file[PATH_MAX];	/* remap rules; "": none */
	bool			map_backslash;	/* a backslash in a name is '/' */
	bool			ignore_case;	/* missing name: ASCII case */
	enum config_client_root	client_root;

	/* [write] */
	bool			write_enable;
	bool			write_create;
	bool			write_overwrite;
	uint32_t		umask;
	uint64_t		max_file_size;	/* 0 = no limit */
	char			write_allow[CONFIG_MAX_PATTERNS][CONFIG_PATTERN_MAX];
	uint32_t		nwrite_allow;
	bool			fsync;

	/* [access]: client address lists by operation (acl.h) */
	struct acl_list		acl_read_allow;
	struct acl_list		acl_read_deny;
	struct acl_list		acl_write_allow;
	struct acl_list		acl_write_deny;
	enum config_refuse	refuse;

	/* [limits]: per client (climit.h); 0: off */
	uint32_t		per_client_transfers;
	uint32_t		per_client_rate;	/* requests/s */
	uint32_t		per_client_burst;
	/* server-wide, split between the workers (transfer.c); 0: off */
	uint32_t		unverified_bytes_rate;	/* bytes/s */
	uint32_t		unverified_bytes_burst;	/* bytes */

	/* [performance] */
	uint32_t		buffer_pool_size;

	/* [performance.platform.batch] */
	bool			enable_recvmmsg;
	bool			enable_sendmmsg;
	bool			enable_gso;	/* UDP_SEGMENT for windows */
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
	bool	listen_only;		/* -l/-L: standalone, never inetd */
	bool	inetd;			/* -i: fd 0 is the socket */
	char	config_path[PATH_MAX];
	bool	config_given;		/* --config: the file must exist */
};

void	 config_defaults(struct tftpd_config *c);
/*
 * CONFIG_DEFAULT_RUNDIR for root, a per-user directory for anyone else;
 * the first call's answer for the life of the process.
 */
void	 config_default_rundir(char *buf, size_t len);

/*
 * Set one key as the file would ("transfer", "timeout", "5").  On error
 * returns -EINVAL (unknown section or key) or the parse error and writes
 * "section.key: reason" to err.  Lists (listen, allow_options,
 * refuse_options, allow) replace the previous value.
 */
int	 config_set(struct tftpd_config *c, const char *section,
	    const char *key, const char *value, char *err, size_t errlen);

/* The same, but a list key's value is added to the list (a repeat). */
int	 config_add(struct tftpd_config *c, const char *section,
	    const char *key, const char *value, char *err, size_t errlen);

/* The root directories into out (at most max); their number. */
size_t	 config_roots(const struct tftpd_config *c, const char **out,
	    size_t max);

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

/*
 * The master's reload: the same chain again from the saved arguments
 * (argv is parsed as at startup, which succeeded), reading config_path
 * (absolute, so a daemon's chdir("/") does not matter) instead of the
 * --config argument.  Nothing is printed: a problem is written to err,
 * "FILE:LINE: [section] key: reason" or "-B: transfer.max_blksize: ...",
 * and the result is -errno.
 */
int	 config_reload(int argc, char *argv[], const char *config_path,
	    struct tftpd_config *c, char *err, size_t errlen);

/* Print the effective configuration as INI (for --check-config -v). */
void	 config_dump(const struct tftpd_config *c, FILE *fp);

/*
 * Keys by name, for tftpctl and the master's control socket.  name is
 * "section.key" or a bare "key" when exactly one section has it; the
 * section's and key's names (static strings) are returned.  0, -ENOENT
 * (no such key) or -ENOTUNIQ (a bare name in several sections).
 */
int	 config_find_key(const char *name, const char **section,
	    const char **key);

/*
 * Whether a running server applies a new value of the key without a
 * restart ("live": tftpctl set, reload).  false for unknown keys.
 */
bool	 config_key_live(const char *section, const char *key);

/*
 * Print one key as config_dump() would ("key = value" lines), or with
 * config_print_value() its value alone (a line per item of a list, an
 * empty line for an empty value).  0 or -ENOENT.
 */
int	 config_print_key(const struct tftpd_config *c, const char *section,
	    const char *key, FILE *fp);
int	 config_print_value(const struct tftpd_config *c,
	    const char *section, const char *key, FILE *fp);

/*
 * The same on one line, for a message: a list key's "key = value" lines
 * are joined by "; ".  Cut short to fit len (> 0).  0, -ENOENT or -ENOMEM.
 */
int	 config_key_line(const struct tftpd_config *c, const char *section,
	    const char *key, char *buf, size_t len);

/*
 * The keys whose values differ between a and b, in table order: up to
 * max of them are stored in sections[]/keys[]; the count is returned.
 * refuse_options is folded into allow_options and never listed itself.
 */
size_t	 config_diff(const struct tftpd_config *a,
	    const struct tftpd_config *b, const char **sections,
	    const char **keys, size_t max);

/* Copy one key's value from src to dst.  0 or -ENOENT. */
int	 config_copy_key(struct tftpd_config *dst,
	    const struct tftpd_config *src, const char *section,
	    const char *key);

/*
 * The instance name, which names the runtime files: server.instance when
 * set; else derived from the first listen socket's address sa, with
 * mode "inetd" or "systemd" as "MODE-PORT", or standalone as
 * "ADDRESS-PORT" with every ':' and '%' of the address turned into '_'
 * ("127.0.0.1-6969", "__1-6969", "0.0.0.0-69").  Only [A-Za-z0-9._-].
 * 0 or -EINVAL (no usable address) / -ENAMETOOLONG.
 */
int	 config_instance_name(const struct tftpd_config *c, const char *mode,
	    const struct sockaddr *sa, char *buf, size_t len);

/*
 * Whether name is a valid instance name: CONFIG_INSTANCE_RULE, which is a
 * printf format taking CONFIG_INSTANCE_MAX - 1, for messages.
 */
#define CONFIG_INSTANCE_RULE \
	"1 to %d of A-Z a-z 0-9 . _ -, not starting with . or -"
bool	 config_instance_valid(const char *name);

#endif /* CONFIG_H */
