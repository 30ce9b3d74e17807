/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * tftpctl: the administrator's tool for running snowowl-tftpd instances.
 * This file is the command line and the table of commands; each command
 * finds its instance and copies what it shows out of the shared memory
 * (ctl_instance.c), prints it as a table, JSON or Prometheus text
 * (ctl_format.c), or asks the master over its control socket
 * (ctl_client.c).  Failures end the program through err()/errx(),
 * status 1.
 */
#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "ctl_client.h"
#include "ctl_format.h"
#include "ctl_instance.h"
#include "ctl_topn.h"
#include "ctl_top.h"
#include "tftp_ctl.h"
#include "tftp_shm.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION	"unknown"
#endif
#ifndef PACKAGE_LICENSE
#define PACKAGE_LICENSE	"BSD-2-Clause"
#endif

#define RUNDIR_ENV	"SNOWOWL_TFTPD_RUNDIR"

struct command {
	const char	*name;
	int		(*run)(int, char **);
};

static void	 usage(FILE *fp);
static int	 cmd_stats(int, char **);
static int	 cmd_sessions(int, char **);
static int	 cmd_workers(int, char **);
static int	 cmd_clients(int, char **);
static int	 cmd_files(int, char **);
static int	 topn(int, char **, bool);
static int	 cmd_top(int, char **);
static int	 cmd_get(int, char **);
static int	 cmd_set(int, char **);
static int	 cmd_reload(int, char **);
static int	 cmd_instances(int, char **);
static int	 cmd_help(int, char **);
static enum fmt	 parse_fmt(int argc, char **argv, bool prom_ok);
static void	 flush_stdout(void);

static const char *rundir;
static char default_rundir[PATH_MAX];
static const char *instance_opt;

static const struct command commands[] = {
	{ "stats",	cmd_stats },
	{ "sessions",	cmd_sessions },
	{ "workers",	cmd_workers },
	{ "clients",	cmd_clients },
	{ "files",	cmd_files },
	{ "top",	cmd_top },
	{ "get",	cmd_get },
	{ "set",	cmd_set },
	{ "reload",	cmd_reload },
	{ "instances",	cmd_instances },
	{ "help",	cmd_help },
};

/* Every option has its long form; --dir is short for --runtime-dir. */
static const struct option long_opts[] = {
	{ "runtime-dir",	required_argument,	NULL, 'd' },
	{ "dir",		required_argument,	NULL, 'd' },
	{ "instance",		required_argument,	NULL, 'i' },
	{ "help",		no_argument,		NULL, 'h' },
	{ "version",		no_argument,		NULL, 'V' },
	{ NULL,			0,			NULL, 0 },
};
/* Rows "clients" and "files" show unless -n says otherwise. */
#define TOPN_DEFAULT	20

/* Scratch space too big for the stack. */
static struct snap	 snapshot;
static struct ctl_topn_row topn_rows[TFTP_SHM_MAX_WORKERS * TFTP_SHM_TOPN];

int
main(int argc, char *argv[])
{
	const char	*env;
	bool		 chosen = false;
	size_t		 i;
	int		 ch;

	config_default_rundir(default_rundir, sizeof(default_rundir));
	rundir = default_rundir;
	if ((env = getenv(RUNDIR_ENV)) != NULL && *env != '\0') {
		rundir = env;
		chosen = true;
	}
	/* "+": options after the command belong to the command. */
	while ((ch = getopt_long(argc, argv, "+d:hi:V", long_opts,
	    NULL)) != -1) {
		switch (ch) {
		case 'd':
			rundir = optarg;
			chosen = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'i':
			instance_opt = optarg;
			break;
		case 'V':
			printf("tftpctl " PACKAGE_VERSION "\n"
			    "licence: " PACKAGE_LICENSE "\n");
			return 0;
		default:
			usage(stderr);
			return 1;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0) {
		usage(stderr);
		return 1;
	}
	if (instance_opt != NULL && !config_instance_valid(instance_opt))
		errx(1, "invalid instance name \"%s\" (" CONFIG_INSTANCE_RULE
		    ")", instance_opt, CONFIG_INSTANCE_MAX - 1);
	/*
	 * A user's own directory is looked at first, once it is shown to be
	 * theirs; with nothing of theirs running there, the system's server
	 * is the one they mean.
	 */
	if (!chosen && geteuid() != 0)
		inst_require_owned(rundir);
	if (!chosen && geteuid() != 0 && !inst_present(rundir, instance_opt) &&
	    inst_system_dir(CONFIG_DEFAULT_RUNDIR) &&
	    inst_present(CONFIG_DEFAULT_RUNDIR, instance_opt))
		rundir = CONFIG_DEFAULT_RUNDIR;
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[0], commands[i].name) == 0)
			return commands[i].run(argc, argv);
	warnx("unknown command \"%s\"", argv[0]);
	usage(stderr);
	return 1;
}

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: tftpctl [-d runtime_dir] [-i instance] command [args]\n"
	    "       tftpctl -h | -V\n"
	    "options:\n"
	    "  -d, --runtime-dir DIR          the servers' runtime directory"
	    " (--dir)\n"
	    "  -i, --instance NAME            the instance to talk to\n"
	    "  -h, --help                     this text\n"
	    "  -V, --version                  the version\n"
	    "commands:\n"
	    "  stats [--json | --prometheus]  counters (per worker, summed)\n"
	    "                                 and histograms\n"
	    "  stats --reset                  count from zero (table, JSON)\n"
	    "  sessions [--json]              transfers in progress\n"
	    "  workers [--json]               worker processes\n"
	    "  clients [-n N] [--json]        busiest clients (approximate)\n"
	    "  files [-n N] [--json]          busiest files (approximate)\n"
	    "  top [-d secs] [-n count]       live view, q quits\n"
	    "  get [KEY]                      published settings (INI)\n"
	    "  set KEY=VALUE                  change a live setting\n"
	    "  reload                         re-read the configuration file\n"
	    "  instances                      running instances\n"
	    "  help                           this text\n");
}

static int
cmd_help(int argc, char **argv)
{
	usage(stdout);
	return 0;
}

static enum fmt
parse_fmt(int argc, char **argv, bool prom_ok)
{
	enum fmt	 f = FMT_TEXT;
	int		 i;

	for (i = 1; i < argc; i++) {
		if (f != FMT_TEXT)
			errx(1, "%s: one output format only", argv[0]);
		if (strcmp(argv[i], "--json") == 0)
			f = FMT_JSON;
		else if (prom_ok && strcmp(argv[i], "--prometheus") == 0)
			f = FMT_PROM;
		else
			errx(1, "%s: unknown argument \"%s\"", argv[0],
			    argv[i]);
	}
	return f;
}

/* Output that did not all reach stdout is a failure. */
static void
flush_stdout(void)
{
	if (fflush(stdout) != 0 || ferror(stdout))
		err(1, "stdout");
}

/*
 * The table and JSON count since the last "stats --reset"; Prometheus
 * gets the raw counters, which never go backwards (its rate() and
 * increase() would read a drop as a restart of the process).
 */
static int
cmd_stats(int argc, char **argv)
{
	char		 name[TFTP_SHM_NAME_MAX];
	struct inst	 in;
	enum fmt	 f;
	int		 r;

	if (argc >= 2 && strcmp(argv[1], "--reset") == 0) {
		if (argc != 2)
			errx(1, "usage: tftpctl stats --reset");
		inst_pick(rundir, instance_opt, name, sizeof(name));
		if ((r = ctl_request(rundir, name, TFTP_CTL_RESET_STATS,
		    NULL)) == 0)
			flush_stdout();
		return r;
	}
	f = parse_fmt(argc, argv, true);
	inst_open(rundir, instance_opt, &in);
	snap_take(&in, &snapshot);
	inst_close(&in);
	if (f != FMT_PROM)
		snap_since_reset(&snapshot);
	stats_print(f, in.name, &snapshot);
	flush_stdout();
	return 0;
}

static int
cmd_sessions(int argc, char **argv)
{
	struct sessions_out	 o;
	struct inst		 in;
	struct timespec		 ts;
	enum fmt		 f;

	f = parse_fmt(argc, argv, false);
	inst_open(rundir, instance_opt, &in);
	clock_gettime(CLOCK_REALTIME, &ts);
	sessions_begin(&o, f, (int64_t)ts.tv_sec * 1000 +
	    ts.tv_nsec / 1000000);
	inst_each_session(&in, sessions_entry, &o);
	sessions_end(&o);
	inst_close(&in);
	flush_stdout();
	return 0;
}

static int
cmd_workers(int argc, char **argv)
{
	struct inst	 in;
	enum fmt	 f;

	f = parse_fmt(argc, argv, false);
	inst_open(rundir, instance_opt, &in);
	snap_take(&in, &snapshot);
	inst_close(&in);
	workers_print(f, &snapshot);
	flush_stdout();
	return 0;
}

static int
cmd_clients(int argc, char **argv)
{
	return topn(argc, argv, false);
}

static int
cmd_files(int argc, char **argv)
{
	return topn(argc, argv, true);
}

/* "clients" or "files" [-n N] [--json]. */
static int
topn(int argc, char **argv, bool files)
{
	struct inst	 in;
	enum fmt	 f = FMT_TEXT;
	size_t		 n = TOPN_DEFAULT, max;
	char		*end;
	unsigned long	 v;
	int		 i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0 && f == FMT_TEXT)
			f = FMT_JSON;
		else if (strcmp(argv[i], "-n") == 0 && i + 1 < argc) {
			errno = 0;
			v = strtoul(argv[++i], &end, 10);
			if (errno != 0 || end == argv[i] || *end != '\0' ||
			    argv[i][0] == '-' || v == 0 ||
			    v > TFTP_SHM_MAX_WORKERS * TFTP_SHM_TOPN)
				errx(1, "%s: -n takes 1..%d", argv[0],
				    TFTP_SHM_MAX_WORKERS * TFTP_SHM_TOPN);
			n = v;
		} else
			errx(1, "usage: tftpctl %s [-n N] [--json]", argv[0]);
	}
	inst_open(rundir, instance_opt, &in);
	snap_take(&in, &snapshot);
	inst_close(&in);
	max = files ? ctl_topn_files(&snapshot, topn_rows, n) :
	    ctl_topn_clients(&snapshot, topn_rows, n);
	topn_print(f, files, topn_rows, max);
	flush_stdout();
	return 0;
}

/* The live view; its own file, as it owns the terminal while it runs. */
static int
cmd_top(int argc, char **argv)
{
	return top_main(rundir, instance_opt, argc, argv);
}

/*
 * All published settings as INI, or the value(s) of KEY, "section.key"
 * or a bare key found in one section only, a line per list item.
 */
static int
cmd_get(int argc, char **argv)
{
	struct tftpd_config	 cfg;
	struct inst		 in;
	const char		*section, *key, *dot;
	uint64_t		 gen;
	int			 r;

	if (argc > 2)
		errx(1, "usage: tftpctl get [KEY]");
	if (argc == 2 && (argv[1][0] == '\0' || argv[1][0] == '-'))
		errx(1, "invalid key \"%s\"", argv[1]);
	inst_open(rundir, instance_opt, &in);
	inst_settings(&in, &cfg, &gen);
	inst_close(&in);
	if (argc == 1) {
		printf("# instance %s, generation %" PRIu64 "\n", in.name,
		    gen);
		config_dump(&cfg, stdout);
		flush_stdout();
		return 0;
	}
	if ((dot = strrchr(argv[1], '.')) != NULL &&
	    (dot == argv[1] || dot[1] == '\0'))
		errx(1, "invalid key \"%s\"", argv[1]);
	if ((r = config_find_key(argv[1], &section, &key)) == -ENOTUNIQ)
		errx(1, "key \"%s\" is in more than one section: use "
		    "SECTION.KEY", argv[1]);
	if (r < 0)
		errx(1, "unknown key \"%s\"", argv[1]);
	config_print_value(&cfg, section, key, stdout);
	flush_stdout();
	return 0;
}

static int
cmd_set(int argc, char **argv)
{
	const char	*eq;
	char		 name[TFTP_SHM_NAME_MAX];
	int		 r;

	if (argc != 2)
		errx(1, "usage: tftpctl set KEY=VALUE");
	if ((eq = strchr(argv[1], '=')) == NULL || eq == argv[1])
		errx(1, "set: \"%s\" is not KEY=VALUE", argv[1]);
	if (strlen(argv[1]) >= TFTP_CTL_ARG_MAX)
		errx(1, "set: KEY=VALUE is longer than %d bytes",
		    TFTP_CTL_ARG_MAX - 1);
	inst_pick(rundir, instance_opt, name, sizeof(name));
	if ((r = ctl_request(rundir, name, TFTP_CTL_SET, argv[1])) == 0)
		flush_stdout();
	return r;
}

static int
cmd_reload(int argc, char **argv)
{
	char	 name[TFTP_SHM_NAME_MAX];
	int	 r;

	if (argc != 1)
		errx(1, "usage: tftpctl reload");
	inst_pick(rundir, instance_opt, name, sizeof(name));
	if ((r = ctl_request(rundir, name, TFTP_CTL_RELOAD, NULL)) == 0)
		flush_stdout();
	return r;
}

static int
cmd_instances(int argc, char **argv)
{
	struct inst	*l;
	size_t		 n, i;

	if (argc != 1)
		errx(1, "usage: tftpctl instances");
	if ((n = inst_discover(rundir, &l)) == 0)
		errx(1, "no running instance in %s", rundir);
	instances_print(l, n);
	for (i = 0; i < n; i++)
		inst_close(&l[i]);
	free(l);
	flush_stdout();
	return 0;
}
