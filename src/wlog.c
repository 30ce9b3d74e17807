/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * The worker's lines that a remote client can cause, rate-limited: every
 * refused request and failed transfer line, a packet on a listen socket
 * that is no request, a transfer socket that could not be opened.  A
 * flood of bad packets would otherwise be a flood of log lines (tens of
 * thousands a second: the disk, journald and the master's relay pay for
 * each).  The bookkeeping is ratelog.c's; here are the kinds, their
 * names and priorities, and the summary lines.  A successful transfer's
 * line never comes here.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "ratelog.h"
#include "util.h"
#include "worker_int.h"

/* What a summary calls the lines it stands for, and their priority. */
static const struct {
	const char	*name;
	int		 prio;
	bool		 request;	/* a request's line: JSON when asked */
} kinds[WLOG_NKINDS] = {
	[WLOG_ERROR + 0] = { "result=error code=0", LOG_NOTICE, true },
	[WLOG_ERROR + 1] = { "result=error code=1", LOG_INFO, true },
	[WLOG_ERROR + 2] = { "result=error code=2", LOG_NOTICE, true },
	[WLOG_ERROR + 3] = { "result=error code=3", LOG_NOTICE, true },
	[WLOG_ERROR + 4] = { "result=error code=4", LOG_NOTICE, true },
	[WLOG_ERROR + 5] = { "result=error code=5", LOG_NOTICE, true },
	[WLOG_ERROR + 6] = { "result=error code=6", LOG_NOTICE, true },
	[WLOG_ERROR + 7] = { "result=error code=7", LOG_NOTICE, true },
	[WLOG_ERROR + 8] = { "result=error code=8", LOG_NOTICE, true },
	[WLOG_TIMEOUT]	= { "result=timeout", LOG_NOTICE, true },
	[WLOG_ABORTED]	= { "result=aborted", LOG_INFO, true },
	[WLOG_REPLACED]	= { "result=replaced", LOG_INFO, true },
	[WLOG_STRAY]	= { "no request on the listen socket", LOG_DEBUG,
			    false },
	[WLOG_SOCKET]	= { "no transfer socket", LOG_WARNING, false },
	[WLOG_REMAP]	= { "refused by the remap rules", LOG_DEBUG, false },
	[WLOG_RECV]	= { "receive error on the listen socket", LOG_DEBUG,
			    false },
};

_Static_assert(WLOG_NKINDS <= RATELOG_KINDS, "ratelog has too few kinds");

static void	 summary(struct worker *w, const struct ratelog_summary *s);

int
wlog_prio(unsigned kind)
{
	return kind < WLOG_NKINDS ? kinds[kind].prio : LOG_NOTICE;
}

bool
wlog_allow(struct worker *w, unsigned kind, const struct sockaddr *peer)
{
	struct ratelog_addr a;
	uint64_t now;

	if (kind >= WLOG_NKINDS)
		return true;
	/* A line the level drops anyway is neither written nor counted. */
	if (!log_enabled(kinds[kind].prio))
		return false;
	now = time_now_ms();
	if (ratelog_due(&w->rl, kind, now))
		wlog_flush(w, now, false);
	ratelog_addr_of(peer, &a);
	return ratelog_allow(&w->rl, kind, &a, now);
}

void
wlog_flush(struct worker *w, uint64_t now, bool all)
{
	struct ratelog_summary out[RATELOG_SUMMARY_ADDRS + 1];
	size_t i, n;

	while ((n = ratelog_flush(&w->rl, now, all, out,
	    sizeof(out) / sizeof(out[0]))) > 0)
		for (i = 0; i < n; i++)
			summary(w, &out[i]);
}

/*
 * "suppressed N similar messages (KIND) from ADDR", or "from N
 * addresses" (the lines of several, or of addresses the table no longer
 * held), once the kind's interval is over; as a JSON object when the
 * request lines are.
 */
static void
summary(struct worker *w, const struct ratelog_summary *s)
{
	char from[INET6_ADDRSTRLEN + 16];
	const char *name = kinds[s->kind].name;
	int prio = kinds[s->kind].prio;
	bool one = s->naddrs == 1 && s->addr.family != 0;

	if (one && inet_ntop(s->addr.family, s->addr.bytes, from,
	    sizeof(from)) == NULL)
		one = false;
	if (kinds[s->kind].request && w->cfg.log_format == LOG_FORMAT_JSON) {
		if (one)
			log_msg(prio, "{\"event\":\"suppressed\",\"worker\":%"
			    PRIu32 ",\"kind\":\"%s\",\"count\":%" PRIu64
			    ",\"client\":\"%s\"}", w->index, name, s->count,
			    from);
		else
			log_msg(prio, "{\"event\":\"suppressed\",\"worker\":%"
			    PRIu32 ",\"kind\":\"%s\",\"count\":%" PRIu64
			    ",\"clients\":%" PRIu32 "}", w->index, name,
			    s->count, s->naddrs);
		return;
	}
	if (!one)
		snprintf(from, sizeof(from), "%" PRIu32 " address%s",
		    s->naddrs, s->naddrs == 1 ? "" : "es");
	log_msg(prio, "suppressed %" PRIu64 " similar message%s (%s) from %s",
	    s->count, s->count == 1 ? "" : "s", name, from);
}
