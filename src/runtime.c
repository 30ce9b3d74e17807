/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * The master's runtime files and its life as a daemon: the instance name
 * and the absolute paths it gives (pid file, segment, control socket);
 * the runtime directory, made by root and handed to the service user;
 * daemonizing, with the parent waiting until the child serves; the pid
 * file; the shared-memory segment; and removing them at exit.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <poll.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "master_int.h"
#include "notify.h"
#include "privs.h"
#include "shm.h"
#include "sock.h"
#include "util.h"

/* How long the master's exit waits for the remover. */
#define REMOVER_WAIT_MS		2000

static int	 abs_path(const char *path, char *out, size_t len);
static int	 mkdir_p(const char *path, mode_t mode);
static bool	 dir_only_runtime(int dirfd);
static int	 check_own_rundir(struct master *m);
static bool	 pid_is_server(pid_t pid, bool ours);
static void	 remover_finish(struct master *m);
static void	 remover_main(int go, int done, const char *const paths[],
		    const struct stat sts[], size_t n)
		    __attribute__((noreturn));

/*
 * A startup failure, said once where the operator will look: on the
 * terminal like a usage error; in the log when that is not the terminal
 * (syslog, the journal, or after daemonizing); and, once daemonized, to
 * the parent still waiting in runtime_daemonize(), which prints it.
 */
void
startup_err(struct master *m, const char *fmt, ...)
{
	char	 buf[CONFIG_ERR_MAX + PATH_MAX];
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (!m->daemonized && !log_is_journal())
		fprintf(stderr, "%s: %s\n", PROGNAME, buf);
	if (m->daemonized || log_get_target() != LOG_TO_STDERR ||
	    log_is_journal())
		log_msg(LOG_ERR, "%s", buf);
	if (m->daemonized && m->ready_fd >= 0) {
		if ((size_t)n >= sizeof(buf) - 1)
			n = (int)sizeof(buf) - 2;
		buf[n++] = '\n';
		(void)!write(m->ready_fd, buf, (size_t)n);
	}
}

/* path made absolute against the current directory (no resolving). */
static int
abs_path(const char *path, char *out, size_t len)
{
	char	 cwd[PATH_MAX];
	int	 n;

	if (path[0] == '/')
		n = snprintf(out, len, "%s", path);
	else if (getcwd(cwd, sizeof(cwd)) == NULL)
		return -errno;
	else
		n = snprintf(out, len, "%s/%s", cwd, path);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/*
 * The runtime files, all absolute: the master leaves its working
 * directory when it daemonizes, and reloads read the file again.
 */
int
runtime_paths(struct master *m)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_un	 sun;
	socklen_t		 len = sizeof(ss);
	const char		*mode;
	int			 r, n;

	if (getsockname(m->fds[0], (struct sockaddr *)&ss, &len) < 0) {
		startup_err(m, "getsockname: %s", strerror(errno));
		return -errno;
	}
	mode = m->mode == MODE_INETD ? "inetd" :
	    m->mode == MODE_SYSTEMD ? "systemd" : NULL;
	if ((r = config_instance_name(&m->cfg, mode,
	    (struct sockaddr *)&ss, m->instance, sizeof(m->instance))) < 0) {
		startup_err(m, "cannot name the instance: %s", strerror(-r));
		return r;
	}
	if ((r = abs_path(m->run->config_path, m->config_path,
	    sizeof(m->config_path))) < 0 ||
	    (r = abs_path(m->cfg.runtime_dir, m->rundir,
	    sizeof(m->rundir))) < 0 ||
	    (m->cfg.pid_file[0] != '\0' && (r = abs_path(m->cfg.pid_file,
	    m->pidfile, sizeof(m->pidfile))) < 0)) {
		startup_err(m, "paths: %s", strerror(-r));
		return r;
	}
	r = 0;
	if (m->cfg.pid_file[0] == '\0') {
		n = snprintf(m->pidfile, sizeof(m->pidfile), "%s/%s.pid",
		    m->rundir, m->instance);
		r |= n < 0 || (size_t)n >= sizeof(m->pidfile);
	}
	n = snprintf(m->shmpath, sizeof(m->shmpath), "%s/%s.shm", m->rundir,
	    m->instance);
	r |= n < 0 || (size_t)n >= sizeof(m->shmpath);
	n = snprintf(m->ctlpath, sizeof(m->ctlpath), "%s/%s.ctl", m->rundir,
	    m->instance);
	r |= n < 0 || (size_t)n >= sizeof(m->ctlpath);
	if (r != 0 || strlen(m->ctlpath) >= sizeof(sun.sun_path)) {
		startup_err(m, "runtime directory %s: path too long for the "
		    "control socket %s.ctl", m->rundir, m->instance);
		return -ENAMETOOLONG;
	}
	return 0;
}

static int
mkdir_p(const char *path, mode_t mode)
{
	char	 buf[PATH_MAX];
	char	*p;

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	for (p = buf + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode) < 0)
		return -errno;
	return 0;
}

/*
 * Whether a directory holds nothing but runtime files of this server
 * (INSTANCE.pid, .shm, .ctl): one an older version gave to its service
 * user, which root may take back.  Anything else there (a home, /etc)
 * is not ours to take.
 */
static bool
dir_only_runtime(int dirfd)
{
	static const char *const ext[] = { ".pid", ".shm", ".ctl" };
	struct dirent	*de;
	DIR		*d;
	bool		 ours = true, hit;
	size_t		 len, i;
	int		 fd;

	if ((fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return false;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return false;
	}
	while (ours && (de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		len = strlen(de->d_name);
		hit = false;
		for (i = 0; i < sizeof(ext) / sizeof(ext[0]); i++)
			if (len > 4 && strcmp(de->d_name + len - 4, ext[i]) ==
			    0)
				hit = true;
		ours = hit;
	}
	closedir(d);
	return ours;
}

/*
 * Run by a user, the master must own its runtime directory: the files in
 * it are trusted by tftpctl, and a directory someone else made (say in
 * /tmp) would let them swap those files.
 */
static int
check_own_rundir(struct master *m)
{
	struct stat	 st;

	if (lstat(m->rundir, &st) < 0) {
		startup_err(m, "runtime directory %s: %s", m->rundir,
		    strerror(errno));
		return -errno;
	}
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 0022) != 0) {
		startup_err(m, "runtime directory %s is not a directory of "
		    "uid %lu writable only by it; set --runtime-dir or "
		    "[server] runtime_dir", m->rundir,
		    (unsigned long)geteuid());
		return -EPERM;
	}
	return 0;
}

/*
 * The runtime directory.  Started as root, it stays root's (0755) and
 * every file in it is created by root before the drop: the service user,
 * and whoever shares its uid, can neither write the segment nor remove
 * or replace a file, and instances with different service users share
 * the directory.  The files are removed by the remover
 * (runtime_remover).  An existing directory of another owner is taken
 * back only when it holds nothing but runtime files (an older version
 * gave it to its service user); a misconfigured runtime_dir = /home/x is
 * refused.  A sticky, world-writable directory (/tmp) is used as it is.
 */
int
runtime_dir_make(struct master *m)
{
	struct stat	 st;
	int		 fd, r;

	r = mkdir_p(m->rundir, 0755);
	if (r < 0 && r != -EEXIST) {
		startup_err(m, "cannot create the runtime directory %s: %s%s",
		    m->rundir, strerror(-r), geteuid() != 0 ? " (as a user, "
		    "set --runtime-dir or [server] runtime_dir)" : "");
		return r;
	}
	if (geteuid() != 0)
		return check_own_rundir(m);
	if ((r = privs_lookup(m->cfg.user, &m->uid, &m->gid)) < 0) {
		startup_err(m, "unknown user %s%s", m->cfg.user,
		    privs_missing_hint(m->cfg.user));
		return r;
	}
	fd = open(m->rundir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		r = -errno;
		startup_err(m, "runtime directory %s: %s", m->rundir,
		    strerror(-r));
		goto out_close;
	}
	r = 0;
	if ((st.st_mode & (S_ISVTX | S_IWOTH)) == (S_ISVTX | S_IWOTH))
		goto out_close;
	if (st.st_uid == 0 && (st.st_mode & 0022) == 0)
		goto out_close;
	if (st.st_uid == 0 || dir_only_runtime(fd)) {
		/* Mode first: an owner other than root keeps no write. */
		if (fchmod(fd, 0755) < 0 || fchown(fd, 0, 0) < 0) {
			r = -errno;
			startup_err(m, "runtime directory %s: %s", m->rundir,
			    strerror(-r));
		} else if (st.st_uid != 0) {
			log_info("runtime directory %s: taken back from uid "
			    "%lu", m->rundir, (unsigned long)st.st_uid);
		}
		goto out_close;
	}
	r = -EPERM;
	startup_err(m, "runtime directory %s belongs to uid %lu and holds "
	    "other files: give it to root or set --runtime-dir", m->rundir,
	    (unsigned long)st.st_uid);
out_close:
	if (fd >= 0)
		close(fd);
	return r;
}

/*
 * Whether pid is a live master.  In the runtime directory's own pid file
 * (ours), a live process that is no snowowl-tftpd is a pid reused since
 * a master was killed, and must not keep us from starting; what cannot
 * be read (hidepid) counts as a master.  A pid file the administrator
 * named (-P) may be shared with a script: any live process there counts.
 */
static bool
pid_is_server(pid_t pid, bool ours)
{
	char	 path[64], comm[32], self[32];
	ssize_t	 n;
	int	 fd;

	if (kill(pid, 0) < 0 && errno != EPERM)
		return false;
	if (!ours)
		return true;
	(void)snprintf(path, sizeof(path), "/proc/%ld/comm", (long)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return errno != ENOENT;
	n = read(fd, comm, sizeof(comm) - 1);
	close(fd);
	if (n <= 0)
		return true;
	comm[n] = '\0';
	if ((fd = open("/proc/self/comm", O_RDONLY | O_CLOEXEC)) < 0)
		return true;
	n = read(fd, self, sizeof(self) - 1);
	close(fd);
	if (n <= 0)
		return true;
	self[n] = '\0';
	return strcmp(comm, self) == 0;
}

/*
 * O_EXCL, so two masters cannot both believe they own it; a file left by
 * a master that is gone (its pid is dead) is replaced once.
 */
int
runtime_pidfile(struct master *m)
{
	char		 buf[32];
	uint32_t	 pid;
	ssize_t		 n;
	int		 fd, tries, r;

	for (tries = 0; tries < 2; tries++) {
		fd = open(m->pidfile, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
		    O_NOFOLLOW, 0644);
		if (fd >= 0)
			break;
		r = -errno;
		if (r != -EEXIST)
			goto fail;
		if ((fd = open(m->pidfile, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
		    O_CLOEXEC)) >= 0) {
			n = read(fd, buf, sizeof(buf) - 1);
			close(fd);
			buf[n > 0 ? n : 0] = '\0';
			buf[strcspn(buf, "\n")] = '\0';
			if (parse_u32(buf, 1, INT32_MAX, &pid) == 0 &&
			    (pid_t)pid != getpid() &&
			    pid_is_server((pid_t)pid,
			    m->cfg.pid_file[0] == '\0')) {
				startup_err(m, "already running as pid %u "
				    "(pid file %s)", pid, m->pidfile);
				return -EADDRINUSE;
			}
		}
		if (unlink(m->pidfile) < 0 && errno != ENOENT) {
			r = -errno;
			goto fail;
		}
	}
	if (fd < 0) {
		r = -EEXIST;
		goto fail;
	}
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (write(fd, buf, (size_t)n) != n) {
		r = -errno;
		close(fd);
		(void)unlink(m->pidfile);
		goto fail;
	}
	close(fd);
	m->pid_written = true;
	return 0;

fail:
	startup_err(m, "pid file %s: %s", m->pidfile, strerror(-r));
	return r;
}

/*
 * The parent's side of the readiness pipe: "0" when the child serves;
 * otherwise the child's startup errors, one a line, printed here before
 * the parent exits (bounded: what does not fit is dropped), or a generic
 * line when the child died without a word.  On the journal's stream the
 * child, which kept that stream, has logged them already (quiet).
 */
static void __attribute__((noreturn))
daemon_parent_wait(int fd, bool quiet)
{
	char	 buf[4096];
	size_t	 len = 0, i, start;
	ssize_t	 n;

	for (;;) {
		n = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		if (len == sizeof(buf) - 1 || buf[0] == '0')
			break;
	}
	if (len > 0 && buf[0] == '0')
		_exit(0);
	if (quiet && len > 0)
		_exit(1);
	if (len == 0) {
		fprintf(stderr, "%s: the server did not start; see the "
		    "log\n", PROGNAME);
		_exit(1);
	}
	buf[len] = '\0';
	for (start = 0, i = 0; i <= len; i++) {
		if (buf[i] != '\n' && buf[i] != '\0')
			continue;
		if (i > start)
			fprintf(stderr, "%s: %.*s\n", PROGNAME,
			    (int)(i - start), buf + start);
		start = i + 1;
	}
	_exit(1);
}

/*
 * One fork; the parent waits until the child is serving (or failed), so
 * an init script's exit status means something, and a failure's reason
 * reaches its terminal.  The child leads a new session without a
 * terminal and never opens one; its stderr goes to /dev/null unless it is
 * the journal's stream (a Type=forking unit), where the log still goes.
 */
int
runtime_daemonize(struct master *m)
{
	pid_t	 pid;
	int	 p[2], r;

	if (m->cfg.foreground)
		return 0;
	if (pipe2(p, O_CLOEXEC) < 0) {
		r = -errno;
		goto fail;
	}
	if ((pid = fork()) < 0) {
		r = -errno;
		close(p[0]);
		close(p[1]);
		goto fail;
	}
	if (pid > 0) {
		close(p[1]);
		daemon_parent_wait(p[0], log_is_journal());
	}
	close(p[0]);
	m->ready_fd = p[1];
	if (setsid() < 0 || chdir("/") < 0 ||
	    dup2(m->devnull, STDIN_FILENO) < 0 ||
	    dup2(m->devnull, STDOUT_FILENO) < 0 ||
	    (!log_is_journal() && dup2(m->devnull, STDERR_FILENO) < 0)) {
		r = -errno;
		goto fail;
	}
	m->daemonized = true;
	return 0;

fail:
	startup_err(m, "cannot become a daemon: %s", strerror(-r));
	return r;
}

/*
 * Serving: say so in the log, to systemd, and to the parent waiting in
 * runtime_daemonize().
 */
void
runtime_ready(struct master *m)
{
	char	 addrs[SOCK_MAX_LISTEN * (SOCKADDR_STRLEN + 1)];
	char	 a[SOCKADDR_STRLEN], roots[PATH_MAX + CONFIG_MAX_ROOTS];
	const char *dirs[CONFIG_MAX_ROOTS];
	struct sockaddr_storage ss;
	socklen_t len;
	size_t	 i, n, off = 0;

	roots[0] = '\0';
	n = config_roots(&m->cfg, dirs, CONFIG_MAX_ROOTS);
	for (i = 0; i < n; i++)
		str_append(roots, sizeof(roots), &off, "%s%s",
		    i > 0 ? " " : "", dirs[i]);
	off = 0;
	addrs[0] = '\0';
	for (i = 0; i < m->naddr; i++) {
		len = sizeof(ss);
		if (getsockname(m->fds[i], (struct sockaddr *)&ss, &len) < 0)
			continue;
		str_append(addrs, sizeof(addrs), &off, "%s%s",
		    off > 0 ? " " : "",
		    sockaddr_str((struct sockaddr *)&ss, a, sizeof(a)));
	}
	log_info("ready: serving %s on %s%s, %u workers%s, instance %s",
	    roots, addrs, m->mode == MODE_INETD ? " (inetd)" :
	    m->mode == MODE_SYSTEMD ? " (socket activation)" : "",
	    m->nworkers, m->cfg.single_port ? ", single port" : "",
	    m->instance);
	notify_send(m->notify_fd, "READY=1\nSTATUS=serving on %s\nMAINPID=%ld",
	    addrs, (long)getpid());
	if (m->ready_fd >= 0) {
		(void)!write(m->ready_fd, "0", 1);
		close(m->ready_fd);
		m->ready_fd = -1;
	}
}

/*
 * The segment, created before the drop (so whoever started the master
 * owns it, never the service user: a process of that uid, nobody's
 * above all, must not write what the workers obey) and after
 * daemonizing (so its master_pid is the process that stays).  The
 * master writes it through the descriptor it keeps, the workers through
 * the ones they are given (proc.c).
 */
int
runtime_shm_create(struct master *m)
{
	int	 r;

	if ((r = shm_create(&m->shm, m->shmpath, m->instance, m->nworkers,
	    m->cfg.max_transfers < 4096 ? m->cfg.max_transfers : 4096,
	    &m->cfg)) < 0) {
		if (r == -EADDRINUSE)
			startup_err(m, "instance %s is already running (%s "
			    "is in use)", m->instance, m->shmpath);
		else
			startup_err(m, "shared memory %s: %s", m->shmpath,
			    strerror(-r));
		return r;
	}
	m->shm_created = true;
	/* Generation 2, before any worker reads: the rules with them. */
	if (m->map != NULL)
		(void)shm_publish(&m->shm, &m->cfg, m->map, m->maplen);
	return 0;
}

/*
 * At exit: the segment and the pid file go; the directory stays.  Where
 * they are root's, the remover takes them (runtime_remover).
 */
void
runtime_remove(struct master *m)
{
	if (m->shm_created) {
		shm_destroy(&m->shm);
		m->shm_created = false;
	}
	/* Outside the runtime directory it may be root's to remove. */
	if (m->pid_written && unlink(m->pidfile) < 0 && errno != ENOENT)
		log_debug("cannot remove the pid file %s: %s", m->pidfile,
		    strerror(errno));
	m->pid_written = false;
	remover_finish(m);
}

/*
 * The remover's whole life: wait for the master's end (EOF on go: its
 * exit, or a SIGKILL), then unlink each runtime file that is still the
 * one the master made (same inode: a successor may have replaced it),
 * and exit, which closes done.  Root's uid without any capability: the
 * runtime directory is root's, so its owner may remove entries there,
 * and nothing else.
 */
static void
remover_main(int go, int done, const char *const paths[],
    const struct stat sts[], size_t n)
{
	struct stat	 st;
	char		 c;
	ssize_t		 r;
	size_t		 i;

	(void)done;
	while ((r = read(go, &c, 1)) != 0)
		if (r < 0 && errno != EINTR)
			break;
	for (i = 0; i < n; i++)
		if (paths[i][0] != '\0' && lstat(paths[i], &st) == 0 &&
		    st.st_dev == sts[i].st_dev && st.st_ino == sts[i].st_ino)
			(void)unlink(paths[i]);
	_exit(0);
}

/*
 * Started as root, the runtime files are root's in a directory of root
 * (runtime_dir_make), which the master, once it is the service user,
 * cannot remove.  A process forked now, before the drop, does it for
 * it: detached (a grandchild, in a session of its own, so it is no
 * worker in the master's tree and no terminal signal reaches it), with
 * no descriptor but its two pipes and no capability, it waits for the
 * master to end.  It holds no input it could be steered with: EOF is
 * all it reads.  runtime_remove() waits (bounded) until it is done.
 */
int
runtime_remover(struct master *m)
{
	const char	*paths[3] = { m->pidfile, m->shmpath, m->ctlpath };
	struct stat	 sts[3];
	int		 go[2], done[2], r, st;
	size_t		 i;
	pid_t		 pid;

	if (geteuid() != 0)
		return 0;
	for (i = 0; i < 3; i++)
		if (lstat(paths[i], &sts[i]) < 0)
			paths[i] = "";
	if (pipe2(go, O_CLOEXEC) < 0)
		goto fail;
	if (pipe2(done, O_CLOEXEC) < 0) {
		r = -errno;
		close(go[0]);
		close(go[1]);
		errno = -r;
		goto fail;
	}
	if ((pid = fork()) < 0) {
		r = -errno;
		close(go[0]);
		close(go[1]);
		close(done[0]);
		close(done[1]);
		errno = -r;
		goto fail;
	}
	if (pid == 0) {
		if (fork() != 0)
			_exit(0);
		(void)setsid();
		if (dup2(m->devnull, STDIN_FILENO) < 0 ||
		    dup2(m->devnull, STDOUT_FILENO) < 0 ||
		    dup2(m->devnull, STDERR_FILENO) < 0 ||
		    dup2(go[0], 3) < 0 || dup2(done[1], 4) < 0 ||
		    close_range(5, ~0U, 0) < 0 ||
		    privs_clear_caps() < 0)
			_exit(1);
		remover_main(3, 4, paths, sts, 3);
	}
	close(go[0]);
	close(done[1]);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	m->remover_go = go[1];
	m->remover_done = done[0];
	return 0;

fail:
	r = -errno;
	startup_err(m, "cannot start the runtime files' remover: %s",
	    strerror(-r));
	return r;
}

/* The master's end: the remover told, and waited for (bounded). */
static void
remover_finish(struct master *m)
{
	struct pollfd	 pfd;
	char		 c;

	if (m->remover_go < 0)
		return;
	close(m->remover_go);
	m->remover_go = -1;
	pfd.fd = m->remover_done;
	pfd.events = POLLIN;
	if (poll(&pfd, 1, REMOVER_WAIT_MS) > 0)
		(void)!read(m->remover_done, &c, 1);
	close(m->remover_done);
	m->remover_done = -1;
}
