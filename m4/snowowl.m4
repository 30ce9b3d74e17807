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

dnl SO_SYSTEMD_DIR(NAME, WHAT): --with-NAME=DIR|no, where "make install"
dnl puts WHAT.  The default is the variable NAME of systemd's pkg-config
dnl file (systemdsystemunitdir, sysusersdir, tmpfilesdir are all named so);
dnl without one, WHAT is not installed and a notice says so, so a build on
dnl a system without systemd still works.  Substitutes NAME and defines the
dnl conditional HAVE_NAME (upper case).
AC_DEFUN([SO_SYSTEMD_DIR], [
	AC_ARG_WITH([$1],
	    [AS_HELP_STRING([--with-$1=DIR],
		[install $2 in DIR, "no" not to (default: the $1 of pkg-config systemd)])],
	    [], [with_$1=yes])
	AS_IF([test "x$with_$1" = xyes], [
		with_$1=`${PKG_CONFIG:-false} --variable=$1 systemd 2>/dev/null`
		AS_IF([test -z "$with_$1"], [
			AC_MSG_NOTICE([pkg-config systemd has no $1, so $2: not installed (--with-$1=DIR to install)])
			with_$1=no])
	])
	AC_MSG_CHECKING([where to install $2])
	AC_MSG_RESULT([$with_$1])
	AC_SUBST([$1], [$with_$1])
	AM_CONDITIONAL([HAVE_]m4_toupper([$1]), [test "x$with_$1" != xno])
])
