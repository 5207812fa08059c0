/* wardend's configuration loading and reload. */
#include "agent/daemon.h"

#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "agent/log.h"
#include "common/hex.h"

ward_err_t ward_daemon_load_config(const ward_daemon_t *d, ward_config_t *cfg, ward_error_t *err)
{
	ward_config_t next;
	ward_err_t rc;

	ward_config_defaults(&next);
	if (d->config_path[0] &&
	    (rc = ward_config_load_json_file(&next, d->config_path, err)) != WARD_OK)
		return rc;
	if (d->mode_override)
		next.mode = (ward_mode_t)d->mode_override;
	*cfg = next;
	return WARD_OK;
}

ward_err_t ward_daemon_reload(ward_daemon_t *d, ward_error_t *err)
{
	ward_config_t cfg;
	bool changed;
	ward_err_t rc;

	if ((rc = ward_daemon_load_config(d, &cfg, err)) != WARD_OK)
		return rc;
	if ((rc = ward_agent_refresh(&d->agent, &cfg, true, &changed, err)) != WARD_OK)
		return rc;
	d->cfg = cfg;
	if (d->ctl)
		ward_ctl_set_admin_gid(d->ctl, ward_daemon_admin_gid(&cfg));
	d->reloads++;
	return WARD_OK;
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
	ward_agent_t *a = &d->agent;
	unsigned added = 0;
	int fd;
	pid_t pid;

	if (a->compilers == NULL)
		return;
	while (ward_compilers_pop_output(a->compilers, &fd, &pid)) {
		ward_identity_t id;
		ward_error_t err = { 0 };
		char link[64], path[PATH_MAX], sha[2 * WARD_SHA256_LEN + 1], comment[WARD_MAX_RULE_TEXT + 1];
		char by[64];
		ssize_t n;

		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		n = readlink(link, path, sizeof(path) - 1);
		path[n > 0 ? n : 0] = '\0';
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
		if (ward_store_put(a->store, &r, &err) != WARD_OK) {
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
		if (ward_agent_refresh(a, &d->cfg, false, &changed, &err) != WARD_OK)
			log_warnx("rules: %s", err.msg);
	}
}
