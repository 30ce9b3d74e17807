/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * Changing the running configuration.  SIGHUP and "tftpctl reload" read
 * the file and the saved command line again; "tftpctl set" changes one
 * key.  Only live keys change (a worker reads them per transfer), as a
 * new generation in the segment; anything else needs a restart and says
 * so.  A bad value changes nothing.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

#include "config.h"
#include "log.h"
#include "master_int.h"
#include "notify.h"
#include "shm.h"
#include "util.h"

/* Scratch configurations, too big for the stack to be comfortable. */
static struct tftpd_config scratch_new, scratch_out;

static void	 publish(struct master *m, const struct tftpd_config *c);

/* The new settings as the next generation; a new log level here too. */
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
int
reload_config(struct master *m, char *msg, size_t msglen)
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

/* One live key by name ("max_blksize" or "transfer.max_blksize"),
 * validated as the file's value would be. */
int
reload_set_key(struct master *m, const char *name, const char *value,
    uid_t uid, char *msg, size_t msglen)
{
	struct tftpd_config	*c = &scratch_out;
	const char		*section, *key;
	char			 err[CONFIG_ERR_MAX], shown[512];
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
