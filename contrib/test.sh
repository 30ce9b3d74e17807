#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Copyright (c) 2024-2026 The snowowl-tftpd authors
# Install what is needed, build with --enable-werror and run "make check".
#
#	contrib/test.sh				in the source tree
#	contrib/test.sh BUILDDIR [CONFIGURE-ARGS...]	out of tree
#	contrib/test.sh --no-setup BUILDDIR ...	skip apt and autoreconf
#						(the caller did them)
#
# On failure the logs of the failed tests are printed and the exit
# status is non-zero.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
setup=1
if [ "${1:-}" = --no-setup ]; then
	setup=0
	shift
fi
build=${1:-$top}
[ $# -eq 0 ] || shift

if [ "$setup" = 1 ]; then
	"$top/contrib/setup-debian.sh"
	(cd "$top" && autoreconf -fi >/dev/null 2>&1) || {
		echo "$0: autoreconf -fi failed:" >&2
		(cd "$top" && autoreconf -fi)
		exit 1
	}
fi

mkdir -p "$build"
build=$(cd "$build" && pwd)
if [ "$build" != "$top" ] && [ -f "$top/config.status" ]; then
	echo "$0: $top is configured in place; run 'make distclean' there" \
	    "before an out-of-tree build in $build" >&2
	exit 1
fi

cd "$build"
echo "== configure --enable-werror $* (in $build)"
"$top/configure" --quiet --enable-werror "$@"
echo "== make"
make -s -j2
echo "== make check"
status=0
make -j2 check >make-check.out 2>&1 || status=$?
grep -E '^(PASS|FAIL|XFAIL|XPASS|ERROR|SKIP|# )' make-check.out || true
if [ "$status" -ne 0 ]; then
	echo "== make check failed (status $status)"
	failed=$(grep -lE '^:test-result: (FAIL|XPASS|ERROR)' \
	    tests/*/*.trs 2>/dev/null || true)
	if [ -z "$failed" ]; then
		tail -n 50 make-check.out
	fi
	for trs in $failed; do
		echo "---- ${trs%.trs}.log"
		cat "${trs%.trs}.log"
	done
	exit 1
fi
