/*
 * The denied user's terminal line, macOS: not written. The Linux writer
 * (agent/ttymsg.c) finds the terminal through /proc (the controlling terminal's device
 * from /proc/<pid>/stat, reopened from a descriptor the process holds); macOS has no
 * /proc, and the ES message's es_process_t.tty (a file, v2) would need its own checks
 * (device, owner) before the agent writes to it. Until then the writer exists with the
 * same interface, writes nothing, and status says so ("supported": false).
 */
#include "agent/ttymsg.h"

#include <stdlib.h>
#include <string.h>

struct ward_ttymsg {
	int unused;
};

ward_err_t ward_ttymsg_create(ward_engine_t *e, ward_ttymsg_t **out, ward_error_t *err)
{
	(void)e;
	if ((*out = calloc(1, sizeof(**out))) == NULL)
		return ward_error_set(err, WARD_E_NOMEM, "ttymsg: out of memory");
	return WARD_OK;
}

ward_err_t ward_ttymsg_start(ward_ttymsg_t *t, ward_error_t *err)
{
	(void)t;
	(void)err;
	return WARD_OK;
}

void ward_ttymsg_record(void *arg, const ward_record_t *r)
{
	(void)arg;
	(void)r;
}

void ward_ttymsg_stats(ward_ttymsg_t *t, ward_ttymsg_stats_t *out)
{
	(void)t;
	memset(out, 0, sizeof(*out));
}

json_t *ward_ttymsg_status_json(ward_ttymsg_t *t)
{
	if (t == NULL)
		return json_null();
	return json_pack("{s:b, s:s, s:I, s:I}", "supported", 0, "reason",
	                 "no terminal lines on macOS yet (docs/macos.md)", "denials", (json_int_t)0,
	                 "written", (json_int_t)0);
}

void ward_ttymsg_destroy(ward_ttymsg_t *t)
{
	free(t);
}
