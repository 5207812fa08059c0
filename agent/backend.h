/*
 * The backend interface: a platform turns kernel permission events into ward_event_t
 * (events in) and turns verdicts into kernel responses (verdicts out). decide() never
 * sees a platform type; the backends never decide. agent/backends/fanotify.c is the Linux
 * backend; the EndpointSecurity one (agent/es.c) implements the same operations.
 */
#ifndef WARD_AGENT_BACKEND_H
#define WARD_AGENT_BACKEND_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "agent/engine/verdict.h"
#include "common/error.h"

typedef enum {
	WARD_EV_EXEC = 1,    /* permission: may this file be executed? */
	WARD_EV_OPEN = 2,    /* permission: may this file be opened? */
	WARD_EV_WRITTEN = 3, /* notification: pid closed this file after writing (no answer) */
	WARD_EV_SCAN = 4,    /* never from a backend: an event-log record of a YARA verdict
	                        that arrived after its exec was decided (agent/yarascan.c) */
} ward_event_kind_t;

/* One permission event. The backend owns fd; the pipeline gives the event back with
 * ops->release exactly once, after it has been answered. */
typedef struct ward_event {
	ward_event_kind_t kind;
	int fd;               /* the target file, opened for us by the kernel (-1: none) */
	pid_t pid;            /* the process that asked */
	uint64_t t_recv_ns;   /* CLOCK_MONOTONIC when the backend read the event */
	bool key_ok;          /* key is valid (fstat succeeded) */
	ward_filekey_t key;
	uint32_t st_uid;      /* owner and mode of the target, from the same fstat */
	uint32_t st_mode;
	uint64_t cookie;      /* backend-private (ES: the message) */
} ward_event_t;

typedef struct ward_backend ward_backend_t;

/*
 * Called by the backend's reader thread for every permission event. The sink must
 * answer (ops->respond) quickly or hand the event to a worker; it must never block on
 * disk, logging or a lock held across a decision.
 */
typedef void (*ward_event_sink_fn)(void *arg, ward_event_t *ev);

struct ward_backend_ops {
	const char *name;
	/* Read events and pass each to sink until ops->stop. Returns on stop or fatal error. */
	ward_err_t (*run)(ward_backend_t *b, ward_event_sink_fn sink, void *arg, ward_error_t *err);
	/* Make run() return soon. Async-signal-safe is not required; thread-safe is. */
	void (*stop)(ward_backend_t *b);
	/* Answer the kernel. Thread-safe; the pipeline calls it at most once per event. */
	ward_err_t (*respond)(ward_backend_t *b, const ward_event_t *ev, ward_decision_t d);
	/* Ask the kernel to remember an ALLOW for this file until it is modified. */
	void (*cache_allow)(ward_backend_t *b, const ward_event_t *ev);
	/* Forget every verdict the kernel remembers (rule, mode or config change). */
	void (*cache_flush)(ward_backend_t *b);
	/* Path of the target, for trusted-path checks and the log. Returns false if none. */
	bool (*path)(ward_backend_t *b, const ward_event_t *ev, char *buf, size_t len);
	/* Report WARD_EV_WRITTEN events too (on) or stop (off): ALLOWLIST_COMPILER needs to
	 * see what compilers write; nothing else does. Returns false on failure. */
	bool (*watch_writes)(ward_backend_t *b, bool on);
	/* Give the event back (closes fd). */
	void (*release)(ward_backend_t *b, ward_event_t *ev);
	/* Close the group: the kernel allows whatever is still pending. NULL ok. */
	void (*destroy)(ward_backend_t *b);
};

struct ward_backend {
	const struct ward_backend_ops *ops;
	void *priv;
	/* Counters the backend maintains (read by metrics). */
	_Atomic uint64_t overflows;   /* kernel queue overflow events seen */
	_Atomic uint64_t read_errors; /* failed reads of the event stream */
	_Atomic uint64_t mark_errors; /* kernel cache marks that could not be added or flushed,
	                                 and new mounts that could not be marked */
	_Atomic uint64_t mount_rescans; /* mount-table changes seen (every-local-filesystem mode) */
};

/* ---- the Linux backend (agent/backends/fanotify.c) ---- */
typedef struct ward_fanotify_opts {
	const char *const *watch; /* paths whose filesystems are marked; NULL-terminated */
	bool kernel_cache;        /* add inode ignore marks for ALLOW verdicts */
	bool mount_marks;         /* FAN_MARK_MOUNT instead of FAN_MARK_FILESYSTEM */
} ward_fanotify_opts_t;

/*
 * Create a FAN_CLASS_CONTENT group reporting FAN_OPEN_EXEC_PERM on the filesystem of
 * every watch path, or, if watch is empty, on every local filesystem, including the
 * ones mounted later in the caller's mount namespace (marked by run() as they appear).
 * *out NULL on error.
 */
ward_err_t ward_fanotify_open(const ward_fanotify_opts_t *opts, ward_backend_t **out,
                              ward_error_t *err);

/* Whether the running kernel accepted FAN_MARK_EVICTABLE for cache marks. */
bool ward_fanotify_evictable(const ward_backend_t *b);

#endif
