/* eslogger JSON -> ward_es_event_t (see eslogger.h). */
#include "agent/backends/es/eslogger.h"

#include <jansson.h>
#include <string.h>

#include "common/hex.h"
#include "common/limits.h"

static bool str_field(const json_t *o, const char *k, char *buf, size_t len)
{
	const json_t *v = json_object_get(o, k);
	const char *s;
	size_t n;

	buf[0] = '\0';
	if (v == NULL || json_is_null(v))
		return true; /* absent: empty */
	if (!json_is_string(v))
		return false;
	s = json_string_value(v);
	n = json_string_length(v);
	if (n >= len || memchr(s, '\0', n) != NULL)
		return false;
	memcpy(buf, s, n + 1);
	return true;
}

static bool file_of(const json_t *f, ward_es_file_t *out)
{
	const json_t *st;

	memset(out, 0, offsetof(ward_es_file_t, path) + 1);
	if (!json_is_object(f))
		return false;
	out->present = true;
	out->path_ok = !json_is_true(json_object_get(f, "path_truncated")) &&
	               str_field(f, "path", out->path, sizeof(out->path)) && out->path[0] == '/';
	if (!out->path_ok)
		out->path[0] = '\0';
	st = json_object_get(f, "stat");
	if (json_is_object(st)) {
		json_int_t dev = json_integer_value(json_object_get(st, "st_dev"));
		json_int_t ino = json_integer_value(json_object_get(st, "st_ino"));
		json_int_t size = json_integer_value(json_object_get(st, "st_size"));
		out->key.dev = (uint32_t)dev;
		out->key.ino = ino > 0 ? (uint64_t)ino : 0;
		out->key.size = size > 0 ? (uint64_t)size : 0;
		out->key_ok = out->key.ino != 0; /* ctime is a date string in eslogger: not keyed */
		out->st_uid = (uint32_t)json_integer_value(json_object_get(st, "st_uid"));
		out->st_mode = (uint32_t)json_integer_value(json_object_get(st, "st_mode"));
	}
	return true;
}

#define CS_VALID 0x1u
#define CS_ADHOC 0x2u
#define CS_SIGNED 0x20000000u

static ward_err_t proc_of(const json_t *p, ward_es_proc_t *out, const char *what,
                          ward_error_t *err)
{
	const json_t *tok, *cd;
	ward_es_hints_t *h = &out->hints;

	memset(h, 0, sizeof(*h));
	if (!json_is_object(p))
		return ward_error_set(err, WARD_E_MALFORMED, "eslogger: %s is not an object", what);
	tok = json_object_get(p, "audit_token");
	out->pid = (pid_t)json_integer_value(json_object_get(tok, "pid"));
	out->pidversion = (uint32_t)json_integer_value(json_object_get(tok, "pidversion"));
	out->euid = (uint32_t)json_integer_value(json_object_get(tok, "euid"));
	out->egid = (uint32_t)json_integer_value(json_object_get(tok, "egid"));
	out->ruid = (uint32_t)json_integer_value(json_object_get(tok, "ruid"));
	out->ppid = (pid_t)json_integer_value(json_object_get(p, "ppid"));
	if (!file_of(json_object_get(p, "executable"), &out->exe))
		return ward_error_set(err, WARD_E_MALFORMED, "eslogger: %s.executable", what);

	h->cs_flags = (uint32_t)json_integer_value(json_object_get(p, "codesigning_flags"));
	h->valid = (h->cs_flags & (CS_VALID | CS_SIGNED)) == (CS_VALID | CS_SIGNED);
	h->adhoc = (h->cs_flags & CS_ADHOC) != 0;
	h->platform = h->valid && json_is_true(json_object_get(p, "is_platform_binary"));
	cd = json_object_get(p, "cdhash");
	if (h->valid) {
		if (!json_is_string(cd) || json_string_length(cd) != 2 * WARD_CDHASH_LEN ||
		    !ward_hex_decode(json_string_value(cd), h->cdhash, WARD_CDHASH_LEN))
			return ward_error_set(err, WARD_E_MALFORMED, "eslogger: %s.cdhash is not 40 hex digits", what);
		if (!str_field(p, "signing_id", h->signing_id, sizeof(h->signing_id)))
			return ward_error_set(err, WARD_E_LIMIT, "eslogger: %s.signing_id", what);
		if (!str_field(p, "team_id", h->team_id, sizeof(h->team_id)))
			return ward_error_set(err, WARD_E_LIMIT, "eslogger: %s.team_id", what);
		if (h->adhoc)
			h->team_id[0] = '\0';
	}
	return WARD_OK;
}

ward_err_t ward_eslogger_parse(const char *line, size_t len, ward_es_event_t *out,
                               ward_error_t *err)
{
	json_error_t je;
	json_t *root, *ev;
	json_int_t type;
	ward_err_t rc = WARD_OK;

	memset(out, 0, offsetof(ward_es_event_t, proc));
	out->file.present = out->target.exe.present = out->proc.exe.present = false;
	out->file.path[0] = '\0';
	if (len > WARD_ESLOGGER_MAX_LINE)
		return ward_error_set(err, WARD_E_LIMIT, "eslogger: line longer than %u bytes",
		                      WARD_ESLOGGER_MAX_LINE);
	root = json_loadb(line, len, JSON_REJECT_DUPLICATES, &je);
	if (root == NULL)
		return ward_error_set(err, WARD_E_MALFORMED, "eslogger: not JSON: %s (column %d)",
		                      je.text, je.column);
	if (!json_is_object(root) || !json_is_integer(json_object_get(root, "event_type"))) {
		rc = ward_error_set(err, WARD_E_MALFORMED, "eslogger: no integer event_type");
		goto out;
	}
	type = json_integer_value(json_object_get(root, "event_type"));
	out->version = (uint32_t)json_integer_value(json_object_get(root, "version"));
	out->seq = (uint64_t)json_integer_value(json_object_get(root, "seq_num"));
	ev = json_object_get(root, "event");
	if (!json_is_object(ev)) {
		rc = ward_error_set(err, WARD_E_MALFORMED, "eslogger: no event object");
		goto out;
	}
	if ((rc = proc_of(json_object_get(root, "process"), &out->proc, "process", err)) != WARD_OK)
		goto out;
	if (type == ES_EVENT_TYPE_NOTIFY_EXEC || type == ES_EVENT_TYPE_AUTH_EXEC) {
		const json_t *ex = json_object_get(ev, "exec");
		out->kind = WARD_ES_K_EXEC;
		out->type = (es_event_type_t)type;
		if (!json_is_object(ex)) {
			rc = ward_error_set(err, WARD_E_MALFORMED, "eslogger: exec event without event.exec");
			goto out;
		}
		if ((rc = proc_of(json_object_get(ex, "target"), &out->target, "event.exec.target",
		                  err)) != WARD_OK)
			goto out;
		out->file = out->target.exe;
		if (!out->file.present) {
			rc = ward_error_set(err, WARD_E_MALFORMED, "eslogger: exec target without executable");
			goto out;
		}
	} else if (type == ES_EVENT_TYPE_NOTIFY_OPEN || type == ES_EVENT_TYPE_AUTH_OPEN) {
		const json_t *op = json_object_get(ev, "open");
		out->kind = WARD_ES_K_OPEN;
		out->type = (es_event_type_t)type;
		if (!json_is_object(op) || !json_is_integer(json_object_get(op, "fflag")) ||
		    !file_of(json_object_get(op, "file"), &out->file)) {
			rc = ward_error_set(err, WARD_E_MALFORMED, "eslogger: open event needs fflag and file");
			goto out;
		}
		out->fflag = (uint32_t)json_integer_value(json_object_get(op, "fflag"));
		out->access = ward_es_fflag_access(out->fflag);
	} else {
		rc = ward_error_set(err, WARD_E_UNSUPPORTED, "eslogger: event_type %lld not replayed",
		                    (long long)type);
	}
out:
	json_decref(root);
	return rc;
}
