/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * The workers' top-N tables merged: all entries in one array, sorted by
 * key so equal keys meet, summed, then sorted by requests.  At most
 * TFTP_SHM_MAX_WORKERS * TFTP_SHM_TOPN entries: a static array.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "ctl_topn.h"

#define ALL_MAX	(TFTP_SHM_MAX_WORKERS * TFTP_SHM_TOPN)

static size_t	 merge(const struct snap *s, int files,
		    struct ctl_topn_row *rows, size_t max);
static int	 by_key(const void *a, const void *b);
static int	 by_requests(const void *a, const void *b);

/* Scratch space too big for the stack. */
static struct ctl_topn_row	 all[ALL_MAX];

static int
by_key(const void *a, const void *b)
{
	const struct ctl_topn_row *x = a, *y = b;

	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	return memcmp(x->key, y->key, sizeof(x->key));
}

static int
by_requests(const void *a, const void *b)
{
	const struct ctl_topn_row *x = a, *y = b;

	if (x->requests != y->requests)
		return x->requests > y->requests ? -1 : 1;
	if (x->bytes != y->bytes)
		return x->bytes > y->bytes ? -1 : 1;
	return by_key(a, b);
}

static size_t
merge(const struct snap *s, int files, struct ctl_topn_row *rows,
    size_t max)
{
	const struct tftp_shm_top	*e;
	struct ctl_topn_row		*r;
	size_t				 n = 0, m, i;
	uint32_t			 k;

	for (k = 0; k < s->nworkers && k < TFTP_SHM_MAX_WORKERS; k++) {
		for (i = 0; i < TFTP_SHM_TOPN; i++) {
			e = files ? &s->stats[k].files[i] :
			    &s->stats[k].clients[i];
			/* Free, or not a key of this table. */
			if (e->requests == 0 || (files && e->family != 0) ||
			    (!files && e->family != AF_INET &&
			    e->family != AF_INET6))
				continue;
			r = &all[n++];
			memset(r, 0, sizeof(*r));
			r->family = e->family;
			memcpy(r->key, e->key, sizeof(r->key));
			r->key[sizeof(r->key) - 1] = '\0';
			r->requests = e->requests;
			r->bytes = e->bytes;
			r->failures = e->failures;
			r->error = e->error;
		}
	}
	if (n == 0)
		return 0;
	qsort(all, n, sizeof(all[0]), by_key);
	for (m = 0, i = 1; i < n; i++) {
		if (by_key(&all[m], &all[i]) == 0) {
			all[m].requests += all[i].requests;
			all[m].bytes += all[i].bytes;
			all[m].failures += all[i].failures;
			all[m].error += all[i].error;
		} else
			all[++m] = all[i];
	}
	n = m + 1;
	qsort(all, n, sizeof(all[0]), by_requests);
	if (n > max)
		n = max;
	memcpy(rows, all, n * sizeof(*rows));
	return n;
}

size_t
ctl_topn_clients(const struct snap *s, struct ctl_topn_row *rows,
    size_t max)
{
	return merge(s, 0, rows, max);
}

size_t
ctl_topn_files(const struct snap *s, struct ctl_topn_row *rows, size_t max)
{
	return merge(s, 1, rows, max);
}

void
ctl_topn_client_str(const struct ctl_topn_row *r, char *buf, size_t len)
{
	char	 a[INET6_ADDRSTRLEN];

	if (r->family == AF_INET &&
	    inet_ntop(AF_INET, r->key, a, sizeof(a)) != NULL)
		snprintf(buf, len, "%s", a);
	else if (r->family == AF_INET6 &&
	    inet_ntop(AF_INET6, r->key, a, sizeof(a)) != NULL)
		snprintf(buf, len, "%s/64", a);
	else
		snprintf(buf, len, "?");
}
