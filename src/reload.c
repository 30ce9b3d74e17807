/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * Changing the running configuration.  SIGHUP and "tftpctl reload" read
 * the file and the saved command line again; "tftpctl set" changes one
 * key, until the next reload, which starts again from the file and the
 * command line.  Only live keys change (a worker reads them per transfer), as a
 * new generation in the segment; anything else needs a restart and says
 * so.  A bad value changes nothing.  The remap rules file is read again
 * on every reload, changed or not, and published with the settings.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "mapfile.h"
#include "master_int.h"
#include "notify.h"
#include "shm.h"
#include "util.h"

/* Scratch configurations, too big for the stack to be comfortable. */
static struct tftpd_config scratch_new, scratch_out;

static void	 publish(struct master *m, const struct tftpd_config *c,
		    char *map, size_t maplen);
static int	 map_load(struct master *m, const struct tftpd_config *c,
		    char **map, size_t *maplen, char *err, size_t errlen);
static bool	 map_differs(const struct master *m, const char *map,
		    size_t maplen);

/*
 * The new settings as the next generation, with the remap rules' text map
 * (the master's from now on, unless it is already m->map); a new log
 * level here too.
 */
static void
publish(struct master *m, const struct tftpd_config *c, char *map,
    size_t maplen)
{
	bool	 roll = c->write_enable != m->cfg.write_enable;

	if (map != m->map) {
		free(m->map);
		m->map = map;
	}
	m->maplen = maplen;
	listen_steer(m, c);
	m->cfg = *c;
	(void)shm_publish(&m->shm, &m->cfg, m->map, m->maplen);
	log_setlevel(m->cfg.log_level);
	if (roll)
		proc_roll(m);
}

/* c's rules file, a relative name taken from where the master started. */
static int
map_load(struct master *m, const struct tftpd_config *c, char **map,
    size_t *maplen, char *err, size_t errlen)
{
	return mapfile_load(c->map_file, m->startdir[0] != '\0' ?
	    m->startdir : NULL, map, maplen, err, errlen);
}

static bool
map_differs(const struct master *m, const char *map, size_t maplen)
{
	return maplen != m->maplen ||
	    (maplen > 0 && memcmp(map, m->map, maplen) != 0);
}

int
reload_map_start(struct master *m)
{
	char	 err[CONFIG_ERR_MAX];
	int	 r;

	/* Named as given: we are still where it was given. */
	if ((r = mapfile_load(m->cfg.map_file, NULL, &m->map, &m->maplen,
	    err, sizeof(err))) < 0) {
		startup_err(m, "%s", err);
		return r;
	}
	if (getcwd(m->startdir, sizeof(m->startdir)) == NULL)
		m->startdir[0] = '\0';
	return 0;
}

/*
 * SIGHUP and TFTP_CTL_RELOAD: the file and the saved command line again.
 * A bad file changes nothing; a changed key that is not live keeps its
 * value and is named; the live ones are published as a new generation.
 */
int
reload_config(struct master *m, char *msg, size_t msglen)
{
	struct tftpd_config	*nc = &scratch_new, *out = &scratch_out;
	const char		*secs[64], *keys[64];
	char			 err[CONFIG_ERR_MAX];
	char			 restart[512], changed[512];
	char			*map = NULL;
	size_t			 n, i, nlive = 0, off_r = 0, off_c = 0, maplen;
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
	if ((r = config_validate(out, err, sizeof(err))) < 0 ||
	    (r = map_load(m, out, &map, &maplen, err, sizeof(err))) < 0) {
		log_warnx("reload: %s; the current settings stay", err);
		snprintf(msg, msglen, "%s; nothing changed", err);
		goto out;
	}
	/* The same file name may hold new rules. */
	if (map_differs(m, map, maplen) &&
	    strcmp(out->map_file, m->cfg.map_file) == 0) {
		nlive++;
		str_append(changed, sizeof(changed), &off_c, "%sthe rules of "
		    "transfer.map_file", off_c > 0 ? ", " : "");
	}
	if (nlive > 0) {
		publish(m, out, map, maplen);
		map = NULL;
	}
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
	free(map);
	notify_send(m->notify_fd, "READY=1");
	return r;
}

/* One live key by name ("max_blksize" or "transfer.max_blksize"),
 * validated as the file's value would be. */
int
reload_set_key(struct master *m, const char *name, const char *value,
    uid_t uid, char *msg, size_t msglen)
{
	struct tftpd_config	*c = &scratch_out;
	const char		*section, *key;
	char			 err[CONFIG_ERR_MAX], shown[512];
	char			*map = m->map;
	size_t			 maplen = m->maplen;
	int			 r;

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
	if ((r = config_set(c, section, key, value, err, sizeof(err))) < 0 ||
	    (r = config_validate(c, err, sizeof(err))) < 0) {
		snprintf(msg, msglen, "%s", err);
		return r;
	}
	/* A rules file named again is read again, as by a reload. */
	if (strcmp(key, "map_file") == 0 && (r = map_load(m, c, &map,
	    &maplen, err, sizeof(err))) < 0) {
		snprintf(msg, msglen, "%s", err);
		return r;
	}
	if (memcmp(c, &m->cfg, sizeof(*c)) != 0 ||
	    (map != m->map && map_differs(m, map, maplen))) {
		publish(m, c, map, maplen);
		map = m->map;
		log_info("set %s.%s by uid %lu (generation %" PRIu64 ")",
		    section, key, (unsigned long)uid,
		    shm_generation(m->shm.ctl));
	}
	if (map != m->map)
		free(map);
	(void)config_key_line(&m->cfg, section, key, shown, sizeof(shown));
	/*
	 * A reload makes the file and the command line the whole truth
	 * again, so a value set here lasts until then: said where it is
	 * set, not discovered later.
	 */
	snprintf(msg, msglen, "%s (generation %" PRIu64 "), until the next "
	    "reload", shown, shm_generation(m->shm.ctl));
	return 0;
}
