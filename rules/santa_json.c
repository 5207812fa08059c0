/*
 * Santa's rule JSON, in and out.
 *
 * The format is what `santactl rule --import/--export` reads and writes
 * (Source/santactl/Commands/SNTCommandRule.mm, Source/common/SNTRule.mm):
 *   {"rules": [{"identifier": "...", "policy": "ALLOWLIST", "rule_type": "TEAMID",
 *               "custom_msg": "...", "custom_url": "...", "comment": "..."}]}
 * As Santa does: keys are case-insensitive, policy and rule_type values too, "sha256"
 * stands in for a missing "identifier", empty texts mean none, and keys we do not use
 * (event_detail_button_label) are ignored. A CEL rule (cel_expr, policy CEL) is left
 * out and named (ward_rule_batch_refused): warden evaluates no CEL. Unlike Santa, a file is applied
 * whole or not at all, and the same rule twice in one file is an error. warden adds one
 * optional key, "expires_at" (ISO-8601 UTC), which Santa ignores.
 */
#include "rules/store_internal.h"

#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "rules/arena.h"

enum field { F_IDENTIFIER, F_SHA256, F_POLICY, F_RULE_TYPE, F_MSG, F_URL, F_COMMENT, F_EXPIRES,
             F__COUNT };

static const char *const field_names[F__COUNT] = {
	[F_IDENTIFIER] = "identifier", [F_SHA256] = "sha256",     [F_POLICY] = "policy",
	[F_RULE_TYPE] = "rule_type",   [F_MSG] = "custom_msg",    [F_URL] = "custom_url",
	[F_COMMENT] = "comment",       [F_EXPIRES] = "expires_at",
};

/* A string field: absent, null and "" are all "none" (NULL); anything else that is
 * not a string is an error. */
static ward_err_t string_field(json_t *v, size_t i, const char *name, const char **out,
                               ward_error_t *err)
{
	*out = NULL;
	if (v == NULL || json_is_null(v))
		return WARD_OK;
	if (!json_is_string(v))
		return ward_error_set(err, WARD_E_MALFORMED, "rules[%zu].%s: not a string", i, name);
	if (json_string_length(v) > 0)
		*out = json_string_value(v);
	return WARD_OK;
}

/* Copy a borrowed string into the arena (NULL stays NULL). */
static ward_err_t keep(ward_arena_t *arena, const char **s)
{
	if (*s != NULL && (*s = ward_arena_strndup(arena, *s, strlen(*s))) == NULL)
		return WARD_E_NOMEM;
	return WARD_OK;
}

/* Turn rule object o (rules[i]) into r; r's strings are copied into arena, so o may be
 * freed afterwards. */
static ward_err_t parse_rule(json_t *o, size_t i, ward_rule_source_t source,
                             const char *created_by, int64_t now, ward_arena_t *arena,
                             ward_rule_t *r, ward_error_t *err)
{
	json_t *f[F__COUNT] = { 0 };
	const char *key, *id = NULL, *policy = NULL, *type = NULL, *expires = NULL;
	char canon[WARD_RULE_ID_MAX + 1];
	ward_error_t e = { 0 };
	json_t *v;
	ward_err_t rc;

	if (!json_is_object(o))
		return ward_error_set(err, WARD_E_MALFORMED, "rules[%zu]: not an object", i);
	json_object_foreach(o, key, v) {
		for (int k = 0; k < F__COUNT; k++) {
			if (strcasecmp(key, field_names[k]) != 0)
				continue;
			if (f[k] != NULL)
				return ward_error_set(err, WARD_E_MALFORMED,
				                      "rules[%zu]: field \"%s\" given twice", i, field_names[k]);
			f[k] = v;
		}
	}
	memset(r, 0, sizeof(*r));
	r->source = source;
	r->created_by = created_by;
	if ((rc = string_field(f[F_IDENTIFIER], i, "identifier", &id, err)) != WARD_OK)
		return rc;
	if (id == NULL && (rc = string_field(f[F_SHA256], i, "sha256", &id, err)) != WARD_OK)
		return rc;
	if (id == NULL)
		return ward_error_set(err, WARD_E_INVAL, "rules[%zu].identifier: missing", i);
	if ((rc = string_field(f[F_POLICY], i, "policy", &policy, err)) != WARD_OK)
		return rc;
	if (policy == NULL)
		return ward_error_set(err, WARD_E_INVAL, "rules[%zu].policy: missing", i);
	if ((rc = string_field(f[F_RULE_TYPE], i, "rule_type", &type, err)) != WARD_OK)
		return rc;
	if (type == NULL)
		return ward_error_set(err, WARD_E_INVAL, "rules[%zu].rule_type: missing", i);
	if ((rc = ward_policy_parse(policy, &r->policy, &e)) != WARD_OK)
		return ward_error_set(err, rc, "rules[%zu].policy: %s", i, e.msg);
	if ((rc = ward_rule_type_parse(type, &r->type, &e)) != WARD_OK)
		return ward_error_set(err, rc, "rules[%zu].rule_type: %s", i, e.msg);
	if ((rc = ward_rule_identifier_canon(r->type, id, canon, &e)) != WARD_OK)
		return ward_error_set(err, rc, "rules[%zu].%s", i, e.msg);
	r->identifier = canon;
	if ((rc = string_field(f[F_MSG], i, "custom_msg", &r->custom_msg, err)) != WARD_OK ||
	    (rc = string_field(f[F_URL], i, "custom_url", &r->custom_url, err)) != WARD_OK ||
	    (rc = string_field(f[F_COMMENT], i, "comment", &r->comment, err)) != WARD_OK ||
	    (rc = string_field(f[F_EXPIRES], i, "expires_at", &expires, err)) != WARD_OK)
		return rc;
	if (expires != NULL) {
		/* Only absolute times: a duration in a file would mean a different instant
		 * every time the file is imported. */
		if (strlen(expires) < 10 || expires[4] != '-')
			return ward_error_set(err, WARD_E_INVAL, "rules[%zu].expires_at: '%.40s' is not an "
			                      "ISO-8601 time such as 2026-12-31T00:00:00Z", i, expires);
		if ((rc = ward_rule_time_parse(expires, now, &r->expires_at, &e)) != WARD_OK)
			return ward_error_set(err, rc, "rules[%zu].%s", i, e.msg);
		if (r->expires_at <= 0) /* 0 would mean "never" */
			return ward_error_set(err, WARD_E_INVAL, "rules[%zu].expires_at: not after 1970", i);
	}
	if ((rc = ward_rule_validate(r, &e)) != WARD_OK)
		return ward_error_set(err, rc, "rules[%zu].%s", i, e.msg);
	if (keep(arena, &r->identifier) != WARD_OK || keep(arena, &r->custom_msg) != WARD_OK ||
	    keep(arena, &r->custom_url) != WARD_OK || keep(arena, &r->comment) != WARD_OK)
		return ward_error_set(err, WARD_E_NOMEM, "out of memory at rules[%zu]", i);
	return WARD_OK;
}

struct ward_rule_batch {
	ward_arena_t arena;
	ward_rule_t *rules;
	size_t n, cap, max;
	int64_t now;
	size_t refused;          /* CEL rules left out */
	char refused_names[512]; /* "TYPE id, ..." */
};

/* A Santa CEL rule: a non-empty "cel_expr" (any case; santactl exports "" for every
 * rule) or the policy "CEL". */
static bool is_cel(json_t *o)
{
	const char *key;
	json_t *v;

	if (!json_is_object(o))
		return false;
	json_object_foreach(o, key, v) {
		if (strcasecmp(key, "cel_expr") == 0 && !json_is_null(v) &&
		    !(json_is_string(v) && json_string_length(v) == 0))
			return true;
		if (strcasecmp(key, "policy") == 0 && json_is_string(v) &&
		    strcasecmp(json_string_value(v), "CEL") == 0)
			return true;
	}
	return false;
}

static void refuse(ward_rule_batch_t *b, json_t *o)
{
	const char *type = NULL, *id = NULL, *key;
	size_t used = strlen(b->refused_names), cap = sizeof(b->refused_names);
	json_t *v;
	int n;

	json_object_foreach(o, key, v) {
		if (strcasecmp(key, "rule_type") == 0)
			type = json_string_value(v);
		else if (strcasecmp(key, "identifier") == 0 || (id == NULL && strcasecmp(key, "sha256") == 0))
			id = json_string_value(v);
	}
	b->refused++;
	if (used + 4 >= cap)
		return;
	n = snprintf(b->refused_names + used, cap - used, "%s%s %.80s", used ? ", " : "",
	             type ? type : "?", id ? id : "?");
	if (n < 0 || (size_t)n >= cap - used)
		memcpy(b->refused_names + cap - 4, "...", 4);
}

/*
 * The top level is read here, and each rule object with jansson on its own: a file of a
 * million rules never becomes a million-object tree (jansson spends ~1 KiB per rule
 * object; the parsed rules take ~100 bytes each).
 */
struct scan {
	const char *buf;
	size_t len, pos;
};

static void skip_ws(struct scan *sc)
{
	while (sc->pos < sc->len && (sc->buf[sc->pos] == ' ' || sc->buf[sc->pos] == '\t' ||
	                              sc->buf[sc->pos] == '\n' || sc->buf[sc->pos] == '\r'))
		sc->pos++;
}

static ward_err_t syntax(struct scan *sc, const char *what, ward_error_t *err)
{
	size_t line = 1, col = 1;

	for (size_t k = 0; k < sc->pos && k < sc->len; k++) {
		if (sc->buf[k] == '\n') {
			line++;
			col = 1;
		} else {
			col++;
		}
	}
	return ward_error_set(err, WARD_E_MALFORMED, "not valid JSON: line %zu, column %zu: %s",
	                      line, col, what);
}

/* A string token at sc->pos; raw and rawlen give its bytes between the quotes (escapes
 * not decoded: only compared against plain ASCII names). */
static bool scan_string(struct scan *sc, const char **raw, size_t *rawlen)
{
	size_t k;

	if (sc->pos >= sc->len || sc->buf[sc->pos] != '"')
		return false;
	for (k = sc->pos + 1; k < sc->len && sc->buf[k] != '"'; k++) {
		if ((unsigned char)sc->buf[k] < 0x20)
			return false;
		if (sc->buf[k] == '\\' && ++k >= sc->len)
			return false;
	}
	if (k >= sc->len)
		return false;
	*raw = sc->buf + sc->pos + 1;
	*rawlen = k - sc->pos - 1;
	sc->pos = k + 1;
	return true;
}

/* One JSON value at sc->pos, decoded by jansson (which checks it), then dropped or
 * returned. Arrays and objects are read exactly; scalars are delimited here first,
 * since jansson may read past the end of a bare scalar. */
static json_t *scan_value(struct scan *sc, bool keep_it, ward_error_t *err, ward_err_t *rc)
{
	size_t end = sc->pos;
	json_error_t jerr;
	json_t *v;

	*rc = WARD_OK;
	if (sc->pos < sc->len && (sc->buf[sc->pos] == '{' || sc->buf[sc->pos] == '[')) {
		v = json_loadb(sc->buf + sc->pos, sc->len - sc->pos,
		               JSON_DISABLE_EOF_CHECK | JSON_REJECT_DUPLICATES, &jerr);
	} else {
		const char *raw;
		size_t rawlen;
		struct scan tmp = *sc;
		if (!scan_string(&tmp, &raw, &rawlen)) {
			while (tmp.pos < tmp.len && strchr(",}] \t\r\n", tmp.buf[tmp.pos]) == NULL)
				tmp.pos++;
		}
		end = tmp.pos;
		v = json_loadb(sc->buf + sc->pos, end - sc->pos, JSON_DECODE_ANY, &jerr);
		jerr.position = (int)(end - sc->pos);
	}
	if (v == NULL) {
		sc->pos += (size_t)(jerr.position > 0 ? jerr.position : 0);
		*rc = syntax(sc, jerr.text, err);
		return NULL;
	}
	sc->pos += (size_t)jerr.position;
	if (!keep_it) {
		json_decref(v);
		return NULL;
	}
	return v;
}

ward_err_t ward_santa_json_scan(const char *buf, size_t len, size_t max_rules,
                                ward_santa_rule_fn rule_fn, ward_santa_key_fn key_fn, void *arg,
                                ward_error_t *err)
{
	struct scan sc = { .buf = buf, .len = len };
	bool seen_rules = false;
	size_t n = 0;
	ward_err_t rc = WARD_OK;

	if (len >= INT_MAX)
		return ward_error_set(err, WARD_E_LIMIT, "document too large");
	skip_ws(&sc);
	if (sc.pos >= len || buf[sc.pos] != '{') {
		return sc.pos >= len ? syntax(&sc, "empty file", err) :
		       ward_error_set(err, WARD_E_MALFORMED,
		                      "top level must be an object with a \"rules\" array");
	}
	sc.pos++;
	skip_ws(&sc);
	if (sc.pos < len && buf[sc.pos] == '}')
		goto members_done;
	for (;;) {
		const char *key;
		size_t keylen;

		skip_ws(&sc);
		if (!scan_string(&sc, &key, &keylen))
			return syntax(&sc, "expected a string key", err);
		skip_ws(&sc);
		if (sc.pos >= len || buf[sc.pos] != ':')
			return syntax(&sc, "expected ':'", err);
		sc.pos++;
		skip_ws(&sc);
		if (keylen != 5 || memcmp(key, "rules", 5) != 0) {
			/* Other top-level keys: checked, and handed over when asked for. */
			char name[64];
			json_t *v = scan_value(&sc, key_fn != NULL, err, &rc);
			if (rc != WARD_OK)
				return rc;
			if (key_fn != NULL) {
				snprintf(name, sizeof(name), "%.*s", (int)(keylen < 63 ? keylen : 63), key);
				rc = key_fn(arg, name, v, err);
				json_decref(v);
				if (rc != WARD_OK)
					return rc;
			}
		} else {
			if (seen_rules)
				return syntax(&sc, "duplicate object key 'rules'", err);
			seen_rules = true;
			if (len - sc.pos >= 4 && memcmp(buf + sc.pos, "null", 4) == 0) {
				/* "rules": null, as some sync servers say "no rules" */
				sc.pos += 4;
			} else if (sc.pos >= len || buf[sc.pos] != '[') {
				return ward_error_set(err, WARD_E_MALFORMED,
				                      "top level must be an object with a \"rules\" array");
			} else {
				sc.pos++;
				skip_ws(&sc);
				if (sc.pos < len && buf[sc.pos] == ']') {
					sc.pos++;
				} else {
					for (;;) {
						json_t *o;
						skip_ws(&sc);
						if (n == max_rules)
							return ward_error_set(err, WARD_E_LIMIT, "more than %zu rules",
							                      max_rules);
						if (sc.pos < len && buf[sc.pos] != '{' && buf[sc.pos] != '[')
							return ward_error_set(err, WARD_E_MALFORMED, "rules[%zu]: not an object", n);
						o = scan_value(&sc, true, err, &rc);
						if (rc != WARD_OK)
							return rc;
						rc = rule_fn(arg, o, n, err);
						json_decref(o);
						if (rc != WARD_OK)
							return rc;
						n++;
						skip_ws(&sc);
						if (sc.pos < len && buf[sc.pos] == ',') {
							sc.pos++;
							continue;
						}
						if (sc.pos < len && buf[sc.pos] == ']') {
							sc.pos++;
							break;
						}
						return syntax(&sc, "expected ',' or ']' after a rule", err);
					}
				}
			}
		}
		skip_ws(&sc);
		if (sc.pos < len && buf[sc.pos] == ',') {
			sc.pos++;
			continue;
		}
		if (sc.pos < len && buf[sc.pos] == '}')
			break;
		return syntax(&sc, "expected ',' or '}'", err);
	}
members_done:
	sc.pos++;
	skip_ws(&sc);
	if (sc.pos != len)
		return syntax(&sc, "end of file expected", err);
	if (!seen_rules && key_fn == NULL)
		return ward_error_set(err, WARD_E_MALFORMED,
		                      "top level must be an object with a \"rules\" array");
	return WARD_OK;
}

struct import_ctx {
	ward_rule_batch_t *batch;
	ward_rule_source_t source;
	const char *created_by;
};

static ward_err_t import_rule(void *arg, json_t *o, size_t i, ward_error_t *err)
{
	struct import_ctx *x = arg;

	return ward_rule_batch_add_santa(x->batch, o, i, x->source, x->created_by, err);
}

ward_err_t ward_santa_json_import(ward_store_t *st, const char *buf, size_t len,
                                  ward_rule_source_t source, const char *created_by,
                                  ward_apply_stats_t *stats, ward_error_t *err)
{
	struct import_ctx x = { NULL, source, created_by };
	const ward_rule_t *rules;
	size_t n;
	ward_err_t rc;

	if (stats)
		memset(stats, 0, sizeof(*stats));
	if (len > WARD_MAX_IMPORT_BYTES)
		return ward_error_set(err, WARD_E_LIMIT, "rule file is %zu bytes, more than %u", len,
		                      WARD_MAX_IMPORT_BYTES);
	if ((rc = ward_rule_batch_create(&x.batch, err)) != WARD_OK)
		return rc;
	x.batch->max = WARD_MAX_RULES;
	rc = ward_santa_json_scan(buf, len, WARD_MAX_RULES, import_rule, NULL, &x, err);
	if (rc == WARD_OK) {
		rules = ward_rule_batch_rules(x.batch, &n);
		rc = ward_store_apply(st, rules, n, stats, err);
		if (rc == WARD_OK && stats) {
			stats->refused = x.batch->refused;
			memcpy(stats->refused_names, x.batch->refused_names, sizeof(stats->refused_names));
		}
	}
	ward_rule_batch_free(x.batch);
	return rc;
}

/* ---------------------------------------------------------------- batches */


ward_err_t ward_rule_batch_create(ward_rule_batch_t **out, ward_error_t *err)
{
	if ((*out = calloc(1, sizeof(**out))) == NULL)
		return ward_error_set(err, WARD_E_NOMEM, "out of memory");
	(*out)->now = (int64_t)time(NULL);
	(*out)->max = WARD_MAX_SYNC_RULES;
	return WARD_OK;
}

void ward_rule_batch_free(ward_rule_batch_t *b)
{
	if (b == NULL)
		return;
	ward_arena_free(&b->arena);
	free(b->rules);
	free(b);
}

ward_err_t ward_rule_batch_add_santa(ward_rule_batch_t *b, json_t *obj, size_t index,
                                     ward_rule_source_t source, const char *created_by,
                                     ward_error_t *err)
{
	ward_err_t rc;

	if (is_cel(obj)) {
		refuse(b, obj);
		return WARD_OK;
	}
	if (b->n >= b->max)
		return ward_error_set(err, WARD_E_LIMIT, "rules[%zu]: more than %zu rules", index, b->max);
	if (b->n == b->cap) {
		size_t ncap = b->cap ? 2 * b->cap : 1024;
		ward_rule_t *grown = realloc(b->rules, ncap * sizeof(*grown));
		if (grown == NULL)
			return ward_error_set(err, WARD_E_NOMEM, "out of memory at rules[%zu]", index);
		b->rules = grown;
		b->cap = ncap;
	}
	if ((rc = parse_rule(obj, index, source, NULL, b->now, &b->arena, &b->rules[b->n], err)) != WARD_OK)
		return rc;
	if (created_by != NULL) {
		const char *by = created_by;
		if (keep(&b->arena, &by) != WARD_OK)
			return ward_error_set(err, WARD_E_NOMEM, "out of memory at rules[%zu]", index);
		b->rules[b->n].created_by = by;
	}
	b->n++;
	return WARD_OK;
}

size_t ward_rule_batch_refused(const ward_rule_batch_t *b, const char **names)
{
	if (names)
		*names = b->refused_names;
	return b->refused;
}

const ward_rule_t *ward_rule_batch_rules(const ward_rule_batch_t *b, size_t *n)
{
	*n = b->n;
	return b->rules;
}

json_t *ward_rule_santa_json(const ward_rule_t *r)
{
	json_t *o = json_object();

	if (o == NULL)
		return NULL;
	json_object_set_new(o, "identifier", json_string(r->identifier));
	json_object_set_new(o, "policy", json_string(ward_policy_name(r->policy)));
	json_object_set_new(o, "rule_type", json_string(ward_rule_type_name(r->type)));
	if (r->custom_msg && r->custom_msg[0])
		json_object_set_new(o, "custom_msg", json_string(r->custom_msg));
	if (r->custom_url && r->custom_url[0])
		json_object_set_new(o, "custom_url", json_string(r->custom_url));
	if (r->comment && r->comment[0])
		json_object_set_new(o, "comment", json_string(r->comment));
	if (r->expires_at > 0) {
		char t[32];
		ward_rule_time_format(r->expires_at, t);
		json_object_set_new(o, "expires_at", json_string(t));
	}
	return o;
}

ward_err_t ward_santa_json_import_file(ward_store_t *st, const char *path,
                                       ward_rule_source_t source, const char *created_by,
                                       ward_apply_stats_t *stats, ward_error_t *err)
{
	int fd = strcmp(path, "-") == 0 ? dup(STDIN_FILENO) : open(path, O_RDONLY | O_CLOEXEC);
	size_t cap = 1 << 16, len = 0;
	char *buf = NULL;
	struct stat sb;
	ward_err_t rc;

	if (stats)
		memset(stats, 0, sizeof(*stats));
	if (fd < 0)
		return ward_error_set(err, WARD_E_IO, "%s: %s", path, strerror(errno));
	/* Refuse a huge regular file before reading it; pipes are capped while reading. */
	if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode)) {
		if ((uint64_t)sb.st_size > WARD_MAX_IMPORT_BYTES) {
			close(fd);
			return ward_error_set(err, WARD_E_LIMIT, "%s: %lld bytes, more than the %u a rule "
			                      "file may have", path, (long long)sb.st_size,
			                      WARD_MAX_IMPORT_BYTES);
		}
		cap = (size_t)sb.st_size + 1;
	}
	for (;;) {
		ssize_t got;
		if (len == cap || buf == NULL) {
			char *grown;
			if (buf != NULL)
				cap *= 2;
			if (cap > (size_t)WARD_MAX_IMPORT_BYTES + 1)
				cap = (size_t)WARD_MAX_IMPORT_BYTES + 1;
			if ((grown = realloc(buf, cap)) == NULL) {
				rc = ward_error_set(err, WARD_E_NOMEM, "%s: out of memory", path);
				goto out;
			}
			buf = grown;
		}
		got = read(fd, buf + len, cap - len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			rc = ward_error_set(err, WARD_E_IO, "%s: read: %s", path, strerror(errno));
			goto out;
		}
		if (got == 0)
			break;
		len += (size_t)got;
		if (len > WARD_MAX_IMPORT_BYTES) {
			rc = ward_error_set(err, WARD_E_LIMIT, "%s: more than the %u bytes a rule file "
			                    "may have", path, WARD_MAX_IMPORT_BYTES);
			goto out;
		}
	}
	rc = ward_santa_json_import(st, buf, len, source, created_by, stats, err);
	if (rc != WARD_OK && err != NULL) {
		char msg[WARD_ERRMSG_MAX];
		snprintf(msg, sizeof(msg), "%s", err->msg);
		ward_error_set(err, rc, "%s: %s", path, msg);
	}
out:
	free(buf);
	close(fd);
	return rc;
}

/* ---------------------------------------------------------------- export */

struct export_ctx {
	FILE *out;
	size_t count;
	bool failed;
};

static int export_one(const ward_rule_t *r, void *arg)
{
	struct export_ctx *x = arg;
	json_t *o;
	char *s;

	if (r->source == WARD_SRC_PROFILE || r->source == WARD_SRC_TRANSITIVE ||
	    r->source == WARD_SRC_SYNC)
		return 0;
	o = json_object();
	if (o == NULL) {
		x->failed = true;
		return 1;
	}
	json_object_set_new(o, "identifier", json_string(r->identifier));
	json_object_set_new(o, "policy", json_string(ward_policy_name(r->policy)));
	json_object_set_new(o, "rule_type", json_string(ward_rule_type_name(r->type)));
	json_object_set_new(o, "custom_msg", json_string(r->custom_msg));
	json_object_set_new(o, "custom_url", json_string(r->custom_url));
	json_object_set_new(o, "comment", json_string(r->comment));
	if (r->expires_at > 0) {
		char t[32];
		ward_rule_time_format(r->expires_at, t);
		json_object_set_new(o, "expires_at", json_string(t));
	}
	s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
	json_decref(o);
	if (s == NULL || fprintf(x->out, "%s\n    %s", x->count ? "," : "", s) < 0) {
		free(s);
		x->failed = true;
		return 1;
	}
	free(s);
	x->count++;
	return 0;
}

ward_err_t ward_santa_json_export(ward_store_t *st, FILE *out, size_t *count, ward_error_t *err)
{
	struct export_ctx x = { .out = out };
	sqlite3 *db = ward_store_sqlite(st);
	ward_err_t rc;

	if (count)
		*count = 0;
	if (fputs("{\n  \"rules\": [", out) == EOF)
		return ward_error_set(err, WARD_E_IO, "export: write failed: %s", strerror(errno));
	/* One read transaction so a concurrent change is either all in or all out. */
	if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		return ward_store_dberr(st, err, "starting a read");
	rc = ward_store_foreach(st, export_one, &x, err);
	(void)sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	if (rc != WARD_OK)
		return rc;
	if (x.failed || fputs(x.count ? "\n  ]\n}\n" : "]\n}\n", out) == EOF || fflush(out) == EOF ||
	    ferror(out))
		return ward_error_set(err, WARD_E_IO, "export: write failed: %s", strerror(errno));
	if (count)
		*count = x.count;
	return WARD_OK;
}
