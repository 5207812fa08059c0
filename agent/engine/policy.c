/* Building and reference-counting policy snapshots. */
#include "agent/engine/policy.h"

#include <stdlib.h>

#include "agent/engine/trust.h"

static int count_rule(const ward_rule_t *r, void *arg)
{
	ward_snapshot_t *s = arg;

	if ((unsigned)r->type < WARD_RT__COUNT && (unsigned)r->policy < WARD_POL__COUNT)
		s->rule_counts[r->type][r->policy]++;
	return 0;
}

ward_err_t ward_snapshot_build(const ward_config_t *cfg, ward_store_t *st, ward_snapshot_t **out,
                               ward_error_t *err)
{
	ward_snapshot_t *s;
	ward_err_t rc;

	*out = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return ward_error_set(err, WARD_E_NOMEM, "policy snapshot: out of memory");
	atomic_init(&s->ref, 1);
	s->cfg = *cfg;
	ward_trust_canon(&s->cfg);
	if ((s->cfg.allowed_path_regex[0] &&
	     (rc = ward_pathregex_compile(s->cfg.allowed_path_regex, 0, &s->allowed_re, err)) != WARD_OK) ||
	    (s->cfg.blocked_path_regex[0] &&
	     (rc = ward_pathregex_compile(s->cfg.blocked_path_regex, WARD_PATHREGEX_BLOCKING,
	                                  &s->blocked_re, err)) != WARD_OK)) {
		ward_snapshot_unref(s);
		return rc;
	}
	if (st != NULL) {
		if ((rc = ward_index_build(st, &s->ix, err)) != WARD_OK ||
		    (rc = ward_store_foreach(st, count_rule, s, err)) != WARD_OK) {
			ward_snapshot_unref(s);
			return rc;
		}
		s->rule_count = ward_index_count(s->ix);
		s->store_gen = ward_index_generation(s->ix);
	}
	*out = s;
	return WARD_OK;
}

ward_snapshot_t *ward_snapshot_ref(ward_snapshot_t *s)
{
	atomic_fetch_add(&s->ref, 1);
	return s;
}

void ward_snapshot_unref(ward_snapshot_t *s)
{
	if (s == NULL || atomic_fetch_sub(&s->ref, 1) != 1)
		return;
	ward_index_free(s->ix);
	ward_pathregex_free(s->allowed_re);
	ward_pathregex_free(s->blocked_re);
	free(s);
}

bool ward_snapshot_has_compilers(const ward_snapshot_t *s)
{
	if (!s->cfg.enable_transitive_rules)
		return false;
	for (int t = 0; t < WARD_RT__COUNT; t++)
		if (s->rule_counts[t][WARD_POL_ALLOWLIST_COMPILER])
			return true;
	return false;
}

bool ward_snapshot_has_type(const ward_snapshot_t *s, ward_rule_type_t t)
{
	if ((unsigned)t >= WARD_RT__COUNT)
		return false;
	for (int p = 0; p < WARD_POL__COUNT; p++)
		if (s->rule_counts[t][p])
			return true;
	return false;
}
