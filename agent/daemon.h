/*
 * wardend's state beyond the pipeline: where its configuration came from, how to
 * reload it, and the handles the control commands use. One instance, owned by main.
 */
#ifndef WARD_AGENT_DAEMON_H
#define WARD_AGENT_DAEMON_H

#include <limits.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "agent/engine/engine.h"
#include "agent/eventlog.h"
#include "agent/fileaccess.h"
#include "agent/control.h"
#include "agent/profwatch.h"
#include "profiles/config.h"

typedef struct ward_daemon {
	ward_engine_t *engine;        /* the decision engine (agent/engine/engine.h) */
	ward_backend_t *backend;      /* the kernel side (agent/backend.h) */
	ward_store_t *store;          /* rules, requests, audit (rules/rules.h) */
	ward_evlog_t *evlog;          /* NULL: no event log */
	ward_cache_t *cache;          /* NULL: no user-space verdict cache */
	ward_queue_t *queue;
	ward_compilers_t *compilers;
	ward_config_t cfg;            /* effective configuration (mode override applied) */
	ward_confset_t *confset;      /* the loaded sources cfg comes from (in force) */
	char config_path[PATH_MAX];   /* warden.conf: --config, or the default (may not exist) */
	bool config_required;         /* --config given: a missing file is an error */
	char profiles_dir[PATH_MAX];  /* --profiles-dir or the default; "" = none */
	ward_profwatch_t *watch;      /* inotify on the sources, and the record of reloads */
	int mode_override;            /* 0, or a ward_mode_t from --mode */
	char db_path[PATH_MAX];
	char socket_path[PATH_MAX];
	char event_log_path[PATH_MAX];
	char lastgood_path[PATH_MAX]; /* agent/lastgood.h: next to db_path; "" = not kept */
	struct ward_exc *exc;         /* exception requests (agent/exceptions.c); NULL: none */
	bool kernel_cache;
	ward_ctl_server_t *ctl;
	uint64_t reloads;
	uint64_t transitive_added;    /* rules stored for compiler outputs */
	struct ward_yarascan *yara;   /* the scan step (agent/yarascan.h); NULL: none */
	struct ward_syncd *sync;      /* fleet sync: staging, spool, server settings (agent/syncd.h) */
	atomic_bool spool_events;     /* SyncBaseURL set: the spool keeps events for upload (set
	                                 with every configuration; read by the log thread) */
	/* health, checked at each store poll (ward_daemon_check_health) */
	uint64_t store_dev, store_ino; /* the store file the agent opened */
	const char *store_problem;    /* NULL, "deleted" or "replaced" */
	uint64_t evlog_errors_seen;   /* event log errors already reported in the log */
	uint64_t evlog_reported_ms;
	ward_fileaccess_t *fa;        /* file-access authorization (agent/fileaccess.h) */
	const char *const *watch_paths; /* --watch paths (NULL-terminated); empty: every local fs */
	bool opens_ok;                /* the kernel reports the opens the policy needs */
	const char *const *yara_paths; /* --yara (NULL-terminated), instead of YaraRulesPaths */
	json_t *unenforced;           /* watched paths on no --watch filesystem (strings) */
	bool opens_live;              /* the engine reads events: opens may be marked (an
	                                 open marked before that would wait on nobody) */
	struct ward_bpfground *ground; /* the BPF ground (agent/backends/bpfground.h) */
	struct ward_ttymsg *tty;      /* the denied user's terminal line (agent/ttymsg.h) */
} ward_daemon_t;

/*
 * Put in force the file-access policy of cs (NULL: none, e.g. on the last good
 * configuration) plus the built-in items that protect warden's own files, and have the
 * backend report opens on the filesystems that hold watched paths. Returns an error
 * (nothing changed) when the policy cannot be built.
 */
ward_err_t ward_daemon_fileaccess(ward_daemon_t *d, const ward_confset_t *cs,
                                  const ward_config_t *cfg, ward_error_t *err);

/*
 * Build the effective configuration (ward_config_load_sources, strict permissions):
 * embedded defaults, then config_path, then the profiles of profiles_dir, then the
 * --mode override. On success *cs is the new confset (the caller owns it) and *cfg its
 * configuration with the override applied. On error nothing is returned, err holds the
 * first error ("file:line: Key: message") and diags (NULL ok) every diagnostic.
 * d->confset is NULL while the agent runs on the last good configuration (wardend.c).
 */
ward_err_t ward_daemon_load_config(const ward_daemon_t *d, ward_confset_t **cs, ward_config_t *cfg,
                                   json_t *diags, ward_error_t *err);

/*
 * Reload (inotify, SIGHUP, the reload command; trigger names which): load and validate
 * every source, make the store's managed rules the new StaticRules, rebuild the rule
 * index, publish, flush both caches, then free the old confset. On any error nothing
 * changes (the last good configuration stays in force), each error is logged with its
 * file:line and the failure is recorded for status.
 */
ward_err_t ward_daemon_reload(ward_daemon_t *d, const char *trigger, ward_error_t *err);

/*
 * After a successful load: write the confset in force as the last good configuration
 * (agent/lastgood.h). A failure is logged, never fatal.
 */
void ward_daemon_save_last_good(const ward_daemon_t *d, const char *trigger);

/* Log the configuration in force in one line (mode, sources, managed rules, warnings),
 * then each warning. */
void ward_daemon_log_config(const ward_daemon_t *d, const char *trigger);

/*
 * ALLOWLIST_COMPILER: turn the files compilers wrote (queued by the reader) into
 * transitive BINARY allow rules, then rebuild the index. Only executable formats (ELF,
 * Mach-O, scripts) get a rule. Main thread only (it owns the store handle).
 */
void ward_daemon_compiler_outputs(ward_daemon_t *d);

/*
 * Record which file the rule store is (after ward_store_open), then at each poll see
 * whether it was deleted or replaced under the agent (the agent keeps reading the file
 * it opened: rules written to a new file at that path would never be enforced) and
 * whether event-log writes failed since the last poll. Each is logged once per change
 * (event log: at most every 10 s) and shown by status.
 */
void ward_daemon_store_opened(ward_daemon_t *d);
void ward_daemon_check_health(ward_daemon_t *d, uint64_t now_ms);

/* The AdminGroup's gid, or (gid_t)-1 when none is set or the group does not exist. */
gid_t ward_daemon_admin_gid(const ward_config_t *cfg);

/* The control commands (agent/commands.c): {name, privilege, handler}. ctx: ward_daemon_t. */
extern const ward_ctl_command_t ward_daemon_commands[];
extern const size_t ward_daemon_ncommands;

#endif
