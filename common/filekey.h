/*
 * A file's identity as the kernel sees it: the key of every verdict and scan cache.
 * Any write to a file changes its ctime (and usually its size); a rename-over replaces
 * the inode. (A write through a shared mapping may change neither on some filesystems:
 * the engine never caches files that users other than root can write, agent/engine/.)
 */
#ifndef WARD_COMMON_FILEKEY_H
#define WARD_COMMON_FILEKEY_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "common/platform.h" /* st_ctim on Darwin */

typedef struct ward_filekey {
	uint64_t dev;
	uint64_t ino;
	int64_t ctime_sec;
	int64_t ctime_nsec;
	uint64_t size;
} ward_filekey_t;

static inline void ward_filekey_from_stat(const struct stat *st, ward_filekey_t *k)
{
	k->dev = (uint64_t)st->st_dev;
	k->ino = (uint64_t)st->st_ino;
	k->ctime_sec = (int64_t)st->st_ctim.tv_sec;
	k->ctime_nsec = (int64_t)st->st_ctim.tv_nsec;
	k->size = (uint64_t)st->st_size;
}

static inline bool ward_filekey_eq(const ward_filekey_t *a, const ward_filekey_t *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->ctime_sec == b->ctime_sec &&
	       a->ctime_nsec == b->ctime_nsec && a->size == b->size;
}

/* A well-mixed hash of the file (device and inode only: every content of one file lands
 * in the same place, so a cache can forget them all, or replace one by the next). */
static inline uint64_t ward_filekey_file_hash(const ward_filekey_t *k)
{
	uint64_t x = k->ino ^ (k->dev * 0x9e3779b97f4a7c15ull);

	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	x ^= x >> 33;
	return x;
}

/* Same file (device and inode), whatever its content now. */
static inline bool ward_filekey_same_file(const ward_filekey_t *a, const ward_filekey_t *b)
{
	return a->dev == b->dev && a->ino == b->ino;
}

#endif
