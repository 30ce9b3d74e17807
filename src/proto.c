/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * TFTP packet codec and option negotiation (RFC 1350, 2347, 2348, 2349,
 * 7440 and the tftp-hpa rollover/utimeout/blksize2 extensions).
 * Everything here works on caller-owned buffers: requests and packets
 * are parsed in place with every read bounded by the datagram length,
 * and packets are built into a buffer of known capacity.  No I/O, no
 * clock, no logging.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "proto.h"

static const char *const opt_names[TFTP_OPT_MAX] = {
	[TFTP_OPT_BLKSIZE]	= "blksize",
	[TFTP_OPT_TIMEOUT]	= "timeout",
	[TFTP_OPT_TSIZE]	= "tsize",
	[TFTP_OPT_WINDOWSIZE]	= "windowsize",
	[TFTP_OPT_ROLLOVER]	= "rollover",
	[TFTP_OPT_UTIMEOUT]	= "utimeout",
	[TFTP_OPT_BLKSIZE2]	= "blksize2",
};

static const char *const err_texts[TFTP_ECODE_MAX + 1] = {
	[TFTP_EUNDEF]		= "Undefined error",
	[TFTP_ENOTFOUND]	= "File not found",
	[TFTP_EACCESS]		= "Access violation",
	[TFTP_ENOSPACE]		= "Disk full or allocation exceeded",
	[TFTP_EBADOP]		= "Illegal TFTP operation",
	[TFTP_EBADID]		= "Unknown transfer ID",
	[TFTP_EEXISTS]		= "File already exists",
	[TFTP_ENOUSER]		= "No such user",
	[TFTP_EOPTNEG]		= "Option negotiation failed",
};

static const char *const mode_names[] = {
	[TFTP_MODE_OCTET]	= "octet",
	[TFTP_MODE_NETASCII]	= "netascii",
};

static int	 parse_dec(const char *s, uint64_t *out);
static const char *next_str(const uint8_t *buf, size_t len, size_t *pos);
static int	 opt_value(struct tftp_request *req, int opt, const char *val);
static size_t	 put_u16(uint8_t *buf, uint16_t v);
static size_t	 put_str(uint8_t *buf, size_t cap, size_t off, const char *s);
static size_t	 put_opt(uint8_t *buf, size_t cap, size_t off,
		    const struct tftp_params *p, int o);
static uint64_t	 min_u64(uint64_t a, uint64_t b);
static uint32_t	 pow2_floor(uint32_t v);

/*
 * Decimal digits only: no sign, no blank, no empty string.  A number too
 * big for 64 bits is -ERANGE with *out set to UINT64_MAX, so callers that
 * clamp (blksize, windowsize) can treat it as "very large".
 */
static int
parse_dec(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	unsigned d;

	if (*s == '\0')
		return -EINVAL;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		d = (unsigned)(*s - '0');
		if (v > (UINT64_MAX - d) / 10) {
			/* Keep scanning: junk after the overflow is junk. */
			while (*s >= '0' && *s <= '9')
				s++;
			if (*s != '\0')
				return -EINVAL;
			*out = UINT64_MAX;
			return -ERANGE;
		}
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

/*
 * The NUL-terminated string starting at *pos, or NULL when the packet ends
 * before its NUL.  memchr keeps the scan inside the datagram, which need
 * not be NUL-terminated itself.
 */
static const char *
next_str(const uint8_t *buf, size_t len, size_t *pos)
{
	const uint8_t *s, *nul;

	if (*pos >= len)
		return NULL;
	s = buf + *pos;
	nul = memchr(s, '\0', len - *pos);
	if (nul == NULL)
		return NULL;
	*pos += (size_t)(nul - s) + 1;
	return (const char *)s;
}

static uint64_t
min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* The largest power of two not above v (> 0). */
static uint32_t
pow2_floor(uint32_t v)
{
	uint32_t p = 1;

	while (v >>= 1)
		p <<= 1;
	return p;
}

/* Store one option value; 0 if usable, -EINVAL if the option is ignored. */
static int
opt_value(struct tftp_request *req, int opt, const char *val)
{
	uint64_t v;
	int rc;

	rc = parse_dec(val, &v);
	if (rc == -EINVAL)
		return -EINVAL;
	switch (opt) {
	case TFTP_OPT_BLKSIZE:
	case TFTP_OPT_BLKSIZE2:
		/* RFC 2348: a larger request is answered with our maximum. */
		if (v < TFTP_BLKSIZE_MIN)
			return -EINVAL;
		*(opt == TFTP_OPT_BLKSIZE ? &req->blksize : &req->blksize2) =
		    (uint32_t)min_u64(v, TFTP_BLKSIZE_MAX);
		break;
	case TFTP_OPT_TIMEOUT:
		if (v < TFTP_TIMEOUT_MIN || v > TFTP_TIMEOUT_MAX)
			return -EINVAL;
		req->timeout = (uint32_t)v;
		break;
	case TFTP_OPT_TSIZE:
		if (rc != 0)
			return -EINVAL;
		req->tsize = v;
		break;
	case TFTP_OPT_WINDOWSIZE:
		if (v < TFTP_WINDOW_MIN)
			return -EINVAL;
		req->windowsize = (uint32_t)min_u64(v, TFTP_WINDOW_MAX);
		break;
	case TFTP_OPT_ROLLOVER:
		if (v > 1)
			return -EINVAL;
		req->rollover = (uint32_t)v;
		break;
	default:	/* TFTP_OPT_UTIMEOUT */
		if (v < TFTP_UTIMEOUT_MIN || v > TFTP_UTIMEOUT_MAX)
			return -EINVAL;
		req->utimeout = (uint32_t)v;
		break;
	}
	return 0;
}

int
proto_parse_request(const uint8_t *buf, size_t len, struct tftp_request *req,
    const char **errmsg)
{
	const char *file, *mode, *name, *val, *msg;
	uint32_t seen = 0;
	size_t pos = 2;
	int opt, rc;

	memset(req, 0, sizeof(*req));
	msg = err_texts[TFTP_EBADOP];
	rc = -EBADMSG;
	if (len < 2)
		goto out_err;
	req->opcode = (uint16_t)(buf[0] << 8 | buf[1]);
	if (req->opcode != TFTP_RRQ && req->opcode != TFTP_WRQ)
		goto out_err;
	file = next_str(buf, len, &pos);
	if (file == NULL || *file == '\0')
		goto out_err;
	mode = next_str(buf, len, &pos);
	if (mode == NULL)
		goto out_err;
	if (strcasecmp(mode, "octet") == 0) {
		req->mode = TFTP_MODE_OCTET;
	} else if (strcasecmp(mode, "netascii") == 0) {
		req->mode = TFTP_MODE_NETASCII;
	} else {
		rc = -EPROTONOSUPPORT;
		msg = strcasecmp(mode, "mail") == 0 ?
		    "Mail mode not supported" : "Unknown mode";
		goto out_err;
	}
	req->filename = file;

	/*
	 * A trailing name without its value, or a string cut off by the end
	 * of the datagram, ends the list: some clients pad requests, and
	 * what came before is still a valid request.
	 */
	while ((name = next_str(buf, len, &pos)) != NULL &&
	    (val = next_str(buf, len, &pos)) != NULL) {
		opt = proto_opt_lookup(name);
		if (opt < 0 || (seen & TFTP_OPT_BIT(opt)))
			continue;
		/* Only the first occurrence counts, usable or not. */
		seen |= TFTP_OPT_BIT(opt);
		if (opt_value(req, opt, val) == 0) {
			req->opts |= TFTP_OPT_BIT(opt);
			req->order[req->norder++] = (uint8_t)opt;
		}
	}
	return 0;

out_err:
	if (errmsg != NULL)
		*errmsg = msg;
	return rc;
}

int
proto_parse_packet(const uint8_t *buf, size_t len, struct tftp_packet *pkt)
{
	memset(pkt, 0, sizeof(*pkt));
	if (len < TFTP_HDR_LEN)
		return -EBADMSG;
	pkt->opcode = (uint16_t)(buf[0] << 8 | buf[1]);
	switch (pkt->opcode) {
	case TFTP_DATA:
		pkt->block = (uint16_t)(buf[2] << 8 | buf[3]);
		pkt->data = buf + TFTP_HDR_LEN;
		pkt->len = len - TFTP_HDR_LEN;
		break;
	case TFTP_ACK:
		/* Some clients pad ACKs; the block number is all we need. */
		pkt->block = (uint16_t)(buf[2] << 8 | buf[3]);
		break;
	case TFTP_ERROR:
		pkt->error = (uint16_t)(buf[2] << 8 | buf[3]);
		if (memchr(buf + TFTP_HDR_LEN, '\0', len - TFTP_HDR_LEN))
			pkt->msg = (const char *)(buf + TFTP_HDR_LEN);
		else
			pkt->msg = "";
		break;
	case TFTP_OACK:
		break;
	default:
		return -EBADMSG;
	}
	return 0;
}

int
proto_negotiate(const struct tftp_request *req, const struct tftp_limits *lim,
    uint64_t file_size, struct tftp_params *p)
{
	uint32_t acked;
	uint8_t i;

	memset(p, 0, sizeof(*p));
	acked = req->opts & lim->allowed_opts & TFTP_OPT_ALL;
	p->acked = acked;
	for (i = 0; i < req->norder && i < TFTP_OPT_MAX; i++)
		if (req->order[i] < TFTP_OPT_MAX &&
		    (acked & TFTP_OPT_BIT(req->order[i])))
			p->order[p->norder++] = req->order[i];
	p->blksize = TFTP_BLKSIZE_DEFAULT;
	p->windowsize = TFTP_WINDOW_MIN;

	if (acked & TFTP_OPT_BIT(TFTP_OPT_BLKSIZE))
		p->blksize = (uint32_t)min_u64(req->blksize, lim->max_blksize);
	/*
	 * blksize2: the largest power of two within the request and our
	 * limit (so 32768 at most).  With blksize granted too, one size
	 * must hold for both answers: the power of two within both
	 * requests, which no client can read as more than it asked for.
	 */
	if (acked & TFTP_OPT_BIT(TFTP_OPT_BLKSIZE2))
		p->blksize = pow2_floor((uint32_t)min_u64(req->blksize2,
		    (acked & TFTP_OPT_BIT(TFTP_OPT_BLKSIZE)) ? p->blksize :
		    lim->max_blksize));
	if (acked & TFTP_OPT_BIT(TFTP_OPT_WINDOWSIZE))
		p->windowsize = (uint32_t)min_u64(req->windowsize,
		    lim->max_windowsize);
	if (acked & TFTP_OPT_BIT(TFTP_OPT_TIMEOUT)) {
		p->timeout = req->timeout;
		p->timeout_ms = req->timeout * 1000;
	}
	/* The finer of the two sets the interval when both are granted. */
	if (acked & TFTP_OPT_BIT(TFTP_OPT_UTIMEOUT)) {
		p->utimeout = req->utimeout;
		p->timeout_ms = (req->utimeout + 999) / 1000;
	}
	if (acked & TFTP_OPT_BIT(TFTP_OPT_ROLLOVER))
		p->rollover = (uint16_t)req->rollover;
	if (acked & TFTP_OPT_BIT(TFTP_OPT_TSIZE))
		p->tsize = req->opcode == TFTP_WRQ ? req->tsize : file_size;

	/*
	 * A client that announces an upload too big to keep is refused up
	 * front even when tsize is not acknowledged: it told us the size.
	 */
	if (req->opcode == TFTP_WRQ &&
	    (req->opts & TFTP_OPT_BIT(TFTP_OPT_TSIZE)) &&
	    lim->max_file_size != 0 && req->tsize > lim->max_file_size)
		return -EFBIG;
	return 0;
}

static size_t
put_u16(uint8_t *buf, uint16_t v)
{
	buf[0] = (uint8_t)(v >> 8);
	buf[1] = (uint8_t)v;
	return 2;
}

/*
 * Append s and its NUL at off (<= cap); the new length, or 0 if it does
 * not fit.
 */
static size_t
put_str(uint8_t *buf, size_t cap, size_t off, const char *s)
{
	size_t n = strlen(s) + 1;

	if (cap - off < n)
		return 0;
	memcpy(buf + off, s, n);
	return off + n;
}

size_t
proto_build_data_hdr(uint8_t *buf, size_t cap, uint16_t block)
{
	if (cap < TFTP_HDR_LEN)
		return 0;
	put_u16(buf, TFTP_DATA);
	put_u16(buf + 2, block);
	return TFTP_HDR_LEN;
}

size_t
proto_build_ack(uint8_t *buf, size_t cap, uint16_t block)
{
	if (cap < TFTP_HDR_LEN)
		return 0;
	put_u16(buf, TFTP_ACK);
	put_u16(buf + 2, block);
	return TFTP_HDR_LEN;
}

/*
 * msg NULL means the standard text for code.  A message longer than the
 * buffer is cut, never sent unterminated: clients print it with %s.
 */
size_t
proto_build_error(uint8_t *buf, size_t cap, uint16_t code, const char *msg)
{
	size_t n;

	if (cap < TFTP_HDR_LEN + 1)
		return 0;
	if (msg == NULL)
		msg = proto_errstr(code);
	n = strnlen(msg, cap - TFTP_HDR_LEN - 1);
	put_u16(buf, TFTP_ERROR);
	put_u16(buf + 2, code);
	memcpy(buf + TFTP_HDR_LEN, msg, n);
	buf[TFTP_HDR_LEN + n] = '\0';
	return TFTP_HDR_LEN + n + 1;
}

/* The value an OACK carries for option o (and the transfer log shows). */
uint64_t
proto_param_value(const struct tftp_params *p, enum tftp_opt o)
{
	switch (o) {
	case TFTP_OPT_BLKSIZE:
	case TFTP_OPT_BLKSIZE2:
		return p->blksize;
	case TFTP_OPT_TIMEOUT:
		return p->timeout;
	case TFTP_OPT_TSIZE:
		return p->tsize;
	case TFTP_OPT_WINDOWSIZE:
		return p->windowsize;
	case TFTP_OPT_ROLLOVER:
		return p->rollover;
	default:	/* TFTP_OPT_UTIMEOUT */
		return p->utimeout;
	}
}

/*
 * Options go out in the order the client sent them (U-Boot's lwIP client
 * takes an OACK's values by position), each at most once: p->order, then
 * any acked option it does not list (parameters made without a request)
 * in enum tftp_opt order.
 */
size_t
proto_build_oack(uint8_t *buf, size_t cap, const struct tftp_params *p)
{
	uint32_t done = 0;
	size_t off;
	int i, o, n;

	if (cap < 2)
		return 0;
	off = put_u16(buf, TFTP_OACK);
	n = p->norder < TFTP_OPT_MAX ? p->norder : TFTP_OPT_MAX;
	for (i = 0; i < n + TFTP_OPT_MAX; i++) {
		o = i < n ? p->order[i] : i - n;
		if (o >= TFTP_OPT_MAX || !(p->acked & TFTP_OPT_BIT(o)) ||
		    (done & TFTP_OPT_BIT(o)))
			continue;
		done |= TFTP_OPT_BIT(o);
		if ((off = put_opt(buf, cap, off, p, o)) == 0)
			return 0;
	}
	return off;
}

/* "name\0value\0" of option o at off; the new length, or 0. */
static size_t
put_opt(uint8_t *buf, size_t cap, size_t off, const struct tftp_params *p,
    int o)
{
	char val[24];

	snprintf(val, sizeof(val), "%" PRIu64,
	    proto_param_value(p, (enum tftp_opt)o));
	if ((off = put_str(buf, cap, off, opt_names[o])) == 0)
		return 0;
	return put_str(buf, cap, off, val);
}

/* A name without its value at the end of opts is not sent. */
size_t
proto_build_request(uint8_t *buf, size_t cap, uint16_t opcode,
    const char *filename, const char *mode, const char *const *opts)
{
	size_t off;

	if (cap < 2)
		return 0;
	off = put_u16(buf, opcode);
	if ((off = put_str(buf, cap, off, filename)) == 0 ||
	    (off = put_str(buf, cap, off, mode)) == 0)
		return 0;
	for (; opts != NULL && opts[0] != NULL && opts[1] != NULL; opts += 2) {
		if ((off = put_str(buf, cap, off, opts[0])) == 0 ||
		    (off = put_str(buf, cap, off, opts[1])) == 0)
			return 0;
	}
	return off;
}

/* NULL for a value outside enum tftp_opt. */
const char *
proto_opt_name(enum tftp_opt o)
{
	if ((unsigned)o >= TFTP_OPT_MAX)
		return NULL;
	return opt_names[o];
}

int
proto_opt_lookup(const char *name)
{
	int o;

	for (o = 0; o < TFTP_OPT_MAX; o++)
		if (strcasecmp(name, opt_names[o]) == 0)
			return o;
	return -1;
}

const char *
proto_errstr(uint16_t code)
{
	if (code > TFTP_ECODE_MAX)
		return "Unknown error";
	return err_texts[code];
}

/* NULL for a value outside enum tftp_mode. */
const char *
proto_mode_name(enum tftp_mode m)
{
	if ((unsigned)m >= sizeof(mode_names) / sizeof(mode_names[0]))
		return NULL;
	return mode_names[m];
}
