/*
 * Watches on the configuration sources' directories (agent/dirwatch.h: inotify on
 * Linux, kqueue on macOS), the reload debounce, and the record of what is in force
 * (see profwatch.h). Directories are watched, not files: a file replaced by rename(2)
 * (how editors and MDM clients write) is a change of its directory's entries, which a
 * watch on the file itself would miss.
 */
#include "agent/profwatch.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent/dirwatch.h"
#include "common/limits.h"
#include "profiles/diag.h"

/* One role: a directory and the name in it that matters ("" = any profile name). */
struct target {
	int wd;                  /* -1: not watched */
	bool used;
	char dir[PATH_MAX];
	char name[NAME_MAX + 1];
};

struct ward_profwatch {
	ward_dirwatch_t *dw;     /* NULL when unavailable */
	struct target conf;      /* dirname(conf_file), basename(conf_file) */
	struct target parent;    /* dirname(profile_dir), basename(profile_dir) */
	struct target pdir;      /* profile_dir, any profile name */
	struct target faa;       /* the FileAccessPolicyPlist in force (unused: none) */
	char watch_error[WARD_ERRMSG_MAX];

	bool pending;            /* a reload is scheduled */
	uint64_t first_ms, last_ms;
	uint64_t changes;

	/* the record */
	const ward_confset_t *cs;
	int64_t loaded_at, last_attempt;
	char loaded_trigger[32];
	uint64_t loads, failures;
	bool in_error;
	ward_error_t last_err;
	int64_t err_at;
	char err_trigger[32];
	json_t *err_diags;       /* the error diagnostics of the failed attempt */
	bool fallback;           /* in force: the last good configuration, not the sources */
	int64_t fallback_saved_at;
	char fallback_file[PATH_MAX];
	json_t *fallback_sources;
};

/* Split path into t->dir and t->name; false if it has no usable name. */
static bool target_init(struct target *t, const char *path)
{
	const char *slash;
	size_t n;

	t->wd = -1;
	t->used = false;
	if (path == NULL || path[0] == '\0' || strlen(path) >= sizeof(t->dir))
		return false;
	n = strlen(path);
	while (n > 1 && path[n - 1] == '/')
		n--;
	for (slash = path + n; slash > path && slash[-1] != '/'; slash--)
		;
	slash = slash > path ? slash - 1 : NULL; /* the last '/' of path[0..n) (memrchr) */
	if (slash == NULL) {
		snprintf(t->dir, sizeof(t->dir), ".");
		slash = path - 1;
	} else if (slash == path) {
		snprintf(t->dir, sizeof(t->dir), "/");
	} else {
		snprintf(t->dir, sizeof(t->dir), "%.*s", (int)(slash - path), path);
	}
	if ((size_t)(path + n - slash - 1) == 0 || (size_t)(path + n - slash - 1) > NAME_MAX)
		return false;
	snprintf(t->name, sizeof(t->name), "%.*s", (int)(path + n - slash - 1), slash + 1);
	t->used = true;
	return true;
}

/* Watch t's directory if it is not watched yet; true if a new watch was added. */
static bool watch(ward_profwatch_t *pw, struct target *t)
{
	if (pw->dw == NULL || !t->used || t->wd >= 0)
		return false;
	/* A missing directory is not an error: its parent's watch (or ward_profwatch_tick)
	 * adds it when it appears. */
	t->wd = ward_dirwatch_add(pw->dw, t->dir);
	if (t->wd < 0 && errno != ENOENT && errno != ENOTDIR && errno != EACCES)
		snprintf(pw->watch_error, sizeof(pw->watch_error), "%s on %.180s: %s", ward_dirwatch_kind,
		         t->dir, strerror(errno));
	else if (t->wd >= 0)
		pw->watch_error[0] = '\0';
	return t->wd >= 0;
}

/* Drop t's watch unless another role shares it (same directory inode, same wd). */
static void unwatch(ward_profwatch_t *pw, struct target *t)
{
	struct target *all[] = { &pw->conf, &pw->parent, &pw->pdir, &pw->faa };
	bool shared = false;

	if (t->wd < 0)
		return;
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (all[i] != t && all[i]->wd == t->wd)
			shared = true;
	if (!shared)
		ward_dirwatch_rm(pw->dw, t->wd);
	t->wd = -1;
}

/* Watch every directory that exists now; true if one was not watched before. */
static bool rewatch(ward_profwatch_t *pw)
{
	bool added = false;

	added |= watch(pw, &pw->conf);
	added |= watch(pw, &pw->parent);
	added |= watch(pw, &pw->pdir);
	added |= watch(pw, &pw->faa);
	return added;
}

ward_err_t ward_profwatch_create(const char *conf_file, const char *profile_dir,
                                 ward_profwatch_t **out, ward_error_t *why)
{
	ward_profwatch_t *pw;

	if ((*out = pw = calloc(1, sizeof(*pw))) == NULL)
		return ward_error_set(why, WARD_E_NOMEM, "out of memory");
	target_init(&pw->conf, conf_file);
	pw->faa.wd = -1;
	if (target_init(&pw->parent, profile_dir)) {
		snprintf(pw->pdir.dir, sizeof(pw->pdir.dir), "%s", profile_dir);
		pw->pdir.wd = -1;
		pw->pdir.used = true;
	} else {
		pw->pdir.wd = -1;
	}
	if ((pw->dw = ward_dirwatch_create()) == NULL) {
		snprintf(pw->watch_error, sizeof(pw->watch_error), "%s: %s", ward_dirwatch_kind, strerror(errno));
		return ward_error_set(why, WARD_E_IO, "%s", pw->watch_error);
	}
	rewatch(pw);
	if (pw->watch_error[0])
		return ward_error_set(why, WARD_E_IO, "%s", pw->watch_error);
	return WARD_OK;
}

void ward_profwatch_destroy(ward_profwatch_t *pw)
{
	if (pw == NULL)
		return;
	ward_dirwatch_destroy(pw->dw);
	json_decref(pw->err_diags);
	json_decref(pw->fallback_sources);
	free(pw);
}

int ward_profwatch_fd(const ward_profwatch_t *pw)
{
	return pw->dw ? ward_dirwatch_fd(pw->dw) : -1;
}

static void schedule(ward_profwatch_t *pw, uint64_t now_ms)
{
	if (!pw->pending) {
		pw->pending = true;
		pw->first_ms = now_ms;
	}
	pw->last_ms = now_ms;
	pw->changes++;
}

/* name: the entry, "" for the directory itself, NULL when the platform cannot tell
 * which entry changed (kqueue): then any of them may have. */
static bool named(const char *name, const char *want)
{
	return name == NULL || strcmp(name, want) == 0;
}

struct readctx {
	ward_profwatch_t *pw;
	uint64_t now_ms;
};

static void one_event(void *arg, int wd, const char *name, unsigned what)
{
	struct readctx *rc = arg;
	ward_profwatch_t *pw = rc->pw;
	uint64_t now_ms = rc->now_ms;

	if (what & WARD_DW_OVERFLOW) {
		schedule(pw, now_ms); /* events were lost: reload to be sure */
		return;
	}
	if (pw->pdir.wd >= 0 && wd == pw->pdir.wd) {
		if (what & (WARD_DW_SELF | WARD_DW_DROPPED)) {
			/* The directory went away or moved (an inotify watch would follow it). */
			if (what & WARD_DW_DROPPED)
				pw->pdir.wd = -1; /* nothing left to remove */
			unwatch(pw, &pw->pdir);
			schedule(pw, now_ms);
		} else if (name == NULL || ward_config_profile_name(pw->pdir.dir, name)) {
			schedule(pw, now_ms);
		}
	}
	if (pw->parent.wd >= 0 && wd == pw->parent.wd && named(name, pw->parent.name)) {
		unwatch(pw, &pw->pdir); /* replaced, removed or created: watch what is there now */
		watch(pw, &pw->pdir);
		schedule(pw, now_ms);
	}
	if (pw->conf.wd >= 0 && wd == pw->conf.wd && named(name, pw->conf.name))
		schedule(pw, now_ms);
	if (pw->faa.wd >= 0 && wd == pw->faa.wd && named(name, pw->faa.name))
		schedule(pw, now_ms);
	if ((what & WARD_DW_DROPPED) && pw->faa.wd >= 0 && wd == pw->faa.wd) {
		pw->faa.wd = -1;
		schedule(pw, now_ms);
	}
	if ((what & WARD_DW_DROPPED) && (wd == pw->conf.wd || wd == pw->parent.wd)) {
		/* A watched directory is gone; ward_profwatch_tick watches it again when it
		 * is back. */
		if (wd == pw->conf.wd)
			pw->conf.wd = -1;
		if (wd == pw->parent.wd)
			pw->parent.wd = -1;
		schedule(pw, now_ms);
	}
}

void ward_profwatch_read(ward_profwatch_t *pw, uint64_t now_ms)
{
	struct readctx rc = { pw, now_ms };

	if (pw->dw != NULL)
		ward_dirwatch_read(pw->dw, one_event, &rc);
}

static uint64_t due_at(const ward_profwatch_t *pw)
{
	uint64_t quiet = pw->last_ms + WARD_RELOAD_QUIET_MS, cap = pw->first_ms + WARD_RELOAD_MAX_DELAY_MS;

	return quiet < cap ? quiet : cap;
}

int ward_profwatch_timeout(const ward_profwatch_t *pw, uint64_t now_ms)
{
	uint64_t at;

	if (!pw->pending)
		return -1;
	at = due_at(pw);
	return at > now_ms ? (int)(at - now_ms) : 0;
}

bool ward_profwatch_due(ward_profwatch_t *pw, uint64_t now_ms)
{
	if (!pw->pending || due_at(pw) > now_ms)
		return false;
	pw->pending = false;
	return true;
}

void ward_profwatch_tick(ward_profwatch_t *pw, uint64_t now_ms)
{
	if (rewatch(pw))
		schedule(pw, now_ms); /* a directory appeared: what it holds may be new */
}

uint64_t ward_profwatch_changes(const ward_profwatch_t *pw)
{
	return pw->changes;
}

/* ---------------------------------------------------------------- the record */

void ward_profwatch_loaded(ward_profwatch_t *pw, const ward_confset_t *cs, const char *trigger)
{
	const char *plist = cs ? ward_confset_faa_plist(cs) : "";
	char cur[PATH_MAX + NAME_MAX + 2];

	/* the FileAccessPolicyPlist file is a source too: watch its directory */
	snprintf(cur, sizeof(cur), "%s/%s", pw->faa.dir, pw->faa.name);
	if (!pw->faa.used || strcmp(cur, plist) != 0) {
		unwatch(pw, &pw->faa);
		pw->faa.used = false;
		if (plist[0] && target_init(&pw->faa, plist))
			watch(pw, &pw->faa);
	}
	pw->cs = cs;
	pw->loaded_at = pw->last_attempt = (int64_t)time(NULL);
	snprintf(pw->loaded_trigger, sizeof(pw->loaded_trigger), "%s", trigger);
	pw->loads++;
	pw->in_error = false;
	json_decref(pw->err_diags);
	pw->err_diags = NULL;
	pw->fallback = false;
	json_decref(pw->fallback_sources);
	pw->fallback_sources = NULL;
}

void ward_profwatch_fallback(ward_profwatch_t *pw, const char *file, int64_t saved_at,
                             const json_t *sources, const ward_error_t *err, const json_t *diags)
{
	ward_profwatch_failed(pw, err, diags, "start");
	pw->cs = NULL;
	pw->loaded_at = pw->last_attempt;
	snprintf(pw->loaded_trigger, sizeof(pw->loaded_trigger), "last good configuration");
	pw->loads++;
	pw->fallback = true;
	pw->fallback_saved_at = saved_at;
	snprintf(pw->fallback_file, sizeof(pw->fallback_file), "%s", file);
	json_decref(pw->fallback_sources);
	pw->fallback_sources = sources ? json_deep_copy(sources) : NULL;
}

bool ward_profwatch_in_fallback(const ward_profwatch_t *pw)
{
	return pw->fallback;
}

void ward_profwatch_failed(ward_profwatch_t *pw, const ward_error_t *err, const json_t *diags,
                           const char *trigger)
{
	size_t i;
	json_t *d;

	pw->err_at = pw->last_attempt = (int64_t)time(NULL);
	pw->failures++;
	pw->in_error = true;
	pw->last_err = *err;
	snprintf(pw->err_trigger, sizeof(pw->err_trigger), "%s", trigger);
	json_decref(pw->err_diags);
	pw->err_diags = json_array();
	json_array_foreach((json_t *)diags, i, d) {
		const char *sev = json_string_value(json_object_get(d, "severity"));
		if (sev && strcmp(sev, "error") == 0)
			json_array_append(pw->err_diags, d);
	}
}

bool ward_profwatch_in_error(const ward_profwatch_t *pw)
{
	return pw->in_error;
}

static json_t *iso_time(int64_t t)
{
	char buf[32];
	time_t tt = (time_t)t;
	struct tm tm;

	if (t <= 0 || gmtime_r(&tt, &tm) == NULL)
		return json_null();
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_string(buf);
}

json_t *ward_profwatch_status(const ward_profwatch_t *pw)
{
	json_t *o = json_object(), *full = pw->cs ? ward_confset_to_json(pw->cs) : NULL;
	json_t *warnings = json_array(), *w;
	size_t i;

	if (o == NULL || warnings == NULL) {
		json_decref(o);
		json_decref(full);
		json_decref(warnings);
		return NULL;
	}
	json_object_set_new(o, "config_file", pw->conf.used ?
	                    json_sprintf("%s%s%s", pw->conf.dir,
	                                 strcmp(pw->conf.dir, "/") ? "/" : "", pw->conf.name) :
	                    json_null());
	json_object_set_new(o, "profiles_dir", pw->pdir.used ? json_string(pw->pdir.dir) : json_null());
	json_object_set_new(o, "watching", json_boolean(pw->dw != NULL &&
	                    (pw->conf.wd >= 0 || pw->pdir.wd >= 0 || pw->parent.wd >= 0)));
	json_object_set_new(o, "watch_error", pw->watch_error[0] ? json_string(pw->watch_error) : json_null());
	if (pw->fallback && pw->fallback_sources)
		json_object_set_new(o, "sources", json_incref(pw->fallback_sources));
	else
		json_object_set_new(o, "sources", full ? json_incref(json_object_get(full, "sources")) : json_array());
	json_object_set_new(o, "fallback", json_boolean(pw->fallback));
	json_object_set_new(o, "fallback_saved_at", pw->fallback ? iso_time(pw->fallback_saved_at) : json_null());
	json_object_set_new(o, "fallback_file", pw->fallback ? json_string(pw->fallback_file) : json_null());
	json_array_foreach(full ? json_object_get(full, "warnings") : NULL, i, w)
		json_array_append_new(warnings, json_string(ward_diag_text(w)));
	json_object_set_new(o, "warnings", warnings);
	/* Santa keys read but not enforced, and StaticRules left out (CEL), by name */
	json_object_set_new(o, "not_enforced", full && json_object_get(full, "not_enforced") ?
	                    json_incref(json_object_get(full, "not_enforced")) : json_array());
	json_object_set_new(o, "refused_rules", full && json_object_get(full, "refused_rules") ?
	                    json_incref(json_object_get(full, "refused_rules")) : json_array());
	json_object_set_new(o, "loaded_at", iso_time(pw->loaded_at));
	json_object_set_new(o, "loaded_trigger", pw->loaded_at ? json_string(pw->loaded_trigger) : json_null());
	json_object_set_new(o, "last_attempt", iso_time(pw->last_attempt));
	json_object_set_new(o, "reloads", json_integer((json_int_t)(pw->loads ? pw->loads - 1 : 0)));
	json_object_set_new(o, "failures", json_integer((json_int_t)pw->failures));
	if (pw->in_error) {
		json_t *e = json_object();
		json_object_set_new(e, "message", json_string(pw->last_err.msg));
		json_object_set_new(e, "code", json_string(ward_strerror(pw->last_err.code)));
		json_object_set_new(e, "at", iso_time(pw->err_at));
		json_object_set_new(e, "trigger", json_string(pw->err_trigger));
		json_object_set_new(e, "errors", json_incref(pw->err_diags));
		json_object_set_new(o, "last_error", e);
	} else {
		json_object_set_new(o, "last_error", json_null());
	}
	json_decref(full);
	return o;
}
