/* wardend's configuration loading and reload. */
#include "agent/daemon.h"

#include <errno.h>
#include <grp.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent/confine.h"
#include "agent/lastgood.h"
#include "agent/log.h"
#include "agent/syncd.h"
#include "agent/yarascan.h"
#include "common/fdpath.h"
#include "common/hex.h"
#include "common/proc.h"
#include "profiles/diag.h"

struct load {
	const ward_daemon_t *d;
	unsigned flags;
	ward_confset_t *cs;
	json_t *diags;
	ward_error_t err;
	ward_err_t rc;
};

/* The loader thread: reads and parses every source (plist, .mobileconfig, CMS, JSON)
 * confined (agent/confine.h: it may open and read files, nothing an exploit wants). */
static void *load_main(void *arg)
{
	struct load *l = arg;

	ward_confine_thread(WARD_CONFINE_LOADER);
	l->rc = ward_config_load_sources(l->d->config_path[0] ? l->d->config_path : NULL,
	                                 l->d->profiles_dir[0] ? l->d->profiles_dir : NULL, l->flags,
	                                 &l->cs, l->diags, &l->err);
	return NULL;
}

ward_err_t ward_daemon_load_config(const ward_daemon_t *d, ward_confset_t **cs, ward_config_t *cfg,
                                   json_t *diags, ward_error_t *err)
{
	struct load l = { .d = d, .diags = diags,
	                  .flags = WARD_LOAD_STRICT_PERMS | (d->config_required ? WARD_LOAD_CONF_REQUIRED : 0) };
	pthread_t t;

	*cs = NULL;
	if (pthread_create(&t, NULL, load_main, &l) != 0)
		return ward_error_set(err, WARD_E_NOMEM, "configuration: cannot start the loader thread");
	pthread_join(t, NULL);
	if (l.rc != WARD_OK) {
		if (err != NULL)
			*err = l.err;
		return l.rc;
	}
	*cs = l.cs;
	*cfg = *ward_confset_config(*cs);
	/* The sync server's settings (client_mode, path regexes) over the sources, as Santa
	 * lets a sync server set them; --mode stays above all. */
	ward_syncd_overlay(d->sync, cfg);
	if (d->mode_override)
		cfg->mode = (ward_mode_t)d->mode_override;
	return WARD_OK;
}

struct pathlist {
	const char **v;
	size_t n, cap;
};

static void collect(void *arg, size_t item, const char *pattern, bool prefix)
{
	struct pathlist *l = arg;

	(void)item;
	(void)prefix;
	if (l->n + 1 < l->cap)
		l->v[l->n++] = pattern;
}

/* Whether path (or its deepest existing ancestor) is on the filesystem of a watch path. */
static bool on_watched_fs(const char *const *watch, const char *path)
{
	char p[PATH_MAX], *slash;
	struct stat st, w;

	snprintf(p, sizeof(p), "%s", path);
	p[strcspn(p, "*?[")] = '\0';
	while (stat(p[0] ? p : "/", &st) != 0) {
		if ((slash = strrchr(p, '/')) == NULL)
			return false;
		*slash = '\0';
	}
	for (size_t i = 0; watch[i]; i++)
		if (stat(watch[i], &w) == 0 && w.st_dev == st.st_dev)
			return true;
	return false;
}

/* wardenctl: next to wardend (a build tree), or in ../bin (make install). */
static void find_wardenctl(const char *self, char *out, size_t len)
{
	char dir[PATH_MAX], cand[PATH_MAX + 32], *slash;

	out[0] = '\0';
	snprintf(dir, sizeof(dir), "%s", self);
	if ((slash = strrchr(dir, '/')) == NULL)
		return;
	*slash = '\0';
	snprintf(cand, sizeof(cand), "%s/wardenctl", dir);
	if (access(cand, X_OK) != 0)
		snprintf(cand, sizeof(cand), "%s/../bin/wardenctl", dir);
	if (access(cand, X_OK) == 0 && realpath(cand, dir) != NULL)
		snprintf(out, len, "%s", dir);
}

ward_err_t ward_daemon_fileaccess(ward_daemon_t *d, const ward_confset_t *cs,
                                  const ward_config_t *cfg, ward_error_t *err)
{
	char self[PATH_MAX], ctl[PATH_MAX];
	const char *yara[WARD_MAX_YARA_PATHS + 1];
	ward_faa_t *p = NULL;
	ward_err_t rc;

	if (d->fa == NULL)
		return WARD_OK;
	(void)ward_proc_self_exe(self, sizeof(self));
	find_wardenctl(self, ctl, sizeof(ctl));
	for (unsigned i = 0; i < cfg->nyara_rules_paths; i++)
		yara[i] = cfg->yara_rules_paths[i];
	yara[cfg->nyara_rules_paths] = NULL;
	ward_fa_self_t me = {
		.db = d->db_path,
		.lastgood = d->lastgood_path,
		.conf_file = d->config_path,
		.profile_dir = d->profiles_dir,
		.faa_plist = cs ? ward_confset_faa_plist(cs) : NULL,
		.event_log = d->event_log_path,
		.yara = d->yara_paths ? d->yara_paths : yara,
		.wardend = self,
		.wardenctl = ctl,
	};
	if ((rc = ward_fileaccess_policy(cs ? ward_confset_file_access_policy(cs) : NULL, &me, &p,
	                                 err)) != WARD_OK)
		return rc;
	ward_fileaccess_set(d->fa, p, cfg);
	if (d->opens_live && d->backend && d->backend->ops->watch_opens) {
		const char *v[WARD_FAA_MAX_PATHS + 64 + 64 + 1];
		struct pathlist l = { v, 0, sizeof(v) / sizeof(v[0]) };
		ward_faa_foreach_path(p, collect, &l);
		/* With --watch, warden marks only the filesystems it was told to: a watched path
		 * elsewhere is said, not enforced (and the machine is not marked behind the
		 * operator's back: tests mark nothing but their private tmpfs). */
		json_decref(d->unenforced);
		d->unenforced = json_array();
		if (d->watch_paths && d->watch_paths[0]) {
			size_t k = 0;
			for (size_t i = 0; i < l.n; i++) {
				if (on_watched_fs(d->watch_paths, v[i]))
					v[k++] = v[i];
				else {
					log_warnx("file access: %s is on no filesystem given with --watch: not enforced", v[i]);
					json_array_append_new(d->unenforced, json_string(v[i]));
				}
			}
			l.n = k;
		}
		/* ProcessesWithAllowedPaths: its processes are checked on every open of the
		 * filesystems warden watches */
		if (ward_faa_needs_all_opens(p))
			for (size_t i = 0; d->watch_paths && d->watch_paths[i] && l.n + 1 < l.cap; i++)
				v[l.n++] = d->watch_paths[i];
		v[l.n] = NULL;
		d->opens_ok = d->backend->ops->watch_opens(d->backend, v, cfg->ninterpreters > 0);
		if (!d->opens_ok)
			log_warnx("file access: not every watched path could be marked for opens (see wardenctl status)");
	}
	ward_faa_free(p); /* fa holds its reference */
	return WARD_OK;
}

ward_err_t ward_daemon_reload(ward_daemon_t *d, const char *trigger, ward_error_t *err)
{
	ward_confset_t *cs = NULL;
	ward_config_t cfg;
	json_t *diags = json_array();
	bool changed;
	size_t i;
	json_t *dg;
	ward_err_t rc;

	/* 1. every source, validated completely; nothing is touched on error */
	if ((rc = ward_daemon_load_config(d, &cs, &cfg, diags, err)) != WARD_OK) {
		json_array_foreach(diags, i, dg) {
			const char *sev = json_string_value(json_object_get(dg, "severity"));
			if (sev != NULL && strcmp(sev, "error") == 0)
				log_warnx("configuration: %s", ward_diag_text(dg));
		}
		log_warnx("reload (%s) failed: keeping the configuration in force", trigger);
		goto fail;
	}
	/* 2. the managed rules (one transaction; the store is unchanged on error) */
	if (d->store != NULL && (rc = ward_confset_sync_rules(cs, d->store, NULL, err)) != WARD_OK) {
		log_warnx("reload (%s): rule store: %s; keeping the configuration in force", trigger, err->msg);
		goto fail;
	}
	/* 3. the new snapshot, published with both caches flushed (a mode change must not
	 * leave MONITOR allows in the kernel) */
	if ((rc = ward_engine_refresh(d->engine, d->store, &cfg, true, &changed, err)) != WARD_OK) {
		ward_error_t e2 = { 0 };
		if (d->store != NULL && d->confset != NULL &&
		    ward_confset_sync_rules(d->confset, d->store, NULL, &e2) != WARD_OK)
			log_warnx("reload: cannot restore the managed rules: %s", e2.msg);
		if (d->store != NULL && d->confset == NULL)
			log_warnx("reload: the managed rules are those of the new sources now (the last good configuration has no StaticRules to restore)");
		log_warnx("reload (%s): %s; keeping the configuration in force", trigger, err->msg);
		goto fail;
	}
	/* 4. the file-access policy (its items were validated with the sources) */
	if ((rc = ward_daemon_fileaccess(d, cs, &cfg, err)) != WARD_OK) {
		log_warnx("reload (%s): file access: %s; keeping the previous policy", trigger, err->msg);
		goto fail;
	}
	d->cfg = cfg;
	atomic_store(&d->spool_events, cfg.sync.base_url[0] != '\0');
	ward_confset_free(d->confset);
	d->confset = cs;
	/* YaraRulesPaths or ScanMaxBytes may have changed; an error is in the status. */
	if (d->yara)
		ward_yarascan_reload(d->yara, &cfg, NULL, NULL);
	if (d->ctl)
		ward_ctl_set_admin_gid(d->ctl, ward_daemon_admin_gid(&cfg));
	d->reloads++;
	if (d->watch) {
		if (ward_profwatch_in_fallback(d->watch))
			log_info("configuration sources load again: the last good configuration is no longer in force");
		ward_profwatch_loaded(d->watch, cs, trigger);
	}
	ward_daemon_log_config(d, trigger);
	ward_daemon_save_last_good(d, trigger);
	json_decref(diags);
	return WARD_OK;
fail:
	if (d->watch)
		ward_profwatch_failed(d->watch, err, diags, trigger);
	/* The YARA rule files may have changed even if the configuration did not load. */
	if (d->yara)
		ward_yarascan_reload(d->yara, &d->cfg, NULL, NULL);
	ward_confset_free(cs);
	json_decref(diags);
	return rc;
}

void ward_daemon_save_last_good(const ward_daemon_t *d, const char *trigger)
{
	ward_error_t err = { 0 };

	if (d->lastgood_path[0] == '\0' || d->confset == NULL)
		return;
	if (ward_lastgood_save(d->lastgood_path, d->confset, trigger, (int64_t)time(NULL), &err) != WARD_OK)
		log_warnx("last good configuration not saved (a start with broken sources would fail): %s",
		          err.msg);
	else
		log_debug("last good configuration saved to %s", d->lastgood_path);
}

void ward_daemon_log_config(const ward_daemon_t *d, const char *trigger)
{
	json_t *full, *v;

	if (d->confset == NULL) {
		log_info("configuration (%s): %s, the last good configuration (%s)", trigger,
		         ward_mode_name(d->cfg.mode), d->lastgood_path);
		return;
	}
	full = ward_confset_to_json(d->confset);
	size_t nrules, nsrc = json_array_size(json_object_get(full, "sources"));
	size_t nwarn = json_array_size(ward_confset_warnings(d->confset)), i;

	ward_confset_rules(d->confset, &nrules);
	log_info("configuration (%s): %s, %zu source%s, %zu managed rule%s, %zu warning%s", trigger,
	         ward_mode_name(d->cfg.mode), nsrc, nsrc == 1 ? "" : "s", nrules, nrules == 1 ? "" : "s",
	         nwarn, nwarn == 1 ? "" : "s");
	json_array_foreach(ward_confset_warnings(d->confset), i, v)
		log_info("configuration: %s", ward_diag_text(v));
	json_decref(full);
}

void ward_daemon_store_opened(ward_daemon_t *d)
{
	struct stat sb;

	if (d->db_path[0] != '\0' && stat(d->db_path, &sb) == 0) {
		d->store_dev = (uint64_t)sb.st_dev;
		d->store_ino = (uint64_t)sb.st_ino;
	}
}

void ward_daemon_check_health(ward_daemon_t *d, uint64_t now_ms)
{
	const char *problem = NULL;
	uint64_t written, dropped, errors;
	struct stat sb;

	if (d->store != NULL && d->db_path[0] != '\0' && d->store_ino != 0) {
		if (stat(d->db_path, &sb) != 0)
			problem = errno == ENOENT ? "deleted" : "unreadable";
		else if ((uint64_t)sb.st_dev != d->store_dev || (uint64_t)sb.st_ino != d->store_ino)
			problem = "replaced";
		if (problem != d->store_problem) {
			if (problem != NULL)
				log_warnx("rule store %s was %s under the running agent: it keeps enforcing "
				          "the rules it loaded; rule changes made at that path are not seen "
				          "until wardend restarts", d->db_path, problem);
			else
				log_info("rule store %s is back", d->db_path);
			d->store_problem = problem;
		}
	}
	ward_evlog_stats(d->evlog, &written, &dropped, &errors);
	if (errors > d->evlog_errors_seen && now_ms >= d->evlog_reported_ms + 10000) {
		int e;
		int64_t at;
		ward_evlog_last_error(d->evlog, &e, &at);
		log_warnx("event log %s: %llu write error%s (%llu in all), the last: %s; decisions go on, "
		          "their records are lost", d->event_log_path,
		          (unsigned long long)(errors - d->evlog_errors_seen),
		          errors - d->evlog_errors_seen == 1 ? "" : "s", (unsigned long long)errors,
		          strerror(e));
		d->evlog_errors_seen = errors;
		d->evlog_reported_ms = now_ms;
	}
}

gid_t ward_daemon_admin_gid(const ward_config_t *cfg)
{
	struct group *g;

	if (cfg->admin_group[0] == '\0' || (g = getgrnam(cfg->admin_group)) == NULL)
		return (gid_t)-1;
	return g->gr_gid;
}

void ward_daemon_compiler_outputs(ward_daemon_t *d)
{
	unsigned added = 0;
	int fd;
	pid_t pid;

	if (d->compilers == NULL)
		return;
	while (ward_compilers_pop_output(d->compilers, &fd, &pid)) {
		ward_identity_t id;
		ward_error_t err = { 0 };
		char path[PATH_MAX], sha[2 * WARD_SHA256_LEN + 1], comment[WARD_MAX_RULE_TEXT + 1];
		char by[64];

		(void)ward_fd_path(fd, path, sizeof(path));
		if (ward_identity_read(fd, WARD_ID_SHA256, &id, &err) != WARD_OK || !id.has_sha256) {
			close(fd);
			continue;
		}
		close(fd);
		if (id.type != WARD_FT_ELF && id.type != WARD_FT_MACHO && id.type != WARD_FT_FAT &&
		    id.type != WARD_FT_SCRIPT)
			continue;
		ward_hex_encode(id.sha256, WARD_SHA256_LEN, sha);
		snprintf(comment, sizeof(comment), "written by compiler pid %d: %.900s", (int)pid, path);
		snprintf(by, sizeof(by), "compiler pid %d", (int)pid);
		ward_rule_t r = {
			.type = WARD_RT_BINARY,
			.policy = WARD_POL_ALLOWLIST,
			.source = WARD_SRC_TRANSITIVE,
			.identifier = sha,
			.comment = comment,
			.created_by = by,
		};
		if (ward_store_put(d->store, &r, &err) != WARD_OK) {
			log_warnx("transitive rule for %s: %s", path, err.msg);
			continue;
		}
		added++;
		d->transitive_added++;
		log_debug("transitive rule for %s (%s)", path, sha);
	}
	if (added > 0) {
		ward_error_t err = { 0 };
		bool changed;
		if (ward_engine_refresh(d->engine, d->store, &d->cfg, false, &changed, &err) != WARD_OK)
			log_warnx("rules: %s", err.msg);
	}
}
