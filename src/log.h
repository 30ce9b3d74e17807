/*
 * Logging to stderr (foreground) or syslog (daemon facility).  Levels are
 * syslog priorities.  log_warn() appends strerror(errno); the x variants
 * do not.  fatal()/fatalx() are for startup and broken invariants only.
 */
#ifndef LOG_H
#define LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <syslog.h>

enum log_target {
	LOG_TO_STDERR,
	LOG_TO_SYSLOG,
};

void	 log_init(const char *ident, enum log_target target, int level);
void	 log_setlevel(int level);
int	 log_getlevel(void);
/* Name of a level ("err", "warning", "notice", "info", "debug"), or -1. */
int	 log_level_parse(const char *name);
const char *log_level_name(int level);

void	 log_msg(int prio, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	 log_vmsg(int prio, const char *fmt, va_list ap)
	    __attribute__((format(printf, 2, 0)));
void	 log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	 log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	 log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	 log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	 fatal(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	 fatalx(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

#endif /* LOG_H */
