/*
 * warden-sync: speaks Santa's sync protocol to the fleet's sync server for wardend,
 * which never touches the network (docs/sync.md, warden-sync(8)).
 *
 * Runs unprivileged (SyncUser); talks to wardend only through the control socket. One
 * sync: ask wardend for the sync keys and machine facts; preflight; eventupload of the
 * spooled events in batches (each batch removed from the spool only once the server
 * accepted it); ruledownload page by page until the server's cursor runs out, every
 * page checked as a rule import; hand the rules and the server's settings to wardend,
 * which applies them in one transaction; postflight. Any failure before the commit
 * changes nothing on the machine.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "agent/ctl/client.h"
#include "agent/sync/http.h"
#include "agent/sync/proto.h"
#include "agent/version.h"
#include "profiles/plist.h"

#define CTL_TIMEOUT_MS  60000
#define CTL_CHUNK_BYTES (48u << 10) /* rules per sync-rules message: under WARD_MAX_CTL_MESSAGE */

static const char usage[] =
	"usage: warden-sync [--once] [--clean] [--json] [--socket PATH] [--retries N]\n"
	"                   [--backoff-ms MS] [--timeout S]\n"
	"       warden-sync --help | --version\n"
	"\n"
	"Speaks Santa's sync protocol (preflight, eventupload, ruledownload, postflight) to\n"
	"the server in SyncBaseURL for wardend, over HTTPS, and hands wardend the rules and\n"
	"settings it receives through the control socket. Runs as SyncUser, never as root.\n"
	"\n"
	"  --once          one sync, each stage printed, then exit (0: synced, 1: failed)\n"
	"  --clean         ask the server for a clean sync (request_clean_sync): the synced\n"
	"                  rules are replaced by what it sends\n"
	"  --json          with --once: print the outcome as one JSON object\n"
	"  --socket PATH   wardend's control socket (default $WARDEN_SOCKET or\n"
	"                  /run/warden/control.sock)\n"
	"  --retries N     retries of a request after a connection failure, 429 or 5xx\n"
	"                  (default 5)\n"
	"  --backoff-ms MS first wait between retries, doubling each time (default 1000)\n"
	"  --timeout S     limit of one HTTP request in seconds (default 300)\n"
	"  --help          this text\n"
	"  --version       print the version\n"
	"\n"
	"Without --once it runs as a service: a sync at start, then every FullSyncInterval\n"
	"seconds (the server may set it), sooner after a failure (backoff). Exit status: 0\n"
	"success, 1 failure, 2 usage error.\n";

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

struct run {
	const char *sock;
	bool clean, json, once;
	unsigned retries, backoff_ms, timeout_s;
	/* filled by a sync */
	json_t *stages;          /* [{"stage", "ok", ...}] */
	char failed_stage[32];
	ward_error_t err;
	uint32_t interval_s;
};

static void say(struct run *r, const char *stage, json_t *detail, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void say(struct run *r, const char *stage, json_t *detail, const char *fmt, ...)
{
	va_list ap;
	char line[512];

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (detail == NULL)
		detail = json_object();
	json_object_set_new(detail, "stage", json_string(stage));
	json_object_set_new(detail, "message", json_string(line));
	json_array_append_new(r->stages, detail);
	if (!r->json && r->once) {
		printf("%-13s %s\n", stage, line);
		fflush(stdout);
	} else if (!r->once) {
		fprintf(stderr, "warden-sync: %s: %s\n", stage, line);
	}
}

static ward_err_t fail(struct run *r, const char *stage, ward_err_t rc, const ward_error_t *e)
{
	snprintf(r->failed_stage, sizeof(r->failed_stage), "%s", stage);
	r->err = *e;
	r->err.code = rc;
	return rc;
}

/* Put "what: " before err's message (the message is copied first: err is the output). */
static ward_err_t prefix(ward_error_t *err, ward_err_t rc, const char *what)
{
	char msg[WARD_ERRMSG_MAX];

	snprintf(msg, sizeof(msg), "%s", err->msg);
	return ward_error_set(err, rc, "%s: %s", what, msg);
}

static json_t *ctl(struct run *r, json_t *req, ward_error_t *err)
{
	return ward_ctl_client_call(r->sock, req, CTL_TIMEOUT_MS, err);
}

static void read_line(const char *path, const char *prefix, char *out, size_t cap)
{
	FILE *f = fopen(path, "re");
	char line[512];

	out[0] = '\0';
	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		size_t pl = prefix ? strlen(prefix) : 0;
		if (prefix && strncmp(line, prefix, pl) != 0)
			continue;
		char *v = line + pl;
		v[strcspn(v, "\r\n")] = '\0';
		if (*v == '"') {
			v++;
			v[strcspn(v, "\"")] = '\0';
		}
		snprintf(out, cap, "%.*s", (int)(cap - 1), v);
		break;
	}
	fclose(f);
}

/* MachineID, else MachineIDPlist's MachineIDKey, else /etc/machine-id (as wardend read it). */
static ward_err_t machine_id(const json_t *cfg, const char *fallback, char *out, size_t cap,
                             ward_error_t *err)
{
	const char *id = json_string_value(json_object_get(cfg, "MachineID"));
	const char *plist = json_string_value(json_object_get(cfg, "MachineIDPlist"));
	const char *key = json_string_value(json_object_get(cfg, "MachineIDKey"));

	if (id && *id) {
		snprintf(out, cap, "%.*s", (int)(cap - 1), id);
		return WARD_OK;
	}
	if (plist && *plist) {
		FILE *f = fopen(plist, "re");
		char buf[65536];
		size_t n;
		json_t *root = NULL;
		ward_err_t rc;
		if (f == NULL)
			return ward_error_set(err, WARD_E_IO, "MachineIDPlist %s: %s", plist, strerror(errno));
		n = fread(buf, 1, sizeof(buf), f);
		fclose(f);
		if (n == sizeof(buf))
			return ward_error_set(err, WARD_E_LIMIT, "MachineIDPlist %s: larger than 64 KiB", plist);
		if ((rc = ward_plist_parse(buf, n, &root, NULL, err)) != WARD_OK)
			return rc;
		id = json_string_value(json_object_get(root, key && *key ? key : "MachineID"));
		if (id == NULL || *id == '\0' || strlen(id) > WARD_MAX_MACHINE_ID ||
		    strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:@-") != strlen(id)) {
			json_decref(root);
			return ward_error_set(err, WARD_E_INVAL, "MachineIDPlist %s: no usable string under %s",
			                      plist, key && *key ? key : "MachineID");
		}
		snprintf(out, cap, "%.*s", (int)(cap - 1), id);
		json_decref(root);
		return WARD_OK;
	}
	if (fallback == NULL || *fallback == '\0')
		return ward_error_set(err, WARD_E_NOTFOUND, "no MachineID, no MachineIDPlist and no /etc/machine-id");
	snprintf(out, cap, "%.*s", (int)(cap - 1), fallback);
	return WARD_OK;
}

/* Stage 1: preflight. */
static ward_err_t preflight(struct run *r, ward_http_t *h, const json_t *info, const char *mid,
                            ward_sync_settings_t *set, ward_error_t *err)
{
	char host[256] = "", osv[128], model[128];
	struct utsname u;
	json_t *req, *resp_obj = NULL;
	const json_t *counts = json_object_get(info, "rule_counts");
	const char *owner = json_string_value(json_object_get(json_object_get(info, "sync"), "MachineOwner"));
	char *resp;
	size_t len;
	ward_err_t rc;

	gethostname(host, sizeof(host) - 1);
	uname(&u);
	read_line("/etc/os-release", "VERSION_ID=", osv, sizeof(osv));
	if (osv[0] == '\0')
		snprintf(osv, sizeof(osv), "%s", u.release);
	read_line("/sys/class/dmi/id/product_name", NULL, model, sizeof(model));
	req = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:O, s:b, s:s, s:s}",
	                "serial_num", json_string_value(json_object_get(info, "serial")),
	                "hostname", host, "os_version", osv, "os_build", u.release,
	                "model_identifier", model[0] ? model : u.machine, "santa_version", WARD_VERSION,
	                "primary_user", owner ? owner : "",
	                "client_mode", json_object_get(info, "client_mode"),
	                "request_clean_sync", r->clean,
	                "rules_hash", json_string_value(json_object_get(info, "rules_hash")),
	                "machine_id", mid);
	if (req == NULL)
		return ward_error_set(err, WARD_E_MALFORMED, "preflight: wardend's sync-config is incomplete");
	json_object_update(req, (json_t *)counts);
	rc = ward_http_post(h, "preflight", req, &resp, &len, err);
	json_decref(req);
	if (rc != WARD_OK)
		return rc;
	rc = ward_sync_parse_object(resp, len, &resp_obj, err);
	free(resp);
	if (rc == WARD_OK)
		rc = ward_sync_settings_from_json(resp_obj, set, err);
	json_decref(resp_obj);
	if (rc != WARD_OK)
		return prefix(err, rc, "preflight");
	/* The server decides the sync type; a clean sync we asked for stands if it says nothing. */
	if (r->clean && set->sync_type == WARD_SYNC_NORMAL && json_object_get(resp_obj, "sync_type") == NULL)
		set->sync_type = WARD_SYNC_CLEAN;
	return WARD_OK;
}

/* Stage 2: eventupload. Each batch leaves the spool once the server said 200. At most
 * what was spooled when the sync began (and one batch more): a storm of new events
 * waits for the next sync instead of holding this one in the upload stage. */
static ward_err_t eventupload(struct run *r, ward_http_t *h, uint32_t batch, uint64_t depth,
                              uint64_t *uploaded, ward_error_t *err)
{
	json_int_t after = 0;

	*uploaded = 0;
	while (*uploaded < depth + batch) {
		json_t *reply, *events, *e, *ids, *body;
		size_t i, n;
		char *resp;
		size_t len;
		ward_err_t rc;

		reply = ctl(r, json_pack("{s:s, s:I, s:I}", "cmd", "sync-events", "max", (json_int_t)batch,
		                         "after", after), err);
		if (reply == NULL)
			return WARD_E_IO;
		events = json_object_get(reply, "events");
		if ((n = json_array_size(events)) == 0) {
			json_decref(reply);
			return WARD_OK;
		}
		ids = json_array();
		body = json_array();
		json_array_foreach(events, i, e) {
			json_array_append(ids, json_object_get(e, "id"));
			json_array_append(body, json_object_get(e, "event"));
			after = json_integer_value(json_object_get(e, "id"));
		}
		json_decref(reply);
		body = json_pack("{s:o}", "events", body);
		/* The answer's content is not used (bundle requests are not supported): the
		 * 200 is the acceptance. */
		rc = ward_http_post(h, "eventupload", body, &resp, &len, err);
		json_decref(body);
		if (rc == WARD_OK)
			free(resp);
		if (rc != WARD_OK) {
			json_decref(ids);
			return rc;
		}
		reply = ctl(r, json_pack("{s:s, s:o}", "cmd", "sync-ack", "ids", ids), err);
		if (reply == NULL)
			return WARD_E_IO;
		json_decref(reply);
		*uploaded += n;
	}
	return WARD_OK;
}

/* Stage 3: ruledownload, every page, into batch. */
static ward_err_t ruledownload(struct run *r, ward_http_t *h, ward_rule_batch_t *batch,
                               size_t *pages, ward_error_t *err)
{
	json_t *cursor = NULL;
	size_t index = 0;

	(void)r;
	*pages = 0;
	for (;;) {
		json_t *req = json_object(), *next = NULL;
		char *resp;
		size_t len;
		ward_err_t rc;

		if (cursor)
			json_object_set(req, "cursor", cursor);
		rc = ward_http_post(h, "ruledownload", req, &resp, &len, err);
		json_decref(req);
		if (rc != WARD_OK) {
			json_decref(cursor);
			return rc;
		}
		rc = ward_sync_parse_rules(resp, len, batch, &index, &next, err);
		free(resp);
		if (rc != WARD_OK) {
			json_decref(cursor);
			char what[48];
			snprintf(what, sizeof(what), "ruledownload page %zu", *pages + 1);
			return prefix(err, rc, what);
		}
		(*pages)++;
		if (next != NULL && cursor != NULL && json_equal(next, cursor)) {
			json_decref(next);
			json_decref(cursor);
			return ward_error_set(err, WARD_E_MALFORMED, "ruledownload page %zu: the server sent "
			                      "the same cursor again (a loop)", *pages);
		}
		json_decref(cursor);
		cursor = next;
		if (cursor == NULL)
			return WARD_OK;
		if (*pages >= WARD_MAX_SYNC_PAGES) {
			json_decref(cursor);
			return ward_error_set(err, WARD_E_LIMIT, "ruledownload: more than %u pages",
			                      WARD_MAX_SYNC_PAGES);
		}
	}
}

/* Hand the rules and settings to wardend: begin, rules in chunks, commit. */
static json_t *commit(struct run *r, ward_rule_batch_t *batch, const ward_sync_settings_t *set,
                      ward_error_t *err)
{
	const ward_rule_t *rules;
	json_t *reply, *chunk = json_array(), *tok;
	size_t n, bytes = 0;

	rules = ward_rule_batch_rules(batch, &n);
	if ((reply = ctl(r, json_pack("{s:s}", "cmd", "sync-begin"), err)) == NULL) {
		json_decref(chunk);
		return NULL;
	}
	tok = json_incref(json_object_get(reply, "token"));
	json_decref(reply);
	for (size_t i = 0; i <= n; i++) {
		json_t *o = i < n ? ward_rule_santa_json(&rules[i]) : NULL;
		size_t sz = 0;
		if (o) {
			char *t = json_dumps(o, JSON_COMPACT);
			sz = t ? strlen(t) + 1 : 0;
			free(t);
		}
		if (json_array_size(chunk) > 0 && (o == NULL || bytes + sz > CTL_CHUNK_BYTES)) {
			reply = ctl(r, json_pack("{s:s, s:O, s:o}", "cmd", "sync-rules", "token", tok, "rules", chunk), err);
			chunk = json_array();
			bytes = 0;
			if (reply == NULL) {
				json_decref(o);
				json_decref(chunk);
				json_decref(tok);
				return NULL;
			}
			json_decref(reply);
		}
		if (o) {
			json_array_append_new(chunk, o);
			bytes += sz;
		}
	}
	json_decref(chunk);
	reply = ctl(r, json_pack("{s:s, s:o, s:o}", "cmd", "sync-commit", "token", tok, "settings",
	                         ward_sync_settings_to_json(set)), err);
	return reply;
}

static ward_err_t sync_once(struct run *r)
{
	ward_error_t err = { 0 };
	json_t *info, *cfg, *done;
	ward_http_t *h = NULL;
	ward_rule_batch_t *batch = NULL;
	ward_sync_settings_t set;
	char mid[WARD_MAX_MACHINE_ID + 1];
	uint64_t uploaded = 0;
	size_t pages = 0, n;
	ward_err_t rc;
	char *resp;
	size_t len;

	r->failed_stage[0] = '\0';
	json_decref(r->stages);
	r->stages = json_array();
	if ((info = ctl(r, json_pack("{s:s}", "cmd", "sync-config"), &err)) == NULL)
		return fail(r, "agent", err.code, &err);
	cfg = json_object_get(info, "sync");
	r->interval_s = (uint32_t)json_integer_value(json_object_get(info, "full_sync_interval"));
	const char *url = json_string_value(json_object_get(cfg, "SyncBaseURL"));
	if (url == NULL || *url == '\0') {
		json_decref(info);
		ward_error_set(&err, WARD_E_INVAL, "SyncBaseURL is not set: no sync server to talk to");
		return fail(r, "agent", WARD_E_INVAL, &err);
	}
	if ((rc = machine_id(cfg, json_string_value(json_object_get(info, "machine_id_file")), mid,
	                     sizeof(mid), &err)) != WARD_OK) {
		json_decref(info);
		return fail(r, "agent", rc, &err);
	}
	ward_http_opts_t o = {
		.base_url = url, .machine_id = mid,
		.client_cert = json_string_value(json_object_get(cfg, "ClientAuthCertificateFile")),
		.client_key = json_string_value(json_object_get(cfg, "ClientAuthKeyFile")),
		.server_roots = json_string_value(json_object_get(cfg, "ServerAuthRootsFile")),
		.retries = r->retries, .backoff_ms = r->backoff_ms, .timeout_s = r->timeout_s,
	};
	char headers[WARD_MAX_SYNC_HEADERS + 1] = "";
	{
		const char *k;
		json_t *v;
		size_t used = 0;
		json_object_foreach(json_object_get(cfg, "SyncExtraHeaders"), k, v) {
			int w = snprintf(headers + used, sizeof(headers) - used, "%s: %s\n", k,
			                 json_string_value(v) ? json_string_value(v) : "");
			if (w < 0 || (size_t)w >= sizeof(headers) - used)
				break;
			used += (size_t)w;
		}
	}
	o.extra_headers = headers;
	if ((rc = ward_http_create(&o, &h, &err)) != WARD_OK) {
		json_decref(info);
		return fail(r, "agent", rc, &err);
	}

	if ((rc = preflight(r, h, info, mid, &set, &err)) != WARD_OK) {
		fail(r, "preflight", rc, &err);
		goto out;
	}
	if (set.has_full_sync_interval)
		r->interval_s = set.full_sync_interval_s;
	say(r, "preflight", json_pack("{s:s, s:s}", "sync_type", ward_sync_type_name(set.sync_type),
	                              "machine_id", mid),
	    "ok: machine %s, %s sync%s%s, batch %u", mid, ward_sync_type_name(set.sync_type),
	    set.has_mode ? ", mode " : "", set.has_mode ? ward_mode_name(set.mode) : "",
	    set.has_batch_size ? set.batch_size :
	    (unsigned)json_integer_value(json_object_get(info, "batch_size")));

	if ((rc = eventupload(r, h, set.has_batch_size ? set.batch_size :
	                      (uint32_t)json_integer_value(json_object_get(info, "batch_size")),
	                      (uint64_t)json_integer_value(json_object_get(info, "spool_depth")),
	                      &uploaded, &err)) != WARD_OK) {
		fail(r, "eventupload", rc, &err);
		goto out;
	}
	say(r, "eventupload", json_pack("{s:I}", "events", (json_int_t)uploaded), "%llu event%s uploaded",
	    (unsigned long long)uploaded, uploaded == 1 ? "" : "s");

	if ((rc = ward_rule_batch_create(&batch, &err)) != WARD_OK ||
	    (rc = ruledownload(r, h, batch, &pages, &err)) != WARD_OK) {
		fail(r, "ruledownload", rc, &err);
		goto out;
	}
	ward_rule_batch_rules(batch, &n);
	say(r, "ruledownload", json_pack("{s:I, s:I}", "rules", (json_int_t)n, "pages", (json_int_t)pages),
	    "%zu rule%s in %zu page%s", n, n == 1 ? "" : "s", pages, pages == 1 ? "" : "s");

	if ((done = commit(r, batch, &set, &err)) == NULL) {
		rc = err.code ? err.code : WARD_E_IO;
		fail(r, "apply", rc, &err);
		goto out;
	}
	say(r, "apply", json_deep_copy(done), "%lld written, %lld removed, %lld cleared; %lld synced rules; mode %s",
	    (long long)json_integer_value(json_object_get(done, "put")),
	    (long long)json_integer_value(json_object_get(done, "removed")),
	    (long long)json_integer_value(json_object_get(done, "cleared")),
	    (long long)json_integer_value(json_object_get(done, "synced_rules")),
	    json_string_value(json_object_get(done, "client_mode")));

	{
		json_t *req = json_pack("{s:I, s:I, s:s, s:s, s:s}", "rules_received", (json_int_t)n,
		                        "rules_processed", json_integer_value(json_object_get(done, "received")),
		                        "machine_id", mid, "sync_type", ward_sync_type_name(set.sync_type),
		                        "rules_hash", json_string_value(json_object_get(done, "rules_hash")));
		json_decref(done);
		/* Santa does not read the postflight answer: the 200 is what counts. */
		rc = ward_http_post(h, "postflight", req, &resp, &len, &err);
		json_decref(req);
		if (rc == WARD_OK)
			free(resp);
		if (rc != WARD_OK) {
			fail(r, "postflight", rc, &err);
			goto out;
		}
	}
	say(r, "postflight", NULL, "ok");
out:
	ward_rule_batch_free(batch);
	ward_http_destroy(h);
	json_decref(info);
	return r->failed_stage[0] ? r->err.code : WARD_OK;
}

static void report(struct run *r, bool ok, int64_t next)
{
	ward_error_t err = { 0 };
	json_t *req = json_pack("{s:s, s:b, s:I}", "cmd", "sync-report", "ok", ok, "next_run", (json_int_t)next);
	json_t *reply;

	if (!ok) {
		json_object_set_new(req, "error", json_string(r->err.msg));
		json_object_set_new(req, "stage", json_string(r->failed_stage));
	}
	if ((reply = ctl(r, req, &err)) == NULL && !r->once)
		fprintf(stderr, "warden-sync: cannot report to wardend: %s\n", err.msg);
	json_decref(reply);
}

static bool num_opt(const char *s, unsigned max, unsigned *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *s == '\0' || *end != '\0' || v > max || s[0] == '-')
		return false;
	*out = (unsigned)v;
	return true;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "once", no_argument, NULL, 'o' },
		{ "clean", no_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "socket", required_argument, NULL, 's' },
		{ "retries", required_argument, NULL, 'r' },
		{ "backoff-ms", required_argument, NULL, 'b' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct run r = { .retries = 5, .backoff_ms = 1000, .timeout_s = 300 };
	const char *sock = NULL;
	unsigned failures = 0;
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'o': r.once = true; break;
		case 'c': r.clean = true; break;
		case 'j': r.json = true; break;
		case 's': sock = optarg; break;
		case 'r':
			if (!num_opt(optarg, 100, &r.retries))
				goto bad;
			break;
		case 'b':
			if (!num_opt(optarg, 600000, &r.backoff_ms) || r.backoff_ms == 0)
				goto bad;
			break;
		case 't':
			if (!num_opt(optarg, 3600, &r.timeout_s) || r.timeout_s == 0)
				goto bad;
			break;
		case 'h': fputs(usage, stdout); return 0;
		case 'V': printf("warden-sync %s\n", WARD_VERSION); return 0;
		default:
			fputs(usage, stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "warden-sync: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (r.json && !r.once) {
		fprintf(stderr, "warden-sync: --json goes with --once\n");
		return 2;
	}
	if (geteuid() == 0 && !r.once)
		fprintf(stderr, "warden-sync: running as root; run it as SyncUser (the systemd unit does)\n");
	r.sock = ward_ctl_client_socket(sock);
	signal(SIGPIPE, SIG_IGN);
	if (r.once) {
		ward_err_t rc = sync_once(&r);
		int64_t next = (int64_t)time(NULL) + (r.interval_s ? r.interval_s : 600);
		report(&r, rc == WARD_OK, next);
		if (r.json) {
			json_t *o = json_pack("{s:b, s:O}", "ok", rc == WARD_OK, "stages", r.stages);
			if (rc != WARD_OK) {
				json_object_set_new(o, "stage", json_string(r.failed_stage));
				json_object_set_new(o, "error", json_string(r.err.msg));
				json_object_set_new(o, "code", json_string(ward_strerror(rc)));
			}
			json_dumpf(o, stdout, JSON_INDENT(2));
			putchar('\n');
			json_decref(o);
		} else if (rc != WARD_OK) {
			printf("%-13s FAILED: %s\n", r.failed_stage, r.err.msg);
			fprintf(stderr, "warden-sync: %s: %s (nothing of this sync was applied%s)\n", r.failed_stage,
			        r.err.msg, strcmp(r.failed_stage, "postflight") == 0 ? " after the rules" : "");
		}
		json_decref(r.stages);
		return rc == WARD_OK ? 0 : 1;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	while (!stop) {
		ward_err_t rc = sync_once(&r);
		unsigned wait = r.interval_s ? r.interval_s : 600;
		if (rc != WARD_OK) {
			/* Back off after failures: 30 s, 60 s, ... up to the interval. */
			unsigned b = 30u << (failures < 10 ? failures : 10);
			failures++;
			if (b < wait)
				wait = b;
			fprintf(stderr, "warden-sync: %s: %s; next try in %u s\n", r.failed_stage, r.err.msg, wait);
		} else {
			failures = 0;
		}
		report(&r, rc == WARD_OK, (int64_t)time(NULL) + wait);
		for (unsigned s = 0; s < wait && !stop; s++)
			sleep(1);
	}
	json_decref(r.stages);
	return 0;
bad:
	fprintf(stderr, "warden-sync: bad value '%s' (see --help)\n", optarg);
	return 2;
}
