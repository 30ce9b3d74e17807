/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * Logging to stderr (foreground; "<PRIO>text" when it is systemd's
 * journal) or syslog (daemon facility), or, in a worker, to the master
 * through a pipe on fd 2.  Levels are syslog
 * priorities.  log_warn() appends strerror(errno); the x variants
 * do not.  Nothing here exits: a failure is returned to the caller,
 * which logs it once where it is handled.
 */
#ifndef LOG_H
#define LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <syslog.h>

enum log_target {
	LOG_TO_STDERR,
	LOG_TO_SYSLOG,
	/* A worker: "<PRIO>text\n" on fd 2, one write(2) per line, read
	 * and passed on by the master (log_relay()). */
	LOG_TO_PIPE,
};

/* The longest message; longer ones are cut. */
#define LOG_LINE_MAX	1024

/*
 * Where the log goes from now on.  LOG_TO_SYSLOG when syslog cannot be
 * reached is LOG_TO_STDERR instead, and the reason is returned (-errno;
 * 0 otherwise) for the caller to report.  LOG_TO_STDERR onto systemd's
 * journal stream ($JOURNAL_STREAM) writes "<PRIO>text" lines.
 */
int	 log_init(const char *ident, enum log_target target, int level);
/* The target log_init() settled on; whether stderr is the journal. */
enum log_target log_get_target(void);
bool	 log_is_journal(void);
/*
 * A worker's pipe lines below warning are held (at most PIPE_BUF bytes)
 * until log_flush() writes them with one write(2): under load a loop turn
 * logs many transfers, and a write per line costs the master a wakeup
 * per line.  Warnings and worse are never held.
 */
void	 log_hold(bool on);
void	 log_flush(void);
void	 log_setlevel(int level);
/* Whether a line at prio would be written (the level lets it through). */
bool	 log_enabled(int prio);
/* Name of a level ("err", "warning", "notice", "info", "debug"), or -1. */
int	 log_level_parse(const char *name);
const char *log_level_name(int level);

/*
 * Before log_init(): a command-line or configuration error for the person
 * or the unit that started us, on stderr as "ident: text", or as
 * "<PRIO>text" when stderr is systemd's journal stream, so that such an
 * error is not filed at the journal's default priority (info).
 */
/* Whether stderr is systemd's journal stream ($JOURNAL_STREAM). */
bool	 log_stderr_journal(void);
void	 log_early(int prio, const char *ident, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
void	 log_msg(int prio, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	 log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	 log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	 log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	 log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/*
 * The master: pass on one line a worker wrote to its pipe (without the
 * newline), "<PRIO>text", as "prefix: text" at PRIO (clamped to 0..7;
 * no valid "<PRIO>": warning); a text after a valid "<PRIO>" that
 * starts with '{' (a JSON object) without the prefix.  Bytes outside
 * printable ASCII are written as \ooo; the line is cut at LOG_LINE_MAX.
 */
void	 log_relay(const char *prefix, const char *line, size_t len);

#endif /* LOG_H */
