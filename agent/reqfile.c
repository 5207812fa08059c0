/* Reading a user-named file within bounds (see reqfile.h). */
#include "agent/reqfile.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "agent/log.h"
#include "common/limits.h"

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

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

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

int ward_reqfile_open(const ward_ctl_peer_t *peer, const char *path, struct stat *sb,
                      ward_error_t *err)
{
	struct statfs fs;
	const char *pseudo;
	int fd, e = 0;

	if ((fd = open_as(peer, path, &e)) < 0) {
		if (e == ELOOP || e == EXDEV)
			ward_error_set(err, WARD_E_PERM, "%s: goes through a /proc magic link (refused: "
			               "it would resolve inside the agent)", path);
		else
			ward_error_set(err, e == ENOENT ? WARD_E_NOTFOUND
			               : e == EACCES || e == EPERM ? WARD_E_PERM : WARD_E_IO,
			               "%s: %s%s", path, strerror(e),
			               e == EACCES ? " (you must be able to read the file you ask for)" : "");
		return -1;
	}
	if (fstat(fd, sb) != 0 || !S_ISREG(sb->st_mode)) {
		ward_error_set(err, WARD_E_INVAL, "%s: not a regular file (devices, FIFOs, sockets and "
		               "directories are refused)", path);
		goto fail;
	}
	if (fstatfs(fd, &fs) != 0) {
		ward_error_set(err, WARD_E_IO, "%s: statfs: %s", path, strerror(errno));
		goto fail;
	}
	if ((pseudo = pseudo_fs((long)fs.f_type)) != NULL) {
		ward_error_set(err, WARD_E_INVAL, "%s: a file of %s, not a program (refused)", path, pseudo);
		goto fail;
	}
	if ((uint64_t)sb->st_size > WARD_REQ_MAX_FILE_BYTES) {
		ward_error_set(err, WARD_E_LIMIT, "%s: %lld bytes; a request may name a file of at most "
		               "%llu bytes", path, (long long)sb->st_size,
		               (unsigned long long)WARD_REQ_MAX_FILE_BYTES);
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

ward_err_t ward_reqfile_identity(int fd, const struct stat *sb, uint64_t deadline_ns,
                                 ward_identity_t *id, ward_error_t *err)
{
	EVP_MD_CTX *ctx = NULL;
	uint8_t *buf = NULL;
	uint64_t left = (uint64_t)sb->st_size, off = 0;
	ward_error_t e2 = { 0 };
	ward_err_t rc;

	/* The container first (headers and signature: bounded by the file size and the
	 * Mach-O limits); then the SHA-256, bounded here. */
	memset(id, 0, sizeof(*id));
	if ((rc = ward_identity_read(fd, 0, id, &e2)) != WARD_OK)
		return ward_error_set(err, rc, "%s", e2.msg);
	if ((ctx = EVP_MD_CTX_new()) == NULL || (buf = malloc(WARD_IO_CHUNK)) == NULL) {
		rc = ward_error_set(err, WARD_E_NOMEM, "out of memory");
		goto out;
	}
	if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		rc = ward_error_set(err, WARD_E_CRYPTO, "sha256: init failed");
		goto out;
	}
	while (left > 0) {
		size_t want = left < WARD_IO_CHUNK ? (size_t)left : WARD_IO_CHUNK;
		ssize_t n = pread(fd, buf, want, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = ward_error_set(err, WARD_E_IO, "read at offset %llu: %s",
			                    (unsigned long long)off, strerror(errno));
			goto out;
		}
		if (n == 0) {
			rc = ward_error_set(err, WARD_E_IO, "the file shrank while it was read");
			goto out;
		}
		if (EVP_DigestUpdate(ctx, buf, (size_t)n) != 1) {
			rc = ward_error_set(err, WARD_E_CRYPTO, "sha256: update failed");
			goto out;
		}
		off += (uint64_t)n;
		left -= (uint64_t)n;
		if (mono_ns() > deadline_ns) {
			rc = ward_error_set(err, WARD_E_TIMEOUT, "reading the file took longer than %u ms "
			                    "(stopped after %llu of %lld bytes)", WARD_REQ_HASH_BUDGET_MS,
			                    (unsigned long long)off, (long long)sb->st_size);
			goto out;
		}
	}
	if (EVP_DigestFinal_ex(ctx, id->sha256, NULL) != 1) {
		rc = ward_error_set(err, WARD_E_CRYPTO, "sha256: final failed");
		goto out;
	}
	id->has_sha256 = true;
	id->file_size = (uint64_t)sb->st_size;
	rc = WARD_OK;
out:
	EVP_MD_CTX_free(ctx);
	free(buf);
	return rc;
}
