/*
 * A scratch directory per test for image files: made under /tmp with a
 * tag in its name, removed with everything in it afterwards. Shared by
 * every test that needs files, so cleanup is written (and right) once.
 */
#ifndef XPV_TESTS_TMPDIR_H
#define XPV_TESTS_TMPDIR_H

#include <check.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>

/* dir: at least 64 bytes. */
static inline void xpv_tmpdir_make(char *dir, size_t len, const char *tag)
{
	snprintf(dir, len, "/tmp/xpv-%s-XXXXXX", tag);
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static inline int xpv_tmpdir_unlink(const char *path, const struct stat *st,
				    int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	return remove(path);
}

/* Removes dir and everything below it; fails the test if it cannot. */
static inline void xpv_tmpdir_remove(const char *dir)
{
	ck_assert_int_eq(nftw(dir, xpv_tmpdir_unlink, 8, FTW_DEPTH | FTW_PHYS),
			 0);
}

#endif /* XPV_TESTS_TMPDIR_H */
