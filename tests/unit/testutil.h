/* Shared helpers for the cmocka unit tests. */
#ifndef WARD_TESTS_TESTUTIL_H
#define WARD_TESTS_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <ftw.h>
#include <sys/stat.h>

/* Directory of checked-in fixtures; tests run from the repository root. */
#define FIXTURES "tests/fixtures"

/* Read a whole file into a malloc'd buffer (test helper: fails the test on error). */
static inline uint8_t *tu_slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static inline int tu_rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

/* Remove dir and everything below it (test temp dirs); 0 on success. Links are not followed. */
static inline int tu_rmtree(const char *dir)
{
	return nftw(dir, tu_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* A fixture owning a fresh temp dir and the path of one file in it (tu_dir_setup's
 * state; tu_dir_teardown removes the tree). */
struct tu_dir {
	char dir[64];
	char path[128];
};

static inline struct tu_dir *tu_dir_new(const char *tag, const char *file)
{
	struct tu_dir *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/warden-%s-XXXXXX", tag);
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/%s", f->dir, file);
	return f;
}

static inline int tu_dir_teardown(void **state)
{
	struct tu_dir *f = *state;

	tu_rmtree(f->dir);
	free(f);
	return 0;
}

#endif
