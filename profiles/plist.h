/*
 * warden — XML property lists into one jansson tree.
 *
 * Mapping: dict -> object (insertion order = document order), array -> array,
 * string -> string, integer -> integer (int64; larger is an error), real -> real
 * (finite only), true/false -> true/false, date -> string "YYYY-MM-DDTHH:MM:SSZ",
 * data -> string of base64 with the whitespace removed.
 *
 * The parser never touches the network or the file system and expands nothing: any
 * DTD declaration (ENTITY, ELEMENT, ATTLIST, NOTATION) in the document stops the parse,
 * so "billion laughs" and external entities (file:///etc/passwd) are rejected before
 * they can be referenced. Size, nesting depth and element count are capped by
 * WARD_MAX_PLIST_BYTES / _DEPTH / _NODES (common/limits.h), checked while libxml2
 * parses, before the tree grows past them. Duplicate keys in a dict are errors.
 * Binary plists ("bplist00") are read by profiles/bplist.c into the same tree; they
 * have no lines (every line lookup says 0).
 *
 * Errors name the line: "line 12: <message>".
 */
#ifndef WARD_PROFILES_PLIST_H
#define WARD_PROFILES_PLIST_H

#include <stddef.h>

#include <jansson.h>

#include "common/error.h"

/*
 * Where each value came from: the line of every dict member and array element, keyed
 * by its container and position. Valid while the tree it was built with is alive and
 * unmodified (lookups go by container pointer and member order).
 */
typedef struct ward_plist_lines ward_plist_lines_t;

/*
 * Parse the XML plist in buf[0..len) into *out (a new reference the caller must
 * json_decref). If lines is not NULL, *lines receives the line table (free with
 * ward_plist_lines_free). On error *out (and *lines) are NULL and err says why, with
 * the line where libxml2 or the check stopped.
 */
ward_err_t ward_plist_parse(const void *buf, size_t len, json_t **out,
                            ward_plist_lines_t **lines, ward_error_t *err);

/* Line of the root value; 0 if unknown. lines may be NULL (then 0). */
unsigned long ward_plist_line_root(const ward_plist_lines_t *lines);

/* Line of element idx of array arr; 0 if unknown. */
unsigned long ward_plist_line_at(const ward_plist_lines_t *lines, const json_t *arr, size_t idx);

/* Line of the value of key in dict; 0 if unknown. */
unsigned long ward_plist_line_key(const ward_plist_lines_t *lines, const json_t *dict,
                                  const char *key);

void ward_plist_lines_free(ward_plist_lines_t *lines); /* NULL ok */

#endif
