/*
 * File-access authorization: Santa's FileAccessPolicy validated into an immutable
 * policy, and the matcher the agent runs on every watched open.
 *
 * Santa's semantics kept here (docs/fileaccess.md has the user's view):
 *  - Paths are strings (literal) or {Path, IsPrefix}; globs follow glob(3): '*' and '?'
 *    never match '/' nor a leading '.', '**' is not supported. A prefix is a string
 *    prefix of the path, as Santa's prefix tree. The longest match wins; on equal
 *    length a literal beats a prefix, then the item whose name sorts first.
 *  - Options: RuleType (case-insensitive, default PathsWithAllowedProcesses),
 *    AllowReadAccess (default false), AuditOnly (default true), EnableSilentMode,
 *    EnableSilentTTYMode, BlockMessage, EventDetailURL/Text.
 *  - Processes: every key of one entry must match, any entry suffices.
 * Santa ignores what it does not know; here an unknown key inside a watch item is an
 * error, because a misspelt "Processes" would silently turn a protection off.
 */
#include "rules/faa.h"

#include <ctype.h>
#include <stdatomic.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/hex.h"

struct faa_path {
	char *pat;
	bool prefix;
	bool glob;       /* has a metacharacter */
	size_t fixed;    /* bytes before the first metacharacter */
	unsigned slashes;/* '/' in the pattern (a glob prefix match ends in that component) */
};

struct faa_proc {
	char *binary_path;
	char *team_id;      /* "" = not set */
	char *signing_id;   /* without its prefix; "" = not set */
	bool has_sha, has_cdhash, has_cert, platform_set, platform;
	uint8_t sha[32], cdhash[20], cert[32];
};

struct faa_item {
	char *name;
	ward_faa_rule_type_t type;
	bool audit_only, allow_read, silent, silent_tty;
	char *block_message, *url, *text;
	struct faa_path *paths;
	size_t npaths;
	struct faa_proc *procs;
	size_t nprocs;
};

struct ward_faa {
	atomic_uint ref;
	char *version;
	char *url, *text;
	struct faa_item *items;
	size_t nitems;
	bool process_centric_allowed;
};

static const char *const type_names[] = {
	"PathsWithAllowedProcesses", "PathsWithDeniedProcesses",
	"ProcessesWithAllowedPaths", "ProcessesWithDeniedPaths",
};

const char *ward_faa_rule_type_name(ward_faa_rule_type_t t)
{
	return (unsigned)t < 4 ? type_names[t] : "?";
}

/* ---------------------------------------------------------------- parse context */

struct pctx {
	const ward_faa_src_t *src;
	ward_error_t *err;
	unsigned nerrors;
	size_t npaths, nprocs;
};

static unsigned long line_key(struct pctx *c, const json_t *d, const char *k)
{
	return c->src && c->src->line ? c->src->line(c->src->arg, d, k, 0) : 0;
}

static unsigned long line_idx(struct pctx *c, const json_t *a, size_t i)
{
	return c->src && c->src->line ? c->src->line(c->src->arg, a, NULL, i) : 0;
}

static void vreport(struct pctx *c, bool is_error, unsigned long line, const char *key,
                    const char *fmt, va_list ap) __attribute__((format(printf, 5, 0)));

static void vreport(struct pctx *c, bool is_error, unsigned long line, const char *key,
                    const char *fmt, va_list ap)
{
	char msg[WARD_ERRMSG_MAX];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (c->src && c->src->diag)
		c->src->diag(c->src->arg, is_error, line, key, msg);
	if (!is_error)
		return;
	if (c->nerrors++ == 0) {
		if (line)
			ward_error_set(c->err, WARD_E_INVAL, "line %lu: %s: %s", line, key, msg);
		else
			ward_error_set(c->err, WARD_E_INVAL, "%s: %s", key, msg);
	}
}

static void report(struct pctx *c, bool is_error, unsigned long line, const char *key,
                   const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void report(struct pctx *c, bool is_error, unsigned long line, const char *key,
                   const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(c, is_error, line, key, fmt, ap);
	va_end(ap);
}

/* Record an error; returns -1 so callers can write `return bad(...)`. */
static int bad(struct pctx *c, unsigned long line, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int bad(struct pctx *c, unsigned long line, const char *key, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(c, true, line, key, fmt, ap);
	va_end(ap);
	return -1;
}

/* A bounded string value: 1..max bytes unless allow_empty. */
static int want_str(struct pctx *c, const json_t *v, unsigned long line, const char *key,
                    size_t max, bool allow_empty, char **out)
{
	size_t n;

	if (!json_is_string(v))
		return bad(c, line, key, "expected a string");
	n = json_string_length(v);
	if (n == 0 && !allow_empty)
		return bad(c, line, key, "must not be empty");
	if (n > max)
		return bad(c, line, key, "too long (%zu bytes, at most %zu)", n, max);
	if (strlen(json_string_value(v)) != n)
		return bad(c, line, key, "contains a NUL byte");
	if ((*out = strdup(json_string_value(v))) == NULL)
		return bad(c, line, key, "out of memory");
	return 0;
}

static int want_bool(struct pctx *c, const json_t *v, unsigned long line, const char *key, bool *out)
{
	if (!json_is_boolean(v))
		return bad(c, line, key, "expected a boolean");
	*out = json_is_true(v);
	return 0;
}

static int want_hex(struct pctx *c, const json_t *v, unsigned long line, const char *key,
                    uint8_t *out, size_t n)
{
	const char *s = json_string_value(v);

	if (!json_is_string(v) || json_string_length(v) != n * 2 || !ward_hex_decode(s, out, n))
		return bad(c, line, key, "expected %zu hex digits", n * 2);
	return 0;
}

static bool name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n < 1 || n > WARD_FAA_MAX_NAME)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("._:-", *s))
			return false;
	return true;
}

static bool team_ok(const char *s)
{
	if (strlen(s) != 10)
		return false;
	for (; *s; s++)
		if (!isupper((unsigned char)*s) && !isdigit((unsigned char)*s))
			return false;
	return true;
}

/* ---------------------------------------------------------------- paths */

static bool is_meta(char ch)
{
	return ch == '*' || ch == '?' || ch == '[';
}

/*
 * Canonicalize a configured path as Santa does: it must be absolute; repeated slashes
 * collapse and a literal's trailing slash goes (each with a warning); "." and ".."
 * components are refused. Returns 0 and rewrites p in place, or -1.
 */
static int path_canon(struct pctx *c, char *p, bool prefix, unsigned long line, const char *key)
{
	size_t r = 0, w = 0, n = strlen(p);
	bool rewritten = false;
	unsigned metas = 0;

	if (p[0] != '/')
		return bad(c, line, key, "\"%s\" is not an absolute path", p);
	if (strstr(p, "**"))
		return bad(c, line, key, "\"%s\": '**' (globstar) is not supported", p);
	for (size_t i = 0; i < n; i++)
		metas += is_meta(p[i]);
	if (metas > WARD_FAA_MAX_GLOB_CHARS)
		return bad(c, line, key, "too many glob characters (at most %u)", WARD_FAA_MAX_GLOB_CHARS);
	/* every component: no "." or ".." */
	for (const char *s = p; *s;) {
		const char *e;
		while (*s == '/')
			s++;
		e = strchr(s, '/');
		if (!e)
			e = s + strlen(s);
		if ((e - s == 1 && s[0] == '.') || (e - s == 2 && s[0] == '.' && s[1] == '.'))
			return bad(c, line, key, "\"%s\": \".\" and \"..\" components are not allowed", p);
		s = e;
	}
	if (n >= 2 && strspn(p, "/") == n)
		return bad(c, line, key, "\"%s\" is only slashes (use \"/\")", p);
	for (r = 0; r < n; r++) {
		if (p[r] == '/' && w > 0 && p[w - 1] == '/') {
			rewritten = true;
			continue;
		}
		p[w++] = p[r];
	}
	if (!prefix && w > 1 && p[w - 1] == '/') {
		w--;
		rewritten = true;
	}
	p[w] = '\0';
	if (rewritten)
		report(c, false, line, key, "path rewritten to \"%s\" (repeated or trailing slash)", p);
	return 0;
}

static int parse_path(struct pctx *c, const json_t *v, unsigned long line, const char *key,
                      struct faa_path *out)
{
	char sub[400];

	memset(out, 0, sizeof(*out));
	if (json_is_string(v)) {
		if (want_str(c, v, line, key, WARD_FAA_MAX_PATH, false, &out->pat) != 0)
			return -1;
	} else if (json_is_object(v)) {
		const char *k;
		json_t *m;
		int rc = 0;
		json_object_foreach((json_t *)v, k, m) {
			unsigned long l = line_key(c, v, k);
			snprintf(sub, sizeof(sub), "%s.%s", key, k);
			if (!l)
				l = line;
			if (strcmp(k, "Path") == 0)
				rc |= want_str(c, m, l, sub, WARD_FAA_MAX_PATH, false, &out->pat);
			else if (strcmp(k, "IsPrefix") == 0)
				rc |= want_bool(c, m, l, sub, &out->prefix);
			else
				rc = bad(c, l, sub, "unknown key (expected Path, IsPrefix)");
		}
		if (rc != 0)
			return -1;
		if (!out->pat)
			return bad(c, line, key, "missing Path");
	} else {
		return bad(c, line, key, "expected a string or a dictionary {Path, IsPrefix}");
	}
	if (path_canon(c, out->pat, out->prefix, line, key) != 0)
		return -1;
	out->fixed = strcspn(out->pat, "*?[");
	out->glob = out->pat[out->fixed] != '\0';
	for (const char *s = out->pat; *s; s++)
		out->slashes += *s == '/';
	return 0;
}

size_t ward_faa_glob_match(const char *pat, const char *path, bool prefix)
{
	size_t fixed = strcspn(pat, "*?[");
	size_t plen = strlen(path);
	unsigned slashes = 0;
	const char *s, *comp, *end;
	char buf[WARD_FAA_MAX_PATH + 1];

	if (strncmp(pat, path, fixed) != 0)
		return 0;
	if (pat[fixed] == '\0') {
		/* no metacharacter: plain string comparison */
		if (!prefix)
			return plen == fixed ? fixed : 0;
		return fixed > 0 ? fixed : 0;
	}
	if (!prefix)
		return fnmatch(pat, path, FNM_PATHNAME | FNM_PERIOD) == 0 ? plen : 0;
	/*
	 * A glob prefix: some leading part of path matches the whole pattern. '*' and '?'
	 * never match '/', so the part has as many slashes as the pattern and ends inside
	 * the component after the last of them: try those ends, longest first.
	 */
	for (s = pat; *s; s++)
		slashes += *s == '/';
	comp = path;
	for (s = path; *s && slashes; s++)
		if (*s == '/' && --slashes == 0)
			comp = s + 1;
	if (slashes)
		return 0;
	end = strchr(comp, '/');
	if (!end)
		end = path + plen;
	for (const char *e = end; e >= comp; e--) {
		size_t n = (size_t)(e - path);
		if (n == 0 || n > WARD_FAA_MAX_PATH)
			continue;
		memcpy(buf, path, n);
		buf[n] = '\0';
		if (fnmatch(pat, buf, FNM_PATHNAME | FNM_PERIOD) == 0)
			return n;
	}
	return 0;
}

/* ---------------------------------------------------------------- processes */

static int parse_proc(struct pctx *c, const json_t *v, unsigned long line, const char *key,
                      struct faa_proc *pr, bool linux_notes)
{
	const char *k;
	json_t *m;
	char sub[400];
	int rc = 0;
	char *sid = NULL;
	unsigned nkeys = 0;
	unsigned long sid_line = line;

	memset(pr, 0, sizeof(*pr));
	if (!json_is_object(v))
		return bad(c, line, key, "expected a dictionary of process keys");
	json_object_foreach((json_t *)v, k, m) {
		unsigned long l = line_key(c, v, k);
		if (!l)
			l = line;
		snprintf(sub, sizeof(sub), "%s.%s", key, k);
		nkeys++;
		if (strcmp(k, "BinaryPath") == 0) {
			if (want_str(c, m, l, sub, WARD_FAA_MAX_PATH, false, &pr->binary_path) != 0) {
				rc = -1;
			} else if (pr->binary_path[0] != '/') {
				rc = bad(c, l, sub, "expected an absolute path");
			} else if (strpbrk(pr->binary_path, "*?[")) {
				rc = bad(c, l, sub, "glob patterns are not supported in BinaryPath");
			}
		} else if (strcmp(k, "TeamID") == 0) {
			if (want_str(c, m, l, sub, 10, false, &pr->team_id) != 0)
				rc = -1;
			else if (!team_ok(pr->team_id))
				rc = bad(c, l, sub, "expected a team ID (10 characters A-Z, 0-9)");
		} else if (strcmp(k, "SigningID") == 0) {
			if (want_str(c, m, l, sub, WARD_FAA_MAX_SIGNING_ID, false, &sid) != 0)
				rc = -1;
			sid_line = l;
		} else if (strcmp(k, "CDHash") == 0) {
			rc |= want_hex(c, m, l, sub, pr->cdhash, 20);
			pr->has_cdhash = true;
		} else if (strcmp(k, "CertificateSha256") == 0) {
			rc |= want_hex(c, m, l, sub, pr->cert, 32);
			pr->has_cert = true;
		} else if (strcmp(k, "Sha256") == 0) {
			rc |= want_hex(c, m, l, sub, pr->sha, 32);
			pr->has_sha = true;
		} else if (strcmp(k, "PlatformBinary") == 0) {
			rc |= want_bool(c, m, l, sub, &pr->platform);
			pr->platform_set = true;
		} else {
			rc = bad(c, l, sub, "unknown process key (expected BinaryPath, TeamID, SigningID, "
			                    "CDHash, CertificateSha256, PlatformBinary, Sha256)");
		}
	}
	if (rc == 0 && nkeys == 0)
		rc = bad(c, line, key, "an empty process entry would match every process");
	if (rc == 0 && sid) {
		/* "TEAMID:id" or "platform:id" ties the signing ID as the separate keys do */
		char *colon = strchr(sid, ':');
		char *id = sid;
		snprintf(sub, sizeof(sub), "%s.SigningID", key);
		if (colon) {
			*colon = '\0';
			id = colon + 1;
			if (strcmp(sid, "platform") == 0) {
				if (pr->platform_set && !pr->platform)
					rc = bad(c, sid_line, sub, "\"platform:\" contradicts PlatformBinary false");
				pr->platform_set = pr->platform = true;
			} else if (team_ok(sid)) {
				if (pr->team_id && strcmp(pr->team_id, sid) != 0)
					rc = bad(c, sid_line, sub, "team prefix %s contradicts TeamID %s", sid, pr->team_id);
				else if (!pr->team_id && (pr->team_id = strdup(sid)) == NULL)
					rc = bad(c, sid_line, sub, "out of memory");
			} else {
				rc = bad(c, sid_line, sub, "prefix \"%s\" is neither a team ID nor \"platform\"", sid);
			}
		}
		if (rc == 0 && *id == '\0')
			rc = bad(c, sid_line, sub, "empty signing ID");
		if (rc == 0 && strchr(id, '*') != strrchr(id, '*'))
			rc = bad(c, sid_line, sub, "at most one '*' is allowed");
		if (rc == 0 && !pr->team_id && !(pr->platform_set && pr->platform))
			rc = bad(c, sid_line, sub, "a signing ID must be tied to a TeamID or PlatformBinary "
			                       "(or written TEAMID:id / platform:id)");
		if (rc == 0 && (pr->signing_id = strdup(id)) == NULL)
			rc = bad(c, sid_line, sub, "out of memory");
	}
	free(sid);
	if (rc != 0)
		return -1;
	if (linux_notes) {
		const char *k2 = pr->has_cdhash ? "CDHash" : pr->has_cert ? "CertificateSha256"
		               : pr->signing_id ? "SigningID" : pr->team_id ? "TeamID" : NULL;
		if (k2)
			report(c, false, line, key, "%s: no Linux process has one (ELF is named by Sha256, "
			       "BinaryPath, PlatformBinary), so this entry matches no process here", k2);
	}
	return 0;
}

static bool sid_match(const char *pat, const char *sid)
{
	const char *star = strchr(pat, '*');
	size_t pre, post, n = strlen(sid);

	if (!star)
		return strcmp(pat, sid) == 0;
	pre = (size_t)(star - pat);
	post = strlen(star + 1);
	return n >= pre + post && strncmp(pat, sid, pre) == 0 && strcmp(sid + n - post, star + 1) == 0;
}

/* Every key of the entry matches proc. */
static bool proc_match(const struct faa_proc *e, const ward_faa_proc_t *p)
{
	if (!p)
		return false;
	if (e->binary_path && (!p->path || strcmp(e->binary_path, p->path) != 0))
		return false;
	if (e->team_id && (!p->team_id || strcmp(e->team_id, p->team_id) != 0))
		return false;
	if (e->signing_id && (!p->signing_id || !sid_match(e->signing_id, p->signing_id)))
		return false;
	if (e->has_cdhash && (!p->cdhash || memcmp(e->cdhash, p->cdhash, 20) != 0))
		return false;
	if (e->has_cert && (!p->cert_sha256 || memcmp(e->cert, p->cert_sha256, 32) != 0))
		return false;
	if (e->has_sha && (!p->sha256 || memcmp(e->sha, p->sha256, 32) != 0))
		return false;
	if (e->platform_set && e->platform != p->platform)
		return false;
	return true;
}

/* ---------------------------------------------------------------- items */

static int parse_rule_type(const char *s, ward_faa_rule_type_t *t)
{
	for (unsigned i = 0; i < 4; i++)
		if (strcasecmp(s, type_names[i]) == 0) {
			*t = (ward_faa_rule_type_t)i;
			return 0;
		}
	return -1;
}

static int parse_options(struct pctx *c, const json_t *o, unsigned long line, const char *key,
                         struct faa_item *it)
{
	const char *k;
	json_t *m;
	char sub[400];
	int rc = 0;

	if (!json_is_object(o))
		return bad(c, line, key, "expected a dictionary");
	json_object_foreach((json_t *)o, k, m) {
		unsigned long l = line_key(c, o, k);
		if (!l)
			l = line;
		snprintf(sub, sizeof(sub), "%s.%s", key, k);
		if (strcmp(k, "RuleType") == 0) {
			if (!json_is_string(m) || parse_rule_type(json_string_value(m), &it->type) != 0)
				rc = bad(c, l, sub, "expected one of PathsWithAllowedProcesses, PathsWithDeniedProcesses, "
				                    "ProcessesWithAllowedPaths, ProcessesWithDeniedPaths");
		} else if (strcmp(k, "AllowReadAccess") == 0) {
			rc |= want_bool(c, m, l, sub, &it->allow_read);
		} else if (strcmp(k, "AuditOnly") == 0) {
			rc |= want_bool(c, m, l, sub, &it->audit_only);
		} else if (strcmp(k, "EnableSilentMode") == 0) {
			rc |= want_bool(c, m, l, sub, &it->silent);
		} else if (strcmp(k, "EnableSilentTTYMode") == 0) {
			rc |= want_bool(c, m, l, sub, &it->silent_tty);
		} else if (strcmp(k, "BlockMessage") == 0) {
			free(it->block_message);
			it->block_message = NULL;
			rc |= want_str(c, m, l, sub, WARD_FAA_MAX_MESSAGE, true, &it->block_message);
		} else if (strcmp(k, "EventDetailURL") == 0) {
			free(it->url);
			it->url = NULL;
			rc |= want_str(c, m, l, sub, WARD_FAA_MAX_URL, true, &it->url);
		} else if (strcmp(k, "EventDetailText") == 0) {
			free(it->text);
			it->text = NULL;
			rc |= want_str(c, m, l, sub, WARD_FAA_MAX_DETAIL_TEXT, true, &it->text);
		} else if (strcmp(k, "InvertProcessExceptions") == 0) {
			rc = bad(c, l, sub, "deprecated by Santa and not supported: use RuleType "
			                    "PathsWithDeniedProcesses");
		} else {
			rc = bad(c, l, sub, "unknown option (expected RuleType, AllowReadAccess, AuditOnly, "
			                    "EnableSilentMode, EnableSilentTTYMode, BlockMessage, "
			                    "EventDetailURL, EventDetailText)");
		}
	}
	return rc ? -1 : 0;
}

static void item_fini(struct faa_item *it)
{
	for (size_t i = 0; i < it->npaths; i++)
		free(it->paths[i].pat);
	for (size_t i = 0; i < it->nprocs; i++) {
		free(it->procs[i].binary_path);
		free(it->procs[i].team_id);
		free(it->procs[i].signing_id);
	}
	free(it->paths);
	free(it->procs);
	free(it->name);
	free(it->block_message);
	free(it->url);
	free(it->text);
	memset(it, 0, sizeof(*it));
}

static int parse_item(struct pctx *c, const char *name, const json_t *v, unsigned long line,
                      struct faa_item *it)
{
	char key[WARD_FAA_MAX_NAME + 32], sub[WARD_FAA_MAX_NAME + 160];
	const json_t *paths = NULL, *procs = NULL, *opts = NULL;
	const char *k;
	json_t *m;
	int rc = 0;
	size_t i;

	memset(it, 0, sizeof(*it));
	it->audit_only = true;
	it->type = WARD_FAA_PATHS_WITH_ALLOWED_PROCESSES;
	snprintf(key, sizeof(key), "WatchItems.%.64s", name);
	if (!name_ok(name))
		return bad(c, line, key, "a watch item name is 1-64 characters of A-Z a-z 0-9 . _ : -");
	if ((it->name = strdup(name)) == NULL)
		return bad(c, line, key, "out of memory");
	if (!json_is_object(v))
		return bad(c, line, key, "expected a dictionary {Paths, Options, Processes}");
	json_object_foreach((json_t *)v, k, m) {
		snprintf(sub, sizeof(sub), "%s.%s", key, k);
		if (strcmp(k, "Paths") == 0)
			paths = m;
		else if (strcmp(k, "Processes") == 0)
			procs = m;
		else if (strcmp(k, "Options") == 0)
			opts = m;
		else if (strcmp(k, "ProcessesWithOptions") == 0)
			rc = bad(c, line_key(c, v, k) ? line_key(c, v, k) : line, sub,
			         "only a sync server may deliver ProcessesWithOptions (Santa rejects it in "
			         "local configuration too)");
		else
			rc = bad(c, line_key(c, v, k) ? line_key(c, v, k) : line, sub,
			         "unknown key (expected Paths, Options, Processes)");
	}
	if (opts) {
		unsigned long l = line_key(c, v, "Options");
		snprintf(sub, sizeof(sub), "%s.Options", key);
		rc |= parse_options(c, opts, l ? l : line, sub, it);
	}
	snprintf(sub, sizeof(sub), "%s.Paths", key);
	if (!paths) {
		rc = bad(c, line, sub, "missing: a watch item needs at least one path");
	} else if (!json_is_array(paths) || json_array_size(paths) == 0) {
		rc = bad(c, line_key(c, v, "Paths") ? line_key(c, v, "Paths") : line, sub,
		         "expected a non-empty array of paths");
	} else if ((c->npaths += json_array_size(paths)) > WARD_FAA_MAX_PATHS) {
		rc = bad(c, line_key(c, v, "Paths"), sub, "too many paths in the policy (at most %u)",
		         WARD_FAA_MAX_PATHS);
	} else if ((it->paths = calloc(json_array_size(paths), sizeof(*it->paths))) == NULL) {
		rc = bad(c, line, sub, "out of memory");
	} else {
		json_array_foreach(paths, i, m) {
			char sub2[WARD_FAA_MAX_NAME + 200];
			unsigned long l = line_idx(c, paths, i);
			snprintf(sub2, sizeof(sub2), "%s[%zu]", sub, i);
			if (parse_path(c, m, l ? l : line, sub2, &it->paths[it->npaths]) != 0) {
				free(it->paths[it->npaths].pat);
				rc = -1;
				continue;
			}
			it->npaths++;
		}
	}
	snprintf(sub, sizeof(sub), "%s.Processes", key);
	if (procs) {
		unsigned long pl = line_key(c, v, "Processes");
		if (!pl)
			pl = line;
		if (!json_is_array(procs)) {
			rc = bad(c, pl, sub, "expected an array of process dictionaries");
		} else if ((c->nprocs += json_array_size(procs)) > WARD_FAA_MAX_PROCS) {
			rc = bad(c, pl, sub, "too many processes in the policy (at most %u)", WARD_FAA_MAX_PROCS);
		} else if (json_array_size(procs) > 0 &&
		           (it->procs = calloc(json_array_size(procs), sizeof(*it->procs))) == NULL) {
			rc = bad(c, pl, sub, "out of memory");
		} else {
			json_array_foreach(procs, i, m) {
				char sub2[WARD_FAA_MAX_NAME + 200];
				unsigned long l = line_idx(c, procs, i);
				snprintf(sub2, sizeof(sub2), "%s[%zu]", sub, i);
				if (parse_proc(c, m, l ? l : pl, sub2, &it->procs[it->nprocs],
				               c->src && c->src->linux_notes) != 0) {
					struct faa_proc *pr = &it->procs[it->nprocs];
					free(pr->binary_path);
					free(pr->team_id);
					free(pr->signing_id);
					rc = -1;
					continue;
				}
				it->nprocs++;
			}
		}
	}
	if (rc == 0 && it->nprocs == 0 &&
	    (it->type == WARD_FAA_PROCESSES_WITH_ALLOWED_PATHS ||
	     it->type == WARD_FAA_PROCESSES_WITH_DENIED_PATHS))
		rc = bad(c, line, sub, "a %s item needs at least one process", type_names[it->type]);
	if (rc == 0 && it->nprocs == 0 && it->type == WARD_FAA_PATHS_WITH_DENIED_PROCESSES)
		report(c, false, line, sub, "PathsWithDeniedProcesses without processes denies nobody");
	return rc ? -1 : 0;
}

static int item_cmp(const void *a, const void *b)
{
	return strcmp(((const struct faa_item *)a)->name, ((const struct faa_item *)b)->name);
}

ward_faa_t *ward_faa_ref(ward_faa_t *p)
{
	if (p)
		atomic_fetch_add(&p->ref, 1);
	return p;
}

void ward_faa_free(ward_faa_t *p)
{
	if (!p || atomic_fetch_sub(&p->ref, 1) != 1)
		return;
	for (size_t i = 0; i < p->nitems; i++)
		item_fini(&p->items[i]);
	free(p->items);
	free(p->version);
	free(p->url);
	free(p->text);
	free(p);
}

ward_err_t ward_faa_parse(const json_t *policy, const ward_faa_src_t *src, ward_faa_t **out,
                          ward_error_t *err)
{
	struct pctx c = { .src = src, .err = err };
	const json_t *items = NULL;
	ward_faa_t *p;
	const char *k;
	json_t *m;
	int rc = 0;

	*out = NULL;
	ward_error_clear(err);
	if (!json_is_object(policy)) {
		bad(&c, 0, "FileAccessPolicy", "expected a dictionary {Version, WatchItems, ...}");
		return WARD_E_INVAL;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return ward_error_set(err, WARD_E_NOMEM, "out of memory");
	atomic_init(&p->ref, 1);
	json_object_foreach((json_t *)policy, k, m) {
		unsigned long l = line_key(&c, policy, k);
		if (strcmp(k, "Version") == 0)
			rc |= want_str(&c, m, l, k, WARD_FAA_MAX_VERSION, false, &p->version);
		else if (strcmp(k, "EventDetailURL") == 0)
			rc |= want_str(&c, m, l, k, WARD_FAA_MAX_URL, true, &p->url);
		else if (strcmp(k, "EventDetailText") == 0)
			rc |= want_str(&c, m, l, k, WARD_FAA_MAX_DETAIL_TEXT, true, &p->text);
		else if (strcmp(k, "WatchItems") == 0)
			items = m;
		else
			report(&c, false, l, k, "unknown FileAccessPolicy key; ignored");
	}
	if (!p->version && rc == 0)
		rc = bad(&c, src ? src->root_line : 0, "Version", "missing: a FileAccessPolicy needs a Version (it is reported "
		                           "in every event)");
	if (items) {
		unsigned long l = line_key(&c, policy, "WatchItems");
		size_t n = json_is_object(items) ? json_object_size(items) : 0;
		if (!json_is_object(items)) {
			rc = bad(&c, l, "WatchItems", "expected a dictionary of named watch items");
		} else if (n > WARD_FAA_MAX_ITEMS) {
			rc = bad(&c, l, "WatchItems", "too many watch items (%zu, at most %u)", n, WARD_FAA_MAX_ITEMS);
		} else if (n > 0 && (p->items = calloc(n, sizeof(*p->items))) == NULL) {
			rc = bad(&c, l, "WatchItems", "out of memory");
		} else {
			json_object_foreach((json_t *)items, k, m) {
				unsigned long il = line_key(&c, items, k);
				struct faa_item *it = &p->items[p->nitems];
				if (parse_item(&c, k, m, il ? il : l, it) != 0) {
					item_fini(it);
					rc = -1;
					continue;
				}
				p->nitems++;
			}
		}
	}
	if (rc != 0 || c.nerrors) {
		ward_faa_free(p);
		if (!c.nerrors)
			ward_error_set(err, WARD_E_INVAL, "invalid FileAccessPolicy");
		return err && err->code ? err->code : WARD_E_INVAL;
	}
	if (p->nitems > 1)
		qsort(p->items, p->nitems, sizeof(*p->items), item_cmp);
	for (size_t i = 0; i < p->nitems; i++)
		if (p->items[i].type == WARD_FAA_PROCESSES_WITH_ALLOWED_PATHS)
			p->process_centric_allowed = true;
	/* the same path in two items: Santa leaves it undefined; say which one wins here */
	for (size_t i = 0; i < p->nitems; i++)
		for (size_t j = 0; j < p->items[i].npaths; j++)
			for (size_t a = i + 1; a < p->nitems; a++)
				for (size_t b = 0; b < p->items[a].npaths; b++) {
					const struct faa_path *x = &p->items[i].paths[j], *y = &p->items[a].paths[b];
					if (x->prefix == y->prefix && strcmp(x->pat, y->pat) == 0) {
						char key[WARD_FAA_MAX_NAME + 16];
						snprintf(key, sizeof(key), "WatchItems.%s", p->items[a].name);
						report(&c, false, line_key(&c, items, p->items[a].name), key,
						       "path \"%s\" is also in item %s, which decides it (first by name)",
						       y->pat, p->items[i].name);
					}
				}
	*out = p;
	return WARD_OK;
}

/* ---------------------------------------------------------------- accessors */

const char *ward_faa_version(const ward_faa_t *p)
{
	return p && p->version ? p->version : "";
}

size_t ward_faa_nitems(const ward_faa_t *p)
{
	return p ? p->nitems : 0;
}

const char *ward_faa_item_name(const ward_faa_t *p, size_t i)
{
	return p && i < p->nitems ? p->items[i].name : "";
}

bool ward_faa_needs_all_opens(const ward_faa_t *p)
{
	return p && p->process_centric_allowed;
}

void ward_faa_foreach_path(const ward_faa_t *p,
                           void (*fn)(void *arg, size_t item, const char *pattern, bool prefix),
                           void *arg)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nitems; i++)
		for (size_t j = 0; j < p->items[i].npaths; j++)
			fn(arg, i, p->items[i].paths[j].pat, p->items[i].paths[j].prefix);
}

static void set_hex(json_t *o, const char *k, const uint8_t *b, size_t n)
{
	char hex[65];

	ward_hex_encode(b, n, hex);
	json_object_set_new(o, k, json_string(hex));
}

json_t *ward_faa_item_json(const ward_faa_t *p, size_t i)
{
	const struct faa_item *it;
	json_t *o, *paths, *procs;

	if (!p || i >= p->nitems)
		return NULL;
	it = &p->items[i];
	o = json_object();
	paths = json_array();
	procs = json_array();
	if (!o || !paths || !procs) {
		json_decref(o);
		json_decref(paths);
		json_decref(procs);
		return NULL;
	}
	json_object_set_new(o, "name", json_string(it->name));
	json_object_set_new(o, "rule_type", json_string(type_names[it->type]));
	json_object_set_new(o, "audit_only", json_boolean(it->audit_only));
	json_object_set_new(o, "allow_read_access", json_boolean(it->allow_read));
	json_object_set_new(o, "silent", json_boolean(it->silent));
	json_object_set_new(o, "silent_tty", json_boolean(it->silent_tty));
	json_object_set_new(o, "block_message", json_string(it->block_message ? it->block_message : ""));
	json_object_set_new(o, "event_detail_url", json_string(it->url ? it->url : p->url ? p->url : ""));
	json_object_set_new(o, "event_detail_text", json_string(it->text ? it->text : p->text ? p->text : ""));
	for (size_t j = 0; j < it->npaths; j++) {
		json_t *e = json_object();
		json_object_set_new(e, "path", json_string(it->paths[j].pat));
		json_object_set_new(e, "prefix", json_boolean(it->paths[j].prefix));
		json_array_append_new(paths, e);
	}
	for (size_t j = 0; j < it->nprocs; j++) {
		const struct faa_proc *e = &it->procs[j];
		json_t *d = json_object();
		if (e->binary_path)
			json_object_set_new(d, "BinaryPath", json_string(e->binary_path));
		if (e->team_id)
			json_object_set_new(d, "TeamID", json_string(e->team_id));
		if (e->signing_id)
			json_object_set_new(d, "SigningID", json_string(e->signing_id));
		if (e->has_cdhash)
			set_hex(d, "CDHash", e->cdhash, 20);
		if (e->has_cert)
			set_hex(d, "CertificateSha256", e->cert, 32);
		if (e->has_sha)
			set_hex(d, "Sha256", e->sha, 32);
		if (e->platform_set)
			json_object_set_new(d, "PlatformBinary", json_boolean(e->platform));
		json_array_append_new(procs, d);
	}
	json_object_set_new(o, "paths", paths);
	json_object_set_new(o, "processes", procs);
	return o;
}

/* ---------------------------------------------------------------- matching */

/* The longest path of it that matches; *lit whether that one is a literal. */
static size_t item_path_match(const struct faa_item *it, const char *path, bool *lit, size_t *which)
{
	size_t best = 0;

	*lit = false;
	for (size_t j = 0; j < it->npaths; j++) {
		size_t n = ward_faa_glob_match(it->paths[j].pat, path, it->paths[j].prefix);
		if (n > best || (n == best && n > 0 && !it->paths[j].prefix && !*lit)) {
			best = n;
			*lit = !it->paths[j].prefix;
			*which = j;
		}
	}
	return best;
}

static int proc_entry(const struct faa_item *it, const ward_faa_proc_t *proc)
{
	for (size_t j = 0; j < it->nprocs; j++)
		if (proc_match(&it->procs[j], proc))
			return (int)j;
	return -1;
}

static unsigned rank(ward_faa_outcome_t o)
{
	return o == WARD_FAA_DENY ? 3 : o == WARD_FAA_AUDIT ? 2 : o == WARD_FAA_ALLOW ? 1 : 0;
}

/* The outcome of item it for a covered open: violation or not, given the access. */
static ward_faa_outcome_t judge(const struct faa_item *it, bool violation, uint32_t access)
{
	if (!violation)
		return WARD_FAA_ALLOW;
	if (it->allow_read && !(access & WARD_FAA_WRITE))
		return WARD_FAA_ALLOW;
	return it->audit_only ? WARD_FAA_AUDIT : WARD_FAA_DENY;
}

static void take(const ward_faa_t *p, ward_faa_result_t *out, size_t idx, ward_faa_outcome_t o,
                 const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void take(const ward_faa_t *p, ward_faa_result_t *out, size_t idx, ward_faa_outcome_t o,
                 const char *fmt, ...)
{
	const struct faa_item *it = &p->items[idx];
	va_list ap;

	if (out->item >= 0 && rank(o) <= rank(out->outcome))
		return;
	out->outcome = o;
	out->item = (int)idx;
	out->item_name = it->name;
	out->silent = it->silent;
	out->silent_tty = it->silent_tty;
	out->block_message = it->block_message ? it->block_message : "";
	out->event_detail_url = it->url ? it->url : p->url ? p->url : "";
	out->event_detail_text = it->text ? it->text : p->text ? p->text : "";
	out->allowed = o == WARD_FAA_DENY ? (it->allow_read ? WARD_FAA_READ : 0)
	                                  : WARD_FAA_READ | WARD_FAA_WRITE;
	va_start(ap, fmt);
	vsnprintf(out->why, sizeof(out->why), fmt, ap);
	va_end(ap);
}

bool ward_faa_path_may_apply(const ward_faa_t *p, const char *path)
{
	if (!p || !path)
		return false;
	if (p->process_centric_allowed)
		return true;
	for (size_t i = 0; i < p->nitems; i++) {
		size_t which = 0;
		bool lit;
		if (item_path_match(&p->items[i], path, &lit, &which) > 0)
			return true;
	}
	return false;
}

void ward_faa_match(const ward_faa_t *p, const char *path, const ward_faa_proc_t *proc,
                    uint32_t access, ward_faa_result_t *out)
{
	size_t best = 0, best_item = 0, best_path = 0;
	bool best_lit = false, found = false;
	const char *acc;

	memset(out, 0, sizeof(*out));
	out->item = -1;
	out->item_name = out->block_message = out->event_detail_url = out->event_detail_text = "";
	out->allowed = WARD_FAA_READ | WARD_FAA_WRITE;
	if (access == 0)
		access = WARD_FAA_READ;
	acc = (access & WARD_FAA_WRITE) ? ((access & WARD_FAA_READ) ? "read-write" : "write") : "read";
	snprintf(out->why, sizeof(out->why), "no watch item covers %s", path ? path : "(no path)");
	if (!p || !path)
		return;

	/* data-centric: the item with the longest match of the path */
	for (size_t i = 0; i < p->nitems; i++) {
		const struct faa_item *it = &p->items[i];
		size_t n, which = 0;
		bool lit;
		if (it->type != WARD_FAA_PATHS_WITH_ALLOWED_PROCESSES &&
		    it->type != WARD_FAA_PATHS_WITH_DENIED_PROCESSES)
			continue;
		n = item_path_match(it, path, &lit, &which);
		if (n > 0 && (!found || n > best || (n == best && lit && !best_lit))) {
			found = true;
			best = n;
			best_lit = lit;
			best_item = i;
			best_path = which;
		}
	}
	if (found) {
		const struct faa_item *it = &p->items[best_item];
		int e = proc_entry(it, proc);
		bool allowed_list = it->type == WARD_FAA_PATHS_WITH_ALLOWED_PROCESSES;
		bool violation = allowed_list ? e < 0 : e >= 0;
		ward_faa_outcome_t o = judge(it, violation, access);
		char ent[48];
		if (e >= 0)
			snprintf(ent, sizeof(ent), "matches Processes[%d]", e);
		else
			snprintf(ent, sizeof(ent), "matches no entry of Processes");
		take(p, out, best_item, o, "item %s (%s) covers %s by %s \"%s\"; the opener %s; %s %s%s",
		     it->name, type_names[it->type], path, it->paths[best_path].prefix ? "prefix" : "path",
		     it->paths[best_path].pat, ent, acc,
		     o == WARD_FAA_ALLOW ? "allowed" : o == WARD_FAA_AUDIT ? "audited (AuditOnly)" : "denied",
		     violation && o == WARD_FAA_ALLOW ? " (AllowReadAccess)" : "");
	}

	/* process-centric: every item whose processes include the opener */
	for (size_t i = 0; i < p->nitems; i++) {
		const struct faa_item *it = &p->items[i];
		size_t n, which = 0;
		bool lit, violation;
		int e;
		ward_faa_outcome_t o;
		if (it->type != WARD_FAA_PROCESSES_WITH_ALLOWED_PATHS &&
		    it->type != WARD_FAA_PROCESSES_WITH_DENIED_PATHS)
			continue;
		if ((e = proc_entry(it, proc)) < 0)
			continue;
		n = item_path_match(it, path, &lit, &which);
		violation = it->type == WARD_FAA_PROCESSES_WITH_ALLOWED_PATHS ? n == 0 : n > 0;
		if (it->type == WARD_FAA_PROCESSES_WITH_DENIED_PATHS && n == 0)
			continue; /* the item says nothing about this path */
		o = judge(it, violation, access);
		if (n > 0)
			take(p, out, i, o, "item %s (%s): the opener matches Processes[%d] and %s matches %s "
			     "\"%s\"; %s %s", it->name, type_names[it->type], e, path,
			     it->paths[which].prefix ? "prefix" : "path", it->paths[which].pat, acc,
			     o == WARD_FAA_ALLOW ? "allowed" : o == WARD_FAA_AUDIT ? "audited (AuditOnly)" : "denied");
		else
			take(p, out, i, o, "item %s (%s): the opener matches Processes[%d] and %s is none of "
			     "its paths; %s %s", it->name, type_names[it->type], e, path, acc,
			     o == WARD_FAA_ALLOW ? "allowed" : o == WARD_FAA_AUDIT ? "audited (AuditOnly)" : "denied");
	}
	out->cacheable = out->outcome == WARD_FAA_ALLOW;
}

/* The components of an absolute path: starts[i], lens[i]; returns the count (max n). */
static size_t split(const char *p, const char **starts, size_t *lens, size_t n)
{
	size_t k = 0;

	while (*p) {
		const char *e;
		if (*p == '/') {
			p++;
			if (*p == '\0' && k < n) { /* a trailing slash: an empty last component */
				starts[k] = p;
				lens[k++] = 0;
			}
			continue;
		}
		e = strchr(p, '/');
		if (!e)
			e = p + strlen(p);
		if (k < n) {
			starts[k] = p;
			lens[k] = (size_t)(e - p);
		}
		k++;
		p = e;
	}
	return k;
}

bool ward_faa_dir_may_watch(const ward_faa_t *p, const char *dir)
{
	enum { MAXC = 256 };
	const char *ds[MAXC], *ps[MAXC];
	size_t dl[MAXC], pl[MAXC], k, dlen;
	char slash[WARD_FAA_MAX_PATH + 2];

	if (!p)
		return false;
	if (p->process_centric_allowed)
		return true;
	dlen = strlen(dir);
	if (dlen == 0 || dlen > WARD_FAA_MAX_PATH || dir[0] != '/')
		return true; /* cannot tell: keep watching */
	memcpy(slash, dir, dlen + 1);
	if (slash[dlen - 1] != '/') {
		slash[dlen] = '/';
		slash[dlen + 1] = '\0';
	}
	if ((k = split(dir, ds, dl, MAXC)) >= MAXC)
		return true;
	for (size_t i = 0; i < p->nitems; i++)
		for (size_t j = 0; j < p->items[i].npaths; j++) {
			const struct faa_path *fp = &p->items[i].paths[j];
			size_t m, c;
			if (fp->prefix && (ward_faa_glob_match(fp->pat, dir, true) > 0 ||
			                   ward_faa_glob_match(fp->pat, slash, true) > 0))
				return true; /* the directory lies under a prefix */
			if ((m = split(fp->pat, ps, pl, MAXC)) != k + 1)
				continue;
			for (c = 0; c < k; c++) {
				char pc[256], dc[256];
				if (pl[c] >= sizeof(pc) || dl[c] >= sizeof(dc))
					return true;
				memcpy(pc, ps[c], pl[c]);
				pc[pl[c]] = '\0';
				memcpy(dc, ds[c], dl[c]);
				dc[dl[c]] = '\0';
				if (fnmatch(pc, dc, FNM_PERIOD) != 0)
					break;
			}
			if (c == k)
				return true; /* a child of the directory can match this path */
		}
	return false;
}
