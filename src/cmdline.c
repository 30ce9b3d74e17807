/*
 * The command line: tftp-hpa in.tftpd flags with their meanings plus our
 * long options, turned into the effective configuration.  Order is
 * defaults < config file < command line, but the file's name is itself
 * an option, so the arguments are read twice over: one getopt pass
 * collects every override, then the file is loaded, then the overrides
 * are applied through config_set() so they meet the same checks as the
 * file.  Nothing here logs: problems go to stderr, prefixed with the
 * program name, and the caller exits.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION	"unknown"
#endif

#define PROGNAME	"snowowl-tftpd"

enum {
	OPT_CONFIG = 256,
	OPT_CHECK_CONFIG,
	OPT_WORKERS,
	OPT_RUNTIME_DIR,
	OPT_INSTANCE,
};

struct override {
	const char	*flag;	/* for messages: "-B", "--workers" */
	const char	*section;
	const char	*key;
	const char	*value;
};

static void	 usage_short(FILE *fp);
static void	 usage_long(FILE *fp);
static int	 usage_error(const char *fmt, ...)
		    __attribute__((format(printf, 1, 2)));
static const char *flag_name(int ch, const struct option *lo, int idx,
		    char *buf, size_t len);
static const char *spelled(const char *arg, int opt, char *buf, size_t len);
static int	 from_args(int argc, char *argv[], struct tftpd_config *c,
		    struct run_opts *run, const char *config_path, char *err,
		    size_t errlen);

static const char short_opts[] = ":lLia:46scu:U:pB:r:R:P:t:vVh";

static const struct option long_opts[] = {
	/* ours */
	{ "config",       required_argument, NULL, OPT_CONFIG },
	{ "check-config", no_argument,       NULL, OPT_CHECK_CONFIG },
	{ "workers",      required_argument, NULL, OPT_WORKERS },
	{ "runtime-dir",  required_argument, NULL, OPT_RUNTIME_DIR },
	{ "instance",     required_argument, NULL, OPT_INSTANCE },
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
	{ "verbose",      no_argument,       NULL, 'v' },
	{ "version",      no_argument,       NULL, 'V' },
	{ NULL,           0,                 NULL, 0 },
};

static void
usage_short(FILE *fp)
{
	fprintf(fp,
	    "usage: " PROGNAME " [-46ciLlpsvV] [-a address[:port]] "
	    "[-B blksize] [-P pidfile]\n"
	    "       [-R lo:hi] [-r option] [-t seconds] [-U umask] "
	    "[-u user]\n"
	    "       [--config file] [--check-config] [--workers n] "
	    "[--runtime-dir dir]\n"
	    "       [--instance name] [root]\n");
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
	    "  -a, --address A[:P]     listen on address A, port P "
	    "(repeatable)\n"
	    "  -4, --ipv4              IPv4 only\n"
	    "  -6, --ipv6              IPv6 only\n"
	    "  -s, --secure            accepted: requests are always "
	    "confined to root\n"
	    "  -c, --create            allow uploads, creating new files\n"
	    "  -u, --user USER         run as USER (default tftp)\n"
	    "  -U, --umask MASK        umask for uploaded files "
	    "(default 022)\n"
	    "  -p, --permissive        skip the world-readable/writable "
	    "checks\n"
	    "  -B, --blocksize N       largest blksize granted (8..65464)\n"
	    "  -r, --refuse OPTION     never acknowledge OPTION "
	    "(repeatable)\n"
	    "  -R, --port-range LO:HI  transfer ports\n"
	    "  -P, --pidfile FILE      write the process id to FILE\n"
	    "  -v, --verbose           log at debug level\n"
	    "  -V, --version           print the version and exit\n"
	    "      --config FILE       read FILE instead of "
	    CONFIG_DEFAULT_PATH "\n"
	    "      --check-config      check the configuration and exit\n"
	    "      --workers N         worker processes (0: one per CPU)\n"
	    "      --runtime-dir DIR   runtime directory (default "
	    CONFIG_DEFAULT_RUNDIR ")\n"
	    "      --instance NAME     name of the runtime files (default: "
	    "from the address)\n"
	    "  -h, --help              print this help and exit\n");
}

static int
usage_error(const char *fmt, ...)
{
	va_list	 ap;

	fprintf(stderr, PROGNAME ": ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	usage_short(stderr);
	fprintf(stderr, "Try '" PROGNAME " --help' for more information.\n");
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

/*
 * The whole chain.  Usage errors, -V and --help print here (they happen
 * at startup only); configuration problems go to err for the caller.
 * config_path, when given, replaces the --config argument's path.
 */
static int
from_args(int argc, char *argv[], struct tftpd_config *c,
    struct run_opts *run, const char *config_path, char *err, size_t errlen)
{
	struct override	*ov = NULL;
	size_t		 nov = 0, nmax = 2, i;
	char		*addrs = NULL;
	size_t		 addrlen = 0, alen;
	char		 buf[64], why[CONFIG_ERR_MAX];
	char		 (*labels)[32] = NULL;
	const char	*path;
	int		 ch, idx, r, ret = -1;

	memset(run, 0, sizeof(*run));
	snprintf(run->config_path, sizeof(run->config_path), "%s",
	    CONFIG_DEFAULT_PATH);

	/*
	 * Bound on the overrides: each option letter sets at most two keys
	 * (-c), letters may be bundled ("-cpv"), plus root and -a.
	 */
	for (i = 1; i < (size_t)argc; i++)
		nmax += 2 * (strlen(argv[i]) + 1);
	err[0] = '\0';
	ov = calloc(nmax, sizeof(*ov));
	labels = calloc(nmax, sizeof(*labels));
	if (ov == NULL || labels == NULL) {
		snprintf(err, errlen, "%s", strerror(ENOMEM));
		goto out;
	}

#define OVERRIDE(s, k, v) do {						\
	ov[nov].flag = flag_name(ch, long_opts, idx, labels[nov],	\
	    sizeof(labels[nov]));					\
	ov[nov].section = (s);						\
	ov[nov].key = (k);						\
	ov[nov].value = (v);						\
	nov++;								\
} while (0)

	/* glibc: optind = 0 starts over, so tests can call us again. */
	optind = 0;
	opterr = 0;
	for (;;) {
		idx = -1;
		if ((ch = getopt_long(argc, argv, short_opts, long_opts,
		    &idx)) == -1)
			break;
		switch (ch) {
		case 'l':
			run->listen_only = true;
			break;
		case 'L':
			run->listen_only = true;
			OVERRIDE("server", "foreground", "yes");
			break;
		case 'i':
			run->inetd = true;
			break;
		case 't':
			OVERRIDE("server", "idle_timeout", optarg);
			break;
		case 'a':
			/* The first -a replaces the list; later ones add. */
			alen = strlen(optarg);
			if ((addrs = realloc(addrs, addrlen + alen + 2)) ==
			    NULL) {
				snprintf(err, errlen, "%s", strerror(ENOMEM));
				goto out;
			}
			if (addrlen > 0)
				addrs[addrlen++] = ' ';
			memcpy(addrs + addrlen, optarg, alen + 1);
			addrlen += alen;
			break;
		case '4':
			OVERRIDE("server", "family", "ipv4");
			break;
		case '6':
			OVERRIDE("server", "family", "ipv6");
			break;
		case 's':
			/* Always in effect: requests never leave root. */
			break;
		case 'c':
			OVERRIDE("write", "enable", "yes");
			OVERRIDE("write", "create", "yes");
			break;
		case 'u':
			OVERRIDE("server", "user", optarg);
			break;
		case 'U':
			OVERRIDE("write", "umask", optarg);
			break;
		case 'p':
			OVERRIDE("transfer", "permissive", "yes");
			break;
		case 'B':
			OVERRIDE("transfer", "max_blksize", optarg);
			break;
		case 'r':
			/* Each refusal removes from what is allowed. */
			OVERRIDE("transfer", "refuse_options", optarg);
			break;
		case 'R':
			OVERRIDE("transfer", "port_range", optarg);
			break;
		case 'P':
			OVERRIDE("server", "pid_file", optarg);
			break;
		case 'v':
			OVERRIDE("server", "log_level", "debug");
			break;
		case 'V':
			printf(PROGNAME " " PACKAGE_VERSION "\n");
			ret = 1;
			goto out;
		case 'h':
			usage_long(stdout);
			ret = 1;
			goto out;
		case OPT_CONFIG:
			if (snprintf(run->config_path,
			    sizeof(run->config_path), "%s", optarg) >=
			    (int)sizeof(run->config_path)) {
				ret = usage_error("--config: path too long");
				goto out;
			}
			run->config_given = true;
			break;
		case OPT_CHECK_CONFIG:
			run->check_config = true;
			break;
		case OPT_WORKERS:
			OVERRIDE("server", "workers", optarg);
			break;
		case OPT_RUNTIME_DIR:
			OVERRIDE("server", "runtime_dir", optarg);
			break;
		case OPT_INSTANCE:
			OVERRIDE("server", "instance", optarg);
			break;
		case ':':
			ret = usage_error("option %s needs an argument",
			    spelled(argv[optind - 1], optopt, buf,
			    sizeof(buf)));
			goto out;
		case '?':
		default:
			ret = usage_error("unknown option %s",
			    spelled(argv[optind - 1], optopt, buf,
			    sizeof(buf)));
			goto out;
		}
	}
#undef OVERRIDE

	if (argc - optind > 1) {
		ret = usage_error("only one root directory may be given "
		    "(\"%s\", \"%s\")", argv[optind], argv[optind + 1]);
		goto out;
	}
	if (argc - optind == 1) {
		ov[nov].flag = "root directory";
		ov[nov].section = "server";
		ov[nov].key = "root";
		ov[nov].value = argv[optind];
		nov++;
	}
	if (addrs != NULL) {
		ov[nov].flag = "-a";
		ov[nov].section = "server";
		ov[nov].key = "listen";
		ov[nov].value = addrs;
		nov++;
	}

	if (run->inetd && run->listen_only) {
		ret = usage_error("-i (inetd) and -l/-L (standalone) exclude "
		    "each other");
		goto out;
	}

	config_defaults(c);
	path = config_path != NULL ? config_path : run->config_path;
	if ((r = config_load(c, path, run->config_given, err, errlen)) < 0)
		goto out;
	for (i = 0; i < nov; i++) {
		if (config_set(c, ov[i].section, ov[i].key, ov[i].value, why,
		    sizeof(why)) < 0) {
			snprintf(err, errlen, "%s: %s", ov[i].flag, why);
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
	free(addrs);
	free(labels);
	free(ov);
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
		fprintf(stderr, PROGNAME ": %s\n", err);
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
