/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * The master's privilege drop, done once at startup after the sockets are
 * bound and the root directory is open.  Started as root, libcap-ng
 * clears every capability and the bounding set and switches uid, gid and
 * supplementary groups in one call.  Started as another user with
 * capabilities (systemd's AmbientCapabilities=, socket activation with
 * User=), it keeps its identity and clears them all: the ambient,
 * inheritable, permitted and effective sets, and the bounding set when it
 * holds CAP_SETPCAP, the capability that clearing it needs.  Either way
 * the result is read back from the kernel rather than trusted, so the
 * workers (exec'd later) start with nothing.
 */
#include <cap-ng.h>
#include <errno.h>
#include <grp.h>
#include <inttypes.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include "log.h"
#include "privs.h"

#define DEFAULT_USER	"tftp"
#define SHARED_USER	"nobody"
#define CAP_MAX_PROBE	64	/* the kernel's sets are 64 bits wide */

/* The five sets of /proc/PID/status, as masks. */
struct capsets {
	uint64_t	 inh, prm, eff, bnd, amb;
};

static int	 lookup(const char *user, uid_t *uid, gid_t *gid);
static int	 caps_read(struct capsets *cs);
static int	 bounding_clear(void);
static int	 caps_clear_all(bool bounding, char *why, size_t whylen);
static int	 fail(char *why, size_t whylen, const char *fmt, ...)
		    __attribute__((format(printf, 3, 4)));

static int
fail(char *why, size_t whylen, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	return -1;
}

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
	return lookup(user, uid, gid);
}

/*
 * No silent fall back to nobody: every service that uses that uid could
 * signal the server and write what it owns, so it is the operator's
 * explicit choice, not what a missing tftp user quietly gives.
 */
const char *
privs_missing_hint(const char *user)
{
	if (strcmp(user, DEFAULT_USER) != 0)
		return "";
	return ": create it (the sysusers.d entry snowowl-tftpd installs "
	    "does: systemd-sysusers), or choose -u " SHARED_USER " ([server] "
	    "user = " SHARED_USER "), a uid that other services share";
}

int
privs_clear_caps(void)
{
	struct capsets	 cs;

	capng_clear(CAPNG_SELECT_ALL);
	if (capng_apply(CAPNG_SELECT_ALL) != 0 &&
	    capng_apply(CAPNG_SELECT_BOTH) != 0)
		return -1;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    caps_read(&cs) < 0 || (cs.inh | cs.prm | cs.eff | cs.amb) != 0)
		return -1;
	return 0;
}

int
privs_group(const char *name, gid_t *gid)
{
	struct group *gr;

	errno = 0;
	if ((gr = getgrnam(name)) == NULL)
		return errno != 0 ? -errno : -ENOENT;
	*gid = gr->gr_gid;
	return 0;
}

/*
 * From the kernel: capget(2) for three sets, prctl(2) for the bounding
 * and ambient ones, capability by capability up to the last the kernel
 * knows (where PR_CAPBSET_READ says EINVAL).  0 or -errno.
 */
static int
caps_read(struct capsets *cs)
{
	struct __user_cap_header_struct	 hdr;
	struct __user_cap_data_struct	 d[2];
	int				 c, r;

	memset(cs, 0, sizeof(*cs));
	memset(&hdr, 0, sizeof(hdr));
	memset(d, 0, sizeof(d));
	hdr.version = _LINUX_CAPABILITY_VERSION_3;
	if (syscall(SYS_capget, &hdr, d) < 0)
		return -errno;
	cs->inh = (uint64_t)d[1].inheritable << 32 | d[0].inheritable;
	cs->prm = (uint64_t)d[1].permitted << 32 | d[0].permitted;
	cs->eff = (uint64_t)d[1].effective << 32 | d[0].effective;
	for (c = 0; c < CAP_MAX_PROBE; c++) {
		if ((r = prctl(PR_CAPBSET_READ, c, 0, 0, 0)) < 0)
			break;
		if (r == 1)
			cs->bnd |= UINT64_C(1) << c;
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, c, 0, 0) == 1)
			cs->amb |= UINT64_C(1) << c;
	}
	return 0;
}

/* Needs CAP_SETPCAP in the effective set.  0 or -errno. */
static int
bounding_clear(void)
{
	int	 c;

	for (c = 0; c < CAP_MAX_PROBE; c++) {
		if (prctl(PR_CAPBSET_READ, c, 0, 0, 0) < 0)
			break;
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0)
			return -errno;
	}
	return 0;
}

/*
 * Not root: nothing is needed any more that a capability gives, so every
 * set is emptied (the bounding set first, while CAP_SETPCAP is still
 * effective, if bounding), then read back.
 */
static int
caps_clear_all(bool bounding, char *why, size_t whylen)
{
	struct capsets	 cs;
	int		 r;

	if (bounding) {
		capng_get_caps_process();
		capng_update(CAPNG_ADD, CAPNG_EFFECTIVE, CAP_SETPCAP);
		if (capng_apply(CAPNG_SELECT_CAPS) != 0)
			return fail(why, whylen, "cannot raise CAP_SETPCAP");
		if ((r = bounding_clear()) < 0)
			return fail(why, whylen, "cannot clear the "
			    "capability bounding set: %s", strerror(-r));
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 &&
	    errno != EINVAL)
		return fail(why, whylen, "cannot clear the ambient "
		    "capabilities: %s", strerror(errno));
	capng_clear(CAPNG_SELECT_CAPS);
	if (capng_apply(CAPNG_SELECT_CAPS) != 0)
		return fail(why, whylen, "cannot clear the capabilities");
	if ((r = caps_read(&cs)) < 0)
		return fail(why, whylen, "capget: %s", strerror(-r));
	if ((cs.inh | cs.prm | cs.eff | cs.amb) != 0 ||
	    (bounding && cs.bnd != 0))
		return fail(why, whylen, "capabilities left after clearing "
		    "them: inheritable %#" PRIx64 ", permitted %#" PRIx64
		    ", effective %#" PRIx64 ", ambient %#" PRIx64
		    ", bounding %#" PRIx64, cs.inh, cs.prm, cs.eff, cs.amb,
		    cs.bnd);
	return 0;
}

/*
 * Not root.  Without any capability there is nothing to drop (the
 * bounding set only limits what an exec could gain, and the workers set
 * no_new_privs).  With some, all go; the bounding set too when
 * CAP_SETPCAP is there, otherwise one warning says how to grant it.
 */
static int
drop_unprivileged(char *why, size_t whylen)
{
	struct capsets	 cs;
	bool		 setpcap;
	int		 r;

	if ((r = caps_read(&cs)) < 0)
		return fail(why, whylen, "capget: %s", strerror(-r));
	if ((cs.inh | cs.prm | cs.eff | cs.amb) == 0) {
		/* An empty bounding set: a service manager's deliberate
		 * confinement (User= and CapabilityBoundingSet=), not a
		 * mistake worth a warning at every start. */
		log_msg(cs.bnd == 0 ? LOG_INFO : LOG_WARNING, "not running as "
		    "root: serving as uid %lu without changing user",
		    (unsigned long)geteuid());
		return 0;
	}
	setpcap = (cs.prm & (UINT64_C(1) << CAP_SETPCAP)) != 0;
	if (!setpcap && cs.bnd != 0)
		log_warnx("no CAP_SETPCAP: the capability bounding set "
		    "(%#" PRIx64 ") stays as it is; grant CAP_SETPCAP with "
		    "the other capabilities (AmbientCapabilities=) to have "
		    "it cleared", cs.bnd);
	if (caps_clear_all(setpcap, why, whylen) < 0)
		return -1;
	log_info("running as uid %lu; dropped the capabilities it was "
	    "started with (permitted %#" PRIx64 ", ambient %#" PRIx64 ")%s",
	    (unsigned long)geteuid(), cs.prm, cs.amb,
	    setpcap ? " and the bounding set" : "");
	return 0;
}

int
privs_drop(const char *user, char *why, size_t whylen)
{
	uid_t uid = (uid_t)-1, ruid, euid, suid;
	gid_t gid = (gid_t)-1, rgid, egid, sgid;
	struct capsets cs;
	int r, flags = CAPNG_DROP_SUPP_GRP | CAPNG_CLEAR_BOUNDING;

	if (geteuid() != 0)
		return drop_unprivileged(why, whylen);
	r = lookup(user, &uid, &gid);
	if (r == -ENOENT)
		return fail(why, whylen, "unknown user %s%s", user,
		    privs_missing_hint(user));
	if (r < 0)
		return fail(why, whylen, "cannot look up user %s: %s", user,
		    strerror(-r));
	if (uid == 0)
		return fail(why, whylen, "refusing to serve as user %s: it "
		    "is uid 0", user);
	if ((r = caps_read(&cs)) < 0)
		return fail(why, whylen, "capget: %s", strerror(-r));
	/* Root confined by a bounding set without CAP_SETPCAP: as above. */
	if ((cs.eff & (UINT64_C(1) << CAP_SETPCAP)) == 0) {
		log_warnx("no CAP_SETPCAP: the capability bounding set "
		    "(%#" PRIx64 ") stays as it is", cs.bnd);
		flags &= ~CAPNG_CLEAR_BOUNDING;
	}

	capng_clear(CAPNG_SELECT_BOTH);
	if ((r = capng_change_id((int)uid, (int)gid, flags)) != 0)
		return fail(why, whylen, "cannot change to user %s (uid %lu "
		    "gid %lu): capng_change_id failed (%d)", user,
		    (unsigned long)uid, (unsigned long)gid, r);

	if (getresuid(&ruid, &euid, &suid) < 0 ||
	    getresgid(&rgid, &egid, &sgid) < 0)
		return fail(why, whylen, "getresuid: %s", strerror(errno));
	if (ruid != uid || euid != uid || suid != uid || rgid != gid ||
	    egid != gid || sgid != gid || getgroups(0, NULL) != 0)
		return fail(why, whylen, "the change to user %s did not take "
		    "effect", user);
	if ((r = caps_read(&cs)) < 0)
		return fail(why, whylen, "capget: %s", strerror(-r));
	if ((cs.inh | cs.prm | cs.eff | cs.amb) != 0 ||
	    ((flags & CAPNG_CLEAR_BOUNDING) && cs.bnd != 0))
		return fail(why, whylen, "capabilities left after the change "
		    "to %s", user);
	log_info("running as user %s (uid %lu, gid %lu)", user,
	    (unsigned long)uid, (unsigned long)gid);
	if (strcmp(user, SHARED_USER) == 0)
		log_warnx("user %s is shared with other services: any process "
		    "running as %s can signal and trace this server and "
		    "replace the files it owns; create a user of its own "
		    "(tftp)", SHARED_USER, SHARED_USER);
	return 0;
}
