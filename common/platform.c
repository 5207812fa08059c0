/* common/platform.h: one definition per platform, chosen by the OS the file is built for. */
#include "common/platform.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <unistd.h>

#if defined(__linux__)
#include <linux/magic.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <sys/vfs.h>
#elif defined(__APPLE__)
#include <pthread.h>
#include <sys/random.h> /* getentropy */
#include <sys/ucred.h>  /* struct xucred */
#include <sys/un.h>     /* SOL_LOCAL, LOCAL_PEERCRED */
#endif

#if !defined(__linux__)
static int set_flags(int fd, int flags)
{
	if (fd < 0)
		return fd;
	if (((flags & WARD_SOCK_CLOEXEC) && fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) ||
	    ((flags & WARD_SOCK_NONBLOCK) &&
	     fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0)) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}
#endif

int ward_socket(int domain, int type, int flags)
{
#if defined(__linux__)
	return socket(domain, type | ((flags & WARD_SOCK_NONBLOCK) ? SOCK_NONBLOCK : 0) |
	                          ((flags & WARD_SOCK_CLOEXEC) ? SOCK_CLOEXEC : 0), 0);
#else
	return set_flags(socket(domain, type, 0), flags);
#endif
}

int ward_accept(int fd, int flags)
{
#if defined(__linux__)
	return accept4(fd, NULL, NULL, ((flags & WARD_SOCK_NONBLOCK) ? SOCK_NONBLOCK : 0) |
	                                   ((flags & WARD_SOCK_CLOEXEC) ? SOCK_CLOEXEC : 0));
#else
	return set_flags(accept(fd, NULL, NULL), flags);
#endif
}

_Bool ward_random(void *buf, size_t n)
{
#if defined(__linux__)
	return getrandom(buf, n, GRND_NONBLOCK) == (ssize_t)n;
#else
	unsigned char *p = buf;
	while (n > 0) { /* getentropy gives at most 256 bytes a call */
		size_t k = n > 256 ? 256 : n;
		if (getentropy(p, k) != 0)
			return 0;
		p += k;
		n -= k;
	}
	return 1;
#endif
}

void ward_fadvise_sequential(int fd)
{
#if defined(__linux__)
	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#elif defined(__APPLE__)
	(void)fcntl(fd, F_RDAHEAD, 1);
#else
	(void)fd;
#endif
}

void ward_thread_nice(int inc)
{
#if defined(__linux__)
	/* Linux: a thread id names the thread for setpriority(PRIO_PROCESS). */
	id_t tid = (id_t)syscall(SYS_gettid);
	int cur;

	errno = 0;
	cur = getpriority(PRIO_PROCESS, tid);
	if (errno == 0)
		(void)setpriority(PRIO_PROCESS, tid, cur + inc);
#elif defined(__APPLE__)
	/* Darwin: per-thread priority is a QoS class; utility is below default. */
	if (inc > 0)
		(void)pthread_set_qos_class_self_np(QOS_CLASS_UTILITY, 0);
#else
	(void)inc;
#endif
}

void ward_cond_init_mono(pthread_cond_t *cv)
{
#if defined(__APPLE__)
	pthread_cond_init(cv, NULL);
#else
	pthread_condattr_t ca;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(cv, &ca);
	pthread_condattr_destroy(&ca);
#endif
}

int ward_cond_wait_until(pthread_cond_t *cv, pthread_mutex_t *mu, uint64_t deadline_ns)
{
	struct timespec ts;
#if defined(__APPLE__)
	uint64_t now;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	if (now >= deadline_ns)
		return ETIMEDOUT;
	ts.tv_sec = (time_t)((deadline_ns - now) / 1000000000u);
	ts.tv_nsec = (long)((deadline_ns - now) % 1000000000u);
	return pthread_cond_timedwait_relative_np(cv, mu, &ts);
#else
	ts.tv_sec = (time_t)(deadline_ns / 1000000000u);
	ts.tv_nsec = (long)(deadline_ns % 1000000000u);
	return pthread_cond_timedwait(cv, mu, &ts);
#endif
}

void ward_madvise_huge(void *addr, size_t len)
{
#if defined(MADV_HUGEPAGE)
	(void)madvise(addr, len, MADV_HUGEPAGE);
#else
	(void)addr;
	(void)len;
#endif
}

_Bool ward_peer_creds(int fd, uid_t *uid, gid_t *gid, gid_t *groups, unsigned cap,
                      unsigned *ngroups, _Bool *truncated)
{
	*ngroups = 0;
	*truncated = 0;
#if defined(__linux__)
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0)
		return 0;
	*uid = cred.uid;
	*gid = cred.gid;
	len = (socklen_t)(cap * sizeof(gid_t));
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) == 0)
		*ngroups = (unsigned)(len / sizeof(gid_t));
	else
		*truncated = 1; /* ERANGE: more than we keep; or no support */
	return 1;
#elif defined(__APPLE__)
	/* xnu records the connecting process's credential at connect(2) (unp_peercred)
	 * and copies it out with cru2x: cr_groups[0] is the effective gid, the list is
	 * the credential's whole group list (a Darwin credential holds at most NGROUPS). */
	struct xucred xu;
	socklen_t len = sizeof(xu);

	if (getsockopt(fd, SOL_LOCAL, LOCAL_PEERCRED, &xu, &len) != 0)
		return 0;
	if (len < (socklen_t)sizeof(xu) || xu.cr_version != XUCRED_VERSION || xu.cr_ngroups < 1 ||
	    xu.cr_ngroups > (short)(sizeof(xu.cr_groups) / sizeof(xu.cr_groups[0]))) {
		errno = EPROTO;
		return 0;
	}
	*uid = xu.cr_uid;
	*gid = xu.cr_groups[0];
	for (int i = 0; i < xu.cr_ngroups; i++) {
		if (*ngroups == cap) {
			*truncated = 1;
			break;
		}
		groups[(*ngroups)++] = xu.cr_groups[i];
	}
	return 1;
#else
#error "ward_peer_creds: no peer credentials on this platform"
#endif
}

_Bool ward_daemonize(void)
{
	/* daemon(3) itself is deprecated on macOS; this is what it does. */
	pid_t pid = fork();
	int fd;

	if (pid < 0)
		return 0;
	if (pid > 0)
		_exit(0);
	if (setsid() < 0)
		return 0;
	if (chdir("/") != 0)
		return 0;
	if ((fd = open("/dev/null", O_RDWR)) >= 0) {
		(void)dup2(fd, 0);
		(void)dup2(fd, 1);
		(void)dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
	return 1;
}

/* ---- reads that never wait on I/O (ward_nowait_begin) ---- */

enum { NOWAIT_OFF, NOWAIT_RWF, NOWAIT_MEMFS };
static _Thread_local int nowait_mode;
static _Thread_local int nowait_fd; /* NOWAIT_MEMFS: the target on tmpfs, read plainly */
static _Thread_local _Bool nowait_blocked;

_Bool ward_nowait_begin(int fd)
{
	nowait_blocked = 0;
	nowait_mode = NOWAIT_OFF;
	nowait_fd = fd;
#if defined(__linux__) && defined(RWF_NOWAIT)
	struct statfs sf;

	if (fstatfs(fd, &sf) != 0)
		return 0;
	/* shmem has no RWF_NOWAIT (EOPNOTSUPP) and needs none: its pages are memory (swap
	 * aside). Every other filesystem must say it would wait. */
	nowait_mode = (sf.f_type == TMPFS_MAGIC || sf.f_type == RAMFS_MAGIC) ? NOWAIT_MEMFS : NOWAIT_RWF;
	return 1;
#else
	return 0;
#endif
}

_Bool ward_nowait_end(void)
{
	_Bool b = nowait_blocked;

	nowait_mode = NOWAIT_OFF;
	nowait_blocked = 0;
	return b;
}

_Bool ward_nowait_active(void)
{
	return nowait_mode != NOWAIT_OFF;
}

_Bool ward_nowait_memory(void)
{
	return nowait_mode == NOWAIT_MEMFS;
}

_Bool ward_nowait_blocked(void)
{
	return nowait_mode != NOWAIT_OFF && nowait_blocked;
}

_Bool ward_nowait_refuse(void)
{
	if (nowait_mode == NOWAIT_OFF)
		return 0;
	nowait_blocked = 1;
	return 1;
}

_Bool ward_stat_nosync(const char *path, struct stat *st)
{
#if defined(__linux__) && defined(AT_STATX_DONT_SYNC)
	struct statx sx;

	if (statx(AT_FDCWD, path, AT_STATX_DONT_SYNC, STATX_INO | STATX_CTIME | STATX_SIZE, &sx) != 0 ||
	    (sx.stx_mask & (STATX_INO | STATX_CTIME | STATX_SIZE)) != (STATX_INO | STATX_CTIME | STATX_SIZE))
		return 0;
	memset(st, 0, sizeof(*st));
	st->st_dev = makedev(sx.stx_dev_major, sx.stx_dev_minor);
	st->st_ino = sx.stx_ino;
	st->st_ctim.tv_sec = sx.stx_ctime.tv_sec;
	st->st_ctim.tv_nsec = sx.stx_ctime.tv_nsec;
	st->st_size = (off_t)sx.stx_size;
	return 1;
#else
	(void)path;
	(void)st;
	return 0;
#endif
}

void ward_nowait_mark_blocked(void)
{
	nowait_blocked = 1;
}

ssize_t ward_pread(int fd, void *buf, size_t len, off_t off)
{
#if defined(__linux__) && defined(RWF_NOWAIT)
	/* any other descriptor (the opener's executable, say) is on its own filesystem */
	if (nowait_mode == NOWAIT_RWF || (nowait_mode == NOWAIT_MEMFS && fd != nowait_fd)) {
		struct iovec iov = { buf, len };
		ssize_t n = preadv2(fd, &iov, 1, off, RWF_NOWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EOPNOTSUPP)) {
			nowait_blocked = 1;
			errno = EAGAIN;
		}
		return n;
	}
#endif
	return pread(fd, buf, len, off);
}

static _Thread_local _Bool no_waits;

void ward_thread_set_no_waits(_Bool on)
{
	no_waits = on;
}

_Bool ward_thread_no_waits(void)
{
	return no_waits;
}
