/* wardend's configuration loading and reload. */
#include "agent/daemon.h"

#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent/lastgood.h"
#include "agent/log.h"
#include "agent/yarascan.h"
#include "common/fdpath.h"
#include "common/hex.h"
#include "profiles/diag.h"

ward_err_t ward_daemon_load_config(const ward_daemon_t *d, ward_confset_t **cs, ward_config_t *cfg,
                                   json_t *diags, ward_error_t *err)
{
	unsigned flags = WARD_LOAD_STRICT_PERMS | (d->config_required ? WARD_LOAD_CONF_REQUIRED : 0);
	ward_err_t rc;

	*cs = NULL;
	if ((rc = ward_config_load_sources(d->config_path[0] ? d->config_path : NULL,
	                                   d->profiles_dir[0] ? d->profiles_dir : NULL, flags, cs,
	                                   diags, err)) != WARD_OK)
		return rc;
	*cfg = *ward_confset_config(*cs);
	if (d->mode_override)
		cfg->mode = (ward_mode_t)d->mode_override;
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
	d->cfg = cfg;
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
