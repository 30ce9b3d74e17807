/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * A download's window: its DATA packets laid out back to back in the
 * transfer's pool buffer, each header followed by its data read into
 * place (one preadv() for an octet window), and whether they can leave
 * as one UDP GSO send.  Both transports send windows built here.
 */
#include <errno.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "files.h"
#include "log.h"
#include "proto.h"
#include "sock.h"
#include "worker_int.h"
#include "xfer.h"

static int	 fill_block(struct worker *w, struct transfer *t, uint64_t idx,
		    uint8_t *buf, size_t *len);

/*
 * How windows go out, fixed at start: sendmmsg() batches of nbatch (1:
 * no sendmmsg), UDP GSO unless turned off (then tried once), and the
 * message array over siov[].
 */
void
window_init(struct worker *w)
{
	const struct tftpd_config *cfg = &w->cfg;
	uint32_t i;

	w->nbatch = cfg->enable_sendmmsg && cfg->max_batch_size > 1 ?
	    cfg->max_batch_size : 1;
	if (w->nbatch > SOCK_GSO_MAX_SEGS)
		w->nbatch = SOCK_GSO_MAX_SEGS;
	w->gso = cfg->enable_gso ? 0 : -1;
	for (i = 0; i < SOCK_GSO_MAX_SEGS; i++) {
		w->smsg[i].msg_hdr.msg_iov = &w->siov[i];
		w->smsg[i].msg_hdr.msg_iovlen = 1;
	}
}

/* Packets of seg bytes a pool buffer holds at once (and GSO sends). */
uint32_t
window_fit(size_t seg)
{
	uint32_t fit = (uint32_t)(POOL_BUFSZ / seg);

	if (fit > SOCK_GSO_MAX_SEGS)
		fit = SOCK_GSO_MAX_SEGS;
	return fit > 0 ? fit : 1;
}

/*
 * Octet blocks first .. first + k - 1 are one contiguous range of the
 * file: read it with one preadv() into place after each block's header,
 * so a window costs one read.  Anything short of the whole range (EINTR,
 * a file that shrank) goes back to fill_block(), which knows what to make
 * of it.  Sets siov[0 .. k-1] to the packets.
 */
int
window_fill(struct worker *w, struct transfer *t, uint64_t first,
    uint32_t k, size_t seg)
{
	struct iovec	 riov[SOCK_GSO_MAX_SEGS];
	size_t		 want, total = 0, len = 0;
	uint32_t	 i;
	ssize_t		 n;
	int		 r;

	for (i = 0; i < k; i++) {
		want = xfer_block_len(&t->x, first + i);
		proto_build_data_hdr(t->buf + i * seg, TFTP_HDR_LEN,
		    xfer_wire_block(&t->x, first + i));
		riov[i].iov_base = t->buf + i * seg + TFTP_HDR_LEN;
		riov[i].iov_len = want;
		w->siov[i].iov_base = t->buf + i * seg;
		w->siov[i].iov_len = TFTP_HDR_LEN + want;
		total += want;
	}
	if (t->netascii || k < 2 || k > SOCK_GSO_MAX_SEGS ||
	    (n = preadv(t->fd, riov, (int)k,
	    (off_t)xfer_block_offset(&t->x, first))) < 0 ||
	    (size_t)n != total) {
		for (i = 0; i < k; i++) {
			r = fill_block(w, t, first + i, t->buf + i * seg,
			    &len);
			if (r < 0)
				return r;
			w->siov[i].iov_len = len;
		}
	}
	return 0;
}

/* The DATA packet of block idx: header, then the payload read into place. */
static int
fill_block(struct worker *w, struct transfer *t, uint64_t idx, uint8_t *buf,
    size_t *len)
{
	size_t want = xfer_block_len(&t->x, idx), got = 0;
	off_t off;
	ssize_t n;

	proto_build_data_hdr(buf, TFTP_HDR_LEN, xfer_wire_block(&t->x, idx));
	if (t->netascii) {
		/* Checkpoint: no block before the window is sent again. */
		n = files_nasrc_read(&t->nas, idx,
		    xfer_params(&t->x)->opt.blksize, xfer_acked(&t->x) + 1,
		    buf + TFTP_HDR_LEN);
		if (n < 0)
			return (int)n;
		got = (size_t)n;
	} else {
		off = (off_t)xfer_block_offset(&t->x, idx);
		while (got < want) {
			n = pread(t->fd, buf + TFTP_HDR_LEN + got, want - got,
			    off + (off_t)got);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return -errno;
			if (n == 0)
				break;
			got += (size_t)n;
		}
	}
	/* Shorter (or, in netascii, longer) than the size we announced. */
	if (got != want)
		return -ESTALE;
	*len = TFTP_HDR_LEN + got;
	return 0;
}

/*
 * The bytes of siov[0 .. k-1] when they can go out as one UDP GSO send
 * (several packets, all seg bytes but the last, within the kernel's
 * limits, GSO not found missing), else 0.
 */
size_t
window_gso_total(const struct worker *w, uint32_t k, size_t seg)
{
	size_t total = 0;
	uint32_t i;

	if (k < 2 || w->gso < 0 || seg > SOCK_GSO_MAX_SEG)
		return 0;
	for (i = 0; i < k; i++) {
		total += w->siov[i].iov_len;
		if (i + 1 < k && w->siov[i].iov_len != seg)
			return 0;
	}
	return total <= SOCK_GSO_MAX_BYTES ? total : 0;
}

/*
 * A GSO send failed with err.  If that is the kernel (or the device)
 * saying it has no UDP GSO, windows go out with sendmmsg from now on:
 * true.
 */
bool
window_gso_refused(struct worker *w, int err)
{
	if (w->gso != 0 || (err != -EINVAL && err != -EIO &&
	    err != -ENOPROTOOPT && err != -EOPNOTSUPP))
		return false;
	w->gso = -1;
	log_info("UDP GSO unavailable (%s): windows go out with sendmmsg",
	    strerror(-err));
	return true;
}
