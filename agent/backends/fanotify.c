/*
 * The Linux backend: fanotify(7) permission events.
 *
 * The group is FAN_CLASS_CONTENT (permission events need a content or pre-content
 * class) with FAN_OPEN_EXEC_PERM on the filesystem (FAN_MARK_FILESYSTEM) of every
 * watched path: that covers every mount of it, including bind mounts. The kernel
 * blocks the exec until we write a struct fanotify_response; a FAN_DENY makes execve
 * fail with EPERM. If the group is closed (we exit or are killed), the kernel allows
 * every pending event (fanotify_release), so a dead agent never wedges the system.
 *
 * Kernel verdict cache: for an answer with the cache bit we add an inode mark whose
 * ignore mask holds FAN_OPEN_EXEC_PERM, without FAN_MARK_IGNORED_SURV_MODIFY: "the
 * ignore mask is cleared when the file is modified" (fanotify_mark(2)), so the next
 * exec after a write or truncate reaches us again. The mark is added BEFORE the
 * response is written and the file's key is checked after it: a write that came after
 * the engine's content check and before the mark existed would not clear it, so a
 * changed key removes the mark and the engine decides again (WARD_RESPOND_STALE). A rename-over is a new inode without the mark. With
 * FAN_MARK_EVICTABLE (Linux 5.19+) the mark does not pin the inode in memory. On a
 * rule/mode change, FAN_MARK_FLUSH (without MOUNT/FILESYSTEM) drops every inode mark.
 *
 * Opens (file-access authorization) go through a second group, created with
 * FAN_REPORT_TID so that an event names the opening thread: its /proc/<tid>/syscall
 * tells a read from a write (openmode.c). It marks FAN_OPEN_PERM on the filesystems
 * that hold watched paths only (watch_opens), and the first open of a file in a
 * directory no watch item can reach gets an ignore mark on that directory
 * (FAN_MARK_IGNORE | FAN_MARK_IGNORED_SURV_MODIFY, FAN_EVENT_ON_CHILD | FAN_ONDIR: the
 * kernel then drops the opens of its files; directories need SURV_MODIFY, EISDIR
 * otherwise). Opens of unwatched paths thus cost one event per directory, not one per
 * open. Threads of the agent itself are answered here, before the engine sees them.
 *
 * New mounts: with no --watch path ("every local filesystem") the reader also polls
 * /proc/self/mountinfo, whose poll reports POLLPRI|POLLERR when the mount table of our
 * mount namespace changes (proc(5)), and marks each local filesystem (or mount, with
 * mount marks) that appeared. A program on a filesystem mounted a moment before it
 * runs can still win that race; only root can mount such a filesystem (a mount owned
 * by another user namespace is left to the BPF ground, agent/backends/bpfground.h).
 * With --watch the marked set is exactly the listed filesystems (docs/agent.md).
 *
 * FAN_UNLIMITED_QUEUE: on a bounded queue the kernel silently ALLOWS a permission event
 * it cannot queue, which LOCKDOWN must not do; the number of pending events is already
 * bounded by the number of processes blocked in exec.
 */
#include "agent/backend.h"
#include "agent/backends/openmode.h"
#include "agent/backends/procinfo.h"
#include "common/fdpath.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <mntent.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#ifndef FAN_MARK_EVICTABLE
#define FAN_MARK_EVICTABLE 0x00000200
#endif
#ifndef FAN_MARK_IGNORE
#define FAN_MARK_IGNORE 0x00000400
#endif
#ifndef FAN_REPORT_TID
#define FAN_REPORT_TID 0x00000100
#endif

/* ev->cookie of an OPEN event: it came from the opens group */
#define COOKIE_OPENS 1u

#ifndef STATX_MNT_ID
#define STATX_MNT_ID 0x00001000U
#endif

#define MAX_MARKED 4096 /* filesystems (or mounts) remembered; more are marked, not kept */

struct marked {
	char *path;            /* where we marked it */
	uint64_t key;          /* st_dev (filesystem marks) or mount id (mount marks) */
	bool present;          /* seen by the current rescan */
	bool ok;               /* marked; false: the kernel refused (counted once, not retried) */
};

struct fan {
	int fd;
	int stopfd;
	int mountsfd;          /* /proc/self/mountinfo when marking every local filesystem */
	bool kernel_cache;
	bool mount_marks;
	pthread_mutex_t mu;    /* marked[], nmarked and writes: main thread vs the reader */
	bool writes;           /* FAN_CLOSE_WRITE is in the marks' mask */
	size_t nmarked;
	struct marked marked[MAX_MARKED]; /* the filesystems (or mounts) we marked */
	atomic_bool evictable; /* cleared once if the kernel rejects FAN_MARK_EVICTABLE */
	int ofd;               /* the opens group (FAN_REPORT_TID) */
	size_t nomarked;
	char *omarked[MAX_MARKED]; /* paths whose filesystem (or mount) reports opens */
};

static void rescan_mounts(ward_backend_t *b, struct fan *f);

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Whether tid is a thread of this process (its opens are never waited on). */
static bool own_thread(pid_t tid)
{
	char p[48];
	struct stat st;

	if (tid == getpid())
		return true;
	snprintf(p, sizeof(p), "/proc/self/task/%d", (int)tid);
	return stat(p, &st) == 0;
}

static ward_err_t write_response_fd(int gfd, int fd, bool allow);

/* Read one batch of events from group fd gfd and hand them to sink. */
static ward_err_t fan_read(ward_backend_t *b, int gfd, bool opens, ward_event_sink_fn sink, void *arg,
                           char *buf, size_t bufsz, ward_error_t *err)
{
	ssize_t n = read(gfd, buf, bufsz);

	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return WARD_OK;
		/* EMFILE/ENFILE: the kernel could not open the target for us; the event
		 * stays queued. Count it and let the next read retry. */
		b->read_errors++;
		if (errno == EMFILE || errno == ENFILE || errno == ENOMEM) {
			struct timespec ts = { 0, 1000000 };
			nanosleep(&ts, NULL);
			return WARD_OK;
		}
		return ward_error_set(err, WARD_E_IO, "fanotify: read: %s", strerror(errno));
	}
	const struct fanotify_event_metadata *md = (const void *)buf;
	for (; FAN_EVENT_OK(md, n); md = FAN_EVENT_NEXT(md, n)) {
		if (md->vers != FANOTIFY_METADATA_VERSION)
			return ward_error_set(err, WARD_E_UNSUPPORTED,
			                      "fanotify: metadata version %u, built for %u",
			                      md->vers, FANOTIFY_METADATA_VERSION);
		if (md->mask & FAN_Q_OVERFLOW) {
			b->overflows++;
			continue;
		}
		if (md->fd < 0)
			continue;
		if (opens) {
			if (!(md->mask & FAN_OPEN_PERM)) {
				close(md->fd);
				continue;
			}
			if (own_thread(md->pid)) {
				(void)write_response_fd(gfd, md->fd, true);
				close(md->fd);
				continue;
			}
		} else if (!(md->mask & (FAN_OPEN_EXEC_PERM | FAN_CLOSE_WRITE))) {
			close(md->fd);
			continue;
		}
		/* fanotify says nothing of the process but its pid: the credentials, start
		 * time and executable cost a /proc lookup each, and the engine asks for
		 * them only when it needs them (proc_fill). */
		ward_event_t ev = {
			.kind = opens ? WARD_EV_OPEN
			      : (md->mask & FAN_OPEN_EXEC_PERM) ? WARD_EV_EXEC : WARD_EV_MODIFIED,
			.proc = { .pid = md->pid },
			.fd = md->fd,
			.t_recv_ns = mono_ns(),
			.cookie = opens ? COOKIE_OPENS : 0,
		};
		if (opens) {
			bool exec;
			ev.access = ward_openmode_of(md->pid, &exec); /* the thread waits in its open */
			if (exec) {
				/* execve's own open of the program: the exec permission event decides
				 * it (file access, as Santa's AUTH_OPEN, is not about execs) */
				(void)write_response_fd(gfd, md->fd, true);
				close(md->fd);
				continue;
			}
		}
		struct stat st;
		if (fstat(md->fd, &st) == 0) {
			ev.key_ok = true;
			ward_filekey_from_stat(&st, &ev.key);
			ev.st_uid = st.st_uid;
			ev.st_mode = st.st_mode;
		}
		sink(arg, &ev);
	}
	return WARD_OK;
}

static ward_err_t fan_run(ward_backend_t *b, ward_event_sink_fn sink, void *arg, ward_error_t *err)
{
	struct fan *f = b->priv;
	/* The kernel writes whole events into the buffer; align it for the struct. */
	static _Thread_local char buf[16384] __attribute__((aligned(__alignof__(struct fanotify_event_metadata))));
	struct pollfd pfd[4] = { { .fd = f->fd, .events = POLLIN }, { .fd = f->stopfd, .events = POLLIN },
	                         { .fd = f->mountsfd, .events = POLLPRI }, { .fd = f->ofd, .events = POLLIN } };
	ward_err_t rc;

	for (;;) {
		/* fd -1 is ignored by poll: no mount watching with --watch, no opens group */
		if (poll(pfd, 4, -1) < 0) {
			if (errno == EINTR)
				continue;
			return ward_error_set(err, WARD_E_IO, "fanotify: poll: %s", strerror(errno));
		}
		if (pfd[1].revents)
			return WARD_OK;
		if (pfd[2].revents & (POLLPRI | POLLERR))
			rescan_mounts(b, f);
		if ((pfd[0].revents & POLLIN) &&
		    (rc = fan_read(b, f->fd, false, sink, arg, buf, sizeof(buf), err)) != WARD_OK)
			return rc;
		if (f->ofd >= 0 && (pfd[3].revents & POLLIN) &&
		    (rc = fan_read(b, f->ofd, true, sink, arg, buf, sizeof(buf), err)) != WARD_OK)
			return rc;
	}
}

static void fan_stop(ward_backend_t *b)
{
	struct fan *f = b->priv;
	uint64_t one = 1;

	(void)!write(f->stopfd, &one, sizeof(one));
}

static ward_err_t write_response_fd(int gfd, int fd, bool allow)
{
	struct fanotify_response r = { .fd = fd, .response = allow ? FAN_ALLOW : FAN_DENY };

	for (;;) {
		if (write(gfd, &r, sizeof(r)) == (ssize_t)sizeof(r))
			return WARD_OK;
		if (errno != EINTR)
			return WARD_E_IO;
	}
}

static ward_err_t write_response(struct fan *f, int fd, bool allow)
{
	return write_response_fd(f->fd, fd, allow);
}

/*
 * An OPEN answered with the cache bit: no watch item can reach a file of the target's
 * directory, so the kernel may stop reporting its files' opens. The directory is
 * opened by name and checked to still hold the target (a rename in between would put
 * the mark on a directory nobody decided about: then it is removed again).
 */
static void ignore_dir(ward_backend_t *b, struct fan *f, const ward_event_t *ev)
{
	char path[PATH_MAX], *slash;
	struct stat st;
	int dfd;

	if (!ward_fd_path(ev->fd, path, sizeof(path)) || (slash = strrchr(path, '/')) == NULL)
		return;
	*slash = '\0';
	dfd = open(path[0] ? path : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return;
	if (fanotify_mark(f->ofd, FAN_MARK_ADD | FAN_MARK_IGNORE | FAN_MARK_IGNORED_SURV_MODIFY,
	                  FAN_OPEN_PERM | FAN_EVENT_ON_CHILD | FAN_ONDIR, dfd, NULL) != 0) {
		b->mark_errors++;
	} else if (fstatat(dfd, slash + 1, &st, AT_SYMLINK_NOFOLLOW) != 0 || !ev->key_ok ||
	           (uint64_t)st.st_ino != ev->key.ino || (uint64_t)st.st_dev != ev->key.dev) {
		(void)fanotify_mark(f->ofd, FAN_MARK_REMOVE | FAN_MARK_IGNORE,
		                    FAN_OPEN_PERM | FAN_EVENT_ON_CHILD | FAN_ONDIR, dfd, NULL);
	}
	close(dfd);
}

/* Add the ignore mark that makes group gfd remember an ALLOW of mask for fd's inode. */
static bool add_mark_to(ward_backend_t *b, struct fan *f, int gfd, uint64_t mask, int fd)
{
	unsigned flags = FAN_MARK_ADD | FAN_MARK_IGNORED_MASK;

	if (atomic_load(&f->evictable)) {
		if (fanotify_mark(gfd, flags | FAN_MARK_EVICTABLE, mask, fd, NULL) == 0)
			return true;
		if (errno != EINVAL) {
			b->mark_errors++;
			return false;
		}
		atomic_store(&f->evictable, false); /* kernel older than 5.19 */
		atomic_store(&b->cache_evictable, false);
	}
	if (fanotify_mark(gfd, flags, mask, fd, NULL) == 0)
		return true;
	b->mark_errors++;
	return false;
}

static bool add_mark(ward_backend_t *b, struct fan *f, int fd)
{
	return add_mark_to(b, f, f->fd, FAN_OPEN_EXEC_PERM, fd);
}

static ward_err_t fan_respond(ward_backend_t *b, const ward_event_t *ev, const ward_answer_t *a)
{
	struct fan *f = b->priv;
	bool allow = a->decision == WARD_ALLOW;

	if (ev->cookie == COOKIE_OPENS) {
		/* fanotify cannot allow a read and refuse a write of one open: a partial
		 * answer (a->allowed) is a DENY of the open as asked */
		if (allow && a->cache && ev->fd >= 0)
			ignore_dir(b, f, ev);
		return write_response_fd(f->ofd, ev->fd, allow);
	}

	if (allow && a->cache && f->kernel_cache && ev->fd >= 0 && ev->key_ok &&
	    add_mark(b, f, ev->fd)) {
		/* the exec's own open, and the program's later opens, need not come to the
		 * opens group either (an ignore mark is dropped on modify like the other) */
		bool opens = a->cache_opens && f->ofd >= 0 &&
		             add_mark_to(b, f, f->ofd, FAN_OPEN_PERM, ev->fd);
		struct stat st;
		ward_filekey_t now;
		if (fstat(ev->fd, &st) == 0) {
			ward_filekey_from_stat(&st, &now);
			if (!ward_filekey_eq(&now, &ev->key)) {
				/* Changed before the mark held: the mark may outlive the change. */
				if (fanotify_mark(f->fd, FAN_MARK_REMOVE | FAN_MARK_IGNORED_MASK,
				                  FAN_OPEN_EXEC_PERM, ev->fd, NULL) != 0)
					b->mark_errors++;
				if (opens && fanotify_mark(f->ofd, FAN_MARK_REMOVE | FAN_MARK_IGNORED_MASK,
				                           FAN_OPEN_PERM, ev->fd, NULL) != 0)
					b->mark_errors++;
				return WARD_RESPOND_STALE;
			}
		}
	}
	return write_response(f, ev->fd, allow);
}

static void fan_cache_flush(ward_backend_t *b)
{
	struct fan *f = b->priv;

	if (fanotify_mark(f->fd, FAN_MARK_FLUSH, 0, AT_FDCWD, NULL) != 0)
		b->mark_errors++;
	if (f->ofd >= 0 && fanotify_mark(f->ofd, FAN_MARK_FLUSH, 0, AT_FDCWD, NULL) != 0)
		b->mark_errors++;
}

/* The deepest existing directory at or above path (its filesystem holds path's file
 * once it exists). */
static bool existing_ancestor(const char *path, char *out, size_t len)
{
	struct stat st;
	char *slash;

	snprintf(out, len, "%s", path);
	for (size_t i = strcspn(out, "*?["); out[i]; i++)
		out[i] = '\0'; /* a glob: its fixed part */
	while (out[0]) {
		if (stat(out, &st) == 0)
			return true;
		if ((slash = strrchr(out, '/')) == NULL)
			return false;
		if (slash == out) {
			out[1] = '\0';
			return stat(out, &st) == 0;
		}
		*slash = '\0';
	}
	return false;
}

static bool fan_watch_opens(ward_backend_t *b, const char *const *paths, bool exec_filesystems)
{
	struct fan *f = b->priv;
	unsigned where = f->mount_marks ? FAN_MARK_MOUNT : FAN_MARK_FILESYSTEM;
	char *next[MAX_MARKED];
	dev_t devs[MAX_MARKED];
	size_t n = 0;
	bool ok = true;

	if (f->ofd < 0)
		return (paths == NULL || paths[0] == NULL) && !exec_filesystems;
	size_t np = 0, ne = 0, total;
	char *execp[MAX_MARKED];

	while (paths && paths[np])
		np++;
	if (exec_filesystems) {
		/* the filesystems execs are watched on (a copy: the reader may add mounts) */
		pthread_mutex_lock(&f->mu);
		for (size_t i = 0; i < f->nmarked; i++)
			if (f->marked[i].ok && f->marked[i].present && (execp[ne] = strdup(f->marked[i].path)) != NULL)
				ne++;
		pthread_mutex_unlock(&f->mu);
	}
	total = np + ne;
	for (size_t i = 0; i < total; i++) {
		char dir[PATH_MAX];
		struct stat st;
		size_t j;
		const char *want = i < np ? paths[i] : execp[i - np];
		if (!existing_ancestor(want, dir, sizeof(dir)) || stat(dir, &st) != 0) {
			ok = false;
			continue;
		}
		for (j = 0; j < n && (f->mount_marks || devs[j] != st.st_dev); j++)
			if (f->mount_marks && strcmp(next[j], dir) == 0)
				break;
		if (j < n || n >= MAX_MARKED)
			continue;
		if (fanotify_mark(f->ofd, FAN_MARK_ADD | where, FAN_OPEN_PERM, AT_FDCWD, dir) != 0) {
			ok = false;
			b->mark_errors++;
			continue;
		}
		devs[n] = st.st_dev;
		if ((next[n] = strdup(dir)) != NULL)
			n++;
	}
	/* what the new set no longer holds stops reporting */
	for (size_t i = 0; i < f->nomarked; i++) {
		struct stat st;
		bool keep = false;
		for (size_t j = 0; j < n && !keep; j++)
			keep = f->mount_marks ? strcmp(next[j], f->omarked[i]) == 0
			                      : (stat(f->omarked[i], &st) == 0 && st.st_dev == devs[j]);
		if (!keep)
			(void)fanotify_mark(f->ofd, FAN_MARK_REMOVE | where, FAN_OPEN_PERM, AT_FDCWD,
			                    f->omarked[i]);
		free(f->omarked[i]);
	}
	memcpy(f->omarked, next, n * sizeof(next[0]));
	f->nomarked = n;
	for (size_t i = 0; i < ne; i++)
		free(execp[i]);
	if (fanotify_mark(f->ofd, FAN_MARK_FLUSH, 0, AT_FDCWD, NULL) != 0)
		b->mark_errors++;
	return ok;
}

static bool fan_path(ward_backend_t *b, const ward_event_t *ev, char *buf, size_t len)
{
	(void)b;
	return ward_fd_path(ev->fd, buf, len);
}

/*
 * The process details for the log. Called before the answer for a denial (the caller
 * stays the caller: its exec fails) and after it for an ALLOW, so that logging never
 * delays an exec; by then the process may already run the new program. The executable
 * is read before and after the command line to say whose arguments they are: the new
 * program's (exe is the target), the caller's (exe is something else), or unknown (it
 * changed in between: dropped).
 */
static bool fan_proc_info(ward_backend_t *b, const ward_event_t *ev, ward_procinfo_t *out)
{
	ward_filekey_t x1, x2;
	bool e1, e2;

	(void)b;
	e1 = ward_procinfo_exe(ev->proc.pid, &x1);
	if (!ward_procinfo_read(ev->proc.pid, out))
		return false;
	e2 = ward_procinfo_exe(ev->proc.pid, &x2);
	if (!e1 || !e2 || !ward_filekey_same_file(&x1, &x2)) {
		out->argv_len = 0; /* whose they are is unknown */
		out->argv_truncated = false;
		return true;
	}
	out->argv_is_caller = !(ev->key_ok && ward_filekey_same_file(&x1, &ev->key));
	return true;
}

static void fan_proc_fill(ward_backend_t *b, ward_event_t *ev, unsigned what)
{
	ward_subject_t *p = &ev->proc;

	(void)b;
	if ((what & WARD_PROC_CREDS) && !p->creds_ok)
		p->creds_ok = ward_procinfo_creds(p->pid, &p->uid, &p->gid);
	if ((what & WARD_PROC_VERSION) && p->pidversion == 0)
		p->pidversion = ward_procinfo_start_time(p->pid);
	if ((what & WARD_PROC_EXE) && !p->exe_ok)
		p->exe_ok = ward_procinfo_exe(p->pid, &p->exe);
}

static int fan_proc_state(ward_backend_t *b, pid_t pid, uint64_t pidversion, const ward_filekey_t *exe)
{
	ward_filekey_t now;
	uint64_t start = ward_procinfo_start_time(pid);

	(void)b;
	if (start == 0)
		return WARD_PROC_GONE;
	if (pidversion != 0 && start != pidversion)
		return WARD_PROC_OTHER;
	if (!ward_procinfo_exe(pid, &now))
		return WARD_PROC_GONE; /* a zombie has no exe */
	return ward_filekey_same_file(&now, exe) ? WARD_PROC_SAME : WARD_PROC_OTHER;
}

static bool fan_watch_writes(ward_backend_t *b, bool on)
{
	struct fan *f = b->priv;
	unsigned where = f->mount_marks ? FAN_MARK_MOUNT : FAN_MARK_FILESYSTEM;
	bool ok = true;

	pthread_mutex_lock(&f->mu);
	if (f->writes != on) {
		for (size_t i = 0; i < f->nmarked; i++)
			if (f->marked[i].ok &&
			    fanotify_mark(f->fd, (on ? FAN_MARK_ADD : FAN_MARK_REMOVE) | where, FAN_CLOSE_WRITE,
			                  AT_FDCWD, f->marked[i].path) != 0)
				ok = false;
		f->writes = on;
	}
	pthread_mutex_unlock(&f->mu);
	return ok;
}

static void fan_release(ward_backend_t *b, ward_event_t *ev)
{
	(void)b;
	if (ev->fd >= 0)
		close(ev->fd);
	ev->fd = -1;
}

static void fan_destroy(ward_backend_t *b)
{
	struct fan *f;

	if (b == NULL)
		return;
	f = b->priv;
	if (f) {
		if (f->fd >= 0)
			close(f->fd);
		if (f->stopfd >= 0)
			close(f->stopfd);
		if (f->ofd >= 0)
			close(f->ofd);
		if (f->mountsfd >= 0)
			close(f->mountsfd);
		for (size_t i = 0; i < f->nmarked; i++)
			free(f->marked[i].path);
		for (size_t i = 0; i < f->nomarked; i++)
			free(f->omarked[i]);
		pthread_mutex_destroy(&f->mu);
		free(f);
	}
	free(b);
}

static const struct ward_backend_ops fan_ops = {
	.name = "fanotify",
	.run = fan_run,
	.stop = fan_stop,
	.respond = fan_respond,
	.cache_flush = fan_cache_flush,
	.path = fan_path,
	.proc_info = fan_proc_info,
	.proc_fill = fan_proc_fill,
	.proc_state = fan_proc_state,
	.watch_writes = fan_watch_writes,
	.watch_opens = fan_watch_opens,
	.release = fan_release,
	.destroy = fan_destroy,
};

/* The identity of what a mark at path covers: its filesystem or its mount. */
static bool mark_key(const char *path, bool mount_marks, uint64_t *key)
{
	struct statx stx;

	if (statx(AT_FDCWD, path, AT_NO_AUTOMOUNT, mount_marks ? STATX_MNT_ID : STATX_BASIC_STATS, &stx) != 0)
		return false;
	if (mount_marks) {
		if (!(stx.stx_mask & STATX_MNT_ID))
			return false;
		*key = stx.stx_mnt_id;
	} else {
		*key = makedev(stx.stx_dev_major, stx.stx_dev_minor);
	}
	return true;
}

/* Mark the filesystem (or mount) of path for exec permission events, and remember it
 * (a refusal too, so that a rescan does not retry it). Caller holds f->mu. 0 or -1
 * (errno set). */
static int mark_fs(struct fan *f, const char *path, uint64_t key)
{
	unsigned where = f->mount_marks ? FAN_MARK_MOUNT : FAN_MARK_FILESYSTEM;
	uint64_t mask = FAN_OPEN_EXEC_PERM | (f->writes ? FAN_CLOSE_WRITE : 0);
	int rc = fanotify_mark(f->fd, FAN_MARK_ADD | where, mask, AT_FDCWD, path);
	int e = errno;

	if (f->nmarked < MAX_MARKED && (f->marked[f->nmarked].path = strdup(path)) != NULL) {
		f->marked[f->nmarked].key = key;
		f->marked[f->nmarked].present = true;
		f->marked[f->nmarked].ok = rc == 0;
		f->nmarked++;
	}
	errno = e;
	return rc;
}

/* Filesystems where programs live; pseudo filesystems (proc, sysfs, cgroup...) are not. */
static bool local_fstype(const char *t)
{
	static const char *const types[] = {
		"ext2", "ext3", "ext4", "xfs", "btrfs", "f2fs", "jfs", "reiserfs", "vfat",
		"exfat", "ntfs3", "tmpfs", "zfs", "squashfs", "erofs", "overlay",
	};
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(t, types[i]) == 0)
			return true;
	return false;
}

/*
 * Mark every local filesystem (or mount) in the mount table that is not marked yet, and
 * forget the ones that are gone (the kernel drops a mark with its filesystem or mount).
 * Returns how many are marked now; *failed counts the ones that could not be.
 */
static size_t mark_local(struct fan *f, size_t *failed)
{
	FILE *m = setmntent("/proc/self/mounts", "re");
	struct mntent *e;
	size_t n = 0;

	*failed = 0;
	if (m == NULL) {
		*failed = 1;
		return f->nmarked;
	}
	pthread_mutex_lock(&f->mu);
	for (size_t i = 0; i < f->nmarked; i++)
		f->marked[i].present = false;
	while ((e = getmntent(m)) != NULL) {
		uint64_t key;
		size_t i;
		if (!local_fstype(e->mnt_type) || !mark_key(e->mnt_dir, f->mount_marks, &key))
			continue;
		for (i = 0; i < f->nmarked && f->marked[i].key != key; i++)
			;
		if (i < f->nmarked) {
			f->marked[i].present = true; /* marked, or refused before: not again */
			continue;
		}
		if (mark_fs(f, e->mnt_dir, key) != 0)
			(*failed)++;
	}
	endmntent(m);
	for (size_t i = 0; i < f->nmarked; i++) {
		if (f->marked[i].present) {
			f->marked[n++] = f->marked[i];
			continue;
		}
		free(f->marked[i].path);
	}
	f->nmarked = n;
	pthread_mutex_unlock(&f->mu);
	return n;
}

/* The mount table changed (reader thread): mark what appeared. */
static void rescan_mounts(ward_backend_t *b, struct fan *f)
{
	size_t failed;

	(void)mark_local(f, &failed);
	if (failed)
		b->mark_errors += failed;
	b->mount_rescans++;
}

static ward_err_t mark_all_local(struct fan *f, ward_error_t *err)
{
	size_t failed, n;

	/* Open the table before reading it: a mount made in between is seen by the poll. */
	if ((f->mountsfd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC)) < 0)
		return ward_error_set(err, WARD_E_IO, "/proc/self/mountinfo: %s", strerror(errno));
	n = mark_local(f, &failed);
	if (n <= failed)
		return ward_error_set(err, WARD_E_IO, "fanotify: no local filesystem could be marked");
	return WARD_OK;
}

ward_err_t ward_fanotify_open(const ward_fanotify_opts_t *opts, ward_backend_t **out,
                              ward_error_t *err)
{
	ward_backend_t *b = calloc(1, sizeof(*b));
	struct fan *f = calloc(1, sizeof(*f));
	ward_err_t rc = WARD_OK;

	*out = NULL;
	if (b == NULL || f == NULL) {
		free(b);
		free(f);
		return ward_error_set(err, WARD_E_NOMEM, "fanotify: out of memory");
	}
	b->ops = &fan_ops;
	b->priv = f;
	f->stopfd = -1;
	f->ofd = -1;
	f->mountsfd = -1;
	pthread_mutex_init(&f->mu, NULL);
	f->kernel_cache = opts->kernel_cache;
	f->mount_marks = opts->mount_marks;
	atomic_init(&f->evictable, true);
	atomic_init(&b->cache_evictable, opts->kernel_cache);
	b->reader_decides = true; /* local filesystems: RWF_NOWAIT, or memory (tmpfs) */
	f->fd = fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC | FAN_NONBLOCK | FAN_UNLIMITED_QUEUE,
	                      O_RDONLY | O_LARGEFILE | O_CLOEXEC);
	if (f->fd < 0) {
		rc = ward_error_set(err, errno == EPERM ? WARD_E_PERM : WARD_E_UNSUPPORTED,
		                    "fanotify_init: %s (needs CAP_SYS_ADMIN and CONFIG_FANOTIFY_ACCESS_PERMISSIONS)",
		                    strerror(errno));
		goto fail;
	}
	/* the opens group: without FAN_REPORT_TID (before 4.20) reads cannot be told from
	 * writes, so it would decide every open as read-write: refuse to guess and run
	 * without opens (status says watch items are not enforced) */
	f->ofd = fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC | FAN_NONBLOCK | FAN_UNLIMITED_QUEUE |
	                       FAN_REPORT_TID, O_RDONLY | O_LARGEFILE | O_CLOEXEC);
	if ((f->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
		rc = ward_error_set(err, WARD_E_IO, "eventfd: %s", strerror(errno));
		goto fail;
	}
	if (opts->watch == NULL || opts->watch[0] == NULL) {
		if ((rc = mark_all_local(f, err)) != WARD_OK)
			goto fail;
	}
	for (size_t i = 0; opts->watch && opts->watch[i]; i++) {
		uint64_t key = 0;
		int r;
		(void)mark_key(opts->watch[i], opts->mount_marks, &key);
		pthread_mutex_lock(&f->mu);
		r = mark_fs(f, opts->watch[i], key);
		pthread_mutex_unlock(&f->mu);
		if (r != 0) {
			rc = ward_error_set(err, WARD_E_IO, "fanotify_mark %s: %s", opts->watch[i],
			                    strerror(errno));
			goto fail;
		}
	}
	*out = b;
	return WARD_OK;
fail:
	fan_destroy(b);
	return rc;
}
