/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * Unit tests for config.c and cmdline.c: the defaults; every key set
 * through an INI file written here; the range of every numeric key at both
 * ends; error messages naming file, line, section, key and reason; list
 * semantics; config_validate's checks; dump and reload; the command line
 * over the file (tftp-hpa flags and our long options); and the example
 * contrib/snowowl-tftpd.conf, which must load to exactly the defaults.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "config.h"
#include "proto.h"
#include "util.h"

#define ERRLEN	CONFIG_ERR_MAX
#define WANTLEN	(PATH_MAX + CONFIG_ERR_MAX)

static char tmpdir[] = "/tmp/test_config.XXXXXX";
static char ini_path[PATH_MAX];

/* Write content to name in the test directory; returns its path. */
static const char *
write_named(const char *name, const char *content, size_t len)
{
	static char path[PATH_MAX];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	assert_non_null(fp = fopen(path, "w"));
	assert_int_equal(fwrite(content, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
	return path;
}

static const char *
write_ini(const char *content)
{
	snprintf(ini_path, sizeof(ini_path), "%s",
	    write_named("t.ini", content, strlen(content)));
	return ini_path;
}

/* Defaults, then the file. */
static int
load_ini(struct tftpd_config *c, const char *content, char *err)
{
	const char *path = write_ini(content);

	config_defaults(c);
	err[0] = '\0';
	return config_load(c, path, true, err, ERRLEN);
}

static void
expect_load_error(const char *content, int rc, int line, const char *msg)
{
	struct tftpd_config c;
	char err[ERRLEN], want[WANTLEN];
	int r;

	r = load_ini(&c, content, err);
	snprintf(want, sizeof(want), "%s:%d: %s", ini_path, line, msg);
	assert_string_equal(err, want);
	if (rc != 0)
		assert_int_equal(r, rc);
	else
		assert_true(r < 0);
}

#define assert_prefix(s, prefix) \
	assert_true(strncmp((s), (prefix), strlen(prefix)) == 0)

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	return remove(path);
}

static int
group_setup(void **state)
{
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	return 0;
}

static int
group_teardown(void **state)
{
	return nftw(tmpdir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

/* ------------------------------------------------------------------ */

/*
 * The runtime directory a user gets by default, worked out here from the
 * rule rather than by config_default_rundir(): root shares
 * /run/snowowl-tftpd, anyone else has one in $XDG_RUNTIME_DIR (when it is
 * an absolute path) or /tmp/snowowl-tftpd-UID.  The suite runs as root in
 * CI and unprivileged on a distribution's build daemon.
 */
static const char *
expected_rundir(char *buf, size_t len)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");

	if (geteuid() == 0)
		snprintf(buf, len, "/run/snowowl-tftpd");
	else if (xdg != NULL && xdg[0] == '/')
		snprintf(buf, len, "%s/snowowl-tftpd", xdg);
	else
		snprintf(buf, len, "/tmp/snowowl-tftpd-%lu",
		    (unsigned long)geteuid());
	return buf;
}

static void
test_defaults(void **state)
{
	struct tftpd_config c;
	char rundir[PATH_MAX];
	char err[ERRLEN];

	memset(&c, 0x5a, sizeof(c));
	config_defaults(&c);
	assert_int_equal(c.nlisten, 0);
	assert_int_equal(c.family, FAMILY_ANY);
	assert_string_equal(c.root, "/srv/tftp");
	assert_string_equal(c.user, "tftp");
	assert_int_equal(c.workers, 0);
	assert_string_equal(c.pid_file, "");
	assert_string_equal(c.runtime_dir, expected_rundir(rundir,
	    sizeof(rundir)));
	assert_false(c.foreground);
	assert_int_equal(c.log, LOG_TO_SYSLOG);
	assert_false(c.log_set);
	assert_int_equal(c.log_level, LOG_INFO);
	assert_string_equal(c.instance, "");
	assert_int_equal(c.drain_timeout, 30);
	assert_int_equal(c.idle_timeout, 900);
	assert_int_equal(c.worker_stall_timeout, 5);

	assert_int_equal(c.timeout_ms, 1000);
	assert_int_equal(c.retries, 5);
	assert_int_equal(c.unverified_retransmits, 0);
	assert_int_equal(c.unverified_timeout, 5);
	assert_int_equal(c.unverified_bytes_rate, 67108864);
	assert_int_equal(c.unverified_bytes_burst, 8388608);
	assert_int_equal(c.max_blksize, 65464);
	assert_int_equal(c.max_windowsize, 64);
	assert_int_equal(c.allowed_opts, TFTP_OPT_BIT(TFTP_OPT_BLKSIZE) |
	    TFTP_OPT_BIT(TFTP_OPT_TIMEOUT) | TFTP_OPT_BIT(TFTP_OPT_TSIZE) |
	    TFTP_OPT_BIT(TFTP_OPT_WINDOWSIZE) |
	    TFTP_OPT_BIT(TFTP_OPT_ROLLOVER) |
	    TFTP_OPT_BIT(TFTP_OPT_UTIMEOUT) |
	    TFTP_OPT_BIT(TFTP_OPT_BLKSIZE2));
	assert_true(c.netascii);
	assert_true(c.follow_symlinks);
	assert_false(c.permissive);
	assert_int_equal(c.port_min, 0);
	assert_int_equal(c.port_max, 0);
	assert_int_equal(c.max_transfers, 1024);
	assert_false(c.single_port);
	assert_false(c.map_backslash);
	assert_false(c.ignore_case);
	assert_int_equal(c.client_root, CLIENT_ROOT_NO);

	assert_false(c.write_enable);
	assert_false(c.write_create);
	assert_true(c.write_overwrite);
	assert_int_equal(c.umask, 022);
	assert_int_equal(c.max_file_size, 0);
	assert_int_equal(c.nwrite_allow, 0);
	assert_true(c.fsync);

	assert_int_equal(c.buffer_pool_size, 1024);
	assert_true(c.enable_recvmmsg);
	assert_true(c.enable_sendmmsg);
	assert_int_equal(c.max_batch_size, 32);
	assert_int_equal(c.batch_timeout_us, 0);
	assert_int_equal(c.recv_buffer_kb, 4096);
	assert_int_equal(c.send_buffer_kb, 4096);
	assert_true(c.reuse_address);
	assert_true(c.reuse_port);

	assert_int_equal(config_validate(&c, err, sizeof(err)), 0);
}

static const char every_key[] =
	"; every key, none at its default\n"
	"[server]\n"
	"listen = 127.0.0.1:6969, [::1]:6970\n"
	"family = ipv6\n"
	"root = /tmp/root\n"
	"user = nobody\n"
	"workers = 1\n"	/* reuse_port = no with single_port */
	"pid_file = /run/x.pid\n"
	"runtime_dir = /run/y\n"
	"foreground = yes\n"
	"log = stderr\n"
	"log_level = debug\n"
	"instance = lab-1_a.b\n"
	"drain_timeout = 0\n"
	"idle_timeout = 60\n"
	"worker_stall_timeout = 0\n"
	"[transfer]\n"
	"timeout = 3\n"
	"retries = 7\n"
	"max_blksize = 1428\n"
	"max_windowsize = 16\n"
	"allow_options = blksize tsize,windowsize\n"
	"refuse_options = windowsize\n"
	"netascii = no\n"
	"follow_symlinks = off\n"
	"permissive = true\n"
	"port_range = 30000:30010\n"
	"max_transfers = 99\n"
	"single_port = yes\n"
	"map_backslash = yes\n"
	"ignore_case = on\n"
	"client_root = IP\n"
	"[write]\n"
	"enable = yes\n"
	"create = 1\n"
	"overwrite = no\n"
	"umask = 027\n"
	"max_file_size = 16M\n"
	"allow = uploads/*, /cfg/*.conf\n"
	"fsync = no\n"
	"[access]\n"
	"read_allow = 10.0.0.0/8 2001:db8::/32\n"
	"read_deny = 10.0.0.7\n"
	"write_allow = 192.0.2.0/24\n"
	"write_deny = ::ffff:192.0.2.128/121\n"
	"refuse = drop\n"
	"[performance]\n"
	"buffer_pool_size = 512\n"
	"[performance.platform.batch]\n"
	"enable_recvmmsg = no\n"
	"enable_sendmmsg = no\n"
	"max_batch_size = 64\n"
	"batch_timeout_us = 500\n"
	"[performance.platform.socket]\n"
	"recv_buffer_kb = 0\n"
	"send_buffer_kb = 1048576\n"
	"reuse_address = no\n"
	"reuse_port = no\n";

static void
check_every_key(const struct tftpd_config *c)
{
	char buf[SOCKADDR_STRLEN];

	assert_int_equal(c->nlisten, 2);
	assert_string_equal(sockaddr_str(
	    (const struct sockaddr *)&c->listen[0].ss, buf, sizeof(buf)),
	    "127.0.0.1:6969");
	assert_int_equal(c->listen[0].len, sizeof(struct sockaddr_in));
	assert_string_equal(sockaddr_str(
	    (const struct sockaddr *)&c->listen[1].ss, buf, sizeof(buf)),
	    "[::1]:6970");
	assert_int_equal(c->listen[1].len, sizeof(struct sockaddr_in6));
	assert_int_equal(c->family, FAMILY_IPV6);
	assert_string_equal(c->root, "/tmp/root");
	assert_string_equal(c->user, "nobody");
	assert_int_equal(c->workers, 1);
	assert_string_equal(c->pid_file, "/run/x.pid");
	assert_string_equal(c->runtime_dir, "/run/y");
	assert_true(c->foreground);
	assert_int_equal(c->log, LOG_TO_STDERR);
	assert_true(c->log_set);
	assert_int_equal(c->log_level, LOG_DEBUG);
	assert_string_equal(c->instance, "lab-1_a.b");
	assert_int_equal(c->drain_timeout, 0);
	assert_int_equal(c->idle_timeout, 60);
	assert_int_equal(c->worker_stall_timeout, 0);

	assert_int_equal(c->timeout_ms, 3000);
	assert_int_equal(c->retries, 7);
	assert_int_equal(c->max_blksize, 1428);
	assert_int_equal(c->max_windowsize, 16);
	assert_int_equal(c->allowed_opts, TFTP_OPT_BIT(TFTP_OPT_BLKSIZE) |
	    TFTP_OPT_BIT(TFTP_OPT_TSIZE));
	assert_false(c->netascii);
	assert_false(c->follow_symlinks);
	assert_true(c->permissive);
	assert_int_equal(c->port_min, 30000);
	assert_int_equal(c->port_max, 30010);
	assert_int_equal(c->max_transfers, 99);
	assert_true(c->single_port);
	assert_true(c->map_backslash);
	assert_true(c->ignore_case);
	assert_int_equal(c->client_root, CLIENT_ROOT_IP);

	assert_true(c->write_enable);
	assert_true(c->write_create);
	assert_false(c->write_overwrite);
	assert_int_equal(c->umask, 027);
	assert_int_equal(c->max_file_size, 16 << 20);
	assert_int_equal(c->nwrite_allow, 2);
	assert_string_equal(c->write_allow[0], "uploads/*");
	assert_string_equal(c->write_allow[1], "cfg/*.conf");
	assert_false(c->fsync);

	assert_int_equal(c->acl_read_allow.n, 2);
	assert_int_equal(c->acl_read_allow.p[0].family, AF_INET);
	assert_int_equal(c->acl_read_allow.p[0].len, 8);
	assert_int_equal(c->acl_read_allow.p[1].family, AF_INET6);
	assert_int_equal(c->acl_read_allow.p[1].len, 32);
	assert_int_equal(c->acl_read_deny.n, 1);
	assert_int_equal(c->acl_read_deny.p[0].len, 32);
	assert_int_equal(c->acl_write_allow.n, 1);
	assert_int_equal(c->acl_write_deny.n, 1);
	assert_int_equal(c->acl_write_deny.p[0].family, AF_INET);
	assert_int_equal(c->acl_write_deny.p[0].len, 25);
	assert_int_equal(c->acl_write_deny.p[0].addr[3], 128);
	assert_int_equal(c->refuse, REFUSE_DROP);

	assert_int_equal(c->buffer_pool_size, 512);
	assert_false(c->enable_recvmmsg);
	assert_false(c->enable_sendmmsg);
	assert_int_equal(c->max_batch_size, 64);
	assert_int_equal(c->batch_timeout_us, 500);
	assert_int_equal(c->recv_buffer_kb, 0);
	assert_int_equal(c->send_buffer_kb, 1048576);
	assert_false(c->reuse_address);
	assert_false(c->reuse_port);
}

static void
test_every_key_from_file(void **state)
{
	struct tftpd_config c;
	char err[ERRLEN];

	assert_int_equal(load_ini(&c, every_key, err), 0);
	assert_string_equal(err, "");
	check_every_key(&c);
	assert_int_equal(config_validate(&c, err, sizeof(err)), 0);
}

/* Numeric keys and their ranges, as the spec table gives them. */
#define F(f)	offsetof(struct tftpd_config, f)
static const struct {
	const char	*section;
	const char	*key;
	uint32_t	 min;
	uint32_t	 max;
	size_t		 off;		/* a uint32_t */
	uint32_t	 scale;	/* stored value = given * scale */
} ranges[] = {
	{ "server", "workers", 0, 256, F(workers), 1 },
	{ "server", "drain_timeout", 0, 3600, F(drain_timeout), 1 },
	{ "server", "idle_timeout", 0, 86400, F(idle_timeout), 1 },
	{ "server", "worker_stall_timeout", 0, 3600,
	    F(worker_stall_timeout), 1 },
	{ "transfer", "timeout", 1, 255, F(timeout_ms), 1000 },
	{ "transfer", "retries", 1, 100, F(retries), 1 },
	{ "transfer", "unverified_retransmits", 0, 3,
	    F(unverified_retransmits), 1 },
	{ "transfer", "unverified_timeout", 1, 60, F(unverified_timeout), 1 },
	{ "transfer", "max_blksize", 8, 65464, F(max_blksize), 1 },
	{ "transfer", "max_windowsize", 1, 32768, F(max_windowsize), 1 },
	{ "transfer", "max_transfers", 1, 65536, F(max_transfers), 1 },
	{ "limits", "per_client_transfers", 0, 65536,
	    F(per_client_transfers), 1 },
	{ "limits", "per_client_rate", 0, 1000000, F(per_client_rate), 1 },
	{ "limits", "per_client_burst", 1, 1000000, F(per_client_burst), 1 },
	{ "limits", "unverified_bytes_rate", 0, 1000000000,
	    F(unverified_bytes_rate), 1 },
	{ "limits", "unverified_bytes_burst", 65536, 1000000000,
	    F(unverified_bytes_burst), 1 },
	{ "performance", "buffer_pool_size", 1, 65536, F(buffer_pool_size),
	    1 },
	{ "performance.platform.batch", "max_batch_size", 1, 1024,
	    F(max_batch_size), 1 },
	{ "performance.platform.batch", "batch_timeout_us", 0, 1000000,
	    F(batch_timeout_us), 1 },
	{ "performance.platform.socket", "recv_buffer_kb", 0, 1048576,
	    F(recv_buffer_kb), 1 },
	{ "performance.platform.socket", "send_buffer_kb", 0, 1048576,
	    F(send_buffer_kb), 1 },
};
#undef F

static uint32_t
field_u32(const struct tftpd_config *c, size_t off)
{
	uint32_t v;

	memcpy(&v, (const char *)c + off, sizeof(v));
	return v;
}

static void
test_ranges(void **state)
{
	struct tftpd_config c, d;
	char err[ERRLEN], want[WANTLEN], ini[256], v[32];
	size_t i;

	for (i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
		/* Both ends are accepted, from a file and by config_set. */
		snprintf(ini, sizeof(ini), "[%s]\n%s = %u\n",
		    ranges[i].section, ranges[i].key, ranges[i].min);
		assert_int_equal(load_ini(&c, ini, err), 0);
		assert_int_equal(field_u32(&c, ranges[i].off),
		    ranges[i].min * ranges[i].scale);
		assert_int_equal(config_validate(&c, err, sizeof(err)), 0);
		snprintf(v, sizeof(v), "%u", ranges[i].max);
		assert_int_equal(config_set(&c, ranges[i].section,
		    ranges[i].key, v, err, sizeof(err)), 0);
		assert_int_equal(field_u32(&c, ranges[i].off),
		    ranges[i].max * ranges[i].scale);
		assert_int_equal(config_validate(&c, err, sizeof(err)), 0);
		d = c;

		/* One past each end is refused, through the file too. */
		if (ranges[i].min > 0) {
			snprintf(v, sizeof(v), "%u", ranges[i].min - 1);
			assert_int_equal(config_set(&c, ranges[i].section,
			    ranges[i].key, v, err, sizeof(err)), -ERANGE);
			snprintf(want, sizeof(want), "%s.%s: \"%s\" is out "
			    "of range %u..%u", ranges[i].section,
			    ranges[i].key, v, ranges[i].min, ranges[i].max);
			assert_string_equal(err, want);
			/* A refused value leaves the old one. */
			assert_memory_equal(&c, &d, sizeof(c));
		}
		snprintf(v, sizeof(v), "%u", ranges[i].max + 1);
		snprintf(ini, sizeof(ini), "[%s]\n%s = %s\n",
		    ranges[i].section, ranges[i].key, v);
		snprintf(want, sizeof(want), "[%s] %s: \"%s\" is out of "
		    "range %u..%u", ranges[i].section, ranges[i].key, v,
		    ranges[i].min, ranges[i].max);
		expect_load_error(ini, -ERANGE, 2, want);

		snprintf(ini, sizeof(ini), "[%s]\n\n%s = -1\n",
		    ranges[i].section, ranges[i].key);
		snprintf(want, sizeof(want), "[%s] %s: \"-1\" is not a "
		    "number", ranges[i].section, ranges[i].key);
		expect_load_error(ini, -EINVAL, 3, want);
	}
}

static const struct {
	const char	*section;
	const char	*key;
	size_t		 off;
} bools[] = {
	{ "server", "foreground", offsetof(struct tftpd_config, foreground) },
	{ "transfer", "netascii", offsetof(struct tftpd_config, netascii) },
	{ "transfer", "follow_symlinks",
	    offsetof(struct tftpd_config, follow_symlinks) },
	{ "transfer", "permissive", offsetof(struct tftpd_config, permissive) },
	{ "transfer", "single_port", offsetof(struct tftpd_config, single_port) },
	{ "transfer", "map_backslash",
	    offsetof(struct tftpd_config, map_backslash) },
	{ "transfer", "ignore_case", offsetof(struct tftpd_config, ignore_case) },
	{ "write", "enable", offsetof(struct tftpd_config, write_enable) },
	{ "write", "create", offsetof(struct tftpd_config, write_create) },
	{ "write", "overwrite",
	    offsetof(struct tftpd_config, write_overwrite) },
	{ "write", "fsync", offsetof(struct tftpd_config, fsync) },
	{ "performance.platform.batch", "enable_recvmmsg",
	    offsetof(struct tftpd_config, enable_recvmmsg) },
	{ "performance.platform.batch", "enable_sendmmsg",
	    offsetof(struct tftpd_config, enable_sendmmsg) },
	{ "performance.platform.socket", "reuse_address",
	    offsetof(struct tftpd_config, reuse_address) },
	{ "performance.platform.socket", "reuse_port",
	    offsetof(struct tftpd_config, reuse_port) },
};

static void
test_bools(void **state)
{
	struct tftpd_config c;
	char err[ERRLEN], want[WANTLEN], ini[256];
	bool b;
	size_t i;

	for (i = 0; i < sizeof(bools) / sizeof(bools[0]); i++) {
		config_defaults(&c);
		assert_int_equal(config_set(&c, bools[i].section,
		    bools[i].key, "ON", err, sizeof(err)), 0);
		memcpy(&b, (char *)&c + bools[i].off, sizeof(b));
		assert_true(b);
		assert_int_equal(config_set(&c, bools[i].section,
		    bools[i].key, "false", err, sizeof(err)), 0);
		memcpy(&b, (char *)&c + bools[i].off, sizeof(b));
		assert_false(b);

		snprintf(ini, sizeof(ini), "# x\n[%s]\n%s = maybe\n",
		    bools[i].section, bools[i].key);
		snprintf(want, sizeof(want), "[%s] %s: \"maybe\" is not a "
		    "boolean (yes/no, true/false, on/off, 1/0)",
		    bools[i].section, bools[i].key);
		expect_load_error(ini, -EINVAL, 3, want);
	}
}

static void
test_error_messages(void **state)
{
	/* The example of the spec, with the line counted past comments. */
	expect_load_error(
	    "# snowowl-tftpd\n"
	    "; comment\n"
	    "\n"
	    "[server]\n"
	    "root = /srv\n"
	    "\n"
	    "[transfer]\n"
	    "retries = 3\n"
	    "\n"
	    "   # indented comment\n"
	    "max_blksize = 1024\n"
	    "timeout = 0\n"
	    "retries = 9\n",
	    -ERANGE, 12,
	    "[transfer] timeout: \"0\" is out of range 1..255");
	expect_load_error("[transfer]\nretries = abc\n", -EINVAL, 2,
	    "[transfer] retries: \"abc\" is not a number");
	expect_load_error("[server]\nroot = /srv\ncolour = blue\n", -EINVAL,
	    3, "[server] colour: unknown key");
	/* Keys are per section: timeout is not a [server] key. */
	expect_load_error("[server]\ntimeout = 5\n", -EINVAL, 2,
	    "[server] timeout: unknown key");
	/* Section names are exact, dots included. */
	expect_load_error("[server]\nuser = x\n\n[serverx]\nroot = /\n",
	    -EINVAL, 4, "[serverx]: unknown section");
	expect_load_error("[performance.platform]\n", -EINVAL, 1,
	    "[performance.platform]: unknown section");
	expect_load_error("[server]\n[Server]\n", -EINVAL, 2,
	    "[Server]: unknown section");
	expect_load_error("[]\n", -EINVAL, 1, "[]: unknown section");
	expect_load_error("timeout = 5\n", -EINVAL, 1,
	    "timeout: outside of any [section]");
	expect_load_error("[server]\njust words\n", -EINVAL, 2,
	    "syntax error: expected \"[section]\" or \"key = value\"");
	expect_load_error("[server]\n[transfer\n", -EINVAL, 2,
	    "syntax error: missing ']'");
	expect_load_error("[server]\nfamily = ipv5\n", -EINVAL, 2,
	    "[server] family: \"ipv5\" is not one of any, ipv4, ipv6");
	expect_load_error("[transfer]\nclient_root = mac\n", -EINVAL, 2,
	    "[transfer] client_root: \"mac\" is not one of no, ip");
	expect_load_error("[server]\nlog = file\n", -EINVAL, 2,
	    "[server] log: \"file\" is not one of syslog, stderr");
	expect_load_error("[server]\nlog_level = verbose\n", -EINVAL, 2,
	    "[server] log_level: \"verbose\" is not one of err, warning, "
	    "notice, info, debug");
	expect_load_error("[server]\nroot =\n", -EINVAL, 2,
	    "[server] root: must not be empty");
	expect_load_error("[server]\nuser =\n", -EINVAL, 2,
	    "[server] user: must not be empty");
	expect_load_error("[server]\nruntime_dir =\n", -EINVAL, 2,
	    "[server] runtime_dir: must not be empty");
	expect_load_error("[transfer]\nallow_options = blksize blocksize\n",
	    -EINVAL, 2,
	    "[transfer] allow_options: unknown option \"blocksize\"");
	expect_load_error("[transfer]\nrefuse_options = mtu\n", -EINVAL, 2,
	    "[transfer] refuse_options: unknown option \"mtu\"");
	expect_load_error("[server]\nlisten = 127.0.0.1:69 1.2.3.4:0\n",
	    -EINVAL, 2, "[server] listen: \"1.2.3.4:0\" is not an address: "
	    "[ADDR][:PORT] or NAME[:PORT], IPv6 in brackets when a port "
	    "follows");
	/* A name is looked up; the resolver's reason follows. */
	{
		struct tftpd_config c;
		char err[ERRLEN], want[WANTLEN];

		assert_int_equal(load_ini(&c, "[server]\n"
		    "listen = tftp.example.invalid\n", err), -ENOENT);
		snprintf(want, sizeof(want), "%s:2: [server] listen: cannot "
		    "resolve \"tftp.example.invalid\": ", ini_path);
		assert_prefix(err, want);
	}
	expect_load_error("[transfer]\nport_range = 2000-3000\n", -EINVAL, 2,
	    "[transfer] port_range: \"2000-3000\" is not LO:HI");
	expect_load_error("[transfer]\nport_range = 3000:2000\n", -ERANGE, 2,
	    "[transfer] port_range: \"3000:2000\": ports must be 1..65535 "
	    "with LO <= HI");
	expect_load_error("[transfer]\nport_range = 0:10\n", -ERANGE, 2,
	    "[transfer] port_range: \"0:10\": ports must be 1..65535 "
	    "with LO <= HI");
	expect_load_error("[transfer]\nport_range = 1:65536\n", -ERANGE, 2,
	    "[transfer] port_range: \"1:65536\": ports must be 1..65535 "
	    "with LO <= HI");
	expect_load_error("[write]\numask = 0800\n", -EINVAL, 2,
	    "[write] umask: \"0800\" is not an octal mask");
	expect_load_error("[write]\numask = 1000\n", -ERANGE, 2,
	    "[write] umask: \"1000\" is out of range 000..0777");
	expect_load_error("[write]\nmax_file_size = 10X\n", -EINVAL, 2,
	    "[write] max_file_size: \"10X\" is not a size (a number with an "
	    "optional K, M, G or T)");
	expect_load_error("[write]\nmax_file_size = 99999999T\n", -ERANGE, 2,
	    "[write] max_file_size: \"99999999T\" is too large");
	expect_load_error("[write]\nallow = /\n", -EINVAL, 2,
	    "[write] allow: pattern \"/\" matches no file name");
	/* Offending text is escaped before it is quoted back. */
	expect_load_error("[transfer]\ntimeout = 1\x01\n", -EINVAL, 2,
	    "[transfer] timeout: \"1\\001\" is not a number");
	expect_load_error("[transfer]\ntimeout = 5\"\n", -EINVAL, 2,
	    "[transfer] timeout: \"5\\042\" is not a number");
}

static void
test_error_line_too_long(void **state)
{
	static const char nul_ini[] = "[write]\nfsync = no\0 junk\n";
	struct tftpd_config c;
	char err[ERRLEN], want[WANTLEN];
	char ini[2048];
	int n;

	/* libinih reads lines into a fixed buffer; the rest of a long line
	 * must not become a line of its own. */
	n = snprintf(ini, sizeof(ini), "[write]\nallow = ");
	memset(ini + n, 'a', 1000);
	snprintf(ini + n + 1000, sizeof(ini) - (size_t)n - 1000,
	    " b\nfsync = no\n");
	assert_true(load_ini(&c, ini, err) < 0);
	snprintf(want, sizeof(want), "%s:2: line longer than ", ini_path);
	assert_memory_equal(err, want, strlen(want));
	assert_non_null(strstr(err, "(repeat a list key to continue a list)"));
	assert_int_equal(c.nwrite_allow, 0);
	assert_true(c.fsync);

	/* A long comment is fine, and its tail is not read as a line. */
	n = snprintf(ini, sizeof(ini), "[write]\n# ");
	memset(ini + n, 'x', 500);
	snprintf(ini + n + 500, sizeof(ini) - (size_t)n - 500,
	    " fsync = no\n; %0400d create = yes\nenable = yes\n", 0);
	assert_int_equal(load_ini(&c, ini, err), 0);
	assert_true(c.fsync);
	assert_false(c.write_create);
	assert_true(c.write_enable);

	/* A NUL byte is not silently the end of the line. */
	assert_int_equal(config_load(&c, write_named("nul.ini", nul_ini,
	    sizeof(nul_ini) - 1), true, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s/nul.ini:2: NUL byte in line",
	    tmpdir);
	assert_string_equal(err, want);
}

/* The first error ends the load: later lines are neither applied nor
 * reported. */
static void
test_first_error_stops(void **state)
{
	struct tftpd_config c;
	char err[ERRLEN], want[WANTLEN];

	assert_int_equal(load_ini(&c,
	    "[transfer]\n"
	    "retries = 8\n"
	    "timeout = 300\n"
	    "max_blksize = 512\n"
	    "bogus = 1\n", err), -ERANGE);
	snprintf(want, sizeof(want), "%s:3: [transfer] timeout: \"300\" is "
	    "out of range 1..255", ini_path);
	assert_string_equal(err, want);
	assert_int_equal(c.retries, 8);
	assert_int_equal(c.max_blksize, 65464);

	/* A syntax error before a bad value is the one reported. */
	assert_int_equal(load_ini(&c,
	    "[transfer]\n"
	    "retries\n"
	    "timeout = 0\n", err), -EINVAL);
	snprintf(want, sizeof(want), "%s:2: syntax error: expected "
	    "\"[section]\" or \"key = value\"", ini_path);
	assert_string_equal(err, want);
}

static void
test_missing_file(void **state)
{
	struct tftpd_config c, d;
	char err[ERRLEN], want[WANTLEN], path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/does-not-exist.conf", tmpdir);
	config_defaults(&c);
	config_defaults(&d);
	assert_int_equal(config_load(&c, path, true, err, sizeof(err)),
	    -ENOENT);
	snprintf(want, sizeof(want), "%s: No such file or directory", path);
	assert_string_equal(err, want);

	/* Optional: a missing file is no error and changes nothing. */
	err[0] = '\0';
	assert_int_equal(config_load(&c, path, false, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_memory_equal(&c, &d, sizeof(c));

	/* But an optional file that exists and is wrong is an error. */
	assert_int_equal(config_load(&c, tmpdir, false, err, sizeof(err)),
	    -EISDIR);
	snprintf(want, sizeof(want), "%s: Is a directory", tmpdir);
	assert_string_equal(err, want);

	/* An empty file, and /dev/null, are valid and change nothing. */
	assert_int_equal(config_load(&c, write_ini(""), true, err,
	    sizeof(err)), 0);
	assert_int_equal(config_load(&c, "/dev/null", true, err,
	    sizeof(err)), 0);
	assert_memory_equal(&c, &d, sizeof(c));
}

static void
test_syntax_forms(void **state)
{
	struct tftpd_config c;
	char err[ERRLEN];

	assert_int_equal(load_ini(&c,
	    "\xef\xbb\xbf# BOM, then CRLF lines\r\n"
	    "[transfer]\r\n"
	    "  timeout = 5 ; inline comment\r\n"
	    "\tretries=4\r\n"
	    "max_blksize: 1024\r\n"
	    "max_windowsize = 2\r\n"
	    "max_windowsize = 3\r\n"
	    "[server]\n"
	    "  root = /srv/a b\n"
	    "[transfer]\n"
	    "max_transfers = 10\n", err), 0);
	assert_int_equal(c.timeout_ms, 5000);
	/* Indented keys are keys, not continuations of the one before. */
	assert_int_equal(c.retries, 4);
	assert_int_equal(c.max_blksize, 1024);
	/* A scalar given twice: the last wins. */
	assert_int_equal(c.max_windowsize, 3);
	assert_string_equal(c.root, "/srv/a b");
	/* A section may be reopened. */
	assert_int_equal(c.max_transfers, 10);
}

static void
test_lists(void **state)
{
	struct tftpd_config c;
	char err[ERRLEN], buf[SOCKADDR_STRLEN];
	const struct sockaddr *sa;

	/* Repeating a list key in one file adds to the list. */
	assert_int_equal(load_ini(&c,
	    "[server]\n"
	    "listen = 127.0.0.1:1, 127.0.0.2:2\n"
	    "listen = [::1]:3\n"
	    "[write]\n"
	    "allow = a/*\n"
	    "allow = b/* c\n", err), 0);
	assert_int_equal(c.nlisten, 3);
	sa = (const struct sockaddr *)&c.listen[2].ss;
	assert_string_equal(sockaddr_str(sa, buf, sizeof(buf)), "[::1]:3");
	assert_int_equal(c.nwrite_allow, 3);
	assert_string_equal(c.write_allow[0], "a/*");
	assert_string_equal(c.write_allow[2], "c");

	/* A second file replaces what the first gave. */
	assert_int_equal(config_load(&c, write_ini(
	    "[server]\nlisten = 127.0.0.9\n[write]\nallow = z\n"), true,
	    err, sizeof(err)), 0);
	assert_int_equal(c.nlisten, 1);
	sa = (const struct sockaddr *)&c.listen[0].ss;
	assert_string_equal(sockaddr_str(sa, buf, sizeof(buf)),
	    "127.0.0.9:69");
	assert_int_equal(c.nwrite_allow, 1);
	assert_string_equal(c.write_allow[0], "z");

	/* config_set replaces too; an empty value empties the list. */
	assert_int_equal(config_set(&c, "write", "allow", "x y", err,
	    sizeof(err)), 0);
	assert_int_equal(c.nwrite_allow, 2);
	assert_string_equal(c.write_allow[0], "x");
	assert_int_equal(config_set(&c, "write", "allow", "", err,
	    sizeof(err)), 0);
	assert_int_equal(c.nwrite_allow, 0);
	assert_int_equal(config_set(&c, "server", "listen", "", err,
	    sizeof(err)), 0);
	assert_int_equal(c.nlisten, 0);

	/* A port without an address: both wildcards. */
	assert_int_equal(config_set(&c, "server", "listen", ":6969", err,
	    sizeof(err)), 0);
	assert_int_equal(c.nlisten, 2);
	assert_string_equal(sockaddr_str((struct sockaddr *)&c.listen[0].ss,
	    buf, sizeof(buf)), "0.0.0.0:6969");
	assert_string_equal(sockaddr_str((struct sockaddr *)&c.listen[1].ss,
	    buf, sizeof(buf)), "[::]:6969");

	/* Limits: 16 addresses, 32 patterns. */
	assert_int_equal(config_set(&c, "server", "listen",
	    "127.0.0.1:1 127.0.0.1:2 127.0.0.1:3 127.0.0.1:4 127.0.0.1:5 "
	    "127.0.0.1:6 127.0.0.1:7 127.0.0.1:8 127.0.0.1:9 127.0.0.1:10 "
	    "127.0.0.1:11 127.0.0.1:12 127.0.0.1:13 127.0.0.1:14 "
	    "127.0.0.1:15 :16", err, sizeof(err)), -E2BIG);
	assert_string_equal(err, "server.listen: more than 16 addresses");
	assert_int_equal(c.nlisten, 2);		/* unchanged on error */
	assert_int_equal(config_set(&c, "server", "listen",
	    "127.0.0.1:1 127.0.0.1:2 127.0.0.1:3 127.0.0.1:4 127.0.0.1:5 "
	    "127.0.0.1:6 127.0.0.1:7 127.0.0.1:8 127.0.0.1:9 127.0.0.1:10 "
	    "127.0.0.1:11 127.0.0.1:12 127.0.0.1:13 127.0.0.1:14 :15",
	    err, sizeof(err)), 0);
	assert_int_equal(c.nlisten, 16);
	assert_int_equal(config_set(&c, "write", "allow",
	    "1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 "
	    "25 26 27 28 29 30 31 32", err, sizeof(err)), 0);
	assert_int_equal(c.nwrite_allow, 32);
	assert_string_equal(c.write_allow[31], "32");
	assert_int_equal(config_set(&c, "write", "allow",
	    "1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 "
	    "25 26 27 28 29 30 31 32 33", err, sizeof(err)), -E2BIG);
	assert_string_equal(err, "write.allow: more than 32 patterns");
	assert_int_equal(c.nwrite_allow, 32);
}

static void
test_options_lists(void **state)
{
	struct tftpd_config c;
	char err[ERRLEN];
	const uint32_t all = TFTP_OPT_ALL;

	/* refuse_options wins wherever it stands in the file. */
	assert_int_equal(load_ini(&c,
	    "[transfer]\n"
	    "refuse_options = tsize\n"
	    "allow_options = blksize tsize rollover\n"
	    "refuse_options = ROLLOVER\n", err), 0);
	assert_int_equal(c.allowed_opts, TFTP_OPT_BIT(TFTP_OPT_BLKSIZE));

	assert_int_equal(load_ini(&c,
	    "[transfer]\nallow_options =\n", err), 0);
	assert_int_equal(c.allowed_opts, 0);
	assert_int_equal(load_ini(&c,
	    "[transfer]\nrefuse_options = utimeout, timeout\n", err), 0);
	assert_int_equal(c.allowed_opts, all &
	    ~(TFTP_OPT_BIT(TFTP_OPT_UTIMEOUT) |
	    TFTP_OPT_BIT(TFTP_OPT_TIMEOUT)));

	/* config_set: allow replaces, refuse takes away. */
	assert_int_equal(config_set(&c, "transfer", "allow_options",
	    "windowsize", err, sizeof(err)), 0);
	assert_int_equal(c.allowed_opts, TFTP_OPT_BIT(TFTP_OPT_WINDOWSIZE));
	assert_int_equal(config_set(&c, "transfer", "refuse_options",
	    "windowsize", err, sizeof(err)), 0);
	assert_int_equal(c.allowed_opts, 0);
}

static void
test_config_set_errors(void **state)
{
	struct tftpd_config c, d;
	char err[ERRLEN];

	config_defaults(&c);
	config_defaults(&d);
	assert_int_equal(config_set(&c, "transfer", "timeout", "0", err,
	    sizeof(err)), -ERANGE);
	assert_string_equal(err,
	    "transfer.timeout: \"0\" is out of range 1..255");
	assert_int_equal(config_set(&c, "nosuch", "key", "1", err,
	    sizeof(err)), -EINVAL);
	assert_string_equal(err, "nosuch.key: unknown section");
	assert_int_equal(config_set(&c, "server", "nosuch", "1", err,
	    sizeof(err)), -EINVAL);
	assert_string_equal(err, "server.nosuch: unknown key");
	assert_int_equal(config_set(&c, "write", "umask", "9", err,
	    sizeof(err)), -EINVAL);
	assert_string_equal(err, "write.umask: \"9\" is not an octal mask");
	/* Failed sets leave the configuration alone. */
	assert_memory_equal(&c, &d, sizeof(c));

	assert_int_equal(config_set(&c, "transfer", "timeout", "255", err,
	    sizeof(err)), 0);
	assert_int_equal(c.timeout_ms, 255000);
	assert_int_equal(config_set(&c, "write", "max_file_size", "1T", err,
	    sizeof(err)), 0);
	assert_true(c.max_file_size == 1ULL << 40);
	assert_int_equal(config_set(&c, "server", "log", "syslog", err,
	    sizeof(err)), 0);
	assert_true(c.log_set);
}

static void
expect_invalid(const struct tftpd_config *c, const char *msg)
{
	char err[ERRLEN];

	assert_true(config_validate(c, err, sizeof(err)) < 0);
	assert_string_equal(err, msg);
}

static void
test_validate(void **state)
{
	struct tftpd_config c;
	char err[ERRLEN];

	config_defaults(&c);
	c.port_min = 2000;
	c.port_max = 1000;
	expect_invalid(&c, "transfer.port_range: 2000:1000: ports must be "
	    "1..65535 with LO <= HI");
	c.port_min = 0;
	c.port_max = 10;
	expect_invalid(&c, "transfer.port_range: 0:10: ports must be "
	    "1..65535 with LO <= HI");
	c.port_min = 10;
	assert_int_equal(config_validate(&c, err, sizeof(err)), 0);

	/* The same address twice would bind twice with SO_REUSEPORT. */
	config_defaults(&c);
	assert_int_equal(config_set(&c, "server", "listen",
	    "127.0.0.1:69, 127.0.0.1", err, sizeof(err)), 0);
	expect_invalid(&c, "server.listen: 127.0.0.1:69 is given twice");

	/* family must leave at least one listen address. */
	config_defaults(&c);
	assert_int_equal(config_set(&c, "server", "listen", "[::1]:69", err,
	    sizeof(err)), 0);
	assert_int_equal(config_set(&c, "server", "family", "ipv4", err,
	    sizeof(err)), 0);
	expect_invalid(&c, "server.listen: no address of family ipv4 "
	    "(server.family)");
	assert_int_equal(config_set(&c, "server", "family", "ipv6", err,
	    sizeof(err)), 0);
	assert_int_equal(config_validate(&c, err, sizeof(err)), 0);
	assert_int_equal(config_set(&c, "server", "listen", ":69", err,
	    sizeof(err)), 0);
	assert_int_equal(config_validate(&c, err, sizeof(err)), 0);

	/* Ranges are checked again for a struct filled by hand. */
	config_defaults(&c);
	c.retries = 0;
	expect_invalid(&c, "transfer.retries: 0 is out of range 1..100");
	config_defaults(&c);
	c.max_windowsize = 32769;
	expect_invalid(&c, "transfer.max_windowsize: 32769 is out of range "
	    "1..32768");
	config_defaults(&c);
	c.timeout_ms = 9;
	expect_invalid(&c, "transfer.timeout: 9 ms is out of range "
	    "10..255000 ms");
	c.timeout_ms = 10;
	assert_int_equal(config_validate(&c, err, sizeof(err)), 0);
	c.timeout_ms = 255001;
	expect_invalid(&c, "transfer.timeout: 255001 ms is out of range "
	    "10..255000 ms");
	config_defaults(&c);
	c.root[0] = '\0';
	expect_invalid(&c, "server.root: must not be empty");
	config_defaults(&c);
	memset(c.runtime_dir, 'a', sizeof(c.runtime_dir));
	expect_invalid(&c, "server.runtime_dir: not terminated");
	/* Each key's own failure, with its own reason. */
	config_defaults(&c);
	c.allowed_opts |= 1u << 20;
	expect_invalid(&c, "transfer.allow_options: unknown option bits "
	    "0x100000");
	config_defaults(&c);
	c.umask = 01000;
	expect_invalid(&c, "write.umask: 01000 is out of range 000..0777");
	config_defaults(&c);
	c.log_level = LOG_EMERG;
	expect_invalid(&c, "server.log_level: 0 is not one of err, warning, "
	    "notice, info, debug");
	config_defaults(&c);
	c.family = (enum config_family)7;
	expect_invalid(&c, "server.family: 7 is not one of any, ipv4, ipv6");
	config_defaults(&c);
	c.client_root = (enum config_client_root)2;
	expect_invalid(&c, "transfer.client_root: 2 is not one of no, ip");
	config_defaults(&c);
	c.log = LOG_TO_PIPE;
	expect_invalid(&c, "server.log: 2 is not one of syslog, stderr");
	/* single_port: each worker must own its listen sockets. */
	config_defaults(&c);
	c.single_port = true;
	assert_int_equal(config_validate(&c, err, sizeof(err)), 0);
	c.reuse_port = false;
	expect_invalid(&c, "transfer.single_port: the workers would share "
	    "one listen socket: needs performance.platform.socket.reuse_port "
	    "= yes or server.workers = 1");
	c.workers = 1;
	assert_int_equal(config_validate(&c, err, sizeof(err)), 0);
	config_defaults(&c);
	c.nlisten = CONFIG_MAX_LISTEN + 1;
	expect_invalid(&c, "server.listen: more than 16 addresses");
	config_defaults(&c);
	c.nlisten = 1;	/* an entry that was never filled in */
	expect_invalid(&c, "server.listen: entry 1 is not an IPv4 or IPv6 "
	    "address");
	config_defaults(&c);
	c.nwrite_allow = CONFIG_MAX_PATTERNS + 1;
	expect_invalid(&c, "write.allow: more than 32 patterns");
	config_defaults(&c);
	c.nwrite_allow = 1;
	expect_invalid(&c, "write.allow: pattern 1 is empty or not "
	    "terminated");
}

/* What config_dump prints, config_load reads back to the same struct. */
static void
test_dump_roundtrip(void **state)
{
	struct tftpd_config c, d;
	char err[ERRLEN], *text = NULL;
	size_t len = 0;
	FILE *fp;

	assert_int_equal(load_ini(&c, every_key, err), 0);
	assert_non_null(fp = open_memstream(&text, &len));
	config_dump(&c, fp);
	assert_int_equal(fclose(fp), 0);
	assert_non_null(strstr(text, "[performance.platform.batch]\n"));
	assert_non_null(strstr(text, "\nmax_file_size = 16777216\n"));
	assert_non_null(strstr(text, "\numask = 027\n"));
	assert_non_null(strstr(text,
	    "\nlisten = 127.0.0.1:6969\nlisten = [::1]:6970\n"));
	assert_int_equal(load_ini(&d, text, err), 0);
	assert_memory_equal(&c, &d, sizeof(c));
	free(text);

	/* The defaults too (log= is always written, so log_set differs). */
	config_defaults(&c);
	text = NULL;
	assert_non_null(fp = open_memstream(&text, &len));
	config_dump(&c, fp);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(load_ini(&d, text, err), 0);
	assert_true(d.log_set);
	d.log_set = false;
	assert_memory_equal(&c, &d, sizeof(c));
	free(text);
}

/* ---- command line ------------------------------------------------ */

/*
 * config_from_args() with the given arguments after the program name,
 * stdout and stderr captured into out/errout (may be NULL).
 */
static int
cli(struct tftpd_config *c, struct run_opts *run, char *out, char *errout,
    ...)
{
	char *argv[64];
	char outpath[PATH_MAX], errpath[PATH_MAX];
	const char *a;
	va_list ap;
	int argc = 0, r, so, se, fo, fe;
	ssize_t n;

	argv[argc++] = (char *)"snowowl-tftpd";
	va_start(ap, errout);
	while ((a = va_arg(ap, const char *)) != NULL) {
		assert_true(argc < 63);
		argv[argc++] = (char *)a;
	}
	va_end(ap);
	argv[argc] = NULL;

	snprintf(outpath, sizeof(outpath), "%s/stdout", tmpdir);
	snprintf(errpath, sizeof(errpath), "%s/stderr", tmpdir);
	fflush(stdout);
	fflush(stderr);
	assert_true((fo = open(outpath, O_RDWR | O_CREAT | O_TRUNC |
	    O_CLOEXEC, 0600)) >= 0);
	assert_true((fe = open(errpath, O_RDWR | O_CREAT | O_TRUNC |
	    O_CLOEXEC, 0600)) >= 0);
	so = dup(STDOUT_FILENO);
	se = dup(STDERR_FILENO);
	dup2(fo, STDOUT_FILENO);
	dup2(fe, STDERR_FILENO);
	r = config_from_args(argc, argv, c, run);
	fflush(stdout);
	fflush(stderr);
	dup2(so, STDOUT_FILENO);
	dup2(se, STDERR_FILENO);
	close(so);
	close(se);
	if (out != NULL) {
		n = pread(fo, out, 4095, 0);
		assert_true(n >= 0);
		out[n] = '\0';
	}
	if (errout != NULL) {
		n = pread(fe, errout, 4095, 0);
		assert_true(n >= 0);
		errout[n] = '\0';
	}
	close(fo);
	close(fe);
	return r;
}

/* A config file for the CLI tests, in its own path. */
static const char *
cli_ini(const char *content)
{
	static char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s",
	    write_named("cli.ini", content, strlen(content)));
	return path;
}

/*
 * in.tftpd's list of directories: root repeated in a file or given
 * several times on the command line, each whole (spaces kept), at most
 * CONFIG_MAX_ROOTS, printed a line each, checked like input.
 */
/*
 * [access]: lists repeat and add, errors name the file and line, the
 * bounds hold, and the settings a worker reads are checked as input.
 */
static void
test_access(void **state)
{
	struct tftpd_config c;
	char err[ERRLEN], text[64 * 16 + 64];
	size_t off = 0;
	int i;

	config_defaults(&c);
	assert_int_equal(c.acl_read_allow.n, 0);
	assert_int_equal(c.acl_write_deny.n, 0);
	assert_int_equal(c.refuse, REFUSE_ERROR);

	assert_int_equal(load_ini(&c,
	    "[access]\n"
	    "read_deny = 127.0.0.2\n"
	    "read_deny = 192.0.2.0/24, 2001:db8::/48\n"
	    "refuse = DROP\n", err), 0);
	assert_int_equal(c.acl_read_deny.n, 3);
	assert_int_equal(c.refuse, REFUSE_DROP);
	assert_int_equal(config_set(&c, "access", "read_deny", "", err,
	    sizeof(err)), 0);
	assert_int_equal(c.acl_read_deny.n, 0);

	expect_load_error("[access]\nread_allow = 10.0.0.0/8\n"
	    "write_deny = 10.0.0.1/8\n", -EINVAL, 3,
	    "[access] write_deny: \"10.0.0.1/8\": bits set beyond the prefix "
	    "length (the network is 10.0.0.0/8)");
	expect_load_error("[access]\nread_allow = 10.0.0.0/33\n", -EINVAL, 2,
	    "[access] read_allow: \"10.0.0.0/33\": prefix length 33 is out "
	    "of range 0..32");
	expect_load_error("[access]\n\nwrite_allow = pxe.example\n", -EINVAL,
	    3, "[access] write_allow: \"pxe.example\" is not an address or "
	    "prefix (ADDR or ADDR/LEN, IPv4 or IPv6)");
	expect_load_error("[access]\nrefuse = reject\n", -EINVAL, 2,
	    "[access] refuse: \"reject\" is not one of error, drop");

	/* 64 per list, across repeated lines too. */
	for (i = 0; i < 64; i++)
		off += (size_t)snprintf(text + off, sizeof(text) - off,
		    "10.%d.0.0/16 ", i);
	assert_int_equal(config_set(&c, "access", "write_deny", text, err,
	    sizeof(err)), 0);
	assert_int_equal(c.acl_write_deny.n, 64);
	assert_int_equal(config_add(&c, "access", "write_deny", "192.0.2.1",
	    err, sizeof(err)), -E2BIG);
	assert_string_equal(err, "access.write_deny: more than 64 prefixes");
	assert_int_equal(c.acl_write_deny.n, 64);
	expect_load_error("[access]\n"
	    "read_allow = 10.0.0.0/16 10.1.0.0/16 10.2.0.0/16 10.3.0.0/16 "
	    "10.4.0.0/16 10.5.0.0/16 10.6.0.0/16 10.7.0.0/16\n"
	    "read_allow = 10.0.0.0/16 10.1.0.0/16 10.2.0.0/16 10.3.0.0/16 "
	    "10.4.0.0/16 10.5.0.0/16 10.6.0.0/16 10.7.0.0/16\n"
	    "read_allow = 10.0.0.0/16 10.1.0.0/16 10.2.0.0/16 10.3.0.0/16 "
	    "10.4.0.0/16 10.5.0.0/16 10.6.0.0/16 10.7.0.0/16\n"
	    "read_allow = 10.0.0.0/16 10.1.0.0/16 10.2.0.0/16 10.3.0.0/16 "
	    "10.4.0.0/16 10.5.0.0/16 10.6.0.0/16 10.7.0.0/16\n"
	    "read_allow = 10.0.0.0/16 10.1.0.0/16 10.2.0.0/16 10.3.0.0/16 "
	    "10.4.0.0/16 10.5.0.0/16 10.6.0.0/16 10.7.0.0/16\n"
	    "read_allow = 10.0.0.0/16 10.1.0.0/16 10.2.0.0/16 10.3.0.0/16 "
	    "10.4.0.0/16 10.5.0.0/16 10.6.0.0/16 10.7.0.0/16\n"
	    "read_allow = 10.0.0.0/16 10.1.0.0/16 10.2.0.0/16 10.3.0.0/16 "
	    "10.4.0.0/16 10.5.0.0/16 10.6.0.0/16 10.7.0.0/16\n"
	    "read_allow = 10.0.0.0/16 10.1.0.0/16 10.2.0.0/16 10.3.0.0/16 "
	    "10.4.0.0/16 10.5.0.0/16 10.6.0.0/16 10.7.0.0/16\n"
	    "read_allow = ::1\n", -E2BIG, 10,
	    "[access] read_allow: more than 64 prefixes");

	/* What the segment could hold: checked by config_validate(). */
	config_defaults(&c);
	c.acl_read_allow.n = 65;
	expect_invalid(&c, "access.read_allow: 65 prefixes, more than 64");
	config_defaults(&c);
	c.acl_write_allow.n = 1;
	c.acl_write_allow.p[0].family = AF_INET;
	c.acl_write_allow.p[0].len = 8;
	c.acl_write_allow.p[0].addr[2] = 1;
	expect_invalid(&c, "access.write_allow: prefix 1: bad length, host "
	    "bits or padding");
	config_defaults(&c);
	c.refuse = (enum config_refuse)2;
	expect_invalid(&c, "access.refuse: 2 is not one of error, drop");
}

static void
test_roots(void **state)
{
	struct tftpd_config c;
	const char *dirs[CONFIG_MAX_ROOTS];
	struct run_opts run;
	char err[ERRLEN], big[3001], *dump = NULL;
	size_t len = 0;
	FILE *fp;

	config_defaults(&c);
	assert_int_equal(c.nroot, 1);
	assert_int_equal(config_roots(&c, dirs, CONFIG_MAX_ROOTS), 1);
	assert_string_equal(dirs[0], "/srv/tftp");

	assert_int_equal(load_ini(&c, "[server]\nroot = /srv/a b\n"
	    "root = /srv/c,d\n", err), 0);
	assert_int_equal(config_roots(&c, dirs, CONFIG_MAX_ROOTS), 2);
	assert_string_equal(dirs[0], "/srv/a b");
	assert_string_equal(dirs[1], "/srv/c,d");
	assert_string_equal(c.root, "/srv/a b");
	assert_non_null(fp = open_memstream(&dump, &len));
	assert_int_equal(config_print_key(&c, "server", "root", fp), 0);
	fclose(fp);
	assert_string_equal(dump, "root = /srv/a b\nroot = /srv/c,d\n");
	free(dump);

	/* The command line's first directory replaces the file's list. */
	assert_int_equal(cli(&c, &run, NULL, err, "--config", cli_ini(
	    "[server]\nroot = /file\n"), "/x", "/y", "/z", NULL), 0);
	assert_int_equal(config_roots(&c, dirs, CONFIG_MAX_ROOTS), 3);
	assert_string_equal(dirs[0], "/x");
	assert_string_equal(dirs[2], "/z");
	assert_false(c.secure);

	expect_load_error("[server]\nroot = /1\nroot = /2\nroot = /3\n"
	    "root = /4\nroot = /5\nroot = /6\nroot = /7\nroot = /8\n"
	    "root = /9\n", -E2BIG, 10,
	    "[server] root: more than 8 directories");
	expect_load_error("[server]\nroot = /a\nroot =\n", -EINVAL, 3,
	    "[server] root: must not be empty");
	assert_int_equal(load_ini(&c, "[server]\nroot = /a\nroot = /b\n"
	    "secure = yes\n", err), 0);
	expect_invalid(&c, "server.secure: takes exactly one root directory "
	    "(2 given), as in.tftpd -s");

	/* Together they fit where one path would. */
	config_defaults(&c);
	memset(big, 'a', sizeof(big) - 1);
	big[0] = '/';
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(config_set(&c, "server", "root", big, err,
	    sizeof(err)), 0);
	assert_int_equal(config_add(&c, "server", "root", big, err,
	    sizeof(err)), -ENAMETOOLONG);
	assert_string_equal(err, "server.root: the directories are "
	    "longer than 4095 bytes together");
	assert_int_equal(c.nroot, 1);

	/* From shared memory: a count the packed list does not hold. */
	config_defaults(&c);
	c.nroot = 2;
	expect_invalid(&c, "server.root: must not be empty");
	config_defaults(&c);
	memset(c.root, 'a', sizeof(c.root));
	expect_invalid(&c, "server.root: 1 directories, or not terminated "
	    "(1..8)");
	config_defaults(&c);
	c.nroot = 0;
	expect_invalid(&c, "server.root: 0 directories, or not terminated "
	    "(1..8)");
}

static void
test_cli_precedence(void **state)
{
	struct tftpd_config c;
	struct run_opts run;
	char err[4096];
	const char *p;

	p = cli_ini("[transfer]\nmax_blksize = 512\nretries = 9\n"
	    "[server]\nroot = /from/file\nuser = fileuser\n");
	assert_int_equal(cli(&c, &run, NULL, err, "--config", p, NULL), 0);
	assert_string_equal(err, "");
	assert_int_equal(c.max_blksize, 512);
	assert_string_equal(c.root, "/from/file");
	assert_true(run.config_given);
	assert_string_equal(run.config_path, p);

	/* The command line beats the file, even when given before it. */
	assert_int_equal(cli(&c, &run, NULL, err, "-B", "1024", "-u", "cli",
	    "--config", p, "/from/cli", NULL), 0);
	assert_int_equal(c.max_blksize, 1024);
	assert_int_equal(c.retries, 9);
	assert_string_equal(c.root, "/from/cli");
	assert_string_equal(c.user, "cli");

	/* Nothing leaks from one call into the next. */
	assert_int_equal(cli(&c, &run, NULL, err, "--config", p, NULL), 0);
	assert_int_equal(c.max_blksize, 512);
	assert_string_equal(c.root, "/from/file");
}

static void
test_cli_flags(void **state)
{
	struct tftpd_config c, d;
	struct run_opts run;
	char err[4096], buf[SOCKADDR_STRLEN];
	const char *p;

	p = cli_ini("[server]\nlisten = 127.0.0.1:1000\n"
	    "[transfer]\nallow_options = blksize tsize windowsize\n");

	assert_int_equal(cli(&c, &run, NULL, err, "--config", p, "-c", NULL),
	    0);
	assert_true(c.write_enable);
	assert_true(c.write_create);
	assert_true(c.write_overwrite);
	assert_int_equal(cli(&c, &run, NULL, err, "--config", p, NULL), 0);
	assert_false(c.write_enable);
	assert_false(c.write_create);

	/* -r takes an option out of the file's list; repeatable. */
	assert_int_equal(cli(&c, &run, NULL, err, "--config", p, "-r",
	    "tsize", NULL), 0);
	assert_int_equal(c.allowed_opts, TFTP_OPT_BIT(TFTP_OPT_BLKSIZE) |
	    TFTP_OPT_BIT(TFTP_OPT_WINDOWSIZE));
	assert_int_equal(cli(&c, &run, NULL, err, "--config", p, "-r",
	    "tsize", "--refuse", "blksize", NULL), 0);
	assert_int_equal(c.allowed_opts, TFTP_OPT_BIT(TFTP_OPT_WINDOWSIZE));

	/* The first -a replaces the file's list; later ones add. */
	assert_int_equal(cli(&c, &run, NULL, err, "--config", p, "-a",
	    "127.0.0.2:2000", NULL), 0);
	assert_int_equal(c.nlisten, 1);
	assert_string_equal(sockaddr_str((struct sockaddr *)&c.listen[0].ss,
	    buf, sizeof(buf)), "127.0.0.2:2000");
	assert_int_equal(cli(&c, &run, NULL, err, "--config", p, "-a",
	    "127.0.0.2:2000", "--address", "[::1]", NULL), 0);
	assert_int_equal(c.nlisten, 2);
	assert_string_equal(sockaddr_str((struct sockaddr *)&c.listen[1].ss,
	    buf, sizeof(buf)), "[::1]:69");

	assert_int_equal(cli(&c, &run, NULL, err, "--config", p, "-4", NULL),
	    0);
	assert_int_equal(c.family, FAMILY_IPV4);
	assert_int_equal(cli(&c, &run, NULL, err, "--config", p, "-a", ":69",
	    "-6", NULL), 0);
	assert_int_equal(c.family, FAMILY_IPV6);
	/* -6 with only an IPv4 address left to listen on. */
	assert_int_equal(cli(&c, &run, NULL, err, "--config", p, "-6", NULL),
	    -1);
	assert_string_equal(err, "snowowl-tftpd: server.listen: no address "
	    "of family ipv6 (server.family)\n");

	assert_int_equal(cli(&c, &run, NULL, err, "--config", p, "-U", "077",
	    "-p", "-R", "5000:5010", "-P", "/run/t.pid", "--workers", "3",
	    "--runtime-dir", "/run/t", "-v", NULL), 0);
	assert_int_equal(c.umask, 077);
	assert_true(c.permissive);
	assert_int_equal(c.port_min, 5000);
	assert_int_equal(c.port_max, 5010);
	assert_string_equal(c.pid_file, "/run/t.pid");
	assert_int_equal(c.workers, 3);
	assert_string_equal(c.runtime_dir, "/run/t");
	assert_int_equal(c.log_level, LOG_DEBUG);
	assert_false(run.check_config);
	assert_false(run.listen_only);

	assert_int_equal(cli(&c, &run, NULL, err, "--config", p,
	    "--check-config", "-l", NULL), 0);
	assert_true(run.check_config);
	assert_true(run.listen_only);
	assert_false(c.foreground);
	assert_int_equal(c.log, LOG_TO_SYSLOG);

	/* -s sets server.secure and nothing else (confinement is on). */
	assert_int_equal(cli(&c, &run, NULL, err, "--config", p, NULL), 0);
	assert_int_equal(cli(&d, &run, NULL, err, "--config", p, "-s",
	    "--secure", NULL), 0);
	assert_false(c.secure);
	assert_true(d.secure);
	d.secure = false;
	assert_memory_equal(&c, &d, sizeof(c));

	/* Bundled letters, each one counted. */
	assert_int_equal(cli(&c, &run, NULL, err, "--config", p,
	    "-cpvcpvcpvcpvcpvcpvcpvcpvcpvcpvcpvcpvcpvcpv64c", NULL), 0);
	assert_true(c.write_enable);
	assert_true(c.write_create);
	assert_true(c.permissive);
	assert_int_equal(c.log_level, LOG_DEBUG);
	assert_int_equal(c.family, FAMILY_IPV4);

	/* tftp-hpa long names. */
	assert_int_equal(cli(&c, &run, NULL, err, "--config", p, "--create",
	    "--blocksize=1428", "--port-range", "1:2", "--umask=0", NULL), 0);
	assert_true(c.write_create);
	assert_int_equal(c.max_blksize, 1428);
	assert_int_equal(c.port_max, 2);
	assert_int_equal(c.umask, 0);

	/* tftp-hpa's -m: the rules file, read by the master (mapfile.c). */
	assert_int_equal(cli(&c, &run, NULL, err, "--config", p, "-m",
	    "/etc/tftp.remap", NULL), 0);
	assert_string_equal(c.map_file, "/etc/tftp.remap");
	assert_int_equal(cli(&c, &run, NULL, err, "--config", p,
	    "--map-file=rules", NULL), 0);
	assert_string_equal(c.map_file, "rules");
	assert_int_equal(cli(&c, &run, NULL, err, "--config", p, NULL), 0);
	assert_string_equal(c.map_file, "");
}

/* -T, --retransmit: microseconds, rounded up to our milliseconds. */
/*
 * transfer.timeout: seconds, or with a unit for sub-second intervals,
 * each within 10 ms..255 s; microseconds round up to milliseconds.
 */
static void
test_timeout_units(void **state)
{
	static const struct {
		const char	*value;
		uint32_t	 ms;		/* 0: refused */
		const char	*why;
	} cases[] = {
		{ "1", 1000, NULL },
		{ "255", 255000, NULL },
		{ "3s", 3000, NULL },
		{ "200ms", 200, NULL },
		{ "200MS", 200, NULL },
		{ "10ms", 10, NULL },
		{ "255000ms", 255000, NULL },
		{ "200000us", 200, NULL },
		{ "10000us", 10, NULL },
		{ "10001us", 11, NULL },
		{ "255000000us", 255000, NULL },
		{ "0", 0, "\"0\" is out of range 1..255" },
		{ "256s", 0, "\"256s\" is out of range 1..255" },
		{ "9ms", 0, "\"9ms\" is out of range 10..255000" },
		{ "255001ms", 0, "\"255001ms\" is out of range 10..255000" },
		{ "9999us", 0, "\"9999us\" is out of range 10000..255000000" },
		{ "99999999999999999999us", 0, "\"99999999999999999999us\" is "
		    "out of range 10000..255000000" },
		{ "0.5", 0, "\"0.5\" is not a number" },
		{ "1m", 0, "\"1m\" is not a number" },
		{ "ms", 0, "\"ms\" is not a number" },
		{ "", 0, "\"\" is not a number" },
		{ " 5ms", 0, "\" 5ms\" is not a number" },
	};
	struct tftpd_config c;
	char err[ERRLEN], want[WANTLEN];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		config_defaults(&c);
		if (cases[i].ms != 0) {
			assert_int_equal(config_set(&c, "transfer", "timeout",
			    cases[i].value, err, sizeof(err)), 0);
			if (c.timeout_ms != cases[i].ms)
				fail_msg("%s: %u ms", cases[i].value,
				    c.timeout_ms);
			assert_int_equal(config_validate(&c, err,
			    sizeof(err)), 0);
			continue;
		}
		assert_true(config_set(&c, "transfer", "timeout",
		    cases[i].value, err, sizeof(err)) < 0);
		snprintf(want, sizeof(want), "transfer.timeout: %s",
		    cases[i].why);
		assert_string_equal(err, want);
		assert_int_equal(c.timeout_ms, 1000);
	}

	/* Printed in seconds when whole, else in milliseconds. */
	config_defaults(&c);
	assert_int_equal(config_key_line(&c, "transfer", "timeout", want,
	    sizeof(want)), 0);
	assert_string_equal(want, "timeout = 1");
	assert_int_equal(config_set(&c, "transfer", "timeout", "250000us",
	    err, sizeof(err)), 0);
	assert_int_equal(config_key_line(&c, "transfer", "timeout", want,
	    sizeof(want)), 0);
	assert_string_equal(want, "timeout = 250ms");
	/* What is printed reads back the same. */
	assert_int_equal(config_set(&c, "transfer", "timeout", "250ms", err,
	    sizeof(err)), 0);
	assert_int_equal(c.timeout_ms, 250);
}

static void
test_cli_retransmit(void **state)
{
	static const struct {
		const char	*arg;
		uint32_t	 ms;
	} cases[] = {
		{ "10000", 10 },
		{ "200000", 200 },
		{ "200001", 201 },
		{ "1000000", 1000 },
		{ "1500000", 1500 },
		{ "255000000", 255000 },
	};
	struct tftpd_config c;
	struct run_opts run;
	char err[4096];
	const char *p = cli_ini("[transfer]\ntimeout = 7\n");
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(cli(&c, &run, NULL, err, "--config", p, "-T",
		    cases[i].arg, NULL), 0);
		assert_int_equal(c.timeout_ms, cases[i].ms);
	}
	assert_int_equal(cli(&c, &run, NULL, err, "--config", p,
	    "--retransmit=250000", NULL), 0);
	assert_int_equal(c.timeout_ms, 250);
	/* Without -T the file's seconds stand. */
	assert_int_equal(cli(&c, &run, NULL, err, "--config", p, NULL), 0);
	assert_int_equal(c.timeout_ms, 7000);
}

/*
 * --verbosity N: in.tftpd's levels onto log_level (0 notice, 1 info,
 * 2 and up debug); each -v one level more than before it.
 */
static void
test_cli_verbosity(void **state)
{
	static const struct {
		const char	*file;
		const char	*args[4];
		int		 level;
	} cases[] = {
		{ "", { NULL }, LOG_INFO },
		{ "", { "-v", NULL }, LOG_DEBUG },
		{ "", { "-vv", NULL }, LOG_DEBUG },
		{ "log_level = warning\n", { "-v", NULL }, LOG_NOTICE },
		{ "log_level = warning\n", { "-vv", NULL }, LOG_INFO },
		{ "log_level = warning\n", { "-v", "--verbose", "-v", NULL },
		    LOG_DEBUG },
		{ "log_level = err\n", { NULL }, LOG_ERR },
		{ "", { "--verbosity", "0", NULL }, LOG_NOTICE },
		{ "", { "--verbosity=1", NULL }, LOG_INFO },
		{ "", { "--verbosity", "2", NULL }, LOG_DEBUG },
		{ "", { "--verbosity", "99", NULL }, LOG_DEBUG },
		{ "log_level = debug\n", { "--verbosity", "0", NULL },
		    LOG_NOTICE },
		/* In order, as in.tftpd: -v adds, --verbosity sets. */
		{ "", { "--verbosity", "0", "-v", NULL }, LOG_INFO },
		{ "", { "-v", "--verbosity", "0", NULL }, LOG_NOTICE },
	};
	struct tftpd_config c;
	struct run_opts run;
	char ini[128];
	const char *argv[10];
	size_t i, j, n;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(ini, sizeof(ini), "[server]\n%s", cases[i].file);
		n = 0;
		argv[n++] = "snowowl-tftpd";
		argv[n++] = "--config";
		argv[n++] = cli_ini(ini);
		for (j = 0; cases[i].args[j] != NULL; j++)
			argv[n++] = cases[i].args[j];
		argv[n] = NULL;
		assert_int_equal(config_from_args((int)n, (char **)argv, &c,
		    &run), 0);
		if (c.log_level != cases[i].level)
			fail_msg("case %zu: log_level %d, want %d", i,
			    c.log_level, cases[i].level);
	}
}

/* Host names in -a and listen: every address, numeric forms as before. */
static void
test_cli_listen_names(void **state)
{
	struct tftpd_config c;
	struct run_opts run;
	char err[4096], buf[SOCKADDR_STRLEN];
	const char *p = cli_ini("");
	uint32_t i;

	assert_int_equal(cli(&c, &run, NULL, err, "--config", p, "-a",
	    "localhost:6969", NULL), 0);
	assert_true(c.nlisten >= 1);
	for (i = 0; i < c.nlisten; i++) {
		sockaddr_str((struct sockaddr *)&c.listen[i].ss, buf,
		    sizeof(buf));
		if (strcmp(buf, "127.0.0.1:6969") != 0 &&
		    strcmp(buf, "[::1]:6969") != 0)
			fail_msg("localhost:6969 gave %s", buf);
	}
	/* [NAME]:PORT, NAME alone (port 69), and -4 picks IPv4. */
	assert_int_equal(cli(&c, &run, NULL, err, "--config", p, "-4", "-a",
	    "[localhost]:7000", "-a", "localhost", NULL), 0);
	assert_int_equal(c.family, FAMILY_IPV4);
	assert_string_equal(sockaddr_str((struct sockaddr *)&c.listen[0].ss,
	    buf, sizeof(buf)), "127.0.0.1:7000");
	assert_true(c.nlisten >= 2);
	/* The same through the file's key. */
	assert_int_equal(cli(&c, &run, NULL, err, "--config",
	    cli_ini("[server]\nlisten = 127.0.0.1:1, localhost:2\n"), "-4",
	    NULL), 0);
	assert_string_equal(sockaddr_str((struct sockaddr *)&c.listen[0].ss,
	    buf, sizeof(buf)), "127.0.0.1:1");
	assert_string_equal(sockaddr_str((struct sockaddr *)&c.listen[1].ss,
	    buf, sizeof(buf)), "127.0.0.1:2");
	/* A name that is also given as a number is there twice. */
	assert_int_equal(cli(&c, &run, NULL, err, "--config", p, "-4", "-a",
	    "127.0.0.1:69", "-a", "localhost", NULL), -1);
	assert_string_equal(err, "snowowl-tftpd: server.listen: "
	    "127.0.0.1:69 is given twice\n");
	/* Numbers are never looked up. */
	assert_int_equal(cli(&c, &run, NULL, err, "--config", p, "-a",
	    "1.2.3.4.5", NULL), -1);
	assert_prefix(err, "snowowl-tftpd: -a: server.listen: \"1.2.3.4.5\" "
	    "is not an address");
	assert_int_equal(cli(&c, &run, NULL, err, "--config", p, "-a",
	    "[localhost", NULL), -1);
	assert_prefix(err, "snowowl-tftpd: -a: server.listen: \"[localhost\" "
	    "is not an address");
	assert_int_equal(cli(&c, &run, NULL, err, "--config", p, "-a",
	    "localhost:0", NULL), -1);
	assert_prefix(err, "snowowl-tftpd: -a: server.listen: \"localhost:0\" "
	    "is not an address");
}

static void
test_cli_foreground(void **state)
{
	struct tftpd_config c;
	struct run_opts run;
	char err[4096];

	/* -L: foreground, and logging follows it to stderr. */
	assert_int_equal(cli(&c, &run, NULL, err, "--config",
	    cli_ini(""), "-L", NULL), 0);
	assert_true(c.foreground);
	assert_true(run.listen_only);
	assert_int_equal(c.log, LOG_TO_STDERR);
	assert_false(c.log_set);
	assert_int_equal(cli(&c, &run, NULL, err, "--config",
	    cli_ini(""), "--foreground", NULL), 0);
	assert_int_equal(c.log, LOG_TO_STDERR);

	/* ... unless the file chose a log. */
	assert_int_equal(cli(&c, &run, NULL, err, "--config",
	    cli_ini("[server]\nlog = syslog\n"), "-L", NULL), 0);
	assert_true(c.foreground);
	assert_int_equal(c.log, LOG_TO_SYSLOG);

	/* foreground from the file alone also means stderr. */
	assert_int_equal(cli(&c, &run, NULL, err, "--config",
	    cli_ini("[server]\nforeground = yes\n"), NULL), 0);
	assert_int_equal(c.log, LOG_TO_STDERR);
	assert_false(run.listen_only);
}

static void
test_cli_errors(void **state)
{
	struct tftpd_config c;
	struct run_opts run;
	char err[4096], want[WANTLEN], path[PATH_MAX];
	const char *p = cli_ini("");

	assert_int_equal(cli(&c, &run, NULL, err, "--config", p, "/1", "/2",
	    "/3", "/4", "/5", "/6", "/7", "/8", "/9", NULL), -1);
	assert_non_null(strstr(err, "snowowl-tftpd: at most 8 root "
	    "directories may be given (\"/9\" is one more)\n"));
	assert_non_null(strstr(err, "usage: snowowl-tftpd"));
	/* in.tftpd -s: exactly one directory. */
	assert_int_equal(cli(&c, &run, NULL, err, "--config", p, "-s", "/a",
	    "/b", NULL), -1);
	assert_non_null(strstr(err, "snowowl-tftpd: server.secure: takes "
	    "exactly one root directory (2 given), as in.tftpd -s\n"));

	snprintf(path, sizeof(path), "%s/missing.conf", tmpdir);
	assert_int_equal(cli(&c, &run, NULL, err, "--config", path, NULL),
	    -1);
	snprintf(want, sizeof(want), "snowowl-tftpd: %s: No such file or "
	    "directory\n", path);
	assert_string_equal(err, want);

	p = cli_ini("[server]\n\n[transfer]\ntimeout = 0\n");
	assert_int_equal(cli(&c, &run, NULL, err, "--config", p, NULL), -1);
	snprintf(want, sizeof(want), "snowowl-tftpd: %s:4: [transfer] "
	    "timeout: \"0\" is out of range 1..255\n", p);
	assert_string_equal(err, want);

	p = cli_ini("");
	assert_int_equal(cli(&c, &run, NULL, err, "--config", p, "-B", "7",
	    NULL), -1);
	/* -B takes in.tftpd's range, narrower than the key's 8..65464. */
	assert_prefix(err, "snowowl-tftpd: -B/--blocksize 7: not a block size "
	    "from 512 to 65464 (as in.tftpd)\n");
	assert_int_equal(cli(&c, &run, NULL, err, "--config", p,
	    "--blocksize", "511", NULL), -1);
	assert_prefix(err, "snowowl-tftpd: -B/--blocksize 511: not a block "
	    "size from 512 to 65464 (as in.tftpd)\n");
	assert_int_equal(cli(&c, &run, NULL, err, "--config", p,
	    "--blocksize", "65465", NULL), -1);
	assert_prefix(err, "snowowl-tftpd: -B/--blocksize 65465: not a block "
	    "size from 512 to 65464 (as in.tftpd)\n");

	assert_int_equal(cli(&c, &run, NULL, err, "--config", p, "-U", "8",
	    NULL), -1);
	assert_string_equal(err, "snowowl-tftpd: -U: write.umask: \"8\" is "
	    "not an octal mask\n");
	/*
	 * -r NAME we do not implement is accepted, as by in.tftpd (the
	 * option is never acknowledged anyway); a list is checked.
	 */
	assert_int_equal(cli(&c, &run, NULL, err, "--config", p, "-r", "mtu",
	    NULL), 0);
	assert_int_equal(c.allowed_opts, TFTP_OPT_ALL);
	assert_int_equal(cli(&c, &run, NULL, err, "--config", p, "-r",
	    "tsize,mtu", NULL), -1);
	assert_string_equal(err, "snowowl-tftpd: -r: transfer.refuse_options: "
	    "unknown option \"mtu\"\n");
	assert_int_equal(cli(&c, &run, NULL, err, "--config", p, "-a",
	    "localhost:", NULL), -1);
	assert_prefix(err, "snowowl-tftpd: -a: server.listen: "
	    "\"localhost:\" is not an address");
	assert_int_equal(cli(&c, &run, NULL, err, "--config", p, "-a",
	    "no-such-host.invalid:69", NULL), -1);
	assert_prefix(err, "snowowl-tftpd: -a: server.listen: cannot resolve "
	    "\"no-such-host.invalid\": ");
	/* -T: in.tftpd's microseconds and range. */
	assert_int_equal(cli(&c, &run, NULL, err, "--config", p, "-T",
	    "9999", NULL), -1);
	assert_prefix(err, "snowowl-tftpd: -T/--retransmit 9999: not a timeout "
	    "from 10000 to 255000000 microseconds (as in.tftpd)\n");
	assert_int_equal(cli(&c, &run, NULL, err, "--config", p,
	    "--retransmit", "255000001", NULL), -1);
	assert_prefix(err, "snowowl-tftpd: -T/--retransmit 255000001: ");
	assert_int_equal(cli(&c, &run, NULL, err, "--config", p, "-T",
	    "0.5", NULL), -1);
	assert_prefix(err, "snowowl-tftpd: -T/--retransmit 0.5: ");
	assert_int_equal(cli(&c, &run, NULL, err, "--config", p,
	    "--verbosity", "x", NULL), -1);
	assert_prefix(err, "snowowl-tftpd: --verbosity x: not a number from 0 "
	    "to 2147483647\n");
	assert_int_equal(cli(&c, &run, NULL, err, "--config", p,
	    "--verbosity", "-1", NULL), -1);
	assert_prefix(err, "snowowl-tftpd: --verbosity -1: ");
	assert_int_equal(cli(&c, &run, NULL, err, "--config", p, "--workers",
	    "257", NULL), -1);
	assert_string_equal(err, "snowowl-tftpd: --workers: server.workers: "
	    "\"257\" is out of range 0..256\n");
	assert_int_equal(cli(&c, &run, NULL, err, "--config", p, "-R",
	    "9:1", NULL), -1);

	assert_int_equal(cli(&c, &run, NULL, err, "-x", NULL), -1);
	assert_prefix(err, "snowowl-tftpd: unknown option -x\n");
	assert_int_equal(cli(&c, &run, NULL, err, "--bogus", NULL), -1);
	assert_prefix(err, "snowowl-tftpd: unknown option --bogus\n");
	assert_int_equal(cli(&c, &run, NULL, err, "-B", NULL), -1);
	assert_prefix(err, "snowowl-tftpd: option -B needs an argument\n");
	assert_int_equal(cli(&c, &run, NULL, err, "--config", NULL), -1);
	assert_prefix(err, "snowowl-tftpd: option --config needs an "
	    "argument\n");
	assert_int_equal(cli(&c, &run, NULL, err, "--blocksize", NULL), -1);
	assert_prefix(err, "snowowl-tftpd: option --blocksize needs an "
	    "argument\n");
	assert_int_equal(cli(&c, &run, NULL, err, "-m", NULL), -1);
	assert_prefix(err, "snowowl-tftpd: option -m needs an argument\n");
}

static void
test_cli_version_help(void **state)
{
	struct tftpd_config c;
	struct run_opts run;
	char out[4096], err[4096];

	/* -V and --help exit 0 at once: no config file is even read. */
	assert_int_equal(cli(&c, &run, out, err, "-V", "--config",
	    "/nonexistent", NULL), 1);
	/* The version, then the licence, and nothing else. */
	assert_string_equal(out, "snowowl-tftpd " PACKAGE_VERSION "\n"
	    "licence: BSD-2-Clause\n");
	assert_string_equal(err, "");
	assert_int_equal(cli(&c, &run, out, err, "--version", NULL), 1);
	assert_prefix(out, "snowowl-tftpd ");

	assert_int_equal(cli(&c, &run, out, err, "--help", NULL), 1);
	assert_prefix(out, "usage: snowowl-tftpd");
	assert_non_null(strstr(out, "--check-config"));
	assert_string_equal(err, "");
	assert_int_equal(cli(&c, &run, out, err, "-h", NULL), 1);
	assert_prefix(out, "usage: snowowl-tftpd");
}

static void
test_cli_default_path(void **state)
{
	struct tftpd_config c, d;
	struct run_opts run;
	char err[4096];

	if (access(CONFIG_DEFAULT_PATH, F_OK) == 0)
		skip();	/* this machine has one, content unknown */
	/* Without --config the default file is optional. */
	assert_int_equal(cli(&c, &run, NULL, err, NULL), 0);
	assert_string_equal(err, "");
	assert_false(run.config_given);
	assert_string_equal(run.config_path, CONFIG_DEFAULT_PATH);
	config_defaults(&d);
	assert_memory_equal(&c, &d, sizeof(c));
}

/*
 * The shipped example sets every key to its default: it must load, and
 * change nothing.  `make check` exports TOP_SRCDIR; by hand, the source
 * file's own path is tried.
 */
static void
test_contrib_example(void **state)
{
	struct tftpd_config c, d;
	char path[PATH_MAX], src[PATH_MAX], err[ERRLEN];
	char *text = NULL, *dump = NULL, *line, *save = NULL;
	const char *top = getenv("TOP_SRCDIR");
	size_t len = 0, n;
	FILE *fp;

	if (top != NULL && *top != '\0') {
		snprintf(path, sizeof(path), "%s/contrib/snowowl-tftpd.conf",
		    top);
	} else {
		snprintf(src, sizeof(src), "%s", __FILE__);
		snprintf(path, sizeof(path),
		    "%s/../../contrib/snowowl-tftpd.conf", dirname(src));
	}
	if (access(path, R_OK) != 0) {
		fprintf(stderr, "test_contrib_example: %s not found; set "
		    "TOP_SRCDIR to the source directory\n", path);
		skip();
	}

	config_defaults(&c);
	config_defaults(&d);
	if (config_load(&c, path, true, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	/* The example shows root's runtime directory, the one a packaged
	 * server uses; anyone else's default is their own. */
	assert_string_equal(c.runtime_dir, "/run/snowowl-tftpd");
	memcpy(d.runtime_dir, c.runtime_dir, sizeof(d.runtime_dir));
	assert_memory_equal(&c, &d, sizeof(c));
	assert_int_equal(config_validate(&c, err, sizeof(err)), 0);

	/* Every key config_dump knows appears in the example. */
	assert_non_null(fp = fopen(path, "r"));
	assert_non_null(text = calloc(1, 65536));
	n = fread(text + 1, 1, 65534, fp);
	text[0] = '\n';
	text[n + 1] = '\0';
	fclose(fp);
	assert_non_null(fp = open_memstream(&dump, &len));
	config_dump(&d, fp);
	fclose(fp);
	for (line = strtok_r(dump, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		char key[128], want[160], want2[160];

		if (line[0] == '[') {
			snprintf(want, sizeof(want), "\n%s\n", line);
			if (strstr(text, want) == NULL)
				fail_msg("section %s missing", line);
			continue;
		}
		snprintf(key, sizeof(key), "%.*s", (int)strcspn(line, " "),
		    line);
		/* log has no fixed default, so it is shown commented out. */
		snprintf(want, sizeof(want), "\n%s =", key);
		snprintf(want2, sizeof(want2), "\n; %s =", key);
		if (strstr(text, want) == NULL &&
		    (strcmp(key, "log") != 0 || strstr(text, want2) == NULL))
			fail_msg("key %s missing", key);
	}
	free(dump);
	free(text);
}

/* ---- instance names, live keys, reload -------------------------- */

static void
test_instance_key(void **state)
{
	struct tftpd_config c;
	char err[ERRLEN];
	size_t i;
	static const char *const good[] = {
		"a", "lab", "127.0.0.1-6969", "__1-6969", "A_b-c.9",
		/* 63 characters, the longest */
		"abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz"
		    "0123456789x",
	};
	static const char *const bad[] = {
		".hidden", "-opt", "a/b", "a b", "caf\xc3\xa9", "a:b", "..",
		"abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz"
		    "0123456789xy",
	};

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_true(config_instance_valid(good[i]));
		config_defaults(&c);
		assert_int_equal(config_set(&c, "server", "instance", good[i],
		    err, sizeof(err)), 0);
		assert_string_equal(c.instance, good[i]);
		assert_int_equal(config_validate(&c, err, sizeof(err)), 0);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_false(config_instance_valid(bad[i]));
		config_defaults(&c);
		assert_int_equal(config_set(&c, "server", "instance", bad[i],
		    err, sizeof(err)), -EINVAL);
		assert_prefix(err, "server.instance: \"");
		assert_non_null(strstr(err, "is not an instance name"));
		assert_string_equal(c.instance, "");
	}
	/* Empty: derived from the address. */
	config_defaults(&c);
	assert_int_equal(config_set(&c, "server", "instance", "x", err,
	    sizeof(err)), 0);
	assert_int_equal(config_set(&c, "server", "instance", "", err,
	    sizeof(err)), 0);
	assert_string_equal(c.instance, "");
	expect_load_error("[server]\ninstance = a/b\n", -EINVAL, 2,
	    "[server] instance: \"a/b\" is not an instance name (1 to 63 of "
	    "A-Z a-z 0-9 . _ -, not starting with . or -)");

	/* A worker validating the struct from shared memory. */
	config_defaults(&c);
	memcpy(c.instance, "a/b", 4);
	assert_int_equal(config_validate(&c, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "server.instance: not a valid name");
	memset(c.instance, 'a', sizeof(c.instance));
	assert_int_equal(config_validate(&c, err, sizeof(err)), -EINVAL);
	config_defaults(&c);
	c.drain_timeout = 3601;
	assert_int_equal(config_validate(&c, err, sizeof(err)), -ERANGE);
	assert_string_equal(err, "server.drain_timeout: 3601 is out of range "
	    "0..3600");
}

static const char *
name_of(const struct tftpd_config *c, const char *mode, const char *addr)
{
	static char buf[CONFIG_INSTANCE_MAX];
	struct sockaddr_storage ss;
	socklen_t len;

	assert_int_equal(parse_sockaddr(addr, AF_UNSPEC, 69, &ss, &len), 0);
	memset(buf, 0x55, sizeof(buf));
	assert_int_equal(config_instance_name(c, mode,
	    (struct sockaddr *)&ss, buf, sizeof(buf)), 0);
	assert_true(config_instance_valid(buf));
	return buf;
}

static void
test_instance_name(void **state)
{
	struct tftpd_config c;
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char buf[CONFIG_INSTANCE_MAX], small[8];
	char err[ERRLEN];

	config_defaults(&c);
	assert_string_equal(name_of(&c, NULL, "127.0.0.1:6969"),
	    "127.0.0.1-6969");
	assert_string_equal(name_of(&c, NULL, "0.0.0.0:69"), "0.0.0.0-69");
	assert_string_equal(name_of(&c, NULL, "[::1]:6969"), "__1-6969");
	assert_string_equal(name_of(&c, NULL, "[::]:69"), "__-69");
	assert_string_equal(name_of(&c, NULL, "[2001:db8::a]:1069"),
	    "2001_db8__a-1069");
	/* The zone is not part of the name. */
	assert_string_equal(name_of(&c, NULL, "[fe80::1%1]:69"),
	    "fe80__1-69");
	assert_string_equal(name_of(&c, "inetd", "0.0.0.0:69"), "inetd-69");
	assert_string_equal(name_of(&c, "systemd", "[::]:6969"),
	    "systemd-6969");
	/* Two instances on one address differ by port. */
	assert_string_not_equal(name_of(&c, NULL, "127.0.0.1:7001"),
	    "127.0.0.1-7002");

	/* A configured name wins, whatever the mode. */
	assert_int_equal(config_set(&c, "server", "instance", "boot", err,
	    sizeof(err)), 0);
	assert_string_equal(name_of(&c, NULL, "127.0.0.1:6969"), "boot");
	assert_string_equal(name_of(&c, "inetd", "127.0.0.1:6969"), "boot");

	config_defaults(&c);
	assert_int_equal(config_instance_name(&c, NULL,
	    (struct sockaddr *)&sun, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(config_instance_name(&c, NULL, NULL, buf,
	    sizeof(buf)), -EINVAL);
	{
		struct sockaddr_storage ss;
		socklen_t len;

		assert_int_equal(parse_sockaddr("127.0.0.1:6969", AF_INET, 69,
		    &ss, &len), 0);
		assert_int_equal(config_instance_name(&c, NULL,
		    (struct sockaddr *)&ss, small, sizeof(small)),
		    -ENAMETOOLONG);
	}
}

/* The live keys of the spec (tftpctl set, reload), and no others. */
static const char *const live_keys[] = {
	"transfer.timeout", "transfer.retries", "transfer.max_blksize",
	"transfer.max_windowsize", "transfer.allow_options",
	"transfer.refuse_options", "transfer.max_transfers",
	"transfer.permissive", "transfer.netascii",
	"transfer.map_backslash", "transfer.ignore_case",
	"transfer.client_root", "write.enable",
	"write.create", "write.overwrite", "write.umask",
	"write.max_file_size", "write.allow", "write.fsync",
	"server.log_level", "server.log_format", "transfer.map_file",
	"access.read_allow", "access.read_deny", "access.write_allow",
	"access.write_deny", "access.refuse",
	"server.worker_stall_timeout", "transfer.unverified_retransmits",
	"transfer.unverified_timeout",
	"limits.per_client_transfers", "limits.per_client_rate",
	"limits.per_client_burst", "limits.unverified_bytes_rate",
	"limits.unverified_bytes_burst",
};

static bool
in_live_list(const char *section, const char *key)
{
	char full[128];
	size_t i;

	snprintf(full, sizeof(full), "%s.%s", section, key);
	for (i = 0; i < sizeof(live_keys) / sizeof(live_keys[0]); i++)
		if (strcmp(live_keys[i], full) == 0)
			return true;
	return false;
}

/*
 * The next "key = value" line of config_dump()'s text (strtok_r() over
 * dump, NULL after the first call): its section in cur and its key in
 * name, each 64 bytes.  NULL at the end.
 */
static char *
next_key(char *dump, char **save, char *cur, char *name)
{
	char *line;

	while ((line = strtok_r(dump, "\n", save)) != NULL) {
		dump = NULL;
		if (line[0] != '[')
			break;
		snprintf(cur, 64, "%.*s", (int)strcspn(line + 1, "]"),
		    line + 1);
	}
	if (line != NULL)
		snprintf(name, 64, "%.*s", (int)strcspn(line, " "), line);
	return line;
}

static void
test_keys_by_name(void **state)
{
	struct tftpd_config c;
	const char *section, *key;
	char *dump = NULL, *line, *save = NULL, cur[64] = "", full[128];
	char name[64];
	size_t len = 0, nkeys = 0, nlive = 0;
	FILE *fp;

	/* Every key config_dump prints resolves, bare and in full. */
	config_defaults(&c);
	assert_non_null(fp = open_memstream(&dump, &len));
	config_dump(&c, fp);
	fclose(fp);
	for (line = next_key(dump, &save, cur, name); line != NULL;
	    line = next_key(NULL, &save, cur, name)) {
		/* listen and allow appear once per item. */
		snprintf(full, sizeof(full), "%s.%s", cur, name);
		assert_int_equal(config_find_key(full, &section, &key), 0);
		assert_string_equal(section, cur);
		assert_string_equal(key, name);
		/* No bare name is shared today: each resolves alone. */
		section = key = NULL;
		assert_int_equal(config_find_key(name, &section, &key), 0);
		assert_string_equal(section, cur);
		assert_string_equal(key, name);
		if (config_key_live(section, key) != in_live_list(cur, name))
			fail_msg("%s: live flag is %d", full,
			    config_key_live(section, key));
		nkeys++;
		nlive += config_key_live(section, key);
	}
	free(dump);
	assert_true(nkeys >= 40);
	assert_true(config_key_live("transfer", "refuse_options"));
	assert_int_equal(nlive, sizeof(live_keys) / sizeof(live_keys[0]));

	assert_int_equal(config_find_key("performance.platform.batch."
	    "max_batch_size", &section, &key), 0);
	assert_string_equal(section, "performance.platform.batch");
	assert_int_equal(config_find_key("nope", &section, &key), -ENOENT);
	assert_int_equal(config_find_key("server.nope", &section, &key),
	    -ENOENT);
	assert_int_equal(config_find_key("transfer.enable", &section, &key),
	    -ENOENT);
	assert_int_equal(config_find_key("server", &section, &key), -ENOENT);
	assert_int_equal(config_find_key("", &section, &key), -ENOENT);
	assert_int_equal(config_find_key(".max_blksize", &section, &key),
	    -ENOENT);
	assert_false(config_key_live("server", "root"));
	assert_false(config_key_live("transfer", "follow_symlinks"));
	assert_false(config_key_live("nope", "max_blksize"));
	assert_false(config_key_live(NULL, NULL));
}

/* Print one key with config_print_key() or config_print_value(). */
static char *
printed(const struct tftpd_config *c, const char *section, const char *key,
    bool bare)
{
	char *text = NULL;
	size_t len = 0;
	FILE *fp;

	assert_non_null(fp = open_memstream(&text, &len));
	if (bare)
		assert_int_equal(config_print_value(c, section, key, fp), 0);
	else
		assert_int_equal(config_print_key(c, section, key, fp), 0);
	assert_int_equal(fclose(fp), 0);
	return text;
}

static void
expect_printed(const struct tftpd_config *c, const char *section,
    const char *key, const char *want)
{
	char *v = printed(c, section, key, true);

	assert_string_equal(v, want);
	free(v);
}

/*
 * tftpctl get's value alone is config_print_key()'s line without
 * "key = " ("key =" for an empty value), for every key, a list key
 * giving a line per item.
 */
static void
test_print_value(void **state)
{
	struct tftpd_config c;
	char err[ERRLEN], *dump = NULL, *line, *save = NULL, cur[64] = "";
	char name[64], *kv, *v, *want, *p;
	size_t len = 0, klen, n = 0;
	FILE *fp;

	config_defaults(&c);
	assert_int_equal(config_set(&c, "server", "listen",
	    "127.0.0.1:69 [::1]:6969", err, sizeof(err)), 0);
	assert_int_equal(config_set(&c, "write", "allow", "a/* b", err,
	    sizeof(err)), 0);
	assert_int_equal(config_set(&c, "server", "pid_file", "", err,
	    sizeof(err)), 0);
	assert_int_equal(config_set(&c, "transfer", "allow_options",
	    "blksize tsize", err, sizeof(err)), 0);
	assert_non_null(fp = open_memstream(&dump, &len));
	config_dump(&c, fp);
	fclose(fp);
	for (line = next_key(dump, &save, cur, name); line != NULL;
	    line = next_key(NULL, &save, cur, name)) {
		kv = printed(&c, cur, name, false);
		v = printed(&c, cur, name, true);
		/* Strip "name = " or "name =" from each line of kv. */
		assert_non_null(want = calloc(1, strlen(kv) + 1));
		klen = strlen(name);
		for (p = kv; *p != '\0'; p += strcspn(p, "\n") + 1) {
			assert_memory_equal(p, name, klen);
			assert_memory_equal(p + klen, " =", 2);
			strncat(want, p + klen + 2 + (p[klen + 2] == ' '),
			    strcspn(p + klen + 2 + (p[klen + 2] == ' '),
			    "\n") + 1);
		}
		assert_string_equal(v, want);
		free(want);
		free(kv);
		free(v);
		n++;
	}
	free(dump);
	assert_true(n >= 40);

	expect_printed(&c, "server", "listen", "127.0.0.1:69\n[::1]:6969\n");
	expect_printed(&c, "server", "pid_file", "\n");
	expect_printed(&c, "transfer", "allow_options", "blksize tsize\n");
	expect_printed(&c, "write", "umask", "022\n");
	assert_int_equal(config_print_value(&c, "server", "nope", stdout),
	    -ENOENT);
}

static void
test_diff_and_copy(void **state)
{
	struct tftpd_config a, b, c;
	const char *secs[64], *keys[64];
	char err[ERRLEN], *text = NULL;
	size_t len = 0, n;
	FILE *fp;

	config_defaults(&a);
	b = a;
	assert_int_equal(config_diff(&a, &b, secs, keys, 64), 0);

	assert_int_equal(config_set(&b, "transfer", "max_blksize", "1024",
	    err, sizeof(err)), 0);
	assert_int_equal(config_set(&b, "server", "root", "/elsewhere", err,
	    sizeof(err)), 0);
	assert_int_equal(config_set(&b, "transfer", "refuse_options", "tsize",
	    err, sizeof(err)), 0);
	assert_int_equal(config_set(&b, "server", "listen", "127.0.0.1:70",
	    err, sizeof(err)), 0);
	assert_int_equal(config_set(&b, "write", "allow", "a/*", err,
	    sizeof(err)), 0);
	assert_int_equal(config_set(&b, "transfer", "port_range", "100:200",
	    err, sizeof(err)), 0);
	n = config_diff(&a, &b, secs, keys, 64);
	assert_int_equal(n, 6);
	/* Table order; a refusal shows as allow_options. */
	assert_string_equal(keys[0], "listen");
	assert_string_equal(secs[1], "server");
	assert_string_equal(keys[1], "root");
	assert_string_equal(keys[2], "max_blksize");
	assert_string_equal(keys[3], "allow_options");
	assert_string_equal(keys[4], "port_range");
	assert_string_equal(secs[5], "write");
	assert_string_equal(keys[5], "allow");
	/* max bounds what is stored, not the count. */
	assert_int_equal(config_diff(&a, &b, secs, keys, 2), 6);

	/* What a reload does: only the live ones move. */
	c = a;
	assert_int_equal(config_copy_key(&c, &b, "transfer", "max_blksize"),
	    0);
	assert_int_equal(config_copy_key(&c, &b, "write", "allow"), 0);
	assert_int_equal(c.max_blksize, 1024);
	assert_int_equal(c.nwrite_allow, 1);
	assert_string_equal(c.write_allow[0], "a/*");
	assert_string_equal(c.root, a.root);
	assert_int_equal(config_diff(&c, &b, secs, keys, 64), 4);
	assert_int_equal(config_copy_key(&c, &b, "server", "listen"), 0);
	assert_int_equal(config_copy_key(&c, &b, "server", "root"), 0);
	assert_int_equal(config_copy_key(&c, &b, "transfer",
	    "allow_options"), 0);
	assert_int_equal(config_copy_key(&c, &b, "transfer", "port_range"),
	    0);
	assert_int_equal(config_diff(&c, &b, secs, keys, 64), 0);
	assert_memory_equal(&c, &b, sizeof(c));
	assert_int_equal(config_copy_key(&c, &b, "transfer", "nope"),
	    -ENOENT);

	/* One key printed as the dump prints it. */
	assert_non_null(fp = open_memstream(&text, &len));
	assert_int_equal(config_print_key(&b, "transfer", "max_blksize", fp),
	    0);
	assert_int_equal(config_print_key(&b, "server", "listen", fp), 0);
	assert_int_equal(config_print_key(&b, "server", "nope", fp), -ENOENT);
	fclose(fp);
	assert_string_equal(text, "max_blksize = 1024\n"
	    "listen = 127.0.0.1:70\n");
	free(text);
}

/* Set section.key to value, then check its line, cut to len bytes. */
static void
check_key_line(struct tftpd_config *c, const char *section, const char *key,
    const char *value, size_t len, const char *want)
{
	char	 err[ERRLEN], line[128];

	assert_true(len <= sizeof(line));
	assert_int_equal(config_set(c, section, key, value, err, sizeof(err)),
	    0);
	assert_int_equal(config_key_line(c, section, key, line, len), 0);
	assert_string_equal(line, want);
}

/* One key on one line, as the master answers "tftpctl set". */
static void
test_key_line(void **state)
{
	struct tftpd_config c;
	char line[128];

	config_defaults(&c);
	check_key_line(&c, "transfer", "max_blksize", "1024", sizeof(line),
	    "max_blksize = 1024");
	/* A list: one "key = value" per item, joined. */
	check_key_line(&c, "write", "allow", "a/* b/* c", sizeof(line),
	    "allow = a/*; allow = b/*; allow = c");
	check_key_line(&c, "write", "allow", "", sizeof(line), "allow =");
	/* Cut short, still terminated. */
	check_key_line(&c, "write", "allow", "a/* b/*", 12, "allow = a/*");

	assert_int_equal(config_key_line(&c, "write", "nope", line,
	    sizeof(line)), -ENOENT);
	assert_string_equal(line, "");
}

/*
 * config_reload(): what the master does on SIGHUP.  The same argv again
 * (command line still over the file), the file from the given path, and
 * problems in err only.
 */
static void
test_reload(void **state)
{
	struct tftpd_config c, d;
	struct run_opts run;
	char err[ERRLEN], out[4096], errout[WANTLEN], path[PATH_MAX];
	char *argv[] = { (char *)"snowowl-tftpd", (char *)"-B",
	    (char *)"1024", (char *)"--config", (char *)"relative.conf",
	    (char *)"-t", (char *)"60", (char *)"/cli/root", NULL };
	int argc = 8, so, se;

	snprintf(path, sizeof(path), "%s", cli_ini("[transfer]\n"
	    "max_blksize = 512\nretries = 9\n[server]\nworkers = 3\n"));
	assert_int_equal(config_reload(argc, argv, path, &c, err,
	    sizeof(err)), 0);
	assert_int_equal(c.max_blksize, 1024);
	assert_int_equal(c.retries, 9);
	assert_int_equal(c.workers, 3);
	assert_int_equal(c.idle_timeout, 60);
	assert_string_equal(c.root, "/cli/root");

	/* The file changed: the new values, the command line still wins. */
	cli_ini("[transfer]\nmax_blksize = 512\nretries = 2\n");
	assert_int_equal(config_reload(argc, argv, path, &d, err,
	    sizeof(err)), 0);
	assert_int_equal(d.retries, 2);
	assert_int_equal(d.workers, 0);
	assert_int_equal(d.max_blksize, 1024);

	/* A bad file: FILE:LINE in err, nothing on stderr. */
	cli_ini("[transfer]\nretries = 9\nretries = 0\n");
	so = dup(STDOUT_FILENO);
	se = dup(STDERR_FILENO);
	{
		char ep[PATH_MAX];
		int f;

		snprintf(ep, sizeof(ep), "%s/reload.err", tmpdir);
		assert_true((f = open(ep, O_RDWR | O_CREAT | O_TRUNC |
		    O_CLOEXEC, 0600)) >= 0);
		dup2(f, STDOUT_FILENO);
		dup2(f, STDERR_FILENO);
		assert_int_equal(config_reload(argc, argv, path, &d, err,
		    sizeof(err)), -EINVAL);
		fflush(stdout);
		fflush(stderr);
		dup2(so, STDOUT_FILENO);
		dup2(se, STDERR_FILENO);
		assert_int_equal(pread(f, out, sizeof(out), 0), 0);
		close(f);
	}
	close(so);
	close(se);
	snprintf(errout, sizeof(errout), "%s:3: [transfer] retries: \"0\" is "
	    "out of range 1..100", path);
	assert_string_equal(err, errout);

	/* A missing --config file is an error on reload too. */
	snprintf(path, sizeof(path), "%s/gone.conf", tmpdir);
	assert_int_equal(config_reload(argc, argv, path, &d, err,
	    sizeof(err)), -EINVAL);
	snprintf(errout, sizeof(errout), "%s: No such file or directory",
	    path);
	assert_string_equal(err, errout);

	/* Startup parsing is unaffected: the argument's own path. */
	assert_int_equal(cli(&c, &run, NULL, errout, "--config", cli_ini(""),
	    NULL), 0);
	assert_string_equal(errout, "");
}

static void
test_cli_inetd_flags(void **state)
{
	struct tftpd_config c;
	struct run_opts run;
	char err[4096];
	const char *p = cli_ini("[server]\nidle_timeout = 5\n");

	assert_int_equal(cli(&c, &run, NULL, err, "--config", p, NULL), 0);
	assert_int_equal(c.idle_timeout, 5);
	assert_false(run.inetd);
	assert_int_equal(cli(&c, &run, NULL, err, "--config", p, "-t", "0",
	    "--instance", "lab", "-i", NULL), 0);
	assert_int_equal(c.idle_timeout, 0);
	assert_string_equal(c.instance, "lab");
	assert_true(run.inetd);
	assert_false(run.listen_only);
	assert_int_equal(cli(&c, &run, NULL, err, "--config", p,
	    "--timeout=86400", "--inetd", "--instance=x.y", NULL), 0);
	assert_int_equal(c.idle_timeout, 86400);
	assert_true(run.inetd);
	assert_string_equal(c.instance, "x.y");

	assert_int_equal(cli(&c, &run, NULL, err, "--config", p, "-t",
	    "86401", NULL), -1);
	assert_string_equal(err, "snowowl-tftpd: -t: server.idle_timeout: "
	    "\"86401\" is out of range 0..86400\n");
	assert_int_equal(cli(&c, &run, NULL, err, "--config", p, "-t", "x",
	    NULL), -1);
	assert_string_equal(err, "snowowl-tftpd: -t: server.idle_timeout: "
	    "\"x\" is not a number\n");
	assert_int_equal(cli(&c, &run, NULL, err, "--config", p,
	    "--instance", "../x", NULL), -1);
	assert_prefix(err, "snowowl-tftpd: --instance: server.instance: "
	    "\"../x\" is not an instance name");
	/* inetd and standalone exclude each other. */
	assert_int_equal(cli(&c, &run, NULL, err, "--config", p, "-i", "-L",
	    NULL), -1);
	assert_prefix(err, "snowowl-tftpd: -i (inetd) and -l/-L (standalone) "
	    "exclude each other\n");
	assert_int_equal(cli(&c, &run, NULL, err, "--config", p, "-l",
	    "--inetd", NULL), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_every_key_from_file),
		cmocka_unit_test(test_ranges),
		cmocka_unit_test(test_bools),
		cmocka_unit_test(test_error_messages),
		cmocka_unit_test(test_error_line_too_long),
		cmocka_unit_test(test_first_error_stops),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_syntax_forms),
		cmocka_unit_test(test_lists),
		cmocka_unit_test(test_access),
		cmocka_unit_test(test_roots),
		cmocka_unit_test(test_options_lists),
		cmocka_unit_test(test_config_set_errors),
		cmocka_unit_test(test_validate),
		cmocka_unit_test(test_dump_roundtrip),
		cmocka_unit_test(test_cli_precedence),
		cmocka_unit_test(test_cli_flags),
		cmocka_unit_test(test_timeout_units),
		cmocka_unit_test(test_cli_retransmit),
		cmocka_unit_test(test_cli_verbosity),
		cmocka_unit_test(test_cli_listen_names),
		cmocka_unit_test(test_cli_foreground),
		cmocka_unit_test(test_cli_errors),
		cmocka_unit_test(test_cli_version_help),
		cmocka_unit_test(test_cli_default_path),
		cmocka_unit_test(test_contrib_example),
		cmocka_unit_test(test_instance_key),
		cmocka_unit_test(test_instance_name),
		cmocka_unit_test(test_keys_by_name),
		cmocka_unit_test(test_print_value),
		cmocka_unit_test(test_diff_and_copy),
		cmocka_unit_test(test_key_line),
		cmocka_unit_test(test_reload),
		cmocka_unit_test(test_cli_inetd_flags),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
