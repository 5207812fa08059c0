/*
 * The agent's file-access authorization: the FileAccessPolicy in force, the opener
 * identities it has computed (once per executable), the plain ALLOWs it may reuse, the
 * counters per watch item, and the budget of event-log records. decide() hands every
 * OPEN event here; `wardenctl status` reads the counters.
 *
 * Caching follows Santa: only a plain ALLOW of a watched file is remembered, keyed by
 * the file (dev, ino, ctime, size, path), the opener (its executable's key and path:
 * everything a Processes entry can name follows from them) and the access, so an answer
 * for one process never serves another that the policy treats differently. DENY and
 * AUDIT are never remembered. A new policy forgets everything.
 *
 * Thread-safe; never blocks on disk except to read an opener's executable the first
 * time it is seen (its SHA-256), which the deadline keeper bounds as any decision.
 */
#ifndef WARD_AGENT_FILEACCESS_H
#define WARD_AGENT_FILEACCESS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "agent/engine/verdict.h"
#include "common/error.h"
#include "profiles/config.h"
#include "rules/faa.h"

typedef struct ward_fileaccess ward_fileaccess_t;

ward_err_t ward_fileaccess_create(ward_fileaccess_t **out, ward_error_t *err);
void ward_fileaccess_destroy(ward_fileaccess_t *fa); /* NULL ok */

/*
 * Put policy p in force (a reference is taken; NULL: no policy) with the trusted paths
 * of cfg (made canonical here) for PlatformBinary. Forgets every cached ALLOW and
 * starts new counters. Returns whether the policy differs from the one in force (the
 * caller then flushes the kernel's ignore marks).
 */
bool ward_fileaccess_set(ward_fileaccess_t *fa, ward_faa_t *p, const ward_config_t *cfg);

/* Whether a policy with at least one watch item is in force. */
bool ward_fileaccess_active(ward_fileaccess_t *fa);

/* Whether a file directly in dir could be watched (ward_faa_dir_may_watch on the
 * policy in force). */
bool ward_fileaccess_dir_may_watch(ward_fileaccess_t *fa, const char *dir);

/* Whether some watch item could decide an open of path, by any opener (NULL fa: no). */
bool ward_fileaccess_may_cover(ward_fileaccess_t *fa, const char *path);

typedef struct ward_fa_request {
	const char *path;     /* the target's path as the kernel resolved it */
	bool key_ok;
	ward_filekey_t key;   /* the target */
	uint32_t access;      /* WARD_FAA_*; 0: the platform cannot tell (decided as a
	                         read-write open) */
	pid_t pid;            /* the opener (a thread id is fine): its executable is read
	                         through /proc/<pid>/exe */
} ward_fa_request_t;

typedef struct ward_fa_verdict {
	ward_faa_result_t r;  /* outcome, item, allowed flags, why; its strings point into
	                         this verdict (event_detail_text is not kept) */
	char item[WARD_FAA_MAX_NAME + 1];
	char block_message[WARD_FAA_MAX_MESSAGE + 1];
	char event_detail_url[1024];
	bool cached;          /* a remembered ALLOW */
	bool log;             /* write an event-log record (DENY/AUDIT within the budget) */
	bool opener_ok;
	char opener_path[WARD_MAX_PATH];
	bool has_sha256;
	uint8_t opener_sha256[32];
	char policy_version[WARD_FAA_MAX_VERSION + 1];
} ward_fa_verdict_t;

/* Decide an open. Never fails: an opener whose executable cannot be read is matched
 * by no Processes entry (so PathsWithAllowedProcesses denies it). */
void ward_fileaccess_decide(ward_fileaccess_t *fa, const ward_fa_request_t *rq,
                            ward_fa_verdict_t *out);

/*
 * Status (a new reference): {"active", "version", "items": [{"name", "rule_type",
 * "audit_only", "allow_read_access", "paths": n, "processes": n, "allowed", "audited",
 * "denied"}], "cache_hits", "decisions", "log_dropped", "identity_errors"}.
 */
json_t *ward_fileaccess_status(ward_fileaccess_t *fa);

/* ---------------------------------------------------------------- warden's own files */

/* What the built-in watch items protect; any member may be NULL or "" (not protected). */
typedef struct ward_fa_self {
	const char *db;           /* the rule database (a prefix: its -journal and -wal too) */
	const char *lastgood;     /* the last good configuration */
	const char *conf_file;    /* warden.conf */
	const char *profile_dir;  /* the profiles directory */
	const char *faa_plist;    /* FileAccessPolicyPlist */
	const char *event_log;    /* EventLogPath */
	const char *const *yara;  /* YaraRulesPaths (globs), NULL-terminated */
	const char *wardend;      /* the agent's executable */
	const char *wardenctl;    /* wardenctl's executable: the one other program allowed */
} ward_fa_self_t;

/*
 * The effective policy: the user's FileAccessPolicy dictionary (NULL: none) plus the
 * built-in items "warden:config", "warden:state", "warden:eventlog", "warden:yara",
 * "warden:binaries": PathsWithAllowedProcesses, AllowReadAccess, enforcing (AuditOnly
 * false); the only process listed is wardenctl (by path and SHA-256); the agent's own
 * opens are never asked about. A user item whose name starts with "warden:" is refused.
 * *out is a new policy (ward_faa_free) or NULL with err set.
 */
ward_err_t ward_fileaccess_policy(const json_t *user, const ward_fa_self_t *self,
                                  ward_faa_t **out, ward_error_t *err);

#endif
