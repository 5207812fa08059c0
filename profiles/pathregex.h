/*
 * AllowedPathRegex / BlockedPathRegex: Santa's ICU regular expressions, matched with
 * PCRE2 (docs/profiles.md#path-regexes).
 *
 * Santa compiles the pattern with ICU (NSRegularExpression) after prepending '^' when
 * the pattern does not start with one, and matches it anywhere from there in the
 * executable's path. warden accepts the part of ICU's syntax that PCRE2 expresses with
 * the same meaning (Unicode code points, Unicode \w \d \s \b, ICU's \uhhhh \Uhhhhhhhh
 * and \0ooo escapes rewritten for PCRE2) and refuses, naming the offset, what it would
 * read differently: ICU-only syntax (set operations [a&&b] [a--b], nested sets, [:name:]
 * property sets, \N{NAME}, the (?w) flag) and PCRE2-only syntax that ICU would reject
 * (so Santa would not load the pattern): (*VERB), (?|, (?R), (?1), (?&n), (?P, (?(c),
 * callouts, \K, \g, \o{}, a bare '{'.
 *
 * Compiled once per configuration snapshot (never per event); matching is thread-safe,
 * allocation-free in the common case and bounded in work.
 */
#ifndef WARD_PROFILES_PATHREGEX_H
#define WARD_PROFILES_PATHREGEX_H

#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"

typedef struct ward_pathregex ward_pathregex_t;

#define WARD_PATHREGEX_BLOCKING 0x1u /* a BlockedPathRegex: '.' also matches line
                                        terminators, so a newline in a file name cannot
                                        hide it from the pattern (ICU's '.' does not) */

/*
 * Check and compile pattern. On success *out is a new regex (ward_pathregex_free).
 * On error *out is NULL and err says what and where: "at offset N: ...". An empty
 * pattern is an error here (the config reads "" as unset before calling this).
 */
ward_err_t ward_pathregex_compile(const char *pattern, unsigned flags, ward_pathregex_t **out,
                                  ward_error_t *err);

/* Check only (compile and free). */
ward_err_t ward_pathregex_check(const char *pattern, ward_error_t *err);

/*
 * Whether path matches (Santa: numberOfMatchesInString > 0 with the '^' prepended).
 * Bytes of path that are not valid UTF-8 are read as U+FFFD, which '.' and negated sets
 * match and no literal does. A match that runs out of its work limit counts as a match
 * for a blocking regex and as no match otherwise: a pathological path can only make
 * the decision stricter. Thread-safe.
 */
bool ward_pathregex_match(const ward_pathregex_t *re, const char *path);

/* The pattern as the profile gave it. */
const char *ward_pathregex_pattern(const ward_pathregex_t *re);

void ward_pathregex_free(ward_pathregex_t *re); /* NULL ok */

#endif
