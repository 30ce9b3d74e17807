/*
 * tftpctl: the administrator's tool for running snowowl-tftpd instances.
 * Statistics, transfers, workers and settings are read from an instance's
 * shared memory, mapped read-only and treated as untrusted input: every
 * index is bounded by the header's counts and every string is copied
 * with a bound.  "set" and "reload" are requests to the master over its
 * control socket.  Failures end the program through err()/errx(),
 * status 1.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "proto.h"
#include "shm.h"
#include "tftp_ctl.h"
#include "tftp_shm.h"
#include "util.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION	"unknown"
#endif

#define RUNDIR_ENV	"SNOWOWL_TFTPD_RUNDIR"
#define METRIC_PREFIX	"snowowl_tftpd_"
/* A reload reads one file; no answer in this long means a stuck master. */
#define CTL_TIMEOUT_MS	30000

enum fmt {
	FMT_TEXT,
	FMT_JSON,
	FMT_PROM,
};

/* An instance found in the runtime directory, its segment mapped. */
struct inst {
	char		 name[TFTP_SHM_NAME_MAX];
	struct shm_view	 v;
	int64_t		 pid;
};

/* A consistent-enough copy of everything "stats" and "workers" show. */
struct snap {
	int64_t				 master_pid;
	int64_t				 start_time;
	int64_t				 now;
	uint64_t			 generation;
	uint32_t			 nworkers;
	struct tftp_shm_worker_info	 info[TFTP_SHM_MAX_WORKERS];
	struct tftp_shm_stats		 stats[TFTP_SHM_MAX_WORKERS];
};

enum row_kind {
	ROW_COUNTER,
	ROW_ERROR,
	ROW_OPTION,
	ROW_RESTARTS,
	ROW_GAUGE,
	ROW_UPTIME,
};

/* One line of "stats": the total in v[0], worker k in v[k + 1]. */
struct row {
	enum row_kind	 kind;
	const char	*name;		/* counter, option, gauge */
	const char	*help;
	unsigned	 idx;		/* index in its own array */
	uint64_t	 v[TFTP_SHM_MAX_WORKERS + 1];
};

#define NGAUGES		5
#define MAX_ROWS	(TFTP_SHM_C_MAX + TFTP_SHM_NERRORS + TFTP_OPT_MAX + \
			    NGAUGES + 2)

struct command {
	const char	*name;
	int		(*run)(int, char **);
};

static void	 usage(FILE *fp);
static int	 cmd_stats(int, char **);
static int	 cmd_sessions(int, char **);
static int	 cmd_workers(int, char **);
static int	 cmd_get(int, char **);
static int	 cmd_set(int, char **);
static int	 cmd_reload(int, char **);
static int	 cmd_instances(int, char **);
static int	 cmd_help(int, char **);
static enum fmt	 parse_fmt(int argc, char **argv, bool prom_ok);
static int64_t	 alive_pid(const struct shm_view *v);
static int	 inst_cmp(const void *a, const void *b);
static size_t	 discover(struct inst **list);
static void	 inst_open(struct inst *in);
static void	 inst_pick(char *name, size_t len);
static int64_t	 lds64(const int64_t *p);
static void	 snap_take(const struct inst *in, struct snap *s);
static bool	 worker_live(uint32_t state);
static int64_t	 worker_uptime(const struct snap *s, uint32_t k);
static int64_t	 instance_uptime(const struct snap *s);
static const char *state_name(uint32_t state);
static const char *exit_text(const struct tftp_shm_worker_info *wi,
		    char *buf, size_t len);
static const char *duration(int64_t secs, char *buf, size_t len);
static size_t	 rows_build(const struct snap *s, struct row *rows);
static void	 row_label(const struct row *r, char *buf, size_t len);
static void	 stats_text(const char *name, const struct snap *s,
		    const struct row *rows, size_t nrows);
static void	 stats_json(const char *name, const struct snap *s,
		    const struct row *rows, size_t nrows);
static void	 stats_prom(const char *name, const struct snap *s,
		    const struct row *rows, size_t nrows);
static void	 json_str(FILE *fp, const char *s, size_t max);
static void	 json_row(FILE *fp, const struct row *r, size_t col,
		    enum row_kind *open);
static bool	 json_nested(enum row_kind kind);
static void	 prom_family(FILE *fp, const char *metric, const char *help,
		    const char *type);
static void	 prom_label(FILE *fp, const char *s);
static void	 client_str(const struct tftp_shm_session *e, char *addr,
		    size_t alen, char *buf, size_t len);
static void	 session_print(enum fmt f, uint32_t k,
		    const struct tftp_shm_session *e, int64_t now_ms,
		    bool first);
static void	 print_safe(FILE *fp, const char *s, size_t max);
static int	 ctl_request(uint32_t cmd, const char *arg);

static const char *rundir;
static char default_rundir[PATH_MAX];
static const char *instance_opt;

static const struct command commands[] = {
	{ "stats",	cmd_stats },
	{ "sessions",	cmd_sessions },
	{ "workers",	cmd_workers },
	{ "get",	cmd_get },
	{ "set",	cmd_set },
	{ "reload",	cmd_reload },
	{ "instances",	cmd_instances },
	{ "help",	cmd_help },
};

static const char *const counter_help[TFTP_SHM_C_MAX] = {
	[TFTP_SHM_C_RRQ]		= "Read requests received.",
	[TFTP_SHM_C_WRQ]		= "Write requests received.",
	[TFTP_SHM_C_TRANSFERS_OK]	= "Transfers completed successfully.",
	[TFTP_SHM_C_TRANSFERS_FAILED]	= "Transfers that failed.",
	[TFTP_SHM_C_BYTES_SENT]		= "File data bytes sent.",
	[TFTP_SHM_C_BYTES_RECEIVED]	= "File data bytes received.",
	[TFTP_SHM_C_PACKETS_SENT]	= "TFTP packets sent.",
	[TFTP_SHM_C_PACKETS_RECEIVED]	= "TFTP packets received.",
	[TFTP_SHM_C_RETRANSMITS]	= "Packets sent again after a timeout.",
	[TFTP_SHM_C_TIMEOUTS]		= "Retransmission timeouts.",
	[TFTP_SHM_C_SYS_RECVMMSG]	= "recvmmsg() calls.",
	[TFTP_SHM_C_SYS_RECVMSG]	= "recvmsg() calls.",
	[TFTP_SHM_C_SYS_RECVFROM]	= "recvfrom() calls.",
	[TFTP_SHM_C_SYS_SENDMMSG]	= "sendmmsg() calls.",
	[TFTP_SHM_C_SYS_SENDMSG]	= "sendmsg() calls.",
	[TFTP_SHM_C_SYS_SENDTO]		= "sendto() calls.",
	[TFTP_SHM_C_MSGS_RECEIVED]	= "Datagrams received.",
	[TFTP_SHM_C_MSGS_SENT]		= "Datagrams sent.",
};

static const char *const gauge_names[NGAUGES] = {
	"active_transfers", "pool_capacity", "pool_in_use",
	"pool_high_water", "pool_exhausted",
};

static const char *const gauge_help[NGAUGES] = {
	"Transfers in progress.",
	"Packet buffers in the worker's pool.",
	"Packet buffers in use.",
	"Most packet buffers in use at once.",
	"Times a request found the buffer pool empty.",
};

/* Kept in the gauge block but only ever grows: a Prometheus counter. */
#define GAUGE_POOL_EXHAUSTED	4

static const char *const state_names[] = {
	[TFTP_SHM_W_EMPTY]	= "empty",
	[TFTP_SHM_W_STARTING]	= "starting",
	[TFTP_SHM_W_RUNNING]	= "running",
	[TFTP_SHM_W_DRAINING]	= "draining",
	[TFTP_SHM_W_EXITED]	= "exited",
	[TFTP_SHM_W_FAILED]	= "failed",
};

/* Scratch space too big for the stack. */
static struct snap	 snapshot;
static struct row	 rowbuf[MAX_ROWS];

int
main(int argc, char *argv[])
{
	const char	*env;
	size_t		 i;
	int		 ch;

	config_default_rundir(default_rundir, sizeof(default_rundir));
	rundir = default_rundir;
	if ((env = getenv(RUNDIR_ENV)) != NULL && *env != '\0')
		rundir = env;
	/* "+": options after the command belong to the command. */
	while ((ch = getopt(argc, argv, "+d:hi:V")) != -1) {
		switch (ch) {
		case 'd':
			rundir = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'i':
			instance_opt = optarg;
			break;
		case 'V':
			printf("tftpctl " PACKAGE_VERSION "\n");
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
	    "       tftpctl -V\n"
	    "commands:\n"
	    "  stats [--json | --prometheus]  counters, per worker and summed\n"
	    "  sessions [--json]              transfers in progress\n"
	    "  workers [--json]               worker processes\n"
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

/* -------------------------------------------------------------------- */
/* Finding the instance */

/* The master's pid if that process exists, else 0. */
static int64_t
alive_pid(const struct shm_view *v)
{
	int64_t	 pid = lds64(&v->hdr->master_pid);

	/* 0 and negative pids would address process groups. */
	if (pid <= 0 || pid > INT32_MAX)
		return 0;
	if (kill((pid_t)pid, 0) == 0 || errno == EPERM)
		return pid;
	return 0;
}

static int
inst_cmp(const void *a, const void *b)
{
	return strcmp(((const struct inst *)a)->name,
	    ((const struct inst *)b)->name);
}

/*
 * Every NAME.shm in the runtime directory whose master is alive, sorted
 * by name, segments mapped.  Stale and unreadable files are skipped; if
 * that leaves nothing, the first unreadable one is named, since it may
 * be the instance the user is after (another version, no permission).
 */
static size_t
discover(struct inst **list)
{
	struct inst	*l = NULL, *nl;
	struct dirent	*de;
	DIR		*d;
	char		 path[PATH_MAX], why[256];
	char		 first[PATH_MAX + 256 + 4];
	size_t		 n = 0, len;

	if ((d = opendir(rundir)) == NULL) {
		if (errno == ENOENT)
			errx(1, "no running instance in %s", rundir);
		err(1, "%s", rundir);
	}
	first[0] = '\0';
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (len <= 4 || strcmp(de->d_name + len - 4, ".shm") != 0)
			continue;
		if ((nl = reallocarray(l, n + 1, sizeof(*l))) == NULL)
			err(1, "reallocarray");
		l = nl;
		memset(&l[n], 0, sizeof(l[n]));
		if (len - 4 >= sizeof(l[n].name))
			continue;
		memcpy(l[n].name, de->d_name, len - 4);
		if (!config_instance_valid(l[n].name))
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", rundir,
		    de->d_name) >= sizeof(path))
			continue;
		if (shm_view_open(&l[n].v, path, why, sizeof(why)) < 0) {
			if (first[0] == '\0')
				snprintf(first, sizeof(first), "%s: %s", path,
				    why);
			continue;
		}
		if ((l[n].pid = alive_pid(&l[n].v)) == 0) {
			shm_view_close(&l[n].v);
			continue;
		}
		n++;
	}
	closedir(d);
	if (n == 0 && first[0] != '\0')
		warnx("%s (skipped)", first);
	if (n > 1)
		qsort(l, n, sizeof(*l), inst_cmp);
	*list = l;
	return n;
}

/* Map the instance named by -i, or the only one running. */
static void
inst_open(struct inst *in)
{
	struct inst	*l;
	char		 path[PATH_MAX], why[256];
	size_t		 n, i;
	int		 r;

	memset(in, 0, sizeof(*in));
	if (instance_opt != NULL) {
		snprintf(in->name, sizeof(in->name), "%s", instance_opt);
		if ((size_t)snprintf(path, sizeof(path), "%s/%s.shm", rundir,
		    in->name) >= sizeof(path))
			errx(1, "%s/%s.shm: path too long", rundir, in->name);
		if ((r = shm_view_open(&in->v, path, why, sizeof(why))) < 0) {
			if (r == -ENOENT)
				errx(1, "no instance %s in %s", in->name,
				    rundir);
			errx(1, "%s: %s", path, why[0] != '\0' ? why :
			    strerror(-r));
		}
		if ((in->pid = alive_pid(&in->v)) == 0)
			errx(1, "instance %s is not running (master pid "
			    "%" PRId64 " is gone)", in->name,
			    lds64(&in->v.hdr->master_pid));
		return;
	}
	n = discover(&l);
	if (n == 0)
		errx(1, "no running instance in %s", rundir);
	if (n > 1) {
		warnx("%zu instances are running in %s:", n, rundir);
		for (i = 0; i < n; i++) {
			fprintf(stderr, "  %s (master pid %" PRId64 ")\n",
			    l[i].name, l[i].pid);
			shm_view_close(&l[i].v);
		}
		errx(1, "use -i NAME");
	}
	*in = l[0];
	free(l);
}

/* The instance name alone, for the control socket. */
static void
inst_pick(char *name, size_t len)
{
	struct inst	 in;

	if (instance_opt != NULL) {
		snprintf(name, len, "%s", instance_opt);
		return;
	}
	inst_open(&in);
	snprintf(name, len, "%s", in.name);
	shm_view_close(&in.v);
}

/* -------------------------------------------------------------------- */
/* Reading the segment */

/* Each field has one writer that stores it atomically: no torn values. */
static int64_t
lds64(const int64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static void
snap_take(const struct inst *in, struct snap *s)
{
	const struct tftp_shm_stats	*st;
	uint32_t			 k;

	memset(s, 0, sizeof(*s));
	s->master_pid = lds64(&in->v.hdr->master_pid);
	s->start_time = lds64(&in->v.hdr->start_time);
	/* The count shm_view_open() validated, not the live header's. */
	s->nworkers = in->v.nworkers;
	if (s->nworkers > TFTP_SHM_MAX_WORKERS)
		s->nworkers = TFTP_SHM_MAX_WORKERS;
	/*
	 * The master updates a worker's entry one field at a time: a pid
	 * may pair with the previous state for an instant, which is fine
	 * for a display.
	 */
	for (k = 0; k < s->nworkers; k++) {
		if (!shm_view_worker_info(&in->v, k, &s->info[k]))
			memset(&s->info[k], 0, sizeof(s->info[k]));
		if ((st = shm_view_stats(&in->v, k)) != NULL)
			shm_stats_read(st, &s->stats[k]);
	}
	s->generation = shm_generation(in->v.ctl);
	s->now = (int64_t)time(NULL);
}

static bool
worker_live(uint32_t state)
{
	return state == TFTP_SHM_W_STARTING || state == TFTP_SHM_W_RUNNING ||
	    state == TFTP_SHM_W_DRAINING;
}

static int64_t
worker_uptime(const struct snap *s, uint32_t k)
{
	const struct tftp_shm_worker_info *wi = &s->info[k];

	if (!worker_live(wi->state) || wi->started_at <= 0 ||
	    wi->started_at > s->now)
		return 0;
	return s->now - wi->started_at;
}

static int64_t
instance_uptime(const struct snap *s)
{
	if (s->start_time <= 0 || s->start_time > s->now)
		return 0;
	return s->now - s->start_time;
}

static const char *
state_name(uint32_t state)
{
	if (state >= sizeof(state_names) / sizeof(state_names[0]))
		return "unknown";
	return state_names[state];
}

/* How the worker's previous process ended; "-" if it never did. */
static const char *
exit_text(const struct tftp_shm_worker_info *wi, char *buf, size_t len)
{
	int	 st = wi->last_status;

	if (wi->restarts == 0 && wi->state != TFTP_SHM_W_EXITED &&
	    wi->state != TFTP_SHM_W_FAILED)
		snprintf(buf, len, "-");
	else if (WIFEXITED(st))
		snprintf(buf, len, "exit %d", WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		snprintf(buf, len, "signal %d", WTERMSIG(st));
	else
		snprintf(buf, len, "status %d", st);
	return buf;
}

static const char *
duration(int64_t secs, char *buf, size_t len)
{
	if (secs < 60)
		snprintf(buf, len, "%" PRId64 "s", secs);
	else if (secs < 3600)
		snprintf(buf, len, "%" PRId64 "m%02" PRId64 "s", secs / 60,
		    secs % 60);
	else if (secs < 86400)
		snprintf(buf, len, "%" PRId64 "h%02" PRId64 "m", secs / 3600,
		    secs % 3600 / 60);
	else
		snprintf(buf, len, "%" PRId64 "d%02" PRId64 "h", secs / 86400,
		    secs % 86400 / 3600);
	return buf;
}

/* -------------------------------------------------------------------- */
/* stats */

static size_t
rows_build(const struct snap *s, struct row *rows)
{
	const struct tftp_shm_stats	*st;
	struct row			*r = rows;
	size_t				 i, n;
	uint32_t			 k;
	uint64_t			 gauge[NGAUGES];

	memset(rows, 0, MAX_ROWS * sizeof(*rows));
	for (i = 0; i < TFTP_SHM_C_MAX; i++, r++) {
		r->kind = ROW_COUNTER;
		r->name = shm_counter_name(i);
		r->help = counter_help[i];
		r->idx = i;
	}
	for (i = 0; i < TFTP_SHM_NERRORS; i++, r++) {
		r->kind = ROW_ERROR;
		r->name = "errors";
		r->idx = i;
	}
	/* Only the options this build knows by name. */
	for (i = 0; i < TFTP_OPT_MAX && i < TFTP_SHM_NOPTS; i++, r++) {
		r->kind = ROW_OPTION;
		r->name = proto_opt_name(i);
		r->idx = i;
	}
	r->kind = ROW_RESTARTS;
	r->name = "restarts";
	r++;
	for (i = 0; i < NGAUGES; i++, r++) {
		r->kind = ROW_GAUGE;
		r->name = gauge_names[i];
		r->help = gauge_help[i];
		r->idx = i;
	}
	r->kind = ROW_UPTIME;
	r->name = "uptime_seconds";
	r++;
	n = r - rows;

	for (k = 0; k < s->nworkers; k++) {
		st = &s->stats[k];
		gauge[0] = st->active_transfers;
		gauge[1] = st->pool_capacity;
		gauge[2] = st->pool_in_use;
		gauge[3] = st->pool_high_water;
		gauge[4] = st->pool_exhausted;
		for (r = rows; r < rows + n; r++) {
			switch (r->kind) {
			case ROW_COUNTER:
				r->v[k + 1] = st->counters[r->idx];
				break;
			case ROW_ERROR:
				r->v[k + 1] = st->errors[r->idx];
				break;
			case ROW_OPTION:
				r->v[k + 1] = st->options[r->idx];
				break;
			case ROW_RESTARTS:
				r->v[k + 1] = s->info[k].restarts;
				break;
			case ROW_GAUGE:
				r->v[k + 1] = gauge[r->idx];
				break;
			case ROW_UPTIME:
				r->v[k + 1] = (uint64_t)worker_uptime(s, k);
				break;
			}
			if (r->kind != ROW_UPTIME)
				r->v[0] += r->v[k + 1];
		}
	}
	rows[n - 1].v[0] = (uint64_t)instance_uptime(s);
	return n;
}

static void
row_label(const struct row *r, char *buf, size_t len)
{
	if (r->kind == ROW_ERROR)
		snprintf(buf, len, "errors.%u", r->idx);
	else if (r->kind == ROW_OPTION)
		snprintf(buf, len, "options.%s", r->name);
	else
		snprintf(buf, len, "%s", r->name);
}

static void
stats_text(const char *name, const struct snap *s, const struct row *rows,
    size_t nrows)
{
	int		 w[TFTP_SHM_MAX_WORKERS + 1], lw = 0, n;
	char		 label[64], hdr[24], up[32];
	size_t		 i, c, ncol = (size_t)s->nworkers + 1;

	for (i = 0; i < nrows; i++) {
		row_label(&rows[i], label, sizeof(label));
		if ((n = (int)strlen(label)) > lw)
			lw = n;
	}
	for (c = 0; c < ncol; c++) {
		w[c] = c == 0 ? 5 : snprintf(hdr, sizeof(hdr), "w%zu", c - 1);
		for (i = 0; i < nrows; i++) {
			n = snprintf(label, sizeof(label), "%" PRIu64,
			    rows[i].v[c]);
			if (n > w[c])
				w[c] = n;
		}
	}
	printf("instance %s, master pid %" PRId64 ", up %s, generation %"
	    PRIu64 "\n\n", name, s->master_pid,
	    duration(instance_uptime(s), up, sizeof(up)), s->generation);
	printf("%-*s", lw, "");
	for (c = 0; c < ncol; c++) {
		if (c == 0)
			snprintf(hdr, sizeof(hdr), "total");
		else
			snprintf(hdr, sizeof(hdr), "w%zu", c - 1);
		printf("  %*s", w[c], hdr);
	}
	putchar('\n');
	for (i = 0; i < nrows; i++) {
		/* Counters, errors, options, then the worker gauges. */
		if (i > 0 && rows[i].kind != rows[i - 1].kind &&
		    (rows[i].kind == ROW_ERROR || rows[i].kind == ROW_OPTION ||
		    rows[i].kind == ROW_RESTARTS))
			putchar('\n');
		row_label(&rows[i], label, sizeof(label));
		printf("%-*s", lw, label);
		for (c = 0; c < ncol; c++)
			printf("  %*" PRIu64, w[c], rows[i].v[c]);
		putchar('\n');
	}
}

/*
 * A JSON string from at most max bytes of s.  Bytes outside printable
 * ASCII become \u00XX, one per byte: always valid JSON, and the original
 * bytes are the code points.
 */
static void
json_str(FILE *fp, const char *s, size_t max)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 i;

	putc('"', fp);
	for (i = 0; i < max && p[i] != '\0'; i++) {
		if (p[i] == '"' || p[i] == '\\')
			fprintf(fp, "\\%c", p[i]);
		else if (p[i] >= 0x20 && p[i] < 0x7f)
			putc(p[i], fp);
		else
			fprintf(fp, "\\u%04x", p[i]);
	}
	putc('"', fp);
}

/* One "key": n of column col, opening and closing the nested objects. */
static void
json_row(FILE *fp, const struct row *r, size_t col, enum row_kind *open)
{
	if (*open != r->kind && json_nested(*open))
		putc('}', fp);
	if (*open != r->kind && json_nested(r->kind))
		fprintf(fp, ", \"%s\": {", r->kind == ROW_ERROR ? "errors" :
		    "options");
	else
		fputs(", ", fp);
	if (r->kind == ROW_ERROR)
		fprintf(fp, "\"%u\": %" PRIu64, r->idx, r->v[col]);
	else
		fprintf(fp, "\"%s\": %" PRIu64, r->name, r->v[col]);
	*open = r->kind;
}

static bool
json_nested(enum row_kind kind)
{
	return kind == ROW_ERROR || kind == ROW_OPTION;
}

static void
stats_json(const char *name, const struct snap *s, const struct row *rows,
    size_t nrows)
{
	enum row_kind	 open;
	char		 ex[32];
	size_t		 i;
	uint32_t	 k;
	bool		 first;

	printf("{\"instance\": ");
	json_str(stdout, name, TFTP_SHM_NAME_MAX);
	printf(", \"master_pid\": %" PRId64 ", \"uptime_seconds\": %" PRId64
	    ", \"generation\": %" PRIu64 ",\n \"totals\": {", s->master_pid,
	    instance_uptime(s), s->generation);
	open = ROW_UPTIME;
	first = true;
	for (i = 0; i < nrows; i++) {
		if (rows[i].kind == ROW_UPTIME)
			continue;
		if (first) {
			/* json_row() writes a separator before each key. */
			printf("\"%s\": %" PRIu64, rows[i].name, rows[i].v[0]);
			open = rows[i].kind;
			first = false;
			continue;
		}
		json_row(stdout, &rows[i], 0, &open);
	}
	if (json_nested(open))
		printf("}");
	printf("},\n \"workers\": [");
	for (k = 0; k < s->nworkers; k++) {
		printf("%s\n  {\"index\": %u, \"pid\": %" PRId64 ", \"state\": "
		    "\"%s\", \"restarts\": %" PRIu64 ", \"uptime_seconds\": %"
		    PRId64 ", \"generation\": %" PRIu64 ", \"last_exit\": ",
		    k == 0 ? "" : ",", k, s->info[k].pid,
		    state_name(s->info[k].state), s->info[k].restarts,
		    worker_uptime(s, k), s->stats[k].generation);
		exit_text(&s->info[k], ex, sizeof(ex));
		if (strcmp(ex, "-") == 0)
			printf("null");
		else
			json_str(stdout, ex, sizeof(ex));
		open = ROW_UPTIME;
		for (i = 0; i < nrows; i++) {
			if (rows[i].kind == ROW_UPTIME ||
			    rows[i].kind == ROW_RESTARTS)
				continue;
			json_row(stdout, &rows[i], k + 1, &open);
		}
		if (json_nested(open))
			printf("}");
		printf("}");
	}
	printf("%s]}\n", s->nworkers > 0 ? "\n " : "");
}

static void
prom_family(FILE *fp, const char *metric, const char *help,
    const char *type)
{
	/* HELP text escapes only '\\' and newline; ours has neither. */
	fprintf(fp, "# HELP %s %s\n# TYPE %s %s\n", metric, help, metric,
	    type);
}

/* A label value: '\\', '"' and newline escaped. */
static void
prom_label(FILE *fp, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\' || *s == '"')
			fprintf(fp, "\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", fp);
		else
			putc(*s, fp);
	}
}

static void
stats_prom(const char *name, const struct snap *s, const struct row *rows,
    size_t nrows)
{
	const struct row	*r;
	char			 metric[128], help[160];
	uint32_t		 k;

	for (r = rows; r < rows + nrows; r++) {
		switch (r->kind) {
		case ROW_COUNTER:
			snprintf(metric, sizeof(metric), METRIC_PREFIX
			    "%s_total", r->name);
			prom_family(stdout, metric, r->help != NULL ?
			    r->help : r->name, "counter");
			break;
		case ROW_ERROR:
			snprintf(metric, sizeof(metric), METRIC_PREFIX
			    "transfer_errors_total");
			if (r->idx == 0)
				prom_family(stdout, metric, "Failed "
				    "transfers by TFTP error code.",
				    "counter");
			break;
		case ROW_OPTION:
			snprintf(metric, sizeof(metric), METRIC_PREFIX
			    "options_total");
			if (r->idx == 0)
				prom_family(stdout, metric, "Transfers "
				    "that negotiated each option.",
				    "counter");
			break;
		case ROW_RESTARTS:
			snprintf(metric, sizeof(metric), METRIC_PREFIX
			    "worker_restarts_total");
			prom_family(stdout, metric, "Times the master "
			    "started the worker again.", "counter");
			break;
		case ROW_GAUGE:
			snprintf(metric, sizeof(metric), METRIC_PREFIX "%s%s",
			    r->name, r->idx == GAUGE_POOL_EXHAUSTED ?
			    "_total" : "");
			prom_family(stdout, metric, r->help,
			    r->idx == GAUGE_POOL_EXHAUSTED ? "counter" :
			    "gauge");
			break;
		case ROW_UPTIME:
			snprintf(metric, sizeof(metric), METRIC_PREFIX
			    "worker_uptime_seconds");
			snprintf(help, sizeof(help), "Seconds since the "
			    "worker process started (0 when not running).");
			prom_family(stdout, metric, help, "gauge");
			break;
		}
		for (k = 0; k < s->nworkers; k++) {
			printf("%s{instance=\"", metric);
			prom_label(stdout, name);
			printf("\",worker=\"%u\"", k);
			if (r->kind == ROW_ERROR)
				printf(",code=\"%u\"", r->idx);
			else if (r->kind == ROW_OPTION)
				printf(",option=\"%s\"", r->name);
			printf("} %" PRIu64 "\n", r->v[k + 1]);
		}
	}
	prom_family(stdout, METRIC_PREFIX "uptime_seconds", "Seconds since "
	    "the instance's master started.", "gauge");
	printf(METRIC_PREFIX "uptime_seconds{instance=\"");
	prom_label(stdout, name);
	printf("\"} %" PRId64 "\n", instance_uptime(s));
	prom_family(stdout, METRIC_PREFIX "config_generation", "Settings "
	    "generation published by the master.", "gauge");
	printf(METRIC_PREFIX "config_generation{instance=\"");
	prom_label(stdout, name);
	printf("\"} %" PRIu64 "\n", s->generation);
}

static int
cmd_stats(int argc, char **argv)
{
	struct inst	 in;
	enum fmt	 f;
	size_t		 n;

	f = parse_fmt(argc, argv, true);
	inst_open(&in);
	snap_take(&in, &snapshot);
	shm_view_close(&in.v);
	n = rows_build(&snapshot, rowbuf);
	if (f == FMT_JSON)
		stats_json(in.name, &snapshot, rowbuf, n);
	else if (f == FMT_PROM)
		stats_prom(in.name, &snapshot, rowbuf, n);
	else
		stats_text(in.name, &snapshot, rowbuf, n);
	if (fflush(stdout) != 0 || ferror(stdout))
		err(1, "stdout");
	return 0;
}

/* -------------------------------------------------------------------- */
/* sessions */

/* The address alone in addr, "addr:port" or "[addr]:port" in buf. */
static void
client_str(const struct tftp_shm_session *e, char *addr, size_t alen,
    char *buf, size_t len)
{
	if ((e->family != AF_INET && e->family != AF_INET6) ||
	    inet_ntop(e->family, e->addr, addr, (socklen_t)alen) == NULL)
		snprintf(addr, alen, "?");
	snprintf(buf, len, e->family == AF_INET6 ? "[%s]:%u" : "%s:%u",
	    addr, e->port);
}

/* One transfer-table entry, copied and checked by shm_session_read(). */
static void
session_print(enum fmt f, uint32_t k, const struct tftp_shm_session *e,
    int64_t now_ms, bool first)
{
	char		 client[SOCKADDR_STRLEN], addr[INET6_ADDRSTRLEN];
	char		 file[TFTP_SHM_FILE_MAX + 1];
	char		 vis[4 * TFTP_SHM_FILE_MAX + 1], size[24];
	const char	*dir = e->dir == TFTP_SHM_S_READ ? "get" : "put";
	int64_t		 age_ms;
	uint64_t	 rate;

	client_str(e, addr, sizeof(addr), client, sizeof(client));
	memcpy(file, e->file, TFTP_SHM_FILE_MAX);
	file[TFTP_SHM_FILE_MAX] = '\0';
	/* Ordered so no hostile value can overflow. */
	age_ms = e->started_ms > 0 && e->started_ms <= now_ms ?
	    now_ms - e->started_ms : 0;
	rate = age_ms > 0 ? e->bytes / (uint64_t)age_ms * 1000 +
	    e->bytes % (uint64_t)age_ms * 1000 / (uint64_t)age_ms : 0;
	if (f != FMT_JSON) {
		if (e->size == 0)
			snprintf(size, sizeof(size), "-");
		else
			snprintf(size, sizeof(size), "%" PRIu64, e->size);
		str_vis(vis, sizeof(vis), file);
		printf("%-3u %-24s %-3s %12" PRIu64 " %12s %12" PRIu64
		    " %7.1f  \"%s\"\n", k, client, dir, e->bytes, size, rate,
		    (double)age_ms / 1000.0, vis);
		return;
	}
	printf("%s\n {\"worker\": %u, \"client\": ", first ? "" : ",", k);
	json_str(stdout, client, sizeof(client));
	printf(", \"address\": ");
	json_str(stdout, addr, sizeof(addr));
	printf(", \"port\": %u, \"direction\": \"%s\", \"file\": ", e->port,
	    dir);
	json_str(stdout, file, sizeof(file));
	printf(", \"bytes\": %" PRIu64 ", \"size\": ", e->bytes);
	if (e->size == 0)
		printf("null");
	else
		printf("%" PRIu64, e->size);
	printf(", \"rate\": %" PRIu64 ", \"age_seconds\": %.3f, "
	    "\"options\": ", rate, (double)age_ms / 1000.0);
	json_str(stdout, e->options, TFTP_SHM_OPTS_MAX);
	printf("}");
}

static int
cmd_sessions(int argc, char **argv)
{
	const struct tftp_shm_session	*tab;
	struct tftp_shm_session		 e;
	struct inst			 in;
	struct timespec			 ts;
	enum fmt			 f;
	uint32_t			 k, i, n;
	int64_t				 now_ms;
	bool				 first = true;

	f = parse_fmt(argc, argv, false);
	inst_open(&in);
	clock_gettime(CLOCK_REALTIME, &ts);
	now_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	if (f == FMT_JSON)
		printf("[");
	else
		printf("%-3s %-24s %-3s %12s %12s %12s %7s  %s\n", "W",
		    "CLIENT", "DIR", "BYTES", "SIZE", "RATE", "AGE", "FILE");
	/* in.v.nworkers and n are the counts shm_view_open() validated. */
	for (k = 0; k < in.v.nworkers && k < TFTP_SHM_MAX_WORKERS; k++) {
		if ((tab = shm_view_sessions(&in.v, k, &n)) == NULL)
			continue;
		for (i = 0; i < n; i++) {
			if (!shm_session_read(&tab[i], &e) ||
			    (e.dir != TFTP_SHM_S_READ &&
			    e.dir != TFTP_SHM_S_WRITE))
				continue;
			session_print(f, k, &e, now_ms, first);
			first = false;
		}
	}
	if (f == FMT_JSON)
		printf("%s]\n", first ? "" : "\n");
	shm_view_close(&in.v);
	if (fflush(stdout) != 0 || ferror(stdout))
		err(1, "stdout");
	return 0;
}

/* -------------------------------------------------------------------- */
/* workers */

static int
cmd_workers(int argc, char **argv)
{
	const struct tftp_shm_worker_info	*wi;
	struct inst				 in;
	enum fmt				 f;
	char					 up[32], ex[32];
	uint32_t				 k;

	f = parse_fmt(argc, argv, false);
	inst_open(&in);
	snap_take(&in, &snapshot);
	shm_view_close(&in.v);
	if (f == FMT_JSON)
		printf("[");
	else
		printf("%-3s %-8s %-9s %8s %8s %10s  %s\n", "W", "PID",
		    "STATE", "RESTARTS", "UPTIME", "GENERATION",
		    "LAST EXIT");
	for (k = 0; k < snapshot.nworkers; k++) {
		wi = &snapshot.info[k];
		exit_text(wi, ex, sizeof(ex));
		if (f == FMT_JSON) {
			printf("%s\n {\"index\": %u, \"pid\": %" PRId64
			    ", \"state\": \"%s\", \"restarts\": %" PRIu64
			    ", \"uptime_seconds\": %" PRId64 ", "
			    "\"generation\": %" PRIu64 ", \"last_exit\": ",
			    k == 0 ? "" : ",", k, wi->pid,
			    state_name(wi->state), wi->restarts,
			    worker_uptime(&snapshot, k),
			    snapshot.stats[k].generation);
			if (strcmp(ex, "-") == 0)
				printf("null}");
			else {
				json_str(stdout, ex, sizeof(ex));
				printf("}");
			}
			continue;
		}
		if (worker_live(wi->state))
			duration(worker_uptime(&snapshot, k), up, sizeof(up));
		else
			snprintf(up, sizeof(up), "-");
		printf("%-3u %-8" PRId64 " %-9s %8" PRIu64 " %8s %10" PRIu64
		    "  %s\n", k, wi->pid, state_name(wi->state), wi->restarts,
		    up, snapshot.stats[k].generation, ex);
	}
	if (f == FMT_JSON)
		printf("%s]\n", snapshot.nworkers > 0 ? "\n" : "");
	if (fflush(stdout) != 0 || ferror(stdout))
		err(1, "stdout");
	return 0;
}

/* -------------------------------------------------------------------- */
/* get */


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
	char			 why[CONFIG_ERR_MAX];
	int			 r;

	if (argc > 2)
		errx(1, "usage: tftpctl get [KEY]");
	if (argc == 2 && (argv[1][0] == '\0' || argv[1][0] == '-'))
		errx(1, "invalid key \"%s\"", argv[1]);
	inst_open(&in);
	r = shm_read_config(in.v.ctl, &cfg, &gen);
	shm_view_close(&in.v);
	if (r == -EAGAIN)
		errx(1, "%s: the master kept rewriting the settings; try "
		    "again", in.name);
	if (r < 0)
		errx(1, "%s: cannot read the settings: %s", in.name,
		    strerror(-r));
	/* The same check a worker makes before it uses them. */
	if (config_validate(&cfg, why, sizeof(why)) < 0)
		errx(1, "%s: the published settings are invalid: %s",
		    in.name, why);
	if (argc == 1) {
		printf("# instance %s, generation %" PRIu64 "\n", in.name,
		    gen);
		config_dump(&cfg, stdout);
	} else {
		if ((dot = strrchr(argv[1], '.')) != NULL &&
		    (dot == argv[1] || dot[1] == '\0'))
			errx(1, "invalid key \"%s\"", argv[1]);
		if ((r = config_find_key(argv[1], &section, &key)) ==
		    -ENOTUNIQ)
			errx(1, "key \"%s\" is in more than one section: "
			    "use SECTION.KEY", argv[1]);
		if (r < 0)
			errx(1, "unknown key \"%s\"", argv[1]);
		config_print_value(&cfg, section, key, stdout);
	}
	if (fflush(stdout) != 0 || ferror(stdout))
		err(1, "stdout");
	return 0;
}

/* -------------------------------------------------------------------- */
/* set, reload: the control socket */

/* The master's text, bounded, control characters but newline escaped. */
static void
print_safe(FILE *fp, const char *s, size_t max)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 i;

	for (i = 0; i < max && p[i] != '\0'; i++) {
		if ((p[i] >= 0x20 && p[i] != 0x7f) || p[i] == '\n' ||
		    p[i] == '\t')
			putc(p[i], fp);
		else
			fprintf(fp, "\\%03o", p[i]);
	}
}

static int
ctl_request(uint32_t cmd, const char *arg)
{
	struct tftp_ctl_request	 req;
	struct tftp_ctl_reply	 rep;
	struct sockaddr_un	 sun;
	struct pollfd		 pfd;
	char			 name[TFTP_SHM_NAME_MAX];
	size_t			 mlen;
	ssize_t			 n;
	int			 fd, r;

	inst_pick(name, sizeof(name));
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if ((size_t)snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/%s.ctl",
	    rundir, name) >= sizeof(sun.sun_path))
		errx(1, "%s/%s.ctl: path too long for a socket", rundir, name);

	memset(&req, 0, sizeof(req));
	req.magic = TFTP_CTL_MAGIC;
	req.version = TFTP_CTL_VERSION;
	req.cmd = cmd;
	if (arg != NULL)
		/* cmd_set() checked that it fits. */
		memcpy(req.arg, arg, strlen(arg) + 1);

	if ((fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0)) < 0)
		err(1, "socket");
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		if (errno == EACCES || errno == EPERM)
			errx(1, "%s: %s (changing settings needs root or the "
			    "service user)", sun.sun_path, strerror(errno));
		if (errno == ECONNREFUSED)
			errx(1, "%s: %s (is the master running?)",
			    sun.sun_path, strerror(errno));
		err(1, "%s", sun.sun_path);
	}
	if ((n = send(fd, &req, sizeof(req), MSG_NOSIGNAL)) < 0)
		err(1, "%s: send", sun.sun_path);
	if ((size_t)n != sizeof(req))
		errx(1, "%s: short send", sun.sun_path);

	pfd.fd = fd;
	pfd.events = POLLIN;
	while ((r = poll(&pfd, 1, CTL_TIMEOUT_MS)) < 0 && errno == EINTR)
		;
	if (r < 0)
		err(1, "poll");
	if (r == 0)
		errx(1, "%s: no answer from the master within %d s",
		    sun.sun_path, CTL_TIMEOUT_MS / 1000);
	/* MSG_TRUNC: the real length, so an oversized reply shows. */
	memset(&rep, 0, sizeof(rep));
	if ((n = recv(fd, &rep, sizeof(rep), MSG_TRUNC)) < 0)
		err(1, "%s: recv", sun.sun_path);
	close(fd);
	if (n == 0)
		errx(1, "%s: the master closed the connection without an "
		    "answer", sun.sun_path);
	if ((size_t)n != sizeof(rep))
		errx(1, "%s: malformed reply (%zd bytes, expected %zu)",
		    sun.sun_path, n, sizeof(rep));
	if (rep.magic != TFTP_CTL_MAGIC || rep.version != TFTP_CTL_VERSION)
		errx(1, "%s: malformed reply (magic %08x, version %u)",
		    sun.sun_path, rep.magic, rep.version);
	mlen = strnlen(rep.msg, sizeof(rep.msg));
	if (rep.status == 0) {
		if (mlen == 0)
			printf("ok, generation %" PRIu64 "\n", rep.generation);
		else {
			print_safe(stdout, rep.msg, mlen);
			if (rep.msg[mlen - 1] != '\n')
				putchar('\n');
		}
		if (fflush(stdout) != 0 || ferror(stdout))
			err(1, "stdout");
		return 0;
	}
	fflush(stdout);
	fprintf(stderr, "tftpctl: ");
	if (mlen > 0)
		print_safe(stderr, rep.msg, mlen);
	else if (rep.status < 0 && rep.status > -4096)
		fputs(strerror(-rep.status), stderr);
	else
		fprintf(stderr, "error %d", rep.status);
	if (mlen == 0 || rep.msg[mlen - 1] != '\n')
		putc('\n', stderr);
	return 1;
}

static int
cmd_set(int argc, char **argv)
{
	const char	*eq;

	if (argc != 2)
		errx(1, "usage: tftpctl set KEY=VALUE");
	if ((eq = strchr(argv[1], '=')) == NULL || eq == argv[1])
		errx(1, "set: \"%s\" is not KEY=VALUE", argv[1]);
	if (strlen(argv[1]) >= TFTP_CTL_ARG_MAX)
		errx(1, "set: KEY=VALUE is longer than %d bytes",
		    TFTP_CTL_ARG_MAX - 1);
	return ctl_request(TFTP_CTL_SET, argv[1]);
}

static int
cmd_reload(int argc, char **argv)
{
	if (argc != 1)
		errx(1, "usage: tftpctl reload");
	return ctl_request(TFTP_CTL_RELOAD, NULL);
}

/* -------------------------------------------------------------------- */
/* instances */

static int
cmd_instances(int argc, char **argv)
{
	struct inst	*l;
	char		 up[32];
	size_t		 n, i, w = 8;
	int64_t		 start, now;
	uint32_t	 nw;

	if (argc != 1)
		errx(1, "usage: tftpctl instances");
	if ((n = discover(&l)) == 0)
		errx(1, "no running instance in %s", rundir);
	for (i = 0; i < n; i++)
		if (strlen(l[i].name) > w)
			w = strlen(l[i].name);
	printf("%-*s %-8s %7s  %s\n", (int)w, "INSTANCE", "PID", "WORKERS",
	    "UPTIME");
	now = (int64_t)time(NULL);
	for (i = 0; i < n; i++) {
		start = lds64(&l[i].v.hdr->start_time);
		nw = l[i].v.nworkers;
		printf("%-*s %-8" PRId64 " %7u  %s\n", (int)w, l[i].name,
		    l[i].pid, nw, duration(start > 0 && start <= now ?
		    now - start : 0, up, sizeof(up)));
		shm_view_close(&l[i].v);
	}
	free(l);
	if (fflush(stdout) != 0 || ferror(stdout))
		err(1, "stdout");
	return 0;
}
