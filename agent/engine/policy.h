/*
 * The policy snapshot: everything decide() reads besides the event (effective config,
 * rule index), immutable once published. Workers hold a reference for one decision;
 * a rule, mode or config change publishes a new snapshot (with a new epoch) and flushes
 * both verdict caches, and the old snapshot is freed when its last reader lets go.
 */
#ifndef WARD_AGENT_POLICY_H
#define WARD_AGENT_POLICY_H

#include <stdatomic.h>
#include <stdint.h>

#include "profiles/config.h"
#include "profiles/pathregex.h"
#include "rules/rules.h"

typedef struct ward_snapshot {
	atomic_uint ref;
	uint64_t epoch;       /* set when published; verdicts remember it */
	uint64_t store_gen;   /* store generation the index was built from */
	ward_config_t cfg;    /* effective: --mode applied, trusted paths canonical */
	ward_index_t *ix;     /* NULL: no store (no rule matches) */
	size_t rule_count;
	size_t rule_counts[WARD_RT__COUNT][WARD_POL__COUNT]; /* by type and policy */
	ward_pathregex_t *allowed_re; /* cfg.allowed_path_regex compiled (NULL: unset) */
	ward_pathregex_t *blocked_re; /* cfg.blocked_path_regex compiled (NULL: unset) */
} ward_snapshot_t;

/* Build a snapshot from cfg and, if st is not NULL, a fresh index of st. The path
 * regexes are compiled here, once per snapshot: an invalid one is an error (the
 * config loader and the sync parser check them before they get this far). */
ward_err_t ward_snapshot_build(const ward_config_t *cfg, ward_store_t *st, ward_snapshot_t **out,
                               ward_error_t *err);
ward_snapshot_t *ward_snapshot_ref(ward_snapshot_t *s);
/* Whether s holds any rule of type t (any policy). */
bool ward_snapshot_has_type(const ward_snapshot_t *s, ward_rule_type_t t);
/* Whether s holds any ALLOWLIST_COMPILER rule that acts as one (EnableTransitiveRules). */
bool ward_snapshot_has_compilers(const ward_snapshot_t *s);
void ward_snapshot_unref(ward_snapshot_t *s); /* NULL ok; frees on the last reference */

#endif
