/*
 * The ground under fanotify (Linux): a BPF LSM program on bprm_check_security that
 * decides the execs fanotify marks cannot see, namely programs on filesystems mounted
 * in a non-initial user namespace and programs on kernel-internal mounts (memfd). In
 * LOCKDOWN they fail with EPERM; in MONITOR they run; either way each is reported to
 * the agent, which logs it. The program and its maps are in bpfground.bpf.c.
 *
 * Lifetime: the program is attached through a BPF link whose only reference is a file
 * descriptor of this process; when the process exits by any path (a clean stop, a
 * crash, SIGKILL) the kernel closes it and detaches the program. Nothing is pinned.
 */
#ifndef WARD_AGENT_BPFGROUND_H
#define WARD_AGENT_BPFGROUND_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"
#include "common/filekey.h"
#include "profiles/config.h"

typedef struct ward_bpfground ward_bpfground_t;

typedef enum {
	WARD_GROUND_ACTIVE = 0,   /* attached and deciding */
	WARD_GROUND_DISABLED,     /* not asked for (--no-ground) */
	WARD_GROUND_UNAVAILABLE,  /* the kernel does not run the BPF LSM */
	WARD_GROUND_FAILED,       /* loading or attaching failed (reason says why) */
} ward_ground_state_t;

/* One exec the program decided, as the reader thread hands it to the report callback. */
typedef struct ward_ground_report {
	pid_t pid;
	uid_t uid;
	bool denied;
	bool userns;             /* true: a user-namespace filesystem; false: kernel-internal */
	bool changed;            /* a program changed after the agent allowed it (neither above) */
	uint64_t dev, ino;
	char comm[17];
	char fstype[17];
	char filename[161];
} ward_ground_report_t;

typedef void (*ward_ground_report_fn)(void *arg, const ward_ground_report_t *r);

typedef struct ward_bpfground_opts {
	bool disabled;             /* do not load anything: state DISABLED */
	const uint32_t *scope_uids; /* decide only execs by these real uids (tests); */
	size_t nscope;              /* 0: every uid (production) */
	ward_mode_t mode;          /* the mode to start in */
	ward_ground_report_fn report; /* called on the reader thread; NULL: count only */
	void *report_arg;
} ward_bpfground_opts_t;

/*
 * Load, configure and attach the program. A kernel without the BPF LSM or a load that
 * fails is not an error: the handle then says so (state, reason) and does nothing
 * else. Returns WARD_E_NOMEM (and *out NULL) only when out of memory; otherwise *out is
 * a handle the caller destroys. Never prints (libbpf's messages go to the reason).
 */
ward_err_t ward_bpfground_open(const ward_bpfground_opts_t *opts, ward_bpfground_t **out,
                               ward_error_t *err);

/* Start the thread that reads the program's reports (after a daemon's fork). No-op
 * unless ACTIVE. */
ward_err_t ward_bpfground_start(ward_bpfground_t *g, ward_error_t *err);

/*
 * The agent answers ALLOW to the exec of key's file and nothing will remember it (a
 * file a user other than root can write). Call BEFORE the answer is written: the
 * program then compares the file at exec time, write-denied, with key's ctime and size
 * and stops (LOCKDOWN) or reports a program rewritten in between. forget: the agent
 * allowed the file as one only root can write (kernel-cached): drop any entry, so a
 * later exec the agent never sees is not judged against it. Thread-safe, never blocks
 * on the agent (one map syscall); no-op unless ACTIVE.
 */
void ward_bpfground_note_allow(ward_bpfground_t *g, const ward_filekey_t *key, bool forget);

/* Set the mode (call on every policy publish). Thread-safe; no-op unless ACTIVE. */
void ward_bpfground_set_mode(ward_bpfground_t *g, ward_mode_t mode);

ward_ground_state_t ward_bpfground_state(const ward_bpfground_t *g);
const char *ward_bpfground_state_name(ward_ground_state_t s); /* "active", ... */
/* Why the ground is not active ("" when it is). */
const char *ward_bpfground_reason(const ward_bpfground_t *g);

/*
 * The "ground" object of status: state, reason, warning (when not active: what is
 * open and the sysctls that close it), lsm (whether the kernel lists bpf: true, false,
 * null = unknown), scoped uids, counters (calls, unseen, changed, denied, lost,
 * reported, noted).
 */
json_t *ward_bpfground_status_json(const ward_bpfground_t *g);

/* Stop the reader, detach and unload. NULL ok. */
void ward_bpfground_destroy(ward_bpfground_t *g);

#endif
