/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * "tftpctl top".  Every interval it takes a snapshot of the segment
 * (ctl_instance.c), turns the difference from the previous one into
 * rates, ranks the transfers in progress by their rate, and lays out a
 * table of panels in the rows the terminal has: each panel gets its
 * minimum, then rows are handed out one at a time to the panels that
 * could use more, so no one panel (many workers, many transfers) starves
 * the others.  Lines are cut at the terminal's width, never wrapped.
 *
 * The terminal is driven by hand with a few VT100 escapes (alternate
 * screen, cursor position, erase) and termios: no curses, nothing that
 * reads terminfo, and the same code works over ssh in any terminal that
 * speaks ANSI.  The terminal is restored on every way out: the keys, the
 * signals (which set flags only), errors (atexit) and the instance going
 * away.  Strings from the segment (file names) are escaped with
 * str_vis() like "sessions" does; addresses are inet_ntop()'s.
 */
#include <sys/ioctl.h>

#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "ctl_format.h"
#include "ctl_instance.h"
#include "ctl_top.h"
#include "ctl_topn.h"
#include "tftp_shm.h"
#include "util.h"

#define ROWS_MAX	256		/* lines drawn at most */
#define TOPN_SHOW	10		/* clients, files: rows at most */
#define COLS_MAX	512
#define COLS_MIN	20
#define PLAIN_COLS	80		/* a block's width when not a tty */
#define PLAIN_ROWS	64		/* and its height at most */
#define XFER_MAX	4096		/* transfers ranked per frame */
#define DELAY_MIN_MS	100
#define DELAY_MAX_MS	3600000
#define FIRST_MS	500		/* first frame: rates over this */
#define LINE_MAX_B	1024		/* a line before it is cut */

/* A transfer's identity across two frames: its slot may be reused. */
struct xkey {
	uint32_t	 k;
	uint16_t	 family;
	uint16_t	 port;
	uint8_t		 addr[16];
	int64_t		 started_ms;
	uint64_t	 bytes;
};

/* A transfer in progress, as ranked and shown. */
struct xrow {
	struct tftp_shm_session	 e;
	uint32_t		 k;
	double			 rate;		/* bytes/s */
};

struct rates {
	double	 req, sent, recv, pkts, retr;
};

struct top {
	struct inst	 in;
	bool		 tty;
	int		 keyfd;			/* -1: no keys */
	uint32_t	 delay_ms;
	uint64_t	 iters;			/* 0: until quit */
	size_t		 rows, cols;
	/* The frame shown and the one before, alternately in snaps[]. */
	struct snap	*cur, *prev;
	uint64_t	 cur_ms, prev_ms;	/* monotonic */
	bool		 have_rates;
	struct rates	 w[TFTP_SHM_MAX_WORKERS], tot;
	struct xrow	*x;
	size_t		 nx, xtotal;
	struct xkey	*keys, *pkeys;		/* this frame's, the last */
	size_t		 nkeys, npkeys;
	/* The busiest clients and files of this frame, merged. */
	struct ctl_topn_row *crows, *frows;
	size_t		 ncrows, nfrows;
	/* The screen being built. */
	char		 line[ROWS_MAX][COLS_MAX + 1];
	size_t		 nlines;
	size_t		 limit;			/* lines the panel may add */
};

/*
 * A panel: the rows it would fill this frame, the fewest it is shown
 * with (else not at all) and how it draws itself in the rows it got.
 */
struct panel {
	const char	*name;
	size_t		 min;
	size_t		 (*want)(const struct top *);
	void		 (*draw)(struct top *, size_t rows);
};

static size_t	 want_summary(const struct top *t);
static size_t	 want_workers(const struct top *t);
static size_t	 want_xfers(const struct top *t);
static size_t	 want_clients(const struct top *t);
static size_t	 want_files(const struct top *t);
static void	 draw_summary(struct top *t, size_t rows);
static void	 draw_workers(struct top *t, size_t rows);
static void	 draw_xfers(struct top *t, size_t rows);
static void	 draw_clients(struct top *t, size_t rows);
static void	 draw_files(struct top *t, size_t rows);

static const struct panel panels[] = {
	{ "summary",	3, want_summary,	draw_summary },
	{ "workers",	2, want_workers,	draw_workers },
	{ "transfers",	2, want_xfers,		draw_xfers },
	/* Since the start, by requests: the workers' tables merged. */
	{ "clients",	2, want_clients,	draw_clients },
	{ "files",	2, want_files,		draw_files },
};
#define NPANELS	(sizeof(panels) / sizeof(panels[0]))

static void	 parse_args(struct top *t, int argc, char **argv);
static uint32_t	 parse_delay(const char *s);
static void	 term_setup(struct top *t);
static void	 term_restore(void);
static void	 term_size(struct top *t);
static void	 on_signal(int sig);
static void	 write_all(const char *buf, size_t len);
static bool	 wait_keys(struct top *t, uint64_t until_ms);
static void	 frame_take(struct top *t);
static void	 rates_compute(struct top *t);
static void	 xfer_collect(uint32_t k, const struct tftp_shm_session *e,
		    void *arg);
static void	 xfers_rank(struct top *t);
static int	 key_cmp(const void *a, const void *b);
static int	 xrow_cmp(const void *a, const void *b);
static void	 render(struct top *t);
static void	 emit(struct top *t);
static void	 line_add(struct top *t, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));
static const char *human(double v, char *buf, size_t len);
static const char *count(double v, char *buf, size_t len);
static const char *eta_str(const struct xrow *x, char *buf, size_t len);
static uint64_t	 delta(uint64_t now, uint64_t before);

/* Scratch space too big for the stack. */
static struct top		 top;
static struct snap		 snaps[2];
static struct xrow		 xrows[XFER_MAX];
static struct xkey		 keybuf[2][XFER_MAX];
static struct ctl_topn_row	 topnbuf[2][TOPN_SHOW];
static char			 outbuf[ROWS_MAX * (COLS_MAX + 16) + 64];

/* What the signal handlers and the atexit() handler see. */
static volatile sig_atomic_t	 quit_sig, resized;
static struct termios		 saved_tio;
static bool			 tio_saved, screen_on;

static const struct option longopts[] = {
	{ "delay",	required_argument,	NULL,	'd' },
	{ "iterations",	required_argument,	NULL,	'n' },
	{ "help",	no_argument,		NULL,	'h' },
	{ NULL,		0,			NULL,	0 },
};

int
top_main(const char *rundir, const char *instance, int argc, char **argv)
{
	struct top	*t = &top;
	uint64_t	 next, now, n = 0;
	bool		 redraw;

	t->delay_ms = 1000;
	t->keyfd = -1;
	parse_args(t, argc, argv);
	/* Before the terminal is touched: these may end the program. */
	inst_open(rundir, instance, &t->in);
	t->cur = &snaps[0];
	t->prev = &snaps[1];
	t->keys = keybuf[0];
	t->pkeys = keybuf[1];
	t->x = xrows;
	t->crows = topnbuf[0];
	t->frows = topnbuf[1];
	t->tty = isatty(STDOUT_FILENO) == 1;
	if (t->tty)
		term_setup(t);
	else {
		t->rows = PLAIN_ROWS;
		t->cols = PLAIN_COLS;
	}

	/* A baseline, so the first frame has rates too. */
	frame_take(t);
	next = t->cur_ms + (t->delay_ms < FIRST_MS ? t->delay_ms : FIRST_MS);
	for (;;) {
		/* Space: a new frame now, its rates over the time since. */
		if (wait_keys(t, next))
			next = time_now_ms();
		redraw = false;
		if (quit_sig)
			break;
		if (resized) {
			resized = 0;
			term_size(t);
			redraw = n > 0;
		}
		now = time_now_ms();
		if (now >= next) {
			frame_take(t);
			rates_compute(t);
			xfers_rank(t);
			redraw = true;
			n++;
			next += t->delay_ms;
			if (next <= now)
				next = now + t->delay_ms;
		}
		if (redraw) {
			render(t);
			emit(t);
		}
		if (t->iters != 0 && n >= t->iters)
			break;
		/* The segment stays mapped after its master is gone. */
		if (kill((pid_t)t->in.pid, 0) < 0 && errno == ESRCH) {
			term_restore();
			errx(1, "instance %s: its master (pid %" PRId64
			    ") is gone", t->in.name, t->in.pid);
		}
	}
	term_restore();
	inst_close(&t->in);
	return 0;
}

static void
parse_args(struct top *t, int argc, char **argv)
{
	uint32_t	 n;
	int		 ch;

	/* A new scan of the command's own arguments. */
	optind = 0;
	while ((ch = getopt_long(argc, argv, "+d:n:h", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'd':
			t->delay_ms = parse_delay(optarg);
			break;
		case 'n':
			if (parse_u32(optarg, 1, UINT32_MAX, &n) < 0)
				errx(1, "top: -n: \"%s\" is not a count of "
				    "1 or more", optarg);
			t->iters = n;
			break;
		case 'h':
			printf("usage: tftpctl top [-d seconds] "
			    "[-n iterations]\n");
			exit(0);
		default:
			errx(1, "usage: tftpctl top [-d seconds] "
			    "[-n iterations]");
		}
	}
	if (optind != argc)
		errx(1, "top: unknown argument \"%s\"", argv[optind]);
}

/* Seconds, with up to three decimals: "1", "0.5", "2.25". */
static uint32_t
parse_delay(const char *s)
{
	const char	*p = s;
	uint64_t	 ms = 0, scale = 1000;
	size_t		 digits = 0;

	for (; *p >= '0' && *p <= '9' && digits < 8; p++, digits++)
		ms = ms * 10 + (uint64_t)(*p - '0');
	ms *= 1000;
	if (*p == '.' && digits > 0) {
		for (p++; *p >= '0' && *p <= '9' && scale > 1; p++) {
			scale /= 10;
			ms += (uint64_t)(*p - '0') * scale;
		}
	}
	if (digits == 0 || *p != '\0' || ms < DELAY_MIN_MS ||
	    ms > DELAY_MAX_MS)
		errx(1, "top: -d: \"%s\" is not a number of seconds from "
		    "%.1f to %u", s, DELAY_MIN_MS / 1000.0,
		    DELAY_MAX_MS / 1000);
	return (uint32_t)ms;
}

/* -------------------------------------------------------------------- */
/* the terminal */

static void
term_setup(struct top *t)
{
	struct sigaction	 sa;
	struct termios		 tio;
	static const int	 sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT,
				    SIGWINCH };
	static const char	 enter[] = "\033[?1049h\033[?25l\033[H\033[2J";
	size_t			 i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: poll() returns at once with EINTR. */
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (sigaction(sigs[i], &sa, NULL) < 0)
			err(1, "sigaction");
	if (atexit(term_restore) != 0)
		errx(1, "atexit failed");
	/*
	 * Keys one at a time, not echoed.  ISIG off: Ctrl-C arrives as a
	 * byte and quits like q, and Ctrl-Z cannot stop the program with
	 * the terminal left raw.
	 */
	if (isatty(STDIN_FILENO) == 1 && tcgetattr(STDIN_FILENO,
	    &saved_tio) == 0) {
		tio = saved_tio;
		tio.c_lflag &= ~(tcflag_t)(ICANON | ECHO | ISIG | IEXTEN);
		tio.c_iflag &= ~(tcflag_t)(IXON | ICRNL);
		tio.c_cc[VMIN] = 0;
		tio.c_cc[VTIME] = 0;
		if (tcsetattr(STDIN_FILENO, TCSANOW, &tio) < 0)
			err(1, "tcsetattr");
		tio_saved = true;
		t->keyfd = STDIN_FILENO;
	}
	screen_on = true;
	write_all(enter, sizeof(enter) - 1);
	term_size(t);
}

/* Safe to call twice: each step is undone once. */
static void
term_restore(void)
{
	static const char	 leave[] = "\033[?25h\033[?1049l";

	if (screen_on) {
		screen_on = false;
		write_all(leave, sizeof(leave) - 1);
	}
	if (tio_saved) {
		tio_saved = false;
		(void)tcsetattr(STDIN_FILENO, TCSANOW, &saved_tio);
	}
}

static void
term_size(struct top *t)
{
	struct winsize	 ws;

	t->rows = 24;
	t->cols = 80;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 &&
	    ws.ws_col > 0) {
		t->rows = ws.ws_row;
		t->cols = ws.ws_col;
	}
	if (t->rows > ROWS_MAX)
		t->rows = ROWS_MAX;
	if (t->cols > COLS_MAX)
		t->cols = COLS_MAX;
	if (t->cols < COLS_MIN)
		t->cols = COLS_MIN;
}

static void
on_signal(int sig)
{
	if (sig == SIGWINCH)
		resized = 1;
	else
		quit_sig = 1;
}

/* Errors end the program (its atexit() restores the terminal once). */
static void
write_all(const char *buf, size_t len)
{
	ssize_t	 n;

	while (len > 0) {
		if ((n = write(STDOUT_FILENO, buf, len)) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			/* Not through the terminal we would write to. */
			screen_on = false;
			err(1, "stdout");
		}
		buf += n;
		len -= (size_t)n;
	}
}

/*
 * Until the monotonic until_ms, a signal or a key.  q, Q and Ctrl-C
 * quit; space asks for a new frame now (true).
 */
static bool
wait_keys(struct top *t, uint64_t until_ms)
{
	struct pollfd	 pfd;
	char		 keys[32];
	uint64_t	 now;
	ssize_t		 n, i;
	int		 r;

	now = time_now_ms();
	if (now >= until_ms)
		return false;
	pfd.fd = t->keyfd;
	pfd.events = POLLIN;
	pfd.revents = 0;
	r = poll(&pfd, t->keyfd >= 0 ? 1 : 0, (int)(until_ms - now));
	if (r < 0) {
		if (errno == EINTR)
			return false;
		err(1, "poll");
	}
	if (r == 0)
		return false;
	if (pfd.revents & (POLLHUP | POLLERR | POLLNVAL)) {
		/* The terminal went away (ssh closed). */
		quit_sig = 1;
		return false;
	}
	if ((n = read(t->keyfd, keys, sizeof(keys))) <= 0)
		return false;
	for (i = 0; i < n; i++) {
		if (keys[i] == 'q' || keys[i] == 'Q' || keys[i] == 0x03) {
			quit_sig = 1;
			return false;
		}
		if (keys[i] == ' ')
			return true;
	}
	return false;
}

/* -------------------------------------------------------------------- */
/* the data */

static void
frame_take(struct top *t)
{
	struct snap	*s = t->prev;
	struct xkey	*k = t->pkeys;

	t->prev = t->cur;
	t->cur = s;
	t->prev_ms = t->cur_ms;
	t->pkeys = t->keys;
	t->npkeys = t->nkeys;
	t->keys = k;
	t->nkeys = 0;
	snap_take(&t->in, t->cur);
	t->cur_ms = time_now_ms();
	t->nx = 0;
	t->xtotal = 0;
	inst_each_session(&t->in, xfer_collect, t);
	t->ncrows = ctl_topn_clients(t->cur, t->crows, TOPN_SHOW);
	t->nfrows = ctl_topn_files(t->cur, t->frows, TOPN_SHOW);
}

/*
 * Counters only grow (a restarted worker's go on from its last ones);
 * the segment is input all the same: never a negative rate.
 */
static uint64_t
delta(uint64_t now, uint64_t before)
{
	return now >= before ? now - before : 0;
}

static void
rates_compute(struct top *t)
{
	const uint64_t	*a, *b;
	struct rates	*r;
	double		 dt;
	uint32_t	 k;

	memset(&t->tot, 0, sizeof(t->tot));
	memset(t->w, 0, sizeof(t->w));
	t->have_rates = t->cur_ms > t->prev_ms;
	if (!t->have_rates)
		return;
	dt = (double)(t->cur_ms - t->prev_ms) / 1000.0;
	for (k = 0; k < t->cur->nworkers && k < t->prev->nworkers; k++) {
		a = t->cur->stats[k].counters;
		b = t->prev->stats[k].counters;
		r = &t->w[k];
		r->req = (double)(delta(a[TFTP_SHM_C_RRQ],
		    b[TFTP_SHM_C_RRQ]) + delta(a[TFTP_SHM_C_WRQ],
		    b[TFTP_SHM_C_WRQ])) / dt;
		r->sent = (double)delta(a[TFTP_SHM_C_BYTES_SENT],
		    b[TFTP_SHM_C_BYTES_SENT]) / dt;
		r->recv = (double)delta(a[TFTP_SHM_C_BYTES_RECEIVED],
		    b[TFTP_SHM_C_BYTES_RECEIVED]) / dt;
		r->pkts = (double)(delta(a[TFTP_SHM_C_PACKETS_SENT],
		    b[TFTP_SHM_C_PACKETS_SENT]) +
		    delta(a[TFTP_SHM_C_PACKETS_RECEIVED],
		    b[TFTP_SHM_C_PACKETS_RECEIVED])) / dt;
		r->retr = (double)delta(a[TFTP_SHM_C_RETRANSMITS],
		    b[TFTP_SHM_C_RETRANSMITS]) / dt;
		t->tot.req += r->req;
		t->tot.sent += r->sent;
		t->tot.recv += r->recv;
		t->tot.pkts += r->pkts;
		t->tot.retr += r->retr;
	}
}

/* A session_fn: each entry shm_session_read() copied and checked. */
static void
xfer_collect(uint32_t k, const struct tftp_shm_session *e, void *arg)
{
	struct top	*t = arg;
	struct xkey	*key;

	t->xtotal++;
	if (t->nx >= XFER_MAX)
		return;
	t->x[t->nx].e = *e;
	t->x[t->nx].k = k;
	t->x[t->nx].rate = 0;
	t->nx++;
	key = &t->keys[t->nkeys++];
	memset(key, 0, sizeof(*key));
	key->k = k;
	key->family = e->family;
	key->port = e->port;
	memcpy(key->addr, e->addr, sizeof(key->addr));
	key->started_ms = e->started_ms;
	key->bytes = e->bytes;
}

static int
key_cmp(const void *a, const void *b)
{
	const struct xkey	*x = a, *y = b;

	if (x->k != y->k)
		return x->k < y->k ? -1 : 1;
	if (x->port != y->port)
		return x->port < y->port ? -1 : 1;
	if (x->started_ms != y->started_ms)
		return x->started_ms < y->started_ms ? -1 : 1;
	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	return memcmp(x->addr, y->addr, sizeof(x->addr));
}

/* Fastest first; then the furthest along. */
static int
xrow_cmp(const void *a, const void *b)
{
	const struct xrow	*x = a, *y = b;

	if (x->rate != y->rate)
		return x->rate > y->rate ? -1 : 1;
	if (x->e.bytes != y->e.bytes)
		return x->e.bytes > y->e.bytes ? -1 : 1;
	return 0;
}

/*
 * Each transfer's rate: its bytes since the last frame, or for one not
 * seen then, its average since it started.  Then sorted, fastest first.
 */
static void
xfers_rank(struct top *t)
{
	const struct xkey	*old;
	struct xkey		 key;
	struct xrow		*x;
	int64_t			 now_ms, age;
	double			 dt;
	size_t			 i;

	now_ms = t->cur->now * 1000;
	dt = (double)(t->cur_ms - t->prev_ms) / 1000.0;
	for (i = 0; i < t->nx; i++) {
		x = &t->x[i];
		memset(&key, 0, sizeof(key));
		key.k = x->k;
		key.family = x->e.family;
		key.port = x->e.port;
		memcpy(key.addr, x->e.addr, sizeof(key.addr));
		key.started_ms = x->e.started_ms;
		old = t->npkeys > 0 ? bsearch(&key, t->pkeys, t->npkeys,
		    sizeof(key), key_cmp) : NULL;
		if (old != NULL && dt > 0) {
			x->rate = (double)delta(x->e.bytes, old->bytes) / dt;
			continue;
		}
		/* Ordered so that a hostile started_ms cannot overflow. */
		age = x->e.started_ms > 0 && x->e.started_ms < now_ms ?
		    now_ms - x->e.started_ms : 0;
		x->rate = age > 0 ? (double)x->e.bytes * 1000.0 /
		    (double)age : 0;
	}
	qsort(t->keys, t->nkeys, sizeof(t->keys[0]), key_cmp);
	qsort(t->x, t->nx, sizeof(t->x[0]), xrow_cmp);
}

/* -------------------------------------------------------------------- */
/* the layout */

static void
render(struct top *t)
{
	size_t	 got[NPANELS], want[NPANELS], avail, i;
	bool	 more;

	t->nlines = 0;
	/* A terminal keeps its last row for the keys. */
	avail = t->tty ? (t->rows > 1 ? t->rows - 1 : 1) : t->rows;
	for (i = 0; i < NPANELS; i++) {
		want[i] = panels[i].want(t);
		got[i] = 0;
		if (want[i] > 0 && panels[i].min <= avail) {
			got[i] = panels[i].min < want[i] ? panels[i].min :
			    want[i];
			avail -= got[i];
		}
	}
	do {
		more = false;
		for (i = 0; i < NPANELS && avail > 0; i++) {
			if (got[i] == 0 || got[i] >= want[i])
				continue;
			got[i]++;
			avail--;
			more = true;
		}
	} while (more && avail > 0);
	for (i = 0; i < NPANELS; i++) {
		if (got[i] == 0)
			continue;
		t->limit = t->nlines + got[i];
		panels[i].draw(t, got[i]);
	}
	/* The keys on the last row, where they stay as the panels change. */
	if (t->tty) {
		t->limit = t->rows;
		while (t->nlines + 1 < t->rows)
			line_add(t, "%s", "");
		line_add(t, "q quit  space refresh  every %.1f s",
		    t->delay_ms / 1000.0);
	}
}

/* One line, cut at the width; none beyond the panel's rows. */
static void
line_add(struct top *t, const char *fmt, ...)
{
	char	 buf[LINE_MAX_B];
	va_list	 ap;
	size_t	 len;

	if (t->nlines >= t->limit || t->nlines >= ROWS_MAX)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	len = strnlen(buf, sizeof(buf));
	if (len > t->cols)
		len = t->cols;
	memcpy(t->line[t->nlines], buf, len);
	t->line[t->nlines][len] = '\0';
	t->nlines++;
}

/*
 * The whole screen in one write: each line at its row, erased to its
 * end (render() filled every row).  Not a terminal: the lines, then a blank
 * one between blocks.
 */
static void
emit(struct top *t)
{
	size_t	 off = 0, i;

	for (i = 0; i < t->nlines; i++) {
		if (t->tty)
			str_append(outbuf, sizeof(outbuf), &off,
			    "\033[%zu;1H%s\033[K", i + 1, t->line[i]);
		else
			str_append(outbuf, sizeof(outbuf), &off, "%s\n",
			    t->line[i]);
	}
	if (!t->tty)
		str_append(outbuf, sizeof(outbuf), &off, "\n");
	write_all(outbuf, off);
}

/* -------------------------------------------------------------------- */
/* the panels */

static size_t
want_summary(const struct top *t)
{
	return 3;
}

static void
draw_summary(struct top *t, size_t rows)
{
	const struct snap		*s = t->cur;
	const struct tftp_shm_stats	*st;
	uint64_t			 act = 0, use = 0, cap = 0, high = 0;
	uint64_t			 exh = 0, ok = 0, failed = 0;
	uint32_t			 k, live = 0;
	char				 up[32], clock[16], n[5][16];
	struct tm			 tm;
	time_t				 now = (time_t)s->now;
	char				 name[4 * TFTP_SHM_NAME_MAX + 1];

	for (k = 0; k < s->nworkers; k++) {
		st = &s->stats[k];
		if (worker_live(s->info[k].state))
			live++;
		act += st->active_transfers;
		use += st->pool_in_use;
		cap += st->pool_capacity;
		high += st->pool_high_water;
		exh += st->pool_exhausted;
		ok += st->counters[TFTP_SHM_C_TRANSFERS_OK];
		failed += st->counters[TFTP_SHM_C_TRANSFERS_FAILED];
	}
	if (localtime_r(&now, &tm) == NULL ||
	    strftime(clock, sizeof(clock), "%H:%M:%S", &tm) == 0)
		snprintf(clock, sizeof(clock), "-");
	str_vis(name, sizeof(name), t->in.name);
	line_add(t, "tftpctl top - %s  pid %" PRId64 "  up %s  workers "
	    "%u/%u  %s", name, s->master_pid, duration(snap_uptime(s), up,
	    sizeof(up)), live, s->nworkers, clock);
	if (t->have_rates)
		line_add(t, "req/s %s  sent %s/s  recv %s/s  pkt/s %s  "
		    "retr/s %s", count(t->tot.req, n[0], sizeof(n[0])),
		    human(t->tot.sent, n[1], sizeof(n[1])),
		    human(t->tot.recv, n[2], sizeof(n[2])),
		    count(t->tot.pkts, n[3], sizeof(n[3])),
		    count(t->tot.retr, n[4], sizeof(n[4])));
	else
		line_add(t, "req/s -  sent -  recv -  pkt/s -  retr/s -");
	line_add(t, "active %" PRIu64 "  pool %" PRIu64 "/%" PRIu64
	    "  high %" PRIu64 "  exhausted %" PRIu64 "  ok %" PRIu64
	    "  failed %" PRIu64, act, use, cap, high, exh, ok, failed);
}

static size_t
want_workers(const struct top *t)
{
	return 1 + (size_t)t->cur->nworkers;
}

static void
draw_workers(struct top *t, size_t rows)
{
	const struct snap		*s = t->cur;
	const struct tftp_shm_stats	*st;
	const struct rates		*r;
	char				 n[5][16];
	uint32_t			 k, shown;
	size_t				 i;

	line_add(t, "%2s %-7s %-8s %6s %7s %7s %6s %6s %4s %9s %5s", "W",
	    "PID", "STATE", "REQ/S", "SENT/S", "RECV/S", "PKT/S", "RETR/S",
	    "ACT", "POOL", "HIGH");
	/* The last row says how many did not fit. */
	shown = rows - 1 >= s->nworkers ? s->nworkers : (uint32_t)rows - 2;
	for (k = 0; k < shown; k++) {
		st = &s->stats[k];
		r = &t->w[k];
		if (!t->have_rates || !worker_live(s->info[k].state))
			for (i = 0; i < 5; i++)
				snprintf(n[i], sizeof(n[i]), "-");
		else {
			count(r->req, n[0], sizeof(n[0]));
			human(r->sent, n[1], sizeof(n[1]));
			human(r->recv, n[2], sizeof(n[2]));
			count(r->pkts, n[3], sizeof(n[3]));
			count(r->retr, n[4], sizeof(n[4]));
		}
		line_add(t, "%2u %-7" PRId64 " %-8s %6s %7s %7s %6s %6s %4"
		    PRIu64 " %4" PRIu64 "/%-4" PRIu64 " %5" PRIu64, k,
		    s->info[k].pid, state_name(s->info[k].state), n[0], n[1],
		    n[2], n[3], n[4], st->active_transfers, st->pool_in_use,
		    st->pool_capacity, st->pool_high_water);
	}
	if (shown < s->nworkers)
		line_add(t, "   ... %u more workers", s->nworkers - shown);
}

static size_t
want_xfers(const struct top *t)
{
	return 1 + (t->xtotal > 0 ? t->xtotal : 1);
}

static void
draw_xfers(struct top *t, size_t rows)
{
	const struct xrow	*x;
	char			 client[SOCKADDR_STRLEN];
	char			 addr[INET6_ADDRSTRLEN];
	char			 file[TFTP_SHM_FILE_MAX + 1];
	char			 vis[4 * TFTP_SHM_FILE_MAX + 1];
	char			 prog[32], pct[8], b[3][16], eta[32];
	size_t			 i, shown;

	line_add(t, "%2s %-21s %-3s %11s %4s %7s %6s  %s", "W", "CLIENT",
	    "DIR", "PROGRESS", "%", "RATE", "ETA", "FILE");
	if (t->xtotal == 0) {
		line_add(t, "   no transfer in progress");
		return;
	}
	shown = rows - 1 >= t->xtotal ? t->xtotal : rows - 2;
	if (shown > t->nx)
		shown = t->nx;
	for (i = 0; i < shown; i++) {
		x = &t->x[i];
		client_str(&x->e, addr, sizeof(addr), client,
		    sizeof(client));
		memcpy(file, x->e.file, TFTP_SHM_FILE_MAX);
		file[TFTP_SHM_FILE_MAX] = '\0';
		str_vis(vis, sizeof(vis), file);
		human((double)x->e.bytes, b[0], sizeof(b[0]));
		if (x->e.size == 0) {
			snprintf(prog, sizeof(prog), "%s/-", b[0]);
			snprintf(pct, sizeof(pct), "-");
		} else {
			snprintf(prog, sizeof(prog), "%s/%s", b[0],
			    human((double)x->e.size, b[1], sizeof(b[1])));
			snprintf(pct, sizeof(pct), "%.0f%%",
			    x->e.bytes >= x->e.size ? 100.0 :
			    (double)x->e.bytes * 100.0 / (double)x->e.size);
		}
		human(x->rate, b[2], sizeof(b[2]));
		line_add(t, "%2u %-21s %-3s %11s %4s %5s/s %6s  \"%s\"", x->k,
		    client, x->e.dir == TFTP_SHM_S_READ ? "get" : "put", prog,
		    pct, b[2], eta_str(x, eta, sizeof(eta)), vis);
	}
	if (shown < t->xtotal)
		line_add(t, "   ... %zu more transfers", t->xtotal - shown);
}

/* A heading and a row each, or one saying there are none yet. */
static size_t
want_clients(const struct top *t)
{
	return 1 + (t->ncrows > 0 ? t->ncrows : 1);
}

static size_t
want_files(const struct top *t)
{
	return 1 + (t->nfrows > 0 ? t->nfrows : 1);
}

/*
 * The counts first and the key last, so a narrow terminal cuts the end
 * of a long name or IPv6 prefix rather than a number.
 */
static void
draw_clients(struct top *t, size_t rows)
{
	const struct ctl_topn_row	*r;
	char				 key[INET6_ADDRSTRLEN + 4], b[16];
	size_t				 i;

	line_add(t, "%8s %7s %6s  %s", "REQ", "BYTES", "FAIL",
	    "TOP CLIENTS (since start)");
	if (t->ncrows == 0)
		line_add(t, "   no request yet");
	for (i = 0; i < t->ncrows && i + 1 < rows; i++) {
		r = &t->crows[i];
		ctl_topn_client_str(r, key, sizeof(key));
		line_add(t, "%8" PRIu64 " %7s %6" PRIu64 "  %s", r->requests,
		    human((double)r->bytes, b, sizeof(b)), r->failures, key);
	}
}

static void
draw_files(struct top *t, size_t rows)
{
	const struct ctl_topn_row	*r;
	char				 vis[4 * TFTP_SHM_FILE_MAX + 1], b[16];
	size_t				 i;

	line_add(t, "%8s %7s %6s  %s", "REQ", "BYTES", "FAIL",
	    "TOP FILES (since start)");
	if (t->nfrows == 0)
		line_add(t, "   no request yet");
	for (i = 0; i < t->nfrows && i + 1 < rows; i++) {
		r = &t->frows[i];
		/* The raw name, escaped once, for a terminal. */
		str_vis(vis, sizeof(vis), (const char *)r->key);
		line_add(t, "%8" PRIu64 " %7s %6" PRIu64 "  \"%s\"",
		    r->requests, human((double)r->bytes, b, sizeof(b)),
		    r->failures, vis);
	}
}

/* -------------------------------------------------------------------- */
/* numbers */

/* Bytes in at most 5 characters: 512, 9.5K, 40M, 1023G (powers of 1024). */
static const char *
human(double v, char *buf, size_t len)
{
	static const char	 units[] = "KMGTPE";
	size_t			 u = 0;

	if (v < 1024) {
		snprintf(buf, len, "%.0f", v);
		return buf;
	}
	v /= 1024;
	while (v >= 1023.5 && u + 1 < sizeof(units) - 1) {
		v /= 1024;
		u++;
	}
	snprintf(buf, len, v < 9.95 ? "%.1f%c" : "%.0f%c", v, units[u]);
	return buf;
}

/* Events per second: 0.5, 12.0, 999, 1.2k, 35k, 1.2M. */
static const char *
count(double v, char *buf, size_t len)
{
	if (v < 99.95)
		snprintf(buf, len, "%.1f", v);
	else if (v < 999.5)
		snprintf(buf, len, "%.0f", v);
	else if (v < 9950)
		snprintf(buf, len, "%.1fk", v / 1e3);
	else if (v < 999500)
		snprintf(buf, len, "%.0fk", v / 1e3);
	else
		snprintf(buf, len, "%.1fM", v / 1e6);
	return buf;
}

/* Time left at the current rate: "0:42", "12:05", "3h20m", or "-". */
static const char *
eta_str(const struct xrow *x, char *buf, size_t len)
{
	double	 secs;
	uint64_t s;

	if (x->e.size == 0 || x->e.bytes >= x->e.size || x->rate < 1) {
		snprintf(buf, len, "-");
		return buf;
	}
	secs = (double)(x->e.size - x->e.bytes) / x->rate;
	if (secs >= 100 * 3600) {
		snprintf(buf, len, ">99h");
		return buf;
	}
	s = (uint64_t)secs;
	if (s < 3600)
		snprintf(buf, len, "%" PRIu64 ":%02" PRIu64, s / 60, s % 60);
	else
		snprintf(buf, len, "%" PRIu64 "h%02" PRIu64 "m", s / 3600,
		    s % 3600 / 60);
	return buf;
}
