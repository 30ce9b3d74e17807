/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * Small helpers with no policy: bounded number parsing (never atoi),
 * socket address text, escaping client strings for logs, the clock.
 */
#ifndef UTIL_H
#define UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define SOCKADDR_STRLEN	64	/* "[ffff:...:ffff%ifname]:65535" fits */

/* Decimal digits only (no sign, no space), min <= value <= max.
 * 0, -EINVAL (not a number) or -ERANGE. */
int		 parse_u64(const char *s, uint64_t min, uint64_t max,
		    uint64_t *out);
int		 parse_u32(const char *s, uint32_t min, uint32_t max,
		    uint32_t *out);
/* yes/no, true/false, on/off, 1/0, case-insensitive. */
int		 parse_bool(const char *s, bool *out);
/* A byte count with an optional K, M, G or T suffix (powers of 1024). */
int		 parse_size(const char *s, uint64_t max, uint64_t *out);
/* An octal file mode mask such as 022 or 0022, at most 0777. */
int		 parse_umask(const char *s, uint32_t *out);
/*
 * "[ADDR][:PORT]" in tftp-hpa's -a syntax: "1.2.3.4", "1.2.3.4:69",
 * ":6969" (any address), "[::1]:69", "::1" (IPv6 without port).  A missing
 * address is the IPv4 or IPv6 wildcard per family (AF_UNSPEC = IPv4);
 * a missing port is default_port.  Numeric only, no name lookups.
 */
int		 parse_sockaddr(const char *s, int family,
		    uint16_t default_port, struct sockaddr_storage *ss,
		    socklen_t *len);
/* "1.2.3.4:69" or "[::1]:69" */
const char	*sockaddr_str(const struct sockaddr *sa, char *buf, size_t len);
uint16_t	 sockaddr_port(const struct sockaddr *sa);

/*
 * Copy src into dst making it safe to log: printable ASCII except '\\' and '"' is
 * kept, everything else becomes \ooo.  Always NUL-terminates; truncates.
 */
size_t		 str_vis(char *dst, size_t dstlen, const char *src);
/*
 * Copy src into dst as the inside of a JSON string (no quotes): '"' and
 * '\\' get a backslash; every other byte outside printable ASCII (control
 * bytes, DEL, each byte >= 0x80, valid UTF-8 or not) becomes \u00XX of
 * its value.  Always NUL-terminates; truncates, never inside an escape.
 * Returns the length written.
 */
size_t		 str_json(char *dst, size_t dstlen, const char *src);

/*
 * snprintf at buf + *off, advancing *off; once buf (len > 0) is full the
 * text is cut and later calls add nothing.  For lists built piece by piece.
 */
void		 str_append(char *buf, size_t len, size_t *off,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Monotonic milliseconds. */
uint64_t	 time_now_ms(void);
/* The same clock in microseconds (round trips on a LAN). */
uint64_t	 time_now_us(void);

#endif /* UTIL_H */
