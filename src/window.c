/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * A download's window: its DATA packets laid out back to back in the
 * transfer's pool buffer, each header followed by its data read into
 * place (one preadv() for an octet window), and whether they can leave
 * as one UDP GSO send.  Both transports send windows built here.
 *
 * An octet file of WINDOW_MAP_MIN bytes or more is mapped read-only
 * instead, at its first window, and its windows are sent from the page
 * cache: the headers in the pool buffer, an iovec per header and per
 * block pointing at the mapping, so the kernel's one copy into the
 * socket buffer is the only one.  Our code never touches the mapping:
 * a page the file lost to a truncation makes the send fail with EFAULT
 * (the senders then drop the mapping with window_unmap() and read the
 * window again, which finds the file short), not a SIGBUS.  The window
 * holding the file's last byte is always read, never mapped, so a file
 * that shrank ends its transfer with "File changed" even when its new
 * end falls inside a page the mapping still shows (zeros past it).
 *
 * When the transfer's descriptor is a shared one (fdcache.c), so is the
 * mapping: made by the first transfer that needs it, used by all that
 * hold the descriptor, unmapped when the table closes the descriptor.
 * Faulting, it is marked so no later transfer is given it.  A private
 * descriptor (not in the table) gets a mapping of its own, unmapped
 * when its transfer ends.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include "files.h"
#include "log.h"
#include "proto.h"
#include "sock.h"
#include "worker_int.h"
#include "xfer.h"

/*
 * Smaller files are read: S7's 1 KiB files (and anything a few windows
 * long) would pay an mmap() and a munmap() for copies worth less.
 */
#define WINDOW_MAP_MIN	(256u << 10)
/*
 * At most this much of a file is mapped (windows past it are read): the
 * address space every transfer of a worker may take stays bounded.
 */
#define WINDOW_MAP_MAX	((size_t)1 << (sizeof(void *) >= 8 ? 32 : 26))
/* A mapped window in the pool buffer: the iovecs, then the headers. */
#define MAP_IOV_BYTES	(2 * SOCK_GSO_MAX_SEGS * sizeof(struct iovec))

_Static_assert(MAP_IOV_BYTES + SOCK_GSO_MAX_SEGS * TFTP_HDR_LEN <=
    POOL_BUFSZ, "a mapped window's iovecs and headers fit a pool buffer");
_Static_assert(2 * SOCK_GSO_MAX_SEGS <= IOV_MAX,
    "a mapped GSO window stays within the kernel's UIO_MAXIOV");

static bool	 window_mapped(struct worker *w, struct transfer *t,
		    uint64_t first, uint32_t k);
static int	 window_map(struct worker *w, struct transfer *t);
static void	 fill_mapped(struct worker *w, struct transfer *t,
		    uint64_t first, uint32_t k);
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
 * file: sent from the mapping when there is one for them, else read
 * with one preadv() into place after each block's header, so a window
 * costs one read.  Anything short of the whole range (EINTR, a file that
 * shrank) goes back to fill_block(), which knows what to make of it.
 * Sets siov[0 .. k-1] to the packets (header address, length), smsg[i]
 * to packet i and wiov[0 .. wniov-1] to the whole window.
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

	if (window_mapped(w, t, first, k)) {
		fill_mapped(w, t, first, k);
		return 0;
	}
	for (i = 0; i < k; i++) {
		w->smsg[i].msg_hdr.msg_iov = &w->siov[i];
		w->smsg[i].msg_hdr.msg_iovlen = 1;
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
	/* Back to back in the buffer: one iovec for a GSO send. */
	for (i = 0, total = 0; i < k; i++)
		total += w->siov[i].iov_len;
	w->wone = (struct iovec){ .iov_base = t->buf, .iov_len = total };
	w->wiov = &w->wone;
	w->wniov = 1;
	return 0;
}

/*
 * Does the mapping (made now if not tried yet) hold blocks first ..
 * first + k - 1, and not the file's last byte?
 */
static bool
window_mapped(struct worker *w, struct transfer *t, uint64_t first,
    uint32_t k)
{
	uint64_t end;

	if (t->netascii || k == 0 || k > SOCK_GSO_MAX_SEGS)
		return false;
	if (t->map == NULL && (t->map_tried || window_map(w, t) < 0))
		return false;
	end = xfer_block_offset(&t->x, first + k - 1) +
	    xfer_block_len(&t->x, first + k - 1);
	return end < t->maplen;
}

/*
 * Map the file's first size bytes (the size the transfer announced), at
 * most WINDOW_MAP_MAX.  Tried once: a file too small, or a mapping the
 * kernel refuses, is read as before.
 */
static int
window_map(struct worker *w, struct transfer *t)
{
	uint64_t size = xfer_params(&t->x)->size;
	size_t len;
	void *p;
	int r;

	t->map_tried = true;
	if (size < WINDOW_MAP_MIN)
		return -EFBIG;
	len = size > WINDOW_MAP_MAX ? WINDOW_MAP_MAX : (size_t)size;
	/* The shared descriptor's mapping; else (-ENOENT) one of our own. */
	r = fdcache_map(&w->fc, t->fd, len, &t->map, &t->maplen);
	if (r == 0) {
		t->map_shared = true;
		return 0;
	}
	if (r != -ENOENT)
		return r;
	p = mmap(NULL, len, PROT_READ, MAP_SHARED, t->fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	t->map = p;
	t->maplen = len;
	return 0;
}

/*
 * Release the transfer's mapping, if any; it is not made again.  A
 * shared one stays for the others: the table unmaps it after the last
 * of them (tx_release() gives the descriptor back after this).
 */
void
window_unmap(struct transfer *t)
{
	if (t->map == NULL)
		return;
	if (!t->map_shared)
		(void)munmap((void *)(uintptr_t)t->map, t->maplen);
	t->map = NULL;
	t->maplen = 0;
	t->map_shared = false;
}

/*
 * A send from the mapping faulted: the file was truncated.  This
 * transfer reads from now on (and finds the file short); a shared
 * mapping is given to no other transfer.
 */
void
window_map_fault(struct worker *w, struct transfer *t)
{
	if (t->map_shared)
		fdcache_map_fault(&w->fc, t->fd);
	window_unmap(t);
}

/*
 * The window's iovecs and headers in the pool buffer, where they stay
 * put until single_port's queue is flushed: header i and block i (in
 * the mapping) make packet i, and all of them one GSO send.
 */
static void
fill_mapped(struct worker *w, struct transfer *t, uint64_t first,
    uint32_t k)
{
	struct iovec *iov = (struct iovec *)(void *)t->buf;
	uint8_t *hdr = t->buf + MAP_IOV_BYTES;
	uint64_t off = xfer_block_offset(&t->x, first);
	size_t want;
	uint32_t i;

	for (i = 0; i < k; i++, hdr += TFTP_HDR_LEN) {
		want = xfer_block_len(&t->x, first + i);
		proto_build_data_hdr(hdr, TFTP_HDR_LEN,
		    xfer_wire_block(&t->x, first + i));
		iov[2 * i] = (struct iovec){ .iov_base = hdr,
		    .iov_len = TFTP_HDR_LEN };
		iov[2 * i + 1] = (struct iovec){
		    .iov_base = (void *)((uintptr_t)t->map + off),
		    .iov_len = want };
		off += want;
		w->siov[i] = (struct iovec){ .iov_base = hdr,
		    .iov_len = TFTP_HDR_LEN + want };
		w->smsg[i].msg_hdr.msg_iov = &iov[2 * i];
		w->smsg[i].msg_hdr.msg_iovlen = 2;
	}
	w->wiov = iov;
	w->wniov = (int)(2 * k);
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
