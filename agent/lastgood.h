/*
 * The last good configuration: after every successful load wardend writes the
 * configuration it put in force to a file next to the rule store, and starts from it
 * when its sources (warden.conf, the profiles) do not load at start. A broken profile
 * delivered before a reboot then leaves the machine enforcing what it enforced before,
 * instead of leaving it without an agent (a crash loop under Restart=on-failure).
 *
 * The file is JSON:
 *   {"format": "warden-last-good-config", "version": 1, "saved_at": ISO-8601 UTC,
 *    "saved_at_unix": seconds, "trigger": what loaded it, "sources": [...],
 *    "config": ward_config_to_json() + the FileAccessPolicy dictionary}
 * The managed rules (StaticRules) are not in it: they are in the store, from the sync
 * of that same load.
 */
#ifndef WARD_AGENT_LASTGOOD_H
#define WARD_AGENT_LASTGOOD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/error.h"
#include "profiles/config.h"

#define WARD_LASTGOOD_NAME "last-good-config.json"

/* The snapshot path for a rule store: the store's directory + "/" WARD_LASTGOOD_NAME.
 * False when it does not fit. */
bool ward_lastgood_path(const char *db_path, char *out, size_t cap);

/*
 * Write cs's configuration (without any --mode override: that is applied when read)
 * atomically: path.tmp, mode 0600, fsync, rename over path, fsync of the directory.
 * now: seconds since the epoch. On error the previous file is untouched.
 */
ward_err_t ward_lastgood_save(const char *path, const ward_confset_t *cs, const char *trigger,
                              int64_t now, ward_error_t *err);

/*
 * Read a snapshot: the file must be a regular file owned by root (or the caller's euid)
 * and not writable by group or others, at most WARD_MAX_CONF_BYTES, of this format and
 * version, and its config must validate (ward_config_apply onto the defaults). On
 * success *cfg is that configuration, *saved_at its time and *sources (NULL ok; a new
 * reference) the sources it was loaded from. WARD_E_NOTFOUND: there is none.
 */
ward_err_t ward_lastgood_load(const char *path, ward_config_t *cfg, int64_t *saved_at,
                              json_t **sources, ward_error_t *err);

#endif
