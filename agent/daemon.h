/*
 * wardend's state beyond the pipeline: where its configuration came from, how to
 * reload it, and the handles the control commands use. One instance, owned by main.
 */
#ifndef WARD_AGENT_DAEMON_H
#define WARD_AGENT_DAEMON_H

#include <limits.h>
#include <stdbool.h>

#include "agent/agent.h"
#include "agent/control.h"
#include "profiles/config.h"

typedef struct ward_daemon {
	ward_agent_t agent;
	ward_config_t cfg;            /* effective configuration (mode override applied) */
	char config_path[PATH_MAX];   /* "" when running on embedded defaults */
	int mode_override;            /* 0, or a ward_mode_t from --mode */
	char db_path[PATH_MAX];
	char socket_path[PATH_MAX];
	char event_log_path[PATH_MAX];
	struct ward_exc *exc;         /* exception requests (agent/exceptions.c); NULL: none */
	bool kernel_cache;
	ward_ctl_server_t *ctl;
	uint64_t reloads;
	uint64_t transitive_added;    /* rules stored for compiler outputs */
} ward_daemon_t;

/*
 * Build the effective configuration: embedded defaults, then config_path (if set),
 * then the --mode override. On error *cfg is untouched and err names file and key.
 */
ward_err_t ward_daemon_load_config(const ward_daemon_t *d, ward_config_t *cfg, ward_error_t *err);

/*
 * Reload: read the configuration again and rebuild the rule index; publish both and
 * flush the caches. A configuration that does not load leaves everything as it was.
 */
ward_err_t ward_daemon_reload(ward_daemon_t *d, ward_error_t *err);

/*
 * ALLOWLIST_COMPILER: turn the files compilers wrote (queued by the reader) into
 * transitive BINARY allow rules, then rebuild the index. Only executable formats (ELF,
 * Mach-O, scripts) get a rule. Main thread only (it owns the store handle).
 */
void ward_daemon_compiler_outputs(ward_daemon_t *d);

/* The AdminGroup's gid, or (gid_t)-1 when none is set or the group does not exist. */
gid_t ward_daemon_admin_gid(const ward_config_t *cfg);

/* The control commands (agent/commands.c): {name, privilege, handler}. ctx: ward_daemon_t. */
extern const ward_ctl_command_t ward_daemon_commands[];
extern const size_t ward_daemon_ncommands;

#endif
