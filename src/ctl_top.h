/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2024-2026 The snowowl-tftpd authors */
/*
 * "tftpctl top": a live view of one instance, read from its shared
 * memory only.  Full screen on a terminal (plain VT100 escapes, raw
 * input for its keys), a text block per interval when stdout is not a
 * terminal.  Failures end the program through err()/errx(), status 1,
 * with the terminal restored.
 */
#ifndef CTL_TOP_H
#define CTL_TOP_H

/* argv[0] is "top"; rundir and instance as for every command. */
int	 top_main(const char *rundir, const char *instance, int argc,
	    char **argv);

#endif /* CTL_TOP_H */
