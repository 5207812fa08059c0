/* The trusted-path ownership check (see trust.h for the policy). */
#include "agent/engine/trust.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

bool ward_path_under(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	while (n > 1 && dir[n - 1] == '/')
		n--;
	if (n == 1 && dir[0] == '/')
		return path[0] == '/';
	return strncmp(path, dir, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

void ward_trust_canon(ward_config_t *cfg)
{
	char buf[PATH_MAX];

	for (unsigned i = 0; i < cfg->ntrusted_paths; i++) {
		char *p = cfg->trusted_paths[i];
		if (realpath(p, buf) != NULL && strlen(buf) < WARD_MAX_PATH)
			memcpy(p, buf, strlen(buf) + 1);
		size_t n = strlen(p);
		while (n > 1 && p[n - 1] == '/')
			p[--n] = '\0';
	}
}

static bool safe_owner(const struct stat *st)
{
	return st->st_uid == 0 && (st->st_mode & (S_IWGRP | S_IWOTH)) == 0;
}

ward_trust_t ward_trust_check(const ward_config_t *cfg, int fd, const char *path, size_t *dirlen)
{
	char dir[PATH_MAX];
	struct stat fst, pst;
	unsigned i;

	if (path[0] != '/')
		return WARD_TRUST_NOT_UNDER;
	for (i = 0; i < cfg->ntrusted_paths; i++)
		if (ward_path_under(path, cfg->trusted_paths[i]))
			break;
	if (i == cfg->ntrusted_paths)
		return WARD_TRUST_NOT_UNDER;
	if (fstat(fd, &fst) != 0 || !S_ISREG(fst.st_mode))
		return WARD_TRUST_NOT_REGULAR;
	if (!safe_owner(&fst))
		return WARD_TRUST_FILE_WRITABLE;
	/* The path must still name this very file (not renamed or replaced meanwhile). */
	if (stat(path, &pst) != 0 || pst.st_dev != fst.st_dev || pst.st_ino != fst.st_ino)
		return WARD_TRUST_MOVED;
	if (strlen(path) >= sizeof(dir))
		return WARD_TRUST_NOT_UNDER;
	memcpy(dir, path, strlen(path) + 1);
	for (;;) {
		char *slash = strrchr(dir, '/');
		if (slash == NULL)
			return WARD_TRUST_NOT_UNDER;
		if (slash == dir)
			slash[1] = '\0';
		else
			*slash = '\0';
		if (lstat(dir, &pst) != 0 || !S_ISDIR(pst.st_mode) || !safe_owner(&pst)) {
			if (dirlen != NULL)
				*dirlen = strlen(dir);
			return WARD_TRUST_DIR_WRITABLE;
		}
		if (dir[1] == '\0')
			return WARD_TRUST_OK;
	}
}

const char *ward_trust_name(ward_trust_t t)
{
	static const char *const names[WARD_TRUST__COUNT] = {
		[WARD_TRUST_OK] = "trusted",
		[WARD_TRUST_NOT_UNDER] = "not under a trusted path",
		[WARD_TRUST_NOT_REGULAR] = "under a trusted path but not a regular file",
		[WARD_TRUST_FILE_WRITABLE] = "under a trusted path but not root-owned or group/other-writable",
		[WARD_TRUST_MOVED] = "under a trusted path but the path no longer names the executed file",
		[WARD_TRUST_DIR_WRITABLE] = "under a trusted path but a directory above it is not root-owned or is group/other-writable",
	};
	return (unsigned)t < WARD_TRUST__COUNT ? names[t] : "?";
}
