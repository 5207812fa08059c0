/*
 * File-access authorization in the agent: see agent/fileaccess.h.
 */
#include "agent/fileaccess.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent/engine/trust.h"
#include "agent/opener.h"
#include "common/hex.h"
#include "common/limits.h"
#include "common/proc.h"
#include "scanner/identity.h"
#include "common/platform.h"

/* The policy in force with its counters; decisions hold a reference. */
struct gen {
	atomic_uint ref;
	ward_faa_t *faa;           /* NULL: none */
	ward_config_t cfg;         /* trusted paths, canonical */
	size_t nitems;
	_Atomic uint64_t *allowed, *audited, *denied; /* per item */
	uint64_t id;               /* cache entries of older generations are stale */
};

struct ident {                 /* an opener identity computed once per executable */
	bool used;
	ward_filekey_t key;
	uint64_t gen;
	ward_opener_t o;
};

struct allow {                 /* a remembered plain ALLOW */
	bool used;
	uint64_t gen;
	ward_filekey_t file, exe;
	uint64_t path_hash, exe_hash;
	uint32_t access;
	int item;
};

struct ward_fileaccess {
	pthread_mutex_t mu;        /* guards cur, the two tables, the log bucket */
	struct gen *cur;
	uint64_t next_id;
	struct ident ident[WARD_FAA_IDENT_CACHE];
	struct allow allow[WARD_FAA_ALLOW_CACHE];
	double tokens;             /* event-log budget (token bucket) */
	uint64_t last_ns;
	_Atomic uint64_t cache_hits, decisions, log_dropped, identity_errors;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t fnv(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static uint64_t key_hash(const ward_filekey_t *k)
{
	uint64_t h = k->dev * 0x9e3779b97f4a7c15ull ^ k->ino;

	h ^= (uint64_t)k->ctime_sec * 0xff51afd7ed558ccdull ^ (uint64_t)k->ctime_nsec ^ k->size;
	return h ^ (h >> 29);
}

static void gen_unref(struct gen *g)
{
	if (!g || atomic_fetch_sub(&g->ref, 1) != 1)
		return;
	ward_faa_free(g->faa);
	free(g->allowed);
	free(g->audited);
	free(g->denied);
	free(g);
}

static struct gen *gen_get(ward_fileaccess_t *fa)
{
	struct gen *g;

	pthread_mutex_lock(&fa->mu);
	g = fa->cur;
	atomic_fetch_add(&g->ref, 1);
	pthread_mutex_unlock(&fa->mu);
	return g;
}

static struct gen *gen_new(ward_faa_t *p, const ward_config_t *cfg)
{
	struct gen *g = calloc(1, sizeof(*g));
	size_t n = ward_faa_nitems(p);

	if (!g)
		return NULL;
	atomic_init(&g->ref, 1);
	g->nitems = n;
	g->allowed = calloc(n ? n : 1, sizeof(*g->allowed));
	g->audited = calloc(n ? n : 1, sizeof(*g->audited));
	g->denied = calloc(n ? n : 1, sizeof(*g->denied));
	if (!g->allowed || !g->audited || !g->denied) {
		gen_unref(g);
		return NULL;
	}
	if (cfg) {
		g->cfg = *cfg;
		ward_trust_canon(&g->cfg);
	} else {
		ward_config_defaults(&g->cfg);
		ward_trust_canon(&g->cfg);
	}
	g->faa = ward_faa_ref(p);
	return g;
}

ward_err_t ward_fileaccess_create(ward_fileaccess_t **out, ward_error_t *err)
{
	ward_fileaccess_t *fa = calloc(1, sizeof(*fa));

	*out = NULL;
	if (!fa)
		return ward_error_set(err, WARD_E_NOMEM, "out of memory");
	pthread_mutex_init(&fa->mu, NULL);
	if ((fa->cur = gen_new(NULL, NULL)) == NULL) {
		pthread_mutex_destroy(&fa->mu);
		free(fa);
		return ward_error_set(err, WARD_E_NOMEM, "out of memory");
	}
	fa->cur->id = fa->next_id = 1;
	fa->tokens = WARD_FAA_LOG_BURST;
	*out = fa;
	return WARD_OK;
}

void ward_fileaccess_destroy(ward_fileaccess_t *fa)
{
	if (!fa)
		return;
	gen_unref(fa->cur);
	pthread_mutex_destroy(&fa->mu);
	free(fa);
}

bool ward_fileaccess_set(ward_fileaccess_t *fa, ward_faa_t *p, const ward_config_t *cfg)
{
	struct gen *g = gen_new(p, cfg), *old;

	if (!g)
		return false; /* out of memory: the policy in force stays */
	pthread_mutex_lock(&fa->mu);
	old = fa->cur;
	g->id = ++fa->next_id;
	fa->cur = g;
	pthread_mutex_unlock(&fa->mu);
	/* every cached ALLOW and identity names an older generation now: none is reused */
	gen_unref(old);
	return true;
}

bool ward_fileaccess_active(ward_fileaccess_t *fa)
{
	struct gen *g = gen_get(fa);
	bool a = g->nitems > 0;

	gen_unref(g);
	return a;
}

bool ward_fileaccess_may_cover(ward_fileaccess_t *fa, const char *path)
{
	struct gen *g;
	bool c;

	if (fa == NULL)
		return false;
	g = gen_get(fa);
	c = g->nitems > 0 && ward_faa_path_may_apply(g->faa, path);
	gen_unref(g);
	return c;
}

bool ward_fileaccess_dir_may_watch(ward_fileaccess_t *fa, const char *dir)
{
	struct gen *g = gen_get(fa);
	bool w = ward_faa_dir_may_watch(g->faa, dir);

	gen_unref(g);
	return w;
}

/* An opener identity already in the table for executable key k (this policy generation). */
static bool ident_lookup(ward_fileaccess_t *fa, const struct gen *g, const ward_filekey_t *k,
                         ward_opener_t *o)
{
	size_t slot = key_hash(k) % WARD_FAA_IDENT_CACHE;
	bool hit;

	pthread_mutex_lock(&fa->mu);
	hit = fa->ident[slot].used && fa->ident[slot].gen == g->id && ward_filekey_eq(&fa->ident[slot].key, k);
	if (hit)
		*o = fa->ident[slot].o;
	pthread_mutex_unlock(&fa->mu);
	return hit;
}

/* The opener's identity, from the table or computed (outside the lock). */
static bool opener_get(ward_fileaccess_t *fa, struct gen *g, const ward_fa_request_t *rq,
                       ward_opener_t *o, ward_filekey_t *kout)
{
	ward_filekey_t k;
	char path[WARD_MAX_PATH];
	struct stat sb;
	size_t slot;
	ward_error_t e;
	int fd;

	if (ward_nowait_active()) {
		/* The event reader: opening the executable calls its filesystem (a FUSE server
		 * answers when it likes), so only an identity already in the table, found by
		 * the key the kernel has cached; anything else is a worker's. */
		if (!ward_proc_exe_stat_nosync(rq->pid, &sb)) {
			ward_nowait_mark_blocked();
			return false;
		}
		ward_filekey_from_stat(&sb, kout);
		if (ident_lookup(fa, g, kout, o)) {
			if (ward_proc_exe_path(rq->pid, path, sizeof(path)))
				snprintf(o->path, sizeof(o->path), "%s", path);
			return true;
		}
		ward_nowait_mark_blocked();
		return false;
	}
	/* Linux: the exe link opens the very inode the process runs (no path race) */
	if ((fd = ward_proc_exe_open(rq->pid, path, sizeof(path))) < 0 || fstat(fd, &sb) != 0) {
		if (fd >= 0)
			close(fd);
		return false;
	}
	ward_filekey_from_stat(&sb, &k);
	*kout = k;
	slot = key_hash(&k) % WARD_FAA_IDENT_CACHE;
	if (ident_lookup(fa, g, &k, o)) {
		close(fd);
		/* the path names the link the process was started by: take the current one */
		if (path[0] != '\0')
			snprintf(o->path, sizeof(o->path), "%s", path);
		return true;
	}
	pthread_mutex_unlock(&fa->mu);
	if (ward_opener_from_fd(&g->cfg, fd, path, o, &e) != WARD_OK) {
		close(fd);
		return false;
	}
	close(fd);
	pthread_mutex_lock(&fa->mu);
	fa->ident[slot].used = true;
	fa->ident[slot].gen = g->id;
	fa->ident[slot].key = k;
	fa->ident[slot].o = *o;
	pthread_mutex_unlock(&fa->mu);
	return true;
}

static bool log_budget(ward_fileaccess_t *fa)
{
	uint64_t t = now_ns();
	bool ok;

	pthread_mutex_lock(&fa->mu);
	fa->tokens += (double)(t - fa->last_ns) / 1e9 * WARD_FAA_LOG_PER_SEC;
	if (fa->tokens > WARD_FAA_LOG_BURST)
		fa->tokens = WARD_FAA_LOG_BURST;
	fa->last_ns = t;
	ok = fa->tokens >= 1.0;
	if (ok)
		fa->tokens -= 1.0;
	pthread_mutex_unlock(&fa->mu);
	if (!ok)
		atomic_fetch_add(&fa->log_dropped, 1);
	return ok;
}

void ward_fileaccess_decide(ward_fileaccess_t *fa, const ward_fa_request_t *rq,
                            ward_fa_verdict_t *out)
{
	struct gen *g = gen_get(fa);
	ward_opener_t *o = calloc(1, sizeof(*o));
	ward_faa_proc_t view, *pv = NULL;
	uint32_t access = rq->access ? rq->access : (WARD_FAA_READ | WARD_FAA_WRITE);
	uint64_t ph = rq->path ? fnv(rq->path) : 0, eh = 0;
	ward_filekey_t exe = { 0 };
	size_t slot = 0;

	memset(out, 0, sizeof(*out));
	snprintf(out->policy_version, sizeof(out->policy_version), "%s", ward_faa_version(g->faa));
	if (!ward_faa_path_may_apply(g->faa, rq->path)) {
		/* no item can cover this path whoever opens it: no need to know who does */
		atomic_fetch_add(&fa->decisions, 1);
		ward_faa_match(g->faa, rq->path, NULL, access, &out->r);
		goto done;
	}
	bool have_opener = o && opener_get(fa, g, rq, o, &exe);
	if (!have_opener && ward_nowait_blocked()) {
		/* the event reader's try: a worker decides it (nothing counted here) */
		free(o);
		gen_unref(g);
		return;
	}
	atomic_fetch_add(&fa->decisions, 1);
	if (have_opener) {
		ward_opener_view(o, &view);
		pv = &view;
		out->opener_ok = true;
		snprintf(out->opener_path, sizeof(out->opener_path), "%s", o->path);
		out->has_sha256 = o->has_sha256;
		memcpy(out->opener_sha256, o->sha256, 32);
		eh = fnv(o->path);
	} else {
		atomic_fetch_add(&fa->identity_errors, 1);
	}

	/* a remembered plain ALLOW for this file, opener and access */
	if (pv && rq->key_ok) {
		uint64_t h = key_hash(&rq->key) ^ (key_hash(&exe) * 31) ^ ph ^ (eh * 7) ^ access;
		slot = h % WARD_FAA_ALLOW_CACHE;
		pthread_mutex_lock(&fa->mu);
		const struct allow *a = &fa->allow[slot];
		if (a->used && a->gen == g->id && a->access == access && a->path_hash == ph &&
		    a->exe_hash == eh && ward_filekey_eq(&a->file, &rq->key) && ward_filekey_eq(&a->exe, &exe) &&
		    a->item >= 0 && (size_t)a->item < g->nitems) {
			int item = a->item;
			pthread_mutex_unlock(&fa->mu);
			ward_faa_match(g->faa, rq->path, pv, access, &out->r); /* cheap: no I/O */
			if (out->r.outcome == WARD_FAA_ALLOW && out->r.item == item) {
				out->cached = true;
				atomic_fetch_add(&fa->cache_hits, 1);
				atomic_fetch_add(&g->allowed[item], 1);
				goto done;
			}
		} else {
			pthread_mutex_unlock(&fa->mu);
		}
	}

	ward_faa_match(g->faa, rq->path, pv, access, &out->r);
	if (out->r.item >= 0 && (size_t)out->r.item < g->nitems) {
		switch (out->r.outcome) {
		case WARD_FAA_ALLOW: atomic_fetch_add(&g->allowed[out->r.item], 1); break;
		case WARD_FAA_AUDIT: atomic_fetch_add(&g->audited[out->r.item], 1); break;
		case WARD_FAA_DENY: atomic_fetch_add(&g->denied[out->r.item], 1); break;
		default: break;
		}
	}
	if (out->r.outcome == WARD_FAA_ALLOW && out->r.cacheable && pv && rq->key_ok) {
		pthread_mutex_lock(&fa->mu);
		fa->allow[slot] = (struct allow){ true, g->id, rq->key, exe, ph, eh, access, out->r.item };
		pthread_mutex_unlock(&fa->mu);
	}
	if (out->r.outcome == WARD_FAA_DENY || out->r.outcome == WARD_FAA_AUDIT)
		out->log = log_budget(fa);
done:
	/* r's strings point into the policy, which a reload may free once g is let go:
	 * the verdict keeps its own copies */
	snprintf(out->item, sizeof(out->item), "%s", out->r.item_name);
	snprintf(out->block_message, sizeof(out->block_message), "%s", out->r.block_message);
	snprintf(out->event_detail_url, sizeof(out->event_detail_url), "%s", out->r.event_detail_url);
	out->r.item_name = out->item;
	out->r.block_message = out->block_message;
	out->r.event_detail_url = out->event_detail_url;
	out->r.event_detail_text = "";
	free(o);
	gen_unref(g);
}

json_t *ward_fileaccess_status(ward_fileaccess_t *fa)
{
	struct gen *g = gen_get(fa);
	json_t *o = json_object(), *items = json_array();

	for (size_t i = 0; i < g->nitems; i++) {
		json_t *it = ward_faa_item_json(g->faa, i), *s = json_object();
		json_object_set(s, "name", json_object_get(it, "name"));
		json_object_set(s, "rule_type", json_object_get(it, "rule_type"));
		json_object_set(s, "audit_only", json_object_get(it, "audit_only"));
		json_object_set(s, "allow_read_access", json_object_get(it, "allow_read_access"));
		json_object_set_new(s, "paths", json_integer((json_int_t)json_array_size(json_object_get(it, "paths"))));
		json_object_set_new(s, "processes", json_integer((json_int_t)json_array_size(json_object_get(it, "processes"))));
		json_object_set_new(s, "allowed", json_integer((json_int_t)atomic_load(&g->allowed[i])));
		json_object_set_new(s, "audited", json_integer((json_int_t)atomic_load(&g->audited[i])));
		json_object_set_new(s, "denied", json_integer((json_int_t)atomic_load(&g->denied[i])));
		json_array_append_new(items, s);
		json_decref(it);
	}
	json_object_set_new(o, "active", json_boolean(g->nitems > 0));
	json_object_set_new(o, "version", g->faa ? json_string(ward_faa_version(g->faa)) : json_null());
	json_object_set_new(o, "items", items);
	json_object_set_new(o, "decisions", json_integer((json_int_t)atomic_load(&fa->decisions)));
	json_object_set_new(o, "cache_hits", json_integer((json_int_t)atomic_load(&fa->cache_hits)));
	json_object_set_new(o, "log_dropped", json_integer((json_int_t)atomic_load(&fa->log_dropped)));
	json_object_set_new(o, "identity_errors", json_integer((json_int_t)atomic_load(&fa->identity_errors)));
	gen_unref(g);
	return o;
}

/* ---------------------------------------------------------------- warden's own files */

static void add_path(json_t *paths, const char *p, bool prefix)
{
	if (!p || !*p || p[0] != '/')
		return;
	json_array_append_new(paths, prefix ? json_pack("{s:s, s:b}", "Path", p, "IsPrefix", 1)
	                                     : json_string(p));
}

static void add_item(json_t *items, const char *name, json_t *paths, json_t *procs)
{
	if (json_array_size(paths) == 0) {
		json_decref(paths);
		return;
	}
	json_object_set_new(items, name,
	                    json_pack("{s:o, s:{s:s, s:b, s:b, s:s}, s:O}", "Paths", paths, "Options",
	                              "RuleType", "PathsWithAllowedProcesses", "AllowReadAccess", 1,
	                              "AuditOnly", 0, "BlockMessage",
	                              "warden's own files: only wardend and wardenctl may change them",
	                              "Processes", procs));
}

ward_err_t ward_fileaccess_policy(const json_t *user, const ward_fa_self_t *self,
                                  ward_faa_t **out, ward_error_t *err)
{
	json_t *pol, *items, *procs;
	const char *name;
	json_t *v;
	ward_err_t rc;

	*out = NULL;
	if (user && json_is_object(json_object_get(user, "WatchItems")))
		json_object_foreach(json_object_get(user, "WatchItems"), name, v)
			if (strncmp(name, "warden:", 7) == 0)
				return ward_error_set(err, WARD_E_INVAL,
				                      "WatchItems.%s: names starting with \"warden:\" are warden's "
				                      "own built-in items", name);
	pol = user ? json_deep_copy(user) : json_pack("{s:s}", "Version", "builtin");
	if (!pol)
		return ward_error_set(err, WARD_E_NOMEM, "out of memory");
	items = json_object_get(pol, "WatchItems");
	if (!json_is_object(items)) {
		items = json_object();
		json_object_set_new(pol, "WatchItems", items);
	}
	procs = json_array();
	if (self && self->wardenctl && self->wardenctl[0] == '/') {
		uint8_t sha[32];
		char hex[65];
		ward_error_t e;
		int fd = open(self->wardenctl, O_RDONLY | O_CLOEXEC);
		if (fd >= 0 && ward_sha256_fd(fd, sha, &e) == WARD_OK) {
			ward_hex_encode(sha, 32, hex);
			json_array_append_new(procs, json_pack("{s:s, s:s}", "BinaryPath", self->wardenctl,
			                                       "Sha256", hex));
		}
		if (fd >= 0)
			close(fd);
	}
	if (self) {
		json_t *p;
		p = json_array();
		add_path(p, self->conf_file, false);
		add_path(p, self->faa_plist, false);
		if (self->profile_dir && self->profile_dir[0] == '/') {
			char d[WARD_MAX_PATH + 2];
			size_t n = strlen(self->profile_dir);
			snprintf(d, sizeof(d), "%s%s", self->profile_dir,
			         n && self->profile_dir[n - 1] == '/' ? "" : "/");
			add_path(p, d, true);
		}
		add_item(items, "warden:config", p, procs);
		p = json_array();
		add_path(p, self->db, true);
		add_path(p, self->lastgood, true); /* and its temporary file */
		add_item(items, "warden:state", p, procs);
		p = json_array();
		add_path(p, self->event_log, true); /* and its rotated siblings */
		add_item(items, "warden:eventlog", p, procs);
		p = json_array();
		for (size_t i = 0; self->yara && self->yara[i]; i++)
			add_path(p, self->yara[i], false);
		add_item(items, "warden:yara", p, procs);
		p = json_array();
		add_path(p, self->wardend, false);
		add_path(p, self->wardenctl, false);
		add_item(items, "warden:binaries", p, procs);
	}
	json_decref(procs);
	rc = ward_faa_parse(pol, NULL, out, err);
	json_decref(pol);
	return rc;
}
