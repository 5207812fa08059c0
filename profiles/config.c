/*
 * The effective configuration: defaults, and applying one JSON dictionary of profile
 * keys onto it. Validation happens on a copy, so a bad dictionary changes nothing.
 */
#include "profiles/config.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/limits.h"

const char *ward_mode_name(ward_mode_t m)
{
	return m == WARD_MODE_LOCKDOWN ? "LOCKDOWN" : "MONITOR";
}

void ward_config_defaults(ward_config_t *cfg)
{
	static const char *const trusted[] = { "/usr", "/bin", "/sbin", "/lib", "/lib64" };

	memset(cfg, 0, sizeof(*cfg));
	cfg->mode = WARD_MODE_MONITOR;
	cfg->fail_closed = false;
	cfg->decision_budget_ms = 5000;
	for (size_t i = 0; i < sizeof(trusted) / sizeof(trusted[0]); i++)
		snprintf(cfg->trusted_paths[cfg->ntrusted_paths++], WARD_MAX_PATH, "%s", trusted[i]);
	snprintf(cfg->event_log_path, sizeof(cfg->event_log_path), "/var/log/warden/events.jsonl");
	cfg->event_log_allows = false;
	cfg->scan_budget_ms = 1000;
	cfg->scan_max_bytes = 256ull << 20;
}

static ward_err_t get_bool(const json_t *v, const char *key, bool *out, ward_error_t *err)
{
	if (!json_is_boolean(v))
		return ward_error_set(err, WARD_E_INVAL, "%s: expected a boolean", key);
	*out = json_is_true(v);
	return WARD_OK;
}

static ward_err_t get_uint(const json_t *v, const char *key, uint64_t min, uint64_t max,
                           uint64_t *out, ward_error_t *err)
{
	if (!json_is_integer(v))
		return ward_error_set(err, WARD_E_INVAL, "%s: expected an integer", key);
	json_int_t n = json_integer_value(v);
	if (n < 0 || (uint64_t)n < min || (uint64_t)n > max)
		return ward_error_set(err, WARD_E_INVAL, "%s: %lld is out of range [%llu, %llu]", key,
		                      (long long)n, (unsigned long long)min, (unsigned long long)max);
	*out = (uint64_t)n;
	return WARD_OK;
}

static ward_err_t get_string(const json_t *v, const char *key, char *out, size_t cap,
                             ward_error_t *err)
{
	if (!json_is_string(v))
		return ward_error_set(err, WARD_E_INVAL, "%s: expected a string", key);
	if (json_string_length(v) >= cap)
		return ward_error_set(err, WARD_E_LIMIT, "%s: longer than %zu bytes", key, cap - 1);
	if (strlen(json_string_value(v)) != json_string_length(v))
		return ward_error_set(err, WARD_E_INVAL, "%s: contains a NUL byte", key);
	memcpy(out, json_string_value(v), json_string_length(v) + 1);
	return WARD_OK;
}

static ward_err_t get_mode(const json_t *v, ward_mode_t *out, ward_error_t *err)
{
	if (json_is_integer(v) && (json_integer_value(v) == 1 || json_integer_value(v) == 2)) {
		*out = (ward_mode_t)json_integer_value(v);
		return WARD_OK;
	}
	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		if (strcasecmp(s, "MONITOR") == 0) {
			*out = WARD_MODE_MONITOR;
			return WARD_OK;
		}
		if (strcasecmp(s, "LOCKDOWN") == 0) {
			*out = WARD_MODE_LOCKDOWN;
			return WARD_OK;
		}
	}
	return ward_error_set(err, WARD_E_INVAL, "ClientMode: expected 1, 2, \"MONITOR\" or \"LOCKDOWN\"");
}

static ward_err_t get_paths(const json_t *v, ward_config_t *cfg, ward_error_t *err)
{
	size_t i;
	json_t *p;

	if (!json_is_array(v))
		return ward_error_set(err, WARD_E_INVAL, "TrustedPaths: expected an array of strings");
	if (json_array_size(v) > WARD_MAX_TRUSTED_PATHS)
		return ward_error_set(err, WARD_E_LIMIT, "TrustedPaths: more than %d entries",
		                      WARD_MAX_TRUSTED_PATHS);
	cfg->ntrusted_paths = 0;
	json_array_foreach(v, i, p) {
		char *dst = cfg->trusted_paths[cfg->ntrusted_paths];
		ward_err_t rc = get_string(p, "TrustedPaths", dst, WARD_MAX_PATH, err);
		if (rc != WARD_OK)
			return rc;
		if (dst[0] != '/')
			return ward_error_set(err, WARD_E_INVAL, "TrustedPaths[%zu]: not an absolute path", i);
		cfg->ntrusted_paths++;
	}
	return WARD_OK;
}

ward_err_t ward_config_apply(ward_config_t *cfg, const json_t *dict, ward_error_t *err)
{
	ward_config_t next = *cfg;
	const char *key;
	json_t *v;
	uint64_t n;
	ward_err_t rc = WARD_OK;

	if (!json_is_object(dict))
		return ward_error_set(err, WARD_E_INVAL, "configuration: expected a dictionary");
	json_object_foreach((json_t *)dict, key, v) {
		if (strcmp(key, "ClientMode") == 0) {
			rc = get_mode(v, &next.mode, err);
		} else if (strcmp(key, "FailClosed") == 0) {
			rc = get_bool(v, key, &next.fail_closed, err);
		} else if (strcmp(key, "DecisionBudgetMs") == 0) {
			if ((rc = get_uint(v, key, 10, 600000, &n, err)) == WARD_OK)
				next.decision_budget_ms = (uint32_t)n;
		} else if (strcmp(key, "TrustedPaths") == 0) {
			rc = get_paths(v, &next, err);
		} else if (strcmp(key, "EventLogPath") == 0) {
			rc = get_string(v, key, next.event_log_path, sizeof(next.event_log_path), err);
		} else if (strcmp(key, "EventLogAllows") == 0) {
			rc = get_bool(v, key, &next.event_log_allows, err);
		} else if (strcmp(key, "AdminGroup") == 0) {
			rc = get_string(v, key, next.admin_group, sizeof(next.admin_group), err);
		} else if (strcmp(key, "ScanBudgetMs") == 0) {
			if ((rc = get_uint(v, key, 1, 600000, &n, err)) == WARD_OK)
				next.scan_budget_ms = (uint32_t)n;
		} else if (strcmp(key, "ScanMaxBytes") == 0) {
			if ((rc = get_uint(v, key, 0, UINT64_MAX >> 1, &n, err)) == WARD_OK)
				next.scan_max_bytes = n;
		}
		if (rc != WARD_OK)
			return rc;
	}
	*cfg = next;
	return WARD_OK;
}

ward_err_t ward_config_load_json_file(ward_config_t *cfg, const char *path, ward_error_t *err)
{
	json_error_t jerr;
	json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	ward_err_t rc;

	if (root == NULL)
		return ward_error_set(err, WARD_E_MALFORMED, "%s:%d:%d: %s", path, jerr.line,
		                      jerr.column, jerr.text);
	rc = ward_config_apply(cfg, root, err);
	if (rc != WARD_OK) {
		char msg[WARD_ERRMSG_MAX];
		snprintf(msg, sizeof(msg), "%s", err ? err->msg : "");
		ward_error_set(err, rc, "%s: %s", path, msg);
	}
	json_decref(root);
	return rc;
}
