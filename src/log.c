/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * The process's one log sink: stderr (foreground, tests), syslog with
 * the daemon facility, or a worker's pipe to the master; and the master's
 * side of that pipe (log_relay).  Owns the level filter and the ident.
 * When stderr is systemd's journal stream (sd-daemon(3): $JOURNAL_STREAM
 * names its device and inode), each line carries a "<PRIO>" prefix and no
 * tag of ours, which journald adds itself.  Syslog that cannot be reached
 * (no /dev/log, or AF_UNIX refused by the sandbox) falls back to stderr.  A
 * stderr or pipe line is formatted whole and written with one write(2),
 * so lines from several processes sharing the descriptor do not
 * interleave, and a pipe line (< PIPE_BUF) is never split; lines a
 * worker holds go out together, whole, in one write of at most PIPE_BUF.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"

#define SYSLOG_PATH	"/dev/log"

#define LOG_IDENT_MAX	64

static int	 syslog_probe(void);
static void	 log_emit(int prio, const char *msg);
static void	 log_vappend(int prio, int errnum, const char *fmt,
		    va_list ap) __attribute__((format(printf, 3, 0)));
static void	 log_vmsg(int prio, const char *fmt, va_list ap)
		    __attribute__((format(printf, 2, 0)));

static const char *const level_names[] = {
	[LOG_EMERG]	= "emerg",
	[LOG_ALERT]	= "alert",
	[LOG_CRIT]	= "crit",
	[LOG_ERR]	= "err",
	[LOG_WARNING]	= "warning",
	[LOG_NOTICE]	= "notice",
	[LOG_INFO]	= "info",
	[LOG_DEBUG]	= "debug",
};

/* openlog() keeps the pointer, so the ident lives here. */
static char		 log_ident[LOG_IDENT_MAX] = "snowowl-tftpd";
static enum log_target	 log_target = LOG_TO_STDERR;
static int		 log_level = LOG_INFO;
static bool		 log_journal;	/* stderr is the journal's stream */
static bool		 log_held;
static char		 held[PIPE_BUF];
static size_t		 nheld;

/*
 * $JOURNAL_STREAM is "DEV:INO" of the stream systemd gave the service; it
 * counts only while stderr is still that stream, not after a redirection
 * or in a process whose stderr is something else.
 */
bool
log_stderr_journal(void)
{
	const char		*js = getenv("JOURNAL_STREAM");
	unsigned long long	 dev, ino;
	struct stat		 st;
	char			 c;

	if (js == NULL || sscanf(js, "%llu:%llu%c", &dev, &ino, &c) != 2)
		return false;
	if (fstat(STDERR_FILENO, &st) < 0)
		return false;
	return (unsigned long long)st.st_dev == dev &&
	    (unsigned long long)st.st_ino == ino;
}

/*
 * Whether syslog(3) can reach the log socket at all: glibc drops messages
 * silently when it cannot.  0 or -errno (ENOENT: no /dev/log;
 * EAFNOSUPPORT: a sandbox refuses AF_UNIX).
 */
static int
syslog_probe(void)
{
	struct sockaddr_un	 sun;
	int			 fd, r = 0;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, SYSLOG_PATH, sizeof(SYSLOG_PATH));
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
		r = -errno;
	close(fd);
	return r;
}

int
log_init(const char *ident, enum log_target target, int level)
{
	int	 r = 0;

	if (log_target == LOG_TO_SYSLOG)
		closelog();
	if (ident != NULL)
		snprintf(log_ident, sizeof(log_ident), "%s", ident);
	if (target == LOG_TO_SYSLOG && (r = syslog_probe()) < 0)
		target = LOG_TO_STDERR;
	log_target = target;
	log_journal = target == LOG_TO_STDERR && log_stderr_journal();
	log_setlevel(level);
	/* LOG_NDELAY: connect to /dev/log now, before any sandbox. */
	if (log_target == LOG_TO_SYSLOG)
		openlog(log_ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	return r;
}

enum log_target
log_get_target(void)
{
	return log_target;
}

bool
log_is_journal(void)
{
	return log_journal;
}

void
log_setlevel(int level)
{
	if (level < LOG_EMERG)
		level = LOG_EMERG;
	if (level > LOG_DEBUG)
		level = LOG_DEBUG;
	log_level = level;
}

bool
log_enabled(int prio)
{
	return prio <= log_level;
}

/* Only the levels an operator can usefully pick are accepted. */
int
log_level_parse(const char *name)
{
	int	 i;

	if (name == NULL)
		return -1;
	for (i = LOG_ERR; i <= LOG_DEBUG; i++)
		if (strcasecmp(name, level_names[i]) == 0)
			return i;
	return -1;
}

const char *
log_level_name(int level)
{
	if (level < LOG_EMERG || level > LOG_DEBUG)
		return "unknown";
	return level_names[level];
}

static void
write_all(const char *buf, size_t n)
{
	ssize_t	 w;
	size_t	 off;

	for (off = 0; off < n; off += (size_t)w) {
		w = write(STDERR_FILENO, buf + off, n - off);
		if (w < 0 && errno == EINTR) {
			w = 0;
			continue;
		}
		if (w <= 0)
			return;
	}
}

void
log_hold(bool on)
{
	if (!on)
		log_flush();
	log_held = on && log_target == LOG_TO_PIPE;
}

void
log_flush(void)
{
	if (nheld > 0)
		write_all(held, nheld);
	nheld = 0;
}

static void
log_emit(int prio, const char *msg)
{
	char	 line[LOG_LINE_MAX + LOG_IDENT_MAX + 32];
	int	 n;

	if (log_target == LOG_TO_SYSLOG) {
		syslog(prio, "%s", msg);
		return;
	}
	if (log_target == LOG_TO_PIPE || log_journal)
		n = snprintf(line, sizeof(line), "<%d>%s\n", prio, msg);
	else
		n = snprintf(line, sizeof(line), "%s[%ld]: %s\n", log_ident,
		    (long)getpid(), msg);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line)) {
		n = sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	if (log_held) {
		if (nheld + (size_t)n > sizeof(held))
			log_flush();
		memcpy(held + nheld, line, (size_t)n);
		nheld += (size_t)n;
		if (prio <= LOG_WARNING)
			log_flush();
		return;
	}
	write_all(line, (size_t)n);
}

void
log_early(int prio, const char *ident, const char *fmt, ...)
{
	char	 msg[LOG_LINE_MAX];
	va_list	 ap;
	int	 saved = errno;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (log_stderr_journal())
		fprintf(stderr, "<%d>%s\n", prio & LOG_PRIMASK, msg);
	else
		fprintf(stderr, "%s: %s\n", ident, msg);
	errno = saved;
}

/* errnum >= 0 appends ": strerror(errnum)". */
static void
log_vappend(int prio, int errnum, const char *fmt, va_list ap)
{
	char	 msg[LOG_LINE_MAX];
	int	 n;

	if (prio > log_level)
		return;
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (n < 0)
		return;
	if (errnum >= 0 && (size_t)n < sizeof(msg))
		snprintf(msg + n, sizeof(msg) - (size_t)n, ": %s",
		    strerror(errnum));
	log_emit(prio, msg);
}

static void
log_vmsg(int prio, const char *fmt, va_list ap)
{
	int	 saved = errno;

	log_vappend(prio, -1, fmt, ap);
	errno = saved;
}

void
log_msg(int prio, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vmsg(prio, fmt, ap);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	int	 saved = errno;
	va_list	 ap;

	va_start(ap, fmt);
	log_vappend(LOG_WARNING, saved, fmt, ap);
	va_end(ap);
	errno = saved;
}

void
log_warnx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vmsg(LOG_WARNING, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vmsg(LOG_INFO, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vmsg(LOG_DEBUG, fmt, ap);
	va_end(ap);
}

void
log_relay(const char *prefix, const char *line, size_t len)
{
	static const char oct[] = "01234567";
	char		 msg[LOG_LINE_MAX];
	size_t		 i = 0, o, n;
	int		 prio = LOG_WARNING, p = 0;
	unsigned char	 ch;

	if (len > LOG_LINE_MAX)
		len = LOG_LINE_MAX;
	if (len >= 3 && line[0] == '<') {
		for (n = 1; n < len && n <= 3 && line[n] >= '0' &&
		    line[n] <= '9'; n++)
			p = p * 10 + (line[n] - '0');
		if (n > 1 && n < len && n <= 4 && line[n] == '>') {
			prio = p > LOG_DEBUG ? LOG_DEBUG : p;
			i = n + 1;
		}
	}
	if (prio > log_level)
		return;
	/*
	 * A JSON object (a request line under log_format = json) goes on
	 * whole: it names its worker itself, and a prefix would leave the
	 * message no longer JSON.  No line of the master's starts with '{'.
	 * Only after a valid "<PRIO>", as a worker writes every line.
	 */
	o = 0;
	if (i == 0 || i >= len || line[i] != '{')
		o = (size_t)snprintf(msg, sizeof(msg), "%s: ", prefix);
	if (o >= sizeof(msg))
		o = sizeof(msg) - 1;
	for (; i < len && o + 5 < sizeof(msg); i++) {
		ch = (unsigned char)line[i];
		if (ch >= 0x20 && ch < 0x7f) {
			msg[o++] = (char)ch;
			continue;
		}
		msg[o++] = '\\';
		msg[o++] = oct[(ch >> 6) & 7];
		msg[o++] = oct[(ch >> 3) & 7];
		msg[o++] = oct[ch & 7];
	}
	msg[o] = '\0';
	log_emit(prio, msg);
}
