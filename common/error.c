#include "common/error.h"

#include <stdarg.h>
#include <stdio.h>

static const char *const names[WARD_E__COUNT] = {
	[WARD_OK] = "ok",
	[WARD_E_NOMEM] = "out of memory",
	[WARD_E_IO] = "i/o error",
	[WARD_E_TRUNCATED] = "truncated",
	[WARD_E_BADMAGIC] = "bad magic",
	[WARD_E_MALFORMED] = "malformed",
	[WARD_E_LIMIT] = "limit exceeded",
	[WARD_E_INVAL] = "invalid",
	[WARD_E_NOTFOUND] = "not found",
	[WARD_E_EXISTS] = "already exists",
	[WARD_E_PERM] = "permission denied",
	[WARD_E_DB] = "database error",
	[WARD_E_UNSUPPORTED] = "unsupported",
	[WARD_E_TIMEOUT] = "timed out",
	[WARD_E_CRYPTO] = "crypto error",
	[WARD_E_BUSY] = "busy",
	[WARD_E_YARA] = "yara error",
};

const char *ward_strerror(ward_err_t code)
{
	if ((unsigned)code >= WARD_E__COUNT || names[code] == NULL)
		return "unknown error";
	return names[code];
}

ward_err_t ward_error_set(ward_error_t *err, ward_err_t code, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return code;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return code;
}

void ward_error_clear(ward_error_t *err)
{
	if (err == NULL)
		return;
	err->code = WARD_OK;
	err->msg[0] = '\0';
}
