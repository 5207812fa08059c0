/*
 * The rule model: names of types, policies and sources, identifier validation and
 * canonical form, expiry parsing, and the match key of a file identity.
 *
 * Canonical forms follow Santa (SNTRule.mm) so that rules exported from Santa match
 * here unchanged: hashes lowercase; team IDs uppercase; in a signing ID the team part
 * uppercase (or "platform" lowercase) and the signing ID itself case-preserved.
 */
#include "rules/rules.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/hex.h"

#define TEAM_ID_LEN 10
#define CREATED_BY_MAX 63

static const char *const type_names[WARD_RT__COUNT] = {
	[WARD_RT_CDHASH] = "CDHASH",
	[WARD_RT_BINARY] = "BINARY",
	[WARD_RT_SIGNINGID] = "SIGNINGID",
	[WARD_RT_CERTIFICATE] = "CERTIFICATE",
	[WARD_RT_TEAMID] = "TEAMID",
};

static const char *const policy_names[WARD_POL__COUNT] = {
	[WARD_POL_ALLOWLIST] = "ALLOWLIST",
	[WARD_POL_BLOCKLIST] = "BLOCKLIST",
	[WARD_POL_SILENT_BLOCKLIST] = "SILENT_BLOCKLIST",
	[WARD_POL_ALLOWLIST_COMPILER] = "ALLOWLIST_COMPILER",
	[WARD_POL_REMOVE] = "REMOVE",
};

static const char *const source_names[WARD_SRC__COUNT] = {
	[WARD_SRC_LOCAL] = "local",
	[WARD_SRC_PROFILE] = "profile",
	[WARD_SRC_EXCEPTION] = "exception",
	[WARD_SRC_IMPORT] = "import",
	[WARD_SRC_TRANSITIVE] = "transitive",
	[WARD_SRC_SYNC] = "sync",
};

/* Santa's older and finer-grained policy names (SNTSyncConstants.mm). */
static const struct {
	const char *name;
	ward_policy_t policy;
} policy_aliases[] = {
	{ "WHITELIST", WARD_POL_ALLOWLIST },
	{ "BLACKLIST", WARD_POL_BLOCKLIST },
	{ "SILENT_BLACKLIST", WARD_POL_SILENT_BLOCKLIST },
	{ "WHITELIST_COMPILER", WARD_POL_ALLOWLIST_COMPILER },
	/* warden has no GUI and no TTY notifier: both block without telling the user. */
	{ "SILENT_GUI_BLOCKLIST", WARD_POL_SILENT_BLOCKLIST },
	{ "SILENT_TTY_BLOCKLIST", WARD_POL_SILENT_BLOCKLIST },
};

static const char *const policy_unsupported[] = {
	"CEL", "ALLOWLIST_LOCAL_BINARY", "ALLOWLIST_LOCAL_SIGNINGID", "ALLOWLIST_TRANSITIVE",
};

const char *ward_rule_type_name(ward_rule_type_t t)
{
	if ((unsigned)t >= WARD_RT__COUNT)
		return "UNKNOWN";
	return type_names[t];
}

const char *ward_policy_name(ward_policy_t p)
{
	if ((unsigned)p >= WARD_POL__COUNT)
		return "UNKNOWN";
	return policy_names[p];
}

const char *ward_rule_source_name(ward_rule_source_t s)
{
	if ((unsigned)s >= WARD_SRC__COUNT)
		return "unknown";
	return source_names[s];
}

bool ward_policy_blocks(ward_policy_t p)
{
	return p == WARD_POL_BLOCKLIST || p == WARD_POL_SILENT_BLOCKLIST;
}

ward_err_t ward_rule_type_parse(const char *s, ward_rule_type_t *out, ward_error_t *err)
{
	for (int t = 0; t < WARD_RT__COUNT; t++) {
		if (strcasecmp(s, type_names[t]) == 0) {
			*out = (ward_rule_type_t)t;
			return WARD_OK;
		}
	}
	return ward_error_set(err, WARD_E_INVAL,
	                      "rule_type '%.64s' is not one of CDHASH, BINARY, SIGNINGID, "
	                      "CERTIFICATE, TEAMID", s);
}

ward_err_t ward_policy_parse(const char *s, ward_policy_t *out, ward_error_t *err)
{
	for (int p = 0; p < WARD_POL__COUNT; p++) {
		if (strcasecmp(s, policy_names[p]) == 0) {
			*out = (ward_policy_t)p;
			return WARD_OK;
		}
	}
	for (size_t i = 0; i < sizeof(policy_aliases) / sizeof(policy_aliases[0]); i++) {
		if (strcasecmp(s, policy_aliases[i].name) == 0) {
			*out = policy_aliases[i].policy;
			return WARD_OK;
		}
	}
	for (size_t i = 0; i < sizeof(policy_unsupported) / sizeof(policy_unsupported[0]); i++)
		if (strcasecmp(s, policy_unsupported[i]) == 0)
			return ward_error_set(err, WARD_E_UNSUPPORTED,
			                      "policy '%s' is a Santa policy warden does not support", s);
	return ward_error_set(err, WARD_E_INVAL,
	                      "policy '%.64s' is not one of ALLOWLIST, BLOCKLIST, SILENT_BLOCKLIST, "
	                      "ALLOWLIST_COMPILER, REMOVE", s);
}

ward_err_t ward_rule_source_parse(const char *s, ward_rule_source_t *out, ward_error_t *err)
{
	for (int i = 0; i < WARD_SRC__COUNT; i++) {
		if (strcasecmp(s, source_names[i]) == 0) {
			*out = (ward_rule_source_t)i;
			return WARD_OK;
		}
	}
	return ward_error_set(err, WARD_E_INVAL,
	                      "source '%.64s' is not one of local, profile, exception, import, "
	                      "transitive", s);
}

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool is_alnum(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static char to_lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static char to_upper(char c)
{
	return (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
}

/* Printable ASCII without space: what codesign produces, and safe in logs. */
static bool is_signing_id_char(char c)
{
	return c > ' ' && c <= '~';
}

static ward_err_t canon_hex(const char *in, size_t want, const char *what, char *out,
                            ward_error_t *err)
{
	size_t n = strnlen(in, WARD_RULE_ID_MAX + 1);

	if (n != want)
		return ward_error_set(err, WARD_E_INVAL,
		                      "identifier '%.80s': a %s is %zu hex digits, this has %s%zu characters",
		                      in, what, want, n > WARD_RULE_ID_MAX ? "more than " : "",
		                      n > WARD_RULE_ID_MAX ? (size_t)WARD_RULE_ID_MAX : n);
	for (size_t i = 0; i < n; i++) {
		if (!is_hex(in[i]))
			return ward_error_set(err, WARD_E_INVAL,
			                      "identifier '%.80s': a %s is %zu hex digits, character %zu is not hex",
			                      in, what, want, i + 1);
		out[i] = to_lower(in[i]);
	}
	out[n] = '\0';
	return WARD_OK;
}

/* Exactly ten of A-Z0-9 (lowercase accepted and uppercased, as Santa does). */
static bool canon_team_id(const char *in, size_t n, char *out)
{
	if (n != TEAM_ID_LEN)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!is_alnum(in[i]))
			return false;
		out[i] = to_upper(in[i]);
	}
	out[n] = '\0';
	return true;
}

static ward_err_t canon_signing_id(const char *in, char *out, ward_error_t *err)
{
	const char *colon = strchr(in, ':');
	size_t team_len, sid_len;

	if (colon == NULL)
		return ward_error_set(err, WARD_E_INVAL,
		                      "identifier '%.80s': a SIGNINGID is TEAMID:signing.id or "
		                      "platform:signing.id", in);
	team_len = (size_t)(colon - in);
	sid_len = strnlen(colon + 1, WARD_MAX_SIGNING_ID + 1);
	if (sid_len == 0)
		return ward_error_set(err, WARD_E_INVAL,
		                      "identifier '%.80s': the signing ID after ':' is empty", in);
	if (sid_len > WARD_MAX_SIGNING_ID)
		return ward_error_set(err, WARD_E_INVAL,
		                      "identifier '%.80s...': the signing ID is longer than %u bytes",
		                      in, WARD_MAX_SIGNING_ID);
	for (size_t i = 0; i < sid_len; i++)
		if (!is_signing_id_char(colon[1 + i]))
			return ward_error_set(err, WARD_E_INVAL,
			                      "identifier '%.80s': signing ID character %zu is not printable "
			                      "ASCII (space and control characters are not allowed)",
			                      in, i + 1);
	if (team_len == 8 && strncasecmp(in, "platform", 8) == 0) {
		memcpy(out, "platform", 8);
	} else if (!canon_team_id(in, team_len, out)) {
		return ward_error_set(err, WARD_E_INVAL,
		                      "identifier '%.80s': the part before ':' must be a team ID "
		                      "(10 of A-Z0-9) or 'platform'", in);
	}
	out[team_len] = ':';
	memcpy(out + team_len + 1, colon + 1, sid_len);
	out[team_len + 1 + sid_len] = '\0';
	return WARD_OK;
}

ward_err_t ward_rule_identifier_canon(ward_rule_type_t type, const char *in,
                                      char out[WARD_RULE_ID_MAX + 1], ward_error_t *err)
{
	if (in == NULL || in[0] == '\0')
		return ward_error_set(err, WARD_E_INVAL, "identifier: missing or empty");
	switch (type) {
	case WARD_RT_CDHASH:
		return canon_hex(in, 2 * WARD_CDHASH_LEN, "CDHASH", out, err);
	case WARD_RT_BINARY:
		return canon_hex(in, 2 * WARD_SHA256_LEN, "BINARY rule (file SHA-256)", out, err);
	case WARD_RT_CERTIFICATE:
		return canon_hex(in, 2 * WARD_SHA256_LEN, "CERTIFICATE rule (leaf certificate SHA-256)",
		                 out, err);
	case WARD_RT_SIGNINGID:
		return canon_signing_id(in, out, err);
	case WARD_RT_TEAMID:
		if (!canon_team_id(in, strnlen(in, TEAM_ID_LEN + 1), out))
			return ward_error_set(err, WARD_E_INVAL,
			                      "identifier '%.80s': a TEAMID is exactly 10 of A-Z0-9", in);
		return WARD_OK;
	case WARD_RT__COUNT:
		break;
	}
	return ward_error_set(err, WARD_E_INVAL, "rule_type: %d is not a rule type", (int)type);
}

static ward_err_t check_text(const char *s, const char *field, ward_error_t *err)
{
	if (s != NULL && strnlen(s, WARD_MAX_RULE_TEXT + 1) > WARD_MAX_RULE_TEXT)
		return ward_error_set(err, WARD_E_LIMIT, "%s: longer than %u bytes", field,
		                      WARD_MAX_RULE_TEXT);
	return WARD_OK;
}

ward_err_t ward_rule_validate(const ward_rule_t *r, ward_error_t *err)
{
	char canon[WARD_RULE_ID_MAX + 1];
	ward_err_t rc;

	if ((unsigned)r->type >= WARD_RT__COUNT)
		return ward_error_set(err, WARD_E_INVAL, "rule_type: %d is not a rule type", (int)r->type);
	if ((unsigned)r->policy >= WARD_POL__COUNT)
		return ward_error_set(err, WARD_E_INVAL, "policy: %d is not a policy", (int)r->policy);
	if ((unsigned)r->source >= WARD_SRC__COUNT)
		return ward_error_set(err, WARD_E_INVAL, "source: %d is not a source", (int)r->source);
	if ((rc = ward_rule_identifier_canon(r->type, r->identifier, canon, err)) != WARD_OK)
		return rc;
	if (strcmp(canon, r->identifier) != 0)
		return ward_error_set(err, WARD_E_INVAL,
		                      "identifier '%.80s': not in canonical form (expected '%.80s')",
		                      r->identifier, canon);
	if ((rc = check_text(r->custom_msg, "custom_msg", err)) != WARD_OK ||
	    (rc = check_text(r->custom_url, "custom_url", err)) != WARD_OK ||
	    (rc = check_text(r->comment, "comment", err)) != WARD_OK)
		return rc;
	if (r->created_by != NULL && strnlen(r->created_by, CREATED_BY_MAX + 1) > CREATED_BY_MAX)
		return ward_error_set(err, WARD_E_LIMIT, "created_by: longer than %d bytes",
		                      CREATED_BY_MAX);
	if (r->expires_at < 0)
		return ward_error_set(err, WARD_E_INVAL, "expires_at: negative");
	if (r->created_at < 0)
		return ward_error_set(err, WARD_E_INVAL, "created_at: negative");
	return WARD_OK;
}

/* ---------------------------------------------------------------- time */

/* Read exactly n digits at *p into *v and advance; false if they are not all digits. */
static bool digits(const char **p, int n, int *v)
{
	*v = 0;
	for (int i = 0; i < n; i++) {
		char c = (*p)[i];
		if (c < '0' || c > '9')
			return false;
		*v = *v * 10 + (c - '0');
	}
	*p += n;
	return true;
}

static ward_err_t parse_duration(const char *s, int64_t now, int64_t *out, ward_error_t *err)
{
	/* A century is plenty and keeps every product far from overflow. */
	const int64_t max = 100LL * 366 * 86400;
	int64_t n = 0, unit;
	const char *p = s;

	while (*p >= '0' && *p <= '9') {
		n = n * 10 + (*p - '0');
		if (n > max)
			return ward_error_set(err, WARD_E_INVAL, "expires '%.40s': more than 100 years", s);
		p++;
	}
	switch (*p) {
	case 's': unit = 1; break;
	case 'm': unit = 60; break;
	case 'h': unit = 3600; break;
	case 'd': unit = 86400; break;
	case 'w': unit = 7 * 86400; break;
	default: unit = 0; break;
	}
	if (p == s || unit == 0 || p[1] != '\0')
		return ward_error_set(err, WARD_E_INVAL,
		                      "expires '%.40s': not a duration (7d, 12h, 30m, 90s, 2w) or an "
		                      "ISO-8601 time (2026-12-31T00:00:00Z)", s);
	if (n == 0)
		return ward_error_set(err, WARD_E_INVAL, "expires '%.40s': the duration must be positive", s);
	if (n * unit > max)
		return ward_error_set(err, WARD_E_INVAL, "expires '%.40s': more than 100 years", s);
	*out = now + n * unit;
	return WARD_OK;
}

ward_err_t ward_rule_time_parse(const char *s, int64_t now, int64_t *out, ward_error_t *err)
{
	struct tm tm = { 0 }, chk;
	const char *p = s;
	int y, mo, d, h = 0, mi = 0, sec = 0, off = 0;
	time_t t;

	if (s == NULL || s[0] == '\0')
		return ward_error_set(err, WARD_E_INVAL, "expires: empty");
	if (strlen(s) < 10 || s[4] != '-')
		return parse_duration(s, now, out, err);
	if (!digits(&p, 4, &y) || *p++ != '-' || !digits(&p, 2, &mo) || *p++ != '-' ||
	    !digits(&p, 2, &d))
		goto bad;
	if (*p == 'T' || *p == 't' || *p == ' ') {
		p++;
		if (!digits(&p, 2, &h) || *p++ != ':' || !digits(&p, 2, &mi))
			goto bad;
		if (*p == ':') {
			p++;
			if (!digits(&p, 2, &sec))
				goto bad;
		}
		if (*p == 'Z' || *p == 'z') {
			p++;
		} else if (*p == '+' || *p == '-') {
			int sign = *p++ == '-' ? -1 : 1, oh, om;
			if (!digits(&p, 2, &oh))
				goto bad;
			if (*p == ':')
				p++;
			if (!digits(&p, 2, &om) || oh > 23 || om > 59)
				goto bad;
			off = sign * (oh * 3600 + om * 60);
		} else {
			return ward_error_set(err, WARD_E_INVAL,
			                      "expires '%.40s': a time needs a zone ('Z' or +HH:MM)", s);
		}
	}
	if (*p != '\0')
		goto bad;
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		goto bad;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = timegm(&tm);
	/* timegm normalises Feb 30 into March: reject dates that do not exist. */
	if (t == (time_t)-1 || gmtime_r(&t, &chk) == NULL || chk.tm_mday != d || chk.tm_mon != mo - 1)
		goto bad;
	*out = (int64_t)t - off;
	return WARD_OK;
bad:
	return ward_error_set(err, WARD_E_INVAL,
	                      "expires '%.40s': not an ISO-8601 time (2026-12-31 or "
	                      "2026-12-31T00:00:00Z) or a duration (7d)", s);
}

void ward_rule_time_format(int64_t t, char buf[32])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL || strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, 32, "@%lld", (long long)t);
}

/* ---------------------------------------------------------------- match key */

void ward_match_key_from_slice(const ward_identity_t *id, unsigned slice, ward_match_key_t *key)
{
	const ward_slice_t *s;
	char team[TEAM_ID_LEN + 1];

	memset(key, 0, sizeof(*key));
	if (id->has_sha256)
		ward_hex_encode(id->sha256, WARD_SHA256_LEN, key->sha256);
	if (slice >= id->nslices || slice >= WARD_MAX_SLICES)
		return;
	s = &id->slices[slice];
	if (s->has_cdhash && (s->status == WARD_SIG_ADHOC || s->status == WARD_SIG_SIGNED))
		ward_hex_encode(s->cdhash, WARD_CDHASH_LEN, key->cdhash);
	if (s->status != WARD_SIG_SIGNED)
		return;
	if (s->has_cert)
		ward_hex_encode(s->cert_sha256, WARD_SHA256_LEN, key->certificate);
	/* Only a well-formed team ID is a key: anything else could never be a rule. */
	if (!canon_team_id(s->team_id, strnlen(s->team_id, sizeof(s->team_id)), team) ||
	    strcmp(team, s->team_id) != 0)
		return;
	memcpy(key->team_id, team, sizeof(team));
	if (s->signing_id[0] != '\0') {
		char sid[WARD_RULE_ID_MAX + 1], canon[WARD_RULE_ID_MAX + 1];
		snprintf(sid, sizeof(sid), "%s:%s", team, s->signing_id);
		if (canon_signing_id(sid, canon, NULL) == WARD_OK && strcmp(sid, canon) == 0)
			memcpy(key->signing_id, canon, strlen(canon) + 1);
	}
}

unsigned ward_match_keys_from_identity(const ward_identity_t *id,
                                       ward_match_key_t keys[WARD_MAX_SLICES])
{
	unsigned n = id->nslices < WARD_MAX_SLICES ? id->nslices : WARD_MAX_SLICES;

	if (n == 0) {
		ward_match_key_from_slice(id, WARD_NO_SLICE, &keys[0]);
		return 1;
	}
	for (unsigned i = 0; i < n; i++)
		ward_match_key_from_slice(id, i, &keys[i]);
	return n;
}

void ward_match_key_common(const ward_match_key_t *keys, unsigned n, ward_match_key_t *out)
{
	memset(out, 0, sizeof(*out));
	if (n == 0)
		return;
	*out = keys[0];
	for (unsigned k = 1; k < n; k++) {
		if (strcmp(out->cdhash, keys[k].cdhash) != 0)
			out->cdhash[0] = '\0';
		if (strcmp(out->sha256, keys[k].sha256) != 0)
			out->sha256[0] = '\0';
		if (strcmp(out->signing_id, keys[k].signing_id) != 0)
			out->signing_id[0] = '\0';
		if (strcmp(out->certificate, keys[k].certificate) != 0)
			out->certificate[0] = '\0';
		if (strcmp(out->team_id, keys[k].team_id) != 0)
			out->team_id[0] = '\0';
	}
}

void ward_match_key_from_signature(const uint8_t *cdhash, const char *team_id,
                                   const char *signing_id, bool platform, ward_match_key_t *key)
{
	char team[TEAM_ID_LEN + 1];

	memset(key, 0, sizeof(*key));
	if (cdhash != NULL)
		ward_hex_encode(cdhash, WARD_CDHASH_LEN, key->cdhash);
	if (team_id != NULL && team_id[0] != '\0' &&
	    canon_team_id(team_id, strnlen(team_id, WARD_MAX_TEAM_ID + 1), team) &&
	    strcmp(team, team_id) == 0)
		memcpy(key->team_id, team, sizeof(team));
	if (signing_id != NULL && signing_id[0] != '\0' && (platform || key->team_id[0] != '\0')) {
		char sid[WARD_RULE_ID_MAX + 1], canon[WARD_RULE_ID_MAX + 1];
		snprintf(sid, sizeof(sid), "%s:%s", platform ? "platform" : key->team_id, signing_id);
		if (canon_signing_id(sid, canon, NULL) == WARD_OK && strcmp(sid, canon) == 0)
			memcpy(key->signing_id, canon, strlen(canon) + 1);
	}
}
