/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * Run a program under a seccomp filter like the ones a service manager
 * puts around a service, for the integration tests:
 *
 *	sysfilter [-k SYSCALL]... [-n] [-u] -- PROGRAM [ARG]...
 *
 *	-k SYSCALL	the process that calls it is killed with SIGSYS, as
 *			systemd's SystemCallFilter= does with a call outside
 *			the list
 *	-u		socket(AF_UNIX, ...) and socketpair(AF_UNIX, ...)
 *			fail with EAFNOSUPPORT, as under systemd's
 *			RestrictAddressFamilies=AF_INET AF_INET6
 *	-n		socket(AF_NETLINK, ...) fails with EAFNOSUPPORT, as
 *			under any RestrictAddressFamilies= without AF_NETLINK
 *			(ours and Debian's tftpd-hpa unit)
 *
 * Everything else is allowed.  The filter is inherited by every child and
 * kept across exec; no_new_privs is set (libseccomp's default), which the
 * daemon's privilege drop does not need to undo.
 */
#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void
usage(void)
{
	fprintf(stderr, "usage: sysfilter [-k SYSCALL]... [-n] [-u] -- "
	    "PROGRAM "
	    "[ARG]...\n");
	exit(2);
}

int
main(int argc, char *argv[])
{
	scmp_filter_ctx	 ctx;
	int		 c, nr, r;

	if ((ctx = seccomp_init(SCMP_ACT_ALLOW)) == NULL) {
		fprintf(stderr, "sysfilter: seccomp_init failed\n");
		return 1;
	}
	while ((c = getopt(argc, argv, "k:nu")) != -1) {
		switch (c) {
		case 'k':
			if ((nr = seccomp_syscall_resolve_name(optarg)) ==
			    __NR_SCMP_ERROR) {
				fprintf(stderr, "sysfilter: unknown system "
				    "call %s\n", optarg);
				return 2;
			}
			r = seccomp_rule_add(ctx, SCMP_ACT_KILL_PROCESS, nr, 0);
			break;
		case 'n':
			r = seccomp_rule_add(ctx,
			    SCMP_ACT_ERRNO(EAFNOSUPPORT), SCMP_SYS(socket), 1,
			    SCMP_A0(SCMP_CMP_EQ, AF_NETLINK));
			break;
		case 'u':
			r = seccomp_rule_add(ctx,
			    SCMP_ACT_ERRNO(EAFNOSUPPORT), SCMP_SYS(socket), 1,
			    SCMP_A0(SCMP_CMP_EQ, AF_UNIX));
			if (r == 0)
				r = seccomp_rule_add(ctx,
				    SCMP_ACT_ERRNO(EAFNOSUPPORT),
				    SCMP_SYS(socketpair), 1,
				    SCMP_A0(SCMP_CMP_EQ, AF_UNIX));
			break;
		default:
			usage();
		}
		if (r < 0) {
			fprintf(stderr, "sysfilter: seccomp_rule_add: %s\n",
			    strerror(-r));
			return 1;
		}
	}
	if (optind >= argc)
		usage();
	if ((r = seccomp_load(ctx)) < 0) {
		fprintf(stderr, "sysfilter: seccomp_load: %s\n", strerror(-r));
		return 1;
	}
	seccomp_release(ctx);
	execvp(argv[optind], argv + optind);
	fprintf(stderr, "sysfilter: %s: %s\n", argv[optind], strerror(errno));
	return 127;
}
