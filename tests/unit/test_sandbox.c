/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * Unit tests for sandbox.c.  Every check runs in a forked child that
 * applies the sandbox and reports with its exit status (the test process
 * itself stays unconfined); the parent asserts on that status and, where
 * the child changed the tree, on the files.  Covered: /proc/PID of a
 * live sandboxed child (NoNewPrivs 1, Seccomp 2, not dumpable, no core
 * files, no processes, file size untouched); forbidden calls killed with
 * SIGSYS (exit 3 and the "forbidden system call N" line in a
 * --enable-seccomp-debug build): non-UDP sockets, fork, execve, unlisted
 * socket options, executable memory, kill, and what only setup may do
 * (epoll_create1, sigaction, setrlimit); what the worker does allowed:
 * UDP sockets both families with their options, a datagram exchange with
 * the parent, memory, reads beneath the root (raw, through files.c and
 * through lookup.c's case-insensitive lookup);
 * with Landlock: nothing readable outside the root, nothing writable
 * without allow_write, and the real upload code (O_TMPFILE linked by
 * AT_EMPTY_PATH or /proc/self/fd, hidden-name fallback, abort) working
 * with it, cross-directory renames refused.  The Landlock checks are
 * skipped with a message on a kernel without Landlock.
 *
 * Children leave with _exit() right after their checks, so the sanitizer
 * runtimes' exit-time work (leak check, atexit) never runs sandboxed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "files.h"
#include "lookup.h"
#include "path.h"
#include "sandbox.h"
#include "tmpdir.h"

#define INSIDE_TEXT	"served from the root\n"
#define OUTSIDE_TEXT	"not to be served\n"
#define CHILD_SETUP	100	/* sandbox_apply() failed */
#define CHILD_ALIVE	101	/* a forbidden call returned */
#define CHILD_WAIT_MS	20000
#define DEBUG_EXIT	3	/* WORKER_EXIT_SETUP */

struct fixture {
	char			 dir[PATH_MAX / 2];	/* the tmpdir */
	char			 root[PATH_MAX];	/* dir/root */
	char			 outside[PATH_MAX];	/* dir/outside.txt */
	int			 rootfd;
	int			 abi;		/* Landlock, 0 = none */
	struct tftpd_config	 cfg;
};

typedef int	(*child_fn)(struct fixture *f, void *arg);

struct child {
	pid_t			 pid;
	int			 errfd;		/* the child's stderr */
	int			 status;
	char			 err[2048];
};

/* Helpers run in the child --------------------------------------------- */

/*
 * A failed check in a sandboxed child: one line on stderr (write(2) is
 * allowed, snprintf makes no system call), then the line number as the
 * exit status.
 */
#define CHECK(cond) do {						\
	if (!(cond))							\
		return check_failed(__LINE__, #cond);			\
} while (0)

static int
check_failed(int line, const char *what)
{
	char msg[256];
	int e = errno, n;

	n = snprintf(msg, sizeof(msg), "line %d: %s (errno %d %s)\n", line,
	    what, e, strerror(e));
	if (n > 0)
		(void)!write(STDERR_FILENO, msg, (size_t)n);
	return line % 100 == 0 ? 99 : line % 100;	/* never 0 */
}

/* Helpers run in the parent -------------------------------------------- */

static void
slurp_path(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd;

	buf[0] = '\0';
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return;
	n = read(fd, buf, len - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
}

static void
put_path(const char *path, const char *s)
{
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, s, strlen(s)), (ssize_t)strlen(s));
	assert_int_equal(close(fd), 0);
}

static void
root_path(struct fixture *f, const char *rel, char *out, size_t len)
{
	snprintf(out, len, "%s/%s", f->root, rel);
}

static int
root_exists(struct fixture *f, const char *rel)
{
	char path[PATH_MAX * 2];
	struct stat st;

	root_path(f, rel, path, sizeof(path));
	return lstat(path, &st) == 0;
}

/* Entries of the root's directory rel whose name starts with '.'. */
static int
hidden_entries(struct fixture *f, const char *rel)
{
	char path[PATH_MAX * 2];
	struct dirent *de;
	DIR *d;
	int n = 0;

	root_path(f, rel, path, sizeof(path));
	assert_non_null(d = opendir(path));
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] == '.' && strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

/*
 * A child that is not root and dumpable, as a worker started by a master
 * that dropped privileges is: root's changing its uid made it not
 * dumpable, so that is undone.  Unprivileged, only the dumpable flag.
 */
static bool	drop_uid;
/* A second root directory for the next children (in.tftpd's list). */
static int	second_root = -1;

static int
become_nobody(void)
{
	struct passwd *pw;

	if (geteuid() == 0) {
		if ((pw = getpwnam("nobody")) == NULL) {
			errno = ENOENT;
			return -1;
		}
		if (setgroups(0, NULL) < 0 ||
		    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) < 0 ||
		    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) < 0)
			return -1;
	}
	return prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
}

/* Fork a child that applies the sandbox, then runs fn and _exit()s. */
static void
child_start(struct child *c, struct fixture *f, bool allow_write,
    child_fn fn, void *arg)
{
	char why[256];
	int p[2], r;

	memset(c, 0, sizeof(*c));
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	/* Before the fork: a failed assertion must not happen in the child. */
	if (drop_uid)
		assert_non_null(getpwnam("nobody"));
	fflush(stdout);
	fflush(stderr);
	c->pid = fork();
	assert_true(c->pid >= 0);
	if (c->pid == 0) {
		(void)dup2(p[1], STDERR_FILENO);
		if (drop_uid && become_nobody() < 0) {
			dprintf(STDERR_FILENO, "cannot become nobody: %s\n",
			    strerror(errno));
			_exit(CHILD_SETUP);
		}
		if (sandbox_apply((int[]){ f->rootfd, second_root },
		    second_root >= 0 ? 2 : 1, allow_write, why,
		    sizeof(why)) < 0) {
			dprintf(STDERR_FILENO, "sandbox_apply: %s\n", why);
			_exit(CHILD_SETUP);
		}
		r = fn(f, arg);
		_exit(r);
	}
	close(p[1]);
	c->errfd = p[0];
}

/* Wait (bounded) for the child and collect what it wrote. */
static void
child_finish(struct child *c)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	size_t off = 0;
	ssize_t n;
	pid_t r;
	int i;

	for (i = 0; i < CHILD_WAIT_MS / 10; i++) {
		r = waitpid(c->pid, &c->status, WNOHANG);
		assert_true(r >= 0);
		if (r == c->pid)
			break;
		nanosleep(&ts, NULL);
	}
	if (i == CHILD_WAIT_MS / 10) {
		kill(c->pid, SIGKILL);
		(void)waitpid(c->pid, &c->status, 0);
		fail_msg("sandboxed child %ld did not finish", (long)c->pid);
	}
	while (off < sizeof(c->err) - 1 &&
	    (n = read(c->errfd, c->err + off, sizeof(c->err) - 1 - off)) > 0)
		off += (size_t)n;
	c->err[off] = '\0';
	close(c->errfd);
}

static void
run(struct child *c, struct fixture *f, bool allow_write, child_fn fn,
    void *arg)
{
	child_start(c, f, allow_write, fn, arg);
	child_finish(c);
}

static void
expect_ok(const struct child *c)
{
	if (!WIFEXITED(c->status) || WEXITSTATUS(c->status) != 0)
		fail_msg("sandboxed child: %s %d; stderr: %s",
		    WIFEXITED(c->status) ? "exit" : "signal",
		    WIFEXITED(c->status) ? WEXITSTATUS(c->status) :
		    WTERMSIG(c->status), c->err);
}

/*
 * Killed by the filter: SIGSYS; in a debug build exit 3 after the report
 * line naming the call (nr < 0: any number).
 */
static void
expect_killed(const struct child *c, long nr)
{
#ifdef SECCOMP_DEBUG
	char want[64];

	if (!WIFEXITED(c->status) || WEXITSTATUS(c->status) != DEBUG_EXIT)
		fail_msg("expected exit %d, got status 0x%x; stderr: %s",
		    DEBUG_EXIT, (unsigned)c->status, c->err);
	if (nr >= 0)
		snprintf(want, sizeof(want),
		    "seccomp: forbidden system call %ld\n", nr);
	else
		snprintf(want, sizeof(want), "seccomp: forbidden system call ");
	if (strstr(c->err, want) == NULL)
		fail_msg("no \"%s\" in: %s", want, c->err);
#else
	(void)nr;
	if (!WIFSIGNALED(c->status) || WTERMSIG(c->status) != SIGSYS)
		fail_msg("expected SIGSYS, got %s %d; stderr: %s",
		    WIFEXITED(c->status) ? "exit" : "signal",
		    WIFEXITED(c->status) ? WEXITSTATUS(c->status) :
		    WTERMSIG(c->status), c->err);
#endif
}

static int
setup(void **state)
{
	struct fixture *f;
	char path[PATH_MAX * 2];

	f = calloc(1, sizeof(*f));
	assert_non_null(f);
	assert_int_equal(test_tmpdir_make(f->dir, sizeof(f->dir),
	    "test_sandbox"), 0);
	snprintf(f->root, sizeof(f->root), "%s/root", f->dir);
	assert_int_equal(mkdir(f->root, 0755), 0);
	root_path(f, "sub", path, sizeof(path));
	assert_int_equal(mkdir(path, 0755), 0);
	root_path(f, "inside.txt", path, sizeof(path));
	put_path(path, INSIDE_TEXT);
	root_path(f, "sub/deeper.txt", path, sizeof(path));
	put_path(path, INSIDE_TEXT);
	snprintf(f->outside, sizeof(f->outside), "%s/outside.txt", f->dir);
	put_path(f->outside, OUTSIDE_TEXT);
	f->rootfd = open(f->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	assert_true(f->rootfd >= 0);
	f->abi = sandbox_landlock_abi();

	config_defaults(&f->cfg);
	f->cfg.write_enable = true;
	f->cfg.write_create = true;
	f->cfg.write_overwrite = true;
	f->cfg.permissive = true;
	f->cfg.fsync = true;
	f->cfg.umask = 022;
	files_no_openat2 = false;
	files_no_tmpfile = false;
	files_no_empty_path = false;
	files_no_proc = false;
	files_link = FILES_LINK_UNKNOWN;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	close(f->rootfd);
	(void)test_tmpdir_remove(f->dir);
	free(f);
	return 0;
}

static bool
need_landlock(const struct fixture *f)
{
	if (f->abi > 0)
		return true;
	print_message("landlock unavailable on this kernel (ABI 0): "
	    "skipping the Landlock checks\n");
	return false;
}

/* The process state ------------------------------------------------------ */

struct pipes {
	int	 ready[2];	/* child -> parent: sandboxed */
	int	 go[2];		/* parent -> child: done looking */
	int	 epfd;		/* go[0], made before the sandbox */
};

static int
child_wait_for_parent(struct fixture *f, void *arg)
{
	struct pipes *p = arg;
	struct epoll_event ev;

	(void)f;
	CHECK(write(p->ready[1], "s", 1) == 1);
	/* epoll_pwait: the worker's way of sleeping, so it is allowed. */
	CHECK(epoll_pwait(p->epfd, &ev, 1, CHILD_WAIT_MS, NULL) == 1);
	return 0;
}

static void
status_field(const char *status, const char *name, char *out, size_t len)
{
	const char *p = strstr(status, name);
	size_t n = 0;

	out[0] = '\0';
	if (p == NULL)
		return;
	p += strlen(name);
	while (*p == '\t' || *p == ' ')
		p++;
	while (p[n] != '\0' && p[n] != '\n' && n < len - 1)
		n++;
	memcpy(out, p, n);
	out[n] = '\0';
}

static void
proc_status(void **state)
{
	struct fixture *f = *state;
	struct epoll_event ev = { .events = EPOLLIN };
	struct pollfd pfd;
	struct pipes p;
	struct child c;
	char path[64], status[8192], limits[4096], v[64], mine[64];
	struct stat st;
	uid_t proc_uid;

	assert_int_equal(pipe2(p.ready, O_CLOEXEC), 0);
	assert_int_equal(pipe2(p.go, O_CLOEXEC), 0);
	p.epfd = epoll_create1(EPOLL_CLOEXEC);
	assert_true(p.epfd >= 0);
	assert_int_equal(epoll_ctl(p.epfd, EPOLL_CTL_ADD, p.go[0], &ev), 0);

	drop_uid = true;
	child_start(&c, f, false, child_wait_for_parent, &p);
	drop_uid = false;
	/* A child that fails early closes its end: no 20 s wait then. */
	close(p.ready[1]);
	pfd = (struct pollfd){ .fd = p.ready[0], .events = POLLIN };
	assert_int_equal(poll(&pfd, 1, CHILD_WAIT_MS), 1);
	/* Not dumpable: its /proc files belong to root, not to its uid. */
	snprintf(path, sizeof(path), "/proc/%ld/environ", (long)c.pid);
	proc_uid = stat(path, &st) == 0 ? st.st_uid : (uid_t)-1;
	snprintf(path, sizeof(path), "/proc/%ld/status", (long)c.pid);
	slurp_path(path, status, sizeof(status));
	snprintf(path, sizeof(path), "/proc/%ld/limits", (long)c.pid);
	slurp_path(path, limits, sizeof(limits));
	assert_int_equal(write(p.go[1], "g", 1), 1);
	child_finish(&c);
	expect_ok(&c);

	status_field(status, "\nUid:", v, sizeof(v));
	assert_true(strncmp(v, "0\t", 2) != 0);	/* the child's own uid */
	assert_int_equal(proc_uid, 0);
	status_field(status, "\nNoNewPrivs:", v, sizeof(v));
	assert_string_equal(v, "1");
	status_field(status, "\nSeccomp:", v, sizeof(v));
	assert_string_equal(v, "2");
	/* No core files, no processes; file size untouched (uploads). */
	status_field(limits, "\nMax core file size", v, sizeof(v));
	assert_true(strncmp(v, "0 ", 2) == 0);
	status_field(limits, "\nMax processes", v, sizeof(v));
	assert_true(strncmp(v, "0 ", 2) == 0);
	status_field(limits, "\nMax file size", v, sizeof(v));
	slurp_path("/proc/self/limits", limits, sizeof(limits));
	status_field(limits, "\nMax file size", mine, sizeof(mine));
	assert_string_equal(v, mine);
	close(p.ready[0]);
	close(p.go[0]);
	close(p.go[1]);
	close(p.epfd);
}

static int
child_describe(struct fixture *f, void *arg)
{
	char want[64];

	(void)arg;
	/* Cached: probing again now would be a forbidden call. */
	CHECK(sandbox_landlock_abi() == f->abi);
	CHECK(strstr(sandbox_describe(), "seccomp ") != NULL);
	CHECK(strstr(sandbox_describe(), " rules") != NULL);
	if (f->abi > 0) {
		snprintf(want, sizeof(want), "landlock ABI %d (read-only)",
		    f->abi);
		CHECK(strstr(sandbox_describe(), want) != NULL);
	} else {
		CHECK(strncmp(sandbox_describe(), "landlock unavailable (",
		    22) == 0);
	}
#ifdef SECCOMP_DEBUG
	CHECK(strstr(sandbox_describe(), "debug") != NULL);
#endif
	return 0;
}

static void
describe(void **state)
{
	struct fixture *f = *state;
	struct child c;

	assert_string_equal(sandbox_describe(), "not applied");
	assert_true(f->abi >= 0);
	run(&c, f, false, child_describe, NULL);
	expect_ok(&c);
}

/* Forbidden calls ---------------------------------------------------------- */

static int
child_socket_unix(struct fixture *f, void *arg)
{
	(void)f;
	(void)arg;
	(void)socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	return CHILD_ALIVE;
}

static int
child_socket_tcp(struct fixture *f, void *arg)
{
	(void)f;
	(void)arg;
	(void)socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	return CHILD_ALIVE;
}

static int
child_socket_tcp6(struct fixture *f, void *arg)
{
	(void)f;
	(void)arg;
	(void)socket(AF_INET6, SOCK_STREAM, 0);
	return CHILD_ALIVE;
}

static int
child_socket_raw(struct fixture *f, void *arg)
{
	(void)f;
	(void)arg;
	(void)socket(AF_INET, SOCK_RAW, IPPROTO_UDP);
	return CHILD_ALIVE;
}

/* SOCK_DGRAM, but an ICMP "ping" socket. */
static int
child_socket_ping(struct fixture *f, void *arg)
{
	(void)f;
	(void)arg;
	(void)socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP);
	return CHILD_ALIVE;
}

static int
child_socket_netlink(struct fixture *f, void *arg)
{
	(void)f;
	(void)arg;
	(void)socket(AF_NETLINK, SOCK_DGRAM, 0);
	return CHILD_ALIVE;
}

static int
child_fork(struct fixture *f, void *arg)
{
	pid_t pid;

	(void)f;
	(void)arg;
	pid = fork();
	if (pid == 0)
		_exit(0);
	return CHILD_ALIVE;
}

static int
child_execve(struct fixture *f, void *arg)
{
	char *const argv[] = { (char *)"true", NULL };
	char *const envp[] = { NULL };

	(void)f;
	(void)arg;
	(void)execve("/bin/true", argv, envp);
	return CHILD_ALIVE;
}

static int
child_sockopt_broadcast(struct fixture *f, void *arg)
{
	int s, one = 1;

	(void)f;
	(void)arg;
	CHECK((s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) >= 0);
	(void)setsockopt(s, SOL_SOCKET, SO_BROADCAST, &one, sizeof(one));
	return CHILD_ALIVE;
}

static int
child_sockopt_ttl(struct fixture *f, void *arg)
{
	int s, ttl = 1;

	(void)f;
	(void)arg;
	CHECK((s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) >= 0);
	(void)setsockopt(s, IPPROTO_IP, IP_TTL, &ttl, sizeof(ttl));
	return CHILD_ALIVE;
}

static int
child_mmap_exec(struct fixture *f, void *arg)
{
	(void)f;
	(void)arg;
	(void)mmap(NULL, 4096, PROT_READ | PROT_EXEC,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return CHILD_ALIVE;
}

static int
child_mprotect(struct fixture *f, void *arg)
{
	void *p;

	(void)f;
	(void)arg;
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(p != MAP_FAILED);
	(void)mprotect(p, 4096, PROT_READ | PROT_EXEC);
	return CHILD_ALIVE;
}

static int
child_kill(struct fixture *f, void *arg)
{
	(void)f;
	(void)arg;
	(void)kill(getpid(), 0);
	return CHILD_ALIVE;
}

/* The loop's epoll set and handlers are made before the sandbox. */
static int
child_epoll_create(struct fixture *f, void *arg)
{
	(void)f;
	(void)arg;
	(void)epoll_create1(EPOLL_CLOEXEC);
	return CHILD_ALIVE;
}

static int
child_sigaction(struct fixture *f, void *arg)
{
	struct sigaction sa;

	(void)f;
	(void)arg;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	(void)sigaction(SIGSYS, &sa, NULL);
	return CHILD_ALIVE;
}

static int
child_setrlimit(struct fixture *f, void *arg)
{
	struct rlimit rl = { 0, 0 };

	(void)f;
	(void)arg;
	(void)setrlimit(RLIMIT_NOFILE, &rl);
	return CHILD_ALIVE;
}

static const struct {
	const char	*what;
	child_fn	 fn;
	long		 nr;	/* reported number; -1: arch-dependent */
} forbidden[] = {
	{ "socket(AF_UNIX)",		child_socket_unix,	SYS_socket },
	{ "socket(AF_INET, SOCK_STREAM)", child_socket_tcp,	SYS_socket },
	{ "socket(AF_INET6, SOCK_STREAM)", child_socket_tcp6,	SYS_socket },
	{ "socket(AF_INET, SOCK_RAW)",	child_socket_raw,	SYS_socket },
	{ "socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP)", child_socket_ping,
					    SYS_socket },
	{ "socket(AF_NETLINK)",		child_socket_netlink,	SYS_socket },
	{ "fork()",			child_fork,		-1 },
	{ "execve()",			child_execve,		SYS_execve },
	{ "setsockopt(SO_BROADCAST)",	child_sockopt_broadcast,
					    SYS_setsockopt },
	{ "setsockopt(IP_TTL)",		child_sockopt_ttl,
					    SYS_setsockopt },
	{ "mmap(PROT_EXEC)",		child_mmap_exec,	-1 },
	{ "mprotect()",			child_mprotect,		SYS_mprotect },
	{ "kill()",			child_kill,		SYS_kill },
	{ "setrlimit()",		child_setrlimit,	-1 },
	{ "epoll_create1()",		child_epoll_create,	-1 },
	{ "sigaction(SIGSYS)",		child_sigaction,
					    SYS_rt_sigaction },
};

static void
forbidden_calls(void **state)
{
	struct fixture *f = *state;
	struct child c;
	size_t i;

	for (i = 0; i < sizeof(forbidden) / sizeof(forbidden[0]); i++) {
		print_message("  %s\n", forbidden[i].what);
		run(&c, f, true, forbidden[i].fn, NULL);
		expect_killed(&c, forbidden[i].nr);
	}
}

/* The same calls are fine unsandboxed: the kills above are the filter's. */
static void
forbidden_calls_unsandboxed_work(void **state)
{
	int s, one = 1;

	(void)state;
	assert_true((s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) >= 0);
	close(s);
	assert_true((s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) >= 0);
	assert_int_equal(setsockopt(s, SOL_SOCKET, SO_BROADCAST, &one,
	    sizeof(one)), 0);
	close(s);
}

/* What the worker does ---------------------------------------------------- */

struct peer {
	struct sockaddr_in	 addr;	/* the parent's UDP socket */
	int			 epfd;	/* made before the sandbox, as loop.c */
};

/*
 * The socket calls of a transfer: a UDP socket with the worker's options,
 * bound to loopback port 0, connect()ed to the parent; one datagram each
 * way through send/recv, then sendmmsg/recvmmsg and sendmsg/recvmsg.
 */
static int
child_udp(struct fixture *f, void *arg)
{
	struct peer *p = arg;
	struct sockaddr_in local = { .sin_family = AF_INET };
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct epoll_event ev = { .events = EPOLLIN };
	struct mmsghdr mm[2];
	struct iovec iov[2];
	struct msghdr mh;
	char buf[64], b2[2][16];
	int s, s6, ep, i, one = 1, size = 65536;
	ssize_t n;

	(void)f;
	CHECK((s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0)) >= 0);
	CHECK(setsockopt(s, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size)) == 0);
	CHECK(setsockopt(s, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size)) == 0);
	local.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK(bind(s, (struct sockaddr *)&local, sizeof(local)) == 0);
	CHECK(getsockname(s, (struct sockaddr *)&ss, &sl) == 0);
	CHECK(connect(s, (struct sockaddr *)&p->addr, sizeof(p->addr)) == 0);

	/* No flags, and IPv6 (a kernel without it says so, not SIGSYS). */
	s6 = socket(AF_INET, SOCK_DGRAM, 0);
	CHECK(s6 >= 0);
	close(s6);
	s6 = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	CHECK(s6 >= 0 || errno == EAFNOSUPPORT);
	if (s6 >= 0) {
		CHECK(setsockopt(s6, IPPROTO_IPV6, IPV6_V6ONLY, &one,
		    sizeof(one)) == 0);
		close(s6);
	}

	ep = p->epfd;
	CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev) == 0);
	CHECK(send(s, "ping", 4, 0) == 4);
	CHECK(epoll_pwait(ep, &ev, 1, CHILD_WAIT_MS, NULL) == 1);
	CHECK(recv(s, buf, sizeof(buf), MSG_TRUNC) == 4);
	CHECK(memcmp(buf, "pong", 4) == 0);

	memset(mm, 0, sizeof(mm));
	iov[0] = (struct iovec){ .iov_base = (void *)"mm-1", .iov_len = 4 };
	iov[1] = (struct iovec){ .iov_base = (void *)"mm-2", .iov_len = 4 };
	mm[0].msg_hdr.msg_iov = &iov[0];
	mm[0].msg_hdr.msg_iovlen = 1;
	mm[1].msg_hdr.msg_iov = &iov[1];
	mm[1].msg_hdr.msg_iovlen = 1;
	CHECK(sendmmsg(s, mm, 2, 0) == 2);
	CHECK(epoll_pwait(ep, &ev, 1, CHILD_WAIT_MS, NULL) == 1);
	memset(mm, 0, sizeof(mm));
	iov[0] = (struct iovec){ .iov_base = b2[0], .iov_len = sizeof(b2[0]) };
	iov[1] = (struct iovec){ .iov_base = b2[1], .iov_len = sizeof(b2[1]) };
	mm[0].msg_hdr.msg_iov = &iov[0];
	mm[0].msg_hdr.msg_iovlen = 1;
	mm[1].msg_hdr.msg_iov = &iov[1];
	mm[1].msg_hdr.msg_iovlen = 1;
	CHECK(recvmmsg(s, mm, 2, MSG_DONTWAIT, NULL) >= 1);
	CHECK(memcmp(b2[0], "ok-1", 4) == 0);

	memset(&mh, 0, sizeof(mh));
	iov[0] = (struct iovec){ .iov_base = (void *)"msg!", .iov_len = 4 };
	mh.msg_iov = &iov[0];
	mh.msg_iovlen = 1;
	CHECK(sendmsg(s, &mh, 0) == 4);
	iov[0] = (struct iovec){ .iov_base = buf, .iov_len = sizeof(buf) };
	/* "ok-2" may come first, if the batch above did not bring it. */
	for (i = 0; i < 4; i++) {
		CHECK(epoll_pwait(ep, &ev, 1, CHILD_WAIT_MS, NULL) == 1);
		while ((n = recvmsg(s, &mh, MSG_DONTWAIT)) == 4 &&
		    memcmp(buf, "done", 4) != 0)
			;
		if (n == 4)
			break;
		CHECK(n < 0 && errno == EAGAIN);
	}
	CHECK(i < 4);
	CHECK(epoll_ctl(ep, EPOLL_CTL_DEL, s, NULL) == 0);
	close(s);
	return 0;
}

static void
udp(void **state)
{
	struct fixture *f = *state;
	struct sockaddr_in from;
	struct pollfd pfd;
	struct timeval tv = { 10, 0 };
	struct peer p = { .addr = { .sin_family = AF_INET } };
	socklen_t sl = sizeof(p.addr);
	struct child c;
	char buf[64];
	int s;

	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(s >= 0);
	p.addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(s, (struct sockaddr *)&p.addr, sizeof(p.addr)),
	    0);
	assert_int_equal(getsockname(s, (struct sockaddr *)&p.addr, &sl), 0);
	assert_int_equal(setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv,
	    sizeof(tv)), 0);

	p.epfd = epoll_create1(EPOLL_CLOEXEC);
	assert_true(p.epfd >= 0);
	child_start(&c, f, false, child_udp, &p);
	pfd = (struct pollfd){ .fd = s, .events = POLLIN };
	if (poll(&pfd, 1, CHILD_WAIT_MS) == 1) {
		sl = sizeof(from);
		assert_int_equal(recvfrom(s, buf, sizeof(buf), 0,
		    (struct sockaddr *)&from, &sl), 4);
		assert_memory_equal(buf, "ping", 4);
		assert_int_equal(sendto(s, "pong", 4, 0,
		    (struct sockaddr *)&from, sl), 4);
		assert_int_equal(recv(s, buf, sizeof(buf), 0), 4);
		assert_memory_equal(buf, "mm-1", 4);
		assert_int_equal(recv(s, buf, sizeof(buf), 0), 4);
		assert_memory_equal(buf, "mm-2", 4);
		assert_int_equal(sendto(s, "ok-1", 4, 0,
		    (struct sockaddr *)&from, sl), 4);
		assert_int_equal(sendto(s, "ok-2", 4, 0,
		    (struct sockaddr *)&from, sl), 4);
		assert_int_equal(recv(s, buf, sizeof(buf), 0), 4);
		assert_memory_equal(buf, "msg!", 4);
		assert_int_equal(sendto(s, "done", 4, 0,
		    (struct sockaddr *)&from, sl), 4);
	}
	child_finish(&c);
	expect_ok(&c);
	close(p.epfd);
	close(s);
}

/* malloc of small and large blocks, realloc that moves, free. */
static int
child_memory(struct fixture *f, void *arg)
{
	char *small, *big;
	size_t i;

	(void)f;
	(void)arg;
	CHECK((small = malloc(100)) != NULL);
	CHECK((big = malloc(8u << 20)) != NULL);	/* mmap */
	memset(big, 'x', 8u << 20);
	CHECK((big = realloc(big, 32u << 20)) != NULL);	/* mremap */
	for (i = 0; i < (8u << 20); i += 4096)
		CHECK(big[i] == 'x');
	free(big);					/* munmap */
	free(small);
	return 0;
}

static void
memory(void **state)
{
	struct fixture *f = *state;
	struct child c;

	run(&c, f, false, child_memory, NULL);
	expect_ok(&c);
}

static int
child_read_root(struct fixture *f, void *arg)
{
	char buf[64], name[PATH_REL_MAX];
	uint64_t size = 0;
	struct stat st;
	int fd;

	(void)arg;
	CHECK((fd = openat(f->rootfd, "inside.txt", O_RDONLY | O_CLOEXEC)) >=
	    0);
	CHECK(fstat(fd, &st) == 0);
	CHECK(st.st_size == (off_t)strlen(INSIDE_TEXT));
	CHECK(pread(fd, buf, sizeof(buf), 0) == (ssize_t)strlen(INSIDE_TEXT));
	CHECK(memcmp(buf, INSIDE_TEXT, strlen(INSIDE_TEXT)) == 0);
	close(fd);

	/* The worker's way in: openat2(RESOLVE_BENEATH), then the walk. */
	CHECK((fd = files_open_read(f->rootfd, "sub/deeper.txt", &f->cfg,
	    &size)) >= 0);
	CHECK(size == strlen(INSIDE_TEXT));
	close(fd);
	/* ignore_case reads directories (getdents64, Landlock's READ_DIR). */
	CHECK(lookup_icase(f->rootfd, "SUB/Deeper.TXT", true, false, NULL,
	    name, sizeof(name)) == 0);
	CHECK(strcmp(name, "sub/deeper.txt") == 0);
	files_no_openat2 = true;
	CHECK((fd = files_open_read(f->rootfd, "sub/deeper.txt", &f->cfg,
	    &size)) >= 0);
	close(fd);
	CHECK(files_open_read(f->rootfd, "missing", &f->cfg, &size) ==
	    -ENOENT);
	return 0;
}

static void
read_root(void **state)
{
	struct fixture *f = *state;
	struct child c;

	run(&c, f, false, child_read_root, NULL);
	expect_ok(&c);
}

/* Landlock ---------------------------------------------------------------- */

static int
child_outside(struct fixture *f, void *arg)
{
	char rel[PATH_MAX];
	int fd;

	(void)arg;
	errno = 0;
	fd = openat(AT_FDCWD, "/etc/passwd", O_RDONLY | O_CLOEXEC);
	CHECK(fd < 0 && errno == EACCES);
	errno = 0;
	fd = openat(AT_FDCWD, f->outside, O_RDONLY | O_CLOEXEC);
	CHECK(fd < 0 && errno == EACCES);
	/* Relative to the root, but out of it. */
	errno = 0;
	fd = openat(f->rootfd, "../outside.txt", O_RDONLY | O_CLOEXEC);
	CHECK(fd < 0 && errno == EACCES);
	/* Nor the root's parent as a directory. */
	errno = 0;
	fd = openat(f->rootfd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CHECK(fd < 0 && errno == EACCES);
	/* Writing outside, even with uploads on. */
	snprintf(rel, sizeof(rel), "%s/evil.txt", f->dir);
	errno = 0;
	fd = openat(AT_FDCWD, rel, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0644);
	CHECK(fd < 0 && errno == EACCES);
	errno = 0;
	fd = openat(AT_FDCWD, f->outside, O_WRONLY | O_CLOEXEC);
	CHECK(fd < 0 && errno == EACCES);
	return 0;
}

static void
landlock_outside(void **state)
{
	struct fixture *f = *state;
	char path[PATH_MAX * 2], buf[64];
	struct child c;
	int fd;

	if (!need_landlock(f)) {
		skip();
		return;
	}
	/* Unsandboxed, all of it is reachable. */
	assert_true((fd = open("/etc/passwd", O_RDONLY | O_CLOEXEC)) >= 0);
	close(fd);
	assert_true((fd = openat(f->rootfd, "../outside.txt",
	    O_RDONLY | O_CLOEXEC)) >= 0);
	close(fd);

	run(&c, f, true, child_outside, NULL);
	expect_ok(&c);
	snprintf(path, sizeof(path), "%s/evil.txt", f->dir);
	assert_int_equal(access(path, F_OK), -1);
	slurp_path(f->outside, buf, sizeof(buf));
	assert_string_equal(buf, OUTSIDE_TEXT);
}

static int
child_readonly(struct fixture *f, void *arg)
{
	struct upload u;
	int fd;

	(void)arg;
	errno = 0;
	fd = openat(f->rootfd, "new.txt", O_WRONLY | O_CREAT | O_EXCL |
	    O_CLOEXEC, 0644);
	CHECK(fd < 0 && errno == EACCES);
	errno = 0;
	fd = openat(f->rootfd, "inside.txt", O_WRONLY | O_CLOEXEC);
	CHECK(fd < 0 && errno == EACCES);
	errno = 0;
	fd = openat(f->rootfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0644);
	CHECK(fd < 0 && errno == EACCES);
	errno = 0;
	CHECK(unlinkat(f->rootfd, "inside.txt", 0) < 0 && errno == EACCES);
	errno = 0;
	CHECK(renameat(f->rootfd, "inside.txt", f->rootfd, "renamed.txt") <
	    0 && errno == EACCES);
	errno = 0;
	CHECK(linkat(f->rootfd, "inside.txt", f->rootfd, "linked.txt", 0) <
	    0 && errno == EACCES);
	/* Through files.c: the kernel's refusal, mapped to EPERM. */
	memset(&u, 0, sizeof(u));
	CHECK(files_upload_open(&u, f->rootfd, "upload.txt", &f->cfg,
	    false) == -EPERM);
	/* Reading still works. */
	CHECK((fd = openat(f->rootfd, "inside.txt", O_RDONLY | O_CLOEXEC)) >=
	    0);
	close(fd);
	return 0;
}

static void
landlock_readonly(void **state)
{
	struct fixture *f = *state;
	char path[PATH_MAX * 2], buf[64];
	struct child c;

	if (!need_landlock(f)) {
		skip();
		return;
	}
	run(&c, f, false, child_readonly, NULL);
	expect_ok(&c);
	assert_false(root_exists(f, "new.txt"));
	assert_false(root_exists(f, "renamed.txt"));
	assert_false(root_exists(f, "linked.txt"));
	assert_false(root_exists(f, "upload.txt"));
	assert_int_equal(hidden_entries(f, "."), 0);
	root_path(f, "inside.txt", path, sizeof(path));
	slurp_path(path, buf, sizeof(buf));
	assert_string_equal(buf, INSIDE_TEXT);
}

/* Upload one file through files.c, the way the worker does. */
static int
upload(struct fixture *f, const char *rel, const char *text, bool commit)
{
	struct upload u;
	int r;

	memset(&u, 0, sizeof(u));
	if ((r = files_upload_open(&u, f->rootfd, rel, &f->cfg, false)) < 0)
		return r;
	if ((r = files_upload_write(&u, (const uint8_t *)text,
	    strlen(text))) < 0)
		goto out;
	if (commit)
		r = files_upload_commit(&u);
out:
	files_upload_close(&u);
	return r;
}

static int
child_write(struct fixture *f, void *arg)
{
	int fd;

	(void)arg;
	CHECK((fd = openat(f->rootfd, "new.txt", O_WRONLY | O_CREAT | O_EXCL |
	    O_CLOEXEC, 0644)) >= 0);
	CHECK(write(fd, "new\n", 4) == 4);
	close(fd);

	/* O_TMPFILE, named by whichever link method the kernel allows. */
	files_link = FILES_LINK_UNKNOWN;
	CHECK(upload(f, "up-tmpfile.txt", "tmpfile\n", true) == 0);
	/* The same, through /proc/self/fd (kernels before 6.10). */
	files_link = FILES_LINK_UNKNOWN;
	files_no_empty_path = true;
	CHECK(upload(f, "sub/up-proc.txt", "proc\n", true) == 0);
	files_no_empty_path = false;
	/* Overwriting: link to a hidden name, rename over. */
	CHECK(upload(f, "inside.txt", "replaced\n", true) == 0);
	/* A hidden name created O_EXCL, renamed into place. */
	files_no_tmpfile = true;
	CHECK(upload(f, "up-hidden.txt", "hidden\n", true) == 0);
	/* Aborted: the hidden temporary is unlinked. */
	CHECK(upload(f, "up-aborted.txt", "aborted\n", false) == 0);
	files_no_tmpfile = false;
	CHECK(upload(f, "up-aborted2.txt", "aborted\n", false) == 0);

	/* No REFER: a rename across directories is refused. */
	errno = 0;
	CHECK(renameat(f->rootfd, "new.txt", f->rootfd, "sub/new.txt") < 0 &&
	    errno == EXDEV);
	return 0;
}

static void
landlock_write(void **state)
{
	struct fixture *f = *state;
	char path[PATH_MAX * 2], buf[64];
	struct child c;
	static const struct {
		const char	*rel;
		const char	*text;
	} want[] = {
		{ "new.txt",		"new\n" },
		{ "up-tmpfile.txt",	"tmpfile\n" },
		{ "sub/up-proc.txt",	"proc\n" },
		{ "inside.txt",		"replaced\n" },
		{ "up-hidden.txt",	"hidden\n" },
	};
	size_t i;

	if (!need_landlock(f)) {
		skip();
		return;
	}
	run(&c, f, true, child_write, NULL);
	expect_ok(&c);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		root_path(f, want[i].rel, path, sizeof(path));
		slurp_path(path, buf, sizeof(buf));
		assert_string_equal(buf, want[i].text);
	}
	assert_false(root_exists(f, "up-aborted.txt"));
	assert_false(root_exists(f, "up-aborted2.txt"));
	assert_false(root_exists(f, "sub/new.txt"));
	assert_int_equal(hidden_entries(f, "."), 0);
	assert_int_equal(hidden_entries(f, "sub"), 0);
}

/*
 * Two roots: reading and (uploads on) writing beneath either; outside
 * both still nothing, not even the directory that holds them.
 */
static int
child_two_roots(struct fixture *f, void *arg)
{
	struct upload u;
	uint64_t size = 0;
	int fd;

	(void)arg;
	CHECK((fd = files_open_read(f->rootfd, "inside.txt", &f->cfg,
	    &size)) >= 0);
	close(fd);
	CHECK((fd = files_open_read(second_root, "second.txt", &f->cfg,
	    &size)) >= 0);
	CHECK(size == strlen(INSIDE_TEXT));
	close(fd);
	CHECK(files_upload_open(&u, second_root, "up2.txt", &f->cfg,
	    false) == 0);
	CHECK(files_upload_write(&u, (const uint8_t *)"2", 1) == 0);
	CHECK(files_upload_commit(&u) == 0);
	files_upload_close(&u);
	errno = 0;
	fd = openat(AT_FDCWD, f->outside, O_RDONLY | O_CLOEXEC);
	CHECK(fd < 0 && errno == EACCES);
	errno = 0;
	fd = openat(second_root, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CHECK(fd < 0 && errno == EACCES);
	return 0;
}

static void
landlock_two_roots(void **state)
{
	struct fixture *f = *state;
	char path[PATH_MAX * 2], buf[64];
	struct child c;

	if (!need_landlock(f)) {
		skip();
		return;
	}
	snprintf(path, sizeof(path), "%s/root2", f->dir);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/root2/second.txt", f->dir);
	put_path(path, INSIDE_TEXT);
	snprintf(path, sizeof(path), "%s/root2", f->dir);
	second_root = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	assert_true(second_root >= 0);
	run(&c, f, true, child_two_roots, NULL);
	close(second_root);
	second_root = -1;
	expect_ok(&c);
	snprintf(path, sizeof(path), "%s/root2/up2.txt", f->dir);
	slurp_path(path, buf, sizeof(buf));
	assert_string_equal(buf, "2");
}

/* A failed step is reported, with its reason. */
static int
child_bad_root(struct fixture *f, void *arg)
{
	char why[256];
	int r;

	(void)f;
	(void)arg;
	/* Not through child_start: this child calls sandbox_apply itself. */
	r = sandbox_apply(&(int){ -1 }, 1, false, why, sizeof(why));
	CHECK(r == -EBADF);
	CHECK(strstr(why, "landlock_add_rule") != NULL);
	CHECK(strstr(why, strerror(EBADF)) != NULL);
	CHECK(strcmp(sandbox_describe(), "not applied") == 0);
	return 0;
}

static void
bad_root(void **state)
{
	struct fixture *f = *state;
	pid_t pid;
	int status;

	if (!need_landlock(f)) {
		skip();
		return;
	}
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(child_bad_root(f, NULL));
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

int
main(void)
{
#define T(fn)	cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(proc_status),
		T(describe),
		T(forbidden_calls),
		T(forbidden_calls_unsandboxed_work),
		T(udp),
		T(memory),
		T(read_root),
		T(landlock_outside),
		T(landlock_readonly),
		T(landlock_write),
		T(landlock_two_roots),
		T(bad_root),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
