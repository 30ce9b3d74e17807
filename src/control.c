/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * The control socket (include/tftp_ctl.h): RUNTIME_DIR/INSTANCE.ctl, on
 * which tftpctl asks for a reload or a new value of one key.  Each
 * connection may send one well-formed request from the server's owners
 * (root; the uid that started a master that is not root; members of
 * [server] admin_group) and gets one reply; anything else is refused.
 * Never the service user as such: it is what a compromised worker, or
 * any other process of a shared uid (nobody), runs as.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
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
#include "privs.h"
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
static bool	 peer_in_group(int fd, gid_t primary, gid_t gid);
static bool	 peer_may_control(const struct master *m, int fd,
		    const struct ucred *cred);

/*
 * What a control client may ask; anything else is refused.  Every
 * command changes something, so each needs an owner (the socket's mode,
 * and SO_PEERCRED / SO_PEERGROUPS: peer_may_control).
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
 * The control socket, made before the privilege drop: owned by whoever
 * started the master (root, or the user), never given to the service
 * user; mode 0600, or 0660 with admin_group as its group, so the owner
 * connects without CAP_DAC_OVERRIDE (a unit's CapabilityBoundingSet=
 * leaves it out, and its ExecReload= runs as root within that set).
 * The peer's credentials are checked again on every connection.  Where
 * AF_UNIX is refused there is none (a warning), and the master serves
 * without it.
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
	if (m->cfg.admin_group[0] != '\0') {
		if ((r = privs_group(m->cfg.admin_group, &m->admin_gid)) < 0) {
			close(fd);
			startup_err(m, "admin_group %s: %s", m->cfg.admin_group,
			    r == -ENOENT ? "no such group" : strerror(-r));
			return r;
		}
		m->admin_group = true;
	}
	mode = m->admin_group ? 0660 : 0600;
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
	if ((m->admin_group && lchown(m->ctlpath, (uid_t)-1,
	    m->admin_gid) < 0) ||
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
		/* Root's, in root's directory: the remover's to remove. */
		if (unlink(m->ctlpath) < 0 && errno != ENOENT &&
		    (errno != EACCES || m->remover_go < 0))
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

/*
 * Whether the peer is a member of gid: its primary group, or one of its
 * supplementary groups (SO_PEERGROUPS, Linux 4.13; bounded).
 */
static bool
peer_in_group(int fd, gid_t primary, gid_t gid)
{
	gid_t		 small[64], *g = small;
	socklen_t	 len = sizeof(small);
	bool		 in = false;
	size_t		 i;

	if (primary == gid)
		return true;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, g, &len) < 0) {
		if (errno != ERANGE || len > 65536 * sizeof(gid_t) ||
		    (g = malloc(len)) == NULL)
			return false;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, g, &len) < 0)
			len = 0;
	}
	for (i = 0; i < len / sizeof(gid_t); i++)
		if (g[i] == gid)
			in = true;
	if (g != small)
		free(g);
	return in;
}

/*
 * The owners: root; the uid that started the master when that was not
 * root (an unprivileged instance, or a unit's User=); a member of
 * admin_group.  Not the service user a root master dropped to.
 */
static bool
peer_may_control(const struct master *m, int fd, const struct ucred *cred)
{
	if (cred->uid == 0 || (m->owner_uid != 0 &&
	    cred->uid == m->owner_uid))
		return true;
	return m->admin_group && peer_in_group(fd, cred->gid, m->admin_gid);
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
		c->may_control = peer_may_control(m, fd, &cred);
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
 * Exactly one request of exactly the right size, from an owner
 * (peer_may_control); one reply; the connection is closed either way.
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
	if (!c->may_control) {
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
