/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * tftpctl's three output formats.  "stats" turns a snapshot into rows,
 * one per counter, error code, option and gauge, each with the total and
 * a value per worker; the table, the JSON document and the Prometheus
 * exposition are three printers over the same rows.  A worker's JSON
 * object is written by json_worker() alone, for "stats" and "workers".
 * The histograms follow the rows: quantiles in the table, cumulative
 * buckets in JSON and Prometheus, their bounds and sums printed as exact
 * decimals of the base unit so every worker's le labels are the same.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>

#include "ctl_format.h"
#include "ctl_instance.h"
#include "metrics.h"
#include "proto.h"
#include "shm.h"
#include "tftp_shm.h"
#include "util.h"

#define METRIC_PREFIX	"snowowl_tftpd_"

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

static const char *exit_text(const struct tftp_shm_worker_info *wi,
		    char *buf, size_t len);
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
static void	 json_worker(FILE *fp, const struct snap *s, uint32_t k,
		    const struct row *rows, size_t nrows);
static void	 prom_family(FILE *fp, const char *metric, const char *help,
		    const char *type);
static void	 prom_label(FILE *fp, const char *s);
static void	 unit_str(uint64_t v, uint64_t div, char *buf, size_t len);
static void	 hist_sum(const struct snap *s, enum tftp_shm_hist_id id,
		    struct tftp_shm_hist *out);
static void	 quantile_str(const struct tftp_shm_hist *h,
		    enum tftp_shm_hist_id id, double q, char *buf, size_t len);
static void	 hists_text(const struct snap *s);
static void	 hists_json(const struct snap *s);
static void	 hists_prom(const char *name, const struct snap *s);
static void	 session_print(enum fmt f, uint32_t k,
		    const struct tftp_shm_session *e, int64_t now_ms,
		    bool first);

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
	[TFTP_SHM_C_REQUESTS_REPEATED]	= "Requests repeated by the client "
					  "of a running transfer.",
	[TFTP_SHM_C_TRANSFERS_REPLACED]	= "Transfers ended by a new request "
					  "from their client's port.",
	[TFTP_SHM_C_TRANSFERS_ABORTED]	= "Transfers the client ended with "
					  "an ERROR.",
	[TFTP_SHM_C_REFUSED_ACL]	= "Requests refused by the [access] "
					  "address lists.",
	[TFTP_SHM_C_UNVERIFIED_EXPIRED]	= "Transfers whose client never "
					  "answered, ended at the unverified "
					  "expiry.",
	[TFTP_SHM_C_UNVERIFIED_ICMP]	= "Transfers whose client never "
					  "answered, ended by an ICMP error.",
	[TFTP_SHM_C_UNVERIFIED_EVICTED]	= "Transfers whose client had not "
					  "answered, ended to admit a new "
					  "request.",
	[TFTP_SHM_C_UNVERIFIED_OVER_BUDGET] = "Packets to clients that had "
					  "not answered left unsent: the "
					  "unverified bytes budget was spent.",
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
static struct row	 rowbuf[MAX_ROWS];

const char *
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
	else if (wi->last_stalled_ms != 0)
		snprintf(buf, len, "stalled %u.%us, killed",
		    wi->last_stalled_ms / 1000, wi->last_stalled_ms / 100 % 10);
	else if (WIFEXITED(st))
		snprintf(buf, len, "exit %d", WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		snprintf(buf, len, "signal %d", WTERMSIG(st));
	else
		snprintf(buf, len, "status %d", st);
	return buf;
}

const char *
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

void
stats_print(enum fmt f, const char *name, const struct snap *s)
{
	size_t	 n;

	n = rows_build(s, rowbuf);
	if (f == FMT_JSON)
		stats_json(name, s, rowbuf, n);
	else if (f == FMT_PROM)
		stats_prom(name, s, rowbuf, n);
	else
		stats_text(name, s, rowbuf, n);
}

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
				r->v[k + 1] =
				    (uint64_t)snap_worker_uptime(s, k);
				break;
			}
			if (r->kind != ROW_UPTIME)
				r->v[0] += r->v[k + 1];
		}
	}
	rows[n - 1].v[0] = (uint64_t)snap_uptime(s);
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

/*
 * v units of 1/div (a power of ten) as an exact decimal, without
 * trailing zeros: 1024 ms is "1.024", 512 bytes "512".
 */
static void
unit_str(uint64_t v, uint64_t div, char *buf, size_t len)
{
	uint64_t	 d;
	int		 digits = 0, n;

	for (d = div; d > 1; d /= 10)
		digits++;
	if (digits == 0 || v % div == 0) {
		snprintf(buf, len, "%" PRIu64, v / div);
		return;
	}
	n = snprintf(buf, len, "%" PRIu64 ".%0*" PRIu64, v / div, digits,
	    v % div);
	while (n > 0 && (size_t)n < len && buf[n - 1] == '0')
		buf[--n] = '\0';
}

/* Histogram id summed over the workers. */
static void
hist_sum(const struct snap *s, enum tftp_shm_hist_id id,
    struct tftp_shm_hist *out)
{
	const struct tftp_shm_hist	*h;
	uint32_t			 k;
	unsigned			 i;

	memset(out, 0, sizeof(*out));
	for (k = 0; k < s->nworkers; k++) {
		h = &s->stats[k].hist[id];
		out->count += h->count;
		out->sum += h->sum;
		for (i = 0; i <= TFTP_SHM_HIST_BUCKETS; i++)
			out->bucket[i] += h->bucket[i];
	}
}

/* A quantile, or "-" when nothing was recorded. */
static void
quantile_str(const struct tftp_shm_hist *h, enum tftp_shm_hist_id id,
    double q, char *buf, size_t len)
{
	double	 v = metrics_quantile(h, id, q);

	if (v < 0)
		snprintf(buf, len, "-");
	else if (metrics_hist_div(id) == 1)
		snprintf(buf, len, "%.0f", v);
	else
		snprintf(buf, len, "%.6f", v);
}

static void
hists_text(const struct snap *s)
{
	static const double	 qs[] = { 0.5, 0.9, 0.99 };
	struct tftp_shm_hist	 h;
	char			 sum[32], q[3][32];
	unsigned		 id, i;

	printf("\n%-26s %10s %16s %12s %12s %12s\n", "histogram", "count",
	    "sum", "p50", "p90", "p99");
	for (id = 0; id < TFTP_SHM_H_MAX; id++) {
		hist_sum(s, id, &h);
		unit_str(h.sum, metrics_hist_div(id), sum, sizeof(sum));
		for (i = 0; i < 3; i++)
			quantile_str(&h, id, qs[i], q[i], sizeof(q[i]));
		printf("%-26s %10" PRIu64 " %16s %12s %12s %12s\n",
		    metrics_hist_name(id), h.count, sum, q[0], q[1], q[2]);
	}
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
	    PRIu64 "\n", name, s->master_pid,
	    duration(snap_uptime(s), up, sizeof(up)), s->generation);
	if (s->resets > 0 && s->reset_time > 0 && s->reset_time <= s->now)
		printf("counts since the last of %" PRIu64 " resets, %s ago\n",
		    s->resets, duration(s->now - s->reset_time, up,
		    sizeof(up)));
	putchar('\n');
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
	hists_text(s);
}

/*
 * A JSON string from at most max bytes of s (a field of the segment need
 * not end in NUL), escaped as the daemon's JSON log lines are.  Every
 * caller's field is at most JSON_STR_MAX bytes; a longer one is cut.
 */
#define JSON_STR_MAX	256
static void
json_str(FILE *fp, const char *s, size_t max)
{
	char	 raw[JSON_STR_MAX + 1], out[6 * JSON_STR_MAX + 1];
	size_t	 n;

	n = strnlen(s, max < JSON_STR_MAX ? max : JSON_STR_MAX);
	memcpy(raw, s, n);
	raw[n] = '\0';
	(void)str_json(out, sizeof(out), raw);
	fprintf(fp, "\"%s\"", out);
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

/*
 * Worker k as one JSON object: its process, then, given rows, its
 * counters as in "totals" (restarts and uptime are fields already).
 */
static void
json_worker(FILE *fp, const struct snap *s, uint32_t k,
    const struct row *rows, size_t nrows)
{
	enum row_kind	 open = ROW_UPTIME;
	char		 ex[32];
	size_t		 i;

	fprintf(fp, "{\"index\": %u, \"pid\": %" PRId64 ", \"state\": "
	    "\"%s\", \"restarts\": %" PRIu64 ", \"stalls\": %" PRIu64
	    ", \"uptime_seconds\": %" PRId64 ", \"generation\": %" PRIu64
	    ", \"last_exit\": ", k, s->info[k].pid,
	    state_name(s->info[k].state), s->info[k].restarts,
	    s->info[k].stalls, snap_worker_uptime(s, k),
	    s->stats[k].generation);
	exit_text(&s->info[k], ex, sizeof(ex));
	if (strcmp(ex, "-") == 0)
		fputs("null", fp);
	else
		json_str(fp, ex, sizeof(ex));
	for (i = 0; i < nrows; i++) {
		if (rows[i].kind == ROW_UPTIME ||
		    rows[i].kind == ROW_RESTARTS)
			continue;
		json_row(fp, &rows[i], k + 1, &open);
	}
	if (json_nested(open))
		putc('}', fp);
	putc('}', fp);
}

/*
 * Each histogram summed over the workers: count, sum and the quantiles
 * in base units, and the buckets as Prometheus has them, cumulative, the
 * last one's le "+Inf".
 */
static void
hists_json(const struct snap *s)
{
	struct tftp_shm_hist	 h;
	char			 buf[32];
	uint64_t		 cum;
	unsigned		 id, i;
	double			 q;

	for (id = 0; id < TFTP_SHM_H_MAX; id++) {
		hist_sum(s, id, &h);
		unit_str(h.sum, metrics_hist_div(id), buf, sizeof(buf));
		printf("%s\n  \"%s\": {\"count\": %" PRIu64 ", \"sum\": %s",
		    id == 0 ? "" : ",", metrics_hist_name(id), h.count, buf);
		for (i = 0; i < 3; i++) {
			q = metrics_quantile(&h, id, i == 0 ? 0.5 : i == 1 ?
			    0.9 : 0.99);
			printf(", \"p%s\": ", i == 0 ? "50" : i == 1 ? "90" :
			    "99");
			if (q < 0)
				printf("null");
			else
				printf("%.6g", q);
		}
		printf(", \"buckets\": [");
		for (cum = 0, i = 0; i <= TFTP_SHM_HIST_BUCKETS; i++) {
			cum += h.bucket[i];
			if (i < TFTP_SHM_HIST_BUCKETS)
				unit_str(metrics_bound(id, i),
				    metrics_hist_div(id), buf, sizeof(buf));
			printf("%s{\"le\": %s%s%s, \"count\": %" PRIu64 "}",
			    i == 0 ? "" : ", ",
			    i < TFTP_SHM_HIST_BUCKETS ? "" : "\"",
			    i < TFTP_SHM_HIST_BUCKETS ? buf : "+Inf",
			    i < TFTP_SHM_HIST_BUCKETS ? "" : "\"", cum);
		}
		printf("]}");
	}
	printf("\n ");
}

static void
stats_json(const char *name, const struct snap *s, const struct row *rows,
    size_t nrows)
{
	enum row_kind	 open;
	size_t		 i;
	uint32_t	 k;
	bool		 first;

	printf("{\"instance\": ");
	json_str(stdout, name, TFTP_SHM_NAME_MAX);
	printf(", \"master_pid\": %" PRId64 ", \"uptime_seconds\": %" PRId64
	    ", \"generation\": %" PRIu64 ",\n \"totals\": {", s->master_pid,
	    snap_uptime(s), s->generation);
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
	printf("},\n \"resets\": %" PRIu64 ", \"reset_time\": ", s->resets);
	if (s->reset_time > 0)
		printf("%" PRId64, s->reset_time);
	else
		printf("null");
	printf(",\n \"histograms\": {");
	hists_json(s);
	printf("},\n \"workers\": [");
	for (k = 0; k < s->nworkers; k++) {
		printf("%s\n  ", k == 0 ? "" : ",");
		json_worker(stdout, s, k, rows, nrows);
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

/* The families whose name and help are the same for every row. */
struct prom_fixed {
	const char	*metric;	/* after METRIC_PREFIX */
	const char	*help;
	const char	*type;
};

static const struct prom_fixed prom_fixed[] = {
	[ROW_ERROR] = { "transfer_errors_total",
	    "Failed transfers by TFTP error code.", "counter" },
	[ROW_OPTION] = { "options_total",
	    "Transfers that negotiated each option.", "counter" },
	[ROW_RESTARTS] = { "worker_restarts_total",
	    "Times the master started the worker again.", "counter" },
	[ROW_UPTIME] = { "worker_uptime_seconds",
	    "Seconds since the worker process started (0 when not running).",
	    "gauge" },
};

static const char *const hist_help[TFTP_SHM_H_MAX] = {
	[TFTP_SHM_H_DURATION]	= "Time from request to end of each "
				  "transfer.",
	[TFTP_SHM_H_SIZE]	= "Payload bytes of each transfer.",
	[TFTP_SHM_H_ACK_RTT]	= "Time from a window's first send to the "
				  "ACK that covers it (no retransmits).",
	[TFTP_SHM_H_RETRANSMITS] = "Packets sent again by each transfer.",
};

/* Per worker, as every family: sum by (le) for the instance. */
static void
hists_prom(const char *name, const struct snap *s)
{
	const struct tftp_shm_hist	*h;
	char				 metric[128], buf[32];
	uint64_t			 cum;
	unsigned			 id, i;
	uint32_t			 k;

	for (id = 0; id < TFTP_SHM_H_MAX; id++) {
		snprintf(metric, sizeof(metric), METRIC_PREFIX "%s",
		    metrics_hist_name(id));
		prom_family(stdout, metric, hist_help[id], "histogram");
		for (k = 0; k < s->nworkers; k++) {
			h = &s->stats[k].hist[id];
			for (cum = 0, i = 0; i <= TFTP_SHM_HIST_BUCKETS; i++) {
				cum += h->bucket[i];
				if (i < TFTP_SHM_HIST_BUCKETS)
					unit_str(metrics_bound(id, i),
					    metrics_hist_div(id), buf,
					    sizeof(buf));
				else
					snprintf(buf, sizeof(buf), "+Inf");
				printf("%s_bucket{instance=\"", metric);
				prom_label(stdout, name);
				printf("\",worker=\"%u\",le=\"%s\"} %" PRIu64
				    "\n", k, buf, cum);
			}
			unit_str(h->sum, metrics_hist_div(id), buf,
			    sizeof(buf));
			printf("%s_sum{instance=\"", metric);
			prom_label(stdout, name);
			printf("\",worker=\"%u\"} %s\n", k, buf);
			/*
			 * The +Inf bucket and _count must agree: the
			 * buckets' total, not the separately loaded count.
			 */
			printf("%s_count{instance=\"", metric);
			prom_label(stdout, name);
			printf("\",worker=\"%u\"} %" PRIu64 "\n", k, cum);
		}
	}
}

static void
stats_prom(const char *name, const struct snap *s, const struct row *rows,
    size_t nrows)
{
	const struct prom_fixed	*f;
	const struct row	*r;
	char			 metric[128];
	uint32_t		 k;

	for (r = rows; r < rows + nrows; r++) {
		switch (r->kind) {
		case ROW_COUNTER:
			snprintf(metric, sizeof(metric), METRIC_PREFIX
			    "%s_total", r->name);
			prom_family(stdout, metric, r->help != NULL ?
			    r->help : r->name, "counter");
			break;
		case ROW_GAUGE:
			snprintf(metric, sizeof(metric), METRIC_PREFIX "%s%s",
			    r->name, r->idx == GAUGE_POOL_EXHAUSTED ?
			    "_total" : "");
			prom_family(stdout, metric, r->help,
			    r->idx == GAUGE_POOL_EXHAUSTED ? "counter" :
			    "gauge");
			break;
		default:
			f = &prom_fixed[r->kind];
			snprintf(metric, sizeof(metric), METRIC_PREFIX "%s",
			    f->metric);
			/* One family for all the rows of a kind. */
			if (r == rows || r[-1].kind != r->kind)
				prom_family(stdout, metric, f->help, f->type);
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
	hists_prom(name, s);
	prom_family(stdout, METRIC_PREFIX "stats_resets_total", "Times "
	    "\"tftpctl stats --reset\" set a new baseline (these counters "
	    "keep counting).", "counter");
	printf(METRIC_PREFIX "stats_resets_total{instance=\"");
	prom_label(stdout, name);
	printf("\"} %" PRIu64 "\n", s->resets);
	prom_family(stdout, METRIC_PREFIX "uptime_seconds", "Seconds since "
	    "the instance's master started.", "gauge");
	printf(METRIC_PREFIX "uptime_seconds{instance=\"");
	prom_label(stdout, name);
	printf("\"} %" PRId64 "\n", snap_uptime(s));
	prom_family(stdout, METRIC_PREFIX "config_generation", "Settings "
	    "generation published by the master.", "gauge");
	printf(METRIC_PREFIX "config_generation{instance=\"");
	prom_label(stdout, name);
	printf("\"} %" PRIu64 "\n", s->generation);
}

/* -------------------------------------------------------------------- */
/* sessions */

/* The address alone in addr, "addr:port" or "[addr]:port" in buf. */
void
client_str(const struct tftp_shm_session *e, char *addr, size_t alen,
    char *buf, size_t len)
{
	if ((e->family != AF_INET && e->family != AF_INET6) ||
	    inet_ntop(e->family, e->addr, addr, (socklen_t)alen) == NULL)
		snprintf(addr, alen, "?");
	snprintf(buf, len, e->family == AF_INET6 ? "[%s]:%u" : "%s:%u",
	    addr, e->port);
}

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

void
sessions_begin(struct sessions_out *o, enum fmt f, int64_t now_ms)
{
	o->f = f;
	o->now_ms = now_ms;
	o->first = true;
	if (f == FMT_JSON)
		printf("[");
	else
		printf("%-3s %-24s %-3s %12s %12s %12s %7s  %s\n", "W",
		    "CLIENT", "DIR", "BYTES", "SIZE", "RATE", "AGE", "FILE");
}

/* One transfer-table entry, copied and checked by shm_session_read(). */
void
sessions_entry(uint32_t k, const struct tftp_shm_session *e, void *arg)
{
	struct sessions_out	*o = arg;

	session_print(o->f, k, e, o->now_ms, o->first);
	o->first = false;
}

void
sessions_end(const struct sessions_out *o)
{
	if (o->f == FMT_JSON)
		printf("%s]\n", o->first ? "" : "\n");
}

/* -------------------------------------------------------------------- */
/* clients, files */

void
topn_print(enum fmt f, bool files, const struct ctl_topn_row *rows,
    size_t n)
{
	char		 key[INET6_ADDRSTRLEN + 4];
	char		 vis[4 * TFTP_SHM_FILE_MAX + 1];
	size_t		 i;

	if (f == FMT_JSON)
		printf("[");
	else if (files)
		printf("%10s %14s %9s  %s\n", "REQUESTS", "BYTES", "FAILURES",
		    "FILE");
	else
		printf("%-43s %10s %14s %9s\n", "CLIENT", "REQUESTS", "BYTES",
		    "FAILURES");
	for (i = 0; i < n; i++) {
		if (!files)
			ctl_topn_client_str(&rows[i], key, sizeof(key));
		if (f != FMT_JSON && files) {
			/* The raw name, escaped once, for a terminal. */
			str_vis(vis, sizeof(vis), (const char *)rows[i].key);
			printf("%10" PRIu64 " %14" PRIu64 " %9" PRIu64
			    "  \"%s\"\n", rows[i].requests, rows[i].bytes,
			    rows[i].failures, vis);
			continue;
		}
		if (f != FMT_JSON) {
			printf("%-43s %10" PRIu64 " %14" PRIu64 " %9" PRIu64
			    "\n", key, rows[i].requests, rows[i].bytes,
			    rows[i].failures);
			continue;
		}
		printf("%s\n {\"%s\": ", i == 0 ? "" : ",", files ? "file" :
		    "client");
		if (files)
			json_str(stdout, (const char *)rows[i].key,
			    sizeof(rows[i].key));
		else
			json_str(stdout, key, sizeof(key));
		printf(", \"requests\": %" PRIu64 ", \"bytes\": %" PRIu64
		    ", \"failures\": %" PRIu64 ", \"error\": %" PRIu64 "}",
		    rows[i].requests, rows[i].bytes, rows[i].failures,
		    rows[i].error);
	}
	if (f == FMT_JSON)
		printf("%s]\n", n > 0 ? "\n" : "");
}

/* -------------------------------------------------------------------- */
/* workers, instances */

void
workers_print(enum fmt f, const struct snap *s)
{
	const struct tftp_shm_worker_info	*wi;
	char					 up[32], ex[32];
	uint32_t				 k;

	if (f == FMT_JSON)
		printf("[");
	else
		printf("%-3s %-8s %-9s %8s %8s %10s  %s\n", "W", "PID",
		    "STATE", "RESTARTS", "UPTIME", "GENERATION",
		    "LAST EXIT");
	for (k = 0; k < s->nworkers; k++) {
		if (f == FMT_JSON) {
			printf("%s\n ", k == 0 ? "" : ",");
			json_worker(stdout, s, k, NULL, 0);
			continue;
		}
		wi = &s->info[k];
		exit_text(wi, ex, sizeof(ex));
		if (worker_live(wi->state))
			duration(snap_worker_uptime(s, k), up, sizeof(up));
		else
			snprintf(up, sizeof(up), "-");
		printf("%-3u %-8" PRId64 " %-9s %8" PRIu64 " %8s %10" PRIu64
		    "  %s\n", k, wi->pid, state_name(wi->state), wi->restarts,
		    up, s->stats[k].generation, ex);
	}
	if (f == FMT_JSON)
		printf("%s]\n", s->nworkers > 0 ? "\n" : "");
}

void
instances_print(const struct inst *l, size_t n)
{
	char		 up[32];
	size_t		 i, w = 8;
	int64_t		 start, now;

	for (i = 0; i < n; i++)
		if (strlen(l[i].name) > w)
			w = strlen(l[i].name);
	printf("%-*s %-8s %7s  %s\n", (int)w, "INSTANCE", "PID", "WORKERS",
	    "UPTIME");
	now = (int64_t)time(NULL);
	for (i = 0; i < n; i++) {
		start = inst_start_time(&l[i]);
		printf("%-*s %-8" PRId64 " %7u  %s\n", (int)w, l[i].name,
		    l[i].pid, l[i].v.nworkers, duration(start > 0 &&
		    start <= now ? now - start : 0, up, sizeof(up)));
	}
}
