/* wardend's configuration loading and reload. */
#include "agent/daemon.h"

#include <grp.h>
#include <string.h>

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
