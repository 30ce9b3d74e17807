/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * Rate limiting of the log lines a remote client can cause (refusals,
 * failed transfers, stray packets): pure bookkeeping, no I/O.  The caller
 * asks ratelog_allow() before it writes such a line; what is not allowed
 * is counted, and ratelog_flush() hands back summaries of what was
 * suppressed, which the caller writes.  Every suppressed line is counted
 * in exactly one summary, so the summaries add up to what was suppressed.
 *
 * Lines are told apart by kind (a small number the caller chooses) and by
 * client address (the port left out: a client's every retry comes from a
 * new one).  Within an interval of RATELOG_INTERVAL_MS, which starts for
 * a kind with its first line, a kind logs at most RATELOG_PER_ADDR lines
 * per address and RATELOG_PER_KIND lines in all (so that a flood from
 * many addresses is bounded too).  The addresses are kept in a table of
 * RATELOG_ENTRIES, the least recently seen one evicted for a new one; an
 * evicted address's suppressed count is kept in its kind's total.
 */
#ifndef RATELOG_H
#define RATELOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define RATELOG_INTERVAL_MS	5000
#define RATELOG_PER_ADDR	10
#define RATELOG_PER_KIND	30
#define RATELOG_ENTRIES		64
#define RATELOG_KINDS		16
/* Addresses summarized one per line per kind; the rest in one line. */
#define RATELOG_SUMMARY_ADDRS	4

/* A client address without its port: AF_INET's 4 bytes or AF_INET6's 16. */
struct ratelog_addr {
	uint16_t	family;		/* 0: none (a line without one) */
	uint8_t		bytes[16];
};

struct ratelog_entry {
	struct ratelog_addr addr;
	uint8_t		kind;
	bool		used;
	uint32_t	lines;		/* logged in the kind's interval */
	uint64_t	suppressed;	/* in the kind's interval */
	uint64_t	last_ms;	/* last seen: eviction order */
};

struct ratelog_kind {
	uint64_t	start_ms;	/* of its interval; 0: none open */
	uint32_t	lines;		/* logged in the interval */
	uint64_t	other;		/* suppressed, of evicted addresses */
	uint32_t	other_addrs;	/* evictions that carried a count */
	struct ratelog_addr other_addr;	/* the first of them */
};

struct ratelog {
	struct ratelog_entry	e[RATELOG_ENTRIES];
	struct ratelog_kind	k[RATELOG_KINDS];
	/* Where the last flush stopped, so a bounded flush resumes. */
	uint32_t		next_kind;
};

/*
 * One summary: count lines of kind suppressed, from addr when naddrs is
 * 1 and addr.family is set, else from naddrs addresses (0: the lines had
 * none).
 */
struct ratelog_summary {
	uint8_t			kind;
	uint64_t		count;
	uint32_t		naddrs;
	struct ratelog_addr	addr;
};

void	 ratelog_init(struct ratelog *rl);
/* The address of sa (the port dropped); family 0 for NULL or another. */
void	 ratelog_addr_of(const struct sockaddr *sa, struct ratelog_addr *a);
/*
 * May a line of kind (< RATELOG_KINDS) about addr (NULL: none) be
 * written at now (ms, monotonic)?  false: it was counted as suppressed.
 * A kind whose interval is over must be flushed first: ratelog_due().
 */
bool	 ratelog_allow(struct ratelog *rl, unsigned kind,
	    const struct ratelog_addr *addr, uint64_t now);
/* Whether kind's interval is over at now (and it has something open). */
bool	 ratelog_due(const struct ratelog *rl, unsigned kind, uint64_t now);
/*
 * Close the intervals that are over at now (all of them when all) and
 * put their summaries in out[0..max), returning how many.  A kind's
 * summaries are at most RATELOG_SUMMARY_ADDRS + 1; a kind whose
 * summaries do not fit is left for the next call, so max >=
 * RATELOG_SUMMARY_ADDRS + 1 always makes progress.
 */
size_t	 ratelog_flush(struct ratelog *rl, uint64_t now, bool all,
	    struct ratelog_summary *out, size_t max);

#endif /* RATELOG_H */
