/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * Finding instances and reading their segments for tftpctl: discovery
 * in the runtime directory, the liveness check on the master's pid, and
 * the copies ("snapshots") the commands print.  See ctl_instance.h.
 */
#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "ctl_instance.h"
#include "metrics.h"
#include "shm.h"
#include "tftp_shm.h"

static int64_t	 alive_pid(const struct shm_view *v);
static int	 inst_cmp(const void *a, const void *b);
static int64_t	 lds64(const int64_t *p);
static const char *owner_name(uid_t uid, char *buf, size_t len);
static bool	 owner_refused(const struct shm_view *v, char *why,
		    size_t len);

/* Set by inst_require_owned(): segments of other users are refused. */
static bool	 own_only;

/* "name (uid N)", or "uid N" for a uid without a name. */
static const char *
owner_name(uid_t uid, char *buf, size_t len)
{
	const struct passwd *pw = getpwuid(uid);

	if (pw != NULL && pw->pw_name != NULL)
		snprintf(buf, len, "%s (uid %lu)", pw->pw_name,
		    (unsigned long)uid);
	else
		snprintf(buf, len, "uid %lu", (unsigned long)uid);
	return buf;
}

/*
 * Under own_only, a segment of someone else than this user or root: a
 * planted instance, whose numbers (and control socket) are not the
 * server's.  true with the reason in why.
 */
static bool
owner_refused(const struct shm_view *v, char *why, size_t len)
{
	char	 who[96];

	if (!own_only || v->owner == 0 || v->owner == geteuid())
		return false;
	snprintf(why, len, "owned by %s, not by you or root: not trusted",
	    owner_name(v->owner, who, sizeof(who)));
	return true;
}

void
inst_require_owned(const char *rundir)
{
	struct stat	 st;
	char		 who[96];

	own_only = true;
	if (lstat(rundir, &st) < 0) {
		if (errno == ENOENT)
			return;
		err(1, "%s", rundir);
	}
	if (!S_ISDIR(st.st_mode))
		errx(1, "runtime directory %s is not a directory: refusing it "
		    "(remove it, or name a directory with -d)", rundir);
	if (st.st_uid != 0 && st.st_uid != geteuid())
		errx(1, "runtime directory %s is owned by %s, not by you or "
		    "root: refusing it (another user may have made it to "
		    "show you an instance of theirs; remove it, or name a "
		    "directory with -d)", rundir,
		    owner_name(st.st_uid, who, sizeof(who)));
	if ((st.st_mode & 0022) != 0 && (st.st_mode & S_ISVTX) == 0)
		errx(1, "runtime directory %s is writable by others (mode "
		    "%04o): refusing it (remove it, or name a directory with "
		    "-d)", rundir, (unsigned)(st.st_mode & 07777));
}

/* The master's pid if that process exists, else 0. */
static int64_t
alive_pid(const struct shm_view *v)
{
	int64_t	 pid = lds64(&v->hdr->master_pid);

	/* 0 and negative pids would address process groups. */
	if (pid <= 0 || pid > INT32_MAX)
		return 0;
	if (kill((pid_t)pid, 0) == 0 || errno == EPERM)
		return pid;
	return 0;
}

static int
inst_cmp(const void *a, const void *b)
{
	return strcmp(((const struct inst *)a)->name,
	    ((const struct inst *)b)->name);
}

/*
 * Every NAME.shm in the runtime directory whose master is alive, sorted
 * by name, segments mapped.  Stale and unreadable files are skipped; if
 * that leaves nothing, the first unreadable one is named, since it may
 * be the instance the user is after (another version, no permission).
 */
size_t
inst_discover(const char *rundir, struct inst **list)
{
	struct inst	*l = NULL, *nl;
	struct dirent	*de;
	DIR		*d;
	char		 path[PATH_MAX], why[256];
	char		 first[PATH_MAX + 256 + 4];
	size_t		 n = 0, len;

	if ((d = opendir(rundir)) == NULL) {
		if (errno == ENOENT)
			errx(1, "no running instance in %s", rundir);
		err(1, "%s", rundir);
	}
	first[0] = '\0';
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (len <= 4 || strcmp(de->d_name + len - 4, ".shm") != 0)
			continue;
		if ((nl = reallocarray(l, n + 1, sizeof(*l))) == NULL)
			err(1, "reallocarray");
		l = nl;
		memset(&l[n], 0, sizeof(l[n]));
		if (len - 4 >= sizeof(l[n].name))
			continue;
		memcpy(l[n].name, de->d_name, len - 4);
		if (!config_instance_valid(l[n].name))
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", rundir,
		    de->d_name) >= sizeof(path))
			continue;
		if (shm_view_open(&l[n].v, path, why, sizeof(why)) < 0 ||
		    owner_refused(&l[n].v, why, sizeof(why))) {
			shm_view_close(&l[n].v);
			if (first[0] == '\0')
				snprintf(first, sizeof(first), "%s: %s", path,
				    why);
			continue;
		}
		if ((l[n].pid = alive_pid(&l[n].v)) == 0) {
			shm_view_close(&l[n].v);
			continue;
		}
		n++;
	}
	closedir(d);
	if (n == 0 && first[0] != '\0')
		warnx("%s (skipped)", first);
	if (n > 1)
		qsort(l, n, sizeof(*l), inst_cmp);
	*list = l;
	return n;
}

bool
inst_present(const char *rundir, const char *name)
{
	struct inst	*l;
	struct stat	 st;
	char		 path[PATH_MAX];
	DIR		*d;
	size_t		 n, i;

	if (name != NULL)
		return (size_t)snprintf(path, sizeof(path), "%s/%s.shm",
		    rundir, name) < sizeof(path) && stat(path, &st) == 0;
	if ((d = opendir(rundir)) == NULL)
		return false;
	closedir(d);
	n = inst_discover(rundir, &l);
	for (i = 0; i < n; i++)
		inst_close(&l[i]);
	free(l);
	return n > 0;
}

bool
inst_system_dir(const char *dir)
{
	struct stat	 st;
	char		 parent[PATH_MAX];
	char		*slash;

	if ((size_t)snprintf(parent, sizeof(parent), "%s", dir) >=
	    sizeof(parent) || (slash = strrchr(parent, '/')) == NULL)
		return false;
	if (slash == parent)
		slash++;
	*slash = '\0';
	if (lstat(parent, &st) < 0 || !S_ISDIR(st.st_mode) ||
	    st.st_uid != 0 || (st.st_mode & 0022) != 0)
		return false;
	return lstat(dir, &st) == 0 && S_ISDIR(st.st_mode) &&
	    (st.st_mode & 0022) == 0;
}

void
inst_open(const char *rundir, const char *name, struct inst *in)
{
	struct inst	*l;
	char		 path[PATH_MAX], why[256];
	size_t		 n, i;
	int		 r;

	memset(in, 0, sizeof(*in));
	if (name != NULL) {
		snprintf(in->name, sizeof(in->name), "%s", name);
		if ((size_t)snprintf(path, sizeof(path), "%s/%s.shm", rundir,
		    in->name) >= sizeof(path))
			errx(1, "%s/%s.shm: path too long", rundir, in->name);
		if ((r = shm_view_open(&in->v, path, why, sizeof(why))) < 0) {
			if (r == -ENOENT)
				errx(1, "no instance %s in %s", in->name,
				    rundir);
			errx(1, "%s: %s", path, why[0] != '\0' ? why :
			    strerror(-r));
		}
		if (owner_refused(&in->v, why, sizeof(why)))
			errx(1, "%s: %s", path, why);
		if ((in->pid = alive_pid(&in->v)) == 0)
			errx(1, "instance %s is not running (master pid "
			    "%" PRId64 " is gone)", in->name,
			    lds64(&in->v.hdr->master_pid));
		return;
	}
	n = inst_discover(rundir, &l);
	if (n == 0)
		errx(1, "no running instance in %s", rundir);
	if (n > 1) {
		warnx("%zu instances are running in %s:", n, rundir);
		for (i = 0; i < n; i++) {
			fprintf(stderr, "  %s (master pid %" PRId64 ")\n",
			    l[i].name, l[i].pid);
			shm_view_close(&l[i].v);
		}
		errx(1, "use -i NAME");
	}
	*in = l[0];
	free(l);
}

void
inst_pick(const char *rundir, const char *name, char *buf, size_t len)
{
	struct inst	 in;

	if (name != NULL) {
		snprintf(buf, len, "%s", name);
		return;
	}
	inst_open(rundir, NULL, &in);
	snprintf(buf, len, "%s", in.name);
	inst_close(&in);
}

void
inst_close(struct inst *in)
{
	shm_view_close(&in->v);
}

int64_t
inst_start_time(const struct inst *in)
{
	return lds64(&in->v.hdr->start_time);
}

/* Each field has one writer that stores it atomically: no torn values. */
static int64_t
lds64(const int64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

void
snap_take(const struct inst *in, struct snap *s)
{
	const struct tftp_shm_stats	*st;
	uint32_t			 k;

	memset(s, 0, sizeof(*s));
	s->master_pid = lds64(&in->v.hdr->master_pid);
	s->start_time = lds64(&in->v.hdr->start_time);
	/* The count shm_view_open() validated, not the live header's. */
	s->nworkers = in->v.nworkers;
	if (s->nworkers > TFTP_SHM_MAX_WORKERS)
		s->nworkers = TFTP_SHM_MAX_WORKERS;
	/*
	 * The master updates a worker's entry one field at a time: a pid
	 * may pair with the previous state for an instant, which is fine
	 * for a display.
	 */
	for (k = 0; k < s->nworkers; k++) {
		if (!shm_view_worker_info(&in->v, k, &s->info[k]))
			memset(&s->info[k], 0, sizeof(s->info[k]));
		if ((st = shm_view_stats(&in->v, k)) != NULL)
			shm_stats_read(st, &s->stats[k]);
	}
	s->generation = shm_generation(in->v.ctl);
	s->now = (int64_t)time(NULL);
	if (shm_read_resets(in->v.ctl, s->nworkers, &s->resets,
	    &s->reset_time, s->base) < 0)
		errx(1, "%s: the master kept rewriting the statistics "
		    "baseline; try again", in->name);
}

void
snap_since_reset(struct snap *s)
{
	uint32_t	 k;

	if (s->since_reset)
		return;
	for (k = 0; k < s->nworkers; k++)
		metrics_baseline_sub(&s->stats[k], &s->info[k].restarts,
		    &s->base[k]);
	s->since_reset = true;
}

bool
worker_live(uint32_t state)
{
	return state == TFTP_SHM_W_STARTING || state == TFTP_SHM_W_RUNNING ||
	    state == TFTP_SHM_W_DRAINING;
}

int64_t
snap_worker_uptime(const struct snap *s, uint32_t k)
{
	const struct tftp_shm_worker_info *wi = &s->info[k];

	if (!worker_live(wi->state) || wi->started_at <= 0 ||
	    wi->started_at > s->now)
		return 0;
	return s->now - wi->started_at;
}

int64_t
snap_uptime(const struct snap *s)
{
	if (s->start_time <= 0 || s->start_time > s->now)
		return 0;
	return s->now - s->start_time;
}

void
inst_each_session(const struct inst *in, session_fn fn, void *arg)
{
	const struct tftp_shm_session	*tab;
	struct tftp_shm_session		 e;
	uint32_t			 k, i, n;

	/* in->v.nworkers and n are the counts shm_view_open() validated. */
	for (k = 0; k < in->v.nworkers && k < TFTP_SHM_MAX_WORKERS; k++) {
		if ((tab = shm_view_sessions(&in->v, k, &n)) == NULL)
			continue;
		for (i = 0; i < n; i++) {
			if (!shm_session_read(&tab[i], &e) ||
			    (e.dir != TFTP_SHM_S_READ &&
			    e.dir != TFTP_SHM_S_WRITE))
				continue;
			fn(k, &e, arg);
		}
	}
}

void
inst_settings(const struct inst *in, struct tftpd_config *cfg, uint64_t *gen)
{
	char	 why[CONFIG_ERR_MAX];
	int	 r;

	r = shm_read_config(in->v.ctl, cfg, gen);
	if (r == -EAGAIN)
		errx(1, "%s: the master kept rewriting the settings; try "
		    "again", in->name);
	if (r < 0)
		errx(1, "%s: cannot read the settings: %s", in->name,
		    strerror(-r));
	/* The same check a worker makes before it uses them. */
	if (config_validate(cfg, why, sizeof(why)) < 0)
		errx(1, "%s: the published settings are invalid: %s",
		    in->name, why);
}
