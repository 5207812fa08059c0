/*
 * The values that travel through the decision pipeline: the file key the caches use,
 * the verdict decide() returns, and the reasons a verdict can have.
 */
#ifndef WARD_AGENT_VERDICT_H
#define WARD_AGENT_VERDICT_H

#include <stdbool.h>
#include <stdint.h>

#include "common/filekey.h"
#include "rules/rules.h"
#include "scanner/identity.h"

typedef enum { WARD_ALLOW = 0, WARD_DENY = 1 } ward_decision_t;

/* Why a verdict is what it is. Names (ward_reason_name) appear in the event log,
 * `wardenctl status` and the metrics; keep them stable. */
typedef enum {
	WARD_RSN_RULE = 0,    /* a rule matched (see rule_type / rule_policy) */
	WARD_RSN_TRUSTED,     /* under a TrustedPaths dir, root-owned, safe directory chain */
	WARD_RSN_MODE,        /* no rule: the mode decided (MONITOR allow, LOCKDOWN deny) */
	WARD_RSN_SELF,        /* the agent's own process */
	WARD_RSN_DEADLINE,    /* the decision budget ran out: fallback verdict */
	WARD_RSN_QUEUE_FULL,  /* no room in the queue: fallback verdict at once */
	WARD_RSN_ERROR,       /* file unreadable or vanished: decided as unknown, not cached */
	WARD_RSN_SCAN,        /* the YARA scan decided (issue 6) */
	WARD_RSN_STOPPING,    /* answered while the agent shuts down */
	WARD_RSN_NO_POLICY,   /* an OPEN no file-access policy covers */
	WARD_RSN_FILE_ACCESS, /* an OPEN a watch item decided (record: faa_item) */
	WARD_RSN_GROUND,      /* the BPF ground decided: a filesystem fanotify cannot see
	                         (user-namespace mount, memfd) (agent/backends/bpfground.h) */
	WARD_RSN_PATH_BLOCKED, /* BlockedPathRegex matched (no rule decided): deny in every mode */
	WARD_RSN_PATH_ALLOWED, /* AllowedPathRegex matched (no rule decided): allow, never cached */
	WARD_RSN_BAD_SIGNATURE,/* EnableBadSignatureProtection: an invalid code signature, no rule */
	WARD_RSN_CHANGED,     /* the BPF ground: the program changed after its ALLOW, before
	                         execve denied writes to it */
	WARD_RSN__COUNT
} ward_reason_t;


/* What decide() returns. Small and fixed-size: it is also what the cache stores. The
 * SHA-256 and CDHash ride along so that a cache hit is logged with the identity it was
 * decided for (the cache is keyed by file, not by content). */
typedef struct ward_verdict {
	ward_decision_t decision;
	ward_reason_t reason;
	uint32_t allowed;  /* OPEN: WARD_ACC_* allowed */
	bool cacheable;   /* may go to the user-space cache (and, if ALLOW, the kernel's) */
	bool cached;      /* came from the user-space cache */
	bool silent;      /* SILENT_BLOCKLIST: deny without a user-facing message */
	bool compiler;    /* ALLOWLIST_COMPILER matched */
	bool has_rule;
	bool scan_pending; /* the YARA scan ran out of its budget: the mode decided, not cached */
	bool quiet;       /* never logged (file access: a plain ALLOW, or over the log budget) */
	bool audit;       /* file access: an AuditOnly violation, allowed and logged */
	ward_rule_type_t rule_type;
	ward_policy_t rule_policy;
	int64_t rule_id;
	bool has_sha256;
	uint8_t sha256[WARD_SHA256_LEN];
	bool has_cdhash;
	uint8_t cdhash[WARD_CDHASH_LEN];
} ward_verdict_t;

const char *ward_reason_name(ward_reason_t r);
const char *ward_decision_name(ward_decision_t d); /* "ALLOW" / "DENY" */

#endif
