/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * The master's privilege drop, done once at startup after the sockets are
 * bound and the root directory is open: libcap-ng clears every capability
 * and the bounding set and switches uid, gid and supplementary groups in
 * one call; the result is then read back from the kernel rather than
 * trusted.
 */
#include <cap-ng.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "log.h"
#include "privs.h"

#define DEFAULT_USER	"tftp"
#define FALLBACK_USER	"nobody"

static int	 lookup(const char *user, uid_t *uid, gid_t *gid);

static int
lookup(const char *user, uid_t *uid, gid_t *gid)
{
	struct passwd *pw;

	errno = 0;
	if ((pw = getpwnam(user)) == NULL)
		return errno != 0 ? -errno : -ENOENT;
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return 0;
}

int
privs_lookup(const char *user, uid_t *uid, gid_t *gid)
{
	int	 r;

	r = lookup(user, uid, gid);
	if (r == -ENOENT && strcmp(user, DEFAULT_USER) == 0)
		r = lookup(FALLBACK_USER, uid, gid);
	return r;
}

int
privs_drop(const char *user)
{
	uid_t uid = (uid_t)-1, ruid, euid, suid;
	gid_t gid = (gid_t)-1, rgid, egid, sgid;
	int r;

	if (geteuid() != 0) {
		log_warnx("not running as root: serving as uid %lu without "
		    "changing user", (unsigned long)geteuid());
		return 0;
	}
	r = lookup(user, &uid, &gid);
	if (r == -ENOENT && strcmp(user, DEFAULT_USER) == 0) {
		log_info("user %s does not exist, using %s", DEFAULT_USER,
		    FALLBACK_USER);
		user = FALLBACK_USER;
		r = lookup(user, &uid, &gid);
	}
	if (r == -ENOENT) {
		log_warnx("unknown user %s", user);
		return -1;
	}
	if (r < 0) {
		log_warnx("cannot look up user %s: %s", user, strerror(-r));
		return -1;
	}
	if (uid == 0) {
		log_warnx("refusing to serve as user %s: it is uid 0", user);
		return -1;
	}

	capng_clear(CAPNG_SELECT_BOTH);
	if ((r = capng_change_id((int)uid, (int)gid,
	    CAPNG_DROP_SUPP_GRP | CAPNG_CLEAR_BOUNDING)) != 0) {
		log_warnx("cannot change to user %s (uid %lu gid %lu): "
		    "capng_change_id failed (%d)", user, (unsigned long)uid,
		    (unsigned long)gid, r);
		return -1;
	}

	if (getresuid(&ruid, &euid, &suid) < 0 ||
	    getresgid(&rgid, &egid, &sgid) < 0) {
		log_warn("getresuid");
		return -1;
	}
	if (ruid != uid || euid != uid || suid != uid || rgid != gid ||
	    egid != gid || sgid != gid || getgroups(0, NULL) != 0) {
		log_warnx("privilege drop to %s did not take effect", user);
		return -1;
	}
	capng_get_caps_process();
	if (capng_have_capabilities(CAPNG_SELECT_CAPS) != CAPNG_NONE) {
		log_warnx("capabilities left after the drop to %s", user);
		return -1;
	}
	log_info("running as user %s (uid %lu, gid %lu)", user,
	    (unsigned long)uid, (unsigned long)gid);
	return 0;
}
