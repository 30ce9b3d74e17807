/*
 * A worker: the event loop that answers requests on the listen sockets
 * and runs the transfers (design.md sections 2 and 4).  Written so that a
 * later master can fork+exec it with the sockets and root descriptor
 * inherited; today main() calls it directly.
 */
#ifndef WORKER_H
#define WORKER_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

/*
 * Per-worker counters (logged at exit; shared memory later).  Bytes are
 * DATA payload bytes as they crossed the wire, retransmissions and
 * duplicates included; packets are every datagram sent or received.
 */
struct worker_stats {
	uint64_t	rrq;			/* parsed read requests */
	uint64_t	wrq;			/* parsed write requests */
	uint64_t	refused;		/* answered with ERROR */
	uint64_t	transfers_ok;
	uint64_t	transfers_failed;	/* timeout, abort, error */
	uint64_t	bytes_sent;
	uint64_t	bytes_received;
	uint64_t	packets_sent;
	uint64_t	packets_received;
	uint64_t	retransmits;
	uint64_t	timeouts;
};

/*
 * Serve until SIGTERM or SIGINT: then stop accepting, end every transfer
 * (uploads are aborted, their temporaries vanish) and return 0.  Returns 1
 * when the worker could not start.  The listen descriptors and rootfd stay
 * open (they belong to the caller).
 */
int		 worker_run(const struct tftpd_config *cfg,
		    const int *listen_fds, size_t n, int rootfd);

#endif /* WORKER_H */
