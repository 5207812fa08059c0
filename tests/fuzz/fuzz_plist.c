/*
 * libFuzzer target for the plist reader and everything that reads its tree: the raw
 * parser with its line table, then the profile reader (.mobileconfig shapes, Santa
 * payloads, CMS when the input looks like DER) and the configuration validator on
 * every payload it finds.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "profiles/config.h"
#include "profiles/mobileconfig.h"
#include "profiles/plist.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void walk_lines(const ward_plist_lines_t *l, const json_t *v, unsigned depth)
{
	const char *k;
	json_t *c;
	size_t i;

	if (depth > 40)
		__builtin_trap(); /* the parser promised WARD_MAX_PLIST_DEPTH */
	if (json_is_object(v)) {
		json_object_foreach((json_t *)v, k, c) {
			(void)ward_plist_line_key(l, v, k);
			walk_lines(l, c, depth + 1);
		}
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, c) {
			(void)ward_plist_line_at(l, v, i);
			walk_lines(l, c, depth + 1);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ward_plist_lines_t *lines = NULL;
	ward_profile_t *p = NULL;
	ward_error_t err = { 0 };
	json_t *tree = NULL, *diags = json_array();

	if (ward_plist_parse(data, size, &tree, &lines, &err) == WARD_OK) {
		(void)ward_plist_line_root(lines);
		walk_lines(lines, tree, 0);
		json_decref(tree);
		ward_plist_lines_free(lines);
	} else if (tree != NULL || lines != NULL || err.code == WARD_OK) {
		__builtin_trap(); /* an error must leave nothing behind and say why */
	}

	if (ward_profile_read("fuzz.mobileconfig", data, size, NULL, 0, &p, diags, &err) == WARD_OK) {
		for (size_t i = 0; i < ward_profile_npayloads(p); i++) {
			ward_config_t cfg, before;
			ward_config_defaults(&cfg);
			before = cfg;
			if (ward_config_apply(&cfg, ward_profile_payload(p, i)->keys, &err) != WARD_OK &&
			    memcmp(&cfg, &before, sizeof(cfg)) != 0)
				__builtin_trap(); /* a rejected dictionary changes nothing */
		}
		ward_profile_free(p);
	}
	json_decref(diags);
	return 0;
}
