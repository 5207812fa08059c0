/* Seccomp allowlists for parser threads (confine.h), Linux. */
#include "agent/confine.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include <seccomp.h>

#include "agent/log.h"

static atomic_uint confined, failures;

/* What every confined thread may do: memory, time, futexes, reading an fd it holds,
 * writing to an fd it holds (eventfd wake-ups, logs), closing, exiting, signals to
 * itself (abort), and what glibc/OpenSSL/ASan call on the way. */
static const int base_calls[] = {
	SCMP_SYS(read), SCMP_SYS(pread64), SCMP_SYS(readv), SCMP_SYS(preadv), SCMP_SYS(lseek),
	SCMP_SYS(write), SCMP_SYS(writev), SCMP_SYS(pwrite64), SCMP_SYS(fstat), SCMP_SYS(newfstatat), SCMP_SYS(statx),
	SCMP_SYS(fadvise64), SCMP_SYS(close), SCMP_SYS(dup), SCMP_SYS(fcntl),
	SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mremap), SCMP_SYS(mprotect), SCMP_SYS(brk),
	SCMP_SYS(madvise), SCMP_SYS(futex), SCMP_SYS(sched_yield), SCMP_SYS(sched_getaffinity),
	SCMP_SYS(clock_gettime), SCMP_SYS(clock_nanosleep), SCMP_SYS(nanosleep),
	SCMP_SYS(gettimeofday), SCMP_SYS(clock_getres), SCMP_SYS(getrandom),
	SCMP_SYS(getpid), SCMP_SYS(gettid), SCMP_SYS(getuid), SCMP_SYS(geteuid),
	SCMP_SYS(getgid), SCMP_SYS(getegid), SCMP_SYS(tgkill), SCMP_SYS(rt_sigprocmask),
	SCMP_SYS(rt_sigaction), SCMP_SYS(rt_sigreturn), SCMP_SYS(sigaltstack),
	SCMP_SYS(restart_syscall), SCMP_SYS(exit), SCMP_SYS(exit_group), SCMP_SYS(rseq),
	SCMP_SYS(set_robust_list), SCMP_SYS(get_robust_list), SCMP_SYS(prlimit64),
	SCMP_SYS(getrusage), SCMP_SYS(sysinfo), SCMP_SYS(uname), SCMP_SYS(readlink),
	SCMP_SYS(sendto), /* syslog(3) on its already connected socket */
};

static const int scan_calls[] = {
	SCMP_SYS(getpriority), SCMP_SYS(setpriority),
};

static const int decide_calls[] = {
	SCMP_SYS(openat), SCMP_SYS(readlinkat), SCMP_SYS(fanotify_mark), SCMP_SYS(getdents64),
	SCMP_SYS(getpriority), SCMP_SYS(setpriority), SCMP_SYS(ioctl), SCMP_SYS(kill),
};

static const int loader_calls[] = {
	SCMP_SYS(openat), SCMP_SYS(readlinkat), SCMP_SYS(getdents64), SCMP_SYS(getcwd),
	SCMP_SYS(faccessat), SCMP_SYS(faccessat2), SCMP_SYS(access), SCMP_SYS(statfs),
	SCMP_SYS(fstatfs), SCMP_SYS(stat), SCMP_SYS(lstat), SCMP_SYS(ioctl), SCMP_SYS(flock),
};

static bool add_all(scmp_filter_ctx ctx, const int *calls, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (calls[i] >= 0 && seccomp_rule_add(ctx, SCMP_ACT_ALLOW, calls[i], 0) != 0)
			return false;
	return true;
}

/* Build kind's filter with libseccomp and export it as a BPF program (once per kind:
 * compiling takes milliseconds, loading the program microseconds, and a worker must
 * not start late). */
static bool build(ward_confine_kind_t kind, struct sock_fprog *out)
{
	scmp_filter_ctx ctx;
	bool ok;
	int fd;

	if ((ctx = seccomp_init(SCMP_ACT_KILL_PROCESS)) == NULL)
		return false;
	ok = add_all(ctx, base_calls, sizeof(base_calls) / sizeof(base_calls[0]));
	if (ok && kind == WARD_CONFINE_SCAN)
		ok = add_all(ctx, scan_calls, sizeof(scan_calls) / sizeof(scan_calls[0]));
	if (ok && kind == WARD_CONFINE_DECIDE)
		ok = add_all(ctx, decide_calls, sizeof(decide_calls) / sizeof(decide_calls[0]));
	if (ok && kind == WARD_CONFINE_LOADER)
		ok = add_all(ctx, loader_calls, sizeof(loader_calls) / sizeof(loader_calls[0]));
	/* hashing a large file starts a reader thread (scanner/identity.c): threads yes,
	 * processes no. clone3 passes its flags in memory, out of the filter's reach: ENOSYS
	 * makes glibc fall back to clone. */
	if (ok && kind == WARD_CONFINE_DECIDE)
		ok = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
		                      SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD)) == 0 &&
		     seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0) == 0;
	/* a parser opens nothing: a library that tries gets EACCES, not a kill */
	if (ok && kind != WARD_CONFINE_DECIDE && kind != WARD_CONFINE_LOADER)
		ok = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(openat), 0) == 0 &&
		     seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(open), 0) == 0;
	/* no new sockets: but syslog(3) (wardend detached) reconnects to /dev/log from
	 * whichever thread logs; that must fail, not kill the agent */
	if (ok)
		ok = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(socket), 0) == 0 &&
		     seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(connect), 0) == 0;
	fd = ok ? memfd_create("seccomp", MFD_CLOEXEC) : -1;
	ok = fd >= 0 && seccomp_export_bpf(ctx, fd) == 0;
	seccomp_release(ctx);
	if (ok) {
		off_t len = lseek(fd, 0, SEEK_END);
		void *buf = len > 0 && len % (off_t)sizeof(struct sock_filter) == 0 &&
		            len <= 4096 * (off_t)sizeof(struct sock_filter) ? malloc((size_t)len) : NULL;
		ok = buf != NULL && pread(fd, buf, (size_t)len, 0) == (ssize_t)len;
		if (ok) {
			out->len = (unsigned short)(len / (off_t)sizeof(struct sock_filter));
			out->filter = buf;
		} else {
			free(buf);
		}
	}
	if (fd >= 0)
		close(fd);
	return ok;
}

static pthread_mutex_t built_mu = PTHREAD_MUTEX_INITIALIZER;
static struct sock_fprog built[WARD_CONFINE__COUNT];
static bool tried[WARD_CONFINE__COUNT];

bool ward_confine_thread(ward_confine_kind_t kind)
{
	const char *off = getenv("WARDEN_NO_SECCOMP");
	struct sock_fprog prog;
	bool ok;

	if (off != NULL && strcmp(off, "1") == 0)
		return false;
	if ((unsigned)kind >= WARD_CONFINE__COUNT) {
		atomic_fetch_add(&failures, 1);
		return false;
	}
	pthread_mutex_lock(&built_mu);
	if (!tried[kind]) {
		tried[kind] = true;
		(void)build(kind, &built[kind]);
	}
	prog = built[kind];
	pthread_mutex_unlock(&built_mu);
	/* no_new_privs (this thread only; it could never execve anyway), then the filter
	 * on this thread alone (no SECCOMP_FILTER_FLAG_TSYNC) */
	ok = prog.filter != NULL && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 &&
	     syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) == 0;
	atomic_fetch_add(ok ? &confined : &failures, 1);
	return ok;
}



json_t *ward_confine_status(void)
{
	const char *off = getenv("WARDEN_NO_SECCOMP");

	return json_pack("{s:b, s:I, s:I}", "enabled", !(off != NULL && strcmp(off, "1") == 0),
	                 "confined_threads", (json_int_t)atomic_load(&confined), "failures",
	                 (json_int_t)atomic_load(&failures));
}
