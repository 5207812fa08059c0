/*
 * warden — diagnostics of a configuration load: every error and warning found while
 * reading warden.conf and the profiles, so `wardenctl profile validate` can show all of
 * them at once, each as "file:line: key: message".
 *
 * A diagnostics list is a jansson array of objects
 *   {"severity": "error"|"warning", "file": F, "line": N, "key": K, "message": M,
 *    "text": "F:N: K: M"}
 * where file, line and key are present only when known. At most WARD_MAX_CONFIG_DIAGS
 * entries are kept; past that one entry says that more were dropped.
 */
#ifndef WARD_PROFILES_DIAG_H
#define WARD_PROFILES_DIAG_H

#include <stddef.h>

#include <jansson.h>

typedef enum { WARD_DIAG_ERROR = 0, WARD_DIAG_WARNING } ward_diag_sev_t;

/* Append one diagnostic to diags (NULL: nothing). line 0 and key NULL mean unknown. */
void ward_diag_add(json_t *diags, ward_diag_sev_t sev, const char *file, unsigned long line,
                   const char *key, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* Number of entries of that severity in diags (NULL: 0). */
size_t ward_diag_count(const json_t *diags, ward_diag_sev_t sev);

/* "file:line: key: message" of one entry (never NULL; "" for a non-diagnostic). */
const char *ward_diag_text(const json_t *d);

#endif
