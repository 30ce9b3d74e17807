dnl SPDX-License-Identifier: BSD-2-Clause
dnl Copyright (c) 2024-2026 The snowowl-tftpd authors
dnl SO_ADD_CFLAG(VAR, FLAG): append FLAG to VAR if the compiler accepts it
dnl without a warning (checked with -Werror so unknown flags are refused).
AC_DEFUN([SO_ADD_CFLAG], [
	AS_VAR_PUSHDEF([so_cv], [so_cv_cflag_$2])
	AC_CACHE_CHECK([whether $CC accepts $2], [so_cv], [
		so_save_CFLAGS="$CFLAGS"
		CFLAGS="$CFLAGS -Werror $2"
		AC_LINK_IFELSE([AC_LANG_PROGRAM([], [])],
		    [AS_VAR_SET([so_cv], [yes])], [AS_VAR_SET([so_cv], [no])])
		CFLAGS="$so_save_CFLAGS"])
	AS_VAR_IF([so_cv], [yes], [$1="$$1 $2"])
	AS_VAR_POPDEF([so_cv])
])

dnl SO_ADD_LDFLAG(VAR, FLAG): the same for a linker flag.
AC_DEFUN([SO_ADD_LDFLAG], [
	AS_VAR_PUSHDEF([so_cv], [so_cv_ldflag_$2])
	AC_CACHE_CHECK([whether the linker accepts $2], [so_cv], [
		so_save_LDFLAGS="$LDFLAGS"
		LDFLAGS="$LDFLAGS -Werror $2"
		AC_LINK_IFELSE([AC_LANG_PROGRAM([], [])],
		    [AS_VAR_SET([so_cv], [yes])], [AS_VAR_SET([so_cv], [no])])
		LDFLAGS="$so_save_LDFLAGS"])
	AS_VAR_IF([so_cv], [yes], [$1="$$1 $2"])
	AS_VAR_POPDEF([so_cv])
])
