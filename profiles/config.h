/*
 * warden — the effective configuration. Built from one jansson tree (warden.conf is
 * JSON; profiles are plists parsed into the same tree shape), validated completely before
 * it is used, and swapped in whole. Key names are the profile keys (docs/profiles.md).
 */
#ifndef WARD_PROFILES_CONFIG_H
#define WARD_PROFILES_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "common/error.h"
#include "common/limits.h"
#include "rules/faa.h"
#include "rules/rules.h"

typedef enum { WARD_MODE_MONITOR = 1, WARD_MODE_LOCKDOWN = 2 } ward_mode_t;

#define WARD_MAX_TRUSTED_PATHS 32
#define WARD_MAX_PATH 1024

/* ExceptionPolicy: what an approver may grant for an exception request. */
typedef struct ward_exception_policy {
	bool enabled;               /* Enabled: users may file requests, default true */
	char approver_group[64];    /* ApproverGroup: "" = AdminGroup (and root) */
	uint32_t allowed_scopes;    /* AllowedScopes: bit (1u << ward_rule_type_t);
	                               default CDHASH, BINARY, SIGNINGID */
	uint32_t max_expiry_s;      /* MaxExpirySeconds: longest expiry an approval may set,
	                               default 2592000 (30 days) */
} ward_exception_policy_t;

/* Fleet sync (warden-sync, docs/sync.md): Santa's key names. */
typedef struct ward_sync_config {
	char base_url[WARD_MAX_SYNC_URL + 1]; /* SyncBaseURL: https://...; "" = no sync */
	char machine_id[WARD_MAX_MACHINE_ID + 1]; /* MachineID; "" = MachineIDPlist, else /etc/machine-id */
	char machine_id_plist[WARD_MAX_PATH]; /* MachineIDPlist: a plist holding it under MachineIDKey */
	char machine_id_key[WARD_MAX_MACHINE_ID + 1]; /* MachineIDKey */
	char machine_owner[WARD_MAX_MACHINE_ID + 1]; /* MachineOwner: primary_user in preflight */
	char client_cert[WARD_MAX_PATH];  /* ClientAuthCertificateFile: PEM (mutual TLS) */
	char client_key[WARD_MAX_PATH];   /* ClientAuthKeyFile: PEM; "" = in the certificate file */
	char server_roots[WARD_MAX_PATH]; /* ServerAuthRootsFile: the only CAs trusted (pinning) */
	char extra_headers[WARD_MAX_SYNC_HEADERS + 1]; /* SyncExtraHeaders: "Name: value\n" lines */
	uint32_t full_sync_interval_s;    /* FullSyncInterval, default 600, at least 60 */
	char user[64];                    /* SyncUser: the account warden-sync runs as, default
	                                     "warden-sync"; it may apply synced rules */
} ward_sync_config_t;

/* What the user of a denied program is told on their terminal (agent/ttymsg.c,
 * docs/agent.md "Telling the user"): Santa's key names. */
typedef struct ward_notify_config {
	bool silent_mode;                 /* EnableSilentMode: no user-facing message at all */
	bool silent_tty_mode;             /* EnableSilentTTYMode: no terminal line */
	char event_detail_url[WARD_MAX_DETAIL_URL + 1];   /* EventDetailURL ("" none) */
	char event_detail_text[WARD_MAX_DETAIL_TEXT + 1]; /* EventDetailText ("" = "More info") */
	char banned_block_message[WARD_MAX_BLOCK_TEXT + 1];  /* BannedBlockMessage ("" = default) */
	char unknown_block_message[WARD_MAX_BLOCK_TEXT + 1]; /* UnknownBlockMessage ("" = default) */
} ward_notify_config_t;

typedef struct ward_config {
	ward_mode_t mode;                 /* ClientMode, default MONITOR */
	bool fail_closed;                 /* FailClosed, default false */
	uint32_t decision_budget_ms;      /* DecisionBudgetMs, default 5000 */
	unsigned ntrusted_paths;
	char trusted_paths[WARD_MAX_TRUSTED_PATHS][WARD_MAX_PATH]; /* TrustedPaths */
	char event_log_path[WARD_MAX_PATH]; /* EventLogPath, default /var/log/warden/events.jsonl */
	bool event_log_allows;            /* EventLogAllows, default false */
	char admin_group[64];             /* AdminGroup, default "" (root only) */
	uint32_t scan_budget_ms;          /* ScanBudgetMs, default 1000 */
	uint64_t scan_max_bytes;          /* ScanMaxBytes, default 256 MiB */
	/* AllowedPathRegex / BlockedPathRegex: Santa's ICU syntax, the subset PCRE2 expresses
	 * (profiles/pathregex.h), "" = unset. The agent compiles them once per policy
	 * snapshot and enforces them after the rules (agent/engine/decide.c). */
	char allowed_path_regex[WARD_MAX_PATH_REGEX + 1];
	char blocked_path_regex[WARD_MAX_PATH_REGEX + 1];
	unsigned nyara_rules_paths;       /* YaraRulesPaths, default /etc/warden/yara/\*.yar */
	char yara_rules_paths[WARD_MAX_YARA_PATHS][WARD_MAX_PATH];
	ward_exception_policy_t exception_policy; /* ExceptionPolicy */
	bool file_access_policy_set;      /* FileAccessPolicy or FileAccessPolicyPlist given */
	unsigned ninterpreters;           /* Interpreters: programs whose script argument is
	                                     decided as an exec (basename glob or absolute path) */
	char interpreters[WARD_MAX_INTERPRETERS][WARD_MAX_INTERPRETER_NAME + 1];
	bool require_signed_profiles;     /* RequireSignedProfiles, default false; warden.conf only */
	unsigned ntrust_anchors;          /* ProfileTrustAnchors (PEM files); warden.conf only */
	char trust_anchors[WARD_MAX_TRUST_ANCHORS][WARD_MAX_PATH];
	ward_sync_config_t sync;          /* SyncBaseURL, MachineID, ... (see above) */
	bool enable_transitive_rules;     /* EnableTransitiveRules, default false (Santa's):
	                                     off, ALLOWLIST_COMPILER allows like ALLOWLIST and
	                                     transitive rules do not match */
	bool enable_bad_signature_protection; /* EnableBadSignatureProtection, default false:
	                                     a Mach-O whose signature is invalid is denied in
	                                     every mode unless a rule names its bytes */
	ward_notify_config_t notify;      /* EnableSilentMode, EventDetailURL, ... (see above) */
} ward_config_t;

/* Embedded defaults (no config file at all): MONITOR, /usr /bin /sbin /lib /lib64 trusted.
 * They are the defaults of the key table (ward_config_keys_json), read through the keys'
 * own parsers once. */
void ward_config_defaults(ward_config_t *cfg);

/*
 * The configuration keys warden knows, from the one table that drives the loader, the
 * defaults, ward_config_to_json and `wardenctl profile keys` (a new reference):
 *   [{"name", "type", "default" (JSON value, null = unset), "help", "santa" (read from
 *     Santa payloads), "local_only" (warden.conf only), "refused" (recognised only to be
 *     refused by name), "range" ([min, max], integers only)}...]
 */
json_t *ward_config_keys_json(void);

/* Santa's keys warden reads but does not enforce, each with why (a new reference):
 * [{"name", "why"}]. A profile setting one gets a warning naming it, and `status` lists it. */
json_t *ward_config_santa_unenforced_json(void);

/*
 * Apply the keys of a configuration dictionary onto cfg (which holds defaults or an
 * earlier layer). Every value is validated; on error cfg is unchanged and err names the
 * key. Unknown keys are not errors. StaticRules and FileAccessPolicy are validated but
 * not kept (ward_config_t has no room for them: see ward_config_load_sources).
 */
ward_err_t ward_config_apply(ward_config_t *cfg, const json_t *dict, ward_error_t *err);

/* Read a JSON config file (warden.conf) and apply it onto cfg. */
ward_err_t ward_config_load_json_file(ward_config_t *cfg, const char *path, ward_error_t *err);

const char *ward_mode_name(ward_mode_t m); /* "MONITOR" / "LOCKDOWN" */

/*
 * Check a path regex as validation does (profiles/pathregex.h: Santa's ICU syntax, the
 * subset PCRE2 expresses; '^' prepended when missing, as Santa does). "" is valid
 * (unset). err says what and at which offset.
 */
ward_err_t ward_config_regex_check(const char *pattern, ward_error_t *err);

/*
 * cfg as a JSON object with the profile key names (a new reference). It round-trips:
 * ward_config_apply of it onto ward_config_defaults gives cfg back (an unset path regex
 * is null, which apply reads as unset; FileAccessPolicy, when set, is the placeholder
 * {"Version": "0", "WatchItems": {}}: ward_config_t does not hold its content).
 */
json_t *ward_config_to_json(const ward_config_t *cfg);

/* ---------------------------------------------------------------- loaded sources */

/*
 * A complete loaded configuration: the config, the managed rules of StaticRules, the
 * FileAccessPolicy dictionary, where every value came from, and the warnings of the
 * load. Immutable once returned, so the agent can hand it to other threads and swap
 * it for a newer one.
 */
typedef struct ward_confset ward_confset_t;

#define WARD_LOAD_CONF_REQUIRED 0x1u /* a missing conf_file is an error (default: skip it) */
#define WARD_LOAD_STRICT_PERMS  0x2u /* refuse files or the directory not owned by root (or
                                        the caller's euid) or writable by group/others */

/*
 * Build the effective configuration, in this order (later wins per key):
 *   1. the embedded defaults;
 *   2. conf_file (JSON, NULL = none; missing = skipped unless WARD_LOAD_CONF_REQUIRED);
 *   3. every *.mobileconfig and *.plist file of profile_dir (NULL = none; a missing
 *      directory has no profiles; ward_config_profile_name says which), sorted by name
 *      (bytewise), dotfiles skipped; inside a profile, its payloads in order.
 * StaticRules of all sources are concatenated; the same rule type and identifier twice
 * is an error. ProfileTrustAnchors and RequireSignedProfiles are read from conf_file
 * only; profiles are then verified against those anchors.
 *
 * Everything is validated before anything is returned: on any error *out is NULL, err
 * holds the first error ("file:line: Key: message", plus how many more) and nothing the
 * caller holds is touched, so a failed reload keeps the previous confset in force.
 * diags (a JSON array, NULL ok) receives every error and warning (profiles/diag.h).
 */
/*
 * Whether the loader reads the file name of directory dir as a profile: *.mobileconfig
 * and *.plist, not dotfiles. In macOS's managed preferences directory
 * (WARD_MANAGED_PREFS_DIR, common/paths.h), where MDM writes every app's preference
 * domain, only com.warden.agent.plist, com.northpolesec.santa.plist and
 * com.google.santa.plist. The configuration watcher uses the same test.
 */
bool ward_config_profile_name(const char *dir, const char *name);

ward_err_t ward_config_load_sources(const char *conf_file, const char *profile_dir,
                                    unsigned flags, ward_confset_t **out, json_t *diags,
                                    ward_error_t *err);

/*
 * Validate one file on its own, on top of the defaults: a JSON file (content starting
 * with '{') is read as warden.conf, anything else as a profile. Signatures are checked
 * against the ProfileTrustAnchors of base, and RequireSignedProfiles of base applies
 * (base NULL: no anchors, not required). Same error and diags contract as above.
 */
ward_err_t ward_config_validate_file(const char *path, const ward_confset_t *base,
                                     ward_confset_t **out, json_t *diags, ward_error_t *err);

void ward_confset_free(ward_confset_t *cs); /* NULL ok */
const ward_config_t *ward_confset_config(const ward_confset_t *cs);

/* StaticRules in merge order, source WARD_SRC_PROFILE; *n their count. */
const ward_rule_t *ward_confset_rules(const ward_confset_t *cs, size_t *n);

/*
 * Make the managed (source PROFILE) rules of st exactly the StaticRules of cs, in one
 * transaction (ward_store_apply): rules new or changed since the store last saw them
 * are written, managed rules no profile lists any more are removed, rules of other
 * sources are not touched. When nothing differs nothing is written (the store's
 * generation, and so the agent's caches, stay as they are). On error st is unchanged.
 * stats may be NULL.
 */
ward_err_t ward_confset_sync_rules(const ward_confset_t *cs, ward_store_t *st,
                                   ward_apply_stats_t *stats, ward_error_t *err);

/* The FileAccessPolicy dictionary in force (inline, else the FileAccessPolicyPlist
 * file's), or NULL when unset. */
const json_t *ward_confset_file_access_policy(const ward_confset_t *cs);

/* The same policy validated (rules/faa.h), or NULL when unset; lives as long as cs. */
const ward_faa_t *ward_confset_faa(const ward_confset_t *cs);

/* The FileAccessPolicyPlist path ("" = none): the agent watches it for changes. */
const char *ward_confset_faa_plist(const ward_confset_t *cs);

/* Where key's value came from: "file:line", "file", or "default". Never NULL. */
const char *ward_confset_origin(const ward_confset_t *cs, const char *key);

/* Warnings of the load (a diag array, borrowed). */
const json_t *ward_confset_warnings(const ward_confset_t *cs);

/* Santa keys the sources set that warden reads but does not enforce, each with where
 * and why: [{"key", "origin": "file:line", "why"}] (borrowed; [] when none). */
const json_t *ward_confset_not_enforced(const ward_confset_t *cs);

/* StaticRules entries left out (CEL rules): [{"rule": "TYPE identifier", "origin",
 * "key": "StaticRules[i]", "why"}] (borrowed; [] when none). */
const json_t *ward_confset_refused_rules(const ward_confset_t *cs);

/*
 * Everything as JSON (a new reference):
 *   {"config": {Key: value, ..., "StaticRules": [...], "FileAccessPolicy": ...},
 *    "origin": {Key: "file:line" | "default", ...},
 *    "sources": [{"file", "kind", "signed", "signer", "verified"}...],
 *    "warnings": [diag...], "not_enforced": [...], "refused_rules": [...]}
 * Each StaticRules entry is a Santa rule dictionary plus "origin".
 */
json_t *ward_confset_to_json(const ward_confset_t *cs);

#endif
