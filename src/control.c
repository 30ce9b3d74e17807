/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * The control socket (include/tftp_ctl.h): RUNTIME_DIR/INSTANCE.ctl, on
 * which tftpctl asks for a reload or a new value of one key.  Each
 * connection may send one well-formed request from root or the service
 * user and gets one reply; anything else is refused.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "loop.h"
#include "master_int.h"
#include "shm.h"
#include "tftp_ctl.h"
#include "util.h"

#define CLIENT_TIMEOUT_MS	1000	/* to send the one request */

static int	 trimmed(char *dst, size_t dstlen, const char *s, size_t n);
static int	 ctl_reload(struct master *m, const char *arg, uid_t uid,
		    char *msg, size_t msglen);
static int	 ctl_set(struct master *m, const char *arg, uid_t uid,
		    char *msg, size_t msglen);
static int	 ctl_reset_stats(struct master *m, const char *arg, uid_t uid,
		    char *msg, size_t msglen);
static void	 client_close(struct master *m, struct client *c);

/*
 * What a control client may ask; anything else is refused.  All need
 * root or the service user (the socket's mode and SO_PEERCRED).
 */
struct ctl_cmd {
	uint32_t	 cmd;
	int		(*fn)(struct master *, const char *, uid_t, char *,
			    size_t);
};

static const struct ctl_cmd ctl_cmds[] = {
	{ TFTP_CTL_RELOAD,	ctl_reload },
	{ TFTP_CTL_SET,		ctl_set },
	{ TFTP_CTL_RESET_STATS,	ctl_reset_stats },
};
#define NCTL_CMDS	(sizeof(ctl_cmds) / sizeof(ctl_cmds[0]))

/* s[0..n) without its surrounding blanks into dst: its length, or
 * -ENAMETOOLONG when it does not fit. */
static int
trimmed(char *dst, size_t dstlen, const char *s, size_t n)
{
	while (n > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		n--;
	}
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (n >= dstlen)
		return -ENAMETOOLONG;
	memcpy(dst, s, n);
	dst[n] = '\0';
	return (int)n;
}

/*
 * The control socket, made before the privilege drop: mode 0600, or
 * started as root 0660 with the service user as owner and root's group,
 * so only the service user and root can connect, and root even without
 * CAP_DAC_OVERRIDE (a unit's CapabilityBoundingSet= leaves it out, and
 * its ExecReload= runs as root within that set).  Where AF_UNIX is
 * refused there is none (a warning), and the master serves without it.
 * A socket file nobody listens on is a leftover of a master that was
 * killed and is replaced; one that answers is another live master of the
 * same instance.
 */
int
ctl_open(struct master *m)
{
	struct sockaddr_un	 sun;
	struct stat		 st;
	mode_t			 old, mode;
	bool			 root = geteuid() == 0;
	int			 fd, probe, r, tries;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, m->ctlpath, strlen(m->ctlpath) + 1);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0);
	if (fd < 0 && (errno == EAFNOSUPPORT || errno == EACCES ||
	    errno == EPERM)) {
		/* A sandbox without AF_UNIX (RestrictAddressFamilies=): serve
		 * all the same, without the commands. */
		log_warnx("no control socket (AF_UNIX: %s): tftpctl reload and "
		    "set are unavailable; SIGHUP still reloads, and tftpctl "
		    "still shows the state", strerror(errno));
		return 0;
	}
	if (fd < 0) {
		r = -errno;
		goto fail;
	}
	mode = root ? 0660 : 0600;
	for (tries = 0; tries < 2; tries++) {
		old = umask(0777 & ~mode);
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
	if ((root && lchown(m->ctlpath, m->uid, 0) < 0) ||
	    chmod(m->ctlpath, mode) < 0 || listen(fd, MAX_CLIENTS) < 0) {
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

void
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

static int
ctl_reload(struct master *m, const char *arg, uid_t uid, char *msg,
    size_t msglen)
{
	log_info("reload requested by uid %lu", (unsigned long)uid);
	return reload_config(m, msg, msglen);
}

/* TFTP_CTL_SET "key=value": one live key, validated like the file. */
static int
ctl_set(struct master *m, const char *arg, uid_t uid, char *msg,
    size_t msglen)
{
	char		 name[128], value[TFTP_CTL_ARG_MAX];
	const char	*eq;

	if ((eq = strchr(arg, '=')) == NULL ||
	    trimmed(name, sizeof(name), arg, (size_t)(eq - arg)) <= 0) {
		snprintf(msg, msglen, "expected KEY=VALUE");
		return -EINVAL;
	}
	if (trimmed(value, sizeof(value), eq + 1, strlen(eq + 1)) < 0) {
		snprintf(msg, msglen, "value too long");
		return -EINVAL;
	}
	return reload_set_key(m, name, value, uid, msg, msglen);
}

/*
 * TFTP_CTL_RESET_STATS: the counts as they are now become the baseline
 * tftpctl subtracts.  Only the master writes it: the workers' counters
 * go on growing, so Prometheus never sees one go backwards.
 */
static int
ctl_reset_stats(struct master *m, const char *arg, uid_t uid, char *msg,
    size_t msglen)
{
	if (arg[0] != '\0') {
		snprintf(msg, msglen, "reset takes no argument");
		return -EINVAL;
	}
	shm_stats_reset(&m->shm, (int64_t)time(NULL));
	log_info("statistics reset by uid %lu", (unsigned long)uid);
	snprintf(msg, msglen, "statistics reset (%" PRIu64 " resets)",
	    m->shm.ctl->resets.resets);
	return 0;
}

/* New connections, each with a second to send its request. */
void
ctl_accept(struct master *m)
{
	struct ucred	 cred;
	socklen_t	 len;
	struct client	*c;
	size_t		 i;
	int		 fd;

	if (m->ctlfd < 0)
		return;
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
void
ctl_client_read(struct master *m, uint32_t idx)
{
	union {
		struct tftp_ctl_request	 req;
		char			 raw[sizeof(struct tftp_ctl_request) +
					    1];
	} u;
	struct tftp_ctl_reply	 rep;
	const struct ctl_cmd	*cmd;
	struct client		*c;
	ssize_t			 n;

	if (idx >= MAX_CLIENTS || (c = &m->clients[idx])->fd < 0)
		return;
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

/* Connected and said nothing: dropped. */
void
ctl_client_timeout(struct master *m, uint32_t idx)
{
	if (idx < MAX_CLIENTS && m->clients[idx].fd >= 0)
		client_close(m, &m->clients[idx]);
}
