/*
 * wardenctl request | requests | approve | deny | blocked — exception requests.
 *
 * Everything goes through the running agent's control socket: the agent learns who is
 * asking from the socket (SO_PEERCRED), reads the file with the caller's rights, and is
 * the only writer of the store. Nothing here sends a user name or uid.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "agent/ctl/ctl.h"
#include "agent/ctl/client.h"
#include "common/limits.h"
#include "rules/requests.h"

#define TIMEOUT_MS 30000 /* a request hashes (and may scan) the file first */

static const char *verb = "request";

static int fail(bool json, ward_err_t code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(bool json, ward_err_t code, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (json) {
		json_t *o = json_pack("{s:b, s:s, s:s}", "ok", 0, "error", msg, "code", ward_strerror(code));
		char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
		if (s)
			puts(s);
		free(s);
		json_decref(o);
	}
	fprintf(stderr, "wardenctl %s: %s\n", verb, msg);
	return CTL_EXIT_FAIL;
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "wardenctl %s: ", verb);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n(see 'wardenctl %s --help')\n", verb);
	return CTL_EXIT_USAGE;
}

static void print_json(const json_t *o)
{
	char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);

	if (s)
		puts(s);
	free(s);
}

/* Send req (stolen) and return the reply of a successful command, or NULL after
 * reporting the failure (*rc set). */
static json_t *call(const char *sock, json_t *req, bool json, int *rc)
{
	ward_error_t err = { 0 };
	json_t *reply = NULL;

	if (req == NULL) {
		*rc = fail(json, WARD_E_NOMEM, "out of memory");
		return NULL;
	}
	if ((reply = ward_ctl_client_call(ward_ctl_client_socket(sock), req, TIMEOUT_MS, &err)) == NULL) {
		*rc = fail(json, err.code, "%s", err.msg);
		return NULL;
	}
	*rc = CTL_EXIT_OK;
	return reply;
}

static const char *s_or(const json_t *o, const char *key, const char *dflt)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : dflt;
}

static bool parse_id(const char *s, int64_t *id)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v <= 0)
		return false;
	*id = v;
	return true;
}

/* ---------------------------------------------------------------- printing */

static void print_request(const json_t *r, bool verbose)
{
	const json_t *who = json_object_get(r, "requester"), *dec = json_object_get(r, "decided");

	printf("Request %lld: %s\n", (long long)json_integer_value(json_object_get(r, "id")),
	       s_or(r, "state", "?"));
	printf("  %-13s %s (uid %lld) on %s\n", "Requester", s_or(who, "name", "?"),
	       (long long)json_integer_value(json_object_get(who, "uid")), s_or(r, "host", "?"));
	printf("  %-13s %s\n", "Filed", s_or(r, "created_at", "?"));
	printf("  %-13s %s\n", "Path", s_or(r, "path", "?"));
	printf("  %-13s %s\n", "Reason", s_or(r, "reason", ""));
	printf("  %-13s %s\n", "SHA-256", s_or(r, "sha256", "-"));
	if (verbose || json_is_string(json_object_get(r, "cdhash")))
		printf("  %-13s %s\n", "CDHash", s_or(r, "cdhash", "-"));
	if (verbose || json_is_string(json_object_get(r, "signing_id"))) {
		printf("  %-13s %s\n", "Team ID", s_or(r, "team_id", "-"));
		printf("  %-13s %s\n", "Signing ID", s_or(r, "signing_id", "-"));
	}
	printf("  %-13s %s\n", "Scan", s_or(r, "scan", "not scanned"));
	printf("  %-13s %s\n", "Proposed", s_or(r, "proposed_scope", "?"));
	if (json_is_object(dec)) {
		const json_t *by = json_object_get(dec, "by");
		bool approved = strcmp(s_or(dec, "action", ""), "approve") == 0;
		printf("  %-13s %s by %s at %s\n", approved ? "Approved" : "Denied",
		       approved ? "" : "", s_or(by, "name", "?"), s_or(dec, "at", "?"));
		if (approved) {
			printf("  %-13s %s %s (rule %lld)%s\n", "Grants", s_or(dec, "scope", "?"),
			       s_or(dec, "identifier", "?"),
			       (long long)json_integer_value(json_object_get(dec, "rule_id")),
			       json_is_true(json_object_get(dec, "forced")) ? ", forced over a scan match" : "");
			printf("  %-13s %s\n", "Expires", s_or(dec, "expires_at", "never"));
			printf("  %-13s %s\n", "Comment", s_or(dec, "comment", ""));
		} else {
			printf("  %-13s %s\n", "Reason", s_or(dec, "reason", ""));
		}
	}
}

static void print_row(const json_t *r)
{
	const json_t *who = json_object_get(r, "requester"), *dec = json_object_get(r, "decided");
	char user[80];

	snprintf(user, sizeof(user), "%s", s_or(who, "name", "?"));
	printf("%6lld  %-8s  %-12.12s  %-20s  %-9s  %s\n",
	       (long long)json_integer_value(json_object_get(r, "id")), s_or(r, "state", "?"), user,
	       s_or(r, "created_at", "?"),
	       json_is_object(dec) && json_is_string(json_object_get(dec, "scope"))
	           ? s_or(dec, "scope", "?") : s_or(r, "proposed_scope", "?"),
	       s_or(r, "path", "?"));
	printf("%6s  reason: %s\n", "", s_or(r, "reason", ""));
}

static void print_audit(const json_t *arr)
{
	size_t i;
	json_t *a;

	json_array_foreach((json_t *)arr, i, a) {
		char *detail = json_dumps(json_object_get(a, "detail"), JSON_COMPACT | JSON_SORT_KEYS);
		const json_t *uid = json_object_get(a, "uid");
		char u[32] = "-";
		if (json_is_integer(uid))
			snprintf(u, sizeof(u), "%lld", (long long)json_integer_value(uid));
		printf("  %s  %-8s request %-5lld by %s (uid %s)  %s\n", s_or(a, "time", "?"),
		       s_or(a, "action", "?"), (long long)json_integer_value(json_object_get(a, "request_id")),
		       s_or(a, "who", "?"), u, detail ? detail : "");
		free(detail);
	}
}

/* ---------------------------------------------------------------- request */

static void request_usage(FILE *out)
{
	fprintf(out,
	"usage: wardenctl request PATH --reason TEXT [--json] [--socket PATH]\n"
	"       wardenctl request --status ID [--json] [--socket PATH]\n"
	"\n"
	"Ask an administrator to allow a program the agent blocks. The agent reads PATH with\n"
	"your file permissions (you must be able to read it), computes its identities (SHA-256,\n"
	"and for a signed Mach-O its CDHash, team ID and signing ID) and its YARA result, and\n"
	"files a pending request in your name: who you are comes from the control socket,\n"
	"never from an option. Asking again for the same file returns your existing request.\n"
	"At most %u new requests per user per hour and %u pending per user.\n"
	"\n"
	"  --reason TEXT   why you need it (1..%u bytes, one line; required)\n"
	"  --status ID     show your request ID (approvers: any request) and its history\n"
	"  --json          print the agent's reply as JSON\n"
	"  --socket PATH   control socket (default $WARDEN_SOCKET, else %s)\n"
	"\n"
	"See 'wardenctl blocked' for your recent denials with a ready-to-run request command.\n"
	"Exit status: 0 on success (also when the request already existed), 1 if the agent\n"
	"refused or cannot be reached, 2 on a usage error.\n",
	WARD_REQUESTS_PER_HOUR, WARD_MAX_PENDING_PER_UID, WARD_MAX_REQUEST_TEXT,
	WARD_CTL_DEFAULT_SOCKET);
}

int ctl_request(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "reason", required_argument, NULL, 'r' },
		{ "status", required_argument, NULL, 'S' },
		{ "json", no_argument, NULL, 'j' },
		{ "socket", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *reason = NULL, *status = NULL, *sock = NULL;
	char abs[PATH_MAX];
	json_t *reply;
	bool json = false;
	int c, rc;
	int64_t id;

	verb = "request";
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'r': reason = optarg; break;
		case 'S': status = optarg; break;
		case 'j': json = true; break;
		case 's': sock = optarg; break;
		case 'h': request_usage(stdout); return CTL_EXIT_OK;
		default: request_usage(stderr); return CTL_EXIT_USAGE;
		}
	}
	if (status != NULL) {
		if (optind < argc || reason != NULL)
			return usage_error("--status takes only an id");
		if (!parse_id(status, &id))
			return usage_error("--status: '%s' is not a request id", status);
		if ((reply = call(sock, json_pack("{s:s, s:I}", "cmd", "request-status", "id",
		                                  (json_int_t)id), json, &rc)) == NULL)
			return rc;
		if (json) {
			print_json(reply);
		} else {
			print_request(json_object_get(reply, "request"), true);
			printf("History:\n");
			print_audit(json_object_get(reply, "audit"));
		}
		json_decref(reply);
		return CTL_EXIT_OK;
	}
	if (optind + 1 != argc)
		return usage_error(optind == argc ? "give the PATH of the program" : "one PATH at a time");
	if (reason == NULL)
		return usage_error("--reason TEXT is required: say why you need it");
	if (ward_req_text_check(reason, WARD_MAX_REQUEST_TEXT, true, "--reason", NULL) != WARD_OK)
		return usage_error("--reason: 1..%u bytes of text on one line", WARD_MAX_REQUEST_TEXT);
	if (realpath(argv[optind], abs) == NULL)
		return fail(json, errno == ENOENT ? WARD_E_NOTFOUND : WARD_E_IO, "%s: %s", argv[optind],
		            strerror(errno));
	if ((reply = call(sock, json_pack("{s:s, s:s, s:s}", "cmd", "request", "path", abs, "reason",
	                                  reason), json, &rc)) == NULL)
		return rc;
	if (json) {
		print_json(reply);
	} else {
		const json_t *r = json_object_get(reply, "request");
		long long rid = (long long)json_integer_value(json_object_get(r, "id"));
		if (json_is_true(json_object_get(reply, "existing")))
			printf("You already asked for this file: request %lld is %s.\n", rid, s_or(r, "state", "?"));
		else
			printf("Request %lld filed for %s.\n", rid, s_or(r, "path", "?"));
		printf("  %-13s %s\n", "SHA-256", s_or(r, "sha256", "-"));
		printf("  %-13s %s\n", "Proposed", s_or(r, "proposed_scope", "?"));
		printf("  %-13s %s\n", "Scan", s_or(r, "scan", "not scanned"));
		if (strcmp(s_or(r, "state", ""), "pending") == 0)
			printf("An administrator must approve it ('wardenctl requests' shows it to them);\n"
			       "the program then runs without anything more from you.\n");
		printf("Check on it: wardenctl request --status %lld\n", rid);
	}
	json_decref(reply);
	return CTL_EXIT_OK;
}

/* ---------------------------------------------------------------- requests */

static void requests_usage(FILE *out)
{
	fprintf(out,
	"usage: wardenctl requests [--mine] [--status STATE] [--json] [--socket PATH]\n"
	"       wardenctl requests --export FILE [--mine] [--status STATE] [--socket PATH]\n"
	"       wardenctl requests --audit [--id ID] [--json] [--socket PATH]\n"
	"\n"
	"List exception requests. Your own with --mine (anyone); all of them needs root, a\n"
	"member of AdminGroup or of ExceptionPolicy.ApproverGroup.\n"
	"\n"
	"  --mine            only the requests you filed\n"
	"  --status STATE    pending, approved, denied, expired or revoked (an approved\n"
	"                    request whose rule an administrator removed)\n"
	"  --export FILE     write them as JSON Lines, one request object per line, for a\n"
	"                    ticketing system (\"-\" = stdout; the file is created 0600); the\n"
	"                    format is in docs/exceptions.md; 'approve --from' accepts these\n"
	"                    lines once a \"decision\" is added to each\n"
	"  --audit           the audit trail instead (approvers): every filing, approval,\n"
	"                    denial and expiry, with who and from which uid\n"
	"  --id ID           with --audit: only that request's entries\n"
	"  --json            one JSON object: {\"requests\": [...]} or {\"audit\": [...]}\n"
	"  --socket PATH     control socket (default $WARDEN_SOCKET, else %s)\n"
	"\n"
	"Exit status: 0 on success, 1 on failure, 2 on a usage error.\n",
	WARD_CTL_DEFAULT_SOCKET);
}

/* Every page of requests, each passed to fn. */
static int each_request(const char *sock, bool mine, const char *status, bool json,
                        void (*fn)(const json_t *r, void *arg), void *arg)
{
	int64_t after = 0;
	int rc;

	for (;;) {
		json_t *req = json_pack("{s:s, s:b, s:I}", "cmd", "requests", "mine", mine, "after_id",
		                        (json_int_t)after), *reply;
		size_t i;
		json_t *r;

		if (req != NULL && status != NULL)
			json_object_set_new(req, "status", json_string(status));
		if ((reply = call(sock, req, json, &rc)) == NULL)
			return rc;
		json_array_foreach(json_object_get(reply, "requests"), i, r)
			fn(r, arg);
		after = json_integer_value(json_object_get(reply, "last_id"));
		bool more = json_is_true(json_object_get(reply, "more"));
		json_decref(reply);
		if (!more)
			return CTL_EXIT_OK;
	}
}

static void collect(const json_t *r, void *arg)
{
	json_array_append((json_t *)arg, (json_t *)r);
}

struct export {
	FILE *f;
	size_t n;
	bool failed;
};

static void export_one(const json_t *r, void *arg)
{
	struct export *e = arg;
	char *s = json_dumps(r, JSON_COMPACT | JSON_PRESERVE_ORDER);

	if (s == NULL || fprintf(e->f, "%s\n", s) < 0)
		e->failed = true;
	else
		e->n++;
	free(s);
}

int ctl_requests(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "mine", no_argument, NULL, 'm' },
		{ "status", required_argument, NULL, 'S' },
		{ "export", required_argument, NULL, 'e' },
		{ "audit", no_argument, NULL, 'a' },
		{ "id", required_argument, NULL, 'i' },
		{ "json", no_argument, NULL, 'j' },
		{ "socket", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *status = NULL, *sock = NULL, *export = NULL, *idarg = NULL;
	bool json = false, mine = false, audit = false;
	ward_req_state_t st;
	int64_t id = 0;
	int c, rc;

	verb = "requests";
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'm': mine = true; break;
		case 'S': status = optarg; break;
		case 'e': export = optarg; break;
		case 'a': audit = true; break;
		case 'i': idarg = optarg; break;
		case 'j': json = true; break;
		case 's': sock = optarg; break;
		case 'h': requests_usage(stdout); return CTL_EXIT_OK;
		default: requests_usage(stderr); return CTL_EXIT_USAGE;
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if (status != NULL && ward_req_state_parse(status, &st, NULL) != WARD_OK)
		return usage_error("--status: '%s': expected pending, approved, denied, expired or revoked",
		                   status);
	if (idarg != NULL && (!audit || !parse_id(idarg, &id)))
		return usage_error(audit ? "--id: '%s' is not a request id" : "--id goes with --audit", idarg);
	if (audit && (mine || status || export))
		return usage_error("--audit takes only --id, --json and --socket");
	if (export && json)
		return usage_error("--export writes JSON already; --json does not apply");

	if (audit) {
		json_t *all = json_array(), *reply;
		int64_t after = 0;
		for (;;) {
			json_t *req = json_pack("{s:s, s:I, s:i}", "cmd", "audit", "after_id", (json_int_t)after,
			                        "limit", 1000);
			size_t n;
			if (req && id > 0)
				json_object_set_new(req, "request_id", json_integer(id));
			if ((reply = call(sock, req, json, &rc)) == NULL) {
				json_decref(all);
				return rc;
			}
			json_t *page = json_object_get(reply, "audit");
			n = json_array_size(page);
			if (n > 0)
				after = json_integer_value(json_object_get(json_array_get(page, n - 1), "id"));
			json_array_extend(all, page);
			json_decref(reply);
			if (n < 1000)
				break;
		}
		if (json) {
			json_t *o = json_pack("{s:o}", "audit", all);
			print_json(o);
			json_decref(o);
		} else {
			print_audit(all);
			json_decref(all);
		}
		return CTL_EXIT_OK;
	}

	if (export) {
		struct export e = { .f = stdout };
		bool to_stdout = strcmp(export, "-") == 0;
		if (!to_stdout) {
			int fd = open(export, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
			if (fd < 0 || (e.f = fdopen(fd, "w")) == NULL) {
				if (fd >= 0)
					close(fd);
				return fail(false, WARD_E_IO, "%s: %s", export, strerror(errno));
			}
		}
		rc = each_request(sock, mine, status, false, export_one, &e);
		if (!to_stdout && fclose(e.f) != 0)
			e.failed = true;
		else if (to_stdout && fflush(stdout) != 0)
			e.failed = true;
		if (rc != CTL_EXIT_OK)
			return rc;
		if (e.failed)
			return fail(false, WARD_E_IO, "%s: write failed", export);
		if (!to_stdout)
			fprintf(stderr, "wardenctl requests: exported %zu requests to %s\n", e.n, export);
		return CTL_EXIT_OK;
	}

	json_t *all = json_array();
	if ((rc = each_request(sock, mine, status, json, collect, all)) != CTL_EXIT_OK) {
		json_decref(all);
		return rc;
	}
	if (json) {
		json_t *o = json_pack("{s:o}", "requests", all);
		print_json(o);
		json_decref(o);
		return CTL_EXIT_OK;
	}
	if (json_array_size(all) == 0) {
		printf("No %s%srequests.\n", status ? status : "", status ? " " : "");
	} else {
		size_t i;
		json_t *r;
		printf("%6s  %-8s  %-12s  %-20s  %-9s  %s\n", "ID", "STATE", "USER", "FILED", "SCOPE", "PATH");
		json_array_foreach(all, i, r)
			print_row(r);
	}
	json_decref(all);
	return CTL_EXIT_OK;
}

/* ---------------------------------------------------------------- approve */

static void approve_usage(FILE *out)
{
	fprintf(out,
	"usage: wardenctl approve ID [--scope SCOPE] [--expires WHEN] [--comment TEXT] [--force]\n"
	"                            [--json] [--socket PATH]\n"
	"       wardenctl approve --from FILE [--json] [--socket PATH]\n"
	"\n"
	"Approve a pending exception request (root, AdminGroup or ExceptionPolicy.ApproverGroup).\n"
	"The agent writes an ALLOWLIST rule of source \"exception\" linked to the request, rebuilds\n"
	"its rules and flushes its verdict caches, so the requester's next exec is allowed.\n"
	"\n"
	"  --scope SCOPE    what the rule names: cdhash, binary (the file's SHA-256), signingid\n"
	"                   or teamid (default: the request's proposal: signingid for a\n"
	"                   team-signed binary, else binary). ExceptionPolicy.AllowedScopes\n"
	"                   limits the choice (default cdhash, binary, signingid).\n"
	"  --expires WHEN   a duration (90s, 30m, 12h, 7d, 2w) or an ISO-8601 time; at most\n"
	"                   ExceptionPolicy.MaxExpirySeconds away, which is also the default\n"
	"                   (30 days unless configured). The rule stops matching at that second.\n"
	"  --comment TEXT   why (kept with the rule, the request and the audit trail)\n"
	"  --force          approve although the YARA scan matched the file; needs --comment\n"
	"  --from FILE      apply many decisions from a JSON Lines file (\"-\" = stdin), all or\n"
	"                   nothing: each line {\"id\": N, \"decision\": \"approve\"|\"deny\",\n"
	"                   \"scope\", \"expires\", \"comment\", \"force\"} (a denial's comment is\n"
	"                   its reason); lines of 'requests --export' may be used, and their\n"
	"                   \"sha256\" must then still match. At most %u lines / %u bytes.\n"
	"  --json           print the agent's reply as JSON\n"
	"  --socket PATH    control socket (default $WARDEN_SOCKET, else %s)\n"
	"\n"
	"Refused: a request that is not pending (already approved, denied, expired or revoked),\n"
	"a scope or expiry the policy does not allow, a file a rule blocks or already allows.\n"
	"Exit status: 0 on success, 1 if refused or the agent cannot be reached, 2 on a usage\n"
	"error.\n",
	WARD_MAX_BULK_DECISIONS, WARD_MAX_BULK_BYTES, WARD_CTL_DEFAULT_SOCKET);
}

/* Read all of path ("-" = stdin), at most max bytes. */
static char *slurp(const char *path, size_t max, size_t *len, ward_error_t *err)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	char *buf;
	size_t n;

	if (f == NULL) {
		ward_error_set(err, errno == ENOENT ? WARD_E_NOTFOUND : WARD_E_IO, "%s: %s", path,
		               strerror(errno));
		return NULL;
	}
	if ((buf = malloc(max + 2)) == NULL) {
		ward_error_set(err, WARD_E_NOMEM, "out of memory");
		goto out;
	}
	n = fread(buf, 1, max + 1, f);
	if (ferror(f)) {
		ward_error_set(err, WARD_E_IO, "%s: read error", path);
		free(buf);
		buf = NULL;
	} else if (n > max) {
		ward_error_set(err, WARD_E_LIMIT, "%s: larger than %zu bytes (split it)", path, max);
		free(buf);
		buf = NULL;
	} else {
		buf[n] = '\0';
		*len = n;
	}
out:
	if (f != stdin)
		fclose(f);
	return buf;
}

static int approve_from(const char *sock, const char *file, bool json)
{
	ward_error_t err = { 0 };
	json_t *arr = NULL, *req, *reply;
	size_t len = 0;
	char *buf, *line;
	int rc;

	if ((buf = slurp(file, WARD_MAX_BULK_BYTES, &len, &err)) == NULL)
		return fail(json, err.code, "%s", err.msg);
	if (ward_req_decisions_parse(buf, len, &arr, &err) != WARD_OK) {
		free(buf);
		return fail(json, err.code, "%s: %s", file, err.msg);
	}
	free(buf);
	/* Syntax and values are checked here too, so a bad line is named before the agent
	 * is asked; the agent checks everything again against the store. */
	for (size_t i = 0; i < json_array_size(arr); i++) {
		ward_req_decision_t d;
		json_t *o = json_array_get(arr, i);
		if (ward_req_decision_from_json(o, time(NULL), &d, &err) != WARD_OK) {
			rc = fail(json, err.code, "%s: line %lld: %s", file,
			          (long long)json_integer_value(json_object_get(o, "line")), err.msg);
			json_decref(arr);
			return rc;
		}
	}
	req = json_pack("{s:s, s:o}", "cmd", "decide", "decisions", arr);
	line = req ? json_dumps(req, JSON_COMPACT) : NULL;
	if (line != NULL && strlen(line) >= WARD_MAX_CTL_MESSAGE) {
		free(line);
		json_decref(req);
		return fail(json, WARD_E_LIMIT, "%s: the decisions do not fit in one control message "
		            "(%u bytes); split the file", file, WARD_MAX_CTL_MESSAGE);
	}
	free(line);
	if ((reply = call(sock, req, json, &rc)) == NULL)
		return rc;
	if (json)
		print_json(reply);
	else
		printf("Applied %s: %lld approved, %lld denied.\n", file,
		       (long long)json_integer_value(json_object_get(reply, "approved")),
		       (long long)json_integer_value(json_object_get(reply, "denied")));
	json_decref(reply);
	return CTL_EXIT_OK;
}

int ctl_approve(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "scope", required_argument, NULL, 'S' },
		{ "expires", required_argument, NULL, 'e' },
		{ "comment", required_argument, NULL, 'c' },
		{ "force", no_argument, NULL, 'f' },
		{ "from", required_argument, NULL, 'F' },
		{ "json", no_argument, NULL, 'j' },
		{ "socket", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *scope = NULL, *expires = NULL, *comment = NULL, *from = NULL, *sock = NULL;
	bool json = false, force = false;
	ward_rule_type_t t;
	json_t *req, *reply;
	int64_t id, exp;
	int c, rc;

	verb = "approve";
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'S': scope = optarg; break;
		case 'e': expires = optarg; break;
		case 'c': comment = optarg; break;
		case 'f': force = true; break;
		case 'F': from = optarg; break;
		case 'j': json = true; break;
		case 's': sock = optarg; break;
		case 'h': approve_usage(stdout); return CTL_EXIT_OK;
		default: approve_usage(stderr); return CTL_EXIT_USAGE;
		}
	}
	if (from != NULL) {
		if (optind < argc || scope || expires || comment || force)
			return usage_error("--from takes the decisions from the file only");
		return approve_from(sock, from, json);
	}
	if (optind + 1 != argc || !parse_id(argv[optind], &id))
		return usage_error("give one request ID");
	if (scope != NULL && ward_req_scope_parse(scope, &t, NULL) != WARD_OK)
		return usage_error("--scope: '%s': expected cdhash, binary, signingid or teamid", scope);
	if (expires != NULL && ward_rule_time_parse(expires, time(NULL), &exp, NULL) != WARD_OK)
		return usage_error("--expires: '%s': expected a duration (90s, 30m, 12h, 7d, 2w) or an "
		                   "ISO-8601 time", expires);
	if (comment != NULL && ward_req_text_check(comment, WARD_MAX_REQUEST_TEXT, false, "--comment",
	                                           NULL) != WARD_OK)
		return usage_error("--comment: at most %u bytes of text on one line", WARD_MAX_REQUEST_TEXT);
	if (force && (comment == NULL || comment[0] == '\0'))
		return usage_error("--force needs a --comment saying why");
	req = json_pack("{s:s, s:I, s:b}", "cmd", "approve", "id", (json_int_t)id, "force", force);
	if (req != NULL && scope)
		json_object_set_new(req, "scope", json_string(scope));
	if (req != NULL && expires)
		json_object_set_new(req, "expires", json_string(expires));
	if (req != NULL && comment)
		json_object_set_new(req, "comment", json_string(comment));
	if ((reply = call(sock, req, json, &rc)) == NULL)
		return rc;
	if (json) {
		print_json(reply);
	} else {
		const json_t *rule = json_object_get(reply, "rule"), *eff = json_object_get(reply, "effective");
		printf("Request %lld approved: %s rule for %s (rule %lld, source exception), until %s.\n",
		       (long long)id, s_or(rule, "type", "?"), s_or(rule, "identifier", "?"),
		       (long long)json_integer_value(json_object_get(rule, "id")),
		       s_or(rule, "expires_at", "?"));
		if (strcmp(s_or(eff, "decision", ""), "ALLOW") == 0)
			printf("The agent flushed its caches: the next exec of the file is allowed.\n");
		else
			printf("warning: the rules still give %s for this file (rule %lld, %s): a rule of "
			       "higher precedence decides it.\n", s_or(eff, "decision", "?"),
			       (long long)json_integer_value(json_object_get(eff, "rule_id")),
			       s_or(eff, "rule_type", "no rule"));
	}
	/* the file on disk is no longer what was asked for (agent/exceptions.c) */
	if (json_is_string(json_object_get(reply, "warning")))
		fprintf(stderr, "wardenctl approve: warning: %s\n",
		        json_string_value(json_object_get(reply, "warning")));
	json_decref(reply);
	return CTL_EXIT_OK;
}

/* ---------------------------------------------------------------- deny */

static void deny_usage(FILE *out)
{
	fprintf(out,
	"usage: wardenctl deny ID --reason TEXT [--json] [--socket PATH]\n"
	"\n"
	"Deny a pending exception request (root, AdminGroup or ExceptionPolicy.ApproverGroup).\n"
	"The requester sees the reason with 'wardenctl request --status ID'.\n"
	"\n"
	"  --reason TEXT   why (1..%u bytes, one line; required)\n"
	"  --json          print the agent's reply as JSON\n"
	"  --socket PATH   control socket (default $WARDEN_SOCKET, else %s)\n"
	"\n"
	"Exit status: 0 on success, 1 if refused or the agent cannot be reached, 2 on a usage\n"
	"error.\n", WARD_MAX_REQUEST_TEXT, WARD_CTL_DEFAULT_SOCKET);
}

int ctl_deny(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "reason", required_argument, NULL, 'r' },
		{ "json", no_argument, NULL, 'j' },
		{ "socket", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *reason = NULL, *sock = NULL;
	bool json = false;
	json_t *reply;
	int64_t id;
	int c, rc;

	verb = "deny";
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'r': reason = optarg; break;
		case 'j': json = true; break;
		case 's': sock = optarg; break;
		case 'h': deny_usage(stdout); return CTL_EXIT_OK;
		default: deny_usage(stderr); return CTL_EXIT_USAGE;
		}
	}
	if (optind + 1 != argc || !parse_id(argv[optind], &id))
		return usage_error("give one request ID");
	if (reason == NULL || ward_req_text_check(reason, WARD_MAX_REQUEST_TEXT, true, "--reason",
	                                          NULL) != WARD_OK)
		return usage_error("--reason TEXT is required (1..%u bytes, one line)", WARD_MAX_REQUEST_TEXT);
	if ((reply = call(sock, json_pack("{s:s, s:I, s:s}", "cmd", "deny", "id", (json_int_t)id,
	                                  "reason", reason), json, &rc)) == NULL)
		return rc;
	if (json)
		print_json(reply);
	else
		printf("Request %lld denied.\n", (long long)id);
	json_decref(reply);
	return CTL_EXIT_OK;
}

/* ---------------------------------------------------------------- blocked */

static void blocked_usage(FILE *out)
{
	fprintf(out,
	"usage: wardenctl blocked [--json] [--socket PATH]\n"
	"\n"
	"Your recent denials (the agent remembers the last %u files per user since it\n"
	"started), newest first, each with a ready-to-run 'wardenctl request' command when\n"
	"an exception could lift it, and your request for the file if you filed one.\n"
	"Silent blocks are not listed.\n"
	"\n"
	"  --json          print the agent's reply as JSON\n"
	"  --socket PATH   control socket (default $WARDEN_SOCKET, else %s)\n"
	"\n"
	"Exit status: 0 on success, 1 if the agent cannot be reached, 2 on a usage error.\n",
	WARD_DENIALS_PER_UID, WARD_CTL_DEFAULT_SOCKET);
}

int ctl_blocked(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "socket", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *sock = NULL;
	bool json = false;
	json_t *reply, *e;
	size_t i;
	int c, rc;

	verb = "blocked";
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case 's': sock = optarg; break;
		case 'h': blocked_usage(stdout); return CTL_EXIT_OK;
		default: blocked_usage(stderr); return CTL_EXIT_USAGE;
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if ((reply = call(sock, json_pack("{s:s}", "cmd", "blocked"), json, &rc)) == NULL)
		return rc;
	if (json) {
		print_json(reply);
		json_decref(reply);
		return CTL_EXIT_OK;
	}
	const json_t *list = json_object_get(reply, "denials");
	if (json_array_size(list) == 0)
		printf("No recent denials for uid %lld.\n",
		       (long long)json_integer_value(json_object_get(reply, "uid")));
	json_array_foreach((json_t *)list, i, e) {
		const json_t *rq = json_object_get(e, "request");
		json_int_t n = json_integer_value(json_object_get(e, "count"));
		printf("%s  %s  (%s%s", s_or(e, "time", "?"), s_or(e, "path", "?"), s_or(e, "reason", "?"),
		       n > 1 ? "" : ")\n");
		if (n > 1)
			printf(", %lld times)\n", (long long)n);
		if (json_is_object(rq))
			printf("    your request %lld is %s (wardenctl request --status %lld)\n",
			       (long long)json_integer_value(json_object_get(rq, "id")), s_or(rq, "state", "?"),
			       (long long)json_integer_value(json_object_get(rq, "id")));
		else if (json_is_string(json_object_get(e, "request_hint")))
			printf("    %s\n", s_or(e, "request_hint", ""));
		else
			printf("    (an exception request cannot lift this: ask your administrator)\n");
	}
	json_decref(reply);
	return CTL_EXIT_OK;
}
