/*
 * libFuzzer target: Santa rule JSON import (rules/santa_json.c) into an in-memory store.
 * Beyond "does not crash": whatever imports must export, re-import and export again to
 * the same bytes, and the index built from it must answer for every imported rule.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules/rules.h"

static char *export_all(ward_store_t *st, size_t *count)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	ward_error_t err = { 0 };

	if (f == NULL)
		abort();
	if (ward_santa_json_export(st, f, count, &err) != WARD_OK)
		abort();
	fclose(f);
	return buf;
}

static int match_each(const ward_rule_t *r, void *arg)
{
	const ward_index_t *ix = arg;
	ward_match_key_t k;
	const ward_rule_t *m;
	char *dst;

	memset(&k, 0, sizeof(k));
	switch (r->type) {
	case WARD_RT_CDHASH: dst = k.cdhash; break;
	case WARD_RT_BINARY: dst = k.sha256; break;
	case WARD_RT_SIGNINGID: dst = k.signing_id; break;
	case WARD_RT_CERTIFICATE: dst = k.certificate; break;
	default: dst = k.team_id; break;
	}
	if (strlen(r->identifier) >= (r->type == WARD_RT_TEAMID ? sizeof(k.team_id) : 65) &&
	    r->type != WARD_RT_SIGNINGID)
		abort();
	strcpy(dst, r->identifier);
	m = ward_index_match(ix, &k, 0);
	/* At time 0 nothing has expired: the rule (or a managed one) must answer. */
	if (m == NULL || m->type != r->type || strcmp(m->identifier, r->identifier) != 0)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ward_store_t *a = NULL, *b = NULL;
	ward_index_t *ix = NULL;
	ward_error_t err = { 0 };
	char *first, *second;
	size_t n1, n2;

	if (ward_store_open(":memory:", WARD_STORE_CREATE, &a, &err) != WARD_OK)
		abort();
	if (ward_santa_json_import(a, (const char *)data, size, WARD_SRC_IMPORT, "fuzz", NULL,
	                           &err) != WARD_OK) {
		if (err.msg[0] == '\0' || err.code == WARD_OK)
			abort(); /* every failure says why */
		ward_store_close(a);
		return 0;
	}
	if (ward_index_build(a, &ix, &err) != WARD_OK)
		abort();
	if (ward_store_foreach(a, match_each, ix, &err) != WARD_OK)
		abort();
	ward_index_free(ix);
	first = export_all(a, &n1);
	if (ward_store_open(":memory:", WARD_STORE_CREATE, &b, &err) != WARD_OK)
		abort();
	if (ward_santa_json_import(b, first, strlen(first), WARD_SRC_IMPORT, "fuzz", NULL, &err) != WARD_OK) {
		fprintf(stderr, "re-import of export failed: %s\n", err.msg);
		abort();
	}
	second = export_all(b, &n2);
	if (n1 != n2 || strcmp(first, second) != 0)
		abort();
	free(first);
	free(second);
	ward_store_close(a);
	ward_store_close(b);
	return 0;
}
