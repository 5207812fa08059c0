/*
 * The macOS-only glue of the ES backend: a block around the plain-C handler (es.c is C11
 * and built by gcc on Linux against the emulation), the process's own audit token and
 * the mach clock. Built with -fblocks for macOS only (GNUmakefile, make macos).
 */
#include "agent/backends/es/es_api.h"

#include <mach/mach.h>
#include <mach/mach_time.h>
#include <time.h>

es_new_client_result_t ward_es_new_client(es_client_t **client, ward_es_handler_fn fn, void *ctx)
{
	return es_new_client(client, ^(es_client_t *c, const es_message_t *msg) {
		fn(ctx, c, msg);
	});
}

bool ward_es_self_token(audit_token_t *out)
{
	mach_msg_type_number_t n = TASK_AUDIT_TOKEN_COUNT;
	return task_info(mach_task_self(), TASK_AUDIT_TOKEN, (task_info_t)out, &n) == KERN_SUCCESS;
}

void ward_es_clock_now(uint32_t *numer, uint32_t *denom, uint64_t *mach, uint64_t *mono_ns)
{
	static mach_timebase_info_data_t tb;
	struct timespec ts;

	if (tb.denom == 0)
		mach_timebase_info(&tb);
	*numer = tb.numer;
	*denom = tb.denom;
	*mach = mach_absolute_time();
	clock_gettime(CLOCK_MONOTONIC, &ts);
	*mono_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}
