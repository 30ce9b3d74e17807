/*
 * main(): configuration, then the startup sequence of design.md section 2
 * in its fixed order (bind, open the root, drop privileges, daemonize) and
 * the worker loop.  Startup failures end the process with status 1 and a
 * "snowowl-tftpd: message" line on stderr (and in syslog when logging
 * goes there).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "privs.h"
#include "sock.h"
#include "util.h"
#include "worker.h"

#define PROGNAME	"snowowl-tftpd"

static void	 startup_err(const struct tftpd_config *cfg,
		    const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int	 check_root(const char *root);
static int	 daemonize(void);
static void	 log_ready(const struct tftpd_config *cfg, const int *fds,
		    size_t n);

static void
startup_err(const struct tftpd_config *cfg, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	/* The operator's terminal gets it like a usage error; syslog too. */
	fprintf(stderr, "%s: %s\n", PROGNAME, buf);
	if (cfg->log == LOG_TO_SYSLOG)
		log_msg(LOG_ERR, "%s", buf);
}

static int
check_root(const char *root)
{
	struct stat st;

	if (stat(root, &st) < 0) {
		fprintf(stderr, "%s: root %s: %s\n", PROGNAME, root,
		    strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		fprintf(stderr, "%s: root %s: %s\n", PROGNAME, root,
		    strerror(ENOTDIR));
		return -1;
	}
	return 0;
}

/*
 * One fork is enough: the child leads a new session without a terminal,
 * and it never opens one (every open is O_NOCTTY or of a regular file).
 */
static int
daemonize(void)
{
	pid_t pid;
	int fd;

	if ((pid = fork()) < 0)
		return -errno;
	if (pid > 0)
		_exit(0);
	if (setsid() < 0)
		return -errno;
	if (chdir("/") < 0)
		return -errno;
	if ((fd = open("/dev/null", O_RDWR | O_CLOEXEC | O_NOCTTY)) < 0)
		return -errno;
	if (dup2(fd, STDIN_FILENO) < 0 || dup2(fd, STDOUT_FILENO) < 0 ||
	    dup2(fd, STDERR_FILENO) < 0) {
		close(fd);
		return -errno;
	}
	if (fd > STDERR_FILENO)
		close(fd);
	return 0;
}

static void
log_ready(const struct tftpd_config *cfg, const int *fds, size_t n)
{
	char line[SOCK_MAX_LISTEN * (SOCKADDR_STRLEN + 1)];
	char addr[SOCKADDR_STRLEN];
	struct sockaddr_storage ss;
	socklen_t len;
	size_t i, off = 0;

	line[0] = '\0';
	for (i = 0; i < n; i++) {
		len = sizeof(ss);
		if (getsockname(fds[i], (struct sockaddr *)&ss, &len) < 0)
			continue;
		off += (size_t)snprintf(line + off, sizeof(line) - off, "%s%s",
		    off > 0 ? " " : "",
		    sockaddr_str((struct sockaddr *)&ss, addr, sizeof(addr)));
		if (off >= sizeof(line))
			break;
	}
	log_info("ready: serving %s on %s", cfg->root, line);
}

int
main(int argc, char *argv[])
{
	static struct tftpd_config cfg;
	struct run_opts run;
	int fds[SOCK_MAX_LISTEN], rootfd, r, status;
	char err[CONFIG_ERR_MAX];
	size_t nfds, i;

	r = config_from_args(argc, argv, &cfg, &run);
	if (r == 1)
		return 0;
	if (r < 0)
		return 1;
	if (run.check_config) {
		if (check_root(cfg.root) < 0)
			return 1;
		if (cfg.log_level >= LOG_DEBUG)
			config_dump(&cfg, stdout);
		printf("configuration OK\n");
		return 0;
	}

	log_init(PROGNAME, cfg.log, cfg.log_level);
	if ((r = sock_listen_all(&cfg, fds, &nfds, err, sizeof(err))) < 0) {
		startup_err(&cfg, "%s", err);
		return 1;
	}
	rootfd = open(cfg.root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0) {
		startup_err(&cfg, "cannot open root %s: %s", cfg.root,
		    strerror(errno));
		return 1;
	}
	if (privs_drop(cfg.user) < 0) {
		startup_err(&cfg, "cannot drop privileges to user %s",
		    cfg.user);
		return 1;
	}
	if (!cfg.foreground && (r = daemonize()) < 0) {
		startup_err(&cfg, "cannot become a daemon: %s", strerror(-r));
		return 1;
	}
	log_ready(&cfg, fds, nfds);

	status = worker_run(&cfg, fds, nfds, rootfd);

	for (i = 0; i < nfds; i++)
		close(fds[i]);
	close(rootfd);
	return status == 0 ? 0 : 1;
}
