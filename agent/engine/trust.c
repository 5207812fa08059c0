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

bool ward_trust_check(const ward_config_t *cfg, int fd, const char *path, char *why,
                      size_t whylen)
{
	char dir[PATH_MAX];
	struct stat fst, pst;
	unsigned i;

	if (why && whylen)
		why[0] = '\0';
	if (path[0] != '/')
		return false;
	for (i = 0; i < cfg->ntrusted_paths; i++)
		if (ward_path_under(path, cfg->trusted_paths[i]))
			break;
	if (i == cfg->ntrusted_paths)
		return false;
	if (fstat(fd, &fst) != 0 || !S_ISREG(fst.st_mode)) {
		snprintf(why, whylen, "not a regular file");
		return false;
	}
	if (!safe_owner(&fst)) {
		snprintf(why, whylen, "under trusted path %s but not root-owned or group/other-writable",
		         cfg->trusted_paths[i]);
		return false;
	}
	/* The path must still name this very file (not renamed or replaced meanwhile). */
	if (stat(path, &pst) != 0 || pst.st_dev != fst.st_dev || pst.st_ino != fst.st_ino) {
		snprintf(why, whylen, "path no longer names the executed file");
		return false;
	}
	if (strlen(path) >= sizeof(dir))
		return false;
	snprintf(dir, sizeof(dir), "%s", path);
	for (;;) {
		char *slash = strrchr(dir, '/');
		if (slash == NULL)
			return false;
		if (slash == dir)
			slash[1] = '\0';
		else
			*slash = '\0';
		if (lstat(dir, &pst) != 0 || !S_ISDIR(pst.st_mode) || !safe_owner(&pst)) {
			snprintf(why, whylen, "directory %s is not root-owned or is group/other-writable",
			         dir);
			return false;
		}
		if (dir[1] == '\0')
			return true;
	}
}
