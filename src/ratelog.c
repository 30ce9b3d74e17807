/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * The log rate limiter's bookkeeping (see ratelog.h): a fixed table, no
 * allocation, no I/O, so that a flood of bad packets costs the worker a
 * table lookup per packet instead of a log line, and so that it can be
 * tested with a clock of its own.  A linear search of 64 entries is
 * cheaper than the syscall a line would have cost.
 */
#include <netinet/in.h>
#include <string.h>

#include "ratelog.h"

static struct ratelog_entry *find(struct ratelog *rl, unsigned kind,
		    const struct ratelog_addr *a);
static struct ratelog_entry *take(struct ratelog *rl);
static size_t	 close_kind(struct ratelog *rl, unsigned kind,
		    struct ratelog_summary *out);
static size_t	 summaries_needed(const struct ratelog *rl, unsigned kind);

void
ratelog_init(struct ratelog *rl)
{
	memset(rl, 0, sizeof(*rl));
}

void
ratelog_addr_of(const struct sockaddr *sa, struct ratelog_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (sa == NULL)
		return;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 =
		    (const struct sockaddr_in *)(const void *)sa;

		a->family = AF_INET;
		memcpy(a->bytes, &s4->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 =
		    (const struct sockaddr_in6 *)(const void *)sa;

		a->family = AF_INET6;
		memcpy(a->bytes, &s6->sin6_addr, 16);
	}
}

static struct ratelog_entry *
find(struct ratelog *rl, unsigned kind, const struct ratelog_addr *a)
{
	size_t i;

	for (i = 0; i < RATELOG_ENTRIES; i++)
		if (rl->e[i].used && rl->e[i].kind == kind &&
		    rl->e[i].addr.family == a->family &&
		    memcmp(rl->e[i].addr.bytes, a->bytes, 16) == 0)
			return &rl->e[i];
	return NULL;
}

/*
 * A free entry, or the least recently seen one, whose suppressed count
 * moves to its kind's total so that no suppressed line goes uncounted.
 */
static struct ratelog_entry *
take(struct ratelog *rl)
{
	struct ratelog_entry *old = NULL;
	size_t i;

	for (i = 0; i < RATELOG_ENTRIES; i++) {
		if (!rl->e[i].used)
			return &rl->e[i];
		if (old == NULL || rl->e[i].last_ms < old->last_ms)
			old = &rl->e[i];
	}
	if (old->suppressed > 0) {
		if (rl->k[old->kind].other_addrs++ == 0)
			rl->k[old->kind].other_addr = old->addr;
		rl->k[old->kind].other += old->suppressed;
	}
	return old;
}

bool
ratelog_due(const struct ratelog *rl, unsigned kind, uint64_t now)
{
	const struct ratelog_kind *k;

	if (kind >= RATELOG_KINDS)
		return false;
	k = &rl->k[kind];
	return k->start_ms != 0 && now - k->start_ms >= RATELOG_INTERVAL_MS;
}

bool
ratelog_allow(struct ratelog *rl, unsigned kind,
    const struct ratelog_addr *addr, uint64_t now)
{
	static const struct ratelog_addr none;
	struct ratelog_entry *e;
	struct ratelog_kind *k;

	if (kind >= RATELOG_KINDS)
		return true;
	if (addr == NULL)
		addr = &none;
	k = &rl->k[kind];
	/* 0 marks "no interval": the clock's first millisecond is 1. */
	if (k->start_ms == 0)
		k->start_ms = now != 0 ? now : 1;
	if ((e = find(rl, kind, addr)) == NULL) {
		e = take(rl);
		memset(e, 0, sizeof(*e));
		e->used = true;
		e->kind = (uint8_t)kind;
		e->addr = *addr;
	}
	e->last_ms = now;
	if (e->lines < RATELOG_PER_ADDR && k->lines < RATELOG_PER_KIND) {
		e->lines++;
		k->lines++;
		return true;
	}
	e->suppressed++;
	return false;
}

/* Summaries kind's close would write: its addresses, then the rest. */
static size_t
summaries_needed(const struct ratelog *rl, unsigned kind)
{
	size_t i, n = 0;

	for (i = 0; i < RATELOG_ENTRIES; i++)
		if (rl->e[i].used && rl->e[i].kind == kind &&
		    rl->e[i].suppressed > 0)
			n++;
	if (n > RATELOG_SUMMARY_ADDRS || rl->k[kind].other > 0) {
		if (n > RATELOG_SUMMARY_ADDRS)
			n = RATELOG_SUMMARY_ADDRS;
		n++;
	}
	return n;
}

/*
 * Kind's interval closed: its summaries into out (room for
 * summaries_needed()), its counts back to zero.
 */
static size_t
close_kind(struct ratelog *rl, unsigned kind, struct ratelog_summary *out)
{
	struct ratelog_kind *k = &rl->k[kind];
	struct ratelog_summary rest;
	struct ratelog_entry *e;
	size_t i, n = 0;

	memset(&rest, 0, sizeof(rest));
	rest.kind = (uint8_t)kind;
	rest.count = k->other;
	rest.naddrs = k->other_addrs;
	rest.addr = k->other_addr;	/* said only when naddrs is 1 */
	for (i = 0; i < RATELOG_ENTRIES; i++) {
		e = &rl->e[i];
		if (!e->used || e->kind != kind)
			continue;
		if (e->suppressed > 0 && n < RATELOG_SUMMARY_ADDRS) {
			memset(&out[n], 0, sizeof(out[n]));
			out[n].kind = (uint8_t)kind;
			out[n].count = e->suppressed;
			out[n].naddrs = 1;
			out[n].addr = e->addr;
			n++;
		} else if (e->suppressed > 0) {
			if (rest.naddrs++ == 0)
				rest.addr = e->addr;
			rest.count += e->suppressed;
		}
		e->lines = 0;
		e->suppressed = 0;
	}
	if (rest.count > 0)
		out[n++] = rest;
	memset(k, 0, sizeof(*k));
	return n;
}

size_t
ratelog_flush(struct ratelog *rl, uint64_t now, bool all,
    struct ratelog_summary *out, size_t max)
{
	unsigned i, kind;
	size_t n = 0, need;

	for (i = 0; i < RATELOG_KINDS; i++) {
		kind = (rl->next_kind + i) % RATELOG_KINDS;
		if (rl->k[kind].start_ms == 0 ||
		    (!all && !ratelog_due(rl, kind, now)))
			continue;
		need = summaries_needed(rl, kind);
		if (need > max - n) {
			rl->next_kind = kind;
			return n;
		}
		n += close_kind(rl, kind, out + n);
	}
	rl->next_kind = 0;
	return n;
}
