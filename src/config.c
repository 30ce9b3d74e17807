/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * The configuration model: built-in defaults, one table of every key
 * (section, name, type, range, where it lives in struct tftpd_config),
 * the INI reader on top of libinih, the whole-struct validation and the
 * INI dump.  The key table is the single source of truth: config_set(),
 * the file loader, config_validate() and config_dump() all walk it, so a
 * key cannot be settable without also being checked and printed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "climit.h"
#include "config.h"
#include "proto.h"
#include "strlist.h"
#include "tftp_shm.h"
#include "util.h"
#include "xfer.h"

/* Bytes of an offending value quoted back in a message. */
#define VALUE_SHOW_MAX	80

/* The names a key takes, for the messages of its setter and its check. */
#define FAMILY_CHOICES	"any, ipv4, ipv6"
#define LOG_CHOICES	"syslog, stderr"
#define LEVEL_CHOICES	"err, warning, notice, info, debug"
#define CLIENT_ROOT_CHOICES	"no, ip"
#define LOG_FORMAT_CHOICES	"text, json"
#define REFUSE_CHOICES	"error, drop"

enum key_type {
	KT_BOOL,
	KT_U32,		/* min..max */
	KT_STR,		/* size bytes; min = 1: must not be empty */
	KT_FUNC,	/* own setter and printer */
};

struct key_def;

typedef int	(*key_setter)(struct tftpd_config *, const char *, bool,
		    char *, size_t);
struct key_out;
typedef void	(*key_printer)(const struct tftpd_config *,
		    const struct key_def *, const struct key_out *);
/* One check of config_validate(): 0, or -errno and "key: reason". */
typedef int	(*config_check)(const struct tftpd_config *, char *, size_t);

/*
 * off/size is the field a key sets; a KT_FUNC key may own a second span
 * (listen and nlisten).  The spans are what config_diff() compares and
 * config_copy_key() copies.
 */
struct key_def {
	const char	*section;
	const char	*name;
	enum key_type	 type;
	size_t		 off;
	size_t		 size;
	size_t		 off2;
	size_t		 size2;
	uint32_t	 min;
	uint32_t	 max;
	/* KT_BOOL and KT_U32: the default (config_defaults()). */
	uint32_t	 def;
	/* Repeating the key in one file adds to the list. */
	bool		 list;
	/* A running server applies a new value without a restart. */
	bool		 live;
	key_setter	 set;
	key_printer	 print;
};

/* Where a key's value goes, and whether as "key = value" or alone. */
struct key_out {
	FILE		*fp;
	bool		 bare;
};

/* config_key_line()'s stream: the printed lines, joined by "; ". */
struct line_sink {
	char	*buf;
	size_t	 len;
	size_t	 off;
	bool	 newline;	/* a line ended: "; " before more text */
};

struct load_ctx {
	struct tftpd_config	*c;
	const char		*path;
	FILE			*fp;
	char			*buf;
	size_t			 cap;
	int			 lineno;
	int			 rc;	/* first error, 0 if none */
	int			 errline;
	char			*err;
	size_t			 errlen;
	uint64_t		 seen;	/* list keys met, by index */
	uint32_t		 refused; /* this file's refusals */
};

static const char *show(const char *value, char *buf, size_t len);
static int	 bad_number(int r, const char *value, uint32_t min,
		    uint32_t max, char *why, size_t whylen);
static int	 parse_opts(const char *value, uint32_t *mask, char *why,
		    size_t whylen);
static int	 resolve_listen(const char *tok, struct listen_addr *la,
		    uint32_t *n, char *why, size_t whylen);
static int	 set_listen(struct tftpd_config *, const char *, bool, char *,
		    size_t);
static int	 set_family(struct tftpd_config *, const char *, bool, char *,
		    size_t);
static int	 set_root(struct tftpd_config *, const char *, bool, char *,
		    size_t);
static int	 set_log(struct tftpd_config *, const char *, bool, char *,
		    size_t);
static int	 set_log_level(struct tftpd_config *, const char *, bool,
		    char *, size_t);
static int	 set_log_format(struct tftpd_config *, const char *, bool,
		    char *, size_t);
static int	 set_instance(struct tftpd_config *, const char *, bool,
		    char *, size_t);
static int	 set_timeout(struct tftpd_config *, const char *, bool,
		    char *, size_t);
static int	 set_allow_options(struct tftpd_config *, const char *, bool,
		    char *, size_t);
static int	 set_refuse_options(struct tftpd_config *, const char *, bool,
		    char *, size_t);
static int	 set_port_range(struct tftpd_config *, const char *, bool,
		    char *, size_t);
static int	 set_umask(struct tftpd_config *, const char *, bool, char *,
		    size_t);
static int	 set_max_file_size(struct tftpd_config *, const char *, bool,
		    char *, size_t);
static int	 set_write_allow(struct tftpd_config *, const char *, bool,
		    char *, size_t);
static int	 set_client_root(struct tftpd_config *, const char *, bool,
		    char *, size_t);
static int	 set_acl_read_allow(struct tftpd_config *, const char *, bool,
		    char *, size_t);
static int	 set_acl_read_deny(struct tftpd_config *, const char *, bool,
		    char *, size_t);
static int	 set_acl_write_allow(struct tftpd_config *, const char *, bool,
		    char *, size_t);
static int	 set_acl_write_deny(struct tftpd_config *, const char *, bool,
		    char *, size_t);
static int	 set_refuse(struct tftpd_config *, const char *, bool, char *,
		    size_t);
static void	 print_listen(const struct tftpd_config *,
		    const struct key_def *, const struct key_out *);
static void	 print_family(const struct tftpd_config *,
		    const struct key_def *, const struct key_out *);
static void	 print_root(const struct tftpd_config *,
		    const struct key_def *, const struct key_out *);
static void	 print_log(const struct tftpd_config *,
		    const struct key_def *, const struct key_out *);
static void	 print_log_level(const struct tftpd_config *,
		    const struct key_def *, const struct key_out *);
static void	 print_log_format(const struct tftpd_config *,
		    const struct key_def *, const struct key_out *);
static void	 print_instance(const struct tftpd_config *,
		    const struct key_def *, const struct key_out *);
static void	 print_timeout(const struct tftpd_config *,
		    const struct key_def *, const struct key_out *);
static void	 print_allow_options(const struct tftpd_config *,
		    const struct key_def *, const struct key_out *);
static void	 print_refuse_options(const struct tftpd_config *,
		    const struct key_def *, const struct key_out *);
static void	 print_port_range(const struct tftpd_config *,
		    const struct key_def *, const struct key_out *);
static void	 print_umask(const struct tftpd_config *,
		    const struct key_def *, const struct key_out *);
static void	 print_max_file_size(const struct tftpd_config *,
		    const struct key_def *, const struct key_out *);
static void	 print_client_root(const struct tftpd_config *,
		    const struct key_def *, const struct key_out *);
static void	 print_write_allow(const struct tftpd_config *,
		    const struct key_def *, const struct key_out *);
static void	 print_acl(const struct tftpd_config *,
		    const struct key_def *, const struct key_out *);
static void	 print_refuse(const struct tftpd_config *,
		    const struct key_def *, const struct key_out *);
static const struct key_def *key_find(const char *section, const char *name,
		    bool *section_known);
static bool	 section_known(const char *section);
static void	 put_value(const struct key_out *o, const struct key_def *k,
		    const char *v, int prec);
static void	 print_one(const struct tftpd_config *c,
		    const struct key_def *k, const struct key_out *o);
static int	 print_key(const struct tftpd_config *c, const char *section,
		    const char *key, bool bare, FILE *fp);
static void	 line_put(struct line_sink *s, char ch);
static ssize_t	 line_write(void *cookie, const char *data, size_t n);
static bool	 key_differs(const struct key_def *k,
		    const struct tftpd_config *a, const struct tftpd_config *b);
static int	 set_key(struct tftpd_config *c, const struct key_def *k,
		    const char *value, bool append, char *why, size_t whylen);
static int	 set_or_add(struct tftpd_config *c, const char *section,
		    const char *key, const char *value, bool append,
		    char *err, size_t errlen);
static int	 lookup_and_set(struct tftpd_config *c, const char *section,
		    const char *name, const char *value, bool append,
		    const struct key_def **kp, char *why, size_t whylen);
static int	 check_ranges(const struct tftpd_config *, char *, size_t);
static int	 check_timeout(const struct tftpd_config *, char *, size_t);
static int	 check_root(const struct tftpd_config *, char *, size_t);
static int	 check_family(const struct tftpd_config *, char *, size_t);
static int	 check_log(const struct tftpd_config *, char *, size_t);
static int	 check_log_level(const struct tftpd_config *, char *, size_t);
static int	 check_log_format(const struct tftpd_config *, char *, size_t);
static int	 check_allow_options(const struct tftpd_config *, char *,
		    size_t);
static int	 check_umask(const struct tftpd_config *, char *, size_t);
static int	 check_single_port(const struct tftpd_config *, char *,
		    size_t);
static int	 check_port_range(const struct tftpd_config *, char *, size_t);
static int	 check_instance(const struct tftpd_config *, char *, size_t);
static int	 check_write_allow(const struct tftpd_config *, char *, size_t);
static int	 check_client_root(const struct tftpd_config *, char *, size_t);
static int	 check_access(const struct tftpd_config *, char *, size_t);
static int	 check_listen(const struct tftpd_config *, char *, size_t);
static int	 load_fail(struct load_ctx *ctx, int rc, const char *fmt, ...)
		    __attribute__((format(printf, 3, 4)));
static char	*load_reader(char *str, int num, void *stream);
static int	 load_handler(void *user, const char *section,
		    const char *name, const char *value);

#define SERVER		"server"
#define TRANSFER	"transfer"
#define WRITE		"write"
#define ACCESS		"access"
#define LIMITS		"limits"
#define PERF		"performance"
#define BATCH		"performance.platform.batch"
#define SOCKET		"performance.platform.socket"

#define OFF(f)		offsetof(struct tftpd_config, f)
#define SZ(f)		sizeof(((struct tftpd_config *)0)->f)
#define SPAN(f)		OFF(f), SZ(f)
#define NOSPAN		0, 0
#define LIVE		true
#define RESTART		false
#define BOOLKEY(s, n, f, def, live) \
	{ s, n, KT_BOOL, SPAN(f), NOSPAN, 0, 0, def, false, live, NULL, NULL }
#define U32KEY(s, n, f, lo, hi, def, live) \
	{ s, n, KT_U32, SPAN(f), NOSPAN, lo, hi, def, false, live, NULL, NULL }
#define STRKEY(s, n, f, required, live) \
	{ s, n, KT_STR, SPAN(f), NOSPAN, required, 0, 0, false, live, NULL, \
	  NULL }
#define FUNCKEY(s, n, list, fn, live, span, span2) \
	{ s, n, KT_FUNC, span, span2, 0, 0, 0, list, live, set_##fn, \
	  print_##fn }
/* The address lists: a setter each, one printer that finds the list by
 * the key's span. */
#define ACLKEY(n, f) \
	{ ACCESS, n, KT_FUNC, SPAN(f), NOSPAN, 0, 0, 0, true, LIVE, set_##f, \
	  print_acl }

/*
 * A number key gives its range and then its default; a boolean, its
 * default; config_defaults() sets the others.  Live keys are those a
 * worker reads per transfer from the published configuration.  The rest
 * are fixed at start: sockets (listen, family, port ranges and socket
 * options), identity and files (root, user, runtime_dir, pid_file,
 * instance), the process layout (workers, pools, batching, single_port)
 * and the master's own logging set-up.
 */
static const struct key_def keys[] = {
	FUNCKEY(SERVER, "listen", true, listen, RESTART, SPAN(listen),
	    SPAN(nlisten)),
	FUNCKEY(SERVER, "family", false, family, RESTART, SPAN(family),
	    NOSPAN),
	/* A list of whole values: a directory's name may hold spaces. */
	FUNCKEY(SERVER, "root", true, root, RESTART, SPAN(root), SPAN(nroot)),
	BOOLKEY(SERVER, "secure", secure, false, RESTART),
	STRKEY(SERVER, "user", user, 1, RESTART),
	STRKEY(SERVER, "admin_group", admin_group, 0, RESTART),
	U32KEY(SERVER, "workers", workers, 0, TFTP_SHM_MAX_WORKERS, 0,
	    RESTART),
	STRKEY(SERVER, "pid_file", pid_file, 0, RESTART),
	STRKEY(SERVER, "runtime_dir", runtime_dir, 1, RESTART),
	FUNCKEY(SERVER, "instance", false, instance, RESTART,
	    SPAN(instance), NOSPAN),
	BOOLKEY(SERVER, "foreground", foreground, false, RESTART),
	FUNCKEY(SERVER, "log", false, log, RESTART, SPAN(log),
	    SPAN(log_set)),
	FUNCKEY(SERVER, "log_level", false, log_level, LIVE,
	    SPAN(log_level), NOSPAN),
	/* The workers' request lines: read per request, as log_level. */
	FUNCKEY(SERVER, "log_format", false, log_format, LIVE,
	    SPAN(log_format), NOSPAN),
	U32KEY(SERVER, "drain_timeout", drain_timeout, 0, CONFIG_DRAIN_MAX, 30,
	    RESTART),
	U32KEY(SERVER, "idle_timeout", idle_timeout, 0, CONFIG_IDLE_MAX, 900,
	    RESTART),
	/* Read by the master on each tick. */
	U32KEY(SERVER, "worker_stall_timeout", worker_stall_timeout, 0,
	    CONFIG_STALL_MAX, 5, LIVE),

	FUNCKEY(TRANSFER, "timeout", false, timeout, LIVE, SPAN(timeout_ms),
	    NOSPAN),
	U32KEY(TRANSFER, "retries", retries, 1, 100, 5, LIVE),
	/* A client that has not answered may be a forged address. */
	U32KEY(TRANSFER, "unverified_retransmits", unverified_retransmits, 0,
	    3, 0, LIVE),
	U32KEY(TRANSFER, "unverified_timeout", unverified_timeout, 1, 60, 5,
	    LIVE),
	U32KEY(TRANSFER, "max_blksize", max_blksize, TFTP_BLKSIZE_MIN,
	    TFTP_BLKSIZE_MAX, TFTP_BLKSIZE_MAX, LIVE),
	U32KEY(TRANSFER, "max_windowsize", max_windowsize, TFTP_WINDOW_MIN,
	    XFER_WINDOW_LIMIT, 64, LIVE),
	FUNCKEY(TRANSFER, "allow_options", true, allow_options, LIVE,
	    SPAN(allowed_opts), NOSPAN),
	/* Folded into allowed_opts: it has no value of its own. */
	FUNCKEY(TRANSFER, "refuse_options", true, refuse_options, LIVE,
	    NOSPAN, NOSPAN),
	BOOLKEY(TRANSFER, "netascii", netascii, true, LIVE),
	BOOLKEY(TRANSFER, "follow_symlinks", follow_symlinks, true, RESTART),
	BOOLKEY(TRANSFER, "permissive", permissive, false, LIVE),
	FUNCKEY(TRANSFER, "port_range", false, port_range, RESTART,
	    SPAN(port_min), SPAN(port_max)),
	U32KEY(TRANSFER, "max_transfers", max_transfers, 1,
	    CONFIG_MAX_TRANSFERS, 1024, LIVE),
	BOOLKEY(TRANSFER, "single_port", single_port, false, RESTART),
	/* The master reads the file; the workers get its rules (remap.h). */
	STRKEY(TRANSFER, "map_file", map_file, 0, LIVE),
	/* How a name becomes a file: lookup.c. */
	BOOLKEY(TRANSFER, "map_backslash", map_backslash, false, LIVE),
	BOOLKEY(TRANSFER, "ignore_case", ignore_case, false, LIVE),
	FUNCKEY(TRANSFER, "client_root", false, client_root, LIVE,
	    SPAN(client_root), NOSPAN),

	/* enable: the master restarts the workers (Landlock's write
	 * right is fixed when a worker starts). */
	BOOLKEY(WRITE, "enable", write_enable, false, LIVE),
	BOOLKEY(WRITE, "create", write_create, false, LIVE),
	BOOLKEY(WRITE, "overwrite", write_overwrite, true, LIVE),
	FUNCKEY(WRITE, "umask", false, umask, LIVE, SPAN(umask), NOSPAN),
	FUNCKEY(WRITE, "max_file_size", false, max_file_size, LIVE,
	    SPAN(max_file_size), NOSPAN),
	FUNCKEY(WRITE, "allow", true, write_allow, LIVE, SPAN(write_allow),
	    SPAN(nwrite_allow)),
	BOOLKEY(WRITE, "fsync", fsync, true, LIVE),

	/* Checked per request, before its name is looked at: admit.c. */
	ACLKEY("read_allow", acl_read_allow),
	ACLKEY("read_deny", acl_read_deny),
	ACLKEY("write_allow", acl_write_allow),
	ACLKEY("write_deny", acl_write_deny),
	FUNCKEY(ACCESS, "refuse", false, refuse, LIVE, SPAN(refuse), NOSPAN),

	/* Per client, checked per request after [access]: admit.c. */
	U32KEY(LIMITS, "per_client_transfers", per_client_transfers, 0,
	    CONFIG_MAX_TRANSFERS, 64, LIVE),
	U32KEY(LIMITS, "per_client_rate", per_client_rate, 0,
	    CLIMIT_RATE_MAX, 20, LIVE),
	U32KEY(LIMITS, "per_client_burst", per_client_burst, 1,
	    CLIMIT_BURST_MAX, 40, LIVE),
	/*
	 * Server-wide, bytes sent to clients that have not answered yet:
	 * transfer.c.  Defaults far above a boot storm's first packets.
	 */
	U32KEY(LIMITS, "unverified_bytes_rate", unverified_bytes_rate, 0,
	    CONFIG_MAX_UNVERIFIED_BYTES, 67108864, LIVE),
	U32KEY(LIMITS, "unverified_bytes_burst", unverified_bytes_burst,
	    CONFIG_MIN_UNVERIFIED_BURST, CONFIG_MAX_UNVERIFIED_BYTES, 8388608,
	    LIVE),

	/* No tighter than max_transfers: see snowowl-tftpd.conf(5). */
	U32KEY(PERF, "buffer_pool_size", buffer_pool_size, 1,
	    CONFIG_MAX_TRANSFERS, 1024, RESTART),

	BOOLKEY(BATCH, "enable_recvmmsg", enable_recvmmsg, true, RESTART),
	BOOLKEY(BATCH, "enable_sendmmsg", enable_sendmmsg, true, RESTART),
	BOOLKEY(BATCH, "enable_gso", enable_gso, true, RESTART),
	U32KEY(BATCH, "max_batch_size", max_batch_size, 1, 1024, 32, RESTART),
	U32KEY(BATCH, "batch_timeout_us", batch_timeout_us, 0, 1000000, 0,
	    RESTART),

	U32KEY(SOCKET, "recv_buffer_kb", recv_buffer_kb, 0, 1048576, 4096,
	    RESTART),
	U32KEY(SOCKET, "send_buffer_kb", send_buffer_kb, 0, 1048576, 4096,
	    RESTART),
	BOOLKEY(SOCKET, "reuse_address", reuse_address, true, RESTART),
	BOOLKEY(SOCKET, "reuse_port", reuse_port, true, RESTART),
};
#define NKEYS	(sizeof(keys) / sizeof(keys[0]))

static const char *const sections[] = {
	SERVER, TRANSFER, WRITE, ACCESS, LIMITS, PERF, BATCH, SOCKET,
};

/* What an instance name may contain: safe in a file name, never a path. */
static const char instance_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "abcdefghijklmnopqrstuvwxyz0123456789._-";

static const char *const family_names[] = {
	[FAMILY_ANY]	= "any",
	[FAMILY_IPV4]	= "ipv4",
	[FAMILY_IPV6]	= "ipv6",
};

static const char *const log_format_names[] = {
	[LOG_FORMAT_TEXT]	= "text",
	[LOG_FORMAT_JSON]	= "json",
};

static const char *const refuse_names[] = {
	[REFUSE_ERROR]	= "error",
	[REFUSE_DROP]	= "drop",
};

static const char *const client_root_names[] = {
	[CLIENT_ROOT_NO]	= "no",
	[CLIENT_ROOT_IP]	= "ip",
};

/*
 * root shares /run/snowowl-tftpd; anyone else gets a directory of their
 * own, so a developer's server (and tftpctl) works without privileges and
 * never collides with the system's.  The master refuses a directory that
 * another user owns, so a name planted in /tmp does not capture us.
 *
 * Worked out once per process: a master started as root reloads as the
 * service user, and the default it reloads with must be the one it runs
 * with, not that user's own (which would be a change that needs a
 * restart, and a false warning on every reload).
 */
void
config_default_rundir(char *buf, size_t len)
{
	static char	 dir[PATH_MAX];
	const char	*xdg;

	if (dir[0] == '\0') {
		xdg = getenv("XDG_RUNTIME_DIR");
		if (geteuid() == 0)
			snprintf(dir, sizeof(dir), "%s",
			    CONFIG_DEFAULT_RUNDIR);
		else if (xdg != NULL && xdg[0] == '/')
			snprintf(dir, sizeof(dir), "%s/snowowl-tftpd", xdg);
		else
			snprintf(dir, sizeof(dir), "/tmp/snowowl-tftpd-%lu",
			    (unsigned long)geteuid());
	}
	snprintf(buf, len, "%s", dir);
}

void
config_defaults(struct tftpd_config *c)
{
	const struct key_def *k;
	bool b;

	/* Padding too, so configurations compare with memcmp(). */
	memset(c, 0, sizeof(*c));
	for (k = keys; k < keys + NKEYS; k++) {
		if (k->type == KT_BOOL) {
			b = k->def != 0;
			memcpy((char *)c + k->off, &b, sizeof(b));
		} else if (k->type == KT_U32) {
			memcpy((char *)c + k->off, &k->def, sizeof(k->def));
		}
	}
	/* The keys whose values are not a plain number or boolean. */
	c->family = FAMILY_ANY;
	snprintf(c->root, sizeof(c->root), "%s", CONFIG_DEFAULT_ROOT);
	c->nroot = 1;
	snprintf(c->user, sizeof(c->user), "%s", "tftp");
	config_default_rundir(c->runtime_dir, sizeof(c->runtime_dir));
	c->log = LOG_TO_SYSLOG;
	c->log_level = LOG_INFO;
	c->log_format = LOG_FORMAT_TEXT;
	c->timeout_ms = 1000;
	c->allowed_opts = TFTP_OPT_ALL;
	c->umask = 022;
	c->client_root = CLIENT_ROOT_NO;
	c->refuse = REFUSE_ERROR;
}

/*
 * Operator text quoted back in a message: escaped and bounded.  buf has
 * VALUE_SHOW_MAX bytes.  str_vis() stops short of a full buffer only when
 * it truncated, hence the larger scratch copy.
 */
static const char *
show(const char *value, char *buf, size_t len)
{
	char	 tmp[VALUE_SHOW_MAX + 4];
	size_t	 n;

	if (len > VALUE_SHOW_MAX)
		len = VALUE_SHOW_MAX;
	if ((n = str_vis(tmp, sizeof(tmp), value)) < len) {
		memcpy(buf, tmp, n + 1);
		return buf;
	}
	n = str_vis(buf, len - 3, value);
	memcpy(buf + n, "...", 4);
	return buf;
}

static int
bad_number(int r, const char *value, uint32_t min, uint32_t max, char *why,
    size_t whylen)
{
	char	 v[VALUE_SHOW_MAX];

	if (r == -ERANGE)
		snprintf(why, whylen, "\"%s\" is out of range %u..%u",
		    show(value, v, sizeof(v)), min, max);
	else
		snprintf(why, whylen, "\"%s\" is not a number",
		    show(value, v, sizeof(v)));
	return r;
}

static int
parse_opts(const char *value, uint32_t *mask, char *why, size_t whylen)
{
	char	 tok[32], v[VALUE_SHOW_MAX];
	int	 r, o;

	*mask = 0;
	while ((r = strlist_next(&value, tok, sizeof(tok))) != 0) {
		if (r < 0 || (o = proto_opt_lookup(tok)) < 0) {
			snprintf(why, whylen, "unknown option \"%s\"",
			    show(tok, v, sizeof(v)));
			return -EINVAL;
		}
		*mask |= TFTP_OPT_BIT(o);
	}
	return 0;
}

/*
 * A listen entry naming a host, "NAME", "NAME:PORT" or "[NAME]:PORT"
 * (numeric entries never come here): every address it resolves to is
 * added after la[*n], as in.tftpd binds them all; family (-4, -6) then
 * picks among them as among numeric entries.  Names are resolved when
 * the configuration is read, at start and at each reload.
 */
static int
resolve_listen(const char *tok, struct listen_addr *la, uint32_t *n,
    char *why, size_t whylen)
{
	struct addrinfo		 hints, *res, *ai;
	char			 host[256], v[VALUE_SHOW_MAX];
	const char		*port = "69", *end, *orig = tok;
	uint32_t		 first = *n, i, pnum;
	size_t			 hlen;
	int			 r;

	if (tok[0] == '[') {
		hlen = strcspn(++tok, "]");
		end = tok + hlen;
		/* Not "[NAME]" nor "[NAME]:PORT": refused below as empty. */
		if (*end != ']' || (end[1] != '\0' && end[1] != ':'))
			hlen = 0;
		else if (end[1] == ':')
			port = end + 2;
	} else {
		hlen = strcspn(tok, ":");
		if (tok[hlen] == ':')
			port = tok + hlen + 1;
		/* Two colons: a broken IPv6 address, not a name. */
		if (strchr(port, ':') != NULL)
			hlen = sizeof(host);
	}
	/* A bad dotted quad ("300.1.2.3") is not worth a DNS query. */
	if (hlen == 0 || hlen >= sizeof(host) ||
	    strspn(tok, "0123456789.") >= hlen ||
	    parse_u32(port, 1, 65535, &pnum) < 0) {
		snprintf(why, whylen, "\"%s\" is not an address: [ADDR][:PORT] "
		    "or NAME[:PORT], IPv6 in brackets when a port follows",
		    show(orig, v, sizeof(v)));
		return -EINVAL;
	}
	memcpy(host, tok, hlen);
	host[hlen] = '\0';

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_DGRAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((r = getaddrinfo(host, port, &hints, &res)) != 0) {
		snprintf(why, whylen, "cannot resolve \"%s\": %s",
		    show(host, v, sizeof(v)), r == EAI_SYSTEM ?
		    strerror(errno) : gai_strerror(r));
		return -ENOENT;
	}
	r = 0;
	for (ai = res; ai != NULL && r == 0; ai = ai->ai_next) {
		if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) ||
		    ai->ai_addrlen > sizeof(la[0].ss))
			continue;
		/* A name listed twice (/etc/hosts and DNS) is bound once. */
		for (i = first; i < *n; i++)
			if (la[i].len == ai->ai_addrlen &&
			    memcmp(&la[i].ss, ai->ai_addr, ai->ai_addrlen) == 0)
				break;
		if (i < *n)
			continue;
		if (*n == CONFIG_MAX_LISTEN) {
			snprintf(why, whylen, "more than %d addresses",
			    CONFIG_MAX_LISTEN);
			r = -E2BIG;
			break;
		}
		memset(&la[*n], 0, sizeof(la[*n]));
		memcpy(&la[*n].ss, ai->ai_addr, ai->ai_addrlen);
		la[*n].len = ai->ai_addrlen;
		(*n)++;
	}
	freeaddrinfo(res);
	if (r == 0 && *n == first) {
		snprintf(why, whylen, "\"%s\" has no IPv4 or IPv6 address",
		    show(host, v, sizeof(v)));
		r = -ENOENT;
	}
	return r;
}

/*
 * An entry without an address means "every address": with family = any
 * that is both wildcards, as for the default; the binder skips entries of
 * the other family when family is ipv4 or ipv6.
 */
static int
set_listen(struct tftpd_config *c, const char *value, bool append,
    char *why, size_t whylen)
{
	struct listen_addr	 la[CONFIG_MAX_LISTEN];
	uint32_t		 n = 0;
	char			 tok[128], v[VALUE_SHOW_MAX];
	int			 fams[2], nfam, f, r, e;

	/* Padding included: configs compare with memcmp. */
	memset(la, 0, sizeof(la));
	if (append) {
		n = c->nlisten;
		memcpy(la, c->listen, sizeof(la));
	}
	while ((r = strlist_next(&value, tok, sizeof(tok))) != 0) {
		if (tok[0] == ':' && strchr(tok + 1, ':') == NULL) {
			fams[0] = AF_INET;
			fams[1] = AF_INET6;
			nfam = 2;
		} else {
			fams[0] = AF_UNSPEC;
			nfam = 1;
		}
		for (f = 0; f < nfam; f++) {
			if (n == CONFIG_MAX_LISTEN) {
				snprintf(why, whylen, "more than %d addresses",
				    CONFIG_MAX_LISTEN);
				return -E2BIG;
			}
			if (r < 0) {
				snprintf(why, whylen, "\"%s\" is not an "
				    "address: [ADDR][:PORT], IPv6 in brackets "
				    "when a port follows",
				    show(tok, v, sizeof(v)));
				return -EINVAL;
			}
			if (parse_sockaddr(tok, fams[f], 69, &la[n].ss,
			    &la[n].len) == 0)
				n++;
			else if ((e = resolve_listen(tok, la, &n, why,
			    whylen)) < 0)
				return e;
		}
	}
	memcpy(c->listen, la, sizeof(la));
	c->nlisten = n;
	return 0;
}

static int
set_family(struct tftpd_config *c, const char *value, bool append,
    char *why, size_t whylen)
{
	char	 v[VALUE_SHOW_MAX];
	size_t	 i;

	for (i = 0; i < sizeof(family_names) / sizeof(family_names[0]); i++) {
		if (strcasecmp(value, family_names[i]) == 0) {
			c->family = (enum config_family)i;
			return 0;
		}
	}
	snprintf(why, whylen, "\"%s\" is not one of " FAMILY_CHOICES,
	    show(value, v, sizeof(v)));
	return -EINVAL;
}

static int
set_client_root(struct tftpd_config *c, const char *value, bool append,
    char *why, size_t whylen)
{
	char	 v[VALUE_SHOW_MAX];
	size_t	 i;

	for (i = 0; i < sizeof(client_root_names) /
	    sizeof(client_root_names[0]); i++) {
		if (strcasecmp(value, client_root_names[i]) == 0) {
			c->client_root = (enum config_client_root)i;
			return 0;
		}
	}
	snprintf(why, whylen, "\"%s\" is not one of " CLIENT_ROOT_CHOICES,
	    show(value, v, sizeof(v)));
	return -EINVAL;
}

static int
set_log(struct tftpd_config *c, const char *value, bool append, char *why,
    size_t whylen)
{
	char	 v[VALUE_SHOW_MAX];

	if (strcasecmp(value, "syslog") == 0)
		c->log = LOG_TO_SYSLOG;
	else if (strcasecmp(value, "stderr") == 0)
		c->log = LOG_TO_STDERR;
	else {
		snprintf(why, whylen, "\"%s\" is not one of " LOG_CHOICES,
		    show(value, v, sizeof(v)));
		return -EINVAL;
	}
	c->log_set = true;
	return 0;
}

static int
set_log_level(struct tftpd_config *c, const char *value, bool append,
    char *why, size_t whylen)
{
	char	 v[VALUE_SHOW_MAX];
	int	 level;

	if ((level = log_level_parse(value)) < 0) {
		snprintf(why, whylen, "\"%s\" is not one of "
		    LEVEL_CHOICES, show(value, v, sizeof(v)));
		return -EINVAL;
	}
	c->log_level = level;
	return 0;
}

static int
set_log_format(struct tftpd_config *c, const char *value, bool append,
    char *why, size_t whylen)
{
	char	 v[VALUE_SHOW_MAX];
	size_t	 i;

	for (i = 0; i < sizeof(log_format_names) /
	    sizeof(log_format_names[0]); i++) {
		if (strcasecmp(value, log_format_names[i]) == 0) {
			c->log_format = (enum config_log_format)i;
			return 0;
		}
	}
	snprintf(why, whylen, "\"%s\" is not one of " LOG_FORMAT_CHOICES,
	    show(value, v, sizeof(v)));
	return -EINVAL;
}

/*
 * One directory per value, added to the packed list; the whole list
 * fits root[], as one path would.
 */
static int
set_root(struct tftpd_config *c, const char *value, bool append, char *why,
    size_t whylen)
{
	const char	*dirs[CONFIG_MAX_ROOTS];
	size_t		 n = strlen(value), off = 0, i, nroot = 0;

	if (n == 0) {
		snprintf(why, whylen, "must not be empty");
		return -EINVAL;
	}
	if (append)
		nroot = config_roots(c, dirs, CONFIG_MAX_ROOTS);
	for (i = 0; i < nroot; i++)
		off += strlen(dirs[i]) + 1;
	if (nroot == CONFIG_MAX_ROOTS) {
		snprintf(why, whylen, "more than %d directories",
		    CONFIG_MAX_ROOTS);
		return -E2BIG;
	}
	if (off + n + 1 > sizeof(c->root)) {
		snprintf(why, whylen, "the directories are longer than %zu "
		    "bytes together", sizeof(c->root) - 1);
		return -ENAMETOOLONG;
	}
	if (!append)
		memset(c->root, 0, sizeof(c->root));
	memcpy(c->root + off, value, n + 1);
	c->nroot = (uint32_t)nroot + 1;
	return 0;
}

size_t
config_roots(const struct tftpd_config *c, const char **out, size_t max)
{
	const char	*p = c->root, *end = c->root + sizeof(c->root);
	size_t		 i, n;

	for (i = 0; i < c->nroot && i < max && p < end; i++) {
		n = strnlen(p, (size_t)(end - p));
		if (n == (size_t)(end - p))
			break;
		out[i] = p;
		p += n + 1;
	}
	return i;
}

/* Empty means "derive it from the first listen address". */
static int
set_instance(struct tftpd_config *c, const char *value, bool append,
    char *why, size_t whylen)
{
	char	 v[VALUE_SHOW_MAX];

	if (*value != '\0' && !config_instance_valid(value)) {
		snprintf(why, whylen, "\"%s\" is not an instance name ("
		    CONFIG_INSTANCE_RULE ")", show(value, v, sizeof(v)),
		    CONFIG_INSTANCE_MAX - 1);
		return -EINVAL;
	}
	memset(c->instance, 0, sizeof(c->instance));
	memcpy(c->instance, value, strlen(value));
	return 0;
}

/*
 * Seconds, RFC 2349's unit, or a number with a unit for the sub-second
 * intervals of in.tftpd's -T (microseconds).  Every unit has the range
 * of tftp-hpa's utimeout, 10 ms to 255 s; stored in milliseconds, our
 * timers' unit, microseconds rounded up.
 */
static int
set_timeout(struct tftpd_config *c, const char *value, bool append,
    char *why, size_t whylen)
{
	static const struct {
		const char	*unit;
		uint32_t	 min;
		uint32_t	 max;
		uint32_t	 us;	/* microseconds per unit */
	} units[] = {
		{ "", TFTP_TIMEOUT_MIN, TFTP_TIMEOUT_MAX, 1000000 },
		{ "s", TFTP_TIMEOUT_MIN, TFTP_TIMEOUT_MAX, 1000000 },
		{ "ms", TFTP_UTIMEOUT_MIN / 1000, TFTP_UTIMEOUT_MAX / 1000,
		    1000 },
		{ "us", TFTP_UTIMEOUT_MIN, TFTP_UTIMEOUT_MAX, 1 },
	};
	char		 num[16];
	uint32_t	 v;
	size_t		 n, i;
	int		 r;

	n = strspn(value, "0123456789");
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcasecmp(value + n, units[i].unit) == 0)
			break;
	if (i == sizeof(units) / sizeof(units[0]) || n == 0)
		return bad_number(-EINVAL, value, 0, 0, why, whylen);
	/* Too many digits for num: too many for any unit's range. */
	memcpy(num, value, n < sizeof(num) ? n : sizeof(num) - 1);
	num[n < sizeof(num) ? n : sizeof(num) - 1] = '\0';
	if ((r = n < sizeof(num) ? parse_u32(num, units[i].min, units[i].max,
	    &v) : -ERANGE) < 0)
		return bad_number(r, value, units[i].min, units[i].max, why,
		    whylen);
	c->timeout_ms = (uint32_t)(((uint64_t)v * units[i].us + 999) / 1000);
	return 0;
}

static int
set_allow_options(struct tftpd_config *c, const char *value, bool append,
    char *why, size_t whylen)
{
	uint32_t	 mask;
	int		 r;

	if ((r = parse_opts(value, &mask, why, whylen)) < 0)
		return r;
	c->allowed_opts = append ? c->allowed_opts | mask : mask;
	return 0;
}

/*
 * Only the difference is stored (allowed_opts), so a refusal takes the
 * names out of what is allowed now; the loader applies a file's refusals
 * again at its end, so their place in the file does not matter.
 */
static int
set_refuse_options(struct tftpd_config *c, const char *value, bool append,
    char *why, size_t whylen)
{
	uint32_t	 mask;
	int		 r;

	if ((r = parse_opts(value, &mask, why, whylen)) < 0)
		return r;
	c->allowed_opts &= ~mask;
	return 0;
}

static int
set_port_range(struct tftpd_config *c, const char *value, bool append,
    char *why, size_t whylen)
{
	char		 lo[16], v[VALUE_SHOW_MAX];
	const char	*colon;
	uint32_t	 pmin, pmax;
	size_t		 n;

	if (*value == '\0') {
		c->port_min = c->port_max = 0;
		return 0;
	}
	if ((colon = strchr(value, ':')) == NULL ||
	    (n = (size_t)(colon - value)) >= sizeof(lo)) {
		snprintf(why, whylen, "\"%s\" is not LO:HI",
		    show(value, v, sizeof(v)));
		return -EINVAL;
	}
	memcpy(lo, value, n);
	lo[n] = '\0';
	if (parse_u32(lo, 0, UINT32_MAX, &pmin) < 0 ||
	    parse_u32(colon + 1, 0, UINT32_MAX, &pmax) < 0) {
		snprintf(why, whylen, "\"%s\" is not LO:HI",
		    show(value, v, sizeof(v)));
		return -EINVAL;
	}
	if (pmin < 1 || pmax > 65535 || pmin > pmax) {
		snprintf(why, whylen, "\"%s\": ports must be 1..65535 with "
		    "LO <= HI", show(value, v, sizeof(v)));
		return -ERANGE;
	}
	c->port_min = (uint16_t)pmin;
	c->port_max = (uint16_t)pmax;
	return 0;
}

static int
set_umask(struct tftpd_config *c, const char *value, bool append, char *why,
    size_t whylen)
{
	char	 v[VALUE_SHOW_MAX];
	int	 r;

	if ((r = parse_umask(value, &c->umask)) < 0) {
		if (r == -ERANGE)
			snprintf(why, whylen, "\"%s\" is out of range "
			    "000..0777", show(value, v, sizeof(v)));
		else
			snprintf(why, whylen, "\"%s\" is not an octal mask",
			    show(value, v, sizeof(v)));
		return r;
	}
	return 0;
}

static int
set_max_file_size(struct tftpd_config *c, const char *value, bool append,
    char *why, size_t whylen)
{
	char	 v[VALUE_SHOW_MAX];
	int	 r;

	if ((r = parse_size(value, UINT64_MAX, &c->max_file_size)) < 0) {
		if (r == -ERANGE)
			snprintf(why, whylen, "\"%s\" is too large",
			    show(value, v, sizeof(v)));
		else
			snprintf(why, whylen, "\"%s\" is not a size (a number "
			    "with an optional K, M, G or T)",
			    show(value, v, sizeof(v)));
		return r;
	}
	return 0;
}

/*
 * Requests are matched after their leading '/' is stripped, so a pattern
 * loses its own too: "/upload/\*" means what the operator meant.
 */
static int
set_write_allow(struct tftpd_config *c, const char *value, bool append,
    char *why, size_t whylen)
{
	char		 pat[CONFIG_MAX_PATTERNS][CONFIG_PATTERN_MAX];
	char		 tok[CONFIG_PATTERN_MAX + 1], v[VALUE_SHOW_MAX];
	const char	*p;
	uint32_t	 n = 0;
	int		 r;

	if (append) {
		n = c->nwrite_allow;
		memcpy(pat, c->write_allow, sizeof(pat));
	}
	while ((r = strlist_next(&value, tok, sizeof(tok))) != 0) {
		p = tok + strspn(tok, "/");
		if (r < 0 || strlen(p) >= CONFIG_PATTERN_MAX) {
			snprintf(why, whylen, "pattern \"%s\" is longer than "
			    "%d bytes", show(tok, v, sizeof(v)),
			    CONFIG_PATTERN_MAX - 1);
			return -ENAMETOOLONG;
		}
		if (*p == '\0') {
			snprintf(why, whylen, "pattern \"%s\" matches no "
			    "file name", show(tok, v, sizeof(v)));
			return -EINVAL;
		}
		if (n == CONFIG_MAX_PATTERNS) {
			snprintf(why, whylen, "more than %d patterns",
			    CONFIG_MAX_PATTERNS);
			return -E2BIG;
		}
		memset(pat[n], 0, sizeof(pat[n]));
		memcpy(pat[n], p, strlen(p) + 1);
		n++;
	}
	memset(c->write_allow, 0, sizeof(c->write_allow));
	memcpy(c->write_allow, pat, n * sizeof(pat[0]));
	c->nwrite_allow = n;
	return 0;
}

/* Lists of client prefixes (acl.h); an empty value empties one. */
static int
set_acl_read_allow(struct tftpd_config *c, const char *value, bool append,
    char *why, size_t whylen)
{
	return acl_parse(&c->acl_read_allow, value, append, why, whylen);
}

static int
set_acl_read_deny(struct tftpd_config *c, const char *value, bool append,
    char *why, size_t whylen)
{
	return acl_parse(&c->acl_read_deny, value, append, why, whylen);
}

static int
set_acl_write_allow(struct tftpd_config *c, const char *value, bool append,
    char *why, size_t whylen)
{
	return acl_parse(&c->acl_write_allow, value, append, why, whylen);
}

static int
set_acl_write_deny(struct tftpd_config *c, const char *value, bool append,
    char *why, size_t whylen)
{
	return acl_parse(&c->acl_write_deny, value, append, why, whylen);
}

static int
set_refuse(struct tftpd_config *c, const char *value, bool append,
    char *why, size_t whylen)
{
	char	 v[VALUE_SHOW_MAX];
	size_t	 i;

	for (i = 0; i < sizeof(refuse_names) / sizeof(refuse_names[0]); i++) {
		if (strcasecmp(value, refuse_names[i]) == 0) {
			c->refuse = (enum config_refuse)i;
			return 0;
		}
	}
	snprintf(why, whylen, "\"%s\" is not one of " REFUSE_CHOICES,
	    show(value, v, sizeof(v)));
	return -EINVAL;
}

/*
 * One line of a key: "key = value", or "key =" when the value is empty,
 * or with o->bare the value alone.  prec bounds v as printf's "%.*s"
 * does; negative, v is a terminated string.
 */
static void
put_value(const struct key_out *o, const struct key_def *k, const char *v,
    int prec)
{
	if (o->bare)
		fprintf(o->fp, "%.*s\n", prec, v);
	else if (v[0] == '\0')
		fprintf(o->fp, "%s =\n", k->name);
	else
		fprintf(o->fp, "%s = %.*s\n", k->name, prec, v);
}

static void
print_listen(const struct tftpd_config *c, const struct key_def *k,
    const struct key_out *o)
{
	char		 buf[SOCKADDR_STRLEN];
	uint32_t	 i;

	if (c->nlisten == 0)
		put_value(o, k, "", -1);
	/* One entry per line: libinih's lines are short. */
	for (i = 0; i < c->nlisten && i < CONFIG_MAX_LISTEN; i++)
		put_value(o, k, sockaddr_str((const struct sockaddr *)
		    &c->listen[i].ss, buf, sizeof(buf)), -1);
}

static void
print_client_root(const struct tftpd_config *c, const struct key_def *k,
    const struct key_out *o)
{
	put_value(o, k, (unsigned)c->client_root <= CLIENT_ROOT_IP ?
	    client_root_names[c->client_root] : "?", -1);
}

static void
print_family(const struct tftpd_config *c, const struct key_def *k,
    const struct key_out *o)
{
	put_value(o, k, (unsigned)c->family <= FAMILY_IPV6 ?
	    family_names[c->family] : "?", -1);
}

static void
print_log(const struct tftpd_config *c, const struct key_def *k,
    const struct key_out *o)
{
	put_value(o, k, c->log == LOG_TO_STDERR ? "stderr" : "syslog", -1);
}

static void
print_log_level(const struct tftpd_config *c, const struct key_def *k,
    const struct key_out *o)
{
	put_value(o, k, log_level_name(c->log_level), -1);
}

static void
print_log_format(const struct tftpd_config *c, const struct key_def *k,
    const struct key_out *o)
{
	put_value(o, k, (unsigned)c->log_format <= LOG_FORMAT_JSON ?
	    log_format_names[c->log_format] : "?", -1);
}

static void
print_instance(const struct tftpd_config *c, const struct key_def *k,
    const struct key_out *o)
{
	put_value(o, k, c->instance, CONFIG_INSTANCE_MAX - 1);
}

static void
print_timeout(const struct tftpd_config *c, const struct key_def *k,
    const struct key_out *o)
{
	char	 buf[16];

	if (c->timeout_ms % 1000 == 0)
		snprintf(buf, sizeof(buf), "%u", c->timeout_ms / 1000);
	else
		snprintf(buf, sizeof(buf), "%ums", c->timeout_ms);
	put_value(o, k, buf, -1);
}

static void
print_allow_options(const struct tftpd_config *c, const struct key_def *k,
    const struct key_out *o)
{
	char	 buf[TFTP_OPT_MAX * 32];
	size_t	 off = 0;
	int	 opt, n;

	buf[0] = '\0';
	for (opt = 0; opt < TFTP_OPT_MAX; opt++) {
		if (!(c->allowed_opts & TFTP_OPT_BIT(opt)))
			continue;
		n = snprintf(buf + off, sizeof(buf) - off, "%s%s",
		    off > 0 ? " " : "", proto_opt_name(opt));
		if (n < 0 || (size_t)n >= sizeof(buf) - off)
			break;
		off += (size_t)n;
	}
	put_value(o, k, buf, -1);
}

static void
print_refuse_options(const struct tftpd_config *c, const struct key_def *k,
    const struct key_out *o)
{
	/* Already taken out of allow_options. */
	put_value(o, k, "", -1);
}

static void
print_port_range(const struct tftpd_config *c, const struct key_def *k,
    const struct key_out *o)
{
	char	 buf[16];

	buf[0] = '\0';
	if (c->port_min != 0 || c->port_max != 0)
		snprintf(buf, sizeof(buf), "%u:%u", c->port_min, c->port_max);
	put_value(o, k, buf, -1);
}

static void
print_umask(const struct tftpd_config *c, const struct key_def *k,
    const struct key_out *o)
{
	char	 buf[16];

	snprintf(buf, sizeof(buf), "%03o", c->umask);
	put_value(o, k, buf, -1);
}

static void
print_max_file_size(const struct tftpd_config *c, const struct key_def *k,
    const struct key_out *o)
{
	char	 buf[24];

	snprintf(buf, sizeof(buf), "%llu",
	    (unsigned long long)c->max_file_size);
	put_value(o, k, buf, -1);
}

static void
print_root(const struct tftpd_config *c, const struct key_def *k,
    const struct key_out *o)
{
	const char	*dirs[CONFIG_MAX_ROOTS];
	size_t		 i, n;

	n = config_roots(c, dirs, CONFIG_MAX_ROOTS);
	for (i = 0; i < n; i++)
		put_value(o, k, dirs[i], -1);
}

static void
print_write_allow(const struct tftpd_config *c, const struct key_def *k,
    const struct key_out *o)
{
	uint32_t	 i;

	if (c->nwrite_allow == 0)
		put_value(o, k, "", -1);
	for (i = 0; i < c->nwrite_allow && i < CONFIG_MAX_PATTERNS; i++)
		put_value(o, k, c->write_allow[i], CONFIG_PATTERN_MAX - 1);
}

/* One prefix per line, as write.allow's patterns: lines stay short. */
static void
print_acl(const struct tftpd_config *c, const struct key_def *k,
    const struct key_out *o)
{
	const struct acl_list	*l;
	char			 buf[ACL_PREFIX_STRLEN];
	uint32_t		 i;

	l = (const struct acl_list *)(const void *)((const char *)c + k->off);
	if (l->n == 0)
		put_value(o, k, "", -1);
	for (i = 0; i < l->n && i < ACL_MAX; i++)
		put_value(o, k, acl_prefix_str(&l->p[i], buf, sizeof(buf)),
		    -1);
}

static void
print_refuse(const struct tftpd_config *c, const struct key_def *k,
    const struct key_out *o)
{
	put_value(o, k, (unsigned)c->refuse <= REFUSE_DROP ?
	    refuse_names[c->refuse] : "?", -1);
}

static bool
section_known(const char *section)
{
	size_t	 i;

	for (i = 0; i < sizeof(sections) / sizeof(sections[0]); i++)
		if (strcmp(section, sections[i]) == 0)
			return true;
	return false;
}

/* Section and key names are case-sensitive, as they are printed. */
static const struct key_def *
key_find(const char *section, const char *name, bool *known)
{
	size_t	 i;

	*known = section_known(section);
	if (!*known)
		return NULL;
	for (i = 0; i < NKEYS; i++)
		if (strcmp(keys[i].section, section) == 0 &&
		    strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

static int
set_key(struct tftpd_config *c, const struct key_def *k, const char *value,
    bool append, char *why, size_t whylen)
{
	char	*base = (char *)c;
	char	 v[VALUE_SHOW_MAX];
	size_t	 n;
	int	 r;

	switch (k->type) {
	case KT_BOOL:
		if ((r = parse_bool(value, (bool *)(base + k->off))) < 0)
			snprintf(why, whylen, "\"%s\" is not a boolean "
			    "(yes/no, true/false, on/off, 1/0)",
			    show(value, v, sizeof(v)));
		return r;
	case KT_U32:
		if ((r = parse_u32(value, k->min, k->max,
		    (uint32_t *)(base + k->off))) < 0)
			return bad_number(r, value, k->min, k->max, why,
			    whylen);
		return 0;
	case KT_STR:
		n = strlen(value);
		if (n == 0 && k->min > 0) {
			snprintf(why, whylen, "must not be empty");
			return -EINVAL;
		}
		if (n >= k->size) {
			snprintf(why, whylen, "longer than %zu bytes",
			    k->size - 1);
			return -ENAMETOOLONG;
		}
		memset(base + k->off, 0, k->size);
		memcpy(base + k->off, value, n);
		return 0;
	case KT_FUNC:
		return k->set(c, value, append, why, whylen);
	}
	return -EINVAL;
}

static int
lookup_and_set(struct tftpd_config *c, const char *section, const char *name,
    const char *value, bool append, const struct key_def **kp, char *why,
    size_t whylen)
{
	const struct key_def	*k;
	bool			 known;

	*kp = NULL;
	if ((k = key_find(section, name, &known)) == NULL) {
		snprintf(why, whylen, known ? "unknown key" :
		    "unknown section");
		return -EINVAL;
	}
	*kp = k;
	return set_key(c, k, value, append, why, whylen);
}

static int
set_or_add(struct tftpd_config *c, const char *section, const char *key,
    const char *value, bool append, char *err, size_t errlen)
{
	const struct key_def	*k;
	char			 why[CONFIG_ERR_MAX];
	int			 r;

	if (section == NULL || key == NULL || value == NULL) {
		snprintf(err, errlen, "missing section, key or value");
		return -EINVAL;
	}
	if ((r = lookup_and_set(c, section, key, value, append, &k, why,
	    sizeof(why))) < 0)
		snprintf(err, errlen, "%s.%s: %s", section, key, why);
	return r;
}

int
config_set(struct tftpd_config *c, const char *section, const char *key,
    const char *value, char *err, size_t errlen)
{
	return set_or_add(c, section, key, value, false, err, errlen);
}

int
config_add(struct tftpd_config *c, const char *section, const char *key,
    const char *value, char *err, size_t errlen)
{
	return set_or_add(c, section, key, value, true, err, errlen);
}

static int
load_fail(struct load_ctx *ctx, int rc, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	if (ctx->rc != 0)
		return 0;
	ctx->rc = rc;
	ctx->errline = ctx->lineno;
	n = snprintf(ctx->err, ctx->errlen, "%s:%d: ", ctx->path,
	    ctx->lineno);
	if (n >= 0 && (size_t)n < ctx->errlen) {
		va_start(ap, fmt);
		vsnprintf(ctx->err + n, ctx->errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return 0;
}

/*
 * libinih's handler is not told the line number (Debian builds it with
 * INI_HANDLER_LINENO=0), so the lines come through this reader, which
 * counts them.  It also
 *  - strips leading blanks, so an indented "key = value" is a key and
 *    never a continuation of the previous value;
 *  - refuses lines longer than libinih's buffer instead of letting the
 *    rest be read as another line (comments are cut short instead);
 *  - checks section headers, so an unknown empty section is an error;
 *  - stops the parse at the first error of any kind.
 */
static char *
load_reader(char *str, int num, void *stream)
{
	struct load_ctx	*ctx = stream;
	char		 v[VALUE_SHOW_MAX];
	char		*p, *end;
	ssize_t		 n;
	size_t		 len;

	if (ctx->rc != 0)
		return NULL;
	errno = 0;
	if ((n = getline(&ctx->buf, &ctx->cap, ctx->fp)) < 0) {
		if (ferror(ctx->fp)) {
			ctx->lineno++;
			load_fail(ctx, errno ? -errno : -EIO, "read: %s",
			    strerror(errno ? errno : EIO));
		}
		return NULL;
	}
	ctx->lineno++;
	len = (size_t)n;
	if (memchr(ctx->buf, '\0', len) != NULL) {
		load_fail(ctx, -EINVAL, "NUL byte in line");
		return NULL;
	}
	while (len > 0 && (ctx->buf[len - 1] == '\n' ||
	    ctx->buf[len - 1] == '\r'))
		ctx->buf[--len] = '\0';
	p = ctx->buf;
	/* A UTF-8 byte order mark, as libinih would skip it. */
	if (ctx->lineno == 1 && len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
		p += 3;
	p += strspn(p, " \t");
	len -= (size_t)(p - ctx->buf);
	/* A comment may be as long as it likes: libinih gets its start. */
	if ((*p == '#' || *p == ';') && num > 1 && len > (size_t)num - 1) {
		p[1] = '\0';
		len = 1;
	}
	if (num <= 1 || len > (size_t)num - 1) {
		load_fail(ctx, -E2BIG, "line longer than %d characters "
		    "(repeat a list key to continue a list)", num - 1);
		return NULL;
	}

	if (*p == '[') {
		if ((end = strchr(p, ']')) == NULL) {
			load_fail(ctx, -EINVAL, "syntax error: missing ']'");
			return NULL;
		}
		*end = '\0';
		if (!section_known(p + 1)) {
			load_fail(ctx, -EINVAL, "[%s]: unknown section",
			    show(p + 1, v, sizeof(v)));
			return NULL;
		}
		*end = ']';
	} else if (*p != '\0' && *p != ';' && *p != '#' &&
	    strpbrk(p, "=:") == NULL) {
		load_fail(ctx, -EINVAL, "syntax error: expected "
		    "\"[section]\" or \"key = value\"");
		return NULL;
	}
	memcpy(str, p, len + 1);
	return str;
}

static int
load_handler(void *user, const char *section, const char *name,
    const char *value)
{
	struct load_ctx		*ctx = user;
	const struct key_def	*k;
	char			 why[CONFIG_ERR_MAX], v[VALUE_SHOW_MAX];
	uint32_t		 mask;
	size_t			 idx;
	bool			 append = false;
	int			 r;

	if (ctx->rc != 0)
		return 0;
	if (*section == '\0') {
		load_fail(ctx, -EINVAL, "%s: outside of any [section]",
		    show(name, v, sizeof(v)));
		return 0;
	}
	/* The first mention of a list key replaces, later ones add. */
	if ((k = key_find(section, name, &(bool){ false })) != NULL) {
		idx = (size_t)(k - keys);
		append = k->list && (ctx->seen & (UINT64_C(1) << idx));
	}
	if ((r = lookup_and_set(ctx->c, section, name, value, append, &k,
	    why, sizeof(why))) < 0) {
		load_fail(ctx, r, "[%s] %s: %s", section,
		    show(name, v, sizeof(v)), why);
		return 0;
	}
	if (k->list)
		ctx->seen |= UINT64_C(1) << (size_t)(k - keys);
	if (k->set == set_refuse_options &&
	    parse_opts(value, &mask, why, sizeof(why)) == 0)
		ctx->refused |= mask;
	return 1;
}

int
config_load(struct tftpd_config *c, const char *path, bool must_exist,
    char *err, size_t errlen)
{
	struct load_ctx	 ctx;
	struct stat	 st;
	int		 fd, r;

	_Static_assert(NKEYS <= 64, "load_ctx.seen is a 64-bit mask");

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK))
	    < 0) {
		r = -errno;
		if (r == -ENOENT && !must_exist)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(-r));
		return r;
	}
	if (fstat(fd, &st) < 0) {
		r = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-r));
		goto out_close;
	}
	/* Not a FIFO (would block) nor a directory; /dev/null is fine. */
	if (!S_ISREG(st.st_mode) && !S_ISCHR(st.st_mode)) {
		r = S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
		snprintf(err, errlen, "%s: %s", path, S_ISDIR(st.st_mode) ?
		    strerror(EISDIR) : "not a regular file");
		goto out_close;
	}

	memset(&ctx, 0, sizeof(ctx));
	ctx.c = c;
	ctx.path = path;
	ctx.err = err;
	ctx.errlen = errlen;
	if ((ctx.fp = fdopen(fd, "r")) == NULL) {
		r = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-r));
		goto out_close;
	}

	r = ini_parse_stream(load_reader, &ctx, load_handler, &ctx);
	if (ctx.rc != 0 && (r <= 0 || r >= ctx.errline)) {
		r = ctx.rc;
	} else if (r > 0) {
		/* A syntax error only libinih saw (the reader's checks
		 * mirror its rules, so this is a backstop). */
		snprintf(err, errlen, "%s:%d: syntax error", path, r);
		r = -EINVAL;
	} else if (r < 0) {
		snprintf(err, errlen, "%s: out of memory", path);
		r = -ENOMEM;
	} else {
		c->allowed_opts &= ~ctx.refused;
	}
	free(ctx.buf);
	fclose(ctx.fp);
	return r;

out_close:
	close(fd);
	return r;
}

/*
 * Ranges again: the struct may have been filled by hand, and a worker
 * reading it from shared memory must treat it as input.
 */
static int
check_ranges(const struct tftpd_config *c, char *err, size_t errlen)
{
	const char		*base = (const char *)c;
	const struct key_def	*k;
	uint32_t		 v;
	size_t			 n;

	for (k = keys; k < keys + NKEYS; k++) {
		switch (k->type) {
		case KT_U32:
			memcpy(&v, base + k->off, sizeof(v));
			if (v < k->min || v > k->max) {
				snprintf(err, errlen, "%s.%s: %u is out of "
				    "range %u..%u", k->section, k->name, v,
				    k->min, k->max);
				return -ERANGE;
			}
			break;
		case KT_STR:
			n = strnlen(base + k->off, k->size);
			if (n == k->size || (n == 0 && k->min > 0)) {
				snprintf(err, errlen, "%s.%s: %s", k->section,
				    k->name, n == 0 ? "must not be empty" :
				    "not terminated");
				return -EINVAL;
			}
			break;
		default:
			break;
		}
	}
	return 0;
}

/*
 * The packed list as set_root() leaves it (the settings in shared memory
 * are input too); -s is a chroot to one directory, as in.tftpd's.
 */
static int
check_root(const struct tftpd_config *c, char *err, size_t errlen)
{
	const char	*dirs[CONFIG_MAX_ROOTS];
	size_t		 i, n;

	n = config_roots(c, dirs, CONFIG_MAX_ROOTS);
	if (c->nroot < 1 || c->nroot > CONFIG_MAX_ROOTS || n != c->nroot) {
		snprintf(err, errlen, "server.root: %u directories, or not "
		    "terminated (1..%d)", c->nroot, CONFIG_MAX_ROOTS);
		return -EINVAL;
	}
	for (i = 0; i < n; i++) {
		if (dirs[i][0] == '\0') {
			snprintf(err, errlen, "server.root: must not be "
			    "empty");
			return -EINVAL;
		}
	}
	if (c->secure && n > 1) {
		snprintf(err, errlen, "server.secure: takes exactly one root "
		    "directory (%zu given), as in.tftpd -s", n);
		return -EINVAL;
	}
	return 0;
}

static int
check_timeout(const struct tftpd_config *c, char *err, size_t errlen)
{
	if (c->timeout_ms < TFTP_UTIMEOUT_MIN / 1000 ||
	    c->timeout_ms > TFTP_UTIMEOUT_MAX / 1000) {
		snprintf(err, errlen, "transfer.timeout: %u ms is out of "
		    "range %d..%d ms", c->timeout_ms, TFTP_UTIMEOUT_MIN / 1000,
		    TFTP_UTIMEOUT_MAX / 1000);
		return -ERANGE;
	}
	return 0;
}

static int
check_family(const struct tftpd_config *c, char *err, size_t errlen)
{
	if ((unsigned)c->family > FAMILY_IPV6) {
		snprintf(err, errlen, "server.family: %u is not one of "
		    FAMILY_CHOICES, (unsigned)c->family);
		return -EINVAL;
	}
	return 0;
}

static int
check_client_root(const struct tftpd_config *c, char *err, size_t errlen)
{
	if ((unsigned)c->client_root > CLIENT_ROOT_IP) {
		snprintf(err, errlen, "transfer.client_root: %u is not one of "
		    CLIENT_ROOT_CHOICES, (unsigned)c->client_root);
		return -EINVAL;
	}
	return 0;
}

static int
check_log(const struct tftpd_config *c, char *err, size_t errlen)
{
	if (c->log != LOG_TO_STDERR && c->log != LOG_TO_SYSLOG) {
		snprintf(err, errlen, "server.log: %d is not one of "
		    LOG_CHOICES, (int)c->log);
		return -EINVAL;
	}
	return 0;
}

static int
check_log_level(const struct tftpd_config *c, char *err, size_t errlen)
{
	if (c->log_level < LOG_ERR || c->log_level > LOG_DEBUG) {
		snprintf(err, errlen, "server.log_level: %d is not one of "
		    LEVEL_CHOICES, c->log_level);
		return -EINVAL;
	}
	return 0;
}

static int
check_log_format(const struct tftpd_config *c, char *err, size_t errlen)
{
	if ((unsigned)c->log_format > LOG_FORMAT_JSON) {
		snprintf(err, errlen, "server.log_format: %u is not one of "
		    LOG_FORMAT_CHOICES, (unsigned)c->log_format);
		return -EINVAL;
	}
	return 0;
}

static int
check_allow_options(const struct tftpd_config *c, char *err, size_t errlen)
{
	if ((c->allowed_opts & ~TFTP_OPT_ALL) != 0) {
		snprintf(err, errlen, "transfer.allow_options: unknown option "
		    "bits %#x", c->allowed_opts & ~TFTP_OPT_ALL);
		return -EINVAL;
	}
	return 0;
}

static int
check_umask(const struct tftpd_config *c, char *err, size_t errlen)
{
	if (c->umask > 0777) {
		snprintf(err, errlen, "write.umask: %#o is out of range "
		    "000..0777", c->umask);
		return -EINVAL;
	}
	return 0;
}

/* Each worker must read its own clients' packets, and only them. */
static int
check_single_port(const struct tftpd_config *c, char *err, size_t errlen)
{
	if (c->single_port && !c->reuse_port && c->workers != 1) {
		snprintf(err, errlen, "transfer.single_port: the workers would "
		    "share one listen socket: needs performance.platform."
		    "socket.reuse_port = yes or server.workers = 1");
		return -EINVAL;
	}
	return 0;
}

static int
check_port_range(const struct tftpd_config *c, char *err, size_t errlen)
{
	if ((c->port_min == 0) != (c->port_max == 0) ||
	    c->port_min > c->port_max) {
		snprintf(err, errlen, "transfer.port_range: %u:%u: ports must "
		    "be 1..65535 with LO <= HI", c->port_min, c->port_max);
		return -ERANGE;
	}
	return 0;
}

static int
check_instance(const struct tftpd_config *c, char *err, size_t errlen)
{
	if (strnlen(c->instance, sizeof(c->instance)) == sizeof(c->instance) ||
	    (c->instance[0] != '\0' && !config_instance_valid(c->instance))) {
		snprintf(err, errlen, "server.instance: not a valid name");
		return -EINVAL;
	}
	return 0;
}

static int
check_write_allow(const struct tftpd_config *c, char *err, size_t errlen)
{
	uint32_t	 i;
	size_t		 n;

	if (c->nwrite_allow > CONFIG_MAX_PATTERNS) {
		snprintf(err, errlen, "write.allow: more than %d patterns",
		    CONFIG_MAX_PATTERNS);
		return -E2BIG;
	}
	for (i = 0; i < c->nwrite_allow; i++) {
		n = strnlen(c->write_allow[i], CONFIG_PATTERN_MAX);
		if (n == 0 || n == CONFIG_PATTERN_MAX) {
			snprintf(err, errlen, "write.allow: pattern %u is "
			    "empty or not terminated", i + 1);
			return -EINVAL;
		}
	}
	return 0;
}

static int
check_listen(const struct tftpd_config *c, char *err, size_t errlen)
{
	const struct sockaddr	*sa;
	char			 a[SOCKADDR_STRLEN];
	uint32_t		 i, j, nfam;
	int			 want;

	if (c->nlisten > CONFIG_MAX_LISTEN) {
		snprintf(err, errlen, "server.listen: more than %d addresses",
		    CONFIG_MAX_LISTEN);
		return -E2BIG;
	}
	want = c->family == FAMILY_IPV4 ? AF_INET :
	    c->family == FAMILY_IPV6 ? AF_INET6 : AF_UNSPEC;
	nfam = 0;
	for (i = 0; i < c->nlisten; i++) {
		sa = (const struct sockaddr *)&c->listen[i].ss;
		if (!(sa->sa_family == AF_INET && c->listen[i].len ==
		    sizeof(struct sockaddr_in)) &&
		    !(sa->sa_family == AF_INET6 && c->listen[i].len ==
		    sizeof(struct sockaddr_in6))) {
			snprintf(err, errlen, "server.listen: entry %u is "
			    "not an IPv4 or IPv6 address", i + 1);
			return -EINVAL;
		}
		if (want == AF_UNSPEC || sa->sa_family == want)
			nfam++;
		for (j = 0; j < i; j++) {
			if (c->listen[j].len == c->listen[i].len &&
			    memcmp(&c->listen[j].ss, &c->listen[i].ss,
			    c->listen[i].len) == 0) {
				snprintf(err, errlen, "server.listen: %s is "
				    "given twice", sockaddr_str(sa, a,
				    sizeof(a)));
				return -EINVAL;
			}
		}
	}
	if (c->nlisten > 0 && nfam == 0) {
		snprintf(err, errlen, "server.listen: no address of family "
		    "%s (server.family)", family_names[c->family]);
		return -EINVAL;
	}
	return 0;
}

/* The lists as acl_parse() makes them: they may come from the segment. */
static int
check_access(const struct tftpd_config *c, char *err, size_t errlen)
{
	static const struct {
		const char	*name;
		size_t		 off;
	} lists[] = {
		{ "read_allow", OFF(acl_read_allow) },
		{ "read_deny", OFF(acl_read_deny) },
		{ "write_allow", OFF(acl_write_allow) },
		{ "write_deny", OFF(acl_write_deny) },
	};
	const struct acl_list	*l;
	char			 why[CONFIG_ERR_MAX / 2];
	size_t			 i;

	for (i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		l = (const struct acl_list *)(const void *)
		    ((const char *)c + lists[i].off);
		if (acl_check(l, why, sizeof(why)) < 0) {
			snprintf(err, errlen, ACCESS ".%s: %s", lists[i].name,
			    why);
			return -EINVAL;
		}
	}
	if ((unsigned)c->refuse > REFUSE_DROP) {
		snprintf(err, errlen, ACCESS ".refuse: %u is not one of "
		    REFUSE_CHOICES, (unsigned)c->refuse);
		return -EINVAL;
	}
	return 0;
}

/* In this order: the first failure is the one reported. */
static const config_check checks[] = {
	check_ranges,
	check_root,
	check_timeout,
	check_family,
	check_log,
	check_log_level,
	check_log_format,
	check_allow_options,
	check_umask,
	check_single_port,
	check_port_range,
	check_instance,
	check_write_allow,
	check_client_root,
	check_access,
	/* After check_family: it names the family. */
	check_listen,
};

int
config_validate(const struct tftpd_config *c, char *err, size_t errlen)
{
	size_t	 i;
	int	 r;

	for (i = 0; i < sizeof(checks) / sizeof(checks[0]); i++)
		if ((r = checks[i](c, err, errlen)) < 0)
			return r;
	return 0;
}

static void
print_one(const struct tftpd_config *c, const struct key_def *k,
    const struct key_out *o)
{
	const char	*base = (const char *)c;
	char		 buf[16];
	uint32_t	 v;
	bool		 b;

	switch (k->type) {
	case KT_BOOL:
		memcpy(&b, base + k->off, sizeof(b));
		put_value(o, k, b ? "yes" : "no", -1);
		break;
	case KT_U32:
		memcpy(&v, base + k->off, sizeof(v));
		snprintf(buf, sizeof(buf), "%u", v);
		put_value(o, k, buf, -1);
		break;
	case KT_STR:
		put_value(o, k, base + k->off, (int)k->size);
		break;
	case KT_FUNC:
		k->print(c, k, o);
		break;
	}
}

void
config_dump(const struct tftpd_config *c, FILE *fp)
{
	const struct key_out	 o = { fp, false };
	const char		*section = NULL;
	const struct key_def	*k;

	for (k = keys; k < keys + NKEYS; k++) {
		if (section == NULL || strcmp(section, k->section) != 0) {
			fprintf(fp, "%s[%s]\n", section == NULL ? "" : "\n",
			    k->section);
			section = k->section;
		}
		print_one(c, k, &o);
	}
}

int
config_find_key(const char *name, const char **section, const char **key)
{
	const struct key_def	*k, *found = NULL;
	const char		*dot;
	size_t			 slen;

	/* Section names have dots of their own: the key is after the
	 * last one. */
	if ((dot = strrchr(name, '.')) != NULL) {
		slen = (size_t)(dot - name);
		for (k = keys; k < keys + NKEYS; k++)
			if (strlen(k->section) == slen &&
			    strncmp(k->section, name, slen) == 0 &&
			    strcmp(k->name, dot + 1) == 0)
				found = k;
	} else {
		for (k = keys; k < keys + NKEYS; k++) {
			if (strcmp(k->name, name) != 0)
				continue;
			if (found != NULL)
				return -ENOTUNIQ;
			found = k;
		}
	}
	if (found == NULL)
		return -ENOENT;
	*section = found->section;
	*key = found->name;
	return 0;
}

bool
config_key_live(const char *section, const char *key)
{
	const struct key_def	*k;
	bool			 known;

	if (section == NULL || key == NULL)
		return false;
	k = key_find(section, key, &known);
	return k != NULL && k->live;
}

static int
print_key(const struct tftpd_config *c, const char *section,
    const char *key, bool bare, FILE *fp)
{
	const struct key_out	 o = { fp, bare };
	const struct key_def	*k;
	bool			 known;

	if ((k = key_find(section, key, &known)) == NULL)
		return -ENOENT;
	print_one(c, k, &o);
	return 0;
}

int
config_print_key(const struct tftpd_config *c, const char *section,
    const char *key, FILE *fp)
{
	return print_key(c, section, key, false, fp);
}

int
config_print_value(const struct tftpd_config *c, const char *section,
    const char *key, FILE *fp)
{
	return print_key(c, section, key, true, fp);
}

static void
line_put(struct line_sink *s, char ch)
{
	if (s->off + 1 < s->len)
		s->buf[s->off++] = ch;
}

static ssize_t
line_write(void *cookie, const char *data, size_t n)
{
	struct line_sink	*s = cookie;
	size_t			 i;

	for (i = 0; i < n; i++) {
		if (data[i] == '\n') {
			s->newline = true;
			continue;
		}
		if (s->newline) {
			line_put(s, ';');
			line_put(s, ' ');
			s->newline = false;
		}
		line_put(s, data[i]);
	}
	return (ssize_t)n;
}

int
config_key_line(const struct tftpd_config *c, const char *section,
    const char *key, char *buf, size_t len)
{
	static const cookie_io_functions_t io = { .write = line_write };
	struct line_sink	 s = { .buf = buf, .len = len };
	FILE			*fp;
	int			 r;

	buf[0] = '\0';
	if ((fp = fopencookie(&s, "w", io)) == NULL)
		return -ENOMEM;
	r = print_key(c, section, key, false, fp);
	fclose(fp);
	buf[s.off] = '\0';
	return r;
}

static bool
key_differs(const struct key_def *k, const struct tftpd_config *a,
    const struct tftpd_config *b)
{
	const char	*pa = (const char *)a, *pb = (const char *)b;

	return (k->size > 0 &&
	    memcmp(pa + k->off, pb + k->off, k->size) != 0) ||
	    (k->size2 > 0 &&
	    memcmp(pa + k->off2, pb + k->off2, k->size2) != 0);
}

size_t
config_diff(const struct tftpd_config *a, const struct tftpd_config *b,
    const char **sections_out, const char **keys_out, size_t max)
{
	const struct key_def	*k;
	size_t			 n = 0;

	for (k = keys; k < keys + NKEYS; k++) {
		if (!key_differs(k, a, b))
			continue;
		if (n < max) {
			sections_out[n] = k->section;
			keys_out[n] = k->name;
		}
		n++;
	}
	return n;
}

int
config_copy_key(struct tftpd_config *dst, const struct tftpd_config *src,
    const char *section, const char *key)
{
	const struct key_def	*k;
	bool			 known;

	if ((k = key_find(section, key, &known)) == NULL)
		return -ENOENT;
	if (k->size > 0)
		memcpy((char *)dst + k->off, (const char *)src + k->off,
		    k->size);
	if (k->size2 > 0)
		memcpy((char *)dst + k->off2, (const char *)src + k->off2,
		    k->size2);
	return 0;
}

int
config_instance_name(const struct tftpd_config *c, const char *mode,
    const struct sockaddr *sa, char *buf, size_t len)
{
	char	 addr[INET6_ADDRSTRLEN];
	char	*p;
	int	 n;

	if (c->instance[0] != '\0') {
		n = snprintf(buf, len, "%s", c->instance);
		return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
	}
	if (sa == NULL || (sa->sa_family != AF_INET &&
	    sa->sa_family != AF_INET6))
		return -EINVAL;
	if (mode != NULL) {
		n = snprintf(buf, len, "%s-%u", mode, sockaddr_port(sa));
	} else {
		if (inet_ntop(sa->sa_family, sa->sa_family == AF_INET ?
		    (const void *)&((const struct sockaddr_in *)sa)->sin_addr :
		    (const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr,
		    addr, sizeof(addr)) == NULL)
			return -EINVAL;
		n = snprintf(buf, len, "%s-%u", addr, sockaddr_port(sa));
	}
	if (n < 0 || (size_t)n >= len || (size_t)n >= CONFIG_INSTANCE_MAX)
		return -ENAMETOOLONG;
	/* Anything else (':' of IPv6, a mode's odd letter) becomes '_'. */
	for (p = buf; *p != '\0'; p++)
		if (strchr(instance_chars, *p) == NULL)
			*p = '_';
	/* An address or a mode never starts with '.' or '-': a backstop. */
	return config_instance_valid(buf) ? 0 : -EINVAL;
}

/*
 * The one rule for instance names, which the daemon enforces when it
 * names its runtime files and tftpctl when it looks for them.
 */
bool
config_instance_valid(const char *name)
{
	size_t	 n = strlen(name);

	/* Not hidden, not an option to tftpctl. */
	if (n == 0 || n >= CONFIG_INSTANCE_MAX || name[0] == '.' ||
	    name[0] == '-')
		return false;
	return strspn(name, instance_chars) == n;
}
