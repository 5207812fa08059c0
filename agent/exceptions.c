/*
 * Exception requests in the agent (see exceptions.h). Handlers run on the main thread,
 * the only user of the store handle. The caller is always peer (SO_PEERCRED): no field
 * of a request names a user.
 */
#include "agent/exceptions.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent/control.h"
#include "agent/denials.h"
#include "agent/confine.h"
#include "agent/log.h"
#include "agent/reqfile.h"
#include "agent/yarascan.h"
#include "common/fdpath.h"
#include "agent/engine/trust.h"
#include "common/hex.h"
#include "rules/requests.h"
#include "common/platform.h"
#include "common/wake.h"

/*
 * A file read off the main thread for a control command (request, approve): the
 * command's handler starts it and answers WARD_CTL_LATER; the thread reads the file
 * (agent/reqfile.h) and queues the job as done; the main thread, woken by its wake pipe,
 * finishes it (the store is the main thread's) and sends the reply.
 */
enum job_kind { JOB_REQUEST, JOB_APPROVE };

struct job {
	struct job *next;
	enum job_kind kind;
	ward_exc_env_t *d;
	ward_ctl_peer_t peer;
	char path[PATH_MAX];
	char reason[WARD_MAX_REQUEST_TEXT + 1];
	/* approve: the decision, and the SHA-256 the request was filed for */
	ward_req_decision_t dec;
	char comment[WARD_MAX_REQUEST_TEXT + 1];
	char want_sha[2 * WARD_SHA256_LEN + 1];
	/* results */
	ward_err_t rc;
	ward_error_t err;
	ward_match_key_t key;
	char scan[256];
	char sha[2 * WARD_SHA256_LEN + 1];
};

struct ward_exc {
	ward_exc_env_t env;     /* what the module uses of the agent (ward_exc_bind) */
	ward_denials_t *denials;
	bool next_known;        /* next_expiry was read from the store */
	int64_t next_expiry;    /* earliest expiry of an approved request; 0 none */
	pthread_mutex_t mu;
	pthread_cond_t idle;
	struct job *running;    /* jobs whose thread runs (for the per-uid cap) */
	struct job *done;       /* jobs for the main thread to finish */
	unsigned nrunning;
	ward_wake_t wake;       /* a job is done */
};

ward_err_t ward_exc_create(ward_exc_t **out, ward_error_t *err)
{
	ward_exc_t *x = calloc(1, sizeof(*x));
	ward_err_t rc;

	*out = NULL;
	if (x == NULL)
		return ward_error_set(err, WARD_E_NOMEM, "exceptions: out of memory");
	if ((rc = ward_denials_create(&x->denials, err)) != WARD_OK) {
		free(x);
		return rc;
	}
	pthread_mutex_init(&x->mu, NULL);
	pthread_cond_init(&x->idle, NULL);
	if (!ward_wake_init(&x->wake)) {
		rc = ward_error_set(err, WARD_E_IO, "exceptions: pipe: %s", strerror(errno));
		ward_exc_destroy(x);
		return rc;
	}
	*out = x;
	return WARD_OK;
}

void ward_exc_bind(ward_exc_t *x, const ward_exc_env_t *env)
{
	x->env = *env;
	x->env.exc = x;
}

void ward_exc_destroy(ward_exc_t *x)
{
	if (x == NULL)
		return;
	ward_exc_stop(x);
	while (x->done != NULL) {
		struct job *j = x->done;
		x->done = j->next;
		free(j);
	}
	ward_wake_close(&x->wake);
	pthread_cond_destroy(&x->idle);
	pthread_mutex_destroy(&x->mu);
	ward_denials_destroy(x->denials);
	free(x);
}

void ward_exc_stop(ward_exc_t *x)
{
	if (x == NULL)
		return;
	/* each job ends within WARD_REQ_HASH_BUDGET_MS (and a scan's budget) */
	pthread_mutex_lock(&x->mu);
	while (x->nrunning > 0)
		pthread_cond_wait(&x->idle, &x->mu);
	pthread_mutex_unlock(&x->mu);
}

int ward_exc_wakefd(const ward_exc_t *x)
{
	return x ? ward_wake_fd(&x->wake) : -1;
}

void ward_exc_evlog_hook(void *arg, const ward_evrec_t *r)
{
	ward_exc_t *x = arg;
	char sha[2 * WARD_SHA256_LEN + 1] = "";

	if (x == NULL || r->v.decision != WARD_DENY || r->v.silent || !r->pinfo.ok)
		return;
	if (r->v.has_sha256)
		ward_hex_encode(r->v.sha256, WARD_SHA256_LEN, sha);
	ward_denials_note(x->denials, r->pinfo.uid, (int64_t)r->when.tv_sec, r->path, sha,
	                  r->v.reason);
}

/* ---------------------------------------------------------------- helpers */

static ward_exc_t *ready(ward_exc_env_t *d, ward_error_t *err)
{
	if (d->exc == NULL || d->store == NULL) {
		ward_error_set(err, WARD_E_UNSUPPORTED, "exception requests need the agent's rule store");
		return NULL;
	}
	return d->exc;
}

/* The peer's user name, or "uid:N". */
static void user_name(uid_t uid, char *buf, size_t cap)
{
	struct passwd pw, *res = NULL;
	char tmp[4096];

	if (getpwuid_r(uid, &pw, tmp, sizeof(tmp), &res) == 0 && res != NULL &&
	    strlen(res->pw_name) < cap && strlen(res->pw_name) <= 63 &&
	    ward_req_text_check(res->pw_name, 63, true, "name", NULL) == WARD_OK)
		snprintf(buf, cap, "%s", res->pw_name);
	else
		snprintf(buf, cap, "uid:%u", (unsigned)uid);
}

static gid_t group_gid(const char *name)
{
	struct group gr, *res = NULL;
	char tmp[8192];

	if (name == NULL || name[0] == '\0' ||
	    getgrnam_r(name, &gr, tmp, sizeof(tmp), &res) != 0 || res == NULL)
		return (gid_t)-1;
	return res->gr_gid;
}

/* Root, AdminGroup (peer->admin, decided at accept) or ExceptionPolicy.ApproverGroup. */
static bool is_approver(ward_exc_env_t *d, const ward_ctl_peer_t *peer)
{
	gid_t g;

	if (peer->uid == 0 || peer->admin)
		return true;
	g = group_gid(d->cfg->exception_policy.approver_group);
	/* the groups the kernel gave at accept (SO_PEERGROUPS), never /proc/<pid> */
	return g != (gid_t)-1 && ward_ctl_peer_in_group(peer, g);
}

static bool need_approver(ward_exc_env_t *d, const ward_ctl_peer_t *peer, const char *what,
                          ward_error_t *err)
{
	if (is_approver(d, peer))
		return true;
	ward_error_set(err, WARD_E_PERM, "%s needs root, a member of AdminGroup%s%s (uid %u asked)",
	               what, d->cfg->exception_policy.approver_group[0] ? " or of " : "",
	               d->cfg->exception_policy.approver_group, (unsigned)peer->uid);
	return false;
}

static void policy_of(const ward_exc_env_t *d, ward_req_policy_t *pol)
{
	pol->allowed_scopes = d->cfg->exception_policy.allowed_scopes;
	pol->max_expiry_s = d->cfg->exception_policy.max_expiry_s ? d->cfg->exception_policy.max_expiry_s
	                                                         : 30u * 86400;
}

static bool get_int(json_t *req, const char *name, bool required, int64_t min, int64_t max,
                    int64_t *out, ward_error_t *err)
{
	json_t *v = json_object_get(req, name);

	if (v == NULL || json_is_null(v)) {
		if (required)
			ward_error_set(err, WARD_E_INVAL, "%s: missing", name);
		return !required;
	}
	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
		ward_error_set(err, WARD_E_INVAL, "%s: expected an integer in [%lld, %lld]", name,
		               (long long)min, (long long)max);
		return false;
	}
	*out = json_integer_value(v);
	return true;
}

static bool get_bool(json_t *req, const char *name, bool *out, ward_error_t *err)
{
	json_t *v = json_object_get(req, name);

	*out = false;
	if (v == NULL || json_is_null(v))
		return true;
	if (!json_is_boolean(v)) {
		ward_error_set(err, WARD_E_INVAL, "%s: expected true or false", name);
		return false;
	}
	*out = json_is_true(v);
	return true;
}

/*
 * One line in the event log for a state change, through the log's writer thread like
 * every other line (rare, human-driven, never on a decision path).
 */
static void evlog_line(ward_exc_env_t *d, const char *action, json_t *o)
{
	if (o == NULL)
		return;
	json_object_set_new(o, "kind", json_string("exception"));
	json_object_set_new(o, "action", json_string(action));
	if (d->evlog == NULL || !ward_evlog_submit_json(d->evlog, o))
		log_warnx("event log: exception record (%s) dropped", action);
	json_decref(o);
}

/* After a change to rules: rebuild the index now (flushing both verdict caches) and
 * re-read the next expiry. */
static ward_err_t after_change(ward_exc_env_t *d, ward_error_t *err)
{
	bool changed;

	d->exc->next_known = false;
	return ward_engine_refresh(d->engine, d->store, d->cfg, false, &changed, err);
}

struct one {
	json_t *o;
	int64_t uid;
	char sha256[2 * WARD_SHA256_LEN + 1];
	ward_match_key_t key;
};

static int keep_one(const ward_request_t *r, void *arg)
{
	struct one *one = arg;

	json_decref(one->o);
	one->o = ward_request_to_json(r);
	one->uid = r->requester_uid;
	snprintf(one->sha256, sizeof(one->sha256), "%s", r->sha256);
	memset(&one->key, 0, sizeof(one->key));
	snprintf(one->key.sha256, sizeof(one->key.sha256), "%s", r->sha256);
	snprintf(one->key.cdhash, sizeof(one->key.cdhash), "%s", r->cdhash);
	snprintf(one->key.signing_id, sizeof(one->key.signing_id), "%s", r->signing_id);
	snprintf(one->key.team_id, sizeof(one->key.team_id), "%s", r->team_id);
	return 1;
}

/* Request id as JSON, read at now; uid >= 0 restricts it to that requester. */
static ward_err_t load_one(ward_exc_env_t *d, int64_t id, int64_t uid, struct one *one,
                           ward_error_t *err)
{
	ward_req_filter_t f;
	ward_err_t rc;

	memset(one, 0, sizeof(*one));
	ward_req_filter_init(&f);
	f.id = id;
	f.uid = uid;
	if ((rc = ward_requests_foreach(d->store, &f, time(NULL), keep_one, one, err)) != WARD_OK)
		return rc;
	if (one->o == NULL)
		return ward_error_set(err, WARD_E_NOTFOUND, uid >= 0 ? "you have no request %lld"
		                                                     : "no request %lld", (long long)id);
	return WARD_OK;
}

static const char *scan_name(ward_scanstep_t r, const char *detail, char *buf, size_t cap)
{
	switch (r) {
	case WARD_SCANSTEP_CLEAN: return "clean";
	case WARD_SCANSTEP_SKIPPED: return "skipped";
	case WARD_SCANSTEP_PENDING: return "pending";
	case WARD_SCANSTEP_UNSCANNED: return "not scanned";
	case WARD_SCANSTEP_BLOCK:
		snprintf(buf, cap, "match: %.200s", detail[0] ? detail : "a blocking YARA rule");
		for (char *p = buf; *p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				*p = ' ';
		return buf;
	}
	return "";
}

/* ---------------------------------------------------------------- user side */

/* The thread of a job: read the file, then (request) what the rules say of it. */
static void *job_run(void *arg)
{
	struct job *j = arg;
	ward_exc_env_t *d = j->d;
	ward_exc_t *x = d->exc;
	uint64_t deadline = ward_mono_ns() + (uint64_t)WARD_REQ_HASH_BUDGET_MS * 1000000ull;
	ward_identity_t *id = malloc(sizeof(*id));
	ward_snapshot_t *snap = NULL;
	char canon[PATH_MAX], scanbuf[256];
	const ward_rule_t *rule;
	ward_match_key_t keys[WARD_MAX_SLICES];
	ward_file_match_t fm;
	unsigned nkeys;
	struct stat sb;
	int fd = -1;

	j->rc = WARD_OK;
	if (id == NULL) {
		j->rc = ward_error_set(&j->err, WARD_E_NOMEM, "out of memory");
		goto done;
	}
	if ((fd = ward_reqfile_open(&j->peer, j->path, &sb, &j->err)) < 0) {
		j->rc = j->err.code;
		goto done;
	}
	if (!ward_fd_path(fd, canon, sizeof(canon))) /* the agent's own fd */
		canon[0] = '\0';
	snap = ward_engine_snapshot(d->engine, NULL);
	if (j->kind == JOB_REQUEST && canon[0] &&
	    ward_trust_check(&snap->cfg, fd, canon, NULL) == WARD_TRUST_OK) {
		j->rc = ward_error_set(&j->err, WARD_E_EXISTS, "%s is already allowed (a root-owned "
		                       "file under TrustedPaths)", j->path);
		goto done;
	}
	/* From here on the thread parses bytes the user chose (Mach-O, CMS). */
	ward_confine_thread(WARD_CONFINE_PARSER);
	if ((j->rc = ward_reqfile_identity(fd, &sb, deadline, id, &j->err)) != WARD_OK) {
		if (j->rc == WARD_E_TIMEOUT || j->rc == WARD_E_IO)
			ward_error_set(&j->err, j->rc, "%s: %s", j->path, j->err.msg);
		goto done;
	}
	/* A universal binary is named by what all its slices share (an approval must
	 * allow the whole file), and is decided as the agent decides it: the most
	 * restrictive slice (docs/rules.md). */
	nkeys = ward_match_keys_from_identity(id, keys);
	ward_match_key_common(keys, nkeys, &j->key);
	snprintf(j->sha, sizeof(j->sha), "%s", j->key.sha256);
	if (j->kind != JOB_REQUEST)
		goto done;
	/* Nothing to ask for when the file already runs, or a rule blocks it. */
	ward_index_match_keys(snap->ix, keys, nkeys, time(NULL), &fm);
	if ((rule = fm.rule) != NULL) {
		if (ward_policy_blocks(rule->policy))
			j->rc = ward_error_set(&j->err, WARD_E_PERM, "%s is blocked by %s rule %lld (%s %s); an "
			                       "exception cannot lift a block: ask your administrator", j->path,
			                       ward_rule_source_name(rule->source), (long long)rule->id,
			                       ward_rule_type_name(rule->type), ward_policy_name(rule->policy));
		else
			j->rc = ward_error_set(&j->err, WARD_E_EXISTS, "%s is already allowed by %s rule %lld "
			                       "(%s)%s", j->path, ward_rule_source_name(rule->source),
			                       (long long)rule->id, ward_rule_type_name(rule->type),
			                       rule->expires_at ? " until its expiry" : "");
		goto done;
	}
	/* The YARA verdict an approver sees (agent/yarascan.c), as an exec would be scanned. */
	if (d->yara != NULL) {
		/* the peer's pid is not passed: it names whoever holds it now */
		ward_event_t ev = {
			.kind = WARD_EV_EXEC, .fd = fd, .t_recv_ns = ward_mono_ns(), .key_ok = true,
		};
		ward_scan_out_t so;
		ward_filekey_from_stat(&sb, &ev.key);
		memset(&so, 0, sizeof(so));
		ward_scanstep_t sr = ward_yarascan_step(d->yara, &ev, j->path, id,
		                                        ev.t_recv_ns + (uint64_t)snap->cfg.scan_budget_ms * 1000000ull,
		                                        &so);
		snprintf(j->scan, sizeof(j->scan), "%s", scan_name(sr, so.what, scanbuf, sizeof(scanbuf)));
	}
done:
	ward_snapshot_unref(snap);
	free(id);
	if (fd >= 0)
		close(fd);
	pthread_mutex_lock(&x->mu);
	for (struct job **p = &x->running; *p; p = &(*p)->next)
		if (*p == j) {
			*p = j->next;
			break;
		}
	j->next = x->done;
	x->done = j;
	x->nrunning--;
	pthread_cond_broadcast(&x->idle);
	pthread_mutex_unlock(&x->mu);
	ward_wake_signal(&x->wake);
	return NULL;
}

/* Start j on its own thread: one per uid, and at most WARD_REQ_JOBS requests at once
 * (approvals are not held back by users' requests). */
static bool job_start(ward_exc_env_t *d, struct job *j, ward_error_t *err)
{
	ward_exc_t *x = d->exc;
	pthread_attr_t attr;
	pthread_t t;
	bool ok = true;

	j->d = d;
	pthread_mutex_lock(&x->mu);
	if (j->kind == JOB_REQUEST && x->nrunning >= WARD_REQ_JOBS) {
		ward_error_set(err, WARD_E_BUSY, "the agent is reading %u requested files already; try "
		               "again in a few seconds", x->nrunning);
		ok = false;
	}
	for (struct job *r = x->running; ok && r; r = r->next)
		if (r->peer.uid == j->peer.uid) {
			ward_error_set(err, WARD_E_BUSY, "a file you named is still being read; one at a time");
			ok = false;
		}
	if (ok) {
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		j->next = x->running;
		x->running = j;
		x->nrunning++;
		if (pthread_create(&t, &attr, job_run, j) != 0) {
			x->running = j->next;
			x->nrunning--;
			ward_error_set(err, WARD_E_NOMEM, "cannot start a thread to read the file");
			ok = false;
		}
		pthread_attr_destroy(&attr);
	}
	pthread_mutex_unlock(&x->mu);
	return ok;
}

json_t *ward_exc_cmd_request(void *ctx, const ward_ctl_peer_t *peer, json_t *req, ward_error_t *err)
{
	ward_exc_env_t *d = &((ward_exc_t *)ctx)->env;
	const char *path, *reason;
	struct job *j;

	if (ready(d, err) == NULL)
		return NULL;
	if (!d->cfg->exception_policy.enabled) {
		ward_error_set(err, WARD_E_PERM, "exception requests are disabled by "
		               "ExceptionPolicy.Enabled; ask your administrator");
		return NULL;
	}
	if (!ward_ctl_get_str(req, "path", true, &path, err) || !ward_ctl_get_str(req, "reason", true, &reason, err))
		return NULL;
	if (path[0] != '/' || strlen(path) >= PATH_MAX) {
		ward_error_set(err, WARD_E_INVAL, "path: must be absolute and shorter than %d bytes",
		               PATH_MAX);
		return NULL;
	}
	if (ward_req_text_check(reason, WARD_MAX_REQUEST_TEXT, true, "reason", err) != WARD_OK)
		return NULL;
	/* The rate limit before any byte of the file is read. */
	if (ward_request_check_limits(d->store, peer->uid, time(NULL), err) != WARD_OK)
		return NULL;
	if ((j = calloc(1, sizeof(*j))) == NULL) {
		ward_error_set(err, WARD_E_NOMEM, "out of memory");
		return NULL;
	}
	j->kind = JOB_REQUEST;
	j->peer = *peer;
	snprintf(j->path, sizeof(j->path), "%s", path);
	snprintf(j->reason, sizeof(j->reason), "%s", reason);
	if (!job_start(d, j, err)) {
		free(j);
		return NULL;
	}
	return WARD_CTL_LATER;
}

/* The main thread's half of a request: store it, log it, build the reply. */
static json_t *request_finish(ward_exc_env_t *d, struct job *j, ward_error_t *err)
{
	char name[64], host[256] = "";
	ward_request_t r;
	struct one one = { 0 };
	int64_t rid = 0;
	bool existing = false;
	json_t *o;

	if (j->rc != WARD_OK) {
		*err = j->err;
		return NULL;
	}
	memset(&r, 0, sizeof(r));
	user_name(j->peer.uid, name, sizeof(name));
	if (gethostname(host, sizeof(host) - 1) != 0)
		host[0] = '\0';
	r.scan_result = j->scan;
	r.requester_uid = j->peer.uid;
	r.requester_name = name;
	r.host = host;
	r.path = j->path;
	r.reason = j->reason;
	r.sha256 = j->key.sha256;
	r.cdhash = j->key.cdhash;
	r.team_id = j->key.team_id;
	r.signing_id = j->key.signing_id;
	r.proposed_scope = j->key.signing_id[0] && j->key.team_id[0] ? WARD_RT_SIGNINGID : WARD_RT_BINARY;
	if (ward_request_file(d->store, &r, time(NULL), &rid, &existing, err) != WARD_OK ||
	    load_one(d, rid, -1, &one, err) != WARD_OK)
		return NULL;
	if (!existing)
		evlog_line(d, "request", json_pack("{s:I, s:i, s:s, s:s, s:s, s:s, s:s}", "request_id",
		                                   (json_int_t)rid, "uid", (int)j->peer.uid, "who", name,
		                                   "path", j->path, "sha256", j->key.sha256, "reason",
		                                   j->reason, "proposed_scope",
		                                   ward_rule_type_name(r.proposed_scope)));
	o = json_pack("{s:o, s:b}", "request", one.o, "existing", existing);
	return o;
}

static int add_audit(const ward_audit_t *a, void *arg)
{
	json_t *o = ward_audit_to_json(a);

	if (o != NULL)
		json_array_append_new(arg, o);
	return 0;
}

json_t *ward_exc_cmd_status(void *ctx, const ward_ctl_peer_t *peer, json_t *req, ward_error_t *err)
{
	ward_exc_env_t *d = &((ward_exc_t *)ctx)->env;
	struct one one;
	int64_t id = 0;
	json_t *audit;

	if (ready(d, err) == NULL || !get_int(req, "id", true, 1, INT64_MAX, &id, err))
		return NULL;
	/* Someone else's request is "not found" to a requester: ids do not leak. */
	if (load_one(d, id, is_approver(d, peer) ? -1 : (int64_t)peer->uid, &one, err) != WARD_OK)
		return NULL;
	if ((audit = json_array()) == NULL)
		goto nomem;
	if (ward_audit_foreach(d->store, id, 0, 0, add_audit, audit, err) != WARD_OK) {
		json_decref(audit);
		json_decref(one.o);
		return NULL;
	}
	return json_pack("{s:o, s:o}", "request", one.o, "audit", audit);
nomem:
	json_decref(one.o);
	ward_error_set(err, WARD_E_NOMEM, "out of memory");
	return NULL;
}

struct page {
	json_t *arr;
	size_t limit;
	bool more;
	int64_t last_id;
};

static int add_request(const ward_request_t *r, void *arg)
{
	struct page *p = arg;
	json_t *o;

	if (json_array_size(p->arr) >= p->limit) {
		p->more = true;
		return 1;
	}
	if ((o = ward_request_to_json(r)) != NULL)
		json_array_append_new(p->arr, o);
	p->last_id = r->id;
	return 0;
}

json_t *ward_exc_cmd_requests(void *ctx, const ward_ctl_peer_t *peer, json_t *req, ward_error_t *err)
{
	ward_exc_env_t *d = &((ward_exc_t *)ctx)->env;
	ward_req_filter_t f;
	struct page p = { 0 };
	const char *status;
	int64_t after = 0, limit = WARD_REQUESTS_PAGE;
	bool mine;

	if (ready(d, err) == NULL || !get_bool(req, "mine", &mine, err) ||
	    !ward_ctl_get_str(req, "status", false, &status, err) ||
	    !get_int(req, "after_id", false, 0, INT64_MAX, &after, err) ||
	    !get_int(req, "limit", false, 1, WARD_REQUESTS_PAGE, &limit, err))
		return NULL;
	if (!mine && !need_approver(d, peer, "listing every request (use --mine for yours)", err))
		return NULL;
	ward_req_filter_init(&f);
	if (status != NULL && ward_req_state_parse(status, &f.state, err) != WARD_OK)
		return NULL;
	if (mine)
		f.uid = peer->uid;
	f.after_id = after;
	f.limit = (size_t)limit + 1; /* one more tells whether there is a next page */
	p.limit = (size_t)limit;
	p.last_id = after;
	if ((p.arr = json_array()) == NULL) {
		ward_error_set(err, WARD_E_NOMEM, "out of memory");
		return NULL;
	}
	if (ward_requests_foreach(d->store, &f, time(NULL), add_request, &p, err) != WARD_OK) {
		json_decref(p.arr);
		return NULL;
	}
	return json_pack("{s:o, s:b, s:I}", "requests", p.arr, "more", p.more, "last_id",
	                 (json_int_t)p.last_id);
}

/* ---------------------------------------------------------------- approver side */

/* The verdict the rules now give the request's file (what the next exec will see,
 * trusted paths and scans aside). */
static json_t *effective(ward_exc_env_t *d, const ward_match_key_t *key)
{
	ward_index_t *ix = NULL;
	ward_error_t e = { 0 };
	const ward_rule_t *r;
	json_t *o;

	if (ward_index_build_for_key(d->store, key, &ix, &e) != WARD_OK)
		return json_pack("{s:s}", "error", e.msg);
	r = ward_index_match(ix, key, time(NULL));
	if (r != NULL)
		o = json_pack("{s:s, s:I, s:s, s:s}", "decision",
		              ward_policy_blocks(r->policy) ? "DENY" : "ALLOW", "rule_id", (json_int_t)r->id,
		              "rule_type", ward_rule_type_name(r->type), "source",
		              ward_rule_source_name(r->source));
	else
		o = json_pack("{s:s, s:n}", "decision",
		              d->cfg->mode == WARD_MODE_LOCKDOWN ? "DENY" : "ALLOW", "rule_id");
	ward_index_free(ix);
	return o;
}

static void log_decision(ward_exc_env_t *d, const ward_ctl_peer_t *peer, const char *name,
                         const ward_req_decision_t *dec, const ward_req_outcome_t *out)
{
	char when[32];

	if (!dec->approve) {
		evlog_line(d, "deny", json_pack("{s:I, s:i, s:s, s:s}", "request_id", (json_int_t)dec->id,
		                                "uid", (int)peer->uid, "who", name, "reason",
		                                dec->text ? dec->text : ""));
		return;
	}
	ward_rule_time_format(out->expires_at, when);
	evlog_line(d, "approve", json_pack("{s:I, s:i, s:s, s:s, s:s, s:s, s:I, s:s, s:b}",
	                                   "request_id", (json_int_t)dec->id, "uid", (int)peer->uid,
	                                   "who", name, "scope", ward_rule_type_name(out->scope),
	                                   "identifier", out->identifier, "expires_at", when,
	                                   "rule_id", (json_int_t)out->rule_id, "comment",
	                                   dec->text ? dec->text : "", "forced", dec->force));
}

/* Apply decisions as peer; on success rebuild the index (flushing the caches) and log. */
static ward_err_t apply(ward_exc_env_t *d, const ward_ctl_peer_t *peer, ward_req_decision_t *ds,
                        size_t n, ward_req_outcome_t *outs, ward_error_t *err)
{
	ward_req_policy_t pol;
	ward_actor_t who;
	char name[64];
	ward_err_t rc;

	user_name(peer->uid, name, sizeof(name));
	who.uid = peer->uid;
	who.name = name;
	policy_of(d, &pol);
	if ((rc = ward_requests_decide(d->store, ds, n, &pol, &who, time(NULL), outs, err)) != WARD_OK)
		return rc;
	for (size_t i = 0; i < n; i++)
		log_decision(d, peer, name, &ds[i], &outs[i]);
	if ((rc = after_change(d, err)) != WARD_OK)
		log_warnx("exceptions: decided, but the rule index was not rebuilt: %s", err->msg);
	return rc;
}

/*
 * approve: the decision is checked here, the file the request names is read again off
 * the main thread (as the approver), and the approval applied when that is done: the
 * reply carries a "warning" when the file on disk no longer has the SHA-256 the user
 * asked for (changed, replaced, gone). The approval stands either way: its rule names
 * the requested identity, never the path.
 */
json_t *ward_exc_cmd_approve(void *ctx, const ward_ctl_peer_t *peer, json_t *req, ward_error_t *err)
{
	ward_exc_env_t *d = &((ward_exc_t *)ctx)->env;
	ward_req_decision_t dec = { .approve = true };
	const char *scope, *expires, *comment, *path;
	struct one one;
	struct job *j;

	if (ready(d, err) == NULL || !need_approver(d, peer, "approving a request", err) ||
	    !get_int(req, "id", true, 1, INT64_MAX, &dec.id, err) ||
	    !ward_ctl_get_str(req, "scope", false, &scope, err) || !ward_ctl_get_str(req, "expires", false, &expires, err) ||
	    !ward_ctl_get_str(req, "comment", false, &comment, err) || !get_bool(req, "force", &dec.force, err))
		return NULL;
	if (scope != NULL) {
		if (ward_req_scope_parse(scope, &dec.scope, err) != WARD_OK)
			return NULL;
		dec.has_scope = true;
	}
	if (expires != NULL && ward_rule_time_parse(expires, time(NULL), &dec.expires_at, err) != WARD_OK)
		return NULL;
	if (comment != NULL && ward_req_text_check(comment, WARD_MAX_REQUEST_TEXT, false, "comment", err) != WARD_OK)
		return NULL;
	if (load_one(d, dec.id, -1, &one, err) != WARD_OK)
		return NULL;
	if ((j = calloc(1, sizeof(*j))) == NULL) {
		json_decref(one.o);
		ward_error_set(err, WARD_E_NOMEM, "out of memory");
		return NULL;
	}
	path = json_string_value(json_object_get(one.o, "path"));
	j->kind = JOB_APPROVE;
	j->peer = *peer;
	j->dec = dec;
	if (comment != NULL) {
		snprintf(j->comment, sizeof(j->comment), "%s", comment);
		j->dec.text = j->comment;
	}
	snprintf(j->path, sizeof(j->path), "%s", path ? path : "");
	snprintf(j->want_sha, sizeof(j->want_sha), "%s", one.sha256);
	json_decref(one.o);
	if (!job_start(d, j, err)) {
		free(j);
		return NULL;
	}
	return WARD_CTL_LATER;
}

static json_t *approve_finish(ward_exc_env_t *d, struct job *j, ward_error_t *err)
{
	ward_req_outcome_t out = { 0 };
	struct one one;
	char when[32];
	json_t *o;

	if (apply(d, &j->peer, &j->dec, 1, &out, err) != WARD_OK ||
	    load_one(d, j->dec.id, -1, &one, err) != WARD_OK)
		return NULL;
	ward_rule_time_format(out.rule_expires_at, when);
	o = json_pack("{s:o, s:{s:I, s:s, s:s, s:s, s:s}, s:o}", "request", one.o, "rule", "id",
	              (json_int_t)out.rule_id, "type", ward_rule_type_name(out.scope), "identifier",
	              out.identifier, "source", "exception", "expires_at", when, "effective",
	              effective(d, &one.key));
	if (o == NULL)
		return NULL;
	if (j->rc != WARD_OK)
		json_object_set_new(o, "warning", json_sprintf("the file the request names cannot be "
		                    "read now (%s): the rule allows the requested SHA-256 %s only",
		                    j->err.msg, j->want_sha));
	else if (strcmp(j->sha, j->want_sha) != 0)
		json_object_set_new(o, "warning", json_sprintf("%s no longer has the requested SHA-256 "
		                    "(%s on disk now, %s requested): the rule allows the requested file "
		                    "only", j->path, j->sha, j->want_sha));
	return o;
}

void ward_exc_jobs_finish(ward_exc_t *x)
{
	ward_exc_env_t *d = x ? &x->env : NULL;
	struct job *list, *j;

	if (x == NULL)
		return;
	ward_wake_drain(&x->wake);
	pthread_mutex_lock(&x->mu);
	list = x->done;
	x->done = NULL;
	pthread_mutex_unlock(&x->mu);
	while ((j = list) != NULL) {
		ward_error_t err = { 0 };
		json_t *o;
		list = j->next;
		o = j->kind == JOB_REQUEST ? request_finish(d, j, &err) : approve_finish(d, j, &err);
		if (o == NULL && err.code == WARD_OK)
			ward_error_set(&err, WARD_E_NOMEM, "out of memory");
		if (d->ctl == NULL || !ward_ctl_reply_later(d->ctl, j->peer.conn, o, &err))
			log_debug("exceptions: the client of a %s went away before its reply",
			          j->kind == JOB_REQUEST ? "request" : "approval");
		free(j);
	}
}

json_t *ward_exc_cmd_deny(void *ctx, const ward_ctl_peer_t *peer, json_t *req, ward_error_t *err)
{
	ward_exc_env_t *d = &((ward_exc_t *)ctx)->env;
	ward_req_decision_t dec = { .approve = false };
	ward_req_outcome_t out = { 0 };
	struct one one;

	if (ready(d, err) == NULL || !need_approver(d, peer, "denying a request", err) ||
	    !get_int(req, "id", true, 1, INT64_MAX, &dec.id, err) ||
	    !ward_ctl_get_str(req, "reason", true, &dec.text, err))
		return NULL;
	if (apply(d, peer, &dec, 1, &out, err) != WARD_OK || load_one(d, dec.id, -1, &one, err) != WARD_OK)
		return NULL;
	return json_pack("{s:o}", "request", one.o);
}

json_t *ward_exc_cmd_decide(void *ctx, const ward_ctl_peer_t *peer, json_t *req, ward_error_t *err)
{
	ward_exc_env_t *d = &((ward_exc_t *)ctx)->env;
	json_t *arr = json_object_get(req, "decisions"), *ids, *o = NULL;
	ward_req_decision_t *ds = NULL;
	ward_req_outcome_t *outs = NULL;
	size_t n, approved = 0;
	int64_t now = time(NULL);

	if (ready(d, err) == NULL || !need_approver(d, peer, "deciding requests", err))
		return NULL;
	if (!json_is_array(arr) || (n = json_array_size(arr)) == 0) {
		ward_error_set(err, WARD_E_INVAL, "decisions: expected a non-empty array");
		return NULL;
	}
	if (n > WARD_MAX_BULK_DECISIONS) {
		ward_error_set(err, WARD_E_LIMIT, "decisions: %zu, at most %u", n, WARD_MAX_BULK_DECISIONS);
		return NULL;
	}
	if ((ds = calloc(n, sizeof(*ds))) == NULL || (outs = calloc(n, sizeof(*outs))) == NULL) {
		ward_error_set(err, WARD_E_NOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		ward_error_t e = { 0 };
		json_t *line = json_object_get(json_array_get(arr, i), "line");
		ward_err_t rc = ward_req_decision_from_json(json_array_get(arr, i), now, &ds[i], &e);
		if (rc != WARD_OK) {
			if (json_is_integer(line) && json_integer_value(line) > 0 &&
			    json_integer_value(line) <= 1000000)
				ward_error_set(err, rc, "line %lld: %s", (long long)json_integer_value(line), e.msg);
			else
				ward_error_set(err, rc, "decisions[%zu]: %s", i, e.msg);
			goto out;
		}
	}
	if (apply(d, peer, ds, n, outs, err) != WARD_OK)
		goto out;
	ids = json_array();
	for (size_t i = 0; i < n; i++) {
		json_array_append_new(ids, json_integer(ds[i].id));
		approved += ds[i].approve;
	}
	o = json_pack("{s:I, s:I, s:o}", "approved", (json_int_t)approved, "denied",
	              (json_int_t)(n - approved), "ids", ids);
out:
	free(ds);
	free(outs);
	return o;
}

struct mine {
	json_t *by_sha;   /* sha256 -> {id, state} of the caller's newest request */
};

static int add_mine(const ward_request_t *r, void *arg)
{
	struct mine *m = arg;

	json_object_set_new(m->by_sha, r->sha256, json_pack("{s:I, s:s}", "id", (json_int_t)r->id,
	                                                    "state", ward_req_state_name(r->state)));
	return 0;
}

json_t *ward_exc_cmd_blocked(void *ctx, const ward_ctl_peer_t *peer, json_t *req, ward_error_t *err)
{
	ward_exc_env_t *d = &((ward_exc_t *)ctx)->env;
	ward_req_filter_t f;
	struct mine m = { 0 };
	json_t *list, *e;
	size_t i;

	(void)req;
	if (ready(d, err) == NULL)
		return NULL;
	list = ward_denials_json(d->exc->denials, peer->uid);
	if (list == NULL || (m.by_sha = json_object()) == NULL) {
		json_decref(list);
		ward_error_set(err, WARD_E_NOMEM, "out of memory");
		return NULL;
	}
	ward_req_filter_init(&f);
	f.uid = peer->uid;
	if (ward_requests_foreach(d->store, &f, time(NULL), add_mine, &m, err) != WARD_OK) {
		json_decref(list);
		json_decref(m.by_sha);
		return NULL;
	}
	json_array_foreach(list, i, e) {
		const char *sha = json_string_value(json_object_get(e, "sha256"));
		json_t *req_of = sha ? json_object_get(m.by_sha, sha) : NULL;
		json_object_set(e, "request", req_of ? req_of : json_null());
		if (!d->cfg->exception_policy.enabled)
			json_object_set_new(e, "request_hint", json_null());
	}
	json_decref(m.by_sha);
	return json_pack("{s:o, s:i, s:b}", "denials", list, "uid", (int)peer->uid,
	                 "requests_enabled", d->cfg->exception_policy.enabled);
}

json_t *ward_exc_cmd_audit(void *ctx, const ward_ctl_peer_t *peer, json_t *req, ward_error_t *err)
{
	ward_exc_env_t *d = &((ward_exc_t *)ctx)->env;
	int64_t rid = 0, after = 0, limit = 1000;
	json_t *arr;

	if (ready(d, err) == NULL || !need_approver(d, peer, "reading the audit trail", err) ||
	    !get_int(req, "request_id", false, 1, INT64_MAX, &rid, err) ||
	    !get_int(req, "after_id", false, 0, INT64_MAX, &after, err) ||
	    !get_int(req, "limit", false, 1, 1000, &limit, err))
		return NULL;
	if ((arr = json_array()) == NULL) {
		ward_error_set(err, WARD_E_NOMEM, "out of memory");
		return NULL;
	}
	if (ward_audit_foreach(d->store, rid, after, (size_t)limit, add_audit, arr, err) != WARD_OK) {
		json_decref(arr);
		return NULL;
	}
	return json_pack("{s:o}", "audit", arr);
}

/* ---------------------------------------------------------------- expiry */

void ward_exc_tick(ward_exc_t *x)
{
	ward_exc_env_t *d = x ? &x->env : NULL;
	ward_error_t err = { 0 };
	int64_t now = time(NULL), ids[64];
	size_t n;

	if (x == NULL || d->store == NULL)
		return;
	if (!x->next_known) {
		if (ward_requests_next_expiry(d->store, &x->next_expiry, &err) != WARD_OK) {
			log_warnx("exceptions: %s", err.msg);
			return;
		}
		x->next_known = true;
	}
	if (x->next_expiry == 0 || now < x->next_expiry)
		return;
	/* The rule already stopped matching at its expiry (the index checks it on every
	 * decision); this records the state change. */
	if (ward_requests_sweep(d->store, now, ids, sizeof(ids) / sizeof(ids[0]), &n, &err) != WARD_OK) {
		log_warnx("exceptions: recording expiries: %s", err.msg);
		return;
	}
	for (size_t i = 0; i < n && i < sizeof(ids) / sizeof(ids[0]); i++)
		evlog_line(d, "expire", json_pack("{s:I, s:n, s:s}", "request_id", (json_int_t)ids[i],
		                                  "uid", "who", "wardend"));
	if (n > sizeof(ids) / sizeof(ids[0]))  /* the audit trail has each of them */
		evlog_line(d, "expire", json_pack("{s:I, s:n, s:s}", "more_requests",
		                                  (json_int_t)(n - sizeof(ids) / sizeof(ids[0])), "uid",
		                                  "who", "wardend"));
	x->next_known = false;
}
