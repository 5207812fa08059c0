/*
 * Confinement of the threads that parse hostile bytes (Mach-O and CMS in identity
 * reading, YARA scans, the files users name in requests, decisions): a seccomp allowlist
 * applied to the calling thread only (not SECCOMP_FILTER_FLAG_TSYNC), after the thread
 * has opened what it needs. What a parser never needs and an exploit wants (exec,
 * fork/clone of processes, ptrace, mount, credential changes, module loading, bpf) kills the whole process at once (SECCOMP_RET_KILL_PROCESS): no half-dead agent,
 * the kernel releases every process waiting on a fanotify answer when the group's fd
 * closes, systemd restarts the service (Restart=always) and the next start counts the
 * unclean exit (ward_crashes_*). Opening files (parsers) and creating or connecting
 * sockets return EACCES instead (a library's lazy configuration read, or syslog(3)
 * reconnecting, fails cleanly); any other syscall outside the allowlist kills too.
 *
 * Disabled with WARDEN_NO_SECCOMP=1 in the environment (debugging only; status says so).
 */
#ifndef WARD_AGENT_CONFINE_H
#define WARD_AGENT_CONFINE_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

typedef enum {
	WARD_CONFINE_PARSER = 0, /* reads an open fd, hashes, parses, waits on futexes */
	WARD_CONFINE_SCAN,       /* a YARA scan worker: the parser's set plus priorities */
	WARD_CONFINE_DECIDE,     /* a decision worker: also answers the kernel (write to the
	                            fanotify fd, fanotify_mark for the kernel cache), fstatat
	                            and readlink for trusted paths, openat for identity */
	WARD_CONFINE_LOADER,     /* the configuration loader: opens and lists the sources,
	                            parses plist/.mobileconfig/CMS/JSON */
	WARD_CONFINE__COUNT
} ward_confine_kind_t;

/*
 * Confine the calling thread as kind. Returns true when the filter is in force; false
 * (and the thread runs unconfined) when seccomp is unavailable or disabled; the count of
 * each is in ward_confine_status. Call once per thread, never on the main thread.
 */
bool ward_confine_thread(ward_confine_kind_t kind);

/* {"enabled": bool, "confined_threads": n, "failures": n} */
json_t *ward_confine_status(void);

/*
 * Unclean-exit counter kept in state_dir (the directory of the rule store): at start,
 * a "running" marker left by the previous run means it did not stop cleanly (crash,
 * SIGSYS from a confined thread, SIGKILL): the count in "unclean-exits" goes up and the
 * time is kept. ward_crashes_clean_exit removes the marker. Errors are logged, never
 * fatal. ward_crashes_status: {"unclean_exits": n, "last_unclean_exit": unix s | null}.
 */
void ward_crashes_start(const char *state_dir);
void ward_crashes_clean_exit(void);
json_t *ward_crashes_status(void);

#endif
