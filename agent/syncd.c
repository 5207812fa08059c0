/* wardend's side of fleet sync: staging, commit, settings, outcome (agent/syncd.h). */
#include "agent/syncd.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent/daemon.h"
#include "agent/log.h"
#include "agent/sync/proto.h"
#include "common/platform.h"

#define STATE_FILE "sync-state.json"
#define SPOOL_FILE "sync-spool.db"
#define MAX_STATE_BYTES (64u << 10)
#define REPLY_EVENT_BYTES (512u << 10) /* events per sync-events reply (replies < 1 MiB) */

struct ward_syncd {
	char state_path[PATH_MAX];
	ward_syncspool_t *spool;
	ward_sync_settings_t settings;  /* the server's, merged over every commit */
	/* staging */
	ward_rule_batch_t *stage;
	uint64_t token;
	size_t staged;
	int64_t stage_touched;
	/* outcome of the runs (warden-sync reports them) */
	int64_t last_success, last_attempt, last_error_at, next_run;
	char last_error[512];
	char last_stage[32];
	uint64_t runs, failures, commits;
	size_t refused;                 /* CEL rules the last commit left out, and their names */
	char refused_names[512];
};

static int64_t now_s(void)
{
	return (int64_t)time(NULL);
}

static json_t *iso(int64_t t)
{
	char buf[32];

	if (t <= 0)
		return json_null();
	ward_rule_time_format(t, buf);
	return json_string(buf);
}

/* ---------------------------------------------------------------- state file */

static void save_state(ward_syncd_t *s)
{
	json_t *o, *set;
	char tmp[PATH_MAX + 16];
	char *text;
	int fd;

	set = ward_sync_settings_to_json(&s->settings);
	json_object_del(set, "sync_type");
	o = json_pack("{s:o, s:I, s:I, s:I, s:I, s:s, s:s, s:I, s:I, s:I}", "settings", set,
	              "last_success", (json_int_t)s->last_success, "last_attempt", (json_int_t)s->last_attempt,
	              "last_error_at", (json_int_t)s->last_error_at, "next_run", (json_int_t)s->next_run,
	              "last_error", s->last_error, "last_stage", s->last_stage, "runs", (json_int_t)s->runs,
	              "failures", (json_int_t)s->failures, "commits", (json_int_t)s->commits);
	if (o == NULL || (text = json_dumps(o, JSON_COMPACT)) == NULL) {
		json_decref(o);
		log_warnx("sync: state not saved: out of memory");
		return;
	}
	json_decref(o);
	snprintf(tmp, sizeof(tmp), "%s.tmp", s->state_path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text) || fsync(fd) != 0 ||
	    close(fd) != 0 || rename(tmp, s->state_path) != 0) {
		log_warn("sync: cannot save %s", s->state_path);
		if (fd >= 0)
			(void)unlink(tmp);
	}
	free(text);
}

static void load_state(ward_syncd_t *s)
{
	json_error_t je;
	ward_error_t e = { 0 };
	struct stat sb;
	json_t *o;

	if (lstat(s->state_path, &sb) != 0)
		return;
	if (!S_ISREG(sb.st_mode) || sb.st_size > (off_t)MAX_STATE_BYTES ||
	    (sb.st_uid != 0 && sb.st_uid != geteuid()) || (sb.st_mode & 022)) {
		log_warnx("sync: %s: not a regular file owned by root and writable only by it, or too "
		          "large; ignored", s->state_path);
		return;
	}
	if ((o = json_load_file(s->state_path, JSON_REJECT_DUPLICATES, &je)) == NULL) {
		log_warnx("sync: %s: %s; ignored", s->state_path, je.text);
		return;
	}
	if (ward_sync_settings_from_json(json_object_get(o, "settings"), &s->settings, &e) != WARD_OK) {
		log_warnx("sync: %s: %s; the server's settings are forgotten until the next sync",
		          s->state_path, e.msg);
		memset(&s->settings, 0, sizeof(s->settings));
	}
	s->last_success = json_integer_value(json_object_get(o, "last_success"));
	s->last_attempt = json_integer_value(json_object_get(o, "last_attempt"));
	s->last_error_at = json_integer_value(json_object_get(o, "last_error_at"));
	s->next_run = json_integer_value(json_object_get(o, "next_run"));
	s->runs = (uint64_t)json_integer_value(json_object_get(o, "runs"));
	s->failures = (uint64_t)json_integer_value(json_object_get(o, "failures"));
	s->commits = (uint64_t)json_integer_value(json_object_get(o, "commits"));
	snprintf(s->last_error, sizeof(s->last_error), "%s",
	         json_string_value(json_object_get(o, "last_error")) ? json_string_value(json_object_get(o, "last_error")) : "");
	snprintf(s->last_stage, sizeof(s->last_stage), "%s",
	         json_string_value(json_object_get(o, "last_stage")) ? json_string_value(json_object_get(o, "last_stage")) : "");
	json_decref(o);
}

/* ---------------------------------------------------------------- lifetime */

ward_err_t ward_syncd_create(const char *state_dir, ward_syncd_t **out, ward_error_t *err)
{
	ward_syncd_t *s;
	char spool[PATH_MAX];
	ward_err_t rc;

	*out = NULL;
	if (strlen(state_dir) + sizeof(SPOOL_FILE) + 2 > PATH_MAX)
		return ward_error_set(err, WARD_E_INVAL, "%.64s...: path too long", state_dir);
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return ward_error_set(err, WARD_E_NOMEM, "out of memory");
	if (snprintf(s->state_path, sizeof(s->state_path), "%s/%s", state_dir, STATE_FILE) < 0 ||
	    snprintf(spool, sizeof(spool), "%s/%s", state_dir, SPOOL_FILE) < 0) {
		free(s);
		return ward_error_set(err, WARD_E_INVAL, "%.64s...: path too long", state_dir);
	}
	if ((rc = ward_syncspool_open(spool, WARD_SPOOL_MAX_EVENTS, &s->spool, err)) != WARD_OK) {
		free(s);
		return rc;
	}
	load_state(s);
	*out = s;
	return WARD_OK;
}

static void stage_drop(ward_syncd_t *s)
{
	ward_rule_batch_free(s->stage);
	s->stage = NULL;
	s->token = 0;
	s->staged = 0;
}

void ward_syncd_destroy(ward_syncd_t *s)
{
	if (s == NULL)
		return;
	stage_drop(s);
	ward_syncspool_close(s->spool);
	free(s);
}

ward_syncspool_t *ward_syncd_spool(ward_syncd_t *s)
{
	return s ? s->spool : NULL;
}

void ward_syncd_overlay(const ward_syncd_t *s, ward_config_t *cfg)
{
	if (s == NULL)
		return;
	if (s->settings.has_mode)
		cfg->mode = s->settings.mode;
	/* Santa: the server's enable_transitive_rules beats the profile's EnableTransitiveRules */
	if (s->settings.has_transitive)
		cfg->enable_transitive_rules = s->settings.enable_transitive;
	if (s->settings.has_allowed_regex)
		memcpy(cfg->allowed_path_regex, s->settings.allowed_regex, sizeof(cfg->allowed_path_regex));
	if (s->settings.has_blocked_regex)
		memcpy(cfg->blocked_path_regex, s->settings.blocked_regex, sizeof(cfg->blocked_path_regex));
}

/* ---------------------------------------------------------------- status */

json_t *ward_syncd_status(ward_syncd_t *s, const ward_config_t *cfg)
{
	ward_syncspool_stats_t st;
	json_t *o = json_object(), *set;

	json_object_set_new(o, "configured", json_boolean(cfg->sync.base_url[0] != '\0'));
	json_object_set_new(o, "server", cfg->sync.base_url[0] ? json_string(cfg->sync.base_url) : json_null());
	if (s == NULL)
		return o;
	json_object_set_new(o, "last_success", iso(s->last_success));
	json_object_set_new(o, "last_attempt", iso(s->last_attempt));
	json_object_set_new(o, "last_error", s->last_error[0] ?
	                    json_pack("{s:s, s:s, s:o}", "message", s->last_error, "stage", s->last_stage,
	                              "at", iso(s->last_error_at)) : json_null());
	json_object_set_new(o, "next_run", iso(s->next_run));
	json_object_set_new(o, "runs", json_integer((json_int_t)s->runs));
	json_object_set_new(o, "failures", json_integer((json_int_t)s->failures));
	json_object_set_new(o, "commits", json_integer((json_int_t)s->commits));
	json_object_set_new(o, "staging", json_boolean(s->stage != NULL));
	json_object_set_new(o, "refused_rules", json_pack("{s:I, s:s}", "count", (json_int_t)s->refused,
	                                                  "rules", s->refused_names));
	set = ward_sync_settings_to_json(&s->settings);
	json_object_del(set, "sync_type");
	json_object_set_new(o, "server_settings", set);
	ward_syncspool_stats(s->spool, &st);
	json_object_set_new(o, "spool", json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}",
	                    "depth", (json_int_t)st.depth, "max", (json_int_t)WARD_SPOOL_MAX_EVENTS,
	                    "spooled", (json_int_t)st.spooled, "uploaded", (json_int_t)st.uploaded,
	                    "dropped", (json_int_t)st.dropped, "errors", (json_int_t)st.errors));
	return o;
}

/* ---------------------------------------------------------------- handlers */

static ward_syncd_t *ready(ward_daemon_t *d, const ward_ctl_peer_t *peer, ward_error_t *err)
{
	if (d->sync == NULL || d->store == NULL) {
		ward_error_set(err, WARD_E_UNSUPPORTED, "fleet sync needs the agent's rule store");
		return NULL;
	}
	if (peer->uid != 0 && !peer->admin) {
		struct passwd pw, *res = NULL;
		char buf[1024];
		if (d->cfg.sync.user[0] == '\0' ||
		    getpwnam_r(d->cfg.sync.user, &pw, buf, sizeof(buf), &res) != 0 || res == NULL ||
		    pw.pw_uid != peer->uid) {
			ward_error_set(err, WARD_E_PERM, "only root, the AdminGroup or SyncUser (%s) may "
			               "take part in a sync", d->cfg.sync.user[0] ? d->cfg.sync.user : "unset");
			return NULL;
		}
	}
	/* A staging nobody touched for a while belongs to a warden-sync that died. */
	if (d->sync->stage != NULL && now_s() - d->sync->stage_touched > (int64_t)WARD_SYNC_STAGE_TTL_S) {
		log_warnx("sync: staged rules not committed for %u s: dropped", WARD_SYNC_STAGE_TTL_S);
		stage_drop(d->sync);
	}
	return d->sync;
}

struct counts {
	size_t by_type[WARD_RT__COUNT], compiler, transitive, synced;
	ward_sync_hash_t *hash;
};

static int count_rule(const ward_rule_t *r, void *arg)
{
	struct counts *c = arg;

	c->by_type[r->type]++;
	if (r->policy == WARD_POL_ALLOWLIST_COMPILER)
		c->compiler++;
	if (r->source == WARD_SRC_TRANSITIVE)
		c->transitive++;
	if (r->source == WARD_SRC_SYNC) {
		c->synced++;
		ward_sync_hash_add(c->hash, r);
	}
	return 0;
}

static ward_err_t rule_facts(ward_daemon_t *d, struct counts *c, char hash[65], ward_error_t *err)
{
	ward_err_t rc;

	memset(c, 0, sizeof(*c));
	if ((c->hash = ward_sync_hash_new()) == NULL)
		return ward_error_set(err, WARD_E_NOMEM, "out of memory");
	rc = ward_store_foreach(d->store, count_rule, c, err);
	ward_sync_hash_final(c->hash, hash);
	c->hash = NULL;
	return rc;
}

static void read_small(const char *path, char *out, size_t cap)
{
	FILE *f = fopen(path, "re");

	out[0] = '\0';
	if (f == NULL)
		return;
	if (fgets(out, (int)cap, f) == NULL)
		out[0] = '\0';
	fclose(f);
	out[strcspn(out, "\r\n")] = '\0';
	for (char *p = out; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			*p = '?';
}

json_t *ward_syncd_cmd_config(void *ctx, const ward_ctl_peer_t *peer, json_t *req, ward_error_t *err)
{
	ward_daemon_t *d = ctx;
	ward_syncd_t *s = ready(d, peer, err);
	static const char *const keys[] = { "SyncBaseURL", "MachineID", "MachineIDPlist", "MachineIDKey",
	                                    "MachineOwner", "ClientAuthCertificateFile", "ClientAuthKeyFile",
	                                    "ServerAuthRootsFile", "SyncExtraHeaders", "FullSyncInterval" };
	json_t *all, *cfg, *o;
	struct counts c;
	char hash[65], serial[128], mid[128];
	ward_syncspool_stats_t st;

	(void)req;
	if (s == NULL || rule_facts(d, &c, hash, err) != WARD_OK)
		return NULL;
	all = ward_config_to_json(&d->cfg);
	cfg = json_object();
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		json_object_set(cfg, keys[i], json_object_get(all, keys[i]));
	json_decref(all);
	/* Only root may read the DMI serial: wardend reads it for warden-sync. */
	read_small("/sys/class/dmi/id/product_serial", serial, sizeof(serial));
	read_small("/etc/machine-id", mid, sizeof(mid));
	ward_syncspool_stats(s->spool, &st);
	o = json_object();
	json_object_set_new(o, "sync", cfg);
	json_object_set_new(o, "client_mode", json_string(ward_mode_name(d->cfg.mode)));
	json_object_set_new(o, "serial", json_string(serial[0] ? serial : mid));
	json_object_set_new(o, "machine_id_file", json_string(mid));
	json_object_set_new(o, "full_sync_interval", json_integer(s->settings.has_full_sync_interval ?
	                    s->settings.full_sync_interval_s : d->cfg.sync.full_sync_interval_s));
	json_object_set_new(o, "batch_size", json_integer(s->settings.has_batch_size ?
	                    s->settings.batch_size : WARD_SYNC_BATCH_DEFAULT));
	json_object_set_new(o, "rule_counts", json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
	                    "binary_rule_count", (json_int_t)c.by_type[WARD_RT_BINARY],
	                    "certificate_rule_count", (json_int_t)c.by_type[WARD_RT_CERTIFICATE],
	                    "compiler_rule_count", (json_int_t)c.compiler,
	                    "transitive_rule_count", (json_int_t)c.transitive,
	                    "teamid_rule_count", (json_int_t)c.by_type[WARD_RT_TEAMID],
	                    "signingid_rule_count", (json_int_t)c.by_type[WARD_RT_SIGNINGID],
	                    "cdhash_rule_count", (json_int_t)c.by_type[WARD_RT_CDHASH]));
	json_object_set_new(o, "synced_rules", json_integer((json_int_t)c.synced));
	json_object_set_new(o, "rules_hash", json_string(hash));
	json_object_set_new(o, "spool_depth", json_integer((json_int_t)st.depth));
	return o;
}

json_t *ward_syncd_cmd_begin(void *ctx, const ward_ctl_peer_t *peer, json_t *req, ward_error_t *err)
{
	ward_daemon_t *d = ctx;
	ward_syncd_t *s = ready(d, peer, err);
	uint64_t tok = 0;

	(void)req;
	if (s == NULL)
		return NULL;
	if (s->stage != NULL)
		log_info("sync: a new sync replaces rules staged by an earlier one that did not commit");
	stage_drop(s);
	if (ward_rule_batch_create(&s->stage, err) != WARD_OK)
		return NULL;
	if (!ward_random(&tok, sizeof(tok)))
		tok = (uint64_t)now_s() * 2654435761u;
	s->token = (tok & ((1ull << 52) - 1)) | 1; /* exact in a JSON number, never 0 */
	s->stage_touched = now_s();
	return json_pack("{s:I}", "token", (json_int_t)s->token);
}

static ward_syncd_t *staged(ward_daemon_t *d, const ward_ctl_peer_t *peer, json_t *req,
                            ward_error_t *err)
{
	ward_syncd_t *s = ready(d, peer, err);
	json_t *t = json_object_get(req, "token");

	if (s == NULL)
		return NULL;
	if (s->stage == NULL || !json_is_integer(t) || (uint64_t)json_integer_value(t) != s->token) {
		ward_error_set(err, WARD_E_NOTFOUND, "no sync in progress with this token (it expired or a "
		               "newer sync replaced it)");
		return NULL;
	}
	s->stage_touched = now_s();
	return s;
}

json_t *ward_syncd_cmd_rules(void *ctx, const ward_ctl_peer_t *peer, json_t *req, ward_error_t *err)
{
	ward_daemon_t *d = ctx;
	ward_syncd_t *s = staged(d, peer, req, err);
	json_t *rules = json_object_get(req, "rules"), *r;
	size_t i;

	if (s == NULL)
		return NULL;
	if (!json_is_array(rules)) {
		ward_error_set(err, WARD_E_INVAL, "rules: expected an array of Santa rule objects");
		stage_drop(s);
		return NULL;
	}
	json_array_foreach(rules, i, r) {
		if (ward_rule_batch_add_santa(s->stage, r, s->staged, WARD_SRC_SYNC, "sync", err) != WARD_OK) {
			log_warnx("sync: rule refused, nothing of this sync is applied: %s", err->msg);
			stage_drop(s);
			return NULL;
		}
		s->staged++;
	}
	return json_pack("{s:I}", "staged", (json_int_t)s->staged);
}

json_t *ward_syncd_cmd_commit(void *ctx, const ward_ctl_peer_t *peer, json_t *req, ward_error_t *err)
{
	ward_daemon_t *d = ctx;
	ward_syncd_t *s = staged(d, peer, req, err);
	ward_sync_settings_t in, merged;
	ward_apply_stats_t stats = { 0 };
	const ward_rule_t *rules;
	json_t *set = json_object_get(req, "settings");
	struct counts c;
	char hash[65];
	bool relayout, changed;
	size_t n;
	ward_err_t rc;

	if (s == NULL)
		return NULL;
	memset(&in, 0, sizeof(in));
	if (set != NULL && ward_sync_settings_from_json(set, &in, err) != WARD_OK) {
		stage_drop(s);
		return NULL;
	}
	merged = s->settings;
	if (in.has_mode) { merged.has_mode = true; merged.mode = in.mode; }
	if (in.has_batch_size) { merged.has_batch_size = true; merged.batch_size = in.batch_size; }
	if (in.has_full_sync_interval) {
		merged.has_full_sync_interval = true;
		merged.full_sync_interval_s = in.full_sync_interval_s;
	}
	if (in.has_transitive) { merged.has_transitive = true; merged.enable_transitive = in.enable_transitive; }
	if (in.has_allowed_regex) {
		merged.has_allowed_regex = true;
		memcpy(merged.allowed_regex, in.allowed_regex, sizeof(merged.allowed_regex));
	}
	if (in.has_blocked_regex) {
		merged.has_blocked_regex = true;
		memcpy(merged.blocked_regex, in.blocked_regex, sizeof(merged.blocked_regex));
	}
	rules = ward_rule_batch_rules(s->stage, &n);
	{
		const char *names;
		s->refused = ward_rule_batch_refused(s->stage, &names);
		snprintf(s->refused_names, sizeof(s->refused_names), "%s", names);
		if (s->refused)
			log_warnx("sync: %zu CEL rule%s refused (warden evaluates no CEL; the other rules "
			          "apply): %s", s->refused, s->refused > 1 ? "s" : "", s->refused_names);
	}
	/* enable_transitive_rules is a setting (ward_syncd_overlay), not a rewrite of the
	 * rules: ALLOWLIST_COMPILER rules are stored as sent and act as compilers only while
	 * transitive rules are enabled, as in Santa. */
	if (in.sync_type != WARD_SYNC_NORMAL)
		rc = ward_store_replace_sources(d->store, (1u << WARD_SRC_SYNC) |
		                                (in.sync_type == WARD_SYNC_CLEAN_ALL ? 1u << WARD_SRC_TRANSITIVE : 0),
		                                rules, n, &stats, err);
	else
		rc = n > 0 ? ward_store_apply(d->store, rules, n, &stats, err) : WARD_OK;
	stage_drop(s);
	if (rc != WARD_OK) {
		log_warnx("sync: rules not applied (nothing changed): %s", err->msg);
		return NULL;
	}
	relayout = merged.has_mode != s->settings.has_mode || merged.mode != s->settings.mode ||
	           merged.has_allowed_regex != s->settings.has_allowed_regex ||
	           strcmp(merged.allowed_regex, s->settings.allowed_regex) != 0 ||
	           merged.has_blocked_regex != s->settings.has_blocked_regex ||
	           strcmp(merged.blocked_regex, s->settings.blocked_regex) != 0 ||
	           merged.has_transitive != s->settings.has_transitive ||
	           merged.enable_transitive != s->settings.enable_transitive;
	s->settings = merged;
	s->commits++;
	save_state(s);
	log_info("sync (%s): %zu rules received, %zu written, %zu removed, %zu cleared%s",
	         ward_sync_type_name(in.sync_type), n, stats.put, stats.removed, stats.cleared,
	         relayout ? "; the server changed the settings" : "");
	if (relayout) {
		/* The server's mode, regexes and transitive setting are a layer of the configuration: reload it all
		 * (the caches are flushed, as for any mode change). */
		if (ward_daemon_reload(d, "sync", err) != WARD_OK)
			return NULL;
	} else if (ward_engine_refresh(d->engine, d->store, &d->cfg, false, &changed, err) != WARD_OK) {
		return NULL;
	}
	if (rule_facts(d, &c, hash, err) != WARD_OK)
		return NULL;
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:s, s:s, s:s}", "received", (json_int_t)n,
	                 "put", (json_int_t)stats.put, "removed", (json_int_t)stats.removed,
	                 "absent", (json_int_t)stats.absent, "cleared", (json_int_t)stats.cleared,
	                 "synced_rules", (json_int_t)c.synced, "rules_hash", hash,
	                 "client_mode", ward_mode_name(d->cfg.mode),
	                 "sync_type", ward_sync_type_name(in.sync_type));
}

json_t *ward_syncd_cmd_events(void *ctx, const ward_ctl_peer_t *peer, json_t *req, ward_error_t *err)
{
	ward_daemon_t *d = ctx;
	ward_syncd_t *s = ready(d, peer, err);
	json_t *m = json_object_get(req, "max"), *a = json_object_get(req, "after"), *events;
	json_int_t max = WARD_SYNC_BATCH_DEFAULT, after = 0;
	ward_syncspool_stats_t st;

	if (s == NULL)
		return NULL;
	if (m != NULL && (!json_is_integer(m) || json_integer_value(m) < 1)) {
		ward_error_set(err, WARD_E_INVAL, "max: expected a positive integer");
		return NULL;
	}
	if (a != NULL && (!json_is_integer(a) || json_integer_value(a) < 0)) {
		ward_error_set(err, WARD_E_INVAL, "after: expected an event id");
		return NULL;
	}
	if (m)
		max = json_integer_value(m);
	if (a)
		after = json_integer_value(a);
	if (max > (json_int_t)WARD_SPOOL_TAKE_MAX)
		max = WARD_SPOOL_TAKE_MAX;
	if (ward_syncspool_take(s->spool, (int64_t)after, (size_t)max, REPLY_EVENT_BYTES, &events, err) != WARD_OK)
		return NULL;
	ward_syncspool_stats(s->spool, &st);
	return json_pack("{s:o, s:I, s:I}", "events", events, "depth", (json_int_t)st.depth,
	                 "dropped", (json_int_t)st.dropped);
}

json_t *ward_syncd_cmd_ack(void *ctx, const ward_ctl_peer_t *peer, json_t *req, ward_error_t *err)
{
	ward_daemon_t *d = ctx;
	ward_syncd_t *s = ready(d, peer, err);
	json_t *ids = json_object_get(req, "ids"), *v;
	int64_t buf[WARD_SYNC_MAX_BATCH];
	size_t i, removed = 0;

	if (s == NULL)
		return NULL;
	if (!json_is_array(ids) || json_array_size(ids) > WARD_SYNC_MAX_BATCH) {
		ward_error_set(err, WARD_E_INVAL, "ids: expected an array of at most %u event ids",
		               WARD_SYNC_MAX_BATCH);
		return NULL;
	}
	json_array_foreach(ids, i, v) {
		if (!json_is_integer(v)) {
			ward_error_set(err, WARD_E_INVAL, "ids[%zu]: not an event id", i);
			return NULL;
		}
		buf[i] = json_integer_value(v);
	}
	if (ward_syncspool_ack(s->spool, buf, json_array_size(ids), &removed, err) != WARD_OK)
		return NULL;
	return json_pack("{s:I}", "removed", (json_int_t)removed);
}

json_t *ward_syncd_cmd_report(void *ctx, const ward_ctl_peer_t *peer, json_t *req, ward_error_t *err)
{
	ward_daemon_t *d = ctx;
	ward_syncd_t *s = ready(d, peer, err);
	json_t *ok = json_object_get(req, "ok"), *next = json_object_get(req, "next_run");
	const char *msg = NULL, *stage = NULL;

	if (s == NULL)
		return NULL;
	if (!json_is_boolean(ok) || !ward_ctl_get_str(req, "error", false, &msg, err) ||
	    !ward_ctl_get_str(req, "stage", false, &stage, err)) {
		if (!json_is_boolean(ok))
			ward_error_set(err, WARD_E_INVAL, "ok: expected a boolean");
		return NULL;
	}
	if (next != NULL && !json_is_integer(next)) {
		ward_error_set(err, WARD_E_INVAL, "next_run: expected unix seconds");
		return NULL;
	}
	s->runs++;
	s->last_attempt = now_s();
	if (json_is_true(ok)) {
		s->last_success = s->last_attempt;
		s->last_error[0] = '\0';
		s->last_stage[0] = '\0';
	} else {
		s->failures++;
		s->last_error_at = s->last_attempt;
		snprintf(s->last_error, sizeof(s->last_error), "%s", msg ? msg : "failed");
		snprintf(s->last_stage, sizeof(s->last_stage), "%s", stage ? stage : "");
	}
	if (next)
		s->next_run = json_integer_value(next);
	save_state(s);
	return json_object();
}
