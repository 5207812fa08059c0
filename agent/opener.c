/*
 * The identity of an opener: see agent/opener.h.
 */
#include "agent/opener.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/engine/trust.h"
#include "common/hex.h"
#include "common/proc.h"
#include "scanner/identity.h"
#include "common/platform.h"

ward_err_t ward_opener_from_fd(const ward_config_t *cfg, int fd, const char *path,
                               ward_opener_t *o, ward_error_t *err)
{
	ward_identity_t *id;
	const ward_slice_t *s;
	ward_err_t rc;

	memset(o, 0, sizeof(*o));
	snprintf(o->path, sizeof(o->path), "%s", path);
	if ((id = calloc(1, sizeof(*id))) == NULL)
		return ward_error_set(err, WARD_E_NOMEM, "out of memory");
	if ((rc = ward_identity_read(fd, WARD_ID_SHA256, id, err)) != WARD_OK) {
		free(id);
		return rc;
	}
	if (id->has_sha256) {
		o->has_sha256 = true;
		memcpy(o->sha256, id->sha256, 32);
	}
	/* only a verified signature names a team or signing ID; a CDHash needs no signer */
	if ((s = ward_identity_primary(id)) != NULL && s->status != WARD_SIG_INVALID) {
		if (s->has_cdhash) {
			o->has_cdhash = true;
			memcpy(o->cdhash, s->cdhash, 20);
		}
		if (s->status == WARD_SIG_SIGNED) {
			snprintf(o->team_id, sizeof(o->team_id), "%s", s->team_id);
			snprintf(o->signing_id, sizeof(o->signing_id), "%s", s->signing_id);
			if (s->has_cert) {
				o->has_cert = true;
				memcpy(o->cert_sha256, s->cert_sha256, 32);
			}
		}
	}
	free(id);
	{
		ward_trust_t t = ward_trust_check(cfg, fd, path, NULL);
		o->platform = t == WARD_TRUST_OK;
		snprintf(o->platform_why, sizeof(o->platform_why), "%s", o->platform ? "" : ward_trust_name(t));
	}
	return WARD_OK;
}

ward_err_t ward_opener_from_path(const ward_config_t *cfg, const char *path, ward_opener_t *o,
                                 ward_error_t *err)
{
	char real[WARD_MAX_PATH];
	ward_err_t rc;
	int fd;

	if (realpath(path, real) == NULL)
		return ward_error_set(err, WARD_E_IO, "%s: %s", path, strerror(errno));
	if ((fd = open(real, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0)
		return ward_error_set(err, WARD_E_IO, "%s: %s", real, strerror(errno));
	rc = ward_opener_from_fd(cfg, fd, real, o, err);
	close(fd);
	return rc;
}

ward_err_t ward_opener_from_pid(const ward_config_t *cfg, pid_t pid, ward_opener_t *o,
                                ward_error_t *err)
{
	char path[WARD_MAX_PATH];
	ward_err_t rc;
	int fd;

	if (!ward_proc_exe_path(pid, path, sizeof(path)))
		return ward_error_set(err, WARD_E_IO, "pid %d: %s", (int)pid, strerror(errno));
	/* Linux: the exe link opens the very inode the process runs, even if its path was
	 * replaced (common/proc.h says what macOS gives); opening it calls its filesystem:
	 * not in the event reader */
	if (ward_nowait_refuse())
		return ward_error_set(err, WARD_E_IO, "pid %d: not read without waiting", (int)pid);
	if ((fd = ward_proc_exe_open(pid, NULL, 0)) < 0)
		return ward_error_set(err, WARD_E_IO, "pid %d: %s", (int)pid, strerror(errno));
	rc = ward_opener_from_fd(cfg, fd, path, o, err);
	close(fd);
	return rc;
}

void ward_opener_view(const ward_opener_t *o, ward_faa_proc_t *p)
{
	memset(p, 0, sizeof(*p));
	p->path = o->path;
	p->sha256 = o->has_sha256 ? o->sha256 : NULL;
	p->cdhash = o->has_cdhash ? o->cdhash : NULL;
	p->cert_sha256 = o->has_cert ? o->cert_sha256 : NULL;
	p->team_id = o->team_id[0] ? o->team_id : NULL;
	p->signing_id = o->signing_id[0] ? o->signing_id : NULL;
	p->platform = o->platform;
}

json_t *ward_opener_json(const ward_opener_t *o)
{
	json_t *j = json_object();
	char hex[65];

	if (!j)
		return NULL;
	json_object_set_new(j, "path", json_string(o->path));
	if (o->has_sha256) {
		ward_hex_encode(o->sha256, 32, hex);
		json_object_set_new(j, "sha256", json_string(hex));
	}
	json_object_set_new(j, "platform", json_boolean(o->platform));
	if (!o->platform)
		json_object_set_new(j, "platform_why_not", json_string(o->platform_why));
	if (o->has_cdhash) {
		ward_hex_encode(o->cdhash, 20, hex);
		json_object_set_new(j, "cdhash", json_string(hex));
	}
	if (o->team_id[0])
		json_object_set_new(j, "team_id", json_string(o->team_id));
	if (o->signing_id[0])
		json_object_set_new(j, "signing_id", json_string(o->signing_id));
	if (o->has_cert) {
		ward_hex_encode(o->cert_sha256, 32, hex);
		json_object_set_new(j, "certificate_sha256", json_string(hex));
	}
	return j;
}
