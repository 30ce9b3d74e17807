/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * The busiest clients and files of an instance: every worker's top-N
 * table (struct tftp_shm_top) from a snapshot, merged by key (counts
 * summed) and sorted by requests, most first.  Each worker's table is
 * approximate (the space-saving algorithm), and so is the merge.  For
 * "tftpctl clients" and "tftpctl files", and any other view.
 */
#ifndef CTL_TOPN_H
#define CTL_TOPN_H

#include <stddef.h>
#include <stdint.h>

#include "ctl_instance.h"
#include "tftp_shm.h"

struct ctl_topn_row {
	uint16_t	 family;	/* AF_INET, AF_INET6; files: 0 */
	uint8_t		 key[TFTP_SHM_FILE_MAX];	/* as in the table */
	uint64_t	 requests;
	uint64_t	 bytes;
	uint64_t	 failures;
	uint64_t	 error;		/* requests at most this too high */
};

/*
 * The merged rows, at most max of them, into rows: how many.  Ties in
 * requests go by bytes, then by key, so the order is stable.
 */
size_t	 ctl_topn_clients(const struct snap *s, struct ctl_topn_row *rows,
	    size_t max);
size_t	 ctl_topn_files(const struct snap *s, struct ctl_topn_row *rows,
	    size_t max);
/* A client row's key as text: "192.0.2.7", "2001:db8:1:2::/64". */
void	 ctl_topn_client_str(const struct ctl_topn_row *r, char *buf,
	    size_t len);

#endif /* CTL_TOPN_H */
