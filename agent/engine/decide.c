/*
 * The decision path. Reads like ../DESIGN.md: each numbered step either decides and
 * returns, or falls through to the next. No SQLite, no locks held across steps, no
 * logging: the pipeline answers the kernel first and logs afterwards.
 */
#include "agent/engine/decide.h"

#include <stdio.h>
#include <string.h>

#include "agent/engine/trust.h"

static void by_mode(const ward_config_t *cfg, ward_reason_t why, bool cacheable,
                    ward_verdict_t *v)
{
	v->decision = cfg->mode == WARD_MODE_LOCKDOWN ? WARD_DENY : WARD_ALLOW;
	v->reason = why;
	v->cacheable = cacheable;
}

static void by_rule(const ward_rule_t *r, ward_verdict_t *v, ward_evrec_t *rec)
{
	v->has_rule = true;
	v->rule_type = r->type;
	v->rule_policy = r->policy;
	v->rule_id = r->id;
	v->reason = WARD_RSN_RULE;
	v->decision = (r->policy == WARD_POL_BLOCKLIST || r->policy == WARD_POL_SILENT_BLOCKLIST)
	                  ? WARD_DENY : WARD_ALLOW;
	v->silent = r->policy == WARD_POL_SILENT_BLOCKLIST;
	v->compiler = r->policy == WARD_POL_ALLOWLIST_COMPILER;
	/* An expiring rule must stop matching on the second: never cache what it decided. */
	v->cacheable = r->expires_at == 0;
	snprintf(rec->rule_identifier, sizeof(rec->rule_identifier), "%s", r->identifier);
}

static void keep_identity(const ward_identity_t *id, ward_verdict_t *v, ward_evrec_t *rec)
{
	const ward_slice_t *s = ward_identity_primary(id);

	if (id->has_sha256) {
		v->has_sha256 = true;
		memcpy(v->sha256, id->sha256, sizeof(v->sha256));
	}
	if (s != NULL && s->has_cdhash) {
		v->has_cdhash = true;
		memcpy(v->cdhash, s->cdhash, sizeof(v->cdhash));
	}
	if (s != NULL) {
		snprintf(rec->team_id, sizeof(rec->team_id), "%s", s->team_id);
		snprintf(rec->signing_id, sizeof(rec->signing_id), "%s", s->signing_id);
	}
}

/* Append a sentence to the log record's detail ("; " between sentences). */
static void detail_add(ward_evrec_t *rec, const char *why)
{
	size_t n = strlen(rec->detail);

	if (why[0] == '\0' || n + 3 >= sizeof(rec->detail))
		return;
	snprintf(rec->detail + n, sizeof(rec->detail) - n, "%s%s", n ? "; " : "", why);
}

/*
 * The file's identity. A file that is not a well-formed container (a truncated Mach-O,
 * say) is still named by its SHA-256, as `wardenctl rule --path` names it: only a file
 * that cannot be read at all has no identity.
 */
static bool identify(const ward_event_t *ev, ward_identity_t *id, ward_evrec_t *rec)
{
	ward_error_t err = { 0 }, herr = { 0 };
	ward_err_t rc;

	if (!ev->key_ok) {
		snprintf(rec->detail, sizeof(rec->detail), "identity: cannot stat the file");
		return false;
	}
	rc = ward_identity_read(ev->fd, WARD_ID_SHA256, id, &err);
	if (rc == WARD_OK)
		return true;
	memset(id, 0, sizeof(*id));
	if (rc == WARD_E_IO || rc == WARD_E_NOMEM || ward_sha256_fd(ev->fd, id->sha256, &herr) != WARD_OK) {
		snprintf(rec->detail, sizeof(rec->detail), "identity: %s", herr.msg[0] ? herr.msg : err.msg);
		return false;
	}
	id->has_sha256 = true;
	id->file_size = ev->key.size;
	snprintf(rec->detail, sizeof(rec->detail), "identity by SHA-256 only: %s", err.msg);
	return true;
}

bool ward_decide_cached(const ward_decide_ctx_t *ctx, const ward_event_t *ev, ward_verdict_t *v)
{
	return ctx->cache != NULL && ev->key_ok &&
	       ward_cache_lookup(ctx->cache, &ev->key, ctx->now_ms, v);
}

void ward_decide(const ward_decide_ctx_t *ctx, const ward_event_t *ev, ward_verdict_t *v,
                 ward_evrec_t *rec)
{
	const ward_config_t *cfg = &ctx->snap->cfg;
	const ward_rule_t *rule;
	ward_identity_t id;
	ward_match_key_t key;

	memset(v, 0, sizeof(*v));

	/* 1. verdict cache: (dev, ino, ctime, size) */
	if (ward_decide_cached(ctx, ev, v))
		return;

	/* 2. identity of the target (ELF: SHA-256; Mach-O: CodeDirectory too) */
	if (!identify(ev, &id, rec)) {
		by_mode(cfg, WARD_RSN_ERROR, false, v);
		return;
	}
	keep_identity(&id, v, rec);

	/* 3. rules, first hit in precedence order (CDHASH > BINARY > SIGNINGID > CERT > TEAMID) */
	ward_match_key_from_identity(&id, &key);
	if (ctx->snap->ix != NULL && (rule = ward_index_match(ctx->snap->ix, &key, ctx->now)) != NULL) {
		by_rule(rule, v, rec);
		return;
	}

	/* 4. platform: a root-owned file in a root-owned directory chain under TrustedPaths */
	if (ctx->backend->ops->path(ctx->backend, ev, rec->path, sizeof(rec->path))) {
		char why[200];
		if (ward_trust_check(cfg, ev->fd, rec->path, why, sizeof(why))) {
			v->decision = WARD_ALLOW;
			v->reason = WARD_RSN_TRUSTED;
			v->cacheable = true;
			return;
		}
		detail_add(rec, why);
	}

	/* 5. scan: the bounded-time YARA pool; its budget counts from the event's arrival */
	if (ctx->scan != NULL) {
		char why[WARD_SCAN_DETAIL_MAX] = "";
		ward_scanstep_t sr = ctx->scan(ctx->scan_arg, ev, rec->path[0] ? rec->path : NULL, &id,
		                               cfg->scan_budget_ms, why, sizeof(why));
		detail_add(rec, why);
		switch (sr) {
		case WARD_SCANSTEP_BLOCK:
			v->decision = WARD_DENY;
			v->reason = WARD_RSN_SCAN;
			v->cacheable = true;
			return;
		case WARD_SCANSTEP_PENDING:
			by_mode(cfg, WARD_RSN_MODE, false, v);
			v->scan_pending = true;
			return;
		case WARD_SCANSTEP_UNSCANNED:
			by_mode(cfg, WARD_RSN_MODE, false, v);
			return;
		case WARD_SCANSTEP_CLEAN:
		case WARD_SCANSTEP_SKIPPED:
			break;
		}
	}

	/* 6. mode: MONITOR allows (and logs) the unknown, LOCKDOWN denies it */
	by_mode(cfg, WARD_RSN_MODE, true, v);
}

void ward_decide_fallback(ward_mode_t mode, bool fail_closed, ward_reason_t why,
                          ward_verdict_t *v)
{
	memset(v, 0, sizeof(*v));
	v->decision = mode == WARD_MODE_LOCKDOWN && fail_closed ? WARD_DENY : WARD_ALLOW;
	v->reason = why;
	v->cacheable = false;
}

bool ward_decide_loggable(const ward_verdict_t *v, bool log_allows)
{
	if (v->decision == WARD_DENY || log_allows)
		return true;
	/* An unknown program allowed in MONITOR is logged when it is decided, not on every
	 * cache hit: the kernel cache hides repeats anyway, so this keeps the log the same
	 * with or without it. */
	if (v->cached)
		return false;
	switch (v->reason) {
	case WARD_RSN_RULE:
	case WARD_RSN_TRUSTED:
	case WARD_RSN_SELF:
		return false;
	default:
		return true;
	}
}

static const char *const reason_names[WARD_RSN__COUNT] = {
	[WARD_RSN_RULE] = "rule",
	[WARD_RSN_TRUSTED] = "trusted_path",
	[WARD_RSN_MODE] = "unknown",
	[WARD_RSN_SELF] = "self",
	[WARD_RSN_DEADLINE] = "deadline",
	[WARD_RSN_QUEUE_FULL] = "queue_full",
	[WARD_RSN_ERROR] = "error",
	[WARD_RSN_SCAN] = "scan",
	[WARD_RSN_STOPPING] = "stopping",
	[WARD_RSN_GROUND] = "unseen_filesystem",
};

const char *ward_reason_name(ward_reason_t r)
{
	return (unsigned)r < WARD_RSN__COUNT ? reason_names[r] : "?";
}

const char *ward_decision_name(ward_decision_t d)
{
	return d == WARD_DENY ? "DENY" : "ALLOW";
}
