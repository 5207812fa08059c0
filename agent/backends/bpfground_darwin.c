/*
 * The ground on macOS: none, because none is needed. On Linux the BPF ground decides
 * the execs fanotify cannot see (filesystems mounted in a user namespace, memfd
 * programs); EndpointSecurity's AUTH_EXEC covers every exec on every file system, so
 * ES itself is the ground. This file gives the same handle (bpfground.h) a fixed
 * state, so wardend and status need no #ifdef: "not applicable", no warning.
 * --ground-uid (scoping a BPF program that does not exist) is refused.
 */
#include "agent/backends/bpfground.h"

#include <stdlib.h>

struct ward_bpfground {
	int unused;
};

static const char reason[] =
	"EndpointSecurity authorizes every exec on every file system: ES is the ground on macOS";

ward_err_t ward_bpfground_open(const ward_bpfground_opts_t *opts, ward_bpfground_t **out,
                               ward_error_t *err)
{
	*out = NULL;
	if (opts->nscope > 0)
		return ward_error_set(err, WARD_E_INVAL, "--ground-uid: there is no BPF ground on macOS (%s)",
		                      reason);
	if ((*out = calloc(1, sizeof(**out))) == NULL)
		return ward_error_set(err, WARD_E_NOMEM, "out of memory");
	return WARD_OK;
}

ward_err_t ward_bpfground_start(ward_bpfground_t *g, ward_error_t *err)
{
	(void)g;
	(void)err;
	return WARD_OK;
}

void ward_bpfground_set_mode(ward_bpfground_t *g, ward_mode_t mode)
{
	(void)g;
	(void)mode;
}

void ward_bpfground_note_allow(ward_bpfground_t *g, const ward_filekey_t *key, bool forget)
{
	(void)g;
	(void)key;
	(void)forget;
}

ward_ground_state_t ward_bpfground_state(const ward_bpfground_t *g)
{
	(void)g;
	return WARD_GROUND_DISABLED;
}

const char *ward_bpfground_state_name(ward_ground_state_t s)
{
	(void)s;
	return "not applicable";
}

const char *ward_bpfground_reason(const ward_bpfground_t *g)
{
	(void)g;
	return reason;
}

json_t *ward_bpfground_status_json(const ward_bpfground_t *g)
{
	(void)g;
	return json_pack("{s:s, s:s, s:n, s:n}", "state", "not applicable", "reason", reason, "hook",
	                 "enforcement");
}

void ward_bpfground_destroy(ward_bpfground_t *g)
{
	free(g);
}
