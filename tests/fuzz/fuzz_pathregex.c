/*
 * libFuzzer target for the path regexes (profiles/pathregex.c): the input's first line
 * is a pattern (a profile's or a sync server's AllowedPathRegex / BlockedPathRegex), the
 * rest a path (any bytes an attacker can name a file with). The ICU rewrite must never
 * overrun, a refused pattern must say where, and a compiled one must match any path in
 * bounded work, as allowed and as blocked pattern.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "profiles/pathregex.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	size_t plen = nl ? (size_t)(nl - data) : size;
	char *pat, *path;
	ward_error_t err = { 0 };

	if (size > 16384)
		return 0;
	pat = malloc(plen + 1);
	path = malloc(size - plen + 8);
	if (pat == NULL || path == NULL) {
		free(pat);
		free(path);
		return 0;
	}
	memcpy(pat, data, plen);
	pat[plen] = '\0';
	if (nl) {
		memcpy(path, nl + 1, size - plen - 1);
		path[size - plen - 1] = '\0';
	} else {
		strcpy(path, "/tmp/x");
	}
	for (unsigned flags = 0; flags <= WARD_PATHREGEX_BLOCKING; flags += WARD_PATHREGEX_BLOCKING) {
		ward_pathregex_t *re = NULL;
		if (ward_pathregex_compile(pat, flags, &re, &err) != WARD_OK) {
			if (re != NULL || err.msg[0] == '\0')
				__builtin_trap(); /* a refusal leaves nothing and says why */
			continue;
		}
		(void)ward_pathregex_match(re, path);
		if (strcmp(ward_pathregex_pattern(re), pat) != 0)
			__builtin_trap();
		ward_pathregex_free(re);
	}
	free(pat);
	free(path);
	return 0;
}
