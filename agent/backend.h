/*
 * The backend interface: the one header a platform implements. A backend turns kernel
 * events into ward_event_t (events in) and turns one ward_answer_t per permission event
 * into the kernel's response (answers out). The engine (agent/engine/) never sees a
 * platform type; the backends never decide.
 *
 *   agent/backends/fanotify.c   Linux: fanotify(7) permission events
 *   agent/backends/es.c         macOS: EndpointSecurity (AUTH_EXEC, AUTH_OPEN)
 *   tests/unit/fakebackend.h    the test double the engine's unit tests drive
 *
 * To add a backend: fill a struct ward_backend_ops, deliver events to the sink with
 * every field below that the platform knows (and no guess for those it does not), answer
 * in respond() exactly as told, and give the event back in release().
 */
#ifndef WARD_AGENT_BACKEND_H
#define WARD_AGENT_BACKEND_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "agent/engine/verdict.h"
#include "common/limits.h"
#include "common/error.h"

typedef enum {
	WARD_EV_EXEC = 1,     /* permission: may this file be executed? */
	WARD_EV_OPEN = 2,     /* permission: may this file be opened with ev->access? */
	WARD_EV_MODIFIED = 3, /* notification: the file was written (closed after writing,
	                         ES NOTIFY_CLOSE modified, truncated); no answer */
	WARD_EV_RENAME = 4,   /* notification: the file was renamed (ES); no answer */
	WARD_EV_UNLINK = 5,   /* notification: the file was unlinked (ES); no answer */
	WARD_EV_EXIT = 6,     /* notification: the subject process exited (ES); no answer */
	WARD_EV_SCAN = 7,     /* never from a backend: an event-log record of a YARA verdict
	                         that arrived after its exec was decided (agent/yarascan.c) */
} ward_event_kind_t;

/* Whether an event of this kind waits for an answer. */
static inline bool ward_event_is_perm(ward_event_kind_t k)
{
	return k == WARD_EV_EXEC || k == WARD_EV_OPEN;
}

/* Access requested by an OPEN (ev->access) and allowed by its answer (answer.allowed). */
#define WARD_ACC_READ  0x1u
#define WARD_ACC_WRITE 0x2u

/*
 * The process an event is about. pidversion tells two processes with the same pid
 * apart: ES's audit-token pidversion, Linux's start time in clock ticks since boot
 * (/proc/<pid>/stat field 22). 0 means the backend does not know it (yet).
 */
typedef struct ward_subject {
	pid_t pid;
	uint64_t pidversion;
	bool creds_ok;        /* uid and gid are known */
	uid_t uid;            /* effective uid */
	gid_t gid;
	bool exe_ok;          /* exe is known */
	ward_filekey_t exe;   /* the file the process runs */
} ward_subject_t;

/*
 * What a kernel already verified about the target's code signature (ES: es_process_t
 * of the exec'd image: cdhash, team_id, signing_id, is_platform_binary,
 * codesigning_flags). With hints, decide() matches CDHASH, SIGNINGID and TEAMID rules
 * without reading the file; it reads the file only if a BINARY rule or a scan needs
 * its bytes.
 */
typedef struct ward_id_hints {
	bool has_cdhash;
	uint8_t cdhash[WARD_CDHASH_LEN];
	char team_id[WARD_MAX_TEAM_ID + 1];        /* "" when none */
	char signing_id[WARD_MAX_SIGNING_ID + 1];  /* "" when none */
	bool platform;        /* an Apple platform binary */
	bool signature_valid; /* the kernel validated the signature (CS_VALID) */
	uint32_t cs_flags;
} ward_id_hints_t;

/*
 * One event. The backend owns fd and path; the engine gives every event back with
 * ops->release exactly once (a permission event after it has been answered).
 */
typedef struct ward_event {
	ward_event_kind_t kind;
	ward_subject_t proc;  /* who asked (OPEN: the opener; EXEC: the process calling exec) */
	int fd;               /* the target, opened for us by the kernel (-1: none) */
	const char *path;     /* the target's path if the kernel reported it (NULL: ask
	                         ops->path); valid until release */
	bool key_ok;          /* key, st_uid and st_mode are valid */
	ward_filekey_t key;
	uint32_t st_uid;      /* owner and mode of the target */
	uint32_t st_mode;
	uint32_t access;      /* OPEN: WARD_ACC_* requested (0: the kernel cannot tell) */
	uint64_t t_recv_ns;   /* CLOCK_MONOTONIC when the backend read the event */
	uint64_t deadline_ns; /* CLOCK_MONOTONIC by which the answer must be written: the
	                         kernel's (ES, less headroom; 0: none), then the engine
	                         makes it t_recv + DecisionBudgetMs if that is earlier */
	const ward_id_hints_t *hints; /* NULL: none; valid until release */
	uint64_t cookie;      /* backend-private (ES: the retained message) */
} ward_event_t;

/* The answer to one permission event: everything the kernel is told, in one call. */
typedef struct ward_answer {
	ward_decision_t decision;
	uint32_t allowed;     /* OPEN: WARD_ACC_* allowed (ES flags result); 0 for EXEC */
	bool cache;           /* the kernel may remember this answer until the file is
	                         modified; the engine sets it only for plain ALLOWs and only
	                         while no flush happened since the verdict's snapshot */
	bool cache_opens;     /* EXEC with cache: the kernel may also stop asking about opens
	                         of this file (no watch item can cover its path, and a program
	                         check of an open would allow it as this exec) */
} ward_answer_t;

/* The process details the event log wants (parent, uid, command line). */
typedef struct ward_procinfo {
	bool ok;                /* read */
	pid_t ppid;
	uid_t uid;              /* real uid */
	pid_t sid;              /* session id (0: unknown) */
	uint32_t tty;           /* controlling terminal as a device number, /proc/<pid>/stat
	                           tty_nr (0: none or unknown); read while a denied exec waits */
	uint64_t start_time;    /* Linux: /proc/<pid>/stat starttime (0: unknown) */
	bool argv_is_caller;    /* argv is the caller's (Linux: read before the exec
	                           completes), not the new program's (ES) */
	size_t argv_len;        /* bytes of argv used (NUL-separated strings) */
	bool argv_truncated;
	bool argv_not_read;     /* not read on purpose: the event reader never reads another
	                           process's memory (ward_thread_no_waits) */
	char argv[WARD_EVLOG_MAX_ARGV];
} ward_procinfo_t;

typedef struct ward_backend ward_backend_t;

/* ops->proc_fill: what to fill. */
#define WARD_PROC_CREDS   0x1u
#define WARD_PROC_VERSION 0x2u
#define WARD_PROC_EXE     0x4u
/* ops->proc_state: answers. */
enum { WARD_PROC_OTHER = 0, WARD_PROC_SAME, WARD_PROC_GONE };

/*
 * Called by the backend's reader thread for every event. The sink answers permission
 * events itself (cache hits, the agent's own pid, a full queue) or hands them to a
 * worker; it never blocks on disk, logging or a lock held across a decision.
 */
typedef void (*ward_event_sink_fn)(void *arg, ward_event_t *ev);

/* The answer was not written because the target changed while it was decided; the
 * engine decides again (fanotify: content changed before the cache mark held). */
#define WARD_RESPOND_STALE WARD_E_BUSY

struct ward_backend_ops {
	const char *name;
	/* Read events and pass each to sink until ops->stop. Returns on stop or fatal error. */
	ward_err_t (*run)(ward_backend_t *b, ward_event_sink_fn sink, void *arg, ward_error_t *err);
	/* Make run() return soon. Thread-safe. */
	void (*stop)(ward_backend_t *b);
	/*
	 * Answer a permission event. Thread-safe; the engine calls it once per event (once
	 * more only after WARD_RESPOND_STALE, which means nothing was written). With
	 * a->cache the backend also makes the kernel remember the answer, and must make sure
	 * that a modification after the verdict's content check cannot leave it remembered.
	 */
	ward_err_t (*respond)(ward_backend_t *b, const ward_event_t *ev, const ward_answer_t *a);
	/* Forget every answer the kernel remembers (rule, mode or config change). */
	void (*cache_flush)(ward_backend_t *b);
	/* Path of the target (for trusted paths and the log). False if none. */
	bool (*path)(ward_backend_t *b, const ward_event_t *ev, char *buf, size_t len);
	/* Details of the subject for the log: before the answer for a logged denial, after
	 * it for a logged ALLOW (the process may run the new program by then: say whose
	 * argv it is, argv_is_caller, or leave it empty). False if unknown. NULL ok. */
	bool (*proc_info)(ward_backend_t *b, const ward_event_t *ev, ward_procinfo_t *out);
	/* Fill what the backend left out of ev->proc because it costs a lookup (fanotify:
	 * /proc): WARD_PROC_CREDS (creds_ok, uid, gid), WARD_PROC_VERSION (pidversion),
	 * WARD_PROC_EXE (exe_ok, exe). Best effort. NULL: the events are always complete. */
	void (*proc_fill)(ward_backend_t *b, ward_event_t *ev, unsigned what);
	/* Whether pid is still the process pidversion names, running exe: WARD_PROC_SAME,
	 * WARD_PROC_GONE (no such process, or a zombie) or WARD_PROC_OTHER. NULL: OTHER. */
	int (*proc_state)(ward_backend_t *b, pid_t pid, uint64_t pidversion, const ward_filekey_t *exe);
	/* Report WARD_EV_MODIFIED for every file written on the watched filesystems (on) or
	 * stop (off). False on failure. NULL: the backend always reports them (ES). */
	bool (*watch_writes)(ward_backend_t *b, bool on);
	/*
	 * Report WARD_EV_OPEN for the files of the filesystems (fanotify: or mounts) that
	 * hold paths (NULL-terminated; NULL or empty: none) and, with exec_filesystems, of
	 * every filesystem execs are watched on (programs loaded without an exec: the
	 * loader, interpreters); forget every directory the kernel was told to stop
	 * reporting. For an OPEN, answer.cache means: no watch item
	 * can reach any file of the target's directory, so the kernel may stop reporting
	 * opens there until the next watch_opens. The agent's own opens are answered by the
	 * backend itself. False if a path could not be marked. NULL: no OPEN events.
	 */
	bool (*watch_opens)(ward_backend_t *b, const char *const *paths, bool exec_filesystems);
	/* Give the event back (closes fd, releases the message). */
	void (*release)(ward_backend_t *b, ward_event_t *ev);
	/* Close the client: the kernel allows whatever is still pending. NULL ok. */
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
	_Atomic uint64_t stale;       /* answers withheld because the target changed */
	atomic_bool cache_evictable;  /* the kernel's remembered answers do not pin memory */
	/* The engine's event reader may decide a small cold exec itself (no thread hand-off):
	 * the backend's run() tolerates a sink that takes a few tens of microseconds, and the
	 * targets' reads can be tried without waiting (ward_nowait_begin). */
	bool reader_decides;
};

/* ---- the Linux backend (agent/backends/fanotify.c) ---- */
typedef struct ward_fanotify_opts {
	const char *const *watch; /* paths whose filesystems are marked; NULL-terminated */
	bool kernel_cache;        /* honour answer.cache with inode ignore marks */
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

#endif
