/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * The worker processes: starting worker k by fork+exec of this binary with
 * its descriptors at fixed numbers, reaping, restarting one that died
 * (at once, then with backoff while it keeps dying young), giving up on
 * one that failed its own setup or keeps dying (a crash loop), replacing
 * them all when write.enable changes, and draining them at the end.  Each
 * slot's state is published in the segment for tftpctl; giving up is
 * also told to systemd (STATUS=), and with no slot left the master stops
 * with status 1, so a service that serves nothing shows as failed.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "loop.h"
#include "master.h"
#include "master_int.h"
#include "notify.h"
#include "shm.h"
#include "sock.h"
#include "tftp_shm.h"
#include "util.h"
#include "worker.h"

#define BACKOFF_MIN_MS		100
#define BACKOFF_MAX_MS		10000
#define STABLE_MS		10000	/* alive this long: not a crash loop */
#define RUNNING_AFTER_MS	1000	/* STARTING shown at most this long */
/* Deaths within STABLE_MS of the start, in a row, that end a slot. */
#define CRASH_LOOP_DEATHS	5
#define WORKER_FIXED_FDS	WORKER_FD_LISTEN /* before the sockets */

static struct proc *proc_alloc(struct master *m);
static struct proc *proc_by_pid(struct master *m, pid_t pid);
static void	 publish_slot(struct master *m, uint32_t k);
static void	 child_exec(const int *src, size_t nsrc, char *const args[],
		    pid_t parent) __attribute__((noreturn));
static void	 exec_failed(int err) __attribute__((noreturn));
static int	 spawn(struct master *m, uint32_t k);
static void	 count_death(struct slot *s);
static void	 schedule_respawn(struct master *m, uint32_t k);
static void	 exit_text(int status, char *buf, size_t len);
static void	 close_slot_sockets(struct master *m, uint32_t k);
static bool	 give_up(struct master *m, uint32_t k, const char *why);
static bool	 proc_exited(struct master *m, struct proc *p, int status);

static struct proc *
proc_alloc(struct master *m)
{
	size_t	 i;

	for (i = 0; i < MAX_PROCS; i++)
		if (m->procs[i].pid == 0 && m->procs[i].logfd < 0)
			return &m->procs[i];
	return NULL;
}

static struct proc *
proc_by_pid(struct master *m, pid_t pid)
{
	size_t	 i;

	for (i = 0; i < MAX_PROCS; i++)
		if (m->procs[i].pid == pid)
			return &m->procs[i];
	return NULL;
}

size_t
proc_live(const struct master *m)
{
	size_t	 i, n = 0;

	for (i = 0; i < MAX_PROCS; i++)
		if (m->procs[i].pid != 0)
			n++;
	return n;
}

static void
publish_slot(struct master *m, uint32_t k)
{
	struct slot	*s = &m->slots[k];

	shm_set_worker(&m->shm, k, s->cur != NULL ? s->cur->pid : 0,
	    s->state, s->last_status, s->restarts, s->started_at);
	shm_set_worker_stalls(&m->shm, k, s->stalls, s->last_stalled_ms);
}

/*
 * The child's side of worker.h's descriptor contract, between fork and
 * exec (only async-signal-safe calls).  src[] lists the descriptors for
 * 0, 1, 2, ... in order; each is first moved above the whole target range
 * so no dup2 overwrites a source still to be placed, then placed, then
 * everything above is closed.  SIGTERM, SIGINT, SIGHUP and SIGQUIT are
 * blocked across the exec on purpose: one sent now stays pending until
 * the worker's loop takes it (loop_init, loop_catch) instead of being
 * lost or killing a half-started worker.
 */
static void
child_exec(const int *src, size_t nsrc, char *const args[], pid_t parent)
{
	int		 tmp[WORKER_FIXED_FDS + SOCK_MAX_LISTEN +
			    CONFIG_MAX_ROOTS];
	struct sigaction sa;
	sigset_t	 set;
	size_t		 i;
	int		 fd;

	/*
	 * A worker whose master is gone retires: it stops taking requests
	 * (its listen sockets closed, the port free for the next master),
	 * finishes its transfers and exits, so two generations never take
	 * requests at once.
	 */
	if (prctl(PR_SET_PDEATHSIG, SIGQUIT) < 0 || getppid() != parent)
		_exit(WORKER_EXIT_SETUP);
	/* Terminal signals are for the master, which drains in order. */
	(void)setpgid(0, 0);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	(void)sigaction(SIGCHLD, &sa, NULL);
	(void)sigaction(SIGPIPE, &sa, NULL);
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	(void)sigprocmask(SIG_UNBLOCK, &set, NULL);
	sigemptyset(&set);
	sigaddset(&set, SIGQUIT);
	(void)sigprocmask(SIG_BLOCK, &set, NULL);

	for (i = 0; i < nsrc; i++)
		if ((tmp[i] = fcntl(src[i], F_DUPFD_CLOEXEC, (int)nsrc)) < 0)
			_exit(WORKER_EXIT_SETUP);
	for (i = 0; i < nsrc; i++)
		if (dup2(tmp[i], (int)i) < 0)
			_exit(WORKER_EXIT_SETUP);
	if (close_range((unsigned int)nsrc, ~0U, 0) < 0)
		for (fd = (int)nsrc; fd < 65536; fd++)
			(void)close(fd);
	execv("/proc/self/exe", args);
	exec_failed(errno);
}

/* After a failed exec, in the child: one log line on the pipe (fd 2),
 * built without stdio. */
static void
exec_failed(int err)
{
	char	 line[64] = "<3>cannot execute /proc/self/exe: errno ";
	char	 num[12];
	size_t	 n = strlen(line), i = sizeof(num);

	do {
		num[--i] = (char)('0' + err % 10);
		err /= 10;
	} while (err > 0 && i > 0);
	while (i < sizeof(num) && n < sizeof(line) - 1)
		line[n++] = num[i++];
	line[n++] = '\n';
	(void)!write(STDERR_FILENO, line, n);
	_exit(WORKER_EXIT_SETUP);
}

static int
spawn(struct master *m, uint32_t k)
{
	int		 src[WORKER_FIXED_FDS + SOCK_MAX_LISTEN +
			    CONFIG_MAX_ROOTS];
	char		 ks[16], ns[16], title[32];
	static char	 worker_flag[] = MASTER_WORKER_FLAG;
	static char	 nfds_flag[] = MASTER_NFDS_FLAG;
	/*
	 * argv[0] is the title ps shows, "snowowl-tftpd: worker K", as
	 * nginx's and sshd's children have; the exec is of /proc/self/exe
	 * whatever it says, and the worker reads only the flags after it.
	 */
	char		*args[] = { title, worker_flag, ks, nfds_flag, ns,
			    NULL };
	struct slot	*s = &m->slots[k];
	struct proc	*p;
	const int	*socks;
	size_t		 i, nsrc = 0;
	pid_t		 pid, self = getpid();
	int		 pfd[2], r;

	if ((p = proc_alloc(m)) == NULL)
		return -ENOMEM;
	socks = m->fds + (m->nsets > 1 ? k : 0) * m->naddr;
	snprintf(title, sizeof(title), PROGNAME ": worker %u", k);
	snprintf(ks, sizeof(ks), "%u", k);
	snprintf(ns, sizeof(ns), "%zu", m->naddr);
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -errno;
	src[nsrc++] = m->devnull;
	src[nsrc++] = m->devnull;
	src[nsrc++] = pfd[1];
	src[nsrc++] = m->shm.ro_fd;
	src[nsrc++] = m->shm.wfd;
	src[nsrc++] = m->rootfds[0];
	for (i = 0; i < m->naddr; i++)
		src[nsrc++] = socks[i];
	/* The further roots after the sockets: see worker.h. */
	for (i = 1; i < m->cfg.nroot && i < CONFIG_MAX_ROOTS; i++)
		src[nsrc++] = m->rootfds[i];

	if ((pid = fork()) < 0) {
		r = -errno;
		close(pfd[0]);
		close(pfd[1]);
		return r;
	}
	if (pid == 0)
		child_exec(src, nsrc, args, self);

	close(pfd[1]);
	memset(p, 0, sizeof(*p));
	p->pid = pid;
	p->slot = k;
	logrelay_open(m, p, pfd[0]);
	s->cur = p;
	s->state = TFTP_SHM_W_STARTING;
	s->started_at = (int64_t)time(NULL);
	s->started_ms = time_now_ms();
	publish_slot(m, k);
	log_debug("worker %u: started, pid %ld", k, (long)pid);
	return 0;
}

/*
 * A crashed slot gets a fresh region (counters kept) and a process; also
 * its respawn timer.
 */
void
proc_respawn(struct master *m, uint32_t k)
{
	struct slot	*s = &m->slots[k];
	int		 r;

	if (m->stopping || s->cur != NULL || s->state == TFTP_SHM_W_FAILED)
		return;
	shm_reset_worker_region(&m->shm, k);
	s->restarts++;
	if ((r = spawn(m, k)) < 0) {
		log_warnx("worker %u: cannot start: %s", k, strerror(-r));
		s->started_ms = time_now_ms();
		count_death(s);
		schedule_respawn(m, k);
		return;
	}
	log_info("worker %u: restarted (pid %ld, restart %" PRIu64 ")", k,
	    (long)s->cur->pid, s->restarts);
}

/*
 * One more death (or failed start) of slot s: those within STABLE_MS of
 * the start, in a row, drive both the respawn backoff and the crash-loop
 * guard; a worker that lived longer starts the count again.
 */
static void
count_death(struct slot *s)
{
	if (time_now_ms() - s->started_ms >= STABLE_MS)
		s->quick_deaths = 0;
	s->quick_deaths++;
}

/*
 * At once the first time; while it keeps dying within STABLE_MS of its
 * start, after 100 ms, then twice as long each time, up to 10 s.
 */
static void
schedule_respawn(struct master *m, uint32_t k)
{
	struct slot	*s = &m->slots[k];
	uint64_t	 now = time_now_ms();
	uint32_t	 delay = 0, n;

	/* The first young death restarts at once, the next after 100 ms. */
	for (n = 1; n < s->quick_deaths && delay < BACKOFF_MAX_MS; n++)
		delay = delay == 0 ? BACKOFF_MIN_MS : delay * 2;
	if (delay > BACKOFF_MAX_MS)
		delay = BACKOFF_MAX_MS;
	if (delay == 0) {
		proc_respawn(m, k);
		return;
	}
	log_info("worker %u: restarting in %u ms", k, delay);
	if (loop_timer_set(&m->loop, &s->respawn.lt, now + delay) < 0)
		proc_respawn(m, k);
}

static void
exit_text(int status, char *buf, size_t len)
{
	if (WIFEXITED(status))
		snprintf(buf, len, "exited with status %d",
		    WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "killed by signal %d (%s)%s",
		    WTERMSIG(status), strsignal(WTERMSIG(status)),
		    WCOREDUMP(status) ? ", core dumped" : "");
	else
		snprintf(buf, len, "wait status %#x", (unsigned)status);
}

bool
proc_reap(struct master *m)
{
	struct proc	*p;
	pid_t		 pid;
	int		 status;
	bool		 none_left = false;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		if ((p = proc_by_pid(m, pid)) != NULL &&
		    proc_exited(m, p, status))
			none_left = true;
	return none_left;
}

/*
 * A slot that will not run again must not keep its own SO_REUSEPORT
 * sockets: the kernel would go on hashing clients to a socket that no one
 * reads.  Closed, they leave the group and the others get those clients.
 * (A crashed worker's sockets stay open during its backoff: what arrives
 * there waits in the queue for the replacement.)  Shared sockets (inetd,
 * systemd, reuse_port = no) belong to every worker and stay.
 */
static void
close_slot_sockets(struct master *m, uint32_t k)
{
	size_t	 i;
	int	*socks;

	if (m->nsets <= 1)
		return;
	socks = m->fds + (size_t)k * m->naddr;
	for (i = 0; i < m->naddr; i++) {
		if (socks[i] >= 0)
			close(socks[i]);
		socks[i] = -1;
	}
}

/*
 * Slot k will not run again (why: its last process's story): said at
 * error priority and to systemd, its sockets closed.  true when no slot
 * is left, and the master is to stop with status 1.
 */
static bool
give_up(struct master *m, uint32_t k, const char *why)
{
	uint32_t	 i, left = 0;

	m->slots[k].state = TFTP_SHM_W_FAILED;
	publish_slot(m, k);
	close_slot_sockets(m, k);
	log_msg(LOG_ERR, "worker %u %s: not restarted", k, why);
	for (i = 0; i < m->nworkers; i++)
		if (m->slots[i].state != TFTP_SHM_W_FAILED)
			left++;
	if (left > 0) {
		notify_send(m->notify_fd, "STATUS=degraded: worker %u %s; %u "
		    "of %u workers left", k, why, left, m->nworkers);
		return false;
	}
	log_msg(LOG_ERR, "no worker left: stopping");
	notify_send(m->notify_fd, "STATUS=failed: no worker left (worker "
	    "%u %s)", k, why);
	m->status = 1;
	return true;
}

/*
 * true when no worker is left to run.  A crash is restarted (a warning);
 * a failed setup gives the slot up at once; so do CRASH_LOOP_DEATHS
 * deaths in a row each within STABLE_MS of its start, whatever the cause
 * (a crash loop, or a sandbox the kernel or the service manager refuses:
 * SIGSYS from systemd's SystemCallFilter=).
 */
static bool
proc_exited(struct master *m, struct proc *p, int status)
{
	struct slot	*s = &m->slots[p->slot];
	uint32_t	 k = p->slot;
	char		 how[96], why[320];
	pid_t		 pid = p->pid;

	/* Everything it wrote is in the pipe now. */
	if (logrelay_read(m, p, true))
		proc_logged(m, p);
	logrelay_close(m, p);
	p->pid = 0;
	exit_text(status, how, sizeof(how));

	if (p->retiring) {
		log_info("worker %u: retired process %ld %s", k, (long)pid,
		    how);
		return false;
	}
	s->cur = NULL;
	s->last_status = status;
	s->last_stalled_ms = p->stalled_ms;
	if (p->stalled_ms != 0)
		snprintf(how + strlen(how), sizeof(how) - strlen(how),
		    " after a stall");
	if (m->stopping) {
		s->state = TFTP_SHM_W_EXITED;
		publish_slot(m, k);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			log_warnx("worker %u (pid %ld) %s while draining", k,
			    (long)pid, how);
		return false;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == WORKER_EXIT_SETUP) {
		snprintf(why, sizeof(why), "(pid %ld) failed its setup (exit "
		    "%d)", (long)pid, WORKER_EXIT_SETUP);
		return give_up(m, k, why);
	}
	count_death(s);
	s->state = TFTP_SHM_W_EXITED;
	publish_slot(m, k);
	log_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0 ? LOG_NOTICE :
	    LOG_WARNING, "worker %u (pid %ld) %s", k, (long)pid, how);
	if (s->quick_deaths >= CRASH_LOOP_DEATHS) {
		snprintf(why, sizeof(why), "keeps dying: %u times in a row "
		    "within %u s of its start, last (pid %ld) %s%s",
		    s->quick_deaths, STABLE_MS / 1000, (long)pid, how,
		    WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS ?
		    " (a system call refused by a seccomp filter, such as "
		    "the service's SystemCallFilter=)" : "");
		return give_up(m, k, why);
	}
	schedule_respawn(m, k);
	return false;
}

/*
 * A starting worker counts as running once it has read its settings (its
 * slot shows a generation) or after a second.  Checked when it logs (it
 * says when it is ready) and once a second.
 */
void
proc_check_started(struct master *m, uint32_t k, uint64_t now)
{
	const struct tftp_shm_stats	*st = shm_master_stats(&m->shm, k);
	struct slot			*s = &m->slots[k];

	if (s->state != TFTP_SHM_W_STARTING || s->cur == NULL)
		return;
	if ((st != NULL &&
	    __atomic_load_n(&st->generation, __ATOMIC_RELAXED) != 0) ||
	    now - s->started_ms >= RUNNING_AFTER_MS) {
		s->state = TFTP_SHM_W_RUNNING;
		publish_slot(m, k);
	}
}

/*
 * A worker stores its heartbeat every second (worker.c); one silent for
 * worker_stall_timeout seconds (5 by default: a turn that takes a few
 * seconds on a loaded machine is not a stall) is stopped (SIGSTOP, a
 * debugger) or stuck, and the clients the kernel hashes to its sockets
 * get nothing.  Once a tick, for the current process of each slot that
 * is starting or running: its last heartbeat, or its start if it has
 * not stored one yet (the slot may still hold a predecessor's).  A
 * stalled one is SIGKILLed, not asked: a stopped process cannot act on
 * SIGTERM, and SIGCONT would only let it loose on requests its clients
 * have given up on.  What waits in its sockets stays for the
 * replacement, which proc_exited() starts on the usual restart path.
 */
void
proc_check_stalled(struct master *m, uint32_t k, uint64_t now)
{
	const struct tftp_shm_stats	*st = shm_master_stats(&m->shm, k);
	struct slot			*s = &m->slots[k];
	uint64_t			 last, silent;
	uint64_t			 limit = (uint64_t)
					    m->cfg.worker_stall_timeout * 1000;

	if (limit == 0 || m->stopping || s->cur == NULL ||
	    s->cur->stalled_ms != 0 || st == NULL ||
	    (s->state != TFTP_SHM_W_STARTING &&
	    s->state != TFTP_SHM_W_RUNNING))
		return;
	last = __atomic_load_n(&st->heartbeat_ms, __ATOMIC_RELAXED);
	if (last < s->started_ms || last > now)
		last = s->started_ms;
	if (now < last || (silent = now - last) < limit)
		return;
	if (kill(s->cur->pid, SIGKILL) < 0) {
		log_warnx("worker %u (pid %ld): stalled for %" PRIu64 " ms, "
		    "cannot kill it: %s", k, (long)s->cur->pid, silent,
		    strerror(errno));
		return;
	}
	s->cur->stalled_ms = silent > UINT32_MAX ? UINT32_MAX :
	    (uint32_t)silent;
	s->stalls++;
	publish_slot(m, k);
	log_msg(LOG_ERR, "worker %u (pid %ld) stalled: no heartbeat for %"
	    PRIu64 " ms (stall %" PRIu64 "): killed with SIGKILL, to be "
	    "replaced", k, (long)s->cur->pid, silent, s->stalls);
}

/* p wrote to its log: the current process of its slot may now be running. */
void
proc_logged(struct master *m, struct proc *p)
{
	if (!p->retiring && m->slots[p->slot].cur == p)
		proc_check_started(m, p->slot, time_now_ms());
}

void
proc_kill_all(struct master *m, int sig)
{
	size_t	 i;

	for (i = 0; i < MAX_PROCS; i++)
		if (m->procs[i].pid != 0)
			(void)kill(m->procs[i].pid, sig);
}

/*
 * Landlock's write right is fixed when a worker starts, so a change of
 * write.enable replaces every worker: the old one retires (SIGQUIT: it
 * stops taking requests and finishes its transfers) while its successor
 * starts at once on the same sockets.
 */
void
proc_roll(struct master *m)
{
	struct slot	*s;
	uint32_t	 k;

	log_info("write.enable is now %s: replacing the workers",
	    m->cfg.write_enable ? "yes" : "no");
	for (k = 0; k < m->nworkers; k++) {
		s = &m->slots[k];
		if (s->cur == NULL || s->state == TFTP_SHM_W_FAILED)
			continue;
		s->cur->retiring = true;
		(void)kill(s->cur->pid, SIGQUIT);
		s->cur = NULL;
		if (spawn(m, k) < 0) {
			s->state = TFTP_SHM_W_EXITED;
			s->started_ms = time_now_ms();
			count_death(s);
			schedule_respawn(m, k);
		}
	}
}

/* Startup: every worker; one that cannot be started stops them all. */
int
proc_start_all(struct master *m)
{
	uint32_t	 k;
	int		 r;

	for (k = 0; k < m->nworkers; k++) {
		if ((r = spawn(m, k)) < 0) {
			startup_err(m, "cannot start worker %u: %s", k,
			    strerror(-r));
			m->stopping = true;
			proc_kill_all(m, SIGKILL);
			return r;
		}
	}
	return 0;
}

/*
 * Stopping: no more restarts, and every worker is told to go: SIGTERM
 * drains (new requests refused, transfers finish), SIGQUIT retires
 * (requests left unread for whoever serves the socket next).
 */
void
proc_drain(struct master *m, int sig)
{
	uint32_t	 k;

	for (k = 0; k < m->nworkers; k++) {
		(void)loop_timer_set(&m->loop, &m->slots[k].respawn.lt, 0);
		if (m->slots[k].cur != NULL) {
			m->slots[k].state = TFTP_SHM_W_DRAINING;
			publish_slot(m, k);
		}
	}
	proc_kill_all(m, sig);
}

/* At exit: what is still there was SIGKILLed; collect it. */
void
proc_collect(struct master *m)
{
	size_t	 i;
	pid_t	 pid;
	int	 st;

	while (proc_live(m) > 0) {
		if ((pid = waitpid(-1, &st, 0)) < 0)
			break;
		for (i = 0; i < MAX_PROCS; i++)
			if (m->procs[i].pid == pid) {
				logrelay_close(m, &m->procs[i]);
				m->procs[i].pid = 0;
			}
	}
}
