/*
 * wardenctl rule — add, remove, check, list, import and export rules, with the verbs
 * and JSON of Santa's `santactl rule`. Works on the store directly (no agent needed);
 * changing rules needs root, reading does not (but needs read access to the store).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "agent/ctl/ctl.h"
#include "agent/ctl/client.h"
#include "rules/rules.h"

static void usage(FILE *out)
{
	fprintf(out,
	"usage: wardenctl rule (--allow | --block | --silent-block | --compiler | --remove)\n"
	"                      [--cdhash | --teamid | --signingid | --certificate]\n"
	"                      (--identifier ID | --path FILE)\n"
	"                      [--message TEXT] [--url URL] [--comment TEXT] [--expires WHEN]\n"
	"       wardenctl rule --check [TYPE] (--identifier ID | --path FILE)\n"
	"       wardenctl rule --list\n"
	"       wardenctl rule --import FILE\n"
	"       wardenctl rule --export FILE\n"
	"       (each also takes [--json] [--db PATH])\n"
	"\n"
	"Add, remove, check, list, import and export the rules that allow or block programs.\n"
	"Changing rules (add, remove, import) requires root; the rest only needs read access\n"
	"to the rule database.\n"
	"\n"
	"Action (exactly one):\n"
	"  --allow            add an ALLOWLIST rule\n"
	"  --block            add a BLOCKLIST rule\n"
	"  --silent-block     add a SILENT_BLOCKLIST rule (block without telling the user)\n"
	"  --compiler         add an ALLOWLIST_COMPILER rule (allow; mark as a compiler)\n"
	"  --remove           remove the local rule (a managed rule comes from its profile)\n"
	"  --check            show the decision the rules give, the rule that decides and,\n"
	"                     for --path, every identity of the file in precedence order\n"
	"  --list             list every rule\n"
	"  --import FILE      apply a Santa rule JSON file, all or nothing (\"-\" = stdin)\n"
	"  --export FILE      write the local rules as Santa rule JSON (\"-\" = stdout)\n"
	"  (--whitelist, --blacklist, --silent-blacklist are accepted as Santa aliases)\n"
	"\n"
	"Rule type (default BINARY, the file's SHA-256):\n"
	"  --cdhash           CDHash of the code signature (40 hex)\n"
	"  --teamid           Apple team ID (10 of A-Z0-9)\n"
	"  --signingid        signing ID as TEAMID:signing.id or platform:signing.id\n"
	"  --certificate      SHA-256 of the leaf signing certificate (64 hex)\n"
	"\n"
	"What the rule names (exactly one):\n"
	"  --identifier ID    the identifier itself (--sha256 ID: Santa alias for a BINARY ID)\n"
	"  --path FILE        read it from FILE: its SHA-256, or with a type flag its CDHash,\n"
	"                     team ID, signing ID or certificate\n"
	"\n"
	"When adding:\n"
	"  --message TEXT     message shown when the rule blocks\n"
	"  --url URL          URL shown with the message\n"
	"  --comment TEXT     note for administrators (default with --path: the path)\n"
	"  --expires WHEN     stop matching after a duration (90s, 30m, 12h, 7d, 2w) or at an\n"
	"                     ISO-8601 time (2026-12-31, 2026-12-31T00:00:00Z)\n"
	"\n"
	"  --json             print results as JSON\n"
	"  --db PATH          rule database (default $WARDEN_DB, else " WARD_STORE_DEFAULT_PATH ")\n"
	"\n"
	"Precedence: CDHASH > BINARY > SIGNINGID > CERTIFICATE > TEAMID, the first identity\n"
	"with a rule decides; for the same identity a managed (profile) rule beats a local one;\n"
	"expired rules never match.\n"
	"\n"
	"Exit status: 0 on success (also when --check finds no rule), 1 on failure, 2 on a\n"
	"usage error.\n");
}

enum action { A_NONE, A_ADD, A_REMOVE, A_CHECK, A_LIST, A_IMPORT, A_EXPORT };

struct opts {
	enum action action;
	ward_policy_t policy;
	bool type_given;
	ward_rule_type_t type;
	const char *identifier, *path, *message, *url, *comment, *expires, *file, *db;
	bool json;
};

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
	va_list ap;

	fputs("wardenctl rule: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return CTL_EXIT_FAIL;
}

static int usage_error(const char *msg)
{
	fprintf(stderr, "wardenctl rule: %s\n(see 'wardenctl rule --help')\n", msg);
	return CTL_EXIT_USAGE;
}

static void print_json(json_t *o)
{
	char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);

	if (s)
		puts(s);
	free(s);
	json_decref(o);
}

/* Human name of a type, as santactl prints it. */
static const char *type_label(ward_rule_type_t t)
{
	switch (t) {
	case WARD_RT_CDHASH: return "CDHash";
	case WARD_RT_BINARY: return "SHA-256";
	case WARD_RT_SIGNINGID: return "Signing ID";
	case WARD_RT_CERTIFICATE: return "Certificate SHA-256";
	case WARD_RT_TEAMID: return "Team ID";
	case WARD_RT__COUNT: break;
	}
	return "?";
}

static json_t *rule_json(const ward_rule_t *r, int64_t now)
{
	json_t *o = json_object();
	char t[32];

	json_object_set_new(o, "id", json_integer(r->id));
	json_object_set_new(o, "rule_type", json_string(ward_rule_type_name(r->type)));
	json_object_set_new(o, "identifier", json_string(r->identifier));
	json_object_set_new(o, "policy", json_string(ward_policy_name(r->policy)));
	json_object_set_new(o, "source", json_string(ward_rule_source_name(r->source)));
	json_object_set_new(o, "custom_msg", json_string(r->custom_msg));
	json_object_set_new(o, "custom_url", json_string(r->custom_url));
	json_object_set_new(o, "comment", json_string(r->comment));
	if (r->expires_at > 0) {
		ward_rule_time_format(r->expires_at, t);
		json_object_set_new(o, "expires_at", json_string(t));
		json_object_set_new(o, "expired", json_boolean(now >= r->expires_at));
	} else {
		json_object_set_new(o, "expires_at", json_null());
		json_object_set_new(o, "expired", json_false());
	}
	ward_rule_time_format(r->created_at, t);
	json_object_set_new(o, "created_at", json_string(t));
	json_object_set_new(o, "created_by", json_string(r->created_by));
	return o;
}

static const char *db_path(const struct opts *o)
{
	const char *env = getenv("WARDEN_DB");

	if (o->db)
		return o->db;
	if (env && *env)
		return env;
	return WARD_STORE_DEFAULT_PATH;
}

/* Open for reading. *st is NULL (and the result OK) when there is no database yet:
 * then there are no rules. */
static int open_read(const struct opts *o, ward_store_t **st)
{
	ward_error_t err = { 0 };
	ward_err_t rc = ward_store_open(db_path(o), WARD_STORE_READONLY, st, &err);

	if (rc == WARD_E_NOTFOUND)
		return CTL_EXIT_OK;
	if (rc != WARD_OK)
		return fail("%s", err.msg);
	return CTL_EXIT_OK;
}

static int open_write(const struct opts *o, ward_store_t **st)
{
	ward_error_t err = { 0 };

	if (geteuid() != 0)
		return fail("changing rules requires root (you are uid %u); reading them does not",
		            (unsigned)geteuid());
	if (ward_store_open(db_path(o), WARD_STORE_CREATE, st, &err) != WARD_OK)
		return fail("%s", err.msg);
	return CTL_EXIT_OK;
}

static void who(char *buf, size_t len)
{
	struct passwd *pw = getpwuid(geteuid());

	if (pw && strlen(pw->pw_name) < len && strlen(pw->pw_name) < 64)
		snprintf(buf, len, "%s", pw->pw_name);
	else
		snprintf(buf, len, "uid:%u", (unsigned)geteuid());
}

/*
 * Tell a running agent that the rules changed and wait until it says it enforces them:
 * its reply names the store generation its index was built from, which must be at least
 * gen (the generation after our write). No agent listening (no socket, or nobody
 * accepting on it): true, the store is all there is. An agent that does not answer in
 * time, refuses, enforces an older generation or reports its store deleted or replaced:
 * false, with *why saying so; the caller fails loudly (the rule is stored but not in
 * force).
 */
bool ctl_notify_agent(const char *db, uint64_t gen, char *why, size_t whylen)
{
	const char *path = getenv("WARDEN_SOCKET");
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	ward_error_t err = { 0 };
	struct stat sb;
	bool ok = false;
	int fd;

	why[0] = '\0';
	if (path == NULL || *path == '\0')
		path = "/run/warden/control.sock";
	if (stat(path, &sb) != 0 || !S_ISSOCK(sb.st_mode) || strlen(path) >= sizeof(sun.sun_path))
		return true;
	/* Is anyone listening? A refused connect is a stale socket: no agent. */
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) >= 0) {
		int rc = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
		int e = errno;
		close(fd);
		if (rc != 0 && (e == ECONNREFUSED || e == ENOENT))
			return true;
	}
	json_t *req = json_pack("{s:s}", "cmd", "rules-changed"), *reply = NULL;
	if (req == NULL || ward_ctl_client_request(path, req, 5000, &reply, &err) != WARD_OK) {
		snprintf(why, whylen, "%s", err.msg[0] ? err.msg : "out of memory");
	} else if (ward_ctl_client_failed(reply, &err) != WARD_OK) {
		snprintf(why, whylen, "the agent refused: %s", err.msg);
	} else {
		json_t *g = json_object_get(reply, "generation");
		const char *problem = json_string_value(json_object_get(reply, "store_problem"));
		json_t *dev = json_object_get(reply, "store_dev"), *ino = json_object_get(reply, "store_ino");
		struct stat db_sb;
		if (problem != NULL)
			snprintf(why, whylen, "the agent's rule store was %s under it (it enforces the "
			         "rules it loaded; restart wardend)", problem);
		else if (json_is_integer(dev) && json_is_integer(ino) &&
		         (stat(db, &db_sb) != 0 || (json_int_t)db_sb.st_dev != json_integer_value(dev) ||
		          (json_int_t)db_sb.st_ino != json_integer_value(ino)))
			snprintf(why, whylen, "the running agent uses another rule store (%s), not %s",
			         json_string_value(json_object_get(reply, "store")) ?
			         json_string_value(json_object_get(reply, "store")) : "?", db);
		else if (!json_is_integer(g))
			snprintf(why, whylen, "the agent did not say which rules it enforces");
		else if ((uint64_t)json_integer_value(g) < gen)
			snprintf(why, whylen, "the agent enforces store generation %lld, older than this "
			         "change (%llu): is it using another store?", (long long)json_integer_value(g),
			         (unsigned long long)gen);
		else
			ok = true;
	}
	json_decref(reply);
	json_decref(req);
	return ok;
}

/* After a write to st: the generation, then close. */
static uint64_t close_gen(ward_store_t *st)
{
	uint64_t gen = 0;

	(void)ward_store_generation(st, &gen, NULL);
	ward_store_close(st);
	return gen;
}

/* The agent must confirm the change, or the verb fails (exit 1) saying so. */
static bool confirmed(const struct opts *o, uint64_t gen)
{
	char why[PATH_MAX + 512];

	if (ctl_notify_agent(db_path(o), gen, why, sizeof(why)))
		return true;
	fprintf(stderr, "wardenctl rule: the change is in the rule store, but the running agent did "
	        "not confirm it: %s. It is not enforced yet.\n", why);
	return false;
}

/* ---------------------------------------------------------------- identities */

/*
 * The match key of the file at path. When its code signature cannot be read (not yet
 * supported, or malformed) the key still holds the file's SHA-256 and *why says so.
 */
static ward_err_t key_from_path(const char *path, ward_identity_t *id, ward_match_key_t *key,
                                char *why, size_t whylen, ward_error_t *err)
{
	ward_error_t e = { 0 };
	ward_err_t rc;
	struct stat sb;
	int fd;

	why[0] = '\0';
	memset(key, 0, sizeof(*key));
	rc = ward_identity_read_path(path, WARD_ID_SHA256, id, &e);
	if (rc == WARD_OK) {
		ward_match_key_from_identity(id, key);
		return WARD_OK;
	}
	if (rc == WARD_E_IO || rc == WARD_E_NOTFOUND || rc == WARD_E_NOMEM)
		return ward_error_set(err, rc, "%s: %s", path, e.msg);
	/* Not parsable as what it claims to be: the SHA-256 still names it. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return ward_error_set(err, WARD_E_IO, "%s: %s", path, strerror(errno));
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		return ward_error_set(err, WARD_E_INVAL, "%s: not a regular file", path);
	}
	memset(id, 0, sizeof(*id));
	rc = ward_sha256_fd(fd, id->sha256, err);
	close(fd);
	if (rc != WARD_OK)
		return rc;
	id->has_sha256 = true;
	ward_match_key_from_identity(id, key);
	snprintf(why, whylen, "%s", e.msg);
	return WARD_OK;
}

static const char *key_field(const ward_match_key_t *k, ward_rule_type_t t)
{
	switch (t) {
	case WARD_RT_CDHASH: return k->cdhash;
	case WARD_RT_BINARY: return k->sha256;
	case WARD_RT_SIGNINGID: return k->signing_id;
	case WARD_RT_CERTIFICATE: return k->certificate;
	case WARD_RT_TEAMID: return k->team_id;
	case WARD_RT__COUNT: break;
	}
	return "";
}

static void key_set(ward_match_key_t *k, ward_rule_type_t t, const char *v)
{
	char *dst = (char *)key_field(k, t);
	size_t cap = t == WARD_RT_CDHASH ? sizeof(k->cdhash) :
	             t == WARD_RT_BINARY ? sizeof(k->sha256) :
	             t == WARD_RT_SIGNINGID ? sizeof(k->signing_id) :
	             t == WARD_RT_CERTIFICATE ? sizeof(k->certificate) : sizeof(k->team_id);

	snprintf(dst, cap, "%s", v);
}

/* The identifier of type t for --path, or a clear reason why the file has none. */
static int identifier_from_path(const struct opts *o, char out[WARD_RULE_ID_MAX + 1])
{
	ward_identity_t id;
	ward_match_key_t key;
	ward_error_t err = { 0 };
	char why[WARD_ERRMSG_MAX];
	const char *v;

	if (key_from_path(o->path, &id, &key, why, sizeof(why), &err) != WARD_OK)
		return fail("%s", err.msg);
	v = key_field(&key, o->type);
	if (*v != '\0') {
		snprintf(out, WARD_RULE_ID_MAX + 1, "%s", v);
		return CTL_EXIT_OK;
	}
	if (why[0] != '\0')
		return fail("%s: cannot read its code signature (%s), so it has no %s; use a BINARY "
		            "rule (no type flag) or --identifier", o->path, why, type_label(o->type));
	if (id.nslices == 0)
		return fail("%s: a%s %s file has no %s (only signed Mach-O files do); use a BINARY rule",
		            o->path, id.type == WARD_FT_ELF || id.type == WARD_FT_OTHER ? "n" : "",
		            ward_filetype_name(id.type), type_label(o->type));
	{
		const ward_slice_t *sl = ward_identity_primary(&id);
		if (o->type == WARD_RT_SIGNINGID && sl->status == WARD_SIG_SIGNED && sl->signing_id[0] &&
		    sl->team_id[0] == '\0')
			return fail("%s: signing ID '%s' has no team ID; warden matches signing IDs only as "
			            "TEAMID:signing.id (a platform: rule needs the kernel's word, see "
			            "docs/rules.md)", o->path, sl->signing_id);
		return fail("%s: its %s code signature (%s slice) has no usable %s", o->path,
		            ward_sigstatus_name(sl->status), sl->arch, type_label(o->type));
	}
}

/* ---------------------------------------------------------------- add / remove */

static int note_managed(const ward_rule_t *r, void *arg)
{
	if (r->source == WARD_SRC_PROFILE)
		*(const char **)arg = ward_policy_name(r->policy);
	return 0;
}

static int do_add(const struct opts *o, const char *ident)
{
	char by[64], comment[WARD_MAX_RULE_TEXT + 1];
	const char *managed = NULL;
	ward_store_t *st = NULL;
	ward_error_t err = { 0 };
	int64_t now = (int64_t)time(NULL);
	ward_rule_t r = {
		.type = o->type, .policy = o->policy, .source = WARD_SRC_LOCAL, .identifier = ident,
		.custom_msg = o->message, .custom_url = o->url, .comment = o->comment,
	};
	int status;

	if (o->expires) {
		if (ward_rule_time_parse(o->expires, now, &r.expires_at, &err) != WARD_OK)
			return fail("--%s", err.msg);
		if (r.expires_at <= now)
			return fail("--expires '%s': that is already in the past", o->expires);
	}
	if (r.comment == NULL && o->path) {
		snprintf(comment, sizeof(comment), "Rule created from %s", o->path);
		r.comment = comment;
	}
	who(by, sizeof(by));
	r.created_by = by;
	if (ward_rule_validate(&r, &err) != WARD_OK)
		return fail("%s", err.msg);
	if ((status = open_write(o, &st)) != CTL_EXIT_OK)
		return status;
	if (ward_store_put(st, &r, &err) != WARD_OK) {
		ward_store_close(st);
		return fail("%s", err.msg);
	}
	(void)ward_store_find(st, r.type, ident, note_managed, &managed, NULL);
	if (!confirmed(o, close_gen(st)))
		return CTL_EXIT_FAIL;
	if (o->json) {
		json_t *j = json_object();
		r.created_at = now;
		json_object_set_new(j, "action", json_string("added"));
		json_object_set_new(j, "rule", rule_json(&r, now));
		json_object_set_new(j, "shadowed_by_managed_rule", json_boolean(managed != NULL));
		print_json(j);
	} else {
		printf("Added %s rule for %s: %s.\n", ward_policy_name(r.policy), type_label(r.type), ident);
	}
	if (managed)
		fprintf(stderr, "wardenctl rule: note: a managed (profile) %s rule for this %s takes "
		        "precedence over the local rule\n", managed, type_label(r.type));
	return CTL_EXIT_OK;
}

static int do_remove(const struct opts *o, const char *ident)
{
	ward_store_t *st = NULL;
	ward_error_t err = { 0 };
	const char *managed = NULL;
	ward_err_t rc;
	int status;

	if ((status = open_write(o, &st)) != CTL_EXIT_OK)
		return status;
	rc = ward_store_remove(st, o->type, ident, WARD_SRC_LOCAL, &err);
	if (rc == WARD_E_NOTFOUND)
		(void)ward_store_find(st, o->type, ident, note_managed, &managed, NULL);
	uint64_t gen = close_gen(st);
	if (rc == WARD_E_NOTFOUND && managed)
		return fail("no local rule for %s %s; the managed %s rule for it comes from a profile "
		            "and is removed there", ward_rule_type_name(o->type), ident, managed);
	if (rc != WARD_OK)
		return fail("%s", err.msg);
	if (!confirmed(o, gen))
		return CTL_EXIT_FAIL;
	if (o->json) {
		json_t *j = json_object();
		json_object_set_new(j, "action", json_string("removed"));
		json_object_set_new(j, "rule_type", json_string(ward_rule_type_name(o->type)));
		json_object_set_new(j, "identifier", json_string(ident));
		print_json(j);
	} else {
		printf("Removed rule for %s: %s.\n", type_label(o->type), ident);
	}
	return CTL_EXIT_OK;
}

/* ---------------------------------------------------------------- check */

static const char *decision_word(const ward_rule_t *r, bool json)
{
	if (r == NULL)
		return json ? "none" : "no rule (the agent's mode decides)";
	switch (r->policy) {
	case WARD_POL_BLOCKLIST: return json ? "block" : "blocked";
	case WARD_POL_SILENT_BLOCKLIST: return json ? "block" : "blocked (silently)";
	case WARD_POL_ALLOWLIST_COMPILER: return json ? "allow" : "allowed (compiler)";
	case WARD_POL_ALLOWLIST:
	case WARD_POL_REMOVE:
	case WARD_POL__COUNT:
		break;
	}
	return json ? "allow" : "allowed";
}

static void print_rule_line(const char *label, const ward_rule_t *r, int64_t now)
{
	char t[32];

	printf("%-12s: %s %s %s (source %s", label, ward_rule_type_name(r->type), r->identifier,
	       ward_policy_name(r->policy), ward_rule_source_name(r->source));
	if (r->expires_at > 0) {
		ward_rule_time_format(r->expires_at, t);
		printf(", expires %s", t);
	}
	(void)now;
	printf(")\n");
	if (r->custom_msg[0])
		printf("%-12s: %s\n", "Message", r->custom_msg);
	if (r->custom_url[0])
		printf("%-12s: %s\n", "URL", r->custom_url);
	if (r->comment[0])
		printf("%-12s: %s\n", "Comment", r->comment);
}

static int do_check(const struct opts *o, const char *ident)
{
	ward_match_key_t key;
	ward_identity_t id;
	ward_store_t *st = NULL;
	ward_index_t *ix = NULL;
	ward_error_t err = { 0 };
	char why[WARD_ERRMSG_MAX] = "";
	int64_t now = (int64_t)time(NULL);
	const ward_rule_t *r;
	int status;

	memset(&key, 0, sizeof(key));
	if (o->path) {
		if (key_from_path(o->path, &id, &key, why, sizeof(why), &err) != WARD_OK)
			return fail("%s", err.msg);
		if (why[0])
			fprintf(stderr, "wardenctl rule: %s: code signature not read (%s); checking its "
			        "SHA-256 only\n", o->path, why);
		if (o->type_given) {
			ward_match_key_t only;
			memset(&only, 0, sizeof(only));
			key_set(&only, o->type, key_field(&key, o->type));
			key = only;
		}
	} else {
		key_set(&key, o->type, ident);
	}
	if ((status = open_read(o, &st)) != CTL_EXIT_OK)
		return status;
	if (st && ward_index_build_for_key(st, &key, &ix, &err) != WARD_OK) {
		ward_store_close(st);
		return fail("%s", err.msg);
	}
	r = ix ? ward_index_match(ix, &key, now) : NULL;
	if (o->json) {
		json_t *j = json_object();
		if (o->path)
			json_object_set_new(j, "path", json_string(o->path));
		json_object_set_new(j, "decision", json_string(decision_word(r, true)));
		json_object_set_new(j, "rule", r ? rule_json(r, now) : json_null());
		if (o->path) {
			json_t *a = json_array();
			for (int t = 0; t < WARD_RT__COUNT; t++) {
				json_t *e = json_object();
				const char *v = key_field(&key, (ward_rule_type_t)t);
				ward_match_key_t one;
				const ward_rule_t *m = NULL;
				memset(&one, 0, sizeof(one));
				key_set(&one, (ward_rule_type_t)t, v);
				if (ix && *v)
					m = ward_index_match(ix, &one, now);
				json_object_set_new(e, "rule_type", json_string(ward_rule_type_name((ward_rule_type_t)t)));
				json_object_set_new(e, "identifier", *v ? json_string(v) : json_null());
				json_object_set_new(e, "rule", m ? rule_json(m, now) : json_null());
				json_object_set_new(e, "decides", json_boolean(m != NULL && m == r));
				json_array_append_new(a, e);
			}
			json_object_set_new(j, "identities", a);
			if (why[0])
				json_object_set_new(j, "signature_error", json_string(why));
		}
		print_json(j);
	} else {
		if (o->path)
			printf("%-12s: %s\n", "Path", o->path);
		printf("%-12s: %s\n", "Decision", decision_word(r, false));
		if (r)
			print_rule_line("Rule", r, now);
		if (o->path) {
			printf("Identities, in precedence order:\n");
			for (int t = 0; t < WARD_RT__COUNT; t++) {
				const char *v = key_field(&key, (ward_rule_type_t)t);
				ward_match_key_t one;
				const ward_rule_t *m = NULL;
				memset(&one, 0, sizeof(one));
				key_set(&one, (ward_rule_type_t)t, v);
				if (ix && *v)
					m = ward_index_match(ix, &one, now);
				printf("  %-12s %s", ward_rule_type_name((ward_rule_type_t)t), *v ? v : "-");
				if (m)
					printf("%*s%s (%s)%s", (int)(66 - (*v ? strlen(v) : 1)), "",
					       ward_policy_name(m->policy), ward_rule_source_name(m->source),
					       m == r ? "  <- decides" : "");
				printf("\n");
			}
		}
	}
	ward_index_free(ix);
	ward_store_close(st);
	return CTL_EXIT_OK;
}

/* ---------------------------------------------------------------- list */

struct list_ctx {
	bool json;
	size_t n;
	int64_t now;
};

static int list_one(const ward_rule_t *r, void *arg)
{
	struct list_ctx *x = arg;

	if (x->json) {
		json_t *o = rule_json(r, x->now);
		char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
		printf("%s%s", x->n ? ",\n" : "\n", s ? s : "null");
		free(s);
		json_decref(o);
	} else {
		char t[32];
		printf("%-11s %-18s %-9s %s", ward_rule_type_name(r->type), ward_policy_name(r->policy),
		       ward_rule_source_name(r->source), r->identifier);
		if (r->expires_at > 0) {
			ward_rule_time_format(r->expires_at, t);
			printf("  %s %s", x->now >= r->expires_at ? "expired" : "expires", t);
		}
		if (r->comment[0])
			printf("  # %s", r->comment);
		printf("\n");
	}
	x->n++;
	return 0;
}

static int do_list(const struct opts *o)
{
	struct list_ctx x = { .json = o->json, .now = (int64_t)time(NULL) };
	ward_store_t *st = NULL;
	ward_error_t err = { 0 };
	ward_err_t rc = WARD_OK;
	int status;

	if ((status = open_read(o, &st)) != CTL_EXIT_OK)
		return status;
	if (o->json)
		printf("{\"rules\":[");
	if (st)
		rc = ward_store_foreach(st, list_one, &x, &err);
	ward_store_close(st);
	if (o->json)
		printf("%s]}\n", x.n ? "\n" : "");
	else if (rc == WARD_OK && x.n == 0)
		printf("No rules.\n");
	if (rc != WARD_OK)
		return fail("%s", err.msg);
	return CTL_EXIT_OK;
}

/* ---------------------------------------------------------------- import / export */

static int do_import(const struct opts *o)
{
	ward_apply_stats_t stats;
	ward_store_t *st = NULL;
	ward_error_t err = { 0 };
	char by[64];
	int status;

	who(by, sizeof(by));
	if ((status = open_write(o, &st)) != CTL_EXIT_OK)
		return status;
	if (ward_santa_json_import_file(st, o->file, WARD_SRC_IMPORT, by, &stats, &err) != WARD_OK) {
		ward_store_close(st);
		return fail("%s (nothing was imported)", err.msg);
	}
	if (!confirmed(o, close_gen(st)))
		return CTL_EXIT_FAIL;
	if (o->json) {
		json_t *j = json_object();
		json_object_set_new(j, "action", json_string("imported"));
		json_object_set_new(j, "file", json_string(o->file));
		json_object_set_new(j, "added_or_replaced", json_integer((json_int_t)stats.put));
		json_object_set_new(j, "removed", json_integer((json_int_t)stats.removed));
		json_object_set_new(j, "remove_not_found", json_integer((json_int_t)stats.absent));
		json_object_set_new(j, "refused", json_integer((json_int_t)stats.refused));
		json_object_set_new(j, "refused_rules", json_string(stats.refused_names));
		print_json(j);
	} else {
		printf("Imported rules from %s: %zu added or replaced, %zu removed", o->file, stats.put,
		       stats.removed);
		if (stats.absent)
			printf(", %zu removals found no rule", stats.absent);
		printf(".\n");
	}
	if (stats.refused)
		fprintf(stderr, "wardenctl rule: warning: %zu CEL rule%s refused (warden evaluates no "
		        "CEL; not imported): %s\n", stats.refused, stats.refused > 1 ? "s" : "",
		        stats.refused_names);
	return CTL_EXIT_OK;
}

static int do_export(const struct opts *o)
{
	bool to_stdout = strcmp(o->file, "-") == 0;
	char tmp[PATH_MAX];
	ward_store_t *st = NULL;
	ward_error_t err = { 0 };
	size_t count = 0;
	FILE *out = stdout;
	ward_err_t rc;
	int status, fd = -1;

	if ((status = open_read(o, &st)) != CTL_EXIT_OK)
		return status;
	if (!to_stdout) {
		/* Write beside the target and rename: a failed export leaves no half file. */
		if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", o->file) >= (int)sizeof(tmp)) {
			ward_store_close(st);
			return fail("%s: path too long", o->file);
		}
		if ((fd = mkstemp(tmp)) < 0 || (out = fdopen(fd, "w")) == NULL) {
			int e = errno;
			if (fd >= 0) {
				close(fd);
				unlink(tmp);
			}
			ward_store_close(st);
			return fail("%s: cannot write: %s", o->file, strerror(e));
		}
	}
	if (st) {
		rc = ward_santa_json_export(st, out, &count, &err);
	} else {
		rc = fputs("{\n  \"rules\": []\n}\n", out) == EOF ? ward_error_set(&err, WARD_E_IO,
		     "write failed: %s", strerror(errno)) : WARD_OK;
	}
	ward_store_close(st);
	if (!to_stdout) {
		if (rc == WARD_OK && (fflush(out) != 0 || fsync(fileno(out)) != 0))
			rc = ward_error_set(&err, WARD_E_IO, "write failed: %s", strerror(errno));
		if (fclose(out) != 0 && rc == WARD_OK)
			rc = ward_error_set(&err, WARD_E_IO, "write failed: %s", strerror(errno));
		if (rc == WARD_OK && rename(tmp, o->file) != 0)
			rc = ward_error_set(&err, WARD_E_IO, "rename: %s", strerror(errno));
		if (rc != WARD_OK)
			unlink(tmp);
	}
	if (rc != WARD_OK)
		return fail("%s: %s", to_stdout ? "export" : o->file, err.msg);
	if (!to_stdout) {
		if (o->json) {
			json_t *j = json_object();
			json_object_set_new(j, "action", json_string("exported"));
			json_object_set_new(j, "file", json_string(o->file));
			json_object_set_new(j, "rules", json_integer((json_int_t)count));
			print_json(j);
		} else {
			printf("Exported %zu rules to %s.\n", count, o->file);
		}
	}
	return CTL_EXIT_OK;
}

/* ---------------------------------------------------------------- main */

static int set_action(struct opts *o, enum action a, ward_policy_t p)
{
	if (o->action != A_NONE && (o->action != a || o->policy != p))
		return -1;
	o->action = a;
	o->policy = p;
	return 0;
}

static int set_type(struct opts *o, ward_rule_type_t t)
{
	if (o->type_given && o->type != t)
		return -1;
	o->type_given = true;
	o->type = t;
	return 0;
}

int ctl_rule(int argc, char **argv)
{
	enum { OPT_ALLOW = 256, OPT_BLOCK, OPT_SILENT, OPT_COMPILER, OPT_REMOVE, OPT_CHECK, OPT_LIST, OPT_IMPORT,
	       OPT_EXPORT, OPT_CDHASH, OPT_TEAMID, OPT_SIGNINGID, OPT_CERT, OPT_IDENT, OPT_SHA256, OPT_PATH, OPT_MSG,
	       OPT_URL, OPT_COMMENT, OPT_EXPIRES, OPT_JSON, OPT_DB, OPT_HELP };
	static const struct option longopts[] = {
		{ "allow", no_argument, NULL, OPT_ALLOW },
		{ "whitelist", no_argument, NULL, OPT_ALLOW },
		{ "block", no_argument, NULL, OPT_BLOCK },
		{ "blacklist", no_argument, NULL, OPT_BLOCK },
		{ "silent-block", no_argument, NULL, OPT_SILENT },
		{ "silent-blacklist", no_argument, NULL, OPT_SILENT },
		{ "compiler", no_argument, NULL, OPT_COMPILER },
		{ "remove", no_argument, NULL, OPT_REMOVE },
		{ "check", no_argument, NULL, OPT_CHECK },
		{ "list", no_argument, NULL, OPT_LIST },
		{ "import", required_argument, NULL, OPT_IMPORT },
		{ "export", required_argument, NULL, OPT_EXPORT },
		{ "cdhash", no_argument, NULL, OPT_CDHASH },
		{ "teamid", no_argument, NULL, OPT_TEAMID },
		{ "signingid", no_argument, NULL, OPT_SIGNINGID },
		{ "certificate", no_argument, NULL, OPT_CERT },
		{ "identifier", required_argument, NULL, OPT_IDENT },
		{ "sha256", required_argument, NULL, OPT_SHA256 },
		{ "path", required_argument, NULL, OPT_PATH },
		{ "message", required_argument, NULL, OPT_MSG },
		{ "url", required_argument, NULL, OPT_URL },
		{ "comment", required_argument, NULL, OPT_COMMENT },
		{ "expires", required_argument, NULL, OPT_EXPIRES },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "db", required_argument, NULL, OPT_DB },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = { .type = WARD_RT_BINARY };
	char canon[WARD_RULE_ID_MAX + 1];
	ward_error_t err = { 0 };
	int c, bad_action = 0, bad_type = 0;
	bool adding;

	optind = 1;
	opterr = 1;
	while ((c = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_ALLOW: bad_action |= set_action(&o, A_ADD, WARD_POL_ALLOWLIST); break;
		case OPT_BLOCK: bad_action |= set_action(&o, A_ADD, WARD_POL_BLOCKLIST); break;
		case OPT_SILENT: bad_action |= set_action(&o, A_ADD, WARD_POL_SILENT_BLOCKLIST); break;
		case OPT_COMPILER: bad_action |= set_action(&o, A_ADD, WARD_POL_ALLOWLIST_COMPILER); break;
		case OPT_REMOVE: bad_action |= set_action(&o, A_REMOVE, WARD_POL_REMOVE); break;
		case OPT_CHECK: bad_action |= set_action(&o, A_CHECK, WARD_POL_REMOVE); break;
		case OPT_LIST: bad_action |= set_action(&o, A_LIST, WARD_POL_REMOVE); break;
		case OPT_IMPORT:
			bad_action |= set_action(&o, A_IMPORT, WARD_POL_REMOVE);
			o.file = optarg;
			break;
		case OPT_EXPORT:
			bad_action |= set_action(&o, A_EXPORT, WARD_POL_REMOVE);
			o.file = optarg;
			break;
		case OPT_CDHASH: bad_type |= set_type(&o, WARD_RT_CDHASH); break;
		case OPT_TEAMID: bad_type |= set_type(&o, WARD_RT_TEAMID); break;
		case OPT_SIGNINGID: bad_type |= set_type(&o, WARD_RT_SIGNINGID); break;
		case OPT_CERT: bad_type |= set_type(&o, WARD_RT_CERTIFICATE); break;
		case OPT_IDENT: o.identifier = optarg; break;
		case OPT_SHA256:
			bad_type |= set_type(&o, WARD_RT_BINARY);
			o.identifier = optarg;
			break;
		case OPT_PATH: o.path = optarg; break;
		case OPT_MSG: o.message = optarg; break;
		case OPT_URL: o.url = optarg; break;
		case OPT_COMMENT: o.comment = optarg; break;
		case OPT_EXPIRES: o.expires = optarg; break;
		case OPT_JSON: o.json = true; break;
		case OPT_DB: o.db = optarg; break;
		case 'h':
		case OPT_HELP: usage(stdout); return CTL_EXIT_OK;
		default: return usage_error("unknown option");
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument; every value follows its option");
	if (bad_action)
		return usage_error("give one action: --allow, --block, --silent-block, --compiler, "
		                   "--remove, --check, --list, --import or --export");
	if (bad_type)
		return usage_error("give at most one type: --cdhash, --teamid, --signingid or "
		                   "--certificate");
	if (o.action == A_NONE)
		return usage_error("no action: give --allow, --block, --silent-block, --compiler, "
		                   "--remove, --check, --list, --import or --export");
	if (o.db && *o.db == '\0')
		return usage_error("--db: empty path");
	adding = o.action == A_ADD;
	if (!adding && (o.message || o.url || o.comment || o.expires))
		return usage_error("--message, --url, --comment and --expires only go with --allow, "
		                   "--block, --silent-block or --compiler");
	if (o.action == A_LIST || o.action == A_IMPORT || o.action == A_EXPORT) {
		if (o.identifier || o.path || o.type_given)
			return usage_error("--list, --import and --export take no identifier, path or type");
		if (o.action == A_LIST)
			return do_list(&o);
		return o.action == A_IMPORT ? do_import(&o) : do_export(&o);
	}
	if ((o.identifier != NULL) == (o.path != NULL))
		return usage_error("give exactly one of --identifier ID or --path FILE");
	if (o.identifier) {
		if (ward_rule_identifier_canon(o.type, o.identifier, canon, &err) != WARD_OK)
			return fail("--%s (as a %s rule)", err.msg, ward_rule_type_name(o.type));
	} else if (o.action != A_CHECK) {
		int status = identifier_from_path(&o, canon);
		if (status != CTL_EXIT_OK)
			return status;
	}
	switch (o.action) {
	case A_ADD: return do_add(&o, canon);
	case A_REMOVE: return do_remove(&o, canon);
	case A_CHECK: return do_check(&o, o.identifier ? canon : NULL);
	default: break;
	}
	return usage_error("internal: unhandled action");
}
