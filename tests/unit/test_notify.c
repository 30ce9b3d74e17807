/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * Unit tests for notify.c, sd_notify by hand: $NOTIFY_SOCKET as a path and
 * as an abstract name, the variable taken out of the environment either
 * way, the values that are not a socket to talk to, and each message
 * arriving as one datagram.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "notify.h"
#include "tmpdir.h"

struct fixture {
	char	 dir[256];
	char	 path[300];
	int	 fd;		/* systemd's end */
};

static int
setup(void **state)
{
	struct fixture		*f;
	struct sockaddr_un	 sa;

	if ((f = calloc(1, sizeof(*f))) == NULL ||
	    test_tmpdir_make(f->dir, sizeof(f->dir), "test_notify") < 0)
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/notify", f->dir);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(f->path) >= sizeof(sa.sun_path))
		return -1;
	memcpy(sa.sun_path, f->path, strlen(f->path) + 1);
	f->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (f->fd < 0 || bind(f->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -1;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	close(f->fd);
	(void)test_tmpdir_remove(f->dir);
	free(f);
	(void)unsetenv("NOTIFY_SOCKET");
	return 0;
}

/* The next datagram on fd, NUL-terminated; its length or -1. */
static ssize_t
next_message(int fd, char *buf, size_t len)
{
	ssize_t	 n;

	if ((n = recv(fd, buf, len - 1, 0)) < 0)
		return -1;
	buf[n] = '\0';
	return n;
}

static void
test_path(void **state)
{
	struct fixture	*f = *state;
	char		 buf[256];
	int		 fd;

	assert_int_equal(setenv("NOTIFY_SOCKET", f->path, 1), 0);
	fd = notify_open();
	assert_true(fd >= 0);
	assert_null(getenv("NOTIFY_SOCKET"));
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);

	notify_send(fd, "READY=1\nSTATUS=serving on %s", "127.0.0.1:69");
	notify_send(fd, "STOPPING=1");
	assert_int_equal(next_message(f->fd, buf, sizeof(buf)),
	    strlen("READY=1\nSTATUS=serving on 127.0.0.1:69"));
	assert_string_equal(buf, "READY=1\nSTATUS=serving on 127.0.0.1:69");
	assert_true(next_message(f->fd, buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "STOPPING=1");
	assert_int_equal(next_message(f->fd, buf, sizeof(buf)), -1);
	close(fd);
}

static void
test_abstract(void **state)
{
	struct fixture		*f = *state;
	struct sockaddr_un	 sa;
	socklen_t		 salen;
	char			 name[64], buf[64];
	int			 sfd, fd;

	snprintf(name, sizeof(name), "@snowowl-test-notify-%ld",
	    (long)getpid());
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path + 1, name + 1, strlen(name) - 1);
	salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
	    strlen(name));
	sfd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	assert_true(sfd >= 0);
	assert_int_equal(bind(sfd, (struct sockaddr *)&sa, salen), 0);

	assert_int_equal(setenv("NOTIFY_SOCKET", name, 1), 0);
	fd = notify_open();
	assert_true(fd >= 0);
	assert_null(getenv("NOTIFY_SOCKET"));
	notify_send(fd, "RELOADING=1");
	assert_true(next_message(sfd, buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "RELOADING=1");
	/* Nothing went to the path socket of the fixture. */
	assert_int_equal(next_message(f->fd, buf, sizeof(buf)), -1);
	close(fd);
	close(sfd);
}

/* Unset, relative, or nobody listening: no socket, the variable gone. */
static void
test_none(void **state)
{
	struct fixture	*f = *state;
	char		 gone[320];

	(void)unsetenv("NOTIFY_SOCKET");
	assert_int_equal(notify_open(), -1);

	assert_int_equal(setenv("NOTIFY_SOCKET", "relative/path", 1), 0);
	assert_int_equal(notify_open(), -1);
	assert_null(getenv("NOTIFY_SOCKET"));

	snprintf(gone, sizeof(gone), "%s/nobody", f->dir);
	assert_int_equal(setenv("NOTIFY_SOCKET", gone, 1), 0);
	assert_int_equal(notify_open(), -1);
	assert_null(getenv("NOTIFY_SOCKET"));

	/* Sending without a socket is a no-op. */
	notify_send(-1, "READY=1");
}

int
main(void)
{
#define T(fn)	cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_path),
		T(test_abstract),
		T(test_none),
	};
#undef T

	return cmocka_run_group_tests_name("notify", tests, NULL, NULL);
}
