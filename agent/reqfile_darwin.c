/*
 * Opening a user-named file with the user's rights, macOS (see reqfile.h, reqfile_os.h).
 *
 * Identity: pthread_setugid_np(uid, gid) gives this thread alone the peer's uid and gid
 * (xnu settid: a credential with that one group and no directory-resolved membership,
 * like Linux's setfsuid/setfsgid with no supplementary groups); KAUTH_UID_NONE /
 * KAUTH_GID_NONE give the process's back.
 *
 * Names that resolve inside the agent: macOS has no /proc, but devfs's /dev/fd/N opens
 * the opener's own descriptor N, the agent's files. The directory is opened first with
 * O_NOFOLLOW_ANY (no symbolic link anywhere in the path: wardenctl sends realpath(3)'s
 * answer) and refused if it is on devfs; the file is then opened in that directory
 * with O_NOFOLLOW. No name can be swapped between the check and the open.
 */
#include "agent/reqfile_os.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/kauth.h>
#include <sys/mount.h>
#include <sys/param.h>
#include <unistd.h>

#include "agent/log.h"

static int open_nodev(const char *path, int *e)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/'), *base;
	struct statfs fs;
	int dfd, fd;

	if (slash == NULL) {
		snprintf(dir, sizeof(dir), ".");
		base = path;
	} else {
		if ((size_t)(slash - path) + 2 > sizeof(dir)) {
			*e = ENAMETOOLONG;
			return -1;
		}
		snprintf(dir, sizeof(dir), "%.*s", slash == path ? 1 : (int)(slash - path), path);
		base = slash + 1;
	}
	if (base[0] == '\0') {
		*e = EISDIR;
		return -1;
	}
	/* O_SEARCH: the user needs only search rights on the directory, as on Linux */
	if ((dfd = open(dir, O_SEARCH | O_CLOEXEC | O_NOFOLLOW_ANY)) < 0) {
		*e = errno;
		return -1;
	}
	if (fstatfs(dfd, &fs) != 0) {
		*e = errno;
		close(dfd);
		return -1;
	}
	if (strcmp(fs.f_fstypename, "devfs") == 0) {
		*e = EXDEV;
		close(dfd);
		return -1;
	}
	fd = openat(dfd, base, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY | O_NOFOLLOW);
	*e = errno;
	close(dfd);
	return fd;
}

/* pthread_setugid_np is marked deprecated ("per-thread security contexts are
 * error-prone"): the error it means is forgetting to give the identity back, which
 * the fatalx below makes impossible to miss. It is the only per-thread identity
 * switch macOS has (what Linux's setfsuid is here); opening as root and checking the
 * mode bits would ignore ACLs and the directories' search rights. */
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wdeprecated-declarations"
static int open_as(const ward_ctl_peer_t *peer, const char *path, int *e)
{
	int fd;

	if (peer->uid == 0)
		return open_nodev(path, e);
	if (pthread_setugid_np(peer->uid, peer->gid) != 0) {
		*e = EPERM;
		return -1;
	}
	fd = open_nodev(path, e);
	if (pthread_setugid_np(KAUTH_UID_NONE, KAUTH_GID_NONE) != 0)
		fatalx("reqfile: cannot restore the agent's credentials");
	return fd;
}
#pragma clang diagnostic pop

int ward_reqfile_os_open(const ward_ctl_peer_t *peer, const char *path, ward_error_t *err)
{
	int fd, e = 0;

	if ((fd = open_as(peer, path, &e)) < 0) {
		if (e == ELOOP)
			ward_error_set(err, WARD_E_PERM, "%s: goes through a symbolic link (refused: name "
			               "the file itself, as realpath(1) prints it)", path);
		else if (e == EXDEV)
			ward_error_set(err, WARD_E_PERM, "%s: a file of devfs (refused: /dev/fd/N would "
			               "resolve inside the agent)", path);
		else
			ward_reqfile_open_errno(path, e, err);
		return -1;
	}
	return fd;
}

bool ward_reqfile_os_pseudo(int fd, const char *path, const char **name, ward_error_t *err)
{
	struct statfs fs;

	if (fstatfs(fd, &fs) != 0) {
		ward_error_set(err, WARD_E_IO, "%s: statfs: %s", path, strerror(errno));
		return false;
	}
	*name = strcmp(fs.f_fstypename, "devfs") == 0 ? "devfs" : NULL;
	return true;
}
