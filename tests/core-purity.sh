#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Copyright (c) 2024-2026 The snowowl-tftpd authors
# The protocol core (src/libtftpcore.a) does no I/O: every symbol its
# objects use and do not define themselves must be a pure libc function
# from the allow-list below, or a hook that an instrumented build adds.
# A socket, file, process or clock call fails this check, and so does any
# call into the daemon's own modules (log_*, config_*, shm_*...), since
# none of them is on the list.
#
# Run by "make check" with TOP_BUILDDIR and NM in the environment; by hand:
#	TOP_BUILDDIR=BUILDDIR tests/core-purity.sh
# Exit 0 pass, 1 fail, 99 when the check itself cannot run.

lib=${TOP_BUILDDIR:-.}/src/libtftpcore.a
nm=${NM:-nm}

if [ ! -f "$lib" ]; then
	echo "core-purity: $lib not found (not built?)" >&2
	exit 99
fi

# Pure libc: computations on memory the caller passes in, nothing else.
libc_pure() {
	case $1 in
	# Memory and string functions.
	memchr | memcmp | memcpy | memmove | memset) return 0 ;;
	strcasecmp | strncasecmp | strchr | strrchr | strcmp | strncmp) return 0 ;;
	strcspn | strspn | strlen | strnlen) return 0 ;;
	# Text into a caller's buffer (never a stream).
	snprintf | vsnprintf) return 0 ;;
	# Pattern matching on strings (write.allow).
	fnmatch) return 0 ;;
	# POSIX regular expressions (remap rules): regcomp builds an automaton
	# in memory, regexec runs it over a string, regerror formats into a
	# caller's buffer; no file, clock or locale change.
	regcomp | regexec | regfree | regerror) return 0 ;;
	# Heap memory for the compiled rules (remap_parse/remap_free): the
	# regex functions allocate anyway, and no state outlives the object.
	calloc | free) return 0 ;;
	# An address into text in a caller's buffer (\i in remap rules), and
	# text into an address ([access] prefixes).
	inet_ntop | inet_pton) return 0 ;;
	esac
	return 1
}

allowed() {
	libc_pure "$1" && return 0
	case $1 in
	# _FORTIFY_SOURCE: the checked twin of an allowed function.
	__*_chk)
		f=${1#__}
		libc_pure "${f%_chk}" && return 0
		;;
	# -fstack-protector: the canary's failure report (and the canary
	# itself, on architectures that keep it in a global).
	__stack_chk_fail | __stack_chk_guard) return 0 ;;
	# --enable-sanitizers: ASan's checks and module registration, UBSan's
	# reports.
	__asan_* | __ubsan_handle_*) return 0 ;;
	# --enable-fuzz: libFuzzer's coverage callbacks, the deepest stack
	# seen (its stack-depth feature) and the bounds of the coverage
	# tables' sections, which the linker defines.
	__sanitizer_cov_* | __sancov_lowest_stack) return 0 ;;
	__start___sancov_* | __stop___sancov_*) return 0 ;;
	# --enable-coverage: gcov's counters (gcc); clang's --coverage too.
	__gcov_* | __llvm_* | llvm_gcda_* | llvm_gcov_*) return 0 ;;
	esac
	return 1
}

# "ARCHIVE[member.o]: symbol TYPE ..." (POSIX format, each line named).
undef=$("$nm" -A -P -u "$lib") || exit 99
defs=$("$nm" -P -g --defined-only "$lib" | awk 'NF >= 2 { print $1 }') ||
    exit 99
objects=$("$nm" -A -P "$lib" | sed -n 's/^[^[]*\[\([^]]*\)\].*/\1/p' |
    sort -u)
if [ -z "$objects" ]; then
	echo "core-purity: no objects in $lib" >&2
	exit 99
fi

bad=0
n=0
for obj in $objects; do
	syms=$(printf '%s\n' "$undef" | grep -F "[$obj]: " |
	    sed 's/^.*\]: //' | awk '{ print $1 }' | sort -u)
	calls=""
	for sym in $syms; do
		# Another core object's function.
		if printf '%s\n' "$defs" | grep -qxF -- "$sym"; then
			continue
		fi
		n=$((n + 1))
		if allowed "$sym"; then
			calls="$calls $sym"
		else
			echo "FAIL: $obj uses $sym, which the protocol core" \
			    "must not call"
			bad=$((bad + 1))
		fi
	done
	echo "# $obj:${calls:- (nothing outside the core)}"
done

if [ "$bad" -ne 0 ]; then
	echo "core-purity: $bad symbol(s) outside the allow-list in $lib"
	exit 1
fi
echo "core-purity: $(echo $objects | wc -w) objects, $n outside uses," \
    "all pure libc or build instrumentation"
exit 0
