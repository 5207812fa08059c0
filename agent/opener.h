/*
 * The identity of a process that opens a watched file, as a FileAccessPolicy names it
 * (rules/faa.h): its executable's path, SHA-256, platform trust (Linux: the TrustedPaths
 * rule of agent/engine/trust.h) and, for a Mach-O executable, its signing identity.
 * Shared by wardend (computed once per executable and cached) and `wardenctl
 * fileaccess check` so both explain a decision the same way.
 */
#ifndef WARD_AGENT_OPENER_H
#define WARD_AGENT_OPENER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"
#include "profiles/config.h"
#include "rules/faa.h"

typedef struct ward_opener {
	char path[WARD_MAX_PATH];
	bool has_sha256, has_cdhash, has_cert;
	uint8_t sha256[32], cdhash[20], cert_sha256[32];
	char team_id[64];
	char signing_id[256];
	bool platform;
	char platform_why[160]; /* why it is not a platform binary ("" when it is) */
} ward_opener_t;

/*
 * Fill *o from the executable open as fd whose path is path (cfg's trusted paths must be
 * canonical: ward_trust_canon). Reads the whole file (SHA-256, Mach-O signature).
 */
ward_err_t ward_opener_from_fd(const ward_config_t *cfg, int fd, const char *path,
                               ward_opener_t *o, ward_error_t *err);

/* Same for the executable of process pid (/proc/pid/exe), or a path. */
ward_err_t ward_opener_from_pid(const ward_config_t *cfg, pid_t pid, ward_opener_t *o,
                                ward_error_t *err);
ward_err_t ward_opener_from_path(const ward_config_t *cfg, const char *path, ward_opener_t *o,
                                 ward_error_t *err);

/* A matcher view of o (borrows o's fields). */
void ward_opener_view(const ward_opener_t *o, ward_faa_proc_t *p);

/* o as JSON: {"path", "sha256", "platform", "cdhash", "team_id", "signing_id", ...}. */
json_t *ward_opener_json(const ward_opener_t *o);

#endif
