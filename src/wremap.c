/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * The worker's remap rules (transfer.map_file, remap.h): compiled from
 * the text the master published in the segment, since Landlock keeps the
 * worker from opening the file, and applied to a request's file name
 * before the path rules see it.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "log.h"
#include "proto.h"
#include "remap.h"
#include "shm.h"
#include "util.h"
#include "worker_int.h"

/* A refusal of the rules, answered as in.tftpd answers it (ERROR 2). */
static const struct {
	int		 err;
	uint16_t	 code;
	const char	*msg;
} refusals[] = {
	{ -EACCES,		TFTP_EACCESS,	"Access violation" },
	{ -ELOOP,		TFTP_EACCESS,	"Too many remap steps" },
	{ -ENAMETOOLONG,	TFTP_EACCESS,	"Remapped name too long" },
};

/* One copy per process: the text is compiled, then no longer needed. */
static char map_text[TFTP_SHM_MAP_MAX];

int
wremap_update(struct worker *w)
{
	struct remap_err err;
	struct remap *rm = NULL;
	uint64_t mg = 0;
	size_t len = 0;
	int r;

	if ((r = shm_read_map(w->shm.ctl, w->map_gen, map_text,
	    sizeof(map_text), &len, &mg)) != 0)
		return r < 0 ? r : 0;
	/* The master checked the text: only memory can fail here. */
	if (len > 0 && (r = remap_parse(map_text, len, &rm, &err)) < 0) {
		if (r == -EINVAL)
			log_warnx("remap rules %" PRIu64 ", line %u: %s; the "
			    "previous rules stay", mg, err.line, err.reason);
		else
			log_warnx("remap rules %" PRIu64 ": %s; the previous "
			    "rules stay", mg, strerror(-r));
		return r;
	}
	if (rm != NULL && remap_count(rm) == 0) {
		remap_free(rm);
		rm = NULL;
	}
	remap_free(w->rm);
	w->rm = rm;
	w->map_gen = mg;
	return 0;
}

void
wremap_free(struct worker *w)
{
	remap_free(w->rm);
	w->rm = NULL;
}

int
wremap_name(struct worker *w, const struct transfer *t, int opcode,
    const char *name, char *out, size_t outlen,
    uint16_t *code, const char **msg)
{
	const struct sockaddr *peer = (const struct sockaddr *)&t->ri.peer;
	const char *op = opcode == TFTP_WRQ ? "wrq" : "rrq";
	char addr[SOCKADDR_STRLEN], vin[LOG_FILE_MAX], vout[LOG_FILE_MAX];
	unsigned line = 0;
	size_t i;
	int r;

	r = remap_apply(w->rm, name, opcode == TFTP_WRQ ?
	    REMAP_WRQ : REMAP_RRQ, peer, out, outlen, &line);
	if (w->cfg.log_level < LOG_DEBUG)
		goto done;
	sockaddr_str(peer, addr, sizeof(addr));
	str_vis(vin, sizeof(vin), t->ri.file);
	if (r == 0 && strcmp(out, name) != 0) {
		str_vis(vout, sizeof(vout), out);
		log_debug("remap client=%s op=%s file=\"%s\" remapped to "
		    "\"%s\"", addr, op, vin, vout);
	} else if (r < 0 && !wlog_allow(w, WLOG_REMAP, peer)) {
		goto done;
	} else if (r == -EACCES) {
		log_debug("remap client=%s op=%s file=\"%s\" refused by the "
		    "rule of line %u", addr, op, vin, line);
	} else if (r < 0) {
		log_debug("remap client=%s op=%s file=\"%s\" refused: %s",
		    addr, op, vin, strerror(-r));
	}
done:
	if (r == 0)
		return 0;
	*code = TFTP_EUNDEF;
	*msg = "Cannot remap the file name";
	for (i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++) {
		if (refusals[i].err == r) {
			*code = refusals[i].code;
			*msg = refusals[i].msg;
		}
	}
	return r;
}
