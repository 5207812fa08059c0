/*
 * The effective configuration: one table of keys (type, parser, default, printer, help),
 * and the loader that
 * merges warden.conf and the profiles directory. Validation works on a private state
 * and reports every problem it finds; nothing is returned unless all of it is valid.
 */
#include "profiles/config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/blockmsg.h"
#include "common/paths.h"
#include "profiles/diag.h"
#include "profiles/mobileconfig.h"
#include "profiles/pathregex.h"
#include "profiles/plist.h"
#include "profiles/signed.h"
#include "rules/faa.h"

/* ---------------------------------------------------------------- state */

struct state {
	ward_config_t cfg;
	json_t *origin;     /* key -> "file:line" */
	ward_rule_t *rules;
	size_t nrules, caprules;
	json_t *rule_origin; /* array parallel to rules */
	json_t *rule_index;  /* "TYPE:identifier" -> index, for duplicates */
	json_t *fap;         /* FileAccessPolicy, or the dictionary of FileAccessPolicyPlist */
	ward_faa_t *faa;     /* ... validated */
	bool fap_inline;     /* it came from FileAccessPolicy (which beats FileAccessPolicyPlist) */
	char fap_plist[WARD_MAX_PATH]; /* FileAccessPolicyPlist, "" = none */
	json_t *not_enforced;  /* [{key, origin, why}]: keys read but not enforced */
	json_t *refused_rules; /* [{rule, origin, why}]: StaticRules entries left out */
};

struct ward_confset {
	struct state st;
	json_t *sources;
	json_t *warnings;
	ward_anchors_t *trust;
};

/* Where the keys being applied come from. */
struct src {
	const char *file;                /* NULL: the ward_config_apply API */
	const ward_plist_lines_t *lines; /* plist sources; NULL for JSON */
	bool local;                      /* warden.conf: local-only keys allowed */
	bool santa;                      /* a Santa payload: shared keys only */
};

struct ctx {
	struct state *st;
	const struct src *src;
	json_t *diags;
	unsigned nerrors;
	ward_error_t first;
};

#define DEFAULT_SCOPES ((1u << WARD_RT_CDHASH) | (1u << WARD_RT_BINARY) | (1u << WARD_RT_SIGNINGID))

const char *ward_mode_name(ward_mode_t m)
{
	return m == WARD_MODE_LOCKDOWN ? "LOCKDOWN" : "MONITOR";
}

/* The strings of a StaticRules entry are owned by the state (ward_rule_t borrows). */
static void rule_strings_free(ward_rule_t *r)
{
	free((char *)r->identifier);
	free((char *)r->custom_msg);
	free((char *)r->custom_url);
	free((char *)r->comment);
	free((char *)r->created_by);
}

static ward_err_t state_init(struct state *st)
{
	memset(st, 0, sizeof(*st));
	ward_config_defaults(&st->cfg);
	st->origin = json_object();
	st->rule_origin = json_array();
	st->rule_index = json_object();
	st->not_enforced = json_array();
	st->refused_rules = json_array();
	if (!st->origin || !st->rule_origin || !st->rule_index || !st->not_enforced || !st->refused_rules)
		return WARD_E_NOMEM;
	return WARD_OK;
}

static void state_fini(struct state *st)
{
	json_decref(st->origin);
	json_decref(st->rule_origin);
	json_decref(st->rule_index);
	json_decref(st->not_enforced);
	json_decref(st->refused_rules);
	json_decref(st->fap);
	ward_faa_free(st->faa);
	for (size_t i = 0; i < st->nrules; i++)
		rule_strings_free(&st->rules[i]);
	free(st->rules);
	memset(st, 0, sizeof(*st));
}

/* ---------------------------------------------------------------- reporting */

static unsigned long line_of(const struct ctx *c, const json_t *dict, const char *key)
{
	return c->src->lines ? ward_plist_line_key(c->src->lines, dict, key) : 0;
}

static unsigned long line_at(const struct ctx *c, const json_t *arr, size_t i, unsigned long dflt)
{
	unsigned long l = c->src->lines ? ward_plist_line_at(c->src->lines, arr, i) : 0;

	return l ? l : dflt;
}

static void vreport(struct ctx *c, ward_diag_sev_t sev, ward_err_t code, unsigned long line,
                    const char *key, const char *fmt, va_list ap)
	__attribute__((format(printf, 6, 0)));

static void vreport(struct ctx *c, ward_diag_sev_t sev, ward_err_t code, unsigned long line,
                    const char *key, const char *fmt, va_list ap)
{
	char msg[384];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	ward_diag_add(c->diags, sev, c->src->file, line, key, "%s", msg);
	if (sev != WARD_DIAG_ERROR)
		return;
	if (c->nerrors++ == 0) {
		const char *f = c->src->file;
		if (f && line)
			ward_error_set(&c->first, code, "%s:%lu: %s%s%s", f, line, key ? key : "",
			               key ? ": " : "", msg);
		else if (f)
			ward_error_set(&c->first, code, "%s: %s%s%s", f, key ? key : "", key ? ": " : "", msg);
		else
			ward_error_set(&c->first, code, "%s%s%s", key ? key : "", key ? ": " : "", msg);
	}
}

static int bad(struct ctx *c, ward_err_t code, unsigned long line, const char *key,
               const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int bad(struct ctx *c, ward_err_t code, unsigned long line, const char *key,
               const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(c, WARD_DIAG_ERROR, code, line, key, fmt, ap);
	va_end(ap);
	return -1;
}

static void warn(struct ctx *c, unsigned long line, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void warn(struct ctx *c, unsigned long line, const char *key, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(c, WARD_DIAG_WARNING, WARD_OK, line, key, fmt, ap);
	va_end(ap);
}

static void where(const struct ctx *c, unsigned long line, char *buf, size_t cap)
{
	if (c->src->file && line)
		snprintf(buf, cap, "%s:%lu", c->src->file, line);
	else
		snprintf(buf, cap, "%s", c->src->file ? c->src->file : "(api)");
}

static void set_origin(struct ctx *c, const char *key, unsigned long line)
{
	char buf[WARD_MAX_PATH + 32];

	where(c, line, buf, sizeof(buf));
	json_object_set_new(c->st->origin, key, json_string(buf));
}

/* ---------------------------------------------------------------- value checks */

static int want_bool(struct ctx *c, const json_t *v, const char *key, unsigned long line, bool *out)
{
	if (!json_is_boolean(v))
		return bad(c, WARD_E_INVAL, line, key, "expected a boolean (<true/> or <false/>)");
	*out = json_is_true(v);
	return 0;
}

static int want_uint(struct ctx *c, const json_t *v, const char *key, unsigned long line,
                     uint64_t min, uint64_t max, uint64_t *out)
{
	json_int_t n;

	if (!json_is_integer(v))
		return bad(c, WARD_E_INVAL, line, key, "expected an integer");
	n = json_integer_value(v);
	if (n < 0 || (uint64_t)n < min || (uint64_t)n > max)
		return bad(c, WARD_E_INVAL, line, key, "%lld is out of range [%llu, %llu]", (long long)n,
		           (unsigned long long)min, (unsigned long long)max);
	*out = (uint64_t)n;
	return 0;
}

static int want_string(struct ctx *c, const json_t *v, const char *key, unsigned long line,
                       char *out, size_t cap)
{
	if (!json_is_string(v))
		return bad(c, WARD_E_INVAL, line, key, "expected a string");
	if (json_string_length(v) >= cap)
		return bad(c, WARD_E_LIMIT, line, key, "longer than %zu bytes", cap - 1);
	if (strlen(json_string_value(v)) != json_string_length(v))
		return bad(c, WARD_E_INVAL, line, key, "contains a NUL byte");
	memcpy(out, json_string_value(v), json_string_length(v) + 1);
	return 0;
}

/* Absolute, no "." or ".." component: prefix matching on it must mean what it says. */
static bool abs_path_ok(const char *p)
{
	const char *s;

	if (p[0] != '/')
		return false;
	for (s = p; (s = strchr(s, '/')) != NULL; s++) {
		if ((s[1] == '.' && (s[2] == '/' || s[2] == '\0')) ||
		    (s[1] == '.' && s[2] == '.' && (s[3] == '/' || s[3] == '\0')))
			return false;
	}
	return true;
}

static int want_path(struct ctx *c, const json_t *v, const char *key, unsigned long line,
                     char *out, size_t cap)
{
	if (want_string(c, v, key, line, out, cap) != 0)
		return -1;
	if (!abs_path_ok(out))
		return bad(c, WARD_E_INVAL, line, key,
		           "\"%s\" is not an absolute path without . or .. components", out);
	return 0;
}

/* An array of absolute paths (a single string is accepted as a one-element array). */
static int want_paths(struct ctx *c, const json_t *v, const char *key, unsigned long line,
                      char (*out)[WARD_MAX_PATH], unsigned max, unsigned *n)
{
	char sub[64];
	unsigned cnt = 0;
	size_t i;
	json_t *p;

	if (json_is_string(v)) {
		if (want_path(c, v, key, line, out[0], WARD_MAX_PATH) != 0)
			return -1;
		*n = 1;
		return 0;
	}
	if (!json_is_array(v))
		return bad(c, WARD_E_INVAL, line, key, "expected an array of absolute paths");
	if (json_array_size(v) > max)
		return bad(c, WARD_E_LIMIT, line, key, "%zu entries, more than %u", json_array_size(v), max);
	json_array_foreach(v, i, p) {
		snprintf(sub, sizeof(sub), "%s[%zu]", key, i);
		if (want_path(c, p, sub, line_at(c, v, i, line), out[cnt], WARD_MAX_PATH) != 0)
			return -1;
		cnt++;
	}
	*n = cnt;
	return 0;
}

/* POSIX-portable group names (plus a trailing '$' for machine accounts). */
static int want_group(struct ctx *c, const json_t *v, const char *key, unsigned long line,
                      char *out, size_t cap)
{
	if (want_string(c, v, key, line, out, cap) != 0)
		return -1;
	for (const char *s = out; *s; s++) {
		bool ok = (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		          *s == '_' || *s == '.' || (*s == '-' && s != out) || (*s == '$' && s[1] == '\0');
		if (!ok)
			return bad(c, WARD_E_INVAL, line, key, "\"%s\" is not a valid group name", out);
	}
	return 0;
}

ward_err_t ward_config_regex_check(const char *pattern, ward_error_t *err)
{
	if (pattern[0] == '\0')
		return WARD_OK;
	return ward_pathregex_check(pattern, err);
}

/*
 * The directory an anchored pattern's literal start names ("^/opt/tools/bin/.*" ->
 * "/opt/tools/bin"), "" when the pattern can match outside any fixed directory.
 */
static void regex_literal_dir(const char *p, char *dir, size_t cap)
{
	size_t n = 0, i = p[0] == '^' ? 1 : 0;

	dir[0] = '\0';
	if (p[0] != '^' && p[0] != '/') /* Santa prepends '^': the same reading */
		return;
	for (; p[i] && n + 1 < cap; i++) {
		char c = p[i];
		if (c == '\\' && p[i + 1] && strchr("./-_ ", p[i + 1])) {
			dir[n++] = p[++i];
			continue;
		}
		if (strchr(".[](){}*+?|\\$^", c)) {
			if (strchr("*?{", c) && n > 0)
				n--; /* the character before a quantifier may be absent */
			break;
		}
		dir[n++] = c;
	}
	dir[n] = '\0';
	if (strchr(p, '|') != NULL) { /* an alternative may start anywhere */
		dir[0] = '\0';
		return;
	}
	while (n > 0 && dir[n - 1] != '/')
		dir[--n] = '\0';
	while (n > 1 && dir[n - 1] == '/')
		dir[--n] = '\0';
}

/*
 * AllowedPathRegex: an allowed directory that a user other than root can write (or one
 * under such a directory) lets that user run anything: say so at load.
 */
static void regex_writable_warning(struct ctx *c, const char *key, unsigned long line, const char *p)
{
	char dir[WARD_MAX_PATH], walk[WARD_MAX_PATH];
	struct stat sb;

	regex_literal_dir(p, dir, sizeof(dir));
	if (dir[0] == '\0') {
		warn(c, line, key, "\"%.200s\" can match paths outside any fixed directory: any user can "
		     "create a matching file in a directory they own (their home, /tmp) and run it", p);
		return;
	}
	snprintf(walk, sizeof(walk), "%s", dir);
	for (;;) {
		if (lstat(walk, &sb) == 0 && (sb.st_uid != 0 || (sb.st_mode & (S_IWGRP | S_IWOTH)))) {
			warn(c, line, key, "\"%.200s\" allows programs under %s, and %s is %s: whoever can "
			     "write there can put any program there and run it", p, dir, walk,
			     sb.st_uid != 0 ? "owned by a user other than root" : "group- or world-writable");
			return;
		}
		char *slash = strrchr(walk, '/');
		if (slash == NULL || slash == walk)
			break;
		*slash = '\0';
	}
}

static int want_regex(struct ctx *c, const json_t *v, const char *key, unsigned long line,
                      char *out, size_t cap)
{
	ward_error_t e = { 0 };
	char tmp[WARD_MAX_PATH_REGEX + 1];

	if (json_is_null(v)) {
		out[0] = '\0'; /* unset: how ward_config_to_json writes "" */
		return 0;
	}
	if (want_string(c, v, key, line, tmp, sizeof(tmp)) != 0)
		return -1;
	if (tmp[0] != '\0') {
		if (ward_config_regex_check(tmp, &e) != WARD_OK)
			return bad(c, e.code, line, key, "%s", e.msg);
		if (strcmp(key, "AllowedPathRegex") == 0)
			regex_writable_warning(c, key, line, tmp);
	}
	snprintf(out, cap, "%s", tmp);
	return 0;
}

/* ---------------------------------------------------------------- StaticRules */

/* An optional rule text field, copied; *out stays NULL when absent. */
static int rule_text(struct ctx *c, const json_t *d, const char *field, const char *key,
                     unsigned long line, const char **out)
{
	const json_t *v = json_object_get(d, field);
	char sub[96], tmp[WARD_MAX_RULE_TEXT + 1];
	unsigned long l = line_of(c, d, field);

	if (v == NULL)
		return 0;
	snprintf(sub, sizeof(sub), "%s.%s", key, field);
	if (want_string(c, v, sub, l ? l : line, tmp, sizeof(tmp)) != 0)
		return -1;
	if ((*out = strdup(tmp)) == NULL)
		return bad(c, WARD_E_NOMEM, line, sub, "out of memory");
	return 0;
}

static const char *base_name(const char *path)
{
	const char *s = path ? strrchr(path, '/') : NULL;

	return s ? s + 1 : (path ? path : "api");
}

/*
 * One Santa rule dictionary -> a managed rule. Names, policies and identifiers are
 * validated and canonicalised by the rules module, exactly as `wardenctl rule --import`
 * does, so a rule a profile accepts is a rule the store accepts.
 */
/*
 * A CEL rule (Santa's cel_expr, policy CEL): warden has no CEL evaluator. Taking it as
 * its plain policy would allow or block more than the expression says, so the rule is
 * left out, by name, with a warning; the rest of the profile applies. `wardenctl
 * status` lists it (ward_confset_refused_rules).
 */
static void refuse_cel_rule(struct ctx *c, const json_t *d, const char *key, unsigned long line)
{
	const char *type = json_string_value(json_object_get(d, "rule_type"));
	const char *id = json_string_value(json_object_get(d, "identifier"));
	unsigned long l = line_of(c, d, "cel_expr");
	char name[WARD_RULE_ID_MAX + 48], here[WARD_MAX_PATH + 32];

	if (id == NULL)
		id = json_string_value(json_object_get(d, "sha256"));
	snprintf(name, sizeof(name), "%s %s", type ? type : "?", id ? id : "?");
	warn(c, l ? l : line, key, "rule %s is a CEL rule (cel_expr): warden has no CEL evaluator, so "
	     "this rule is refused (not applied); the other rules apply", name);
	where(c, l ? l : line, here, sizeof(here));
	json_array_append_new(c->st->refused_rules,
	                      json_pack("{s:s, s:s, s:s, s:s}", "rule", name, "origin", here, "key", key,
	                                "why", "CEL rules (cel_expr) are not supported"));
}

static int one_rule(struct ctx *c, const json_t *d, const char *key, unsigned long line)
{
	static const char *const known[] = { "identifier", "sha256", "policy", "rule_type",
		"custom_msg", "custom_url", "comment", "creation_time", "file_bundle_binary_count",
		"file_bundle_hash", "cel_expr" };
	struct state *st = c->st;
	const json_t *jt, *jp, *ji;
	const char *f;
	char sub[96], canon[WARD_RULE_ID_MAX + 1], idx[WARD_RULE_ID_MAX + 32];
	char here[WARD_MAX_PATH + 32], by[64];
	ward_error_t e = { 0 };
	ward_rule_t r;
	json_t *v, *prev;
	ward_err_t rc;
	int bad_text = 0;

	if (!json_is_object(d))
		return bad(c, WARD_E_INVAL, line, key, "expected a rule dictionary");
	jp = json_object_get(d, "policy");
	ji = json_object_get(d, "cel_expr"); /* santactl exports "" for rules without one */
	if ((ji != NULL && !json_is_null(ji) && !(json_is_string(ji) && json_string_length(ji) == 0)) ||
	    (json_is_string(jp) && strcasecmp(json_string_value(jp), "CEL") == 0)) {
		refuse_cel_rule(c, d, key, line);
		return 0;
	}
	json_object_foreach((json_t *)d, f, v) {
		size_t k;
		for (k = 0; k < sizeof(known) / sizeof(known[0]); k++)
			if (strcmp(f, known[k]) == 0)
				break;
		if (k == sizeof(known) / sizeof(known[0]))
			warn(c, line_of(c, d, f) ? line_of(c, d, f) : line, key, "unknown rule field \"%s\"; ignored", f);
	}
	memset(&r, 0, sizeof(r));
	r.source = WARD_SRC_PROFILE;
	jt = json_object_get(d, "rule_type");
	jp = json_object_get(d, "policy");
	ji = json_object_get(d, "identifier");
	if (ji == NULL)
		ji = json_object_get(d, "sha256"); /* Santa's older field name */

	snprintf(sub, sizeof(sub), "%s.rule_type", key);
	if (!json_is_string(jt))
		return bad(c, WARD_E_INVAL, line, sub, "missing or not a string (CDHASH, BINARY, SIGNINGID, CERTIFICATE, TEAMID)");
	if ((rc = ward_rule_type_parse(json_string_value(jt), &r.type, &e)) != WARD_OK)
		return bad(c, rc, line_of(c, d, "rule_type"), sub, "%s", e.msg);
	snprintf(sub, sizeof(sub), "%s.policy", key);
	if (!json_is_string(jp))
		return bad(c, WARD_E_INVAL, line, sub, "missing or not a string");
	if ((rc = ward_policy_parse(json_string_value(jp), &r.policy, &e)) != WARD_OK)
		return bad(c, rc, line_of(c, d, "policy"), sub, "%s", e.msg);
	if (r.policy == WARD_POL_REMOVE)
		return bad(c, WARD_E_INVAL, line_of(c, d, "policy"), sub,
		           "REMOVE is an import action; a profile lists the rules it wants");
	snprintf(sub, sizeof(sub), "%s.identifier", key);
	if (!json_is_string(ji))
		return bad(c, WARD_E_INVAL, line, sub, "missing or not a string");
	if ((rc = ward_rule_identifier_canon(r.type, json_string_value(ji), canon, &e)) != WARD_OK)
		return bad(c, rc, line_of(c, d, "identifier") ? line_of(c, d, "identifier") : line, sub,
		           "%s", e.msg);

	snprintf(idx, sizeof(idx), "%s:%s", ward_rule_type_name(r.type), canon);
	if ((prev = json_object_get(st->rule_index, idx)) != NULL)
		return bad(c, WARD_E_EXISTS, line, key, "duplicate rule %s %s (first at %s)",
		           ward_rule_type_name(r.type), canon,
		           json_string_value(json_array_get(st->rule_origin, (size_t)json_integer_value(prev))));
	if (st->nrules >= WARD_MAX_STATIC_RULES)
		return bad(c, WARD_E_LIMIT, line, key, "more than %u static rules in all sources",
		           WARD_MAX_STATIC_RULES);

	bad_text |= rule_text(c, d, "custom_msg", key, line, &r.custom_msg);
	bad_text |= rule_text(c, d, "custom_url", key, line, &r.custom_url);
	bad_text |= rule_text(c, d, "comment", key, line, &r.comment);
	snprintf(by, sizeof(by), "profile:%s", base_name(c->src->file));
	r.identifier = strdup(canon);
	r.created_by = strdup(by);
	if (bad_text || r.identifier == NULL || r.created_by == NULL) {
		rule_strings_free(&r);
		return bad_text ? -1 : bad(c, WARD_E_NOMEM, line, key, "out of memory");
	}
	if ((rc = ward_rule_validate(&r, &e)) != WARD_OK) {
		rule_strings_free(&r);
		return bad(c, rc, line, key, "%s", e.msg);
	}
	if (st->nrules == st->caprules) {
		size_t ncap = st->caprules ? st->caprules * 2 : 16;
		ward_rule_t *nr = realloc(st->rules, ncap * sizeof(*nr));
		if (nr == NULL) {
			rule_strings_free(&r);
			return bad(c, WARD_E_NOMEM, line, key, "out of memory");
		}
		st->rules = nr;
		st->caprules = ncap;
	}
	where(c, line, here, sizeof(here));
	json_object_set_new(st->rule_index, idx, json_integer((json_int_t)st->nrules));
	json_array_append_new(st->rule_origin, json_string(here));
	st->rules[st->nrules++] = r;
	return 0;
}

static int key_static_rules(struct ctx *c, const json_t *dict, const char *key, const json_t *v,
                            unsigned long line)
{
	char sub[64];
	size_t i;
	json_t *d;
	int rc = 0;

	(void)dict;
	if (!json_is_array(v))
		return bad(c, WARD_E_INVAL, line, key, "expected an array of rule dictionaries");
	if (json_array_size(v) > WARD_MAX_STATIC_RULES)
		return bad(c, WARD_E_LIMIT, line, key, "%zu rules, more than %u", json_array_size(v),
		           WARD_MAX_STATIC_RULES);
	json_array_foreach(v, i, d) {
		snprintf(sub, sizeof(sub), "%s[%zu]", key, i);
		if (one_rule(c, d, sub, line_at(c, v, i, line)) != 0)
			rc = -1;
	}
	return rc;
}

/* ---------------------------------------------------------------- keys */

static int key_mode(struct ctx *c, const json_t *dict, const char *key, const json_t *v,
                    unsigned long line)
{
	(void)dict;
	if (json_is_integer(v) && (json_integer_value(v) == 1 || json_integer_value(v) == 2)) {
		c->st->cfg.mode = (ward_mode_t)json_integer_value(v);
		return 0;
	}
	if (json_is_integer(v) && json_integer_value(v) == 3)
		return bad(c, WARD_E_UNSUPPORTED, line, key, "3 (Santa's STANDALONE, where users approve "
		           "unknown programs themselves) is not supported: set 2 (LOCKDOWN) and let users file "
		           "`wardenctl request PATH --reason ...` for an administrator to approve with "
		           "`wardenctl approve` (docs/exceptions.md), or 1 (MONITOR)");
	if (json_is_string(v)) {
		if (strcasecmp(json_string_value(v), "MONITOR") == 0) {
			c->st->cfg.mode = WARD_MODE_MONITOR;
			return 0;
		}
		if (strcasecmp(json_string_value(v), "LOCKDOWN") == 0) {
			c->st->cfg.mode = WARD_MODE_LOCKDOWN;
			return 0;
		}
	}
	return bad(c, WARD_E_INVAL, line, key, "expected 1, 2, \"MONITOR\" or \"LOCKDOWN\"");
}

/* A dict value replaces the earlier one whole: unset sub-keys take their defaults. */
static int key_exception_policy(struct ctx *c, const json_t *d, const char *key, const json_t *v,
                                unsigned long line)
{
	ward_exception_policy_t ep;
	const char *k;
	char sub[96];
	json_t *sv;
	int rc = 0;

	(void)d;
	if (!json_is_object(v))
		return bad(c, WARD_E_INVAL, line, key, "expected a dictionary");
	memset(&ep, 0, sizeof(ep));
	ep.enabled = true;
	ep.allowed_scopes = DEFAULT_SCOPES;
	ep.max_expiry_s = 30u * 24 * 3600;
	json_object_foreach((json_t *)v, k, sv) {
		unsigned long sl = line_of(c, v, k) ? line_of(c, v, k) : line;
		snprintf(sub, sizeof(sub), "%s.%s", key, k);
		if (strcmp(k, "Enabled") == 0) {
			rc |= want_bool(c, sv, sub, sl, &ep.enabled);
		} else if (strcmp(k, "ApproverGroup") == 0) {
			rc |= want_group(c, sv, sub, sl, ep.approver_group, sizeof(ep.approver_group));
		} else if (strcmp(k, "MaxExpirySeconds") == 0) {
			uint64_t n = 0;
			if (want_uint(c, sv, sub, sl, 60, 10ull * 366 * 24 * 3600, &n) != 0)
				rc = -1;
			else
				ep.max_expiry_s = (uint32_t)n;
		} else if (strcmp(k, "AllowedScopes") == 0) {
			size_t i;
			json_t *s;
			if (!json_is_array(sv)) {
				rc = bad(c, WARD_E_INVAL, sl, sub, "expected an array of rule types");
				continue;
			}
			ep.allowed_scopes = 0;
			json_array_foreach(sv, i, s) {
				ward_rule_type_t t;
				if (!json_is_string(s) || ward_rule_type_parse(json_string_value(s), &t, NULL) != WARD_OK) {
					char sub2[128];
					snprintf(sub2, sizeof(sub2), "%s[%zu]", sub, i);
					rc = bad(c, WARD_E_INVAL, line_at(c, sv, i, sl), sub2,
					         "expected one of CDHASH, BINARY, SIGNINGID, CERTIFICATE, TEAMID");
					continue;
				}
				ep.allowed_scopes |= 1u << t;
			}
		} else {
			warn(c, sl, sub, "unknown ExceptionPolicy key; ignored");
		}
	}
	if (rc != 0)
		return -1;
	c->st->cfg.exception_policy = ep;
	return 0;
}

static ward_err_t read_file(const char *path, size_t max, bool strict, char **buf, size_t *len,
                            ward_error_t *err);

/* ward_faa_src_t callbacks: lines and diagnostics of the policy go through ctx */
static unsigned long faa_line(void *arg, const json_t *container, const char *key, size_t idx)
{
	struct ctx *c = arg;

	if (!c->src->lines)
		return 0;
	return key ? ward_plist_line_key(c->src->lines, container, key)
	           : ward_plist_line_at(c->src->lines, container, idx);
}

struct faa_diag_arg {
	struct ctx *c;
	const char *prefix; /* "FileAccessPolicy" or "" (a FileAccessPolicyPlist file) */
	unsigned long dflt; /* line of the key itself */
};

static void faa_diag(void *arg, bool is_error, unsigned long line, const char *key, const char *msg)
{
	struct faa_diag_arg *a = arg;
	char k[512];

	snprintf(k, sizeof(k), "%s%s%s", a->prefix, *a->prefix ? "." : "", key);
	if (is_error)
		bad(a->c, WARD_E_INVAL, line ? line : a->dflt, k, "%s", msg);
	else
		warn(a->c, line ? line : a->dflt, k, "%s", msg);
}

static unsigned long faa_line_cb(void *arg, const json_t *container, const char *key, size_t idx)
{
	return faa_line(((struct faa_diag_arg *)arg)->c, container, key, idx);
}

/* Validate a policy tree read by c's source; on success it becomes the state's policy. */
static int faa_take(struct ctx *c, const json_t *v, const char *prefix, unsigned long line,
                    bool is_inline)
{
	struct faa_diag_arg a = { c, prefix, line };
	ward_faa_src_t fs = { faa_line_cb, faa_diag, &a, true, line };
	ward_faa_t *faa = NULL;
	ward_error_t e = { 0 };
	json_t *copy;

	if (ward_faa_parse(v, &fs, &faa, &e) != WARD_OK)
		return -1; /* every error went through faa_diag */
	if ((copy = json_deep_copy(v)) == NULL) {
		ward_faa_free(faa);
		return bad(c, WARD_E_NOMEM, line, prefix, "out of memory");
	}
	json_decref(c->st->fap);
	ward_faa_free(c->st->faa);
	c->st->fap = copy;
	c->st->faa = faa;
	c->st->fap_inline = is_inline;
	c->st->cfg.file_access_policy_set = true;
	return 0;
}

static int key_file_access_policy(struct ctx *c, const json_t *d, const char *key, const json_t *v,
                                  unsigned long line)
{
	(void)d;
	if (!json_is_object(v))
		return bad(c, WARD_E_INVAL, line, key, "expected a dictionary (Santa's FileAccessPolicy shape)");
	if (c->st->fap_plist[0])
		warn(c, line, key, "FileAccessPolicy is set: FileAccessPolicyPlist %s is ignored, as in Santa",
		     c->st->fap_plist);
	return faa_take(c, v, key, line, true);
}

/*
 * FileAccessPolicyPlist: the policy in its own plist file, read and validated now (the
 * agent re-reads it when it changes). Its errors name that file and its lines. Santa
 * ignores it when FileAccessPolicy is set; so does warden, with a warning.
 */
static int key_file_access_policy_plist(struct ctx *c, const json_t *d, const char *key,
                                        const json_t *v, unsigned long line)
{
	char path[WARD_MAX_PATH];
	ward_plist_lines_t *lines = NULL;
	json_t *tree = NULL;
	ward_error_t e = { 0 };
	struct src psrc;
	struct ctx sub;
	char *buf = NULL;
	size_t len = 0;
	int rc;

	(void)d;
	if (want_path(c, v, key, line, path, sizeof(path)) != 0)
		return -1;
	snprintf(c->st->fap_plist, sizeof(c->st->fap_plist), "%s", path);
	if (c->st->fap && c->st->fap_inline) {
		warn(c, line, key, "FileAccessPolicy is set: this file is ignored, as in Santa");
		return 0;
	}
	/* strict: whoever can write the policy file decides what it protects */
	if (read_file(path, WARD_MAX_PLIST_BYTES, true, &buf, &len, &e) != WARD_OK)
		return bad(c, e.code, line, key, "%s: %s", path, e.msg);
	rc = ward_plist_parse(buf, len, &tree, &lines, &e);
	free(buf);
	if (rc != WARD_OK)
		return bad(c, e.code, line, key, "%s: %s", path, e.msg);
	psrc = *c->src;
	psrc.file = c->st->fap_plist;
	psrc.lines = lines;
	sub = *c;
	sub.src = &psrc;
	rc = faa_take(&sub, tree, "", ward_plist_line_root(lines), false);
	c->nerrors = sub.nerrors;
	c->first = sub.first;
	json_decref(tree);
	ward_plist_lines_free(lines);
	return rc;
}

/* Interpreters: basenames (with glob characters) or absolute paths; [] turns it off. */
static int key_interpreters(struct ctx *c, const json_t *d, const char *key, const json_t *v,
                            unsigned long line)
{
	char tmp[WARD_MAX_INTERPRETERS][WARD_MAX_INTERPRETER_NAME + 1];
	unsigned n = 0;
	size_t i;
	json_t *e;

	(void)d;
	if (!json_is_array(v))
		return bad(c, WARD_E_INVAL, line, key, "expected an array of program names or absolute paths");
	if (json_array_size(v) > WARD_MAX_INTERPRETERS)
		return bad(c, WARD_E_LIMIT, line, key, "%zu entries, more than %u", json_array_size(v),
		           WARD_MAX_INTERPRETERS);
	json_array_foreach(v, i, e) {
		char sub[64];
		const char *s = json_string_value(e);
		snprintf(sub, sizeof(sub), "%s[%zu]", key, i);
		if (!s || !*s || json_string_length(e) > WARD_MAX_INTERPRETER_NAME || strlen(s) != json_string_length(e))
			return bad(c, WARD_E_INVAL, line_at(c, v, i, line), sub,
			           "expected a program name (glob allowed) or an absolute path, at most %u bytes",
			           WARD_MAX_INTERPRETER_NAME);
		if (s[0] != '/' && strchr(s, '/'))
			return bad(c, WARD_E_INVAL, line_at(c, v, i, line), sub,
			           "a name has no '/'; a path is absolute");
		snprintf(tmp[n++], sizeof(tmp[0]), "%s", s);
	}
	memcpy(c->st->cfg.interpreters, tmp, sizeof(tmp));
	c->st->cfg.ninterpreters = n;
	return 0;
}

/* ---- fleet sync (docs/sync.md): Santa's key names ---- */

static int key_sync_url(struct ctx *c, const json_t *d, const char *key, const json_t *v,
                        unsigned long line)
{
	char *u = c->st->cfg.sync.base_url, tmp[WARD_MAX_SYNC_URL + 1];

	(void)d;
	if (want_string(c, v, key, line, tmp, sizeof(tmp)) != 0)
		return -1;
	for (const char *p = tmp; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return bad(c, WARD_E_INVAL, line, key, "contains a space or control character");
	if (tmp[0] != '\0' && strncasecmp(tmp, "https://", 8) != 0)
		return bad(c, WARD_E_INVAL, line, key, "\"%.80s\": only https:// URLs (rules and mode "
		           "must not travel in clear)", tmp);
	if (tmp[0] != '\0' && tmp[8] == '\0')
		return bad(c, WARD_E_INVAL, line, key, "no host after https://");
	memcpy(u, tmp, sizeof(tmp));
	return 0;
}

/* A machine ID goes into the URL path: keep to characters that need no escaping. */
static int want_ident(struct ctx *c, const json_t *v, const char *key, unsigned long line,
                      char *out, size_t cap)
{
	char tmp[WARD_MAX_MACHINE_ID + 1];

	if (want_string(c, v, key, line, tmp, cap < sizeof(tmp) ? cap : sizeof(tmp)) != 0)
		return -1;
	for (const char *p = tmp; *p; p++)
		if (!(((*p | 0x20) >= 'a' && (*p | 0x20) <= 'z') || (*p >= '0' && *p <= '9') ||
		      strchr("._:@-", *p)))
			return bad(c, WARD_E_INVAL, line, key, "\"%.80s\": only letters, digits and . _ : @ -",
			           tmp);
	memcpy(out, tmp, strlen(tmp) + 1);
	return 0;
}

/* A path key of ward_sync_config_t ("" = unset). */
static int want_opt_path(struct ctx *c, const json_t *v, const char *key, unsigned long line,
                         char *out)
{
	if (json_is_string(v) && json_string_length(v) == 0) {
		out[0] = '\0';
		return 0;
	}
	return want_path(c, v, key, line, out, WARD_MAX_PATH);
}

/* SyncExtraHeaders: {"Name": "value"}; kept as "Name: value\n" lines for libcurl. */
static int key_sync_headers(struct ctx *c, const json_t *d, const char *key, const json_t *v,
                            unsigned long line)
{
	char buf[WARD_MAX_SYNC_HEADERS + 1] = "";
	size_t used = 0;
	const char *k;
	json_t *sv;

	(void)d;
	if (!json_is_object(v))
		return bad(c, WARD_E_INVAL, line, key, "expected a dictionary of header name -> value");
	json_object_foreach((json_t *)v, k, sv) {
		const char *val = json_string_value(sv);
		int n;
		if (val == NULL || strlen(val) != json_string_length(sv))
			return bad(c, WARD_E_INVAL, line, key, "%.64s: expected a string", k);
		if (k[0] == '\0' || strcspn(k, "()<>@,;:\\\"/[]?={} \t\r\n") != strlen(k))
			return bad(c, WARD_E_INVAL, line, key, "\"%.64s\" is not an HTTP header name", k);
		if (strpbrk(val, "\r\n") != NULL)
			return bad(c, WARD_E_INVAL, line, key, "%.64s: a value may not hold a line break", k);
		if (strcasecmp(k, "Content-Type") == 0 || strcasecmp(k, "Content-Encoding") == 0 ||
		    strcasecmp(k, "Content-Length") == 0 || strcasecmp(k, "Host") == 0)
			return bad(c, WARD_E_INVAL, line, key, "%.64s is set by warden-sync itself", k);
		n = snprintf(buf + used, sizeof(buf) - used, "%s: %s\n", k, val);
		if (n < 0 || (size_t)n >= sizeof(buf) - used)
			return bad(c, WARD_E_LIMIT, line, key, "more than %u bytes of headers",
			           WARD_MAX_SYNC_HEADERS);
		used += (size_t)n;
	}
	memcpy(c->st->cfg.sync.extra_headers, buf, sizeof(buf));
	return 0;
}

/* Santa keys warden-sync does not implement: refused, never silently ignored. */
static int key_sync_refused(struct ctx *c, const json_t *d, const char *key, const json_t *v,
                            unsigned long line)
{
	(void)d;
	if (strcmp(key, "SyncEnableProtoTransfer") == 0) {
		if (json_is_false(v))
			return 0;
		return bad(c, WARD_E_UNSUPPORTED, line, key, "warden-sync speaks Santa's JSON sync "
		           "protocol only (binary proto transfer is not implemented): set it to false");
	}
	return bad(c, WARD_E_UNSUPPORTED, line, key, "keychain identities are macOS-only: give the "
	           "certificate and key as PEM files in ClientAuthCertificateFile and ClientAuthKeyFile");
}

/* ---- telling the user (agent/ttymsg.c, docs/agent.md): Santa's key names ---- */

/* EventDetailURL: Santa's placeholders are expanded per denial (common/blockmsg.h); a
 * %word% Santa does not document is kept as it is, as Santa does, with a warning. */
static int key_detail_url(struct ctx *c, const json_t *d, const char *key, const json_t *v,
                          unsigned long line)
{
	ward_notify_config_t *n = &c->st->cfg.notify;
	char tmp[WARD_MAX_DETAIL_URL + 1], word[64];
	const char *why;

	(void)d;
	if (want_string(c, v, key, line, tmp, sizeof(tmp)) != 0)
		return -1;
	if ((why = ward_blockmsg_check_url(tmp)) != NULL)
		return bad(c, WARD_E_INVAL, line, key, "%s", why);
	if (ward_blockmsg_unknown_placeholder(tmp, word, sizeof(word)))
		warn(c, line, key, "%%%s%% is not a placeholder Santa documents: it is left in the URL "
		     "as it is (known: %%file_identifier%% %%bundle_or_file_identifier%% %%file_sha%% "
		     "%%file_bundle_id%% %%team_id%% %%signing_id%% %%cdhash%% %%machine_id%% "
		     "%%username%% %%serial%% %%uuid%% %%hostname%%)", word);
	memcpy(n->event_detail_url, tmp, sizeof(tmp));
	return 0;
}

/* EventDetailText, BannedBlockMessage, UnknownBlockMessage: text (Santa's are HTML). */
static int key_block_text(struct ctx *c, const json_t *d, const char *key, const json_t *v,
                          unsigned long line)
{
	ward_notify_config_t *n = &c->st->cfg.notify;
	char tmp[WARD_MAX_BLOCK_TEXT + 1];
	const char *why;
	char *dst = strcmp(key, "EventDetailText") == 0 ? n->event_detail_text :
	            strcmp(key, "BannedBlockMessage") == 0 ? n->banned_block_message :
	            n->unknown_block_message;
	size_t cap = dst == n->event_detail_text ? sizeof(n->event_detail_text) : sizeof(tmp);

	(void)d;
	if (want_string(c, v, key, line, tmp, cap) != 0)
		return -1;
	if ((why = ward_blockmsg_check_text(tmp)) != NULL)
		return bad(c, WARD_E_INVAL, line, key, "%s", why);
	memcpy(dst, tmp, strlen(tmp) + 1);
	return 0;
}

#define K_LOCAL   0x1u /* only in warden.conf: a profile must not choose its own trust */
#define K_SANTA   0x2u /* a key Santa has with the same meaning: read from Santa payloads */
#define K_LIST    0x4u /* T_PATHS: a single string is not accepted as a one-element list */
#define K_REFUSED 0x8u /* recognised so it is refused by name, never silently ignored */

/* How a key's value is read (unless the entry has its own parser), shown and documented. */
enum ktype {
	T_BOOL,   /* bool */
	T_U32,    /* uint32_t, in [min, max] */
	T_U64,    /* uint64_t, in [min, max] */
	T_STR,    /* char[size] */
	T_IDENT,  /* char[size]: letters, digits and . _ : @ - */
	T_GROUP,  /* char[size]: a group or user name */
	T_PATH,   /* char[size]: an absolute path without . or .. */
	T_OPTPATH,/* T_PATH, or "" for unset */
	T_PATHS,  /* char[max][size/max], with an unsigned count at count_off */
	T_REGEX,  /* char[size]: a path regex, "" or null for unset */
	T_OTHER,  /* its own parser and printer */
};

static const char *const ktype_names[] = {
	[T_BOOL] = "boolean", [T_U32] = "integer", [T_U64] = "integer", [T_STR] = "string",
	[T_IDENT] = "string (identifier)", [T_GROUP] = "string (group name)",
	[T_PATH] = "path", [T_OPTPATH] = "path or \"\"", [T_PATHS] = "array of paths",
	[T_REGEX] = "regex", [T_OTHER] = NULL,
};

typedef int (*key_parse_fn)(struct ctx *c, const json_t *dict, const char *key, const json_t *v,
                            unsigned long line);
typedef json_t *(*key_show_fn)(const ward_config_t *cfg);

/*
 * One row per configuration key: how it is read (type and bounds, or its own parser),
 * where it lives in ward_config_t, its default (as JSON text, applied by
 * ward_config_defaults through the same parser), how it is printed (profile show, the
 * last-good snapshot) and its help line (wardenctl profile keys; the man page check
 * compares warden.conf.5 against this list).
 */
struct keydef {
	const char *name;
	enum ktype type;
	size_t off, size;      /* the field in ward_config_t */
	size_t count_off;      /* T_PATHS: its unsigned count */
	uint64_t min, max;     /* T_U32/T_U64 bounds; T_PATHS most entries */
	unsigned flags;
	const char *dflt;      /* JSON text; NULL: unset */
	const char *type_name; /* T_OTHER: what the value is */
	key_parse_fn parse;    /* NULL: by type */
	key_show_fn show;      /* NULL: by type (T_OTHER: not printed) */
	const char *help;
};

#define FIELD(f) .off = offsetof(ward_config_t, f), .size = sizeof(((ward_config_t *)0)->f)
#define LIST(f, n) FIELD(f), .count_off = offsetof(ward_config_t, n)

static json_t *show_mode(const ward_config_t *cfg)
{
	return json_string(ward_mode_name(cfg->mode));
}

static json_t *show_interpreters(const ward_config_t *cfg)
{
	json_t *a = json_array();

	for (unsigned i = 0; a && i < cfg->ninterpreters; i++)
		json_array_append_new(a, json_string(cfg->interpreters[i]));
	return a;
}

static json_t *show_exception_policy(const ward_config_t *cfg)
{
	const ward_exception_policy_t *ep = &cfg->exception_policy;
	json_t *scopes = json_array();

	for (int t = 0; scopes && t < WARD_RT__COUNT; t++)
		if (ep->allowed_scopes & (1u << t))
			json_array_append_new(scopes, json_string(ward_rule_type_name((ward_rule_type_t)t)));
	return json_pack("{s:b, s:s, s:o, s:I}", "Enabled", ep->enabled, "ApproverGroup",
	                 ep->approver_group, "AllowedScopes", scopes, "MaxExpirySeconds",
	                 (json_int_t)ep->max_expiry_s);
}

static json_t *show_sync_headers(const ward_config_t *cfg)
{
	json_t *h = json_object();
	const char *p = cfg->sync.extra_headers;

	while (h && *p) {
		const char *colon = strstr(p, ": "), *nl = strchr(p, '\n');
		char name[256], val[WARD_MAX_SYNC_HEADERS + 1];
		if (colon == NULL || nl == NULL || colon > nl)
			break;
		snprintf(name, sizeof(name), "%.*s", (int)(colon - p), p);
		snprintf(val, sizeof(val), "%.*s", (int)(nl - colon - 2), colon + 2);
		json_object_set_new(h, name, json_string(val));
		p = nl + 1;
	}
	return h;
}

/* ward_config_t only knows whether a policy was set (the dictionary is in the confset) */
static json_t *show_file_access_policy(const ward_config_t *cfg)
{
	return cfg->file_access_policy_set ? json_pack("{s:s, s:{}}", "Version", "0", "WatchItems")
	                                   : NULL;
}

static const struct keydef keys[] = {
	{ "ClientMode", T_OTHER, FIELD(mode), .flags = K_SANTA, .dflt = "1", .type_name = "integer or string",
	  .parse = key_mode, .show = show_mode,
	  .help = "1 or MONITOR (log, allow), 2 or LOCKDOWN (deny what no rule allows)" },
	{ "FailClosed", T_BOOL, FIELD(fail_closed), .flags = K_SANTA, .dflt = "false",
	  .help = "deny when the agent itself fails to decide in time (LOCKDOWN)" },
	{ "DecisionBudgetMs", T_U32, FIELD(decision_budget_ms), .min = 10, .max = 600000, .dflt = "5000",
	  .help = "milliseconds the kernel waits for a decision before the fallback answer" },
	{ "StaticRules", T_OTHER, .flags = K_SANTA, .type_name = "array of rule dictionaries",
	  .parse = key_static_rules, .help = "managed rules (Santa's StaticRules); profiles concatenate" },
	{ "TrustedPaths", T_PATHS, LIST(trusted_paths, ntrusted_paths), .max = WARD_MAX_TRUSTED_PATHS,
	  .flags = K_LIST, .dflt = "[\"/usr\", \"/bin\", \"/sbin\", \"/lib\", \"/lib64\"]",
	  .help = "root-owned, not user-writable files under these are allowed without a rule" },
	{ "AllowedPathRegex", T_REGEX, FIELD(allowed_path_regex), .flags = K_SANTA,
	  .help = "executables whose path matches are allowed (Santa semantics)" },
	{ "BlockedPathRegex", T_REGEX, FIELD(blocked_path_regex), .flags = K_SANTA,
	  .help = "executables whose path matches are blocked (Santa semantics)" },
	{ "YaraRulesPaths", T_PATHS, LIST(yara_rules_paths, nyara_rules_paths), .max = WARD_MAX_YARA_PATHS,
	  .dflt = "[\"/etc/warden/yara/*.yar\"]", .help = "YARA rule files (globs) scanned against unknown binaries" },
	{ "Interpreters", T_OTHER, LIST(interpreters, ninterpreters), .max = WARD_MAX_INTERPRETERS,
	  .type_name = "array of names or paths", .parse = key_interpreters, .show = show_interpreters,
	  .dflt = "[\"sh\", \"bash\", \"dash\", \"zsh\", \"ksh\", \"ksh93\", \"mksh\", \"csh\", \"tcsh\","
	          " \"fish\", \"busybox\", \"python\", \"python2*\", \"python3*\", \"pypy*\", \"perl\","
	          " \"perl5*\", \"ruby\", \"ruby[0-9]*\", \"node\", \"nodejs\", \"php\", \"php[0-9]*\","
	          " \"lua\", \"lua[0-9]*\", \"luajit*\", \"tclsh*\", \"wish*\", \"Rscript\", \"guile*\","
	          " \"gawk\", \"mawk\", \"awk\", \"expect\"]",
	  .help = "programs whose script argument is decided as an exec ([] turns it off)" },
	{ "ScanBudgetMs", T_U32, FIELD(scan_budget_ms), .min = 1, .max = 600000, .dflt = "1000",
	  .help = "milliseconds a YARA scan of an unknown binary may take" },
	{ "ScanMaxBytes", T_U64, FIELD(scan_max_bytes), .min = 0, .max = UINT64_MAX >> 1,
	  .dflt = "268435456", .help = "larger unknown binaries are not scanned" },
	{ "EventLogPath", T_PATH, FIELD(event_log_path), .flags = K_SANTA,
	  .dflt = "\"/var/log/warden/events.jsonl\"", .help = "the JSON-lines event log" },
	{ "EventLogAllows", T_BOOL, FIELD(event_log_allows), .dflt = "false",
	  .help = "log allowed executions too, not only denials and unknowns" },
	{ "AdminGroup", T_GROUP, FIELD(admin_group), .dflt = "\"\"",
	  .help = "members may run administrative wardenctl verbs (\"\" = root only)" },
	{ "ExceptionPolicy", T_OTHER, FIELD(exception_policy), .type_name = "dictionary",
	  .parse = key_exception_policy, .show = show_exception_policy,
	  .dflt = "{\"Enabled\": true, \"AllowedScopes\": [\"CDHASH\", \"BINARY\", \"SIGNINGID\"],"
	          " \"MaxExpirySeconds\": 2592000}",
	  .help = "what users may request and approvers grant (Enabled, ApproverGroup, AllowedScopes, MaxExpirySeconds)" },
	{ "FileAccessPolicy", T_OTHER, .flags = K_SANTA, .type_name = "dictionary",
	  .parse = key_file_access_policy, .show = show_file_access_policy,
	  .help = "watch items deciding opens (Santa's FileAccessPolicy)" },
	{ "FileAccessPolicyPlist", T_OTHER, .flags = K_SANTA, .type_name = "path",
	  .parse = key_file_access_policy_plist, .help = "the FileAccessPolicy in its own plist file" },
	{ "ProfileTrustAnchors", T_PATHS, LIST(trust_anchors, ntrust_anchors), .max = WARD_MAX_TRUST_ANCHORS,
	  .flags = K_LOCAL, .dflt = "[]", .help = "PEM certificates that may sign profiles (warden.conf only)" },
	{ "RequireSignedProfiles", T_BOOL, FIELD(require_signed_profiles), .flags = K_LOCAL, .dflt = "false",
	  .help = "refuse profiles not signed by a ProfileTrustAnchors certificate (warden.conf only)" },
	{ "SyncBaseURL", T_STR, FIELD(sync.base_url), .flags = K_SANTA, .dflt = "\"\"", .parse = key_sync_url,
	  .help = "the Santa sync server (https:// only; \"\" = no sync)" },
	{ "MachineID", T_IDENT, FIELD(sync.machine_id), .flags = K_SANTA, .dflt = "\"\"",
	  .help = "this machine's ID for the sync server (\"\": MachineIDPlist, else /etc/machine-id)" },
	{ "MachineIDPlist", T_OPTPATH, FIELD(sync.machine_id_plist), .flags = K_SANTA, .dflt = "\"\"",
	  .help = "a plist holding the machine ID under MachineIDKey" },
	{ "MachineIDKey", T_STR, FIELD(sync.machine_id_key), .flags = K_SANTA, .dflt = "\"\"",
	  .help = "the key of MachineIDPlist" },
	{ "MachineOwner", T_STR, FIELD(sync.machine_owner), .flags = K_SANTA, .dflt = "\"\"",
	  .help = "primary_user sent in preflight" },
	{ "ClientAuthCertificateFile", T_OPTPATH, FIELD(sync.client_cert), .flags = K_SANTA, .dflt = "\"\"",
	  .help = "PEM client certificate for mutual TLS" },
	{ "ClientAuthKeyFile", T_OPTPATH, FIELD(sync.client_key), .dflt = "\"\"",
	  .help = "PEM key of the client certificate (\"\": in the certificate file)" },
	{ "ServerAuthRootsFile", T_OPTPATH, FIELD(sync.server_roots), .flags = K_SANTA, .dflt = "\"\"",
	  .help = "the only CAs trusted for the sync server (pinning)" },
	{ "SyncExtraHeaders", T_OTHER, FIELD(sync.extra_headers), .flags = K_SANTA, .type_name = "dictionary",
	  .parse = key_sync_headers, .show = show_sync_headers, .dflt = "{}",
	  .help = "extra HTTP headers for every sync request" },
	{ "FullSyncInterval", T_U32, FIELD(sync.full_sync_interval_s), .min = 60, .max = 7u * 24 * 3600,
	  .flags = K_SANTA, .dflt = "600", .help = "seconds between full syncs" },
	{ "SyncUser", T_GROUP, FIELD(sync.user), .dflt = "\"warden-sync\"",
	  .help = "the account warden-sync runs as; it may apply synced rules" },
	{ "SyncEnableProtoTransfer", T_OTHER, .flags = K_SANTA | K_REFUSED, .type_name = "boolean",
	  .parse = key_sync_refused, .help = "refused unless false: warden-sync speaks JSON only" },
	{ "ClientAuthCertificatePassword", T_OTHER, .flags = K_SANTA | K_REFUSED, .type_name = "string",
	  .parse = key_sync_refused, .help = "refused: use PEM files (ClientAuthCertificateFile)" },
	{ "ClientAuthCertificateCN", T_OTHER, .flags = K_SANTA | K_REFUSED, .type_name = "string",
	  .parse = key_sync_refused, .help = "refused: keychain identities are macOS-only" },
	{ "ClientAuthCertificateIssuerCN", T_OTHER, .flags = K_SANTA | K_REFUSED, .type_name = "string",
	  .parse = key_sync_refused, .help = "refused: keychain identities are macOS-only" },
	{ "EnableTransitiveRules", T_BOOL, FIELD(enable_transitive_rules), .flags = K_SANTA, .dflt = "false",
	  .help = "ALLOWLIST_COMPILER rules act as compilers and transitive rules match (Santa's default: off)" },
	{ "EnableBadSignatureProtection", T_BOOL, FIELD(enable_bad_signature_protection), .flags = K_SANTA,
	  .dflt = "false", .help = "a Mach-O with an invalid code signature is denied in every mode unless a BINARY rule names it" },
	{ "EnableSilentMode", T_BOOL, FIELD(notify.silent_mode), .flags = K_SANTA, .dflt = "false",
	  .help = "no message to the user of a denied program (warden has no GUI: its terminal line)" },
	{ "EnableSilentTTYMode", T_BOOL, FIELD(notify.silent_tty_mode), .flags = K_SANTA, .dflt = "false",
	  .help = "no line on the denied program's terminal" },
	{ "EventDetailURL", T_STR, FIELD(notify.event_detail_url), .flags = K_SANTA, .dflt = "\"\"",
	  .parse = key_detail_url,
	  .help = "URL on a denied program's terminal line, Santa's %placeholders% expanded (\"null\": none)" },
	{ "EventDetailText", T_STR, FIELD(notify.event_detail_text), .flags = K_SANTA, .dflt = "\"\"",
	  .parse = key_block_text, .help = "the label before that URL (\"\" = \"More info\")" },
	{ "BannedBlockMessage", T_STR, FIELD(notify.banned_block_message), .flags = K_SANTA,
	  .dflt = "\"\"", .parse = key_block_text,
	  .help = "message for a program denied by a rule without custom_msg (\"\" = Santa's)" },
	{ "UnknownBlockMessage", T_STR, FIELD(notify.unknown_block_message), .flags = K_SANTA,
	  .dflt = "\"\"", .parse = key_block_text,
	  .help = "message for a program denied as unknown (\"\" = Santa's)" },
};

#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static const struct keydef *key_find(const char *name)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (strcmp(name, keys[i].name) == 0)
			return &keys[i];
	return NULL;
}

/* Read v into the field of kd by its type. */
static int key_by_type(struct ctx *c, const struct keydef *kd, const json_t *v, unsigned long line)
{
	char *field = (char *)&c->st->cfg + kd->off;
	uint64_t n = 0;

	switch (kd->type) {
	case T_BOOL:
		return want_bool(c, v, kd->name, line, (bool *)field);
	case T_U32:
		if (want_uint(c, v, kd->name, line, kd->min, kd->max, &n) != 0)
			return -1;
		*(uint32_t *)field = (uint32_t)n;
		return 0;
	case T_U64:
		return want_uint(c, v, kd->name, line, kd->min, kd->max, (uint64_t *)field);
	case T_STR:
		return want_string(c, v, kd->name, line, field, kd->size);
	case T_IDENT:
		return want_ident(c, v, kd->name, line, field, kd->size);
	case T_GROUP:
		return want_group(c, v, kd->name, line, field, kd->size);
	case T_PATH:
		return want_path(c, v, kd->name, line, field, kd->size);
	case T_OPTPATH:
		return want_opt_path(c, v, kd->name, line, field);
	case T_REGEX:
		return want_regex(c, v, kd->name, line, field, kd->size);
	case T_PATHS: {
		char tmp[WARD_MAX_TRUSTED_PATHS][WARD_MAX_PATH];
		unsigned cnt = 0;
		_Static_assert(WARD_MAX_YARA_PATHS <= WARD_MAX_TRUSTED_PATHS &&
		               WARD_MAX_TRUST_ANCHORS <= WARD_MAX_TRUSTED_PATHS, "tmp holds every list");
		if ((kd->flags & K_LIST) && json_is_string(v))
			return bad(c, WARD_E_INVAL, line, kd->name, "expected an array of absolute paths");
		if (kd->size != kd->max * WARD_MAX_PATH || kd->max > WARD_MAX_TRUSTED_PATHS ||
		    want_paths(c, v, kd->name, line, tmp, (unsigned)kd->max, &cnt) != 0)
			return -1;
		memcpy(field, tmp, kd->size);
		*(unsigned *)((char *)&c->st->cfg + kd->count_off) = cnt;
		return 0;
	}
	case T_OTHER:
		break;
	}
	return bad(c, WARD_E_INVAL, line, kd->name, "no parser (a bug in the key table)");
}

static int key_apply(struct ctx *c, const struct keydef *kd, const json_t *dict, const json_t *v,
                     unsigned long line)
{
	return kd->parse ? kd->parse(c, dict, kd->name, v, line) : key_by_type(c, kd, v, line);
}

/* The value of kd in cfg as JSON (a new reference), NULL when it is not printed. */
static json_t *key_show(const struct keydef *kd, const ward_config_t *cfg)
{
	const char *field = (const char *)cfg + kd->off;

	if (kd->show)
		return kd->show(cfg);
	switch (kd->type) {
	case T_BOOL:
		return json_boolean(*(const bool *)field);
	case T_U32:
		return json_integer(*(const uint32_t *)field);
	case T_U64:
		return json_integer((json_int_t)*(const uint64_t *)field);
	case T_REGEX:
		return field[0] ? json_string(field) : json_null(); /* unset: apply reads null as unset */
	case T_STR: case T_IDENT: case T_GROUP: case T_PATH: case T_OPTPATH:
		return json_string(field);
	case T_PATHS: {
		json_t *a = json_array();
		unsigned n = *(const unsigned *)((const char *)cfg + kd->count_off);
		for (unsigned i = 0; a && i < n; i++)
			json_array_append_new(a, json_string(field + (size_t)i * WARD_MAX_PATH));
		return a;
	}
	case T_OTHER:
		break;
	}
	return NULL;
}

/*
 * Santa's other configuration keys (santa.dev, "Configuration keys", and the older
 * docs/deployment/configuration.md): read, not enforced, each warned about by name at
 * load and listed in `wardenctl status`. A key here that warden comes to enforce moves
 * to keys[] above.
 */
#define NO_GUI "warden has no GUI"
#define NO_USB "warden has no USB mount control"
#define NO_MACOS_LOG "warden writes its own JSON event log (EventLogPath)"
static const struct santa_key {
	const char *name;
	const char *why;
} santa_unenforced[] = {
	{ "EnablePageZeroProtection", "32-bit Mach-O programs without __PAGEZERO are not detected (such "
	  "programs run neither on Linux nor on current macOS)" },
	{ "EnableStandalonePasswordFallback", "STANDALONE mode (ClientMode 3) is not supported" },
	{ "IgnoreOtherEndpointSecurityClients", "events of other EndpointSecurity clients are decided like any other" },
	{ "EnableDebugLogging", "use wardend --debug" },
	{ "EnableStatsCollection", "warden sends no statistics anywhere" },
	{ "StatsOrganizationID", "warden sends no statistics anywhere" },
	{ "AboutText", NO_GUI },
	{ "MoreInfoURL", NO_GUI },
	{ "DismissText", NO_GUI },
	{ "ModeNotificationMonitor", NO_GUI },
	{ "ModeNotificationLockdown", NO_GUI },
	{ "FileAccessBlockMessage", NO_GUI },
	{ "EnableNotificationSilences", NO_GUI },
	{ "BannedUSBBlockMessage", NO_USB },
	{ "RemountUSBBlockMessage", NO_USB },
	{ "BlockUSBMount", NO_USB },
	{ "RemountUSBMode", NO_USB },
	{ "OnStartUSBOptions", NO_USB },
	{ "FileChangesRegex", "file-change telemetry is not logged" },
	{ "FileChangesPrefixFilters", "file-change telemetry is not logged" },
	{ "Telemetry", "warden logs decisions only (EventLogPath)" },
	{ "EnableForkAndExitLogging", "warden logs decisions only (EventLogPath)" },
	{ "SpoolDirectory", NO_MACOS_LOG },
	{ "SpoolDirectoryFileSizeThresholdKB", NO_MACOS_LOG },
	{ "SpoolDirectorySizeThresholdMB", NO_MACOS_LOG },
	{ "SpoolDirectoryEventMaxFlushTimeSec", NO_MACOS_LOG },
	{ "EnableMachineIDDecoration", "log lines do not carry the MachineID" },
	{ "EntitlementsPrefixFilter", "entitlements are not logged" },
	{ "EntitlementsTeamIDFilter", "entitlements are not logged" },
	{ "FileAccessPolicyUpdateIntervalSec", "FileAccessPolicyPlist is re-read when it changes (inotify), not on a timer" },
	{ "OverrideFileAccessAction", "the file-access policy is enforced as each watch item says" },
	{ "MetricFormat", "metrics are read with `wardenctl status --json`, not exported" },
	{ "MetricURL", "metrics are read with `wardenctl status --json`, not exported" },
	{ "MetricExportInterval", "metrics are read with `wardenctl status --json`, not exported" },
	{ "MetricExportTimeout", "metrics are read with `wardenctl status --json`, not exported" },
	{ "MetricExtraLabels", "metrics are read with `wardenctl status --json`, not exported" },
	{ "SyncProxyConfiguration", "warden-sync uses libcurl's proxy environment (https_proxy)" },
	{ "SyncEnableCleanSyncEventUpload", "events are uploaded on every sync, clean or not" },
	{ "SyncClientContentEncoding", "warden-sync always sends deflate-compressed requests" },
	{ "ServerAuthRootsData", "give the PEM file in ServerAuthRootsFile" },
	{ "MachineOwnerPlist", "give MachineOwner" },
	{ "MachineOwnerKey", "give MachineOwner" },
	{ "EnableAllEventUpload", "warden-sync uploads denials and unknown programs only" },
	{ "DisableUnknownEventUpload", "warden-sync uploads unknown programs allowed in MONITOR" },
	{ "EnableSysxCache", "warden keeps its own verdict cache" },
};

static const char *santa_unenforced_why(const char *key)
{
	for (size_t i = 0; i < sizeof(santa_unenforced) / sizeof(santa_unenforced[0]); i++)
		if (strcmp(key, santa_unenforced[i].name) == 0)
			return santa_unenforced[i].why;
	return NULL;
}

/* A key that is read but not enforced: a warning naming it, and a line in status. */
static void not_enforced(struct ctx *c, const char *key, unsigned long line, const char *why)
{
	char here[WARD_MAX_PATH + 32];

	warn(c, line, key, "Santa key NOT ENFORCED by warden: %s", why);
	where(c, line, here, sizeof(here));
	json_array_append_new(c->st->not_enforced,
	                      json_pack("{s:s, s:s, s:s}", "key", key, "origin", here, "why", why));
}

static void apply_dict(struct ctx *c, const json_t *dict)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)dict, key, v) {
		unsigned long line = line_of(c, dict, key);
		const struct keydef *kd = key_find(key);

		if (strncmp(key, "Payload", 7) == 0)
			continue; /* payload metadata, not configuration */
		if (kd == NULL) {
			const char *why = santa_unenforced_why(key);
			if (strcmp(key, "EventLogType") == 0) {
				if (!json_is_string(v) || strcasecmp(json_string_value(v), "json") != 0)
					not_enforced(c, key, line, "warden always writes JSON lines to EventLogPath");
			} else if (why != NULL) {
				not_enforced(c, key, line, why);
			} else if (c->src->santa) {
				not_enforced(c, key, line, "warden does not implement this key (or it is misspelt)");
			} else {
				warn(c, line, key, "unknown key; ignored");
			}
			continue;
		}
		if (c->src->santa && !(kd->flags & K_SANTA)) {
			warn(c, line, key, "not a Santa key: set it in a com.warden.agent payload; ignored");
			continue;
		}
		if ((kd->flags & K_LOCAL) && !c->src->local) {
			bad(c, WARD_E_PERM, line, key,
			    "may only be set in warden.conf: a profile cannot choose how profiles are trusted");
			continue;
		}
		if (key_apply(c, kd, dict, v, line) == 0)
			set_origin(c, key, line);
	}
}

/* ---------------------------------------------------------------- defaults */

static ward_config_t g_defaults;
static pthread_once_t g_defaults_once = PTHREAD_ONCE_INIT;

/* The table's defaults, read once through the keys' own parsers. */
static void defaults_build(void)
{
	static struct state st; /* only cfg is used: no origin, rules or policy */
	struct src src = { "(defaults)", NULL, true, false };
	struct ctx c = { &st, &src, NULL, 0, { 0, "" } };

	memset(&st, 0, sizeof(st));
	for (size_t i = 0; i < NKEYS; i++) {
		json_error_t je;
		json_t *v;
		if (keys[i].dflt == NULL)
			continue;
		v = json_loads(keys[i].dflt, JSON_DECODE_ANY, &je);
		if (v == NULL || key_apply(&c, &keys[i], NULL, v, 0) != 0) {
			fprintf(stderr, "warden: the default of %s does not parse: %s\n", keys[i].name,
			        v ? c.first.msg : je.text);
			abort();
		}
		json_decref(v);
	}
	g_defaults = st.cfg;
}

void ward_config_defaults(ward_config_t *cfg)
{
	pthread_once(&g_defaults_once, defaults_build);
	*cfg = g_defaults;
}

json_t *ward_config_keys_json(void)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < NKEYS; i++) {
		const struct keydef *kd = &keys[i];
		json_t *o = json_pack("{s:s, s:s, s:s, s:b, s:b, s:b}", "name", kd->name, "type",
		                      kd->type == T_OTHER ? kd->type_name : ktype_names[kd->type], "help",
		                      kd->help, "santa", (kd->flags & K_SANTA) != 0, "local_only",
		                      (kd->flags & K_LOCAL) != 0, "refused", (kd->flags & K_REFUSED) != 0);
		if (o == NULL)
			continue;
		json_object_set_new(o, "default", kd->dflt ? json_loads(kd->dflt, JSON_DECODE_ANY, NULL)
		                                           : json_null());
		if (kd->type == T_U32 || kd->type == T_U64)
			json_object_set_new(o, "range", json_pack("[I, I]", (json_int_t)kd->min, (json_int_t)kd->max));
		json_array_append_new(a, o);
	}
	return a;
}

json_t *ward_config_santa_unenforced_json(void)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < sizeof(santa_unenforced) / sizeof(santa_unenforced[0]); i++)
		json_array_append_new(a, json_pack("{s:s, s:s}", "name", santa_unenforced[i].name, "why",
		                                   santa_unenforced[i].why));
	return a;
}

/* ---------------------------------------------------------------- public: apply */

ward_err_t ward_config_apply(ward_config_t *cfg, const json_t *dict, ward_error_t *err)
{
	struct src src = { NULL, NULL, true, false };
	struct state st;
	struct ctx c = { &st, &src, NULL, 0, { 0, "" } };

	if (!json_is_object(dict))
		return ward_error_set(err, WARD_E_INVAL, "configuration: expected a dictionary");
	if (state_init(&st) != WARD_OK) {
		state_fini(&st);
		return ward_error_set(err, WARD_E_NOMEM, "out of memory");
	}
	st.cfg = *cfg;
	apply_dict(&c, dict);
	if (c.nerrors == 0)
		*cfg = st.cfg;
	state_fini(&st);
	if (c.nerrors == 0)
		return WARD_OK;
	if (err)
		*err = c.first;
	return c.first.code;
}

/* ---------------------------------------------------------------- files */

/*
 * Read a whole regular file of at most max bytes. With strict, the file must be owned
 * by root or the caller's euid and not writable by group or others: otherwise anyone
 * who can write it controls warden.
 */
static ward_err_t read_file(const char *path, size_t max, bool strict, char **buf, size_t *len,
                            ward_error_t *err)
{
	struct stat sb;
	size_t off = 0;
	char *b;
	int fd;

	*buf = NULL;
	*len = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0)
		return ward_error_set(err, errno == ENOENT ? WARD_E_NOTFOUND : WARD_E_IO, "cannot open: %s",
		                      strerror(errno));
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		return ward_error_set(err, WARD_E_IO, "not a regular file");
	}
	if (strict && ((sb.st_uid != 0 && sb.st_uid != geteuid()) || (sb.st_mode & 022))) {
		close(fd);
		return ward_error_set(err, WARD_E_PERM,
		                      "insecure permissions (owner uid %u, mode %04o): must be owned by root and not group/other-writable",
		                      (unsigned)sb.st_uid, (unsigned)(sb.st_mode & 07777));
	}
	if ((uint64_t)sb.st_size > max) {
		close(fd);
		return ward_error_set(err, WARD_E_LIMIT, "%lld bytes, more than %zu", (long long)sb.st_size, max);
	}
	if ((b = malloc((size_t)sb.st_size + 1)) == NULL) {
		close(fd);
		return ward_error_set(err, WARD_E_NOMEM, "out of memory");
	}
	while (off < (size_t)sb.st_size) {
		ssize_t n = read(fd, b + off, (size_t)sb.st_size - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			free(b);
			close(fd);
			return ward_error_set(err, WARD_E_IO, "read: %s", strerror(e));
		}
		if (n == 0)
			break; /* shrank while reading: take what is there */
		off += (size_t)n;
	}
	close(fd);
	b[off] = '\0';
	*buf = b;
	*len = off;
	return WARD_OK;
}

/* Split "line N: rest" (the convention of plist.c and mobileconfig.c). */
static const char *split_line(const char *msg, unsigned long *line)
{
	unsigned long l;
	int used = 0;

	*line = 0;
	if (sscanf(msg, "line %lu: %n", &l, &used) == 1 && used > 0) {
		*line = l;
		return msg + used;
	}
	return msg;
}

static void add_source(json_t *sources, const char *file, const char *kind, const ward_profile_t *p)
{
	json_t *o = json_object();

	if (o == NULL)
		return;
	json_object_set_new(o, "file", json_string(file));
	json_object_set_new(o, "kind", json_string(kind));
	json_object_set_new(o, "signed", json_boolean(p && ward_profile_is_signed(p)));
	if (p && ward_profile_is_signed(p)) {
		json_object_set_new(o, "signer", json_string(ward_profile_signer(p)));
		json_object_set_new(o, "verified", json_boolean(ward_profile_signer_verified(p)));
	}
	json_array_append_new(sources, o);
}

static void load_conf(struct ctx *c, json_t *sources, const char *path, const char *buf, size_t len)
{
	struct src src = { path, NULL, true, false };
	const struct src *saved = c->src;
	json_error_t jerr;
	json_t *root;

	c->src = &src;
	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		bad(c, WARD_E_MALFORMED, (unsigned long)(jerr.line > 0 ? jerr.line : 0), NULL,
		    "column %d: %s", jerr.column, jerr.text);
	} else if (!json_is_object(root)) {
		bad(c, WARD_E_INVAL, 1, NULL, "expected a JSON object of configuration keys");
	} else {
		apply_dict(c, root);
		add_source(sources, path, "conf", NULL);
	}
	json_decref(root);
	c->src = saved;
}

static void load_profile(struct ctx *c, json_t *sources, const char *path, const char *buf,
                         size_t len, const ward_anchors_t *trust, bool require_signed)
{
	struct src src = { path, NULL, false, false };
	const struct src *saved = c->src;
	ward_error_t e = { 0 };
	ward_profile_t *p = NULL;
	unsigned long line;
	const char *msg;

	c->src = &src;
	if (ward_profile_read(path, buf, len, trust, require_signed ? WARD_PROFILE_REQUIRE_SIGNED : 0,
	                      &p, c->diags, &e) != WARD_OK) {
		msg = split_line(e.msg, &line);
		bad(c, e.code, line, NULL, "%s", msg);
		c->src = saved;
		return;
	}
	src.lines = ward_profile_lines(p);
	for (size_t i = 0; i < ward_profile_npayloads(p); i++) {
		const ward_payload_t *pl = ward_profile_payload(p, i);
		src.santa = pl->kind == WARD_PAYLOAD_SANTA;
		apply_dict(c, pl->keys);
	}
	add_source(sources, path, "profile", p);
	ward_profile_free(p);
	c->src = saved;
}

static bool looks_json(const char *buf, size_t len)
{
	size_t i = 0;

	while (i < len && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r' || buf[i] == '\n'))
		i++;
	return i < len && buf[i] == '{';
}

/* Whether dir is macOS's managed preferences directory (trailing slashes aside). */
static bool managed_dir(const char *dir)
{
	size_t n = strlen(dir), m = strlen(WARD_MANAGED_PREFS_DIR);

	while (n > 1 && dir[n - 1] == '/')
		n--;
	return n == m && memcmp(dir, WARD_MANAGED_PREFS_DIR, m) == 0;
}

bool ward_config_profile_name(const char *dir, const char *n)
{
	static const char *const domains[] = { "com.warden.agent.plist", "com.northpolesec.santa.plist",
	                                       "com.google.santa.plist" };
	size_t l = strlen(n);

	if (n[0] == '.')
		return false;
	if (dir != NULL && managed_dir(dir)) {
		/* every app's managed preferences live there: only warden's and Santa's domains */
		for (size_t i = 0; i < sizeof(domains) / sizeof(domains[0]); i++)
			if (strcmp(n, domains[i]) == 0)
				return true;
		return false;
	}
	return (l > 13 && strcmp(n + l - 13, ".mobileconfig") == 0) ||
	       (l > 6 && strcmp(n + l - 6, ".plist") == 0);
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Final checks across keys, after every source: warnings only. */
static const char *origin_or_default(const struct ctx *c, const char *key)
{
	const char *s = json_string_value(json_object_get(c->st->origin, key));

	return s ? s : "default";
}

static void cross_checks(struct ctx *c)
{
	const ward_config_t *cfg = &c->st->cfg;
	struct src none = { NULL, NULL, true, false };
	const struct src *saved = c->src;

	c->src = &none;
	if (cfg->scan_budget_ms >= cfg->decision_budget_ms)
		warn(c, 0, "ScanBudgetMs",
		     "%u ms (from %s) is not below DecisionBudgetMs %u ms (from %s): scans will always be cut short",
		     cfg->scan_budget_ms, origin_or_default(c, "ScanBudgetMs"), cfg->decision_budget_ms,
		     origin_or_default(c, "DecisionBudgetMs"));
	c->src = saved;
}

static ward_confset_t *confset_new(void)
{
	ward_confset_t *cs = calloc(1, sizeof(*cs));

	if (cs == NULL)
		return NULL;
	if (state_init(&cs->st) != WARD_OK || (cs->sources = json_array()) == NULL ||
	    (cs->warnings = json_array()) == NULL) {
		ward_confset_free(cs);
		return NULL;
	}
	return cs;
}

void ward_confset_free(ward_confset_t *cs)
{
	if (cs == NULL)
		return;
	state_fini(&cs->st);
	json_decref(cs->sources);
	json_decref(cs->warnings);
	ward_anchors_free(cs->trust);
	free(cs);
}

/* Hand the result over, or drop it with the first error. */
static ward_err_t finish(struct ctx *c, ward_confset_t *cs, ward_confset_t **out, json_t *diags,
                         ward_error_t *err)
{
	size_t i;
	json_t *d;

	json_array_foreach(c->diags, i, d) {
		const char *sev = json_string_value(json_object_get(d, "severity"));
		if (diags)
			json_array_append(diags, d);
		if (sev && strcmp(sev, "warning") == 0)
			json_array_append(cs->warnings, d);
	}
	json_decref(c->diags);
	if (c->nerrors > 0) {
		ward_confset_free(cs);
		if (c->nerrors > 1) {
			size_t l = strlen(c->first.msg);
			snprintf(c->first.msg + l, sizeof(c->first.msg) - l, " (and %u more error%s)",
			         c->nerrors - 1, c->nerrors > 2 ? "s" : "");
		}
		if (err)
			*err = c->first;
		return c->first.code;
	}
	*out = cs;
	return WARD_OK;
}

static void load_trust(struct ctx *c, ward_confset_t *cs, const char *conf_file)
{
	const ward_config_t *cfg = &cs->st.cfg;
	struct src src = { conf_file, NULL, true, false };
	const struct src *saved = c->src;
	const char *paths[WARD_MAX_TRUST_ANCHORS];
	ward_error_t e = { 0 };

	c->src = &src;
	if (cfg->ntrust_anchors > 0) {
		for (unsigned i = 0; i < cfg->ntrust_anchors; i++)
			paths[i] = cfg->trust_anchors[i];
		if (ward_anchors_load(paths, cfg->ntrust_anchors, &cs->trust, &e) != WARD_OK)
			bad(c, e.code, 0, NULL, "%s", e.msg);
	} else if (cfg->require_signed_profiles) {
		bad(c, WARD_E_INVAL, 0, "RequireSignedProfiles",
		    "set, but no ProfileTrustAnchors to verify signatures with");
	}
	c->src = saved;
}

ward_err_t ward_config_load_sources(const char *conf_file, const char *profile_dir,
                                    unsigned flags, ward_confset_t **out, json_t *diags,
                                    ward_error_t *err)
{
	struct src none = { NULL, NULL, true, false };
	bool strict = (flags & WARD_LOAD_STRICT_PERMS) != 0;
	ward_confset_t *cs;
	struct ctx c;
	char *names[WARD_MAX_PROFILE_FILES];
	size_t nnames = 0;

	*out = NULL;
	if ((cs = confset_new()) == NULL)
		return ward_error_set(err, WARD_E_NOMEM, "out of memory");
	memset(&c, 0, sizeof(c));
	c.st = &cs->st;
	c.src = &none;
	if ((c.diags = json_array()) == NULL) {
		ward_confset_free(cs);
		return ward_error_set(err, WARD_E_NOMEM, "out of memory");
	}

	if (conf_file != NULL) {
		struct src at = { conf_file, NULL, true, false };
		ward_error_t e = { 0 };
		char *buf;
		size_t len;

		if (read_file(conf_file, WARD_MAX_CONF_BYTES, strict, &buf, &len, &e) == WARD_OK) {
			load_conf(&c, cs->sources, conf_file, buf, len);
			free(buf);
		} else if (e.code != WARD_E_NOTFOUND || (flags & WARD_LOAD_CONF_REQUIRED)) {
			c.src = &at;
			bad(&c, e.code, 0, NULL, "%s", e.msg);
			c.src = &none;
		}
	}
	load_trust(&c, cs, conf_file);

	if (profile_dir != NULL && c.nerrors == 0) {
		struct src at = { profile_dir, NULL, false, false };
		struct stat sb;
		DIR *dir = opendir(profile_dir);
		struct dirent *de;

		c.src = &at;
		if (dir == NULL) {
			if (errno != ENOENT)
				bad(&c, WARD_E_IO, 0, NULL, "cannot open the profiles directory: %s", strerror(errno));
		} else if (strict && (fstat(dirfd(dir), &sb) != 0 ||
		                      (sb.st_uid != 0 && sb.st_uid != geteuid()) || (sb.st_mode & 022))) {
			bad(&c, WARD_E_PERM, 0, NULL,
			    "insecure permissions on the profiles directory: must be owned by root and not group/other-writable");
		} else {
			while ((de = readdir(dir)) != NULL) {
				if (!ward_config_profile_name(profile_dir, de->d_name))
					continue;
				if (nnames == WARD_MAX_PROFILE_FILES) {
					bad(&c, WARD_E_LIMIT, 0, NULL, "more than %u profiles", WARD_MAX_PROFILE_FILES);
					break;
				}
				if ((names[nnames] = strdup(de->d_name)) == NULL) {
					bad(&c, WARD_E_NOMEM, 0, NULL, "out of memory");
					break;
				}
				nnames++;
			}
		}
		if (dir)
			closedir(dir);
		c.src = &none;
		qsort(names, nnames, sizeof(names[0]), name_cmp);
		for (size_t i = 0; i < nnames; i++) {
			char path[WARD_MAX_PATH + 256];
			struct src fat = { path, NULL, false, false };
			ward_error_t e = { 0 };
			char *buf;
			size_t len;

			snprintf(path, sizeof(path), "%s%s%s", profile_dir,
			         profile_dir[strlen(profile_dir) - 1] == '/' ? "" : "/", names[i]);
			if (read_file(path, WARD_MAX_PROFILE_BYTES, strict, &buf, &len, &e) != WARD_OK) {
				c.src = &fat;
				bad(&c, e.code, 0, NULL, "%s", e.msg);
				c.src = &none;
				continue;
			}
			load_profile(&c, cs->sources, path, buf, len, cs->trust,
			             cs->st.cfg.require_signed_profiles);
			free(buf);
		}
		for (size_t i = 0; i < nnames; i++)
			free(names[i]);
	}
	cross_checks(&c);
	return finish(&c, cs, out, diags, err);
}

ward_err_t ward_config_validate_file(const char *path, const ward_confset_t *base,
                                     ward_confset_t **out, json_t *diags, ward_error_t *err)
{
	struct src none = { NULL, NULL, true, false }, at = { path, NULL, false, false };
	ward_confset_t *cs;
	ward_error_t e = { 0 };
	struct ctx c;
	char *buf;
	size_t len;

	*out = NULL;
	if ((cs = confset_new()) == NULL)
		return ward_error_set(err, WARD_E_NOMEM, "out of memory");
	memset(&c, 0, sizeof(c));
	c.st = &cs->st;
	c.src = &none;
	if ((c.diags = json_array()) == NULL) {
		ward_confset_free(cs);
		return ward_error_set(err, WARD_E_NOMEM, "out of memory");
	}
	if (read_file(path, WARD_MAX_PROFILE_BYTES, false, &buf, &len, &e) != WARD_OK) {
		c.src = &at;
		bad(&c, e.code, 0, NULL, "%s", e.msg);
	} else {
		if (looks_json(buf, len)) {
			load_conf(&c, cs->sources, path, buf, len);
			if (c.nerrors == 0)
				load_trust(&c, cs, path);
		} else
			load_profile(&c, cs->sources, path, buf, len, base ? base->trust : NULL,
			             base ? base->st.cfg.require_signed_profiles : false);
		free(buf);
	}
	cross_checks(&c);
	return finish(&c, cs, out, diags, err);
}

ward_err_t ward_config_load_json_file(ward_config_t *cfg, const char *path, ward_error_t *err)
{
	struct src none = { NULL, NULL, true, false };
	ward_error_t e = { 0 };
	struct state st;
	struct ctx c;
	json_t *sources = json_array();
	char *buf;
	size_t len;

	memset(&c, 0, sizeof(c));
	if (sources == NULL || state_init(&st) != WARD_OK) {
		json_decref(sources);
		state_fini(&st);
		return ward_error_set(err, WARD_E_NOMEM, "out of memory");
	}
	st.cfg = *cfg;
	c.st = &st;
	c.src = &none;
	if (read_file(path, WARD_MAX_CONF_BYTES, false, &buf, &len, &e) != WARD_OK) {
		state_fini(&st);
		json_decref(sources);
		return ward_error_set(err, e.code, "%s: %s", path, e.msg);
	}
	load_conf(&c, sources, path, buf, len);
	free(buf);
	json_decref(sources);
	if (c.nerrors == 0)
		*cfg = st.cfg;
	state_fini(&st);
	if (c.nerrors == 0)
		return WARD_OK;
	if (err)
		*err = c.first;
	return c.first.code;
}

/* ---------------------------------------------------------------- accessors, JSON */

const ward_config_t *ward_confset_config(const ward_confset_t *cs)
{
	return &cs->st.cfg;
}

const ward_rule_t *ward_confset_rules(const ward_confset_t *cs, size_t *n)
{
	*n = cs->st.nrules;
	return cs->st.rules;
}

/* ---------------------------------------------------------------- store sync */

struct stored {
	json_t *managed; /* "TYPE:identifier" -> [policy, msg, url, comment] of stored PROFILE rules */
};

static json_t *rule_sig(const ward_rule_t *r)
{
	return json_pack("[i, s, s, s]", (int)r->policy, r->custom_msg ? r->custom_msg : "",
	                 r->custom_url ? r->custom_url : "", r->comment ? r->comment : "");
}

static int collect_managed(const ward_rule_t *r, void *arg)
{
	struct stored *s = arg;
	char key[WARD_RULE_ID_MAX + 32];

	if (r->source != WARD_SRC_PROFILE)
		return 0;
	snprintf(key, sizeof(key), "%s:%s", ward_rule_type_name(r->type), r->identifier);
	return json_object_set_new(s->managed, key, rule_sig(r)) != 0;
}

ward_err_t ward_confset_sync_rules(const ward_confset_t *cs, ward_store_t *st,
                                   ward_apply_stats_t *stats, ward_error_t *err)
{
	struct stored s = { json_object() };
	ward_rule_t *batch = NULL;
	size_t n = 0, cap;
	const char *key;
	json_t *sig;
	ward_err_t rc;

	if (stats)
		memset(stats, 0, sizeof(*stats));
	if (s.managed == NULL)
		return ward_error_set(err, WARD_E_NOMEM, "out of memory");
	if ((rc = ward_store_foreach(st, collect_managed, &s, err)) != WARD_OK) {
		json_decref(s.managed);
		return rc;
	}
	cap = cs->st.nrules + json_object_size(s.managed);
	if (cap > 0 && (batch = calloc(cap, sizeof(*batch))) == NULL) {
		json_decref(s.managed);
		return ward_error_set(err, WARD_E_NOMEM, "out of memory");
	}
	/* new or changed managed rules */
	for (size_t i = 0; i < cs->st.nrules; i++) {
		const ward_rule_t *r = &cs->st.rules[i];
		char k[WARD_RULE_ID_MAX + 32];
		json_t *want = rule_sig(r), *have;

		snprintf(k, sizeof(k), "%s:%s", ward_rule_type_name(r->type), r->identifier);
		have = json_object_get(s.managed, k);
		if (have == NULL || !json_equal(have, want))
			batch[n++] = *r;
		json_decref(want);
		if (have != NULL)
			json_object_set_new(s.managed, k, json_null()); /* still wanted */
	}
	/* managed rules no source lists any more */
	json_object_foreach(s.managed, key, sig) {
		const char *colon = strchr(key, ':');
		ward_rule_type_t t;
		char tname[16];

		if (json_is_null(sig) || colon == NULL || (size_t)(colon - key) >= sizeof(tname))
			continue;
		memcpy(tname, key, (size_t)(colon - key));
		tname[colon - key] = '\0';
		if (ward_rule_type_parse(tname, &t, NULL) != WARD_OK)
			continue;
		memset(&batch[n], 0, sizeof(batch[n]));
		batch[n].type = t;
		batch[n].policy = WARD_POL_REMOVE;
		batch[n].source = WARD_SRC_PROFILE;
		batch[n].identifier = colon + 1; /* lives in s.managed until the apply is done */
		n++;
	}
	rc = n > 0 ? ward_store_apply(st, batch, n, stats, err) : WARD_OK;
	free(batch);
	json_decref(s.managed);
	return rc;
}

const json_t *ward_confset_file_access_policy(const ward_confset_t *cs)
{
	return cs->st.fap;
}

const ward_faa_t *ward_confset_faa(const ward_confset_t *cs)
{
	return cs ? cs->st.faa : NULL;
}

const char *ward_confset_faa_plist(const ward_confset_t *cs)
{
	return cs ? cs->st.fap_plist : "";
}

const char *ward_confset_origin(const ward_confset_t *cs, const char *key)
{
	const char *s = json_string_value(json_object_get(cs->st.origin, key));

	return s ? s : "default";
}

const json_t *ward_confset_warnings(const ward_confset_t *cs)
{
	return cs->warnings;
}

const json_t *ward_confset_not_enforced(const ward_confset_t *cs)
{
	return cs->st.not_enforced;
}

const json_t *ward_confset_refused_rules(const ward_confset_t *cs)
{
	return cs->st.refused_rules;
}

json_t *ward_config_to_json(const ward_config_t *cfg)
{
	json_t *o = json_object();

	for (size_t i = 0; o && i < NKEYS; i++) {
		json_t *v = key_show(&keys[i], cfg);
		if (v != NULL)
			json_object_set_new(o, keys[i].name, v);
	}
	return o;
}

static json_t *rule_json(const ward_rule_t *r, const char *origin)
{
	json_t *o = json_object();

	if (o == NULL)
		return NULL;
	json_object_set_new(o, "identifier", json_string(r->identifier));
	json_object_set_new(o, "rule_type", json_string(ward_rule_type_name(r->type)));
	json_object_set_new(o, "policy", json_string(ward_policy_name(r->policy)));
	if (r->custom_msg && r->custom_msg[0])
		json_object_set_new(o, "custom_msg", json_string(r->custom_msg));
	if (r->custom_url && r->custom_url[0])
		json_object_set_new(o, "custom_url", json_string(r->custom_url));
	if (r->comment && r->comment[0])
		json_object_set_new(o, "comment", json_string(r->comment));
	json_object_set_new(o, "origin", json_string(origin));
	return o;
}

json_t *ward_confset_to_json(const ward_confset_t *cs)
{
	json_t *o = json_object(), *cfg = ward_config_to_json(&cs->st.cfg), *rules = json_array();
	json_t *origin = json_object();
	const char *k;
	json_t *v;

	if (!o || !cfg || !rules || !origin) {
		json_decref(o);
		json_decref(cfg);
		json_decref(rules);
		json_decref(origin);
		return NULL;
	}
	for (size_t i = 0; i < cs->st.nrules; i++)
		json_array_append_new(rules, rule_json(&cs->st.rules[i],
		                      json_string_value(json_array_get(cs->st.rule_origin, i))));
	json_object_set_new(cfg, "StaticRules", rules);
	json_object_set_new(cfg, "FileAccessPolicy", cs->st.fap ? json_deep_copy(cs->st.fap) : json_null());
	json_object_foreach(cfg, k, v) {
		if (strcmp(k, "StaticRules") == 0) {
			json_object_set_new(origin, k, json_string(cs->st.nrules ? "see each rule" : "default"));
			continue;
		}
		json_object_set_new(origin, k, json_string(ward_confset_origin(cs, k)));
	}
	json_object_set_new(o, "config", cfg);
	json_object_set_new(o, "origin", origin);
	json_object_set_new(o, "sources", json_deep_copy(cs->sources));
	json_object_set_new(o, "warnings", json_deep_copy(cs->warnings));
	json_object_set_new(o, "not_enforced", json_deep_copy(cs->st.not_enforced));
	json_object_set_new(o, "refused_rules", json_deep_copy(cs->st.refused_rules));
	return o;
}
