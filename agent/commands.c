/*
 * The control commands: the dispatch table {command, privilege, handler} and the
 * handlers. Requests and replies are described in docs/agent.md. Handlers run on the
 * main thread (the only user of the store handle); none of them waits on a decision.
 */
#include "agent/daemon.h"

#include <stdio.h>
#include <string.h>

#include "agent/confine.h"
#include "agent/backends/bpfground.h"
#include "agent/control.h"
#include "agent/exceptions.h"
#include "agent/syncd.h"
#include "agent/ttymsg.h"
#include "agent/version.h"
#include "agent/yarascan.h"
#include "common/hex.h"

static double rate(uint64_t part, uint64_t total)
{
	return total ? (double)part / (double)total : 0.0;
}

static json_t *cmd_status(void *ctx, const ward_ctl_peer_t *peer, json_t *req, ward_error_t *err)
{
	ward_daemon_t *d = ctx;
	ward_metrics_t *m = ward_engine_metrics(d->engine);
	ward_snapshot_t *s = ward_engine_snapshot(d->engine, NULL);
	ward_engine_info_t ei;
	ward_cache_stats_t cs = { 0 };
	uint64_t written, dropped, errors, total = 0;
	json_t *o = json_object(), *j, *k;

	(void)peer;
	(void)req;
	(void)err;
	ward_engine_info(d->engine, &ei);
	json_object_set_new(o, "version", json_string(WARD_VERSION));
	json_object_set_new(o, "pid", json_integer(ei.self));
	json_object_set_new(o, "mode", json_string(ward_mode_name(s->cfg.mode)));
	json_object_set_new(o, "fail_closed", json_boolean(s->cfg.fail_closed));
	json_object_set_new(o, "uptime_s", json_integer((json_int_t)((ward_mono_ns() - ei.started_ns) / 1000000000ull)));
	json_object_set_new(o, "backend", json_string(ei.backend));
	json_object_set_new(o, "mount_rescans", json_integer((json_int_t)atomic_load(&d->backend->mount_rescans)));
	json_object_set_new(o, "config", d->config_path[0] ? json_string(d->config_path) : json_null());
	json_object_set_new(o, "reloads", json_integer((json_int_t)d->reloads));
	if (d->watch)
		json_object_set_new(o, "configuration", ward_profwatch_status(d->watch));
	if (d->yara)
		json_object_set_new(o, "scan", ward_yarascan_status_json(d->yara, &s->cfg));
	json_object_set_new(o, "sync", ward_syncd_status(d->sync, &d->cfg));
	json_object_set_new(o, "ground", ward_bpfground_status_json(d->ground));

	j = json_object();
	json_object_set_new(j, "total", json_integer((json_int_t)s->rule_count));
	json_object_set_new(j, "store", d->db_path[0] ? json_string(d->db_path) : json_null());
	json_object_set_new(j, "store_problem", d->store_problem ? json_string(d->store_problem) : json_null());
	json_object_set_new(j, "generation", json_integer((json_int_t)s->store_gen));
	json_object_set_new(j, "index_rebuilds", json_integer((json_int_t)atomic_load(&m->index_rebuilds)));
	k = json_object();
	for (int t = 0; t < WARD_RT__COUNT; t++) {
		json_t *byp = json_object();
		for (int p = 0; p < WARD_POL__COUNT; p++)
			if (s->rule_counts[t][p])
				json_object_set_new(byp, ward_policy_name((ward_policy_t)p),
				                    json_integer((json_int_t)s->rule_counts[t][p]));
		json_object_set_new(k, ward_rule_type_name((ward_rule_type_t)t), byp);
	}
	json_object_set_new(j, "by_type", k);
	json_object_set_new(o, "rules", j);

	if (d->cache)
		ward_cache_stats(d->cache, &cs);
	j = json_object();
	json_object_set_new(j, "enabled", json_boolean(d->cache != NULL));
	json_object_set_new(j, "entries", json_integer((json_int_t)cs.entries));
	json_object_set_new(j, "capacity", json_integer((json_int_t)cs.capacity));
	json_object_set_new(j, "bytes", json_integer((json_int_t)cs.bytes));
	json_object_set_new(j, "hits", json_integer((json_int_t)cs.hits));
	json_object_set_new(j, "misses", json_integer((json_int_t)cs.misses));
	json_object_set_new(j, "hit_rate", json_real(rate(cs.hits, cs.hits + cs.misses)));
	json_object_set_new(j, "evictions", json_integer((json_int_t)cs.evictions));
	json_object_set_new(j, "expired", json_integer((json_int_t)cs.expired));
	json_object_set_new(j, "forgotten", json_integer((json_int_t)cs.forgotten));
	json_object_set_new(j, "flushes", json_integer((json_int_t)ei.cache_flushes));
	json_object_set_new(o, "cache", j);

	/* file-access authorization: the watch items with their counters */
	if (d->fa) {
		j = ward_fileaccess_status(d->fa);
		json_object_set_new(j, "opens_reported", json_boolean(d->opens_ok));
		json_object_set_new(j, "not_enforced", d->unenforced ? json_deep_copy(d->unenforced) : json_array());
		json_object_set_new(o, "fileaccess", j);
	}

	j = json_object();
	json_object_set_new(j, "enabled", json_boolean(d->kernel_cache));
	json_object_set_new(j, "evictable", json_boolean(d->kernel_cache && atomic_load(&d->backend->cache_evictable)));
	json_object_set_new(j, "marks_added", json_integer((json_int_t)atomic_load(&m->kernel_cache_adds)));
	json_object_set_new(j, "flushes", json_integer((json_int_t)atomic_load(&m->kernel_cache_flushes)));
	json_object_set_new(j, "mark_errors", json_integer((json_int_t)atomic_load(&d->backend->mark_errors)));
	json_object_set_new(j, "stale", json_integer((json_int_t)atomic_load(&d->backend->stale)));
	json_object_set_new(o, "kernel_cache", j);

	j = json_object();
	for (int dd = 0; dd < 2; dd++) {
		json_t *byr = json_object();
		for (int r = 0; r < WARD_RSN__COUNT; r++) {
			uint64_t n = atomic_load(&m->decisions[dd][r]);
			total += n;
			if (n)
				json_object_set_new(byr, ward_reason_name((ward_reason_t)r), json_integer((json_int_t)n));
		}
		json_object_set_new(j, ward_decision_name((ward_decision_t)dd), byr);
	}
	json_object_set_new(j, "total", json_integer((json_int_t)total));
	json_object_set_new(o, "decisions", j);
	json_object_set_new(o, "events", json_integer((json_int_t)atomic_load(&m->events)));

	j = json_object();
	json_object_set_new(j, "depth", json_integer(ward_queue_depth(d->queue)));
	json_object_set_new(j, "capacity", json_integer(ward_queue_capacity(d->queue)));
	json_object_set_new(j, "high_water", json_integer(ward_queue_high_water(d->queue)));
	json_object_set_new(j, "full", json_integer((json_int_t)atomic_load(&m->queue_full)));
	json_object_set_new(j, "workers", json_integer(ei.nworkers));
	json_object_set_new(j, "user_share", json_integer(ei.share));
	json_object_set_new(o, "queue", j);

	j = json_object();
	json_object_set_new(j, "budget_ms", json_integer(s->cfg.decision_budget_ms));
	json_object_set_new(j, "misses", json_integer((json_int_t)atomic_load(&m->deadline_misses)));
	json_object_set_new(j, "late_verdicts", json_integer((json_int_t)atomic_load(&m->late_verdicts)));
	json_object_set_new(o, "deadline", j);

	j = json_object();
	json_object_set_new(j, "count", json_integer((json_int_t)atomic_load(&m->lat_count)));
	json_object_set_new(j, "p50", json_integer((json_int_t)ward_metrics_quantile(m, 0.50)));
	json_object_set_new(j, "p99", json_integer((json_int_t)ward_metrics_quantile(m, 0.99)));
	json_object_set_new(j, "max", json_integer((json_int_t)atomic_load(&m->lat_max_us)));
	json_object_set_new(o, "latency_us", j);

	ward_evlog_stats(d->evlog, &written, &dropped, &errors);
	j = json_object();
	json_object_set_new(j, "path", d->evlog ? json_string(d->event_log_path) : json_null());
	json_object_set_new(j, "written", json_integer((json_int_t)written));
	json_object_set_new(j, "dropped", json_integer((json_int_t)dropped));
	json_object_set_new(j, "errors", json_integer((json_int_t)errors));
	{
		int e;
		int64_t at;
		ward_evlog_last_error(d->evlog, &e, &at);
		json_object_set_new(j, "last_error", e ? json_string(strerror(e)) : json_null());
		json_object_set_new(j, "last_error_at", at ? json_integer(at) : json_null());
	}
	json_object_set_new(o, "event_log", j);
	json_object_set_new(o, "tty_messages", ward_ttymsg_status_json(d->tty));
	json_object_set_new(o, "confinement", ward_confine_status());
	json_object_set_new(o, "restarts", ward_crashes_status());
	json_object_set_new(o, "control", json_pack("{s:I}", "refused",
	                    (json_int_t)(d->ctl ? ward_ctl_refused(d->ctl) : 0)));

	j = json_object();
	json_object_set_new(j, "watching_writes", json_boolean(ei.watching_writes));
	json_object_set_new(j, "rules_added", json_integer((json_int_t)d->transitive_added));
	json_object_set_new(j, "dropped", json_integer((json_int_t)(d->compilers ? ward_compilers_dropped(d->compilers) : 0)));
	json_object_set_new(o, "transitive", j);

	j = json_object();
	json_object_set_new(j, "changed_while_deciding",
	                    json_integer((json_int_t)atomic_load(&m->changed_while_deciding)));
	json_object_set_new(j, "reader_decisions",
	                    json_integer((json_int_t)atomic_load(&m->reader_decisions)));
	json_object_set_new(j, "forgotten", json_integer((json_int_t)atomic_load(&m->forgotten)));
	json_object_set_new(o, "decide", j);

	j = json_object();
	json_object_set_new(j, "respond", json_integer((json_int_t)atomic_load(&m->respond_errors)));
	json_object_set_new(j, "identity", json_integer((json_int_t)atomic_load(&m->identity_errors)));
	json_object_set_new(j, "read", json_integer((json_int_t)atomic_load(&d->backend->read_errors)));
	json_object_set_new(j, "overflows", json_integer((json_int_t)atomic_load(&d->backend->overflows)));
	json_object_set_new(o, "errors", j);
	ward_snapshot_unref(s);
	return o;
}

/* Optional string field of req copied canonically into key->dst for rule type t. */
static bool key_field(json_t *req, const char *name, ward_rule_type_t t, char *dst, size_t cap,
                      ward_error_t *err)
{
	char canon[WARD_RULE_ID_MAX + 1];
	json_t *v = json_object_get(req, name);

	if (v == NULL || json_is_null(v))
		return true;
	if (!json_is_string(v)) {
		ward_error_set(err, WARD_E_INVAL, "%s: expected a string", name);
		return false;
	}
	if (ward_rule_identifier_canon(t, json_string_value(v), canon, err) != WARD_OK)
		return false;
	if (strlen(canon) >= cap) {
		ward_error_set(err, WARD_E_INVAL, "%s: too long", name);
		return false;
	}
	memcpy(dst, canon, strlen(canon) + 1);
	return true;
}

static json_t *rule_json(const ward_rule_t *r)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:I, s:I}", "type", ward_rule_type_name(r->type),
	                 "policy", ward_policy_name(r->policy), "source", ward_rule_source_name(r->source),
	                 "identifier", r->identifier, "id", (json_int_t)r->id,
	                 "expires_at", (json_int_t)r->expires_at);
}

/*
 * check: which rule decides these identities, and the verdict rules + mode give. The
 * caller computes the identities (wardenctl reads the file with the caller's rights);
 * trusted paths are not evaluated (they need the file itself).
 */
static json_t *cmd_check(void *ctx, const ward_ctl_peer_t *peer, json_t *req, ward_error_t *err)
{
	ward_daemon_t *d = ctx;
	ward_match_key_t key;
	const ward_rule_t *r = NULL;
	json_t *o;

	(void)peer;
	memset(&key, 0, sizeof(key));
	if (!key_field(req, "cdhash", WARD_RT_CDHASH, key.cdhash, sizeof(key.cdhash), err) ||
	    !key_field(req, "sha256", WARD_RT_BINARY, key.sha256, sizeof(key.sha256), err) ||
	    !key_field(req, "signing_id", WARD_RT_SIGNINGID, key.signing_id, sizeof(key.signing_id), err) ||
	    !key_field(req, "certificate", WARD_RT_CERTIFICATE, key.certificate, sizeof(key.certificate), err) ||
	    !key_field(req, "team_id", WARD_RT_TEAMID, key.team_id, sizeof(key.team_id), err))
		return NULL;
	if (!key.cdhash[0] && !key.sha256[0] && !key.signing_id[0] && !key.certificate[0] && !key.team_id[0]) {
		ward_error_set(err, WARD_E_INVAL, "check: give at least one of sha256, cdhash, signing_id, certificate, team_id");
		return NULL;
	}
	ward_snapshot_t *s = ward_engine_snapshot(d->engine, NULL);
	if (s->ix)
		r = ward_index_match_skip(s->ix, &key, time(NULL), s->cfg.enable_transitive_rules ?
		                          0 : 1u << WARD_SRC_TRANSITIVE);
	o = json_object();
	if (r) {
		json_object_set_new(o, "decision", json_string(ward_policy_blocks(r->policy) ? "DENY" : "ALLOW"));
		json_object_set_new(o, "reason", json_string("rule"));
		json_object_set_new(o, "rule", rule_json(r));
	} else {
		json_object_set_new(o, "decision", json_string(s->cfg.mode == WARD_MODE_LOCKDOWN ? "DENY" : "ALLOW"));
		json_object_set_new(o, "reason", json_string("unknown"));
		json_object_set_new(o, "rule", json_null());
	}
	json_object_set_new(o, "mode", json_string(ward_mode_name(s->cfg.mode)));
	ward_snapshot_unref(s);
	return o;
}

static bool get_u64(json_t *req, const char *name, uint64_t *out, ward_error_t *err)
{
	json_t *v = json_object_get(req, name);

	if (!json_is_integer(v) || json_integer_value(v) < 0) {
		ward_error_set(err, WARD_E_INVAL, "%s: expected a non-negative integer", name);
		return false;
	}
	*out = (uint64_t)json_integer_value(v);
	return true;
}

/*
 * scan-result {dev, ino, ctime_sec, ctime_nsec, size}: the YARA verdict the agent holds
 * for that file key (wardenctl fileinfo). The caller stat()ed the file: a key says
 * nothing a stat does not, and a verdict for the file is what executing it shows.
 */
static json_t *cmd_scan_result(void *ctx, const ward_ctl_peer_t *peer, json_t *req, ward_error_t *err)
{
	ward_daemon_t *d = ctx;
	ward_scan_key_t key;
	uint64_t sec, nsec;

	(void)peer;
	if (!get_u64(req, "dev", &key.dev, err) || !get_u64(req, "ino", &key.ino, err) ||
	    !get_u64(req, "ctime_sec", &sec, err) || !get_u64(req, "ctime_nsec", &nsec, err) ||
	    !get_u64(req, "size", &key.size, err))
		return NULL;
	key.ctime_sec = (int64_t)sec;
	key.ctime_nsec = (int64_t)nsec;
	if (d->yara == NULL)
		return json_pack("{s:b, s:b}", "scanning", false, "found", false);
	return ward_yarascan_lookup_json(d->yara, &key);
}

static json_t *cmd_reload(void *ctx, const ward_ctl_peer_t *peer, json_t *req, ward_error_t *err)
{
	ward_daemon_t *d = ctx;
	json_t *o;

	(void)peer;
	(void)req;
	if (ward_daemon_reload(d, "reload command", err) != WARD_OK)
		return NULL;
	o = json_pack("{s:s}", "mode", ward_mode_name(d->cfg.mode));
	/* A YARA set that did not compile does not fail the reload: the previous set stays
	 * active, and rules.error says why. */
	if (d->yara)
		json_object_set_new(o, "yara", ward_yarascan_rules_json(d->yara));
	return o;
}

/*
 * config: the configuration in force, in the shape of `wardenctl profile show --json`
 * ({config, origin, sources, warnings}) with the --mode override applied, plus the
 * reload record ("configuration", as in status). A reply must fit the control socket's
 * output bound (1 MiB), so the StaticRules listed stop at WARD_CTL_CONFIG_RULE_BYTES of
 * JSON ("static_rules": {total, shown}).
 */
/*
 * The sync side of a config reply: the values the sync server set (a layer over the
 * sources, agent/syncd.h) with origin "sync server", and SyncExtraHeaders' values (a
 * bearer secret) hidden from anyone but root and the AdminGroup.
 */
static void config_sync_view(const ward_daemon_t *d, const ward_ctl_peer_t *peer, json_t *o)
{
	json_t *c = json_object_get(o, "config"), *origin = json_object_get(o, "origin");
	json_t *h = json_object_get(c, "SyncExtraHeaders"), *v;
	ward_config_t layered = d->cfg;
	const char *k;

	if (!peer->admin && peer->uid != 0)
		json_object_foreach(h, k, v)
			json_object_set_new(h, k, json_string("(hidden: root and AdminGroup only)"));
	if (d->confset == NULL)
		return;
	/* what the sources alone say, against what is in force */
	layered = *ward_confset_config(d->confset);
	ward_syncd_overlay(d->sync, &layered);
	if (!d->mode_override && layered.mode != ward_confset_config(d->confset)->mode) {
		json_object_set_new(c, "ClientMode", json_string(ward_mode_name(layered.mode)));
		json_object_set_new(origin, "ClientMode", json_string("sync server"));
	}
	if (strcmp(layered.allowed_path_regex, ward_confset_config(d->confset)->allowed_path_regex) != 0) {
		json_object_set_new(c, "AllowedPathRegex", layered.allowed_path_regex[0] ?
		                    json_string(layered.allowed_path_regex) : json_null());
		json_object_set_new(origin, "AllowedPathRegex", json_string("sync server"));
	}
	if (strcmp(layered.blocked_path_regex, ward_confset_config(d->confset)->blocked_path_regex) != 0) {
		json_object_set_new(c, "BlockedPathRegex", layered.blocked_path_regex[0] ?
		                    json_string(layered.blocked_path_regex) : json_null());
		json_object_set_new(origin, "BlockedPathRegex", json_string("sync server"));
	}
	if (layered.enable_transitive_rules != ward_confset_config(d->confset)->enable_transitive_rules) {
		json_object_set_new(c, "EnableTransitiveRules", json_boolean(layered.enable_transitive_rules));
		json_object_set_new(origin, "EnableTransitiveRules", json_string("sync server"));
	}
}

static json_t *cmd_config(void *ctx, const ward_ctl_peer_t *peer, json_t *req, ward_error_t *err)
{
	ward_daemon_t *d = ctx;
	json_t *o, *rules;
	size_t total;

	(void)req;
	if (d->confset == NULL && d->watch != NULL && ward_profwatch_in_fallback(d->watch)) {
		/* the last good configuration: no sources, no StaticRules (those in force
		 * are the store's managed rules, see rule-list) */
		json_t *c = ward_config_to_json(&d->cfg), *origin = json_object(), *v;
		const char *k;
		if (c == NULL || origin == NULL ||
		    (o = json_pack("{s:o, s:o, s:[], s:[]}", "config", c, "origin", origin, "sources",
		                   "warnings")) == NULL) {
			ward_error_set(err, WARD_E_NOMEM, "out of memory");
			return NULL;
		}
		json_object_set_new(c, "StaticRules", json_array());
		json_object_foreach(c, k, v)
			json_object_set_new(origin, k, json_sprintf("last good configuration %s", d->lastgood_path));
		if (d->mode_override)
			json_object_set_new(origin, "ClientMode", json_string("wardend --mode"));
		json_object_set_new(o, "static_rules", json_pack("{s:i, s:i}", "total", 0, "shown", 0));
		json_object_set_new(o, "configuration", ward_profwatch_status(d->watch));
		config_sync_view(d, peer, o);
		return o;
	}
	if (d->confset == NULL) {
		ward_error_set(err, WARD_E_NOTFOUND, "no configuration has been loaded");
		return NULL;
	}
	if ((o = ward_confset_to_json(d->confset)) == NULL) {
		ward_error_set(err, WARD_E_NOMEM, "out of memory");
		return NULL;
	}
	if (d->mode_override) {
		json_object_set_new(json_object_get(o, "config"), "ClientMode",
		                    json_string(ward_mode_name((ward_mode_t)d->mode_override)));
		json_object_set_new(json_object_get(o, "origin"), "ClientMode", json_string("wardend --mode"));
	}
	config_sync_view(d, peer, o);
	rules = json_object_get(json_object_get(o, "config"), "StaticRules");
	total = json_array_size(rules);
	for (size_t i = 0, bytes = 0; i < json_array_size(rules); i++) {
		bytes += json_dumpb(json_array_get(rules, i), NULL, 0, JSON_COMPACT) + 1;
		if (bytes > WARD_CTL_CONFIG_RULE_BYTES) {
			while (json_array_size(rules) > i)
				json_array_remove(rules, json_array_size(rules) - 1);
			break;
		}
	}
	/* FileAccessPolicy is a free-form dictionary: list it only when it is small too */
	size_t fap = json_dumpb(json_object_get(json_object_get(o, "config"), "FileAccessPolicy"),
	                        NULL, 0, JSON_COMPACT | JSON_ENCODE_ANY);
	if (fap > WARD_CTL_CONFIG_RULE_BYTES / 2)
		json_object_set_new(json_object_get(o, "config"), "FileAccessPolicy",
		                    json_sprintf("(%zu bytes of JSON, not listed here: see wardenctl profile show)", fap));
	json_object_set_new(o, "static_rules", json_pack("{s:I, s:I}", "total", (json_int_t)total,
	                    "shown", (json_int_t)json_array_size(rules)));
	if (d->watch)
		json_object_set_new(o, "configuration", ward_profwatch_status(d->watch));
	return o;
}

static json_t *cmd_flush_cache(void *ctx, const ward_ctl_peer_t *peer, json_t *req, ward_error_t *err)
{
	ward_daemon_t *d = ctx;

	(void)peer;
	(void)req;
	(void)err;
	ward_engine_flush(d->engine);
	return json_object();
}

/* rules-changed: rebuild the index now if the store changed (wardenctl rule calls it
 * after writing the store, so caches flush without waiting for the next poll). */
static json_t *cmd_rules_changed(void *ctx, const ward_ctl_peer_t *peer, json_t *req, ward_error_t *err)
{
	ward_daemon_t *d = ctx;
	bool changed;

	(void)peer;
	(void)req;
	if (ward_engine_refresh(d->engine, d->store, &d->cfg, false, &changed, err) != WARD_OK)
		return NULL;
	ward_snapshot_t *s = ward_engine_snapshot(d->engine, NULL);
	json_t *o = json_pack("{s:b, s:I, s:o, s:s, s:I, s:I}", "rebuilt", changed, "generation",
	                      (json_int_t)s->store_gen, "store_problem",
	                      d->store_problem ? json_string(d->store_problem) : json_null(),
	                      "store", d->db_path, "store_dev", (json_int_t)d->store_dev,
	                      "store_ino", (json_int_t)d->store_ino);
	ward_snapshot_unref(s);
	return o;
}

/* rule-add {type, policy, identifier, [comment, custom_msg, custom_url, expires_at]} */
static json_t *cmd_rule_add(void *ctx, const ward_ctl_peer_t *peer, json_t *req, ward_error_t *err)
{
	ward_daemon_t *d = ctx;
	const char *type, *policy, *ident, *comment, *msg, *url;
	char canon[WARD_RULE_ID_MAX + 1], who[32];
	ward_rule_t r;
	json_t *exp = json_object_get(req, "expires_at");
	bool changed;

	if (d->store == NULL) {
		ward_error_set(err, WARD_E_UNSUPPORTED, "the agent runs without a rule store");
		return NULL;
	}
	memset(&r, 0, sizeof(r));
	if (!ward_ctl_get_str(req, "type", true, &type, err) || !ward_ctl_get_str(req, "policy", true, &policy, err) ||
	    !ward_ctl_get_str(req, "identifier", true, &ident, err) || !ward_ctl_get_str(req, "comment", false, &comment, err) ||
	    !ward_ctl_get_str(req, "custom_msg", false, &msg, err) || !ward_ctl_get_str(req, "custom_url", false, &url, err))
		return NULL;
	if (ward_rule_type_parse(type, &r.type, err) != WARD_OK ||
	    ward_policy_parse(policy, &r.policy, err) != WARD_OK ||
	    ward_rule_identifier_canon(r.type, ident, canon, err) != WARD_OK)
		return NULL;
	if (r.policy == WARD_POL_REMOVE) {
		ward_error_set(err, WARD_E_INVAL, "policy: use rule-remove to remove a rule");
		return NULL;
	}
	if (exp != NULL && !json_is_null(exp)) {
		if (!json_is_integer(exp) || json_integer_value(exp) < 0) {
			ward_error_set(err, WARD_E_INVAL, "expires_at: expected unix seconds");
			return NULL;
		}
		r.expires_at = json_integer_value(exp);
	}
	snprintf(who, sizeof(who), "uid:%u", (unsigned)peer->uid);
	r.source = WARD_SRC_LOCAL;
	r.identifier = canon;
	r.comment = comment;
	r.custom_msg = msg;
	r.custom_url = url;
	r.created_by = who;
	if (ward_store_put(d->store, &r, err) != WARD_OK ||
	    ward_engine_refresh(d->engine, d->store, &d->cfg, false, &changed, err) != WARD_OK)
		return NULL;
	return json_pack("{s:s, s:s, s:s}", "type", ward_rule_type_name(r.type), "policy",
	                 ward_policy_name(r.policy), "identifier", canon);
}

/* rule-remove {type, identifier} (the local rule) */
static json_t *cmd_rule_remove(void *ctx, const ward_ctl_peer_t *peer, json_t *req, ward_error_t *err)
{
	ward_daemon_t *d = ctx;
	const char *type, *ident;
	char canon[WARD_RULE_ID_MAX + 1];
	ward_rule_type_t t;
	bool changed;

	(void)peer;
	if (d->store == NULL) {
		ward_error_set(err, WARD_E_UNSUPPORTED, "the agent runs without a rule store");
		return NULL;
	}
	if (!ward_ctl_get_str(req, "type", true, &type, err) || !ward_ctl_get_str(req, "identifier", true, &ident, err) ||
	    ward_rule_type_parse(type, &t, err) != WARD_OK ||
	    ward_rule_identifier_canon(t, ident, canon, err) != WARD_OK ||
	    ward_store_remove(d->store, t, canon, WARD_SRC_LOCAL, err) != WARD_OK ||
	    ward_engine_refresh(d->engine, d->store, &d->cfg, false, &changed, err) != WARD_OK)
		return NULL;
	return json_pack("{s:s, s:s}", "type", ward_rule_type_name(t), "identifier", canon);
}

/* The exception commands get the exception module, not the daemon. */
#define EXC_CMD(name)                                                                     \
	static json_t *exc_##name(void *ctx, const ward_ctl_peer_t *peer, json_t *req,        \
	                          ward_error_t *err)                                          \
	{                                                                                     \
		return ward_exc_cmd_##name(((ward_daemon_t *)ctx)->exc, peer, req, err);          \
	}
EXC_CMD(request)
EXC_CMD(status)
EXC_CMD(requests)
EXC_CMD(approve)
EXC_CMD(deny)
EXC_CMD(decide)
EXC_CMD(blocked)
EXC_CMD(audit)

const ward_ctl_command_t ward_daemon_commands[] = {
	{ "status", WARD_CTL_ANY, cmd_status, "mode, rules, caches, decisions, queue, latency" },
	{ "check", WARD_CTL_ANY, cmd_check, "the rule and verdict for given identities" },
	{ "scan-result", WARD_CTL_ANY, cmd_scan_result, "the cached YARA verdict for a file key" },
	{ "reload", WARD_CTL_ADMIN, cmd_reload, "re-read the configuration and rules; flush caches" },
	{ "config", WARD_CTL_ANY, cmd_config, "the configuration in force and where each value came from" },
	{ "flush-cache", WARD_CTL_ADMIN, cmd_flush_cache, "forget every cached verdict" },
	{ "rules-changed", WARD_CTL_ADMIN, cmd_rules_changed, "rebuild the rule index if the store changed" },
	{ "rule-add", WARD_CTL_ADMIN, cmd_rule_add, "add or replace a local rule" },
	{ "rule-remove", WARD_CTL_ADMIN, cmd_rule_remove, "remove a local rule" },
	/* Exception requests: each handler checks who may (agent/exceptions.h). */
	{ "request", WARD_CTL_ANY, exc_request, "file an exception request for a file" },
	{ "request-status", WARD_CTL_ANY, exc_status, "one request and its audit trail" },
	{ "requests", WARD_CTL_ANY, exc_requests, "list your requests, or all (approvers)" },
	{ "approve", WARD_CTL_ANY, exc_approve, "approve a request (approvers)" },
	{ "deny", WARD_CTL_ANY, exc_deny, "deny a request (approvers)" },
	{ "decide", WARD_CTL_ANY, exc_decide, "approve/deny many requests, all or nothing (approvers)" },
	{ "blocked", WARD_CTL_ANY, exc_blocked, "your recent denials, with request hints" },
	{ "audit", WARD_CTL_ANY, exc_audit, "the exception audit trail (approvers)" },
	/* Fleet sync, for warden-sync: root, AdminGroup or SyncUser (agent/syncd.h). */
	{ "sync-config", WARD_CTL_ANY, ward_syncd_cmd_config, "sync keys, machine facts, rule counts and hash" },
	{ "sync-begin", WARD_CTL_ANY, ward_syncd_cmd_begin, "start staging synced rules" },
	{ "sync-rules", WARD_CTL_ANY, ward_syncd_cmd_rules, "stage synced rules (Santa rule objects)" },
	{ "sync-commit", WARD_CTL_ANY, ward_syncd_cmd_commit, "apply staged rules and server settings at once" },
	{ "sync-events", WARD_CTL_ANY, ward_syncd_cmd_events, "spooled events waiting for upload" },
	{ "sync-ack", WARD_CTL_ANY, ward_syncd_cmd_ack, "remove events the server accepted" },
	{ "sync-report", WARD_CTL_ANY, ward_syncd_cmd_report, "record the outcome of a sync run" },
};
const size_t ward_daemon_ncommands = sizeof(ward_daemon_commands) / sizeof(ward_daemon_commands[0]);
