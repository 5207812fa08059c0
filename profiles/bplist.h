/*
 * warden — binary property lists ("bplist00", what macOS's managed preferences and
 * cfprefsd write) into the same jansson tree as profiles/plist.c makes of XML: dict ->
 * object (document order), array -> array, ASCII and UTF-16 strings -> UTF-8 strings,
 * integers -> integer (1, 2, 4 bytes unsigned, 8 bytes signed; 16-byte integers are an
 * error), reals -> real (finite only), booleans, date -> "YYYY-MM-DDTHH:MM:SSZ", data ->
 * base64 string. Sets, UIDs (NSKeyedArchiver), null and fill objects are errors.
 *
 * Untrusted bytes: every offset, count and length is checked against the buffer before
 * it is used, with overflow-safe arithmetic; references may repeat (a DAG) or loop, so
 * nesting is capped at WARD_MAX_PLIST_DEPTH and the values made at WARD_MAX_PLIST_NODES
 * (common/limits.h); duplicate keys in a dict are errors, as in XML. A binary plist has
 * no lines: errors name the object ("object 12: ...").
 */
#ifndef WARD_PROFILES_BPLIST_H
#define WARD_PROFILES_BPLIST_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "common/error.h"

/* Whether buf starts like a binary plist (the magic "bplist"). */
bool ward_bplist_looks(const void *buf, size_t len);

/* Parse buf[0..len) into *out (a new reference), or NULL with err filled. */
ward_err_t ward_bplist_parse(const void *buf, size_t len, json_t **out, ward_error_t *err);

#endif
