/* Opening a user-named file with the user's rights, Linux (see reqfile.h, reqfile_os.h). */
#include "agent/reqfile_os.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "agent/log.h"

#define MAX_SAVED_GROUPS 256

#ifndef TRACEFS_MAGIC
#define TRACEFS_MAGIC 0x74726163
#endif
#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC 0xcafe4a11
#endif
#ifndef CONFIGFS_MAGIC
#define CONFIGFS_MAGIC 0x62656570
#endif
#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

/* Kernel pseudo filesystems: a read of their files is whatever the kernel makes of it
 * (pagemap has no end, some files block), and their st_size means nothing. */
static const char *pseudo_fs(long type)
{
	switch ((unsigned long)type) {
	case PROC_SUPER_MAGIC: return "procfs";
	case SYSFS_MAGIC: return "sysfs";
	case DEBUGFS_MAGIC: return "debugfs";
	case TRACEFS_MAGIC: return "tracefs";
	case SECURITYFS_MAGIC: return "securityfs";
	case CGROUP_SUPER_MAGIC: return "cgroupfs";
	case CGROUP2_SUPER_MAGIC: return "cgroup2";
	case BPF_FS_MAGIC: return "bpffs";
	case DEVPTS_SUPER_MAGIC: return "devpts";
	case EFIVARFS_MAGIC: return "efivarfs";
	case PSTOREFS_MAGIC: return "pstore";
	case CONFIGFS_MAGIC: return "configfs";
	}
	return NULL;
}

static int open_nomagic(const char *path)
{
	struct open_how how = {
		.flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY,
		.resolve = RESOLVE_NO_MAGICLINKS,
	};

	return (int)syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof(how));
}

/* open_nomagic with the peer's file-system identity (this thread only). */
static int open_as(const ward_ctl_peer_t *peer, const char *path, int *e)
{
	gid_t saved[MAX_SAVED_GROUPS];
	int ngroups, fd;
	uid_t ouid;
	gid_t ogid;

	if (peer->uid == 0) {
		fd = open_nomagic(path);
		*e = errno;
		return fd;
	}
	if ((ngroups = getgroups(MAX_SAVED_GROUPS, saved)) < 0 || syscall(SYS_setgroups, 0, NULL) != 0) {
		*e = EPERM;
		return -1;
	}
	ogid = (gid_t)setfsgid(peer->gid);
	ouid = (uid_t)setfsuid(peer->uid);
	if ((uid_t)setfsuid((uid_t)-1) != peer->uid || (gid_t)setfsgid((gid_t)-1) != peer->gid) {
		fd = -1;
		*e = EPERM;
	} else {
		fd = open_nomagic(path);
		*e = errno;
	}
	setfsuid(ouid);
	setfsgid(ogid);
	if (syscall(SYS_setgroups, (size_t)ngroups, saved) != 0 || (uid_t)setfsuid((uid_t)-1) != ouid)
		fatalx("reqfile: cannot restore the agent's credentials");
	return fd;
}

int ward_reqfile_os_open(const ward_ctl_peer_t *peer, const char *path, ward_error_t *err)
{
	int fd, e = 0;

	if ((fd = open_as(peer, path, &e)) < 0) {
		if (e == ELOOP || e == EXDEV)
			ward_error_set(err, WARD_E_PERM, "%s: goes through a /proc magic link (refused: "
			               "it would resolve inside the agent)", path);
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
	*name = pseudo_fs((long)fs.f_type);
	return true;
}
