/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * The histograms and the busiest-clients and busiest-files tables of a
 * worker's statistics slot (include/tftp_shm.h): the worker's updates,
 * cheap enough for every ACK (a clz, three relaxed atomic adds, no lock),
 * and what tftpctl makes of them (bucket bounds, quantiles, tear-free
 * copies of the tables, the counts since the last "stats --reset").
 */
#ifndef METRICS_H
#define METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "tftp_shm.h"

/*
 * The bucket (0 .. TFTP_SHM_HIST_BUCKETS, the last one +Inf) of value v
 * in a histogram whose bounds are 2^(i + shift) - bias.
 */
static inline unsigned
metrics_bucket_of(uint64_t v, unsigned shift, unsigned bias)
{
	unsigned e;

	if (v > UINT64_MAX - bias)
		return TFTP_SHM_HIST_BUCKETS;
	v += bias;
	/* The smallest e with v <= 2^e. */
	e = v <= 1 ? 0 : 64 - (unsigned)__builtin_clzll(v - 1);
	e = e > shift ? e - shift : 0;
	return e < TFTP_SHM_HIST_BUCKETS ? e : TFTP_SHM_HIST_BUCKETS;
}

/* The bucket of v in histogram id (an out-of-range id: +Inf). */
unsigned	 metrics_bucket(enum tftp_shm_hist_id id, uint64_t v);
/* Record v (in the histogram's unit) in hist[id] of a statistics slot. */
void		 metrics_record(struct tftp_shm_hist *hist,
		    enum tftp_shm_hist_id id, uint64_t v);
/* Finite bucket i's upper bound, in the histogram's unit. */
uint64_t	 metrics_bound(enum tftp_shm_hist_id id, unsigned i);
/* The histogram's name (after the metric prefix) and its unit divisor. */
const char	*metrics_hist_name(enum tftp_shm_hist_id id);
uint64_t	 metrics_hist_div(enum tftp_shm_hist_id id);
/*
 * The q-quantile (0 < q <= 1) of h, in base units (seconds, bytes),
 * interpolated linearly within its bucket; a quantile in the +Inf bucket
 * is the last finite bound.  -1 when h is empty.
 */
double		 metrics_quantile(const struct tftp_shm_hist *h,
		    enum tftp_shm_hist_id id, double q);

/*
 * A request of a table's key ended: requests + 1, bytes, failures + 1
 * when failed.  The space-saving step: the key's entry, else a free one,
 * else the one with the fewest requests, taken over.  The key is keylen
 * bytes (at most TFTP_SHM_FILE_MAX - 1; longer is cut).
 */
void		 metrics_top_add(struct tftp_shm_top *tab, size_t n,
		    uint16_t family, const void *key, size_t keylen,
		    uint64_t bytes, bool failed);
/*
 * A client's key: family and the IPv4 address or the IPv6 /64 (an
 * IPv4-mapped address counts as IPv4) in key[16]; its length, 0 for
 * another family.
 */
size_t		 metrics_client_key(const struct sockaddr *sa,
		    uint16_t *family, uint8_t key[16]);
/*
 * A table entry copied under its seqlock: false when it is free or was
 * being rewritten all along (the copy is then zeroed).  A file's key is
 * NUL-terminated in the copy.
 */
bool		 metrics_top_read(const struct tftp_shm_top *live,
		    struct tftp_shm_top *out);

/* What "stats --reset" keeps of a slot (each field loaded atomically). */
void		 metrics_baseline_take(const struct tftp_shm_stats *st,
		    uint64_t restarts, struct tftp_shm_baseline *b);
/* A copied slot made the counts since the baseline (never below 0). */
void		 metrics_baseline_sub(struct tftp_shm_stats *st,
		    uint64_t *restarts, const struct tftp_shm_baseline *b);

#endif /* METRICS_H */
