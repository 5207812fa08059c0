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
#include "common/hex.h"
#include "rules/rules.h"
#include "common/platform.h"

static void usage(FILE *out)
{
	fprintf(out,
	"usage: wardenctl rule (--allow | --block | --silent-block | --compiler | --remove)\n"
	"                      [--cdhash | --teamid | --signingid | --certificate]\n"
	"                      (--identifier ID | --path FILE [--arch ARCH])\n"
	"                      [--message TEXT] [--url URL] [--comment TEXT] [--expires WHEN]\n"
	"       wardenctl rule --check [TYPE] (--identifier ID | --path FILE [--arch ARCH])\n"
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
	"                     for --path, each Mach-O slice's arch, CDHash and decision and\n"
	"                     every identity in precedence order; a universal file gets its\n"
	"                     most restrictive slice's decision (block > no rule > allow),\n"
	"                     as the agent decides it\n"
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
	"                     team ID, signing ID or certificate: one rule per distinct\n"
	"                     value among a universal file's slices (its CDHashes differ),\n"
	"                     every slice having one\n"
	"  --arch ARCH        with --path: only the slice ARCH (arm64, x86_64, ...; for\n"
	"                     --check and the four type flags); a file without it is an\n"
	"                     error naming the slices it has\n"
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
	const char *identifier, *path, *message, *url, *comment, *expires, *file, *db, *arch;
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
		path = WARD_CTL_DEFAULT_SOCKET;
	if (stat(path, &sb) != 0 || !S_ISSOCK(sb.st_mode) || strlen(path) >= sizeof(sun.sun_path))
		return true;
	/* Is anyone listening? A refused connect is a stale socket: no agent. */
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((fd = ward_socket(AF_UNIX, SOCK_STREAM, WARD_SOCK_CLOEXEC)) >= 0) {
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
 * The file named by --path: its identity and the keys rules can match, one per Mach-O
 * slice (a universal binary has one per architecture, and which one runs is the Mac's
 * choice), or the one slice --arch picks. A file without slices has one key.
 */
struct file_keys {
	ward_identity_t id;
	unsigned n;
	unsigned slice[WARD_MAX_SLICES];        /* slice of keys[i]; WARD_NO_SLICE: none */
	ward_match_key_t keys[WARD_MAX_SLICES];
	char why[WARD_ERRMSG_MAX];              /* the signature could not be read (the key
	                                           holds the SHA-256 alone): why */
};

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

static const ward_slice_t *key_slice(const struct file_keys *fk, unsigned i)
{
	return fk->slice[i] < fk->id.nslices ? &fk->id.slices[fk->slice[i]] : NULL;
}

/* "arm64, x86_64": the slices the file has. */
static void arch_list(const ward_identity_t *id, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < id->nslices && n < len; i++)
		n += (size_t)snprintf(buf + n, len - n, "%s%s", i ? ", " : "", id->slices[i].arch);
}

/*
 * Read the file at o->path into *fk. When its code signature cannot be read (malformed)
 * the one key still holds the file's SHA-256 and fk->why says why; --arch then fails,
 * as it does for a file without the slice (the message names the slices it has).
 */
static int file_keys_read(const struct opts *o, struct file_keys *fk)
{
	ward_error_t e = { 0 }, err = { 0 };
	ward_err_t rc;
	struct stat sb;
	int fd;

	memset(fk, 0, sizeof(*fk));
	rc = ward_identity_read_path(o->path, WARD_ID_SHA256, &fk->id, &e);
	if (rc == WARD_E_IO || rc == WARD_E_NOTFOUND || rc == WARD_E_NOMEM)
		return fail("%s: %s", o->path, e.msg);
	if (rc != WARD_OK) {
		/* Not parsable as what it claims to be: the SHA-256 still names it. */
		if ((fd = open(o->path, O_RDONLY | O_CLOEXEC)) < 0)
			return fail("%s: %s", o->path, strerror(errno));
		if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
			close(fd);
			return fail("%s: not a regular file", o->path);
		}
		memset(&fk->id, 0, sizeof(fk->id));
		rc = ward_sha256_fd(fd, fk->id.sha256, &err);
		close(fd);
		if (rc != WARD_OK)
			return fail("%s", err.msg);
		fk->id.has_sha256 = true;
		snprintf(fk->why, sizeof(fk->why), "%s", e.msg);
	}
	if (o->arch != NULL) {
		unsigned k;
		if (fk->why[0])
			return fail("%s: --arch %s: cannot read its Mach-O slices (%s)", o->path, o->arch,
			            fk->why);
		if (ward_identity_find_arch(&fk->id, o->arch, &k, &err) != WARD_OK)
			return fail("%s: %s", o->path, err.msg);
		fk->n = 1;
		fk->slice[0] = k;
		ward_match_key_from_slice(&fk->id, k, &fk->keys[0]);
		return CTL_EXIT_OK;
	}
	fk->n = ward_match_keys_from_identity(&fk->id, fk->keys);
	for (unsigned i = 0; i < fk->n; i++)
		fk->slice[i] = fk->id.nslices > 0 ? i : WARD_NO_SLICE;
	return CTL_EXIT_OK;
}

/* One identifier --path gives for the rule's type, and the slices that have it. */
struct ident {
	char id[WARD_RULE_ID_MAX + 1];
	char arches[WARD_MAX_SLICES * 18];
};

/*
 * The identifiers of type o->type for --path: the SHA-256 for BINARY; otherwise one per
 * distinct value among the slices (a universal binary's CDHashes differ per slice; its
 * team ID is usually shared), every slice having one, or a clear reason why not.
 */
static int identifiers_from_path(const struct opts *o, const struct file_keys *fk,
                                 struct ident *out, unsigned *nout)
{
	char have[WARD_MAX_SLICES * 18];

	*nout = 0;
	if (o->type == WARD_RT_BINARY) {
		snprintf(out[0].id, sizeof(out[0].id), "%s", fk->keys[0].sha256);
		out[0].arches[0] = '\0';
		*nout = 1;
		return CTL_EXIT_OK;
	}
	if (fk->why[0] != '\0')
		return fail("%s: cannot read its code signature (%s), so it has no %s; use a BINARY "
		            "rule (no type flag) or --identifier", o->path, fk->why, type_label(o->type));
	if (fk->id.nslices == 0)
		return fail("%s: a%s %s file has no %s (only signed Mach-O files do); use a BINARY rule",
		            o->path, fk->id.type == WARD_FT_ELF || fk->id.type == WARD_FT_OTHER ? "n" : "",
		            ward_filetype_name(fk->id.type), type_label(o->type));
	arch_list(&fk->id, have, sizeof(have));
	for (unsigned i = 0; i < fk->n; i++) {
		const ward_slice_t *sl = key_slice(fk, i);
		const char *v = key_field(&fk->keys[i], o->type);
		unsigned j;

		if (*v == '\0') {
			char more[sizeof(have) + 96] = "";
			if (fk->id.nslices > 1 && o->arch == NULL)
				snprintf(more, sizeof(more), "; --arch ARCH makes the rule for one slice "
				         "(it has %s)", have);
			if (o->type == WARD_RT_SIGNINGID && sl->status == WARD_SIG_SIGNED &&
			    sl->signing_id[0] && sl->team_id[0] == '\0')
				return fail("%s: signing ID '%s' (%s slice) has no team ID; warden matches "
				            "signing IDs only as TEAMID:signing.id (a platform: rule needs the "
				            "kernel's word, see docs/rules.md)%s", o->path, sl->signing_id,
				            sl->arch, more);
			return fail("%s: its %s code signature (%s slice) has no usable %s%s", o->path,
			            ward_sigstatus_name(sl->status), sl->arch, type_label(o->type), more);
		}
		for (j = 0; j < *nout; j++)
			if (strcmp(out[j].id, v) == 0)
				break;
		if (j == *nout) {
			snprintf(out[j].id, sizeof(out[j].id), "%s", v);
			out[j].arches[0] = '\0';
			(*nout)++;
		}
		size_t len = strlen(out[j].arches);
		snprintf(out[j].arches + len, sizeof(out[j].arches) - len, "%s%s", len ? ", " : "",
		         sl->arch);
	}
	return CTL_EXIT_OK;
}

/* ---------------------------------------------------------------- add / remove */

static int note_managed(const ward_rule_t *r, void *arg)
{
	if (r->source == WARD_SRC_PROFILE)
		*(const char **)arg = ward_policy_name(r->policy);
	return 0;
}

/* A rule in the administrator slot (what --remove removes). */
static int note_local(const ward_rule_t *r, void *arg)
{
	if (r->source == WARD_SRC_LOCAL || r->source == WARD_SRC_IMPORT || r->source == WARD_SRC_EXCEPTION)
		*(bool *)arg = true;
	return 0;
}

/* " (x86_64 slice)" after an identifier, when the file has several slices. */
static void slice_note(const struct file_keys *fk, const struct ident *id, char *buf, size_t len)
{
	buf[0] = '\0';
	if (fk != NULL && fk->id.nslices > 1 && id->arches[0])
		snprintf(buf, len, " (%s slice%s)", id->arches, strchr(id->arches, ',') ? "s" : "");
}

/*
 * Add one rule per identifier (several for a universal binary's slices), in one
 * transaction: all are stored or none.
 */
static int do_add(const struct opts *o, const struct file_keys *fk, const struct ident *ids,
                  unsigned n)
{
	char by[64], comment[WARD_MAX_RULE_TEXT + 1], note[WARD_MAX_SLICES * 18 + 16];
	const char *managed[WARD_MAX_SLICES] = { 0 };
	ward_store_t *st = NULL;
	ward_error_t err = { 0 };
	int64_t now = (int64_t)time(NULL), expires = 0;
	ward_rule_t r[WARD_MAX_SLICES];
	int status;

	if (o->expires) {
		if (ward_rule_time_parse(o->expires, now, &expires, &err) != WARD_OK)
			return fail("--%s", err.msg);
		if (expires <= now)
			return fail("--expires '%s': that is already in the past", o->expires);
	}
	if (o->comment == NULL && o->path)
		snprintf(comment, sizeof(comment), "Rule created from %s", o->path);
	who(by, sizeof(by));
	for (unsigned i = 0; i < n; i++) {
		r[i] = (ward_rule_t){
			.type = o->type, .policy = o->policy, .source = WARD_SRC_LOCAL,
			.identifier = ids[i].id, .custom_msg = o->message, .custom_url = o->url,
			.comment = o->comment ? o->comment : o->path ? comment : NULL,
			.expires_at = expires, .created_by = by,
		};
		if (ward_rule_validate(&r[i], &err) != WARD_OK)
			return fail("%s", err.msg);
	}
	if ((status = open_write(o, &st)) != CTL_EXIT_OK)
		return status;
	if (ward_store_apply(st, r, n, NULL, &err) != WARD_OK) {
		ward_store_close(st);
		return fail("%s", err.msg);
	}
	for (unsigned i = 0; i < n; i++)
		(void)ward_store_find(st, o->type, ids[i].id, note_managed, &managed[i], NULL);
	if (!confirmed(o, close_gen(st)))
		return CTL_EXIT_FAIL;
	if (o->json) {
		json_t *j = json_object(), *a = json_array();
		bool any = false;
		for (unsigned i = 0; i < n; i++) {
			json_t *rj;
			r[i].created_at = now;
			rj = rule_json(&r[i], now);
			if (fk != NULL && fk->id.nslices > 0) {
				json_t *arches = json_array();
				char buf[sizeof(ids[i].arches)], *save = NULL;
				snprintf(buf, sizeof(buf), "%s", ids[i].arches);
				for (char *t = strtok_r(buf, ", ", &save); t; t = strtok_r(NULL, ", ", &save))
					json_array_append_new(arches, json_string(t));
				json_object_set_new(rj, "arches", arches);
			}
			json_object_set_new(rj, "shadowed_by_managed_rule", json_boolean(managed[i] != NULL));
			any |= managed[i] != NULL;
			json_array_append_new(a, rj);
		}
		json_object_set_new(j, "action", json_string("added"));
		json_object_set_new(j, "rule", json_deep_copy(json_array_get(a, 0)));
		json_object_set_new(j, "rules", a);
		json_object_set_new(j, "shadowed_by_managed_rule", json_boolean(any));
		print_json(j);
	} else {
		for (unsigned i = 0; i < n; i++) {
			slice_note(fk, &ids[i], note, sizeof(note));
			printf("Added %s rule for %s: %s%s.\n", ward_policy_name(o->policy),
			       type_label(o->type), ids[i].id, note);
		}
	}
	for (unsigned i = 0; i < n; i++)
		if (managed[i])
			fprintf(stderr, "wardenctl rule: note: a managed (profile) %s rule for %s %s takes "
			        "precedence over the local rule\n", managed[i], type_label(o->type), ids[i].id);
	return CTL_EXIT_OK;
}

/*
 * Remove the local rule of each identifier (a universal binary's slices) in one
 * transaction. Those without a local rule are named; none at all is a failure.
 */
static int do_remove(const struct opts *o, const struct file_keys *fk, const struct ident *ids,
                     unsigned n)
{
	char note[WARD_MAX_SLICES * 18 + 16];
	ward_store_t *st = NULL;
	ward_error_t err = { 0 };
	const char *managed = NULL;
	ward_rule_t r[WARD_MAX_SLICES];
	bool present[WARD_MAX_SLICES] = { false };
	unsigned nr = 0;
	int status;

	if ((status = open_write(o, &st)) != CTL_EXIT_OK)
		return status;
	for (unsigned i = 0; i < n; i++) {
		if (ward_store_find(st, o->type, ids[i].id, note_local, &present[i], &err) != WARD_OK) {
			ward_store_close(st);
			return fail("%s", err.msg);
		}
		if (present[i])
			r[nr++] = (ward_rule_t){ .type = o->type, .policy = WARD_POL_REMOVE,
			                         .source = WARD_SRC_LOCAL, .identifier = ids[i].id };
		else
			(void)ward_store_find(st, o->type, ids[i].id, note_managed, &managed, NULL);
	}
	if (nr == 0) {
		ward_store_close(st);
		slice_note(fk, &ids[0], note, sizeof(note));
		if (n == 1 && managed)
			return fail("no local rule for %s %s; the managed %s rule for it comes from a "
			            "profile and is removed there", ward_rule_type_name(o->type), ids[0].id,
			            managed);
		if (n == 1)
			return fail("no local rule for %s %s%s", ward_rule_type_name(o->type), ids[0].id, note);
		return fail("no local %s rule for any slice of %s", ward_rule_type_name(o->type), o->path);
	}
	if (ward_store_apply(st, r, nr, NULL, &err) != WARD_OK) {
		ward_store_close(st);
		return fail("%s", err.msg);
	}
	if (!confirmed(o, close_gen(st)))
		return CTL_EXIT_FAIL;
	if (o->json) {
		json_t *j = json_object(), *a = json_array(), *absent = json_array();
		for (unsigned i = 0; i < n; i++)
			json_array_append_new(present[i] ? a : absent, json_string(ids[i].id));
		json_object_set_new(j, "action", json_string("removed"));
		json_object_set_new(j, "rule_type", json_string(ward_rule_type_name(o->type)));
		json_object_set_new(j, "identifier", json_copy(json_array_get(a, 0)));
		json_object_set_new(j, "identifiers", a);
		json_object_set_new(j, "not_found", absent);
		print_json(j);
	} else {
		for (unsigned i = 0; i < n; i++) {
			slice_note(fk, &ids[i], note, sizeof(note));
			if (present[i])
				printf("Removed rule for %s: %s%s.\n", type_label(o->type), ids[i].id, note);
		}
	}
	for (unsigned i = 0; i < n; i++) {
		slice_note(fk, &ids[i], note, sizeof(note));
		if (!present[i])
			fprintf(stderr, "wardenctl rule: note: no local rule for %s %s%s\n",
			        ward_rule_type_name(o->type), ids[i].id, note);
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

/* The identities of one key in precedence order, each with the rule that names it;
 * decides marks the one whose rule decided the key. */
/* The rule that key's identity of type t alone would match (*v: that identity, "" none). */
static const ward_rule_t *match_type(const ward_index_t *ix, const ward_match_key_t *key,
                                     ward_rule_type_t t, int64_t now, const char **v)
{
	ward_match_key_t one;

	*v = key_field(key, t);
	memset(&one, 0, sizeof(one));
	key_set(&one, t, *v);
	return ix && **v ? ward_index_match(ix, &one, now) : NULL;
}

static json_t *identities_json(const ward_index_t *ix, const ward_match_key_t *key,
                               const ward_rule_t *decides, int64_t now)
{
	json_t *a = json_array();

	for (int t = 0; t < WARD_RT__COUNT; t++) {
		json_t *e = json_object();
		const char *v;
		const ward_rule_t *m = match_type(ix, key, (ward_rule_type_t)t, now, &v);
		json_object_set_new(e, "rule_type", json_string(ward_rule_type_name((ward_rule_type_t)t)));
		json_object_set_new(e, "identifier", *v ? json_string(v) : json_null());
		json_object_set_new(e, "rule", m ? rule_json(m, now) : json_null());
		json_object_set_new(e, "decides", json_boolean(m != NULL && m == decides));
		json_array_append_new(a, e);
	}
	return a;
}

static void print_identities(const ward_index_t *ix, const ward_match_key_t *key,
                             const ward_rule_t *decides, int64_t now)
{
	for (int t = 0; t < WARD_RT__COUNT; t++) {
		const char *v;
		const ward_rule_t *m = match_type(ix, key, (ward_rule_type_t)t, now, &v);
		printf("  %-12s %s", ward_rule_type_name((ward_rule_type_t)t), *v ? v : "-");
		if (m)
			printf("%*s%s (%s)%s", (int)(66 - (*v ? strlen(v) : 1)), "",
			       ward_policy_name(m->policy), ward_rule_source_name(m->source),
			       m == decides ? "  <- decides" : "");
		printf("\n");
	}
}

/*
 * --check: the rule that decides. With --path, every slice of a universal binary is
 * checked (or the one --arch picks) and the file's decision is the most restrictive
 * slice's, as the agent decides a file whose slice it cannot know (docs/rules.md).
 */
static int do_check(const struct opts *o, const char *ident)
{
	struct file_keys *fk = NULL;
	ward_match_key_t key;
	ward_store_t *st = NULL;
	ward_index_t *ix = NULL;
	ward_error_t err = { 0 };
	ward_file_match_t m;
	int64_t now = (int64_t)time(NULL);
	const ward_rule_t *r;
	char have[WARD_MAX_SLICES * 18] = "";
	int status;

	memset(&key, 0, sizeof(key));
	if (o->path) {
		if ((fk = malloc(sizeof(*fk))) == NULL)
			return fail("out of memory");
		if ((status = file_keys_read(o, fk)) != CTL_EXIT_OK) {
			free(fk);
			return status;
		}
		if (fk->why[0])
			fprintf(stderr, "wardenctl rule: %s: code signature not read (%s); checking its "
			        "SHA-256 only\n", o->path, fk->why);
		if (o->type_given)
			for (unsigned i = 0; i < fk->n; i++) {
				ward_match_key_t only;
				memset(&only, 0, sizeof(only));
				key_set(&only, o->type, key_field(&fk->keys[i], o->type));
				fk->keys[i] = only;
			}
		arch_list(&fk->id, have, sizeof(have));
	} else {
		key_set(&key, o->type, ident);
	}
	if ((status = open_read(o, &st)) != CTL_EXIT_OK) {
		free(fk);
		return status;
	}
	if (st && (fk ? ward_index_build_for_keys(st, fk->keys, fk->n, &ix, &err)
	              : ward_index_build_for_key(st, &key, &ix, &err)) != WARD_OK) {
		ward_store_close(st);
		free(fk);
		return fail("%s", err.msg);
	}
	ward_index_match_keys(ix, fk ? fk->keys : &key, fk ? fk->n : 1, now, &m);
	r = m.rule;
	if (o->json) {
		json_t *j = json_object();
		if (o->path)
			json_object_set_new(j, "path", json_string(o->path));
		json_object_set_new(j, "decision", json_string(decision_word(r, true)));
		json_object_set_new(j, "rule", r ? rule_json(r, now) : json_null());
		if (fk) {
			const ward_slice_t *ds = key_slice(fk, m.decisive);
			json_t *slices = json_array();
			json_object_set_new(j, "arch", ds ? json_string(ds->arch) : json_null());
			json_object_set_new(j, "selected_arch", o->arch ? json_string(o->arch) : json_null());
			for (unsigned i = 0; fk->id.nslices > 0 && i < fk->n; i++) {
				const ward_slice_t *sl = key_slice(fk, i);
				char hex[2 * WARD_CDHASH_LEN + 1];
				json_t *e = json_object();
				json_object_set_new(e, "arch", json_string(sl->arch));
				if (sl->has_cdhash)
					ward_hex_encode(sl->cdhash, WARD_CDHASH_LEN, hex);
				json_object_set_new(e, "cdhash", sl->has_cdhash ? json_string(hex) : json_null());
				json_object_set_new(e, "signature", json_string(ward_sigstatus_name(sl->status)));
				json_object_set_new(e, "decision", json_string(decision_word(m.each[i], true)));
				json_object_set_new(e, "rule", m.each[i] ? rule_json(m.each[i], now) : json_null());
				json_object_set_new(e, "decides", json_boolean(i == m.decisive));
				json_object_set_new(e, "identities", identities_json(ix, &fk->keys[i], m.each[i], now));
				json_array_append_new(slices, e);
			}
			json_object_set_new(j, "slices", slices);
			json_object_set_new(j, "identities", identities_json(ix, &fk->keys[m.decisive], r, now));
			if (fk->why[0])
				json_object_set_new(j, "signature_error", json_string(fk->why));
		}
		print_json(j);
	} else {
		if (o->path)
			printf("%-12s: %s\n", "Path", o->path);
		printf("%-12s: %s\n", "Decision", decision_word(r, false));
		if (r)
			print_rule_line("Rule", r, now);
		if (fk && fk->id.nslices > 0) {
			const ward_slice_t *ds = key_slice(fk, m.decisive);
			if (o->arch)
				printf("%-12s: the %s slice (--arch; the file has %s)\n", "Decided by", ds->arch,
				       have);
			else if (fk->n > 1)
				printf("%-12s: the %s slice, the most restrictive of %u (%s): a Mac runs one "
				       "of them; --arch ARCH checks one\n", "Decided by", ds->arch, fk->n, have);
			printf("Slices (arch, CDHash, decision):\n");
			for (unsigned i = 0; i < fk->n; i++) {
				const ward_slice_t *sl = key_slice(fk, i);
				char hex[2 * WARD_CDHASH_LEN + 1] = "-";
				if (sl->has_cdhash)
					ward_hex_encode(sl->cdhash, WARD_CDHASH_LEN, hex);
				printf("  %-10s %-40s  %s", sl->arch, hex, decision_word(m.each[i], false));
				if (m.each[i])
					printf(" (%s %s, %s)", ward_rule_type_name(m.each[i]->type),
					       ward_policy_name(m.each[i]->policy),
					       ward_rule_source_name(m.each[i]->source));
				printf("%s\n", fk->n > 1 && i == m.decisive ? "  <- decides" : "");
			}
		}
		if (fk) {
			for (unsigned i = 0; i < fk->n; i++) {
				const ward_slice_t *sl = key_slice(fk, i);
				if (fk->n > 1)
					printf("Identities of the %s slice, in precedence order:\n", sl->arch);
				else
					printf("Identities, in precedence order:\n");
				print_identities(ix, &fk->keys[i], m.each[i], now);
			}
		}
	}
	ward_index_free(ix);
	ward_store_close(st);
	free(fk);
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
	       OPT_URL, OPT_COMMENT, OPT_EXPIRES, OPT_JSON, OPT_DB, OPT_ARCH, OPT_HELP };
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
		{ "arch", required_argument, NULL, OPT_ARCH },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = { .type = WARD_RT_BINARY };
	char canon[WARD_RULE_ID_MAX + 1];
	ward_error_t err = { 0 };
	int c, bad_action = 0, bad_type = 0, status;
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
		case OPT_ARCH: o.arch = optarg; break;
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
	if (o.arch != NULL && !ward_arch_name_valid(o.arch)) {
		fprintf(stderr, "wardenctl rule: --arch '%s': not an architecture name (%s)\n"
		        "(see 'wardenctl rule --help')\n", o.arch, WARD_ARCH_NAMES);
		return CTL_EXIT_USAGE;
	}
	if (o.action == A_LIST || o.action == A_IMPORT || o.action == A_EXPORT) {
		if (o.identifier || o.path || o.type_given || o.arch)
			return usage_error("--list, --import and --export take no identifier, path, type "
			                   "or --arch");
		if (o.action == A_LIST)
			return do_list(&o);
		return o.action == A_IMPORT ? do_import(&o) : do_export(&o);
	}
	if ((o.identifier != NULL) == (o.path != NULL))
		return usage_error("give exactly one of --identifier ID or --path FILE");
	if (o.arch && o.identifier)
		return usage_error("--arch picks a slice of the file --path names; an --identifier "
		                   "is one identity already");
	if (o.arch && (adding || o.action == A_REMOVE) && o.type == WARD_RT_BINARY)
		return usage_error("--arch goes with --cdhash, --signingid, --certificate or --teamid: "
		                   "a BINARY rule names the whole file (its SHA-256), every slice");
	if (o.identifier) {
		struct ident one;
		if (ward_rule_identifier_canon(o.type, o.identifier, canon, &err) != WARD_OK)
			return fail("--%s (as a %s rule)", err.msg, ward_rule_type_name(o.type));
		if (o.action == A_CHECK)
			return do_check(&o, canon);
		snprintf(one.id, sizeof(one.id), "%s", canon);
		one.arches[0] = '\0';
		return o.action == A_ADD ? do_add(&o, NULL, &one, 1) : do_remove(&o, NULL, &one, 1);
	}
	if (o.action == A_CHECK)
		return do_check(&o, NULL);
	{
		struct file_keys *fk = malloc(sizeof(*fk));
		struct ident ids[WARD_MAX_SLICES];
		unsigned n = 0;
		if (fk == NULL)
			return fail("out of memory");
		if ((status = file_keys_read(&o, fk)) == CTL_EXIT_OK &&
		    (status = identifiers_from_path(&o, fk, ids, &n)) == CTL_EXIT_OK)
			status = o.action == A_ADD ? do_add(&o, fk, ids, n) : do_remove(&o, fk, ids, n);
		free(fk);
		return status;
	}
}
