/* Diagnostics list of a configuration load (see diag.h). */
#include "profiles/diag.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "common/limits.h"

static const char *sev_name(ward_diag_sev_t sev)
{
	return sev == WARD_DIAG_ERROR ? "error" : "warning";
}

void ward_diag_add(json_t *diags, ward_diag_sev_t sev, const char *file, unsigned long line,
                   const char *key, const char *fmt, ...)
{
	char msg[512], text[1024];
	size_t off = 0;
	json_t *d;
	va_list ap;

	if (diags == NULL || !json_is_array(diags))
		return;
	if (json_array_size(diags) >= WARD_MAX_CONFIG_DIAGS) {
		if (json_array_size(diags) == WARD_MAX_CONFIG_DIAGS) {
			d = json_pack("{s:s, s:s, s:s, s:b}", "severity", "warning", "message",
			              "more diagnostics were not kept", "text",
			              "more diagnostics were not kept", "truncated", 1);
			if (d)
				json_array_append_new(diags, d);
		}
		return;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	text[0] = '\0';
	if (file && *file)
		off += (size_t)snprintf(text + off, sizeof(text) - off, "%s:", file);
	if (file && *file && line > 0 && off < sizeof(text))
		off += (size_t)snprintf(text + off, sizeof(text) - off, "%lu:", line);
	if (key && *key && off < sizeof(text))
		off += (size_t)snprintf(text + off, sizeof(text) - off, "%s%s:", off ? " " : "", key);
	if (off < sizeof(text))
		snprintf(text + off, sizeof(text) - off, "%s%s", off ? " " : "", msg);

	if ((d = json_object()) == NULL)
		return;
	json_object_set_new(d, "severity", json_string(sev_name(sev)));
	if (file && *file)
		json_object_set_new(d, "file", json_string(file));
	if (line > 0)
		json_object_set_new(d, "line", json_integer((json_int_t)line));
	if (key && *key)
		json_object_set_new(d, "key", json_string(key));
	json_object_set_new(d, "message", json_string(msg));
	json_object_set_new(d, "text", json_string(text));
	json_array_append_new(diags, d);
}

size_t ward_diag_count(const json_t *diags, ward_diag_sev_t sev)
{
	size_t i, n = 0;
	json_t *d;

	if (diags == NULL)
		return 0;
	json_array_foreach((json_t *)diags, i, d) {
		const char *s = json_string_value(json_object_get(d, "severity"));
		if (s && strcmp(s, sev_name(sev)) == 0 && json_object_get(d, "truncated") == NULL)
			n++;
	}
	return n;
}

const char *ward_diag_text(const json_t *d)
{
	const char *s = json_string_value(json_object_get(d, "text"));

	return s ? s : "";
}
