/* Santa's sync protocol without the network (agent/sync/proto.h). */
#include "agent/sync/proto.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <zlib.h>

#include "common/hex.h"

const char *ward_sync_type_name(ward_sync_type_t t)
{
	return t == WARD_SYNC_CLEAN ? "clean" : t == WARD_SYNC_CLEAN_ALL ? "clean_all" : "normal";
}

/* A path regex: a string, or (as some servers send it) an array of strings, which reads
 * as their alternation "(?:^a)|(?:^b)": each element anchored as Santa anchors one
 * pattern. Checked as wardend compiles path regexes (profiles/pathregex.h). */
static ward_err_t regex_field(const json_t *v, const char *key, bool *has, char *out,
                              ward_error_t *err)
{
	ward_error_t e = { 0 };

	if (v == NULL || json_is_null(v))
		return WARD_OK;
	if (json_is_array(v)) {
		char buf[WARD_MAX_PATH_REGEX + 1] = "";
		size_t used = 0, i;
		json_t *x;
		json_array_foreach(v, i, x) {
			const char *p = json_string_value(x);
			int n;
			if (p == NULL || strlen(p) != json_string_length(x))
				return ward_error_set(err, WARD_E_MALFORMED, "%s[%zu]: not a string", key, i);
			if (p[0] == '\0' || ward_config_regex_check(p, &e) != WARD_OK)
				return ward_error_set(err, WARD_E_INVAL, "%s[%zu]: %s", key, i,
				                      p[0] ? e.msg : "empty pattern");
			n = snprintf(buf + used, sizeof(buf) - used, "%s(?:%s%s)", i ? "|" : "",
			             p[0] == '^' ? "" : "^", p);
			if (n < 0 || (size_t)n >= sizeof(buf) - used)
				return ward_error_set(err, WARD_E_LIMIT, "%s: longer than %u bytes", key,
				                      WARD_MAX_PATH_REGEX);
			used += (size_t)n;
		}
		*has = true;
		memcpy(out, buf, used + 1);
		return WARD_OK;
	}
	if (!json_is_string(v))
		return ward_error_set(err, WARD_E_MALFORMED, "%s: not a string", key);
	if (json_string_length(v) > WARD_MAX_PATH_REGEX)
		return ward_error_set(err, WARD_E_LIMIT, "%s: longer than %u bytes", key, WARD_MAX_PATH_REGEX);
	if (strlen(json_string_value(v)) != json_string_length(v))
		return ward_error_set(err, WARD_E_MALFORMED, "%s: holds a NUL byte", key);
	if (json_string_length(v) > 0) {
		if (ward_config_regex_check(json_string_value(v), &e) != WARD_OK)
			return ward_error_set(err, WARD_E_INVAL, "%s: %s", key, e.msg);
	}
	*has = true;
	memcpy(out, json_string_value(v), json_string_length(v) + 1);
	return WARD_OK;
}

static ward_err_t uint_field(const json_t *v, const char *key, uint64_t min, uint64_t max,
                            bool *has, uint32_t *out, ward_error_t *err)
{
	json_int_t n;

	if (v == NULL || json_is_null(v))
		return WARD_OK;
	if (!json_is_integer(v))
		return ward_error_set(err, WARD_E_MALFORMED, "%s: not an integer", key);
	n = json_integer_value(v);
	if (n < 0 || (uint64_t)n < min || (uint64_t)n > max)
		return ward_error_set(err, WARD_E_INVAL, "%s: %lld is out of range [%llu, %llu]", key,
		                      (long long)n, (unsigned long long)min, (unsigned long long)max);
	*has = true;
	*out = (uint32_t)n;
	return WARD_OK;
}

static ward_err_t bool_field(const json_t *v, const char *key, bool *has, bool *out,
                             ward_error_t *err)
{
	if (v == NULL || json_is_null(v))
		return WARD_OK;
	if (!json_is_boolean(v))
		return ward_error_set(err, WARD_E_MALFORMED, "%s: not a boolean", key);
	*has = true;
	*out = json_is_true(v);
	return WARD_OK;
}

ward_err_t ward_sync_settings_from_json(const json_t *o, ward_sync_settings_t *out, ward_error_t *err)
{
	ward_sync_settings_t s;
	const json_t *v;
	ward_err_t rc;
	bool has = false, clean = false;

	memset(out, 0, sizeof(*out));
	memset(&s, 0, sizeof(s));
	if (!json_is_object(o))
		return ward_error_set(err, WARD_E_MALFORMED, "preflight: the response is not a JSON object");
	if ((v = json_object_get(o, "client_mode")) != NULL && !json_is_null(v)) {
		const char *m = json_string_value(v);
		if (m == NULL)
			return ward_error_set(err, WARD_E_MALFORMED, "client_mode: not a string");
		if (strcasecmp(m, "MONITOR") == 0)
			s.mode = WARD_MODE_MONITOR;
		else if (strcasecmp(m, "LOCKDOWN") == 0)
			s.mode = WARD_MODE_LOCKDOWN;
		else
			return ward_error_set(err, WARD_E_INVAL, "client_mode: \"%.40s\" is neither MONITOR "
			                      "nor LOCKDOWN", m);
		s.has_mode = true;
	}
	if ((rc = uint_field(json_object_get(o, "batch_size"), "batch_size", 1, WARD_SYNC_MAX_BATCH,
	                     &s.has_batch_size, &s.batch_size, err)) != WARD_OK ||
	    (rc = uint_field(json_object_get(o, "full_sync_interval"), "full_sync_interval", 60,
	                     7u * 24 * 3600, &s.has_full_sync_interval, &s.full_sync_interval_s,
	                     err)) != WARD_OK ||
	    (rc = bool_field(json_object_get(o, "enable_transitive_rules"), "enable_transitive_rules",
	                     &s.has_transitive, &s.enable_transitive, err)) != WARD_OK ||
	    (rc = regex_field(json_object_get(o, "allowed_path_regex"), "allowed_path_regex",
	                      &s.has_allowed_regex, s.allowed_regex, err)) != WARD_OK ||
	    (rc = regex_field(json_object_get(o, "blocked_path_regex"), "blocked_path_regex",
	                      &s.has_blocked_regex, s.blocked_regex, err)) != WARD_OK ||
	    (rc = bool_field(json_object_get(o, "clean_sync"), "clean_sync", &has, &clean, err)) != WARD_OK)
		return rc;
	if (clean)
		s.sync_type = WARD_SYNC_CLEAN;
	if ((v = json_object_get(o, "sync_type")) != NULL && !json_is_null(v)) {
		const char *t = json_string_value(v);
		if (t == NULL)
			return ward_error_set(err, WARD_E_MALFORMED, "sync_type: not a string");
		if (strcasecmp(t, "normal") == 0)
			s.sync_type = WARD_SYNC_NORMAL;
		else if (strcasecmp(t, "clean") == 0)
			s.sync_type = WARD_SYNC_CLEAN;
		else if (strcasecmp(t, "clean_all") == 0)
			s.sync_type = WARD_SYNC_CLEAN_ALL;
		else
			return ward_error_set(err, WARD_E_INVAL, "sync_type: \"%.40s\" is not normal, clean or "
			                      "clean_all", t);
	}
	*out = s;
	return WARD_OK;
}

json_t *ward_sync_settings_to_json(const ward_sync_settings_t *s)
{
	json_t *o = json_object();

	if (o == NULL)
		return NULL;
	if (s->has_mode)
		json_object_set_new(o, "client_mode", json_string(ward_mode_name(s->mode)));
	if (s->has_batch_size)
		json_object_set_new(o, "batch_size", json_integer(s->batch_size));
	if (s->has_full_sync_interval)
		json_object_set_new(o, "full_sync_interval", json_integer(s->full_sync_interval_s));
	if (s->has_transitive)
		json_object_set_new(o, "enable_transitive_rules", json_boolean(s->enable_transitive));
	if (s->has_allowed_regex)
		json_object_set_new(o, "allowed_path_regex", json_string(s->allowed_regex));
	if (s->has_blocked_regex)
		json_object_set_new(o, "blocked_path_regex", json_string(s->blocked_regex));
	json_object_set_new(o, "sync_type", json_string(ward_sync_type_name(s->sync_type)));
	return o;
}

static ward_err_t check_body(const char *body, size_t len, ward_error_t *err)
{
	if (len > WARD_MAX_SYNC_RESPONSE)
		return ward_error_set(err, WARD_E_LIMIT, "response of %zu bytes, more than %u", len,
		                      WARD_MAX_SYNC_RESPONSE);
	if (memchr(body, '\0', len) != NULL)
		return ward_error_set(err, WARD_E_MALFORMED, "response holds a NUL byte");
	return WARD_OK;
}

ward_err_t ward_sync_parse_object(const char *body, size_t len, json_t **out, ward_error_t *err)
{
	json_error_t je;
	size_t k = 0;
	json_t *o;
	ward_err_t rc;

	*out = NULL;
	if ((rc = check_body(body, len, err)) != WARD_OK)
		return rc;
	while (k < len && strchr(" \t\r\n", body[k]))
		k++;
	if (k == len) {
		*out = json_object();
		return *out ? WARD_OK : ward_error_set(err, WARD_E_NOMEM, "out of memory");
	}
	o = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
	if (o == NULL)
		return ward_error_set(err, WARD_E_MALFORMED, "not valid JSON: line %d, column %d: %s",
		                      je.line, je.column, je.text);
	if (!json_is_object(o)) {
		json_decref(o);
		return ward_error_set(err, WARD_E_MALFORMED, "the response is not a JSON object");
	}
	*out = o;
	return WARD_OK;
}

struct page {
	ward_rule_batch_t *batch;
	size_t base;
	json_t *cursor;
};

static ward_err_t page_rule(void *arg, json_t *o, size_t i, ward_error_t *err)
{
	struct page *p = arg;

	return ward_rule_batch_add_santa(p->batch, o, p->base + i, WARD_SRC_SYNC, "sync", err);
}

static ward_err_t page_key(void *arg, const char *key, json_t *v, ward_error_t *err)
{
	struct page *p = arg;

	if (strcmp(key, "cursor") != 0 || json_is_null(v))
		return WARD_OK;
	if (json_is_string(v)) {
		if (json_string_length(v) == 0)
			return WARD_OK; /* an empty cursor: no more pages */
		if (json_string_length(v) > WARD_MAX_SYNC_CURSOR)
			return ward_error_set(err, WARD_E_LIMIT, "cursor: longer than %u bytes",
			                      WARD_MAX_SYNC_CURSOR);
	} else if (!json_is_integer(v)) {
		return ward_error_set(err, WARD_E_MALFORMED, "cursor: neither a string nor an integer");
	}
	json_decref(p->cursor);
	p->cursor = json_incref(v);
	return WARD_OK;
}

ward_err_t ward_sync_parse_rules(const char *body, size_t len, ward_rule_batch_t *batch,
                                 size_t *index, json_t **cursor, ward_error_t *err)
{
	struct page p = { batch, *index, NULL };
	size_t before, after;
	ward_err_t rc;

	*cursor = NULL;
	if ((rc = check_body(body, len, err)) != WARD_OK)
		return rc;
	ward_rule_batch_rules(batch, &before);
	rc = ward_santa_json_scan(body, len, WARD_MAX_SYNC_PAGE_RULES, page_rule, page_key, &p, err);
	if (rc != WARD_OK) {
		json_decref(p.cursor);
		return rc;
	}
	ward_rule_batch_rules(batch, &after);
	*index += after - before;
	*cursor = p.cursor;
	return WARD_OK;
}

ward_err_t ward_sync_deflate(const void *in, size_t len, unsigned char **out, size_t *outlen,
                             ward_error_t *err)
{
	uLongf cap = compressBound((uLong)len);
	unsigned char *buf;

	*out = NULL;
	if (len > (64u << 20))
		return ward_error_set(err, WARD_E_LIMIT, "request body of %zu bytes", len);
	if ((buf = malloc(cap)) == NULL)
		return ward_error_set(err, WARD_E_NOMEM, "out of memory");
	if (compress2(buf, &cap, in, (uLong)len, Z_DEFAULT_COMPRESSION) != Z_OK) {
		free(buf);
		return ward_error_set(err, WARD_E_NOMEM, "zlib: compression failed");
	}
	*out = buf;
	*outlen = cap;
	return WARD_OK;
}

ward_err_t ward_sync_inflate(const void *in, size_t len, size_t max, char **out, size_t *outlen,
                             ward_error_t *err)
{
	z_stream z;
	size_t cap = max < 4096 ? max : 4096, used = 0;
	char *buf;
	int zr;

	*out = NULL;
	if (max == 0 || len > UINT32_MAX)
		return ward_error_set(err, WARD_E_LIMIT, "zlib: nothing may be inflated");
	if ((buf = malloc(cap + 1)) == NULL)
		return ward_error_set(err, WARD_E_NOMEM, "out of memory");
	memset(&z, 0, sizeof(z));
	if (inflateInit(&z) != Z_OK) {
		free(buf);
		return ward_error_set(err, WARD_E_NOMEM, "zlib: init failed");
	}
	z.next_in = (Bytef *)(uintptr_t)in;
	z.avail_in = (uInt)len;
	do {
		if (used == cap) {
			char *g;
			if (cap >= max) {
				inflateEnd(&z);
				free(buf);
				return ward_error_set(err, WARD_E_LIMIT, "inflates to more than %zu bytes", max);
			}
			cap = cap * 2 > max ? max : cap * 2;
			if ((g = realloc(buf, cap + 1)) == NULL) {
				inflateEnd(&z);
				free(buf);
				return ward_error_set(err, WARD_E_NOMEM, "out of memory");
			}
			buf = g;
		}
		z.next_out = (Bytef *)buf + used;
		z.avail_out = (uInt)(cap - used);
		zr = inflate(&z, Z_NO_FLUSH);
		used = cap - z.avail_out;
		if (zr != Z_OK && zr != Z_STREAM_END && !(zr == Z_BUF_ERROR && used == cap)) {
			inflateEnd(&z);
			free(buf);
			return ward_error_set(err, WARD_E_MALFORMED, "zlib: %s", zr == Z_BUF_ERROR ?
			                      "truncated stream" : z.msg ? z.msg : "bad stream");
		}
	} while (zr != Z_STREAM_END);
	inflateEnd(&z);
	buf[used] = '\0';
	*out = buf;
	*outlen = used;
	return WARD_OK;
}

struct ward_sync_hash {
	EVP_MD_CTX *md;
};

ward_sync_hash_t *ward_sync_hash_new(void)
{
	ward_sync_hash_t *h = calloc(1, sizeof(*h));

	if (h == NULL || (h->md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(h->md, EVP_sha256(), NULL) != 1) {
		if (h)
			EVP_MD_CTX_free(h->md);
		free(h);
		return NULL;
	}
	return h;
}

void ward_sync_hash_add(ward_sync_hash_t *h, const ward_rule_t *r)
{
	char line[WARD_RULE_ID_MAX + 64];
	int n;

	if (h == NULL)
		return;
	n = snprintf(line, sizeof(line), "%s:%s:%s\n", ward_rule_type_name(r->type), r->identifier,
	             ward_policy_name(r->policy));
	if (n > 0)
		EVP_DigestUpdate(h->md, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

void ward_sync_hash_final(ward_sync_hash_t *h, char out[65])
{
	unsigned char md[32];
	unsigned int len = 0;

	out[0] = '\0';
	if (h == NULL)
		return;
	if (EVP_DigestFinal_ex(h->md, md, &len) == 1 && len == 32)
		ward_hex_encode(md, 32, out);
	EVP_MD_CTX_free(h->md);
	free(h);
}
