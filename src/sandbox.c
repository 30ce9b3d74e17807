/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * The worker sandbox, which confines a worker further than the master's
 * privilege drop (service user, no capabilities) can: the order of the
 * confinement steps, the Landlock ruleset and the seccomp allow-list.
 * This is the only file that includes <seccomp.h> and the Landlock
 * headers.  The allow-list is kept as tables grouped by purpose, after
 * chrony's sys_linux.c: plain system calls first, then the argument
 * filters (mmap protections, socket family and type, setsockopt pairs),
 * each applied in a loop.  It holds what the worker does once sandboxed,
 * measured with strace -f over reads, uploads, netascii both ways,
 * refusals, timeouts, aborts, IPv6, port ranges and shutdown, and read
 * off the code for the paths a test cannot easily reach (fallbacks named
 * in the comments); nothing is there "in case".  A call missing from the
 * list kills the worker with SIGSYS: loud, and respawned by the master.
 */
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <seccomp.h>

#ifdef HAVE_LINUX_LANDLOCK_H
#include <linux/landlock.h>
#endif

#include "sandbox.h"
#include "worker.h"

/* glibc has no Landlock wrappers: raw system calls, when it knows them. */
#if defined(HAVE_LINUX_LANDLOCK_H) && defined(SYS_landlock_create_ruleset) \
    && defined(SYS_landlock_add_rule) && defined(SYS_landlock_restrict_self)
#define SANDBOX_LANDLOCK 1
#endif

/*
 * The sanitizer runtimes make system calls of their own (reports,
 * the exit-time leak check): see sys_sanitizer[].  Never in production.
 */
#if defined(__SANITIZE_ADDRESS__)
#define SANDBOX_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANDBOX_ASAN 1
#endif
#endif

#ifdef SANDBOX_LANDLOCK
/*
 * Access rights of later ABIs than the installed header may know.  The
 * values are kernel ABI and never change; each is used only when the
 * running kernel reports that ABI.
 */
#ifndef LANDLOCK_ACCESS_FS_REFER
#define LANDLOCK_ACCESS_FS_REFER		(1ULL << 13)	/* ABI 2 */
#endif
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE		(1ULL << 14)	/* ABI 3 */
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV		(1ULL << 15)	/* ABI 5 */
#endif
#ifndef LANDLOCK_ACCESS_NET_BIND_TCP
#define LANDLOCK_ACCESS_NET_BIND_TCP		(1ULL << 0)	/* ABI 4 */
#endif
#ifndef LANDLOCK_ACCESS_NET_CONNECT_TCP
#define LANDLOCK_ACCESS_NET_CONNECT_TCP		(1ULL << 1)	/* ABI 4 */
#endif
#ifndef LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET
#define LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET	(1ULL << 0)	/* ABI 6 */
#endif
#ifndef LANDLOCK_SCOPE_SIGNAL
#define LANDLOCK_SCOPE_SIGNAL			(1ULL << 1)	/* ABI 6 */
#endif

/* Every filesystem right of ABI 1. */
#define LL_FS_ABI1	(LANDLOCK_ACCESS_FS_EXECUTE |			\
	LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_READ_FILE |	\
	LANDLOCK_ACCESS_FS_READ_DIR | LANDLOCK_ACCESS_FS_REMOVE_DIR |	\
	LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_MAKE_CHAR |	\
	LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_MAKE_REG |	\
	LANDLOCK_ACCESS_FS_MAKE_SOCK | LANDLOCK_ACCESS_FS_MAKE_FIFO |	\
	LANDLOCK_ACCESS_FS_MAKE_BLOCK | LANDLOCK_ACCESS_FS_MAKE_SYM)

/*
 * What the worker may do beneath the root.  Uploads (files.c) create an
 * O_TMPFILE or a hidden name O_EXCL (WRITE_FILE, MAKE_REG), link and
 * rename it into place within its own directory (MAKE_REG, REMOVE_FILE;
 * REFER is only checked across directories, so it stays denied) and
 * unlink a leftover (REMOVE_FILE).  TRUNCATE stays denied: no upload
 * truncates a file in place, the old one is replaced whole.
 */
#define LL_READ		(LANDLOCK_ACCESS_FS_READ_FILE | \
	LANDLOCK_ACCESS_FS_READ_DIR)
#define LL_WRITE	(LANDLOCK_ACCESS_FS_WRITE_FILE | \
	LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_REMOVE_FILE)

/*
 * struct landlock_ruleset_attr as of ABI 6; an older header stops
 * earlier, and an older kernel is given only the part it knows.
 */
struct ll_ruleset_attr {
	uint64_t	 handled_access_fs;
	uint64_t	 handled_access_net;	/* ABI 4 */
	uint64_t	 scoped;		/* ABI 6 */
};
#endif /* SANDBOX_LANDLOCK */

/*
 * The seccomp allow-list.  Names the running architecture lacks are
 * skipped (libseccomp resolves them per architecture), so the 32-bit and
 * the no-legacy-call variants of one need can sit side by side.
 */

/* Memory: malloc (mmap is filtered below: never executable). */
static const char *const sys_memory[] = {
	"brk",
	"munmap",
	"mremap",		/* realloc of a large block: loop_grow() */
	NULL
};

/*
 * Time: the vDSO answers clock_gettime(); the system call is its fallback
 * when the clock source cannot be read from user space.
 */
static const char *const sys_time[] = {
	"clock_gettime",
	"clock_gettime64",	/* 32-bit architectures */
	NULL
};

/*
 * Events: the epoll loop (loop.c), whose set and signal handlers exist
 * before the sandbox; epoll_pwait unblocks the signals while it sleeps,
 * the handlers return through rt_sigreturn, loop_free() restores the mask.
 */
static const char *const sys_events[] = {
	"epoll_ctl",
	"epoll_pwait",
	"rt_sigprocmask",
	"rt_sigreturn",
	NULL
};

/*
 * Files: beneath the root only, Landlock decides where (files.c); write is
 * also the log (fd 2).  The stat and rename variants are what glibc turns
 * fstat()/fstatat()/renameat() into on each architecture.
 */
static const char *const sys_files[] = {
	"openat",
	"openat2",		/* RESOLVE_BENEATH lookups */
	"close",
	"getdents64",		/* ignore_case: a directory's names (lookup.c) */
	"fstat",
	"newfstatat",
	"fstat64",		/* 32-bit */
	"fstatat64",		/* 32-bit */
	"statx",		/* 32-bit with 64-bit time */
	"fstatfs",		/* an upload's announced size: free space */
	"fstatfs64",		/* 32-bit */
	"pread64",		/* file data, straight into packets */
	"preadv",		/* a window's blocks in one call */
	"write",		/* uploads, and the log pipe */
	"fsync",		/* [write] fsync: file, then directory */
	"fchmod",		/* the configured umask on a temporary */
	"linkat",		/* commit: O_TMPFILE into place */
	"renameat",		/* commit: over an existing file */
	"renameat2",		/* glibc's renameat, lacking renameat */
	"unlinkat",		/* an aborted hidden-name temporary */
	NULL
};

/*
 * Sockets: the listen sockets are read, and each transfer gets a UDP
 * socket bound to the local address (port 0 or from port_range) and
 * connect()ed to the client (sock.c).  socket() and setsockopt() are
 * filtered below.  send()/recv() are sendto/recvfrom to the kernel;
 * sendmsg: a refusal from the listen socket with a pktinfo source;
 * recvmsg: requests when batches are off.
 */
static const char *const sys_sockets[] = {
	"bind",
	"connect",
	"getsockname",		/* the listen addresses, at loop start */
	"sendto",
	"sendmsg",
	"sendmmsg",
	"recvfrom",
	"recvmsg",
	"recvmmsg",
	NULL
};

/*
 * Process: log lines carry the pid; random ports and temporary names; an
 * existing file of our own uid may be replaced (files.c).
 */
static const char *const sys_process[] = {
	"getpid",
	"geteuid",
	"geteuid32",		/* 32-bit */
	"getrandom",
	"exit",
	"exit_group",
	NULL
};

#ifdef SANDBOX_ASAN
/*
 * Sanitizer builds only (--enable-sanitizers), never production: what the
 * ASan/UBSan runtimes call in a sandboxed process, measured like the rest,
 * so that a report comes out whole instead of the worker dying of SIGSYS
 * at its first line, and exit() works.  Reports: readlink /proc/self/exe,
 * open /proc/self/{cmdline,environ,maps} (Landlock refuses; the runtime
 * copes; read when a kernel without Landlock lets it), isatty(2) as an
 * ioctl, FD_CLOEXEC on what it opens, a futex in the symbolizer's
 * one-time init.  exit(): the alternate signal stack is taken down.  Long
 * runs: the allocator returns memory with madvise.  The exit-time leak
 * check (a clone()d ptrace tracer) is run early instead, see
 * sanitizer_prepare(); under strace that check fails (ptrace is taken),
 * so trace a sanitizer build with ASAN_OPTIONS=detect_leaks=0.  clang's
 * runtime symbolizes by spawning llvm-symbolizer, which no sandbox
 * allows: run clang builds with ASAN_OPTIONS=symbolize=0 (the report then
 * gives module+offset, for llvm-symbolizer afterwards).
 */
static const char *const sys_sanitizer[] = {
	"readlink",
	"readlinkat",		/* where there is no readlink */
	"open",
	"read",
	"ioctl",
	"fcntl",
	"futex",
	"sigaltstack",
	"madvise",
	NULL
};
#endif

static const char *const *const sys_groups[] = {
	sys_memory,
	sys_time,
	sys_events,
	sys_files,
	sys_sockets,
	sys_process,
#ifdef SANDBOX_ASAN
	sys_sanitizer,
#endif
};

/* mmap, on the architectures' two names: PROT_EXEC never. */
static const char *const sys_mmap[] = {
	"mmap",
	"mmap2",		/* 32-bit */
	NULL
};

/* socket(): UDP over these families; the type may carry the two flags. */
static const int socket_families[] = {
	AF_INET,
	AF_INET6,
};

/* setsockopt(): what a transfer socket is given (sock.c). */
static const struct {
	int		 level;
	int		 name;
} sockopts[] = {
	{ SOL_SOCKET,	SO_RCVBUF },	/* recv_buffer_kb */
	{ SOL_SOCKET,	SO_SNDBUF },	/* send_buffer_kb */
	{ IPPROTO_IPV6,	IPV6_V6ONLY },	/* an IPv6 transfer never maps IPv4 */
};

/*
 * An int argument as the kernel sees it: the low 32 bits of the register.
 * libseccomp's *_32 macros compare all 64, which would let garbage in
 * the upper half decide.
 */
#define ARG32_EQ(n, v)		SCMP_CMP64((n), SCMP_CMP_MASKED_EQ, \
	UINT64_C(0xffffffff), (uint32_t)(v))
#define ARG32_MASKED(n, m, v)	SCMP_CMP64((n), SCMP_CMP_MASKED_EQ, \
	(uint32_t)(m), (uint32_t)(v))

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

static int	 set_reason(char *why, size_t whylen, int err,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int	 limit(char *why, size_t whylen);
static int	 landlock_apply(const int *rootfds, size_t nroots,
		    bool allow_write, char *why,
		    size_t whylen);
static int	 rule_add(scmp_filter_ctx ctx, const char *name,
		    unsigned int ncmp, const struct scmp_arg_cmp *cmp,
		    char *why, size_t whylen);
static int	 seccomp_apply(char *why, size_t whylen);
#ifdef SECCOMP_DEBUG
static void	 sigsys_report(int sig, siginfo_t *si, void *uc);
#endif
#ifdef SANDBOX_ASAN
static void	 sanitizer_prepare(void);
#endif

#ifdef SANDBOX_LANDLOCK
static int	 ll_abi = -1;		/* not probed yet */
static int	 ll_err;		/* the probe failed otherwise */
#endif
static const char *ll_none = "not built in";	/* why ABI 0 */
static char	 description[128] = "not applied";
static char	 ll_text[80];
static unsigned	 nrules;

/* Always returns -err, so a step can end with "return set_reason(...)". */
static int
set_reason(char *why, size_t whylen, int err, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	if (why != NULL && whylen > 0) {
		va_start(ap, fmt);
		vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
		n = strlen(why);
		if (err != 0 && n < whylen)
			snprintf(why + n, whylen - n, ": %s", strerror(err));
	}
	return -err;
}

/*
 * No core file (it would hold file data and client addresses); no new
 * process.  NPROC is only enforced for uids other than root, and the
 * worker never forks, so nothing legitimate meets it; seccomp is the
 * real barrier, this the second.  FSIZE stays as it is: uploads.
 */
static int
limit(char *why, size_t whylen)
{
	static const struct {
		int		 resource;
		const char	*name;
	} zero[] = {
		{ RLIMIT_CORE,	"RLIMIT_CORE" },
		{ RLIMIT_NPROC,	"RLIMIT_NPROC" },
	};
	const struct rlimit rl = { 0, 0 };
	size_t i;

	for (i = 0; i < NELEM(zero); i++)
		if (setrlimit(zero[i].resource, &rl) < 0)
			return set_reason(why, whylen, errno,
			    "setrlimit(%s, 0)", zero[i].name);
	return 0;
}

int
sandbox_landlock_abi(void)
{
#ifdef SANDBOX_LANDLOCK
	long v;

	if (ll_abi < 0) {
		v = syscall(SYS_landlock_create_ruleset, NULL, 0,
		    LANDLOCK_CREATE_RULESET_VERSION);
		ll_abi = 0;
		if (v > 0) {
			ll_abi = v > INT_MAX ? INT_MAX : (int)v;
		} else if (errno == ENOSYS) {
			ll_none = "not in this kernel";
		} else if (errno == EOPNOTSUPP) {
			ll_none = "disabled at boot";
		} else if (errno == EPERM) {
			/*
			 * A container's seccomp profile older than Landlock
			 * (Docker before 23.0): the kernel may have it, but
			 * this process cannot use it.
			 */
			ll_none = "refused by the container's seccomp profile";
		} else {
			ll_err = v == 0 ? EINVAL : errno;
		}
	}
	return ll_abi;
#else
	return 0;
#endif
}

static int
landlock_apply(const int *rootfds, size_t nroots, bool allow_write,
    char *why, size_t whylen)
{
#ifdef SANDBOX_LANDLOCK
	struct ll_ruleset_attr ra;
	struct landlock_path_beneath_attr pb;
	size_t size, i;
	int abi, fd, r;

	abi = sandbox_landlock_abi();
	if (ll_err != 0)
		return set_reason(why, whylen, ll_err,
		    "landlock_create_ruleset(VERSION)");
	if (abi == 0) {
		snprintf(ll_text, sizeof(ll_text), "landlock unavailable (%s)",
		    ll_none);
		return 0;
	}

	/* Handle every right the kernel knows: unlisted means denied. */
	memset(&ra, 0, sizeof(ra));
	ra.handled_access_fs = LL_FS_ABI1;
	if (abi >= 2)
		ra.handled_access_fs |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		ra.handled_access_fs |= LANDLOCK_ACCESS_FS_TRUNCATE;
	if (abi >= 5)
		ra.handled_access_fs |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
	size = offsetof(struct ll_ruleset_attr, handled_access_net);
	/*
	 * The network rights are TCP only: handled with no rule, they deny
	 * TCP bind and connect, behind seccomp's refusal of TCP sockets.
	 */
	if (abi >= 4) {
		ra.handled_access_net = LANDLOCK_ACCESS_NET_BIND_TCP |
		    LANDLOCK_ACCESS_NET_CONNECT_TCP;
		size = offsetof(struct ll_ruleset_attr, scoped);
	}
	/* No signals to, no abstract sockets of, anything outside. */
	if (abi >= 6) {
		ra.scoped = LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET |
		    LANDLOCK_SCOPE_SIGNAL;
		size = sizeof(ra);
	}
	fd = (int)syscall(SYS_landlock_create_ruleset, &ra, size, 0U);
	if (fd < 0)
		return set_reason(why, whylen, errno,
		    "landlock_create_ruleset (ABI %d)", abi);

	memset(&pb, 0, sizeof(pb));
	pb.allowed_access = (LL_READ | (allow_write ? LL_WRITE : 0)) &
	    ra.handled_access_fs;
	/* One rule per root directory, the same rights beneath each. */
	for (i = 0; i < nroots; i++) {
		pb.parent_fd = rootfds[i];
		if (syscall(SYS_landlock_add_rule, fd,
		    LANDLOCK_RULE_PATH_BENEATH, &pb, 0U) < 0) {
			r = set_reason(why, whylen, errno,
			    "landlock_add_rule(root %zu, %s)", i + 1,
			    allow_write ? "read-write" : "read-only");
			goto out_close;
		}
	}
	if (syscall(SYS_landlock_restrict_self, fd, 0U) < 0) {
		r = set_reason(why, whylen, errno, "landlock_restrict_self");
		goto out_close;
	}
	snprintf(ll_text, sizeof(ll_text), "landlock ABI %d (%s)", abi,
	    allow_write ? "read-write" : "read-only");
	r = 0;

out_close:
	close(fd);
	return r;
#else
	(void)rootfds;
	(void)nroots;
	(void)allow_write;
	(void)why;
	(void)whylen;
	snprintf(ll_text, sizeof(ll_text), "landlock unavailable (%s)",
	    ll_none);
	return 0;
#endif
}

#ifdef SECCOMP_DEBUG
/*
 * Async-signal-safe: format the number by hand, one write(), _exit().
 * WORKER_EXIT_SETUP, so a debug build's master does not respawn a worker
 * that would only die the same way.
 */
static void
sigsys_report(int sig, siginfo_t *si, void *uc)
{
	static const char pre[] = "seccomp: forbidden system call ";
	char msg[sizeof(pre) + 16], digits[12];
	size_t n = sizeof(pre) - 1, d = 0;
	long nr = si->si_syscall;
	unsigned long u;

	(void)sig;
	(void)uc;
	memcpy(msg, pre, n);
	if (nr < 0)
		msg[n++] = '-';
	u = nr < 0 ? 0UL - (unsigned long)nr : (unsigned long)nr;
	do {
		digits[d++] = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0 && d < sizeof(digits));
	while (d > 0)
		msg[n++] = digits[--d];
	msg[n++] = '\n';
	(void)!write(STDERR_FILENO, msg, n);
	_exit(WORKER_EXIT_SETUP);
}
#endif

#ifdef SANDBOX_ASAN
/*
 * LeakSanitizer's check at exit clone()s a tracer thread that ptraces the
 * process and lists /proc/PID/task: impossible once sandboxed (and the
 * clone is past RLIMIT_NPROC).  Checking now, before any step, for leaks
 * of the setup also switches the exit-time check off.  Weak: a runtime
 * without LeakSanitizer simply lacks the symbol.
 */
extern void	 __lsan_do_leak_check(void) __attribute__((weak));

static void
sanitizer_prepare(void)
{
	if (__lsan_do_leak_check != NULL)
		__lsan_do_leak_check();
}
#endif

static int
rule_add(scmp_filter_ctx ctx, const char *name, unsigned int ncmp,
    const struct scmp_arg_cmp *cmp, char *why, size_t whylen)
{
	int nr, r;

	if ((nr = seccomp_syscall_resolve_name(name)) < 0)
		return 0;	/* not a system call of this architecture */
	r = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, nr, ncmp, cmp);
	if (r < 0)
		return set_reason(why, whylen, -r, "seccomp_rule_add(%s)",
		    name);
	nrules++;
	return 0;
}

static int
seccomp_apply(char *why, size_t whylen)
{
#ifdef SECCOMP_DEBUG
	uint32_t deny = SCMP_ACT_TRAP;
	struct sigaction sa;
#else
	uint32_t deny = SCMP_ACT_KILL_PROCESS;
#endif
	struct scmp_arg_cmp cmp[3];
	scmp_filter_ctx ctx;
	const char *const *name;
	size_t g, i;
	int r;

#ifdef SECCOMP_DEBUG
	/* The handler first: the filter will not allow installing it. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = sigsys_report;
	sa.sa_flags = SA_SIGINFO;
	sigfillset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) < 0)
		return set_reason(why, whylen, errno, "sigaction(SIGSYS)");
#endif
	ctx = seccomp_init(deny);
	/* Kernels before 4.14: kill the thread, the same here. */
	if (ctx == NULL && deny == SCMP_ACT_KILL_PROCESS) {
		deny = SCMP_ACT_KILL;
		ctx = seccomp_init(deny);
	}
	if (ctx == NULL)
		return set_reason(why, whylen, ENOMEM, "seccomp_init");
	/* A call through another ABI (x32, int 0x80) is not on the list. */
	if ((r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, deny)) < 0) {
		r = set_reason(why, whylen, -r, "seccomp_attr_set(BADARCH)");
		goto out_release;
	}

	nrules = 0;
	for (g = 0; g < NELEM(sys_groups); g++)
		for (name = sys_groups[g]; *name != NULL; name++)
			if ((r = rule_add(ctx, *name, 0, NULL, why,
			    whylen)) < 0)
				goto out_release;

	cmp[0] = SCMP_CMP64(2, SCMP_CMP_MASKED_EQ, (scmp_datum_t)PROT_EXEC,
	    0);
	for (name = sys_mmap; *name != NULL; name++)
		if ((r = rule_add(ctx, *name, 1, cmp, why, whylen)) < 0)
			goto out_release;

	for (i = 0; i < NELEM(socket_families); i++) {
		cmp[0] = ARG32_EQ(0, socket_families[i]);
		cmp[1] = ARG32_MASKED(1, ~(SOCK_CLOEXEC | SOCK_NONBLOCK),
		    SOCK_DGRAM);
		cmp[2] = ARG32_EQ(2, 0);	/* not ICMP "ping" sockets */
		if ((r = rule_add(ctx, "socket", 3, cmp, why, whylen)) < 0)
			goto out_release;
	}

	for (i = 0; i < NELEM(sockopts); i++) {
		cmp[0] = ARG32_EQ(1, sockopts[i].level);
		cmp[1] = ARG32_EQ(2, sockopts[i].name);
		if ((r = rule_add(ctx, "setsockopt", 2, cmp, why,
		    whylen)) < 0)
			goto out_release;
	}

	if ((r = seccomp_load(ctx)) < 0) {
		r = set_reason(why, whylen, -r, "seccomp_load");
		goto out_release;
	}
	r = 0;

out_release:
	seccomp_release(ctx);
	return r;
}

int
sandbox_apply(const int *rootfds, size_t nroots, bool allow_write, char *why,
    size_t whylen)
{
	int r;

	if (why != NULL && whylen > 0)
		why[0] = '\0';
#ifdef SANDBOX_ASAN
	sanitizer_prepare();
#endif
	if ((r = limit(why, whylen)) < 0)
		return r;
	/*
	 * Not dumpable: a process of the same (shared, often "nobody") uid
	 * cannot ptrace the worker or read its memory through /proc.
	 */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return set_reason(why, whylen, errno, "prctl(PR_SET_DUMPABLE)");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return set_reason(why, whylen, errno,
		    "prctl(PR_SET_NO_NEW_PRIVS)");
	if ((r = landlock_apply(rootfds, nroots, allow_write, why,
	    whylen)) < 0)
		return r;
	if ((r = seccomp_apply(why, whylen)) < 0)
		return r;
	snprintf(description, sizeof(description), "%s, seccomp %u rules%s",
	    ll_text, nrules,
#ifdef SECCOMP_DEBUG
	    " (debug: trap and report)"
#else
	    ""
#endif
	    );
	return 0;
}

const char *
sandbox_describe(void)
{
	return description;
}
