/*
 * The few places where Linux and macOS differ below the backends, as one small header
 * instead of #ifdef forests in every file (platform-specific code lives in its own file:
 * agent/backends/fanotify.c vs agent/backends/es.c). Include it after the system headers.
 */
#ifndef WARD_COMMON_PLATFORM_H
#define WARD_COMMON_PLATFORM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#if defined(__APPLE__)
/* Darwin spells the nanosecond stat times st_*timespec (sys/stat.h). */
#define st_atim st_atimespec
#define st_mtim st_mtimespec
#define st_ctim st_ctimespec
#endif

/* Flags for ward_socket(): Darwin has no SOCK_NONBLOCK / SOCK_CLOEXEC type bits. */
#define WARD_SOCK_NONBLOCK 1
#define WARD_SOCK_CLOEXEC  2

/* socket(2) with close-on-exec / non-blocking set atomically where the OS can (Linux),
 * right after creation otherwise. Returns the fd or -1 with errno. */
int ward_socket(int domain, int type, int flags);

/* accept(2) with the same flags. Returns the fd or -1 with errno. */
int ward_accept(int fd, int flags);

/* Fill buf with n random bytes from the kernel without blocking; false on failure. */
_Bool ward_random(void *buf, size_t n);

/* Hint that fd will be read front to back (best effort, never fails). */
void ward_fadvise_sequential(int fd);

/* Lower the calling thread's scheduling priority by inc (best effort). */
void ward_thread_nice(int inc);

/* A condition variable whose timed waits run on CLOCK_MONOTONIC (immune to clock
 * changes), and a wait until a CLOCK_MONOTONIC deadline in ns: 0, or ETIMEDOUT. Darwin
 * has no pthread_condattr_setclock; there the wait is for the time left, relative. */
#include <pthread.h>
void ward_cond_init_mono(pthread_cond_t *cv);
int ward_cond_wait_until(pthread_cond_t *cv, pthread_mutex_t *mu, uint64_t deadline_ns);

/*
 * Reads that must not wait on the disk: the event reader tries to decide a cold exec
 * itself (agent/engine/pipeline.c) and hands it to a worker as soon as any read would
 * have to wait for I/O. ward_nowait_begin(fd) switches the calling thread into that mode
 * for reads of fd's file (false: the platform or the filesystem cannot tell a read that
 * would wait, so do not try); ward_pread then reads only what is in memory (Linux:
 * preadv2 RWF_NOWAIT; tmpfs and ramfs, whose pages are memory, read plainly) and fails
 * with EAGAIN otherwise; ward_nowait_end() leaves the mode and says whether any read
 * failed that way. Outside the mode ward_pread is pread(2).
 */
_Bool ward_nowait_begin(int fd);
_Bool ward_nowait_end(void);
_Bool ward_nowait_active(void);
void ward_nowait_mark_blocked(void); /* a read the mode cannot make non-blocking */
_Bool ward_nowait_memory(void);      /* in the mode, on a filesystem of memory (tmpfs) */
/* In the mode, an open or a path walk outside /proc cannot be made non-blocking (a FUSE
 * server answers lookups and opens when it likes): true, and the mode is marked as
 * blocked, so the caller gives up; false outside the mode (go ahead). */
_Bool ward_nowait_refuse(void);
_Bool ward_nowait_blocked(void);     /* in the mode, something already gave up */
/* stat(2) of path from what the kernel has cached, never asking the filesystem (Linux:
 * statx AT_STATX_DONT_SYNC; FUSE, NFS, CIFS and 9p then answer from their attribute
 * cache): st_dev, st_ino, st_ctim and st_size are filled. False where the platform
 * cannot promise that. */
_Bool ward_stat_nosync(const char *path, struct stat *st);
#include <sys/types.h>
ssize_t ward_pread(int fd, void *buf, size_t len, off_t off);

/* A thread that must never wait on another process (the event reader: everything waits
 * behind it). Reading a process's command line takes that process's memory lock, which a
 * process can hold for as long as it likes (a fault on a file a FUSE server never
 * serves); such reads are skipped on it (agent/backends/procinfo.c). */
void ward_thread_set_no_waits(_Bool on);
_Bool ward_thread_no_waits(void);

/* madvise(MADV_HUGEPAGE) where the kernel has it; advice only. */
void ward_madvise_huge(void *addr, size_t len);

/*
 * The credentials of the peer of a connected AF_UNIX stream socket, as the kernel
 * recorded them when the peer called connect(2) (never looked up by pid: a pid names
 * whoever holds it now). Linux: SO_PEERCRED (uid, gid) and SO_PEERGROUPS (the
 * supplementary groups; *truncated when more than cap, or unsupported). macOS:
 * LOCAL_PEERCRED's struct xucred: uid, the effective gid (cr_groups[0]) and the
 * credential's groups (at most 16: a Darwin credential holds no more; membership that
 * opendirectoryd resolves on demand is not in it, so a user in a group only through
 * the directory is not seen as a member). Returns false with errno when the uid/gid
 * cannot be read; the groups are then unset.
 */
#include <sys/types.h>
_Bool ward_peer_creds(int fd, uid_t *uid, gid_t *gid, gid_t *groups, unsigned cap,
                      unsigned *ngroups, _Bool *truncated);

/* Detach from the terminal as daemon(3) does (fork, setsid, chdir /, stdio to
 * /dev/null). Call before any thread exists. false with errno on failure. */
_Bool ward_daemonize(void);


#endif
