/*
 * warden — one error-code enum for every module.
 *
 * Every fallible library function returns a ward_err_t (WARD_OK == 0) and, when the
 * caller passes a ward_error_t, fills it with the code and a human sentence that names
 * what was wrong (file offset, field, line). Library code never prints or exits; only
 * the mains of wardend and wardenctl decide what to show and whether to stop.
 */
#ifndef WARD_COMMON_ERROR_H
#define WARD_COMMON_ERROR_H

#include <stddef.h>

typedef enum {
	WARD_OK = 0,
	WARD_E_NOMEM,       /* allocation failed */
	WARD_E_IO,          /* read/write/open failed; errno text is in the message */
	WARD_E_TRUNCATED,   /* input ends before a structure it declares */
	WARD_E_BADMAGIC,    /* not the format we were asked to read */
	WARD_E_MALFORMED,   /* structurally invalid input (overlaps, loops, bad counts) */
	WARD_E_LIMIT,       /* input exceeds a hard limit from common/limits.h */
	WARD_E_INVAL,       /* invalid argument or value (rule identifier, flag) */
	WARD_E_NOTFOUND,    /* no such rule / request / key */
	WARD_E_EXISTS,      /* already present (duplicate) */
	WARD_E_PERM,        /* caller is not allowed to do this */
	WARD_E_DB,          /* SQLite failure */
	WARD_E_UNSUPPORTED, /* well-formed but not something we handle */
	WARD_E_TIMEOUT,     /* a time budget ran out */
	WARD_E_CRYPTO,      /* OpenSSL failure or bad signature */
	WARD_E_BUSY,        /* queue full / resource busy; try later */
	WARD_E_YARA,        /* libyara failed with a code that has no better name here */
	WARD_E__COUNT
} ward_err_t;

#define WARD_ERRMSG_MAX 256

typedef struct ward_error {
	ward_err_t code;
	char msg[WARD_ERRMSG_MAX];
} ward_error_t;

/* Short, stable name of a code ("truncated", "malformed", ...). Never NULL. */
const char *ward_strerror(ward_err_t code);

/*
 * Record an error: sets err->code and formats err->msg (printf-style). err may be NULL,
 * in which case nothing is recorded. Returns code, so callers can write
 * `return ward_error_set(err, WARD_E_TRUNCATED, "load command %u past end", i);`.
 */
ward_err_t ward_error_set(ward_error_t *err, ward_err_t code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Reset err to WARD_OK with an empty message. err may be NULL. */
void ward_error_clear(ward_error_t *err);

#endif
