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
 * FAN_UNLIMITED_QUEUE: on a bounded queue the kernel silently ALLOWS a permission event
 * it cannot queue, which LOCKDOWN must not do; the number of pending events is already
 * bounded by the number of processes blocked in exec.
 */
#include "agent/backend.h"
#include "agent/backends/procinfo.h"
#include "common/fdpath.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <mntent.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifndef FAN_MARK_EVICTABLE
#define FAN_MARK_EVICTABLE 0x00000200
#endif

#define MAX_MARKED 256

struct fan {
	int fd;
	int stopfd;
	bool kernel_cache;
	bool mount_marks;
	bool writes;           /* FAN_CLOSE_WRITE is in the marks' mask */
	size_t nmarked;
	char *marked[MAX_MARKED]; /* the paths whose filesystem (or mount) we marked */
	atomic_bool evictable; /* cleared once if the kernel rejects FAN_MARK_EVICTABLE */
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static ward_err_t fan_run(ward_backend_t *b, ward_event_sink_fn sink, void *arg, ward_error_t *err)
{
	struct fan *f = b->priv;
	/* The kernel writes whole events into the buffer; align it for the struct. */
	static _Thread_local char buf[16384] __attribute__((aligned(__alignof__(struct fanotify_event_metadata))));
	struct pollfd pfd[2] = { { .fd = f->fd, .events = POLLIN }, { .fd = f->stopfd, .events = POLLIN } };

	for (;;) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return ward_error_set(err, WARD_E_IO, "fanotify: poll: %s", strerror(errno));
		}
		if (pfd[1].revents)
			return WARD_OK;
		ssize_t n = read(f->fd, buf, sizeof(buf));
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			/* EMFILE/ENFILE: the kernel could not open the target for us; the event
			 * stays queued. Count it and let the next read retry. */
			b->read_errors++;
			if (errno == EMFILE || errno == ENFILE || errno == ENOMEM) {
				struct timespec ts = { 0, 1000000 };
				nanosleep(&ts, NULL);
				continue;
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
			if (!(md->mask & (FAN_OPEN_EXEC_PERM | FAN_CLOSE_WRITE))) {
				close(md->fd);
				continue;
			}
			/* fanotify says nothing of the process but its pid: the credentials, start
			 * time and executable cost a /proc lookup each, and the engine asks for
			 * them only when it needs them (proc_fill). */
			ward_event_t ev = {
				.kind = (md->mask & FAN_OPEN_EXEC_PERM) ? WARD_EV_EXEC : WARD_EV_MODIFIED,
				.proc = { .pid = md->pid },
				.fd = md->fd,
				.t_recv_ns = mono_ns(),
			};
			struct stat st;
			if (fstat(md->fd, &st) == 0) {
				ev.key_ok = true;
				ward_filekey_from_stat(&st, &ev.key);
				ev.st_uid = st.st_uid;
				ev.st_mode = st.st_mode;
			}
			sink(arg, &ev);
		}
	}
}

static void fan_stop(ward_backend_t *b)
{
	struct fan *f = b->priv;
	uint64_t one = 1;

	(void)!write(f->stopfd, &one, sizeof(one));
}

static ward_err_t write_response(struct fan *f, int fd, bool allow)
{
	struct fanotify_response r = { .fd = fd, .response = allow ? FAN_ALLOW : FAN_DENY };

	for (;;) {
		if (write(f->fd, &r, sizeof(r)) == (ssize_t)sizeof(r))
			return WARD_OK;
		if (errno != EINTR)
			return WARD_E_IO;
	}
}

/* Add the ignore mark that makes the kernel remember an ALLOW. */
static bool add_mark(ward_backend_t *b, struct fan *f, int fd)
{
	unsigned flags = FAN_MARK_ADD | FAN_MARK_IGNORED_MASK;

	if (atomic_load(&f->evictable)) {
		if (fanotify_mark(f->fd, flags | FAN_MARK_EVICTABLE, FAN_OPEN_EXEC_PERM, fd, NULL) == 0)
			return true;
		if (errno != EINVAL) {
			b->mark_errors++;
			return false;
		}
		atomic_store(&f->evictable, false); /* kernel older than 5.19 */
		atomic_store(&b->cache_evictable, false);
	}
	if (fanotify_mark(f->fd, flags, FAN_OPEN_EXEC_PERM, fd, NULL) == 0)
		return true;
	b->mark_errors++;
	return false;
}

static ward_err_t fan_respond(ward_backend_t *b, const ward_event_t *ev, const ward_answer_t *a)
{
	struct fan *f = b->priv;
	bool allow = a->decision == WARD_ALLOW;

	if (allow && a->cache && f->kernel_cache && ev->fd >= 0 && ev->key_ok &&
	    add_mark(b, f, ev->fd)) {
		struct stat st;
		ward_filekey_t now;
		if (fstat(ev->fd, &st) == 0) {
			ward_filekey_from_stat(&st, &now);
			if (!ward_filekey_eq(&now, &ev->key)) {
				/* Changed before the mark held: the mark may outlive the change. */
				if (fanotify_mark(f->fd, FAN_MARK_REMOVE | FAN_MARK_IGNORED_MASK,
				                  FAN_OPEN_EXEC_PERM, ev->fd, NULL) != 0)
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

	if (f->writes == on)
		return true;
	for (size_t i = 0; i < f->nmarked; i++)
		if (fanotify_mark(f->fd, (on ? FAN_MARK_ADD : FAN_MARK_REMOVE) | where, FAN_CLOSE_WRITE,
		                  AT_FDCWD, f->marked[i]) != 0)
			ok = false;
	f->writes = on;
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
		for (size_t i = 0; i < f->nmarked; i++)
			free(f->marked[i]);
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
	.release = fan_release,
	.destroy = fan_destroy,
};

static int mark_fs(struct fan *f, const char *path, bool mount_marks)
{
	unsigned where = mount_marks ? FAN_MARK_MOUNT : FAN_MARK_FILESYSTEM;

	if (fanotify_mark(f->fd, FAN_MARK_ADD | where, FAN_OPEN_EXEC_PERM, AT_FDCWD, path) != 0)
		return -1;
	if (f->nmarked < MAX_MARKED && (f->marked[f->nmarked] = strdup(path)) != NULL)
		f->nmarked++;
	return 0;
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

static ward_err_t mark_all_local(struct fan *f, bool mount_marks, ward_error_t *err)
{
	FILE *m = setmntent("/proc/self/mounts", "r");
	struct mntent *e;
	dev_t seen[256];
	size_t nseen = 0, marked = 0;

	if (m == NULL)
		return ward_error_set(err, WARD_E_IO, "/proc/self/mounts: %s", strerror(errno));
	while ((e = getmntent(m)) != NULL) {
		struct stat st;
		size_t i;
		if (!local_fstype(e->mnt_type) || stat(e->mnt_dir, &st) != 0)
			continue;
		for (i = 0; i < nseen && seen[i] != st.st_dev; i++)
			;
		if (i < nseen && !mount_marks)
			continue;
		if (nseen < sizeof(seen) / sizeof(seen[0]))
			seen[nseen++] = st.st_dev;
		if (mark_fs(f, e->mnt_dir, mount_marks) == 0)
			marked++;
	}
	endmntent(m);
	if (marked == 0)
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
	f->kernel_cache = opts->kernel_cache;
	f->mount_marks = opts->mount_marks;
	atomic_init(&f->evictable, true);
	atomic_init(&b->cache_evictable, opts->kernel_cache);
	f->fd = fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC | FAN_NONBLOCK | FAN_UNLIMITED_QUEUE,
	                      O_RDONLY | O_LARGEFILE | O_CLOEXEC);
	if (f->fd < 0) {
		rc = ward_error_set(err, errno == EPERM ? WARD_E_PERM : WARD_E_UNSUPPORTED,
		                    "fanotify_init: %s (needs CAP_SYS_ADMIN and CONFIG_FANOTIFY_ACCESS_PERMISSIONS)",
		                    strerror(errno));
		goto fail;
	}
	if ((f->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
		rc = ward_error_set(err, WARD_E_IO, "eventfd: %s", strerror(errno));
		goto fail;
	}
	if (opts->watch == NULL || opts->watch[0] == NULL) {
		if ((rc = mark_all_local(f, opts->mount_marks, err)) != WARD_OK)
			goto fail;
	}
	for (size_t i = 0; opts->watch && opts->watch[i]; i++) {
		if (mark_fs(f, opts->watch[i], opts->mount_marks) != 0) {
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
