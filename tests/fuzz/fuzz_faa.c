/*
 * libFuzzer target for the FileAccessPolicy reader: the input is a plist (or, when it
 * starts with '{', JSON) whose root is handed to ward_faa_parse with the plist's line
 * table; a policy that loads is then matched against a few paths and openers. An
 * error must leave nothing behind and say why.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "profiles/plist.h"
#include "rules/faa.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned long line_cb(void *arg, const json_t *c, const char *key, size_t idx)
{
	const ward_plist_lines_t *l = arg;

	return key ? ward_plist_line_key(l, c, key) : ward_plist_line_at(l, c, idx);
}

static void diag_cb(void *arg, bool is_error, unsigned long line, const char *key, const char *msg)
{
	(void)arg;
	(void)is_error;
	(void)line;
	if (!key || !msg || !*msg)
		__builtin_trap(); /* every diagnostic names its key and says something */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const paths[] = { "/", "/srv/data/secret", "/home/a/.ssh/id_rsa",
	                                     "/Users/x/tmp/foo/bar", "/etc/shadow" };
	ward_plist_lines_t *lines = NULL;
	ward_error_t err = { 0 };
	json_t *tree = NULL;
	ward_faa_t *p = NULL;
	uint8_t sha[32] = { 0 };
	ward_faa_proc_t procs[2] = {
		{ .path = "/usr/bin/cat", .sha256 = sha, .platform = true },
		{ .path = "/x", .team_id = "EQHXZ8M8AV", .signing_id = "com.google.Chrome" },
	};

	if (size > 0 && data[0] == '{') {
		json_error_t je;
		tree = json_loadb((const char *)data, size, 0, &je);
	} else if (ward_plist_parse(data, size, &tree, &lines, &err) != WARD_OK) {
		return 0;
	}
	if (tree) {
		ward_faa_src_t src = { lines ? line_cb : NULL, diag_cb, lines, true, 0 };
		ward_err_t rc = ward_faa_parse(tree, &src, &p, &err);
		if (rc != WARD_OK && (p != NULL || err.code == WARD_OK || !err.msg[0]))
			__builtin_trap();
		if (rc == WARD_OK) {
			ward_faa_result_t r;
			for (size_t i = 0; i < ward_faa_nitems(p); i++)
				json_decref(ward_faa_item_json(p, i));
			for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
				(void)ward_faa_dir_may_watch(p, paths[i]);
			for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
				for (size_t j = 0; j < 2; j++) {
					ward_faa_match(p, paths[i], &procs[j], WARD_FAA_READ | (uint32_t)j * WARD_FAA_WRITE, &r);
					if (r.outcome != WARD_FAA_UNWATCHED && r.item < 0)
						__builtin_trap();
				}
			ward_faa_free(p);
		}
	}
	json_decref(tree);
	ward_plist_lines_free(lines);
	return 0;
}
