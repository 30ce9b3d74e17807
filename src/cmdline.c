/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * The command line: tftp-hpa in.tftpd flags with their meanings plus our
 * long options, turned into the effective configuration.  Order is
 * defaults < config file < command line, but the file's name is itself
 * an option, so the arguments are read twice over: one getopt pass
 * collects every override, then the file is loaded, then the overrides
 * are applied through config_set() so they meet the same checks as the
 * file.  One table says what each flag sets.  Nothing here logs:
 * problems go to stderr, prefixed with the program name, and the caller
 * exits.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "proto.h"
#include "tftp_wire.h"
#include "util.h"

/* in.tftpd -B's smallest value. */
#define HPA_BLKSIZE_MIN	512

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION	"unknown"
#endif
#ifndef PACKAGE_LICENSE
#define PACKAGE_LICENSE	"BSD-2-Clause"
#endif

#define PROGNAME	"snowowl-tftpd"
/* The most keys one flag sets (-c: write.enable and write.create). */
#define FLAG_KEYS_MAX	2

enum {
	OPT_CONFIG = 256,
	OPT_CHECK_CONFIG,
	OPT_WORKERS,
	OPT_RUNTIME_DIR,
	OPT_INSTANCE,
	OPT_VERBOSITY,
	OPT_LOG_FORMAT,
};

/* A key the command line sets, applied after the file. */
struct override {
	const char	*flag;	/* for messages: "-B", "--workers" */
	const char	*section;
	const char	*key;
	const char	*value;
	bool		 add;	/* to a list key: a further root */
};

/* One pass over the arguments: what it found so far. */
struct args {
	struct run_opts	*run;
	struct override	*ov;
	char		(*labels)[32];	/* ov[i].flag, when it is copied */
	char		(*values)[32];	/* ov[i].value, when made here */
	size_t		 nov;
	char		*addrs;		/* every -a, space-separated */
	size_t		 addrlen;
	char		*err;
	size_t		 errlen;
};

/*
 * What a flag does besides setting keys.  0 to go on, 1 when the program
 * should exit 0 now, -1 after a problem (printed, or written to err).
 */
typedef int	(*flag_handler)(struct args *, const char *);

/*
 * A flag sets section.key to value, or to its argument when value is
 * NULL; a flag that sets two keys has two rows.  A flag with a handler
 * may set no key at all.
 */
struct flag {
	int		 ch;	/* getopt_long()'s value */
	const char	*section;
	const char	*key;
	const char	*value;
	flag_handler	 handle;
};

static void	 usage_short(FILE *fp);
static void	 usage_long(FILE *fp);
static int	 usage_error(const char *fmt, ...)
		    __attribute__((format(printf, 1, 2)));
static const char *flag_name(int ch, const struct option *lo, int idx,
		    char *buf, size_t len);
static const char *spelled(const char *arg, int opt, char *buf, size_t len);
static int	 flag_listen(struct args *a, const char *arg);
static int	 flag_inetd(struct args *a, const char *arg);
static int	 flag_address(struct args *a, const char *arg);
static int	 flag_blocksize(struct args *a, const char *arg);
static int	 flag_refuse(struct args *a, const char *arg);
static int	 flag_retransmit(struct args *a, const char *arg);
static int	 flag_verbose(struct args *a, const char *arg);
static int	 flag_verbosity(struct args *a, const char *arg);
static int	 flag_version(struct args *a, const char *arg);
static int	 flag_help(struct args *a, const char *arg);
static int	 flag_config(struct args *a, const char *arg);
static int	 flag_check_config(struct args *a, const char *arg);
static void	 add_override(struct args *a, const char *flag,
		    const char *section, const char *key, const char *value);
static int	 apply_flag(struct args *a, int ch, int idx, const char *arg);
static int	 read_args(int argc, char *argv[], struct args *a);
static int	 from_args(int argc, char *argv[], struct tftpd_config *c,
		    struct run_opts *run, const char *config_path, char *err,
		    size_t errlen);

static const char short_opts[] = ":lLia:46scu:U:pB:r:R:P:t:T:m:vVh";

/* The value of a -v override: one level above the one before it. */
static const char verbose_step[] = "+1";

static const struct option long_opts[] = {
	/* ours */
	{ "config",       required_argument, NULL, OPT_CONFIG },
	{ "check-config", no_argument,       NULL, OPT_CHECK_CONFIG },
	{ "workers",      required_argument, NULL, OPT_WORKERS },
	{ "runtime-dir",  required_argument, NULL, OPT_RUNTIME_DIR },
	{ "instance",     required_argument, NULL, OPT_INSTANCE },
	{ "log-format",   required_argument, NULL, OPT_LOG_FORMAT },
	{ "inetd",        no_argument,       NULL, 'i' },
	{ "foreground",   no_argument,       NULL, 'L' },
	{ "help",         no_argument,       NULL, 'h' },
	/* tftp-hpa's long names for its flags */
	{ "listen",       no_argument,       NULL, 'l' },
	{ "address",      required_argument, NULL, 'a' },
	{ "ipv4",         no_argument,       NULL, '4' },
	{ "ipv6",         no_argument,       NULL, '6' },
	{ "secure",       no_argument,       NULL, 's' },
	{ "create",       no_argument,       NULL, 'c' },
	{ "user",         required_argument, NULL, 'u' },
	{ "umask",        required_argument, NULL, 'U' },
	{ "permissive",   no_argument,       NULL, 'p' },
	{ "blocksize",    required_argument, NULL, 'B' },
	{ "refuse",       required_argument, NULL, 'r' },
	{ "port-range",   required_argument, NULL, 'R' },
	{ "pidfile",      required_argument, NULL, 'P' },
	{ "timeout",      required_argument, NULL, 't' },
	{ "map-file",     required_argument, NULL, 'm' },
	{ "retransmit",   required_argument, NULL, 'T' },
	{ "verbose",      no_argument,       NULL, 'v' },
	{ "verbosity",    required_argument, NULL, OPT_VERBOSITY },
	{ "version",      no_argument,       NULL, 'V' },
	{ NULL,           0,                 NULL, 0 },
};

static const struct flag flags[] = {
	{ 'l', NULL, NULL, NULL, flag_listen },
	{ 'L', "server", "foreground", "yes", flag_listen },
	{ 'i', NULL, NULL, NULL, flag_inetd },
	{ 't', "server", "idle_timeout", NULL, NULL },
	{ 'a', NULL, NULL, NULL, flag_address },
	{ '4', "server", "family", "ipv4", NULL },
	{ '6', "server", "family", "ipv6", NULL },
	/* One root, as a chroot: no name is matched to a directory. */
	{ 's', "server", "secure", "yes", NULL },
	{ 'c', "write", "enable", "yes", NULL },
	{ 'c', "write", "create", "yes", NULL },
	{ 'u', "server", "user", NULL, NULL },
	{ 'U', "write", "umask", NULL, NULL },
	{ 'p', "transfer", "permissive", "yes", NULL },
	{ 'B', "transfer", "max_blksize", NULL, flag_blocksize },
	/* Each refusal removes from what is allowed; sets the key itself. */
	{ 'r', NULL, NULL, NULL, flag_refuse },
	{ 'R', "transfer", "port_range", NULL, NULL },
	{ 'P', "server", "pid_file", NULL, NULL },
	{ 'T', NULL, NULL, NULL, flag_retransmit },
	{ 'm', "transfer", "map_file", NULL, NULL },
	{ 'v', NULL, NULL, NULL, flag_verbose },
	{ OPT_VERBOSITY, NULL, NULL, NULL, flag_verbosity },
	{ 'V', NULL, NULL, NULL, flag_version },
	{ 'h', NULL, NULL, NULL, flag_help },
	{ OPT_CONFIG, NULL, NULL, NULL, flag_config },
	{ OPT_CHECK_CONFIG, NULL, NULL, NULL, flag_check_config },
	{ OPT_WORKERS, "server", "workers", NULL, NULL },
	{ OPT_RUNTIME_DIR, "server", "runtime_dir", NULL, NULL },
	{ OPT_INSTANCE, "server", "instance", NULL, NULL },
	{ OPT_LOG_FORMAT, "server", "log_format", NULL, NULL },
};
#define NFLAGS	(sizeof(flags) / sizeof(flags[0]))

static void
usage_short(FILE *fp)
{
	fprintf(fp,
	    "usage: " PROGNAME " [-46ciLlpsvV] [-a address[:port]] "
	    "[-B blksize]\n"
	    "       [-m mapfile] [-P pidfile] [-R lo:hi] [-r option] "
	    "[-t seconds]\n"
	    "       [-T usec] [-U umask] [-u user] [--verbosity n] "
	    "[--config file]\n"
	    "       [--check-config] [--workers n] [--runtime-dir dir] "
	    "[--instance name]\n"
	    "       [--log-format text|json] [root...]\n"
	    "       " PROGNAME " --map-test FILE NAME [CLIENT-IP] [--wrq]\n");
}

static void
usage_long(FILE *fp)
{
	usage_short(fp);
	fprintf(fp, "\n"
	    "  -l, --listen            standalone daemon, even if stdin is "
	    "a socket\n"
	    "  -L, --foreground        standalone, stay in the foreground, "
	    "log to stderr\n"
	    "  -i, --inetd             serve the UDP socket on stdin "
	    "(inetd)\n"
	    "  -t, --timeout SECONDS   inetd mode: exit when idle this long "
	    "(0: never)\n"
	    "  -T, --retransmit USEC   first retransmission after USEC "
	    "microseconds\n"
	    "  -a, --address A[:P]     listen on address A, port P "
	    "(repeatable)\n"
	    "  -4, --ipv4              IPv4 only\n"
	    "  -6, --ipv6              IPv6 only\n"
	    "  -s, --secure            one root, names looked up as in a "
	    "chroot\n"
	    "  -c, --create            allow uploads, creating new files\n"
	    "  -u, --user USER         run as USER (default tftp)\n"
	    "  -U, --umask MASK        umask for uploaded files "
	    "(default 022)\n"
	    "  -p, --permissive        skip the world-readable/writable "
	    "checks\n"
	    "  -B, --blocksize N       largest blksize granted (512..65464)\n"
	    "  -r, --refuse OPTION     never acknowledge OPTION "
	    "(repeatable)\n"
	    "  -R, --port-range LO:HI  transfer ports\n"
	    "  -m, --map-file FILE     remap file names by the rules in FILE\n"
	    "  -P, --pidfile FILE      write the process id to FILE\n"
	    "  -v, --verbose           log one level more (repeatable)\n"
	    "      --verbosity N       in.tftpd's verbosity: 0 notice, 1 "
	    "info, 2 debug\n"
	    "  -V, --version           print the version and exit\n"
	    "      --config FILE       read FILE instead of "
	    CONFIG_DEFAULT_PATH "\n"
	    "      --check-config      check the configuration and exit\n"
	    "      --workers N         worker processes (0: one per CPU)\n"
	    "      --runtime-dir DIR   runtime directory (default "
	    CONFIG_DEFAULT_RUNDIR ")\n"
	    "      --instance NAME     name of the runtime files (default: "
	    "from the address)\n"
	    "      --log-format FMT    request log lines as text (key=value) "
	    "or json\n"
	    "  -h, --help              print this help and exit\n"
	    "      --map-test FILE NAME [CLIENT-IP] [--wrq]\n"
	    "                          print what NAME becomes under the "
	    "remap rules\n"
	    "                          in FILE (first argument only), exit\n");
}

static int
usage_error(const char *fmt, ...)
{
	char	 msg[LOG_LINE_MAX];
	va_list	 ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_early(LOG_ERR, PROGNAME, "%s", msg);
	/* Help for a person at a terminal, not for the journal. */
	if (!log_stderr_journal()) {
		usage_short(stderr);
		fprintf(stderr,
		    "Try '" PROGNAME " --help' for more information.\n");
	}
	return -1;
}

/* How the user spelled the option, for messages. */
static const char *
flag_name(int ch, const struct option *lo, int idx, char *buf, size_t len)
{
	if (idx >= 0)
		snprintf(buf, len, "--%s", lo[idx].name);
	else
		snprintf(buf, len, "-%c", ch);
	return buf;
}

/*
 * The option getopt complained about: a long one as typed (without any
 * "=value"), else the short letter.
 */
static const char *
spelled(const char *arg, int opt, char *buf, size_t len)
{
	if (arg != NULL && strncmp(arg, "--", 2) == 0)
		snprintf(buf, len, "%.*s", (int)strcspn(arg, "="), arg);
	else if (opt > 0 && opt < 128)
		snprintf(buf, len, "-%c", opt);
	else
		snprintf(buf, len, "%s", arg != NULL ? arg : "?");
	return buf;
}

static int
flag_listen(struct args *a, const char *arg)
{
	a->run->listen_only = true;
	return 0;
}

static int
flag_inetd(struct args *a, const char *arg)
{
	a->run->inetd = true;
	return 0;
}

/*
 * Every -a goes into one server.listen value, set once after the file:
 * the first -a replaces the file's list, later ones add to it.
 */
static int
flag_address(struct args *a, const char *arg)
{
	size_t	 alen = strlen(arg);
	char	*p;

	if ((p = realloc(a->addrs, a->addrlen + alen + 2)) == NULL) {
		snprintf(a->err, a->errlen, "%s", strerror(ENOMEM));
		return -1;
	}
	a->addrs = p;
	if (a->addrlen > 0)
		a->addrs[a->addrlen++] = ' ';
	memcpy(a->addrs + a->addrlen, arg, alen + 1);
	a->addrlen += alen;
	return 0;
}

/*
 * -B: in.tftpd's range, 512..65464, narrower than the max_blksize key's
 * (RFC 2348 allows 8): a command line that tftp-hpa refuses is refused
 * here too rather than meaning something else.
 */
static int
flag_blocksize(struct args *a, const char *arg)
{
	uint32_t	 v;

	if (parse_u32(arg, HPA_BLKSIZE_MIN, TFTP_BLKSIZE_MAX, &v) < 0)
		return usage_error("-B/--blocksize %s: not a block size from "
		    "%u to %u (as in.tftpd)", arg, HPA_BLKSIZE_MIN,
		    TFTP_BLKSIZE_MAX);
	return 0;
}

/*
 * -r: a name we do not implement is accepted and changes nothing, since
 * such an option is never acknowledged anyway; the command lines of
 * existing inetd entries and units keep working.  A list
 * ("tsize,timeout") is checked by the refuse_options key as in the
 * configuration file.
 */
static int
flag_refuse(struct args *a, const char *arg)
{
	if (proto_opt_lookup(arg) < 0 && strcspn(arg, ", \t") == strlen(arg))
		return 0;
	add_override(a, "-r", "transfer", "refuse_options", arg);
	return 0;
}

/*
 * -T: in.tftpd's microseconds and range (its utimeout option's), as
 * transfer.timeout with its "us" unit: rounded up to whole milliseconds,
 * our timers' unit.
 */
static int
flag_retransmit(struct args *a, const char *arg)
{
	uint32_t	 v;

	if (parse_u32(arg, TFTP_UTIMEOUT_MIN, TFTP_UTIMEOUT_MAX, &v) < 0)
		return usage_error("-T/--retransmit %s: not a timeout from %u "
		    "to %u microseconds (as in.tftpd)", arg,
		    TFTP_UTIMEOUT_MIN, TFTP_UTIMEOUT_MAX);
	snprintf(a->values[a->nov], sizeof(a->values[a->nov]), "%uus", v);
	add_override(a, "-T", "transfer", "timeout", a->values[a->nov]);
	return 0;
}

/* -v: one log level more each time, from the file's (default info). */
static int
flag_verbose(struct args *a, const char *arg)
{
	add_override(a, "-v", "server", "log_level", verbose_step);
	return 0;
}

/*
 * --verbosity: in.tftpd's levels.  0 logs no requests (notice), 1 one
 * line per request (info, our default), 2 and up also what is refused
 * and why (debug).  Later -v add to it, as in.tftpd's do.
 */
static int
flag_verbosity(struct args *a, const char *arg)
{
	static const int	 levels[] = { LOG_NOTICE, LOG_INFO, LOG_DEBUG };
	uint32_t		 v;

	if (parse_u32(arg, 0, INT32_MAX, &v) < 0)
		return usage_error("--verbosity %s: not a number from 0 to %d",
		    arg, INT32_MAX);
	if (v > 2)
		v = 2;
	add_override(a, "--verbosity", "server", "log_level",
	    log_level_name(levels[v]));
	return 0;
}

static int
flag_version(struct args *a, const char *arg)
{
	printf(PROGNAME " " PACKAGE_VERSION "\n"
	    "licence: " PACKAGE_LICENSE "\n");
	return 1;
}

static int
flag_help(struct args *a, const char *arg)
{
	usage_long(stdout);
	return 1;
}

static int
flag_config(struct args *a, const char *arg)
{
	if (snprintf(a->run->config_path, sizeof(a->run->config_path), "%s",
	    arg) >= (int)sizeof(a->run->config_path))
		return usage_error("--config: path too long");
	a->run->config_given = true;
	return 0;
}

static int
flag_check_config(struct args *a, const char *arg)
{
	a->run->check_config = true;
	return 0;
}

/* read_args() made room for every override the arguments can give. */
static void
add_override(struct args *a, const char *flag, const char *section,
    const char *key, const char *value)
{
	a->ov[a->nov].flag = flag;
	a->ov[a->nov].section = section;
	a->ov[a->nov].key = key;
	a->ov[a->nov].value = value;
	a->ov[a->nov].add = false;
	a->nov++;
}

/* Every row of ch: its handler, its key.  -2 when no row has ch. */
static int
apply_flag(struct args *a, int ch, int idx, const char *arg)
{
	const struct flag	*f;
	int			 r, found = 0;

	for (f = flags; f < flags + NFLAGS; f++) {
		if (f->ch != ch)
			continue;
		found = 1;
		if (f->handle != NULL && (r = f->handle(a, arg)) != 0)
			return r;
		if (f->key == NULL)
			continue;
		add_override(a, flag_name(ch, long_opts, idx,
		    a->labels[a->nov], sizeof(a->labels[a->nov])),
		    f->section, f->key, f->value != NULL ? f->value : arg);
	}
	return found ? 0 : -2;
}

/*
 * The getopt pass: flags into a->run and a->ov, then the root directories
 * (the first replaces the file's list, as in.tftpd's list of directories)
 * and the -a addresses.  0, 1 (exit 0 now) or -1.
 */
static int
read_args(int argc, char *argv[], struct args *a)
{
	char	 buf[64];
	int	 ch, idx, r, i;

	/* glibc: optind = 0 starts over, so tests can call us again. */
	optind = 0;
	opterr = 0;
	for (;;) {
		idx = -1;
		if ((ch = getopt_long(argc, argv, short_opts, long_opts,
		    &idx)) == -1)
			break;
		if (ch == ':')
			return usage_error("option %s needs an argument",
			    spelled(argv[optind - 1], optopt, buf,
			    sizeof(buf)));
		if ((r = apply_flag(a, ch, idx, optarg)) == -2)
			return usage_error("unknown option %s",
			    spelled(argv[optind - 1], optopt, buf,
			    sizeof(buf)));
		if (r != 0)
			return r;
	}

	if (argc - optind > CONFIG_MAX_ROOTS)
		return usage_error("at most %d root directories may be given "
		    "(\"%s\" is one more)", CONFIG_MAX_ROOTS,
		    argv[optind + CONFIG_MAX_ROOTS]);
	for (i = optind; i < argc; i++) {
		add_override(a, "root directory", "server", "root", argv[i]);
		a->ov[a->nov - 1].add = i > optind;
	}
	if (a->addrs != NULL)
		add_override(a, "-a", "server", "listen", a->addrs);
	if (a->run->inetd && a->run->listen_only)
		return usage_error("-i (inetd) and -l/-L (standalone) exclude "
		    "each other");
	return 0;
}

/*
 * The whole chain.  Usage errors, -V and --help print here (they happen
 * at startup only); configuration problems go to err for the caller.
 * config_path, when given, replaces the --config argument's path.
 */
static int
from_args(int argc, char *argv[], struct tftpd_config *c,
    struct run_opts *run, const char *config_path, char *err, size_t errlen)
{
	struct args	 a;
	char		 why[CONFIG_ERR_MAX];
	const char	*path;
	size_t		 nmax = 2, i;
	int		 ret = -1;

	memset(run, 0, sizeof(*run));
	snprintf(run->config_path, sizeof(run->config_path), "%s",
	    CONFIG_DEFAULT_PATH);
	memset(&a, 0, sizeof(a));
	a.run = run;
	a.err = err;
	a.errlen = errlen;

	/*
	 * Bound on the overrides: each option letter sets at most
	 * FLAG_KEYS_MAX keys, letters may be bundled ("-cpv"), plus root
	 * and -a.
	 */
	for (i = 1; i < (size_t)argc; i++)
		nmax += FLAG_KEYS_MAX * (strlen(argv[i]) + 1);
	err[0] = '\0';
	a.ov = calloc(nmax, sizeof(*a.ov));
	a.labels = calloc(nmax, sizeof(*a.labels));
	a.values = calloc(nmax, sizeof(*a.values));
	if (a.ov == NULL || a.labels == NULL || a.values == NULL) {
		snprintf(err, errlen, "%s", strerror(ENOMEM));
		goto out;
	}
	if ((ret = read_args(argc, argv, &a)) != 0)
		goto out;
	ret = -1;

	config_defaults(c);
	path = config_path != NULL ? config_path : run->config_path;
	if (config_load(c, path, run->config_given, err, errlen) < 0)
		goto out;
	for (i = 0; i < a.nov; i++) {
		if (a.ov[i].value == verbose_step)
			a.ov[i].value = log_level_name(c->log_level <
			    LOG_DEBUG ? c->log_level + 1 : LOG_DEBUG);
		if ((a.ov[i].add ? config_add : config_set)(c,
		    a.ov[i].section, a.ov[i].key, a.ov[i].value, why,
		    sizeof(why)) < 0) {
			snprintf(err, errlen, "%s: %s", a.ov[i].flag, why);
			goto out;
		}
	}
	/* A daemon in the foreground talks to its terminal unless told. */
	if (c->foreground && !c->log_set)
		c->log = LOG_TO_STDERR;
	if (config_validate(c, err, errlen) < 0)
		goto out;
	ret = 0;
out:
	free(a.addrs);
	free(a.values);
	free(a.labels);
	free(a.ov);
	optind = 0;
	return ret;
}

int
config_from_args(int argc, char *argv[], struct tftpd_config *c,
    struct run_opts *run)
{
	char	 err[CONFIG_ERR_MAX + 64];
	int	 r;

	if ((r = from_args(argc, argv, c, run, NULL, err, sizeof(err))) < 0 &&
	    err[0] != '\0')
		log_early(LOG_ERR, PROGNAME, "%s", err);
	return r;
}

int
config_reload(int argc, char *argv[], const char *config_path,
    struct tftpd_config *c, char *err, size_t errlen)
{
	struct run_opts	 run;
	int		 r;

	r = from_args(argc, argv, c, &run, config_path, err, errlen);
	if (r == 0)
		return 0;
	if (err[0] == '\0')
		snprintf(err, errlen, "the command line no longer parses");
	return -EINVAL;
}
