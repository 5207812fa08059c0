/*
 * warden — file-access authorization (Santa's FileAccessPolicy): the policy model and
 * its matcher.
 *
 * A policy is read from the dictionary of a FileAccessPolicy key (inline in a profile)
 * or of a FileAccessPolicyPlist file, both already parsed into one jansson tree:
 *
 *   {Version, EventDetailURL?, EventDetailText?,
 *    WatchItems: {Name: {Paths: [...], Options: {...}?, Processes: [...]?}, ...}}
 *
 * with Santa's meaning for every key (docs/fileaccess.md). Everything is validated
 * before a policy is returned: a malformed watch item is an error, never a warning, and
 * every error is reported with the line it came from (through the caller's line lookup).
 *
 * A policy is immutable once built; ward_faa_match is thread-safe on one policy and does
 * not allocate. The agent swaps in a new policy on reload.
 */
#ifndef WARD_RULES_FAA_H
#define WARD_RULES_FAA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/error.h"
#include "common/limits.h"

typedef struct ward_faa ward_faa_t;

/* Requested / allowed access. Same values as the engine's WARD_ACC_*. */
#define WARD_FAA_READ  0x1u
#define WARD_FAA_WRITE 0x2u

typedef enum {
	WARD_FAA_PATHS_WITH_ALLOWED_PROCESSES = 0, /* the default */
	WARD_FAA_PATHS_WITH_DENIED_PROCESSES,
	WARD_FAA_PROCESSES_WITH_ALLOWED_PATHS,
	WARD_FAA_PROCESSES_WITH_DENIED_PATHS,
} ward_faa_rule_type_t;

/* Santa's spelling of a rule type ("PathsWithAllowedProcesses", ...). Never NULL. */
const char *ward_faa_rule_type_name(ward_faa_rule_type_t t);

/*
 * Where the tree came from, for diagnostics. line(arg, container, key, idx) returns the
 * line of container[key] (object) or container[idx] (array), 0 if unknown; diag(arg,
 * is_error, line, key, message) receives every error and warning, key being the dotted
 * path inside the policy ("WatchItems.Cookies.Paths[2]"). Any member may be NULL.
 */
typedef struct ward_faa_src {
	unsigned long (*line)(void *arg, const json_t *container, const char *key, size_t idx);
	void (*diag)(void *arg, bool is_error, unsigned long line, const char *key, const char *msg);
	void *arg;
	bool linux_notes;        /* warn per item about keys no Linux process can match */
	unsigned long root_line; /* line of the policy dictionary itself (missing keys) */
} ward_faa_src_t;

/*
 * Validate policy (the FileAccessPolicy dictionary) and build *out. On any error *out is
 * NULL, every error went to src->diag, and err holds the first one as
 * "line N: Key.Path: message" (or "Key.Path: message" when the line is unknown).
 * src may be NULL. The caller frees *out with ward_faa_free.
 */
ward_err_t ward_faa_parse(const json_t *policy, const ward_faa_src_t *src, ward_faa_t **out,
                          ward_error_t *err);

/* Policies are reference-counted so a decision in flight keeps the one it started
 * with across a reload: ward_faa_ref takes a reference, ward_faa_free drops one and
 * frees on the last. Both NULL ok; thread-safe. */
ward_faa_t *ward_faa_ref(ward_faa_t *p);
void ward_faa_free(ward_faa_t *p);

/* Version string of the policy; never NULL. */
const char *ward_faa_version(const ward_faa_t *p);

/* Number of watch items (sorted by name). */
size_t ward_faa_nitems(const ward_faa_t *p);

/* Everything about item i (0 <= i < nitems), as JSON (a new reference):
 * {"name", "rule_type", "audit_only", "allow_read_access", "silent", "silent_tty",
 *  "block_message", "event_detail_url", "event_detail_text",
 *  "paths": [{"path", "prefix"}], "processes": [{key: value}]}. */
json_t *ward_faa_item_json(const ward_faa_t *p, size_t i);

/* Name of item i; never NULL. */
const char *ward_faa_item_name(const ward_faa_t *p, size_t i);

/* Every (pattern, is_prefix) of the policy, for planning kernel marks: fn is called once
 * per configured path in item order. */
void ward_faa_foreach_path(const ward_faa_t *p,
                           void (*fn)(void *arg, size_t item, const char *pattern, bool prefix),
                           void *arg);

/* True when some item is ProcessesWithAllowedPaths: its processes must be checked on
 * every open, not only on opens of the listed paths. */
bool ward_faa_needs_all_opens(const ward_faa_t *p);

/* Whether any item could decide an open of path by some opener (a path of any item
 * matches it, or a ProcessesWithAllowedPaths item exists): false means UNWATCHED for
 * every opener, so the opener need not be identified. */
bool ward_faa_path_may_apply(const ward_faa_t *p, const char *path);

/*
 * Whether a file directly inside directory dir (absolute, canonical) could be watched
 * by some item: false lets the kernel ignore every open of dir's files (fanotify: an
 * ignore mark with FAN_EVENT_ON_CHILD on dir) until the policy changes. Always true
 * when a ProcessesWithAllowedPaths item exists (its processes are checked everywhere).
 */
bool ward_faa_dir_may_watch(const ward_faa_t *p, const char *dir);

/*
 * The identity of the process that opens a file. Every pointer may be NULL (unknown or
 * absent); hashes are raw bytes. On Linux only path, sha256 and platform are known.
 */
typedef struct ward_faa_proc {
	const char *path;          /* its executable's path */
	const uint8_t *sha256;     /* 32 bytes: the executable's SHA-256 */
	const uint8_t *cdhash;     /* 20 bytes */
	const uint8_t *cert_sha256;/* 32 bytes: leaf certificate */
	const char *team_id;
	const char *signing_id;
	bool platform;             /* a platform binary (Linux: a TrustedPaths executable) */
} ward_faa_proc_t;

typedef enum {
	WARD_FAA_UNWATCHED = 0, /* no item covers this open: allow, nothing to log */
	WARD_FAA_ALLOW,         /* an item covers it and allows it */
	WARD_FAA_AUDIT,         /* a violation of an AuditOnly item: allow and log */
	WARD_FAA_DENY,          /* a violation: deny (and log) */
} ward_faa_outcome_t;

#define WARD_FAA_WHY_MAX 320

typedef struct ward_faa_result {
	ward_faa_outcome_t outcome;
	uint32_t allowed;     /* WARD_FAA_* the opener may have (DENY: READ when the item
	                         allows reads, else 0; otherwise READ|WRITE) */
	int item;             /* the deciding item, -1 when UNWATCHED */
	const char *item_name;/* its name ("" when UNWATCHED); lives as long as the policy */
	bool cacheable;       /* a plain ALLOW that depends only on (file, opener's identity,
	                         access): DENY and AUDIT never are */
	bool silent, silent_tty;
	const char *block_message;      /* "" = none; live as long as the policy */
	const char *event_detail_url;   /* the item's, else the policy's; "" = none */
	const char *event_detail_text;
	char why[WARD_FAA_WHY_MAX];     /* one sentence: which item, which path, which entry */
} ward_faa_result_t;

/*
 * Decide an open of path (absolute, as the kernel resolved it) by proc for access
 * (WARD_FAA_READ and/or WARD_FAA_WRITE; 0 counts as READ). The data-centric item with
 * the longest match of the path decides for the paths; every process-centric item whose
 * processes match proc decides for the process; the strictest outcome wins
 * (DENY > AUDIT > ALLOW). p NULL: UNWATCHED. Never allocates.
 */
void ward_faa_match(const ward_faa_t *p, const char *path, const ward_faa_proc_t *proc,
                    uint32_t access, ward_faa_result_t *out);

/*
 * Whether the glob pattern (Santa's glob(3) subset: '*', '?', '[...]'; '*' and '?'
 * never match '/') matches path: the whole path, or with prefix a leading part of it
 * (a string prefix, as Santa's prefix tree). Returns the number of path bytes matched
 * (> 0), or 0 when it does not match.
 */
size_t ward_faa_glob_match(const char *pattern, const char *path, bool prefix);

#endif
