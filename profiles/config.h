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

typedef enum { WARD_MODE_MONITOR = 1, WARD_MODE_LOCKDOWN = 2 } ward_mode_t;

#define WARD_MAX_TRUSTED_PATHS 32
#define WARD_MAX_PATH 1024

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
} ward_config_t;

/* Embedded defaults (no config file at all): MONITOR, /usr /bin /sbin /lib /lib64 trusted. */
void ward_config_defaults(ward_config_t *cfg);

/*
 * Apply the keys of a configuration dictionary onto cfg (which holds defaults or an
 * earlier layer). Every value is validated; on error cfg is unchanged and err names the
 * key. Unknown keys are not errors.
 */
ward_err_t ward_config_apply(ward_config_t *cfg, const json_t *dict, ward_error_t *err);

/* Read a JSON config file (warden.conf) and apply it onto cfg. */
ward_err_t ward_config_load_json_file(ward_config_t *cfg, const char *path, ward_error_t *err);

const char *ward_mode_name(ward_mode_t m); /* "MONITOR" / "LOCKDOWN" */

#endif
