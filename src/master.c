/*
 * The master (design.md section 2; the process contract of issue 3).  It
 * owns the startup sequence - sockets (bound, or inherited from inetd or
 * systemd), root directory, runtime directory, daemonizing, pid file,
 * privilege drop, shared memory, control socket - and then the
 * supervision loop: starting workers by fork+exec with their descriptors
 * at fixed numbers, reaping and respawning them with backoff, relaying
 * their log pipes, answering the control socket, reloading on SIGHUP,
 * draining on SIGTERM.  It never touches TFTP traffic.
 *
 * What the master does after its drop is a short, fixed list (habit 2):
 *	SIGCHLD		reap, respawn or give up on a slot
 *	SIGHUP		reload (also TFTP_CTL_RELOAD)
 *	SIGTERM/INT	drain, then exit
 *	TFTP_CTL_SET	change one live key
 *	log pipe	relay a worker's line
 *	tick		worker states, inetd idle exit
 * Anything a client sends that is not one well-formed request is refused.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <sched.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <dirent.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "loop.h"
#include "master.h"
#include "master_int.h"
#include "notify.h"
#include "privs.h"
#include "shm.h"
#include "sock.h"
#include "tftp_ctl.h"
#include "tftp_shm.h"
#include "util.h"
#include "worker.h"

#define CLIENT_TIMEOUT_MS	1000	/* to send the one request */
#define TICK_MS			1000
#define DRAIN_GRACE_MS		5000	/* beyond drain_timeout */
#define MAX_EVENTS		32

static struct master	 M;
static volatile sig_atomic_t got_chld;

/* Scratch configurations, too big for the stack to be comfortable. */
static struct tftpd_config scratch_new, scratch_out;

static void	 on_sigchld(int sig);
static int	 ctl_open(struct master *m);
static void	 ctl_close(struct master *m);
static int	 setup_loop(struct master *m);
static void	 on_tick(struct master *m);
static void	 publish(struct master *m, const struct tftpd_config *c);
static int	 reload(struct master *m, char *msg, size_t msglen);
static int	 ctl_reload(struct master *m, const char *arg, uid_t uid,
		    char *msg, size_t msglen);
static int	 set_key(struct master *m, const char *arg, uid_t uid,
		    char *msg, size_t msglen);
static void	 ctl_accept(struct master *m);
static void	 client_close(struct master *m, struct client *c);
static void	 client_request(struct master *m, struct client *c);
static void	 on_timer(struct master *m, struct mtimer *t);
static void	 cleanup(struct master *m);

/*
 * What a control client may ask (include/tftp_ctl.h); anything else is
 * refused.  Both need root or the service user (the socket's mode and
 * SO_PEERCRED).
 */
struct ctl_cmd {
	uint32_t	 cmd;
	int		(*fn)(struct master *, const char *, uid_t, char *,
			    size_t);
};

static const struct ctl_cmd ctl_cmds[] = {
	{ TFTP_CTL_RELOAD,	ctl_reload },
	{ TFTP_CTL_SET,		set_key },
};
#define NCTL_CMDS	(sizeof(ctl_cmds) / sizeof(ctl_cmds[0]))

void
startup_err(struct master *m, const char *fmt, ...)
{
	char	 buf[CONFIG_ERR_MAX + PATH_MAX];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	/* The operator's terminal gets it like a usage error; the log
	 * too when it is not that terminal. */
	if (!m->daemonized)
		fprintf(stderr, "%s: %s\n", PROGNAME, buf);
	if (m->daemonized || m->cfg.log != LOG_TO_STDERR)
		log_msg(LOG_ERR, "%s", buf);
}

static void
on_sigchld(int sig)
{
	got_chld = 1;
}

/*
 * The control socket, mode 0600: only its owner (the service user) and
 * root can connect.  A socket file nobody listens on is a leftover of a
 * master that was killed and is replaced; one that answers is another
 * live master of the same instance.
 */
static int
ctl_open(struct master *m)
{
	struct sockaddr_un	 sun;
	struct stat		 st;
	mode_t			 old;
	int			 fd, probe, r, tries;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, m->ctlpath, strlen(m->ctlpath) + 1);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0);
	if (fd < 0) {
		r = -errno;
		goto fail;
	}
	for (tries = 0; tries < 2; tries++) {
		old = umask(0177);
		r = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
		umask(old);
		if (r == 0)
			break;
		r = -errno;
		if (r != -EADDRINUSE || tries > 0)
			goto fail_close;
		if (lstat(m->ctlpath, &st) < 0 || !S_ISSOCK(st.st_mode))
			goto fail_close;
		probe = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC |
		    SOCK_NONBLOCK, 0);
		if (probe < 0) {
			r = -errno;
			goto fail_close;
		}
		if (connect(probe, (struct sockaddr *)&sun, sizeof(sun)) == 0 ||
		    errno == EAGAIN) {
			close(probe);
			close(fd);
			startup_err(m, "instance %s is already running "
			    "(%s answers)", m->instance, m->ctlpath);
			return -EADDRINUSE;
		}
		close(probe);
		if (unlink(m->ctlpath) < 0) {
			r = -errno;
			goto fail_close;
		}
	}
	if (chmod(m->ctlpath, 0600) < 0 || listen(fd, MAX_CLIENTS) < 0) {
		r = -errno;
		(void)unlink(m->ctlpath);
		goto fail_close;
	}
	m->ctlfd = fd;
	return 0;

fail_close:
	close(fd);
fail:
	startup_err(m, "control socket %s: %s", m->ctlpath, strerror(-r));
	return r;
}

static void
ctl_close(struct master *m)
{
	size_t	 i;

	for (i = 0; i < MAX_CLIENTS; i++)
		if (m->clients[i].fd >= 0)
			client_close(m, &m->clients[i]);
	if (m->ctlfd >= 0) {
		if (m->loop_ok)
			(void)loop_del(&m->loop, m->ctlfd);
		close(m->ctlfd);
		m->ctlfd = -1;
		if (unlink(m->ctlpath) < 0 && errno != ENOENT)
			log_warn("unlink %s", m->ctlpath);
	}
}

/*
 * loop_init() blocks SIGTERM, SIGINT and SIGHUP outside the sleep;
 * SIGCHLD joins them here with its own flag.
 */
static int
setup_loop(struct master *m)
{
	struct sigaction	 sa;
	sigset_t		 set;
	size_t			 i;
	int			 r;

	if ((r = loop_init(&m->loop, 2 + TFTP_SHM_MAX_WORKERS +
	    MAX_CLIENTS)) < 0)
		return r;
	m->loop_ok = true;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigchld;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
	if (sigaction(SIGCHLD, &sa, NULL) < 0)
		return -errno;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -errno;
	sigdelset(&m->loop.waitmask, SIGCHLD);

	m->tick.kind = T_TICK;
	m->tick.lt.arg = &m->tick;
	m->drain.kind = T_DRAIN;
	m->drain.lt.arg = &m->drain;
	for (i = 0; i < TFTP_SHM_MAX_WORKERS; i++) {
		m->slots[i].respawn.kind = T_RESPAWN;
		m->slots[i].respawn.idx = (uint32_t)i;
		m->slots[i].respawn.lt.arg = &m->slots[i].respawn;
	}
	for (i = 0; i < MAX_CLIENTS; i++) {
		m->clients[i].timer.kind = T_CLIENT;
		m->clients[i].timer.idx = (uint32_t)i;
		m->clients[i].timer.lt.arg = &m->clients[i].timer;
	}
	if ((r = loop_add(&m->loop, m->ctlfd, EPOLLIN, EV_CTL)) < 0)
		return r;
	return loop_timer_set(&m->loop, &m->tick.lt, time_now_ms() +
	    TICK_MS);
}

/* Once a second: worker states, and in inetd mode the idle exit. */
static void
on_tick(struct master *m)
{
	const struct tftp_shm_stats	*st;
	uint64_t			 now = time_now_ms(), active = 0;
	uint64_t			 requests = 0;
	uint32_t			 k;

	for (k = 0; k < m->nworkers; k++) {
		if ((st = shm_master_stats(&m->shm, k)) != NULL) {
			active += __atomic_load_n(&st->active_transfers,
			    __ATOMIC_RELAXED);
			requests += __atomic_load_n(
			    &st->counters[TFTP_SHM_C_RRQ], __ATOMIC_RELAXED) +
			    __atomic_load_n(&st->counters[TFTP_SHM_C_WRQ],
			    __ATOMIC_RELAXED);
		}
		proc_check_started(m, k, now);
	}
	if (m->mode == MODE_INETD && m->cfg.idle_timeout != 0 &&
	    !m->stopping) {
		if (active != 0 || requests != m->last_requests) {
			m->last_requests = requests;
			m->idle_since_ms = now;
		} else if (now - m->idle_since_ms >=
		    (uint64_t)m->cfg.idle_timeout * 1000) {
			log_info("idle for %u s: exiting",
			    m->cfg.idle_timeout);
			/* Retire, not drain: a request arriving now stays
			 * queued for the server inetd starts next. */
			master_stop(m, NULL, SIGQUIT);
		}
	}
	(void)loop_timer_set(&m->loop, &m->tick.lt, now + TICK_MS);
}

/*
 * SIGTERM/SIGINT (or nothing left to run): no more commands, every
 * worker drains (sig SIGTERM: new requests refused, transfers finish; or
 * SIGQUIT: requests left unread), and what is still there after
 * drain_timeout + 5 s is killed.  A second signal kills at once.
 */
void
master_stop(struct master *m, const char *why, int sig)
{
	if (m->stopping) {
		if (why != NULL && !m->killed) {
			log_info("%s again: killing the workers", why);
			proc_kill_all(m, SIGKILL);
			m->killed = true;
		}
		return;
	}
	m->stopping = true;
	notify_send(m->notify_fd, "STOPPING=1");
	ctl_close(m);
	proc_drain(m, sig);
	if (proc_live(m) > 0)
		log_info("%s%sdraining %zu worker process%s (up to %u s)",
		    why != NULL ? why : "", why != NULL ? ": " : "",
		    proc_live(m), proc_live(m) == 1 ? "" : "es",
		    m->cfg.drain_timeout);
	(void)loop_timer_set(&m->loop, &m->drain.lt, time_now_ms() +
	    (uint64_t)m->cfg.drain_timeout * 1000 + DRAIN_GRACE_MS);
}

static void
publish(struct master *m, const struct tftpd_config *c)
{
	bool	 roll = c->write_enable != m->cfg.write_enable;

	m->cfg = *c;
	(void)shm_publish(&m->shm, &m->cfg);
	log_setlevel(m->cfg.log_level);
	if (roll)
		proc_roll(m);
}

/*
 * SIGHUP and TFTP_CTL_RELOAD: the file and the saved command line again.
 * A bad file changes nothing; a changed key that is not live keeps its
 * value and is named; the live ones are published as a new generation.
 */
static int
reload(struct master *m, char *msg, size_t msglen)
{
	struct tftpd_config	*nc = &scratch_new, *out = &scratch_out;
	const char		*secs[64], *keys[64];
	char			 err[CONFIG_ERR_MAX];
	char			 restart[512], changed[512];
	size_t			 n, i, nlive = 0, off_r = 0, off_c = 0;
	uint64_t		 gen;
	int			 r;

	notify_send(m->notify_fd, "RELOADING=1\nMONOTONIC_USEC=%" PRIu64,
	    time_now_ms() * 1000);
	if ((r = config_reload(m->argc, m->argv, m->config_path, nc, err,
	    sizeof(err))) < 0) {
		log_warnx("reload: %s; the current settings stay", err);
		snprintf(msg, msglen, "%s; nothing changed", err);
		goto out;
	}
	listen_mode_adjust(m, nc);
	*out = m->cfg;
	restart[0] = changed[0] = '\0';
	n = config_diff(&m->cfg, nc, secs, keys, 64);
	for (i = 0; i < n && i < 64; i++) {
		if (config_key_live(secs[i], keys[i])) {
			(void)config_copy_key(out, nc, secs[i], keys[i]);
			nlive++;
			str_append(changed, sizeof(changed), &off_c, "%s%s.%s",
			    off_c > 0 ? ", " : "", secs[i], keys[i]);
			continue;
		}
		log_warnx("reload: %s.%s needs a restart; it keeps its "
		    "current value", secs[i], keys[i]);
		str_append(restart, sizeof(restart), &off_r,
		    "; %s.%s needs a restart", secs[i], keys[i]);
	}
	if ((r = config_validate(out, err, sizeof(err))) < 0) {
		log_warnx("reload: %s; the current settings stay", err);
		snprintf(msg, msglen, "%s; nothing changed", err);
		goto out;
	}
	if (nlive > 0)
		publish(m, out);
	gen = shm_generation(m->shm.ctl);
	if (nlive > 0)
		log_info("reload: %s changed (generation %" PRIu64 ")",
		    changed, gen);
	else
		log_info("reload: no live setting changed (generation %"
		    PRIu64 ")", gen);
	snprintf(msg, msglen, "reloaded %.256s: %zu setting%s changed "
	    "(generation %" PRIu64 ")%s", m->config_path, nlive,
	    nlive == 1 ? "" : "s", gen, restart);
	r = 0;
out:
	notify_send(m->notify_fd, "READY=1");
	return r;
}

static int
ctl_reload(struct master *m, const char *arg, uid_t uid, char *msg,
    size_t msglen)
{
	log_info("reload requested by uid %lu", (unsigned long)uid);
	return reload(m, msg, msglen);
}

/* TFTP_CTL_SET "key=value": one live key, validated like the file. */
static int
set_key(struct master *m, const char *arg, uid_t uid, char *msg,
    size_t msglen)
{
	struct tftpd_config	*c = &scratch_out;
	const char		*section, *key, *value;
	char			 name[128], val[TFTP_CTL_ARG_MAX];
	char			 err[CONFIG_ERR_MAX], shown[512];
	size_t			 n;
	int			 r;

	arg += strspn(arg, " \t");
	if ((value = strchr(arg, '=')) == NULL) {
		snprintf(msg, msglen, "expected KEY=VALUE");
		return -EINVAL;
	}
	n = (size_t)(value - arg);
	while (n > 0 && (arg[n - 1] == ' ' || arg[n - 1] == '\t'))
		n--;
	if (n == 0 || n >= sizeof(name)) {
		snprintf(msg, msglen, "expected KEY=VALUE");
		return -EINVAL;
	}
	memcpy(name, arg, n);
	name[n] = '\0';
	value++;
	value += strspn(value, " \t");
	n = strlen(value);
	while (n > 0 && (value[n - 1] == ' ' || value[n - 1] == '\t'))
		n--;
	if (n >= sizeof(val)) {
		snprintf(msg, msglen, "value too long");
		return -EINVAL;
	}
	memcpy(val, value, n);
	val[n] = '\0';
	if ((r = config_find_key(name, &section, &key)) < 0) {
		str_vis(shown, sizeof(shown), name);
		snprintf(msg, msglen, r == -ENOTUNIQ ? "%s is in several "
		    "sections: say which, as section.key" : "unknown key %s",
		    shown);
		return r;
	}
	if (!config_key_live(section, key)) {
		snprintf(msg, msglen, "%s.%s cannot change while the server "
		    "runs: edit the configuration file and restart", section,
		    key);
		return -EOPNOTSUPP;
	}
	*c = m->cfg;
	if ((r = config_set(c, section, key, val, err, sizeof(err))) < 0 ||
	    (r = config_validate(c, err, sizeof(err))) < 0) {
		snprintf(msg, msglen, "%s", err);
		return r;
	}
	if (memcmp(c, &m->cfg, sizeof(*c)) != 0) {
		publish(m, c);
		log_info("set %s.%s by uid %lu (generation %" PRIu64 ")",
		    section, key, (unsigned long)uid,
		    shm_generation(m->shm.ctl));
	}
	(void)config_key_line(&m->cfg, section, key, shown, sizeof(shown));
	snprintf(msg, msglen, "%s (generation %" PRIu64 ")", shown,
	    shm_generation(m->shm.ctl));
	return 0;
}

static void
ctl_accept(struct master *m)
{
	struct ucred	 cred;
	socklen_t	 len;
	struct client	*c;
	size_t		 i;
	int		 fd;

	for (;;) {
		fd = accept4(m->ctlfd, NULL, NULL, SOCK_CLOEXEC |
		    SOCK_NONBLOCK);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR &&
			    errno != ECONNABORTED)
				log_warn("control socket: accept");
			return;
		}
		c = NULL;
		for (i = 0; i < MAX_CLIENTS; i++)
			if (m->clients[i].fd < 0) {
				c = &m->clients[i];
				break;
			}
		len = sizeof(cred);
		if (c == NULL || getsockopt(fd, SOL_SOCKET, SO_PEERCRED,
		    &cred, &len) < 0 || loop_add(&m->loop, fd, EPOLLIN,
		    EV_CLIENT | i) < 0) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->uid = cred.uid;
		(void)loop_timer_set(&m->loop, &c->timer.lt, time_now_ms() +
		    CLIENT_TIMEOUT_MS);
	}
}

static void
client_close(struct master *m, struct client *c)
{
	(void)loop_timer_set(&m->loop, &c->timer.lt, 0);
	(void)loop_del(&m->loop, c->fd);
	close(c->fd);
	c->fd = -1;
}

/*
 * Exactly one request of exactly the right size, from root or the
 * service user; one reply; the connection is closed either way.
 */
static void
client_request(struct master *m, struct client *c)
{
	union {
		struct tftp_ctl_request	 req;
		char			 raw[sizeof(struct tftp_ctl_request) +
					    1];
	} u;
	struct tftp_ctl_reply	 rep;
	const struct ctl_cmd	*cmd;
	ssize_t			 n;

	n = recv(c->fd, &u, sizeof(u), MSG_DONTWAIT | MSG_TRUNC);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		client_close(m, c);
		return;
	}
	memset(&rep, 0, sizeof(rep));
	rep.magic = TFTP_CTL_MAGIC;
	rep.version = TFTP_CTL_VERSION;
	if (c->uid != 0 && c->uid != getuid()) {
		rep.status = -EPERM;
		snprintf(rep.msg, sizeof(rep.msg), "uid %lu may not control "
		    "this server", (unsigned long)c->uid);
	} else if ((size_t)n != sizeof(u.req) ||
	    u.req.magic != TFTP_CTL_MAGIC) {
		rep.status = -EINVAL;
		snprintf(rep.msg, sizeof(rep.msg), "malformed request");
	} else if (u.req.version != TFTP_CTL_VERSION) {
		rep.status = -EPROTONOSUPPORT;
		snprintf(rep.msg, sizeof(rep.msg), "request version %u, this "
		    "server speaks %u", u.req.version, TFTP_CTL_VERSION);
	} else if (memchr(u.req.arg, '\0', sizeof(u.req.arg)) == NULL) {
		rep.status = -EINVAL;
		snprintf(rep.msg, sizeof(rep.msg), "argument not terminated");
	} else {
		for (cmd = ctl_cmds; cmd < ctl_cmds + NCTL_CMDS; cmd++)
			if (cmd->cmd == u.req.cmd)
				break;
		if (cmd == ctl_cmds + NCTL_CMDS) {
			rep.status = -EINVAL;
			snprintf(rep.msg, sizeof(rep.msg), "unknown command "
			    "%u", u.req.cmd);
		} else {
			rep.status = cmd->fn(m, u.req.arg, c->uid, rep.msg,
			    sizeof(rep.msg));
		}
	}
	rep.generation = shm_generation(m->shm.ctl);
	if (send(c->fd, &rep, sizeof(rep), MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		log_debug("control reply: %s", strerror(errno));
	client_close(m, c);
}

static void
on_timer(struct master *m, struct mtimer *t)
{
	switch (t->kind) {
	case T_TICK:
		on_tick(m);
		break;
	case T_RESPAWN:
		proc_respawn(m, t->idx);
		break;
	case T_CLIENT:
		/* Connected and said nothing: dropped. */
		if (m->clients[t->idx].fd >= 0)
			client_close(m, &m->clients[t->idx]);
		break;
	case T_DRAIN:
		if (proc_live(m) > 0 && !m->killed) {
			log_warnx("drain timeout: killing %zu worker "
			    "process%s", proc_live(m),
			    proc_live(m) == 1 ? "" : "es");
			proc_kill_all(m, SIGKILL);
			m->killed = true;
		}
		break;
	}
}

static void
cleanup(struct master *m)
{
	size_t	 i;

	ctl_close(m);
	for (i = 0; i < MAX_PROCS; i++)
		if (m->procs[i].logfd >= 0)
			logrelay_close(m, &m->procs[i]);
	runtime_remove(m);
	for (i = 0; m->fds != NULL && i < (size_t)m->nsets * m->naddr; i++)
		if (m->fds[i] >= 0)
			close(m->fds[i]);
	free(m->fds);
	m->fds = NULL;
	if (m->rootfd >= 0)
		close(m->rootfd);
	if (m->devnull >= 0)
		close(m->devnull);
	m->rootfd = m->devnull = -1;
	if (m->loop_ok) {
		loop_free(&m->loop);
		m->loop_ok = false;
	}
}

int
master_main(int argc, char *argv[], const struct tftpd_config *cfg,
    const struct run_opts *run)
{
	struct master		*m = &M;
	struct epoll_event	 ev[MAX_EVENTS];
	struct loop_timer	*lt;
	char			 msg[TFTP_CTL_MSG_MAX];
	uint64_t		 d;
	size_t			 i;
	uint32_t		 nfds = 0;
	int			 n, sig, r;

	memset(m, 0, sizeof(*m));
	m->argc = argc;
	m->argv = argv;
	m->cfg = *cfg;
	m->rootfd = m->devnull = m->ctlfd = m->ready_fd = m->notify_fd = -1;
	for (i = 0; i < MAX_PROCS; i++)
		m->procs[i].logfd = -1;
	for (i = 0; i < MAX_CLIENTS; i++)
		m->clients[i].fd = -1;
	m->status = 1;

	listen_detect_mode(m, run, &nfds);
	/*
	 * Nothing inherited stays open but stdio and the sockets handed
	 * over: a daemon must not hold its starter's pipes.
	 */
	if (close_range(3 + (m->mode == MODE_SYSTEMD &&
	    nfds <= SOCK_MAX_LISTEN ? nfds : 0), ~0U, 0) < 0)
		log_debug("close_range: %s", strerror(errno));
	if ((m->devnull = open("/dev/null", O_RDWR | O_CLOEXEC | O_NOCTTY)) <
	    0) {
		startup_err(m, "/dev/null: %s", strerror(errno));
		return 1;
	}
	log_init(PROGNAME, m->cfg.log, m->cfg.log_level);
	m->notify_fd = notify_open();
	if (listen_take_sockets(m, nfds) < 0)
		goto out;
	if (runtime_paths(m, run) < 0)
		goto out;
	m->rootfd = open(m->cfg.root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (m->rootfd < 0) {
		startup_err(m, "cannot open root %s: %s", m->cfg.root,
		    strerror(errno));
		goto out;
	}
	if (runtime_dir_make(m) < 0 || runtime_daemonize(m) < 0 ||
	    runtime_pidfile(m) < 0 || runtime_dir_give(m) < 0)
		goto out;
	if (privs_drop(m->cfg.user) < 0) {
		startup_err(m, "cannot drop privileges to user %s",
		    m->cfg.user);
		goto out;
	}
	if (runtime_shm_create(m) < 0 || ctl_open(m) < 0)
		goto out;
	if ((r = setup_loop(m)) < 0) {
		startup_err(m, "event loop: %s", strerror(-r));
		goto out;
	}
	if (proc_start_all(m) < 0)
		goto out_wait;
	m->idle_since_ms = time_now_ms();
	runtime_ready(m);
	m->status = 0;

	while (!m->stopping || proc_live(m) > 0) {
		n = loop_wait(&m->loop, ev, MAX_EVENTS, time_now_ms());
		if (n < 0) {
			log_warnx("epoll_wait: %s", strerror(-n));
			m->status = 1;
			proc_kill_all(m, SIGKILL);
			break;
		}
		while ((sig = loop_signal()) != 0) {
			if (sig == SIGHUP) {
				if (m->stopping)
					continue;
				log_info("SIGHUP: reloading %s",
				    m->config_path);
				(void)reload(m, msg, sizeof(msg));
				continue;
			}
			master_stop(m, sig == SIGTERM ? "SIGTERM" : "SIGINT",
			    SIGTERM);
		}
		if (got_chld) {
			got_chld = 0;
			proc_reap(m);
		}
		for (i = 0; i < (size_t)n; i++) {
			d = ev[i].data.u64;
			if (EV_KIND(d) == EV_CTL && m->ctlfd >= 0)
				ctl_accept(m);
			else if (EV_KIND(d) == EV_CLIENT &&
			    EV_INDEX(d) < MAX_CLIENTS &&
			    m->clients[EV_INDEX(d)].fd >= 0)
				client_request(m, &m->clients[EV_INDEX(d)]);
			else if (EV_KIND(d) == EV_LOG &&
			    EV_INDEX(d) < MAX_PROCS)
				logrelay_read(m, &m->procs[EV_INDEX(d)], false);
		}
		while ((lt = loop_timer_expired(&m->loop, time_now_ms())) !=
		    NULL)
			on_timer(m, lt->arg);
	}
out_wait:
	proc_collect(m);
	if (m->status == 0)
		log_info("stopped");
out:
	cleanup(m);
	if (m->ready_fd >= 0)
		close(m->ready_fd);
	if (m->notify_fd >= 0)
		close(m->notify_fd);
	return m->status;
}
