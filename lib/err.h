/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Error helpers. heliostat functions return 0 or -errno; these turn the
 * conventions of libc and libraries into that one.
 */
#ifndef HS_ERR_H
#define HS_ERR_H

#include <errno.h>
#include <string.h>

#define HS_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* -errno of the last libc failure; never 0, so a caller cannot mistake a
 * failure whose errno got lost for success. */
static inline int hs_neg_errno(void)
{
	return errno ? -errno : -EIO;
}

/* strerror() of a negative or positive errno value. */
static inline const char *hs_strerr(int err)
{
	return strerror(err < 0 ? -err : err);
}

#endif
