/* The last good configuration file (see lastgood.h). */
#include "agent/lastgood.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/limits.h"

#define FORMAT "warden-last-good-config"
#define VERSION 1

bool ward_lastgood_path(const char *db_path, char *out, size_t cap)
{
	const char *slash = strrchr(db_path, '/');
	int n;

	if (slash == NULL)
		n = snprintf(out, cap, "%s", WARD_LASTGOOD_NAME);
	else if (slash == db_path)
		n = snprintf(out, cap, "/%s", WARD_LASTGOOD_NAME);
	else
		n = snprintf(out, cap, "%.*s/%s", (int)(slash - db_path), db_path, WARD_LASTGOOD_NAME);
	return n > 0 && (size_t)n < cap;
}

static json_t *snapshot_json(const ward_confset_t *cs, const char *trigger, int64_t now)
{
	json_t *full = ward_confset_to_json(cs), *o, *cfg;
	const json_t *fap = ward_confset_file_access_policy(cs);
	char at[32] = "";
	time_t t = (time_t)now;
	struct tm tm;

	if (full == NULL)
		return NULL;
	if ((cfg = ward_config_to_json(ward_confset_config(cs))) == NULL) {
		json_decref(full);
		return NULL;
	}
	if (fap != NULL)
		json_object_set_new(cfg, "FileAccessPolicy", json_deep_copy(fap));
	if (gmtime_r(&t, &tm) != NULL)
		strftime(at, sizeof(at), "%Y-%m-%dT%H:%M:%SZ", &tm);
	o = json_pack("{s:s, s:i, s:s, s:I, s:s, s:O, s:o}", "format", FORMAT, "version", VERSION,
	              "saved_at", at, "saved_at_unix", (json_int_t)now, "trigger", trigger,
	              "sources", json_object_get(full, "sources"), "config", cfg);
	json_decref(full);
	return o;
}

ward_err_t ward_lastgood_save(const char *path, const ward_confset_t *cs, const char *trigger,
                              int64_t now, ward_error_t *err)
{
	char tmp[PATH_MAX], dir[PATH_MAX], *text, *slash;
	size_t len, off = 0;
	json_t *o;
	int fd, e;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return ward_error_set(err, WARD_E_LIMIT, "%s: path too long", path);
	if ((o = snapshot_json(cs, trigger, now)) == NULL)
		return ward_error_set(err, WARD_E_NOMEM, "out of memory");
	text = json_dumps(o, JSON_INDENT(1) | JSON_SORT_KEYS);
	json_decref(o);
	if (text == NULL)
		return ward_error_set(err, WARD_E_NOMEM, "out of memory");
	len = strlen(text);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0) {
		e = errno;
		free(text);
		return ward_error_set(err, WARD_E_IO, "%s: %s", tmp, strerror(e));
	}
	if (fchmod(fd, 0600) != 0)
		goto fail;
	while (off < len) {
		ssize_t n = write(fd, text + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto fail;
		off += (size_t)n;
	}
	if (write(fd, "\n", 1) != 1 || fsync(fd) != 0)
		goto fail;
	if (close(fd) != 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) != 0)
		goto fail;
	free(text);
	/* the rename itself must survive a crash too */
	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) != NULL) {
		if (slash == dir)
			slash[1] = '\0';
		else
			*slash = '\0';
		if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
			(void)fsync(fd);
			close(fd);
		}
	}
	return WARD_OK;
fail:
	e = errno;
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	free(text);
	return ward_error_set(err, WARD_E_IO, "%s: %s", tmp, strerror(e));
}

ward_err_t ward_lastgood_load(const char *path, ward_config_t *cfg, int64_t *saved_at,
                              json_t **sources, ward_error_t *err)
{
	ward_error_t e = { 0 };
	ward_config_t c;
	json_error_t je;
	struct stat sb;
	json_t *o, *v;
	int fd;

	if (sources)
		*sources = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY)) < 0)
		return ward_error_set(err, errno == ENOENT ? WARD_E_NOTFOUND : WARD_E_IO, "%s: %s", path,
		                      strerror(errno));
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		return ward_error_set(err, WARD_E_IO, "%s: not a regular file", path);
	}
	/* whoever can write it chooses what the agent enforces */
	if ((sb.st_uid != 0 && sb.st_uid != geteuid()) || (sb.st_mode & 022)) {
		close(fd);
		return ward_error_set(err, WARD_E_PERM,
		                      "%s: insecure permissions (owner uid %u, mode %04o): must be owned by root and not group/other-writable",
		                      path, (unsigned)sb.st_uid, (unsigned)(sb.st_mode & 07777));
	}
	if ((uint64_t)sb.st_size > WARD_MAX_CONF_BYTES) {
		close(fd);
		return ward_error_set(err, WARD_E_LIMIT, "%s: %lld bytes, more than %u", path,
		                      (long long)sb.st_size, WARD_MAX_CONF_BYTES);
	}
	o = json_loadfd(fd, JSON_REJECT_DUPLICATES, &je);
	close(fd);
	if (o == NULL)
		return ward_error_set(err, WARD_E_MALFORMED, "%s:%d: %s", path, je.line, je.text);
	if (!json_is_object(o) || !json_is_string(json_object_get(o, "format")) ||
	    strcmp(json_string_value(json_object_get(o, "format")), FORMAT) != 0) {
		json_decref(o);
		return ward_error_set(err, WARD_E_BADMAGIC, "%s: not a warden last good configuration", path);
	}
	if (json_integer_value(json_object_get(o, "version")) != VERSION) {
		json_decref(o);
		return ward_error_set(err, WARD_E_UNSUPPORTED, "%s: version is not %d", path, VERSION);
	}
	v = json_object_get(o, "saved_at_unix");
	if (!json_is_integer(v) || json_integer_value(v) <= 0 ||
	    !json_is_object(json_object_get(o, "config"))) {
		json_decref(o);
		return ward_error_set(err, WARD_E_MALFORMED, "%s: no saved_at_unix or config", path);
	}
	ward_config_defaults(&c);
	if (ward_config_apply(&c, json_object_get(o, "config"), &e) != WARD_OK) {
		json_decref(o);
		return ward_error_set(err, e.code, "%s: %s", path, e.msg);
	}
	*cfg = c;
	*saved_at = (int64_t)json_integer_value(v);
	if (sources) {
		v = json_object_get(o, "sources");
		*sources = json_is_array(v) ? json_incref(v) : json_array();
	}
	json_decref(o);
	return WARD_OK;
}
