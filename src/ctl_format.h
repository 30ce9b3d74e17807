/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * tftpctl's output: the tables people read, JSON for programs and the
 * Prometheus text format for "stats".  Everything here prints what
 * ctl_instance copied out of a segment, to stdout; nothing reads the
 * segment itself.
 */
#ifndef CTL_FORMAT_H
#define CTL_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctl_instance.h"
#include "ctl_topn.h"
#include "tftp_shm.h"

enum fmt {
	FMT_TEXT,
	FMT_JSON,
	FMT_PROM,
};

/*
 * "stats": every counter, per worker and summed, and the histograms, in
 * format f.  The table and JSON show what the snapshot holds (the caller
 * subtracts the reset baseline for them); Prometheus wants the raw,
 * monotonic counts.
 */
void	 stats_print(enum fmt f, const char *name, const struct snap *s);
/*
 * "clients", "files": the merged top-N rows (ctl_topn.h), a table or a
 * JSON array; files is false for clients.
 */
void	 topn_print(enum fmt f, bool files, const struct ctl_topn_row *rows,
	    size_t n);
/* "workers": one line or JSON object per worker (no FMT_PROM). */
void	 workers_print(enum fmt f, const struct snap *s);
/* "instances": the table of running instances. */
void	 instances_print(const struct inst *l, size_t n);

/* "sessions": begin, then each entry (a session_fn), then end. */
struct sessions_out {
	enum fmt	 f;
	int64_t		 now_ms;	/* wall clock, as started_ms */
	bool		 first;
};
void	 sessions_begin(struct sessions_out *o, enum fmt f, int64_t now_ms);
void	 sessions_entry(uint32_t k, const struct tftp_shm_session *e,
	    void *arg);
void	 sessions_end(const struct sessions_out *o);

/* Shared with "top" (ctl_top.c). */
/* A worker state's name ("running"...), "unknown" out of range. */
const char *state_name(uint32_t state);
/* "42s", "3m05s", "2h10m", "4d03h". */
const char *duration(int64_t secs, char *buf, size_t len);
/* The address alone in addr, "addr:port" or "[addr]:port" in buf. */
void	 client_str(const struct tftp_shm_session *e, char *addr,
	    size_t alen, char *buf, size_t len);

#endif /* CTL_FORMAT_H */
