/* Shared by the two ES flavours: the fallback verdict follows mode and FailClosed. */
#ifndef WARD_BACKEND_OPEN_ES_COMMON_H
#define WARD_BACKEND_OPEN_ES_COMMON_H

#include "agent/backends/es/es_backend.h"
#include "agent/backends/open/open.h"
#include "agent/engine/decide.h"

static inline ward_decision_t ward_open_es_fallback(void *arg)
{
	ward_agent_t *a = arg;
	ward_verdict_t v;

	ward_decide_fallback((ward_mode_t)atomic_load(&a->cur_mode),
	                     atomic_load(&a->cur_fail_closed), WARD_RSN_DEADLINE, &v);
	return v.decision;
}

#endif
